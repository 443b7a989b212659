//! The one HTTP-facing error: every failure becomes a `metav1.Status` with
//! kube-apiserver's code and reason, rendered once at the HTTP edge.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::{json, Value};

/// A cause inside `details.causes` (422 Invalid, 409 apply conflicts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`,
    /// `FieldValueDuplicate`, `FieldValueTooLong`, `FieldValueForbidden`,
    /// `FieldValueTypeInvalid`, `UnexpectedServerResponse`, `FieldManagerConflict`, ...
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// `details` of a Status: which object the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub name: Option<String>,
    pub group: Option<String>,
    /// The resource (plural), as upstream fills `details.kind` for NotFound etc.
    pub kind: Option<String>,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: Option<u32>,
}

/// An API error: HTTP code, `reason`, message and details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, ...
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Details>>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a resource is called in messages: `deployments.apps` or `pods`.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Details) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    fn about(group: &str, resource: &str, name: &str) -> Details {
        Details {
            name: (!name.is_empty()).then(|| name.to_string()),
            group: (!group.is_empty()).then(|| group.to_string()),
            kind: Some(resource.to_string()),
            ..Default::default()
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 404 NotFound: `pods "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", qualified(group, resource), name),
        )
        .with_details(Self::about(group, resource, name))
    }

    /// 409 AlreadyExists: `configmaps "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", qualified(group, resource), name),
        )
        .with_details(Self::about(group, resource, name))
    }

    /// 409 Conflict: `Operation cannot be fulfilled on configmaps "x": <why>`.
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                qualified(group, resource),
                name,
                why
            ),
        )
        .with_details(Self::about(group, resource, name))
    }

    /// 422 Invalid: `Deployment.apps "x" is invalid: [a: ..., b: ...]`.
    /// `kind_group` is `Deployment.apps` (kind, then group if any).
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let kind_group = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let list: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        Self::new(
            422,
            "Invalid",
            format!("{kind_group} \"{name}\" is invalid: {joined}"),
        )
        .with_details(Details {
            name: Some(name.to_string()),
            group: (!group.is_empty()).then(|| group.to_string()),
            kind: Some(kind.to_string()),
            causes,
            retry_after_seconds: None,
        })
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 410 Expired (list continue tokens, too-old resourceVersions on list).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 410 Gone (watch from a compacted resourceVersion).
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Gone", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 500 InternalError: only for the server's own failures, never bad input.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// The `metav1.Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = serde_json::Map::new();
            if let Some(n) = &d.name {
                details.insert("name".into(), json!(n));
            }
            if let Some(g) = &d.group {
                details.insert("group".into(), json!(g));
            }
            if let Some(k) = &d.kind {
                details.insert("kind".into(), json!(k));
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
            }
            if let Some(r) = d.retry_after_seconds {
                details.insert("retryAfterSeconds".into(), json!(r));
            }
            status["details"] = Value::Object(details);
        }
        status
    }
}

impl From<openraft_store::StoreError> for ApiError {
    fn from(e: openraft_store::StoreError) -> Self {
        use openraft_store::StoreError as E;
        match e {
            E::Compacted { .. } => {
                ApiError::expired("The resourceVersion for the provided list is too old.")
            }
            E::FutureRevision { requested, current } => ApiError::timeout(format!(
                "Too large resource version: {requested}, current: {current}"
            ))
            .with_details(Details {
                retry_after_seconds: Some(1),
                ..Default::default()
            }),
            E::Unavailable(m) => ApiError::unavailable(m),
            E::Timeout(m) => ApiError::timeout(m),
            E::InvalidRequest(m) => ApiError::bad_request(m),
            E::Internal(m) => ApiError::internal(m),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(self.to_status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_matches_upstream() {
        let s = ApiError::not_found("apps", "deployments", "web").to_status();
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["kind"], "deployments");
        assert_eq!(s["details"]["group"], "apps");
    }

    #[test]
    fn future_revision_is_a_timeout_naming_both_revisions() {
        let e: ApiError = openraft_store::StoreError::FutureRevision {
            requested: openraft_store::Revision(99),
            current: openraft_store::Revision(5),
        }
        .into();
        let s = e.to_status();
        assert_eq!(s["code"], 504);
        assert_eq!(s["reason"], "Timeout");
        assert_eq!(s["message"], "Too large resource version: 99, current: 5");
        assert_eq!(s["details"]["retryAfterSeconds"], 1);
    }

    #[test]
    fn invalid_lists_causes() {
        let e = ApiError::invalid(
            "ConfigMap",
            "",
            "Bad",
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"Bad\": must be lowercase".into(),
                field: "metadata.name".into(),
            }],
        );
        assert_eq!(
            e.message,
            "ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\": must be lowercase"
        );
        assert_eq!(
            e.to_status()["details"]["causes"][0]["field"],
            "metadata.name"
        );
    }
}
