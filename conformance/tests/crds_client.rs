//! Custom resources through kube-rs against the real binary: a
//! `#[derive(CustomResource)]` type installed from `Foo::crd()`, typed CRUD,
//! merge and server-side apply patches, the status and scale subresources,
//! the runtime watcher and a `Controller` writing status, `Discovery`,
//! versions served with `None` conversion, and OpenAPI v2/v3 documents.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::{Discovery, Scope};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use conformance::{eventually, get_raw, request, Server};

const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// A Foo runs `size` copies of something.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kube.example.com",
    version = "v1",
    kind = "Foo",
    namespaced,
    status = "FooStatus",
    shortname = "fo",
    scale(
        spec_replicas_path = ".spec.size",
        status_replicas_path = ".status.observed"
    ),
    printcolumn(name = "Size", type_ = "integer", json_path = ".spec.size")
)]
#[serde(rename_all = "camelCase")]
pub struct FooSpec {
    /// How many copies run.
    size: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct FooStatus {
    /// The size a controller last saw.
    observed: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

const FOOS_CRD: &str = "foos.kube.example.com";

fn server() -> Server {
    Server::start_with(&["--controllers=", "--nodes", "0"])
        .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

fn foo(name: &str, size: i32) -> Foo {
    Foo::new(name, FooSpec { size, color: None })
}

/// Creates the CRD of `Foo` and waits until it is Established.
async fn install_foo(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = crds
        .create(&PostParams::default(), &Foo::crd())
        .await
        .expect("create CRD");
    assert_eq!(created.name_any(), FOOS_CRD);
    established(client, FOOS_CRD).await;
}

async fn established(client: &kube::Client, name: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    tokio::time::timeout(
        WAIT,
        await_condition(crds, name, conditions::is_crd_established()),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} not Established in {WAIT:?}"))
    .expect("await_condition");
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

// ---- typed CRUD ---------------------------------------------------------------

#[tokio::test]
async fn typed_crud_and_patches() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let foos: Api<Foo> = Api::default_namespaced(client.clone());

    let created = foos
        .create(&PostParams::default(), &foo("one", 1))
        .await
        .expect("create");
    assert_eq!(created.name_any(), "one");
    assert_eq!(created.namespace().as_deref(), Some("default"));
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.size, 1);
    assert!(created.status.is_none());

    let got = foos.get("one").await.expect("get");
    assert_eq!(got.spec, created.spec);
    assert_eq!(got.resource_version(), created.resource_version());

    let again = foos.create(&PostParams::default(), &foo("one", 1)).await;
    let status = api_error(again.expect_err("duplicate"));
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "AlreadyExists");
    assert_eq!(
        status.message,
        "foos.kube.example.com \"one\" already exists"
    );

    // Replace with the current resourceVersion; a stale one conflicts.
    let mut changed = got.clone();
    changed.spec.size = 2;
    let replaced = foos
        .replace("one", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_eq!(replaced.spec.size, 2);
    assert_eq!(replaced.metadata.generation, Some(2));
    let stale = foos.replace("one", &PostParams::default(), &changed).await;
    let status = api_error(stale.expect_err("stale replace"));
    assert_eq!(status.code, 409);
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on foos.kube.example.com \"one\": the object has been \
         modified; please apply your changes to the latest version and try again"
    );

    let patched = foos
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "red"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.spec.color.as_deref(), Some("red"));
    assert_eq!(patched.spec.size, 2);
    assert_eq!(patched.metadata.generation, Some(3));

