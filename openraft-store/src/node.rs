//! `RaftStore`: one store node (Raft + MVCC state machine + RPC server), the
//! implementation of [`Store`] the API server uses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{
    ChangeMembershipError, CheckIsLeaderError, ClientWriteError, ForwardToLeader, RaftError,
};
use openraft::{BasicNode, ChangeMembers, SnapshotPolicy};
use rocksdb::DB;
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::{
    ClusterStatus, Consistency, KeyValue, MemberStatus, Op, RangeRequest, RangeResponse, Result,
    Revision, Store, StoreError, TxnRequest, TxnResponse, WatchStream,
};
use crate::batcher;
use crate::config::Config;
use crate::log_store::LogStore;
use crate::mvcc::ReadView;
use crate::network::{call, paths, CallError, Network};
use crate::raft_types::{Node as RaftNode, NodeId, Raft, Request, Response, WireResult};
use crate::schema;
use crate::snapshot::SnapshotFile;
use crate::state_machine::{Shared, StateMachineStore};

/// A join request sent to an existing member.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct JoinRequest {
    pub id: NodeId,
    pub addr: String,
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl From<CallError> for StoreError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Transport { source, .. } if source.is_timeout() => {
                StoreError::Timeout(source.to_string())
            }
            e => StoreError::Unavailable(e.to_string()),
        }
    }
}

/// Everything a node is made of, shared with its RPC server.
pub(crate) struct Node {
    pub id: NodeId,
    pub addr: String,
    pub raft: Raft,
    pub db: Arc<DB>,
    pub shared: Arc<Shared>,
    pub config: Config,
    pub client: reqwest::Client,
    pub shutdown: watch::Sender<bool>,
    /// Serializes membership changes made through this node: Raft allows one
    /// at a time, and nodes joining together must not fail each other.
    pub membership: tokio::sync::Mutex<()>,
}

/// Where to send what this node cannot do itself.
enum Route {
    Leader(NodeId, String),
    /// No leader known yet: wait and retry.
    Wait,
}

fn route(f: &ForwardToLeader<NodeId, RaftNode>) -> Route {
    match (f.leader_id, &f.leader_node) {
        (Some(id), Some(n)) if !n.addr.is_empty() => Route::Leader(id, n.addr.clone()),
        _ => Route::Wait,
    }
}

impl Node {
    async fn wait_a_bit(&self) {
        tokio::time::sleep(self.config.heartbeat_interval).await;
    }

