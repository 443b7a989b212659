//! Label selectors (`metav1.LabelSelector`): validation and matching.

use super::json::{self, arr_at, str_at};
use super::meta::{validate_label_name, validate_labels};
use super::{names, FieldError};
use serde_json::Value;

/// `ValidateLabelSelector` (label values in selectors must be valid).
pub fn validate(sel: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return errs;
    };
    errs.extend(validate_labels(
        sel.get("matchLabels"),
        &json::child(path, "matchLabels"),
    ));
    for (i, req) in arr_at(sel, &["matchExpressions"]).iter().enumerate() {
        let p = json::index(&json::child(path, "matchExpressions"), i);
        let values = arr_at(req, &["values"]);
        let op = str_at(req, &["operator"]);
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &json::child(&p, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &json::child(&p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            _ => errs.push(FieldError::invalid(
                &json::child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(
            str_at(req, &["key"]),
            &json::child(&p, "key"),
        ));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for msg in names::label_value(v) {
                errs.push(FieldError::invalid(
                    &json::index(&json::child(&p, "values"), j),
                    v,
                    msg,
                ));
            }
        }
    }
    errs
}

/// "`selector` does not match template `labels`", with the labels shown as
/// Go prints a `map[string]string` (`map[string]string(nil)` when absent).
pub fn mismatch(path: &str, labels: Option<&Value>) -> FieldError {
    let shown = match labels {
        Some(l) if l.is_object() => super::gofmt::string_map(l),
        _ => "map[string]string(nil)".to_string(),
    };
    FieldError::invalid_shown(path, shown, "`selector` does not match template `labels`")
}

/// Whether a selector has no requirement at all.
pub fn is_empty(sel: &Value) -> bool {
    json::string_map(sel.get("matchLabels")).is_empty()
        && arr_at(sel, &["matchExpressions"]).is_empty()
}

/// Whether `labels` satisfy the selector (`LabelSelectorAsSelector(...).Matches`).
/// A missing selector matches nothing; an empty one matches everything.
pub fn matches(sel: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return false;
    };
    let labels = json::string_map(labels);
    let get = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
    for (k, v) in json::string_map(sel.get("matchLabels")) {
        if get(k) != Some(v) {
            return false;
        }
    }
    for req in arr_at(sel, &["matchExpressions"]) {
        let key = str_at(req, &["key"]);
        let values: Vec<&str> = arr_at(req, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ok = match str_at(req, &["operator"]) {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matching() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        assert!(matches(Some(&sel), Some(&json!({"app": "web"}))));
        assert!(!matches(
            Some(&sel),
            Some(&json!({"app": "web", "tier": "db"}))
        ));
        assert!(!matches(Some(&sel), Some(&json!({"app": "api"}))));
        assert!(!matches(None, Some(&json!({"app": "web"}))));
        assert!(matches(Some(&json!({})), None));
    }

    #[test]
    fn validation() {
        let sel = json!({"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]}, {"key": "c", "operator": "Bad"}]});
        let errs: Vec<String> = validate(Some(&sel), "spec.selector")
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errs,
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                "spec.selector.matchExpressions[2].operator: Invalid value: \"Bad\": not a valid selector operator",
            ]
        );
    }
}
