//! CEL validation rules of custom resources (filled in by the CEL work).
//! Placeholder API.

use serde_json::Value;

use crate::strategy::FieldError;

pub fn validate(_schema: &Value, _obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    Vec::new()
}

pub fn check(_schema: &Value, _path: &str) -> Vec<FieldError> {
    Vec::new()
}
