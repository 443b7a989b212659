//! The scheduler, the simulated nodes and kubelets, and the
//! persistent-volume binder, against the real binary through kubectl:
//! nodes Ready with heartbeats, pods scheduled (or not, with upstream's
//! reasons) and run, run-to-completion pods ending Succeeded or Failed,
//! graceful deletion finished by the kubelet, stale nodes turning Unknown,
//! claims bound and provisioned.

use std::time::Duration;

use conformance::{json, kubectl_path, Server};
use serde_json::Value;

/// Upper bound for any single wait in this file.
const WAIT: Duration = Duration::from_secs(30);

fn start() -> Server {
    Server::start_with(&["--controllers", "scheduler,nodes,persistentvolume-binder"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

/// Poll `check` every 100 ms until it gives Some, for at most `WAIT`.
fn eventually<T>(s: &Server, what: &str, check: impl FnMut() -> Option<T>) -> T {
    s.wait_for(WAIT, what, check)
}

fn apply(s: &Server, manifest: &Value) {
    s.kubectl_with_ok(
        &kubectl_path(),
        &["create", "-f", "-"],
        Some(&manifest.to_string()),
    );
}

fn get(s: &Server, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = s.kubectl(&all);
    out.status
        .success()
        .then(|| json(&String::from_utf8_lossy(&out.stdout)))
}

fn pod(name: &str, extra_spec: Value, annotations: Value) -> Value {
    let mut spec = serde_json::json!({
        "containers": [{"name": "main", "image": "nginx:1.27"}],
    });
    if let (Some(s), Value::Object(extra)) = (spec.as_object_mut(), extra_spec) {
        s.extend(extra);
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": spec,
    })
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn wait_ready_nodes(s: &Server, n: usize) {
    eventually(s, "Ready nodes", || {
        let list = get(s, &["nodes"])?;
        let ready = list["items"]
            .as_array()?
            .iter()
            .filter(|node| condition(node, "Ready").is_some_and(|c| c["status"] == "True"))
            .count();
        (ready == n).then_some(())
    });
}

fn phase(s: &Server, name: &str) -> Option<String> {
    get(s, &["pod", name])?["status"]["phase"]
        .as_str()
        .map(str::to_string)
}

fn events_for(s: &Server, name: &str) -> Vec<Value> {
    let selector = format!("involvedObject.name={name}");
    get(s, &["events", "--field-selector", &selector])
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default()
}

fn has_event(s: &Server, name: &str, reason: &str) -> Option<Value> {
    events_for(s, name)
        .into_iter()
        .find(|e| e["reason"] == reason)
}

#[test]
fn nodes_are_ready_with_kubelet_status_and_upstream_columns() {
    let s = start();
    wait_ready_nodes(&s, 3);
    let table = s.kubectl_ok(&["get", "nodes"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], format!("ferrokube-node-{}", i + 1), "{table}");
        assert_eq!(row[1], "Ready", "{table}");
        assert_eq!(row[2], "<none>", "{table}");
        assert_eq!(row[4], "v1.33.1", "{table}");
    }
    let wide = s.kubectl_ok(&["get", "nodes", "-o", "wide"]);
    assert!(wide.contains("10.0.0.2"), "{wide}");
    assert!(wide.contains("ferrokube://simulated"), "{wide}");

    let node = get(&s, &["node", "ferrokube-node-2"]).expect("node");
    let labels = &node["metadata"]["labels"];
    assert_eq!(labels["kubernetes.io/hostname"], "ferrokube-node-2");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["kubernetes.io/arch"], "amd64");
    let status = &node["status"];
    assert_eq!(status["capacity"]["cpu"], "4");
    assert_eq!(status["allocatable"]["memory"], "16Gi");
    assert_eq!(status["allocatable"]["pods"], "110");
    assert_eq!(status["nodeInfo"]["kubeletVersion"], "v1.33.1");
    assert_eq!(status["nodeInfo"]["architecture"], "amd64");
    assert_eq!(status["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
    let ready = condition(&node, "Ready").expect("Ready condition");
    assert_eq!(ready["reason"], "KubeletReady");
    assert_eq!(ready["message"], "kubelet is posting ready status");
    for kind in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        assert_eq!(condition(&node, kind).expect(kind)["status"], "False");
    }
    let ready_event = eventually(&s, "NodeReady event", || {
        has_event(&s, "ferrokube-node-2", "NodeReady")
    });
    assert_eq!(
        ready_event["message"],
        "Node ferrokube-node-2 status is now: NodeReady"
    );
    assert_eq!(ready_event["source"]["component"], "kubelet");
    assert!(has_event(&s, "ferrokube-node-2", "Starting").is_some());
    let addresses = status["addresses"].as_array().expect("addresses");
    assert!(addresses
        .iter()
        .any(|a| a["type"] == "InternalIP" && a["address"] == "10.0.0.2"));
    assert!(addresses
        .iter()
        .any(|a| a["type"] == "Hostname" && a["address"] == "ferrokube-node-2"));
}

#[test]
fn node_leases_are_renewed() {
    let s = start();
    let first = eventually(&s, "node lease", || {
        get(&s, &["lease", "-n", "kube-node-lease", "ferrokube-node-1"])
    });
    assert_eq!(first["spec"]["holderIdentity"], "ferrokube-node-1");
    assert_eq!(first["spec"]["leaseDurationSeconds"], 40);
    assert_eq!(first["metadata"]["ownerReferences"][0]["kind"], "Node");
    let renewed = first["spec"]["renewTime"].clone();
    eventually(&s, "a renewed lease", || {
        let now = get(&s, &["lease", "-n", "kube-node-lease", "ferrokube-node-1"])?;
        (now["spec"]["renewTime"] != renewed).then_some(())
    });
}

#[test]
fn a_node_whose_heartbeat_stopped_becomes_unknown_and_tainted() {
    let s = start();
    apply(
        &s,
        &serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ghost"}}),
    );
    let old = "2020-01-01T00:00:00Z";
    let status = serde_json::json!({"status": {"conditions": [{
        "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": old, "lastTransitionTime": old,
    }]}});
    s.kubectl_ok(&[
        "patch",
        "node",
        "ghost",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
    apply(
        &s,
        &serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "ghost", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 40,
                     "renewTime": "2020-01-01T00:00:00.000000Z"},
        }),
    );
    let node = eventually(&s, "ghost Ready=Unknown and tainted", || {
        let node = get(&s, &["node", "ghost"])?;
        let ready = condition(&node, "Ready")?;
        let tainted = node["spec"]["taints"]
            .as_array()?
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoSchedule");
        (ready["status"] == "Unknown" && tainted).then_some(node)
    });
    let ready = condition(&node, "Ready").expect("Ready");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    let not_ready = eventually(&s, "NodeNotReady event", || {
        has_event(&s, "ghost", "NodeNotReady")
    });
    assert_eq!(not_ready["source"]["component"], "node-controller");
    let table = s.kubectl_ok(&["get", "node", "ghost", "--no-headers"]);
    assert!(table.contains("NotReady"), "{table}");
    // Our own nodes keep beating.
    let ours = get(&s, &["node", "ferrokube-node-1"]).expect("node-1");
    assert_eq!(condition(&ours, "Ready").expect("Ready")["status"], "True");
}

#[test]
fn a_pod_is_scheduled_and_runs_ready() {
    let s = start();
    wait_ready_nodes(&s, 3);
    s.kubectl_ok(&["run", "web", "--image=nginx:1.27"]);
    s.kubectl_ok(&["wait", "--for=condition=Ready", "pod/web", "--timeout=30s"]);
    let p = get(&s, &["pod", "web"]).expect("pod");
    let status = &p["status"];
    assert_eq!(status["phase"], "Running");
    let node = p["spec"]["nodeName"].as_str().expect("bound");
    let index = node.strip_prefix("ferrokube-node-").expect("one of ours");
    let ip = status["podIP"].as_str().expect("podIP");
    assert!(ip.starts_with(&format!("10.244.{index}.")), "{ip}");
    assert_eq!(status["podIPs"][0]["ip"], ip);
    assert_eq!(status["hostIP"], format!("10.0.0.{index}"));
    assert_eq!(status["qosClass"], "BestEffort");
    assert!(status["startTime"].is_string());
    for kind in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        assert_eq!(condition(&p, kind).expect(kind)["status"], "True", "{kind}");
    }
    let cs = &status["containerStatuses"][0];
    assert_eq!(cs["name"], "web");
    assert_eq!(cs["ready"], true);
    assert_eq!(cs["started"], true);
    assert_eq!(cs["restartCount"], 0);
    assert!(cs["containerID"]
        .as_str()
        .is_some_and(|id| id.starts_with("ferrokube://")));
    assert!(cs["state"]["running"]["startedAt"].is_string());

    let scheduled = eventually(&s, "Scheduled event", || has_event(&s, "web", "Scheduled"));
    assert_eq!(
        scheduled["message"],
        format!("Successfully assigned default/web to {node}")
    );
    assert_eq!(scheduled["source"]["component"], "default-scheduler");
    let started = eventually(&s, "Started event", || has_event(&s, "web", "Started"));
    assert_eq!(started["message"], "Started container web");
    assert_eq!(started["source"]["component"], "kubelet");
    assert_eq!(started["source"]["host"], node);
    let pulled = has_event(&s, "web", "Pulled").expect("Pulled");
    assert_eq!(
        pulled["message"],
        "Container image \"nginx:1.27\" already present on machine"
    );
    let table = s.kubectl_ok(&["get", "pod", "web", "--no-headers"]);
    assert!(
        table.contains("1/1") && table.contains("Running"),
        "{table}"
    );
}

