//! Pods and PodTemplates (`pkg/registry/core/pod/strategy.go`), with the
//! create-time work of the default admission plugins (ServiceAccount,
//! DefaultTolerationSeconds, Priority).

use super::json::{self, arr_at, str_at};
use super::meta::{validate_object_meta, validate_object_meta_update};
use super::{names, podspec, quantity, FieldError, Strategy};
use serde_json::{json, Map, Value};

pub struct Pod;
pub static POD: Pod = Pod;

/// Where the ServiceAccount admission plugin mounts the API token.
const SA_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The characters of `utilrand.String` suffixes.
const RAND_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A random suffix as `utilrand.String(n)` makes.
pub fn random_suffix(n: usize) -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    (0..n)
        .map(|i| RAND_ALPHABET[bytes[i % 16] as usize % RAND_ALPHABET.len()] as char)
        .collect()
}

impl Strategy for Pod {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = json::obj(obj, "spec") {
            podspec::default_spec(spec);
            podspec::default_pod_only(spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(spec) = json::obj(obj, "spec") {
            admit_service_account(spec);
            admit_default_tolerations(spec);
            admit_priority(spec);
        }
        let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
        let mut status = json!({"phase": "Pending", "qosClass": qos});
        if !arr_at(obj, &["spec", "schedulingGates"]).is_empty() {
            status["conditions"] = json!([{
                "type": "PodScheduled",
                "status": "False",
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
                "lastProbeTime": null,
                "lastTransitionTime": null,
            }]);
        }
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(podspec::validate_spec(
            obj.get("spec").unwrap_or(&json!({})),
            "spec",
        ));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(podspec::validate_spec(
            new.get("spec").unwrap_or(&json!({})),
            "spec",
        ));
        errs.extend(validate_spec_update(
            new.get("spec").unwrap_or(&Value::Null),
            old.get("spec").unwrap_or(&Value::Null),
        ));
        errs
    }

    fn generation_tracked(&self) -> bool {
        true
    }

    fn namespaced(&self) -> bool {
        true
    }
}

/// ServiceAccount admission: `default` account and its token volume.
fn admit_service_account(spec: &mut Value) {
    json::default_str(spec, "serviceAccountName", "default");
    podspec::mirror_service_account(spec);
    if spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        == Some(false)
    {
        return;
    }
    let mounted = ["containers", "initContainers"].iter().any(|l| {
        arr_at(spec, &[l]).iter().any(|c| {
            arr_at(c, &["volumeMounts"])
                .iter()
                .any(|m| str_at(m, &["mountPath"]) == SA_MOUNT_PATH)
        })
    });
    if mounted {
        return;
    }
    let name = format!("kube-api-access-{}", random_suffix(5));
    let volume = json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
            ]
        }
    });
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    match m.entry("volumes").or_insert_with(|| json!([])) {
        Value::Array(a) => a.push(volume),
        other => *other = json!([volume]),
    }
    let mount = json!({"name": name, "mountPath": SA_MOUNT_PATH, "readOnly": true});
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(ctrs)) = m.get_mut(list) {
            for c in ctrs.iter_mut() {
                if let Some(cm) = c.as_object_mut() {
                    match cm.entry("volumeMounts").or_insert_with(|| json!([])) {
                        Value::Array(a) => a.push(mount.clone()),
                        other => *other = json!([mount.clone()]),
                    }
                }
            }
        }
    }
}

