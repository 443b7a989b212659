//! What apiextensions-apiserver's controllers do, in the server process:
//! the naming check (`NamesAccepted`, `status.acceptedNames`), establishing
//! (`Established`), publishing the catalog of served resources whenever
//! CRDs change, and, when a CRD is deleted, deleting its objects before
//! removing the `customresourcecleanup.apiextensions.k8s.io` finalizer; and
//! the APIServices of the group-versions CRDs serve.
//!
//! Every replica of a cluster runs it: status writes are idempotent and
//! guarded by resourceVersion, and each replica builds its own catalog.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::served::{self, condition_true, CLEANUP_FINALIZER};
use crate::catalog::Catalog;
use crate::error::{ApiError, ApiResult};
use crate::registry::{keys, meta, Action, DeleteOptions, ListOptions, Registry};
use crate::resources::{self, ResourceInfo};
use crate::state::AppState;
use crate::watchcache::{ChangeKind, Message, Subscription};

fn crd_info() -> ApiResult<&'static ResourceInfo> {
    resources::lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("customresourcedefinitions are not a known resource"))
}

/// Starts the controller; it runs as long as the runtime.
pub fn start(state: Arc<AppState>) {
    tokio::spawn(async move {
        let cleanups = Arc::new(Mutex::new(HashSet::new()));
        loop {
            if let Err(e) = watch(&state, &cleanups).await {
                tracing::debug!(error = %e.message, "CRD controller restarts");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

type Cleanups = Arc<Mutex<HashSet<String>>>;

async fn watch(state: &Arc<AppState>, cleanups: &Cleanups) -> ApiResult<()> {
    let info = crd_info()?;
    let prefix = keys::resource_prefix(info);
    let cache = state.cache(&prefix);
    if !cache.wait_for(None, Duration::from_secs(30)).await {
        return Err(ApiError::internal("CRD cache not ready"));
    }
    let Subscription::Snapshot {
        objects, mut rx, ..
    } = cache.subscribe(&prefix, None)
    else {
        return Err(ApiError::internal("CRD cache gave no snapshot"));
    };
    let mut crds: BTreeMap<String, Arc<Value>> = objects
        .into_iter()
        .map(|o| (meta::name(&o).to_string(), o))
        .collect();
    sync(state, info, &crds, cleanups).await;
    state.mark_crds_synced();
    loop {
        match rx.recv().await {
            Ok(Message::Change(c)) => {
                let name = meta::name(&c.object).to_string();
                match c.kind {
                    ChangeKind::Put => crds.insert(name, c.object.clone()),
                    ChangeKind::Delete => crds.remove(&name),
                };
                // Drain what is already queued before one sync.
                loop {
                    match rx.try_recv() {
                        Ok(Message::Change(c)) => {
                            let name = meta::name(&c.object).to_string();
                            match c.kind {
                                ChangeKind::Put => crds.insert(name, c.object.clone()),
                                ChangeKind::Delete => crds.remove(&name),
                            };
                        }
                        Ok(Message::Progress(_)) => {}
                        Ok(Message::Reset) => return Ok(()),
                        Err(_) => break,
                    }
                }
                sync(state, info, &crds, cleanups).await;
            }
            Ok(Message::Progress(_)) => {}
            Ok(Message::Reset) | Err(RecvError::Lagged(_)) => return Ok(()),
            Err(RecvError::Closed) => return Err(ApiError::internal("CRD cache closed")),
        }
    }
}

/// Brings every CRD's status up to date, publishes the catalog, and starts
/// the cleanup of CRDs being deleted.
async fn sync(
    state: &Arc<AppState>,
    info: &'static ResourceInfo,
    crds: &BTreeMap<String, Arc<Value>>,
    cleanups: &Cleanups,
) {
    let now = meta::now();
    let mut desired: BTreeMap<String, Arc<Value>> = BTreeMap::new();
    for (name, crd) in crds {
        let next = match desired_status(crd, crds, &now) {
            Some(status) => {
                let mut next = (**crd).clone();
                next["status"] = status;
                Arc::new(next)
            }
            None => crd.clone(),
        };
        desired.insert(name.clone(), next);
    }
    // Serve first, then report: a client that sees Established can use the kind.
    publish(state, desired.values().map(|v| &**v));
    let group_versions = crate::apiservices::custom_group_versions(crds.values().map(|v| &**v));
    if let Err(e) = crate::apiservices::sync_custom(state, &group_versions).await {
        tracing::debug!(error = %e.message, "APIServices of CRDs not synced");
    }
    let registry = Registry::new(state.store.clone(), info);
    for (name, next) in &desired {
        let Some(current) = crds.get(name) else {
            continue;
        };
        if next.get("status") != current.get("status") {
            let status = next["status"].clone();
            let rv = meta::resource_version(current).to_string();
            let r = registry
                .update_with(None, name, false, |old| {
                    let Some(old) = old else {
                        return Ok(Action::Noop);
                    };
                    if meta::resource_version(old) != rv {
                        // Changed meanwhile: the next event brings it back here.
                        return Ok(Action::Noop);
                    }
                    let mut new = old.clone();
                    new["status"] = status.clone();
                    Ok(Action::Put(new))
                })
                .await;
            if let Err(e) = r {
                tracing::debug!(crd = %name, error = %e.message, "CRD status not written");
            }
        }
        if meta::is_deleting(next)
            && meta::finalizers(next)
                .iter()
                .any(|f| f == CLEANUP_FINALIZER)
        {
            start_cleanup(state.clone(), info, (**next).clone(), cleanups.clone());
        }
    }
}

fn publish<'a>(state: &AppState, crds: impl Iterator<Item = &'a Value>) {
    let rows: Vec<&'static ResourceInfo> = crds.flat_map(served::rows).collect();
    let current = state.catalog();
    let same = current.custom().len() == rows.len()
        && rows
            .iter()
            .all(|r| current.custom().iter().any(|c| std::ptr::eq(*c, *r)));
    if !same {
        state.set_catalog(Catalog::with_custom(rows));
    }
}

fn names_of(v: &Value) -> (Vec<String>, Vec<String>) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut resources = vec![s("plural"), s("singular")];
    if let Some(short) = v.get("shortNames").and_then(Value::as_array) {
        resources.extend(short.iter().filter_map(Value::as_str).map(str::to_string));
    }
    (resources, vec![s("kind"), s("listKind")])
}

/// The names the CRDs of the same group hold (its own accepted names
/// included, as upstream's naming controller counts them).
fn taken_names(
    crd: &Value,
    crds: &BTreeMap<String, Arc<Value>>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let group = crd.pointer("/spec/group");
    let mut resources = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for other in crds.values() {
        if other.pointer("/spec/group") != group {
            continue;
        }
        if let Some(accepted) = other.pointer("/status/acceptedNames") {
            let (r, k) = names_of(accepted);
            resources.extend(r);
            kinds.extend(k);
        }
    }
    (resources, kinds)
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    })
}

/// Sets a condition, keeping its transition time when its status is unchanged.
fn set_condition(conditions: &mut Vec<Value>, mut c: Value) {
    match conditions.iter_mut().find(|x| x["type"] == c["type"]) {
        Some(existing) => {
            if existing["status"] == c["status"] {
                c["lastTransitionTime"] = existing["lastTransitionTime"].clone();
            }
            *existing = c;
        }
        None => conditions.push(c),
    }
}

/// The status the naming and establishing controllers want, or None when
/// the current one is right.
fn desired_status(crd: &Value, crds: &BTreeMap<String, Arc<Value>>, now: &str) -> Option<Value> {
    let requested = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut status = crd.get("status").cloned().unwrap_or(json!({}));
    let accepted = status.get("acceptedNames").cloned().unwrap_or(json!({}));
    let (taken_resources, taken_kinds) = taken_names(crd, crds);
    let get = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut next = accepted.clone();
    // Every check runs, in upstream's order; the last conflict found is the
    // one reported.
    let mut problem: Option<(&str, String)> = None;
    let check = |field: &str, reason: &'static str, taken: &BTreeSet<String>, next: &mut Value| {
        let want = get(&requested, field);
        if want == get(&accepted, field) || !taken.contains(&want) {
            next[field] = json!(want);
            None
        } else {
            Some((reason, format!("{want:?} is already in use")))
        }
    };
    for (field, reason) in [
        ("plural", "PluralConflict"),
        ("singular", "SingularConflict"),
    ] {
        problem = check(field, reason, &taken_resources, &mut next).or(problem);
    }
    let requested_short = served::strings(requested.get("shortNames"));
    let accepted_short = served::strings(accepted.get("shortNames"));
    if requested_short != accepted_short {
        let conflicts: Vec<String> = requested_short
            .iter()
            .filter(|s| !accepted_short.contains(s) && taken_resources.contains(*s))
            .map(|s| format!("{s:?} is already in use"))
            .collect();
        match conflicts.len() {
            0 => set_names(&mut next, "shortNames", &requested_short),
            // One error reads as itself, several as Go's aggregate.
            1 => problem = Some(("ShortNamesConflict", conflicts.join(""))),
            _ => problem = Some(("ShortNamesConflict", format!("[{}]", conflicts.join(", ")))),
        }
    }
    for (field, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        problem = check(field, reason, &taken_kinds, &mut next).or(problem);
    }
    set_names(
        &mut next,
        "categories",
        &served::strings(requested.get("categories")),
    );
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let accepted_ok = problem.is_none();
    let names_cond = match &problem {
        None => condition(
            "NamesAccepted",
            true,
            "NoConflicts",
            "no conflicts found",
            now,
        ),
        Some((reason, message)) => condition("NamesAccepted", false, reason, message, now),
    };
    set_condition(&mut conditions, names_cond);
    if !condition_true(crd, "Established") {
        let established = if accepted_ok {
            condition(
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted",
                now,
            )
        } else {
            condition(
                "Established",
                false,
                "NotAccepted",
                "not all names are accepted",
                now,
            )
        };
        set_condition(&mut conditions, established);
    }
    if let Some(c) = api_approval_condition(crd, now) {
        set_condition(&mut conditions, c);
    }
    status["acceptedNames"] = next;
    status["conditions"] = Value::Array(conditions);
    let current = crd.get("status").cloned().unwrap_or(json!({}));
    if strip_times(&status) == strip_times(&current) {
        None
    } else {
        Some(status)
    }
}

