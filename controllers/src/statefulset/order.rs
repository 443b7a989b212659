//! The ordering rules of a StatefulSet sync as pure functions over what
//! each pod looks like (upstream `updateStatefulSet`, `processReplica`,
//! `processCondemned` and the RollingUpdate loop). [`super::control`] runs
//! the steps they return.

/// What the ordering rules need to know about a slot's pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodState {
    pub exists: bool,
    /// Running with a Ready condition.
    pub running_ready: bool,
    /// Ready for at least minReadySeconds.
    pub available: bool,
    pub terminating: bool,
    /// Succeeded or Failed.
    pub terminal: bool,
    /// At the update revision.
    pub updated: bool,
}

impl PodState {
    /// `isHealthy` and available: what OrderedReady waits for.
    pub fn healthy(&self) -> bool {
        self.exists && self.running_ready && self.available && !self.terminating
    }
}

/// One thing to do to slot `.0` (an index into the list planned over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create(usize),
    Delete(usize),
    /// Keep its identity, storage and claims in shape.
    Fix(usize),
    /// OrderedReady stops here until this pod is healthy.
    Wait(usize),
}

impl Step {
    /// Whether the sync stops after this step.
    pub fn blocks(self) -> bool {
        matches!(self, Step::Wait(_))
    }
}

/// Replicas in ordinal order. OrderedReady (`monotonic`) stops at the
/// first pod it has to replace, create or wait for; Parallel goes on.
pub fn plan_replicas(replicas: &[PodState], monotonic: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, s) in replicas.iter().enumerate() {
        if s.exists && s.terminal {
            // Replaced once gone; the next sync recreates it.
            if !s.terminating {
                steps.push(Step::Delete(i));
            }
            if monotonic {
                steps.push(Step::Wait(i));
                return steps;
            }
            continue;
        }
        if !s.exists {
            steps.push(Step::Create(i));
            if monotonic {
                steps.push(Step::Wait(i));
                return steps;
            }
            continue;
        }
        if monotonic && !s.healthy() {
            steps.push(Step::Wait(i));
            return steps;
        }
        steps.push(Step::Fix(i));
    }
    steps
}

/// Pods past the last ordinal, given highest ordinal first. OrderedReady
/// deletes one at a time, waits for it to go, and only deletes an unhealthy
/// pod when it is the lowest unhealthy one.
pub fn plan_condemned(condemned: &[PodState], monotonic: bool) -> Vec<Step> {
    let first_unhealthy = condemned.iter().rposition(|s| !s.healthy());
    let mut steps = Vec::new();
    for (i, s) in condemned.iter().enumerate() {
        if s.terminating {
            if monotonic {
                steps.push(Step::Wait(i));
                return steps;
            }
            continue;
        }
        if monotonic && !s.healthy() && Some(i) != first_unhealthy {
            steps.push(Step::Wait(i));
            return steps;
        }
        steps.push(Step::Delete(i));
        if monotonic {
            steps.push(Step::Wait(i));
            return steps;
        }
    }
    steps
}

/// RollingUpdate: from the highest ordinal down to the partition, delete
/// the first pod not at the update revision, after every pod above it is
/// healthy. None when the rollout (above the partition) is complete.
pub fn plan_roll(replicas: &[PodState], partition: i32) -> Option<Step> {
    let floor = usize::try_from(partition).unwrap_or(0);
    for (i, s) in replicas.iter().enumerate().rev() {
        if i < floor {
            break;
        }
        if s.exists && !s.updated && !s.terminating {
            return Some(Step::Delete(i));
        }
        if !s.healthy() {
            return Some(Step::Wait(i));
        }
    }
    None
}

