//! CREATE (POST), UPDATE (PUT) and PATCH, main resource and `/status`,
//! plus `pods/binding`.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::output::{self, negotiate, Format};
use super::Ctx;
use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::patch::{self, PatchKind};
use crate::query::{parse_rv_precondition, FieldValidation};
use crate::registry::{self, convert, hooks, meta, Action, WriteOptions, OBJECT_MODIFIED};
use crate::resources::ResourceInfo;

/// Kinds whose PUT creates a missing object (upstream `AllowCreateOnUpdate`).
fn allow_create_on_update(info: &ResourceInfo) -> bool {
    matches!(
        (info.group, info.plural),
        ("", "endpoints")
            | ("", "events")
            | ("events.k8s.io", "events")
            | ("", "limitranges")
            | ("coordination.k8s.io", "leases")
    )
}

/// The field manager: `?fieldManager=`, else the User-Agent's product
/// (upstream `prefixFromUserAgent`).
pub fn field_manager(ctx: &Ctx<'_>) -> ApiResult<String> {
    if let Some(m) = ctx.query.field_manager()? {
        return Ok(m);
    }
    let ua = ctx
        .req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let product = ua.split('/').next().unwrap_or("");
    Ok(product.chars().take(128).collect())
}

pub fn write_options(ctx: &Ctx<'_>) -> ApiResult<WriteOptions> {
    Ok(WriteOptions {
        dry_run: ctx.query.dry_run()?,
        field_manager: field_manager(ctx)?,
        subresource: ctx.target.subresource.clone().unwrap_or_default(),
        applied: None,
        force: false,
    })
}

/// Decodes an object body, wrapping errors as upstream's decoder does.
pub(super) async fn decode_body(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<Value> {
    let bytes = body::read(payload).await?;
    let media = body::media_type(ctx.req);
    body::decode_object(&media, &bytes).map_err(|e| {
        if e.code != 400 {
            return e;
        }
        let summary: String = String::from_utf8_lossy(&bytes).chars().take(30).collect();
        let ellipsis = if bytes.len() > 30 { "..." } else { "" };
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {} ({}{})",
            ctx.info().kind,
            e.message,
            summary,
            ellipsis
        ))
    })
}

/// `apiVersion`/`kind` default to the URL's; when given they must match.
pub(super) fn check_type(info: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    let expected_av = info.api_version();
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !kind.is_empty() && kind != info.kind {
        let version = av.rsplit('/').next().unwrap_or("");
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: no kind \"{kind}\" is registered for version \"{av}\"",
            info.kind
        )));
    }
    if !av.is_empty() && av != expected_av {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({expected_av})"
        )));
    }
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(expected_av));
        m.insert("kind".into(), json!(info.kind));
    }
    Ok(())
}

fn check_namespace(ctx: &Ctx<'_>, obj: &Value) -> ApiResult<()> {
    if !ctx.info().namespaced {
        return Ok(());
    }
    let body_ns = meta::namespace(obj);
    if let Some(ns) = ctx.target.ns() {
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

fn check_name(ctx: &Ctx<'_>, obj: &Value) -> ApiResult<()> {
    let body_name = meta::name(obj);
    if body_name != ctx.target.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.target.name()
        )));
    }
    Ok(())
}

/// `fieldValidation`: unknown fields are an error (Strict), or dropped with
/// warnings (Warn) or silently (Ignore), as decoding into Go types drops them.
fn check_unknown_fields(
    info: &ResourceInfo,
    mode: FieldValidation,
    obj: &mut Value,
) -> ApiResult<Vec<String>> {
    if let Some(schema) = info.custom.and_then(|c| c.schema.as_ref()) {
        return custom_unknown_fields(schema, mode, obj);
    }
    // Found and dropped in one walk: under Strict the object is refused anyway.
    let unknown = crate::openapi::prune_unknown_fields(info.group, info.version, info.kind, obj);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let msgs: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {}", output::go_quote(f)))
        .collect();
    if mode == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            msgs.join(", ")
        )));
    }
    Ok(if mode == FieldValidation::Warn {
        msgs
    } else {
        Vec::new()
    })
}

/// Custom resources: fields the schema does not declare are pruned (always,
/// as upstream), and reported as Strict errors or Warn warnings.
fn custom_unknown_fields(
    schema: &crate::crd::schema::Schema,
    mode: FieldValidation,
    obj: &mut Value,
) -> ApiResult<Vec<String>> {
    let mut pruned = obj.clone();
    let unknown = crate::crd::schema::prune(schema, &mut pruned);
    let msgs: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {}", output::go_quote(f)))
        .collect();
    if mode == FieldValidation::Strict && !msgs.is_empty() {
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            msgs.join(", ")
        )));
    }
    *obj = pruned;
    Ok(if mode == FieldValidation::Warn {
        msgs
    } else {
        Vec::new()
    })
}

