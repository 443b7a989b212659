//! Content negotiation and rendering: plain JSON (or YAML), `Table`, and
//! `PartialObjectMetadata(List)`, as the `Accept` header asks.

use std::sync::Arc;

use actix_web::{http::StatusCode, HttpRequest, HttpResponse};
use openraft_store::Revision;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::printers::{self, IncludeObject};
use crate::query::Query;
use crate::resources::ResourceInfo;

/// How a response is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    /// `as=Table;g=meta.k8s.io;v=v1` with `?includeObject=`.
    Table(IncludeObject),
    /// `as=PartialObjectMetadata` / `as=PartialObjectMetadataList`.
    Metadata,
}

/// Upstream's 406 message.
const NOT_ACCEPTABLE: &str = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// Picks the first acceptable media range of the `Accept` header.
/// `transforms` allows `as=Table`/`as=PartialObjectMetadata` (reads only).
pub fn negotiate(req: &HttpRequest, query: &Query, transforms: bool) -> ApiResult<Format> {
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_string();
    if accept.is_empty() {
        return Ok(Format::Json);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut as_ = None;
        let mut g = None;
        let mut v = None;
        for p in parts {
            if let Some((k, val)) = p.split_once('=') {
                let val = val.trim().trim_matches('"');
                match k.trim() {
                    "as" => as_ = Some(val.to_string()),
                    "g" => g = Some(val.to_string()),
                    "v" => v = Some(val.to_string()),
                    _ => {}
                }
            }
        }
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        match as_.as_deref() {
            None if json_like => return Ok(Format::Json),
            None if matches!(media.as_str(), "application/yaml") => return Ok(Format::Yaml),
            None => continue,
            Some(kind) => {
                if !json_like || !transforms || g.as_deref() != Some("meta.k8s.io") {
                    continue;
                }
                if !matches!(v.as_deref(), Some("v1") | Some("v1beta1")) {
                    continue;
                }
                match kind {
                    "Table" => {
                        let include = include_object(query.get("includeObject").unwrap_or(""))?;
                        return Ok(Format::Table(include));
                    }
                    "PartialObjectMetadata" | "PartialObjectMetadataList" => {
                        return Ok(Format::Metadata)
                    }
                    _ => continue,
                }
            }
        }
    }
    Err(ApiError::not_acceptable(NOT_ACCEPTABLE))
}

/// `?includeObject=`.
fn include_object(s: &str) -> ApiResult<IncludeObject> {
    match s {
        "" | "Metadata" => Ok(IncludeObject::Metadata),
        "None" => Ok(IncludeObject::None),
        "Object" => Ok(IncludeObject::Object),
        other => Err(ApiError::bad_request(format!(
            "unrecognized includeObject value: {}",
            go_quote(other)
        ))),
    }
}

/// A Status error as the response.
pub fn error_response(e: &ApiError) -> HttpResponse {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(code)
        .content_type("application/json")
        .body(serde_json::to_vec(&e.to_status()).unwrap_or_default())
}

/// Converts an object to the served version (versions sharing storage;
/// for custom resources the `None` conversion), sets `apiVersion`/`kind`,
/// and applies a custom
/// resource's schema defaults on the way out, as upstream defaults on read.
/// Whether `obj` as stored is already what [`render_object`] would answer:
/// JSON of a built-in kind kept in the version served, typed as served.
pub fn renders_as_is(info: &ResourceInfo, obj: &Value, format: Format) -> bool {
    matches!(format, Format::Json)
        && info.custom.is_none()
        && !crate::registry::convert::shares_storage(info)
        && obj.get("apiVersion").and_then(Value::as_str) == Some(info.api_version().as_str())
        && obj.get("kind").and_then(Value::as_str) == Some(info.kind)
}

pub fn with_type(info: &ResourceInfo, obj: Value) -> Value {
    let mut obj = crate::registry::convert::to_served(info, obj);
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(info.api_version()));
        m.insert("kind".into(), json!(info.kind));
    }
    if let Some(schema) = info.custom.and_then(|c| c.schema.as_ref()) {
        crate::crd::schema::apply_defaults(schema, &mut obj);
    }
    obj
}

fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The one-row Table of an object: a CRD's printer columns for custom
/// resources, the kind's printer for built-ins.
pub fn object_table(
    info: &ResourceInfo,
    obj: &Value,
    include: IncludeObject,
    headers: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    match info.custom {
        Some(c) => c.columns.object_table(obj, include, now, headers),
        None => printers::object_table(info.group, info.kind, obj, include, now, headers),
    }
}

