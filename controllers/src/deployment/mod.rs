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
mod recreate;
mod rolling;
mod status;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::events::{EventType, Recorder};
use crate::replicaset::selector_matches;
use crate::util::{controller_of, controller_ref, is_deleting};
use crate::Context;

use history::HASH_LABEL;

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
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "deployment reconcile");
            }
        })
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

    /// Split into the new ReplicaSet (the one with the Deployment's template,
    /// created if asked) and the old ones, bringing the new one's revision
    /// and annotations up to date.
    async fn new_and_old(
        &mut self,
        rss: &mut [ReplicaSet],
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>), Error> {
        rss.sort_by(oldest_first);
        let template = self
            .d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let found = rss.iter().position(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| history::equal_ignore_hash(t, &template))
        });
        let mut old = rss.to_vec();
        let existing = found.map(|i| old.remove(i));
        let new_revision = history::max_revision(&old) + 1;
        let new = match existing {
            Some(rs) => Some(self.update_existing_new(rs, new_revision).await?),
            None if create => self.create_new(&old, new_revision).await?,
            None => None,
        };
        Ok((new, old))
    }

    async fn update_existing_new(
        &mut self,
        mut rs: ReplicaSet,
        new_revision: i64,
    ) -> Result<ReplicaSet, Error> {
        let surge = rolling::max_surge(&self.d);
        let changed = history::set_new_annotations(&self.d, &mut rs, new_revision, true, surge);
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        let rs_min_ready = rs.spec.as_ref().and_then(|s| s.min_ready_seconds);
        if changed || min_ready.unwrap_or(0) != rs_min_ready.unwrap_or(0) {
            if let Some(spec) = rs.spec.as_mut() {
                spec.min_ready_seconds = min_ready;
            }
            return self.write_rs(&rs).await;
        }
        let revision = rs
            .annotations()
            .get(history::REVISION)
            .cloned()
            .unwrap_or_default();
        self.set_deployment_revision(&revision).await?;
        if status::progress_deadline(&self.d).is_some()
            && status::get(self.d.status.as_ref(), status::PROGRESSING).is_none()
        {
            let mut st = self.d.status.clone().unwrap_or_default();
            let msg = format!("Found new replica set {:?}", rs.name_any());
            status::set(
                &mut st,
                status::condition(status::PROGRESSING, "True", status::FOUND_NEW_RS, msg),
            );
            self.write_status(st).await?;
        }
        Ok(rs)
    }

    /// Create `<deployment>-<hash>` for the current template, sized as the
    /// strategy allows.
    async fn create_new(
        &mut self,
        old: &[ReplicaSet],
        new_revision: i64,
    ) -> Result<Option<ReplicaSet>, Error> {
        let spec = self.d.spec.clone().unwrap_or_default();
        let collision = self.d.status.as_ref().and_then(|s| s.collision_count);
        let mut template = spec.template.clone();
        let hash = history::template_hash(&template, collision);
        template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{hash}", self.d.name_any());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.ns.clone()),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![controller_ref(&self.d)]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let mut all: Vec<&ReplicaSet> = old.iter().collect();
        all.push(&rs);
        let replicas = rolling::new_rs_replicas(&self.d, &all, &rs);
        if let Some(s) = rs.spec.as_mut() {
            s.replicas = Some(replicas);
        }
        history::set_new_annotations(
            &self.d,
            &mut rs,
            new_revision,
            false,
            rolling::max_surge(&self.d),
        );
        let api = self.rs_api();
        let (created, fresh) = match api.create(&PostParams::default(), &rs).await {
            Ok(c) => (c, true),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                // Ours already (an earlier pass), or another template's: a
                // hash collision, resolved by a new collision count.
                let existing = api
                    .get(&name)
                    .await
                    .map_err(|e| Error::CreateReplicaSet(name.clone(), e))?;
                let ours = controller_of(&existing).map(|r| &r.uid) == self.d.uid().as_ref()
                    && existing
                        .spec
                        .as_ref()
                        .and_then(|s| s.template.as_ref())
                        .is_some_and(|t| history::equal_ignore_hash(t, &spec.template));
                if ours {
                    (existing, false)
                } else {
                    let count = collision.unwrap_or(0).wrapping_add(1);
                    let mut st = self.d.status.clone().unwrap_or_default();
                    st.collision_count = Some(count);
                    self.write_status(st).await?;
                    return Err(Error::HashCollision(name, count));
                }
            }
            Err(e) => {
                let msg = format!(
                    "Failed to create new replica set {name:?}: {}",
                    api_message(&e)
                );
                if status::progress_deadline(&self.d).is_some() {
                    let mut st = self.d.status.clone().unwrap_or_default();
                    status::set(
                        &mut st,
                        status::condition(
                            status::PROGRESSING,
                            "False",
                            status::FAILED_RS_CREATE,
                            msg.clone(),
                        ),
                    );
                    self.write_status(st).await?;
                }
                self.state
                    .recorder
                    .publish(&self.d, EventType::Warning, status::FAILED_RS_CREATE, &msg)
                    .await;
                return Err(Error::CreateReplicaSet(name, e));
            }
        };
        if fresh && replicas > 0 {
            let msg = format!("Scaled up replica set {name} from 0 to {replicas}");
            self.state
                .recorder
                .publish(&self.d, EventType::Normal, "ScalingReplicaSet", &msg)
                .await;
        }
        self.set_deployment_revision(&new_revision.to_string())
            .await?;
        if fresh && status::progress_deadline(&self.d).is_some() {
            let mut st = self.d.status.clone().unwrap_or_default();
            let msg = format!("Created new replica set {name:?}");
            status::set(
                &mut st,
                status::condition(status::PROGRESSING, "True", status::NEW_RS_CREATED, msg),
            );
            self.write_status(st).await?;
        }
        Ok(Some(created))
    }

    /// Record the new ReplicaSet's revision on the Deployment.
    async fn set_deployment_revision(&mut self, revision: &str) -> Result<(), Error> {
        if revision.is_empty()
            || self
                .d
                .annotations()
                .get(history::REVISION)
                .map(String::as_str)
                == Some(revision)
        {
            return Ok(());
        }
        let name = self.d.name_any();
        let patch = json!({
            "metadata": {
                "annotations": { history::REVISION: revision },
                "resourceVersion": self.d.resource_version(),
            }
        });
        let updated = self
            .api()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::UpdateDeployment(name, e))?;
        self.d = updated;
        Ok(())
    }

    /// Write what this controller owns on a ReplicaSet: its annotations,
    /// `spec.replicas` and `spec.minReadySeconds`. A merge patch guarded by
    /// the uid only, so that the ReplicaSet controller's status writes do not
    /// make it conflict.
    async fn write_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, Error> {
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
    async fn scale_rs(&mut self, rs: &mut ReplicaSet, size: i32) -> Result<bool, Error> {
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

    /// Paused or resized: no rollout, only sizes (and clean-up when paused).
    async fn sync_scale(&mut self, mut rss: Vec<ReplicaSet>) -> Result<Action, Error> {
        let (mut new, mut old) = self.new_and_old(&mut rss, false).await?;
        self.scale(new.as_mut(), &mut old).await?;
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused {
            self.cleanup(&old).await?;
        }
        self.sync_status(&old, new.as_ref()).await?;
        Ok(Action::await_change())
    }

    /// Upstream's scale(): the one active (or newest) ReplicaSet takes the
    /// whole size; a saturated new one empties the old ones; otherwise the
    /// change is shared out in proportion to the ReplicaSets' sizes.
    async fn scale(
        &mut self,
        new: Option<&mut ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Result<(), Error> {
        let desired = spec_replicas(&self.d);
        let active_new = new.as_ref().is_some_and(|rs| replicas_of(rs) > 0);
        let active_old: Vec<usize> = (0..old.len())
            .filter(|i| replicas_of(&old[*i]) > 0)
            .collect();
        let active = active_old.len() + usize::from(active_new);
        if active <= 1 {
            // The only active one, else the new one, else the newest old one.
            if active_new || (active == 0 && new.is_some()) {
                if let Some(rs) = new {
                    self.scale_rs(rs, desired).await?;
                }
                return Ok(());
            }
            let target = match active_old.first() {
                Some(i) => Some(*i),
                None => (0..old.len()).max_by(|a, b| oldest_first(&old[*a], &old[*b])),
            };
            if let Some(i) = target {
                self.scale_rs(&mut old[i], desired).await?;
            }
            return Ok(());
        }
        let saturated = new.as_ref().is_some_and(|rs| {
            replicas_of(rs) == desired
                && rs.annotations().get(history::DESIRED_REPLICAS) == Some(&desired.to_string())
                && available(rs) == desired
        });
        if saturated {
            for i in active_old {
                self.scale_rs(&mut old[i], 0).await?;
            }
            return Ok(());
        }
        if !rolling::is_rolling(&self.d) {
            return Ok(());
        }
        // Proportional scaling over every active ReplicaSet: largest first,
        // newer first when growing, older first when shrinking.
        let surge = rolling::max_surge(&self.d);
        let mut sets: Vec<&mut ReplicaSet> =
            old.iter_mut().filter(|rs| replicas_of(rs) > 0).collect();
        if let Some(rs) = new {
            if replicas_of(rs) > 0 {
                sets.push(rs);
            }
        }
        let current: i32 = sets.iter().map(|rs| replicas_of(rs)).sum();
        let allowed = if desired > 0 { desired + surge } else { 0 };
        let growing = allowed > current;
        sets.sort_by(|a, b| {
            let by_age = oldest_first(a, b);
            replicas_of(b).cmp(&replicas_of(a)).then(if growing {
                by_age.reverse()
            } else {
                by_age
            })
        });
        let shares: Vec<rolling::Share> = sets
            .iter()
            .map(|rs| rolling::Share {
                replicas: replicas_of(rs),
                max_before: rs
                    .annotations()
                    .get(history::MAX_REPLICAS)
                    .and_then(|v| v.parse().ok()),
            })
            .collect();
        let observed = self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let targets = rolling::proportional_sizes(&shares, desired, surge, observed);
        for (rs, target) in sets.into_iter().zip(targets) {
            self.scale_rs(rs, target).await?;
        }
        Ok(())
    }

    /// Delete the oldest empty ReplicaSets beyond `revisionHistoryLimit`.
    async fn cleanup(&self, old: &[ReplicaSet]) -> Result<(), Error> {
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
