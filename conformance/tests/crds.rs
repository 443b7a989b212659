//! Custom resources through stock kubectl against the real binary: a CRD
//! becoming Established, discovery and `api-resources`, printer columns,
//! `explain`, apply/patch/scale/delete of custom objects, selectors, scope,
//! watch, CRD deletion (cleanup, finalizers, Terminating), naming conflicts,
//! and the real CRD bundles of the corpus. Expected texts are upstream's
//! (apiextensions-apiserver and kubectl 1.33), schema validation, pruning,
//! defaulting and CEL rules included.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use conformance::{json, Server};
use serde_json::{json, Value};

const CRONTABS: &str = "crontabs.stable.example.com";
const WIDGETS: &str = "widgets.cluster.example.com";
const WAIT: Duration = Duration::from_secs(30);

/// A test data file under `tests/data/crds/`.
fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/crds")
        .join(name)
        .display()
        .to_string()
}

/// A server without the built-in controllers (the CRD machinery is part of
/// the API server itself).
fn server() -> Server {
    Server::start_with(&["--controllers=", "--nodes", "0"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

/// `kubectl apply -f FILE`, then `kubectl wait` until the CRD is Established.
fn install(s: &Server, file: &str, crd: &str) {
    let out = s.kubectl_ok(&["apply", "-f", &data(file)]);
    assert_eq!(
        out.trim(),
        format!("customresourcedefinition.apiextensions.k8s.io/{crd} created")
    );
    established(s, crd);
}

fn established(s: &Server, crd: &str) {
    let out = s.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/{crd}"),
        "--timeout=30s",
    ]);
    assert_eq!(
        out.trim(),
        format!("customresourcedefinition.apiextensions.k8s.io/{crd} condition met")
    );
}

/// Install the CronTab CRD and the two sample CronTabs.
fn crontabs(s: &Server) {
    install(s, "crontab-crd.yaml", CRONTABS);
    for (file, name) in [("crontab-a.yaml", "nightly"), ("crontab-b.yaml", "hourly")] {
        let out = s.kubectl_ok(&["apply", "-f", &data(file)]);
        assert_eq!(
            out.trim(),
            format!("crontab.stable.example.com/{name} created")
        );
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run kubectl expecting failure; its stderr.
fn kubectl_fails(s: &Server, args: &[&str]) -> String {
    let out = s.kubectl(args);
    assert!(
        !out.status.success(),
        "kubectl {} should fail:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
    stderr(&out)
}

/// Run kubectl feeding `stdin`; panics on failure.
fn kubectl_stdin(s: &Server, args: &[&str], stdin: &str) -> String {
    s.kubectl_with_ok(&conformance::kubectl_path(), args, Some(stdin))
}

/// A raw request: status code and body (JSON when it parses, else a string).
fn raw(
    s: &Server,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (code, text) = rt.block_on(async {
        let client = s.client().await;
        conformance::request(
            &client,
            method,
            path,
            content_type,
            body.as_bytes().to_vec(),
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
    });
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, body)
}

fn get_json(s: &Server, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    json(&s.kubectl_ok(&all))
}

fn condition<'a>(crd: &'a Value, type_: &str) -> &'a Value {
    crd["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition in {crd:#}"))
}

/// Condition without its transition time, for exact comparison.
fn condition_fields(crd: &Value, type_: &str) -> Value {
    let c = condition(crd, type_);
    assert!(c["lastTransitionTime"].is_string(), "{c}");
    json!({"type": c["type"], "status": c["status"], "reason": c["reason"], "message": c["message"]})
}

/// A table's lines cut before the AGE column (the last one), trailing blanks
/// trimmed; checks that every AGE cell looks like an age.
fn without_age(table: &str) -> Vec<String> {
    let header = table.lines().next().unwrap_or_default();
    let at = header
        .rfind("AGE")
        .unwrap_or_else(|| panic!("no AGE column:\n{table}"));
    assert_eq!(&header[at..], "AGE", "AGE is not the last column:\n{table}");
    table
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let (head, age) = l.split_at(at.min(l.len()));
            if i > 0 {
                let age = age.trim();
                assert!(
                    age.ends_with('s') || age.ends_with('m'),
                    "not an age: {age:?} in\n{table}"
                );
            }
            head.trim_end().to_string()
        })
        .collect()
}

// ---- CRD status and discovery ----------------------------------------------

#[test]
fn crd_becomes_established_with_accepted_names() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let crd = get_json(&s, &["crd", CRONTABS]);
    assert_eq!(
        condition_fields(&crd, "NamesAccepted"),
        json!({"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
               "message": "no conflicts found"})
    );
    assert_eq!(
        condition_fields(&crd, "Established"),
        json!({"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
               "message": "the initial names have been accepted"})
    );
    assert_eq!(
        crd["status"]["acceptedNames"],
        json!({"plural": "crontabs", "singular": "crontab", "kind": "CronTab",
               "listKind": "CronTabList", "shortNames": ["ct"], "categories": ["all"]})
    );
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    // The cleanup finalizer is added when the CRD is deleted, not before.
    assert!(crd["metadata"].get("finalizers").is_none(), "{crd:#}");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
}

#[test]
fn api_resources_lists_the_kind_with_short_names() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let out = s.kubectl_ok(&["api-resources", "--api-group=stable.example.com"]);
    assert_eq!(
        out,
        "NAME       SHORTNAMES   APIVERSION              NAMESPACED   KIND\n\
         crontabs   ct           stable.example.com/v1   true         CronTab\n"
    );
    let out = s.kubectl_ok(&["api-resources", "--categories=all", "-o", "name"]);
    assert!(
        out.lines().any(|l| l == "crontabs.stable.example.com"),
        "{out}"
    );
    let versions = s.kubectl_ok(&["api-versions"]);
    let lines: Vec<&str> = versions.lines().collect();
    assert!(lines.contains(&"stable.example.com/v1"), "{versions}");
    assert!(lines.contains(&"stable.example.com/v1beta1"), "{versions}");
    assert!(
        !lines.contains(&"stable.example.com/v1alpha1"),
        "{versions}"
    );
}

