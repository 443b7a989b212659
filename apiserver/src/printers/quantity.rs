//! `resource.Quantity.String()`: the canonical form kube-apiserver prints a
//! quantity in (`1024Mi` -> `1Gi`, `0.5` -> `500m`, `1000` -> `1k`), for
//! values up to nano precision. Unparseable text is printed as is.

const NANO: i128 = 1_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    BinarySI,
    DecimalSI,
    DecimalExponent,
}

/// Parses a quantity into (value in nano units, format).
fn parse(s: &str) -> Option<(i128, Format)> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if frac_part.contains('.') {
        return None;
    }
    // value in units of 10^-9, fraction digits beyond 9 rounded up
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut frac: i128 = 0;
    let mut round_up = false;
    for (idx, c) in frac_part.chars().enumerate() {
        let d = i128::from(c.to_digit(10)?);
        if idx < 9 {
            frac += d * 10i128.pow(8 - idx as u32);
        } else if d != 0 {
            round_up = true;
        }
    }
    let base = int.checked_mul(NANO)?.checked_add(frac)?;
    let (value, format) = match suffix {
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let n = "KMGTPE".find(&suffix[..1])? as u32 + 1;
            (base.checked_mul(1024i128.pow(n))?, Format::BinarySI)
        }
        "" => (base, Format::DecimalSI),
        "n" | "u" | "m" => {
            let div = match suffix {
                "n" => NANO,
                "u" => 1_000_000,
                _ => 1_000,
            };
            round_up |= base % div != 0;
            (base / div, Format::DecimalSI)
        }
        "k" | "M" | "G" | "T" | "P" | "E" => {
            let n = "kMGTPE".find(suffix)? as u32 + 1;
            (base.checked_mul(1000i128.pow(n))?, Format::DecimalSI)
        }
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let e: i32 = exp.parse().ok()?;
            if e >= 0 {
                (
                    base.checked_mul(10i128.checked_pow(e.unsigned_abs())?)?,
                    Format::DecimalExponent,
                )
            } else {
                let div = 10i128.checked_pow(e.unsigned_abs())?;
                round_up |= base % div != 0;
                (base / div, Format::DecimalExponent)
            }
        }
    };
    let value = if round_up { value + 1 } else { value };
    Some((if negative { -value } else { value }, format))
}

/// A quantity's value in nano units (10^-9), rounded up beyond that
/// precision as Kubernetes does.
pub fn nanos(s: &str) -> Option<i128> {
    parse(s).map(|(value, _)| value)
}

/// The canonical text of a quantity string.
pub fn canonical(s: &str) -> String {
    match parse(s) {
        Some((value, format)) => format_value(value, format),
        None => s.to_string(),
    }
}

fn format_value(nanos: i128, mut format: Format) -> String {
    if nanos == 0 {
        return "0".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.abs();
    if format == Format::BinarySI && (abs < 1024 * NANO || abs % NANO != 0) {
        format = Format::DecimalSI;
    }
    if format == Format::BinarySI {
        let mut m = abs / NANO;
        let mut n = 0;
        while n < 6 && m % 1024 == 0 {
            m /= 1024;
            n += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][n];
        return format!("{sign}{m}{suffix}");
    }
    let mut m = abs;
    let mut e: i32 = -9;
    while e < 18 && m % 1000 == 0 {
        m /= 1000;
        e += 3;
    }
    let suffix = match (format, e) {
        (_, 0) => String::new(),
        (Format::DecimalExponent, e) => format!("e{e}"),
        (_, -9) => "n".to_string(),
        (_, -6) => "u".to_string(),
        (_, -3) => "m".to_string(),
        (_, 3) => "k".to_string(),
        (_, 6) => "M".to_string(),
        (_, 9) => "G".to_string(),
        (_, 12) => "T".to_string(),
        (_, 15) => "P".to_string(),
        (_, 18) => "E".to_string(),
        (_, e) => format!("e{e}"),
    };
    format!("{sign}{m}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("512Mi", "512Mi"),
            ("1024", "1024"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("0.5", "500m"),
            ("1.5", "1500m"),
            ("100m", "100m"),
            ("1000m", "1"),
            ("0", "0"),
            ("0Gi", "0"),
            ("2k", "2k"),
            ("10G", "10G"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("500Ki", "500Ki"),
            ("0.5Ki", "512"),
            ("100Ki", "100Ki"),
            ("1.5Gi", "1536Mi"),
            ("-1", "-1"),
            ("12e-1", "1200e-3"),
            ("1n", "1n"),
            ("garbage", "garbage"),
            ("", ""),
        ] {
            assert_eq!(canonical(input), want, "{input}");
        }
    }
}
