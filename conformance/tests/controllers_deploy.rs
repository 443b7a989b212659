//! The ReplicaSet and Deployment controllers against the real binary,
//! started with only those two controllers and no nodes. A small "fake
//! kubelet" in this file plays the missing part: it marks every pod
//! Running and Ready (with container statuses) through `pods/status`.
//! Everything else goes through stock kubectl, as a user would.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conformance::{json, Server};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::watcher::{self, watcher, Event};
use kube::{Api, ResourceExt};
use serde_json::{json, Value};

/// Upper bound for any single wait in this file.
const WAIT: Duration = Duration::from_secs(60);

fn start() -> Server {
    Server::start_with(&["--controllers", "replicaset,deployment", "--nodes", "0"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

// ---- the fake kubelet ----------------------------------------------------------

/// Marks every live pod that is not Ready yet as Running and Ready, through
/// the status subresource, until the returned task is aborted.
async fn fake_kubelet(s: &Server) -> tokio::task::JoinHandle<()> {
    let client = s.client().await;
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::all(client.clone());
        let mut ip = 1u32;
        loop {
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for pod in list.items {
                    if pod.metadata.deletion_timestamp.is_some() || is_ready(&pod) {
                        continue;
                    }
                    ip += 1;
                    let ns = pod.namespace().unwrap_or_default();
                    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                    let patch = running_status(&pod, ip);
                    let _ = api
                        .patch_status(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn running_status(pod: &Pod, ip: u32) -> Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let containers: Vec<Value> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "image": c.image.clone().unwrap_or_default(),
                "imageID": format!("docker.io/library/{}", c.image.unwrap_or_default()),
                "containerID": format!("containerd://{}-{ip}", c.name),
                "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            })
        })
        .collect();
    let pod_ip = format!("10.244.{}.{}", ip / 250, ip % 250 + 2);
    let cond = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": now});
    json!({"status": {
        "phase": "Running",
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "hostIP": "10.0.0.1",
        "startTime": now,
        "conditions": [cond("PodScheduled"), cond("Initialized"), cond("ContainersReady"), cond("Ready")],
        "containerStatuses": containers,
    }})
}

// ---- helpers -------------------------------------------------------------------

/// Run blocking kubectl off the async runtime's workers.
async fn kubectl(s: &Arc<Server>, args: &[&str]) -> String {
    let s = s.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.kubectl_ok(&args)
    })
    .await
    .expect("kubectl task")
}

async fn kubectl_stdin(s: &Arc<Server>, args: &[&str], stdin: String) -> String {
    let s = s.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.kubectl_with_ok(&conformance::kubectl_path(), &args, Some(&stdin))
    })
    .await
    .expect("kubectl task")
}

async fn get_json(s: &Arc<Server>, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    json(&kubectl(s, &all).await)
}

/// Poll `check` every 100 ms until it gives `Some`, for at most `WAIT`;
/// on time-out, fail with `what` and the last value seen.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// `kubectl rollout status` with a time-out; it must report success.
async fn rollout_status(s: &Arc<Server>, name: &str) {
    let target = format!("deployment/{name}");
    let out = kubectl(s, &["rollout", "status", &target, "--timeout=60s"]).await;
    assert!(
        out.contains(&format!("deployment \"{name}\" successfully rolled out")),
        "{out}"
    );
}

fn deployment(name: &str, replicas: i32, image: &str, strategy: Value) -> String {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}
            }
        }
    })
    .to_string()
}

fn rolling() -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
}

/// The ReplicaSets controlled by deployment `name`, oldest revision first.
async fn replica_sets(s: &Arc<Server>, name: &str) -> Vec<Value> {
    let list = get_json(s, &["replicasets", "-l", &format!("app={name}")]).await;
    let mut items: Vec<Value> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|rs| rs["metadata"]["ownerReferences"][0]["name"] == name)
        .collect();
    items.sort_by_key(revision);
    items
}

fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Live (not terminating) pods matching `selector`.
async fn live_pods(s: &Arc<Server>, selector: &str) -> Vec<Value> {
    let list = get_json(s, &["pods", "-l", selector]).await;
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect()
}

/// Wait until deployment `name` has `n` live pods, all of one ReplicaSet.
async fn wait_pods(s: &Arc<Server>, name: &str, n: usize) -> Vec<Value> {
    let selector = format!("app={name}");
    eventually(&format!("{n} pods of {name}"), || async {
        let pods = live_pods(s, &selector).await;
        if pods.len() == n {
            Ok(pods)
        } else {
            Err(format!("{} pods", pods.len()))
        }
    })
    .await
}

