//! What a custom resource's schema says about each node that server-side
//! apply cares about: whether an object is a struct or a map, whether it is
//! atomic, and how a list merges (`x-kubernetes-list-type` atomic, set or
//! map with `x-kubernetes-list-map-keys`). Built-in kinds have no schema
//! here ([`Shape::NONE`]) and keep the rules of the built-in types.

use serde_json::Value;

/// How a list merges and is owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Owned and replaced as a whole.
    Atomic,
    /// Scalars, each owned on its own (`v:`).
    Set,
    /// Objects identified by these keys (`k:{...}`).
    Map(Vec<String>),
}

/// A node of a schema (`openAPIV3Schema` JSON), or no schema.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a>(Option<&'a Value>);

impl<'a> Shape<'a> {
    /// No schema: the built-in rules apply.
    pub const NONE: Shape<'static> = Shape(None);

    pub fn of(schema: Option<&'a Value>) -> Shape<'a> {
        Shape(schema)
    }

    pub fn is_known(&self) -> bool {
        self.0.is_some()
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.0.and_then(|s| s.get(k))
    }

    /// The schema of field `k` of an object: its property, or the schema of
    /// a map's values.
    pub fn field(&self, k: &str) -> Shape<'a> {
        if let Some(p) = self.get("properties").and_then(|p| p.get(k)) {
            return Shape(Some(p));
        }
        match self.get("additionalProperties") {
            Some(a) if a.is_object() => Shape(Some(a)),
            // A map of anything, or preserved unknown fields: no schema below.
            _ => Shape(None),
        }
    }

    /// The schema of a list's items.
    pub fn items(&self) -> Shape<'a> {
        Shape(self.get("items").filter(|i| i.is_object()))
    }

    /// A map (`additionalProperties`) rather than a struct (`properties`):
    /// maps own their keys one by one and carry a `.` entry.
    pub fn is_map(&self) -> Option<bool> {
        self.0?;
        Some(
            self.get("additionalProperties")
                .is_some_and(|a| a != &Value::Bool(false))
                && self.get("properties").is_none(),
        )
    }

    /// `x-kubernetes-map-type: atomic` (or an embedded resource's metadata
    /// left alone): the object is owned and replaced whole.
    pub fn is_atomic_map(&self) -> Option<bool> {
        self.0?;
        Some(self.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic"))
    }

    /// How this list merges; lists without a declared type are atomic.
    pub fn list_type(&self) -> Option<ListType> {
        self.0?;
        Some(
            match self.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => ListType::Set,
                Some("map") => ListType::Map(
                    self.get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => ListType::Atomic,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_nodes_tell_list_and_map_types() {
        let s = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["port", "protocol"],
                          "items": {"type": "object"}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "properties": {"a": {"type": "string"}}},
            }},
        }});
        let root = Shape::of(Some(&s));
        let spec = root.field("spec");
        assert_eq!(
            spec.field("ports").list_type(),
            Some(ListType::Map(vec!["port".into(), "protocol".into()]))
        );
        assert_eq!(spec.field("tags").list_type(), Some(ListType::Set));
        assert_eq!(spec.field("args").list_type(), Some(ListType::Atomic));
        assert_eq!(spec.field("labels").is_map(), Some(true));
        assert_eq!(spec.is_map(), Some(false));
        assert_eq!(spec.field("selector").is_atomic_map(), Some(true));
        assert!(spec.field("labels").field("anything").is_known());
        assert_eq!(Shape::NONE.list_type(), None);
    }
}
