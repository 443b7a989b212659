//! Resources served in two versions over one storage, as kube-apiserver
//! does: core/v1 and events.k8s.io/v1 Events (an operator's kube-rs
//! Recorder writes the second, `kubectl describe` reads the first), and
//! autoscaling/v1 and v2 HorizontalPodAutoscalers (`kubectl autoscale`).

use conformance::{json, Server};

#[test]
fn an_events_k8s_io_event_is_a_core_event_and_back() {
    let s = Server::start_with(&["--controllers=", "--nodes", "0"]).expect("server");
    let event = r#"
apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: synced
  namespace: default
eventTime: "2026-11-27T03:00:00.000000Z"
reportingController: example.com/operator
reportingInstance: op-1
action: Reconciling
reason: Synced
note: the widget was synced
type: Normal
regarding:
  kind: ConfigMap
  name: settings
  namespace: default
"#;
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(event),
    );
    let core = json(&s.kubectl_ok(&["get", "events.v1.", "synced", "-o", "json"]));
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["involvedObject"]["name"], "settings");
    assert_eq!(core["message"], "the widget was synced");
    assert_eq!(core["reportingComponent"], "example.com/operator");
    assert!(core.get("regarding").is_none(), "{core}");

    // Field selectors speak each version's field names.
    let listed = s.kubectl_ok(&[
        "get",
        "events.v1.",
        "--field-selector",
        "involvedObject.name=settings",
        "-o",
        "name",
    ]);
    assert_eq!(listed.trim(), "event/synced");
    let listed = s.kubectl_ok(&[
        "get",
        "events.v1.events.k8s.io",
        "--field-selector",
        "regarding.name=settings",
        "-o",
        "name",
    ]);
    assert_eq!(listed.trim(), "event.events.k8s.io/synced");

    // A core Event reads back through events.k8s.io/v1.
    let core_event = r#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"started","namespace":"default"},
        "involvedObject":{"kind":"Pod","name":"web","namespace":"default"},"reason":"Started",
        "message":"Started container","type":"Normal","count":3,"source":{"component":"kubelet"},
        "firstTimestamp":"2026-11-27T03:00:00Z","lastTimestamp":"2026-11-27T03:00:05Z"}"#;
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(core_event),
    );
    let v1 = json(&s.kubectl_ok(&["get", "events.v1.events.k8s.io", "started", "-o", "json"]));
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    assert_eq!(v1["regarding"]["name"], "web");
    assert_eq!(v1["note"], "Started container");
    assert_eq!(v1["deprecatedCount"], 3);
    assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
}

#[test]
fn kubectl_autoscale_writes_v1_and_v2_reads_the_cpu_metric() {
    let s = Server::start_with(&["--controllers=", "--nodes", "0"]).expect("server");
    s.kubectl_ok(&["create", "deployment", "web", "--image=nginx"]);
    let out = s.kubectl_ok(&[
        "autoscale",
        "deployment",
        "web",
        "--max=5",
        "--cpu-percent=60",
    ]);
    assert_eq!(
        out.trim(),
        "horizontalpodautoscaler.autoscaling/web autoscaled"
    );
    let v2 = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
    ]));
    assert_eq!(
        v2["spec"]["metrics"],
        serde_json::json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}}}])
    );
    let v1 = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web",
    ]));
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    assert!(v1["spec"].get("metrics").is_none(), "{v1}");
}
