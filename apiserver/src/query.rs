//! Query parameters of REST requests, parsed once at the HTTP edge.
//! `resourceVersion` strings become [`Revision`]s here and nowhere else.

use openraft_store::Revision;

use crate::error::{ApiError, ApiResult};

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    NotOlderThan,
    Exact,
}

/// `fieldValidation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    Warn,
    /// The default since v1.27.
    #[default]
    Strict,
}

/// Parses a `resourceVersion`: `""` is `None`, anything else must be a
/// decimal revision.
pub fn parse_rv(s: &str) -> ApiResult<Option<Revision>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>().map(|n| Some(Revision(n))).map_err(|_| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: \"{s}\": strconv.ParseUint: parsing \"{s}\": invalid syntax"
        ))
    })
}

/// A `resourceVersion` precondition carried in an object (update, delete):
/// unparsable ones can never match, which upstream reports as a conflict.
pub fn parse_rv_precondition(s: &str) -> Option<Revision> {
    s.parse::<u64>().ok().map(Revision)
}

/// All query parameters a REST request may carry.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(query_string: &str) -> ApiResult<Query> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query_string)?;
        Ok(Query { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn bool(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("") | Some("false") | Some("0") | Some("False") | Some("FALSE") => {
                Ok(false)
            }
            Some("true") | Some("1") | Some("True") | Some("TRUE") | Some("t") | Some("T") => {
                Ok(true)
            }
            Some(v) => Err(ApiError::bad_request(format!(
                "strconv.ParseBool: parsing \"{v}\": invalid syntax"
            ))),
        }
    }

    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("strconv.ParseInt: parsing \"{v}\": invalid syntax"))
            }),
        }
    }

    pub fn resource_version(&self) -> ApiResult<Option<Revision>> {
        parse_rv(self.get("resourceVersion").unwrap_or(""))
    }

    /// `resourceVersion` as given (`None` when absent or empty).
    pub fn resource_version_raw(&self) -> Option<&str> {
        self.get("resourceVersion").filter(|s| !s.is_empty())
    }

    pub fn rv_match(&self) -> ApiResult<Option<RvMatch>> {
        match self.get("resourceVersionMatch") {
            None | Some("") => Ok(None),
            Some("NotOlderThan") => Ok(Some(RvMatch::NotOlderThan)),
            Some("Exact") => Ok(Some(RvMatch::Exact)),
            Some(other) => Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
            ))),
        }
    }

    /// `dryRun=All` (any other value is rejected as upstream does).
    pub fn dry_run(&self) -> ApiResult<bool> {
        let values = self.all("dryRun");
        for v in &values {
            if *v != "All" {
                return Err(ApiError::bad_request(format!(
                    "Invalid dry run value: {v}, supported values: All"
                )));
            }
        }
        Ok(!values.is_empty())
    }

    pub fn field_validation(&self) -> ApiResult<FieldValidation> {
        match self.get("fieldValidation") {
            None | Some("") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }

    pub fn field_manager(&self) -> ApiResult<Option<String>> {
        match self.get("fieldManager") {
            None | Some("") => Ok(None),
            Some(m) if m.chars().count() > 128 => Err(ApiError::bad_request(
                "fieldManager: Too long: may not be more than 128 bytes",
            )),
            Some(m) if m.chars().any(|c| c.is_control()) => Err(ApiError::bad_request(
                "fieldManager: Invalid value: must only contain printable characters",
            )),
            Some(m) => Ok(Some(m.to_string())),
        }
    }

    pub fn label_selector(&self) -> &str {
        self.get("labelSelector").unwrap_or("")
    }

    pub fn field_selector(&self) -> &str {
        self.get("fieldSelector").unwrap_or("")
    }

    pub fn limit(&self) -> ApiResult<usize> {
        Ok(self.int("limit")?.filter(|n| *n > 0).unwrap_or(0) as usize)
    }
}

fn serde_urlencoded_pairs(qs: &str) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> ApiResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("invalid URL escape in query: {s:?}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request("invalid UTF-8 in query parameters"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resource_versions_parse_in_one_place() {
        assert_eq!(parse_rv("").unwrap(), None);
        assert_eq!(parse_rv("42").unwrap(), Some(Revision(42)));
        assert_eq!(parse_rv("abc").unwrap_err().code, 400);
    }

    #[test]
    fn query_decodes_selectors_and_flags() {
        let q = Query::parse("labelSelector=app%3Dweb%2Ctier+in+(a)&watch=1&dryRun=All&limit=5")
            .unwrap();
        assert_eq!(q.label_selector(), "app=web,tier in (a)");
        assert!(q.bool("watch").unwrap());
        assert!(q.dry_run().unwrap());
        assert_eq!(q.limit().unwrap(), 5);
        assert!(Query::parse("dryRun=Some").unwrap().dry_run().is_err());
        assert!(Query::parse("watch=maybe").unwrap().bool("watch").is_err());
        assert_eq!(
            Query::parse("fieldValidation=Warn")
                .unwrap()
                .field_validation()
                .unwrap(),
            FieldValidation::Warn
        );
    }
}
