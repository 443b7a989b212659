//! The label key and value checks of k8s.io/apimachinery's `util/validation` (shared with
//! the strategies, which own them) and the Go `%q` / `%#v` renderings that selector errors embed.

pub use crate::strategy::gofmt::quote as go_quote;
pub use crate::strategy::names::{label_value, qualified_name};

/// Go's `%#v` for a `[]string` (`None` is a nil slice).
pub fn go_string_slice(values: Option<&[String]>) -> String {
    match values {
        None => "[]string(nil)".to_string(),
        Some(v) => format!(
            "[]string{{{}}}",
            v.iter().map(|s| go_quote(s)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A `field.Invalid(...).Error()` line: `path: Invalid value: <value>: detail`.
pub fn invalid(path: &str, rendered_value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {rendered_value}: {detail}")
}

/// `utilerrors.NewAggregate(...).Error()`: one message as is, several in
/// brackets, duplicates dropped.
pub fn aggregate(msgs: Vec<String>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for m in msgs {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    match seen.len() {
        0 => None,
        1 => seen.pop(),
        _ => Some(format!("[{}]", seen.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::names::max_len_error;

    #[test]
    fn qualified_names() {
        assert!(qualified_name("app").is_empty());
        assert!(qualified_name("example.com/app-1.x_y").is_empty());
        assert_eq!(
            qualified_name("/app"),
            vec!["prefix part must be non-empty".to_string()]
        );
        let errs = qualified_name("-app");
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0],
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(qualified_name("a/b/c")[0].starts_with("a qualified name must consist"));
        assert_eq!(
            qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
        assert!(qualified_name("Example.com/a")[0]
            .starts_with("prefix part a lowercase RFC 1123 subdomain"));
        assert_eq!(qualified_name("").len(), 2);
    }

    #[test]
    fn label_values() {
        assert!(label_value("").is_empty());
        assert!(label_value("My_value-1.2").is_empty());
        assert_eq!(label_value("-x").len(), 1);
        assert_eq!(label_value(&"x".repeat(64)), vec![max_len_error(63)]);
    }

    #[test]
    fn go_renderings() {
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_string_slice(None), "[]string(nil)");
        assert_eq!(
            go_string_slice(Some(&["a".to_string(), "b".to_string()])),
            "[]string{\"a\", \"b\"}"
        );
        assert_eq!(aggregate(vec!["x".into(), "x".into()]), Some("x".into()));
        assert_eq!(
            aggregate(vec!["x".into(), "y".into()]),
            Some("[x, y]".into())
        );
    }
}