#[test]
fn discovery_document_of_a_custom_group_version() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let (code, group) = raw(&s, "GET", "/apis/stable.example.com", None, "");
    assert_eq!(code, 200, "{group}");
    // Preferred (GA before beta) first; the unserved v1alpha1 is absent.
    assert_eq!(
        group,
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": "stable.example.com",
               "versions": [
                   {"groupVersion": "stable.example.com/v1", "version": "v1"},
                   {"groupVersion": "stable.example.com/v1beta1", "version": "v1beta1"}],
               "preferredVersion": {"groupVersion": "stable.example.com/v1", "version": "v1"}})
    );
    let (code, list) = raw(&s, "GET", "/apis/stable.example.com/v1", None, "");
    assert_eq!(code, 200, "{list}");
    let resources = list["resources"].as_array().expect("resources");
    // (Upstream lists a CRD's main resource, then status, then scale; see
    // `custom_group_discovery_order_and_response_kinds`.)
    let mut names: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["crontabs", "crontabs/scale", "crontabs/status"]);
    let entry = |name: &str| {
        resources
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {list:#}"))
    };
    let main = &entry("crontabs");
    assert_eq!(main["kind"], "CronTab");
    assert_eq!(main["singularName"], "crontab");
    assert_eq!(main["namespaced"], true);
    assert_eq!(main["shortNames"], json!(["ct"]));
    assert_eq!(main["categories"], json!(["all"]));
    // apiextensions-apiserver's verb order.
    assert_eq!(
        main["verbs"],
        json!([
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ])
    );
    assert_eq!(
        entry("crontabs/scale"),
        json!({"name": "crontabs/scale", "singularName": "", "namespaced": true,
               "group": "autoscaling", "version": "v1", "kind": "Scale",
               "verbs": ["get", "patch", "update"]})
    );
    assert_eq!(
        entry("crontabs/status"),
        json!({"name": "crontabs/status", "singularName": "", "namespaced": true,
               "kind": "CronTab", "verbs": ["get", "patch", "update"]})
    );
    // v1beta1 declares only the status subresource.
    let (_, beta) = raw(&s, "GET", "/apis/stable.example.com/v1beta1", None, "");
    let names: Vec<&str> = beta["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["crontabs", "crontabs/status"]);
    // An unserved version is not there at all.
    let (code, _) = raw(&s, "GET", "/apis/stable.example.com/v1alpha1", None, "");
    assert_eq!(code, 404);
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1alpha1/namespaces/default/crontabs",
        None,
        "",
    );
    assert_eq!(code, 404);
}

