//! The garbage collector (kube-controller-manager's `garbagecollector`):
//! deletes objects whose owners are gone and carries out Foreground and
//! Orphan deletions, for every served resource.
//!
//! One metadata watcher per resource (found by discovery, refreshed so
//! CustomResourceDefinitions are picked up) keeps a cache of every object's
//! uid, owner references, finalizers and deletion state. A pass builds the
//! ownership graph from those caches ([`graph`]), lists what needs looking
//! at, and acts on each item after a live read ([`act`]). Passes run after
//! every change that can matter to it (an object appearing or going, or its
//! owners, finalizers or deletion state changing; debounced, and paced by
//! how long the graph takes to build) and on a periodic resync, so a failed
//! write is simply retried on the next one.

pub(crate) mod discovery;

mod act;
mod graph;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::ApiResource;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, watcher};
use kube::runtime::WatchStreamExt;
use kube::Client;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::events::Recorder;
use crate::Context;
use act::Outcome;
use discovery::{KindIndex, Served};
use graph::{Graph, Node, Work};

/// How often everything is looked at again, changes or not.
const RESYNC: Duration = Duration::from_secs(5);
/// How often served resources are discovered again.
const REDISCOVER: Duration = Duration::from_secs(15);
/// Wait this long after a change for more before a pass.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// After a pass, wait this many times as long as its graph took to build
/// (a pass then uses at most about a fifth of a core).
const PACE: u32 = 4;
/// A watcher not synced after this long no longer holds passes back.
const SYNC_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing {what}: {source}")]
    Write {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("encoding ownerReferences: {0}")]
    Encode(#[source] serde_json::Error),
}

type Meta = PartialObjectMeta<DynamicObject>;

/// The cache of one resource, fed by its own watcher task.
struct Watched {
    served: Arc<Served>,
    store: Store<Meta>,
    synced: Arc<AtomicBool>,
    started: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn key(s: &Served) -> String {
    format!("{}/{}", s.resource.api_version, s.resource.plural)
}

fn watch(client: &Client, served: Served, changed: Arc<Notify>) -> Watched {
    let api: Api<Meta> = Api::all_with(client.clone(), &served.resource);
    let writer = reflector::store::Writer::new(served.resource.clone());
    let store = writer.as_reader();
    let synced = Arc::new(AtomicBool::new(false));
    let flag = synced.clone();
    let name = key(&served);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let reader = store.clone();
    let resource = served.resource.clone();
    let task = tokio::spawn(async move {
        let mut writer = writer;
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    tracing::debug!(resource = %name, error = %e, "gc watcher error");
                    continue;
                }
            };
            // Compare with the cached version before the cache takes the new one.
            let relevant = matters(&reader, &resource, &event);
            writer.apply_watcher_event(&event);
            match event {
                watcher::Event::InitDone => {
                    flag.store(true, Ordering::Relaxed);
                    changed.notify_one();
                }
                _ if relevant => changed.notify_one(),
                _ => {}
            }
        }
    });
    Watched {
        served: Arc::new(served),
        store,
        synced,
        started: Instant::now(),
        task,
    }
}

/// Whether a watch event can change what the collector does: an object
/// appearing or going, or a change of its owners, finalizers or deletion
/// state. Status and label updates (pods starting, Lease renewals, Node
/// heartbeats), by far the most frequent events, need no pass.
fn matters(cache: &Store<Meta>, resource: &ApiResource, event: &watcher::Event<Meta>) -> bool {
    match event {
        watcher::Event::Apply(obj) => {
            let Some(old) = cache.get(&ObjectRef::from_obj_with(obj, resource.clone())) else {
                return true;
            };
            let (a, b) = (&old.metadata, &obj.metadata);
            a.uid != b.uid
                || a.owner_references != b.owner_references
                || a.finalizers != b.finalizers
                || a.deletion_timestamp.is_some() != b.deletion_timestamp.is_some()
        }
        watcher::Event::Delete(_) => true,
        watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::InitDone => false,
    }
}

/// The collector's state between passes.
struct Collector {
    client: Client,
    recorder: Recorder,
    watched: HashMap<String, Watched>,
    kinds: KindIndex,
    absent: act::Absent,
    /// Objects last found to need nothing although the graph could not
    /// vouch for all their owners (their kind is not served), by uid with
    /// the resourceVersion then: not read again until they change or
    /// resources are discovered again.
    settled: HashMap<String, String>,
    changed: Arc<Notify>,
}

impl Collector {
    /// Starts watchers for newly served resources and stops those no longer
    /// served.
    fn track(&mut self, served: Vec<Served>) {
        self.kinds = KindIndex::new(&served);
        self.settled.clear();
        let wanted: HashMap<String, Served> = served
            .into_iter()
            .filter(Served::collectable)
            .map(|s| (key(&s), s))
            .collect();
        self.watched.retain(|k, _| wanted.contains_key(k));
        for (k, s) in wanted {
            if !self.watched.contains_key(&k) {
                let w = watch(&self.client, s, self.changed.clone());
                self.watched.insert(k, w);
            }
        }
    }

    /// Whether the caches are complete enough for a pass: deciding that an
    /// owner has no dependents from a half-filled cache would be wrong.
    fn synced(&self) -> bool {
        self.watched
            .values()
            .all(|w| w.synced.load(Ordering::Relaxed) || w.started.elapsed() > SYNC_GRACE)
    }

