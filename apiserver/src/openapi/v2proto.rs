//! `/openapi/v2` in protobuf: the gnostic `openapi.v2.Document` message that
//! client-go's discovery asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`)
//! and kubectl reads to check which kinds and query parameters a server
//! supports. Encoded from the JSON document field by field, with the field
//! numbers of gnostic's OpenAPIv2.proto; values gnostic keeps as `Any`
//! (vendor extensions, defaults, enums, examples) carry their YAML text,
//! for which JSON text serves.

use serde_json::{Map, Value};

/// The media type clients ask for, and the one the answer carries.
pub const ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
pub const CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: Option<&Value>) {
        if let Some(s) = s.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            self.bytes(field, s.as_bytes());
        }
    }

    fn strings(&mut self, field: u32, v: Option<&Value>) {
        for s in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = s.as_str() {
                self.bytes(field, s.as_bytes());
            }
        }
    }

    fn boolean(&mut self, field: u32, v: Option<&Value>) {
        if v.and_then(Value::as_bool) == Some(true) {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int(&mut self, field: u32, v: Option<&Value>) {
        if let Some(n) = v.and_then(Value::as_i64).filter(|n| *n != 0) {
            self.key(field, 0);
            self.varint(n as u64);
        }
    }

    fn double(&mut self, field: u32, v: Option<&Value>) {
        if let Some(n) = v.and_then(Value::as_f64).filter(|n| *n != 0.0) {
            self.key(field, 1);
            self.0.extend_from_slice(&n.to_le_bytes());
        }
    }

    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }
}

/// `Any { yaml = 2 }`.
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    let text = match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    };
    m.bytes(2, format!("{text}\n").as_bytes());
    m
}

/// `NamedAny` entries for every `x-` key of `obj`.
fn vendor_extensions(m: &mut Msg, field: u32, obj: &Map<String, Value>) {
    for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut named = Msg::default();
        named.bytes(1, k.as_bytes());
        named.message(2, any(v));
        m.message(field, named);
    }
}

fn schema(s: &Value) -> Msg {
    let mut m = Msg::default();
    let Some(o) = s.as_object() else {
        return m;
    };
    m.string(1, o.get("$ref"));
    m.string(2, o.get("format"));
    m.string(3, o.get("title"));
    m.string(4, o.get("description"));
    if let Some(d) = o.get("default") {
        m.message(5, any(d));
    }
    m.double(6, o.get("multipleOf"));
    m.double(7, o.get("maximum"));
    m.boolean(8, o.get("exclusiveMaximum"));
    m.double(9, o.get("minimum"));
    m.boolean(10, o.get("exclusiveMinimum"));
    m.int(11, o.get("maxLength"));
    m.int(12, o.get("minLength"));
    m.string(13, o.get("pattern"));
    m.int(14, o.get("maxItems"));
    m.int(15, o.get("minItems"));
    m.boolean(16, o.get("uniqueItems"));
    m.int(17, o.get("maxProperties"));
    m.int(18, o.get("minProperties"));
    m.strings(19, o.get("required"));
    for e in o
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(20, any(e));
    }
    match o.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut ap = Msg::default();
            ap.key(2, 0);
            ap.varint(u64::from(*b));
            m.message(21, ap);
        }
        Some(s @ Value::Object(_)) => {
            let mut ap = Msg::default();
            ap.message(1, schema(s));
            m.message(21, ap);
        }
        _ => {}
    }
    match o.get("type") {
        Some(Value::String(t)) => {
            let mut ti = Msg::default();
            ti.bytes(1, t.as_bytes());
            m.message(22, ti);
        }
        Some(ts @ Value::Array(_)) => {
            let mut ti = Msg::default();
            ti.strings(1, Some(ts));
            m.message(22, ti);
        }
        _ => {}
    }
    if let Some(items) = o.get("items") {
        let mut ii = Msg::default();
        match items {
            Value::Array(list) => list.iter().for_each(|i| ii.message(1, schema(i))),
            single => ii.message(1, schema(single)),
        }
        m.message(23, ii);
    }
    for s in o
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(24, schema(s));
    }
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        let mut p = Msg::default();
        for (name, s) in props {
            let mut named = Msg::default();
            named.bytes(1, name.as_bytes());
            named.message(2, schema(s));
            p.message(1, named);
        }
        m.message(25, p);
    }
    m.string(26, o.get("discriminator"));
    m.boolean(27, o.get("readOnly"));
    if let Some(e) = o.get("example") {
        m.message(30, any(e));
    }
    vendor_extensions(&mut m, 31, o);
    m
}

