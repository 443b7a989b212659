//! policy PodDisruptionBudgets.

use serde_json::json;

use super::format::{age, i, int_or_string, name};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    (kind == "PodDisruptionBudget").then(|| Printer {
        columns: vec![
            Column::name(),
            Column::string(
                "Min Available",
                "The minimum number of pods that must be available.",
            ),
            Column::string(
                "Max Unavailable",
                "The maximum number of pods that may be unavailable.",
            ),
            Column::integer(
                "Allowed Disruptions",
                "Calculated number of pods that may be disrupted at this time.",
            ),
            Column::age(),
        ],
        row: |o, now| {
            let or_na = |p: &str| match o.pointer(p) {
                Some(v) if !v.is_null() => int_or_string(v),
                _ => "N/A".to_string(),
            };
            Row::new(vec![
                json!(name(o)),
                json!(or_na("/spec/minAvailable")),
                json!(or_na("/spec/maxUnavailable")),
                json!(i(o, "/status/disruptionsAllowed")),
                json!(age(o, now)),
            ])
        },
    })
}
