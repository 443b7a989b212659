//! admissionregistration.k8s.io kinds.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::format::{age, len, name, opt_s, s};
use super::{Column, Printer, Row};
use crate::selectors::LabelSelector;

const WEBHOOKS: &str = "Webhooks indicates the number of webhooks registered in this configuration";
const PARAM_KIND: &str =
    "ParamKind specifies the kind of resources used to parameterize this policy";
const POLICY_NAME: &str =
    "PolicyName indicates the policy definition which the policy binding binded to";
const PARAM_REF: &str = "ParamRef indicates the param resource which sets the configration param";

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => Printer {
            columns: vec![Column::name(), Column::integer("Webhooks", WEBHOOKS), Column::age()],
            row: |o, now| Row::new(vec![json!(name(o)), json!(len(o, "/webhooks")), json!(age(o, now))]),
        },
        "ValidatingAdmissionPolicy" => Printer {
            columns: vec![
                Column::name(),
                Column::integer(
                    "Validations",
                    "Validations indicates the number of validation rules defined in this configuration",
                ),
                Column::string("ParamKind", PARAM_KIND),
                Column::age(),
            ],
            row: |o, now| policy_row(o, "/spec/validations", now),
        },
        "MutatingAdmissionPolicy" => Printer {
            columns: vec![
                Column::name(),
                Column::integer(
                    "Mutations",
                    "Mutation indicates the number of mutations rules defined in this configuration",
                ),
                Column::string("ParamKind", PARAM_KIND),
                Column::age(),
            ],
            row: |o, now| policy_row(o, "/spec/mutations", now),
        },
        "ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicyBinding" => Printer {
            columns: vec![
                Column::name(),
                Column::string("PolicyName", POLICY_NAME),
                Column::string("ParamRef", PARAM_REF),
                Column::age(),
            ],
            row: binding_row,
        },
        _ => return None,
    })
}

fn policy_row(o: &Value, rules: &str, now: Timestamp) -> Row {
    let param_kind = match o.pointer("/spec/paramKind") {
        Some(p) if p.is_object() => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")),
        _ => "<unset>".to_string(),
    };
    Row::new(vec![
        json!(name(o)),
        json!(len(o, rules)),
        json!(param_kind),
        json!(age(o, now)),
    ])
}

fn binding_row(o: &Value, now: Timestamp) -> Row {
    let param = match o.pointer("/spec/paramRef") {
        Some(p) if p.is_object() => match opt_s(p, "/name") {
            Some(n) => match opt_s(p, "/namespace") {
                Some(ns) => format!("{ns}/{n}"),
                None => format!("*/{n}"),
            },
            None => match p.get("selector").filter(|v| !v.is_null()) {
                Some(sel) => LabelSelector::from_json(Some(sel))
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                None => "<unset>".to_string(),
            },
        },
        _ => "<unset>".to_string(),
    };
    Row::new(vec![
        json!(name(o)),
        json!(s(o, "/spec/policyName")),
        json!(param),
        json!(age(o, now)),
    ])
}
