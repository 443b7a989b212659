//! batch/v1 kinds.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{
    age, arr, between, containers, format_label_selector, human_duration, i, name, opt_b, opt_i,
    parse_time, s, translate_timestamp_since,
};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "Job" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Status", "Status of the job."),
                Column::string("Completions", docs::JOB_SUCCEEDED),
                Column::string("Duration", "Time required to complete the job."),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::JOB_SELECTOR).wide(),
            ],
            row: job_row,
        },
        "CronJob" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Schedule", docs::CRONJOB_SCHEDULE),
                Column::string("Timezone", docs::CRONJOB_TIMEZONE),
                Column::boolean("Suspend", docs::CRONJOB_SUSPEND),
                Column::integer("Active", docs::CRONJOB_ACTIVE),
                Column::string("Last Schedule", docs::CRONJOB_LAST_SCHEDULE),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::JOB_SELECTOR).wide(),
            ],
            row: cronjob_row,
        },
        _ => return None,
    })
}

fn job_condition(o: &Value, type_: &str) -> bool {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .is_some_and(|c| s(c, "/status") == "True")
}

fn job_row(o: &Value, now: Timestamp) -> Row {
    let succeeded = i(o, "/status/succeeded");
    let completions = match opt_i(o, "/spec/completions") {
        Some(c) => format!("{succeeded}/{c}"),
        None => match opt_i(o, "/spec/parallelism").unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = parse_time(o.pointer("/status/startTime"));
    let duration = match (start, parse_time(o.pointer("/status/completionTime"))) {
        (None, _) => String::new(),
        (Some(st), None) => human_duration(between(st, now)),
        (Some(st), Some(done)) => human_duration(between(st, done)),
    };
    let status = if job_condition(o, "Complete") {
        "Complete"
    } else if job_condition(o, "Failed") {
        "Failed"
    } else if o
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else if job_condition(o, "Suspended") {
        "Suspended"
    } else if job_condition(o, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers(o.pointer("/spec/template/spec"));
    Row::new(vec![
        json!(name(o)),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(o, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(o.pointer("/spec/selector"))),
    ])
}

fn cronjob_row(o: &Value, now: Timestamp) -> Row {
    let last = match o.pointer("/status/lastScheduleTime") {
        Some(v) if !v.is_null() => translate_timestamp_since(Some(v), now),
        _ => "<none>".to_string(),
    };
    let suspend = match opt_b(o, "/spec/suspend") {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = containers(o.pointer("/spec/jobTemplate/spec/template/spec"));
    Row::new(vec![
        json!(name(o)),
        json!(s(o, "/spec/schedule")),
        json!(o
            .pointer("/spec/timeZone")
            .and_then(Value::as_str)
            .unwrap_or("<none>")),
        json!(suspend),
        json!(arr(o, "/status/active").len()),
        json!(last),
        json!(age(o, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(
            o.pointer("/spec/jobTemplate/spec/selector")
        )),
    ])
}
