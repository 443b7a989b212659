//! Create, get, list, update, patch and delete through the REST routes over
//! a real store.

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;
use serde_json::json;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[actix_web::test]
async fn create_get_list_update_delete_configmap() {
    let h = harness().await;
    let app = app!(h);

    let (code, _, cm) = send!(
        app,
        json_req("POST", CMS, Some(&configmap("a", &[("k", "v")])))
    );
    assert_eq!(code, 201, "{cm}");
    assert_eq!(cm["metadata"]["namespace"], "default");
    assert_eq!(cm["kind"], "ConfigMap");
    assert!(cm["metadata"]["uid"]
        .as_str()
        .is_some_and(|u| u.len() == 36));
    assert!(cm["metadata"]["creationTimestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let rv1 = cm["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cm["metadata"].get("generation").is_none());

    let (code, _, got) = send!(app, json_req("GET", &format!("{CMS}/a"), None));
    assert_eq!(code, 200);
    assert_eq!(got["data"]["k"], "v");
    assert_eq!(got["metadata"]["resourceVersion"], rv1.as_str());

    let (code, _, again) = send!(app, json_req("POST", CMS, Some(&configmap("a", &[]))));
    assert_eq!(code, 409);
    assert_eq!(again["reason"], "AlreadyExists");
    assert_eq!(again["message"], "configmaps \"a\" already exists");

    let (code, _, list) = send!(app, json_req("GET", CMS, None));
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());

    let mut upd = got.clone();
    upd["data"]["k"] = json!("v2");
    let (code, _, updated) = send!(app, json_req("PUT", &format!("{CMS}/a"), Some(&upd)));
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["data"]["k"], "v2");
    assert_ne!(updated["metadata"]["resourceVersion"], rv1.as_str());
    assert_eq!(updated["metadata"]["uid"], cm["metadata"]["uid"]);

    // Stale resourceVersion: 409 Conflict, nothing changes.
    let mut stale = got.clone();
    stale["data"]["k"] = json!("v3");
    let (code, _, conflict) = send!(app, json_req("PUT", &format!("{CMS}/a"), Some(&stale)));
    assert_eq!(code, 409);
    assert_eq!(conflict["reason"], "Conflict");
    assert_eq!(
        conflict["message"],
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let (_, _, now) = send!(app, json_req("GET", &format!("{CMS}/a"), None));
    assert_eq!(now["data"]["k"], "v2");

    let (code, _, status) = send!(app, json_req("DELETE", &format!("{CMS}/a"), None));
    assert_eq!(code, 200);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Success");
    assert_eq!(status["details"]["name"], "a");
    let (code, _, nf) = send!(app, json_req("GET", &format!("{CMS}/a"), None));
    assert_eq!(code, 404);
    assert_eq!(nf["message"], "configmaps \"a\" not found");
}

#[actix_web::test]
async fn generate_name_yaml_and_dry_run() {
    let h = harness().await;
    let app = app!(h);
    let yaml =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gen-\ndata:\n  a: \"1\"\n";
    let (code, _, cm) = send!(app, raw_req("POST", CMS, "application/yaml", yaml));
    assert_eq!(code, 201, "{cm}");
    let name = cm["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    let (code, _, dry) = send!(
        app,
        json_req(
            "POST",
            &format!("{CMS}?dryRun=All"),
            Some(&configmap("dry", &[]))
        )
    );
    assert_eq!(code, 201, "{dry}");
    let (code, _, _) = send!(app, json_req("GET", &format!("{CMS}/dry"), None));
    assert_eq!(code, 404);
}

