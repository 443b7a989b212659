//! kube::runtime against the real binary: streaming-list watchers, reflector
//! stores, metadata watchers and a Controller that owns ConfigMaps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use conformance::Server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Resource, ResourceExt};

/// Upper bound for any single wait in this file.
const WAIT: Duration = Duration::from_secs(20);

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
            }
        }
    }))
    .expect("deployment JSON")
}

/// Poll `check` every 50 ms until it is true, for at most `WAIT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let check = move || {
        let fut = check();
        async move { fut.await.then_some(()) }
    };
    conformance::eventually(WAIT, Duration::from_millis(50), what, check).await
}

/// The next watch event, within `WAIT`.
async fn next<K>(
    stream: &mut (impl futures::Stream<Item = Result<Event<K>, watcher::Error>> + Unpin),
) -> Event<K> {
    tokio::time::timeout(WAIT, stream.try_next())
        .await
        .expect("watch event in time")
        .expect("watcher ok")
        .expect("stream not ended")
}

// ---- watcher ---------------------------------------------------------------

#[tokio::test]
async fn streaming_list_watcher_sees_init_then_changes() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    cms.create(&PostParams::default(), &configmap("before", &[("k", "v")]))
        .await
        .expect("create before");

    let mut stream = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    // The initial state: Init, one InitApply per existing object, InitDone.
    assert!(matches!(next(&mut stream).await, Event::Init));
    let mut initial = Vec::new();
    loop {
        match next(&mut stream).await {
            Event::InitApply(cm) => initial.push(cm.name_any()),
            Event::InitDone => break,
            other => panic!("unexpected event during init: {other:?}"),
        }
    }
    assert!(initial.contains(&"before".to_string()), "{initial:?}");
    assert!(
        initial
            .iter()
            .all(|n| n == "before" || n == "kube-root-ca.crt"),
        "{initial:?}"
    );

    cms.create(&PostParams::default(), &configmap("after", &[("k", "v")]))
        .await
        .expect("create after");
    match next(&mut stream).await {
        Event::Apply(cm) => {
            assert_eq!(cm.name_any(), "after");
            assert_eq!(cm.data.unwrap_or_default()["k"], "v");
        }
        other => panic!("expected Apply(after), got {other:?}"),
    }

    cms.delete("before", &DeleteParams::default())
        .await
        .expect("delete before");
    match next(&mut stream).await {
        Event::Delete(cm) => assert_eq!(cm.name_any(), "before"),
        other => panic!("expected Delete(before), got {other:?}"),
    }
}

// ---- reflector -------------------------------------------------------------

#[tokio::test]
async fn reflector_store_tracks_creates_and_deletes() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector::reflector(writer, watcher(cms.clone(), watcher::Config::default()))
        .applied_objects();
    let driver = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    tokio::time::timeout(WAIT, reader.wait_until_ready())
        .await
        .expect("store ready in time")
        .expect("writer alive");

    for name in ["one", "two", "three"] {
        cms.create(&PostParams::default(), &configmap(name, &[("n", name)]))
            .await
            .expect("create");
    }
    let key = |name: &str| ObjectRef::<ConfigMap>::new(name).within("default");
    eventually("three objects in the store", || {
        let ok = ["one", "two", "three"]
            .iter()
            .all(|n| reader.get(&key(n)).is_some());
        async move { ok }
    })
    .await;
    let two = reader.get(&key("two")).expect("two cached");
    assert_eq!(two.data.as_ref().expect("data")["n"], "two");

    cms.delete("two", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("two dropped from the store", || {
        let gone = reader.get(&key("two")).is_none();
        async move { gone }
    })
    .await;
    assert!(reader.get(&key("one")).is_some());
    assert!(reader.get(&key("three")).is_some());
    let mut names: Vec<String> = reader
        .state()
        .iter()
        .map(|cm| cm.name_any())
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    names.sort();
    assert_eq!(names, ["one", "three"]);
    driver.abort();
}

// ---- metadata watcher ------------------------------------------------------

