//! Stock kubectl against the real binary: the everyday commands, each with
//! `/usr/bin/kubectl` (the dispatcher picks 1.33 from our `/version`) and the
//! key flows again with kubectl 1.32 (one minor version of skew).

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use conformance::{json, kubectl_path, Server, KUBECTL_1_32};

fn kubectl() -> String {
    kubectl_path()
}

/// `kubectl create -f -` of a ConfigMap (JSON through the resource builder),
/// for tests about something other than the `create configmap` generator.
fn make_configmap(s: &Server, bin: &str, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": data,
    });
    let out = s.kubectl_with_ok(bin, &["create", "-f", "-"], Some(&manifest.to_string()));
    assert_eq!(out.trim(), format!("configmap/{name} created"));
}

// ---- discovery -------------------------------------------------------------

fn version_flow(bin: &str) {
    let s = Server::start();
    let v = json(&s.kubectl_with_ok(bin, &["version", "-o", "json"], None));
    assert_eq!(v["serverVersion"]["major"], "1");
    assert_eq!(v["serverVersion"]["minor"], "33");
    // No skew warning for supported clients.
    let out = s.kubectl_with(bin, &["version"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("WARNING"), "{err}");
}

#[test]
fn version() {
    version_flow(&kubectl());
}

#[test]
fn version_kubectl_1_32() {
    version_flow(KUBECTL_1_32);
}

#[test]
fn api_versions() {
    let s = Server::start();
    let out = s.kubectl_ok(&["api-versions"]);
    let lines: Vec<&str> = out.lines().collect();
    for gv in ["v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"] {
        assert!(lines.contains(&gv), "{gv} missing:\n{out}");
    }
}

#[test]
fn api_resources() {
    let s = Server::start();
    let out = s.kubectl_ok(&["api-resources", "-o", "name"]);
    let lines: Vec<&str> = out.lines().collect();
    for r in [
        "configmaps",
        "namespaces",
        "secrets",
        "deployments.apps",
        "pods",
    ] {
        assert!(lines.contains(&r), "{r} missing:\n{out}");
    }
    let wide = s.kubectl_ok(&["api-resources", "--namespaced=false"]);
    assert!(wide.contains("namespaces"), "{wide}");
    assert!(!wide.lines().any(|l| l.starts_with("configmaps")), "{wide}");
}

#[test]
fn unknown_resource_type() {
    let s = Server::start();
    let out = s.kubectl(&["get", "flibbertigibbets"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the server doesn't have a resource type \"flibbertigibbets\""),
        "{err}"
    );
}

#[test]
fn explain() {
    let s = Server::start();
    let out = s.kubectl_ok(&["explain", "deployment.spec.replicas"]);
    assert!(out.contains("replicas"), "{out}");
    assert!(out.contains("integer"), "{out}");
    let out = s.kubectl_ok(&["explain", "configmap"]);
    assert!(out.contains("KIND:") && out.contains("ConfigMap"), "{out}");
}

// ---- namespaces, configmaps, secrets ----------------------------------------

fn namespace_flow(bin: &str) {
    let s = Server::start();
    let names = s.kubectl_with_ok(bin, &["get", "namespaces", "-o", "name"], None);
    for ns in [
        "namespace/default",
        "namespace/kube-system",
        "namespace/kube-public",
    ] {
        assert!(names.lines().any(|l| l == ns), "{ns} missing:\n{names}");
    }
    let out = s.kubectl_with_ok(bin, &["create", "namespace", "team-a"], None);
    assert_eq!(out.trim(), "namespace/team-a created");
    let ns = json(&s.kubectl_with_ok(bin, &["get", "namespace", "team-a", "-o", "json"], None));
    assert_eq!(ns["kind"], "Namespace");
    assert_eq!(ns["status"]["phase"], "Active");
    assert!(ns["metadata"]["uid"].is_string());
    assert!(ns["metadata"]["creationTimestamp"].is_string());
    let again = s.kubectl_with(bin, &["create", "namespace", "team-a"], None);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("Error from server (AlreadyExists): namespaces \"team-a\" already exists"),
        "{err}"
    );
}

#[test]
fn namespaces() {
    namespace_flow(&kubectl());
}

#[test]
fn namespaces_kubectl_1_32() {
    namespace_flow(KUBECTL_1_32);
}

fn configmap_flow(bin: &str) {
    let s = Server::start();
    let out = s.kubectl_with_ok(
        bin,
        &[
            "create",
            "configmap",
            "settings",
            "--from-literal=color=blue",
            "--from-literal=size=10",
        ],
        None,
    );
    assert_eq!(out.trim(), "configmap/settings created");

    let cm = json(&s.kubectl_with_ok(bin, &["get", "configmap", "settings", "-o", "json"], None));
    assert_eq!(cm["data"]["color"], "blue");
    assert_eq!(cm["data"]["size"], "10");
    assert_eq!(cm["metadata"]["namespace"], "default");
    assert!(cm["metadata"]["resourceVersion"].is_string());

    let yaml = s.kubectl_with_ok(bin, &["get", "configmap", "settings", "-o", "yaml"], None);
    assert!(yaml.contains("color: blue"), "{yaml}");
    assert!(yaml.contains("kind: ConfigMap"), "{yaml}");

    let size = s.kubectl_with_ok(
        bin,
        &[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.size}",
        ],
        None,
    );
    assert_eq!(size, "10");

    // The default table.
    let table = s.kubectl_with_ok(bin, &["get", "configmaps"], None);
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("DATA") && header.contains("AGE"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("settings ")), "{table}");

    let out = s.kubectl_with_ok(bin, &["delete", "configmap", "settings"], None);
    assert_eq!(out.trim(), "configmap \"settings\" deleted");
    let gone = s.kubectl_with(bin, &["get", "configmap", "settings"], None);
    assert!(!gone.status.success());
    let err = String::from_utf8_lossy(&gone.stderr);
    assert!(
        err.contains("Error from server (NotFound): configmaps \"settings\" not found"),
        "{err}"
    );
}

