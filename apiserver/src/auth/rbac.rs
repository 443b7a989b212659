//! The RBAC authorizer (upstream `plugin/pkg/auth/authorizer/rbac`): a
//! request is allowed when a rule of a role bound to its user allows it.
//! ClusterRoleBindings apply everywhere, RoleBindings in their namespace;
//! rules match verbs, API groups, `resource` or `resource/subresource`,
//! resource names and non-resource URLs, with `*` wildcards.
//!
//! The four RBAC kinds are read from the server's watch caches into a
//! compiled [`Policy`], rebuilt only when one of the caches moved, so a
//! request costs a few revision reads and a scan of the bindings.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use openraft_store::Revision;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::Attributes;
use super::{Decision, User};
use crate::watchcache::WatchCache;

pub const GROUP: &str = "rbac.authorization.k8s.io";

/// One `PolicyRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

fn has_or_star(list: &[String], want: &str) -> bool {
    list.iter().any(|v| v == "*" || v == want)
}

impl Rule {
    pub fn verb_matches(&self, verb: &str) -> bool {
        has_or_star(&self.verbs, verb)
    }

    pub fn api_group_matches(&self, group: &str) -> bool {
        has_or_star(&self.api_groups, group)
    }

    /// `*`, the exact `resource[/subresource]`, or `*/subresource`.
    pub fn resource_matches(&self, combined: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            r == "*"
                || r == combined
                || (!subresource.is_empty()
                    && r.len() == subresource.len() + 2
                    && r.starts_with("*/")
                    && r.ends_with(subresource))
        })
    }

    /// No names in the rule: any; otherwise the request's name must be one.
    pub fn resource_name_matches(&self, name: &str) -> bool {
        self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name)
    }

    /// `*`, the exact path, or a `prefix*` the path starts with.
    pub fn non_resource_url_matches(&self, path: &str) -> bool {
        self.non_resource_urls.iter().any(|u| {
            u == "*"
                || u == path
                || u.strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        })
    }

    /// Upstream's `RuleAllows`.
    pub fn allows(&self, a: &Attributes<'_>) -> bool {
        if a.resource_request {
            self.verb_matches(&a.verb)
                && self.api_group_matches(a.group)
                && self.resource_matches(&a.combined_resource(), a.subresource)
                && self.resource_name_matches(&a.name)
        } else {
            self.verb_matches(&a.verb) && self.non_resource_url_matches(a.path)
        }
    }
}

/// A binding's subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl Subject {
    /// Whether the subject names `user`; `binding_ns` completes service
    /// accounts without a namespace (RoleBindings).
    fn applies_to(&self, user: &User, binding_ns: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.name == self.name,
            "Group" => user.in_group(&self.name),
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() {
                    binding_ns
                } else {
                    &self.namespace
                };
                !ns.is_empty() && user.service_account() == Some((ns, self.name.as_str()))
            }
            _ => false,
        }
    }

    /// `User "jane"`, `ServiceAccount "NAME/NS"`.
    fn describe(&self, binding_ns: &str) -> String {
        if self.kind == "ServiceAccount" {
            let ns = if self.namespace.is_empty() {
                binding_ns
            } else {
                &self.namespace
            };
            format!("{} {:?}", self.kind, format!("{}/{ns}", self.name))
        } else {
            format!("{} {:?}", self.kind, self.name)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
struct RoleRef {
    kind: String,
    name: String,
}

/// A RoleBinding (namespace set) or ClusterRoleBinding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub namespace: String,
    role_kind: String,
    role_name: String,
    pub subjects: Vec<Subject>,
}

impl Binding {
    fn from_json(obj: &Value) -> Binding {
        let meta = |f: &str| {
            obj.pointer(&format!("/metadata/{f}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let role: RoleRef = obj
            .get("roleRef")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        let subjects = obj
            .get("subjects")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default();
        Binding {
            name: meta("name"),
            namespace: meta("namespace"),
            role_kind: role.kind,
            role_name: role.name,
            subjects,
        }
    }

    fn subject_for(&self, user: &User) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|s| s.applies_to(user, &self.namespace))
    }
}

/// Where a rule came from, worded as upstream's describers.
#[derive(Debug, Clone, Copy)]
pub struct Source<'p> {
    binding: &'p Binding,
    subject: &'p Subject,
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.binding;
        if b.namespace.is_empty() {
            write!(
                f,
                "ClusterRoleBinding {:?} of {} {:?} to {}",
                b.name,
                b.role_kind,
                b.role_name,
                self.subject.describe("")
            )
        } else {
            write!(
                f,
                "RoleBinding {:?} of {} {:?} to {}",
                format!("{}/{}", b.name, b.namespace),
                b.role_kind,
                b.role_name,
                self.subject.describe(&b.namespace)
            )
        }
    }
}

