//! `spec.podFailurePolicy` (upstream `pod_failure_policy.go`): the first
//! rule matching a failed pod's exit codes or conditions decides whether the
//! failure fails the Job, is ignored, or counts toward `backoffLimit`.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

/// What a failed pod means for its Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fail the Job with this message.
    FailJob(String),
    /// Not a failure: neither counted nor held against the back-off limit.
    Ignore,
    /// An ordinary failure.
    Count,
}

/// The first non-zero exit code of a container the rule matches.
fn exit_code_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<(String, i32)> {
    let req = rule.on_exit_codes.as_ref()?;
    let status = pod.status.as_ref()?;
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in containers {
        if req.container_name.as_ref().is_some_and(|n| *n != c.name) {
            continue;
        }
        let Some(code) = c
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(|t| t.exit_code)
        else {
            continue;
        };
        if code == 0 {
            continue;
        }
        let listed = req.values.contains(&code);
        let hit = match req.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        if hit {
            return Some((c.name.clone(), code));
        }
    }
    None
}

fn condition_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<String> {
    let patterns = rule.on_pod_conditions.as_ref()?;
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    patterns.iter().find_map(|p| {
        let want = if p.status.is_empty() {
            "True"
        } else {
            p.status.as_str()
        };
        conds
            .iter()
            .any(|c| c.type_ == p.type_ && c.status == want)
            .then(|| p.type_.clone())
    })
}

/// Judge a failed pod by the policy.
pub fn judge(policy: &PodFailurePolicy, pod: &Pod) -> Verdict {
    let who = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
    for (i, rule) in policy.rules.iter().enumerate() {
        let action = rule.action.as_str();
        let described = if let Some((container, code)) = exit_code_match(rule, pod) {
            format!(
                "Container {container} for pod {who} failed with exit code {code} matching {action} rule at index {i}"
            )
        } else if let Some(cond) = condition_match(rule, pod) {
            format!("Pod {who} has condition {cond} matching {action} rule at index {i}")
        } else {
            continue;
        };
        return match action {
            "FailJob" => Verdict::FailJob(described),
            "Ignore" => Verdict::Ignore,
            _ => Verdict::Count,
        };
    }
    Verdict::Count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PodFailurePolicy {
        serde_json::from_value(serde_json::json!({"rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}}
        ]}))
        .expect("policy")
    }

    fn failed_pod(code: i32, conditions: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "status": {
                "phase": "Failed",
                "conditions": conditions,
                "containerStatuses": [{"name": "main", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code}}}]
            }
        }))
        .expect("pod")
    }

    #[test]
    fn first_matching_rule_decides() {
        assert_eq!(
            judge(&policy(), &failed_pod(42, serde_json::json!([]))),
            Verdict::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0".into()
            )
        );
        let disrupted = serde_json::json!([{"type": "DisruptionTarget", "status": "True"}]);
        assert_eq!(judge(&policy(), &failed_pod(1, disrupted)), Verdict::Ignore);
        assert_eq!(
            judge(&policy(), &failed_pod(3, serde_json::json!([]))),
            Verdict::Count
        );
        assert_eq!(
            judge(&policy(), &failed_pod(1, serde_json::json!([]))),
            Verdict::Count
        );
    }
}
