//! The disruption controller (upstream `pkg/controller/disruption`): keeps
//! each PodDisruptionBudget's status (expected, healthy and desired pods,
//! disruptions allowed, the `DisruptionAllowed` condition) current, so that
//! evictions (`kubectl drain`) can respect it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{ListParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};

use crate::events::EventType;
use crate::{podutil, util, Context};

/// How long an eviction recorded in `disruptedPods` waits for its pod to be
/// deleted before the pod counts again (upstream `DeletionTimeout`).
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: {1}")]
    Api(&'static str, #[source] kube::Error),
    #[error("{0}")]
    Expected(String),
}

struct State {
    ctx: Arc<Context>,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    let controller = Controller::new(
        Api::<PodDisruptionBudget>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let controller = controller.watches(
        Api::<Pod>::all(client),
        watcher::Config::default(),
        move |pod: Pod| {
            let ns = pod.namespace().unwrap_or_default();
            store
                .state()
                .into_iter()
                .filter(|pdb| pdb.namespace().as_deref() == Some(ns.as_str()))
                .filter(|pdb| selector_of(pdb).is_some_and(|s| s.matches(pod.labels())))
                .map(|pdb| ObjectRef::from_obj(&*pdb))
                .collect::<Vec<_>>()
        },
    );
    let state = Arc::new(State { ctx });
    let metrics = state.ctx.metrics.clone();
    metrics
        .drive("disruption", controller.run(reconcile, error_policy, state))
        .await;
    Ok(())
}

/// The budget's selector; `None` (no selector) selects no pods, `{}` all.
fn selector_of(pdb: &PodDisruptionBudget) -> Option<Selector> {
    let sel = pdb.spec.as_ref()?.selector.clone()?;
    Selector::try_from(sel).ok()
}

fn error_policy(_pdb: Arc<PodDisruptionBudget>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "disruption: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(pdb: Arc<PodDisruptionBudget>, state: Arc<State>) -> Result<Action, Error> {
    if util::is_deleting(&*pdb) {
        return Ok(Action::await_change());
    }
    let client = state.ctx.client.clone();
    let ns = pdb.namespace().unwrap_or_default();
    let pods: Vec<Pod> = match selector_of(&pdb) {
        Some(sel) => {
            Api::<Pod>::namespaced(client.clone(), &ns)
                .list(&ListParams::default().labels_from(&sel))
                .await
                .map_err(|e| Error::Api("listing pods", e))?
                .items
        }
        None => Vec::new(),
    };
    let recorder = state.ctx.recorder("controllermanager");
    if pods.is_empty() {
        recorder
            .publish(&*pdb, EventType::Normal, "NoPods", "No matching pods found")
            .await;
    }
    let now = jiff::Timestamp::now();
    let (disrupted, recheck) = disrupted_pods(&pdb, &pods, now);
    let counts = match expected_counts(&client, &pdb, &pods).await {
        Ok(c) => Some(c),
        Err(e) => {
            recorder
                .publish(
                    &*pdb,
                    EventType::Warning,
                    "CalculateExpectedPodCountFailed",
                    &format!("Failed to calculate the number of expected pods: {e}"),
                )
                .await;
            None
        }
    };
    let healthy = pods
        .iter()
        .filter(|p| !podutil::is_terminating(p))
        .filter(|p| !disrupted.contains_key(&p.name_any()))
        .filter(|p| podutil::is_ready(p))
        .count() as i32;
    let status = next_status(&pdb, counts, healthy, disrupted);
    if pdb.status.as_ref() != Some(&status) {
        let mut updated = (*pdb).clone();
        updated.status = Some(status);
        Api::<PodDisruptionBudget>::namespaced(client, &ns)
            .replace_status(&pdb.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(|e| Error::Api("writing status", e))?;
    }
    Ok(match recheck {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Evictions still waiting for their pod to go, and when the oldest of them
/// expires (upstream `buildDisruptedPodMap`).
fn disrupted_pods(
    pdb: &PodDisruptionBudget,
    pods: &[Pod],
    now: jiff::Timestamp,
) -> (BTreeMap<String, Time>, Option<Duration>) {
    let recorded = pdb
        .status
        .as_ref()
        .and_then(|s| s.disrupted_pods.clone())
        .unwrap_or_default();
    let mut kept = BTreeMap::new();
    let mut recheck: Option<Duration> = None;
    for pod in pods {
        if podutil::is_terminating(pod) {
            continue;
        }
        let name = pod.name_any();
        let Some(at) = recorded.get(&name) else {
            continue;
        };
        let expires = at.0 + jiff::SignedDuration::try_from(DELETION_TIMEOUT).unwrap_or_default();
        if expires <= now {
            continue;
        }
        let left = now.duration_until(expires).unsigned_abs();
        recheck = Some(recheck.map_or(left, |r| r.min(left)));
        kept.insert(name, at.clone());
    }
    (kept, recheck)
}

/// Expected pods and desired healthy pods (upstream `getExpectedPodCount`).
async fn expected_counts(
    client: &kube::Client,
    pdb: &PodDisruptionBudget,
    pods: &[Pod],
) -> Result<(i32, i32), Error> {
    let spec = pdb.spec.clone().unwrap_or_default();
    if let Some(max_unavailable) = &spec.max_unavailable {
        let expected = expected_scale(client, pdb, pods).await?;
        let max = scaled(max_unavailable, expected)?;
        return Ok((expected, (expected - max).max(0)));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((pods.len() as i32, *n)),
        Some(pct @ IntOrString::String(_)) => {
            let expected = expected_scale(client, pdb, pods).await?;
            Ok((expected, scaled(pct, expected)?))
        }
        None => Ok((pods.len() as i32, 0)),
    }
}

/// An int, or a percentage of `total` rounded up.
fn scaled(v: &IntOrString, total: i32) -> Result<i32, Error> {
    match v {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    Error::Expected(format!(
                        "invalid value for IntOrString: invalid value {s:?}"
                    ))
                })?;
            Ok(((pct * i64::from(total) + 99) / 100) as i32)
        }
    }
}

/// The sum of the replicas of the pods' controllers (upstream
/// `getExpectedScale`): Deployments (through their ReplicaSets),
/// ReplicaSets, StatefulSets and ReplicationControllers.
async fn expected_scale(
    client: &kube::Client,
    pdb: &PodDisruptionBudget,
    pods: &[Pod],
) -> Result<i32, Error> {
    let ns = pdb.namespace().unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for pod in pods {
        let Some(owner) = util::controller_of(pod) else {
            return Err(Error::Expected(format!(
                "found no controllers for pod {:?}",
                pod.name_any()
            )));
        };
        let replicas = match owner.kind.as_str() {
            "ReplicaSet" => {
                let rs = Api::<ReplicaSet>::namespaced(client.clone(), &ns)
                    .get(&owner.name)
                    .await
                    .map_err(|e| Error::Api("reading a ReplicaSet", e))?;
                match util::controller_of(&rs).filter(|o| o.kind == "Deployment") {
                    Some(dep) => {
                        if !seen.insert(dep.uid.clone()) {
                            continue;
                        }
                        let d = Api::<Deployment>::namespaced(client.clone(), &ns)
                            .get(&dep.name)
                            .await
                            .map_err(|e| Error::Api("reading a Deployment", e))?;
                        d.spec.and_then(|s| s.replicas).unwrap_or(1)
                    }
                    None => {
                        if !seen.insert(owner.uid.clone()) {
                            continue;
                        }
                        rs.spec.and_then(|s| s.replicas).unwrap_or(1)
                    }
                }
            }
            "StatefulSet" | "ReplicationController" if !seen.insert(owner.uid.clone()) => continue,
            "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), &ns)
                .get(&owner.name)
                .await
                .map_err(|e| Error::Api("reading a StatefulSet", e))?
                .spec
                .and_then(|s| s.replicas)
                .unwrap_or(1),
            "ReplicationController" => {
                Api::<ReplicationController>::namespaced(client.clone(), &ns)
                    .get(&owner.name)
                    .await
                    .map_err(|e| Error::Api("reading a ReplicationController", e))?
                    .spec
                    .and_then(|s| s.replicas)
                    .unwrap_or(1)
            }
            other => {
                return Err(Error::Expected(format!(
                    "controllers of kind {other} have no scale ferrokube knows"
                )))
            }
        };
        total += replicas;
    }
    Ok(total)
}

/// The status to write: counts, allowed disruptions and the condition.
/// Without expected counts (a failure) nothing may be disrupted.
fn next_status(
    pdb: &PodDisruptionBudget,
    counts: Option<(i32, i32)>,
    healthy: i32,
    disrupted: BTreeMap<String, Time>,
) -> PodDisruptionBudgetStatus {
    let old = pdb.status.clone().unwrap_or_default();
    let generation = pdb.metadata.generation;
    let (expected, desired, allowed, reason) = match counts {
        Some((expected, desired)) => {
            let allowed = healthy - desired;
            let allowed = if expected <= 0 || allowed <= 0 {
                0
            } else {
                allowed
            };
            let reason = if allowed > 0 {
                "SufficientPods"
            } else {
                "InsufficientPods"
            };
            (expected, desired, allowed, reason)
        }
        None => (old.expected_pods, old.desired_healthy, 0, "SyncFailed"),
    };
    let status = if allowed > 0 { "True" } else { "False" };
    let mut conditions = old.conditions.clone().unwrap_or_default();
    match conditions
        .iter_mut()
        .find(|c| c.type_ == "DisruptionAllowed")
    {
        Some(c) if c.status == status && c.reason == reason => {
            c.observed_generation = generation;
        }
        Some(c) => {
            *c = condition(status, reason, generation);
        }
        None => conditions.push(condition(status, reason, generation)),
    }
    PodDisruptionBudgetStatus {
        current_healthy: healthy,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        observed_generation: generation,
        conditions: Some(conditions),
    }
}

fn condition(status: &str, reason: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: "DisruptionAllowed".into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: generation,
        last_transition_time: util::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled(&IntOrString::String("50%".into()), 3).ok(), Some(2));
        assert_eq!(scaled(&IntOrString::String("10%".into()), 10).ok(), Some(1));
        assert_eq!(scaled(&IntOrString::Int(2), 10).ok(), Some(2));
        assert!(scaled(&IntOrString::String("x".into()), 10).is_err());
    }

    #[test]
    fn allowed_disruptions() {
        let pdb = PodDisruptionBudget::default();
        let s = next_status(&pdb, Some((3, 2)), 3, BTreeMap::new());
        assert_eq!(
            (s.disruptions_allowed, s.current_healthy, s.desired_healthy),
            (1, 3, 2)
        );
        let c = &s.conditions.unwrap_or_default()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "SufficientPods")
        );
        let s = next_status(&pdb, Some((3, 2)), 2, BTreeMap::new());
        assert_eq!(s.disruptions_allowed, 0);
        let s = next_status(&pdb, None, 3, BTreeMap::new());
        assert_eq!(s.disruptions_allowed, 0);
        assert_eq!(s.conditions.unwrap_or_default()[0].reason, "SyncFailed");
    }
}
