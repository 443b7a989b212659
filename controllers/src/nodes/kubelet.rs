//! The simulated kubelet of every `ferrokube-node-N`: it runs the pods
//! bound to our nodes without running anything. A bound pod goes Running
//! at once (init containers Completed, containers running, pod IP from the
//! node's 10.244.N.0/24), Ready after any readinessProbe's
//! `initialDelaySeconds`. Pods that run to completion (restartPolicy Never
//! or OnFailure, or any pod with a `ferrokube.io/run-seconds` annotation)
//! exit after that many seconds (default 1) with the code in
//! `ferrokube.io/exit-code` (default 0), and end Succeeded or Failed, or
//! are restarted per their restartPolicy (with CrashLoopBackOff from the
//! second restart on). A pod being deleted has its containers stopped and
//! is then deleted with grace period 0 and a uid precondition.
//!
//! Each step is a pure function of the pod and the time (in
//! [`super::pod_status`]); the reconciler writes the result through
//! `pods/status` (optimistic concurrency: a conflict retries) and records
//! the kubelet's events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{watcher, Controller};
use kube::ResourceExt;

use super::pod_status::{
    advance, is_started, is_terminal, next_deadline, start, stop, ContainerEvent,
};
use super::{node_index, node_name};
use crate::events::{object_reference, Recorder};
use crate::Context;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing pod status failed: {0}")]
    WriteStatus(#[source] kube::Error),
    #[error("deleting the pod failed: {0}")]
    Delete(#[source] kube::Error),
    #[error("no free pod IP left on {0}")]
    NoAddress(String),
}

struct Kubelet {
    client: kube::Client,
    nodes: u32,
    pods: Store<Pod>,
    recorders: HashMap<String, Recorder>,
    /// Pod IPs handed out whose pods' status does not show them yet, by pod uid.
    in_flight: Mutex<HashMap<String, Allocation>>,
}

/// A pod IP handed out: the pod, its node's index, the address's last octet.
struct Allocation {
    pod: ObjectRef<Pod>,
    node: u32,
    octet: u8,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let controller = Controller::new(api, watcher::Config::default());
    let recorders = (1..=ctx.config.nodes)
        .map(|i| {
            let name = node_name(i);
            let rec = ctx.recorder("kubelet").with_host(&name);
            (name, rec)
        })
        .collect();
    let kubelet = Arc::new(Kubelet {
        client: ctx.client.clone(),
        nodes: ctx.config.nodes,
        pods: controller.store(),
        recorders,
        in_flight: Mutex::new(HashMap::new()),
    });
    controller
        .run(reconcile, error_policy, kubelet)
        .for_each(metrics.count("kubelet"))
        .await;
    anyhow::bail!("kubelet pod controller ended")
}

fn error_policy(_pod: Arc<Pod>, err: &Error, _k: Arc<Kubelet>) -> Action {
    tracing::debug!(error = %err, "kubelet: retrying");
    Action::requeue(Duration::from_millis(500))
}

async fn reconcile(pod: Arc<Pod>, k: Arc<Kubelet>) -> Result<Action, Error> {
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
        return Ok(Action::await_change());
    };
    let Some(index) = node_index(&node, k.nodes) else {
        return Ok(Action::await_change());
    };
    let now = jiff::Timestamp::now();
    if crate::util::is_deleting(pod.as_ref()) {
        k.stop_and_remove(&pod, &node, now).await?;
        return Ok(Action::await_change());
    }
    if is_terminal(&pod) {
        return Ok(Action::await_change());
    }
    let (status, events) = if is_started(&pod) {
        advance(&pod, now)
    } else {
        let ip = k.allocate_ip(&pod, index)?;
        start(&pod, index, &ip, now)
    };
    if pod.status.as_ref() != Some(&status) {
        k.write_status(&pod, status.clone()).await?;
        k.publish(&pod, &node, &events).await;
    }
    let mut next = (*pod).clone();
    next.status = Some(status);
    Ok(match next_deadline(&next, now) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

impl Kubelet {
    async fn write_status(&self, pod: &Pod, status: PodStatus) -> Result<(), Error> {
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let mut next = pod.clone();
        next.status = Some(status);
        api.replace_status(&pod.name_any(), &PostParams::default(), &next)
            .await
            .map_err(Error::WriteStatus)?;
        Ok(())
    }

    async fn publish(&self, pod: &Pod, node: &str, events: &[ContainerEvent]) {
        let Some(rec) = self.recorders.get(node) else {
            return;
        };
        for e in events {
            let mut reference = object_reference(pod);
            reference.field_path = Some(e.field_path.clone());
            rec.publish_ref(&reference, e.kind, e.reason, &e.message)
                .await;
        }
    }

    /// Containers stopped, then the pod removed for good.
    async fn stop_and_remove(
        &self,
        pod: &Pod,
        node: &str,
        now: jiff::Timestamp,
    ) -> Result<(), Error> {
        if let Some((status, events)) = stop(pod, now) {
            match self.write_status(pod, status).await {
                Ok(()) => self.publish(pod, node, &events).await,
                // Gone already: nothing left to do.
                Err(Error::WriteStatus(kube::Error::Api(e))) if e.code == 404 => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&pod.name_any(), &params).await {
            Ok(_) => Ok(()),
            // Gone, or a new pod of the same name: not ours to delete.
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
            Err(e) => Err(Error::Delete(e)),
        }
    }

    /// A free address in the node's 10.244.N.0/24 for `pod` (the same one
    /// again if it already has one in flight).
    fn allocate_ip(&self, pod: &Pod, index: u32) -> Result<String, Error> {
        let uid = pod.uid().unwrap_or_default();
        let node = node_name(index);
        let prefix = format!("10.244.{index}.");
        let mut in_flight = match self.in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // Forget allocations whose pods are gone or show their IP by now.
        in_flight.retain(|u, a| {
            self.pods.get(&a.pod).is_some_and(|p| {
                p.uid().as_deref() == Some(u.as_str())
                    && p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_none()
            })
        });
        if let Some(a) = in_flight.get(&uid) {
            return Ok(format!("{prefix}{}", a.octet));
        }
        // Addresses in use: those of the node's other live pods, and those
        // handed out but not shown yet.
        let mut used = [false; 256];
        for p in self.pods.state() {
            let on_node = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(&node);
            if !on_node || is_terminal(&p) || p.uid().as_deref() == Some(uid.as_str()) {
                continue;
            }
            let octet = p
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.as_ref())
                .and_then(|ip| ip.strip_prefix(&prefix))
                .and_then(|o| o.parse::<u8>().ok());
            if let Some(o) = octet {
                used[usize::from(o)] = true;
            }
        }
        for a in in_flight.values() {
            if a.node == index {
                used[usize::from(a.octet)] = true;
            }
        }
        let octet = (2..=254u8)
            .find(|o| !used[usize::from(*o)])
            .ok_or_else(|| Error::NoAddress(node.clone()))?;
        in_flight.insert(
            uid,
            Allocation {
                pod: ObjectRef::from_obj(pod),
                node: index,
                octet,
            },
        );
        Ok(format!("{prefix}{octet}"))
    }
}
