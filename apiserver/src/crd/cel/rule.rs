//! One `x-kubernetes-validations` entry (upstream's `ValidationRule`).

use crate::strategy::gofmt;
use serde_json::Value as Json;

#[derive(Debug, Clone, Default)]
pub(super) struct Rule {
    pub(super) rule: String,
    pub(super) message: String,
    pub(super) message_expression: String,
    pub(super) reason: Option<String>,
    pub(super) field_path: String,
    pub(super) optional_old_self: Option<bool>,
}

impl Rule {
    pub(super) fn from_json(v: &Json) -> Rule {
        let s = |k: &str| v.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        Rule {
            rule: s("rule"),
            message: s("message"),
            message_expression: s("messageExpression"),
            reason: v.get("reason").and_then(Json::as_str).map(str::to_string),
            field_path: s("fieldPath"),
            optional_old_self: v.get("optionalOldSelf").and_then(Json::as_bool),
        }
    }

    /// The message of a failed rule (upstream's `ruleMessageOrDefault`).
    pub(super) fn message_or_default(&self) -> String {
        if self.message.is_empty() {
            format!("failed rule: {}", self.error_string())
        } else {
            self.message.trim().to_string()
        }
    }

    /// How errors name the rule (upstream's `ruleErrorString`).
    pub(super) fn error_string(&self) -> String {
        if self.message.is_empty() {
            self.rule.trim().to_string()
        } else {
            self.message.trim().to_string()
        }
    }

    /// Go's `%#v` of the internal `apiextensions.ValidationRule`. Go prints
    /// a set pointer as its address; we print a stand-in address.
    pub(super) fn go_repr(&self) -> String {
        let reason = match &self.reason {
            None => "(*apiextensions.FieldValueErrorReason)(nil)".to_string(),
            Some(_) => "(*apiextensions.FieldValueErrorReason)(0xc000000000)".to_string(),
        };
        let optional = match self.optional_old_self {
            None => "(*bool)(nil)".to_string(),
            Some(_) => "(*bool)(0xc000000000)".to_string(),
        };
        format!(
            "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{}, FieldPath:{}, OptionalOldSelf:{}}}",
            gofmt::quote(&self.rule),
            gofmt::quote(&self.message),
            gofmt::quote(&self.message_expression),
            reason,
            gofmt::quote(&self.field_path),
            optional
        )
    }
}
