//! The ReplicaSet controller, as upstream's `pkg/controller/replicaset`:
//! keeps `spec.replicas` active pods stamped from `spec.template`, adopts
//! orphan pods its selector matches and releases owned pods it no longer
//! matches, and reports `replicas`, `fullyLabeledReplicas`, `readyReplicas`,
//! `availableReplicas` and a `ReplicaFailure` condition in its status.
//!
//! As upstream, a sync reads pods from a cache fed by one watch of all pods
//! ([`podcache`]), never by listing them: only the ReplicaSet's own pods and
//! its namespace's orphans are candidates for its claim. Pod events queue
//! the ReplicaSet that controls the pod (or, for an orphan, every ReplicaSet
//! whose selector matches it). Since the cache may lag behind the pods the
//! controller just created or deleted, each such batch is recorded in the
//! [`expectations`], which the pod events lower; until they are met (or
//! expire) a sync only refreshes the status, so a stale cache never leads to
//! duplicate creations or deletions.

mod expectations;
mod manage;
mod podcache;
mod rank;
mod status;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{applier, trigger_self, Action, Config, ReconcileRequest};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::CancelableJoinHandle;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, ResourceExt};
use serde_json::json;

use self::expectations::Expectations;
use self::podcache::{pod_key, Change, PodCache};
use crate::events::Recorder;
use crate::util::{controller_of, controller_ref, is_controlled_by, is_deleting};
use crate::Context;

