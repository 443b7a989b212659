//! A DaemonSet's ControllerRevisions (upstream `constructHistory`,
//! `snapshot`, `dedupCurHistories`, `cleanupHistory`): one revision per
//! distinct template, named `<ds>-<hash>` and labelled
//! `controller-revision-hash=<hash>`; the newest template's revision has the
//! highest number.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use super::{Error, Result};
use crate::history::{self, REVISION_HASH_LABEL};

fn template_data(ds: &DaemonSet) -> Result<serde_json::Value> {
    let spec = ds.spec.as_ref().ok_or(Error::NoSpec)?;
    Ok(history::template_patch(&spec.template))
}

/// The current revision (made if missing) and the old ones.
pub async fn construct(
    api: &Api<ControllerRevision>,
    pods: &Api<Pod>,
    ds: &DaemonSet,
    owned: Vec<ControllerRevision>,
    ds_pods: &[Pod],
) -> Result<(ControllerRevision, Vec<ControllerRevision>)> {
    let data = template_data(ds)?;
    let mut current = Vec::new();
    let mut old = Vec::new();
    for mut r in owned {
        if !r.labels().contains_key(REVISION_HASH_LABEL) {
            let patch =
                serde_json::json!({"metadata": {"labels": {REVISION_HASH_LABEL: r.name_any()}}});
            r = api
                .patch(
                    &r.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(|e| Error::api("labelling ControllerRevision", e))?;
        }
        if history::same_data(&r, &data) {
            current.push(r);
        } else {
            old.push(r);
        }
    }
    let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let cur = if current.is_empty() {
        snapshot(api, ds, &data, next).await?
    } else {
        let keep = dedup(api, pods, current, ds_pods).await?;
        if keep.revision < next {
            let patch = serde_json::json!({"revision": next});
            api.patch(
                &keep.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| Error::api("renumbering ControllerRevision", e))?
        } else {
            keep
        }
    };
    Ok((cur, old))
}

/// Keep the highest-numbered of several revisions holding the current
/// template; relabel pods onto it and delete the others.
async fn dedup(
    api: &Api<ControllerRevision>,
    pods: &Api<Pod>,
    mut current: Vec<ControllerRevision>,
    ds_pods: &[Pod],
) -> Result<ControllerRevision> {
    current.sort_by(history::by_revision);
    let Some(keep) = current.pop() else {
        return Err(Error::NoSpec);
    };
    if current.is_empty() {
        return Ok(keep);
    }
    let hash = keep
        .labels()
        .get(REVISION_HASH_LABEL)
        .cloned()
        .unwrap_or_default();
    for pod in ds_pods {
        if pod.labels().get(REVISION_HASH_LABEL) != Some(&hash) {
            let patch = serde_json::json!({"metadata": {"labels": {REVISION_HASH_LABEL: hash}}});
            pods.patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| Error::api("relabelling Pod", e))?;
        }
    }
    for r in current {
        delete(api, &r).await?;
    }
    Ok(keep)
}

/// Create the revision for the current template. On a name taken by other
/// data, bump `status.collisionCount` and fail so that the next sync uses
/// the new hash.
async fn snapshot(
    api: &Api<ControllerRevision>,
    ds: &DaemonSet,
    data: &serde_json::Value,
    revision: i64,
) -> Result<ControllerRevision> {
    let spec = ds.spec.as_ref().ok_or(Error::NoSpec)?;
    let collision = ds.status.as_ref().and_then(|s| s.collision_count);
    let hash = history::hash_template(&spec.template, collision);
    let name = format!("{}-{hash}", ds.name_any());
    let mut labels: BTreeMap<String, String> = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), hash);
    let cr = ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: ds.namespace(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![crate::util::controller_ref(ds)]),
            ..Default::default()
        },
        data: Some(RawExtension(data.clone())),
        revision,
    };
    match api.create(&PostParams::default(), &cr).await {
        Ok(c) => Ok(c),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api
                .get(&name)
                .await
                .map_err(|e| Error::api("reading ControllerRevision", e))?;
            if history::same_data(&existing, data) {
                return Ok(existing);
            }
            let sets: Api<DaemonSet> = Api::namespaced(
                api.clone().into_client(),
                &ds.namespace().unwrap_or_default(),
            );
            let patch =
                serde_json::json!({"status": {"collisionCount": collision.unwrap_or(0) + 1}});
            sets.patch_status(
                &ds.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| Error::api("bumping collisionCount", e))?;
            Err(Error::Collision)
        }
        Err(e) => Err(Error::api("creating ControllerRevision", e)),
    }
}

async fn delete(api: &Api<ControllerRevision>, r: &ControllerRevision) -> Result<()> {
    match api.delete(&r.name_any(), &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(Error::api("deleting ControllerRevision", e)),
    }
}

/// Delete the oldest revisions no pod uses beyond `revisionHistoryLimit`.
pub async fn cleanup(
    api: &Api<ControllerRevision>,
    ds: &DaemonSet,
    mut old: Vec<ControllerRevision>,
    pods: &[Pod],
) -> Result<()> {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut to_kill = old.len().saturating_sub(limit);
    if to_kill == 0 {
        return Ok(());
    }
    let live: HashSet<&String> = pods
        .iter()
        .filter_map(|p| p.labels().get(REVISION_HASH_LABEL))
        .collect();
    old.sort_by_key(|r| r.revision);
    for r in &old {
        if to_kill == 0 {
            break;
        }
        if r.labels()
            .get(REVISION_HASH_LABEL)
            .is_some_and(|h| live.contains(h))
        {
            continue;
        }
        delete(api, r).await?;
        to_kill -= 1;
    }
    Ok(())
}
