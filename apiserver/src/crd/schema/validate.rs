//! Schema validation of custom resources as kube-openapi's
//! `validate.SchemaValidator` does it, with its errors turned into field
//! errors as apiextensions' `kubeOpenAPIResultToFieldErrors` does.
//!
//! Paths follow kube-openapi: properties and `additionalProperties` keys
//! are joined with `.` (`spec.labels.foo`), array items with `[i]`. Errors
//! that are not kube-openapi `Validation`s (allOf/anyOf/oneOf/not) have
//! no field: upstream prints them at `<nil>` (or at the base path, for
//! defaults).

use super::formats;
use super::goval::{self, Num};
use super::node::{Additional, Schema};
use crate::strategy::gofmt::quote;
use crate::strategy::{ErrorKind, FieldError};
use serde_json::{Map, Value};

/// Where errors are reported: `None` is upstream's nil `fldPath` (custom
/// resources); `Some(p)` prefixes every path (defaults in a CRD).
#[derive(Clone, Copy)]
pub struct Validator<'a> {
    pub base: Option<&'a str>,
}

impl<'a> Validator<'a> {
    /// The field an error at kube-openapi path `name` is reported at.
    fn field(&self, name: &str) -> String {
        let name = name.strip_prefix('.').unwrap_or(name);
        match (self.base, name.is_empty()) {
            (Some(b), true) => b.to_string(),
            (None, true) => "<nil>".to_string(),
            (Some(b), false) if !b.is_empty() => format!("{b}.{name}"),
            _ => name.to_string(),
        }
    }

    fn invalid(&self, name: &str, value: &Value, msg: String) -> FieldError {
        goval::error(ErrorKind::Invalid, &self.field(name), Some(value), msg)
    }

    fn type_invalid(&self, name: &str, type_name: &str, value: &str) -> FieldError {
        let msg = format!(
            "{name} in body must be of type {type_name}: {}",
            quote(value)
        );
        goval::error(
            ErrorKind::TypeInvalid,
            &self.field(name),
            Some(&Value::from(value)),
            msg,
        )
    }

    /// A non-`Validation` error (schema combinators): at the base path with
    /// an empty value.
    fn composite(&self, msg: String) -> FieldError {
        let field = self.base.unwrap_or("<nil>");
        goval::error(ErrorKind::Invalid, field, Some(&Value::from("")), msg)
    }

    /// Validates `data` at kube-openapi path `path` against `s`.
    pub fn node(&self, s: &Schema, path: &str, data: &Value) -> Vec<FieldError> {
        self.node_update(s, path, data, None)
    }

    /// Validates `data` on an update, `old` being the value at the same
    /// place in the old object (if it can be correlated): errors of values
    /// that did not change are dropped (CRD validation ratcheting, GA in
    /// 1.33).
    pub fn node_update(
        &self,
        s: &Schema,
        path: &str,
        data: &Value,
        old: Option<&Value>,
    ) -> Vec<FieldError> {
        if old.is_some_and(|o| json_equal(o, data)) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let types = s.types();
        let format = formats::supported(&s.format);
        // upstream strips unsupported formats before validating
        let format_name = if format.is_some() {
            s.format.as_str()
        } else {
            ""
        };
        if data.is_null() {
            if !types.is_empty() && !s.nullable {
                out.push(self.type_invalid(path, &types.join(","), "null"));
            }
            out.extend(self.enumeration(s, path, data));
            return out;
        }
        if !types.is_empty() || !format_name.is_empty() {
            out.extend(self.type_check(&types, format_name, path, data));
        }
        out.extend(self.combinators(s, path, data, old));
        if let Value::String(text) = data {
            out.extend(self.string(s, path, data, text));
            if let Some(f) = &format {
                if !formats::validates(f, text) {
                    let msg = format!(
                        "{path} in body must be of type {}: {}",
                        s.format,
                        quote(text)
                    );
                    out.push(goval::error(
                        ErrorKind::TypeInvalid,
                        &self.field(path),
                        Some(data),
                        msg,
                    ));
                }
            }
        }
        if let Some(n) = Num::of(data) {
            out.extend(self.number(s, path, data, n));
        }
        if let Value::Array(items) = data {
            out.extend(self.array(s, path, items, old));
        }
        out.extend(self.enumeration(s, path, data));
        if let Value::Object(m) = data {
            out.extend(self.object(s, path, m, old));
        }
        out
    }