fn condition<'a>(obj: &'a Value, type_: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

fn spec_replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(-1)
}

/// Wait until the namespace's events (as JSON text) contain every string.
async fn wait_events(s: &Arc<Server>, wanted: &[&str]) {
    eventually("events", || async {
        let text = kubectl(s, &["get", "events", "-o", "json"]).await;
        let missing: Vec<&&str> = wanted.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {missing:?} in {text}"))
        }
    })
    .await
}

// ---- Deployment ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_rolls_out_and_scales() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    let out = kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("web", 3, "nginx:1.27", rolling()),
    )
    .await;
    assert!(out.contains("deployment.apps/web created"), "{out}");
    rollout_status(&s, "web").await;

    // One ReplicaSet <deployment>-<hash>, revision 1, pod-template-hash in
    // its selector, template and labels; three pods named after it.
    let rss = replica_sets(&s, "web").await;
    assert_eq!(rss.len(), 1, "{rss:#?}");
    let rs = &rss[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("pod-template-hash label")
        .to_string();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(revision(rs), 1);
    let annotations = &rs["metadata"]["annotations"];
    assert_eq!(
        annotations["deployment.kubernetes.io/desired-replicas"],
        "3"
    );
    assert_eq!(annotations["deployment.kubernetes.io/max-replicas"], "4");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );
    let pods = wait_pods(&s, "web", 3).await;
    for p in &pods {
        let pod_name = p["metadata"]["name"].as_str().unwrap_or_default();
        assert!(pod_name.starts_with(&format!("web-{hash}-")), "{pod_name}");
        assert_eq!(p["metadata"]["generateName"], format!("web-{hash}-"));
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash.as_str());
    }

    // Status and conditions as upstream.
    let d = get_json(&s, &["deployment", "web"]).await;
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    for field in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(d["status"][field], 3, "{field}: {d:#}");
    }
    let available = condition(&d, "Available");
    assert_eq!(available["status"], "True");
    assert_eq!(available["reason"], "MinimumReplicasAvailable");
    assert_eq!(available["message"], "Deployment has minimum availability.");
    let progressing = condition(&d, "Progressing");
    assert_eq!(progressing["status"], "True");
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
    );
    let rs_now = get_json(&s, &["rs", &format!("web-{hash}")]).await;
    for field in [
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(rs_now["status"][field], 3, "{field}: {rs_now:#}");
    }

    // Scale up, then down.
    kubectl(&s, &["scale", "deployment/web", "--replicas=5"]).await;
    rollout_status(&s, "web").await;
    wait_pods(&s, "web", 5).await;
    let rss = replica_sets(&s, "web").await;
    assert_eq!(rss.len(), 1);
    assert_eq!(spec_replicas(&rss[0]), 5);
    assert_eq!(
        rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"],
        "5"
    );
    kubectl(&s, &["scale", "deployment/web", "--replicas=2"]).await;
    wait_pods(&s, "web", 2).await;
    rollout_status(&s, "web").await;
    let rss = replica_sets(&s, "web").await;
    assert_eq!(spec_replicas(&rss[0]), 2);

    wait_events(
        &s,
        &[
            &format!("Scaled up replica set web-{hash} from 0 to 3"),
            &format!("Scaled up replica set web-{hash} from 3 to 5"),
            &format!("Scaled down replica set web-{hash} from 5 to 2"),
            "\"SuccessfulCreate\"",
            "\"SuccessfulDelete\"",
            "deployment-controller",
            "replicaset-controller",
        ],
    )
    .await;
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_rolls_out_and_undo_rolls_back() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("app", 3, "nginx:1.27", rolling()),
    )
    .await;
    kubectl(
        &s,
        &[
            "annotate",
            "deployment/app",
            "kubernetes.io/change-cause=first",
        ],
    )
    .await;
    rollout_status(&s, "app").await;
    let first = replica_sets(&s, "app").await;
    assert_eq!(first.len(), 1);
    let first_name = first[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // A new image: a second ReplicaSet, revision 2, the first scaled to 0.
    kubectl(&s, &["set", "image", "deployment/app", "main=nginx:1.28"]).await;
    kubectl(
        &s,
        &[
            "annotate",
            "deployment/app",
            "--overwrite",
            "kubernetes.io/change-cause=second",
        ],
    )
    .await;
    rollout_status(&s, "app").await;
    let rss = replica_sets(&s, "app").await;
    assert_eq!(rss.len(), 2, "{rss:#?}");
    assert_eq!(rss[0]["metadata"]["name"], first_name.as_str());
    assert_eq!(revision(&rss[0]), 1);
    assert_eq!(spec_replicas(&rss[0]), 0);
    assert_eq!(revision(&rss[1]), 2);
    assert_eq!(spec_replicas(&rss[1]), 3);
    assert_eq!(
        rss[1]["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    let d = get_json(&s, &["deployment", "app"]).await;
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let pods = wait_pods(&s, "app", 3).await;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28"));

    // History lists both revisions with their change causes.
    let history = kubectl(&s, &["rollout", "history", "deployment/app"]).await;
    assert!(history.contains("REVISION"), "{history}");
    assert!(history.contains("CHANGE-CAUSE"), "{history}");
    let rows: Vec<Vec<&str>> = history
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|w: &Vec<&str>| w.first().is_some_and(|c| c.parse::<i64>().is_ok()))
        .collect();
    assert_eq!(
        rows,
        vec![vec!["1", "first"], vec!["2", "second"]],
        "{history}"
    );
    let detail = kubectl(
        &s,
        &["rollout", "history", "deployment/app", "--revision=2"],
    )
    .await;
    assert!(detail.contains("nginx:1.28"), "{detail}");

    // Undo: back to the first template, on the first ReplicaSet, revision 3.
    let out = kubectl(&s, &["rollout", "undo", "deployment/app"]).await;
    assert!(out.contains("rolled back"), "{out}");
    rollout_status(&s, "app").await;
    let rss = replica_sets(&s, "app").await;
    assert_eq!(rss.len(), 2, "{rss:#?}");
    let back = &rss[1];
    assert_eq!(back["metadata"]["name"], first_name.as_str());
    assert_eq!(revision(back), 3);
    assert_eq!(
        back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
    assert_eq!(spec_replicas(back), 3);
    assert_eq!(spec_replicas(&rss[0]), 0);
    let pods = wait_pods(&s, "app", 3).await;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.27"));
    let d = get_json(&s, &["deployment", "app"]).await;
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    let history = kubectl(&s, &["rollout", "history", "deployment/app"]).await;
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.parse::<i64>().is_ok())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");

    // `rollout restart` changes a template annotation: a new rollout.
    kubectl(&s, &["rollout", "restart", "deployment/app"]).await;
    rollout_status(&s, "app").await;
    let rss = replica_sets(&s, "app").await;
    assert_eq!(rss.len(), 3, "{rss:#?}");
    assert_eq!(revision(&rss[2]), 4);
    assert_eq!(spec_replicas(&rss[2]), 3);
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_deployment_scales_but_does_not_roll_out() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("held", 2, "nginx:1.27", rolling()),
    )
    .await;
    rollout_status(&s, "held").await;
    kubectl(&s, &["rollout", "pause", "deployment/held"]).await;
    kubectl(&s, &["set", "image", "deployment/held", "main=nginx:1.28"]).await;
    kubectl(&s, &["scale", "deployment/held", "--replicas=3"]).await;
    // Once the controller has seen the latest generation, it has scaled the
    // one ReplicaSet and marked the rollout paused, and made no new one.
    let d = eventually("the paused deployment observed and scaled", || async {
        let d = get_json(&s, &["deployment", "held"]).await;
        let seen = d["status"]["observedGeneration"] == d["metadata"]["generation"];
        if seen
            && d["status"]["replicas"] == 3
            && condition(&d, "Progressing")["reason"] == "DeploymentPaused"
        {
            Ok(d)
        } else {
            Err(d["status"].to_string())
        }
    })
    .await;
    assert_eq!(condition(&d, "Progressing")["status"], "Unknown");
    assert_eq!(
        condition(&d, "Progressing")["message"],
        "Deployment is paused"
    );
    let rss = replica_sets(&s, "held").await;
    assert_eq!(rss.len(), 1, "{rss:#?}");
    assert_eq!(spec_replicas(&rss[0]), 3);
    let pods = wait_pods(&s, "held", 3).await;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.27"));

    kubectl(&s, &["rollout", "resume", "deployment/held"]).await;
    rollout_status(&s, "held").await;
    let rss = replica_sets(&s, "held").await;
    assert_eq!(rss.len(), 2, "{rss:#?}");
    assert_eq!(spec_replicas(&rss[0]), 0);
    assert_eq!(spec_replicas(&rss[1]), 3);
    let pods = wait_pods(&s, "held", 3).await;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28"));
    kubelet.abort();
}

