//! StatefulSets and DaemonSets (`pkg/registry/apps/statefulset`, `.../daemonset`).

use super::deployment::{
    int_or_percent_value, not_more_than_100_percent, reset_status, validate_int_or_percent,
    validate_required_selector, validate_workload, validate_workload_update,
};
use super::json::{self, at, child, str_at};
use super::meta::{
    nonnegative, validate_meta_at, validate_object_meta, validate_object_meta_update,
};
use super::{gofmt, names, podspec, selector, storage, FieldError, Strategy};
use serde_json::{json, Value};

// ------------------------------------------------------------ StatefulSet

pub struct StatefulSet;
pub static STATEFUL_SET: StatefulSet = StatefulSet;

fn default_stateful_set(obj: &mut Value) {
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    json::default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(us) = json::obj(spec, "updateStrategy") {
        if json::unset_str(us.get("type")) {
            us["type"] = json!("RollingUpdate");
            json::default(us, "rollingUpdate", json!({}));
        }
        if str_at(us, &["type"]) == "RollingUpdate" {
            if let Some(ru) = json::obj_opt(us, "rollingUpdate") {
                json::default(ru, "partition", json!(0));
            }
        }
    }
    if let Some(p) = json::obj(spec, "persistentVolumeClaimRetentionPolicy") {
        json::default_str(p, "whenDeleted", "Retain");
        json::default_str(p, "whenScaled", "Retain");
    }
    json::default(spec, "replicas", json!(1));
    json::default(spec, "revisionHistoryLimit", json!(10));
    if let Some(t) = json::obj(spec, "template") {
        podspec::default_template(t);
    }
    if let Some(vcts) = json::arr_mut(spec, "volumeClaimTemplates") {
        for v in vcts.iter_mut().filter(|v| v.is_object()) {
            json::default_str(v, "apiVersion", "v1");
            json::default_str(v, "kind", "PersistentVolumeClaim");
            podspec::template_metadata(v);
            storage::default_pvc(v);
            if let Some(st) = json::obj(v, "status") {
                json::default_str(st, "phase", "Pending");
            }
        }
    }
}

