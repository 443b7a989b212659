//! The ownership graph and the garbage collector's decisions, as pure
//! functions of what the watchers saw and of what live reads returned.
//!
//! Upstream's rules (pkg/controller/garbagecollector), in our words:
//! - an object whose owners are all gone is deleted (Background, unless it
//!   carries the `orphan` or `foregroundDeletion` finalizer itself);
//! - an object with some owners left loses only the references to the gone
//!   ones (and to owners waiting for their dependents' deletion);
//! - an owner deleted in the Foreground (`foregroundDeletion` finalizer) has
//!   its dependents deleted, Foreground again when they have dependents of
//!   their own, and keeps the finalizer until no dependent whose reference
//!   says `blockOwnerDeletion: true` is left;
//! - an owner deleted with Orphan (`orphan` finalizer) has its reference
//!   removed from every dependent, then the finalizer.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::discovery::Served;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// One object as the metadata watchers last saw it.
#[derive(Debug, Clone)]
pub struct Node {
    pub served: Arc<Served>,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    pub fn has_finalizer(&self, f: &str) -> bool {
        has(&self.finalizers, f)
    }

    /// Deleted in the Foreground: waits for its dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }

    pub fn orphaning(&self) -> bool {
        self.deleting && self.has_finalizer(ORPHAN)
    }
}

fn has(finalizers: &[String], f: &str) -> bool {
    finalizers.iter().any(|x| x == f)
}

/// Objects by uid and dependents by owner uid.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    by_uid: HashMap<String, usize>,
    dependents: HashMap<String, Vec<usize>>,
}

/// What a pass of the collector has to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// Remove the owner's references from these dependents, then its
    /// `orphan` finalizer.
    Orphan {
        owner: usize,
        dependents: Vec<usize>,
    },
    /// No blocking dependent is left: remove `foregroundDeletion`.
    FinishForeground { owner: usize },
    /// Some owner of this object is not a live, solid owner in the graph:
    /// check its owners live and decide.
    Attempt { item: usize },
}

impl Graph {
    /// Builds the graph; an object seen twice (served under two resources)
    /// counts once.
    pub fn new(all: Vec<Node>) -> Graph {
        let mut g = Graph::default();
        for node in all {
            if node.uid.is_empty() || g.by_uid.contains_key(&node.uid) {
                continue;
            }
            let i = g.nodes.len();
            g.by_uid.insert(node.uid.clone(), i);
            for r in &node.owners {
                let deps = g.dependents.entry(r.uid.clone()).or_default();
                if !deps.contains(&i) {
                    deps.push(i);
                }
            }
            g.nodes.push(node);
        }
        g
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The object with `uid`, if seen.
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.by_uid.get(uid).map(|&i| &self.nodes[i])
    }

    /// The objects that reference `uid` as an owner.
    pub fn dependents_of(&self, uid: &str) -> impl Iterator<Item = &Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .map(|&i| &self.nodes[i])
    }

    /// How the graph sees `owner` from `item`: `None` when it cannot tell
    /// (not seen, or in a namespace `item` cannot reference).
    fn owner_in_graph(&self, item: &Node, owner: &OwnerReference) -> Option<OwnerState> {
        let o = &self.nodes[*self.by_uid.get(&owner.uid)?];
        if o.namespace.is_some() && o.namespace != item.namespace {
            return None;
        }
        Some(if o.deleting_dependents() {
            OwnerState::Waiting
        } else {
            OwnerState::Solid
        })
    }

    /// Whether the graph holds `owner` as a solid owner of `item` (a change
    /// to that would show up in the graph).
    pub fn vouches_for(&self, item: &Node, owner: &OwnerReference) -> bool {
        self.owner_in_graph(item, owner) == Some(OwnerState::Solid)
    }

    /// Everything to look at in this pass.
    pub fn work(&self) -> Vec<Work> {
        let mut out = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.orphaning() {
                let dependents = self.dependents.get(&node.uid).cloned().unwrap_or_default();
                out.push(Work::Orphan {
                    owner: i,
                    dependents,
                });
            } else if node.deleting_dependents() {
                let blocked = self.dependents_of(&node.uid).any(|d| blocks(d, &node.uid));
                if !blocked {
                    out.push(Work::FinishForeground { owner: i });
                }
            } else if !node.deleting
                && node
                    .owners
                    .iter()
                    .any(|r| self.owner_in_graph(node, r) != Some(OwnerState::Solid))
            {
                out.push(Work::Attempt { item: i });
            }
        }
        out
    }
}

