//! What a schema says about each node of an object that strategic merge
//! patch and server-side apply care about: whether an object is a struct or
//! a map, whether it is atomic, how a list merges (`x-kubernetes-list-type`
//! atomic, set or map with `x-kubernetes-list-map-keys`) and how a strategic
//! patch merges it (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`).
//!
//! The schema is a custom resource's `openAPIV3Schema`, or a built-in
//! kind's OpenAPI definition with its `$ref`s resolved against every
//! definition (`openapi::extensions::kind_shape`). Where there is no schema
//! ([`Shape::NONE`]: unknown or preserved fields), objects are granular maps
//! and lists atomic, as structured-merge-diff deduces.

use serde_json::{Map, Value};

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

/// How a strategic merge patch merges a field (the Go types' `patchStrategy`
/// and `patchMergeKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatchStrategy<'a> {
    /// `merge`: lists merge (by `merge_key` for objects, as sets for scalars).
    pub merge: bool,
    /// `retainKeys`: the patch's `$retainKeys` clears the other fields.
    pub retain_keys: bool,
    pub merge_key: Option<&'a str>,
}

/// Where `$ref`s point in the built-in definitions.
const REF_PREFIX: &str = "#/components/schemas/";

/// A node of a schema, or no schema.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    node: Option<&'a Value>,
    /// The definitions `$ref`s resolve against (built-in kinds).
    defs: Option<&'a Map<String, Value>>,
}

impl<'a> Shape<'a> {
    /// No schema: structured-merge-diff's deduced rules apply.
    pub const NONE: Shape<'static> = Shape {
        node: None,
        defs: None,
    };

    /// A custom resource's schema (no references).
    pub fn of(schema: Option<&'a Value>) -> Shape<'a> {
        Shape {
            node: schema,
            defs: None,
        }
    }

    /// A node of the built-in definitions, `$ref`s resolved through `defs`.
    pub fn typed(node: Option<&'a Value>, defs: &'a Map<String, Value>) -> Shape<'a> {
        Shape {
            node,
            defs: Some(defs),
        }
    }

    pub fn is_known(&self) -> bool {
        self.node.is_some()
    }

    fn with(&self, node: Option<&'a Value>) -> Shape<'a> {
        Shape {
            node,
            defs: self.defs,
        }
    }

    /// The definition a `$ref` node points at.
    fn target(&self) -> Option<&'a Value> {
        let node = self.node?;
        let reference = node.get("$ref").or_else(|| {
            node.get("allOf")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|f| f.get("$ref"))
        })?;
        let name = reference.as_str()?;
        self.defs?
            .get(name.strip_prefix(REF_PREFIX).unwrap_or(name))
    }

    /// Keyword `k` of this node, else of the definition it references
    /// (extensions sit on the property, beside its `$ref`, or on the type).
    fn get(&self, k: &str) -> Option<&'a Value> {
        let node = self.node?;
        node.get(k).or_else(|| self.target().and_then(|t| t.get(k)))
    }

    fn str(&self, k: &str) -> Option<&'a str> {
        self.get(k).and_then(Value::as_str)
    }

    /// The schema of field `k` of an object: its property, or the schema of
    /// a map's values.
    pub fn field(&self, k: &str) -> Shape<'a> {
        if let Some(p) = self.get("properties").and_then(|p| p.get(k)) {
            return self.with(Some(p));
        }
        match self.get("additionalProperties") {
            Some(a) if a.is_object() => self.with(Some(a)),
            // A map of anything, or preserved unknown fields: no schema below.
            _ => Shape::NONE,
        }
    }

    /// The schema of a list's items.
    pub fn items(&self) -> Shape<'a> {
        match self.get("items").filter(|i| i.is_object()) {
            Some(i) => self.with(Some(i)),
            None => Shape::NONE,
        }
    }

    /// A map (`additionalProperties`, or no schema) rather than a struct
    /// (`properties`): maps own their keys one by one and carry a `.` entry.
    pub fn is_map(&self) -> bool {
        if self.node.is_none() {
            return true;
        }
        if self.get("properties").is_none()
            && self.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        {
            return true;
        }
        self.get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
            && self.get("properties").is_none()
    }

    /// `nullable: true` (custom resources): a null is a value, not "unset".
    pub fn is_nullable(&self) -> bool {
        self.get("nullable") == Some(&Value::Bool(true))
    }

    /// `x-kubernetes-map-type: atomic` (a map or struct owned and replaced
    /// whole).
    pub fn is_atomic_map(&self) -> bool {
        self.str("x-kubernetes-map-type") == Some("atomic")
    }

    /// How this list merges under server-side apply: its declared
    /// `x-kubernetes-list-type`, else (structured-merge-diff's reading of
    /// the Go types) a map by the patch merge key when the patch strategy
    /// merges, a set when it merges without a key, else atomic.
    pub fn list_type(&self) -> ListType {
        match self.str("x-kubernetes-list-type") {
            Some("set") => return ListType::Set,
            Some("map") => {
                return ListType::Map(
                    self.get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            }
            Some(_) => return ListType::Atomic,
            None => {}
        }
        let strategy = self.patch_strategy();
        match (strategy.merge, strategy.merge_key) {
            (true, Some(k)) => ListType::Map(vec![k.to_string()]),
            (true, None) => ListType::Set,
            (false, _) => ListType::Atomic,
        }
    }

    /// How a strategic merge patch merges this field.
    pub fn patch_strategy(&self) -> PatchStrategy<'a> {
        let strategies = self.str("x-kubernetes-patch-strategy").unwrap_or("");
        PatchStrategy {
            merge: strategies.split(',').any(|s| s == "merge"),
            retain_keys: strategies.split(',').any(|s| s == "retainKeys"),
            merge_key: self
                .str("x-kubernetes-patch-merge-key")
                .filter(|k| !k.is_empty()),
        }
    }
}