#[test]
fn configmaps() {
    configmap_flow(&kubectl());
}

#[test]
fn configmaps_kubectl_1_32() {
    configmap_flow(KUBECTL_1_32);
}

#[test]
fn secret_from_literals() {
    let s = Server::start();
    s.kubectl_with_ok(
        &kubectl(),
        &["create", "-f", "-"],
        Some(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vault"}}"#),
    );
    let out = s.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "db",
        "-n",
        "vault",
        "--from-literal=password=hunter2",
    ]);
    assert_eq!(out.trim(), "secret/db created");
    let data = s.kubectl_ok(&[
        "get",
        "secret",
        "db",
        "-n",
        "vault",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(data, "aHVudGVyMg==");
    let ty = s.kubectl_ok(&[
        "get",
        "secret",
        "db",
        "-n",
        "vault",
        "-o",
        "jsonpath={.type}",
    ]);
    assert_eq!(ty, "Opaque");
    // Not visible from another namespace.
    let other = s.kubectl(&["get", "secret", "db", "-n", "default"]);
    assert!(!other.status.success());
}

// ---- label, annotate, patch -------------------------------------------------

#[test]
fn label_and_annotate() {
    let s = Server::start();
    make_configmap(&s, &kubectl(), "a", &[("k", "v")]);
    make_configmap(&s, &kubectl(), "b", &[("k", "v")]);
    let out = s.kubectl_ok(&["label", "configmap", "a", "tier=web"]);
    assert_eq!(out.trim(), "configmap/a labeled");
    let selected = s.kubectl_ok(&["get", "configmaps", "-l", "tier=web", "-o", "name"]);
    assert_eq!(selected.trim(), "configmap/a");
    let not_selected = s.kubectl_ok(&["get", "configmaps", "-l", "tier!=web", "-o", "name"]);
    assert!(
        not_selected.lines().any(|l| l == "configmap/b"),
        "{not_selected}"
    );
    assert!(
        !not_selected.lines().any(|l| l == "configmap/a"),
        "{not_selected}"
    );

    // Relabel needs --overwrite.
    let clash = s.kubectl(&["label", "configmap", "a", "tier=db"]);
    assert!(!clash.status.success());
    s.kubectl_ok(&["label", "configmap", "a", "tier=db", "--overwrite"]);
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "configmap",
            "a",
            "-o",
            "jsonpath={.metadata.labels.tier}"
        ]),
        "db"
    );
    s.kubectl_ok(&["label", "configmap", "a", "tier-"]);
    assert_eq!(
        s.kubectl_ok(&["get", "configmap", "a", "-o", "jsonpath={.metadata.labels}"]),
        ""
    );

    let out = s.kubectl_ok(&["annotate", "configmap", "b", "owner=ops team"]);
    assert_eq!(out.trim(), "configmap/b annotated");
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "configmap",
            "b",
            "-o",
            "jsonpath={.metadata.annotations.owner}"
        ]),
        "ops team"
    );
}

