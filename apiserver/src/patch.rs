//! Patch engines: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch (the subset `kubectl apply`/`edit`/`patch` use:
//! maps merge, lists of objects merge by their key, `$patch` directives).
//! Server-side apply is a later step.

use json_patch::PatchOperation;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    /// Server-side apply (`application/apply-patch+yaml`), simplified: the
    /// configuration is merged strategically into the live object.
    Apply,
}

/// upstream's 415 for other patch media types.
const UNSUPPORTED: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json";

impl PatchKind {
    pub fn from_media_type(media: &str) -> ApiResult<PatchKind> {
        match media {
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" => Ok(PatchKind::Apply),
            _ => Err(ApiError::unsupported_media_type(UNSUPPORTED)),
        }
    }

    /// The patch type of a request to a resource: custom resources have no
    /// strategic merge (no Go types to carry patch strategies), as upstream.
    pub fn for_resource(media: &str, custom: bool) -> ApiResult<PatchKind> {
        match Self::from_media_type(media)? {
            PatchKind::Strategic if custom => {
                Err(ApiError::unsupported_media_type(UNSUPPORTED_CUSTOM))
            }
            k => Ok(k),
        }
    }
}

/// upstream's 415 for custom resources, which take no strategic merge.
const UNSUPPORTED_CUSTOM: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// A parsed patch document.
pub enum PatchDoc {
    Json(Vec<PatchOperation>),
    Merge(Value),
}

/// Parses a patch body; malformed patches are 400 BadRequest.
pub fn parse(kind: PatchKind, bytes: &[u8]) -> ApiResult<PatchDoc> {
    match kind {
        PatchKind::Json => {
            let ops: Vec<PatchOperation> = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request(format!("json: {e}")))?;
            Ok(PatchDoc::Json(ops))
        }
        PatchKind::Apply => {
            let v = crate::body::decode_yaml(bytes)?;
            if !v.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding YAML: the apply configuration must be an object",
                ));
            }
            Ok(PatchDoc::Merge(v))
        }
        PatchKind::Merge | PatchKind::Strategic => {
            let v: Value = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request(format!("json: {e}")))?;
            if !v.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                ));
            }
            Ok(PatchDoc::Merge(v))
        }
    }
}

/// Applies a patch to `doc`; a patch that cannot apply is 422 as upstream.
pub fn apply(kind: PatchKind, patch: &PatchDoc, doc: &mut Value) -> ApiResult<Value> {
    match (kind, patch) {
        (PatchKind::Json, PatchDoc::Json(ops)) => {
            let mut out = doc.clone();
            json_patch::patch(&mut out, ops).map_err(|e| {
                let mut err = ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                );
                err.details = Some(Box::new(crate::error::Details {
                    causes: vec![crate::error::Cause {
                        reason: "FieldValueInvalid".into(),
                        message: e.to_string(),
                        field: String::new(),
                    }],
                    ..Default::default()
                }));
                err
            })?;
            Ok(out)
        }
        (PatchKind::Merge, PatchDoc::Merge(p)) => {
            let mut out = doc.clone();
            json_patch::merge(&mut out, p);
            Ok(out)
        }
        (PatchKind::Strategic | PatchKind::Apply, PatchDoc::Merge(p)) => {
            strategic_merge(doc, p).map(|v| v.unwrap_or(Value::Null))
        }
        _ => Err(ApiError::bad_request("mismatched patch type")),
    }
}

/// The merge key of a list field, as the built-in types declare it
/// (`patchMergeKey`). `None`: the list is replaced.
fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    let has = |k: &str| items.iter().all(|i| i.get(k).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "hostAliases" => Some("ip"),
        "ownerReferences" => Some("uid"),
        "taints" => Some("key"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" if has("port") => Some("port"),
        _ => None,
    }
}

/// Lists of scalars merged as sets (`patchStrategy:"merge"`).
fn merges_primitives(field: &str) -> bool {
    matches!(field, "finalizers")
}

fn directive_error(msg: &str) -> ApiError {
    ApiError::bad_request(msg.to_string())
}

