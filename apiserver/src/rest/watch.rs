//! WATCH: newline-delimited `WatchEvent`s over a chunked response, served
//! from the resource's watch cache (or the store's history for revisions
//! older than the cache window).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web::Bytes, HttpResponse};
use futures::StreamExt;
use openraft_store::{Revision, StoreError, WatchMessage, WatchStream};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use super::filter::Selection;
use super::output::{self, negotiate, Format};
use super::read::{validate_list_options, WAIT_FOR_FRESH};
use super::Ctx;
use crate::error::{ApiError, ApiResult, Cause};
use crate::query::RvMatch;
use crate::registry::{keys, meta};
use crate::resources::ResourceInfo;
use crate::watchcache::{self, Change, ChangeKind, Message, Subscription};

/// How often a watch that allows bookmarks gets one (when progress was made).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);
/// upstream's `--min-request-timeout` (1800s): watches last 1-2x that.
const MIN_REQUEST_TIMEOUT: u64 = 1800;

fn invalid_watch(field: &str, reason: &str, message: &str) -> ApiError {
    ApiError::invalid(
        "ListOptions",
        "meta.k8s.io",
        "",
        vec![Cause {
            reason: reason.into(),
            message: message.into(),
            field: field.into(),
        }],
    )
}

/// Where the client's watch starts.
enum Start {
    /// Current state as ADDED events; then an initial-events-end bookmark
    /// when `sendInitialEvents=true`.
    Initial {
        at_least: Option<Revision>,
        end_bookmark: bool,
    },
    /// Changes after this revision.
    After(Revision),
}