    // Server-side apply, forced over the fields other managers own.
    let applied = foos
        .patch(
            "one",
            &PatchParams::apply("mgr").force(),
            &Patch::Apply(json!({
                "apiVersion": "kube.example.com/v1",
                "kind": "Foo",
                "metadata": {"name": "one"},
                "spec": {"size": 5},
            })),
        )
        .await
        .expect("apply");
    assert_eq!(applied.spec.size, 5);
    assert_eq!(applied.spec.color.as_deref(), Some("red"));
    let managers: Vec<(String, String)> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("mgr".to_string(), "Apply".to_string())),
        "{managers:?}"
    );
    // Applying creates too.
    let two = foos
        .patch(
            "two",
            &PatchParams::apply("mgr"),
            &Patch::Apply(json!({
                "apiVersion": "kube.example.com/v1",
                "kind": "Foo",
                "metadata": {"name": "two", "labels": {"app": "x"}},
                "spec": {"size": 3},
            })),
        )
        .await
        .expect("apply create");
    assert_eq!(two.spec.size, 3);

    // Strategic merge is not for custom resources.
    let smp = foos
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 6}})),
        )
        .await;
    let status = api_error(smp.expect_err("strategic merge patch"));
    assert_eq!(status.code, 415);
    assert_eq!(status.reason, "UnsupportedMediaType");

    let list = foos.list(&ListParams::default()).await.expect("list");
    let names: Vec<String> = list.items.iter().map(|f| f.name_any()).collect();
    assert_eq!(names, ["one", "two"]);
    let list = foos
        .list(&ListParams::default().labels("app=x"))
        .await
        .expect("list by label");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].name_any(), "two");

    foos.delete("one", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = api_error(foos.get("one").await.expect_err("deleted"));
    assert_eq!(gone.code, 404);
    assert_eq!(gone.message, "foos.kube.example.com \"one\" not found");
}

#[tokio::test]
async fn status_and_scale_subresources() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let foos: Api<Foo> = Api::default_namespaced(client.clone());

    // Status in a create is dropped.
    let mut with_status = foo("s", 2);
    with_status.status = Some(FooStatus {
        observed: 9,
        message: None,
    });
    let created = foos
        .create(&PostParams::default(), &with_status)
        .await
        .expect("create");
    assert!(created.status.is_none(), "{created:?}");

    // replace_status writes status only: spec and labels in the body are ignored.
    let mut body = created.clone();
    body.spec.size = 7;
    body.labels_mut().insert("sneaky".into(), "yes".into());
    body.status = Some(FooStatus {
        observed: 2,
        message: Some("ok".into()),
    });
    let after = foos
        .replace_status("s", &PostParams::default(), &body)
        .await
        .expect("replace_status");
    assert_eq!(after.spec.size, 2);
    assert!(after.labels().get("sneaky").is_none(), "{after:?}");
    assert_eq!(
        after.status,
        Some(FooStatus {
            observed: 2,
            message: Some("ok".into())
        })
    );
    // Status writes do not bump the generation.
    assert_eq!(after.metadata.generation, Some(1));

    let patched = foos
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 3}, "spec": {"size": 8}})),
        )
        .await
        .expect("patch_status");
    assert_eq!(patched.status.as_ref().map(|s| s.observed), Some(3));
    assert_eq!(patched.spec.size, 2);
    assert_eq!(patched.metadata.generation, Some(1));

    // The main resource ignores status: PUT and PATCH.
    let mut main = patched.clone();
    main.status = Some(FooStatus {
        observed: 100,
        message: None,
    });
    main.spec.size = 4;
    let replaced = foos
        .replace("s", &PostParams::default(), &main)
        .await
        .expect("replace");
    assert_eq!(replaced.spec.size, 4);
    assert_eq!(replaced.status.as_ref().map(|s| s.observed), Some(3));
    assert_eq!(replaced.metadata.generation, Some(2));
    let merged = foos
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 50}})),
        )
        .await
        .expect("patch main");
    assert_eq!(merged.status.as_ref().map(|s| s.observed), Some(3));
    // Nothing outside status changed: no new generation.
    assert_eq!(merged.metadata.generation, Some(2));
    // Metadata changes do not bump the generation either.
    let labelled = foos
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("label");
    assert_eq!(labelled.metadata.generation, Some(2));

    // The scale subresource maps .spec.size and .status.observed.
    let scale = foos.get_scale("s").await.expect("get_scale");
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(4));
    assert_eq!(scale.status.as_ref().map(|s| s.replicas), Some(3));
    let scaled = foos
        .patch_scale(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 6}})),
        )
        .await
        .expect("patch_scale");
    assert_eq!(scaled.spec.as_ref().and_then(|s| s.replicas), Some(6));
    let now = foos.get("s").await.expect("get");
    assert_eq!(now.spec.size, 6);
    assert_eq!(now.metadata.generation, Some(3));
}

