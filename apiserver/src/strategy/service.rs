//! Services (`pkg/registry/core/service`): defaults, cluster IP and node
//! port allocation, validation.
//!
//! Cluster IPs come from 10.96.0.0/12 and node ports from 30000-32767,
//! picked at random; uniqueness across services is not checked yet.

use super::json::{self, arr_at, child, index, str_at};
use super::meta::{validate_object_meta, validate_object_meta_update};
use super::{gofmt, names, podspec, FieldError, Strategy};
use serde_json::{json, Value};
use std::net::IpAddr;

pub struct Service;
pub static SERVICE: Service = Service;

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const KUBELET_PORT: i64 = 10250;

fn random_u32() -> u32 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A random address in 10.96.0.0/12, avoiding the network address and
/// 10.96.0.1 (the `kubernetes` service) and 10.96.0.10 (DNS by convention).
pub fn random_cluster_ip() -> String {
    loop {
        let host = random_u32() & 0x000f_ffff;
        if host <= 1 || host == 10 || host == 0x000f_ffff {
            continue;
        }
        let ip = 0x0a60_0000u32 | host;
        return std::net::Ipv4Addr::from(ip).to_string();
    }
}

fn random_node_port(taken: &[i64]) -> i64 {
    loop {
        let p = 30000 + i64::from(random_u32() % 2768);
        if !taken.contains(&p) {
            return p;
        }
    }
}

fn svc_type(obj: &Value) -> &str {
    match str_at(obj, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    }
}

fn needs_cluster_ip(obj: &Value) -> bool {
    svc_type(obj) != "ExternalName"
}

fn needs_node_port(obj: &Value) -> bool {
    match svc_type(obj) {
        "NodePort" => true,
        "LoadBalancer" => {
            json::at(obj, &["spec", "allocateLoadBalancerNodePorts"]).and_then(Value::as_bool)
                != Some(false)
        }
        _ => false,
    }
}

fn needs_hc_node_port(obj: &Value) -> bool {
    svc_type(obj) == "LoadBalancer" && str_at(obj, &["spec", "externalTrafficPolicy"]) == "Local"
}

