//! The DaemonSet controller (upstream `pkg/controller/daemon`): one pod on
//! every node the template fits (nodeSelector, required node affinity,
//! taints against tolerations), pinned to its node by a `metadata.name`
//! affinity term for the scheduler to bind; old pods replaced by
//! RollingUpdate (maxUnavailable / maxSurge) or left for the user (OnDelete).
//!
//! Each sync reads nodes, the set's pods and revisions fresh from the API,
//! adopts orphans that fit and releases pods that do not, then manages the
//! pods per node, runs the rolling update when manage had nothing to do
//! (upstream waits for its expectations the same way), trims history and
//! records the status.

mod placement;
mod pods;
mod revisions;
mod update;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{ListParams, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher::{self, watcher};
use kube::{Api, Resource, ResourceExt};

use crate::events::Recorder;
use crate::history::REVISION_HASH_LABEL;
use crate::{podutil, util, Context};

/// The pod label carrying the set's template generation.
const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// Where apps/v1 DaemonSets keep their template generation.
const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
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
    #[error("DaemonSet has no spec")]
    NoSpec,
    #[error("invalid selector: {0}")]
    Selector(String),
    #[error("ControllerRevision name collision; collisionCount bumped")]
    Collision,
    #[error("conflict with a newer object; will retry")]
    Stale,
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
        recorder: ctx.recorder("daemonset-controller"),
    });
    Controller::new(
        Api::<DaemonSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
    .owns(
        Api::<ControllerRevision>::all(client.clone()),
        watcher::Config::default(),
    )
    // A node change that may change where sets run: look at them all.
    .reconcile_all_on(node_changes(client))
    .run(reconcile, error_policy, state)
    .for_each(metrics.count("daemonset"))
    .await;
    Ok(())
}

/// One item per node change that can change where daemon pods belong: a
/// node added or removed, or its labels, taints or unschedulable flag
/// changed (upstream `shouldIgnoreNodeUpdate`); heartbeats are ignored.
fn node_changes(client: kube::Client) -> impl futures::Stream<Item = ()> + Send + 'static {
    let fingerprint = |n: &Node| {
        let spec = n.spec.as_ref();
        serde_json::json!([
            n.labels(),
            spec.and_then(|s| s.taints.as_ref()),
            spec.and_then(|s| s.unschedulable)
        ])
        .to_string()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    watcher(Api::<Node>::all(client), watcher::Config::default()).filter_map(move |ev| {
        let out = match ev {
            Ok(watcher::Event::Init) => {
                seen.clear();
                None
            }
            Ok(watcher::Event::InitApply(n)) => {
                seen.insert(n.name_any(), fingerprint(&n));
                None
            }
            Ok(watcher::Event::InitDone) => Some(()),
            Ok(watcher::Event::Apply(n)) => {
                let fp = fingerprint(&n);
                (seen.insert(n.name_any(), fp.clone()) != Some(fp)).then_some(())
            }
            Ok(watcher::Event::Delete(n)) => {
                seen.remove(&n.name_any());
                Some(())
            }
            Err(_) => None,
        };
        futures::future::ready(out)
    })
}

fn error_policy(_ds: Arc<DaemonSet>, err: &Error, _state: Arc<State>) -> Action {
    match err {
        Error::Stale | Error::Collision => Action::requeue(Duration::from_millis(200)),
        _ => {
            tracing::warn!(error = %err, "daemonset sync failed");
            Action::requeue(Duration::from_secs(2))
        }
    }
}

/// The template generation the API server keeps in an annotation.
fn template_generation(ds: &DaemonSet) -> Option<String> {
    ds.annotations()
        .get(TEMPLATE_GENERATION_ANNOTATION)
        .filter(|g| g.parse::<i64>().is_ok())
        .cloned()
}

/// `IsPodUpdated`: the pod carries the current hash or template generation.
fn is_updated(pod: &Pod, hash: &str, generation: Option<&str>) -> bool {
    let labels = pod.labels();
    (!hash.is_empty() && labels.get(REVISION_HASH_LABEL).map(String::as_str) == Some(hash))
        || generation
            .is_some_and(|g| labels.get(TEMPLATE_GENERATION_LABEL).map(String::as_str) == Some(g))
}

