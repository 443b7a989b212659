//! Kubernetes' regex library: `find` and `findAll` on strings.

use super::{lift, no_overload};
use cel::common::types::{INT_TYPE, STRING_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::sync::Arc;

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload(
        "find",
        "string_find_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string_int",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all,
    )?;
    Ok(())
}

fn compile(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern).map_err(|e| ExecutionError::function_error(function, e))
}

fn strings(args: &[Value], function: &str) -> Result<(Arc<String>, Arc<String>), ExecutionError> {
    match (args.first(), args.get(1)) {
        (Some(Value::String(s)), Some(Value::String(p))) => Ok((s.clone(), p.clone())),
        _ => Err(no_overload(function)),
    }
}

lift!(find, |args| {
    let (s, p) = strings(&args, "find")?;
    let re = compile("find", &p)?;
    Ok(Value::String(Arc::new(
        re.find(&s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    )))
});

lift!(find_all, |args| {
    let (s, p) = strings(&args, "findAll")?;
    let re = compile("findAll", &p)?;
    let limit = match args.get(2) {
        Some(Value::Int(n)) if *n >= 0 => Some(*n as usize),
        _ => None,
    };
    let found: Vec<Value> = re
        .find_iter(&s)
        .take(limit.unwrap_or(usize::MAX))
        .map(|m| Value::String(Arc::new(m.as_str().to_string())))
        .collect();
    Ok(Value::List(Arc::new(found)))
});
