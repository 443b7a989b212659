//! What a simulated pod's status becomes: pure functions of the pod and
//! the time that the kubelet ([`super::kubelet`]) writes back. [`start`]
//! gives a bound pod its running status, [`advance`] moves it on (exits,
//! restarts with CrashLoopBackOff, readiness after a probe's delay),
//! [`stop`] ends its containers for deletion, and [`next_deadline`] says
//! when to look again.

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::node::hex_id;
use super::node_ip;
use crate::events::EventType;

pub const RUN_SECONDS: &str = "ferrokube.io/run-seconds";
pub const EXIT_CODE: &str = "ferrokube.io/exit-code";

/// Upstream's crash-loop back-off: 10 s doubling up to 5 min.
const BACKOFF_START: f64 = 10.0;
const BACKOFF_MAX: f64 = 300.0;

/// An event to record about one container of the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerEvent {
    pub field_path: String,
    pub kind: EventType,
    pub reason: &'static str,
    pub message: String,
}
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

pub fn is_started(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| {
        s.start_time.is_some() && s.container_statuses.as_ref().is_some_and(|c| !c.is_empty())
    })
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// Whether the pod's containers exit by themselves.
fn runs_to_completion(pod: &Pod) -> bool {
    restart_policy(pod) != "Always" || annotation(pod, RUN_SECONDS).is_some()
}

fn run_seconds(pod: &Pod) -> f64 {
    annotation(pod, RUN_SECONDS)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .unwrap_or(1.0)
        .max(0.0)
}

fn exit_code(pod: &Pod) -> i32 {
    annotation(pod, EXIT_CODE)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn readiness_delay(c: &Container) -> f64 {
    c.readiness_probe
        .as_ref()
        .and_then(|p| p.initial_delay_seconds)
        .unwrap_or(0)
        .max(0) as f64
}

fn backoff(restarts: i32) -> f64 {
    let doublings = (restarts.max(1) - 1).min(10);
    (BACKOFF_START * f64::from(1u32 << doublings)).min(BACKOFF_MAX)
}

fn seconds_since(t: &Time, now: jiff::Timestamp) -> f64 {
    now.duration_since(t.0).as_secs_f64()
}

fn until(t: &Time, after: f64, now: jiff::Timestamp) -> Duration {
    Duration::from_secs_f64((after - seconds_since(t, now)).max(0.0))
}

/// `nginx` -> `docker.io/library/nginx:latest`, as container runtimes report images.
pub fn normalize_image(image: &str) -> String {
    if image.contains('@') {
        return image.to_string();
    }
    let mut parts: Vec<&str> = image.split('/').collect();
    let has_registry = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    let mut out = String::new();
    if !has_registry {
        out.push_str("docker.io/");
        if parts.len() == 1 {
            out.push_str("library/");
        }
    }
    let last = parts.pop().unwrap_or_default();
    for p in parts {
        out.push_str(p);
        out.push('/');
    }
    out.push_str(last);
    if !last.contains(':') {
        out.push_str(":latest");
    }
    out
}

fn image_id(image: &str) -> String {
    let full = normalize_image(image);
    let repo = match full.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
        _ => full.clone(),
    };
    let repo = repo.split('@').next().unwrap_or_default().to_string();
    format!("{repo}@sha256:{}", hex_id(&full, 64))
}

fn container_id(pod: &Pod, name: &str, restarts: i32) -> String {
    format!(
        "ferrokube://{}",
        hex_id(
            &format!("{}/{name}/{restarts}", pod.uid().unwrap_or_default()),
            64
        )
    )
}

fn running(at: jiff::Timestamp) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(Time(at)),
        }),
        ..Default::default()
    }
}

