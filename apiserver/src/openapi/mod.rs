//! OpenAPI: `/openapi/v2` (Swagger 2.0, one document) and `/openapi/v3`
//! (an index of group-version documents, each at
//! `/openapi/v3/{api/v1 | apis/<group>/<version>}?hash=...`), generated once
//! from `k8s_openapi`'s schemas and [`crate::resources`], and cached with
//! entity tags as kube-apiserver does.
//!
//! Also answers which fields of an object its kind does not declare
//! ([`unknown_fields`]), for `fieldValidation=Strict|Warn`.

mod custom;
pub mod extensions;
mod paths;
pub mod schemas;
mod types;
mod unknown;
pub mod v2proto;

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use actix_web::{
    http::header::{self, HttpDate},
    web, HttpRequest, HttpResponse,
};
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::discovery::content_hash;
use crate::error::{ApiError, Details};
use paths::Flavor;
use schemas::Definitions;
pub use types::{go_value, TypeError};

/// `info.version` of the documents: the Kubernetes version we report.
const KUBE_VERSION: &str = "v1.33.1";

/// Registers `/openapi/v2`, `/openapi/v3` and `/openapi/v3/{path}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi/v2", web::get().to(v2))
        .route("/openapi/v3", web::get().to(v3_index))
        .route("/openapi/v3/", web::get().to(v3_index))
        .route("/openapi/v3/{path:.*}", web::get().to(v3_document));
}

/// The fields of `obj` that the schema of `group/version` `kind` does not
/// declare, as upstream's strict decoder names them: `spec.replicas2`,
/// `spec.template.spec.containers[0].imagee`. Empty for kinds without a
/// built-in schema (custom resources).
pub fn unknown_fields(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    let defs = &*DEFINITIONS;
    match defs.name_of(group, version, kind) {
        Some(name) => unknown::unknown_fields_in(defs, name, obj),
        None => Vec::new(),
    }
}

/// The values of `obj` that would not decode into the Go type of
/// `group/version` `kind` (a number for a string, a bad quantity...), in
/// document order. Empty for kinds without a built-in schema.
pub fn type_errors(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<TypeError> {
    let defs = &*DEFINITIONS;
    match defs.name_of(group, version, kind) {
        Some(name) => types::type_errors_in(defs, name, obj),
        None => Vec::new(),
    }
}

/// Removes from `obj` the fields its kind's schema does not declare, as
/// kube-apiserver's decoder drops them for built-in kinds (with
/// `fieldValidation` Ignore or Warn), and returns their paths (same format as
/// [`unknown_fields`]). Leaves `obj` alone for kinds without a built-in schema.
pub fn prune_unknown_fields(
    group: &str,
    version: &str,
    kind: &str,
    obj: &mut Value,
) -> Vec<String> {
    let defs = &*DEFINITIONS;
    match defs.name_of(group, version, kind) {
        Some(name) => unknown::prune_in(defs, name, obj, true),
        None => Vec::new(),
    }
}

/// Builds every document now rather than on the first request (a fraction
/// of a second in debug builds). Blocking: call it from `spawn_blocking` or
/// before the server starts.
pub fn prepare() {
    documents(crate::catalog::builtin());
}

static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(Definitions::generate);

/// The documents of a catalog snapshot, built on first use. Snapshots
/// without custom resources share the built-in documents.
fn documents(c: &Catalog) -> &Documents {
    if c.custom().is_empty() && !std::ptr::eq(c, &**crate::catalog::builtin()) {
        return documents(crate::catalog::builtin());
    }
    c.openapi.get_or_init(|| {
        if c.custom().is_empty() {
            Documents::build(&DEFINITIONS, c)
        } else {
            Documents::build(&custom::with_custom(&DEFINITIONS, c), c)
        }
    })
}

/// A rendered document and its hash (also its entity tag).
struct Rendered {
    body: Vec<u8>,
    hash: String,
}

impl Rendered {
    fn new(doc: &Value) -> Self {
        Self::from_bytes(doc.to_string().into_bytes())
    }

    fn from_bytes(body: Vec<u8>) -> Self {
        let hash = content_hash(&body);
        Rendered { body, hash }
    }
}

pub struct Documents {
    v2: Rendered,
    /// The same document as gnostic protobuf.
    v2_proto: Rendered,
    v3_index: Rendered,
    /// `api/v1`, `apis/apps/v1`, ... -> document.
    v3: BTreeMap<String, Rendered>,
}

fn security_scheme() -> Value {
    json!({
        "type": "apiKey",
        "description": "Bearer Token authentication",
        "name": "authorization",
        "in": "header",
    })
}

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

impl Documents {
    fn build(defs: &Definitions, c: &Catalog) -> Documents {
        let mut v3 = BTreeMap::new();
        for g in c.groups() {
            for v in g.versions {
                let doc = v3_group_version(defs, c, g.name, v);
                v3.insert(gv_key(g.name, v), Rendered::new(&doc));
            }
        }
        let index: Map<String, Value> = v3
            .iter()
            .map(|(k, r)| {
                (
                    k.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={}", r.hash)}),
                )
            })
            .collect();
        let v2 = v2_document(defs, c);
        Documents {
            v2: Rendered::new(&v2),
            v2_proto: Rendered::from_bytes(v2proto::encode(&v2)),
            v3_index: Rendered::new(&json!({"paths": index})),
            v3,
        }
    }
}

/// The OpenAPI 3.0 document of one group-version: its paths and every schema
/// they reach.
fn v3_group_version(defs: &Definitions, c: &Catalog, group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for r in c.in_group_version(group, version) {
        paths::add_resource(&mut paths, defs, r, Flavor::V3);
    }
    let mut roots = Vec::new();
    schemas::collect_refs(&Value::Object(paths.clone()), &mut |r| {
        if let Some(n) = r.strip_prefix(schemas::V3_PREFIX) {
            roots.push(n.to_string());
        }
    });
    let components: Map<String, Value> = defs
        .closure(roots.iter().map(String::as_str))
        .into_iter()
        .filter_map(|name| {
            let def = defs.defs.get(&name)?;
            let shaped = schemas::for_v3(&name, def);
            Some((name, shaped))
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"BearerToken": security_scheme()},
        },
        "security": [{"BearerToken": []}],
    })
}

