//! The table of built-in resources: group, version, kind, names, scope, verbs
//! and subresources. Discovery, OpenAPI, routing and the registry all read it.
//!
//! Group, version, kind, plural and scope come from `k8s_openapi::Resource`;
//! short names, categories and subresources are what kube-apiserver v1.33
//! reports for the same resource.

/// A subresource of a built-in resource (`pods/status`, `deployments/scale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// `status`, `scale`, `binding`, ...
    pub name: &'static str,
    /// The kind the subresource speaks (`Scale` for scale, the parent's kind for status).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// One served resource (one group/version/plural).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    /// Plural, the URL path segment: `deployments`.
    pub plural: &'static str,
    /// `deployment`.
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// What a CustomResourceDefinition declares for this version (schema,
    /// printer columns, scale paths); `None` for built-in resources.
    pub custom: Option<&'static crate::crd::Served>,
}

impl ResourceInfo {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn has_status(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// Whether a CustomResourceDefinition declares this resource.
    pub fn is_custom(&self) -> bool {
        self.custom.is_some()
    }
}

use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration_v1, apps::v1 as apps_v1,
    authentication::v1 as authentication_v1, authorization::v1 as authorization_v1,
    autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2, batch::v1 as batch_v1,
    coordination::v1 as coordination_v1, core::v1 as core_v1, discovery::v1 as discovery_v1,
    events::v1 as events_v1, networking::v1 as networking_v1, policy::v1 as policy_v1,
    rbac::v1 as rbac_v1, scheduling::v1 as scheduling_v1, storage::v1 as storage_v1,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions_v1;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration_v1;

/// Whether a `k8s_openapi` scope marker means namespaced, usable in consts.
trait ScopeFlag {
    const NAMESPACED: bool;
}

impl ScopeFlag for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl ScopeFlag for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// Every verb a plain collection resource serves.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces: upstream serves no deletecollection for them.
const NO_DELETECOLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const ALL: &[&str] = &["all"];
const API_EXTENSIONS: &[&str] = &["api-extensions"];

/// `{plural}/status`, speaking the parent's own kind.
const fn status<T: k8s_openapi::Resource>() -> Subresource {
    Subresource {
        name: "status",
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        verbs: STATUS_VERBS,
    }
}

/// `{plural}/scale`, speaking `autoscaling/v1` `Scale`.
const SCALE: Subresource = Subresource {
    name: "scale",
    group: <autoscaling_v1::Scale as k8s_openapi::Resource>::GROUP,
    version: <autoscaling_v1::Scale as k8s_openapi::Resource>::VERSION,
    kind: <autoscaling_v1::Scale as k8s_openapi::Resource>::KIND,
    verbs: STATUS_VERBS,
};

/// `namespaces/finalize`, speaking `Namespace`; update only.
const FINALIZE: Subresource = Subresource {
    name: "finalize",
    group: <core_v1::Namespace as k8s_openapi::Resource>::GROUP,
    version: <core_v1::Namespace as k8s_openapi::Resource>::VERSION,
    kind: <core_v1::Namespace as k8s_openapi::Resource>::KIND,
    verbs: &["update"],
};

/// `pods/log`: plain text, get only (discovery names kind Pod).
const LOG: Subresource = Subresource {
    name: "log",
    group: <core_v1::Pod as k8s_openapi::Resource>::GROUP,
    version: <core_v1::Pod as k8s_openapi::Resource>::VERSION,
    kind: <core_v1::Pod as k8s_openapi::Resource>::KIND,
    verbs: &["get"],
};

/// `pods/binding`, speaking core `v1` `Binding`.
const BINDING: Subresource = Subresource {
    name: "binding",
    group: <core_v1::Binding as k8s_openapi::Resource>::GROUP,
    version: <core_v1::Binding as k8s_openapi::Resource>::VERSION,
    kind: <core_v1::Binding as k8s_openapi::Resource>::KIND,
    verbs: &["create"],
};

/// `pods/eviction`, speaking policy `v1` `Eviction`.
const EVICTION: Subresource = Subresource {
    name: "eviction",
    group: <policy_v1::Eviction as k8s_openapi::Resource>::GROUP,
    version: <policy_v1::Eviction as k8s_openapi::Resource>::VERSION,
    kind: <policy_v1::Eviction as k8s_openapi::Resource>::KIND,
    verbs: &["create"],
};

/// `serviceaccounts/token`, speaking authentication.k8s.io `v1` `TokenRequest`.
const TOKEN: Subresource = Subresource {
    name: "token",
    group: <authentication_v1::TokenRequest as k8s_openapi::Resource>::GROUP,
    version: <authentication_v1::TokenRequest as k8s_openapi::Resource>::VERSION,
    kind: <authentication_v1::TokenRequest as k8s_openapi::Resource>::KIND,
    verbs: &["create"],
};

/// One table row from a `k8s_openapi` type plus what kube-apiserver adds.
macro_rules! resource {
    ($ty:ty, $singular:literal, short: $short:expr, cats: $cats:expr, verbs: $verbs:expr, subs: $subs:expr $(,)?) => {
        ResourceInfo {
            group: <$ty as k8s_openapi::Resource>::GROUP,
            version: <$ty as k8s_openapi::Resource>::VERSION,
            kind: <$ty as k8s_openapi::Resource>::KIND,
            list_kind: <$ty as k8s_openapi::ListableResource>::LIST_KIND,
            plural: <$ty as k8s_openapi::Resource>::URL_PATH_SEGMENT,
            singular: $singular,
            namespaced: <<$ty as k8s_openapi::Resource>::Scope as ScopeFlag>::NAMESPACED,
            short_names: $short,
            categories: $cats,
            verbs: $verbs,
            subresources: $subs,
            custom: None,
        }
    };
}

/// A create-only virtual resource (the access reviews): nothing is stored,
/// there is no list kind; the only verb is `create`.
macro_rules! create_only {
    ($ty:ty, $singular:literal $(,)?) => {
        ResourceInfo {
            group: <$ty as k8s_openapi::Resource>::GROUP,
            version: <$ty as k8s_openapi::Resource>::VERSION,
            kind: <$ty as k8s_openapi::Resource>::KIND,
            list_kind: "",
            plural: <$ty as k8s_openapi::Resource>::URL_PATH_SEGMENT,
            singular: $singular,
            namespaced: <<$ty as k8s_openapi::Resource>::Scope as ScopeFlag>::NAMESPACED,
            short_names: &[],
            categories: &[],
            verbs: &["create"],
            subresources: &[],
            custom: None,
        }
    };
}

/// Every built-in resource, grouped by group-version in discovery order.
pub static BUILTIN: &[ResourceInfo] = &[
    // core/v1, in the order kube-apiserver lists /api/v1 (alphabetical by plural).
    resource!(core_v1::ConfigMap, "configmap", short: &["cm"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::Endpoints, "endpoints", short: &["ep"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::Event, "event", short: &["ev"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::LimitRange, "limitrange", short: &["limits"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::Namespace, "namespace", short: &["ns"], cats: &[], verbs: NO_DELETECOLLECTION,
        subs: &[FINALIZE, status::<core_v1::Namespace>()]),
    resource!(core_v1::Node, "node", short: &["no"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<core_v1::Node>()]),
    resource!(core_v1::PersistentVolumeClaim, "persistentvolumeclaim", short: &["pvc"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<core_v1::PersistentVolumeClaim>()]),
    resource!(core_v1::PersistentVolume, "persistentvolume", short: &["pv"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<core_v1::PersistentVolume>()]),
    resource!(core_v1::Pod, "pod", short: &["po"], cats: ALL, verbs: ALL_VERBS,
        subs: &[BINDING, EVICTION, LOG, status::<core_v1::Pod>()]),
    resource!(core_v1::PodTemplate, "podtemplate", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::ReplicationController, "replicationcontroller", short: &["rc"], cats: ALL, verbs: ALL_VERBS,
        subs: &[SCALE, status::<core_v1::ReplicationController>()]),
    resource!(core_v1::ResourceQuota, "resourcequota", short: &["quota"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<core_v1::ResourceQuota>()]),
    resource!(core_v1::Secret, "secret", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(core_v1::ServiceAccount, "serviceaccount", short: &["sa"], cats: &[], verbs: ALL_VERBS, subs: &[TOKEN]),
    resource!(core_v1::Service, "service", short: &["svc"], cats: ALL, verbs: ALL_VERBS,
        subs: &[status::<core_v1::Service>()]),
    // apiregistration.k8s.io/v1
    resource!(apiregistration_v1::APIService, "apiservice", short: &[], cats: API_EXTENSIONS, verbs: ALL_VERBS,
        subs: &[status::<apiregistration_v1::APIService>()]),
    // apps/v1
    resource!(apps_v1::ControllerRevision, "controllerrevision", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(apps_v1::DaemonSet, "daemonset", short: &["ds"], cats: ALL, verbs: ALL_VERBS,
        subs: &[status::<apps_v1::DaemonSet>()]),
    resource!(apps_v1::Deployment, "deployment", short: &["deploy"], cats: ALL, verbs: ALL_VERBS,
        subs: &[SCALE, status::<apps_v1::Deployment>()]),
    resource!(apps_v1::ReplicaSet, "replicaset", short: &["rs"], cats: ALL, verbs: ALL_VERBS,
        subs: &[SCALE, status::<apps_v1::ReplicaSet>()]),
    resource!(apps_v1::StatefulSet, "statefulset", short: &["sts"], cats: ALL, verbs: ALL_VERBS,
        subs: &[SCALE, status::<apps_v1::StatefulSet>()]),
    // events.k8s.io/v1
    resource!(events_v1::Event, "event", short: &["ev"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // authentication.k8s.io/v1
    create_only!(authentication_v1::SelfSubjectReview, "selfsubjectreview"),
    create_only!(authentication_v1::TokenReview, "tokenreview"),
    // authorization.k8s.io/v1
    create_only!(
        authorization_v1::LocalSubjectAccessReview,
        "localsubjectaccessreview"
    ),
    create_only!(
        authorization_v1::SelfSubjectAccessReview,
        "selfsubjectaccessreview"
    ),
    create_only!(
        authorization_v1::SelfSubjectRulesReview,
        "selfsubjectrulesreview"
    ),
    create_only!(authorization_v1::SubjectAccessReview, "subjectaccessreview"),
    // autoscaling/v2 (preferred) and autoscaling/v1
    resource!(autoscaling_v2::HorizontalPodAutoscaler, "horizontalpodautoscaler", short: &["hpa"], cats: ALL,
        verbs: ALL_VERBS, subs: &[status::<autoscaling_v2::HorizontalPodAutoscaler>()]),
    resource!(autoscaling_v1::HorizontalPodAutoscaler, "horizontalpodautoscaler", short: &["hpa"], cats: ALL,
        verbs: ALL_VERBS, subs: &[status::<autoscaling_v1::HorizontalPodAutoscaler>()]),
    // batch/v1
    resource!(batch_v1::CronJob, "cronjob", short: &["cj"], cats: ALL, verbs: ALL_VERBS,
        subs: &[status::<batch_v1::CronJob>()]),
    resource!(batch_v1::Job, "job", short: &[], cats: ALL, verbs: ALL_VERBS,
        subs: &[status::<batch_v1::Job>()]),
    // networking.k8s.io/v1
    resource!(networking_v1::IngressClass, "ingressclass", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(networking_v1::Ingress, "ingress", short: &["ing"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<networking_v1::Ingress>()]),
    resource!(networking_v1::NetworkPolicy, "networkpolicy", short: &["netpol"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // policy/v1
    resource!(policy_v1::PodDisruptionBudget, "poddisruptionbudget", short: &["pdb"], cats: &[], verbs: ALL_VERBS,
        subs: &[status::<policy_v1::PodDisruptionBudget>()]),
    // rbac.authorization.k8s.io/v1
    resource!(rbac_v1::ClusterRoleBinding, "clusterrolebinding", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(rbac_v1::ClusterRole, "clusterrole", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(rbac_v1::RoleBinding, "rolebinding", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    resource!(rbac_v1::Role, "role", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // storage.k8s.io/v1
    resource!(storage_v1::StorageClass, "storageclass", short: &["sc"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // admissionregistration.k8s.io/v1
    resource!(admissionregistration_v1::MutatingWebhookConfiguration, "mutatingwebhookconfiguration",
        short: &[], cats: API_EXTENSIONS, verbs: ALL_VERBS, subs: &[]),
    resource!(admissionregistration_v1::ValidatingAdmissionPolicy, "validatingadmissionpolicy",
        short: &[], cats: API_EXTENSIONS, verbs: ALL_VERBS,
        subs: &[status::<admissionregistration_v1::ValidatingAdmissionPolicy>()]),
    resource!(admissionregistration_v1::ValidatingAdmissionPolicyBinding, "validatingadmissionpolicybinding",
        short: &[], cats: API_EXTENSIONS, verbs: ALL_VERBS, subs: &[]),
    resource!(admissionregistration_v1::ValidatingWebhookConfiguration, "validatingwebhookconfiguration",
        short: &[], cats: API_EXTENSIONS, verbs: ALL_VERBS, subs: &[]),
    // apiextensions.k8s.io/v1
    resource!(apiextensions_v1::CustomResourceDefinition, "customresourcedefinition",
        short: &["crd", "crds"], cats: API_EXTENSIONS, verbs: ALL_VERBS,
        subs: &[status::<apiextensions_v1::CustomResourceDefinition>()]),
    // scheduling.k8s.io/v1
    resource!(scheduling_v1::PriorityClass, "priorityclass", short: &["pc"], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // coordination.k8s.io/v1
    resource!(coordination_v1::Lease, "lease", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
    // discovery.k8s.io/v1
    resource!(discovery_v1::EndpointSlice, "endpointslice", short: &[], cats: &[], verbs: ALL_VERBS, subs: &[]),
];

/// One API group as `/apis` lists it: its versions, preferred first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupInfo {
    /// "" for the core group (served under `/api`, not `/apis`).
    pub name: &'static str,
    /// Served versions, the preferred one first.
    pub versions: &'static [&'static str],
}

impl GroupInfo {
    pub fn preferred_version(&self) -> &'static str {
        self.versions.first().copied().unwrap_or("v1")
    }
}

/// Groups in the order kube-apiserver lists them in `/apis` (its aggregator's
/// group priorities, highest first), with the core group first.
static GROUPS: &[GroupInfo] = &[
    GroupInfo {
        name: "",
        versions: &["v1"],
    },
    GroupInfo {
        name: "apiregistration.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "apps",
        versions: &["v1"],
    },
    GroupInfo {
        name: "events.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "authentication.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "authorization.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "autoscaling",
        versions: &["v2", "v1"],
    },
    GroupInfo {
        name: "batch",
        versions: &["v1"],
    },
    GroupInfo {
        name: "networking.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "policy",
        versions: &["v1"],
    },
    GroupInfo {
        name: "rbac.authorization.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "storage.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "admissionregistration.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "apiextensions.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "scheduling.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "coordination.k8s.io",
        versions: &["v1"],
    },
    GroupInfo {
        name: "discovery.k8s.io",
        versions: &["v1"],
    },
];

/// Every group with its versions (preferred first), in `/apis` order; the
/// core group ("") comes first, callers serving `/apis` skip it.
pub fn groups() -> &'static [GroupInfo] {
    GROUPS
}

/// The group named `name` ("" for core).
pub fn group(name: &str) -> Option<&'static GroupInfo> {
    GROUPS.iter().find(|g| g.name == name)
}

/// The resources of one group-version, in discovery order.
pub fn in_group_version<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    BUILTIN
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// The resource served at `group/version/plural`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    BUILTIN
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of `kind` in `group/version`.
pub fn by_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    BUILTIN
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn plurals_and_kinds_are_unique_per_group_version() {
        let mut plurals = HashSet::new();
        let mut kinds = HashSet::new();
        for r in BUILTIN {
            assert!(plurals.insert((r.group, r.version, r.plural)), "{r:?}");
            assert!(kinds.insert((r.group, r.version, r.kind)), "{r:?}");
        }
    }

    #[test]
    fn singular_is_lowercase_kind_and_list_kind_follows() {
        for r in BUILTIN {
            assert_eq!(r.singular, r.kind.to_lowercase(), "{r:?}");
            if r.verbs == ["create"] {
                assert_eq!(r.list_kind, "", "create-only: {r:?}");
                continue;
            }
            assert_eq!(r.list_kind, format!("{}List", r.kind), "{r:?}");
        }
    }

    #[test]
    fn every_resource_belongs_to_a_listed_group_version() {
        for r in BUILTIN {
            let g = group(r.group).unwrap_or_else(|| panic!("no group for {r:?}"));
            assert!(g.versions.contains(&r.version), "{r:?}");
        }
        for g in groups() {
            for v in g.versions {
                assert!(in_group_version(g.name, v).next().is_some(), "{g:?} {v}");
            }
        }
    }

    #[test]
    fn lookup_and_by_kind_find_the_same_row() {
        let d = lookup("apps", "v1", "deployments").expect("deployments");
        assert_eq!(d.kind, "Deployment");
        assert_eq!(by_kind("apps", "v1", "Deployment"), Some(d));
        assert_eq!(d.api_version(), "apps/v1");
        assert!(lookup("apps", "v1", "pods").is_none());
        assert!(lookup("", "v1", "deployments").is_none());
        assert_eq!(
            lookup("", "v1", "pods").map(|p| p.api_version()),
            Some("v1".into())
        );
        let hpa1 = lookup("autoscaling", "v1", "horizontalpodautoscalers").expect("hpa v1");
        let hpa2 = lookup("autoscaling", "v2", "horizontalpodautoscalers").expect("hpa v2");
        assert_ne!(hpa1, hpa2);
    }

    #[test]
    fn scopes_come_from_k8s_openapi() {
        for (g, p) in [
            ("", "nodes"),
            ("", "namespaces"),
            ("", "persistentvolumes"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("storage.k8s.io", "storageclasses"),
            ("apiextensions.k8s.io", "customresourcedefinitions"),
        ] {
            assert!(!lookup(g, "v1", p).expect(p).namespaced, "{p}");
        }
        for (g, p) in [
            ("", "pods"),
            ("apps", "deployments"),
            ("coordination.k8s.io", "leases"),
        ] {
            assert!(lookup(g, "v1", p).expect(p).namespaced, "{p}");
        }
    }

    #[test]
    fn subresources_match_upstream() {
        let ns = lookup("", "v1", "namespaces").expect("namespaces");
        assert!(!ns.verbs.contains(&"deletecollection"));
        assert!(ns.has_status());
        let deploy = lookup("apps", "v1", "deployments").expect("deployments");
        let scale = deploy.subresource("scale").expect("scale");
        assert_eq!(
            (scale.group, scale.version, scale.kind),
            ("autoscaling", "v1", "Scale")
        );
        assert_eq!(
            deploy.subresource("status").map(|s| s.kind),
            Some("Deployment")
        );
        let pods = lookup("", "v1", "pods").expect("pods");
        assert_eq!(pods.subresource("binding").map(|s| s.kind), Some("Binding"));
        assert!(!lookup("", "v1", "configmaps").expect("cm").has_status());
        let all: Vec<_> = BUILTIN
            .iter()
            .filter(|r| r.categories.contains(&"all"))
            .map(|r| r.plural)
            .collect();
        assert_eq!(all.len(), 11, "{all:?}");
    }
}