fn terminated(
    code: i32,
    started: Option<Time>,
    finished: jiff::Timestamp,
    id: Option<String>,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: Some(if code == 0 { "Completed" } else { "Error" }.into()),
            started_at: started,
            finished_at: Some(Time(finished)),
            container_id: id,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn field_path(init: bool, name: &str) -> String {
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}

fn start_events(c: &Container, init: bool) -> Vec<ContainerEvent> {
    let image = c.image.clone().unwrap_or_default();
    let path = field_path(init, &c.name);
    vec![
        ContainerEvent {
            field_path: path.clone(),
            kind: EventType::Normal,
            reason: "Pulled",
            message: format!("Container image \"{image}\" already present on machine"),
        },
        ContainerEvent {
            field_path: path.clone(),
            kind: EventType::Normal,
            reason: "Created",
            message: format!("Created container: {}", c.name),
        },
        ContainerEvent {
            field_path: path,
            kind: EventType::Normal,
            reason: "Started",
            message: format!("Started container {}", c.name),
        },
    ]
}

fn fresh_status(
    pod: &Pod,
    c: &Container,
    state: ContainerState,
    ready: bool,
    started: bool,
) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    ContainerStatus {
        name: c.name.clone(),
        image: normalize_image(&image),
        image_id: image_id(&image),
        container_id: Some(container_id(pod, &c.name, 0)),
        ready,
        started: Some(started),
        restart_count: 0,
        state: Some(state),
        ..Default::default()
    }
}

/// The pod's first status on its node: Running, with every container started.
pub fn start(
    pod: &Pod,
    index: u32,
    ip: &str,
    now: jiff::Timestamp,
) -> (PodStatus, Vec<ContainerEvent>) {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut events = Vec::new();
    let mut init_statuses = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        events.extend(start_events(c, true));
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        let status = if sidecar {
            fresh_status(pod, c, running(now), readiness_delay(c) == 0.0, true)
        } else {
            let id = container_id(pod, &c.name, 0);
            fresh_status(
                pod,
                c,
                terminated(0, Some(Time(now)), now, Some(id)),
                true,
                false,
            )
        };
        init_statuses.push(status);
    }
    let mut statuses = Vec::new();
    for c in &spec.containers {
        events.extend(start_events(c, false));
        statuses.push(fresh_status(
            pod,
            c,
            running(now),
            readiness_delay(c) == 0.0,
            true,
        ));
    }
    let old = pod.status.clone().unwrap_or_default();
    let node_address = node_ip(index);
    let mut status = PodStatus {
        phase: Some("Running".into()),
        host_ip: Some(node_address.clone()),
        host_ips: Some(vec![HostIP { ip: node_address }]),
        pod_ip: Some(ip.to_string()),
        pod_ips: Some(vec![PodIP { ip: ip.to_string() }]),
        start_time: Some(Time(now)),
        qos_class: old
            .qos_class
            .clone()
            .or_else(|| Some(crate::scheduler::resources::qos_class(pod).to_string())),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(statuses),
        ..old
    };
    status.conditions = Some(conditions(pod, &status, now));
    (status, events)
}

/// The pod a moment later: containers that exit, restart or turn ready.
pub fn advance(pod: &Pod, now: jiff::Timestamp) -> (PodStatus, Vec<ContainerEvent>) {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut status = pod.status.clone().unwrap_or_default();
    let mut events = Vec::new();
    let policy = restart_policy(pod).to_string();
    let completes = runs_to_completion(pod);
    let lifetime = run_seconds(pod);
    let code = exit_code(pod);
    let mut statuses = status.container_statuses.clone().unwrap_or_default();
    for cs in statuses.iter_mut() {
        let Some(c) = spec.containers.iter().find(|c| c.name == cs.name) else {
            continue;
        };
        let state = cs.state.clone().unwrap_or_default();
        if let Some(run) = &state.running {
            let started = run.started_at.clone().unwrap_or(Time(now));
            if completes && seconds_since(&started, now) >= lifetime {
                let ended = terminated(code, Some(started), now, cs.container_id.clone());
                let restart = policy == "Always" || (policy == "OnFailure" && code != 0);
                cs.ready = false;
                if !restart {
                    cs.state = Some(ended);
                    cs.started = Some(false);
                } else if cs.restart_count == 0 {
                    cs.last_state = Some(ended);
                    cs.restart_count = 1;
                    cs.container_id = Some(container_id(pod, &c.name, 1));
                    cs.state = Some(running(now));
                    cs.started = Some(true);
                    cs.ready = readiness_delay(c) == 0.0;
                    events.extend(start_events(c, false));
                } else {
                    cs.last_state = Some(ended);
                    cs.started = Some(false);
                    cs.state = Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some("CrashLoopBackOff".into()),
                            message: Some(format!(
                                "back-off {}s restarting failed container={} pod={}_{}({})",
                                backoff(cs.restart_count),
                                c.name,
                                pod.name_any(),
                                pod.namespace().unwrap_or_default(),
                                pod.uid().unwrap_or_default()
                            )),
                        }),
                        ..Default::default()
                    });
                    events.push(ContainerEvent {
                        field_path: field_path(false, &c.name),
                        kind: EventType::Warning,
                        reason: "BackOff",
                        message: format!(
                            "Back-off restarting failed container {} in pod {}_{}({})",
                            c.name,
                            pod.name_any(),
                            pod.namespace().unwrap_or_default(),
                            pod.uid().unwrap_or_default()
                        ),
                    });
                }
            } else {
                cs.ready = seconds_since(&started, now) >= readiness_delay(c);
            }
        } else if state.waiting.is_some() {
            let finished = cs
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.finished_at.clone())
                .unwrap_or(Time(now));
            if seconds_since(&finished, now) >= backoff(cs.restart_count) {
                cs.restart_count += 1;
                cs.container_id = Some(container_id(pod, &c.name, cs.restart_count));
                cs.state = Some(running(now));
                cs.started = Some(true);
                cs.ready = readiness_delay(c) == 0.0;
                events.extend(start_events(c, false));
            }
        }
    }
    let all_done = statuses
        .iter()
        .all(|cs| cs.state.as_ref().is_some_and(|s| s.terminated.is_some()));
    if all_done {
        let failed = statuses.iter().any(|cs| {
            cs.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.exit_code != 0)
        });
        status.phase = Some(if failed { "Failed" } else { "Succeeded" }.into());
        // Sidecars stop with the pod.
        for cs in status.init_container_statuses.iter_mut().flatten() {
            if let Some(run) = cs.state.as_ref().and_then(|s| s.running.clone()) {
                cs.state = Some(terminated(0, run.started_at, now, cs.container_id.clone()));
                cs.ready = false;
                cs.started = Some(false);
            }
        }
    }
    status.container_statuses = Some(statuses);
    status.conditions = Some(conditions(pod, &status, now));
    (status, events)
}

