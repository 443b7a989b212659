//! The patch, list and map extensions of the built-in types
//! (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`), as kube-apiserver v1.33 publishes them on its
//! OpenAPI definitions. `k8s_openapi`'s schemas leave them out, so a table
//! (`extensions.tsv`) puts them back on the generated definitions; strategic
//! merge patch and server-side apply of built-in kinds then read them from
//! those same definitions ([`kind_shape`], [`object_meta_shape`]).

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::registry::shape::Shape;

const TABLE: &str = include_str!("extensions.tsv");

/// The definition of ObjectMeta: the metadata of every kind, custom
/// resources included, merges and is owned as this type says.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// One row of the table: a definition, one of its properties (`None`: the
/// definition itself) and the extensions to set there.
#[derive(Debug)]
pub struct Row {
    pub definition: &'static str,
    pub property: Option<&'static str>,
    pub extensions: Map<String, Value>,
}

/// The table, parsed once; lines that do not parse are left out (a unit
/// test checks there are none).
pub static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| parse(TABLE));

fn parse(text: &'static str) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(parse_row)
        .collect()
}

fn parse_row(line: &'static str) -> Option<Row> {
    let mut cols = line.split('\t');
    let (definition, property, exts) = (cols.next()?, cols.next()?, cols.next()?);
    if cols.next().is_some() {
        return None;
    }
    let mut extensions = Map::new();
    for token in exts.split(' ') {
        let (k, v) = token.split_once('=')?;
        let value = match k {
            "list-map-keys" => Value::Array(v.split(',').map(Value::from).collect()),
            "patch-strategy" | "patch-merge-key" | "list-type" | "map-type" => Value::from(v),
            _ => return None,
        };
        extensions.insert(format!("x-kubernetes-{k}"), value);
    }
    if extensions.is_empty() {
        return None;
    }
    Some(Row {
        definition,
        property: (property != ".").then_some(property),
        extensions,
    })
}

/// Sets the table's extensions on the raw definitions; returns the rows
/// whose definition or property is missing (none, for the served types).
pub fn annotate(defs: &mut Map<String, Value>) -> Vec<&'static Row> {
    let mut missed = Vec::new();
    for row in ROWS.iter() {
        let target = defs
            .get_mut(row.definition)
            .and_then(|d| match row.property {
                None => Some(d),
                Some(p) => d.get_mut("properties").and_then(|ps| ps.get_mut(p)),
            })
            .and_then(Value::as_object_mut);
        match target {
            Some(t) => t.extend(row.extensions.clone()),
            None => missed.push(row),
        }
    }
    missed
}

/// The shape of a served built-in kind (its definition, references
/// resolved through every definition), or none for unknown kinds.
pub fn kind_shape(group: &str, version: &str, kind: &str) -> Shape<'static> {
    let defs = &*super::DEFINITIONS;
    match defs.name_of(group, version, kind) {
        Some(name) => Shape::typed(defs.defs.get(name), &defs.defs),
        None => Shape::NONE,
    }
}

/// The shape of `metadata` (ObjectMeta) of any kind.
pub fn object_meta_shape() -> Shape<'static> {
    let defs = &*super::DEFINITIONS;
    Shape::typed(defs.defs.get(OBJECT_META), &defs.defs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::registry::shape::{ListType, PatchStrategy};
    use serde_json::json;

    #[test]
    fn every_row_parses_and_lands_on_a_served_definition() {
        let lines = TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(ROWS.len(), lines, "every line of extensions.tsv parses");
        let mut defs = super::super::schemas::Definitions::generate().defs;
        let missed: Vec<String> = annotate(&mut defs)
            .iter()
            .map(|r| format!("{} {:?}", r.definition, r.property))
            .collect();
        assert!(missed.is_empty(), "rows without a definition: {missed:?}");
    }

    #[test]
    fn definitions_carry_upstream_extensions() {
        let defs = &super::super::DEFINITIONS.defs;
        let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(
            defs["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"]
                ["x-kubernetes-patch-strategy"],
            "merge,retainKeys"
        );
        assert_eq!(
            defs["io.k8s.api.core.v1.Container"]["properties"]["ports"]
                ["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        assert_eq!(
            defs["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
            "atomic"
        );
        assert!(
            defs["io.k8s.api.networking.v1.NetworkPolicyIngressRule"]["properties"]["ports"]
                .get("x-kubernetes-patch-strategy")
                .is_none()
        );
    }

    #[test]
    fn kind_shapes_follow_references() {
        let pod = kind_shape("", "v1", "Pod");
        let spec = pod.field("spec");
        let containers = spec.field("containers");
        assert_eq!(containers.list_type(), ListType::Map(vec!["name".into()]));
        assert_eq!(
            containers.patch_strategy(),
            PatchStrategy {
                merge_key: Some("name"),
                merge: true,
                retain_keys: false
            }
        );
        let ports = containers.items().field("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(ports.patch_strategy().merge_key, Some("containerPort"));
        assert!(spec.field("volumes").patch_strategy().retain_keys);
        assert!(spec.field("nodeSelector").is_atomic_map());
        assert!(containers
            .items()
            .field("resources")
            .field("limits")
            .is_map());
        assert!(!spec.is_map());

        let node = kind_shape("", "v1", "Node");
        let taints = node.field("spec").field("taints");
        assert_eq!(taints.list_type(), ListType::Atomic);
        assert!(!taints.patch_strategy().merge);
        assert_eq!(
            node.field("spec").field("podCIDRs").list_type(),
            ListType::Set
        );
        assert_eq!(
            node.field("status")
                .field("addresses")
                .patch_strategy()
                .merge_key,
            Some("type")
        );

        let np = kind_shape("networking.k8s.io", "v1", "NetworkPolicy");
        let ports = np.field("spec").field("ingress").items().field("ports");
        assert_eq!(ports.list_type(), ListType::Atomic);
        assert!(!ports.patch_strategy().merge);

        let svc = kind_shape("", "v1", "Service");
        let ports = svc.field("spec").field("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(ports.patch_strategy().merge_key, Some("port"));
        assert!(svc.field("spec").field("selector").is_atomic_map());

        let meta = object_meta_shape();
        assert_eq!(meta.field("finalizers").list_type(), ListType::Set);
        assert_eq!(
            meta.field("ownerReferences").list_type(),
            ListType::Map(vec!["uid".into()])
        );
        assert!(meta.field("labels").is_map());
        assert!(kind_shape("", "v1", "NoSuchKind").list_type() == ListType::Atomic);
    }
}
