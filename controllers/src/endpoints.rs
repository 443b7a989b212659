//! Endpoints and EndpointSlices for Services with a selector, as upstream's
//! endpoint and endpointslice controllers: the pods a Service selects, with
//! an IP, become addresses (ready or not) on the Service's resolved ports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::api::discovery::v1::{
    Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};

use crate::Context;

/// Label naming the Service of an EndpointSlice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing pods of service {0}: {1}")]
    ListPods(String, #[source] kube::Error),
    #[error("writing endpoints of service {0}: {1}")]
    Write(String, #[source] kube::Error),
}

/// One selected pod's contribution.
#[derive(Debug, Clone, PartialEq)]
struct Member {
    ip: String,
    pod: String,
    uid: String,
    node: Option<String>,
    hostname: Option<String>,
    /// Ready condition True (or the Service publishes not-ready addresses).
    serving: bool,
    terminating: bool,
    ports: Vec<EndpointPort>,
}

impl Member {
    /// Ready to receive new traffic: serving and not terminating.
    fn ready(&self) -> bool {
        self.serving && !self.terminating
    }
}

pub async fn run_endpoints(ctx: Arc<Context>) -> anyhow::Result<()> {
    run(ctx, Flavor::Endpoints).await
}

pub async fn run_endpoint_slices(ctx: Arc<Context>) -> anyhow::Result<()> {
    run(ctx, Flavor::Slices).await
}

#[derive(Debug, Clone, Copy)]
enum Flavor {
    Endpoints,
    Slices,
}

struct State {
    ctx: Arc<Context>,
    flavor: Flavor,
}

async fn run(ctx: Arc<Context>, flavor: Flavor) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    let services: Api<Service> = Api::all(client.clone());
    let controller = Controller::new(services, watcher::Config::default());
    let store = controller.store();
    let state = Arc::new(State { ctx, flavor });
    let mut controller = controller.watches(
        Api::<Pod>::all(client.clone()),
        watcher::Config::default(),
        move |pod: Pod| {
            let ns = pod.namespace().unwrap_or_default();
            let labels = pod.labels().clone();
            store
                .state()
                .into_iter()
                .filter(|svc| svc.namespace().as_deref() == Some(ns.as_str()))
                .filter(|svc| selects(svc, &labels))
                .map(|svc| ObjectRef::from_obj(&*svc))
                .collect::<Vec<_>>()
        },
    );
    controller = match flavor {
        Flavor::Endpoints => controller,
        Flavor::Slices => controller.owns(Api::<EndpointSlice>::all(client), Default::default()),
    };
    let name = match flavor {
        Flavor::Endpoints => "endpoint",
        Flavor::Slices => "endpointslice",
    };
    let metrics = state.ctx.metrics.clone();
    metrics
        .drive(name, controller.run(reconcile, error_policy, state))
        .await;
    Ok(())
}

fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