#[test]
fn pods_on_the_same_node_get_distinct_ips_and_spread() {
    let s = start();
    wait_ready_nodes(&s, 3);
    for i in 0..6 {
        apply(
            &s,
            &pod(
                &format!("p{i}"),
                serde_json::json!({}),
                serde_json::json!({}),
            ),
        );
    }
    let pods = eventually(&s, "6 running pods", || {
        let list = get(&s, &["pods"])?;
        let items = list["items"].as_array()?.clone();
        items
            .iter()
            .all(|p| p["status"]["phase"] == "Running" && p["status"]["podIP"].is_string())
            .then_some(items)
    });
    assert_eq!(pods.len(), 6);
    let mut ips: Vec<&str> = pods
        .iter()
        .filter_map(|p| p["status"]["podIP"].as_str())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 6, "{ips:?}");
    let mut nodes: Vec<&str> = pods
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "least-allocated spreads pods: {nodes:?}");
}

#[test]
fn an_impossible_node_selector_leaves_the_pod_pending_until_a_node_matches() {
    let s = start();
    wait_ready_nodes(&s, 3);
    apply(
        &s,
        &pod(
            "picky",
            serde_json::json!({"nodeSelector": {"disk": "ssd"}}),
            serde_json::json!({}),
        ),
    );
    let cond = eventually(&s, "PodScheduled=False", || {
        let p = get(&s, &["pod", "picky"])?;
        condition(&p, "PodScheduled")
            .filter(|c| c["status"] == "False")
            .cloned()
    });
    let message = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
                   preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    assert_eq!(cond["reason"], "Unschedulable");
    assert_eq!(cond["message"], message);
    let event = eventually(&s, "FailedScheduling", || {
        has_event(&s, "picky", "FailedScheduling")
    });
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["message"], message);
    assert_eq!(phase(&s, "picky").as_deref(), Some("Pending"));

    s.kubectl_ok(&["label", "node", "ferrokube-node-2", "disk=ssd"]);
    let p = eventually(&s, "picky running on node-2", || {
        let p = get(&s, &["pod", "picky"])?;
        (p["status"]["phase"] == "Running").then_some(p)
    });
    assert_eq!(p["spec"]["nodeName"], "ferrokube-node-2");
}

