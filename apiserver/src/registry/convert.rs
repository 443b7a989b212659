//! Versions that share storage: core/v1 and events.k8s.io/v1 Events live
//! under one prefix (`/registry/core/events/`), autoscaling/v1 and v2
//! HorizontalPodAutoscalers under another, as in kube-apiserver. Objects
//! stay in the version they were written in; reads convert them to the
//! version asked for (upstream's conversion functions, in our own words).

use serde_json::{json, Map, Value};

use crate::resources::ResourceInfo;

/// The storage directory (`/registry/{dir}/{plural}/`) of a resource: the
/// group, or "core"; events.k8s.io Events share the core Events'.
pub fn storage_dir(info: &ResourceInfo) -> &'static str {
    match (info.group, info.plural) {
        ("", _) | ("events.k8s.io", "events") => "core",
        (g, _) => g,
    }
}

/// `obj` as the version `info` serves (unchanged when it already is, or
/// when no conversion applies).
pub fn to_served(info: &ResourceInfo, obj: Value) -> Value {
    if obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return obj;
    }
    if info.custom.is_some() {
        // Conversion `None`: only apiVersion changes.
        let served = info.api_version();
        let mut obj = obj;
        if obj.get("apiVersion").and_then(Value::as_str) != Some(served.as_str()) {
            obj["apiVersion"] = json!(served);
        }
        return obj;
    }
    let from = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match (from, info.group, info.version, info.kind) {
        ("v1", "events.k8s.io", "v1", "Event") => core_event_to_events_v1(obj),
        ("events.k8s.io/v1", "", "v1", "Event") => events_v1_to_core_event(obj),
        ("autoscaling/v2", "autoscaling", "v1", "HorizontalPodAutoscaler") => hpa_v2_to_v1(obj),
        ("autoscaling/v1", "autoscaling", "v2", "HorizontalPodAutoscaler") => hpa_v1_to_v2(obj),
        _ => obj,
    }
}

/// Whether objects of `info` may be stored in another version.
pub fn shares_storage(info: &ResourceInfo) -> bool {
    matches!(
        (info.group, info.plural),
        ("", "events") | ("events.k8s.io", "events") | ("autoscaling", "horizontalpodautoscalers")
    )
}

/// Pairs of (core/v1 field, events.k8s.io/v1 field) that only change name.
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn rename(
    mut obj: Value,
    pairs: impl Iterator<Item = (&'static str, &'static str)>,
    api_version: &str,
) -> Value {
    if let Some(m) = obj.as_object_mut() {
        for (from, to) in pairs {
            if let Some(v) = m.remove(from) {
                m.insert(to.to_string(), v);
            }
        }
        m.insert("apiVersion".into(), json!(api_version));
    }
    obj
}

fn core_event_to_events_v1(obj: Value) -> Value {
    let mut out = rename(obj, EVENT_RENAMES.iter().copied(), "events.k8s.io/v1");
    // core/v1's empty strings and zero counts are "unset" in events.k8s.io/v1.
    if let Some(m) = out.as_object_mut() {
        for k in ["reportingController", "reportingInstance", "action", "note"] {
            if m.get(k).and_then(Value::as_str) == Some("") {
                m.remove(k);
            }
        }
        if m.get("deprecatedCount").and_then(Value::as_i64) == Some(0) {
            m.remove("deprecatedCount");
        }
    }
    out
}

fn events_v1_to_core_event(obj: Value) -> Value {
    rename(obj, EVENT_RENAMES.iter().map(|(a, b)| (*b, *a)), "v1")
}

const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Fields autoscaling/v1 and v2 share unchanged.
const HPA_SPEC_FIELDS: &[&str] = &["scaleTargetRef", "minReplicas", "maxReplicas"];
const HPA_STATUS_FIELDS: &[&str] = &[
    "observedGeneration",
    "lastScaleTime",
    "currentReplicas",
    "desiredReplicas",
];

/// The members of `v` named in `keys`.
fn pick(v: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| Some((k.to_string(), v.get(*k)?.clone())))
        .collect()
}

fn is_cpu_utilization(m: &Value, target: &str) -> bool {
    m["type"] == "Resource"
        && m["resource"]["name"] == "cpu"
        && m["resource"][target]["averageUtilization"].is_number()
        && (target == "current" || m["resource"][target]["type"] == "Utilization")
}

fn set_annotation(obj: &mut Value, key: &str, value: String) {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

fn drop_empty_annotations(obj: &mut Value) {
    if obj["metadata"]["annotations"]
        .as_object()
        .is_some_and(Map::is_empty)
    {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("annotations");
        }
    }
}

