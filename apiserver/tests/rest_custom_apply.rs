//! Server-side apply on a custom resource follows its schema: list-map items
//! by their keys, sets by value, atomic lists whole; conflicts and removal
//! as for built-ins. Strategic merge is refused (415) as upstream.

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;
use serde_json::{json, Value};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const GIZMOS: &str = "/apis/ssa.example.com/v1/namespaces/default/gizmos";
const APPLY: &str = "application/apply-patch+yaml";

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.ssa.example.com"},
        "spec": {
            "group": "ssa.example.com",
            "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "args": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                 "items": {"type": "string"}},
                        "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                                       "x-kubernetes-list-map-keys": ["type"],
                                       "items": {"type": "object", "required": ["type"], "properties": {
                                           "type": {"type": "string"},
                                           "status": {"type": "string"}}}},
                        "settings": {"type": "object",
                                     "additionalProperties": {"type": "string"}}
                    }}
                }}}
            }]
        }
    })
}

fn gizmo(spec: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "ssa.example.com/v1",
        "kind": "Gizmo",
        "metadata": {"name": "g"},
        "spec": spec,
    }))
    .unwrap()
}

fn fields_of(obj: &Value, manager: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == manager)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

#[actix_web::test]
async fn apply_follows_the_schema_list_types() {
    let h = harness().await;
    apiserver::crd::controller::start(h.state.clone());
    let app = app!(h);
    let (code, _, body) = send!(app, json_req("POST", CRDS, Some(&crd())));
    assert_eq!(code, 201, "{body}");
    // Served once established.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (code, _, _) = send!(app, json_req("GET", GIZMOS, None));
        if code == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served: {code}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let url = |m: &str| format!("{GIZMOS}/g?fieldManager={m}");

    let a = gizmo(json!({"args": ["x", "y"], "tags": ["a"],
        "conditions": [{"type": "A", "status": "True"}], "settings": {"one": "1"}}));
    let (code, _, g) = send!(app, raw_req("PATCH", &url("a"), APPLY, &a));
    assert_eq!(code, 201, "{g}");
    let b = gizmo(
        json!({"tags": ["b"], "conditions": [{"type": "B", "status": "False"}],
        "settings": {"two": "2"}}),
    );
    let (code, _, g) = send!(app, raw_req("PATCH", &url("b"), APPLY, &b));
    assert_eq!(code, 200, "{g}");
    assert_eq!(
        g["spec"],
        json!({"args": ["x", "y"], "tags": ["a", "b"],
               "conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "False"}],
               "settings": {"one": "1", "two": "2"}})
    );
    assert_eq!(
        fields_of(&g, "a"),
        json!({"f:spec": {
            "f:args": {},
            "f:conditions": {"k:{\"type\":\"A\"}": {".": {}, "f:status": {}, "f:type": {}}},
            "f:settings": {"f:one": {}},
            "f:tags": {"v:\"a\"": {}},
        }})
    );
    assert_eq!(
        fields_of(&g, "b"),
        json!({"f:spec": {
            "f:conditions": {"k:{\"type\":\"B\"}": {".": {}, "f:status": {}, "f:type": {}}},
            "f:settings": {"f:two": {}},
            "f:tags": {"v:\"b\"": {}},
        }})
    );

    // `a` stops applying its condition and tag: they go; `b`'s stay.
    let a2 = gizmo(json!({"args": ["x", "y"], "settings": {"one": "1"}}));
    let (code, _, g) = send!(app, raw_req("PATCH", &url("a"), APPLY, &a2));
    assert_eq!(code, 200, "{g}");
    assert_eq!(
        g["spec"]["conditions"],
        json!([{"type": "B", "status": "False"}])
    );
    assert_eq!(g["spec"]["tags"], json!(["b"]));

    // The atomic list is `a`'s as a whole: `b` conflicts, then forces.
    let b2 = gizmo(json!({"args": ["z"], "tags": ["b"],
        "conditions": [{"type": "B", "status": "False"}], "settings": {"two": "2"}}));
    let (code, _, e) = send!(app, raw_req("PATCH", &url("b"), APPLY, &b2));
    assert_eq!(code, 409, "{e}");
    assert_eq!(
        e["message"],
        "Apply failed with 1 conflict: conflict with \"a\": .spec.args"
    );
    let (code, _, g) = send!(
        app,
        raw_req("PATCH", &format!("{}&force=true", url("b")), APPLY, &b2)
    );
    assert_eq!(code, 200, "{g}");
    assert_eq!(g["spec"]["args"], json!(["z"]));

    // Custom resources take no strategic merge patch.
    let (code, _, e) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{GIZMOS}/g"),
            "application/strategic-merge-patch+json",
            b"{\"spec\":{}}"
        )
    );
    assert_eq!(code, 415, "{e}");
    assert_eq!(e["reason"], "UnsupportedMediaType");
}
