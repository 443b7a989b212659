//! `POST serviceaccounts/{name}/token` (authentication.k8s.io/v1
//! TokenRequest): a token for the ServiceAccount, optionally bound to a Pod,
//! Secret or Node so that it stops working when that object goes
//! (`kubectl create token NAME [--duration] [--audience] [--bound-object-kind]`).

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::{Signer, ISSUER};
use crate::body;
use crate::error::{ApiError, ApiResult, Cause};
use crate::registry::{meta, Registry};
use crate::rest::{output, Ctx};

/// Upstream's default and bounds for `spec.expirationSeconds`.
const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;
const MAX_SECONDS: i64 = 1 << 32;

pub async fn create(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let signer = ctx
        .req
        .app_data::<web::Data<Signer>>()
        .ok_or_else(|| ApiError::internal("no service account token signer"))?;
    let bytes = body::read(payload).await?;
    let mut request = body::decode_object(&body::media_type(ctx.req), &bytes)?;
    if !request.is_object() {
        return Err(ApiError::bad_request("a TokenRequest must be an object"));
    }
    let name = ctx.target.name().to_string();
    let ns = ctx.target.ns().unwrap_or_default().to_string();
    for (field, want) in [("name", &name), ("namespace", &ns)] {
        let got = request
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !got.is_empty() && got != want {
            return Err(ApiError::bad_request(format!(
                "the {field} of the TokenRequest ({got}) does not match the {field} of the service account ({want})"
            )));
        }
    }
    let spec = default_spec(&request["spec"]);
    validate(&spec, meta::name(&request))?;

    let account = ctx.registry.get(Some(&ns), &name, None).await?;
    let bound = match spec.get("boundObjectRef").filter(|r| r.is_object()) {
        Some(r) => Some(bound_object(ctx, &ns, &name, r).await?),
        None => None,
    };
    let seconds = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_SECONDS);
    let now = jiff::Timestamp::now();
    let iat = now.as_second();
    let exp = iat + seconds;
    let claims = claims(&account, bound.as_ref(), &spec["audiences"], iat, exp);
    let token = signer.sign(&claims).map_err(ApiError::internal)?;

    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    let md = &mut request["metadata"];
    if !md.is_object() {
        *md = json!({});
    }
    md["name"] = json!(name);
    md["namespace"] = json!(ns);
    if md.get("creationTimestamp").is_none() {
        md["creationTimestamp"] = Value::Null;
    }
    request["spec"] = spec;
    let expires = jiff::Timestamp::from_second(exp)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    request["status"] = json!({"token": token, "expirationTimestamp": expires});
    let format = output::negotiate(ctx.req, &ctx.query, false)?;
    Ok(output::respond(201, &request, format, &[]))
}

fn default_spec(spec: &Value) -> Value {
    let mut spec = if spec.is_object() {
        spec.clone()
    } else {
        json!({})
    };
    if spec.get("expirationSeconds").is_none_or(Value::is_null) {
        spec["expirationSeconds"] = json!(DEFAULT_SECONDS);
    }
    let no_audiences = spec["audiences"].as_array().is_none_or(Vec::is_empty);
    if no_audiences {
        spec["audiences"] = json!([ISSUER]);
    }
    spec
}