/// One object in the requested format.
pub fn render_object(info: &ResourceInfo, obj: Value, format: Format) -> Value {
    match format {
        Format::Json | Format::Yaml => with_type(info, obj),
        Format::Metadata => partial_metadata(&obj),
        Format::Table(include) => object_table(info, &with_type(info, obj), include, true),
    }
}

/// A list in the requested format.
pub fn render_list(
    info: &ResourceInfo,
    items: Vec<Value>,
    revision: Revision,
    continue_token: Option<String>,
    remaining: Option<i64>,
    format: Format,
) -> Value {
    let meta = list_meta(revision, continue_token, remaining);
    match format {
        Format::Json | Format::Yaml => {
            // Items of built-in lists carry no type (typed Go lists); items
            // of custom resource lists do (unstructured), as upstream.
            let items: Vec<Value> = items
                .into_iter()
                .map(|mut o| {
                    if info.is_custom() {
                        return with_type(info, o);
                    }
                    if let Some(m) = o.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    o
                })
                .collect();
            json!({
                "kind": info.list_kind,
                "apiVersion": info.api_version(),
                "metadata": meta,
                "items": items,
            })
        }
        Format::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": items.iter().map(partial_metadata).collect::<Vec<_>>(),
        }),
        Format::Table(include) => {
            let items: Vec<Value> = items.into_iter().map(|o| with_type(info, o)).collect();
            let now = jiff::Timestamp::now();
            match info.custom {
                Some(c) => c.columns.table(&items, include, Value::Object(meta), now),
                None => printers::table(
                    info.group,
                    info.kind,
                    &items,
                    include,
                    Value::Object(meta),
                    now,
                ),
            }
        }
    }
}

/// The HTTP response for a list. Plain JSON lists of built-in kinds are
/// written straight from the (shared, cached) objects, without copying
/// them into a new document first; every other format goes through
/// [`render_list`].
pub fn list_response(
    info: &ResourceInfo,
    items: Vec<Arc<Value>>,
    revision: Revision,
    continue_token: Option<String>,
    remaining: Option<i64>,
    format: Format,
) -> HttpResponse {
    if format == Format::Json && !info.is_custom() {
        let body = ListBody {
            kind: info.list_kind,
            api_version: &info.api_version(),
            metadata: &list_meta(revision, continue_token, remaining),
            items: &items,
        };
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default());
    }
    let items = items.into_iter().map(Arc::unwrap_or_clone).collect();
    let body = render_list(info, items, revision, continue_token, remaining, format);
    respond(200, &body, format, &[])
}

/// A built-in list as JSON: its items carry no `apiVersion`/`kind` (typed
/// Go lists), as upstream.
struct ListBody<'a> {
    kind: &'a str,
    api_version: &'a str,
    metadata: &'a Map<String, Value>,
    items: &'a [Arc<Value>],
}

impl Serialize for ListBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("kind", self.kind)?;
        m.serialize_entry("apiVersion", self.api_version)?;
        m.serialize_entry("metadata", self.metadata)?;
        m.serialize_entry("items", &Items(self.items))?;
        m.end()
    }
}

struct Items<'a>(&'a [Arc<Value>]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|o| Untyped(o)))
    }
}

/// An object without its `apiVersion` and `kind`.
struct Untyped<'a>(&'a Value);

impl Serialize for Untyped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(fields) => s.collect_map(
                fields
                    .iter()
                    .filter(|(k, _)| k.as_str() != "apiVersion" && k.as_str() != "kind"),
            ),
            other => other.serialize(s),
        }
    }
}

fn list_meta(
    revision: Revision,
    continue_token: Option<String>,
    remaining: Option<i64>,
) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(revision.to_string()));
    if let Some(c) = continue_token {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    meta
}

/// The HTTP response for a rendered body.
pub fn respond(code: u16, body: &Value, format: Format, warnings: &[String]) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let mut b = HttpResponse::build(status);
    for w in warnings {
        b.append_header(("Warning", format!("299 - {}", go_quote(w))));
    }
    match format {
        Format::Yaml => match serde_saphyr::to_string(body) {
            Ok(s) => b.content_type("application/yaml").body(s),
            Err(_) => b
                .content_type("application/json")
                .body(serde_json::to_vec(body).unwrap_or_default()),
        },
        _ => b
            .content_type("application/json")
            .body(serde_json::to_vec(body).unwrap_or_default()),
    }
}

/// Go's `%q` of a warning text (quotes and backslashes escaped).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// 201 with a bare `Success` Status: what create-only subresources
/// (`pods/binding`, `pods/eviction`) answer.
pub fn created_success() -> HttpResponse {
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    });
    respond(201, &status, Format::Json, &[])
}
