//! Pruning: removing fields the schema does not declare (apiextensions'
//! `schema/pruning`), recording their paths as strict field validation
//! reports them (`spec.foo`, `spec.items[0].bar`, `spec.map.key.bar`).

use super::embedded;
use super::node::{Additional, Schema};
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// What a pruning pass carries: the current path, the removed paths, and
/// whether embedded resources' metadata is coerced too.
struct Pass {
    parent: Vec<String>,
    removed: Vec<String>,
    coerce_meta: bool,
    /// The top level is a resource: its apiVersion, kind and metadata stay.
    resource_root: bool,
}

impl Pass {
    fn record(&mut self, field: &str) {
        let mut p = self.parent.clone();
        p.push(field.to_string());
        self.removed.push(p.join("."));
    }

    /// Runs `f` with `[i]` appended to the last path element (upstream's
    /// `AppendIndex`; nothing is appended at the root).
    fn with_index(&mut self, i: usize, f: impl FnOnce(&mut Pass)) {
        let saved = self.parent.last().cloned();
        if let Some(last) = self.parent.last_mut() {
            last.push_str(&format!("[{i}]"));
        }
        f(self);
        if let (Some(saved), Some(last)) = (saved, self.parent.last_mut()) {
            *last = saved;
        }
    }

    fn with_key(&mut self, k: &str, f: impl FnOnce(&mut Pass)) {
        self.parent.push(k.to_string());
        f(self);
        self.parent.pop();
    }
}

/// Prunes `x` against `s`; `resource_root` treats `x` as a resource (its
/// apiVersion, kind and metadata are kept); `coerce_meta` also prunes the
/// metadata of embedded resources to ObjectMeta (upstream's `Coerce`).
/// Returns the removed paths.
pub fn prune(x: &mut Value, s: &Schema, resource_root: bool, coerce_meta: bool) -> Vec<String> {
    let mut pass = Pass {
        parent: Vec::new(),
        removed: Vec::new(),
        coerce_meta,
        resource_root,
    };
    walk(x, Some(s), &mut pass, true);
    pass.removed
}

/// The schema a field of an object is pruned with: `Some(None)` prunes
/// everything below (`additionalProperties` without a schema), `None`
/// removes the field.
fn field_schema<'a>(s: &'a Schema, k: &str) -> Option<Option<&'a Schema>> {
    match (s.properties.get(k), &s.additional_properties) {
        (Some(p), _) => Some(Some(p)),
        (None, Some(Additional::Schema(a))) => Some(Some(a.as_ref())),
        (None, Some(Additional::Bool(_))) => Some(None),
        (None, None) => None,
    }
}

fn coerce(m: &mut serde_json::Map<String, Value>, s: &Schema, pass: &mut Pass, root: bool) {
    if s.embedded_resource && !root && pass.coerce_meta {
        let unknown = embedded::coerce(&pass.parent.join("."), m);
        pass.removed.extend(unknown);
    }
}

fn walk(x: &mut Value, s: Option<&Schema>, pass: &mut Pass, root: bool) {
    if let Some(s) = s.filter(|s| s.preserves_unknown()) {
        skip(x, s, pass, root);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    pass.record(k);
                }
                m.clear();
                return;
            };
            coerce(m, s, pass, root);
            let embedded = s.embedded_resource || (root && pass.resource_root);
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                match field_schema(s, &k) {
                    Some(sub) => {
                        if let Some(v) = m.get_mut(&k) {
                            pass.with_key(&k, |pass| walk(v, sub, pass, false));
                        }
                    }
                    None => {
                        if !META_FIELDS.contains(&k.as_str()) || !pass.parent.is_empty() {
                            pass.record(&k);
                        }
                        m.remove(&k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item = s.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                pass.with_index(i, |pass| walk(v, item, pass, false));
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown fields stay, known
/// ones are pruned by their own schema.
fn skip(x: &mut Value, s: &Schema, pass: &mut Pass, root: bool) {
    match x {
        Value::Object(m) => {
            coerce(m, s, pass, root);
            let embedded = s.embedded_resource || (root && pass.resource_root);
            for (k, v) in m.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(sub) = field_schema(s, k) {
                    pass.with_key(k, |pass| walk(v, sub, pass, false));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    pass.with_index(i, |pass| skip(v, item, pass, false));
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
