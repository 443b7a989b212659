//! Server-side apply (simplified), protobuf bodies from kubectl, and
//! `omitempty`-style normalization.

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[actix_web::test]
async fn apply_creates_then_updates_with_apply_managed_fields() {
    let h = harness().await;
    let app = app!(h);
    let cfg = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n";
    let url = format!("{CMS}/ssa?fieldManager=kubectl");
    let (code, _, cm) = send!(
        app,
        raw_req("PATCH", &url, "application/apply-patch+yaml", cfg)
    );
    assert_eq!(code, 201, "{cm}");
    assert_eq!(cm["data"]["k"], "v");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");

    let cfg2 = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v2\n";
    let (code, _, cm) = send!(
        app,
        raw_req("PATCH", &url, "application/apply-patch+yaml", cfg2)
    );
    assert_eq!(code, 200, "{cm}");
    assert_eq!(cm["data"]["k"], "v2");

    let (code, _, e) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/ssa"),
            "application/apply-patch+yaml",
            cfg2
        )
    );
    assert_eq!(code, 422, "fieldManager is required: {e}");
}

#[actix_web::test]
async fn apply_conflicts_force_and_removal() {
    let h = harness().await;
    let app = app!(h);
    let apply = "application/apply-patch+yaml";
    let cfg =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\ndata:\n  a: \"1\"\n  b: \"2\"\n";
    let (code, _, _) = send!(
        app,
        raw_req("PATCH", &format!("{CMS}/own?fieldManager=ssa"), apply, cfg)
    );
    assert_eq!(code, 201);
    // Another manager changes `a` with a merge patch.
    let (code, _, cm) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/own?fieldManager=editor"),
            "application/merge-patch+json",
            br#"{"data":{"a":"9"}}"#
        )
    );
    assert_eq!(code, 200, "{cm}");
    let before = cm.clone();

    // Applying a different value for `a` conflicts with the editor.
    let cfg2 = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\ndata:\n  a: \"3\"\n";
    let (code, _, e) = send!(
        app,
        raw_req("PATCH", &format!("{CMS}/own?fieldManager=ssa"), apply, cfg2)
    );
    assert_eq!(code, 409, "{e}");
    assert_eq!(e["reason"], "Conflict");
    assert_eq!(
        e["message"],
        "Apply failed with 1 conflict: conflict with \"editor\" using v1: .data.a"
    );
    assert_eq!(e["details"]["causes"][0]["reason"], "FieldManagerConflict");
    assert_eq!(e["details"]["causes"][0]["field"], ".data.a");
    let (_, _, now) = send!(app, json_req("GET", &format!("{CMS}/own"), None));
    assert_eq!(now, before, "a refused apply changes nothing");

    // Forced, `a` moves to ssa; `b`, no longer applied and owned by nobody
    // else, is removed.
    let (code, _, cm) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/own?fieldManager=ssa&force=true"),
            apply,
            cfg2
        )
    );
    assert_eq!(code, 200, "{cm}");
    assert_eq!(cm["data"], serde_json::json!({"a": "3"}));
    let mf = cm["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(mf[0]["manager"], "ssa");
    assert_eq!(mf[0]["operation"], "Apply");
    assert!(mf
        .iter()
        .all(|e| e["manager"] != "editor" || e["fieldsV1"]["f:data"].get("f:a").is_none()));

    // force is for apply patches only.
    let (code, _, e) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/own?force=true"),
            "application/merge-patch+json",
            br#"{"data":{"a":"1"}}"#
        )
    );
    assert_eq!(code, 422, "{e}");
    assert_eq!(e["details"]["causes"][0]["field"], "force");
}

