//! The in-process environment operator authors use in their tests: a user
//! reconciler runs beside the built-in controllers and sees the real API.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use apiserver::testenv::TestEnv;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{watcher, Controller};
use kube::ResourceExt;

/// The example reconciler: every ConfigMap labelled `mirror=yes` gets a
/// `<name>-mirror` copy of its data, owned by it.
async fn mirror(ctx: Arc<controllers::Context>) -> anyhow::Result<()> {
    let api: Api<ConfigMap> = Api::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default().labels("mirror=yes"))
        .run(
            |cm: Arc<ConfigMap>, client: Arc<kube::Client>| async move {
                let ns = cm.namespace().unwrap_or_default();
                let api: Api<ConfigMap> = Api::namespaced((*client).clone(), &ns);
                let copy = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(format!("{}-mirror", cm.name_any())),
                        owner_references: Some(vec![kube::Resource::controller_owner_ref(
                            &*cm,
                            &(),
                        )
                        .unwrap()]),
                        ..Default::default()
                    },
                    data: cm.data.clone(),
                    ..Default::default()
                };
                api.patch(
                    &format!("{}-mirror", cm.name_any()),
                    &PatchParams::apply("mirror").force(),
                    &Patch::Apply(&copy),
                )
                .await?;
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_, _, _| Action::requeue(Duration::from_millis(200)),
            Arc::new(ctx.client.clone()),
        )
        .for_each(|_| async {})
        .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reconciler_runs_in_process_beside_the_builtins() {
    let env = TestEnv::builder()
        .controllers(&[])
        .nodes(0)
        .controller("mirror", mirror)
        .start()
        .await
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(env.client(), "default");
    let mut cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            labels: Some([("mirror".to_string(), "yes".to_string())].into()),
            ..Default::default()
        },
        data: Some([("a".to_string(), "1".to_string())].into()),
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = api.get_opt("settings-mirror").await.unwrap() {
            assert_eq!(m.data, cm.data);
            assert_eq!(m.owner_references()[0].name, "settings");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mirror was never created"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A change to the source reaches the copy.
    cm.data = Some([("a".to_string(), "2".to_string())].into());
    api.patch("settings", &PatchParams::default(), &Patch::Merge(&cm))
        .await
        .unwrap();
    loop {
        let m = api.get("settings-mirror").await.unwrap();
        if m.data == cm.data {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mirror never followed: {:?}",
            m.data
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.stop().await;
}
