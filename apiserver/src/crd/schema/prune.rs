//! Pruning: removing fields the schema does not declare (apiextensions'
//! `schema/pruning`), recording their paths as strict field validation
//! reports them (`spec.foo`, `spec.items[0].bar`, `spec.map.key.bar`).

use super::embedded;
use super::node::{Additional, Schema};
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Prunes `x` against `s`; `resource_root` treats `x` as a resource (its
/// apiVersion, kind and metadata are kept). Returns the removed paths.
pub fn prune(x: &mut Value, s: &Schema, resource_root: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut parent = Vec::new();
    if resource_root && !s.embedded_resource {
        let mut root = s.clone();
        root.embedded_resource = true;
        walk(x, Some(&root), &mut parent, &mut out, true);
    } else {
        walk(x, Some(s), &mut parent, &mut out, true);
    }
    out
}

fn record(parent: &[String], field: &str, out: &mut Vec<String>) {
    let mut p = parent.to_vec();
    p.push(field.to_string());
    out.push(p.join("."));
}

fn walk(
    x: &mut Value,
    s: Option<&Schema>,
    parent: &mut Vec<String>,
    out: &mut Vec<String>,
    root: bool,
) {
    if let Some(s) = s.filter(|s| s.preserves_unknown()) {
        skip(x, s, parent, out, root);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    record(parent, k, out);
                }
                m.clear();
                return;
            };
            if s.embedded_resource && !root {
                out.extend(embedded::coerce(&parent.join("."), m));
            }
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let sub = match (s.properties.get(&k), &s.additional_properties) {
                    (Some(p), _) => Some(Some(p)),
                    (None, Some(Additional::Schema(a))) => Some(Some(a.as_ref())),
                    (None, Some(Additional::Bool(_))) => Some(None),
                    (None, None) => None,
                };
                match sub {
                    Some(sub) => {
                        if let Some(v) = m.get_mut(&k) {
                            parent.push(k.clone());
                            walk(v, sub, parent, out, false);
                            parent.pop();
                        }
                    }
                    None => {
                        if !META_FIELDS.contains(&k.as_str()) || !parent.is_empty() {
                            record(parent, &k, out);
                        }
                        m.remove(&k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item = s.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                with_index(parent, i, |parent| walk(v, item, parent, out, false));
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown fields stay, known
/// ones are pruned by their own schema.
fn skip(x: &mut Value, s: &Schema, parent: &mut Vec<String>, out: &mut Vec<String>, root: bool) {
    match x {
        Value::Object(m) => {
            if s.embedded_resource && !root {
                out.extend(embedded::coerce(&parent.join("."), m));
            }
            for (k, v) in m.iter_mut() {
                if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let sub = match (s.properties.get(k), &s.additional_properties) {
                    (Some(p), _) => Some(Some(p)),
                    (None, Some(Additional::Schema(a))) => Some(Some(a.as_ref())),
                    (None, Some(Additional::Bool(_))) => Some(None),
                    (None, None) => None,
                };
                if let Some(sub) = sub {
                    parent.push(k.clone());
                    walk(v, sub, parent, out, false);
                    parent.pop();
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    with_index(parent, i, |parent| skip(v, item, parent, out, false));
                }
            }
        }
        _ => {}
    }
}

/// `PruneNonNullableNullsWithoutDefaults`: drops `null`s whose schema is
/// neither nullable nor defaulted (nulls with a default are defaulted
/// later). Not reported as unknown fields.
pub fn prune_nulls(x: &mut Value, s: Option<&Schema>) {
    match x {
        Value::Object(m) => {
            let field_schema = |k: &str| -> Option<&Schema> {
                let s = s?;
                s.properties.get(k).or_else(|| s.additional_schema())
            };
            m.retain(|k, v| {
                let fs = field_schema(k);
                let drop = v.is_null()
                    && fs.is_some_and(|fs| {
                        !fs.nullable && fs.default.as_ref().is_none_or(Value::is_null)
                    });
                if !drop {
                    prune_nulls(v, fs);
                }
                !drop
            });
        }
        Value::Array(items) => {
            let item = s.and_then(|s| s.items.as_deref());
            for v in items.iter_mut() {
                prune_nulls(v, item);
            }
        }
        _ => {}
    }
}

/// Runs `f` with `[i]` appended to the last path element (upstream's
/// `AppendIndex`; nothing is appended at the root).
fn with_index(parent: &mut Vec<String>, i: usize, f: impl FnOnce(&mut Vec<String>)) {
    match parent.last_mut() {
        Some(last) => {
            let saved = last.clone();
            last.push_str(&format!("[{i}]"));
            f(parent);
            if let Some(last) = parent.last_mut() {
                *last = saved;
            }
        }
        None => f(parent),
    }
}
