//! kube-rs against the real binary: typed CRUD, list with selectors and
//! pagination, watch and the runtime watcher, and bad input answered with the
//! right `Status`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{watcher, WatchStreamExt};
use kube::ResourceExt;

use conformance::{request, Server};

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn configmap_crud() {
    let s = Server::start();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");

    let created = cms
        .create(&PostParams::default(), &configmap("crud", &[("a", "1")]))
        .await
        .expect("create");
    assert_eq!(created.name_any(), "crud");
    assert_eq!(created.namespace().as_deref(), Some("default"));
    assert!(created.uid().is_some());
    let rv1 = created.resource_version().expect("rv");

    let got = cms.get("crud").await.expect("get");
    assert_eq!(got.data, created.data);
    assert_eq!(got.resource_version().as_deref(), Some(rv1.as_str()));

    let mut changed = got.clone();
    changed.data = Some(BTreeMap::from([("a".to_string(), "2".to_string())]));
    let replaced = cms
        .replace("crud", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_ne!(replaced.resource_version().as_deref(), Some(rv1.as_str()));

    let merged = cms
        .patch(
            "crud",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"b": "3"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        merged
            .data
            .as_ref()
            .and_then(|d| d.get("b"))
            .map(String::as_str),
        Some("3")
    );

    let json_patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": "/data/a", "value": "2"},
        {"op": "remove", "path": "/data/b"}
    ]))
    .expect("patch doc");
    let patched = cms
        .patch(
            "crud",
            &PatchParams::default(),
            &Patch::Json::<()>(json_patch),
        )
        .await
        .expect("json patch");
    assert_eq!(
        patched.data,
        Some(BTreeMap::from([("a".to_string(), "2".to_string())]))
    );

    let list = cms.list(&ListParams::default()).await.expect("list");
    assert!(list.items.iter().any(|c| c.name_any() == "crud"));
    assert!(list.metadata.resource_version.is_some());

    cms.delete("crud", &DeleteParams::default())
        .await
        .expect("delete");
    let err = api_error(cms.get("crud").await.expect_err("gone"));
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "configmaps \"crud\" not found");
}

#[tokio::test]
async fn server_side_apply_with_kube() {
    let s = Server::start();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PatchParams::apply("conformance-test");
    let applied = cms
        .patch(
            "ssa",
            &pp,
            &Patch::Apply(serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "ssa"},
                "data": {"k": "v"}
            })),
        )
        .await
        .expect("apply");
    assert_eq!(
        applied
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v")
    );
    let managers: Vec<String> = applied
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&"conformance-test".to_string()),
        "{managers:?}"
    );
}

/// Two kube-rs controllers applying the same field: the second conflicts
/// until it forces; the exact managedFields afterwards.
#[tokio::test]
async fn server_side_apply_conflicts_between_managers() {
    let s = Server::start_with(&["--controllers="]).expect("start");
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = |v: &str| {
        Patch::Apply(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared"},
            "data": {"owner": v}
        }))
    };
    cms.patch("shared", &PatchParams::apply("alpha"), &cfg("alpha"))
        .await
        .expect("first apply");
    // The same value: shared, no conflict.
    cms.patch("shared", &PatchParams::apply("beta"), &cfg("alpha"))
        .await
        .expect("same value");
    let status = api_error(
        cms.patch("shared", &PatchParams::apply("beta"), &cfg("beta"))
            .await
            .expect_err("conflict"),
    );
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"alpha\": .data.owner"
    );
    let cm = cms
        .patch("shared", &PatchParams::apply("beta").force(), &cfg("beta"))
        .await
        .expect("forced");
    assert_eq!(
        cm.data
            .as_ref()
            .and_then(|d| d.get("owner"))
            .map(String::as_str),
        Some("beta")
    );
    let owners: Vec<(String, String)> = cm
        .managed_fields()
        .iter()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.fields_v1
                    .as_ref()
                    .map(|f| f.0.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [(
            "beta".to_string(),
            r#"{"f:data":{"f:owner":{}}}"#.to_string()
        ),],
        "alpha lost its only field, so its entry is gone"
    );
}

