//! Structural schemas of custom resources (filled in by the schema work).
//! Placeholder API: parsed schemas that accept everything.

use serde_json::Value;

use crate::strategy::FieldError;

/// A parsed structural schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    raw: Value,
}

impl Schema {
    pub fn parse(v: &Value) -> Schema {
        Schema { raw: v.clone() }
    }
}

pub fn validate(_schema: &Schema, _obj: &Value) -> Vec<FieldError> {
    Vec::new()
}

pub fn prune(_schema: &Schema, _obj: &mut Value) -> Vec<String> {
    Vec::new()
}

pub fn apply_defaults(_schema: &Schema, _obj: &mut Value) {}

pub fn check_structural(_schema: &Value, _path: &str) -> Vec<FieldError> {
    Vec::new()
}
