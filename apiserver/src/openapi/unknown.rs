//! Unknown-field detection for `fieldValidation=Strict|Warn`: the fields of
//! an object that its kind's schema does not declare, named as
//! kube-apiserver's strict decoder names them (`spec.replicas2`,
//! `spec.template.spec.containers[0].imagee`, map entries as `.key`).

use serde_json::Value;

use super::schemas::{Definitions, INT_OR_STRING, QUANTITY, V3_PREFIX};

/// Follows `$ref`s (and single-element `allOf`s) to the schema itself.
fn resolve<'a>(defs: &'a Definitions, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..64 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix(V3_PREFIX).unwrap_or(r);
            if name == QUANTITY || name == INT_OR_STRING {
                return None;
            }
            schema = defs.defs.get(name)?;
            continue;
        }
        match schema.get("allOf").and_then(Value::as_array) {
            Some(all) if all.len() == 1 => schema = &all[0],
            _ => return Some(schema),
        }
    }
    None
}

fn type_matches(defs: &Definitions, schema: &Value, value: &Value) -> bool {
    let Some(s) = resolve(defs, schema) else {
        return false;
    };
    match s.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some(_) => !value.is_object() && !value.is_array(),
        None => s.get("properties").is_some() && value.is_object(),
    }
}

/// Appends to `out` the paths under `path` that `schema` does not declare,
/// and removes those fields from `value` when `prune` is set.
fn walk(
    defs: &Definitions,
    schema: &Value,
    value: &mut Value,
    path: &str,
    prune: bool,
    out: &mut Vec<String>,
) {
    let Some(schema) = resolve(defs, schema) else {
        return;
    };
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
    {
        return;
    }
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(alternatives).and_then(Value::as_array) {
            if let Some(alt) = alts.iter().find(|a| type_matches(defs, a, value)) {
                walk(defs, alt, value, path, prune, out);
            }
            return;
        }
    }
    match value {
        Value::Object(fields) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            if props.is_none() && !matches!(additional, Some(Value::Object(_))) {
                // A free-form object (RawExtension, FieldsV1, JSON): anything goes.
                return;
            }
            let mut unknown = Vec::new();
            for (key, child) in fields.iter_mut() {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (props.and_then(|p| p.get(key)), additional) {
                    (Some(s), _) => walk(defs, s, child, &child_path, prune, out),
                    (None, Some(s @ Value::Object(_))) => {
                        walk(defs, s, child, &child_path, prune, out)
                    }
                    (None, Some(Value::Bool(true))) => {}
                    (None, _) => {
                        out.push(child_path);
                        unknown.push(key.clone());
                    }
                }
            }
            if prune {
                for key in unknown {
                    fields.remove(&key);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, child) in items.iter_mut().enumerate() {
                    walk(
                        defs,
                        item_schema,
                        child,
                        &format!("{path}[{i}]"),
                        prune,
                        out,
                    );
                }
            }
        }
        _ => {}
    }
}

/// The unknown fields of `obj` against the definition `name`.
pub fn unknown_fields_in(defs: &Definitions, name: &str, obj: &Value) -> Vec<String> {
    let mut copy = obj.clone();
    prune_in(defs, name, &mut copy, false)
}

/// Finds (and, if `prune`, removes) the unknown fields of `obj` against the
/// definition `name`.
pub fn prune_in(defs: &Definitions, name: &str, obj: &mut Value, prune: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(schema) = defs.defs.get(name) {
        walk(defs, schema, obj, "", prune, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{prune_unknown_fields, unknown_fields};
    use serde_json::json;

    #[test]
    fn deployment_typos_are_reported_with_paths() {
        let obj = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotationz": {}},
            "spec": {
                "replicas2": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "nginx",
                             "resources": {"limits": {"cpu": "1", "memory": 128}},
                             "ports": [{"containerPort": 80, "protocl": "TCP"}]},
                            {"name": "b", "imagee": "nginx", "env": [{"name": "X", "value": "1"}]}
                        ]
                    }
                }
            },
            "status": {"replicas": 1}
        });
        let mut got = unknown_fields("apps", "v1", "Deployment", &obj);
        got.sort();
        assert_eq!(
            got,
            vec![
                "metadata.annotationz",
                "spec.replicas2",
                "spec.template.spec.containers[0].ports[0].protocl",
                "spec.template.spec.containers[1].imagee",
            ]
        );
    }

    #[test]
    fn clean_pod_has_no_unknown_fields() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default",
                         "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:x": {}}}}],
                         "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1"}]},
            "spec": {
                "containers": [{"name": "c", "image": "busybox", "command": ["sh"],
                                "livenessProbe": {"httpGet": {"port": "http", "path": "/"}}}],
                "nodeSelector": {"disk": "ssd"},
                "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}]
            }
        });
        assert!(unknown_fields("", "v1", "Pod", &pod).is_empty());
        let bad = json!({"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGett": {}}}]},
                         "extra": null});
        let mut got = unknown_fields("", "v1", "Pod", &bad);
        got.sort();
        assert_eq!(
            got,
            vec!["extra", "spec.containers[0].livenessProbe.httpGett"]
        );
    }

    #[test]
    fn unknown_kinds_and_free_form_fields_report_nothing() {
        assert!(unknown_fields("example.com", "v1", "Widget", &json!({"x": 1})).is_empty());
        let crd = json!({
            "spec": {"group": "example.com", "names": {"plural": "widgets", "kind": "Widget"},
                     "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                       "properties": {"spec": {"type": "object",
                                           "x-kubernetes-preserve-unknown-fields": true,
                                           "default": {"anything": [1, 2]}}}}}}]}
        });
        assert!(unknown_fields(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            &crd
        )
        .is_empty());
        let list = json!({"items": [{"metadata": {"name": "a"}, "dataa": {}}]});
        assert_eq!(
            unknown_fields("", "v1", "ConfigMapList", &list),
            vec!["items[0].dataa"]
        );
    }

    #[test]
    fn pruning_drops_exactly_the_unknown_fields() {
        let mut obj = json!({
            "metadata": {"name": "c", "labels": {"a.b/c": "d"}, "bogus": 1},
            "data": {"k": "v"},
            "dataa": {"x": 1}
        });
        let removed = prune_unknown_fields("", "v1", "ConfigMap", &mut obj);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert_eq!(
            obj,
            json!({"metadata": {"name": "c", "labels": {"a.b/c": "d"}}, "data": {"k": "v"}})
        );
        assert!(prune_unknown_fields("", "v1", "ConfigMap", &mut obj).is_empty());
    }
}
