//! The CustomResourceDefinition kind's own behaviour: defaulting, status
//! kept through the main resource (`storedVersions` maintained), upstream's
//! validation of names, versions and schemas (structural, CEL rules), the
//! immutable fields, and the warning for conversion webhooks.

use serde_json::{json, Value};

use super::{cel, schema};
use crate::strategy::{
    names, validate_object_meta, validate_object_meta_update, FieldError, Strategy,
};

pub struct Crd;
pub static CRD: Crd = Crd;

/// What a CRD with a conversion webhook is told: ferrokube calls no webhooks.
pub const CONVERSION_WEBHOOK_WARNING: &str = "spec.conversion.strategy: Webhook conversion is not supported by ferrokube: objects are served in every version with strategy None (only apiVersion changes)";

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .unwrap_or(&Value::Null)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

fn versions(obj: &Value) -> &[Value] {
    at(obj, &["spec", "versions"])
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn default_crd(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    if let Some(n) = spec.get_mut("names").filter(|n| n.is_object()) {
        let kind = str_at(n, &["kind"]).to_string();
        if str_at(n, &["singular"]).is_empty() {
            n["singular"] = json!(kind.to_lowercase());
        }
        if str_at(n, &["listKind"]).is_empty() && !kind.is_empty() {
            n["listKind"] = json!(format!("{kind}List"));
        }
    }
    match spec.get_mut("conversion").filter(|c| c.is_object()) {
        Some(c) => {
            if str_at(c, &["strategy"]).is_empty() {
                c["strategy"] = json!("None");
            }
            if let Some(svc) = c
                .pointer_mut("/webhook/clientConfig/service")
                .filter(|s| s.is_object())
            {
                if svc.get("port").is_none() {
                    svc["port"] = json!(443);
                }
            }
        }
        None => spec["conversion"] = json!({"strategy": "None"}),
    }
}

/// `IsDNS1035Label` errors joined as upstream joins them.
fn dns1035(s: &str) -> Option<String> {
    let errs = names::dns1035_label(s);
    (!errs.is_empty()).then(|| errs.join(","))
}

fn validate_names(n: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for f in ["plural", "singular"] {
        let v = str_at(n, &[f]);
        if let Some(e) = dns1035(v).filter(|_| !v.is_empty()) {
            errs.push(FieldError::invalid(&format!("{path}.{f}"), v, e));
        }
    }
    for f in ["kind", "listKind"] {
        let v = str_at(n, &[f]);
        if let Some(e) = dns1035(&v.to_lowercase()).filter(|_| !v.is_empty()) {
            errs.push(FieldError::invalid(
                &format!("{path}.{f}"),
                v,
                format!("may have mixed case, but should otherwise match: {e}"),
            ));
        }
    }
    for f in ["shortNames", "categories"] {
        for (i, v) in at(n, &[f]).as_array().into_iter().flatten().enumerate() {
            let v = v.as_str().unwrap_or("");
            if let Some(e) = dns1035(v) {
                errs.push(FieldError::invalid(&format!("{path}.{f}[{i}]"), v, e));
            }
        }
    }
    let (kind, list_kind) = (str_at(n, &["kind"]), str_at(n, &["listKind"]));
    if !kind.is_empty() && kind == list_kind {
        errs.push(FieldError::invalid(
            &format!("{path}.listKind"),
            list_kind,
            "kind and listKind may not be the same",
        ));
    }
}

fn validate_crd(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, false, names::name_is_dns_subdomain);
    let plural = str_at(obj, &["spec", "names", "plural"]);
    let group = str_at(obj, &["spec", "group"]);
    let name = str_at(obj, &["metadata", "name"]);
    if !name.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if let Some(e) = Some(names::dns1123_subdomain(group)).filter(|e| !e.is_empty()) {
        errs.push(FieldError::invalid("spec.group", group, e.join(",")));
    } else if group.split('.').count() < 2 {
        errs.push(FieldError::invalid(
            "spec.group",
            group,
            "should be a domain with at least one dot",
        ));
    }
    match str_at(obj, &["spec", "scope"]) {
        "Cluster" | "Namespaced" => {}
        "" => errs.push(FieldError::required("spec.scope", "")),
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            other,
            &["Cluster", "Namespaced"],
        )),
    }
    let vs = versions(obj);
    let mut seen = std::collections::HashSet::new();
    let mut unique = true;
    for (i, v) in vs.iter().enumerate() {
        let vname = str_at(v, &["name"]);
        if !seen.insert(vname) {
            unique = false;
        }
        if let Some(e) = dns1035(vname) {
            errs.push(FieldError::invalid(
                &format!("spec.versions[{i}].name"),
                vname,
                e,
            ));
        }
        let schema_path = format!("spec.versions[{i}].schema.openAPIV3Schema");
        match v.pointer("/schema/openAPIV3Schema") {
            Some(s) if s.is_object() => {
                // Rules are compiled only for a structural schema, as upstream.
                let structural = schema::check_structural(s, &schema_path);
                if structural.is_empty() {
                    errs.extend(cel::check(s, &schema_path));
                }
                errs.extend(structural);
            }
            _ => errs.push(FieldError::required(&schema_path, "schemas are required")),
        }
        errs.extend(validate_subresources(v, i));
        errs.extend(validate_columns(v, i));
    }
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::Array(vs.to_vec()),
            "must contain unique version names",
        ));
    }
    let storage = vs.iter().filter(|v| v["storage"] == true).count();
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::Array(vs.to_vec()),
            "must have exactly one version marked as storage version",
        ));
    }
    for f in ["plural", "singular", "kind", "listKind"] {
        if str_at(obj, &["spec", "names", f]).is_empty() {
            errs.push(FieldError::required(&format!("spec.names.{f}"), ""));
        }
    }
    validate_names(at(obj, &["spec", "names"]), "spec.names", &mut errs);
    errs.extend(validate_api_approval(obj, group));
    if at(obj, &["spec", "preserveUnknownFields"]) == &Value::Bool(true) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            true,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    match str_at(obj, &["spec", "conversion", "strategy"]) {
        "None" | "Webhook" | "" => {}
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            other,
            &["None", "Webhook"],
        )),
    }
    errs
}

