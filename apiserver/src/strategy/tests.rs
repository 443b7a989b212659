//! Per-kind tests: exact defaults, valid objects accepted, invalid ones
//! rejected with upstream's field path and message, and the real-world
//! corpus accepted after defaulting.

use super::{for_kind, FieldError, Strategy};
use serde_json::{json, Value};

/// Run the create path as the REST layer does; returns the object and the
/// rendered errors.
fn create(group: &str, kind: &str, namespaced: bool, mut obj: Value) -> (Value, Vec<String>) {
    let s = for_kind(group, kind, namespaced);
    s.default(&mut obj);
    if obj["metadata"]["uid"].is_null() {
        obj["metadata"]["uid"] = json!("11111111-2222-3333-4444-555555555555");
    }
    s.prepare_for_create(&mut obj);
    let errs = s.validate(&obj).iter().map(FieldError::to_string).collect();
    (obj, errs)
}

/// Run the update path: default, prepare, validate_update.
fn update(
    group: &str,
    kind: &str,
    namespaced: bool,
    old: &Value,
    mut new: Value,
) -> (Value, Vec<String>) {
    let s: &dyn Strategy = for_kind(group, kind, namespaced);
    s.default(&mut new);
    s.prepare_for_update(&mut new, old);
    let errs = s
        .validate_update(&new, old)
        .iter()
        .map(FieldError::to_string)
        .collect();
    (new, errs)
}

fn pod_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx"}]})
}

// ------------------------------------------------------------ errors

#[test]
fn field_error_renders_upstream_text_and_cause() {
    let e = FieldError::not_supported("spec.type", "x", &["a", "b"]);
    assert_eq!(
        e.to_string(),
        "spec.type: Unsupported value: \"x\": supported values: \"a\", \"b\""
    );
    let c = crate::error::Cause::from(&e);
    assert_eq!(c.reason, "FieldValueNotSupported");
    assert_eq!(c.field, "spec.type");
    assert_eq!(
        c.message,
        "Unsupported value: \"x\": supported values: \"a\", \"b\""
    );
    assert_eq!(
        FieldError::required("a", "").to_string(),
        "a: Required value"
    );
    assert_eq!(
        FieldError::invalid("a", -1, "bad").to_string(),
        "a: Invalid value: -1: bad"
    );
    assert_eq!(
        FieldError::too_long("a", 10).to_string(),
        "a: Too long: may not be more than 10 bytes"
    );
    assert_eq!(FieldError::forbidden("a", "no").body(), "Forbidden: no");
    assert_eq!(
        FieldError::duplicate("a", "x").body(),
        "Duplicate value: \"x\""
    );
    let api = super::to_api_error(
        "ConfigMap",
        "",
        "Foo",
        &[
            FieldError::invalid("metadata.name", "Foo", "m"),
            FieldError::invalid("metadata.name", "Foo", "m"),
        ],
    );
    assert_eq!(
        api.message,
        "ConfigMap \"Foo\" is invalid: metadata.name: Invalid value: \"Foo\": m"
    );
}

// -------------------------------------------------------------- meta

