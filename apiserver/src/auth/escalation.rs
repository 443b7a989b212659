//! RBAC escalation prevention (upstream `pkg/registry/rbac/*/policybased`
//! and `rbac/validation`): a user may only write a Role or ClusterRole
//! whose rules they already hold (or with the `escalate` verb on it), and
//! only bind a role whose rules they hold (or with the `bind` verb on it).
//! Members of `system:masters` skip the check, as does AlwaysAllow mode.

use std::sync::Arc;

use actix_web::{web, HttpRequest};
use serde_json::Value;

use super::attributes::Attributes;
use super::rbac::{Policy, Rule, GROUP};
use super::{Authz, Mode, User};
use crate::error::{ApiError, Details};
use crate::resources::ResourceInfo;

/// What a write to an RBAC kind is checked with.
pub struct Guard {
    authz: web::Data<Authz>,
    user: Arc<User>,
    info: &'static ResourceInfo,
    /// The request's namespace (namespaced kinds).
    namespace: String,
}

impl Guard {
    /// A guard for writes of `info` by the request's user; None when no
    /// check applies.
    pub fn for_request(
        req: &HttpRequest,
        info: &'static ResourceInfo,
        namespace: Option<&str>,
    ) -> Option<Guard> {
        if info.group != GROUP {
            return None;
        }
        let authz = req.app_data::<web::Data<Authz>>()?.clone();
        if authz.mode != Mode::Rbac {
            return None;
        }
        let user = super::request_user(req);
        if user.is_master() {
            return None;
        }
        Some(Guard {
            authz,
            user,
            info,
            namespace: namespace.unwrap_or_default().to_string(),
        })
    }

    fn forbidden(&self, name: &str, why: &str) -> ApiError {
        let qualified = crate::error::qualified(GROUP, self.info.plural);
        ApiError::new(
            403,
            "Forbidden",
            format!("{qualified} \"{name}\" is forbidden: {why}"),
        )
        .with_details(Details {
            name: (!name.is_empty()).then(|| name.to_string()),
            group: Some(GROUP.to_string()),
            kind: Some(self.info.plural.to_string()),
            ..Default::default()
        })
    }

    /// Whether the user may `verb` the role `name` of `resource` (roles or
    /// clusterroles) in `namespace`.
    fn may(&self, verb: &str, resource: &str, namespace: &str, name: &str) -> bool {
        let attrs =
            Attributes::resource(&self.user, verb, GROUP, "*", resource, "", namespace, name);
        self.authz.rbac.authorize(&attrs).allowed
    }

    /// Checks the object about to be written (`old` for updates).
    pub fn check(&self, new: &Value, old: Option<&Value>) -> Result<(), ApiError> {
        if old.is_some_and(|old| only_gc_fields_change(new, old)) {
            return Ok(());
        }
        let name = str_at(new, "/metadata/name");
        let namespace = self.namespace.as_str();
        let policy = self.authz.rbac.policy();
        match self.info.plural {
            "roles" | "clusterroles" => {
                if self.may("escalate", self.info.plural, namespace, name) {
                    return Ok(());
                }
                if self.info.plural == "clusterroles" {
                    let aggregated =
                        |o: &Value| o.get("aggregationRule").is_some_and(|a| !a.is_null());
                    if aggregated(new) || old.is_some_and(aggregated) {
                        let all = [
                            Rule {
                                verbs: vec!["*".into()],
                                api_groups: vec!["*".into()],
                                resources: vec!["*".into()],
                                ..Default::default()
                            },
                            Rule {
                                verbs: vec!["*".into()],
                                non_resource_urls: vec!["*".into()],
                                ..Default::default()
                            },
                        ];
                        if confirm_no_escalation(&policy, &self.user, namespace, &all).is_err() {
                            let article = if old.is_some() { "an" } else { "the" };
                            return Err(self.forbidden(
                                name,
                                &format!(
                                    "must have cluster-admin privileges to use {article} aggregationRule"
                                ),
                            ));
                        }
                    }
                }
                let rules: Vec<Rule> = new
                    .get("rules")
                    .and_then(|r| serde_json::from_value(r.clone()).ok())
                    .unwrap_or_default();
                confirm_no_escalation(&policy, &self.user, namespace, &rules)
                    .map_err(|why| self.forbidden(name, &why))
            }
            "rolebindings" | "clusterrolebindings" => {
                let kind = str_at(new, "/roleRef/kind");
                let role = str_at(new, "/roleRef/name");
                let resource = if kind == "Role" {
                    "roles"
                } else {
                    "clusterroles"
                };
                if self.may("bind", resource, namespace, role) {
                    return Ok(());
                }
                let rules = policy
                    .role_ref_rules(kind, role, namespace)
                    .map_err(|why| self.forbidden(name, &why))?;
                confirm_no_escalation(&policy, &self.user, namespace, &rules)
                    .map_err(|why| self.forbidden(name, &why))
            }
            _ => Ok(()),
        }
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Only finalizers or owner references change (upstream lets the garbage
/// collector do that without the escalation check).
fn only_gc_fields_change(new: &Value, old: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in [
                "finalizers",
                "ownerReferences",
                "resourceVersion",
                "managedFields",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                m.remove(f);
            }
        }
        if let Some(m) = v.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
        v
    };
    strip(new) == strip(old)
}

/// Upstream's `ConfirmNoEscalation`: the user's rules in `namespace` must
/// cover every rule granted; the error names what is missing.
pub fn confirm_no_escalation(
    policy: &Policy,
    user: &User,
    namespace: &str,
    rules: &[Rule],
) -> Result<(), String> {
    let (owner, errors) = policy.rules_for(user, namespace);
    let missing = uncovered(&owner, rules);
    if missing.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = compact(missing).iter().map(compact_string).collect();
    lines.sort();
    lines.dedup();
    let groups: Vec<String> = user.groups.iter().map(|g| format!("{g:?}")).collect();
    let mut msg = format!(
        "user {:?} (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        groups.join(" "),
        lines.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    Err(msg)
}

/// Each rule broken into single verb/group/resource(/name) or verb/URL
/// rules (upstream's `BreakdownRule`).
fn breakdown(rule: &Rule) -> Vec<Rule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let one = |names: Vec<String>| Rule {
                    verbs: vec![verb.clone()],
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    resource_names: names,
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(one(vec![]));
                } else {
                    for n in &rule.resource_names {
                        out.push(one(vec![n.clone()]));
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(Rule {
                verbs: vec![verb.clone()],
                non_resource_urls: vec![url.clone()],
                ..Default::default()
            });
        }
    }
    out
}

fn has(set: &[String], v: &str) -> bool {
    set.iter().any(|s| s == v)
}

fn has_all(set: &[String], want: &[String]) -> bool {
    want.iter().all(|w| has(set, w))
}

fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

fn urls_cover(owner: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|sub| {
        owner.iter().any(|o| {
            o == sub
                || o.strip_suffix('*')
                    .is_some_and(|prefix| sub.starts_with(prefix))
        })
    })
}