fn selects(svc: &Service, labels: &BTreeMap<String, String>) -> bool {
    selector(svc).is_some_and(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn error_policy(_svc: Arc<Service>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "endpoints: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(svc: Arc<Service>, state: Arc<State>) -> Result<Action, Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let client = state.ctx.client.clone();
    let Some(sel) = selector(&svc) else {
        // Services without a selector have hand-made endpoints: leave them.
        return Ok(Action::await_change());
    };
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let label_selector = sel
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pods = pods
        .list(&ListParams::default().labels(&label_selector))
        .await
        .map_err(|e| Error::ListPods(name.clone(), e))?;
    let publish_not_ready = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let service_ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let members: Vec<Member> = pods
        .items
        .iter()
        .filter_map(|p| member(p, &service_ports, publish_not_ready))
        .collect();
    match state.flavor {
        Flavor::Endpoints => write_endpoints(&client, &svc, &members).await?,
        Flavor::Slices => write_slices(&client, &svc, &members).await?,
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// A pod's address and ports, when it has an IP and is not finished.
fn member(pod: &Pod, ports: &[ServicePort], publish_not_ready: bool) -> Option<Member> {
    let status = pod.status.as_ref()?;
    let ip = status.pod_ip.clone().filter(|ip| !ip.is_empty())?;
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return None;
    }
    let ready = status
        .conditions
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let spec = pod.spec.as_ref()?;
    let mut resolved = Vec::new();
    for p in ports {
        let target = match &p.target_port {
            None => Some(p.port),
            Some(IntOrString::Int(n)) => Some(*n),
            Some(IntOrString::String(named)) => named_port(pod, named, p.protocol.as_deref()),
        };
        if let Some(port) = target {
            resolved.push(EndpointPort {
                name: p.name.clone(),
                port,
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: p.app_protocol.clone(),
            });
        }
    }
    Some(Member {
        ip,
        pod: pod.name_any(),
        uid: pod.uid().unwrap_or_default(),
        node: spec.node_name.clone(),
        hostname: spec.hostname.clone(),
        serving: ready || publish_not_ready,
        terminating,
        ports: resolved,
    })
}

fn named_port(pod: &Pod, name: &str, protocol: Option<&str>) -> Option<i32> {
    let protocol = protocol.unwrap_or("TCP");
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| {
            p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol
        })
        .map(|p| p.container_port)
}

fn target_ref(ns: &str, m: &Member) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: Some(ns.into()),
        name: Some(m.pod.clone()),
        uid: Some(m.uid.clone()),
        ..Default::default()
    }
}