/// The Swagger 2.0 document: every path and every definition.
fn v2_document(defs: &Definitions, c: &Catalog) -> Value {
    let mut paths = Map::new();
    for r in c.all() {
        paths::add_resource(&mut paths, defs, r, Flavor::V2);
    }
    let definitions: Map<String, Value> = defs
        .defs
        .iter()
        .map(|(name, def)| {
            let def = if defs.custom.contains(name) {
                custom::to_swagger2(def)
            } else {
                schemas::for_v2(name, def)
            };
            (name.clone(), def)
        })
        .collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": security_scheme()},
        "security": [{"BearerToken": []}],
    })
}

// ---------------------------------------------------------------- handlers

/// Whether the `Accept` header admits JSON (absent means yes). Clients that
/// ask only for the protobuf forms get 406 and fall back.
fn accepts_json(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    accept.split(',').any(|range| {
        let base = range.split(';').next().unwrap_or("").trim();
        matches!(base, "application/json" | "application/*" | "*/*" | "")
    })
}

fn not_acceptable() -> ApiError {
    ApiError::not_acceptable(
        "only the following media types are accepted: application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    )
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .with_details(Details::default())
}

fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// Whether the `Accept` header asks for the gnostic protobuf of v2.
fn wants_v2_protobuf(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|range| {
                let base = range.split(';').next().unwrap_or("").trim();
                base == v2proto::ACCEPT || base == v2proto::CONTENT_TYPE
            })
        })
}

fn serve(req: &HttpRequest, doc: &Rendered, immutable: bool) -> HttpResponse {
    serve_as(req, doc, immutable, "application/json")
}

fn serve_as(
    req: &HttpRequest,
    doc: &Rendered,
    immutable: bool,
    content_type: &str,
) -> HttpResponse {
    let etag = format!("\"{}\"", doc.hash);
    let mut resp = if etag_matches(req, &etag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag.as_str()));
    if immutable {
        let expires = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
        resp.insert_header((header::CACHE_CONTROL, "public, immutable"))
            .insert_header((header::EXPIRES, HttpDate::from(expires)));
    } else {
        resp.insert_header((header::CACHE_CONTROL, "no-cache, private"));
    }
    if etag_matches(req, &etag) {
        return resp.finish();
    }
    resp.content_type(content_type).body(doc.body.clone())
}

async fn v2(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let catalog = crate::catalog::of_request(&req);
    let docs = documents(&catalog);
    if wants_v2_protobuf(&req) {
        return Ok(serve_as(&req, &docs.v2_proto, false, v2proto::CONTENT_TYPE));
    }
    if !accepts_json(&req) {
        return Err(not_acceptable());
    }
    Ok(serve(&req, &docs.v2, false))
}

