//! Type checks of request bodies against the built-in kinds' schemas: what
//! decoding into the Go types refuses in kube-apiserver (a number where a
//! string belongs, a string where a list belongs, a bad quantity, time or
//! base64 value). Without them a malformed object would be stored and then
//! break every typed client that lists it.
//!
//! One walk finds the problems; each request path words them as upstream's
//! decoder on that path does: `encoding/json` for create and update bodies
//! and JSON/merge patches, the unstructured converter for strategic merge
//! patches, structured-merge-diff for server-side apply.

use serde_json::Value;

use super::schemas::{Definitions, INT_OR_STRING, QUANTITY, V3_PREFIX};
use crate::crd::schema::goval;

const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const QUANTITY_FORMAT: &str = "quantities must match the regular expression \
     '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// The Go type a value decodes into.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    String,
    Int32,
    Int64,
    Float,
    Bool,
    /// `[]byte`: a base64 string.
    Bytes,
    /// A struct, by definition name.
    Struct(String),
    Map(Box<Target>),
    Slice(Box<Target>),
    Quantity,
    IntOrString,
    Time,
    MicroTime,
    /// Anything goes (RawExtension, FieldsV1, preserved unknown fields).
    Any,
}

impl Target {
    fn of(defs: &Definitions, schema: &Value) -> Target {
        Self::resolve(defs, schema, 0)
    }

    fn resolve(defs: &Definitions, schema: &Value, depth: usize) -> Target {
        if depth > 16 {
            return Target::Any;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix(V3_PREFIX).unwrap_or(r);
            return match name {
                QUANTITY => Target::Quantity,
                INT_OR_STRING => Target::IntOrString,
                TIME => Target::Time,
                MICRO_TIME => Target::MicroTime,
                _ => match defs.defs.get(name) {
                    Some(def) if def.get("properties").is_some() => Target::Struct(name.into()),
                    Some(def) => Self::resolve(defs, def, depth + 1),
                    None => Target::Any,
                },
            };
        }
        if let Some([one]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            return Self::resolve(defs, one, depth + 1);
        }
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return Target::Any;
        }
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return Target::IntOrString;
        }
        let format = schema.get("format").and_then(Value::as_str);
        match schema.get("type").and_then(Value::as_str) {
            Some("string") if format == Some("byte") => Target::Bytes,
            Some("string") => Target::String,
            Some("integer") if format == Some("int32") => Target::Int32,
            Some("integer") => Target::Int64,
            Some("number") => Target::Float,
            Some("boolean") => Target::Bool,
            Some("array") => match schema.get("items") {
                Some(items) => Target::Slice(Box::new(Self::resolve(defs, items, depth + 1))),
                None => Target::Any,
            },
            _ => match schema.get("additionalProperties") {
                Some(ap @ Value::Object(_)) => {
                    Target::Map(Box::new(Self::resolve(defs, ap, depth + 1)))
                }
                _ => Target::Any,
            },
        }
    }

    /// The Go type's name as `%v` of its `reflect.Type` prints it.
    fn go_type(&self) -> String {
        match self {
            Target::String => "string".into(),
            Target::Int32 => "int32".into(),
            Target::Int64 => "int64".into(),
            Target::Float => "float64".into(),
            Target::Bool => "bool".into(),
            Target::Bytes => "[]uint8".into(),
            Target::Struct(def) => package_type(def),
            Target::Map(v) if **v == Target::Quantity => "v1.ResourceList".into(),
            Target::Map(v) => format!("map[string]{}", v.go_type()),
            Target::Slice(v) => format!("[]{}", v.go_type()),
            Target::Quantity => "resource.Quantity".into(),
            Target::IntOrString => "intstr.IntOrString".into(),
            Target::Time => "v1.Time".into(),
            Target::MicroTime => "v1.MicroTime".into(),
            Target::Any => "interface {}".into(),
        }
    }

    /// The `reflect.Kind` name the unstructured converter reports.
    fn go_kind(&self) -> &'static str {
        match self {
            Target::String => "string",
            Target::Int32 => "int32",
            Target::Int64 => "int64",
            Target::Float => "float64",
            Target::Bool => "bool",
            Target::Bytes | Target::Slice(_) => "slice",
            Target::Map(_) => "map",
            _ => "struct",
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Target::Int32 | Target::Int64 | Target::Float)
    }
}