#[test]
fn versions_change_live_with_the_crd() {
    let s = server();
    crontabs(&s);
    let ct = get_json(&s, &["crontabs.v1beta1.stable.example.com", "nightly"]);
    assert_eq!(ct["apiVersion"], "stable.example.com/v1beta1");
    assert_eq!(ct["spec"]["replicas"], 2);

    // Serving v1alpha1 makes it appear; unserving v1beta1 takes it away.
    s.kubectl_ok(&[
        "patch",
        "crd",
        CRONTABS,
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/versions/0/served","value":true},
            {"op":"replace","path":"/spec/versions/1/served","value":false}]"#,
    ]);
    s.wait_for(WAIT, "v1alpha1 served and v1beta1 gone", || {
        let (alpha, _) = raw(
            &s,
            "GET",
            "/apis/stable.example.com/v1alpha1/namespaces/default/crontabs/nightly",
            None,
            "",
        );
        let (beta, _) = raw(
            &s,
            "GET",
            "/apis/stable.example.com/v1beta1/namespaces/default/crontabs/nightly",
            None,
            "",
        );
        (alpha == 200 && beta == 404).then_some(())
    });
    let (_, group) = raw(&s, "GET", "/apis/stable.example.com", None, "");
    assert_eq!(
        group["versions"],
        json!([{"groupVersion": "stable.example.com/v1", "version": "v1"},
               {"groupVersion": "stable.example.com/v1alpha1", "version": "v1alpha1"}])
    );
    let ct = get_json(&s, &["crontabs.v1alpha1.stable.example.com", "nightly"]);
    assert_eq!(ct["apiVersion"], "stable.example.com/v1alpha1");
    // The storage version is unchanged.
    let crd = get_json(&s, &["crd", CRONTABS]);
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    // `kubectl get crd`: the default table.
    let table = s.kubectl_ok(&["get", "crd"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("NAME ") && lines[0].ends_with("CREATED AT"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("crontabs.stable.example.com   20"),
        "{table}"
    );
}

#[test]
fn a_deprecated_version_warns() {
    let s = server();
    crontabs(&s);
    let out = s.kubectl(&[
        "get",
        "crontabs.v1beta1.stable.example.com",
        "nightly",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Upstream's default text: "<group>/<version> <Kind> is deprecated",
    // naming the newest served version that is not deprecated.
    assert_eq!(
        stderr(&out).trim(),
        "Warning: stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab"
    );
    // The preferred version does not warn.
    let out = s.kubectl(&["get", "crontabs.v1.stable.example.com", "nightly"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
}

/// GET with an `Accept` header: status code and JSON body.
fn get_accept(s: &Server, path: &str, accept: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = s.client().await;
        let req = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("accept", accept)
            .body(kube::client::Body::empty())
            .expect("request");
        let res = client.send(req).await.expect("send");
        let code = res.status().as_u16();
        let bytes = res.into_body().collect_bytes().await.expect("body");
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

#[test]
fn custom_group_discovery_order_and_response_kinds() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let (_, list) = raw(&s, "GET", "/apis/stable.example.com/v1", None, "");
    let names: Vec<&str> = list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["crontabs", "crontabs/status", "crontabs/scale"]);

    let (code, doc) = get_accept(
        &s,
        "/apis",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    assert_eq!(code, 200, "{doc}");
    let group = doc["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|g| g["metadata"]["name"] == "stable.example.com")
        .cloned()
        .unwrap_or_else(|| panic!("no stable.example.com in {doc:#}"));
    let versions: Vec<&str> = group["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_str())
        .collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    assert_eq!(group["versions"][0]["freshness"], "Current");
    let kind = json!({"group": "stable.example.com", "version": "v1", "kind": "CronTab"});
    assert_eq!(
        group["versions"][0]["resources"],
        json!([{
            "resource": "crontabs",
            "responseKind": kind,
            "scope": "Namespaced",
            "singularResource": "crontab",
            "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
            "shortNames": ["ct"],
            "categories": ["all"],
            "subresources": [
                {"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]},
                {"subresource": "scale",
                 "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                 "verbs": ["get", "patch", "update"]},
            ],
        }])
    );
}

// ---- printing ----------------------------------------------------------------

#[test]
fn printer_columns_in_tables() {
    let s = server();
    crontabs(&s);
    let table = s.kubectl_ok(&["get", "ct"]);
    assert_eq!(
        without_age(&table),
        [
            "NAME      SPEC          REPLICAS",
            "hourly    0 * * * *     1",
            "nightly   * * * * */5   2",
        ],
        "{table}"
    );
    // The priority-1 column only with -o wide.
    let wide = s.kubectl_ok(&["get", "crontabs", "-o", "wide"]);
    assert_eq!(
        without_age(&wide),
        [
            "NAME      SPEC          REPLICAS   IMAGE",
            "hourly    0 * * * *     1          hourly-image",
            "nightly   * * * * */5   2          my-awesome-cron-image",
        ],
        "{wide}"
    );
    // Missing values are empty cells.
    kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"empty"},"spec":{}}"#,
    );
    let one = s.kubectl_ok(&["get", "crontab.stable.example.com", "empty"]);
    assert_eq!(
        without_age(&one),
        ["NAME    SPEC   REPLICAS", "empty"],
        "{one}"
    );
}

#[test]
fn printer_columns_with_json_path_expressions() {
    let s = server();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "runs.cols.example.com"},
        "spec": {"group": "cols.example.com", "scope": "Namespaced",
                 "names": {"plural": "runs", "kind": "Run"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "schema": {"openAPIV3Schema": {"type": "object",
                              "x-kubernetes-preserve-unknown-fields": true}},
                   "additionalPrinterColumns": [
                       {"name": "Ready", "type": "string",
                        "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                       {"name": "First", "type": "string", "jsonPath": ".spec.items[0].name"},
                       {"name": "Flag", "type": "boolean", "jsonPath": ".spec.flag"},
                       {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                       {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
                       {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]},
    });
    kubectl_stdin(&s, &["create", "-f", "-"], &crd.to_string());
    established(&s, "runs.cols.example.com");
    let run = json!({
        "apiVersion": "cols.example.com/v1", "kind": "Run", "metadata": {"name": "r"},
        "spec": {"items": [{"name": "first"}, {"name": "second"}], "flag": true,
                 "ratio": 0.5, "tags": ["a", "b"]},
        "status": {"conditions": [{"type": "Progressing", "status": "False"},
                                  {"type": "Ready", "status": "True"}]},
    });
    kubectl_stdin(&s, &["create", "-f", "-"], &run.to_string());
    let table = s.kubectl_ok(&["get", "runs"]);
    // No default Age column is added when the CRD names its columns; a
    // string column prints a list as JSON.
    assert_eq!(
        without_age(&table),
        [
            "NAME   READY   FIRST   FLAG   RATIO   TAGS",
            "r      True    first   true   0.5     [\"a\",\"b\"]",
        ],
        "{table}"
    );
}

#[test]
fn get_all_includes_category_all() {
    let s = server();
    crontabs(&s);
    let out = s.kubectl_ok(&["get", "all"]);
    let lines = without_age(&out);
    assert_eq!(
        lines,
        [
            "NAME                                 SPEC          REPLICAS",
            "crontab.stable.example.com/hourly    0 * * * *     1",
            "crontab.stable.example.com/nightly   * * * * */5   2",
        ],
        "{out}"
    );
}

#[test]
fn explain_shows_schema_descriptions() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let out = s.kubectl_ok(&["explain", "crontab.spec.image"]);
    assert_eq!(
        out,
        "GROUP:      stable.example.com\nKIND:       CronTab\nVERSION:    v1\n\n\
         FIELD: image <string>\n\n\nDESCRIPTION:\n    The container image to run.\n    \n\n"
    );
    let out = s.kubectl_ok(&["explain", "ct.spec"]);
    assert!(
        out.contains(
            "FIELD: spec <Object>\n\n\nDESCRIPTION:\n    The desired schedule and workload.\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  replicas\t<integer>\n    How many copies run at once.\n"),
        "{out}"
    );
    let out = s.kubectl_ok(&["explain", "crontabs"]);
    assert!(
        out.contains("DESCRIPTION:\n    CronTab runs an image on a schedule.\n"),
        "{out}"
    );
    // The v1beta1 schema has no descriptions.
    let out = s.kubectl_ok(&[
        "explain",
        "crontabs.spec",
        "--api-version=stable.example.com/v1beta1",
    ]);
    assert!(out.contains("VERSION:    v1beta1\n"), "{out}");
    assert!(out.contains("  cronSpec\t<string>\n"), "{out}");
}

// ---- writing custom objects --------------------------------------------------

#[test]
fn apply_reapply_and_patch() {
    let s = server();
    crontabs(&s);
    // Re-applying the same file changes nothing.
    let out = s.kubectl_ok(&["apply", "-f", &data("crontab-a.yaml")]);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly unchanged");
    // A changed file: three-way merge drops what the file no longer says.
    let changed = std::fs::read_to_string(data("crontab-a.yaml"))
        .expect("read")
        .replace("replicas: 2", "replicas: 4")
        .replace("  color: blue\n", "");
    let out = kubectl_stdin(&s, &["apply", "-f", "-"], &changed);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly configured");
    let ct = get_json(&s, &["ct", "nightly"]);
    assert_eq!(ct["spec"]["replicas"], 4);
    assert!(ct["spec"].get("color").is_none(), "{ct:#}");
    assert_eq!(ct["metadata"]["generation"], 2);
    assert_eq!(ct["apiVersion"], "stable.example.com/v1");
    assert_eq!(ct["kind"], "CronTab");

    let out = s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"green"}}"#,
    ]);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly patched");
    let out = s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":7}]"#,
    ]);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly patched");
    let ct = get_json(&s, &["ct", "nightly"]);
    assert_eq!(ct["spec"]["color"], "green");
    assert_eq!(ct["spec"]["replicas"], 7);
    assert_eq!(ct["metadata"]["generation"], 4);

    // Strategic merge patch (kubectl's default) is 415 for custom resources.
    let err = kubectl_fails(
        &s,
        &[
            "patch",
            "ct",
            "nightly",
            "-p",
            r#"{"spec":{"color":"red"}}"#,
        ],
    );
    assert_eq!(
        err.trim(),
        "error: application/strategic-merge-patch+json is not supported by \
         stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown \
         format - accepted media types include: application/json-patch+json, \
         application/merge-patch+json, application/apply-patch+yaml"
    );
    let (code, status) = raw(
        &s,
        "PATCH",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/nightly",
        Some("application/strategic-merge-patch+json"),
        r#"{"spec":{"color":"red"}}"#,
    );
    assert_eq!(code, 415, "{status}");
    assert_eq!(status["reason"], "UnsupportedMediaType");
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: \
         application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );

    let out = s.kubectl_ok(&["delete", "ct", "nightly"]);
    assert_eq!(out.trim(), "crontab.stable.example.com \"nightly\" deleted");
    let err = kubectl_fails(&s, &["get", "ct", "nightly"]);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): crontabs.stable.example.com \"nightly\" not found"
    );
}

#[test]
fn a_patch_that_changes_nothing_says_no_change() {
    let s = server();
    crontabs(&s);
    s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"green"}}"#,
    ]);
    s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":7}]"#,
    ]);
    let before = get_json(&s, &["ct", "nightly"]);
    let out = s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"green"}}"#,
    ]);
    assert_eq!(
        out.trim(),
        "crontab.stable.example.com/nightly patched (no change)"
    );
    let after = get_json(&s, &["ct", "nightly"]);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
}

#[test]
fn objects_need_their_crd_and_valid_names() {
    let s = server();
    // Before the CRD: kubectl finds no such kind.
    let err = kubectl_fails(&s, &["apply", "-f", &data("crontab-a.yaml")]);
    assert!(
        err.contains(
            "no matches for kind \"CronTab\" in version \"stable.example.com/v1\"\nensure CRDs are installed first"
        ),
        "{err}"
    );
    install(&s, "crontab-crd.yaml", CRONTABS);
    // Object names are DNS subdomains, as for every custom resource.
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"Bad_Name"},"spec":{}}"#),
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "The CronTab \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase \
         RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must \
         start and end with an alphanumeric character (e.g. 'example.com', regex used for validation \
         is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    let (code, status) = raw(
        &s,
        "POST",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
        Some("application/json"),
        r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"Bad_Name"}}"#,
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["details"]["kind"], "CronTab");
    assert_eq!(status["details"]["group"], "stable.example.com");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("CronTab.stable.example.com \"Bad_Name\" is invalid: ")),
        "{status}"
    );
    // Status through kubectl's --subresource.
    s.kubectl_ok(&["apply", "-f", &data("crontab-a.yaml")]);
    let out = s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":2}}"#,
    ]);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly patched");
    let ct = get_json(&s, &["ct", "nightly", "--subresource=status"]);
    assert_eq!(ct["status"], json!({"replicas": 2}));
    assert_eq!(ct["metadata"]["generation"], 1);
}