/// The annotation that approves a CRD in a protected group.
const API_APPROVED: &str = "api-approved.kubernetes.io";

/// `KubernetesAPIApprovalPolicyConformant` for CRDs in the protected
/// `k8s.io` and `kubernetes.io` groups (upstream's API approval controller);
/// None for other groups.
fn api_approval_condition(crd: &Value, now: &str) -> Option<Value> {
    let group = crd.pointer("/spec/group").and_then(Value::as_str)?;
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|g| group == *g || group.ends_with(&format!(".{g}")));
    if !protected {
        return None;
    }
    let annotation = crd
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(API_APPROVED))
        .and_then(Value::as_str)
        .unwrap_or("");
    let is_url = annotation.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.split('/').next().unwrap_or("").is_empty()
    });
    let (status, reason, message) = if annotation.is_empty() {
        (
            false,
            "MissingAnnotation",
            format!(
                "protected groups must have approval annotation {API_APPROVED:?}, see \
                 https://github.com/kubernetes/enhancements/pull/1111"
            ),
        )
    } else if annotation.starts_with("unapproved") {
        (
            false,
            "UnapprovedAnnotation",
            format!("not approved: {annotation:?}"),
        )
    } else if is_url {
        (
            true,
            "ApprovedAnnotation",
            format!("approved in {annotation}"),
        )
    } else {
        (
            false,
            "InvalidAnnotation",
            format!(
                "protected groups must have approval annotation {API_APPROVED:?} with either a \
                 URL or a reason starting with \"unapproved\", see \
                 https://github.com/kubernetes/enhancements/pull/1111"
            ),
        )
    };
    Some(condition(
        "KubernetesAPIApprovalPolicyConformant",
        status,
        reason,
        &message,
        now,
    ))
}

