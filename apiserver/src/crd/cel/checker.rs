//! A small static checker standing in for cel-go's type checker: it types
//! expressions from the schema of `self` and reports what upstream rejects
//! at CRD write time and real CRDs get wrong most: references to undeclared
//! variables or functions (`undeclared reference to 'x' (in container
//! '')`), fields the schema does not declare (`undefined field 'x'`), and
//! rules whose result is not a bool. Anything it cannot type is `dyn` and
//! accepted, as cel-go accepts `dyn`.

use super::compile::Position;
use super::schema::{self, Node};
use cel::common::ast::{operators, EntryExpr, Expr, LiteralValue};
use cel::{IdedExpr, Program};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A static type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ty {
    Dyn,
    Bool,
    Int,
    UInt,
    Double,
    String,
    Bytes,
    Null,
    Duration,
    Timestamp,
    List(Box<Ty>),
    Map(Box<Ty>),
    /// A schema object: its fields by escaped name.
    Object(Arc<BTreeMap<String, Ty>>),
    Optional(Box<Ty>),
}

impl Ty {
    /// The type of values of schema `node` (upstream's `SchemaDeclType`).
    pub(super) fn of(node: Node<'_>, resource_root: bool) -> Ty {
        if node.int_or_string() {
            return Ty::Dyn;
        }
        match node.type_name() {
            "boolean" => Ty::Bool,
            "integer" => Ty::Int,
            "number" => Ty::Double,
            "string" => match node.format() {
                "byte" => Ty::Bytes,
                "duration" => Ty::Duration,
                "date" | "date-time" => Ty::Timestamp,
                _ => Ty::String,
            },
            "array" => Ty::List(Box::new(
                node.items().map_or(Ty::Dyn, |i| Ty::of(i, i.embedded())),
            )),
            "object" => {
                if let Some(ap) = node.additional_properties() {
                    return Ty::Map(Box::new(Ty::of(ap, ap.embedded())));
                }
                let mut fields = BTreeMap::new();
                for (name, prop) in node.properties() {
                    if !prop.typed() {
                        continue;
                    }
                    if let Some(escaped) = schema::escape(name) {
                        fields.insert(escaped, Ty::of(prop, prop.embedded()));
                    }
                }
                if resource_root {
                    fields.insert("apiVersion".into(), Ty::String);
                    fields.insert("kind".into(), Ty::String);
                    let meta: BTreeMap<String, Ty> = [
                        ("name".to_string(), Ty::String),
                        ("generateName".to_string(), Ty::String),
                    ]
                    .into_iter()
                    .collect();
                    fields.insert("metadata".into(), Ty::Object(Arc::new(meta)));
                }
                Ty::Object(Arc::new(fields))
            }
            _ => Ty::Dyn,
        }
    }

    pub(super) fn maybe_bool(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Dyn)
    }

    pub(super) fn maybe_string(&self) -> bool {
        matches!(self, Ty::String | Ty::Dyn)
    }
}

/// One problem found, where it is.
#[derive(Debug, Clone)]
pub(super) struct Issue {
    pub(super) at: Position,
    pub(super) message: String,
}

pub(super) struct Checked {
    pub(super) issues: Vec<Issue>,
    pub(super) result: Ty,
}

/// Checks `program` with `self` (and `oldSelf`, optional when
/// `optional_old_self`) of type `self_ty`.
pub(super) fn check(program: &Program, self_ty: &Ty, optional_old_self: bool) -> Checked {
    let old = if optional_old_self {
        Ty::Optional(Box::new(self_ty.clone()))
    } else {
        self_ty.clone()
    };
    let mut c = Checker {
        program,
        scopes: vec![vec![
            ("self".into(), self_ty.clone()),
            ("oldSelf".into(), old),
        ]],
        issues: Vec::new(),
    };
    let result = c.infer(program.expression());
    Checked {
        issues: c.issues,
        result,
    }
}

struct Checker<'p> {
    program: &'p Program,
    scopes: Vec<Vec<(String, Ty)>>,
    issues: Vec<Issue>,
}

/// Identifiers that name types (usable as values: `type(x) == int`).
const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
    "google.protobuf.Duration",
    "google.protobuf.Timestamp",
];

