//! ConfigMaps, Secrets, PersistentVolumeClaims, PersistentVolumes and
//! StorageClasses (`pkg/registry/core/{configmap,secret,persistentvolumeclaim,persistentvolume}`,
//! `pkg/registry/storage/storageclass`).

use super::json::{self, at, child, key, str_at};
use super::meta::{immutable, validate_object_meta, validate_object_meta_update};
use super::{names, quantity, selector, FieldError, Strategy};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// `MaxSecretSize`: 1 MiB, for Secrets and ConfigMaps.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// The decoded length of a base64 string.
pub(super) fn base64_len(s: &str) -> usize {
    let pad = s.bytes().rev().take_while(|&c| c == b'=').count();
    (s.len() / 4) * 3
        + match s.len() % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        }
        - pad.min((s.len() / 4) * 3)
}

fn immutable_flag_errors(new: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errs;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    for f in fields {
        let n = new
            .get(*f)
            .filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()));
        let o = old
            .get(*f)
            .filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()));
        if n != o {
            errs.push(FieldError::forbidden(
                f,
                "field is immutable when `immutable` is set",
            ));
        }
    }
    errs
}

fn sorted_keys(v: Option<&Value>) -> Vec<(&String, &Value)> {
    let mut out: Vec<(&String, &Value)> = v
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

// -------------------------------------------------------------- ConfigMap

pub struct ConfigMap;
pub static CONFIG_MAP: ConfigMap = ConfigMap;

fn validate_config_map(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
    let mut total = 0usize;
    let binary = obj.get("binaryData").and_then(Value::as_object);
    let data = obj.get("data").and_then(Value::as_object);
    for (k, v) in sorted_keys(obj.get("data")) {
        for msg in names::config_map_key(k) {
            errs.push(FieldError::invalid(&key("data", k), k.as_str(), msg));
        }
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid(
                &key("data", k),
                k.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += v.as_str().map_or(0, str::len);
    }
    for (k, v) in sorted_keys(obj.get("binaryData")) {
        for msg in names::config_map_key(k) {
            errs.push(FieldError::invalid(&key("binaryData", k), k.as_str(), msg));
        }
        if data.is_some_and(|d| d.contains_key(k)) {
            errs.push(FieldError::invalid(
                &key("binaryData", k),
                k.as_str(),
                "duplicate of key present in data",
            ));
        }
        total += v.as_str().map_or(0, base64_len);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    errs
}

impl Strategy for ConfigMap {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_config_map(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(immutable_flag_errors(new, old, &["data", "binaryData"]));
        errs.extend(
            validate_config_map(new)
                .into_iter()
                .filter(|e| !e.field.starts_with("metadata")),
        );
        errs
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// ----------------------------------------------------------------- Secret

pub struct Secret;
pub static SECRET: Secret = Secret;

fn validate_secret(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
    let mut total = 0usize;
    let data = obj.get("data").and_then(Value::as_object);
    for (k, v) in sorted_keys(obj.get("data")) {
        for msg in names::config_map_key(k) {
            errs.push(FieldError::invalid(&key("data", k), k.as_str(), msg));
        }
        total += v.as_str().map_or(0, base64_len);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", MAX_SECRET_SIZE));
    }
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    match str_at(obj, &["type"]) {
        "kubernetes.io/service-account-token"
            if str_at(
                obj,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            )
            .is_empty() =>
        {
            errs.push(FieldError::required(
                "metadata.annotations[kubernetes.io/service-account.name]",
                "",
            ));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            errs.push(FieldError::required("data[.dockercfg]", ""));
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errs.push(FieldError::required("data[.dockerconfigjson]", ""));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(FieldError::required("data[username]", ""));
            errs.push(FieldError::required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth"
            if data
                .and_then(|d| d.get("ssh-privatekey"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty) =>
        {
            errs.push(FieldError::required("data[ssh-privatekey]", ""));
        }
        "kubernetes.io/tls" => {
            if !has("tls.crt") {
                errs.push(FieldError::required("data[tls.crt]", ""));
            }
            if !has("tls.key") {
                errs.push(FieldError::required("data[tls.key]", ""));
            }
        }
        _ => {}
    }
    errs
}

impl Strategy for Secret {
    fn default(&self, obj: &mut Value) {
        json::default_str(obj, "type", "Opaque");
        // v1 conversion: stringData is merged into data (base64) and dropped.
        let Some(m) = obj.as_object_mut() else {
            return;
        };
        if let Some(Value::Object(sd)) = m.remove("stringData") {
            let data = m.entry("data").or_insert_with(|| json!({}));
            if data.is_null() {
                *data = json!({});
            }
            if let Some(d) = data.as_object_mut() {
                for (k, v) in sd {
                    if let Some(s) = v.as_str() {
                        d.insert(k, json!(STANDARD.encode(s.as_bytes())));
                    }
                }
            }
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_secret(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(immutable(new.get("type"), old.get("type"), "type"));
        errs.extend(immutable_flag_errors(new, old, &["data"]));
        errs.extend(validate_secret(new).into_iter().filter(|e| {
            !e.field.starts_with("metadata.") || e.field.starts_with("metadata.annotations[")
        }));
        errs
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// ------------------------------------------------------------------- PVCs

pub struct Pvc;
pub static PVC: Pvc = Pvc;

/// `SetDefaults_PersistentVolumeClaim(Spec)` on a claim or claim template.
pub fn default_pvc(v: &mut Value) {
    if let Some(spec) = json::obj(v, "spec") {
        json::default_str(spec, "volumeMode", "Filesystem");
    }
}

/// `ValidatePersistentVolumeClaimSpec`.
pub fn validate_pvc_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let modes = json::arr_at(spec, &["accessModes"]);
    if modes.is_empty() {
        errs.push(FieldError::required(
            &child(path, "accessModes"),
            "at least 1 access mode is required",
        ));
    }
    errs.extend(selector::validate(
        spec.get("selector"),
        &child(path, "selector"),
    ));
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if !matches!(
            m,
            "ReadOnlyMany" | "ReadWriteMany" | "ReadWriteOnce" | "ReadWriteOncePod"
        ) {
            errs.push(FieldError::not_supported(
                &child(path, "accessModes"),
                m,
                &[
                    "ReadOnlyMany",
                    "ReadWriteMany",
                    "ReadWriteOnce",
                    "ReadWriteOncePod",
                ],
            ));
        }
    }
    let sp = key(&child(path, "resources"), "storage");
    match at(spec, &["resources", "requests", "storage"]) {
        None | Some(Value::Null) => errs.push(FieldError::required(&sp, "")),
        Some(q) => {
            if quantity::from_json(q).is_some_and(|n| n <= 0.0) {
                let shown = q
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| q.to_string());
                errs.push(FieldError::invalid(&sp, shown, "must be greater than zero"));
            }
        }
    }
    let sc = str_at(spec, &["storageClassName"]);
    if !sc.is_empty() {
        for msg in names::dns1123_subdomain(sc) {
            errs.push(FieldError::invalid(
                &child(path, "storageClassName"),
                sc,
                msg,
            ));
        }
    }
    if let Some(Value::String(vm)) = spec.get("volumeMode") {
        if vm != "Block" && vm != "Filesystem" {
            errs.push(FieldError::not_supported(
                &child(path, "volumeMode"),
                vm.as_str(),
                &["Block", "Filesystem"],
            ));
        }
    }
    errs
}

fn validate_pvc(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
    errs.extend(validate_pvc_spec(
        obj.get("spec").unwrap_or(&json!({})),
        "spec",
    ));
    errs
}

impl Strategy for Pvc {
    fn default(&self, obj: &mut Value) {
        default_pvc(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Pending"}));
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_pvc(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_pvc_spec(
            new.get("spec").unwrap_or(&json!({})),
            "spec",
        ));
        let mut n = new.get("spec").cloned().unwrap_or(json!({}));
        let o = old.get("spec").cloned().unwrap_or(json!({}));
        let bound = str_at(old, &["status", "phase"]) == "Bound";
        if let Some(m) = n.as_object_mut() {
            if str_at(&o, &["volumeName"]).is_empty() {
                match o.get("volumeName") {
                    Some(v) => m.insert("volumeName".into(), v.clone()),
                    None => m.remove("volumeName"),
                };
            }
            // A claim without a class may get one later (upstream
            // RetroactiveDefaultStorageClass: the binder sets the default).
            if o.get("storageClassName").is_none_or(Value::is_null) {
                m.remove("storageClassName");
            }
            match o.get("volumeAttributesClassName") {
                Some(v) => m.insert("volumeAttributesClassName".into(), v.clone()),
                None => m.remove("volumeAttributesClassName"),
            };
        }
        if bound {
            if let Some(r) = json::obj(&mut n, "resources") {
                match at(&o, &["resources", "requests"]) {
                    Some(v) => r["requests"] = v.clone(),
                    None => {
                        if let Some(rm) = r.as_object_mut() {
                            rm.remove("requests");
                        }
                    }
                }
            }
            let old_q = at(&o, &["resources", "requests", "storage"]).and_then(quantity::from_json);
            let new_v = at(new, &["spec", "resources", "requests", "storage"]);
            if let (Some(oq), Some(nv)) = (old_q, new_v) {
                if quantity::from_json(nv).is_some_and(|nq| nq < oq) {
                    errs.push(FieldError::forbidden(
                        "spec.resources.requests.storage",
                        "field can not be less than status.capacity",
                    ));
                }
            }
        }
        let strip_empty = |mut v: Value| {
            if let Some(m) = v.as_object_mut() {
                m.retain(|_, x| !x.is_null() && x.as_object().is_none_or(|o| !o.is_empty()));
            }
            v
        };
        if strip_empty(n) != strip_empty(o) {
            errs.push(FieldError::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
        errs
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// -------------------------------------------------------------------- PVs

pub struct Pv;
pub static PV: Pv = Pv;

fn validate_pv(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, false, names::path_segment_name);
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    if json::arr_at(spec, &["accessModes"]).is_empty() {
        errs.push(FieldError::required("spec.accessModes", ""));
    }
    let cap = spec.get("capacity").and_then(Value::as_object);
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::required("spec.capacity", ""));
    }
    if let Some(c) = cap {
        if !c.contains_key("storage") || c.len() > 1 {
            errs.push(FieldError::not_supported(
                "spec.capacity",
                Value::Object(c.clone()),
                &["storage"],
            ));
        }
    }
    let sources = super::podspec::VOLUME_SOURCES
        .iter()
        .chain(["local"].iter())
        .filter(|s| !json::unset(spec.get(**s)))
        .count();
    if sources == 0 {
        errs.push(FieldError::required("spec", "must specify a volume type"));
    }
    if let Some(Value::String(p)) = spec.get("persistentVolumeReclaimPolicy") {
        if !matches!(p.as_str(), "Delete" | "Recycle" | "Retain") {
            errs.push(FieldError::not_supported(
                "spec.persistentVolumeReclaimPolicy",
                p.as_str(),
                &["Delete", "Recycle", "Retain"],
            ));
        }
    }
    errs
}

impl Strategy for Pv {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = json::obj(obj, "spec") {
            json::default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
            json::default_str(spec, "volumeMode", "Filesystem");
            if let Some(h) = json::obj_opt(spec, "hostPath") {
                json::default(h, "type", json!(""));
            }
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Pending"}));
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_pv(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(
            validate_pv(new)
                .into_iter()
                .filter(|e| !e.field.starts_with("metadata")),
        );
        errs.extend(immutable(
            at(new, &["spec", "volumeMode"]),
            at(old, &["spec", "volumeMode"]),
            "volumeMode",
        ));
        errs
    }
    fn namespaced(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------- StorageClass

pub struct StorageClass;
pub static STORAGE_CLASS: StorageClass = StorageClass;

fn validate_storage_class(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, false, names::name_is_dns_subdomain);
    let p = str_at(obj, &["provisioner"]);
    if p.is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    } else {
        for msg in names::qualified_name(&p.to_lowercase()) {
            errs.push(FieldError::invalid("provisioner", p, msg));
        }
    }
    let rp = str_at(obj, &["reclaimPolicy"]);
    if !matches!(rp, "Delete" | "Retain") {
        errs.push(FieldError::not_supported(
            "reclaimPolicy",
            rp,
            &["Delete", "Retain"],
        ));
    }
    let bm = str_at(obj, &["volumeBindingMode"]);
    if bm.is_empty() {
        errs.push(FieldError::required("volumeBindingMode", ""));
    } else if !matches!(bm, "Immediate" | "WaitForFirstConsumer") {
        errs.push(FieldError::not_supported(
            "volumeBindingMode",
            bm,
            &["Immediate", "WaitForFirstConsumer"],
        ));
    }
    errs
}

impl Strategy for StorageClass {
    fn default(&self, obj: &mut Value) {
        json::default_str(obj, "reclaimPolicy", "Delete");
        json::default_str(obj, "volumeBindingMode", "Immediate");
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_storage_class(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(
            validate_storage_class(new)
                .into_iter()
                .filter(|e| !e.field.starts_with("metadata")),
        );
        let norm = |v: Option<&Value>| {
            v.filter(|x| !x.is_null() && x.as_object().is_none_or(|m| !m.is_empty()))
                .cloned()
        };
        if norm(new.get("parameters")) != norm(old.get("parameters")) {
            errs.push(FieldError::forbidden(
                "parameters",
                "updates to parameters are forbidden.",
            ));
        }
        if new.get("provisioner") != old.get("provisioner") {
            errs.push(FieldError::forbidden(
                "provisioner",
                "updates to provisioner are forbidden.",
            ));
        }
        if new.get("reclaimPolicy") != old.get("reclaimPolicy") {
            errs.push(FieldError::forbidden(
                "reclaimPolicy",
                "updates to reclaimPolicy are forbidden.",
            ));
        }
        errs.extend(immutable(
            new.get("volumeBindingMode"),
            old.get("volumeBindingMode"),
            "volumeBindingMode",
        ));
        errs
    }
    fn namespaced(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_len("aGVsbG8="), 5);
        assert_eq!(base64_len("YWJj"), 3);
    }
}