fn is_headless(obj: &Value) -> bool {
    arr_at(obj, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        == Some("None")
        || str_at(obj, &["spec", "clusterIP"]) == "None"
}

/// `SetDefaults_Service`.
fn default_service(obj: &mut Value) {
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    json::default_str(spec, "sessionAffinity", "None");
    if str_at(spec, &["sessionAffinity"]) == "ClientIP" {
        if let Some(c) = json::obj(spec, "sessionAffinityConfig") {
            if let Some(ip) = json::obj(c, "clientIP") {
                json::default(ip, "timeoutSeconds", json!(10800));
            }
        }
    }
    json::default_str(spec, "type", "ClusterIP");
    if let Some(ports) = json::arr_mut(spec, "ports") {
        for p in ports.iter_mut().filter(|p| p.is_object()) {
            json::default_str(p, "protocol", "TCP");
            let unset = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if unset {
                if let Some(port) = p.get("port").cloned() {
                    p["targetPort"] = port;
                }
            }
        }
    }
    let t = str_at(spec, &["type"]).to_string();
    if t == "NodePort" || t == "LoadBalancer" {
        json::default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if t != "ExternalName" {
        json::default_str(spec, "internalTrafficPolicy", "Cluster");
    }
    if t == "LoadBalancer" {
        json::default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    // clusterIP and clusterIPs mirror each other.
    let ip = str_at(spec, &["clusterIP"]).to_string();
    let first = arr_at(spec, &["clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .map(str::to_string);
    match (ip.is_empty(), first) {
        (false, None) => spec["clusterIPs"] = json!([ip]),
        (true, Some(f)) if !f.is_empty() => spec["clusterIP"] = json!(f),
        _ => {}
    }
}

/// Fill what the service registry allocates: IP families, cluster IPs,
/// node ports, the health check node port.
fn allocate(obj: &mut Value) {
    let needs_ip = needs_cluster_ip(obj);
    let needs_np = needs_node_port(obj);
    let needs_hc = needs_hc_node_port(obj);
    let headless_no_selector =
        is_headless(obj) && json::string_map(json::at(obj, &["spec", "selector"])).is_empty();
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    if needs_ip {
        let policy = if headless_no_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        json::default_str(spec, "ipFamilyPolicy", policy);
        if arr_at(spec, &["ipFamilies"]).is_empty() {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if str_at(spec, &["clusterIP"]).is_empty() {
            let ip = random_cluster_ip();
            spec["clusterIP"] = json!(ip);
        }
        if arr_at(spec, &["clusterIPs"]).is_empty() {
            let ip = spec["clusterIP"].clone();
            spec["clusterIPs"] = json!([ip]);
        }
    }
    if needs_np {
        let mut taken: Vec<i64> = arr_at(spec, &["ports"])
            .iter()
            .filter_map(|p| json::int_at(p, &["nodePort"]))
            .filter(|&n| n != 0)
            .collect();
        if let Some(ports) = json::arr_mut(spec, "ports") {
            for p in ports.iter_mut().filter(|p| p.is_object()) {
                if json::int_at(p, &["nodePort"]).unwrap_or(0) == 0 {
                    let n = random_node_port(&taken);
                    taken.push(n);
                    p["nodePort"] = json!(n);
                }
            }
        }
    }
    if needs_hc && json::int_at(spec, &["healthCheckNodePort"]).unwrap_or(0) == 0 {
        let taken: Vec<i64> = arr_at(spec, &["ports"])
            .iter()
            .filter_map(|p| json::int_at(p, &["nodePort"]))
            .collect();
        spec["healthCheckNodePort"] = json!(random_node_port(&taken));
    }
}

/// `patchAllocatedValues` and `dropTypeDependentFields` of the service REST.
fn patch_from_old(new: &mut Value, old: &Value) {
    let (old_ip, new_ip) = (needs_cluster_ip(old), needs_cluster_ip(new));
    let (old_np, new_np) = (needs_node_port(old), needs_node_port(new));
    let (old_hc, new_hc) = (needs_hc_node_port(old), needs_hc_node_port(new));
    let empty = json!({});
    let ospec = old.get("spec").unwrap_or(&empty).clone();
    let Some(spec) = json::obj(new, "spec") else {
        return;
    };
    if old_ip && new_ip {
        if str_at(spec, &["clusterIP"]).is_empty() {
            if let Some(v) = ospec.get("clusterIP") {
                spec["clusterIP"] = v.clone();
            }
        }
        if arr_at(spec, &["clusterIPs"]).is_empty() {
            if let Some(v) = ospec.get("clusterIPs") {
                spec["clusterIPs"] = v.clone();
            }
        }
        for f in ["ipFamilies", "ipFamilyPolicy"] {
            if json::unset(spec.get(f)) || spec.get(f) == Some(&json!([])) {
                if let Some(v) = ospec.get(f) {
                    spec[f] = v.clone();
                }
            }
        }
    }
    if old_ip && !new_ip && spec.get("clusterIP") == ospec.get("clusterIP") {
        if let Some(m) = spec.as_object_mut() {
            for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                m.remove(f);
            }
        }
    }
    if old_np && new_np {
        let old_ports = arr_at(&ospec, &["ports"]);
        let node_ports = |ps: &[Value]| -> Vec<i64> {
            ps.iter()
                .filter_map(|p| json::int_at(p, &["nodePort"]))
                .collect()
        };
        let new_used = node_ports(arr_at(spec, &["ports"]));
        let used: Vec<i64> = node_ports(old_ports)
            .into_iter()
            .filter(|n| new_used.contains(n))
            .collect();
        if let Some(ports) = json::arr_mut(spec, "ports") {
            for p in ports.iter_mut().filter(|p| p.is_object()) {
                if json::int_at(p, &["nodePort"]).unwrap_or(0) != 0 {
                    continue;
                }
                let name = str_at(p, &["name"]);
                let old_val = old_ports
                    .iter()
                    .find(|o| str_at(o, &["name"]) == name)
                    .and_then(|o| json::int_at(o, &["nodePort"]))
                    .unwrap_or(0);
                if old_val != 0 && !used.contains(&old_val) {
                    p["nodePort"] = json!(old_val);
                }
            }
        }
    }
    if old_np
        && !new_np
        && arr_at(spec, &["ports"])
            .iter()
            .map(|p| p.get("nodePort"))
            .eq(arr_at(&ospec, &["ports"]).iter().map(|p| p.get("nodePort")))
    {
        if let Some(ports) = json::arr_mut(spec, "ports") {
            for p in ports.iter_mut() {
                if let Some(m) = p.as_object_mut() {
                    m.remove("nodePort");
                }
            }
        }
    }
    if old_hc && new_hc && json::int_at(spec, &["healthCheckNodePort"]).unwrap_or(0) == 0 {
        if let Some(v) = ospec.get("healthCheckNodePort") {
            spec["healthCheckNodePort"] = v.clone();
        }
    }
    if old_hc && !new_hc && spec.get("healthCheckNodePort") == ospec.get("healthCheckNodePort") {
        if let Some(m) = spec.as_object_mut() {
            m.remove("healthCheckNodePort");
        }
    }
}

/// How `%#v` prints a `core.ServicePort` key of the duplicate-port check.
fn service_port_key(protocol: &str, port: i64) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        gofmt::quote(protocol)
    )
}

fn valid_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// `ValidateService`.
fn validate_service(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, true, names::name_is_dns1035_label);
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let ports = arr_at(spec, &["ports"]);
    let t = str_at(spec, &["type"]);
    let headless = is_headless(obj);
    if ports.is_empty() && !headless && t != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let cluster_ips: Vec<&str> = arr_at(spec, &["clusterIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match t {
        "LoadBalancer" => {
            if headless {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    "None",
                    "may not be set to 'None' for LoadBalancer services",
                ));
            }
            for (i, p) in ports.iter().enumerate() {
                if json::int_at(p, &["port"]) == Some(KUBELET_PORT) {
                    errs.push(FieldError::invalid(
                        &index("spec.ports", i),
                        KUBELET_PORT,
                        format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                    ));
                }
            }
        }
        "NodePort" if headless => {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                "None",
                "may not be set to 'None' for NodePort services",
            ));
        }
        "ExternalName" => {
            if !cluster_ips.is_empty() || !str_at(spec, &["clusterIP"]).is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.clusterIPs",
                    "may not be set for ExternalName services",
                ));
            }
            if !arr_at(spec, &["ipFamilies"]).is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilies",
                    "may not be set for ExternalName services",
                ));
            }
            if !json::unset(spec.get("ipFamilyPolicy")) {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = str_at(spec, &["externalName"]);
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                for msg in names::dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid("spec.externalName", cname, msg));
                }
            }
        }
        _ => {}
    }
    let mut port_names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = index("spec.ports", i);
        let name = str_at(p, &["name"]);
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(&child(&pp, "name"), ""));
        } else if !name.is_empty() {
            for msg in names::dns1123_label(name) {
                errs.push(FieldError::invalid(&child(&pp, "name"), name, msg));
            }
            if port_names.contains(&name) {
                errs.push(FieldError::duplicate(&child(&pp, "name"), name));
            } else {
                port_names.push(name);
            }
        }
        let port = json::int_at(p, &["port"]).unwrap_or(0);
        for msg in names::port_num(port) {
            errs.push(FieldError::invalid(&child(&pp, "port"), port, msg));
        }
        errs.extend(podspec::validate_protocol(p, &child(&pp, "protocol")));
        match p.get("targetPort") {
            Some(Value::Number(n)) => {
                let n = n.as_i64().unwrap_or(0);
                for msg in names::port_num(n) {
                    errs.push(FieldError::invalid(&child(&pp, "targetPort"), n, msg));
                }
            }
            Some(Value::String(s)) => {
                for msg in names::port_name(s) {
                    errs.push(FieldError::invalid(
                        &child(&pp, "targetPort"),
                        s.as_str(),
                        msg,
                    ));
                }
            }
            _ => {}
        }
        if let Some(Value::String(ap)) = p.get("appProtocol") {
            for msg in names::qualified_name(ap) {
                errs.push(FieldError::invalid(
                    &child(&pp, "appProtocol"),
                    ap.as_str(),
                    msg,
                ));
            }
        }
    }
    errs.extend(super::meta::validate_labels(
        spec.get("selector"),
        "spec.selector",
    ));
    match str_at(spec, &["sessionAffinity"]) {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        "ClientIP" => {
            if let Some(ts) = json::at(
                spec,
                &["sessionAffinityConfig", "clientIP", "timeoutSeconds"],
            )
            .and_then(Value::as_i64)
            {
                if !(1..=86400).contains(&ts) {
                    errs.push(FieldError::invalid(
                        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                        ts,
                        names::inclusive_range_error(1, 86400),
                    ));
                }
            }
        }
        "None" => {
            if !json::unset(spec.get("sessionAffinityConfig")) {
                errs.push(FieldError::forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            other,
            &["ClientIP", "None"],
        )),
    }
    if t != "ExternalName" {
        let ip = str_at(spec, &["clusterIP"]);
        if let Some(first) = cluster_ips.first() {
            if !ip.is_empty() && ip != *first {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs",
                    Value::from(cluster_ips.clone()),
                    "first value must match `clusterIP`",
                ));
            }
        }
        for (i, cip) in cluster_ips.iter().enumerate() {
            if i == 0 && *cip == "None" {
                if cluster_ips.len() > 1 {
                    errs.push(FieldError::invalid(
                        "spec.clusterIPs",
                        Value::from(cluster_ips.clone()),
                        "'None' must be the first and only value",
                    ));
                }
                continue;
            }
            if !valid_ip(cip) {
                errs.push(FieldError::invalid(
                    &index("spec.clusterIPs", i),
                    *cip,
                    IP_MSG,
                ));
            }
        }
        if cluster_ips.len() > 2 {
            errs.push(FieldError::invalid(
                "spec.clusterIPs",
                Value::from(cluster_ips.clone()),
                "may only hold up to 2 values",
            ));
        }
        if let Some(Value::String(p)) = spec.get("ipFamilyPolicy") {
            if !matches!(
                p.as_str(),
                "SingleStack" | "PreferDualStack" | "RequireDualStack"
            ) {
                errs.push(FieldError::not_supported(
                    "spec.ipFamilyPolicy",
                    p.as_str(),
                    &["PreferDualStack", "RequireDualStack", "SingleStack"],
                ));
            }
        }
        for (i, f) in arr_at(spec, &["ipFamilies"]).iter().enumerate() {
            let f = f.as_str().unwrap_or("");
            if f != "IPv4" && f != "IPv6" {
                errs.push(FieldError::not_supported(
                    &index("spec.ipFamilies", i),
                    f,
                    &["IPv4", "IPv6"],
                ));
            }
        }
    }
    for (i, ip) in arr_at(spec, &["externalIPs"]).iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        if !valid_ip(ip) {
            errs.push(FieldError::invalid(
                &index("spec.externalIPs", i),
                ip,
                IP_MSG,
            ));
        }
    }
    if t.is_empty() {
        errs.push(FieldError::required("spec.type", ""));
    } else if !SERVICE_TYPES.contains(&t) {
        errs.push(FieldError::not_supported("spec.type", t, SERVICE_TYPES));
    }
    if t == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if json::int_at(p, &["nodePort"]).unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    &child(&index("spec.ports", i), "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports: Vec<(&str, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let np = json::int_at(p, &["nodePort"]).unwrap_or(0);
        if np == 0 {
            continue;
        }
        let k = (str_at(p, &["protocol"]), np);
        if node_ports.contains(&k) {
            errs.push(FieldError::duplicate(
                &child(&index("spec.ports", i), "nodePort"),
                np,
            ));
        }
        node_ports.push(k);
    }
    let mut seen: Vec<(&str, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let k = (
            str_at(p, &["protocol"]),
            json::int_at(p, &["port"]).unwrap_or(0),
        );
        if seen.contains(&k) {
            let mut e = FieldError::duplicate(&index("spec.ports", i), Value::Null);
            e.shown = Some(service_port_key(k.0, k.1));
            errs.push(e);
        }
        seen.push(k);
    }
    if let Some(Value::String(p)) = spec.get("externalTrafficPolicy") {
        if !p.is_empty() && p != "Cluster" && p != "Local" {
            errs.push(FieldError::not_supported(
                "spec.externalTrafficPolicy",
                p.as_str(),
                &["Cluster", "Local"],
            ));
        }
    }
    if let Some(Value::String(p)) = spec.get("internalTrafficPolicy") {
        if p != "Cluster" && p != "Local" {
            errs.push(FieldError::not_supported(
                "spec.internalTrafficPolicy",
                p.as_str(),
                &["Cluster", "Local"],
            ));
        }
    }
    errs
}

