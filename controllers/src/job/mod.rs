//! The Job controller (upstream `pkg/controller/job`) and the TTL of
//! finished Jobs (upstream `pkg/controller/ttlafterfinished`).
//!
//! Pods are created from the template with the `batch.kubernetes.io/job-tracking`
//! finalizer; a finished pod is first recorded in
//! `status.uncountedTerminatedPods`, then its finalizer is removed, then it
//! moves to the `succeeded`/`failed` counters, so a pod deleted at any point
//! is still counted exactly once. A pod watcher releases the finalizer of
//! pods whose Job is gone.

mod backoff;
mod failure_policy;
mod indexes;
mod pods;
mod success_policy;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::runtime::controller::Action;
use kube::runtime::{watcher, Controller, WatchStreamExt};
use kube::ResourceExt;

use crate::events::Recorder;
use crate::util::{controller_of, is_deleting, now};
use crate::Context;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading the job: {0}")]
    GetJob(#[source] kube::Error),
    #[error("listing pods: {0}")]
    ListPods(#[source] kube::Error),
    #[error("creating pods: {0}")]
    CreatePod(#[source] kube::Error),
    #[error("deleting pod {1}: {0}")]
    DeletePod(#[source] kube::Error, String),
    #[error("removing the tracking finalizer of pod {1}: {0}")]
    RemoveFinalizer(#[source] kube::Error, String),
    #[error("updating job status: {0}")]
    UpdateStatus(#[source] kube::Error),
    #[error("deleting finished job: {0}")]
    DeleteJob(#[source] kube::Error),
}

pub(crate) struct State {
    client: kube::Client,
    recorder: Recorder,
    backoff: backoff::Store,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let state = Arc::new(State {
        client: client.clone(),
        recorder: ctx.recorder("job-controller"),
        backoff: backoff::Store::default(),
    });
    let controller = Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .run(reconcile, error_policy, state)
        .for_each(metrics.count("job"));
    tokio::join!(controller, release_orphans(client));
    Ok(())
}

fn error_policy(_job: Arc<Job>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "job: retrying");
    Action::requeue(Duration::from_millis(500))
}

/// The Job's terminal condition (`Complete` or `Failed`), if it has one.
fn terminal_condition(job: &Job) -> Option<&k8s_openapi::api::batch::v1::JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

async fn reconcile(cached: Arc<Job>, state: Arc<State>) -> Result<Action, Error> {
    let ns = cached.namespace().unwrap_or_default();
    // Decide from the stored Job, not the cache: a cached status that lags
    // our own last write would undercount and create pods twice.
    let jobs: Api<Job> = Api::namespaced(state.client.clone(), &ns);
    let job = match jobs
        .get_opt(&cached.name_any())
        .await
        .map_err(Error::GetJob)?
    {
        Some(job) if job.uid() == cached.uid() => job,
        _ => return Ok(Action::await_change()),
    };
    let uid = job.uid().unwrap_or_default();
    let pods_api: Api<Pod> = Api::namespaced(state.client.clone(), &ns);
    let Some(selector) = job.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return Ok(Action::await_change());
    };
    let lp = ListParams::default().labels(&pods::selector_string(selector));
    let owned: Vec<Pod> = pods_api
        .list(&lp)
        .await
        .map_err(Error::ListPods)?
        .items
        .into_iter()
        .filter(|p| controller_of(p).is_some_and(|r| r.uid == uid))
        .collect();
    if terminal_condition(&job).is_some() {
        state.backoff.forget(&uid);
        for pod in owned.iter().filter(|p| pods::has_finalizer(p)) {
            remove_finalizer(&pods_api, pod).await?;
        }
        return after_finished(&job, &state).await;
    }
    sync::sync_job(&job, owned, &pods_api, &state).await
}

/// `ttlSecondsAfterFinished`: delete the Job (Background) once it has been
/// finished that long, else come back then.
async fn after_finished(job: &Job, state: &State) -> Result<Action, Error> {
    let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else {
        return Ok(Action::await_change());
    };
    if is_deleting(job) {
        return Ok(Action::await_change());
    }
    let Some(expire) = expiry(job, ttl) else {
        return Ok(Action::await_change());
    };
    let now = now().0;
    if now < expire {
        let wait = expire.duration_since(now).unsigned_abs() + Duration::from_millis(50);
        return Ok(Action::requeue(wait));
    }
    let api: Api<Job> = Api::namespaced(state.client.clone(), &job.namespace().unwrap_or_default());
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            uid: job.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&job.name_any(), &dp).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(Action::await_change()),
        Err(e) => Err(Error::DeleteJob(e)),
    }
}

/// When a finished Job expires: its finish time (completionTime, or the
/// terminal condition's transition) plus the TTL.
fn expiry(job: &Job, ttl: i32) -> Option<Timestamp> {
    let cond = terminal_condition(job)?;
    let finished = match (&job.status.as_ref()?.completion_time, cond.type_.as_str()) {
        (Some(t), "Complete") => t.0,
        _ => cond.last_transition_time.as_ref()?.0,
    };
    finished
        .checked_add(SignedDuration::from_secs(i64::from(ttl)))
        .ok()
}

/// Remove the tracking finalizer (a 404 means the pod is gone: done).
async fn remove_finalizer(api: &Api<Pod>, pod: &Pod) -> Result<(), Error> {
    let kept: Vec<String> = pod
        .finalizers()
        .iter()
        .filter(|f| *f != pods::TRACKING_FINALIZER)
        .cloned()
        .collect();
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": pod.resource_version(),
            "finalizers": kept,
        }
    });
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::RemoveFinalizer(e, pod.name_any())),
    }
}

/// Release the tracking finalizer of finished or deleted pods whose Job no
/// longer exists (the Job controller only visits existing Jobs).
async fn release_orphans(client: kube::Client) {
    let all: Api<Pod> = Api::all(client.clone());
    let mut stream = watcher(all, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = stream.next().await {
        let Ok(pod) = event else { continue };
        if !pods::has_finalizer(&pod)
            || !(pods::is_terminal(&pod) || pod.metadata.deletion_timestamp.is_some())
        {
            continue;
        }
        let ns = pod.namespace().unwrap_or_default();
        let owner = controller_of(&pod).filter(|r| r.kind == "Job").cloned();
        let orphan = match owner {
            None => true,
            Some(r) => {
                let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
                match jobs.get_opt(&r.name).await {
                    Ok(Some(j)) => j.uid().as_deref() != Some(r.uid.as_str()),
                    Ok(None) => true,
                    Err(_) => false,
                }
            }
        };
        if orphan {
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            if let Err(e) = remove_finalizer(&api, &pod).await {
                tracing::debug!(error = %e, "releasing orphan job pod");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_counts_from_completion_or_failure() {
        let complete: Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a"},
            "status": {
                "completionTime": "2026-01-01T00:00:10Z",
                "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:00:11Z"}]
            }
        }))
        .expect("job");
        assert_eq!(expiry(&complete, 5), "2026-01-01T00:00:15Z".parse().ok());
        let failed: Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a"},
            "status": {
                "conditions": [
                    {"type": "FailureTarget", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
                    {"type": "Failed", "status": "True", "lastTransitionTime": "2026-01-01T00:00:02Z"}
                ]
            }
        }))
        .expect("job");
        assert_eq!(expiry(&failed, 0), "2026-01-01T00:00:02Z".parse().ok());
        let running: Job =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "a"}})).expect("job");
        assert_eq!(expiry(&running, 0), None);
    }
}
