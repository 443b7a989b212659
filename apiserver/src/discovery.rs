//! API discovery: `/api`, `/api/v1`, `/apis`, `/apis/{group}` and
//! `/apis/{group}/{version}`, in the legacy form (`APIVersions`,
//! `APIGroupList`, `APIGroup`, `APIResourceList`) and, on `/api` and `/apis`,
//! in the aggregated form (`apidiscovery.k8s.io/v2` or `v2beta1`
//! `APIGroupDiscoveryList`) when the `Accept` header asks for it, as client-go
//! does first.
//!
//! Everything is built from [`crate::resources`]; the static documents are
//! rendered once and served with an `ETag`.

use std::collections::BTreeMap;

use actix_web::{
    http::header::{self, HeaderValue},
    web, HttpRequest, HttpResponse,
};
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::error::{ApiError, Details};
use crate::resources::{GroupInfo, ResourceInfo};

const DISCOVERY_GROUP: &str = "apidiscovery.k8s.io";
const DISCOVERY_KIND: &str = "APIGroupDiscoveryList";

/// Registers the exact discovery routes. Register it before any route that
/// matches `/api/v1/{...}` or `/apis/{group}/{version}/{...}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api", web::get().to(api))
        .route("/api/", web::get().to(api))
        .route("/api/v1", web::get().to(core_resources))
        .route("/api/v1/", web::get().to(core_resources))
        .route("/apis", web::get().to(apis))
        .route("/apis/", web::get().to(apis))
        .route("/apis/{group}", web::get().to(api_group))
        .route("/apis/{group}/", web::get().to(api_group))
        .route("/apis/{group}/{version}", web::get().to(group_resources))
        .route("/apis/{group}/{version}/", web::get().to(group_resources));
}

