//! Field selectors: `?fieldSelector=` parsing (`fields.ParseSelector`, with
//! backslash escapes), the labels each kind accepts (the per-kind field label
//! conversion functions of kube-apiserver's scheme) and the values an object
//! has for them (the registry strategies' `ToSelectableFields`).

use std::fmt;

use serde_json::Value;

use super::validation::go_quote;

/// `=`/`==` (equal) or `!=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    Equals,
    NotEquals,
}

/// One `field op value` term; `value` is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

/// A parsed field selector: the AND of its terms. Empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parses like upstream `fields.ParseSelector`: comma separated terms
    /// (`\,` is not a separator), each `lhs!=rhs`, `lhs==rhs` or `lhs=rhs`
    /// split at the first operator, the value unescaped (`\\`, `\,`, `\=`).
    pub fn parse(selector: &str) -> Result<Self, String> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                ));
            };
            let value = unescape_value(rhs)?;
            terms.push(FieldTerm {
                field: lhs.to_string(),
                op,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms, in upstream's (sorted) order.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// True when it selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object matches, given its value for each field. A field the
    /// object does not have reads as the empty string, as upstream's
    /// `fields.Set.Get` does.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let have = get(&t.field).unwrap_or_default();
            match t.op {
                FieldOp::Equals => have == t.value,
                FieldOp::NotEquals => have != t.value,
            }
        })
    }

    /// If a term requires `field` to equal one value, that value
    /// (`RequiresExactMatch`; e.g. `metadata.name` for a single-key read).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.op == FieldOp::Equals)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let op = match t.op {
                    FieldOp::Equals => "=",
                    FieldOp::NotEquals => "!=",
                };
                format!("{}{op}{}", t.field, escape_value(&t.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Splits at commas that are not backslash-escaped (escapes kept).
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator (`!=` before `==` before `=`).
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, value));
            }
        }
    }
    None
}

/// upstream `fields.UnescapeValue`.
pub fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ))
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // upstream prints the rune with %v: its code point.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ))
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// upstream `fields.EscapeValue`.
pub fn escape_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

// ---- per-kind field labels ----

