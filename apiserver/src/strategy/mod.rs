//! Per-kind behaviour of the registry: API defaulting, create/update
//! preparation and validation, as kube-apiserver v1.33 does it in
//! `pkg/registry/*/*/strategy.go`, `pkg/apis/*/v1/defaults.go` and
//! `pkg/apis/*/validation/validation.go`. Pure functions over
//! `serde_json::Value`; the REST layer calls them.
//!
//! # Interface
//!
//! - [`FieldError`] (`kind`, `field`, `detail`, `value`): one validation
//!   failure. [`FieldError::body`] is upstream's `ErrorBody()` (the message
//!   without the path), `Display` is `field: body`, and
//!   `impl From<&FieldError> for crate::error::Cause` gives the `details.causes`
//!   entry. [`to_api_error`] builds the whole 422 `Invalid` error.
//! - [`Strategy`]: `default`, `prepare_for_create`, `prepare_for_update`,
//!   `validate`, `validate_update`, `generation_tracked`, `namespaced`.
//! - [`for_kind`]`(group, kind, namespaced)` returns the strategy of a kind;
//!   kinds without special behaviour get a generic one (object meta only).
//!
//! # Order the REST layer calls them in (as `rest.BeforeCreate`/`BeforeUpdate`)
//!
//! Create: `default` → `prepare_for_create` → fill `name` from `generateName`,
//! `uid` (keep one already there: the Job strategy sets it to build its
//! selector), `creationTimestamp` → `validate`.
//! Update (also every patch, after the patch is applied): `default(new)` →
//! `prepare_for_update(new, old)` → fill `resourceVersion` from the stored
//! object when the client sent none → `validate_update(new, old)`.
//! Status updates: the REST layer copies `spec` from the old object and runs
//! `validate_update` (metadata rules) as usual.

mod apiservice;
mod cron;
mod deployment;
pub mod gofmt;
mod job;
pub(crate) mod json;
mod meta;
pub mod names;
mod namespace;
pub use namespace::validate_spec_finalizers as validate_namespace_finalizers;
mod other;
mod pod;
mod podspec;
mod quantity;
mod selector;
mod service;
mod statefulset;
mod storage;

use serde_json::Value;
use std::fmt;

pub use meta::{validate_object_meta, validate_object_meta_update};
pub use names::NameFn;

/// What kind of validation failure (upstream's `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    TooLong,
    TooMany,
    Forbidden,
    TypeInvalid,
    NotFound,
    Internal,
}

impl ErrorKind {
    /// The text upstream prints (`ErrorType.String()`).
    pub fn text(self) -> &'static str {
        match self {
            ErrorKind::Required => "Required value",
            ErrorKind::Invalid | ErrorKind::TypeInvalid => "Invalid value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
            ErrorKind::Internal => "Internal error",
        }
    }

    /// The `reason` of a `StatusCause`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            ErrorKind::NotSupported => "FieldValueNotSupported",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::NotFound => "FieldValueNotFound",
            ErrorKind::Internal => "InternalError",
        }
    }
}

/// One field-level validation failure, as upstream's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub kind: ErrorKind,
    /// The path: `spec.template.spec.containers[0].name`, `data[key]`.
    pub field: String,
    pub detail: String,
    /// The bad value; `None` leaves it out of the message.
    pub value: Option<Value>,
    /// How upstream prints a value that is a Go struct (`%#v` or `String()`);
    /// overrides the rendering of `value` when set.
    pub shown: Option<String>,
}

impl FieldError {
    fn new(kind: ErrorKind, field: &str, value: Option<Value>, detail: impl Into<String>) -> Self {
        FieldError {
            kind,
            field: field.to_string(),
            detail: detail.into(),
            value,
            shown: None,
        }
    }

