//! Who is asking and may they: authentication (verified client
//! certificates, anonymous requests, bearer tokens rejected), impersonation
//! headers, and authorization (RBAC, or everything allowed), applied to
//! every request by [`filter`]; plus the RBAC bootstrap policy and the
//! `authentication.k8s.io` / `authorization.k8s.io` review APIs.
//!
//! Upstream's filter order is kept: authenticate, impersonate, authorize,
//! then the handler. Members of `system:masters` are allowed without looking
//! at the request (upstream's privileged-group authorizer), which keeps the
//! admin and the built-in controllers on a path that costs one atomic
//! increment and one group scan per request.

pub mod attributes;
pub mod authn;
pub mod bootstrap;
pub mod escalation;
pub mod impersonate;
pub mod rbac;
pub mod reviews;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::error::{ApiError, Details};
use attributes::Attributes;

/// `system:masters`: members may do anything (upstream's privileged group).
pub const MASTERS: &str = "system:masters";
/// Added to every authenticated user's groups.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user of requests without credentials.
pub const ANONYMOUS: &str = "system:anonymous";
/// Service account user names: `system:serviceaccount:NS:NAME`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// Every service account's group, and the per-namespace prefix.
pub const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

/// An authenticated (or anonymous) user, as upstream's `user.Info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    /// `system:anonymous` in `system:unauthenticated`.
    pub fn anonymous() -> User {
        User {
            name: ANONYMOUS.into(),
            groups: vec![UNAUTHENTICATED.into()],
            ..Default::default()
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Member of `system:masters`.
    pub fn is_master(&self) -> bool {
        self.in_group(MASTERS)
    }

    /// `(namespace, name)` when the user is a service account.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        split_service_account(&self.name)
    }

    /// `userInfo` as the review APIs spell it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("username".into(), self.name.clone().into());
        if !self.uid.is_empty() {
            m.insert("uid".into(), self.uid.clone().into());
        }
        if !self.groups.is_empty() {
            m.insert("groups".into(), serde_json::json!(self.groups));
        }
        if !self.extra.is_empty() {
            m.insert("extra".into(), serde_json::json!(self.extra));
        }
        serde_json::Value::Object(m)
    }
}

/// `system:serviceaccount:NS:NAME` -> `(NS, NAME)`; both must be non-empty
/// and NAME may not contain `:`.
pub fn split_service_account(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (ns, sa) = rest.split_once(':')?;
    (!ns.is_empty() && !sa.is_empty() && !sa.contains(':')).then_some((ns, sa))
}

/// The groups every service account of `namespace` is in.
pub fn service_account_groups(namespace: &str) -> Vec<String> {
    vec![
        SERVICE_ACCOUNTS.to_string(),
        format!("{SERVICE_ACCOUNTS}:{namespace}"),
    ]
}

/// The user a request was impersonated as or whose token it presented, left
/// in the request's extensions (only then: other requests are their
/// connection's user).
#[derive(Debug, Clone)]
pub struct RequestUser(pub Arc<User>);

/// The user a request acts as, for handlers (the review APIs): the
/// impersonated or token user, else the connection's certificate user, else
/// anonymous. Only meaningful behind [`filter`].
pub fn request_user(req: &actix_web::HttpRequest) -> Arc<User> {
    if let Some(RequestUser(u)) = req.extensions().get::<RequestUser>() {
        return u.clone();
    }
    match req.conn_data::<authn::PeerUser>() {
        Some(authn::PeerUser(u)) => u.clone(),
        None => authn::anonymous(),
    }
}

/// `--authorization-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Role-based access control over Roles, ClusterRoles and their bindings.
    #[default]
    #[value(name = "RBAC")]
    Rbac,
    /// Every authenticated or anonymous request is allowed.
    #[value(name = "AlwaysAllow")]
    AlwaysAllow,
}

/// An authorization decision and upstream's reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
    /// An error met while evaluating (a binding naming a missing role).
    pub evaluation_error: String,
}

/// The authorizer every request goes through.
pub struct Authz {
    pub mode: Mode,
    pub rbac: rbac::Authorizer,
}

impl Authz {
    pub fn new(mode: Mode, state: &crate::state::AppState) -> Authz {
        Authz {
            mode,
            rbac: rbac::Authorizer::new(state),
        }
    }

    /// Whether `attrs` (whose user is `attrs.user`) is allowed: masters
    /// always, then the mode's authorizer. A denial of an authenticated
    /// user is re-checked once the RBAC caches have caught up with the
    /// store, so a binding created just before is seen (upstream's
    /// informers lag too, but scripts expect read-your-writes); anonymous
    /// denials are answered at once, so they cost the store nothing.
    pub async fn authorize(&self, attrs: &Attributes<'_>) -> Decision {
        if attrs.user.is_master() {
            return Decision {
                allowed: true,
                reason: String::new(),
                evaluation_error: String::new(),
            };
        }
        match self.mode {
            Mode::AlwaysAllow => Decision {
                allowed: true,
                reason: String::new(),
                evaluation_error: String::new(),
            },
            Mode::Rbac => {
                let d = self.rbac.authorize(attrs);
                if d.allowed || attrs.user.name == ANONYMOUS || !self.rbac.catch_up().await {
                    return d;
                }
                self.rbac.authorize(attrs)
            }
        }
    }
}

