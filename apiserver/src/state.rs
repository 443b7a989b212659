//! The server's shared state: the store handle and the watch caches, one per
//! resource prefix, created on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use openraft_store::Store;

use crate::catalog::Catalog;
use crate::error::ApiError;

/// Namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Everything the REST handlers share. Handlers take `web::Data<AppState>`.
pub struct AppState {
    pub store: Arc<dyn Store>,
    caches: Mutex<HashMap<Vec<u8>, Arc<crate::watchcache::WatchCache>>>,
    garbage_collector: std::sync::atomic::AtomicBool,
    lifecycle: std::sync::atomic::AtomicU8,
    /// The resources served now (built-ins plus established CRDs).
    catalog: std::sync::RwLock<Arc<Catalog>>,
    /// True once the CRDs in the store have been read into the catalog.
    crds_synced: tokio::sync::watch::Sender<bool>,
}

/// Which controllers finish what the REST layer starts. Without them the
/// REST layer completes deletions itself (nothing else would).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// A garbage collector processes `orphan`/`foregroundDeletion`.
    pub garbage_collector: bool,
    /// A namespace controller empties Terminating namespaces and finalizes them.
    pub namespace_controller: bool,
    /// Kubelets delete bound pods after their grace period.
    pub kubelet: bool,
}

impl AppState {
    pub async fn new(store: Arc<dyn Store>) -> Result<Arc<AppState>, ApiError> {
        Ok(Arc::new(AppState {
            store,
            caches: Mutex::new(HashMap::new()),
            garbage_collector: std::sync::atomic::AtomicBool::new(false),
            lifecycle: std::sync::atomic::AtomicU8::new(0),
            catalog: std::sync::RwLock::new(crate::catalog::builtin().clone()),
            crds_synced: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Creates the namespaces every cluster has (`default`, `kube-system`,
    /// `kube-public`, `kube-node-lease`) when missing.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        let Some(info) = crate::resources::lookup("", "v1", "namespaces") else {
            return Err(ApiError::internal("namespaces are not a known resource"));
        };
        let registry = crate::registry::Registry::new(self.store.clone(), info);
        let opts = crate::registry::WriteOptions {
            field_manager: "kube-apiserver".into(),
            ..Default::default()
        };
        for name in SYSTEM_NAMESPACES {
            if registry.current(None, name).await?.is_some() {
                continue;
            }
            let ns = serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name},
            });
            match registry.create(None, ns, &opts).await {
                Ok(_) => {}
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => return Err(e),
            }
        }
        start_compactor(self.store.clone(), COMPACTION_INTERVAL);
        Ok(())
    }

    /// Declares that a garbage collector runs: from then on, deletes with
    /// `propagationPolicy` Orphan or Foreground add the `orphan` /
    /// `foregroundDeletion` finalizer for it to process (as upstream). Until
    /// then such deletes complete at once, since nothing would ever remove
    /// those finalizers (and `kubectl delete --cascade=...` would hang).
    pub fn set_garbage_collector(&self, running: bool) {
        self.garbage_collector
            .store(running, std::sync::atomic::Ordering::Relaxed);
    }

    /// Declare which controllers run (see [`Lifecycle`]).
    pub fn set_lifecycle(&self, l: Lifecycle) {
        self.set_garbage_collector(l.garbage_collector);
        let bits = u8::from(l.namespace_controller) | (u8::from(l.kubelet) << 1);
        self.lifecycle
            .store(bits, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn lifecycle(&self) -> Lifecycle {
        let bits = self.lifecycle.load(std::sync::atomic::Ordering::Relaxed);
        Lifecycle {
            garbage_collector: self.garbage_collector(),
            namespace_controller: bits & 1 != 0,
            kubelet: bits & 2 != 0,
        }
    }

    pub fn garbage_collector(&self) -> bool {
        self.garbage_collector
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The resources served now.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Publishes a new set of served resources.
    pub fn set_catalog(&self, c: Catalog) {
        let mut g = match self.catalog.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Arc::new(c);
    }

    /// Declares that the stored CRDs are in the catalog.
    pub fn mark_crds_synced(&self) {
        self.crds_synced.send_replace(true);
    }

    /// Waits (at most `timeout`) until the stored CRDs are served, so a
    /// restarted server does not answer 404 for kinds it serves.
    pub async fn wait_crds_synced(&self, timeout: std::time::Duration) -> bool {
        let mut rx = self.crds_synced.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The watch cache of one resource prefix if it has been started.
    pub fn running_cache(&self, prefix: &[u8]) -> Option<Arc<crate::watchcache::WatchCache>> {
        let caches = match self.caches.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        caches.get(prefix).cloned()
    }

    /// The watch cache of one resource prefix, started on first use.
    pub fn cache(&self, prefix: &[u8]) -> Arc<crate::watchcache::WatchCache> {
        let mut caches = match self.caches.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        caches
            .entry(prefix.to_vec())
            .or_insert_with(|| {
                crate::watchcache::WatchCache::start(self.store.clone(), prefix.to_vec())
            })
            .clone()
    }
}

/// How often old history is dropped (kube-apiserver's
/// `--etcd-compaction-interval` default).
pub const COMPACTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Compacts the store every `interval` to the revision seen one interval
/// earlier, so watches can always resume from the last `interval` of
/// history (what kube-apiserver asks of etcd).
pub fn start_compactor(store: Arc<dyn Store>, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut previous = None;
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            if let Some(rev) = previous {
                if let Err(e) = store.compact(rev).await {
                    tracing::debug!(error = %e, "compaction skipped");
                }
            }
            previous = store.current_revision().await.ok();
        }
    });
}
