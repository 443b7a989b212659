//! The Job and CronJob controllers against the real binary, started with
//! `--controllers job,cronjob --nodes 0`. No kubelet runs there, so the
//! tests bring a small fake one that plays the simulated kubelet's contract
//! on every pod: Running (Ready) at once, then Succeeded or Failed after
//! `ferrokube.io/run-seconds` (default 1) with exit code
//! `ferrokube.io/exit-code` (default 0), through `pods/status`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::Server;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use serde_json::{json, Value};

/// Upper bound for a wait in this file (a failing Job waits out a 10 s
/// back-off; a CronJob waits for the next minute).
const WAIT: Duration = Duration::from_secs(90);

/// `kubectl wait --for=condition=complete`, showing the Job and its pods on failure.
fn wait_complete(s: &Server, name: &str) {
    let out = s.kubectl(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{name}"),
        "--timeout=60s",
    ]);
    if !out.status.success() {
        let job = s.kubectl(&["get", "job", name, "-o", "yaml"]);
        let pods = s.kubectl(&["get", "pods", "-o", "yaml"]);
        panic!(
            "kubectl wait for job/{name}: {}\n{}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&job.stdout),
            String::from_utf8_lossy(&pods.stdout),
            s.log()
        );
    }
}

fn start() -> Server {
    Server::start_with(&["--controllers", "job,cronjob", "--nodes", "0"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

/// Poll `check` every 100 ms until it returns Some, for at most `WAIT`.
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    conformance::eventually(WAIT, Duration::from_millis(100), what, check).await
}

// ---- fake kubelet ------------------------------------------------------------

/// Plays the kubelet for every pod of the cluster; remembers, per Job, the
/// largest number of its pods it saw running at once.
struct FakeKubelet {
    task: tokio::task::JoinHandle<()>,
    max_running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKubelet {
    fn start(client: Client) -> FakeKubelet {
        let max_running = Arc::new(Mutex::new(HashMap::new()));
        let max = max_running.clone();
        let task = tokio::spawn(async move {
            let mut started = HashSet::new();
            // uid -> (job name, still running)
            let mut running: HashMap<String, (String, bool)> = HashMap::new();
            let mut stream = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
                .applied_objects()
                .boxed();
            while let Some(ev) = stream.next().await {
                let Ok(pod) = ev else { continue };
                let uid = pod.uid().unwrap_or_default();
                let phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default();
                let live = pod.metadata.deletion_timestamp.is_none()
                    && phase != "Succeeded"
                    && phase != "Failed";
                if let Some(job) = pod.labels().get("batch.kubernetes.io/job-name") {
                    running.insert(uid.clone(), (job.clone(), live));
                    let now = running.values().filter(|(j, l)| j == job && *l).count();
                    if let Ok(mut m) = max.lock() {
                        let e = m.entry(job.clone()).or_insert(0);
                        *e = (*e).max(now);
                    }
                }
                if live && started.insert(uid) {
                    tokio::spawn(run_pod(client.clone(), pod));
                }
            }
        });
        FakeKubelet { task, max_running }
    }

    fn max_running(&self, job: &str) -> usize {
        self.max_running
            .lock()
            .map(|m| m.get(job).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

async fn run_pod(client: Client, pod: Pod) {
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    let ann = pod.annotations();
    let secs: u64 = ann
        .get("ferrokube.io/run-seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let code: i32 = ann
        .get("ferrokube.io/exit-code")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let containers: Vec<(String, String)> = pod
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let started = Timestamp::now().to_string();
    let statuses = |state: Value, ready: bool| -> Vec<Value> {
        containers
            .iter()
            .map(|(n, image)| {
                json!({"name": n, "image": image, "imageID": "", "ready": ready,
                       "restartCount": 0, "started": ready, "state": state})
            })
            .collect()
    };
    let running = json!({"status": {
        "phase": "Running",
        "startTime": started,
        "podIP": "10.0.0.1",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": started}],
        "containerStatuses": statuses(json!({"running": {"startedAt": started}}), true),
    }});
    if api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&running))
        .await
        .is_err()
    {
        return;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let finished = Timestamp::now().to_string();
    let (phase, reason) = if code == 0 {
        ("Succeeded", "Completed")
    } else {
        ("Failed", "Error")
    };
    let done = json!({"status": {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": finished}],
        "containerStatuses": statuses(json!({"terminated": {
            "exitCode": code, "reason": reason, "startedAt": started, "finishedAt": finished
        }}), false),
    }});
    let _ = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&done))
        .await;
}

// ---- helpers -------------------------------------------------------------------

fn job_json(name: &str, spec: Value, annotations: Value) -> Job {
    let mut spec = spec;
    spec["template"] = json!({
        "metadata": {"annotations": annotations},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}
    });
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("job JSON")
}

async fn create_job(client: &Client, job: &Job) -> Job {
    Api::<Job>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), job)
        .await
        .expect("create job")
}

async fn get_job(client: &Client, name: &str) -> Option<Job> {
    Api::<Job>::namespaced(client.clone(), "default")
        .get_opt(name)
        .await
        .expect("get job")
}

fn status(job: &Job) -> Value {
    serde_json::to_value(job.status.clone().unwrap_or_default()).expect("status JSON")
}

fn condition_types(job: &Job) -> Vec<String> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| cs.iter().map(|c| c.type_.clone()).collect())
        .unwrap_or_default()
}