#[tokio::test]
async fn without_a_status_subresource_status_is_ordinary_content() {
    let s = server();
    s.kubectl_ok(&[
        "apply",
        "-f",
        &format!(
            "{}/tests/data/crds/widget-crd.yaml",
            env!("CARGO_MANIFEST_DIR")
        ),
    ]);
    let client = s.client().await;
    established(&client, "widgets.cluster.example.com").await;
    let gvk = GroupVersionKind::gvk("cluster.example.com", "v1", "Widget");
    let widgets: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "widgets"),
    );
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cluster.example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ready": false},
    }))
    .expect("object");
    let created = widgets
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
    // Kept on create, and a status change is a change like any other.
    assert_eq!(created.data["status"], json!({"ready": false}));
    assert_eq!(created.metadata.generation, Some(1));
    let patched = widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .expect("patch");
    assert_eq!(patched.data["status"], json!({"ready": true}));
    // There is no /status endpoint.
    let (code, _) = request(
        &client,
        "GET",
        "/apis/cluster.example.com/v1/widgets/w/status",
        None,
        Vec::new(),
    )
    .await
    .expect("request");
    assert_eq!(code, 404);
}

#[tokio::test]
async fn without_a_status_subresource_status_changes_bump_the_generation() {
    let s = server();
    s.kubectl_ok(&[
        "apply",
        "-f",
        &format!(
            "{}/tests/data/crds/widget-crd.yaml",
            env!("CARGO_MANIFEST_DIR")
        ),
    ]);
    let client = s.client().await;
    established(&client, "widgets.cluster.example.com").await;
    let gvk = GroupVersionKind::gvk("cluster.example.com", "v1", "Widget");
    let widgets: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "widgets"),
    );
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cluster.example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ready": false},
    }))
    .expect("object");
    widgets
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
    let patched = widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .expect("patch");
    assert_eq!(patched.metadata.generation, Some(2));
    // Metadata alone still does not.
    let labelled = widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("label");
    assert_eq!(labelled.metadata.generation, Some(2));
}

// ---- watching and controllers -------------------------------------------------

#[tokio::test]
async fn watcher_sees_events() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let foos: Api<Foo> = Api::default_namespaced(client.clone());
    foos.create(&PostParams::default(), &foo("before", 1))
        .await
        .expect("create");

    let stream = watcher(foos.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut stream = stream;
    // The initial list.
    let mut initial = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.try_next()).await {
            Ok(Ok(Some(watcher::Event::InitApply(f)))) => initial.push(f.name_any()),
            Ok(Ok(Some(watcher::Event::InitDone))) => break,
            Ok(Ok(Some(_))) => {}
            other => panic!("watcher ended early: {other:?}"),
        }
    }
    assert_eq!(initial, ["before"]);

    foos.create(&PostParams::default(), &foo("after", 2))
        .await
        .expect("create");
    foos.patch(
        "after",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 3}})),
    )
    .await
    .expect("patch");
    foos.delete("after", &DeleteParams::default())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(WAIT, stream.try_next()).await {
            Ok(Ok(Some(watcher::Event::Apply(f)))) => {
                seen.push(format!("apply {} {}", f.name_any(), f.spec.size))
            }
            Ok(Ok(Some(watcher::Event::Delete(f)))) => {
                seen.push(format!("delete {}", f.name_any()))
            }
            Ok(Ok(Some(_))) => {}
            other => panic!("watcher ended early after {seen:?}: {other:?}"),
        }
    }
    assert_eq!(seen, ["apply after 2", "apply after 3", "delete after"]);
}

async fn reconcile(obj: Arc<Foo>, foos: Arc<Api<Foo>>) -> Result<Action, kube::Error> {
    let observed = obj.status.as_ref().map(|s| s.observed);
    if observed != Some(obj.spec.size) {
        foos.patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": obj.spec.size, "message": "reconciled"}})),
        )
        .await?;
    }
    Ok(Action::await_change())
}

