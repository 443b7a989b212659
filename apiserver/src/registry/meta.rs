//! Metadata mechanics shared by every kind: names, uids, timestamps,
//! generation, and `metadata.resourceVersion` on the way in and out.

use openraft_store::Revision;
use serde_json::{Map, Value};

/// `v` as a map, replaced by an empty one when it is not an object.
pub fn as_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was just made an object"),
    }
}

/// Puts `cond` into `status.conditions` in place of the condition of its
/// type, unless that one already has the same status (its transition time
/// then stays), as the condition helpers upstream do.
pub fn upsert_condition(obj: &mut Value, cond: Value) {
    let mut conditions: Vec<Value> = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    match conditions
        .iter_mut()
        .find(|c| field(c, "type") == field(&cond, "type"))
    {
        Some(c) if field(c, "status") == field(&cond, "status") => {}
        Some(c) => *c = cond,
        None => conditions.push(cond),
    }
    set_path(obj, &["status", "conditions"], Value::Array(conditions));
}

/// Sets `obj.a.b... = value`, replacing non-object values on the way.
pub fn set_path(obj: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = as_map(obj);
    for p in parents {
        cur = as_map(
            cur.entry((*p).to_string())
                .or_insert_with(|| Value::Object(Map::new())),
        );
    }
    cur.insert((*last).to_string(), value);
}

/// `metadata` as a map, created when missing (non-object metadata is replaced).
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let root = as_map(obj);
    as_map(
        root.entry("metadata")
            .or_insert_with(|| Value::Object(Map::new())),
    )
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

pub fn resource_version(obj: &Value) -> &str {
    meta_str(obj, "resourceVersion").unwrap_or("")
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    meta_mut(obj).insert(field.to_string(), value);
}

pub fn remove_meta(obj: &mut Value, field: &str) -> Option<Value> {
    meta_mut(obj).remove(field)
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

pub fn set_resource_version(obj: &mut Value, rev: Revision) {
    set_meta(obj, "resourceVersion", Value::String(rev.to_string()));
}

/// Now, as Kubernetes writes timestamps: RFC 3339, seconds, UTC.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `now + seconds`, as a metav1.Time string.
pub fn seconds_from_now(seconds: i64) -> String {
    let t = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fresh uid (UUID v4).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// upstream's name-generator alphabet: no vowels, no confusable digits.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const MAX_GENERATED_NAME_LENGTH: usize = 63 - 5;

/// `generateName` plus five random characters, the base cut to fit 63.
pub fn generate_name(base: &str) -> String {
    let mut base = base.to_string();
    if base.len() > MAX_GENERATED_NAME_LENGTH {
        let mut cut = MAX_GENERATED_NAME_LENGTH;
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base.truncate(cut);
    }
    let random = uuid::Uuid::new_v4();
    let suffix: String = random.as_bytes()[..5]
        .iter()
        .map(|b| ALPHANUMS[(*b as usize) % ALPHANUMS.len()] as char)
        .collect();
    format!("{base}{suffix}")
}

/// Drops what Go's `omitempty` would not print: empty label, annotation,
/// finalizer, owner-reference and managed-field collections, and empty
/// top-level `data` maps.
pub fn normalize(obj: &mut Value) {
    let empty = |v: &Value| match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if let Some(Value::Object(m)) = obj.get_mut("metadata") {
        for f in [
            "labels",
            "annotations",
            "finalizers",
            "ownerReferences",
            "managedFields",
        ] {
            if m.get(f).is_some_and(empty) {
                m.remove(f);
            }
        }
    }
    if let Some(root) = obj.as_object_mut() {
        for f in ["data", "binaryData", "stringData"] {
            if root.get(f).is_some_and(empty) {
                root.remove(f);
            }
        }
    }
}

/// Everything but `metadata` and `status`: what `generation` tracks.
pub fn spec_part(obj: &Value) -> Value {
    let mut m = obj.as_object().cloned().unwrap_or_default();
    for k in ["metadata", "status", "apiVersion", "kind"] {
        m.remove(k);
    }
    Value::Object(m)
}

/// Everything but `metadata` (and the type fields).
pub fn without_metadata(obj: &Value) -> Value {
    let mut m = obj.as_object().cloned().unwrap_or_default();
    for k in ["metadata", "apiVersion", "kind"] {
        m.remove(k);
    }
    Value::Object(m)
}

/// The object's labels as string pairs.
pub fn labels(obj: &Value) -> std::collections::BTreeMap<String, String> {
    obj.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.as_object())
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_use_the_alphabet_and_fit() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n[4..].bytes().all(|b| ALPHANUMS.contains(&b)));
        assert_eq!(generate_name(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn spec_part_ignores_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"metadata": {}, "spec": {"x": 1}, "status": {"y": 2}});
        assert_eq!(spec_part(&a), spec_part(&b));
        assert_ne!(spec_part(&a), spec_part(&json!({"spec": {"x": 2}})));
    }

    #[test]
    fn meta_mut_repairs_non_object_metadata() {
        let mut v = json!({"metadata": 3});
        set_meta(&mut v, "name", json!("x"));
        assert_eq!(name(&v), "x");
    }
}
