//! Storage keys: `/registry/{group or "core"}/{plural}/{namespace}/{name}`,
//! cluster-scoped kinds without the namespace segment.

use crate::resources::ResourceInfo;

/// `/registry/{group}/{plural}/`: every object of the resource.
pub fn resource_prefix(info: &ResourceInfo) -> Vec<u8> {
    let dir = super::convert::storage_dir(info);
    format!("/registry/{dir}/{}/", info.plural).into_bytes()
}

/// The prefix of a list: one namespace, or the whole resource.
pub fn list_prefix(info: &ResourceInfo, namespace: Option<&str>) -> Vec<u8> {
    let mut p = resource_prefix(info);
    if let Some(ns) = namespace.filter(|ns| info.namespaced && !ns.is_empty()) {
        p.extend_from_slice(ns.as_bytes());
        p.push(b'/');
    }
    p
}

/// The key of one object.
pub fn object_key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> Vec<u8> {
    let mut k = list_prefix(info, namespace);
    k.extend_from_slice(name.as_bytes());
    k
}

/// The namespace a key under `resource_prefix` belongs to (namespaced kinds).
pub fn namespace_of_key<'a>(info: &ResourceInfo, key: &'a [u8]) -> Option<&'a str> {
    if !info.namespaced {
        return None;
    }
    let rest = key.get(resource_prefix(info).len()..)?;
    let slash = rest.iter().position(|b| *b == b'/')?;
    std::str::from_utf8(&rest[..slash]).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::lookup;

    #[test]
    fn keys_follow_etcd_layout() {
        let pods = lookup("", "v1", "pods").unwrap();
        assert_eq!(
            object_key(pods, Some("default"), "web"),
            b"/registry/core/pods/default/web"
        );
        assert_eq!(list_prefix(pods, None), b"/registry/core/pods/");
        let deps = lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(
            list_prefix(deps, Some("a")),
            b"/registry/apps/deployments/a/"
        );
        let ns = lookup("", "v1", "namespaces").unwrap();
        assert_eq!(
            object_key(ns, Some("ignored"), "x"),
            b"/registry/core/namespaces/x"
        );
        assert_eq!(
            namespace_of_key(pods, b"/registry/core/pods/kube-system/x"),
            Some("kube-system")
        );
    }
}
