//! The checks of a CRD version's schema on CRD create/update, in upstream's
//! order: `nullable` at the root; the generic OpenAPI checks ([`super::generic`],
//! `ValidateCustomResourceDefinitionOpenAPISchema`: unsupported keywords,
//! defaults where they are forbidden, list and map types); the structural
//! invariants (`ValidateStructural`, sorted by message); then, if the
//! schema is structural, its defaults (`ValidateDefaults`: pruned, valid
//! embedded metadata, valid against their schema).

use super::embedded;
use super::formats;
use super::generic::{convertible, generic, type_required, Ctx};
use super::node::{Additional, Schema};
use super::prune;
use super::validate::Validator;
use crate::strategy::{ErrorKind, FieldError};
use serde_json::Value;

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
