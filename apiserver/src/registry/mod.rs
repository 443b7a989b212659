//! The generic registry store: create, get, list, update and delete of any
//! built-in kind over the [`Store`] trait, with the metadata mechanics every
//! kind shares (upstream: `pkg/registry/generic/registry/store.go`).

pub mod apply;
pub mod continuation;
pub mod convert;
pub mod hooks;
pub mod keys;
pub mod managed;
pub mod meta;
pub mod shape;

use std::sync::Arc;

use openraft_store::{
    prefix_end, Compare, Consistency, KeyValue, Op, RangeRequest, Revision, Store, StoreError,
    TxnRequest,
};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::resources::ResourceInfo;
use crate::watchcache::WatchCache;

/// A filter over objects (label and field selectors, names).
pub type Predicate = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// Decodes a stored value and fills `metadata.resourceVersion` from the key's
/// `mod_revision`.
pub fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::internal(format!(
            "stored object at {} is not valid JSON: {e}",
            String::from_utf8_lossy(&kv.key)
        ))
    })?;
    meta::set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// The stored form: the object without `metadata.resourceVersion`.
pub fn encode(obj: &Value) -> ApiResult<Vec<u8>> {
    let mut obj = obj.clone();
    encode_in_place(&mut obj)
}

/// [`encode`] that turns `obj` itself into the stored form (no copy).
fn encode_in_place(obj: &mut Value) -> ApiResult<Vec<u8>> {
    meta::remove_meta(obj, "resourceVersion");
    meta::remove_meta(obj, "selfLink");
    meta::normalize(obj);
    serde_json::to_vec(obj).map_err(|e| ApiError::internal(format!("encoding object: {e}")))
}

/// How a write is made.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run every step but the store write.
    pub dry_run: bool,
    /// The field manager recorded in `metadata.managedFields`.
    pub field_manager: String,
    /// The subresource written through (`status`), "" for the main resource.
    pub subresource: String,
    /// For apply patches: the configuration applied (its fields become the
    /// manager's, with operation `Apply`).
    pub applied: Option<Value>,
    /// `force=true` on an apply: conflicting fields change owner.
    pub force: bool,
}

/// List parameters after parsing.
#[derive(Clone, Default)]
pub struct ListOptions {
    pub filter: Option<Predicate>,
    pub limit: usize,
    pub continue_token: Option<String>,
    /// Read at exactly this revision (`resourceVersionMatch=Exact`).
    pub exact: Option<Revision>,
    pub consistency: Consistency,
}

pub struct ListResult {
    pub items: Vec<Value>,
    pub revision: Revision,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

/// What an update function decides.
pub enum Action {
    /// Write this object.
    Put(Value),
    /// Delete the object (an update removed the last finalizer).
    Delete,
    /// Nothing to write: answer with the current object.
    Noop,
}

/// What an update did.
pub struct Updated {
    pub object: Value,
    /// The object did not exist before (create on update).
    pub created: bool,
    /// The update deleted the object.
    pub deleted: bool,
}

/// The outcome of a delete.
pub enum Deleted {
    /// Removed from the store; its last state.
    Gone(Value),
    /// Still present, marked for deletion (finalizers pending).
    Pending(Value),
}

/// `DeleteOptions`.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub propagation: Option<String>,
    /// A garbage collector runs and processes `orphan`/`foregroundDeletion`
    /// finalizers; without one they are not added.
    pub gc_finalizers: bool,
    /// Kubelets run: pods bound to a node are deleted gracefully (marked,
    /// then removed by their kubelet), as upstream.
    pub graceful_pods: bool,
    pub grace_period_seconds: Option<i64>,
}

/// Retries of a compare-and-swap before reporting a conflict.
const MAX_UPDATE_ATTEMPTS: usize = 32;

