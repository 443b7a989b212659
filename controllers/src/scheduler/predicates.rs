//! The scheduler's filters, in upstream's plugin order (NodeUnschedulable,
//! NodeName, TaintToleration, NodeAffinity, NodeResourcesFit), each giving
//! upstream's reason strings, and the least-allocated score. Pure
//! functions over a pod and a node's state as [`NodeInfo`] has it, so they
//! are unit-tested here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration,
};
use kube::ResourceExt;

use super::node_info::{NodeInfo, PodRequests};

/// Upstream's filter reasons.
pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub const REASON_NODE_NAME: &str = "node(s) didn't match the requested node name";
pub const REASON_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
pub const REASON_TOO_MANY_PODS: &str = "Too many pods";

/// Why a node does not fit, and whether evicting lower-priority pods
/// could help (upstream `Unschedulable` vs `UnschedulableAndUnresolvable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reasons: Vec<String>,
    pub resolvable: bool,
}

impl Rejection {
    fn hard(reason: impl Into<String>) -> Rejection {
        Rejection {
            reasons: vec![reason.into()],
            resolvable: false,
        }
    }
}

/// Run every filter; `Ok(())` when the pod fits the node.
pub fn filter(spec: &PodSpec, req: &PodRequests, node: &NodeInfo) -> Result<(), Rejection> {
    node_unschedulable(spec, node)?;
    node_name(spec, node)?;
    taint_toleration(spec, node)?;
    node_affinity(spec, node)?;
    resources_fit(req, node)
}

fn node_unschedulable(spec: &PodSpec, node: &NodeInfo) -> Result<(), Rejection> {
    if !node.cordoned {
        return Ok(());
    }
    let taint = Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        effect: "NoSchedule".into(),
        ..Default::default()
    };
    if tolerated(spec.tolerations.as_deref().unwrap_or_default(), &taint) {
        return Ok(());
    }
    Err(Rejection::hard(REASON_UNSCHEDULABLE))
}

fn node_name(spec: &PodSpec, node: &NodeInfo) -> Result<(), Rejection> {
    match spec.node_name.as_deref() {
        Some(n) if !n.is_empty() && n != node.name => Err(Rejection::hard(REASON_NODE_NAME)),
        _ => Ok(()),
    }
}

fn taint_toleration(spec: &PodSpec, node: &NodeInfo) -> Result<(), Rejection> {
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    for taint in &node.taints {
        if !matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute") {
            continue;
        }
        if !tolerated(tolerations, taint) {
            return Err(Rejection::hard(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            )));
        }
    }
    Ok(())
}

/// Whether some toleration matches the taint (upstream `ToleratesTaint`).
pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let effect = t.effect.as_deref().unwrap_or("");
        if !effect.is_empty() && effect != taint.effect {
            return false;
        }
        let key = t.key.as_deref().unwrap_or("");
        if !key.is_empty() && key != taint.key {
            return false;
        }
        match t.operator.as_deref().unwrap_or("Equal") {
            "Exists" => true,
            "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
            _ => false,
        }
    })
}

fn node_affinity(spec: &PodSpec, node: &NodeInfo) -> Result<(), Rejection> {
    let labels = node.node.labels();
    if let Some(selector) = &spec.node_selector {
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return Err(Rejection::hard(REASON_AFFINITY));
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    if let Some(required) = required {
        // The terms are ORed; an empty list matches nothing.
        if !required
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, labels, &node.name))
        {
            return Err(Rejection::hard(REASON_AFFINITY));
        }
    }
    Ok(())
}

/// One node selector term: its expressions and fields are ANDed; a term
/// with neither matches nothing.
pub fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, Some(name))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

fn resources_fit(req: &PodRequests, node: &NodeInfo) -> Result<(), Rejection> {
    let usage = &node.usage;
    let mut reasons = Vec::new();
    let max_pods = node.allocatable("pods") / 1000;
    if usage.pods + 1 > max_pods {
        reasons.push(REASON_TOO_MANY_PODS.to_string());
    }
    for (name, need) in &req.amounts {
        if *need <= 0 {
            continue;
        }
        let used = usage.requested.get(name).copied().unwrap_or(0);
        if *need > node.allocatable(name) - used {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Rejection {
            reasons,
            resolvable: true,
        })
    }
}

