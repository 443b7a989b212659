//! The Kubernetes CEL libraries (`k8s.io/apiserver/pkg/cel/library`) that
//! cel-rust lacks, registered as overloads on a [`cel::Env`]: lists
//! (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), regex
//! (`find`, `findAll`), sets (`sets.contains`, `sets.equivalent`,
//! `sets.intersects`), URLs (`url`, `isURL`, `getScheme`, ...) and
//! quantities (`quantity`, `isQuantity`, `isGreaterThan`, ...), IPs and
//! CIDRs (`ip`, `cidr`, `containsIP`, ...).
//!
//! Each overload converts its arguments to [`cel::Value`]s, computes, and
//! converts the result back: simple, and cheap for the sizes rules see.

mod lists;
mod net;
mod quantity;
mod regex;
mod sets;
mod url;

pub(super) use lists::compare;

use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError, Value};

/// Registers every library of this module on `env`.
pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    lists::register(env)?;
    regex::register(env)?;
    sets::register(env)?;
    url::register(env)?;
    quantity::register(env)?;
    net::register(env)?;
    Ok(())
}

/// The arguments of an overload as values.
fn values(args: &[CowVal<'_, '_>]) -> Result<Vec<Value>, ExecutionError> {
    args.iter().map(|a| Value::try_from(a.as_ref())).collect()
}

/// A value as an overload's result.
fn out<'b, 'v>(v: Value) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let boxed: Box<dyn Val> = v.try_into()?;
    Ok(CowVal::Owned(boxed))
}

/// cel-go's error for a call no overload accepts.
fn no_overload(function: &str) -> ExecutionError {
    ExecutionError::function_error(function, "no such overload")
}

/// Declares an overload `$name` whose body maps the argument values to a
/// value: `lift!(fn_name, |args| body)`.
macro_rules! lift {
    ($name:ident, $body:expr) => {
        fn $name<'b, 'v>(
            args: Vec<cel::common::value::CowVal<'b, 'v>>,
        ) -> Result<cel::common::value::CowVal<'b, 'v>, cel::ExecutionError> {
            let f: fn(Vec<cel::Value>) -> Result<cel::Value, cel::ExecutionError> = $body;
            super::out(f(super::values(&args)?)?)
        }
    };
}
pub(crate) use lift;
