//! Kubernetes' URL library: `url`, `isURL`, and on URLs `getScheme`,
//! `getHost`, `getHostname`, `getPort`, `getEscapedPath`, `getQuery`.
//!
//! Parsing follows Go's `url.ParseRequestURI`: an absolute URL
//! (`scheme://host/path?query`) or an absolute path (`/path`); fragments are
//! not allowed.

use super::{lift, no_overload};
use cel::common::types::{Type, STRING_TYPE};
use cel::objects::{Key, Map, Opaque};
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::collections::HashMap;
use std::sync::Arc;

const TYPE_NAME: &str = "kubernetes.URL";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        TYPE_NAME
    }
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let u = || Type::new_opaque_type(TYPE_NAME);
    env.add_overload("url", "string_to_url", vec![STRING_TYPE], to_url)?;
    env.add_overload("isURL", "is_url_string", vec![STRING_TYPE], is_url)?;
    env.add_member_overload("getScheme", "url_get_scheme", u(), vec![], get_scheme)?;
    env.add_member_overload("getHost", "url_get_host", u(), vec![], get_host)?;
    env.add_member_overload("getHostname", "url_get_hostname", u(), vec![], get_hostname)?;
    env.add_member_overload("getPort", "url_get_port", u(), vec![], get_port)?;
    env.add_member_overload(
        "getEscapedPath",
        "url_get_escaped_path",
        u(),
        vec![],
        get_path,
    )?;
    env.add_member_overload("getQuery", "url_get_query", u(), vec![], get_query)?;
    Ok(())
}

fn parse(s: &str) -> Option<Url> {
    if s.is_empty() || s.contains(char::is_whitespace) || s.contains('#') {
        return None;
    }
    let (rest, query) = s.split_once('?').unwrap_or((s, ""));
    if rest.starts_with('/') {
        return Some(Url {
            scheme: String::new(),
            host: String::new(),
            path: rest.to_string(),
            query: query.to_string(),
        });
    }
    let (scheme, after) = rest.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let (host, path) = match after.strip_prefix("//") {
        Some(authority) => {
            let (host, path) = match authority.find('/') {
                Some(i) => authority.split_at(i),
                None => (authority, ""),
            };
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            (host.to_string(), path.to_string())
        }
        None if after.starts_with('/') => (String::new(), after.to_string()),
        None => return None,
    };
    Some(Url {
        scheme: scheme.to_string(),
        host,
        path,
        query: query.to_string(),
    })
}

fn url_of(v: Option<&Value>, function: &str) -> Result<Url, ExecutionError> {
    match v {
        Some(Value::Opaque(o)) => o
            .downcast_ref::<Url>()
            .cloned()
            .ok_or_else(|| no_overload(function)),
        _ => Err(no_overload(function)),
    }
}

fn string(s: &str) -> Value {
    Value::String(Arc::new(s.to_string()))
}

/// Host and port of `host[:port]`, IPv6 literals in brackets.
fn split_host(host: &str) -> (&str, &str) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            return (h, p.strip_prefix(':').unwrap_or(""));
        }
    }
    host.rsplit_once(':').unwrap_or((host, ""))
}

lift!(to_url, |args| {
    match args.first() {
    Some(Value::String(s)) => parse(s).map(|u| Value::Opaque(Arc::new(u))).ok_or_else(|| {
        ExecutionError::function_error(
            "url",
            format!("URL parse error during conversion from string: parse {s:?}: invalid URI for request"),
        )
    }),
    _ => Err(no_overload("url")),
}
});

lift!(is_url, |args| match args.first() {
    Some(Value::String(s)) => Ok(Value::Bool(parse(s).is_some())),
    _ => Err(no_overload("isURL")),
});

lift!(get_scheme, |args| Ok(string(
    &url_of(args.first(), "getScheme")?.scheme
)));
lift!(get_host, |args| Ok(string(
    &url_of(args.first(), "getHost")?.host
)));
lift!(get_hostname, |args| {
    let u = url_of(args.first(), "getHostname")?;
    Ok(string(split_host(&u.host).0))
});
lift!(get_port, |args| {
    let u = url_of(args.first(), "getPort")?;
    Ok(string(split_host(&u.host).1))
});
lift!(get_path, |args| Ok(string(
    &url_of(args.first(), "getEscapedPath")?.path
)));
lift!(get_query, |args| {
    let u = url_of(args.first(), "getQuery")?;
    let mut out: HashMap<Key, Vec<Value>> = HashMap::new();
    for pair in u.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(Key::String(Arc::new(k.to_string())))
            .or_default()
            .push(string(v));
    }
    let map = out
        .into_iter()
        .map(|(k, v)| (k, Value::List(Arc::new(v))))
        .collect();
    Ok(Value::Map(Map { map: Arc::new(map) }))
});
