//! The Raft log and vote in RocksDB (`raft_log`, `raft_meta`).
//!
//! openraft 0.9 hands us one `append` per client write. To batch fsyncs, an
//! `append` only queues its entries and returns; a dedicated writer thread
//! drains the queue, writes everything queued in one synced `WriteBatch` and
//! then reports each append as flushed (group commit). Entries queued but not
//! yet written stay readable from an in-memory overlay. Truncate, purge and
//! vote go through the same queue (so they stay ordered) and wait for it.
// openraft's `StorageError` (the storage traits' error type) is large; we return it as is.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::raft_types::{Entry, LogId, NodeId, StorageError, TypeConfig, Vote};
use crate::schema;

type StorageResult<T> = Result<T, StorageError>;

/// Most queued jobs written in one batch.
const MAX_GROUP: usize = 4096;

fn io_err(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::new(&e)).into()
}

fn io_msg(subject: ErrorSubject<NodeId>, verb: ErrorVerb, msg: String) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::error(msg)).into()
}

/// Writes with `sync = true`: the WAL is fsynced before the call returns.
pub(crate) fn sync_opts() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.set_sync(true);
    o
}

/// One queued change of the log's column families.
enum Job {
    Append {
        entries: Vec<(LogId, Vec<u8>)>,
        callback: LogFlushed<TypeConfig>,
    },
    /// Removes log indexes `from..`.
    Truncate {
        from: u64,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// Records `last_purged` and removes indexes `..=upto`.
    Purge {
        upto: u64,
        last_purged: Vec<u8>,
        done: oneshot::Sender<Result<(), String>>,
    },
    PutMeta {
        key: &'static [u8],
        value: Vec<u8>,
        done: Option<oneshot::Sender<Result<(), String>>>,
    },
}

/// Entries queued for the writer but not yet in RocksDB, by index.
type Pending = Arc<Mutex<BTreeMap<u64, Entry>>>;

/// The writer thread; joined on drop so the database is closed when the store is.
struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_group(db: &DB, jobs: &[Job]) -> Result<(), String> {
    let log = db
        .cf_handle(schema::CF_RAFT_LOG)
        .ok_or("raft_log column family missing")?;
    let meta = db
        .cf_handle(schema::CF_RAFT_META)
        .ok_or("raft_meta column family missing")?;
    let mut batch = WriteBatch::default();
    for job in jobs {
        match job {
            Job::Append { entries, .. } => {
                for (id, bytes) in entries {
                    batch.put_cf(log, schema::u64_key(id.index), bytes);
                }
            }
            Job::Truncate { from, .. } => {
                batch.delete_range_cf(log, schema::u64_key(*from), schema::u64_key(u64::MAX));
                batch.delete_cf(log, schema::u64_key(u64::MAX));
            }
            Job::Purge {
                upto, last_purged, ..
            } => {
                batch.put_cf(meta, schema::LAST_PURGED, last_purged);
                batch.delete_range_cf(
                    log,
                    schema::u64_key(0),
                    schema::u64_key(upto.saturating_add(1)),
                );
            }
            Job::PutMeta { key, value, .. } => batch.put_cf(meta, key, value),
        }
    }
    db.write_opt(batch, &sync_opts()).map_err(|e| e.to_string())
}

fn run_writer(db: Arc<DB>, rx: mpsc::Receiver<Job>, pending: Pending) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let res = write_group(&db, &jobs);
        if res.is_ok() {
            if let Ok(mut p) = pending.lock() {
                for job in &jobs {
                    if let Job::Append { entries, .. } = job {
                        for (id, _) in entries {
                            if p.get(&id.index).is_some_and(|e| e.log_id == *id) {
                                p.remove(&id.index);
                            }
                        }
                    }
                }
            }
        }
        for job in jobs {
            match job {
                Job::Append { callback, .. } => callback.log_io_completed(
                    res.clone()
                        .map_err(|e| std::io::Error::other(format!("append to raft log: {e}"))),
                ),
                Job::Truncate { done, .. } | Job::Purge { done, .. } => {
                    let _ = done.send(res.clone());
                }
                Job::PutMeta { done, .. } => {
                    if let Some(done) = done {
                        let _ = done.send(res.clone());
                    }
                }
            }
        }
    }
}

#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    pending: Pending,
    writer: Arc<Writer>,
}

impl LogStore {
    pub fn new(db: Arc<DB>) -> Self {
        let pending: Pending = Arc::default();
        let (tx, rx) = mpsc::channel();
        let thread = {
            let (db, pending) = (db.clone(), pending.clone());
            std::thread::Builder::new()
                .name("raft-log-writer".into())
                .spawn(move || run_writer(db, rx, pending))
                .ok()
        };
        LogStore {
            db,
            pending,
            writer: Arc::new(Writer {
                tx: Some(tx),
                thread,
            }),
        }
    }

    fn send(&self, job: Job, subject: ErrorSubject<NodeId>) -> StorageResult<()> {
        let tx = self
            .writer
            .tx
            .as_ref()
            .filter(|_| self.writer.thread.is_some());
        match tx {
            Some(tx) => tx
                .send(job)
                .map_err(|_| io_msg(subject, ErrorVerb::Write, "log writer stopped".into())),
            None => Err(io_msg(
                subject,
                ErrorVerb::Write,
                "log writer did not start".into(),
            )),
        }
    }

