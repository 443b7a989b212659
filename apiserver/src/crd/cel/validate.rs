//! Evaluating the rules of a schema against a custom resource (upstream's
//! `Validator.Validate`): walks the object beside its schema, binds `self`
//! (and `oldSelf` on update, where the old value correlates), evaluates
//! every rule, and reports failures at the node's path (or the rule's
//! `fieldPath`). Errors of rules that do not use `oldSelf` are dropped
//! where the value is unchanged from the old object (validation ratcheting,
//! on by default in v1.33).

use super::checker::Ty;
use super::compile::{compile, Compiled};
use super::errors;
use super::rule::Rule;
use super::schema::Node;
use super::value::to_value;
use crate::strategy::FieldError;
use cel::objects::OptionalValue;
use cel::{Context, Env, Value};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// Upstream's `RuntimeCELCostBudget`, spent here by a rough measure: each
/// evaluation costs the size of the value it sees.
const COST_BUDGET: i64 = 20_000_000;
/// Upstream's `MaxEvaluatedMessageExpressionSizeBytes`.
const MAX_MESSAGE_BYTES: usize = 5 * 1024;

const OUT_OF_BUDGET: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

/// Where a node stands for ratcheting (upstream's `ratchetingOptions`):
/// correlated with its old value (the pair, and the nearest correlated
/// ancestor's), or not, keeping the nearest correlated ancestor. Equality is
/// computed only when an error is about to be ratcheted.
#[derive(Clone, Copy)]
enum Ratchet<'a> {
    Correlated {
        pair: (&'a Json, &'a Json),
        parent: Option<(&'a Json, &'a Json)>,
    },
    Uncorrelated {
        nearest: Option<(&'a Json, &'a Json)>,
    },
}

impl<'a> Ratchet<'a> {
    const NONE: Ratchet<'static> = Ratchet::Uncorrelated { nearest: None };

    /// Whether errors of rules not using `oldSelf` are dropped here.
    fn applies(self) -> bool {
        match self {
            Ratchet::Correlated { pair, .. } => pair.0 == pair.1,
            Ratchet::Uncorrelated { nearest } => nearest.is_some_and(|(n, o)| n == o),
        }
    }

    /// The state of a child whose correlated old value is `old`.
    fn child(self, new: &'a Json, old: Option<&'a Json>) -> Ratchet<'a> {
        match (self, old) {
            (Ratchet::Uncorrelated { .. }, _) => self,
            (Ratchet::Correlated { pair, .. }, Some(o)) => Ratchet::Correlated {
                pair: (new, o),
                parent: Some(pair),
            },
            (Ratchet::Correlated { pair, .. }, None) => Ratchet::Uncorrelated {
                nearest: Some(pair),
            },
        }
    }

    /// The state for allOf rules: upstream does not correlate them, and
    /// ratchets them by the nearest correlated ancestor.
    fn all_of(self) -> Ratchet<'a> {
        match self {
            Ratchet::Correlated { parent, .. } => Ratchet::Uncorrelated { nearest: parent },
            other => other,
        }
    }
}

pub(super) struct Walker {
    env: Arc<Env>,
    budget: i64,
    /// Whether a schema node (by address) has rules in its subtree.
    has_rules: HashMap<usize, bool>,
    /// Compiled rules by (rule, schema node) address and resource-rootness.
    programs: HashMap<(usize, usize, bool), Result<Rc<Compiled>, String>>,
    pub(super) errs: Vec<FieldError>,
}

impl Walker {
    pub(super) fn new(env: Arc<Env>) -> Walker {
        Walker {
            env,
            budget: COST_BUDGET,
            has_rules: HashMap::new(),
            programs: HashMap::new(),
            errs: Vec::new(),
        }
    }

    /// A walker with a smaller cost budget.
    #[cfg(test)]
    pub(super) fn with_budget(env: Arc<Env>, budget: i64) -> Walker {
        Walker {
            budget,
            ..Walker::new(env)
        }
    }

    /// Validates the whole resource `obj` (with `old` on update).
    pub(super) fn resource(&mut self, schema: &Json, obj: &Json, old: Option<&Json>) {
        let ratchet = match old {
            Some(o) => Ratchet::Correlated {
                pair: (obj, o),
                parent: None,
            },
            None => Ratchet::NONE,
        };
        self.node(Node(schema), obj, old, "", true, ratchet);
    }

    fn out_of_budget(&self) -> bool {
        self.budget < 0
    }

