//! `x-kubernetes-validations`: CEL rules of custom resources, as
//! apiextensions-apiserver evaluates them (`pkg/apiserver/schema/cel`) and
//! checks them when a CRD is written (`pkg/apis/apiextensions/validation`).
//!
//! - [`validate`] evaluates every rule of a version's schema against a
//!   custom resource (and, on update, its old version for transition rules
//!   and ratcheting).
//! - [`check`] validates and compiles every rule of a schema, for CRD
//!   create/update.
//! - [`blocking_error`]: whether schema errors keep the rules from running.
//!
//! Rules run on the cel-rust interpreter (`env`) with the Kubernetes
//! libraries of `library`; `checker` stands in for cel-go's type
//! checker. Values are typed by the schema (`value`).
//!
//! # Differences from upstream
//!
//! - The checker is partial: it reports undeclared variables and functions,
//!   undefined fields, non-bool rules (non-string messageExpressions), and
//!   operators or string/list functions applied to primitives of the wrong
//!   type; other type errors (e.g. on lists and maps) pass it and fail at
//!   evaluation as `no such overload`.
//! - No cost estimation at CRD write (`estimated rule cost exceeds budget`);
//!   the runtime budget counts the size of each evaluated value, not CEL's
//!   cost units, and there is no per-call limit.
//! - Lists of `x-kubernetes-list-type: set` compare regardless of order (as
//!   upstream) by being sorted, so indexing a set sees the sorted order; map
//!   lists compare in order, and `+` on sets and map lists concatenates.
//! - Libraries: no `format`, `semver`, two-variable comprehensions; cel-rust's
//!   lists extension (`slice`, `flatten`, `distinct`, `sort`, ...) is there.
//! - A `Reason` or `OptionalOldSelf` pointer in a rule's `%#v` prints as
//!   `0xc000000000` (Go prints its address).

mod checker;
mod compile;
mod env;
mod errors;
mod fieldpath;
mod library;
mod rule;
mod schema;
mod validate;
mod value;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use crate::strategy::FieldError;
use checker::Ty;
use rule::Rule;
use schema::Node;
use serde_json::Value;

/// Evaluates every `x-kubernetes-validations` rule found in `schema` (a CRD
/// version's `openAPIV3Schema`, walked through `properties`, `items`,
/// `additionalProperties` and the rules of `allOf` entries) against `obj`,
/// the whole custom resource (the root's rules see `self` = the object), and
/// on update `old`: a rule using `oldSelf` runs only where the old value
/// exists at the same path (unless `optionalOldSelf`), and failures of other
/// rules are ratcheted where the value did not change. Returns upstream's
/// errors, e.g. `spec: Invalid value: "object": <message>`.
pub fn validate(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let env = match env::env() {
        Ok(env) => env,
        Err(e) => {
            return vec![FieldError::invalid(
                "<nil>",
                "object",
                format!("rule compiler initialization error: {e}"),
            )]
        }
    };
    let mut walker = validate::Walker::new(env);
    walker.resource(schema, obj, old);
    walker.errs
}

/// Upstream skips the rules when the OpenAPI validation of the object found
/// a type, required, enum or size violation (`hasBlockingErr` of the custom
/// resource strategy) and reports this error instead; call it with the
/// schema errors before [`validate`], and skip `validate` when it returns
/// one.
pub fn blocking_error(schema_errs: &[FieldError]) -> Option<FieldError> {
    use crate::strategy::ErrorKind::{NotSupported, Required, TooLong, TooMany, TypeInvalid};
    schema_errs
        .iter()
        .any(|e| matches!(e.kind, NotSupported | Required | TooLong | TooMany | TypeInvalid))
        .then(|| {
            FieldError::invalid(
                "<nil>",
                "null",
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            )
        })
}

/// Checks and compiles every rule in `schema` and returns upstream's errors
/// for those that are malformed or do not compile (CRD create/update).
/// `path` is the schema's field path, e.g.
/// `spec.versions[0].schema.openAPIV3Schema`. Errors about the rules'
/// fields (`rule is not specified`, `message must not contain line
/// breaks`, `reason`, `fieldPath`) come first, then compilation errors, as
/// upstream orders schema errors before CEL errors.
pub fn check(schema: &Value, path: &str) -> Vec<FieldError> {
    let env = match env::env() {
        Ok(env) => env,
        Err(e) => {
            return vec![FieldError {
                kind: crate::strategy::ErrorKind::Internal,
                field: format!("{path}.x-kubernetes-validations"),
                detail: e,
                value: None,
                shown: None,
            }]
        }
    };
    let mut c = Check {
        env: &env,
        schema_errs: Vec::new(),
        cel_errs: Vec::new(),
    };
    c.node(Node(schema), path, true, None);
    let mut out = c.schema_errs;
    out.extend(c.cel_errs);
    out
}

struct Check<'e> {
    env: &'e cel::Env,
    schema_errs: Vec<FieldError>,
    cel_errs: Vec<FieldError>,
}

const SUPPORTED_REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

