//! Label selectors: the string syntax of `?labelSelector=` and the
//! `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`), parsed
//! and validated as k8s.io/apimachinery's `labels.Parse` and
//! `metav1.LabelSelectorAsSelector` do, with the same error messages.

use std::fmt;

use serde_json::{Map, Value};

use super::validation::{
    aggregate, go_quote, go_string_slice, invalid, label_value, qualified_name,
};

/// The operator of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term. Values are kept sorted and unique when parsed
/// from a string (upstream keeps a set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

/// A parsed label selector: the AND of its requirements. `nothing` is
/// upstream's `labels.Nothing()` (what a nil `metav1.LabelSelector` means):
/// it matches no object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Requirement {
    /// upstream `labels.NewRequirement`: validates key, operator arity and
    /// values. `values` is `None` for a nil slice (only matters for messages).
    pub fn new(key: &str, operator: Operator, values: Option<Vec<String>>) -> Result<Self, String> {
        let mut errs = Vec::new();
        let key_errs = qualified_name(key);
        if !key_errs.is_empty() {
            errs.push(invalid("key", &go_quote(key), &key_errs.join("; ")));
        }
        let rendered = go_string_slice(values.as_deref());
        let vals = values.clone().unwrap_or_default();
        match operator {
            Operator::In | Operator::NotIn => {
                if vals.is_empty() {
                    errs.push(invalid(
                        "values",
                        &rendered,
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if vals.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &rendered,
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !vals.is_empty() {
                    errs.push(invalid(
                        "values",
                        &rendered,
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if vals.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &rendered,
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in vals.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("values[{i}]"),
                            &go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in vals.iter().enumerate() {
            let v_errs = label_value(v);
            if !v_errs.is_empty() {
                errs.push(invalid(
                    &format!("values[{i}][{key}]"),
                    &go_quote(v),
                    &v_errs.join("; "),
                ));
            }
        }
        match aggregate(errs) {
            Some(msg) => Err(msg),
            None => Ok(Requirement {
                key: key.to_string(),
                operator,
                values: vals,
            }),
        }
    }

    /// Whether the labels (looked up by `get`) satisfy this requirement.
    pub fn matches<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                get(&self.key).is_some_and(has)
            }
            Operator::NotIn | Operator::NotEquals => get(&self.key).is_none_or(|v| !has(v)),
            Operator::Exists => get(&self.key).is_some(),
            Operator::DoesNotExist => get(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(have)) = get(&self.key).map(str::parse::<i64>) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// upstream `Requirement.String()`: `!k`, `k`, `k=v`, `k in (a,b)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        let mut values = self.values.clone();
        values.sort();
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for LabelSelector {
    /// upstream `Selector.String()` (requirements sorted by key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

impl LabelSelector {
    /// Matches every object (`labels.Everything()`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Matches no object (`labels.Nothing()`).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Builds from requirements, sorted by key as upstream does.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// `labels.SelectorFromSet`: every `k=v` of a map (a Service or
    /// ReplicationController selector). No validation; empty matches all.
    pub fn from_set(set: &Map<String, Value>) -> Self {
        let reqs = set
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: vec![v.as_str().unwrap_or_default().to_string()],
            })
            .collect();
        Self::from_requirements(reqs)
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when it selects everything (no requirement, not `nothing`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for `labels.Nothing()`.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    /// Parses the `?labelSelector=` syntax (`labels.Parse`). The error is
    /// upstream's message, e.g. `unable to parse requirement: ...` or
    /// `found ',', expected: !, identifier, or 'end of string'`.
    pub fn parse(selector: &str) -> Result<Self, String> {
        let tokens = lex(selector);
        let mut p = Parser { tokens, pos: 0 };
        let reqs = p.parse()?;
        Ok(Self::from_requirements(reqs))
    }

    /// `metav1.LabelSelectorAsSelector` on a JSON `LabelSelector`: `null` or
    /// absent matches nothing, `{}` matches everything.
    pub fn from_json(value: Option<&Value>) -> Result<Self, String> {
        let Some(obj) = value.and_then(Value::as_object) else {
            return Ok(Self::nothing());
        };
        let match_labels = obj.get("matchLabels").and_then(Value::as_object);
        let exprs = obj.get("matchExpressions").and_then(Value::as_array);
        let n = match_labels.map_or(0, Map::len) + exprs.map_or(0, Vec::len);
        if n == 0 {
            return Ok(Self::everything());
        }
        let mut reqs = Vec::with_capacity(n);
        for (k, v) in match_labels.into_iter().flatten() {
            let v = v.as_str().unwrap_or_default().to_string();
            reqs.push(Requirement::new(k, Operator::Equals, Some(vec![v]))?);
        }
        for expr in exprs.into_iter().flatten() {
            let op_str = expr
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let op = match op_str {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(format!(
                        "{} is not a valid label selector operator",
                        go_quote(other)
                    ))
                }
            };
            let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
            let values = expr
                .get("values")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .collect()
                });
            reqs.push(Requirement::new(key, op, values)?);
        }
        Ok(Self::from_requirements(reqs))
    }

    /// `metav1.FormatLabelSelector` on a JSON `LabelSelector`: the selector
    /// string, `<none>` when it is empty, `<error>` when it is invalid.
    pub fn format_json(value: Option<&Value>) -> String {
        match Self::from_json(value) {
            Err(_) => "<error>".to_string(),
            Ok(s) => {
                let out = s.to_string();
                if out.is_empty() {
                    "<none>".to_string()
                } else {
                    out
                }
            }
        }
    }

    /// Matches against a lookup of label values.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(&get))
    }

    /// Matches against a `metadata.labels` object (absent = no labels).
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.matches_with(|k| labels.and_then(|m| m.get(k)).and_then(Value::as_str))
    }

    /// Matches against an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }

    /// If the selector requires `label` to have exactly one value, that value
    /// (upstream `RequiresExactMatch`).
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == label)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

// ---- lexer ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &[u8]) -> Option<Tok> {
    Some(match s {
        b")" => Tok::ClosedPar,
        b"," => Tok::Comma,
        b"!" => Tok::DoesNotExist,
        b"==" => Tok::DoubleEquals,
        b"=" => Tok::Equals,
        b">" => Tok::GreaterThan,
        b"in" => Tok::In,
        b"<" => Tok::LessThan,
        b"!=" => Tok::NotEquals,
        b"notin" => Tok::NotIn,
        b"(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Tokenizes the whole input, ending with `Tok::End`.
fn lex(s: &str) -> Vec<(Tok, String)> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < b.len() && is_whitespace(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() || b[pos] == 0 {
            out.push((Tok::End, String::new()));
            return out;
        }
        let start = pos;
        if is_special(b[pos]) {
            let mut last: Option<(Tok, usize)> = None;
            while pos < b.len() && is_special(b[pos]) {
                pos += 1;
                match keyword(&b[start..pos]) {
                    Some(t) => last = Some((t, pos)),
                    None if last.is_some() => {
                        pos -= 1;
                        break;
                    }
                    None => {}
                }
            }
            match last {
                Some((t, end)) => {
                    pos = end;
                    out.push((t, text(&b[start..end])));
                }
                None => out.push((
                    Tok::Error,
                    format!("error expected: keyword found '{}'", text(&b[start..pos])),
                )),
            }
        } else {
            while pos < b.len() && b[pos] != 0 && !is_special(b[pos]) && !is_whitespace(b[pos]) {
                pos += 1;
            }
            let lit = &b[start..pos];
            out.push((keyword(lit).unwrap_or(Tok::Identifier), text(lit)));
        }
    }
}

// ---- parser ----

struct Parser {
    tokens: Vec<(Tok, String)>,
    pos: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    /// In a value context `in` and `notin` are plain identifiers.
    fn peek(&self, values: bool) -> (Tok, String) {
        let (t, l) = self
            .tokens
            .get(self.pos)
            .cloned()
            .unwrap_or((Tok::End, String::new()));
        (as_value(t, values), l)
    }

    fn next(&mut self, values: bool) -> (Tok, String) {
        let item = self.peek(values);
        self.pos += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.peek(true);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.next(true);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.peek(true);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ))
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (key, op) = self.key_and_inferred_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = op {
            return Requirement::new(&key, op, Some(Vec::new()));
        }
        let op = self.operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, op, Some(values))
    }

    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.next(true);
        if tok == Tok::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.next(true);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = qualified_name(&lit);
        if !errs.is_empty() {
            return Err(invalid("<nil>", &go_quote(&lit), &errs.join("; ")));
        }
        let (t, _) = self.peek(true);
        if (t == Tok::End || t == Tok::Comma) && op != Some(Operator::DoesNotExist) {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.next(false);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn set_values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.next(true);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.peek(true);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let set = self.identifiers()?;
                let (close, _) = self.next(true);
                if close != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Tok::ClosedPar => {
                self.next(true);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    /// A sorted set of comma separated, possibly empty identifiers.
    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set = std::collections::BTreeSet::new();
        loop {
            let (tok, lit) = self.next(true);
            match tok {
                Tok::Identifier => {
                    set.insert(lit);
                    let (t2, l2) = self.peek(true);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(set.into_iter().collect()),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (t2, _) = self.peek(true);
                    if t2 == Tok::ClosedPar {
                        set.insert(String::new());
                        return Ok(set.into_iter().collect());
                    }
                    if t2 == Tok::Comma {
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.peek(true);
        if tok == Tok::End || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.next(true);
        if tok == Tok::Identifier {
            return Ok(vec![lit]);
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

fn as_value(t: Tok, values: bool) -> Tok {
    if values && matches!(t, Tok::In | Tok::NotIn) {
        Tok::Identifier
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn sel(s: &str) -> LabelSelector {
        match LabelSelector::parse(s) {
            Ok(s) => s,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn parses_every_operator_and_prints_canonically() {
        let s = sel("a=b,c!=d,e in (g,f),h notin (i),j,!k,l==m,n>5,o<7");
        assert_eq!(
            s.to_string(),
            "a=b,c!=d,e in (f,g),h notin (i),j,!k,l==m,n>5,o<7"
        );
        let ops: Vec<Operator> = s.requirements().iter().map(|r| r.operator).collect();
        assert_eq!(
            ops,
            vec![
                Operator::Equals,
                Operator::NotEquals,
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
                Operator::DoubleEquals,
                Operator::GreaterThan,
                Operator::LessThan
            ]
        );
    }

    #[test]
    fn whitespace_and_empty_values() {
        assert_eq!(
            sel("  a = b ,  c in ( x , y ) ").to_string(),
            "a=b,c in (x,y)"
        );
        assert_eq!(sel("a=").requirements()[0].values, vec![String::new()]);
        assert_eq!(sel("a in ()").requirements()[0].values, vec![String::new()]);
        assert_eq!(
            sel("x in (foo,,baz)").requirements()[0].values,
            vec!["", "baz", "foo"]
        );
        assert!(sel("").is_empty());
        // `in` is a value in a value position, and a key too.
        assert_eq!(sel("in in (in)").to_string(), "in in (in)");
    }

    #[test]
    fn matching() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "10"}));
        let m = |s: &str| sel(s).matches(Some(&l));
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("app!=db"));
        assert!(m("missing!=x"));
        assert!(m("app in (db,web)"));
        assert!(!m("app notin (web)"));
        assert!(m("missing notin (web)"));
        assert!(m("!missing"));
        assert!(!m("!app"));
        assert!(!m("missing"));
        assert!(m("n>9") && !m("n>10") && m("n<11"));
        assert!(!m("app>1"));
        assert!(m(""));
        assert!(!sel("a=b").matches(None));
        assert!(sel("!a").matches(None));
    }

    #[test]
    fn syntax_errors_have_upstream_messages() {
        let err = |s: &str| LabelSelector::parse(s).expect_err(s);
        assert_eq!(err("a=b,"), "found '', expected: identifier after ','");
        assert_eq!(
            err(",a"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(
            err("a in b"),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            err("a in (b"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (="),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(sel("a==").to_string(), "a==");
        assert_eq!(
            err("a=(b)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
        assert_eq!(err("a>x"), "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer");
    }

    #[test]
    fn validation_errors_have_upstream_messages() {
        let err = |s: &str| LabelSelector::parse(s).expect_err(s);
        assert_eq!(
            err("-a=b"),
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            err("app=-bad"),
            "unable to parse requirement: values[0][app]: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert!(err("a in (ok,-x)")
            .starts_with("unable to parse requirement: values[0][a]: Invalid value: \"-x\""));
    }

    #[test]
    fn from_metav1_label_selector() {
        let s = LabelSelector::from_json(Some(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "zone", "operator": "Exists"}
            ]
        })))
        .expect("valid");
        assert_eq!(
            s.to_string(),
            "app=web,!canary,env notin (prod),tier in (a,b),zone"
        );
        let l = labels(json!({"app": "web", "tier": "a", "zone": "z1"}));
        assert!(s.matches(Some(&l)));
        let l2 = labels(json!({"app": "web", "tier": "a", "zone": "z1", "canary": "1"}));
        assert!(!s.matches(Some(&l2)));

        assert!(LabelSelector::from_json(None)
            .expect("nil")
            .matches_nothing());
        assert!(!LabelSelector::from_json(Some(&Value::Null))
            .expect("nil")
            .matches(Some(&l)));
        assert!(LabelSelector::from_json(Some(&json!({})))
            .expect("empty")
            .matches(Some(&l)));
        assert_eq!(
            LabelSelector::from_json(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
            )),
            Err("\"Foo\" is not a valid label selector operator".to_string())
        );
        assert_eq!(
            LabelSelector::from_json(Some(&json!({"matchExpressions": [{"key": "a", "operator": "In"}]}))),
            Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".to_string())
        );
        assert_eq!(
            LabelSelector::from_json(Some(&json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}))),
            Err("values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist".to_string())
        );
        assert!(
            LabelSelector::from_json(Some(&json!({"matchLabels": {"-k": "v"}})))
                .expect_err("bad key")
                .starts_with("key: Invalid value: \"-k\": name part")
        );
        assert_eq!(LabelSelector::format_json(Some(&json!({}))), "<none>");
        assert_eq!(LabelSelector::format_json(None), "<none>");
        assert_eq!(
            LabelSelector::format_json(Some(&json!({"matchLabels": {"a": "b"}}))),
            "a=b"
        );
        assert_eq!(
            LabelSelector::format_json(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "X"}]})
            )),
            "<error>"
        );
    }

    #[test]
    fn exact_match_and_sets() {
        let s = sel("a=b,c in (d),e in (f,g)");
        assert_eq!(s.requires_exact_match("a"), Some("b"));
        assert_eq!(s.requires_exact_match("c"), Some("d"));
        assert_eq!(s.requires_exact_match("e"), None);
        let set = LabelSelector::from_set(json!({"b": "2", "a": "1"}).as_object().expect("map"));
        assert_eq!(set.to_string(), "a=1,b=2");
        assert!(LabelSelector::from_set(&Map::new()).matches(None));
    }
}
