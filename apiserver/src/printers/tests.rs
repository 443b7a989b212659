//! Printer tests: realistic objects, exact cells.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::*;

const NOW: &str = "2024-05-01T12:00:00Z";

fn now() -> Timestamp {
    match NOW.parse() {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn cells(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    row(group, kind, obj, now()).cells
}

fn names(group: &str, kind: &str) -> Vec<(String, i32)> {
    columns(group, kind)
        .into_iter()
        .map(|c| (c.name, c.priority))
        .collect()
}

fn pod(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2024-05-01T11:54:48Z", "resourceVersion": "42"},
        "spec": spec,
        "status": status,
    })
}

fn two_containers() -> Value {
    json!({"nodeName": "node-a", "containers": [{"name": "app", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]})
}

#[test]
fn pod_columns_match_upstream() {
    let want: Vec<(String, i32)> = [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    .iter()
    .map(|(n, p)| (n.to_string(), *p))
    .collect();
    assert_eq!(names("", "Pod"), want);
    let cols = columns("", "Pod");
    assert_eq!(cols[0].format, "name");
    assert_eq!(cols[3].type_, "string");
    assert!(cols[0]
        .description
        .starts_with("Name must be unique within a namespace."));
}

#[test]
fn running_pod_with_restarts() {
    let p = pod(
        two_containers(),
        json!({
            "phase": "Running",
            "podIP": "10.1.0.7",
            "podIPs": [{"ip": "10.1.0.7"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 3, "state": {"running": {"startedAt": "2024-05-01T11:55:00Z"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-05-01T11:55:00Z"}}},
                {"name": "log", "ready": false, "restartCount": 0, "state": {"running": {}}}
            ]
        }),
    );
    let r = row("", "Pod", &p, now());
    assert_eq!(
        r.cells,
        vec![
            json!("web-1"),
            json!("1/2"),
            json!("Running"),
            json!("3 (5m ago)"),
            json!("5m12s"),
            json!("10.1.0.7"),
            json!("node-a"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    assert!(r.conditions.is_empty());
}

#[test]
fn pod_states() {
    let one = json!({"containers": [{"name": "app", "image": "x"}]});
    let status = |p: &Value| cells("", "Pod", p)[2].clone();

    let pending = pod(one.clone(), json!({"phase": "Pending"}));
    let c = cells("", "Pod", &pending);
    assert_eq!(
        (c[1].clone(), c[2].clone(), c[3].clone()),
        (json!("0/1"), json!("Pending"), json!("0"))
    );
    assert_eq!(c[5], json!("<none>"));
    assert_eq!(c[6], json!("<none>"));

    let crash = pod(
        one.clone(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}),
    );
    assert_eq!(status(&crash), json!("CrashLoopBackOff"));
    // no last termination time: just the count
    assert_eq!(cells("", "Pod", &crash)[3], json!("5"));

    let image = pod(
        one.clone(),
        json!({"phase": "Pending", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}
        ]}),
    );
    assert_eq!(status(&image), json!("ImagePullBackOff"));

    let init_spec = json!({"initContainers": [{"name": "init", "image": "x"}], "containers": [{"name": "app", "image": "x"}]});
    let init = pod(
        init_spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init", "ready": false, "restartCount": 0, "state": {"running": {}}}
        ], "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
        ]}),
    );
    assert_eq!(status(&init), json!("Init:0/1"));

    let init_err = pod(
        init_spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init", "ready": false, "restartCount": 2, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
        ]}),
    );
    assert_eq!(status(&init_err), json!("Init:Error"));
    assert_eq!(cells("", "Pod", &init_err)[3], json!("2"));

    let init_backoff = pod(
        init_spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}),
    );
    assert_eq!(status(&init_backoff), json!("Init:CrashLoopBackOff"));

    let init_signal = pod(
        init_spec,
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}
        ]}),
    );
    assert_eq!(status(&init_signal), json!("Init:Signal:9"));

    let completed = pod(
        one.clone(),
        json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ]}),
    );
    let r = row("", "Pod", &completed, now());
    assert_eq!(r.cells[1..3], [json!("0/1"), json!("Completed")]);
    assert_eq!(
        r.conditions,
        vec![
            json!({"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."})
        ]
    );

    let exit = pod(
        one.clone(),
        json!({"phase": "Failed", "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}
        ]}),
    );
    assert_eq!(status(&exit), json!("ExitCode:2"));
    assert_eq!(
        row("", "Pod", &exit, now()).conditions[0]["reason"],
        json!("Failed")
    );

    let mut terminating = pod(
        one.clone(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}
        ]}),
    );
    terminating["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(status(&terminating), json!("Terminating"));

    let mut lost = pod(
        one.clone(),
        json!({"phase": "Running", "reason": "NodeLost"}),
    );
    lost["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(status(&lost), json!("Unknown"));

    let evicted = pod(one.clone(), json!({"phase": "Failed", "reason": "Evicted"}));
    assert_eq!(status(&evicted), json!("Evicted"));

    let gated = pod(
        one,
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(status(&gated), json!("SchedulingGated"));
}

#[test]
fn pod_with_sidecar_and_readiness_gates() {
    let p = pod(
        json!({
            "nodeName": "node-b",
            "readinessGates": [{"conditionType": "example.com/ready"}, {"conditionType": "example.com/other"}],
            "initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
            "containers": [{"name": "app", "image": "x"}]
        }),
        json!({
            "phase": "Running",
            "podIPs": [{"ip": "fd00::5"}, {"ip": "10.0.0.5"}],
            "nominatedNodeName": "node-c",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "example.com/ready", "status": "True"}
            ],
            "initContainerStatuses": [
                {"name": "proxy", "ready": true, "started": true, "restartCount": 1, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T09:00:00Z"}}}
            ],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}
            ]
        }),
    );
    assert_eq!(
        cells("", "Pod", &p),
        vec![
            json!("web-1"),
            json!("2/2"),
            json!("Running"),
            json!("1 (3h ago)"),
            json!("5m12s"),
            json!("fd00::5"),
            json!("node-b"),
            json!("node-c"),
            json!("1/2")
        ]
    );
}