/// A create or update body whose values do not decode into the kind's Go
/// type is refused as upstream's decoder refuses it (400, `<Kind> in version
/// "<v>" cannot be handled as a <Kind>: json: cannot unmarshal ...`).
fn check_body_types(info: &ResourceInfo, obj: &Value) -> ApiResult<()> {
    match crate::openapi::type_errors(info.group, info.version, info.kind, obj).first() {
        Some(e) => Err(ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: {}",
            info.kind,
            info.version,
            info.kind,
            e.json_message()
        ))),
        None => Ok(()),
    }
}

/// A patched object that no longer decodes: 422 with the `patch` field, as
/// upstream's patch handler words it (the patched JSON for JSON and merge
/// patches, the patch itself for strategic merge).
fn check_patched_types(
    info: &ResourceInfo,
    kind: PatchKind,
    doc: &patch::PatchDoc,
    patched: &Value,
) -> ApiResult<()> {
    let Some(e) = crate::openapi::type_errors(info.group, info.version, info.kind, patched)
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let (shown, detail) = match (kind, doc) {
        (PatchKind::Strategic, patch::PatchDoc::Merge(p)) => {
            (crate::openapi::go_value(p), e.unstructured_message())
        }
        _ => (patched.to_string(), e.json_message()),
    };
    Err(ApiError::invalid(
        "",
        "",
        "",
        vec![crate::error::Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {}: {detail}", output::go_quote(&shown)),
            field: "patch".into(),
        }],
    ))
}

/// An apply configuration whose values do not fit the kind's schema, as
/// structured-merge-diff reports it. (kube-apiserver answers 500 for this;
/// it is the client's mistake, so ferrokube answers 400 with the same text.)
fn check_applied_types(
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    applied: &Value,
) -> ApiResult<()> {
    let errors = crate::openapi::type_errors(info.group, info.version, info.kind, applied);
    if errors.is_empty() {
        return Ok(());
    }
    let messages: Vec<String> = errors.iter().map(|e| e.apply_message()).collect();
    let joined = if messages.len() == 1 {
        messages[0].clone()
    } else {
        format!("errors:\n  {}", messages.join("\n  "))
    };
    Err(ApiError::bad_request(format!(
        "failed to create typed patch object ({}/{name}; {}/{}, Kind={}): {joined}",
        ns.unwrap_or(""),
        info.group,
        info.version,
        info.kind
    )))
}

/// For a create or update body: strict errors read as upstream's decoder
/// reports them (`<Kind> in version "<v>" cannot be handled as a <Kind>: ...`).
fn field_validation(ctx: &Ctx<'_>, obj: &mut Value) -> ApiResult<Vec<String>> {
    let info = ctx.info();
    check_unknown_fields(info, ctx.query.field_validation()?, obj).map_err(|mut e| {
        if e.code == 400 && e.message.starts_with("strict decoding error") {
            e.message = format!(
                "{} in version {:?} cannot be handled as a {}: {}",
                info.kind, info.version, info.kind, e.message
            );
        }
        e
    })
}

fn write_format(ctx: &Ctx<'_>) -> ApiResult<Format> {
    Ok(match negotiate(ctx.req, &ctx.query, false)? {
        Format::Yaml => Format::Yaml,
        _ => Format::Json,
    })
}

pub async fn create(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let format = write_format(ctx)?;
    let opts = write_options(ctx)?;
    let mut obj = decode_body(ctx, payload).await?;
    check_type(ctx.info(), &mut obj)?;
    check_namespace(ctx, &obj)?;
    check_not_terminating(ctx.info())?;
    check_body_types(ctx.info(), &obj)?;
    let mut warnings = field_validation(ctx, &mut obj)?;
    if let Some(guard) =
        crate::auth::escalation::Guard::for_request(ctx.req, ctx.info(), ctx.target.ns())
    {
        guard.check(&obj, None)?;
    }
    let info = ctx.info();
    let created = ctx
        .registry
        .create_shared(ctx.target.ns(), obj, &opts)
        .await?;
    if output::renders_as_is(info, &created, format) {
        // The object as stored is the answer: no copy of the one the watch
        // cache shares.
        warnings.extend(hooks::warnings(info, &created));
        return Ok(output::respond(201, &created, format, &warnings));
    }
    let created = convert::to_served(info, Arc::unwrap_or_clone(created));
    warnings.extend(hooks::warnings(info, &created));
    let body = output::render_object(info, created, format);
    Ok(output::respond(201, &body, format, &warnings))
}