/// Prepares authorization before the server serves: creates the default
/// RBAC policy when missing, loads the RBAC caches, and starts the cluster
/// role aggregation.
pub async fn start(
    state: &Arc<crate::state::AppState>,
    mode: Mode,
) -> Result<web::Data<Authz>, ApiError> {
    bootstrap::ensure(state).await?;
    let authz = Authz::new(mode, state);
    if !authz
        .rbac
        .wait_ready(std::time::Duration::from_secs(10))
        .await
    {
        tracing::warn!("RBAC caches not loaded yet; requests may be denied until they are");
    }
    // The caches must include the defaults just written.
    authz.rbac.catch_up().await;
    bootstrap::start_aggregation(state.clone());
    Ok(web::Data::new(authz))
}

/// The per-request filter: authenticate, impersonate, authorize.
pub async fn filter(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(authz) = req.app_data::<web::Data<Authz>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let (user, from_token) = match authn::credential(&req) {
        authn::Credential::User(u) => (u, false),
        authn::Credential::Bearer(token) => match authn::token_user(&req, token).await {
            Ok(u) => (u, true),
            Err(e) => return Ok(reject(req, &e)),
        },
    };
    let impersonated = impersonate::requested(req.headers());
    let user = if impersonated {
        match impersonate::apply(&authz, user, req.headers()).await {
            Ok(u) => u,
            Err(e) => return Ok(reject(req, &e)),
        }
    } else {
        user
    };
    if !user.is_master() && authz.mode == Mode::Rbac {
        let attrs =
            Attributes::from_request(&user, req.method().as_str(), req.path(), req.query_string());
        let decision = authz.authorize(&attrs).await;
        if !decision.allowed {
            let e = forbidden(&attrs, &decision.reason);
            return Ok(reject(req, &e));
        }
    }
    if impersonated || from_token {
        req.extensions_mut().insert(RequestUser(user));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn reject(req: ServiceRequest, e: &ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(crate::rest::output::error_response(e))
}

/// 403 Forbidden as upstream words it:
/// `pods is forbidden: User "x" cannot list resource "pods" in API group ""
/// in the namespace "default"`, with `: REASON` when the authorizer gave one.
pub fn forbidden(attrs: &Attributes<'_>, reason: &str) -> ApiError {
    let mut why = attrs.forbidden_message();
    if !reason.is_empty() {
        why.push_str(": ");
        why.push_str(reason);
    }
    let resource = if attrs.resource_request {
        attrs.resource
    } else {
        ""
    };
    let group = if attrs.resource_request {
        attrs.group
    } else {
        ""
    };
    let qualified = crate::error::qualified(group, resource);
    let message = if resource.is_empty() {
        format!("forbidden: {why}")
    } else if attrs.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {why}", attrs.name)
    };
    ApiError::new(403, "Forbidden", message).with_details(Details {
        name: (!attrs.name.is_empty()).then(|| attrs.name.to_string()),
        group: (!group.is_empty()).then(|| group.to_string()),
        kind: (!resource.is_empty()).then(|| resource.to_string()),
        ..Default::default()
    })
}

/// 401 Unauthorized, as upstream answers bad credentials.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_names() {
        assert_eq!(
            split_service_account("system:serviceaccount:default:x"),
            Some(("default", "x"))
        );
        assert_eq!(split_service_account("system:serviceaccount:default"), None);
        assert_eq!(split_service_account("system:serviceaccount::x"), None);
        assert_eq!(split_service_account("system:serviceaccount:a:b:c"), None);
        assert_eq!(split_service_account("bob"), None);
    }

    #[test]
    fn forbidden_messages_match_upstream() {
        let anon = User::anonymous();
        let a = Attributes::from_request(&anon, "GET", "/api/v1/namespaces/default/pods", "");
        let e = forbidden(&a, "");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        let a = Attributes::from_request(&anon, "GET", "/apis/apps/v1/deployments", "");
        assert_eq!(
            forbidden(&a, "").message,
            "deployments.apps is forbidden: User \"system:anonymous\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
        );
        let a = Attributes::from_request(&anon, "PUT", "/api/v1/namespaces/ns/pods/web/status", "");
        let e = forbidden(&a, "");
        assert_eq!(
            e.message,
            "pods \"web\" is forbidden: User \"system:anonymous\" cannot update resource \"pods/status\" in API group \"\" in the namespace \"ns\""
        );
        let d = e.details.expect("details");
        assert_eq!(d.name.as_deref(), Some("web"));
        assert_eq!(d.kind.as_deref(), Some("pods"));
        let a = Attributes::from_request(&anon, "GET", "/metrics", "");
        assert_eq!(
            forbidden(&a, "").message,
            "forbidden: User \"system:anonymous\" cannot get path \"/metrics\""
        );
    }
}