/// How a kind's field label conversion treats a label.
enum Conversion {
    /// kinds with no conversion function: `metadata.name`, `metadata.namespace`.
    Default,
    /// accepted labels (label -> canonical label) and the rejection message.
    Table(&'static [(&'static str, &'static str)], fn(&str) -> String),
}

fn not_supported(label: &str) -> String {
    format!("field label not supported: {label}")
}

fn not_supported_for_job(label: &str) -> String {
    format!("field label {} not supported for Job", go_quote(label))
}

const POD: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("spec.nodeName", "spec.nodeName"),
    ("spec.restartPolicy", "spec.restartPolicy"),
    ("spec.schedulerName", "spec.schedulerName"),
    ("spec.serviceAccountName", "spec.serviceAccountName"),
    ("spec.hostNetwork", "spec.hostNetwork"),
    ("status.phase", "status.phase"),
    ("status.podIP", "status.podIP"),
    ("status.podIPs", "status.podIPs"),
    ("status.nominatedNodeName", "status.nominatedNodeName"),
    // old v1 clients
    ("spec.host", "spec.nodeName"),
];
const NODE: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("spec.unschedulable", "spec.unschedulable"),
];
const REPLICATION_CONTROLLER: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("status.replicas", "status.replicas"),
];
const CORE_EVENT: &[(&str, &str)] = &[
    ("involvedObject.kind", "involvedObject.kind"),
    ("involvedObject.namespace", "involvedObject.namespace"),
    ("involvedObject.name", "involvedObject.name"),
    ("involvedObject.uid", "involvedObject.uid"),
    ("involvedObject.apiVersion", "involvedObject.apiVersion"),
    (
        "involvedObject.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("involvedObject.fieldPath", "involvedObject.fieldPath"),
    ("reason", "reason"),
    ("reportingComponent", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
const EVENTS_V1_EVENT: &[(&str, &str)] = &[
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
const NAMESPACE: &[(&str, &str)] = &[
    ("status.phase", "status.phase"),
    ("metadata.name", "metadata.name"),
];
const SECRET: &[(&str, &str)] = &[
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
const SERVICE: &[(&str, &str)] = &[
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
    ("spec.clusterIP", "spec.clusterIP"),
    ("spec.type", "spec.type"),
];
const JOB: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("status.successful", "status.successful"),
];
const CSR: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("spec.signerName", "spec.signerName"),
];

fn conversion(group: &str, kind: &str) -> Conversion {
    use Conversion::Table;
    match (group, kind) {
        ("", "Pod") => Table(POD, not_supported),
        ("", "Node") => Table(NODE, not_supported),
        ("", "ReplicationController") => Table(REPLICATION_CONTROLLER, not_supported),
        ("", "Event") => Table(CORE_EVENT, not_supported),
        ("events.k8s.io", "Event") => Table(EVENTS_V1_EVENT, not_supported),
        ("", "Namespace") => Table(NAMESPACE, not_supported),
        ("", "Secret") => Table(SECRET, not_supported),
        ("", "Service") => Table(SERVICE, not_supported),
        ("batch", "Job") => Table(JOB, not_supported_for_job),
        ("certificates.k8s.io", "CertificateSigningRequest") => Table(CSR, not_supported),
        _ => Conversion::Default,
    }
}

/// Runs every term through the kind's field label conversion, as the list,
/// watch and deletecollection handlers do: unknown labels are an error
/// (upstream answers 400 BadRequest with this message), legacy or
/// group-specific labels are renamed to the ones [`field_value`] knows
/// (`spec.host` -> `spec.nodeName`, `regarding.name` -> `involvedObject.name`).
pub fn convert(group: &str, kind: &str, selector: &FieldSelector) -> Result<FieldSelector, String> {
    let conv = conversion(group, kind);
    let mut terms = Vec::with_capacity(selector.terms.len());
    for t in &selector.terms {
        let field = match &conv {
            Conversion::Default => match t.field.as_str() {
                "metadata.name" | "metadata.namespace" => t.field.clone(),
                other => {
                    return Err(format!(
                        "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                        go_quote(other)
                    ))
                }
            },
            Conversion::Table(table, reject) => match table.iter().find(|(l, _)| *l == t.field) {
                Some((_, canonical)) => canonical.to_string(),
                None => return Err(reject(&t.field)),
            },
        };
        terms.push(FieldTerm {
            field,
            op: t.op,
            value: t.value.clone(),
        });
    }
    Ok(FieldSelector { terms })
}

/// Whether every label of the selector is supported for the kind; the error
/// is upstream's message for the first unsupported one.
pub fn check_supported(group: &str, kind: &str, selector: &FieldSelector) -> Result<(), String> {
    convert(group, kind, selector).map(|_| ())
}

fn str_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bool_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

fn int_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

/// The value an object has for a (converted) field label, as the kind's
/// `ToSelectableFields` computes it, or `None` when the kind does not set
/// that field (which matches as the empty string).
pub fn field_value(group: &str, kind: &str, obj: &Value, field: &str) -> Option<String> {
    let meta = |p: &str| Some(str_at(obj, p));
    match field {
        "metadata.name" => return meta("/metadata/name"),
        "metadata.namespace" => return meta("/metadata/namespace"),
        _ => {}
    }
    match (group, kind, field) {
        ("", "Pod", "spec.nodeName") => meta("/spec/nodeName"),
        ("", "Pod", "spec.restartPolicy") => meta("/spec/restartPolicy"),
        ("", "Pod", "spec.schedulerName") => meta("/spec/schedulerName"),
        ("", "Pod", "spec.serviceAccountName") => meta("/spec/serviceAccountName"),
        ("", "Pod", "spec.hostNetwork") => Some(bool_at(obj, "/spec/hostNetwork")),
        ("", "Pod", "status.phase") => meta("/status/phase"),
        ("", "Pod", "status.podIP") => {
            let first = str_at(obj, "/status/podIPs/0/ip");
            Some(if first.is_empty() {
                str_at(obj, "/status/podIP")
            } else {
                first
            })
        }
        ("", "Pod", "status.nominatedNodeName") => meta("/status/nominatedNodeName"),
        ("", "Node", "spec.unschedulable") => Some(bool_at(obj, "/spec/unschedulable")),
        ("", "Namespace", "status.phase") => meta("/status/phase"),
        ("", "Namespace", "name") => meta("/metadata/name"),
        ("", "Secret", "type") => meta("/type"),
        ("", "Service", "spec.clusterIP") => meta("/spec/clusterIP"),
        ("", "Service", "spec.type") => meta("/spec/type"),
        ("", "ReplicationController", "status.replicas")
        | ("apps", "ReplicaSet", "status.replicas") => Some(int_at(obj, "/status/replicas")),
        ("batch", "Job", "status.successful") => Some(int_at(obj, "/status/succeeded")),
        ("certificates.k8s.io", "CertificateSigningRequest", "spec.signerName") => {
            meta("/spec/signerName")
        }
        ("", "Event", f) => core_event_field(obj, f),
        ("events.k8s.io", "Event", f) => events_v1_field(obj, f),
        _ => None,
    }
}

fn core_event_field(obj: &Value, field: &str) -> Option<String> {
    if let Some(sub) = field.strip_prefix("involvedObject.") {
        return involved(obj, "involvedObject", sub);
    }
    match field {
        "reason" => Some(str_at(obj, "/reason")),
        "reportingComponent" => Some(str_at(obj, "/reportingComponent")),
        "type" => Some(str_at(obj, "/type")),
        "source" => {
            let component = str_at(obj, "/source/component");
            Some(if component.is_empty() {
                str_at(obj, "/reportingComponent")
            } else {
                component
            })
        }
        _ => None,
    }
}

fn events_v1_field(obj: &Value, field: &str) -> Option<String> {
    if let Some(sub) = field.strip_prefix("involvedObject.") {
        return involved(obj, "regarding", sub);
    }
    match field {
        "reason" => Some(str_at(obj, "/reason")),
        "reportingComponent" => Some(str_at(obj, "/reportingController")),
        "type" => Some(str_at(obj, "/type")),
        "source" => {
            let component = str_at(obj, "/deprecatedSource/component");
            Some(if component.is_empty() {
                str_at(obj, "/reportingController")
            } else {
                component
            })
        }
        _ => None,
    }
}

fn involved(obj: &Value, at: &str, sub: &str) -> Option<String> {
    match sub {
        "kind" | "namespace" | "name" | "uid" | "apiVersion" | "resourceVersion" | "fieldPath" => {
            Some(str_at(obj, &format!("/{at}/{sub}")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> FieldSelector {
        match FieldSelector::parse(s) {
            Ok(f) => f,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn operators() {
        let f = parse("metadata.name=a,spec.nodeName!=n1,status.phase==Running");
        assert_eq!(
            f.terms(),
            &[
                FieldTerm {
                    field: "metadata.name".into(),
                    op: FieldOp::Equals,
                    value: "a".into()
                },
                FieldTerm {
                    field: "spec.nodeName".into(),
                    op: FieldOp::NotEquals,
                    value: "n1".into()
                },
                FieldTerm {
                    field: "status.phase".into(),
                    op: FieldOp::Equals,
                    value: "Running".into()
                },
            ]
        );
        let get = |f: &str| match f {
            "metadata.name" => Some("a".to_string()),
            "spec.nodeName" => Some("n2".to_string()),
            "status.phase" => Some("Running".to_string()),
            _ => None,
        };
        assert!(f.matches(get));
        assert!(!parse("spec.nodeName!=n2").matches(get));
        assert!(parse("spec.other=").matches(get));
        assert!(!parse("spec.other!=").matches(get));
        assert!(parse("").matches(get) && parse("").is_empty());
        assert!(parse(",,").is_empty());
        assert_eq!(f.requires_exact_match("metadata.name"), Some("a"));
        assert_eq!(f.requires_exact_match("spec.nodeName"), None);
        // `a==b`: `==` wins over `=`; `a!==b`: value is `=b`, an unescaped `=`.
        assert_eq!(parse("a==b").terms()[0].value, "b");
        assert_eq!(
            FieldSelector::parse("a!==b"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
    }

    #[test]
    fn escapes() {
        let f = parse(r"metadata.name=a\,b\=c\\d,x=y");
        assert_eq!(f.terms()[0].value, r"a,b=c\d");
        assert_eq!(f.terms()[1].value, "y");
        assert_eq!(f.to_string(), r"metadata.name=a\,b\=c\\d,x=y");
        assert_eq!(
            FieldSelector::parse(r"a=b\c"),
            Err(r"invalid field selector: invalid escape sequence: \c".to_string())
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\"),
            Err(r"invalid field selector: invalid escape sequence: \".to_string())
        );
        assert_eq!(
            FieldSelector::parse("a=b=c"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
    }

    #[test]
    fn syntax_error() {
        assert_eq!(
            FieldSelector::parse("metadata.name=a,bogus"),
            Err("invalid selector: 'metadata.name=a,bogus'; can't understand 'bogus'".to_string())
        );
    }

    #[test]
    fn supported_fields_and_messages() {
        let pod = parse("spec.host=n1,status.phase=Running");
        let converted = convert("", "Pod", &pod).expect("pod fields");
        assert_eq!(converted.terms()[0].field, "spec.nodeName");
        assert_eq!(
            check_supported("", "Pod", &parse("spec.foo=x")),
            Err("field label not supported: spec.foo".to_string())
        );
        assert_eq!(
            check_supported("apps", "Deployment", &parse("status.replicas=1")),
            Err("\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".to_string())
        );
        assert!(check_supported(
            "apps",
            "Deployment",
            &parse("metadata.namespace=a,metadata.name=b")
        )
        .is_ok());
        assert_eq!(
            check_supported("", "Node", &parse("metadata.namespace=x")),
            Err("field label not supported: metadata.namespace".to_string())
        );
        assert_eq!(
            check_supported("batch", "Job", &parse("spec.x=1")),
            Err("field label \"spec.x\" not supported for Job".to_string())
        );
        for f in [
            "involvedObject.kind",
            "involvedObject.uid",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ] {
            assert!(
                check_supported("", "Event", &parse(&format!("{f}=x"))).is_ok(),
                "{f}"
            );
        }
        let ev = convert(
            "events.k8s.io",
            "Event",
            &parse("regarding.name=p,reportingController=c"),
        )
        .expect("ev");
        assert_eq!(ev.terms()[0].field, "involvedObject.name");
        assert_eq!(ev.terms()[1].field, "reportingComponent");
        assert!(
            check_supported("events.k8s.io", "Event", &parse("involvedObject.name=x")).is_err()
        );
        assert!(check_supported("", "Secret", &parse("type=Opaque")).is_ok());
        assert!(check_supported("", "Namespace", &parse("status.phase=Active")).is_ok());
        assert!(check_supported("", "ReplicationController", &parse("status.replicas=1")).is_ok());
    }

    #[test]
    fn values_from_objects() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}], "podIP": "10.0.0.5"}
        });
        let v = |f: &str| field_value("", "Pod", &pod, f);
        assert_eq!(v("metadata.namespace").as_deref(), Some("ns"));
        assert_eq!(v("spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(v("spec.hostNetwork").as_deref(), Some("false"));
        assert_eq!(v("status.podIP").as_deref(), Some("10.0.0.5"));
        assert_eq!(v("status.podIPs"), None);
        let sel = convert("", "Pod", &parse("spec.host=n1,status.phase!=Pending")).expect("ok");
        assert!(sel.matches(|f| field_value("", "Pod", &pod, f)));

        let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}});
        assert_eq!(
            field_value("batch", "Job", &job, "status.successful").as_deref(),
            Some("2")
        );
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(
            field_value("", "Node", &node, "spec.unschedulable").as_deref(),
            Some("true")
        );

        let core = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "reportingComponent": "kubelet", "source": {}});
        assert_eq!(
            field_value("", "Event", &core, "involvedObject.kind").as_deref(),
            Some("Pod")
        );
        assert_eq!(
            field_value("", "Event", &core, "source").as_deref(),
            Some("kubelet")
        );
        let v1 =
            json!({"regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet"});
        assert_eq!(
            field_value("events.k8s.io", "Event", &v1, "involvedObject.name").as_deref(),
            Some("p")
        );
        assert_eq!(
            field_value("events.k8s.io", "Event", &v1, "reportingComponent").as_deref(),
            Some("kubelet")
        );
    }
}
