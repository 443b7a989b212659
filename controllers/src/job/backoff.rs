//! The delay before replacing failed pods (upstream `backoff_utils.go`):
//! 10 s after the first failure since the last success, doubling with each
//! further one, at most 10 minutes. Kept in memory per Job, as upstream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

const BASE: Duration = Duration::from_secs(10);
const MAX: Duration = Duration::from_secs(600);

/// Failures since the last success and when the latest one happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub failures: u32,
    pub last_failure: Option<Timestamp>,
}

impl Record {
    /// The record after newly counted pods finished at the given times.
    pub fn with(self, succeeded: &[Timestamp], failed: &[Timestamp]) -> Record {
        match succeeded.iter().max() {
            None => Record {
                failures: self.failures + u32::try_from(failed.len()).unwrap_or(u32::MAX),
                last_failure: failed.iter().copied().chain(self.last_failure).max(),
            },
            Some(&success) => {
                let after: Vec<Timestamp> =
                    failed.iter().copied().filter(|t| *t > success).collect();
                Record {
                    failures: u32::try_from(after.len()).unwrap_or(u32::MAX),
                    last_failure: after.into_iter().max(),
                }
            }
        }
    }

    /// How long to wait from `now` before creating replacement pods.
    pub fn remaining(&self, now: Timestamp) -> Duration {
        let Some(last) = self.last_failure else {
            return Duration::ZERO;
        };
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let mut delay = BASE;
        for _ in 1..self.failures {
            delay = delay.saturating_mul(2);
            if delay >= MAX {
                delay = MAX;
                break;
            }
        }
        let elapsed = now.duration_since(last);
        let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
        delay.saturating_sub(elapsed)
    }
}

/// Records by Job uid.
#[derive(Default)]
pub struct Store(Mutex<HashMap<String, Record>>);

impl Store {
    pub fn get(&self, uid: &str) -> Record {
        self.0
            .lock()
            .map(|m| m.get(uid).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn set(&self, uid: &str, record: Record) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_string(), record);
        }
    }

    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn doubles_and_caps() {
        let now = ts("2026-01-01T00:00:00Z");
        let r = |failures| Record {
            failures,
            last_failure: Some(now),
        };
        assert_eq!(r(0).remaining(now), Duration::ZERO);
        assert_eq!(r(1).remaining(now), Duration::from_secs(10));
        assert_eq!(r(2).remaining(now), Duration::from_secs(20));
        assert_eq!(r(3).remaining(now), Duration::from_secs(40));
        assert_eq!(r(20).remaining(now), Duration::from_secs(600));
        let later = ts("2026-01-01T00:00:04Z");
        assert_eq!(r(1).remaining(later), Duration::from_secs(6));
        assert_eq!(r(1).remaining(ts("2026-01-01T00:01:00Z")), Duration::ZERO);
    }

    #[test]
    fn success_resets() {
        let t1 = ts("2026-01-01T00:00:01Z");
        let t2 = ts("2026-01-01T00:00:02Z");
        let t3 = ts("2026-01-01T00:00:03Z");
        let r = Record::default().with(&[], &[t1, t2]);
        assert_eq!(r.failures, 2);
        assert_eq!(r.last_failure, Some(t2));
        let r = r.with(&[t2], &[t1, t3]);
        assert_eq!(
            r,
            Record {
                failures: 1,
                last_failure: Some(t3)
            }
        );
        assert_eq!(r.with(&[t3], &[]).failures, 0);
    }
}