fn patch_flow(bin: &str) {
    let s = Server::start();
    make_configmap(&s, bin, "p", &[("a", "1"), ("b", "2")]);

    let out = s.kubectl_with_ok(
        bin,
        &[
            "patch",
            "configmap",
            "p",
            "--type=merge",
            "-p",
            r#"{"data":{"c":"3","a":null}}"#,
        ],
        None,
    );
    assert_eq!(out.trim(), "configmap/p patched");
    let cm = json(&s.kubectl_with_ok(bin, &["get", "configmap", "p", "-o", "json"], None));
    assert_eq!(cm["data"], serde_json::json!({"b": "2", "c": "3"}));

    s.kubectl_with_ok(
        bin,
        &[
            "patch",
            "configmap",
            "p",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/data/b","value":"20"},{"op":"add","path":"/data/d","value":"4"}]"#,
        ],
        None,
    );
    let cm = json(&s.kubectl_with_ok(bin, &["get", "configmap", "p", "-o", "json"], None));
    assert_eq!(
        cm["data"],
        serde_json::json!({"b": "20", "c": "3", "d": "4"})
    );

    // A patch that cannot apply leaves the object as it was.
    let bad = s.kubectl_with(
        bin,
        &[
            "patch",
            "configmap",
            "p",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/data/zzz"}]"#,
        ],
        None,
    );
    assert!(!bad.status.success());
    let after = json(&s.kubectl_with_ok(bin, &["get", "configmap", "p", "-o", "json"], None));
    assert_eq!(after["data"], cm["data"]);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        cm["metadata"]["resourceVersion"]
    );

    // Strategic merge is kubectl's default patch type.
    s.kubectl_with_ok(
        bin,
        &["patch", "configmap", "p", "-p", r#"{"data":{"e":"5"}}"#],
        None,
    );
    assert_eq!(
        s.kubectl_with_ok(
            bin,
            &["get", "configmap", "p", "-o", "jsonpath={.data.e}"],
            None
        ),
        "5"
    );
}

#[test]
fn patch_json_merge_strategic() {
    patch_flow(&kubectl());
}

#[test]
fn patch_kubectl_1_32() {
    patch_flow(KUBECTL_1_32);
}

// ---- watch and wait ---------------------------------------------------------

#[test]
fn get_watch_sees_changes() {
    let s = Server::start();
    let mut child = s.kubectl_spawn(&["get", "configmaps", "--watch", "-o", "name"]);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Let the watch start, then make the change it must report. Retrying the
    // create is unnecessary: if the watch started after it, the initial list
    // still shows the object.
    std::thread::sleep(Duration::from_millis(500));
    make_configmap(&s, &kubectl(), "watched", &[("x", "1")]);
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                if line.trim() == "configmap/watched" {
                    break true;
                }
                seen.push(line);
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        found,
        "watch never printed configmap/watched; saw {seen:?}\n{}",
        s.log()
    );
}

