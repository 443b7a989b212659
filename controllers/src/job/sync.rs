//! One sync of an unfinished Job (upstream `syncJob`): count finished pods
//! through `uncountedTerminatedPods`, decide whether the Job succeeded or
//! failed, create or delete pods toward `parallelism`, keep the suspend
//! condition, and write the status.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::ResourceExt;

use super::failure_policy::{self, Verdict};
use super::pods::{self, completion_index, has_finalizer, is_failed, phase};
use super::{backoff, indexes, remove_finalizer, success_policy, Error, State};
use crate::events::EventType;
use crate::util::now;

/// At most this many pods are created or deleted in one sync.
const MAX_BATCH: usize = 500;

const COMPLETIONS_REACHED: &str = "CompletionsReached";
const COMPLETIONS_REACHED_MSG: &str = "Reached expected number of succeeded pods";

/// The Job's fate once decided: success or failure, with the interim
/// condition (`SuccessCriteriaMet`/`FailureTarget`) already written or not.
#[derive(Debug, Clone)]
struct Finished {
    success: bool,
    reason: String,
    message: String,
    interim_written: bool,
}

impl Finished {
    fn new(success: bool, reason: &str, message: &str) -> Finished {
        Finished {
            success,
            reason: reason.into(),
            message: message.into(),
            interim_written: false,
        }
    }

    fn interim_type(&self) -> &'static str {
        if self.success {
            "SuccessCriteriaMet"
        } else {
            "FailureTarget"
        }
    }

    fn final_type(&self) -> &'static str {
        if self.success {
            "Complete"
        } else {
            "Failed"
        }
    }
}

fn condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    at: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(at)),
        last_transition_time: Some(Time(at)),
    }
}

/// Upstream `ensureJobConditionStatus`: set the condition, adding it only
/// when it is not False. Returns whether anything changed.
fn ensure_condition(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    at: Timestamp,
) -> bool {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value
            || c.reason.as_deref() != Some(reason)
            || c.message.as_deref() != Some(message)
        {
            *c = new_condition(type_, value, reason, message, at);
            return true;
        }
        return false;
    }
    if value != "False" {
        conds.push(new_condition(type_, value, reason, message, at));
        return true;
    }
    if conds.is_empty() {
        status.conditions = None;
    }
    false
}

fn uncounted(status: &JobStatus) -> (Vec<String>, Vec<String>) {
    let u = status.uncounted_terminated_pods.clone().unwrap_or_default();
    (
        u.succeeded.unwrap_or_default(),
        u.failed.unwrap_or_default(),
    )
}

fn set_uncounted(status: &mut JobStatus, succeeded: Vec<String>, failed: Vec<String>) {
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: (!succeeded.is_empty()).then_some(succeeded),
        failed: (!failed.is_empty()).then_some(failed),
    });
}

fn add(counter: &mut Option<i32>, n: usize) {
    let total = counter.unwrap_or(0) + i32::try_from(n).unwrap_or(i32::MAX);
    *counter = (total != 0).then_some(total);
}

/// Upstream `cleanUncountedPodsWithoutFinalizers`: pods in the uncounted
/// lists that no longer carry the finalizer move to the counters.
fn clean_uncounted(status: &mut JobStatus, with_finalizer: &HashSet<String>) {
    let (s, f) = uncounted(status);
    let (s_keep, s_done): (Vec<String>, Vec<String>) =
        s.into_iter().partition(|u| with_finalizer.contains(u));
    let (f_keep, f_done): (Vec<String>, Vec<String>) =
        f.into_iter().partition(|u| with_finalizer.contains(u));
    add(&mut status.succeeded, s_done.len());
    add(&mut status.failed, f_done.len());
    set_uncounted(status, s_keep, f_keep);
}

/// What `podFailurePolicy` says of a pod (an ordinary failure without one).
fn verdict(job: &Job, pod: &Pod) -> Verdict {
    match job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref())
    {
        Some(policy) => failure_policy::judge(policy, pod),
        None => Verdict::Count,
    }
}

fn uid(pod: &Pod) -> String {
    pod.uid().unwrap_or_default()
}