#[tokio::test]
async fn list_selectors_and_pages() {
    let s = Server::start();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..5 {
        let mut cm = configmap(&format!("item-{i}"), &[("i", "x")]);
        cm.metadata.labels = Some(BTreeMap::from([(
            "parity".to_string(),
            if i % 2 == 0 { "even" } else { "odd" }.to_string(),
        )]));
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let even = cms
        .list(&ListParams::default().labels("parity=even"))
        .await
        .expect("list even");
    let names: Vec<String> = even.items.iter().map(|c| c.name_any()).collect();
    assert_eq!(names, ["item-0", "item-2", "item-4"]);

    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=item-3"))
        .await
        .expect("field selector");
    assert_eq!(by_name.items.len(), 1);

    let mut seen = Vec::new();
    let mut lp = ListParams::default().labels("parity").limit(2);
    loop {
        let page = cms.list(&lp).await.expect("page");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|c| c.name_any()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(seen, ["item-0", "item-1", "item-2", "item-3", "item-4"]);
}

#[tokio::test]
async fn raw_watch_reports_added_modified_deleted() {
    let s = Server::start();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let rv = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list rv");
    let mut stream = cms
        .watch(&WatchParams::default().timeout(60), &rv)
        .await
        .expect("watch")
        .boxed();

    cms.create(&PostParams::default(), &configmap("w", &[("v", "1")]))
        .await
        .expect("create");
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"v": "2"}})),
    )
    .await
    .expect("patch");
    cms.delete("w", &DeleteParams::default())
        .await
        .expect("delete");

    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event");
        // Controllers write their own ConfigMaps (kube-root-ca.crt): only
        // ours matter here.
        match ev {
            WatchEvent::Added(cm) if cm.name_any() == "w" => kinds.push(("ADDED", cm.name_any())),
            WatchEvent::Modified(cm) if cm.name_any() == "w" => {
                kinds.push(("MODIFIED", cm.name_any()))
            }
            WatchEvent::Deleted(cm) if cm.name_any() == "w" => {
                kinds.push(("DELETED", cm.name_any()))
            }
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
            _ => {}
        }
    }
    assert_eq!(
        kinds,
        [
            ("ADDED", "w".to_string()),
            ("MODIFIED", "w".to_string()),
            ("DELETED", "w".to_string())
        ]
    );
}

#[tokio::test]
async fn runtime_watcher_sees_new_objects() {
    let s = Server::start();
    let client = s.client().await;
    let nss: Api<Namespace> = Api::all(client);
    let mut stream = watcher(nss.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let creator = {
        let nss = nss.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let ns = Namespace {
                metadata: kube::api::ObjectMeta {
                    name: Some("watched".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            nss.create(&PostParams::default(), &ns).await
        })
    };
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ns) = stream.try_next().await.expect("watcher") {
            if ns.name_any() == "watched" {
                return true;
            }
        }
        false
    })
    .await
    .expect("in time");
    assert!(found);
    creator.await.expect("join").expect("create namespace");
}

// ---- bad input ------------------------------------------------------------