/// Upstream's `ruleCovers`.
fn covers(owner: &Rule, sub: &Rule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs
        && groups
        && resources_cover(&owner.resources, &sub.resources)
        && names
        && urls_cover(&owner.non_resource_urls, &sub.non_resource_urls)
}

/// The broken-down rules no owner rule covers (upstream's `Covers`).
pub fn uncovered(owner: &[Rule], servant: &[Rule]) -> Vec<Rule> {
    servant
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| covers(o, sub)))
        .collect()
}

/// Merges single-group, single-resource rules that differ only by verb
/// (upstream's `CompactRules`).
fn compact(rules: Vec<Rule>) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for r in rules {
        let simple = r.api_groups.len() == 1
            && r.resources.len() == 1
            && r.resource_names.is_empty()
            && r.non_resource_urls.is_empty();
        if simple {
            if let Some(existing) = out.iter_mut().find(|e| {
                e.api_groups == r.api_groups
                    && e.resources == r.resources
                    && e.resource_names.is_empty()
                    && e.non_resource_urls.is_empty()
            }) {
                for v in r.verbs {
                    if !existing.verbs.contains(&v) {
                        existing.verbs.push(v);
                    }
                }
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// Go's `%q` of a `[]string`.
fn go_strings(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// Upstream's `CompactString` of a rule.
fn compact_string(r: &Rule) -> String {
    let mut parts = Vec::new();
    if !r.api_groups.is_empty() {
        parts.push(format!("APIGroups:{}", go_strings(&r.api_groups)));
    }
    if !r.resources.is_empty() {
        parts.push(format!("Resources:{}", go_strings(&r.resources)));
    }
    if !r.non_resource_urls.is_empty() {
        parts.push(format!(
            "NonResourceURLs:{}",
            go_strings(&r.non_resource_urls)
        ));
    }
    if !r.resource_names.is_empty() {
        parts.push(format!("ResourceNames:{}", go_strings(&r.resource_names)));
    }
    if !r.verbs.is_empty() {
        parts.push(format!("Verbs:{}", go_strings(&r.verbs)));
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Rule {
        serde_json::from_value(v).expect("rule")
    }

    #[test]
    fn coverage_follows_upstream() {
        let owner = vec![
            rule(
                json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/status"]}),
            ),
            rule(
                json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]}),
            ),
            rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]})),
        ];
        let ok = |r: Value| uncovered(&owner, &[rule(r)]).is_empty();
        assert!(ok(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})
        ));
        assert!(ok(
            json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods/status"]})
        ));
        assert!(!ok(
            json!({"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]})
        ));
        assert!(ok(
            json!({"verbs": ["delete"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]})
        ));
        assert!(!ok(
            json!({"verbs": ["delete"], "apiGroups": ["apps"], "resources": ["deployments"]})
        ));
        assert!(ok(
            json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/etcd"]})
        ));
        assert!(!ok(
            json!({"verbs": ["get"], "nonResourceURLs": ["/metrics"]})
        ));
        let missing = uncovered(
            &owner,
            &[rule(
                json!({"verbs": ["get", "delete", "create"], "apiGroups": [""], "resources": ["pods", "secrets"]}),
            )],
        );
        let lines: Vec<String> = compact(missing).iter().map(compact_string).collect();
        assert_eq!(
            lines,
            [
                "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"create\"]}",
                "{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"delete\" \"create\"]}",
            ]
        );
    }
}
