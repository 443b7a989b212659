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

/// `.spec.replicas` -> ["spec", "replicas"].
fn segments(path: &str) -> Vec<&str> {
    path.split('.').filter(|s| !s.is_empty()).collect()
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    segments(path).iter().try_fold(obj, |v, k| v.get(*k))
}

/// Where `spec.replicas` lives in objects of this resource.
fn spec_replicas_path(info: &ResourceInfo) -> Vec<&str> {
    match info.custom.and_then(|c| c.scale.as_ref()) {
        Some(paths) => segments(&paths.spec_replicas),
        None => vec!["spec", "replicas"],
    }
}

/// The Scale view of a custom object (the CRD's scale paths; missing
/// values count as 0, as upstream).
fn custom_scale(paths: &crate::crd::served::ScalePaths, obj: &Value) -> (i64, i64, String) {
    let int = |p: &str| at(obj, p).and_then(Value::as_i64).unwrap_or(0);
    let selector = paths
        .label_selector
        .as_deref()
        .and_then(|p| at(obj, p))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    (
        int(&paths.spec_replicas),
        int(&paths.status_replicas),
        selector,
    )
}

/// The Scale view of an object.
pub fn to_scale(info: &ResourceInfo, obj: &Value) -> Value {
    if let Some(paths) = info.custom.and_then(|c| c.scale.as_ref()) {
        let (spec, status, selector) = custom_scale(paths, obj);
        return scale_object(obj, spec, status, &selector);
    }
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
    scale_object(
        obj,
        obj.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1),
        obj.pointer("/status/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        &selector,
    )
}

fn scale_object(obj: &Value, spec: i64, status_replicas: i64, selector: &str) -> Value {
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
    let mut status = json!({"replicas": status_replicas});
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": spec},
        "status": status,
    })
}

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let rv = ctx.query.resource_version()?;
    let obj = ctx
        .registry
        .get(ctx.target.ns(), ctx.target.name(), rv)
        .await?;
    let info = ctx.info();
    let Some(custom) = info.custom else {
        return Ok(output::respond(
            200,
            &to_scale(info, &obj),
            Format::Json,
            &[],
        ));
    };
    if let Some(paths) = &custom.scale {
        // apiextensions-apiserver: a Scale needs the spec replicas field.
        if at(&obj, &paths.spec_replicas).is_none() {
            return Err(ApiError::internal(format!(
                "the spec replicas field {} does not exist",
                output::go_quote(&paths.spec_replicas)
            )));
        }
    }
    let format = output::negotiate(ctx.req, &ctx.query, true)?;
    let scale = to_scale(info, &obj);
    // The Scale of a custom resource is printed with the CRD's columns (the
    // scale endpoint shares the resource's table convertor upstream).
    let (body, format) = match format {
        Format::Table(include) => (
            custom
                .columns
                .object_table(&scale, include, jiff::Timestamp::now(), true),
            format,
        ),
        Format::Yaml => (scale, Format::Yaml),
        _ => (scale, Format::Json),
    };
    Ok(output::respond(200, &body, format, &[]))
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
            meta::set_path(&mut new, &spec_replicas_path(info), json!(replicas));
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
