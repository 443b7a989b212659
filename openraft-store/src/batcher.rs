//! Groups concurrent transactions into one Raft entry. openraft 0.9 writes
//! and fsyncs each proposed entry on its own, so this is where many clients'
//! writes share one fsync and one consensus round.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::api::{Op, Result, StoreError, TxnRequest, TxnResponse};
use crate::codec::TxnBatch;
use crate::node::{unavailable, Node};
use crate::raft_types::{Request, Response};

/// A transaction waiting to be proposed, and where its answer goes.
pub(crate) type Pending = (TxnRequest, oneshot::Sender<Result<TxnResponse>>);

/// Most transactions proposed in one Raft entry.
pub(crate) const MAX_BATCH: usize = 512;
/// Stop adding to a batch once its keys and values reach this size.
const MAX_BATCH_BYTES: usize = 4 << 20;

fn txn_size(req: &TxnRequest) -> usize {
    let ops: usize = req
        .success
        .iter()
        .map(|op| match op {
            Op::Put { key, value } => key.len() + value.len(),
            Op::Delete { key } => key.len(),
        })
        .sum();
    ops + req.compares.iter().map(|c| c.key.len() + 8).sum::<usize>()
}

/// Batches proposed but not yet applied at once; more requests wait and
/// join the next batch.
const MAX_IN_FLIGHT: usize = 4;

/// Groups concurrent transactions into one Raft entry each round: openraft
/// 0.9 fsyncs each entry on its own, so batching here is what amortizes the
/// fsync and the consensus round over many clients.
pub(crate) async fn run(node: Arc<Node>, mut rx: mpsc::Receiver<Pending>) {
    let mut shutdown = node.shutdown.subscribe();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = tokio::select! {
            _ = shutdown.changed() => None,
            p = rx.recv() => p,
        };
        let Some(first) = first else {
            break;
        };
        let mut bytes = txn_size(&first.0);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(p) => {
                    bytes += txn_size(&p.0);
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let node = node.clone();
        tokio::spawn(async move {
            let (reqs, answers): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let n = reqs.len();
            let res = node
                .timed(node.write(Request::Txns(TxnBatch(reqs)), true))
                .await;
            match res {
                Ok(Response::Txns(results)) if results.len() == n => {
                    for (r, a) in results.into_iter().zip(answers) {
                        let _ = a.send(r.map_err(Into::into));
                    }
                }
                Ok(other) => {
                    for a in answers {
                        let _ = a.send(Err(StoreError::Internal(format!(
                            "unexpected answer {other:?}"
                        ))));
                    }
                }
                Err(e) => {
                    for a in answers {
                        let _ = a.send(Err(e.clone()));
                    }
                }
            }
            drop(slot);
        });
    }
    // Shut down: answer whoever is still queued.
    rx.close();
    while let Some((_, a)) = rx.recv().await {
        let _ = a.send(Err(unavailable("store is shut down")));
    }
}
