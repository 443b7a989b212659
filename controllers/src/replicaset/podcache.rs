//! The controller's view of every pod: one watch of all namespaces feeds
//! it (as upstream's shared pod informer), and it indexes the pods by the
//! uid of their controller, plus the orphans (no controller) of each
//! namespace. A ReplicaSet sync reads exactly the pods it may claim, its own
//! and its namespace's orphans, without asking the API server; pods
//! controlled by something else are never candidates.
//!
//! [`PodCache::apply`] turns each watch event into the changes it made
//! (added, updated with the previous version, deleted), which drive the
//! ReplicaSet queue and its expectations. A re-list (after the watch lost its
//! place) is buffered and swapped in whole, and reports the pods that
//! vanished meanwhile as deleted.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;
use kube::ResourceExt;

use crate::util::controller_of;

/// What one watch event changed in the cache.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Added(Arc<Pod>),
    /// The previous version, then the new one.
    Updated(Arc<Pod>, Arc<Pod>),
    Deleted(Arc<Pod>),
}

#[derive(Debug, Default)]
pub(crate) struct PodCache {
    inner: RwLock<Inner>,
    synced: AtomicBool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every pod by `namespace/name`.
    pods: HashMap<String, Arc<Pod>>,
    /// Keys of the pods each controller uid controls.
    by_controller: HashMap<String, HashSet<String>>,
    /// Keys of the pods without a controller, per namespace.
    orphans: HashMap<String, HashSet<String>>,
    /// A re-list in progress: the pods listed so far.
    relist: Option<HashMap<String, Arc<Pod>>>,
}

/// Upstream's pod key, `namespace/name`.
pub(crate) fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any())
}

impl Inner {
    fn index(&mut self, key: &str, pod: &Pod) {
        let set = match controller_of(pod) {
            Some(owner) => self.by_controller.entry(owner.uid.clone()).or_default(),
            None => self
                .orphans
                .entry(pod.namespace().unwrap_or_default())
                .or_default(),
        };
        set.insert(key.to_string());
    }

    fn unindex(&mut self, key: &str, pod: &Pod) {
        let (map, bucket) = match controller_of(pod) {
            Some(owner) => (&mut self.by_controller, owner.uid.clone()),
            None => (&mut self.orphans, pod.namespace().unwrap_or_default()),
        };
        if let Some(set) = map.get_mut(&bucket) {
            set.remove(key);
            if set.is_empty() {
                map.remove(&bucket);
            }
        }
    }

    /// Store `pod`; `None` when the cache already held this very version.
    fn upsert(&mut self, pod: Arc<Pod>) -> Option<Change> {
        let key = pod_key(&pod);
        let old = self.pods.get(&key).cloned();
        if let Some(old) = &old {
            if old.resource_version().is_some() && old.resource_version() == pod.resource_version()
            {
                return None;
            }
            self.unindex(&key, old);
        }
        self.index(&key, &pod);
        self.pods.insert(key, pod.clone());
        Some(match old {
            Some(old) => Change::Updated(old, pod),
            None => Change::Added(pod),
        })
    }

    /// Drop the pod with `key`; the cached version, if it was there.
    fn remove(&mut self, key: &str) -> Option<Arc<Pod>> {
        let old = self.pods.remove(key)?;
        self.unindex(key, &old);
        Some(old)
    }

    fn collect(&self, keys: Option<&HashSet<String>>) -> Vec<Arc<Pod>> {
        keys.into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k).cloned())
            .collect()
    }
}