pub async fn watch(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let format = negotiate(ctx.req, &ctx.query, true)?;
    let selection = Selection::parse(
        info,
        ctx.query.label_selector(),
        ctx.query.field_selector(),
        ctx.target.name.as_deref(),
    )?;
    let send_initial = match ctx.query.get("sendInitialEvents") {
        None | Some("") => None,
        Some(_) => Some(ctx.query.bool("sendInitialEvents")?),
    };
    let bookmarks = ctx.query.bool("allowWatchBookmarks")?;
    let rv = ctx.query.resource_version()?;
    let rv_match = ctx.query.rv_match()?;
    if send_initial.is_some() {
        if rv_match != Some(RvMatch::NotOlderThan) {
            return Err(invalid_watch(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !bookmarks {
            return Err(invalid_watch(
                "allowWatchBookmarks",
                "FieldValueRequired",
                "Required value: sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    } else if rv_match.is_some() {
        return Err(invalid_watch(
            "resourceVersionMatch",
            "FieldValueForbidden",
            "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    } else {
        validate_list_options(ctx, true)?;
    }
    let timeout = match ctx.query.int("timeoutSeconds")? {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        _ => {
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * MIN_REQUEST_TIMEOUT / 255;
            Duration::from_secs(MIN_REQUEST_TIMEOUT + jitter)
        }
    };
    let start = match (send_initial, rv) {
        (Some(true), rv) => Start::Initial {
            at_least: rv.filter(|r| *r > Revision::ZERO),
            end_bookmark: true,
        },
        (Some(false), None) => Start::After(ctx.state.store.current_revision().await?),
        (Some(false), Some(r)) => Start::After(r),
        (None, None) | (None, Some(Revision::ZERO)) => Start::Initial {
            at_least: None,
            end_bookmark: false,
        },
        (None, Some(r)) => Start::After(r),
    };
    let cache = ctx.state.cache(&keys::resource_prefix(info));
    // A consistent start: the cache must have seen the store's current
    // revision (RV "") or the one asked for.
    let fresh = match (&start, rv) {
        (
            Start::Initial {
                at_least: Some(r), ..
            },
            _,
        ) => Some(*r),
        (Start::Initial { .. }, None) => Some(ctx.state.store.current_revision().await?),
        (Start::After(r), _) => Some(*r),
        _ => None,
    };
    let ready = cache.wait_for(fresh, WAIT_FOR_FRESH).await;
    if !ready && !cache.wait_for(None, WAIT_FOR_FRESH).await {
        return Err(ApiError::timeout("the watch cache is not ready yet"));
    }
    let prefix = keys::list_prefix(info, ctx.target.ns());
    let (tx, rx) = mpsc::channel::<Result<Bytes, actix_web::Error>>(256);
    let w = Watcher {
        info,
        format,
        selection,
        prefix,
        bookmarks,
        tx,
        first_table: true,
        last_rev: Revision::ZERO,
        bookmarked: Revision::ZERO,
    };
    let (sub, end_bookmark, after) = match start {
        Start::Initial { end_bookmark, .. } => {
            (cache.subscribe(&w.prefix, None), end_bookmark, None)
        }
        Start::After(r) => (cache.subscribe(&w.prefix, Some(r)), false, Some(r)),
    };
    let store = ctx.state.store.clone();
    actix_web::rt::spawn(w.run(sub, end_bookmark, after, store, timeout));
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-cache, private"))
        .streaming(stream))
}

/// One client watch.
struct Watcher {
    info: &'static ResourceInfo,
    format: Format,
    selection: Selection,
    prefix: Vec<u8>,
    bookmarks: bool,
    tx: mpsc::Sender<Result<Bytes, actix_web::Error>>,
    first_table: bool,
    last_rev: Revision,
    bookmarked: Revision,
}

enum Source {
    Cache(broadcast::Receiver<Message>),
    Store(WatchStream),
}

enum Next {
    Changes(Vec<Arc<Change>>),
    Progress(Revision),
    /// The watch must end (lagging, reset); the client re-watches.
    End,
    Error(ApiError),
}

impl Source {
    async fn next(&mut self) -> Next {
        match self {
            Source::Cache(rx) => match rx.recv().await {
                Ok(Message::Change(c)) => Next::Changes(vec![c]),
                Ok(Message::Progress(r)) => Next::Progress(r),
                Ok(Message::Reset) | Err(_) => Next::End,
            },
            Source::Store(s) => match s.next().await {
                Some(Ok(WatchMessage::Events(evs))) => Next::Changes(
                    evs.iter()
                        .filter_map(watchcache::change_from_event)
                        .map(Arc::new)
                        .collect(),
                ),
                Some(Ok(WatchMessage::Progress(r))) => Next::Progress(r),
                Some(Err(StoreError::Compacted {
                    requested,
                    compacted,
                })) => Next::Error(too_old(Revision(requested.0.saturating_sub(1)), compacted)),
                Some(Err(e)) => Next::Error(e.into()),
                None => Next::End,
            },
        }
    }
}

fn too_old(rv: Revision, oldest: Revision) -> ApiError {
    ApiError::gone(format!("too old resource version: {rv} ({oldest})"))
}

impl Watcher {
    async fn send(&mut self, event_type: &str, object: Value) -> bool {
        let mut line =
            serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
        line.push(b'\n');
        self.tx.send(Ok(Bytes::from(line))).await.is_ok()
    }

    fn render(&mut self, obj: &Value) -> Value {
        match self.format {
            Format::Table(include) => {
                let headers = self.first_table;
                self.first_table = false;
                let obj = output::with_type(self.info, obj.clone());
                output::object_table(self.info, &obj, include, headers)
            }
            f => output::render_object(self.info, obj.clone(), f),
        }
    }

    fn bookmark_object(&self, rev: Revision, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        match self.format {
            Format::Json | Format::Yaml => json!({
                "kind": self.info.kind,
                "apiVersion": self.info.api_version(),
                "metadata": metadata,
            }),
            Format::Metadata => json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
            }),
            Format::Table(_) => json!({
                "kind": "Table",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "columnDefinitions": null,
                "rows": null,
            }),
        }
    }

    async fn bookmark(&mut self, rev: Revision, initial_end: bool) -> bool {
        self.bookmarked = rev;
        let obj = self.bookmark_object(rev, initial_end);
        self.send("BOOKMARK", obj).await
    }

    /// Sends one change, translated by the selectors as upstream's cacher
    /// does: leaving the selection is DELETED, entering it ADDED.
    async fn change(&mut self, c: &Change) -> bool {
        if c.revision <= self.last_rev || !c.key.starts_with(&self.prefix) {
            return true;
        }
        self.last_rev = c.revision;
        let info = self.info;
        let prev_matches = c
            .prev
            .as_ref()
            .is_some_and(|p| self.selection.matches(info, p));
        match c.kind {
            ChangeKind::Delete => {
                if prev_matches || c.prev.is_none() && self.selection.matches(info, &c.object) {
                    let obj = self.render(&c.object);
                    return self.send("DELETED", obj).await;
                }
                true
            }
            ChangeKind::Put => {
                let now_matches = self.selection.matches(info, &c.object);
                let (event, source) = match (prev_matches, now_matches) {
                    (true, true) => ("MODIFIED", None),
                    (false, true) => ("ADDED", None),
                    (true, false) => ("DELETED", c.prev.clone()),
                    (false, false) => return true,
                };
                let obj = match source {
                    Some(prev) => {
                        let mut last = (*prev).clone();
                        meta::set_resource_version(&mut last, c.revision);
                        self.render(&last)
                    }
                    None => self.render(&c.object),
                };
                self.send(event, obj).await
            }
        }
    }

    async fn run(
        mut self,
        sub: Subscription,
        end_bookmark: bool,
        after: Option<Revision>,
        store: Arc<dyn openraft_store::Store>,
        timeout: Duration,
    ) {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut source = match sub {
            Subscription::Snapshot {
                objects,
                revision,
                rx,
            } => {
                for o in objects.iter() {
                    if self.selection.matches(self.info, o) {
                        let obj = self.render(o);
                        if !self.send("ADDED", obj).await {
                            return;
                        }
                    }
                }
                self.last_rev = revision;
                if end_bookmark && !self.bookmark(revision, true).await {
                    return;
                }
                Source::Cache(rx)
            }
            Subscription::Resume { changes, after, rx } => {
                self.last_rev = after;
                for c in &changes {
                    if !self.change(c).await {
                        return;
                    }
                }
                Source::Cache(rx)
            }
            Subscription::TooOld { .. } => {
                // Older than the cache window: replay the store's history.
                let requested = after.unwrap_or_default();
                match store.watch(&self.prefix, requested.next()).await {
                    Ok(s) => {
                        self.last_rev = requested;
                        Source::Store(s)
                    }
                    Err(StoreError::Compacted { compacted, .. }) => {
                        let _ = self
                            .send("ERROR", too_old(requested, compacted).to_status())
                            .await;
                        return;
                    }
                    Err(e) => {
                        let _ = self.send("ERROR", ApiError::from(e).to_status()).await;
                        return;
                    }
                }
            }
        };
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        let mut progress = self.last_rev;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = self.tx.closed() => return,
                _ = ticker.tick(), if self.bookmarks => {
                    let rev = progress.max(self.last_rev);
                    if rev > self.bookmarked && rev > Revision::ZERO && !self.bookmark(rev, false).await {
                        return;
                    }
                }
                next = source.next() => match next {
                    Next::Changes(cs) => {
                        for c in &cs {
                            if !self.change(c).await {
                                return;
                            }
                        }
                    }
                    Next::Progress(r) => progress = progress.max(r),
                    Next::End => return,
                    Next::Error(e) => {
                        let _ = self.send("ERROR", e.to_status()).await;
                        return;
                    }
                }
            }
        }
    }
}
