//! openraft's own storage test suite, run on our RocksDB log store and state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use openraft::{AnyError, ErrorSubject, ErrorVerb, StorageIOError};
use openraft_store::log_store::LogStore;
use openraft_store::raft_types::{StorageError, TypeConfig};
use openraft_store::snapshot::SnapshotFile;
use openraft_store::state_machine::{Shared, StateMachineStore};
use openraft_store::{schema, Revision};

struct Builder;

fn setup_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(
        ErrorSubject::Store,
        ErrorVerb::Write,
        AnyError::error(e.to_string()),
    )
    .into()
}

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().map_err(setup_err)?;
        let db = Arc::new(schema::open_db(&dir.path().join("db")).map_err(setup_err)?);
        let files = Arc::new(SnapshotFile::new(dir.path().join("snapshot")).map_err(setup_err)?);
        let shared = Arc::new(Shared::new(16, Revision::ZERO));
        let sm = StateMachineStore::open(db.clone(), shared, files).map_err(setup_err)?;
        Ok((dir, LogStore::new(db), sm))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    if let Err(e) = Suite::test_all(Builder) {
        panic!("openraft storage suite failed: {e}");
    }
}
