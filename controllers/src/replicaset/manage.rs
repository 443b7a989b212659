//! Creating and deleting pods to reach a ReplicaSet's size, recording what
//! the controller then waits to see in its pod cache (the expectations).

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, ResourceExt};

use super::podcache::pod_key;
use super::rank::rank_for_deletion;
use super::State;
use crate::events::EventType;
use crate::util::controller_ref;

/// At most this many pods are created or deleted in one pass (upstream's
/// `BurstReplicas`).
const BURST_REPLICAS: usize = 500;

/// Create or delete pods to reach `desired`; `pods` is updated to what
/// exists afterwards. Before any call, the expectations of `rs` record what
/// the pod cache must show before the next change (upstream's
/// `ExpectCreations` / `ExpectDeletions`); calls that fail or are skipped
/// lower them at once, as their pods will never be seen. Errors come back as
/// the message upstream puts in the ReplicaFailure condition.
pub(super) async fn manage_replicas(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pods: &mut Vec<Arc<Pod>>,
    desired: usize,
) -> std::result::Result<(), String> {
    let owner = rs.uid().unwrap_or_default();
    match pods.len().cmp(&desired) {
        Ordering::Equal => Ok(()),
        Ordering::Less => {
            let want = (desired - pods.len()).min(BURST_REPLICAS);
            let template = pod_from_template(rs)?;
            state
                .expectations
                .expect_creations(&owner, want, Instant::now());
            let (created, err) = slow_start(want, |_| {
                let template = template.clone();
                async move { create_pod(state, api, rs, template).await }
            })
            .await;
            for _ in created.len()..want {
                state.expectations.creation_observed(&owner);
            }
            pods.extend(created.into_iter().map(Arc::new));
            err.map_or(Ok(()), Err)
        }
        Ordering::Greater => {
            let surplus = (pods.len() - desired).min(BURST_REPLICAS);
            rank_for_deletion(pods, jiff::Timestamp::now());
            let doomed: Vec<Arc<Pod>> = pods.drain(..surplus).collect();
            state.expectations.expect_deletions(
                &owner,
                doomed.iter().map(|p| pod_key(p)).collect(),
                Instant::now(),
            );
            let results =
                futures::future::join_all(doomed.iter().map(|p| delete_pod(state, api, rs, p)))
                    .await;
            let mut first_err = None;
            for (pod, result) in doomed.iter().zip(results) {
                match result {
                    Ok(true) => {}
                    Ok(false) => state.expectations.deletion_observed(&owner, &pod_key(pod)),
                    Err(e) => {
                        state.expectations.deletion_observed(&owner, &pod_key(pod));
                        first_err.get_or_insert(e);
                    }
                }
            }
            first_err.map_or(Ok(()), Err)
        }
    }
}

/// Run `count` calls in batches of 1, 2, 4, ... and stop after the first
/// batch with a failure, as upstream's slowStartBatch.
async fn slow_start<F, Fut>(count: usize, call: F) -> (Vec<Pod>, Option<String>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Option<Pod>, String>>,
{
    let mut done = Vec::new();
    let mut remaining = count;
    let mut batch = 1usize;
    let mut index = 0usize;
    while remaining > 0 {
        let size = batch.min(remaining);
        let results = futures::future::join_all((index..index + size).map(&call)).await;
        index += size;
        remaining -= size;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(Some(p)) => done.push(p),
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if first_err.is_some() {
            return (done, first_err);
        }
        batch *= 2;
    }
    (done, None)
}

/// The pod a ReplicaSet stamps out: the template's labels, annotations,
/// finalizers and spec, `generateName: <rs>-` and the controller reference.
fn pod_from_template(rs: &ReplicaSet) -> std::result::Result<Pod, String> {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .ok_or_else(|| "the ReplicaSet has no pod template".to_string())?;
    let meta = template.metadata.unwrap_or_default();
    let name = rs.name_any();
    let prefix = if name.len() < 253 {
        format!("{name}-")
    } else {
        name
    };
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    })
}

async fn create_pod(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pod: Pod,
) -> std::result::Result<Option<Pod>, String> {
    match api.create(&PostParams::default(), &pod).await {
        Ok(created) => {
            let msg = format!("Created pod: {}", created.name_any());
            state
                .recorder
                .publish(rs, EventType::Normal, "SuccessfulCreate", &msg)
                .await;
            Ok(Some(created))
        }
        Err(e) => {
            let text = api_message(&e);
            // A terminating namespace refuses new pods; upstream stays quiet.
            if text.contains("because it is being terminated") {
                return Ok(None);
            }
            let msg = format!("Error creating: {text}");
            state
                .recorder
                .publish(rs, EventType::Warning, "FailedCreate", &msg)
                .await;
            Err(text)
        }
    }
}

/// Delete `pod`; `Ok(false)` when it was already gone.
async fn delete_pod(
    state: &State,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    pod: &Pod,
) -> std::result::Result<bool, String> {
    let name = pod.name_any();
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {
            let msg = format!("Deleted pod: {name}");
            state
                .recorder
                .publish(rs, EventType::Normal, "SuccessfulDelete", &msg)
                .await;
            Ok(true)
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => {
            let text = api_message(&e);
            let msg = format!("Error deleting: {text}");
            state
                .recorder
                .publish(rs, EventType::Warning, "FailedDelete", &msg)
                .await;
            Err(text)
        }
    }
}

pub(super) fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_start_stops_after_the_first_failing_batch() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (done, err) = slow_start(10, |i| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if i == 4 {
                    Err("boom".to_string())
                } else {
                    Ok(Some(Pod::default()))
                }
            }
        })
        .await;
        // Batches 1, 2, 4: the third batch (indices 3..7) holds the failure.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 7);
        assert_eq!(done.len(), 6);
        assert_eq!(err.as_deref(), Some("boom"));
    }
}
