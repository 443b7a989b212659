//! apiregistration.k8s.io APIServices (kube-aggregator's printer).

use serde_json::{json, Value};

use super::format::{age, name, opt_s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    (kind == "APIService").then(|| Printer {
        columns: vec![
            Column::name(),
            Column::string(
                "Service",
                "The reference to the service that hosts this API endpoint.",
            ),
            Column::string("Available", "Whether this service is available."),
            Column::age(),
        ],
        row: |o, now| {
            let service = match (
                opt_s(o, "/spec/service/namespace"),
                opt_s(o, "/spec/service/name"),
            ) {
                (None, None) if o.pointer("/spec/service").is_none_or(Value::is_null) => {
                    "Local".to_string()
                }
                (ns, n) => format!("{}/{}", ns.unwrap_or(""), n.unwrap_or("")),
            };
            Row::new(vec![
                json!(name(o)),
                json!(service),
                json!(available(o)),
                json!(age(o, now)),
            ])
        },
    })
}

/// `True`, or `False (Reason)`, or `Unknown` without the condition.
fn available(o: &Value) -> String {
    let cond = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"))
        });
    let Some(c) = cond else {
        return "Unknown".into();
    };
    let status = c.get("status").and_then(Value::as_str).unwrap_or("");
    match c
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        Some(reason) if status != "True" => format!("{status} ({reason})"),
        _ => status.to_string(),
    }
}