/// Active pods in the order upstream removes them: not ready first, then
/// the newest.
fn removal_order(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        pods::is_ready(a)
            .cmp(&pods::is_ready(b))
            .then_with(|| {
                b.creation_timestamp()
                    .map(|t| t.0)
                    .cmp(&a.creation_timestamp().map(|t| t.0))
            })
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
}

struct Ctx<'a> {
    job: &'a Job,
    api: &'a Api<Pod>,
    state: &'a State,
}

/// What deleting or creating pods changed.
#[derive(Default)]
struct Delta {
    removed: i32,
    removed_ready: i32,
    created: i32,
    error: Option<Error>,
}

impl Ctx<'_> {
    async fn event(&self, kind: EventType, reason: &str, message: &str) {
        self.state
            .recorder
            .publish(self.job, kind, reason, message)
            .await;
    }

    /// Delete pods. With `release`, their finalizer goes first so they are
    /// not counted as failures (pods the Job no longer wants); without it
    /// they stay to be counted (pods of a failed Job).
    async fn delete_pods(&self, victims: &[&Pod], release: bool) -> Delta {
        let results = join_all(victims.iter().map(|pod| async move {
            if release && has_finalizer(pod) {
                remove_finalizer(self.api, pod).await?;
            }
            match self
                .api
                .delete(&pod.name_any(), &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    self.event(
                        EventType::Warning,
                        "FailedDelete",
                        &format!("Error deleting: {e}"),
                    )
                    .await;
                    return Err(Error::DeletePod(e, pod.name_any()));
                }
            }
            self.event(
                EventType::Normal,
                "SuccessfulDelete",
                &format!("Deleted pod: {}", pod.name_any()),
            )
            .await;
            Ok(pods::is_ready(pod))
        }))
        .await;
        let mut delta = Delta::default();
        for r in results {
            match r {
                Ok(ready) => {
                    delta.removed += 1;
                    delta.removed_ready += i32::from(ready);
                }
                Err(e) => delta.error = Some(e),
            }
        }
        delta
    }

    async fn create_pods(&self, indexes: Vec<Option<i32>>) -> Delta {
        let results = join_all(indexes.into_iter().map(|ix| async move {
            let pod = pods::new_pod(self.job, ix);
            match self.api.create(&PostParams::default(), &pod).await {
                Ok(created) => {
                    self.event(
                        EventType::Normal,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", created.name_any()),
                    )
                    .await;
                    Ok(())
                }
                Err(e) => {
                    self.event(
                        EventType::Warning,
                        "FailedCreate",
                        &format!("Error creating: {e}"),
                    )
                    .await;
                    Err(Error::CreatePod(e))
                }
            }
        }))
        .await;
        let mut delta = Delta::default();
        for r in results {
            match r {
                Ok(()) => delta.created += 1,
                Err(e) => delta.error = Some(e),
            }
        }
        delta
    }

    async fn write_status(&self, base: &Job, status: &JobStatus) -> Result<Job, Error> {
        let api: Api<Job> = Api::namespaced(
            self.state.client.clone(),
            &self.job.namespace().unwrap_or_default(),
        );
        let mut job = base.clone();
        job.status = Some(status.clone());
        api.replace_status(&job.name_any(), &PostParams::default(), &job)
            .await
            .map_err(Error::UpdateStatus)
    }
}

/// The counts `manageJob` works from and updates.
struct Manage<'a> {
    active: Vec<&'a Pod>,
    succeeded: i32,
    done_indexes: &'a BTreeSet<i32>,
    terminating: i32,
    backoff: backoff::Record,
    now: Timestamp,
}

