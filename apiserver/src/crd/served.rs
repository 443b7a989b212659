//! What one served version of a CustomResourceDefinition declares, turned
//! into a row of the resource table ([`ResourceInfo`]) that routing,
//! discovery, OpenAPI and the registry read like a built-in one.
//!
//! Rows are `&'static`: they are built once per distinct definition and kept
//! (interned by content), so a CRD that does not change costs nothing more,
//! and each new revision of a CRD's spec costs one row per version.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use serde_json::{json, Value};

use crate::printers::custom::CustomColumns;
use crate::resources::{ResourceInfo, Subresource};
use crate::strategy::json::str_at;

use super::schema::Schema;

/// The finalizer that makes deleting a CRD delete its objects first.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Paths of the `scale` subresource (`.spec.replicas`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of a custom resource.
#[derive(Debug)]
pub struct Served {
    /// The CRD's name, `plural.group`.
    pub crd: String,
    /// The version objects are stored in.
    pub storage_version: String,
    /// Every served version (conversion between them is `None`: only
    /// `apiVersion` changes).
    pub served_versions: Vec<String>,
    /// `schema.openAPIV3Schema` as written (for OpenAPI and CEL rules).
    pub raw_schema: Option<Value>,
    pub schema: Option<Schema>,
    pub columns: CustomColumns,
    pub status: bool,
    pub scale: Option<ScalePaths>,
    /// `selectableFields[].jsonPath`, without the leading dot.
    pub selectable_fields: Vec<String>,
    /// The schema has CEL rules (`x-kubernetes-validations`) somewhere.
    pub has_rules: bool,
    /// The CRD is being deleted: no new objects.
    pub terminating: bool,
    pub namespaced: bool,
    /// `deprecated`/`deprecationWarning`: the warning every request gets.
    pub deprecation_warning: Option<String>,
}

