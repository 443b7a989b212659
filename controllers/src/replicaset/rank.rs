//! Pod state as the ReplicaSet controller reads it, and upstream's order for
//! choosing which pods to delete first when scaling down
//! (`ActivePodsWithRanks`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

/// Pod annotation ranking pods for scale-down (lower cost goes first).
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The Ready condition's transition time, if the pod is ready.
fn ready_since(pod: &Pod) -> Option<Option<jiff::Timestamp>> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (cond.status == "True").then(|| cond.last_transition_time.as_ref().map(|t| t.0))
}

pub(super) fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready` seconds (upstream's IsPodAvailable).
pub(super) fn is_available(pod: &Pod, min_ready: i32, at: jiff::Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since
            .checked_add(jiff::SignedDuration::from_secs(i64::from(min_ready)))
            .is_ok_and(|t| t <= at),
    }
}

/// Upstream's ActivePodsWithRanks order: the pods to delete first come
/// first.
pub(super) fn rank_for_deletion(pods: &mut [Arc<Pod>], at: jiff::Timestamp) {
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for p in pods.iter() {
        *per_node.entry(node_of(p)).or_default() += 1;
    }
    pods.sort_by(|a, b| compare_for_deletion(a, b, &per_node, at));
}

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Running") => 2,
        Some("Unknown") => 1,
        _ => 0,
    }
}

fn deletion_cost(pod: &Pod) -> i64 {
    pod.annotations()
        .get(DELETION_COST)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn compare_for_deletion(
    a: &Pod,
    b: &Pod,
    per_node: &HashMap<String, usize>,
    at: jiff::Timestamp,
) -> Ordering {
    let (na, nb) = (node_of(a), node_of(b));
    // 1. Unscheduled before scheduled.
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let by_phase = phase_rank(a).cmp(&phase_rank(b));
    if by_phase != Ordering::Equal {
        return by_phase;
    }
    // 3. Not ready before ready.
    let by_ready = is_ready(a).cmp(&is_ready(b));
    if by_ready != Ordering::Equal {
        return by_ready;
    }
    // 4. More pods on the same node first.
    let rank = |n: &str| per_node.get(n).copied().unwrap_or(0);
    let by_rank = rank(&nb).cmp(&rank(&na));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    // 5. Lower deletion cost first.
    let by_cost = deletion_cost(a).cmp(&deletion_cost(b));
    if by_cost != Ordering::Equal {
        return by_cost;
    }
    // 6. Ready for less time first.
    if let (Some(Some(ra)), Some(Some(rb))) = (ready_since(a), ready_since(b)) {
        let by_time = rb.min(at).cmp(&ra.min(at));
        if by_time != Ordering::Equal {
            return by_time;
        }
    }
    // 7. More restarts first.
    let by_restarts = restarts(b).cmp(&restarts(a));
    if by_restarts != Ordering::Equal {
        return by_restarts;
    }
    // 8. Newer first (no timestamp counts as newest).
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (created(a), created(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(ta), Some(tb)) => tb.cmp(&ta),
    }
}
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    pub(in crate::replicaset) fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready: bool,
        age_secs: i64,
    ) -> Pod {
        let at = jiff::Timestamp::from_second(1_000_000 - age_secs).expect("time");
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(Time(at)),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.into()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(at)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn deletion_order_prefers_unscheduled_pending_unready_then_newer() {
        let at = jiff::Timestamp::from_second(1_000_000).expect("time");
        let mut pods: Vec<Arc<Pod>> = [
            pod("running-old", "n1", "Running", true, 100),
            pod("running-new", "n2", "Running", true, 10),
            pod("unready", "n3", "Running", false, 50),
            pod("pending", "n4", "Pending", false, 200),
            pod("unscheduled", "", "Pending", false, 300),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        rank_for_deletion(&mut pods, at);
        let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        assert_eq!(
            names,
            [
                "unscheduled",
                "pending",
                "unready",
                "running-new",
                "running-old"
            ]
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let at = jiff::Timestamp::from_second(1_000_000).expect("time");
        let p = pod("p", "n", "Running", true, 5);
        assert!(is_available(&p, 0, at));
        assert!(is_available(&p, 5, at));
        assert!(!is_available(&p, 6, at));
        assert!(!is_available(&pod("q", "n", "Running", false, 50), 0, at));
    }
}
