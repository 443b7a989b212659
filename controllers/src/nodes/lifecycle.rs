//! Upstream's node lifecycle rules, for every Node (ours or made by hand):
//! a node whose last heartbeat (its Lease's `renewTime`, or its Ready
//! condition's `lastHeartbeatTime`) is older than the 40 s grace period
//! gets its conditions set to Unknown ("Kubelet stopped posting node
//! status."), and nodes are tainted after their condition: Ready=Unknown
//! gives `node.kubernetes.io/unreachable` (NoSchedule and NoExecute),
//! Ready=False `node.kubernetes.io/not-ready`, `spec.unschedulable`
//! `node.kubernetes.io/unschedulable:NoSchedule`. Taints no longer called
//! for are removed. (No eviction: NoExecute taints only keep new pods off.)

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::node::LEASE_NAMESPACE;
use crate::events::{EventType, Recorder};

/// How often nodes are checked (upstream `--node-monitor-period`).
const MONITOR_PERIOD: Duration = Duration::from_secs(5);
/// How long a node may go without heartbeat (upstream `--node-monitor-grace-period`).
pub const GRACE: Duration = Duration::from_secs(40);

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The node conditions a kubelet posts, in its order.
const CONDITIONS: [&str; 4] = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"];

/// Check every node each MONITOR_PERIOD, from the watch caches of nodes
/// and node Leases (as upstream's controller works from its informers).
pub async fn run(
    client: Client,
    recorder: Recorder,
    nodes: Store<Node>,
    leases: Store<Lease>,
) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client);
    nodes.wait_until_ready().await?;
    leases.wait_until_ready().await?;
    loop {
        monitor(&api, &nodes, &leases, &recorder).await;
        tokio::time::sleep(MONITOR_PERIOD).await;
    }
}

async fn monitor(api: &Api<Node>, nodes: &Store<Node>, leases: &Store<Lease>, recorder: &Recorder) {
    let now = jiff::Timestamp::now();
    for node in nodes.state() {
        let name = node.name_any();
        let renewed = leases
            .get(&ObjectRef::new(&name).within(LEASE_NAMESPACE))
            .and_then(|l| Some(l.spec.as_ref()?.renew_time.as_ref()?.0));
        let stale = stale_conditions(&node, renewed, now);
        let mut current = (*node).clone();
        if let Some(conditions) = stale {
            let patch = json!({"status": {"conditions": conditions}});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => current = n,
                Err(e) => {
                    tracing::debug!(node = %name, error = %e, "cannot mark node unknown");
                    continue;
                }
            }
            tracing::info!(node = %name, "node stopped posting status: Ready=Unknown");
            let message = format!("Node {name} status is now: NodeNotReady");
            recorder
                .publish(&current, EventType::Normal, "NodeNotReady", &message)
                .await;
        }
        if let Some(taints) = wanted_taints(&current, now) {
            let patch = json!({
                "metadata": {"resourceVersion": current.resource_version()},
                "spec": {"taints": taints},
            });
            if let Err(e) = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::debug!(node = %name, error = %e, "cannot update node taints");
            }
        }
    }
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The node's conditions set to Unknown when its heartbeat is older than
/// the grace period and it is not Unknown yet; None otherwise.
pub fn stale_conditions(
    node: &Node,
    lease_renewed: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Option<Vec<NodeCondition>> {
    let ready = ready_condition(node);
    let beat = ready
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    // The last sign of life; a node that never gave one counts from its creation.
    let last = [lease_renewed, beat]
        .into_iter()
        .flatten()
        .max()
        .or_else(|| node.creation_timestamp().map(|t| t.0))?;
    let grace = jiff::SignedDuration::try_from(GRACE).ok()?;
    if now.duration_since(last) <= grace {
        return None;
    }
    if ready.is_some_and(|c| c.status == "Unknown") {
        return None;
    }
    let existing = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let stamp = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now);
    let mut out: Vec<NodeCondition> = Vec::new();
    for kind in CONDITIONS {
        let c = match existing.iter().find(|c| c.type_ == kind) {
            Some(c) => NodeCondition {
                status: "Unknown".into(),
                reason: Some("NodeStatusUnknown".into()),
                message: Some("Kubelet stopped posting node status.".into()),
                last_transition_time: Some(stamp.clone()),
                ..c.clone()
            },
            None => NodeCondition {
                type_: kind.into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusNeverUpdated".into()),
                message: Some("Kubelet never posted node status.".into()),
                last_heartbeat_time: node.creation_timestamp(),
                last_transition_time: Some(stamp.clone()),
            },
        };
        out.push(c);
    }
    // Conditions of other kinds are kept as they are.
    out.extend(
        existing
            .into_iter()
            .filter(|c| !CONDITIONS.contains(&c.type_.as_str())),
    );
    Some(out)
}

