//! Compact JWS with ES256 (RFC 7515 / 7518), just what ServiceAccount tokens
//! need: a `{"alg":"ES256","kid":...}` header, JSON claims, and the raw
//! `r || s` signature, each part base64url without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::{json, Value};

/// Why a token is not accepted (upstream answers every case with 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("not a signed token of this issuer")]
    Malformed,
    #[error("invalid signature")]
    Signature,
    #[error("{0}")]
    Claims(String),
}

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn sign(
    pair: &EcdsaKeyPair,
    rng: &SystemRandom,
    kid: &str,
    claims: &Value,
) -> Result<String, String> {
    let header = json!({"alg": "ES256", "kid": kid});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = pair
        .sign(rng, input.as_bytes())
        .map_err(|_| "signing the token failed".to_string())?;
    Ok(format!("{input}.{}", b64(sig.as_ref())))
}

/// The claims of `token` if `public` (an uncompressed P-256 point) signed it.
pub fn verify(public: &[u8], kid: &str, token: &str) -> Result<Value, Rejected> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejected::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| Rejected::Malformed)
    };
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| Rejected::Malformed)?;
    if header["alg"] != "ES256" || header.get("kid").is_some_and(|k| k != kid) {
        return Err(Rejected::Malformed);
    }
    let signed = &token[..h.len() + 1 + p.len()];
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
        .verify(signed.as_bytes(), &decode(s)?)
        .map_err(|_| Rejected::Signature)?;
    serde_json::from_slice(&decode(p)?).map_err(|_| Rejected::Malformed)
}

/// Issuer, audience and validity period, with upstream's messages.
pub fn check_claims(
    claims: &Value,
    issuer: &str,
    audiences: &[&str],
    now: i64,
) -> Result<(), Rejected> {
    if claims["iss"] != issuer {
        return Err(Rejected::Malformed);
    }
    let auds: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !auds.iter().any(|a| audiences.contains(a)) {
        return Err(Rejected::Claims("token audiences is invalid".into()));
    }
    let time = |k: &str| claims[k].as_i64();
    // Upstream allows 60 s of clock skew either way.
    if time("exp").is_none_or(|exp| now > exp + 60) {
        return Err(Rejected::Claims("service account token has expired".into()));
    }
    if time("nbf").is_some_and(|nbf| now + 60 < nbf) {
        return Err(Rejected::Claims(
            "service account token is not valid yet".into(),
        ));
    }
    Ok(())
}