    /// `Required value[: detail]`.
    pub fn required(field: &str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Required, field, None, detail)
    }

    /// `Invalid value: <value>: detail`.
    pub fn invalid(field: &str, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, field, Some(value.into()), detail)
    }

    /// `Invalid value: <shown>: detail` where `shown` is upstream's rendering
    /// of a Go struct.
    pub fn invalid_shown(field: &str, shown: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::Invalid, field, Some(Value::Null), detail);
        e.shown = Some(shown.into());
        e
    }

    /// `Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: impl Into<Value>, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| gofmt::quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorKind::NotSupported, field, Some(value.into()), detail)
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(field: &str, value: impl Into<Value>) -> Self {
        Self::new(ErrorKind::Duplicate, field, Some(value.into()), "")
    }

    /// `Not found: <value>`.
    pub fn not_found(field: &str, value: impl Into<Value>) -> Self {
        Self::new(ErrorKind::NotFound, field, Some(value.into()), "")
    }

    /// `Forbidden: detail`.
    pub fn forbidden(field: &str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, field, None, detail)
    }

    /// `Too long: may not be more than N bytes`.
    pub fn too_long(field: &str, max: usize) -> Self {
        Self::new(
            ErrorKind::TooLong,
            field,
            None,
            format!("may not be more than {max} bytes"),
        )
    }

    /// `Too many: N: must have at most M items`.
    pub fn too_many(field: &str, actual: usize, max: usize) -> Self {
        Self::new(
            ErrorKind::TooMany,
            field,
            Some(Value::from(actual)),
            format!("must have at most {max} items"),
        )
    }

    /// `Invalid value: <value>: field is immutable`.
    pub fn immutable(field: &str, value: impl Into<Value>) -> Self {
        Self::invalid(field, value, meta::FIELD_IMMUTABLE)
    }

    /// The message without the field path (upstream's `ErrorBody()`).
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            ErrorKind::Required
            | ErrorKind::Forbidden
            | ErrorKind::TooLong
            | ErrorKind::Internal => self.kind.text().to_string(),
            _ => match (&self.shown, &self.value) {
                (Some(shown), _) => format!("{}: {}", self.kind.text(), shown),
                (None, Some(v)) => format!("{}: {}", self.kind.text(), gofmt::value(v)),
                (None, None) => self.kind.text().to_string(),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl From<&FieldError> for crate::error::Cause {
    fn from(e: &FieldError) -> Self {
        crate::error::Cause {
            reason: e.kind.reason().to_string(),
            message: e.body(),
            field: e.field.clone(),
        }
    }
}

/// The 422 `Invalid` error for a list of field errors; duplicates (same
/// rendered text) are dropped as upstream's `ToAggregate` does.
pub fn to_api_error(
    kind: &str,
    group: &str,
    name: &str,
    errs: &[FieldError],
) -> crate::error::ApiError {
    let mut seen = std::collections::HashSet::new();
    let causes = errs
        .iter()
        .filter(|e| seen.insert(e.to_string()))
        .map(crate::error::Cause::from)
        .collect();
    crate::error::ApiError::invalid(kind, group, name, causes)
}

/// Per-kind behaviour. Every method is pure over JSON objects.
pub trait Strategy: Send + Sync {
    /// API defaulting (`SetDefaults_*`), run on create and on every update.
    fn default(&self, _obj: &mut Value) {}
    /// `PrepareForCreate`: reset status and fields users may not set.
    fn prepare_for_create(&self, _obj: &mut Value) {}
    /// `PrepareForUpdate` of the main resource: keep what users may not change.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}
    /// Validation of a new object (metadata included).
    fn validate(&self, obj: &Value) -> Vec<FieldError>;
    /// Validation of an update (metadata immutability included, and the
    /// full validation of `new`).
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError>;
    /// Whether `metadata.generation` is bumped when `spec` changes.
    fn generation_tracked(&self) -> bool {
        false
    }
    /// Whether objects of this kind live in a namespace.
    fn namespaced(&self) -> bool;
    /// Warnings for the client about an object just written
    /// (`WarningsOnCreate`/`WarningsOnUpdate`).
    fn warnings(&self, _obj: &Value) -> Vec<String> {
        Vec::new()
    }
}

/// A kind with object-meta validation only.
pub struct Generic {
    pub namespaced: bool,
    pub name_fn: NameFn,
    pub generation: bool,
}

impl Strategy for Generic {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_object_meta(obj, self.namespaced, self.name_fn)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_object_meta_update(new, old)
    }
    fn generation_tracked(&self) -> bool {
        self.generation
    }
    fn namespaced(&self) -> bool {
        self.namespaced
    }
}

macro_rules! generic {
    ($name:ident, $ns:expr, $f:expr, $gen:expr) => {
        static $name: Generic = Generic {
            namespaced: $ns,
            name_fn: $f,
            generation: $gen,
        };
    };
}

generic!(NS_SUBDOMAIN, true, names::name_is_dns_subdomain, false);
generic!(
    CLUSTER_SUBDOMAIN,
    false,
    names::name_is_dns_subdomain,
    false
);
generic!(NS_SUBDOMAIN_GEN, true, names::name_is_dns_subdomain, true);
generic!(
    CLUSTER_SUBDOMAIN_GEN,
    false,
    names::name_is_dns_subdomain,
    true
);
generic!(NS_PATH, true, names::path_segment_name, false);
generic!(CLUSTER_PATH, false, names::path_segment_name, false);
generic!(NS_PATH_GEN, true, names::path_segment_name, true);
generic!(CLUSTER_PATH_GEN, false, names::path_segment_name, true);

