//! Pure MVCC over RocksDB, no Raft: consistent reads from a RocksDB snapshot
//! ([`ReadView`]) and the single writer that turns transactions into one
//! `WriteBatch` ([`Applier`]). The state machine wraps the writer; the node
//! serves reads through the view.

use std::collections::HashMap;

use rocksdb::{ColumnFamily, DBRawIteratorWithThreadMode, SnapshotWithThreadMode, WriteBatch, DB};
use serde::{Deserialize, Serialize};

use crate::api::{
    Event, EventType, KeyValue, Op, RangeRequest, RangeResponse, Result, Revision, StoreError,
    TxnRequest, TxnResponse,
};
use crate::{codec, schema};

/// A live value as stored in `current` and `history` (the key is the RocksDB key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub value: Vec<u8>,
    pub create_revision: u64,
    pub mod_revision: u64,
    pub version: u64,
}

impl Record {
    pub fn to_kv(&self, key: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: self.value.clone(),
            create_revision: Revision(self.create_revision),
            mod_revision: Revision(self.mod_revision),
            version: self.version,
        }
    }
}

/// One entry of a key's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    Put(Record),
    Tombstone,
}

pub(crate) fn internal(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("{context}: {e}"))
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    bincode::serialize(v).map_err(|e| internal("encode", e))
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| internal("decode", e))
}

pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| StoreError::Internal(format!("column family {name} is missing")))
}

/// Reads a big-endian u64 meta value (0 when absent).
fn meta_u64(snap: &SnapshotWithThreadMode<'_, DB>, db: &DB, key: &[u8]) -> Result<u64> {
    let raw = snap
        .get_cf(cf(db, schema::CF_SM_META)?, key)
        .map_err(|e| internal("read meta", e))?;
    Ok(raw.as_deref().and_then(schema::decode_u64).unwrap_or(0))
}

/// The exclusive end of a range request: `None` means "to the end of the keyspace".
fn range_end(req: &RangeRequest) -> Option<Vec<u8>> {
    if req.range_end.is_empty() {
        let mut end = req.key.clone();
        end.push(0);
        Some(end)
    } else if req.range_end == [0] {
        None
    } else {
        Some(req.range_end.clone())
    }
}

fn before_end(key: &[u8], end: &Option<Vec<u8>>) -> bool {
    end.as_deref().is_none_or(|e| key < e)
}

/// A consistent point-in-time view of the state machine.
pub struct ReadView<'a> {
    db: &'a DB,
    snap: SnapshotWithThreadMode<'a, DB>,
    pub revision: Revision,
    pub compacted: Revision,
}

impl<'a> ReadView<'a> {
    pub fn new(db: &'a DB) -> Result<Self> {
        let snap = db.snapshot();
        let revision = Revision(meta_u64(&snap, db, schema::REVISION)?);
        let compacted = Revision(meta_u64(&snap, db, schema::COMPACTED)?);
        Ok(ReadView {
            db,
            snap,
            revision,
            compacted,
        })
    }

    /// The revision to read at, or why it cannot be read. `None` and 0 mean current.
    pub fn resolve(&self, revision: Option<Revision>) -> Result<Revision> {
        match revision {
            None | Some(Revision(0)) => Ok(self.revision),
            Some(r) if r > self.revision => Err(StoreError::FutureRevision {
                requested: r,
                current: self.revision,
            }),
            Some(r) if r < self.compacted => Err(StoreError::Compacted {
                requested: r,
                compacted: self.compacted,
            }),
            Some(r) => Ok(r),
        }
    }

