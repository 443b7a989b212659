//! RollingUpdate of a DaemonSet (upstream `update.go` `rollingUpdate`):
//! without surge, delete old pods while fewer than `maxUnavailable` nodes are
//! unavailable (the manage step then creates their replacements); with
//! surge, start new pods beside available old ones (at most `maxSurge` at a
//! time) and delete each old pod once its replacement is available.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::placement;
use crate::podutil;

/// What the rolling update wants done: pods to delete, nodes to start a
/// new pod on.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub delete: Vec<String>,
    pub create_on: Vec<String>,
}

/// `GetScaledValueFromIntOrPercent` rounding up, as `UnavailableCount` and
/// `SurgeCount` do.
pub fn scaled(v: Option<&IntOrString>, total: i32) -> i32 {
    match v {
        None => 0,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let pct = s.trim_end_matches('%').parse::<i64>().unwrap_or(0);
            i32::try_from((pct * i64::from(total) + 99) / 100).unwrap_or(i32::MAX)
        }
    }
}

/// `findUpdatedPodsOnNode`: at most one new and one old live pod, or None.
fn split<'a>(
    pods: &'a [Pod],
    is_new: &dyn Fn(&Pod) -> bool,
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for p in pods.iter().filter(|p| !podutil::is_terminating(p)) {
        let slot = if is_new(p) { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(p);
    }
    Some((new, old))
}

