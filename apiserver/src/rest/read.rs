//! GET of one object and LIST of a collection.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use openraft_store::{Consistency, Revision};
use serde_json::Value;

use super::filter::Selection;
use super::output::{self, negotiate};
use super::Ctx;
use crate::error::{ApiError, ApiResult, Cause};
use crate::query::RvMatch;
use crate::registry::continuation::{self, Continue};
use crate::registry::{convert, keys, ListOptions};

/// How long a `resourceVersion` newer than the cache is waited for.
pub const WAIT_FOR_FRESH: Duration = Duration::from_secs(3);

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let format = negotiate(ctx.req, &ctx.query, true)?;
    let rv = ctx.query.resource_version()?;
    let obj = ctx
        .registry
        .get(ctx.target.ns(), ctx.target.name(), rv)
        .await?;
    let body = output::render_object(ctx.info(), obj, format);
    Ok(output::respond(200, &body, format, &[]))
}

fn list_options_invalid(field: &str, reason: &str, message: &str) -> ApiError {
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

/// Validates the combination of `resourceVersion`, `resourceVersionMatch`
/// and `continue` (upstream `ValidateListOptions`).
pub fn validate_list_options(
    ctx: &Ctx<'_>,
    watch: bool,
) -> ApiResult<(Option<Revision>, Option<RvMatch>)> {
    let rv = ctx.query.resource_version()?;
    let rv_match = ctx.query.rv_match()?;
    let cont = ctx.query.get("continue").filter(|c| !c.is_empty());
    if let Some(m) = rv_match {
        if cont.is_some() {
            return Err(list_options_invalid(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if rv.is_none() {
            return Err(list_options_invalid(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if m == RvMatch::Exact && rv == Some(Revision::ZERO) {
            return Err(list_options_invalid(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
        if watch && m == RvMatch::Exact {
            return Err(list_options_invalid(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
    }
    if cont.is_some() && rv.is_some_and(|r| r != Revision::ZERO) {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    Ok((rv, rv_match))
}

/// What state a list must show (upstream's `shouldDelegateList` and the
/// cacher's reading of `resourceVersion`, `resourceVersionMatch` and
/// `continue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `resourceVersion` "": the latest state (a consistent read).
    Consistent,
    /// `resourceVersion` "0": any state; `limit` is ignored, as upstream.
    Any,
    /// Not older than this revision.
    NotOlderThan(Revision),
    /// Exactly this revision (`resourceVersionMatch=Exact`, a legacy
    /// paginated list at a version, or a continue token's revision).
    Exact(Revision),
}

impl Want {
    fn of(
        rv: Option<Revision>,
        rv_match: Option<RvMatch>,
        limit: usize,
        token: Option<&Continue>,
    ) -> Want {
        if let Some(t) = token {
            return Want::Exact(t.revision);
        }
        match (rv, rv_match) {
            (None, _) => Want::Consistent,
            (Some(Revision::ZERO), _) => Want::Any,
            (Some(r), Some(RvMatch::Exact)) => Want::Exact(r),
            (Some(r), None) if limit > 0 => Want::Exact(r),
            (Some(r), _) => Want::NotOlderThan(r),
        }
    }
}

/// One page of a list, wherever it was read.
struct Listed {
    items: Vec<Arc<Value>>,
    revision: Revision,
    continue_token: Option<String>,
    remaining: Option<i64>,
}

pub async fn list(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let format = negotiate(ctx.req, &ctx.query, true)?;
    let selection = Selection::parse(
        info,
        ctx.query.label_selector(),
        ctx.query.field_selector(),
        None,
    )?;
    let (rv, rv_match) = validate_list_options(ctx, false)?;
    let limit = ctx.query.limit()?;
    let cont = ctx
        .query
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let token = cont.as_deref().map(continuation::decode).transpose()?;
    let want = Want::of(rv, rv_match, limit, token.as_ref());
    let listed = match from_cache(ctx, &selection, want, limit, token.as_ref()).await? {
        Some(listed) => listed,
        None => from_store(ctx, &selection, want, limit, cont).await?,
    };
    Ok(output::list_response(
        info,
        listed.items,
        listed.revision,
        listed.continue_token,
        listed.remaining,
        format,
    ))
}

/// The list from the resource's watch cache, once the cache has caught up
/// with what the request needs; `None` when it cannot answer in time (not
/// synced, too far behind, or the revision left its window): the store
/// answers instead.
async fn from_cache(
    ctx: &Ctx<'_>,
    selection: &Selection,
    want: Want,
    limit: usize,
    token: Option<&Continue>,
) -> ApiResult<Option<Listed>> {
    let info = ctx.info();
    let cache = ctx.state.cache(&keys::resource_prefix(info));
    let min = match want {
        Want::Any => None,
        Want::NotOlderThan(r) | Want::Exact(r) => Some(r),
        // The store's current revision: every write acknowledged before
        // this request started is in it.
        Want::Consistent => Some(ctx.state.store.current_revision().await?),
    };
    if let Want::Exact(r) = want {
        // A revision the store compacted away is gone (410) even while the
        // cache's window still holds it, as when upstream reads it from etcd.
        if r < ctx.state.store.status().await?.compacted {
            return Ok(None);
        }
    }
    if !cache.wait_for(min, WAIT_FOR_FRESH).await {
        return Ok(None);
    }
    let prefix = keys::list_prefix(info, ctx.target.ns());
    let mut start = prefix.clone();
    if let Some(t) = token {
        start.extend_from_slice(t.start.as_bytes());
    }
    let (at, limit) = match want {
        Want::Exact(r) => (Some(r), limit),
        Want::Any => (None, 0),
        _ => (None, limit),
    };
    let keep = |o: &Value| selection.matches(info, o);
    let Some(page) = cache.list(&prefix, &start, at, limit, &keep) else {
        return Ok(None);
    };
    let continue_token = match (&page.last_key, page.more) {
        (Some(last), true) => {
            let mut next = last[prefix.len()..].to_vec();
            next.push(0);
            Some(continuation::encode(
                page.revision,
                &String::from_utf8_lossy(&next),
            ))
        }
        _ => None,
    };
    // Upstream counts what is left only when every object matches.
    let remaining = (continue_token.is_some() && selection.is_everything())
        .then(|| page.total as i64 - limit as i64);
    let items = if convert::shares_storage(info) || info.is_custom() {
        page.objects
            .into_iter()
            .map(|o| Arc::new(convert::to_served(info, Arc::unwrap_or_clone(o))))
            .collect()
    } else {
        page.objects
    };
    Ok(Some(Listed {
        items,
        revision: page.revision,
        continue_token,
        remaining,
    }))
}

/// The list read from the store.
async fn from_store(
    ctx: &Ctx<'_>,
    selection: &Selection,
    want: Want,
    limit: usize,
    cont: Option<String>,
) -> ApiResult<Listed> {
    let info = ctx.info();
    let exact = match want {
        Want::Exact(r) if cont.is_none() => Some(r),
        _ => None,
    };
    let opts = ListOptions {
        filter: selection.predicate(info),
        limit: if want == Want::Any { 0 } else { limit },
        continue_token: cont,
        exact,
        consistency: Consistency::Linearizable,
    };
    let result = ctx.registry.list(ctx.target.ns(), &opts).await?;
    if let Want::NotOlderThan(min) = want {
        if result.revision < min {
            return Err(crate::registry::too_large_rv(min, result.revision));
        }
    }
    Ok(Listed {
        items: result.items.into_iter().map(Arc::new).collect(),
        revision: result.revision,
        continue_token: result.continue_token,
        remaining: result.remaining,
    })
}