#[test]
fn taints_affinity_and_cordons_are_respected() {
    let s = start();
    wait_ready_nodes(&s, 3);
    s.kubectl_ok(&[
        "taint",
        "nodes",
        "ferrokube-node-1",
        "dedicated=gpu:NoSchedule",
    ]);
    s.kubectl_ok(&["cordon", "ferrokube-node-2"]);
    for i in 0..3 {
        apply(
            &s,
            &pod(
                &format!("plain{i}"),
                serde_json::json!({}),
                serde_json::json!({}),
            ),
        );
    }
    for i in 0..3 {
        let name = format!("plain{i}");
        let node = eventually(&s, "plain pod bound", || {
            get(&s, &["pod", &name])?["spec"]["nodeName"]
                .as_str()
                .map(str::to_string)
        });
        assert_eq!(node, "ferrokube-node-3", "{name}");
    }
    // Tolerating the taint and requiring node-1 by name through affinity.
    apply(
        &s,
        &pod(
            "tolerant",
            serde_json::json!({
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchFields": [
                        {"key": "metadata.name", "operator": "In", "values": ["ferrokube-node-1"]}
                    ]}]
                }}}
            }),
            serde_json::json!({}),
        ),
    );
    let node = eventually(&s, "tolerant pod bound", || {
        get(&s, &["pod", "tolerant"])?["spec"]["nodeName"]
            .as_str()
            .map(str::to_string)
    });
    assert_eq!(node, "ferrokube-node-1");
    // Affinity to node-2 only: cordoned.
    apply(
        &s,
        &pod(
            "stuck",
            serde_json::json!({
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["ferrokube-node-2"]}
                    ]}]
                }}}
            }),
            serde_json::json!({}),
        ),
    );
    let cond = eventually(&s, "stuck unschedulable", || {
        let p = get(&s, &["pod", "stuck"])?;
        condition(&p, "PodScheduled")
            .filter(|c| c["status"] == "False")
            .cloned()
    });
    assert_eq!(
        cond["message"],
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, \
         1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    s.kubectl_ok(&["uncordon", "ferrokube-node-2"]);
    eventually(&s, "stuck bound after uncordon", || {
        let node = get(&s, &["pod", "stuck"])?["spec"]["nodeName"]
            .as_str()?
            .to_string();
        (node == "ferrokube-node-2").then_some(())
    });
}