#[test]
fn server_side_apply_of_a_custom_object() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let out = s.kubectl_ok(&["apply", "--server-side", "-f", &data("crontab-a.yaml")]);
    assert_eq!(
        out.trim(),
        "crontab.stable.example.com/nightly serverside-applied"
    );
    let ct = get_json(&s, &["ct", "nightly", "--show-managed-fields"]);
    let managers: Vec<&str> = ct["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl"], "{ct:#}");
    assert_eq!(ct["metadata"]["managedFields"][0]["operation"], "Apply");
    assert_eq!(
        ct["metadata"]["managedFields"][0]["apiVersion"],
        "stable.example.com/v1"
    );
}

#[test]
fn scale_subresource() {
    let s = server();
    crontabs(&s);
    let out = s.kubectl_ok(&["scale", "ct", "nightly", "--replicas=5"]);
    assert_eq!(out.trim(), "crontab.stable.example.com/nightly scaled");
    let ct = get_json(&s, &["ct", "nightly"]);
    assert_eq!(ct["spec"]["replicas"], 5);
    assert_eq!(ct["metadata"]["generation"], 2);

    let scale = get_json(&s, &["ct", "nightly", "--subresource=scale"]);
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["metadata"]["name"], "nightly");
    assert_eq!(scale["metadata"]["namespace"], "default");
    assert_eq!(scale["metadata"]["uid"], ct["metadata"]["uid"]);
    assert_eq!(
        scale["metadata"]["resourceVersion"],
        ct["metadata"]["resourceVersion"]
    );
    assert_eq!(scale["spec"], json!({"replicas": 5}));
    // statusReplicasPath not set yet: 0; no selector yet.
    assert_eq!(scale["status"], json!({"replicas": 0}));

    // Status and selector come from the CRD's paths.
    let (code, body) = raw(
        &s,
        "PATCH",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/nightly/status",
        Some("application/merge-patch+json"),
        r#"{"status":{"replicas":3,"labelSelector":"app=nightly"}}"#,
    );
    assert_eq!(code, 200, "{body}");
    let scale = get_json(&s, &["ct", "nightly", "--subresource=scale"]);
    assert_eq!(
        scale["status"],
        json!({"replicas": 3, "selector": "app=nightly"})
    );

    // `--current-replicas` is a precondition on the Scale.
    let err = kubectl_fails(
        &s,
        &[
            "scale",
            "ct",
            "nightly",
            "--current-replicas=2",
            "--replicas=1",
        ],
    );
    assert!(err.contains("Expected replicas to be 2, was 5"), "{err}");
}

#[test]
fn scale_table_uses_the_printer_columns() {
    // apiextensions-apiserver renders the Scale with the CRD's columns
    // (its scale scope shares the custom resource's table convertor).
    let s = server();
    crontabs(&s);
    let table = s.kubectl_ok(&["get", "ct", "nightly", "--subresource=scale"]);
    assert_eq!(
        without_age(&table),
        ["NAME      SPEC   REPLICAS", "nightly          2"],
        "{table}"
    );
}

#[test]
fn scale_of_an_object_without_spec_replicas_is_an_internal_error() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"norep"},"spec":{}}"#,
    );
    let (code, status) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/norep/scale",
        None,
        "",
    );
    assert_eq!(code, 500, "{status}");
    assert_eq!(status["reason"], "InternalError");
    assert_eq!(
        status["message"],
        "Internal error occurred: the spec replicas field \".spec.replicas\" does not exist"
    );
}

#[test]
fn label_and_field_selectors() {
    let s = server();
    crontabs(&s);
    let out = s.kubectl_ok(&["get", "ct", "-l", "tier=batch", "-o", "name"]);
    assert_eq!(out, "crontab.stable.example.com/nightly\n");
    let out = s.kubectl_ok(&["get", "ct", "-l", "tier!=batch", "-o", "name"]);
    assert_eq!(out, "crontab.stable.example.com/hourly\n");
    // A selectableField of v1.
    let out = s.kubectl_ok(&[
        "get",
        "ct",
        "--field-selector",
        "spec.color=red",
        "-o",
        "name",
    ]);
    assert_eq!(out, "crontab.stable.example.com/hourly\n");
    let out = s.kubectl_ok(&[
        "get",
        "ct",
        "--field-selector",
        "spec.color!=red",
        "-o",
        "name",
    ]);
    assert_eq!(out, "crontab.stable.example.com/nightly\n");
    let out = s.kubectl_ok(&[
        "get",
        "ct",
        "--field-selector",
        "metadata.name=hourly",
        "-o",
        "name",
    ]);
    assert_eq!(out, "crontab.stable.example.com/hourly\n");
    // A field that is not selectable.
    let err = kubectl_fails(&s, &["get", "ct", "--field-selector", "spec.image=x"]);
    assert_eq!(
        err.trim(),
        "Error from server (BadRequest): Unable to find \"stable.example.com/v1, Resource=crontabs\" \
         that match label selector \"\", field selector \"spec.image=x\": field label not supported: spec.image"
    );
    let (code, status) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1/namespaces/default/crontabs?fieldSelector=spec.image%3Dx",
        None,
        "",
    );
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["reason"], "BadRequest");
    assert_eq!(status["message"], "field label not supported: spec.image");
    // spec.color is selectable in v1 only.
    let (code, status) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1beta1/namespaces/default/crontabs?fieldSelector=spec.color%3Dred",
        None,
        "",
    );
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["message"], "field label not supported: spec.color");
    // deletecollection honours selectors too.
    let out = s.kubectl_ok(&["delete", "ct", "-l", "tier=web"]);
    assert_eq!(out.trim(), "crontab.stable.example.com \"hourly\" deleted");
    let out = s.kubectl_ok(&["get", "ct", "-o", "name"]);
    assert_eq!(out, "crontab.stable.example.com/nightly\n");
}

