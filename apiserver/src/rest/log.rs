//! `pods/{name}/log`: containers are simulated, so their log is too — a few
//! lines saying what runs where, built from the pod's spec and status, with
//! kube-apiserver's errors for a missing or not-yet-started container.

use actix_web::HttpResponse;
use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The container the request names, or upstream's 400 when it must name one.
fn pick_container(pod: &Value, name: &str, asked: Option<&str>) -> ApiResult<String> {
    let containers = names(pod.pointer("/spec/containers"));
    let init = names(pod.pointer("/spec/initContainers"));
    let ephemeral = names(pod.pointer("/spec/ephemeralContainers"));
    match asked.filter(|c| !c.is_empty()) {
        Some(c) => {
            if containers
                .iter()
                .chain(&init)
                .chain(&ephemeral)
                .any(|n| n == c)
            {
                Ok(c.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

/// The status of container `c`, among all container status lists.
fn container_status<'a>(pod: &'a Value, c: &str) -> Option<&'a Value> {
    [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|k| {
        pod.pointer(&format!("/status/{k}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(c))
}

fn image_of(pod: &Value, c: &str) -> String {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(c))
        .and_then(|s| s.get("image").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// The synthetic log lines, each with its timestamp.
fn lines(pod: &Value, ns: &str, name: &str, c: &str, status: &Value) -> Vec<(String, String)> {
    let state = status.get("state").cloned().unwrap_or(Value::Null);
    let started = state
        .pointer("/running/startedAt")
        .or_else(|| state.pointer("/terminated/startedAt"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = vec![
        (
            started.clone(),
            format!(
                "ferrokube: simulated container {c} (image {}) started",
                image_of(pod, c)
            ),
        ),
        (
            started,
            format!("ferrokube: pod {ns}/{name} runs on node {node}"),
        ),
    ];
    if let Some(t) = state.get("terminated") {
        let at = t
            .get("finishedAt")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let reason = t.get("reason").and_then(Value::as_str).unwrap_or("");
        out.push((
            at,
            format!("ferrokube: container {c} exited with code {code} ({reason})"),
        ));
    }
    out
}

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<HttpResponse> {
    let ns = ctx.target.ns().unwrap_or("").to_string();
    let name = ctx.target.name().to_string();
    let pod = ctx.registry.get(ctx.target.ns(), &name, None).await?;
    let c = pick_container(&pod, &name, ctx.query.get("container"))?;
    let tail = ctx.query.int("tailLines")?;
    let timestamps = ctx.query.bool("timestamps")?;
    let limit = ctx.query.int("limitBytes")?;
    for (param, v) in [("tailLines", tail), ("limitBytes", limit)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::bad_request(format!(
                "{param}: Invalid value: must be greater than or equal to 0"
            )));
        }
    }
    let waiting = |reason: &str| {
        ApiError::bad_request(format!(
            "container \"{c}\" in pod \"{name}\" is waiting to start: {reason}"
        ))
    };
    let Some(status) = container_status(&pod, &c) else {
        return Err(waiting("ContainerCreating"));
    };
    if let Some(w) = status.pointer("/state/waiting") {
        let reason = w
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("ContainerCreating");
        return Err(waiting(reason));
    }
    let mut lines = lines(&pod, &ns, &name, &c, status);
    if let Some(n) = tail {
        let keep = usize::try_from(n).unwrap_or(0);
        let skip = lines.len().saturating_sub(keep);
        lines.drain(..skip);
    }
    let mut text = String::new();
    for (at, line) in lines {
        if timestamps {
            text.push_str(&at);
            text.push(' ');
        }
        text.push_str(&line);
        text.push('\n');
    }
    if let Some(n) = limit {
        let n = usize::try_from(n).unwrap_or(0);
        if text.len() > n {
            let mut cut = n;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
    }
    Ok(HttpResponse::Ok().content_type("text/plain").body(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_of_several_containers_needs_a_container_name() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}],
                                   "initContainers": [{"name": "init"}]}});
        let e = pick_container(&pod, "web", None).expect_err("must name one");
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [init]"
        );
        assert_eq!(
            pick_container(&pod, "web", Some("b")).ok().as_deref(),
            Some("b")
        );
        let e = pick_container(&pod, "web", Some("zz")).expect_err("unknown");
        assert_eq!(e.message, "container zz is not valid for pod web");
    }

    #[test]
    fn terminated_containers_log_their_exit() {
        let pod =
            json!({"spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "busybox"}]}});
        let status = json!({"name": "a", "state": {"terminated": {"exitCode": 3, "reason": "Error",
            "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}});
        let l = lines(&pod, "ns", "p", "a", &status);
        assert_eq!(l.len(), 3);
        assert!(l[0].1.contains("image busybox"));
        assert_eq!(l[2].1, "ferrokube: container a exited with code 3 (Error)");
    }
}