/// Namespaces of qualified functions (`sets.contains`, ...).
const NAMESPACES: &[&str] = &["sets", "strings", "lists", "optional", "ip"];

impl Checker<'_> {
    fn issue(&mut self, e: &IdedExpr, message: String) {
        let at = match self.program.source_info().offset_for(e.id) {
            Some((start, _)) => Position::Offset(start as usize),
            None => Position::LineCol(1, 1),
        };
        self.issues.push(Issue { at, message });
    }

    fn lookup(&self, name: &str) -> Option<Ty> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    fn infer(&mut self, e: &IdedExpr) -> Ty {
        match &e.expr {
            Expr::Unspecified | Expr::Struct(_) => Ty::Dyn,
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::UInt,
            },
            Expr::Ident(name) => match self.lookup(name) {
                Some(t) => t,
                None if TYPE_NAMES.contains(&name.as_str()) => Ty::Dyn,
                None => {
                    self.issue(
                        e,
                        format!("undeclared reference to '{name}' (in container '')"),
                    );
                    Ty::Dyn
                }
            },
            Expr::Select(sel) => {
                let operand = self.infer(&sel.operand);
                let field = match operand {
                    Ty::Object(fields) => match fields.get(&sel.field) {
                        Some(t) => t.clone(),
                        None => {
                            self.issue(e, format!("undefined field '{}'", sel.field));
                            Ty::Dyn
                        }
                    },
                    Ty::Map(v) => *v,
                    _ => Ty::Dyn,
                };
                if sel.test {
                    Ty::Bool
                } else {
                    field
                }
            }
            Expr::List(list) => {
                let types: Vec<Ty> = list.elements.iter().map(|x| self.infer(x)).collect();
                Ty::List(Box::new(common(&types)))
            }
            Expr::Map(map) => {
                let mut values = Vec::new();
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(m) = &entry.expr {
                        self.infer(&m.key);
                        values.push(self.infer(&m.value));
                    }
                }
                Ty::Map(Box::new(common(&values)))
            }
            Expr::Comprehension(c) => {
                let range = self.infer(&c.iter_range);
                let mut scope = match (&range, &c.iter_var2) {
                    // two variables: (index, item) of a list, (key, value) of a map
                    (Ty::List(t), Some(v2)) => {
                        vec![(c.iter_var.clone(), Ty::Int), (v2.clone(), (**t).clone())]
                    }
                    (Ty::Map(t), Some(v2)) => vec![
                        (c.iter_var.clone(), Ty::String),
                        (v2.clone(), (**t).clone()),
                    ],
                    (_, Some(v2)) => vec![(c.iter_var.clone(), Ty::Dyn), (v2.clone(), Ty::Dyn)],
                    // one variable: the items of a list, the keys of a map
                    (Ty::List(t), None) => vec![(c.iter_var.clone(), (**t).clone())],
                    (Ty::Map(_), None) => vec![(c.iter_var.clone(), Ty::String)],
                    (_, None) => vec![(c.iter_var.clone(), Ty::Dyn)],
                };
                let accu = self.infer(&c.accu_init);
                scope.push((c.accu_var.clone(), accu));
                self.scopes.push(scope);
                self.infer(&c.loop_cond);
                let step = self.infer(&c.loop_step);
                // a list accumulator (`map`, `filter`) takes the type its
                // step builds
                if matches!(step, Ty::List(_)) {
                    if let Some(slot) = self
                        .scopes
                        .last_mut()
                        .and_then(|s| s.iter_mut().find(|(n, _)| n == &c.accu_var))
                    {
                        slot.1 = step;
                    }
                }
                let result = self.infer(&c.result);
                self.scopes.pop();
                result
            }
            Expr::Call(call) => self.call(e, call),
        }
    }

    fn call(&mut self, e: &IdedExpr, call: &cel::common::ast::CallExpr) -> Ty {
        let name = call.func_name.as_str();
        // a qualified function: `sets.contains(a, b)`
        let qualified = match call.target.as_deref() {
            Some(IdedExpr {
                expr: Expr::Ident(ns),
                ..
            }) if NAMESPACES.contains(&ns.as_str()) && self.lookup(ns).is_none() => {
                Some(format!("{ns}.{name}"))
            }
            _ => None,
        };
        let target = match (&call.target, &qualified) {
            (Some(t), None) => Some(self.infer(t)),
            _ => None,
        };
        let args: Vec<Ty> = call.args.iter().map(|a| self.infer(a)).collect();
        let full = qualified.as_deref().unwrap_or(name);
        if name.starts_with(['_', '@', '!', '-']) {
            if let Some((a, b)) = mismatch(name, &args) {
                self.issue(
                    e,
                    format!("found no matching overload for '{name}' applied to '({a}, {b})'"),
                );
                return Ty::Dyn;
            }
            return operator(name, &args);
        }
        if let Some(signature) = bad_call(name, qualified.is_some(), target.as_ref(), &args) {
            self.issue(
                e,
                format!("found no matching overload for '{full}' applied to '{signature}'"),
            );
            return Ty::Dyn;
        }
        match result_type(full, target.as_ref()) {
            Some(t) => t,
            None => {
                self.issue(
                    e,
                    format!("undeclared reference to '{full}' (in container '')"),
                );
                Ty::Dyn
            }
        }
    }
}

