//! The review APIs (upstream `pkg/registry/authentication/selfsubjectreview`
//! and `pkg/registry/authorization/*`): create-only, nothing stored.
//!
//! - `authentication.k8s.io/v1` SelfSubjectReview: who am I; TokenReview:
//!   whose token is this (ServiceAccount tokens this cluster signed).
//! - `authorization.k8s.io/v1` SelfSubjectAccessReview (may I),
//!   SubjectAccessReview (may this user), LocalSubjectAccessReview (the same
//!   in one namespace), SelfSubjectRulesReview (what may I do here).

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::attributes::Attributes;
use super::{Authz, Mode, User};
use crate::body;
use crate::error::{ApiError, ApiResult, Cause};
use crate::resources::ResourceInfo;
use crate::rest::{output, Ctx};

pub const AUTHENTICATION: &str = "authentication.k8s.io";
pub const AUTHORIZATION: &str = "authorization.k8s.io";

/// A TokenReview's status: the user of a ServiceAccount token this cluster
/// signed, for the audiences asked (the API server's when none); a token
/// that is not one of ours authenticates nobody, without an error, and one
/// of ours that no longer holds says why.
async fn token_review(ctx: &Ctx<'_>, spec: &Value) -> Value {
    let token = str_at(spec, "token");
    let audiences: Vec<&str> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(signer) = ctx.req.app_data::<web::Data<crate::tokens::Signer>>() else {
        return json!({"user": {}});
    };
    match crate::tokens::authn::user_of(ctx.state, signer, token, &audiences).await {
        Ok((user, accepted)) => {
            let mut status = json!({"authenticated": true, "user": user.to_json()});
            if !audiences.is_empty() {
                status["audiences"] = json!(accepted);
            }
            status
        }
        Err(crate::tokens::Rejected::Claims(why)) => json!({"user": {}, "error": why}),
        Err(_) => json!({"user": {}}),
    }
}

/// Whether `info` is one of the review resources served here.
pub fn is_review(info: &ResourceInfo) -> bool {
    matches!(info.group, AUTHENTICATION | AUTHORIZATION) && info.list_kind.is_empty()
}

/// `POST` of a review.
pub async fn create(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let format = output::negotiate(ctx.req, &ctx.query, false)?;
    let bytes = body::read(payload).await?;
    let input = body::decode_object(&body::media_type(ctx.req), &bytes)?;
    let info = ctx.info();
    let Some(authz) = ctx.req.app_data::<web::Data<Authz>>().cloned() else {
        return Err(ApiError::bad_request("no user present on request"));
    };
    let requester = super::request_user(ctx.req);
    let status = match info.kind {
        "SelfSubjectReview" => json!({"userInfo": requester.to_json()}),
        "TokenReview" => {
            if str_at(spec_of(&input), "token").is_empty() {
                return Err(ApiError::bad_request(
                    "token is required for TokenReview in authentication",
                ));
            }
            token_review(ctx, spec_of(&input)).await
        }
        "SelfSubjectAccessReview" => {
            let spec = spec_of(&input);
            validate_attributes(info, spec)?;
            access(&authz, &requester, spec).await
        }
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let mut spec = spec_of(&input).clone();
            if info.kind == "LocalSubjectAccessReview" {
                local_namespace(ctx, &mut spec)?;
            }
            validate_attributes(info, &spec)?;
            let user = subject_of(&spec);
            access(&authz, &user, &spec).await
        }
        "SelfSubjectRulesReview" => {
            let namespace = spec_of(&input)
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            if namespace.is_empty() {
                return Err(ApiError::bad_request("no namespace on request"));
            }
            rules(&authz, &requester, namespace)
        }
        _ => {
            return Err(ApiError::new(
                404,
                "NotFound",
                crate::rest::NOT_FOUND_MESSAGE,
            ))
        }
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!(info.kind));
    out.insert("apiVersion".into(), json!(info.api_version()));
    let mut metadata = input
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let created = if info.kind == "SelfSubjectReview" {
        json!(crate::registry::meta::now())
    } else {
        Value::Null
    };
    metadata.insert("creationTimestamp".into(), created);
    out.insert("metadata".into(), Value::Object(metadata));
    if info.kind != "SelfSubjectReview" {
        out.insert(
            "spec".into(),
            input.get("spec").cloned().unwrap_or(json!({})),
        );
    }
    out.insert("status".into(), status);
    Ok(output::respond(201, &Value::Object(out), format, &[]))
}

