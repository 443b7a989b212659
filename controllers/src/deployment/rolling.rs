//! The RollingUpdate strategy: `maxSurge` / `maxUnavailable` arithmetic and
//! the scale-up of the new ReplicaSet and scale-down of old ones, as
//! upstream's `pkg/controller/deployment/rolling.go`.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::runtime::controller::Action;

use super::{available, replicas_of, spec_replicas, Error, Run};

/// Upstream's defaults for both fields.
const DEFAULT_FENCEPOST: &str = "25%";

/// An int or a percentage of `total`; percentages round up or down.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            let scaled = pct * i64::from(total);
            let v = if round_up {
                (scaled + 99).div_euclid(100)
            } else {
                scaled.div_euclid(100)
            };
            Ok(v as i32)
        }
    }
}

pub fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// `(maxSurge, maxUnavailable)` resolved against the desired replicas. Both
/// zero would block a rollout, so maxUnavailable becomes 1 then.
pub fn resolve_fenceposts(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let default = IntOrString::String(DEFAULT_FENCEPOST.into());
    let surge = scaled_value(surge.unwrap_or(&default), desired, true)?;
    let unavailable = scaled_value(unavailable.unwrap_or(&default), desired, false)?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let surge = ru.and_then(|r| r.max_surge.as_ref());
    let unavailable = ru.and_then(|r| r.max_unavailable.as_ref());
    resolve_fenceposts(surge, unavailable, spec_replicas(d)).unwrap_or((0, 1))
}

/// How many pods above the desired count a rollout may run (0 for Recreate).
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d).0
}

/// How many desired pods may be unavailable during a rollout.
pub fn max_unavailable(d: &Deployment) -> i32 {
    let desired = spec_replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    fenceposts(d).1.min(desired)
}

/// The size the new ReplicaSet may grow to now: up to the desired count,
/// while all ReplicaSets together stay within desired + maxSurge.
pub fn new_rs_replicas(d: &Deployment, all: &[&ReplicaSet], new: &ReplicaSet) -> i32 {
    let desired = spec_replicas(d);
    if !is_rolling(d) {
        return desired;
    }
    let current: i32 = all.iter().map(|rs| replicas_of(rs)).sum();
    let max_total = desired + max_surge(d);
    let new_now = replicas_of(new);
    if current >= max_total {
        return new_now;
    }
    let up = (max_total - current).min(desired - new_now);
    new_now + up.max(0)
}

/// An active ReplicaSet as proportional scaling sees it: its size and the
/// Deployment's max-replicas it was last sized for.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub replicas: i32,
    pub max_before: Option<i32>,
}

/// Upstream's proportional scaling of a Deployment resized mid-rollout:
/// each ReplicaSet (in the order given, the largest first) grows or shrinks
/// by its share of the change, scaled from the max-replicas it was sized
/// for to the new desired + maxSurge; what rounding leaves over goes to the
/// first one. Returns the new sizes in the same order.
pub fn proportional_sizes(shares: &[Share], desired: i32, surge: i32, observed: i32) -> Vec<i32> {
    let allowed = if desired > 0 { desired + surge } else { 0 };
    let current: i32 = shares.iter().map(|s| s.replicas).sum();
    let to_add = allowed - current;
    let mut sizes: Vec<i32> = shares.iter().map(|s| s.replicas).collect();
    if to_add == 0 {
        return sizes;
    }
    let mut added = 0;
    for (size, share) in sizes.iter_mut().zip(shares) {
        let p = proportion(share, desired, desired + surge, observed, to_add, added);
        *size += p;
        added += p;
    }
    if let Some(first) = sizes.first_mut() {
        *first = (*first + to_add - added).max(0);
    }
    sizes
}

