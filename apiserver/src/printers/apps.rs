//! apps/v1 kinds.

use serde_json::{json, Value};

use super::docs;
use super::format::{age, containers, format_label_selector, format_labels, i, name, opt_i, s};
use super::{Column, Printer, Row};
use crate::selectors::LabelSelector;

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "Deployment" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Ready", "Number of the pod with ready state"),
                Column::string("Up-to-date", docs::DEPLOY_UPDATED),
                Column::string("Available", docs::DEPLOY_AVAILABLE),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::DEPLOY_SELECTOR).wide(),
            ],
            row: |o, now| {
                let (names, images) = containers(o.pointer("/spec/template/spec"));
                let selector = match LabelSelector::from_json(o.pointer("/spec/selector")) {
                    Ok(sel) => sel.to_string(),
                    Err(_) => "<invalid>".to_string(),
                };
                Row::new(vec![
                    json!(name(o)),
                    json!(format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        opt_i(o, "/spec/replicas").unwrap_or(1)
                    )),
                    json!(i(o, "/status/updatedReplicas")),
                    json!(i(o, "/status/availableReplicas")),
                    json!(age(o, now)),
                    json!(names),
                    json!(images),
                    json!(selector),
                ])
            },
        },
        "ReplicaSet" => Printer {
            columns: vec![
                Column::name(),
                Column::integer("Desired", docs::RS_SPEC_REPLICAS),
                Column::integer("Current", docs::RS_STATUS_REPLICAS),
                Column::integer("Ready", docs::RS_READY),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::RS_SELECTOR).wide(),
            ],
            row: |o, now| {
                let (names, images) = containers(o.pointer("/spec/template/spec"));
                Row::new(vec![
                    json!(name(o)),
                    json!(opt_i(o, "/spec/replicas").unwrap_or(1)),
                    json!(i(o, "/status/replicas")),
                    json!(i(o, "/status/readyReplicas")),
                    json!(age(o, now)),
                    json!(names),
                    json!(images),
                    json!(format_label_selector(o.pointer("/spec/selector"))),
                ])
            },
        },
        "StatefulSet" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Ready", "Number of the pod with ready state"),
                Column::age(),
                Column::containers(),
                Column::images(),
            ],
            row: |o, now| {
                let (names, images) = containers(o.pointer("/spec/template/spec"));
                Row::new(vec![
                    json!(name(o)),
                    json!(format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        opt_i(o, "/spec/replicas").unwrap_or(1)
                    )),
                    json!(age(o, now)),
                    json!(names),
                    json!(images),
                ])
            },
        },
        "DaemonSet" => Printer {
            columns: vec![
                Column::name(),
                Column::integer("Desired", docs::DS_DESIRED),
                Column::integer("Current", docs::DS_CURRENT),
                Column::integer("Ready", docs::DS_READY),
                Column::integer("Up-to-date", docs::DS_UPDATED),
                Column::integer("Available", docs::DS_AVAILABLE),
                Column::string("Node Selector", docs::POD_NODE_SELECTOR),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::DS_SELECTOR).wide(),
            ],
            row: |o, now| {
                let (names, images) = containers(o.pointer("/spec/template/spec"));
                Row::new(vec![
                    json!(name(o)),
                    json!(i(o, "/status/desiredNumberScheduled")),
                    json!(i(o, "/status/currentNumberScheduled")),
                    json!(i(o, "/status/numberReady")),
                    json!(i(o, "/status/updatedNumberScheduled")),
                    json!(i(o, "/status/numberAvailable")),
                    json!(format_labels(o.pointer("/spec/template/spec/nodeSelector"))),
                    json!(age(o, now)),
                    json!(names),
                    json!(images),
                    json!(format_label_selector(o.pointer("/spec/selector"))),
                ])
            },
        },
        "ControllerRevision" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Controller", "Controller of the object"),
                Column::string("Revision", docs::CONTROLLER_REVISION),
                Column::age(),
            ],
            row: |o, now| {
                Row::new(vec![
                    json!(name(o)),
                    json!(controller_name(o)),
                    json!(i(o, "/revision")),
                    json!(age(o, now)),
                ])
            },
        },
        _ => return None,
    })
}

/// The controlling owner as `kind.group/name` in lower case, or `<none>`.
fn controller_name(o: &Value) -> String {
    let owners = o
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(owner) = owners
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let api_version = s(owner, "/apiVersion");
    let group = match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    };
    let kind = s(owner, "/kind");
    let owner_name = s(owner, "/name");
    if kind.is_empty() && group.is_empty() {
        return owner_name.to_string();
    }
    let gk = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    format!("{}/{owner_name}", gk.to_lowercase())
}
