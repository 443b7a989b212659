//! API benchmark (not a test): starts the real ferrokube binary on a free loopback port
//! with a fresh data dir (fsync on, as always) and measures, through kube::Client:
//! time to ready, idle RSS, and create / get / list throughput and latency with 1 and 64
//! concurrent clients on ConfigMaps and Pods, and watch-event latency. Each
//! phase also reports the server's CPU time per operation (from
//! `/proc/PID/stat`), which moves far less than ops/s when other processes
//! share the cores.
//! Prints a Markdown table. Run with `make bench` (hack/bench.sh).
//!
//! Usage: apibench [SECONDS_PER_PHASE]

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::Server;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use tokio::sync::Mutex;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) the process has used, in clock ticks (1/100 s
/// on Linux), from `/proc/PID/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Phase {
    name: String,
    ops: usize,
    secs: f64,
    lat: Vec<Duration>,
    /// Server CPU time during the phase, in clock ticks.
    server_ticks: u64,
}

impl Phase {
    fn row(&mut self) -> String {
        self.lat.sort();
        format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.0} |",
            self.name,
            self.ops,
            self.ops as f64 / self.secs,
            percentile(&self.lat, 0.5).as_secs_f64() * 1e3,
            percentile(&self.lat, 0.99).as_secs_f64() * 1e3,
            // Ticks are 10 ms: µs per op = ticks * 10,000 / ops.
            self.server_ticks as f64 * 1e4 / self.ops.max(1) as f64,
        )
    }
}

fn configmap(name: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "data": {"payload": "x".repeat(512)}
    }))
    .expect("static configmap")
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
    }))
    .expect("static pod")
}

/// Run `op(i)` from `clients` tasks until `secs` pass; returns the phase
/// figures, with the CPU time the server process `pid` used meanwhile.
async fn drive<F, Fut>(pid: u32, name: String, clients: usize, secs: f64, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let ticks = cpu_ticks(pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (op, counter, lat) = (op.clone(), counter.clone(), lat.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                if !op(i).await {
                    panic!("operation {i} failed");
                }
                mine.push(t.elapsed());
            }
            lat.lock().await.extend(mine);
        }));
    }
    for t in tasks {
        t.await.expect("bench task");
    }
    let secs = start.elapsed().as_secs_f64();
    let server_ticks = cpu_ticks(pid).saturating_sub(ticks);
    let lat = std::mem::take(&mut *lat.lock().await);
    Phase {
        name,
        ops: lat.len(),
        secs,
        lat,
        server_ticks,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);

    let t = Instant::now();
    // The API alone: no controllers acting on what the benchmark creates.
    let server = Server::start_with(&["--controllers=", "--nodes=0"])?;
    let ready = t.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(server.pid());
    let client = server.client().await;
    let pid = server.pid();

    let mut rows = Vec::new();
    for clients in [1usize, 64] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let (a, p) = (cms.clone(), clients);
        rows.push(
            drive(
                pid,
                format!("create configmap, {p} clients"),
                clients,
                secs,
                move |i| {
                    let a = a.clone();
                    async move {
                        a.create(&PostParams::default(), &configmap(&format!("c{p}-{i}")))
                            .await
                            .is_ok()
                    }
                },
            )
            .await,
        );
        let a = cms.clone();
        rows.push(
            drive(
                pid,
                format!("get configmap, {p} clients"),
                clients,
                secs,
                move |i| {
                    let a = a.clone();
                    async move { a.get(&format!("c{p}-{}", i % 100)).await.is_ok() }
                },
            )
            .await,
        );
        let a = pods.clone();
        rows.push(
            drive(
                pid,
                format!("create pod, {p} clients"),
                clients,
                secs,
                move |i| {
                    let a = a.clone();
                    async move {
                        a.create(&PostParams::default(), &pod(&format!("p{p}-{i}")))
                            .await
                            .is_ok()
                    }
                },
            )
            .await,
        );
        let a = pods.clone();
        rows.push(
            drive(
                pid,
                format!("list 100 pods (limit), {p} clients"),
                clients,
                secs,
                move |_| {
                    let a = a.clone();
                    async move { a.list(&ListParams::default().limit(100)).await.is_ok() }
                },
            )
            .await,
        );
    }

    // Watch-event latency: time from a create's response to its ADDED event.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-public");
    let rv = cms
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut stream = cms.watch(&WatchParams::default(), &rv).await?.boxed();
    let mut watch_lat = Vec::new();
    let ticks = cpu_ticks(pid);
    for i in 0..200 {
        let t = Instant::now();
        cms.create(&PostParams::default(), &configmap(&format!("w{i}")))
            .await?;
        loop {
            match stream.next().await {
                Some(Ok(WatchEvent::Added(_))) => break,
                Some(Ok(_)) => continue,
                other => anyhow::bail!("watch ended: {other:?}"),
            }
        }
        watch_lat.push(t.elapsed());
    }
    let mut watch = Phase {
        name: "create + its watch event, 1 client".into(),
        ops: watch_lat.len(),
        secs: watch_lat.iter().map(Duration::as_secs_f64).sum(),
        lat: watch_lat,
        server_ticks: cpu_ticks(pid).saturating_sub(ticks),
    };
    let loaded_rss = rss_kib(server.pid());

    println!(
        "time to ready (spawn to /readyz ok, as the harness polls): {} ms",
        ready.as_millis()
    );
    println!("idle RSS: {:.1} MiB", idle_rss as f64 / 1024.0);
    println!("RSS after the run: {:.1} MiB", loaded_rss as f64 / 1024.0);
    println!();
    println!("| phase ({secs} s each) | ops | ops/s | p50 ms | p99 ms | server CPU µs/op |");
    println!("|---|---|---|---|---|---|");
    for r in rows.iter_mut() {
        println!("{}", r.row());
    }
    println!("{}", watch.row());
    Ok(())
}