/// One resource's storage.
#[derive(Clone)]
pub struct Registry {
    pub info: &'static ResourceInfo,
    pub store: Arc<dyn Store>,
    /// The namespaces' watch cache, for the check before a create.
    namespaces: Option<Arc<WatchCache>>,
    /// This resource's watch cache, when one runs: written objects are
    /// offered to it (see [`WatchCache::offer`]).
    cache: Option<Arc<WatchCache>>,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, info: &'static ResourceInfo) -> Self {
        Registry {
            info,
            store,
            namespaces: None,
            cache: None,
        }
    }

    fn ns<'a>(&self, namespace: Option<&'a str>) -> Option<&'a str> {
        if self.info.namespaced {
            namespace
        } else {
            None
        }
    }

    /// A stored object as this resource's version (see [`convert`]).
    fn decode(&self, kv: &KeyValue) -> ApiResult<Value> {
        Ok(convert::to_served(self.info, decode(kv)?))
    }

    pub fn key(&self, namespace: Option<&str>, name: &str) -> Vec<u8> {
        keys::object_key(self.info, self.ns(namespace), name)
    }

    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(self.info.group, self.info.plural, name)
    }

    /// The current object and its revision, read linearizably.
    pub async fn current(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Option<(Value, Revision)>> {
        let (kv, _) = self
            .store
            .get(&self.key(namespace, name), None, Consistency::Linearizable)
            .await?;
        match kv {
            Some(kv) => Ok(Some((self.decode(&kv)?, kv.mod_revision))),
            None => Ok(None),
        }
    }

    /// GET: `resourceVersion` "" reads linearizably, "0" serializably, a
    /// specific one at least that new.
    pub async fn get(
        &self,
        namespace: Option<&str>,
        name: &str,
        rv: Option<Revision>,
    ) -> ApiResult<Value> {
        let consistency = match rv {
            Some(Revision::ZERO) => Consistency::Serializable,
            _ => Consistency::Linearizable,
        };
        let (kv, read_at) = self
            .store
            .get(&self.key(namespace, name), None, consistency)
            .await?;
        if let Some(min) = rv.filter(|r| *r > Revision::ZERO) {
            if read_at < min {
                return Err(too_large_rv(min, read_at));
            }
        }
        match kv {
            Some(kv) => self.decode(&kv),
            None => Err(self.not_found(name)),
        }
    }

    /// LIST from the store, page by page until `limit` objects match.
    pub async fn list(&self, namespace: Option<&str>, opts: &ListOptions) -> ApiResult<ListResult> {
        let prefix = keys::list_prefix(self.info, self.ns(namespace));
        let end = prefix_end(&prefix);
        let (mut start, mut revision) = match &opts.continue_token {
            Some(token) => {
                let c = continuation::decode(token)?;
                let mut start = prefix.clone();
                start.extend_from_slice(c.start.as_bytes());
                (start, Some(c.revision))
            }
            None => (prefix.clone(), opts.exact),
        };
        let from_token = opts.continue_token.is_some();
        let mut items = Vec::new();
        let page = if opts.limit == 0 {
            0
        } else {
            opts.limit.max(1)
        };
        loop {
            let req = RangeRequest {
                key: start.clone(),
                range_end: end.clone(),
                revision,
                limit: if page == 0 { 0 } else { page + 1 },
                consistency: opts.consistency,
            };
            let resp = match self.store.range(req).await {
                Ok(r) => r,
                Err(StoreError::Compacted { .. }) if from_token => {
                    return Err(ApiError::expired(CONTINUE_EXPIRED))
                }
                Err(StoreError::Compacted { .. }) => {
                    return Err(ApiError::expired(
                        "The resourceVersion for the provided list is too old.",
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            let read_at = resp.revision;
            revision = Some(read_at);
            let more = resp.more || (page != 0 && resp.kvs.len() > page);
            let mut last_key: Option<Vec<u8>> = None;
            for kv in resp.kvs.iter() {
                if page != 0 && items.len() == opts.limit {
                    break;
                }
                last_key = Some(kv.key.clone());
                let obj = self.decode(kv)?;
                if opts.filter.as_ref().is_none_or(|f| f(&obj)) {
                    items.push(obj);
                }
            }
            let exhausted_page = last_key
                .as_ref()
                .is_none_or(|k| resp.kvs.last().is_some_and(|l| &l.key == k));
            let has_more = more || !exhausted_page;
            if page == 0 || !has_more {
                return Ok(ListResult {
                    items,
                    revision: read_at,
                    continue_token: None,
                    remaining: None,
                });
            }
            let Some(last) = last_key else {
                return Ok(ListResult {
                    items,
                    revision: read_at,
                    continue_token: None,
                    remaining: None,
                });
            };
            if items.len() == opts.limit {
                let mut next = last[prefix.len()..].to_vec();
                next.push(0);
                let token = continuation::encode(read_at, &String::from_utf8_lossy(&next));
                return Ok(ListResult {
                    items,
                    revision: read_at,
                    continue_token: Some(token),
                    remaining: None,
                });
            }
            start = last;
            start.push(0);
        }
    }

    /// CREATE of a prepared object (name set or generateName given).
    pub async fn create(
        &self,
        namespace: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let created = self.create_shared(namespace, obj, opts).await?;
        Ok(convert::to_served(self.info, Arc::unwrap_or_clone(created)))
    }

    /// [`Registry::create`] answering the object as stored (not converted
    /// to the served version), shared with the resource's watch cache when
    /// one runs (see [`Registry::with_cache`]).
    pub async fn create_shared(
        &self,
        namespace: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Arc<Value>> {
        let namespace = self.ns(namespace);
        if let Some(ns) = namespace {
            self.check_namespace_open(ns, meta::name(&obj)).await?;
        }
        let generated = meta::name(&obj).is_empty()
            && meta::meta_str(&obj, "generateName").is_some_and(|g| !g.is_empty());
        prepare_create_meta(self.info, &mut obj, namespace, opts)?;
        let attempts = if generated { 8 } else { 1 };
        for _ in 0..attempts {
            let name = meta::name(&obj).to_string();
            let key = self.key(namespace, &name);
            if opts.dry_run {
                let (existing, _) = self
                    .store
                    .get(&key, None, Consistency::Linearizable)
                    .await?;
                if existing.is_some() {
                    if generated {
                        regenerate(&mut obj);
                        continue;
                    }
                    return Err(ApiError::already_exists(
                        self.info.group,
                        self.info.plural,
                        &name,
                    ));
                }
                meta::remove_meta(&mut obj, "resourceVersion");
                meta::normalize(&mut obj);
                return Ok(Arc::new(obj));
            }
            let value = encode_in_place(&mut obj)?;
            // The cache takes the object instead of decoding the event's
            // bytes; it comes back below, written or not.
            let mut offer = self
                .cache
                .as_ref()
                .map(|c| (c, c.offer(&key, &value, std::mem::take(&mut obj))));
            let resp = self
                .store
                .txn(TxnRequest {
                    compares: vec![Compare {
                        key: key.clone(),
                        mod_revision: Revision::ZERO,
                    }],
                    success: vec![Op::Put {
                        key: key.clone(),
                        value,
                    }],
                })
                .await;
            let wrote = resp.as_ref().is_ok_and(|r| r.succeeded);
            if !wrote {
                if let Some((cache, offer)) = offer.take() {
                    obj = cache.withdraw(&key, offer).ok_or_else(|| {
                        ApiError::internal("the object offered to the watch cache is lost")
                    })?;
                }
            }
            let resp = resp?;
            if resp.succeeded {
                // `obj` is what was stored: no need to decode it back.
                let written = match resp.current.first() {
                    Some(Some(kv)) => kv.mod_revision,
                    _ => resp.revision,
                };
                if let Some((cache, offer)) = offer {
                    return cache.written(offer, written).ok_or_else(|| {
                        ApiError::internal("the object offered to the watch cache is lost")
                    });
                }
                meta::set_resource_version(&mut obj, written);
                return Ok(Arc::new(obj));
            }
            if generated {
                regenerate(&mut obj);
                continue;
            }
            return Err(ApiError::already_exists(
                self.info.group,
                self.info.plural,
                &name,
            ));
        }
        Err(ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{}\" already exists",
                crate::error::qualified(self.info.group, self.info.plural),
                meta::name(&obj)
            ),
        ))
    }

    /// Offers the objects this registry writes to the resource's watch
    /// cache, which then need not decode them from the store's event.
    pub fn with_cache(mut self, cache: Arc<WatchCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Reads namespaces from this watch cache when it holds them (see
    /// [`Registry::check_namespace_open`]).
    pub fn with_namespaces(mut self, cache: Arc<WatchCache>) -> Self {
        self.namespaces = Some(cache);
        self
    }

    /// The namespace must exist and not be terminating. Like upstream's
    /// `NamespaceLifecycle` admission, a namespace the namespaces' watch
    /// cache holds is taken from there; one it does not hold (not synced
    /// yet, or created a moment ago) is read from the store.
    pub async fn check_namespace_open(&self, ns: &str, name: &str) -> ApiResult<()> {
        let key = format!("/registry/core/namespaces/{ns}").into_bytes();
        let cached = self.namespaces.as_ref().and_then(|c| c.get(&key));
        let nso = match cached {
            Some(nso) => nso,
            None => {
                let (kv, _) = self
                    .store
                    .get(&key, None, Consistency::Linearizable)
                    .await?;
                let Some(kv) = kv else {
                    return Err(ApiError::not_found("", "namespaces", ns));
                };
                Arc::new(decode(&kv)?)
            }
        };
        if meta::is_deleting(&nso) {
            return Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                    crate::error::qualified(self.info.group, self.info.plural),
                    name,
                    ns
                ),
            ));
        }
        Ok(())
    }

    /// Read-modify-write with optimistic concurrency, retried on conflicts
    /// (upstream's `GuaranteedUpdate`). `f` sees the current object (None if
    /// absent) and decides what to write; it runs again after a conflict.
    pub async fn update_with<F>(
        &self,
        namespace: Option<&str>,
        name: &str,
        dry_run: bool,
        mut f: F,
    ) -> ApiResult<Updated>
    where
        F: FnMut(Option<&Value>) -> ApiResult<Action>,
    {
        let key = self.key(namespace, name);
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let (kv, _) = self
                .store
                .get(&key, None, Consistency::Linearizable)
                .await?;
            let (old, old_rev) = match &kv {
                Some(kv) => (Some(self.decode(kv)?), kv.mod_revision),
                None => (None, Revision::ZERO),
            };
            let action = f(old.as_ref())?;
            let (op, new_obj) = match action {
                Action::Noop => {
                    return match old {
                        Some(o) => Ok(Updated {
                            object: o,
                            created: false,
                            deleted: false,
                        }),
                        None => Err(self.not_found(name)),
                    }
                }
                Action::Put(mut new) => {
                    if let Some(o) = &old {
                        if same_ignoring_rv(o, &new) {
                            return Ok(Updated {
                                object: o.clone(),
                                created: false,
                                deleted: false,
                            });
                        }
                    }
                    meta::remove_meta(&mut new, "resourceVersion");
                    (
                        Op::Put {
                            key: key.clone(),
                            value: encode(&new)?,
                        },
                        Some(new),
                    )
                }
                Action::Delete => (Op::Delete { key: key.clone() }, None),
            };
            if dry_run {
                return Ok(match new_obj {
                    Some(mut n) => {
                        meta::normalize(&mut n);
                        meta::set_resource_version(&mut n, old_rev);
                        Updated {
                            object: n,
                            created: old.is_none(),
                            deleted: false,
                        }
                    }
                    None => Updated {
                        object: old.unwrap_or(Value::Null),
                        created: false,
                        deleted: true,
                    },
                });
            }
            let resp = self
                .store
                .txn(TxnRequest {
                    compares: vec![Compare {
                        key: key.clone(),
                        mod_revision: old_rev,
                    }],
                    success: vec![op],
                })
                .await?;
            if !resp.succeeded {
                continue;
            }
            return Ok(match new_obj {
                Some(mut n) => {
                    match resp.current.first().cloned().flatten() {
                        Some(kv) => n = self.decode(&kv)?,
                        None => meta::set_resource_version(&mut n, resp.revision),
                    }
                    Updated {
                        object: n,
                        created: old.is_none(),
                        deleted: false,
                    }
                }
                None => {
                    let mut last = old.unwrap_or(Value::Null);
                    meta::set_resource_version(&mut last, resp.revision);
                    Updated {
                        object: last,
                        created: false,
                        deleted: true,
                    }
                }
            });
        }
        Err(ApiError::conflict(
            self.info.group,
            self.info.plural,
            name,
            OBJECT_MODIFIED,
        ))
    }

    /// DELETE with preconditions, finalizers and propagation policy.
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Deleted> {
        let info = self.info;
        let mut pending = false;
        let updated = self
            .update_with(namespace, name, opts.dry_run, |old| {
                pending = false;
                let Some(old) = old else {
                    return Err(ApiError::not_found(info.group, info.plural, name));
                };
                check_delete_preconditions(info, name, old, opts)?;
                let mut finals = meta::finalizers(old);
                match opts.propagation.as_deref().filter(|_| opts.gc_finalizers) {
                    Some("Foreground") => add_unique(&mut finals, "foregroundDeletion"),
                    Some("Orphan") => add_unique(&mut finals, "orphan"),
                    _ => {}
                }
                let crd_first_delete = is_crd(info) && !meta::is_deleting(old);
                if crd_first_delete {
                    // Its objects go first (the CRD controller removes this).
                    add_unique(&mut finals, crate::crd::CLEANUP_FINALIZER);
                }
                let grace = grace_period(info, old, opts);
                if finals.is_empty() && grace == 0 {
                    return Ok(Action::Delete);
                }
                pending = true;
                let current_grace = old
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64);
                let shorten = meta::is_deleting(old) && current_grace.is_some_and(|g| grace < g);
                if meta::is_deleting(old) && finals == meta::finalizers(old) && !shorten {
                    return Ok(Action::Noop);
                }
                let mut new = old.clone();
                if !meta::is_deleting(old) || shorten {
                    meta::set_meta(
                        &mut new,
                        "deletionTimestamp",
                        json!(meta::seconds_from_now(grace)),
                    );
                    meta::set_meta(&mut new, "deletionGracePeriodSeconds", json!(grace));
                }
                if finals.is_empty() {
                    meta::remove_meta(&mut new, "finalizers");
                } else {
                    meta::set_meta(&mut new, "finalizers", json!(finals));
                }
                if crd_first_delete {
                    mark_crd_terminating(&mut new);
                }
                Ok(Action::Put(new))
            })
            .await?;
        if pending && !updated.deleted {
            Ok(Deleted::Pending(updated.object))
        } else {
            Ok(Deleted::Gone(updated.object))
        }
    }
}