/// Strategic merge of `patch` into `orig`; `None` means "delete the map".
pub fn strategic_merge(orig: &Value, patch: &Value) -> ApiResult<Option<Value>> {
    let Some(pmap) = patch.as_object() else {
        return Ok(Some(patch.clone()));
    };
    match pmap.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut m = pmap.clone();
            m.remove("$patch");
            return Ok(Some(Value::Object(m)));
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(directive_error(&format!(
                "Unknown patch type: {other} in map: {patch}"
            )))
        }
    }
    let mut out: Map<String, Value> = orig.as_object().cloned().unwrap_or_default();
    let retain: Option<Vec<String>> = pmap.get("$retainKeys").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    for (k, pv) in pmap {
        if k == "$retainKeys" || k == "$patch" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (out.get_mut(field), pv.as_array()) {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), pv) {
            (Some(ov @ Value::Object(_)), Value::Object(_)) => strategic_merge(ov, pv)?,
            (Some(Value::Array(ol)), Value::Array(pl)) => Some(merge_list(k, ol, pl)?),
            (None, Value::Object(_)) => strategic_merge(&Value::Object(Map::new()), pv)?,
            (None, Value::Array(pl)) => Some(merge_list(k, &[], pl)?),
            _ => Some(pv.clone()),
        };
        match merged {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {
                out.remove(k);
            }
        }
    }
    if let Some(keep) = retain {
        out.retain(|k, _| keep.contains(k));
    }
    for (k, order) in pmap {
        if let (Some(field), Some(order)) = (k.strip_prefix("$setElementOrder/"), order.as_array())
        {
            if let Some(Value::Array(list)) = out.get_mut(field) {
                set_element_order(field, list, order);
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

/// `$setElementOrder/<field>`: the listed items first, in the given order
/// (matched by merge key, or by value for scalars); the rest keep theirs.
fn set_element_order(field: &str, list: &mut [Value], order: &[Value]) {
    let objs: Vec<&Value> = order.iter().collect();
    let key = merge_key(field, &objs);
    let rank = |item: &Value| -> usize {
        order
            .iter()
            .position(|o| match key {
                Some(k) => o.get(k).is_some() && o.get(k) == item.get(k),
                None => o == item,
            })
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(|item| rank(item));
}

fn merge_list(field: &str, orig: &[Value], patch: &[Value]) -> ApiResult<Value> {
    if merges_primitives(field) && patch.iter().all(|v| !v.is_object()) {
        let mut out = orig.to_vec();
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    let objs: Vec<&Value> = patch
        .iter()
        .chain(orig.iter())
        .filter(|v| v.get("$patch").is_none())
        .collect();
    let Some(key) = merge_key(field, &objs).filter(|_| patch.iter().all(Value::is_object)) else {
        // Replace, minus directive-only entries.
        return Ok(Value::Array(
            patch
                .iter()
                .filter(|v| v.get("$patch").is_none())
                .cloned()
                .collect(),
        ));
    };
    if patch.len() == 1 && patch[0].get("$patch").and_then(Value::as_str) == Some("replace") {
        return Ok(Value::Array(Vec::new()));
    }
    let mut out: Vec<Value> = orig.to_vec();
    for item in patch {
        let id = item.get(key);
        let pos = id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id)));
        let replace = match item.get("$patch").and_then(Value::as_str) {
            Some("delete") => {
                if let Some(i) = pos {
                    out.remove(i);
                }
                continue;
            }
            Some("replace") => true,
            Some("merge") | None => false,
            Some(other) => {
                return Err(directive_error(&format!(
                    "Unknown patch type: {other} in map: {item}"
                )))
            }
        };
        if id.is_none() {
            return Err(directive_error(&format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        }
        match pos {
            Some(i) if replace => {
                let mut fresh = item.clone();
                if let Some(m) = fresh.as_object_mut() {
                    m.remove("$patch");
                }
                out[i] = fresh;
            }
            Some(i) => {
                if let Some(merged) = strategic_merge(&out[i], item)? {
                    out[i] = merged;
                } else {
                    out.remove(i);
                }
            }
            None => {
                let mut fresh = item.clone();
                if let Some(m) = fresh.as_object_mut() {
                    m.remove("$patch");
                }
                if let Some(v) = strategic_merge(&Value::Object(Map::new()), &fresh)? {
                    out.push(v);
                }
            }
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_element_order_reorders_and_patch_merge_is_the_default() {
        let orig = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let patch = json!({"spec": {"$patch": "merge",
            "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "c:1"}]}});
        let out = strategic_merge(&orig, &patch).unwrap().unwrap();
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c", "b", "a"]);
        let orig = json!({"finalizers": ["x", "y", "z"]});
        let patch = json!({"$deleteFromPrimitiveList/finalizers": ["y"],
                           "$retainKeys": ["finalizers"]});
        let out = strategic_merge(&orig, &patch).unwrap().unwrap();
        assert_eq!(out, json!({"finalizers": ["x", "z"]}));
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let orig = json!({"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "b:2"}]}});
        let out = strategic_merge(&orig, &patch).unwrap().unwrap();
        assert_eq!(out["spec"]["containers"][0]["image"], "a:1");
        assert_eq!(out["spec"]["containers"][1]["image"], "b:2");
    }

    #[test]
    fn strategic_merge_deletes_and_replaces() {
        let orig = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "args": ["x"]}});
        let patch = json!({"metadata": {"labels": {"a": null}},
            "spec": {"containers": [{"$patch": "delete", "name": "a"}], "args": ["y"]}});
        let out = strategic_merge(&orig, &patch).unwrap().unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));
        assert_eq!(out["spec"]["args"], json!(["y"]));
    }

    #[test]
    fn json_patch_failures_are_unprocessable() {
        let PatchDoc::Json(ops) =
            parse(PatchKind::Json, br#"[{"op":"test","path":"/a","value":2}]"#).unwrap()
        else {
            panic!("json patch expected");
        };
        let e = apply(PatchKind::Json, &PatchDoc::Json(ops), &mut json!({"a": 1})).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            parse(PatchKind::Json, b"{oops").err().map(|e| e.code),
            Some(400)
        );
        assert_eq!(
            parse(PatchKind::Merge, b"[1]").err().map(|e| e.code),
            Some(400)
        );
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let p = parse(PatchKind::Merge, br#"{"data":{"a":null,"b":"2"}}"#).unwrap();
        let out = apply(PatchKind::Merge, &p, &mut json!({"data": {"a": "1"}})).unwrap();
        assert_eq!(out, json!({"data": {"b": "2"}}));
    }
}

/// Merges an applied configuration into the live object following a custom
/// resource's schema (server-side apply's merge): objects merge field by
/// field (atomic maps are replaced), lists merge as their
/// `x-kubernetes-list-type` says (map: items by their keys; set: union;
/// atomic: replaced). Removing what the applier stopped applying is the
/// ownership step's job (`registry::apply`).
pub fn apply_merge(
    live: &Value,
    applied: &Value,
    shape: crate::registry::shape::Shape<'_>,
) -> Value {
    use crate::registry::shape::ListType;
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) if shape.is_atomic_map() != Some(true) => {
            let mut out = l.clone();
            for (k, av) in a {
                let merged = match out.get(k) {
                    Some(lv) => apply_merge(lv, av, shape.field(k)),
                    None => av.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => match shape.list_type() {
            Some(ListType::Set) => Value::Array(merge_items(l, a, |v| v.clone(), |_, r| r.clone())),
            Some(ListType::Map(keys)) => {
                let items = shape.items();
                let id = |v: &Value| -> Value {
                    Value::Array(
                        keys.iter()
                            .map(|k| v.get(k).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                };
                Value::Array(merge_items(l, a, id, |lv, av| apply_merge(lv, av, items)))
            }
            _ => applied.clone(),
        },
        _ => applied.clone(),
    }
}

/// structured-merge-diff's order for merged associative lists: live items
/// the applier does not name keep their places, named items follow the
/// applied order, new items come where the applied list has them.
fn merge_items(
    live: &[Value],
    applied: &[Value],
    id: impl Fn(&Value) -> Value,
    merge: impl Fn(&Value, &Value) -> Value,
) -> Vec<Value> {
    let lids: Vec<Value> = live.iter().map(&id).collect();
    let aids: Vec<Value> = applied.iter().map(&id).collect();
    let in_applied = |i: &Value| aids.contains(i);
    let live_of = |i: &Value| lids.iter().position(|l| l == i).map(|p| &live[p]);
    let mut shared: std::collections::VecDeque<&Value> =
        aids.iter().filter(|i| lids.contains(i)).collect();
    let mut out = Vec::with_capacity(live.len() + applied.len());
    let (mut li, mut ri) = (0, 0);
    while li < live.len() || ri < applied.len() {
        if li < live.len() && ri < applied.len() {
            if lids[li] == aids[ri] {
                out.push(merge(&live[li], &applied[ri]));
                li += 1;
                ri += 1;
                shared.pop_front();
                continue;
            }
            if in_applied(&lids[li]) && shared.front().is_some_and(|n| **n != lids[li]) {
                // A shared item, but not the next one in the applied order.
                li += 1;
                continue;
            }
        }
        if li < live.len() && !in_applied(&lids[li]) {
            out.push(live[li].clone());
            li += 1;
            continue;
        }
        if ri < applied.len() {
            let r = &applied[ri];
            out.push(match live_of(&aids[ri]) {
                Some(l) => merge(l, r),
                None => r.clone(),
            });
            if shared.front().is_some_and(|n| **n == aids[ri]) {
                shared.pop_front();
            }
            ri += 1;
        } else {
            // Only shared live items left, all already merged.
            li += 1;
        }
    }
    out
}

#[cfg(test)]
mod merge_order_tests {
    use super::*;
    use serde_json::json;

    fn ids(l: &[Value], a: &[Value]) -> Vec<Value> {
        merge_items(l, a, |v| v.clone(), |_, r| r.clone())
    }

    #[test]
    fn live_only_items_keep_their_place_and_applied_order_wins() {
        let (a, b, c, d) = (json!("a"), json!("b"), json!("c"), json!("d"));
        assert_eq!(
            ids(std::slice::from_ref(&a), std::slice::from_ref(&b)),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            ids(
                &[a.clone(), b.clone(), c.clone()],
                &[c.clone(), a.clone(), d.clone()]
            ),
            vec![b.clone(), c.clone(), a.clone(), d.clone()]
        );
        assert_eq!(ids(&[], std::slice::from_ref(&a)), vec![a.clone()]);
        assert_eq!(ids(std::slice::from_ref(&a), &[]), vec![a]);
    }
}