/// The node's taints with the condition taints it calls for, or None when
/// they are already right.
pub fn wanted_taints(node: &Node, now: jiff::Timestamp) -> Option<Vec<Taint>> {
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    match ready_condition(node).map(|c| c.status.as_str()) {
        Some("True") => {}
        Some("Unknown") => {
            wanted.push((UNREACHABLE, "NoSchedule"));
            wanted.push((UNREACHABLE, "NoExecute"));
        }
        Some(_) => {
            wanted.push((NOT_READY, "NoSchedule"));
            wanted.push((NOT_READY, "NoExecute"));
        }
        // A node that never posted status is left to the staleness check.
        None => {}
    }
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        wanted.push((UNSCHEDULABLE, "NoSchedule"));
    }
    let managed = |t: &Taint| [UNREACHABLE, NOT_READY, UNSCHEDULABLE].contains(&t.key.as_str());
    let mut next: Vec<Taint> = current
        .iter()
        .filter(|t| !managed(t) || wanted.contains(&(t.key.as_str(), t.effect.as_str())))
        .cloned()
        .collect();
    for (key, effect) in &wanted {
        if !next.iter().any(|t| t.key == *key && t.effect == *effect) {
            next.push(Taint {
                key: key.to_string(),
                effect: effect.to_string(),
                time_added: (*effect == "NoExecute")
                    .then_some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
                value: None,
            });
        }
    }
    (next != current).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: Option<(&str, &str)>, extra_spec: serde_json::Value) -> Node {
        let mut conditions = vec![];
        if let Some((status, beat)) = ready {
            conditions.push(json!({"type": "Ready", "status": status, "lastHeartbeatTime": beat,
                "lastTransitionTime": beat, "reason": "KubeletReady", "message": "kubelet is posting ready status"}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": "n", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": extra_spec,
            "status": {"conditions": conditions}
        }))
        .expect("node")
    }

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn a_node_without_heartbeat_turns_unknown() {
        let n = node(Some(("True", "2026-01-01T00:00:00Z")), json!({}));
        assert!(stale_conditions(&n, None, at("2026-01-01T00:00:30Z")).is_none());
        // A fresh lease keeps it alive although the condition is old.
        assert!(stale_conditions(
            &n,
            Some(at("2026-01-01T00:01:00Z")),
            at("2026-01-01T00:01:10Z")
        )
        .is_none());
        let cs = stale_conditions(
            &n,
            Some(at("2026-01-01T00:00:10Z")),
            at("2026-01-01T00:01:00Z"),
        )
        .expect("stale");
        let ready = cs.iter().find(|c| c.type_ == "Ready").expect("ready");
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            ready.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        assert_eq!(cs.len(), 4);
        let never = node(None, json!({}));
        let cs = stale_conditions(&never, None, at("2026-01-01T00:01:00Z")).expect("stale");
        assert!(cs
            .iter()
            .all(|c| c.reason.as_deref() == Some("NodeStatusNeverUpdated")));
    }

    #[test]
    fn taints_follow_conditions() {
        let now = at("2026-01-01T00:01:00Z");
        let unknown = node(Some(("Unknown", "2026-01-01T00:00:00Z")), json!({}));
        let taints = wanted_taints(&unknown, now).expect("tainted");
        assert!(taints
            .iter()
            .any(|t| t.key == UNREACHABLE && t.effect == "NoSchedule"));
        let ready = node(
            Some(("True", "2026-01-01T00:00:00Z")),
            json!({"taints": [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": "mine", "effect": "NoSchedule"}]}),
        );
        let taints = wanted_taints(&ready, now).expect("untainted");
        assert_eq!(taints.len(), 1);
        assert_eq!(taints[0].key, "mine");
        let cordoned = node(
            Some(("True", "2026-01-01T00:00:00Z")),
            json!({"unschedulable": true}),
        );
        let taints = wanted_taints(&cordoned, now).expect("cordoned");
        assert_eq!(taints[0].key, UNSCHEDULABLE);
        assert!(wanted_taints(
            &node(Some(("True", "2026-01-01T00:00:00Z")), json!({})),
            now
        )
        .is_none());
    }
}
