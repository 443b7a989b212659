//! The garbage collector (kube-controller-manager's `garbagecollector`):
//! deletes objects whose owners are gone and carries out Foreground and
//! Orphan deletions, for every served resource.
//!
//! One metadata watcher per resource (found by discovery, refreshed so
//! CustomResourceDefinitions are picked up) keeps a cache of every object's
//! uid, owner references, finalizers and deletion state. A pass builds the
//! ownership graph from those caches ([`graph`]), lists what needs looking
//! at, and acts on each item after a live read ([`act`]). Passes run after
//! every change (debounced) and on a periodic resync, so a failed write is
//! simply retried on the next one.

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
use kube::runtime::reflector::{self, reflector, Store};
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
    let stream = reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitDone) => {
                    flag.store(true, Ordering::Relaxed);
                    changed.notify_one();
                }
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
                Ok(_) => changed.notify_one(),
                Err(e) => tracing::debug!(resource = %name, error = %e, "gc watcher error"),
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

    async fn pass(&mut self) {
        if !self.synced() {
            return;
        }
        let graph = self.graph();
        let mut actor = act::Actor {
            client: &self.client,
            recorder: &self.recorder,
            kinds: &self.kinds,
            absent: &mut self.absent,
        };
        let work = graph.work();
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
        gc.pass().await;
    }
}
