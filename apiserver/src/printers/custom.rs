//! Tables for custom resources: a CRD version's `additionalPrinterColumns`
//! (as the apiextensions-apiserver table convertor prints them), with the
//! simple JSONPath subset CRDs use: `.a.b`, `.a[0]`, `.a['x.y']`, `.a[*]`,
//! `.a[?(@.type=="Ready")].status`.

use jiff::Timestamp;
use serde_json::Value;

use super::format::{name, translate_timestamp_since};
use super::{build_table, docs, Column, IncludeObject, Row};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    /// `[?(@.path op literal)]`
    Filter(Vec<Step>, bool, Value),
}

/// The columns of a custom resource version and how to fill them.
#[derive(Debug, Clone)]
pub struct CustomColumns {
    columns: Vec<Column>,
    paths: Vec<Vec<Step>>,
}

impl CustomColumns {
    /// From a CRD version's `additionalPrinterColumns` (absent or empty: the
    /// default `Age` column). The `Name` column always comes first.
    pub fn new(additional_printer_columns: Option<&Value>) -> Result<Self, String> {
        let defs: Vec<Value> = match additional_printer_columns.and_then(Value::as_array) {
            Some(a) if !a.is_empty() => a.clone(),
            _ => vec![serde_json::json!({
                "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                "description": docs::CREATED,
            })],
        };
        let mut columns = vec![Column::name()];
        let mut paths = Vec::new();
        for d in &defs {
            let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default();
            let json_path = get("jsonPath");
            paths.push(
                parse_path(json_path)
                    .map_err(|e| format!("unrecognized column definition {:?}: {e}", json_path))?,
            );
            columns.push(Column {
                name: get("name").to_string(),
                type_: get("type").to_string(),
                format: get("format").to_string(),
                description: get("description").to_string(),
                priority: d.get("priority").and_then(Value::as_i64).unwrap_or(0) as i32,
            });
        }
        Ok(CustomColumns { columns, paths })
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The cells of one custom object; a missing value is `null`.
    pub fn row(&self, obj: &Value, now: Timestamp) -> Row {
        let mut cells = vec![Value::String(name(obj).to_string())];
        for (col, path) in self.columns[1..].iter().zip(&self.paths) {
            let found = eval(path, obj).into_iter().next();
            cells.push(match found {
                None => Value::Null,
                Some(v) => cell(&col.type_, v, now),
            });
        }
        Row::new(cells)
    }

    /// The Table of a list of custom objects.
    pub fn table(
        &self,
        objects: &[Value],
        include: IncludeObject,
        list_metadata: Value,
        now: Timestamp,
    ) -> Value {
        build_table(
            &self.columns,
            objects.iter().map(|o| (self.row(o, now), o)),
            include,
            list_metadata,
            true,
        )
    }

    /// The Table of one custom object (get, watch event).
    pub fn object_table(
        &self,
        object: &Value,
        include: IncludeObject,
        now: Timestamp,
        include_headers: bool,
    ) -> Value {
        let mut metadata = serde_json::Map::new();
        if let Some(rv) = object.pointer("/metadata/resourceVersion") {
            metadata.insert("resourceVersion".into(), rv.clone());
        }
        build_table(
            &self.columns,
            [(self.row(object, now), object)],
            include,
            Value::Object(metadata),
            include_headers,
        )
    }
}

/// upstream `cellForJSONValue`, and the JSONPath printer for strings.
fn cell(type_: &str, v: &Value, now: Timestamp) -> Value {
    match (type_, v) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(s)) => Value::String(s.clone()),
        ("string", other) => Value::String(other.to_string()),
        ("integer", Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => Value::from(f as i64),
            _ => Value::Null,
        },
        // Go writes an integral float64 without a fraction (`1`, not `1.0`)
        ("number", Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            Some(f) => Value::from(f),
            None => Value::Null,
        },
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => match s.parse::<Timestamp>() {
            Ok(_) => Value::String(translate_timestamp_since(Some(v), now)),
            Err(_) => Value::String("<invalid>".to_string()),
        },
        _ => Value::Null,
    }
}

