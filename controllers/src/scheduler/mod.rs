//! `scheduler`: ferrokube's default-scheduler. It binds pending pods
//! (`spec.nodeName` empty, `schedulerName` default-scheduler, not being
//! deleted) to the node that passes every filter in [`predicates`] and
//! scores best (least allocated, preferred node affinity, PreferNoSchedule
//! taints), through `POST pods/NAME/binding`. Pods whose claims are missing
//! or not bound yet wait, as upstream's VolumeBinding plugin has them.
//! Pods that fit nowhere get `PodScheduled=False` (reason `Unschedulable`,
//! upstream's FitError message) and a `FailedScheduling` event, and are
//! tried again whenever pods or nodes change, and periodically.
//!
//! Each pass works from reflector stores of pods and nodes; pods it has
//! just bound count on their node ("assumed", as upstream's cache) until
//! the store shows them bound.

mod node_info;
mod predicates;
pub(crate) mod resources;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::ResourceExt;
use serde_json::json;
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::events::{EventType, Recorder};
use crate::util::watched_store;
use crate::Context;
use node_info::{NodeInfo, PodRequests};

pub const SCHEDULER_NAME: &str = "default-scheduler";

/// Unschedulable pods are tried again at least this often.
const RETRY: Duration = Duration::from_secs(10);
/// Changes arriving within this window are handled by one pass.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// Best-effort writes (conditions, events) in flight beside the passes.
const WRITES_IN_FLIGHT: usize = 16;
/// Bindings in flight beside the passes (upstream binds asynchronously too).
const BINDINGS_IN_FLIGHT: usize = 32;
/// A repeated FailedScheduling event (same message) at most this often.
const EVENT_REPEAT: Duration = Duration::from_secs(60);

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    let wake = Arc::new(Notify::new());
    let (pods, pod_events) = watched_store::<Pod>(&client, &wake);
    let (nodes, node_events) = watched_store::<Node>(&client, &wake);
    let (claims, claim_events) = watched_store::<PersistentVolumeClaim>(&client, &wake);
    let (classes, class_events) = watched_store::<StorageClass>(&client, &wake);
    let (failed_tx, failed) = mpsc::unbounded_channel();
    let mut scheduler = Scheduler {
        client: client.clone(),
        recorder: ctx.recorder(SCHEDULER_NAME),
        pods,
        nodes,
        claims,
        classes,
        assumed: HashMap::new(),
        requests: HashMap::new(),
        unschedulable: HashMap::new(),
        next_start: 0,
        writes: Arc::new(Semaphore::new(WRITES_IN_FLIGHT)),
        bindings: Arc::new(Semaphore::new(BINDINGS_IN_FLIGHT)),
        failed_tx,
        failed,
        wake: wake.clone(),
    };
    let passes = async move {
        scheduler.pods.wait_until_ready().await?;
        scheduler.nodes.wait_until_ready().await?;
        scheduler.claims.wait_until_ready().await?;
        scheduler.classes.wait_until_ready().await?;
        loop {
            scheduler.pass().await;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(RETRY) => {}
            }
            tokio::time::sleep(DEBOUNCE).await;
        }
    };
    tokio::select! {
        _ = pod_events => anyhow::bail!("pod watch ended"),
        _ = node_events => anyhow::bail!("node watch ended"),
        _ = claim_events => anyhow::bail!("claim watch ended"),
        _ = class_events => anyhow::bail!("storage class watch ended"),
        r = passes => r,
    }
}

struct Scheduler {
    client: kube::Client,
    recorder: Recorder,
    pods: Store<Pod>,
    nodes: Store<Node>,
    claims: Store<PersistentVolumeClaim>,
    classes: Store<StorageClass>,
    /// Pods bound (or being bound) by us that the store does not show
    /// bound yet: uid -> node. They count on that node meanwhile.
    assumed: HashMap<String, String>,
    /// Each live pod's requests, parsed once: uid -> requests (a pod's
    /// resources cannot change once it exists).
    requests: HashMap<String, Arc<PodRequests>>,
    /// Pods we found no node for: uid -> (message, when its event was recorded).
    unschedulable: HashMap<String, (String, Instant)>,
    /// Where the next pod's search over the nodes starts (upstream's
    /// `nextStartNodeIndex`): each search goes on where the last stopped.
    next_start: usize,
    /// Bounds the best-effort writes running beside the passes.
    writes: Arc<Semaphore>,
    /// Bounds the bindings running beside the passes.
    bindings: Arc<Semaphore>,
    /// Bindings that failed report their pod's uid here, to be forgotten.
    failed_tx: mpsc::UnboundedSender<String>,
    failed: mpsc::UnboundedReceiver<String>,
    wake: Arc<Notify>,
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether this scheduler should place `pod`.
fn wants_scheduling(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else {
        return false;
    };
    let ours = matches!(
        spec.scheduler_name.as_deref(),
        None | Some("") | Some(SCHEDULER_NAME)
    );
    ours && bound_node(pod).is_none() && !crate::util::is_deleting(pod) && !is_terminal(pod)
}

impl Scheduler {
    /// The pod's requests, parsed the first time they are asked for.
    fn requests_of(&mut self, uid: &str, pod: &Pod) -> Arc<PodRequests> {
        if let Some(r) = self.requests.get(uid) {
            return r.clone();
        }
        let r = Arc::new(pod.spec.as_ref().map(PodRequests::of).unwrap_or_default());
        self.requests.insert(uid.to_string(), r.clone());
        r
    }

