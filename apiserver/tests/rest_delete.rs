//! Deletion semantics: preconditions, finalizers, propagation policies,
//! deletecollection and namespaces.

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;
use serde_json::json;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[actix_web::test]
async fn finalizers_keep_the_object_until_removed() {
    let h = harness().await;
    let app = app!(h);
    let mut cm = configmap("f", &[]);
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    send!(app, json_req("POST", CMS, Some(&cm)));

    let (code, _, d) = send!(app, json_req("DELETE", &format!("{CMS}/f"), None));
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["kind"], "ConfigMap");
    assert!(d["metadata"]["deletionTimestamp"].is_string());

    let (code, _, got) = send!(app, json_req("GET", &format!("{CMS}/f"), None));
    assert_eq!(code, 200);
    assert!(got["metadata"]["deletionTimestamp"].is_string());

    let (code, _, _) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/f"),
            "application/merge-patch+json",
            br#"{"metadata":{"finalizers":null}}"#
        )
    );
    assert_eq!(code, 200);
    let (code, _, _) = send!(app, json_req("GET", &format!("{CMS}/f"), None));
    assert_eq!(code, 404, "removing the last finalizer deletes the object");
}

#[actix_web::test]
async fn delete_preconditions_and_options() {
    let h = harness().await;
    let app = app!(h);
    send!(app, json_req("POST", CMS, Some(&configmap("p", &[]))));
    let opts =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "not-it"}});
    let (code, _, e) = send!(app, json_req("DELETE", &format!("{CMS}/p"), Some(&opts)));
    assert_eq!(code, 409, "{e}");
    assert_eq!(e["reason"], "Conflict");
    let opts = json!({"propagationPolicy": "Sideways"});
    let (code, _, e) = send!(app, json_req("DELETE", &format!("{CMS}/p"), Some(&opts)));
    assert_eq!(code, 422, "{e}");
    let (code, _, _) = send!(
        app,
        json_req("DELETE", &format!("{CMS}/p?dryRun=All"), None)
    );
    assert_eq!(code, 200);
    let (code, _, _) = send!(app, json_req("GET", &format!("{CMS}/p"), None));
    assert_eq!(code, 200, "dry-run deletes nothing");

    // No garbage collector yet: Foreground completes at once.
    send!(app, json_req("POST", CMS, Some(&configmap("q", &[]))));
    let (code, _, _) = send!(
        app,
        json_req(
            "DELETE",
            &format!("{CMS}/q?propagationPolicy=Foreground"),
            None
        )
    );
    assert_eq!(code, 200);
    let (code, _, _) = send!(app, json_req("GET", &format!("{CMS}/q"), None));
    assert_eq!(code, 404);

    // With one, the finalizer is left for it, as upstream.
    h.state.set_garbage_collector(true);
    let (code, _, d) = send!(
        app,
        json_req(
            "DELETE",
            &format!("{CMS}/p?propagationPolicy=Foreground"),
            None
        )
    );
    assert_eq!(code, 200);
    assert_eq!(d["metadata"]["finalizers"], json!(["foregroundDeletion"]));

    let (code, _, e) = send!(app, json_req("DELETE", &format!("{CMS}/missing"), None));
    assert_eq!(code, 404, "{e}");
}

#[actix_web::test]
async fn delete_collection_honours_selectors() {
    let h = harness().await;
    let app = app!(h);
    for (n, l) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut cm = configmap(n, &[]);
        cm["metadata"]["labels"] = json!({"l": l});
        send!(app, json_req("POST", CMS, Some(&cm)));
    }
    let (code, _, list) = send!(
        app,
        json_req("DELETE", &format!("{CMS}?labelSelector=l%3Dx"), None)
    );
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, _, left) = send!(app, json_req("GET", CMS, None));
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["metadata"]["name"], "c");
}

#[actix_web::test]
async fn namespace_delete_removes_its_content() {
    let h = harness().await;
    let app = app!(h);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}});
    let (code, _, created) = send!(app, json_req("POST", "/api/v1/namespaces", Some(&ns)));
    assert_eq!(code, 201, "{created}");
    let (code, _, _) = send!(
        app,
        json_req(
            "POST",
            "/api/v1/namespaces/tmp/configmaps",
            Some(&configmap("c", &[]))
        )
    );
    assert_eq!(code, 201);

    let (code, _, d) = send!(app, json_req("DELETE", "/api/v1/namespaces/tmp", None));
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["kind"], "Namespace");
    assert_eq!(d["status"]["phase"], "Terminating");
    let (code, _, _) = send!(app, json_req("GET", "/api/v1/namespaces/tmp", None));
    assert_eq!(code, 404);
    let (_, _, all) = send!(app, json_req("GET", "/api/v1/configmaps", None));
    assert!(all["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["metadata"]["namespace"] != "tmp"));

    let (code, _, list) = send!(app, json_req("GET", "/api/v1/namespaces", None));
    assert_eq!(code, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
}
