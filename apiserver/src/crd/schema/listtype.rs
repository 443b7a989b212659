//! The uniqueness invariants of `x-kubernetes-list-type: set` and `map`
//! lists (apiextensions' `schema/listtype`). Paths use `field.Path`
//! notation: `spec.ports[1]`, `spec.byName[key]`.

use super::goval;
use super::node::Schema;
use crate::strategy::{ErrorKind, FieldError};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// `ValidateListSetsAndMaps(nil, s, obj)`.
pub fn validate(path: &str, s: &Schema, obj: &Map<String, Value>) -> Vec<FieldError> {
    let mut out = Vec::new();
    if let Some(add) = s.additional_schema() {
        for (k, v) in obj {
            out.extend(value(&format!("{path}[{k}]"), add, v));
        }
    }
    for (k, v) in obj {
        if let Some(prop) = s.properties.get(k) {
            out.extend(value(&super::embedded::child(path, k), prop, v));
        }
    }
    out
}

fn value(path: &str, s: &Schema, v: &Value) -> Vec<FieldError> {
    match v {
        Value::Array(items) => array(path, s, items),
        Value::Object(m) => validate(path, s, m),
        _ => Vec::new(),
    }
}

fn array(path: &str, s: &Schema, items: &[Value]) -> Vec<FieldError> {
    let mut out = Vec::new();
    match s.list_type() {
        Some("set") => {
            for i in non_unique(items) {
                out.push(goval::error(
                    ErrorKind::Duplicate,
                    &format!("{path}[{i}]"),
                    Some(&items[i]),
                    "",
                ));
            }
        }
        Some("map") => out.extend(list_map(path, s, items)),
        _ => {}
    }
    if let Some(item) = &s.items {
        for (i, v) in items.iter().enumerate() {
            out.extend(value(&format!("{path}[{i}]"), item, v));
        }
    }
    out
}

/// Indices of the second appearance of every repeated element.
fn non_unique(items: &[Value]) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let key = x.to_string();
        let times = seen.entry(key).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn list_map(path: &str, s: &Schema, items: &[Value]) -> Vec<FieldError> {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            return vec![goval::error(
                ErrorKind::Invalid,
                &format!("{path}[{i}]"),
                Some(x),
                "must be an object for an array of list-type map",
            )];
        }
    }
    if items.len() <= 1 {
        return Vec::new();
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            for k in s.list_map_keys() {
                if let Some(v) = x.get(k) {
                    key.insert(k.clone(), v.clone());
                }
            }
            Value::Object(key)
        })
        .collect();
    non_unique(&keys)
        .into_iter()
        .map(|i| {
            goval::error(
                ErrorKind::Duplicate,
                &format!("{path}[{i}]"),
                Some(&keys[i]),
                "",
            )
        })
        .collect()
}
