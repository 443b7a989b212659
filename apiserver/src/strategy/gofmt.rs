//! How upstream prints bad values in messages: Go's `%q` for strings, `%v`
//! for numbers, `%#v` for maps and slices of strings, `String()` of label
//! selectors and int-or-strings.

use serde_json::Value;

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bad value as `ErrorBody` prints it.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let items: Vec<String> = a.iter().filter_map(Value::as_str).map(quote).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
        Value::Object(m) if m.values().all(Value::is_string) => string_map(v),
        other => other.to_string(),
    }
}

/// `map[string]string{"a":"b", "c":"d"}` (Go sorts map keys).
pub fn string_map(v: &Value) -> String {
    let pairs = super::json::string_map(Some(v));
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
        .collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// An int-or-string as its `String()`: the string unquoted or the number.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// A `*metav1.LabelSelector` as its generated `String()`.
pub fn label_selector(v: &Value) -> String {
    if v.is_null() {
        return "nil".to_string();
    }
    let labels = super::json::string_map(v.get("matchLabels"));
    let mut ml = String::from("map[string]string{");
    for (k, val) in labels {
        ml.push_str(&format!("{k}: {val},"));
    }
    ml.push('}');
    let mut me = String::from("[]LabelSelectorRequirement{");
    for r in super::json::arr_at(v, &["matchExpressions"]) {
        let values: Vec<&str> = super::json::arr_at(r, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        me.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
            super::json::str_at(r, &["key"]),
            super::json::str_at(r, &["operator"]),
            values.join(" ")
        ));
    }
    me.push('}');
    format!("&LabelSelector{{MatchLabels:{ml},MatchExpressions:{me},}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(quote("é"), "\"é\"");
        assert_eq!(quote("\u{1}"), r#""\x01""#);
    }

    #[test]
    fn renders_values() {
        assert_eq!(value(&json!(-1)), "-1");
        assert_eq!(value(&json!(["a", "b"])), r#"[]string{"a", "b"}"#);
        assert_eq!(
            value(&json!({"b": "2", "a": "1"})),
            r#"map[string]string{"a":"1", "b":"2"}"#
        );
        assert_eq!(
            label_selector(&json!({"matchLabels": {"app": "web"}})),
            "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}"
        );
    }
}
