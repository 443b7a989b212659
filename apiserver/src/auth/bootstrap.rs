//! The default RBAC policy (upstream's `rbac/bootstrap-roles` post-start
//! hook): ClusterRoles and ClusterRoleBindings created at start when
//! missing, and the ClusterRole aggregation (upstream's
//! `clusterrole-aggregation` controller) that fills `admin`, `edit`, `view`
//! and any role with an `aggregationRule` from the roles its selectors pick.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::rbac::{Rule, GROUP};
use crate::error::{ApiError, ApiResult};
use crate::registry::{Action, Registry, WriteOptions};
use crate::selectors::LabelSelector;
use crate::state::AppState;

const POLICY: &str = include_str!("bootstrap-policy.yaml");
const BOOTSTRAPPING_LABEL: &str = "kubernetes.io/bootstrapping";
const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";
const AGGREGATION_MANAGER: &str = "clusterrole-aggregation-controller";

/// The default objects, as `(plural, kind, object)`.
pub fn default_objects() -> ApiResult<Vec<(&'static str, Value)>> {
    let doc: Value = serde_saphyr::from_str(POLICY)
        .map_err(|e| ApiError::internal(format!("bootstrap policy: {e}")))?;
    let mut out = Vec::new();
    for (field, plural, kind) in [
        ("clusterRoles", "clusterroles", "ClusterRole"),
        (
            "clusterRoleBindings",
            "clusterrolebindings",
            "ClusterRoleBinding",
        ),
    ] {
        for item in doc
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut obj = item.clone();
            obj["apiVersion"] = json!(format!("{GROUP}/v1"));
            obj["kind"] = json!(kind);
            let meta = &mut obj["metadata"];
            meta["labels"][BOOTSTRAPPING_LABEL] = json!("rbac-defaults");
            meta["annotations"][AUTOUPDATE_ANNOTATION] = json!("true");
            out.push((plural, obj));
        }
    }
    Ok(out)
}

