//! How upstream prints JSON values that went through Go's unstructured
//! decoding (`int64`, `float64`, `string`, `bool`, `map[string]interface{}`,
//! `[]interface{}`): `%v` in kube-openapi messages, `%#v` in
//! `field.Error` bodies for maps and slices.

use crate::strategy::gofmt::quote;
use crate::strategy::{ErrorKind, FieldError};
use serde_json::Value;

/// A JSON number as Go holds it after decoding: integers as `int64`,
/// everything else as `float64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn of(v: &Value) -> Option<Num> {
        let n = v.as_number()?;
        match n.as_i64() {
            Some(i) => Some(Num::Int(i)),
            None => n.as_f64().map(Num::Float),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Go's `%v` of a `float64` (`%g` with the shortest precision): shortest
/// round-trip digits, exponent form when the decimal exponent is < -4 or
/// >= 6 (`1e+06`, `1.5`, `1e-05`).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde[-]x".
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    // %f with exactly the shortest digits.
    let dp = exp + 1; // digits before the decimal point
    let out = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(dp as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{out}")
}

/// Go's `%v` of a number.
pub fn num(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => float(f),
    }
}

/// How `field.Error.ErrorBody` prints a bad value: `%q` for strings, `%v`
/// for numbers and bools, `null` for nil, `%#v` for maps and slices.
pub fn body_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map(num).unwrap_or_default(),
        Value::Array(_) | Value::Object(_) => sharp(v),
    }
}

/// Go's `%v` of an unstructured value (`map[a:1]`, `[x y]`, `<nil>`).
pub fn plain(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map(num).unwrap_or_default(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(plain).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", m.get(*k).map(plain).unwrap_or_default()))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Go's `%#v` of an unstructured value.
pub fn sharp(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map(num).unwrap_or_default(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(sharp).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", quote(k), m.get(*k).map(sharp).unwrap_or_default()))
                .collect();
            format!("map[string]interface {{}}{{{}}}", items.join(", "))
        }
    }
}

/// A field error whose bad value is printed as upstream prints unstructured
/// values.
pub fn error(
    kind: ErrorKind,
    field: &str,
    value: Option<&Value>,
    detail: impl Into<String>,
) -> FieldError {
    FieldError {
        kind,
        field: field.to_string(),
        detail: detail.into(),
        value: value.cloned(),
        shown: value.map(body_value),
    }
}

/// `field.TooLong(path, _, max)` (1.32+ wording).
pub fn too_long(field: &str, max: i64) -> FieldError {
    let detail = if max >= 0 {
        format!(
            "may not be more than {max} {}",
            if max == 1 { "byte" } else { "bytes" }
        )
    } else {
        "value is too long".to_string()
    };
    error(ErrorKind::TooLong, field, None, detail)
}

/// `field.TooMany(path, actual, max)` (1.32+ wording).
pub fn too_many(field: &str, actual: i64, max: i64) -> FieldError {
    let detail = if max >= 0 {
        format!(
            "must have at most {max} {}",
            if max == 1 { "item" } else { "items" }
        )
    } else {
        "has too many items".to_string()
    };
    let actual = (actual >= 0).then(|| Value::from(actual));
    error(ErrorKind::TooMany, field, actual.as_ref(), detail)
}

/// `field.NotSupported(path, value, valid)`.
pub fn not_supported(field: &str, value: &Value, valid: &[String]) -> FieldError {
    let detail = if valid.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = valid.iter().map(|v| quote(v)).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    error(ErrorKind::NotSupported, field, Some(value), detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float(10.0), "10");
        assert_eq!(float(10.5), "10.5");
        assert_eq!(float(1e6), "1e+06");
        assert_eq!(float(123456.0), "123456");
        assert_eq!(float(1234567.0), "1.234567e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(0.1), "0.1");
    }

    #[test]
    fn compound_values_print_like_sharp_v() {
        assert_eq!(
            sharp(&json!({"b": [1, "x", null], "a": true})),
            r#"map[string]interface {}{"a":true, "b":[]interface {}{1, "x", interface {}(nil)}}"#
        );
        assert_eq!(
            too_many("spec.x", 3, 1).to_string(),
            "spec.x: Too many: 3: must have at most 1 item"
        );
        assert_eq!(
            too_long("spec.x", 5).to_string(),
            "spec.x: Too long: may not be more than 5 bytes"
        );
    }
}
