//! More stock-kubectl flows against the real binary: describe, non-interactive
//! edit (EDITOR is a sed script), scale, delete with its default wait, the
//! empty-list message, and how bad input is reported. The describe and edit
//! flows also run with kubectl 1.32 (one minor version of skew).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use conformance::{json, kubectl_path, Server, KUBECTL_1_32};

fn kubectl() -> String {
    kubectl_path()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl create -f -` of a labelled ConfigMap in `ns`.
fn make_configmap(s: &Server, bin: &str, ns: &str, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "demo"}},
        "data": data,
    });
    let out = s.kubectl_with_ok(bin, &["create", "-f", "-"], Some(&manifest.to_string()));
    assert_eq!(out.trim(), format!("configmap/{name} created"));
}

fn make_deployment(s: &Server, bin: &str, name: &str) {
    let out = s.kubectl_with_ok(
        bin,
        &[
            "create",
            "deployment",
            name,
            "--image=nginx:1.27",
            "--replicas=2",
        ],
        None,
    );
    assert_eq!(out.trim(), format!("deployment.apps/{name} created"));
}

/// The value of the first line of `text` that starts with `key:`, trimmed.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}

// ---- describe --------------------------------------------------------------

fn describe_flow(bin: &str) {
    let s = Server::start();
    s.kubectl_with_ok(bin, &["create", "namespace", "shop"], None);
    s.kubectl_with_ok(bin, &["label", "namespace", "shop", "team=blue"], None);
    make_configmap(&s, bin, "shop", "settings", &[("color", "green")]);
    make_deployment(&s, bin, "web");

    let out = s.kubectl_with_ok(
        bin,
        &["describe", "configmap", "settings", "-n", "shop"],
        None,
    );
    assert_eq!(field(&out, "Name"), Some("settings"), "{out}");
    assert_eq!(field(&out, "Namespace"), Some("shop"), "{out}");
    assert_eq!(field(&out, "Labels"), Some("app=demo"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "green"), "{out}");

    let out = s.kubectl_with_ok(bin, &["describe", "deployment", "web"], None);
    assert_eq!(field(&out, "Name"), Some("web"), "{out}");
    assert_eq!(field(&out, "Namespace"), Some("default"), "{out}");
    assert_eq!(field(&out, "Labels"), Some("app=web"), "{out}");
    assert_eq!(field(&out, "Selector"), Some("app=web"), "{out}");
    let replicas = field(&out, "Replicas").unwrap_or_default();
    assert!(replicas.starts_with("2 desired"), "{out}");
    assert!(out.contains("nginx:1.27"), "{out}");

    let out = s.kubectl_with_ok(bin, &["describe", "namespace", "shop"], None);
    assert_eq!(field(&out, "Name"), Some("shop"), "{out}");
    let labels = field(&out, "Labels").unwrap_or_default();
    assert!(
        labels == "kubernetes.io/metadata.name=shop" || labels == "team=blue",
        "{out}"
    );
    assert!(out.contains("team=blue"), "{out}");
    assert!(out.contains("kubernetes.io/metadata.name=shop"), "{out}");
    assert_eq!(field(&out, "Status"), Some("Active"), "{out}");
    // Cluster-scoped: describe prints no Namespace line for a namespace.
    assert_eq!(field(&out, "Namespace"), None, "{out}");
}

#[test]
fn describe() {
    describe_flow(&kubectl());
}

#[test]
fn describe_kubectl_1_32() {
    describe_flow(KUBECTL_1_32);
}

// ---- edit ------------------------------------------------------------------

/// Write an EDITOR script: it appends every file it is given to `seen.log`
/// (so the test can see what kubectl showed), then runs `sed -i EXPR` on it.
fn editor_script(dir: &Path, name: &str, sed_expr: &str) -> PathBuf {
    let path = dir.join(name);
    let log = dir.join(format!("{name}.seen.log"));
    let script = format!(
        "#!/bin/sh\nset -e\necho '=== round' >> '{log}'\ncat \"$1\" >> '{log}'\nsed -i '{sed_expr}' \"$1\"\n",
        log = log.display(),
    );
    std::fs::write(&path, script).expect("write editor script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Run `bin --kubeconfig K edit ARGS` with EDITOR set.
fn kubectl_edit(s: &Server, bin: &str, editor: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--kubeconfig")
        .arg(s.kubeconfig_path())
        .arg("edit")
        .args(args)
        .env("EDITOR", editor)
        .env("KUBE_EDITOR", editor)
        .env("HOME", s.data_dir())
        .env("KUBECACHEDIR", s.data_dir().join("kubecache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

fn edit_flow(bin: &str) {
    let s = Server::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    make_configmap(&s, bin, "default", "conf", &[("mode", "old-value")]);

    // A valid edit: the object has the new value.
    let editor = editor_script(tmp.path(), "good.sh", "s/old-value/new-value/");
    let out = kubectl_edit(&s, bin, &editor, &["configmap", "conf"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).trim(), "configmap/conf edited");
    assert_eq!(
        s.kubectl_with_ok(
            bin,
            &["get", "configmap", "conf", "-o", "jsonpath={.data.mode}"],
            None
        ),
        "new-value"
    );
    let before = json(&s.kubectl_with_ok(bin, &["get", "configmap", "conf", "-o", "json"], None));

    // An invalid edit (a label value with a space and "!"): rejected, the
    // error is shown (in the re-opened file), and nothing changes.
    let editor = editor_script(tmp.path(), "bad.sh", "s/app: demo/app: \"bad value!\"/");
    let out = kubectl_edit(&s, bin, &editor, &["configmap", "conf"]);
    let seen = std::fs::read_to_string(tmp.path().join("bad.sh.seen.log")).unwrap_or_default();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success(), "{all}\n{seen}");
    assert!(!all.contains("configmap/conf edited"), "{all}");
    let shown = format!("{all}\n{seen}");
    assert!(
        shown.contains("configmaps \"conf\" was not valid")
            || shown.contains("configmaps \"conf\" is invalid"),
        "{shown}"
    );
    assert!(
        shown.contains("metadata.labels: Invalid value: \"bad value!\""),
        "{shown}"
    );
    let after = json(&s.kubectl_with_ok(bin, &["get", "configmap", "conf", "-o", "json"], None));
    assert_eq!(after["metadata"]["labels"]["app"], "demo", "{after}");
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "nothing may change"
    );
}

#[test]
fn edit() {
    edit_flow(&kubectl());
}

#[test]
fn edit_kubectl_1_32() {
    edit_flow(KUBECTL_1_32);
}

// ---- scale, delete, empty lists -------------------------------------------

#[test]
fn scale_bumps_replicas_and_generation() {
    let s = Server::start();
    make_deployment(&s, &kubectl(), "x");
    assert_eq!(
        s.kubectl_ok(&["get", "deploy/x", "-o", "jsonpath={.metadata.generation}"]),
        "1"
    );
    let out = s.kubectl_ok(&["scale", "deployment", "x", "--replicas=4"]);
    assert_eq!(out.trim(), "deployment.apps/x scaled");
    let dep = json(&s.kubectl_ok(&["get", "deployment", "x", "-o", "json"]));
    assert_eq!(dep["spec"]["replicas"], 4, "{dep}");
    assert_eq!(
        s.kubectl_ok(&["get", "deploy/x", "-o", "jsonpath={.metadata.generation}"]),
        "2"
    );
}

#[test]
fn delete_waits_and_object_is_gone() {
    let s = Server::start();
    make_configmap(&s, &kubectl(), "default", "doomed", &[("k", "v")]);
    make_deployment(&s, &kubectl(), "gone");

    let out = s.kubectl_ok(&["delete", "configmap", "doomed"]);
    assert_eq!(out.trim(), "configmap \"doomed\" deleted");
    let out = s.kubectl(&["get", "configmap", "doomed"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (NotFound): configmaps \"doomed\" not found"
    );

    let out = s.kubectl_ok(&["delete", "deployment", "gone"]);
    assert_eq!(out.trim(), "deployment.apps \"gone\" deleted");
    let out = s.kubectl(&["get", "deployment", "gone"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (NotFound): deployments.apps \"gone\" not found"
    );
}

#[test]
fn empty_namespace_says_no_resources_found() {
    let s = Server::start();
    s.kubectl_ok(&["create", "namespace", "quiet"]);
    let out = s.kubectl(&["get", "pods", "-n", "quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "No resources found in quiet namespace.\n");
}

// ---- bad input -------------------------------------------------------------

#[test]
fn bad_label_selector_is_bad_request() {
    let s = Server::start();
    let out = s.kubectl(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(b",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("Error from server (BadRequest): "), "{err}");
    // Straight to the API: a 400 Status with reason BadRequest.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (code, body) = rt.block_on(async {
        let client = s.client().await;
        conformance::get_raw(
            &client,
            "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(b",
        )
        .await
        .expect("request")
    });
    assert_eq!(code, 400, "{body}");
    let status = json(&body);
    assert_eq!(status["kind"], "Status", "{body}");
    assert_eq!(status["status"], "Failure", "{body}");
    assert_eq!(status["reason"], "BadRequest", "{body}");
    assert_eq!(status["code"], 400, "{body}");
    // labels.Parse's wording, wrapped as a requirement error.
    let message = "unable to parse requirement: found '', expected: ',' or ')'";
    assert_eq!(status["message"], message, "{body}");
    assert_eq!(
        err.trim(),
        format!("Error from server (BadRequest): {message}")
    );
}

fn wrong_api_version_flow(extra: &[&str]) {
    let s = Server::start();
    let manifest = "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: x\n";
    let mut args = vec!["create", "-f", "-"];
    args.extend_from_slice(extra);
    let out = s.kubectl_with(&kubectl(), &args, Some(manifest));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "resource mapping not found for name: \"x\" namespace: \"\" from \"STDIN\": \
             no matches for kind \"Deployment\" in version \"v1\""
        ),
        "{err}"
    );
    assert!(err.contains("ensure CRDs are installed first"), "{err}");
    // Nothing was created anywhere.
    let out = s.kubectl(&["get", "deployment", "x"]);
    assert!(!out.status.success());
}

/// With default (strict) validation kubectl finds no v1/Deployment in the
/// OpenAPI v3 document and falls back to `/openapi/v2`, which it asks for in
/// protobuf only.
#[test]
fn wrong_api_version_for_kind_is_no_match() {
    wrong_api_version_flow(&[]);
}

#[test]
fn wrong_api_version_for_kind_is_no_match_without_validation() {
    wrong_api_version_flow(&["--validate=false"]);
}

#[test]
fn stale_resource_version_replace_is_conflict() {
    let s = Server::start();
    make_configmap(&s, &kubectl(), "default", "racy", &[("k", "v1")]);
    let stale = s.kubectl_ok(&["get", "configmap", "racy", "-o", "json"]);
    // Someone else changes it.
    s.kubectl_ok(&["label", "configmap", "racy", "changed=yes"]);
    let mut obj = json(&stale);
    obj["data"]["k"] = "v2".into();
    let out = s.kubectl_with(&kubectl(), &["replace", "-f", "-"], Some(&obj.to_string()));
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be \
         fulfilled on configmaps \"racy\": the object has been modified; please apply your \
         changes to the latest version and try again"
    );
    let now = json(&s.kubectl_ok(&["get", "configmap", "racy", "-o", "json"]));
    assert_eq!(now["data"]["k"], "v1", "{now}");
    assert_eq!(now["metadata"]["labels"]["changed"], "yes", "{now}");
}
