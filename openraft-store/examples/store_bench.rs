//! Create throughput: `clients` concurrent tasks each creating fresh keys
//! (compare "absent", put a 1 KiB value) for `seconds`, either against an
//! embedded single-node store (fsync on) or against etcd's v3 JSON gateway.
//!
//! cargo run --release -p openraft-store --example store_bench -- ferrokube [clients] [seconds] [data_dir]
//! cargo run --release -p openraft-store --example store_bench -- etcd [clients] [seconds] [http://127.0.0.1:2379]
//!
//! cargo run --release -p openraft-store --example store_bench -- watch
//!
//! Prints one line: `<target> <clients> clients: <n> creates in <s>s = <rate> creates/s`
//! with p50/p99 latency; `watch` prints in-process watch delivery latency.

use std::future::Future;
use std::pin::Pin;
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
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let create = create.clone();
            tokio::spawn(async move {
                let value = vec![b'x'; 1024];
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = format!("/registry/configmaps/bench/c{c}-{i}").into_bytes();
                    let t = Instant::now();
                    if create(key, value.clone()).await {
                        latencies.push(t.elapsed());
                    }
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort();
    let n = latencies.len();
    println!(
        "{target} {clients} clients: {n} creates in {secs:.1}s = {:.0} creates/s, latency p50 {:.2} ms p99 {:.2} ms",
        n as f64 / secs,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Watch delivery in process: one writer creates `count` keys one after another
/// while a watcher on their prefix receives them. Reports, per event, the time
/// from the write's acknowledgement to the event's arrival (0 when the event
/// arrived first) and from the write's start to the event's arrival.
async fn watch_delivery(store: Arc<RaftStore>, count: usize) -> anyhow::Result<()> {
    use futures::StreamExt;
    let prefix = b"/registry/configmaps/watchbench/".to_vec();
    let mut stream = store.watch(&prefix, Revision::ZERO).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < count {
            match stream.next().await {
                Some(Ok(openraft_store::WatchMessage::Events(events))) => {
                    for _ in &events {
                        let _ = tx.send(Instant::now());
                    }
                    seen += events.len();
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    });
    let mut after_ack = Vec::new();
    let mut end_to_end = Vec::new();
    for i in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!("k{i}").as_bytes());
        let start = Instant::now();
        store
            .txn(TxnRequest {
                compares: vec![],
                success: vec![Op::Put {
                    key,
                    value: vec![b'x'; 1024],
                }],
            })
            .await?;
        let acked = Instant::now();
        let arrived = rx
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("watch ended early"))?;
        after_ack.push(arrived.saturating_duration_since(acked));
        end_to_end.push(arrived.duration_since(start));
    }
    reader.await?;
    after_ack.sort();
    end_to_end.sort();
    println!(
        "ferrokube watch delivery ({count} events): after ack p50 {:.3} ms p99 {:.3} ms; from write start p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&after_ack, 0.50)),
        ms(percentile(&after_ack, 0.99)),
        ms(percentile(&end_to_end, 0.50)),
        ms(percentile(&end_to_end, 0.99)),
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
        "watch" => {
            let tmp = tempfile::tempdir()?;
            let store = RaftStore::open(Config::new(tmp.path(), 1)).await?;
            watch_delivery(store.clone(), 1000).await?;
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
        other => anyhow::bail!("unknown target {other}: use ferrokube, etcd or watch"),
    }
    Ok(())
}