/// autoscaling/v2 -> v1: the CPU utilization target becomes
/// `targetCPUUtilizationPercentage`; everything v1 cannot say travels in
/// annotations, as upstream.
fn hpa_v2_to_v1(mut obj: Value) -> Value {
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let status = obj.get("status").cloned();
    let metrics = spec["metrics"].as_array().cloned().unwrap_or_default();
    let mut v1spec = pick(&spec, HPA_SPEC_FIELDS);
    let (cpu, other): (Vec<Value>, Vec<Value>) = metrics
        .into_iter()
        .partition(|m| is_cpu_utilization(m, "target"));
    if let Some(c) = cpu.first() {
        v1spec.insert(
            "targetCPUUtilizationPercentage".into(),
            c["resource"]["target"]["averageUtilization"].clone(),
        );
    }
    let mut notes: Vec<(&str, Value)> = Vec::new();
    if !other.is_empty() {
        notes.push((METRICS_ANNOTATION, Value::Array(other)));
    }
    if let Some(b) = spec.get("behavior") {
        notes.push((BEHAVIOR_ANNOTATION, b.clone()));
    }
    let mut v1status = None;
    if let Some(st) = status {
        let mut s = pick(&st, HPA_STATUS_FIELDS);
        let current = st["currentMetrics"].as_array().cloned().unwrap_or_default();
        let (cpu, other): (Vec<Value>, Vec<Value>) = current
            .into_iter()
            .partition(|m| is_cpu_utilization(m, "current"));
        if let Some(c) = cpu.first() {
            s.insert(
                "currentCPUUtilizationPercentage".into(),
                c["resource"]["current"]["averageUtilization"].clone(),
            );
        }
        if !other.is_empty() {
            notes.push((CURRENT_METRICS_ANNOTATION, Value::Array(other)));
        }
        if let Some(c) = st
            .get("conditions")
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
        {
            notes.push((CONDITIONS_ANNOTATION, c.clone()));
        }
        s.entry("desiredReplicas").or_insert(json!(0));
        v1status = Some(Value::Object(s));
    }
    for (k, v) in notes {
        set_annotation(&mut obj, k, v.to_string());
    }
    obj["spec"] = Value::Object(v1spec);
    match v1status {
        Some(s) => obj["status"] = s,
        None => {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
    }
    obj["apiVersion"] = json!("autoscaling/v1");
    obj
}

fn take_annotation(obj: &mut Value, key: &str) -> Option<Value> {
    let v = obj["metadata"]["annotations"]
        .as_object_mut()
        .and_then(|a| a.remove(key))?;
    serde_json::from_str(v.as_str()?).ok()
}

/// autoscaling/v1 -> v2: the inverse of [`hpa_v2_to_v1`]; without a CPU
/// target or other metrics, v2's default (80% CPU) shows, as upstream's
/// storage round trip gives.
fn hpa_v1_to_v2(mut obj: Value) -> Value {
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let mut v2spec = pick(&spec, HPA_SPEC_FIELDS);
    let mut metrics = Vec::new();
    if let Some(t) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|t| t.is_number())
    {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": t}}}));
    }
    if let Some(Value::Array(more)) = take_annotation(&mut obj, METRICS_ANNOTATION) {
        metrics.extend(more);
    }
    if metrics.is_empty() {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}));
    }
    v2spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = take_annotation(&mut obj, BEHAVIOR_ANNOTATION) {
        v2spec.insert("behavior".into(), b);
    }
    let current_more = take_annotation(&mut obj, CURRENT_METRICS_ANNOTATION);
    let conditions = take_annotation(&mut obj, CONDITIONS_ANNOTATION);
    if let Some(st) = obj.get("status").cloned() {
        let mut s = pick(&st, HPA_STATUS_FIELDS);
        let mut current = Vec::new();
        if let Some(u) = st
            .get("currentCPUUtilizationPercentage")
            .filter(|u| u.is_number())
        {
            current.push(json!({"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": u}}}));
        }
        if let Some(Value::Array(more)) = current_more {
            current.extend(more);
        }
        if !current.is_empty() {
            s.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(c) = conditions {
            s.insert("conditions".into(), c);
        }
        obj["status"] = Value::Object(s);
    }
    drop_empty_annotations(&mut obj);
    obj["spec"] = Value::Object(v2spec);
    obj["apiVersion"] = json!("autoscaling/v2");
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::lookup;

    #[test]
    fn events_convert_both_ways() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web"},
            "reason": "Started", "message": "Started container", "type": "Normal",
            "source": {"component": "kubelet"}, "count": 2,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:05Z",
            "reportingComponent": "kubelet", "reportingInstance": "node-1",
        });
        let events = lookup("events.k8s.io", "v1", "events").expect("events");
        let v1 = to_served(events, core.clone());
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["regarding"]["name"], "web");
        assert_eq!(v1["note"], "Started container");
        assert_eq!(v1["deprecatedCount"], 2);
        assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
        assert_eq!(v1["reportingController"], "kubelet");
        assert!(v1.get("involvedObject").is_none());
        let back = to_served(lookup("", "v1", "events").expect("core"), v1);
        assert_eq!(back, core);
        assert_eq!(storage_dir(events), "core");
    }

    #[test]
    fn hpas_convert_both_ways() {
        let v2 = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "default"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
                     ]},
            "status": {"currentReplicas": 2, "desiredReplicas": 3,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}]},
        });
        let v1info = lookup("autoscaling", "v1", "horizontalpodautoscalers").expect("v1");
        let v2info = lookup("autoscaling", "v2", "horizontalpodautoscalers").expect("v2");
        let v1 = to_served(v1info, v2.clone());
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 40);
        assert!(v1["metadata"]["annotations"][METRICS_ANNOTATION]
            .as_str()
            .is_some_and(|s| s.contains("memory")));
        let back = to_served(v2info, v1);
        assert_eq!(back, v2);

        let bare = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"}, "spec": {"maxReplicas": 3, "minReplicas": 1}});
        let as_v2 = to_served(v2info, bare);
        assert_eq!(
            as_v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
    }
}
