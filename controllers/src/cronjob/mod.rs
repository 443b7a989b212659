//! The CronJob controller (upstream `pkg/controller/cronjob`, v2): at each
//! scheduled time it creates a Job from `spec.jobTemplate` named
//! `<cronjob>-<minutes since epoch>`, honours `concurrencyPolicy`, `suspend`
//! and `startingDeadlineSeconds`, keeps `status.active`,
//! `lastScheduleTime` and `lastSuccessfulTime`, deletes finished Jobs beyond
//! the history limits, and requeues itself for the next scheduled time.

mod policy;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::{watcher, Controller};
use kube::ResourceExt;

use crate::events::{EventType, Recorder};
use crate::util::{controller_ref, is_controlled_by, is_deleting, now};
use crate::Context;
use policy::Start;
use schedule::Schedule;

const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading the cronjob: {0}")]
    GetCronJob(#[source] kube::Error),
    #[error("listing jobs: {0}")]
    ListJobs(#[source] kube::Error),
    #[error("creating job {1}: {0}")]
    CreateJob(#[source] kube::Error, String),
    #[error("deleting job {1}: {0}")]
    DeleteJob(#[source] kube::Error, String),
    #[error("reading job {1}: {0}")]
    GetJob(#[source] kube::Error, String),
    #[error("updating cronjob status: {0}")]
    UpdateStatus(#[source] kube::Error),
}

struct State {
    client: kube::Client,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let state = Arc::new(State {
        client: client.clone(),
        recorder: ctx.recorder("cronjob-controller"),
    });
    Controller::new(
        Api::<CronJob>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Job>::all(client), watcher::Config::default())
    .run(reconcile, error_policy, state)
    .for_each(metrics.count("cronjob"))
    .await;
    Ok(())
}

fn error_policy(_cj: Arc<CronJob>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "cronjob: retrying");
    Action::requeue(Duration::from_secs(1))
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The job's terminal condition type (`Complete` or `Failed`), if any.
fn finished(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

struct Sync<'a> {
    cj: &'a CronJob,
    spec: CronJobSpec,
    status: CronJobStatus,
    jobs_api: Api<Job>,
    recorder: &'a Recorder,
}

impl Sync<'_> {
    fn in_active(&self, uid: &str) -> bool {
        self.status
            .active
            .iter()
            .flatten()
            .any(|r| r.uid.as_deref() == Some(uid))
    }

    fn remove_active(&mut self, uid: &str) {
        if let Some(active) = self.status.active.as_mut() {
            active.retain(|r| r.uid.as_deref() != Some(uid));
        }
    }

    async fn event(&self, kind: EventType, reason: &str, message: &str) {
        self.recorder.publish(self.cj, kind, reason, message).await;
    }

    /// Reconcile `status.active` and `lastSuccessfulTime` with the Jobs.
    async fn observe_jobs(&mut self, jobs: &[Job]) -> Result<(), Error> {
        for job in jobs {
            let uid = job.uid().unwrap_or_default();
            let done = finished(job);
            let found = self.in_active(&uid);
            if !found && done.is_none() {
                self.event(
                    EventType::Warning,
                    "UnexpectedJob",
                    &format!(
                        "Saw a job that the controller did not create or forgot: {}",
                        job.name_any()
                    ),
                )
                .await;
            } else if let (true, Some(cond)) = (found, done) {
                self.remove_active(&uid);
                self.event(
                    EventType::Normal,
                    "SawCompletedJob",
                    &format!("Saw completed job: {}, condition: {cond}", job.name_any()),
                )
                .await;
            }
            if done == Some("Complete") {
                let completed = job.status.as_ref().and_then(|s| s.completion_time.clone());
                if let Some(t) = completed {
                    if self
                        .status
                        .last_successful_time
                        .as_ref()
                        .is_none_or(|l| t.0 > l.0)
                    {
                        self.status.last_successful_time = Some(t);
                    }
                }
            }
        }
        // Active references whose Job is gone.
        let refs: Vec<ObjectReference> = self.status.active.clone().unwrap_or_default();
        for r in refs {
            let uid = r.uid.clone().unwrap_or_default();
            if jobs
                .iter()
                .any(|j| j.uid().as_deref() == Some(uid.as_str()))
            {
                continue;
            }
            let name = r.name.clone().unwrap_or_default();
            match self.jobs_api.get_opt(&name).await {
                Ok(Some(j)) if j.uid().as_deref() == Some(uid.as_str()) => {}
                Ok(_) => {
                    self.event(
                        EventType::Normal,
                        "MissingJob",
                        &format!("Active job went missing: {name}"),
                    )
                    .await;
                    self.remove_active(&uid);
                }
                Err(e) => return Err(Error::GetJob(e, name)),
            }
        }
        Ok(())
    }

    async fn delete_job(&mut self, name: &str, uid: &str) -> Result<(), Error> {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match self.jobs_api.delete(name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                self.event(
                    EventType::Warning,
                    "FailedDelete",
                    &format!("Deleted job: {e}"),
                )
                .await;
                return Err(Error::DeleteJob(e, name.to_string()));
            }
        }
        self.remove_active(uid);
        self.event(
            EventType::Normal,
            "SuccessfulDelete",
            &format!("Deleted job {name}"),
        )
        .await;
        Ok(())
    }

    /// Delete finished Jobs beyond `successfulJobsHistoryLimit` and
    /// `failedJobsHistoryLimit`.
    async fn cleanup_history(&mut self, jobs: &[Job]) -> Result<(), Error> {
        let spec = &self.spec;
        for (cond, limit) in [
            ("Complete", spec.successful_jobs_history_limit),
            ("Failed", spec.failed_jobs_history_limit),
        ] {
            let Some(limit) = limit else { continue };
            let done: Vec<(String, Option<Timestamp>)> = jobs
                .iter()
                .filter(|j| finished(j) == Some(cond) && j.metadata.deletion_timestamp.is_none())
                .map(|j| {
                    let start = j
                        .status
                        .as_ref()
                        .and_then(|s| s.start_time.as_ref())
                        .map(|t| t.0);
                    (j.name_any(), start)
                })
                .collect();
            for name in policy::beyond_history_limit(&done, limit) {
                let uid = jobs
                    .iter()
                    .find(|j| j.name_any() == name)
                    .and_then(|j| j.uid())
                    .unwrap_or_default();
                self.delete_job(&name, &uid).await?;
            }
        }
        Ok(())
    }

    fn job_for(&self, scheduled: Timestamp, tz: &TimeZone) -> Job {
        let template = &self.spec.job_template;
        let tmeta = template.metadata.clone().unwrap_or_default();
        let mut annotations = tmeta.annotations.unwrap_or_default();
        annotations.insert(
            SCHEDULED_TIMESTAMP.into(),
            policy::scheduled_timestamp(scheduled, tz),
        );
        Job {
            metadata: ObjectMeta {
                name: Some(policy::job_name(&self.cj.name_any(), scheduled)),
                namespace: self.cj.namespace(),
                labels: tmeta.labels,
                annotations: Some(annotations),
                owner_references: Some(vec![controller_ref(self.cj)]),
                ..ObjectMeta::default()
            },
            spec: Some(template.spec.clone().unwrap_or_default()),
            status: None,
        }
    }

    /// Start the Job for `scheduled` if the policy allows. Returns whether
    /// the run was handled (created, or found already created).
    async fn start(&mut self, scheduled: Timestamp, tz: &TimeZone) -> Result<(), Error> {
        let active = self.status.active.as_ref().map_or(0, Vec::len);
        match policy::start(self.spec.concurrency_policy.as_deref(), active) {
            Start::Skip => {
                self.event(
                    EventType::Normal,
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid",
                )
                .await;
                return Ok(());
            }
            Start::ReplaceThenCreate => {
                for r in self.status.active.clone().unwrap_or_default() {
                    let name = r.name.clone().unwrap_or_default();
                    let uid = r.uid.clone().unwrap_or_default();
                    self.delete_job(&name, &uid).await?;
                }
            }
            Start::Create => {}
        }
        let want = self.job_for(scheduled, tz);
        let name = want.name_any();
        let created = match self.jobs_api.create(&PostParams::default(), &want).await {
            Ok(job) => {
                self.event(
                    EventType::Normal,
                    "SuccessfulCreate",
                    &format!("Created job {name}"),
                )
                .await;
                job
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Created by an earlier pass whose status update was lost:
                // adopt it into the status if it is ours.
                let existing = self
                    .jobs_api
                    .get(&name)
                    .await
                    .map_err(|e| Error::GetJob(e, name.clone()))?;
                if !is_controlled_by(&existing, &self.cj.uid().unwrap_or_default()) {
                    return Err(Error::CreateJob(kube::Error::Api(s), name));
                }
                existing
            }
            Err(e) => {
                self.event(
                    EventType::Warning,
                    "FailedCreate",
                    &format!("Error creating job: {e}"),
                )
                .await;
                return Err(Error::CreateJob(e, name));
            }
        };
        let uid = created.uid().unwrap_or_default();
        if finished(&created).is_none() && !self.in_active(&uid) {
            self.status
                .active
                .get_or_insert_with(Vec::new)
                .push(job_ref(&created));
        }
        self.status.last_schedule_time = Some(Time(scheduled));
        Ok(())
    }
}

async fn reconcile(cached: Arc<CronJob>, state: Arc<State>) -> Result<Action, Error> {
    let ns = cached.namespace().unwrap_or_default();
    // The stored CronJob, not the cache: a lagging lastScheduleTime would
    // start the same run twice.
    let cjs: Api<CronJob> = Api::namespaced(state.client.clone(), &ns);
    let cj = match cjs
        .get_opt(&cached.name_any())
        .await
        .map_err(Error::GetCronJob)?
    {
        Some(cj) if cj.uid() == cached.uid() => cj,
        _ => return Ok(Action::await_change()),
    };
    let jobs_api: Api<Job> = Api::namespaced(state.client.clone(), &ns);
    let uid = cj.uid().unwrap_or_default();
    let jobs: Vec<Job> = jobs_api
        .list(&ListParams::default())
        .await
        .map_err(Error::ListJobs)?
        .items
        .into_iter()
        .filter(|j| is_controlled_by(j, &uid))
        .collect();
    let mut sync = Sync {
        cj: &cj,
        spec: cj.spec.clone().unwrap_or_default(),
        status: cj.status.clone().unwrap_or_default(),
        jobs_api,
        recorder: &state.recorder,
    };
    sync.observe_jobs(&jobs).await?;
    let action = schedule_step(&mut sync).await?;
    sync.cleanup_history(&jobs).await?;
    if cj.status.clone().unwrap_or_default() != sync.status {
        let mut updated = cj.clone();
        updated.status = Some(sync.status);
        cjs.replace_status(&cj.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(Error::UpdateStatus)?;
    }
    Ok(action)
}

/// The scheduling part of a sync: start the due run if any, and say when to
/// come back.
async fn schedule_step(sync: &mut Sync<'_>) -> Result<Action, Error> {
    let cj = sync.cj;
    if is_deleting(cj) {
        return Ok(Action::await_change());
    }
    let tz = match sync.spec.time_zone.as_deref() {
        None => TimeZone::UTC,
        Some(name) => match TimeZone::get(name) {
            Ok(tz) => tz,
            Err(e) => {
                sync.event(
                    EventType::Warning,
                    "UnknownTimeZone",
                    &format!("invalid timeZone: {name:?}: {e}"),
                )
                .await;
                return Ok(Action::await_change());
            }
        },
    };
    if sync.spec.suspend == Some(true) {
        return Ok(Action::await_change());
    }
    let sched = match Schedule::parse(&sync.spec.schedule, tz.clone()) {
        Ok(s) => s,
        Err(e) => {
            sync.event(
                EventType::Warning,
                "UnparseableSchedule",
                &format!("unparseable schedule: {:?} : {e}", sync.spec.schedule),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let now = now().0;
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let last = sync.status.last_schedule_time.as_ref().map(|t| t.0);
    let deadline = sync.spec.starting_deadline_seconds;
    let earliest = policy::earliest_time(created, last, deadline, now);
    let due = policy::most_recent(&sched, earliest, now);
    if due.missed > policy::MANY_MISSED {
        sync.event(
            EventType::Warning,
            "TooManyMissedTimes",
            &format!(
                "too many missed start times: {}. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                due.missed
            ),
        )
        .await;
    }
    let requeue = requeue_at(&sched, now);
    let Some(scheduled) = due.time else {
        return Ok(requeue);
    };
    if policy::too_late(scheduled, deadline, now) {
        let when = scheduled.to_zoned(tz.clone());
        sync.event(
            EventType::Warning,
            "MissSchedule",
            &format!(
                "Missed scheduled time to start a job: {}",
                when.strftime("%a, %d %b %Y %H:%M:%S %z")
            ),
        )
        .await;
        return Ok(requeue);
    }
    let name = policy::job_name(&cj.name_any(), scheduled);
    let already = sync
        .status
        .active
        .iter()
        .flatten()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || last == Some(scheduled);
    if !already {
        sync.start(scheduled, &tz).await?;
    }
    Ok(requeue)
}

/// Come back just after the next activation.
fn requeue_at(sched: &Schedule, now: Timestamp) -> Action {
    match sched.next(now) {
        Some(next) => {
            let wait = next.duration_since(now).unsigned_abs() + Duration::from_millis(100);
            Action::requeue(wait)
        }
        None => Action::await_change(),
    }
}
