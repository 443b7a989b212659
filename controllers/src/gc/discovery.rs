//! Which resources the server serves, for the controllers that act on all
//! of them (garbage collector, namespace deletion): every resource of every
//! group once, at the group's preferred version when it serves it there,
//! subresources left out.

use std::collections::HashMap;

use kube::discovery::{verbs, ApiCapabilities, ApiResource, Discovery, Scope};
use kube::Client;

/// One served resource at its group's preferred version.
#[derive(Debug, Clone)]
pub struct Served {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Served {
    fn new(resource: ApiResource, caps: &ApiCapabilities) -> Served {
        Served {
            resource,
            namespaced: matches!(caps.scope, Scope::Namespaced),
            verbs: caps.operations.clone(),
        }
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Resources the garbage collector tracks: it must list, watch and
    /// delete them, and they are not Events (upstream ignores those: they
    /// churn and are never owners).
    pub fn collectable(&self) -> bool {
        let events = self.resource.plural == "events"
            && matches!(self.resource.group.as_str(), "" | "events.k8s.io");
        !events
            && self.supports(verbs::LIST)
            && self.supports(verbs::WATCH)
            && self.supports(verbs::DELETE)
    }

    /// `plural.group` as upstream prints group resources (`pods.` for core).
    pub fn group_resource(&self) -> String {
        format!("{}.{}", self.resource.plural, self.resource.group)
    }
}

/// Everything the server serves, by discovery (aggregated when the server
/// offers it, else one request per group version).
pub async fn served(client: &Client) -> Result<Vec<Served>, kube::Error> {
    let discovery = match Discovery::new(client.clone()).run_aggregated().await {
        Ok(d) => d,
        Err(_) => Discovery::new(client.clone()).run().await?,
    };
    let mut out = Vec::new();
    for group in discovery.groups() {
        // The preferred version first, then what only other versions serve
        // (as client-go's ServerPreferredResources).
        let preferred = group.preferred_version_or_latest().to_string();
        let mut seen = std::collections::HashSet::new();
        let versions = std::iter::once(preferred.clone()).chain(
            group
                .versions()
                .filter(|v| *v != preferred)
                .map(str::to_string),
        );
        for version in versions {
            for (resource, caps) in group.versioned_resources(&version) {
                if resource.plural.contains('/') || !seen.insert(resource.plural.clone()) {
                    continue;
                }
                out.push(Served::new(resource, &caps));
            }
        }
    }
    Ok(out)
}

/// Finds the served resource of an ownerReference's `apiVersion` + `kind`,
/// at any version of its group (the object is the same at every version).
#[derive(Debug, Default, Clone)]
pub struct KindIndex {
    by_group_kind: HashMap<(String, String), Served>,
}

impl KindIndex {
    pub fn new(served: &[Served]) -> KindIndex {
        let by_group_kind = served
            .iter()
            .map(|s| {
                (
                    (s.resource.group.clone(), s.resource.kind.clone()),
                    s.clone(),
                )
            })
            .collect();
        KindIndex { by_group_kind }
    }

    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<&Served> {
        let group = match api_version.split('/').collect::<Vec<_>>()[..] {
            [_version] => "",
            [group, _version] => group,
            _ => return None,
        };
        self.by_group_kind
            .get(&(group.to_string(), kind.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::gvk::GroupVersionKind;

    fn served(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Served {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Served {
            resource: ApiResource::from_gvk_with_plural(&gvk, plural),
            namespaced,
            verbs: vec!["list".into(), "watch".into(), "delete".into()],
        }
    }

    #[test]
    fn owner_kinds_resolve_at_any_version_of_their_group() {
        let index = KindIndex::new(&[
            served("", "v1", "ConfigMap", "configmaps", true),
            served("apps", "v1", "Deployment", "deployments", true),
        ]);
        assert_eq!(
            index
                .resolve("v1", "ConfigMap")
                .map(|s| s.resource.plural.as_str()),
            Some("configmaps")
        );
        assert!(index.resolve("apps/v1beta2", "Deployment").is_some());
        assert!(index.resolve("extensions/v1beta1", "Deployment").is_none());
        assert!(index.resolve("v1", "Secret").is_none());
        assert!(index.resolve("a/b/c", "Secret").is_none());
    }

    #[test]
    fn events_are_not_collected() {
        assert!(served("", "v1", "ConfigMap", "configmaps", true).collectable());
        assert!(!served("", "v1", "Event", "events", true).collectable());
        assert!(!served("events.k8s.io", "v1", "Event", "events", true).collectable());
        let mut no_watch = served("", "v1", "ConfigMap", "configmaps", true);
        no_watch.verbs.retain(|v| v != "watch");
        assert!(!no_watch.collectable());
    }

    #[test]
    fn group_resources_print_as_upstream() {
        assert_eq!(
            served("", "v1", "Pod", "pods", true).group_resource(),
            "pods."
        );
        assert_eq!(
            served("apps", "v1", "Deployment", "deployments", true).group_resource(),
            "deployments.apps"
        );
    }
}
