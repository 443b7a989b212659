//! rbac.authorization.k8s.io bindings. Roles and ClusterRoles have no
//! printer upstream: they get the default table (`Name`, `Created At`).

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{age, arr, name, s};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    let (role_doc, what) = match kind {
        "RoleBinding" => (docs::ROLEBINDING_ROLE, "roleBinding"),
        "ClusterRoleBinding" => (docs::CLUSTERROLEBINDING_ROLE, "clusterRoleBinding"),
        _ => return None,
    };
    Some(Printer {
        columns: vec![
            Column::name(),
            Column::string("Role", role_doc),
            Column::age(),
            Column::string("Users", &format!("Users in the {what}")).wide(),
            Column::string("Groups", &format!("Groups in the {what}")).wide(),
            Column::string("ServiceAccounts", &format!("ServiceAccounts in the {what}")).wide(),
        ],
        row: binding_row,
    })
}

fn binding_row(o: &Value, now: Timestamp) -> Row {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut sas = Vec::new();
    for subject in arr(o, "/subjects") {
        match s(subject, "/kind") {
            "ServiceAccount" => sas.push(format!(
                "{}/{}",
                s(subject, "/namespace"),
                s(subject, "/name")
            )),
            "User" => users.push(s(subject, "/name").to_string()),
            "Group" => groups.push(s(subject, "/name").to_string()),
            _ => {}
        }
    }
    Row::new(vec![
        json!(name(o)),
        json!(format!(
            "{}/{}",
            s(o, "/roleRef/kind"),
            s(o, "/roleRef/name")
        )),
        json!(age(o, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ])
}
