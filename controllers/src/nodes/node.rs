//! One simulated node: its Node object (created if missing), its status
//! as a kubelet posts it (capacity, conditions, addresses, nodeInfo), and
//! its heartbeat, a Lease in `kube-node-lease` renewed every 10 s, as
//! upstream's kubelet: the full status is posted only when it differs from
//! what the node shows (e.g. someone else marked the node not Ready) or
//! every 5 minutes (`nodeStatusReportFrequency`), refreshing
//! `lastHeartbeatTime`. The node is read from the shared watch cache, not
//! fetched before each beat; the nodes' beats are spread over the renew
//! interval (a random start, then a little jitter) so that a thousand
//! nodes do not renew in lockstep.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::{json, Value};

use super::{node_ip, node_name};
use crate::events::{EventType, Recorder};

pub const LEASE_NAMESPACE: &str = "kube-node-lease";
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// How often the Lease is renewed (upstream: a quarter of its duration).
const RENEW: Duration = Duration::from_secs(10);
/// How often the whole status is posted even when nothing changed
/// (upstream `nodeStatusReportFrequency`).
const REPORT: Duration = Duration::from_secs(300);
/// Each period is stretched by up to this share at random (upstream's
/// kubelet jitters its status loop by 4%).
const JITTER: f64 = 0.04;

pub const KUBELET_VERSION: &str = "v1.33.1";

/// A random number in [0, 1).
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

pub async fn run(
    client: Client,
    recorder: Recorder,
    index: u32,
    cache: Store<Node>,
) -> anyhow::Result<()> {
    let name = node_name(index);
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, LEASE_NAMESPACE);
    let mut last_report: Option<Instant> = None;
    let mut first = true;
    loop {
        let cached = cache.get(&ObjectRef::new(&name));
        match heartbeat(
            &nodes,
            &leases,
            cached.as_deref(),
            index,
            &name,
            last_report,
        )
        .await
        {
            Ok(Report::Posted { was_ready, node }) => {
                if last_report.is_none() {
                    announce_start(&recorder, &node).await;
                }
                if !was_ready {
                    let message = format!("Node {name} status is now: NodeReady");
                    recorder
                        .publish(node.as_ref(), EventType::Normal, "NodeReady", &message)
                        .await;
                }
                last_report = Some(Instant::now());
            }
            Ok(Report::Skipped) => {}
            Err(e) => tracing::debug!(node = %name, error = %e, "heartbeat failed"),
        }
        // The first beat registers the node at once; the next one comes
        // at a random point of the interval, so that the nodes' beats are
        // spread over it from then on.
        let share = if first {
            random_unit()
        } else {
            1.0 + JITTER * random_unit()
        };
        first = false;
        tokio::time::sleep(RENEW.mul_f64(share)).await;
    }
}

/// The kubelet's events when it starts posting its node's status.
async fn announce_start(recorder: &Recorder, node: &Node) {
    let name = node.name_any();
    recorder
        .publish(node, EventType::Normal, "Starting", "Starting kubelet.")
        .await;
    for reason in [
        "NodeHasSufficientMemory",
        "NodeHasNoDiskPressure",
        "NodeHasSufficientPID",
    ] {
        let message = format!("Node {name} status is now: {reason}");
        recorder
            .publish(node, EventType::Normal, reason, &message)
            .await;
    }
    recorder
        .publish(
            node,
            EventType::Normal,
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods",
        )
        .await;
}

enum Report {
    /// The status was posted; whether the node was Ready before.
    Posted {
        was_ready: bool,
        node: Box<Node>,
    },
    Skipped,
}

/// One beat: the Node exists, its Lease is renewed, its status posted when
/// due. `cached` is the node as the watch cache has it (None: not seen
/// yet, so it is fetched, and created when missing).
async fn heartbeat(
    nodes: &Api<Node>,
    leases: &Api<Lease>,
    cached: Option<&Node>,
    index: u32,
    name: &str,
    last_report: Option<Instant>,
) -> kube::Result<Report> {
    let fetched;
    let node = match cached {
        Some(n) => n,
        None => {
            fetched = match nodes.get_opt(name).await? {
                Some(n) => n,
                None => match nodes.create(&PostParams::default(), &new_node(index)).await {
                    Ok(n) => n,
                    Err(kube::Error::Api(e)) if e.code == 409 => nodes.get(name).await?,
                    Err(e) => return Err(e),
                },
            };
            &fetched
        }
    };
    renew_lease(leases, node).await?;
    let ready = condition_status(node, "Ready") == Some("True");
    let due = last_report.is_none_or(|t| t.elapsed() >= REPORT);
    if !due && !differs(index, node) {
        return Ok(Report::Skipped);
    }
    let status = node_status(index, node);
    let node = nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await?;
    Ok(Report::Posted {
        was_ready: ready,
        node: Box::new(node),
    })
}