/// A query, path, header or formData parameter (`NonBodyParameter`).
fn non_body(o: &Map<String, Value>) -> Msg {
    let loc = o.get("in").and_then(Value::as_str).unwrap_or("");
    let mut sub = Msg::default();
    // Field numbers shift by one where a kind has `allow_empty_value`.
    let (oneof, shift) = match loc {
        "header" => (1, 0),
        "formData" => (2, 1),
        "query" => (3, 1),
        _ => (4, 0),
    };
    sub.boolean(1, o.get("required"));
    sub.string(2, o.get("in"));
    sub.string(3, o.get("description"));
    sub.string(4, o.get("name"));
    if shift == 1 {
        sub.boolean(5, o.get("allowEmptyValue"));
    }
    sub.string(5 + shift, o.get("type"));
    sub.string(6 + shift, o.get("format"));
    sub.string(8 + shift, o.get("collectionFormat"));
    if let Some(d) = o.get("default") {
        sub.message(9 + shift, any(d));
    }
    sub.boolean(19 + shift, o.get("uniqueItems"));
    for e in o
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        sub.message(20 + shift, any(e));
    }
    vendor_extensions(&mut sub, 22 + shift, o);
    let mut nb = Msg::default();
    nb.message(oneof, sub);
    nb
}

/// `ParametersItem`: a parameter or a `$ref` to one.
fn parameters_item(p: &Value) -> Msg {
    let mut item = Msg::default();
    let Some(o) = p.as_object() else {
        return item;
    };
    if let Some(r) = o.get("$ref") {
        let mut jr = Msg::default();
        jr.string(1, Some(r));
        jr.string(2, o.get("description"));
        item.message(2, jr);
        return item;
    }
    let mut param = Msg::default();
    if o.get("in").and_then(Value::as_str) == Some("body") {
        let mut body = Msg::default();
        body.string(1, o.get("description"));
        body.string(2, o.get("name"));
        body.string(3, o.get("in"));
        body.boolean(4, o.get("required"));
        if let Some(s) = o.get("schema") {
            body.message(5, schema(s));
        }
        vendor_extensions(&mut body, 6, o);
        param.message(1, body);
    } else {
        param.message(2, non_body(o));
    }
    item.message(1, param);
    item
}

fn responses(r: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    for (code, resp) in r.iter().filter(|(k, _)| !k.starts_with("x-")) {
        let mut value = Msg::default();
        match resp.get("$ref") {
            Some(reference) => {
                let mut jr = Msg::default();
                jr.string(1, Some(reference));
                value.message(2, jr);
            }
            None => {
                let mut response = Msg::default();
                response.string(1, resp.get("description"));
                if let Some(s) = resp.get("schema") {
                    let mut item = Msg::default();
                    item.message(1, schema(s));
                    response.message(2, item);
                }
                value.message(1, response);
            }
        }
        let mut named = Msg::default();
        named.bytes(1, code.as_bytes());
        named.message(2, value);
        m.message(1, named);
    }
    vendor_extensions(&mut m, 2, r);
    m
}