fn error_policy(_obj: Arc<Foo>, _e: &kube::Error, _foos: Arc<Api<Foo>>) -> Action {
    Action::requeue(Duration::from_secs(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_writes_status() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let foos: Api<Foo> = Api::default_namespaced(client.clone());
    let controller = tokio::spawn(
        Controller::new(foos.clone(), watcher::Config::default())
            .run(reconcile, error_policy, Arc::new(foos.clone()))
            .for_each(|_| async {}),
    );
    foos.create(&PostParams::default(), &foo("c", 4))
        .await
        .expect("create");
    let status = eventually(WAIT, POLL, "status.observed = 4", || {
        let foos = foos.clone();
        async move {
            let f = foos.get("c").await.ok()?;
            f.status.filter(|s| s.observed == 4)
        }
    })
    .await;
    assert_eq!(status.message.as_deref(), Some("reconciled"));
    // A spec change is reconciled again.
    foos.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 9}})),
    )
    .await
    .expect("patch");
    eventually(WAIT, POLL, "status.observed = 9", || {
        let foos = foos.clone();
        async move {
            let f = foos.get("c").await.ok()?;
            f.status.filter(|s| s.observed == 9)
        }
    })
    .await;
    controller.abort();
}

// ---- discovery ----------------------------------------------------------------

#[tokio::test]
async fn discovery_finds_the_kind() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    assert!(discovery.has_group("kube.example.com"));
    let gvk = GroupVersionKind::gvk("kube.example.com", "v1", "Foo");
    let (ar, caps) = discovery.resolve_gvk(&gvk).expect("Foo discovered");
    assert_eq!(ar.plural, "foos");
    assert_eq!(ar.api_version, "kube.example.com/v1");
    assert_eq!(caps.scope, Scope::Namespaced);
    let mut subs: Vec<&str> = caps
        .subresources
        .iter()
        .map(|(r, _)| r.plural.as_str())
        .collect();
    subs.sort();
    assert_eq!(subs, ["scale", "status"]);
    let group = discovery.get("kube.example.com").expect("group");
    assert_eq!(group.preferred_version_or_latest(), "v1");

    // Dynamic objects through the discovered resource.
    let dynamic: Api<DynamicObject> = Api::default_namespaced_with(client.clone(), &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kube.example.com/v1", "kind": "Foo",
        "metadata": {"name": "dyn"}, "spec": {"size": 1},
    }))
    .expect("dynamic object");
    let created = dynamic
        .create(&PostParams::default(), &obj)
        .await
        .expect("create dynamic");
    assert_eq!(created.data["spec"]["size"], 1);
    let typed: Api<Foo> = Api::default_namespaced(client);
    assert_eq!(typed.get("dyn").await.expect("typed get").spec.size, 1);
}

// ---- versions -------------------------------------------------------------------

fn crontab_crd_path() -> String {
    format!(
        "{}/tests/data/crds/crontab-crd.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn crontabs_at(client: &kube::Client, version: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("stable.example.com", version, "CronTab");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "crontabs");
    Api::default_namespaced_with(client.clone(), &ar)
}

fn crontab(api_version: &str, name: &str, replicas: i64) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": api_version, "kind": "CronTab",
        "metadata": {"name": name},
        "spec": {"cronSpec": "* * * * *", "replicas": replicas},
    }))
    .expect("dynamic object")
}

