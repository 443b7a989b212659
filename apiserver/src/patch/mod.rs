//! Patch engines: JSON patch (RFC 6902), JSON merge patch (RFC 7386),
//! strategic merge patch ([`strategic`]) and the merge step of server-side
//! apply ([`ssa`]); the last two follow the type of the patched object
//! (a [`Shape`]: a built-in kind's OpenAPI definition with its patch, list
//! and map extensions, or a custom resource's schema). Ownership of applied
//! fields is `registry::apply`.

mod ssa;
mod strategic;

pub use ssa::apply_merge;
pub use strategic::strategic_merge;

use json_patch::PatchOperation;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::registry::shape::Shape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    /// Server-side apply (`application/apply-patch+yaml`): the
    /// configuration merges into the live object as its schema says.
    Apply,
}

/// upstream's 415 for other patch media types.
const UNSUPPORTED: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json";

impl PatchKind {
    pub fn from_media_type(media: &str) -> ApiResult<PatchKind> {
        match media {
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" => Ok(PatchKind::Apply),
            _ => Err(ApiError::unsupported_media_type(UNSUPPORTED)),
        }
    }

    /// The patch type of a request to a resource: custom resources have no
    /// strategic merge (no Go types to carry patch strategies), as upstream.
    pub fn for_resource(media: &str, custom: bool) -> ApiResult<PatchKind> {
        match Self::from_media_type(media)? {
            PatchKind::Strategic if custom => {
                Err(ApiError::unsupported_media_type(UNSUPPORTED_CUSTOM))
            }
            k => Ok(k),
        }
    }
}

/// upstream's 415 for custom resources, which take no strategic merge.
const UNSUPPORTED_CUSTOM: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// A parsed patch document.
pub enum PatchDoc {
    Json(Vec<PatchOperation>),
    Merge(Value),
}

/// Parses a patch body; malformed patches are 400 BadRequest.
pub fn parse(kind: PatchKind, bytes: &[u8]) -> ApiResult<PatchDoc> {
    match kind {
        PatchKind::Json => {
            let ops: Vec<PatchOperation> = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request(format!("json: {e}")))?;
            Ok(PatchDoc::Json(ops))
        }
        PatchKind::Apply => {
            let v = crate::body::decode_yaml(bytes)?;
            if !v.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding YAML: the apply configuration must be an object",
                ));
            }
            Ok(PatchDoc::Merge(v))
        }
        PatchKind::Merge | PatchKind::Strategic => {
            let v: Value = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request(format!("json: {e}")))?;
            if !v.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                ));
            }
            Ok(PatchDoc::Merge(v))
        }
    }
}

/// Applies a patch to an untyped `doc` (lists replace, objects merge).
pub fn apply(kind: PatchKind, patch: &PatchDoc, doc: &mut Value) -> ApiResult<Value> {
    apply_typed(kind, patch, doc, Shape::NONE)
}

/// Applies a patch to `doc`, an object of type `shape`; a JSON patch that
/// cannot apply is 422 as upstream.
pub fn apply_typed(
    kind: PatchKind,
    patch: &PatchDoc,
    doc: &mut Value,
    shape: Shape<'_>,
) -> ApiResult<Value> {
    match (kind, patch) {
        (PatchKind::Json, PatchDoc::Json(ops)) => {
            let mut out = doc.clone();
            json_patch::patch(&mut out, ops).map_err(|e| {
                let mut err = ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                );
                err.details = Some(Box::new(crate::error::Details {
                    causes: vec![crate::error::Cause {
                        reason: "FieldValueInvalid".into(),
                        message: e.to_string(),
                        field: String::new(),
                    }],
                    ..Default::default()
                }));
                err
            })?;
            Ok(out)
        }
        (PatchKind::Merge, PatchDoc::Merge(p)) => {
            let mut out = doc.clone();
            json_patch::merge(&mut out, p);
            Ok(out)
        }
        (PatchKind::Strategic, PatchDoc::Merge(p)) => strategic_merge(doc, p, shape),
        (PatchKind::Apply, PatchDoc::Merge(p)) => Ok(apply_merge(doc, p, shape)),
        _ => Err(ApiError::bad_request("mismatched patch type")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_failures_are_unprocessable() {
        let PatchDoc::Json(ops) =
            parse(PatchKind::Json, br#"[{"op":"test","path":"/a","value":2}]"#).unwrap()
        else {
            panic!("json patch expected");
        };
        let e = apply(PatchKind::Json, &PatchDoc::Json(ops), &mut json!({"a": 1})).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            parse(PatchKind::Json, b"{oops").err().map(|e| e.code),
            Some(400)
        );
        assert_eq!(
            parse(PatchKind::Merge, b"[1]").err().map(|e| e.code),
            Some(400)
        );
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let p = parse(PatchKind::Merge, br#"{"data":{"a":null,"b":"2"}}"#).unwrap();
        let out = apply(PatchKind::Merge, &p, &mut json!({"data": {"a": "1"}})).unwrap();
        assert_eq!(out, json!({"data": {"b": "2"}}));
    }
}