    fn type_check(
        &self,
        types: &[&str],
        format: &str,
        path: &str,
        data: &Value,
    ) -> Vec<FieldError> {
        let (sch_type, data_format) = match data {
            Value::Bool(_) => ("boolean", ""),
            Value::String(_) => ("string", ""),
            Value::Array(_) => ("array", ""),
            Value::Object(_) => ("object", ""),
            Value::Number(_) => match Num::of(data) {
                Some(Num::Int(_)) => ("integer", "int64"),
                _ => ("number", "float64"),
            },
            Value::Null => ("null", ""),
        };
        let contains = |t: &str| types.contains(&t);
        let is_float_int = match Num::of(data) {
            Some(Num::Float(f)) => is_json_integer(f) && contains("integer"),
            _ => false,
        };
        let is_int_float = sch_type == "integer" && contains("number");
        let string_or_slice = matches!(data, Value::String(_) | Value::Array(_));
        let type_matches = contains(sch_type) || is_float_int || is_int_float;
        if !format.is_empty() {
            // a format on a non-string datum must match the datum's own
            if !(string_or_slice || type_matches || data_format == format) {
                return vec![self.type_invalid(path, format, data_format)];
            }
            // strings and arrays with a format skip the type check (upstream)
            let numeric = contains("number") || contains("integer");
            if string_or_slice && !numeric {
                return Vec::new();
            }
        }
        if !type_matches {
            return vec![self.type_invalid(path, &types.join(","), sch_type)];
        }
        Vec::new()
    }

