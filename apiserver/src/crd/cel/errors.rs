//! Runtime errors as upstream words them: cel-go's error text, then
//! `<error> evaluating rule: <rule>`, or for an overload no argument type
//! matched, `'no such overload': call arguments did not match a supported
//! operator, function or macro signature for rule: <rule>`.

use cel::ExecutionError;

/// The detail of a rule that failed to evaluate; `rule` is the rule's
/// message, or its text.
pub(super) fn runtime(e: &ExecutionError, rule: &str) -> String {
    let text = cel_go_text(e);
    if text.starts_with("no such overload") {
        format!(
            "'{text}': call arguments did not match a supported operator, function or macro signature for rule: {rule}"
        )
    } else {
        format!("{text} evaluating rule: {rule}")
    }
}

/// cel-go's wording of an evaluation error.
fn cel_go_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::IndexOutOfBounds(i) => format!("index out of bounds: {}", show(i)),
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".into(),
        ExecutionError::Overflow(..) => "integer overflow".into(),
        ExecutionError::UndeclaredReference(name) => format!("no such attribute: {name}"),
        ExecutionError::FunctionError { message, .. } => message.clone(),
        ExecutionError::InternalError(m) => format!("internal error: {m}"),
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::ValuesNotComparable(..)
        | ExecutionError::UnexpectedType { .. }
        | ExecutionError::UnsupportedTargetType { .. }
        | ExecutionError::NotSupportedAsMethod { .. }
        | ExecutionError::UnsupportedIndex(..)
        | ExecutionError::UnsupportedKeyType(_) => "no such overload".into(),
        other => other.to_string(),
    }
}

fn show(v: &cel::Value) -> String {
    match v {
        cel::Value::Int(i) => i.to_string(),
        cel::Value::UInt(u) => u.to_string(),
        other => format!("{other:?}"),
    }
}
