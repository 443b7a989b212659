//! One sync of a DaemonSet's pods (upstream `manage`, `podsShouldBeOnNode`,
//! `syncNodes`, `updateDaemonSetStatus`): a pod on every node that should
//! run one, none elsewhere, failed and excess pods removed, and the status
//! counted per node.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};

use super::{is_updated, placement, update, Error, Result, TEMPLATE_GENERATION_LABEL};
use crate::events::{EventType, Recorder};
use crate::history::REVISION_HASH_LABEL;
use crate::{podutil, util};

pub(super) struct Sync<'a> {
    pub(super) ds: &'a DaemonSet,
    pub(super) pods: Api<Pod>,
    pub(super) recorder: &'a Recorder,
    pub(super) hash: String,
    pub(super) generation: Option<String>,
    pub(super) now: jiff::Timestamp,
}

impl Sync<'_> {
    fn template_spec(&self) -> k8s_openapi::api::core::v1::PodSpec {
        self.ds
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.clone())
            .unwrap_or_default()
    }

    fn min_ready(&self) -> i32 {
        self.ds
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn surges(&self) -> bool {
        let ru = self
            .ds
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .filter(|u| u.type_.as_deref() == Some("RollingUpdate"))
            .and_then(|u| u.rolling_update.as_ref());
        update::scaled(ru.and_then(|r| r.max_surge.as_ref()), 1) > 0
    }

    /// `manage` + `podsShouldBeOnNode`: create missing daemon pods, delete
    /// failed, excess and misplaced ones. Returns whether it wrote anything.
    pub(super) async fn manage(
        &self,
        nodes: &[Node],
        by_node: &BTreeMap<String, Vec<Pod>>,
    ) -> Result<bool> {
        let spec = self.template_spec();
        let mut create_on = Vec::new();
        let mut delete = Vec::new();
        for node in nodes {
            let name = node.name_any();
            let (run, keep) = placement::should_run(node, &spec);
            let pods = by_node.get(&name);
            match pods {
                None if run => create_on.push(name),
                Some(pods) if keep => {
                    let mut running = Vec::new();
                    for p in pods.iter().filter(|p| !podutil::is_terminating(p)) {
                        match podutil::phase(p) {
                            "Failed" => {
                                let msg = format!(
                                    "Found failed daemon pod {}/{} on node {name}, will try to kill it",
                                    p.namespace().unwrap_or_default(),
                                    p.name_any()
                                );
                                self.recorder
                                    .publish(self.ds, EventType::Warning, "FailedDaemonPod", &msg)
                                    .await;
                                delete.push(p.name_any());
                            }
                            "Succeeded" => {
                                let msg = format!(
                                    "Found succeeded daemon pod {}/{} on node {name}, will try to delete it",
                                    p.namespace().unwrap_or_default(),
                                    p.name_any()
                                );
                                self.recorder
                                    .publish(self.ds, EventType::Normal, "SucceededDaemonPod", &msg)
                                    .await;
                                delete.push(p.name_any());
                            }
                            _ => running.push(p),
                        }
                    }
                    if !self.surges() {
                        // Keep the oldest; the list is sorted oldest first.
                        delete.extend(running.iter().skip(1).map(|p| p.name_any()));
                    } else if running.is_empty() {
                        if run {
                            create_on.push(name);
                        }
                    } else if running.len() > 1 {
                        self.prune_surge(&running, &mut delete);
                    }
                }
                Some(pods) if !keep => {
                    delete.extend(
                        pods.iter()
                            .filter(|p| !podutil::is_terminating(p))
                            .map(ResourceExt::name_any),
                    );
                }
                _ => {}
            }
        }
        // Unbound pods meant for nodes that no longer exist would never run.
        for (node, pods) in by_node {
            if nodes.iter().any(|n| n.name_any() == *node) {
                continue;
            }
            delete.extend(
                pods.iter()
                    .filter(|p| {
                        !podutil::is_terminating(p)
                            && p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none()
                    })
                    .map(ResourceExt::name_any),
            );
        }
        let wrote = !create_on.is_empty() || !delete.is_empty();
        self.apply(&delete, &create_on).await?;
        Ok(wrote)
    }

    /// With surge, a node keeps at most its oldest new pod and its oldest
    /// old pod, and the old one only while the new one is not available.
    fn prune_surge(&self, running: &[&Pod], delete: &mut Vec<String>) {
        let (mut new, mut old): (Option<&Pod>, Option<&Pod>) = (None, None);
        for p in running {
            let slot = if p.labels().get(REVISION_HASH_LABEL) == Some(&self.hash) {
                &mut new
            } else {
                &mut old
            };
            if slot.is_none() {
                *slot = Some(p);
            } else {
                delete.push(p.name_any());
            }
        }
        if let (Some(new), Some(old)) = (new, old) {
            if !podutil::is_ready(old) || podutil::is_available(new, self.min_ready(), self.now) {
                delete.push(old.name_any());
            }
        }
    }

    /// `syncNodes`: delete the pods, create one pod per node.
    pub(super) async fn apply(&self, delete: &[String], create_on: &[String]) -> Result<()> {
        for node in create_on {
            self.create(node).await?;
        }
        for name in delete {
            match self.pods.delete(name, &DeleteParams::default()).await {
                Ok(_) => {
                    self.recorder
                        .publish(
                            self.ds,
                            EventType::Normal,
                            "SuccessfulDelete",
                            &format!("Deleted pod: {name}"),
                        )
                        .await;
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    self.recorder
                        .publish(
                            self.ds,
                            EventType::Warning,
                            "FailedDelete",
                            &format!("Error deleting: {e}"),
                        )
                        .await;
                    return Err(Error::api("deleting Pod", e));
                }
            }
        }
        Ok(())
    }

    /// The pod for `node` (`CreatePodTemplate` + node affinity).
    fn new_pod(&self, node: &str) -> Pod {
        let template = self
            .ds
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let meta = template.metadata.unwrap_or_default();
        let mut labels = meta.labels.unwrap_or_default();
        if let Some(g) = &self.generation {
            labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.clone());
        }
        if !self.hash.is_empty() {
            labels.insert(REVISION_HASH_LABEL.into(), self.hash.clone());
        }
        let mut spec = template.spec.unwrap_or_default();
        placement::add_default_tolerations(&mut spec);
        placement::pin_to_node(&mut spec, node);
        Pod {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-", self.ds.name_any())),
                namespace: self.ds.namespace(),
                labels: Some(labels),
                annotations: meta.annotations,
                finalizers: meta.finalizers,
                owner_references: Some(vec![util::controller_ref(self.ds)]),
                ..Default::default()
            },
            spec: Some(spec),
            status: None,
        }
    }

    async fn create(&self, node: &str) -> Result<()> {
        match self
            .pods
            .create(&PostParams::default(), &self.new_pod(node))
            .await
        {
            Ok(p) => {
                self.recorder
                    .publish(
                        self.ds,
                        EventType::Normal,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", p.name_any()),
                    )
                    .await;
                Ok(())
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::Stale),
            Err(e) => {
                self.recorder
                    .publish(
                        self.ds,
                        EventType::Warning,
                        "FailedCreate",
                        &format!("Error creating: {e}"),
                    )
                    .await;
                Err(Error::api("creating Pod", e))
            }
        }
    }

    /// `updateDaemonSetStatus`, and when to look again for pods that are
    /// ready but not yet available.
    pub(super) fn status(
        &self,
        nodes: &[Node],
        by_node: &BTreeMap<String, Vec<Pod>>,
    ) -> (DaemonSetStatus, Option<Duration>) {
        let spec = self.template_spec();
        let mut s = DaemonSetStatus {
            observed_generation: self.ds.metadata.generation,
            collision_count: self.ds.status.as_ref().and_then(|s| s.collision_count),
            conditions: self.ds.status.as_ref().and_then(|s| s.conditions.clone()),
            ..Default::default()
        };
        let mut updated = 0;
        let mut recheck = None::<Duration>;
        for node in nodes {
            let (run, _) = placement::should_run(node, &spec);
            let pods = by_node.get(&node.name_any()).filter(|p| !p.is_empty());
            if !run {
                if pods.is_some() {
                    s.number_misscheduled += 1;
                }
                continue;
            }
            s.desired_number_scheduled += 1;
            let Some(pod) = pods.and_then(|p| p.first()) else {
                continue;
            };
            s.current_number_scheduled += 1;
            if podutil::is_ready(pod) {
                s.number_ready += 1;
                if podutil::is_available(pod, self.min_ready(), self.now) {
                    *s.number_available.get_or_insert(0) += 1;
                } else if let Some(d) = podutil::until_available(pod, self.min_ready(), self.now) {
                    recheck = Some(recheck.map_or(d, |r| r.min(d)));
                }
            }
            if is_updated(pod, &self.hash, self.generation.as_deref()) {
                updated += 1;
            }
        }
        let available = s.number_available.unwrap_or(0);
        s.number_available = Some(available);
        s.updated_number_scheduled = Some(updated);
        s.number_unavailable = Some(s.desired_number_scheduled - available);
        (s, recheck)
    }
}
