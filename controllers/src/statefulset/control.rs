//! One sync of a StatefulSet's pods (upstream `updateStatefulSet`): create
//! missing ordinals (in order and only past Running+Ready predecessors for
//! OrderedReady, all at once for Parallel), remove ordinals past the end
//! (highest first), then roll pods at or above the partition onto the
//! update revision, highest ordinal first, one at a time.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use super::identity::{self, pod_revision};
use super::order::{self, PodState, Step};
use super::{Error, Result};
use crate::events::{EventType, Recorder};
use crate::podutil;

/// What one sync needs.
pub struct Sync<'a> {
    pub set: &'a StatefulSet,
    pub pods: Api<Pod>,
    pub claims: Api<PersistentVolumeClaim>,
    pub recorder: &'a Recorder,
    pub current: &'a ControllerRevision,
    pub update: &'a ControllerRevision,
    pub current_template: PodTemplateSpec,
    pub update_template: PodTemplateSpec,
    pub now: jiff::Timestamp,
}

/// A slot of the set: the pod there, or the pod we would create.
struct Slot {
    pod: Pod,
    exists: bool,
}

/// What a sync found, for the status and the requeue.
pub struct Outcome {
    pub status: StatefulSetStatus,
    /// Wake up then to see pods become available.
    pub recheck: Option<Duration>,
}