fn validate(spec: &Value, name: &str) -> ApiResult<()> {
    let seconds = &spec["expirationSeconds"];
    let Some(n) = seconds.as_i64() else {
        return Err(invalid(
            name,
            "spec.expirationSeconds",
            seconds,
            "must be an integer",
        ));
    };
    if n < MIN_SECONDS {
        return Err(invalid(
            name,
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration less than 10 minutes",
        ));
    }
    if n > MAX_SECONDS {
        return Err(invalid(
            name,
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    Ok(())
}

fn invalid(name: &str, field: &str, value: &Value, why: &str) -> ApiError {
    ApiError::invalid(
        "TokenRequest",
        "authentication.k8s.io",
        name,
        vec![Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value}: {why}"),
            field: field.into(),
        }],
    )
}

/// What a token is bound to: kind, name, uid, and for a pod its node.
struct Bound {
    kind: &'static str,
    name: String,
    uid: String,
    node: Option<(String, String)>,
}

async fn bound_object(ctx: &Ctx<'_>, ns: &str, account: &str, r: &Value) -> ApiResult<Bound> {
    let api_version = r["apiVersion"].as_str().unwrap_or("");
    let kind = r["kind"].as_str().unwrap_or("");
    let name = r["name"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (kind, plural, namespaced): (&'static str, &str, bool) = match (group, kind) {
        ("", "Pod") => ("Pod", "pods", true),
        ("", "Secret") => ("Secret", "secrets", true),
        ("", "Node") => ("Node", "nodes", false),
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )))
        }
    };
    let obj = get(ctx, plural, namespaced.then_some(ns), name).await?;
    let uid = meta::uid(&obj).to_string();
    let wanted_uid = r["uid"].as_str().unwrap_or("");
    if !wanted_uid.is_empty() && wanted_uid != uid {
        return Err(ApiError::conflict(
            "",
            kind,
            name,
            &format!("the UID in the bound object reference ({wanted_uid}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"),
        ));
    }
    let mut node = None;
    if kind == "Pod" {
        let pod_account = obj
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if pod_account != account {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount {account:?} to pod running with serviceaccount {pod_account:?}"
            )));
        }
        if let Some(node_name) = obj.pointer("/spec/nodeName").and_then(Value::as_str) {
            if let Ok(n) = get(ctx, "nodes", None, node_name).await {
                node = Some((node_name.to_string(), meta::uid(&n).to_string()));
            }
        }
    }
    Ok(Bound {
        kind,
        name: name.to_string(),
        uid,
        node,
    })
}

async fn get(ctx: &Ctx<'_>, plural: &str, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    let info = crate::resources::lookup("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not a known resource")))?;
    Registry::new(ctx.state.store.clone(), info)
        .get(ns, name, None)
        .await
}

/// Upstream's claims: registered ones plus `kubernetes.io` naming the
/// account and what the token is bound to.
fn claims(account: &Value, bound: Option<&Bound>, audiences: &Value, iat: i64, exp: i64) -> Value {
    let ns = meta::namespace(account);
    let name = meta::name(account);
    let mut private = json!({
        "namespace": ns,
        "serviceaccount": {"name": name, "uid": meta::uid(account)},
    });
    if let Some(b) = bound {
        let key = match b.kind {
            "Pod" => "pod",
            "Secret" => "secret",
            _ => "node",
        };
        private[key] = json!({"name": b.name, "uid": b.uid});
        if let Some((node, uid)) = &b.node {
            private["node"] = json!({"name": node, "uid": uid});
        }
    }
    json!({
        "aud": audiences,
        "exp": exp,
        "iat": iat,
        "iss": ISSUER,
        "jti": uuid::Uuid::new_v4().to_string(),
        "kubernetes.io": private,
        "nbf": iat,
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_and_bounds() {
        let spec = default_spec(&json!({}));
        assert_eq!(spec["expirationSeconds"], 3600);
        assert_eq!(spec["audiences"], json!([ISSUER]));
        let kept = default_spec(&json!({"audiences": ["vault"], "expirationSeconds": 700}));
        assert_eq!(kept["audiences"], json!(["vault"]));
        assert!(validate(&kept, "").is_ok());
        let e = validate(&json!({"expirationSeconds": 60}), "").unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        let e = validate(&json!({"expirationSeconds": 5_000_000_000i64}), "").unwrap_err();
        assert!(e
            .message
            .ends_with("may not specify a duration larger than 2^32 seconds"));
    }

    #[test]
    fn claims_name_the_account_and_the_bound_pod() {
        let account = json!({"metadata": {"name": "robot", "namespace": "ns1", "uid": "u1"}});
        let pod = Bound {
            kind: "Pod",
            name: "p".into(),
            uid: "u2".into(),
            node: Some(("n".into(), "u3".into())),
        };
        let c = claims(&account, Some(&pod), &json!(["a"]), 10, 20);
        assert_eq!(c["sub"], "system:serviceaccount:ns1:robot");
        assert_eq!(c["kubernetes.io"]["serviceaccount"]["uid"], "u1");
        assert_eq!(c["kubernetes.io"]["pod"], json!({"name": "p", "uid": "u2"}));
        assert_eq!(
            c["kubernetes.io"]["node"],
            json!({"name": "n", "uid": "u3"})
        );
        assert_eq!((c["iat"].as_i64(), c["exp"].as_i64()), (Some(10), Some(20)));
    }
}