#[test]
fn wait_for_jsonpath() {
    let s = Server::start();
    make_configmap(&s, &kubectl(), "flag", &[("ready", "no")]);
    let waiter = s.kubectl_spawn(&[
        "wait",
        "--for=jsonpath={.data.ready}=yes",
        "configmap/flag",
        "--timeout=60s",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    s.kubectl_ok(&[
        "patch",
        "configmap",
        "flag",
        "--type=merge",
        "-p",
        r#"{"data":{"ready":"yes"}}"#,
    ]);
    let out = waiter.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "kubectl wait failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "configmap/flag condition met"
    );
}

// ---- apply ------------------------------------------------------------------

const MANIFESTS: &[(&str, &str)] = &[
    (
        "00-namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: retail\n",
    ),
    (
        "10-config.yaml",
        "# two documents in one file\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\ndata:\n  greeting: hello\n  multi: |\n    line one\n    line two\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: web-secret\n  namespace: shop\ntype: Opaque\nstringData:\n  token: s3cr3t\n",
    ),
    (
        "20-serviceaccount.json",
        r#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"web","namespace":"shop"}}"#,
    ),
    (
        "30-service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n",
    ),
    (
        "40-deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  labels:\n    app: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      serviceAccountName: web\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 8080\n        env:\n        - name: GREETING\n          valueFrom:\n            configMapKeyRef:\n              name: web-config\n              key: greeting\n",
    ),
];

fn write_manifests(dir: &std::path::Path) {
    for (name, body) in MANIFESTS {
        std::fs::write(dir.join(name), body).expect("write manifest");
    }
}

fn apply_flow(bin: &str) {
    let s = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    write_manifests(dir.path());
    let path = dir.path().to_string_lossy().to_string();

    let out = s.kubectl_with_ok(bin, &["apply", "-f", &path], None);
    for line in [
        "namespace/shop created",
        "configmap/web-config created",
        "secret/web-secret created",
        "serviceaccount/web created",
        "service/web created",
        "deployment.apps/web created",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing:\n{out}");
    }

    // Re-applying changes nothing. (A Secret with stringData always reports
    // "configured", as with kube-apiserver: stringData is folded into data, so
    // kubectl's three-way diff sends it again.)
    let out = s.kubectl_with_ok(bin, &["apply", "-f", &path], None);
    assert!(
        out.lines()
            .all(|l| l.ends_with(" unchanged") || l == "secret/web-secret configured"),
        "{out}"
    );

    let dep = json(&s.kubectl_with_ok(
        bin,
        &["get", "deployment", "web", "-n", "shop", "-o", "json"],
        None,
    ));
    assert_eq!(dep["spec"]["replicas"], 2);
    assert!(
        dep["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    let secret = s.kubectl_with_ok(
        bin,
        &[
            "get",
            "secret",
            "web-secret",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.token}",
        ],
        None,
    );
    assert_eq!(secret, "czNjcjN0");
    let multi = s.kubectl_with_ok(
        bin,
        &[
            "get",
            "configmap",
            "web-config",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.multi}",
        ],
        None,
    );
    assert_eq!(multi, "line one\nline two\n");

    // Change one manifest: only that object is configured.
    std::fs::write(
        dir.path().join("40-deployment.yaml"),
        MANIFESTS[4].1.replace("replicas: 2", "replicas: 3"),
    )
    .expect("rewrite");
    let out = s.kubectl_with_ok(bin, &["apply", "-f", &path], None);
    assert!(
        out.lines().any(|l| l == "deployment.apps/web configured"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "service/web unchanged"), "{out}");
    assert_eq!(
        s.kubectl_with_ok(
            bin,
            &[
                "get",
                "deployment",
                "web",
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.replicas}"
            ],
            None
        ),
        "3"
    );

    // Apply from stdin.
    let out = s.kubectl_with_ok(
        bin,
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: piped\n  namespace: shop\ndata:\n  k: v\n"),
    );
    assert_eq!(out.trim(), "configmap/piped created");

    // Delete the namespaced objects by manifest, then the namespace.
    std::fs::remove_file(dir.path().join("00-namespace.yaml")).expect("rm");
    let out = s.kubectl_with_ok(bin, &["delete", "-f", &path], None);
    for line in [
        "configmap \"web-config\" deleted",
        "secret \"web-secret\" deleted",
        "deployment.apps \"web\" deleted",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing:\n{out}");
    }
    let left = s.kubectl_with_ok(
        bin,
        &[
            "get",
            "configmaps,secrets,services,deployments",
            "-n",
            "shop",
            "-o",
            "name",
        ],
        None,
    );
    assert!(!left.contains("web"), "{left}");
    s.kubectl_with_ok(bin, &["delete", "namespace", "shop"], None);
}

