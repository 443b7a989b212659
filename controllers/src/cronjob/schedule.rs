//! Cron schedules as the CronJob controller reads them (robfig/cron v3's
//! standard parser): five fields (minute, hour, day of month, month, day of
//! week) with `*`, `?`, ranges, steps, lists and names (`JAN`, `MON`), the
//! descriptors `@yearly` .. `@hourly` and `@every <duration>`, an optional
//! `TZ=`/`CRON_TZ=` prefix; and the next activation time after an instant,
//! computed in the schedule's time zone with robfig's walk over the fields
//! (so DST gaps skip a run and DST folds may repeat one, as upstream).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// Set in a field's bits when it was written `*` or `?` (without a step
/// above 1): the day-of-month/day-of-week OR rule depends on it.
const STAR: u64 = 1 << 63;

/// A parsed schedule with the time zone it is evaluated in.
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    tz: TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Fields(Fields),
    /// `@every d`: `d` after the previous time (whole seconds, at least 1 s).
    Every(SignedDuration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MONTH_NAMES: &[(&str, u32)] = &[
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];
const DAY_NAMES: &[(&str, u32)] = &[
    ("sun", 0),
    ("mon", 1),
    ("tue", 2),
    ("wed", 3),
    ("thu", 4),
    ("fri", 5),
    ("sat", 6),
];
const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: MONTH_NAMES,
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: DAY_NAMES,
};

impl Schedule {
    /// Parse `spec`, evaluated in `tz` unless it carries a `TZ=` prefix.
    /// Errors carry robfig's messages.
    pub fn parse(spec: &str, tz: TimeZone) -> Result<Schedule, String> {
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        let mut spec = spec.trim_start();
        let mut tz = tz;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let end = spec.find(' ').unwrap_or(spec.len());
            let eq = spec.find('=').map_or(0, |i| i + 1);
            let name = &spec[eq..end];
            tz = TimeZone::get(name)
                .map_err(|_| format!("provided bad location {name}: unknown time zone {name}"))?;
            spec = spec[end..].trim();
        }
        let kind = if let Some(descriptor) = spec.strip_prefix('@') {
            descriptor_kind(descriptor, spec)?
        } else {
            Kind::Fields(parse_fields(spec)?)
        };
        Ok(Schedule { kind, tz })
    }

    /// The first activation strictly after `after` (robfig's `Next`), or
    /// None when there is none within five years (e.g. `0 0 30 2 *`).
    pub fn next(&self, after: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            Kind::Every(delay) => {
                let nanos = SignedDuration::from_nanos(i64::from(after.subsec_nanosecond()));
                after.checked_add(*delay - nanos).ok()
            }
            Kind::Fields(f) => next_fields(f, &after.to_zoned(self.tz.clone())),
        }
    }
}

fn descriptor_kind(descriptor: &str, spec: &str) -> Result<Kind, String> {
    let fields = match descriptor {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => {
            if let Some(d) = descriptor.strip_prefix("every ") {
                let dur = parse_go_duration(d).ok_or_else(|| {
                    format!("failed to parse duration {spec}: time: invalid duration \"{d}\"")
                })?;
                let secs = dur.as_secs().max(1);
                return Ok(Kind::Every(SignedDuration::from_secs(secs)));
            }
            return Err(format!("unrecognized descriptor: {spec}"));
        }
    };
    Ok(Kind::Fields(parse_fields(fields)?))
}

fn parse_fields(spec: &str) -> Result<Fields, String> {
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    Ok(Fields {
        minute: get_field(fields[0], &MINUTES)?,
        hour: get_field(fields[1], &HOURS)?,
        dom: get_field(fields[2], &DOM)?,
        month: get_field(fields[3], &MONTHS)?,
        dow: get_field(fields[4], &DOW)?,
    })
}

/// The bits of a comma-separated list of ranges.
fn get_field(field: &str, b: &Bounds) -> Result<u64, String> {
    let mut bits = 0;
    for expr in field.split(',').filter(|e| !e.is_empty()) {
        bits |= get_range(expr, b)?;
    }
    Ok(bits)
}

/// One `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn get_range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let mut extra = 0;
    let (start, mut end);
    if low_high[0] == "*" || low_high[0] == "?" {
        start = b.min;
        end = b.max;
        extra = STAR;
    } else {
        start = int_or_name(low_high[0], b)?;
        end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = non_negative_int(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = extra;
    let mut i = start;
    while i <= end {
        bits |= 1 << i;
        i += step;
    }
    Ok(bits)
}

fn int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    match b.names.iter().find(|(name, _)| *name == lower) {
        Some((_, n)) => Ok(*n),
        None => non_negative_int(expr),
    }
}

fn non_negative_int(expr: &str) -> Result<u32, String> {
    let n: i64 = expr.parse().map_err(|_| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": invalid syntax")
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    // Anything above 63 is beyond every field's maximum anyway.
    Ok(u32::try_from(n.min(64)).unwrap_or(64))
}

