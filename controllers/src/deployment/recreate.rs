//! The Recreate strategy: scale every old ReplicaSet to zero, wait until
//! their pods are gone, then scale the new ReplicaSet up (upstream's
//! `pkg/controller/deployment/recreate.go`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::Api;

use super::{replicas_of, spec_replicas, status_replicas, Error, Run};

/// How often to look again while old pods are still going away.
const WAIT_FOR_OLD_PODS: Duration = Duration::from_secs(1);

impl Run<'_> {
    pub(super) async fn rollout_recreate(
        &mut self,
        mut rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        let (new, mut old) = self.new_and_old(&mut rss, false).await?;
        let mut scaled_down = false;
        for rs in old.iter_mut().filter(|rs| replicas_of(rs) > 0) {
            if self.scale_rs(rs, 0).await? {
                scaled_down = true;
            }
        }
        if scaled_down {
            self.sync_rollout_status(&old, new.as_ref()).await?;
            return Ok(Action::requeue(WAIT_FOR_OLD_PODS));
        }
        if self.old_pods_running(&old).await? {
            self.sync_rollout_status(&old, new.as_ref()).await?;
            return Ok(Action::requeue(WAIT_FOR_OLD_PODS));
        }
        let new = match new {
            Some(n) => Some(n),
            None => self.new_and_old(&mut rss, true).await?.0,
        };
        let Some(mut new) = new else {
            return self.sync_rollout_status(&old, None).await;
        };
        let desired = spec_replicas(self.d());
        self.scale_rs(&mut new, desired).await?;
        if super::status::complete(self.d(), self.d().status.as_ref()) {
            self.cleanup(&old).await?;
        }
        self.sync_rollout_status(&old, Some(&new)).await
    }

    /// Whether any pod of an old ReplicaSet still runs (or may: only
    /// Succeeded and Failed pods count as stopped, a terminating pod does not).
    async fn old_pods_running(&self, old: &[ReplicaSet]) -> Result<bool, Error> {
        if old.iter().any(|rs| status_replicas(rs) > 0) {
            return Ok(true);
        }
        let api: Api<Pod> = Api::namespaced(self.client(), &self.ns);
        let pods = api
            .list(&ListParams::default())
            .await
            .map_err(|e| Error::ListPods(self.ns.clone(), e))?;
        Ok(pods.items.iter().any(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded") | Some("Failed"))
                && old.iter().any(|rs| crate::replicaset::owned_by(pod, rs))
        }))
    }
}
