//! Revisions and the ReplicaSet annotations a Deployment keeps on its
//! ReplicaSets (`deployment.kubernetes.io/revision`, `-history`,
//! `desired-replicas`, `max-replicas`), the pod-template hash that names
//! them, and the clean-up of old ReplicaSets past `revisionHistoryLimit`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::ResourceExt;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that tells the pods of one template from another's.
pub const HASH_LABEL: &str = "pod-template-hash";

/// Deployment annotations never copied onto its ReplicaSets.
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// Longest revision-history annotation kept (upstream's default).
const MAX_HISTORY_CHARS: usize = 2000;

/// Characters of upstream's `rand.SafeEncodeString` (no vowels, no look-alikes).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The revision a ReplicaSet carries (0 when it has none).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.annotations()
        .get(REVISION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter().map(revision).max().unwrap_or(0)
}

/// Copy the Deployment's own annotations onto the ReplicaSet.
fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let mut changed = false;
    let annotations = rs.annotations_mut();
    for (k, v) in d.annotations() {
        if NOT_COPIED.contains(&k.as_str()) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Bring the new ReplicaSet's annotations up to date: the Deployment's
/// annotations, `revision` raised to `new_revision` (keeping the revision it
/// had in `revision-history`: that is a rollback), and for a ReplicaSet
/// about to be created the replica annotations. Whether anything changed.
pub fn set_new_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    max_surge: i32,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let old = rs.annotations().get(REVISION).cloned().unwrap_or_default();
    let old_num: i64 = if old.is_empty() {
        0
    } else {
        match old.parse() {
            Ok(n) => n,
            Err(_) => return changed,
        }
    };
    if old_num < new_revision {
        let annotations = rs.annotations_mut();
        annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            let joined = if history.is_empty() {
                old
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                parts.push(&old);
                while parts.len() > 1 && parts.join(",").len() > MAX_HISTORY_CHARS {
                    parts.remove(0);
                }
                parts.join(",")
            };
            annotations.insert(REVISION_HISTORY.into(), joined);
        }
    }
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if !exists && set_replicas_annotations(rs, replicas, replicas + max_surge) {
        changed = true;
    }
    changed
}

/// Record the Deployment's size (and the most it may reach during a rollout)
/// on a ReplicaSet. Whether anything changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.annotations_mut();
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = v.to_string();
        if annotations.get(k) != Some(&v) {
            annotations.insert(k.into(), v);
            changed = true;
        }
    }
    changed
}

/// The pod-template hash: FNV-1a (32 bits) of the template's canonical JSON,
/// then of the collision count, written as decimal digits mapped through
/// upstream's safe alphabet (so it reads like upstream's `5d4f8c9b7`).
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let canonical = serde_json::to_value(template)
        .map(|v| canonical_json(&v))
        .unwrap_or_default();
    let mut hash = Fnv32a::new();
    hash.write(canonical.as_bytes());
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        hash.write(&bytes);
    }
    safe_encode(&hash.0.to_string())
}

/// JSON with object keys sorted, whatever serde_json's map order is.
fn canonical_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE_ALPHABET[b as usize % SAFE_ALPHABET.len()] as char)
        .collect()
}

struct Fnv32a(u32);

impl Fnv32a {
    fn new() -> Self {
        Fnv32a(0x811c_9dc5)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
}

/// Whether two pod templates are the same but for the pod-template-hash label.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    fn strip(t: &PodTemplateSpec) -> serde_json::Value {
        let mut t = t.clone();
        if let Some(meta) = t.metadata.as_mut() {
            if let Some(labels) = meta.labels.as_mut() {
                labels.remove(HASH_LABEL);
                if labels.is_empty() {
                    meta.labels = None;
                }
            }
            if meta.annotations.as_ref().is_some_and(|a| a.is_empty()) {
                meta.annotations = None;
            }
        }
        serde_json::to_value(t).unwrap_or_default()
    }
    strip(a) == strip(b)
}

/// The old ReplicaSets to delete so that at most `limit` remain: the lowest
/// revisions first, skipping any that still have (or are meant to have)
/// pods or whose status is behind its spec.
pub fn cleanup_candidates(old: &[ReplicaSet], limit: i32) -> Vec<String> {
    let mut alive: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let surplus = alive.len() as i64 - i64::from(limit.max(0));
    if surplus <= 0 {
        return Vec::new();
    }
    alive.sort_by(|a, b| {
        revision(a)
            .cmp(&revision(b))
            .then_with(|| {
                a.metadata
                    .creation_timestamp
                    .cmp(&b.metadata.creation_timestamp)
            })
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    alive
        .into_iter()
        .take(surplus as usize)
        .filter(|rs| {
            let spec = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let status = rs.status.as_ref();
            let replicas = status.map(|s| s.replicas).unwrap_or(0);
            let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
            spec == 0 && replicas == 0 && rs.metadata.generation.unwrap_or(0) <= observed
        })
        .map(|rs| rs.name_any())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}]}
        }))
        .expect("template")
    }

    #[test]
    fn hash_is_stable_safe_and_template_sensitive() {
        let a = template("nginx:1");
        let h = template_hash(&a, None);
        assert_eq!(h, template_hash(&a.clone(), None));
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{h}");
        assert_ne!(h, template_hash(&template("nginx:2"), None));
        assert_ne!(h, template_hash(&a, Some(1)));
        assert_ne!(template_hash(&a, Some(1)), template_hash(&a, Some(2)));
    }

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        let mut h = Fnv32a::new();
        h.write(b"");
        assert_eq!(h.0, 0x811c_9dc5);
        let mut h = Fnv32a::new();
        h.write(b"a");
        assert_eq!(h.0, 0xe40c_292c);
        let mut h = Fnv32a::new();
        h.write(b"foobar");
        assert_eq!(h.0, 0xbf9c_f968);
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let a = template("nginx:1");
        let mut b = a.clone();
        b.metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), "abc".into());
        assert!(equal_ignore_hash(&a, &b));
        assert!(!equal_ignore_hash(&a, &template("nginx:2")));
    }

    #[test]
    fn rollback_keeps_the_old_revision_in_history() {
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "d", "annotations": {
                "kubernetes.io/change-cause": "undo", REVISION: "9"}},
            "spec": {"replicas": 3, "selector": {}, "template": {}}
        }))
        .expect("deployment");
        let mut rs = ReplicaSet::default();
        rs.annotations_mut().insert(REVISION.into(), "1".into());
        assert!(set_new_annotations(&d, &mut rs, 3, true, 1));
        assert_eq!(rs.annotations()[REVISION], "3");
        assert_eq!(rs.annotations()[REVISION_HISTORY], "1");
        assert_eq!(rs.annotations()["kubernetes.io/change-cause"], "undo");
        assert!(!rs.annotations().contains_key(DESIRED_REPLICAS));
        // Nothing more to do the second time.
        assert!(!set_new_annotations(&d, &mut rs, 3, true, 1));
        // A new ReplicaSet gets the replica annotations.
        let mut fresh = ReplicaSet::default();
        assert!(set_new_annotations(&d, &mut fresh, 4, false, 1));
        assert_eq!(fresh.annotations()[REVISION], "4");
        assert_eq!(fresh.annotations()[DESIRED_REPLICAS], "3");
        assert_eq!(fresh.annotations()[MAX_REPLICAS], "4");
        assert!(!fresh.annotations().contains_key(REVISION_HISTORY));
    }
}
