//! ferrokube's store: a durable, replicated MVCC key-value store with etcd's
//! contract, built on openraft and RocksDB.
//!
//! [`RaftStore::open`] starts a node; the API server uses it as a [`Store`].

pub mod api;
mod batcher;
pub mod codec;
pub mod config;
pub mod log_store;
pub mod mvcc;
pub mod network;
pub mod node;
pub mod raft_types;
mod rpc;
pub mod schema;
pub mod snapshot;
pub mod state_machine;
pub mod watch;

pub use api::*;
pub use config::Config;
pub use node::RaftStore;