/// The Event source component, as upstream.
const COMPONENT: &str = "replicaset-controller";
/// How soon a sync that found the pod cache not yet filled looks again.
const CACHE_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading ReplicaSet {0}: {1}")]
    GetReplicaSet(String, #[source] kube::Error),
    #[error("claiming pod {0}: {1}")]
    ClaimPod(String, #[source] kube::Error),
    #[error("updating status of ReplicaSet {0}: {1}")]
    UpdateStatus(String, #[source] kube::Error),
    #[error("managing replicas of {0}: {1}")]
    ManageReplicas(String, String),
}

type Result<T, E = Error> = std::result::Result<T, E>;

struct State {
    client: kube::Client,
    recorder: Recorder,
    /// Every ReplicaSet, as the controller's own watch sees them.
    replica_sets: Store<ReplicaSet>,
    pods: PodCache,
    expectations: Expectations,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let (replica_sets, writer) = reflector::store::<ReplicaSet>();
    let state = Arc::new(State {
        client: client.clone(),
        recorder: ctx.recorder(COMPONENT),
        replica_sets: replica_sets.clone(),
        pods: PodCache::default(),
        expectations: Expectations::default(),
    });

    // Pod events fill the cache and, through this channel, queue syncs.
    let (queue_tx, queue_rx) = mpsc::unbounded::<ObjectRef<ReplicaSet>>();
    let feed = CancelableJoinHandle::spawn(
        feed_pods(state.clone(), queue_tx),
        &tokio::runtime::Handle::current(),
    );

    let forget = state.clone();
    let rs_events = watcher(Api::<ReplicaSet>::all(client), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .inspect_ok(move |event| {
            if let watcher::Event::Delete(rs) = event {
                forget.expectations.forget(&rs.uid().unwrap_or_default());
            }
        })
        .applied_objects();
    let from_pods = queue_rx.map(|r| Ok(ReconcileRequest::from(r)));
    let queue = futures::stream::select(trigger_self(rs_events, ()), from_pods);
    let syncs = applier(
        |rs, state| {
            CancelableJoinHandle::spawn(reconcile(rs, state), &tokio::runtime::Handle::current())
        },
        error_policy,
        state,
        replica_sets,
        queue,
        Config::default(),
    );
    tokio::select! {
        () = syncs.for_each(metrics.count("replicaset")) => {}
        () = feed => anyhow::bail!("the pod watch of the replicaset controller ended"),
    }
    Ok(())
}

/// Apply every pod event to the cache and turn what changed into syncs to
/// queue and expectations met.
async fn feed_pods(state: Arc<State>, queue: mpsc::UnboundedSender<ObjectRef<ReplicaSet>>) {
    let events = watcher(
        Api::<Pod>::all(state.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff();
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!(error = %e, "replicaset controller: pod watch failed; retrying");
                continue;
            }
        };
        for change in state.pods.apply(event) {
            for target in on_pod_change(&state.expectations, &state.replica_sets, &change) {
                if queue.unbounded_send(target).is_err() {
                    return;
                }
            }
        }
    }
}

/// Upstream's addPod / updatePod / deletePod: which ReplicaSets to sync
/// after `change`, lowering the expectations it meets on the way.
fn on_pod_change(
    expectations: &Expectations,
    replica_sets: &Store<ReplicaSet>,
    change: &Change,
) -> Vec<ObjectRef<ReplicaSet>> {
    match change {
        Change::Added(pod) => {
            if is_deleting(pod.as_ref()) {
                // Seen for the first time already going (e.g. after a
                // restart): not a creation anyone waits for.
                return pod_deleted(expectations, pod);
            }
            match replica_set_of(pod) {
                Some((uid, target)) => {
                    expectations.creation_observed(uid);
                    vec![target]
                }
                None if controller_of(pod.as_ref()).is_none() => matching(replica_sets, pod),
                None => Vec::new(),
            }
        }
        Change::Updated(old, new) => {
            let labels_changed = old.labels() != new.labels();
            if is_deleting(new.as_ref()) {
                // Marked for deletion: the deletion its controller waits for.
                let mut targets = pod_deleted(expectations, new);
                if labels_changed {
                    targets.extend(pod_deleted(expectations, old));
                }
                return targets;
            }
            let (old_ref, new_ref) = (controller_of(old.as_ref()), controller_of(new.as_ref()));
            let ref_changed = old_ref != new_ref;
            let mut targets = Vec::new();
            if ref_changed {
                targets.extend(replica_set_of(old).map(|(_, t)| t));
            }
            match (new_ref, replica_set_of(new)) {
                (_, Some((_, target))) => targets.push(target),
                (None, None) if labels_changed || ref_changed => {
                    targets.extend(matching(replica_sets, new));
                }
                _ => {}
            }
            targets
        }
        Change::Deleted(pod) => pod_deleted(expectations, pod),
    }
}

/// A pod of some ReplicaSet went (or is going): its deletion is observed.
fn pod_deleted(expectations: &Expectations, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    match replica_set_of(pod) {
        Some((uid, target)) => {
            expectations.deletion_observed(uid, &pod_key(pod));
            vec![target]
        }
        None => Vec::new(),
    }
}

/// The uid and reference of the ReplicaSet controlling `pod`, if one does.
fn replica_set_of(pod: &Pod) -> Option<(&str, ObjectRef<ReplicaSet>)> {
    let owner = controller_of(pod)?;
    (owner.kind == "ReplicaSet" && owner.api_version == "apps/v1").then(|| {
        let ns = pod.namespace().unwrap_or_default();
        (owner.uid.as_str(), ObjectRef::new(&owner.name).within(&ns))
    })
}

/// The ReplicaSets of an orphan's namespace whose selector matches it.
fn matching(replica_sets: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.namespace();
    let labels = pod.labels();
    replica_sets
        .state()
        .iter()
        .filter(|rs| rs.namespace() == ns)
        .filter(|rs| {
            rs.spec
                .as_ref()
                .is_some_and(|s| selector_matches(&s.selector, labels))
        })
        .map(|rs| ObjectRef::from_obj(rs.as_ref()))
        .collect()
}

fn error_policy(_rs: Arc<ReplicaSet>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "replicaset sync failed; retrying");
    if let Error::ClaimPod(_, kube::Error::Api(s)) = err {
        if s.code == 409 {
            // The pod changed under us: read it again soon.
            return Action::requeue(Duration::from_millis(100));
        }
    }
    Action::requeue(Duration::from_secs(2))
}

/// Whether a non-empty label selector matches `labels`. An empty or
/// unparsable selector matches nothing (controllers never claim everything).
pub(crate) fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> bool {
    match Selector::try_from(selector.clone()) {
        Ok(s) if !s.selects_all() => s.matches(labels),
        _ => false,
    }
}

async fn reconcile(rs: Arc<ReplicaSet>, state: Arc<State>) -> Result<Action> {
    if !state.pods.synced() {
        return Ok(Action::requeue(CACHE_WAIT));
    }
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let uid = rs.uid().unwrap_or_default();
    // Decided before reading the cache, as upstream: pods seen after this
    // point can only make the read more complete.
    let may_manage =
        state.expectations.satisfied(&uid, Instant::now()) && !is_deleting(rs.as_ref());
    let candidates: Vec<Arc<Pod>> = state
        .pods
        .controlled_by(&uid)
        .into_iter()
        .chain(state.pods.orphans_in(&ns))
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()) && is_active(p))
        .collect();
    let pod_api: Api<Pod> = Api::namespaced(state.client.clone(), &ns);
    let mut pods = claim_pods(&state, &pod_api, &rs, candidates).await?;

    let desired = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    let mut manage_err = None;
    let mut diff_sign = Ordering::Equal;
    if may_manage {
        diff_sign = pods.len().cmp(&desired);
        if let Err(msg) = manage::manage_replicas(&state, &pod_api, &rs, &mut pods, desired).await {
            manage_err = Some(msg);
        }
    }
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let status = status::compute_status(&rs, &pods, manage_err.as_deref(), diff_sign);
    if status::status_changed(&rs, &status) {
        let rs_api: Api<ReplicaSet> = Api::namespaced(state.client.clone(), &ns);
        let patch = json!({ "status": status });
        match rs_api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            // Deleted meanwhile: its delete event ends the story.
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(Action::await_change()),
            Err(e) => return Err(Error::UpdateStatus(name, e)),
        }
    }
    if let Some(msg) = manage_err {
        return Err(Error::ManageReplicas(name, msg));
    }
    let mut next: Option<Duration> = None;
    // Pods that are ready but not yet available become so later: look again.
    if min_ready > 0 && status.available < status.ready {
        next = Some(Duration::from_secs(min_ready as u64));
    }
    // Waiting for the cache: pod events wake us, the expiry as a last resort.
    if let Some(wait) = state.expectations.pending_for(&uid, Instant::now()) {
        let wait = wait + Duration::from_secs(1);
        next = Some(next.map_or(wait, |n| n.min(wait)));
    }
    Ok(next.map_or_else(Action::await_change, Action::requeue))
}