/// The rules of a role by name.
pub type Rules = Arc<[Rule]>;

/// Every role and binding, compiled.
#[derive(Debug, Default)]
pub struct Policy {
    cluster_roles: HashMap<String, Rules>,
    roles: HashMap<(String, String), Rules>,
    cluster_role_bindings: Vec<Binding>,
    role_bindings: HashMap<String, Vec<Binding>>,
}

fn rules_of(obj: &Value) -> Rules {
    obj.get("rules")
        .and_then(|r| serde_json::from_value::<Vec<Rule>>(r.clone()).ok())
        .unwrap_or_default()
        .into()
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn namespace_of(obj: &Value) -> String {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// What a visit met: a rule (with where it came from) or an error.
pub enum Visit<'p> {
    Rule(Source<'p>, &'p Rule),
    Error(String),
}

impl Policy {
    /// Compiles objects: cluster roles, roles, cluster role bindings, role
    /// bindings (each in key order).
    pub fn build(
        cluster_roles: &[Arc<Value>],
        roles: &[Arc<Value>],
        cluster_role_bindings: &[Arc<Value>],
        role_bindings: &[Arc<Value>],
    ) -> Policy {
        let mut p = Policy::default();
        for r in cluster_roles {
            p.cluster_roles.insert(name_of(r), rules_of(r));
        }
        for r in roles {
            p.roles.insert((namespace_of(r), name_of(r)), rules_of(r));
        }
        p.cluster_role_bindings = cluster_role_bindings
            .iter()
            .map(|b| Binding::from_json(b))
            .collect();
        for b in role_bindings {
            let b = Binding::from_json(b);
            p.role_bindings
                .entry(b.namespace.clone())
                .or_default()
                .push(b);
        }
        p
    }

    /// The rules a binding's roleRef names, or upstream's error for it.
    fn role_rules(&self, b: &Binding) -> Result<&Rules, String> {
        self.lookup_role(&b.role_kind, &b.role_name, &b.namespace)
    }

    fn lookup_role(&self, kind: &str, name: &str, namespace: &str) -> Result<&Rules, String> {
        match kind {
            "ClusterRole" => self
                .cluster_roles
                .get(name)
                .ok_or_else(|| format!("clusterrole.{GROUP} {name:?} not found")),
            "Role" if !namespace.is_empty() => self
                .roles
                .get(&(namespace.to_string(), name.to_string()))
                .ok_or_else(|| format!("role.{GROUP} {name:?} not found")),
            other => Err(format!("unsupported role reference kind: {other:?}")),
        }
    }

    /// The rules of the role a roleRef names (upstream's
    /// `GetRoleReferenceRules`).
    pub fn role_ref_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Result<Vec<Rule>, String> {
        self.lookup_role(kind, name, namespace).map(|r| r.to_vec())
    }

    /// Visits every rule that applies to `user` in `namespace` (cluster
    /// role bindings first, then the namespace's role bindings) until
    /// `visit` returns false (upstream's `VisitRulesFor`).
    pub fn visit_rules_for<'p>(
        &'p self,
        user: &User,
        namespace: &str,
        visit: &mut dyn FnMut(Visit<'p>) -> bool,
    ) {
        let namespaced = if namespace.is_empty() {
            None
        } else {
            self.role_bindings.get(namespace)
        };
        for binding in self
            .cluster_role_bindings
            .iter()
            .chain(namespaced.into_iter().flatten())
        {
            let Some(subject) = binding.subject_for(user) else {
                continue;
            };
            match self.role_rules(binding) {
                Err(e) => {
                    if !visit(Visit::Error(e)) {
                        return;
                    }
                }
                Ok(rules) => {
                    let source = Source { binding, subject };
                    for rule in rules.iter() {
                        if !visit(Visit::Rule(source, rule)) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Upstream's RBAC `Authorize`: allowed with `RBAC: allowed by ...`, or
    /// no opinion with the evaluation errors as reason.
    pub fn authorize(&self, a: &Attributes<'_>) -> Decision {
        let mut allowed_by = None;
        let mut errors = Vec::new();
        self.visit_rules_for(a.user, a.namespace, &mut |v| match v {
            Visit::Rule(source, rule) if rule.allows(a) => {
                allowed_by = Some(source.to_string());
                false
            }
            Visit::Rule(..) => true,
            Visit::Error(e) => {
                errors.push(e);
                true
            }
        });
        match allowed_by {
            Some(source) => Decision {
                allowed: true,
                reason: format!("RBAC: allowed by {source}"),
                evaluation_error: String::new(),
            },
            None => Decision {
                allowed: false,
                reason: if errors.is_empty() {
                    String::new()
                } else {
                    format!("RBAC: {}", aggregate(&errors))
                },
                evaluation_error: String::new(),
            },
        }
    }

    /// Every rule that applies to `user` in `namespace`, and the errors met
    /// (upstream's `RulesFor`).
    pub fn rules_for(&self, user: &User, namespace: &str) -> (Vec<Rule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        self.visit_rules_for(user, namespace, &mut |v| {
            match v {
                Visit::Rule(_, r) => rules.push(r.clone()),
                Visit::Error(e) => errors.push(e),
            }
            true
        });
        (rules, errors)
    }
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several in
/// brackets.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The RBAC authorizer over the server's watch caches.
pub struct Authorizer {
    store: Arc<dyn openraft_store::Store>,
    /// cluster roles, roles, cluster role bindings, role bindings.
    caches: [Arc<WatchCache>; 4],
    compiled: RwLock<Compiled>,
}

/// A compiled policy and what it was compiled from.
#[derive(Default)]
struct Compiled {
    policy: Arc<Policy>,
    /// The caches' revisions when last checked.
    revisions: [Revision; 4],
    /// The objects compiled: when a cache moves (progress notifications
    /// advance it without changes) and still holds these, nothing is rebuilt.
    sources: [Vec<Arc<Value>>; 4],
}

/// The four RBAC resources, in [`Authorizer`]'s cache order.
const PLURALS: [&str; 4] = [
    "clusterroles",
    "roles",
    "clusterrolebindings",
    "rolebindings",
];

fn same_objects(a: &[Arc<Value>], b: &[Arc<Value>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
}

impl Authorizer {
    pub fn new(state: &crate::state::AppState) -> Authorizer {
        let caches = PLURALS.map(|plural| {
            let prefix = match crate::resources::lookup(GROUP, "v1", plural) {
                Some(info) => crate::registry::keys::resource_prefix(info),
                None => format!("/registry/{GROUP}/{plural}/").into_bytes(),
            };
            state.cache(&prefix)
        });
        Authorizer {
            store: state.store.clone(),
            caches,
            compiled: RwLock::new(Compiled::default()),
        }
    }

    fn revisions(&self) -> [Revision; 4] {
        [0, 1, 2, 3].map(|i| self.caches[i].revision())
    }

    /// The compiled policy, rebuilt when a cache's objects changed.
    pub fn policy(&self) -> Arc<Policy> {
        let revisions = self.revisions();
        {
            let current = self.compiled.read().unwrap_or_else(|p| p.into_inner());
            if current.revisions == revisions {
                return current.policy.clone();
            }
        }
        let sources = [0, 1, 2, 3].map(|i| self.caches[i].snapshot(b"").0);
        let mut slot = self.compiled.write().unwrap_or_else(|p| p.into_inner());
        let unchanged = slot
            .sources
            .iter()
            .zip(&sources)
            .all(|(a, b)| same_objects(a, b));
        if !unchanged {
            let [cr, r, crb, rb] = &sources;
            slot.policy = Arc::new(Policy::build(cr, r, crb, rb));
            slot.sources = sources;
        }
        slot.revisions = revisions;
        slot.policy.clone()
    }

    pub fn authorize(&self, a: &Attributes<'_>) -> Decision {
        self.policy().authorize(a)
    }

    /// Waits (briefly) until the caches reflect every write the store has
    /// committed; true when the policy may have changed.
    pub async fn catch_up(&self) -> bool {
        let before = self.revisions();
        let Ok(target) = self.store.current_revision().await else {
            return false;
        };
        if before.iter().all(|r| *r >= target) {
            return false;
        }
        for cache in &self.caches {
            cache.wait_for(Some(target), Duration::from_secs(2)).await;
        }
        self.revisions() != before
    }

    /// Waits until the caches have loaded (at start).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut ok = true;
        for cache in &self.caches {
            ok &= cache.wait_for(None, timeout).await;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn rule(v: Value) -> Rule {
        serde_json::from_value(v).expect("rule")
    }

    fn objs(v: Vec<Value>) -> Vec<Arc<Value>> {
        v.into_iter().map(Arc::new).collect()
    }

    #[test]
    fn rule_matching_follows_upstream() {
        let u = user("jane", &[]);
        let pods = Attributes::resource(&u, "get", "", "v1", "pods", "", "default", "web");
        let status = Attributes::resource(&u, "get", "", "v1", "pods", "status", "default", "web");
        let r = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(r.allows(&pods));
        assert!(!r.allows(&status), "pods does not cover pods/status");
        let r = rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/status"]}));
        assert!(r.allows(&status));
        assert!(!r.allows(&pods));
        let r = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/status"]}));
        assert!(r.allows(&status));
        let r = rule(json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}));
        assert!(!r.allows(&pods));
        let r = rule(json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(!r.allows(&pods));
        let r = rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["db"]}),
        );
        assert!(!r.allows(&pods));
        let r = rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["db", "web"]}),
        );
        assert!(r.allows(&pods));
        let list = Attributes::resource(&u, "list", "", "v1", "pods", "", "default", "");
        let r = rule(
            json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}),
        );
        assert!(
            !r.allows(&list),
            "resourceNames never match an unnamed request"
        );

        let healthz = Attributes::non_resource(&u, "get", "/healthz");
        let deep = Attributes::non_resource(&u, "get", "/healthz/etcd");
        let r = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}));
        assert!(r.allows(&healthz) && !r.allows(&deep));
        let r = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}));
        assert!(!r.allows(&healthz) && r.allows(&deep));
        let r = rule(json!({"verbs": ["get"], "nonResourceURLs": ["*"]}));
        assert!(r.allows(&healthz));
        let r = rule(json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(!r.allows(&healthz), "resource rules never allow paths");
        assert!(r.allows(&pods));
    }

    fn policy() -> Policy {
        Policy::build(
            &objs(vec![
                json!({"metadata": {"name": "view"}, "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}),
                json!({"metadata": {"name": "admin"}, "rules": [
                    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}),
            ]),
            &objs(vec![
                json!({"metadata": {"name": "cm", "namespace": "ns1"}, "rules": [
                {"verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"]}]}),
            ]),
            &objs(vec![
                json!({"metadata": {"name": "viewers"},
                    "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "Group", "name": "viewers"}]}),
                json!({"metadata": {"name": "broken"},
                    "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "gone"},
                    "subjects": [{"kind": "User", "name": "jane"}]}),
            ]),
            &objs(vec![
                json!({"metadata": {"name": "sa-cm", "namespace": "ns1"},
                    "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "cm"},
                    "subjects": [{"kind": "ServiceAccount", "name": "bot"}]}),
                json!({"metadata": {"name": "jane-admin", "namespace": "ns2"},
                    "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "admin"},
                    "subjects": [{"kind": "User", "name": "jane"}]}),
            ]),
        )
    }

    #[test]
    fn bindings_grant_and_describe_as_upstream() {
        let p = policy();
        let viewer = user("bob", &["viewers"]);
        let a = Attributes::resource(&viewer, "list", "", "v1", "pods", "", "ns9", "");
        let d = p.authorize(&a);
        assert!(d.allowed);
        assert_eq!(
            d.reason,
            "RBAC: allowed by ClusterRoleBinding \"viewers\" of ClusterRole \"view\" to Group \"viewers\""
        );
        let a = Attributes::resource(&viewer, "delete", "", "v1", "pods", "", "ns9", "x");
        assert!(!p.authorize(&a).allowed);

        let bot = user("system:serviceaccount:ns1:bot", &[]);
        let a = Attributes::resource(&bot, "create", "", "v1", "configmaps", "", "ns1", "");
        let d = p.authorize(&a);
        assert_eq!(
            d.reason,
            "RBAC: allowed by RoleBinding \"sa-cm/ns1\" of Role \"cm\" to ServiceAccount \"bot/ns1\""
        );
        let other_ns = user("system:serviceaccount:ns2:bot", &[]);
        let a = Attributes::resource(&other_ns, "create", "", "v1", "configmaps", "", "ns1", "");
        assert!(!p.authorize(&a).allowed);

        let jane = user("jane", &[]);
        let a = Attributes::resource(&jane, "delete", "apps", "v1", "deployments", "", "ns2", "d");
        assert!(p.authorize(&a).allowed);
        let a = Attributes::resource(&jane, "delete", "apps", "v1", "deployments", "", "ns1", "d");
        let d = p.authorize(&a);
        assert!(!d.allowed);
        assert_eq!(
            d.reason,
            "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"
        );
    }

    #[test]
    fn rules_for_lists_cluster_then_namespace_rules() {
        let p = policy();
        let jane = user("jane", &["viewers"]);
        let (rules, errors) = p.rules_for(&jane, "ns2");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].verbs, ["get", "list"]);
        assert_eq!(rules[1].verbs, ["*"]);
        assert_eq!(errors.len(), 1);
        let (rules, _) = p.rules_for(&jane, "");
        assert_eq!(rules.len(), 1);
    }
}