/// Spec sizes of deployment `name`'s ReplicaSets, oldest revision first.
async fn sizes(s: &Arc<Server>, name: &str) -> Vec<i64> {
    replica_sets(s, name)
        .await
        .iter()
        .map(spec_replicas)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_mid_rollout_scales_replica_sets_proportionally() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    let strategy =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}});
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("prop", 10, "nginx:1.27", strategy),
    )
    .await;
    rollout_status(&s, "prop").await;
    // New pods never become ready now: the rollout stops part-way, with
    // 10 + 3 pods at most and 10 - 2 available at least.
    kubelet.abort();
    kubectl(&s, &["set", "image", "deployment/prop", "main=nginx:1.28"]).await;
    eventually("the rollout stuck at old 8, new 5", || async {
        let got = sizes(&s, "prop").await;
        if got == [8, 5] {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    // 20 replicas: 23 allowed, shared out as 8/13 and 5/13 of it.
    kubectl(&s, &["scale", "deployment/prop", "--replicas=20"]).await;
    eventually("proportional sizes 14 and 9", || async {
        let got = sizes(&s, "prop").await;
        if got == [14, 9] {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    let rss = replica_sets(&s, "prop").await;
    for rs in &rss {
        let a = &rs["metadata"]["annotations"];
        assert_eq!(
            a["deployment.kubernetes.io/desired-replicas"], "20",
            "{rs:#}"
        );
        assert_eq!(a["deployment.kubernetes.io/max-replicas"], "23", "{rs:#}");
    }
    // Pods come up again: the rollout completes at 20.
    let kubelet = fake_kubelet(&s).await;
    rollout_status(&s, "prop").await;
    assert_eq!(sizes(&s, "prop").await, [0, 20]);
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_removes_old_pods_before_creating_new_ones() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("rec", 2, "nginx:1.27", json!({"type": "Recreate"})),
    )
    .await;
    rollout_status(&s, "rec").await;
    let old_hash = replica_sets(&s, "rec").await[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // Watch pods: no pod of the new template may appear while one of the
    // old template is still there (watch events arrive in commit order).
    let client = s.client().await;
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen_new = Arc::new(Mutex::new(false));
    let watch = {
        let violations = violations.clone();
        let seen_new = seen_new.clone();
        let old_hash = old_hash.clone();
        let pods: Api<Pod> = Api::namespaced(client, "default");
        tokio::spawn(async move {
            let mut live: BTreeMap<String, String> = BTreeMap::new();
            let cfg = watcher::Config::default().labels("app=rec");
            let mut stream = watcher(pods, cfg).boxed();
            while let Some(Ok(ev)) = stream.next().await {
                match ev {
                    Event::Apply(p) | Event::InitApply(p) => {
                        let hash = p
                            .labels()
                            .get("pod-template-hash")
                            .cloned()
                            .unwrap_or_default();
                        if hash != old_hash {
                            if let Ok(mut v) = seen_new.lock() {
                                *v = true;
                            }
                            let old_left: Vec<&String> =
                                live.values().filter(|h| **h == old_hash).collect();
                            if !old_left.is_empty() {
                                if let Ok(mut v) = violations.lock() {
                                    v.push(format!(
                                        "{} created while {} old pods exist",
                                        p.name_any(),
                                        old_left.len()
                                    ));
                                }
                            }
                        }
                        live.insert(p.name_any(), hash);
                    }
                    Event::Delete(p) => {
                        live.remove(&p.name_any());
                    }
                    Event::Init | Event::InitDone => {}
                }
            }
        })
    };
    // Let the watch start before the change.
    tokio::time::sleep(Duration::from_millis(500)).await;
    kubectl(&s, &["set", "image", "deployment/rec", "main=nginx:1.28"]).await;
    rollout_status(&s, "rec").await;
    let rss = replica_sets(&s, "rec").await;
    assert_eq!(rss.len(), 2, "{rss:#?}");
    assert_eq!(spec_replicas(&rss[0]), 0);
    assert_eq!(spec_replicas(&rss[1]), 2);
    let pods = wait_pods(&s, "rec", 2).await;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28"));
    eventually("the watcher to see the new pods", || async {
        if seen_new.lock().map(|v| *v).unwrap_or(false) {
            Ok(())
        } else {
            Err("no new pod seen".to_string())
        }
    })
    .await;
    watch.abort();
    let violations = violations.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(violations.is_empty(), "{violations:?}");
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    let mut manifest: Value =
        serde_json::from_str(&deployment("lim", 1, "nginx:1.0", rolling())).expect("json");
    manifest["spec"]["revisionHistoryLimit"] = json!(1);
    kubectl_stdin(&s, &["apply", "-f", "-"], manifest.to_string()).await;
    rollout_status(&s, "lim").await;
    for v in 1..=3 {
        let image = format!("main=nginx:1.{v}");
        kubectl(&s, &["set", "image", "deployment/lim", &image]).await;
        rollout_status(&s, "lim").await;
    }
    // The current ReplicaSet plus one old one.
    let rss = eventually("old ReplicaSets cleaned up", || async {
        let rss = replica_sets(&s, "lim").await;
        if rss.len() == 2 {
            Ok(rss)
        } else {
            Err(format!("{} ReplicaSets", rss.len()))
        }
    })
    .await;
    assert_eq!(revision(&rss[0]), 3);
    assert_eq!(revision(&rss[1]), 4);
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_fails_past_the_progress_deadline_then_recovers() {
    let s = Arc::new(start());
    // No kubelet yet: the pods never become ready.
    let mut manifest: Value =
        serde_json::from_str(&deployment("slow", 2, "nginx:1.27", rolling())).expect("json");
    manifest["spec"]["progressDeadlineSeconds"] = json!(2);
    kubectl_stdin(&s, &["apply", "-f", "-"], manifest.to_string()).await;
    let out = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || {
            s.kubectl(&["rollout", "status", "deployment/slow", "--timeout=60s"])
        })
        .await
        .expect("kubectl task")
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("deployment \"slow\" exceeded its progress deadline"),
        "{err}"
    );
    let d = get_json(&s, &["deployment", "slow"]).await;
    let available = condition(&d, "Available");
    assert_eq!(available["status"], "False");
    assert_eq!(available["reason"], "MinimumReplicasUnavailable");
    assert_eq!(
        available["message"],
        "Deployment does not have minimum availability."
    );
    let progressing = condition(&d, "Progressing");
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    let rs = &replica_sets(&s, "slow").await[0];
    assert_eq!(
        progressing["message"],
        format!(
            "ReplicaSet {} has timed out progressing.",
            rs["metadata"]["name"]
        )
    );
    assert_eq!(d["status"]["unavailableReplicas"], 2);

    // Pods come up: the rollout completes after all.
    let kubelet = fake_kubelet(&s).await;
    rollout_status(&s, "slow").await;
    let d = get_json(&s, &["deployment", "slow"]).await;
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(condition(&d, "Available")["status"], "True");
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_ready_seconds_delays_availability() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    let mut manifest: Value =
        serde_json::from_str(&deployment("patient", 2, "nginx:1.27", rolling())).expect("json");
    manifest["spec"]["minReadySeconds"] = json!(1);
    kubectl_stdin(&s, &["apply", "-f", "-"], manifest.to_string()).await;
    // Pods are marked ready once and never touched again: only the
    // controllers' own look after minReadySeconds makes them available.
    rollout_status(&s, "patient").await;
    let rs = &replica_sets(&s, "patient").await[0];
    assert_eq!(rs["spec"]["minReadySeconds"], 1);
    let name = rs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rs = get_json(&s, &["rs", &name]).await;
    assert_eq!(rs["status"]["availableReplicas"], 2, "{rs:#}");
    kubelet.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_adopts_a_matching_orphan_replica_set() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    // A hand-made ReplicaSet with the template the Deployment will have.
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "adopt-by-hand", "labels": {"app": "adopt"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "adopt"}},
            "template": {
                "metadata": {"labels": {"app": "adopt"}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
            }
        }
    });
    kubectl_stdin(&s, &["apply", "-f", "-"], rs.to_string()).await;
    wait_pods(&s, "adopt", 1).await;
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        deployment("adopt", 2, "nginx:1.27", rolling()),
    )
    .await;
    rollout_status(&s, "adopt").await;
    // Adopted and used as the Deployment's current ReplicaSet: no other one.
    let d = get_json(&s, &["deployment", "adopt"]).await;
    let rss = replica_sets(&s, "adopt").await;
    assert_eq!(rss.len(), 1, "{rss:#?}");
    let rs = &rss[0];
    assert_eq!(rs["metadata"]["name"], "adopt-by-hand");
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(revision(rs), 1);
    assert_eq!(spec_replicas(rs), 2);
    wait_pods(&s, "adopt", 2).await;
    kubelet.abort();
}