async fn metadata_flow<S>(cms: Api<ConfigMap>, stream: S)
where
    S: futures::Stream<Item = Result<Event<PartialObjectMeta<ConfigMap>>, watcher::Error>>
        + Send
        + 'static,
{
    let mut stream = stream.applied_objects().boxed();
    let mut wanted = configmap("meta", &[("secret-ish", "payload")]);
    wanted.metadata.labels = Some([("tier".to_string(), "x".to_string())].into());
    cms.create(&PostParams::default(), &wanted)
        .await
        .expect("create");

    let found: PartialObjectMeta<ConfigMap> = tokio::time::timeout(WAIT, async {
        loop {
            let obj = stream
                .try_next()
                .await
                .expect("metadata watcher ok")
                .expect("stream not ended");
            if obj.name_any() == "meta" {
                return obj;
            }
        }
    })
    .await
    .expect("meta seen in time");
    assert_eq!(found.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(found.labels()["tier"], "x");
    assert!(found.metadata.uid.is_some());
    assert!(found.metadata.resource_version.is_some());
    let types = found.types.expect("typemeta");
    assert_eq!(types.kind, "PartialObjectMetadata");
    assert_eq!(types.api_version, "meta.k8s.io/v1");
}

/// The (deprecated but still shipped) `metadata_watcher` entry point.
#[tokio::test]
#[allow(deprecated)]
async fn metadata_watcher_sees_partial_object_metadata() {
    let s = Server::start();
    let cms: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let stream = kube::runtime::metadata_watcher(cms.clone(), watcher::Config::default());
    metadata_flow(cms, stream).await;
}

/// Its replacement: `watcher` over `Api<PartialObjectMeta<K>>`.
#[tokio::test]
async fn partial_object_meta_api_watcher_sees_metadata() {
    let s = Server::start();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let metas: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(client, "default");
    let stream = watcher(metas, watcher::Config::default());
    metadata_flow(cms, stream).await;
}

// ---- controller ------------------------------------------------------------

struct Ctx {
    configmaps: Api<ConfigMap>,
    reconciles: AtomicUsize,
}

const OWNED_SUFFIX: &str = "-config";

/// Make sure `<deployment>-config` exists with `owner: <deployment>`, owned
/// (controller: true) by the deployment.
async fn reconcile(dep: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let name = dep.name_any();
    let mut cm = configmap(&format!("{name}{OWNED_SUFFIX}"), &[("owner", &name)]);
    cm.metadata.owner_references = Some(vec![dep
        .controller_owner_ref(&())
        .expect("deployment has name and uid")]);
    cm.metadata.resource_version = None;
    let existing = ctx.configmaps.get_opt(&cm.name_any()).await?;
    match existing {
        None => {
            ctx.configmaps.create(&PostParams::default(), &cm).await?;
        }
        Some(current) if current.data != cm.data => {
            let patch = serde_json::json!({"data": cm.data});
            ctx.configmaps
                .patch(
                    &cm.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}

fn error_policy(_dep: Arc<Deployment>, _err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test]
async fn controller_reconciles_owner_when_owned_configmap_changes() {
    let s = Server::start();
    let client = s.client().await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let ctx = Arc::new(Ctx {
        configmaps: cms.clone(),
        reconciles: AtomicUsize::new(0),
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = Controller::new(deps.clone(), watcher::Config::default())
        .owns(cms.clone(), watcher::Config::default())
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let running = tokio::spawn(controller);

    let dep = deps
        .create(&PostParams::default(), &deployment("web"))
        .await
        .expect("create deployment");
    let owned_name = format!("web{OWNED_SUFFIX}");

    // 1. The reconciler creates the owned ConfigMap.
    let cms2 = cms.clone();
    let name2 = owned_name.clone();
    eventually("owned configmap created", || {
        let cms = cms2.clone();
        let name = name2.clone();
        async move { cms.get_opt(&name).await.ok().flatten().is_some() }
    })
    .await;
    let owned = cms.get(&owned_name).await.expect("owned configmap");
    let refs = owned.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].kind, "Deployment");
    assert_eq!(refs[0].api_version, "apps/v1");
    assert_eq!(refs[0].name, "web");
    assert_eq!(Some(&refs[0].uid), dep.meta().uid.as_ref());
    assert_eq!(refs[0].controller, Some(true));
    assert_eq!(owned.data.as_ref().expect("data")["owner"], "web");

    // 2. Changing the owned ConfigMap reconciles the deployment, which puts
    // the value back.
    let before = ctx.reconciles.load(Ordering::SeqCst);
    assert!(before >= 1);
    cms.patch(
        &owned_name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"owner": "tampered"}})),
    )
    .await
    .expect("tamper");
    let (cms2, name2) = (cms.clone(), owned_name.clone());
    eventually("reconcile restores the value", || {
        let (cms, name) = (cms2.clone(), name2.clone());
        async move {
            match cms.get_opt(&name).await {
                Ok(Some(cm)) => cm.data.unwrap_or_default().get("owner") == Some(&"web".into()),
                _ => false,
            }
        }
    })
    .await;
    assert!(ctx.reconciles.load(Ordering::SeqCst) > before);

    // 3. Deleting the owned ConfigMap reconciles again and recreates it.
    let before = ctx.reconciles.load(Ordering::SeqCst);
    let old_uid = cms
        .get(&owned_name)
        .await
        .expect("owned")
        .metadata
        .uid
        .expect("uid");
    cms.delete(&owned_name, &DeleteParams::default())
        .await
        .expect("delete owned");
    let (cms2, name2) = (cms.clone(), owned_name.clone());
    let old2 = old_uid.clone();
    eventually("owned configmap recreated", || {
        let (cms, name, old) = (cms2.clone(), name2.clone(), old2.clone());
        async move {
            match cms.get_opt(&name).await {
                Ok(Some(cm)) => cm.metadata.uid.as_ref() != Some(&old),
                _ => false,
            }
        }
    })
    .await;
    assert!(ctx.reconciles.load(Ordering::SeqCst) > before);

    // 4. Shut the controller down; its stream ends.
    let _ = stop_tx.send(());
    tokio::time::timeout(WAIT, running)
        .await
        .expect("controller stops in time")
        .expect("controller task");
}
