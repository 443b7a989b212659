//! ferrokube's store: a durable, replicated MVCC key-value store with etcd's
//! contract, built on openraft and RocksDB.

pub mod api;

pub use api::*;
