//! The ReplicaSet controller, as upstream's `pkg/controller/replicaset`:
//! keeps `spec.replicas` active pods stamped from `spec.template`, adopts
//! orphan pods its selector matches and releases owned pods it no longer
//! matches, and reports `replicas`, `fullyLabeledReplicas`, `readyReplicas`,
//! `availableReplicas` and a `ReplicaFailure` condition in its status.
//!
//! Every reconcile reads the ReplicaSet and its namespace's pods fresh from
//! the API (instead of a cache plus upstream's "expectations"), so a pod
//! created by the previous pass is always counted by the next one.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::events::{EventType, Recorder};
use crate::util::{controller_of, controller_ref, is_controlled_by, is_deleting, now};
use crate::Context;

/// The Event source component, as upstream.
const COMPONENT: &str = "replicaset-controller";
/// At most this many pods are created or deleted in one pass (upstream's
/// `BurstReplicas`).
const BURST_REPLICAS: usize = 500;
/// Pod annotation ranking pods for scale-down (lower cost goes first).
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading ReplicaSet {0}: {1}")]
    GetReplicaSet(String, #[source] kube::Error),
    #[error("listing pods in {0}: {1}")]
    ListPods(String, #[source] kube::Error),
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
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let rs_api: Api<ReplicaSet> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let controller = Controller::new(rs_api, watcher::Config::default());
    let store = controller.store();
    let state = Arc::new(State {
        client,
        recorder: ctx.recorder(COMPONENT),
    });
    controller
        .watches(pods, watcher::Config::default(), move |pod: Pod| {
            replica_sets_for_pod(&store.state(), &pod)
        })
        .run(reconcile, error_policy, state)
        .for_each(metrics.count("replicaset"))
        .await;
    Ok(())
}

/// The ReplicaSets a pod change concerns: its controller if that is a
/// ReplicaSet, else (an orphan) every ReplicaSet of its namespace whose
/// selector matches it.
fn replica_sets_for_pod(all: &[Arc<ReplicaSet>], pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = controller_of(pod) {
        if owner.kind == "ReplicaSet" && owner.api_version == "apps/v1" {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    let labels = pod.labels();
    all.iter()
        .filter(|rs| rs.namespace().as_deref() == Some(ns.as_str()))
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

async fn reconcile(cached: Arc<ReplicaSet>, state: Arc<State>) -> Result<Action> {
    let ns = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let rs_api: Api<ReplicaSet> = Api::namespaced(state.client.clone(), &ns);
    let rs = match rs_api.get_opt(&name).await {
        Ok(Some(rs)) => rs,
        Ok(None) => return Ok(Action::await_change()),
        Err(e) => return Err(Error::GetReplicaSet(name, e)),
    };
    let pod_api: Api<Pod> = Api::namespaced(state.client.clone(), &ns);
    let all_pods = pod_api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::ListPods(ns.clone(), e))?;
    let active: Vec<Pod> = all_pods.items.into_iter().filter(is_active).collect();
    let mut pods = claim_pods(&pod_api, &rs, active).await?;

    let desired = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    let mut manage_err = None;
    let mut diff_sign = Ordering::Equal;
    if !is_deleting(&rs) {
        diff_sign = pods.len().cmp(&desired);
        match manage_replicas(&state, &pod_api, &rs, &mut pods, desired).await {
            Ok(()) => {}
            Err(msg) => manage_err = Some(msg),
        }
    }
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let status = compute_status(&rs, &pods, manage_err.as_deref(), diff_sign);
    if status_changed(&rs, &status) {
        let patch = json!({ "status": status });
        rs_api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::UpdateStatus(name.clone(), e))?;
    }
    if let Some(msg) = manage_err {
        return Err(Error::ManageReplicas(name, msg));
    }
    // Pods that are ready but not yet available become so later: look again.
    if min_ready > 0 && status.available < status.ready {
        return Ok(Action::requeue(Duration::from_secs(min_ready as u64)));
    }
    Ok(Action::await_change())
}

/// Pods that count: not finished and not being deleted.
fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded") | Some("Failed")) && !is_deleting(pod)
}

/// Upstream's ControllerRefManager for pods: keep owned pods that match,
/// release owned pods that no longer match, adopt matching orphans.
async fn claim_pods(api: &Api<Pod>, rs: &ReplicaSet, pods: Vec<Pod>) -> Result<Vec<Pod>> {
    let uid = rs.uid().unwrap_or_default();
    let selector = rs
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    let mut claimed = Vec::new();
    for pod in pods {
        let matches = selector_matches(&selector, pod.labels());
        match controller_of(&pod) {
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
                if matches && !is_deleting(rs) {
                    let mut refs = pod.owner_references().to_vec();
                    refs.push(controller_ref(rs));
                    let adopted = patch_owners(api, &pod, refs).await?;
                    claimed.extend(adopted);
                }
            }
        }
    }
    Ok(claimed)
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

/// Create or delete pods to reach `desired`; `pods` is updated to what
/// exists afterwards. Errors come back as the message upstream puts in the
/// ReplicaFailure condition.
async fn manage_replicas(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pods: &mut Vec<Pod>,
    desired: usize,
) -> std::result::Result<(), String> {
    match pods.len().cmp(&desired) {
        Ordering::Equal => Ok(()),
        Ordering::Less => {
            let want = (desired - pods.len()).min(BURST_REPLICAS);
            let template = pod_from_template(rs)?;
            let (created, err) = slow_start(want, |_| {
                let template = template.clone();
                async move { create_pod(state, api, rs, template).await }
            })
            .await;
            pods.extend(created);
            err.map_or(Ok(()), Err)
        }
        Ordering::Greater => {
            let surplus = (pods.len() - desired).min(BURST_REPLICAS);
            rank_for_deletion(pods, jiff::Timestamp::now());
            let doomed: Vec<Pod> = pods.drain(..surplus).collect();
            let results =
                futures::future::join_all(doomed.iter().map(|p| delete_pod(state, api, rs, p)))
                    .await;
            let errors: Vec<String> = results.into_iter().filter_map(|r| r.err()).collect();
            match errors.into_iter().next() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }
}

/// Run `count` calls in batches of 1, 2, 4, ... and stop after the first
/// batch with a failure, as upstream's slowStartBatch.
async fn slow_start<F, Fut>(count: usize, call: F) -> (Vec<Pod>, Option<String>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Option<Pod>, String>>,
{
    let mut done = Vec::new();
    let mut remaining = count;
    let mut batch = 1usize;
    let mut index = 0usize;
    while remaining > 0 {
        let size = batch.min(remaining);
        let results = futures::future::join_all((index..index + size).map(&call)).await;
        index += size;
        remaining -= size;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(Some(p)) => done.push(p),
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if first_err.is_some() {
            return (done, first_err);
        }
        batch *= 2;
    }
    (done, None)
}

/// The pod a ReplicaSet stamps out: the template's labels, annotations,
/// finalizers and spec, `generateName: <rs>-` and the controller reference.
fn pod_from_template(rs: &ReplicaSet) -> std::result::Result<Pod, String> {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .ok_or_else(|| "the ReplicaSet has no pod template".to_string())?;
    let meta = template.metadata.unwrap_or_default();
    let name = rs.name_any();
    let prefix = if name.len() < 253 {
        format!("{name}-")
    } else {
        name
    };
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    })
}

async fn create_pod(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pod: Pod,
) -> std::result::Result<Option<Pod>, String> {
    match api.create(&PostParams::default(), &pod).await {
        Ok(created) => {
            let msg = format!("Created pod: {}", created.name_any());
            state
                .recorder
                .publish(rs, EventType::Normal, "SuccessfulCreate", &msg)
                .await;
            Ok(Some(created))
        }
        Err(e) => {
            let text = api_message(&e);
            // A terminating namespace refuses new pods; upstream stays quiet.
            if text.contains("because it is being terminated") {
                return Ok(None);
            }
            let msg = format!("Error creating: {text}");
            state
                .recorder
                .publish(rs, EventType::Warning, "FailedCreate", &msg)
                .await;
            Err(text)
        }
    }
}

async fn delete_pod(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pod: &Pod,
) -> std::result::Result<(), String> {
    let name = pod.name_any();
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {
            let msg = format!("Deleted pod: {name}");
            state
                .recorder
                .publish(rs, EventType::Normal, "SuccessfulDelete", &msg)
                .await;
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => {
            let text = api_message(&e);
            let msg = format!("Error deleting: {text}");
            state
                .recorder
                .publish(rs, EventType::Warning, "FailedDelete", &msg)
                .await;
            Err(text)
        }
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

// ---- pod state ---------------------------------------------------------------

/// The Ready condition's transition time, if the pod is ready.
pub(crate) fn ready_since(pod: &Pod) -> Option<Option<jiff::Timestamp>> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (cond.status == "True").then(|| cond.last_transition_time.as_ref().map(|t| t.0))
}

fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready` seconds (upstream's IsPodAvailable).
fn is_available(pod: &Pod, min_ready: i32, at: jiff::Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since
            .checked_add(jiff::SignedDuration::from_secs(i64::from(min_ready)))
            .is_ok_and(|t| t <= at),
    }
}

/// Upstream's ActivePodsWithRanks order: the pods to delete first come
/// first.
fn rank_for_deletion(pods: &mut [Pod], at: jiff::Timestamp) {
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for p in pods.iter() {
        *per_node.entry(node_of(p)).or_default() += 1;
    }
    pods.sort_by(|a, b| compare_for_deletion(a, b, &per_node, at));
}

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Running") => 2,
        Some("Unknown") => 1,
        _ => 0,
    }
}

fn deletion_cost(pod: &Pod) -> i64 {
    pod.annotations()
        .get(DELETION_COST)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn compare_for_deletion(
    a: &Pod,
    b: &Pod,
    per_node: &HashMap<String, usize>,
    at: jiff::Timestamp,
) -> Ordering {
    let (na, nb) = (node_of(a), node_of(b));
    // 1. Unscheduled before scheduled.
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let by_phase = phase_rank(a).cmp(&phase_rank(b));
    if by_phase != Ordering::Equal {
        return by_phase;
    }
    // 3. Not ready before ready.
    let by_ready = is_ready(a).cmp(&is_ready(b));
    if by_ready != Ordering::Equal {
        return by_ready;
    }
    // 4. More pods on the same node first.
    let rank = |n: &str| per_node.get(n).copied().unwrap_or(0);
    let by_rank = rank(&nb).cmp(&rank(&na));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    // 5. Lower deletion cost first.
    let by_cost = deletion_cost(a).cmp(&deletion_cost(b));
    if by_cost != Ordering::Equal {
        return by_cost;
    }
    // 6. Ready for less time first.
    if let (Some(Some(ra)), Some(Some(rb))) = (ready_since(a), ready_since(b)) {
        let by_time = rb.min(at).cmp(&ra.min(at));
        if by_time != Ordering::Equal {
            return by_time;
        }
    }
    // 7. More restarts first.
    let by_restarts = restarts(b).cmp(&restarts(a));
    if by_restarts != Ordering::Equal {
        return by_restarts;
    }
    // 8. Newer first (no timestamp counts as newest).
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (created(a), created(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(ta), Some(tb)) => tb.cmp(&ta),
    }
}

// ---- status ------------------------------------------------------------------

#[derive(Debug, Clone, serde::Serialize)]
struct Status {
    replicas: i32,
    #[serde(rename = "fullyLabeledReplicas")]
    fully_labeled: i32,
    #[serde(rename = "readyReplicas")]
    ready: i32,
    #[serde(rename = "availableReplicas")]
    available: i32,
    #[serde(rename = "observedGeneration")]
    observed_generation: i64,
    /// `None` serializes as `null`, which a merge patch reads as "remove".
    conditions: Option<Vec<ReplicaSetCondition>>,
}

fn compute_status(
    rs: &ReplicaSet,
    pods: &[Pod],
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

fn status_changed(rs: &ReplicaSet, s: &Status) -> bool {
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

/// Whether `pod` is controlled by `rs` (used by the deployment controller).
pub(crate) fn owned_by(pod: &Pod, rs: &ReplicaSet) -> bool {
    rs.uid().is_some_and(|uid| is_controlled_by(pod, &uid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, age_secs: i64) -> Pod {
        let at = jiff::Timestamp::from_second(1_000_000 - age_secs).expect("time");
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(Time(at)),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.into()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(at)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn names(pods: &[Pod]) -> Vec<String> {
        pods.iter().map(|p| p.name_any()).collect()
    }

    #[test]
    fn deletion_order_prefers_unscheduled_pending_unready_then_newer() {
        let at = jiff::Timestamp::from_second(1_000_000).expect("time");
        let mut pods = vec![
            pod("running-old", "n1", "Running", true, 100),
            pod("running-new", "n2", "Running", true, 10),
            pod("unready", "n3", "Running", false, 50),
            pod("pending", "n4", "Pending", false, 200),
            pod("unscheduled", "", "Pending", false, 300),
        ];
        rank_for_deletion(&mut pods, at);
        assert_eq!(
            names(&pods),
            [
                "unscheduled",
                "pending",
                "unready",
                "running-new",
                "running-old"
            ]
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let at = jiff::Timestamp::from_second(1_000_000).expect("time");
        let p = pod("p", "n", "Running", true, 5);
        assert!(is_available(&p, 0, at));
        assert!(is_available(&p, 5, at));
        assert!(!is_available(&p, 6, at));
        assert!(!is_available(&pod("q", "n", "Running", false, 50), 0, at));
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
            std::slice::from_ref(&p),
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
        let healed = compute_status(&rs, &[p], None, Ordering::Equal);
        assert!(healed.conditions.is_none());
        assert!(status_changed(&rs, &healed));
        // `null` removes the conditions in a merge patch.
        assert_eq!(
            serde_json::to_value(&healed).expect("json")["conditions"],
            serde_json::Value::Null
        );
    }

    #[tokio::test]
    async fn slow_start_stops_after_the_first_failing_batch() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (done, err) = slow_start(10, |i| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if i == 4 {
                    Err("boom".to_string())
                } else {
                    Ok(Some(Pod::default()))
                }
            }
        })
        .await;
        // Batches 1, 2, 4: the third batch (indices 3..7) holds the failure.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 7);
        assert_eq!(done.len(), 6);
        assert_eq!(err.as_deref(), Some("boom"));
    }
}
