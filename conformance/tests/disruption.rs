//! PodDisruptionBudgets: the disruption controller keeps their status, the
//! `pods/eviction` subresource respects them, and `kubectl drain` moves a
//! Deployment's pods off a node without breaking its budget.

use std::time::Duration;

use conformance::{json, request, Server};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

fn start() -> Server {
    Server::start_with(&["--nodes", "2"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

fn pdb_status(s: &Server) -> Value {
    json(&s.kubectl_ok(&["get", "pdb", "web", "-o", "json"]))["status"].clone()
}

fn wait_allowed(s: &Server, allowed: i64, healthy: i64) -> Value {
    s.wait_for(
        WAIT,
        &format!("pdb to allow {allowed} with {healthy} healthy"),
        || {
            let st = pdb_status(s);
            (st["disruptionsAllowed"] == allowed && st["currentHealthy"] == healthy).then_some(st)
        },
    )
}

fn pods(s: &Server) -> Vec<Value> {
    json(&s.kubectl_ok(&["get", "pods", "-l", "app=web", "-o", "json"]))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A client that does not retry 429s by itself (kube's default client backs
/// off and retries them for minutes), as `kubectl drain` handles them.
async fn client_without_retries(s: &Server) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(s.kubeconfig_path()).expect("kubeconfig");
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

async fn evict(s: &Server, pod: &str) -> (u16, Value) {
    let client = client_without_retries(s).await;
    let body = serde_json::json!({
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "default"},
    });
    let (code, text) = request(
        &client,
        "POST",
        &format!("/api/v1/namespaces/default/pods/{pod}/eviction"),
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await
    .expect("eviction request");
    (code, json(&text))
}

/// A Deployment `web` of `replicas` pods, rolled out.
fn roll_out_web(s: &Server, replicas: u32) {
    let replicas = format!("--replicas={replicas}");
    s.kubectl_ok(&["create", "deployment", "web", "--image=nginx", &replicas]);
    s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
}

#[tokio::test]
async fn budgets_guard_evictions() {
    let s = start();
    roll_out_web(&s, 2);
    s.kubectl_ok(&[
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--min-available=2",
    ]);
    let st = wait_allowed(&s, 0, 2);
    assert_eq!(st["expectedPods"], 2);
    assert_eq!(st["desiredHealthy"], 2);
    assert_eq!(st["conditions"][0]["type"], "DisruptionAllowed");
    assert_eq!(st["conditions"][0]["status"], "False");
    assert_eq!(st["conditions"][0]["reason"], "InsufficientPods");
    let table = s.kubectl_ok(&["get", "pdb", "web"]);
    assert!(
        table.contains("MIN AVAILABLE") && table.contains("ALLOWED DISRUPTIONS"),
        "{table}"
    );

    // No disruption allowed: 429 with the budget named, and the pod stays.
    let victim = pods(&s)[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (code, status) = evict(&s, &victim).await;
    assert_eq!(code, 429, "{status}");
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(
        status["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget");
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "The disruption budget web needs 2 healthy pods and has 2 currently"
    );
    assert!(pods(&s)
        .iter()
        .all(|p| p["metadata"]["deletionTimestamp"].is_null()));

    // A name that differs from the URL's is refused.
    let client = s.client().await;
    let (code, _) = request(
        &client,
        "POST",
        &format!("/api/v1/namespaces/default/pods/{victim}/eviction"),
        Some("application/json"),
        br#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"other"}}"#.to_vec(),
    )
    .await
    .expect("request");
    assert_eq!(code, 400);

    // One disruption allowed: the eviction takes it and the pod goes.
    s.kubectl_ok(&[
        "patch",
        "pdb",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"minAvailable":1}}"#,
    ]);
    wait_allowed(&s, 1, 2);
    let (code, status) = evict(&s, &victim).await;
    assert_eq!(code, 201, "{status}");
    assert_eq!(status["status"], "Success");
    s.wait_for(WAIT, "the evicted pod to go", || {
        (!pods(&s)
            .iter()
            .any(|p| p["metadata"]["name"] == victim.as_str()))
        .then_some(())
    });
    // The ReplicaSet replaces it and the budget allows one again.
    wait_allowed(&s, 1, 2);
}

#[tokio::test]
async fn drain_respects_the_budget() {
    let s = start();
    roll_out_web(&s, 3);
    s.kubectl_ok(&[
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--max-unavailable=1",
    ]);
    wait_allowed(&s, 1, 3);
    let out = s.kubectl_ok(&[
        "drain",
        "ferrokube-node-1",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=120s",
    ]);
    assert!(out.contains("node/ferrokube-node-1 drained"), "{out}");
    let node = json(&s.kubectl_ok(&["get", "node", "ferrokube-node-1", "-o", "json"]));
    assert_eq!(node["spec"]["unschedulable"], true);
    s.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    for p in pods(&s) {
        if p["metadata"]["deletionTimestamp"].is_null() {
            assert_eq!(p["spec"]["nodeName"], "ferrokube-node-2", "{p}");
        }
    }
}
