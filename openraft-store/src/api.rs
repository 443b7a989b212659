//! The store's contract, as the API server sees it: etcd's data model (one
//! global revision, per-key create/mod revisions and versions, history until
//! compaction) behind an async trait.
//!
//! Everything here is plain data; `RaftStore` (see `node.rs`) is the one
//! implementation. The API server holds an `Arc<dyn Store>`.

use std::fmt;
use std::pin::Pin;

use futures::Stream;
use serde::{Deserialize, Serialize};

/// A point in the store's history: +1 per committed write transaction.
/// `resourceVersion` strings exist only at the HTTP edge.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Revision(pub u64);

impl Revision {
    pub const ZERO: Revision = Revision(0);
    pub fn next(self) -> Revision {
        Revision(self.0 + 1)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One key as stored at some revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Revision of the put that created this incarnation of the key.
    pub create_revision: Revision,
    /// Revision of the last put (or, for a delete event, of the delete).
    pub mod_revision: Revision,
    /// Number of puts since creation; 1 after the create. Reset by delete.
    pub version: u64,
}

/// How a read is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consistency {
    /// Read-index: confirmed with a quorum before reading locally (the default).
    #[default]
    Linearizable,
    /// Local state, possibly stale on a follower. Cheaper.
    Serializable,
}

/// A range read: keys in `[key, range_end)`, or the single `key` when
/// `range_end` is empty. Use [`prefix_end`] to range over a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    /// Read at this past revision; `None` reads at the current revision.
    pub revision: Option<Revision>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    pub consistency: Consistency,
}

impl RangeRequest {
    /// All keys under `prefix`, at the current revision, linearizable.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let key = prefix.into();
        let range_end = prefix_end(&key);
        RangeRequest {
            key,
            range_end,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeResponse {
    /// In key order.
    pub kvs: Vec<KeyValue>,
    /// More keys remain in the range past the last one returned (limit hit).
    pub more: bool,
    /// The revision the range was read at.
    pub revision: Revision,
}

/// A condition on one key's `mod_revision`. `Revision::ZERO` means "absent".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    pub key: Vec<u8>,
    pub mod_revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Put { key: Vec<u8>, value: Vec<u8> },
    Delete { key: Vec<u8> },
}

/// If every compare holds, apply `success` ops atomically as one revision.
/// Otherwise nothing is written and the current values of the compared keys
/// are returned. A transaction whose ops change nothing (e.g. deleting an
/// absent key) still succeeds but does not bump the revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnRequest {
    pub compares: Vec<Compare>,
    pub success: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnResponse {
    pub succeeded: bool,
    /// The revision after the transaction (the new one when it wrote).
    pub revision: Revision,
    /// On success: for each op in order, the key as it was before (None if
    /// absent). On failure: for each compare in order, its current value.
    pub prev: Vec<Option<KeyValue>>,
    /// On success: for each op in order, the key as written (None for deletes).
    pub current: Vec<Option<KeyValue>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Put,
    Delete,
}

/// One change, in revision order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventType,
    /// For Put: the new value. For Delete: key, empty value, `mod_revision`
    /// = the delete's revision, `create_revision` and `version` 0.
    pub kv: KeyValue,
    /// The key's value just before this event, if it existed.
    pub prev: Option<KeyValue>,
}

/// What a watch stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMessage {
    /// Events of one revision or several, in revision order.
    Events(Vec<Event>),
    /// Every event up to and including this revision has been delivered.
    Progress(Revision),
}

/// A watch: a stream of messages, or one error that ends it (for example
/// `Compacted` when the watcher fell too far behind).
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchMessage, StoreError>> + Send>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub addr: String,
    pub voter: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub id: u64,
    pub leader: Option<u64>,
    pub members: Vec<MemberStatus>,
    pub applied_index: u64,
    pub revision: Revision,
    pub compacted: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The revision asked for has been compacted away (the API server's 410).
    #[error("required revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The revision asked for is newer than the store's current one.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// This node cannot serve the request now (no leader, shutting down, ...).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request did not finish in time.
    #[error("store request timed out: {0}")]
    Timeout(String),
    /// The request itself is malformed (e.g. empty key).
    #[error("invalid store request: {0}")]
    InvalidRequest(String),
    /// RocksDB or Raft failed underneath.
    #[error("storage failure: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The key just past every key that starts with `prefix` (etcd's
/// `GetPrefixRangeEnd`). An all-0xff prefix yields `[0]`, meaning "to the end".
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The store as the API server uses it.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// One key at the current (or a past) revision, and the revision read at.
    async fn get(
        &self,
        key: &[u8],
        revision: Option<Revision>,
        consistency: Consistency,
    ) -> Result<(Option<KeyValue>, Revision)>;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;

    /// Compare-and-swap: acknowledged only once durable on a majority and applied.
    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse>;

    /// Events for keys under `prefix` with `mod_revision >= start`, then live
    /// ones, plus periodic `Progress`. `start` at or below the compaction point
    /// is `Compacted`; beyond current + 1 is `FutureRevision`.
    async fn watch(&self, prefix: &[u8], start: Revision) -> Result<WatchStream>;

    /// Drop history older than `revision` (the latest value of each key stays).
    async fn compact(&self, revision: Revision) -> Result<()>;

    async fn current_revision(&self) -> Result<Revision>;

    /// Asks every open watch to send a `Progress` with its position soon,
    /// without waiting for its periodic one (etcd's `RequestProgress`): a
    /// reader that knows the current revision learns quickly when a watch
    /// has delivered everything up to it.
    async fn request_progress(&self) -> Result<()> {
        Ok(())
    }

    async fn status(&self) -> Result<ClusterStatus>;

    /// Stops the store (Raft, the peers' RPC server, every watch). Writes are
    /// durable once acknowledged, so this is for a tidy exit, not for safety.
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