#[test]
fn completed_with_running_sidecar_container() {
    // one container finished, another still running and the pod not ready
    let p = pod(
        two_containers(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "log", "ready": true, "restartCount": 0, "state": {"running": {}}}
        ]}),
    );
    assert_eq!(
        cells("", "Pod", &p)[1..3],
        [json!("1/2"), json!("NotReady")]
    );
}

#[test]
fn deployment() {
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-04-28T12:00:00Z"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}]},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.25"}, {"name": "sidecar", "image": "envoy:v1"}
            ]}}
        },
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    let want_cols: Vec<(String, i32)> = [
        ("Name", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    .iter()
    .map(|(n, p)| (n.to_string(), *p))
    .collect();
    assert_eq!(names("apps", "Deployment"), want_cols);
    assert_eq!(
        cells("apps", "Deployment", &d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("3d"),
            json!("nginx,sidecar"),
            json!("nginx:1.25,envoy:v1"),
            json!("app=web,tier in (edge,front)")
        ]
    );
}

#[test]
fn replicaset_statefulset_daemonset() {
    let rs = json!({
        "metadata": {"name": "web-5d4f", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}
    });
    assert_eq!(
        cells("apps", "ReplicaSet", &rs),
        vec![
            json!("web-5d4f"),
            json!(2),
            json!(2),
            json!(1),
            json!("120m"),
            json!("nginx"),
            json!("nginx"),
            json!("app=web,pod-template-hash=5d4f")
        ]
    );
    let sts = json!({
        "metadata": {"name": "db", "creationTimestamp": "2024-05-01T11:59:30Z"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}},
        "status": {"readyReplicas": 3}
    });
    assert_eq!(
        cells("apps", "StatefulSet", &sts),
        vec![
            json!("db"),
            json!("3/3"),
            json!("30s"),
            json!("pg"),
            json!("postgres:16")
        ]
    );
    let ds = json!({
        "metadata": {"name": "agent", "creationTimestamp": "2024-04-01T12:00:00Z"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "agent:1"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}
    });
    assert_eq!(
        cells("apps", "DaemonSet", &ds),
        vec![
            json!("agent"),
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("kubernetes.io/os=linux"),
            json!("30d"),
            json!("a"),
            json!("agent:1"),
            json!("app=agent")
        ]
    );
    let cr = json!({
        "metadata": {"name": "db-7c9", "creationTimestamp": "2024-05-01T11:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true, "uid": "u"}]},
        "revision": 2
    });
    assert_eq!(
        cells("apps", "ControllerRevision", &cr),
        vec![
            json!("db-7c9"),
            json!("statefulset.apps/db"),
            json!(2),
            json!("60m")
        ]
    );
}

#[test]
fn service_with_ports() {
    let svc = json!({
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T07:00:00Z"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.12.34",
            "clusterIPs": ["10.96.12.34"],
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 30080},
                {"name": "dns", "port": 53, "protocol": "UDP"}
            ]
        }
    });
    assert_eq!(
        names("", "Service"),
        [
            ("Name", 0),
            ("Type", 0),
            ("Cluster-IP", 0),
            ("External-IP", 0),
            ("Port(s)", 0),
            ("Age", 0),
            ("Selector", 1)
        ]
        .iter()
        .map(|(n, p)| (n.to_string(), *p))
        .collect::<Vec<_>>()
    );
    assert_eq!(
        cells("", "Service", &svc),
        vec![
            json!("web"),
            json!("NodePort"),
            json!("10.96.12.34"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("5h"),
            json!("app=web")
        ]
    );

    let lb = json!({
        "metadata": {"name": "lb", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.9"], "ports": [{"port": 443, "protocol": "TCP", "nodePort": 31443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}}
    });
    let c = cells("", "Service", &lb);
    assert_eq!(c[3], json!("203.0.113.9,lb.example.com"));
    let pending =
        json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "clusterIP": "None"}});
    let c = cells("", "Service", &pending);
    assert_eq!(
        (
            c[2].clone(),
            c[3].clone(),
            c[4].clone(),
            c[5].clone(),
            c[6].clone()
        ),
        (
            json!("None"),
            json!("<pending>"),
            json!("<none>"),
            json!("<unknown>"),
            json!("<none>")
        )
    );
    let ext = json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(cells("", "Service", &ext)[3], json!("db.example.com"));
}