// ---- ReplicaSet ----------------------------------------------------------------

fn replica_set(name: &str, replicas: i32) -> String {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "x"}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
            }
        }
    })
    .to_string()
}

fn owner_uid(pod: &Value) -> Option<String> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_adopts_releases_and_deletes_surplus_pods() {
    let s = Arc::new(start());
    let kubelet = fake_kubelet(&s).await;
    // A hand-made pod with the labels the ReplicaSet will select.
    let hand = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "hand", "labels": {"app": "solo"}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
    });
    kubectl_stdin(&s, &["apply", "-f", "-"], hand.to_string()).await;
    kubectl_stdin(&s, &["apply", "-f", "-"], replica_set("solo", 2)).await;
    let rs = get_json(&s, &["rs", "solo"]).await;
    let uid = rs["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // Adopted: the hand-made pod counts, so only one more is created.
    eventually("the hand-made pod adopted and one pod created", || async {
        let pods = live_pods(&s, "app=solo").await;
        let owned = pods
            .iter()
            .filter(|p| owner_uid(p).as_deref() == Some(uid.as_str()))
            .count();
        let hand_owned = pods.iter().any(|p| {
            p["metadata"]["name"] == "hand" && owner_uid(p).as_deref() == Some(uid.as_str())
        });
        if pods.len() == 2 && owned == 2 && hand_owned {
            Ok(())
        } else {
            Err(format!("{pods:#?}"))
        }
    })
    .await;
    let hand_now = get_json(&s, &["pod", "hand"]).await;
    let reference = &hand_now["metadata"]["ownerReferences"][0];
    assert_eq!(reference["kind"], "ReplicaSet");
    assert_eq!(reference["name"], "solo");
    assert_eq!(reference["blockOwnerDeletion"], true);
    // Status: two pods, only one carries the template's full label set.
    let rs = eventually("ReplicaSet status", || async {
        let rs = get_json(&s, &["rs", "solo"]).await;
        let st = &rs["status"];
        if st["replicas"] == 2 && st["readyReplicas"] == 2 && st["availableReplicas"] == 2 {
            Ok(rs)
        } else {
            Err(st.to_string())
        }
    })
    .await;
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 1, "{rs:#}");
    assert_eq!(
        rs["status"]["observedGeneration"],
        rs["metadata"]["generation"]
    );

    // Released: relabelled, it loses its owner and is replaced.
    kubectl(&s, &["label", "pod", "hand", "app=other", "--overwrite"]).await;
    eventually("the relabelled pod released and replaced", || async {
        let hand = get_json(&s, &["pod", "hand"]).await;
        let owned = live_pods(&s, "app=solo").await;
        let released = owner_uid(&hand).is_none();
        if released && owned.len() == 2 && owned.iter().all(|p| p["metadata"]["name"] != "hand") {
            Ok(())
        } else {
            Err(format!(
                "hand owner {:?}, {} pods",
                owner_uid(&hand),
                owned.len()
            ))
        }
    })
    .await;

    // A deleted pod is replaced.
    let victim = live_pods(&s, "app=solo").await[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    kubectl(&s, &["delete", "pod", &victim, "--wait=false"]).await;
    eventually("a replacement pod", || async {
        let pods = live_pods(&s, "app=solo").await;
        let names: HashSet<String> = pods
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        if names.len() == 2 && !names.contains(&victim) {
            Ok(())
        } else {
            Err(format!("{names:?}"))
        }
    })
    .await;

    // Surplus pods are deleted.
    kubectl(&s, &["scale", "rs/solo", "--replicas=1"]).await;
    eventually("one pod left", || async {
        let pods = live_pods(&s, "app=solo").await;
        let rs = get_json(&s, &["rs", "solo"]).await;
        if pods.len() == 1 && rs["status"]["replicas"] == 1 {
            Ok(())
        } else {
            Err(format!("{} pods, status {}", pods.len(), rs["status"]))
        }
    })
    .await;
    // The released pod is left alone.
    let hand = get_json(&s, &["pod", "hand"]).await;
    assert!(hand["metadata"]["deletionTimestamp"].is_null());
    wait_events(&s, &["Created pod: solo-", "Deleted pod: solo-"]).await;
    kubelet.abort();
}