/// Groups whose kinds are built in; anything else is a custom resource.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "node.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "apiregistration.k8s.io",
    "resource.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "storagemigration.k8s.io",
    "internal.apiserver.k8s.io",
];

/// The strategy for a kind. `namespaced` is the kind's scope (used for kinds
/// without their own strategy).
pub fn for_kind(group: &str, kind: &str, namespaced: bool) -> &'static dyn Strategy {
    if let Some(s) = builtin(group, kind) {
        return s;
    }
    let path_names =
        group == "rbac.authorization.k8s.io" || (group.is_empty() && kind == "PersistentVolume");
    // Kinds whose spec changes bump metadata.generation upstream; every
    // custom resource does too.
    let generation = !BUILTIN_GROUPS.contains(&group)
        || matches!(
            (group, kind),
            ("autoscaling", "HorizontalPodAutoscaler")
                | ("policy", "PodDisruptionBudget")
                | (
                    "networking.k8s.io",
                    "Ingress" | "IngressClass" | "NetworkPolicy"
                )
                | (
                    "admissionregistration.k8s.io",
                    "ValidatingWebhookConfiguration"
                        | "MutatingWebhookConfiguration"
                        | "ValidatingAdmissionPolicy"
                        | "ValidatingAdmissionPolicyBinding"
                        | "MutatingAdmissionPolicy"
                        | "MutatingAdmissionPolicyBinding"
                )
                | ("flowcontrol.apiserver.k8s.io", _)
                | ("resource.k8s.io", _)
        );
    match (namespaced, path_names, generation) {
        (true, false, false) => &NS_SUBDOMAIN,
        (false, false, false) => &CLUSTER_SUBDOMAIN,
        (true, false, true) => &NS_SUBDOMAIN_GEN,
        (false, false, true) => &CLUSTER_SUBDOMAIN_GEN,
        (true, true, false) => &NS_PATH,
        (false, true, false) => &CLUSTER_PATH,
        (true, true, true) => &NS_PATH_GEN,
        (false, true, true) => &CLUSTER_PATH_GEN,
    }
}

fn builtin(group: &str, kind: &str) -> Option<&'static dyn Strategy> {
    Some(match (group, kind) {
        ("", "Pod") => &pod::POD,
        ("", "PodTemplate") => &pod::POD_TEMPLATE,
        ("", "ReplicationController") => &deployment::REPLICATION_CONTROLLER,
        ("", "Service") => &service::SERVICE,
        ("", "Namespace") => &namespace::NAMESPACE,
        ("", "ConfigMap") => &storage::CONFIG_MAP,
        ("", "Secret") => &storage::SECRET,
        ("", "PersistentVolumeClaim") => &storage::PVC,
        ("", "PersistentVolume") => &storage::PV,
        ("", "Endpoints") => &other::ENDPOINTS,
        ("", "Node") => &other::NODE,
        ("apps", "Deployment") => &deployment::DEPLOYMENT,
        ("apps", "ReplicaSet") => &deployment::REPLICA_SET,
        ("apps", "StatefulSet") => &statefulset::STATEFUL_SET,
        ("apps", "DaemonSet") => &statefulset::DAEMON_SET,
        ("batch", "Job") => &job::JOB,
        ("batch", "CronJob") => &job::CRON_JOB,
        ("autoscaling", "HorizontalPodAutoscaler") => &other::HPA,
        ("networking.k8s.io", "NetworkPolicy") => &other::NETWORK_POLICY,
        ("networking.k8s.io", "Ingress") => &other::INGRESS,
        ("rbac.authorization.k8s.io", "Role") => &other::ROLE,
        ("rbac.authorization.k8s.io", "ClusterRole") => &other::CLUSTER_ROLE,
        ("rbac.authorization.k8s.io", "RoleBinding") => &other::ROLE_BINDING,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &other::CLUSTER_ROLE_BINDING,
        ("storage.k8s.io", "StorageClass") => &storage::STORAGE_CLASS,
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            &other::VALIDATING_WEBHOOKS
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            &other::MUTATING_WEBHOOKS
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &crate::crd::definition::CRD,
        ("apiregistration.k8s.io", "APIService") => &apiservice::API_SERVICE,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
