//! The resources served right now: the built-in table plus the versions of
//! every established CustomResourceDefinition. A `Catalog` is an immutable
//! snapshot; the CRD controller publishes a new one when CRDs change, and
//! documents derived from a snapshot (discovery, OpenAPI) are rendered once
//! per snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, OnceLock};

use actix_web::{web, HttpRequest};

use crate::resources::{self, GroupInfo, ResourceInfo};

/// A snapshot of the served resources.
#[derive(Default)]
pub struct Catalog {
    /// Custom resource rows, by group then version priority then plural.
    custom: Vec<&'static ResourceInfo>,
    /// Groups only custom resources serve, by name.
    custom_groups: Vec<&'static GroupInfo>,
    /// Discovery documents of this snapshot, rendered on first use.
    pub(crate) discovery: OnceLock<crate::discovery::Documents>,
    /// OpenAPI documents of this snapshot, rendered on first use.
    pub(crate) openapi: OnceLock<crate::openapi::Documents>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("custom", &self.custom.len())
            .finish()
    }
}

/// The built-in catalog, shared (its documents are rendered once).
pub fn builtin() -> &'static Arc<Catalog> {
    static BUILTIN: LazyLock<Arc<Catalog>> = LazyLock::new(|| Arc::new(Catalog::builtin()));
    &BUILTIN
}

/// The catalog the request's server serves (built-ins when the app has no
/// state, as in unit tests of single handlers).
pub fn of_request(req: &HttpRequest) -> Arc<Catalog> {
    match req.app_data::<web::Data<crate::state::AppState>>() {
        Some(state) => state.catalog(),
        None => builtin().clone(),
    }
}

impl Catalog {
    /// Built-in resources only.
    pub fn builtin() -> Catalog {
        Catalog::default()
    }

    /// Built-ins plus these custom resource rows. Rows that collide with a
    /// built-in resource or an earlier row are left out.
    pub fn with_custom(rows: impl IntoIterator<Item = &'static ResourceInfo>) -> Catalog {
        let mut custom: Vec<&'static ResourceInfo> = Vec::new();
        for r in rows {
            let taken = resources::lookup(r.group, r.version, r.plural).is_some()
                || custom
                    .iter()
                    .any(|c| (c.group, c.version, c.plural) == (r.group, r.version, r.plural));
            if !taken {
                custom.push(r);
            }
        }
        custom.sort_by(|a, b| {
            a.group
                .cmp(b.group)
                .then_with(|| compare_versions(a.version, b.version))
                .then_with(|| a.plural.cmp(b.plural))
        });
        let mut versions: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
        for r in &custom {
            if resources::group(r.group).is_some() {
                continue;
            }
            let vs = versions.entry(r.group).or_default();
            if !vs.contains(&r.version) {
                vs.push(r.version);
            }
        }
        let custom_groups = versions
            .into_iter()
            .map(|(name, mut vs)| {
                vs.sort_by(|a, b| compare_versions(a, b));
                &*Box::leak(Box::new(GroupInfo {
                    name,
                    versions: Box::leak(vs.into_boxed_slice()),
                }))
            })
            .collect();
        Catalog {
            custom,
            custom_groups,
            ..Default::default()
        }
    }

    /// Every group with its versions (preferred first): built-in groups in
    /// kube-apiserver's order, then the groups of custom resources by name.
    pub fn groups(&self) -> impl Iterator<Item = &'static GroupInfo> + '_ {
        resources::groups()
            .iter()
            .chain(self.custom_groups.iter().copied())
    }

    pub fn group(&self, name: &str) -> Option<&'static GroupInfo> {
        self.groups().find(|g| g.name == name)
    }

    /// Every served resource.
    pub fn all(&self) -> impl Iterator<Item = &'static ResourceInfo> + '_ {
        resources::BUILTIN.iter().chain(self.custom.iter().copied())
    }

    /// Custom resources only.
    pub fn custom(&self) -> &[&'static ResourceInfo] {
        &self.custom
    }

    /// The resources of one group-version, in discovery order.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
        self.all()
            .filter(move |r| r.group == group && r.version == version)
    }

    /// The resource served at `group/version/plural`.
    pub fn lookup(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&'static ResourceInfo> {
        resources::lookup(group, version, plural).or_else(|| {
            self.custom
                .iter()
                .copied()
                .find(|r| r.group == group && r.version == version && r.plural == plural)
        })
    }

    /// The resource of `kind` in `group/version`.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
        resources::by_kind(group, version, kind).or_else(|| {
            self.custom
                .iter()
                .copied()
                .find(|r| r.group == group && r.version == version && r.kind == kind)
        })
    }
}

/// Kubernetes' version order (`version.CompareKubeAwareVersionStrings`):
/// GA before beta before alpha, higher numbers first; versions that do not
/// look like `v1`, `v2beta3` come last, alphabetically.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u64, u8, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let major: u64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (stage, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some((major, stage, n.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_kubernetes_does() {
        let mut vs = vec![
            "v11alpha2",
            "foo10",
            "v10",
            "v2",
            "v1",
            "v12alpha1",
            "v10beta3",
            "v3beta1",
            "foo1",
            "v1beta2",
            "v11beta2",
            "v1alpha1",
        ];
        vs.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            vs,
            [
                "v10",
                "v2",
                "v1",
                "v11beta2",
                "v10beta3",
                "v3beta1",
                "v1beta2",
                "v12alpha1",
                "v11alpha2",
                "v1alpha1",
                "foo1",
                "foo10"
            ]
        );
    }

    #[test]
    fn builtin_catalog_serves_builtins_only() {
        let c = Catalog::builtin();
        assert!(c.lookup("apps", "v1", "deployments").is_some());
        assert!(c.lookup("example.com", "v1", "widgets").is_none());
        assert_eq!(c.groups().count(), resources::groups().len());
    }
}