/// Whether `dependent` holds up the foreground deletion of `owner_uid`.
pub fn blocks(dependent: &Node, owner_uid: &str) -> bool {
    dependent
        .owners
        .iter()
        .any(|r| r.uid == owner_uid && r.block_owner_deletion == Some(true))
}

/// An owner, as a live read found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// Exists and is not waiting for its dependents (or cannot be resolved:
    /// then it is kept, as upstream does).
    Solid,
    /// No object with that uid where the dependent can reference it.
    Dangling,
    /// Exists, deleted in the Foreground: waits for its dependents.
    Waiting,
}

/// What to do with an object whose owners were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Remove the references to these owner uids.
    RemoveRefs(Vec<String>),
    /// Delete with propagation Foreground (it has dependents and an owner
    /// waits for it); first make its references non-blocking when a cycle
    /// is possible.
    DeleteForeground {
        unblock_first: bool,
    },
    /// Delete with this propagation policy.
    Delete(&'static str),
}

/// Upstream's `attemptToDeleteItem` decision.
pub fn decide(
    owners: &[(OwnerReference, OwnerState)],
    finalizers: &[String],
    has_dependents: bool,
    a_dependent_waits: bool,
) -> Decision {
    let uids = |state: OwnerState| {
        owners
            .iter()
            .filter(move |(_, s)| *s == state)
            .map(|(r, _)| r.uid.clone())
    };
    let solid = uids(OwnerState::Solid).count();
    let waiting: Vec<String> = uids(OwnerState::Waiting).collect();
    if solid > 0 {
        let gone: Vec<String> = uids(OwnerState::Dangling).chain(waiting).collect();
        return if gone.is_empty() {
            Decision::Nothing
        } else {
            Decision::RemoveRefs(gone)
        };
    }
    if owners.is_empty() {
        return Decision::Nothing;
    }
    if !waiting.is_empty() && has_dependents {
        return Decision::DeleteForeground {
            unblock_first: a_dependent_waits,
        };
    }
    Decision::Delete(if has(finalizers, ORPHAN) {
        "Orphan"
    } else if has(finalizers, FOREGROUND) {
        "Foreground"
    } else {
        "Background"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::gvk::GroupVersionKind;
    use kube::discovery::ApiResource;

    fn served(kind: &str, plural: &str, namespaced: bool) -> Arc<Served> {
        Arc::new(Served {
            resource: ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("", "v1", kind),
                plural,
            ),
            namespaced,
            verbs: vec![],
        })
    }

    fn oref(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: format!("cm-{uid}"),
            uid: uid.into(),
            block_owner_deletion: block.then_some(true),
            controller: None,
        }
    }

    fn cm(uid: &str, owners: &[OwnerReference]) -> Node {
        Node {
            served: served("ConfigMap", "configmaps", true),
            namespace: Some("ns".into()),
            name: format!("cm-{uid}"),
            uid: uid.into(),
            resource_version: "1".into(),
            owners: owners.to_vec(),
            deleting: false,
            finalizers: vec![],
        }
    }

    fn deleting(mut n: Node, finalizer: &str) -> Node {
        n.deleting = true;
        n.finalizers.push(finalizer.into());
        n
    }

    #[test]
    fn solid_owners_in_the_graph_need_no_work() {
        let g = Graph::new(vec![cm("a", &[]), cm("b", &[oref("a", true)])]);
        assert_eq!(g.work(), vec![]);
    }

    #[test]
    fn the_graph_vouches_only_for_solid_owners_it_holds() {
        let g = Graph::new(vec![
            cm("a", &[]),
            deleting(cm("w", &[]), FOREGROUND),
            cm("b", &[oref("a", true), oref("w", true), oref("x", true)]),
        ]);
        let b = g.node(2);
        assert!(g.vouches_for(b, &oref("a", true)));
        assert!(!g.vouches_for(b, &oref("w", true)));
        assert!(!g.vouches_for(b, &oref("x", true)));
    }

    #[test]
    fn owners_not_seen_or_in_another_namespace_are_checked_live() {
        let mut other = cm("a", &[]);
        other.namespace = Some("elsewhere".into());
        let g = Graph::new(vec![
            other,
            cm("b", &[oref("a", false)]),
            cm("c", &[oref("missing", false)]),
        ]);
        assert_eq!(
            g.work(),
            vec![Work::Attempt { item: 1 }, Work::Attempt { item: 2 }]
        );
    }

    #[test]
    fn cluster_scoped_owners_are_seen_from_any_namespace() {
        let mut owner = cm("a", &[]);
        owner.namespace = None;
        owner.served = served("Node", "nodes", false);
        let g = Graph::new(vec![owner, cm("b", &[oref("a", false)])]);
        assert_eq!(g.work(), vec![]);
    }

    #[test]
    fn foreground_owner_waits_for_blocking_dependents_only() {
        let g = Graph::new(vec![
            deleting(cm("a", &[]), FOREGROUND),
            cm("b", &[oref("a", true)]),
        ]);
        // b's owner waits: b is attempted; a keeps its finalizer.
        assert_eq!(g.work(), vec![Work::Attempt { item: 1 }]);

        let g = Graph::new(vec![
            deleting(cm("a", &[]), FOREGROUND),
            cm("b", &[oref("a", false)]),
        ]);
        assert_eq!(
            g.work(),
            vec![
                Work::FinishForeground { owner: 0 },
                Work::Attempt { item: 1 }
            ]
        );
    }

    #[test]
    fn a_dependent_being_deleted_still_blocks() {
        let g = Graph::new(vec![
            deleting(cm("a", &[]), FOREGROUND),
            deleting(cm("b", &[oref("a", true)]), FOREGROUND),
            cm("c", &[oref("b", true)]),
        ]);
        // a waits for b, b waits for c, c is attempted (its owner waits).
        assert_eq!(g.work(), vec![Work::Attempt { item: 2 }]);
    }

    #[test]
    fn orphaning_owner_lists_its_dependents() {
        let g = Graph::new(vec![
            deleting(cm("a", &[]), ORPHAN),
            cm("b", &[oref("a", true)]),
            cm("c", &[oref("a", false), oref("x", false)]),
            cm("d", &[]),
        ]);
        let work = g.work();
        assert_eq!(
            work[0],
            Work::Orphan {
                owner: 0,
                dependents: vec![1, 2]
            }
        );
    }

    #[test]
    fn duplicates_count_once() {
        let g = Graph::new(vec![
            cm("a", &[]),
            cm("a", &[]),
            cm("b", &[oref("a", true)]),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.dependents_of("a").count(), 1);
    }

    fn with(states: &[(&str, OwnerState)]) -> Vec<(OwnerReference, OwnerState)> {
        states.iter().map(|(u, s)| (oref(u, true), *s)).collect()
    }

    #[test]
    fn all_owners_gone_means_delete_in_background() {
        let owners = with(&[("a", OwnerState::Dangling), ("b", OwnerState::Dangling)]);
        assert_eq!(
            decide(&owners, &[], false, false),
            Decision::Delete("Background")
        );
        assert_eq!(
            decide(&owners, &[], true, false),
            Decision::Delete("Background")
        );
    }

    #[test]
    fn own_finalizers_choose_the_policy() {
        let owners = with(&[("a", OwnerState::Dangling)]);
        assert_eq!(
            decide(&owners, &[ORPHAN.into()], false, false),
            Decision::Delete("Orphan")
        );
        assert_eq!(
            decide(&owners, &[FOREGROUND.into()], false, false),
            Decision::Delete("Foreground")
        );
    }

    #[test]
    fn a_solid_owner_keeps_the_object_and_drops_the_rest() {
        let owners = with(&[
            ("a", OwnerState::Solid),
            ("b", OwnerState::Dangling),
            ("c", OwnerState::Waiting),
        ]);
        assert_eq!(
            decide(&owners, &[], true, false),
            Decision::RemoveRefs(vec!["b".into(), "c".into()])
        );
        let owners = with(&[("a", OwnerState::Solid)]);
        assert_eq!(decide(&owners, &[], true, false), Decision::Nothing);
        assert_eq!(decide(&[], &[], true, false), Decision::Nothing);
    }

    #[test]
    fn waiting_owners_recurse_in_the_foreground_only_through_parents() {
        let owners = with(&[("a", OwnerState::Waiting), ("b", OwnerState::Dangling)]);
        assert_eq!(
            decide(&owners, &[], true, false),
            Decision::DeleteForeground {
                unblock_first: false
            }
        );
        assert_eq!(
            decide(&owners, &[], true, true),
            Decision::DeleteForeground {
                unblock_first: true
            }
        );
        assert_eq!(
            decide(&owners, &[], false, false),
            Decision::Delete("Background")
        );
    }
}
