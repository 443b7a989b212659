//! `persistentvolume-binder`: upstream's PV controller for a cluster whose
//! storage is simulated. Claims bind to the smallest matching Available
//! volume (storage class, access modes, volume mode, capacity, selector),
//! or to the volume they or it name; claims of a class whose provisioner
//! is ours get a provisioned hostPath volume `pvc-<uid>`; claims without a
//! class get the default class (annotation
//! `storageclass.kubernetes.io/is-default-class: "true"`). Released volumes
//! follow their reclaim policy (Delete removes them, Retain keeps them
//! Released, Recycle makes them Available again). At start a default
//! StorageClass `standard` is created if none is marked default.
//!
//! Like the scheduler it works in passes over reflector stores, run on
//! every change (debounced) and every 10 s.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus,
    PersistentVolumeStatus, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::Notify;

use crate::events::{EventType, Recorder};
use crate::scheduler::resources::milli;
use crate::util::watched_store;
use crate::Context;

pub const PROVISIONER: &str = "ferrokube.io/simulated";
pub const DEFAULT_CLASS: &str = "standard";
const IS_DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
const IS_DEFAULT_BETA: &str = "storageclass.beta.kubernetes.io/is-default-class";
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
const STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
const STORAGE_PROVISIONER_BETA: &str = "volume.beta.kubernetes.io/storage-provisioner";
const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

const RESYNC: Duration = Duration::from_secs(10);
const DEBOUNCE: Duration = Duration::from_millis(50);

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let client = ctx.client.clone();
    ensure_default_class(&client).await?;
    let wake = Arc::new(Notify::new());
    let (claims, claim_events) = watched_store::<PersistentVolumeClaim>(&client, &wake);
    let (volumes, volume_events) = watched_store::<PersistentVolume>(&client, &wake);
    let (classes, class_events) = watched_store::<StorageClass>(&client, &wake);
    let binder = Binder {
        client: client.clone(),
        recorder: ctx.recorder("persistentvolume-controller"),
        claims,
        volumes,
        classes,
        reported: std::sync::Mutex::new(HashMap::new()),
    };
    let passes = async move {
        binder.claims.wait_until_ready().await?;
        binder.volumes.wait_until_ready().await?;
        binder.classes.wait_until_ready().await?;
        loop {
            binder.pass().await;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(RESYNC) => {}
            }
            tokio::time::sleep(DEBOUNCE).await;
        }
    };
    tokio::select! {
        _ = claim_events => anyhow::bail!("claim watch ended"),
        _ = volume_events => anyhow::bail!("volume watch ended"),
        _ = class_events => anyhow::bail!("storage class watch ended"),
        r = passes => r,
    }
}

/// A stream callback waking the pass loop on every successful event.
fn is_default(class: &StorageClass) -> bool {
    let a = class.annotations();
    a.get(IS_DEFAULT).map(String::as_str) == Some("true")
        || a.get(IS_DEFAULT_BETA).map(String::as_str) == Some("true")
}

