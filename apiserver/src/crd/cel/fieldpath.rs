//! A rule's `fieldPath` (upstream's `ValidFieldPath`): a JSON path of field
//! (`.a`, `['a.b']`) and map-key accesses that the schema declares,
//! normalized to a field path (`a.b`, `a[key]`).

use super::schema::Node;

/// The normalized path, or why `path` is not valid for `node`.
pub(super) fn parse(node: Node<'_>, path: &str) -> Result<String, String> {
    let tokens = tokenize(path);
    let mut out = String::new();
    let mut schema = node;
    let mut it = tokens.into_iter();
    while let Some(tok) = it.next() {
        let name = match tok.as_str() {
            "[" => {
                let t = it.next().ok_or("unexpected end of JSON path")?;
                if t.len() < 2 || !t.starts_with('\'') || !t.ends_with('\'') {
                    return Err(format!("expected single quoted string but got {t}"));
                }
                let name = unescape(&t[1..t.len() - 1])
                    .map_err(|e| format!("invalid string literal: {e}"))?;
                match it.next() {
                    Some(c) if c == "]" => {}
                    Some(c) => return Err(format!("expected ] but got {c}")),
                    None => return Err("unexpected end of JSON path".into()),
                }
                name
            }
            "." => it.next().ok_or("unexpected end of JSON path")?,
            other => return Err(format!("expected [ or . but got: {other}")),
        };
        if schema.has_properties() {
            schema = schema
                .property(&name)
                .ok_or("does not refer to a valid field")?;
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&name);
        } else if let Some(ap) = schema.additional_properties() {
            schema = ap;
            out.push_str(&format!("[{name}]"));
        } else {
            return Err("does not refer to a valid field".into());
        }
    }
    Ok(out)
}

/// Splits into `.`, `[`, `]` and the text between; a single-quoted string
/// is one token.
fn tokenize(path: &str) -> Vec<String> {
    let chars: Vec<char> = path.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            while j < chars.len() && !(chars[j] == '\'' && chars[j - 1] != '\\') {
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            tokens.push(chars[i..end].iter().collect());
            i = end;
        } else if matches!(c, '.' | '[' | ']') {
            tokens.push(c.to_string());
            i += 1;
        } else {
            let mut j = i;
            while j < chars.len() && !matches!(chars[j], '.' | '[' | ']') {
                j += 1;
            }
            tokens.push(chars[i..j].iter().collect());
            i = j;
        }
    }
    tokens
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let d = chars.next().unwrap_or('\\');
        out.push(match d {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\'' => '\'',
            '\\' => '\\',
            other => return Err(format!("invalid escape char \\{other}")),
        });
    }
    Ok(out)
}