/// A Go duration (`90s`, `1h30m`, `1.5h`), or None.
fn parse_go_duration(s: &str) -> Option<SignedDuration> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[u..];
    }
    let d = SignedDuration::try_from_secs_f64(total).ok()?;
    Some(if negative { -d } else { d })
}

fn has(bits: u64, n: i8) -> bool {
    (0..63).contains(&n) && bits & (1 << n) != 0
}

fn day_matches(f: &Fields, t: &Zoned) -> bool {
    let dom = has(f.dom, t.day());
    let dow = has(f.dow, t.weekday().to_sunday_zero_offset());
    if f.dom & STAR != 0 || f.dow & STAR != 0 {
        dom && dow
    } else {
        dom || dow
    }
}

/// robfig's `SpecSchedule.Next`: starting one second on, move the time
/// forward field by field (month, day, hour, minute, second), going back to
/// the month check whenever a field wraps around.
fn next_fields(f: &Fields, after: &Zoned) -> Option<Timestamp> {
    let tz = after.time_zone().clone();
    let nanos = SignedDuration::from_nanos(i64::from(after.subsec_nanosecond()));
    let mut t = after
        .checked_add(SignedDuration::from_secs(1) - nanos)
        .ok()?;
    let mut added = false;
    let year_limit = t.year() + 5;
    'wrap: loop {
        if t.year() > year_limit {
            return None;
        }
        while !has(f.month, t.month()) {
            if !added {
                added = true;
                t = Date::new(t.year(), t.month(), 1)
                    .ok()?
                    .to_zoned(tz.clone())
                    .ok()?;
            }
            t = t.checked_add(1.month()).ok()?;
            if t.month() == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(f, &t) {
            if !added {
                added = true;
                t = t.date().to_zoned(tz.clone()).ok()?;
            }
            t = t.checked_add(1.day()).ok()?;
            // Days that do not start at midnight (DST): back to midnight.
            let h = t.hour();
            if h != 0 {
                let shift = if h > 12 { 24 - h } else { -h };
                t = t.checked_add(i64::from(shift).hours()).ok()?;
            }
            if t.day() == 1 {
                continue 'wrap;
            }
        }
        while !has(f.hour, t.hour()) {
            if !added {
                added = true;
                t = t
                    .with()
                    .minute(0)
                    .second(0)
                    .subsec_nanosecond(0)
                    .build()
                    .ok()?;
            }
            t = t.checked_add(1.hour()).ok()?;
            if t.hour() == 0 {
                continue 'wrap;
            }
        }
        while !has(f.minute, t.minute()) {
            if !added {
                added = true;
                t = truncate(&t, 60)?;
            }
            t = t.checked_add(1.minute()).ok()?;
            if t.minute() == 0 {
                continue 'wrap;
            }
        }
        // The standard parser's seconds field is always `0`.
        while t.second() != 0 {
            if !added {
                added = true;
                t = truncate(&t, 1)?;
            }
            t = t.checked_add(1.second()).ok()?;
            if t.second() == 0 {
                continue 'wrap;
            }
        }
        return Some(t.timestamp());
    }
}

