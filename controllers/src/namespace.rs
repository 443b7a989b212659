//! The namespace controller (kube-controller-manager's `namespace`): empties
//! a Terminating namespace of every namespaced object of every served
//! resource, reports progress in `status.conditions` as upstream does, and
//! once nothing is left removes the `kubernetes` finalizer through
//! `/finalize` and deletes the namespace again, which then removes it.
//! Upstream: pkg/controller/namespace/deletion/namespaced_resources_deleter.go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::verbs;
use kube::runtime::controller::Action;
use kube::runtime::{watcher, Controller};
use kube::ResourceExt;
use serde_json::json;

use crate::gc::discovery::{self, Served};
use crate::Context;

/// The finalizer the namespace controller owns in `spec.finalizers`.
const KUBERNETES_FINALIZER: &str = "kubernetes";
/// Wait between checks while content is still going away.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("updating namespace {name}: {source}")]
    Update {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// What one round of deleting a namespace's content found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Report {
    /// Discovery failed (nothing could be deleted).
    discovery_error: Option<String>,
    /// Resources whose content could not be deleted, with why.
    delete_errors: Vec<String>,
    /// Objects left, by group resource (`pods.`, `deployments.apps`).
    remaining: BTreeMap<String, usize>,
    /// Objects left holding each finalizer.
    finalizers: BTreeMap<String, usize>,
}

impl Report {
    fn done(&self) -> bool {
        self.discovery_error.is_none() && self.delete_errors.is_empty() && self.remaining.is_empty()
    }
}

/// One condition as (type, status, reason, message).
type Cond = (&'static str, &'static str, &'static str, String);

/// The deletion conditions upstream sets, in its order.
fn conditions(report: &Report) -> Vec<Cond> {
    let discovery = match &report.discovery_error {
        Some(e) => (
            "NamespaceDeletionDiscoveryFailure",
            "True",
            "DiscoveryFailed",
            format!("Discovery failed for some groups, 1 failing: {e}"),
        ),
        None => (
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered".to_string(),
        ),
    };
    let parsing = (
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed".to_string(),
    );
    let content = if report.delete_errors.is_empty() {
        (
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".to_string(),
        )
    } else {
        (
            "NamespaceDeletionContentFailure",
            "True",
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                report.delete_errors.len(),
                report.delete_errors.join(", ")
            ),
        )
    };
    let remaining = if report.remaining.is_empty() {
        (
            "NamespaceContentRemaining",
            "False",
            "ContentRemoved",
            "All content successfully removed".to_string(),
        )
    } else {
        let list: Vec<String> = report
            .remaining
            .iter()
            .map(|(r, n)| format!("{r} has {n} resource instances"))
            .collect();
        (
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", list.join(", ")),
        )
    };
    let finalizers = if report.finalizers.is_empty() {
        (
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_string(),
        )
    } else {
        let list: Vec<String> = report
            .finalizers
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        (
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                list.join(", ")
            ),
        )
    };
    vec![discovery, parsing, content, remaining, finalizers]
}

/// The namespace's new `status.conditions`, or `None` if nothing changed.
/// A condition keeps its `lastTransitionTime` while its status stays;
/// conditions of other types are kept as they are.
fn merge_conditions(
    current: &[NamespaceCondition],
    wanted: &[Cond],
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Option<Vec<NamespaceCondition>> {
    let mut out: Vec<NamespaceCondition> = current
        .iter()
        .filter(|c| !wanted.iter().any(|w| w.0 == c.type_))
        .cloned()
        .collect();
    let mut changed = false;
    for (type_, status, reason, message) in wanted {
        let old = current.iter().find(|c| c.type_ == *type_);
        let same_status = old.is_some_and(|c| c.status == *status);
        let c = NamespaceCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: Some(reason.to_string()),
            message: Some(message.clone()),
            last_transition_time: if same_status {
                old.and_then(|c| c.last_transition_time.clone())
            } else {
                Some(now.clone())
            },
        };
        if old
            .is_none_or(|o| o.status != c.status || o.reason != c.reason || o.message != c.message)
        {
            changed = true;
        }
        out.push(c);
    }
    changed.then_some(out)
}

fn is_status(e: &kube::Error, codes: &[u16]) -> bool {
    matches!(e, kube::Error::Api(s) if codes.contains(&s.code))
}