/// `io.k8s.api.core.v1.EnvVar` -> `v1.EnvVar`.
fn package_type(def: &str) -> String {
    let mut parts = def.rsplit('.');
    let ty = parts.next().unwrap_or(def);
    match parts.next() {
        Some(pkg) => format!("{pkg}.{ty}"),
        None => ty.to_string(),
    }
}

/// `io.k8s.api.core.v1.EnvVar` -> `EnvVar`.
fn struct_name(def: &str) -> &str {
    def.rsplit('.').next().unwrap_or(def)
}

#[derive(Debug, Clone, PartialEq)]
enum Problem {
    /// The JSON type cannot decode into the target at all.
    Mismatch,
    Quantity,
    Time,
    /// Invalid base64 at this input byte.
    Base64(usize),
}

/// One value that does not decode.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    /// The Go struct holding the field (`EnvVar`).
    struct_name: String,
    /// JSON field names from the root, as Go's decoder stacks them (map keys
    /// and list indexes are not fields).
    fields: Vec<String>,
    /// structured-merge-diff's path (`.spec.containers[0].name`).
    path: String,
    value: Value,
    target: Target,
    problem: Problem,
}

/// The values of `obj` that do not decode into the Go type of definition
/// `name`, in document order.
pub fn type_errors_in(defs: &Definitions, name: &str, obj: &Value) -> Vec<TypeError> {
    let mut walk = Walk {
        defs,
        struct_name: struct_name(name).to_string(),
        fields: Vec::new(),
        path: String::new(),
        out: Vec::new(),
    };
    walk.check(&Target::Struct(name.to_string()), obj);
    walk.out
}

struct Walk<'a> {
    defs: &'a Definitions,
    struct_name: String,
    fields: Vec<String>,
    path: String,
    out: Vec<TypeError>,
}

impl Walk<'_> {
    fn fail(&mut self, target: &Target, value: &Value, problem: Problem) {
        self.out.push(TypeError {
            struct_name: self.struct_name.clone(),
            fields: self.fields.clone(),
            path: self.path.clone(),
            value: value.clone(),
            target: target.clone(),
            problem,
        });
    }

    fn check(&mut self, target: &Target, value: &Value) {
        if value.is_null() {
            return;
        }
        let fits = match target {
            Target::Any => true,
            Target::String => value.is_string(),
            Target::Int32 => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Target::Int64 => value.as_i64().is_some(),
            Target::Float => value.is_number(),
            Target::Bool => value.is_boolean(),
            Target::Bytes => match value.as_str() {
                Some(s) => {
                    if let Some(at) = base64_error(s) {
                        self.fail(target, value, Problem::Base64(at));
                    }
                    true
                }
                None => false,
            },
            Target::Quantity => {
                let ok = match value {
                    Value::String(s) => crate::printers::quantity::nanos(s.trim()).is_some(),
                    Value::Number(n) => crate::printers::quantity::nanos(&n.to_string()).is_some(),
                    _ => false,
                };
                if !ok {
                    self.fail(target, value, Problem::Quantity);
                }
                true
            }
            Target::IntOrString => {
                value.is_string() || value.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
            }
            Target::Time | Target::MicroTime => {
                let ok = value
                    .as_str()
                    .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok());
                if !ok {
                    self.fail(target, value, Problem::Time);
                }
                true
            }
            Target::Struct(def) => match value.as_object() {
                Some(fields) => {
                    self.fields_of(def, fields);
                    true
                }
                None => false,
            },
            Target::Map(inner) => match value.as_object() {
                Some(entries) => {
                    for (k, v) in entries {
                        let len = self.path.len();
                        self.path.push('.');
                        self.path.push_str(k);
                        self.check(inner, v);
                        self.path.truncate(len);
                    }
                    true
                }
                None => false,
            },
            Target::Slice(inner) => match value.as_array() {
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        let len = self.path.len();
                        self.path.push_str(&format!("[{i}]"));
                        self.check(inner, v);
                        self.path.truncate(len);
                    }
                    true
                }
                None => false,
            },
        };
        if !fits {
            self.fail(target, value, Problem::Mismatch);
        }
    }

    fn fields_of(&mut self, def: &str, fields: &serde_json::Map<String, Value>) {
        let Some(props) = self
            .defs
            .defs
            .get(def)
            .and_then(|d| d.get("properties"))
            .and_then(Value::as_object)
        else {
            return;
        };
        let outer = std::mem::replace(&mut self.struct_name, struct_name(def).to_string());
        for (k, v) in fields {
            let Some(schema) = props.get(k) else {
                continue; // unknown fields are fieldValidation's business
            };
            let target = Target::of(self.defs, schema);
            let len = self.path.len();
            self.path.push('.');
            self.path.push_str(k);
            self.fields.push(k.clone());
            self.check(&target, v);
            self.fields.pop();
            self.path.truncate(len);
        }
        self.struct_name = outer;
    }
}

