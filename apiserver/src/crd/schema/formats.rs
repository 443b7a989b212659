//! String formats CRD schemas validate (apiextensions'
//! `supportedVersionedFormats` over kube-openapi's `strfmt` registry).
//! Other formats (`int32`, `int64`, `float`, `double`, ...) are stripped
//! before validation upstream and check nothing.

use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// The format names CRD schemas validate, normalized (`-` removed).
const SUPPORTED: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// The normalized name of a format CRD validation checks, or `None` when
/// upstream strips it (unknown formats and numeric ones).
pub fn supported(format: &str) -> Option<String> {
    let normalized = format.replace('-', "");
    SUPPORTED
        .contains(&normalized.as_str())
        .then_some(normalized)
}

/// Whether `s` is valid for the (normalized, supported) format `name`.
pub fn validates(name: &str, s: &str) -> bool {
    match name {
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "uri" => is_request_uri(s),
        "email" => is_email(s),
        "hostname" => is_hostname(s),
        "ipv4" => parse_ip_sloppy(s) && s.contains('.'),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some('3')),
        "uuid4" => is_uuid(s, Some('4')),
        "uuid5" => is_uuid(s, Some('5')),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => s.len() == 11 && matches(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$", s),
        "hexcolor" => matches(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", s),
        "rgbcolor" => matches(
            r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$",
            s,
        ),
        "byte" => matches(
            r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
            s,
        ),
        "password" => true,
        "date" => is_date(s),
        "datetime" => is_date_time(s),
        "duration" => is_duration(s),
        _ => true,
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// A compiled regular expression (cached per thread), or the compile error
/// in Go's wording. Perl classes (`\d`, `\w`, `\s`, `\b`) match ASCII only,
/// as in Go's RE2.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let cached = CACHE.with(|c| c.borrow().get(pattern).cloned());
    if let Some(Some(re)) = cached {
        return Ok(re);
    }
    let re = Regex::new(pattern).map_err(|e| regex_error(pattern, &e))?;
    let re = Regex::new(&ascii_perl_classes(pattern)).unwrap_or(re);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(pattern.to_string(), Some(re.clone()));
    });
    Ok(re)
}

/// Rewrites `\d`, `\w`, `\s` (and their negations) and `\b`/`\B` to
/// their ASCII meaning (Rust's are Unicode-aware, Go's are not).
fn ascii_perl_classes(pattern: &str) -> String {
    const D: &str = "0-9";
    const W: &str = "0-9A-Za-z_";
    const S: &str = "\\t\\n\\x0C\\r ";
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push(c);
                    break;
                };
                let set = match n {
                    'd' | 'D' => Some(D),
                    'w' | 'W' => Some(W),
                    's' | 'S' => Some(S),
                    _ => None,
                };
                match (set, in_class) {
                    (Some(set), false) => {
                        let neg = if n.is_ascii_uppercase() { "^" } else { "" };
                        out.push_str(&format!("[{neg}{set}]"));
                    }
                    (Some(set), true) if n.is_ascii_lowercase() => out.push_str(set),
                    _ if !in_class && (n == 'b' || n == 'B') => {
                        out.push_str(&format!("(?-u:\\{n})"))
                    }
                    _ => {
                        out.push(c);
                        out.push(n);
                    }
                }
                class_start = false;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                continue;
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // a POSIX class: copy through ":]"
                out.push(c);
                let mut prev = ' ';
                for p in chars.by_ref() {
                    out.push(p);
                    if prev == ':' && p == ']' {
                        break;
                    }
                    prev = p;
                }
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
        class_start = false;
    }
    out
}