/// Upstream `manageJob`: delete every pod of a suspended Job; otherwise
/// bring the active pods to what parallelism and the remaining completions
/// allow, respecting the failure back-off. Returns the change and, when
/// waiting for the back-off, how long.
async fn manage_job(cx: &Ctx<'_>, m: Manage<'_>) -> (Delta, Option<Duration>) {
    let spec = cx.job.spec.clone().unwrap_or_default();
    let active = i32::try_from(m.active.len()).unwrap_or(i32::MAX);
    if spec.suspend == Some(true) {
        let mut victims = m.active.clone();
        removal_order(&mut victims);
        return (cx.delete_pods(&victims, true).await, None);
    }
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let want = match spec.completions {
        None if m.succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - m.succeeded).clamp(0, parallelism),
    };
    let completions = spec.completions.unwrap_or(0);

    // Indexed: pods with a bad, finished or duplicated index go first.
    let mut victims: Vec<&Pod> = Vec::new();
    let mut keep: Vec<&Pod> = Vec::new();
    if indexed {
        let mut by_age = m.active.clone();
        by_age.sort_by_key(|p| (!pods::is_ready(p), p.creation_timestamp().map(|t| t.0)));
        let mut seen = BTreeSet::new();
        for pod in by_age {
            match completion_index(pod) {
                Some(i) if i < completions && !m.done_indexes.contains(&i) && seen.insert(i) => {
                    keep.push(pod)
                }
                _ => victims.push(pod),
            }
        }
    } else {
        keep = m.active.clone();
    }
    let kept = i32::try_from(keep.len()).unwrap_or(i32::MAX);
    if kept > want {
        removal_order(&mut keep);
        let extra = usize::try_from(kept - want).unwrap_or(0);
        victims.extend(keep.drain(..extra));
    }
    victims.truncate(MAX_BATCH);
    if !victims.is_empty() {
        return (cx.delete_pods(&victims, true).await, None);
    }
    if active >= want {
        return (Delta::default(), None);
    }
    let wait = m.backoff.remaining(m.now);
    if !wait.is_zero() {
        return (Delta::default(), Some(wait));
    }
    let mut diff = want - active;
    if pods::terminating_block_replacements(cx.job) {
        diff -= m.terminating;
    }
    let diff = usize::try_from(diff).unwrap_or(0).min(MAX_BATCH);
    if diff == 0 {
        return (Delta::default(), None);
    }
    let plan: Vec<Option<i32>> = if indexed {
        let busy: BTreeSet<i32> = keep.iter().filter_map(|p| completion_index(p)).collect();
        indexes::pending(completions, m.done_indexes, &busy, diff)
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; diff]
    };
    (cx.create_pods(plan).await, None)
}

/// What `decide` needs besides the Job and its pods.
struct Counts<'a> {
    failed: i32,
    done_indexes: &'a BTreeSet<i32>,
}

/// The Job's fate from its status and pods: an interim condition already
/// written, a pod failure policy rule, the back-off limit, the active
/// deadline, or the success policy; and, while the deadline is ahead, when
/// to look again.
fn decide(
    job: &Job,
    status: &JobStatus,
    all_pods: &[Pod],
    counts: Counts<'_>,
    now: Timestamp,
) -> (Option<Finished>, Option<Duration>) {
    let spec = job.spec.clone().unwrap_or_default();
    let suspended = spec.suspend == Some(true);
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let completions = spec.completions.unwrap_or(0);
    let failed = counts.failed;
    let mut requeue: Option<Duration> = None;
    let mut finished: Option<Finished> = None;
    for (type_, success) in [("SuccessCriteriaMet", true), ("FailureTarget", false)] {
        if finished.is_none() {
            if let Some(c) = condition(status, type_) {
                finished = Some(Finished {
                    success,
                    reason: c.reason.clone().unwrap_or_default(),
                    message: c.message.clone().unwrap_or_default(),
                    interim_written: true,
                });
            }
        }
    }
    if finished.is_none() {
        let limit = spec.backoff_limit.unwrap_or(6);
        let on_failure_restarts = spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            == Some("OnFailure")
            && {
                let r = pods::restarts(all_pods);
                if limit == 0 {
                    r > 0
                } else {
                    r >= limit
                }
            };
        let deadline = match (spec.active_deadline_seconds, &status.start_time) {
            (Some(secs), Some(start)) if !suspended => {
                start.0.checked_add(SignedDuration::from_secs(secs)).ok()
            }
            _ => None,
        };
        let fail_job =
            all_pods
                .iter()
                .filter(|p| is_failed(p, job))
                .find_map(|p| match verdict(job, p) {
                    Verdict::FailJob(message) => Some(message),
                    _ => None,
                });
        if let Some(message) = fail_job {
            finished = Some(Finished::new(false, "PodFailurePolicy", &message));
        } else if failed > limit || on_failure_restarts {
            finished = Some(Finished::new(
                false,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ));
        } else if deadline.is_some_and(|d| now >= d) {
            finished = Some(Finished::new(
                false,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ));
        } else if let Some(d) = deadline {
            requeue = Some(d.duration_since(now).unsigned_abs() + Duration::from_millis(50));
        }
    }

    if finished.is_none() && indexed {
        let policy = spec.success_policy.as_ref();
        if let Some(message) =
            policy.and_then(|p| success_policy::matched(p, completions, counts.done_indexes))
        {
            finished = Some(Finished::new(true, "SuccessPolicy", &message));
        }
    }
    (finished, requeue)
}

