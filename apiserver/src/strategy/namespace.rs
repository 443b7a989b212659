//! Namespaces (`pkg/registry/core/namespace`).

use super::json::{self, arr_at, str_at};
use super::meta::{validate_object_meta, validate_object_meta_update};
use super::{names, FieldError, Strategy};
use serde_json::{json, Value};

pub struct Namespace;
pub static NAMESPACE: Namespace = Namespace;

/// The label every namespace carries with its own name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

fn set_name_label(obj: &mut Value) {
    let name = str_at(obj, &["metadata", "name"]).to_string();
    if name.is_empty() {
        return;
    }
    if let Some(meta) = json::obj(obj, "metadata") {
        if let Some(labels) = json::obj(meta, "labels") {
            labels[NAME_LABEL] = json!(name);
        }
    }
}

pub fn validate_spec_finalizers(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in arr_at(obj, &["spec", "finalizers"]) {
        let f = f.as_str().unwrap_or("");
        let msgs = names::qualified_name(f);
        if !msgs.is_empty() {
            for m in msgs {
                errs.push(FieldError::invalid("spec.finalizers", f, m));
            }
        } else if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
            errs.push(FieldError::invalid(
                "spec.finalizers",
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

impl Strategy for Namespace {
    fn default(&self, obj: &mut Value) {
        set_name_label(obj);
        if let Some(status) = json::obj(obj, "status") {
            json::default_str(status, "phase", "Active");
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Active"}));
        }
        if let Some(spec) = json::obj(obj, "spec") {
            if arr_at(spec, &["finalizers"])
                .iter()
                .all(|f| f.as_str() != Some("kubernetes"))
            {
                match spec.get_mut("finalizers") {
                    Some(Value::Array(a)) => a.push(json!("kubernetes")),
                    _ => spec["finalizers"] = json!(["kubernetes"]),
                }
            }
        }
        set_name_label(obj);
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // spec.finalizers change only through /finalize.
        let old_spec = old.get("spec").cloned().unwrap_or(json!({}));
        if let Some(m) = new.as_object_mut() {
            m.insert("spec".into(), old_spec);
        }
        set_name_label(new);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, false, names::name_is_dns_label);
        errs.extend(validate_spec_finalizers(obj));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_spec_finalizers(new));
        errs
    }
    fn namespaced(&self) -> bool {
        false
    }
}
