//! Several nodes in one process, talking Raft over HTTP on loopback.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use openraft_store::{
    Compare, Consistency, Op, RaftStore, RangeRequest, Revision, Store, StoreError, TxnRequest,
    WatchMessage,
};

async fn start(
    dir: &std::path::Path,
    id: u64,
    join: Option<String>,
    tweak: impl Fn(&mut openraft_store::Config),
) -> Arc<RaftStore> {
    let mut c = config(&dir.join(format!("n{id}")), id);
    c.raft_listen = Some("127.0.0.1:0".into());
    c.join = join;
    tweak(&mut c);
    RaftStore::open(c).await.expect("open node")
}

async fn cluster(dir: &std::path::Path, n: u64) -> Vec<Arc<RaftStore>> {
    let first = start(dir, 1, None, |_| {}).await;
    let seed = first.raft_addr().to_string();
    let mut nodes = vec![first];
    for id in 2..=n {
        nodes.push(start(dir, id, Some(seed.clone()), |_| {}).await);
    }
    nodes
}

async fn leader_of(nodes: &[Arc<RaftStore>]) -> u64 {
    for _ in 0..200 {
        if let Ok(s) = nodes[0].status().await {
            if let Some(l) = s.leader {
                return l;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no leader")
}

fn create_req(key: &str) -> TxnRequest {
    TxnRequest {
        compares: vec![Compare {
            key: key.into(),
            mod_revision: Revision::ZERO,
        }],
        success: vec![Op::Put {
            key: key.into(),
            value: key.into(),
        }],
    }
}

/// Writes `/load/{w}/{i}` through the nodes in turn, retrying each key until
/// it is acknowledged (or found already there after an ambiguous failure).
async fn writer(
    w: usize,
    nodes: Vec<Arc<RaftStore>>,
    dead: Arc<Mutex<BTreeSet<u64>>>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, Revision)> {
    let mut acks = Vec::new();
    let mut i = 0usize;
    let mut turn = w;
    while !stop.load(Ordering::SeqCst) {
        let key = format!("/load/{w}/{i:05}");
        turn += 1;
        let node = &nodes[turn % nodes.len()];
        if dead.lock().expect("lock").contains(&node.id()) {
            continue;
        }
        match node.txn(create_req(&key)).await {
            Ok(r) if r.succeeded => {
                acks.push((key, r.revision));
                i += 1;
            }
            // An earlier ambiguous attempt did land: its revision is the key's.
            Ok(r) => {
                let kv = r.prev[0]
                    .clone()
                    .expect("compare failed on an existing key");
                acks.push((key, kv.mod_revision));
                i += 1;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    acks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_death_under_write_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nodes = cluster(dir.path(), 3).await;
    let status = nodes[0].status().await.expect("status");
    assert_eq!(
        status.members.iter().filter(|m| m.voter).count(),
        3,
        "{status:?}"
    );
    let old_leader = leader_of(&nodes).await;
    let leader_node = nodes
        .iter()
        .find(|n| n.id() == old_leader)
        .expect("leader")
        .clone();

    // A watcher on the leader, which will die: it reconnects elsewhere.
    let mut watch = leader_node
        .watch(b"/load/", Revision(1))
        .await
        .expect("watch");

    let dead = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(writer(w, nodes.clone(), dead.clone(), stop.clone())))
        .collect();

    // Collect events; kill the leader after some, keep going after the new leader.
    let mut events = Vec::new();
    let mut last = Revision::ZERO;
    let mut killed = false;
    let mut new_leader = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("watch progress")
        {
            Some(Ok(WatchMessage::Events(evs))) => {
                for e in evs {
                    assert!(e.kv.mod_revision > last, "event revisions must increase");
                    last = e.kv.mod_revision;
                    events.push(e);
                }
            }
            Some(Ok(WatchMessage::Progress(_))) => {}
            Some(Err(e)) => panic!("watch error {e}"),
            None => {
                // The stream ended with its node: resume on a live node.
                let live = nodes
                    .iter()
                    .find(|n| !dead.lock().expect("lock").contains(&n.id()))
                    .expect("a live node");
                watch = live.watch(b"/load/", last.next()).await.expect("re-watch");
            }
        }
        if !killed && events.len() >= 40 {
            dead.lock().expect("lock").insert(old_leader);
            leader_node.shutdown().await.expect("shutdown leader");
            killed = true;
        }
        if killed && new_leader.is_none() {
            let live: Vec<_> = nodes
                .iter()
                .filter(|n| n.id() != old_leader)
                .cloned()
                .collect();
            if let Ok(s) = live[0].status().await {
                if s.leader.is_some_and(|l| l != old_leader) {
                    new_leader = s.leader;
                }
            }
        }
        if new_leader.is_some() && events.len() >= 120 {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut acks = Vec::new();
    for (w, h) in writers.into_iter().enumerate() {
        let mine = h.await.expect("writer");
        let revs: Vec<_> = mine.iter().map(|(_, r)| *r).collect();
        assert!(
            revs.windows(2).all(|p| p[0] < p[1]),
            "writer {w}: revisions must strictly increase"
        );
        acks.extend(mine);
    }
    let distinct: BTreeSet<_> = acks.iter().map(|(_, r)| *r).collect();
    assert_eq!(
        distinct.len(),
        acks.len(),
        "one revision per acknowledged write"
    );

    let survivor = nodes
        .iter()
        .find(|n| n.id() != old_leader)
        .expect("survivor");
    let all = survivor
        .range(RangeRequest::prefix("/load/"))
        .await
        .expect("range");
    let stored: BTreeMap<String, Revision> = all
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                kv.mod_revision,
            )
        })
        .collect();
    for (key, rev) in &acks {
        assert_eq!(
            stored.get(key),
            Some(rev),
            "acknowledged write {key}@{rev} lost"
        );
    }

    // The watcher sees every event exactly once, in order, up to the end.
    let max = all.revision;
    while last < max {
        match tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("watch progress")
        {
            Some(Ok(WatchMessage::Events(evs))) => {
                for e in evs {
                    assert!(e.kv.mod_revision > last, "event revisions must increase");
                    last = e.kv.mod_revision;
                    events.push(e);
                }
            }
            Some(Ok(WatchMessage::Progress(_))) => {}
            other => panic!("watch ended: {other:?}"),
        }
    }
    let seen: Vec<String> = events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.kv.key).into_owned())
        .collect();
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
    let stored_keys: BTreeSet<&String> = stored.keys().collect();
    assert_eq!(unique, stored_keys, "watch must see every stored key once");

    for n in &nodes {
        if n.id() != old_leader {
            n.shutdown().await.expect("shutdown");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn new_node_catches_up_by_snapshot_and_can_be_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small_log = |c: &mut openraft_store::Config| {
        c.snapshot_logs = 20;
        c.logs_to_keep = 5;
    };
    let n1 = start(dir.path(), 1, None, small_log).await;
    for i in 0..60 {
        create(&*n1, &format!("/s/{i:03}"), "v").await;
    }
    update(&*n1, "/s/000", Revision(1), "v2").await;
    // The log behind the snapshot is purged, so node 2 can only catch up by snapshot.
    n1.trigger_snapshot().await.expect("snapshot");
    let purged = n1
        .raft()
        .wait(Some(Duration::from_secs(20)))
        .metrics(|m| m.purged.is_some_and(|p| p.index > 10), "log purged")
        .await;
    assert!(purged.is_ok(), "log was not purged behind the snapshot");

    let n2 = start(dir.path(), 2, Some(n1.raft_addr().to_string()), small_log).await;
    let s = n2.status().await.expect("status");
    assert_eq!(s.members.iter().filter(|m| m.voter).count(), 2, "{s:?}");
    let list = n2
        .range(RangeRequest {
            consistency: Consistency::Linearizable,
            ..RangeRequest::prefix("/s/")
        })
        .await
        .expect("range on node 2");
    assert_eq!(list.kvs.len(), 60);
    assert_eq!(list.revision, Revision(61));
    // History came with the snapshot: past revisions read the same on node 2.
    let (old, _) = n2
        .get(b"/s/000", Some(Revision(5)), Consistency::Serializable)
        .await
        .expect("past read");
    assert_eq!(kv_value(&old).as_deref(), Some("v"));
    // Writes and linearizable reads through the follower.
    let follower = if n2.status().await.expect("status").leader == Some(2) {
        &n1
    } else {
        &n2
    };
    assert_eq!(
        create(&**follower, "/s/through-follower", "x")
            .await
            .revision,
        Revision(62)
    );
    assert_eq!(
        follower.current_revision().await.expect("rev"),
        Revision(62)
    );

    n1.remove_member(2).await.expect("remove node 2");
    let s = n1.status().await.expect("status");
    assert_eq!(
        s.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![1],
        "{s:?}"
    );
    assert!(matches!(
        create(&*n1, "/s/after", "x").await.revision,
        Revision(63)
    ));
    n2.shutdown().await.expect("shutdown 2");
    n1.shutdown().await.expect("shutdown 1");
    let _ = StoreError::Unavailable(String::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_node_restarted_with_a_listener_can_be_joined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("n1");
    {
        // The embedded default: no Raft listener, membership has no address.
        let alone = RaftStore::open(config(&path, 1)).await.expect("open");
        create(&*alone, "/e/a", "1").await;
        alone.shutdown().await.expect("shutdown");
    }
    let mut c = config(&path, 1);
    c.raft_listen = Some("127.0.0.1:0".into());
    let n1 = RaftStore::open(c).await.expect("reopen with listener");
    let n2 = start(dir.path(), 2, Some(n1.raft_addr().to_string()), |_| {}).await;
    let members = n2.status().await.expect("status").members;
    let n1_addr = members.iter().find(|m| m.id == 1).map(|m| m.addr.clone());
    assert_eq!(n1_addr.as_deref(), Some(n1.raft_addr()));
    // Node 2 forwards its write to node 1, the leader.
    assert_eq!(create(&*n2, "/e/b", "2").await.revision, Revision(2));
    let (kv, _) = n1
        .get(b"/e/b", None, Consistency::Linearizable)
        .await
        .expect("get");
    assert_eq!(kv_value(&kv).as_deref(), Some("2"));
    n2.shutdown().await.expect("shutdown 2");
    n1.shutdown().await.expect("shutdown 1");
}

/// Nodes started together (as a user starts a cluster from three terminals)
/// must not fail each other's joins: Raft allows one membership change at a
/// time, so the seed serializes them and waits out one in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_joining_at_the_same_time_all_become_voters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = start(dir.path(), 1, None, |_| {}).await;
    let seed = first.raft_addr().to_string();
    let (second, third) = tokio::join!(
        start(dir.path(), 2, Some(seed.clone()), |_| {}),
        start(dir.path(), 3, Some(seed.clone()), |_| {}),
    );
    let status = first.status().await.expect("status");
    let voters: BTreeSet<u64> = status
        .members
        .iter()
        .filter(|m| m.voter)
        .map(|m| m.id)
        .collect();
    assert_eq!(voters, BTreeSet::from([1, 2, 3]));
    for n in [&first, &second, &third] {
        n.shutdown().await.expect("shutdown");
    }
}