#[tokio::test]
async fn duplicate_create_is_already_exists() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    cms.create(&PostParams::default(), &configmap("dup", &[]))
        .await
        .expect("first");
    let err = api_error(
        cms.create(&PostParams::default(), &configmap("dup", &[]))
            .await
            .expect_err("second"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(err.message, "configmaps \"dup\" already exists");
}

#[tokio::test]
async fn stale_update_is_conflict() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let first = cms
        .create(&PostParams::default(), &configmap("cc", &[("v", "1")]))
        .await
        .expect("create");
    let mut a = first.clone();
    a.data = Some(BTreeMap::from([("v".into(), "2".into())]));
    cms.replace("cc", &PostParams::default(), &a)
        .await
        .expect("first update");
    let mut b = first.clone();
    b.data = Some(BTreeMap::from([("v".into(), "3".into())]));
    let err = api_error(
        cms.replace("cc", &PostParams::default(), &b)
            .await
            .expect_err("stale"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message
            .starts_with("Operation cannot be fulfilled on configmaps \"cc\""),
        "{}",
        err.message
    );
    let now = cms.get("cc").await.expect("get");
    assert_eq!(
        now.data.and_then(|d| d.get("v").cloned()).as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn invalid_name_is_unprocessable() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let err = api_error(
        cms.create(&PostParams::default(), &configmap("Bad_Name", &[]))
            .await
            .expect_err("invalid"),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(err.message.contains("metadata.name"), "{}", err.message);
}

#[tokio::test]
async fn missing_namespace_is_not_found() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "no-such-ns");
    let err = api_error(
        cms.create(&PostParams::default(), &configmap("x", &[]))
            .await
            .expect_err("no namespace"),
    );
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "namespaces \"no-such-ns\" not found");
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests() {
    let s = Server::start();
    let client = s.client().await;
    let path = "/api/v1/namespaces/default/configmaps";
    for body in ["{not json", "[]", ""] {
        let (code, text) = request(&client, "POST", path, Some("application/json"), body.into())
            .await
            .expect("post");
        assert_eq!(code, 400, "body {body:?}: {text}");
        let status = conformance::json(&text);
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "BadRequest");
    }
    let (code, text) = request(&client, "POST", path, Some("text/csv"), b"a,b".to_vec())
        .await
        .expect("post");
    assert_eq!(code, 415, "{text}");

    let (code, text) = request(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/none",
        Some("application/json-patch+json"),
        b"{\"not\":\"a list\"}".to_vec(),
    )
    .await
    .expect("patch");
    assert!(code == 400 || code == 404, "{code} {text}");

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let err = api_error(
        cms.list(&ListParams::default().labels("a in (b"))
            .await
            .expect_err("bad selector"),
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    // Nothing was created by any of the above.
    assert!(cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .is_empty());
}

/// Values of the wrong JSON type are refused as decoding into the Go types
/// refuses them, on every write path, and nothing stored changes (a typed
/// client listing the kind keeps working).
#[tokio::test]
async fn wrongly_typed_values_are_refused() {
    let s = Server::start();
    let client = s.client().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let status = |text: &str| conformance::json(text);
    let cases = [
        (
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":1}}"#,
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
        ),
        (
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":"l"}}"#,
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
        ),
        (
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","creationTimestamp":"yesterday"}}"#,
            r#"parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006""#,
        ),
    ];
    for (body, why) in cases {
        let (code, text) = request(&client, "POST", path, Some("application/json"), body.into())
            .await
            .expect("post");
        assert_eq!(code, 400, "{text}");
        let st = status(&text);
        assert_eq!(st["reason"], "BadRequest");
        assert_eq!(
            st["message"],
            format!("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: {why}")
        );
    }
    let (code, text) = request(
        &client,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        Some("application/json"),
        br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"3"}}"#.to_vec(),
    )
    .await
    .expect("post");
    assert_eq!(code, 400, "{text}");
    assert_eq!(
        status(&text)["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let (code, text) = request(
        &client,
        "POST",
        "/api/v1/namespaces/default/secrets",
        Some("application/json"),
        br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"not base64"}}"#
            .to_vec(),
    )
    .await
    .expect("post");
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("illegal base64 data at input byte 3"),
        "{text}"
    );

    // Patches: the stored object stays as it was.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &configmap("x", &[("a", "1")]))
        .await
        .expect("create");
    let before = cms.get("x").await.expect("get");
    let one = format!("{path}/x");
    for (ct, body, detail) in [
        (
            "application/merge-patch+json",
            r#"{"data":{"b":2}}"#,
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"add","path":"/data/b","value":true}]"#,
            "json: cannot unmarshal bool into Go struct field ConfigMap.data of type string",
        ),
        (
            "application/strategic-merge-patch+json",
            r#"{"data":{"b":2}}"#,
            "cannot convert int64 to string",
        ),
    ] {
        let (code, text) = request(&client, "PATCH", &one, Some(ct), body.into())
            .await
            .expect("patch");
        assert_eq!(code, 422, "{ct}: {text}");
        let st = status(&text);
        assert_eq!(st["reason"], "Invalid");
        let cause = &st["details"]["causes"][0];
        assert_eq!(cause["field"], "patch");
        assert_eq!(cause["reason"], "FieldValueInvalid");
        let message = cause["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Invalid value: "), "{message}");
        assert!(message.ends_with(&format!(": {detail}")), "{message}");
    }
    let (code, text) = request(
        &client,
        "PATCH",
        &format!("{one}?fieldManager=t"),
        Some("application/apply-patch+yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1, b: true}\n".to_vec(),
    )
    .await
    .expect("apply");
    assert_eq!(code, 400, "{text}");
    assert_eq!(
        status(&text)["message"],
        "failed to create typed patch object (default/x; /v1, Kind=ConfigMap): errors:\n  .data.a: expected string, got &value.valueUnstructured{Value:1}\n  .data.b: expected string, got &value.valueUnstructured{Value:true}"
    );
    let after = cms.get("x").await.expect("get");
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert_eq!(after.data, before.data);
    // Every stored ConfigMap still decodes.
    let names: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .expect("typed list")
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    assert!(names.contains(&"x".to_string()), "{names:?}");
}

#[tokio::test]
async fn deployment_create_and_scale() {
    let s = Server::start();
    let deps: Api<Deployment> = Api::namespaced(s.client().await, "default");
    let dep: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}
            }
        }
    }))
    .expect("deployment");
    let created = deps
        .create(&PostParams::default(), &dep)
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    // Defaults filled in as upstream does.
    let spec = created.spec.expect("spec");
    assert!(spec.strategy.is_some());
    assert_eq!(spec.revision_history_limit, Some(10));

    let scaled = deps
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale");
    assert_eq!(scaled.metadata.generation, Some(2));
    let scale = deps.get_scale("web").await.expect("scale subresource");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
}
