//! cel-go's sets extension: `sets.contains`, `sets.equivalent`,
//! `sets.intersects`.

use super::{lift, no_overload};
use cel::common::types::LIST_TYPE;
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::cmp::Ordering;

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let two = || vec![LIST_TYPE, LIST_TYPE];
    env.add_overload("sets.contains", "list_sets_contains_list", two(), contains)?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        two(),
        equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        two(),
        intersects,
    )?;
    Ok(())
}

fn pair(args: &[Value], f: &str) -> Result<(Vec<Value>, Vec<Value>), ExecutionError> {
    match (args.first(), args.get(1)) {
        (Some(Value::List(a)), Some(Value::List(b))) => Ok((a.to_vec(), b.to_vec())),
        _ => Err(no_overload(f)),
    }
}

fn has(list: &[Value], v: &Value) -> bool {
    list.iter()
        .any(|x| x == v || super::lists::compare(x, v) == Some(Ordering::Equal))
}

lift!(contains, |args| {
    let (a, b) = pair(&args, "sets.contains")?;
    Ok(Value::Bool(b.iter().all(|v| has(&a, v))))
});

lift!(equivalent, |args| {
    let (a, b) = pair(&args, "sets.equivalent")?;
    Ok(Value::Bool(
        b.iter().all(|v| has(&a, v)) && a.iter().all(|v| has(&b, v)),
    ))
});

lift!(intersects, |args| {
    let (a, b) = pair(&args, "sets.intersects")?;
    Ok(Value::Bool(b.iter().any(|v| has(&a, v))))
});
