//! The HTTP server peers talk to: Raft RPCs, plus writes, read-index and
//! membership changes forwarded from followers. Bodies are bincode. A node
//! that lost leadership since passes a forwarded write on to the new leader.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{Result, StoreError};
use crate::network::{paths, CONTENT_TYPE};
use crate::node::{JoinRequest, Node};
use crate::raft_types::{to_wire, NodeId, Request, TypeConfig};

/// Largest RPC body accepted (snapshot chunks and big append batches).
const MAX_BODY: usize = 256 << 20;

/// Starts serving on `listener` in the background.
pub(crate) fn serve(node: Arc<Node>, listener: TcpListener) -> Result<ServerHandle> {
    let data = web::Data::from(node);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(paths::APPEND, web::post().to(append))
            .route(paths::VOTE, web::post().to(vote))
            .route(paths::SNAPSHOT, web::post().to(snapshot))
            .route(paths::TXN, web::post().to(write))
            .route(paths::COMPACT, web::post().to(write))
            .route(paths::READ_INDEX, web::post().to(read_index))
            .route(paths::JOIN, web::post().to(join))
            .route(paths::LEAVE, web::post().to(leave))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(|e| StoreError::Internal(format!("raft rpc server: {e}")))?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(handle)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, BadBody> {
    bincode::deserialize(body).map_err(BadBody)
}

/// A body that did not decode; answered with 400.
struct BadBody(bincode::Error);

impl From<BadBody> for HttpResponse {
    fn from(e: BadBody) -> Self {
        HttpResponse::BadRequest().body(format!("bad body: {}", e.0))
    }
}

fn reply<T: Serialize>(v: &T) -> HttpResponse {
    match bincode::serialize(v) {
        Ok(b) => HttpResponse::Ok().content_type(CONTENT_TYPE).body(b),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn append(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<AppendEntriesRequest<TypeConfig>>(&body) {
        Ok(req) => reply(&node.raft.append_entries(req).await),
        Err(e) => e.into(),
    }
}

async fn vote(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<VoteRequest<NodeId>>(&body) {
        Ok(req) => reply(&node.raft.vote(req).await),
        Err(e) => e.into(),
    }
}

async fn snapshot(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<InstallSnapshotRequest<TypeConfig>>(&body) {
        Ok(req) => reply(&node.raft.install_snapshot(req).await),
        Err(e) => e.into(),
    }
}

async fn write(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<Request>(&body) {
        Ok(req) => reply(&to_wire(node.timed(node.write(req, true)).await)),
        Err(e) => e.into(),
    }
}

async fn read_index(node: web::Data<Node>) -> HttpResponse {
    reply(&to_wire(node.timed(node.read_index()).await))
}

async fn join(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<JoinRequest>(&body) {
        Ok(req) => reply(&to_wire(
            node.timed_for(node.config.request_timeout * 6, node.add_member(req, true))
                .await,
        )),
        Err(e) => e.into(),
    }
}

async fn leave(node: web::Data<Node>, body: web::Bytes) -> HttpResponse {
    match parse::<NodeId>(&body) {
        Ok(id) => reply(&to_wire(node.timed(node.remove_member(id, false)).await)),
        Err(e) => e.into(),
    }
}
