//! Deployment status: the replica counts summed over its ReplicaSets and the
//! `Available` and `Progressing` conditions (upstream's `sync.go`
//! calculateStatus and `progress.go`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use kube::api::PostParams;
use kube::runtime::controller::Action;
use kube::ResourceExt;

use super::rolling::max_unavailable;
use super::{available, replicas_of, spec_replicas, status_replicas, Error, Run};
use crate::util::now;

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const FAILED_RS_CREATE: &str = "FailedRSCreate";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

/// A condition stamped now.
pub fn condition(type_: &str, status: &str, reason: &str, message: String) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now()),
        last_transition_time: Some(now()),
    }
}

pub fn get<'a>(
    status: Option<&'a DeploymentStatus>,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Put `cond` in place of the condition of its type. The same status and
/// reason change nothing; the same status keeps the transition time.
pub fn set(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = conditions.iter().find(|c| c.type_ == cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    conditions.retain(|c| c.type_ != cond.type_);
    conditions.push(cond);
}

pub fn remove(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
    }
}

pub fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|s| *s != i32::MAX)
}

/// All desired replicas updated and available, none old left, and the
/// status describes the current generation.
pub fn complete(d: &Deployment, status: Option<&DeploymentStatus>) -> bool {
    let Some(s) = status else {
        return false;
    };
    let desired = spec_replicas(d);
    s.updated_replicas.unwrap_or(0) == desired
        && s.replicas.unwrap_or(0) == desired
        && s.available_replicas.unwrap_or(0) == desired
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new` shows progress over `old`.
fn progressing(old: Option<&DeploymentStatus>, new: &DeploymentStatus) -> bool {
    let default = DeploymentStatus::default();
    let old = old.unwrap_or(&default);
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_pods_before = n(old.replicas) - n(old.updated_replicas);
    let old_pods_now = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
        || old_pods_now < old_pods_before
}

/// The Progressing condition's last update plus the deadline, if that is
/// what is being waited for.
fn deadline_at(d: &Deployment) -> Option<jiff::Timestamp> {
    let secs = progress_deadline(d)?;
    let cond = get(d.status.as_ref(), PROGRESSING)?;
    if cond.reason.as_deref() == Some(NEW_RS_AVAILABLE) || cond.reason.as_deref() == Some(TIMED_OUT)
    {
        return None;
    }
    let from = cond.last_update_time.as_ref()?.0;
    from.checked_add(jiff::SignedDuration::from_secs(i64::from(secs)))
        .ok()
}

fn timed_out(d: &Deployment) -> bool {
    if progress_deadline(d).is_none() {
        return false;
    }
    match get(d.status.as_ref(), PROGRESSING) {
        Some(c) if c.reason.as_deref() == Some(TIMED_OUT) => true,
        _ => deadline_at(d).is_some_and(|t| t < jiff::Timestamp::now()),
    }
}

/// Counts over the ReplicaSets and the Available condition.
pub fn calculate(d: &Deployment, old: &[ReplicaSet], new: Option<&ReplicaSet>) -> DeploymentStatus {
    let all: Vec<&ReplicaSet> = old.iter().chain(new).collect();
    let available_count: i32 = all.iter().map(|rs| available(rs)).sum();
    let total: i32 = all.iter().map(|rs| replicas_of(rs)).sum();
    let ready: i32 = all
        .iter()
        .map(|rs| {
            rs.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0)
        })
        .sum();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(all.iter().map(|rs| status_replicas(rs)).sum()),
        updated_replicas: Some(new.map(status_replicas).unwrap_or(0)),
        ready_replicas: Some(ready),
        available_replicas: Some(available_count),
        unavailable_replicas: Some((total - available_count).max(0)),
        collision_count: d.status.as_ref().and_then(|s| s.collision_count),
        conditions: d.status.as_ref().and_then(|s| s.conditions.clone()),
        terminating_replicas: None,
    };
    if available_count >= spec_replicas(d) - max_unavailable(d) {
        set(
            &mut status,
            condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            ),
        );
    } else {
        set(
            &mut status,
            condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            ),
        );
    }
    status
}

/// Zero counts are left out, as upstream's `omitempty`, so that a stored
/// status and a computed one compare equal.
fn normalized(s: &DeploymentStatus) -> DeploymentStatus {
    let nz = |v: Option<i32>| v.filter(|n| *n != 0);
    DeploymentStatus {
        replicas: nz(s.replicas),
        updated_replicas: nz(s.updated_replicas),
        ready_replicas: nz(s.ready_replicas),
        available_replicas: nz(s.available_replicas),
        unavailable_replicas: nz(s.unavailable_replicas),
        conditions: s.conditions.clone().filter(|c| !c.is_empty()),
        terminating_replicas: None,
        ..s.clone()
    }
}

impl Run<'_> {
    /// Write `status` unless it is what is stored.
    pub(super) async fn write_status(&mut self, status: DeploymentStatus) -> Result<(), Error> {
        let status = normalized(&status);
        if self.d().status.as_ref().map(normalized).as_ref() == Some(&status) {
            return Ok(());
        }
        let mut d = self.d().clone();
        d.status = Some(status);
        let name = d.name_any();
        let updated = self
            .api()
            .replace_status(&name, &PostParams::default(), &d)
            .await
            .map_err(|e| Error::UpdateStatus(name, e))?;
        self.set_d(updated);
        Ok(())
    }

    /// The status of a Deployment that is only scaled (paused, or a size
    /// change): counts and Available.
    pub(super) async fn sync_status(
        &mut self,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<(), Error> {
        let status = calculate(self.d(), old, new);
        self.write_status(status).await
    }

    /// The status during a rollout: counts, Available and Progressing
    /// (complete, progressing or past its deadline); requeue for the
    /// deadline when waiting.
    pub(super) async fn sync_rollout_status(
        &mut self,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<Action, Error> {
        let d = self.d().clone();
        let mut status = calculate(&d, old, new);
        if progress_deadline(&d).is_none() {
            remove(&mut status, PROGRESSING);
        }
        let current = get(d.status.as_ref(), PROGRESSING);
        let done = status.replicas == status.updated_replicas
            && current.is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        if progress_deadline(&d).is_some() && !done {
            let what = match new {
                Some(rs) => format!("ReplicaSet {:?}", rs.name_any()),
                None => format!("Deployment {:?}", d.name_any()),
            };
            if complete(&d, Some(&status)) {
                set(
                    &mut status,
                    condition(
                        PROGRESSING,
                        "True",
                        NEW_RS_AVAILABLE,
                        format!("{what} has successfully progressed."),
                    ),
                );
            } else if progressing(d.status.as_ref(), &status) {
                let mut cond = condition(
                    PROGRESSING,
                    "True",
                    RS_UPDATED,
                    format!("{what} is progressing."),
                );
                if let Some(cur) = current {
                    if cur.status == "True" {
                        cond.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove(&mut status, PROGRESSING);
                }
                set(&mut status, cond);
            } else if timed_out(&d) {
                set(
                    &mut status,
                    condition(
                        PROGRESSING,
                        "False",
                        TIMED_OUT,
                        format!("{what} has timed out progressing."),
                    ),
                );
            }
        }
        // A ReplicaSet's failure to create pods shows on the Deployment.
        match replica_failure(old, new) {
            Some(c) => set(&mut status, c),
            None => remove(&mut status, REPLICA_FAILURE),
        }
        let still_waiting = !complete(&d, Some(&status));
        self.write_status(status).await?;
        // Look again when the deadline passes, if nothing happens before.
        if still_waiting {
            if let Some(at) = deadline_at(self.d()) {
                let left = at.duration_since(jiff::Timestamp::now()).as_secs().max(0) as u64;
                return Ok(Action::requeue(Duration::from_secs(left + 1)));
            }
        }
        Ok(Action::await_change())
    }

    /// Set Progressing to Unknown/DeploymentPaused when paused, and to
    /// Unknown/DeploymentResumed when resumed (never over a timeout).
    pub(super) async fn check_paused(&mut self) -> Result<(), Error> {
        let d = self.d();
        if progress_deadline(d).is_none() {
            return Ok(());
        }
        let cur = get(d.status.as_ref(), PROGRESSING);
        if cur.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
            return Ok(());
        }
        let paused_cond = cur.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        let cond = if paused && !paused_cond {
            condition(
                PROGRESSING,
                "Unknown",
                PAUSED,
                "Deployment is paused".into(),
            )
        } else if !paused && paused_cond {
            condition(
                PROGRESSING,
                "Unknown",
                RESUMED,
                "Deployment is resumed".into(),
            )
        } else {
            return Ok(());
        };
        let mut status = d.status.clone().unwrap_or_default();
        set(&mut status, cond);
        self.write_status(status).await
    }
}

/// The first ReplicaFailure of the new ReplicaSet, else of an old one.
fn replica_failure(old: &[ReplicaSet], new: Option<&ReplicaSet>) -> Option<DeploymentCondition> {
    new.into_iter().chain(old).find_map(|rs| {
        let c = rs
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == REPLICA_FAILURE)?;
        Some(DeploymentCondition {
            type_: REPLICA_FAILURE.into(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_update_time: c.last_transition_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_transition_time_and_ignores_repeats() {
        let mut s = DeploymentStatus::default();
        let mut first = condition(PROGRESSING, "True", RS_UPDATED, "a".into());
        first.last_transition_time = None;
        set(&mut s, first);
        set(
            &mut s,
            condition(PROGRESSING, "True", RS_UPDATED, "b".into()),
        );
        let c = get(Some(&s), PROGRESSING).expect("cond");
        assert_eq!(c.message.as_deref(), Some("a"));
        set(
            &mut s,
            condition(PROGRESSING, "True", NEW_RS_AVAILABLE, "c".into()),
        );
        let c = get(Some(&s), PROGRESSING).expect("cond");
        assert_eq!(c.message.as_deref(), Some("c"));
        assert!(c.last_transition_time.is_none());
        assert_eq!(s.conditions.as_ref().map(Vec::len), Some(1));
    }
}
