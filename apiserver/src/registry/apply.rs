//! Server-side apply ownership (structured-merge-diff's rules, in our own
//! words): an applier owns exactly the fields of its applied configuration;
//! changing a field another manager owns is a conflict (409 naming each
//! field and manager) unless forced, in which case ownership moves; setting
//! a field to the value it already has shares ownership; a field the
//! applier applied before and no longer applies is removed from the object
//! when nobody else owns it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::managed::{self, Flat, Path, Scope};
use super::shape::Shape;
use crate::error::{ApiError, ApiResult, Cause};
use crate::registry::meta;

/// One apply request, as the registry sees it.
pub struct Apply<'a> {
    pub applied: &'a Value,
    pub manager: &'a str,
    pub force: bool,
    pub api_version: &'a str,
    pub time: &'a str,
    pub subresource: &'a str,
    pub scope: Scope,
    /// The schema of a custom resource (list and map types).
    pub shape: Shape<'a>,
}

/// A managedFields entry with its set.
struct Entry {
    raw: Value,
    set: Flat,
}

impl Entry {
    fn field(&self, k: &str) -> &str {
        self.raw.get(k).and_then(Value::as_str).unwrap_or("")
    }

    fn is(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.field("manager") == manager
            && self.field("operation") == operation
            && self.field("subresource") == subresource
    }

    /// How upstream names a manager in conflict messages.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.field("manager"));
        if !self.field("subresource").is_empty() {
            s.push_str(&format!(
                " with subresource {:?}",
                self.field("subresource")
            ));
        }
        if self.field("operation") == "Update" {
            s.push_str(&format!(" using {}", self.field("apiVersion")));
        }
        s
    }
}

/// Records an apply on `obj` (the live object with the configuration merged
/// in), checking conflicts against `old`, and removing what the applier
/// stopped applying.
pub fn record(obj: &mut Value, old: Option<&Value>, a: &Apply<'_>) -> ApiResult<()> {
    let mut applied_set = managed::flatten_object(a.applied, a.scope, a.shape);
    // An applier owns a map's members, not the map itself (only list items
    // carry `.` in Apply entries, as upstream).
    applied_set.retain(|p, _| !is_map_node(p));
    let live = old
        .map(|o| managed::flatten_object(o, a.scope, a.shape))
        .unwrap_or_default();
    let merged = managed::flatten_object(obj, a.scope, a.shape);
    let mut entries: Vec<Entry> = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.is_object())
        .map(|e| Entry {
            set: managed::unflattened_set(e.get("fieldsV1")),
            raw: e.clone(),
        })
        .collect();
    let mine_before = entries
        .iter()
        .position(|e| e.is(a.manager, "Apply", a.subresource))
        .map(|i| entries.remove(i).set)
        .unwrap_or_default();

    // Fields whose value this apply changes.
    let changed: Vec<&Path> = applied_set
        .keys()
        .filter(|p| p.last().map(String::as_str) != Some("."))
        .filter(|p| merged.get(*p) != live.get(*p))
        .collect();
    let mut conflicts: Vec<(String, &Path)> = Vec::new();
    for e in &entries {
        for p in &changed {
            if e.set.contains_key(*p) {
                conflicts.push((e.describe(), *p));
            }
        }
    }
    let mut force = a.force;
    if !conflicts.is_empty() && !force && a.manager == KUBECTL {
        // kubectl moving from client-side to server-side apply: fields its
        // last-applied annotation set (still at those values) are its own.
        let allowed = old
            .map(|o| last_applied_fields(o, a.shape))
            .unwrap_or_default();
        conflicts.retain(|(_, p)| !allowed.contains_key(*p));
        force = conflicts.is_empty();
    }
    if !conflicts.is_empty() && !force {
        let printable = conflicts
            .into_iter()
            .map(|(m, p)| (m, path_string(p)))
            .collect();
        return Err(conflict_error(printable, a.api_version));
    }
    // Forced: the changed fields leave their other owners.
    if force {
        for e in &mut entries {
            for p in &changed {
                e.set.remove(*p);
            }
        }
    }
    // What this manager stopped applying goes when nobody else owns it.
    let mut dropped: Vec<&Path> = mine_before
        .keys()
        .filter(|p| !applied_set.contains_key(*p))
        .collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        let owned_elsewhere = entries
            .iter()
            .any(|e| e.set.keys().any(|q| q.starts_with(strip_dot(p))));
        if !owned_elsewhere && !applied_set.keys().any(|q| q.starts_with(strip_dot(p))) {
            remove_path(obj, strip_dot(p));
        }
    }
    let present = managed::flatten_object(obj, a.scope, a.shape);
    let mut kept: Vec<Value> = Vec::new();
    let mut entry = json!({
        "manager": a.manager,
        "operation": "Apply",
        "apiVersion": a.api_version,
        "time": a.time,
        "fieldsType": "FieldsV1",
        "fieldsV1": managed::unflatten(&applied_set),
    });
    if !a.subresource.is_empty() {
        entry["subresource"] = json!(a.subresource);
    }
    kept.push(entry);
    for mut e in entries {
        e.set.retain(|p, _| present.contains_key(p));
        if e.set.is_empty() {
            continue;
        }
        e.raw["fieldsV1"] = managed::unflatten(&e.set);
        kept.push(e.raw);
    }
    meta::set_meta(obj, "managedFields", Value::Array(kept));
    Ok(())
}