/// Where Go's standard base64 decoder gives up on `s`, if it does.
fn base64_error(s: &str) -> Option<usize> {
    let bytes: Vec<(usize, u8)> = s
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    for (q, quantum) in bytes.chunks(4).enumerate() {
        let last = (q + 1) * 4 >= bytes.len();
        for (j, &(at, b)) in quantum.iter().enumerate() {
            if alphabet(b) {
                continue;
            }
            // Padding: only in the last quantum, from its third byte on.
            if b == b'=' && last && j >= 2 && quantum.len() == 4 {
                if j == 2 && quantum[3].1 != b'=' {
                    return Some(quantum[3].0);
                }
                break;
            }
            return Some(at);
        }
        if quantum.len() < 4 {
            return Some(quantum[0].0);
        }
    }
    None
}

/// How Go names a JSON value in `cannot unmarshal X into ...`.
fn json_found(value: &Value, numeric_target: bool) -> String {
    match value {
        Value::String(_) => "string".into(),
        Value::Number(n) if numeric_target => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Object(_) => "object".into(),
        Value::Array(_) => "array".into(),
        Value::Null => "null".into(),
    }
}

/// The Go type of a value decoded without a schema (`%T`).
fn unstructured_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::Bool(_) => "bool",
        Value::Object(_) => "map[string]interface {}",
        Value::Array(_) => "[]interface {}",
        Value::Null => "<nil>",
    }
}

/// The `reflect.Kind` of a value decoded without a schema.
fn unstructured_kind(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "map",
        Value::Array(_) => "slice",
        other => unstructured_type(other),
    }
}

/// Go's `%v` of a value decoded without a schema (`map[a:1]`, `[x y]`).
pub fn go_value(value: &Value) -> String {
    goval::plain(value)
}

impl TypeError {
    /// What the custom decoders of Quantity, Time, IntOrString and `[]byte`
    /// say, the same on every path.
    fn custom_message(&self) -> Option<String> {
        let found = |numeric| json_found(&self.value, numeric);
        Some(match (&self.problem, &self.target) {
            (Problem::Quantity, _) => QUANTITY_FORMAT.to_string(),
            (Problem::Base64(at), _) => format!("illegal base64 data at input byte {at}"),
            (Problem::Time, _) => match self.value.as_str() {
                None => format!(
                    "json: cannot unmarshal {} into Go value of type string",
                    found(false)
                ),
                Some(s) => {
                    let q = crate::strategy::gofmt::quote(s);
                    format!("parsing time {q} as \"2006-01-02T15:04:05Z07:00\": cannot parse {q} as \"2006\"")
                }
            },
            (Problem::Mismatch, Target::IntOrString) => {
                format!(
                    "json: cannot unmarshal {} into Go value of type int32",
                    found(true)
                )
            }
            _ => return None,
        })
    }

    /// As `encoding/json` reports it (create and update bodies, JSON and
    /// merge patches).
    pub fn json_message(&self) -> String {
        if let Some(m) = self.custom_message() {
            return m;
        }
        let found = json_found(&self.value, self.target.is_numeric());
        let ty = self.target.go_type();
        if self.fields.is_empty() {
            format!("json: cannot unmarshal {found} into Go value of type {ty}")
        } else {
            format!(
                "json: cannot unmarshal {found} into Go struct field {}.{} of type {ty}",
                self.struct_name,
                self.fields.join(".")
            )
        }
    }

    /// As the unstructured converter reports it (strategic merge patches).
    pub fn unstructured_message(&self) -> String {
        if let Some(m) = self.custom_message() {
            return m;
        }
        let st = unstructured_type(&self.value);
        let dt = self.target.go_kind();
        match &self.target {
            Target::Struct(_) => format!(
                "cannot restore struct from: {}",
                unstructured_kind(&self.value)
            ),
            Target::Map(_) => format!("cannot restore map from {}", unstructured_kind(&self.value)),
            Target::Slice(_) | Target::Bytes => {
                format!(
                    "cannot restore slice from {}",
                    unstructured_kind(&self.value)
                )
            }
            // Numbers convert to any number and to strings (as runes), but
            // not between the four JSON groups.
            _ if self.value.is_number() => format!("cannot convert {st} to {dt}"),
            _ => format!("unrecognized type: {dt}"),
        }
    }

