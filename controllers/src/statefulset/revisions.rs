//! A StatefulSet's ControllerRevisions: find or make the update revision,
//! find the current one, and trim old history (upstream
//! `getStatefulSetRevisions` and `truncateHistory`).

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use super::{identity, Error, Result};
use crate::history;

/// How many name collisions we try past before giving up for this round.
const MAX_COLLISIONS: i32 = 16;

/// The two revisions a sync works with, and the collision count to record.
pub struct Revisions {
    pub current: ControllerRevision,
    pub update: ControllerRevision,
    pub collision_count: i32,
}

/// `revisions` must be sorted with [`history::by_revision`].
pub async fn resolve(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    revisions: &[ControllerRevision],
) -> Result<Revisions> {
    let spec = set.spec.as_ref().ok_or(Error::NoSpec)?;
    let mut collision_count = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let next = revisions.last().map_or(1, |r| r.revision + 1);
    let data = history::template_patch(&spec.template);
    let equal: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| history::same_data(r, &data))
        .collect();
    let update = match (equal.last(), revisions.last()) {
        // The newest revision already holds this template: nothing changed.
        (Some(eq), Some(last)) if eq.name_any() == last.name_any() => (*eq).clone(),
        // An older revision holds it: a rollback, which renumbers it.
        (Some(eq), _) => {
            let patch = serde_json::json!({"revision": next});
            api.patch(
                &eq.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| Error::api("renumbering ControllerRevision", e))?
        }
        (None, _) => create(api, set, &data, next, &mut collision_count).await?,
    };
    let wanted = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .unwrap_or_default();
    let current = revisions
        .iter()
        .find(|r| r.name_any() == wanted)
        .cloned()
        .unwrap_or_else(|| update.clone());
    Ok(Revisions {
        current,
        update,
        collision_count,
    })
}

/// The revision upstream's `newRevision` builds for `set`.
pub fn new_revision(
    set: &StatefulSet,
    data: &serde_json::Value,
    revision: i64,
    collision_count: i32,
) -> ControllerRevision {
    let hash = history::hash_revision(data, Some(collision_count));
    let mut labels: BTreeMap<String, String> = set
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(history::HASH_LABEL.into(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(history::revision_name(&set.name_any(), &hash)),
            namespace: set.namespace(),
            labels: Some(labels),
            annotations: set.metadata.annotations.clone(),
            owner_references: Some(vec![crate::util::controller_ref(set)]),
            ..Default::default()
        },
        data: Some(RawExtension(data.clone())),
        revision,
    }
}

/// Create the revision, moving past name collisions with other data.
async fn create(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    data: &serde_json::Value,
    revision: i64,
    collision_count: &mut i32,
) -> Result<ControllerRevision> {
    for _ in 0..MAX_COLLISIONS {
        let cr = new_revision(set, data, revision, *collision_count);
        match api.create(&PostParams::default(), &cr).await {
            Ok(created) => return Ok(created),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let existing = api
                    .get(&cr.name_any())
                    .await
                    .map_err(|e| Error::api("reading ControllerRevision", e))?;
                if history::same_data(&existing, data) {
                    return Ok(existing);
                }
                *collision_count += 1;
            }
            Err(e) => return Err(Error::api("creating ControllerRevision", e)),
        }
    }
    Err(Error::Collisions(*collision_count))
}

/// Delete the oldest revisions no pod and neither live revision uses,
/// keeping `revisionHistoryLimit` of them.
pub async fn truncate(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    pods: &[Pod],
    revisions: &[ControllerRevision],
    live: &[&str],
) -> Result<()> {
    let limit = set
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let mut keep: HashSet<&str> = live.iter().copied().collect();
    keep.extend(pods.iter().map(identity::pod_revision));
    let old: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| !keep.contains(r.name_any().as_str()))
        .collect();
    let Ok(limit) = usize::try_from(limit) else {
        return Ok(());
    };
    if old.len() <= limit {
        return Ok(());
    }
    for r in &old[..old.len() - limit] {
        match api.delete(&r.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(Error::api("deleting ControllerRevision", e)),
        }
    }
    Ok(())
}
