//! The generic checks of a CRD schema (apiextensions'
//! `ValidateCustomResourceDefinitionOpenAPISchema` with the options of a
//! new v1 CRD): unsupported keywords, defaults where they are forbidden,
//! list and map types. Run on the raw JSON, which keeps what the parsed
//! [`Schema`](super::node::Schema) drops.

use super::goval;
use crate::strategy::FieldError;
use serde_json::{Map, Value};

const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn props(path: &str, k: &str) -> String {
    format!("{path}.properties[{k}]")
}

#[derive(Clone)]
pub struct Ctx {
    pub allow_defaults: bool,
    pub reason: String,
    pub inside_meta: bool,
}

impl Ctx {
    fn forbid_defaults(&self, reason: String) -> Ctx {
        Ctx {
            allow_defaults: false,
            reason,
            inside_meta: self.inside_meta,
        }
    }
}

fn present(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).is_some_and(|v| !v.is_null())
}

fn non_empty_map(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k)
        .and_then(Value::as_object)
        .is_some_and(|o| !o.is_empty())
}

/// `ValidateCustomResourceDefinitionOpenAPISchema` with the v1 options of a
/// new CRD (valid types, atomic set items, map keys required or defaulted).
pub fn generic(v: &Value, path: &str, ctx: &Ctx, is_root: bool, out: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else { return };
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let embedded = m
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);

    // specStandardValidatorV3.validate
    if !ty.is_empty() && !TYPES.contains(&ty) {
        let valid: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
        out.push(goval::not_supported(
            &format!("{path}.type"),
            &Value::from(ty),
            &valid,
        ));
    }
    if present(m, "default") && !ctx.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !ctx.reason.is_empty() {
            detail = format!("{detail} {}", ctx.reason);
        }
        out.push(FieldError::forbidden(&format!("{path}.default"), detail));
    }
    if m.get("id")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        out.push(FieldError::forbidden(
            &format!("{path}.id"),
            "id is not supported",
        ));
    }
    if present(m, "additionalItems") {
        out.push(FieldError::forbidden(
            &format!("{path}.additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if non_empty_map(m, "patternProperties") {
        out.push(FieldError::forbidden(
            &format!("{path}.patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if non_empty_map(m, "definitions") {
        out.push(FieldError::forbidden(
            &format!("{path}.definitions"),
            "definitions is not supported",
        ));
    }
    if present(m, "dependencies") {
        out.push(FieldError::forbidden(
            &format!("{path}.dependencies"),
            "dependencies is not supported",
        ));
    }
    if present(m, "$ref") {
        out.push(FieldError::forbidden(
            &format!("{path}.$ref"),
            "$ref is not supported",
        ));
    }
    if ty == "null" {
        out.push(FieldError::forbidden(
            &format!("{path}.type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if m.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        out.push(FieldError::forbidden(
            &format!("{path}.items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_meta && embedded {
        out.push(FieldError::forbidden(
            &format!("{path}.x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }

    if m.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        out.push(FieldError::forbidden(
            &format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let properties = m.get("properties").and_then(Value::as_object);
    if let Some(add) = m.get("additionalProperties").filter(|a| !a.is_null()) {
        if properties.is_some_and(|p| !p.is_empty())
            && (add == &Value::Bool(false) || add.is_object())
        {
            out.push(FieldError::forbidden(
                &format!("{path}.additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        let sub = if ctx.inside_meta {
            ctx.forbid_defaults("inside additionalProperties applying to object metadata".into())
        } else {
            ctx.clone()
        };
        generic(
            add,
            &format!("{path}.additionalProperties"),
            &sub,
            false,
            out,
        );
    }
    if let Some(p) = properties {
        let mut keys: Vec<&String> = p.keys().collect();
        keys.sort();
        for k in keys {
            let mut sub = ctx.clone();
            if (is_root || embedded) && META_FIELDS.contains(&k.as_str()) {
                sub.inside_meta = true;
                if is_root {
                    sub = sub.forbid_defaults(format!("in top-level {k}"));
                }
            }
            if let Some(ps) = p.get(k) {
                generic(ps, &props(path, k), &sub, false, out);
            }
        }
    }
    if let Some(not) = m.get("not") {
        generic(not, &format!("{path}.not"), ctx, false, out);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, sub) in m
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            generic(sub, &format!("{path}.{key}[{i}]"), ctx, false, out);
        }
    }
    if let Some(defs) = m.get("definitions").and_then(Value::as_object) {
        for (k, sub) in defs {
            generic(sub, &format!("{path}.definitions[{k}]"), ctx, false, out);
        }
    }
    match m.get("items") {
        Some(items @ Value::Object(_)) => generic(items, &format!("{path}.items"), ctx, false, out),
        Some(Value::Array(items)) => {
            for (i, sub) in items.iter().enumerate() {
                generic(sub, &format!("{path}.items[{i}]"), ctx, false, out);
            }
        }
        _ => {}
    }
    if let Some(deps) = m.get("dependencies").and_then(Value::as_object) {
        for (k, sub) in deps {
            if sub.is_object() {
                generic(sub, &format!("{path}.dependencies[{k}]"), ctx, false, out);
            }
        }
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        out.push(FieldError::invalid(
            &format!("{path}.x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }
    list_and_map_types(m, ty, path, out);
}

pub fn type_required(path: &str, ty: &str, detail: &str) -> FieldError {
    if ty.is_empty() {
        FieldError::required(&format!("{path}.type"), detail)
    } else {
        FieldError::invalid(&format!("{path}.type"), ty, detail)
    }
}

fn list_and_map_types(m: &Map<String, Value>, ty: &str, path: &str, out: &mut Vec<FieldError>) {
    let map_type = m.get("x-kubernetes-map-type").and_then(Value::as_str);
    let list_type = m.get("x-kubernetes-list-type").and_then(Value::as_str);
    let keys: Vec<&str> = m
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let items = m.get("items").and_then(Value::as_object);

    if let Some(mt) = map_type {
        if ty != "object" {
            out.push(type_required(
                path,
                ty,
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
        if mt != "atomic" && mt != "granular" {
            out.push(goval::not_supported(
                &format!("{path}.x-kubernetes-map-type"),
                &Value::from(mt),
                &["atomic".into(), "granular".into()],
            ));
        }
    }
    if let Some(lt) = list_type {
        if ty != "array" {
            out.push(type_required(
                path,
                ty,
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else if lt == "set" {
            if let Some(is) = items {
                let item_list = is.get("x-kubernetes-list-type").and_then(Value::as_str);
                match is.get("type").and_then(Value::as_str) {
                    Some("array") if item_list.is_some_and(|t| t != "atomic") => {
                        out.push(FieldError::invalid(
                            &format!("{path}.items.x-kubernetes-list-type"),
                            item_list.unwrap_or_default(),
                            "must be atomic as item of a list with x-kubernetes-list-type=set",
                        ));
                    }
                    Some("object")
                        if is.get("x-kubernetes-map-type").and_then(Value::as_str)
                            != Some("atomic") =>
                    {
                        // upstream prints the item's list type here
                        out.push(FieldError::invalid(
                            &format!("{path}.items.x-kubernetes-map-type"),
                            item_list.map(Value::from).unwrap_or(Value::Null),
                            "must be atomic as item of a list with x-kubernetes-list-type=set",
                        ));
                    }
                    _ => {}
                }
            }
        }
        if !["atomic", "set", "map"].contains(&lt) {
            out.push(goval::not_supported(
                &format!("{path}.x-kubernetes-list-type"),
                &Value::from(lt),
                &["atomic".into(), "set".into(), "map".into()],
            ));
        }
    }
    if !keys.is_empty() {
        match list_type {
            None => out.push(FieldError::required(
                &format!("{path}.x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some(lt) if lt != "map" => out.push(FieldError::invalid(
                &format!("{path}.x-kubernetes-list-type"),
                lt,
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            _ => {}
        }
    }
    let keys_value = Value::from(keys.iter().map(|k| Value::from(*k)).collect::<Vec<_>>());
    if list_type == Some("map") {
        if keys.is_empty() {
            out.push(FieldError::required(
                &format!("{path}.x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match m.get("items") {
            None | Some(Value::Null) => out.push(FieldError::required(
                &format!("{path}.items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Value::Object(_)) => {}
            Some(other) => out.push(FieldError::invalid(
                &format!("{path}.items"),
                other.clone(),
                "must only have a single schema if x-kubernetes-list-type is map",
            )),
        }
        if let Some(is) = items {
            let item_type = is.get("type").and_then(Value::as_str).unwrap_or("");
            if item_type != "object" {
                out.push(FieldError::invalid(
                    &format!("{path}.items.type"),
                    item_type,
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
            } else {
                let item_props = is.get("properties").and_then(Value::as_object);
                let mut seen = Vec::new();
                for k in &keys {
                    match item_props.and_then(|p| p.get(*k)) {
                        Some(p) => {
                            let t = p.get("type").and_then(Value::as_str).unwrap_or("");
                            if t == "array" || t == "object" {
                                out.push(FieldError::invalid(
                                    &format!("{}.type", props(&format!("{path}.items"), k)),
                                    item_type,
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => out.push(FieldError::invalid(
                            &format!("{path}.x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(k) {
                        out.push(FieldError::invalid(
                            &format!("{path}.x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(*k);
                }
            }
        }
    }
    // validateMapListKeysMapSet
    if let (Some(lt @ ("set" | "map")), Some(is)) = (list_type, items) {
        if is.get("nullable").and_then(Value::as_bool) == Some(true) {
            out.push(FieldError::forbidden(
                &format!("{path}.items.nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            let required: Vec<&str> = is
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let item_props = is.get("properties").and_then(Value::as_object);
            for k in &keys {
                let Some(p) = item_props.and_then(|p| p.get(*k)) else {
                    continue;
                };
                if !required.contains(k)
                    && !present(p.as_object().unwrap_or(&Map::new()), "default")
                {
                    out.push(FieldError::required(
                        &format!("{}.default", props(&format!("{path}.items"), k)),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if p.get("nullable").and_then(Value::as_bool) == Some(true) {
                    out.push(FieldError::forbidden(
                        &format!("{}.nullable", props(&format!("{path}.items"), k)),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}

/// Whether upstream's `NewStructural` can convert the schema (it fails on
/// the unsupported keywords the generic checks already reported).
pub fn convertible(v: &Value) -> bool {
    let Some(m) = v.as_object() else { return true };
    if m.get("type")
        .is_some_and(|t| !t.is_string() && !t.is_null())
        || m.get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        || present(m, "$ref")
        || present(m, "additionalItems")
        || non_empty_map(m, "patternProperties")
        || non_empty_map(m, "definitions")
        || present(m, "dependencies")
        || m.get("items").is_some_and(Value::is_array)
    {
        return false;
    }
    let children = m
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
        .chain(
            ["items", "additionalProperties", "not"]
                .iter()
                .filter_map(|k| m.get(*k)),
        )
        .chain(
            ["allOf", "anyOf", "oneOf"]
                .iter()
                .filter_map(|k| m.get(*k).and_then(Value::as_array))
                .flatten(),
        );
    for c in children {
        if !convertible(c) {
            return false;
        }
    }
    true
}