/// Custom resources of a CRD being deleted take no new objects.
fn check_not_terminating(info: &ResourceInfo) -> ApiResult<()> {
    if info.custom.is_some_and(|c| c.terminating) {
        let mut e = ApiError::method_not_allowed(
            "create not allowed while custom resource definition is terminating",
        );
        e.details = Some(Box::new(crate::error::Details {
            group: Some(info.group.to_string()),
            kind: Some(info.plural.to_string()),
            ..Default::default()
        }));
        return Err(e);
    }
    Ok(())
}

/// Turns the object a client wants into the one to store, given the
/// current one: status handling, metadata, strategy, deletion on update.
fn next_state(
    info: &'static ResourceInfo,
    name: &str,
    mut new: Value,
    old: &Value,
    opts: &WriteOptions,
) -> ApiResult<Action> {
    // The resourceVersion the client sent is a precondition.
    let sent_rv = meta::resource_version(&new).to_string();
    if !sent_rv.is_empty()
        && parse_rv_precondition(&sent_rv)
            .map(|r| r.to_string())
            .as_deref()
            != Some(meta::resource_version(old))
    {
        return Err(ApiError::conflict(
            info.group,
            info.plural,
            name,
            OBJECT_MODIFIED,
        ));
    }
    if opts.subresource == "status" {
        // Only status changes through /status.
        let status = new.get("status").cloned();
        let mut merged = old.clone();
        if let Some(m) = merged.as_object_mut() {
            match status {
                Some(s) => m.insert("status".into(), s),
                None => m.remove("status"),
            };
        }
        meta::set_meta(&mut merged, "resourceVersion", json!(sent_rv));
        new = merged;
    } else if info.has_status() {
        // ... and never through the main resource.
        if let Some(m) = new.as_object_mut() {
            match old.get("status") {
                Some(s) => m.insert("status".into(), s.clone()),
                None => m.remove("status"),
            };
        }
    }
    registry::prepare_update_meta(info, &mut new, old, opts)?;
    let grace_zero = old
        .get("metadata")
        .and_then(|m| m.get("deletionGracePeriodSeconds"))
        .and_then(Value::as_i64)
        == Some(0);
    // A Terminating namespace also waits for its spec.finalizers (upstream's
    // ShouldDeleteNamespaceDuringUpdate).
    let spec_finalized = !(info.group.is_empty() && info.plural == "namespaces")
        || new
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
    if meta::is_deleting(old) && grace_zero && meta::finalizers(&new).is_empty() && spec_finalized {
        return Ok(Action::Delete);
    }
    Ok(Action::Put(new))
}

pub async fn update(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let format = write_format(ctx)?;
    let opts = write_options(ctx)?;
    let mut obj = decode_body(ctx, payload).await?;
    check_type(ctx.info(), &mut obj)?;
    check_namespace(ctx, &obj)?;
    check_name(ctx, &obj)?;
    check_body_types(ctx.info(), &obj)?;
    let mut warnings = field_validation(ctx, &mut obj)?;
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    let ns = ctx.target.ns().map(str::to_string);
    let can_create = allow_create_on_update(info) && opts.subresource.is_empty();
    let guard = crate::auth::escalation::Guard::for_request(ctx.req, info, ctx.target.ns());
    let updated = ctx
        .registry
        .update_with(ctx.target.ns(), &name, opts.dry_run, |old| {
            if let Some(guard) = &guard {
                guard.check(&obj, old)?;
            }
            let Some(old) = old else {
                if can_create {
                    let mut o = obj.clone();
                    meta::remove_meta(&mut o, "resourceVersion");
                    registry::prepare_create_meta(info, &mut o, ns.as_deref(), &opts)?;
                    return Ok(Action::Put(o));
                }
                return Err(ApiError::not_found(info.group, info.plural, &name));
            };
            next_state(info, &name, obj.clone(), old, &opts)
        })
        .await?;
    let code = if updated.created { 201 } else { 200 };
    if !updated.deleted {
        warnings.extend(hooks::warnings(info, &updated.object));
    }
    let body = output::render_object(info, updated.object, format);
    Ok(output::respond(code, &body, format, &warnings))
}

/// `force` only on apply patches, which need a `fieldManager` (upstream
/// `ValidatePatchOptions`); sets `opts.force`.
pub(super) fn check_patch_options(
    ctx: &Ctx<'_>,
    kind: PatchKind,
    opts: &mut WriteOptions,
) -> ApiResult<()> {
    let invalid = |reason: &str, message: &str, field: &str| {
        ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![crate::error::Cause {
                reason: reason.into(),
                message: message.into(),
                field: field.into(),
            }],
        )
    };
    if ctx.query.get("force").is_some() {
        if kind != PatchKind::Apply {
            return Err(invalid(
                "FieldValueForbidden",
                "Forbidden: may not be specified for non-apply patch",
                "force",
            ));
        }
        opts.force = ctx.query.bool("force")?;
    }
    if kind == PatchKind::Apply && ctx.query.field_manager()?.is_none() {
        return Err(invalid(
            "FieldValueRequired",
            "Required value: is required for apply patch",
            "fieldManager",
        ));
    }
    Ok(())
}