    async fn pass(&mut self) {
        // Bindings that failed: their pods are pending again.
        while let Ok(uid) = self.failed.try_recv() {
            self.assumed.remove(&uid);
        }
        let pods = self.pods.state();
        // The node snapshot of this pass, in a stable order (by name) so
        // that successive searches go round the nodes.
        let mut infos: Vec<NodeInfo> = self.nodes.state().into_iter().map(NodeInfo::new).collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        let position: HashMap<String, usize> = infos
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut live: HashMap<String, bool> = HashMap::with_capacity(pods.len());
        for pod in &pods {
            let uid = pod.uid().unwrap_or_default();
            let node = bound_node(pod);
            live.insert(uid.clone(), node.is_some());
            if let Some(node) = node {
                if !is_terminal(pod) {
                    if let Some(&i) = position.get(node) {
                        let req = self.requests_of(&uid, pod);
                        infos[i].usage.add(&req);
                    }
                }
            }
        }
        self.requests.retain(|uid, _| live.contains_key(uid));
        // Assumed pods stay counted until the store shows them bound; pods
        // gone from the store are forgotten.
        self.assumed
            .retain(|uid, _| live.get(uid).is_some_and(|bound| !bound));
        for (uid, node) in &self.assumed {
            if let (Some(&i), Some(req)) = (position.get(node), self.requests.get(uid)) {
                infos[i].usage.add(req);
            }
        }
        let mut pending: Vec<&Arc<Pod>> = pods
            .iter()
            .filter(|p| wants_scheduling(p))
            .filter(|p| !self.assumed.contains_key(&p.uid().unwrap_or_default()))
            .collect();
        pending.sort_by(|a, b| {
            let prio = |p: &Pod| p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
            prio(b)
                .cmp(&prio(a))
                .then_with(|| a.creation_timestamp().cmp(&b.creation_timestamp()))
                .then_with(|| a.name_any().cmp(&b.name_any()))
        });
        let pending_uids: HashSet<String> = pending.iter().filter_map(|p| p.uid()).collect();
        self.unschedulable
            .retain(|uid, _| pending_uids.contains(uid));
        for pod in pending {
            self.schedule_one(pod, &mut infos).await;
        }
    }

    async fn schedule_one(&mut self, pod: &Pod, infos: &mut [NodeInfo]) {
        let Some(spec) = &pod.spec else { return };
        let total = infos.len();
        if let Some(reason) = self.unready_claims(pod) {
            let message = predicates::prefilter_error(total, &reason);
            self.mark_unschedulable(pod, &message).await;
            return;
        }
        let uid = pod.uid().unwrap_or_default();
        let req = self.requests_of(&uid, pod);
        // Filter from where the last search stopped until enough nodes
        // fit (upstream's percentageOfNodesToScore) or all were seen.
        let enough = node_info::feasible_nodes_to_find(total);
        let start = if total == 0 {
            0
        } else {
            self.next_start % total
        };
        let mut rejections = Vec::new();
        let mut feasible: Vec<&NodeInfo> = Vec::new();
        let mut examined = 0;
        for k in 0..total {
            let node = &infos[(start + k) % total];
            examined += 1;
            match predicates::filter(spec, &req, node) {
                Ok(()) => {
                    feasible.push(node);
                    if feasible.len() >= enough {
                        break;
                    }
                }
                Err(r) => rejections.push(r),
            }
        }
        if total > 0 {
            self.next_start = (start + examined) % total;
        }
        let chosen = predicates::pick(spec, &req, &feasible).map(|n| n.name.clone());
        drop(feasible);
        match chosen {
            Some(node) => {
                // Assume the pod onto the node now (the rest of the pass
                // counts it there) and bind it beside the pass.
                if let Some(info) = infos.iter_mut().find(|n| n.name == node) {
                    info.usage.add(&req);
                }
                self.unschedulable.remove(&uid);
                self.assumed.insert(uid.clone(), node.clone());
                self.bind(pod, node, uid).await;
            }
            None => {
                let message = predicates::fit_error(total, &rejections);
                self.mark_unschedulable(pod, &message).await;
            }
        }
    }

