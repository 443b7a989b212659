//! `POST pods/{name}/eviction` (policy/v1 `Eviction`): deletes a pod unless
//! that would violate its PodDisruptionBudget, as upstream's eviction
//! subresource does. Pods that cannot count against a budget (finished,
//! pending, already deleting) are deleted at once; otherwise the one budget
//! selecting the pod must allow a disruption, which the eviction takes by
//! decrementing `status.disruptionsAllowed` and recording the pod under
//! `status.disruptedPods` (the disruption controller reconciles both).

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::output;
use super::Ctx;
use crate::body;
use crate::error::{ApiError, ApiResult, Cause, Details};
use crate::registry::{meta, Action, DeleteOptions, ListOptions, Registry};
use crate::selectors::labels::LabelSelector;

/// Upstream's cap on evictions the disruption controller has not confirmed.
const MAX_DISRUPTED_PODS: usize = 2000;

pub async fn create(ctx: &Ctx<'_>, payload: web::Payload) -> ApiResult<HttpResponse> {
    let bytes = body::read(payload).await?;
    let eviction = body::decode_object(&body::media_type(ctx.req), &bytes)?;
    let name = ctx.target.name().to_string();
    let ns = ctx.target.ns().unwrap_or_default().to_string();
    let body_name = meta::name(&eviction);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let opts = delete_options(ctx, &eviction)?;
    let pod = ctx.registry.get(Some(&ns), &name, None).await?;
    if !can_ignore_budget(&pod) {
        let budgets = budgets_of(ctx, &ns, &pod).await?;
        match budgets.as_slice() {
            [] => {}
            [one] => take_disruption(ctx, &ns, one, &pod, opts.dry_run).await?,
            _ => {
                return Err(ApiError::new(
                    500,
                    "InternalError",
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ))
            }
        }
    }
    ctx.registry.delete(Some(&ns), &name, &opts).await?;
    Ok(output::created_success())
}

/// The eviction's `deleteOptions`, read as a DELETE's body is.
fn delete_options(ctx: &Ctx<'_>, eviction: &Value) -> ApiResult<DeleteOptions> {
    let empty = json!({});
    let body = eviction
        .get("deleteOptions")
        .filter(|d| d.is_object())
        .unwrap_or(&empty);
    super::delete::options_from(ctx, body)
}

/// Finished, pending and already deleting pods do not count against a
/// budget (upstream `canIgnorePDB`).
fn can_ignore_budget(pod: &Value) -> bool {
    meta::is_deleting(pod)
        || matches!(
            pod.pointer("/status/phase").and_then(Value::as_str),
            Some("Succeeded" | "Failed" | "Pending") | None
        )
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// The PodDisruptionBudgets of the pod's namespace whose selector matches it.
async fn budgets_of(ctx: &Ctx<'_>, ns: &str, pod: &Value) -> ApiResult<Vec<Value>> {
    let Some(info) = crate::resources::lookup("policy", "v1", "poddisruptionbudgets") else {
        return Ok(Vec::new());
    };
    let registry = Registry::new(ctx.state.store.clone(), info);
    let list = registry.list(Some(ns), &ListOptions::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter(|pdb| {
            LabelSelector::from_json(pdb.pointer("/spec/selector"))
                .is_ok_and(|s| s.matches_object(pod))
        })
        .collect())
}

fn int_at(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

fn too_many_requests(cause: String) -> ApiError {
    let mut e = ApiError::new(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
    );
    e.details = Some(Box::new(Details {
        causes: vec![Cause {
            reason: "DisruptionBudget".into(),
            message: cause,
            field: String::new(),
        }],
        ..Default::default()
    }));
    e
}

/// Checks the budget allows this eviction and takes one disruption from it
/// (upstream `checkAndDecrement`); unready pods may go without taking one
/// when the budget is healthy or its policy is `AlwaysAllow`.
async fn take_disruption(
    ctx: &Ctx<'_>,
    ns: &str,
    pdb: &Value,
    pod: &Value,
    dry_run: bool,
) -> ApiResult<()> {
    let pdb_name = meta::name(pdb).to_string();
    let current = int_at(pdb, "/status/currentHealthy");
    let desired = int_at(pdb, "/status/desiredHealthy");
    if !is_ready(pod) {
        let policy = pdb
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str);
        if policy == Some("AlwaysAllow") || (current >= desired && desired > 0) {
            return Ok(());
        }
    }
    let Some(info) = crate::resources::lookup("policy", "v1", "poddisruptionbudgets") else {
        return Ok(());
    };
    let registry = Registry::new(ctx.state.store.clone(), info);
    let pod_name = meta::name(pod).to_string();
    registry
        .update_with(Some(ns), &pdb_name, dry_run, |old| {
            let Some(old) = old else {
                return Err(ApiError::not_found("policy", "poddisruptionbudgets", &pdb_name));
            };
            let generation = old.pointer("/metadata/generation").and_then(Value::as_i64);
            let observed = old.pointer("/status/observedGeneration").and_then(Value::as_i64);
            if observed < generation {
                return Err(too_many_requests(format!(
                    "The disruption budget {pdb_name} is still being processed by the server."
                )));
            }
            let allowed = int_at(old, "/status/disruptionsAllowed");
            if allowed < 0 {
                return Err(ApiError::forbidden("pdb disruptions allowed is negative"));
            }
            let disrupted = old
                .pointer("/status/disruptedPods")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len());
            if disrupted > MAX_DISRUPTED_PODS {
                return Err(ApiError::forbidden(
                    "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
                ));
            }
            if allowed == 0 {
                return Err(too_many_requests(format!(
                    "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                    int_at(old, "/status/desiredHealthy"),
                    int_at(old, "/status/currentHealthy")
                )));
            }
            let mut new = old.clone();
            meta::set_path(&mut new, &["status", "disruptionsAllowed"], json!(allowed - 1));
            meta::set_path(
                &mut new,
                &["status", "disruptedPods", &pod_name],
                json!(meta::now()),
            );
            if allowed == 1 {
                set_disruption_allowed_false(&mut new);
            }
            Ok(Action::Put(new))
        })
        .await?;
    Ok(())
}

/// The `DisruptionAllowed` condition once no disruption is left.
fn set_disruption_allowed_false(pdb: &mut Value) {
    let observed = pdb
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(0));
    let cond = json!({
        "type": "DisruptionAllowed",
        "status": "False",
        "reason": "InsufficientPods",
        "message": "",
        "observedGeneration": observed,
        "lastTransitionTime": meta::now(),
    });
    meta::upsert_condition(pdb, cond);
}
