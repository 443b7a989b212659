//! Object metadata validation shared by every kind
//! (`apimachinery/pkg/api/validation/objectmeta.go`).

use super::json::{self, str_at};
use super::{names, FieldError};
use serde_json::Value;

pub use names::NameFn;

/// upstream's `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// upstream's `IsNegativeErrorMsg`.
pub const IS_NEGATIVE: &str = "must be greater than or equal to 0";
/// `TotalAnnotationSizeLimitB`: 256 KiB.
pub const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

/// `ValidateObjectMeta` of `obj.metadata`.
pub fn validate_object_meta(
    obj: &Value,
    requires_namespace: bool,
    name_fn: NameFn,
) -> Vec<FieldError> {
    let empty = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&empty);
    validate_meta_at(meta, "metadata", requires_namespace, name_fn)
}

/// `ValidateObjectMeta` of a metadata object at `path`.
pub fn validate_meta_at(
    meta: &Value,
    path: &str,
    requires_namespace: bool,
    name_fn: NameFn,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let generate_name = str_at(meta, &["generateName"]);
    if !generate_name.is_empty() {
        for msg in name_fn(generate_name, true) {
            errs.push(FieldError::invalid(
                &json::child(path, "generateName"),
                generate_name,
                msg,
            ));
        }
    }
    let name = str_at(meta, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required(
            &json::child(path, "name"),
            "name or generateName is required",
        ));
    } else {
        for msg in name_fn(name, false) {
            errs.push(FieldError::invalid(&json::child(path, "name"), name, msg));
        }
    }
    let namespace = str_at(meta, &["namespace"]);
    if requires_namespace {
        if namespace.is_empty() {
            errs.push(FieldError::required(&json::child(path, "namespace"), ""));
        } else {
            for msg in names::name_is_dns_label(namespace, false) {
                errs.push(FieldError::invalid(
                    &json::child(path, "namespace"),
                    namespace,
                    msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            &json::child(path, "namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(g) = json::int_at(meta, &["generation"]) {
        if g < 0 {
            errs.push(FieldError::invalid(
                &json::child(path, "generation"),
                g,
                IS_NEGATIVE,
            ));
        }
    }
    errs.extend(validate_labels(
        meta.get("labels"),
        &json::child(path, "labels"),
    ));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        &json::child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.get("ownerReferences"),
        &json::child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.get("finalizers"),
        &json::child(path, "finalizers"),
    ));
    errs
}

/// `ValidateLabels`: keys are qualified names, values label values; errors
/// point at the map itself.
pub fn validate_labels(labels: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in json::string_map(labels) {
        errs.extend(validate_label_name(k, path));
        for msg in names::label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
    errs
}

/// `ValidateLabelName`.
pub fn validate_label_name(k: &str, path: &str) -> Vec<FieldError> {
    names::qualified_name(k)
        .into_iter()
        .map(|msg| FieldError::invalid(path, k, msg))
        .collect()
}

/// `ValidateAnnotations`: keys are qualified names (any case), total size
/// at most 256 KiB.
pub fn validate_annotations(annotations: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let pairs = json::string_map(annotations);
    let mut total = 0usize;
    for (k, v) in &pairs {
        for msg in names::qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, *k, msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE));
    }
    errs
}

/// `ValidateOwnerReferences`.
pub fn validate_owner_references(refs: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(list) = refs.and_then(Value::as_array) else {
        return errs;
    };
    let mut first_controller = String::new();
    for r in list {
        let api_version = str_at(r, &["apiVersion"]);
        let kind = str_at(r, &["kind"]);
        let version = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [v] => *v,
            [_, v] => *v,
            _ => "",
        };
        if version.is_empty() {
            errs.push(FieldError::invalid(
                &json::child(path, "apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(
                &json::child(path, "kind"),
                kind,
                "kind must not be empty",
            ));
        }
        let name = str_at(r, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::invalid(
                &json::child(path, "name"),
                name,
                "name must not be empty",
            ));
        }
        let uid = str_at(r, &["uid"]);
        if uid.is_empty() {
            errs.push(FieldError::invalid(
                &json::child(path, "uid"),
                uid,
                "uid must not be empty",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let cur = format!("{kind}/{name}");
            if first_controller.is_empty() {
                first_controller = cur;
            } else {
                errs.push(FieldError::invalid(
                    path,
                    Value::Array(list.clone()),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first_controller} and {cur}"),
                ));
            }
        }
    }
    errs
}

/// `ValidateFinalizers`.
pub fn validate_finalizers(finalizers: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let list: Vec<&str> = finalizers
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for f in &list {
        for msg in names::qualified_name(f) {
            errs.push(FieldError::invalid(path, *f, msg));
        }
    }
    if list.contains(&"orphan") && list.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(list.clone()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// `ValidateImmutableField` for a JSON value (absent and null are equal).
pub fn immutable(new: Option<&Value>, old: Option<&Value>, path: &str) -> Vec<FieldError> {
    let n = new.unwrap_or(&Value::Null);
    let o = old.unwrap_or(&Value::Null);
    if n == o {
        Vec::new()
    } else {
        vec![FieldError::immutable(path, n.clone())]
    }
}

/// `ValidateObjectMetaUpdate` of `new.metadata` against `old.metadata`.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let n = new.get("metadata").unwrap_or(&empty);
    let o = old.get("metadata").unwrap_or(&empty);
    validate_meta_update_at(n, o, "metadata")
}

/// `ValidateObjectMetaUpdate` at a path.
pub fn validate_meta_update_at(n: &Value, o: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !json::unset(o.get("deletionTimestamp")) {
        let old_f: Vec<&str> = json::arr_at(o, &["finalizers"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = json::arr_at(n, &["finalizers"])
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let items: Vec<String> = extra.iter().map(|s| super::gofmt::quote(s)).collect();
            errs.push(FieldError::forbidden(
                &json::child(path, "finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    items.join(", ")
                ),
            ));
        }
    }
    let (ng, og) = (
        json::int_at(n, &["generation"]).unwrap_or(0),
        json::int_at(o, &["generation"]).unwrap_or(0),
    );
    if ng < og {
        errs.push(FieldError::invalid(
            &json::child(path, "generation"),
            ng,
            "must not be decremented",
        ));
    }
    for f in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        let nv = n
            .get(f)
            .filter(|v| !matches!(v, Value::String(s) if s.is_empty()));
        let ov = o
            .get(f)
            .filter(|v| !matches!(v, Value::String(s) if s.is_empty()));
        errs.extend(immutable(nv, ov, &json::child(path, f)));
    }
    errs.extend(validate_labels(
        n.get("labels"),
        &json::child(path, "labels"),
    ));
    errs.extend(validate_annotations(
        n.get("annotations"),
        &json::child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        n.get("ownerReferences"),
        &json::child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        n.get("finalizers"),
        &json::child(path, "finalizers"),
    ));
    errs
}

/// `ValidateNonnegativeField` for an optional integer at `path`.
pub fn nonnegative(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    match v.and_then(Value::as_i64) {
        Some(n) if n < 0 => vec![FieldError::invalid(path, n, IS_NEGATIVE)],
        _ => Vec::new(),
    }
}