    /// As structured-merge-diff reports it (server-side apply).
    pub fn apply_message(&self) -> String {
        let detail = match (&self.problem, &self.target) {
            (Problem::Mismatch, t) if t.is_numeric() && !self.value.is_number() => format!(
                "expected numeric (int or float), got {}",
                unstructured_type(&self.value)
            ),
            (Problem::Mismatch, Target::String) => format!(
                "expected string, got &value.valueUnstructured{{Value:{}}}",
                goval::sharp(&self.value)
            ),
            (Problem::Mismatch, Target::Bool) => {
                format!("expected boolean, got &{{{}}}", go_value(&self.value))
            }
            (Problem::Mismatch, Target::Struct(_) | Target::Map(_)) => {
                format!("expected map, got &{{{}}}", go_value(&self.value))
            }
            (Problem::Mismatch, Target::Slice(_)) => {
                format!("expected list, got &{{{}}}", go_value(&self.value))
            }
            _ => self.json_message(),
        };
        format!("{}: {detail}", self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(kind: &str, obj: Value) -> Vec<TypeError> {
        let defs = &*super::super::DEFINITIONS;
        type_errors_in(defs, &format!("io.k8s.api.{kind}"), &obj)
    }

    fn first(kind: &str, obj: Value) -> TypeError {
        errors(kind, obj).into_iter().next().expect("a type error")
    }

    #[test]
    fn well_typed_objects_pass() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"},
            "creationTimestamp": "2024-01-01T00:00:00Z", "ownerReferences": null},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "100m", "memory": 1024}},
                "livenessProbe": {"httpGet": {"port": "http"}}}]}});
        assert_eq!(errors("core.v1.Pod", pod), vec![]);
        let secret = json!({"data": {"a": "aGVsbG8=", "b": "aGk=\n"}});
        assert_eq!(errors("core.v1.Secret", secret), vec![]);
    }

    #[test]
    fn json_messages_name_the_go_struct_field() {
        let e = first("core.v1.ConfigMap", json!({"data": {"a": 1}}));
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        let e = first(
            "apps.v1.Deployment",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": true}]}]}}}}),
        );
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.name of type string"
        );
        let e = first("apps.v1.Deployment", json!({"spec": {"replicas": 1.5}}));
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let e = first("core.v1.Pod", json!({"spec": {"containers": "x"}}));
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"
        );
        let e = first("core.v1.ConfigMap", json!({"metadata": {"labels": "x"}}));
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
        );
    }

    #[test]
    fn custom_decoders() {
        let e = first(
            "core.v1.Pod",
            json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "lots"}}}]}}),
        );
        assert_eq!(e.json_message(), QUANTITY_FORMAT);
        let e = first("core.v1.Secret", json!({"data": {"a": "not base64!"}}));
        assert_eq!(e.json_message(), "illegal base64 data at input byte 3");
        let e = first("core.v1.Secret", json!({"data": {"a": "abcde"}}));
        assert_eq!(e.json_message(), "illegal base64 data at input byte 4");
        let e = first(
            "core.v1.ConfigMap",
            json!({"metadata": {"creationTimestamp": 5}}),
        );
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal number into Go value of type string"
        );
        let e = first(
            "core.v1.Service",
            json!({"spec": {"ports": [{"port": 80, "targetPort": true}]}}),
        );
        assert_eq!(
            e.json_message(),
            "json: cannot unmarshal bool into Go value of type int32"
        );
    }

    #[test]
    fn strategic_and_apply_wording() {
        let e = first("core.v1.ConfigMap", json!({"data": {"a": 1}}));
        assert_eq!(e.unstructured_message(), "cannot convert int64 to string");
        assert_eq!(
            e.apply_message(),
            ".data.a: expected string, got &value.valueUnstructured{Value:1}"
        );
        let e = first("apps.v1.Deployment", json!({"spec": {"replicas": "3"}}));
        assert_eq!(e.unstructured_message(), "unrecognized type: int32");
        assert_eq!(
            e.apply_message(),
            ".spec.replicas: expected numeric (int or float), got string"
        );
        let e = first(
            "core.v1.Pod",
            json!({"spec": {"containers": [{"name": "c", "ports": "x"}]}}),
        );
        assert_eq!(e.unstructured_message(), "cannot restore slice from string");
        assert_eq!(e.path, ".spec.containers[0].ports");
        assert_eq!(go_value(&json!({"data": {"a": 1}})), "map[data:map[a:1]]");
    }
}
