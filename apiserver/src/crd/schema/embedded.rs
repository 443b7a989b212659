//! Embedded resources (`x-kubernetes-embedded-resource`): their TypeMeta
//! and ObjectMeta, as apiextensions' `schema/objectmeta` validates and
//! coerces them.

use super::goval;
use super::node::Schema;
use crate::strategy::{names, validate_object_meta, ErrorKind, FieldError};
use serde_json::{Map, Value};

/// The fields of `metav1.ObjectMeta` with the Go type upstream's JSON
/// decoding expects.
const OBJECT_META: &[(&str, MetaType)] = &[
    ("name", MetaType::Str),
    ("generateName", MetaType::Str),
    ("namespace", MetaType::Str),
    ("selfLink", MetaType::Str),
    ("uid", MetaType::Str),
    ("resourceVersion", MetaType::Str),
    ("generation", MetaType::Int),
    ("creationTimestamp", MetaType::Time),
    ("deletionTimestamp", MetaType::Time),
    ("deletionGracePeriodSeconds", MetaType::Int),
    ("labels", MetaType::StrMap),
    ("annotations", MetaType::StrMap),
    ("ownerReferences", MetaType::List("[]v1.OwnerReference")),
    ("finalizers", MetaType::StrList),
    ("managedFields", MetaType::List("[]v1.ManagedFieldsEntry")),
];

