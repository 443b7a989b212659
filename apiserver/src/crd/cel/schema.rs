//! A read-only view of one node of an OpenAPI v3 schema (JSON), with what
//! rules need of it, and upstream's escaping of property names for CEL.

use serde_json::Value as Json;

#[derive(Clone, Copy)]
pub(super) struct Node<'a>(pub(super) &'a Json);

impl<'a> Node<'a> {
    fn get(&self, k: &str) -> Option<&'a Json> {
        self.0.get(k)
    }

    fn flag(&self, k: &str) -> bool {
        self.get(k).and_then(Json::as_bool).unwrap_or(false)
    }

    /// `type`, or "" when unset.
    pub(super) fn type_name(&self) -> &'a str {
        self.get("type").and_then(Json::as_str).unwrap_or("")
    }

    pub(super) fn format(&self) -> &'a str {
        self.get("format").and_then(Json::as_str).unwrap_or("")
    }

    pub(super) fn int_or_string(&self) -> bool {
        self.flag("x-kubernetes-int-or-string")
    }

    pub(super) fn embedded(&self) -> bool {
        self.flag("x-kubernetes-embedded-resource")
    }

    /// Whether values of this node are visible to rules (upstream leaves out
    /// fields whose schema has no CEL type).
    pub(super) fn typed(&self) -> bool {
        !self.type_name().is_empty() || self.int_or_string()
    }

    pub(super) fn items(&self) -> Option<Node<'a>> {
        self.get("items").filter(|v| v.is_object()).map(Node)
    }

    pub(super) fn properties(&self) -> impl Iterator<Item = (&'a String, Node<'a>)> {
        self.get("properties")
            .and_then(Json::as_object)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k, Node(v))))
    }

    pub(super) fn has_properties(&self) -> bool {
        self.get("properties")
            .and_then(Json::as_object)
            .is_some_and(|m| !m.is_empty())
    }

    pub(super) fn property(&self, k: &str) -> Option<Node<'a>> {
        self.get("properties").and_then(|p| p.get(k)).map(Node)
    }

    /// `additionalProperties` when it is a schema (not `true`/`false`).
    pub(super) fn additional_properties(&self) -> Option<Node<'a>> {
        self.get("additionalProperties")
            .filter(|v| v.is_object())
            .map(Node)
    }

    pub(super) fn all_of(&self) -> impl Iterator<Item = Node<'a>> {
        self.get("allOf")
            .and_then(Json::as_array)
            .into_iter()
            .flat_map(|a| a.iter().map(Node))
    }

    pub(super) fn rules(&self) -> &'a [Json] {
        self.get("x-kubernetes-validations")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(super) fn list_type(&self) -> &'a str {
        self.get("x-kubernetes-list-type")
            .and_then(Json::as_str)
            .unwrap_or("atomic")
    }

    pub(super) fn list_map_keys(&self) -> Vec<&'a str> {
        self.get("x-kubernetes-list-map-keys")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether old and new values of this map can be matched by key
    /// (upstream's `MapIsCorrelatable`: unset, `granular` or `atomic`).
    pub(super) fn map_correlatable(&self) -> bool {
        matches!(
            self.get("x-kubernetes-map-type").and_then(Json::as_str),
            None | Some("granular") | Some("atomic")
        )
    }
}

/// CEL's reserved words: a property of that name is `__name__` in rules.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// A property name as rules see it (upstream's `cel.Escape`): `__` →
/// `__underscores__`, `.` → `__dot__`, `-` → `__dash__`, `/` → `__slash__`,
/// reserved words wrapped in `__`; `None` for names rules cannot name.
pub(super) fn escape(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("__") {
            out.push_str("__underscores__");
            rest = &rest[2..];
            continue;
        }
        match c {
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_property_names_as_upstream() {
        assert_eq!(escape("foo").as_deref(), Some("foo"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(
            escape("a-b.c/d").as_deref(),
            Some("a__dash__b__dot__c__slash__d")
        );
        assert_eq!(escape("a__b").as_deref(), Some("a__underscores__b"));
        assert_eq!(escape("1a"), None);
        assert_eq!(escape("a b"), None);
    }
}