#[test]
fn resource_requests_fill_nodes_then_pods_wait() {
    let s = start();
    wait_ready_nodes(&s, 3);
    let big = |name: &str| {
        pod(
            name,
            serde_json::json!({"containers": [{"name": "main", "image": "nginx",
                "resources": {"requests": {"cpu": "3", "memory": "1Gi"}, "limits": {"cpu": "3", "memory": "1Gi"}}}]}),
            serde_json::json!({}),
        )
    };
    for i in 0..3 {
        apply(&s, &big(&format!("big{i}")));
    }
    let nodes = eventually(&s, "three big pods bound", || {
        let mut nodes = Vec::new();
        for i in 0..3 {
            let p = get(&s, &["pod", &format!("big{i}")])?;
            nodes.push(p["spec"]["nodeName"].as_str()?.to_string());
        }
        Some(nodes)
    });
    let mut distinct = nodes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "one 3-cpu pod per 4-cpu node: {nodes:?}");
    apply(&s, &big("big3"));
    let cond = eventually(&s, "big3 unschedulable", || {
        let p = get(&s, &["pod", "big3"])?;
        condition(&p, "PodScheduled")
            .filter(|c| c["status"] == "False")
            .cloned()
    });
    assert_eq!(
        cond["message"],
        "0/3 nodes are available: 3 Insufficient cpu. \
         preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    let running = eventually(&s, "big0 running", || {
        let p = get(&s, &["pod", "big0"])?;
        (p["status"]["phase"] == "Running").then_some(p)
    });
    assert_eq!(running["status"]["qosClass"], "Guaranteed");
    // Room again once a big pod goes.
    s.kubectl_ok(&["delete", "pod", "big0", "--timeout=30s"]);
    eventually(&s, "big3 bound", || {
        get(&s, &["pod", "big3"])?["spec"]["nodeName"]
            .as_str()
            .map(|_| ())
    });
}

