//! The checks of a CRD version's schema on CRD create/update, in upstream's
//! order: `nullable` at the root; the generic OpenAPI checks
//! (`ValidateCustomResourceDefinitionOpenAPISchema`: unsupported keywords,
//! defaults where they are forbidden, list and map types); the structural
//! invariants (`ValidateStructural`, sorted by message); then, if the
//! schema is structural, its defaults (`ValidateDefaults`: pruned, valid
//! embedded metadata, valid against their schema).

use super::embedded;
use super::formats;
use super::node::{Additional, Schema};
use super::prune;
use super::validate::Validator;
use crate::strategy::{ErrorKind, FieldError};
use serde_json::{Map, Value};

const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// The structural check of a CRD version's schema; `path` is the schema's
/// field path (`spec.versions[0].schema.openAPIV3Schema`).
pub fn check(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        out.push(FieldError::forbidden(
            &format!("{path}.nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let ctx = Ctx {
        allow_defaults: true,
        reason: String::new(),
        inside_meta: false,
    };
    generic(schema, path, &ctx, true, &mut out);
    if !convertible(schema) {
        return out;
    }
    let s = Schema::parse(schema);
    let mut structural = Vec::new();
    invariants(&s, Level::Root, path, &mut structural);
    if s.has_value_validation() {
        value_completeness(&s, Some(&s), path, path, &mut structural);
    }
    structural.sort_by_key(|e| e.to_string());
    if structural.is_empty() {
        defaults(&s, path, false, &mut out);
    }
    out.extend(structural);
    out
}

fn props(path: &str, k: &str) -> String {
    format!("{path}.properties[{k}]")
}

#[derive(Clone)]
struct Ctx {
    allow_defaults: bool,
    reason: String,
    inside_meta: bool,
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
fn generic(v: &Value, path: &str, ctx: &Ctx, is_root: bool, out: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else { return };
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let embedded = m
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);

    // specStandardValidatorV3.validate
    if !ty.is_empty() && !TYPES.contains(&ty) {
        let valid: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
        out.push(super::goval::not_supported(
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

fn type_required(path: &str, ty: &str, detail: &str) -> FieldError {
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
            out.push(super::goval::not_supported(
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
            out.push(super::goval::not_supported(
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
fn convertible(v: &Value) -> bool {
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

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

impl Schema {
    /// Whether any value validation (upstream's `ValueValidation`) is set.
    fn has_value_validation(&self) -> bool {
        !self.format.is_empty()
            || self.maximum.is_some()
            || self.exclusive_maximum
            || self.minimum.is_some()
            || self.exclusive_minimum
            || self.max_length.is_some()
            || self.min_length.is_some()
            || !self.pattern.is_empty()
            || self.max_items.is_some()
            || self.min_items.is_some()
            || self.unique_items
            || self.multiple_of.is_some()
            || self.enum_.as_ref().is_some_and(|e| !e.is_empty())
            || self.max_properties.is_some()
            || self.min_properties.is_some()
            || !self.required.is_empty()
            || !self.all_of.is_empty()
            || !self.one_of.is_empty()
            || !self.any_of.is_empty()
            || self.not.is_some()
    }

    fn is_bare_type(&self, t: &str) -> bool {
        let bare = Schema {
            type_: t.to_string(),
            ..Schema::default()
        };
        *self == bare
    }
}

fn int_or_string_pattern(any_of: &[Schema]) -> bool {
    any_of.len() == 2 && any_of[0].is_bare_type("integer") && any_of[1].is_bare_type("string")
}

/// `validateStructuralInvariants`.
fn invariants(s: &Schema, lvl: Level, path: &str, out: &mut Vec<FieldError>) {
    if s.type_ == "array" && s.items.is_none() {
        out.push(FieldError::required(
            &format!("{path}.items"),
            "must be specified",
        ));
    }
    if let Some(items) = &s.items {
        invariants(items, Level::Item, &format!("{path}.items"), out);
    }
    for (k, p) in &s.properties {
        invariants(p, Level::Field, &props(path, k), out);
    }
    if let Some(add) = &s.additional_properties {
        if lvl == Level::Root {
            out.push(FieldError::forbidden(
                &format!("{path}.additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let Additional::Schema(a) = add {
            invariants(
                a,
                Level::Field,
                &format!("{path}.additionalProperties"),
                out,
            );
        }
    }
    let preserve = s.preserves_unknown();
    if s.int_or_string && preserve {
        out.push(FieldError::invalid(
            &format!("{path}.x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.int_or_string && s.embedded_resource {
        out.push(FieldError::invalid(
            &format!("{path}.x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = int_or_string_pattern(&s.any_of);
    let skip_first_all_of = s
        .all_of
        .first()
        .is_some_and(|a| int_or_string_pattern(&a.any_of));
    value_validation(s, skip_any_of, skip_first_all_of, lvl, path, out);

    let check_metadata = lvl == Level::Root || s.embedded_resource;
    if s.embedded_resource && s.type_ != "object" {
        out.push(type_required(
            path,
            &s.type_,
            "must be object if x-kubernetes-embedded-resource is true",
        ));
    } else if s.type_.is_empty() && !s.int_or_string && !preserve {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        out.push(FieldError::required(&format!("{path}.type"), detail));
    }
    if s.embedded_resource && s.additional_properties.is_some() {
        out.push(FieldError::forbidden(
            &format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.type_.is_empty() && s.type_ != "object" {
        out.push(FieldError::invalid(
            &format!("{path}.type"),
            s.type_.as_str(),
            "must be object at the root",
        ));
    }
    for k in ["kind", "apiVersion"] {
        if let Some(p) = s.properties.get(k).filter(|_| check_metadata) {
            if p.type_ != "string" {
                out.push(FieldError::invalid(
                    &format!("{}.type", props(path, k)),
                    p.type_.as_str(),
                    "must be string",
                ));
            }
        }
    }
    if let Some(meta) = s.properties.get("metadata") {
        let mpath = props(path, "metadata");
        if check_metadata && meta.type_ != "object" {
            out.push(FieldError::invalid(
                &format!("{mpath}.type"),
                meta.type_.as_str(),
                "must be object",
            ));
        }
        if lvl == Level::Root && !metadata_only_names(meta) {
            out.push(FieldError::forbidden(
                &mpath,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if s.embedded_resource && !preserve && s.properties.is_empty() {
        out.push(FieldError::required(
            &format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Root metadata may restrict `name` and `generateName` only.
fn metadata_only_names(meta: &Schema) -> bool {
    let mut m = meta.clone();
    let name = m.properties.contains_key("name");
    let generate = m.properties.contains_key("generateName");
    if (name && generate && m.properties.len() == 2)
        || ((name || generate) && m.properties.len() == 1)
    {
        m.properties.clear();
    }
    m.type_.clear();
    m.default = None;
    // upstream keeps `x-kubernetes-preserve-unknown-fields: false` out of the
    // structural form
    if m.preserve_unknown_fields == Some(false) {
        m.preserve_unknown_fields = None;
    }
    m == Schema::default()
}

/// `validateValueValidation`: the logic junctors and the pattern.
fn value_validation(
    v: &Schema,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, sub) in v.any_of.iter().enumerate() {
            nested(sub, false, lvl, &format!("{path}.anyOf[{i}]"), out);
        }
    }
    for (i, sub) in v.all_of.iter().enumerate() {
        nested(
            sub,
            skip_first_all_of_any_of && i == 0,
            lvl,
            &format!("{path}.allOf[{i}]"),
            out,
        );
    }
    for (i, sub) in v.one_of.iter().enumerate() {
        nested(sub, false, lvl, &format!("{path}.oneOf[{i}]"), out);
    }
    if let Some(not) = &v.not {
        nested(not, false, lvl, &format!("{path}.not"), out);
    }
    if !v.pattern.is_empty() {
        if let Err(e) = formats::compile(&v.pattern) {
            out.push(FieldError::invalid(
                &format!("{path}.pattern"),
                v.pattern.as_str(),
                format!("must be a valid regular expression, but isn't: {e}"),
            ));
        }
    }
}

/// `validateNestedValueValidation`: what a schema under allOf/anyOf/oneOf/not
/// may not say.
fn nested(v: &Schema, skip_any_of: bool, lvl: Level, path: &str, out: &mut Vec<FieldError>) {
    value_validation(v, skip_any_of, false, lvl, path, out);
    if let Some(items) = &v.items {
        nested(items, false, lvl, &format!("{path}.items"), out);
    }
    for (k, p) in &v.properties {
        nested(p, false, Level::Field, &props(path, k), out);
    }
    let forbid = |out: &mut Vec<FieldError>, field: &str, detail: &str| {
        out.push(FieldError::forbidden(&format!("{path}.{field}"), detail));
    };
    if !v.type_.is_empty() {
        forbid(out, "type", "must be empty to be structural");
    }
    if v.additional_properties.is_some() {
        forbid(
            out,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if v.default.as_ref().is_some_and(|d| !d.is_null()) {
        forbid(out, "default", "must be undefined to be structural");
    }
    if !v.title.is_empty() {
        forbid(out, "title", "must be empty to be structural");
    }
    if !v.description.is_empty() {
        forbid(out, "description", "must be empty to be structural");
    }
    if v.nullable {
        forbid(out, "nullable", "must be false to be structural");
    }
    if v.preserves_unknown() {
        forbid(
            out,
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        );
    }
    if v.embedded_resource {
        forbid(
            out,
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        );
    }
    if v.int_or_string {
        forbid(
            out,
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        );
    }
    if !v.list_map_keys.is_empty() {
        forbid(
            out,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    if v.list_type.is_some() {
        forbid(
            out,
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        );
    }
    if v.map_type.is_some() {
        forbid(
            out,
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        );
    }
    if !v.validations.is_empty() {
        forbid(
            out,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if v.properties.contains_key("metadata") {
        out.push(FieldError::forbidden(
            &props(path, "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// `validateValueValidationCompleteness`: everything the junctors of `v`
/// mention must be specified in the structural schema `s`.
fn value_completeness(
    v: &Schema,
    s: Option<&Schema>,
    spath: &str,
    vpath: &str,
    out: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        out.push(FieldError::required(
            spath,
            format!("because it is defined in {vpath}"),
        ));
        return;
    };
    if let Some(not) = &v.not {
        nested_completeness(not, Some(s), spath, &format!("{vpath}.not"), out);
    }
    for (key, list) in [
        ("allOf", &v.all_of),
        ("anyOf", &v.any_of),
        ("oneOf", &v.one_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            nested_completeness(sub, Some(s), spath, &format!("{vpath}.{key}[{i}]"), out);
        }
    }
}

fn nested_completeness(
    v: &Schema,
    s: Option<&Schema>,
    spath: &str,
    vpath: &str,
    out: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        out.push(FieldError::required(
            spath,
            format!("because it is defined in {vpath}"),
        ));
        return;
    };
    value_completeness(v, Some(s), spath, vpath, out);
    if let Some(items) = &v.items {
        nested_completeness(
            items,
            s.items.as_deref(),
            &format!("{spath}.items"),
            &format!("{vpath}.items"),
            out,
        );
    }
    for (k, vf) in &v.properties {
        match s.properties.get(k) {
            None => out.push(FieldError::required(
                &props(spath, k),
                format!("because it is defined in {}", props(vpath, k)),
            )),
            Some(sf) => nested_completeness(vf, Some(sf), &props(spath, k), &props(vpath, k), out),
        }
    }
}

/// `ValidateDefaults`: every default is pruned, has valid embedded metadata
/// and validates against its own schema. additionalProperties are not
/// followed (defaults are forbidden there).
fn defaults(s: &Schema, path: &str, inside_meta: bool, out: &mut Vec<FieldError>) {
    if let Some(d) = s.default.as_ref().filter(|d| !d.is_null()) {
        let dpath = format!("{path}.default");
        if !inside_meta {
            let mut pruned = d.clone();
            prune::prune(&mut pruned, s, s.embedded_resource, false);
            if &pruned != d {
                out.push(super::goval::error(
                    ErrorKind::Invalid,
                    &dpath,
                    Some(d),
                    "must not have unknown fields",
                ));
            }
        }
        let meta = embedded::validate(&dpath, d, s);
        if !meta.is_empty() {
            out.extend(meta);
        } else {
            let v = Validator { base: Some(&dpath) };
            out.extend(v.node(s, "", d));
        }
    }
    if let Some(items) = &s.items {
        defaults(items, &format!("{path}.items"), false, out);
    }
    for (k, p) in &s.properties {
        let sub_meta = inside_meta || (s.embedded_resource && META_FIELDS.contains(&k.as_str()));
        defaults(p, &props(path, k), sub_meta, out);
    }
}
