//! Watches: replay history from RocksDB, then follow the state machine's
//! live broadcast. A watcher that falls behind (broadcast `Lagged`, or a
//! snapshot install) goes back to RocksDB instead of buffering without bound.

use std::sync::Arc;
use std::time::Duration;

use rocksdb::DB;
use tokio::sync::{broadcast, mpsc, watch};

use crate::api::{Result, Revision, StoreError, WatchMessage, WatchStream};
use crate::mvcc::ReadView;
use crate::state_machine::Shared;

/// Events read from RocksDB per message while replaying.
const REPLAY_CHUNK: usize = 1000;

/// Validates `start` and spawns the task feeding the returned stream.
pub fn watch(
    db: Arc<DB>,
    shared: Arc<Shared>,
    prefix: Vec<u8>,
    start: Revision,
    progress_interval: Duration,
    shutdown: watch::Receiver<bool>,
) -> Result<WatchStream> {
    // Subscribe before reading the revision so that no batch falls in between.
    let live = shared.applied.subscribe();
    let progress_requests = shared.progress_requests.subscribe();
    let view = ReadView::new(&db)?;
    let start = if start == Revision::ZERO {
        view.revision.next()
    } else {
        start
    };
    if view.compacted > Revision::ZERO && start <= view.compacted {
        return Err(StoreError::Compacted {
            requested: start,
            compacted: view.compacted,
        });
    }
    if start > view.revision.next() {
        return Err(StoreError::FutureRevision {
            requested: start,
            current: view.revision,
        });
    }
    drop(view);
    let (tx, rx) = mpsc::channel(16);
    let task = Watcher {
        db,
        prefix,
        next: start,
        live,
        tx,
        progress_interval,
        progress_requests,
        shutdown,
    };
    tokio::spawn(task.run());
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    })))
}

struct Watcher {
    db: Arc<DB>,
    prefix: Vec<u8>,
    /// The first revision not yet delivered.
    next: Revision,
    live: broadcast::Receiver<Arc<crate::state_machine::Applied>>,
    tx: mpsc::Sender<Result<WatchMessage>>,
    progress_interval: Duration,
    progress_requests: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

/// Why the live phase ended.
enum Live {
    Replay,
    Stop,
}

impl Watcher {
    async fn run(mut self) {
        loop {
            if let Err(e) = self.replay().await {
                let _ = self.tx.send(Err(e)).await;
                return;
            }
            match self.follow().await {
                Live::Replay => continue,
                Live::Stop => return,
            }
        }
    }

    async fn send(&self, msg: WatchMessage) -> bool {
        self.tx.send(Ok(msg)).await.is_ok()
    }

    /// Delivers everything RocksDB holds from `next` on.
    async fn replay(&mut self) -> Result<()> {
        loop {
            let (db, prefix, next) = (self.db.clone(), self.prefix.clone(), self.next);
            let (events, upto, current) = tokio::task::spawn_blocking(move || {
                let view = ReadView::new(&db)?;
                let (events, upto) = view.events(next, &prefix, REPLAY_CHUNK)?;
                Ok::<_, StoreError>((events, upto, view.revision))
            })
            .await
            .map_err(|e| StoreError::Internal(format!("watch replay: {e}")))??;
            if !events.is_empty() && !self.send(WatchMessage::Events(events)).await {
                return Ok(());
            }
            self.next = Revision(self.next.0.max(upto.0 + 1));
            if upto >= current {
                return Ok(());
            }
        }
    }

    /// Follows live batches until the watcher must replay or stop.
    async fn follow(&mut self) -> Live {
        let mut ticker = tokio::time::interval(self.progress_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported: Option<Revision> = None;
        loop {
            // Biased: batches already broadcast are taken before a progress
            // request is answered, so the position reported covers every
            // revision applied before the request was made.
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return Live::Stop,
                _ = self.tx.closed() => return Live::Stop,
                msg = self.live.recv() => match msg {
                    Ok(applied) => {
                        if applied.from > self.next {
                            return Live::Replay;
                        }
                        let events: Vec<_> = applied
                            .events
                            .iter()
                            .filter(|(rev, _)| *rev >= self.next)
                            .flat_map(|(_, evs)| evs.iter())
                            .filter(|e| e.kv.key.starts_with(&self.prefix))
                            .cloned()
                            .collect();
                        self.next = Revision(self.next.0.max(applied.to.0 + 1));
                        if !events.is_empty() {
                            if !self.send(WatchMessage::Events(events)).await {
                                return Live::Stop;
                            }
                            reported = Some(Revision(self.next.0 - 1));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(skipped = n, "watch lagged; replaying from RocksDB");
                        return Live::Replay;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Live::Stop,
                },
                asked = self.progress_requests.changed() => {
                    if asked.is_err() {
                        return Live::Stop;
                    }
                    let at = Revision(self.next.0.saturating_sub(1));
                    if reported != Some(at) {
                        if !self.send(WatchMessage::Progress(at)).await {
                            return Live::Stop;
                        }
                        reported = Some(at);
                    }
                }
                _ = ticker.tick() => {
                    let at = Revision(self.next.0.saturating_sub(1));
                    if reported != Some(at) {
                        if !self.send(WatchMessage::Progress(at)).await {
                            return Live::Stop;
                        }
                        reported = Some(at);
                    }
                }
            }
        }
    }
}
