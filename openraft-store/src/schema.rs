//! The whole on-disk layout: one RocksDB database, its column families, the
//! meta keys and how keys are encoded. Nothing else names a column family.
//!
//! Raft log side (written by `log_store.rs`):
//! - `raft_meta`: [`VOTE`], [`COMMITTED`], [`LAST_PURGED`] (bincode).
//! - `raft_log`: log index (u64 big-endian) -> bincode `Entry`.
//!
//! State machine side (written by `state_machine.rs`, one batch per applied
//! batch of entries, so data and [`LAST_APPLIED`] never disagree; not synced
//! on its own, as the Raft log replays it):
//! - `sm_meta`: [`LAST_APPLIED`], [`MEMBERSHIP`] (bincode), [`REVISION`],
//!   [`COMPACTED`] (u64 big-endian).
//! - `current`: user key -> [`crate::mvcc::Record`] of its live value.
//! - `history`: [`history_key`] (escaped key, revision) -> [`crate::mvcc::Version`]
//!   (a value or a tombstone), for reads at past revisions.
//! - `events`: [`event_key`] (revision, index) -> [`crate::api::Event`], for
//!   watch catch-up.
//!
//! Revisions are big-endian so byte order is revision order.

pub const CF_RAFT_META: &str = "raft_meta";
pub const CF_RAFT_LOG: &str = "raft_log";
pub const CF_SM_META: &str = "sm_meta";
pub const CF_CURRENT: &str = "current";
pub const CF_HISTORY: &str = "history";
pub const CF_EVENTS: &str = "events";

/// Every column family, in creation order.
pub const ALL_CFS: [&str; 6] = [
    CF_RAFT_META,
    CF_RAFT_LOG,
    CF_SM_META,
    CF_CURRENT,
    CF_HISTORY,
    CF_EVENTS,
];

/// The column families that make up the state machine (and its snapshots).
pub const SM_CFS: [&str; 4] = [CF_SM_META, CF_CURRENT, CF_HISTORY, CF_EVENTS];

// raft_meta keys
pub const VOTE: &[u8] = b"vote";
pub const COMMITTED: &[u8] = b"committed";
pub const LAST_PURGED: &[u8] = b"last_purged";

// sm_meta keys
pub const LAST_APPLIED: &[u8] = b"last_applied";
pub const MEMBERSHIP: &[u8] = b"membership";
pub const REVISION: &[u8] = b"revision";
pub const COMPACTED: &[u8] = b"compacted";

/// Opens (creating if needed) the database with every column family.
pub fn open_db(path: &std::path::Path) -> crate::api::Result<rocksdb::DB> {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let cfs = ALL_CFS
        .iter()
        .map(|name| rocksdb::ColumnFamilyDescriptor::new(*name, rocksdb::Options::default()));
    rocksdb::DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
        crate::api::StoreError::Internal(format!("open RocksDB at {}: {e}", path.display()))
    })
}

/// A u64 as 8 big-endian bytes.
pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// The u64 in the first 8 bytes, if there are 8.
pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    let head: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(head))
}

/// `events` key: revision then index within the revision.
pub fn event_key(revision: u64, index: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&revision.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Escapes a user key so that it sorts like the key and ends unambiguously:
/// each 0x00 becomes 0x00 0xff, and the key ends with 0x00 0x00.
pub fn escape_key(key: &[u8], out: &mut Vec<u8>) {
    for &b in key {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// `history` key: the escaped user key, then the revision.
pub fn history_key(key: &[u8], revision: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 10);
    escape_key(key, &mut out);
    out.extend_from_slice(&revision.to_be_bytes());
    out
}

/// The lowest `history` key at or after every version of keys `>= key`.
pub fn history_seek(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 2);
    escape_key(key, &mut out);
    out
}

/// Splits a `history` key into the user key and the revision.
pub fn decode_history_key(raw: &[u8]) -> Option<(Vec<u8>, u64)> {
    let split = raw.len().checked_sub(8)?;
    let (escaped, rev) = raw.split_at(split);
    let escaped = escaped.strip_suffix(&[0, 0])?;
    let mut key = Vec::with_capacity(escaped.len());
    let mut i = 0;
    while i < escaped.len() {
        let b = escaped[i];
        key.push(b);
        if b == 0 {
            if escaped.get(i + 1) != Some(&0xff) {
                return None;
            }
            i += 1;
        }
        i += 1;
    }
    Some((key, decode_u64(rev)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_round_trip_and_sort_by_key_then_revision() {
        let keys: [&[u8]; 5] = [b"", b"a", b"a\x00", b"a\x00b", b"ab"];
        let mut encoded = Vec::new();
        for k in keys {
            for rev in [1u64, 2, 300] {
                let h = history_key(k, rev);
                assert_eq!(decode_history_key(&h), Some((k.to_vec(), rev)));
                encoded.push(h);
            }
        }
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(sorted, encoded, "byte order must be (key, revision) order");
    }

    #[test]
    fn event_keys_sort_by_revision() {
        assert!(event_key(1, 7) < event_key(2, 0));
        assert!(event_key(255, 0) < event_key(256, 0));
    }
}
