//! scheduling.k8s.io PriorityClasses.

use serde_json::json;

use super::docs;
use super::format::{age, i, name, opt_b, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    (kind == "PriorityClass").then(|| Printer {
        columns: vec![
            Column::name(),
            Column::integer("Value", docs::PC_VALUE),
            Column::boolean("Global-Default", docs::PC_GLOBAL_DEFAULT),
            Column::age(),
            Column::string("PreemptionPolicy", docs::PC_PREEMPTION),
        ],
        row: |o, now| {
            Row::new(vec![
                json!(name(o)),
                json!(i(o, "/value")),
                json!(opt_b(o, "/globalDefault").unwrap_or(false)),
                json!(age(o, now)),
                json!(s(o, "/preemptionPolicy")),
            ])
        },
    })
}