    /// Proposes `req` and returns what applying it answered. Not on the
    /// leader: forwards to it when `forward`, else answers `Unavailable`.
    pub async fn write(&self, req: Request, forward: bool) -> Result<Response> {
        loop {
            match self.raft.client_write(req.clone()).await {
                Ok(r) => return Ok(r.data),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => match route(&f) {
                    Route::Leader(_, addr) if forward => {
                        let path = match req {
                            Request::Txns(_) => paths::TXN,
                            Request::Compact(_) => paths::COMPACT,
                        };
                        match call::<_, WireResult<Response>>(
                            &self.client,
                            &addr,
                            path,
                            &req,
                            self.config.request_timeout,
                        )
                        .await
                        {
                            Ok(res) => return res.map_err(Into::into),
                            // Never delivered: the leader is gone; wait for the next one.
                            Err(CallError::Connect { .. }) => self.wait_a_bit().await,
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Route::Leader(id, addr) => {
                        return Err(unavailable(format!(
                            "node {} is not the leader; the leader is node {id} at {addr}",
                            self.id
                        )))
                    }
                    Route::Wait => self.wait_a_bit().await,
                },
                Err(RaftError::APIError(e)) => return Err(StoreError::Internal(e.to_string())),
                Err(RaftError::Fatal(e)) => return Err(unavailable(e)),
            }
        }
    }

    /// The leader's read index: a log index every linearizable read must wait for.
    pub async fn read_index(&self) -> Result<u64> {
        match self.raft.get_read_log_id().await {
            Ok((read, _applied)) => Ok(read.map_or(0, |l| l.index)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(match route(&f) {
                    Route::Leader(id, addr) => {
                        unavailable(format!("not the leader; the leader is node {id} at {addr}"))
                    }
                    Route::Wait => unavailable("no leader"),
                })
            }
            Err(RaftError::APIError(e)) => Err(unavailable(e)),
            Err(RaftError::Fatal(e)) => Err(unavailable(e)),
        }
    }

    /// Waits until a read here would be linearizable (read-index, confirmed
    /// with the leader's quorum, applied locally).
    async fn read_barrier(&self, consistency: Consistency) -> Result<()> {
        if consistency == Consistency::Serializable {
            return Ok(());
        }
        loop {
            match self.raft.ensure_linearizable().await {
                Ok(_) => return Ok(()),
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => match route(&f)
                {
                    Route::Leader(_, addr) => {
                        let index: WireResult<u64> = match call(
                            &self.client,
                            &addr,
                            paths::READ_INDEX,
                            &(),
                            self.config.request_timeout,
                        )
                        .await
                        {
                            Ok(i) => i,
                            // Reads are safe to retry: the leader may be gone or changing.
                            Err(_) => {
                                self.wait_a_bit().await;
                                continue;
                            }
                        };
                        let index = match index {
                            Ok(i) => i,
                            Err(_) => {
                                self.wait_a_bit().await;
                                continue;
                            }
                        };
                        self.raft
                            .wait(Some(self.config.request_timeout))
                            .applied_index_at_least(Some(index), "read index")
                            .await
                            .map_err(|e| StoreError::Timeout(e.to_string()))?;
                        return Ok(());
                    }
                    Route::Wait => self.wait_a_bit().await,
                },
                Err(RaftError::APIError(e)) => return Err(unavailable(e)),
                Err(RaftError::Fatal(e)) => return Err(unavailable(e)),
            }
        }
    }

    async fn read<T: Send + 'static>(
        &self,
        consistency: Consistency,
        f: impl FnOnce(&ReadView<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.timed(self.read_barrier(consistency)).await?;
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&ReadView::new(&db)?))
            .await
            .map_err(|e| StoreError::Internal(format!("read task: {e}")))?
    }