#[test]
fn namespaced_and_cluster_scope() {
    let s = server();
    crontabs(&s);
    install(&s, "widget-crd.yaml", WIDGETS);
    let out = kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        r#"{"apiVersion":"cluster.example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3}}"#,
    );
    assert_eq!(out.trim(), "widget.cluster.example.com/w1 created");
    let w = get_json(&s, &["widget", "w1"]);
    assert!(w["metadata"].get("namespace").is_none(), "{w:#}");
    // Without printer columns: NAME and AGE.
    let table = s.kubectl_ok(&["get", "widgets"]);
    assert_eq!(without_age(&table), ["NAME", "w1"], "{table}");
    assert_eq!(w["spec"]["size"], 3);
    let out = s.kubectl_ok(&[
        "api-resources",
        "--namespaced=false",
        "--api-group=cluster.example.com",
        "-o",
        "name",
    ]);
    assert_eq!(out, "widgets.cluster.example.com\n");

    // Cluster-scoped objects under a namespace path: 404 (the path is not served).
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/cluster.example.com/v1/namespaces/default/widgets/w1",
        None,
        "",
    );
    assert_eq!(code, 404);
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/cluster.example.com/v1/namespaces/default/widgets",
        None,
        "",
    );
    assert_eq!(code, 404);
    let (code, body) = raw(
        &s,
        "GET",
        "/apis/cluster.example.com/v1/widgets/w1",
        None,
        "",
    );
    assert_eq!(code, 200, "{body}");
    // Namespaced objects: lists across namespaces work, single objects
    // without a namespace are 404.
    let (code, list) = raw(&s, "GET", "/apis/stable.example.com/v1/crontabs", None, "");
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["kind"], "CronTabList");
    assert_eq!(list["apiVersion"], "stable.example.com/v1");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1/crontabs/nightly",
        None,
        "",
    );
    assert_eq!(code, 404);

    // Objects live in their namespace.
    s.kubectl_ok(&["create", "namespace", "team-a"]);
    let out = s.kubectl_ok(&["apply", "-n", "team-a", "-f", &data("crontab-b.yaml")]);
    assert_eq!(out.trim(), "crontab.stable.example.com/hourly created");
    let out = s.kubectl_ok(&["get", "ct", "-A", "-o", "name"]);
    assert_eq!(
        out,
        "crontab.stable.example.com/hourly\ncrontab.stable.example.com/nightly\ncrontab.stable.example.com/hourly\n"
    );
    let out = s.kubectl_ok(&["get", "ct", "-n", "team-a", "-o", "name"]);
    assert_eq!(out, "crontab.stable.example.com/hourly\n");
}

#[test]
fn create_without_namespace_of_a_namespaced_custom_resource_is_404() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let (code, _) = raw(
        &s,
        "POST",
        "/apis/stable.example.com/v1/crontabs",
        Some("application/json"),
        r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"x"}}"#,
    );
    assert_eq!(code, 404);
    let (code, _) = raw(
        &s,
        "DELETE",
        "/apis/stable.example.com/v1/crontabs/x",
        None,
        "",
    );
    assert_eq!(code, 404);
}

#[test]
fn watch_sees_a_created_object() {
    let s = server();
    install(&s, "crontab-crd.yaml", CRONTABS);
    let mut child = s.kubectl_spawn(&["get", "ct", "-w", "--output-watch-events"]);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the watch is established (kubectl prints nothing for an
    // empty list), by creating objects until one shows up.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    let mut n = 0;
    while std::time::Instant::now() < deadline {
        n += 1;
        kubectl_stdin(
            &s,
            &["create", "-f", "-"],
            &json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                    "metadata": {"name": format!("w{n}")},
                    "spec": {"cronSpec": "1 * * * *", "replicas": n}})
            .to_string(),
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
            seen.push(line);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = seen
        .first()
        .unwrap_or_else(|| panic!("kubectl get -w printed nothing\n{}", s.log()));
    // With printer columns: EVENT NAME SPEC REPLICAS AGE.
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"EVENT"), "{line}");
    let row = rx.recv_timeout(WAIT).expect("a row after the header");
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(words[0], "ADDED", "{row}");
    assert!(words[1].starts_with('w'), "{row}");
    assert_eq!(&words[2..7], ["1", "*", "*", "*", "*"], "{row}");
}

// ---- deleting a CRD ----------------------------------------------------------

#[test]
fn deleting_the_crd_deletes_its_objects_and_its_discovery() {
    let s = server();
    crontabs(&s);
    s.kubectl_ok(&["create", "namespace", "team-a"]);
    s.kubectl_ok(&["apply", "-n", "team-a", "-f", &data("crontab-b.yaml")]);
    let out = s.kubectl_ok(&["delete", "crd", CRONTABS]);
    assert_eq!(
        out.trim(),
        format!("customresourcedefinition.apiextensions.k8s.io \"{CRONTABS}\" deleted")
    );
    s.wait_for(WAIT, "the CRD to go", || {
        let out = s.kubectl(&["get", "crd", CRONTABS]);
        (!out.status.success()).then_some(())
    });
    let out = s.kubectl_ok(&["api-resources", "-o", "name"]);
    assert!(!out.contains("crontabs"), "{out}");
    let err = kubectl_fails(&s, &["get", "ct"]);
    assert!(
        err.contains("the server doesn't have a resource type \"ct\""),
        "{err}"
    );
    let (code, _) = raw(&s, "GET", "/apis/stable.example.com", None, "");
    assert_eq!(code, 404);
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
        None,
        "",
    );
    assert_eq!(code, 404);

    // A new CRD of the same name starts empty: the objects were deleted.
    install(&s, "crontab-crd.yaml", CRONTABS);
    let out = s.kubectl(&["get", "ct", "-A"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "No resources found");
}

#[test]
fn an_object_finalizer_keeps_the_crd_terminating() {
    let s = server();
    crontabs(&s);
    s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    s.kubectl_ok(&["delete", "crd", CRONTABS, "--wait=false"]);
    let crd = s.wait_for(WAIT, "Terminating InstanceDeletionInProgress", || {
        let crd = get_json(&s, &["crd", CRONTABS]);
        let c = crd["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Terminating")?
            .clone();
        (c["reason"] == "InstanceDeletionInProgress").then_some(crd)
    });
    assert_eq!(
        condition_fields(&crd, "Terminating"),
        json!({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
               "message": "CustomResource deletion is in progress"})
    );
    assert_eq!(
        crd["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    assert!(crd["metadata"]["deletionTimestamp"].is_string());
    // The object waits for its finalizer; the other one is gone.
    let ct = s.wait_for(WAIT, "nightly marked for deletion", || {
        let ct = get_json(&s, &["ct", "nightly"]);
        ct["metadata"]["deletionTimestamp"]
            .is_string()
            .then_some(ct)
    });
    assert_eq!(ct["metadata"]["finalizers"], json!(["example.com/hold"]));
    s.wait_for(WAIT, "hourly deleted", || {
        (!s.kubectl(&["get", "ct", "hourly"]).status.success()).then_some(())
    });

    // No new objects while terminating: 405.
    let body = r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"late"},"spec":{}}"#;
    let (code, status) = raw(
        &s,
        "POST",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
        Some("application/json"),
        body,
    );
    assert_eq!(code, 405, "{status}");
    assert_eq!(status["reason"], "MethodNotAllowed");
    assert_eq!(
        status["message"],
        "create not allowed while custom resource definition is terminating"
    );
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(body),
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (MethodNotAllowed): error when creating \"STDIN\": \
         create not allowed while custom resource definition is terminating"
    );
    // Reads, updates of existing objects and deletes still work.
    let out = s.kubectl_ok(&["get", "ct", "-o", "name"]);
    assert_eq!(out, "crontab.stable.example.com/nightly\n");

    // Removing the finalizer lets the object and then the CRD go.
    s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    s.wait_for(WAIT, "the CRD to go", || {
        (!s.kubectl(&["get", "crd", CRONTABS]).status.success()).then_some(())
    });
    let out = s.kubectl_ok(&["api-resources", "-o", "name"]);
    assert!(!out.contains("crontabs"), "{out}");
}