#[actix_web::test]
async fn protobuf_create_from_kubectl() {
    let h = harness().await;
    let app = app!(h);
    // `kubectl create configmap cm1 --from-literal=a=b --from-literal=c=d`.
    let body = hex("6b3873000a0f0a0276311209436f6e6669674d617012250a130a03636d3112001a0022002a0032003800420012060a016112016212060a01631201641a002200");
    let (code, _, cm) = send!(
        app,
        raw_req(
            "POST",
            &format!("{CMS}?fieldManager=kubectl-create&fieldValidation=Strict"),
            "application/vnd.kubernetes.protobuf",
            &body
        )
        .insert_header((
            "Accept",
            "application/vnd.kubernetes.protobuf,application/json"
        ))
    );
    assert_eq!(code, 201, "{cm}");
    assert_eq!(cm["metadata"]["name"], "cm1");
    assert_eq!(cm["data"]["c"], "d");
    assert_eq!(
        cm["metadata"]["managedFields"][0]["manager"],
        "kubectl-create"
    );
}

#[actix_web::test]
async fn removing_the_last_label_drops_the_map() {
    let h = harness().await;
    let app = app!(h);
    let mut cm = configmap("l", &[]);
    cm["metadata"]["labels"] = serde_json::json!({"a": "b"});
    send!(app, json_req("POST", CMS, Some(&cm)));
    let (code, _, cm) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{CMS}/l"),
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"a":null}}}"#
        )
    );
    assert_eq!(code, 200);
    assert!(cm["metadata"].get("labels").is_none(), "{cm}");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[actix_web::test]
async fn apply_through_scale_and_status_subresources() {
    let h = harness().await;
    let app = app!(h);
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let apply = "application/apply-patch+yaml";
    let mut d = deployment("web", 2);
    d["apiVersion"] = serde_json::json!("apps/v1");
    d["kind"] = serde_json::json!("Deployment");
    let (code, _, created) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{deps}/web?fieldManager=gitops"),
            apply,
            d.to_string().as_bytes()
        )
    );
    assert_eq!(code, 201, "{created}");

    let scale = br#"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":5}}"#;
    let url = format!("{deps}/web/scale?fieldManager=autoscaler");
    let (code, _, e) = send!(app, raw_req("PATCH", &url, apply, scale));
    assert_eq!(code, 409, "{e}");
    assert_eq!(
        e["message"],
        "Apply failed with 1 conflict: conflict with \"gitops\": .spec.replicas"
    );
    let (code, _, s) = send!(
        app,
        raw_req("PATCH", &format!("{url}&force=true"), apply, scale)
    );
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["spec"]["replicas"], 5);
    let (_, _, got) = send!(app, json_req("GET", &format!("{deps}/web"), None));
    let mf = got["metadata"]["managedFields"].as_array().unwrap();
    let scaler = mf.iter().find(|e| e["manager"] == "autoscaler").unwrap();
    assert_eq!(scaler["operation"], "Apply");
    assert_eq!(scaler["subresource"], "scale");
    assert_eq!(
        scaler["fieldsV1"],
        serde_json::json!({"f:spec": {"f:replicas": {}}})
    );
    let gitops = mf.iter().find(|e| e["manager"] == "gitops").unwrap();
    assert!(gitops["fieldsV1"]["f:spec"].get("f:replicas").is_none());

    // Status applied by a controller: its entry names the subresource and
    // owns status fields only; spec is untouched.
    let status = br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"status":{"observedGeneration":1,"replicas":5}}"#;
    let (code, _, got) = send!(
        app,
        raw_req(
            "PATCH",
            &format!("{deps}/web/status?fieldManager=deployment-controller"),
            apply,
            status
        )
    );
    assert_eq!(code, 200, "{got}");
    assert_eq!(got["status"]["replicas"], 5);
    assert_eq!(got["spec"]["replicas"], 5);
    let mf = got["metadata"]["managedFields"].as_array().unwrap();
    let ctl = mf
        .iter()
        .find(|e| e["manager"] == "deployment-controller")
        .unwrap();
    assert_eq!(ctl["subresource"], "status");
    assert_eq!(
        ctl["fieldsV1"],
        serde_json::json!({"f:status": {"f:observedGeneration": {}, "f:replicas": {}}})
    );
}
