//! Jobs and CronJobs (`pkg/registry/batch/job`, `.../cronjob`).

use super::json::{self, at, child, str_at};
use super::meta::{
    self, immutable, nonnegative, validate_object_meta, validate_object_meta_update,
};
use super::{cron, gofmt, names, podspec, selector, FieldError, Strategy};
use serde_json::{json, Value};

/// Parallelism limit of Indexed Jobs.
const MAX_PARALLELISM_INDEXED: i64 = 100_000;

pub struct Job;
pub static JOB: Job = Job;

/// `SetDefaults_Job` on a job spec (not the labels rule).
fn default_job_spec(spec: &mut Value) {
    if json::unset(spec.get("completions")) && json::unset(spec.get("parallelism")) {
        spec["completions"] = json!(1);
        spec["parallelism"] = json!(1);
    }
    json::default(spec, "parallelism", json!(1));
    if json::unset(spec.get("backoffLimit")) {
        let v = if json::unset(spec.get("backoffLimitPerIndex")) {
            6
        } else {
            i64::from(i32::MAX)
        };
        spec["backoffLimit"] = json!(v);
    }
    json::default(spec, "completionMode", json!("NonIndexed"));
    json::default(spec, "suspend", json!(false));
    json::default(spec, "manualSelector", json!(false));
    if let Some(rules) =
        json::obj_opt(spec, "podFailurePolicy").and_then(|p| json::arr_mut(p, "rules"))
    {
        for r in rules.iter_mut() {
            if let Some(conds) = json::arr_mut(r, "onPodConditions") {
                for c in conds.iter_mut() {
                    json::default_str(c, "status", "True");
                }
            }
        }
    }
    if json::unset(spec.get("podReplacementPolicy")) {
        let v = if json::unset(spec.get("podFailurePolicy")) {
            "TerminatingOrFailed"
        } else {
            "Failed"
        };
        spec["podReplacementPolicy"] = json!(v);
    }
    if let Some(t) = json::obj(spec, "template") {
        podspec::default_template(t);
    }
}

fn copy_template_labels_to_job(obj: &mut Value) {
    let tl = at(obj, &["spec", "template", "metadata", "labels"])
        .filter(|l| l.is_object())
        .cloned();
    if let Some(tl) = tl {
        if let Some(meta) = json::obj(obj, "metadata") {
            if json::string_map(meta.get("labels")).is_empty() {
                meta["labels"] = tl;
            }
        }
    }
}

/// The Job strategy's `generateSelector`: label the template with the
/// job's uid and name and select on the uid.
fn generate_selector(obj: &mut Value) {
    let mut uid = str_at(obj, &["metadata", "uid"]).to_string();
    if uid.is_empty() {
        uid = uuid::Uuid::new_v4().to_string();
        if let Some(meta) = json::obj(obj, "metadata") {
            meta["uid"] = json!(uid);
        }
    }
    let name = str_at(obj, &["metadata", "name"]).to_string();
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    if let Some(labels) = json::obj(spec, "template")
        .and_then(|t| json::obj(t, "metadata"))
        .and_then(|m| json::obj(m, "labels"))
        .and_then(Value::as_object_mut)
    {
        for (k, v) in [
            ("controller-uid", &uid),
            ("batch.kubernetes.io/controller-uid", &uid),
            ("job-name", &name),
            ("batch.kubernetes.io/job-name", &name),
        ] {
            labels.entry(k).or_insert_with(|| json!(v));
        }
    }
    if json::unset(spec.get("selector")) {
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    } else if let Some(ml) = json::obj(spec, "selector").and_then(|s| json::obj(s, "matchLabels")) {
        json::default(ml, "batch.kubernetes.io/controller-uid", json!(uid));
    }
}

