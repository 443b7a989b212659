//! A single embedded node: create, read, update via txn, watch.

mod common;

use common::*;
use futures::StreamExt;
use openraft_store::{Consistency, EventType, RangeRequest, Revision, Store, WatchMessage};

#[tokio::test]
async fn create_read_update_and_watch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path()).await;

    let mut w = store
        .watch(b"/registry/", Revision::ZERO)
        .await
        .expect("watch");

    let created = create(&*store, "/registry/pods/a", "v1").await;
    assert!(created.succeeded);
    let rev1 = created.revision;
    assert_eq!(rev1, Revision(1));

    let (kv, at) = store
        .get(b"/registry/pods/a", None, Consistency::Linearizable)
        .await
        .expect("get");
    assert_eq!(at, rev1);
    let kv = kv.expect("key exists");
    assert_eq!(kv.value, b"v1");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (rev1, rev1, 1)
    );

    // A second create fails and returns the current value.
    let again = create(&*store, "/registry/pods/a", "other").await;
    assert!(!again.succeeded);
    assert_eq!(kv_value(&again.prev[0]).as_deref(), Some("v1"));
    assert_eq!(again.revision, rev1);

    let updated = update(&*store, "/registry/pods/a", rev1, "v2").await;
    assert!(updated.succeeded);
    assert_eq!(updated.revision, Revision(2));
    let cur = updated.current[0].clone().expect("written");
    assert_eq!(
        (cur.create_revision, cur.mod_revision, cur.version),
        (rev1, Revision(2), 2)
    );

    let list = store
        .range(RangeRequest {
            consistency: Consistency::Serializable,
            ..RangeRequest::prefix("/registry/pods/")
        })
        .await
        .expect("range");
    assert_eq!(list.kvs.len(), 1);
    assert_eq!(list.revision, Revision(2));

    let events = next_events(&mut w, 2).await;
    assert_eq!(events[0].kind, EventType::Put);
    assert_eq!(events[0].kv.mod_revision, Revision(1));
    assert_eq!(events[0].prev, None);
    assert_eq!(events[1].kv.value, b"v2");
    assert_eq!(kv_value(&events[1].prev).as_deref(), Some("v1"));

    // A write outside the prefix yields no event, but a progress report.
    let other = create(&*store, "/other/x", "1").await;
    assert_eq!(other.revision, Revision(3));
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(30), w.next())
            .await
            .expect("progress in time")
            .expect("open")
            .expect("ok");
        match msg {
            WatchMessage::Progress(Revision(3)) => break,
            WatchMessage::Progress(r) => assert!(r <= Revision(3), "progress {r} beyond current"),
            WatchMessage::Events(e) => panic!("unexpected events {e:?}"),
        }
    }
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn watch_from_past_revision_yields_every_event_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 1);
    // Tiny broadcast buffer: the watcher must fall back to RocksDB when it lags.
    cfg.watch_broadcast_capacity = 2;
    let store = openraft_store::RaftStore::open(cfg).await.expect("open");
    for i in 0..10 {
        create(&*store, &format!("/w/{i}"), "v").await;
    }
    let mut w = store.watch(b"/w/", Revision(4)).await.expect("watch");
    // Keep writing while nobody reads the watch: its buffer fills, the
    // broadcast lags, and it must catch up from RocksDB without gaps.
    for round in 0..6 {
        for i in 0..10 {
            let key = format!("/w/{i}");
            let r = store
                .get(key.as_bytes(), None, Consistency::Serializable)
                .await
                .expect("get")
                .0
                .expect("exists");
            update(&*store, &key, r.mod_revision, &format!("r{round}")).await;
        }
    }
    delete(&*store, "/w/0").await;
    let events = next_events(&mut w, 7 + 60 + 1).await;
    let revs: Vec<u64> = events.iter().map(|e| e.kv.mod_revision.0).collect();
    assert_eq!(revs, (4..=71).collect::<Vec<_>>());
    // Each update carries the value it replaced.
    for e in &events[7..67] {
        let prev = e.prev.as_ref().expect("prev").value.clone();
        let round: u32 = String::from_utf8_lossy(&e.kv.value)[1..]
            .parse()
            .expect("round");
        let want = if round == 0 {
            b"v".to_vec()
        } else {
            format!("r{}", round - 1).into_bytes()
        };
        assert_eq!(prev, want);
    }
    assert_eq!(events[67].kind, EventType::Delete);
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn compaction_makes_old_reads_and_watches_fail_with_compacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path()).await;
    for i in 0..5 {
        create(&*store, &format!("/c/{i}"), "v").await;
    }
    store.compact(Revision(3)).await.expect("compact");
    assert!(matches!(
        store
            .get(b"/c/0", Some(Revision(2)), Consistency::Linearizable)
            .await,
        Err(openraft_store::StoreError::Compacted { .. })
    ));
    assert!(store
        .get(b"/c/0", Some(Revision(3)), Consistency::Linearizable)
        .await
        .is_ok());
    assert!(matches!(
        store.watch(b"/c/", Revision(3)).await.err(),
        Some(openraft_store::StoreError::Compacted { .. })
    ));
    assert!(matches!(
        store.watch(b"/c/", Revision(7)).await.err(),
        Some(openraft_store::StoreError::FutureRevision { .. })
    ));
    let mut w = store
        .watch(b"/c/", Revision(4))
        .await
        .expect("watch after compaction");
    assert_eq!(next_events(&mut w, 2).await.len(), 2);
    assert!(matches!(
        store.compact(Revision(3)).await,
        Err(openraft_store::StoreError::Compacted { .. })
    ));
    assert_eq!(store.status().await.expect("status").compacted, Revision(3));
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn restart_after_clean_stop_keeps_data_and_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path()).await;
        for i in 0..20 {
            create(&*store, &format!("/r/{i}"), &format!("{i}")).await;
        }
        delete(&*store, "/r/3").await;
        // Through the trait, as the API server holds it.
        let dyn_store: std::sync::Arc<dyn Store> = store;
        dyn_store.shutdown().await.expect("shutdown");
    }
    let store = open(dir.path()).await;
    assert_eq!(
        store.current_revision().await.expect("revision"),
        Revision(21)
    );
    let list = store
        .range(RangeRequest::prefix("/r/"))
        .await
        .expect("range");
    assert_eq!(list.kvs.len(), 19);
    assert_eq!(list.revision, Revision(21));
    // History survives too, and new writes continue the revision sequence.
    let (old, _) = store
        .get(b"/r/3", Some(Revision(4)), Consistency::Linearizable)
        .await
        .expect("past read");
    assert_eq!(kv_value(&old).as_deref(), Some("3"));
    assert_eq!(create(&*store, "/r/new", "x").await.revision, Revision(22));
    let status = store.status().await.expect("status");
    assert_eq!(status.leader, Some(1));
    assert_eq!(status.members.len(), 1);
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn invalid_transactions_are_rejected_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path()).await;
    let dup = store
        .txn(openraft_store::TxnRequest {
            compares: vec![],
            success: vec![
                openraft_store::Op::Put {
                    key: b"/d".to_vec(),
                    value: b"1".to_vec(),
                },
                openraft_store::Op::Delete {
                    key: b"/d".to_vec(),
                },
            ],
        })
        .await;
    assert!(matches!(
        dup,
        Err(openraft_store::StoreError::InvalidRequest(_))
    ));
    let empty = store
        .txn(openraft_store::TxnRequest {
            compares: vec![],
            success: vec![openraft_store::Op::Put {
                key: vec![],
                value: b"1".to_vec(),
            }],
        })
        .await;
    assert!(matches!(
        empty,
        Err(openraft_store::StoreError::InvalidRequest(_))
    ));
    assert_eq!(store.current_revision().await.expect("rev"), Revision::ZERO);
    store.shutdown().await.expect("shutdown");
}
