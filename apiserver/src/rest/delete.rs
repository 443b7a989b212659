//! DELETE of one object (preconditions, finalizers, propagation policy),
//! DELETE of a collection, and namespace deletion.

use actix_web::{web, HttpResponse};
use openraft_store::{Consistency, Op, RangeRequest, TxnRequest};
use serde_json::{json, Value};

use super::filter::Selection;
use super::output::{self, Format};
use super::Ctx;
use crate::body;
use crate::error::{ApiError, ApiResult, Cause};
use crate::registry::{keys, meta, Action, DeleteOptions, Deleted, ListOptions, Registry};
use crate::resources::{self, ResourceInfo};

/// Kinds whose DELETE answers with the deleted object rather than a
/// `Status` (upstream `ReturnDeletedObject`).
fn returns_deleted_object(info: &ResourceInfo) -> bool {
    matches!(
        (info.group, info.plural),
        ("", "pods")
            | ("", "podtemplates")
            | ("", "persistentvolumes")
            | ("", "persistentvolumeclaims")
            | ("", "namespaces")
            | ("", "services")
            | ("", "replicationcontrollers")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}

fn invalid_delete_options(field: &str, message: &str) -> ApiError {
    ApiError::invalid(
        "DeleteOptions",
        "meta.k8s.io",
        "",
        vec![Cause {
            reason: "FieldValueNotSupported".into(),
            message: message.into(),
            field: field.into(),
        }],
    )
}

/// `DeleteOptions` from the body (optional) and the query.
async fn delete_options(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<DeleteOptions> {
    let bytes = body::read(payload).await?;
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        let media = body::media_type(ctx.req);
        let v = match media.as_str() {
            "application/yaml" => body::decode_yaml(&bytes)?,
            _ => body::decode_json(&bytes)?,
        };
        if !v.is_object() {
            return Err(ApiError::bad_request("DeleteOptions must be an object"));
        }
        v
    };
    let mut opts = DeleteOptions {
        dry_run: ctx.query.dry_run()?,
        gc_finalizers: ctx.state.garbage_collector(),
        ..Default::default()
    };
    if let Some(dr) = body.get("dryRun").and_then(Value::as_array) {
        for v in dr {
            match v.as_str() {
                Some("All") => opts.dry_run = true,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid dry run value: {}, supported values: All",
                        other.unwrap_or("")
                    )))
                }
            }
        }
    }
    opts.grace_period_seconds = match ctx.query.int("gracePeriodSeconds")? {
        Some(g) => Some(g),
        None => body.get("gracePeriodSeconds").and_then(Value::as_i64),
    };
    let mut propagation = ctx
        .query
        .get("propagationPolicy")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .or_else(|| {
            body.get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let orphan = match ctx.query.get("orphanDependents") {
        Some(_) => Some(ctx.query.bool("orphanDependents")?),
        None => body.get("orphanDependents").and_then(Value::as_bool),
    };
    if let Some(o) = orphan {
        if propagation.is_some() {
            return Err(invalid_delete_options(
                "propagationPolicy",
                "Invalid value: \"null\": orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        propagation = Some(if o { "Orphan" } else { "Background" }.to_string());
    }
    if let Some(p) = &propagation {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            return Err(invalid_delete_options(
                "propagationPolicy",
                &format!(
                    "Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                ),
            ));
        }
    }
    opts.propagation = propagation;
    if let Some(pre) = body.get("preconditions") {
        opts.precondition_uid = pre.get("uid").and_then(Value::as_str).map(str::to_string);
        opts.precondition_rv = pre
            .get("resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(opts)
}

/// The `Status` upstream answers for a completed delete.
fn success_status(info: &ResourceInfo, obj: &Value) -> Value {
    let mut details = json!({
        "name": meta::name(obj),
        "kind": info.plural,
        "uid": meta::uid(obj),
    });
    if !info.group.is_empty() {
        details["group"] = json!(info.group);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

pub async fn delete(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let opts = delete_options(ctx, payload).await?;
    let info = ctx.info();
    if info.group.is_empty() && info.plural == "namespaces" {
        return delete_namespace(ctx, &opts).await;
    }
    let body = match ctx
        .registry
        .delete(ctx.target.ns(), ctx.target.name(), &opts)
        .await?
    {
        Deleted::Pending(obj) => output::with_type(info, obj),
        Deleted::Gone(obj) if returns_deleted_object(info) => output::with_type(info, obj),
        Deleted::Gone(obj) => success_status(info, &obj),
    };
    Ok(output::respond(200, &body, Format::Json, &[]))
}

/// Deletes a namespace. Until the namespace controller exists, the content
/// of the namespace is deleted here, synchronously, then the namespace
/// (a temporary shortcut: upstream marks it Terminating and returns).
async fn delete_namespace(ctx: &Ctx<'_>, opts: &DeleteOptions) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    // Mark it Terminating first, so nothing new is created in it.
    let marked = ctx
        .registry
        .update_with(None, &name, opts.dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found("", "namespaces", &name));
            };
            if let Some(uid) = &opts.precondition_uid {
                if uid != meta::uid(old) {
                    return Err(ApiError::conflict(
                        "",
                        "namespaces",
                        &name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                            meta::uid(old)
                        ),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_rv {
                if rv != meta::resource_version(old) {
                    return Err(ApiError::conflict(
                        "",
                        "namespaces",
                        &name,
                        &format!(
                            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in meta: {}",
                            meta::resource_version(old)
                        ),
                    ));
                }
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
    if opts.dry_run {
        let body = output::with_type(info, marked.object);
        return Ok(output::respond(200, &body, Format::Json, &[]));
    }
    purge_namespace(ctx, &name).await?;
    let body = output::with_type(info, marked.object.clone());
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

/// Removes every namespaced object stored under the namespace.
async fn purge_namespace(ctx: &Ctx<'_>, ns: &str) -> ApiResult<()> {
    let mut prefixes: Vec<Vec<u8>> = resources::BUILTIN
        .iter()
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

/// DELETE of a collection: every object the selectors match; the answer is
/// the list of what was deleted.
pub async fn delete_collection(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let info = ctx.info();
    let opts = delete_options(ctx, payload).await?;
    let selection = Selection::parse(
        info,
        ctx.query.label_selector(),
        ctx.query.field_selector(),
        None,
    )?;
    let list = ctx
        .registry
        .list(
            ctx.target.ns(),
            &ListOptions {
                filter: selection.predicate(info),
                ..Default::default()
            },
        )
        .await?;
    let mut deleted = Vec::new();
    for obj in list.items {
        let ns = meta::namespace(&obj).to_string();
        let ns = (!ns.is_empty()).then_some(ns);
        let reg = Registry::new(ctx.state.store.clone(), info);
        match reg.delete(ns.as_deref(), meta::name(&obj), &opts).await {
            Ok(Deleted::Gone(o)) | Ok(Deleted::Pending(o)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let body = output::render_list(info, deleted, list.revision, None, None, Format::Json);
    Ok(output::respond(200, &body, Format::Json, &[]))
}
