//! networking.k8s.io kinds.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, format_label_selector, name, opt_s, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "Ingress" => Printer {
            columns: vec![
                Column::name(),
                Column::string(
                    "Class",
                    "The name of the IngressClass resource that should be used for additional configuration",
                ),
                Column::string("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
                Column::string("Address", "Address is a list containing ingress points for the load-balancer"),
                Column::string("Ports", "Ports of TLS configurations that open"),
                Column::age(),
            ],
            row: ingress_row,
        },
        "IngressClass" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Controller", "Controller that is responsible for handling this class"),
                Column::string("Parameters", "A reference to a resource with additional parameters"),
                Column::age(),
            ],
            row: |o, now| {
                let parameters = match o.pointer("/spec/parameters") {
                    Some(p) if p.is_object() => {
                        let mut out = s(p, "/kind").to_string();
                        if let Some(g) = p.get("apiGroup").and_then(Value::as_str) {
                            out = format!("{out}.{g}");
                        }
                        format!("{out}/{}", s(p, "/name"))
                    }
                    _ => "<none>".to_string(),
                };
                Row::new(vec![
                    json!(name(o)),
                    json!(s(o, "/spec/controller")),
                    json!(parameters),
                    json!(age(o, now)),
                ])
            },
        },
        "NetworkPolicy" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Pod-Selector", docs::NETPOL_POD_SELECTOR),
                Column::age(),
            ],
            row: |o, now| {
                // the pod selector is a struct upstream: absent means `{}`
                let empty = json!({});
                let sel = o.pointer("/spec/podSelector").filter(|v| !v.is_null()).unwrap_or(&empty);
                Row::new(vec![json!(name(o)), json!(format_label_selector(Some(sel))), json!(age(o, now))])
            },
        },
        "ServiceCIDR" => Printer {
            columns: vec![
                Column::name(),
                Column::string("CIDRs", "CIDRs defines the IP blocks in CIDR notation (e.g. \"192.168.0.0/24\" or \"2001:db8::/64\") from which to assign service cluster IPs. Max of two CIDRs is allowed, one of each IP family. This field is immutable."),
                Column::age(),
            ],
            row: |o, now| {
                let cidrs: Vec<&str> = arr(o, "/spec/cidrs").iter().filter_map(Value::as_str).collect();
                Row::new(vec![json!(name(o)), json!(cidrs.join(",")), json!(age(o, now))])
            },
        },
        "IPAddress" => Printer {
            columns: vec![
                Column::name(),
                Column::string("ParentRef", "ParentRef references the resource that an IPAddress is attached to. An IPAddress must reference a parent object."),
            ],
            row: |o, now| {
                let parent = match o.pointer("/spec/parentRef") {
                    Some(p) if p.is_object() => {
                        let resource = s(p, "/resource");
                        let group = s(p, "/group");
                        let mut out = if group.is_empty() {
                            resource.to_lowercase()
                        } else {
                            format!("{resource}.{group}").to_lowercase()
                        };
                        if let Some(ns) = opt_s(p, "/namespace") {
                            out = format!("{out}/{ns}");
                        }
                        format!("{out}/{}", s(p, "/name"))
                    }
                    _ => "<none>".to_string(),
                };
                // upstream appends the age although there is no column for it
                Row::new(vec![json!(name(o)), json!(parent), json!(age(o, now))])
            },
        },
        _ => return None,
    })
}

fn ingress_row(o: &Value, now: Timestamp) -> Row {
    let class = o
        .pointer("/spec/ingressClassName")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let rules = arr(o, "/spec/rules");
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        if !more {
            if let Some(h) = opt_s(rule, "/host") {
                hosts.push(h);
            }
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let address: BTreeSet<&str> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| opt_s(i, "/ip").or_else(|| opt_s(i, "/hostname")))
        .collect();
    let ports = if arr(o, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    Row::new(vec![
        json!(name(o)),
        json!(class),
        json!(hosts),
        json!(address.into_iter().collect::<Vec<_>>().join(",")),
        json!(ports),
        json!(age(o, now)),
    ])
}