#[test]
fn terminating_crd_details_and_verbs() {
    // Upstream answers the 405 with NewMethodNotSupported's details and drops
    // create/patch/update from discovery while the CRD is terminating.
    let s = server();
    crontabs(&s);
    s.kubectl_ok(&[
        "patch",
        "ct",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    s.kubectl_ok(&["delete", "crd", CRONTABS, "--wait=false"]);
    let list = s.wait_for(WAIT, "discovery to show the terminating verbs", || {
        let (_, list) = raw(&s, "GET", "/apis/stable.example.com/v1", None, "");
        (list["resources"][0]["verbs"]
            == json!(["delete", "deletecollection", "get", "list", "watch"]))
        .then_some(list)
    });
    assert_eq!(list["resources"][0]["name"], "crontabs");
    let (code, status) = raw(
        &s,
        "POST",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
        Some("application/json"),
        r#"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"late"}}"#,
    );
    assert_eq!(code, 405, "{status}");
    assert_eq!(
        status["details"],
        json!({"group": "stable.example.com", "kind": "crontabs"})
    );
}

#[test]
fn crds_and_objects_are_served_after_a_restart() {
    let mut s = server();
    crontabs(&s);
    install(&s, "widget-crd.yaml", WIDGETS);
    s.restart().unwrap_or_else(|e| panic!("restart: {e:#}"));
    // The catalog is rebuilt from the stored CRDs.
    let out = s.wait_for(WAIT, "crontabs served again", || {
        let out = s.kubectl(&["get", "ct", "-o", "name"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert_eq!(
        out,
        "crontab.stable.example.com/hourly\ncrontab.stable.example.com/nightly\n"
    );
    let out = s.kubectl_ok(&[
        "api-resources",
        "--api-group=stable.example.com",
        "-o",
        "name",
    ]);
    assert_eq!(out, "crontabs.stable.example.com\n");
    let crd = get_json(&s, &["crd", CRONTABS]);
    assert_eq!(condition(&crd, "Established")["status"], "True");
    // And new objects can be made.
    let out = kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        r#"{"apiVersion":"cluster.example.com/v1","kind":"Widget","metadata":{"name":"after"}}"#,
    );
    assert_eq!(out.trim(), "widget.cluster.example.com/after created");
}

// ---- protected groups ----------------------------------------------------------

fn protected_crd(plural: &str, annotation: Option<&str>) -> String {
    let mut crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.testing.k8s.io")},
        "spec": {
            "group": "testing.k8s.io",
            "scope": "Cluster",
            "names": {"plural": plural, "kind": format!("K{plural}")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}],
        },
    });
    if let Some(a) = annotation {
        crd["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": a});
    }
    crd.to_string()
}

#[test]
fn protected_groups_report_api_approval() {
    let s = server();
    let url = "https://github.com/kubernetes/kubernetes/pull/78458";
    kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        &protected_crd("approveds", Some(url)),
    );
    kubectl_stdin(
        &s,
        &["create", "-f", "-"],
        &protected_crd("unapproveds", Some("unapproved, testing only")),
    );
    established(&s, "approveds.testing.k8s.io");
    established(&s, "unapproveds.testing.k8s.io");
    let approved = s.wait_for(WAIT, "the approval condition", || {
        let crd = get_json(&s, &["crd", "approveds.testing.k8s.io"]);
        crd["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "KubernetesAPIApprovalPolicyConformant")
            .then_some(crd)
    });
    assert_eq!(
        condition_fields(&approved, "KubernetesAPIApprovalPolicyConformant"),
        json!({"type": "KubernetesAPIApprovalPolicyConformant", "status": "True",
               "reason": "ApprovedAnnotation", "message": format!("approved in {url}")})
    );
    let unapproved = get_json(&s, &["crd", "unapproveds.testing.k8s.io"]);
    assert_eq!(
        condition_fields(&unapproved, "KubernetesAPIApprovalPolicyConformant"),
        json!({"type": "KubernetesAPIApprovalPolicyConformant", "status": "False",
               "reason": "UnapprovedAnnotation",
               "message": "not approved: \"unapproved, testing only\""})
    );
    // Other groups get no such condition.
    install(&s, "widget-crd.yaml", WIDGETS);
    let widgets = get_json(&s, &["crd", WIDGETS]);
    let types: Vec<&str> = widgets["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert_eq!(types, ["NamesAccepted", "Established"]);
}

#[test]
fn protected_groups_need_the_approval_annotation() {
    let s = server();
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&protected_crd("things", None)),
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "The CustomResourceDefinition \"things.testing.k8s.io\" is invalid: \
         metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups \
         must have approval annotation \"api-approved.kubernetes.io\", see \
         https://github.com/kubernetes/enhancements/pull/1111"
    );
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&protected_crd("others", Some("yes"))),
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "The CustomResourceDefinition \"others.testing.k8s.io\" is invalid: \
         metadata.annotations[api-approved.kubernetes.io]: Invalid value: \"yes\": protected \
         groups must have approval annotation \"api-approved.kubernetes.io\" with either a URL \
         or a reason starting with \"unapproved\", see \
         https://github.com/kubernetes/enhancements/pull/1111"
    );
}

// ---- naming conflicts --------------------------------------------------------

fn names_crd(plural: &str, kind: &str, list_kind: &str, short: &[&str]) -> String {
    let mut names = json!({"plural": plural, "kind": kind, "listKind": list_kind});
    if !short.is_empty() {
        names["shortNames"] = json!(short);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.names.example.com")},
        "spec": {
            "group": "names.example.com",
            "scope": "Namespaced",
            "names": names,
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    })
    .to_string()
}

