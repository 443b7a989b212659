//! DELETE of one object (preconditions, finalizers, propagation policy),
//! DELETE of a collection, and namespace deletion.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::filter::Selection;
use super::output::{self, Format};
use super::Ctx;
use crate::body;
use crate::error::{ApiError, ApiResult, Cause};
use crate::registry::{meta, DeleteOptions, Deleted, ListOptions, Registry};
use crate::resources::ResourceInfo;

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
pub(super) async fn delete_options(
    ctx: &Ctx<'_>,
    payload: web::Payload,
) -> ApiResult<DeleteOptions> {
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
    options_from(ctx, &body)
}

/// `DeleteOptions` from a body already decoded (a DELETE's, an eviction's
/// `deleteOptions`) and the query.
pub(super) fn options_from(ctx: &Ctx<'_>, body: &Value) -> ApiResult<DeleteOptions> {
    let lifecycle = ctx.state.lifecycle();
    let mut opts = DeleteOptions {
        dry_run: ctx.query.dry_run()?,
        gc_finalizers: lifecycle.garbage_collector,
        graceful_pods: lifecycle.kubelet,
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
        return super::namespace::delete(ctx, &opts).await;
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