/// Pods that count: not finished and not being deleted.
fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded") | Some("Failed")) && !is_deleting(pod)
}

/// Upstream's ControllerRefManager for pods: keep owned pods that match,
/// release owned pods that no longer match, adopt matching orphans. Before
/// the first adoption the ReplicaSet is read fresh from the API server, as
/// upstream, so a cached copy never adopts for a ReplicaSet being deleted.
async fn claim_pods(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pods: Vec<Arc<Pod>>,
) -> Result<Vec<Arc<Pod>>> {
    let uid = rs.uid().unwrap_or_default();
    let selector = rs
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    let mut may_adopt: Option<bool> = None;
    let mut claimed = Vec::new();
    for pod in pods {
        let matches = selector_matches(&selector, pod.labels());
        match controller_of(pod.as_ref()) {
            Some(owner) if owner.uid == uid => {
                if matches {
                    claimed.push(pod);
                } else if !is_deleting(rs) {
                    let refs: Vec<OwnerReference> = pod
                        .owner_references()
                        .iter()
                        .filter(|r| r.uid != uid)
                        .cloned()
                        .collect();
                    patch_owners(api, &pod, refs).await?;
                }
            }
            Some(_) => {}
            None => {
                if !matches || is_deleting(rs) {
                    continue;
                }
                let allowed = match may_adopt {
                    Some(v) => v,
                    None => *may_adopt.insert(still_adopting(state, rs).await?),
                };
                if allowed {
                    let mut refs = pod.owner_references().to_vec();
                    refs.push(controller_ref(rs));
                    let adopted = patch_owners(api, &pod, refs).await?;
                    claimed.extend(adopted.map(Arc::new));
                }
            }
        }
    }
    Ok(claimed)
}

/// Upstream's RecheckDeletionTimestamp: the ReplicaSet still exists with the
/// same uid and is not being deleted.
async fn still_adopting(state: &State, rs: &ReplicaSet) -> Result<bool> {
    let name = rs.name_any();
    let api: Api<ReplicaSet> =
        Api::namespaced(state.client.clone(), &rs.namespace().unwrap_or_default());
    match api.get_opt(&name).await {
        Ok(Some(fresh)) => Ok(fresh.uid() == rs.uid() && !is_deleting(&fresh)),
        Ok(None) => Ok(false),
        Err(e) => Err(Error::GetReplicaSet(name, e)),
    }
}

/// Replace a pod's ownerReferences, guarded by its resourceVersion and uid.
/// A pod that disappeared meanwhile is `None`.
async fn patch_owners(api: &Api<Pod>, pod: &Pod, refs: Vec<OwnerReference>) -> Result<Option<Pod>> {
    let name = pod.name_any();
    let patch = json!({
        "metadata": {
            "ownerReferences": refs,
            "uid": pod.uid(),
            "resourceVersion": pod.resource_version(),
        }
    });
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(Error::ClaimPod(name, e)),
    }
}

