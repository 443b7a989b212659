//! The availability of aggregated APIs (kube-aggregator's
//! `AvailableConditionController`): an APIService backed by a Service gets
//! its `Available` condition from that Service and its endpoints. ferrokube
//! does not proxy to aggregated API servers (their pods are simulated), so
//! such an APIService is never `True`: it says why, as upstream says it when
//! the backend cannot be reached, and discovery leaves its group out, as
//! kube-apiserver does with unavailable groups it cannot list.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::{
    APIService, APIServiceCondition, APIServiceStatus,
};
use kube::api::PostParams;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};

use crate::{util, Context};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: {1}")]
    Api(&'static str, #[source] kube::Error),
}

struct State {
    ctx: Arc<Context>,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    let controller = Controller::new(
        Api::<APIService>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let by_service = move |ns: String, name: String| {
        store
            .state()
            .into_iter()
            .filter(|a| {
                a.spec
                    .as_ref()
                    .and_then(|sp| sp.service.as_ref())
                    .is_some_and(|s| {
                        s.namespace.as_deref() == Some(ns.as_str())
                            && s.name.as_deref() == Some(name.as_str())
                    })
            })
            .map(|a| ObjectRef::from_obj(&*a))
            .collect::<Vec<_>>()
    };
    let by_endpoints = by_service.clone();
    let controller = controller
        .watches(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
            move |s: Service| by_service(s.namespace().unwrap_or_default(), s.name_any()),
        )
        .watches(
            Api::<Endpoints>::all(client),
            watcher::Config::default(),
            move |e: Endpoints| by_endpoints(e.namespace().unwrap_or_default(), e.name_any()),
        );
    let state = Arc::new(State { ctx });
    let metrics = state.ctx.metrics.clone();
    metrics
        .drive(
            "apiservice-availability",
            controller.run(reconcile, error_policy, state),
        )
        .await;
    Ok(())
}

fn error_policy(_a: Arc<APIService>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "apiservice availability: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(api: Arc<APIService>, state: Arc<State>) -> Result<Action, Error> {
    let spec = api.spec.clone().unwrap_or_default();
    let Some(svc_ref) = spec.service.clone() else {
        return Ok(Action::await_change()); // local: the server keeps it available
    };
    let ns = svc_ref.namespace.unwrap_or_default();
    let name = svc_ref.name.unwrap_or_default();
    let port = svc_ref.port.unwrap_or(443);
    let client = state.ctx.client.clone();
    let service = Api::<Service>::namespaced(client.clone(), &ns)
        .get_opt(&name)
        .await
        .map_err(|e| Error::Api("reading the Service", e))?;
    let (reason, message) = match service {
        None => (
            "ServiceNotFound",
            format!("service/{name} in {ns:?} is not present"),
        ),
        Some(svc) => {
            let port_name = svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.as_ref())
                .and_then(|ps| ps.iter().find(|p| p.port == port))
                .and_then(|p| p.name.clone())
                .unwrap_or_default();
            let endpoints = Api::<Endpoints>::namespaced(client.clone(), &ns)
                .get_opt(&name)
                .await
                .map_err(|e| Error::Api("reading the Endpoints", e))?;
            let has_address = endpoints.as_ref().is_some_and(|e| {
                e.subsets.iter().flatten().any(|s| {
                    s.addresses.as_ref().is_some_and(|a| !a.is_empty())
                        && s.ports
                            .iter()
                            .flatten()
                            .any(|p| p.name.clone().unwrap_or_default() == port_name)
                })
            });
            match (endpoints, has_address) {
                (None, _) => (
                    "MissingEndpoints",
                    format!("cannot find endpoints for service/{name} in {ns:?}"),
                ),
                (Some(_), false) => (
                    "MissingEndpoints",
                    format!(
                        "endpoints for service/{name} in {ns:?} have no addresses with port name {port_name:?}"
                    ),
                ),
                (Some(_), true) => (
                    "FailedDiscoveryCheck",
                    format!(
                        "failing or missing response from service/{name} in {ns:?} for {}/{}: ferrokube does not proxy to aggregated API servers",
                        spec.group.clone().unwrap_or_default(),
                        spec.version.clone().unwrap_or_default()
                    ),
                ),
            }
        }
    };
    let old = api
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Available"));
    if old.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message.as_str())
    }) {
        return Ok(Action::await_change());
    }
    let since: Option<Time> = match old {
        Some(c) if c.status == "False" => c.last_transition_time.clone(),
        _ => Some(util::now()),
    };
    let mut updated = (*api).clone();
    updated.status = Some(APIServiceStatus {
        conditions: Some(vec![APIServiceCondition {
            type_: "Available".into(),
            status: "False".into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: since,
        }]),
    });
    Api::<APIService>::all(client)
        .replace_status(&api.name_any(), &PostParams::default(), &updated)
        .await
        .map_err(|e| Error::Api("writing status", e))?;
    Ok(Action::await_change())
}