fn as_value<T: serde::Serialize>(v: &Option<T>) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Whether the node shows a status other than the one its kubelet posts
/// (heartbeat and transition times aside): a condition someone else set,
/// or resources or addresses missing.
fn differs(index: u32, node: &Node) -> bool {
    let wanted = node_status(index, node);
    let Some(status) = &node.status else {
        return true;
    };
    let shown = |c: &str| condition_status(node, c);
    let conditions_differ = wanted["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| shown(c["type"].as_str().unwrap_or_default()) != c["status"].as_str());
    conditions_differ
        || as_value(&status.allocatable) != wanted["allocatable"]
        || as_value(&status.capacity) != wanted["capacity"]
        || as_value(&status.addresses) != wanted["addresses"]
        || status
            .node_info
            .as_ref()
            .map(|i| i.kubelet_version.as_str())
            != Some(KUBELET_VERSION)
}

fn condition_status<'a>(node: &'a Node, kind: &str) -> Option<&'a str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

fn new_node(index: u32) -> Node {
    let name = node_name(index);
    let cidr = format!("10.244.{index}.0/24");
    let value = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
    });
    serde_json::from_value(value).unwrap_or_default()
}

/// A stable pseudo-random hex string for `seed`.
pub fn hex_id(seed: &str, len: usize) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::new();
    let mut round = 0u64;
    while out.len() < len {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (seed, round).hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
        round += 1;
    }
    out.truncate(len);
    out
}

/// The status a healthy kubelet posts; transition times are kept from
/// `node` where a condition's status is unchanged.
fn node_status(index: u32, node: &Node) -> Value {
    let name = node_name(index);
    let now = crate::util::now();
    let previous = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        let since = previous
            .iter()
            .find(|c| c.type_ == kind && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| now.clone());
        json!({
            "type": kind,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        })
    };
    let resources = json!({
        "cpu": "4",
        "memory": "16Gi",
        "pods": "110",
        "ephemeral-storage": "100Gi",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    });
    let machine = hex_id(&name, 32);
    let uuid = hex_id(&format!("{name}/system"), 32);
    json!({
        "capacity": resources,
        "allocatable": resources,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": node_ip(index)},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": machine,
            "systemUUID": format!("{}-{}-{}-{}-{}", &uuid[0..8], &uuid[8..12], &uuid[12..16], &uuid[16..20], &uuid[20..32]),
            "bootID": hex_id(&format!("{name}/boot/{}", std::process::id()), 32),
            "kernelVersion": "6.1.0-ferrokube",
            "osImage": "ferrokube simulated node",
            "containerRuntimeVersion": "ferrokube://simulated",
            "kubeletVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    })
}

/// Renew (or create) the node's Lease.
async fn renew_lease(leases: &Api<Lease>, node: &Node) -> kube::Result<()> {
    let name = node.name_any();
    let now = MicroTime(jiff::Timestamp::now());
    let spec = json!({
        "holderIdentity": name,
        "leaseDurationSeconds": LEASE_DURATION_SECONDS,
        "renewTime": now,
    });
    match leases
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": name,
                    "namespace": LEASE_NAMESPACE,
                    "ownerReferences": [{
                        "apiVersion": "v1",
                        "kind": "Node",
                        "name": name,
                        "uid": node.uid().unwrap_or_default(),
                    }],
                },
                "spec": spec,
            });
            let lease: Lease = serde_json::from_value(lease).unwrap_or_default();
            match leases.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_ready_with_upstream_condition_set() {
        let status = node_status(2, &Node::default());
        let kinds: Vec<&str> = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        );
        assert_eq!(status["addresses"][0]["address"], "10.0.0.2");
        assert_eq!(status["nodeInfo"]["kubeletVersion"], "v1.33.1");
        assert_eq!(hex_id("x", 64).len(), 64);
        assert_eq!(hex_id("x", 64), hex_id("x", 64));
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": "n"}, "status": status}))
                .expect("node");
        assert!(node.status.is_some());
        assert!(!differs(2, &node));
        let mut unknown = node.clone();
        for c in unknown
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .into_iter()
            .flatten()
        {
            c.status = "Unknown".into();
        }
        assert!(differs(2, &unknown));
        assert!(differs(2, &Node::default()));
        assert!(differs(3, &node));
    }
}
