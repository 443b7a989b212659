//! The CronJob controller's decisions as pure functions: which scheduled
//! time is due, whether it is too late to start it, what the concurrency
//! policy says, the Job's name, and which finished Jobs fall out of history.

use jiff::{SignedDuration, Timestamp};

use super::schedule::Schedule;

/// Upstream warns (TooManyMissedTimes) above this many missed start times.
pub const MANY_MISSED: u64 = 100;

/// Bound on the walk over missed schedules (a minutely schedule missed for
/// about two years).
const MAX_WALK: u64 = 1_000_000;

/// The most recent scheduled time that has not run yet, and how many were
/// missed in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub time: Option<Timestamp>,
    pub missed: u64,
}

/// From when to look for missed schedules: the last scheduled time (or the
/// CronJob's creation), but no further back than `startingDeadlineSeconds`.
pub fn earliest_time(
    created: Timestamp,
    last_schedule: Option<Timestamp>,
    starting_deadline_seconds: Option<i64>,
    now: Timestamp,
) -> Timestamp {
    let mut earliest = last_schedule.unwrap_or(created);
    if let Some(secs) = starting_deadline_seconds {
        let deadline = now
            .checked_sub(SignedDuration::from_secs(secs))
            .unwrap_or(now);
        if deadline > earliest {
            earliest = deadline;
        }
    }
    earliest
}

/// The latest activation in `(earliest, now]`, with the number of them.
pub fn most_recent(schedule: &Schedule, earliest: Timestamp, now: Timestamp) -> Due {
    let mut due = Due {
        time: None,
        missed: 0,
    };
    let mut t = earliest;
    while let Some(next) = schedule.next(t) {
        if next > now || due.missed >= MAX_WALK {
            break;
        }
        due.time = Some(next);
        due.missed += 1;
        t = next;
    }
    due
}

/// Whether starting a Job for `scheduled` now is past `startingDeadlineSeconds`.
pub fn too_late(
    scheduled: Timestamp,
    starting_deadline_seconds: Option<i64>,
    now: Timestamp,
) -> bool {
    match starting_deadline_seconds {
        Some(secs) => scheduled
            .checked_add(SignedDuration::from_secs(secs))
            .is_ok_and(|deadline| deadline < now),
        None => false,
    }
}

/// What to do at a scheduled time, given the policy and the active Jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Create the Job.
    Create,
    /// `Forbid` with a Job still running: skip this run.
    Skip,
    /// `Replace` with Jobs still running: delete them, then create.
    ReplaceThenCreate,
}

pub fn start(concurrency_policy: Option<&str>, active: usize) -> Start {
    match (concurrency_policy, active) {
        (_, 0) => Start::Create,
        (Some("Forbid"), _) => Start::Skip,
        (Some("Replace"), _) => Start::ReplaceThenCreate,
        _ => Start::Create,
    }
}

/// `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// RFC 3339 in the schedule's time zone, as Go's `time.RFC3339` prints it
/// (`Z` for UTC).
pub fn scheduled_timestamp(scheduled: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let zoned = scheduled.to_zoned(tz.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// The finished Jobs beyond `limit`, oldest first: ordered by start time
/// (Jobs that never started count as newest), then by name.
pub fn beyond_history_limit(jobs: &[(String, Option<Timestamp>)], limit: i32) -> Vec<String> {
    let limit = usize::try_from(limit).unwrap_or(0);
    if jobs.len() <= limit {
        return Vec::new();
    }
    let mut sorted: Vec<&(String, Option<Timestamp>)> = jobs.iter().collect();
    sorted.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => a.0.cmp(&b.0),
    });
    sorted
        .into_iter()
        .take(jobs.len() - limit)
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn every_minute() -> Schedule {
        Schedule::parse("* * * * *", TimeZone::UTC).expect("schedule")
    }

    #[test]
    fn due_time_is_the_latest_missed_one() {
        let s = every_minute();
        let due = most_recent(&s, ts("2026-01-01T10:00:30Z"), ts("2026-01-01T10:03:10Z"));
        assert_eq!(due.time, Some(ts("2026-01-01T10:03:00Z")));
        assert_eq!(due.missed, 3);
        let none = most_recent(&s, ts("2026-01-01T10:00:30Z"), ts("2026-01-01T10:00:59Z"));
        assert_eq!(
            none,
            Due {
                time: None,
                missed: 0
            }
        );
        // Exactly at the activation: due.
        let at = most_recent(&s, ts("2026-01-01T10:00:00Z"), ts("2026-01-01T10:01:00Z"));
        assert_eq!(at.time, Some(ts("2026-01-01T10:01:00Z")));
    }

    #[test]
    fn starting_deadline_bounds_the_look_back() {
        let now = ts("2026-01-01T12:00:30Z");
        let created = ts("2026-01-01T00:00:00Z");
        assert_eq!(earliest_time(created, None, None, now), created);
        assert_eq!(
            earliest_time(created, Some(ts("2026-01-01T11:00:00Z")), None, now),
            ts("2026-01-01T11:00:00Z")
        );
        assert_eq!(
            earliest_time(created, None, Some(60), now),
            ts("2026-01-01T11:59:30Z")
        );
        let due = most_recent(
            &every_minute(),
            earliest_time(created, None, None, now),
            now,
        );
        assert!(due.missed > MANY_MISSED);
        assert!(too_late(ts("2026-01-01T12:00:00Z"), Some(10), now));
        assert!(!too_late(ts("2026-01-01T12:00:00Z"), Some(60), now));
        assert!(!too_late(ts("2026-01-01T12:00:00Z"), None, now));
    }

    #[test]
    fn concurrency_policies() {
        assert_eq!(start(Some("Allow"), 0), Start::Create);
        assert_eq!(start(Some("Allow"), 2), Start::Create);
        assert_eq!(start(None, 1), Start::Create);
        assert_eq!(start(Some("Forbid"), 0), Start::Create);
        assert_eq!(start(Some("Forbid"), 1), Start::Skip);
        assert_eq!(start(Some("Replace"), 0), Start::Create);
        assert_eq!(start(Some("Replace"), 1), Start::ReplaceThenCreate);
    }

    #[test]
    fn names_and_annotation() {
        assert_eq!(
            job_name("hello", ts("2026-01-01T10:03:00Z")),
            "hello-29454363"
        );
        assert_eq!(
            scheduled_timestamp(ts("2026-01-01T10:03:00Z"), &TimeZone::UTC),
            "2026-01-01T10:03:00Z"
        );
        let tokyo = TimeZone::get("Asia/Tokyo").expect("tz");
        assert_eq!(
            scheduled_timestamp(ts("2026-01-01T10:03:00Z"), &tokyo),
            "2026-01-01T19:03:00+09:00"
        );
    }

    #[test]
    fn history_keeps_the_newest() {
        let jobs = vec![
            ("c".to_string(), Some(ts("2026-01-01T10:03:00Z"))),
            ("a".to_string(), Some(ts("2026-01-01T10:01:00Z"))),
            ("never".to_string(), None),
            ("b".to_string(), Some(ts("2026-01-01T10:02:00Z"))),
        ];
        assert_eq!(beyond_history_limit(&jobs, 2), vec!["a", "b"]);
        assert_eq!(beyond_history_limit(&jobs, 0), vec!["a", "b", "c", "never"]);
        assert!(beyond_history_limit(&jobs, 4).is_empty());
    }
}
