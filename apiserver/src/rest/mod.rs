//! REST handlers for every built-in resource: routing of
//! `/api/v1/...` and `/apis/{group}/{version}/...` paths to a resource, its
//! scope, name and subresource, then one function per verb.

mod delete;
mod eviction;
mod filter;
mod log;
mod namespace;
pub mod output;
mod read;
mod scale;
mod watch;
mod write;

use actix_web::{http::Method, web, HttpRequest, HttpResponse};

use crate::catalog::Catalog;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::registry::Registry;
use crate::resources::ResourceInfo;
use crate::state::AppState;

/// Registers `/api/v1/...` and `/apis/{group}/{version}/...` resource routes.
/// Exact discovery routes (`/api/v1`, `/apis/{group}/{version}`) are
/// registered before these and take precedence.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/{tail:.*}").to(core_handler))
        .service(web::resource("/apis/{group}/{version}/{tail:.*}").to(group_handler));
}

/// The resource a request path names.
#[derive(Debug, Clone)]
pub struct Target {
    pub info: &'static ResourceInfo,
    /// The namespace in the path (namespaced kinds only).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix.
    pub watch_path: bool,
}

impl Target {
    pub fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// Upstream's message for a path that names no resource.
pub const NOT_FOUND_MESSAGE: &str = "the server could not find the requested resource";

fn not_found() -> ApiError {
    ApiError::new(404, "NotFound", NOT_FOUND_MESSAGE)
}

fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed("the server does not allow this method on the requested resource")
}

/// Resolves the path segments after `/api/v1` or `/apis/{group}/{version}`.
pub fn resolve(catalog: &Catalog, group: &str, version: &str, tail: &str) -> ApiResult<Target> {
    let mut segs: Vec<&str> = tail.split('/').collect();
    if segs.last() == Some(&"") && segs.len() > 1 {
        segs.pop();
    }
    if segs.iter().any(|s| s.is_empty()) {
        return Err(not_found());
    }
    let watch_path = segs.first() == Some(&"watch");
    if watch_path {
        segs.remove(0);
    }
    let lookup = |plural: &str| catalog.lookup(group, version, plural).ok_or_else(not_found);
    let target = |info, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
        info,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
        watch_path,
    };
    let t = match segs.as_slice() {
        [plural] => target(lookup(plural)?, None, None, None),
        ["namespaces", ns, plural] if !is_namespace_subresource(group, plural) => {
            let info = lookup(plural)?;
            if !info.namespaced {
                return Err(not_found());
            }
            target(info, Some(ns), None, None)
        }
        ["namespaces", ns, plural, name] => {
            let info = lookup(plural)?;
            if !info.namespaced {
                return Err(not_found());
            }
            target(info, Some(ns), Some(name), None)
        }
        ["namespaces", ns, plural, name, sub] => {
            let info = lookup(plural)?;
            if !info.namespaced || info.subresource(sub).is_none() {
                return Err(not_found());
            }
            target(info, Some(ns), Some(name), Some(sub))
        }
        [plural, name] => {
            let info = lookup(plural)?;
            if info.namespaced {
                return Err(not_found());
            }
            target(info, None, Some(name), None)
        }
        [plural, name, sub] => {
            let info = lookup(plural)?;
            if info.namespaced || info.subresource(sub).is_none() {
                return Err(not_found());
            }
            target(info, None, Some(name), Some(sub))
        }
        _ => return Err(not_found()),
    };
    if t.watch_path && t.subresource.is_some() {
        return Err(not_found());
    }
    Ok(t)
}

fn is_namespace_subresource(group: &str, seg: &str) -> bool {
    group.is_empty() && matches!(seg, "status" | "finalize")
}

async fn core_handler(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let tail = req.match_info().get("tail").unwrap_or("").to_string();
    let catalog = state.catalog();
    respond(resolve(&catalog, "", "v1", &tail), req, payload, state).await
}

async fn group_handler(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let group = req.match_info().get("group").unwrap_or("").to_string();
    let version = req.match_info().get("version").unwrap_or("").to_string();
    let tail = req.match_info().get("tail").unwrap_or("").to_string();
    let catalog = state.catalog();
    respond(
        resolve(&catalog, &group, &version, &tail),
        req,
        payload,
        state,
    )
    .await
}

async fn respond(
    target: ApiResult<Target>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let deprecation = target
        .as_ref()
        .ok()
        .and_then(|t| t.info.custom)
        .and_then(|c| c.deprecation_warning.clone());
    let result = match target {
        Ok(t) => dispatch(t, &req, payload, &state).await,
        Err(e) => Err(e),
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => output::error_response(&e),
    };
    if let Some(w) = deprecation {
        // A deprecated custom resource version: every request hears it.
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!(
            "299 - {}",
            output::go_quote(&w)
        )) {
            resp.headers_mut().append(
                actix_web::http::header::HeaderName::from_static("warning"),
                v,
            );
        }
    }
    resp
}

/// Everything a verb handler needs.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub req: &'a HttpRequest,
    pub target: Target,
    pub query: Query,
    pub registry: Registry,
}

impl Ctx<'_> {
    pub fn info(&self) -> &'static ResourceInfo {
        self.target.info
    }

    fn allows(&self, verb: &str) -> bool {
        self.target.info.verbs.contains(&verb)
    }

    fn require(&self, verb: &str) -> ApiResult<()> {
        if self.allows(verb) {
            Ok(())
        } else {
            Err(method_not_allowed())
        }
    }
}