pub(super) async fn sync_job(
    job: &Job,
    all_pods: Vec<Pod>,
    api: &Api<Pod>,
    state: &State,
) -> Result<Action, Error> {
    let cx = Ctx { job, api, state };
    let spec = job.spec.clone().unwrap_or_default();
    let job_uid = job.uid().unwrap_or_default();
    let now = now().0;
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let suspended = spec.suspend == Some(true);
    let deleting = job.metadata.deletion_timestamp.is_some();
    let completions = spec.completions.unwrap_or(0);
    let mut status = job.status.clone().unwrap_or_default();

    // Count: what the status says, what is on the way, what just finished.
    let with_finalizer: HashSet<String> = all_pods
        .iter()
        .filter(|p| has_finalizer(p))
        .map(uid)
        .collect();
    clean_uncounted(&mut status, &with_finalizer);
    let (unc_s, unc_f) = uncounted(&status);
    let tracked =
        |p: &&Pod| has_finalizer(p) && !unc_s.contains(&uid(p)) && !unc_f.contains(&uid(p));
    let new_succeeded: Vec<&Pod> = all_pods
        .iter()
        .filter(tracked)
        .filter(|p| phase(p) == "Succeeded")
        .collect();
    let new_failed: Vec<&Pod> = all_pods
        .iter()
        .filter(tracked)
        .filter(|p| is_failed(p, job) && verdict(job, p) != Verdict::Ignore)
        .collect();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut succeeded = status.succeeded.unwrap_or(0) + count(new_succeeded.len() + unc_s.len());
    let failed = status.failed.unwrap_or(0) + count(new_failed.len() + unc_f.len());
    if status.start_time.is_none() && !suspended {
        status.start_time = Some(Time(now));
    }
    let finish = |ps: &[&Pod]| {
        ps.iter()
            .map(|p| pods::finish_time(p, now))
            .collect::<Vec<_>>()
    };
    let record = state
        .backoff
        .get(&job_uid)
        .with(&finish(&new_succeeded), &finish(&new_failed));

    let mut done_indexes = BTreeSet::new();
    if indexed {
        done_indexes = indexes::parse(
            status.completed_indexes.as_deref().unwrap_or(""),
            completions,
        );
        done_indexes.extend(
            all_pods
                .iter()
                .filter(|p| phase(p) == "Succeeded")
                .filter_map(completion_index)
                .filter(|i| *i < completions),
        );
        succeeded = count(done_indexes.len());
    }

    // Decide the Job's fate.
    let (mut finished, mut requeue) = decide(
        job,
        &status,
        &all_pods,
        Counts {
            failed,
            done_indexes: &done_indexes,
        },
        now,
    );
    let active_pods: Vec<&Pod> = all_pods.iter().filter(|p| pods::is_active(p)).collect();
    let mut active = count(active_pods.len());
    let mut ready = count(active_pods.iter().filter(|p| pods::is_ready(p)).count());
    let mut terminating = count(all_pods.iter().filter(|p| pods::is_terminating(p)).count());
    let mut pending_error: Option<Error> = None;
    let mut suspend_event: Option<(&str, &str)> = None;
    if finished.is_some() {
        let delta = cx.delete_pods(&active_pods, false).await;
        if delta.removed != active {
            finished = None;
        }
        active -= delta.removed;
        ready -= delta.removed_ready;
        terminating += delta.removed;
        pending_error = delta.error;
    } else {
        let mut managed = false;
        if !deleting {
            let (delta, wait) = manage_job(
                &cx,
                Manage {
                    active: active_pods.clone(),
                    succeeded,
                    done_indexes: &done_indexes,
                    terminating,
                    backoff: record,
                    now,
                },
            )
            .await;
            active += delta.created - delta.removed;
            ready -= delta.removed_ready;
            terminating += delta.removed;
            pending_error = delta.error;
            requeue = match (requeue, wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            managed = true;
        }
        let complete = match spec.completions {
            None => succeeded > 0 && active == 0,
            Some(c) => succeeded >= c && active == 0,
        };
        if complete {
            finished = Some(Finished::new(
                true,
                COMPLETIONS_REACHED,
                COMPLETIONS_REACHED_MSG,
            ));
        } else if managed && suspended {
            if ensure_condition(
                &mut status,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                now,
            ) {
                suspend_event = Some(("Suspended", "Job suspended"));
            }
        } else if managed
            && ensure_condition(
                &mut status,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                now,
            )
        {
            suspend_event = Some(("Resumed", "Job resumed"));
            // activeDeadlineSeconds counts continuous activity.
            status.start_time = Some(Time(now));
        }
    }
    status.active = (active != 0).then_some(active);
    status.ready = Some(ready.max(0));
    status.terminating = Some(terminating.max(0));

    // Record newly finished pods as uncounted before releasing them.
    let (mut unc_s, mut unc_f) = uncounted(&status);
    let known_failed: HashSet<String> = unc_f.iter().cloned().collect();
    let mut release: Vec<&Pod> = Vec::new();
    for pod in all_pods.iter().filter(|p| has_finalizer(p)) {
        let failed_pod = is_failed(pod, job);
        if !(deleting || finished.is_some() || phase(pod) == "Succeeded" || failed_pod) {
            continue;
        }
        release.push(pod);
        let id = uid(pod);
        if phase(pod) == "Succeeded" && !known_failed.contains(&id) {
            if !indexed && !unc_s.contains(&id) {
                unc_s.push(id);
            }
        } else if failed_pod || finished.as_ref().is_some_and(|f| !f.success) {
            let index_ok = !indexed || completion_index(pod).is_some_and(|i| i < completions);
            if !unc_f.contains(&id) && index_ok && verdict(job, pod) != Verdict::Ignore {
                unc_f.push(id);
            }
        }
    }
    set_uncounted(&mut status, unc_s, unc_f);
    if indexed {
        status.completed_indexes = Some(indexes::format(&done_indexes));
        status.succeeded = (succeeded != 0).then_some(succeeded);
    }
    if let Some(f) = finished.as_mut() {
        if !f.interim_written {
            let c = new_condition(f.interim_type(), "True", &f.reason, &f.message, now);
            status.conditions.get_or_insert_with(Vec::new).push(c);
            f.interim_written = true;
        }
    }
    let mut current = job.clone();
    if !release.is_empty() && job.status.as_ref() != Some(&status) {
        current = cx.write_status(&current, &status).await?;
    }
    state.backoff.set(&job_uid, record);

    // Release the finalizers, then move what was released to the counters.
    let released = join_all(release.iter().map(|p| remove_finalizer(api, p))).await;
    let mut still_held = with_finalizer;
    for (pod, r) in release.iter().zip(released) {
        match r {
            Ok(()) => {
                still_held.remove(&uid(pod));
            }
            Err(e) => pending_error = Some(e),
        }
    }
    clean_uncounted(&mut status, &still_held);

    // The terminal condition, once every pod is counted and gone.
    let mut finished_now: Option<Finished> = None;
    if let Some(f) = finished {
        let (s, fl) = uncounted(&status);
        if s.is_empty() && fl.is_empty() && terminating <= 0 && pending_error.is_none() {
            ensure_condition(
                &mut status,
                f.final_type(),
                "True",
                &f.reason,
                &f.message,
                now,
            );
            if f.success {
                status.completion_time = Some(Time(now));
            }
            finished_now = Some(f);
        }
    }
    if current.status.as_ref() != Some(&status) {
        cx.write_status(&current, &status).await?;
    }
    if let Some((reason, message)) = suspend_event {
        cx.event(EventType::Normal, reason, message).await;
    }
    if let Some(f) = finished_now {
        if f.success {
            if spec.completions.is_some_and(|c| succeeded > c) {
                cx.event(
                    EventType::Warning,
                    "TooManySucceededPods",
                    "Too many succeeded pods running after completion count reached",
                )
                .await;
            }
            cx.event(EventType::Normal, "Completed", "Job completed")
                .await;
        } else {
            cx.event(EventType::Warning, &f.reason, &f.message).await;
        }
        state.backoff.forget(&job_uid);
    }
    if let Some(e) = pending_error {
        return Err(e);
    }
    Ok(match requeue {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncounted_pods_without_finalizer_move_to_counters() {
        let mut status = JobStatus {
            succeeded: Some(1),
            ..JobStatus::default()
        };
        set_uncounted(&mut status, vec!["a".into(), "b".into()], vec!["c".into()]);
        let held: HashSet<String> = ["b".to_string()].into();
        clean_uncounted(&mut status, &held);
        assert_eq!(status.succeeded, Some(2));
        assert_eq!(status.failed, Some(1));
        assert_eq!(uncounted(&status), (vec!["b".to_string()], vec![]));
    }

    fn job(spec: serde_json::Value, status: serde_json::Value) -> Job {
        let mut spec = spec;
        spec["template"] =
            serde_json::json!({"spec": {"restartPolicy": "Never", "containers": []}});
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "j", "namespace": "ns"}, "spec": spec, "status": status
        }))
        .expect("job")
    }

    fn fate(job: &Job, failed: i32, now: &str) -> (Option<(bool, String)>, Option<Duration>) {
        let status = job.status.clone().unwrap_or_default();
        let done = BTreeSet::new();
        let counts = Counts {
            failed,
            done_indexes: &done,
        };
        let (f, r) = decide(job, &status, &[], counts, now.parse().expect("now"));
        (f.map(|f| (f.success, f.reason)), r)
    }

    #[test]
    fn backoff_limit_then_deadline() {
        let j = job(
            serde_json::json!({"backoffLimit": 1, "activeDeadlineSeconds": 10}),
            serde_json::json!({"startTime": "2026-01-01T00:00:00Z"}),
        );
        let before = "2026-01-01T00:00:04Z";
        let after = "2026-01-01T00:00:10Z";
        assert_eq!(
            fate(&j, 1, before),
            (None, Some(Duration::from_millis(6050)))
        );
        assert_eq!(
            fate(&j, 2, before).0,
            Some((false, "BackoffLimitExceeded".into()))
        );
        assert_eq!(
            fate(&j, 0, after).0,
            Some((false, "DeadlineExceeded".into()))
        );
        assert_eq!(
            fate(&j, 2, after).0,
            Some((false, "BackoffLimitExceeded".into()))
        );
        // Suspended Jobs have no deadline.
        let s = job(
            serde_json::json!({"suspend": true, "activeDeadlineSeconds": 10}),
            serde_json::json!({"startTime": "2026-01-01T00:00:00Z"}),
        );
        assert_eq!(fate(&s, 0, after), (None, None));
    }

    #[test]
    fn interim_conditions_decide_again() {
        let j = job(
            serde_json::json!({}),
            serde_json::json!({"conditions": [{"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}]}),
        );
        assert_eq!(
            fate(&j, 0, "2026-01-01T00:00:00Z").0,
            Some((false, "DeadlineExceeded".into()))
        );
        let j = job(
            serde_json::json!({}),
            serde_json::json!({"conditions": [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"}]}),
        );
        assert_eq!(
            fate(&j, 9, "2026-01-01T00:00:00Z").0,
            Some((true, "CompletionsReached".into()))
        );
    }

    #[test]
    fn conditions_are_added_only_when_not_false() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("ts");
        let mut status = JobStatus::default();
        assert!(!ensure_condition(
            &mut status,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            now
        ));
        assert!(ensure_condition(
            &mut status,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            now
        ));
        assert!(!ensure_condition(
            &mut status,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            now
        ));
        assert!(ensure_condition(
            &mut status,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            now
        ));
        let c = condition(&status, "Suspended");
        assert!(c.is_none(), "Suspended is False now");
    }
}
