//! ServiceAccount tokens: the ES256-signed JSON Web Tokens kube-apiserver
//! issues through `serviceaccounts/{name}/token` (TokenRequest), checked
//! again when they come back as bearer tokens. The signing key lives in the
//! store, so every node of a cluster signs and checks with the same one, and
//! its public half is published by OIDC discovery
//! (`/.well-known/openid-configuration`, `/openid/v1/jwks`) as upstream does.

pub mod authn;
mod jwt;
pub mod request;

use std::sync::Arc;

use openraft_store::{Compare, Consistency, Op, Revision, Store, TxnRequest};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

pub use jwt::Rejected;

/// The issuer (`iss`) and default audience, kubeadm's default
/// `--service-account-issuer`.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Where the signing key (PKCS#8) is kept in the store: outside `/registry/`,
/// so no API reads or watches it.
const KEY: &[u8] = b"/ferrokube/serviceaccount-signing-key";

/// A DER SubjectPublicKeyInfo of a P-256 key is this prefix plus the point.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

pub struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    /// Key id: base64url of the SHA-256 of the public key's DER, as upstream.
    kid: String,
    jwks_uri: String,
}

impl Signer {
    /// The cluster's signing key, created and stored by the first node that
    /// finds none (a compare-and-swap, so concurrent starts agree on one).
    pub async fn load_or_create(
        store: &Arc<dyn Store>,
        server_url: &str,
    ) -> Result<Signer, String> {
        let rng = SystemRandom::new();
        loop {
            let (current, _) = store
                .get(KEY, None, Consistency::Linearizable)
                .await
                .map_err(|e| format!("reading the service account key: {e}"))?;
            if let Some(kv) = current {
                return Signer::from_pkcs8(&kv.value, rng, server_url);
            }
            let fresh = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| "generating the service account key failed".to_string())?;
            store
                .txn(TxnRequest {
                    compares: vec![Compare {
                        key: KEY.to_vec(),
                        mod_revision: Revision::ZERO,
                    }],
                    success: vec![Op::Put {
                        key: KEY.to_vec(),
                        value: fresh.as_ref().to_vec(),
                    }],
                })
                .await
                .map_err(|e| format!("storing the service account key: {e}"))?;
            // Read back: another node may have stored its key first.
        }
    }

    fn from_pkcs8(pkcs8: &[u8], rng: SystemRandom, server_url: &str) -> Result<Signer, String> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| format!("the stored service account key is unusable: {e}"))?;
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let kid = jwt::b64(ring::digest::digest(&ring::digest::SHA256, &spki).as_ref());
        Ok(Signer {
            pair,
            rng,
            kid,
            jwks_uri: format!("{}/openid/v1/jwks", server_url.trim_end_matches('/')),
        })
    }

    /// A signed token carrying `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        jwt::sign(&self.pair, &self.rng, &self.kid, claims)
    }

    /// The claims of `token` if this key signed it, it was issued here for
    /// one of `audiences`, and it is valid at `now` (Unix seconds).
    pub fn verify(&self, token: &str, audiences: &[&str], now: i64) -> Result<Value, Rejected> {
        let claims = jwt::verify(self.pair.public_key().as_ref(), &self.kid, token)?;
        jwt::check_claims(&claims, ISSUER, audiences, now)?;
        Ok(claims)
    }

    /// `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": jwt::b64(&point[1..33]),
            "y": jwt::b64(&point[33..65]),
        }]})
    }

    /// `/.well-known/openid-configuration`.
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": ISSUER,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }
}

/// OIDC discovery routes (public, as upstream serves them to anyone allowed
/// `system:service-account-issuer-discovery`).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::{web, HttpResponse};
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(|s: web::Data<Signer>| async move {
            HttpResponse::Ok().json(s.openid_configuration())
        }),
    )
    .route(
        "/openid/v1/jwks",
        web::get().to(|s: web::Data<Signer>| async move {
            HttpResponse::Ok()
                .content_type("application/jwk-set+json")
                .body(s.jwks().to_string())
        }),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer::from_pkcs8(pkcs8.as_ref(), rng, "https://127.0.0.1:6443/").unwrap()
    }

    fn claims(aud: &str, iat: i64, exp: i64) -> Value {
        json!({"iss": ISSUER, "aud": [aud], "iat": iat, "nbf": iat, "exp": exp,
               "sub": "system:serviceaccount:default:robot"})
    }

    #[test]
    fn signed_tokens_verify_and_altered_ones_do_not() {
        let s = signer();
        let token = s.sign(&claims(ISSUER, 100, 4000)).unwrap();
        let got = s.verify(&token, &[ISSUER], 200).unwrap();
        assert_eq!(got["sub"], "system:serviceaccount:default:robot");
        // Another key's token, a changed payload, expiry, audience, garbage.
        let other = signer().sign(&claims(ISSUER, 100, 4000)).unwrap();
        assert!(s.verify(&other, &[ISSUER], 200).is_err());
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = jwt::b64(claims(ISSUER, 100, 99999).to_string().as_bytes());
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(s.verify(&forged, &[ISSUER], 200).is_err());
        assert!(s.verify(&token, &[ISSUER], 5000).is_err());
        assert!(s.verify(&token, &["vault"], 200).is_err());
        assert!(s.verify("not.a.jwt", &[ISSUER], 200).is_err());
        assert!(s.verify("", &[ISSUER], 200).is_err());
    }

    #[test]
    fn jwks_publishes_the_key_under_its_id() {
        let s = signer();
        let jwks = s.jwks();
        assert_eq!(jwks["keys"][0]["kid"], s.kid);
        assert_eq!(jwks["keys"][0]["x"].as_str().unwrap().len(), 43);
        assert_eq!(
            s.openid_configuration()["jwks_uri"],
            "https://127.0.0.1:6443/openid/v1/jwks"
        );
    }
}