#[tokio::test]
async fn versions_convert_with_none_strategy() {
    let s = server();
    s.kubectl_ok(&["apply", "-f", &crontab_crd_path()]);
    let client = s.client().await;
    established(&client, "crontabs.stable.example.com").await;
    let v1 = crontabs_at(&client, "v1");
    let beta = crontabs_at(&client, "v1beta1");
    let made = beta
        .create(
            &PostParams::default(),
            &crontab("stable.example.com/v1beta1", "from-beta", 1),
        )
        .await
        .expect("create v1beta1");
    assert_eq!(
        made.types.as_ref().map(|t| t.api_version.as_str()),
        Some("stable.example.com/v1beta1")
    );
    let read = v1.get("from-beta").await.expect("get v1");
    assert_eq!(
        read.types.as_ref().map(|t| t.api_version.as_str()),
        Some("stable.example.com/v1")
    );
    assert_eq!(read.data["spec"]["replicas"], 1);
    assert_eq!(read.metadata.uid, made.metadata.uid);

    v1.create(
        &PostParams::default(),
        &crontab("stable.example.com/v1", "from-v1", 2),
    )
    .await
    .expect("create v1");
    let read = beta.get("from-v1").await.expect("get v1beta1");
    assert_eq!(
        read.types.as_ref().map(|t| t.api_version.as_str()),
        Some("stable.example.com/v1beta1")
    );
    let list = beta.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 2);
    // A watch through v1beta1 sees objects as v1beta1 (a watch from "0"
    // starts with the existing objects).
    let mut events = beta
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    let mut watched = Vec::new();
    while watched.len() < 2 {
        let event = tokio::time::timeout(WAIT, events.try_next())
            .await
            .expect("watch event in time")
            .expect("watch")
            .expect("watch open");
        if let WatchEvent::Added(obj) = event {
            watched.push((
                obj.name_any(),
                obj.types.map(|t| t.api_version).unwrap_or_default(),
            ));
        }
    }
    watched.sort();
    assert_eq!(
        watched,
        [
            (
                "from-beta".to_string(),
                "stable.example.com/v1beta1".to_string()
            ),
            (
                "from-v1".to_string(),
                "stable.example.com/v1beta1".to_string()
            )
        ]
    );
    // Updates through one version are seen through the other.
    let mut obj = beta.get("from-v1").await.expect("get v1beta1");
    obj.data["spec"]["replicas"] = json!(4);
    beta.replace("from-v1", &PostParams::default(), &obj)
        .await
        .expect("replace v1beta1");
    assert_eq!(
        v1.get("from-v1").await.expect("get").data["spec"]["replicas"],
        4
    );
    // A body whose apiVersion is another version of the kind is refused.
    let wrong = v1
        .create(
            &PostParams::default(),
            &crontab("stable.example.com/v1beta1", "wrong", 1),
        )
        .await;
    let status = api_error(wrong.expect_err("mismatched apiVersion"));
    assert_eq!(status.code, 400, "{status:?}");
    // An unserved version is not found.
    let alpha = crontabs_at(&client, "v1alpha1");
    let err = api_error(alpha.get("from-v1").await.expect_err("unserved"));
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn patch_through_a_non_storage_version() {
    let s = server();
    s.kubectl_ok(&["apply", "-f", &crontab_crd_path()]);
    let client = s.client().await;
    established(&client, "crontabs.stable.example.com").await;
    let v1 = crontabs_at(&client, "v1");
    let beta = crontabs_at(&client, "v1beta1");
    v1.create(
        &PostParams::default(),
        &crontab("stable.example.com/v1", "p", 2),
    )
    .await
    .expect("create v1");
    let patched = beta
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("merge patch through v1beta1");
    assert_eq!(
        patched.types.as_ref().map(|t| t.api_version.as_str()),
        Some("stable.example.com/v1beta1")
    );
    beta.patch(
        "p",
        &PatchParams::default(),
        &Patch::Json::<()>(
            serde_json::from_value(
                json!([{"op": "replace", "path": "/spec/replicas", "value": 6}]),
            )
            .expect("json patch"),
        ),
    )
    .await
    .expect("json patch through v1beta1");
    assert_eq!(v1.get("p").await.expect("get").data["spec"]["replicas"], 6);
}

