//! Non-resource endpoints every client probes: `/version`, `/healthz`,
//! `/livez`, `/readyz` (with `?verbose`, `?exclude=` and `/{check}`), and
//! `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use openraft_store::Store;
use serde_json::Value;

use crate::metrics::{self, Metrics};

/// The Kubernetes release this server speaks.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";
pub const KUBE_GIT_VERSION: &str = "v1.33.1";

/// How long a health check may wait for the store.
const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `version.Info` as kube-apiserver v1.33 reports it, fields in upstream's
/// order. `gitVersion` is what kubectl and client libraries parse; the build
/// fields describe ferrokube.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub major: &'static str,
    pub minor: &'static str,
    pub emulation_major: &'static str,
    pub emulation_minor: &'static str,
    pub min_compatibility_major: &'static str,
    pub min_compatibility_minor: &'static str,
    pub git_version: &'static str,
    pub git_commit: String,
    pub git_tree_state: &'static str,
    pub build_date: &'static str,
    pub go_version: &'static str,
    pub compiler: &'static str,
    pub platform: String,
}

impl VersionInfo {
    pub fn current() -> VersionInfo {
        VersionInfo {
            major: KUBE_MAJOR,
            minor: KUBE_MINOR,
            emulation_major: KUBE_MAJOR,
            emulation_minor: KUBE_MINOR,
            min_compatibility_major: KUBE_MAJOR,
            min_compatibility_minor: "32",
            git_version: KUBE_GIT_VERSION,
            git_commit: format!("ferrokube-{}", env!("CARGO_PKG_VERSION")),
            git_tree_state: "clean",
            build_date: "1970-01-01T00:00:00Z",
            // Upstream reports the Go toolchain here; ferrokube is built by rustc.
            go_version: "rustc",
            compiler: "rustc",
            platform: platform(),
        }
    }
}

/// [`VersionInfo::current`] as JSON.
pub fn version_info() -> Value {
    serde_json::to_value(VersionInfo::current()).unwrap_or(Value::Null)
}

/// `os/arch` with Go's names (`linux/amd64`, `linux/arm64`).
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("{}/{}", std::env::consts::OS, arch)
}

/// What the health endpoints look at.
pub struct Health {
    pub store: Arc<dyn Store>,
}

/// One of the three health endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Healthz,
    Livez,
    Readyz,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Healthz => "healthz",
            Endpoint::Livez => "livez",
            Endpoint::Readyz => "readyz",
        }
    }

    /// The checks each endpoint runs, in upstream's order.
    pub fn checks(self) -> &'static [&'static str] {
        match self {
            Endpoint::Healthz | Endpoint::Livez => &["ping", "log", "etcd"],
            Endpoint::Readyz => &["ping", "log", "etcd", "etcd-readiness"],
        }
    }
}

/// The result of one check: `None` when it passed.
pub type CheckResult = Option<String>;

impl Health {
    /// Run one named check.
    pub async fn run(&self, check: &str) -> CheckResult {
        match check {
            "ping" | "log" => None,
            "etcd" | "etcd-readiness" => {
                match tokio::time::timeout(STORE_CHECK_TIMEOUT, self.store.status()).await {
                    Err(_) => Some("store did not answer in time".into()),
                    Ok(Err(e)) => Some(e.to_string()),
                    Ok(Ok(status)) if status.leader.is_none() => Some("no leader".into()),
                    Ok(Ok(_)) => None,
                }
            }
            other => Some(format!("unknown check {other}")),
        }
    }
}

/// The body and code of a health endpoint, given each check's result, as
/// upstream prints them: `ok` when all pass quietly; otherwise one line per
/// check and a summary line. Reasons for failures are withheld from clients.
pub fn render(
    endpoint: Endpoint,
    results: &[(&str, CheckResult)],
    excluded: &[String],
    verbose: bool,
) -> (u16, String) {
    let failed = results.iter().any(|(_, r)| r.is_some());
    if !failed && !verbose {
        return (200, "ok".into());
    }
    let mut out = String::new();
    for (name, result) in results {
        match result {
            None => out.push_str(&format!("[+]{name} ok\n")),
            Some(_) => out.push_str(&format!("[-]{name} failed: reason withheld\n")),
        }
    }
    for name in excluded {
        out.push_str(&format!("[+]{name} excluded: ok\n"));
    }
    if failed {
        out.push_str(&format!("{} check failed\n", endpoint.name()));
        (500, out)
    } else {
        out.push_str(&format!("{} check passed\n", endpoint.name()));
        (200, out)
    }
}

