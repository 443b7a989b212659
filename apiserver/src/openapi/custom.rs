//! OpenAPI definitions of custom resources: a CRD version's
//! `openAPIV3Schema` with `apiVersion`, `kind` and `metadata` added, and its
//! list kind, named as kube-apiserver names them (`com.example.stable.v1.CronTab`).

use serde_json::{json, Map, Value};

use super::schemas::{list_schema, Definitions, V3_PREFIX};
use crate::catalog::Catalog;
use crate::resources::ResourceInfo;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// `stable.example.com`, `v1`, `CronTab` -> `com.example.stable.v1.CronTab`.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// The built-in definitions plus those of every custom resource in `c`.
pub fn with_custom(builtin: &Definitions, c: &Catalog) -> Definitions {
    let mut defs = builtin.clone();
    for r in c.custom() {
        add(&mut defs, r);
    }
    defs
}

fn add(defs: &mut Definitions, r: &'static ResourceInfo) {
    let name = definition_name(r.group, r.version, r.kind);
    let schema = r
        .custom
        .and_then(|c| c.raw_schema.clone())
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let mut def = match schema {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut props = match def.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    props.insert(
        "apiVersion".into(),
        json!({"description": API_VERSION_DOC, "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": KIND_DOC, "type": "string"}),
    );
    props.insert(
        "metadata".into(),
        json!({"description": METADATA_DOC, "$ref": format!("{V3_PREFIX}{OBJECT_META}")}),
    );
    def.insert("properties".into(), Value::Object(props));
    def.entry("type").or_insert(json!("object"));
    def.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([{"group": r.group, "kind": r.kind, "version": r.version}]),
    );
    defs.defs.insert(name.clone(), Value::Object(def));
    defs.custom.insert(name.clone());
    defs.by_gvk
        .insert((r.group, r.version, r.kind), name.clone());

    let list_name = definition_name(r.group, r.version, r.list_kind);
    let mut list = list_schema(r.kind, &name);
    if let Some(m) = list.as_object_mut() {
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": r.group, "kind": r.list_kind, "version": r.version}]),
        );
    }
    defs.defs.insert(list_name.clone(), list);
    defs.by_gvk
        .insert((r.group, r.version, r.list_kind), list_name);
}

/// A CRD schema as Swagger 2.0 can say it (upstream's
/// `ToStructuralOpenAPIV2`): no `nullable` (a nullable field loses its type
/// and its place in `required`), no `anyOf`/`oneOf`/`allOf`/`not`, nothing
/// below a node that preserves unknown fields; references point into
/// `#/definitions/`.
pub fn to_swagger2(schema: &Value) -> Value {
    let mut out = super::schemas::rewrite_refs(schema, super::schemas::V2_PREFIX);
    swagger2_node(&mut out);
    out
}

fn swagger2_node(v: &mut Value) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    for k in ["anyOf", "oneOf", "allOf", "not"] {
        m.remove(k);
    }
    if m.remove("nullable") == Some(Value::Bool(true)) {
        m.remove("type");
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        m.remove("properties");
        m.remove("items");
    }
    let nullable: Vec<String> = m
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("nullable") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Array(req)) = m.get_mut("required") {
        req.retain(|r| r.as_str().is_none_or(|r| !nullable.iter().any(|n| n == r)));
        if req.is_empty() {
            m.remove("required");
        }
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for p in props.values_mut() {
            swagger2_node(p);
        }
    }
    for k in ["items", "additionalProperties"] {
        if let Some(c) = m.get_mut(k) {
            swagger2_node(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_reverse_the_group() {
        assert_eq!(
            definition_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
        assert_eq!(
            definition_name("cert-manager.io", "v1", "Certificate"),
            "io.cert-manager.v1.Certificate"
        );
    }

    #[test]
    fn swagger2_drops_what_it_cannot_say() {
        let v3 = serde_json::json!({"type": "object", "required": ["a", "c"], "properties": {
            "a": {"type": "string", "nullable": true},
            "b": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "c": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                  "properties": {"d": {"type": "string"}}},
        }});
        assert_eq!(
            to_swagger2(&v3),
            serde_json::json!({"type": "object", "required": ["c"], "properties": {
                "a": {},
                "b": {"x-kubernetes-int-or-string": true},
                "c": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            }})
        );
    }
}
