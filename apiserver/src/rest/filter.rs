//! `labelSelector` and `fieldSelector` turned into one predicate.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::registry::{meta, Predicate};
use crate::resources::ResourceInfo;
use crate::selectors::{self, FieldSelector, LabelSelector};

/// The selectors of a list, watch or deletecollection, and the name a
/// single-object watch is pinned to.
#[derive(Clone)]
pub struct Selection {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub name: Option<String>,
}

impl Selection {
    pub fn parse(
        info: &ResourceInfo,
        label: &str,
        field: &str,
        name: Option<&str>,
    ) -> ApiResult<Selection> {
        let labels = LabelSelector::parse(label).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(field).map_err(ApiError::bad_request)?;
        let fields = match info.custom {
            Some(c) => custom_fields(&c.selectable_fields, fields)?,
            None => {
                selectors::convert(info.group, info.kind, &fields).map_err(ApiError::bad_request)?
            }
        };
        Ok(Selection {
            labels,
            fields,
            name: name.map(str::to_string),
        })
    }

    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty() && self.name.is_none()
    }

    pub fn matches(&self, info: &ResourceInfo, obj: &Value) -> bool {
        if let Some(n) = &self.name {
            if meta::name(obj) != n {
                return false;
            }
        }
        self.labels.matches_object(obj)
            && self.fields.matches(|f| match info.custom {
                Some(_) => custom_field_value(obj, f),
                None => selectors::field_value(info.group, info.kind, obj, f),
            })
    }

    pub fn predicate(&self, info: &'static ResourceInfo) -> Option<Predicate> {
        if self.is_everything() {
            return None;
        }
        let sel = self.clone();
        Some(Arc::new(move |obj: &Value| sel.matches(info, obj)))
    }
}

/// Field selectors of a custom resource: `metadata.name`,
/// `metadata.namespace` and the CRD version's `selectableFields`.
fn custom_fields(selectable: &[String], fields: FieldSelector) -> ApiResult<FieldSelector> {
    for t in fields.terms() {
        let known = matches!(t.field.as_str(), "metadata.name" | "metadata.namespace")
            || selectable.contains(&t.field);
        if !known {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {}",
                t.field
            )));
        }
    }
    Ok(fields)
}

/// A selectable field's value as a selector compares it (scalars only).
fn custom_field_value(obj: &Value, field: &str) -> Option<String> {
    let v = field
        .split('.')
        .try_fold(obj, |v, k| v.get(k))
        .unwrap_or(&Value::Null);
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
