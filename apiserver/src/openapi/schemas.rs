//! Schema definitions for every built-in kind, generated from `k8s_openapi`'s
//! `schemars` impls and named as upstream names them
//! (`io.k8s.api.apps.v1.Deployment`).
//!
//! [`Definitions::generate`] yields the raw definitions (references point at
//! `#/components/schemas/...`, `$ref` may carry sibling keywords); [`for_v3`]
//! and [`for_v2`] shape one definition the way kube-apiserver publishes it in
//! OpenAPI v3 and Swagger 2.0.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration_v1, apps::v1 as apps_v1,
    authentication::v1 as authentication_v1, authorization::v1 as authorization_v1,
    autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2, batch::v1 as batch_v1,
    coordination::v1 as coordination_v1, core::v1 as core_v1, discovery::v1 as discovery_v1,
    events::v1 as events_v1, networking::v1 as networking_v1, policy::v1 as policy_v1,
    rbac::v1 as rbac_v1, scheduling::v1 as scheduling_v1, storage::v1 as storage_v1,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta_v1;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration_v1;
use schemars::{generate::SchemaSettings, JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::resources;

/// Where references point in the raw definitions (and in OpenAPI v3).
pub const V3_PREFIX: &str = "#/components/schemas/";
/// Where references point in Swagger 2.0.
pub const V2_PREFIX: &str = "#/definitions/";

pub const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
pub const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// Group, version and kind as one key.
pub type Gvk = (&'static str, &'static str, &'static str);

/// Every definition plus which one describes each served kind.
#[derive(Clone)]
pub struct Definitions {
    /// Definition name -> raw schema.
    pub defs: Map<String, Value>,
    /// (group, version, kind) -> definition name, for kinds and list kinds.
    pub by_gvk: BTreeMap<Gvk, String>,
    /// Definitions that come from CRD schemas (Swagger 2.0 gets them
    /// converted, as upstream publishes them).
    pub custom: BTreeSet<String>,
}

/// Registers `T` and records its definition name under its GVK.
fn add<T: JsonSchema + k8s_openapi::Resource>(
    gen: &mut SchemaGenerator,
    by_gvk: &mut BTreeMap<Gvk, String>,
) {
    gen.subschema_for::<T>();
    by_gvk.insert(
        (T::GROUP, T::VERSION, T::KIND),
        T::schema_name().into_owned(),
    );
}

macro_rules! add_all {
    ($gen:expr, $by:expr; $($ty:ty),* $(,)?) => {
        $( add::<$ty>($gen, $by); )*
    };
}

impl Definitions {
    /// Generates the definitions of every built-in kind, its list kind, and
    /// the meta types the REST operations speak.
    pub fn generate() -> Definitions {
        let mut settings = SchemaSettings::openapi3();
        settings.transforms.clear();
        settings.meta_schema = None;
        let mut gen = settings.into_generator();
        let mut by_gvk = BTreeMap::new();
        add_all!(&mut gen, &mut by_gvk;
            core_v1::ConfigMap, core_v1::Endpoints, core_v1::Event, core_v1::LimitRange,
            core_v1::Namespace, core_v1::Node, core_v1::PersistentVolumeClaim,
            core_v1::PersistentVolume, core_v1::Pod, core_v1::PodTemplate,
            core_v1::ReplicationController, core_v1::ResourceQuota, core_v1::Secret,
            core_v1::ServiceAccount, core_v1::Service, core_v1::Binding,
            authentication_v1::TokenRequest,
            apiregistration_v1::APIService,
            apps_v1::ControllerRevision, apps_v1::DaemonSet, apps_v1::Deployment,
            apps_v1::ReplicaSet, apps_v1::StatefulSet,
            events_v1::Event,
            authentication_v1::SelfSubjectReview, authentication_v1::TokenReview,
            authorization_v1::LocalSubjectAccessReview, authorization_v1::SelfSubjectAccessReview,
            authorization_v1::SelfSubjectRulesReview, authorization_v1::SubjectAccessReview,
            autoscaling_v2::HorizontalPodAutoscaler, autoscaling_v1::HorizontalPodAutoscaler,
            autoscaling_v1::Scale,
            batch_v1::CronJob, batch_v1::Job,
            networking_v1::IngressClass, networking_v1::Ingress, networking_v1::NetworkPolicy,
            policy_v1::PodDisruptionBudget, policy_v1::Eviction,
            rbac_v1::ClusterRoleBinding, rbac_v1::ClusterRole, rbac_v1::RoleBinding, rbac_v1::Role,
            storage_v1::StorageClass,
            admissionregistration_v1::MutatingWebhookConfiguration,
            admissionregistration_v1::ValidatingAdmissionPolicy,
            admissionregistration_v1::ValidatingAdmissionPolicyBinding,
            admissionregistration_v1::ValidatingWebhookConfiguration,
            apiextensions_v1::CustomResourceDefinition,
            scheduling_v1::PriorityClass,
            coordination_v1::Lease,
            discovery_v1::EndpointSlice,
        );
        gen.subschema_for::<meta_v1::Status>();
        gen.subschema_for::<meta_v1::DeleteOptions>();
        gen.subschema_for::<meta_v1::Patch>();
        gen.subschema_for::<meta_v1::ListMeta>();
        gen.subschema_for::<meta_v1::WatchEvent<core_v1::Pod>>();
        let mut defs = gen.take_definitions(false);
        // Patch, list and map extensions the Go types carry (kubectl and the
        // patch engines read them).
        super::extensions::annotate(&mut defs);

        // List kinds: k8s-openapi has no schema for them, build upstream's shape.
        for r in resources::BUILTIN
            .iter()
            .filter(|r| !r.list_kind.is_empty())
        {
            let Some(item) = by_gvk.get(&(r.group, r.version, r.kind)).cloned() else {
                continue;
            };
            let list_name = format!("{item}List");
            defs.insert(list_name.clone(), list_schema(r.kind, &item));
            by_gvk.insert((r.group, r.version, r.list_kind), list_name);
        }

        for ((g, v, k), name) in &by_gvk {
            if let Some(Value::Object(def)) = defs.get_mut(name) {
                def.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([{"group": g, "kind": k, "version": v}]),
                );
            }
        }
        // The access reviews are posted without metadata: upstream requires
        // only their spec.
        for r in resources::BUILTIN.iter().filter(|r| r.list_kind.is_empty()) {
            let Some(name) = by_gvk.get(&(r.group, r.version, r.kind)) else {
                continue;
            };
            if let Some(Value::Array(required)) =
                defs.get_mut(name).and_then(|d| d.get_mut("required"))
            {
                required.retain(|f| f != "metadata");
            }
        }
        // Status is served as core v1; DeleteOptions and WatchEvent by every group-version.
        if let Some(Value::Object(def)) = defs.get_mut(STATUS) {
            def.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": "", "kind": "Status", "version": "v1"}]),
            );
        }
        for (name, kind) in [
            (DELETE_OPTIONS, "DeleteOptions"),
            (WATCH_EVENT, "WatchEvent"),
        ] {
            let gvks: Vec<Value> = resources::groups()
                .iter()
                .flat_map(|g| {
                    g.versions
                        .iter()
                        .map(move |v| json!({"group": g.name, "kind": kind, "version": v}))
                })
                .collect();
            if let Some(Value::Object(def)) = defs.get_mut(name) {
                def.insert("x-kubernetes-group-version-kind".into(), Value::Array(gvks));
            }
        }
        Definitions {
            defs,
            by_gvk,
            custom: BTreeSet::new(),
        }
    }

    /// The definition name for a GVK.
    pub fn name_of<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
        kind: &'a str,
    ) -> Option<&'a str> {
        // The map's `&'static str` keys read as shorter-lived ones (covariance),
        // so it is searched by key rather than scanned.
        let by_gvk: &BTreeMap<(&str, &str, &str), String> = &self.by_gvk;
        by_gvk.get(&(group, version, kind)).map(String::as_str)
    }

    /// The raw definition a `$ref` (or a bare name) points at.
    pub fn resolve(&self, reference: &str) -> Option<&Value> {
        self.defs
            .get(reference.strip_prefix(V3_PREFIX).unwrap_or(reference))
    }

    /// Names reachable from `roots` through `$ref`s, roots included.
    pub fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(def) = self.defs.get(&name) {
                collect_refs(def, &mut |r| {
                    if let Some(n) = r.strip_prefix(V3_PREFIX) {
                        if !seen.contains(n) {
                            stack.push(n.to_string());
                        }
                    }
                });
            }
        }
        seen
    }
}