    /// Whether `node` or a schema below it has rules (upstream builds
    /// validators only for those).
    fn subtree_has_rules(&mut self, node: Node<'_>) -> bool {
        let key = node.0 as *const Json as usize;
        if let Some(&known) = self.has_rules.get(&key) {
            return known;
        }
        let found = !node.rules().is_empty()
            || node.all_of().any(|n| !n.rules().is_empty())
            || node.items().is_some_and(|n| self.subtree_has_rules(n))
            || node
                .additional_properties()
                .is_some_and(|n| self.subtree_has_rules(n))
            || node
                .properties()
                .collect::<Vec<_>>()
                .into_iter()
                .any(|(_, n)| self.subtree_has_rules(n));
        self.has_rules.insert(key, found);
        found
    }

    fn node<'a>(
        &mut self,
        node: Node<'_>,
        obj: &'a Json,
        old: Option<&'a Json>,
        path: &str,
        resource_root: bool,
        ratchet: Ratchet<'a>,
    ) {
        if obj.is_null() || self.out_of_budget() || !self.subtree_has_rules(node) {
            return;
        }
        // `null` old values count as absent
        let old = old.filter(|o| !o.is_null());
        self.rules(node, node, obj, old, path, resource_root, ratchet);
        for sub in node.all_of() {
            if self.out_of_budget() {
                return;
            }
            // rules of allOf entries see the node's own type
            self.rules(sub, node, obj, old, path, resource_root, ratchet.all_of());
        }
        match obj {
            Json::Object(fields) => {
                let old_fields = old
                    .filter(|_| node.map_correlatable())
                    .and_then(Json::as_object);
                if let Some(ap) = node.additional_properties() {
                    for (k, v) in fields {
                        let o = old_fields.and_then(|m| m.get(k));
                        let p = format!("{path}[{k}]");
                        self.node(ap, v, o, &p, ap.embedded(), ratchet.child(v, o));
                    }
                }
                for (k, v) in fields {
                    let Some(prop) = node.property(k) else {
                        continue;
                    };
                    let o = old_fields.and_then(|m| m.get(k));
                    let p = child(path, k);
                    let r = if path.is_empty() && (k == "apiVersion" || k == "kind") {
                        Ratchet::NONE
                    } else {
                        ratchet.child(v, o)
                    };
                    self.node(prop, v, o, &p, prop.embedded(), r);
                }
            }
            Json::Array(items) => {
                let Some(item) = node.items() else {
                    return;
                };
                let keys = if node.list_type() == "map" {
                    node.list_map_keys()
                } else {
                    Vec::new()
                };
                let old_items = old.and_then(Json::as_array);
                for (i, v) in items.iter().enumerate() {
                    let o = match old_items {
                        Some(olds) if !keys.is_empty() => {
                            olds.iter().find(|o| same_keys(o, v, &keys))
                        }
                        _ => None,
                    };
                    let p = format!("{path}[{i}]");
                    self.node(item, v, o, &p, item.embedded(), ratchet.child(v, o));
                }
            }
            _ => {}
        }
    }

    /// Evaluates the rules of `rules_of` on the value `obj` of schema `node`.
    #[allow(clippy::too_many_arguments)]
    fn rules(
        &mut self,
        rules_of: Node<'_>,
        node: Node<'_>,
        obj: &Json,
        old: Option<&Json>,
        path: &str,
        resource_root: bool,
        ratchet: Ratchet<'_>,
    ) {
        let rules = rules_of.rules();
        if rules.is_empty() {
            return;
        }
        let type_name = node.type_name();
        if self.budget <= 0 {
            self.errs.push(FieldError::invalid(
                path_or_nil(path),
                type_name,
                OUT_OF_BUDGET,
            ));
            self.budget = -1;
            return;
        }
        let self_value = to_value(&self.env, obj, node, resource_root);
        let old_value = old.map(|o| to_value(&self.env, o, node, resource_root));
        let cost = 1 + size(obj);
        for raw in rules {
            let rule = Rule::from_json(raw);
            if rule.rule.trim().is_empty() {
                continue;
            }
            let compiled = match self.compiled(raw, &rule, node, resource_root) {
                Ok(c) => c,
                Err(detail) => {
                    self.errs.push(FieldError::invalid(
                        path_or_nil(path),
                        type_name,
                        format!("rule compile error: {detail}"),
                    ));
                    continue;
                }
            };
            let optional = rule.optional_old_self == Some(true);
            if compiled.uses_old_self && old_value.is_none() && !optional {
                continue;
            }
            self.budget -= cost;
            if self.budget < 0 {
                self.errs.push(FieldError::invalid(
                    path_or_nil(path),
                    type_name,
                    OUT_OF_BUDGET,
                ));
                return;
            }
            let old_binding = if optional {
                Some(Value::Opaque(Arc::new(match &old_value {
                    Some(v) => OptionalValue::of(v.clone()),
                    None => OptionalValue::none(),
                })))
            } else {
                old_value.clone()
            };
            let result = self.eval(&compiled.program, &self_value, old_binding.as_ref());
            match result {
                Ok(Value::Bool(true)) => continue,
                Ok(_) => {}
                Err(e) => {
                    self.errs.push(FieldError::invalid(
                        path_or_nil(path),
                        type_name,
                        errors::runtime(&e, &rule.error_string()),
                    ));
                    continue;
                }
            }
            if !compiled.uses_old_self && ratchet.applies() {
                continue;
            }
            let at = match normalized_field_path(node, &rule.field_path) {
                Some(fp) => child(path, &fp),
                None => path_or_nil(path).to_string(),
            };
            // upstream binds the plain `oldSelf` for messageExpression, even
            // for rules with optionalOldSelf
            let detail = self
                .message(&compiled, &self_value, old_value.as_ref(), cost)
                .unwrap_or_else(|| rule.message_or_default());
            self.errs.push(error_for_reason(
                &at,
                type_name,
                detail,
                rule.reason.as_deref(),
            ));
        }
    }

    /// The rule compiled for `node`, once per walk: every item of a list
    /// shares its schema's programs.
    fn compiled(
        &mut self,
        raw: &Json,
        rule: &Rule,
        node: Node<'_>,
        resource_root: bool,
    ) -> Result<Rc<Compiled>, String> {
        let key = (
            raw as *const Json as usize,
            node.0 as *const Json as usize,
            resource_root,
        );
        if let Some(c) = self.programs.get(&key) {
            return c.clone();
        }
        let ty = Ty::of(node, resource_root);
        let c = compile(&self.env, rule, &ty).map(Rc::new);
        self.programs.insert(key, c.clone());
        c
    }

    fn eval(
        &self,
        program: &cel::Program,
        self_value: &Value,
        old: Option<&Value>,
    ) -> Result<Value, cel::ExecutionError> {
        let mut ctx = Context::with_env(self.env.clone());
        ctx.add_variable_from_value("self", self_value.clone());
        if let Some(o) = old {
            ctx.add_variable_from_value("oldSelf", o.clone());
        }
        // cel-rust is third-party code on user input: a panic in it must not
        // take the request down with it
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| program.execute(&ctx)))
            .unwrap_or_else(|_| {
                Err(cel::ExecutionError::InternalError(
                    "evaluation panicked".to_string(),
                ))
            })
    }

    /// The evaluated `messageExpression`, or `None` to use the default
    /// message (upstream logs why and falls back).
    fn message(
        &mut self,
        compiled: &Compiled,
        self_value: &Value,
        old: Option<&Value>,
        cost: i64,
    ) -> Option<String> {
        let program = compiled.message.as_ref()?.as_ref().ok()?;
        self.budget -= cost;
        match self.eval(program, self_value, old) {
            Ok(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() || s.len() > MAX_MESSAGE_BYTES || s.contains('\n') {
                    None
                } else {
                    Some(s.to_string())
                }
            }
            _ => None,
        }
    }
}