    fn iter(&self, cf_name: &str) -> Result<DBRawIteratorWithThreadMode<'_, DB>> {
        Ok(self.snap.raw_iterator_cf(cf(self.db, cf_name)?))
    }

    pub fn get(
        &self,
        key: &[u8],
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        let resp = self.range(&RangeRequest {
            key: key.to_vec(),
            revision,
            ..Default::default()
        })?;
        Ok((resp.kvs.into_iter().next(), resp.revision))
    }

    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse> {
        if req.key.is_empty() {
            return Err(StoreError::InvalidRequest("empty key".into()));
        }
        let at = self.resolve(req.revision)?;
        let end = range_end(req);
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit
        };
        let (kvs, more) = if at == self.revision {
            self.range_current(&req.key, &end, limit)?
        } else {
            self.range_history(&req.key, &end, limit, at.0)?
        };
        Ok(RangeResponse {
            kvs,
            more,
            revision: at,
        })
    }

    fn range_current(
        &self,
        start: &[u8],
        end: &Option<Vec<u8>>,
        limit: usize,
    ) -> Result<(Vec<KeyValue>, bool)> {
        let mut it = self.iter(schema::CF_CURRENT)?;
        it.seek(start);
        let mut kvs = Vec::new();
        while let Some((k, v)) = it.item() {
            if !before_end(k, end) {
                break;
            }
            if kvs.len() == limit {
                return Ok((kvs, true));
            }
            let rec = codec::decode_record(v)?;
            kvs.push(rec.to_kv(k));
            it.next();
        }
        it.status().map_err(|e| internal("range", e))?;
        Ok((kvs, false))
    }

    fn range_history(
        &self,
        start: &[u8],
        end: &Option<Vec<u8>>,
        limit: usize,
        at: u64,
    ) -> Result<(Vec<KeyValue>, bool)> {
        let mut it = self.iter(schema::CF_HISTORY)?;
        it.seek(schema::history_seek(start));
        let mut kvs = Vec::new();
        // The latest version at or below `at` of the key being scanned.
        let mut pending: Option<(Vec<u8>, Option<Record>)> = None;
        let mut more = false;
        loop {
            let item = match it.item() {
                Some((k, v)) => {
                    let (key, rev) = schema::decode_history_key(k)
                        .ok_or_else(|| StoreError::Internal("bad history key".into()))?;
                    if !before_end(&key, end) {
                        None
                    } else {
                        Some((key, rev, v))
                    }
                }
                None => None,
            };
            let next_key = item.as_ref().map(|(k, _, _)| k.as_slice());
            if let Some((pk, _)) = &pending {
                if next_key != Some(pk.as_slice()) {
                    if let Some((pk, Some(rec))) = pending.take() {
                        if kvs.len() == limit {
                            more = true;
                            break;
                        }
                        kvs.push(rec.to_kv(&pk));
                    }
                    pending = None;
                }
            }
            let Some((key, rev, v)) = item else { break };
            if rev <= at {
                let rec = match codec::decode_version(v)? {
                    Version::Put(r) => Some(r),
                    Version::Tombstone => None,
                };
                pending = Some((key, rec));
            } else if pending.as_ref().map(|(k, _)| k) != Some(&key) {
                // Created after `at`: the key did not exist then (yet).
                pending = Some((key, None));
            }
            it.next();
        }
        it.status().map_err(|e| internal("range history", e))?;
        Ok((kvs, more))
    }

    /// Events with revision `>= from` for keys under `prefix`, whole revisions
    /// only, stopping after about `max` events. Returns them and the revision
    /// up to which the log was scanned (every event up to it is included).
    pub fn events(
        &self,
        from: Revision,
        prefix: &[u8],
        max: usize,
    ) -> Result<(Vec<Event>, Revision)> {
        if from.0 <= self.compacted.0 && self.compacted.0 > 0 {
            return Err(StoreError::Compacted {
                requested: from,
                compacted: self.compacted,
            });
        }
        let mut it = self.iter(schema::CF_EVENTS)?;
        it.seek(schema::event_key(from.0, 0));
        let mut events = Vec::new();
        let mut last_rev = None;
        while let Some((k, v)) = it.item() {
            let rev = schema::decode_u64(k)
                .ok_or_else(|| StoreError::Internal("bad event key".into()))?;
            if rev > self.revision.0 {
                break;
            }
            if events.len() >= max && last_rev != Some(rev) {
                it.status().map_err(|e| internal("events", e))?;
                return Ok((events, Revision(rev - 1)));
            }
            let ev = codec::decode_event(v)?;
            if ev.kv.key.starts_with(prefix) {
                events.push(ev);
                last_rev = Some(rev);
            }
            it.next();
        }
        it.status().map_err(|e| internal("events", e))?;
        Ok((events, self.revision))
    }
}