/// The name cel-go prints for a primitive type; `None` for others.
fn primitive(t: &Ty) -> Option<&'static str> {
    Some(match t {
        Ty::Bool => "bool",
        Ty::Int => "int",
        Ty::UInt => "uint",
        Ty::Double => "double",
        Ty::String => "string",
        Ty::Bytes => "bytes",
        Ty::Duration => "google.protobuf.Duration",
        Ty::Timestamp => "google.protobuf.Timestamp",
        _ => return None,
    })
}

fn numeric(t: &Ty) -> bool {
    matches!(t, Ty::Int | Ty::UInt | Ty::Double)
}

/// The operand types of a binary operator no overload accepts, for
/// operands of known primitive types: equality of different types, an
/// ordering of different types other than numbers (Kubernetes compares
/// numbers across types), arithmetic of different types other than on
/// timestamps and durations.
fn mismatch(name: &str, args: &[Ty]) -> Option<(&'static str, &'static str)> {
    let (a, b) = match args {
        [a, b] => (a, b),
        _ => return None,
    };
    let (pa, pb) = (primitive(a)?, primitive(b)?);
    if a == b {
        return None;
    }
    let bad = match name {
        operators::EQUALS | operators::NOT_EQUALS => true,
        operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS => !(numeric(a) && numeric(b)),
        operators::ADD => !matches!(
            (a, b),
            (Ty::Timestamp, Ty::Duration) | (Ty::Duration, Ty::Timestamp)
        ),
        operators::SUBSTRACT => !matches!((a, b), (Ty::Timestamp, Ty::Duration)),
        operators::MULTIPLY | operators::DIVIDE | operators::MODULO => true,
        _ => false,
    };
    bad.then_some((pa, pb))
}

/// Member functions of strings only.
const STRING_MEMBERS: &[&str] = &[
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
    "replace",
    "substring",
    "charAt",
    "find",
    "findAll",
];

/// Member functions of lists only.
const LIST_MEMBERS: &[&str] = &["isSorted", "sum", "min", "max", "join"];

/// The signature cel-go prints for a call no overload accepts (`int.()`,
/// `(bool)`), for calls on values of known primitive types: string
/// functions on other primitives, list functions and `size` on scalars.
fn bad_call(name: &str, qualified: bool, target: Option<&Ty>, args: &[Ty]) -> Option<String> {
    if qualified {
        return None;
    }
    let arg_names: Option<Vec<&str>> = args
        .iter()
        .map(|a| {
            if *a == Ty::Dyn {
                Some("dyn")
            } else {
                primitive(a)
            }
        })
        .collect();
    let arg_names = arg_names?.join(", ");
    let sized = |t: &Ty| matches!(t, Ty::String | Ty::Bytes);
    match target {
        Some(t) => {
            let tn = primitive(t)?;
            let bad = (STRING_MEMBERS.contains(&name) && *t != Ty::String)
                || LIST_MEMBERS.contains(&name)
                || (name == "size" && !sized(t));
            bad.then(|| format!("{tn}.({arg_names})"))
        }
        None => match (name, args) {
            ("size", [t]) if primitive(t).is_some() && !sized(t) => Some(format!("({arg_names})")),
            _ => None,
        },
    }
}