#[actix_web::test]
async fn bad_input_is_rejected_and_changes_nothing() {
    let h = harness().await;
    let app = app!(h);

    let (code, _, e) = send!(app, raw_req("POST", CMS, "application/json", b"{\"kind\":"));
    assert_eq!(code, 400);
    assert_eq!(e["reason"], "BadRequest");

    let (code, _, _) = send!(app, raw_req("POST", CMS, "application/yaml", b"a: [\n"));
    assert_eq!(code, 400);

    let (code, _, e) = send!(app, json_req("POST", CMS, Some(&deployment("d", 1))));
    assert_eq!(code, 400, "{e}");

    let mut wrong_ns = configmap("x", &[]);
    wrong_ns["metadata"]["namespace"] = json!("other");
    let (code, _, e) = send!(app, json_req("POST", CMS, Some(&wrong_ns)));
    assert_eq!(code, 400);
    assert_eq!(
        e["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );

    let (code, _, e) = send!(
        app,
        json_req("POST", CMS, Some(&configmap("Bad_Name", &[])))
    );
    assert_eq!(code, 422, "{e}");
    assert_eq!(e["reason"], "Invalid");
    assert_eq!(e["details"]["causes"][0]["field"], "metadata.name");

    let (code, _, e) = send!(
        app,
        json_req(
            "POST",
            "/api/v1/namespaces/nope/configmaps",
            Some(&configmap("x", &[]))
        )
    );
    assert_eq!(code, 404);
    assert_eq!(e["message"], "namespaces \"nope\" not found");

    let big = vec![b' '; 3 * 1024 * 1024 + 10];
    let (code, _, e) = send!(app, raw_req("POST", CMS, "application/json", &big));
    assert_eq!(code, 413);
    assert_eq!(e["reason"], "RequestEntityTooLarge");

    let (code, _, e) = send!(
        app,
        json_req("GET", "/api/v1/namespaces/default/widgets", None)
    );
    assert_eq!(code, 404);
    assert_eq!(
        e["message"],
        "the server could not find the requested resource"
    );

    let (code, _, e) = send!(
        app,
        json_req("POST", &format!("{CMS}/x"), Some(&configmap("x", &[])))
    );
    assert_eq!(code, 405);
    assert_eq!(e["reason"], "MethodNotAllowed");

    let (code, _, e) = send!(
        app,
        json_req("GET", &format!("{CMS}?labelSelector=a%20in"), None)
    );
    assert_eq!(code, 400, "{e}");
    let (code, _, e) = send!(
        app,
        json_req("GET", &format!("{CMS}?fieldSelector=spec.foo%3Dx"), None)
    );
    assert_eq!(code, 400, "{e}");

    let (code, _, list) = send!(app, json_req("GET", CMS, None));
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

#[actix_web::test]
async fn list_pagination_and_selectors() {
    let h = harness().await;
    let app = app!(h);
    for i in 0..5 {
        let mut cm = configmap(&format!("cm{i}"), &[]);
        cm["metadata"]["labels"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
        let (code, _, _) = send!(app, json_req("POST", CMS, Some(&cm)));
        assert_eq!(code, 201);
    }
    let (_, _, page1) = send!(app, json_req("GET", &format!("{CMS}?limit=2"), None));
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let token = page1["metadata"]["continue"].as_str().unwrap().to_string();
    let rv = page1["metadata"]["resourceVersion"].clone();
    let (_, _, page2) = send!(
        app,
        json_req("GET", &format!("{CMS}?limit=2&continue={token}"), None)
    );
    assert_eq!(page2["items"][0]["metadata"]["name"], "cm2");
    assert_eq!(page2["metadata"]["resourceVersion"], rv);
    let token = page2["metadata"]["continue"].as_str().unwrap().to_string();
    let (_, _, page3) = send!(
        app,
        json_req("GET", &format!("{CMS}?limit=2&continue={token}"), None)
    );
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert!(page3["metadata"].get("continue").is_none());

    let (code, _, e) = send!(
        app,
        json_req("GET", &format!("{CMS}?limit=2&continue=garbage"), None)
    );
    assert_eq!(code, 400, "{e}");

    let (_, _, even) = send!(
        app,
        json_req(
            "GET",
            &format!("{CMS}?labelSelector=parity%3Deven&limit=2"),
            None
        )
    );
    let names: Vec<&str> = even["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cm0", "cm2"]);
    assert!(even["metadata"]["continue"].is_string());

    let (_, _, one) = send!(
        app,
        json_req(
            "GET",
            &format!("{CMS}?fieldSelector=metadata.name%3Dcm3"),
            None
        )
    );
    assert_eq!(one["items"].as_array().unwrap().len(), 1);

    let (_, _, cached) = send!(
        app,
        json_req("GET", &format!("{CMS}?resourceVersion=0"), None)
    );
    assert_eq!(cached["items"].as_array().unwrap().len(), 5);

    let (_, _, all) = send!(app, json_req("GET", "/api/v1/configmaps", None));
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn patches_merge_json_and_strategic() {
    let h = harness().await;
    let app = app!(h);
    let (code, _, _) = send!(
        app,
        json_req(
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            Some(&deployment("web", 1))
        )
    );
    assert_eq!(code, 201);
    let url = "/apis/apps/v1/namespaces/default/deployments/web";

    let (code, _, d) = send!(
        app,
        raw_req(
            "PATCH",
            url,
            "application/merge-patch+json",
            br#"{"spec":{"replicas":3}}"#
        )
    );
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["generation"], 2);

    let (code, _, d) = send!(app, raw_req("PATCH", url, "application/json-patch+json",
        br#"[{"op":"replace","path":"/metadata/labels/app","value":"web"},{"op":"add","path":"/metadata/labels/tier","value":"fe"}]"#));
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["metadata"]["labels"]["tier"], "fe");
    assert_eq!(
        d["metadata"]["generation"], 2,
        "labels do not bump generation"
    );

    let (code, _, d) = send!(app, raw_req("PATCH", url, "application/strategic-merge-patch+json",
        br#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"},{"name":"side","image":"busybox"}]}}}}"#));
    assert_eq!(code, 200, "{d}");
    let cs = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0]["image"], "nginx:1.28");

    let (code, _, e) = send!(
        app,
        raw_req(
            "PATCH",
            url,
            "application/json-patch+json",
            br#"[{"op":"test","path":"/spec/replicas","value":9}]"#
        )
    );
    assert_eq!(code, 422, "{e}");
    let (code, _, _) = send!(
        app,
        raw_req("PATCH", url, "application/json-patch+json", b"not json")
    );
    assert_eq!(code, 400);
    let (code, _, _) = send!(app, raw_req("PATCH", url, "text/plain", b"{}"));
    assert_eq!(code, 415);
    let (code, _, e) = send!(
        app,
        raw_req(
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/nope",
            "application/merge-patch+json",
            b"{}"
        )
    );
    assert_eq!(code, 404, "{e}");

    let (_, _, d) = send!(app, json_req("GET", url, None));
    assert_eq!(d["spec"]["replicas"], 3);
}

#[actix_web::test]
async fn field_validation_strict_warn_ignore() {
    let h = harness().await;
    let app = app!(h);
    let mut d = deployment("fv", 1);
    d["spec"]["replicas2"] = json!(3);
    let url = "/apis/apps/v1/namespaces/default/deployments";
    let (code, _, e) = send!(app, json_req("POST", url, Some(&d)));
    assert_eq!(code, 400, "{e}");
    assert_eq!(
        e["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicas2\""
    );

    let (code, headers, _) = send!(
        app,
        json_req("POST", &format!("{url}?fieldValidation=Warn"), Some(&d))
    );
    assert_eq!(code, 201);
    let warning = headers.get("Warning").unwrap().to_str().unwrap();
    assert_eq!(warning, "299 - \"unknown field \\\"spec.replicas2\\\"\"");

    let mut d2 = d.clone();
    d2["metadata"]["name"] = json!("fv2");
    let (code, headers, created) = send!(
        app,
        json_req("POST", &format!("{url}?fieldValidation=Ignore"), Some(&d2))
    );
    assert_eq!(code, 201);
    assert!(headers.get("Warning").is_none());
    assert!(
        created["spec"].get("replicas2").is_none(),
        "unknown fields are dropped"
    );
    let (_, _, stored) = send!(app, json_req("GET", &format!("{url}/fv"), None));
    assert!(stored["spec"].get("replicas2").is_none(), "{stored}");
}

#[actix_web::test]
async fn put_creates_only_where_upstream_allows_it() {
    let h = harness().await;
    let app = app!(h);
    let (code, _, e) = send!(
        app,
        json_req(
            "PUT",
            &format!("{CMS}/ghost"),
            Some(&configmap("ghost", &[]))
        )
    );
    assert_eq!(code, 404, "{e}");
    assert_eq!(e["message"], "configmaps \"ghost\" not found");

    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}});
    let url = "/apis/coordination.k8s.io/v1/namespaces/default/leases/l";
    let (code, _, created) = send!(app, json_req("PUT", url, Some(&lease)));
    assert_eq!(code, 201, "{created}");
    assert!(created["metadata"]["uid"].is_string());

    let (code, _, e) = send!(
        app,
        json_req(
            "PUT",
            &format!("{CMS}/other"),
            Some(&configmap("ghost", &[]))
        )
    );
    assert_eq!(code, 400, "{e}");
    assert_eq!(
        e["message"],
        "the name of the object (ghost) does not match the name on the URL (other)"
    );
}
