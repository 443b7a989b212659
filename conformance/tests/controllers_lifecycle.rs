//! Object lifecycle controllers against the real binary: the garbage
//! collector (kubectl delete --cascade=background/foreground/orphan), the
//! namespace controller (kubectl delete namespace of a full namespace) and
//! the per-namespace `default` ServiceAccount and `kube-root-ca.crt`.

use std::time::Duration;

use conformance::Server;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

/// Upper bound for any single wait in this file.
const WAIT: Duration = Duration::from_secs(30);
const HOLD: &str = "example.com/hold";

fn start() -> Server {
    Server::start_with(&[
        "--controllers",
        "garbagecollector,namespace,serviceaccount,root-ca-cert-publisher",
        "--nodes",
        "0",
    ])
    .unwrap_or_else(|e| panic!("ferrokube did not start: {e:#}"))
}

/// Poll `check` every 100 ms until it is true, for at most `WAIT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let check = move || {
        let fut = check();
        async move { fut.await.then_some(()) }
    };
    conformance::eventually(WAIT, Duration::from_millis(100), what, check).await
}

fn owner_ref<K: Resource<DynamicType = ()>>(owner: &K, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into(),
        kind: K::kind(&()).into(),
        name: owner.name_any(),
        uid: owner.uid().expect("created objects have a uid"),
        controller: None,
        block_owner_deletion: Some(block),
    }
}

fn meta(name: &str, owners: Vec<OwnerReference>, finalizers: &[&str]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        owner_references: (!owners.is_empty()).then_some(owners),
        finalizers: (!finalizers.is_empty())
            .then(|| finalizers.iter().map(|f| f.to_string()).collect()),
        ..Default::default()
    }
}

async fn configmap(api: &Api<ConfigMap>, name: &str, owners: Vec<OwnerReference>) -> ConfigMap {
    let cm = ConfigMap {
        metadata: meta(name, owners, &[]),
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm)
        .await
        .unwrap_or_else(|e| panic!("create configmap {name}: {e}"))
}

async fn secret(
    api: &Api<Secret>,
    name: &str,
    owners: Vec<OwnerReference>,
    finalizers: &[&str],
) -> Secret {
    let s = Secret {
        metadata: meta(name, owners, finalizers),
        ..Default::default()
    };
    api.create(&PostParams::default(), &s)
        .await
        .unwrap_or_else(|e| panic!("create secret {name}: {e}"))
}

async fn gone<K>(api: &Api<K>, name: &str) -> bool
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    matches!(api.get_opt(name).await, Ok(None))
}

async fn ns_api<K>(client: &Client, ns: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), ns)
}

async fn create_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: meta(name, vec![], &[]),
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
}

