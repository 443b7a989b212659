//! Request bodies: read with a size limit, decoded from JSON or YAML by
//! Content-Type.

use actix_web::{web, HttpRequest};
use futures::StreamExt;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub mod protobuf;

/// kube-apiserver's default `--max-request-bytes`-derived body limit (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The media type of a request body, without parameters, lower-cased.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] with 413.
pub async fn read(mut payload: web::Payload) -> ApiResult<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(),
            other => ApiError::bad_request(format!("error reading request body: {other}")),
        })?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn too_large() -> ApiError {
    ApiError::too_large(format!(
        "Request entity too large: limit is {MAX_BODY_BYTES}"
    ))
}

/// Decodes an object body (create, update) by its media type.
pub fn decode_object(media: &str, bytes: &[u8]) -> ApiResult<Value> {
    let value = match media {
        "" | "application/json" | "*/*" => decode_json(bytes)?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => decode_yaml(bytes)?,
        "application/vnd.kubernetes.protobuf" => protobuf::decode(bytes)?,
        _ => {
            return Err(ApiError::unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            ))
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the request body",
        ));
    }
    Ok(value)
}

/// Strict JSON, with upstream's message for malformed input.
pub fn decode_json(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request("Object 'Kind' is missing in ''"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "couldn't get version/kind; json parse error: {}",
            json_error(&e)
        ))
    })
}

/// YAML (one document) converted to JSON.
pub fn decode_yaml(bytes: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("error converting YAML to JSON: invalid UTF-8"))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("Object 'Kind' is missing in ''"));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("").to_string();
        ApiError::bad_request(format!("error converting YAML to JSON: yaml: {first}"))
    })
}

/// serde_json's message, phrased close to Go's encoding/json.
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of JSON input".to_string(),
        _ => e.to_string(),
    }
}

/// Decodes a body that must be JSON whatever its declared type (patches).
pub fn decode_patch_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(json_error(&e)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_decode_to_the_same_value() {
        let j = decode_object(
            "application/json",
            br#"{"kind":"ConfigMap","data":{"a":"1"}}"#,
        )
        .unwrap();
        let y = decode_object("application/yaml", b"kind: ConfigMap\ndata:\n  a: \"1\"\n").unwrap();
        assert_eq!(j, y);
    }

    #[test]
    fn malformed_bodies_are_bad_requests() {
        let e = decode_object("application/json", b"{\"kind\":").unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e
            .message
            .starts_with("couldn't get version/kind; json parse error"));
        assert_eq!(
            decode_object("application/yaml", b"a: [\n")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_object("application/json", b"[1]").unwrap_err().code,
            400
        );
        assert_eq!(decode_object("text/plain", b"{}").unwrap_err().code, 415);
    }
}
