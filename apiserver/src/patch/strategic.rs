//! Strategic merge patch (apimachinery's `strategicpatch`, in our own
//! words), driven by the patch metadata of the target type
//! (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`):
//! objects merge field by field; lists whose strategy is `merge` merge by
//! their merge key (objects) or as sets (scalars); every other list is
//! replaced. Directives: `$patch` (replace, delete, merge), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::registry::shape::Shape;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg.into())
}

/// Strategic merge of `patch` into `orig`, typed by `shape`.
pub fn strategic_merge(orig: &Value, patch: &Value, shape: Shape<'_>) -> ApiResult<Value> {
    match (orig, patch) {
        (Value::Object(o), Value::Object(p)) => merge_map(o.clone(), p, shape).map(Value::Object),
        (_, Value::Object(p)) => merge_map(Map::new(), p, shape).map(Value::Object),
        _ => Ok(patch.clone()),
    }
}

fn merge_map(
    mut orig: Map<String, Value>,
    patch: &Map<String, Value>,
    shape: Shape<'_>,
) -> ApiResult<Map<String, Value>> {
    match patch.get(DIRECTIVE) {
        None => {}
        Some(Value::String(d)) if d == "replace" => {
            let mut m = patch.clone();
            m.remove(DIRECTIVE);
            return Ok(m);
        }
        Some(Value::String(d)) if d == "delete" => return Ok(Map::new()),
        Some(other) => return Err(bad_patch_type(other, &Value::Object(patch.clone()))),
    }
    retain_keys(&mut orig, patch)?;
    let ordered = set_element_orders(&mut orig, patch, shape)?;
    for (k, pv) in patch {
        if k == DIRECTIVE || k == RETAIN_KEYS || k.starts_with(SET_ORDER) || ordered.contains(k) {
            continue;
        }
        if let Some(field) = k.strip_prefix(DELETE_FROM) {
            if let (Some(Value::Array(ol)), Value::Array(pl)) = (orig.get(field), pv) {
                let merged = merge_list(ol, pl, shape.field(field), true)?;
                orig.insert(field.to_string(), Value::Array(merged));
            }
            continue;
        }
        if pv.is_null() {
            orig.remove(k);
            continue;
        }
        let field = shape.field(k);
        let merged = match (orig.get(k), pv) {
            (Some(Value::Object(ov)), Value::Object(pm)) => {
                Value::Object(merge_map(ov.clone(), pm, field)?)
            }
            (Some(Value::Array(ol)), Value::Array(pl)) => {
                Value::Array(merge_list(ol, pl, field, false)?)
            }
            // New fields take the patch's value, without its directives.
            (None, Value::Object(pm)) => Value::Object(merge_map(Map::new(), pm, field)?),
            (None, Value::Array(pl)) => Value::Array(merge_list(&[], pl, field, false)?),
            _ => pv.clone(),
        };
        orig.insert(k.clone(), merged);
    }
    Ok(orig)
}