#[test]
fn metadata_name_namespace_labels_annotations() {
    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"name": "Foo", "namespace": "default"}}),
    );
    assert_eq!(errs, vec!["metadata.name: Invalid value: \"Foo\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]);

    let (_, errs) = create("", "ConfigMap", true, json!({"metadata": {}}));
    assert_eq!(
        errs,
        vec![
            "metadata.name: Required value: name or generateName is required",
            "metadata.namespace: Required value"
        ]
    );

    let (_, errs) = create(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        false,
        json!({"metadata": {"name": "a:b", "namespace": "x"}}),
    );
    assert_eq!(
        errs,
        vec!["metadata.namespace: Forbidden: not allowed on this type"]
    );

    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"name": "a", "namespace": "default", "labels": {"-bad": "ok", "good": "bad value"}}}),
    );
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric characters"));
    assert!(errs[1].starts_with(
        "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string"
    ));

    let big = "x".repeat(256 * 1024);
    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"name": "a", "namespace": "default", "annotations": {"a": big}}}),
    );
    assert_eq!(
        errs,
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );

    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"name": "a", "namespace": "default", "finalizers": ["orphan", "foregroundDeletion"], "ownerReferences": [{"apiVersion": "", "kind": "X", "name": "n", "uid": "u"}]}}),
    );
    assert_eq!(errs, vec![
        "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty",
        "metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set",
    ]);

    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"generateName": "web-", "name": "web-abcde", "namespace": "default"}}),
    );
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn metadata_immutable_on_update() {
    let old = json!({"metadata": {"name": "a", "namespace": "default", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z", "resourceVersion": "5"}});
    let mut new = old.clone();
    new["metadata"]["uid"] = json!("u2");
    new["metadata"]["name"] = json!("b");
    let (_, errs) = update("", "ConfigMap", true, &old, new);
    assert_eq!(
        errs,
        vec![
            "metadata.name: Invalid value: \"b\": field is immutable",
            "metadata.uid: Invalid value: \"u2\": field is immutable",
        ]
    );
    let mut deleting = old.clone();
    deleting["metadata"]["deletionTimestamp"] = json!("2024-01-02T00:00:00Z");
    let mut new = deleting.clone();
    new["metadata"]["finalizers"] = json!(["example.com/f"]);
    let (_, errs) = update("", "ConfigMap", true, &deleting, new);
    assert_eq!(errs, vec!["metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/f\"}"]);
}

// --------------------------------------------------------------- pod

#[test]
fn pod_defaults() {
    let (pod, errs) = create(
        "",
        "Pod",
        true,
        json!({
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
                "volumes": [{"name": "c", "configMap": {"name": "cm"}}, {"name": "e"}]}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default");
    let c = &spec["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(
        c["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/kubernetes.io/serviceaccount"
    );
    assert_eq!(spec["volumes"][0]["configMap"]["defaultMode"], 420);
    assert_eq!(spec["volumes"][1]["emptyDir"], json!({}));
    assert!(spec["volumes"][2]["name"]
        .as_str()
        .unwrap_or("")
        .starts_with("kube-api-access-"));
    assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
    assert_eq!(spec["tolerations"][0]["tolerationSeconds"], 300);
    assert_eq!(
        pod["status"],
        json!({"phase": "Pending", "qosClass": "Guaranteed"})
    );

    let (pod, _) = create(
        "",
        "Pod",
        true,
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": pod_spec()}),
    );
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(pod["spec"]["containers"][0]["resources"], json!({}));
    assert_eq!(pod["status"]["qosClass"], "BestEffort");
}

#[test]
fn pod_validation() {
    let (_, errs) = create(
        "",
        "Pod",
        true,
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": []}}),
    );
    assert_eq!(errs, vec!["spec.containers: Required value"]);

    let (_, errs) = create(
        "",
        "Pod",
        true,
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {
            "containers": [
                {"name": "Web", "image": "nginx"},
                {"name": "a", "image": "", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]},
                {"name": "a", "image": "x", "volumeMounts": [{"name": "missing", "mountPath": "/x"}]}
            ],
            "restartPolicy": "Sometimes"
        }}),
    );
    assert_eq!(errs, vec![
        "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "spec.containers[1].image: Required value",
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.containers[1].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        "spec.containers[2].volumeMounts[0].name: Not found: \"missing\"",
        "spec.containers[2].name: Duplicate value: \"a\"",
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    ]);
}

#[test]
fn probe_validation() {
    let (pod, errs) = create(
        "",
        "Pod",
        true,
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{
            "name": "web", "image": "nginx",
            "livenessProbe": {"httpGet": {"port": 80}},
            "readinessProbe": {"tcpSocket": {"port": "http"}, "successThreshold": 2},
            "startupProbe": {}
        }]}}),
    );
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        errs,
        vec!["spec.containers[0].startupProbe: Required value: must specify a handler type"]
    );
}

#[test]
fn pod_update_rules() {
    let (old, errs) = create(
        "",
        "Pod",
        true,
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": pod_spec()}),
    );
    assert!(errs.is_empty());
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    new["spec"]["activeDeadlineSeconds"] = json!(100);
    let (_, errs) = update("", "Pod", true, &old, new);
    assert!(errs.is_empty(), "{errs:?}");

    let mut new = old.clone();
    new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 81}]);
    let (_, errs) = update("", "Pod", true, &old, new);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{}", errs[0]);
}

// -------------------------------------------------------- deployment

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()}}
    })
}