#[test]
fn apply_directory() {
    apply_flow(&kubectl());
}

#[test]
fn apply_directory_kubectl_1_32() {
    apply_flow(KUBECTL_1_32);
}

#[test]
fn server_side_apply() {
    let s = Server::start();
    let out = s.kubectl_with_ok(
        &kubectl(),
        &["apply", "--server-side", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n"),
    );
    assert_eq!(out.trim(), "configmap/ssa serverside-applied");
    let cm = json(&s.kubectl_ok(&[
        "get",
        "configmap",
        "ssa",
        "-o",
        "json",
        "--show-managed-fields",
    ]));
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");
}

const SSA_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
spec:
  replicas: 2
  selector:
    matchLabels: {app: ssa}
  template:
    metadata:
      labels: {app: ssa}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {name: A, value: a}
        - {name: B, value: b}
";

/// `kubectl apply --server-side`: conflicts name the field and its manager,
/// `--force-conflicts` takes the field over, and an env entry dropped from
/// the file leaves the object.
#[test]
fn server_side_apply_conflicts_and_removal() {
    let s = Server::start_with(&["--controllers="]).expect("start");
    let apply = |doc: &str, extra: &[&str]| {
        let mut args = vec!["apply", "--server-side", "-f", "-"];
        args.extend_from_slice(extra);
        s.kubectl_with(&kubectl(), &args, Some(doc))
    };
    let out = apply(SSA_DEPLOYMENT, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.kubectl_ok(&[
        "patch",
        "deployment",
        "ssa",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);

    let changed = SSA_DEPLOYMENT.replace("replicas: 2", "replicas: 3");
    let out = apply(&changed, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas"#),
        "{err}"
    );
    let replicas = s.kubectl_ok(&[
        "get",
        "deployment",
        "ssa",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "5");

    let out = apply(&changed, &["--force-conflicts"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = json(&s.kubectl_ok(&[
        "get",
        "deployment",
        "ssa",
        "-o",
        "json",
        "--show-managed-fields",
    ]));
    assert_eq!(d["spec"]["replicas"], 3);
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["manager"].as_str()).collect())
        .unwrap_or_default();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
    // The applier's field set, as kube-apiserver records it.
    let mine = d["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == "kubectl").cloned())
        .unwrap_or_default();
    assert_eq!(mine["operation"], "Apply");
    assert_eq!(
        mine["fieldsV1"],
        serde_json::json!({"f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                    ".": {}, "f:env": {
                        "k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}},
                        "k:{\"name\":\"B\"}": {".": {}, "f:name": {}, "f:value": {}}
                    },
                    "f:image": {}, "f:name": {}
                }}}
            }
        }})
    );

    // Drop env B from the file: it leaves the object.
    let fewer = changed.replace("        - {name: B, value: b}\n", "");
    let out = apply(&fewer, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = s.kubectl_ok(&[
        "get",
        "deployment",
        "ssa",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[*].name}",
    ]);
    assert_eq!(env, "A");
}