/// apimachinery's error for a `$patch` it does not know here.
fn bad_patch_type(directive: &Value, map: &Value) -> ApiError {
    bad(format!(
        "unknown patch type: {} in map: {map}",
        display(directive)
    ))
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `$retainKeys`: every field of the patch must be listed; fields of the
/// original that are not listed are cleared.
fn retain_keys(orig: &mut Map<String, Value>, patch: &Map<String, Value>) -> ApiResult<()> {
    let Some(retain) = patch.get(RETAIN_KEYS) else {
        return Ok(());
    };
    let Some(keep) = retain.as_array() else {
        return Err(bad("invalid patch format of retainKeys"));
    };
    let listed = |k: &str| keep.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch {
        if k == RETAIN_KEYS
            || k == DIRECTIVE
            || v.is_null()
            || k.starts_with(DELETE_FROM)
            || k.starts_with(SET_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad("invalid patch format of retainKeys"));
        }
    }
    orig.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<list>`: merges the list with its patch and orders
/// the result (the directive's order first, then the live order). Returns
/// the lists handled here.
fn set_element_orders(
    orig: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    shape: Shape<'_>,
) -> ApiResult<Vec<String>> {
    let mut handled = Vec::new();
    for (k, order) in patch {
        let Some(field) = k.strip_prefix(SET_ORDER) else {
            continue;
        };
        let Some(order) = order.as_array() else {
            return Err(bad("invalid patch format of setElementOrder list"));
        };
        let fshape = shape.field(field);
        let strategy = fshape.patch_strategy();
        let original = match orig.get(field) {
            Some(Value::Array(l)) => Some(l.clone()),
            Some(_) => return Err(bad(format!("the value of {field} is not a list"))),
            None => None,
        };
        let patched = match patch.get(field) {
            Some(Value::Array(l)) => Some(l.as_slice()),
            Some(Value::Null) | None => None,
            Some(_) => return Err(bad(format!("the patch of {field} is not a list"))),
        };
        if !strategy.merge {
            // Lists that do not merge have no order to keep.
            continue;
        }
        let key = strategy.merge_key;
        if let Some(p) = patched {
            check_order(p, order, key)?;
        }
        let merged = match (&original, patched) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => merge_list(&[], p, fshape, false)?,
            (Some(o), Some(p)) => merge_list(o, p, fshape, false)?,
            (None, None) => continue,
        };
        let (in_order, server_only): (Vec<Value>, Vec<Value>) = merged
            .into_iter()
            .partition(|item| position(order, item, key).is_some());
        let live = original.unwrap_or_default();
        let both = normalize_order(in_order, server_only, order, &live, key);
        orig.insert(field.to_string(), Value::Array(both));
        handled.push(field.to_string());
    }
    Ok(handled)
}

/// The items of a patch list must come in the `$setElementOrder` order.
fn check_order(patch: &[Value], order: &[Value], key: Option<&str>) -> ApiResult<()> {
    let items: Vec<&Value> = patch
        .iter()
        .filter(|v| v.get(DIRECTIVE).is_none())
        .collect();
    let (mut pi, mut oi) = (0, 0);
    while pi < items.len() && oi < order.len() {
        if same_item(items[pi], &order[oi], key) {
            pi += 1;
        }
        oi += 1;
    }
    if pi < items.len() {
        return Err(bad(format!(
            "The order in patch list:\n{}\n doesn't match $setElementOrder list:\n{}\n",
            Value::Array(patch.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

fn same_item(a: &Value, b: &Value, key: Option<&str>) -> bool {
    match key {
        Some(k) => a.get(k).is_some() && a.get(k) == b.get(k),
        None => a == b,
    }
}

/// Where `item` sits in `list` (by merge key, or by value for scalars).
fn position(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    list.iter().position(|o| same_item(item, o, key))
}

/// Merges a patch list into a list, as the field's patch strategy says;
/// `delete_list`: the patch is a `$deleteFromPrimitiveList`.
fn merge_list(
    orig: &[Value],
    patch: &[Value],
    shape: Shape<'_>,
    delete_list: bool,
) -> ApiResult<Vec<Value>> {
    let strategy = shape.patch_strategy();
    if !strategy.merge {
        // Replaced, minus directive-only entries.
        return Ok(patch
            .iter()
            .filter(|v| v.get(DIRECTIVE).is_none())
            .cloned()
            .collect());
    }
    if orig.is_empty() && patch.is_empty() {
        return Ok(Vec::new());
    }
    let all = || orig.iter().chain(patch.iter());
    if all().any(Value::is_array) {
        return Err(bad("lists of lists are not supported"));
    }
    let objects = all().filter(|v| v.is_object()).count();
    if objects != 0 && objects != orig.len() + patch.len() {
        return Err(bad(format!(
            "list element types are not identical: {}",
            Value::Array(all().cloned().collect())
        )));
    }
    if objects == 0 {
        if delete_list {
            return Ok(orig
                .iter()
                .filter(|v| !patch.contains(v))
                .cloned()
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(orig.len() + patch.len());
        for v in all() {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (in_patch, server_only) = merged.into_iter().partition(|v| patch.contains(v));
        return Ok(normalize_order(in_patch, server_only, patch, orig, None));
    }
    let Some(key) = strategy.merge_key else {
        return Err(bad("cannot merge lists without merge key"));
    };
    let (base, items) = special_elements(orig, patch, key)?;
    let mut merged = base.clone();
    for item in &items {
        let Some(id) = item.get(key) else {
            return Err(bad(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        match merged.iter().position(|o| o.get(key) == Some(id)) {
            Some(i) => {
                merged[i] = strategic_merge(&merged[i], item, shape.items())?;
            }
            None => merged.push(strategic_merge(
                &Value::Object(Map::new()),
                item,
                shape.items(),
            )?),
        }
    }
    let (in_patch, server_only) = merged
        .into_iter()
        .partition(|v| position(&items, v, Some(key)).is_some());
    Ok(normalize_order(
        in_patch,
        server_only,
        &items,
        &base,
        Some(key),
    ))
}

/// Applies the `$patch` items of a patch list (delete by key; replace: the
/// list becomes the other patch items) and returns the list to merge into
/// and the remaining patch items.
fn special_elements(
    orig: &[Value],
    patch: &[Value],
    key: &str,
) -> ApiResult<(Vec<Value>, Vec<Value>)> {
    let mut base = orig.to_vec();
    let mut plain = Vec::new();
    let mut replace = false;
    for item in patch {
        match item.get(DIRECTIVE) {
            None => plain.push(item.clone()),
            Some(Value::String(d)) if d == "delete" => {
                let Some(id) = item.get(key) else {
                    return Err(bad(format!(
                        "map: {item} does not contain declared merge key: {key}"
                    )));
                };
                base.retain(|o| o.get(key) != Some(id));
            }
            Some(Value::String(d)) if d == "replace" => replace = true,
            Some(Value::String(d)) if d == "merge" => {
                return Err(bad("merging lists cannot yet be specified in the patch"))
            }
            Some(other) => return Err(bad_patch_type(other, item)),
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((base, plain))
}

/// Orders a merged list: the patch's items in `patch_order`, the others in
/// `server_order`, interleaved so that a server-only item comes before a
/// patch item only when the live list had it before that item.
fn normalize_order(
    mut in_patch: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    in_patch.sort_by_key(|v| position(patch_order, v, key).unwrap_or(usize::MAX));
    server_only.sort_by_key(|v| position(server_order, v, key).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(in_patch.len() + server_only.len());
    let (mut left, mut right) = (
        server_only.into_iter().peekable(),
        in_patch.into_iter().peekable(),
    );
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => matches!(
                (position(server_order, l, key), position(server_order, r, key)),
                (Some(li), Some(ri)) if li < ri
            ),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::openapi::extensions::kind_shape;
    use serde_json::json;

    fn pod() -> Shape<'static> {
        kind_shape("", "v1", "Pod")
    }

    fn smp(kind: Shape<'static>, orig: Value, patch: Value) -> Value {
        strategic_merge(&orig, &patch, kind).unwrap()
    }

    #[test]
    fn set_element_order_reorders_and_map_directives_are_checked() {
        let orig = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let e = strategic_merge(&orig, &json!({"spec": {"$patch": "merge"}}), pod()).unwrap_err();
        assert!(
            e.message.starts_with("unknown patch type: merge in map"),
            "{}",
            e.message
        );
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "c:1"}]}});
        let out = smp(pod(), orig, patch);
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "c", "image": "c:1"}, {"name": "b"}, {"name": "a"}])
        );
        let orig = json!({"metadata": {"finalizers": ["x", "y", "z"]}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["y"]}});
        assert_eq!(
            smp(pod(), orig, patch),
            json!({"metadata": {"finalizers": ["x", "z"]}})
        );
    }

    #[test]
    fn containers_merge_by_name_and_items_delete_and_replace() {
        let orig = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
                     "tolerations": [{"key": "x"}]}});
        let patch = json!({"metadata": {"labels": {"a": null}},
            "spec": {"containers": [{"$patch": "delete", "name": "a"}, {"name": "b", "image": "b:2"}],
                     "tolerations": [{"key": "y"}]}});
        let out = smp(pod(), orig, patch);
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "b:2"}])
        );
        // Tolerations have no patch strategy: replaced.
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "y"}]));

        let orig = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let patch = json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c"}]}});
        assert_eq!(
            smp(pod(), orig, patch)["spec"]["containers"],
            json!([{"name": "c"}])
        );
        let e = strategic_merge(
            &json!({"spec": {"containers": [{"name": "a"}]}}),
            &json!({"spec": {"containers": [{"image": "x"}]}}),
            pod(),
        )
        .unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e
            .message
            .contains("does not contain declared merge key: name"));
    }

    #[test]
    fn merge_keys_come_from_the_type_not_the_field_name() {
        // Container ports merge by containerPort.
        let orig = json!({"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "name": "http"}]}]}});
        let patch = json!({"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 443, "name": "https"}]}]}});
        assert_eq!(
            smp(pod(), orig, patch)["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 443, "name": "https"}, {"containerPort": 80, "name": "http"}])
        );
        // NetworkPolicy ingress ports are atomic: replaced.
        let np = kind_shape("networking.k8s.io", "v1", "NetworkPolicy");
        let orig = json!({"spec": {"ingress": [{"ports": [{"port": 80}, {"port": 443}]}]}});
        let patch = json!({"spec": {"ingress": [{"ports": [{"port": 443}]}]}});
        assert_eq!(
            smp(np, orig, patch)["spec"]["ingress"],
            json!([{"ports": [{"port": 443}]}])
        );
        // Node taints are replaced; pod IPs merge by ip; podCIDRs as a set.
        let node = kind_shape("", "v1", "Node");
        let orig = json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}],
                                   "podCIDRs": ["10.0.0.0/24"]}});
        let patch = json!({"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}],
                                    "podCIDRs": ["10.0.1.0/24"]}});
        assert_eq!(
            smp(node, orig, patch),
            json!({"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}],
                            "podCIDRs": ["10.0.1.0/24", "10.0.0.0/24"]}})
        );
        let orig = json!({"status": {"podIPs": [{"ip": "10.0.0.1"}]}});
        let patch = json!({"status": {"podIPs": [{"ip": "fd00::1"}]}});
        assert_eq!(
            smp(pod(), orig, patch)["status"]["podIPs"],
            json!([{"ip": "fd00::1"}, {"ip": "10.0.0.1"}])
        );
    }

    #[test]
    fn retain_keys_clears_unlisted_fields_and_checks_the_patch() {
        let deploy = kind_shape("apps", "v1", "Deployment");
        let orig = json!({"spec": {"strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
            "rollingUpdate": null}}});
        assert_eq!(
            smp(deploy, orig.clone(), patch),
            json!({"spec": {"strategy": {"type": "Recreate"}}})
        );
        let bad = json!({"spec": {"strategy": {"$retainKeys": ["type"],
            "rollingUpdate": {"maxSurge": 2}}}});
        let e = strategic_merge(&orig, &bad, deploy).unwrap_err();
        assert_eq!(e.message, "invalid patch format of retainKeys");
    }

    #[test]
    fn server_only_items_keep_their_place_among_patch_items() {
        let orig = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}});
        let patch = json!({"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "a", "image": "y"}]}});
        let names: Vec<String> = smp(pod(), orig, patch)["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        // b was before c live: it stays first; c and a follow the patch.
        assert_eq!(names, ["b", "c", "a"]);
    }
}