/// What a watch of one ReplicaSet's pods saw: every name ever created, the
/// pods alive now, and the most alive at once.
#[derive(Default)]
struct PodTally {
    synced: bool,
    ever: HashSet<String>,
    live: HashSet<String>,
    most: usize,
}

/// Keep `tally` up to date with the pods matching `selector`.
fn tally_pods(
    client: kube::Client,
    selector: &str,
) -> (Arc<Mutex<PodTally>>, tokio::task::JoinHandle<()>) {
    let tally = Arc::new(Mutex::new(PodTally::default()));
    let cfg = watcher::Config::default().labels(selector);
    let task = {
        let tally = tally.clone();
        let pods: Api<Pod> = Api::namespaced(client, "default");
        tokio::spawn(async move {
            let mut stream = watcher(pods, cfg).boxed();
            while let Some(Ok(ev)) = stream.next().await {
                let Ok(mut t) = tally.lock() else { return };
                match ev {
                    Event::Apply(p) | Event::InitApply(p) => {
                        t.ever.insert(p.name_any());
                        if p.metadata.deletion_timestamp.is_none() {
                            t.live.insert(p.name_any());
                        } else {
                            t.live.remove(&p.name_any());
                        }
                        t.most = t.most.max(t.live.len());
                    }
                    Event::Delete(p) => {
                        t.live.remove(&p.name_any());
                    }
                    Event::InitDone => t.synced = true,
                    Event::Init => {}
                }
            }
        })
    };
    (tally, task)
}