/// The status once every container is stopped for the pod's deletion, and
/// the Killing events; None when nothing runs any more.
pub fn stop(pod: &Pod, now: jiff::Timestamp) -> Option<(PodStatus, Vec<ContainerEvent>)> {
    let mut status = pod.status.clone()?;
    if is_terminal(pod) {
        return None;
    }
    let mut events = Vec::new();
    let mut changed = false;
    let lists = [
        (false, status.container_statuses.as_mut()),
        (true, status.init_container_statuses.as_mut()),
    ];
    for (init, list) in lists {
        for cs in list.into_iter().flatten() {
            let state = cs.state.clone().unwrap_or_default();
            if state.terminated.is_some() {
                continue;
            }
            changed = true;
            let started = state.running.as_ref().and_then(|r| r.started_at.clone());
            if started.is_some() {
                events.push(ContainerEvent {
                    field_path: field_path(init, &cs.name),
                    kind: EventType::Normal,
                    reason: "Killing",
                    message: format!("Stopping container {}", cs.name),
                });
            }
            cs.state = Some(terminated(0, started, now, cs.container_id.clone()));
            cs.ready = false;
            cs.started = Some(false);
        }
    }
    if !changed {
        return None;
    }
    status.conditions = Some(conditions(pod, &status, now));
    Some((status, events))
}

/// When something will change by itself next: a container turning ready,
/// exiting, or leaving its back-off.
pub fn next_deadline(pod: &Pod, now: jiff::Timestamp) -> Option<Duration> {
    if is_terminal(pod) {
        return None;
    }
    let spec = pod.spec.as_ref()?;
    let completes = runs_to_completion(pod);
    let lifetime = run_seconds(pod);
    let mut next: Option<Duration> = None;
    let mut consider = |d: Duration| {
        next = Some(next.map_or(d, |n| n.min(d)));
    };
    for cs in pod.status.as_ref()?.container_statuses.iter().flatten() {
        let Some(c) = spec.containers.iter().find(|c| c.name == cs.name) else {
            continue;
        };
        let state = cs.state.clone().unwrap_or_default();
        if let Some(started) = state.running.and_then(|r| r.started_at) {
            if !cs.ready {
                consider(until(&started, readiness_delay(c), now));
            }
            if completes {
                consider(until(&started, lifetime, now));
            }
        } else if state.waiting.is_some() {
            if let Some(finished) = cs
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.finished_at.clone())
            {
                consider(until(&finished, backoff(cs.restart_count), now));
            }
        }
    }
    // Never spin: the next look is at least 50 ms away.
    next.map(|d| d.max(Duration::from_millis(50)))
}