impl Strategy for Service {
    fn default(&self, obj: &mut Value) {
        default_service(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        allocate(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"loadBalancer": {}}));
        }
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        patch_from_old(new, old);
        allocate(new);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_service(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        if svc_type(old) != "ExternalName" && svc_type(new) != "ExternalName" {
            let o = arr_at(old, &["spec", "clusterIPs"]);
            let n = arr_at(new, &["spec", "clusterIPs"]);
            if let (Some(of), Some(nf)) = (o.first(), n.first()) {
                if of != nf {
                    errs.push(FieldError::invalid(
                        "spec.clusterIPs[0]",
                        Value::Array(n.to_vec()),
                        "may not change once set",
                    ));
                }
            }
            let of = arr_at(old, &["spec", "ipFamilies"]).first();
            let nf = arr_at(new, &["spec", "ipFamilies"]).first();
            if let (Some(of), Some(nf)) = (of, nf) {
                if of != nf {
                    errs.push(FieldError::invalid(
                        "spec.ipFamilies[0]",
                        nf.clone(),
                        "may not change once set",
                    ));
                }
            }
        }
        errs.extend(
            validate_service(new)
                .into_iter()
                .filter(|e| !e.field.starts_with("metadata")),
        );
        errs
    }
    fn namespaced(&self) -> bool {
        true
    }
}
