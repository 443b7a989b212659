//! apiregistration.k8s.io APIServices, as kube-aggregator validates them:
//! the name is `version.group`, priorities in range, and local APIServices
//! (no `service`) carry no CA bundle.

use serde_json::Value;

use super::json::{at, str_at};
use super::{names, validate_object_meta, validate_object_meta_update, FieldError, Strategy};

pub struct ApiService;

pub static API_SERVICE: ApiService = ApiService;

impl Strategy for ApiService {
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, false, names::path_segment_name);
        errs.extend(validate_spec(obj));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_spec(new));
        errs
    }
    fn namespaced(&self) -> bool {
        false
    }
}

fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_at(obj, &["spec", "group"]);
    let version = str_at(obj, &["spec", "version"]);
    let required = format!("{version}.{group}");
    let name = str_at(obj, &["metadata", "name"]);
    if !name.is_empty() && names::path_segment_name(name, false).is_empty() && name != required {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            format!("must be `spec.version+\".\"+spec.group`: {required:?}"),
        ));
    }
    if group.is_empty() && version != "v1" {
        errs.push(FieldError::required(
            "spec.group",
            "only v1 may have an empty group and it better be legacy kube",
        ));
    }
    if !group.is_empty() {
        for e in names::dns1123_subdomain(group) {
            errs.push(FieldError::invalid("spec.group", group, e));
        }
    }
    for e in names::dns1035_label(version) {
        errs.push(FieldError::invalid("spec.version", version, e));
    }
    let int = |f: &str| at(obj, &["spec", f]).and_then(Value::as_i64).unwrap_or(0);
    let group_min = int("groupPriorityMinimum");
    if group_min <= 0 || group_min > 20000 {
        errs.push(FieldError::invalid(
            "spec.groupPriorityMinimum",
            group_min,
            "must be positive and less than 20000",
        ));
    }
    let version_prio = int("versionPriority");
    if version_prio <= 0 || version_prio > 1000 {
        errs.push(FieldError::invalid(
            "spec.versionPriority",
            version_prio,
            "must be positive and less than 1000",
        ));
    }
    let ca = str_at(obj, &["spec", "caBundle"]);
    let insecure = at(obj, &["spec", "insecureSkipTLSVerify"]) == Some(&Value::Bool(true));
    match at(obj, &["spec", "service"]).filter(|s| !s.is_null()) {
        None => {
            if !ca.is_empty() {
                let bytes = super::storage::base64_len(ca);
                errs.push(FieldError::invalid(
                    "spec.caBundle",
                    format!("{bytes} bytes"),
                    "local APIServices may not have a caBundle",
                ));
            }
            if insecure {
                errs.push(FieldError::invalid(
                    "spec.insecureSkipTLSVerify",
                    true,
                    "local APIServices may not have insecureSkipTLSVerify",
                ));
            }
        }
        Some(service) => {
            for f in ["namespace", "name"] {
                if str_at(service, &[f]).is_empty() {
                    errs.push(FieldError::required(&format!("spec.service.{f}"), ""));
                }
            }
            if insecure && !ca.is_empty() {
                errs.push(FieldError::invalid(
                    "spec.insecureSkipTLSVerify",
                    true,
                    "may not be true if caBundle is present",
                ));
            }
        }
    }
    errs
}