/// Whether a missing pod at `index` (ordinal - start) is made from the
/// current revision (below the partition) rather than the update one.
pub fn uses_current_revision(rolling_update: bool, partition: i32, index: i32) -> bool {
    rolling_update && index < partition
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSING: PodState = PodState {
        exists: false,
        running_ready: false,
        available: false,
        terminating: false,
        terminal: false,
        updated: true,
    };
    const PENDING: PodState = PodState {
        exists: true,
        ..MISSING
    };
    const HEALTHY: PodState = PodState {
        exists: true,
        running_ready: true,
        available: true,
        ..MISSING
    };
    const OLD: PodState = PodState {
        updated: false,
        ..HEALTHY
    };

    #[test]
    fn ordered_ready_creates_one_at_a_time() {
        assert_eq!(
            plan_replicas(&[MISSING, MISSING, MISSING], true),
            [Step::Create(0), Step::Wait(0)]
        );
        assert_eq!(
            plan_replicas(&[PENDING, MISSING, MISSING], true),
            [Step::Wait(0)]
        );
        assert_eq!(
            plan_replicas(&[HEALTHY, MISSING, MISSING], true),
            [Step::Fix(0), Step::Create(1), Step::Wait(1)]
        );
        assert_eq!(
            plan_replicas(&[HEALTHY, HEALTHY, HEALTHY], true),
            [Step::Fix(0), Step::Fix(1), Step::Fix(2)]
        );
        // A ready pod still inside minReadySeconds holds the next one back.
        let not_available = PodState {
            available: false,
            ..HEALTHY
        };
        assert_eq!(
            plan_replicas(&[not_available, MISSING], true),
            [Step::Wait(0)]
        );
    }

    #[test]
    fn parallel_creates_everything_at_once() {
        assert_eq!(
            plan_replicas(&[MISSING, PENDING, MISSING], false),
            [Step::Create(0), Step::Fix(1), Step::Create(2)]
        );
    }

    #[test]
    fn failed_pods_are_replaced_in_order() {
        let failed = PodState {
            terminal: true,
            ..PENDING
        };
        assert_eq!(
            plan_replicas(&[HEALTHY, failed, MISSING], true),
            [Step::Fix(0), Step::Delete(1), Step::Wait(1)]
        );
        let going = PodState {
            terminating: true,
            ..failed
        };
        assert_eq!(plan_replicas(&[going, MISSING], false), [Step::Create(1)]);
        assert_eq!(plan_replicas(&[going, MISSING], true), [Step::Wait(0)]);
    }

    #[test]
    fn scale_down_goes_highest_first_one_at_a_time() {
        // condemned is given highest ordinal first: web-4, web-3.
        assert_eq!(
            plan_condemned(&[HEALTHY, HEALTHY], true),
            [Step::Delete(0), Step::Wait(0)]
        );
        let going = PodState {
            terminating: true,
            ..HEALTHY
        };
        assert_eq!(plan_condemned(&[going, HEALTHY], true), [Step::Wait(0)]);
        assert_eq!(
            plan_condemned(&[HEALTHY, HEALTHY], false),
            [Step::Delete(0), Step::Delete(1)]
        );
        // An unhealthy pod below a healthy one: the healthy top one goes first.
        assert_eq!(
            plan_condemned(&[HEALTHY, PENDING], true),
            [Step::Delete(0), Step::Wait(0)]
        );
        // Two unhealthy ones: only the lowest unhealthy may go ahead of order.
        assert_eq!(plan_condemned(&[PENDING, PENDING], true), [Step::Wait(0)]);
        assert_eq!(
            plan_condemned(&[PENDING], true),
            [Step::Delete(0), Step::Wait(0)]
        );
    }

    #[test]
    fn rolling_update_goes_down_to_the_partition() {
        assert_eq!(plan_roll(&[OLD, OLD, OLD], 0), Some(Step::Delete(2)));
        assert_eq!(plan_roll(&[OLD, OLD, HEALTHY], 0), Some(Step::Delete(1)));
        assert_eq!(plan_roll(&[OLD, OLD, PENDING], 0), Some(Step::Wait(2)));
        assert_eq!(plan_roll(&[OLD, OLD, HEALTHY], 2), None);
        assert_eq!(plan_roll(&[OLD, OLD, OLD], 2), Some(Step::Delete(2)));
        assert_eq!(plan_roll(&[HEALTHY, HEALTHY, HEALTHY], 0), None);
        assert_eq!(plan_roll(&[OLD, MISSING, HEALTHY], 0), Some(Step::Wait(1)));
        assert!(uses_current_revision(true, 2, 1));
        assert!(!uses_current_revision(true, 2, 2));
        assert!(!uses_current_revision(false, 2, 0));
    }
}
