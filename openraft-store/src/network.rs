//! Raft RPC client: bincode bodies POSTed over HTTP to a peer's `rpc` server,
//! each with the deadline openraft gives.

use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::raft_types::{Node, NodeId, TypeConfig};

/// URL paths served by `rpc.rs`.
pub mod paths {
    pub const APPEND: &str = "/raft/append";
    pub const VOTE: &str = "/raft/vote";
    pub const SNAPSHOT: &str = "/raft/snapshot";
    pub const TXN: &str = "/store/txn";
    pub const COMPACT: &str = "/store/compact";
    pub const READ_INDEX: &str = "/store/read-index";
    pub const JOIN: &str = "/store/join";
    pub const LEAVE: &str = "/store/leave";
}

pub const CONTENT_TYPE: &str = "application/x-ferrokube-bincode";

/// Why a call to a peer failed before it produced an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("call {addr}: {source}")]
    Transport {
        addr: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("call {addr}: HTTP {status}")]
    Status { addr: String, status: u16 },
    #[error("decode answer from {addr}: {source}")]
    Decode {
        addr: String,
        #[source]
        source: bincode::Error,
    },
}

/// POSTs `req` as bincode to `http://{addr}{path}` and decodes the bincode answer.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    client: &reqwest::Client,
    addr: &str,
    path: &str,
    req: &Req,
    timeout: Duration,
) -> Result<Resp, CallError> {
    let body = bincode::serialize(req).map_err(|source| CallError::Decode {
        addr: addr.to_string(),
        source,
    })?;
    let resp = client
        .post(format!("http://{addr}{path}"))
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|source| {
            if source.is_connect() {
                CallError::Connect {
                    addr: addr.to_string(),
                    source,
                }
            } else {
                CallError::Transport {
                    addr: addr.to_string(),
                    source,
                }
            }
        })?;
    if !resp.status().is_success() {
        return Err(CallError::Status {
            addr: addr.to_string(),
            status: resp.status().as_u16(),
        });
    }
    let bytes = resp.bytes().await.map_err(|source| CallError::Transport {
        addr: addr.to_string(),
        source,
    })?;
    bincode::deserialize(&bytes).map_err(|source| CallError::Decode {
        addr: addr.to_string(),
        source,
    })
}

/// Creates one [`Peer`] per target node.
#[derive(Clone)]
pub struct Network {
    client: reqwest::Client,
}

impl Network {
    pub fn new(client: reqwest::Client) -> Self {
        Network { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        Peer {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

pub struct Peer {
    client: reqwest::Client,
    target: NodeId,
    addr: String,
}

impl Peer {
    async fn rpc<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let res: Result<Resp, RaftError<NodeId, E>> =
            call(&self.client, &self.addr, path, req, option.hard_ttl())
                .await
                .map_err(|e| match e {
                    CallError::Connect { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                    _ => RPCError::Network(NetworkError::new(&e)),
                })?;
        res.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.rpc(paths::APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.rpc(paths::SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.rpc(paths::VOTE, &rpc, &option).await
    }
}
