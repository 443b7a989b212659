//! Deployments, ReplicaSets and ReplicationControllers
//! (`pkg/registry/apps/deployment`, `.../replicaset`, `core/replicationcontroller`).

use super::json::{self, at, child, str_at};
use super::meta::{
    self, immutable, nonnegative, validate_object_meta, validate_object_meta_update,
};
use super::{gofmt, names, podspec, selector, FieldError, Strategy};
use serde_json::{json, Value};

/// Clear `status` on create: it is only written through `/status`.
pub fn reset_status(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), json!({}));
    }
}

/// `ValidateNonnegativeField` for an int32 field that defaults to 0.
fn nonneg(spec: &Value, f: &str, path: &str) -> Vec<FieldError> {
    nonnegative(spec.get(f), &child(path, f))
}

/// Selector checks shared by Deployments, ReplicaSets and StatefulSets:
/// required, valid, not empty.
pub fn validate_required_selector(spec: &Value, path: &str, kind_word: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let sp = child(path, "selector");
    match spec.get("selector").filter(|s| s.is_object()) {
        None => errs.push(FieldError::required(&sp, "")),
        Some(sel) => {
            errs.extend(selector::validate(Some(sel), &sp));
            if selector::is_empty(sel) {
                errs.push(FieldError::invalid_shown(
                    &sp,
                    gofmt::label_selector(sel),
                    format!("empty selector is invalid for {kind_word}"),
                ));
            }
        }
    }
    errs
}

/// `ValidatePodTemplateSpecForReplicaSet`.
pub fn validate_template_for_replica_set(spec: &Value, path: &str, kind: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let tp = child(path, "template");
    let Some(tpl) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(FieldError::required(&tp, ""));
        return errs;
    };
    let labels = at(tpl, &["metadata", "labels"]);
    if let Some(sel) = spec
        .get("selector")
        .filter(|s| s.is_object() && !selector::is_empty(s))
    {
        if !selector::matches(Some(sel), labels) {
            errs.push(selector::mismatch(&child(&tp, "metadata.labels"), labels));
        }
    }
    errs.extend(podspec::validate_template(Some(tpl), &tp));
    let rp = str_at(tpl, &["spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            &child(&tp, "spec.restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if let Some(v) = at(tpl, &["spec", "activeDeadlineSeconds"]).filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid(
            &child(&tp, "spec.activeDeadlineSeconds"),
            v.clone(),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}

/// `ValidatePositiveIntOrPercent`.
pub fn validate_int_or_percent(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => names::percent(s)
            .into_iter()
            .map(|m| FieldError::invalid_shown(path, s.clone(), m))
            .collect(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if i < 0 => vec![FieldError::invalid(path, i, meta::IS_NEGATIVE)],
            _ => Vec::new(),
        },
        Some(other) => vec![FieldError::invalid_shown(
            path,
            gofmt::int_or_string(other),
            "must be an integer or percentage (e.g '5%')",
        )],
    }
}

/// The number an int-or-percent holds (0 when not a number).
pub fn int_or_percent_value(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(s)) => s.trim_end_matches('%').parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// `IsNotMoreThan100Percent`.
pub fn not_more_than_100_percent(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    match v {
        Some(Value::String(s)) if names::percent(s).is_empty() && int_or_percent_value(v) > 100 => {
            vec![FieldError::invalid_shown(
                path,
                s.clone(),
                "must not be greater than 100%",
            )]
        }
        _ => Vec::new(),
    }
}

/// Selector immutability for apps/v1 workloads.
pub fn selector_immutable(new: &Value, old: &Value) -> Vec<FieldError> {
    let n = at(new, &["spec", "selector"]);
    let o = at(old, &["spec", "selector"]);
    if immutable(n, o, "spec.selector").is_empty() {
        Vec::new()
    } else {
        vec![FieldError::invalid_shown(
            "spec.selector",
            gofmt::label_selector(n.unwrap_or(&Value::Null)),
            meta::FIELD_IMMUTABLE,
        )]
    }
}

/// What apps/v1 workloads validate on create: object metadata, then `spec`.
pub fn validate_workload(obj: &Value, spec: fn(&Value) -> Vec<FieldError>) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
    errs.extend(spec(obj.get("spec").unwrap_or(&json!({}))));
    errs
}

/// What apps/v1 workloads validate on update: metadata changes, `spec`, and
/// that the selector did not change.
pub fn validate_workload_update(
    new: &Value,
    old: &Value,
    spec: fn(&Value) -> Vec<FieldError>,
) -> Vec<FieldError> {
    let mut errs = validate_object_meta_update(new, old);
    errs.extend(spec(new.get("spec").unwrap_or(&json!({}))));
    errs.extend(selector_immutable(new, old));
    errs
}

// ------------------------------------------------------------- Deployment

pub struct Deployment;
pub static DEPLOYMENT: Deployment = Deployment;

fn default_deployment(obj: &mut Value) {
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    json::default(spec, "replicas", json!(1));
    if let Some(strategy) = json::obj(spec, "strategy") {
        json::default_str(strategy, "type", "RollingUpdate");
        if str_at(strategy, &["type"]) == "RollingUpdate" {
            if let Some(ru) = json::obj(strategy, "rollingUpdate") {
                json::default(ru, "maxUnavailable", json!("25%"));
                json::default(ru, "maxSurge", json!("25%"));
            }
        }
    }
    json::default(spec, "revisionHistoryLimit", json!(10));
    json::default(spec, "progressDeadlineSeconds", json!(600));
    if let Some(t) = json::obj(spec, "template") {
        podspec::default_template(t);
    }
}