#[test]
fn run_to_completion_pods_end_succeeded_or_failed() {
    let s = start();
    wait_ready_nodes(&s, 3);
    let never = serde_json::json!({"restartPolicy": "Never"});
    apply(
        &s,
        &pod(
            "ok",
            never.clone(),
            serde_json::json!({"ferrokube.io/run-seconds": "1"}),
        ),
    );
    apply(
        &s,
        &pod(
            "bad",
            never,
            serde_json::json!({"ferrokube.io/exit-code": "1"}),
        ),
    );
    eventually(&s, "ok Succeeded", || {
        (phase(&s, "ok")? == "Succeeded").then_some(())
    });
    eventually(&s, "bad Failed", || {
        (phase(&s, "bad")? == "Failed").then_some(())
    });
    let ok = get(&s, &["pod", "ok"]).expect("ok");
    let term = &ok["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["reason"], "Completed");
    assert_eq!(term["exitCode"], 0);
    assert_eq!(
        condition(&ok, "Ready").expect("Ready")["reason"],
        "PodCompleted"
    );
    let bad = get(&s, &["pod", "bad"]).expect("bad");
    let term = &bad["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["reason"], "Error");
    assert_eq!(term["exitCode"], 1);
    let table = s.kubectl_ok(&["get", "pods", "--no-headers"]);
    assert!(
        table.contains("Completed") && table.contains("Error"),
        "{table}"
    );

    // OnFailure restarts a failing container instead.
    apply(
        &s,
        &pod(
            "retry",
            serde_json::json!({"restartPolicy": "OnFailure"}),
            serde_json::json!({"ferrokube.io/exit-code": "2"}),
        ),
    );
    let cs = eventually(&s, "retry restarted", || {
        let p = get(&s, &["pod", "retry"])?;
        let cs = p["status"]["containerStatuses"][0].clone();
        (cs["restartCount"].as_i64()? >= 1).then_some(cs)
    });
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 2);
    assert_eq!(phase(&s, "retry").as_deref(), Some("Running"));
}

#[test]
fn kubectl_delete_of_a_running_pod_is_finished_by_the_kubelet() {
    let s = start();
    wait_ready_nodes(&s, 3);
    apply(
        &s,
        &pod("doomed", serde_json::json!({}), serde_json::json!({})),
    );
    s.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/doomed",
        "--timeout=30s",
    ]);
    // kubectl waits for the pod to be gone; well inside the 30 s grace
    // period only if the kubelet deletes it once its containers stopped.
    s.kubectl_ok(&["delete", "pod", "doomed", "--timeout=20s"]);
    let out = s.kubectl(&["get", "pod", "doomed"]);
    assert!(!out.status.success());
    let killing = eventually(&s, "Killing event", || has_event(&s, "doomed", "Killing"));
    assert_eq!(killing["message"], "Stopping container main");
}