/// Subsets as upstream packs them: members grouped by identical port
/// lists, addresses sorted by IP, terminating pods left out.
fn subsets(ns: &str, members: &[Member]) -> Vec<EndpointSubset> {
    let mut groups: Vec<(
        Vec<EndpointPort>,
        Vec<EndpointAddress>,
        Vec<EndpointAddress>,
    )> = Vec::new();
    for m in members.iter().filter(|m| !m.terminating) {
        let address = EndpointAddress {
            ip: m.ip.clone(),
            hostname: m.hostname.clone(),
            node_name: m.node.clone(),
            target_ref: Some(target_ref(ns, m)),
        };
        let mut ports = m.ports.clone();
        ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let idx = match groups.iter().position(|g| g.0 == ports) {
            Some(i) => i,
            None => {
                groups.push((ports, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        if m.ready() {
            groups[idx].1.push(address);
        } else {
            groups[idx].2.push(address);
        }
    }
    groups
        .into_iter()
        .map(|(ports, mut ready, mut not_ready)| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

async fn write_endpoints(
    client: &kube::Client,
    svc: &Service,
    members: &[Member],
) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let api: Api<Endpoints> = Api::namespaced(client.clone(), &ns);
    let subsets = subsets(&ns, members);
    let subsets = (!subsets.is_empty()).then_some(subsets);
    let labels = svc.metadata.labels.clone();
    let current = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::Write(name.clone(), e))?;
    let result = match current {
        Some(mut ep) => {
            if ep.subsets == subsets && ep.metadata.labels == labels {
                return Ok(());
            }
            ep.subsets = subsets;
            ep.metadata.labels = labels;
            api.replace(&name, &PostParams::default(), &ep).await
        }
        None => {
            let ep = Endpoints {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels,
                    ..Default::default()
                },
                subsets,
            };
            api.create(&PostParams::default(), &ep).await
        }
    };
    // A 409 (someone wrote in between) is retried by the error policy.
    result.map(|_| ()).map_err(|e| Error::Write(name, e))
}

/// The endpoints of one slice, ordered by IP.
fn slice_endpoints(ns: &str, members: &[Member]) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = members
        .iter()
        .map(|m| Endpoint {
            addresses: vec![m.ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(m.ready()),
                serving: Some(m.serving),
                terminating: Some(m.terminating),
            }),
            hostname: m.hostname.clone(),
            node_name: m.node.clone(),
            target_ref: Some(target_ref(ns, m)),
            ..Default::default()
        })
        .collect();
    out.sort_by(|a, b| a.addresses.cmp(&b.addresses));
    out
}

/// The ports of the first member: upstream groups slices by port set, we
/// keep one slice per Service (fine while pods of a Service agree on ports).
fn slice_ports(members: &[Member]) -> Vec<SlicePort> {
    members
        .first()
        .map(|m| {
            m.ports
                .iter()
                .map(|p| SlicePort {
                    name: Some(p.name.clone().unwrap_or_default()),
                    port: Some(p.port),
                    protocol: p.protocol.clone(),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn write_slices(
    client: &kube::Client,
    svc: &Service,
    members: &[Member],
) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let existing = api
        .list(&ListParams::default().labels(&format!(
            "{SERVICE_NAME_LABEL}={name},{MANAGED_BY_LABEL}={MANAGED_BY}"
        )))
        .await
        .map_err(|e| Error::Write(name.clone(), e))?;
    let endpoints = slice_endpoints(&ns, members);
    let ports = slice_ports(members);
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), name.clone());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let mut items = existing.items.into_iter();
    let result = match items.next() {
        Some(mut slice) => {
            for extra in items {
                let _ = api
                    .delete(&extra.name_any(), &DeleteParams::default())
                    .await;
            }
            if slice.endpoints == endpoints
                && slice.ports.as_deref().unwrap_or_default() == ports.as_slice()
                && slice.metadata.labels.as_ref() == Some(&labels)
            {
                return Ok(());
            }
            slice.endpoints = endpoints;
            slice.ports = Some(ports);
            slice.metadata.labels = Some(labels);
            api.replace(&slice.name_any(), &PostParams::default(), &slice)
                .await
        }
        None => {
            let slice = EndpointSlice {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{name}-")),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    owner_references: Some(vec![crate::util::controller_ref(svc)]),
                    ..Default::default()
                },
                address_type: "IPv4".into(),
                endpoints,
                ports: Some(ports),
            };
            api.create(&PostParams::default(), &slice).await
        }
    };
    result.map(|_| ()).map_err(|e| Error::Write(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodCondition, PodSpec, PodStatus};

    fn pod(name: &str, ip: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some("n1".into()),
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some("http".into()),
                        container_port: 8080,
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                pod_ip: Some(ip.into()),
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn ports() -> Vec<ServicePort> {
        vec![ServicePort {
            name: Some("web".into()),
            port: 80,
            target_port: Some(IntOrString::String("http".into())),
            ..Default::default()
        }]
    }

    #[test]
    fn named_target_ports_resolve_and_readiness_splits_addresses() {
        let members: Vec<Member> = [pod("b", "10.0.0.2", true), pod("a", "10.0.0.1", false)]
            .iter()
            .filter_map(|p| member(p, &ports(), false))
            .collect();
        let subsets = subsets("ns", &members);
        assert_eq!(subsets.len(), 1);
        let s = &subsets[0];
        assert_eq!(s.ports.as_ref().map(|p| p[0].port), Some(8080));
        assert_eq!(
            s.addresses.as_ref().map(|a| a[0].ip.as_str()),
            Some("10.0.0.2")
        );
        assert_eq!(
            s.not_ready_addresses.as_ref().map(|a| a[0].ip.as_str()),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn pods_without_ip_or_finished_are_left_out() {
        let mut p = pod("a", "10.0.0.1", true);
        if let Some(s) = p.status.as_mut() {
            s.pod_ip = None;
        }
        assert!(member(&p, &ports(), false).is_none());
        let mut p = pod("a", "10.0.0.1", true);
        if let Some(s) = p.status.as_mut() {
            s.phase = Some("Succeeded".into());
        }
        assert!(member(&p, &ports(), false).is_none());
    }

    #[test]
    fn publish_not_ready_addresses_makes_every_pod_ready() {
        let m = member(&pod("a", "10.0.0.1", false), &ports(), true).expect("member");
        assert!(m.ready());
        let e = slice_endpoints("ns", &[m]);
        assert_eq!(e[0].conditions.as_ref().and_then(|c| c.ready), Some(true));
    }
}
