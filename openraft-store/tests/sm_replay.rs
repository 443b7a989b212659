//! The state machine's writes are not fsynced on their own: after a power
//! loss it may come back behind the Raft log (the log's fsynced appends are
//! the durable record). This builds that state on disk — the state machine
//! of an earlier moment under the log of a later one — and checks that every
//! acknowledged write is back, at its revision, once the store reopens.

mod common;

use std::path::Path;

use common::*;
use openraft_store::{schema, Consistency, Revision, Store};

/// Copies a closed store's data dir.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Replaces the Raft log side (log entries, vote, committed, purged) of the
/// database in `to` with the one in `from`, leaving `to`'s state machine.
fn graft_raft_log(from: &Path, to: &Path) {
    let src = schema::open_db(&from.join("db")).expect("open source db");
    let dst = schema::open_db(&to.join("db")).expect("open target db");
    for name in [schema::CF_RAFT_LOG, schema::CF_RAFT_META] {
        let (s, d) = (
            src.cf_handle(name).expect("source cf"),
            dst.cf_handle(name).expect("target cf"),
        );
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range_cf(d, [0u8].as_slice(), [0xffu8; 16].as_slice());
        let mut it = src.raw_iterator_cf(s);
        it.seek_to_first();
        while let Some((k, v)) = it.item() {
            batch.put_cf(d, k, v);
            it.next();
        }
        it.status().expect("iterate source log");
        let mut opts = rocksdb::WriteOptions::default();
        opts.set_sync(true);
        dst.write_opt(batch, &opts).expect("write target log");
    }
}

/// Whether the state machine in `dir` holds a live value at `key`.
fn state_machine_has(dir: &Path, key: &str) -> bool {
    let db = schema::open_db(&dir.join("db")).expect("open db");
    let current = db.cf_handle(schema::CF_CURRENT).expect("current cf");
    db.get_cf(current, key.as_bytes())
        .expect("read current")
        .is_some()
}

async fn acknowledged_writes(store: &dyn Store, tag: &str, n: usize) -> Vec<(String, Revision)> {
    let mut acked = Vec::new();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let key = format!("/replay/{tag}/{i:04}");
            async move {
                let r = create(store, &key, &key).await;
                assert!(r.succeeded, "create {key}");
                (key, r.revision)
            }
        })
        .collect();
    for (key, rev) in futures::future::join_all(tasks).await {
        acked.push((key, rev));
    }
    acked
}

#[tokio::test]
async fn state_machine_behind_the_log_is_caught_up_at_start() {
    let base = tempfile::tempdir().expect("tempdir");
    let (live, behind) = (base.path().join("live"), base.path().join("behind"));

    let store = open(&live).await;
    let mut acked = acknowledged_writes(&*store, "early", 50).await;
    store.shutdown().await.expect("shutdown");
    drop(store);
    // The state machine as it was here ...
    copy_dir(&live, &behind);

    let store = open(&live).await;
    acked.extend(acknowledged_writes(&*store, "late", 200).await);
    let last = store.current_revision().await.expect("revision");
    store.shutdown().await.expect("shutdown");
    drop(store);
    // ... under the log as it is now.
    graft_raft_log(&live, &behind);
    assert!(state_machine_has(&behind, "/replay/early/0000"));
    assert!(
        !state_machine_has(&behind, "/replay/late/0000"),
        "the state machine should be behind the log before the store reopens"
    );

    let store = open(&behind).await;
    let current = store.current_revision().await.expect("revision");
    assert!(
        current >= last,
        "revision went back to {current} below {last}"
    );
    for (key, rev) in &acked {
        let (kv, _) = store
            .get(key.as_bytes(), None, Consistency::Linearizable)
            .await
            .expect("get");
        let kv = kv.unwrap_or_else(|| panic!("acknowledged {key}@{rev} lost"));
        assert_eq!(kv.mod_revision, *rev, "{key}");
    }
    store.shutdown().await.expect("shutdown");
}