#[test]
fn claims_bind_to_volumes_and_get_provisioned() {
    let s = start();
    let class = eventually(&s, "default StorageClass", || {
        get(&s, &["storageclass", "standard"])
    });
    assert_eq!(
        class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert_eq!(class["provisioner"], "ferrokube.io/simulated");
    assert_eq!(class["volumeBindingMode"], "Immediate");

    // Provisioned: a claim with no class gets the default and a new volume.
    apply(
        &s,
        &serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
        }),
    );
    let claim = eventually(&s, "data Bound", || {
        let c = get(&s, &["pvc", "data"])?;
        (c["status"]["phase"] == "Bound").then_some(c)
    });
    let uid = claim["metadata"]["uid"].as_str().expect("uid");
    let volume = format!("pvc-{uid}");
    assert_eq!(claim["spec"]["volumeName"], volume);
    assert_eq!(claim["spec"]["storageClassName"], "standard");
    assert_eq!(claim["status"]["capacity"]["storage"], "2Gi");
    assert_eq!(claim["status"]["accessModes"][0], "ReadWriteOnce");
    let annotations = &claim["metadata"]["annotations"];
    assert_eq!(annotations["pv.kubernetes.io/bind-completed"], "yes");
    assert_eq!(annotations["pv.kubernetes.io/bound-by-controller"], "yes");
    let pv = eventually(&s, "provisioned PV Bound", || {
        let v = get(&s, &["pv", &volume])?;
        (v["status"]["phase"] == "Bound").then_some(v)
    });
    assert_eq!(
        pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"],
        "ferrokube.io/simulated"
    );
    assert_eq!(pv["spec"]["claimRef"]["name"], "data");
    assert_eq!(pv["spec"]["claimRef"]["uid"], uid);
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert!(pv["spec"]["hostPath"]["path"].is_string());
    eventually(&s, "ProvisioningSucceeded", || {
        has_event(&s, "data", "ProvisioningSucceeded")
    });

    // Static: the smallest matching Available volume of the class.
    for (name, size) in [
        ("big-manual", "10Gi"),
        ("small-manual", "3Gi"),
        ("tiny-manual", "1Gi"),
    ] {
        apply(
            &s,
            &serde_json::json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {"kind": "manual"}},
                "spec": {"storageClassName": "manual", "capacity": {"storage": size},
                         "accessModes": ["ReadWriteOnce"], "hostPath": {"path": format!("/tmp/{name}")}},
            }),
        );
    }
    eventually(&s, "manual PVs Available", || {
        let v = get(&s, &["pv", "small-manual"])?;
        (v["status"]["phase"] == "Available").then_some(())
    });
    apply(
        &s,
        &serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "static", "namespace": "default"},
            "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
                     "selector": {"matchLabels": {"kind": "manual"}},
                     "resources": {"requests": {"storage": "2Gi"}}},
        }),
    );
    let claim = eventually(&s, "static Bound", || {
        let c = get(&s, &["pvc", "static"])?;
        (c["status"]["phase"] == "Bound").then_some(c)
    });
    assert_eq!(claim["spec"]["volumeName"], "small-manual");
    assert_eq!(claim["status"]["capacity"]["storage"], "3Gi");
    let pv = eventually(&s, "small-manual Bound", || {
        let v = get(&s, &["pv", "small-manual"])?;
        (v["status"]["phase"] == "Bound").then_some(v)
    });
    assert_eq!(
        pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
        "yes"
    );
    let table = s.kubectl_ok(&["get", "pvc", "static", "--no-headers"]);
    assert!(
        table.contains("Bound") && table.contains("small-manual"),
        "{table}"
    );

    // Released per reclaim policy: Retain keeps the volume, Delete removes it.
    s.kubectl_ok(&["delete", "pvc", "static", "data"]);
    eventually(&s, "small-manual Released", || {
        let v = get(&s, &["pv", "small-manual"])?;
        (v["status"]["phase"] == "Released").then_some(())
    });
    eventually(&s, "provisioned PV deleted", || {
        (!s.kubectl(&["get", "pv", &volume]).status.success()).then_some(())
    });
}

#[test]
fn a_pod_waits_for_its_claim_to_exist_and_bind() {
    let s = start();
    wait_ready_nodes(&s, 3);
    apply(
        &s,
        &pod(
            "db",
            serde_json::json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}]}),
            serde_json::json!({}),
        ),
    );
    let cond = eventually(&s, "db unschedulable", || {
        let p = get(&s, &["pod", "db"])?;
        condition(&p, "PodScheduled")
            .filter(|c| c["status"] == "False")
            .cloned()
    });
    assert_eq!(
        cond["message"],
        "0/3 nodes are available: persistentvolumeclaim \"db-data\" not found. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    apply(
        &s,
        &serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "db-data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }),
    );
    eventually(&s, "db running once its claim is bound", || {
        (phase(&s, "db")? == "Running").then_some(())
    });
    let claim = get(&s, &["pvc", "db-data"]).expect("claim");
    assert_eq!(claim["status"]["phase"], "Bound");
}
