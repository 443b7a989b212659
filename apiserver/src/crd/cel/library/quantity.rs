//! Kubernetes' quantity library: `quantity`, `isQuantity`, and on
//! quantities `sign`, `isInteger`, `asInteger`, `asApproximateFloat`,
//! `add`, `sub`, `isGreaterThan`, `isLessThan`, `compareTo`.
//!
//! A quantity is held exactly, in nano-units (`i128`), which covers every
//! value Kubernetes' `resource.Quantity` keeps (finer values round up, as
//! upstream does).

use super::{lift, no_overload};
use cel::common::types::{Type, DYN_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::sync::Arc;

const TYPE_NAME: &str = "kubernetes.Quantity";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    nanos: i128,
}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        TYPE_NAME
    }
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let q = || Type::new_opaque_type(TYPE_NAME);
    env.add_overload(
        "quantity",
        "string_to_quantity",
        vec![STRING_TYPE],
        to_quantity,
    )?;
    env.add_overload(
        "isQuantity",
        "is_quantity_string",
        vec![STRING_TYPE],
        is_quantity,
    )?;
    env.add_member_overload("sign", "quantity_sign", q(), vec![], sign)?;
    env.add_member_overload("isInteger", "quantity_is_integer", q(), vec![], is_integer)?;
    env.add_member_overload("asInteger", "quantity_get_integer", q(), vec![], as_integer)?;
    env.add_member_overload(
        "asApproximateFloat",
        "quantity_get_float",
        q(),
        vec![],
        as_float,
    )?;
    env.add_member_overload("add", "quantity_add", q(), vec![DYN_TYPE], add)?;
    env.add_member_overload("sub", "quantity_sub", q(), vec![DYN_TYPE], sub)?;
    env.add_member_overload(
        "isGreaterThan",
        "quantity_is_greater_than",
        q(),
        vec![q()],
        greater,
    )?;
    env.add_member_overload("isLessThan", "quantity_is_less_than", q(), vec![q()], less)?;
    env.add_member_overload(
        "compareTo",
        "quantity_compare_to",
        q(),
        vec![q()],
        compare_to,
    )?;
    Ok(())
}

/// A Kubernetes quantity string (`1Gi`, `500m`, `1.5`, `1e3`) in nano units.
fn parse(s: &str) -> Option<i128> {
    crate::printers::quantity::nanos(s)
}

fn quantity_of(v: Option<&Value>, function: &str) -> Result<Quantity, ExecutionError> {
    match v {
        Some(Value::Opaque(o)) => o
            .downcast_ref::<Quantity>()
            .copied()
            .ok_or_else(|| no_overload(function)),
        _ => Err(no_overload(function)),
    }
}

fn wrap(q: Quantity) -> Value {
    Value::Opaque(Arc::new(q))
}

lift!(to_quantity, |args| {
    match args.first() {
    Some(Value::String(s)) => parse(s).map(|nanos| wrap(Quantity { nanos })).ok_or_else(|| {
        ExecutionError::function_error("quantity", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    }),
    _ => Err(no_overload("quantity")),
}
});

lift!(is_quantity, |args| match args.first() {
    Some(Value::String(s)) => Ok(Value::Bool(parse(s).is_some())),
    _ => Err(no_overload("isQuantity")),
});

lift!(sign, |args| {
    let q = quantity_of(args.first(), "sign")?;
    Ok(Value::Int(q.nanos.signum() as i64))
});

lift!(is_integer, |args| {
    let q = quantity_of(args.first(), "isInteger")?;
    let whole = q.nanos % 1_000_000_000 == 0;
    Ok(Value::Bool(
        whole && i64::try_from(q.nanos / 1_000_000_000).is_ok(),
    ))
});

lift!(as_integer, |args| {
    let q = quantity_of(args.first(), "asInteger")?;
    if q.nanos % 1_000_000_000 != 0 {
        return Err(ExecutionError::function_error(
            "asInteger",
            "cannot convert value to integer",
        ));
    }
    i64::try_from(q.nanos / 1_000_000_000)
        .map(Value::Int)
        .map_err(|_| ExecutionError::function_error("asInteger", "cannot convert value to integer"))
});

lift!(as_float, |args| {
    let q = quantity_of(args.first(), "asApproximateFloat")?;
    Ok(Value::Float(q.nanos as f64 / 1e9))
});

fn operand(v: Option<&Value>, function: &str) -> Result<i128, ExecutionError> {
    match v {
        Some(Value::Int(i)) => Ok(i128::from(*i) * 1_000_000_000),
        other => quantity_of(other, function).map(|q| q.nanos),
    }
}

lift!(add, |args| {
    let a = quantity_of(args.first(), "add")?;
    let b = operand(args.get(1), "add")?;
    Ok(wrap(Quantity {
        nanos: a.nanos.saturating_add(b),
    }))
});

lift!(sub, |args| {
    let a = quantity_of(args.first(), "sub")?;
    let b = operand(args.get(1), "sub")?;
    Ok(wrap(Quantity {
        nanos: a.nanos.saturating_sub(b),
    }))
});

fn cmp(args: &[Value], function: &str) -> Result<std::cmp::Ordering, ExecutionError> {
    let a = quantity_of(args.first(), function)?;
    let b = quantity_of(args.get(1), function)?;
    Ok(a.nanos.cmp(&b.nanos))
}

lift!(greater, |args| Ok(Value::Bool(
    cmp(&args, "isGreaterThan")? == std::cmp::Ordering::Greater
)));
lift!(less, |args| Ok(Value::Bool(
    cmp(&args, "isLessThan")? == std::cmp::Ordering::Less
)));
lift!(compare_to, |args| Ok(Value::Int(
    cmp(&args, "compareTo")? as i64
)));

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(parse("1"), Some(1_000_000_000));
        assert_eq!(parse("500m"), Some(500_000_000));
        assert_eq!(parse("1Ki"), Some(1024 * 1_000_000_000));
        assert_eq!(parse("1.5Gi"), Some(1_610_612_736 * 1_000_000_000));
        assert_eq!(parse("1e3"), Some(1_000 * 1_000_000_000));
        assert_eq!(parse("-2k"), Some(-2_000 * 1_000_000_000));
        assert_eq!(parse("1n"), Some(1));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1Qi"), None);
    }
}