fn owner_uids<K: Resource>(obj: &K) -> Vec<String> {
    obj.meta()
        .owner_references
        .iter()
        .flatten()
        .map(|r| r.uid.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_cascade_deletes_dependents_and_detaches_shared_ones() {
    let server = start();
    let client = server.client().await;
    create_namespace(&client, "bg").await;
    let cms: Api<ConfigMap> = ns_api(&client, "bg").await;
    let secrets: Api<Secret> = ns_api(&client, "bg").await;

    let owner = configmap(&cms, "owner", vec![]).await;
    let other = configmap(&cms, "other", vec![]).await;
    configmap(&cms, "dep-cm", vec![owner_ref(&owner, true)]).await;
    secret(&secrets, "dep-secret", vec![owner_ref(&owner, false)], &[]).await;
    configmap(
        &cms,
        "shared",
        vec![owner_ref(&owner, true), owner_ref(&other, false)],
    )
    .await;

    server.kubectl_ok(&[
        "delete",
        "-n",
        "bg",
        "configmap",
        "owner",
        "--cascade=background",
    ]);

    eventually("background dependents to be deleted", || async {
        gone(&cms, "dep-cm").await && gone(&secrets, "dep-secret").await
    })
    .await;
    eventually(
        "the shared dependent to lose its dangling reference",
        || async {
            let shared = cms.get("shared").await.expect("shared stays");
            owner_uids(&shared) == vec![other.uid().expect("uid")]
        },
    )
    .await;
    // The surviving owner keeps it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cms.get_opt("shared").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_of_owners_that_never_existed_are_collected() {
    let server = start();
    let client = server.client().await;
    let cms: Api<ConfigMap> = ns_api(&client, "default").await;
    let keeper = configmap(&cms, "keeper", vec![]).await;
    let ghost = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "ghost".into(),
        uid: "00000000-0000-0000-0000-000000000001".into(),
        ..Default::default()
    };
    // An owner of the same name but another uid is not the owner.
    configmap(&cms, "ghost", vec![]).await;
    configmap(&cms, "orphaned", vec![ghost.clone()]).await;
    configmap(&cms, "kept", vec![ghost, owner_ref(&keeper, false)]).await;
    // An owner of a kind the server does not serve cannot be checked: kept.
    let alien = OwnerReference {
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        name: "w".into(),
        uid: "00000000-0000-0000-0000-000000000002".into(),
        ..Default::default()
    };
    configmap(&cms, "alien", vec![alien]).await;

    eventually("the dependent of a missing owner to be deleted", || async {
        gone(&cms, "orphaned").await
    })
    .await;
    eventually("the dangling reference to be removed", || async {
        let kept = cms.get("kept").await.expect("kept stays");
        owner_uids(&kept) == vec![keeper.uid().expect("uid")]
    })
    .await;
    assert!(cms.get_opt("ghost").await.expect("get").is_some());
    let alien = cms.get("alien").await.expect("alien stays");
    assert_eq!(owner_uids(&alien).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_in_another_namespace_counts_as_absent() {
    let server = start();
    let client = server.client().await;
    create_namespace(&client, "elsewhere").await;
    let there: Api<ConfigMap> = ns_api(&client, "elsewhere").await;
    let here: Api<ConfigMap> = ns_api(&client, "default").await;
    let boss = configmap(&there, "boss", vec![]).await;
    configmap(&here, "stray", vec![owner_ref(&boss, false)]).await;

    eventually(
        "the dependent of a cross-namespace owner to be deleted",
        || async { gone(&here, "stray").await },
    )
    .await;
    assert!(there.get_opt("boss").await.expect("get").is_some());
    let events: Api<k8s_openapi::api::core::v1::Event> = ns_api(&client, "default").await;
    eventually("an OwnerRefInvalidNamespace warning", || async {
        events
            .list(&Default::default())
            .await
            .map(|l| {
                l.items.iter().any(|e| {
                    e.reason.as_deref() == Some("OwnerRefInvalidNamespace")
                        && e.type_.as_deref() == Some("Warning")
                        && e.involved_object.name.as_deref() == Some("stray")
                })
            })
            .unwrap_or(false)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_cascade_keeps_dependents_without_the_reference() {
    let server = start();
    let client = server.client().await;
    let cms: Api<ConfigMap> = ns_api(&client, "default").await;
    let secrets: Api<Secret> = ns_api(&client, "default").await;
    let owner = configmap(&cms, "owner", vec![]).await;
    let other = configmap(&cms, "other", vec![]).await;
    configmap(&cms, "dep-cm", vec![owner_ref(&owner, true)]).await;
    secret(
        &secrets,
        "dep-secret",
        vec![owner_ref(&owner, true), owner_ref(&other, true)],
        &[],
    )
    .await;

    // kubectl waits until the owner is gone, i.e. the `orphan` finalizer
    // was processed.
    server.kubectl_ok(&[
        "delete",
        "configmap",
        "owner",
        "--cascade=orphan",
        "--timeout=60s",
    ]);
    assert!(gone(&cms, "owner").await);
    let dep = cms.get("dep-cm").await.expect("orphaned configmap stays");
    assert!(
        owner_uids(&dep).is_empty(),
        "{:?}",
        dep.metadata.owner_references
    );
    let dep = secrets
        .get("dep-secret")
        .await
        .expect("orphaned secret stays");
    assert_eq!(owner_uids(&dep), vec![other.uid().expect("uid")]);
    // And nothing collects them afterwards.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cms.get_opt("dep-cm").await.expect("get").is_some());
    assert!(secrets.get_opt("dep-secret").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_cascade_waits_for_blocking_dependents() {
    let server = start();
    let client = server.client().await;
    let cms: Api<ConfigMap> = ns_api(&client, "default").await;
    let secrets: Api<Secret> = ns_api(&client, "default").await;
    // top <- middle <- leaf (held by a finalizer), and a non-blocking
    // dependent of top.
    let top = configmap(&cms, "top", vec![]).await;
    let middle = configmap(&cms, "middle", vec![owner_ref(&top, true)]).await;
    secret(&secrets, "leaf", vec![owner_ref(&middle, true)], &[HOLD]).await;
    configmap(&cms, "loose", vec![owner_ref(&top, false)]).await;

    server.kubectl_ok(&[
        "delete",
        "configmap",
        "top",
        "--cascade=foreground",
        "--wait=false",
    ]);

    eventually(
        "the leaf to be deleted (it waits on its finalizer)",
        || async {
            secrets
                .get_opt("leaf")
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.metadata.deletion_timestamp.is_some())
        },
    )
    .await;
    eventually("the non-blocking dependent to be deleted", || async {
        gone(&cms, "loose").await
    })
    .await;
    // While the leaf stays, top and middle stay too, being deleted in the
    // foreground.
    for _ in 0..10 {
        for name in ["top", "middle"] {
            let cm = cms
                .get_opt(name)
                .await
                .expect("get")
                .unwrap_or_else(|| panic!("{name} went before its blocking dependents"));
            assert!(
                cm.metadata.deletion_timestamp.is_some(),
                "{name} not deleting"
            );
            assert!(
                cm.finalizers().iter().any(|f| f == "foregroundDeletion"),
                "{name}: {:?}",
                cm.finalizers()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    secrets
        .patch(
            "leaf",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("release the leaf");
    eventually("the whole chain to be gone", || async {
        gone(&secrets, "leaf").await && gone(&cms, "middle").await && gone(&cms, "top").await
    })
    .await;
}

/// `kubectl apply` of several objects as one multi-document stream.
fn apply(server: &Server, items: &[serde_json::Value]) {
    let docs: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    server.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(&docs.join("\n---\n")),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_removes_everything_in_it() {
    let server = start();
    let client = server.client().await;
    create_namespace(&client, "doomed").await;
    let ns = "doomed";
    let mut items = Vec::new();
    for i in 0..3 {
        items.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i}"), "namespace": ns}, "data": {"k": "v"}}));
        items.push(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("secret-{i}"), "namespace": ns}, "stringData": {"k": "v"}}));
        items.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("pod-{i}"), "namespace": ns},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}));
    }
    items.push(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}));
    items.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}}));
    apply(&server, &items);

    // kubectl waits until the namespace is gone.
    server.kubectl_ok(&["delete", "namespace", ns, "--timeout=60s"]);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(gone(&namespaces, ns).await, "namespace {ns} still there");
    for kind in [
        "configmaps",
        "secrets",
        "pods",
        "services",
        "deployments",
        "serviceaccounts",
    ] {
        let out = server.kubectl_ok(&["get", kind, "-n", ns, "-o", "json"]);
        let list = conformance::json(&out);
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(0),
            "{kind} left in {ns}: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_waits_for_finalizers_and_reports_what_remains() {
    let server = start();
    let client = server.client().await;
    create_namespace(&client, "held").await;
    let secrets: Api<Secret> = ns_api(&client, "held").await;
    secret(&secrets, "held", vec![], &[HOLD]).await;
    secret(&secrets, "free", vec![], &[]).await;

    server.kubectl_ok(&["delete", "namespace", "held", "--wait=false"]);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let condition = |ns: &Namespace, t: &str| {
        ns.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == t).cloned())
    };
    eventually("the remaining content to be reported", || async {
        let Ok(ns) = namespaces.get("held").await else {
            return false;
        };
        let remaining = condition(&ns, "NamespaceContentRemaining");
        let finalizers = condition(&ns, "NamespaceFinalizersRemaining");
        remaining.is_some_and(|c| {
            c.status == "True"
                && c.reason.as_deref() == Some("SomeResourcesRemain")
                && c.message.as_deref()
                    == Some("Some resources are remaining: secrets. has 1 resource instances")
        }) && finalizers.is_some_and(|c| {
            c.status == "True"
                && c.reason.as_deref() == Some("SomeFinalizersRemain")
                && c.message.as_deref()
                    == Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
        })
    })
    .await;
    let ns = namespaces.get("held").await.expect("still there");
    assert_eq!(
        ns.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Terminating")
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionDiscoveryFailure").and_then(|c| c.reason),
        Some("ResourcesDiscovered".into())
    );
    assert!(gone(&secrets, "free").await);

    secrets
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("release the secret");
    eventually("the namespace to be removed", || async {
        gone(&namespaces, "held").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_gets_a_default_service_account_and_the_root_ca() {
    let server = start();
    let client = server.client().await;
    let ca = std::fs::read_to_string(server.data_dir().join("pki").join("ca.crt"))
        .expect("the server's CA");
    create_namespace(&client, "fresh").await;
    let accounts: Api<ServiceAccount> = ns_api(&client, "fresh").await;
    let cms: Api<ConfigMap> = ns_api(&client, "fresh").await;
    let root_ca_ok = |cm: Option<ConfigMap>| {
        cm.and_then(|c| c.data)
            .and_then(|d| d.get("ca.crt").cloned())
            .is_some_and(|v| v == ca)
    };

    eventually("the default ServiceAccount", || async {
        accounts.get_opt("default").await.ok().flatten().is_some()
    })
    .await;
    eventually("kube-root-ca.crt with the cluster CA", || async {
        root_ca_ok(cms.get_opt("kube-root-ca.crt").await.ok().flatten())
    })
    .await;
    let cm = cms.get("kube-root-ca.crt").await.expect("get");
    assert!(cm
        .annotations()
        .get("kubernetes.io/description")
        .is_some_and(|d| d.starts_with("Contains a CA bundle")));

    // The namespaces that exist at start-up get them too.
    for ns in ["default", "kube-system", "kube-public"] {
        let accounts: Api<ServiceAccount> = ns_api(&client, ns).await;
        let cms: Api<ConfigMap> = ns_api(&client, ns).await;
        eventually(&format!("default ServiceAccount in {ns}"), || async {
            accounts.get_opt("default").await.ok().flatten().is_some()
        })
        .await;
        eventually(&format!("kube-root-ca.crt in {ns}"), || async {
            root_ca_ok(cms.get_opt("kube-root-ca.crt").await.ok().flatten())
        })
        .await;
    }

    // Deleted: they come back (new objects).
    let old_sa = accounts.get("default").await.expect("get").uid();
    let old_cm = cm.uid();
    accounts
        .delete("default", &DeleteParams::default())
        .await
        .expect("delete sa");
    cms.delete("kube-root-ca.crt", &DeleteParams::default())
        .await
        .expect("delete cm");
    eventually("the default ServiceAccount to come back", || async {
        accounts
            .get_opt("default")
            .await
            .ok()
            .flatten()
            .is_some_and(|sa| sa.uid() != old_sa)
    })
    .await;
    eventually("kube-root-ca.crt to come back", || async {
        let cm = cms.get_opt("kube-root-ca.crt").await.ok().flatten();
        cm.as_ref().is_some_and(|c| c.uid() != old_cm) && root_ca_ok(cm)
    })
    .await;

    // Changed: it is put back.
    cms.patch(
        "kube-root-ca.crt",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"ca.crt": "tampered", "extra": "x"}})),
    )
    .await
    .expect("tamper");
    eventually("kube-root-ca.crt to be restored", || async {
        let cm = cms.get_opt("kube-root-ca.crt").await.ok().flatten();
        cm.as_ref()
            .and_then(|c| c.data.as_ref())
            .is_some_and(|d| d.len() == 1)
            && root_ca_ok(cm)
    })
    .await;
}