/// The common type of `types`, or `dyn`.
fn common(types: &[Ty]) -> Ty {
    match types.split_first() {
        Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
        _ => Ty::Dyn,
    }
}

fn operator(name: &str, args: &[Ty]) -> Ty {
    match name {
        operators::LOGICAL_AND
        | operators::LOGICAL_OR
        | operators::LOGICAL_NOT
        | operators::EQUALS
        | operators::NOT_EQUALS
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS
        | operators::IN
        | operators::NOT_STRICTLY_FALSE => Ty::Bool,
        operators::CONDITIONAL => match (args.get(1), args.get(2)) {
            (Some(a), Some(b)) if a == b => a.clone(),
            _ => Ty::Dyn,
        },
        operators::INDEX | operators::OPT_INDEX => match args.first() {
            Some(Ty::List(t)) | Some(Ty::Map(t)) => (**t).clone(),
            _ => Ty::Dyn,
        },
        operators::NEGATE => args.first().cloned().unwrap_or(Ty::Dyn),
        operators::ADD
        | operators::SUBSTRACT
        | operators::MULTIPLY
        | operators::DIVIDE
        | operators::MODULO => match (args.first(), args.get(1)) {
            (Some(Ty::Timestamp), Some(Ty::Timestamp)) if name == operators::SUBSTRACT => {
                Ty::Duration
            }
            (Some(Ty::Timestamp), _) | (_, Some(Ty::Timestamp)) => Ty::Timestamp,
            (Some(a), Some(b)) if a == b => a.clone(),
            _ => Ty::Dyn,
        },
        _ => Ty::Dyn,
    }
}

/// The result type of a known function, `None` for an unknown one.
fn result_type(name: &str, target: Option<&Ty>) -> Option<Ty> {
    let t = match name {
        "contains"
        | "startsWith"
        | "endsWith"
        | "matches"
        | "isSorted"
        | "sets.contains"
        | "sets.equivalent"
        | "sets.intersects"
        | "isURL"
        | "isQuantity"
        | "isInteger"
        | "isGreaterThan"
        | "isLessThan"
        | "hasValue"
        | "bool"
        | "isIP"
        | "ip.isCanonical"
        | "isCIDR"
        | "isUnspecified"
        | "isLoopback"
        | "isLinkLocalMulticast"
        | "isLinkLocalUnicast"
        | "isGlobalUnicast"
        | "containsIP"
        | "containsCIDR" => Ty::Bool,
        "size" | "int" | "indexOf" | "lastIndexOf" | "sign" | "asInteger" | "compareTo"
        | "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
        | "getDayOfWeek" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds"
        | "family" | "prefixLength" => Ty::Int,
        "string" | "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt"
        | "join" | "format" | "strings.quote" | "find" | "getScheme" | "getHost"
        | "getHostname" | "getPort" | "getEscapedPath" => Ty::String,
        "double" | "asApproximateFloat" => Ty::Double,
        "uint" => Ty::UInt,
        "bytes" => Ty::Bytes,
        "duration" => Ty::Duration,
        "timestamp" => Ty::Timestamp,
        "split" | "findAll" => Ty::List(Box::new(Ty::String)),
        "reverse" | "slice" | "distinct" | "sort" | "sortBy" | "min" | "max" | "sum" => {
            match target {
                Some(Ty::String) if name == "reverse" => Ty::String,
                Some(Ty::List(t)) if matches!(name, "min" | "max" | "sum") => (**t).clone(),
                Some(l @ Ty::List(_)) => l.clone(),
                _ => Ty::Dyn,
            }
        }
        "dyn"
        | "type"
        | "flatten"
        | "lists.range"
        | "optional.of"
        | "optional.none"
        | "optional.ofNonZeroValue"
        | "value"
        | "orValue"
        | "or"
        | "url"
        | "getQuery"
        | "quantity"
        | "add"
        | "sub"
        | "ip"
        | "cidr"
        | "masked" => Ty::Dyn,
        _ => return None,
    };
    Some(t)
}