    pub(crate) async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.timed_for(self.config.request_timeout, fut).await
    }

    pub(crate) async fn timed_for<T>(
        &self,
        limit: Duration,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| StoreError::Timeout(format!("no answer within {limit:?}")))?
    }

    /// Adds `id` as a learner, waits for it to catch up, then makes it a voter.
    /// Forwarded to the leader when this node is not the leader.
    pub async fn add_member(&self, req: JoinRequest, forward: bool) -> Result<()> {
        let _one_change_at_a_time = self.membership.lock().await;
        // A known node (re)joining, possibly at a new address: update it in place.
        let (is_leader, known) = {
            let m = self.raft.metrics().borrow().clone();
            let mem = m.membership_config.membership();
            let known = mem
                .nodes()
                .find(|(id, _)| **id == req.id)
                .map(|(_, n)| (n.addr.clone(), mem.voter_ids().any(|v| v == req.id)));
            (m.current_leader == Some(self.id), known)
        };
        if let (true, Some((addr, voter))) = (is_leader, known) {
            if addr != req.addr {
                let nodes = BTreeMap::from([(req.id, BasicNode::new(req.addr.clone()))]);
                self.raft
                    .change_membership(ChangeMembers::SetNodes(nodes), true)
                    .await
                    .map_err(unavailable)?;
            }
            if voter {
                return Ok(());
            }
        }
        loop {
            let res = self
                .raft
                .add_learner(req.id, BasicNode::new(req.addr.clone()), true)
                .await;
            match res {
                Ok(_) => break,
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => match route(&f) {
                    Route::Leader(_, addr) if forward => {
                        let res: WireResult<()> = call(
                            &self.client,
                            &addr,
                            paths::JOIN,
                            &req,
                            self.config.request_timeout * 6,
                        )
                        .await?;
                        return res.map_err(Into::into);
                    }
                    Route::Leader(id, addr) => {
                        return Err(unavailable(format!("the leader is node {id} at {addr}")))
                    }
                    Route::Wait => self.wait_a_bit().await,
                },
                Err(e) => return Err(unavailable(e)),
            }
        }
        self.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([req.id])))
            .await
    }

    /// Removes `id` from the voters and learners. Forwarded to the leader.
    pub async fn remove_member(&self, id: NodeId, forward: bool) -> Result<()> {
        match self
            .raft
            .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
            .await
        {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => match route(&f) {
                Route::Leader(_, addr) if forward => {
                    let res: WireResult<()> = call(
                        &self.client,
                        &addr,
                        paths::LEAVE,
                        &id,
                        self.config.request_timeout,
                    )
                    .await?;
                    res.map_err(Into::into)
                }
                _ => Err(unavailable("not the leader")),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Applies a membership change, waiting while another one (started
    /// elsewhere) is still in progress.
    async fn change_membership(&self, change: ChangeMembers<NodeId, RaftNode>) -> Result<()> {
        loop {
            match self.raft.change_membership(change.clone(), false).await {
                Ok(_) => return Ok(()),
                Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(
                    ChangeMembershipError::InProgress(_),
                ))) => self.wait_a_bit().await,
                Err(e) => return Err(unavailable(e)),
            }
        }
    }
}

/// One node of the replicated store.
///
/// Open with [`RaftStore::open`]; use through the [`Store`] trait; stop with
/// [`RaftStore::shutdown`] (after which the data dir can be reopened).
pub struct RaftStore {
    node: Arc<Node>,
    server: Mutex<Option<actix_web::dev::ServerHandle>>,
    batcher: mpsc::Sender<batcher::Pending>,
    batcher_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl RaftStore {
    /// Opens (or creates) the store in `config.data_dir` and starts Raft.
    ///
    /// On an empty data dir without `config.join`, initializes a new cluster
    /// whose only voter is this node; with `config.join`, asks that member to
    /// add this node (learner, then voter). Returns once a leader is known
    /// (or after `request_timeout`; requests then wait for one).
    pub async fn open(config: Config) -> Result<Arc<RaftStore>> {
        let internal =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Internal(format!("{what}: {e}"));
        std::fs::create_dir_all(&config.data_dir).map_err(|e| internal("create data dir", &e))?;
        let db = Arc::new(schema::open_db(&config.data_dir.join("db"))?);
        let files = Arc::new(SnapshotFile::new(config.data_dir.join("snapshot"))?);
        let shared = Arc::new(Shared::new(config.watch_broadcast_capacity, Revision::ZERO));
        let sm = StateMachineStore::open(db.clone(), shared.clone(), files)?;
        let log = LogStore::new(db.clone());

        let listener = match &config.raft_listen {
            Some(a) => Some(TcpListener::bind(a).map_err(|e| internal(&format!("bind {a}"), &e))?),
            None => None,
        };
        let addr = match (&config.raft_advertise, &listener) {
            (Some(a), _) => a.clone(),
            (None, Some(l)) => l
                .local_addr()
                .map_err(|e| internal("listen address", &e))?
                .to_string(),
            (None, None) => String::new(),
        };
        let ms = |d: Duration| d.as_millis() as u64;
        let raft_config = openraft::Config {
            cluster_name: "ferrokube".into(),
            heartbeat_interval: ms(config.heartbeat_interval),
            election_timeout_min: ms(config.election_timeout_min),
            election_timeout_max: ms(config.election_timeout_max),
            install_snapshot_timeout: ms(config.rpc_timeout * 10),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_logs),
            max_in_snapshot_log_to_keep: config.logs_to_keep,
            ..Default::default()
        }
        .validate()
        .map_err(|e| StoreError::InvalidRequest(format!("raft config: {e}")))?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.rpc_timeout)
            .build()
            .map_err(|e| internal("http client", &e))?;
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            Network::new(client.clone()),
            log,
            sm,
        )
        .await
        .map_err(|e| internal("start raft", &e))?;
        let (shutdown, _) = watch::channel(false);
        let node = Arc::new(Node {
            id: config.node_id,
            addr: addr.clone(),
            raft,
            db,
            shared,
            config,
            client,
            shutdown,
            membership: tokio::sync::Mutex::new(()),
        });
        let server = match listener {
            Some(l) => Some(crate::rpc::serve(node.clone(), l)?),
            None => None,
        };
        let (batcher, batch_rx) = mpsc::channel(4 * batcher::MAX_BATCH);
        let batcher_task = tokio::spawn(batcher::run(node.clone(), batch_rx));
        let store = Arc::new(RaftStore {
            node: node.clone(),
            server: Mutex::new(server),
            batcher,
            batcher_task: Mutex::new(Some(batcher_task)),
        });
        let initialized = node.raft.is_initialized().await.map_err(unavailable)?;
        if !initialized {
            let started: Result<()> = async {
                match node.config.join.clone() {
                    None => {
                        let members = BTreeMap::from([(node.id, BasicNode::new(addr.clone()))]);
                        node.raft.initialize(members).await.map_err(unavailable)?;
                    }
                    Some(seed) => {
                        let req = JoinRequest {
                            id: node.id,
                            addr: addr.clone(),
                        };
                        let res: WireResult<()> = call(
                            &node.client,
                            &seed,
                            paths::JOIN,
                            &req,
                            node.config.request_timeout * 6,
                        )
                        .await?;
                        res.map_err(StoreError::from)?;
                    }
                }
                Ok(())
            }
            .await;
            if let Err(e) = started {
                // Stop Raft's tasks so they let go of RocksDB before we return.
                drop(node);
                let _ = store.shutdown().await;
                return Err(e);
            }
        }
        let _ = node
            .raft
            .wait(Some(node.config.request_timeout))
            .metrics(|m| m.current_leader.is_some(), "a leader is known")
            .await;
        // Started at a new Raft address (e.g. first time with a listener):
        // tell the cluster, so peers and forwarded requests reach us.
        let recorded = {
            let m = node.raft.metrics().borrow().clone();
            let addr = m
                .membership_config
                .membership()
                .nodes()
                .find(|(id, _)| **id == node.id)
                .map(|(_, n)| n.addr.clone());
            addr
        };
        if initialized && !addr.is_empty() && recorded.is_some_and(|r| r != addr) {
            let req = JoinRequest {
                id: node.id,
                addr: addr.clone(),
            };
            let limit = node.config.request_timeout * 6;
            if let Err(e) = node.timed_for(limit, node.add_member(req, true)).await {
                tracing::warn!(error = %e, "could not record this node's new Raft address");
            }
        }
        Ok(store)
    }

    /// This node's Raft id.
    pub fn id(&self) -> u64 {
        self.node.id
    }

    /// The address peers reach this node's Raft RPC server at (empty without one).
    pub fn raft_addr(&self) -> &str {
        &self.node.addr
    }

    /// Adds a node (learner until caught up, then voter). Any member can be asked.
    pub async fn add_member(&self, id: u64, addr: String) -> Result<()> {
        let limit = self.node.config.request_timeout * 6;
        self.node
            .timed_for(limit, self.node.add_member(JoinRequest { id, addr }, true))
            .await
    }

    /// Removes a node from the cluster. Any member can be asked.
    pub async fn remove_member(&self, id: u64) -> Result<()> {
        self.node.timed(self.node.remove_member(id, true)).await
    }

    /// Builds a snapshot now (and purges the log behind it per `logs_to_keep`).
    pub async fn trigger_snapshot(&self) -> Result<()> {
        self.node
            .raft
            .trigger()
            .snapshot()
            .await
            .map_err(unavailable)
    }

    /// The underlying Raft handle, for tests and metrics.
    pub fn raft(&self) -> &Raft {
        &self.node.raft
    }

    /// Stops Raft, the RPC server and every watch, and waits until nothing but
    /// this handle uses the database: drop it afterwards to close RocksDB.
    /// Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        self.node.shutdown.send_replace(true);
        let server = self.server.lock().ok().and_then(|mut s| s.take());
        if let Some(h) = server {
            h.stop(false).await;
        }
        let res = self.node.raft.shutdown().await.map_err(unavailable);
        let batcher = self.batcher_task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = batcher {
            let _ = t.await;
        }
        // Wait for Raft's workers, watches and in-flight requests to let go
        // of the database, so that dropping this store closes it and the
        // data dir can be reopened at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while (Arc::strong_count(&self.node.db) > 1 || Arc::strong_count(&self.node) > 1)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        res
    }
}