/// Waits until the naming controller has judged the CRD.
fn judged(s: &Server, name: &str) -> Value {
    s.wait_for(WAIT, &format!("NamesAccepted on {name}"), || {
        let crd = get_json(s, &["crd", name]);
        crd["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "NamesAccepted")
            .then_some(crd)
    })
}

fn assert_not_accepted(crd: &Value, reason: &str, message: &str) {
    assert_eq!(
        condition_fields(crd, "NamesAccepted"),
        json!({"type": "NamesAccepted", "status": "False", "reason": reason, "message": message}),
        "{crd:#}"
    );
    assert_eq!(
        condition_fields(crd, "Established"),
        json!({"type": "Established", "status": "False", "reason": "NotAccepted",
               "message": "not all names are accepted"}),
        "{crd:#}"
    );
}

#[test]
fn conflicting_names_are_not_accepted() {
    let s = server();
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("foos", "Foo", "FooList", &["fo", "bars"]),
    );
    established(&s, "foos.names.example.com");

    // Another CRD's plural is one of foos' short names.
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("bars", "Bar", "BarList", &[]),
    );
    let bars = judged(&s, "bars.names.example.com");
    assert_not_accepted(&bars, "PluralConflict", "\"bars\" is already in use");
    // The other names are accepted; the plural is not (and, not being
    // `omitempty` upstream, shows as "").
    assert_eq!(
        bars["status"]["acceptedNames"],
        json!({"plural": "", "singular": "bar", "kind": "Bar", "listKind": "BarList"}),
        "{bars:#}"
    );

    // Same kind, different plural and list kind.
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("bazs", "Foo", "BazList", &[]),
    );
    let bazs = judged(&s, "bazs.names.example.com");
    assert_not_accepted(&bazs, "KindConflict", "\"Foo\" is already in use");
    assert_eq!(
        bazs["status"]["acceptedNames"],
        // The singular defaults to "foo" (from the kind), which foos holds too.
        json!({"plural": "bazs", "kind": "", "listKind": "BazList"}),
        "{bazs:#}"
    );

    // A short name in use.
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("quxes", "Qux", "QuxList", &["fo"]),
    );
    let quxes = judged(&s, "quxes.names.example.com");
    assert_not_accepted(&quxes, "ShortNamesConflict", "\"fo\" is already in use");

    // Not served: the kind is not in discovery, the path is 404.
    let out = s.kubectl_ok(&[
        "api-resources",
        "--api-group=names.example.com",
        "-o",
        "name",
    ]);
    assert_eq!(out, "foos.names.example.com\n");
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/names.example.com/v1/namespaces/default/bars",
        None,
        "",
    );
    assert_eq!(code, 404);

    // Freeing the name lets the waiting CRD in.
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("foos", "Foo", "FooList", &["fo"]),
    );
    established(&s, "bars.names.example.com");
    let bars = get_json(&s, &["crd", "bars.names.example.com"]);
    assert_eq!(condition(&bars, "NamesAccepted")["reason"], "NoConflicts");
}

#[test]
fn the_last_conflict_found_is_reported() {
    // Upstream checks plural, singular, short names, kind and list kind in
    // that order and reports the last conflict: a CRD whose plural and kind
    // are both taken shows KindConflict.
    let s = server();
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("foos", "Foo", "FooList", &["bars"]),
    );
    established(&s, "foos.names.example.com");
    kubectl_stdin(
        &s,
        &["apply", "-f", "-"],
        &names_crd("bars", "Foo", "BarList", &[]),
    );
    let bars = judged(&s, "bars.names.example.com");
    assert_not_accepted(&bars, "KindConflict", "\"Foo\" is already in use");
}

// ---- schema engine (validation, pruning, defaulting, CEL) --------------------

/// The Gadget CRD: a structural schema with required, minimum, enum and
/// defaults; with `cel`, also an `x-kubernetes-validations` rule. (Upstream
/// skips CEL rules after some schema errors and adds a field-less cause
/// saying so; the schema tests use the CRD without rules to stay clear of it.)
fn schema_crd(cel: bool) -> String {
    let mut spec = json!({
        "type": "object",
        "required": ["size"],
        "properties": {
            "size": {"type": "integer", "minimum": 0},
            "maxSize": {"type": "integer", "default": 10},
            "color": {"type": "string", "enum": ["red", "green", "blue"]},
            "mode": {"type": "string", "default": "auto"},
        },
    });
    if cel {
        spec["x-kubernetes-validations"] = json!([
            {"rule": "self.size <= self.maxSize", "message": "size must not exceed maxSize"}
        ]);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.schema.example.com"},
        "spec": {
            "group": "schema.example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": spec},
                }},
            }],
        },
    })
    .to_string()
}

fn gadget(name: &str, spec: Value) -> String {
    json!({"apiVersion": "schema.example.com/v1", "kind": "Gadget",
           "metadata": {"name": name}, "spec": spec})
    .to_string()
}

fn schema_server(cel: bool) -> Server {
    let s = server();
    kubectl_stdin(&s, &["apply", "-f", "-"], &schema_crd(cel));
    established(&s, "gadgets.schema.example.com");
    s
}

const GADGETS: &str = "/apis/schema.example.com/v1/namespaces/default/gadgets";

#[test]
fn schema_rejects_a_wrong_type() {
    let s = schema_server(false);
    let (code, status) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("bad", json!({"size": "three"})),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["message"],
        "Gadget.schema.example.com \"bad\" is invalid: spec.size: Invalid value: \"string\": \
         spec.size in body must be of type integer: \"string\""
    );
    assert_eq!(status["details"]["name"], "bad");
    assert_eq!(status["details"]["group"], "schema.example.com");
    assert_eq!(status["details"]["kind"], "Gadget");
    assert_eq!(status["details"]["causes"][0]["field"], "spec.size");
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "FieldValueTypeInvalid"
    );
}

#[test]
fn schema_rejects_enum_minimum_and_missing_required() {
    let s = schema_server(false);
    let (code, status) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("c", json!({"size": 1, "color": "purple"})),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Gadget.schema.example.com \"c\" is invalid: spec.color: Unsupported value: \"purple\": \
         supported values: \"red\", \"green\", \"blue\""
    );
    let (code, status) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("m", json!({"size": -1})),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Gadget.schema.example.com \"m\" is invalid: spec.size: Invalid value: -1: \
         spec.size in body should be greater than or equal to 0"
    );
    let (code, status) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("r", json!({"color": "red"})),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Gadget.schema.example.com \"r\" is invalid: spec.size: Required value"
    );
    // kubectl prints the same.
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&gadget("r", json!({"color": "red"}))),
    );
    assert_eq!(
        stderr(&out).trim(),
        "The Gadget \"r\" is invalid: spec.size: Required value"
    );
}

#[test]
fn schema_defaults_and_prunes() {
    let s = schema_server(false);
    // Unknown fields are pruned (fieldValidation=Ignore keeps quiet about them).
    let (code, created) = raw(
        &s,
        "POST",
        &format!("{GADGETS}?fieldValidation=Ignore"),
        Some("application/json"),
        &gadget("g", json!({"size": 2, "bogus": true})),
    );
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        created["spec"],
        json!({"size": 2, "maxSize": 10, "mode": "auto"})
    );
    let got = get_json(&s, &["gadget", "g"]);
    assert_eq!(
        got["spec"],
        json!({"size": 2, "maxSize": 10, "mode": "auto"})
    );
    // Strict (kubectl's default) rejects them.
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&gadget("h", json!({"size": 2, "bogus": true}))),
    );
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (BadRequest): error when creating \"STDIN\": Gadget in version \"v1\" \
         cannot be handled as a Gadget: strict decoding error: unknown field \"spec.bogus\""
    );
    // Warn: created, with a warning.
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &["create", "--validate=warn", "-f", "-"],
        Some(&gadget("w", json!({"size": 2, "bogus": true}))),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: unknown field \"spec.bogus\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cel_rule_rejects_with_its_message() {
    let s = schema_server(true);
    let (code, status) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("big", json!({"size": 11, "maxSize": 10})),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Gadget.schema.example.com \"big\" is invalid: spec: Invalid value: \"object\": \
         size must not exceed maxSize"
    );
    let (code, _) = raw(
        &s,
        "POST",
        GADGETS,
        Some("application/json"),
        &gadget("ok", json!({"size": 10, "maxSize": 10})),
    );
    assert_eq!(code, 201);
}