/// Go's `regexp/syntax` error text (`error parsing regexp: <code>: `<expr>``)
/// for the errors both engines share; others keep Rust's wording.
fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let kind = lines
        .last()
        .map(|l| l.trim().trim_start_matches("error: "))
        .unwrap_or("");
    // the part of the pattern under the carets (single-line patterns)
    let span = || -> Option<String> {
        let (pat, carets) = (lines.get(1)?, lines.get(2)?);
        let start = carets.find('^')?;
        let len = carets[start..].chars().take_while(|c| *c == '^').count();
        let chars: Vec<char> = pat.chars().collect();
        Some(chars.get(start..start + len)?.iter().collect())
    };
    let whole = pattern.to_string();
    let (code, expr) = if kind.starts_with("repetition operator missing expression") {
        (
            "missing argument to repetition operator",
            span().unwrap_or(whole),
        )
    } else if kind.starts_with("unclosed group") {
        ("missing closing )", whole)
    } else if kind.starts_with("unopened group") {
        ("unexpected )", whole)
    } else if kind.starts_with("unclosed character class") {
        let from = pattern.rfind('[').unwrap_or(0);
        ("missing closing ]", pattern[from..].to_string())
    } else if kind.starts_with("unrecognized escape sequence") || kind.starts_with("backreferences")
    {
        ("invalid escape sequence", span().unwrap_or(whole))
    } else if kind.starts_with("invalid character class range") {
        ("invalid character class range", span().unwrap_or(whole))
    } else if kind.contains("repetition count") || kind.contains("counted repetition") {
        ("invalid repeat count", span().unwrap_or(whole))
    } else if kind.starts_with("look-around") || kind.starts_with("unrecognized flag") {
        (
            "invalid or unsupported Perl syntax",
            span().unwrap_or(whole),
        )
    } else if kind.starts_with("incomplete escape sequence") {
        ("trailing backslash at end of expression", String::new())
    } else {
        (kind, whole)
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

fn matches(pattern: &str, s: &str) -> bool {
    compile(pattern).map(|re| re.is_match(s)).unwrap_or(false)
}

fn is_hostname(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$").ok()
    });
    let Some(re) = re else { return false };
    re.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

fn is_uuid(s: &str, version: Option<char>) -> bool {
    let hex: Vec<char> = s.chars().collect();
    // 8-4-4-4-12 with optional dashes.
    let mut digits = Vec::with_capacity(32);
    let mut i = 0;
    for (n, group) in [8usize, 4, 4, 4, 12].iter().enumerate() {
        if n > 0 && hex.get(i) == Some(&'-') {
            i += 1;
        }
        for _ in 0..*group {
            match hex.get(i) {
                Some(c) if c.is_ascii_hexdigit() => digits.push(c.to_ascii_lowercase()),
                _ => return false,
            }
            i += 1;
        }
    }
    if i != hex.len() {
        return false;
    }
    match version {
        None => true,
        Some('3') => digits[12] == '3',
        Some(v) => digits[12] == v && matches!(digits[16], '8' | '9' | 'a' | 'b'),
    }
}