#[test]
fn node() {
    let n = json!({
        "metadata": {"name": "node-a", "creationTimestamp": "2024-04-30T12:00:00Z",
                     "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "", "kubernetes.io/role": "infra"}},
        "spec": {"unschedulable": true},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "node-a"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.0"}
        }
    });
    assert_eq!(
        cells("", "Node", &n),
        vec![
            json!("node-a"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,infra,master"),
            json!("24h"),
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0"),
            json!("containerd://1.7.0")
        ]
    );
    let bare = json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    let c = cells("", "Node", &bare);
    assert_eq!(
        (c[1].clone(), c[2].clone(), c[3].clone(), c[7].clone()),
        (
            json!("NotReady"),
            json!("<none>"),
            json!("<unknown>"),
            json!("<unknown>")
        )
    );
    assert_eq!(
        cells("", "Node", &json!({"metadata": {"name": "n"}}))[1],
        json!("Unknown")
    );
}

#[test]
fn events_core_and_events_v1() {
    assert_eq!(
        names("", "Event"),
        [
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1)
        ]
        .iter()
        .map(|(n, p)| (n.to_string(), *p))
        .collect::<Vec<_>>()
    );
    let ev = json!({
        "metadata": {"name": "web-1.17c", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-a"},
        "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T11:58:00Z", "count": 12
    });
    assert_eq!(
        cells("", "Event", &ev),
        vec![
            json!("2m"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-1"),
            json!("spec.containers{app}"),
            json!("kubelet, node-a"),
            json!("Back-off restarting failed container"),
            json!("60m"),
            json!(12),
            json!("web-1.17c")
        ]
    );
    // new-style event: eventTime only, reporting controller, no count
    let v1 = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e2", "namespace": "default"},
        "eventTime": "2024-05-01T11:59:50.000000Z",
        "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet", "type": "Normal", "note": "Scaled up replica set web-5d4f to 3",
        "reportingController": "deployment-controller", "reportingInstance": ""
    });
    let want = vec![
        json!("10s"),
        json!("Normal"),
        json!("ScalingReplicaSet"),
        json!("deployment/web"),
        json!(""),
        json!("deployment-controller"),
        json!("Scaled up replica set web-5d4f to 3"),
        json!("10s"),
        json!(1),
        json!("e2"),
    ];
    assert_eq!(cells("events.k8s.io", "Event", &v1), want);
    // the same event through core/v1
    let core = json!({
        "metadata": {"name": "e2", "namespace": "default"},
        "eventTime": "2024-05-01T11:59:50.000000Z",
        "involvedObject": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet", "type": "Normal", "message": "Scaled up replica set web-5d4f to 3",
        "reportingComponent": "deployment-controller"
    });
    assert_eq!(cells("", "Event", &core), want);
    let series = json!({
        "metadata": {"name": "e3"},
        "eventTime": "2024-05-01T11:00:00.000000Z",
        "series": {"count": 7, "lastObservedTime": "2024-05-01T11:59:00.000000Z"},
        "involvedObject": {"kind": "Node"}
    });
    let c = cells("", "Event", &series);
    assert_eq!(
        (c[0].clone(), c[3].clone(), c[7].clone(), c[8].clone()),
        (json!("60s"), json!("node"), json!("60m"), json!(7))
    );
}