fn condition(job: &Job, type_: &str) -> Option<(String, String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| {
            (
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// Wait until the Job has condition `type_` True, and return it.
async fn wait_condition(client: &Client, name: &str, type_: &str) -> Job {
    eventually(&format!("job {name} condition {type_}"), || async {
        let job = get_job(client, name).await?;
        (condition(&job, type_)?.0 == "True").then_some(job)
    })
    .await
}

async fn job_pods(client: &Client, job: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}")))
        .await
        .expect("list pods")
        .items
}

/// `(reason, message)` of the events about `kind/name`.
async fn events(client: &Client, kind: &str, name: &str) -> Vec<(String, String)> {
    let lp = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}"
    ));
    Api::<Event>::namespaced(client.clone(), "default")
        .list(&lp)
        .await
        .expect("list events")
        .items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

async fn wait_event(
    client: &Client,
    kind: &str,
    name: &str,
    reason: &str,
) -> Vec<(String, String)> {
    eventually(&format!("event {reason} on {kind}/{name}"), || async {
        let evs = events(client, kind, name).await;
        evs.iter().any(|(r, _)| r == reason).then_some(evs)
    })
    .await
}

// ---- Job -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_with_completions_and_parallelism_completes() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    let job = create_job(
        &client,
        &job_json(
            "calc",
            json!({"completions": 3, "parallelism": 2}),
            json!({}),
        ),
    )
    .await;
    let uid = job.uid().expect("uid");

    wait_complete(&s, "calc");

    let job = get_job(&client, "calc").await.expect("job");
    let st = status(&job);
    assert_eq!(st["succeeded"], 3, "{st}");
    assert!(st.get("failed").is_none(), "{st}");
    assert!(st.get("active").is_none(), "{st}");
    assert_eq!(st["ready"], 0, "{st}");
    assert_eq!(st["terminating"], 0, "{st}");
    assert_eq!(st["uncountedTerminatedPods"], json!({}), "{st}");
    assert!(
        st["startTime"].is_string() && st["completionTime"].is_string(),
        "{st}"
    );
    assert_eq!(
        condition_types(&job),
        vec!["SuccessCriteriaMet", "Complete"]
    );
    let complete = condition(&job, "Complete").expect("Complete");
    assert_eq!(
        complete,
        (
            "True".to_string(),
            "CompletionsReached".to_string(),
            "Reached expected number of succeeded pods".to_string()
        )
    );

    let pods = job_pods(&client, "calc").await;
    assert_eq!(pods.len(), 3, "one pod per completion");
    for pod in &pods {
        assert!(pod.name_any().starts_with("calc-"), "{}", pod.name_any());
        let labels = pod.labels();
        assert_eq!(labels["batch.kubernetes.io/controller-uid"], uid);
        assert_eq!(labels["controller-uid"], uid);
        assert_eq!(labels["batch.kubernetes.io/job-name"], "calc");
        assert_eq!(labels["job-name"], "calc");
        let owner = &pod.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Job", uid.as_str())
        );
        assert_eq!(owner.controller, Some(true));
        assert!(
            !pod.finalizers()
                .iter()
                .any(|f| f == "batch.kubernetes.io/job-tracking"),
            "finalizer released once counted: {:?}",
            pod.finalizers()
        );
    }
    assert!(
        _kubelet.max_running("calc") <= 2,
        "parallelism 2, saw {} running",
        _kubelet.max_running("calc")
    );

    let evs = wait_event(&client, "Job", "calc", "Completed").await;
    assert!(
        evs.contains(&("Completed".into(), "Job completed".into())),
        "{evs:?}"
    );
    for pod in &pods {
        let created = (
            "SuccessfulCreate".to_string(),
            format!("Created pod: {}", pod.name_any()),
        );
        assert!(evs.contains(&created), "{created:?} in {evs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pods_exhaust_the_backoff_limit() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json(
            "crash",
            json!({"backoffLimit": 1}),
            json!({"ferrokube.io/exit-code": "3"}),
        ),
    )
    .await;
    let job = wait_condition(&client, "crash", "Failed").await;
    let st = status(&job);
    assert_eq!(st["failed"], 2, "backoffLimit + 1 failures: {st}");
    assert!(st.get("succeeded").is_none(), "{st}");
    assert_eq!(condition_types(&job), vec!["FailureTarget", "Failed"]);
    let failed = condition(&job, "Failed").expect("Failed");
    assert_eq!(failed.1, "BackoffLimitExceeded");
    assert_eq!(failed.2, "Job has reached the specified backoff limit");
    assert!(st.get("completionTime").is_none(), "{st}");
    assert_eq!(job_pods(&client, "crash").await.len(), 2);
    let evs = wait_event(&client, "Job", "crash", "BackoffLimitExceeded").await;
    assert!(
        evs.contains(&(
            "BackoffLimitExceeded".into(),
            "Job has reached the specified backoff limit".into()
        )),
        "{evs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_running_pod_is_counted_as_failed_and_replaced() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json(
            "victim",
            json!({"completions": 1}),
            json!({"ferrokube.io/run-seconds": "600"}),
        ),
    )
    .await;
    let first = eventually("a running pod", || async {
        let pods = job_pods(&client, "victim").await;
        pods.into_iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    })
    .await;
    // The tracking finalizer keeps the deleted pod until the Job counted it.
    assert!(first
        .finalizers()
        .iter()
        .any(|f| f == "batch.kubernetes.io/job-tracking"));
    s.kubectl_ok(&["delete", "pod", &first.name_any(), "--wait=false"]);
    let job = eventually("the deleted pod counted as failed", || async {
        let job = get_job(&client, "victim").await?;
        (status(&job)["failed"] == 1 && status(&job)["active"] == 1).then_some(job)
    })
    .await;
    assert_eq!(status(&job)["uncountedTerminatedPods"], json!({}));
    eventually("the deleted pod gone and a replacement created", || async {
        let pods = job_pods(&client, "victim").await;
        (pods.len() == 1 && pods[0].uid() != first.uid()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_failure_policy_fails_the_job_at_once() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    let policy = json!({"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}
    ]});
    create_job(
        &client,
        &job_json(
            "fatal",
            json!({"backoffLimit": 6, "podFailurePolicy": policy}),
            json!({"ferrokube.io/exit-code": "42"}),
        ),
    )
    .await;
    let job = wait_condition(&client, "fatal", "Failed").await;
    let pod = job_pods(&client, "fatal").await.pop().expect("the pod");
    let failed = condition(&job, "Failed").expect("Failed");
    assert_eq!(failed.1, "PodFailurePolicy");
    assert_eq!(
        failed.2,
        format!(
            "Container main for pod default/{} failed with exit code 42 matching FailJob rule at index 0",
            pod.name_any()
        )
    );
    assert_eq!(status(&job)["failed"], 1, "no retry: {}", status(&job));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_job_completes_every_index() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json(
            "idx",
            json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}),
            json!({}),
        ),
    )
    .await;
    wait_complete(&s, "idx");
    let job = get_job(&client, "idx").await.expect("job");
    let st = status(&job);
    assert_eq!(st["completedIndexes"], "0-2", "{st}");
    assert_eq!(st["succeeded"], 3, "{st}");
    let mut seen = BTreeMap::new();
    for pod in job_pods(&client, "idx").await {
        let ix = pod.annotations()["batch.kubernetes.io/job-completion-index"].clone();
        assert_eq!(pod.labels()["batch.kubernetes.io/job-completion-index"], ix);
        assert!(
            pod.name_any().starts_with(&format!("idx-{ix}-")),
            "{}",
            pod.name_any()
        );
        let spec = pod.spec.clone().expect("spec");
        assert_eq!(spec.hostname, Some(format!("idx-{ix}")));
        seen.insert(ix, pod.name_any());
    }
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        vec!["0", "1", "2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_policy_completes_an_indexed_job_early() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json(
            "leader",
            json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed",
                   "successPolicy": {"rules": [{"succeededCount": 1}]}}),
            json!({}),
        ),
    )
    .await;
    wait_complete(&s, "leader");
    let job = get_job(&client, "leader").await.expect("job");
    for type_ in ["SuccessCriteriaMet", "Complete"] {
        let c = condition(&job, type_).expect("condition");
        assert_eq!(
            (c.1.as_str(), c.2.as_str()),
            ("SuccessPolicy", "Matched rules at index 0"),
            "{type_}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_deadline_fails_the_job_and_deletes_its_pods() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json(
            "slow",
            json!({"parallelism": 2, "completions": 2, "activeDeadlineSeconds": 2}),
            json!({"ferrokube.io/run-seconds": "600"}),
        ),
    )
    .await;
    let job = wait_condition(&client, "slow", "Failed").await;
    let failed = condition(&job, "Failed").expect("Failed");
    assert_eq!(failed.1, "DeadlineExceeded");
    assert_eq!(failed.2, "Job was active longer than specified deadline");
    assert!(condition_types(&job).contains(&"FailureTarget".to_string()));
    let st = status(&job);
    assert_eq!(
        st["failed"], 2,
        "the deleted running pods count as failed: {st}"
    );
    assert!(st.get("active").is_none(), "{st}");
    eventually("the job's pods to be gone", || async {
        job_pods(&client, "slow").await.is_empty().then_some(())
    })
    .await;
    wait_event(&client, "Job", "slow", "DeadlineExceeded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_after_finished_deletes_the_job() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    create_job(
        &client,
        &job_json("brief", json!({"ttlSecondsAfterFinished": 1}), json!({})),
    )
    .await;
    wait_condition(&client, "brief", "Complete").await;
    eventually("the finished job to be deleted", || async {
        get_job(&client, "brief").await.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_pods_and_resume_runs_them() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");

    // Created suspended: no pods, no start time.
    create_job(
        &client,
        &job_json(
            "later",
            json!({"suspend": true, "completions": 1}),
            json!({}),
        ),
    )
    .await;
    let job = wait_condition(&client, "later", "Suspended").await;
    let c = condition(&job, "Suspended").expect("Suspended");
    assert_eq!(
        (c.1.as_str(), c.2.as_str()),
        ("JobSuspended", "Job suspended")
    );
    assert!(status(&job).get("startTime").is_none());
    assert!(job_pods(&client, "later").await.is_empty());
    jobs.patch(
        "later",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .expect("resume");
    let job = wait_condition(&client, "later", "Complete").await;
    let c = condition(&job, "Suspended").expect("Suspended");
    assert_eq!(
        (c.0.as_str(), c.1.as_str(), c.2.as_str()),
        ("False", "JobResumed", "Job resumed")
    );
    wait_event(&client, "Job", "later", "Resumed").await;

    // Suspending a running Job deletes its pods without counting failures.
    create_job(
        &client,
        &job_json(
            "pause",
            json!({"parallelism": 2, "completions": 4}),
            json!({"ferrokube.io/run-seconds": "600"}),
        ),
    )
    .await;
    eventually("two ready pods", || async {
        let job = get_job(&client, "pause").await?;
        (status(&job)["ready"] == 2).then_some(())
    })
    .await;
    jobs.patch(
        "pause",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("suspend");
    wait_condition(&client, "pause", "Suspended").await;
    eventually("the suspended job's pods to be gone", || async {
        job_pods(&client, "pause").await.is_empty().then_some(())
    })
    .await;
    let job = eventually("active to drop to 0", || async {
        let j = get_job(&client, "pause").await?;
        status(&j).get("active").is_none().then_some(j)
    })
    .await;
    let st = status(&job);
    assert!(st.get("failed").is_none(), "suspension is no failure: {st}");
}

// ---- CronJob -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_fires_each_minute_and_records_the_run() {
    let s = start();
    let client = s.client().await;
    let _kubelet = FakeKubelet::start(client.clone());
    let cj: CronJob = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "metadata": {"labels": {"app": "tick"}},
                "spec": {"template": {
                    "metadata": {"annotations": {"ferrokube.io/run-seconds": "1"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}
                }}
            }
        }
    }))
    .expect("cronjob JSON");
    let cjs: Api<CronJob> = Api::namespaced(client.clone(), "default");
    let cj = cjs
        .create(&PostParams::default(), &cj)
        .await
        .expect("create cronjob");
    let cj_uid = cj.uid().expect("uid");

    // A manual run from the template: client-side, just a Job.
    s.kubectl_ok(&["create", "job", "--from=cronjob/tick", "tick-manual"]);
    wait_condition(&client, "tick-manual", "Complete").await;

    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let scheduled = eventually("a scheduled job (up to a minute)", || async {
        let list = jobs
            .list(&ListParams::default().labels("app=tick"))
            .await
            .ok()?;
        list.items.into_iter().find(|j| {
            j.annotations()
                .contains_key("batch.kubernetes.io/cronjob-scheduled-timestamp")
        })
    })
    .await;
    let name = scheduled.name_any();
    let owner = &scheduled.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("CronJob", cj_uid.as_str(), Some(true))
    );
    let stamp: Timestamp = scheduled.annotations()
        ["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        .parse()
        .expect("RFC 3339 scheduled timestamp");
    assert_eq!(stamp.as_second() % 60, 0, "on a minute boundary");
    assert_eq!(name, format!("tick-{}", stamp.as_second() / 60));

    let cj = eventually("lastScheduleTime and lastSuccessfulTime", || async {
        let cj = cjs.get("tick").await.ok()?;
        let st = cj.status.clone()?;
        (st.last_schedule_time.is_some() && st.last_successful_time.is_some()).then_some(cj)
    })
    .await;
    let st = cj.status.clone().expect("status");
    assert_eq!(st.last_schedule_time.map(|t| t.0), Some(stamp));
    let evs = wait_event(&client, "CronJob", "tick", "SawCompletedJob").await;
    assert!(
        evs.contains(&("SuccessfulCreate".into(), format!("Created job {name}"))),
        "{evs:?}"
    );
}