pub fn plan(
    ds: &DaemonSet,
    nodes: &[Node],
    by_node: &BTreeMap<String, Vec<Pod>>,
    is_new: &dyn Fn(&Pod) -> bool,
    now: jiff::Timestamp,
) -> Plan {
    let Some(spec) = ds.spec.as_ref() else {
        return Plan::default();
    };
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let available = |p: &Pod| podutil::is_available(p, min_ready, now);
    let should_run = |name: &str| {
        nodes
            .iter()
            .find(|n| n.name_any() == name)
            .is_some_and(|n| {
                placement::should_run(n, &spec.template.spec.clone().unwrap_or_default()).0
            })
    };
    // Every node that should run a pod takes part, with or without pods.
    let mut all: BTreeMap<String, &[Pod]> = by_node
        .iter()
        .map(|(n, p)| (n.clone(), p.as_slice()))
        .collect();
    let mut desired = 0;
    for n in nodes {
        if should_run(&n.name_any()) {
            desired += 1;
            all.entry(n.name_any()).or_insert(&[]);
        }
    }
    let ru = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref());
    let mut max_unavailable = scaled(ru.and_then(|r| r.max_unavailable.as_ref()), desired);
    let max_surge = scaled(ru.and_then(|r| r.max_surge.as_ref()), desired);
    if desired > 0 && max_unavailable == 0 && max_surge == 0 {
        max_unavailable = 1;
    }
    let mut plan = Plan::default();
    if max_surge == 0 {
        let mut unavailable = 0;
        let mut replace = Vec::new();
        let mut candidates = Vec::new();
        for pods in all.values() {
            let Some((new, old)) = split(pods, is_new) else {
                unavailable += 1;
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(new), None) => {
                    if !available(new) {
                        unavailable += 1;
                    }
                }
                (None, Some(old)) => {
                    if !available(old) {
                        replace.push(old.name_any());
                        unavailable += 1;
                    } else if unavailable < max_unavailable {
                        candidates.push(old.name_any());
                    }
                }
            }
        }
        let room = usize::try_from((max_unavailable - unavailable).max(0)).unwrap_or(0);
        plan.delete = replace;
        plan.delete.extend(candidates.into_iter().take(room));
        return plan;
    }
    let (mut surge, mut num_available) = (0, 0);
    let mut allowed = Vec::new();
    let mut candidates = Vec::new();
    let mut leaving = Vec::new();
    for (node, pods) in &all {
        let Some((new, old)) = split(pods, is_new) else {
            surge += 1;
            continue;
        };
        if let Some(p) = old.or(new) {
            if available(p) {
                num_available += 1;
            }
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) => {
                if !available(old) {
                    if should_run(node) {
                        allowed.push(node.clone());
                    } else {
                        plan.delete.push(old.name_any());
                    }
                } else if !should_run(node) {
                    leaving.push(old.name_any());
                } else if surge < max_surge {
                    candidates.push(node.clone());
                }
            }
            (Some(new), Some(old)) => {
                if available(new) {
                    plan.delete.push(old.name_any());
                } else {
                    surge += 1;
                }
            }
        }
    }
    let deletable = usize::try_from(num_available - desired).unwrap_or(0);
    plan.delete.extend(leaving.into_iter().take(deletable));
    let room = usize::try_from((max_surge - surge).max(0)).unwrap_or(0);
    plan.create_on = allowed;
    plan.create_on.extend(candidates.into_iter().take(room));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(strategy: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": strategy}
            }
        }))
        .expect("ds")
    }

    fn node(n: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": n}})).expect("node")
    }

    fn pod(name: &str, rev: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"controller-revision-hash": rev}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .expect("pod")
    }

    fn setup(pods: &[(&str, &str, &str, bool)]) -> (Vec<Node>, BTreeMap<String, Vec<Pod>>) {
        let mut nodes = Vec::new();
        let mut by = BTreeMap::<String, Vec<Pod>>::new();
        for (n, p, rev, ready) in pods {
            if !nodes.iter().any(|x: &Node| x.name_any() == *n) {
                nodes.push(node(n));
            }
            by.entry(n.to_string())
                .or_default()
                .push(pod(p, rev, *ready));
        }
        (nodes, by)
    }

    fn is_new(p: &Pod) -> bool {
        p.labels()
            .get("controller-revision-hash")
            .map(String::as_str)
            == Some("new")
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled(Some(&IntOrString::String("10%".into())), 3), 1);
        assert_eq!(scaled(Some(&IntOrString::String("50%".into())), 3), 2);
        assert_eq!(scaled(Some(&IntOrString::Int(2)), 3), 2);
        assert_eq!(scaled(None, 3), 0);
    }

    #[test]
    fn max_unavailable_limits_deletions() {
        let now = jiff::Timestamp::now();
        let (nodes, by) = setup(&[
            ("a", "pa", "old", true),
            ("b", "pb", "old", true),
            ("c", "pc", "old", true),
        ]);
        let p = plan(
            &ds(json!({"maxUnavailable": 1, "maxSurge": 0})),
            &nodes,
            &by,
            &is_new,
            now,
        );
        assert_eq!(p.delete.len(), 1);
        assert!(p.create_on.is_empty());
        let p = plan(
            &ds(json!({"maxUnavailable": 2, "maxSurge": 0})),
            &nodes,
            &by,
            &is_new,
            now,
        );
        assert_eq!(p.delete.len(), 2);
        // A new pod that is not ready yet uses up the budget.
        let (nodes, by) = setup(&[("a", "pa", "new", false), ("b", "pb", "old", true)]);
        let p = plan(
            &ds(json!({"maxUnavailable": 1, "maxSurge": 0})),
            &nodes,
            &by,
            &is_new,
            now,
        );
        assert_eq!(p, Plan::default());
        // An unavailable old pod is always replaced.
        let (nodes, by) = setup(&[("a", "pa", "new", false), ("b", "pb", "old", false)]);
        let p = plan(
            &ds(json!({"maxUnavailable": 1, "maxSurge": 0})),
            &nodes,
            &by,
            &is_new,
            now,
        );
        assert_eq!(p.delete, vec!["pb".to_string()]);
    }

    #[test]
    fn surge_starts_new_pods_first() {
        let now = jiff::Timestamp::now();
        let (nodes, by) = setup(&[("a", "pa", "old", true), ("b", "pb", "old", true)]);
        let p = plan(
            &ds(json!({"maxUnavailable": 0, "maxSurge": 1})),
            &nodes,
            &by,
            &is_new,
            now,
        );
        assert_eq!(p.create_on.len(), 1);
        assert!(p.delete.is_empty());
        let mut by2 = by.clone();
        by2.entry("a".into())
            .or_default()
            .push(pod("pa2", "new", true));
        let p = plan(
            &ds(json!({"maxUnavailable": 0, "maxSurge": 1})),
            &nodes,
            &by2,
            &is_new,
            now,
        );
        assert_eq!(p.delete, vec!["pa".to_string()]);
        assert_eq!(p.create_on, vec!["b".to_string()]);
    }
}
