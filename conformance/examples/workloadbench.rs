//! Workload benchmark (not a test): starts the real ferrokube binary with N
//! simulated nodes and all its controllers, creates Deployments totalling P
//! pods through the API, and reports how long until every pod is Running and
//! the server's memory (RSS now and peak). Prints a Markdown table.
//! Run with `make bench-workloads` (hack/bench-workloads.sh).
//!
//! Usage: workloadbench [NODES] [PODS] [PODS_PER_DEPLOYMENT]

use std::time::{Duration, Instant};

use conformance::Server;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
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

/// Count pods (all, Running) with paged lists.
async fn count(pods: &Api<Pod>) -> anyhow::Result<(usize, usize)> {
    let mut total = 0;
    let mut running = 0;
    let mut lp = ListParams::default().limit(2000);
    loop {
        let page = pods.list(&lp).await?;
        total += page.items.len();
        running += page
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => return Ok((total, running)),
        }
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
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut last = (0, 0);
    loop {
        last = count(&pods).await.unwrap_or(last);
        if last.1 >= want {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("gave up after 30 min: {} pods, {} running", last.0, last.1);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let all_running = started.elapsed();
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
        "| Deployments created until all {want} pods Running | {:.1} s |",
        all_running.as_secs_f64()
    );
    println!(
        "| RSS with all pods Running | {:.1} MiB |",
        status_kib(pid, "VmRSS:") as f64 / 1024.0
    );
    println!(
        "| peak RSS (VmHWM) | {:.1} MiB |",
        status_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    Ok(())
}
