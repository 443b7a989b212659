//! Which nodes a DaemonSet runs on (upstream `NodeShouldRunDaemonPod` and
//! `pkg/controller/daemon/util`): the template's nodeName, nodeSelector and
//! required node affinity must fit the node, and its taints must be
//! tolerated. The controller adds the default daemon tolerations, and pins
//! each pod to its node with a `metadata.name` matchFields affinity term so
//! that the scheduler binds it there.

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Taint, Toleration,
};
use kube::ResourceExt;

/// The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`).
pub fn add_default_tolerations(spec: &mut PodSpec) {
    let mut add = |key: &str, effect: &str| {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        let list = spec.tolerations.get_or_insert_with(Vec::new);
        match list.iter_mut().find(|x| {
            x.key == t.key
                && x.effect == t.effect
                && x.operator.as_deref().unwrap_or("Equal") == "Exists"
        }) {
            Some(existing) => *existing = t,
            None => list.push(t),
        }
    };
    add("node.kubernetes.io/not-ready", "NoExecute");
    add("node.kubernetes.io/unreachable", "NoExecute");
    add("node.kubernetes.io/disk-pressure", "NoSchedule");
    add("node.kubernetes.io/memory-pressure", "NoSchedule");
    add("node.kubernetes.io/pid-pressure", "NoSchedule");
    add("node.kubernetes.io/unschedulable", "NoSchedule");
    if spec.host_network == Some(true) {
        add("node.kubernetes.io/network-unavailable", "NoSchedule");
    }
}

/// `(shouldRun, shouldContinueRunning)` for a pod of `spec` on `node`.
pub fn should_run(node: &Node, spec: &PodSpec) -> (bool, bool) {
    let mut spec = spec.clone();
    add_default_tolerations(&mut spec);
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        if n != node.name_any() {
            return (false, false);
        }
    }
    if !fits_node_selector(node, &spec) || !fits_required_affinity(node, &spec) {
        return (false, false);
    }
    let taints: &[Taint] = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[]);
    let tolerations = spec.tolerations.as_deref().unwrap_or(&[]);
    let untolerated = |effects: &[&str]| {
        taints
            .iter()
            .filter(|t| effects.contains(&t.effect.as_str()))
            .any(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
    };
    if untolerated(&["NoSchedule", "NoExecute"]) {
        // A running pod may stay unless a NoExecute taint evicts it.
        return (false, !untolerated(&["NoExecute"]));
    }
    (true, true)
}

/// `Toleration.ToleratesTaint`.
pub fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = tol.effect.as_deref().filter(|e| !e.is_empty()) {
        if e != taint.effect {
            return false;
        }
    }
    let key = tol.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match tol.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            !key.is_empty()
                && tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

fn fits_node_selector(node: &Node, spec: &PodSpec) -> bool {
    let labels = node.labels();
    spec.node_selector
        .as_ref()
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn required_terms(spec: &PodSpec) -> Option<&[NodeSelectorTerm]> {
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .map(|s| s.node_selector_terms.as_slice())
}

/// Required node affinity: any term matches (a term with no requirements
/// matches nothing, as upstream).
fn fits_required_affinity(node: &Node, spec: &PodSpec) -> bool {
    let Some(terms) = required_terms(spec) else {
        return true;
    };
    terms.iter().any(|t| term_matches(node, t))
}

fn term_matches(node: &Node, term: &NodeSelectorTerm) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node.labels();
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name" && requirement_matches(r, Some(node.name_any().as_str()))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|s| number(s)),
            ) else {
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

/// The node a daemon pod is meant for: its `nodeName`, or the node its
/// `metadata.name` matchFields affinity names (`GetTargetNodeName`).
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    let terms = required_terms(spec)?;
    terms.iter().find_map(|t| {
        t.match_fields.as_ref()?.iter().find_map(|r| {
            let values = r.values.as_deref()?;
            (r.key == "metadata.name" && r.operator == "In" && values.len() == 1)
                .then(|| values[0].clone())
        })
    })
}

/// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required terms become one
/// term selecting the node by name; preferred terms are kept.
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.to_string()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints}
        }))
        .expect("node")
    }

    fn spec(v: serde_json::Value) -> PodSpec {
        let mut base = json!({"containers": [{"name": "c", "image": "i"}]});
        if let (Some(b), Some(extra)) = (base.as_object_mut(), v.as_object()) {
            b.extend(extra.clone());
        }
        serde_json::from_value(base).expect("spec")
    }

    #[test]
    fn taints_need_tolerations() {
        let plain = node("a", json!({}), json!([]));
        let tainted = node(
            "b",
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        );
        let evicting = node(
            "c",
            json!({}),
            json!([{"key": "dedicated", "effect": "NoExecute"}]),
        );
        let s = spec(json!({}));
        assert_eq!(should_run(&plain, &s), (true, true));
        assert_eq!(should_run(&tainted, &s), (false, true));
        assert_eq!(should_run(&evicting, &s), (false, false));
        let tolerant = spec(
            json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]}),
        );
        assert_eq!(should_run(&tainted, &tolerant), (true, true));
        let wrong_value = spec(json!({"tolerations": [{"key": "dedicated", "value": "web"}]}));
        assert!(!should_run(&tainted, &wrong_value).0);
        let everything = spec(json!({"tolerations": [{"operator": "Exists"}]}));
        assert_eq!(should_run(&evicting, &everything), (true, true));
    }

    #[test]
    fn default_tolerations_cover_node_conditions() {
        let unschedulable = node(
            "a",
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        let not_ready = node(
            "b",
            json!({}),
            json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
        );
        let network = node(
            "c",
            json!({}),
            json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]),
        );
        let s = spec(json!({}));
        assert_eq!(should_run(&unschedulable, &s), (true, true));
        assert_eq!(should_run(&not_ready, &s), (true, true));
        assert!(!should_run(&network, &s).0);
        assert!(should_run(&network, &spec(json!({"hostNetwork": true}))).0);
        let mut with = s.clone();
        add_default_tolerations(&mut with);
        add_default_tolerations(&mut with);
        assert_eq!(with.tolerations.as_ref().map(Vec::len), Some(6));
    }

    #[test]
    fn selectors_and_affinity() {
        let ssd = node("a", json!({"disk": "ssd", "cores": "8"}), json!([]));
        let hdd = node("b", json!({"disk": "hdd"}), json!([]));
        let by_label = spec(json!({"nodeSelector": {"disk": "ssd"}}));
        assert!(should_run(&ssd, &by_label).0);
        assert_eq!(should_run(&hdd, &by_label), (false, false));
        let aff = |exprs: serde_json::Value| {
            spec(json!({"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": exprs}]}
            }}}))
        };
        assert!(
            should_run(
                &ssd,
                &aff(json!([{"key": "cores", "operator": "Gt", "values": ["4"]}]))
            )
            .0
        );
        assert!(
            !should_run(
                &hdd,
                &aff(json!([{"key": "cores", "operator": "Gt", "values": ["4"]}]))
            )
            .0
        );
        assert!(
            should_run(
                &hdd,
                &aff(json!([{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]))
            )
            .0
        );
        assert!(!should_run(&hdd, &aff(json!([{"key": "gpu", "operator": "Exists"}]))).0);
        let named = spec(json!({"nodeName": "a"}));
        assert!(should_run(&ssd, &named).0);
        assert_eq!(should_run(&hdd, &named), (false, false));
    }

    #[test]
    fn pinning_names_the_node() {
        let mut s = spec(json!({"affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "Exists"}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}]
        }}}));
        pin_to_node(&mut s, "node-7");
        let pod = Pod {
            spec: Some(s.clone()),
            ..Default::default()
        };
        assert_eq!(target_node(&pod).as_deref(), Some("node-7"));
        let na = s
            .affinity
            .and_then(|a| a.node_affinity)
            .expect("node affinity");
        assert_eq!(
            na.preferred_during_scheduling_ignored_during_execution
                .map(|p| p.len()),
            Some(1)
        );
        let terms = na
            .required_during_scheduling_ignored_during_execution
            .expect("required")
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        assert!(terms[0].match_expressions.is_none());
        let bound = Pod {
            spec: Some(spec(json!({"nodeName": "n1"}))),
            ..Default::default()
        };
        assert_eq!(target_node(&bound).as_deref(), Some("n1"));
    }
}