fn spec_of(input: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    input.get("spec").unwrap_or(&EMPTY)
}

fn str_at<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn present(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}

/// Go's `%#v` of a `*NonResourceAttributes` or `*ResourceAttributes`
/// (internal types), for validation messages.
fn go_attributes(kind: &str, v: &Value, fields: &[(&str, &str)]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|(go, json)| format!("{go}:{:?}", str_at(v, json)))
        .collect();
    format!("&authorization.{kind}{{{}}}", inner.join(", "))
}

/// Exactly one of resourceAttributes and nonResourceAttributes; local
/// reviews take resource attributes only.
fn validate_attributes(info: &ResourceInfo, spec: &Value) -> ApiResult<()> {
    let res = present(spec, "resourceAttributes");
    let non = present(spec, "nonResourceAttributes");
    let mut causes = Vec::new();
    if res && non {
        let shown = go_attributes(
            "NonResourceAttributes",
            &spec["nonResourceAttributes"],
            &[("Path", "path"), ("Verb", "verb")],
        );
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!(
                "Invalid value: \"{shown}\": cannot be specified in combination with resourceAttributes"
            ),
            field: "spec.nonResourceAttributes".into(),
        });
    } else if !res && !non {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
            field: "spec.resourceAttributes".into(),
        });
    }
    if info.kind == "LocalSubjectAccessReview" && non && !res {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: \"\": disallowed on this kind of request".into(),
            field: "spec.nonResourceAttributes".into(),
        });
    }
    if matches!(
        info.kind,
        "SubjectAccessReview" | "LocalSubjectAccessReview"
    ) {
        let groups = spec
            .get("groups")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty());
        if str_at(spec, "user").is_empty() && !groups {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"\": at least one of user or group must be specified"
                    .into(),
                field: "spec.user".into(),
            });
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(info.kind, info.group, "", causes))
    }
}

/// A local review's namespace: the URL's; `spec.resourceAttributes.namespace`
/// may be empty (then it is set) but may not differ.
fn local_namespace(ctx: &Ctx<'_>, spec: &mut Value) -> ApiResult<()> {
    let ns = ctx.target.ns().unwrap_or("");
    if ns.is_empty() {
        return Err(ApiError::bad_request(
            "namespace is required on this type: ",
        ));
    }
    if let Some(attrs) = spec
        .get_mut("resourceAttributes")
        .and_then(Value::as_object_mut)
    {
        let given = attrs.get("namespace").and_then(Value::as_str).unwrap_or("");
        if given.is_empty() {
            attrs.insert("namespace".into(), json!(ns));
        } else if given != ns {
            return Err(ApiError::bad_request(format!(
                "spec.resourceAttributes.namespace must match namespace: {ns}"
            )));
        }
    }
    Ok(())
}

/// The user a (local) SubjectAccessReview asks about.
fn subject_of(spec: &Value) -> User {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let extra = spec
        .get("extra")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), strings(Some(v))))
        .collect();
    User {
        name: str_at(spec, "user").to_string(),
        uid: str_at(spec, "uid").to_string(),
        groups: strings(spec.get("groups")),
        extra,
    }
}