/// Wait until `tally` shows `n` live pods and the ReplicaSet reports them.
async fn wait_tally(s: &Arc<Server>, tally: &Arc<Mutex<PodTally>>, rs: &str, n: usize) {
    eventually(&format!("{n} pods of {rs}"), || async {
        let live = tally.lock().map(|t| t.live.len()).unwrap_or(usize::MAX);
        let status = get_json(s, &["rs", rs]).await["status"]["replicas"]
            .as_u64()
            .unwrap_or(0) as usize;
        if live == n && status == n {
            Ok(())
        } else {
            Err(format!("{live} live pods, status.replicas {status}"))
        }
    })
    .await
}

/// Scaling in bursts: the ReplicaSet creates exactly the pods asked for,
/// never more at once and never a replacement for a pod it merely has not
/// seen yet (its expectations hold it back while its pod cache catches up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_burst_scaling_never_overshoots() {
    let s = Arc::new(start());
    let (tally, watch) = tally_pods(s.client().await, "app=burst");
    eventually("the pod watch to start", || async {
        match tally.lock().map(|t| t.synced) {
            Ok(true) => Ok(()),
            _ => Err("not synced".to_string()),
        }
    })
    .await;
    kubectl_stdin(&s, &["apply", "-f", "-"], replica_set("burst", 0)).await;

    kubectl(&s, &["scale", "rs/burst", "--replicas=50"]).await;
    wait_tally(&s, &tally, "burst", 50).await;
    let (ever, most) = tally
        .lock()
        .map(|t| (t.ever.len(), t.most))
        .unwrap_or_default();
    assert_eq!(ever, 50, "pods created for 50 replicas");
    assert_eq!(most, 50, "most pods alive at once");

    kubectl(&s, &["scale", "rs/burst", "--replicas=0"]).await;
    wait_tally(&s, &tally, "burst", 0).await;
    if let Ok(mut t) = tally.lock() {
        t.most = 0;
    }

    // Up and straight down again before the first burst is done.
    kubectl(&s, &["scale", "rs/burst", "--replicas=30"]).await;
    kubectl(&s, &["scale", "rs/burst", "--replicas=5"]).await;
    wait_tally(&s, &tally, "burst", 5).await;
    let (ever, most) = tally
        .lock()
        .map(|t| (t.ever.len(), t.most))
        .unwrap_or_default();
    assert!(
        ever <= 80,
        "{ever} pods created for 50 then at most 30 replicas"
    );
    assert!(
        most <= 30,
        "{most} pods alive at once for at most 30 replicas"
    );
    watch.abort();
}
