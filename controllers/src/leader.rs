//! Leader election on a coordination.k8s.io/v1 Lease, as client-go's
//! leaderelection does: take the Lease when it is free, ours or expired;
//! renew it every retry period; give up when renewal fails for longer than
//! the renew deadline; release it on shutdown.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// The Lease the built-in controllers hold.
pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "ferrokube-controller-manager";

/// client-go's defaults (kube-controller-manager's flags).
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

pub struct LeaderElection {
    api: Api<Lease>,
    identity: String,
    timings: Timings,
}

enum Attempt {
    Acquired,
    HeldByOther,
}

impl LeaderElection {
    pub fn new(client: Client, identity: &str, timings: Timings) -> LeaderElection {
        LeaderElection {
            api: Api::namespaced(client, LEASE_NAMESPACE),
            identity: identity.to_string(),
            timings,
        }
    }

    /// Wait until this identity holds the Lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Acquired) => return,
                Ok(Attempt::HeldByOther) => {}
                Err(e) => tracing::debug!(error = %e, "leader election: cannot take the lease yet"),
            }
            tokio::time::sleep(self.timings.retry_period).await;
        }
    }

    /// Keep renewing; return when the Lease is lost (renewal failed for
    /// longer than the renew deadline, or someone else holds it).
    pub async fn hold(&self) {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.timings.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Acquired) => last_renewed = tokio::time::Instant::now(),
                Ok(Attempt::HeldByOther) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: renewal failed");
                    if last_renewed.elapsed() > self.timings.renew_deadline {
                        return;
                    }
                }
            }
        }
    }

    /// Give the Lease up (holder cleared, duration 1 s) so another replica
    /// takes over without waiting for it to expire.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(LEASE_NAME).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(&self.identity) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        let _ = self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await;
    }

    async fn try_acquire_or_renew(&self) -> kube::Result<Attempt> {
        let now = now();
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.into()),
                    namespace: Some(LEASE_NAMESPACE.into()),
                    ..Default::default()
                },
                spec: Some(self.spec(now.clone(), now, 0)),
            };
            self.api.create(&PostParams::default(), &lease).await?;
            return Ok(Attempt::Acquired);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.identity;
        if !ours && !holder.is_empty() && !expired(&spec) {
            return Ok(Attempt::HeldByOther);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone().unwrap_or_else(|| now.clone())
        } else {
            now.clone()
        };
        lease.spec = Some(self.spec(acquired, now, transitions));
        // The resourceVersion in `lease` makes this a compare-and-swap.
        self.api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await?;
        Ok(Attempt::Acquired)
    }

    fn spec(&self, acquired: MicroTime, renewed: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease_duration.as_secs() as i32),
            acquire_time: Some(acquired),
            renew_time: Some(renewed),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn expired(spec: &LeaseSpec) -> bool {
    let Some(renewed) = &spec.renew_time else {
        return true;
    };
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let Ok(until) = renewed.0.checked_add(jiff::SignedDuration::from_secs(secs)) else {
        return true;
    };
    until < jiff::Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_after_its_duration() {
        let fresh = LeaseSpec {
            renew_time: Some(now()),
            lease_duration_seconds: Some(15),
            ..Default::default()
        };
        assert!(!expired(&fresh));
        let old = LeaseSpec {
            renew_time: Some(MicroTime(
                jiff::Timestamp::now() - jiff::SignedDuration::from_secs(20),
            )),
            lease_duration_seconds: Some(15),
            ..Default::default()
        };
        assert!(expired(&old));
        assert!(expired(&LeaseSpec::default()));
    }
}
