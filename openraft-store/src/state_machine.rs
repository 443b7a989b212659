//! The Raft state machine: applies committed entries to the MVCC store, one
//! `WriteBatch` per applied batch (data + revision + last applied log id +
//! membership together), then tells watchers.
//!
//! The batch goes to RocksDB's write-ahead log without its own fsync. The
//! Raft log is the durable record: an entry is applied only once committed,
//! that is once its append was fsynced, so a crash that loses the last state
//! machine writes loses nothing acknowledged. At start openraft re-applies
//! the entries after the recovered `last_applied` up to the saved committed
//! index, and a leader re-commits and applies the rest. Both sides share one
//! database and so one write-ahead log, which RocksDB recovers as a prefix:
//! a state machine write becomes durable with the next synced log write at
//! the latest, and one that is lost never comes back without the writes
//! before it. Log purges (synced, after a snapshot was built from applied
//! state) therefore never get ahead of the state they rely on.
// openraft's `StorageError` (the storage traits' error type) is large; we return it as is.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, StorageIOError,
};
use rocksdb::DB;
use tokio::sync::{broadcast, watch};

use crate::api::{Revision, StoreError};
use crate::mvcc::{decode, encode, Applier, ReadView, RevisionEvents};
use crate::raft_types::{
    to_wire, Entry, LogId, Request, Response, Snapshot, SnapshotMeta, StorageError,
    StoredMembership, TypeConfig,
};
use crate::schema;
use crate::snapshot::{self, SnapshotFile};

/// What one applied batch changed, as the watchers see it.
#[derive(Debug)]
pub struct Applied {
    /// Every revision in `from..=to` is covered by this message (events of
    /// revisions without events simply touched no key). `from > to` when the
    /// batch wrote nothing; a snapshot install sends `from = to + 1` so that
    /// watchers behind it re-read from RocksDB.
    pub from: Revision,
    pub to: Revision,
    pub events: RevisionEvents,
}

/// Shared between the state machine (writer) and readers/watchers.
pub struct Shared {
    pub applied: broadcast::Sender<Arc<Applied>>,
    pub revision: watch::Sender<Revision>,
    /// Bumped to ask every watch to report its position now (etcd's
    /// `RequestProgress`), rather than at its next progress tick.
    pub progress_requests: watch::Sender<u64>,
}

impl Shared {
    pub fn new(capacity: usize, revision: Revision) -> Self {
        let (applied, _) = broadcast::channel(capacity);
        let (revision, _) = watch::channel(revision);
        let (progress_requests, _) = watch::channel(0);
        Shared {
            applied,
            revision,
            progress_requests,
        }
    }
}

fn sm_err(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(
        ErrorSubject::StateMachine,
        verb,
        AnyError::error(e.to_string()),
    )
    .into()
}

/// Applied batches: in the write-ahead log, without an fsync of their own.
fn apply_opts() -> rocksdb::WriteOptions {
    let mut o = rocksdb::WriteOptions::default();
    o.set_sync(false);
    o.disable_wal(false);
    o
}

pub struct StateMachineStore {
    db: Arc<DB>,
    shared: Arc<Shared>,
    files: Arc<SnapshotFile>,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    revision: u64,
    compacted: u64,
    snapshot_idx: u64,
}

impl StateMachineStore {
    /// Loads the applied state persisted in `sm_meta`.
    pub fn open(
        db: Arc<DB>,
        shared: Arc<Shared>,
        files: Arc<SnapshotFile>,
    ) -> Result<Self, StoreError> {
        let meta = crate::mvcc::cf(&db, schema::CF_SM_META)?;
        let get = |k: &[u8]| {
            db.get_cf(meta, k)
                .map_err(|e| crate::mvcc::internal("open state machine", e))
        };
        let last_applied: Option<LogId> = match get(schema::LAST_APPLIED)? {
            Some(raw) => decode(&raw)?,
            None => None,
        };
        let membership: StoredMembership = match get(schema::MEMBERSHIP)? {
            Some(raw) => decode(&raw)?,
            None => StoredMembership::default(),
        };
        let view = ReadView::new(&db)?;
        let (revision, compacted) = (view.revision.0, view.compacted.0);
        drop(view);
        shared.revision.send_replace(Revision(revision));
        Ok(StateMachineStore {
            db,
            shared,
            files,
            last_applied,
            membership,
            revision,
            compacted,
            snapshot_idx: 0,
        })
    }