impl PartialEq for Served {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Served {}

/// Keeps one copy of each string for the life of the process.
fn leak_str(s: &str) -> &'static str {
    static STRINGS: LazyLock<Mutex<HashSet<&'static str>>> =
        LazyLock::new(|| Mutex::new(HashSet::new()));
    let mut set = match STRINGS.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(s) = set.get(s) {
        return s;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

fn leak_strs(v: &[String]) -> &'static [&'static str] {
    if v.is_empty() {
        return &[];
    }
    Box::leak(
        v.iter()
            .map(|s| leak_str(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// The strings of a JSON array (none for anything else).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a condition of the CRD's status is `True`.
pub fn condition_true(crd: &Value, type_: &str) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

/// The names a CRD is served under: its accepted names once the naming
/// check accepted them.
fn served_names(crd: &Value) -> Option<&Value> {
    let accepted = crd.pointer("/status/acceptedNames")?;
    if str_at(accepted, &["plural"]).is_empty() || str_at(accepted, &["kind"]).is_empty() {
        return None;
    }
    Some(accepted)
}

/// The resource rows of every served version of an established CRD (none
/// for a CRD that is not established).
pub fn rows(crd: &Value) -> Vec<&'static ResourceInfo> {
    if !condition_true(crd, "Established") {
        return Vec::new();
    }
    let Some(names) = served_names(crd) else {
        return Vec::new();
    };
    let terminating = crd.pointer("/metadata/deletionTimestamp").is_some();
    let spec = &crd["spec"];
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let served: Vec<String> = versions
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| str_at(v, &["name"]).to_string())
        .collect();
    versions
        .iter()
        .filter(|v| v["served"] == true)
        .filter_map(|v| {
            // A CRD's uid and generation name its spec (every spec change
            // bumps the generation); without them, the spec itself.
            let uid = str_at(crd, &["metadata", "uid"]);
            let key = match crd.pointer("/metadata/generation") {
                Some(g) if !uid.is_empty() => {
                    format!("{uid}/{g}/{names}/{}/{terminating}", v["name"])
                }
                _ => json!([spec, names, v["name"], terminating]).to_string(),
            };
            intern(key, || build(crd, names, v, &served, terminating))
        })
        .collect()
}

fn intern(
    key: String,
    build: impl FnOnce() -> Option<ResourceInfo>,
) -> Option<&'static ResourceInfo> {
    static ROWS: LazyLock<Mutex<HashMap<String, &'static ResourceInfo>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut rows = match ROWS.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(r) = rows.get(&key) {
        return Some(r);
    }
    let row: &'static ResourceInfo = Box::leak(Box::new(build()?));
    rows.insert(key, row);
    Some(row)
}

const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
/// Every verb of a custom resource, in the order upstream's CRD discovery lists them.
pub const CRD_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

fn build(
    crd: &Value,
    names: &Value,
    v: &Value,
    served: &[String],
    terminating: bool,
) -> Option<ResourceInfo> {
    let spec = &crd["spec"];
    let group = leak_str(str_at(spec, &["group"]));
    let version = leak_str(str_at(v, &["name"]));
    let kind = leak_str(str_at(names, &["kind"]));
    let list_kind = match str_at(names, &["listKind"]) {
        "" => leak_str(&format!("{kind}List")),
        l => leak_str(l),
    };
    let plural = leak_str(str_at(names, &["plural"]));
    let singular = match str_at(names, &["singular"]) {
        "" => leak_str(&kind.to_lowercase()),
        s => leak_str(s),
    };
    let subs = &v["subresources"];
    let status = subs.get("status").is_some_and(Value::is_object);
    let scale = subs
        .get("scale")
        .filter(|s| s.is_object())
        .map(|s| ScalePaths {
            spec_replicas: str_at(s, &["specReplicasPath"]).to_string(),
            status_replicas: str_at(s, &["statusReplicasPath"]).to_string(),
            label_selector: Some(str_at(s, &["labelSelectorPath"]))
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        });
    // Upstream's order: status, then scale.
    let mut subresources = Vec::new();
    if status {
        subresources.push(Subresource {
            name: "status",
            group,
            version,
            kind,
            verbs: STATUS_VERBS,
        });
    }
    if scale.is_some() {
        subresources.push(Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: STATUS_VERBS,
        });
    }
    let raw_schema = v.pointer("/schema/openAPIV3Schema").cloned();
    let columns = CustomColumns::new(v.get("additionalPrinterColumns"))
        .or_else(|_| CustomColumns::new(None))
        .ok()?;
    let storage_version = spec["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["storage"] == true))
        .map(|v| str_at(v, &["name"]).to_string())
        .unwrap_or_else(|| version.to_string());
    let deprecation_warning =
        (v["deprecated"] == true).then(|| match str_at(v, &["deprecationWarning"]) {
            "" => default_deprecation_warning(spec, group, version, kind),
            w => w.to_string(),
        });
    let has_rules = raw_schema
        .as_ref()
        .is_some_and(|r| r.to_string().contains("\"x-kubernetes-validations\""));
    let served_info = Served {
        crd: str_at(crd, &["metadata", "name"]).to_string(),
        storage_version,
        served_versions: served.to_vec(),
        schema: raw_schema.as_ref().map(Schema::parse),
        raw_schema,
        columns,
        status,
        scale,
        selectable_fields: v["selectableFields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| str_at(f, &["jsonPath"]).trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default(),
        has_rules,
        terminating,
        namespaced: str_at(spec, &["scope"]) == "Namespaced",
        deprecation_warning,
    };
    Some(ResourceInfo {
        group,
        version,
        kind,
        list_kind,
        plural,
        singular,
        namespaced: str_at(spec, &["scope"]) == "Namespaced",
        short_names: leak_strs(&strings(names.get("shortNames"))),
        categories: leak_strs(&strings(names.get("categories"))),
        verbs: CRD_VERBS,
        subresources: Box::leak(subresources.into_boxed_slice()),
        custom: Some(Box::leak(Box::new(served_info))),
    })
}

/// upstream's message for a deprecated version without its own warning:
/// it names the newest served version that is not deprecated, if any newer.
fn default_deprecation_warning(spec: &Value, group: &str, version: &str, kind: &str) -> String {
    use crate::catalog::compare_versions;
    let mut msg = format!("{group}/{version} {kind} is deprecated");
    let mut newer: Vec<&str> = spec["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter(|v| v["served"] == true && v["deprecated"] != true)
                .map(|v| str_at(v, &["name"]))
                .filter(|n| compare_versions(n, version) == std::cmp::Ordering::Less)
                .collect()
        })
        .unwrap_or_default();
    newer.sort_by(|a, b| compare_versions(a, b));
    if let Some(best) = newer.first() {
        msg.push_str(&format!("; use {group}/{best} {kind}"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_versions_point_at_the_newest_served_one() {
        let spec = json!({"versions": [
            {"name": "v1alpha1", "served": true, "deprecated": true},
            {"name": "v1beta1", "served": true},
            {"name": "v1", "served": true},
            {"name": "v2alpha1", "served": false},
        ]});
        assert_eq!(
            default_deprecation_warning(&spec, "example.com", "v1alpha1", "Widget"),
            "example.com/v1alpha1 Widget is deprecated; use example.com/v1 Widget"
        );
        let only = json!({"versions": [{"name": "v1", "served": true, "deprecated": true}]});
        assert_eq!(
            default_deprecation_warning(&only, "example.com", "v1", "Widget"),
            "example.com/v1 Widget is deprecated"
        );
    }

    fn crd(versions: Value) -> Value {
        json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": versions},
            "status": {
                "acceptedNames": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "conditions": [{"type": "Established", "status": "True"}],
            },
        })
    }

    #[test]
    fn established_crds_give_one_row_per_served_version() {
        let c = crd(json!([
            {"name": "v1", "served": true, "storage": true,
             "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.n", "statusReplicasPath": ".status.n"}}},
            {"name": "v1beta1", "served": true, "storage": false},
            {"name": "v1alpha1", "served": false, "storage": false},
        ]));
        let rows = rows(&c);
        assert_eq!(rows.len(), 2);
        let v1 = rows[0];
        assert_eq!(
            (v1.group, v1.version, v1.kind, v1.plural),
            ("example.com", "v1", "Widget", "widgets")
        );
        assert!(v1.namespaced && v1.has_status());
        assert_eq!(v1.subresource("scale").map(|s| s.kind), Some("Scale"));
        let served = v1.custom.expect("custom");
        assert_eq!(served.storage_version, "v1");
        assert_eq!(
            served.scale.as_ref().map(|s| s.spec_replicas.as_str()),
            Some(".spec.n")
        );
        assert!(!rows[1].has_status());
        // The same definition gives the same rows (interned).
        assert!(std::ptr::eq(rows[0], super::rows(&c)[0]));
    }

    #[test]
    fn crds_not_established_are_not_served() {
        let mut c = crd(json!([{"name": "v1", "served": true, "storage": true}]));
        c["status"]["conditions"] = json!([{"type": "Established", "status": "False"}]);
        assert!(rows(&c).is_empty());
    }
}
