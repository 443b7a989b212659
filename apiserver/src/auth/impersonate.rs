//! Impersonation (upstream `pkg/endpoints/filters/impersonation.go`): the
//! `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
//! `Impersonate-Extra-KEY` headers make a request act as another user, when
//! the requester may `impersonate` each of them (`users`, `groups`,
//! `serviceaccounts`, `uids`, `userextras/KEY`).

use std::sync::Arc;

use actix_web::http::header::HeaderMap;

use super::attributes::Attributes;
use super::{Authz, User, ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED};
use crate::error::ApiError;

pub const USER_HEADER: &str = "impersonate-user";
pub const GROUP_HEADER: &str = "impersonate-group";
pub const UID_HEADER: &str = "impersonate-uid";
pub const EXTRA_PREFIX: &str = "impersonate-extra-";

/// Whether the request carries any impersonation header.
pub fn requested(headers: &HeaderMap) -> bool {
    headers.contains_key(USER_HEADER)
        || headers.contains_key(GROUP_HEADER)
        || headers.contains_key(UID_HEADER)
        || headers.keys().any(|k| k.as_str().starts_with(EXTRA_PREFIX))
}

/// One thing to impersonate (upstream builds `ObjectReference`s).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Request {
    /// Go's `%v` of the ObjectReference upstream builds (for its error text).
    fn go_value(&self) -> String {
        let (kind, ns, name, api_version, field) = match self {
            Request::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name.as_str(), "", "")
            }
            Request::User(n) => ("User", "", n.as_str(), "", ""),
            Request::Group(n) => ("Group", "", n.as_str(), "", ""),
            Request::Extra { key, value } => (
                "UserExtra",
                "",
                value.as_str(),
                "authentication.k8s.io/v1",
                key.as_str(),
            ),
            Request::Uid(n) => ("UID", "", n.as_str(), "authentication.k8s.io/v1", ""),
        };
        format!("{{{kind} {ns} {name}  {api_version}  {field}}}")
    }
}

fn header_values<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect()
}

fn build(headers: &HeaderMap) -> Result<Vec<Request>, ApiError> {
    let mut out = Vec::new();
    let user = headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !user.is_empty() {
        out.push(match super::split_service_account(user) {
            Some((ns, name)) => Request::ServiceAccount {
                namespace: ns.into(),
                name: name.into(),
            },
            None => Request::User(user.into()),
        });
    }
    for g in header_values(headers, GROUP_HEADER) {
        out.push(Request::Group(g.into()));
    }
    let mut extra_names: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with(EXTRA_PREFIX))
        .collect();
    extra_names.dedup();
    for header in extra_names {
        let key = unescape(&header[EXTRA_PREFIX.len()..]);
        for v in header_values(headers, header) {
            out.push(Request::Extra {
                key: key.clone(),
                value: v.into(),
            });
        }
    }
    let uid = headers
        .get(UID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !uid.is_empty() {
        out.push(Request::Uid(uid.into()));
    }
    if user.is_empty() && !out.is_empty() {
        let list: Vec<String> = out.iter().map(Request::go_value).collect();
        return Err(ApiError::new(
            500,
            "InternalError",
            format!(
                "Internal error occurred: requested [{}] without impersonating a user",
                list.join(" ")
            ),
        ));
    }
    Ok(out)
}

/// Extra keys are percent-encoded in header names (`Impersonate-Extra-a%2fb`).
fn unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i].to_ascii_lowercase());
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the requester may impersonate everything the headers ask for and
/// returns the impersonated user; 403 for the first thing it may not.
pub async fn apply(
    authz: &Authz,
    requester: Arc<User>,
    headers: &HeaderMap,
) -> Result<Arc<User>, ApiError> {
    let requests = build(headers)?;
    if requests.is_empty() {
        return Ok(requester);
    }
    let groups_specified = headers.contains_key(GROUP_HEADER);
    let mut user = User::default();
    for r in &requests {
        let (group, version, resource, sub, ns, name): (&str, &str, &str, &str, &str, &str) =
            match r {
                Request::ServiceAccount { namespace, name } => {
                    user.name = format!("{}{namespace}:{name}", super::SERVICE_ACCOUNT_PREFIX);
                    if !groups_specified {
                        user.groups = super::service_account_groups(namespace);
                    }
                    ("", "", "serviceaccounts", "", namespace, name)
                }
                Request::User(n) => {
                    user.name = n.clone();
                    ("", "", "users", "", "", n)
                }
                Request::Group(g) => {
                    user.groups.push(g.clone());
                    ("", "", "groups", "", "", g)
                }
                Request::Extra { key, value } => {
                    user.extra
                        .entry(key.clone())
                        .or_default()
                        .push(value.clone());
                    ("authentication.k8s.io", "v1", "userextras", key, "", value)
                }
                Request::Uid(u) => {
                    user.uid = u.clone();
                    ("authentication.k8s.io", "v1", "uids", "", "", u)
                }
            };
        let attrs = Attributes::resource(
            &requester,
            "impersonate",
            group,
            version,
            resource,
            sub,
            ns,
            name,
        );
        let decision = authz.authorize(&attrs).await;
        if !decision.allowed {
            return Err(super::forbidden(&attrs, &decision.reason));
        }
    }
    if user.name != ANONYMOUS {
        if !user.in_group(AUTHENTICATED) {
            user.groups.push(AUTHENTICATED.into());
        }
    } else if !user.in_group(UNAUTHENTICATED) {
        user.groups.push(UNAUTHENTICATED.into());
    }
    Ok(Arc::new(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn headers_become_requests() {
        let h = headers(&[
            ("impersonate-user", "system:serviceaccount:ns:bot"),
            ("impersonate-group", "a"),
            ("impersonate-group", "b"),
            ("impersonate-extra-scopes%2fx", "one"),
            ("impersonate-uid", "1234"),
        ]);
        assert!(requested(&h));
        let r = build(&h).expect("requests");
        assert_eq!(
            r,
            vec![
                Request::ServiceAccount {
                    namespace: "ns".into(),
                    name: "bot".into()
                },
                Request::Group("a".into()),
                Request::Group("b".into()),
                Request::Extra {
                    key: "scopes/x".into(),
                    value: "one".into()
                },
                Request::Uid("1234".into()),
            ]
        );
        assert!(!requested(&headers(&[("accept", "x")])));
    }

    #[test]
    fn groups_without_a_user_are_refused() {
        let e = build(&headers(&[("impersonate-group", "g")])).expect_err("no user");
        assert_eq!(
            e.message,
            "Internal error occurred: requested [{Group  g    }] without impersonating a user"
        );
    }
}
