//! A StatefulSet pod's identity: its ordinal and name, hostname and
//! subdomain, labels, and the PersistentVolumeClaims made from the set's
//! `volumeClaimTemplates` (upstream `stateful_set_utils.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::history::REVISION_HASH_LABEL;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// `<parent>-<ordinal>` split at the last dash; None when the name has no
/// numeric suffix (or one that does not fit an int32, as upstream).
pub fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, ord) = name.rsplit_once('-')?;
    if ord.is_empty() || !ord.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, ord.parse().ok()?))
}

/// The pod's ordinal, if its name has one.
pub fn ordinal(pod: &Pod) -> Option<i32> {
    parent_and_ordinal(&pod.name_any()).map(|(_, o)| o)
}

/// Whether the pod's name says it belongs to the set.
pub fn is_member(set: &StatefulSet, pod: &Pod) -> bool {
    parent_and_ordinal(&pod.name_any()).is_some_and(|(p, _)| p == set.name_any())
}

pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0)
}

/// `spec.ordinals.start` (0 when unset).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
}

/// The last ordinal the set wants (inclusive); below start when scaled to 0.
pub fn end_ordinal(set: &StatefulSet) -> i32 {
    start_ordinal(set) + replicas(set) - 1
}

pub fn in_range(set: &StatefulSet, ord: i32) -> bool {
    ord >= start_ordinal(set) && ord <= end_ordinal(set)
}

pub fn pod_name(set: &StatefulSet, ord: i32) -> String {
    format!("{}-{ord}", set.name_any())
}

/// `<claim template>-<set>-<ordinal>`.
pub fn claim_name(set: &StatefulSet, template: &str, ord: i32) -> String {
    format!("{template}-{}-{ord}", set.name_any())
}

fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    set.spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_deref())
        .unwrap_or(&[])
}

fn service_name(set: &StatefulSet) -> Option<String> {
    set.spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty())
}

/// The claims a pod of ordinal `ord` uses, keyed by template name: the
/// template with the per-pod name, the set's namespace, and the selector's
/// `matchLabels` added to its labels.
pub fn claims(set: &StatefulSet, ord: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let match_labels = set
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    claim_templates(set)
        .iter()
        .map(|t| {
            let template = t.name_any();
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(match_labels.clone());
            let claim = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(set, &template, ord)),
                    namespace: set.namespace(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    finalizers: t.metadata.finalizers.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: None,
            };
            (template, claim)
        })
        .collect()
}

/// Whether the pod's name, namespace and pod-name label fit the set.
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.name_any();
    let Some((parent, ord)) = parent_and_ordinal(&name) else {
        return false;
    };
    parent == set.name_any()
        && name == pod_name(set, ord)
        && pod.namespace() == set.namespace()
        && pod.labels().get(POD_NAME_LABEL) == Some(&pod.name_any())
}

/// Whether the pod mounts every claim the set's templates call for.
pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some(ord) = ordinal(pod) else {
        return false;
    };
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or(&[]);
    claim_templates(set).iter().all(|t| {
        let want = claim_name(set, &t.name_any(), ord);
        volumes.iter().any(|v| {
            v.name == t.name_any()
                && v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == want)
        })
    })
}

/// Put the set's identity on the pod: name, namespace, pod-name and
/// pod-index labels (`updateIdentity`).
pub fn update_identity(set: &StatefulSet, pod: &mut Pod, ord: i32) {
    pod.metadata.name = Some(pod_name(set, ord));
    pod.metadata.namespace = set.namespace();
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), pod_name(set, ord));
    labels.insert(POD_INDEX_LABEL.into(), ord.to_string());
}

/// Point the pod's volumes at the set's claims: one volume per claim
/// template (replacing a template volume of the same name), then the rest.
pub fn update_storage(set: &StatefulSet, pod: &mut Pod, ord: i32) {
    let claims = claims(set, ord);
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(template, claim)| Volume {
            name: template.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.name_any(),
                read_only: None,
            }),
            ..Default::default()
        })
        .collect();
    volumes.extend(
        current
            .into_iter()
            .filter(|v| !claims.iter().any(|(t, _)| *t == v.name)),
    );
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
}