/// `validateJobSpec` without the selector rules (shared with job templates).
fn validate_job_spec_common(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        errs.extend(nonnegative(spec.get(f), &child(path, f)));
    }
    if let Some(Value::String(mode)) = spec.get("completionMode") {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                &child(path, "completionMode"),
                mode.as_str(),
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" {
            if json::unset(spec.get("completions")) {
                errs.push(FieldError::required(
                    &child(path, "completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(p) = spec.get("parallelism").and_then(Value::as_i64) {
                if p > MAX_PARALLELISM_INDEXED {
                    errs.push(FieldError::invalid(
                        &child(path, "parallelism"),
                        p,
                        format!("must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed"),
                    ));
                }
            }
        }
    }
    if let Some(Value::String(p)) = spec.get("podReplacementPolicy") {
        if p != "TerminatingOrFailed" && p != "Failed" {
            errs.push(FieldError::not_supported(
                &child(path, "podReplacementPolicy"),
                p.as_str(),
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let tp = child(path, "template");
    let empty = json!({});
    let tpl = spec.get("template").unwrap_or(&empty);
    errs.extend(podspec::validate_template(Some(tpl), &tp));
    let rp = str_at(tpl, &["spec", "restartPolicy"]);
    if rp == "Always" || rp.is_empty() {
        errs.push(FieldError::required(
            &child(&tp, "spec.restartPolicy"),
            "valid values: \"OnFailure\", \"Never\"",
        ));
    } else if rp != "OnFailure" && rp != "Never" {
        errs.push(FieldError::not_supported(
            &child(&tp, "spec.restartPolicy"),
            rp,
            &["OnFailure", "Never"],
        ));
    }
    errs
}

fn validate_job_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = validate_job_spec_common(spec, "spec");
    let sel = spec.get("selector").filter(|s| s.is_object());
    match sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => errs.extend(selector::validate(Some(s), "spec.selector")),
    }
    if let Some(s) = sel {
        let labels = at(spec, &["template", "metadata", "labels"]);
        if !selector::matches(Some(s), labels) {
            errs.push(super::selector::mismatch(
                "spec.template.metadata.labels",
                labels,
            ));
        }
    }
    errs
}

fn validate_job_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let n = new.get("spec").cloned().unwrap_or(json!({}));
    let o = old.get("spec").cloned().unwrap_or(json!({}));
    let elastic = str_at(&n, &["completionMode"]) == "Indexed"
        && n.get("completions") == n.get("parallelism")
        && o.get("completions") == o.get("parallelism");
    if !elastic {
        errs.extend(immutable(
            n.get("completions"),
            o.get("completions"),
            "spec.completions",
        ));
    }
    if n.get("selector") != o.get("selector") {
        errs.push(FieldError::invalid_shown(
            "spec.selector",
            gofmt::label_selector(n.get("selector").unwrap_or(&Value::Null)),
            meta::FIELD_IMMUTABLE,
        ));
    }
    // Scheduling directives of a suspended job that never started may change.
    let never_started = json::unset(at(old, &["status", "startTime"]));
    let suspended = n.get("suspend").and_then(Value::as_bool) == Some(true);
    let strip = |t: Option<&Value>| {
        let mut t = t.cloned().unwrap_or(Value::Null);
        if suspended && never_started {
            if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("labels");
                m.remove("annotations");
            }
            if let Some(m) = t.get_mut("spec").and_then(Value::as_object_mut) {
                for f in ["nodeSelector", "affinity", "tolerations", "schedulingGates"] {
                    m.remove(f);
                }
            }
        }
        t
    };
    if strip(n.get("template")) != strip(o.get("template")) {
        errs.push(FieldError::immutable(
            "spec.template",
            n.get("template").cloned().unwrap_or(Value::Null),
        ));
    }
    for f in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
        "podReplacementPolicy",
    ] {
        errs.extend(immutable(n.get(f), o.get(f), &format!("spec.{f}")));
    }
    errs
}

impl Strategy for Job {
    fn default(&self, obj: &mut Value) {
        copy_template_labels_to_job(obj);
        if let Some(spec) = json::obj(obj, "spec") {
            default_job_spec(spec);
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({}));
        }
        if json::at(obj, &["spec", "manualSelector"]).and_then(Value::as_bool) != Some(true) {
            generate_selector(obj);
        }
        copy_template_labels_to_job(obj);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(validate_job_spec(obj.get("spec").unwrap_or(&json!({}))));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_job_spec(new.get("spec").unwrap_or(&json!({}))));
        errs.extend(validate_job_update(new, old));
        errs
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------- CronJob