fn strip_isbn(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

fn is_isbn10(s: &str) -> bool {
    let s = strip_isbn(s);
    let b = s.as_bytes();
    if b.len() != 10 || !b[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = match b[9] {
        b'X' => 10,
        d if d.is_ascii_digit() => (d - b'0') as u32,
        _ => return false,
    };
    let mut sum: u32 = b[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| (i as u32 + 1) * (d - b'0') as u32)
        .sum();
    sum += 10 * last;
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let s = strip_isbn(s);
    let b = s.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..12]
        .iter()
        .enumerate()
        .map(|(i, d)| (if i % 2 == 0 { 1 } else { 3 }) * (d - b'0') as u32)
        .sum();
    (10 - sum % 10) % 10 == (b[12] - b'0') as u32
}

fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !matches(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$",
        &digits,
    ) {
        return false;
    }
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = (c - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// `netutils.ParseIPSloppy`: IPv4 tolerating leading zeros, or IPv6.
fn parse_ip_sloppy(s: &str) -> bool {
    parse_v4_sloppy(s).is_some() || s.parse::<Ipv6Addr>().is_ok()
}

fn parse_v4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse::<u8>().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let bits = if parse_v4_sloppy(ip).is_some() {
        32
    } else if ip.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u32>().map(|n| n <= bits).unwrap_or(false)
}

/// `net.ParseMAC`: 6, 8 or 20 octets, `:`/`-` separated pairs or `.`
/// separated quads.
fn is_mac(s: &str) -> bool {
    let valid_len = |n: usize| n == 6 || n == 8 || n == 20;
    for sep in [':', '-'] {
        if s.len() > 2 && s.as_bytes().get(2) == Some(&(sep as u8)) {
            let parts: Vec<&str> = s.split(sep).collect();
            return valid_len(parts.len())
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    if s.len() > 4 && s.as_bytes().get(4) == Some(&b'.') {
        let parts: Vec<&str> = s.split('.').collect();
        return valid_len(parts.len() * 2)
            && parts
                .iter()
                .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    false
}

/// `time.Parse("2006-01-02", s)`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// kube-openapi's `IsDateTime`: a full date, `T`, then
/// `hh:mm:ss[.frac](Z|±hh:mm)` (case-insensitive).
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$").ok()
    });
    let Some(caps) = re.as_ref().and_then(|re| re.captures(parts[1])) else {
        return false;
    };
    let g = |i: usize| caps.get(i).map(|m| m.as_str()).unwrap_or("");
    g(1) <= "23" && g(2) <= "59" && g(3) <= "59"
}

/// kube-openapi's `ParseDuration`: Go's `time.ParseDuration`, else any
/// `<digits><unit>` run with a known unit (`3 days`, `1 week`).
fn is_duration(s: &str) -> bool {
    if go_duration(s) {
        return true;
    }
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| Regex::new(r"((\d+)\s*([A-Za-zµ]+))").ok())
        .as_ref()
    else {
        return false;
    };
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    re.captures_iter(s).any(|c| {
        if c.get(2)
            .map(|d| d.as_str().parse::<i64>().is_err())
            .unwrap_or(true)
        {
            return false;
        }
        let unit = c
            .get(3)
            .map(|u| u.as_str().trim().to_lowercase())
            .unwrap_or_default();
        UNITS.iter().any(|variants| {
            variants.iter().enumerate().any(|(i, v)| {
                (i == variants.len() - 1 && unit.starts_with(v)) || unit.eq_ignore_ascii_case(v)
            })
        })
    })
}

/// Go's `time.ParseDuration` syntax: `[-+]?(<decimal><unit>)+` or `0`.
fn go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut consumed = int_len;
        let mut frac_len = 0;
        if rest[consumed..].starts_with('.') {
            consumed += 1;
            frac_len = rest[consumed..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            consumed += frac_len;
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        rest = &rest[consumed..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// `net/mail.ParseAddress`, simplified: `addr-spec` or
/// `display name <addr-spec>`.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        (None, false) => s,
        _ => return false,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom =
        |p: &str| !p.is_empty() && p.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    let local_ok = if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        true
    } else {
        dot_atom(local)
    };
    let domain_ok = (domain.starts_with('[') && domain.ends_with(']')) || dot_atom(domain);
    local_ok && domain_ok
}

/// `url.ParseRequestURI`: an absolute URI or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    let Some((scheme, rest)) = split_scheme(s) else {
        return false;
    };
    let rest = rest.split_once('?').map(|(a, _)| a).unwrap_or(rest);
    if !rest.starts_with('/') {
        // opaque with a scheme; a relative path without one is refused
        return scheme.is_some();
    }
    let path = match rest.strip_prefix("//") {
        Some(after) if scheme.is_some() => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if !valid_authority(authority) {
                return false;
            }
            path
        }
        _ => rest,
    };
    valid_escapes(path)
}

/// Go's `getScheme`: `None` for a leading `:`, else the scheme (if any)
/// and the rest.
fn split_scheme(s: &str) -> Option<(Option<&str>, &str)> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((Some(&s[..i]), &s[i + 1..])),
            _ => return Some((None, s)),
        }
    }
    Some((None, s))
}

