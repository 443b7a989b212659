//! The parsed schema node: a CRD version's `openAPIV3Schema`
//! (`JSONSchemaProps`) read leniently from JSON. Fields the structural
//! check must see but validation never uses (`$ref`, `id`,
//! `patternProperties`, ...) are checked on the raw JSON instead
//! (see `check_structural`).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `additionalProperties`: a bool or a schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Additional {
    Bool(bool),
    Schema(Box<Schema>),
}

/// A parsed schema node (from a CRD version's `schema.openAPIV3Schema` JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// `type`; empty when unset.
    pub type_: String,
    /// `format` as written (unsupported formats are ignored by validation).
    pub format: String,
    pub title: String,
    pub description: String,
    pub nullable: bool,
    /// `default`; `Some(Value::Null)` for `default: null`.
    pub default: Option<Value>,
    pub enum_: Option<Vec<Value>>,
    pub pattern: String,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    /// `properties`, sorted by name (upstream iterates a Go map; we are
    /// deterministic).
    pub properties: BTreeMap<String, Schema>,
    pub additional_properties: Option<Additional>,
    pub items: Option<Box<Schema>>,
    pub all_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
    /// `x-kubernetes-preserve-unknown-fields` (`Some(false)` is kept so the
    /// structural check can reject it).
    pub preserve_unknown_fields: Option<bool>,
    pub embedded_resource: bool,
    pub int_or_string: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    /// `x-kubernetes-validations` as written (CEL rules, for `crd::cel`).
    pub validations: Vec<Value>,
}

impl Schema {
    /// Parse an openAPIV3Schema (JSONSchemaProps as JSON). Never panics on
    /// odd input: fields of the wrong JSON type are ignored.
    pub fn parse(v: &Value) -> Schema {
        let Some(m) = v.as_object() else {
            return Schema::default();
        };
        Schema {
            type_: string(m, "type"),
            format: string(m, "format"),
            title: string(m, "title"),
            description: string(m, "description"),
            nullable: boolean(m, "nullable"),
            default: m.get("default").cloned(),
            enum_: m.get("enum").and_then(Value::as_array).cloned(),
            pattern: string(m, "pattern"),
            maximum: m.get("maximum").and_then(Value::as_f64),
            exclusive_maximum: boolean(m, "exclusiveMaximum"),
            minimum: m.get("minimum").and_then(Value::as_f64),
            exclusive_minimum: boolean(m, "exclusiveMinimum"),
            multiple_of: m.get("multipleOf").and_then(Value::as_f64),
            max_length: int(m, "maxLength"),
            min_length: int(m, "minLength"),
            max_items: int(m, "maxItems"),
            min_items: int(m, "minItems"),
            unique_items: boolean(m, "uniqueItems"),
            max_properties: int(m, "maxProperties"),
            min_properties: int(m, "minProperties"),
            required: strings(m, "required"),
            properties: m
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.clone(), Schema::parse(v)))
                        .collect()
                })
                .unwrap_or_default(),
            additional_properties: match m.get("additionalProperties") {
                Some(Value::Bool(b)) => Some(Additional::Bool(*b)),
                Some(v @ Value::Object(_)) => Some(Additional::Schema(Box::new(Schema::parse(v)))),
                _ => None,
            },
            items: match m.get("items") {
                Some(v @ Value::Object(_)) => Some(Box::new(Schema::parse(v))),
                _ => None,
            },
            all_of: list(m, "allOf"),
            any_of: list(m, "anyOf"),
            one_of: list(m, "oneOf"),
            not: m
                .get("not")
                .filter(|v| v.is_object())
                .map(|v| Box::new(Schema::parse(v))),
            preserve_unknown_fields: m
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool),
            embedded_resource: boolean(m, "x-kubernetes-embedded-resource"),
            int_or_string: boolean(m, "x-kubernetes-int-or-string"),
            list_type: m
                .get("x-kubernetes-list-type")
                .and_then(Value::as_str)
                .map(str::to_string),
            list_map_keys: strings(m, "x-kubernetes-list-map-keys"),
            map_type: m
                .get("x-kubernetes-map-type")
                .and_then(Value::as_str)
                .map(str::to_string),
            validations: m
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The node at a field path of object keys, e.g. `["spec","replicas"]`:
    /// a declared property, else the `additionalProperties` schema.
    pub fn at(&self, path: &[&str]) -> Option<&Schema> {
        let mut node = self;
        for key in path {
            node = match node.properties.get(*key) {
                Some(p) => p,
                None => node.additional_schema()?,
            };
        }
        Some(node)
    }

    /// `x-kubernetes-list-type` at this node (`atomic`, `set` or `map`).
    pub fn list_type(&self) -> Option<&str> {
        self.list_type.as_deref()
    }

    /// `x-kubernetes-list-map-keys` at this node.
    pub fn list_map_keys(&self) -> &[String] {
        &self.list_map_keys
    }

    /// `x-kubernetes-map-type` at this node (`atomic` or `granular`).
    pub fn map_type(&self) -> Option<&str> {
        self.map_type.as_deref()
    }

    /// The schema of `additionalProperties` when it is one.
    pub fn additional_schema(&self) -> Option<&Schema> {
        match &self.additional_properties {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub fn preserves_unknown(&self) -> bool {
        self.preserve_unknown_fields == Some(true)
    }

    /// The types kube-openapi checks: `[integer, string]` for
    /// int-or-string, else the declared type (if any).
    pub(crate) fn types(&self) -> Vec<&str> {
        if self.int_or_string {
            vec!["integer", "string"]
        } else if self.type_.is_empty() {
            Vec::new()
        } else {
            vec![self.type_.as_str()]
        }
    }
}

fn string(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn boolean(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn int(m: &Map<String, Value>, k: &str) -> Option<i64> {
    let v = m.get(k)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn strings(m: &Map<String, Value>, k: &str) -> Vec<String> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn list(m: &Map<String, Value>, k: &str) -> Vec<Schema> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Schema::parse).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_nested_nodes_and_extensions() {
        let s = Schema::parse(&json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "minimum": 1, "default": 1},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["port"],
                              "items": {"type": "object"}},
                    "labels": {"type": "object", "x-kubernetes-map-type": "atomic",
                               "additionalProperties": {"type": "string"}}
                }}
            }
        }));
        let r = s
            .at(&["spec", "replicas"])
            .map(|r| (r.type_.as_str(), r.minimum));
        assert_eq!(r, Some(("integer", Some(1.0))));
        let ports = s.at(&["spec", "ports"]);
        assert_eq!(ports.and_then(Schema::list_type), Some("map"));
        assert_eq!(
            ports.map(Schema::list_map_keys),
            Some(&["port".to_string()][..])
        );
        assert_eq!(
            s.at(&["spec", "labels"]).and_then(Schema::map_type),
            Some("atomic")
        );
        assert_eq!(
            s.at(&["spec", "labels", "x"]).map(|x| x.type_.as_str()),
            Some("string")
        );
        assert!(s.at(&["spec", "missing"]).is_none());
    }

    #[test]
    fn odd_input_never_panics() {
        assert_eq!(Schema::parse(&json!("x")), Schema::default());
        let s =
            Schema::parse(&json!({"type": 3, "properties": [], "items": [{}], "required": "a"}));
        assert_eq!(s, Schema::default());
    }
}