    /// Why the pod's claims keep it from any node (upstream VolumeBinding
    /// PreFilter): a claim missing, or unbound while its class binds at
    /// once (WaitForFirstConsumer claims are bound after scheduling).
    fn unready_claims(&self, pod: &Pod) -> Option<String> {
        let ns = pod.namespace().unwrap_or_default();
        let volumes = pod.spec.as_ref()?.volumes.as_ref()?;
        let mut unbound = false;
        for v in volumes {
            let Some(source) = &v.persistent_volume_claim else {
                continue;
            };
            let key = ObjectRef::<PersistentVolumeClaim>::new(&source.claim_name).within(&ns);
            let Some(claim) = self.claims.get(&key) else {
                return Some(format!(
                    "persistentvolumeclaim \"{}\" not found",
                    source.claim_name
                ));
            };
            if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound") {
                continue;
            }
            let class = claim
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.clone())
                .unwrap_or_default();
            let waits = self
                .classes
                .get(&ObjectRef::new(&class))
                .and_then(|c| c.volume_binding_mode.clone())
                .as_deref()
                == Some("WaitForFirstConsumer");
            if !waits {
                unbound = true;
            }
        }
        unbound.then(|| "pod has unbound immediate PersistentVolumeClaims".to_string())
    }

    /// POST the binding beside the pass (at most BINDINGS_IN_FLIGHT at a
    /// time); when it fails, the pod is forgotten and tried again.
    async fn bind(&self, pod: &Pod, node: String, uid: String) {
        let permit = match self.bindings.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return,
        };
        let ns = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": ns, "uid": uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        });
        let recorder = self.recorder.clone();
        let writes = self.writes.clone();
        let failed = self.failed_tx.clone();
        let wake = self.wake.clone();
        let pod = pod.clone();
        tokio::spawn(async move {
            let result = api
                .create_subresource::<_, serde_json::Value>(
                    "binding",
                    &name,
                    &PostParams::default(),
                    &binding,
                )
                .await;
            drop(permit);
            match result {
                Ok(_) => {
                    tracing::debug!(pod = %format!("{ns}/{name}"), node, "bound");
                    // Events are best effort and bounded like the other writes.
                    let message = format!("Successfully assigned {ns}/{name} to {node}");
                    let _permit = writes.acquire_owned().await;
                    recorder
                        .publish(&pod, EventType::Normal, "Scheduled", &message)
                        .await;
                    return;
                }
                Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => {
                    tracing::debug!(pod = %format!("{ns}/{name}"), error = %e, "binding refused");
                }
                Err(e) => {
                    tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "binding failed");
                }
            }
            // The pass reads this before it next counts the assumed pods.
            let _ = failed.send(uid);
            wake.notify_one();
        });
    }

    /// PodScheduled=False/Unschedulable with `message`, and a
    /// FailedScheduling event (not repeated more often than EVENT_REPEAT).
    async fn mark_unschedulable(&mut self, pod: &Pod, message: &str) {
        let uid = pod.uid().unwrap_or_default();
        // A pod marked recently is left alone until its retry is due (upstream
        // backs unschedulable pods off too): passes stay cheap while many pods
        // wait, e.g. for nodes to become Ready.
        if self
            .unschedulable
            .get(&uid)
            .is_some_and(|(_, at)| at.elapsed() < RETRY)
        {
            return;
        }
        let conditions = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let current = conditions.iter().find(|c| c.type_ == "PodScheduled");
        let same = current.is_some_and(|c| {
            c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
                && c.message.as_deref() == Some(message)
        });
        if !same {
            let transition = match current {
                Some(c) if c.status == "False" => c.last_transition_time.clone(),
                _ => None,
            }
            .unwrap_or_else(crate::util::now);
            let mut list: Vec<serde_json::Value> = conditions
                .iter()
                .filter(|c| c.type_ != "PodScheduled")
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect();
            list.push(json!({
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": null,
                "lastTransitionTime": transition,
                "reason": "Unschedulable",
                "message": message,
            }));
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            let patch = json!({"status": {"conditions": list}});
            let name = pod.name_any();
            self.spawn_write(async move {
                if let Err(e) = api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::debug!(pod = %name, error = %e, "cannot mark unschedulable");
                }
            });
        }
        let due = match self.unschedulable.get(&uid) {
            Some((m, at)) => m != message || at.elapsed() >= EVENT_REPEAT,
            None => true,
        };
        if due {
            let recorder = self.recorder.clone();
            let (pod, msg) = (pod.clone(), message.to_string());
            self.spawn_write(async move {
                recorder
                    .publish(&pod, EventType::Warning, "FailedScheduling", &msg)
                    .await;
            });
        }
        let first_seen = match self.unschedulable.get(&uid) {
            Some((m, at)) if !due && m == message => *at,
            _ => Instant::now(),
        };
        self.unschedulable
            .insert(uid, (message.to_string(), first_seen));
    }

    /// Run a best-effort write (status condition, event) beside the pass,
    /// at most WRITES_IN_FLIGHT at a time.
    fn spawn_write(&self, write: impl std::future::Future<Output = ()> + Send + 'static) {
        let permits = self.writes.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            write.await;
        });
    }
}
