//! Kubernetes' list library: `isSorted`, `sum`, `min`, `max`, `indexOf`,
//! `lastIndexOf` on lists.

use super::{lift, no_overload};
use cel::common::types::{DYN_TYPE, LIST_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::cmp::Ordering;

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload("isSorted", "list_is_sorted", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    Ok(())
}

fn list(args: &[Value], function: &str) -> Result<std::sync::Arc<Vec<Value>>, ExecutionError> {
    match args.first() {
        Some(Value::List(l)) => Ok(l.clone()),
        _ => Err(no_overload(function)),
    }
}

/// CEL's ordering of two values of comparable types (numbers across kinds).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::UInt(y)) => i128::from(*x).partial_cmp(&i128::from(*y)),
        (Value::UInt(x), Value::Int(y)) => i128::from(*x).partial_cmp(&i128::from(*y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::UInt(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::UInt(y)) => x.partial_cmp(&(*y as f64)),
        _ => a.partial_cmp(b),
    }
}

lift!(is_sorted, |args| {
    let l = list(&args, "isSorted")?;
    for pair in l.windows(2) {
        match compare(&pair[0], &pair[1]) {
            Some(Ordering::Greater) => return Ok(Value::Bool(false)),
            Some(_) => {}
            None => return Err(no_overload("isSorted")),
        }
    }
    Ok(Value::Bool(true))
});

lift!(sum, |args| {
    let l = list(&args, "sum")?;
    let mut acc = match l.first() {
        None | Some(Value::Int(_)) => Value::Int(0),
        Some(Value::UInt(_)) => Value::UInt(0),
        Some(Value::Float(_)) => Value::Float(0.0),
        Some(Value::Duration(_)) => Value::Duration(Default::default()),
        Some(_) => return Err(no_overload("sum")),
    };
    for v in l.iter() {
        acc = match (&acc, v) {
            (Value::Int(a), Value::Int(b)) => Value::Int(
                a.checked_add(*b)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Value::UInt(a), Value::UInt(b)) => {
                Value::UInt(a.checked_add(*b).ok_or_else(|| {
                    ExecutionError::function_error("sum", "unsigned integer overflow")
                })?)
            }
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (Value::Duration(a), Value::Duration(b)) => Value::Duration(
                a.checked_add(b)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            _ => return Err(no_overload("sum")),
        };
    }
    Ok(acc)
});

fn extreme(args: Vec<Value>, function: &str, keep: Ordering) -> Result<Value, ExecutionError> {
    let l = list(&args, function)?;
    let mut it = l.iter();
    let Some(first) = it.next() else {
        return Err(ExecutionError::function_error(
            function,
            format!("{function}(list) argument must not be empty"),
        ));
    };
    let mut best = first;
    for v in it {
        match compare(v, best) {
            Some(o) if o == keep => best = v,
            Some(_) => {}
            None => return Err(no_overload(function)),
        }
    }
    Ok(best.clone())
}

lift!(min, |args| extreme(args, "min", Ordering::Less));
lift!(max, |args| extreme(args, "max", Ordering::Greater));

fn position(args: Vec<Value>, function: &str, last: bool) -> Result<Value, ExecutionError> {
    let l = list(&args, function)?;
    let needle = args.get(1).ok_or_else(|| no_overload(function))?;
    let eq = |v: &&Value| compare(v, needle) == Some(Ordering::Equal) || *v == needle;
    let found = if last {
        l.iter().rposition(|v| eq(&v))
    } else {
        l.iter().position(|v| eq(&v))
    };
    Ok(Value::Int(found.map_or(-1, |i| i as i64)))
}

lift!(index_of, |args| position(args, "indexOf", false));
lift!(last_index_of, |args| position(args, "lastIndexOf", true));