/// Go's `Time.Truncate` to a multiple of `secs` seconds of absolute time.
fn truncate(t: &Zoned, secs: i64) -> Option<Zoned> {
    let ts = t.timestamp();
    let s = ts.as_second().div_euclid(secs) * secs;
    Some(
        Timestamp::from_second(s)
            .ok()?
            .to_zoned(t.time_zone().clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn next_in(spec: &str, tz: &str, after: &str) -> String {
        let tz = TimeZone::get(tz).expect("tz");
        let s = Schedule::parse(spec, tz).expect("schedule");
        s.next(utc(after)).expect("next").to_string()
    }

    fn next(spec: &str, after: &str) -> String {
        next_in(spec, "UTC", after)
    }

    #[test]
    fn every_minute_and_steps() {
        assert_eq!(
            next("* * * * *", "2026-01-01T10:00:00Z"),
            "2026-01-01T10:01:00Z"
        );
        assert_eq!(
            next("* * * * *", "2026-01-01T10:00:59.5Z"),
            "2026-01-01T10:01:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-01-01T10:07:00Z"),
            "2026-01-01T10:15:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-01-01T10:45:00Z"),
            "2026-01-01T11:00:00Z"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01T10:26:00Z"),
            "2026-01-01T10:45:00Z"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2026-01-01T13:00:00Z"),
            "2026-01-01T17:00:00Z"
        );
        assert_eq!(
            next("0 0,12 * * *", "2026-01-01T00:00:00Z"),
            "2026-01-01T12:00:00Z"
        );
    }

    #[test]
    fn names_and_wraps() {
        // 2026-01-01 is a Thursday.
        assert_eq!(
            next("0 0 * * MON", "2026-01-01T00:00:00Z"),
            "2026-01-05T00:00:00Z"
        );
        assert_eq!(
            next("0 0 1 jan *", "2026-01-01T00:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("30 6 * FEB-Mar sun", "2026-01-01T00:00:00Z"),
            "2026-02-01T06:30:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-01-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("59 23 31 12 *", "2026-12-31T23:59:00Z"),
            "2027-12-31T23:59:00Z"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Both restricted: either matches (the 15th or a Monday).
        assert_eq!(
            next("0 0 15 * MON", "2026-01-01T00:00:00Z"),
            "2026-01-05T00:00:00Z"
        );
        assert_eq!(
            next("0 0 15 * MON", "2026-01-12T00:00:00Z"),
            "2026-01-15T00:00:00Z"
        );
        // `*` in one of them: both must match (a Monday, any day).
        assert_eq!(
            next("0 0 * * MON", "2026-01-05T00:00:00Z"),
            "2026-01-12T00:00:00Z"
        );
        // A step above 1 makes `*/2` a restriction: OR again. Jan 3 is odd
        // (day of month matches) though a Saturday.
        assert_eq!(
            next("0 0 */2 * MON", "2026-01-02T00:00:00Z"),
            "2026-01-03T00:00:00Z"
        );
        // `?` is `*`.
        assert_eq!(
            next("0 0 ? * MON", "2026-01-01T00:00:00Z"),
            "2026-01-05T00:00:00Z"
        );
    }

    #[test]
    fn time_zones() {
        // 09:00 in New York is 14:00 UTC in winter, 13:00 UTC in summer.
        assert_eq!(
            next_in("0 9 * * *", "America/New_York", "2026-01-10T00:00:00Z"),
            "2026-01-10T14:00:00Z"
        );
        assert_eq!(
            next_in("0 9 * * *", "America/New_York", "2026-07-10T00:00:00Z"),
            "2026-07-10T13:00:00Z"
        );
        let tokyo = TimeZone::get("UTC").expect("utc");
        let s = Schedule::parse("TZ=Asia/Tokyo 0 0 * * *", tokyo).expect("tz prefix");
        assert_eq!(
            s.next(utc("2026-01-01T00:00:00Z")).map(|t| t.to_string()),
            Some("2026-01-01T15:00:00Z".into())
        );
    }

    #[test]
    fn daylight_saving_gap_skips_and_fold_repeats() {
        // 2026-03-08 02:30 does not exist in New York: that day is skipped.
        assert_eq!(
            next_in("30 2 * * *", "America/New_York", "2026-03-07T08:00:00Z"),
            "2026-03-09T06:30:00Z"
        );
        // 2026-11-01 01:30 happens twice (EDT then EST): both run.
        let first = next_in("30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z");
        assert_eq!(first, "2026-11-01T05:30:00Z");
        let second = next_in("30 1 * * *", "America/New_York", &first);
        assert_eq!(second, "2026-11-01T06:30:00Z");
        // Midnight daily across the change stays at local midnight.
        assert_eq!(
            next_in("0 0 * * *", "America/New_York", "2026-03-08T05:00:00Z"),
            "2026-03-09T04:00:00Z"
        );
    }

    #[test]
    fn descriptors() {
        assert_eq!(
            next("@hourly", "2026-01-01T10:20:00Z"),
            "2026-01-01T11:00:00Z"
        );
        assert_eq!(
            next("@daily", "2026-01-01T10:20:00Z"),
            "2026-01-02T00:00:00Z"
        );
        assert_eq!(
            next("@weekly", "2026-01-01T10:20:00Z"),
            "2026-01-04T00:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2026-01-01T10:20:00Z"),
            "2026-02-01T00:00:00Z"
        );
        assert_eq!(
            next("@yearly", "2026-01-01T10:20:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("@every 1h30m", "2026-01-01T10:20:00.25Z"),
            "2026-01-01T11:50:00Z"
        );
    }

    #[test]
    fn never_matching_schedule_has_no_next() {
        let s = Schedule::parse("0 0 30 2 *", TimeZone::UTC).expect("parses");
        assert_eq!(s.next(utc("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn parse_errors_are_robfigs() {
        let err = |s: &str| Schedule::parse(s, TimeZone::UTC).err();
        assert_eq!(err(""), Some("empty spec string".into()));
        assert_eq!(
            err("* * *"),
            Some("expected exactly 5 fields, found 3: [* * *]".into())
        );
        assert_eq!(
            err("60 * * * *"),
            Some("end of range (60) above maximum (59): 60".into())
        );
        assert_eq!(
            err("* * * * 7"),
            Some("end of range (7) above maximum (6): 7".into())
        );
        assert_eq!(
            err("*/0 * * * *"),
            Some("step of range should be a positive number: */0".into())
        );
        assert_eq!(
            err("@often"),
            Some("unrecognized descriptor: @often".into())
        );
        assert!(err("TZ=Nowhere/Land * * * * *").is_some());
    }
}