/// Events grouped by revision, in revision order.
pub type RevisionEvents = Vec<(Revision, Vec<Event>)>;

/// The single writer: applies transactions into one `WriteBatch`, reading the
/// current values through an overlay of what this batch already wrote.
pub struct Applier<'a> {
    db: &'a DB,
    batch: WriteBatch,
    overlay: HashMap<Vec<u8>, Option<Record>>,
    pub revision: u64,
    pub compacted: u64,
    /// Events written by this batch, grouped by revision, in order.
    pub events: RevisionEvents,
}

impl<'a> Applier<'a> {
    pub fn new(db: &'a DB, revision: u64, compacted: u64) -> Self {
        Applier {
            db,
            batch: WriteBatch::default(),
            overlay: HashMap::new(),
            revision,
            compacted,
            events: Vec::new(),
        }
    }

    /// Reads the persisted revision and compaction point.
    pub fn load(db: &'a DB) -> Result<Self> {
        let view = ReadView::new(db)?;
        let (rev, compacted) = (view.revision.0, view.compacted.0);
        drop(view);
        Ok(Self::new(db, rev, compacted))
    }

    fn current(&self, key: &[u8]) -> Result<Option<Record>> {
        if let Some(r) = self.overlay.get(key) {
            return Ok(r.clone());
        }
        let raw = self
            .db
            .get_pinned_cf(cf(self.db, schema::CF_CURRENT)?, key)
            .map_err(|e| internal("read current", e))?;
        raw.as_deref().map(codec::decode_record).transpose()
    }

    pub fn txn(&mut self, req: &TxnRequest) -> Result<TxnResponse> {
        for c in &req.compares {
            let cur = self.current(&c.key)?;
            let mod_rev = cur.as_ref().map_or(0, |r| r.mod_revision);
            if mod_rev != c.mod_revision.0 {
                let prev = req
                    .compares
                    .iter()
                    .map(|c| Ok(self.current(&c.key)?.map(|r| r.to_kv(&c.key))))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(TxnResponse {
                    succeeded: false,
                    revision: Revision(self.revision),
                    prev,
                    current: vec![],
                });
            }
        }
        let rev = self.revision + 1;
        let mut prev = Vec::with_capacity(req.success.len());
        let mut current = Vec::with_capacity(req.success.len());
        let mut events = Vec::new();
        for op in &req.success {
            match op {
                Op::Put { key, value } => {
                    let old = self.current(key)?;
                    let rec = Record {
                        value: value.clone(),
                        create_revision: old.as_ref().map_or(rev, |o| o.create_revision),
                        mod_revision: rev,
                        version: old.as_ref().map_or(1, |o| o.version + 1),
                    };
                    let kv = rec.to_kv(key);
                    let old_kv = old.map(|o| o.to_kv(key));
                    self.write(key, rev, events.len(), Some(rec), &kv, &old_kv)?;
                    events.push(Event {
                        kind: EventType::Put,
                        kv: kv.clone(),
                        prev: old_kv.clone(),
                    });
                    prev.push(old_kv);
                    current.push(Some(kv));
                }
                Op::Delete { key } => {
                    let old = self.current(key)?;
                    let old_kv = old.map(|o| o.to_kv(key));
                    if old_kv.is_some() {
                        let kv = KeyValue {
                            key: key.clone(),
                            value: vec![],
                            create_revision: Revision::ZERO,
                            mod_revision: Revision(rev),
                            version: 0,
                        };
                        self.write(key, rev, events.len(), None, &kv, &old_kv)?;
                        events.push(Event {
                            kind: EventType::Delete,
                            kv,
                            prev: old_kv.clone(),
                        });
                    }
                    prev.push(old_kv);
                    current.push(None);
                }
            }
        }
        if !events.is_empty() {
            self.revision = rev;
            self.events.push((Revision(rev), events));
        }
        Ok(TxnResponse {
            succeeded: true,
            revision: Revision(self.revision),
            prev,
            current,
        })
    }