fn is_crd(info: &ResourceInfo) -> bool {
    info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions"
}

/// The `Terminating` condition a CRD gets on its first delete.
fn mark_crd_terminating(crd: &mut Value) {
    let mut conditions: Vec<Value> = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "Terminating");
    conditions.push(json!({
        "type": "Terminating",
        "status": "True",
        "lastTransitionTime": meta::now(),
        "reason": "InstanceDeletionPending",
        "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    }));
    meta::set_path(crd, &["status", "conditions"], Value::Array(conditions));
}

/// A continue token whose revision was compacted.
pub const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// Upstream's optimistic-concurrency conflict message.
pub const OBJECT_MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

pub fn too_large_rv(requested: Revision, current: Revision) -> ApiError {
    let mut e = ApiError::timeout(format!(
        "Too large resource version: {requested}, current: {current}"
    ));
    e.details = Some(Box::new(crate::error::Details {
        causes: vec![crate::error::Cause {
            reason: "ResourceVersionTooLarge".into(),
            message: "Too large resource version".into(),
            field: String::new(),
        }],
        retry_after_seconds: Some(1),
        ..Default::default()
    }));
    e
}

/// The schema patches and server-side apply follow: a custom resource's,
/// else the built-in kind's OpenAPI definition.
pub fn shape_of(info: &ResourceInfo) -> shape::Shape<'static> {
    match info.custom {
        Some(c) => shape::Shape::of(c.raw_schema.as_ref()),
        None => crate::openapi::extensions::kind_shape(info.group, info.version, info.kind),
    }
}

fn managed_scope(info: &ResourceInfo, subresource: &str) -> managed::Scope {
    match subresource {
        "status" => managed::Scope::StatusOnly,
        _ if info.has_status() => managed::Scope::MainWithoutStatus,
        _ => managed::Scope::All,
    }
}

/// The grace period of a delete: pods bound to a node get theirs (the
/// option, else `spec.terminationGracePeriodSeconds`, else 30 s) when
/// kubelets run; everything else is deleted at once (upstream
/// `CheckGracefulDelete`).
fn grace_period(info: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
    if !(opts.graceful_pods && info.group.is_empty() && info.plural == "pods") {
        return 0;
    }
    let bound = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !bound || finished {
        return 0;
    }
    let grace = opts.grace_period_seconds.unwrap_or_else(|| {
        obj.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
    });
    // A negative grace period means "as soon as possible": 1 s upstream.
    if grace < 0 {
        1
    } else {
        grace
    }
}

fn add_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|f| f == item) {
        list.push(item.to_string());
    }
}

