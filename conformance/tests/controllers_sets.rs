//! The StatefulSet and DaemonSet controllers against the real binary.
//!
//! The server runs only `statefulset,daemonset` with no simulated nodes;
//! this file plays the scheduler and the kubelets: Node objects are made by
//! hand, and a background task binds unbound pods to the node their
//! `metadata.name` affinity names and marks pods Running and Ready through
//! `pods/status` (unless the test holds a pod back).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::Server;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, watcher, Event};
use kube::ResourceExt;
use serde_json::{json, Value};

/// Upper bound for any single wait in this file.
const WAIT: Duration = Duration::from_secs(30);

fn start() -> Server {
    Server::start_with(&["--controllers", "statefulset,daemonset", "--nodes", "0"])
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

/// Run a blocking kubectl without stalling the fake kubelet.
fn kubectl(s: &Server, args: &[&str]) -> String {
    tokio::task::block_in_place(|| s.kubectl_ok(args))
}

async fn make_node(client: &kube::Client, name: &str, taints: Value) {
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"taints": taints},
    }))
    .expect("node JSON");
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
}

/// The fake scheduler and kubelets: pods named in `hold` are left alone.
struct Kubelet {
    hold: Arc<Mutex<HashSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Kubelet {
    fn start(client: kube::Client, ns: &str) -> Kubelet {
        let hold = Arc::new(Mutex::new(HashSet::new()));
        let held = hold.clone();
        let ns = ns.to_string();
        let task = tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
            loop {
                if let Ok(list) = pods.list(&ListParams::default()).await {
                    for pod in list.items {
                        let skip = held
                            .lock()
                            .map(|h| h.contains(&pod.name_any()))
                            .unwrap_or(true);
                        if !skip && pod.metadata.deletion_timestamp.is_none() {
                            play(&client, &pods, &ns, &pod).await;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Kubelet { hold, task }
    }

    fn hold(&self, name: &str) {
        if let Ok(mut h) = self.hold.lock() {
            h.insert(name.to_string());
        }
    }

    fn release(&self, name: &str) {
        if let Ok(mut h) = self.hold.lock() {
            h.remove(name);
        }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The node a pod's required affinity pins it to.
fn pinned_node(pod: &Pod) -> Option<String> {
    let v = serde_json::to_value(pod).ok()?;
    let terms = v.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")?;
    let field = terms.get(0)?.pointer("/matchFields/0")?;
    (field["key"] == "metadata.name").then(|| field["values"][0].as_str().map(String::from))?
}

async fn play(client: &kube::Client, pods: &Api<Pod>, ns: &str, pod: &Pod) {
    let name = pod.name_any();
    let bound = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    if bound.is_none() {
        if let Some(node) = pinned_node(pod) {
            let body = json!({
                "apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            });
            let path = format!("/api/v1/namespaces/{ns}/pods/{name}/binding");
            let _ = conformance::request(
                client,
                "POST",
                &path,
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await;
        }
    }
    let ready = pod.status.as_ref().is_some_and(|s| {
        s.phase.as_deref() == Some("Running")
            && s.conditions
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    if !ready {
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let patch = json!({"status": {
            "phase": "Running",
            "podIP": "10.0.0.9",
            "startTime": now,
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
            ],
        }});
        let _ = pods
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
    }
}

fn web(replicas: i32) -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:1.27",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                }]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    }))
    .expect("statefulset JSON")
}

async fn pod_names(pods: &Api<Pod>) -> BTreeSet<String> {
    pods.list(&ListParams::default())
        .await
        .map(|l| l.items.iter().map(ResourceExt::name_any).collect())
        .unwrap_or_default()
}

async fn event_messages(client: &kube::Client, ns: &str, reason: &str) -> Vec<String> {
    Api::<CoreEvent>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some(reason))
                .filter_map(|e| e.message)
                .collect()
        })
        .unwrap_or_default()
}

fn label<'a>(pod: &'a Pod, key: &str) -> &'a str {
    pod.labels().get(key).map(String::as_str).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_creates_in_order_with_claims_and_scales_down_from_the_top() {
    let s = start();
    let client = s.client().await;
    let kubelet = Kubelet::start(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    kubelet.hold("web-0");
    kubelet.hold("web-1");
    sets.create(&PostParams::default(), &web(3))
        .await
        .expect("create statefulset");

    // web-0 first, with its claim; nothing more while it is not Ready.
    eventually("web-0", || async {
        pod_names(&pods).await.contains("web-0").then_some(())
    })
    .await;
    let claim = eventually("claim data-web-0", || async {
        claims.get_opt("data-web-0").await.ok().flatten()
    })
    .await;
    assert_eq!(claim.labels().get("app").map(String::as_str), Some("web"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        pod_names(&pods).await,
        BTreeSet::from(["web-0".to_string()]),
        "OrderedReady must wait for web-0 to be Running and Ready"
    );
    kubelet.release("web-0");
    eventually("web-1", || async {
        pod_names(&pods).await.contains("web-1").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !pod_names(&pods).await.contains("web-2"),
        "web-2 before web-1 was Ready"
    );
    kubelet.release("web-1");
    eventually("3 ready replicas", || async {
        let set = sets.get("web").await.ok()?;
        (set.status?.ready_replicas == Some(3)).then_some(())
    })
    .await;

    // Identity: names, labels, hostname/subdomain, owner, claims mounted.
    let set = sets.get("web").await.expect("get set");
    let status = set.status.clone().expect("status");
    let rev = status.update_revision.clone().expect("updateRevision");
    assert_eq!(status.current_revision.as_deref(), Some(rev.as_str()));
    assert_eq!(
        (
            status.replicas,
            status.current_replicas,
            status.updated_replicas
        ),
        (3, Some(3), Some(3))
    );
    assert_eq!(status.available_replicas, Some(3));
    assert_eq!(status.observed_generation, set.metadata.generation);
    assert_eq!(status.collision_count, Some(0));
    for i in 0..3 {
        let name = format!("web-{i}");
        let pod = pods.get(&name).await.expect("pod");
        assert_eq!(label(&pod, "statefulset.kubernetes.io/pod-name"), name);
        assert_eq!(label(&pod, "apps.kubernetes.io/pod-index"), i.to_string());
        assert_eq!(label(&pod, "controller-revision-hash"), rev);
        let spec = pod.spec.as_ref().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let vol = &spec.volumes.as_ref().expect("volumes")[0];
        assert_eq!(vol.name, "data");
        assert_eq!(
            vol.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone()),
            Some(format!("data-web-{i}"))
        );
        let owner = &pod.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("StatefulSet", Some(true))
        );
        assert_eq!(Some(owner.uid.clone()), set.uid());
        assert!(claims
            .get_opt(&format!("data-web-{i}"))
            .await
            .expect("get claim")
            .is_some());
    }
    // Creation order: each pod was made no earlier than its predecessor.
    let created = |p: &Pod| p.metadata.creation_timestamp.clone().map(|t| t.0);
    let (p0, p1, p2) = (
        pods.get("web-0").await.expect("web-0"),
        pods.get("web-1").await.expect("web-1"),
        pods.get("web-2").await.expect("web-2"),
    );
    assert!(created(&p0) <= created(&p1) && created(&p1) <= created(&p2));

    // The revision holds the template as a replace patch.
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let cr = revs.get(&rev).await.expect("revision");
    assert_eq!(cr.revision, 1);
    let data = cr.data.clone().expect("data").0;
    assert_eq!(data["spec"]["template"]["$patch"], "replace");
    assert_eq!(
        data["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert!(cr.labels().contains_key("controller.kubernetes.io/hash"));
    assert!(rev.starts_with("web-"));

    // Events as upstream words them.
    let created_msgs = eventually("create events", || async {
        let m = event_messages(&client, "default", "SuccessfulCreate").await;
        (m.len() >= 6).then_some(m)
    })
    .await;
    assert!(
        created_msgs.contains(&"create Pod web-0 in StatefulSet web successful".to_string()),
        "{created_msgs:?}"
    );
    assert!(
        created_msgs
            .contains(&"create Claim data-web-0 Pod web-0 in StatefulSet web success".to_string()),
        "{created_msgs:?}"
    );

    // Scale down to 1: web-2 goes before web-1, claims stay.
    let deletions = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = deletions.clone();
    let mut stream = watcher(pods.clone(), watcher::Config::default()).boxed();
    let watch = tokio::spawn(async move {
        while let Some(ev) = stream.next().await {
            if let Ok(Event::Delete(p)) = ev {
                if let Ok(mut d) = seen.lock() {
                    d.push(p.name_any());
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    kubectl(&s, &["scale", "statefulset", "web", "--replicas=1"]);
    eventually("only web-0 left", || async {
        (pod_names(&pods).await == BTreeSet::from(["web-0".to_string()])).then_some(())
    })
    .await;
    eventually("both deletions watched", || async {
        (deletions.lock().map(|d| d.len()).unwrap_or(0) >= 2).then_some(())
    })
    .await;
    watch.abort();
    let order = deletions.lock().map(|d| d.clone()).unwrap_or_default();
    assert_eq!(order, ["web-2", "web-1"]);
    for i in 0..3 {
        assert!(
            claims
                .get_opt(&format!("data-web-{i}"))
                .await
                .expect("claim")
                .is_some(),
            "claim data-web-{i} must be retained"
        );
    }
    let set = eventually("status replicas 1", || async {
        let set = sets.get("web").await.ok()?;
        (set.status.as_ref()?.replicas == 1).then_some(set)
    })
    .await;
    assert_eq!(set.status.and_then(|s| s.ready_replicas), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_rolls_out_above_the_partition_then_everywhere() {
    let s = start();
    let client = s.client().await;
    let _kubelet = Kubelet::start(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &web(3))
        .await
        .expect("create statefulset");
    let out = kubectl(
        &s,
        &["rollout", "status", "statefulset/web", "--timeout=60s"],
    );
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{out}"
    );
    let old_rev = sets
        .get("web")
        .await
        .expect("get")
        .status
        .and_then(|s| s.update_revision)
        .expect("revision");

    // Partition 2: only web-2 moves to the new template.
    let patch = json!({"spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
        "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}}
    }});
    sets.patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch image");
    let new_rev = eventually("web-2 on the new revision and ready", || async {
        let set = sets.get("web").await.ok()?;
        let st = set.status?;
        let new = st.update_revision.clone()?;
        (new != old_rev && st.updated_replicas == Some(1) && st.ready_replicas == Some(3))
            .then_some(new)
    })
    .await;
    let image = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.containers[0].image.clone())
            .unwrap_or_default()
    };
    for (name, rev, img) in [
        ("web-0", &old_rev, "nginx:1.27"),
        ("web-1", &old_rev, "nginx:1.27"),
        ("web-2", &new_rev, "nginx:1.28"),
    ] {
        let pod = pods.get(name).await.expect("pod");
        assert_eq!(
            label(&pod, "controller-revision-hash"),
            rev.as_str(),
            "{name}"
        );
        assert_eq!(image(&pod), img, "{name}");
    }
    let set = sets.get("web").await.expect("get");
    let st = set.status.expect("status");
    assert_eq!(st.current_revision.as_deref(), Some(old_rev.as_str()));
    let out = kubectl(
        &s,
        &["rollout", "status", "statefulset/web", "--timeout=60s"],
    );
    assert!(
        out.contains("partitioned roll out complete: 1 new pods have been updated"),
        "{out}"
    );

    // Partition 0: the rest follows, highest ordinal first.
    let patch = json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}});
    sets.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch partition");
    let out = kubectl(
        &s,
        &["rollout", "status", "statefulset/web", "--timeout=60s"],
    );
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{out}"
    );
    let st = eventually("current revision is the new one", || async {
        let st = sets.get("web").await.ok()?.status?;
        (st.current_revision.as_deref() == Some(new_rev.as_str())).then_some(st)
    })
    .await;
    assert_eq!(
        (st.current_replicas, st.updated_replicas),
        (Some(3), Some(3))
    );
    for i in 0..3 {
        let pod = pods.get(&format!("web-{i}")).await.expect("pod");
        assert_eq!(label(&pod, "controller-revision-hash"), new_rev.as_str());
        assert_eq!(image(&pod), "nginx:1.28");
    }
    let deletes = event_messages(&client, "default", "SuccessfulDelete").await;
    for i in 0..3 {
        assert!(
            deletes.contains(&format!("delete Pod web-{i} in StatefulSet web successful")),
            "{deletes:?}"
        );
    }

    // History: two revisions, numbered 1 and 2.
    let out = kubectl(&s, &["rollout", "history", "statefulset/web"]);
    let revisions: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{out}");
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    assert_eq!(revs.get(&new_rev).await.expect("new revision").revision, 2);

    // Undo to revision 1: the old revision comes back, renumbered 3.
    kubectl(
        &s,
        &["rollout", "undo", "statefulset/web", "--to-revision=1"],
    );
    let out = kubectl(
        &s,
        &["rollout", "status", "statefulset/web", "--timeout=60s"],
    );
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{out}"
    );
    eventually("every pod back on the first revision", || async {
        let st = sets.get("web").await.ok()?.status?;
        (st.update_revision.as_deref() == Some(old_rev.as_str())
            && st.current_revision.as_deref() == Some(old_rev.as_str()))
        .then_some(())
    })
    .await;
    assert_eq!(revs.get(&old_rev).await.expect("old revision").revision, 3);
    for i in 0..3 {
        let pod = pods.get(&format!("web-{i}")).await.expect("pod");
        assert_eq!(image(&pod), "nginx:1.27");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_parallel_from_a_start_ordinal_with_claim_retention() {
    let s = start();
    let client = s.client().await;
    let kubelet = Kubelet::start(client.clone(), "default");
    for i in 5..8 {
        kubelet.hold(&format!("web-{i}"));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let mut set = web(3);
    if let Some(spec) = set.spec.as_mut() {
        spec.pod_management_policy = Some("Parallel".into());
        spec.ordinals = Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        spec.persistent_volume_claim_retention_policy = Some(
            k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Delete".into()),
                when_scaled: Some("Delete".into()),
            },
        );
    }
    let set = sets
        .create(&PostParams::default(), &set)
        .await
        .expect("create");
    // Parallel: all three exist although none is Ready.
    let want: BTreeSet<String> = (5..8).map(|i| format!("web-{i}")).collect();
    eventually("web-5..7 without readiness", || async {
        (pod_names(&pods).await == want).then_some(())
    })
    .await;
    // whenDeleted: Delete makes the set an owner of every live claim.
    for i in 5..8 {
        let name = format!("data-web-{i}");
        eventually("claim owned by the set", || async {
            let c = claims.get_opt(&name).await.ok()??;
            c.owner_references()
                .iter()
                .any(|r| Some(r.uid.clone()) == set.uid() && r.kind == "StatefulSet")
                .then_some(())
        })
        .await;
    }
    for i in 5..8 {
        kubelet.release(&format!("web-{i}"));
    }
    eventually("3 ready", || async {
        (sets.get("web").await.ok()?.status?.ready_replicas == Some(3)).then_some(())
    })
    .await;
    // whenScaled: Delete hands a condemned ordinal's claim to its pod.
    let web7 = pods.get("web-7").await.expect("web-7");
    kubectl(&s, &["scale", "statefulset", "web", "--replicas=2"]);
    eventually("web-7 gone", || async {
        (!pod_names(&pods).await.contains("web-7")).then_some(())
    })
    .await;
    let claim = claims.get("data-web-7").await.expect("claim");
    let refs = claim.owner_references();
    assert!(
        refs.iter()
            .any(|r| r.kind == "Pod" && Some(r.uid.clone()) == web7.uid()),
        "{refs:?}"
    );
    assert!(!refs.iter().any(|r| r.kind == "StatefulSet"), "{refs:?}");
}

fn daemonset() -> DaemonSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}
            }
        }
    }))
    .expect("daemonset JSON")
}

async fn agent_pods(pods: &Api<Pod>) -> Vec<Pod> {
    pods.list(&ListParams::default().labels("app=agent"))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

fn nodes_of(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_runs_one_pod_per_eligible_node_and_rolls_out() {
    let s = start();
    let client = s.client().await;
    let _kubelet = Kubelet::start(client.clone(), "default");
    make_node(&client, "node-a", json!([])).await;
    make_node(&client, "node-b", json!([])).await;
    make_node(
        &client,
        "node-c",
        json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &daemonset())
        .await
        .expect("create daemonset");

    let out = kubectl(
        &s,
        &["rollout", "status", "daemonset/agent", "--timeout=60s"],
    );
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );
    let running = agent_pods(&pods).await;
    assert_eq!(running.len(), 2, "the tainted node gets no pod");
    assert_eq!(
        nodes_of(&running),
        BTreeSet::from(["node-a".to_string(), "node-b".to_string()])
    );
    let ds = sets.get("agent").await.expect("get");
    let st = ds.status.clone().expect("status");
    assert_eq!(
        (
            st.desired_number_scheduled,
            st.current_number_scheduled,
            st.number_ready,
            st.number_misscheduled
        ),
        (2, 2, 2, 0)
    );
    assert_eq!(
        (
            st.number_available,
            st.updated_number_scheduled,
            st.number_unavailable
        ),
        (Some(2), Some(2), Some(0))
    );
    assert_eq!(st.observed_generation, ds.metadata.generation);

    // What the pods look like: pinned by affinity (not nodeName), default
    // tolerations, revision hash and template generation labels, owner.
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let rev_list = revs
        .list(&ListParams::default())
        .await
        .expect("revisions")
        .items;
    assert_eq!(rev_list.len(), 1);
    let hash = rev_list[0].labels()["controller-revision-hash"].clone();
    assert_eq!(rev_list[0].name_any(), format!("agent-{hash}"));
    for pod in &running {
        assert!(pod.name_any().starts_with("agent-"));
        assert_eq!(label(pod, "controller-revision-hash"), hash);
        assert_eq!(label(pod, "pod-template-generation"), "1");
        let pinned = pinned_node(pod).expect("matchFields affinity");
        assert_eq!(
            Some(pinned),
            pod.spec.as_ref().and_then(|s| s.node_name.clone())
        );
        let tolerations =
            serde_json::to_value(&pod.spec.as_ref().expect("spec").tolerations).expect("json");
        for (key, effect) in [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            let want = json!({"key": key, "operator": "Exists", "effect": effect});
            assert!(
                tolerations.as_array().is_some_and(|a| a.contains(&want)),
                "{key}: {tolerations}"
            );
        }
        assert_eq!(pod.owner_references()[0].kind, "DaemonSet");
    }
    let msgs = event_messages(&client, "default", "SuccessfulCreate").await;
    for pod in &running {
        assert!(
            msgs.contains(&format!("Created pod: {}", pod.name_any())),
            "{msgs:?}"
        );
    }

    // A new node gets a pod.
    make_node(&client, "node-d", json!([])).await;
    let now = eventually("a pod on node-d", || async {
        let p = agent_pods(&pods).await;
        nodes_of(&p).contains("node-d").then_some(p)
    })
    .await;
    assert_eq!(now.len(), 3);
    eventually("desired 3", || async {
        let st = sets.get("agent").await.ok()?.status?;
        (st.desired_number_scheduled == 3 && st.number_ready == 3).then_some(())
    })
    .await;

    // An image change rolls out to every node.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}});
    sets.patch("agent", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch image");
    let out = kubectl(
        &s,
        &["rollout", "status", "daemonset/agent", "--timeout=60s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let rolled = eventually("3 pods on agent:2", || async {
        let p = agent_pods(&pods).await;
        let done = p.len() == 3
            && p.iter().all(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.containers[0].image.as_deref())
                    == Some("agent:2")
            });
        done.then_some(p)
    })
    .await;
    assert_eq!(
        nodes_of(&rolled),
        BTreeSet::from([
            "node-a".to_string(),
            "node-b".to_string(),
            "node-d".to_string()
        ])
    );
    for pod in &rolled {
        assert_eq!(label(pod, "pod-template-generation"), "2");
        assert_ne!(label(pod, "controller-revision-hash"), hash);
    }
    let rev_list = revs
        .list(&ListParams::default())
        .await
        .expect("revisions")
        .items;
    let mut numbers: Vec<i64> = rev_list.iter().map(|r| r.revision).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
    let out = kubectl(&s, &["rollout", "history", "daemonset/agent"]);
    let listed: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, ["1", "2"], "{out}");

    // Undo: the first template comes back as revision 3.
    kubectl(&s, &["rollout", "undo", "daemonset/agent"]);
    eventually("the first revision renumbered 3", || async {
        let r = revs
            .get(&rev_list.iter().find(|r| r.revision == 1)?.name_any())
            .await
            .ok()?;
        (r.revision == 3).then_some(())
    })
    .await;
    let out = kubectl(
        &s,
        &["rollout", "status", "daemonset/agent", "--timeout=60s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    eventually("3 pods back on agent:1", || async {
        let p = agent_pods(&pods).await;
        let done = p.len() == 3
            && p.iter().all(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.containers[0].image.as_deref())
                    == Some("agent:1")
                    && label(p, "controller-revision-hash") == hash
            });
        done.then_some(())
    })
    .await;

    // A toleration opens the tainted node.
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
    ]}}}});
    sets.patch("agent", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch tolerations");
    eventually("a pod on node-c", || async {
        nodes_of(&agent_pods(&pods).await)
            .contains("node-c")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_on_delete_waits_for_pods_to_go_and_honours_node_selectors() {
    let s = start();
    let client = s.client().await;
    let _kubelet = Kubelet::start(client.clone(), "default");
    make_node(&client, "node-a", json!([])).await;
    make_node(&client, "node-b", json!([])).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let ssd = json!({"metadata": {"labels": {"disk": "ssd"}}});
    nodes
        .patch("node-a", &PatchParams::default(), &Patch::Merge(&ssd))
        .await
        .expect("label node-a");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let mut ds = daemonset();
    if let Some(spec) = ds.spec.as_mut() {
        spec.update_strategy = Some(k8s_openapi::api::apps::v1::DaemonSetUpdateStrategy {
            type_: Some("OnDelete".into()),
            rolling_update: None,
        });
        if let Some(ps) = spec.template.spec.as_mut() {
            ps.node_selector = Some([("disk".to_string(), "ssd".to_string())].into());
        }
    }
    sets.create(&PostParams::default(), &ds)
        .await
        .expect("create");
    let first = eventually("one pod on node-a", || async {
        let p = agent_pods(&pods).await;
        (nodes_of(&p) == BTreeSet::from(["node-a".to_string()])).then_some(p)
    })
    .await;
    assert_eq!(first.len(), 1);

    // Labelling node-b brings a pod there.
    nodes
        .patch("node-b", &PatchParams::default(), &Patch::Merge(&ssd))
        .await
        .expect("label node-b");
    eventually("pods on both nodes", || async {
        (nodes_of(&agent_pods(&pods).await).len() == 2).then_some(())
    })
    .await;

    // OnDelete: a template change leaves running pods alone...
    let image = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}});
    sets.patch("agent", &PatchParams::default(), &Patch::Strategic(&image))
        .await
        .expect("patch image");
    eventually("status observed the change", || async {
        let ds = sets.get("agent").await.ok()?;
        let st = ds.status?;
        (st.observed_generation == ds.metadata.generation && st.updated_number_scheduled == Some(0))
            .then_some(())
    })
    .await;
    let still = agent_pods(&pods).await;
    assert_eq!(still.len(), 2);
    assert!(still
        .iter()
        .all(|p| label(p, "pod-template-generation") == "1"));
    // ...and a deleted pod comes back on the new template.
    let victim = still
        .iter()
        .find(|p| pinned_node(p).as_deref() == Some("node-b"))
        .expect("pod on node-b")
        .name_any();
    pods.delete(&victim, &Default::default())
        .await
        .expect("delete pod");
    let replaced = eventually("new pod on node-b", || async {
        agent_pods(&pods).await.into_iter().find(|p| {
            p.name_any() != victim
                && pinned_node(p).as_deref() == Some("node-b")
                && label(p, "pod-template-generation") == "2"
        })
    })
    .await;
    assert_eq!(
        replaced
            .spec
            .as_ref()
            .and_then(|s| s.containers[0].image.as_deref()),
        Some("agent:2")
    );
    // Unlabelling node-a takes its pod away.
    let unlabel = json!({"metadata": {"labels": {"disk": null}}});
    nodes
        .patch("node-a", &PatchParams::default(), &Patch::Merge(&unlabel))
        .await
        .expect("unlabel node-a");
    eventually("node-a's pod removed", || async {
        (nodes_of(&agent_pods(&pods).await) == BTreeSet::from(["node-b".to_string()])).then_some(())
    })
    .await;
    eventually("status: desired 1, misscheduled 0, updated 1", || async {
        let st = sets.get("agent").await.ok()?.status?;
        (st.desired_number_scheduled == 1
            && st.number_misscheduled == 0
            && st.updated_number_scheduled == Some(1))
        .then_some(())
    })
    .await;
}
