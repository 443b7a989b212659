//! JSON values as CEL values, typed by their schema, as upstream's
//! `UnstructuredToVal`: `integer` → int, `number` → double,
//! int-or-string → int or string, strings of format `byte`, `duration`,
//! `date`/`date-time` → bytes, duration, timestamp; objects with
//! `properties` → maps keyed by the escaped property names (absent fields
//! absent, so `has()` is false), `additionalProperties` → maps, arrays →
//! lists (sets in a canonical order, as upstream compares them regardless
//! of order). At a resource root (and an embedded resource), `apiVersion`,
//! `kind` and `metadata.name`/`metadata.generateName` are visible.

use super::schema::{self, Node};
use cel::common::types::CelString;
use cel::common::value::CowVal;
use cel::objects::{Key, Map};
use cel::{Env, Value};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

/// `json` as a CEL value typed by `node`; `resource_root` adds the
/// resource fields.
pub(super) fn to_value(env: &Env, json: &Json, node: Node<'_>, resource_root: bool) -> Value {
    if node.int_or_string() {
        return scalar(json);
    }
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match node.type_name() {
            "number" => Value::Float(n.as_f64().unwrap_or_default()),
            _ => number(n),
        },
        Json::String(s) => string(env, s, node.format()),
        Json::Array(items) => {
            let item = node.items();
            let mut list: Vec<Value> = items
                .iter()
                .map(|v| match item {
                    Some(n) => to_value(env, v, n, n.embedded()),
                    None => scalar(v),
                })
                .collect();
            if node.list_type() == "set" {
                // upstream compares sets regardless of order: keep them in
                // one canonical order so `==` does too
                list.sort_by(|a, b| {
                    super::library::compare(a, b)
                        .unwrap_or_else(|| format!("{a:?}").cmp(&format!("{b:?}")))
                });
            }
            Value::List(Arc::new(list))
        }
        Json::Object(fields) => {
            let mut map: HashMap<Key, Value> = HashMap::new();
            if let Some(ap) = node.additional_properties() {
                for (k, v) in fields {
                    map.insert(key(k), to_value(env, v, ap, ap.embedded()));
                }
            } else {
                for (k, v) in fields {
                    let Some(prop) = node.property(k) else {
                        continue;
                    };
                    if !prop.typed() {
                        continue;
                    }
                    if let Some(name) = schema::escape(k) {
                        map.insert(key(&name), to_value(env, v, prop, prop.embedded()));
                    }
                }
            }
            if resource_root {
                for f in ["apiVersion", "kind"] {
                    if let Some(Json::String(s)) = fields.get(f) {
                        map.insert(key(f), Value::String(Arc::new(s.clone())));
                    }
                }
                let mut meta: HashMap<Key, Value> = HashMap::new();
                if let Some(Json::Object(m)) = fields.get("metadata") {
                    for f in ["name", "generateName"] {
                        if let Some(Json::String(s)) = m.get(f) {
                            meta.insert(key(f), Value::String(Arc::new(s.clone())));
                        }
                    }
                    map.insert(
                        key("metadata"),
                        Value::Map(Map {
                            map: Arc::new(meta),
                        }),
                    );
                }
            }
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

fn key(k: &str) -> Key {
    Key::String(Arc::new(k.to_string()))
}

fn number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::UInt(u)
    } else {
        let f = n.as_f64().unwrap_or_default();
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            Value::Int(f as i64)
        } else {
            Value::Float(f)
        }
    }
}

/// A value without a schema: JSON's own types.
fn scalar(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number(n),
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(a) => Value::List(Arc::new(a.iter().map(scalar).collect())),
        Json::Object(o) => Value::Map(Map {
            map: Arc::new(o.iter().map(|(k, v)| (key(k), scalar(v))).collect()),
        }),
    }
}

/// A string by its format; one that does not parse stays a string.
fn string(env: &Env, s: &str, format: &str) -> Value {
    let plain = || Value::String(Arc::new(s.to_string()));
    let (function, text) = match format {
        "duration" => ("duration", s.to_string()),
        "date-time" => ("timestamp", s.to_string()),
        "date" => ("timestamp", format!("{s}T00:00:00Z")),
        "byte" => return decode_base64(s).map_or_else(plain, |b| Value::Bytes(Arc::new(b))),
        _ => return plain(),
    };
    let args = vec![CowVal::owned(CelString::from(text))];
    let Some(f) = env.find_overload(function, &args) else {
        return plain();
    };
    match f(args) {
        Ok(v) => Value::try_from(v.as_ref()).unwrap_or_else(|_| plain()),
        Err(_) => plain(),
    }
}

/// Standard base64 (with or without padding), as JSON carries `[]byte`.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}
