//! core/v1 kinds (and events.k8s.io/v1 Events, which share the core printer).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::format::{
    age, arr, between, containers, format_labels, human_duration, i, len, name, opt_b, opt_i,
    opt_s, parse_time, quantity, s, translate_timestamp_since,
};
use super::{Column, Printer, Row};

pub(super) fn printer(kind: &str) -> Option<Printer> {
    Some(match kind {
        "Pod" => Printer {
            columns: pod_columns(),
            row: pod_row,
        },
        "PodTemplate" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Containers", "Names of each container in the template."),
                Column::string("Images", "Images referenced by each container in the template."),
                Column::string("Pod Labels", "The labels for the pod template."),
            ],
            row: |o, _| {
                let (names, images) = containers(o.pointer("/template/spec"));
                Row::new(vec![
                    json!(name(o)),
                    json!(names),
                    json!(images),
                    json!(format_labels(o.pointer("/template/metadata/labels"))),
                ])
            },
        },
        "ReplicationController" => Printer {
            columns: vec![
                Column::name(),
                Column::integer("Desired", docs::RC_SPEC_REPLICAS),
                Column::integer("Current", docs::RC_STATUS_REPLICAS),
                Column::integer("Ready", docs::RC_READY),
                Column::age(),
                Column::containers(),
                Column::images(),
                Column::string("Selector", docs::RC_SELECTOR).wide(),
            ],
            row: |o, now| {
                let (names, images) = containers(o.pointer("/spec/template/spec"));
                Row::new(vec![
                    json!(name(o)),
                    json!(opt_i(o, "/spec/replicas").unwrap_or(1)),
                    json!(i(o, "/status/replicas")),
                    json!(i(o, "/status/readyReplicas")),
                    json!(age(o, now)),
                    json!(names),
                    json!(images),
                    json!(format_labels(o.pointer("/spec/selector"))),
                ])
            },
        },
        "Service" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Type", docs::SVC_TYPE),
                Column::string("Cluster-IP", docs::SVC_CLUSTER_IP),
                Column::string("External-IP", docs::SVC_EXTERNAL_IPS),
                Column::string("Port(s)", docs::SVC_PORTS),
                Column::age(),
                Column::string("Selector", docs::SVC_SELECTOR).wide(),
            ],
            row: service_row,
        },
        "Endpoints" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Endpoints", docs::ENDPOINTS_SUBSETS),
                Column::age(),
            ],
            row: |o, now| Row::new(vec![json!(name(o)), json!(format_endpoints(o)), json!(age(o, now))]),
        },
        "Node" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Status", "The status of the node"),
                Column::string("Roles", "The roles of the node"),
                Column::age(),
                Column::string("Version", docs::NODE_KUBELET_VERSION),
                Column::string("Internal-IP", docs::NODE_ADDRESSES).wide(),
                Column::string("External-IP", docs::NODE_ADDRESSES).wide(),
                Column::string("OS-Image", docs::NODE_OS_IMAGE).wide(),
                Column::string("Kernel-Version", docs::NODE_KERNEL).wide(),
                Column::string("Container-Runtime", docs::NODE_RUNTIME).wide(),
            ],
            row: node_row,
        },
        "Event" => Printer {
            columns: event_columns(),
            row: |o, now| event_row(&core_event(o), now),
        },
        "Namespace" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Status", "The status of the namespace"),
                Column::age(),
            ],
            row: |o, now| Row::new(vec![json!(name(o)), json!(s(o, "/status/phase")), json!(age(o, now))]),
        },
        "Secret" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Type", docs::SECRET_TYPE),
                Column::string("Data", docs::SECRET_DATA),
                Column::age(),
            ],
            row: |o, now| {
                Row::new(vec![
                    json!(name(o)),
                    json!(s(o, "/type")),
                    json!(len(o, "/data")),
                    json!(age(o, now)),
                ])
            },
        },
        "ServiceAccount" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Secrets", docs::SA_SECRETS),
                Column::age(),
            ],
            row: |o, now| Row::new(vec![json!(name(o)), json!(len(o, "/secrets")), json!(age(o, now))]),
        },
        "PersistentVolume" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Capacity", docs::PV_CAPACITY),
                Column::string("Access Modes", docs::PV_ACCESS_MODES),
                Column::string("Reclaim Policy", docs::PV_RECLAIM),
                Column::string("Status", docs::PV_PHASE),
                Column::string("Claim", docs::PV_CLAIM),
                Column::string("StorageClass", "StorageClass of the pv"),
                Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
                Column::string("Reason", docs::PV_REASON),
                Column::age(),
                Column::string("VolumeMode", docs::PV_VOLUME_MODE).wide(),
            ],
            row: pv_row,
        },
        "PersistentVolumeClaim" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Status", docs::PVC_PHASE),
                Column::string("Volume", docs::PVC_VOLUME),
                Column::string("Capacity", docs::PVC_CAPACITY),
                Column::string("Access Modes", docs::PVC_ACCESS_MODES),
                Column::string("StorageClass", "StorageClass of the pvc"),
                Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
                Column::age(),
                Column::string("VolumeMode", docs::PVC_VOLUME_MODE).wide(),
            ],
            row: pvc_row,
        },
        "ConfigMap" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Data", docs::CONFIGMAP_DATA),
                Column::age(),
            ],
            row: |o, now| {
                Row::new(vec![
                    json!(name(o)),
                    json!(len(o, "/data") + len(o, "/binaryData")),
                    json!(age(o, now)),
                ])
            },
        },
        "ResourceQuota" => Printer {
            columns: vec![
                Column::name(),
                Column::string(
                    "Request",
                    "Request represents a minimum amount of cpu/memory that a container may consume.",
                ),
                Column::string(
                    "Limit",
                    "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
                ),
                Column::age(),
            ],
            row: resource_quota_row,
        },
        "ComponentStatus" => Printer {
            columns: vec![
                Column::name(),
                Column::string("Status", "Status of the component conditions"),
                Column::string("Message", "Message of the component conditions"),
                Column::string("Error", "Error of the component conditions"),
            ],
            row: component_status_row,
        },
        _ => return None,
    })
}