fn regenerate(obj: &mut Value) {
    let base = meta::meta_str(obj, "generateName")
        .unwrap_or("")
        .to_string();
    meta::set_meta(obj, "name", Value::String(meta::generate_name(&base)));
}

/// Two versions of an object equal but for `resourceVersion`.
fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    meta::remove_meta(&mut a, "resourceVersion");
    meta::remove_meta(&mut b, "resourceVersion");
    a == b
}

fn check_delete_preconditions(
    info: &ResourceInfo,
    name: &str,
    old: &Value,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    if let Some(uid) = &opts.precondition_uid {
        if uid != meta::uid(old) {
            return Err(ApiError::conflict(
                info.group,
                info.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    uid,
                    meta::uid(old)
                ),
            ));
        }
    }
    if let Some(rv) = &opts.precondition_rv {
        if rv != meta::resource_version(old) {
            return Err(ApiError::conflict(
                info.group,
                info.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in meta: {}",
                    rv,
                    meta::resource_version(old)
                ),
            ));
        }
    }
    Ok(())
}

/// System-set metadata of a new object (upstream `rest.BeforeCreate`).
pub fn prepare_create_meta(
    info: &ResourceInfo,
    obj: &mut Value,
    namespace: Option<&str>,
    opts: &WriteOptions,
) -> ApiResult<()> {
    if meta::name(obj).is_empty() {
        if let Some(base) = meta::meta_str(obj, "generateName").filter(|g| !g.is_empty()) {
            let name = meta::generate_name(base);
            meta::set_meta(obj, "name", Value::String(name));
        }
    }
    match namespace {
        Some(ns) if info.namespaced => meta::set_meta(obj, "namespace", json!(ns)),
        _ => {
            meta::remove_meta(obj, "namespace");
        }
    }
    meta::set_meta(obj, "uid", json!(meta::new_uid()));
    let now = meta::now();
    meta::set_meta(obj, "creationTimestamp", json!(now));
    for f in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta::remove_meta(obj, f);
    }
    if hooks::tracks_generation(info) {
        meta::set_meta(obj, "generation", json!(1));
    } else {
        meta::remove_meta(obj, "generation");
    }
    hooks::prepare_create(info, obj);
    managed::record_write(
        obj,
        None,
        opts,
        &info.api_version(),
        &now,
        managed_scope(info, &opts.subresource),
        shape_of(info),
    )?;
    hooks::validate_create(info, obj)
}

