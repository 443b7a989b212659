//! `nodes`: ferrokube's simulated nodes. For `--nodes N` it runs
//! `ferrokube-node-1` .. `ferrokube-node-N`, each a Node object kept
//! Ready by a heartbeat ([`node`]), a simulated kubelet that runs the pods
//! bound to them ([`kubelet`]), and upstream's node lifecycle rules for
//! every node, ours or not ([`lifecycle`]): a node whose heartbeat stops
//! becomes Ready=Unknown and tainted unreachable.

mod kubelet;
mod lifecycle;
mod node;
mod pod_status;

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use tokio::sync::Notify;

use crate::util::watched_store;
use crate::Context;

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let count = ctx.config.nodes;
    let mut tasks = tokio::task::JoinSet::new();
    // One watch of Nodes and one of Leases serve every simulated kubelet
    // and the lifecycle checks.
    let unused = Arc::new(Notify::new());
    let (nodes, node_events) = watched_store::<Node>(&ctx.client, &unused);
    let (leases, lease_events) = watched_store::<Lease>(&ctx.client, &unused);
    tasks.spawn(async move {
        node_events.await;
        anyhow::bail!("node watch ended")
    });
    tasks.spawn(async move {
        lease_events.await;
        anyhow::bail!("lease watch ended")
    });
    for index in 1..=count {
        let recorder = ctx.recorder("kubelet").with_host(&node_name(index));
        tasks.spawn(node::run(
            ctx.client.clone(),
            recorder,
            index,
            nodes.clone(),
        ));
    }
    tasks.spawn(lifecycle::run(
        ctx.client.clone(),
        ctx.recorder("node-controller"),
        nodes,
        leases,
    ));
    if count > 0 {
        tasks.spawn(kubelet::run(ctx.clone()));
    }
    match tasks.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(anyhow::anyhow!("node task failed: {e}")),
        None => std::future::pending().await,
    }
}

/// The name of simulated node `index` (1-based).
pub fn node_name(index: u32) -> String {
    format!("ferrokube-node-{index}")
}

/// The index of one of our `count` nodes, from its name.
pub fn node_index(name: &str, count: u32) -> Option<u32> {
    let index: u32 = name.strip_prefix("ferrokube-node-")?.parse().ok()?;
    (1..=count).contains(&index).then_some(index)
}

/// The node's InternalIP: 10.0.0.N (wrapping into the third octet past 255).
pub fn node_ip(index: u32) -> String {
    format!("10.0.{}.{}", index / 256, index % 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        assert_eq!(node_name(2), "ferrokube-node-2");
        assert_eq!(node_index("ferrokube-node-2", 3), Some(2));
        assert_eq!(node_index("ferrokube-node-4", 3), None);
        assert_eq!(node_index("ferrokube-node-0", 3), None);
        assert_eq!(node_index("other", 3), None);
        assert_eq!(node_ip(3), "10.0.0.3");
    }
}
