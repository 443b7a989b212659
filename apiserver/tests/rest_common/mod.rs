//! Shared by the `rest_*` tests: a real single-node store in a temp dir and
//! the REST routes in-process.
#![allow(dead_code, unused_macros)]

use std::pin::Pin;
use std::sync::Arc;

use actix_web::body::MessageBody;
use apiserver::state::AppState;
use openraft_store::{Config, RaftStore, Store};
use serde_json::Value;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Arc<RaftStore>,
    pub state: Arc<AppState>,
}

/// Opens a fresh store and bootstraps the API state over it.
pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::new(dir.path(), 1);
    cfg.progress_interval = std::time::Duration::from_millis(100);
    let store = RaftStore::open(cfg).await.expect("open store");
    let dyn_store: Arc<dyn Store> = store.clone();
    let state = AppState::new(dyn_store).await.expect("state");
    state.bootstrap().await.expect("bootstrap");
    Harness { dir, store, state }
}

/// Builds the service under test.
#[macro_export]
macro_rules! app {
    ($h:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .app_data(actix_web::web::Data::from($h.state.clone()))
                .configure(apiserver::rest::configure),
        )
        .await
    };
}

/// Sends a request; returns (status, headers, JSON body or Null).
#[macro_export]
macro_rules! send {
    ($app:expr, $req:expr) => {{
        let resp = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = actix_web::test::read_body(resp).await;
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }};
}

/// A JSON request.
pub fn json_req(method: &str, uri: &str, body: Option<&Value>) -> actix_web::test::TestRequest {
    let m = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = actix_web::test::TestRequest::default().method(m).uri(uri);
    if let Some(b) = body {
        r = r
            .insert_header(("Content-Type", "application/json"))
            .set_payload(serde_json::to_vec(b).expect("json"));
    }
    r
}

/// A request with a raw body and content type.
pub fn raw_req(method: &str, uri: &str, ctype: &str, body: &[u8]) -> actix_web::test::TestRequest {
    let m = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
    actix_web::test::TestRequest::default()
        .method(m)
        .uri(uri)
        .insert_header(("Content-Type", ctype.to_string()))
        .set_payload(body.to_vec())
}

/// Reads newline-delimited JSON events from a streaming body.
pub struct Lines<B: MessageBody> {
    body: Pin<Box<B>>,
    buf: Vec<u8>,
}

impl<B: MessageBody> Lines<B> {
    pub fn new(body: B) -> Self {
        Lines {
            body: Box::pin(body),
            buf: Vec::new(),
        }
    }

    /// The next event, or None at the end of the stream.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(serde_json::from_slice(&line).expect("event JSON"));
            }
            let chunk = futures::future::poll_fn(|cx| self.body.as_mut().poll_next(cx)).await?;
            let chunk = chunk.ok()?;
            self.buf.extend_from_slice(&chunk);
        }
    }
}

pub fn configmap(name: &str, data: &[(&str, &str)]) -> Value {
    let mut d = serde_json::Map::new();
    for (k, v) in data {
        d.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": d,
    })
}

pub fn deployment(name: &str, replicas: i64) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    })
}