fn validate_stateful_set_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match str_at(spec, &["podManagementPolicy"]) {
        "OrderedReady" | "Parallel" => {}
        "" => errs.push(FieldError::required("spec.podManagementPolicy", "")),
        other => errs.push(FieldError::invalid(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let empty = json!({});
    let us = spec.get("updateStrategy").unwrap_or(&empty);
    match str_at(us, &["type"]) {
        "" => errs.push(FieldError::required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(ru) = us.get("rollingUpdate").filter(|v| !v.is_null()) {
                errs.push(FieldError::invalid(
                    "spec.updateStrategy.rollingUpdate",
                    ru.clone(),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            errs.extend(nonnegative(
                at(us, &["rollingUpdate", "partition"]),
                "spec.updateStrategy.rollingUpdate.partition",
            ));
        }
        _ => errs.push(FieldError::invalid(
            "spec.updateStrategy",
            us.clone(),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(p) = spec
        .get("persistentVolumeClaimRetentionPolicy")
        .filter(|p| p.is_object())
    {
        for f in ["whenDeleted", "whenScaled"] {
            let v = str_at(p, &[f]);
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    &format!("spec.persistentVolumeClaimRetentionPolicy.{f}"),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(nonnegative(spec.get("replicas"), "spec.replicas"));
    errs.extend(nonnegative(
        spec.get("minReadySeconds"),
        "spec.minReadySeconds",
    ));
    errs.extend(nonnegative(
        at(spec, &["ordinals", "start"]),
        "spec.ordinals.start",
    ));
    errs.extend(validate_required_selector(spec, "spec", "statefulset"));
    let tpl = spec.get("template").unwrap_or(&empty);
    let labels = at(tpl, &["metadata", "labels"]);
    if let Some(sel) = spec
        .get("selector")
        .filter(|s| s.is_object() && !selector::is_empty(s))
    {
        if !selector::matches(Some(sel), labels) {
            errs.push(super::selector::mismatch(
                "spec.template.metadata.labels",
                labels,
            ));
        }
    }
    // Upstream checks only the template's labels and annotations here: its
    // volume mounts may name volumeClaimTemplates, not pod volumes.
    errs.extend(super::meta::validate_labels(labels, "spec.template.labels"));
    errs.extend(super::meta::validate_annotations(
        at(tpl, &["metadata", "annotations"]),
        "spec.template.annotations",
    ));
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
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    for (i, v) in json::arr_at(spec, &["volumeClaimTemplates"])
        .iter()
        .enumerate()
    {
        let p = json::index("spec.volumeClaimTemplates", i);
        let meta = v.get("metadata").unwrap_or(&empty);
        let mut errs_meta = validate_meta_at(
            meta,
            &child(&p, "metadata"),
            false,
            names::name_is_dns_subdomain,
        );
        // The claim's namespace comes from the set; upstream checks names only.
        errs_meta.retain(|e| !e.field.ends_with(".namespace"));
        errs.extend(errs_meta);
        errs.extend(storage::validate_pvc_spec(
            v.get("spec").unwrap_or(&empty),
            &child(&p, "spec"),
        ));
    }
    errs
}

const STS_UPDATE_MSG: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

impl Strategy for StatefulSet {
    fn default(&self, obj: &mut Value) {
        default_stateful_set(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        reset_status(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"replicas": 0, "availableReplicas": 0}),
            );
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(validate_stateful_set_spec(
            obj.get("spec").unwrap_or(&json!({})),
        ));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_stateful_set_spec(
            new.get("spec").unwrap_or(&json!({})),
        ));
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(json!({}));
            if let Some(m) = s.as_object_mut() {
                for f in [
                    "replicas",
                    "ordinals",
                    "template",
                    "updateStrategy",
                    "revisionHistoryLimit",
                    "persistentVolumeClaimRetentionPolicy",
                    "minReadySeconds",
                ] {
                    m.remove(f);
                }
            }
            s
        };
        if strip(new) != strip(old) {
            errs.push(FieldError::forbidden("spec", STS_UPDATE_MSG));
        }
        errs
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// -------------------------------------------------------------- DaemonSet

pub struct DaemonSet;
pub static DAEMON_SET: DaemonSet = DaemonSet;

fn default_daemon_set(obj: &mut Value) {
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    if let Some(us) = json::obj(spec, "updateStrategy") {
        json::default_str(us, "type", "RollingUpdate");
        if str_at(us, &["type"]) == "RollingUpdate" {
            if let Some(ru) = json::obj(us, "rollingUpdate") {
                json::default(ru, "maxUnavailable", json!(1));
                json::default(ru, "maxSurge", json!(0));
            }
        }
    }
    json::default(spec, "revisionHistoryLimit", json!(10));
    if let Some(t) = json::obj(spec, "template") {
        podspec::default_template(t);
    }
}

fn validate_daemon_set_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let sel = spec.get("selector").filter(|s| s.is_object());
    errs.extend(selector::validate(sel, "spec.selector"));
    let tpl = spec.get("template").unwrap_or(&empty);
    let labels = at(tpl, &["metadata", "labels"]);
    if !selector::matches(sel, labels) {
        errs.push(super::selector::mismatch(
            "spec.template.metadata.labels",
            labels,
        ));
    }
    if let Some(s) = sel.filter(|s| selector::is_empty(s)) {
        errs.push(FieldError::invalid_shown(
            "spec.selector",
            gofmt::label_selector(s),
            "empty selector is invalid for daemonset",
        ));
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
    if let Some(v) = at(tpl, &["spec", "activeDeadlineSeconds"]).filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid(
            "spec.template.spec.activeDeadlineSeconds",
            v.clone(),
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    errs.extend(nonnegative(
        spec.get("minReadySeconds"),
        "spec.minReadySeconds",
    ));
    let us = spec.get("updateStrategy").unwrap_or(&empty);
    match str_at(us, &["type"]) {
        "OnDelete" => {}
        "RollingUpdate" => match us.get("rollingUpdate").filter(|r| r.is_object()) {
            None => errs.push(FieldError::required(
                "spec.updateStrategy.rollingUpdate",
                "",
            )),
            Some(ru) => {
                let p = "spec.updateStrategy.rollingUpdate";
                let mu = ru.get("maxUnavailable");
                let ms = ru.get("maxSurge");
                errs.extend(validate_int_or_percent(mu, &child(p, "maxUnavailable")));
                errs.extend(validate_int_or_percent(ms, &child(p, "maxSurge")));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid_shown(
                        &child(p, "maxUnavailable"),
                        gofmt::int_or_string(mu.unwrap_or(&Value::Null)),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(not_more_than_100_percent(mu, &child(p, "maxUnavailable")));
                errs.extend(not_more_than_100_percent(ms, &child(p, "maxSurge")));
            }
        },
        other => {
            let _ = other;
            errs.push(FieldError::not_supported(
                "spec.updateStrategy",
                us.clone(),
                &["RollingUpdate", "OnDelete"],
            ));
        }
    }
    errs.extend(nonnegative(
        spec.get("revisionHistoryLimit"),
        "spec.revisionHistoryLimit",
    ));
    errs
}

/// Where apps/v1 keeps the internal `spec.templateGeneration`: 1 at
/// creation, +1 on every change of `spec.template` (users cannot set it).
const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

fn set_template_generation(obj: &mut Value, generation: i64) {
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let ann = meta.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    ann[TEMPLATE_GENERATION] = json!(generation.to_string());
}

impl Strategy for DaemonSet {
    fn default(&self, obj: &mut Value) {
        default_daemon_set(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0}),
            );
        }
        set_template_generation(obj, 1);
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let previous = str_at(old, &["metadata", "annotations", TEMPLATE_GENERATION])
            .parse::<i64>()
            .unwrap_or(0);
        let changed = at(new, &["spec", "template"]) != at(old, &["spec", "template"]);
        set_template_generation(new, previous + i64::from(changed));
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_workload(obj, validate_daemon_set_spec)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_workload_update(new, old, validate_daemon_set_spec)
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}
