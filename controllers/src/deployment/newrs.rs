//! Finding (or creating) the Deployment's new ReplicaSet, the one whose
//! template is the Deployment's, and keeping its revision, its annotations
//! and the Deployment's revision annotation up to date (upstream's
//! getNewReplicaSet in `sync.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::json;

use super::history::{self, HASH_LABEL};
use super::{api_message, oldest_first, rolling, status, Error, Run};
use crate::events::EventType;
use crate::util::{controller_of, controller_ref};

impl Run<'_> {
    /// Split into the new ReplicaSet (the one with the Deployment's template,
    /// created if asked) and the old ones, bringing the new one's revision
    /// and annotations up to date.
    pub(super) async fn new_and_old(
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
}