/// The annotation that approves a CRD in a protected group.
const API_APPROVED: &str = "api-approved.kubernetes.io";
const API_APPROVAL_PR: &str = "https://github.com/kubernetes/enhancements/pull/1111";

/// Groups under `k8s.io` and `kubernetes.io` need the approval annotation:
/// a URL, or a reason starting with "unapproved".
fn validate_api_approval(obj: &Value, group: &str) -> Vec<FieldError> {
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|g| group == *g || group.ends_with(&format!(".{g}")));
    if !protected {
        return Vec::new();
    }
    let field = format!("metadata.annotations[{API_APPROVED}]");
    let Some(value) = at(obj, &["metadata", "annotations", API_APPROVED]).as_str() else {
        return vec![FieldError::required(
            &field,
            format!("protected groups must have approval annotation {API_APPROVED:?}, see {API_APPROVAL_PR}"),
        )];
    };
    let is_url = value.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.split('/').next().unwrap_or("").is_empty()
    });
    if is_url || value.starts_with("unapproved") {
        return Vec::new();
    }
    vec![FieldError::invalid(
        &field,
        value,
        format!(
            "protected groups must have approval annotation {API_APPROVED:?} with either a URL or a reason starting with \"unapproved\", see {API_APPROVAL_PR}"
        ),
    )]
}

/// The scale paths must be JSON paths under `.spec` and `.status`.
fn validate_subresources(v: &Value, i: usize) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(scale) = v.pointer("/subresources/scale").filter(|s| s.is_object()) else {
        return errs;
    };
    let base = format!("spec.versions[{i}].subresources.scale");
    for (f, prefix, required) in [
        ("specReplicasPath", ".spec.", true),
        ("statusReplicasPath", ".status.", true),
        ("labelSelectorPath", "", false),
    ] {
        let p = str_at(scale, &[f]);
        if p.is_empty() {
            if required {
                errs.push(FieldError::required(&format!("{base}.{f}"), ""));
            }
            continue;
        }
        let ok = if prefix.is_empty() {
            p.starts_with(".spec.") || p.starts_with(".status.")
        } else {
            p.starts_with(prefix)
        };
        if !ok {
            let detail = if prefix.is_empty() {
                "should be a json path under either `.spec` or `.status`".to_string()
            } else {
                format!(
                    "should be a json path under {}",
                    prefix.trim_end_matches('.')
                )
            };
            errs.push(FieldError::invalid(&format!("{base}.{f}"), p, detail));
        }
    }
    errs
}

const COLUMN_TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];

fn validate_columns(v: &Value, i: usize) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, c) in at(v, &["additionalPrinterColumns"])
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let base = format!("spec.versions[{i}].additionalPrinterColumns[{j}]");
        if str_at(c, &["name"]).is_empty() {
            errs.push(FieldError::required(&format!("{base}.name"), ""));
        }
        match str_at(c, &["type"]) {
            "" => errs.push(FieldError::required(&format!("{base}.type"), "")),
            t if !COLUMN_TYPES.contains(&t) => errs.push(FieldError::not_supported(
                &format!("{base}.type"),
                t,
                COLUMN_TYPES,
            )),
            _ => {}
        }
        if str_at(c, &["jsonPath"]).is_empty() {
            errs.push(FieldError::required(&format!("{base}.jsonPath"), ""));
        }
    }
    errs
}