    fn combinators(
        &self,
        s: &Schema,
        path: &str,
        data: &Value,
        old: Option<&Value>,
    ) -> Vec<FieldError> {
        let mut out = Vec::new();
        if !s.any_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut ok = false;
            for sub in &s.any_of {
                let r = self.node_update(sub, path, data, old);
                if r.is_empty() {
                    ok = true;
                    best = None;
                    break;
                }
                if best.as_ref().is_none_or(|b| r.len() < b.len()) {
                    best = Some(r);
                }
            }
            if !ok {
                out.push(self.composite(format!(
                    "{} must validate at least one schema (anyOf)",
                    quote(path)
                )));
            }
            out.extend(best.unwrap_or_default());
        }
        if !s.one_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut valid = 0;
            for sub in &s.one_of {
                let r = self.node_update(sub, path, data, old);
                if r.is_empty() {
                    valid += 1;
                    best = None;
                    continue;
                }
                if valid == 0 && best.as_ref().is_none_or(|b| r.len() < b.len()) {
                    best = Some(r);
                }
            }
            if valid != 1 {
                let more = if valid == 0 {
                    "Found none valid".to_string()
                } else {
                    format!("Found {valid} valid alternatives")
                };
                out.push(self.composite(format!(
                    "{} must validate one and only one schema (oneOf). {more}",
                    quote(path)
                )));
                out.extend(best.unwrap_or_default());
            }
        }
        if !s.all_of.is_empty() {
            let mut valid = 0;
            for sub in &s.all_of {
                let r = self.node_update(sub, path, data, old);
                if r.is_empty() {
                    valid += 1;
                }
                out.extend(r);
            }
            if valid != s.all_of.len() {
                let more = if valid == 0 { ". None validated" } else { "" };
                out.push(self.composite(format!(
                    "{} must validate all the schemas (allOf){more}",
                    quote(path)
                )));
            }
        }
        if let Some(not) = &s.not {
            if self.node_update(not, path, data, old).is_empty() {
                out.push(self.composite(format!(
                    "{} must not validate the schema (not)",
                    quote(path)
                )));
            }
        }
        out
    }

    /// maxLength, minLength, pattern: the first failure only.
    fn string(&self, s: &Schema, path: &str, data: &Value, text: &str) -> Vec<FieldError> {
        let len = text.chars().count() as i64;
        if let Some(max) = s.max_length {
            if len > max {
                return vec![goval::too_long(&self.field(path), max)];
            }
        }
        if let Some(min) = s.min_length {
            if len < min {
                let msg = format!("{path} in body should be at least {min} chars long");
                return vec![self.invalid(path, data, msg)];
            }
        }
        if !s.pattern.is_empty() {
            match formats::compile(&s.pattern) {
                Ok(re) if re.is_match(text) => {}
                Ok(_) => {
                    let msg = format!("{path} in body should match '{}'", s.pattern);
                    return vec![self.invalid(path, data, msg)];
                }
                Err(e) => {
                    let msg = format!(
                        "{path} in body should match '{}, but pattern is invalid: {e}'",
                        s.pattern
                    );
                    return vec![self.invalid(path, data, msg)];
                }
            }
        }
        Vec::new()
    }

    /// multipleOf, minimum, maximum, in that order; integers are compared
    /// with the bound truncated to an integer, as upstream.
    fn number(&self, s: &Schema, path: &str, data: &Value, n: Num) -> Vec<FieldError> {
        let mut out = Vec::new();
        if let Some(m) = s.multiple_of {
            let int_factor = m as i64;
            match n {
                Num::Int(i) if int_factor != 0 => {
                    if int_factor < 0 {
                        let msg = format!(
                            "factor MultipleOf declared for {path} must be positive: {int_factor}"
                        );
                        out.push(self.invalid(path, &Value::from(int_factor), msg));
                    } else if i % int_factor != 0 {
                        let msg = format!("{path} in body should be a multiple of {int_factor}");
                        out.push(self.invalid(path, data, msg));
                    }
                }
                _ => {
                    let x = n.as_f64();
                    if m < 0.0 {
                        let msg = format!(
                            "factor MultipleOf declared for {path} must be positive: {}",
                            goval::float(m)
                        );
                        out.push(self.invalid(path, &Value::from(m), msg));
                    } else {
                        let mult = if m < 1.0 { 1.0 / m * x } else { x / m };
                        if !is_json_integer(mult) {
                            let msg = format!(
                                "{path} in body should be a multiple of {}",
                                goval::float(m)
                            );
                            out.push(self.invalid(path, data, msg));
                        }
                    }
                }
            }
        }
        if let Some(min) = s.minimum {
            let excl = s.exclusive_minimum;
            let (fails, bound) = match n {
                Num::Int(i) => {
                    let b = min as i64;
                    ((!excl && i < b) || (excl && i <= b), b.to_string())
                }
                Num::Float(x) => ((!excl && x < min) || (excl && x <= min), goval::float(min)),
            };
            if fails {
                let op = if excl {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                out.push(self.invalid(
                    path,
                    data,
                    format!("{path} in body should be {op} {bound}"),
                ));
            }
        }
        if let Some(max) = s.maximum {
            let excl = s.exclusive_maximum;
            let (fails, bound) = match n {
                Num::Int(i) => {
                    let b = max as i64;
                    ((!excl && i > b) || (excl && i >= b), b.to_string())
                }
                Num::Float(x) => ((!excl && x > max) || (excl && x >= max), goval::float(max)),
            };
            if fails {
                let op = if excl {
                    "less than"
                } else {
                    "less than or equal to"
                };
                out.push(self.invalid(
                    path,
                    data,
                    format!("{path} in body should be {op} {bound}"),
                ));
            }
        }
        out
    }

    fn array(
        &self,
        s: &Schema,
        path: &str,
        items: &[Value],
        old: Option<&Value>,
    ) -> Vec<FieldError> {
        let mut out = Vec::new();
        if let Some(item) = &s.items {
            let old_items = old
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for (i, v) in items.iter().enumerate() {
                let o = correlate(s, v, old_items);
                out.extend(self.node_update(item, &format!("{path}[{i}]"), v, o));
            }
        }
        let size = items.len() as i64;
        if let Some(min) = s.min_items {
            if size < min {
                let msg = format!("{path} in body should have at least {min} items");
                out.push(self.invalid(path, &Value::from(size), msg));
            }
        }
        if let Some(max) = s.max_items {
            if size > max {
                out.push(goval::too_many(&self.field(path), size, max));
            }
        }
        if s.unique_items {
            let dup = items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].iter().any(|b| json_equal(a, b)));
            if dup {
                let msg = format!("{path} in body shouldn't contain duplicates");
                out.push(self.invalid(path, &Value::from(""), msg));
            }
        }
        out
    }

    fn enumeration(&self, s: &Schema, path: &str, data: &Value) -> Vec<FieldError> {
        let Some(values) = s.enum_.as_ref().filter(|e| !e.is_empty()) else {
            return Vec::new();
        };
        if !data.is_null() && values.iter().any(|e| json_equal(data, e)) {
            return Vec::new();
        }
        let valid: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        vec![goval::not_supported(&self.field(path), data, &valid)]
    }

    fn object(
        &self,
        s: &Schema,
        path: &str,
        m: &Map<String, Value>,
        old: Option<&Value>,
    ) -> Vec<FieldError> {
        let old_field = |k: &str| old.and_then(|o| o.get(k));
        let n = m.len() as i64;
        if let Some(min) = s.min_properties {
            if n < min {
                let msg = format!("{path} in body should have at least {min} properties");
                return vec![self.invalid(path, &Value::from(n), msg)];
            }
        }
        if let Some(max) = s.max_properties {
            if n > max {
                return vec![goval::too_many(&self.field(path), n, max)];
            }
        }
        let mut out = Vec::new();
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        match &s.additional_properties {
            Some(Additional::Bool(false)) => {
                for k in keys
                    .iter()
                    .filter(|k| !s.properties.contains_key(k.as_str()))
                {
                    let msg = format!("{path}.{k} in body is a forbidden property");
                    out.push(self.invalid(path, &Value::from(k.as_str()), msg));
                }
            }
            Some(Additional::Schema(add)) => {
                for k in keys
                    .iter()
                    .filter(|k| !s.properties.contains_key(k.as_str()))
                {
                    if let Some(v) = m.get(*k) {
                        out.extend(self.node_update(add, &format!("{path}.{k}"), v, old_field(k)));
                    }
                }
            }
            _ => {}
        }
        for (k, prop) in &s.properties {
            if let Some(v) = m.get(k) {
                let name = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.extend(self.node_update(prop, &name, v, old_field(k)));
            }
        }
        for k in &s.required {
            if !m.contains_key(k) {
                out.push(FieldError::required(
                    &self.field(&format!("{path}.{k}")),
                    "",
                ));
            }
        }
        out
    }
}

