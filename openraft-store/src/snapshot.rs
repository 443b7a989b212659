//! Snapshots of the state machine: every key of its column families, read
//! from one RocksDB snapshot, streamed into a simple length-prefixed format.
//! The last built or installed snapshot is kept in `<data_dir>/snapshot/current`.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rocksdb::{WriteBatch, DB};

use crate::api::{Result, StoreError};
use crate::log_store::sync_opts;
use crate::mvcc::{cf, decode, encode, internal};
use crate::raft_types::{LogId, SnapshotMeta, StoredMembership};
use crate::schema;

const MAGIC: &[u8; 4] = b"FKS1";
const END: u8 = 0xff;

/// Reads the applied log id and membership as of a RocksDB snapshot, then
/// dumps every state-machine column family. Consistent because the state
/// machine writes data and its applied index in one batch.
pub fn build(db: &DB) -> Result<(Option<LogId>, StoredMembership, Vec<u8>)> {
    let snap = db.snapshot();
    let meta_cf = cf(db, schema::CF_SM_META)?;
    let last_applied: Option<LogId> = match snap
        .get_cf(meta_cf, schema::LAST_APPLIED)
        .map_err(|e| internal("snapshot", e))?
    {
        Some(raw) => decode(&raw)?,
        None => None,
    };
    let membership: StoredMembership = match snap
        .get_cf(meta_cf, schema::MEMBERSHIP)
        .map_err(|e| internal("snapshot", e))?
    {
        Some(raw) => decode(&raw)?,
        None => StoredMembership::default(),
    };
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    for (i, name) in schema::SM_CFS.iter().enumerate() {
        let mut it = snap.raw_iterator_cf(cf(db, name)?);
        it.seek_to_first();
        while let Some((k, v)) = it.item() {
            out.push(i as u8);
            put_bytes(&mut out, k)?;
            put_bytes(&mut out, v)?;
            it.next();
        }
        it.status().map_err(|e| internal("snapshot", e))?;
    }
    out.push(END);
    Ok((last_applied, membership, out))
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) -> Result<()> {
    let len = u32::try_from(b.len()).map_err(|_| StoreError::Internal("value too large".into()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if data.len() < n {
        return Err(StoreError::Internal("truncated snapshot".into()));
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Ok(head)
}

fn take_bytes<'a>(data: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len: [u8; 4] = take(data, 4)?
        .try_into()
        .map_err(|_| StoreError::Internal("truncated snapshot".into()))?;
    take(data, u32::from_be_bytes(len) as usize)
}

/// Replaces the whole state machine with the snapshot's content, in one synced batch.
pub fn install(db: &DB, meta: &SnapshotMeta, data: &[u8]) -> Result<()> {
    let mut batch = WriteBatch::default();
    for name in schema::SM_CFS {
        let cf = cf(db, name)?;
        let mut it = db.raw_iterator_cf(cf);
        it.seek_to_first();
        while let Some(k) = it.key() {
            batch.delete_cf(cf, k);
            it.next();
        }
        it.status().map_err(|e| internal("install snapshot", e))?;
    }
    let mut rest = data;
    if take(&mut rest, 4)? != MAGIC {
        return Err(StoreError::Internal("not a ferrokube snapshot".into()));
    }
    loop {
        let tag = take(&mut rest, 1)?[0];
        if tag == END {
            break;
        }
        let name = schema::SM_CFS
            .get(tag as usize)
            .ok_or_else(|| StoreError::Internal("bad snapshot record".into()))?;
        let k = take_bytes(&mut rest)?;
        let v = take_bytes(&mut rest)?;
        batch.put_cf(cf(db, name)?, k, v);
    }
    let meta_cf = cf(db, schema::CF_SM_META)?;
    batch.put_cf(meta_cf, schema::LAST_APPLIED, encode(&meta.last_log_id)?);
    batch.put_cf(meta_cf, schema::MEMBERSHIP, encode(&meta.last_membership)?);
    db.write_opt(batch, &sync_opts())
        .map_err(|e| internal("install snapshot", e))
}

/// Where the current snapshot lives on disk.
pub struct SnapshotFile {
    dir: PathBuf,
}

impl SnapshotFile {
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| internal("create snapshot dir", e))?;
        Ok(SnapshotFile { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// Writes meta and data atomically (temp file, fsync, rename, fsync dir).
    pub fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<()> {
        let tmp = self.dir.join("current.tmp");
        let meta_bytes = encode(meta)?;
        let mut f = fs::File::create(&tmp).map_err(|e| internal("write snapshot", e))?;
        f.write_all(&(meta_bytes.len() as u64).to_be_bytes())
            .and_then(|_| f.write_all(&meta_bytes))
            .and_then(|_| f.write_all(data))
            .and_then(|_| f.sync_all())
            .map_err(|e| internal("write snapshot", e))?;
        fs::rename(&tmp, self.path()).map_err(|e| internal("write snapshot", e))?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| internal("write snapshot", e))
    }

    pub fn load(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>> {
        let mut f = match fs::File::open(self.path()) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(internal("read snapshot", e)),
        };
        let mut all = Vec::new();
        f.read_to_end(&mut all)
            .map_err(|e| internal("read snapshot", e))?;
        let mut rest = all.as_slice();
        let len = schema::decode_u64(take(&mut rest, 8)?).unwrap_or(0);
        let meta: SnapshotMeta = decode(take(&mut rest, len as usize)?)?;
        Ok(Some((meta, rest.to_vec())))
    }
}
