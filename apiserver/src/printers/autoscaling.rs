//! autoscaling: HorizontalPodAutoscalers (v2 objects, and v1's CPU target) and
//! the `scale` subresource.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, i, name, opt_i, quantity, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    match kind {
        "HorizontalPodAutoscaler" => Some(hpa_printer()),
        "Scale" => Some(scale_printer()),
        _ => None,
    }
}

/// The `scale` subresource (upstream `printScale`; its Name column has no
/// `name` format).
fn scale_printer() -> Printer {
    Printer {
        columns: vec![
            Column::string("Name", docs::NAME),
            Column::integer(
                "Desired",
                "replicas is the desired number of instances for the scaled object.",
            ),
            Column::integer(
                "Available",
                "replicas is the actual number of observed instances of the scaled object.",
            ),
            Column::age(),
        ],
        row: |o, now| {
            Row::new(vec![
                json!(name(o)),
                json!(i(o, "/spec/replicas")),
                json!(i(o, "/status/replicas")),
                json!(age(o, now)),
            ])
        },
    }
}

fn hpa_printer() -> Printer {
    Printer {
        columns: vec![
            Column::name(),
            Column::string("Reference", docs::HPA_REFERENCE),
            Column::string("Targets", docs::HPA_METRICS),
            Column::string("MinPods", docs::HPA_MIN),
            Column::string("MaxPods", docs::HPA_MAX),
            Column::string("Replicas", docs::HPA_CURRENT),
            Column::age(),
        ],
        row: hpa_row,
    }
}

fn hpa_row(o: &Value, now: Timestamp) -> Row {
    let reference = format!(
        "{}/{}",
        s(o, "/spec/scaleTargetRef/kind"),
        s(o, "/spec/scaleTargetRef/name")
    );
    let min =
        opt_i(o, "/spec/minReplicas").map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    Row::new(vec![
        json!(name(o)),
        json!(reference),
        json!(format_metrics(o)),
        json!(min),
        json!(i(o, "/spec/maxReplicas")),
        json!(i(o, "/status/currentReplicas")),
        json!(age(o, now)),
    ])
}

/// A quantity at `pointer` under `v`; upstream prints a nil quantity `<nil>`.
fn q(v: Option<&Value>, pointer: &str) -> Option<String> {
    match v?.pointer(pointer)? {
        q @ (Value::String(_) | Value::Number(_)) => Some(quantity(Some(q))),
        _ => None,
    }
}

/// (spec metrics, status metrics), with autoscaling/v1's CPU percentage
/// mapped to the equivalent v2 Resource metric.
fn metrics(o: &Value) -> (Vec<Value>, Vec<Value>) {
    if let Some(target) = opt_i(o, "/spec/targetCPUUtilizationPercentage") {
        let spec = vec![
            json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}),
        ];
        let status = match opt_i(o, "/status/currentCPUUtilizationPercentage") {
            Some(c) => vec![
                json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": c}}}),
            ],
            None => Vec::new(),
        };
        return (spec, status);
    }
    (
        arr(o, "/spec/metrics").to_vec(),
        arr(o, "/status/currentMetrics").to_vec(),
    )
}

/// upstream `formatHPAMetrics`: at most 2 targets, then `+ N more...`.
fn format_metrics(o: &Value) -> String {
    let (specs, statuses) = metrics(o);
    if specs.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 2;
    let unknown = || "<unknown>".to_string();
    let mut list: Vec<String> = Vec::new();
    for (idx, spec) in specs.iter().enumerate() {
        let status = statuses.get(idx);
        let st = |field: &str| status.and_then(|s| s.get(field)).filter(|v| v.is_object());
        let entry = match s(spec, "/type") {
            "External" | "Object" => {
                let field = if s(spec, "/type") == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = spec.get(field);
                match q(target, "/target/averageValue") {
                    Some(avg) => {
                        let current = q(st(field), "/current/averageValue").unwrap_or_else(unknown);
                        format!("{current}/{avg} (avg)")
                    }
                    None => {
                        let current = match st(field) {
                            Some(v) => {
                                q(Some(v), "/current/value").unwrap_or_else(|| "<nil>".to_string())
                            }
                            None => unknown(),
                        };
                        let value =
                            q(target, "/target/value").unwrap_or_else(|| "<nil>".to_string());
                        format!("{current}/{value}")
                    }
                }
            }
            "Pods" => {
                let current = match st("pods") {
                    Some(v) => {
                        q(Some(v), "/current/averageValue").unwrap_or_else(|| "<nil>".to_string())
                    }
                    None => unknown(),
                };
                let avg = q(spec.get("pods"), "/target/averageValue")
                    .unwrap_or_else(|| "<nil>".to_string());
                format!("{current}/{avg}")
            }
            t @ ("Resource" | "ContainerResource") => {
                let field = if t == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let target = spec.get(field);
                let res = target.map(|t| s(t, "/name")).unwrap_or_default();
                match q(target, "/target/averageValue") {
                    Some(avg) => {
                        let current = match st(field) {
                            Some(v) => q(Some(v), "/current/averageValue")
                                .unwrap_or_else(|| "<nil>".to_string()),
                            None => unknown(),
                        };
                        format!("{res}: {current}/{avg}")
                    }
                    None => {
                        let current = st(field)
                            .and_then(|v| v.pointer("/current/averageUtilization"))
                            .and_then(Value::as_i64)
                            .map_or_else(unknown, |u| format!("{u}%"));
                        let target = target
                            .and_then(|t| t.pointer("/target/averageUtilization"))
                            .and_then(Value::as_i64)
                            .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                        format!("{res}: {current}/{target}")
                    }
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(entry);
    }
    let count = list.len();
    if count > MAX {
        list.truncate(MAX);
        return format!("{} + {} more...", list.join(", "), count - MAX);
    }
    list.join(", ")
}
