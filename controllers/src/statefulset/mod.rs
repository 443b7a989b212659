//! The StatefulSet controller (upstream `pkg/controller/statefulset`): pods
//! with stable names `<set>-<ordinal>`, hostnames and claims, created and
//! removed in order, rolled onto new revisions highest ordinal first.
//!
//! Each sync reads the set's pods, claims and ControllerRevisions fresh
//! from the API (no cache to go stale between a write and the next sync),
//! adopts orphans that fit, releases pods that no longer do, then runs
//! [`control::Sync`] and records the status.

mod control;
mod identity;
mod order;
mod revisions;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{ListParams, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};

use crate::events::Recorder;
use crate::{history, util, Context};

/// How often a quiet set is looked at again anyway.
const RESYNC: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("StatefulSet has no spec")]
    NoSpec,
    #[error("invalid selector: {0}")]
    Selector(String),
    #[error("too many ControllerRevision name collisions ({0})")]
    Collisions(i32),
    #[error("PersistentVolumeClaim {0} is being deleted")]
    ClaimDeleting(String),
    #[error("conflict with a newer object; will retry")]
    Stale,
    #[error("a pod named {0} exists that the StatefulSet does not own")]
    PodExists(String),
}

impl Error {
    fn api(what: &'static str, source: kube::Error) -> Error {
        Error::Api {
            what,
            source: Box::new(source),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

struct State {
    client: kube::Client,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let metrics = ctx.metrics.clone();
    let client = ctx.client.clone();
    let state = Arc::new(State {
        client: client.clone(),
        recorder: ctx.recorder("statefulset-controller"),
    });
    Controller::new(
        Api::<StatefulSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
    .owns(
        Api::<ControllerRevision>::all(client),
        watcher::Config::default(),
    )
    .run(reconcile, error_policy, state)
    .for_each(metrics.count("statefulset"))
    .await;
    Ok(())
}

fn error_policy(_set: Arc<StatefulSet>, err: &Error, _state: Arc<State>) -> Action {
    match err {
        Error::Stale => Action::requeue(Duration::from_millis(200)),
        Error::PodExists(_) => Action::requeue(Duration::from_secs(10)),
        _ => {
            tracing::warn!(error = %err, "statefulset sync failed");
            Action::requeue(Duration::from_secs(2))
        }
    }
}

async fn reconcile(set: Arc<StatefulSet>, state: Arc<State>) -> Result<Action> {
    let ns = set.namespace().unwrap_or_default();
    let client = state.client.clone();
    // Work on the newest copy: the watch may lag behind our own writes.
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let Some(set) = sets
        .get_opt(&set.name_any())
        .await
        .map_err(|e| Error::api("reading StatefulSet", e))?
    else {
        return Ok(Action::await_change());
    };
    let spec = set.spec.as_ref().ok_or(Error::NoSpec)?;
    let selector =
        Selector::try_from(spec.selector.clone()).map_err(|e| Error::Selector(e.to_string()))?;
    if selector.selects_all() {
        // Upstream refuses to act on an empty selector.
        return Ok(Action::await_change());
    }
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let revs_api: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let pods = claim_pods(&pods_api, &set, &selector).await?;
    let mut revisions = claim_revisions(&revs_api, &set, &selector).await?;
    revisions.sort_by(history::by_revision);

    let resolved = revisions::resolve(&revs_api, &set, &revisions).await?;
    let template_of =
        |r: &ControllerRevision| history::template_of(r).unwrap_or_else(|| spec.template.clone());
    let sync = control::Sync {
        set: &set,
        pods: pods_api.clone(),
        claims: Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns),
        recorder: &state.recorder,
        current: &resolved.current,
        update: &resolved.update,
        current_template: template_of(&resolved.current),
        update_template: template_of(&resolved.update),
        now: util::now().0,
    };
    let outcome = sync.run(pods.clone()).await;
    let recheck = match &outcome {
        Ok(o) => {
            let mut status = o.status.clone();
            status.observed_generation = set.metadata.generation;
            status.current_revision = Some(resolved.current.name_any());
            status.update_revision = Some(resolved.update.name_any());
            status.collision_count = Some(resolved.collision_count);
            complete_rolling_update(&set, &mut status);
            write_status(&sets, &set, status).await?;
            o.recheck
        }
        Err(_) => None,
    };
    let live = [resolved.current.name_any(), resolved.update.name_any()];
    let live: Vec<&str> = live.iter().map(String::as_str).collect();
    revisions::truncate(&revs_api, &set, &pods, &revisions, &live).await?;
    outcome?;
    Ok(Action::requeue(
        recheck.map_or(RESYNC, |d| d + Duration::from_millis(100)),
    ))
}

/// `completeRollingUpdate`: once every replica is updated and ready, the
/// update revision becomes the current one.
fn complete_rolling_update(set: &StatefulSet, status: &mut StatefulSetStatus) {
    let rolling = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    let want = identity::replicas(set);
    if rolling
        && status.updated_replicas == Some(want)
        && status.ready_replicas == Some(want)
        && status.replicas == want
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

async fn write_status(
    api: &Api<StatefulSet>,
    set: &StatefulSet,
    mut status: StatefulSetStatus,
) -> Result<()> {
    let old = set.status.clone().unwrap_or_default();
    status.conditions = old.conditions.clone();
    if status == old {
        return Ok(());
    }
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(
            &set.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Err(Error::Stale),
        Err(e) => Err(Error::api("updating StatefulSet status", e)),
    }
}

/// The set's pods: those it controls that still fit, plus orphans that fit
/// (adopted); controlled pods that no longer fit are released.
async fn claim_pods(api: &Api<Pod>, set: &StatefulSet, selector: &Selector) -> Result<Vec<Pod>> {
    let uid = set.uid().unwrap_or_default();
    let all = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::api("listing Pods", e))?;
    let mut mine = Vec::new();
    for pod in all.items {
        let fits = selector.matches(pod.labels()) && identity::is_member(set, &pod);
        match util::controller_of(&pod) {
            Some(_) if util::is_controlled_by(&pod, &uid) => {
                if fits {
                    mine.push(pod);
                } else if !podutil_deleting(&pod) {
                    release(api, &pod, &uid).await?;
                }
            }
            None if fits && !podutil_deleting(&pod) && !util::is_deleting(set) => {
                if let Some(p) = adopt(api, &pod, set).await? {
                    mine.push(p);
                }
            }
            _ => {}
        }
    }
    Ok(mine)
}

fn podutil_deleting(pod: &Pod) -> bool {
    crate::podutil::is_terminating(pod)
}

/// The set's revisions: controlled ones matching the selector, and orphans
/// matching it (adopted).
async fn claim_revisions(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    selector: &Selector,
) -> Result<Vec<ControllerRevision>> {
    let uid = set.uid().unwrap_or_default();
    let all = api
        .list(&ListParams::default().labels_from(selector))
        .await
        .map_err(|e| Error::api("listing ControllerRevisions", e))?;
    let mut mine = Vec::new();
    for r in all.items {
        match util::controller_of(&r) {
            Some(o) if o.uid == uid => mine.push(r),
            None if !util::is_deleting(set) => {
                if let Some(r) = adopt(api, &r, set).await? {
                    mine.push(r);
                }
            }
            _ => {}
        }
    }
    Ok(mine)
}

/// Add the set as controller of `obj`; None if it went away meanwhile.
async fn adopt<K>(api: &Api<K>, obj: &K, set: &StatefulSet) -> Result<Option<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut refs = obj.meta().owner_references.clone().unwrap_or_default();
    refs.push(util::controller_ref(set));
    let patch = serde_json::json!({"metadata": {
        "ownerReferences": refs,
        "uid": obj.meta().uid,
        "resourceVersion": obj.meta().resource_version,
    }});
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::Stale),
        Err(e) => Err(Error::api("adopting", e)),
    }
}

/// Remove the set's ownerReference from `pod`.
async fn release(api: &Api<Pod>, pod: &Pod, uid: &str) -> Result<()> {
    let refs: Vec<_> = pod
        .owner_references()
        .iter()
        .filter(|r| r.uid != uid)
        .cloned()
        .collect();
    let patch = serde_json::json!({"metadata": {
        "ownerReferences": refs,
        "uid": pod.metadata.uid,
        "resourceVersion": pod.metadata.resource_version,
    }});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::Stale),
        Err(e) => Err(Error::api("releasing Pod", e)),
    }
}
