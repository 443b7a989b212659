//! `/metrics`: a Prometheus registry with kube-apiserver's request metrics
//! (`apiserver_request_total`, `apiserver_request_duration_seconds`) and a few
//! process metrics, and the middleware that counts every request.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The labels kube-apiserver puts on its request metrics (minus `component`
/// and `dry_run`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub scope: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
}

/// What a request path says about the resource it addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Upper-case verb as upstream's metrics spell it: GET, LIST, WATCH, POST,
    /// PUT, PATCH, APPLY, DELETE, DELETECOLLECTION; or the HTTP method for
    /// non-resource paths.
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    /// `cluster`, `namespace`, `resource` (named object), or empty.
    pub scope: String,
}

impl RequestInfo {
    /// Parse `/api/v1/...` and `/apis/{group}/{version}/...` paths.
    pub fn parse(method: &str, path: &str, query: &str, content_type: &str) -> RequestInfo {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version, rest) = match parts.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => {
                return RequestInfo {
                    verb: method.to_string(),
                    ..Default::default()
                }
            }
        };
        let (namespaced, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() && !ns.is_empty() => (true, rest),
            _ => (false, rest),
        };
        let (resource, name, subresource) = match rest {
            [] => ("", None, ""),
            [resource] => (*resource, None, ""),
            [resource, name] => (*resource, Some(*name), ""),
            [resource, name, sub, ..] => (*resource, Some(*name), *sub),
        };
        let watch = query
            .split('&')
            .any(|kv| kv == "watch=true" || kv == "watch=1");
        let verb = match (method, name.is_some()) {
            ("GET", _) if watch => "WATCH",
            ("GET", true) => "GET",
            ("GET", false) => "LIST",
            ("POST", _) => "POST",
            ("PUT", _) => "PUT",
            ("PATCH", _) if content_type.starts_with("application/apply-patch") => "APPLY",
            ("PATCH", _) => "PATCH",
            ("DELETE", true) => "DELETE",
            ("DELETE", false) => "DELETECOLLECTION",
            (other, _) => other,
        };
        let scope = if resource.is_empty() {
            ""
        } else if name.is_some() {
            "resource"
        } else if namespaced {
            "namespace"
        } else {
            "cluster"
        };
        RequestInfo {
            verb: verb.to_string(),
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            scope: scope.to_string(),
        }
    }
}

/// The server's metrics. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
    resident_memory: Gauge<i64>,
    virtual_memory: Gauge<i64>,
    open_fds: Gauge<i64>,
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Self::with_extra(|_| {})
    }

    /// The server's metrics plus whatever `extra` registers (the
    /// controllers' metrics when they run in this process).
    pub fn with_extra(extra: impl FnOnce(&mut Registry)) -> Metrics {
        let mut registry = Registry::default();
        extra(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code",
            requests.clone(),
        );
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component",
            durations.clone(),
        );
        let start = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        start.set(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            start,
        );
        let resident_memory = Gauge::<i64>::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_memory.clone(),
        );
        let virtual_memory = Gauge::<i64>::default();
        registry.register(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            virtual_memory.clone(),
        );
        let open_fds = Gauge::<i64>::default();
        registry.register(
            "process_open_fds",
            "Number of open file descriptors",
            open_fds.clone(),
        );
        let cpu_seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            cpu_seconds.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                durations,
                resident_memory,
                virtual_memory,
                open_fds,
                cpu_seconds,
            }),
        }
    }

    /// Count one finished request.
    pub fn observe(&self, info: &RequestInfo, code: u16, started: Instant) {
        let labels = RequestLabels {
            verb: info.verb.clone(),
            group: info.group.clone(),
            version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            scope: info.scope.clone(),
            code: code.to_string(),
        };
        self.inner.requests.get_or_create(&labels).inc();
        // Watches last as long as the client wants: upstream leaves them out
        // of the latency histogram too.
        if info.verb != "WATCH" {
            let labels = DurationLabels {
                verb: labels.verb,
                group: labels.group,
                version: labels.version,
                resource: labels.resource,
                subresource: labels.subresource,
                scope: labels.scope,
            };
            self.inner
                .durations
                .get_or_create(&labels)
                .observe(started.elapsed().as_secs_f64());
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        self.refresh_process();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }

    /// Read /proc/self (Linux) into the process gauges; elsewhere they stay 0.
    fn refresh_process(&self) {
        let page = 4096i64;
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            let mut it = statm
                .split_whitespace()
                .map(|v| v.parse::<i64>().unwrap_or(0));
            let size = it.next().unwrap_or(0);
            let resident = it.next().unwrap_or(0);
            self.inner.virtual_memory.set(size * page);
            self.inner.resident_memory.set(resident * page);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.inner.open_fds.set(fds.count() as i64);
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the parenthesised command name; utime and stime are
            // fields 14 and 15 overall, in clock ticks (100 per second on Linux).
            if let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) {
                let fields: Vec<&str> = after.split_whitespace().collect();
                let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
                if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
                    let total = (u + s) / 100.0;
                    let delta = total - self.inner.cpu_seconds.get();
                    if delta > 0.0 {
                        self.inner.cpu_seconds.inc_by(delta);
                    }
                }
            }
        }
    }
}

/// Content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_paths() {
        let i = RequestInfo::parse("GET", "/api/v1/namespaces/default/pods", "", "");
        assert_eq!(
            (i.verb.as_str(), i.resource.as_str(), i.scope.as_str()),
            ("LIST", "pods", "namespace")
        );
        let i = RequestInfo::parse("GET", "/apis/apps/v1/namespaces/ns/deployments/web", "", "");
        assert_eq!(i.group, "apps");
        assert_eq!(i.verb, "GET");
        assert_eq!(i.scope, "resource");
        let i = RequestInfo::parse("GET", "/api/v1/namespaces", "watch=true", "");
        assert_eq!(
            (i.verb.as_str(), i.resource.as_str()),
            ("WATCH", "namespaces")
        );
        let i = RequestInfo::parse("GET", "/api/v1/namespaces/default", "", "");
        assert_eq!(
            (i.resource.as_str(), i.verb.as_str()),
            ("namespaces", "GET")
        );
        let i = RequestInfo::parse(
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/web/status",
            "",
            "application/apply-patch+yaml",
        );
        assert_eq!(
            (i.verb.as_str(), i.subresource.as_str()),
            ("APPLY", "status")
        );
        let i = RequestInfo::parse("DELETE", "/api/v1/namespaces/ns/configmaps", "", "");
        assert_eq!(i.verb, "DELETECOLLECTION");
        let i = RequestInfo::parse("GET", "/healthz", "", "");
        assert_eq!((i.verb.as_str(), i.resource.as_str()), ("GET", ""));
    }

    #[test]
    fn counts_requests_by_code() {
        let m = Metrics::new();
        let info = RequestInfo::parse("GET", "/api/v1/namespaces/default/configmaps", "", "");
        m.observe(&info, 200, Instant::now());
        m.observe(&info, 200, Instant::now());
        m.observe(&info, 404, Instant::now());
        let text = m.render();
        let line = |code: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with("apiserver_request_total{")
                        && l.contains(&format!("code=\"{code}\""))
                })
                .map(str::to_string)
        };
        assert!(line("200").expect("200 line").ends_with(" 2"), "{text}");
        assert!(line("404").expect("404 line").ends_with(" 1"), "{text}");
        assert!(text.contains("resource=\"configmaps\""));
        assert!(text.contains("process_start_time_seconds"));
        assert!(text.ends_with("# EOF\n"));
    }
}
