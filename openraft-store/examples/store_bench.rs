//! Create throughput: `clients` concurrent tasks each creating fresh keys
//! (compare "absent", put a 1 KiB value) for `seconds`, either against an
//! embedded single-node store (fsync on) or against etcd's v3 JSON gateway.
//!
//! cargo run --release -p openraft-store --example store_bench -- ferrokube [clients] [seconds] [data_dir]
//! cargo run --release -p openraft-store --example store_bench -- etcd [clients] [seconds] [http://127.0.0.1:2379]
//!
//! Prints one line: `<target> <clients> clients: <n> creates in <s>s = <rate> creates/s`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft_store::{Compare, Config, Op, RaftStore, Revision, Store, TxnRequest};

type CreateFn =
    Arc<dyn Fn(Vec<u8>, Vec<u8>) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn run(target: &str, clients: usize, seconds: u64, create: CreateFn) -> anyhow::Result<()> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (create, done) = (create.clone(), done.clone());
            tokio::spawn(async move {
                let value = vec![b'x'; 1024];
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = format!("/registry/configmaps/bench/c{c}-{i}").into_bytes();
                    if create(key, value.clone()).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let n = done.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{target} {clients} clients: {n} creates in {secs:.1}s = {:.0} creates/s",
        n as f64 / secs
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "ferrokube".into());
    let clients: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let extra = args.next();
    match target.as_str() {
        "ferrokube" => {
            let tmp = tempfile::tempdir()?;
            let dir = extra
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| tmp.path().to_path_buf());
            let store = RaftStore::open(Config::new(&dir, 1)).await?;
            let s = store.clone();
            let create: CreateFn = Arc::new(move |key, value| {
                let s = s.clone();
                Box::pin(async move {
                    let req = TxnRequest {
                        compares: vec![Compare {
                            key: key.clone(),
                            mod_revision: Revision::ZERO,
                        }],
                        success: vec![Op::Put { key, value }],
                    };
                    s.txn(req).await.is_ok_and(|r| r.succeeded)
                })
            });
            run("ferrokube", clients, seconds, create).await?;
            store.shutdown().await?;
        }
        "etcd" => {
            let url = format!(
                "{}/v3/kv/txn",
                extra.unwrap_or_else(|| "http://127.0.0.1:2379".into())
            );
            let client = reqwest::Client::new();
            let create: CreateFn = Arc::new(move |key, value| {
                let (client, url) = (client.clone(), url.clone());
                Box::pin(async move {
                    let k = b64(&key);
                    let body = format!(
                        r#"{{"compare":[{{"key":"{k}","target":"MOD","result":"EQUAL","mod_revision":"0"}}],"success":[{{"request_put":{{"key":"{k}","value":"{}"}}}}]}}"#,
                        b64(&value)
                    );
                    match client.post(&url).body(body).send().await {
                        Ok(r) => r
                            .text()
                            .await
                            .is_ok_and(|t| t.contains(r#""succeeded":true"#)),
                        Err(_) => false,
                    }
                })
            });
            run("etcd", clients, seconds, create).await?;
        }
        other => anyhow::bail!("unknown target {other}: use ferrokube or etcd"),
    }
    Ok(())
}