/// Evaluates an access review's attributes for `user`: the status.
async fn access(authz: &Authz, user: &User, spec: &Value) -> Value {
    let decision = if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        let version = match str_at(r, "version") {
            "" => "*",
            v => v,
        };
        let attrs = Attributes::resource(
            user,
            str_at(r, "verb"),
            str_at(r, "group"),
            version,
            str_at(r, "resource"),
            str_at(r, "subresource"),
            str_at(r, "namespace"),
            str_at(r, "name"),
        );
        authz.authorize(&attrs).await
    } else {
        let n = &spec["nonResourceAttributes"];
        let attrs = Attributes::non_resource(user, str_at(n, "verb"), str_at(n, "path"));
        authz.authorize(&attrs).await
    };
    let mut status = Map::new();
    status.insert("allowed".into(), json!(decision.allowed));
    if !decision.reason.is_empty() {
        status.insert("reason".into(), json!(decision.reason));
    }
    if !decision.evaluation_error.is_empty() {
        status.insert("evaluationError".into(), json!(decision.evaluation_error));
    }
    Value::Object(status)
}

/// What `user` may do in `namespace` (upstream's `RulesFor` of the
/// configured authorizers).
fn rules(authz: &Authz, user: &User, namespace: &str) -> Value {
    let (rules, errors) = match authz.mode {
        Mode::AlwaysAllow => (
            vec![
                super::rbac::Rule {
                    verbs: vec!["*".into()],
                    api_groups: vec!["*".into()],
                    resources: vec!["*".into()],
                    ..Default::default()
                },
                super::rbac::Rule {
                    verbs: vec!["*".into()],
                    non_resource_urls: vec!["*".into()],
                    ..Default::default()
                },
            ],
            vec![],
        ),
        Mode::Rbac => authz.rbac.policy().rules_for(user, namespace),
    };
    let resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| !r.resources.is_empty())
        .map(|r| {
            let mut m = Map::new();
            m.insert("verbs".into(), json!(r.verbs));
            if !r.api_groups.is_empty() {
                m.insert("apiGroups".into(), json!(r.api_groups));
            }
            m.insert("resources".into(), json!(r.resources));
            if !r.resource_names.is_empty() {
                m.insert("resourceNames".into(), json!(r.resource_names));
            }
            Value::Object(m)
        })
        .collect();
    let non_resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| !r.non_resource_urls.is_empty())
        .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
        .collect();
    let mut status = Map::new();
    status.insert("resourceRules".into(), json!(resource_rules));
    status.insert("nonResourceRules".into(), json!(non_resource_rules));
    status.insert("incomplete".into(), json!(!errors.is_empty()));
    if !errors.is_empty() {
        status.insert(
            "evaluationError".into(),
            json!(super::rbac::aggregate(&errors)),
        );
    }
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: &str) -> &'static ResourceInfo {
        crate::resources::BUILTIN
            .iter()
            .find(|r| r.kind == kind && is_review(r))
            .unwrap_or_else(|| panic!("{kind}"))
    }

    #[test]
    fn every_review_kind_is_served_create_only() {
        for kind in [
            "SelfSubjectReview",
            "TokenReview",
            "SelfSubjectAccessReview",
            "SubjectAccessReview",
            "LocalSubjectAccessReview",
            "SelfSubjectRulesReview",
        ] {
            assert_eq!(info(kind).verbs, ["create"]);
        }
        assert!(info("LocalSubjectAccessReview").namespaced);
        assert!(!info("SubjectAccessReview").namespaced);
    }

    #[test]
    fn attribute_validation_matches_upstream() {
        let ssar = info("SelfSubjectAccessReview");
        let e = validate_attributes(ssar, &json!({})).expect_err("neither");
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"
        );
        validate_attributes(ssar, &json!({"resourceAttributes": {"verb": "get"}})).expect("ok");
        let sar = info("SubjectAccessReview");
        let e = validate_attributes(sar, &json!({"resourceAttributes": {"verb": "get"}}))
            .expect_err("no user");
        assert!(
            e.message.ends_with(
                "spec.user: Invalid value: \"\": at least one of user or group must be specified"
            ),
            "{}",
            e.message
        );
    }
}