fn set_names(names: &mut Value, field: &str, values: &[String]) {
    if values.is_empty() {
        if let Some(m) = names.as_object_mut() {
            m.remove(field);
        }
    } else {
        names[field] = json!(values);
    }
}

fn strip_times(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(cs) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
            }
        }
    }
    s
}

/// Deletes every object of a CRD being deleted, then removes its finalizer
/// (the CRD then goes). Runs once per CRD at a time.
fn start_cleanup(
    state: Arc<AppState>,
    info: &'static ResourceInfo,
    crd: Value,
    cleanups: Cleanups,
) {
    let name = meta::name(&crd).to_string();
    {
        let mut running = match cleanups.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !running.insert(name.clone()) {
            return;
        }
    }
    tokio::spawn(async move {
        let r = cleanup(&state, info, &crd).await;
        if let Err(e) = r {
            tracing::debug!(crd = %name, error = %e.message, "CRD cleanup failed; retried on the next change");
        }
        let mut running = match cleanups.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        running.remove(&name);
    });
}

async fn set_terminating(
    crds: &Registry,
    name: &str,
    reason: &str,
    message: &str,
) -> ApiResult<()> {
    let now = meta::now();
    crds.update_with(None, name, false, |old| {
        let Some(old) = old else {
            return Ok(Action::Noop);
        };
        let mut new = old.clone();
        let mut conditions: Vec<Value> = new
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        set_condition(
            &mut conditions,
            condition("Terminating", true, reason, message, &now),
        );
        new["status"]["conditions"] = Value::Array(conditions);
        Ok(Action::Put(new))
    })
    .await
    .map(|_| ())
}