/// events.k8s.io/v1 Events print as core Events (same storage upstream).
pub(super) fn events_v1_printer(kind: &str) -> Option<Printer> {
    (kind == "Event").then(|| Printer {
        columns: event_columns(),
        row: |o, now| event_row(&events_v1_event(o), now),
    })
}

// ---- pods ----

fn pod_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::string("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        Column::string("Status", "The aggregate status of the containers in this pod."),
        Column::string(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        Column::age(),
        Column::string("IP", docs::POD_IP).wide(),
        Column::string("Node", docs::POD_NODE_NAME).wide(),
        Column::string("Nominated Node", docs::POD_NOMINATED_NODE).wide(),
        Column::string("Readiness Gates", docs::POD_READINESS_GATES).wide(),
    ]
}

fn is_restartable_init(c: Option<&Value>) -> bool {
    c.is_some_and(|c| s(c, "/restartPolicy") == "Always")
}

fn has_condition(o: &Value, type_: &str) -> Option<bool> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .map(|c| s(c, "/status") == "True")
}

/// Keeps the later of the current date and a container's last termination.
fn later(current: Option<Timestamp>, container: &Value) -> Option<Timestamp> {
    let finished = container
        .pointer("/lastState/terminated")
        .map(|t| parse_time(t.get("finishedAt")));
    match (current, finished) {
        (_, None) => current,
        (None, Some(f)) => f,
        (Some(c), Some(Some(f))) if c < f => Some(f),
        (c, Some(_)) => c,
    }
}

