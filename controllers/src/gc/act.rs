//! The collector's writes, each preceded by a live read: the graph may be
//! stale, so an object is acted on only if it still exists with the same
//! uid, and an owner counts as gone only if a GET by name says so.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::core::PartialObjectMeta;
use kube::Client;
use serde_json::{json, Value};

use super::discovery::{KindIndex, Served};
use super::graph::{self, Decision, Graph, Node, OwnerState, FOREGROUND};
use super::Error;
use crate::events::{EventType, Recorder};

/// Remembered absent owners: a uid never comes back, so one failed GET is
/// enough (per namespace, since a namespaced owner must share its
/// dependent's namespace).
#[derive(Debug, Default)]
pub struct Absent(HashSet<(Option<String>, String)>);

impl Absent {
    const MAX: usize = 50_000;

    fn contains(&self, ns: &Option<String>, uid: &str) -> bool {
        self.0.contains(&(ns.clone(), uid.to_string()))
    }

    fn insert(&mut self, ns: &Option<String>, uid: &str) {
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        self.0.insert((ns.clone(), uid.to_string()));
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do while the object stays as it is.
    Settled,
    /// Something was written (or the object changed meanwhile): look again.
    Acted,
}

pub struct Actor<'a> {
    pub client: &'a Client,
    pub recorder: &'a Recorder,
    pub kinds: &'a KindIndex,
    pub absent: &'a mut Absent,
}

fn api(client: &Client, served: &Served, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace.filter(|_| served.namespaced) {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &served.resource),
        None => Api::all_with(client.clone(), &served.resource),
    }
}

fn is_status(e: &kube::Error, codes: &[u16]) -> bool {
    matches!(e, kube::Error::Api(s) if codes.contains(&s.code))
}

fn describe(node: &Node) -> String {
    match &node.namespace {
        Some(ns) => format!("{} {ns}/{}", node.served.resource.kind, node.name),
        None => format!("{} {}", node.served.resource.kind, node.name),
    }
}

