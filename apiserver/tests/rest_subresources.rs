//! `status` and `scale` subresources, and output formats (Table,
//! PartialObjectMetadata, Accept negotiation).

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;
use serde_json::json;

const DEPS: &str = "/apis/apps/v1/namespaces/default/deployments";

#[actix_web::test]
async fn status_changes_only_through_the_status_subresource() {
    let h = harness().await;
    let app = app!(h);
    let mut d = deployment("web", 2);
    d["status"] = json!({"replicas": 7});
    let (code, _, created) = send!(app, json_req("POST", DEPS, Some(&d)));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created["status"].get("replicas").is_none(),
        "status is not set on create"
    );

    let mut st = created.clone();
    st["status"] = json!({"replicas": 2, "readyReplicas": 2});
    st["spec"]["replicas"] = json!(9);
    let (code, _, after) = send!(
        app,
        json_req("PUT", &format!("{DEPS}/web/status"), Some(&st))
    );
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["status"]["readyReplicas"], 2);
    assert_eq!(after["spec"]["replicas"], 2, "spec is ignored on /status");
    assert_eq!(after["metadata"]["generation"], 1);

    let mut main = after.clone();
    main["status"] = json!({"replicas": 100});
    main["spec"]["replicas"] = json!(4);
    let (code, _, after2) = send!(app, json_req("PUT", &format!("{DEPS}/web"), Some(&main)));
    assert_eq!(code, 200, "{after2}");
    assert_eq!(
        after2["status"]["replicas"], 2,
        "status is kept on the main resource"
    );
    assert_eq!(after2["spec"]["replicas"], 4);
    assert_eq!(after2["metadata"]["generation"], 2);

    let (code, _, got) = send!(app, json_req("GET", &format!("{DEPS}/web/status"), None));
    assert_eq!(code, 200);
    assert_eq!(got["kind"], "Deployment");
}

#[actix_web::test]
async fn scale_reads_and_writes_replicas() {
    let h = harness().await;
    let app = app!(h);
    send!(app, json_req("POST", DEPS, Some(&deployment("web", 2))));
    let (code, _, scale) = send!(app, json_req("GET", &format!("{DEPS}/web/scale"), None));
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(scale["status"]["selector"], "app=web");

    let (code, _, s) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{DEPS}/web/scale"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":5}}"#
        )
    );
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["spec"]["replicas"], 5);

    let mut bad = s.clone();
    bad["spec"]["replicas"] = json!(-1);
    let (code, _, e) = send!(
        app,
        json_req("PUT", &format!("{DEPS}/web/scale"), Some(&bad))
    );
    assert_eq!(code, 422, "{e}");

    let (_, _, d) = send!(app, json_req("GET", &format!("{DEPS}/web"), None));
    assert_eq!(d["spec"]["replicas"], 5);

    let (code, _, _) = send!(
        app,
        json_req("GET", "/api/v1/namespaces/default/configmaps/x/scale", None)
    );
    assert_eq!(code, 404);
}

#[actix_web::test]
async fn table_and_metadata_output() {
    let h = harness().await;
    let app = app!(h);
    send!(app, json_req("POST", DEPS, Some(&deployment("web", 2))));

    let table = |uri: &str| {
        json_req("GET", uri, None).insert_header((
            "Accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
        ))
    };
    let (code, _, t) = send!(app, table(DEPS));
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["kind"], "Table");
    assert!(!t["columnDefinitions"].as_array().unwrap().is_empty());
    assert_eq!(t["rows"].as_array().unwrap().len(), 1);
    assert_eq!(t["rows"][0]["cells"][0], "web");

    let (code, _, t) = send!(app, table(&format!("{DEPS}/web")));
    assert_eq!(code, 200);
    assert_eq!(t["kind"], "Table");

    let meta = json_req("GET", DEPS, None).insert_header((
        "Accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    ));
    let (code, _, m) = send!(app, meta);
    assert_eq!(code, 200);
    assert_eq!(m["kind"], "PartialObjectMetadataList");
    assert_eq!(m["items"][0]["kind"], "PartialObjectMetadata");
    assert!(m["items"][0].get("spec").is_none());

    let proto = json_req("GET", DEPS, None).insert_header((
        "Accept",
        "application/vnd.kubernetes.protobuf, application/json",
    ));
    let (code, _, l) = send!(app, proto);
    assert_eq!(code, 200);
    assert_eq!(l["kind"], "DeploymentList");

    let only_proto = json_req("GET", DEPS, None)
        .insert_header(("Accept", "application/vnd.kubernetes.protobuf"));
    let (code, _, e) = send!(app, only_proto);
    assert_eq!(code, 406);
    assert_eq!(e["reason"], "NotAcceptable");
}

#[actix_web::test]
async fn binding_assigns_a_node_once() {
    let h = harness().await;
    let app = app!(h);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (code, _, p) = send!(
        app,
        json_req("POST", "/api/v1/namespaces/default/pods", Some(&pod))
    );
    assert_eq!(code, 201, "{p}");
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
        "target": {"kind": "Node", "name": "n1"}});
    let url = "/api/v1/namespaces/default/pods/p/binding";
    let (code, _, st) = send!(app, json_req("POST", url, Some(&binding)));
    assert_eq!(code, 201, "{st}");
    assert_eq!(st["status"], "Success");
    let (_, _, p) = send!(
        app,
        json_req("GET", "/api/v1/namespaces/default/pods/p", None)
    );
    assert_eq!(p["spec"]["nodeName"], "n1");
    let (code, _, e) = send!(app, json_req("POST", url, Some(&binding)));
    assert_eq!(code, 409, "{e}");
    assert_eq!(
        e["message"],
        "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"n1\""
    );
    // Deleting a pod answers with the pod (upstream ReturnDeletedObject).
    let (code, _, d) = send!(
        app,
        json_req("DELETE", "/api/v1/namespaces/default/pods/p", None)
    );
    assert_eq!(code, 200);
    assert_eq!(d["kind"], "Pod");
}