    /// Queues `job` and waits until it is durable.
    async fn send_and_wait(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Job,
        subject: ErrorSubject<NodeId>,
    ) -> StorageResult<()> {
        let (done, wait) = oneshot::channel();
        self.send(make(done), subject.clone())?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_msg(subject, ErrorVerb::Write, e)),
            Err(_) => Err(io_msg(
                subject,
                ErrorVerb::Write,
                "log writer stopped".into(),
            )),
        }
    }

    fn get_meta<T: DeserializeOwned>(
        &self,
        key: &[u8],
        subject: ErrorSubject<NodeId>,
    ) -> StorageResult<Option<T>> {
        let cf = self
            .db
            .cf_handle(schema::CF_RAFT_META)
            .ok_or_else(|| io_msg(subject.clone(), ErrorVerb::Read, "raft_meta missing".into()))?;
        let raw = self
            .db
            .get_cf(cf, key)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Read, e))?;
        raw.map(|b| bincode::deserialize(&b).map_err(|e| io_err(subject, ErrorVerb::Read, *e)))
            .transpose()
    }

    fn encode<T: Serialize>(value: &T, subject: ErrorSubject<NodeId>) -> StorageResult<Vec<u8>> {
        bincode::serialize(value).map_err(|e| io_err(subject, ErrorVerb::Write, *e))
    }

    fn decode_entry(raw: &[u8]) -> StorageResult<Entry> {
        bincode::deserialize(raw).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, *e))
    }

    fn log_cf(&self) -> StorageResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(schema::CF_RAFT_LOG).ok_or_else(|| {
            io_msg(
                ErrorSubject::Logs,
                ErrorVerb::Read,
                "raft_log missing".into(),
            )
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry>> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        // Snapshot the overlay first: an entry leaves it only after it is in RocksDB.
        let overlay: BTreeMap<u64, Entry> = match self.pending.lock() {
            Ok(p) => p
                .range((range.start_bound().cloned(), range.end_bound().cloned()))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        let mut out: BTreeMap<u64, Entry> = BTreeMap::new();
        let mut it = self.db.raw_iterator_cf(self.log_cf()?);
        it.seek(schema::u64_key(start));
        while let Some((k, v)) = it.item() {
            let idx = schema::decode_u64(k).unwrap_or(u64::MAX);
            if !range.contains(&idx) {
                break;
            }
            out.insert(idx, Self::decode_entry(v)?);
            it.next();
        }
        it.status()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        out.extend(overlay);
        Ok(out.into_values().collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let mut it = self.db.raw_iterator_cf(self.log_cf()?);
        it.seek_to_last();
        let mut last = match it.value() {
            Some(v) => Some(Self::decode_entry(v)?.log_id),
            None => None,
        };
        it.status()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        if let Ok(p) = self.pending.lock() {
            if let Some((_, e)) = p.last_key_value() {
                last = Some(e.log_id);
            }
        }
        let last_purged_log_id: Option<LogId> =
            self.get_meta(schema::LAST_PURGED, ErrorSubject::Store)?;
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> StorageResult<()> {
        let value = Self::encode(vote, ErrorSubject::Vote)?;
        self.send_and_wait(
            |done| Job::PutMeta {
                key: schema::VOTE,
                value,
                done: Some(done),
            },
            ErrorSubject::Vote,
        )
        .await
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote>> {
        self.get_meta(schema::VOTE, ErrorSubject::Vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> StorageResult<()> {
        // Not waited for: losing it only means re-applying from the state machine's own index.
        let value = Self::encode(&committed, ErrorSubject::Store)?;
        self.send(
            Job::PutMeta {
                key: schema::COMMITTED,
                value,
                done: None,
            },
            ErrorSubject::Store,
        )
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId>> {
        Ok(self
            .get_meta::<Option<LogId>>(schema::COMMITTED, ErrorSubject::Store)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        let mut queued = Vec::new();
        for entry in entries {
            let bytes = Self::encode(&entry, ErrorSubject::Log(entry.log_id))?;
            encoded.push((entry.log_id, bytes));
            queued.push(entry);
        }
        if let Ok(mut p) = self.pending.lock() {
            for e in queued {
                p.insert(e.log_id.index, e);
            }
        }
        self.send(
            Job::Append {
                entries: encoded,
                callback,
            },
            ErrorSubject::Logs,
        )
    }

    async fn truncate(&mut self, log_id: LogId) -> StorageResult<()> {
        if let Ok(mut p) = self.pending.lock() {
            p.split_off(&log_id.index);
        }
        self.send_and_wait(
            |done| Job::Truncate {
                from: log_id.index,
                done,
            },
            ErrorSubject::Logs,
        )
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> StorageResult<()> {
        let last_purged = Self::encode(&log_id, ErrorSubject::Store)?;
        if let Ok(mut p) = self.pending.lock() {
            *p = p.split_off(&log_id.index.saturating_add(1));
        }
        self.send_and_wait(
            |done| Job::Purge {
                upto: log_id.index,
                last_purged,
                done,
            },
            ErrorSubject::Logs,
        )
        .await
    }
}