/// The old element a new array element corresponds to: only items of
/// `x-kubernetes-list-type: map` lists correlate (by their keys).
fn correlate<'a>(s: &Schema, item: &Value, old_items: &'a [Value]) -> Option<&'a Value> {
    if s.list_type() != Some("map") || s.list_map_keys().is_empty() {
        return None;
    }
    let key = |v: &Value| -> Vec<Option<Value>> {
        s.list_map_keys()
            .iter()
            .map(|k| v.get(k).cloned())
            .collect()
    };
    let want = key(item);
    old_items.iter().find(|o| key(o) == want)
}

/// swag's `IsFloat64AJSONInteger`.
pub fn is_json_integer(f: f64) -> bool {
    const MAX: f64 = 9007199254740992.0; // 2^53
    if !f.is_finite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    if f.fract() == 0.0 {
        return true;
    }
    let g = f.round();
    let diff = (f - g).abs();
    diff / (f.abs() + g.abs()) < 1e-9
}

/// Equality of JSON values with numbers compared by value (Go compares an
/// `int64` datum with a `float64` enum entry after conversion).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (Num::of(a), Num::of(b)) {
            (Some(Num::Int(x)), Some(Num::Int(y))) => x == y,
            (Some(x), Some(y)) => x.as_f64() == y.as_f64(),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