/// Which discovery document a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `APIVersions` / `APIGroupList`.
    Legacy,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`.
    V2,
    /// `apidiscovery.k8s.io/v2beta1` `APIGroupDiscoveryList`.
    V2Beta1,
}

impl Format {
    fn version(self) -> Option<&'static str> {
        match self {
            Format::Legacy => None,
            Format::V2 => Some("v2"),
            Format::V2Beta1 => Some("v2beta1"),
        }
    }

    /// The `Content-Type` kube-apiserver answers with.
    pub fn content_type(self) -> String {
        match self.version() {
            None => "application/json".to_string(),
            Some(v) => format!("application/json;g={DISCOVERY_GROUP};v={v};as={DISCOVERY_KIND}"),
        }
    }
}

/// Picks the format from an `Accept` header: media ranges in order of
/// preference (`q`, then position); the first one we can serve wins. Ranges
/// we cannot serve (protobuf, unknown `as=`) are skipped; if none is left the
/// legacy JSON form is served, as for a missing header.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Legacy;
    };
    let mut ranges: Vec<(f32, usize, Option<Format>)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, range)| {
            let mut parts = range.split(';').map(str::trim);
            let base = parts.next()?.to_ascii_lowercase();
            let mut q = 1.0f32;
            let (mut g, mut v, mut as_) = (None, None, None);
            for p in parts {
                let Some((k, val)) = p.split_once('=') else {
                    continue;
                };
                let val = val.trim().trim_matches('"');
                match k.trim() {
                    "q" => q = val.parse().unwrap_or(0.0),
                    "g" => g = Some(val),
                    "v" => v = Some(val),
                    "as" => as_ = Some(val),
                    _ => {}
                }
            }
            if q <= 0.0 || !matches!(base.as_str(), "application/json" | "application/*" | "*/*") {
                return None;
            }
            let format = match (g, v, as_) {
                (None, None, None) => Some(Format::Legacy),
                (Some(DISCOVERY_GROUP), Some("v2"), Some(DISCOVERY_KIND)) => Some(Format::V2),
                (Some(DISCOVERY_GROUP), Some("v2beta1"), Some(DISCOVERY_KIND)) => {
                    Some(Format::V2Beta1)
                }
                _ => None,
            };
            Some((q, i, format))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges
        .into_iter()
        .find_map(|(_, _, f)| f)
        .unwrap_or(Format::Legacy)
}

/// A rendered document with its entity tag.
struct Rendered {
    body: Vec<u8>,
    etag: String,
}

impl Rendered {
    fn new(doc: &Value) -> Self {
        let body = doc.to_string().into_bytes();
        let etag = format!("\"{}\"", content_hash(&body));
        Rendered { body, etag }
    }
}

/// A stable hex digest of a document (two SipHash passes with fixed keys).
pub fn content_hash(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut a = std::hash::DefaultHasher::new();
    bytes.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    0xfe77_0cbe_u32.hash(&mut b);
    bytes.hash(&mut b);
    format!("{:016X}{:016X}", a.finish(), b.finish())
}

fn respond(req: &HttpRequest, rendered: &Rendered, format: Format) -> HttpResponse {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == rendered.etag || t.trim() == "*")
        });
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, rendered.etag.as_str()))
        .insert_header((header::VARY, HeaderValue::from_static("Accept")));
    if matches {
        return resp.finish();
    }
    resp.insert_header((header::CONTENT_TYPE, format.content_type()))
        .body(rendered.body.clone())
}

fn accept_of(req: &HttpRequest) -> Format {
    negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
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

// ---------------------------------------------------------------- documents

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `APIVersions` for `/api`.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    })
}

fn version_for_discovery(group: &str, version: &str) -> Value {
    json!({"groupVersion": group_version(group, version), "version": version})
}

fn api_group_body(g: &GroupInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(g.name));
    m.insert(
        "versions".into(),
        g.versions
            .iter()
            .map(|v| version_for_discovery(g.name, v))
            .collect(),
    );
    m.insert(
        "preferredVersion".into(),
        version_for_discovery(g.name, g.preferred_version()),
    );
    m
}

/// `APIGroup` for `/apis/{group}`.
pub fn api_group_doc(g: &GroupInfo) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIGroup"));
    m.insert("apiVersion".into(), json!("v1"));
    m.extend(api_group_body(g));
    Value::Object(m)
}

/// `APIGroupList` for `/apis` (every group but the core one).
pub fn api_group_list(c: &Catalog) -> Value {
    let groups: Vec<Value> = c
        .groups()
        .filter(|g| !g.name.is_empty())
        .map(|g| Value::Object(api_group_body(g)))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The verbs discovery lists: a terminating CRD's kind takes no creates or
/// writes of new content, as upstream shows it (requests still decide by
/// the row's own verbs, so finalizers can be removed).
fn discovery_verbs(r: &ResourceInfo) -> &'static [&'static str] {
    if r.custom.is_some_and(|c| c.terminating) {
        &["delete", "deletecollection", "get", "list", "watch"]
    } else {
        r.verbs
    }
}

fn legacy_entries(r: &ResourceInfo) -> Vec<Value> {
    let mut main = Map::new();
    main.insert("name".into(), json!(r.plural));
    main.insert("singularName".into(), json!(r.singular));
    main.insert("namespaced".into(), json!(r.namespaced));
    main.insert("kind".into(), json!(r.kind));
    main.insert("verbs".into(), json!(discovery_verbs(r)));
    if !r.short_names.is_empty() {
        main.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        main.insert("categories".into(), json!(r.categories));
    }
    let mut out = vec![Value::Object(main)];
    for s in r.subresources {
        let mut sub = Map::new();
        sub.insert("name".into(), json!(format!("{}/{}", r.plural, s.name)));
        sub.insert("singularName".into(), json!(""));
        sub.insert("namespaced".into(), json!(r.namespaced));
        if (s.group, s.version) != (r.group, r.version) {
            sub.insert("group".into(), json!(s.group));
            sub.insert("version".into(), json!(s.version));
        }
        sub.insert("kind".into(), json!(s.kind));
        sub.insert("verbs".into(), json!(s.verbs));
        out.push(Value::Object(sub));
    }
    out
}

/// `APIResourceList` for `/api/v1` or `/apis/{group}/{version}`, or `None`
/// when the group-version is not served.
pub fn api_resource_list(c: &Catalog, group: &str, version: &str) -> Option<Value> {
    let mut entries: Vec<Value> = c
        .in_group_version(group, version)
        .flat_map(legacy_entries)
        .collect();
    if entries.is_empty() {
        return None;
    }
    // Built-in lists are sorted by name; a custom group lists each CRD's
    // resource, then its status, then its scale, as upstream's CRD
    // discovery does.
    if crate::resources::group(group).is_some() {
        entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIResourceList"));
    // kube-apiserver leaves apiVersion out of the core list only.
    if !group.is_empty() {
        m.insert("apiVersion".into(), json!("v1"));
    }
    m.insert("groupVersion".into(), json!(group_version(group, version)));
    m.insert("resources".into(), Value::Array(entries));
    Some(Value::Object(m))
}

fn response_kind(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut m = Map::new();
    m.insert("resource".into(), json!(r.plural));
    // Built-ins leave the parent's group/version out; CRDs name them.
    let (rg, rv) = if r.is_custom() {
        (r.group, r.version)
    } else {
        ("", "")
    };
    m.insert("responseKind".into(), response_kind(rg, rv, r.kind));
    m.insert(
        "scope".into(),
        json!(if r.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    m.insert("singularResource".into(), json!(r.singular));
    m.insert("verbs".into(), json!(discovery_verbs(r)));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    let mut subs: Vec<_> = r.subresources.iter().collect();
    if !r.is_custom() {
        subs.sort_by_key(|s| s.name);
    }
    if !subs.is_empty() {
        let subs: Vec<Value> = subs
            .into_iter()
            .map(|s| {
                let (g, v) = if (s.group, s.version) == (r.group, r.version) && !r.is_custom() {
                    ("", "")
                } else {
                    (s.group, s.version)
                };
                json!({
                    "subresource": s.name,
                    "responseKind": response_kind(g, v, s.kind),
                    "verbs": s.verbs,
                })
            })
            .collect();
        m.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(m)
}

fn aggregated_group(c: &Catalog, g: &GroupInfo) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| {
            let mut rs: Vec<&ResourceInfo> = c.in_group_version(g.name, v).collect();
            rs.sort_by_key(|r| r.plural);
            json!({
                "version": v,
                "resources": rs.into_iter().map(aggregated_resource).collect::<Vec<_>>(),
                "freshness": "Current",
            })
        })
        .collect();
    let metadata = if g.name.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": g.name, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// The aggregated `APIGroupDiscoveryList`: for `/api` (`core` = true, the
/// core group only) or `/apis` (every other group).
pub fn aggregated(c: &Catalog, core: bool, format: Format) -> Value {
    let items: Vec<Value> = c
        .groups()
        .filter(|g| g.name.is_empty() == core)
        .map(|g| aggregated_group(c, g))
        .collect();
    json!({
        "kind": DISCOVERY_KIND,
        "apiVersion": format!("{DISCOVERY_GROUP}/{}", format.version().unwrap_or("v2")),
        "metadata": {},
        "items": items,
    })
}

// ---------------------------------------------------------------- handlers

/// Every discovery document of one catalog snapshot, rendered once.
pub struct Documents {
    api_v2: Rendered,
    api_v2beta1: Rendered,
    apis_v2: Rendered,
    apis_v2beta1: Rendered,
    apis_legacy: Rendered,
    /// `APIResourceList` per "group/version" ("/v1" for core).
    resource_lists: BTreeMap<String, Rendered>,
    /// `APIGroup` per group name.
    group_docs: BTreeMap<&'static str, Rendered>,
}

impl Documents {
    fn build(c: &Catalog) -> Documents {
        Documents {
            api_v2: Rendered::new(&aggregated(c, true, Format::V2)),
            api_v2beta1: Rendered::new(&aggregated(c, true, Format::V2Beta1)),
            apis_v2: Rendered::new(&aggregated(c, false, Format::V2)),
            apis_v2beta1: Rendered::new(&aggregated(c, false, Format::V2Beta1)),
            apis_legacy: Rendered::new(&api_group_list(c)),
            resource_lists: c
                .groups()
                .flat_map(|g| g.versions.iter().map(move |v| (g.name, *v)))
                .filter_map(|(g, v)| {
                    Some((
                        format!("{g}/{v}"),
                        Rendered::new(&api_resource_list(c, g, v)?),
                    ))
                })
                .collect(),
            group_docs: c
                .groups()
                .filter(|g| !g.name.is_empty())
                .map(|g| (g.name, Rendered::new(&api_group_doc(g))))
                .collect(),
        }
    }
}

/// Runs `f` on the discovery documents of the request's catalog.
fn with_docs<T>(req: &HttpRequest, f: impl FnOnce(&Documents) -> T) -> T {
    let c = crate::catalog::of_request(req);
    f(c.discovery.get_or_init(|| Documents::build(&c)))
}

async fn api(req: HttpRequest) -> HttpResponse {
    match accept_of(&req) {
        Format::V2 => with_docs(&req, |d| respond(&req, &d.api_v2, Format::V2)),
        Format::V2Beta1 => with_docs(&req, |d| respond(&req, &d.api_v2beta1, Format::V2Beta1)),
        Format::Legacy => {
            let host = req.connection_info().host().to_string();
            respond(&req, &Rendered::new(&api_versions(&host)), Format::Legacy)
        }
    }
}

async fn apis(req: HttpRequest) -> HttpResponse {
    with_docs(&req, |d| match accept_of(&req) {
        Format::V2 => respond(&req, &d.apis_v2, Format::V2),
        Format::V2Beta1 => respond(&req, &d.apis_v2beta1, Format::V2Beta1),
        Format::Legacy => respond(&req, &d.apis_legacy, Format::Legacy),
    })
}

async fn core_resources(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    with_docs(&req, |d| {
        let doc = d.resource_lists.get("/v1").ok_or_else(not_found)?;
        Ok(respond(&req, doc, Format::Legacy))
    })
}

async fn api_group(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let group = path.into_inner();
    with_docs(&req, |d| {
        let doc = d.group_docs.get(group.as_str()).ok_or_else(not_found)?;
        Ok(respond(&req, doc, Format::Legacy))
    })
}

async fn group_resources(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, version) = path.into_inner();
    if group.is_empty() {
        return Err(not_found());
    }
    with_docs(&req, |d| {
        let doc = d
            .resource_lists
            .get(&format!("{group}/{version}"))
            .ok_or_else(not_found)?;
        Ok(respond(&req, doc, Format::Legacy))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as at, App};

    const CLIENT_GO_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn negotiation_follows_preference() {
        assert_eq!(negotiate(None), Format::Legacy);
        assert_eq!(negotiate(Some("application/json")), Format::Legacy);
        assert_eq!(negotiate(Some(CLIENT_GO_ACCEPT)), Format::V2);
        assert_eq!(
            negotiate(Some(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            )),
            Format::V2Beta1
        );
        // q values outrank position.
        assert_eq!(
            negotiate(Some(
                "application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            )),
            Format::V2
        );
        // Protobuf first (unsupported) falls through to JSON.
        assert_eq!(
            negotiate(Some(
                "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            )),
            Format::V2
        );
        assert_eq!(
            negotiate(Some(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"
            )),
            Format::Legacy
        );
    }

    async fn get(uri: &str, accept: Option<&str>) -> (u16, String, Value) {
        let app = at::init_service(App::new().configure(configure)).await;
        let mut req = at::TestRequest::get().uri(uri);
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT, a));
        }
        let resp = at::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = at::read_body(resp).await;
        let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, ct, v)
    }

    #[actix_web::test]
    async fn legacy_api_and_apis() {
        let (code, ct, v) = get("/api", None).await;
        assert_eq!((code, ct.as_str()), (200, "application/json"));
        assert_eq!(v["kind"], "APIVersions");
        assert_eq!(v["versions"], json!(["v1"]));
        assert_eq!(
            v["serverAddressByClientCIDRs"][0]["clientCIDR"],
            "0.0.0.0/0"
        );

        let (code, _, v) = get("/apis", Some("application/json")).await;
        assert_eq!(code, 200);
        assert_eq!(v["kind"], "APIGroupList");
        let names: Vec<&str> = v["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names[..2], ["apiregistration.k8s.io", "apps"]);
        assert!(!names.contains(&""));
        let autoscaling = v["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["name"] == "autoscaling")
            .expect("autoscaling");
        assert_eq!(
            autoscaling["preferredVersion"]["groupVersion"],
            "autoscaling/v2"
        );
        assert_eq!(autoscaling["versions"][1]["version"], "v1");
    }

    #[actix_web::test]
    async fn legacy_group_and_resource_lists() {
        let (code, _, v) = get("/apis/apps", None).await;
        assert_eq!(code, 200);
        assert_eq!(v["kind"], "APIGroup");
        assert_eq!(v["preferredVersion"]["version"], "v1");

        let (code, _, v) = get("/api/v1", None).await;
        assert_eq!(code, 200);
        assert_eq!(v["kind"], "APIResourceList");
        assert!(v.get("apiVersion").is_none());
        assert_eq!(v["groupVersion"], "v1");
        let res = v["resources"].as_array().expect("resources");
        let pods = res.iter().find(|r| r["name"] == "pods").expect("pods");
        assert_eq!(pods["singularName"], "pod");
        assert_eq!(pods["namespaced"], true);
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        let binding = res
            .iter()
            .find(|r| r["name"] == "pods/binding")
            .expect("binding");
        assert_eq!(binding["kind"], "Binding");
        assert_eq!(binding["verbs"], json!(["create"]));
        let ns = res.iter().find(|r| r["name"] == "namespaces").expect("ns");
        assert_eq!(ns["namespaced"], false);
        assert!(ns.get("categories").is_none());
        let names: Vec<&str> = res.iter().filter_map(|r| r["name"].as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);

        let (code, _, v) = get("/apis/apps/v1", None).await;
        assert_eq!(code, 200);
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["groupVersion"], "apps/v1");
        let scale = v["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .expect("scale");
        assert_eq!(
            (&scale["group"], &scale["version"], &scale["kind"]),
            (&json!("autoscaling"), &json!("v1"), &json!("Scale"))
        );
    }

    #[actix_web::test]
    async fn unknown_groups_are_not_found_statuses() {
        for uri in ["/apis/nope", "/apis/nope/v1", "/apis/apps/v9"] {
            let (code, _, v) = get(uri, None).await;
            assert_eq!(code, 404, "{uri}");
            assert_eq!(v["kind"], "Status");
            assert_eq!(v["reason"], "NotFound");
        }
    }

    #[actix_web::test]
    async fn aggregated_v2_for_client_go() {
        let (code, ct, v) = get("/apis", Some(CLIENT_GO_ACCEPT)).await;
        assert_eq!(code, 200);
        assert_eq!(
            ct,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        assert_eq!(v["kind"], "APIGroupDiscoveryList");
        assert_eq!(v["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = v["items"].as_array().expect("items");
        assert_eq!(items[0]["metadata"]["name"], "apiregistration.k8s.io");
        assert_eq!(items[1]["metadata"]["name"], "apps");
        let apps_v1 = &items[1]["versions"][0];
        assert_eq!(apps_v1["version"], "v1");
        assert_eq!(apps_v1["freshness"], "Current");
        let deploy = apps_v1["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["resource"] == "deployments")
            .expect("deployments");
        assert_eq!(deploy["scope"], "Namespaced");
        assert_eq!(deploy["singularResource"], "deployment");
        assert_eq!(deploy["responseKind"]["kind"], "Deployment");
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
        assert_eq!(
            deploy["subresources"],
            json!([
                {"subresource": "scale",
                 "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                 "verbs": ["get", "patch", "update"]},
                {"subresource": "status",
                 "responseKind": {"group": "", "version": "", "kind": "Deployment"},
                 "verbs": ["get", "patch", "update"]},
            ])
        );
        let autoscaling = items
            .iter()
            .find(|i| i["metadata"]["name"] == "autoscaling")
            .expect("autoscaling");
        assert_eq!(autoscaling["versions"][0]["version"], "v2");

        let (_, ct, v) = get("/api", Some(CLIENT_GO_ACCEPT)).await;
        assert!(ct.contains("v=v2;"), "{ct}");
        let items = v["items"].as_array().expect("items");
        assert_eq!(items.len(), 1);
        assert!(items[0]["metadata"].get("name").is_none());
        let nodes = items[0]["versions"][0]["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["resource"] == "nodes")
            .expect("nodes");
        assert_eq!(nodes["scope"], "Cluster");
    }

    #[actix_web::test]
    async fn aggregated_v2beta1_and_etag() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
        let (_, ct, v) = get("/apis", Some(accept)).await;
        assert_eq!(ct, accept);
        assert_eq!(v["apiVersion"], "apidiscovery.k8s.io/v2beta1");

        let app = at::init_service(App::new().configure(configure)).await;
        let req = at::TestRequest::get()
            .uri("/apis")
            .insert_header((header::ACCEPT, CLIENT_GO_ACCEPT))
            .to_request();
        let resp = at::call_service(&app, req).await;
        let etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .expect("etag")
            .to_string();
        let req = at::TestRequest::get()
            .uri("/apis")
            .insert_header((header::ACCEPT, CLIENT_GO_ACCEPT))
            .insert_header((header::IF_NONE_MATCH, etag.as_str()))
            .to_request();
        let resp = at::call_service(&app, req).await;
        assert_eq!(resp.status().as_u16(), 304);
    }

    #[test]
    fn documents_parse_as_client_types() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        let versions: meta::APIVersions =
            serde_json::from_value(api_versions("127.0.0.1:6443")).expect("APIVersions");
        assert_eq!(versions.versions, vec!["v1".to_string()]);
        let groups: meta::APIGroupList =
            serde_json::from_value(api_group_list(&Catalog::builtin())).expect("APIGroupList");
        assert!(groups.groups.iter().any(|g| g.name == "apps"));
        let list: meta::APIResourceList = serde_json::from_value(
            api_resource_list(&Catalog::builtin(), "apps", "v1").expect("apps/v1"),
        )
        .expect("APIResourceList");
        let scale = list
            .resources
            .iter()
            .find(|r| r.name == "deployments/scale")
            .expect("scale");
        assert_eq!(scale.group.as_deref(), Some("autoscaling"));

        // kube-rs reads aggregated discovery into its own types.
        use kube::core::discovery::v2::APIGroupDiscoveryList;
        for core in [true, false] {
            let agg: APIGroupDiscoveryList =
                serde_json::from_value(aggregated(&Catalog::builtin(), core, Format::V2))
                    .expect("aggregated");
            let resources: usize = agg
                .items
                .iter()
                .flat_map(|g| &g.versions)
                .map(|v| v.resources.len())
                .sum();
            let expected = crate::resources::BUILTIN
                .iter()
                .filter(|r| r.group.is_empty() == core)
                .count();
            assert_eq!(resources, expected);
        }
    }
}