fn eval<'a>(path: &[Step], v: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![v];
    for step in path {
        let mut next = Vec::new();
        for c in current {
            match step {
                Step::Field(f) => next.extend(c.get(f.as_str())),
                Step::Index(i) => {
                    if let Some(a) = c.as_array() {
                        let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                        next.extend(usize::try_from(idx).ok().and_then(|i| a.get(i)));
                    }
                }
                Step::All => match c {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Step::Filter(sub, equal, lit) => {
                    if let Some(a) = c.as_array() {
                        next.extend(a.iter().filter(|item| {
                            let got = eval(sub, item).into_iter().next();
                            (got == Some(lit)) == *equal
                        }));
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// Parses the JSONPath subset; `{...}` braces are optional.
fn parse_path(src: &str) -> Result<Vec<Step>, String> {
    let s = src.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let s = s.strip_prefix('$').unwrap_or(s);
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < b.len() {
        match b[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < b.len() && b[i] != '.' && b[i] != '[' {
                    i += 1;
                }
                let field: String = b[start..i].iter().collect();
                if field == "*" {
                    steps.push(Step::All);
                } else if !field.is_empty() {
                    steps.push(Step::Field(field));
                }
            }
            '[' => {
                let close = find_close(&b, i).ok_or("unclosed [")?;
                let inner: String = b[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            c => return Err(format!("unexpected {c:?}")),
        }
    }
    Ok(steps)
}

fn find_close(b: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for (j, c) in b.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if *c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(*c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(f) = unquote(inner) {
        return Ok(Step::Field(f.to_string()));
    }
    if let Ok(n) = inner.parse::<i64>() {
        return Ok(Step::Index(n));
    }
    let expr = inner
        .strip_prefix("?(")
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported [{inner}]"))?;
    let (lhs, equal, rhs) = if let Some((l, r)) = expr.split_once("==") {
        (l, true, r)
    } else if let Some((l, r)) = expr.split_once("!=") {
        (l, false, r)
    } else {
        return Err(format!("unsupported filter {expr}"));
    };
    let sub = parse_path(
        lhs.trim()
            .strip_prefix('@')
            .ok_or("filter must start with @")?,
    )?;
    let rhs = rhs.trim();
    let lit = match unquote(rhs) {
        Some(s) => Value::String(s.to_string()),
        None => serde_json::from_str(rhs).map_err(|_| format!("bad literal {rhs}"))?,
    };
    Ok(Step::Filter(sub, equal, lit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        match "2024-05-01T12:00:00Z".parse() {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn additional_printer_columns() {
        let cc = CustomColumns::new(Some(&json!([
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1},
            {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
            {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused"},
            {"name": "First", "type": "string", "jsonPath": ".spec.hosts[0]"},
            {"name": "Annot", "type": "string", "jsonPath": ".metadata.annotations['example.com/x']"},
            {"name": "Missing", "type": "string", "jsonPath": ".spec.nope"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
        ])))
        .expect("columns");
        let names: Vec<&str> = cc.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["Name", "Ready", "Replicas", "Ratio", "Paused", "First", "Annot", "Missing", "Age"]
        );
        assert_eq!(cc.columns()[2].priority, 1);
        let obj = json!({
            "metadata": {"name": "w1", "creationTimestamp": "2024-05-01T11:00:00Z", "annotations": {"example.com/x": "y"}},
            "spec": {"replicas": 3, "ratio": 2.0, "paused": false, "hosts": ["a", "b"]},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
        });
        assert_eq!(
            cc.row(&obj, now()).cells,
            vec![
                json!("w1"),
                json!("True"),
                json!(3),
                json!(2),
                json!(false),
                json!("a"),
                json!("y"),
                Value::Null,
                json!("60m")
            ]
        );
    }

    #[test]
    fn default_columns_and_table() {
        let cc = CustomColumns::new(None).expect("default");
        let names: Vec<&str> = cc.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Name", "Age"]);
        let obj = json!({"metadata": {"name": "w", "creationTimestamp": "2024-05-01T11:59:00Z", "resourceVersion": "9"}});
        let t = cc.object_table(&obj, IncludeObject::None, now(), true);
        assert_eq!(t["rows"][0]["cells"], json!(["w", "60s"]));
        assert_eq!(t["metadata"]["resourceVersion"], json!("9"));
        assert!(CustomColumns::new(Some(
            &json!([{"name": "X", "type": "string", "jsonPath": ".a[?(@.b)]"}])
        ))
        .is_err());
    }

    #[test]
    fn non_string_values_in_string_columns_print_as_json() {
        let cc = CustomColumns::new(Some(
            &json!([{"name": "Spec", "type": "string", "jsonPath": ".spec.n"}]),
        ))
        .expect("ok");
        assert_eq!(
            cc.row(&json!({"metadata": {"name": "a"}, "spec": {"n": 5}}), now())
                .cells[1],
            json!("5")
        );
    }
}