/// How upstream prints a nil path.
fn path_or_nil(path: &str) -> &str {
    if path.is_empty() {
        "<nil>"
    } else {
        path
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The size of a JSON value, the unit of the cost budget.
fn size(v: &Json) -> i64 {
    match v {
        Json::Array(a) => 1 + a.iter().map(size).sum::<i64>(),
        Json::Object(o) => 1 + o.values().map(size).sum::<i64>(),
        Json::String(s) => 1 + (s.len() as i64) / 64,
        _ => 1,
    }
}

/// Whether list-map items `a` and `b` have the same key values.
fn same_keys(a: &Json, b: &Json, keys: &[&str]) -> bool {
    keys.iter().all(|k| a.get(*k) == b.get(*k))
}

/// Upstream's field error for a failed rule with `reason`.
fn error_for_reason(
    path: &str,
    type_name: &str,
    detail: String,
    reason: Option<&str>,
) -> FieldError {
    match reason {
        Some("FieldValueForbidden") => FieldError::forbidden(path, detail),
        Some("FieldValueRequired") => FieldError::required(path, detail),
        Some("FieldValueDuplicate") => FieldError::duplicate(path, type_name),
        _ => FieldError::invalid(path, type_name, detail),
    }
}

/// The rule's `fieldPath` as a path relative to the node (upstream's
/// `ValidFieldPath`), or `None` when unset or invalid.
pub(super) fn normalized_field_path(node: Node<'_>, field_path: &str) -> Option<String> {
    if field_path.is_empty() {
        return None;
    }
    super::fieldpath::parse(node, field_path).ok()
}
