//! Namespace deletion and `namespaces/{name}/finalize`.
//!
//! With a namespace controller running, deleting a namespace marks it
//! Terminating and returns; the controller deletes its content, clears
//! `spec.finalizers` through `/finalize` and deletes it again, which then
//! removes it (as upstream). Without one, the content is removed here,
//! synchronously, since nothing else would.

use actix_web::{web, HttpResponse};
use openraft_store::{Consistency, Op, RangeRequest, TxnRequest};
use serde_json::{json, Value};

use super::output::{self, Format};
use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::registry::{keys, meta, Action, DeleteOptions, OBJECT_MODIFIED};

fn spec_finalizers(ns: &Value) -> Vec<Value> {
    ns.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn precondition_failed(name: &str, what: &str, wanted: &str, have: &str) -> ApiError {
    ApiError::conflict(
        "",
        "namespaces",
        name,
        &format!(
            "Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {have}"
        ),
    )
}

pub async fn delete(ctx: &Ctx<'_>, opts: &DeleteOptions) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    let controller = ctx.state.lifecycle().namespace_controller;
    // Mark it Terminating first, so nothing new is created in it; a namespace
    // already Terminating whose finalizers are done is removed.
    let marked = ctx
        .registry
        .update_with(None, &name, opts.dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found("", "namespaces", &name));
            };
            if let Some(uid) = &opts.precondition_uid {
                if uid != meta::uid(old) {
                    return Err(precondition_failed(&name, "UID", uid, meta::uid(old)));
                }
            }
            if let Some(rv) = &opts.precondition_rv {
                if rv != meta::resource_version(old) {
                    let have = meta::resource_version(old);
                    return Err(ApiError::conflict(
                        "",
                        "namespaces",
                        &name,
                        &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in meta: {have}"),
                    ));
                }
            }
            let done = spec_finalizers(old).is_empty() && meta::finalizers(old).is_empty();
            if controller && done {
                return Ok(Action::Delete);
            }
            if meta::is_deleting(old) {
                return Ok(Action::Noop);
            }
            let mut new = old.clone();
            meta::set_meta(&mut new, "deletionTimestamp", json!(meta::now()));
            meta::set_meta(&mut new, "deletionGracePeriodSeconds", json!(0));
            meta::set_path(&mut new, &["status", "phase"], json!("Terminating"));
            Ok(Action::Put(new))
        })
        .await?;
    let body = output::with_type(info, marked.object.clone());
    if opts.dry_run || marked.deleted || controller {
        return Ok(output::respond(200, &body, Format::Json, &[]));
    }
    purge(ctx, &name).await?;
    if meta::finalizers(&marked.object).is_empty() {
        ctx.registry
            .update_with(None, &name, false, |old| match old {
                Some(_) => Ok(Action::Delete),
                None => Ok(Action::Noop),
            })
            .await
            .or_else(|e| if e.code == 404 { Ok(marked) } else { Err(e) })?;
    }
    Ok(output::respond(200, &body, Format::Json, &[]))
}

/// Removes every namespaced object (built-in or custom) stored under the namespace
/// (only when no namespace controller runs).
async fn purge(ctx: &Ctx<'_>, ns: &str) -> ApiResult<()> {
    let catalog = ctx.state.catalog();
    let mut prefixes: Vec<Vec<u8>> = catalog
        .all()
        .filter(|r| r.namespaced)
        .map(|r| keys::list_prefix(r, Some(ns)))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    for prefix in prefixes {
        loop {
            let mut req = RangeRequest::prefix(prefix.clone());
            req.limit = 256;
            req.consistency = Consistency::Linearizable;
            let resp = ctx.state.store.range(req).await?;
            if resp.kvs.is_empty() {
                break;
            }
            let ops = resp
                .kvs
                .iter()
                .map(|kv| Op::Delete {
                    key: kv.key.clone(),
                })
                .collect();
            ctx.state
                .store
                .txn(TxnRequest {
                    compares: vec![],
                    success: ops,
                })
                .await?;
            if !resp.more {
                break;
            }
        }
    }
    Ok(())
}

/// PUT `namespaces/{name}/finalize`: only `spec.finalizers` changes.
pub async fn finalize(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    let mut body = super::write::decode_body(ctx, payload).await?;
    super::write::check_type(info, &mut body)?;
    let wanted_rv = meta::resource_version(&body).to_string();
    let finalizers = body
        .pointer("/spec/finalizers")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let dry_run = ctx.query.dry_run()?;
    let updated = ctx
        .registry
        .update_with(None, &name, dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found("", "namespaces", &name));
            };
            if !wanted_rv.is_empty() && wanted_rv != meta::resource_version(old) {
                return Err(ApiError::conflict("", "namespaces", &name, OBJECT_MODIFIED));
            }
            let mut new = old.clone();
            meta::set_path(&mut new, &["spec", "finalizers"], finalizers.clone());
            let errs = crate::strategy::validate_namespace_finalizers(&new);
            if !errs.is_empty() {
                return Err(crate::strategy::to_api_error("Namespace", "", &name, &errs));
            }
            Ok(Action::Put(new))
        })
        .await?;
    let body = output::with_type(info, updated.object);
    Ok(output::respond(200, &body, Format::Json, &[]))
}