/// Calls `f` with every `$ref` string inside `v`.
pub fn collect_refs(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                f(r);
            }
            for (k, child) in m {
                if k != "$ref" {
                    collect_refs(child, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, f)),
        _ => {}
    }
}

pub fn list_schema(kind: &str, item: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("items is the list of {kind} objects."),
                "type": "array",
                "items": {"$ref": format!("{V3_PREFIX}{item}")},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                "$ref": format!("{V3_PREFIX}{LIST_META}"),
            },
        },
        "required": ["items"],
    })
}

/// One definition as OpenAPI v3 publishes it: a `$ref` with siblings becomes
/// `allOf: [{$ref}]` plus the siblings (as kube-apiserver does, so kubectl
/// explain prints both the field's and the type's description); Quantity and
/// IntOrString are `oneOf` their scalar forms.
pub fn for_v3(name: &str, def: &Value) -> Value {
    match name {
        QUANTITY => json!({
            "description": def.get("description").cloned().unwrap_or(Value::Null),
            "oneOf": [{"type": "string"}, {"type": "number"}],
        }),
        INT_OR_STRING => json!({
            "description": def.get("description").cloned().unwrap_or(Value::Null),
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        }),
        _ => wrap_ref_siblings(def),
    }
}

fn wrap_ref_siblings(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| k.as_str() != "$ref")
        .map(|(k, c)| {
            let c = match (k.as_str(), c) {
                // Maps from names to schemas: the names are data, not keywords
                // (JSONSchemaProps has properties called `$ref` and `allOf`).
                ("properties" | "patternProperties", Value::Object(props)) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), wrap_ref_siblings(s)))
                        .collect(),
                ),
                ("items" | "additionalProperties" | "not", s) => wrap_ref_siblings(s),
                ("allOf" | "oneOf" | "anyOf", Value::Array(a)) => {
                    Value::Array(a.iter().map(wrap_ref_siblings).collect())
                }
                (_, other) => other.clone(),
            };
            (k.clone(), c)
        })
        .collect();
    if let Some(r) = m.get("$ref") {
        if out.is_empty() {
            out.insert("$ref".into(), r.clone());
        } else {
            out.insert("allOf".into(), json!([{"$ref": r}]));
        }
    }
    Value::Object(out)
}