async fn cleanup(state: &Arc<AppState>, info: &'static ResourceInfo, crd: &Value) -> ApiResult<()> {
    let name = meta::name(crd).to_string();
    let crds = Registry::new(state.store.clone(), info);
    let row = state
        .catalog()
        .custom()
        .iter()
        .copied()
        .find(|r| r.custom.is_some_and(|c| c.crd == name));
    if let Some(row) = row {
        set_terminating(
            &crds,
            &name,
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        )
        .await?;
        let objects = Registry::new(state.store.clone(), row);
        loop {
            let list = objects.list(None, &ListOptions::default()).await?;
            if list.items.is_empty() {
                break;
            }
            for o in &list.items {
                if meta::is_deleting(o) {
                    continue;
                }
                let ns = Some(meta::namespace(o)).filter(|n| !n.is_empty());
                match objects
                    .delete(ns, meta::name(o), &DeleteOptions::default())
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            // Objects with finalizers go when their controllers let them.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    crds.update_with(None, &name, false, |old| {
        let Some(old) = old else {
            return Ok(Action::Noop);
        };
        let finals: Vec<String> = meta::finalizers(old)
            .into_iter()
            .filter(|f| f != CLEANUP_FINALIZER)
            .collect();
        if finals.is_empty() {
            return Ok(Action::Delete);
        }
        let mut new = old.clone();
        meta::set_meta(&mut new, "finalizers", json!(finals));
        Ok(Action::Put(new))
    })
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, plural: &str, kind: &str, accepted: bool) -> Arc<Value> {
        let mut c = json!({
            "metadata": {"name": format!("{plural}.example.com")},
            "spec": {"group": "example.com",
                     "names": {"plural": plural, "singular": name, "kind": kind, "listKind": format!("{kind}List")}},
        });
        if accepted {
            c["status"] = json!({
                "acceptedNames": c["spec"]["names"].clone(),
                "conditions": [{"type": "Established", "status": "True"}],
            });
        }
        Arc::new(c)
    }

    fn conditions(status: &Value) -> Vec<(String, String, String, String)> {
        status["conditions"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                (s("type"), s("status"), s("reason"), s("message"))
            })
            .collect()
    }

    #[test]
    fn fresh_names_are_accepted_and_established() {
        let a = crd("foo", "foos", "Foo", false);
        let crds: BTreeMap<String, Arc<Value>> =
            [("foos.example.com".to_string(), a.clone())].into();
        let status = desired_status(&a, &crds, "2026-01-01T00:00:00Z").expect("a change");
        assert_eq!(status["acceptedNames"]["plural"], "foos");
        assert_eq!(
            conditions(&status),
            vec![
                (
                    "NamesAccepted".into(),
                    "True".into(),
                    "NoConflicts".into(),
                    "no conflicts found".into()
                ),
                (
                    "Established".into(),
                    "True".into(),
                    "InitialNamesAccepted".into(),
                    "the initial names have been accepted".into()
                ),
            ]
        );
        // Once written, nothing more to do.
        let mut done = (*a).clone();
        done["status"] = status;
        let done = Arc::new(done);
        let crds: BTreeMap<String, Arc<Value>> =
            [("foos.example.com".to_string(), done.clone())].into();
        assert!(desired_status(&done, &crds, "2026-01-01T00:00:05Z").is_none());
    }

    #[test]
    fn names_held_by_another_crd_of_the_group_conflict() {
        let held = crd("foo", "foos", "Foo", true);
        let mut wanted = (*crd("bar", "foos", "Bar", false)).clone();
        wanted["metadata"]["name"] = json!("other.example.com");
        let wanted = Arc::new(wanted);
        let crds: BTreeMap<String, Arc<Value>> = [
            ("foos.example.com".to_string(), held),
            ("other.example.com".to_string(), wanted.clone()),
        ]
        .into();
        let status = desired_status(&wanted, &crds, "2026-01-01T00:00:00Z").expect("a change");
        assert_eq!(
            conditions(&status),
            vec![
                (
                    "NamesAccepted".into(),
                    "False".into(),
                    "PluralConflict".into(),
                    "\"foos\" is already in use".into()
                ),
                (
                    "Established".into(),
                    "False".into(),
                    "NotAccepted".into(),
                    "not all names are accepted".into()
                ),
            ]
        );
        // The names that are free are accepted; the plural is not.
        assert_eq!(status["acceptedNames"]["kind"], "Bar");
        assert!(status["acceptedNames"].get("plural").is_none());
    }

    fn approval(group: &str, annotation: Option<&str>) -> Option<(String, String, String)> {
        let mut crd = json!({"metadata": {"name": "x"}, "spec": {"group": group}});
        if let Some(a) = annotation {
            crd["metadata"]["annotations"] = json!({API_APPROVED: a});
        }
        api_approval_condition(&crd, "now").map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("reason"), s("message"))
        })
    }

    #[test]
    fn api_approval_only_for_protected_groups() {
        assert_eq!(approval("example.com", None), None);
        assert_eq!(approval("k8s.io.example.com", None), None);
        let missing = approval("foo.k8s.io", None);
        assert_eq!(
            missing,
            Some((
                "False".into(),
                "MissingAnnotation".into(),
                "protected groups must have approval annotation \"api-approved.kubernetes.io\", \
                 see https://github.com/kubernetes/enhancements/pull/1111"
                    .into()
            ))
        );
        let url = "https://github.com/kubernetes/kubernetes/pull/78458";
        assert_eq!(
            approval("kubernetes.io", Some(url)),
            Some((
                "True".into(),
                "ApprovedAnnotation".into(),
                format!("approved in {url}")
            ))
        );
        assert_eq!(
            approval("x.kubernetes.io", Some("unapproved, testing")),
            Some((
                "False".into(),
                "UnapprovedAnnotation".into(),
                "not approved: \"unapproved, testing\"".into()
            ))
        );
        let invalid = approval("k8s.io", Some("yes please"));
        assert_eq!(
            invalid.map(|(s, r, _)| (s, r)),
            Some(("False".into(), "InvalidAnnotation".into()))
        );
    }
}