impl PodCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Apply one watch event; the changes it made, in order.
    pub(crate) fn apply(&self, event: Event<Pod>) -> Vec<Change> {
        let mut inner = self.write();
        match event {
            Event::Apply(pod) => inner.upsert(Arc::new(pod)).into_iter().collect(),
            Event::Delete(pod) => {
                // Report the final state the watch gave, which may be newer
                // than the cached one; unindex what the cache held.
                inner
                    .remove(&pod_key(&pod))
                    .map(|_| Change::Deleted(Arc::new(pod)))
                    .into_iter()
                    .collect()
            }
            Event::Init => {
                inner.relist = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(pod) => {
                let key = pod_key(&pod);
                inner
                    .relist
                    .get_or_insert_with(HashMap::new)
                    .insert(key, Arc::new(pod));
                Vec::new()
            }
            Event::InitDone => {
                let listed = inner.relist.take().unwrap_or_default();
                let gone: Vec<String> = inner
                    .pods
                    .keys()
                    .filter(|k| !listed.contains_key(*k))
                    .cloned()
                    .collect();
                let mut changes: Vec<Change> = gone
                    .iter()
                    .filter_map(|k| inner.remove(k))
                    .map(Change::Deleted)
                    .collect();
                changes.extend(listed.into_values().filter_map(|p| inner.upsert(p)));
                drop(inner);
                self.synced.store(true, Ordering::Release);
                changes
            }
        }
    }

    /// Whether the first complete list has been applied.
    pub(crate) fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// The pods whose controller has `uid`.
    pub(crate) fn controlled_by(&self, uid: &str) -> Vec<Arc<Pod>> {
        let inner = self.read();
        inner.collect(inner.by_controller.get(uid))
    }

    /// The pods of `namespace` without a controller.
    pub(crate) fn orphans_in(&self, namespace: &str) -> Vec<Arc<Pod>> {
        let inner = self.read();
        inner.collect(inner.orphans.get(namespace))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().pods.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, rv: &str, owner: Option<&str>) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name, "namespace": "ns", "resourceVersion": rv,
                "ownerReferences": owner.map(|uid| vec![serde_json::json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                    "uid": uid, "controller": true
                })]),
            }
        }))
        .expect("pod")
    }

    fn names(pods: Vec<Arc<Pod>>) -> Vec<String> {
        let mut v: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        v.sort();
        v
    }

    fn kinds(changes: &[Change]) -> Vec<String> {
        let mut v: Vec<String> = changes
            .iter()
            .map(|c| match c {
                Change::Added(p) => format!("+{}", p.name_any()),
                Change::Updated(_, p) => format!("~{}", p.name_any()),
                Change::Deleted(p) => format!("-{}", p.name_any()),
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn indexes_follow_owner_changes() {
        let c = PodCache::default();
        assert!(!c.synced());
        c.apply(Event::Init);
        c.apply(Event::InitApply(pod("a", "1", Some("u1"))));
        c.apply(Event::InitApply(pod("b", "1", None)));
        let first = c.apply(Event::InitDone);
        assert!(c.synced());
        assert_eq!(kinds(&first), ["+a", "+b"]);
        assert_eq!(names(c.controlled_by("u1")), ["a"]);
        assert_eq!(names(c.orphans_in("ns")), ["b"]);
        assert!(c.orphans_in("other").is_empty());

        // Adopted: it moves from the orphans to its new controller.
        let adopted = c.apply(Event::Apply(pod("b", "2", Some("u1"))));
        assert_eq!(kinds(&adopted), ["~b"]);
        assert_eq!(names(c.controlled_by("u1")), ["a", "b"]);
        assert!(c.orphans_in("ns").is_empty());
        // The same version again changes nothing.
        assert!(c.apply(Event::Apply(pod("b", "2", Some("u1")))).is_empty());
        // Released.
        c.apply(Event::Apply(pod("a", "2", None)));
        assert_eq!(names(c.controlled_by("u1")), ["b"]);
        assert_eq!(names(c.orphans_in("ns")), ["a"]);
        let gone = c.apply(Event::Delete(pod("b", "3", Some("u1"))));
        assert_eq!(kinds(&gone), ["-b"]);
        assert!(c.controlled_by("u1").is_empty());
        assert!(c.apply(Event::Delete(pod("b", "3", Some("u1")))).is_empty());
    }

    #[test]
    fn a_relist_reports_what_changed_meanwhile() {
        let c = PodCache::default();
        c.apply(Event::Init);
        c.apply(Event::InitApply(pod("a", "1", Some("u1"))));
        c.apply(Event::InitApply(pod("b", "1", Some("u1"))));
        c.apply(Event::InitDone);
        // The watch restarts: until the list is complete the old view stays.
        c.apply(Event::Init);
        c.apply(Event::InitApply(pod("b", "5", Some("u1"))));
        c.apply(Event::InitApply(pod("c", "6", Some("u1"))));
        assert_eq!(names(c.controlled_by("u1")), ["a", "b"]);
        let changes = c.apply(Event::InitDone);
        assert_eq!(kinds(&changes), ["+c", "-a", "~b"]);
        assert_eq!(names(c.controlled_by("u1")), ["b", "c"]);
        assert_eq!(c.len(), 2);
    }
}