    fn write(
        &mut self,
        key: &[u8],
        rev: u64,
        index: usize,
        rec: Option<Record>,
        kv: &KeyValue,
        prev: &Option<KeyValue>,
    ) -> Result<()> {
        let db = self.db;
        let event = Event {
            kind: if rec.is_some() {
                EventType::Put
            } else {
                EventType::Delete
            },
            kv: kv.clone(),
            prev: prev.clone(),
        };
        let index =
            u32::try_from(index).map_err(|_| StoreError::InvalidRequest("too many ops".into()))?;
        self.batch.put_cf(
            cf(db, schema::CF_EVENTS)?,
            schema::event_key(rev, index),
            codec::encode_event(&event),
        );
        match &rec {
            Some(r) => {
                self.batch
                    .put_cf(cf(db, schema::CF_CURRENT)?, key, codec::encode_record(r));
                self.batch.put_cf(
                    cf(db, schema::CF_HISTORY)?,
                    schema::history_key(key, rev),
                    codec::encode_version(&Version::Put(r.clone())),
                );
            }
            None => {
                self.batch.delete_cf(cf(db, schema::CF_CURRENT)?, key);
                self.batch.put_cf(
                    cf(db, schema::CF_HISTORY)?,
                    schema::history_key(key, rev),
                    codec::encode_version(&Version::Tombstone),
                );
            }
        }
        self.overlay.insert(key.to_vec(), rec);
        Ok(())
    }

    /// Checks a compaction request against the current state.
    pub fn check_compact(&self, to: Revision) -> Result<()> {
        if to.0 > self.revision {
            return Err(StoreError::FutureRevision {
                requested: to,
                current: Revision(self.revision),
            });
        }
        if to.0 <= self.compacted {
            return Err(StoreError::Compacted {
                requested: to,
                compacted: Revision(self.compacted),
            });
        }
        Ok(())
    }

    /// Drops history below `to` (keeping each key's latest version at or
    /// below it, unless that is a tombstone) and every event at or below it.
    /// Must run on a batch that has no pending transaction writes.
    pub fn compact(&mut self, to: Revision) -> Result<()> {
        self.check_compact(to)?;
        let db = self.db;
        let history = cf(db, schema::CF_HISTORY)?;
        let mut it = db.raw_iterator_cf(history);
        it.seek_to_first();
        // The newest version <= `to` seen so far for the current key.
        let mut held: Option<(Vec<u8>, Vec<u8>, bool)> = None; // (key, raw history key, is tombstone)
        while let Some((raw, v)) = it.item() {
            let (key, rev) = schema::decode_history_key(raw)
                .ok_or_else(|| StoreError::Internal("bad history key".into()))?;
            if held.as_ref().is_some_and(|(k, _, _)| *k != key) {
                if let Some((_, hk, true)) = held.take() {
                    self.batch.delete_cf(history, hk);
                }
                held = None;
            }
            if rev <= to.0 {
                if let Some((_, hk, _)) = held.take() {
                    self.batch.delete_cf(history, hk);
                }
                let tomb = matches!(codec::decode_version(v)?, Version::Tombstone);
                held = Some((key, raw.to_vec(), tomb));
            }
            it.next();
        }
        it.status().map_err(|e| internal("compact", e))?;
        if let Some((_, hk, true)) = held {
            self.batch.delete_cf(history, hk);
        }
        self.batch.delete_range_cf(
            cf(db, schema::CF_EVENTS)?,
            schema::event_key(0, 0),
            schema::event_key(to.0 + 1, 0),
        );
        self.compacted = to.0;
        Ok(())
    }

