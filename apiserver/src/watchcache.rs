//! Watch cache (being written).
use std::sync::Arc;

use openraft_store::Store;

pub struct WatchCache {
    pub prefix: Vec<u8>,
    store: Arc<dyn Store>,
}

impl WatchCache {
    pub fn start(store: Arc<dyn Store>, prefix: Vec<u8>) -> Arc<WatchCache> {
        Arc::new(WatchCache { prefix, store })
    }
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
