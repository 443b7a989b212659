//! What the filters and scores need to know, computed once: a pod's
//! requests ([`PodRequests`], parsed once per pod) and a node's state
//! ([`NodeInfo`], built once per scheduling pass and updated as the pass
//! assumes pods onto it), as upstream's scheduler cache snapshot.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PodSpec, Taint};
use kube::ResourceExt;

use super::resources::{self, Amounts};

/// What a pod asks for: its requests in upstream's check order (cpu,
/// memory, ephemeral-storage, then the rest by name), and the cpu and
/// memory the least-allocated score counts (with non-zero defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodRequests {
    pub amounts: Vec<(String, i128)>,
    pub scoring_cpu: i128,
    pub scoring_mem: i128,
}

impl PodRequests {
    pub fn of(spec: &PodSpec) -> PodRequests {
        let mut amounts: Vec<(String, i128)> = resources::pod_requests(spec).into_iter().collect();
        amounts.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        let (scoring_cpu, scoring_mem) = resources::scoring_requests(spec);
        PodRequests {
            amounts,
            scoring_cpu,
            scoring_mem,
        }
    }
}

fn rank(name: &str) -> u8 {
    match name {
        "cpu" => 0,
        "memory" => 1,
        "ephemeral-storage" => 2,
        _ => 3,
    }
}

/// What is already on a node: requested resources of its bound,
/// non-terminated pods (and of pods assumed onto it), and how many there are.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub requested: Amounts,
    pub pods: i128,
    /// cpu and memory with upstream's non-zero defaults, for scoring.
    pub scoring_cpu: i128,
    pub scoring_mem: i128,
}

impl Usage {
    pub fn add(&mut self, req: &PodRequests) {
        for (k, v) in &req.amounts {
            match self.requested.get_mut(k) {
                Some(sum) => *sum += v,
                None => {
                    self.requested.insert(k.clone(), *v);
                }
            }
        }
        self.scoring_cpu += req.scoring_cpu;
        self.scoring_mem += req.scoring_mem;
        self.pods += 1;
    }
}

/// One node as the filters see it during a pass.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    pub name: String,
    /// Allocatable resources in thousandths.
    pub allocatable: Amounts,
    /// `spec.unschedulable`.
    pub cordoned: bool,
    /// Its taints, plus the not-ready/unreachable one its Ready condition
    /// calls for (see [`effective_taints`]).
    pub taints: Vec<Taint>,
    pub usage: Usage,
}

impl NodeInfo {
    pub fn new(node: Arc<Node>) -> NodeInfo {
        NodeInfo {
            name: node.name_any(),
            allocatable: allocatable(&node),
            cordoned: node
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            taints: effective_taints(&node),
            usage: Usage::default(),
            node,
        }
    }

    pub fn allocatable(&self, resource: &str) -> i128 {
        self.allocatable.get(resource).copied().unwrap_or(0)
    }
}

/// A node's allocatable resources in thousandths.
pub fn allocatable(node: &Node) -> Amounts {
    node.status
        .as_ref()
        .and_then(|s| s.allocatable.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| resources::milli(&v.0).map(|m| (k.clone(), m)))
        .collect()
}

/// The taints a node effectively has: its own, plus the not-ready taint
/// when its Ready condition is not True and nothing has tainted it yet
/// (upstream's node lifecycle controller adds one soon after).
pub fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let key = match ready {
        Some("True") => None,
        Some("Unknown") => Some("node.kubernetes.io/unreachable"),
        _ => Some("node.kubernetes.io/not-ready"),
    };
    if let Some(key) = key {
        if !taints
            .iter()
            .any(|t| t.key == key && t.effect == "NoSchedule")
        {
            taints.push(Taint {
                key: key.into(),
                effect: "NoSchedule".into(),
                ..Default::default()
            });
        }
    }
    taints
}

/// How many feasible nodes a pod's search stops at, as upstream's
/// `numFeasibleNodesToFind` with the adaptive percentageOfNodesToScore:
/// every node below 100, else 50% less 1% per 125 nodes (at least 5%),
/// but never fewer than 100.
pub fn feasible_nodes_to_find(all: usize) -> usize {
    const MIN_NODES: usize = 100;
    const MIN_PERCENT: usize = 5;
    if all < MIN_NODES {
        return all;
    }
    let percent = 50usize.saturating_sub(all / 125).max(MIN_PERCENT);
    (all * percent / 100).max(MIN_NODES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adaptive_share_of_nodes_to_score() {
        assert_eq!(feasible_nodes_to_find(0), 0);
        assert_eq!(feasible_nodes_to_find(3), 3);
        assert_eq!(feasible_nodes_to_find(99), 99);
        assert_eq!(feasible_nodes_to_find(100), 100);
        assert_eq!(feasible_nodes_to_find(300), 144);
        assert_eq!(feasible_nodes_to_find(1000), 420);
        assert_eq!(feasible_nodes_to_find(5000), 500);
        assert_eq!(feasible_nodes_to_find(10_000), 500);
    }

    #[test]
    fn requests_in_upstream_check_order() {
        let spec: PodSpec = serde_json::from_value(json!({"containers": [{"name": "c",
            "resources": {"requests": {"example.com/gpu": "1", "memory": "1Mi", "cpu": "10m",
                "ephemeral-storage": "1Gi"}}}]}))
        .expect("spec");
        let req = PodRequests::of(&spec);
        let names: Vec<&str> = req.amounts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["cpu", "memory", "ephemeral-storage", "example.com/gpu"]
        );
    }
}
