//! The example operator of the README: a `Website` custom resource (its CRD
//! derived with kube's `CustomResource`) reconciled into a Deployment by a
//! kube-runtime `Controller`, hosted by an in-process ferrokube with the
//! built-in Deployment, ReplicaSet, scheduler, node and garbage-collector
//! controllers, so the whole loop (CRD installed through the API, pods
//! Running, status reported back, cascade on delete) runs in the test.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use apiserver::testenv::TestEnv;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{conditions, wait::await_condition, watcher, Controller};
use kube::{CustomResource, CustomResourceExt, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a user asks for: `replicas` copies of `image`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "example.ferrokube.io",
    version = "v1",
    kind = "Website",
    namespaced,
    status = "WebsiteStatus",
    shortname = "ws",
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas"}"#
)]
pub struct WebsiteSpec {
    pub image: String,
    pub replicas: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteStatus {
    pub ready_replicas: i32,
}

fn deployment_for(site: &Website) -> Deployment {
    let labels: BTreeMap<String, String> = [("website".to_string(), site.name_any())].into();
    Deployment {
        metadata: ObjectMeta {
            name: Some(site.name_any()),
            owner_references: Some(vec![site.controller_owner_ref(&()).unwrap()]),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(site.spec.replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "web".into(),
                        image: Some(site.spec.image.clone()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One reconcile: apply the Deployment, report its ready replicas.
async fn reconcile(site: Arc<Website>, client: Arc<kube::Client>) -> Result<Action, kube::Error> {
    let ns = site.namespace().unwrap_or_default();
    let deployments: Api<Deployment> = Api::namespaced((*client).clone(), &ns);
    let applied = deployments
        .patch(
            &site.name_any(),
            &PatchParams::apply("website-operator").force(),
            &Patch::Apply(&deployment_for(&site)),
        )
        .await?;
    let ready = applied.status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let sites: Api<Website> = Api::namespaced((*client).clone(), &ns);
    sites
        .patch_status(
            &site.name_any(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"status": {"readyReplicas": ready}})),
        )
        .await?;
    Ok(Action::await_change())
}

/// The operator: Websites, and the Deployments they own.
async fn website_operator(ctx: Arc<controllers::Context>) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    Controller::new(
        Api::<Website>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<Deployment>::all(client.clone()),
        watcher::Config::default(),
    )
    .run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_millis(200)),
        Arc::new(client),
    )
    .for_each(|_| async {})
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_operator_reconciles_its_own_custom_resource() {
    let env = TestEnv::builder()
        .controllers(&[
            "deployment",
            "replicaset",
            "scheduler",
            "nodes",
            "garbagecollector",
        ])
        .nodes(2)
        .controller("website", website_operator)
        .start()
        .await
        .unwrap();
    let client = env.client();

    // Install the CRD through the API and wait until it is served.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Website::crd())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(
            crds,
            "websites.example.ferrokube.io",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("the CRD was never established")
    .unwrap();

    let sites: Api<Website> = Api::namespaced(client.clone(), "default");
    let site = Website::new(
        "shop",
        WebsiteSpec {
            image: "nginx:1.27".into(),
            replicas: 2,
        },
    );
    // The kind may reach the catalog a moment after Established is written.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match sites.create(&PostParams::default(), &site).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("create not served yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("Website never created: {e}"),
        }
    }

    // The operator creates the Deployment; the built-ins run its pods; the
    // operator reports them ready.
    loop {
        let s = sites.get_status("shop").await.unwrap();
        if s.status.as_ref().map(|s| s.ready_replicas) == Some(2) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never reached 2 ready replicas: {:?}",
            s.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = deployments.get("shop").await.unwrap();
    assert_eq!(d.owner_references()[0].kind, "Website");
    assert_eq!(d.spec.unwrap().replicas, Some(2));

    // Deleting the Website cascades to its Deployment (garbage collector).
    sites.delete("shop", &Default::default()).await.unwrap();
    loop {
        if deployments.get_opt("shop").await.unwrap().is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Deployment outlived its Website"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.stop().await;
}