/// A Deployment managed by client-side `kubectl apply` moves to
/// `--server-side` without conflicts on the fields its file set.
#[test]
fn client_side_apply_upgrades_to_server_side() {
    let s = Server::start_with(&["--controllers="]).expect("start");
    s.kubectl_with_ok(&kubectl(), &["apply", "-f", "-"], Some(SSA_DEPLOYMENT));
    let changed = SSA_DEPLOYMENT.replace("replicas: 2", "replicas: 4");
    let out = s.kubectl_with_ok(
        &kubectl(),
        &["apply", "--server-side", "-f", "-"],
        Some(&changed),
    );
    assert_eq!(out.trim(), "deployment.apps/ssa serverside-applied");
    let replicas = s.kubectl_ok(&[
        "get",
        "deployment",
        "ssa",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "4");
}

/// `kubectl apply --prune -l`: objects of a label set that left the
/// directory are deleted; others stay.
#[test]
fn apply_prune_by_label() {
    let s = Server::start_with(&["--controllers="]).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let cm = |name: &str, label: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{set: {label}}}\ndata:\n  k: v\n")
    };
    std::fs::write(dir.path().join("a.yaml"), cm("a", "one")).expect("write");
    std::fs::write(dir.path().join("b.yaml"), cm("b", "one")).expect("write");
    let path = dir.path().to_string_lossy().to_string();
    s.kubectl_ok(&["apply", "-f", &path]);
    s.kubectl_with_ok(&kubectl(), &["apply", "-f", "-"], Some(&cm("other", "two")));
    std::fs::remove_file(dir.path().join("b.yaml")).expect("rm");
    let out = s.kubectl_ok(&["apply", "--prune", "-l", "set=one", "-f", &path]);
    assert!(out.contains("configmap/b pruned"), "{out}");
    let left = s.kubectl_ok(&["get", "configmaps", "-o", "name"]);
    assert!(
        left.contains("configmap/a") && left.contains("configmap/other"),
        "{left}"
    );
    assert!(!left.contains("configmap/b\n"), "{left}");
}

#[test]
fn invalid_object_is_rejected_with_causes() {
    let s = Server::start();
    let out = s.kubectl_with(
        &kubectl(),
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_Valid\ndata:\n  k: v\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is invalid"), "{err}");
    assert!(err.contains("metadata.name"), "{err}");
}

// ---- workloads and bulk operations -------------------------------------------

#[test]
fn deployment_create_scale_and_table() {
    let s = Server::start();
    let out = s.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    assert_eq!(out.trim(), "deployment.apps/web created");
    let out = s.kubectl_ok(&["scale", "deployment", "web", "--replicas=5"]);
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "5"
    );
    let table = s.kubectl_ok(&["get", "deployments", "-o", "wide"]);
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ] {
        assert!(header.contains(column), "{column} missing:\n{table}");
    }
    assert!(table.contains("nginx:1.27"), "{table}");
}

#[test]
fn delete_by_label_selector() {
    let s = Server::start();
    for (name, team) in [("a", "red"), ("b", "red"), ("c", "blue")] {
        let manifest = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"team": team}},
        });
        s.kubectl_with_ok(
            &kubectl(),
            &["create", "-f", "-"],
            Some(&manifest.to_string()),
        );
    }
    let out = s.kubectl_ok(&["delete", "configmaps", "-l", "team=red"]);
    assert!(out.contains("configmap \"a\" deleted"), "{out}");
    assert!(out.contains("configmap \"b\" deleted"), "{out}");
    let left = s.kubectl_ok(&["get", "configmaps", "-l", "team", "-o", "name"]);
    assert_eq!(left.trim(), "configmap/c");
}

#[test]
fn diff_shows_pending_change() {
    let s = Server::start();
    let v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\ndata:\n  k: one\n";
    s.kubectl_with_ok(&kubectl(), &["apply", "-f", "-"], Some(v1));
    // kubectl diff exits 1 when there are differences, 0 when none.
    let same = s.kubectl_with(&kubectl(), &["diff", "-f", "-"], Some(v1));
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    let changed = s.kubectl_with(
        &kubectl(),
        &["diff", "-f", "-"],
        Some(&v1.replace("one", "two")),
    );
    assert_eq!(
        changed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let text = String::from_utf8_lossy(&changed.stdout);
    assert!(
        text.contains("-  k: one") && text.contains("+  k: two"),
        "{text}"
    );
    // diff is a dry run: nothing changed on the server.
    assert_eq!(
        s.kubectl_ok(&["get", "configmap", "d", "-o", "jsonpath={.data.k}"]),
        "one"
    );
}

#[test]
fn get_raw_and_unknown_path() {
    let s = Server::start();
    let readyz = s.kubectl_ok(&["get", "--raw", "/readyz"]);
    assert_eq!(readyz, "ok");
    let out = s.kubectl(&["get", "--raw", "/not/a/path"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "Error from server (NotFound): the server could not find the requested resource"
        ),
        "{err}"
    );
}