fn valid_authority(a: &str) -> bool {
    let host_port = a.rsplit_once('@').map(|(_, h)| h).unwrap_or(a);
    let (host, port, bracketed) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(i) => (&host_port[1..i], &host_port[i + 1..], true),
            None => return false,
        }
    } else {
        match host_port.rfind(':') {
            Some(i) => (&host_port[..i], &host_port[i..], false),
            None => (host_port, "", false),
        }
    };
    let port_ok =
        port.is_empty() || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit()));
    let host_ok = bracketed
        || host
            .chars()
            .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || "-_.~!$&'()*+,;=%".contains(c));
    port_ok && host_ok && valid_escapes(host)
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_use_go_wording() {
        let err = |p: &str| compile(p).err().unwrap_or_default();
        assert_eq!(
            err("+"),
            "error parsing regexp: missing argument to repetition operator: `+`"
        );
        assert_eq!(err("a(b"), "error parsing regexp: missing closing ): `a(b`");
        assert_eq!(err("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(err("x[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(
            err(r"a\q"),
            r"error parsing regexp: invalid escape sequence: `\q`"
        );
        assert_eq!(
            err("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert!(compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").is_ok());
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        let is = |p: &str, s: &str| compile(p).map(|re| re.is_match(s)).unwrap_or(false);
        assert!(is(r"^\d+$", "123"));
        assert!(!is(r"^\d+$", "١٢٣"));
        assert!(is(r"^[\d.]+$", "1.2"));
        assert!(!is(r"^[\w]+$", "é"));
        assert!(is(r"^\D$", "x"));
        assert!(is(r"^\s$", " "));
        assert!(!is(r"^\s$", "\u{a0}"));
        assert!(is(r"^[]a]+$", "]a"));
        assert!(is(r"^[[:alpha:]\d]+$", "a1"));
        assert!(is(r"\bfoo\b", "a foo b"));
    }

    #[test]
    fn supported_formats_are_normalized() {
        assert_eq!(supported("date-time").as_deref(), Some("datetime"));
        assert_eq!(supported("int32"), None);
        assert_eq!(supported("double"), None);
    }

    #[test]
    fn formats_validate_like_strfmt() {
        let ok = [
            ("datetime", "2024-01-02T03:04:05Z"),
            ("datetime", "2024-01-02T03:04:05.123+01:00"),
            ("date", "2024-02-29"),
            ("duration", "1h30m"),
            ("duration", "3 days"),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
            ("uuid4", "123e4567-e89b-42d3-a456-426614174000"),
            ("email", "a.b@example.com"),
            ("email", "Alice <alice@example.com>"),
            ("hostname", "example.com"),
            ("hostname", "localhost"),
            ("ipv4", "10.0.0.1"),
            ("ipv6", "::1"),
            ("cidr", "10.0.0.0/8"),
            ("mac", "00:1a:2b:3c:4d:5e"),
            ("uri", "https://example.com/a?b=c"),
            ("uri", "/just/a/path"),
            ("byte", "aGVsbG8="),
            ("hexcolor", "#fff"),
            ("rgbcolor", "rgb(1, 2, 255)"),
            ("isbn", "0321751043"),
            ("isbn13", "978-0321751041"),
            ("ssn", "123-45-6789"),
            ("creditcard", "4111 1111 1111 1111"),
            ("bsonobjectid", "507f1f77bcf86cd799439011"),
        ];
        for (f, s) in ok {
            assert!(validates(f, s), "{f} should accept {s:?}");
        }
        let bad = [
            ("datetime", "2024-01-02"),
            ("datetime", "2024-01-02T25:00:00Z"),
            ("date", "2023-02-29"),
            ("duration", "soon"),
            ("uuid", "123"),
            ("uuid4", "123e4567-e89b-12d3-a456-426614174000"),
            ("email", "not-an-email"),
            ("hostname", "-bad-.com"),
            ("ipv4", "300.1.1.1"),
            ("ipv4", "::1"),
            ("ipv6", "10.0.0.1"),
            ("cidr", "10.0.0.0/33"),
            ("mac", "00:1a:2b"),
            ("uri", "relative/path"),
            ("uri", ""),
            ("byte", "!!!"),
            ("hexcolor", "#ffff"),
            ("isbn10", "0321751044"),
            ("creditcard", "4111 1111 1111 1112"),
        ];
        for (f, s) in bad {
            assert!(!validates(f, s), "{f} should reject {s:?}");
        }
    }
}