/// Upstream's LeastAllocated score (0..=100): the mean free share of cpu
/// and memory once the pod is placed.
pub fn score(req: &PodRequests, node: &NodeInfo) -> i128 {
    let usage = &node.usage;
    let (cpu, mem) = (req.scoring_cpu, req.scoring_mem);
    let part = |cap: i128, used: i128| {
        if cap <= 0 || used > cap {
            0
        } else {
            (cap - used) * 100 / cap
        }
    };
    let cpu_score = part(node.allocatable("cpu"), usage.scoring_cpu + cpu);
    let mem_score = part(node.allocatable("memory"), usage.scoring_mem + mem);
    (cpu_score + mem_score) / 2
}

/// The sum of the weights of the pod's preferred node affinity terms the
/// node matches (upstream NodeAffinity score before normalizing).
fn preferred_affinity(spec: &PodSpec, node: &NodeInfo) -> i128 {
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|t| term_matches(&t.preference, node.node.labels(), &node.name))
        .map(|t| i128::from(t.weight))
        .sum()
}

/// How many PreferNoSchedule taints of the node the pod does not tolerate.
fn intolerable_soft_taints(spec: &PodSpec, node: &NodeInfo) -> i128 {
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    node.taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(tolerations, t))
        .count() as i128
}

/// The node to bind to among those that passed the filters: upstream's
/// default score plugins that matter here, each normalized to 0..=100 and
/// weighted as upstream (LeastAllocated 1, NodeAffinity 2,
/// TaintToleration 3); ties go to the node with fewer pods, then by name.
pub fn pick<'a>(
    spec: &PodSpec,
    req: &PodRequests,
    feasible: &[&'a NodeInfo],
) -> Option<&'a NodeInfo> {
    let affinity: Vec<i128> = feasible
        .iter()
        .map(|n| preferred_affinity(spec, n))
        .collect();
    let soft: Vec<i128> = feasible
        .iter()
        .map(|n| intolerable_soft_taints(spec, n))
        .collect();
    let max_affinity = affinity.iter().copied().max().unwrap_or(0);
    let max_soft = soft.iter().copied().max().unwrap_or(0);
    feasible
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let mut total = score(req, node);
            if max_affinity > 0 {
                total += 2 * affinity[i] * 100 / max_affinity;
            }
            total += 3 * if max_soft > 0 {
                100 - soft[i] * 100 / max_soft
            } else {
                100
            };
            (total, -node.usage.pods, std::cmp::Reverse(&node.name), i)
        })
        .max_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)))
        .map(|(_, _, _, i)| feasible[i])
}

/// Upstream's FitError message: "0/N nodes are available: <histogram>.
/// preemption: 0/N nodes are available: <histogram>."
pub fn fit_error(total: usize, rejections: &[Rejection]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rejections {
        for reason in &r.reasons {
            *counts.entry(reason.clone()).or_default() += 1;
        }
        let p = if r.resolvable {
            "No preemption victims found for incoming pod"
        } else {
            "Preemption is not helpful for scheduling"
        };
        *preemption.entry(p).or_default() += 1;
    }
    let histogram = |items: Vec<String>| {
        let mut items = items;
        items.sort();
        items.join(", ")
    };
    if total == 0 {
        return "no nodes available to schedule pods".to_string();
    }
    let mut msg = format!("0/{total} nodes are available:");
    msg.push_str(&format!(
        " {}.",
        histogram(counts.iter().map(|(k, v)| format!("{v} {k}")).collect())
    ));
    msg.push_str(&format!(
        " preemption: 0/{total} nodes are available: {}.",
        histogram(preemption.iter().map(|(k, v)| format!("{v} {k}")).collect())
    ));
    msg
}