    fn graph(&self) -> Graph {
        let mut nodes = Vec::new();
        for w in self.watched.values() {
            for obj in w.store.state() {
                let m = &obj.metadata;
                nodes.push(Node {
                    served: w.served.clone(),
                    namespace: m.namespace.clone(),
                    name: m.name.clone().unwrap_or_default(),
                    uid: m.uid.clone().unwrap_or_default(),
                    resource_version: m.resource_version.clone().unwrap_or_default(),
                    owners: m.owner_references.clone().unwrap_or_default(),
                    deleting: m.deletion_timestamp.is_some(),
                    finalizers: m.finalizers.clone().unwrap_or_default(),
                });
            }
        }
        Graph::new(nodes)
    }

    /// One pass; how long building the graph and listing the work took
    /// (the part of a pass that grows with the number of objects).
    async fn pass(&mut self) -> Duration {
        if !self.synced() {
            return Duration::ZERO;
        }
        let started = std::time::Instant::now();
        let graph = self.graph();
        let mut actor = act::Actor {
            client: &self.client,
            recorder: &self.recorder,
            kinds: &self.kinds,
            absent: &mut self.absent,
        };
        let work = graph.work();
        let cost = started.elapsed();
        // Forget settled objects that need no look any more.
        let attempted: std::collections::HashSet<&str> = work
            .iter()
            .filter_map(|w| match w {
                Work::Attempt { item } => Some(graph.node(*item).uid.as_str()),
                _ => None,
            })
            .collect();
        self.settled
            .retain(|uid, _| attempted.contains(uid.as_str()));
        for work in work {
            let result = match work {
                Work::Orphan { owner, dependents } => {
                    let deps: Vec<&Node> = dependents.iter().map(|&i| graph.node(i)).collect();
                    actor.orphan(graph.node(owner), &deps).await
                }
                Work::FinishForeground { owner } => {
                    actor
                        .remove_finalizer(graph.node(owner), graph::FOREGROUND)
                        .await
                }
                Work::Attempt { item } => {
                    let node = graph.node(item);
                    if self.settled.get(&node.uid) == Some(&node.resource_version) {
                        continue;
                    }
                    match actor.attempt(&graph, node).await {
                        Ok(Outcome::Settled) => {
                            self.settled
                                .insert(node.uid.clone(), node.resource_version.clone());
                            Ok(())
                        }
                        Ok(Outcome::Acted) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "garbage collection step failed; retrying on the next pass");
            }
        }
        cost
    }
}

/// Runs the garbage collector until cancelled.
pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let mut gc = Collector {
        client: ctx.client.clone(),
        recorder: ctx.recorder("garbage-collector-controller"),
        watched: HashMap::new(),
        kinds: KindIndex::default(),
        absent: act::Absent::default(),
        settled: HashMap::new(),
        changed: Arc::new(Notify::new()),
    };
    let mut next_discovery = Instant::now();
    loop {
        if Instant::now() >= next_discovery {
            match discovery::served(&gc.client).await {
                Ok(served) => {
                    gc.track(served);
                    next_discovery = Instant::now() + REDISCOVER;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collector: discovery failed");
                    next_discovery = Instant::now() + Duration::from_secs(1);
                }
            }
        }
        let changed = gc.changed.clone();
        tokio::select! {
            _ = changed.notified() => tokio::time::sleep(DEBOUNCE).await,
            _ = tokio::time::sleep(RESYNC) => {}
        }
        let cost = gc.pass().await;
        // With many objects and changes that never stop, rebuilding the
        // graph after each would take a core: keep it to a share of one.
        tokio::time::sleep(cost * PACE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::Lease;
    use serde_json::json;

    fn meta(rv: &str, extra: serde_json::Value) -> Meta {
        let mut m = json!({"name": "l", "namespace": "ns", "uid": "u1", "resourceVersion": rv});
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        serde_json::from_value(json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": m
        }))
        .expect("metadata")
    }

    #[test]
    fn only_changes_to_existence_owners_finalizers_or_deletion_matter() {
        let resource = ApiResource::erase::<Lease>(&());
        let mut writer = reflector::store::Writer::new(resource.clone());
        let cache = writer.as_reader();
        let first = watcher::Event::Apply(meta("1", json!({})));
        assert!(matters(&cache, &resource, &first), "a new object");
        writer.apply_watcher_event(&first);

        let renewed = watcher::Event::Apply(meta("2", json!({"labels": {"a": "b"}})));
        assert!(
            !matters(&cache, &resource, &renewed),
            "a label or status update"
        );
        writer.apply_watcher_event(&renewed);

        let owned = json!({"ownerReferences": [{
            "apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u0"
        }]});
        assert!(matters(
            &cache,
            &resource,
            &watcher::Event::Apply(meta("3", owned))
        ));
        let finalized = json!({"finalizers": ["orphan"]});
        assert!(matters(
            &cache,
            &resource,
            &watcher::Event::Apply(meta("3", finalized))
        ));
        let deleting = json!({"deletionTimestamp": "2026-01-01T00:00:00Z"});
        assert!(matters(
            &cache,
            &resource,
            &watcher::Event::Apply(meta("3", deleting))
        ));
        assert!(matters(
            &cache,
            &resource,
            &watcher::Event::Delete(meta("3", json!({})))
        ));
        assert!(!matters(
            &cache,
            &resource,
            &watcher::Event::InitApply(meta("3", json!({})))
        ));
    }
}
