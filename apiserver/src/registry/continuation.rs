//! List continue tokens, in upstream's shape: unpadded URL-safe base64 of
//! `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after prefix>"}`.

use openraft_store::Revision;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Token {
    v: String,
    rv: i64,
    start: String,
}

/// Where a list continues: at `start` (relative to the list prefix), read at `revision`.
#[derive(Debug, PartialEq, Eq)]
pub struct Continue {
    pub revision: Revision,
    pub start: String,
}

pub fn encode(revision: Revision, start: &str) -> String {
    let t = Token {
        v: "meta.k8s.io/v1".into(),
        rv: revision.0 as i64,
        start: start.to_string(),
    };
    b64_encode(&serde_json::to_vec(&t).unwrap_or_default())
}

pub fn decode(token: &str) -> ApiResult<Continue> {
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = b64_decode(token).ok_or_else(|| invalid("illegal base64 data"))?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))?;
    if t.v != "meta.k8s.io/v1" {
        return Err(invalid("server does not recognize this encoded key"));
    }
    if t.rv <= 0 {
        return Err(invalid(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    if t.start.is_empty() || t.start.starts_with('/') || t.start.contains("..") {
        return Err(invalid("key provided is not valid"));
    }
    Ok(Continue {
        revision: Revision(t.rv as u64),
        start: t.start,
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = encode(Revision(42), "default/web\u{0}");
        assert!(!t.contains('='));
        assert_eq!(
            decode(&t).unwrap(),
            Continue {
                revision: Revision(42),
                start: "default/web\u{0}".into()
            }
        );
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(b64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64_encode(b"fo"), "Zm8");
        assert_eq!(b64_decode("Zm8").unwrap(), b"fo");
    }

    #[test]
    fn garbage_tokens_are_bad_requests() {
        assert_eq!(decode("!!!").unwrap_err().code, 400);
        assert_eq!(decode(&b64_encode(b"{}")).unwrap_err().code, 400);
        assert_eq!(
            decode(&b64_encode(
                br#"{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}"#
            ))
            .unwrap_err()
            .code,
            400
        );
    }
}