async fn dispatch(
    target: Target,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> ApiResult<HttpResponse> {
    let query = Query::parse(req.query_string())?;
    let mut registry = Registry::new(state.store.clone(), target.info);
    if req.method() == actix_web::http::Method::POST {
        if target.info.namespaced {
            registry = registry.with_namespaces(state.cache(b"/registry/core/namespaces/"));
        }
        if let Some(cache) =
            state.running_cache(&crate::registry::keys::resource_prefix(target.info))
        {
            registry = registry.with_cache(cache);
        }
    }
    let ctx = Ctx {
        state,
        req,
        target,
        query,
        registry,
    };
    let method = req.method().clone();
    let is_item = ctx.target.name.is_some();
    let watch = ctx.target.watch_path || ctx.query.bool("watch")?;
    match (ctx.target.subresource.clone(), is_item) {
        (None, false) => match method {
            Method::GET if watch => {
                ctx.require("watch")?;
                watch::watch(&ctx).await
            }
            Method::GET => {
                ctx.require("list")?;
                read::list(&ctx).await
            }
            Method::POST if ctx.target.namespace.is_some() || !ctx.info().namespaced => {
                ctx.require("create")?;
                if crate::auth::reviews::is_review(ctx.info()) {
                    return crate::auth::reviews::create(&ctx, payload).await;
                }
                write::create(&ctx, payload).await
            }
            // Upstream's CRD handler leaves this to the not-found delegate.
            Method::POST if ctx.info().is_custom() => Err(not_found()),
            Method::DELETE if ctx.target.namespace.is_some() || !ctx.info().namespaced => {
                ctx.require("deletecollection")?;
                delete::delete_collection(&ctx, payload).await
            }
            _ => Err(method_not_allowed()),
        },
        (None, true) => match method {
            Method::GET if watch => {
                ctx.require("watch")?;
                watch::watch(&ctx).await
            }
            Method::GET => {
                ctx.require("get")?;
                read::get(&ctx).await
            }
            _ if ctx.target.watch_path => Err(method_not_allowed()),
            Method::PUT => {
                ctx.require("update")?;
                write::update(&ctx, payload).await
            }
            Method::PATCH => {
                ctx.require("patch")?;
                write::patch(&ctx, payload).await
            }
            Method::DELETE => {
                ctx.require("delete")?;
                delete::delete(&ctx, payload).await
            }
            _ => Err(method_not_allowed()),
        },
        (Some(sub), _) => {
            let verbs = ctx.info().subresource(&sub).map(|s| s.verbs).unwrap_or(&[]);
            let verb = match method {
                Method::GET => "get",
                Method::PUT => "update",
                Method::PATCH => "patch",
                Method::POST => "create",
                _ => "",
            };
            if !verbs.contains(&verb) {
                return Err(method_not_allowed());
            }
            match (sub.as_str(), verb) {
                ("status", "get") => read::get(&ctx).await,
                ("status", "update") => write::update(&ctx, payload).await,
                ("status", "patch") => write::patch(&ctx, payload).await,
                ("scale", "get") => scale::get(&ctx).await,
                ("scale", "update") => scale::update(&ctx, payload).await,
                ("scale", "patch") => scale::patch(&ctx, payload).await,
                ("binding", "create") => write::bind(&ctx, payload).await,
                ("eviction", "create") => eviction::create(&ctx, payload).await,
                ("finalize", "update") => namespace::finalize(&ctx, payload).await,
                ("log", "get") => log::get(&ctx).await,
                ("token", "create") => crate::tokens::request::create(&ctx, payload).await,
                _ => Err(not_found()),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_scope_name_and_subresource() {
        let t = resolve(
            &Catalog::builtin(),
            "",
            "v1",
            "namespaces/default/pods/web/status",
        )
        .unwrap();
        assert_eq!(t.info.plural, "pods");
        assert_eq!(t.ns(), Some("default"));
        assert_eq!(t.name(), "web");
        assert_eq!(t.subresource.as_deref(), Some("status"));

        let t = resolve(&Catalog::builtin(), "", "v1", "namespaces/default").unwrap();
        assert_eq!(t.info.plural, "namespaces");
        assert_eq!(t.name(), "default");

        let t = resolve(&Catalog::builtin(), "", "v1", "namespaces/default/status").unwrap();
        assert_eq!(t.info.plural, "namespaces");
        assert_eq!(t.subresource.as_deref(), Some("status"));

        let t = resolve(&Catalog::builtin(), "", "v1", "pods").unwrap();
        assert!(t.ns().is_none() && t.name.is_none());

        let t = resolve(
            &Catalog::builtin(),
            "apps",
            "v1",
            "watch/namespaces/a/deployments",
        )
        .unwrap();
        assert!(t.watch_path);
        assert_eq!(t.ns(), Some("a"));
    }

    #[test]
    fn unknown_or_misscoped_paths_are_not_found() {
        for (g, v, tail) in [
            ("", "v1", "widgets"),
            ("", "v1", "pods/web"),
            ("", "v1", "namespaces/a/nodes/n1"),
            ("", "v1", "namespaces/a/pods/web/bogus"),
            ("apps", "v9", "deployments"),
            ("", "v1", "namespaces/a/pods/web/status/x"),
        ] {
            let e = resolve(&Catalog::builtin(), g, v, tail).unwrap_err();
            assert_eq!(e.code, 404, "{tail}");
            assert_eq!(e.message, NOT_FOUND_MESSAGE);
        }
    }
}
