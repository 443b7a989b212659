//! Cell formatting shared by the printers: ages as upstream's
//! `duration.HumanDuration`, label maps and selectors, container lists, and
//! small accessors over `serde_json::Value`.

use jiff::Timestamp;
use serde_json::Value;

use super::quantity::canonical;
use crate::selectors::LabelSelector;

/// The string at a JSON pointer, or "".
pub fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The string at a JSON pointer, if present and non-empty.
pub fn opt_s<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The integer at a JSON pointer, or 0.
pub fn i(obj: &Value, pointer: &str) -> i64 {
    opt_i(obj, pointer).unwrap_or(0)
}

/// The integer at a JSON pointer, if present.
pub fn opt_i(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// The boolean at a JSON pointer, if present.
pub fn opt_b(obj: &Value, pointer: &str) -> Option<bool> {
    obj.pointer(pointer).and_then(Value::as_bool)
}

/// The array at a JSON pointer, or an empty slice.
pub fn arr<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The number of entries of the map or array at a JSON pointer.
pub fn len(obj: &Value, pointer: &str) -> i64 {
    let n = match obj.pointer(pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    n as i64
}

/// `metadata.name`.
pub fn name(obj: &Value) -> &str {
    s(obj, "/metadata/name")
}

/// A quantity in its canonical text (stored as a string; a bare number is
/// accepted too). Absent is the zero quantity, `0`.
pub fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(q)) => canonical(q),
        Some(Value::Number(n)) => canonical(&n.to_string()),
        _ => "0".to_string(),
    }
}

/// An IntOrString as text.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(q) => q.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Parses a metav1.Time / MicroTime; Go's zero time counts as absent.
pub fn parse_time(v: Option<&Value>) -> Option<Timestamp> {
    let t: Timestamp = v?.as_str()?.parse().ok()?;
    (t.as_second() != ZERO_TIME_SECONDS).then_some(t)
}

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z, in Unix seconds.
const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// upstream `duration.HumanDuration`: ~2-3 significant figures (`5m12s`,
/// `3h`, `4d2h`, `400d`, `2y10d`).
pub fn human_duration(nanos: i128) -> String {
    let seconds = nanos / 1_000_000_000;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// Nanoseconds from `from` to `to`.
pub fn between(from: Timestamp, to: Timestamp) -> i128 {
    to.as_nanosecond() - from.as_nanosecond()
}

/// upstream `translateTimestampSince`: the age of a timestamp, `<unknown>`
/// when it is absent.
pub fn translate_timestamp_since(v: Option<&Value>, now: Timestamp) -> String {
    match parse_time(v) {
        Some(t) => human_duration(between(t, now)),
        None => "<unknown>".to_string(),
    }
}

/// The `Age` cell: time since `metadata.creationTimestamp`.
pub fn age(obj: &Value, now: Timestamp) -> String {
    translate_timestamp_since(obj.pointer("/metadata/creationTimestamp"), now)
}

/// The default table's `Created At` cell: RFC 3339 in UTC.
pub fn created_at(obj: &Value) -> String {
    match obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
    {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// upstream `labels.FormatLabels`: `k=v,...` sorted by key, `<none>` if empty.
pub fn format_labels(map: Option<&Value>) -> String {
    let Some(m) = map.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<(&String, &str)> = m
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: `<none>` when empty, `<error>` if invalid.
pub fn format_label_selector(selector: Option<&Value>) -> String {
    LabelSelector::format_json(selector)
}

/// The container names and images of a pod spec, comma separated.
pub fn containers(pod_spec: Option<&Value>) -> (String, String) {
    let list = pod_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// `a,b,c + 2 more...` over at most `max` items of `list`, out of `count`.
pub fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count - max);
    }
    if ret.is_empty() {
        return "<unset>".to_string();
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    #[test]
    fn human_durations_match_upstream() {
        let cases: &[(i128, &str)] = &[
            (-2 * S, "<invalid>"),
            (-S, "0s"),
            (0, "0s"),
            (S / 2, "0s"),
            (119 * S, "119s"),
            (120 * S, "2m"),
            (312 * S, "5m12s"),
            (600 * S, "10m"),
            (179 * 60 * S, "179m"),
            (3 * 3600 * S, "3h"),
            (3 * 3600 * S + 20 * 60 * S, "3h20m"),
            (8 * 3600 * S, "8h"),
            (47 * 3600 * S, "47h"),
            (48 * 3600 * S, "2d"),
            (50 * 3600 * S, "2d2h"),
            (8 * 24 * 3600 * S, "8d"),
            (729 * 24 * 3600 * S, "729d"),
            (730 * 24 * 3600 * S, "2y"),
            (740 * 24 * 3600 * S, "2y10d"),
            (8 * 365 * 24 * 3600 * S, "8y"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(*d), *want, "{d}");
        }
    }

    #[test]
    fn timestamps() {
        let now: Timestamp = "2024-01-01T00:10:00Z".parse().expect("ts");
        let v = Value::from("2024-01-01T00:04:48Z");
        assert_eq!(translate_timestamp_since(Some(&v), now), "5m12s");
        assert_eq!(translate_timestamp_since(None, now), "<unknown>");
        let zero = Value::from("0001-01-01T00:00:00Z");
        assert_eq!(translate_timestamp_since(Some(&zero), now), "<unknown>");
        let micro = Value::from("2024-01-01T00:09:58.123456Z");
        assert_eq!(translate_timestamp_since(Some(&micro), now), "1s");
    }

    #[test]
    fn labels_and_containers() {
        let m = serde_json::json!({"b": "2", "a": "1"});
        assert_eq!(format_labels(Some(&m)), "a=1,b=2");
        assert_eq!(format_labels(None), "<none>");
        let spec = serde_json::json!({"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y"}]});
        assert_eq!(
            containers(Some(&spec)),
            ("a,b".to_string(), "x:1,y".to_string())
        );
        assert_eq!(containers(None), (String::new(), String::new()));
    }
}