/// The value of key field `k` of an associative list item, with the
/// default the API gives it when left out (ports' `protocol` is TCP), as
/// structured-merge-diff keys items from defaulted schemas.
pub fn key_value(item: &Value, k: &str) -> Option<Value> {
    match item.get(k) {
        Some(v) => Some(v.clone()),
        None if k == "protocol" => Some(Value::from("TCP")),
        None => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(spec.field("tags").list_type(), ListType::Set);
        assert_eq!(spec.field("args").list_type(), ListType::Atomic);
        assert!(spec.field("labels").is_map());
        assert!(!spec.is_map());
        assert!(spec.field("selector").is_atomic_map());
        assert!(spec.field("labels").field("anything").is_known());
        assert_eq!(Shape::NONE.list_type(), ListType::Atomic);
        assert!(Shape::NONE.is_map());
    }

    #[test]
    fn refs_resolve_and_patch_strategies_imply_list_types() {
        let defs = json!({
            "A": {"properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/B"},
                          "x-kubernetes-patch-strategy": "merge",
                          "x-kubernetes-patch-merge-key": "name"},
                "names": {"type": "array", "items": {"type": "string"},
                          "x-kubernetes-patch-strategy": "merge"},
                "b": {"$ref": "#/components/schemas/B",
                      "x-kubernetes-patch-strategy": "retainKeys"},
            }},
            "B": {"x-kubernetes-map-type": "atomic",
                  "properties": {"name": {"type": "string"}}},
        });
        let defs = defs.as_object().unwrap();
        let a = Shape::typed(defs.get("A"), defs);
        assert_eq!(
            a.field("items").list_type(),
            ListType::Map(vec!["name".into()])
        );
        assert_eq!(a.field("names").list_type(), ListType::Set);
        assert!(a.field("items").items().is_atomic_map());
        let b = a.field("b");
        assert!(b.patch_strategy().retain_keys && !b.patch_strategy().merge);
        assert!(b.is_atomic_map());
        assert!(b.field("name").is_known());
        assert!(!b.is_map());
    }

    #[test]
    fn omitted_protocols_key_as_tcp() {
        assert_eq!(
            key_value(&json!({"port": 80}), "protocol"),
            Some(json!("TCP"))
        );
        assert_eq!(key_value(&json!({"port": 80}), "port"), Some(json!(80)));
        assert_eq!(key_value(&json!({}), "name"), None);
    }
}