impl Strategy for Crd {
    fn default(&self, obj: &mut Value) {
        default_crd(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let storage: Vec<Value> = versions(obj)
            .iter()
            .filter(|v| v["storage"] == true)
            .filter_map(|v| v.get("name").cloned())
            .collect();
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"acceptedNames": {"kind": "", "plural": ""}, "conditions": [], "storedVersions": storage}),
            );
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // storedVersions keeps every version ever used for storage.
        let mut stored: Vec<Value> = at(old, &["status", "storedVersions"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        for v in versions(new) {
            if v["storage"] == true {
                if let Some(n) = v.get("name") {
                    if !stored.contains(n) {
                        stored.push(n.clone());
                    }
                }
            }
        }
        if let Some(status) = new.get_mut("status").filter(|s| s.is_object()) {
            status["storedVersions"] = Value::Array(stored);
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_crd(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(
            validate_crd(new)
                .into_iter()
                .filter(|e| !e.field.starts_with("metadata")),
        );
        let established = old
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            });
        let mut immutable = vec![
            ("spec.group", vec!["spec", "group"]),
            ("spec.names.plural", vec!["spec", "names", "plural"]),
        ];
        if established {
            immutable.push(("spec.scope", vec!["spec", "scope"]));
            immutable.push(("spec.names.kind", vec!["spec", "names", "kind"]));
        }
        for (field, path) in immutable {
            if at(new, &path) != at(old, &path) {
                errs.push(FieldError::immutable(field, at(new, &path).clone()));
            }
        }
        // Every stored version must still be declared.
        let declared: Vec<&str> = versions(new).iter().map(|v| str_at(v, &["name"])).collect();
        for (i, v) in at(new, &["status", "storedVersions"])
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let v = v.as_str().unwrap_or("");
            if !declared.contains(&v) {
                errs.push(FieldError::invalid(
                    &format!("status.storedVersions[{i}]"),
                    v,
                    "must appear in spec.versions",
                ));
            }
        }
        errs
    }

    fn generation_tracked(&self) -> bool {
        true
    }

    fn namespaced(&self) -> bool {
        false
    }

    fn warnings(&self, obj: &Value) -> Vec<String> {
        if str_at(obj, &["spec", "conversion", "strategy"]) == "Webhook" {
            vec![CONVERSION_WEBHOOK_WARNING.to_string()]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                              "schema": {"openAPIV3Schema": {"type": "object"}}}],
            },
        })
    }

    fn messages(obj: &Value) -> Vec<String> {
        let mut o = obj.clone();
        CRD.default(&mut o);
        CRD.validate(&o).iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_valid_crd_defaults_its_names_and_conversion() {
        let mut o = crd();
        CRD.default(&mut o);
        assert_eq!(o["spec"]["names"]["singular"], "widget");
        assert_eq!(o["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(o["spec"]["conversion"], json!({"strategy": "None"}));
        assert!(CRD.validate(&o).is_empty(), "{:?}", CRD.validate(&o));
    }

    #[test]
    fn versions_need_schemas_unique_names_and_one_storage() {
        let mut o = crd();
        o["spec"]["versions"] = json!([
            {"name": "v1", "served": true, "storage": true},
            {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ]);
        let m = messages(&o);
        assert!(
            m.contains(
                &"spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"
                    .to_string()
            ),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|e| e.ends_with("must contain unique version names")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|e| e.ends_with("must have exactly one version marked as storage version")),
            "{m:?}"
        );
    }

    #[test]
    fn names_follow_dns_rules() {
        let mut o = crd();
        o["spec"]["names"] = json!({"plural": "widgets", "kind": "Widget", "listKind": "Widget",
                                    "shortNames": ["W_1"]});
        let m = messages(&o);
        assert!(
            m.contains(&"spec.names.listKind: Invalid value: \"Widget\": kind and listKind may not be the same".to_string()),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|e| e.starts_with("spec.names.shortNames[0]: Invalid value: \"W_1\"")),
            "{m:?}"
        );
    }

    #[test]
    fn scale_paths_live_under_spec_and_status() {
        let mut o = crd();
        o["spec"]["versions"][0]["subresources"] = json!({"scale": {"specReplicasPath": ".replicas", "statusReplicasPath": ".status.replicas"}});
        let m = messages(&o);
        assert_eq!(
            m,
            vec!["spec.versions[0].subresources.scale.specReplicasPath: Invalid value: \".replicas\": should be a json path under .spec"]
        );
    }

    #[test]
    fn group_and_plural_never_change_and_kind_not_once_established() {
        let mut old = crd();
        CRD.default(&mut old);
        old["status"] = json!({"conditions": [{"type": "Established", "status": "True"}],
                               "storedVersions": ["v1"]});
        let mut new = old.clone();
        new["spec"]["names"]["kind"] = json!("Gadget");
        new["spec"]["names"]["listKind"] = json!("GadgetList");
        let m: Vec<String> = CRD
            .validate_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            m,
            vec!["spec.names.kind: Invalid value: \"Gadget\": field is immutable"]
        );
    }

    #[test]
    fn webhook_conversion_is_accepted_with_a_warning() {
        let mut o = crd();
        o["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": "s", "namespace": "n"}}}});
        CRD.default(&mut o);
        assert_eq!(
            o["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
            443
        );
        assert!(CRD.validate(&o).is_empty());
        assert_eq!(
            CRD.warnings(&o),
            vec![CONVERSION_WEBHOOK_WARNING.to_string()]
        );
    }
}