pub struct CronJob;
pub static CRON_JOB: CronJob = CronJob;

fn validate_time_zone(tz: Option<&Value>) -> Vec<FieldError> {
    let p = "spec.timeZone";
    match tz {
        Some(Value::String(s)) if s.is_empty() => {
            vec![FieldError::invalid(
                p,
                "",
                "timeZone must be nil or non-empty string",
            )]
        }
        Some(Value::String(s)) if s.eq_ignore_ascii_case("local") => vec![FieldError::invalid(
            p,
            s.as_str(),
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )],
        Some(Value::String(s)) => {
            if jiff::tz::TimeZone::get(s).is_ok() {
                Vec::new()
            } else {
                vec![FieldError::invalid(
                    p,
                    s.as_str(),
                    format!("unknown time zone {s}"),
                )]
            }
        }
        _ => Vec::new(),
    }
}

fn validate_cron_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let schedule = str_at(spec, &["schedule"]);
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        let allow_tz = old.is_some_and(|o| str_at(o, &["spec", "schedule"]).contains("TZ"));
        if let Err(e) = cron::parse_standard(schedule) {
            errs.push(FieldError::invalid("spec.schedule", schedule, e));
        }
        if allow_tz && schedule.contains("TZ") && !json::unset(spec.get("timeZone")) {
            errs.push(FieldError::invalid(
                "spec.schedule",
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !allow_tz && schedule.contains("TZ") {
            errs.push(FieldError::invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    errs.extend(nonnegative(
        spec.get("startingDeadlineSeconds"),
        "spec.startingDeadlineSeconds",
    ));
    if old.is_none_or(|o| at(o, &["spec", "timeZone"]) != spec.get("timeZone")) {
        errs.extend(validate_time_zone(spec.get("timeZone")));
    }
    match str_at(spec, &["concurrencyPolicy"]) {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let jt = spec.get("jobTemplate").unwrap_or(&empty);
    errs.extend(super::meta::validate_labels(
        at(jt, &["metadata", "labels"]),
        "spec.jobTemplate.metadata.labels",
    ));
    errs.extend(super::meta::validate_annotations(
        at(jt, &["metadata", "annotations"]),
        "spec.jobTemplate.metadata.annotations",
    ));
    let js = jt.get("spec").unwrap_or(&empty);
    errs.extend(validate_job_spec_common(js, "spec.jobTemplate.spec"));
    if let Some(sel) = js.get("selector").filter(|s| !s.is_null()) {
        errs.push(FieldError::invalid_shown(
            "spec.jobTemplate.spec.selector",
            gofmt::label_selector(sel),
            "`selector` will be auto-generated",
        ));
    }
    if js.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            true,
            &["nil", "false"],
        ));
    }
    errs.extend(nonnegative(
        spec.get("successfulJobsHistoryLimit"),
        "spec.successfulJobsHistoryLimit",
    ));
    errs.extend(nonnegative(
        spec.get("failedJobsHistoryLimit"),
        "spec.failedJobsHistoryLimit",
    ));
    errs
}

fn cron_job_name_length(obj: &Value) -> Vec<FieldError> {
    let name = str_at(obj, &["metadata", "name"]);
    if name.len() > names::DNS1035_LABEL_MAX - 11 {
        vec![FieldError::invalid(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        )]
    } else {
        Vec::new()
    }
}

impl Strategy for CronJob {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = json::obj(obj, "spec") else {
            return;
        };
        json::default_str(spec, "concurrencyPolicy", "Allow");
        json::default(spec, "suspend", json!(false));
        json::default(spec, "successfulJobsHistoryLimit", json!(3));
        json::default(spec, "failedJobsHistoryLimit", json!(1));
        if let Some(jt) = json::obj(spec, "jobTemplate") {
            podspec::template_metadata(jt);
        }
        if let Some(t) = json::obj(spec, "jobTemplate")
            .and_then(|jt| json::obj(jt, "spec"))
            .and_then(|s| json::obj(s, "template"))
        {
            podspec::default_template(t);
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({}));
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(cron_job_name_length(obj));
        errs.extend(validate_cron_job(obj, None));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(validate_cron_job(new, Some(old)));
        errs
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}
