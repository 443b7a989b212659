//! Workload benchmark (not a test): starts the real ferrokube binary with N
//! simulated nodes and all its controllers, creates Deployments totalling P
//! pods through the API, and reports how long until every pod is Running and
//! the server's memory (RSS now and peak). Prints a Markdown table.
//! Run with `make bench-workloads` (hack/bench-workloads.sh).
//!
//! Usage: workloadbench [NODES] [PODS] [PODS_PER_DEPLOYMENT]
//!
//! Progress (pods created and Running, the server's RSS) goes to stderr
//! every 10 s; it gives up after `WORKLOADBENCH_TIMEOUT` seconds (1800).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use conformance::Server;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::watcher;
use kube::ResourceExt;
use serde_json::json;

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    }))
    .expect("static deployment")
}

fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Follow the pods through one watch (the server sends each change once;
/// polling lists of 10,000 pods would be a large share of its work) and
/// publish (pods, Running) after every change.
async fn count(pods: Api<Pod>, out: tokio::sync::watch::Sender<(usize, usize)>) {
    let mut running: HashMap<String, bool> = HashMap::new();
    let mut up = 0;
    let mut events = watcher(pods, watcher::Config::default()).boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Init) => {
                running.clear();
                up = 0;
            }
            Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => {
                let now = is_running(&p);
                if running.insert(p.name_any(), now) == Some(true) {
                    up -= 1;
                }
                if now {
                    up += 1;
                }
            }
            Ok(watcher::Event::Delete(p)) => {
                if running.remove(&p.name_any()) == Some(true) {
                    up -= 1;
                }
            }
            Ok(watcher::Event::InitDone) | Err(_) => continue,
        }
        out.send_replace((running.len(), up));
    }
}

/// The server's busiest request kinds (from `apiserver_request_total`), to stderr.
async fn print_request_counts(client: &kube::Client) {
    let Ok(request) = http::Request::get("/metrics").body(Vec::new()) else {
        return;
    };
    let Ok(text) = client.request_text(request).await else {
        return;
    };
    let mut counts: Vec<(f64, &str)> = text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter_map(|l| {
            let (labels, n) = l.rsplit_once(' ')?;
            Some((n.parse().ok()?, labels))
        })
        .collect();
    counts.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (n, labels) in counts.iter().take(20) {
        eprintln!("{n:>9} {labels}");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let nodes = args.first().copied().unwrap_or(1000);
    let want = args.get(1).copied().unwrap_or(10_000);
    let per = args.get(2).copied().unwrap_or(100).max(1);
    let began = Instant::now();
    let server = Server::start_with(&["--nodes", &nodes.to_string()])?;
    let client = server.client().await;
    let node_api: Api<Node> = Api::all(client.clone());
    loop {
        let n = node_api.list(&ListParams::default()).await?.items.len();
        if n >= nodes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let nodes_ready = began.elapsed();
    let rss_nodes = status_kib(server.pid(), "VmRSS:");

    let started = Instant::now();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut made = 0;
    let mut i = 0;
    while made < want {
        let r = per.min(want - made);
        deploys
            .create(
                &PostParams::default(),
                &deployment(&format!("d{i}"), r as i32),
            )
            .await?;
        made += r;
        i += 1;
    }
    let created = started.elapsed();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let (counts_tx, counts) = tokio::sync::watch::channel((0, 0));
    tokio::spawn(count(pods, counts_tx));
    let timeout = std::env::var("WORKLOADBENCH_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    let mut reported = Instant::now();
    let mut last;
    let finished = loop {
        last = *counts.borrow();
        if last.1 >= want {
            break true;
        }
        if reported.elapsed() >= Duration::from_secs(10) {
            reported = Instant::now();
            eprintln!(
                "{:>6.1} s: {} pods, {} Running, RSS {:.1} MiB",
                started.elapsed().as_secs_f64(),
                last.0,
                last.1,
                status_kib(server.pid(), "VmRSS:") as f64 / 1024.0
            );
        }
        if started.elapsed() > Duration::from_secs(timeout) {
            eprintln!("gave up after {timeout} s");
            break false;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let all_running = started.elapsed();
    print_request_counts(&client).await;
    let pid = server.pid();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| simulated nodes | {nodes} |");
    println!("| pods (Deployments of {per}) | {want} |");
    println!(
        "| server start until {nodes} Node objects exist | {:.1} s |",
        nodes_ready.as_secs_f64()
    );
    println!(
        "| RSS with {nodes} nodes, no pods | {:.1} MiB |",
        rss_nodes as f64 / 1024.0
    );
    println!(
        "| creating the {} Deployments (API calls) | {:.1} s |",
        want.div_ceil(per),
        created.as_secs_f64()
    );
    if finished {
        println!(
            "| Deployments created until all {want} pods Running | {:.1} s |",
            all_running.as_secs_f64()
        );
    } else {
        println!(
            "| pods Running when it gave up after {:.0} s | {} of {want} ({} created) |",
            all_running.as_secs_f64(),
            last.1,
            last.0
        );
    }
    let at_end = if finished {
        "with all pods Running"
    } else {
        "when it gave up"
    };
    println!(
        "| RSS {at_end} | {:.1} MiB |",
        status_kib(pid, "VmRSS:") as f64 / 1024.0
    );
    println!(
        "| peak RSS (VmHWM) | {:.1} MiB |",
        status_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    Ok(())
}