pub async fn patch(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let format = write_format(ctx)?;
    let mut opts = write_options(ctx)?;
    let media = body::media_type(ctx.req);
    let kind = PatchKind::for_resource(&media, ctx.info().is_custom())?;
    let bytes = body::read(payload).await?;
    let patch_doc = patch::parse(kind, &bytes)?;
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    let ns = ctx.target.ns().map(str::to_string);
    let mut warnings = Vec::new();
    let mode = ctx.query.field_validation()?;
    let mut apply_create: Option<Value> = None;
    check_patch_options(ctx, kind, &mut opts)?;
    if kind == PatchKind::Apply {
        if let patch::PatchDoc::Merge(applied) = &patch_doc {
            let mut applied = applied.clone();
            check_type(info, &mut applied)?;
            check_applied_types(info, ns.as_deref(), &name, &applied)?;
            check_namespace(ctx, &applied)?;
            if meta::name(&applied) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::name(&applied)
                )));
            }
            if opts.subresource.is_empty() {
                if let Some(ns) = &ns {
                    ctx.registry.check_namespace_open(ns, &name).await?;
                }
                apply_create = Some(applied.clone());
            }
            opts.applied = Some(applied);
        }
    }
    let guard = crate::auth::escalation::Guard::for_request(ctx.req, info, ctx.target.ns());
    let updated = ctx
        .registry
        .update_with(ctx.target.ns(), &name, opts.dry_run, |old| {
            let Some(old) = old else {
                if let Some(applied) = &apply_create {
                    let mut o = applied.clone();
                    if let Some(guard) = &guard {
                        guard.check(&o, None)?;
                    }
                    warnings = check_unknown_fields(info, mode, &mut o)?;
                    meta::remove_meta(&mut o, "resourceVersion");
                    registry::prepare_create_meta(info, &mut o, ns.as_deref(), &opts)?;
                    return Ok(Action::Put(o));
                }
                return Err(ApiError::not_found(info.group, info.plural, &name));
            };
            let mut current = old.clone();
            let mut patched =
                patch::apply_typed(kind, &patch_doc, &mut current, registry::shape_of(info))?;
            if !patched.is_object() {
                return Err(ApiError::bad_request("the patched object is not a JSON object"));
            }
            if kind != PatchKind::Apply {
                check_patched_types(info, kind, &patch_doc, &patched)?;
            }
            check_type(info, &mut patched)?;
            if meta::name(&patched) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::name(&patched)
                )));
            }
            if info.namespaced && meta::namespace(&patched) != meta::namespace(old) {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            warnings = check_unknown_fields(info, mode, &mut patched)?;
            if let Some(guard) = &guard {
                guard.check(&patched, Some(old))?;
            }
            next_state(info, &name, patched, old, &opts)
        })
        .await?;
    let code = if updated.created { 201 } else { 200 };
    if !updated.deleted {
        warnings.extend(hooks::warnings(info, &updated.object));
    }
    let body = output::render_object(info, updated.object, format);
    Ok(output::respond(code, &body, format, &warnings))
}

/// `POST pods/{name}/binding`: sets `spec.nodeName` of an unbound pod.
pub async fn bind(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let bytes = body::read(payload).await?;
    let binding = body::decode_object(&body::media_type(ctx.req), &bytes)?;
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let info = ctx.info();
    let name = ctx.target.name().to_string();
    if node.is_empty() {
        return Err(ApiError::invalid(
            "Binding",
            "",
            &name,
            vec![crate::error::Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "target.name".into(),
            }],
        ));
    }
    let dry_run = ctx.query.dry_run()?;
    ctx.registry
        .update_with(ctx.target.ns(), &name, dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found(info.group, info.plural, &name));
            };
            if meta::is_deleting(old) {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    &name,
                    &format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            let current = old
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !current.is_empty() {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    &name,
                    &format!("pod {name} is already assigned to node \"{current}\""),
                ));
            }
            let mut new = old.clone();
            meta::set_path(&mut new, &["spec", "nodeName"], json!(node));
            if let Some(Value::Object(extra)) = binding.pointer("/metadata/annotations") {
                for (k, v) in extra {
                    meta::set_path(&mut new, &["metadata", "annotations", k], v.clone());
                }
            }
            set_pod_scheduled(&mut new);
            Ok(Action::Put(new))
        })
        .await?;
    Ok(output::created_success())
}

/// Marks the `PodScheduled` condition true, as binding does upstream.
fn set_pod_scheduled(pod: &mut Value) {
    let cond = json!({
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": null,
        "lastTransitionTime": meta::now(),
    });
    meta::upsert_condition(pod, cond);
}