impl Sync<'_> {
    fn min_ready(&self) -> i32 {
        self.set
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn monotonic(&self) -> bool {
        self.set
            .spec
            .as_ref()
            .and_then(|s| s.pod_management_policy.as_deref())
            != Some("Parallel")
    }

    fn strategy(&self) -> (&str, i32) {
        let us = self
            .set
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref());
        let kind = us
            .and_then(|u| u.type_.as_deref())
            .unwrap_or("RollingUpdate");
        let partition = us
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0);
        (kind, partition)
    }

    fn available(&self, pod: &Pod) -> bool {
        podutil::phase(pod) == "Running" && podutil::is_available(pod, self.min_ready(), self.now)
    }

    fn running_and_ready(pod: &Pod) -> bool {
        podutil::phase(pod) == "Running" && podutil::is_ready(pod)
    }

    /// The pod for a missing ordinal: at the current revision below the
    /// partition, at the update revision otherwise (`newVersionedStatefulSetPod`).
    fn versioned_pod(&self, ord: i32) -> Pod {
        let (kind, partition) = self.strategy();
        let index = ord - identity::start_ordinal(self.set);
        if order::uses_current_revision(kind == "RollingUpdate", partition, index) {
            identity::new_pod(
                self.set,
                &self.current_template,
                ord,
                &self.current.name_any(),
            )
        } else {
            identity::new_pod(
                self.set,
                &self.update_template,
                ord,
                &self.update.name_any(),
            )
        }
    }

    /// What the ordering rules see of a slot.
    fn state(&self, pod: &Pod, exists: bool) -> PodState {
        PodState {
            exists,
            running_ready: Self::running_and_ready(pod),
            available: self.available(pod),
            terminating: podutil::is_terminating(pod),
            terminal: podutil::is_terminal(pod),
            updated: pod_revision(pod) == self.update.name_any(),
        }
    }

    /// Run the sync over the set's claimed pods.
    pub async fn run(&self, pods: Vec<Pod>) -> Result<Outcome> {
        let start = identity::start_ordinal(self.set);
        let end = identity::end_ordinal(self.set);
        let mut slots: Vec<Slot> = (start..=end)
            .map(|ord| Slot {
                pod: self.versioned_pod(ord),
                exists: false,
            })
            .collect();
        let mut condemned: Vec<Pod> = Vec::new();
        for pod in pods {
            match identity::ordinal(&pod) {
                Some(ord) if identity::in_range(self.set, ord) => {
                    if let Some(slot) = usize::try_from(ord - start)
                        .ok()
                        .and_then(|i| slots.get_mut(i))
                    {
                        *slot = Slot { pod, exists: true };
                    }
                }
                Some(_) => condemned.push(pod),
                None => {}
            }
        }
        condemned.sort_by_key(|p| std::cmp::Reverse(identity::ordinal(p)));

        let mut outcome = Outcome {
            status: StatefulSetStatus::default(),
            recheck: None,
        };
        let done = self.work(&mut slots, &condemned).await;
        let existing: Vec<&Pod> = slots
            .iter()
            .filter(|s| s.exists)
            .map(|s| &s.pod)
            .chain(condemned.iter())
            .collect();
        outcome.status = self.count(&existing);
        if let Ok(Progress::DeletedForUpdate) = done {
            outcome.status.current_replicas = outcome.status.current_replicas.map(|c| c - 1);
        }
        outcome.recheck = existing
            .iter()
            .filter_map(|p| podutil::until_available(p, self.min_ready(), self.now))
            .min();
        done.map(|_| outcome)
    }

    /// Status counts over the pods that exist (`updateStatus`).
    fn count(&self, pods: &[&Pod]) -> StatefulSetStatus {
        let mut s = StatefulSetStatus::default();
        let (mut replicas, mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0, 0);
        for pod in pods {
            let created = !podutil::phase(pod).is_empty();
            if created {
                replicas += 1;
            }
            if Self::running_and_ready(pod) {
                ready += 1;
                if self.available(pod) {
                    available += 1;
                }
            }
            if created && !podutil::is_terminating(pod) {
                if pod_revision(pod) == self.current.name_any() {
                    current += 1;
                }
                if pod_revision(pod) == self.update.name_any() {
                    updated += 1;
                }
            }
        }
        s.replicas = replicas;
        s.ready_replicas = Some(ready);
        s.available_replicas = Some(available);
        s.current_replicas = Some(current);
        s.updated_replicas = Some(updated);
        s
    }

    async fn work(&self, slots: &mut [Slot], condemned: &[Pod]) -> Result<Progress> {
        if crate::util::is_deleting(self.set) {
            return Ok(Progress::Blocked);
        }
        let monotonic = self.monotonic();
        let states: Vec<PodState> = slots.iter().map(|s| self.state(&s.pod, s.exists)).collect();
        for step in order::plan_replicas(&states, monotonic) {
            match step {
                Step::Create(i) => {
                    if let Some(slot) = slots.get_mut(i) {
                        slot.pod = self.create_pod(&slot.pod).await?;
                        slot.exists = true;
                    }
                }
                Step::Delete(i) => {
                    if let Some(slot) = slots.get(i) {
                        self.delete_pod(&slot.pod).await?;
                    }
                }
                Step::Fix(i) | Step::Wait(i) => {
                    if let Some(slot) = slots.get(i).filter(|s| s.exists) {
                        if podutil::phase(&slot.pod) == "Pending" {
                            self.create_claims(&slot.pod).await?;
                        }
                        if !step.blocks() {
                            self.fix_replica(&slot.pod).await?;
                        }
                    }
                }
            }
            if step.blocks() {
                return Ok(Progress::Blocked);
            }
        }
        for pod in condemned {
            self.fix_claims(pod, false).await?;
        }
        let states: Vec<PodState> = condemned.iter().map(|p| self.state(p, true)).collect();
        for step in order::plan_condemned(&states, monotonic) {
            if let Some(pod) = match step {
                Step::Delete(i) => condemned.get(i),
                _ => None,
            } {
                self.delete_pod(pod).await?;
            }
            if step.blocks() {
                return Ok(Progress::Blocked);
            }
        }
        let (kind, partition) = self.strategy();
        if kind == "OnDelete" {
            return Ok(Progress::Done);
        }
        let states: Vec<PodState> = slots.iter().map(|s| self.state(&s.pod, s.exists)).collect();
        match order::plan_roll(&states, partition) {
            Some(Step::Delete(i)) => {
                if let Some(slot) = slots.get(i) {
                    self.delete_pod(&slot.pod).await?;
                }
                Ok(Progress::DeletedForUpdate)
            }
            Some(_) => Ok(Progress::Blocked),
            None => Ok(Progress::Done),
        }
    }

    /// Claims per the retention policy, then the pod's identity and storage.
    async fn fix_replica(&self, pod: &Pod) -> Result<()> {
        self.fix_claims(pod, true).await?;
        if !identity::identity_matches(self.set, pod) || !identity::storage_matches(self.set, pod) {
            self.update_pod(pod).await?;
        }
        Ok(())
    }

    async fn create_claims(&self, pod: &Pod) -> Result<()> {
        let Some(ord) = identity::ordinal(pod) else {
            return Ok(());
        };
        for (_, claim) in identity::claims(self.set, ord) {
            let name = claim.name_any();
            match self.claims.get_opt(&name).await {
                Ok(Some(existing)) => {
                    if existing.metadata.deletion_timestamp.is_some() {
                        return Err(Error::ClaimDeleting(name));
                    }
                }
                Ok(None) => match self.claims.create(&PostParams::default(), &claim).await {
                    Ok(_) => {
                        let msg = format!(
                            "create Claim {name} Pod {} in StatefulSet {} success",
                            pod.name_any(),
                            self.set.name_any()
                        );
                        self.recorder
                            .publish(self.set, EventType::Normal, "SuccessfulCreate", &msg)
                            .await;
                    }
                    Err(kube::Error::Api(e)) if e.code == 409 => {}
                    Err(e) => {
                        let msg = format!(
                            "create Claim {name} for Pod {} in StatefulSet {} failed error: {e}",
                            pod.name_any(),
                            self.set.name_any()
                        );
                        self.recorder
                            .publish(self.set, EventType::Warning, "FailedCreate", &msg)
                            .await;
                        return Err(Error::api("creating PersistentVolumeClaim", e));
                    }
                },
                Err(e) => return Err(Error::api("reading PersistentVolumeClaim", e)),
            }
        }
        Ok(())
    }

    /// `CreateStatefulPod`: claims first, then the pod.
    async fn create_pod(&self, pod: &Pod) -> Result<Pod> {
        if let Err(e) = self.create_claims(pod).await {
            self.pod_event("create", pod, Some(&e.to_string())).await;
            return Err(e);
        }
        match self.pods.create(&PostParams::default(), pod).await {
            Ok(created) => {
                self.pod_event("create", pod, None).await;
                self.fix_claims(&created, true).await?;
                Ok(created)
            }
            // Someone else's pod holds the name: retry later, quietly (as upstream).
            Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::PodExists(pod.name_any())),
            Err(e) => {
                self.pod_event("create", pod, Some(&e.to_string())).await;
                Err(Error::api("creating Pod", e))
            }
        }
    }

    async fn update_pod(&self, pod: &Pod) -> Result<()> {
        let Some(ord) = identity::ordinal(pod) else {
            return Ok(());
        };
        let mut pod = pod.clone();
        identity::update_identity(self.set, &mut pod, ord);
        if !identity::storage_matches(self.set, &pod) {
            identity::update_storage(self.set, &mut pod, ord);
            self.create_claims(&pod).await?;
        }
        match self
            .pods
            .replace(&pod.name_any(), &PostParams::default(), &pod)
            .await
        {
            Ok(_) => {
                self.pod_event("update", &pod, None).await;
                Ok(())
            }
            Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Err(Error::Stale),
            Err(e) => {
                self.pod_event("update", &pod, Some(&e.to_string())).await;
                Err(Error::api("updating Pod", e))
            }
        }
    }

    async fn delete_pod(&self, pod: &Pod) -> Result<()> {
        match self
            .pods
            .delete(&pod.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {
                self.pod_event("delete", pod, None).await;
                Ok(())
            }
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => {
                self.pod_event("delete", pod, Some(&e.to_string())).await;
                Err(Error::api("deleting Pod", e))
            }
        }
    }

    /// `recordPodEvent`: `SuccessfulCreate` "create Pod web-0 in StatefulSet
    /// web successful", or `FailedCreate` with the error.
    async fn pod_event(&self, verb: &str, pod: &Pod, err: Option<&str>) {
        let title = {
            let mut c = verb.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        let (kind, reason, msg) = match err {
            None => (
                EventType::Normal,
                format!("Successful{title}"),
                format!(
                    "{verb} Pod {} in StatefulSet {} successful",
                    pod.name_any(),
                    self.set.name_any()
                ),
            ),
            Some(e) => (
                EventType::Warning,
                format!("Failed{title}"),
                format!(
                    "{verb} Pod {} in StatefulSet {} failed error: {e}",
                    pod.name_any(),
                    self.set.name_any()
                ),
            ),
        };
        self.recorder.publish(self.set, kind, &reason, &msg).await;
    }

    /// `persistentVolumeClaimRetentionPolicy`, best effort: with
    /// `whenDeleted: Delete` a claim of a live ordinal is owned by the set;
    /// with `whenScaled: Delete` a claim of a condemned ordinal is owned by
    /// its pod. The garbage collector does the deleting. Claims owned by
    /// another controller are left alone.
    async fn fix_claims(&self, pod: &Pod, live: bool) -> Result<()> {
        let Some(ord) = identity::ordinal(pod) else {
            return Ok(());
        };
        let policy = self
            .set
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
        let when = |f: Option<&String>| f.map(String::as_str) == Some("Delete");
        let when_deleted = when(policy.and_then(|p| p.when_deleted.as_ref()));
        let when_scaled = when(policy.and_then(|p| p.when_scaled.as_ref()));
        let set_uid = self.set.uid().unwrap_or_default();
        let pod_uid = pod.uid().unwrap_or_default();
        let want_set = when_deleted && live;
        let want_pod = when_scaled && !live && !pod_uid.is_empty();
        for (_, wanted) in identity::claims(self.set, ord) {
            let Some(claim) = self
                .claims
                .get_opt(&wanted.name_any())
                .await
                .map_err(|e| Error::api("reading PersistentVolumeClaim", e))?
            else {
                continue;
            };
            let refs = claim.owner_references();
            let foreign = refs
                .iter()
                .any(|r| r.controller == Some(true) && r.uid != set_uid && r.uid != pod_uid);
            if foreign {
                continue;
            }
            let has = |uid: &str| refs.iter().any(|r| r.uid == uid);
            if has(&set_uid) == want_set && has(&pod_uid) == want_pod {
                continue;
            }
            let mut new: Vec<OwnerReference> = refs
                .iter()
                .filter(|r| r.uid != set_uid && r.uid != pod_uid)
                .cloned()
                .collect();
            if want_set {
                new.push(crate::util::controller_ref(self.set));
            }
            if want_pod {
                new.push(crate::util::controller_ref(pod));
            }
            let patch = serde_json::json!({"metadata": {"ownerReferences": new}});
            match self
                .claims
                .patch(
                    &claim.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(Error::api("updating PersistentVolumeClaim owners", e)),
            }
        }
        Ok(())
    }
}

/// How far a sync got.
pub enum Progress {
    /// Everything is as wanted.
    Done,
    /// Waiting on pods (or on a deletion) before going on.
    Blocked,
    /// A pod was deleted to be recreated at the update revision.
    DeletedForUpdate,
}
