//! Per-namespace objects every namespace gets, as kube-controller-manager's
//! `serviceaccount` and `root-ca-cert-publisher` controllers do: the
//! `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap holding the
//! cluster CA. Both are recreated when deleted; the ConfigMap is put back
//! when its data is changed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::ResourceExt;

use crate::Context;

/// The ServiceAccount every namespace gets.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// The ConfigMap holding the cluster CA in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// Its key holding the PEM bundle.
pub const ROOT_CA_KEY: &str = "ca.crt";
const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver \
    when using internal endpoints such as the internal service IP or kubernetes.default.svc. \
    No other usage is guaranteed across distributions of Kubernetes clusters.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {what} in namespace {namespace}: {source}")]
    Read {
        what: &'static str,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing {what} in namespace {namespace}: {source}")]
    Write {
        what: &'static str,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// Whether objects may be created in `ns` (it exists and is not Terminating).
fn is_active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none()
        && ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating")
}

/// Errors a create may meet without anything being wrong: somebody made it
/// first, or the namespace started terminating (or vanished) meanwhile.
fn benign_create_error(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => {
            s.code == 409 || s.code == 404 || (s.code == 403 && s.message.contains("terminat"))
        }
        _ => false,
    }
}

fn error_policy<T>(_obj: Arc<T>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(error = %err, "per-namespace object reconcile failed; retrying");
    Action::requeue(Duration::from_secs(1))
}

/// Runs the `serviceaccount` controller.
pub async fn run_service_accounts(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let accounts: Api<ServiceAccount> = Api::all(ctx.client.clone());
    let only_default =
        watcher::Config::default().fields(&format!("metadata.name={DEFAULT_SERVICE_ACCOUNT}"));
    Controller::new(namespaces, watcher::Config::default())
        .watches(accounts, only_default, |sa| {
            sa.namespace().map(|ns| ObjectRef::new(&ns))
        })
        .run(reconcile_service_account, error_policy, ctx)
        .for_each(metrics.count("serviceaccount"))
        .await;
    Ok(())
}

async fn reconcile_service_account(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !is_active(&ns) {
        return Ok(Action::await_change());
    }
    let namespace = ns.name_any();
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &namespace);
    let current = api
        .get_opt(DEFAULT_SERVICE_ACCOUNT)
        .await
        .map_err(|source| Error::Read {
            what: "the default ServiceAccount",
            namespace: namespace.clone(),
            source,
        })?;
    if current.is_some() {
        return Ok(Action::await_change());
    }
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT_SERVICE_ACCOUNT.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &sa).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if benign_create_error(&e) => Ok(Action::await_change()),
        Err(source) => Err(Error::Write {
            what: "the default ServiceAccount",
            namespace,
            source,
        }),
    }
}

/// Runs the `root-ca-cert-publisher` controller.
pub async fn run_root_ca(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let maps: Api<ConfigMap> = Api::all(ctx.client.clone());
    let only_root_ca =
        watcher::Config::default().fields(&format!("metadata.name={ROOT_CA_CONFIG_MAP}"));
    Controller::new(namespaces, watcher::Config::default())
        .watches(maps, only_root_ca, |cm| {
            cm.namespace().map(|ns| ObjectRef::new(&ns))
        })
        .run(reconcile_root_ca, error_policy, ctx)
        .for_each(metrics.count("root-ca-cert-publisher"))
        .await;
    Ok(())
}

/// The data `kube-root-ca.crt` holds.
fn root_ca_data(pem: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(ROOT_CA_KEY.to_string(), pem.to_string())])
}

/// What to do with the existing `kube-root-ca.crt`, if anything: `None`
/// when it is as it should be, else the ConfigMap to write back.
fn root_ca_update(current: &ConfigMap, pem: &str) -> Option<ConfigMap> {
    let data = root_ca_data(pem);
    let described = current
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
        .is_some_and(|d| !d.is_empty());
    if current.data.as_ref() == Some(&data) && current.binary_data.is_none() && described {
        return None;
    }
    let mut updated = current.clone();
    updated.data = Some(data);
    updated.binary_data = None;
    updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(DESCRIPTION_ANNOTATION.into(), DESCRIPTION.into());
    Some(updated)
}

fn root_ca_config_map(pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIG_MAP.into()),
            annotations: Some(BTreeMap::from([(
                DESCRIPTION_ANNOTATION.to_string(),
                DESCRIPTION.to_string(),
            )])),
            ..Default::default()
        },
        data: Some(root_ca_data(pem)),
        ..Default::default()
    }
}

async fn reconcile_root_ca(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !is_active(&ns) {
        return Ok(Action::await_change());
    }
    let namespace = ns.name_any();
    let pem = &ctx.config.root_ca_pem;
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let write_err = |source| Error::Write {
        what: ROOT_CA_CONFIG_MAP,
        namespace: namespace.clone(),
        source,
    };
    let current = api
        .get_opt(ROOT_CA_CONFIG_MAP)
        .await
        .map_err(|source| Error::Read {
            what: ROOT_CA_CONFIG_MAP,
            namespace: namespace.clone(),
            source,
        })?;
    match current {
        None => match api
            .create(&PostParams::default(), &root_ca_config_map(pem))
            .await
        {
            Ok(_) => Ok(Action::await_change()),
            Err(e) if benign_create_error(&e) => Ok(Action::await_change()),
            Err(e) => Err(write_err(e)),
        },
        Some(cm) => match root_ca_update(&cm, pem) {
            None => Ok(Action::await_change()),
            // A conflict means it changed again: the error requeues us.
            Some(updated) => api
                .replace(ROOT_CA_CONFIG_MAP, &PostParams::default(), &updated)
                .await
                .map(|_| Action::await_change())
                .map_err(write_err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminating_namespaces_get_nothing() {
        let mut ns = Namespace::default();
        assert!(is_active(&ns));
        ns.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
            phase: Some("Terminating".into()),
            ..Default::default()
        });
        assert!(!is_active(&ns));
        let mut ns = Namespace::default();
        ns.metadata.deletion_timestamp = Some(crate::util::now());
        assert!(!is_active(&ns));
    }

    #[test]
    fn root_ca_is_rewritten_only_when_it_differs() {
        let good = root_ca_config_map("PEM");
        assert!(root_ca_update(&good, "PEM").is_none());

        let fixed = root_ca_update(&good, "NEW").expect("new CA must be written");
        assert_eq!(fixed.data, Some(root_ca_data("NEW")));

        let mut tampered = good.clone();
        tampered
            .data
            .get_or_insert_with(BTreeMap::new)
            .insert("extra".into(), "x".into());
        let fixed = root_ca_update(&tampered, "PEM").expect("extra key must go");
        assert_eq!(fixed.data, Some(root_ca_data("PEM")));

        let mut bare = good.clone();
        bare.metadata.annotations = None;
        let fixed = root_ca_update(&bare, "PEM").expect("description must come back");
        assert_eq!(
            fixed
                .metadata
                .annotations
                .and_then(|a| a.get(DESCRIPTION_ANNOTATION).cloned()),
            Some(DESCRIPTION.to_string())
        );
    }
}