    /// Adds the revision and compaction point to the batch and hands it over,
    /// with the events it holds. The applier can be reused afterwards.
    pub fn take_batch(&mut self) -> Result<(WriteBatch, RevisionEvents)> {
        let meta = cf(self.db, schema::CF_SM_META)?;
        self.batch
            .put_cf(meta, schema::REVISION, schema::u64_key(self.revision));
        self.batch
            .put_cf(meta, schema::COMPACTED, schema::u64_key(self.compacted));
        self.overlay.clear();
        Ok((
            std::mem::take(&mut self.batch),
            std::mem::take(&mut self.events),
        ))
    }

    /// Adds an arbitrary write to the pending batch (the state machine's meta).
    pub fn put_meta(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.batch
            .put_cf(cf(self.db, schema::CF_SM_META)?, key, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Compare, StoreError};
    use crate::log_store::sync_opts;

    struct Fixture {
        _dir: tempfile::TempDir,
        db: DB,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = schema::open_db(dir.path()).expect("open db");
        Fixture { _dir: dir, db }
    }

    impl Fixture {
        fn txn(&self, req: TxnRequest) -> TxnResponse {
            let mut a = Applier::load(&self.db).expect("load");
            let resp = a.txn(&req).expect("txn");
            let (batch, _) = a.take_batch().expect("batch");
            self.db.write_opt(batch, &sync_opts()).expect("write");
            resp
        }

        fn put(&self, key: &str, value: &str) -> TxnResponse {
            self.txn(TxnRequest {
                compares: vec![],
                success: vec![Op::Put {
                    key: key.into(),
                    value: value.into(),
                }],
            })
        }

        fn delete(&self, key: &str) -> TxnResponse {
            self.txn(TxnRequest {
                compares: vec![],
                success: vec![Op::Delete { key: key.into() }],
            })
        }

        fn compact(&self, to: u64) -> Result<()> {
            let mut a = Applier::load(&self.db).expect("load");
            a.compact(Revision(to))?;
            let (batch, _) = a.take_batch().expect("batch");
            self.db.write_opt(batch, &sync_opts()).expect("write");
            Ok(())
        }

        fn view(&self) -> ReadView<'_> {
            ReadView::new(&self.db).expect("view")
        }

        fn get(&self, key: &str, rev: Option<u64>) -> Result<Option<KeyValue>> {
            self.view()
                .get(key.as_bytes(), rev.map(Revision))
                .map(|(kv, _)| kv)
        }

        fn values(
            &self,
            prefix: &str,
            rev: Option<u64>,
            limit: usize,
        ) -> Result<(Vec<String>, bool, Revision)> {
            let resp = self.view().range(&RangeRequest {
                revision: rev.map(Revision),
                limit,
                ..RangeRequest::prefix(prefix)
            })?;
            let vals = resp
                .kvs
                .iter()
                .map(|kv| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(&kv.key),
                        String::from_utf8_lossy(&kv.value)
                    )
                })
                .collect();
            Ok((vals, resp.more, resp.revision))
        }
    }

    #[test]
    fn revision_advances_once_per_writing_txn() {
        let f = fixture();
        assert_eq!(f.put("/a", "1").revision, Revision(1));
        // Two keys in one transaction: one revision.
        let both = f.txn(TxnRequest {
            compares: vec![],
            success: vec![
                Op::Put {
                    key: b"/b".to_vec(),
                    value: b"1".to_vec(),
                },
                Op::Put {
                    key: b"/c".to_vec(),
                    value: b"1".to_vec(),
                },
            ],
        });
        assert_eq!(both.revision, Revision(2));
        let b = f.get("/b", None).expect("get").expect("b");
        let c = f.get("/c", None).expect("get").expect("c");
        assert_eq!((b.mod_revision, c.mod_revision), (Revision(2), Revision(2)));
        // Deleting an absent key changes nothing.
        let noop = f.delete("/absent");
        assert!(noop.succeeded);
        assert_eq!(noop.revision, Revision(2));
        assert_eq!(f.view().revision, Revision(2));
    }

    #[test]
    fn create_and_mod_revision_and_version_follow_etcd() {
        let f = fixture();
        f.put("/k", "1"); // rev 1: create
        f.put("/other", "x"); // rev 2
        f.put("/k", "2"); // rev 3
        let kv = f.get("/k", None).expect("get").expect("k");
        assert_eq!(
            (kv.create_revision, kv.mod_revision, kv.version),
            (Revision(1), Revision(3), 2)
        );
        let del = f.delete("/k"); // rev 4
        assert_eq!(del.prev[0].as_ref().map(|p| p.version), Some(2));
        assert_eq!(f.get("/k", None).expect("get"), None);
        f.put("/k", "3"); // rev 5: a new incarnation
        let kv = f.get("/k", None).expect("get").expect("k");
        assert_eq!(
            (kv.create_revision, kv.mod_revision, kv.version),
            (Revision(5), Revision(5), 1)
        );
    }

    #[test]
    fn deletes_leave_history_readable_at_past_revisions() {
        let f = fixture();
        f.put("/k", "1"); // 1
        f.put("/k", "2"); // 2
        f.delete("/k"); // 3
        f.put("/j", "x"); // 4
        assert_eq!(
            f.get("/k", Some(1)).expect("get").map(|kv| kv.value),
            Some(b"1".to_vec())
        );
        let at2 = f.get("/k", Some(2)).expect("get").expect("k at 2");
        assert_eq!(
            (at2.value.as_slice(), at2.version, at2.mod_revision),
            (&b"2"[..], 2, Revision(2))
        );
        assert_eq!(f.get("/k", Some(3)).expect("get"), None);
        assert_eq!(f.get("/j", Some(3)).expect("get"), None, "not created yet");
        assert_eq!(f.values("/", Some(2), 0).expect("range").0, vec!["/k=2"]);
        assert_eq!(f.values("/", Some(4), 0).expect("range").0, vec!["/j=x"]);
    }

    #[test]
    fn range_honours_limit_more_and_start_key() {
        let f = fixture();
        for k in ["/p/a", "/p/b", "/p/c", "/q/z"] {
            f.put(k, "v");
        }
        let (vals, more, rev) = f.values("/p/", None, 2).expect("range");
        assert_eq!(
            (vals, more, rev),
            (
                vec!["/p/a=v".to_string(), "/p/b=v".to_string()],
                true,
                Revision(4)
            )
        );
        let (vals, more, _) = f.values("/p/", None, 3).expect("range");
        assert_eq!((vals.len(), more), (3, false));
        // Next page: start after the last key returned, at the same revision.
        let page2 = f
            .view()
            .range(&RangeRequest {
                key: b"/p/b\0".to_vec(),
                range_end: crate::api::prefix_end(b"/p/"),
                revision: Some(Revision(4)),
                limit: 2,
                ..Default::default()
            })
            .expect("page 2");
        assert_eq!(page2.kvs.len(), 1);
        assert_eq!(page2.kvs[0].key, b"/p/c");
        assert!(!page2.more);
        // Same at a past revision (served from history).
        f.put("/p/a", "v2"); // 5
        let (vals, more, rev) = f.values("/p/", Some(4), 2).expect("range at 4");
        assert_eq!(
            (vals, more, rev),
            (
                vec!["/p/a=v".to_string(), "/p/b=v".to_string()],
                true,
                Revision(4)
            )
        );
    }

    #[test]
    fn future_revision_is_an_error() {
        let f = fixture();
        f.put("/k", "1");
        match f.get("/k", Some(2)) {
            Err(StoreError::FutureRevision { requested, current }) => {
                assert_eq!((requested, current), (Revision(2), Revision(1)))
            }
            other => panic!("expected FutureRevision, got {other:?}"),
        }
    }

    #[test]
    fn compaction_drops_old_history_but_keeps_latest_values() {
        let f = fixture();
        f.put("/k", "1"); // 1
        f.put("/k", "2"); // 2
        f.put("/gone", "x"); // 3
        f.delete("/gone"); // 4
        f.put("/k", "3"); // 5
        f.compact(4).expect("compact");
        match f.get("/k", Some(3)) {
            Err(StoreError::Compacted {
                requested,
                compacted,
            }) => {
                assert_eq!((requested, compacted), (Revision(3), Revision(4)))
            }
            other => panic!("expected Compacted, got {other:?}"),
        }
        // At the compaction revision: each key's latest value at or below it.
        assert_eq!(
            f.values("/", Some(4), 0).expect("range at 4").0,
            vec!["/k=2"]
        );
        assert_eq!(f.values("/", None, 0).expect("range").0, vec!["/k=3"]);
        // Events at or below the compaction point are gone.
        assert!(matches!(
            f.view().events(Revision(4), b"/", 100),
            Err(StoreError::Compacted { .. })
        ));
        let (evs, upto) = f.view().events(Revision(5), b"/", 100).expect("events");
        assert_eq!((evs.len(), upto), (1, Revision(5)));
        // Compacting again to the same point, or beyond current, fails.
        assert!(matches!(f.compact(4), Err(StoreError::Compacted { .. })));
        assert!(matches!(
            f.compact(9),
            Err(StoreError::FutureRevision { .. })
        ));
        // The tombstoned key left no history behind at or below 4.
        let mut it =
            f.db.raw_iterator_cf(cf(&f.db, schema::CF_HISTORY).expect("cf"));
        it.seek_to_first();
        let mut keys = Vec::new();
        while let Some(k) = it.key() {
            keys.push(schema::decode_history_key(k).expect("key"));
            it.next();
        }
        assert_eq!(keys, vec![(b"/k".to_vec(), 2), (b"/k".to_vec(), 5)]);
    }

    #[test]
    fn failed_compare_returns_current_values_and_writes_nothing() {
        let f = fixture();
        f.put("/a", "1"); // 1
        let resp = f.txn(TxnRequest {
            compares: vec![
                Compare {
                    key: b"/a".to_vec(),
                    mod_revision: Revision(1),
                },
                Compare {
                    key: b"/missing".to_vec(),
                    mod_revision: Revision(7),
                },
            ],
            success: vec![Op::Put {
                key: b"/a".to_vec(),
                value: b"2".to_vec(),
            }],
        });
        assert!(!resp.succeeded);
        assert_eq!(resp.revision, Revision(1));
        assert_eq!(resp.prev.len(), 2);
        assert_eq!(
            resp.prev[0].as_ref().map(|kv| kv.value.clone()),
            Some(b"1".to_vec())
        );
        assert_eq!(resp.prev[1], None);
        assert_eq!(
            f.get("/a", None).expect("get").map(|kv| kv.value),
            Some(b"1".to_vec())
        );
        assert_eq!(f.view().revision, Revision(1));
    }

    #[test]
    fn events_come_in_order_with_previous_values() {
        let f = fixture();
        f.put("/w/a", "1"); // 1
        f.put("/x", "ignored"); // 2
        f.put("/w/a", "2"); // 3
        f.delete("/w/a"); // 4
        let (evs, upto) = f.view().events(Revision(1), b"/w/", 100).expect("events");
        assert_eq!(upto, Revision(4));
        let revs: Vec<u64> = evs.iter().map(|e| e.kv.mod_revision.0).collect();
        assert_eq!(revs, vec![1, 3, 4]);
        assert_eq!(
            evs[1].prev.as_ref().map(|p| p.value.clone()),
            Some(b"1".to_vec())
        );
        assert_eq!(evs[2].kind, EventType::Delete);
        assert_eq!(
            evs[2].prev.as_ref().map(|p| p.value.clone()),
            Some(b"2".to_vec())
        );
        // Chunked reads stop at a revision boundary and say how far they got.
        let (first, upto) = f.view().events(Revision(1), b"/", 1).expect("events");
        assert_eq!((first.len(), upto), (1, Revision(1)));
    }
}