fn operation(op: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.strings(1, op.get("tags"));
    m.string(2, op.get("summary"));
    m.string(3, op.get("description"));
    m.string(5, op.get("operationId"));
    m.strings(6, op.get("produces"));
    m.strings(7, op.get("consumes"));
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(8, parameters_item(p));
    }
    if let Some(r) = op.get("responses").and_then(Value::as_object) {
        m.message(9, responses(r));
    }
    m.strings(10, op.get("schemes"));
    m.boolean(11, op.get("deprecated"));
    vendor_extensions(&mut m, 13, op);
    m
}

fn path_item(item: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.string(1, item.get("$ref"));
    for (field, verb) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(op) = item.get(verb).and_then(Value::as_object) {
            m.message(field, operation(op));
        }
    }
    for p in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(9, parameters_item(p));
    }
    vendor_extensions(&mut m, 10, item);
    m
}

/// The whole document.
pub fn encode(doc: &Value) -> Vec<u8> {
    let mut m = Msg::default();
    let Some(d) = doc.as_object() else {
        return m.0;
    };
    m.string(1, d.get("swagger"));
    if let Some(info) = d.get("info").and_then(Value::as_object) {
        let mut i = Msg::default();
        i.string(1, info.get("title"));
        i.string(2, info.get("version"));
        i.string(3, info.get("description"));
        vendor_extensions(&mut i, 7, info);
        m.message(2, i);
    }
    m.string(3, d.get("host"));
    m.string(4, d.get("basePath"));
    m.strings(5, d.get("schemes"));
    m.strings(6, d.get("consumes"));
    m.strings(7, d.get("produces"));
    if let Some(paths) = d.get("paths").and_then(Value::as_object) {
        let mut p = Msg::default();
        for (name, item) in paths {
            if let Some(item) = item.as_object() {
                let mut named = Msg::default();
                named.bytes(1, name.as_bytes());
                named.message(2, path_item(item));
                p.message(2, named);
            }
        }
        m.message(8, p);
    }
    if let Some(defs) = d.get("definitions").and_then(Value::as_object) {
        let mut ds = Msg::default();
        for (name, s) in defs {
            let mut named = Msg::default();
            named.bytes(1, name.as_bytes());
            named.message(2, schema(s));
            ds.message(1, named);
        }
        m.message(9, ds);
    }
    for req in d
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut sr = Msg::default();
        for (name, scopes) in req.as_object().into_iter().flatten() {
            let mut arr = Msg::default();
            arr.strings(1, Some(scopes));
            let mut named = Msg::default();
            named.bytes(1, name.as_bytes());
            named.message(2, arr);
            sr.message(1, named);
        }
        m.message(12, sr);
    }
    if let Some(defs) = d.get("securityDefinitions").and_then(Value::as_object) {
        let mut sd = Msg::default();
        for (name, def) in defs {
            let mut item = Msg::default();
            if def.get("type").and_then(Value::as_str) == Some("apiKey") {
                let mut key = Msg::default();
                key.string(1, def.get("type"));
                key.string(2, def.get("name"));
                key.string(3, def.get("in"));
                key.string(4, def.get("description"));
                item.message(2, key);
            }
            let mut named = Msg::default();
            named.bytes(1, name.as_bytes());
            named.message(2, item);
            sd.message(1, named);
        }
        m.message(13, sd);
    }
    vendor_extensions(&mut m, 16, d);
    m.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn varints_strings_and_nesting_follow_the_wire_format() {
        let doc = json!({"swagger": "2.0", "info": {"title": "K", "version": "v"}});
        assert_eq!(
            encode(&doc),
            [0x0a, 3, b'2', b'.', b'0', 0x12, 6, 0x0a, 1, b'K', 0x12, 1, b'v']
        );
    }

    #[test]
    fn vendor_extensions_carry_yaml_text() {
        let s = json!({"type": "object",
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}]});
        let bytes = schema(&s).0;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("x-kubernetes-group-version-kind"));
        assert!(text.contains(r#"[{"group":"","kind":"Pod","version":"v1"}]"#));
    }
}
