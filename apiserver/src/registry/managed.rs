//! `metadata.managedFields` for Update operations: the manager owns the
//! fields it set or changed, other managers lose those fields. Field sets
//! use the FieldsV1 format (`f:name`, `k:{"name":"x"}`, `v:"x"`, `.`).
//! Server-side apply (operation Apply) is `registry::apply`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::shape::{ListType, Shape};
use crate::registry::meta;

pub(super) type Path = Vec<String>;
pub(super) type Flat = BTreeMap<Path, Value>;

/// Metadata fields the server owns; never part of a field set.
const SYSTEM_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Which part of the object a write may own.
#[derive(Clone, Copy)]
pub enum Scope {
    /// The main resource of a kind with a status subresource: all but status.
    MainWithoutStatus,
    /// The whole object.
    All,
    /// The status subresource: status only.
    StatusOnly,
}

/// Records the manager of a write: `Apply` for apply patches, else `Update`.
pub fn record_write(
    obj: &mut Value,
    old: Option<&Value>,
    opts: &crate::registry::WriteOptions,
    api_version: &str,
    time: &str,
    scope: Scope,
    shape: Shape<'_>,
) -> crate::error::ApiResult<()> {
    match &opts.applied {
        Some(applied) => super::apply::record(
            obj,
            old,
            &super::apply::Apply {
                applied,
                manager: &opts.field_manager,
                force: opts.force,
                api_version,
                time,
                subresource: &opts.subresource,
                scope,
                shape,
            },
        ),
        None => {
            record(
                obj,
                old,
                &opts.field_manager,
                api_version,
                time,
                &opts.subresource,
                Layout { scope, shape },
            );
            Ok(())
        }
    }
}

/// Which part of an object a write may own, and the schema that types it.
#[derive(Clone, Copy)]
pub struct Layout<'a> {
    pub scope: Scope,
    pub shape: Shape<'a>,
}

/// Records the manager of a create (`old` None) or update.
pub fn record(
    obj: &mut Value,
    old: Option<&Value>,
    manager: &str,
    api_version: &str,
    time: &str,
    subresource: &str,
    layout: Layout<'_>,
) {
    let Layout { scope, shape } = layout;
    if manager.is_empty() {
        // No manager to record: the old entries stay as they were (a new
        // object gets none; clients cannot write managedFields directly).
        match old
            .and_then(|o| o.get("metadata"))
            .and_then(|m| m.get("managedFields"))
        {
            Some(mf) => meta::set_meta(obj, "managedFields", mf.clone()),
            None => {
                meta::remove_meta(obj, "managedFields");
            }
        }
        return;
    }
    let new_flat = flatten_object(obj, scope, shape);
    let mut entries: Vec<Value> = match old {
        Some(o) => o
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let changed: Vec<Path> = match old {
        Some(o) => {
            let old_flat = flatten_object(o, scope, shape);
            let mut c: Vec<Path> = new_flat
                .iter()
                .filter(|(p, v)| old_flat.get(*p) != Some(*v))
                .map(|(p, _)| p.clone())
                .collect();
            c.extend(
                old_flat
                    .keys()
                    .filter(|p| !new_flat.contains_key(*p))
                    .cloned(),
            );
            c
        }
        None => new_flat.keys().cloned().collect(),
    };
    if old.is_some() && changed.is_empty() {
        // Nothing changed: every entry stays as it was (no new time).
        match old
            .and_then(|o| o.get("metadata"))
            .and_then(|m| m.get("managedFields"))
        {
            Some(mf) => meta::set_meta(obj, "managedFields", mf.clone()),
            None => {
                meta::remove_meta(obj, "managedFields");
            }
        }
        return;
    }
    let mut mine: Option<Flat> = None;
    let mut kept = Vec::new();
    for e in entries.drain(..).filter(Value::is_object) {
        let is_mine = e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Update")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == subresource;
        let mut set = unflattened_set(e.get("fieldsV1"));
        if is_mine {
            mine = Some(set);
            continue;
        }
        for p in &changed {
            set.remove(p);
        }
        if set.is_empty() {
            continue;
        }
        let mut e = e;
        e["fieldsV1"] = unflatten(&set);
        kept.push(e);
    }
    let mut mine = mine.unwrap_or_default();
    for p in &changed {
        if new_flat.contains_key(p) {
            mine.insert(p.clone(), Value::Null);
        } else {
            mine.remove(p);
        }
    }
    mine.retain(|p, _| new_flat.contains_key(p));
    if !mine.is_empty() {
        let mut entry = json!({
            "manager": manager,
            "operation": "Update",
            "apiVersion": api_version,
            "time": time,
            "fieldsType": "FieldsV1",
            "fieldsV1": unflatten(&mine),
        });
        if !subresource.is_empty() {
            entry["subresource"] = json!(subresource);
        }
        kept.push(entry);
    }
    if kept.is_empty() {
        meta::remove_meta(obj, "managedFields");
    } else {
        meta::set_meta(obj, "managedFields", Value::Array(kept));
    }
}

/// The FieldsV1 set of everything an object sets.
pub fn fields_v1(obj: &Value, scope: Scope, shape: Shape<'_>) -> Value {
    unflatten(&flatten_object(obj, scope, shape))
}

pub(super) fn flatten_object(obj: &Value, scope: Scope, shape: Shape<'_>) -> Flat {
    let mut out = Flat::new();
    let Some(root) = obj.as_object() else {
        return out;
    };
    for (k, v) in root {
        let keep = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::MainWithoutStatus) => false,
            ("status", Scope::StatusOnly) => true,
            (_, Scope::StatusOnly) => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            if let Some(m) = v.as_object() {
                let mut m = m.clone();
                for s in SYSTEM_META {
                    m.remove(*s);
                }
                if m.is_empty() {
                    continue;
                }
                // Every kind's metadata is an ObjectMeta, whatever a custom
                // resource's schema says of it.
                let meta_shape = crate::openapi::extensions::object_meta_shape();
                walk_field(k, &Value::Object(m), &[], &mut out, meta_shape);
            }
            continue;
        }
        walk_field(k, v, &[], &mut out, shape.field(k));
    }
    out.retain(|p, _| !p.is_empty());
    out
}