/// Register the routes. Needs `web::Data<Health>` and `web::Data<Metrics>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/version/", web::get().to(version))
        .route("/metrics", web::get().to(metrics_text));
    for endpoint in [Endpoint::Healthz, Endpoint::Livez, Endpoint::Readyz] {
        let path = format!("/{}", endpoint.name());
        cfg.route(
            &path,
            web::get().to(move |req: HttpRequest, h: web::Data<Health>| async move {
                all_checks(endpoint, req, h).await
            }),
        )
        .route(
            &format!("{path}/{{check:.+}}"),
            web::get().to(
                move |check: web::Path<String>, h: web::Data<Health>| async move {
                    one_check(endpoint, check.into_inner(), h).await
                },
            ),
        );
    }
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(VersionInfo::current())
}

async fn metrics_text(m: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(m.render())
}

fn text(code: u16, body: String) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn all_checks(endpoint: Endpoint, req: HttpRequest, h: web::Data<Health>) -> HttpResponse {
    let mut verbose = false;
    let mut excluded: Vec<String> = Vec::new();
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "verbose" => verbose = v != "false" && v != "0",
            "exclude" => excluded.push(v.to_string()),
            _ => {}
        }
    }
    let mut results = Vec::new();
    for &name in endpoint.checks() {
        if excluded.iter().any(|e| e == name) {
            continue;
        }
        results.push((name, h.run(name).await));
    }
    // Upstream only reports exclusions that name a real check.
    excluded.retain(|e| endpoint.checks().contains(&e.as_str()));
    let (code, body) = render(endpoint, &results, &excluded, verbose);
    if code != 200 {
        for (name, r) in &results {
            if let Some(reason) = r {
                tracing::warn!(endpoint = endpoint.name(), check = name, %reason, "health check failed");
            }
        }
    }
    text(code, body)
}

async fn one_check(endpoint: Endpoint, check: String, h: web::Data<Health>) -> HttpResponse {
    if !endpoint.checks().contains(&check.as_str()) {
        return crate::server::not_found_response();
    }
    match h.run(&check).await {
        None => text(200, "ok".into()),
        Some(reason) => {
            tracing::warn!(endpoint = endpoint.name(), check, %reason, "health check failed");
            text(500, "internal server error: reason withheld\n".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_kube_1_33_shape() {
        let v = version_info();
        assert_eq!(v["major"], "1");
        assert_eq!(v["minor"], "33");
        assert!(v["gitVersion"]
            .as_str()
            .is_some_and(|s| s.starts_with("v1.33.")));
        for field in [
            "gitCommit",
            "gitTreeState",
            "buildDate",
            "goVersion",
            "compiler",
            "platform",
        ] {
            assert!(v[field].is_string(), "{field}");
        }
        assert!(v["platform"].as_str().is_some_and(|p| p.contains('/')));
    }

    #[test]
    fn render_quiet_ok_and_verbose_listing() {
        let ok = [("ping", None), ("etcd", None)];
        assert_eq!(
            render(Endpoint::Readyz, &ok, &[], false),
            (200, "ok".into())
        );
        let (code, body) = render(Endpoint::Readyz, &ok, &["log".into()], true);
        assert_eq!(code, 200);
        assert_eq!(
            body,
            "[+]ping ok\n[+]etcd ok\n[+]log excluded: ok\nreadyz check passed\n"
        );
    }

    #[test]
    fn render_failure_withholds_reason() {
        let bad = [
            ("ping", None),
            ("etcd", Some("connection refused".to_string())),
        ];
        let (code, body) = render(Endpoint::Livez, &bad, &[], false);
        assert_eq!(code, 500);
        assert_eq!(
            body,
            "[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed\n"
        );
        assert!(!body.contains("refused"));
    }
}