/// System-kept metadata of an updated object (upstream `rest.BeforeUpdate`).
pub fn prepare_update_meta(
    info: &ResourceInfo,
    new: &mut Value,
    old: &Value,
    opts: &WriteOptions,
) -> ApiResult<()> {
    if opts.subresource.is_empty() {
        hooks::prepare_update(info, new, old);
    }
    if meta::uid(new).is_empty() {
        if let Some(uid) = old.get("metadata").and_then(|m| m.get("uid")) {
            meta::set_meta(new, "uid", uid.clone());
        }
    }
    for f in ["creationTimestamp", "namespace"] {
        match old.get("metadata").and_then(|m| m.get(f)) {
            Some(v) => meta::set_meta(new, f, v.clone()),
            None => {
                meta::remove_meta(new, f);
            }
        }
    }
    for f in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        match old.get("metadata").and_then(|m| m.get(f)) {
            Some(v) => meta::set_meta(new, f, v.clone()),
            None => {
                meta::remove_meta(new, f);
            }
        }
    }
    // generation: never set by clients; +1 when the spec changes.
    if hooks::tracks_generation(info) {
        let mut g = old
            .get("metadata")
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        // Custom resources without a status subresource count status too.
        let changed = if info.is_custom() && !info.has_status() {
            meta::without_metadata(new) != meta::without_metadata(old)
        } else {
            meta::spec_part(new) != meta::spec_part(old)
        };
        if changed {
            g += 1;
        }
        meta::set_meta(new, "generation", json!(g));
    } else {
        meta::remove_meta(new, "generation");
    }
    let now = meta::now();
    managed::record_write(
        new,
        Some(old),
        opts,
        &info.api_version(),
        &now,
        managed_scope(info, &opts.subresource),
        shape_of(info),
    )?;
    if meta::resource_version(new).is_empty() {
        meta::set_meta(new, "resourceVersion", json!(meta::resource_version(old)));
    }
    hooks::validate_update(info, new, old)
}
