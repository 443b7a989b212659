//! `spec.successPolicy` of Indexed Jobs (upstream `success_policy.go`): the
//! Job succeeds early once a rule's indexes, or enough of them, succeeded.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::SuccessPolicy;

use super::indexes;

/// The message of the first rule that the succeeded indexes satisfy.
pub fn matched(
    policy: &SuccessPolicy,
    completions: i32,
    succeeded: &BTreeSet<i32>,
) -> Option<String> {
    policy.rules.iter().enumerate().find_map(|(i, rule)| {
        let met = match (&rule.succeeded_indexes, rule.succeeded_count) {
            (Some(wanted), count) => {
                let wanted = indexes::parse(wanted, completions);
                let done = wanted.intersection(succeeded).count();
                match count {
                    Some(n) => i32::try_from(done).is_ok_and(|d| d >= n),
                    None => done == wanted.len(),
                }
            }
            (None, Some(n)) => i32::try_from(succeeded.len()).is_ok_and(|d| d >= n),
            (None, None) => false,
        };
        met.then(|| format!("Matched rules at index {i}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: serde_json::Value) -> SuccessPolicy {
        serde_json::from_value(serde_json::json!({ "rules": rules })).expect("policy")
    }

    #[test]
    fn rules_by_indexes_and_by_count() {
        let done = BTreeSet::from([0, 2, 3]);
        let p = policy(serde_json::json!([{"succeededIndexes": "0-1"}, {"succeededCount": 3}]));
        assert_eq!(
            matched(&p, 5, &done),
            Some("Matched rules at index 1".into())
        );
        let p = policy(serde_json::json!([{"succeededIndexes": "2-4", "succeededCount": 2}]));
        assert_eq!(
            matched(&p, 5, &done),
            Some("Matched rules at index 0".into())
        );
        let p = policy(serde_json::json!([{"succeededIndexes": "1,4"}]));
        assert_eq!(matched(&p, 5, &done), None);
    }
}
