//! Compiling a rule (and its `messageExpression`): parsing with cel-rust,
//! then the static checks of [`super::checker`] against the type of
//! `self`, with upstream's error texts (`compilation failed: ERROR:
//! <input>:1:5: ...`).

use super::checker::{self, Issue, Ty};
use super::rule::Rule;
use cel::{Env, Program};

pub(super) struct Compiled {
    pub(super) program: Program,
    pub(super) uses_old_self: bool,
    /// The `messageExpression` program, or why it does not compile.
    pub(super) message: Option<Result<Program, String>>,
}

/// Compiles `rule` for a node whose `self` has type `ty`; `Err` is the
/// detail of upstream's error on the rule.
pub(super) fn compile(env: &Env, rule: &Rule, ty: &Ty) -> Result<Compiled, String> {
    let optional_old_self = rule.optional_old_self == Some(true);
    let program = match parse(env, &rule.rule) {
        Ok(p) => p,
        Err(issues) => return Err(format!("compilation failed: {issues}")),
    };
    let checked = checker::check(&program, ty, optional_old_self);
    if !checked.issues.is_empty() {
        return Err(format!(
            "compilation failed: {}",
            render(&rule.rule, &checked.issues)
        ));
    }
    if !checked.result.maybe_bool() {
        return Err("cel expression must evaluate to a bool".to_string());
    }
    let uses_old_self = program.references().has_variable("oldSelf");
    let message = if rule.message_expression.is_empty() {
        None
    } else {
        Some(compile_message(
            env,
            &rule.message_expression,
            ty,
            optional_old_self,
        ))
    };
    Ok(Compiled {
        program,
        uses_old_self,
        message,
    })
}

fn compile_message(
    env: &Env,
    source: &str,
    ty: &Ty,
    optional_old_self: bool,
) -> Result<Program, String> {
    let program = parse(env, source)
        .map_err(|issues| format!("messageExpression compilation failed: {issues}"))?;
    let checked = checker::check(&program, ty, optional_old_self);
    if !checked.issues.is_empty() {
        return Err(format!(
            "messageExpression compilation failed: {}",
            render(source, &checked.issues)
        ));
    }
    if !checked.result.maybe_string() {
        return Err("messageExpression must evaluate to a string".to_string());
    }
    Ok(program)
}

/// Parses `source`, rendering syntax errors as cel-go's `Issues.String()`.
fn parse(env: &Env, source: &str) -> Result<Program, String> {
    // the parser is third-party code on user input: contain its panics
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| env.compile(source)))
        .map_err(|_| "ERROR: <input>:1:1: internal error: the parser panicked".to_string())?;
    parsed.map_err(|errs| {
        let issues: Vec<Issue> = errs
            .errors
            .iter()
            .map(|e| Issue {
                at: Position::LineCol(e.pos.0.max(1) as usize, e.pos.1.max(1) as usize),
                message: e.msg.clone(),
            })
            .collect();
        render(source, &issues)
    })
}

/// Where an issue is: a byte offset into the source, or a 1-based line and
/// column (in characters).
#[derive(Debug, Clone, Copy)]
pub(super) enum Position {
    Offset(usize),
    LineCol(usize, usize),
}

/// cel-go's rendering of issues: `ERROR: <input>:L:C: msg`, the source
/// line, and a caret under the column; issues on separate lines.
pub(super) fn render(source: &str, issues: &[Issue]) -> String {
    let mut out = Vec::new();
    for issue in issues {
        let (line, col) = match issue.at {
            Position::LineCol(l, c) => (l, c),
            Position::Offset(off) => line_col(source, off),
        };
        let mut s = format!("ERROR: <input>:{line}:{col}: {}", issue.message);
        if let Some(text) = source.split('\n').nth(line.saturating_sub(1)) {
            let text = text.trim_end_matches('\r');
            s.push_str(&format!(
                "\n | {text}\n | {}^",
                ".".repeat(col.saturating_sub(1))
            ));
        }
        out.push(s);
    }
    out.join("\n")
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[start..].chars().count() + 1;
    (line, col)
}
