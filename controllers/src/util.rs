#![allow(dead_code)] // shared helpers; not every controller uses each one
//! Small helpers every controller uses: owner references, conditions, time.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Resource, ResourceExt};
use tokio::sync::Notify;

/// The controller ownerReference (`controller: true`,
/// `blockOwnerDeletion: true`) that `owner` puts on what it creates.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).to_string(),
        kind: K::kind(&()).to_string(),
        name: owner.name_any(),
        uid: owner.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The ownerReference marked `controller: true`, if any.
pub fn controller_of<K: Resource>(obj: &K) -> Option<&OwnerReference> {
    obj.meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether `obj` is controlled by the object with `uid`.
pub fn is_controlled_by<K: Resource>(obj: &K, uid: &str) -> bool {
    controller_of(obj).is_some_and(|r| r.uid == uid)
}

/// Whether `obj` is being deleted.
pub fn is_deleting<K: Resource>(obj: &K) -> bool {
    obj.meta().deletion_timestamp.is_some()
}

pub fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// A reflector store of every `K` and the future that feeds it, waking
/// `wake` on each change (for controllers that work in passes over
/// several stores, like the scheduler and the volume binder).
pub fn watched_store<K>(
    client: &kube::Client,
    wake: &Arc<Notify>,
) -> (Store<K>, impl std::future::Future<Output = ()>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let wake = wake.clone();
    let events = reflector::reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), watcher::Config::default()).default_backoff(),
    )
    .for_each(move |ev| {
        if ev.is_ok() {
            wake.notify_one();
        }
        futures::future::ready(())
    });
    (store, events)
}
