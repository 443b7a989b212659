//! Structural schemas of custom resources, as kube-apiserver's
//! apiextensions-apiserver applies them.
//!
//! - [`Schema`] ([`node`]): a parsed `openAPIV3Schema`.
//! - [`validate`]: kube-openapi schema validation, embedded resources'
//!   TypeMeta/ObjectMeta, list-type set/map uniqueness.
//! - [`prune`]: dropping undeclared fields, with their paths for strict
//!   field validation.
//! - [`apply_defaults`]: structural defaulting.
//! - [`check_structural`]: the checks of a CRD version's schema.
//!
//! Errors are [`FieldError`]s whose `Display` is upstream's text; values
//! are printed as Go prints unstructured data (`shown` is always set), so
//! `strategy::to_api_error` renders them as kube-apiserver does.
//!
//! Paths are upstream's: kube-openapi joins properties *and*
//! `additionalProperties` keys with `.` (`spec.labels.foo`) and items with
//! `[i]`; embedded-resource and list-type errors use `field.Path`
//! (`spec.map[key]`). Errors of allOf/anyOf/oneOf/not have no path and
//! print as `<nil>: Invalid value: "": "spec.x" must validate ...`, as
//! upstream.
//!
//! Known differences from upstream: errors come in a deterministic order
//! (upstream iterates Go maps); the "best" failing anyOf/oneOf branch is
//! the one with the fewest errors (upstream counts passed checks);
//! `email`/`uri` formats approximate Go's parsers; regular expressions use
//! Rust's `regex` (RE2 syntax, as Go's; `\d`, `\w`, `\s`, `\b` made ASCII),
//! with Go's error wording for the common syntax errors only; embedded
//! metadata that does not decode is reported in `encoding/json` wording.

mod defaults;
mod embedded;
mod formats;
mod generic;
pub(crate) mod goval;
mod listtype;
pub mod node;
mod prune;
mod structural;
mod validate;

pub use node::{Additional, Schema};

use crate::strategy::FieldError;
use serde_json::Value;

/// Validates a whole custom resource object (root includes apiVersion/kind/
/// metadata, which the root schema need not declare) against the schema,
/// as kube-apiserver's custom resource strategy does: the OpenAPI schema,
/// then embedded resources, then list-type sets and maps. Root metadata is
/// not validated here (`strategy::validate_object_meta` does it).
pub fn validate(schema: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = validate::Validator { base: None }.node(schema, "", obj);
    errs.extend(embedded::validate("", obj, schema));
    if let Some(m) = obj.as_object() {
        errs.extend(listtype::validate("", schema, m));
    }
    errs
}

/// Validates an update as [`validate`] does, with 1.33's validation
/// ratcheting: schema errors of values equal to the old object's value at
/// the same place (objects by key, `x-kubernetes-list-type: map` items by
/// their keys) are dropped. Embedded resources are validated as on create;
/// list-type set/map uniqueness only when the old object had it, as
/// upstream's `ValidateUpdate`.
pub fn validate_update(schema: &Schema, obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate::Validator { base: None }.node_update(schema, "", obj, Some(old));
    errs.extend(embedded::validate("", obj, schema));
    let old_lists_ok = old
        .as_object()
        .is_none_or(|m| listtype::validate("", schema, m).is_empty());
    if let (Some(m), true) = (obj.as_object(), old_lists_ok) {
        errs.extend(listtype::validate("", schema, m));
    }
    errs
}

/// Removes fields the schema does not declare (honouring
/// `x-kubernetes-preserve-unknown-fields` and embedded resources; root
/// apiVersion/kind/metadata kept; metadata of embedded resources pruned to
/// ObjectMeta fields) and returns the removed paths as strict field
/// validation reports them (`spec.foo` for `unknown field "spec.foo"`).
/// Like upstream's decoding, it then drops `null`s of fields that are
/// neither nullable nor defaulted (not reported).
pub fn prune(schema: &Schema, obj: &mut Value) -> Vec<String> {
    let removed = prune::prune(obj, schema, true, true);
    prune::prune_nulls(obj, Some(schema));
    removed
}

/// Applies `default`s (absent properties, recursively, and null items and
/// map values whose schema is not nullable).
pub fn apply_defaults(schema: &Schema, obj: &mut Value) {
    defaults::apply(obj, schema)
}

/// The checks of a CRD version's schema on CRD create/update; `path` is the
/// schema's field path, e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn check_structural(schema: &Value, path: &str) -> Vec<FieldError> {
    structural::check(schema, path)
}

#[cfg(test)]
mod tests;
