//! The local APIServices kube-apiserver registers for its own group-versions
//! (`v1.`, `v1.apps`, `v2.autoscaling`, ...): `kubectl get apiservices`
//! lists them as `Local` and `True`, beside those users add for aggregated
//! APIs (metrics-server and the like). Group-versions served by CRDs get one
//! too while a CRD serves them (upstream's crdregistration controller).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::registry::{meta, Action, DeleteOptions, ListOptions, Registry, WriteOptions};
use crate::state::AppState;

/// Label upstream puts on the APIServices it registers: `onstart` for the
/// server's own group-versions, `true` for those it keeps in sync with CRDs.
const AUTOMANAGED: &str = "kube-aggregator.kubernetes.io/automanaged";
const ONSTART: &str = "onstart";
const SYNCED: &str = "true";

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
    service_of(group, version, group_min, version_prio, ONSTART)
}

/// The APIService of a group-version served by CRDs: low group priority,
/// and one version priority so that versions sort as Kubernetes versions.
fn custom(group: &str, version: &str) -> Value {
    service_of(group, version, 1000, 100, SYNCED)
}

fn service_of(group: &str, version: &str, group_min: i64, version_prio: i64, label: &str) -> Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {
            "name": format!("{version}.{group}"),
            "labels": {AUTOMANAGED: label},
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
    let registry = apiservices(state)?;
    for group in crate::resources::groups() {
        for version in group.versions {
            ensure(&registry, local(group.name, version)).await?;
        }
    }
    Ok(())
}

/// The group-versions of every served version of `crds`, except those the
/// server has built in (upstream leaves those to their own registration).
pub fn custom_group_versions<'a>(
    crds: impl Iterator<Item = &'a Value>,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for crd in crds {
        let Some(group) = crd.pointer("/spec/group").and_then(Value::as_str) else {
            continue;
        };
        let versions = crd.pointer("/spec/versions").and_then(Value::as_array);
        for v in versions.into_iter().flatten() {
            let Some(version) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            let built_in =
                crate::resources::group(group).is_some_and(|g| g.versions.contains(&version));
            if v["served"] == true && !built_in {
                out.insert((group.to_string(), version.to_string()));
            }
        }
    }
    out
}

/// Makes the APIServices of CRD group-versions match `wanted`: creates the
/// missing ones as local and available, and deletes those registered for
/// CRDs (label `true`) that no CRD serves any longer. APIServices users
/// created themselves for such a group-version are left as they are.
pub async fn sync_custom(state: &AppState, wanted: &BTreeSet<(String, String)>) -> ApiResult<()> {
    let registry = apiservices(state)?;
    let existing = registry.list(None, &ListOptions::default()).await?.items;
    let mut present = BTreeSet::new();
    for svc in &existing {
        let spec = &svc["spec"];
        let gv = (
            spec["group"].as_str().unwrap_or_default().to_string(),
            spec["version"].as_str().unwrap_or_default().to_string(),
        );
        let ours = svc
            .pointer("/metadata/labels")
            .and_then(|l| l.get(AUTOMANAGED))
            == Some(&Value::from(SYNCED));
        if ours && spec.get("service").is_none_or(Value::is_null) && !wanted.contains(&gv) {
            match registry
                .delete(None, meta::name(svc), &DeleteOptions::default())
                .await
            {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        present.insert(gv);
    }
    for (group, version) in wanted.difference(&present) {
        ensure(&registry, custom(group, version)).await?;
    }
    Ok(())
}

fn apiservices(state: &AppState) -> ApiResult<Registry> {
    crate::resources::lookup("apiregistration.k8s.io", "v1", "apiservices")
        .map(|info| Registry::new(state.store.clone(), info))
        .ok_or_else(|| ApiError::internal("apiservices are not a known resource"))
}

/// Creates `service` unless one of its name exists, and marks it available.
async fn ensure(registry: &Registry, service: Value) -> ApiResult<()> {
    let name = meta::name(&service).to_string();
    if registry.current(None, &name).await?.is_none() {
        let opts = WriteOptions {
            field_manager: "kube-apiserver".into(),
            ..Default::default()
        };
        match registry.create(None, service, &opts).await {
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
            let local = old.pointer("/spec/service").is_none_or(Value::is_null);
            let available = old
                .pointer("/status/conditions/0/status")
                .and_then(Value::as_str)
                == Some("True");
            if !local || available {
                return Ok(Action::Noop);
            }
            let mut new = old.clone();
            new["status"] = available_status();
            Ok(Action::Put(new))
        })
        .await?;
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

    #[test]
    fn custom_group_versions_are_served_ones_outside_built_in_groups() {
        let crd =
            |group: &str, versions: Value| json!({"spec": {"group": group, "versions": versions}});
        let crds = [
            crd(
                "stable.example.com",
                json!([{"name": "v1", "served": true}, {"name": "v2", "served": false}]),
            ),
            crd(
                "stable.example.com",
                json!([{"name": "v1beta1", "served": true}]),
            ),
            crd(
                "apps",
                json!([{"name": "v1", "served": true}, {"name": "v9", "served": true}]),
            ),
        ];
        let gvs: Vec<(String, String)> = custom_group_versions(crds.iter()).into_iter().collect();
        let want = [
            ("apps", "v9"),
            ("stable.example.com", "v1"),
            ("stable.example.com", "v1beta1"),
        ];
        assert_eq!(gvs, want.map(|(g, v)| (g.to_string(), v.to_string())));
        let svc = custom("stable.example.com", "v1");
        assert_eq!(svc["metadata"]["name"], "v1.stable.example.com");
        assert_eq!(svc["metadata"]["labels"][AUTOMANAGED], "true");
        assert_eq!(svc["spec"]["groupPriorityMinimum"], 1000);
        assert_eq!(svc["spec"]["versionPriority"], 100);
    }
}