/// Whether `pod` is controlled by `rs` (used by the deployment controller).
pub(crate) fn owned_by(pod: &Pod, rs: &ReplicaSet) -> bool {
    rs.uid().is_some_and(|uid| is_controlled_by(pod, &uid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::watcher::Event;

    fn pod(
        name: &str,
        rv: &str,
        owner: Option<(&str, &str)>,
        extra: serde_json::Value,
    ) -> Arc<Pod> {
        let mut meta = json!({
            "name": name, "namespace": "ns", "resourceVersion": rv,
            "labels": {"app": "web"},
            "ownerReferences": owner.map(|(kind, uid)| vec![json!({
                "apiVersion": if kind == "Job" { "batch/v1" } else { "apps/v1" },
                "kind": kind, "name": format!("{kind}-{uid}"), "uid": uid, "controller": true
            })]),
        });
        if let (Some(m), Some(e)) = (meta.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        Arc::new(serde_json::from_value(json!({ "metadata": meta })).expect("pod"))
    }

    fn replica_sets() -> Store<ReplicaSet> {
        let (store, mut writer) = reflector::store::<ReplicaSet>();
        for (name, ns, app) in [
            ("web", "ns", "web"),
            ("api", "ns", "api"),
            ("web", "other", "web"),
        ] {
            let rs: ReplicaSet = serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": ns, "uid": format!("{ns}-{name}")},
                "spec": {"selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}}}}
            }))
            .expect("rs");
            writer.apply_watcher_event(&Event::Apply(rs));
        }
        store
    }

    fn names(targets: Vec<ObjectRef<ReplicaSet>>) -> Vec<String> {
        targets
            .iter()
            .map(|r| format!("{}/{}", r.namespace.clone().unwrap_or_default(), r.name))
            .collect()
    }

    #[test]
    fn pod_events_queue_their_replica_set_and_meet_its_expectations() {
        let e = Expectations::default();
        let rss = replica_sets();
        let now = Instant::now();
        let owned = Some(("ReplicaSet", "u1"));

        e.expect_creations("u1", 1, now);
        let added = Change::Added(pod("a", "1", owned, json!({})));
        assert_eq!(names(on_pod_change(&e, &rss, &added)), ["ns/ReplicaSet-u1"]);
        assert!(e.satisfied("u1", now), "the created pod was seen");

        e.expect_deletions("u1", vec!["ns/a".into()], now);
        let status = Change::Updated(
            pod("a", "1", owned, json!({})),
            pod("a", "2", owned, json!({})),
        );
        assert_eq!(
            names(on_pod_change(&e, &rss, &status)),
            ["ns/ReplicaSet-u1"]
        );
        assert!(!e.satisfied("u1", now), "a status update is no deletion");
        let marked = Change::Updated(
            pod("a", "2", owned, json!({})),
            pod(
                "a",
                "3",
                owned,
                json!({"deletionTimestamp": "2026-01-01T00:00:00Z"}),
            ),
        );
        on_pod_change(&e, &rss, &marked);
        assert!(
            e.satisfied("u1", now),
            "marked for deletion counts as deleted"
        );

        // An orphan wakes the ReplicaSets of its namespace that select it.
        let orphan = Change::Added(pod("b", "1", None, json!({})));
        assert_eq!(names(on_pod_change(&e, &rss, &orphan)), ["ns/web"]);
        // Released: the former owner and, for the orphan, the matching ones.
        let released = Change::Updated(
            pod("c", "1", owned, json!({})),
            pod("c", "2", None, json!({})),
        );
        assert_eq!(
            names(on_pod_change(&e, &rss, &released)),
            ["ns/ReplicaSet-u1", "ns/web"]
        );
        // Pods of other controllers are none of our business.
        let job = Change::Deleted(pod("d", "1", Some(("Job", "j1")), json!({})));
        assert!(on_pod_change(&e, &rss, &job).is_empty());
    }

    #[test]
    fn empty_selector_matches_nothing() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "x".to_string())].into();
        assert!(!selector_matches(&LabelSelector::default(), &labels));
        let sel = LabelSelector {
            match_labels: Some(labels.clone()),
            ..Default::default()
        };
        assert!(selector_matches(&sel, &labels));
        assert!(!selector_matches(&sel, &BTreeMap::new()));
    }
}