#[test]
fn jobs_and_cronjobs() {
    let job = json!({
        "metadata": {"name": "pi", "creationTimestamp": "2024-05-01T11:50:00Z"},
        "spec": {"completions": 3, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                 "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}},
        "status": {"succeeded": 3, "startTime": "2024-05-01T11:50:00Z", "completionTime": "2024-05-01T11:50:42Z",
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
    });
    assert_eq!(
        cells("batch", "Job", &job),
        vec![
            json!("pi"),
            json!("Complete"),
            json!("3/3"),
            json!("42s"),
            json!("10m"),
            json!("pi"),
            json!("perl:5.34"),
            json!("batch.kubernetes.io/controller-uid=abc")
        ]
    );
    let running = json!({"metadata": {"name": "w"}, "spec": {"parallelism": 4}, "status": {"succeeded": 1, "startTime": "2024-05-01T11:57:00Z"}});
    let c = cells("batch", "Job", &running);
    assert_eq!(
        (c[1].clone(), c[2].clone(), c[3].clone(), c[7].clone()),
        (
            json!("Running"),
            json!("1/1 of 4"),
            json!("3m"),
            json!("<none>")
        )
    );
    let suspended = json!({"metadata": {"name": "s"}, "spec": {}, "status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
    let c = cells("batch", "Job", &suspended);
    assert_eq!(
        (c[1].clone(), c[2].clone(), c[3].clone()),
        (json!("Suspended"), json!("0/1"), json!(""))
    );

    let cj = json!({
        "metadata": {"name": "hello", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": {"schedule": "*/5 * * * *", "suspend": false,
                 "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}
    });
    assert_eq!(
        cells("batch", "CronJob", &cj),
        vec![
            json!("hello"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("5m"),
            json!("120m"),
            json!("hello"),
            json!("busybox"),
            json!("<none>")
        ]
    );
}

#[test]
fn config_and_storage_kinds() {
    let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": "2024-05-01T11:59:59Z"}, "status": {"phase": "Active"}});
    assert_eq!(
        cells("", "Namespace", &ns),
        vec![json!("kube-system"), json!("Active"), json!("1s")]
    );
    let secret = json!({"metadata": {"name": "tls", "creationTimestamp": "2024-05-01T11:00:00Z"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(
        cells("", "Secret", &secret),
        vec![
            json!("tls"),
            json!("kubernetes.io/tls"),
            json!(2),
            json!("60m")
        ]
    );
    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
    assert_eq!(
        cells("", "ConfigMap", &cm),
        vec![json!("c"), json!(2), json!("<unknown>")]
    );
    let sa = json!({"metadata": {"name": "default"}});
    assert_eq!(
        cells("", "ServiceAccount", &sa),
        vec![json!("default"), json!(0), json!("<unknown>")]
    );

    let pvc = json!({
        "metadata": {"name": "data", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "capacity": {"storage": "2Gi"}}
    });
    assert_eq!(
        cells("", "PersistentVolumeClaim", &pvc),
        vec![
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("2Gi"),
            json!("RWO,ROX"),
            json!("standard"),
            json!("<unset>"),
            json!("60m"),
            json!("Filesystem")
        ]
    );
    let pv = json!({
        "metadata": {"name": "pv-1", "creationTimestamp": "2024-05-01T11:00:00Z", "annotations": {"volume.beta.kubernetes.io/storage-class": "slow"}},
        "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                 "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "standard"},
        "status": {"phase": "Bound"}
    });
    assert_eq!(
        cells("", "PersistentVolume", &pv),
        vec![
            json!("pv-1"),
            json!("2Gi"),
            json!("RWO,RWX"),
            json!("Retain"),
            json!("Bound"),
            json!("default/data"),
            json!("slow"),
            json!("<unset>"),
            json!(""),
            json!("60m"),
            json!("<unset>")
        ]
    );
    let sc = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path"});
    assert_eq!(
        cells("storage.k8s.io", "StorageClass", &sc),
        vec![
            json!("standard (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("Immediate"),
            json!(false),
            json!("<unknown>")
        ]
    );
    let quota = json!({
        "metadata": {"name": "q"},
        "status": {"hard": {"pods": "10", "limits.cpu": "4", "requests.memory": "1Gi"}, "used": {"pods": "3", "requests.memory": "512Mi"}}
    });
    assert_eq!(
        cells("", "ResourceQuota", &quota),
        vec![
            json!("q"),
            json!("pods: 3/10, requests.memory: 512Mi/1Gi"),
            json!("limits.cpu: 0/4"),
            json!("<unknown>")
        ]
    );
}

#[test]
fn endpoints_and_slices() {
    let ep = json!({
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}, {"port": 9090}]}]
    });
    assert_eq!(
        cells("", "Endpoints", &ep)[1],
        json!("10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:9090 + 1 more...")
    );
    assert_eq!(
        cells("", "Endpoints", &json!({"metadata": {"name": "x"}}))[1],
        json!("<none>")
    );
    let eps = json!({
        "metadata": {"name": "web-abc"},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "named"}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]
    });
    assert_eq!(
        cells("discovery.k8s.io", "EndpointSlice", &eps)[1..4],
        [
            json!("IPv4"),
            json!("80,named"),
            json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...")
        ]
    );
    let empty = json!({"metadata": {"name": "e"}, "addressType": "IPv4"});
    assert_eq!(
        cells("discovery.k8s.io", "EndpointSlice", &empty)[2..4],
        [json!("<unset>"), json!("<unset>")]
    );
}

#[test]
fn networking_policy_rbac_and_more() {
    let ing = json!({
        "metadata": {"name": "web"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}], "tls": [{"hosts": ["a.example.com"]}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    });
    assert_eq!(
        cells("networking.k8s.io", "Ingress", &ing)[1..5],
        [
            json!("nginx"),
            json!("a.example.com,b.example.com"),
            json!("192.0.2.1"),
            json!("80, 443")
        ]
    );
    let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
    assert_eq!(
        cells("networking.k8s.io", "NetworkPolicy", &np)[1],
        json!("<none>")
    );
    let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        cells("policy", "PodDisruptionBudget", &pdb)[1..4],
        [json!("50%"), json!("N/A"), json!(1)]
    );
    let rb = json!({
        "metadata": {"name": "rb"},
        "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                     {"kind": "ServiceAccount", "name": "ci", "namespace": "build"}, {"kind": "User", "name": "bob"}]
    });
    assert_eq!(
        cells("rbac.authorization.k8s.io", "RoleBinding", &rb),
        vec![
            json!("rb"),
            json!("ClusterRole/view"),
            json!("<unknown>"),
            json!("alice, bob"),
            json!("devs"),
            json!("build/ci")
        ]
    );
    let hpa = json!({
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                             {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                             {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]},
        "status": {"currentReplicas": 3, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}]}
    });
    assert_eq!(
        cells("autoscaling", "HorizontalPodAutoscaler", &hpa),
        vec![
            json!("web"),
            json!("Deployment/web"),
            json!("cpu: 45%/80%, memory: <unknown>/500Mi + 1 more..."),
            json!("2"),
            json!(10),
            json!(3),
            json!("<unknown>")
        ]
    );
    let hpa_v1 = json!({"metadata": {"name": "v1"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}});
    assert_eq!(
        cells("autoscaling", "HorizontalPodAutoscaler", &hpa_v1)[2..4],
        [json!("cpu: <unknown>/50%"), json!("<unset>")]
    );
    let pc = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": false, "preemptionPolicy": "Never"});
    assert_eq!(
        cells("scheduling.k8s.io", "PriorityClass", &pc),
        vec![
            json!("high"),
            json!(1000),
            json!(false),
            json!("<unknown>"),
            json!("Never")
        ]
    );
    let lease =
        json!({"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "node-a_1234"}});
    assert_eq!(
        cells("coordination.k8s.io", "Lease", &lease)[1],
        json!("node-a_1234")
    );
    let vwc = json!({"metadata": {"name": "v"}, "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        cells(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            &vwc
        )[1],
        json!(2)
    );
    let pt = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(
        cells("", "PodTemplate", &pt),
        vec![json!("t"), json!("c"), json!("i"), json!("app=x")]
    );
    let rc = json!({"metadata": {"name": "rc"}, "spec": {"replicas": 2, "selector": {"app": "x"}}, "status": {"replicas": 2, "readyReplicas": 2}});
    assert_eq!(
        cells("", "ReplicationController", &rc)[1..4],
        [json!(2), json!(2), json!(2)]
    );
    assert_eq!(cells("", "ReplicationController", &rc)[7], json!("app=x"));
}

#[test]
fn kinds_without_printer_get_the_default_table() {
    for (g, k) in [
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("", "LimitRange"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("example.com", "Widget"),
    ] {
        let cols = columns(g, k);
        assert_eq!(cols.len(), 2, "{k}");
        assert_eq!(
            (cols[1].name.as_str(), cols[1].type_.as_str()),
            ("Created At", "date")
        );
    }
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2024-05-01T11:00:00Z"}});
    assert_eq!(
        cells("rbac.authorization.k8s.io", "Role", &role),
        vec![json!("r"), json!("2024-05-01T11:00:00Z")]
    );
}

#[test]
fn list_table_with_each_include_mode() {
    let objs = vec![pod(
        json!({"containers": [{"name": "c", "image": "i"}]}),
        json!({"phase": "Pending"}),
    )];
    let list_meta = json!({"resourceVersion": "77"});
    let t = table(
        "",
        "Pod",
        &objs,
        IncludeObject::Metadata,
        list_meta.clone(),
        now(),
    );
    assert_eq!(t["kind"], json!("Table"));
    assert_eq!(t["apiVersion"], json!("meta.k8s.io/v1"));
    assert_eq!(t["metadata"], list_meta);
    assert_eq!(t["columnDefinitions"][0]["name"], json!("Name"));
    assert_eq!(t["columnDefinitions"][0]["format"], json!("name"));
    assert_eq!(t["columnDefinitions"][1]["format"], json!(""));
    assert_eq!(t["columnDefinitions"][5]["priority"], json!(1));
    assert_eq!(t["rows"][0]["cells"][0], json!("web-1"));
    assert_eq!(
        t["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": objs[0]["metadata"].clone()})
    );
    assert!(t["rows"][0].get("conditions").is_none());

    let full = table("", "Pod", &objs, IncludeObject::Object, json!({}), now());
    assert_eq!(full["rows"][0]["object"], objs[0]);
    let none = table("", "Pod", &objs, IncludeObject::None, json!({}), now());
    assert!(none["rows"][0].get("object").is_none());

    let empty = table(
        "apps",
        "Deployment",
        &[],
        IncludeObject::Metadata,
        json!({"resourceVersion": "1"}),
        now(),
    );
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["columnDefinitions"].as_array().map(Vec::len), Some(8));

    let one = object_table("", "Pod", &objs[0], IncludeObject::Metadata, now(), true);
    assert_eq!(one["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(one["rows"].as_array().map(Vec::len), Some(1));
    let no_headers = object_table("", "Pod", &objs[0], IncludeObject::None, now(), false);
    assert_eq!(no_headers["columnDefinitions"], Value::Null);

    assert_eq!(IncludeObject::parse(""), Some(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse("Object"), Some(IncludeObject::Object));
    assert_eq!(IncludeObject::parse("None"), Some(IncludeObject::None));
    assert_eq!(IncludeObject::parse("all"), None);
}

#[test]
fn custom_columns_reuse_the_machinery() {
    let cols = vec![
        Column::name(),
        Column::integer("Replicas", "spec.replicas").wide(),
    ];
    let obj = json!({"metadata": {"name": "w"}, "spec": {"replicas": 4}});
    let row_fn = |o: &Value| {
        Row::new(vec![
            o["metadata"]["name"].clone(),
            o["spec"]["replicas"].clone(),
        ])
    };
    let t = build_table(
        &cols,
        [(row_fn(&obj), &obj)],
        IncludeObject::None,
        json!({}),
        true,
    );
    assert_eq!(
        t["columnDefinitions"][1],
        json!({"name": "Replicas", "type": "integer", "format": "", "description": "spec.replicas", "priority": 1})
    );
    assert_eq!(t["rows"][0]["cells"], json!(["w", 4]));
}

#[test]
fn scale_subresource() {
    let scale = json!({
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}
    });
    assert_eq!(
        cells("autoscaling", "Scale", &scale),
        vec![json!("web"), json!(3), json!(2), json!("60m")]
    );
    assert_eq!(columns("autoscaling", "Scale")[0].format, "");
}