/// The pod conditions for `status`, in the kubelet's order; transition
/// times kept where a condition's status is unchanged.
fn conditions(pod: &Pod, status: &PodStatus, now: jiff::Timestamp) -> Vec<PodCondition> {
    let old = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let terminal = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
    let unready: Vec<&str> = status
        .container_statuses
        .iter()
        .flatten()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let containers_ready = unready.is_empty() && !terminal;
    let (reason, message) = if terminal {
        (Some("PodCompleted".to_string()), None)
    } else if !unready.is_empty() {
        (
            Some("ContainersNotReady".to_string()),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    } else {
        (None, None)
    };
    // Readiness gates: each named condition must be True.
    let missing_gate = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_ref())
        .into_iter()
        .flatten()
        .find(|g| {
            !old.iter()
                .any(|c| c.type_ == g.condition_type && c.status == "True")
        });
    let (ready, ready_reason, ready_message) = match (containers_ready, missing_gate) {
        (true, Some(g)) => (
            false,
            Some("ReadinessGatesNotReady".to_string()),
            Some(format!(
                "corresponding condition of pod readiness gate \"{}\" does not exist.",
                g.condition_type
            )),
        ),
        _ => (containers_ready, reason.clone(), message.clone()),
    };
    let make = |kind: &str, ok: bool, reason: Option<String>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        let since = old
            .iter()
            .find(|c| c.type_ == kind && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        PodCondition {
            type_: kind.into(),
            status: status.into(),
            last_transition_time: Some(since),
            reason,
            message,
            ..Default::default()
        }
    };
    let mut out = vec![
        make("PodReadyToStartContainers", !terminal, None, None),
        make("Initialized", true, None, None),
        make("Ready", ready, ready_reason, ready_message),
        make("ContainersReady", containers_ready, reason, message),
    ];
    let scheduled = old
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .cloned()
        .unwrap_or_else(|| make("PodScheduled", true, None, None));
    out.push(scheduled);
    // Conditions others own (readiness gates, DisruptionTarget, ...) stay.
    let ours = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ];
    out.extend(
        old.into_iter()
            .filter(|c| !ours.contains(&c.type_.as_str())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(policy: &str, annotations: serde_json::Value, containers: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "annotations": annotations},
            "spec": {
                "nodeName": "ferrokube-node-1",
                "restartPolicy": policy,
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": containers,
            },
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "True"}]}
        }))
        .expect("pod")
    }

    fn nginx() -> serde_json::Value {
        json!([{"name": "web", "image": "nginx:1.27"}])
    }

    fn t(s: f64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond((1_800_000_000.0 * 1000.0 + s * 1000.0) as i64)
            .expect("time")
    }

    fn with(p: &Pod, status: PodStatus) -> Pod {
        let mut p = p.clone();
        p.status = Some(status);
        p
    }

    fn cond<'a>(s: &'a PodStatus, kind: &str) -> &'a str {
        s.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind)
            .map(|c| c.status.as_str())
            .unwrap_or("")
    }

    #[test]
    fn started_pods_run_ready_with_addresses_and_events() {
        let p = pod("Always", json!({}), nginx());
        let (s, events) = start(&p, 1, "10.244.1.2", t(0.0));
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(s.pod_ip.as_deref(), Some("10.244.1.2"));
        assert_eq!(s.host_ip.as_deref(), Some("10.0.0.1"));
        for kind in [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ] {
            assert_eq!(cond(&s, kind), "True", "{kind}");
        }
        let cs = &s.container_statuses.as_ref().expect("statuses")[0];
        assert_eq!(cs.image, "docker.io/library/nginx:1.27");
        assert!(cs.image_id.starts_with("docker.io/library/nginx@sha256:"));
        assert!(cs
            .container_id
            .as_deref()
            .is_some_and(|i| i.starts_with("ferrokube://")));
        let init = &s.init_container_statuses.as_ref().expect("init")[0];
        assert_eq!(
            init.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.reason.as_deref()),
            Some("Completed")
        );
        let reasons: Vec<&str> = events.iter().map(|e| e.reason).collect();
        assert_eq!(
            reasons,
            ["Pulled", "Created", "Started", "Pulled", "Created", "Started"]
        );
        assert_eq!(events[4].message, "Created container: web");
        // An always-restarting pod has nothing more to do.
        assert_eq!(next_deadline(&with(&p, s.clone()), t(0.0)), None);
        let (again, events) = advance(&with(&p, s.clone()), t(100.0));
        assert_eq!(again, s);
        assert!(events.is_empty());
    }

    #[test]
    fn readiness_waits_for_the_probe_delay() {
        let p = pod(
            "Always",
            json!({}),
            json!([{"name": "web", "image": "nginx", "readinessProbe": {"initialDelaySeconds": 5}}]),
        );
        let (s, _) = start(&p, 1, "10.244.1.2", t(0.0));
        assert_eq!(cond(&s, "Ready"), "False");
        let p = with(&p, s);
        assert_eq!(next_deadline(&p, t(1.0)), Some(Duration::from_secs(4)));
        let (s, _) = advance(&p, t(5.0));
        assert_eq!(cond(&s, "Ready"), "True");
    }

    #[test]
    fn never_pods_end_succeeded_or_failed() {
        for (code, phase, reason) in [("0", "Succeeded", "Completed"), ("3", "Failed", "Error")] {
            let p = pod("Never", json!({EXIT_CODE: code, RUN_SECONDS: "2"}), nginx());
            let (s, _) = start(&p, 1, "10.244.1.2", t(0.0));
            let p = with(&p, s);
            assert_eq!(next_deadline(&p, t(0.5)), Some(Duration::from_millis(1500)));
            let (early, _) = advance(&p, t(1.0));
            assert_eq!(early.phase.as_deref(), Some("Running"));
            let (s, _) = advance(&p, t(2.0));
            assert_eq!(s.phase.as_deref(), Some(phase));
            let term = s.container_statuses.as_ref().expect("cs")[0]
                .state
                .as_ref()
                .and_then(|s| s.terminated.clone())
                .expect("terminated");
            assert_eq!(term.reason.as_deref(), Some(reason));
            assert_eq!(term.exit_code.to_string(), code);
            assert_eq!(cond(&s, "Ready"), "False");
            assert_eq!(next_deadline(&with(&p, s), t(3.0)), None);
        }
    }

    #[test]
    fn on_failure_pods_restart_then_back_off() {
        let p = pod("OnFailure", json!({EXIT_CODE: "1"}), nginx());
        let (s, _) = start(&p, 1, "10.244.1.2", t(0.0));
        let (s, events) = advance(&with(&p, s), t(1.0));
        let cs = &s.container_statuses.as_ref().expect("cs")[0];
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(cs.restart_count, 1);
        assert!(cs
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some());
        assert!(events.iter().any(|e| e.reason == "Started"));
        let (s, events) = advance(&with(&p, s), t(2.0));
        let cs = &s.container_statuses.as_ref().expect("cs")[0];
        assert_eq!(
            cs.state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref()),
            Some("CrashLoopBackOff")
        );
        assert_eq!(events[0].reason, "BackOff");
        let p2 = with(&p, s);
        assert_eq!(next_deadline(&p2, t(2.0)), Some(Duration::from_secs(10)));
        let (s, _) = advance(&p2, t(12.0));
        assert_eq!(
            s.container_statuses.as_ref().expect("cs")[0].restart_count,
            2
        );
        // Exit 0 under OnFailure is a success.
        let ok = pod("OnFailure", json!({}), nginx());
        let (s, _) = start(&ok, 1, "10.244.1.2", t(0.0));
        let (s, _) = advance(&with(&ok, s), t(1.0));
        assert_eq!(s.phase.as_deref(), Some("Succeeded"));
    }

    #[test]
    fn deletion_stops_running_containers() {
        let p = pod("Always", json!({}), nginx());
        let (s, _) = start(&p, 1, "10.244.1.2", t(0.0));
        let p = with(&p, s);
        let (s, events) = stop(&p, t(3.0)).expect("stopped");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "Killing");
        assert_eq!(events[0].message, "Stopping container web");
        assert_eq!(cond(&s, "Ready"), "False");
        assert!(stop(&with(&p, s), t(4.0)).is_none());
    }

    #[test]
    fn images_are_normalized() {
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalize_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            normalize_image("registry.k8s.io/pause:3.10"),
            "registry.k8s.io/pause:3.10"
        );
        assert_eq!(
            normalize_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(
            image_id("nginx:1.27").split('@').next(),
            Some("docker.io/library/nginx")
        );
    }
}
