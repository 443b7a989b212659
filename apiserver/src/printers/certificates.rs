//! certificates.k8s.io CertificateSigningRequests.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, human_duration, name, opt_i, opt_s, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    (kind == "CertificateSigningRequest").then(|| Printer {
        columns: vec![
            Column::name(),
            Column::age(),
            Column::string("SignerName", docs::CSR_SIGNER),
            Column::string("Requestor", docs::CSR_REQUEST),
            Column::string("RequestedDuration", docs::CSR_EXPIRATION),
            Column::string("Condition", docs::CSR_CONDITIONS),
        ],
        row: csr_row,
    })
}

fn csr_row(o: &Value, now: Timestamp) -> Row {
    let (mut approved, mut denied, mut failed) = (false, false, false);
    for c in arr(o, "/status/conditions") {
        match s(c, "/type") {
            "Approved" => approved = true,
            "Denied" => denied = true,
            "Failed" => failed = true,
            _ => {}
        }
    }
    let mut status = if denied {
        "Denied"
    } else if approved {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if failed {
        status.push_str(",Failed");
    }
    if opt_s(o, "/status/certificate").is_some() {
        status.push_str(",Issued");
    }
    let duration = opt_i(o, "/spec/expirationSeconds").map_or_else(
        || "<none>".to_string(),
        |secs| human_duration(i128::from(secs) * 1_000_000_000),
    );
    Row::new(vec![
        json!(name(o)),
        json!(age(o, now)),
        json!(opt_s(o, "/spec/signerName").unwrap_or("<none>")),
        json!(s(o, "/spec/username")),
        json!(duration),
        json!(status),
    ])
}
