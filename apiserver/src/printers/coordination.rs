//! coordination.k8s.io kinds.

use serde_json::{json, Value};

use super::docs;
use super::format::{age, name, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "Lease" => Printer {
            columns: vec![Column::name(), Column::string("Holder", docs::LEASE_HOLDER), Column::age()],
            row: |o, now| Row::new(vec![json!(name(o)), json!(s(o, "/spec/holderIdentity")), json!(age(o, now))]),
        },
        "LeaseCandidate" => Printer {
            columns: vec![
                Column::name(),
                Column::string("LeaseName", "LeaseName is the name of the lease for which this candidate is contending. This field is immutable."),
                Column::string("BinaryVersion", ""),
                Column::string("EmulationVersion", ""),
                Column::age(),
            ],
            row: |o: &Value, now| {
                Row::new(vec![
                    json!(name(o)),
                    json!(s(o, "/spec/leaseName")),
                    json!(s(o, "/spec/binaryVersion")),
                    json!(s(o, "/spec/emulationVersion")),
                    json!(age(o, now)),
                ])
            },
        },
        _ => return None,
    })
}