#[test]
fn deployment_defaults() {
    let (d, errs) = create("apps", "Deployment", true, deployment());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["status"], json!({}));
    let t = &d["spec"]["template"]["spec"];
    assert_eq!(t["restartPolicy"], "Always");
    assert_eq!(t["terminationGracePeriodSeconds"], 30);
    assert!(t.get("enableServiceLinks").is_none());
    assert!(t.get("serviceAccountName").is_none());
    assert!(for_kind("apps", "Deployment", true).generation_tracked());
}

#[test]
fn deployment_validation() {
    let mut d = deployment();
    d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    d["spec"]["replicas"] = json!(-1);
    let (_, errs) = create("apps", "Deployment", true, d);
    assert_eq!(errs, vec![
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
    ]);

    let mut d = deployment();
    if let Some(m) = d["spec"].as_object_mut() {
        m.remove("selector");
    }
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    let (_, errs) = create("apps", "Deployment", true, d);
    assert_eq!(errs, vec![
        "spec.selector: Required value",
        "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
    ]);

    let mut d = deployment();
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}});
    let (_, errs) = create("apps", "Deployment", true, d);
    assert_eq!(errs, vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]);

    let (old, _) = create("apps", "Deployment", true, deployment());
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web2"}});
    new["spec"]["template"]["metadata"]["labels"] = json!({"app": "web2"});
    let (_, errs) = update("apps", "Deployment", true, &old, new);
    assert_eq!(errs, vec!["spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{app: web2,},MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"]);
}

