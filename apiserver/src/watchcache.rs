//! The watch cache of one resource prefix: the current objects plus a window
//! of recent events, fed by one store watch and shared by every client watch
//! of the resource (upstream's `pkg/storage/cacher`).
//!
//! A client watch subscribes at a revision: from "now" (a snapshot of the
//! current objects, then every change), or after a past revision still in the
//! window. Older revisions are served by the caller from the store's history.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use openraft_store::{EventType, RangeRequest, Revision, Store, StoreError, WatchMessage};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::registry::{self, meta};

/// Events kept for watches resuming from a past revision.
const WINDOW: usize = 4096;
/// Messages buffered per client watch before it is dropped as too slow.
const FANOUT_BUFFER: usize = 4096;
/// Most objects offered by writers and not yet taken (see [`WatchCache::offer`]);
/// past it, offers are refused and the cache decodes what the store sends.
const MAX_OFFERS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Put,
    Delete,
}

/// One change of one object.
#[derive(Debug)]
pub struct Change {
    pub revision: Revision,
    pub key: Vec<u8>,
    pub kind: ChangeKind,
    /// The new object; for deletes, the last state with `resourceVersion`
    /// set to the delete's revision (as upstream sends it).
    pub object: Arc<Value>,
    /// The object before the change (None for a create).
    pub prev: Option<Arc<Value>>,
}

/// What subscribers receive.
#[derive(Debug, Clone)]
pub enum Message {
    Change(Arc<Change>),
    /// Every change up to this revision has been sent.
    Progress(Revision),
    /// The cache lost its store watch and re-listed: watchers must end.
    Reset,
}

struct Inner {
    objects: BTreeMap<Vec<u8>, Arc<Value>>,
    events: VecDeque<Arc<Change>>,
    /// The cache reflects the store up to here.
    revision: Revision,
    /// Every change after this revision is in `events`.
    window_start: Revision,
    ready: bool,
}

/// An object a writer of this server is storing, shared by the writer and
/// the cache so that it is built once: whichever of the two first learns
/// that it was written gives it its `resourceVersion` and shares it.
#[derive(Debug, Default)]
enum Slot {
    /// As stored, without `resourceVersion`.
    Offered(Value),
    /// Written, with `resourceVersion`.
    Written(Arc<Value>),
    /// Taken back by the writer.
    #[default]
    Empty,
}

/// What [`WatchCache::offer`] returns to the writer.
#[derive(Debug)]
pub struct Offer {
    token: u64,
    slot: Arc<Mutex<Slot>>,
}

