//! ControllerRevisions, as upstream's `pkg/controller/history`: the
//! snapshots of a pod template that StatefulSets and DaemonSets keep so that
//! `kubectl rollout history` and `rollout undo` work. A revision's `data` is
//! a strategic-merge patch `{"spec":{"template":{..., "$patch":"replace"}}}`
//! that puts the template back on the owner.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{json, Value};

/// The label a StatefulSet's revisions carry their hash in.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// The label pods (and DaemonSet revisions) carry their revision in.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// FNV-1 (not 1a) over `bytes`, 32 bits: what Go's `fnv.New32` computes.
pub fn fnv32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        h.wrapping_mul(0x0100_0193) ^ u32::from(*b)
    })
}

/// FNV-1a over `bytes`, 32 bits: what Go's `fnv.New32a` computes.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// apimachinery's `rand.SafeEncodeString`: each byte mapped onto an alphabet
/// without vowels (no bad words) nor look-alike characters.
pub fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// `HashControllerRevision`: FNV-1 of the data, then of the collision count
/// in decimal when there is one, printed in decimal and safe-encoded.
pub fn hash_revision(data: &Value, collision_count: Option<i32>) -> String {
    let mut bytes = canonical(data).into_bytes();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(c.to_string().as_bytes());
    }
    safe_encode(&fnv32(&bytes).to_string())
}

/// `ComputeHash` of a pod template (DaemonSets, ReplicaSets): FNV-1a of the
/// template and of the collision count, safe-encoded.
pub fn hash_template(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(template).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(c.to_string().as_bytes());
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// `ControllerRevisionName`: `prefix-hash`, the prefix cut to 223 bytes so
/// the name stays under 253.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let mut end = prefix.len().min(223);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{hash}", &prefix[..end])
}

/// The revision data for a template: a patch replacing `spec.template`.
/// Keys are sorted (serde_json's map), as Go's `json.Marshal` of a map.
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(m) = t.as_object_mut() {
        // Go encodes the zero creationTimestamp of a template as null.
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
        m.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The template a revision restores (its data with `$patch` taken out).
pub fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = revision.data.as_ref()?.0.pointer("/spec/template")?.clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// Whether two revisions hold the same data.
pub fn same_data(revision: &ControllerRevision, data: &Value) -> bool {
    revision
        .data
        .as_ref()
        .is_some_and(|d| canonical(&d.0) == canonical(data))
}

/// JSON text with sorted keys (serde_json's default map is ordered).
pub fn canonical(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Upstream's order: by `revision`, then creation time, then name.
pub fn by_revision(a: &ControllerRevision, b: &ControllerRevision) -> Ordering {
    a.revision
        .cmp(&b.revision)
        .then_with(|| {
            let t = |r: &ControllerRevision| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
            t(a).cmp(&t(b))
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_go() {
        // Reference values of Go's hash/fnv.
        assert_eq!(fnv32(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32(b"a"), 0x050c5d7e);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9cf968);
        assert_eq!(fnv32(b"foobar"), 0x31f0b262);
    }

    #[test]
    fn safe_encoding_avoids_vowels() {
        // '0'..'9' are bytes 48..57; 48 % 27 = 21 -> '4'.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        let h = hash_revision(&json!({"spec": {}}), None);
        assert!(
            h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{h}"
        );
    }

    #[test]
    fn hash_depends_on_data_and_collisions() {
        let a = json!({"spec": {"template": {"a": 1}}});
        let b = json!({"spec": {"template": {"a": 2}}});
        assert_eq!(hash_revision(&a, None), hash_revision(&a.clone(), None));
        assert_ne!(hash_revision(&a, None), hash_revision(&b, None));
        assert_ne!(hash_revision(&a, Some(0)), hash_revision(&a, Some(1)));
    }

    #[test]
    fn patch_replaces_template_and_round_trips() {
        let t: PodTemplateSpec = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}
        }))
        .expect("template");
        let data = template_patch(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        assert!(data["spec"]["template"]["metadata"]["creationTimestamp"].is_null());
        let rev = ControllerRevision {
            data: Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(
                data.clone(),
            )),
            ..Default::default()
        };
        assert!(same_data(&rev, &data));
        let back = template_of(&rev).expect("template back");
        assert_eq!(back.spec, t.spec);
        assert_eq!(
            back.metadata.as_ref().and_then(|m| m.labels.clone()),
            t.metadata.and_then(|m| m.labels)
        );
        assert!(canonical(&data)
            .starts_with("{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\""));
    }

    #[test]
    fn names_are_cut_to_fit() {
        assert_eq!(revision_name("web", "abc"), "web-abc");
        let long = "x".repeat(300);
        assert_eq!(revision_name(&long, "h").len(), 225);
    }
}
