//! The status a ReplicaSet reports: how many of its pods exist, carry the
//! template's labels, are ready and available, and the `ReplicaFailure`
//! condition while creating or deleting pods fails.

use std::cmp::Ordering;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::rank::{is_available, is_ready};
use crate::util::now;

#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Status {
    pub(super) replicas: i32,
    #[serde(rename = "fullyLabeledReplicas")]
    fully_labeled: i32,
    #[serde(rename = "readyReplicas")]
    pub(super) ready: i32,
    #[serde(rename = "availableReplicas")]
    pub(super) available: i32,
    #[serde(rename = "observedGeneration")]
    observed_generation: i64,
    /// `None` serializes as `null`, which a merge patch reads as "remove".
    conditions: Option<Vec<ReplicaSetCondition>>,
}

pub(super) fn compute_status(
    rs: &ReplicaSet,
    pods: &[Arc<Pod>],
    manage_err: Option<&str>,
    diff: Ordering,
) -> Status {
    let at = jiff::Timestamp::now();
    let spec = rs.spec.as_ref();
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| pods.iter().filter(|p| f(p)).count() as i32;
    let fully_labeled = count(&|p| {
        let labels = p.labels();
        template_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    });
    let mut conditions: Vec<ReplicaSetCondition> = rs
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let existing = conditions.iter().position(|c| c.type_ == "ReplicaFailure");
    match (manage_err, existing) {
        (Some(msg), None) => conditions.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(
                if diff == Ordering::Less {
                    "FailedCreate"
                } else {
                    "FailedDelete"
                }
                .into(),
            ),
            message: Some(msg.to_string()),
            last_transition_time: Some(now()),
        }),
        (None, Some(i)) => {
            conditions.remove(i);
        }
        _ => {}
    }
    Status {
        replicas: pods.len() as i32,
        fully_labeled,
        ready: count(&is_ready),
        available: count(&|p| is_available(p, min_ready, at)),
        observed_generation: rs.metadata.generation.unwrap_or(0),
        conditions: (!conditions.is_empty()).then_some(conditions),
    }
}

pub(super) fn status_changed(rs: &ReplicaSet, s: &Status) -> bool {
    let Some(cur) = rs.status.as_ref() else {
        return true;
    };
    cur.replicas != s.replicas
        || cur.fully_labeled_replicas.unwrap_or(0) != s.fully_labeled
        || cur.ready_replicas.unwrap_or(0) != s.ready
        || cur.available_replicas.unwrap_or(0) != s.available
        || cur.observed_generation.unwrap_or(0) != s.observed_generation
        || cur.conditions.as_ref().filter(|c| !c.is_empty()) != s.conditions.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::rank::tests::pod;

    #[test]
    fn create_errors_show_as_a_replica_failure_condition_until_they_stop() {
        let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "r", "generation": 2},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "r"}},
                     "template": {"metadata": {"labels": {"app": "r", "tier": "t"}}}}
        }))
        .expect("rs");
        let mut p = pod("p", "n", "Running", true, 5);
        p.metadata.labels = Some([("app".to_string(), "r".to_string())].into());
        let failing = compute_status(
            &rs,
            &[Arc::new(p.clone())],
            Some("quota exceeded"),
            Ordering::Less,
        );
        let cond = &failing.conditions.as_ref().expect("conditions")[0];
        assert_eq!(cond.type_, "ReplicaFailure");
        assert_eq!(cond.status, "True");
        assert_eq!(cond.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(cond.message.as_deref(), Some("quota exceeded"));
        assert_eq!(
            (failing.replicas, failing.ready, failing.fully_labeled),
            (1, 1, 0)
        );
        assert_eq!(failing.observed_generation, 2);

        let mut rs = rs;
        rs.status = Some(k8s_openapi::api::apps::v1::ReplicaSetStatus {
            conditions: failing.conditions.clone(),
            ..Default::default()
        });
        let healed = compute_status(&rs, &[Arc::new(p)], None, Ordering::Equal);
        assert!(healed.conditions.is_none());
        assert!(status_changed(&rs, &healed));
        // `null` removes the conditions in a merge patch.
        assert_eq!(
            serde_json::to_value(&healed).expect("json")["conditions"],
            serde_json::Value::Null
        );
    }
}
