//! What a request asks to do, in authorizer terms (upstream's `RequestInfo`
//! and `authorizer.Attributes`): a resource request (verb, group, version,
//! resource, subresource, namespace, name) or a non-resource request (verb
//! and path).

use std::borrow::Cow;

use super::User;

/// The authorizer's view of one request.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    pub user: &'a User,
    /// `get list watch create update patch delete deletecollection` for
    /// resources (or `impersonate`, ...); the lower-case HTTP method for
    /// non-resource paths.
    pub verb: Cow<'a, str>,
    pub resource_request: bool,
    pub group: &'a str,
    pub version: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: Cow<'a, str>,
    /// The URL path of a non-resource request.
    pub path: &'a str,
}

/// Path segments after which the next one is a namespace subresource, not a
/// resource (`/api/v1/namespaces/NAME/status`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

impl<'a> Attributes<'a> {
    /// A resource request's attributes (for access reviews and impersonation).
    #[allow(clippy::too_many_arguments)]
    pub fn resource(
        user: &'a User,
        verb: &'a str,
        group: &'a str,
        version: &'a str,
        resource: &'a str,
        subresource: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> Attributes<'a> {
        Attributes {
            user,
            verb: Cow::Borrowed(verb),
            resource_request: true,
            group,
            version,
            resource,
            subresource,
            namespace,
            name: Cow::Borrowed(name),
            path: "",
        }
    }

    /// A non-resource request's attributes.
    pub fn non_resource(user: &'a User, verb: &'a str, path: &'a str) -> Attributes<'a> {
        Attributes {
            user,
            verb: Cow::Borrowed(verb),
            resource_request: false,
            group: "",
            version: "",
            resource: "",
            subresource: "",
            namespace: "",
            name: Cow::Borrowed(""),
            path,
        }
    }

    /// Parses a request as upstream's `RequestInfoFactory` does.
    pub fn from_request(
        user: &'a User,
        method: &'a str,
        path: &'a str,
        query: &'a str,
    ) -> Attributes<'a> {
        let non_resource = || Attributes {
            verb: Cow::Owned(method.to_ascii_lowercase()),
            ..Attributes::non_resource(user, "", path)
        };
        let parts: Vec<&'a str> = path.trim_matches('/').split('/').collect();
        if parts.len() < 3 {
            return non_resource();
        }
        let (group, rest) = match parts[0] {
            "api" => ("", &parts[1..]),
            "apis" if parts.len() >= 4 => (parts[1], &parts[2..]),
            _ => return non_resource(),
        };
        let version = rest[0];
        let mut rest = &rest[1..];
        let mut verb: &str = match rest.first() {
            Some(&"watch") if rest.len() >= 2 => {
                rest = &rest[1..];
                "watch"
            }
            Some(&"proxy") if rest.len() >= 2 => {
                rest = &rest[1..];
                "proxy"
            }
            _ => match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            },
        };
        let mut namespace = "";
        if rest.first() == Some(&"namespaces") {
            if let Some(ns) = rest.get(1) {
                namespace = ns;
                if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
                    rest = &rest[2..];
                }
            }
        }
        let resource = rest.first().copied().unwrap_or("");
        let mut name: Cow<'a, str> = Cow::Borrowed(rest.get(1).copied().unwrap_or(""));
        let subresource = if rest.len() >= 3 && verb != "proxy" {
            rest[2]
        } else {
            ""
        };
        if name.is_empty() && verb == "get" {
            verb = if query_flag(query, "watch") {
                "watch"
            } else {
                "list"
            };
            if let Some(n) = exact_name(query) {
                name = Cow::Owned(n);
            }
        }
        if name.is_empty() && verb == "delete" {
            verb = "deletecollection";
        }
        Attributes {
            name,
            path,
            ..Attributes::resource(
                user,
                verb,
                group,
                version,
                resource,
                subresource,
                namespace,
                "",
            )
        }
    }

    /// `resource/subresource`, or the resource alone.
    pub fn combined_resource(&self) -> Cow<'a, str> {
        if self.subresource.is_empty() {
            Cow::Borrowed(self.resource)
        } else {
            Cow::Owned(format!("{}/{}", self.resource, self.subresource))
        }
    }

    /// Upstream's `forbiddenMessage`.
    pub fn forbidden_message(&self) -> String {
        let user = &self.user.name;
        if !self.resource_request {
            return format!("User {user:?} cannot {} path {:?}", self.verb, self.path);
        }
        let resource = self.combined_resource();
        if self.namespace.is_empty() {
            format!(
                "User {user:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
                self.verb, self.group
            )
        } else {
            format!(
                "User {user:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
                self.verb, self.group, self.namespace
            )
        }
    }
}

