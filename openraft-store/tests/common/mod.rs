//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use openraft_store::{
    Compare, Config, KeyValue, Op, RaftStore, Revision, Store, TxnRequest, TxnResponse,
    WatchMessage, WatchStream,
};

pub fn config(dir: &std::path::Path, id: u64) -> Config {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut c = Config::new(dir, id);
    c.progress_interval = Duration::from_millis(50);
    c
}

pub async fn open(dir: &std::path::Path) -> Arc<RaftStore> {
    RaftStore::open(config(dir, 1)).await.expect("open store")
}

/// Creates `key` (must be absent).
pub async fn create(s: &dyn Store, key: &str, value: &str) -> TxnResponse {
    s.txn(TxnRequest {
        compares: vec![Compare {
            key: key.into(),
            mod_revision: Revision::ZERO,
        }],
        success: vec![Op::Put {
            key: key.into(),
            value: value.into(),
        }],
    })
    .await
    .expect("create txn")
}

/// Updates `key` if its mod_revision is `expect`.
pub async fn update(s: &dyn Store, key: &str, expect: Revision, value: &str) -> TxnResponse {
    s.txn(TxnRequest {
        compares: vec![Compare {
            key: key.into(),
            mod_revision: expect,
        }],
        success: vec![Op::Put {
            key: key.into(),
            value: value.into(),
        }],
    })
    .await
    .expect("update txn")
}

pub async fn delete(s: &dyn Store, key: &str) -> TxnResponse {
    s.txn(TxnRequest {
        compares: vec![],
        success: vec![Op::Delete { key: key.into() }],
    })
    .await
    .expect("delete txn")
}

/// Reads watch messages until `n` events arrived (progress messages skipped).
pub async fn next_events(w: &mut WatchStream, n: usize) -> Vec<openraft_store::Event> {
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(30), w.next())
            .await
            .expect("watch message in time")
            .expect("stream open")
            .expect("no watch error");
        if let WatchMessage::Events(evs) = msg {
            out.extend(evs);
        }
    }
    out
}

pub fn kv_value(kv: &Option<KeyValue>) -> Option<String> {
    kv.as_ref()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
}
