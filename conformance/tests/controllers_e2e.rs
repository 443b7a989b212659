//! Everything together, as a user sees it: the real binary with all its
//! controllers (scheduler, simulated nodes and kubelets included), driven by
//! stock kubectl. Workloads roll out, Jobs finish, deletes cascade,
//! namespaces empty themselves.

use std::time::Duration;

use conformance::{json, Server};

/// Upper bound for any wait in this file.
const WAIT: Duration = Duration::from_secs(60);

/// Poll `f` until it returns Some, or panic with `what` and the server log.
fn eventually<T>(s: &Server, what: &str, f: impl FnMut() -> Option<T>) -> T {
    s.wait_for(WAIT, what, f)
}

fn get_json(s: &Server, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    json(&s.kubectl_ok(&all))
}

fn items(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn deployment_rolls_out_updates_and_rolls_back() {
    let s = Server::start();
    s.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.26",
        "--replicas=3",
    ]);
    let out = s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods = get_json(&s, &["pods", "-l", "app=web"]);
    let pods = items(&pods);
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Running", "{p}");
        assert!(p["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| n.starts_with("ferrokube-node-")));
        assert!(p["status"]["podIP"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty()));
    }

    s.kubectl_ok(&["set", "image", "deployment/web", "nginx=nginx:1.27"]);
    s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let d = get_json(&s, &["deployment", "web"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let rs = get_json(&s, &["replicasets", "-l", "app=web"]);
    let rs = items(&rs);
    assert_eq!(rs.len(), 2, "{rs:?}");
    let running: Vec<_> = rs
        .iter()
        .filter(|r| r["spec"]["replicas"].as_i64() == Some(3))
        .collect();
    assert_eq!(running.len(), 1);
    assert_eq!(
        running[0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );

    s.kubectl_ok(&["rollout", "undo", "deployment/web"]);
    s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let d = get_json(&s, &["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    let history = s.kubectl_ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains("REVISION"), "{history}");

    s.kubectl_ok(&["scale", "deployment/web", "--replicas=5"]);
    s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    eventually(&s, "5 running pods", || {
        let pods = get_json(&s, &["pods", "-l", "app=web"]);
        let running = items(&pods)
            .iter()
            .filter(|p| {
                p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
            })
            .count();
        (running == 5).then_some(())
    });
    s.kubectl_ok(&["scale", "deployment/web", "--replicas=1"]);
    eventually(&s, "one pod left", || {
        let pods = get_json(&s, &["pods", "-l", "app=web"]);
        (items(&pods).len() == 1).then_some(())
    });

    // describe shows what the controllers and the kubelet did.
    let describe = s.kubectl_ok(&["describe", "deployment", "web"]);
    assert!(describe.contains("ScalingReplicaSet"), "{describe}");
    let pod = items(&get_json(&s, &["pods", "-l", "app=web"]))[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let describe = s.kubectl_ok(&["describe", "pod", &pod]);
    for reason in ["Scheduled", "Started"] {
        assert!(describe.contains(reason), "{reason} missing:\n{describe}");
    }
    let logs = s.kubectl_ok(&["logs", &pod]);
    assert!(logs.contains("nginx:1.26"), "{logs}");
}

#[test]
fn jobs_complete_or_fail() {
    let s = Server::start();
    s.kubectl_ok(&["create", "job", "ok", "--image=busybox"]);
    let out = s.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/ok",
        "--timeout=60s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    let job = get_json(&s, &["job", "ok"]);
    assert_eq!(job["status"]["succeeded"], 1);

    let failing = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "bad"},
        "spec": {
            "backoffLimit": 1,
            "template": {
                "metadata": {"annotations": {"ferrokube.io/exit-code": "3"}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    });
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&failing.to_string()),
    );
    s.kubectl_ok(&["wait", "--for=condition=failed", "job/bad", "--timeout=60s"]);
    let job = get_json(&s, &["job", "bad"]);
    assert_eq!(job["status"]["failed"], 2, "{job}");
    let failed = job["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Failed").cloned())
        .unwrap_or_default();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
}

#[test]
fn cascading_orphaning_and_namespace_deletes() {
    let s = Server::start();
    s.kubectl_ok(&["create", "namespace", "shop"]);
    s.kubectl_ok(&[
        "-n",
        "shop",
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    s.kubectl_ok(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s",
    ]);

    // Orphan: the ReplicaSet and pods stay, without their owner reference.
    s.kubectl_ok(&[
        "-n",
        "shop",
        "delete",
        "deployment",
        "web",
        "--cascade=orphan",
    ]);
    let rs = eventually(&s, "an orphaned replicaset", || {
        let rs = items(&get_json(&s, &["-n", "shop", "replicasets"]));
        (rs.len() == 1 && rs[0]["metadata"]["ownerReferences"].is_null()).then(|| {
            rs[0]["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    });

    // Foreground: the replicaset goes only after its pods.
    s.kubectl_ok(&[
        "-n",
        "shop",
        "delete",
        "replicaset",
        &rs,
        "--cascade=foreground",
    ]);
    assert!(items(&get_json(&s, &["-n", "shop", "pods"])).is_empty());

    // A namespace full of things, running pods included, empties itself.
    s.kubectl_ok(&[
        "-n",
        "shop",
        "create",
        "deployment",
        "api",
        "--image=nginx",
        "--replicas=2",
    ]);
    s.kubectl_ok(&[
        "-n",
        "shop",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]);
    s.kubectl_ok(&[
        "-n",
        "shop",
        "create",
        "service",
        "clusterip",
        "api",
        "--tcp=80:80",
    ]);
    s.kubectl_ok(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/api",
        "--timeout=60s",
    ]);
    s.kubectl_ok(&["delete", "namespace", "shop", "--timeout=60s"]);
    let out = s.kubectl(&["get", "namespace", "shop"]);
    assert!(!out.status.success());
}

#[test]
fn services_get_endpoints_and_namespaces_get_service_accounts() {
    let s = Server::start();
    s.kubectl_ok(&[
        "create",
        "deployment",
        "api",
        "--image=nginx",
        "--replicas=2",
        "--port=80",
    ]);
    s.kubectl_ok(&[
        "expose",
        "deployment",
        "api",
        "--port=8080",
        "--target-port=80",
    ]);
    s.kubectl_ok(&["rollout", "status", "deployment/api", "--timeout=60s"]);
    let ep = eventually(&s, "two ready endpoint addresses", || {
        let ep = get_json(&s, &["endpoints", "api"]);
        let n = ep["subsets"][0]["addresses"].as_array().map_or(0, Vec::len);
        (n == 2).then_some(ep)
    });
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 80);
    let slices = eventually(&s, "an endpointslice", || {
        let v = get_json(
            &s,
            &["endpointslices", "-l", "kubernetes.io/service-name=api"],
        );
        let it = items(&v);
        (it.len() == 1 && it[0]["endpoints"].as_array().map_or(0, Vec::len) == 2).then_some(it)
    });
    assert_eq!(slices[0]["addressType"], "IPv4");

    s.kubectl_ok(&["create", "namespace", "team"]);
    eventually(&s, "the default service account and root CA", || {
        let sa = s.kubectl(&["-n", "team", "get", "serviceaccount", "default"]);
        let ca = s.kubectl(&["-n", "team", "get", "configmap", "kube-root-ca.crt"]);
        (sa.status.success() && ca.status.success()).then_some(())
    });
    let nodes = items(&get_json(&s, &["nodes"]));
    assert_eq!(nodes.len(), 3);
}

#[test]
fn statefulsets_get_claims_and_daemonsets_cover_every_node() {
    let s = Server::start();
    let sts = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db", "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "c", "image": "postgres:17",
                                  "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]
        }
    });
    let ds = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        }
    });
    for doc in [&sts, &ds] {
        s.kubectl_with_ok(
            &conformance::kubectl_path(),
            &["create", "-f", "-"],
            Some(&doc.to_string()),
        );
    }
    s.kubectl_ok(&["rollout", "status", "statefulset/db", "--timeout=60s"]);
    let claims = items(&get_json(&s, &["pvc"]));
    let mut names: Vec<&str> = claims
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["data-db-0", "data-db-1"]);
    for c in &claims {
        assert_eq!(c["status"]["phase"], "Bound", "{c}");
    }
    s.kubectl_ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    let pods = items(&get_json(&s, &["pods", "-l", "app=agent"]));
    let mut nodes: Vec<&str> = pods
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        ["ferrokube-node-1", "ferrokube-node-2", "ferrokube-node-3"]
    );
}