/// upstream `printPod`: READY `ready/total`, STATUS with the same reason
/// logic (`Init:0/1`, `CrashLoopBackOff`, `Completed`, `Terminating`, ...),
/// RESTARTS `n (age ago)`.
pub(super) fn pod_row(o: &Value, now: Timestamp) -> Row {
    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let mut total = arr(o, "/spec/containers").len();
    let mut ready = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = s(o, "/status/phase");
    let mut reason = opt_s(o, "/status/reason").unwrap_or(phase).to_string();
    for c in arr(o, "/status/conditions") {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }
    let conditions = match phase {
        "Succeeded" => vec![
            json!({"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}),
        ],
        "Failed" => vec![
            json!({"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}),
        ],
        _ => Vec::new(),
    };

    let init_specs = arr(o, "/spec/initContainers");
    let init_spec = |n: &str| init_specs.iter().find(|c| s(c, "/name") == n);
    total += init_specs
        .iter()
        .filter(|c| is_restartable_init(Some(c)))
        .count();

    let mut initializing = false;
    for (idx, c) in arr(o, "/status/initContainerStatuses").iter().enumerate() {
        let count = i(c, "/restartCount");
        restarts += count;
        last_restart = later(last_restart, c);
        let restartable = is_restartable_init(init_spec(s(c, "/name")));
        if restartable {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, c);
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = opt_s(c, "/state/waiting/reason");
        if terminated.is_some_and(|t| i(t, "/exitCode") == 0) {
            continue;
        } else if restartable && opt_b(c, "/started") == Some(true) {
            if opt_b(c, "/ready") == Some(true) {
                ready += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            reason = match opt_s(t, "/reason") {
                Some(r) => format!("Init:{r}"),
                None if i(t, "/signal") != 0 => format!("Init:Signal:{}", i(t, "/signal")),
                None => format!("Init:ExitCode:{}", i(t, "/exitCode")),
            };
        } else if let Some(w) = waiting_reason.filter(|r| *r != "PodInitializing") {
            reason = format!("Init:{w}");
        } else {
            reason = format!("Init:{idx}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(o, "Initialized") == Some(true) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr(o, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount");
            last_restart = later(last_restart, c);
            let terminated = c.pointer("/state/terminated");
            if let Some(w) = opt_s(c, "/state/waiting/reason") {
                reason = w.to_string();
            } else if let Some(r) = terminated.and_then(|t| opt_s(t, "/reason")) {
                reason = r.to_string();
            } else if let Some(t) = terminated {
                reason = if i(t, "/signal") != 0 {
                    format!("Signal:{}", i(t, "/signal"))
                } else {
                    format!("ExitCode:{}", i(t, "/exitCode"))
                };
            } else if opt_b(c, "/ready") == Some(true) && c.pointer("/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_condition(o, "Ready") == Some(true) {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let deleting = o
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    if deleting && s(o, "/status/reason") == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(between(t, now))),
        _ => restarts.to_string(),
    };

    let pod_ip = opt_s(o, "/status/podIPs/0/ip")
        .or_else(|| opt_s(o, "/status/podIP"))
        .unwrap_or("<none>");
    let gates = arr(o, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| has_condition(o, s(g, "/conditionType")) == Some(true))
            .count();
        format!("{true_count}/{}", gates.len())
    };

    Row {
        cells: vec![
            json!(name(o)),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_cell),
            json!(age(o, now)),
            json!(pod_ip),
            json!(opt_s(o, "/spec/nodeName").unwrap_or("<none>")),
            json!(opt_s(o, "/status/nominatedNodeName").unwrap_or("<none>")),
            json!(readiness_gates),
        ],
        conditions,
    }
}

// ---- services, endpoints ----

fn lb_ingress(o: &Value) -> Vec<String> {
    let set: BTreeSet<String> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|ing| opt_s(ing, "/ip").or_else(|| opt_s(ing, "/hostname")))
        .map(str::to_string)
        .collect();
    set.into_iter().collect()
}

fn service_external_ip(o: &Value) -> String {
    let external: Vec<&str> = arr(o, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match opt_s(o, "/spec/type").unwrap_or("ClusterIP") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let mut all = lb_ingress(o);
            if !external.is_empty() {
                all.extend(external.iter().map(|s| s.to_string()));
                return all.join(",");
            }
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(o, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service_row(o: &Value, now: Timestamp) -> Row {
    let cluster_ip = opt_s(o, "/spec/clusterIPs/0")
        .or_else(|| opt_s(o, "/spec/clusterIP"))
        .unwrap_or("<none>");
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = opt_s(p, "/protocol").unwrap_or("TCP");
            let port = i(p, "/port");
            match opt_i(p, "/nodePort").filter(|n| *n > 0) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    Row::new(vec![
        json!(name(o)),
        json!(opt_s(o, "/spec/type").unwrap_or("ClusterIP")),
        json!(cluster_ip),
        json!(service_external_ip(o)),
        json!(ports),
        json!(age(o, now)),
        json!(format_labels(o.pointer("/spec/selector"))),
    ])
}

/// upstream `formatEndpoints` with all ports: up to 3 `ip:port`, then
/// `+ N more...`.
fn format_endpoints(o: &Value) -> String {
    let subsets = arr(o, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addrs = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            count += addrs.len();
            for a in addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(s(a, "/ip").to_string());
            }
            continue;
        }
        for p in ports {
            count += addrs.len();
            for a in addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(s(a, "/ip"), i(p, "/port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count - MAX);
    }
    ret
}

/// Go's `net.JoinHostPort`: brackets around IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// ---- nodes ----

fn node_row(o: &Value, now: Timestamp) -> Row {
    let mut status: Vec<String> = Vec::new();
    // the last condition of a type wins, as upstream's map does
    if let Some(c) = arr(o, "/status/conditions")
        .iter()
        .rev()
        .find(|c| s(c, "/type") == "Ready")
    {
        status.push(if s(c, "/status") == "True" {
            "Ready".to_string()
        } else {
            "NotReady".to_string()
        });
    }
    if status.is_empty() {
        status.push("Unknown".to_string());
    }
    if opt_b(o, "/spec/unschedulable") == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    let mut roles = BTreeSet::new();
    if let Some(labels) = o.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role" {
                if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                    roles.insert(v.to_string());
                }
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let address = |t: &str| {
        arr(o, "/status/addresses")
            .iter()
            .find(|a| s(a, "/type") == t)
            .map(|a| s(a, "/address").to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    let info = |f: &str| {
        opt_s(o, &format!("/status/nodeInfo/{f}"))
            .unwrap_or("<unknown>")
            .to_string()
    };
    Row::new(vec![
        json!(name(o)),
        json!(status.join(",")),
        json!(roles),
        json!(age(o, now)),
        json!(s(o, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ])
}

// ---- events ----

fn event_columns() -> Vec<Column> {
    vec![
        Column::string("Last Seen", docs::EVENT_LAST),
        Column::string("Type", docs::EVENT_TYPE),
        Column::string("Reason", docs::EVENT_REASON),
        Column::string("Object", docs::EVENT_OBJECT),
        Column::string("Subobject", docs::EVENT_FIELD_PATH).wide(),
        Column::string("Source", docs::EVENT_SOURCE).wide(),
        Column::string("Message", docs::EVENT_MESSAGE),
        Column::string("First Seen", docs::EVENT_FIRST).wide(),
        Column::string("Count", docs::EVENT_COUNT).wide(),
        Column::name().wide(),
    ]
}

/// The fields of the internal Event the printer reads, from either API.
struct EventView<'a> {
    name: &'a str,
    first_timestamp: Option<&'a Value>,
    last_timestamp: Option<&'a Value>,
    event_time: Option<&'a Value>,
    count: i64,
    series: Option<&'a Value>,
    kind: &'a str,
    object_name: &'a str,
    field_path: &'a str,
    type_: &'a str,
    reason: &'a str,
    message: &'a str,
    source_component: &'a str,
    source_host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
}

fn core_event(o: &Value) -> EventView<'_> {
    EventView {
        name: name(o),
        first_timestamp: o.get("firstTimestamp"),
        last_timestamp: o.get("lastTimestamp"),
        event_time: o.get("eventTime"),
        count: i(o, "/count"),
        series: o.get("series").filter(|v| v.is_object()),
        kind: s(o, "/involvedObject/kind"),
        object_name: s(o, "/involvedObject/name"),
        field_path: s(o, "/involvedObject/fieldPath"),
        type_: s(o, "/type"),
        reason: s(o, "/reason"),
        message: s(o, "/message"),
        source_component: s(o, "/source/component"),
        source_host: s(o, "/source/host"),
        reporting_controller: s(o, "/reportingComponent"),
        reporting_instance: s(o, "/reportingInstance"),
    }
}

fn events_v1_event(o: &Value) -> EventView<'_> {
    EventView {
        name: name(o),
        first_timestamp: o.get("deprecatedFirstTimestamp"),
        last_timestamp: o.get("deprecatedLastTimestamp"),
        event_time: o.get("eventTime"),
        count: i(o, "/deprecatedCount"),
        series: o.get("series").filter(|v| v.is_object()),
        kind: s(o, "/regarding/kind"),
        object_name: s(o, "/regarding/name"),
        field_path: s(o, "/regarding/fieldPath"),
        type_: s(o, "/type"),
        reason: s(o, "/reason"),
        message: s(o, "/note"),
        source_component: s(o, "/deprecatedSource/component"),
        source_host: s(o, "/deprecatedSource/host"),
        reporting_controller: s(o, "/reportingController"),
        reporting_instance: s(o, "/reportingInstance"),
    }
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

fn event_row(e: &EventView<'_>, now: Timestamp) -> Row {
    let first = if parse_time(e.first_timestamp).is_some() {
        translate_timestamp_since(e.first_timestamp, now)
    } else {
        translate_timestamp_since(e.event_time, now)
    };
    let mut last = if parse_time(e.last_timestamp).is_some() {
        translate_timestamp_since(e.last_timestamp, now)
    } else {
        first.clone()
    };
    let mut count = e.count;
    if let Some(series) = e.series {
        last = translate_timestamp_since(series.get("lastObservedTime"), now);
        count = i(series, "/count");
    } else if count == 0 {
        count = 1;
    }
    let target = if e.object_name.is_empty() {
        e.kind.to_lowercase()
    } else {
        format!("{}/{}", e.kind.to_lowercase(), e.object_name)
    };
    let component = first_non_empty(e.source_component, e.reporting_controller);
    let instance = first_non_empty(e.source_host, e.reporting_instance);
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    Row::new(vec![
        json!(last),
        json!(e.type_),
        json!(e.reason),
        json!(target),
        json!(e.field_path),
        json!(source),
        json!(e.message.trim()),
        json!(first),
        json!(count),
        json!(e.name),
    ])
}

// ---- volumes ----

/// upstream `GetAccessModesAsString`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io~1storage-class";

fn storage_class(o: &Value) -> String {
    match o.pointer(&format!(
        "/metadata/annotations/{BETA_STORAGE_CLASS_ANNOTATION}"
    )) {
        Some(Value::String(c)) => c.clone(),
        _ => s(o, "/spec/storageClassName").to_string(),
    }
}

fn deleting(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

fn pv_row(o: &Value, now: Timestamp) -> Row {
    let claim = match o.pointer("/spec/claimRef") {
        Some(c) if c.is_object() => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
        _ => String::new(),
    };
    let phase = if deleting(o) {
        "Terminating"
    } else {
        s(o, "/status/phase")
    };
    Row::new(vec![
        json!(name(o)),
        json!(quantity(o.pointer("/spec/capacity/storage"))),
        json!(access_modes(arr(o, "/spec/accessModes"))),
        json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(o)),
        json!(opt_str_or(o, "/spec/volumeAttributesClassName", "<unset>")),
        json!(s(o, "/status/reason")),
        json!(age(o, now)),
        json!(opt_str_or(o, "/spec/volumeMode", "<unset>")),
    ])
}

/// The string at `pointer` if present (even empty), else `default`.
fn opt_str_or<'a>(o: &'a Value, pointer: &str, default: &'a str) -> &'a str {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or(default)
}

fn pvc_row(o: &Value, now: Timestamp) -> Row {
    let phase = if deleting(o) {
        "Terminating"
    } else {
        s(o, "/status/phase")
    };
    let volume = s(o, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(o.pointer("/status/capacity/storage")),
            access_modes(arr(o, "/status/accessModes")),
        )
    };
    Row::new(vec![
        json!(name(o)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(o)),
        json!(opt_str_or(o, "/spec/volumeAttributesClassName", "<unset>")),
        json!(age(o, now)),
        json!(opt_str_or(o, "/spec/volumeMode", "<unset>")),
    ])
}

// ---- quotas, component statuses ----

fn resource_quota_row(o: &Value, now: Timestamp) -> Row {
    let hard: BTreeMap<&String, &Value> = o
        .pointer("/status/hard")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for (res, hard_q) in hard {
        let used = quantity(o.pointer(&format!(
            "/status/used/{}",
            res.replace('~', "~0").replace('/', "~1")
        )));
        let entry = format!("{res}: {used}/{}", quantity(Some(hard_q)));
        let pieces: Vec<&str> = res.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    Row::new(vec![
        json!(name(o)),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        json!(age(o, now)),
    ])
}

fn component_status_row(o: &Value, _now: Timestamp) -> Row {
    let mut status = "Unknown";
    let mut message = "";
    let mut error = "";
    if let Some(c) = arr(o, "/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Healthy")
    {
        status = if s(c, "/status") == "True" {
            "Healthy"
        } else {
            "Unhealthy"
        };
        message = s(c, "/message");
        error = s(c, "/error");
    }
    Row::new(vec![
        json!(name(o)),
        json!(status),
        json!(message),
        json!(error),
    ])
}
