//! discovery.k8s.io EndpointSlices.

use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, list_with_more, name, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    (kind == "EndpointSlice").then(|| Printer {
        columns: vec![
            Column::name(),
            Column::string("AddressType", docs::EPS_ADDRESS_TYPE),
            Column::string("Ports", docs::EPS_PORTS),
            Column::string("Endpoints", docs::EPS_ENDPOINTS),
            Column::age(),
        ],
        row: |o, now| {
            Row::new(vec![
                json!(name(o)),
                json!(s(o, "/addressType")),
                json!(format_ports(arr(o, "/ports"))),
                json!(format_endpoints(arr(o, "/endpoints"))),
                json!(age(o, now)),
            ])
        },
    })
}

const MAX: usize = 3;

fn format_ports(ports: &[Value]) -> String {
    let mut list = Vec::new();
    let mut more = false;
    for p in ports {
        if list.len() < MAX {
            let num = match (
                p.get("port").and_then(Value::as_i64),
                p.get("name").and_then(Value::as_str),
            ) {
                (Some(n), _) => n.to_string(),
                (None, Some(n)) => n.to_string(),
                (None, None) => "*".to_string(),
            };
            list.push(num);
        } else if list.len() == MAX {
            more = true;
        }
    }
    list_with_more(&list, more, ports.len(), MAX)
}

fn format_endpoints(endpoints: &[Value]) -> String {
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for e in endpoints {
        for a in arr(e, "/addresses") {
            if list.len() < MAX {
                list.push(a.as_str().unwrap_or_default().to_string());
            } else if list.len() == MAX {
                more = true;
            }
            count += 1;
        }
    }
    list_with_more(&list, more, count, MAX)
}
