//! Upstream's `ControllerExpectations` (with the UID tracking of deletions),
//! in our own words: after a sync creates or deletes pods for a ReplicaSet,
//! the controller remembers how many creations and which deletions it waits
//! to see in its pod cache. Until the cache has caught up (or the record is
//! older than [`TTL`]), syncs of that ReplicaSet leave the pod count alone
//! and only refresh its status, so a cache that lags behind the API never
//! makes the controller create or delete the same pods twice.
//!
//! Records are keyed by the ReplicaSet's uid, which the pods' controller
//! reference carries: no lookup is needed to lower them.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a record blocks syncs at most (upstream's `ExpectationsTimeout`),
/// in case a watch event was lost.
pub(crate) const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Record {
    /// Pod creations not seen yet.
    adds: i64,
    /// Keys (`namespace/name`) of pods whose deletion is not seen yet.
    deletes: HashSet<String>,
    /// When the record was set.
    since: Instant,
}

impl Record {
    fn fulfilled(&self) -> bool {
        self.adds <= 0 && self.deletes.is_empty()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Expectations {
    records: Mutex<HashMap<String, Record>>,
}

impl Expectations {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Record>) -> T) -> T {
        let mut guard = self.records.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The owner will create `count` pods: wait for that many to appear.
    pub(crate) fn expect_creations(&self, owner: &str, count: usize, now: Instant) {
        self.with(|m| {
            m.insert(
                owner.to_string(),
                Record {
                    adds: count as i64,
                    deletes: HashSet::new(),
                    since: now,
                },
            )
        });
    }

    /// The owner will delete the pods with these keys: wait for each to go
    /// (or to be marked for deletion), counting each pod once.
    pub(crate) fn expect_deletions(&self, owner: &str, pods: Vec<String>, now: Instant) {
        self.with(|m| {
            m.insert(
                owner.to_string(),
                Record {
                    adds: 0,
                    deletes: pods.into_iter().collect(),
                    since: now,
                },
            )
        });
    }

    /// A pod of `owner` appeared (or a planned creation will never happen).
    pub(crate) fn creation_observed(&self, owner: &str) {
        self.with(|m| {
            if let Some(r) = m.get_mut(owner) {
                r.adds -= 1;
            }
        });
    }

    /// The pod `pod` of `owner` is gone or being deleted (or its planned
    /// deletion failed). Only pods the record waits for lower it.
    pub(crate) fn deletion_observed(&self, owner: &str, pod: &str) {
        self.with(|m| {
            if let Some(r) = m.get_mut(owner) {
                r.deletes.remove(pod);
            }
        });
    }

    /// Whether a sync of `owner` may create or delete pods: it has no
    /// record, everything it waited for was seen, or the record expired.
    pub(crate) fn satisfied(&self, owner: &str, now: Instant) -> bool {
        self.with(|m| match m.get(owner) {
            None => true,
            Some(r) => r.fulfilled() || now.saturating_duration_since(r.since) > TTL,
        })
    }

    /// How long until the unfulfilled record of `owner` expires, if there is one.
    pub(crate) fn pending_for(&self, owner: &str, now: Instant) -> Option<Duration> {
        self.with(|m| {
            let r = m.get(owner).filter(|r| !r.fulfilled())?;
            TTL.checked_sub(now.saturating_duration_since(r.since))
        })
    }

    /// The owner is gone: drop its record.
    pub(crate) fn forget(&self, owner: &str) {
        self.with(|m| m.remove(owner));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.with(|m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_block_until_each_pod_is_seen() {
        let e = Expectations::default();
        let t = Instant::now();
        assert!(e.satisfied("rs", t), "no record: free to sync");
        e.expect_creations("rs", 2, t);
        assert!(!e.satisfied("rs", t));
        e.creation_observed("rs");
        assert!(!e.satisfied("rs", t));
        e.creation_observed("other");
        assert!(!e.satisfied("rs", t), "another owner's pod does not count");
        e.creation_observed("rs");
        assert!(e.satisfied("rs", t));
        assert_eq!(e.pending_for("rs", t), None);
    }

    #[test]
    fn deletions_count_each_pod_once() {
        let e = Expectations::default();
        let t = Instant::now();
        e.expect_deletions("rs", vec!["ns/a".into(), "ns/b".into()], t);
        // Marked for deletion, then really deleted: one observation.
        e.deletion_observed("rs", "ns/a");
        e.deletion_observed("rs", "ns/a");
        assert!(!e.satisfied("rs", t));
        // A pod it did not choose to delete does not count.
        e.deletion_observed("rs", "ns/c");
        assert!(!e.satisfied("rs", t));
        e.deletion_observed("rs", "ns/b");
        assert!(e.satisfied("rs", t));
    }

    #[test]
    fn records_expire_and_can_be_forgotten() {
        let e = Expectations::default();
        let t = Instant::now();
        e.expect_creations("rs", 3, t);
        assert_eq!(e.pending_for("rs", t), Some(TTL));
        let later = t + TTL + Duration::from_secs(1);
        assert!(
            e.satisfied("rs", later),
            "an expired record no longer blocks"
        );
        assert_eq!(e.pending_for("rs", later), None);
        // A new plan replaces the old record.
        e.expect_deletions("rs", vec!["ns/a".into()], later);
        assert!(!e.satisfied("rs", later));
        e.forget("rs");
        assert!(e.satisfied("rs", later));
        assert_eq!(e.len(), 0);
    }
}