fn proportion(
    s: &Share,
    desired: i32,
    max_now: i32,
    observed: i32,
    to_add: i32,
    added: i32,
) -> i32 {
    if s.replicas == 0 || to_add == added {
        return 0;
    }
    let fraction = if desired == 0 {
        -s.replicas
    } else {
        let before = s.max_before.filter(|m| *m != 0).unwrap_or(observed);
        if before == 0 {
            0
        } else {
            let scaled = f64::from(s.replicas) * f64::from(max_now) / f64::from(before);
            scaled.round() as i32 - s.replicas
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

impl Run<'_> {
    pub(super) async fn rollout_rolling(
        &mut self,
        mut rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        let (new, mut old) = self.new_and_old(&mut rss, true).await?;
        let Some(mut new) = new else {
            return self.sync_rollout_status(&old, None).await;
        };
        // Scale up the new ReplicaSet.
        if self.reconcile_new(&old, &mut new).await? {
            return self.sync_rollout_status(&old, Some(&new)).await;
        }
        // Scale down old ReplicaSets.
        if self.reconcile_old(&mut old, &new).await? {
            return self.sync_rollout_status(&old, Some(&new)).await;
        }
        if super::status::complete(self.d(), self.d().status.as_ref()) {
            self.cleanup(&old).await?;
        }
        self.sync_rollout_status(&old, Some(&new)).await
    }

    async fn reconcile_new(
        &mut self,
        old: &[ReplicaSet],
        new: &mut ReplicaSet,
    ) -> Result<bool, Error> {
        let desired = spec_replicas(self.d());
        let now = replicas_of(new);
        if now == desired {
            return Ok(false);
        }
        if now > desired {
            return self.scale_rs(new, desired).await;
        }
        let mut all: Vec<&ReplicaSet> = old.iter().collect();
        all.push(new);
        let target = new_rs_replicas(self.d(), &all, new);
        self.scale_rs(new, target).await
    }

    async fn reconcile_old(
        &mut self,
        old: &mut [ReplicaSet],
        new: &ReplicaSet,
    ) -> Result<bool, Error> {
        let old_count: i32 = old.iter().map(replicas_of).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let all_count = old_count + replicas_of(new);
        let min_available = spec_replicas(self.d()) - max_unavailable(self.d());
        let new_unavailable = replicas_of(new) - available(new);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        old.sort_by(super::oldest_first);
        // Unhealthy replicas first: they do not count as available anyway.
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let replicas = replicas_of(rs);
            if replicas == 0 || replicas == available(rs) {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(replicas - available(rs));
            self.scale_rs(rs, replicas - down).await?;
            cleaned += down;
        }
        // Then healthy ones, keeping minAvailable available.
        let available_now: i32 = old.iter().map(available).sum::<i32>() + available(new);
        let mut scaled = 0;
        if available_now > min_available {
            let budget = available_now - min_available;
            for rs in old.iter_mut() {
                if scaled >= budget {
                    break;
                }
                let replicas = replicas_of(rs);
                if replicas == 0 {
                    continue;
                }
                let down = replicas.min(budget - scaled);
                self.scale_rs(rs, replicas - down).await?;
                scaled += down;
            }
        }
        Ok(cleaned + scaled > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        assert_eq!(scaled_value(&pct("25%"), 10, true), Ok(3));
        assert_eq!(scaled_value(&pct("25%"), 10, false), Ok(2));
        assert_eq!(scaled_value(&pct("25%"), 4, true), Ok(1));
        assert_eq!(scaled_value(&pct("25%"), 3, false), Ok(0));
        assert_eq!(scaled_value(&pct("100%"), 7, true), Ok(7));
        assert_eq!(scaled_value(&IntOrString::Int(2), 7, true), Ok(2));
        assert!(scaled_value(&pct("abc"), 7, true).is_err());
    }

    #[test]
    fn fenceposts_default_to_a_quarter_and_never_both_zero() {
        assert_eq!(resolve_fenceposts(None, None, 10), Ok((3, 2)));
        assert_eq!(resolve_fenceposts(None, None, 3), Ok((1, 0)));
        assert_eq!(resolve_fenceposts(None, None, 1), Ok((1, 0)));
        let zero = IntOrString::Int(0);
        assert_eq!(resolve_fenceposts(Some(&zero), Some(&zero), 5), Ok((0, 1)));
        assert_eq!(
            resolve_fenceposts(Some(&zero), Some(&pct("50%")), 5),
            Ok((0, 2))
        );
    }

    fn share(replicas: i32, max_before: i32) -> Share {
        Share {
            replicas,
            max_before: Some(max_before),
        }
    }

    #[test]
    fn proportional_scaling_follows_the_max_replicas_annotation() {
        // 10 -> 20 replicas mid-rollout (maxSurge 25%): old 8 and new 5
        // were sized for 13; now 25 are allowed.
        let sizes = proportional_sizes(&[share(8, 13), share(5, 13)], 20, 5, 13);
        assert_eq!(sizes, vec![15, 10]);
        // And back down to 10 (13 allowed).
        let sizes = proportional_sizes(&[share(15, 25), share(10, 25)], 10, 3, 25);
        assert_eq!(sizes, vec![8, 5]);
        // Shrinking both evenly to desired + surge.
        let sizes = proportional_sizes(&[share(5, 10), share(5, 10)], 3, 1, 10);
        assert_eq!(sizes, vec![2, 2]);
        // To zero: everything goes.
        assert_eq!(
            proportional_sizes(&[share(3, 4), share(1, 4)], 0, 0, 4),
            vec![0, 0]
        );
        // No annotation: the observed size stands in.
        let none = Share {
            replicas: 4,
            max_before: None,
        };
        assert_eq!(proportional_sizes(&[none], 8, 2, 4), vec![10]);
    }

    fn rs(replicas: i32) -> ReplicaSet {
        serde_json::from_value(serde_json::json!({
            "spec": {"replicas": replicas, "selector": {}}
        }))
        .expect("rs")
    }

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "spec": {"replicas": replicas, "selector": {}, "template": {},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}
        }))
        .expect("deployment")
    }

    #[test]
    fn new_replica_set_grows_within_the_surge() {
        let d = deployment(3, pct("25%"), pct("25%"));
        let old = rs(3);
        let new = rs(0);
        assert_eq!(new_rs_replicas(&d, &[&old, &new], &new), 1);
        let new = rs(1);
        assert_eq!(new_rs_replicas(&d, &[&old, &new], &new), 1);
        let old = rs(2);
        assert_eq!(new_rs_replicas(&d, &[&old, &new], &new), 2);
        let d = deployment(10, IntOrString::Int(5), IntOrString::Int(0));
        let old = rs(10);
        let new = rs(0);
        assert_eq!(new_rs_replicas(&d, &[&old, &new], &new), 5);
        assert_eq!(max_unavailable(&d), 0);
        assert_eq!(max_surge(&d), 5);
    }
}
