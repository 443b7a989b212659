//! storage.k8s.io kinds.

use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, len, name, opt_b, quantity, s};
use super::{Column, Printer, Row};

/// `storageutil.IsDefaultAnnotation`: the GA or beta default-class annotation.
fn is_default_class(o: &Value) -> bool {
    [
        "storageclass.kubernetes.io~1is-default-class",
        "storageclass.beta.kubernetes.io~1is-default-class",
    ]
    .iter()
    .any(|a| {
        o.pointer(&format!("/metadata/annotations/{a}"))
            .and_then(Value::as_str)
            == Some("true")
    })
}

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "StorageClass" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Provisioner", docs::SC_PROVISIONER),
                Column::string("ReclaimPolicy", docs::SC_RECLAIM),
                Column::string("VolumeBindingMode", docs::SC_BINDING_MODE),
                Column::string("AllowVolumeExpansion", docs::SC_EXPANSION),
                Column::age(),
            ],
            row: |o, now| {
                let mut n = name(o).to_string();
                if is_default_class(o) {
                    n.push_str(" (default)");
                }
                Row::new(vec![
                    json!(n),
                    json!(s(o, "/provisioner")),
                    json!(o.get("reclaimPolicy").and_then(Value::as_str).unwrap_or("Delete")),
                    json!(o.get("volumeBindingMode").and_then(Value::as_str).unwrap_or("Immediate")),
                    json!(opt_b(o, "/allowVolumeExpansion").unwrap_or(false)),
                    json!(age(o, now)),
                ])
            },
        },
        "VolumeAttributesClass" => Printer {
            columns: vec![Column::name(), Column::string("DriverName", ""), Column::age()],
            row: |o, now| {
                let mut n = name(o).to_string();
                let default = o
                    .pointer("/metadata/annotations/storage.kubernetes.io~1is-default-class")
                    .and_then(Value::as_str)
                    == Some("true");
                if default {
                    n.push_str(" (default)");
                }
                Row::new(vec![json!(n), json!(s(o, "/driverName")), json!(age(o, now))])
            },
        },
        "CSIDriver" => Printer {
            columns: vec![
                Column::name(),
                Column::boolean("AttachRequired", ""),
                Column::boolean("PodInfoOnMount", ""),
                Column::boolean("StorageCapacity", ""),
                Column::string("TokenRequests", ""),
                Column::boolean("RequiresRepublish", ""),
                Column::string("Modes", ""),
                Column::age(),
            ],
            row: |o, now| {
                let modes: Vec<&str> = arr(o, "/spec/volumeLifecycleModes").iter().filter_map(Value::as_str).collect();
                let tokens = match o.pointer("/spec/tokenRequests").and_then(Value::as_array) {
                    Some(t) => t.iter().map(|r| s(r, "/audience")).collect::<Vec<_>>().join(","),
                    None => "<unset>".to_string(),
                };
                Row::new(vec![
                    json!(name(o)),
                    json!(opt_b(o, "/spec/attachRequired").unwrap_or(true)),
                    json!(opt_b(o, "/spec/podInfoOnMount").unwrap_or(false)),
                    json!(opt_b(o, "/spec/storageCapacity").unwrap_or(false)),
                    json!(tokens),
                    json!(opt_b(o, "/spec/requiresRepublish").unwrap_or(false)),
                    json!(if modes.is_empty() { "<none>".to_string() } else { modes.join(",") }),
                    json!(age(o, now)),
                ])
            },
        },
        "CSINode" => Printer {
            columns: vec![
                Column::name(),
                Column::integer("Drivers", "Drivers indicates the number of CSI drivers registered on the node"),
                Column::age(),
            ],
            row: |o, now| Row::new(vec![json!(name(o)), json!(len(o, "/spec/drivers")), json!(age(o, now))]),
        },
        "VolumeAttachment" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Attacher", "attacher indicates the name of the volume driver that MUST handle this request. This is the name returned by GetPluginName().").with_format("name"),
                Column::string("PV", ""),
                Column::string("Node", ""),
                Column::boolean("Attached", ""),
                Column::age(),
            ],
            row: |o, now| {
                Row::new(vec![
                    json!(name(o)),
                    json!(s(o, "/spec/attacher")),
                    json!(s(o, "/spec/source/persistentVolumeName")),
                    json!(s(o, "/spec/nodeName")),
                    json!(opt_b(o, "/status/attached").unwrap_or(false)),
                    json!(age(o, now)),
                ])
            },
        },
        "CSIStorageCapacity" => Printer {
            columns: vec![Column::name(), Column::string("StorageClassName", ""), Column::string("Capacity", "")],
            row: |o, _| {
                let capacity = match o.get("capacity") {
                    Some(v) if !v.is_null() => quantity(Some(v)),
                    _ => "<unset>".to_string(),
                };
                Row::new(vec![json!(name(o)), json!(s(o, "/storageClassName")), json!(capacity)])
            },
        },
        _ => return None,
    })
}