impl Actor<'_> {
    fn api(&self, node: &Node) -> Api<DynamicObject> {
        api(self.client, &node.served, node.namespace.as_deref())
    }

    /// The object as it is now, if it is still the one the graph saw.
    async fn latest(&self, node: &Node) -> Result<Option<PartialObjectMeta<DynamicObject>>, Error> {
        let got = self
            .api(node)
            .get_metadata_opt(&node.name)
            .await
            .map_err(|source| Error::Read {
                what: describe(node),
                source,
            })?;
        Ok(got.filter(|o| o.metadata.uid.as_deref() == Some(node.uid.as_str())))
    }

    /// A merge patch of `metadata` guarded by uid and resourceVersion (a
    /// conflict is retried on the next pass).
    async fn patch_meta(
        &self,
        node: &Node,
        latest: &PartialObjectMeta<DynamicObject>,
        mut fields: serde_json::Map<String, Value>,
    ) -> Result<(), Error> {
        fields.insert("uid".into(), json!(node.uid));
        fields.insert(
            "resourceVersion".into(),
            json!(latest.metadata.resource_version),
        );
        let patch = json!({ "metadata": fields });
        match self
            .api(node)
            .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, &[404]) => Ok(()),
            Err(source) => Err(Error::Write {
                what: describe(node),
                source,
            }),
        }
    }

    async fn set_owner_refs(
        &self,
        node: &Node,
        latest: &PartialObjectMeta<DynamicObject>,
        refs: Vec<OwnerReference>,
    ) -> Result<(), Error> {
        let value = if refs.is_empty() {
            Value::Null
        } else {
            serde_json::to_value(&refs).map_err(Error::Encode)?
        };
        let mut fields = serde_json::Map::new();
        fields.insert("ownerReferences".into(), value);
        self.patch_meta(node, latest, fields).await
    }

    /// Removes the references to `uids` from `node`.
    pub async fn remove_refs(&self, node: &Node, uids: &[String]) -> Result<(), Error> {
        let Some(latest) = self.latest(node).await? else {
            return Ok(());
        };
        let refs = latest.metadata.owner_references.clone().unwrap_or_default();
        let kept: Vec<OwnerReference> = refs
            .iter()
            .filter(|r| !uids.contains(&r.uid))
            .cloned()
            .collect();
        if kept.len() == refs.len() {
            return Ok(());
        }
        tracing::debug!(object = %describe(node), ?uids, "removing owner references");
        self.set_owner_refs(node, &latest, kept).await
    }

    /// Removes `finalizer` from an object being deleted (which lets the
    /// server remove it when no other finalizer is left).
    pub async fn remove_finalizer(&self, node: &Node, finalizer: &str) -> Result<(), Error> {
        let Some(latest) = self.latest(node).await? else {
            return Ok(());
        };
        let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == finalizer) {
            return Ok(());
        }
        let kept: Vec<String> = finalizers.into_iter().filter(|f| f != finalizer).collect();
        let mut fields = serde_json::Map::new();
        fields.insert(
            "finalizers".into(),
            if kept.is_empty() {
                Value::Null
            } else {
                json!(kept)
            },
        );
        tracing::debug!(object = %describe(node), finalizer, "removing finalizer");
        self.patch_meta(node, &latest, fields).await
    }

    /// Orphan: drop `owner` from every dependent, then its finalizer.
    pub async fn orphan(&self, owner: &Node, dependents: &[&Node]) -> Result<(), Error> {
        let uids = [owner.uid.clone()];
        for d in dependents {
            self.remove_refs(d, &uids).await?;
        }
        self.remove_finalizer(owner, graph::ORPHAN).await
    }

    /// How `owner` stands for `item`, by a live read.
    /// Whether the reference can be resolved at all: not when its kind is
    /// not served, nor when a cluster-scoped object names a namespaced
    /// owner (upstream leaves such references alone).
    fn resolvable(&self, item: &Node, owner: &OwnerReference) -> bool {
        self.kinds
            .resolve(&owner.api_version, &owner.kind)
            .is_some_and(|s| !s.namespaced || item.namespace.is_some())
    }

    async fn owner_state(
        &mut self,
        graph: &Graph,
        item: &Node,
        owner: &OwnerReference,
    ) -> Result<OwnerState, Error> {
        let Some(served) = self.kinds.resolve(&owner.api_version, &owner.kind) else {
            // Unknown kind (not served, or not yet discovered): keep.
            return Ok(OwnerState::Solid);
        };
        let namespace = if served.namespaced {
            match &item.namespace {
                Some(ns) => Some(ns.clone()),
                // A cluster-scoped object cannot be owned by a namespaced
                // one: upstream leaves such a reference unresolved.
                None => {
                    self.invalid_namespace(item, owner).await;
                    return Ok(OwnerState::Solid);
                }
            }
        } else {
            None
        };
        if self.absent.contains(&namespace, &owner.uid) {
            return Ok(OwnerState::Dangling);
        }
        let got = api(self.client, served, namespace.as_deref())
            .get_metadata_opt(&owner.name)
            .await
            .map_err(|source| Error::Read {
                what: format!("owner {} {}", owner.kind, owner.name),
                source,
            })?;
        match got {
            Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
                let waiting = o.metadata.deletion_timestamp.is_some()
                    && o.metadata
                        .finalizers
                        .as_ref()
                        .is_some_and(|f| f.iter().any(|f| f == FOREGROUND));
                Ok(if waiting {
                    OwnerState::Waiting
                } else {
                    OwnerState::Solid
                })
            }
            _ => {
                // Absent here; if it lives in another namespace, the
                // reference is invalid (and treated as absent).
                if graph
                    .get(&owner.uid)
                    .is_some_and(|o| o.namespace.is_some() && o.namespace != namespace)
                {
                    self.invalid_namespace(item, owner).await;
                }
                self.absent.insert(&namespace, &owner.uid);
                Ok(OwnerState::Dangling)
            }
        }
    }

    /// Upstream's warning about a reference to a namespaced owner that
    /// cannot be in the dependent's namespace.
    async fn invalid_namespace(&self, item: &Node, owner: &OwnerReference) {
        let reference = ObjectReference {
            api_version: Some(item.served.resource.api_version.clone()),
            kind: Some(item.served.resource.kind.clone()),
            name: Some(item.name.clone()),
            namespace: item.namespace.clone(),
            uid: Some(item.uid.clone()),
            ..Default::default()
        };
        let ns = item.namespace.as_deref().unwrap_or("");
        let message = format!(
            "ownerRef [{}/{}, namespace: {ns}, name: {}, uid: {}] does not exist in namespace {ns:?}",
            owner.api_version, owner.kind, owner.name, owner.uid
        );
        self.recorder
            .publish_ref(
                &reference,
                EventType::Warning,
                "OwnerRefInvalidNamespace",
                &message,
            )
            .await;
    }

    /// Upstream's `attemptToDeleteItem`: check every owner of `item` live
    /// and delete it, detach it, or leave it.
    pub async fn attempt(&mut self, graph: &Graph, item: &Node) -> Result<Outcome, Error> {
        let Some(latest) = self.latest(item).await? else {
            return Ok(Outcome::Acted);
        };
        if latest.metadata.deletion_timestamp.is_some() {
            return Ok(Outcome::Acted);
        }
        let refs = latest.metadata.owner_references.clone().unwrap_or_default();
        let mut owners = Vec::with_capacity(refs.len());
        for r in refs {
            let state = self.owner_state(graph, item, &r).await?;
            owners.push((r, state));
        }
        let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        let has_dependents = graph.dependents_of(&item.uid).next().is_some();
        let a_dependent_waits = graph
            .dependents_of(&item.uid)
            .any(Node::deleting_dependents);
        // Nothing to do, and nothing will change that but a change of the
        // object itself, of discovery, or of the owners the graph tracks.
        let settled = latest.metadata.resource_version.as_deref()
            == Some(item.resource_version.as_str())
            && owners
                .iter()
                .all(|(r, _)| graph.vouches_for(item, r) || !self.resolvable(item, r));
        match graph::decide(&owners, &finalizers, has_dependents, a_dependent_waits) {
            Decision::Nothing if settled => Ok(Outcome::Settled),
            Decision::Nothing => Ok(Outcome::Acted),
            Decision::RemoveRefs(uids) => {
                self.remove_refs(item, &uids).await.map(|_| Outcome::Acted)
            }
            Decision::DeleteForeground { unblock_first } => {
                if unblock_first {
                    let refs: Vec<OwnerReference> = owners
                        .into_iter()
                        .map(|(mut r, _)| {
                            if r.block_owner_deletion == Some(true) {
                                r.block_owner_deletion = Some(false);
                            }
                            r
                        })
                        .collect();
                    self.set_owner_refs(item, &latest, refs).await?;
                }
                self.delete(item, "Foreground")
                    .await
                    .map(|_| Outcome::Acted)
            }
            Decision::Delete(policy) => self.delete(item, policy).await.map(|_| Outcome::Acted),
        }
    }

    async fn delete(&self, node: &Node, policy: &str) -> Result<(), Error> {
        tracing::debug!(object = %describe(node), policy, "deleting dependent");
        let params = DeleteParams {
            propagation_policy: Some(match policy {
                "Orphan" => PropagationPolicy::Orphan,
                "Foreground" => PropagationPolicy::Foreground,
                _ => PropagationPolicy::Background,
            }),
            preconditions: Some(Preconditions {
                uid: Some(node.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match self.api(node).delete(&node.name, &params).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, &[404, 409]) => Ok(()),
            Err(source) => Err(Error::Write {
                what: describe(node),
                source,
            }),
        }
    }
}