    /// Writes what the applier holds plus the applied log id and membership
    /// (not synced: see the module documentation), then publishes the events.
    async fn flush(
        &mut self,
        applier: &mut Applier<'_>,
        last: Option<LogId>,
    ) -> Result<(), StorageError> {
        applier
            .put_meta(
                schema::LAST_APPLIED,
                &encode(&last).map_err(|e| sm_err(ErrorVerb::Write, e))?,
            )
            .and_then(|_| applier.put_meta(schema::MEMBERSHIP, &encode(&self.membership)?))
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let (batch, events) = applier
            .take_batch()
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        // Off the async workers: a write may wait for RocksDB (a stall, or
        // the fsync of a log write it joins).
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.write_opt(batch, &apply_opts()))
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))?
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let from = Revision(self.revision + 1);
        self.last_applied = last;
        self.revision = applier.revision;
        self.compacted = applier.compacted;
        if self.revision >= from.0 {
            let _ = self.shared.applied.send(Arc::new(Applied {
                from,
                to: Revision(self.revision),
                events,
            }));
            self.shared.revision.send_replace(Revision(self.revision));
        }
        Ok(())
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let db = self.db.clone();
        let mut applier = Applier::new(&db, self.revision, self.compacted);
        let mut replies = Vec::new();
        let mut last = self.last_applied;
        let mut pending = false;
        for entry in entries {
            let reply = match entry.payload {
                EntryPayload::Blank => Response::Blank,
                EntryPayload::Normal(Request::Txns(reqs)) => {
                    let mut out = Vec::with_capacity(reqs.0.len());
                    for req in &reqs.0 {
                        match applier.txn(req) {
                            Err(StoreError::Internal(e)) => {
                                return Err(sm_err(ErrorVerb::Write, e))
                            }
                            r => out.push(to_wire(r)),
                        }
                    }
                    Response::Txns(out)
                }
                EntryPayload::Normal(Request::Compact(rev)) => {
                    if pending {
                        self.flush(&mut applier, last).await?;
                    }
                    match applier.compact(rev) {
                        Err(StoreError::Internal(e)) => return Err(sm_err(ErrorVerb::Write, e)),
                        r => Response::Compact(to_wire(r)),
                    }
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    Response::Blank
                }
            };
            pending = true;
            last = Some(entry.log_id);
            replies.push(reply);
        }
        if pending {
            self.flush(&mut applier, last).await?;
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_idx += 1;
        SnapshotBuilder {
            db: self.db.clone(),
            files: self.files.clone(),
            idx: self.snapshot_idx,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let sig = Some(meta.signature());
        let werr = |e: StoreError| -> StorageError {
            StorageIOError::new(
                ErrorSubject::Snapshot(sig.clone()),
                ErrorVerb::Write,
                AnyError::new(&e),
            )
            .into()
        };
        snapshot::install(&self.db, meta, &data).map_err(werr)?;
        self.files.save(meta, &data).map_err(werr)?;
        let view = ReadView::new(&self.db).map_err(werr)?;
        self.revision = view.revision.0;
        self.compacted = view.compacted.0;
        drop(view);
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        let _ = self.shared.applied.send(Arc::new(Applied {
            from: Revision(self.revision + 1),
            to: Revision(self.revision),
            events: vec![],
        }));
        self.shared.revision.send_replace(Revision(self.revision));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let loaded = self.files.load().map_err(|e| {
            StorageIOError::new(
                ErrorSubject::Snapshot(None),
                ErrorVerb::Read,
                AnyError::new(&e),
            )
        })?;
        Ok(loaded.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Builds a snapshot from a RocksDB snapshot, concurrently with applies.
pub struct SnapshotBuilder {
    db: Arc<DB>,
    files: Arc<SnapshotFile>,
    idx: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let rerr = |e: StoreError| -> StorageError {
            StorageIOError::new(
                ErrorSubject::Snapshot(None),
                ErrorVerb::Read,
                AnyError::new(&e),
            )
            .into()
        };
        let (last_log_id, last_membership, data) = snapshot::build(&self.db).map_err(rerr)?;
        let snapshot_id = match last_log_id {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, self.idx),
            None => format!("--{}", self.idx),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        self.files.save(&meta, &data).map_err(rerr)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