#[tokio::test]
async fn custom_list_items_carry_api_version_and_kind() {
    let s = server();
    s.kubectl_ok(&["apply", "-f", &crontab_crd_path()]);
    let client = s.client().await;
    established(&client, "crontabs.stable.example.com").await;
    let v1 = crontabs_at(&client, "v1");
    for name in ["a", "b"] {
        v1.create(
            &PostParams::default(),
            &crontab("stable.example.com/v1", name, 1),
        )
        .await
        .expect("create");
    }
    // Listed through v1beta1: v1beta1 on the list and on every item.
    let (code, body) = get_raw(
        &client,
        "/apis/stable.example.com/v1beta1/namespaces/default/crontabs",
    )
    .await
    .expect("list");
    assert_eq!(code, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(list["apiVersion"], "stable.example.com/v1beta1");
    assert_eq!(list["kind"], "CronTabList");
    for item in list["items"].as_array().expect("items") {
        assert_eq!(item["apiVersion"], "stable.example.com/v1beta1", "{item}");
        assert_eq!(item["kind"], "CronTab", "{item}");
    }
}

// ---- OpenAPI ------------------------------------------------------------------

#[tokio::test]
async fn openapi_documents_include_the_schema() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;

    let (code, body) = get_raw(&client, "/openapi/v3").await.expect("v3 index");
    assert_eq!(code, 200, "{body}");
    let index: Value = serde_json::from_str(&body).expect("json");
    let url = index["paths"]["apis/kube.example.com/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("no apis/kube.example.com/v1 in {index:#}"))
        .to_string();
    assert!(
        url.starts_with("/openapi/v3/apis/kube.example.com/v1?hash="),
        "{url}"
    );
    let (code, body) = get_raw(&client, &url).await.expect("v3 doc");
    assert_eq!(code, 200);
    let doc: Value = serde_json::from_str(&body).expect("json");
    let schema = &doc["components"]["schemas"]["com.example.kube.v1.Foo"];
    assert_eq!(
        schema["x-kubernetes-group-version-kind"],
        json!([{"group": "kube.example.com", "kind": "Foo", "version": "v1"}]),
        "{schema:#}"
    );
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["properties"]["spec"]["properties"]["size"]["description"],
        "How many copies run."
    );
    // v3 wraps a $ref with siblings in allOf, as kube-apiserver does.
    assert_eq!(
        schema["properties"]["metadata"]["allOf"],
        json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
    );
    let list = &doc["components"]["schemas"]["com.example.kube.v1.FooList"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"],
        json!([{"group": "kube.example.com", "kind": "FooList", "version": "v1"}])
    );
    assert!(
        doc["paths"]["/apis/kube.example.com/v1/namespaces/{namespace}/foos/{name}"].is_object(),
        "{:#}",
        doc["paths"]
    );
    assert!(
        doc["paths"]["/apis/kube.example.com/v1/namespaces/{namespace}/foos/{name}/status"]
            .is_object()
    );
    assert!(
        doc["paths"]["/apis/kube.example.com/v1/namespaces/{namespace}/foos/{name}/scale"]
            .is_object()
    );

    let (code, body) = get_raw(&client, "/openapi/v2").await.expect("v2");
    assert_eq!(code, 200);
    let v2: Value = serde_json::from_str(&body).expect("json");
    let def = &v2["definitions"]["com.example.kube.v1.Foo"];
    assert_eq!(
        def["x-kubernetes-group-version-kind"],
        json!([{"group": "kube.example.com", "kind": "Foo", "version": "v1"}]),
        "{def:#}"
    );
    assert_eq!(
        def["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(v2["paths"]["/apis/kube.example.com/v1/namespaces/{namespace}/foos"].is_object());

    // Deleting the CRD takes it out of the documents.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete(FOOS_CRD, &DeleteParams::default())
        .await
        .expect("delete CRD");
    eventually(WAIT, POLL, "the group to leave /openapi/v3", || {
        let client = client.clone();
        async move {
            let (_, body) = get_raw(&client, "/openapi/v3").await.ok()?;
            let index: Value = serde_json::from_str(&body).ok()?;
            index["paths"]
                .get("apis/kube.example.com/v1")
                .is_none()
                .then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn openapi_v2_gets_the_swagger_compatible_schema() {
    let s = server();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "shapes.v2.example.com"},
        "spec": {"group": "v2.example.com", "scope": "Namespaced",
                 "names": {"plural": "shapes", "kind": "Shape"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                       "type": "object", "required": ["a"],
                       "properties": {
                           "a": {"type": "string", "nullable": true},
                           "b": {"x-kubernetes-int-or-string": true,
                                 "anyOf": [{"type": "integer"}, {"type": "string"}]},
                           "c": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                 "properties": {"d": {"type": "string"}}},
                       }}}}}}]},
    });
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(crd).expect("crd"),
    )
    .await
    .expect("create CRD");
    established(&client, "shapes.v2.example.com").await;
    let (_, body) = get_raw(&client, "/openapi/v2").await.expect("v2");
    let v2: Value = serde_json::from_str(&body).expect("json");
    let spec = &v2["definitions"]["com.example.v2.v1.Shape"]["properties"]["spec"];
    assert!(spec["properties"]["a"].get("type").is_none(), "{spec:#}");
    assert!(
        spec["properties"]["a"].get("nullable").is_none(),
        "{spec:#}"
    );
    assert!(spec["properties"]["b"].get("anyOf").is_none(), "{spec:#}");
    assert_eq!(spec["properties"]["b"]["x-kubernetes-int-or-string"], true);
    assert!(
        spec["properties"]["c"].get("properties").is_none(),
        "{spec:#}"
    );
    assert!(spec.get("required").is_none(), "{spec:#}");
    // v3 keeps the schema as written.
    let (_, body) = get_raw(&client, "/openapi/v3").await.expect("v3 index");
    let index: Value = serde_json::from_str(&body).expect("json");
    let url = index["paths"]["apis/v2.example.com/v1"]["serverRelativeURL"]
        .as_str()
        .expect("url")
        .to_string();
    let (_, body) = get_raw(&client, &url).await.expect("v3");
    let v3: Value = serde_json::from_str(&body).expect("json");
    let spec = &v3["components"]["schemas"]["com.example.v2.v1.Shape"]["properties"]["spec"];
    assert_eq!(spec["properties"]["a"]["nullable"], true, "{spec:#}");
    assert!(spec["properties"]["b"]["anyOf"].is_array(), "{spec:#}");
}