fn walk_field(k: &str, v: &Value, path: &[String], out: &mut Flat, shape: Shape<'_>) {
    let mut p = path.to_vec();
    p.push(format!("f:{k}"));
    match v {
        Value::Object(_) if shape.is_atomic_map() => {
            out.insert(p, v.clone());
        }
        Value::Object(m) if m.is_empty() => {
            out.insert(p, v.clone());
        }
        Value::Object(m) => {
            if shape.is_map() {
                let mut dot = p.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
            }
            for (ck, cv) in m {
                walk_field(ck, cv, &p, out, shape.field(ck));
            }
        }
        Value::Array(items) => walk_list(items, &p, out, shape),
        other => {
            out.insert(p, other.clone());
        }
    }
}

/// A list, as its schema types it: atomic lists are owned whole, sets by
/// value (`v:`), associative lists by item (`k:`). Items that are not what
/// the type expects (or repeat a key) make the list atomic.
fn walk_list(items: &[Value], p: &Path, out: &mut Flat, shape: Shape<'_>) {
    if items.is_empty() {
        out.insert(p.clone(), Value::Array(Vec::new()));
        return;
    }
    match shape.list_type() {
        ListType::Set if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            for i in items {
                let mut ip = p.clone();
                ip.push(format!("v:{i}"));
                out.insert(ip, Value::Null);
            }
        }
        ListType::Map(keys) => {
            let objects: Option<Vec<&Map<String, Value>>> =
                items.iter().map(Value::as_object).collect();
            let Some(objects) = objects else {
                out.insert(p.clone(), Value::Array(items.to_vec()));
                return;
            };
            let ids: Vec<String> = objects.iter().map(|o| item_key(o, &keys)).collect();
            let mut seen = std::collections::HashSet::new();
            if !ids.iter().all(|id| seen.insert(id.as_str())) {
                out.insert(p.clone(), Value::Array(items.to_vec()));
                return;
            }
            let item_shape = shape.items();
            for (o, id) in objects.iter().zip(ids) {
                let mut ip = p.clone();
                ip.push(id);
                let mut dot = ip.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
                for (ck, cv) in o.iter() {
                    walk_field(ck, cv, &ip, out, item_shape.field(ck));
                }
            }
        }
        _ => {
            out.insert(p.clone(), Value::Array(items.to_vec()));
        }
    }
}

