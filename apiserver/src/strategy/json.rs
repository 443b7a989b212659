//! Small helpers to read and default fields of JSON objects without panics.

use serde_json::{Map, Value};

/// The value at a path of object keys.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object()?.get(*k)?;
    }
    Some(cur)
}

/// The string at a path, "" when absent or not a string.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a path.
pub fn int_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

/// The array at a path (empty when absent).
pub fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Whether a field is unset (absent or null).
pub fn unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Whether a string field is unset (absent, null or "").
pub fn unset_str(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// The object under `key`, created empty when absent or null; `None` when
/// `v` is not an object or `key` holds something else than an object.
pub fn obj<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = v.as_object_mut()?;
    let e = m.entry(key.to_string()).or_insert(Value::Null);
    if e.is_null() {
        *e = Value::Object(Map::new());
    }
    e.is_object().then_some(e)
}

/// The object under `key` if it exists and is an object.
pub fn obj_opt<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    v.as_object_mut()?.get_mut(key).filter(|x| x.is_object())
}

/// The array under `key` if it exists.
pub fn arr_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    v.as_object_mut()?.get_mut(key)?.as_array_mut()
}

/// Set `key` to `val` when absent or null.
pub fn default(v: &mut Value, key: &str, val: Value) {
    if let Some(m) = v.as_object_mut() {
        if unset(m.get(key)) {
            m.insert(key.to_string(), val);
        }
    }
}

/// Set a string `key` to `val` when absent, null or "".
pub fn default_str(v: &mut Value, key: &str, val: &str) {
    if let Some(m) = v.as_object_mut() {
        if unset_str(m.get(key)) {
            m.insert(key.to_string(), Value::String(val.to_string()));
        }
    }
}

/// A map of strings (labels, annotations, selectors) as sorted pairs;
/// non-string values are skipped.
pub fn string_map(v: Option<&Value>) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `path.child` as upstream's `field.Path` prints it.
pub fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `path[i]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `path[key]`.
pub fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}