/// DefaultTolerationSeconds admission: tolerate not-ready and unreachable
/// nodes for 300 s unless the pod already tolerates them.
fn admit_default_tolerations(spec: &mut Value) {
    let tolerates = |tols: &[Value], key: &str| {
        tols.iter().any(|t| {
            let op = str_at(t, &["operator"]);
            let k = str_at(t, &["key"]);
            let effect = str_at(t, &["effect"]);
            (effect.is_empty() || effect == "NoExecute")
                && (k == key || (k.is_empty() && op == "Exists"))
        })
    };
    let mut add = Vec::new();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(arr_at(spec, &["tolerations"]), key) {
            add.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if add.is_empty() {
        return;
    }
    if let Some(m) = spec.as_object_mut() {
        match m.entry("tolerations").or_insert_with(|| json!([])) {
            Value::Array(a) => a.extend(add),
            other => *other = Value::Array(add),
        }
    }
}

/// Priority admission without PriorityClasses: priority 0 and the default
/// preemption policy.
fn admit_priority(spec: &mut Value) {
    if str_at(spec, &["priorityClassName"]).is_empty() {
        json::default(spec, "priority", json!(0));
    }
    json::default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
}

/// The QoS class (`qos.GetPodQOS`) from cpu and memory requests and limits.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    let mut guaranteed = true;
    let sum = |acc: &mut Map<String, Value>, k: &str, q: f64| {
        let cur = acc.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        acc.insert(k.to_string(), json!(cur + q));
    };
    for list in ["containers", "initContainers"] {
        for c in arr_at(spec, &[list]) {
            for (k, v) in json::at(c, &["resources", "requests"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if (k == "cpu" || k == "memory") && quantity::from_json(v).is_some_and(|q| q > 0.0)
                {
                    sum(&mut requests, k, quantity::from_json(v).unwrap_or(0.0));
                }
            }
            let mut found = 0;
            for (k, v) in json::at(c, &["resources", "limits"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if (k == "cpu" || k == "memory") && quantity::from_json(v).is_some_and(|q| q > 0.0)
                {
                    found += 1;
                    sum(&mut limits, k, quantity::from_json(v).unwrap_or(0.0));
                }
            }
            if found < 2 {
                guaranteed = false;
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    {
        return "Guaranteed";
    }
    "Burstable"
}

const POD_UPDATE_MSG: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodUpdate`'s spec rule: only images, activeDeadlineSeconds,
/// added tolerations, removed scheduling gates and a negative grace period
/// set to 1 may change.
fn validate_spec_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut munged = new.clone();
    for list in ["containers", "initContainers"] {
        let old_list = arr_at(old, &[list]);
        if let Some(ctrs) = json::arr_mut(&mut munged, list) {
            if ctrs.len() == old_list.len() {
                for (c, o) in ctrs.iter_mut().zip(old_list) {
                    if let (Some(m), Some(img)) = (c.as_object_mut(), o.get("image")) {
                        m.insert("image".into(), img.clone());
                    }
                }
            }
        }
    }
    let old_tols = arr_at(old, &["tolerations"]);
    let new_tols = arr_at(new, &["tolerations"]);
    let only_added = old_tols.iter().all(|t| {
        new_tols.iter().any(|n| {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("tolerationSeconds");
                }
                v
            };
            strip(n) == strip(t)
        })
    });
    if !only_added {
        errs.push(FieldError::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let old_grace = json::int_at(old, &["terminationGracePeriodSeconds"]);
    let new_grace = json::int_at(new, &["terminationGracePeriodSeconds"]);
    if let Some(m) = munged.as_object_mut() {
        let mut copy = |k: &str| match old.get(k) {
            Some(v) => {
                m.insert(k.to_string(), v.clone());
            }
            None => {
                m.remove(k);
            }
        };
        copy("activeDeadlineSeconds");
        copy("tolerations");
        if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
            copy("terminationGracePeriodSeconds");
        }
        let gates_removed = arr_at(new, &["schedulingGates"])
            .iter()
            .all(|g| arr_at(old, &["schedulingGates"]).contains(g));
        if gates_removed {
            copy("schedulingGates");
        }
    }
    if munged != *old {
        errs.push(FieldError::forbidden(
            "spec",
            format!("{POD_UPDATE_MSG}\n{}", spec_diff(old, &munged)),
        ));
    }
    errs
}

/// A short `-`/`+` listing of the top-level spec fields that differ.
fn spec_diff(old: &Value, new: &Value) -> String {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        if o.get(k) != n.get(k) {
            if let Some(v) = o.get(k) {
                out.push_str(&format!("- \t{k}: {v},\n"));
            }
            if let Some(v) = n.get(k) {
                out.push_str(&format!("+ \t{k}: {v},\n"));
            }
        }
    }
    out.push_str("  }\n");
    out
}

/// PodTemplate objects: a template and its defaults.
pub struct PodTemplate;
pub static POD_TEMPLATE: PodTemplate = PodTemplate;

impl Strategy for PodTemplate {
    fn default(&self, obj: &mut Value) {
        if let Some(t) = json::obj(obj, "template") {
            podspec::default_template(t);
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, true, names::name_is_dns_subdomain);
        errs.extend(podspec::validate_template(obj.get("template"), "template"));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(podspec::validate_template(new.get("template"), "template"));
        errs
    }
    fn generation_tracked(&self) -> bool {
        true
    }
    fn namespaced(&self) -> bool {
        true
    }
}