/// Deletes every object of `served` in `ns` and counts what is left.
async fn delete_resource(
    client: &kube::Client,
    served: &Served,
    ns: &str,
    report: &mut Report,
) -> Result<(), kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &served.resource);
    let background = DeleteParams::background();
    let mut each = !served.supports(verbs::DELETE_COLLECTION);
    if !each {
        match api
            .delete_collection(&background, &ListParams::default())
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, &[404]) => {}
            Err(e) if is_status(&e, &[405]) => each = true,
            Err(e) => return Err(e),
        }
    }
    if !served.supports(verbs::LIST) {
        return Ok(());
    }
    // A resource that went away meanwhile (a CRD deleted) has nothing left.
    let list = || async {
        match api.list_metadata(&ListParams::default()).await {
            Ok(l) => Ok(l.items),
            Err(e) if is_status(&e, &[404, 405]) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    };
    if each {
        for obj in list().await? {
            match api.delete(&obj.name_any(), &background).await {
                Ok(_) => {}
                Err(e) if is_status(&e, &[404, 405, 409]) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let left = list().await?;
    if !left.is_empty() {
        *report.remaining.entry(served.group_resource()).or_default() += left.len();
        for obj in &left {
            for f in obj.finalizers() {
                *report.finalizers.entry(f.clone()).or_default() += 1;
            }
        }
    }
    Ok(())
}

/// One round of emptying `ns`.
async fn delete_content(client: &kube::Client, ns: &str) -> Report {
    let mut report = Report::default();
    let served = match discovery::served(client).await {
        Ok(s) => s,
        Err(e) => {
            report.discovery_error = Some(e.to_string());
            return report;
        }
    };
    for s in served
        .iter()
        .filter(|s| s.namespaced && s.supports(verbs::DELETE))
    {
        if let Err(e) = delete_resource(client, s, ns, &mut report).await {
            report
                .delete_errors
                .push(format!("{}: {e}", s.group_resource()));
        }
    }
    report
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(error = %err, "namespace reconcile failed; retrying");
    Action::requeue(RECHECK)
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    if ns.metadata.deletion_timestamp.is_none() {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let update_err = |source| Error::Update {
        name: name.clone(),
        source,
    };
    let report = delete_content(&ctx.client, &name).await;
    tracing::debug!(namespace = %name, ?report, "namespace content deletion round");
    let current = ns
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if let Some(conds) = merge_conditions(&current, &conditions(&report), &crate::util::now()) {
        let patch = json!({"status": {"conditions": conds}});
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, &[404]) => return Ok(Action::await_change()),
            Err(e) => return Err(update_err(e)),
        }
    }
    if let Some(e) = &report.discovery_error {
        tracing::debug!(namespace = %name, error = %e, "namespace deletion: discovery failed");
        return Ok(Action::requeue(RECHECK));
    }
    if !report.done() {
        return Ok(Action::requeue(RECHECK));
    }
    finalize(&api, &name).await.map_err(update_err)
}

/// Removes our finalizer and, when none is left, deletes the namespace
/// for good.
async fn finalize(api: &Api<Namespace>, name: &str) -> Result<Action, kube::Error> {
    let Some(mut latest) = api.get_opt(name).await? else {
        return Ok(Action::await_change());
    };
    let spec = latest.spec.get_or_insert_with(Default::default);
    let finalizers = spec.finalizers.take().unwrap_or_default();
    let kept: Vec<String> = finalizers
        .iter()
        .filter(|f| *f != KUBERNETES_FINALIZER)
        .cloned()
        .collect();
    if kept.len() != finalizers.len() {
        spec.finalizers = Some(kept.clone());
        match api
            .replace_subresource("finalize", name, &PostParams::default(), &latest)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, &[404]) => return Ok(Action::await_change()),
            Err(e) => return Err(e),
        }
    }
    if !kept.is_empty() {
        // Someone else's finalizer: they finish, we wait for the change.
        return Ok(Action::await_change());
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if is_status(&e, &[404]) => Ok(Action::await_change()),
        Err(e) => Err(e),
    }
}

/// Runs the namespace controller.
pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(metrics.count("namespace"))
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_type(conds: &[Cond], t: &str) -> (String, String, String) {
        let c = conds.iter().find(|c| c.0 == t).expect("condition present");
        (c.1.to_string(), c.2.to_string(), c.3.clone())
    }

    #[test]
    fn remaining_content_is_reported_as_upstream() {
        let report = Report {
            remaining: BTreeMap::from([("pods.".into(), 2), ("widgets.example.com".into(), 1)]),
            finalizers: BTreeMap::from([("example.com/keep".into(), 1)]),
            ..Default::default()
        };
        assert!(!report.done());
        let conds = conditions(&report);
        assert_eq!(conds.len(), 5);
        assert_eq!(
            by_type(&conds, "NamespaceContentRemaining"),
            (
                "True".into(),
                "SomeResourcesRemain".into(),
                "Some resources are remaining: pods. has 2 resource instances, widgets.example.com has 1 resource instances".into()
            )
        );
        assert_eq!(
            by_type(&conds, "NamespaceFinalizersRemaining"),
            (
                "True".into(),
                "SomeFinalizersRemain".into(),
                "Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances".into()
            )
        );
        assert_eq!(
            by_type(&conds, "NamespaceDeletionContentFailure").1,
            "ContentDeleted"
        );
    }

    #[test]
    fn an_empty_namespace_is_done() {
        let report = Report::default();
        assert!(report.done());
        let conds = conditions(&report);
        assert!(conds.iter().all(|c| c.1 == "False"));
        assert_eq!(
            by_type(&conds, "NamespaceContentRemaining").1,
            "ContentRemoved"
        );
    }

    #[test]
    fn failures_are_not_done() {
        let report = Report {
            delete_errors: vec!["pods.: boom".into()],
            ..Default::default()
        };
        assert!(!report.done());
        assert_eq!(
            by_type(&conditions(&report), "NamespaceDeletionContentFailure"),
            (
                "True".into(),
                "ContentDeletionFailed".into(),
                "Failed to delete all resource types, 1 remaining: pods.: boom".into()
            )
        );
    }

    #[test]
    fn conditions_change_only_when_they_differ() {
        let t0 = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::from_second(1_000).expect("valid time"),
        );
        let t1 = crate::util::now();
        let first = merge_conditions(&[], &conditions(&Report::default()), &t0)
            .expect("first conditions are a change");
        assert_eq!(first.len(), 5);
        assert!(merge_conditions(&first, &conditions(&Report::default()), &t1).is_none());

        let remaining = Report {
            remaining: BTreeMap::from([("pods.".into(), 1)]),
            ..Default::default()
        };
        let next = merge_conditions(&first, &conditions(&remaining), &t1).expect("changed");
        let c = next
            .iter()
            .find(|c| c.type_ == "NamespaceContentRemaining")
            .expect("present");
        assert_eq!(c.last_transition_time, Some(t1.clone()));
        let d = next
            .iter()
            .find(|c| c.type_ == "NamespaceDeletionDiscoveryFailure")
            .expect("present");
        assert_eq!(d.last_transition_time, Some(t0));
    }
}
