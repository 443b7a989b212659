//! The openraft type configuration: what a log entry carries and what
//! applying it answers.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::api::{Revision, StoreError, TxnResponse};
use crate::codec::TxnBatch;

/// A replicated command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Transactions applied one after the other, each its own revision.
    /// Concurrent client transactions are batched into one entry.
    Txns(TxnBatch),
    Compact(Revision),
}

/// What applying one entry answers (membership and blank entries answer `Blank`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Blank,
    Txns(Vec<WireResult<TxnResponse>>),
    Compact(WireResult<()>),
}

/// [`StoreError`] as it crosses the wire (between nodes, in Raft responses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    Unavailable(String),
    Timeout(String),
    InvalidRequest(String),
    Internal(String),
}

pub type WireResult<T> = Result<T, WireError>;

impl From<StoreError> for WireError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Compacted {
                requested,
                compacted,
            } => WireError::Compacted {
                requested,
                compacted,
            },
            StoreError::FutureRevision { requested, current } => {
                WireError::FutureRevision { requested, current }
            }
            StoreError::Unavailable(m) => WireError::Unavailable(m),
            StoreError::Timeout(m) => WireError::Timeout(m),
            StoreError::InvalidRequest(m) => WireError::InvalidRequest(m),
            StoreError::Internal(m) => WireError::Internal(m),
        }
    }
}

impl From<WireError> for StoreError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Compacted {
                requested,
                compacted,
            } => StoreError::Compacted {
                requested,
                compacted,
            },
            WireError::FutureRevision { requested, current } => {
                StoreError::FutureRevision { requested, current }
            }
            WireError::Unavailable(m) => StoreError::Unavailable(m),
            WireError::Timeout(m) => StoreError::Timeout(m),
            WireError::InvalidRequest(m) => StoreError::InvalidRequest(m),
            WireError::Internal(m) => StoreError::Internal(m),
        }
    }
}

/// Converts a result for the wire.
pub fn to_wire<T>(r: Result<T, StoreError>) -> WireResult<T> {
    r.map_err(WireError::from)
}

pub type NodeId = u64;
pub type Node = openraft::BasicNode;

openraft::declare_raft_types!(
    /// ferrokube's Raft types.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = NodeId,
        Node = Node,
        SnapshotData = Cursor<Vec<u8>>,
);

pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type Raft = openraft::Raft<TypeConfig>;