/// `k:{"port":80,"protocol":"TCP"}`: an associative list item's identity
/// (key fields the item leaves out count with their defaults).
pub(super) fn item_key(o: &Map<String, Value>, keys: &[String]) -> String {
    let item = Value::Object(o.clone());
    let mut key = Map::new();
    for k in keys {
        if let Some(v) = super::shape::key_value(&item, k) {
            key.insert(k.clone(), v);
        }
    }
    format!("k:{}", Value::Object(key))
}

pub(super) fn unflattened_set(fields: Option<&Value>) -> Flat {
    let mut out = Flat::new();
    if let Some(f) = fields {
        collect_paths(f, &mut Vec::new(), &mut out);
    }
    out
}

fn collect_paths(v: &Value, path: &mut Path, out: &mut Flat) {
    match v.as_object() {
        Some(m) if !m.is_empty() => {
            for (k, c) in m {
                path.push(k.clone());
                collect_paths(c, path, out);
                path.pop();
            }
        }
        _ => {
            if !path.is_empty() {
                out.insert(path.clone(), Value::Null);
            }
        }
    }
}

pub(super) fn unflatten(flat: &Flat) -> Value {
    let mut root = Map::new();
    for path in flat.keys() {
        let mut cur = &mut root;
        for seg in path {
            let next = cur
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            cur = meta::as_map(next);
        }
    }
    Value::Object(root)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::openapi::extensions::kind_shape;

    fn config_maps() -> Layout<'static> {
        Layout {
            scope: Scope::All,
            shape: kind_shape("", "v1", "ConfigMap"),
        }
    }

    #[test]
    fn create_records_every_user_field() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app": "a"}}, "data": {"k": "v"}});
        record(
            &mut cm,
            None,
            "kubectl-create",
            "v1",
            "t",
            "",
            config_maps(),
        );
        let mf = &cm["metadata"]["managedFields"][0];
        assert_eq!(mf["manager"], "kubectl-create");
        assert_eq!(mf["operation"], "Update");
        assert_eq!(
            mf["fieldsV1"],
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
    }

    #[test]
    fn updates_move_changed_fields_to_the_new_manager() {
        let mut old = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        record(&mut old, None, "creator", "v1", "t", "", config_maps());
        let mut new = old.clone();
        new["data"]["b"] = json!("3");
        record(
            &mut new,
            Some(&old),
            "editor",
            "v1",
            "t2",
            "",
            config_maps(),
        );
        let mf = new["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {".": {}, "f:a": {}}}));
        assert_eq!(mf[1]["manager"], "editor");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:data": {"f:b": {}}}));
    }

    #[test]
    fn ports_without_protocol_are_keyed_as_tcp() {
        let svc = json!({"spec": {"ports": [{"port": 80}]}});
        let f = fields_v1(&svc, Scope::All, kind_shape("", "v1", "Service"));
        assert!(f["f:spec"]["f:ports"]
            .get("k:{\"port\":80,\"protocol\":\"TCP\"}")
            .is_some());
    }

    #[test]
    fn metadata_follows_object_meta_for_every_kind() {
        let obj = json!({"metadata": {
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u1"}],
            "finalizers": ["a/b"]},
            "spec": {"tags": ["x"]}});
        // A custom resource whose schema says nothing of its metadata.
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {"tags": {
                "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}}});
        let f = fields_v1(&obj, Scope::All, Shape::of(Some(&schema)));
        assert_eq!(
            f["f:metadata"],
            json!({
                "f:finalizers": {"v:\"a/b\"": {}},
                "f:ownerReferences": {"k:{\"uid\":\"u1\"}": {
                    ".": {}, "f:apiVersion": {}, "f:kind": {}, "f:name": {}, "f:uid": {}}},
            })
        );
        assert_eq!(f["f:spec"]["f:tags"], json!({"v:\"x\"": {}}));
    }

    #[test]
    fn containers_are_keyed_by_name() {
        let d = json!({"spec": {"containers": [{"name": "c", "image": "i"}], "args": ["a"]}});
        let f = fields_v1(&d, Scope::All, kind_shape("", "v1", "Pod"));
        assert_eq!(
            f["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"],
            json!({".": {}, "f:image": {}, "f:name": {}})
        );
        // A list of scalars is atomic: owned as a whole.
        assert_eq!(f["f:spec"]["f:args"], json!({}));
        let m = json!({"metadata": {"finalizers": ["a/b"]}});
        let f = fields_v1(&m, Scope::All, kind_shape("", "v1", "Pod"));
        assert_eq!(f["f:metadata"]["f:finalizers"]["v:\"a/b\""], json!({}));
    }
}