async fn reconcile(ds: Arc<DaemonSet>, state: Arc<State>) -> Result<Action> {
    let ns = ds.namespace().unwrap_or_default();
    let client = state.client.clone();
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    let Some(ds) = sets
        .get_opt(&ds.name_any())
        .await
        .map_err(|e| Error::api("reading DaemonSet", e))?
    else {
        return Ok(Action::await_change());
    };
    if util::is_deleting(&ds) {
        return Ok(Action::await_change());
    }
    let spec = ds.spec.as_ref().ok_or(Error::NoSpec)?;
    let selector =
        Selector::try_from(spec.selector.clone()).map_err(|e| Error::Selector(e.to_string()))?;
    if selector.selects_all() {
        return Ok(Action::await_change());
    }
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::api("listing Nodes", e))?
        .items;
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let revs_api: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let pods = claim(&pods_api, &ds, &selector, true).await?;
    let owned_revs = claim(&revs_api, &ds, &selector, false).await?;
    let (cur, old) = revisions::construct(&revs_api, &pods_api, &ds, owned_revs, &pods).await?;
    let hash = cur
        .labels()
        .get(REVISION_HASH_LABEL)
        .cloned()
        .unwrap_or_default();
    let generation = template_generation(&ds);
    let sync = pods::Sync {
        ds: &ds,
        pods: pods_api.clone(),
        recorder: &state.recorder,
        hash: hash.clone(),
        generation: generation.clone(),
        now: util::now().0,
    };
    let by_node = group_by_node(&pods, false);
    let wrote = sync.manage(&nodes, &by_node).await?;
    if !wrote && strategy(&ds) == "RollingUpdate" {
        let is_new = |p: &Pod| is_updated(p, &hash, generation.as_deref());
        let plan = update::plan(&ds, &nodes, &by_node, &is_new, sync.now);
        sync.apply(&plan.delete, &plan.create_on).await?;
    }
    revisions::cleanup(&revs_api, &ds, old, &pods).await?;

    // Status from a fresh look, as the writes above changed the pods.
    let pods = claim(&pods_api, &ds, &selector, true).await?;
    let by_node = group_by_node(&pods, false);
    let (status, recheck) = sync.status(&nodes, &by_node);
    write_status(&sets, &ds, status).await?;
    Ok(Action::requeue(
        recheck.map_or(RESYNC, |d| d + Duration::from_millis(100)),
    ))
}

fn strategy(ds: &DaemonSet) -> &str {
    ds.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// Pods by the node they are meant for; terminal pods being deleted are
/// left out unless asked for.
fn group_by_node(pods: &[Pod], include_deleted_terminal: bool) -> BTreeMap<String, Vec<Pod>> {
    let mut by: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in pods {
        if !include_deleted_terminal && podutil::is_terminal(p) && podutil::is_terminating(p) {
            continue;
        }
        if let Some(node) = placement::target_node(p) {
            by.entry(node).or_default().push(p.clone());
        }
    }
    for list in by.values_mut() {
        list.sort_by(creation_then_phase);
    }
    by
}

/// `podByCreationTimestampAndPhase`: oldest first, ties to the running one.
fn creation_then_phase(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    let t = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    t(a).cmp(&t(b))
        .then_with(|| (podutil::phase(b) == "Running").cmp(&(podutil::phase(a) == "Running")))
        .then_with(|| a.name_any().cmp(&b.name_any()))
}

async fn write_status(api: &Api<DaemonSet>, ds: &DaemonSet, status: DaemonSetStatus) -> Result<()> {
    if ds.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(
            &ds.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Err(Error::Stale),
        Err(e) => Err(Error::api("updating DaemonSet status", e)),
    }
}

/// Objects of the set: controlled ones that still match the selector, plus
/// matching orphans (adopted). Controlled pods that no longer match are
/// released (`release`), as upstream's ControllerRefManager does.
async fn claim<K>(
    api: &Api<K>,
    ds: &DaemonSet,
    selector: &Selector,
    release: bool,
) -> Result<Vec<K>>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let uid = ds.uid().unwrap_or_default();
    let all = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::api("listing owned objects", e))?;
    let mut mine = Vec::new();
    for obj in all.items {
        let fits = selector.matches(obj.labels());
        let deleting = obj.meta().deletion_timestamp.is_some();
        let owner = util::controller_of(&obj).map(|r| r.uid.clone());
        let (refs, keep) = match owner {
            Some(o) if o == uid && fits => {
                mine.push(obj);
                continue;
            }
            Some(o) if o == uid && release && !deleting => {
                let refs: Vec<_> = obj
                    .owner_references()
                    .iter()
                    .filter(|r| r.uid != uid)
                    .cloned()
                    .collect();
                (refs, false)
            }
            None if fits && !deleting => {
                let mut refs = obj.owner_references().to_vec();
                refs.push(util::controller_ref(ds));
                (refs, true)
            }
            _ => continue,
        };
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
            Ok(o) if keep => mine.push(o),
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(kube::Error::Api(e)) if e.code == 409 => return Err(Error::Stale),
            Err(e) => return Err(Error::api("adopting or releasing", e)),
        }
    }
    Ok(mine)
}
