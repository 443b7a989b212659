//! The `scale` subresource: `autoscaling/v1` `Scale` over `spec.replicas`.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::output::{self, Format};
use super::write::write_options;
use super::Ctx;
use crate::body;
use crate::error::{ApiError, ApiResult, Cause};
use crate::patch::{self, PatchKind};
use crate::query::parse_rv_precondition;
use crate::registry::{self, meta, Action, OBJECT_MODIFIED};
use crate::resources::ResourceInfo;
use crate::selectors::LabelSelector;

/// The Scale view of an object.
pub fn to_scale(info: &ResourceInfo, obj: &Value) -> Value {
    let selector = match obj.pointer("/spec/selector") {
        // ReplicationController: a plain map.
        Some(Value::Object(m)) if info.plural == "replicationcontrollers" => {
            let mut pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.join(",")
        }
        sel => LabelSelector::from_json(sel)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    };
    let md = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut metadata = serde_json::Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = md.get(f) {
            metadata.insert(f.into(), v.clone());
        }
    }
    let mut status = json!({
        "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
    });
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": status,
    })
}

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let rv = ctx.query.resource_version()?;
    let obj = ctx
        .registry
        .get(ctx.target.ns(), ctx.target.name(), rv)
        .await?;
    Ok(output::respond(
        200,
        &to_scale(ctx.info(), &obj),
        Format::Json,
        &[],
    ))
}

fn replicas_of(name: &str, scale: &Value) -> ApiResult<i64> {
    let invalid = |msg: String| {
        ApiError::invalid(
            "Scale",
            "autoscaling",
            name,
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: msg,
                field: "spec.replicas".into(),
            }],
        )
    };
    match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_i64() {
            Some(n) if n < 0 => Err(invalid(format!(
                "Invalid value: {n}: must be greater than or equal to 0"
            ))),
            Some(n) if n > i64::from(i32::MAX) => Err(invalid(format!(
                "Invalid value: {n}: must be a 32-bit integer"
            ))),
            Some(n) => Ok(n),
            None => Err(ApiError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: spec.replicas: expected an integer, got {v}"
            ))),
        },
    }
}

/// Writes `spec.replicas` from a Scale computed from the current object.
async fn write_scale<F>(
    ctx: &Ctx<'_>,
    mut opts: registry::WriteOptions,
    mut make: F,
) -> ApiResult<HttpResponse>
where
    F: FnMut(&Value) -> ApiResult<Value>,
{
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    opts.subresource = "scale".into();
    let updated = ctx
        .registry
        .update_with(ctx.target.ns(), &name, opts.dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found(info.group, info.plural, &name));
            };
            let scale = make(&to_scale(info, old))?;
            if meta::name(&scale) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::name(&scale)
                )));
            }
            let rv = meta::resource_version(&scale);
            if !rv.is_empty()
                && parse_rv_precondition(rv).map(|r| r.to_string()).as_deref()
                    != Some(meta::resource_version(old))
            {
                return Err(ApiError::conflict(
                    info.group,
                    info.plural,
                    &name,
                    OBJECT_MODIFIED,
                ));
            }
            let replicas = replicas_of(&name, &scale)?;
            let mut new = old.clone();
            meta::set_path(&mut new, &["spec", "replicas"], json!(replicas));
            registry::prepare_update_meta(info, &mut new, old, &opts)?;
            Ok(Action::Put(new))
        })
        .await?;
    Ok(output::respond(
        200,
        &to_scale(info, &updated.object),
        Format::Json,
        &[],
    ))
}

pub async fn update(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let bytes = body::read(payload).await?;
    let scale = body::decode_object(&body::media_type(ctx.req), &bytes)?;
    if let Some(k) = scale.get("kind").and_then(Value::as_str) {
        if k != "Scale" {
            return Err(ApiError::bad_request(format!(
                "{k} in version \"v1\" cannot be handled as a Scale: no kind \"{k}\" is registered"
            )));
        }
    }
    write_scale(ctx, write_options(ctx)?, |_| Ok(scale.clone())).await
}

pub async fn patch(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let kind = PatchKind::from_media_type(&body::media_type(ctx.req))?;
    let bytes = body::read(payload).await?;
    let doc = patch::parse(kind, &bytes)?;
    let mut opts = write_options(ctx)?;
    super::write::check_patch_options(ctx, kind, &mut opts)?;
    if let (PatchKind::Apply, patch::PatchDoc::Merge(applied)) = (kind, &doc) {
        // An apply to /scale owns the parent's spec.replicas (if it sets it).
        let name = ctx.target.name();
        opts.applied = Some(match applied.pointer("/spec/replicas") {
            Some(_) => json!({"spec": {"replicas": replicas_of(name, applied)?}}),
            None => json!({}),
        });
    }
    write_scale(ctx, opts, |current| {
        let mut c = current.clone();
        patch::apply(kind, &doc, &mut c)
    })
    .await
}