/// Create `standard` (the default class) unless some class is the default.
async fn ensure_default_class(client: &Client) -> anyhow::Result<()> {
    let api: Api<StorageClass> = Api::all(client.clone());
    let list = api.list(&ListParams::default()).await?;
    if list.items.iter().any(is_default) {
        return Ok(());
    }
    let class: StorageClass = serde_json::from_value(json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": DEFAULT_CLASS, "annotations": {IS_DEFAULT: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }))?;
    match api.create(&PostParams::default(), &class).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

struct Binder {
    client: Client,
    recorder: Recorder,
    claims: Store<PersistentVolumeClaim>,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    /// Claims told why they wait: uid -> message (an event per change only).
    reported: std::sync::Mutex<HashMap<String, String>>,
}

fn claim_key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

fn storage_of(map: Option<&BTreeMap<String, Quantity>>) -> i128 {
    map.and_then(|m| m.get("storage"))
        .and_then(|q| milli(&q.0))
        .unwrap_or(0)
}

fn pv_phase(pv: &PersistentVolume) -> &str {
    pv.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// The class a claim asks for: its own, "" for none.
fn claim_class(pvc: &PersistentVolumeClaim) -> &str {
    pvc.spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("")
}

/// Whether `pv` can serve `pvc` (upstream `checkVolumeSatisfyClaim` plus
/// the selector).
pub fn volume_matches(pv: &PersistentVolume, pvc: &PersistentVolumeClaim) -> bool {
    let (Some(vs), Some(cs)) = (&pv.spec, &pvc.spec) else {
        return false;
    };
    if vs.storage_class_name.as_deref().unwrap_or("") != claim_class(pvc) {
        return false;
    }
    let want = storage_of(cs.resources.as_ref().and_then(|r| r.requests.as_ref()));
    if storage_of(vs.capacity.as_ref()) < want {
        return false;
    }
    let modes = vs.access_modes.clone().unwrap_or_default();
    if !cs.access_modes.iter().flatten().all(|m| modes.contains(m)) {
        return false;
    }
    let mode = |m: Option<&String>| m.map(String::as_str).unwrap_or("Filesystem").to_string();
    if mode(vs.volume_mode.as_ref()) != mode(cs.volume_mode.as_ref()) {
        return false;
    }
    if let Some(sel) = &cs.selector {
        if !selector_matches(sel, pv.labels()) {
            return false;
        }
    }
    true
}

fn selector_matches(
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: &BTreeMap<String, String>,
) -> bool {
    let by_labels = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    by_labels
        && sel.match_expressions.iter().flatten().all(|r| {
            let value = labels.get(&r.key);
            let values = r.values.as_deref().unwrap_or_default();
            match r.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => !value.is_some_and(|v| values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// Whether the volume's claimRef names this claim (by uid when it has one).
fn refers_to(pv: &PersistentVolume, pvc: &PersistentVolumeClaim) -> bool {
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name.as_deref() == Some(pvc.name_any().as_str())
        && r.namespace.as_deref() == pvc.namespace().as_deref()
        && r.uid
            .as_deref()
            .is_none_or(|u| u.is_empty() || Some(u) == pvc.uid().as_deref())
}

fn claim_reference(pvc: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        name: Some(pvc.name_any()),
        namespace: pvc.namespace(),
        uid: pvc.uid(),
        resource_version: pvc.resource_version(),
        field_path: None,
    }
}

impl Binder {
    async fn pass(&self) {
        let volumes = self.volumes.state();
        let claims = self.claims.state();
        let by_key: HashMap<String, &Arc<PersistentVolumeClaim>> = claims
            .iter()
            .map(|c| {
                (
                    claim_key(&c.namespace().unwrap_or_default(), &c.name_any()),
                    c,
                )
            })
            .collect();
        for pv in &volumes {
            if let Err(e) = self.sync_volume(pv, &by_key).await {
                tracing::debug!(pv = %pv.name_any(), error = %e, "volume sync failed");
            }
        }
        let mut taken: HashSet<String> = HashSet::new();
        let live: HashSet<String> = claims.iter().filter_map(|c| c.uid()).collect();
        self.lock_reported().retain(|uid, _| live.contains(uid));
        for pvc in &claims {
            if crate::util::is_deleting(pvc.as_ref()) {
                continue;
            }
            if let Err(e) = self.sync_claim(pvc, &volumes, &mut taken).await {
                tracing::debug!(pvc = %pvc.name_any(), error = %e, "claim sync failed");
            }
        }
    }

    fn lock_reported(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        match self.reported.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// One event per distinct reason a claim waits.
    async fn report(
        &self,
        pvc: &PersistentVolumeClaim,
        kind: EventType,
        reason: &str,
        message: &str,
    ) {
        let uid = pvc.uid().unwrap_or_default();
        let key = format!("{reason}: {message}");
        if self.lock_reported().get(&uid) == Some(&key) {
            return;
        }
        self.recorder.publish(pvc, kind, reason, message).await;
        self.lock_reported().insert(uid, key);
    }

    /// A volume's phase from its claim; released volumes reclaimed.
    async fn sync_volume(
        &self,
        pv: &PersistentVolume,
        claims: &HashMap<String, &Arc<PersistentVolumeClaim>>,
    ) -> kube::Result<()> {
        if crate::util::is_deleting(pv) {
            return Ok(());
        }
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
            return self.set_volume_phase(pv, "Available").await;
        };
        let key = claim_key(
            r.namespace.as_deref().unwrap_or(""),
            r.name.as_deref().unwrap_or(""),
        );
        let ref_uid = r.uid.clone().unwrap_or_default();
        let claim = claims
            .get(&key)
            .filter(|c| ref_uid.is_empty() || c.uid().as_deref() == Some(ref_uid.as_str()));
        match claim {
            Some(c) => {
                let volume_name = c
                    .spec
                    .as_ref()
                    .and_then(|s| s.volume_name.as_deref())
                    .unwrap_or("");
                if volume_name == pv.name_any() {
                    self.set_volume_phase(pv, "Bound").await
                } else if volume_name.is_empty() {
                    // Pre-bound to a claim not bound yet: the claim's sync binds them.
                    self.set_volume_phase(
                        pv,
                        if ref_uid.is_empty() {
                            "Available"
                        } else {
                            "Bound"
                        },
                    )
                    .await
                } else if pv.annotations().contains_key(BOUND_BY_CONTROLLER) {
                    // The claim went to another volume: we bound this one, we free it.
                    let mut next = pv.clone();
                    if let Some(s) = next.spec.as_mut() {
                        s.claim_ref = None;
                    }
                    next.annotations_mut().remove(BOUND_BY_CONTROLLER);
                    api.replace(&pv.name_any(), &PostParams::default(), &next)
                        .await?;
                    Ok(())
                } else {
                    Ok(())
                }
            }
            None if ref_uid.is_empty() => self.set_volume_phase(pv, "Available").await,
            None => {
                // Its claim is gone: Released, then reclaimed.
                let policy = pv
                    .spec
                    .as_ref()
                    .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
                    .unwrap_or("Retain");
                match policy {
                    "Delete" => match api.delete(&pv.name_any(), &DeleteParams::default()).await {
                        Ok(_) => Ok(()),
                        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                        Err(e) => Err(e),
                    },
                    "Recycle" => {
                        let mut next = pv.clone();
                        if let Some(s) = next.spec.as_mut() {
                            s.claim_ref = None;
                        }
                        api.replace(&pv.name_any(), &PostParams::default(), &next)
                            .await?;
                        Ok(())
                    }
                    _ => self.set_volume_phase(pv, "Released").await,
                }
            }
        }
    }

    async fn set_volume_phase(&self, pv: &PersistentVolume, phase: &str) -> kube::Result<()> {
        if pv_phase(pv) == phase {
            return Ok(());
        }
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        let mut next = pv.clone();
        next.status = Some(PersistentVolumeStatus {
            phase: Some(phase.into()),
            last_phase_transition_time: Some(crate::util::now()),
            ..Default::default()
        });
        api.replace_status(&pv.name_any(), &PostParams::default(), &next)
            .await?;
        Ok(())
    }

    async fn sync_claim(
        &self,
        pvc: &PersistentVolumeClaim,
        volumes: &[Arc<PersistentVolume>],
        taken: &mut HashSet<String>,
    ) -> kube::Result<()> {
        let volume_name = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .unwrap_or_default();
        if !volume_name.is_empty() {
            let Some(pv) = volumes.iter().find(|v| v.name_any() == volume_name) else {
                if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound") {
                    self.set_claim_status(pvc, "Lost", None).await?;
                    self.report(
                        pvc,
                        EventType::Warning,
                        "ClaimLost",
                        "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                    )
                    .await;
                }
                return Ok(());
            };
            let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
            if claim_ref.is_some() && !refers_to(pv, pvc) {
                self.report(
                    pvc,
                    EventType::Warning,
                    "FailedBinding",
                    &format!("volume \"{volume_name}\" already bound to a different claim."),
                )
                .await;
                return Ok(());
            }
            taken.insert(volume_name);
            return self.bind(pv, pvc).await;
        }
        // A pre-bound volume first, else the smallest match.
        let mut candidates: Vec<&Arc<PersistentVolume>> = volumes
            .iter()
            .filter(|v| !crate::util::is_deleting(v.as_ref()) && !taken.contains(&v.name_any()))
            .filter(|v| volume_matches(v, pvc))
            .filter(|v| {
                let free = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none()
                    && pv_phase(v) != "Released"
                    && pv_phase(v) != "Failed";
                free || refers_to(v, pvc)
            })
            .collect();
        candidates.sort_by_key(|v| {
            (
                !refers_to(v, pvc),
                storage_of(v.spec.as_ref().and_then(|s| s.capacity.as_ref())),
                v.name_any(),
            )
        });
        if let Some(pv) = candidates.first() {
            taken.insert(pv.name_any());
            return self.bind(pv, pvc).await;
        }
        let class_name = pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone());
        let classes = self.classes.state();
        let class = match &class_name {
            Some(name) if !name.is_empty() => {
                classes.iter().find(|c| &c.name_any() == name).cloned()
            }
            Some(_) => None,
            None => {
                // No class asked for: the default one, written into the claim.
                let default = classes
                    .iter()
                    .filter(|c| is_default(c))
                    .max_by_key(|c| c.creation_timestamp())
                    .cloned();
                if let Some(d) = &default {
                    let api: Api<PersistentVolumeClaim> =
                        Api::namespaced(self.client.clone(), &pvc.namespace().unwrap_or_default());
                    let patch = json!({"spec": {"storageClassName": d.name_any()}});
                    api.patch(
                        &pvc.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                    // The next pass provisions with the claim as stored.
                    return Ok(());
                }
                None
            }
        };
        let Some(class) = class else {
            let message = match &class_name {
                Some(name) if !name.is_empty() => {
                    format!("storageclass.storage.k8s.io \"{name}\" not found")
                }
                _ => "no persistent volumes available for this claim and no storage class is set"
                    .to_string(),
            };
            let kind = if class_name.as_deref().is_some_and(|n| !n.is_empty()) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.report(pvc, kind, "FailedBinding", &message).await;
            return Ok(());
        };
        if class.provisioner != PROVISIONER {
            self.report(
                pvc,
                EventType::Normal,
                "ExternalProvisioning",
                &format!(
                    "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                    class.provisioner
                ),
            )
            .await;
            return Ok(());
        }
        if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
            && !self.has_scheduled_consumer(pvc).await?
        {
            self.report(
                pvc,
                EventType::Normal,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            )
            .await;
            return Ok(());
        }
        self.provision(pvc, &class).await
    }

    /// Whether a pod using the claim has been given a node.
    async fn has_scheduled_consumer(&self, pvc: &PersistentVolumeClaim) -> kube::Result<bool> {
        if pvc.annotations().contains_key(SELECTED_NODE) {
            return Ok(true);
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pvc.namespace().unwrap_or_default());
        let name = pvc.name_any();
        Ok(api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .any(|p| {
                let Some(spec) = &p.spec else { return false };
                spec.node_name.as_deref().is_some_and(|n| !n.is_empty())
                    && spec.volumes.iter().flatten().any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == name)
                    })
            }))
    }

    async fn provision(
        &self,
        pvc: &PersistentVolumeClaim,
        class: &StorageClass,
    ) -> kube::Result<()> {
        let uid = pvc.uid().unwrap_or_default();
        let name = format!("pvc-{uid}");
        let spec = pvc.spec.clone().unwrap_or_default();
        let request = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .cloned()
            .unwrap_or(Quantity("1Gi".into()));
        let pv: PersistentVolume = match serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: class.provisioner}},
            "spec": {
                "capacity": {"storage": request},
                "accessModes": spec.access_modes.clone().unwrap_or_default(),
                "persistentVolumeReclaimPolicy": class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                "storageClassName": class.name_any(),
                "volumeMode": spec.volume_mode.clone().unwrap_or_else(|| "Filesystem".into()),
                "mountOptions": class.mount_options.clone(),
                "claimRef": claim_reference(pvc),
                "hostPath": {"path": format!("/var/lib/ferrokube/volumes/{name}"), "type": "DirectoryOrCreate"},
            },
        })) {
            Ok(pv) => pv,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build a volume");
                return Ok(());
            }
        };
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), &pv).await {
            Ok(_) => {
                self.recorder
                    .publish(
                        pvc,
                        EventType::Normal,
                        "ProvisioningSucceeded",
                        &format!(
                            "Successfully provisioned volume {name} using {}",
                            class.provisioner
                        ),
                    )
                    .await;
                Ok(())
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Both sides of a binding: the volume's claimRef and phase, the
    /// claim's volumeName, annotations and status. Each write is skipped
    /// when already done, so a pass that was interrupted just goes on.
    async fn bind(&self, pv: &PersistentVolume, pvc: &PersistentVolumeClaim) -> kube::Result<()> {
        let volumes: Api<PersistentVolume> = Api::all(self.client.clone());
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &pvc.namespace().unwrap_or_default());
        let mut pv = pv.clone();
        let bound_uid = pv
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .and_then(|r| r.uid.clone())
            .unwrap_or_default();
        if bound_uid != pvc.uid().unwrap_or_default() {
            let set_by_us = pv
                .spec
                .as_ref()
                .and_then(|s| s.claim_ref.as_ref())
                .is_none();
            if let Some(s) = pv.spec.as_mut() {
                s.claim_ref = Some(claim_reference(pvc));
            }
            if set_by_us {
                pv.annotations_mut()
                    .insert(BOUND_BY_CONTROLLER.into(), "yes".into());
            }
            pv = volumes
                .replace(&pv.name_any(), &PostParams::default(), &pv)
                .await?;
        }
        if pv_phase(&pv) != "Bound" {
            self.set_volume_phase(&pv, "Bound").await?;
        }
        let mut claim = pvc.clone();
        let claim_volume = claim
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .unwrap_or_default();
        let mut changed = false;
        if claim_volume.is_empty() {
            if let Some(s) = claim.spec.as_mut() {
                s.volume_name = Some(pv.name_any());
            }
            claim
                .annotations_mut()
                .insert(BOUND_BY_CONTROLLER.into(), "yes".into());
            changed = true;
        }
        if claim.annotations().get(BIND_COMPLETED).map(String::as_str) != Some("yes") {
            claim
                .annotations_mut()
                .insert(BIND_COMPLETED.into(), "yes".into());
            changed = true;
        }
        if let Some(p) = pv.annotations().get(PROVISIONED_BY).cloned() {
            for key in [STORAGE_PROVISIONER, STORAGE_PROVISIONER_BETA] {
                if claim.annotations().get(key) != Some(&p) {
                    claim.annotations_mut().insert(key.into(), p.clone());
                    changed = true;
                }
            }
        }
        if changed {
            claim = claims
                .replace(&claim.name_any(), &PostParams::default(), &claim)
                .await?;
        }
        self.set_claim_status(&claim, "Bound", Some(&pv)).await
    }

    async fn set_claim_status(
        &self,
        pvc: &PersistentVolumeClaim,
        phase: &str,
        pv: Option<&PersistentVolume>,
    ) -> kube::Result<()> {
        let old = pvc.status.clone().unwrap_or_default();
        let status = PersistentVolumeClaimStatus {
            phase: Some(phase.into()),
            access_modes: pv
                .and_then(|v| v.spec.as_ref())
                .and_then(|s| s.access_modes.clone())
                .or_else(|| old.access_modes.clone()),
            capacity: pv
                .and_then(|v| v.spec.as_ref())
                .and_then(|s| s.capacity.clone())
                .or_else(|| old.capacity.clone()),
            ..old.clone()
        };
        if status == old {
            return Ok(());
        }
        let api: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &pvc.namespace().unwrap_or_default());
        let mut next = pvc.clone();
        next.status = Some(status);
        api.replace_status(&pvc.name_any(), &PostParams::default(), &next)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv(
        name: &str,
        class: &str,
        size: &str,
        modes: &[&str],
        labels: serde_json::Value,
    ) -> PersistentVolume {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"storageClassName": class, "capacity": {"storage": size}, "accessModes": modes,
                     "hostPath": {"path": "/tmp/x"}}
        }))
        .expect("pv")
    }

    fn pvc(
        class: Option<&str>,
        size: &str,
        modes: &[&str],
        selector: serde_json::Value,
    ) -> PersistentVolumeClaim {
        let mut spec = json!({"accessModes": modes, "resources": {"requests": {"storage": size}}});
        if let Some(c) = class {
            spec["storageClassName"] = json!(c);
        }
        if !selector.is_null() {
            spec["selector"] = selector;
        }
        serde_json::from_value(
            json!({"metadata": {"name": "c", "namespace": "ns", "uid": "u"}, "spec": spec}),
        )
        .expect("pvc")
    }

    #[test]
    fn volumes_match_on_class_size_modes_and_selector() {
        let v = pv(
            "v",
            "fast",
            "10Gi",
            &["ReadWriteOnce", "ReadOnlyMany"],
            json!({"tier": "gold"}),
        );
        assert!(volume_matches(
            &v,
            &pvc(Some("fast"), "5Gi", &["ReadWriteOnce"], json!(null))
        ));
        assert!(volume_matches(
            &v,
            &pvc(Some("fast"), "10Gi", &["ReadOnlyMany"], json!(null))
        ));
        assert!(!volume_matches(
            &v,
            &pvc(Some("fast"), "11Gi", &["ReadWriteOnce"], json!(null))
        ));
        assert!(!volume_matches(
            &v,
            &pvc(Some("slow"), "1Gi", &["ReadWriteOnce"], json!(null))
        ));
        assert!(!volume_matches(
            &v,
            &pvc(None, "1Gi", &["ReadWriteOnce"], json!(null))
        ));
        assert!(!volume_matches(
            &v,
            &pvc(Some("fast"), "1Gi", &["ReadWriteMany"], json!(null))
        ));
        assert!(volume_matches(
            &v,
            &pvc(
                Some("fast"),
                "1Gi",
                &[],
                json!({"matchLabels": {"tier": "gold"}})
            )
        ));
        assert!(!volume_matches(
            &v,
            &pvc(
                Some("fast"),
                "1Gi",
                &[],
                json!({"matchLabels": {"tier": "silver"}})
            )
        ));
        assert!(volume_matches(
            &v,
            &pvc(
                Some("fast"),
                "1Gi",
                &[],
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold"]}]})
            )
        ));
        let plain = pv("p", "", "1Gi", &["ReadWriteOnce"], json!({}));
        assert!(volume_matches(
            &plain,
            &pvc(Some(""), "1Gi", &["ReadWriteOnce"], json!(null))
        ));
    }
}
