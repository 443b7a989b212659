//! The Deployment controller, as upstream's `pkg/controller/deployment`: a
//! ReplicaSet per pod template (`<deployment>-<pod-template-hash>`), rolled
//! out by the RollingUpdate or Recreate strategy, with revisions kept in
//! ReplicaSet annotations (what `kubectl rollout history` and `kubectl
//! rollout undo` read), scaling, pausing, clean-up of old ReplicaSets, and
//! the status `kubectl rollout status` waits on.
//!
//! Each reconcile reads the Deployment and its namespace's ReplicaSets
//! fresh from the API, so a ReplicaSet written by the previous pass is
//! always seen by the next one.

mod history;
mod newrs;
mod recreate;
mod rolling;
mod scale;
mod status;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::events::{EventType, Recorder};
use crate::replicaset::selector_matches;
use crate::util::{controller_of, controller_ref, is_deleting};
use crate::Context;

/// The Event source component, as upstream.
const COMPONENT: &str = "deployment-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading Deployment {0}: {1}")]
    GetDeployment(String, #[source] kube::Error),
    #[error("listing ReplicaSets in {0}: {1}")]
    ListReplicaSets(String, #[source] kube::Error),
    #[error("listing pods in {0}: {1}")]
    ListPods(String, #[source] kube::Error),
    #[error("claiming ReplicaSet {0}: {1}")]
    ClaimReplicaSet(String, #[source] kube::Error),
    #[error("creating ReplicaSet {0}: {1}")]
    CreateReplicaSet(String, #[source] kube::Error),
    #[error("updating ReplicaSet {0}: {1}")]
    UpdateReplicaSet(String, #[source] kube::Error),
    #[error("deleting ReplicaSet {0}: {1}")]
    DeleteReplicaSet(String, #[source] kube::Error),
    #[error("updating Deployment {0}: {1}")]
    UpdateDeployment(String, #[source] kube::Error),
    #[error("updating status of Deployment {0}: {1}")]
    UpdateStatus(String, #[source] kube::Error),
    #[error("ReplicaSet name {0} is taken by another template (collision count now {1})")]
    HashCollision(String, i32),
}

struct State {
    client: kube::Client,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let deployments: Api<Deployment> = Api::all(client.clone());
    let rss: Api<ReplicaSet> = Api::all(client.clone());
    let controller = Controller::new(deployments, watcher::Config::default());
    let store = controller.store();
    let state = Arc::new(State {
        client,
        recorder: ctx.recorder(COMPONENT),
    });
    controller
        .watches(rss, watcher::Config::default(), move |rs: ReplicaSet| {
            deployments_for_rs(&store.state(), &rs)
        })
        .run(reconcile, error_policy, state)
        .for_each(metrics.count("deployment"))
        .await;
    Ok(())
}

/// The Deployments a ReplicaSet change concerns: its controller, or for an
/// orphan every Deployment of the namespace whose selector matches it.
fn deployments_for_rs(all: &[Arc<Deployment>], rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.namespace().unwrap_or_default();
    if let Some(owner) = controller_of(rs) {
        if owner.kind == "Deployment" && owner.api_version == "apps/v1" {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    all.iter()
        .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
        .filter(|d| {
            d.spec
                .as_ref()
                .is_some_and(|s| selector_matches(&s.selector, rs.labels()))
        })
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

fn error_policy(_d: Arc<Deployment>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(error = %err, "deployment sync failed; retrying");
    if is_conflict(err) {
        // Someone wrote the object meanwhile: read it again soon.
        return Action::requeue(Duration::from_millis(100));
    }
    Action::requeue(Duration::from_secs(1))
}

fn is_conflict(err: &Error) -> bool {
    use std::error::Error as _;
    matches!(err.source(), Some(e) if matches!(
        e.downcast_ref::<kube::Error>(),
        Some(kube::Error::Api(s)) if s.code == 409
    ))
}

// ---- small accessors -----------------------------------------------------------

pub(crate) fn spec_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// A ReplicaSet's desired size.
pub(crate) fn replicas_of(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// A ReplicaSet's observed pod count.
pub(crate) fn status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}

pub(crate) fn available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// Oldest first (ties by name), as upstream's ReplicaSetsByCreationTimestamp.
pub(crate) fn oldest_first(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    a.metadata
        .creation_timestamp
        .cmp(&b.metadata.creation_timestamp)
        .then_with(|| a.name_any().cmp(&b.name_any()))
}

// ---- one pass ------------------------------------------------------------------

/// One reconcile of one Deployment: the freshest copy of it and the API
/// handles to its namespace.
pub(crate) struct Run<'a> {
    state: &'a State,
    ns: String,
    d: Deployment,
}

impl Run<'_> {
    fn d(&self) -> &Deployment {
        &self.d
    }

    fn set_d(&mut self, d: Deployment) {
        self.d = d;
    }

    fn client(&self) -> kube::Client {
        self.state.client.clone()
    }

    fn api(&self) -> Api<Deployment> {
        Api::namespaced(self.client(), &self.ns)
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client(), &self.ns)
    }
}

async fn reconcile(cached: Arc<Deployment>, state: Arc<State>) -> Result<Action, Error> {
    let ns = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let api: Api<Deployment> = Api::namespaced(state.client.clone(), &ns);
    let d = match api.get_opt(&name).await {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(Action::await_change()),
        Err(e) => return Err(Error::GetDeployment(name, e)),
    };
    let mut run = Run {
        state: &state,
        ns,
        d,
    };
    run.sync().await
}

impl Run<'_> {
    async fn sync(&mut self) -> Result<Action, Error> {
        let selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let empty = selector
            .match_labels
            .as_ref()
            .is_none_or(BTreeMap::is_empty)
            && selector
                .match_expressions
                .as_ref()
                .is_none_or(Vec::is_empty);
        if empty {
            let msg = "This deployment is selecting all pods. A non-empty selector is required.";
            self.state
                .recorder
                .publish(&self.d, EventType::Warning, "SelectingAll", msg)
                .await;
            return Ok(Action::await_change());
        }
        let rss = self.claim_replica_sets().await?;
        if is_deleting(&self.d) {
            // Only the status, while the garbage collector removes the rest.
            let (new, old) = self.new_and_old(&mut rss.clone(), false).await?;
            self.sync_status(&old, new.as_ref()).await?;
            return Ok(Action::await_change());
        }
        self.check_paused().await?;
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused || self.is_scaling_event(&rss) {
            return self.sync_scale(rss).await;
        }
        if rolling::is_rolling(&self.d) {
            self.rollout_rolling(rss).await
        } else {
            self.rollout_recreate(rss).await
        }
    }

    /// The namespace's ReplicaSets this Deployment controls, after adopting
    /// matching orphans and releasing owned ones it no longer selects.
    async fn claim_replica_sets(&mut self) -> Result<Vec<ReplicaSet>, Error> {
        let api = self.rs_api();
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| Error::ListReplicaSets(self.ns.clone(), e))?;
        let uid = self.d.uid().unwrap_or_default();
        let selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let deleting = is_deleting(&self.d);
        let mut mine = Vec::new();
        for rs in list.items {
            let matches = selector_matches(&selector, rs.labels());
            match controller_of(&rs) {
                Some(owner) if owner.uid == uid => {
                    if matches || deleting {
                        mine.push(rs);
                    } else {
                        let refs: Vec<OwnerReference> = rs
                            .owner_references()
                            .iter()
                            .filter(|r| r.uid != uid)
                            .cloned()
                            .collect();
                        patch_owners(&api, &rs, refs).await?;
                    }
                }
                Some(_) => {}
                None if matches && !deleting && !is_deleting(&rs) => {
                    let mut refs = rs.owner_references().to_vec();
                    refs.push(controller_ref(&self.d));
                    mine.extend(patch_owners(&api, &rs, refs).await?);
                }
                None => {}
            }
        }
        Ok(mine)
    }

    /// Whether some active ReplicaSet was sized for another replica count
    /// than the Deployment's (its desired-replicas annotation differs).
    fn is_scaling_event(&self, rss: &[ReplicaSet]) -> bool {
        let desired = spec_replicas(&self.d).to_string();
        rss.iter()
            .filter(|rs| replicas_of(rs) > 0)
            .any(|rs| rs.annotations().get(history::DESIRED_REPLICAS) != Some(&desired))
    }

    /// Write what this controller owns on a ReplicaSet: its annotations,
    /// `spec.replicas` and `spec.minReadySeconds`. A merge patch guarded by
    /// the uid only, so that the ReplicaSet controller's status writes do not
    /// make it conflict.
    pub(super) async fn write_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, Error> {
        let name = rs.name_any();
        let spec = rs.spec.as_ref();
        let patch = json!({
            "metadata": {"uid": rs.uid(), "annotations": rs.annotations()},
            "spec": {
                "replicas": spec.and_then(|s| s.replicas),
                "minReadySeconds": spec.and_then(|s| s.min_ready_seconds),
            }
        });
        self.rs_api()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::UpdateReplicaSet(name, e))
    }

    /// Size `rs` to `size` (and refresh its replica annotations), with a
    /// ScalingReplicaSet event when the size changes. Whether it changed.
    pub(super) async fn scale_rs(&mut self, rs: &mut ReplicaSet, size: i32) -> Result<bool, Error> {
        let from = replicas_of(rs);
        let desired = spec_replicas(&self.d);
        let mut copy = rs.clone();
        let annotations_changed = history::set_replicas_annotations(
            &mut copy,
            desired,
            desired + rolling::max_surge(&self.d),
        );
        if from == size && !annotations_changed {
            return Ok(false);
        }
        if let Some(s) = copy.spec.as_mut() {
            s.replicas = Some(size);
        }
        *rs = self.write_rs(&copy).await?;
        if from != size {
            let direction = if from < size { "up" } else { "down" };
            let msg = format!(
                "Scaled {direction} replica set {} from {from} to {size}",
                rs.name_any()
            );
            self.state
                .recorder
                .publish(&self.d, EventType::Normal, "ScalingReplicaSet", &msg)
                .await;
        }
        Ok(from != size)
    }

    /// Delete the oldest empty ReplicaSets beyond `revisionHistoryLimit`.
    pub(super) async fn cleanup(&self, old: &[ReplicaSet]) -> Result<(), Error> {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
            return Ok(());
        };
        let api = self.rs_api();
        for name in history::cleanup_candidates(old, limit) {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(Error::DeleteReplicaSet(name, e)),
            }
        }
        Ok(())
    }
}

async fn patch_owners(
    api: &Api<ReplicaSet>,
    rs: &ReplicaSet,
    refs: Vec<OwnerReference>,
) -> Result<Option<ReplicaSet>, Error> {
    let name = rs.name_any();
    let patch = json!({
        "metadata": {
            "ownerReferences": refs,
            "uid": rs.uid(),
            "resourceVersion": rs.resource_version(),
        }
    });
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(r) => Ok(Some(r)),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(Error::ClaimReplicaSet(name, e)),
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