/// `?key=true` as Go's `strconv.ParseBool` reads it.
fn query_flag(query: &str, key: &str) -> bool {
    query.split('&').any(|kv| {
        kv.split_once('=').is_some_and(|(k, v)| {
            k == key && matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
        })
    })
}

/// The name a list's `fieldSelector=metadata.name=NAME` pins (upstream
/// authorizes such a list as one on that name).
fn exact_name(query: &str) -> Option<String> {
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector="))?;
    let decoded = percent_decode(raw)?;
    let selector = crate::selectors::FieldSelector::parse(&decoded).ok()?;
    let name = selector.requires_exact_match("metadata.name")?;
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('%');
    valid.then(|| name.to_string())
}

/// `%XX` and `+` decoding of a query value.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a>(u: &'a User, method: &'a str, path: &'a str, q: &'a str) -> Attributes<'a> {
        Attributes::from_request(u, method, path, q)
    }

    #[test]
    fn resource_requests_parse_as_upstream() {
        let u = User::anonymous();
        let a = parse(&u, "GET", "/api/v1/namespaces/default/pods", "");
        assert!(a.resource_request);
        assert_eq!(
            (a.verb.as_ref(), a.resource, a.namespace),
            ("list", "pods", "default")
        );
        let a = parse(&u, "GET", "/api/v1/namespaces/default/pods", "watch=true");
        assert_eq!(a.verb, "watch");
        let a = parse(&u, "GET", "/api/v1/watch/namespaces/default/pods", "");
        assert_eq!((a.verb.as_ref(), a.resource), ("watch", "pods"));
        let a = parse(&u, "DELETE", "/apis/apps/v1/namespaces/x/deployments", "");
        assert_eq!((a.verb.as_ref(), a.group), ("deletecollection", "apps"));
        let a = parse(&u, "POST", "/api/v1/namespaces/x/pods/web/eviction", "");
        assert_eq!(
            (a.verb.as_ref(), a.name.as_ref(), a.subresource),
            ("create", "web", "eviction")
        );
        let a = parse(&u, "PUT", "/api/v1/namespaces/x/finalize", "");
        assert_eq!(
            (a.resource, a.name.as_ref(), a.subresource, a.namespace),
            ("namespaces", "x", "finalize", "x")
        );
        let a = parse(&u, "GET", "/api/v1/namespaces/x", "");
        assert_eq!(
            (a.verb.as_ref(), a.resource, a.name.as_ref()),
            ("get", "namespaces", "x")
        );
        let a = parse(&u, "GET", "/api/v1/namespaces", "");
        assert_eq!(
            (a.verb.as_ref(), a.resource, a.namespace),
            ("list", "namespaces", "")
        );
        let a = parse(
            &u,
            "GET",
            "/api/v1/namespaces/a/pods",
            "fieldSelector=metadata.name%3Dweb&watch=1",
        );
        assert_eq!((a.verb.as_ref(), a.name.as_ref()), ("watch", "web"));
        // A named GET stays a get, even with ?watch (upstream).
        let a = parse(&u, "GET", "/api/v1/namespaces/a/pods/web", "watch=true");
        assert_eq!(a.verb, "get");
        let a = parse(
            &u,
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/d/scale",
            "",
        );
        assert_eq!(
            (a.verb.as_ref(), a.combined_resource().as_ref()),
            ("patch", "deployments/scale")
        );
    }

    #[test]
    fn other_paths_are_non_resource_requests() {
        let u = User::anonymous();
        for p in [
            "/",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/healthz",
            "/openapi/v2",
            "/version",
        ] {
            let a = parse(&u, "GET", p, "");
            assert!(!a.resource_request, "{p}");
            assert_eq!(a.verb, "get");
            assert_eq!(a.path, p);
        }
        assert_eq!(parse(&u, "POST", "/metrics", "").verb, "post");
    }
}