/// One definition as Swagger 2.0 publishes it: references under
/// `#/definitions/`, Quantity and IntOrString as formatted strings.
pub fn for_v2(name: &str, def: &Value) -> Value {
    match name {
        QUANTITY => json!({
            "description": def.get("description").cloned().unwrap_or(Value::Null),
            "type": "string",
        }),
        INT_OR_STRING => json!({
            "description": def.get("description").cloned().unwrap_or(Value::Null),
            "type": "string",
            "format": "int-or-string",
        }),
        _ => rewrite_refs(def, V2_PREFIX),
    }
}

/// Points every `$ref` under `prefix` instead of [`V3_PREFIX`].
pub fn rewrite_refs(v: &Value, prefix: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, c)| {
                    let c = match (k.as_str(), c) {
                        ("$ref", Value::String(r)) => {
                            Value::String(match r.strip_prefix(V3_PREFIX) {
                                Some(n) => format!("{prefix}{n}"),
                                None => r.clone(),
                            })
                        }
                        _ => rewrite_refs(c, prefix),
                    };
                    (k.clone(), c)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|c| rewrite_refs(c, prefix)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kind_and_list_has_a_definition() {
        let d = Definitions::generate();
        for r in resources::BUILTIN {
            for kind in [r.kind, r.list_kind] {
                if kind.is_empty() {
                    continue;
                }
                let name = d
                    .name_of(r.group, r.version, kind)
                    .unwrap_or_else(|| panic!("no definition for {} {kind}", r.api_version()));
                let def = &d.defs[name];
                assert_eq!(
                    def["x-kubernetes-group-version-kind"][0],
                    json!({"group": r.group, "kind": kind, "version": r.version}),
                    "{name}"
                );
            }
        }
        assert!(d.name_of("apps", "v1", "Deployment") == Some("io.k8s.api.apps.v1.Deployment"));
        assert!(d.defs.contains_key("io.k8s.api.core.v1.Container"));
        assert!(d.defs.contains_key(QUANTITY));
    }

    #[test]
    fn closure_follows_refs() {
        let d = Definitions::generate();
        let c = d.closure(["io.k8s.api.apps.v1.Deployment"]);
        assert!(c.contains("io.k8s.api.core.v1.PodSpec"));
        assert!(c.contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert!(!c.contains("io.k8s.api.rbac.v1.Role"));
    }

    #[test]
    fn v3_wraps_refs_with_siblings_and_v2_rewrites_prefix() {
        let d = Definitions::generate();
        let raw = &d.defs["io.k8s.api.apps.v1.Deployment"];
        let v3 = for_v3("io.k8s.api.apps.v1.Deployment", raw);
        assert_eq!(
            v3["properties"]["spec"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}])
        );
        assert!(v3["properties"]["spec"]["description"].is_string());
        let v2 = for_v2("io.k8s.api.apps.v1.Deployment", raw);
        assert_eq!(
            v2["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
        );
        assert_eq!(for_v2(QUANTITY, &d.defs[QUANTITY])["type"], "string");
    }

    #[test]
    fn property_names_that_look_like_keywords_stay_properties() {
        let d = Definitions::generate();
        let name = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";
        let v3 = for_v3(name, &d.defs[name]);
        let props = v3["properties"].as_object().expect("properties");
        assert!(props["$ref"].is_object());
        assert!(props["allOf"].is_object());
        assert!(v3.get("allOf").is_none());
    }
}