/// An offer as the cache keeps it until the store event comes.
struct Offered {
    /// Tells this offer from a later one at the same key.
    token: u64,
    /// The bytes the writer's transaction puts.
    value: Vec<u8>,
    slot: Arc<Mutex<Slot>>,
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// The written object of a slot at `revision`, made shareable once.
fn written(slot: &mut Slot, revision: Revision) -> Option<Arc<Value>> {
    match std::mem::take(slot) {
        Slot::Offered(mut obj) => {
            meta::set_resource_version(&mut obj, revision);
            let obj = Arc::new(obj);
            *slot = Slot::Written(obj.clone());
            Some(obj)
        }
        Slot::Written(obj) => {
            *slot = Slot::Written(obj.clone());
            let rv = revision.to_string();
            (meta::resource_version(&obj) == rv).then_some(obj)
        }
        Slot::Empty => None,
    }
}

pub struct WatchCache {
    pub prefix: Vec<u8>,
    store: Arc<dyn Store>,
    inner: RwLock<Inner>,
    /// Objects offered by writers, by key (see [`WatchCache::offer`]).
    offers: Mutex<HashMap<Vec<u8>, Offered>>,
    next_token: std::sync::atomic::AtomicU64,
    tx: broadcast::Sender<Message>,
    revision_tx: watch::Sender<(bool, Revision)>,
}

/// Where a subscription starts.
pub enum Subscription {
    /// The current objects (key order) at `revision`, then changes after it.
    Snapshot {
        objects: Vec<Arc<Value>>,
        revision: Revision,
        rx: broadcast::Receiver<Message>,
    },
    /// Changes after the requested revision still in the window.
    Resume {
        changes: Vec<Arc<Change>>,
        after: Revision,
        rx: broadcast::Receiver<Message>,
    },
    /// The requested revision is older than the window.
    TooOld { window_start: Revision },
}

impl WatchCache {
    /// Creates the cache and starts feeding it from the store.
    pub fn start(store: Arc<dyn Store>, prefix: Vec<u8>) -> Arc<WatchCache> {
        let (tx, _) = broadcast::channel(FANOUT_BUFFER);
        let (revision_tx, _) = watch::channel((false, Revision::ZERO));
        let cache = Arc::new(WatchCache {
            prefix,
            store,
            inner: RwLock::new(Inner {
                objects: BTreeMap::new(),
                events: VecDeque::new(),
                revision: Revision::ZERO,
                window_start: Revision::ZERO,
                ready: false,
            }),
            offers: Mutex::new(HashMap::new()),
            next_token: std::sync::atomic::AtomicU64::new(1),
            tx,
            revision_tx,
        });
        let feeder = cache.clone();
        tokio::spawn(async move { feeder.run().await });
        cache
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn offers(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Offered>> {
        self.offers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A writer of this server is about to put `value` at `key`; `object` is
    /// that value as an object (without `resourceVersion`). When the store
    /// event putting the same bytes arrives, the cache takes the object
    /// rather than decoding the bytes again, and the writer gets the same
    /// one back: [`WatchCache::written`] once its transaction wrote,
    /// [`WatchCache::withdraw`] when it did not.
    pub fn offer(&self, key: &[u8], value: &[u8], object: Value) -> Offer {
        let token = self
            .next_token
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = Arc::new(Mutex::new(Slot::Offered(object)));
        let mut offers = self.offers();
        if offers.len() < MAX_OFFERS || offers.contains_key(key) {
            offers.insert(
                key.to_vec(),
                Offered {
                    token,
                    value: value.to_vec(),
                    slot: slot.clone(),
                },
            );
        }
        Offer { token, slot }
    }

    /// Takes back the object of an offer whose transaction did not write.
    pub fn withdraw(&self, key: &[u8], offer: Offer) -> Option<Value> {
        {
            let mut offers = self.offers();
            if offers.get(key).is_some_and(|o| o.token == offer.token) {
                offers.remove(key);
            }
        }
        match std::mem::take(&mut *lock(&offer.slot)) {
            Slot::Offered(obj) => Some(obj),
            Slot::Written(_) | Slot::Empty => None,
        }
    }

    /// The object of an offer whose transaction wrote it at `revision`, as
    /// the cache holds it (or will).
    pub fn written(&self, offer: Offer, revision: Revision) -> Option<Arc<Value>> {
        written(&mut lock(&offer.slot), revision)
    }

    /// The object a put event carries: the one offered for exactly these
    /// bytes, else decoded from them.
    fn object_of(&self, kv: &openraft_store::KeyValue) -> Option<Arc<Value>> {
        let offered = {
            let mut offers = self.offers();
            match offers.get(&kv.key) {
                Some(o) if o.value == kv.value => offers.remove(&kv.key),
                _ => None,
            }
        };
        offered
            .and_then(|o| written(&mut lock(&o.slot), kv.mod_revision))
            .or_else(|| registry::decode(kv).ok().map(Arc::new))
    }

    async fn run(self: Arc<Self>) {
        loop {
            let err = self.sync().await;
            tracing::warn!(
                prefix = %String::from_utf8_lossy(&self.prefix),
                error = %err,
                "watch cache lost its store watch; re-listing"
            );
            {
                let mut inner = self.write();
                inner.ready = false;
                let _ = self.tx.send(Message::Reset);
            }
            self.revision_tx.send_modify(|r| r.0 = false);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Lists, then follows the store watch until it fails.
    async fn sync(&self) -> StoreError {
        let resp = match self
            .store
            .range(RangeRequest::prefix(self.prefix.clone()))
            .await
        {
            Ok(r) => r,
            Err(e) => return e,
        };
        {
            let mut inner = self.write();
            inner.objects = resp
                .kvs
                .iter()
                .filter_map(|kv| {
                    registry::decode(kv)
                        .ok()
                        .map(|o| (kv.key.clone(), Arc::new(o)))
                })
                .collect();
            inner.events.clear();
            inner.revision = resp.revision;
            inner.window_start = resp.revision;
            inner.ready = true;
        }
        // Whatever was offered until now was written at or before this
        // revision (an offer comes before its transaction), or never.
        self.offers().clear();
        self.revision_tx.send_replace((true, resp.revision));
        let mut stream = match self.store.watch(&self.prefix, resp.revision.next()).await {
            Ok(s) => s,
            Err(e) => return e,
        };
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(WatchMessage::Events(events)) => {
                    // Objects are made before the lock is taken.
                    let events: Vec<_> = events
                        .into_iter()
                        .map(|ev| {
                            let obj = match ev.kind {
                                EventType::Put => self.object_of(&ev.kv),
                                EventType::Delete => None,
                            };
                            (ev, obj)
                        })
                        .collect();
                    let mut last = None;
                    {
                        let mut inner = self.write();
                        for (ev, obj) in events {
                            let rev = ev.kv.mod_revision;
                            if rev <= inner.revision {
                                continue;
                            }
                            if let Some(change) = apply(&mut inner, ev, obj) {
                                let change = Arc::new(change);
                                inner.events.push_back(change.clone());
                                while inner.events.len() > WINDOW {
                                    if let Some(old) = inner.events.pop_front() {
                                        inner.window_start = old.revision;
                                    }
                                }
                                let _ = self.tx.send(Message::Change(change));
                            }
                            inner.revision = rev;
                            last = Some(rev);
                        }
                    }
                    if let Some(rev) = last {
                        self.revision_tx.send_replace((true, rev));
                    }
                }
                Ok(WatchMessage::Progress(rev)) => {
                    let advanced = {
                        let mut inner = self.write();
                        if rev > inner.revision {
                            inner.revision = rev;
                            let _ = self.tx.send(Message::Progress(rev));
                            true
                        } else {
                            false
                        }
                    };
                    if advanced {
                        self.revision_tx.send_replace((true, rev));
                    }
                }
                Err(e) => return e,
            }
        }
        StoreError::Unavailable("store watch ended".into())
    }

    /// Waits until the cache is ready and at least at `min` (if given).
    /// False when `timeout` passes first. When the cache is behind `min`
    /// the store is asked for a progress report, so that a quiet prefix
    /// catches up at once rather than at the store watch's next tick
    /// (upstream's `RequestWatchProgress` before a consistent read).
    pub async fn wait_for(&self, min: Option<Revision>, timeout: Duration) -> bool {
        let mut rx = self.revision_tx.subscribe();
        let ok = |v: &(bool, Revision)| v.0 && min.is_none_or(|m| v.1 >= m);
        if ok(&rx.borrow_and_update()) {
            return true;
        }
        if min.is_some() {
            let _ = self.store.request_progress().await;
        }
        tokio::time::timeout(timeout, rx.wait_for(ok))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The current object at `key`; None when absent or when the cache has
    /// not synced.
    pub fn get(&self, key: &[u8]) -> Option<Arc<Value>> {
        let inner = self.read();
        if !inner.ready {
            return None;
        }
        inner.objects.get(key).cloned()
    }

    /// The revision the cache reflects.
    pub fn revision(&self) -> Revision {
        self.read().revision
    }

    /// Current objects under `prefix` (a sub-prefix of the cache's) and the
    /// revision they are at.
    pub fn snapshot(&self, prefix: &[u8]) -> (Vec<Arc<Value>>, Revision) {
        let inner = self.read();
        let objects = inner
            .objects
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect();
        (objects, inner.revision)
    }

    /// One page of the objects under `prefix` (a sub-prefix of the cache's)
    /// from the key `start` on, as they were at revision `at` (None: the
    /// cache's current revision). Objects `keep` rejects are skipped; at
    /// most `limit` (0: no limit) are returned. A past revision is rebuilt
    /// from the current objects by undoing the changes after it, so it must
    /// lie within the event window; `None` when it does not (or is newer
    /// than the cache), and the caller reads the store instead.
    pub fn list(
        &self,
        prefix: &[u8],
        start: &[u8],
        at: Option<Revision>,
        limit: usize,
        keep: &dyn Fn(&Value) -> bool,
    ) -> Option<Page> {
        let inner = self.read();
        if !inner.ready {
            return None;
        }
        let revision = at.unwrap_or(inner.revision);
        if revision < inner.window_start || revision > inner.revision {
            return None;
        }
        let in_range = |k: &[u8]| k >= start && k.starts_with(prefix);
        // The state at `revision` of every key changed since: the object
        // before its first later change (None: it did not exist).
        let mut undone: BTreeMap<&[u8], Option<&Arc<Value>>> = BTreeMap::new();
        for c in inner.events.iter().rev() {
            if c.revision <= revision {
                break;
            }
            if in_range(&c.key) {
                undone.insert(&c.key, c.prev.as_ref());
            }
        }
        let current = inner
            .objects
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v));
        let mut page = Page {
            objects: Vec::new(),
            revision,
            last_key: None,
            more: false,
            total: 0,
        };
        for (key, obj) in merge(current, &undone) {
            page.total += 1;
            if page.more {
                continue;
            }
            if limit > 0 && page.objects.len() == limit {
                page.more = true;
                continue;
            }
            if keep(obj) {
                page.objects.push(obj.clone());
                page.last_key = Some(key.to_vec());
            }
        }
        Some(page)
    }

    /// Subscribes from now (`after` None) or after a past revision.
    pub fn subscribe(&self, prefix: &[u8], after: Option<Revision>) -> Subscription {
        let inner = self.read();
        let rx = self.tx.subscribe();
        match after {
            None => Subscription::Snapshot {
                objects: inner
                    .objects
                    .range(prefix.to_vec()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(_, v)| v.clone())
                    .collect(),
                revision: inner.revision,
                rx,
            },
            Some(rev) if rev < inner.window_start => Subscription::TooOld {
                window_start: inner.window_start,
            },
            Some(rev) => Subscription::Resume {
                changes: inner
                    .events
                    .iter()
                    .filter(|c| c.revision > rev && c.key.starts_with(prefix))
                    .cloned()
                    .collect(),
                after: rev,
                rx,
            },
        }
    }
}

/// A page of a list served from the cache.
#[derive(Debug)]
pub struct Page {
    /// In key order.
    pub objects: Vec<Arc<Value>>,
    /// The revision the page shows.
    pub revision: Revision,
    /// The key of the last object returned.
    pub last_key: Option<Vec<u8>>,
    /// Objects past the page remain (whether they match or not).
    pub more: bool,
    /// Objects from the start key on at that revision, before filtering.
    pub total: usize,
}

/// The current objects (key order) with the keys in `undone` replaced by
/// their earlier state (dropped when it is None, added when absent now).
fn merge<'a>(
    current: impl Iterator<Item = (&'a [u8], &'a Arc<Value>)>,
    undone: &'a BTreeMap<&'a [u8], Option<&'a Arc<Value>>>,
) -> impl Iterator<Item = (&'a [u8], &'a Arc<Value>)> {
    let mut current = current.peekable();
    let mut earlier = undone.iter().map(|(k, v)| (*k, *v)).peekable();
    std::iter::from_fn(move || loop {
        let take_current = match (current.peek(), earlier.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((ck, _)), Some((ek, _))) => ck < ek,
        };
        if take_current {
            return current.next();
        }
        let (key, before) = earlier.next()?;
        if current.peek().is_some_and(|(ck, _)| *ck == key) {
            current.next();
        }
        if let Some(obj) = before {
            return Some((key, obj));
        }
    })
}

/// Applies one store event to the objects; the change to broadcast. `obj`
/// is the object a put event carries (None when it could not be decoded).
fn apply(inner: &mut Inner, ev: openraft_store::Event, obj: Option<Arc<Value>>) -> Option<Change> {
    let key = ev.kv.key;
    let rev = ev.kv.mod_revision;
    match ev.kind {
        EventType::Put => {
            let obj = obj?;
            let prev = inner.objects.insert(key.clone(), obj.clone());
            Some(Change {
                revision: rev,
                key,
                kind: ChangeKind::Put,
                object: obj,
                prev,
            })
        }
        EventType::Delete => {
            let prev = inner.objects.remove(&key)?;
            let mut last = (*prev).clone();
            meta::set_resource_version(&mut last, rev);
            Some(Change {
                revision: rev,
                key,
                kind: ChangeKind::Delete,
                object: Arc::new(last),
                prev: Some(prev),
            })
        }
    }
}

/// Turns a raw store event into a change (watches older than the window).
pub fn change_from_event(ev: &openraft_store::Event) -> Option<Change> {
    let rev = ev.kv.mod_revision;
    let prev = ev
        .prev
        .as_ref()
        .and_then(|p| registry::decode(p).ok())
        .map(Arc::new);
    match ev.kind {
        EventType::Put => Some(Change {
            revision: rev,
            key: ev.kv.key.clone(),
            kind: ChangeKind::Put,
            object: Arc::new(registry::decode(&ev.kv).ok()?),
            prev,
        }),
        EventType::Delete => {
            let mut last = (*prev.clone()?).clone();
            meta::set_resource_version(&mut last, rev);
            Some(Change {
                revision: rev,
                key: ev.kv.key.clone(),
                kind: ChangeKind::Delete,
                object: Arc::new(last),
                prev,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft_store::{Compare, Op, TxnRequest};
    use serde_json::json;

    const PREFIX: &[u8] = b"/registry/core/configmaps/";

    async fn started() -> (tempfile::TempDir, Arc<WatchCache>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> =
            openraft_store::RaftStore::open(openraft_store::Config::new(dir.path(), 1))
                .await
                .expect("open store");
        let cache = WatchCache::start(store, PREFIX.to_vec());
        assert!(cache.wait_for(None, Duration::from_secs(30)).await);
        (dir, cache)
    }

    fn configmap(name: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": data},
               "metadata": {"name": name, "namespace": "default", "uid": name}})
    }

    async fn create(cache: &WatchCache, key: &[u8], value: Vec<u8>) -> Option<Revision> {
        let resp = cache
            .store()
            .txn(TxnRequest {
                compares: vec![Compare {
                    key: key.to_vec(),
                    mod_revision: Revision::ZERO,
                }],
                success: vec![Op::Put {
                    key: key.to_vec(),
                    value,
                }],
            })
            .await
            .expect("txn");
        resp.succeeded.then_some(resp.revision)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offered_object_is_shared_by_the_writer_and_the_cache() {
        let (_dir, cache) = started().await;
        for i in 0..20 {
            let name = format!("c{i}");
            let key = [PREFIX, b"default/", name.as_bytes()].concat();
            let obj = configmap(&name, "x");
            let value = serde_json::to_vec(&obj).expect("encode");
            let offer = cache.offer(&key, &value, obj.clone());
            let rev = create(&cache, &key, value).await.expect("created");
            let mine = cache.written(offer, rev).expect("written object");
            assert!(cache.wait_for(Some(rev), Duration::from_secs(30)).await);
            let cached = cache.get(&key).expect("cached object");
            // One object, whichever side got there first.
            assert!(Arc::ptr_eq(&mine, &cached), "{name}: not shared");
            let mut expected = obj;
            meta::set_resource_version(&mut expected, rev);
            assert_eq!(*cached, expected);
        }
        assert!(cache.offers().is_empty(), "offers left behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_takes_its_object_back_and_others_are_decoded() {
        let (_dir, cache) = started().await;
        let key = [PREFIX, b"default/a"].concat();
        let first = configmap("a", "first");
        let rev = create(&cache, &key, serde_json::to_vec(&first).expect("encode"))
            .await
            .expect("created");
        // A second create of the key fails: its object comes back.
        let second = configmap("a", "second");
        let value = serde_json::to_vec(&second).expect("encode");
        let offer = cache.offer(&key, &value, second.clone());
        assert_eq!(create(&cache, &key, value).await, None);
        assert_eq!(cache.withdraw(&key, offer), Some(second));
        assert!(cache.offers().is_empty(), "offer left behind");
        // What the cache holds was decoded from the store's bytes.
        assert!(cache.wait_for(Some(rev), Duration::from_secs(30)).await);
        let mut expected = first;
        meta::set_resource_version(&mut expected, rev);
        assert_eq!(cache.get(&key).as_deref(), Some(&expected));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offer_for_other_bytes_is_not_taken() {
        let (_dir, cache) = started().await;
        let key = [PREFIX, b"default/b"].concat();
        let offered = configmap("b", "offered");
        let offer = cache.offer(
            &key,
            &serde_json::to_vec(&offered).expect("encode"),
            offered.clone(),
        );
        let stored = configmap("b", "stored");
        let rev = create(&cache, &key, serde_json::to_vec(&stored).expect("encode"))
            .await
            .expect("created");
        assert!(cache.wait_for(Some(rev), Duration::from_secs(30)).await);
        let mut expected = stored;
        meta::set_resource_version(&mut expected, rev);
        assert_eq!(cache.get(&key).as_deref(), Some(&expected));
        assert_eq!(cache.withdraw(&key, offer), Some(offered));
    }
}