fn validate_txn(req: &TxnRequest) -> Result<()> {
    let mut keys = BTreeSet::new();
    for op in &req.success {
        let key = match op {
            Op::Put { key, .. } | Op::Delete { key } => key,
        };
        if key.is_empty() {
            return Err(StoreError::InvalidRequest("empty key".into()));
        }
        if !keys.insert(key) {
            return Err(StoreError::InvalidRequest(
                "duplicate key in transaction".into(),
            ));
        }
    }
    if req.compares.iter().any(|c| c.key.is_empty()) {
        return Err(StoreError::InvalidRequest("empty key in compare".into()));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for RaftStore {
    async fn get(
        &self,
        key: &[u8],
        revision: Option<Revision>,
        consistency: Consistency,
    ) -> Result<(Option<KeyValue>, Revision)> {
        let key = key.to_vec();
        self.node
            .read(consistency, move |v| v.get(&key, revision))
            .await
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        self.node
            .read(req.consistency, move |v| v.range(&req))
            .await
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse> {
        validate_txn(&req)?;
        let (done, answer) = oneshot::channel();
        self.batcher
            .send((req, done))
            .await
            .map_err(|_| unavailable("store is shut down"))?;
        answer
            .await
            .map_err(|_| unavailable("store is shut down"))?
    }

    async fn watch(&self, prefix: &[u8], start: Revision) -> Result<WatchStream> {
        let open = || {
            crate::watch::watch(
                self.node.db.clone(),
                self.node.shared.clone(),
                prefix.to_vec(),
                start,
                self.node.config.progress_interval,
                self.node.shutdown.subscribe(),
            )
        };
        match open() {
            // A lagging follower may not have applied `start - 1` yet.
            Err(StoreError::FutureRevision { .. }) => {
                self.node
                    .timed(self.node.read_barrier(Consistency::Linearizable))
                    .await?;
                open()
            }
            r => r,
        }
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self
            .node
            .timed(self.node.write(Request::Compact(revision), true))
            .await?
        {
            Response::Compact(r) => r.map_err(Into::into),
            other => Err(StoreError::Internal(format!("unexpected answer {other:?}"))),
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        // After the read barrier every entry up to the read index is applied,
        // and the state machine publishes its revision as it applies.
        self.node
            .timed(self.node.read_barrier(Consistency::Linearizable))
            .await?;
        Ok(*self.node.shared.revision.borrow())
    }

    async fn request_progress(&self) -> Result<()> {
        self.node
            .shared
            .progress_requests
            .send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        RaftStore::shutdown(self).await
    }

    async fn status(&self) -> Result<ClusterStatus> {
        let m = self.node.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let members = membership
            .nodes()
            .map(|(id, n)| MemberStatus {
                id: *id,
                addr: n.addr.clone(),
                voter: voters.contains(id),
            })
            .collect();
        let (revision, compacted) = {
            let view = ReadView::new(&self.node.db)?;
            (view.revision, view.compacted)
        };
        Ok(ClusterStatus {
            id: self.node.id,
            leader: m.current_leader,
            members,
            applied_index: m.last_applied.map_or(0, |l| l.index),
            revision,
            compacted,
        })
    }
}
