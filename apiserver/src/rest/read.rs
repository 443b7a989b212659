//! GET of one object and LIST of a collection.

use std::time::Duration;

use actix_web::HttpResponse;
use openraft_store::{Consistency, Revision};

use super::filter::Selection;
use super::output::{self, negotiate};
use super::Ctx;
use crate::error::{ApiError, ApiResult, Cause};
use crate::query::RvMatch;
use crate::registry::{keys, ListOptions};

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

    // resourceVersion=0: any state is fine; served from the watch cache.
    if rv == Some(Revision::ZERO) && cont.is_none() {
        let cache = ctx.state.cache(&keys::resource_prefix(info));
        if !cache.wait_for(None, WAIT_FOR_FRESH).await {
            return Err(ApiError::timeout(
                "Too large resource version: 0, current: 0".to_string(),
            ));
        }
        let prefix = keys::list_prefix(info, ctx.target.ns());
        let (objects, revision) = cache.snapshot(&prefix);
        let items = objects
            .iter()
            .filter(|o| selection.matches(info, o))
            .map(|o| (**o).clone())
            .collect();
        let body = output::render_list(info, items, revision, None, None, format);
        return Ok(output::respond(200, &body, format, &[]));
    }

    let exact = match (rv, rv_match) {
        (Some(r), Some(RvMatch::Exact)) => Some(r),
        // A legacy paginated list at a given version reads at exactly it.
        (Some(r), None) if limit > 0 && r > Revision::ZERO => Some(r),
        _ => None,
    };
    let opts = ListOptions {
        filter: selection.predicate(info),
        limit,
        continue_token: cont,
        exact,
        consistency: Consistency::Linearizable,
    };
    let result = ctx.registry.list(ctx.target.ns(), &opts).await?;
    if let (Some(min), None) = (rv, exact) {
        if result.revision < min {
            return Err(crate::registry::too_large_rv(min, result.revision));
        }
    }
    let body = output::render_list(
        info,
        result.items,
        result.revision,
        result.continue_token,
        result.remaining,
        format,
    );
    Ok(output::respond(200, &body, format, &[]))
}