/// A new pod for ordinal `ord` from `template` at revision `revision`
/// (`newStatefulSetPod` + `setPodRevision`).
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, ord: i32, revision: &str) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut pod = Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", set.name_any())),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![crate::util::controller_ref(set)]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    };
    update_identity(set, &mut pod, ord);
    if let Some(spec) = pod.spec.as_mut() {
        // Set only at creation: both are immutable afterwards.
        spec.hostname = Some(pod_name(set, ord));
        spec.subdomain = service_name(set);
    }
    update_storage(set, &mut pod, ord);
    pod.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(REVISION_HASH_LABEL.into(), revision.to_string());
    pod
}

/// The revision a pod was made from (its `controller-revision-hash` label).
pub fn pod_revision(pod: &Pod) -> &str {
    pod.labels()
        .get(REVISION_HASH_LABEL)
        .map(String::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub fn set() -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {
                "replicas": 3,
                "serviceName": "nginx",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{"name": "c", "image": "nginx"}],
                        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]
                    }
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data", "labels": {"tier": "db"}},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
                }]
            }
        }))
        .expect("set")
    }

    #[test]
    fn ordinals_come_from_the_last_dash() {
        assert_eq!(parent_and_ordinal("web-0"), Some(("web", 0)));
        assert_eq!(parent_and_ordinal("my-web-12"), Some(("my-web", 12)));
        assert_eq!(parent_and_ordinal("web"), None);
        assert_eq!(parent_and_ordinal("web-x1"), None);
        assert_eq!(parent_and_ordinal("web-"), None);
        assert_eq!(parent_and_ordinal("web-99999999999"), None);
    }

    #[test]
    fn ordinal_range_honours_start() {
        let mut s = set();
        assert_eq!((start_ordinal(&s), end_ordinal(&s)), (0, 2));
        s.spec.as_mut().expect("spec").ordinals =
            Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        assert_eq!((start_ordinal(&s), end_ordinal(&s)), (5, 7));
        assert!(in_range(&s, 7) && !in_range(&s, 8) && !in_range(&s, 4));
    }

    #[test]
    fn new_pod_has_identity_storage_and_revision() {
        let s = set();
        let t = s.spec.as_ref().expect("spec").template.clone();
        let pod = new_pod(&s, &t, 1, "web-abc");
        assert_eq!(pod.name_any(), "web-1");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(pod.namespace().as_deref(), Some("ns"));
        let labels = pod.labels();
        assert_eq!(labels[POD_NAME_LABEL], "web-1");
        assert_eq!(labels[POD_INDEX_LABEL], "1");
        assert_eq!(labels[REVISION_HASH_LABEL], "web-abc");
        assert_eq!(labels["app"], "web");
        let spec = pod.spec.as_ref().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("web-1"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let vols = spec.volumes.as_ref().expect("volumes");
        assert_eq!(vols.len(), 2);
        assert_eq!(vols[0].name, "data");
        assert_eq!(
            vols[0]
                .persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str()),
            Some("data-web-1")
        );
        assert_eq!(vols[1].name, "cfg");
        let owner = &pod.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("StatefulSet", "u1", Some(true))
        );
        assert!(identity_matches(&s, &pod));
        assert!(storage_matches(&s, &pod));
    }

    #[test]
    fn claims_get_names_and_selector_labels() {
        let c = claims(&set(), 2);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, "data");
        assert_eq!(c[0].1.name_any(), "data-web-2");
        assert_eq!(c[0].1.namespace().as_deref(), Some("ns"));
        let labels = c[0].1.labels();
        assert_eq!(
            (labels["app"].as_str(), labels["tier"].as_str()),
            ("web", "db")
        );
    }
}
