//! Structural defaulting (apiextensions' `schema/defaulting`): defaults of
//! absent properties, recursively, and of `null` array items and map values
//! whose schema is not nullable. A `default: null` is no default (Go's
//! JSON decoding leaves it unset).

use super::node::Schema;
use serde_json::Value;

/// Applies the `default`s of `s` to `x`.
pub fn apply(x: &mut Value, s: &Schema) {
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = prop.default.as_ref().filter(|d| !d.is_null()) else {
                    continue;
                };
                let absent = match m.get(k) {
                    None => true,
                    Some(v) => v.is_null() && !prop.nullable,
                };
                if absent {
                    m.insert(k.clone(), d.clone());
                }
            }
            for (k, v) in m.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    apply(v, prop);
                } else if let Some(add) = s.additional_schema() {
                    fill_null(v, add);
                    apply(v, add);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for v in items.iter_mut() {
                    fill_null(v, item);
                    apply(v, item);
                }
            }
        }
        _ => {}
    }
}

fn fill_null(v: &mut Value, s: &Schema) {
    if v.is_null() && !s.nullable {
        if let Some(d) = s.default.as_ref().filter(|d| !d.is_null()) {
            *v = d.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_nested_properties_items_and_map_values() {
        let s = Schema::parse(&json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "default": {}, "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "nullable": true, "default": "auto"},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "protocol": {"type": "string", "default": "TCP"}}}},
                "limits": {"type": "object", "additionalProperties": {
                    "type": "object", "default": {"max": 3},
                    "properties": {"max": {"type": "integer"}, "min": {"type": "integer", "default": 0}}}},
                "gone": {"type": "string", "default": null}
            }}}
        }));
        let mut obj = json!({"apiVersion": "x/v1", "kind": "X"});
        apply(&mut obj, &s);
        assert_eq!(obj["spec"], json!({"replicas": 1, "mode": "auto"}));

        let mut obj = json!({"spec": {"replicas": null, "mode": null,
            "ports": [{}, {"protocol": "UDP"}], "limits": {"a": null, "b": {"max": 1}}}});
        apply(&mut obj, &s);
        assert_eq!(
            obj["spec"],
            json!({"replicas": 1, "mode": null,
                   "ports": [{"protocol": "TCP"}, {"protocol": "UDP"}],
                   "limits": {"a": {"max": 3, "min": 0}, "b": {"max": 1, "min": 0}}})
        );
    }
}