async fn v3_index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !accepts_json(&req) {
        return Err(not_acceptable());
    }
    let catalog = crate::catalog::of_request(&req);
    Ok(serve(&req, &documents(&catalog).v3_index, false))
}

#[derive(serde::Deserialize)]
struct HashQuery {
    hash: Option<String>,
}

async fn v3_document(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner();
    let key = key.trim_end_matches('/');
    let catalog = crate::catalog::of_request(&req);
    let doc = documents(&catalog).v3.get(key).ok_or_else(not_found)?;
    if !accepts_json(&req) {
        return Err(not_acceptable());
    }
    match query.into_inner().hash {
        // A stale hash: send the client to the current document.
        Some(h) if h != doc.hash => Ok(HttpResponse::MovedPermanently()
            .insert_header((
                header::LOCATION,
                format!("/openapi/v3/{key}?hash={}", doc.hash),
            ))
            .finish()),
        Some(_) => Ok(serve(&req, doc, true)),
        None => Ok(serve(&req, doc, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as at, App};

    async fn get(
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (u16, actix_web::http::header::HeaderMap, Value) {
        let app = at::init_service(App::new().configure(configure)).await;
        let mut req = at::TestRequest::get().uri(uri);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let resp = at::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = at::read_body(resp).await;
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    #[actix_web::test]
    async fn v3_index_points_at_hashed_documents() {
        let (code, _, index) = get("/openapi/v3", &[]).await;
        assert_eq!(code, 200);
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .expect("apps/v1 entry")
            .to_string();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
        assert!(index["paths"]["api/v1"].is_object());
        assert!(index["paths"]["apis/autoscaling/v2"].is_object());

        let (code, headers, doc) = get(&url, &[]).await;
        assert_eq!(code, 200);
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("public, immutable")
        );
        assert_eq!(doc["openapi"], "3.0.0");
        let dep = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        // Everything referenced is present.
        let mut missing = vec![];
        schemas::collect_refs(&doc, &mut |r| {
            let name = r.trim_start_matches("#/components/schemas/");
            if doc["components"]["schemas"].get(name).is_none() {
                missing.push(r.to_string());
            }
        });
        assert!(missing.is_empty(), "{missing:?}");
        assert!(doc["components"]["schemas"]
            .get("io.k8s.api.rbac.v1.Role")
            .is_none());

        let etag = headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .expect("etag")
            .to_string();
        let (code, _, _) = get(&url, &[("If-None-Match", &etag)]).await;
        assert_eq!(code, 304);
        let (code, headers, _) = get("/openapi/v3/apis/apps/v1?hash=stale", &[]).await;
        assert_eq!(code, 301);
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some(url.as_str())
        );
    }

    #[actix_web::test]
    async fn v3_patch_operation_advertises_field_validation() {
        let (_, _, doc) = get("/openapi/v3/api/v1", &[]).await;
        let patch = &doc["paths"]["/api/v1/namespaces/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "", "kind": "Namespace", "version": "v1"})
        );
        assert!(patch["parameters"]
            .as_array()
            .expect("params")
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
        let (code, _, _) = get("/openapi/v3/apis/nope/v1", &[]).await;
        assert_eq!(code, 404);
    }

    #[actix_web::test]
    async fn v2_is_swagger_with_all_definitions() {
        let (code, _, doc) = get("/openapi/v2", &[("Accept", "application/json")]).await;
        assert_eq!(code, 200);
        assert_eq!(doc["swagger"], "2.0");
        let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec"
        );
        let op = &doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs"]["post"];
        assert_eq!(op["x-kubernetes-action"], "post");
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Job");
        let app = at::init_service(App::new().configure(configure)).await;
        let req = at::TestRequest::get()
            .uri("/openapi/v2")
            .insert_header((
                "Accept",
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            ))
            .to_request();
        let resp = at::call_service(&app, req).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some(v2proto::CONTENT_TYPE)
        );
        let body = at::read_body(resp).await;
        // Field 1 (swagger) first: tag 0x0a, length 3, "2.0".
        assert_eq!(&body[..5], b"\x0a\x032.0");
        let (code, _, _) = get("/openapi/v2", &[("Accept", "application/xml")]).await;
        assert_eq!(code, 406);
    }
}