/// The FitError message when a pre-filter turned the pod away before any
/// node was looked at: its reason once, and every node beyond preemption.
pub fn prefilter_error(total: usize, reason: &str) -> String {
    if total == 0 {
        return "no nodes available to schedule pods".to_string();
    }
    format!(
        "0/{total} nodes are available: {reason}. preemption: 0/{total} nodes are available: \
         {total} Preemption is not helpful for scheduling."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node_info::Usage;
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;
    use std::sync::Arc;

    fn node(name: &str, extra: serde_json::Value) -> NodeInfo {
        let mut n = json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "zone": "a", "rank": "5"}},
            "spec": {},
            "status": {
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        });
        merge(&mut n, extra);
        let n: Node = serde_json::from_value(n).expect("node");
        NodeInfo::new(Arc::new(n))
    }

    fn using(n: &NodeInfo, usage: &Usage) -> NodeInfo {
        NodeInfo {
            usage: usage.clone(),
            ..n.clone()
        }
    }

    fn req(s: &PodSpec) -> PodRequests {
        PodRequests::of(s)
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn spec(v: serde_json::Value) -> PodSpec {
        let mut s = json!({"containers": [{"name": "c", "image": "nginx"}]});
        merge(&mut s, v);
        serde_json::from_value(s).expect("spec")
    }

    fn reasons(s: &PodSpec, n: &NodeInfo) -> Vec<String> {
        match filter(s, &req(s), n) {
            Ok(()) => vec![],
            Err(r) => r.reasons,
        }
    }

    #[test]
    fn node_selector_and_required_affinity() {
        let n = node("n1", json!({}));
        assert!(reasons(&spec(json!({"nodeSelector": {"zone": "a"}})), &n).is_empty());
        assert_eq!(
            reasons(&spec(json!({"nodeSelector": {"zone": "b"}})), &n),
            [REASON_AFFINITY]
        );
        let affinity = |op: &str, values: serde_json::Value, key: &str| {
            spec(
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]
                }}}}),
            )
        };
        assert!(reasons(&affinity("In", json!(["a", "b"]), "zone"), &n).is_empty());
        assert!(!reasons(&affinity("NotIn", json!(["a"]), "zone"), &n).is_empty());
        assert!(reasons(&affinity("NotIn", json!(["a"]), "other"), &n).is_empty());
        assert!(reasons(&affinity("Exists", json!(null), "zone"), &n).is_empty());
        assert!(!reasons(&affinity("DoesNotExist", json!(null), "zone"), &n).is_empty());
        assert!(reasons(&affinity("Gt", json!(["4"]), "rank"), &n).is_empty());
        assert!(!reasons(&affinity("Gt", json!(["5"]), "rank"), &n).is_empty());
        assert!(reasons(&affinity("Lt", json!(["6"]), "rank"), &n).is_empty());
        assert!(!reasons(&affinity("Lt", json!(["x"]), "rank"), &n).is_empty());
        let by_field = |name: &str| {
            spec(
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z"]}]},
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}
                    ]
                }}}}),
            )
        };
        assert!(reasons(&by_field("n1"), &n).is_empty());
        assert_eq!(reasons(&by_field("n2"), &n), [REASON_AFFINITY]);
    }

    #[test]
    fn taints_and_tolerations() {
        let n = node(
            "n1",
            json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
        );
        assert_eq!(
            reasons(&spec(json!({})), &n),
            ["node(s) had untolerated taint {dedicated: gpu}"]
        );
        let tol = |t: serde_json::Value| spec(json!({"tolerations": [t]}));
        assert!(reasons(
            &tol(json!({"key": "dedicated", "operator": "Equal", "value": "gpu"})),
            &n
        )
        .is_empty());
        assert!(reasons(
            &tol(json!({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"})),
            &n
        )
        .is_empty());
        assert!(reasons(&tol(json!({"operator": "Exists"})), &n).is_empty());
        assert!(!reasons(&tol(json!({"key": "dedicated", "value": "cpu"})), &n).is_empty());
        assert!(!reasons(
            &tol(json!({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"})),
            &n
        )
        .is_empty());
        let soft = node(
            "n1",
            json!({"spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"}]}}),
        );
        assert!(reasons(&spec(json!({})), &soft).is_empty());
    }

    #[test]
    fn cordoned_and_not_ready_nodes() {
        let cordoned = node("n1", json!({"spec": {"unschedulable": true}}));
        assert_eq!(reasons(&spec(json!({})), &cordoned), [REASON_UNSCHEDULABLE]);
        let tolerating = spec(
            json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]}),
        );
        assert!(reasons(&tolerating, &cordoned).is_empty());
        let unknown = node(
            "n1",
            json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
        );
        assert_eq!(
            reasons(&spec(json!({})), &unknown),
            ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"]
        );
    }

    #[test]
    fn resources_against_what_is_already_requested() {
        let n = node("n1", json!({}));
        let big = spec(
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}]}),
        );
        let mut usage = Usage::default();
        assert!(filter(&big, &req(&big), &n).is_ok());
        usage.add(&req(&big));
        let err = filter(&big, &req(&big), &using(&n, &usage)).expect_err("no room");
        assert_eq!(err.reasons, ["Insufficient cpu"]);
        assert!(err.resolvable);
        let huge = spec(
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "5", "memory": "17Gi", "example.com/gpu": "1"}}}]}),
        );
        assert_eq!(
            reasons(&huge, &n),
            [
                "Insufficient cpu",
                "Insufficient memory",
                "Insufficient example.com/gpu"
            ]
        );
        let full = Usage {
            pods: 110,
            ..Default::default()
        };
        assert_eq!(
            filter(&spec(json!({})), &req(&spec(json!({}))), &using(&n, &full))
                .expect_err("full")
                .reasons,
            [REASON_TOO_MANY_PODS]
        );
    }

    #[test]
    fn pick_weighs_preferences_and_soft_taints() {
        let a = node("a", json!({}));
        let b = node("b", json!({"metadata": {"labels": {"zone": "b"}}}));
        let idle = Usage::default();
        let mut busy = Usage::default();
        busy.add(&req(&spec(json!({}))));
        let plain = spec(json!({}));
        let picked =
            |s: &PodSpec, nodes: &[&NodeInfo]| pick(s, &req(s), nodes).map(|n| n.name.clone());
        assert_eq!(
            picked(&plain, &[&using(&a, &busy), &using(&b, &idle)]).as_deref(),
            Some("b")
        );
        assert_eq!(
            picked(&plain, &[&using(&a, &idle), &using(&b, &idle)]).as_deref(),
            Some("a")
        );
        let prefers_b = spec(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}}
            ]}}}),
        );
        assert_eq!(
            picked(&prefers_b, &[&using(&a, &idle), &using(&b, &busy)]).as_deref(),
            Some("b")
        );
        let soft = node(
            "a",
            json!({"spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"}]}}),
        );
        assert_eq!(
            picked(&plain, &[&using(&soft, &idle), &using(&b, &busy)]).as_deref(),
            Some("b")
        );
        assert_eq!(picked(&plain, &[]), None);
    }

    #[test]
    fn least_allocated_prefers_emptier_nodes() {
        let n = node("n1", json!({}));
        let s = spec(json!({}));
        let mut busy = Usage::default();
        busy.add(&req(&s));
        assert!(score(&req(&s), &n) > score(&req(&s), &using(&n, &busy)));
    }

    #[test]
    fn prefilter_error_names_the_reason_once() {
        assert_eq!(
            prefilter_error(3, "pod has unbound immediate PersistentVolumeClaims"),
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn fit_error_matches_upstream_format() {
        let hard = Rejection::hard(REASON_AFFINITY);
        assert_eq!(
            fit_error(3, &[hard.clone(), hard.clone(), hard]),
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        let cpu = Rejection {
            reasons: vec!["Insufficient cpu".into()],
            resolvable: true,
        };
        assert_eq!(
            fit_error(2, &[cpu, Rejection::hard(REASON_UNSCHEDULABLE)]),
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. \
             preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, \
             1 Preemption is not helpful for scheduling."
        );
    }
}