// ---- real CRDs from the corpus -----------------------------------------------

/// Applies a CRD bundle server-side and waits until every CRD in it is
/// Established; the CRD names.
fn apply_bundle(s: &Server, path: &Path) -> Vec<String> {
    let out = s.kubectl_ok(&["apply", "--server-side", "-f", &path.display().to_string()]);
    let names: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("customresourcedefinition.apiextensions.k8s.io/"))
        .map(|l| l.trim_end_matches(" serverside-applied").to_string())
        .collect();
    assert!(!names.is_empty(), "{out}");
    for n in &names {
        established(s, n);
    }
    names
}

/// `kind`, `apiVersion`, namespace and file of the corpus's custom objects.
fn corpus_objects(corpus: &Path, kinds: &[&str]) -> Vec<(String, String, String, PathBuf)> {
    let index = std::fs::read_to_string(corpus.join("objects-index.tsv")).expect("index");
    index
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 7 && f[0] == "cr" && kinds.contains(&f[1])).then(|| {
                (
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].to_string(),
                    corpus.join(f[6]),
                )
            })
        })
        .collect()
}

/// Corpus objects that are invalid against their CRDs (upstream refuses
/// them too), and the part of the error that says why.
const CORPUS_INVALID: &[(&str, &str)] = &[
    // cert-manager v1alpha1's `acme.http01`, gone from cert-manager.io/v1.
    (
        "argoproj+argo-cd__resource_customizations_cert-manager.io_ClusterIssuer_testdata_degraded_acmeFailed.yaml__1.yaml",
        "strict decoding error: unknown field \"spec.acme.http01\"",
    ),
    (
        "argoproj+argo-cd__resource_customizations_cert-manager.io_ClusterIssuer_testdata_healthy_registered.yaml__1.yaml",
        "strict decoding error: unknown field \"spec.acme.http01\"",
    ),
    // The CRD requires spec.selector; the example has none.
    (
        "prometheus-operator+prometheus-operator__example_user-guides_scrapeclass_scrapeclass-example-servicemonitor.yaml__1.yaml",
        "spec.selector: Required value",
    ),
];

fn corpus_flow(bundle: &str, expect_crds: &[&str], kinds: &[&str]) {
    let Some(corpus) = conformance::corpus() else {
        return;
    };
    let s = server();
    let names = apply_bundle(&s, &corpus.join("bundles").join(bundle));
    let mut sorted = names.clone();
    sorted.sort();
    let mut want: Vec<String> = expect_crds.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(sorted, want);
    // Re-applying the bundle is a no-op server-side apply.
    let out = s.kubectl_ok(&[
        "apply",
        "--server-side",
        "-f",
        &corpus.join("bundles").join(bundle).display().to_string(),
    ]);
    assert_eq!(out.lines().count(), names.len(), "{out}");

    let served = s.kubectl_ok(&["api-versions"]);
    let mut applied = 0;
    let mut refused = 0;
    let mut failures: Vec<String> = Vec::new();
    let mut namespaces = std::collections::BTreeSet::new();
    for (kind, api_version, ns, file) in corpus_objects(&corpus, kinds) {
        if !served.lines().any(|l| l == api_version) {
            // e.g. cert-manager.io/v1alpha2: not served by today's CRDs,
            // upstream refuses these too.
            let out = s.kubectl(&["apply", "--server-side", "-f", &file.display().to_string()]);
            assert!(!out.status.success(), "{} applied", file.display());
            assert!(
                stderr(&out).contains(&format!(
                    "no matches for kind \"{kind}\" in version \"{api_version}\""
                )),
                "{}",
                stderr(&out)
            );
            continue;
        }
        if !ns.is_empty() && namespaces.insert(ns.clone()) {
            let _ = s.kubectl(&["create", "namespace", &ns]);
        }
        let out = s.kubectl(&["apply", "--server-side", "-f", &file.display().to_string()]);
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let known = CORPUS_INVALID.iter().find(|(f, _)| *f == name);
        match (out.status.success(), known) {
            (true, None) => {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("serverside-applied"), "{text}");
                applied += 1;
                // Several samples share a name: each starts afresh, as
                // when upstream applied them one file per cluster.
                s.kubectl_ok(&["delete", "-f", &file.display().to_string(), "--wait=false"]);
            }
            (false, Some((_, why))) => {
                assert!(stderr(&out).contains(why), "{name}: {}", stderr(&out));
                refused += 1;
            }
            (true, Some(_)) => failures.push(format!("{name}: applied, but upstream refuses it")),
            (false, None) => failures.push(format!("{name}: {}", stderr(&out))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // (cert-manager's samples are all refused: old versions or fields.)
    assert!(applied + refused > 0, "no corpus objects of {kinds:?}");
    // Every kind lists through kubectl.
    for kind in kinds {
        let out = s.kubectl(&["get", &kind.to_lowercase(), "-A"]);
        assert!(out.status.success(), "get {kind}: {}", stderr(&out));
    }
}

#[test]
fn corpus_cert_manager_crds_and_objects() {
    corpus_flow(
        "cert-manager-crds.yaml",
        &[
            "certificaterequests.cert-manager.io",
            "certificates.cert-manager.io",
            "challenges.acme.cert-manager.io",
            "clusterissuers.cert-manager.io",
            "issuers.cert-manager.io",
            "orders.acme.cert-manager.io",
        ],
        &["Certificate", "ClusterIssuer", "Issuer"],
    );
}

#[test]
fn corpus_prometheus_operator_crds_and_objects() {
    corpus_flow(
        "prometheus-operator-crds.yaml",
        &[
            "alertmanagerconfigs.monitoring.coreos.com",
            "alertmanagers.monitoring.coreos.com",
            "podmonitors.monitoring.coreos.com",
            "probes.monitoring.coreos.com",
            "prometheusagents.monitoring.coreos.com",
            "prometheuses.monitoring.coreos.com",
            "prometheusrules.monitoring.coreos.com",
            "scrapeconfigs.monitoring.coreos.com",
            "servicemonitors.monitoring.coreos.com",
            "thanosrulers.monitoring.coreos.com",
        ],
        &[
            "Alertmanager",
            "PodMonitor",
            "Prometheus",
            "PrometheusAgent",
            "PrometheusRule",
            "ServiceMonitor",
            "ThanosRuler",
        ],
    );
}
