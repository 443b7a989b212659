//! How a node is started.

use std::path::PathBuf;
use std::time::Duration;

/// Configuration of one store node. [`Config::new`] gives the embedded
/// single-node default; set `raft_listen` (and `join` on new nodes) for a cluster.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `db/` (RocksDB) and `snapshot/`. Created if missing.
    pub data_dir: PathBuf,
    /// This node's Raft id, unique in the cluster (1 for the first node).
    pub node_id: u64,
    /// Where the Raft RPC server listens, e.g. `127.0.0.1:0`. `None`: no
    /// server (a single node that nobody joins).
    pub raft_listen: Option<String>,
    /// The `host:port` peers use to reach this node; defaults to the bound
    /// `raft_listen` address.
    pub raft_advertise: Option<String>,
    /// `host:port` of a member to join through. `None`: on an empty data dir,
    /// initialize a new cluster with this node as its only voter.
    pub join: Option<String>,
    pub heartbeat_interval: Duration,
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// Deadline for one client request (write, read-index, forward).
    pub request_timeout: Duration,
    /// Raft RPC deadline to a peer (snapshots get ten times more).
    pub rpc_timeout: Duration,
    /// How often an idle watch reports `Progress` (when the revision moved).
    pub progress_interval: Duration,
    /// Build a snapshot after this many log entries since the last one.
    /// A snapshot dumps the whole state machine (history included), so its
    /// cost follows the data, not the entries: the default is etcd's
    /// `--snapshot-count` of v3.2 to v3.5, 100,000. Each entry is one
    /// batch of transactions, and the log behind it stays in RocksDB.
    pub snapshot_logs: u64,
    /// Log entries kept behind a snapshot for followers that lag a little.
    pub logs_to_keep: u64,
    /// Applied batches buffered for live watchers before they fall back to
    /// re-reading history from RocksDB.
    pub watch_broadcast_capacity: usize,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>, node_id: u64) -> Self {
        Config {
            data_dir: data_dir.into(),
            node_id,
            raft_listen: None,
            raft_advertise: None,
            join: None,
            heartbeat_interval: Duration::from_millis(100),
            election_timeout_min: Duration::from_millis(500),
            election_timeout_max: Duration::from_millis(1000),
            request_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(2),
            progress_interval: Duration::from_millis(200),
            snapshot_logs: 100_000,
            logs_to_keep: 1_000,
            watch_broadcast_capacity: 1024,
        }
    }
}