fn validate_deployment_spec(spec: &Value) -> Vec<FieldError> {
    let path = "spec";
    let mut errs = nonneg(spec, "replicas", path);
    errs.extend(validate_required_selector(spec, path, "deployment"));
    errs.extend(validate_template_for_replica_set(spec, path, "ReplicaSet"));
    let empty = json!({});
    let strategy = spec.get("strategy").unwrap_or(&empty);
    let stp = "spec.strategy";
    match str_at(strategy, &["type"]) {
        "Recreate" => {
            if !json::unset(strategy.get("rollingUpdate")) {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match strategy.get("rollingUpdate").filter(|r| r.is_object()) {
            None => errs.push(FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let mu = ru.get("maxUnavailable");
                let ms = ru.get("maxSurge");
                errs.extend(validate_int_or_percent(
                    mu,
                    "spec.strategy.rollingUpdate.maxUnavailable",
                ));
                errs.extend(validate_int_or_percent(
                    ms,
                    "spec.strategy.rollingUpdate.maxSurge",
                ));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid_shown(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        gofmt::int_or_string(mu.unwrap_or(&Value::Null)),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(not_more_than_100_percent(
                    mu,
                    "spec.strategy.rollingUpdate.maxUnavailable",
                ));
            }
        },
        other => errs.push(FieldError::not_supported(
            stp,
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    errs.extend(nonneg(spec, "minReadySeconds", path));
    errs.extend(nonneg(spec, "revisionHistoryLimit", path));
    if let Some(pd) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
        errs.extend(nonneg(spec, "progressDeadlineSeconds", path));
        let mrs = json::int_at(spec, &["minReadySeconds"]).unwrap_or(0);
        if pd <= mrs {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                pd,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

impl Strategy for Deployment {
    fn default(&self, obj: &mut Value) {
        default_deployment(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        reset_status(obj);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_workload(obj, validate_deployment_spec)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_workload_update(new, old, validate_deployment_spec)
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// ------------------------------------------------------------- ReplicaSet

pub struct ReplicaSet;
pub static REPLICA_SET: ReplicaSet = ReplicaSet;

fn validate_replica_set_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = nonneg(spec, "replicas", "spec");
    errs.extend(nonneg(spec, "minReadySeconds", "spec"));
    errs.extend(validate_required_selector(spec, "spec", "deployment"));
    errs.extend(validate_template_for_replica_set(
        spec,
        "spec",
        "ReplicaSet",
    ));
    errs
}

impl Strategy for ReplicaSet {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = json::obj(obj, "spec") {
            json::default(spec, "replicas", json!(1));
            if let Some(t) = json::obj(spec, "template") {
                podspec::default_template(t);
            }
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        reset_status(obj);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_workload(obj, validate_replica_set_spec)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_workload_update(new, old, validate_replica_set_spec)
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// -------------------------------------------------- ReplicationController

pub struct ReplicationController;
pub static REPLICATION_CONTROLLER: ReplicationController = ReplicationController;

fn validate_rc_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = nonneg(spec, "minReadySeconds", "spec");
    let sel = spec
        .get("selector")
        .filter(|s| !json::string_map(Some(s)).is_empty());
    if sel.is_none() {
        errs.push(FieldError::required("spec.selector", ""));
    }
    errs.extend(nonneg(spec, "replicas", "spec"));
    let Some(tpl) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(FieldError::required("spec.template", ""));
        return errs;
    };
    let labels = at(tpl, &["metadata", "labels"]);
    if let Some(sel) = sel {
        let all_match = json::string_map(Some(sel))
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(*k)).and_then(Value::as_str) == Some(*v));
        if !all_match {
            errs.push(super::selector::mismatch(
                "spec.template.metadata.labels",
                labels,
            ));
        }
    }
    errs.extend(podspec::validate_template(Some(tpl), "spec.template"));
    let rp = str_at(tpl, &["spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            rp,
            &["Always"],
        ));
    }
    if !json::unset(at(tpl, &["spec", "activeDeadlineSeconds"])) {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicationController is not Supported",
        ));
    }
    errs
}

impl Strategy for ReplicationController {
    fn default(&self, obj: &mut Value) {
        let labels = at(obj, &["spec", "template", "metadata", "labels"])
            .filter(|l| l.is_object())
            .cloned();
        if let Some(labels) = labels {
            if let Some(spec) = json::obj(obj, "spec") {
                if json::string_map(spec.get("selector")).is_empty() {
                    spec["selector"] = labels.clone();
                }
            }
            if let Some(m) = json::obj(obj, "metadata") {
                if json::string_map(m.get("labels")).is_empty() {
                    m["labels"] = labels;
                }
            }
        }
        if let Some(spec) = json::obj(obj, "spec") {
            json::default(spec, "replicas", json!(1));
            if let Some(t) = json::obj_opt(spec, "template") {
                podspec::default_template(t);
            }
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        reset_status(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"replicas": 0}));
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(validate_rc_spec(obj.get("spec").unwrap_or(&json!({}))));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_rc_spec(new.get("spec").unwrap_or(&json!({}))));
        errs
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}
