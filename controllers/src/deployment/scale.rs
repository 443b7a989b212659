//! Resizing a Deployment without a rollout (a size change, or any change
//! while paused): upstream's `scale()` in `sync.go`, with proportional
//! scaling of ReplicaSets when the resize lands mid-rollout.

use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::runtime::controller::Action;
use kube::ResourceExt;

use super::{available, history, oldest_first, replicas_of, rolling, spec_replicas, Error, Run};

impl Run<'_> {
    /// Paused or resized: no rollout, only sizes (and clean-up when paused).
    pub(super) async fn sync_scale(&mut self, mut rss: Vec<ReplicaSet>) -> Result<Action, Error> {
        let (mut new, mut old) = self.new_and_old(&mut rss, false).await?;
        self.scale(new.as_mut(), &mut old).await?;
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused {
            self.cleanup(&old).await?;
        }
        self.sync_status(&old, new.as_ref()).await?;
        Ok(Action::await_change())
    }

    /// Upstream's scale(): the one active (or newest) ReplicaSet takes the
    /// whole size; a saturated new one empties the old ones; otherwise the
    /// change is shared out in proportion to the ReplicaSets' sizes.
    async fn scale(
        &mut self,
        new: Option<&mut ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Result<(), Error> {
        let desired = spec_replicas(&self.d);
        let active_new = new.as_ref().is_some_and(|rs| replicas_of(rs) > 0);
        let active_old: Vec<usize> = (0..old.len())
            .filter(|i| replicas_of(&old[*i]) > 0)
            .collect();
        let active = active_old.len() + usize::from(active_new);
        if active <= 1 {
            // The only active one, else the new one, else the newest old one.
            if active_new || (active == 0 && new.is_some()) {
                if let Some(rs) = new {
                    self.scale_rs(rs, desired).await?;
                }
                return Ok(());
            }
            let target = match active_old.first() {
                Some(i) => Some(*i),
                None => (0..old.len()).max_by(|a, b| oldest_first(&old[*a], &old[*b])),
            };
            if let Some(i) = target {
                self.scale_rs(&mut old[i], desired).await?;
            }
            return Ok(());
        }
        let saturated = new.as_ref().is_some_and(|rs| {
            replicas_of(rs) == desired
                && rs.annotations().get(history::DESIRED_REPLICAS) == Some(&desired.to_string())
                && available(rs) == desired
        });
        if saturated {
            for i in active_old {
                self.scale_rs(&mut old[i], 0).await?;
            }
            return Ok(());
        }
        if !rolling::is_rolling(&self.d) {
            return Ok(());
        }
        // Proportional scaling over every active ReplicaSet: largest first,
        // newer first when growing, older first when shrinking.
        let surge = rolling::max_surge(&self.d);
        let mut sets: Vec<&mut ReplicaSet> =
            old.iter_mut().filter(|rs| replicas_of(rs) > 0).collect();
        if let Some(rs) = new {
            if replicas_of(rs) > 0 {
                sets.push(rs);
            }
        }
        let current: i32 = sets.iter().map(|rs| replicas_of(rs)).sum();
        let allowed = if desired > 0 { desired + surge } else { 0 };
        let growing = allowed > current;
        sets.sort_by(|a, b| {
            let by_age = oldest_first(a, b);
            replicas_of(b).cmp(&replicas_of(a)).then(if growing {
                by_age.reverse()
            } else {
                by_age
            })
        });
        let shares: Vec<rolling::Share> = sets
            .iter()
            .map(|rs| rolling::Share {
                replicas: replicas_of(rs),
                max_before: rs
                    .annotations()
                    .get(history::MAX_REPLICAS)
                    .and_then(|v| v.parse().ok()),
            })
            .collect();
        let observed = self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let targets = rolling::proportional_sizes(&shares, desired, surge, observed);
        for (rs, target) in sets.into_iter().zip(targets) {
            self.scale_rs(rs, target).await?;
        }
        Ok(())
    }
}
