//! Durability under SIGKILL: a child process (this test binary re-executed)
//! writes in a loop and prints each acknowledged revision; the parent kills
//! it mid-write, reopens the data dir and checks every acknowledged write.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use openraft_store::{Consistency, Revision, Store};

const CHILD_ENV: &str = "FERROKUBE_KILL9_CHILD_DIR";

/// The child: only does something when re-executed by the parent test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open(std::path::Path::new(&dir)).await;
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("/k9/{}/{w}/{i:06}", std::process::id());
                    let r = create(&*store, &key, &key).await;
                    assert!(r.succeeded);
                    println!("ACK {key} {}", r.revision.0);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test]
async fn kill9_mid_write_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: Vec<(String, u64)> = Vec::new();
    // Two rounds: the second kill hits a store that was itself recovered.
    for round in 0..2 {
        let mut child = Command::new(&exe)
            .args([
                "kill9_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut this_round = 0;
        while this_round < 300 {
            let line = lines
                .next()
                .expect("child ended early")
                .expect("read child");
            if let Some(rest) = line.find("ACK ").map(|at| &line[at + 4..]) {
                let (key, rev) = rest.split_once(' ').expect("ACK key rev");
                acked.push((key.to_string(), rev.parse().expect("revision")));
                this_round += 1;
            }
        }
        child.kill().expect("SIGKILL child"); // SIGKILL on Unix
                                              // Whatever the child printed before dying was acknowledged too.
        for line in lines.map_while(|l| l.ok()) {
            if let Some(rest) = line.find("ACK ").map(|at| &line[at + 4..]) {
                if let Some((key, rev)) = rest.split_once(' ') {
                    if let Ok(rev) = rev.parse() {
                        acked.push((key.to_string(), rev));
                    }
                }
            }
        }
        child.wait().expect("reap child");

        let store = open(dir.path()).await;
        let max_acked = acked.iter().map(|(_, r)| *r).max().expect("some acks");
        let current = store.current_revision().await.expect("revision");
        assert!(
            current >= Revision(max_acked),
            "round {round}: revision went back to {current} below {max_acked}"
        );
        for (key, rev) in &acked {
            let (kv, _) = store
                .get(key.as_bytes(), None, Consistency::Linearizable)
                .await
                .expect("get");
            let kv = kv.unwrap_or_else(|| panic!("round {round}: acknowledged {key}@{rev} lost"));
            assert_eq!(kv.mod_revision, Revision(*rev), "{key}");
        }
        store.shutdown().await.expect("shutdown");
        drop(store);
    }
}