#[test]
fn replica_set_and_rc_defaults() {
    let mut rs = deployment();
    rs["kind"] = json!("ReplicaSet");
    let (rs, errs) = create("apps", "ReplicaSet", true, rs);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(rs["spec"]["replicas"], 1);
    assert!(rs["spec"].get("strategy").is_none());

    let (rc, errs) = create(
        "",
        "ReplicationController",
        true,
        json!({
            "metadata": {"name": "rc", "namespace": "default"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec()}}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(rc["spec"]["replicas"], 1);
}

#[test]
fn stateful_set_and_daemon_set() {
    let mut s = deployment();
    s["spec"]["serviceName"] = json!("web");
    s["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]);
    let (sts, errs) = create("apps", "StatefulSet", true, s);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sts["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["status"]["phase"],
        "Pending"
    );

    let mut new = sts.clone();
    new["spec"]["serviceName"] = json!("other");
    let (_, errs) = update("apps", "StatefulSet", true, &sts, new);
    assert_eq!(errs, vec!["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]);

    let (ds, errs) = create("apps", "DaemonSet", true, deployment());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    assert!(ds["spec"].get("replicas").is_none());
    let gen = "deprecated.daemonset.template.generation";
    assert_eq!(ds["metadata"]["annotations"][gen], "1");
    let mut same = ds.clone();
    same["metadata"]["annotations"][gen] = json!("7");
    same["spec"]["minReadySeconds"] = json!(3);
    let (same, _) = update("apps", "DaemonSet", true, &ds, same);
    assert_eq!(same["metadata"]["annotations"][gen], "1");
    let mut changed = same.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let (changed, _) = update("apps", "DaemonSet", true, &same, changed);
    assert_eq!(changed["metadata"]["annotations"][gen], "2");
    let mut bad = deployment();
    bad["spec"]["template"]["metadata"]["labels"] = json!({});
    let (_, errs) = create("apps", "DaemonSet", true, bad);
    assert_eq!(errs, vec!["spec.template.metadata.labels: Invalid value: map[string]string{}: `selector` does not match template `labels`"]);
}

// --------------------------------------------------------------- batch

#[test]
fn job_defaults_and_selector() {
    let (job, errs) = create(
        "batch",
        "Job",
        true,
        json!({
            "metadata": {"name": "pi", "namespace": "default", "uid": "abc"},
            "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    let s = &job["spec"];
    assert_eq!(
        (
            s["completions"].clone(),
            s["parallelism"].clone(),
            s["backoffLimit"].clone()
        ),
        (json!(1), json!(1), json!(6))
    );
    assert_eq!(s["completionMode"], "NonIndexed");
    assert_eq!(s["suspend"], false);
    assert_eq!(s["manualSelector"], false);
    assert_eq!(s["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(
        s["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}})
    );
    assert_eq!(
        s["template"]["metadata"]["labels"],
        json!({
            "controller-uid": "abc", "batch.kubernetes.io/controller-uid": "abc",
            "job-name": "pi", "batch.kubernetes.io/job-name": "pi"
        })
    );
    assert_eq!(job["metadata"]["labels"]["job-name"], "pi");

    let (_, errs) = create(
        "batch",
        "Job",
        true,
        json!({
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {"parallelism": 2, "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}}
        }),
    );
    assert_eq!(errs, vec!["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]);

    let mut new = job.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:2");
    new["spec"]["completions"] = json!(3);
    let (_, errs) = update("batch", "Job", true, &job, new);
    assert_eq!(errs.len(), 2);
    assert_eq!(
        errs[0],
        "spec.completions: Invalid value: 3: field is immutable"
    );
    assert!(
        errs[1].starts_with("spec.template: Invalid value: ")
            && errs[1].ends_with(": field is immutable")
    );
}

#[test]
fn cron_job_defaults_and_schedule() {
    let cj = json!({
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "h", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}
    });
    let (c, errs) = create("batch", "CronJob", true, cj.clone());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(c["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(c["spec"]["suspend"], false);
    assert_eq!(c["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(c["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );

    let mut bad = cj;
    bad["spec"]["schedule"] = json!("61 * * * *");
    bad["spec"]["concurrencyPolicy"] = json!("Sometimes");
    let (_, errs) = create("batch", "CronJob", true, bad);
    assert_eq!(errs, vec![
        "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
        "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
    ]);
}

// ------------------------------------------------------------- service

#[test]
fn service_defaults_and_allocation() {
    let (svc, errs) = create(
        "",
        "Service",
        true,
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "type": "NodePort"}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    let s = &svc["spec"];
    assert_eq!(s["sessionAffinity"], "None");
    assert_eq!(s["ports"][0]["protocol"], "TCP");
    assert_eq!(s["ports"][0]["targetPort"], 80);
    assert_eq!(s["ipFamilies"], json!(["IPv4"]));
    assert_eq!(s["ipFamilyPolicy"], "SingleStack");
    assert_eq!(s["internalTrafficPolicy"], "Cluster");
    assert_eq!(s["externalTrafficPolicy"], "Cluster");
    let ip: std::net::Ipv4Addr = s["clusterIP"]
        .as_str()
        .unwrap_or("")
        .parse()
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    assert_eq!(ip.octets()[0], 10);
    assert!((96..=111).contains(&ip.octets()[1]), "{ip}");
    assert_eq!(s["clusterIPs"], json!([s["clusterIP"]]));
    let np = s["ports"][0]["nodePort"].as_i64().unwrap_or(0);
    assert!((30000..=32767).contains(&np));
    assert_eq!(svc["status"], json!({"loadBalancer": {}}));

    // An update without clusterIP or nodePort keeps the allocated ones.
    let mut new = svc.clone();
    if let Some(m) = new["spec"].as_object_mut() {
        m.remove("clusterIP");
        m.remove("clusterIPs");
    }
    new["spec"]["ports"] = json!([{"port": 80}]);
    let (new, errs) = update("", "Service", true, &svc, new);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(new["spec"]["clusterIP"], svc["spec"]["clusterIP"]);
    assert_eq!(new["spec"]["ports"][0]["nodePort"], np);

    let mut new = svc.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.99");
    new["spec"]["clusterIPs"] = json!(["10.96.0.99"]);
    let (_, errs) = update("", "Service", true, &svc, new);
    assert_eq!(
        errs,
        vec![
            "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.99\"}: may not change once set"
        ]
    );

    let (h, _) = create(
        "",
        "Service",
        true,
        json!({"metadata": {"name": "h", "namespace": "default"}, "spec": {"clusterIP": "None"}}),
    );
    assert_eq!(h["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(h["spec"]["ipFamilyPolicy"], "RequireDualStack");
}

#[test]
fn service_validation() {
    let (_, errs) = create(
        "",
        "Service",
        true,
        json!({
            "metadata": {"name": "1web", "namespace": "default"},
            "spec": {"type": "Weird", "ports": [{"port": 0, "protocol": "ICMP"}, {"name": "b", "port": 81}]}
        }),
    );
    assert_eq!(errs, vec![
        "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        "spec.ports[0].name: Required value",
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.type: Unsupported value: \"Weird\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
    ]);
    let (_, errs) = create(
        "",
        "Service",
        true,
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {}}),
    );
    assert_eq!(errs, vec!["spec.ports: Required value"]);
    let (_, errs) = create(
        "",
        "Service",
        true,
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80}, {"port": 80}]}}),
    );
    assert!(errs.contains(&"spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}".to_string()), "{errs:?}");
}

// ----------------------------------------------------------- namespace

#[test]
fn namespace_defaults() {
    let (ns, errs) = create(
        "",
        "Namespace",
        false,
        json!({"metadata": {"name": "team-a"}}),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "team-a"})
    );
    let (_, errs) = create("", "Namespace", false, json!({"metadata": {"name": "a.b"}}));
    assert_eq!(
        errs,
        vec!["metadata.name: Invalid value: \"a.b\": must not contain dots"]
    );
}

// ------------------------------------------------------ config/storage

#[test]
fn config_maps_and_secrets() {
    let (_, errs) = create(
        "",
        "ConfigMap",
        true,
        json!({"metadata": {"name": "c", "namespace": "default"}, "data": {"a b": "x", "ok.key": "y"}}),
    );
    assert_eq!(errs, vec!["data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]);

    let (s, errs) = create(
        "",
        "Secret",
        true,
        json!({"metadata": {"name": "s", "namespace": "default"}, "stringData": {"password": "hello"}}),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(s["type"], "Opaque");
    assert_eq!(s["data"], json!({"password": "aGVsbG8="}));
    assert!(s.get("stringData").is_none());

    let (_, errs) = create(
        "",
        "Secret",
        true,
        json!({"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {}}),
    );
    assert_eq!(
        errs,
        vec![
            "data[tls.crt]: Required value",
            "data[tls.key]: Required value"
        ]
    );

    let old = json!({"metadata": {"name": "c", "namespace": "default"}, "immutable": true, "data": {"a": "1"}});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    let (_, errs) = update("", "ConfigMap", true, &old, new);
    assert_eq!(
        errs,
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
}

#[test]
fn pvc_defaults_and_validation() {
    let (pvc, errs) = create(
        "",
        "PersistentVolumeClaim",
        true,
        json!({
            "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"], json!({"phase": "Pending"}));
    let (_, errs) = create(
        "",
        "PersistentVolumeClaim",
        true,
        json!({"metadata": {"name": "d", "namespace": "default"}, "spec": {}}),
    );
    assert_eq!(
        errs,
        vec![
            "spec.accessModes: Required value: at least 1 access mode is required",
            "spec.resources[storage]: Required value",
        ]
    );
}

#[test]
fn rbac_and_generic_kinds() {
    let (b, errs) = create(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        false,
        json!({
            "metadata": {"name": "system:x"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "sa"}]
        }),
    );
    assert_eq!(b["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(b["subjects"][1]["apiGroup"], "");
    assert_eq!(errs, vec!["subjects[1].namespace: Required value"]);
    let (_, errs) = create(
        "rbac.authorization.k8s.io",
        "Role",
        true,
        json!({
            "metadata": {"name": "r", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": []}, {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]
        }),
    );
    assert_eq!(errs, vec![
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[1].nonResourceURLs: Invalid value: []string{\"/healthz\"}: namespaced rules cannot apply to non-resource URLs",
    ]);
    let s = for_kind("example.com", "Widget", true);
    assert!(s.generation_tracked());
    assert!(!for_kind("", "ConfigMap", true).generation_tracked());
    assert!(for_kind("", "Namespace", false)
        .validate(&json!({"metadata": {"name": "ok"}}))
        .is_empty());
}

#[test]
fn ingress_validation() {
    let ok = json!({"metadata": {"name": "i", "namespace": "default"}, "spec": {"rules": [{"host": "example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
    ]}}]}});
    let (_, errs) = create("networking.k8s.io", "Ingress", true, ok);
    assert!(errs.is_empty(), "{errs:?}");
    let bad = json!({"metadata": {"name": "i", "namespace": "default"}, "spec": {"rules": [{"host": "10.0.0.1", "http": {"paths": [
        {"path": "api", "backend": {"service": {"name": "web"}}}
    ]}}]}});
    let (_, errs) = create("networking.k8s.io", "Ingress", true, bad);
    assert_eq!(errs, vec![
        "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
        "spec.rules[0].http.paths[0].backend.service.port: Required value: port name or number is required",
    ]);
    let (_, errs) = create(
        "networking.k8s.io",
        "Ingress",
        true,
        json!({"metadata": {"name": "i", "namespace": "default"}, "spec": {}}),
    );
    assert_eq!(errs, vec!["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]);
}

#[test]
fn templates_serialize_like_upstream() {
    let mut d = deployment();
    if let Some(m) = d["spec"]["template"]["metadata"].as_object_mut() {
        m.remove("labels");
    }
    let (d, errs) = create("apps", "Deployment", true, d);
    assert_eq!(
        d["spec"]["template"]["metadata"],
        json!({"creationTimestamp": null})
    );
    assert_eq!(errs, vec!["spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`"]);
}

#[test]
fn storage_kinds() {
    let (pv, errs) = create(
        "",
        "PersistentVolume",
        false,
        json!({
            "metadata": {"name": "pv1"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pv["spec"]["hostPath"]["type"], "");
    assert_eq!(pv["status"], json!({"phase": "Pending"}));
    let (_, errs) = create(
        "",
        "PersistentVolume",
        false,
        json!({"metadata": {"name": "pv1"}, "spec": {}}),
    );
    assert_eq!(
        errs,
        vec![
            "spec.accessModes: Required value",
            "spec.capacity: Required value",
            "spec: Required value: must specify a volume type"
        ]
    );

    let (sc, errs) = create(
        "storage.k8s.io",
        "StorageClass",
        false,
        json!({"metadata": {"name": "fast"}, "provisioner": "kubernetes.io/no-provisioner"}),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(sc["reclaimPolicy"], "Delete");
    assert_eq!(sc["volumeBindingMode"], "Immediate");
    let mut new = sc.clone();
    new["parameters"] = json!({"type": "ssd"});
    let (_, errs) = update("storage.k8s.io", "StorageClass", false, &sc, new);
    assert_eq!(
        errs,
        vec!["parameters: Forbidden: updates to parameters are forbidden."]
    );
}

#[test]
fn networking_autoscaling_admission_crd() {
    let (np, errs) = create(
        "networking.k8s.io",
        "NetworkPolicy",
        true,
        json!({
            "metadata": {"name": "np", "namespace": "default"},
            "spec": {"ingress": [{"ports": [{"port": 80}]}], "egress": [{}]}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["podSelector"], json!({}));
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");

    let (hpa, errs) = create(
        "autoscaling",
        "HorizontalPodAutoscaler",
        true,
        json!({
            "apiVersion": "autoscaling/v2", "metadata": {"name": "h", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );

    let (wh, errs) = create(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        false,
        json!({
            "metadata": {"name": "v"},
            "webhooks": [{"name": "v.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "clientConfig": {"service": {"name": "s", "namespace": "n"}}, "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]
        }),
    );
    assert!(errs.is_empty(), "{errs:?}");
    let h = &wh["webhooks"][0];
    assert_eq!(
        (
            h["failurePolicy"].clone(),
            h["matchPolicy"].clone(),
            h["timeoutSeconds"].clone()
        ),
        (json!("Fail"), json!("Equivalent"), json!(10))
    );
    assert_eq!(h["rules"][0]["scope"], "*");
    assert_eq!(h["clientConfig"]["service"]["port"], 443);
    assert_eq!(h["namespaceSelector"], json!({}));

    let crd = json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]}
    });
    let (c, errs) = create(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        false,
        crd.clone(),
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(c["spec"]["names"]["singular"], "widget");
    assert_eq!(c["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(c["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
    let mut bad = crd;
    bad["metadata"]["name"] = json!("widget.example.com");
    let (_, errs) = create(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        false,
        bad,
    );
    assert_eq!(errs, vec!["metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"]);
}

#[test]
fn namespace_and_secret_updates() {
    let (ns, _) = create(
        "",
        "Namespace",
        false,
        json!({"metadata": {"name": "team-a"}}),
    );
    let mut new = ns.clone();
    new["spec"]["finalizers"] = json!([]);
    new["metadata"]["labels"] = json!({"x": "y"});
    let (new, errs) = update("", "Namespace", false, &ns, new);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(
        new["metadata"]["labels"],
        json!({"x": "y", "kubernetes.io/metadata.name": "team-a"})
    );

    let (s, _) = create(
        "",
        "Secret",
        true,
        json!({"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "YQ=="}}),
    );
    let mut new = s.clone();
    new["type"] = json!("kubernetes.io/basic-auth");
    new["data"] = json!({"username": "YQ=="});
    let (_, errs) = update("", "Secret", true, &s, new);
    assert_eq!(
        errs,
        vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
    );
}

// -------------------------------------------------------------- corpus

/// Scope of the built-in kinds the corpus holds without a strategy of their own.
fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "APIService"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "IngressClass"
            | "StorageClass"
            | "PriorityClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "CustomResourceDefinition"
            | "Namespace"
            | "PersistentVolume"
            | "Node"
            | "ClusterIssuer"
    )
}

/// Corpus files that real kube-apiserver rejects too (see corpus README).
const KNOWN_INVALID: &[&str] = &[
    // A ReplicationController whose template has no labels and no selector.
    "kubernetes+examples___archived_sysdig-cloud_sysdig-rc.yaml__1.yaml",
    // A JSON patch fragment of a CRD, not a whole object.
    "prometheus-operator+prometheus-operator__example_alertmanager-crd-conversion_patch.json__1.yaml",
    // A kustomize base: selector and image come from the overlay.
    "argoproj+argo-cd__manifests_base_application-controller-deployment_argocd-application-controller-statefulset.yaml__1.yaml",
    // Placeholder hosts ("__INGRESS_HOST__", "registry.<your domain>").
    "kubernetes+ingress-nginx__docs_examples_auth_oauth-external-auth_oauth2-proxy.yaml__3.yaml",
    "kubernetes+ingress-nginx__docs_examples_auth_oauth-external-auth_oauth2-proxy.yaml__4.yaml",
    "kubernetes+ingress-nginx__docs_examples_auth_oauth-external-auth_vouch-proxy.yaml__3.yaml",
    "kubernetes+ingress-nginx__docs_examples_auth_oauth-external-auth_vouch-proxy.yaml__4.yaml",
    "kubernetes+ingress-nginx__docs_examples_docker-registry_ingress-without-tls.yaml__1.yaml",
    "kubernetes+ingress-nginx__docs_examples_docker-registry_ingress-with-tls.yaml__1.yaml",
    // apiextensions.k8s.io/v1 without schemas and with preserveUnknownFields.
    "argoproj+argo-cd__resource_customizations_apiextensions.k8s.io_CustomResourceDefinition_testdata_crd-v1-healthy.yaml__1.yaml",
    // Lower-case protocol "tcp".
    "kubernetes+examples___archived_volumes_aws_ebs_aws-ebs-web.yaml__1.yaml",
    "kubernetes+examples___archived_volumes_cinder_cinder-web.yaml__1.yaml",
];

#[test]
fn corpus_objects_pass_after_defaulting() {
    // shared/ sits beside the clone (CI, developers); FERROKUBE_CORPUS overrides.
    let root = std::env::var_os("FERROKUBE_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
        })
        .join("objects");
    let Ok(kinds) = std::fs::read_dir(&root) else {
        eprintln!("corpus not found at {}; skipping", root.display());
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for kind_dir in kinds.flatten() {
        let Ok(files) = std::fs::read_dir(kind_dir.path()) else {
            continue;
        };
        for f in files.flatten() {
            let path = f.path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(mut obj) = serde_saphyr::from_str::<Value>(&text) else {
                continue;
            };
            let api_version = obj["apiVersion"].as_str().unwrap_or("").to_string();
            let kind = obj["kind"].as_str().unwrap_or("").to_string();
            let group = api_version
                .rsplit_once('/')
                .map(|(g, _)| g)
                .unwrap_or("")
                .to_string();
            if !super::BUILTIN_GROUPS.contains(&group.as_str()) {
                continue;
            }
            let namespaced = !cluster_scoped(&kind);
            if namespaced && obj["metadata"]["namespace"].is_null() {
                obj["metadata"]["namespace"] = json!("default");
            }
            if obj["metadata"]["name"].is_null() {
                obj["metadata"]["name"] = json!("generated-abcde");
            }
            let (_, errs) = create(&group, &kind, namespaced, obj);
            checked += 1;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if !errs.is_empty() && !KNOWN_INVALID.contains(&name.as_str()) {
                failures.push(format!("{name}: {errs:?}"));
            }
        }
    }
    assert!(checked > 100, "only {checked} corpus objects checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