#[tokio::test]
async fn crd_create_and_delete_through_the_client() {
    let s = server();
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    install_foo(&client).await;
    let crd = crds.get(FOOS_CRD).await.expect("get CRD");
    let status = crd.status.expect("status");
    let names = status.accepted_names.expect("acceptedNames");
    assert_eq!(names.plural, "foos");
    assert_eq!(names.kind, "Foo");
    assert_eq!(names.short_names, Some(vec!["fo".to_string()]));
    assert_eq!(status.stored_versions, Some(vec!["v1".to_string()]));

    // A CRD whose name does not match its names is invalid.
    let mut bad = Foo::crd();
    bad.metadata.name = Some("wrong.kube.example.com".into());
    let err = api_error(
        crds.create(&PostParams::default(), &bad)
            .await
            .expect_err("bad name"),
    );
    assert_eq!(err.code, 422, "{err:?}");
    assert_eq!(err.reason, "Invalid");
    assert!(
        err.message.contains(
            "metadata.name: Invalid value: \"wrong.kube.example.com\": must be spec.names.plural+\".\"+spec.group"
        ),
        "{}",
        err.message
    );

    let foos: Api<Foo> = Api::default_namespaced(client.clone());
    foos.create(&PostParams::default(), &foo("x", 1))
        .await
        .expect("create");
    crds.delete(FOOS_CRD, &DeleteParams::default())
        .await
        .expect("delete CRD");
    eventually(WAIT, POLL, "the CRD to go", || {
        let crds = crds.clone();
        async move { crds.get_opt(FOOS_CRD).await.ok()?.is_none().then_some(()) }
    })
    .await;
    let (code, _) = request(
        &client,
        "GET",
        "/apis/kube.example.com/v1/namespaces/default/foos",
        None,
        Vec::new(),
    )
    .await
    .expect("request");
    assert_eq!(code, 404);
}

#[tokio::test]
async fn delete_collection_honours_label_selectors() {
    let s = server();
    let client = s.client().await;
    install_foo(&client).await;
    let foos: Api<Foo> = Api::default_namespaced(client.clone());
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        let mut f = foo(name, 1);
        f.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        foos.create(&PostParams::default(), &f)
            .await
            .expect("create");
    }
    foos.delete_collection(
        &kube::api::DeleteParams::default(),
        &kube::api::ListParams::default().labels("tier=web"),
    )
    .await
    .expect("deletecollection");
    let left: Vec<String> = foos
        .list(&kube::api::ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|f| f.name_any())
        .collect();
    assert_eq!(left, ["c"]);
}