#[derive(Clone, Copy)]
enum MetaType {
    Str,
    Int,
    Time,
    StrMap,
    StrList,
    List(&'static str),
}

pub fn child(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

/// `schemaobjectmeta.Validate(nil, obj, s, false)`: apiVersion, kind and
/// metadata of every embedded resource in `x`.
pub fn validate(path: &str, x: &Value, s: &Schema) -> Vec<FieldError> {
    let mut out = Vec::new();
    match x {
        Value::Object(m) => {
            if s.embedded_resource {
                out.extend(validate_resource(path, m));
            }
            for (k, v) in m {
                if let Some(prop) = s.properties.get(k) {
                    out.extend(validate(&child(path, k), v, prop));
                } else if let Some(add) = s.additional_schema() {
                    out.extend(validate(&format!("{path}[{k}]"), v, add));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for (i, v) in items.iter().enumerate() {
                    out.extend(validate(&format!("{path}[{i}]"), v, item));
                }
            }
        }
        _ => {}
    }
    out
}

fn validate_resource(path: &str, m: &Map<String, Value>) -> Vec<FieldError> {
    let mut out = Vec::new();
    for k in ["apiVersion", "kind"] {
        if !m.contains_key(k) {
            out.push(FieldError::required(&child(path, k), ""));
        }
    }
    if let Some(v) = m.get("apiVersion") {
        let field = child(path, "apiVersion");
        match v.as_str() {
            None => out.push(goval::error(
                ErrorKind::Invalid,
                &field,
                Some(v),
                "must be a string",
            )),
            Some("") => out.push(goval::error(
                ErrorKind::Invalid,
                &field,
                Some(v),
                "must not be empty",
            )),
            Some(gv) if gv != "/" && gv.matches('/').count() > 1 => out.push(goval::error(
                ErrorKind::Invalid,
                &field,
                Some(v),
                format!("unexpected GroupVersion string: {gv}"),
            )),
            Some(_) => {}
        }
    }
    if let Some(v) = m.get("kind") {
        let field = child(path, "kind");
        match v.as_str() {
            None => out.push(goval::error(
                ErrorKind::Invalid,
                &field,
                Some(v),
                "must be a string",
            )),
            Some("") => out.push(goval::error(
                ErrorKind::Invalid,
                &field,
                Some(v),
                "must not be empty",
            )),
            Some(kind) => {
                let errs = names::dns1035_label(&kind.to_lowercase());
                if !errs.is_empty() {
                    out.push(goval::error(
                        ErrorKind::Invalid,
                        &field,
                        Some(v),
                        format!(
                            "may have mixed case, but should otherwise match: {}",
                            errs.join(",")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(meta) = m.get("metadata") {
        let field = child(path, "metadata");
        if let Some(err) = meta_decode_error(meta) {
            out.push(goval::error(ErrorKind::Invalid, &field, Some(meta), err));
        } else {
            let mut meta = meta.clone();
            if let Some(mm) = meta.as_object_mut() {
                if mm
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    // upstream sets a name to avoid an error
                    mm.insert("name".into(), Value::from("fakename"));
                }
            }
            let namespaced = meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let wrapper = serde_json::json!({ "metadata": meta });
            for mut e in validate_object_meta(&wrapper, namespaced, names::path_segment_name) {
                if let Some(rest) = e.field.strip_prefix("metadata") {
                    e.field = format!("{field}{rest}");
                }
                out.push(e);
            }
        }
    }
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode_error(v: &Value, field: &str, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go struct field ObjectMeta.{field} of type {go_type}",
        json_type(v)
    )
}

/// Why `metadata` does not decode into `metav1.ObjectMeta`, if it does not
/// (in Go's `encoding/json` wording; upstream uses json-iterator, whose
/// text differs).
pub fn meta_decode_error(meta: &Value) -> Option<String> {
    let Some(m) = meta.as_object() else {
        if meta.is_null() {
            return None;
        }
        return Some(format!(
            "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
            json_type(meta)
        ));
    };
    for (k, t) in OBJECT_META {
        let Some(v) = m.get(*k) else { continue };
        if let Some(e) = field_error(v, k, *t) {
            return Some(e);
        }
    }
    None
}

fn field_error(v: &Value, k: &str, t: MetaType) -> Option<String> {
    if v.is_null() {
        return None;
    }
    match t {
        MetaType::Str | MetaType::Time => (!v.is_string()).then(|| decode_error(v, k, "string")),
        MetaType::Int => (v.as_i64().is_none()).then(|| decode_error(v, k, "int64")),
        MetaType::StrMap => match v {
            Value::Object(m) => m
                .values()
                .find(|x| !x.is_string() && !x.is_null())
                .map(|x| decode_error(x, k, "string")),
            _ => Some(decode_error(v, k, "map[string]string")),
        },
        MetaType::StrList => match v {
            Value::Array(a) => a
                .iter()
                .find(|x| !x.is_string() && !x.is_null())
                .map(|x| decode_error(x, k, "string")),
            _ => Some(decode_error(v, k, "[]string")),
        },
        MetaType::List(go) => match v {
            Value::Array(a) => a
                .iter()
                .find(|x| !x.is_object() && !x.is_null())
                .map(|x| decode_error(x, k, go.trim_start_matches("[]"))),
            _ => Some(decode_error(v, k, go)),
        },
    }
}

/// Coerces an embedded resource's TypeMeta and ObjectMeta as upstream's
/// `Coerce` with `dropInvalidFields`: non-string apiVersion/kind are
/// dropped, metadata keeps only well-typed ObjectMeta fields (nulls and
/// empty values dropped as a round trip through the Go type does). Returns
/// the unknown metadata fields (`<path>.metadata.<field>`).
pub fn coerce(path: &str, m: &mut Map<String, Value>) -> Vec<String> {
    let mut unknown = Vec::new();
    for k in ["apiVersion", "kind"] {
        if m.get(k).is_some_and(|v| !v.is_string()) {
            m.remove(k);
        }
    }
    let Some(meta) = m.get_mut("metadata") else {
        return unknown;
    };
    let Some(mm) = meta.as_object_mut() else {
        // not an object: upstream passes it through
        return unknown;
    };
    let keys: Vec<String> = mm.keys().cloned().collect();
    let meta_path = child(path, "metadata");
    for k in keys {
        let Some(t) = OBJECT_META.iter().find(|(n, _)| *n == k).map(|(_, t)| *t) else {
            unknown.push(child(&meta_path, &k));
            mm.remove(&k);
            continue;
        };
        let drop = match mm.get(&k) {
            None | Some(Value::Null) => true,
            Some(v) => {
                field_error(v, &k, t).is_some()
                    || (is_empty(v) && k != "deletionGracePeriodSeconds")
            }
        };
        if drop {
            mm.remove(&k);
        }
    }
    unknown
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}