/// The manager name `kubectl apply --server-side` uses.
const KUBECTL: &str = "kubectl";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The fields of `live`'s last-applied annotation whose values the live
/// object still has (upstream `lastAppliedManager`).
fn last_applied_fields(live: &Value, shape: Shape<'_>) -> Flat {
    let Some(text) = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
    else {
        return Flat::new();
    };
    let Ok(last) = serde_json::from_str::<Value>(text) else {
        return Flat::new();
    };
    if last.get("apiVersion") != live.get("apiVersion") && live.get("apiVersion").is_some() {
        return Flat::new();
    }
    let live_flat = managed::flatten_object(live, Scope::All, shape);
    let mut set = managed::flatten_object(&last, Scope::All, shape);
    set.retain(|p, v| live_flat.get(p) == Some(v));
    set
}

/// `[..., f:labels, .]`: the node of a map (not of a list item).
fn is_map_node(p: &Path) -> bool {
    p.len() >= 2 && p[p.len() - 1] == "." && p[p.len() - 2].starts_with("f:")
}

/// A list item's `.` stands for the item itself.
fn strip_dot(p: &Path) -> &[String] {
    match p.last().map(String::as_str) {
        Some(".") => &p[..p.len() - 1],
        _ => p,
    }
}

/// The 409 upstream answers, grouped by manager as it prints them.
fn conflict_error(conflicts: Vec<(String, String)>, _api_version: &str) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(m, f)| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {m}"),
            field: f.clone(),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0, conflicts[0].1
        )
    } else {
        let mut by_manager: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (m, f) in &conflicts {
            by_manager.entry(m).or_default().push(f);
        }
        let mut lines = Vec::new();
        for (m, fields) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            for f in fields {
                lines.push(format!("- {f}"));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let mut e = ApiError::new(409, "Conflict", message);
    e.details = Some(Box::new(crate::error::Details {
        causes,
        ..Default::default()
    }));
    e
}

/// `.spec.containers[name="c"].image`, as upstream prints field paths.
pub fn path_string(p: &[String]) -> String {
    let mut out = String::new();
    for seg in p {
        if let Some(f) = seg.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = seg.strip_prefix("k:") {
            let fields: Vec<String> = match serde_json::from_str::<Value>(k) {
                Ok(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                _ => vec![k.to_string()],
            };
            out.push_str(&format!("[{}]", fields.join(",")));
        } else if let Some(v) = seg.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = seg.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

/// Removes the field or list item `p` names from `obj`; false if absent.
fn remove_path(obj: &mut Value, p: &[String]) -> bool {
    let Some((last, parents)) = p.split_last() else {
        return false;
    };
    let mut cur = obj;
    for seg in parents {
        let Some(next) = child(cur, seg) else {
            return false;
        };
        cur = next;
    }
    if let Some(f) = last.strip_prefix("f:") {
        return cur.as_object_mut().is_some_and(|m| m.remove(f).is_some());
    }
    let Some(items) = cur.as_array_mut() else {
        return false;
    };
    match items.iter().position(|i| item_matches(i, last)) {
        Some(i) => {
            items.remove(i);
            true
        }
        None => false,
    }
}

fn child<'a>(v: &'a mut Value, seg: &str) -> Option<&'a mut Value> {
    if let Some(f) = seg.strip_prefix("f:") {
        return v.as_object_mut()?.get_mut(f);
    }
    let items = v.as_array_mut()?;
    items.iter_mut().find(|i| item_matches(i, seg))
}

/// Whether list item `item` is the one `seg` (`k:`, `v:` or `i:`) names.
fn item_matches(item: &Value, seg: &str) -> bool {
    if let Some(k) = seg.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(k) else {
            return false;
        };
        return keys.iter().all(|(k, v)| item.get(k) == Some(v));
    }
    if let Some(v) = seg.strip_prefix("v:") {
        return serde_json::from_str::<Value>(v).is_ok_and(|v| &v == item);
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::openapi::extensions::kind_shape;

    fn apply_as(
        obj: &mut Value,
        old: Option<&Value>,
        applied: &Value,
        manager: &str,
        force: bool,
    ) -> ApiResult<()> {
        record(
            obj,
            old,
            &Apply {
                applied,
                manager,
                force,
                api_version: "v1",
                time: "t",
                subresource: "",
                scope: Scope::All,
                shape: shape_for(applied),
            },
        )
    }

    /// Pods for objects with a spec, else config maps.
    fn shape_for(v: &Value) -> Shape<'static> {
        match v.get("spec") {
            Some(_) => kind_shape("", "v1", "Pod"),
            None => kind_shape("", "v1", "ConfigMap"),
        }
    }

    fn config_maps() -> managed::Layout<'static> {
        managed::Layout {
            scope: Scope::All,
            shape: kind_shape("", "v1", "ConfigMap"),
        }
    }

    fn merged(live: &Value, applied: &Value) -> Value {
        crate::patch::apply_typed(
            crate::patch::PatchKind::Apply,
            &crate::patch::PatchDoc::Merge(applied.clone()),
            &mut live.clone(),
            shape_for(applied),
        )
        .unwrap()
    }

    #[test]
    fn changing_a_field_another_manager_owns_is_a_conflict_unless_forced() {
        let mut live = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        managed::record(
            &mut live,
            None,
            "kubectl-edit",
            "v1",
            "t",
            "",
            config_maps(),
        );
        let cfg = json!({"metadata": {"name": "x"}, "data": {"a": "2"}});
        let mut obj = merged(&live, &cfg);
        let e = apply_as(&mut obj, Some(&live), &cfg, "ssa", false).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a"
        );
        let causes = &e.details.as_ref().unwrap().causes;
        assert_eq!(causes[0].reason, "FieldManagerConflict");
        assert_eq!(causes[0].field, ".data.a");
        assert_eq!(causes[0].message, "conflict with \"kubectl-edit\" using v1");

        let mut obj = merged(&live, &cfg);
        apply_as(&mut obj, Some(&live), &cfg, "ssa", true).unwrap();
        let mf = obj["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf[0]["manager"], "ssa");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
        // The editor keeps the map itself, not the field it lost.
        assert_eq!(mf[1]["manager"], "kubectl-edit");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:data": {".": {}}}));
        assert_eq!(obj["data"]["a"], "2");
    }

    #[test]
    fn the_same_value_is_shared_and_dropped_fields_are_removed() {
        let mut live = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        managed::record(&mut live, None, "creator", "v1", "t", "", config_maps());
        // Apply a and c: a is shared (same value), c is new.
        let cfg = json!({"metadata": {"name": "x"}, "data": {"a": "1", "c": "3"}});
        let mut obj = merged(&live, &cfg);
        apply_as(&mut obj, Some(&live), &cfg, "ssa", false).unwrap();
        let mf = obj["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert!(
            mf[1]["fieldsV1"]["f:data"].get("f:a").is_some(),
            "a stays shared"
        );

        // Stop applying a (still owned by creator: kept) and c (ours only: removed).
        let live = obj;
        let cfg = json!({"metadata": {"name": "x"}, "data": {"d": "4"}});
        let mut obj = merged(&live, &cfg);
        apply_as(&mut obj, Some(&live), &cfg, "ssa", false).unwrap();
        assert_eq!(obj["data"], json!({"a": "1", "b": "2", "d": "4"}));
    }

    #[test]
    fn list_items_leave_when_their_applier_drops_them() {
        let live = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        let cfg1 = json!({"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let mut obj = merged(&live, &cfg1);
        apply_as(&mut obj, None, &cfg1, "ssa", false).unwrap();
        let live = obj;
        let cfg2 = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        let mut obj = merged(&live, &cfg2);
        apply_as(&mut obj, Some(&live), &cfg2, "ssa", false).unwrap();
        assert_eq!(
            obj["spec"]["containers"],
            json!([{"name": "a", "image": "x"}])
        );
    }

    #[test]
    fn kubectl_takes_over_what_client_side_apply_set() {
        let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "data": {"a": "1"}});
        let mut live = cfg.clone();
        live["metadata"]["annotations"] =
            json!({LAST_APPLIED: serde_json::to_string(&cfg).unwrap()});
        managed::record(
            &mut live,
            None,
            "kubectl-client-side-apply",
            "v1",
            "t",
            "",
            config_maps(),
        );
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "data": {"a": "2"}});
        let mut obj = merged(&live, &changed);
        apply_as(&mut obj, Some(&live), &changed, "kubectl", false).unwrap();
        assert_eq!(obj["data"]["a"], "2");
        // Any other manager name still conflicts.
        let mut obj = merged(&live, &changed);
        assert!(apply_as(&mut obj, Some(&live), &changed, "other", false).is_err());
    }

    #[test]
    fn paths_print_as_upstream() {
        let p: Vec<String> = ["f:spec", "f:containers", "k:{\"name\":\"c\"}", "f:image"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(path_string(&p), ".spec.containers[name=\"c\"].image");
        let p: Vec<String> = [
            "f:spec",
            "f:ports",
            "k:{\"port\":80,\"protocol\":\"TCP\"}",
            "f:name",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            path_string(&p),
            ".spec.ports[port=80,protocol=\"TCP\"].name"
        );
    }
}