fn registry(state: &AppState, plural: &str) -> ApiResult<Registry> {
    let info = crate::resources::lookup(GROUP, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not a known resource")))?;
    Ok(Registry::new(state.store.clone(), info))
}

/// Creates the default roles and bindings that are missing (existing ones,
/// even edited, are left alone), then aggregates once.
pub async fn ensure(state: &AppState) -> ApiResult<()> {
    let opts = WriteOptions {
        field_manager: "kube-apiserver".into(),
        ..Default::default()
    };
    let objects = default_objects()?;
    let creates = objects.into_iter().map(|(plural, obj)| {
        let opts = &opts;
        async move {
            let registry = registry(state, plural)?;
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if registry.current(None, &name).await?.is_some() {
                return Ok(());
            }
            match registry.create(None, obj, opts).await {
                Ok(_) => Ok(()),
                Err(e) if e.reason == "AlreadyExists" => Ok(()),
                Err(e) => Err(e),
            }
        }
    });
    for r in futures::future::join_all(creates).await {
        r?;
    }
    let roles = registry(state, "clusterroles")?;
    let current = roles
        .list(None, &Default::default())
        .await?
        .items
        .into_iter()
        .map(Arc::new)
        .collect::<Vec<_>>();
    write_aggregated(&roles, &current).await
}

/// The rules every aggregated ClusterRole should have, given all cluster
/// roles: `(name, rules)` for those whose rules differ. Roles aggregated
/// from aggregated roles (admin from edit from view) settle in one call.
pub fn aggregate(roles: &[Arc<Value>]) -> Vec<(String, Vec<Rule>)> {
    let name = |r: &Value| {
        r.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut sorted: Vec<(String, Value, Vec<Rule>)> = roles
        .iter()
        .map(|r| {
            let rules = r
                .get("rules")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            (name(r), (**r).clone(), rules)
        })
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let original: Vec<Vec<Rule>> = sorted.iter().map(|r| r.2.clone()).collect();
    // Fixpoint: each pass can pull rules one aggregation level further.
    for _ in 0..8 {
        let mut changed = false;
        for i in 0..sorted.len() {
            let Some(selectors) = sorted[i]
                .1
                .pointer("/aggregationRule/clusterRoleSelectors")
                .and_then(Value::as_array)
            else {
                continue;
            };
            let mut rules: Vec<Rule> = Vec::new();
            for sel in selectors {
                let Ok(selector) = LabelSelector::from_json(Some(sel)) else {
                    continue;
                };
                for (j, (_, obj, their)) in sorted.iter().enumerate() {
                    if j == i || !selector.matches_object(obj) {
                        continue;
                    }
                    for r in their {
                        if !rules.contains(r) {
                            rules.push(r.clone());
                        }
                    }
                }
            }
            if rules != sorted[i].2 {
                sorted[i].2 = rules;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    sorted
        .into_iter()
        .zip(original)
        .filter(|((_, obj, rules), before)| {
            obj.get("aggregationRule").is_some_and(|a| !a.is_null()) && rules != before
        })
        .map(|((name, _, rules), _)| (name, rules))
        .collect()
}

async fn write_aggregated(roles: &Registry, current: &[Arc<Value>]) -> ApiResult<()> {
    for (name, rules) in aggregate(current) {
        let rules = serde_json::to_value(&rules)
            .map_err(|e| ApiError::internal(format!("aggregated rules: {e}")))?;
        let result = roles
            .update_with(None, &name, false, |old| {
                let Some(old) = old else {
                    return Ok(Action::Noop);
                };
                if old.get("rules") == Some(&rules) {
                    return Ok(Action::Noop);
                }
                let mut new = old.clone();
                new["rules"] = rules.clone();
                Ok(Action::Put(new))
            })
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(role = %name, manager = AGGREGATION_MANAGER, "aggregated cluster role")
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Keeps aggregated ClusterRoles up to date as cluster roles change.
pub fn start_aggregation(state: Arc<AppState>) {
    tokio::spawn(async move {
        let Ok(roles) = registry(&state, "clusterroles") else {
            return;
        };
        let prefix = crate::registry::keys::resource_prefix(roles.info);
        let cache = state.cache(&prefix);
        loop {
            let mut rx = match cache.subscribe(b"", None) {
                crate::watchcache::Subscription::Snapshot { rx, .. } => rx,
                _ => return,
            };
            loop {
                let (snapshot, _) = cache.snapshot(b"");
                if let Err(e) = write_aggregated(&roles, &snapshot).await {
                    tracing::debug!(error = %e.message, "cluster role aggregation; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Wait for a change, then let a burst settle.
                match rx.recv().await {
                    Ok(crate::watchcache::Message::Change(_)) => {}
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                while rx.try_recv().is_ok() {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_labelled_and_annotated() {
        let objs = default_objects().expect("policy parses");
        let names: Vec<&str> = objs
            .iter()
            .map(|(_, o)| o["metadata"]["name"].as_str().unwrap_or(""))
            .collect();
        for want in [
            "cluster-admin",
            "admin",
            "edit",
            "view",
            "system:discovery",
            "system:basic-user",
            "system:public-info-viewer",
        ] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        for (_, o) in &objs {
            assert_eq!(
                o["metadata"]["labels"][BOOTSTRAPPING_LABEL],
                "rbac-defaults"
            );
            assert_eq!(o["metadata"]["annotations"][AUTOUPDATE_ANNOTATION], "true");
        }
        let piv = objs
            .iter()
            .find(|(p, o)| {
                *p == "clusterrolebindings" && o["metadata"]["name"] == "system:public-info-viewer"
            })
            .expect("binding");
        assert_eq!(piv.1["subjects"][1]["name"], "system:unauthenticated");
    }

    #[test]
    fn admin_edit_view_aggregate_transitively() {
        let roles: Vec<Arc<Value>> = default_objects()
            .expect("policy")
            .into_iter()
            .filter(|(p, _)| *p == "clusterroles")
            .map(|(_, o)| Arc::new(o))
            .collect();
        let out = aggregate(&roles);
        let get = |n: &str| {
            out.iter()
                .find(|(name, _)| name == n)
                .map(|(_, r)| r.clone())
                .unwrap_or_default()
        };
        let (view, edit, admin) = (get("view"), get("edit"), get("admin"));
        assert!(!view.is_empty());
        assert!(view.iter().all(|r| edit.contains(r)), "edit includes view");
        assert!(
            edit.iter().all(|r| admin.contains(r)),
            "admin includes edit"
        );
        assert!(admin.len() > edit.len() && edit.len() > view.len());
        assert!(admin.iter().any(|r| r
            .resources
            .contains(&"localsubjectaccessreviews".to_string())));
        // Once written, nothing more to do.
        let settled: Vec<Arc<Value>> = roles
            .iter()
            .map(|r| {
                let mut r = (**r).clone();
                let name = r["metadata"]["name"].as_str().unwrap_or("").to_string();
                if let Some((_, rules)) = out.iter().find(|(n, _)| *n == name) {
                    r["rules"] = serde_json::to_value(rules).unwrap_or_default();
                }
                Arc::new(r)
            })
            .collect();
        assert!(aggregate(&settled).is_empty());
    }
}
