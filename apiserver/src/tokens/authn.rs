//! Bearer ServiceAccount tokens as credentials: the signature and claims
//! checked by the [`Signer`], then the account (and the pod, secret or node
//! the token is bound to) must still exist with the uid the token names, as
//! upstream's service account token authenticator requires.

use serde_json::Value;

use super::{Rejected, Signer, ISSUER};
use crate::auth::{User, AUTHENTICATED, SERVICE_ACCOUNTS, SERVICE_ACCOUNT_PREFIX};
use crate::registry::{keys, meta, Registry};
use crate::state::AppState;
use crate::strategy::json::str_at;

/// Extra keys upstream attaches to service account users.
const POD_NAME: &str = "authentication.kubernetes.io/pod-name";
const POD_UID: &str = "authentication.kubernetes.io/pod-uid";
const NODE_NAME: &str = "authentication.kubernetes.io/node-name";
const NODE_UID: &str = "authentication.kubernetes.io/node-uid";
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// The user `token` authenticates, for one of `audiences` (the API server's
/// own when empty), and the audiences it was accepted for.
pub async fn user_of(
    state: &AppState,
    signer: &Signer,
    token: &str,
    audiences: &[&str],
) -> Result<(User, Vec<String>), Rejected> {
    let audiences = if audiences.is_empty() {
        &[ISSUER][..]
    } else {
        audiences
    };
    let now = jiff::Timestamp::now().as_second();
    let claims = signer.verify(token, audiences, now)?;
    let private = &claims["kubernetes.io"];
    let ns = str_at(private, &["namespace"]);
    let name = str_at(private, &["serviceaccount", "name"]);
    let uid = str_at(private, &["serviceaccount", "uid"]);
    if ns.is_empty() || name.is_empty() {
        return Err(Rejected::Claims(
            "service account token is missing its claims".into(),
        ));
    }
    let mut extra = std::collections::BTreeMap::new();
    still_there(state, "serviceaccounts", Some(ns), name, uid).await?;
    if let Some(pod) = private.get("pod") {
        let (pod_name, pod_uid) = (str_at(pod, &["name"]), str_at(pod, &["uid"]));
        still_there(state, "pods", Some(ns), pod_name, pod_uid).await?;
        extra.insert(POD_NAME.to_string(), vec![pod_name.to_string()]);
        extra.insert(POD_UID.to_string(), vec![pod_uid.to_string()]);
    }
    if let Some(secret) = private.get("secret") {
        still_there(
            state,
            "secrets",
            Some(ns),
            str_at(secret, &["name"]),
            str_at(secret, &["uid"]),
        )
        .await?;
    }
    if let Some(node) = private.get("node") {
        let (node_name, node_uid) = (str_at(node, &["name"]), str_at(node, &["uid"]));
        // A pod-bound token names its node for information only.
        if private.get("pod").is_none() {
            still_there(state, "nodes", None, node_name, node_uid).await?;
        }
        extra.insert(NODE_NAME.to_string(), vec![node_name.to_string()]);
        extra.insert(NODE_UID.to_string(), vec![node_uid.to_string()]);
    }
    if let Some(jti) = claims["jti"].as_str() {
        extra.insert(CREDENTIAL_ID.to_string(), vec![format!("JTI={jti}")]);
    }
    let token_audiences: Vec<String> = match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    let accepted = audiences
        .iter()
        .filter(|a| token_audiences.iter().any(|t| t == *a))
        .map(|a| a.to_string())
        .collect();
    let user = User {
        name: format!("{SERVICE_ACCOUNT_PREFIX}{ns}:{name}"),
        uid: uid.to_string(),
        groups: vec![
            SERVICE_ACCOUNTS.to_string(),
            format!("{SERVICE_ACCOUNTS}:{ns}"),
            AUTHENTICATED.to_string(),
        ],
        extra,
    };
    Ok((user, accepted))
}

/// The object exists with `uid`: from the watch cache, or from the store
/// when the cache has not seen it (yet).
async fn still_there(
    state: &AppState,
    plural: &str,
    ns: Option<&str>,
    name: &str,
    uid: &str,
) -> Result<(), Rejected> {
    let Some(info) = crate::resources::lookup("", "v1", plural) else {
        return Err(Rejected::Claims(format!("{plural} are not served")));
    };
    let cache = state.cache(&keys::resource_prefix(info));
    let key = keys::object_key(info, ns, name);
    let found = match cache.get(&key) {
        Some(obj) if meta::uid(&obj) == uid => return Ok(()),
        _ => Registry::new(state.store.clone(), info)
            .current(ns, name)
            .await
            .map_err(|e| Rejected::Claims(e.message))?
            .map(|(obj, _)| obj),
    };
    let what = match plural {
        "serviceaccounts" => "service account",
        "pods" => "pod",
        "secrets" => "secret",
        _ => "node",
    };
    let full = match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    match found {
        None => Err(Rejected::Claims(format!("{what} {full} has been deleted"))),
        Some(obj) if meta::uid(&obj) != uid => Err(Rejected::Claims(format!(
            "{what} UID ({}) does not match claim ({uid})",
            meta::uid(&obj)
        ))),
        Some(_) => Ok(()),
    }
}