fn has_newlines(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

impl Check<'_> {
    /// Checks `node` at `path`; `uncorrelatable` is the path of the nearest
    /// ancestor below which `oldSelf` cannot be used.
    fn node(
        &mut self,
        node: Node<'_>,
        path: &str,
        resource_root: bool,
        uncorrelatable: Option<&str>,
    ) {
        let before = self.schema_errs.len();
        if let Some(ap) = node.additional_properties() {
            self.node(
                ap,
                &format!("{path}.additionalProperties"),
                ap.embedded(),
                uncorrelatable,
            );
        }
        let props_unc = match uncorrelatable {
            None if !node.map_correlatable() => Some(path),
            other => other,
        };
        for (name, prop) in node.properties() {
            let p = format!("{path}.properties[{name}]");
            self.node(prop, &p, prop.embedded(), props_unc);
        }
        if let Some(items) = node.items() {
            let unc = match uncorrelatable {
                Some(u) => Some(u.to_string()),
                None if node.list_type() != "map" => Some(path.to_string()),
                None => None,
            };
            self.node(
                items,
                &format!("{path}.items"),
                items.embedded(),
                unc.as_deref(),
            );
        }
        let raw = node.rules();
        if raw.is_empty() {
            return;
        }
        let rules: Vec<Rule> = raw.iter().map(Rule::from_json).collect();
        for (i, rule) in rules.iter().enumerate() {
            let at = |f: &str| format!("{path}.x-kubernetes-validations[{i}].{f}");
            let trimmed_rule = rule.rule.trim();
            let trimmed_msg = rule.message.trim();
            if trimmed_rule.is_empty() {
                self.schema_errs
                    .push(FieldError::required(&at("rule"), "rule is not specified"));
            } else if !rule.message.is_empty() && trimmed_msg.is_empty() {
                self.schema_errs.push(FieldError::invalid(
                    &at("message"),
                    rule.message.as_str(),
                    "message must be non-empty if specified",
                ));
            } else if has_newlines(trimmed_msg) {
                self.schema_errs.push(FieldError::invalid(
                    &at("message"),
                    rule.message.as_str(),
                    "message must not contain line breaks",
                ));
            } else if has_newlines(trimmed_rule) && trimmed_msg.is_empty() {
                self.schema_errs.push(FieldError::required(
                    &at("message"),
                    "message must be specified if rule contains line breaks",
                ));
            }
            if !rule.message_expression.is_empty() && rule.message_expression.trim().is_empty() {
                self.schema_errs.push(FieldError::required(
                    &at("messageExpression"),
                    "messageExpression must be non-empty if specified",
                ));
            }
            if let Some(reason) = &rule.reason {
                if !SUPPORTED_REASONS.contains(&reason.as_str()) {
                    self.schema_errs.push(FieldError::not_supported(
                        &at("reason"),
                        reason.as_str(),
                        SUPPORTED_REASONS,
                    ));
                }
            }
            if !rule.field_path.is_empty() && rule.field_path.trim().is_empty() {
                self.schema_errs.push(FieldError::invalid(
                    &at("fieldPath"),
                    rule.field_path.as_str(),
                    "fieldPath must be non-empty if specified",
                ));
            }
            if has_newlines(&rule.field_path) {
                self.schema_errs.push(FieldError::invalid(
                    &at("fieldPath"),
                    rule.field_path.as_str(),
                    "fieldPath must not contain line breaks",
                ));
            }
            if !rule.field_path.is_empty() && fieldpath::parse(node, &rule.field_path).is_err() {
                self.schema_errs.push(FieldError::invalid(
                    &at("fieldPath"),
                    rule.field_path.as_str(),
                    "fieldPath must be a valid path",
                ));
            }
        }
        if self.schema_errs.len() > before {
            return;
        }
        let ty = Ty::of(node, resource_root);
        for (i, rule) in rules.iter().enumerate() {
            let at = |f: &str| format!("{path}.x-kubernetes-validations[{i}].{f}");
            let mut uses_old_self = false;
            match compile::compile(self.env, rule, &ty) {
                Err(detail) => self.cel_errs.push(FieldError::invalid_shown(
                    &at("rule"),
                    rule.go_repr(),
                    detail,
                )),
                Ok(compiled) => {
                    uses_old_self = compiled.uses_old_self;
                    if let Some(Err(detail)) = &compiled.message {
                        self.cel_errs.push(FieldError::invalid_shown(
                            &at("messageExpression"),
                            rule.go_repr(),
                            detail.clone(),
                        ));
                    }
                }
            }
            if uses_old_self {
                if let Some(u) = uncorrelatable {
                    self.cel_errs.push(FieldError::invalid(
                        &at("rule"),
                        rule.rule.as_str(),
                        format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {u}"),
                    ));
                }
            } else if let Some(b) = rule.optional_old_self {
                self.cel_errs.push(FieldError::invalid(
                    &at("optionalOldSelf"),
                    b,
                    "may not be set if oldSelf is not used in rule",
                ));
            }
        }
    }
}
