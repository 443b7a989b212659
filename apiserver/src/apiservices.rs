//! The local APIServices kube-apiserver registers for its own group-versions
//! (`v1.`, `v1.apps`, `v2.autoscaling`, ...): `kubectl get apiservices`
//! lists them as `Local` and `True`, beside those users add for aggregated
//! APIs (metrics-server and the like).

use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::registry::{meta, Action, Registry, WriteOptions};
use crate::state::AppState;

/// Label upstream puts on the APIServices it registers at start-up.
const AUTOMANAGED: &str = "kube-aggregator.kubernetes.io/automanaged";

/// Upstream's group and version priorities for the group-versions served
/// here (kube-apiserver's `DefaultGenericAPIServicePriorities`).
fn priorities(group: &str, version: &str) -> (i64, i64) {
    let group_min = match group {
        "" | "apiregistration.k8s.io" => 18000,
        "apps" => 17800,
        "events.k8s.io" => 17750,
        "authentication.k8s.io" => 17700,
        "authorization.k8s.io" => 17600,
        "autoscaling" => 17500,
        "batch" => 17400,
        "certificates.k8s.io" => 17300,
        "networking.k8s.io" => 17200,
        "policy" => 17100,
        "rbac.authorization.k8s.io" => 17000,
        "storage.k8s.io" => 16800,
        "apiextensions.k8s.io" | "admissionregistration.k8s.io" => 16700,
        "scheduling.k8s.io" => 16600,
        "coordination.k8s.io" => 16500,
        "node.k8s.io" => 16300,
        "discovery.k8s.io" => 16200,
        _ => 15000,
    };
    let version_prio = match (group, version) {
        ("", _) => 1,
        ("autoscaling", "v2") => 30,
        _ => 15,
    };
    (group_min, version_prio)
}

/// The APIService registering `group/version` as served locally.
fn local(group: &str, version: &str) -> Value {
    let (group_min, version_prio) = priorities(group, version);
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {
            "name": format!("{version}.{group}"),
            "labels": {AUTOMANAGED: "onstart"},
        },
        "spec": {
            "group": group,
            "version": version,
            "groupPriorityMinimum": group_min,
            "versionPriority": version_prio,
        },
    })
}

fn available_status() -> Value {
    json!({"conditions": [{
        "type": "Available",
        "status": "True",
        "reason": "Local",
        "message": "Local APIServices are always available",
        "lastTransitionTime": meta::now(),
    }]})
}

/// Registers the local APIServices in the background, as upstream's
/// autoregistration does (readiness does not wait for them); retried until
/// it succeeds.
pub fn start(state: Arc<AppState>) {
    tokio::spawn(async move {
        while let Err(e) = register_local(&state).await {
            tracing::debug!(error = %e.message, "registering local APIServices; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

/// Creates the local APIServices that are missing and marks them available.
async fn register_local(state: &AppState) -> ApiResult<()> {
    let Some(info) = crate::resources::lookup("apiregistration.k8s.io", "v1", "apiservices") else {
        return Ok(());
    };
    let registry = Registry::new(state.store.clone(), info);
    let opts = WriteOptions {
        field_manager: "kube-apiserver".into(),
        ..Default::default()
    };
    for group in crate::resources::groups() {
        for version in group.versions {
            let name = format!("{version}.{}", group.name);
            if registry.current(None, &name).await?.is_none() {
                match registry
                    .create(None, local(group.name, version), &opts)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.reason == "AlreadyExists" => {}
                    Err(e) => return Err(e),
                }
            }
            registry
                .update_with(None, &name, false, |old| {
                    let Some(old) = old else {
                        return Ok(Action::Noop);
                    };
                    let available = old
                        .pointer("/status/conditions/0/status")
                        .and_then(Value::as_str)
                        == Some("True");
                    if available {
                        return Ok(Action::Noop);
                    }
                    let mut new = old.clone();
                    new["status"] = available_status();
                    Ok(Action::Put(new))
                })
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_priorities() {
        let core = local("", "v1");
        assert_eq!(core["metadata"]["name"], "v1.");
        assert_eq!(core["spec"]["groupPriorityMinimum"], 18000);
        assert_eq!(core["spec"]["versionPriority"], 1);
        let hpa = local("autoscaling", "v2");
        assert_eq!(hpa["metadata"]["name"], "v2.autoscaling");
        assert_eq!(hpa["spec"]["versionPriority"], 30);
    }
}
