//! `PodSpec` and `PodTemplateSpec`: API defaulting (`core/v1/defaults.go`)
//! and validation (`core/validation`), shared by pods and every workload.

use super::json::{self, arr_at, at, child, index, key, str_at};
use super::meta::{self, validate_annotations, validate_labels};
use super::{names, quantity, FieldError};
use serde_json::{json, Value};

// ---------------------------------------------------------------- defaults

/// Defaults of a pod template (`spec.template` of workloads): the template
/// spec gets `SetDefaults_PodSpec` and its containers and volumes.
pub fn default_template(tpl: &mut Value) {
    template_metadata(tpl);
    if let Some(spec) = json::obj(tpl, "spec") {
        default_spec(spec);
    }
}

/// The metadata of an embedded template as v1.33 serializes it: a zero
/// `creationTimestamp` is written as `null`.
pub fn template_metadata(tpl: &mut Value) {
    if let Some(meta) = json::obj(tpl, "metadata").and_then(Value::as_object_mut) {
        meta.entry("creationTimestamp").or_insert(Value::Null);
    }
}

/// `SetDefaults_PodSpec` plus the defaults of everything inside it.
pub fn default_spec(spec: &mut Value) {
    json::default_str(spec, "dnsPolicy", "ClusterFirst");
    json::default_str(spec, "restartPolicy", "Always");
    json::default(spec, "securityContext", json!({}));
    json::default(spec, "terminationGracePeriodSeconds", json!(30));
    json::default_str(spec, "schedulerName", "default-scheduler");
    mirror_service_account(spec);
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(ctrs) = json::arr_mut(spec, list) {
            for c in ctrs.iter_mut().filter(|c| c.is_object()) {
                default_container(c);
                if host_network && list != "ephemeralContainers" {
                    default_host_network_ports(c);
                }
            }
        }
    }
    if let Some(vols) = json::arr_mut(spec, "volumes") {
        for v in vols.iter_mut().filter(|v| v.is_object()) {
            default_volume(v);
        }
    }
}

/// The `deprecated serviceAccount` field mirrors `serviceAccountName` (v1
/// conversion).
pub fn mirror_service_account(spec: &mut Value) {
    let name = str_at(spec, &["serviceAccountName"]).to_string();
    let old = str_at(spec, &["serviceAccount"]).to_string();
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    if name.is_empty() && !old.is_empty() {
        m.insert("serviceAccountName".into(), json!(old));
    } else if !name.is_empty() {
        m.insert("serviceAccount".into(), json!(name));
    }
}

/// Defaults only pods get (`SetDefaults_Pod`): requests from limits and
/// `enableServiceLinks`.
pub fn default_pod_only(spec: &mut Value) {
    json::default(spec, "enableServiceLinks", json!(true));
    for list in ["containers", "initContainers"] {
        if let Some(ctrs) = json::arr_mut(spec, list) {
            for c in ctrs.iter_mut() {
                let Some(res) = json::obj_opt(c, "resources") else {
                    continue;
                };
                let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
                    continue;
                };
                if let Some(req) = json::obj(res, "requests").and_then(Value::as_object_mut) {
                    for (k, v) in limits {
                        req.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

fn default_host_network_ports(c: &mut Value) {
    if let Some(ports) = json::arr_mut(c, "ports") {
        for p in ports.iter_mut() {
            if let Some(cp) = p.get("containerPort").cloned() {
                if json::int_at(p, &["hostPort"]).unwrap_or(0) == 0 {
                    if let Some(m) = p.as_object_mut() {
                        m.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
}

/// Whether an image reference has the tag `latest` or no tag and no digest.
fn pulls_always(image: &str) -> bool {
    if image.is_empty() {
        return false;
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => digest.is_none(),
    }
}

/// `SetDefaults_Container` and its ports, env, probes, handlers.
pub fn default_container(c: &mut Value) {
    let always = pulls_always(str_at(c, &["image"]));
    json::default_str(
        c,
        "imagePullPolicy",
        if always { "Always" } else { "IfNotPresent" },
    );
    json::default_str(c, "terminationMessagePath", "/dev/termination-log");
    json::default_str(c, "terminationMessagePolicy", "File");
    json::default(c, "resources", json!({}));
    if let Some(ports) = json::arr_mut(c, "ports") {
        for p in ports.iter_mut() {
            json::default_str(p, "protocol", "TCP");
        }
    }
    if let Some(env) = json::arr_mut(c, "env") {
        for e in env.iter_mut() {
            if let Some(vf) = json::obj_opt(e, "valueFrom") {
                if let Some(fr) = json::obj_opt(vf, "fieldRef") {
                    json::default_str(fr, "apiVersion", "v1");
                }
                if let Some(rr) = json::obj_opt(vf, "resourceFieldRef") {
                    json::default(rr, "divisor", json!("0"));
                }
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = json::obj_opt(c, probe) {
            json::default(p, "timeoutSeconds", json!(1));
            json::default(p, "periodSeconds", json!(10));
            json::default(p, "successThreshold", json!(1));
            json::default(p, "failureThreshold", json!(3));
            default_handler(p);
        }
    }
    if let Some(lc) = json::obj_opt(c, "lifecycle") {
        for h in ["postStart", "preStop"] {
            if let Some(h) = json::obj_opt(lc, h) {
                default_handler(h);
            }
        }
    }
}

fn default_handler(h: &mut Value) {
    if let Some(g) = json::obj_opt(h, "httpGet") {
        json::default_str(g, "path", "/");
        json::default_str(g, "scheme", "HTTP");
    }
    if let Some(g) = json::obj_opt(h, "grpc") {
        json::default(g, "service", json!(""));
    }
}

/// Every volume source a `Volume` may have.
pub const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the defaults of its source.
pub fn default_volume(v: &mut Value) {
    let has_source = VOLUME_SOURCES.iter().any(|s| !json::unset(v.get(*s)));
    if !has_source {
        if let Some(m) = v.as_object_mut() {
            m.insert("emptyDir".into(), json!({}));
        }
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = json::obj_opt(v, src) {
            json::default(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = json::obj_opt(v, "downwardAPI") {
        default_downward_items(d);
    }
    if let Some(p) = json::obj_opt(v, "projected") {
        if let Some(sources) = json::arr_mut(p, "sources") {
            for s in sources.iter_mut() {
                if let Some(t) = json::obj_opt(s, "serviceAccountToken") {
                    json::default(t, "expirationSeconds", json!(3600));
                }
                if let Some(d) = json::obj_opt(s, "downwardAPI") {
                    default_downward_items(d);
                }
            }
        }
    }
    if let Some(h) = json::obj_opt(v, "hostPath") {
        json::default(h, "type", json!(""));
    }
    if let Some(i) = json::obj_opt(v, "iscsi") {
        json::default_str(i, "iscsiInterface", "default");
    }
    if let Some(r) = json::obj_opt(v, "rbd") {
        json::default_str(r, "pool", "rbd");
        json::default_str(r, "user", "admin");
        json::default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(a) = json::obj_opt(v, "azureDisk") {
        json::default_str(a, "cachingMode", "ReadWrite");
        json::default_str(a, "fsType", "ext4");
        json::default(a, "readOnly", json!(false));
        json::default_str(a, "kind", "Shared");
    }
    if let Some(s) = json::obj_opt(v, "scaleIO") {
        json::default_str(s, "storageMode", "ThinProvisioned");
        json::default_str(s, "fsType", "xfs");
    }
    if let Some(e) = json::obj_opt(v, "ephemeral") {
        if let Some(t) = json::obj_opt(e, "volumeClaimTemplate") {
            if let Some(s) = json::obj_opt(t, "spec") {
                json::default_str(s, "volumeMode", "Filesystem");
            }
        }
    }
}

fn default_downward_items(d: &mut Value) {
    if let Some(items) = json::arr_mut(d, "items") {
        for it in items.iter_mut() {
            if let Some(fr) = json::obj_opt(it, "fieldRef") {
                json::default_str(fr, "apiVersion", "v1");
            }
            if let Some(rr) = json::obj_opt(it, "resourceFieldRef") {
                json::default(rr, "divisor", json!("0"));
            }
        }
    }
}

// -------------------------------------------------------------- validation

/// `ValidatePodTemplateSpec`: labels, annotations, the spec; no ephemeral
/// containers in templates.
pub fn validate_template(tpl: Option<&Value>, path: &str) -> Vec<FieldError> {
    let empty = json!({});
    let tpl = tpl.unwrap_or(&empty);
    let mut errs = Vec::new();
    errs.extend(validate_labels(
        at(tpl, &["metadata", "labels"]),
        &child(path, "labels"),
    ));
    errs.extend(validate_annotations(
        at(tpl, &["metadata", "annotations"]),
        &child(path, "annotations"),
    ));
    let spec = tpl.get("spec").unwrap_or(&empty);
    errs.extend(validate_spec(spec, &child(path, "spec")));
    if !arr_at(spec, &["ephemeralContainers"]).is_empty() {
        errs.push(FieldError::forbidden(
            &child(path, "spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `ValidatePodSpec`: the rules users meet most.
pub fn validate_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes = validate_volumes(
        arr_at(spec, &["volumes"]),
        &child(path, "volumes"),
        &mut errs,
    );

    let containers = arr_at(spec, &["containers"]);
    let cpath = child(path, "containers");
    if containers.is_empty() {
        errs.push(FieldError::required(&cpath, ""));
    }
    let mut all_names: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let p = index(&cpath, i);
        errs.extend(validate_container(c, &volumes, &p));
        let name = str_at(c, &["name"]);
        if all_names.contains(&name) {
            errs.push(FieldError::duplicate(&child(&p, "name"), name));
        } else {
            all_names.push(name);
        }
        if !json::unset(c.get("restartPolicy")) {
            errs.push(FieldError::forbidden(
                &child(&p, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    let ipath = child(path, "initContainers");
    for (i, c) in arr_at(spec, &["initContainers"]).iter().enumerate() {
        let p = index(&ipath, i);
        errs.extend(validate_container(c, &volumes, &p));
        let name = str_at(c, &["name"]);
        if all_names.contains(&name) {
            errs.push(FieldError::duplicate(&child(&p, "name"), name));
        } else {
            all_names.push(name);
        }
        let rp = c.get("restartPolicy");
        if let Some(Value::String(rp)) = rp {
            if rp != "Always" {
                errs.push(FieldError::not_supported(
                    &child(&p, "restartPolicy"),
                    rp.as_str(),
                    &["Always"],
                ));
            }
        }
        if rp.and_then(Value::as_str) != Some("Always") {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if !json::unset(c.get(probe)) {
                    errs.push(FieldError::forbidden(
                        &child(&p, probe),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    let epath = child(path, "ephemeralContainers");
    for (i, c) in arr_at(spec, &["ephemeralContainers"]).iter().enumerate() {
        let p = index(&epath, i);
        errs.extend(validate_container(c, &volumes, &p));
        let name = str_at(c, &["name"]);
        if all_names.contains(&name) {
            errs.push(FieldError::duplicate(&child(&p, "name"), name));
        } else {
            all_names.push(name);
        }
    }

    match str_at(spec, &["restartPolicy"]) {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(&child(path, "restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match str_at(spec, &["dnsPolicy"]) {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(&child(path, "dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    let sa = str_at(spec, &["serviceAccountName"]);
    for msg in names::name_is_dns_subdomain(sa, false)
        .into_iter()
        .filter(|_| !sa.is_empty())
    {
        errs.push(FieldError::invalid(
            &child(path, "serviceAccountName"),
            sa,
            msg,
        ));
    }
    let node = str_at(spec, &["nodeName"]);
    for msg in names::name_is_dns_subdomain(node, false)
        .into_iter()
        .filter(|_| !node.is_empty())
    {
        errs.push(FieldError::invalid(&child(path, "nodeName"), node, msg));
    }
    if let Some(v) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64) {
        if !(1..=i64::from(i32::MAX)).contains(&v) {
            errs.push(FieldError::invalid(
                &child(path, "activeDeadlineSeconds"),
                v,
                names::inclusive_range_error(1, i64::from(i32::MAX)),
            ));
        }
    }
    for f in ["hostname", "subdomain"] {
        let v = str_at(spec, &[f]);
        if !v.is_empty() {
            for msg in names::dns1123_label(v) {
                errs.push(FieldError::invalid(&child(path, f), v, msg));
            }
        }
    }
    errs.extend(validate_tolerations(
        arr_at(spec, &["tolerations"]),
        &child(path, "tolerations"),
    ));
    let pc = str_at(spec, &["priorityClassName"]);
    if !pc.is_empty() {
        for msg in names::dns1123_subdomain(pc) {
            errs.push(FieldError::invalid(
                &child(path, "priorityClassName"),
                pc,
                msg,
            ));
        }
    }
    if let Some(Value::String(pp)) = spec.get("preemptionPolicy") {
        if pp != "PreemptLowerPriority" && pp != "Never" {
            errs.push(FieldError::not_supported(
                &child(path, "preemptionPolicy"),
                pp.as_str(),
                &["Never", "PreemptLowerPriority"],
            ));
        }
    }
    errs
}

/// `ValidateVolumes`: returns the names of the valid volumes.
fn validate_volumes<'a>(vols: &'a [Value], path: &str, errs: &mut Vec<FieldError>) -> Vec<&'a str> {
    let mut names_ok: Vec<&str> = Vec::new();
    for (i, v) in vols.iter().enumerate() {
        let p = index(path, i);
        let mut el = validate_volume_source(v, &p);
        let name = str_at(v, &["name"]);
        let npath = child(&p, "name");
        if name.is_empty() {
            el.push(FieldError::required(&npath, ""));
        } else {
            for msg in names::dns1123_label(name) {
                el.push(FieldError::invalid(&npath, name, msg));
            }
        }
        if names_ok.contains(&name) {
            el.push(FieldError::duplicate(&npath, name));
        }
        if el.is_empty() {
            names_ok.push(name);
        } else {
            errs.extend(el);
        }
    }
    names_ok
}

fn validate_volume_source(v: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let present: Vec<&str> = VOLUME_SOURCES
        .iter()
        .copied()
        .filter(|s| !json::unset(v.get(*s)))
        .collect();
    if present.is_empty() {
        errs.push(FieldError::required(path, "must specify a volume type"));
        return errs;
    }
    for extra in &present[1..] {
        errs.push(FieldError::forbidden(
            &child(path, extra),
            "may not specify more than 1 volume type",
        ));
    }
    let src = present[0];
    let s = &v[src];
    let sp = child(path, src);
    let mode_ok = |m: &Value| m.as_i64().is_none_or(|m| (0..=0o777).contains(&m));
    match src {
        "secret" if str_at(s, &["secretName"]).is_empty() => {
            errs.push(FieldError::required(&child(&sp, "secretName"), ""));
        }
        "configMap" if str_at(s, &["name"]).is_empty() => {
            errs.push(FieldError::required(&child(&sp, "name"), ""));
        }
        "persistentVolumeClaim" if str_at(s, &["claimName"]).is_empty() => {
            errs.push(FieldError::required(&child(&sp, "claimName"), ""));
        }
        "hostPath" if str_at(s, &["path"]).is_empty() => {
            errs.push(FieldError::required(&child(&sp, "path"), ""));
        }
        "nfs" => {
            if str_at(s, &["server"]).is_empty() {
                errs.push(FieldError::required(&child(&sp, "server"), ""));
            }
            if str_at(s, &["path"]).is_empty() {
                errs.push(FieldError::required(&child(&sp, "path"), ""));
            }
        }
        _ => {}
    }
    if let Some(m) = s.get("defaultMode") {
        if !mode_ok(m) {
            errs.push(FieldError::invalid(
                &child(&sp, "defaultMode"),
                m.clone(),
                "must be a number between 0 and 0777 (octal), both inclusive",
            ));
        }
    }
    for (i, it) in arr_at(s, &["items"]).iter().enumerate() {
        let ip = index(&child(&sp, "items"), i);
        if matches!(src, "secret" | "configMap") && str_at(it, &["key"]).is_empty() {
            errs.push(FieldError::required(&child(&ip, "key"), ""));
        }
        let p = str_at(it, &["path"]);
        if p.is_empty() {
            errs.push(FieldError::required(&child(&ip, "path"), ""));
        } else {
            errs.extend(validate_local_descending_path(p, &child(&ip, "path")));
        }
    }
    errs
}

/// `validateLocalDescendingPath`: relative, no `..` element.
pub fn validate_local_descending_path(p: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if p.starts_with('/') {
        errs.push(FieldError::invalid(path, p, "must be a relative path"));
    }
    if p.split(['/', '\\']).any(|seg| seg == "..") {
        errs.push(FieldError::invalid(path, p, "must not contain '..'"));
    }
    errs
}

fn validate_container(c: &Value, volumes: &[&str], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_at(c, &["name"]);
    let npath = child(path, "name");
    if name.is_empty() {
        errs.push(FieldError::required(&npath, ""));
    } else {
        for msg in names::dns1123_label(name) {
            errs.push(FieldError::invalid(&npath, name, msg));
        }
    }
    if str_at(c, &["image"]).is_empty() {
        errs.push(FieldError::required(&child(path, "image"), ""));
    }
    match str_at(c, &["terminationMessagePolicy"]) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            &child(path, "terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            &child(path, "terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_container_ports(
        arr_at(c, &["ports"]),
        &child(path, "ports"),
    ));
    errs.extend(validate_env(arr_at(c, &["env"]), &child(path, "env")));
    errs.extend(validate_volume_mounts(
        arr_at(c, &["volumeMounts"]),
        volumes,
        &child(path, "volumeMounts"),
    ));
    match str_at(c, &["imagePullPolicy"]) {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(&child(path, "imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &child(path, "imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    errs.extend(validate_resources(
        c.get("resources"),
        &child(path, "resources"),
    ));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get(probe).filter(|p| p.is_object()) {
            let pp = child(path, probe);
            errs.extend(validate_probe(p, &pp));
            if probe != "readinessProbe" {
                if let Some(st) = json::int_at(p, &["successThreshold"]).filter(|&v| v != 1) {
                    errs.push(FieldError::invalid(
                        &child(&pp, "successThreshold"),
                        st,
                        "must be 1",
                    ));
                }
            }
        }
    }
    errs
}

/// `validateHandler` of probes: exactly one handler, each well formed.
fn validate_handler(h: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let present: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
        .into_iter()
        .filter(|k| !json::unset(h.get(*k)))
        .collect();
    if present.is_empty() {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    for extra in present.iter().skip(1) {
        errs.push(FieldError::forbidden(
            &child(path, extra),
            "may not specify more than 1 handler type",
        ));
    }
    if let Some(e) = h.get("exec").filter(|e| e.is_object()) {
        if arr_at(e, &["command"]).is_empty() {
            errs.push(FieldError::required(&child(path, "exec.command"), ""));
        }
    }
    if let Some(g) = h.get("httpGet").filter(|g| g.is_object()) {
        let gp = child(path, "httpGet");
        if str_at(g, &["path"]).is_empty() {
            errs.push(FieldError::required(&child(&gp, "path"), ""));
        }
        errs.extend(validate_port_num_or_name(
            g.get("port"),
            &child(&gp, "port"),
        ));
        let scheme = str_at(g, &["scheme"]);
        if scheme != "HTTP" && scheme != "HTTPS" {
            errs.push(FieldError::not_supported(
                &child(&gp, "scheme"),
                scheme,
                &["HTTP", "HTTPS"],
            ));
        }
    }
    if let Some(t) = h.get("tcpSocket").filter(|t| t.is_object()) {
        errs.extend(validate_port_num_or_name(
            t.get("port"),
            &child(path, "tcpSocket.port"),
        ));
    }
    if let Some(g) = h.get("grpc").filter(|g| g.is_object()) {
        let port = json::int_at(g, &["port"]).unwrap_or(0);
        for m in names::port_num(port) {
            errs.push(FieldError::invalid(&child(path, "grpc.port"), port, m));
        }
    }
    errs
}

/// `ValidatePortNumOrName`.
pub fn validate_port_num_or_name(port: Option<&Value>, path: &str) -> Vec<FieldError> {
    match port {
        Some(Value::String(s)) => names::port_name(s)
            .into_iter()
            .map(|m| FieldError::invalid(path, s.as_str(), m))
            .collect(),
        other => {
            let n = other.and_then(Value::as_i64).unwrap_or(0);
            names::port_num(n)
                .into_iter()
                .map(|m| FieldError::invalid(path, n, m))
                .collect()
        }
    }
}

/// `validateProbe`.
fn validate_probe(p: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_handler(p, path);
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errs.extend(meta::nonnegative(p.get(f), &child(path, f)));
    }
    if let Some(g) = json::int_at(p, &["terminationGracePeriodSeconds"]).filter(|&g| g <= 0) {
        errs.push(FieldError::invalid(
            &child(path, "terminationGracePeriodSeconds"),
            g,
            "must be greater than 0",
        ));
    }
    errs
}

/// `validateContainerPorts`.
pub fn validate_container_ports(ports: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut all: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let ip = index(path, i);
        let name = str_at(p, &["name"]);
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(&child(&ip, "name"), name, m));
                }
            } else if all.contains(&name) {
                errs.push(FieldError::duplicate(&child(&ip, "name"), name));
            } else {
                all.push(name);
            }
        }
        let cp = json::int_at(p, &["containerPort"]).unwrap_or(0);
        if cp == 0 {
            errs.push(FieldError::required(&child(&ip, "containerPort"), ""));
        } else {
            for m in names::port_num(cp) {
                errs.push(FieldError::invalid(&child(&ip, "containerPort"), cp, m));
            }
        }
        let hp = json::int_at(p, &["hostPort"]).unwrap_or(0);
        if hp != 0 {
            for m in names::port_num(hp) {
                errs.push(FieldError::invalid(&child(&ip, "hostPort"), hp, m));
            }
        }
        errs.extend(validate_protocol(p, &child(&ip, "protocol")));
    }
    errs
}

/// A port `protocol`: required, one of SCTP, TCP, UDP.
pub fn validate_protocol(p: &Value, path: &str) -> Vec<FieldError> {
    match str_at(p, &["protocol"]) {
        "TCP" | "UDP" | "SCTP" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["SCTP", "TCP", "UDP"],
        )],
    }
}

fn validate_env(env: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in env.iter().enumerate() {
        let ip = index(path, i);
        let name = str_at(e, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&ip, "name"), ""));
        } else {
            for m in names::env_var_name(name) {
                errs.push(FieldError::invalid(&child(&ip, "name"), name, m));
            }
        }
        let Some(vf) = e.get("valueFrom").filter(|v| v.is_object()) else {
            continue;
        };
        let vp = child(&ip, "valueFrom");
        let sources = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
            "fileKeyRef",
        ];
        let n = sources.iter().filter(|s| !json::unset(vf.get(**s))).count();
        if n == 0 {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !str_at(e, &["value"]).is_empty() {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
        for r in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(kr) = vf.get(r).filter(|v| v.is_object()) {
                if str_at(kr, &["key"]).is_empty() {
                    errs.push(FieldError::required(&child(&child(&vp, r), "key"), ""));
                }
            }
        }
        if let Some(fr) = vf.get("fieldRef").filter(|v| v.is_object()) {
            if str_at(fr, &["fieldPath"]).is_empty() {
                errs.push(FieldError::required(&child(&vp, "fieldRef.fieldPath"), ""));
            }
        }
    }
    errs
}

fn validate_volume_mounts(mounts: &[Value], volumes: &[&str], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let ip = index(path, i);
        let name = str_at(m, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&ip, "name"), ""));
        }
        if !volumes.contains(&name) {
            errs.push(FieldError::not_found(&child(&ip, "name"), name));
        }
        let mp = str_at(m, &["mountPath"]);
        if mp.is_empty() {
            errs.push(FieldError::required(&child(&ip, "mountPath"), ""));
        }
        if seen.contains(&mp) {
            errs.push(FieldError::invalid(
                &child(&ip, "mountPath"),
                mp,
                "must be unique",
            ));
        }
        seen.push(mp);
        let sub = str_at(m, &["subPath"]);
        if !sub.is_empty() {
            errs.extend(validate_local_descending_path(sub, &child(path, "subPath")));
        }
    }
    errs
}

fn overcommit_allowed(resource: &str) -> bool {
    !resource.starts_with("hugepages-")
        && (resource.starts_with("requests.")
            || !resource.contains('/')
            || resource.starts_with("kubernetes.io/"))
}

fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `ValidateResourceRequirements`: quantities non-negative, requests within
/// limits.
pub fn validate_resources(res: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(res) = res.filter(|r| r.is_object()) else {
        return errs;
    };
    let lim_path = child(path, "limits");
    let req_path = child(path, "requests");
    let limits = res.get("limits").and_then(Value::as_object);
    if let Some(l) = limits {
        let mut keys: Vec<&String> = l.keys().collect();
        keys.sort();
        for k in keys {
            if quantity::from_json(&l[k]).is_some_and(|q| q < 0.0) {
                errs.push(FieldError::invalid(
                    &key(&lim_path, k),
                    quantity_text(&l[k]),
                    meta::IS_NEGATIVE,
                ));
            }
        }
    }
    if let Some(r) = res.get("requests").and_then(Value::as_object) {
        let mut keys: Vec<&String> = r.keys().collect();
        keys.sort();
        for k in keys {
            let q = quantity::from_json(&r[k]);
            if q.is_some_and(|q| q < 0.0) {
                errs.push(FieldError::invalid(
                    &key(&req_path, k),
                    quantity_text(&r[k]),
                    meta::IS_NEGATIVE,
                ));
            }
            let Some(lv) = limits.and_then(|l| l.get(k)) else {
                continue;
            };
            let (Some(q), Some(l)) = (q, quantity::from_json(lv)) else {
                continue;
            };
            if q != l && !overcommit_allowed(k) {
                errs.push(FieldError::invalid(
                    &req_path,
                    quantity_text(&r[k]),
                    format!("must be equal to {k} limit of {}", quantity_text(lv)),
                ));
            } else if q > l {
                errs.push(FieldError::invalid(
                    &req_path,
                    quantity_text(&r[k]),
                    format!(
                        "must be less than or equal to {k} limit of {}",
                        quantity_text(lv)
                    ),
                ));
            }
        }
    }
    errs
}

/// `ValidateTolerations`.
pub fn validate_tolerations(tols: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in tols.iter().enumerate() {
        let ip = index(path, i);
        let k = str_at(t, &["key"]);
        let op = str_at(t, &["operator"]);
        let effect = str_at(t, &["effect"]);
        if !k.is_empty() {
            errs.extend(meta::validate_label_name(k, &child(&ip, "key")));
        }
        if k.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                &child(&ip, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if !json::unset(t.get("tolerationSeconds")) && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &child(&ip, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        let value = str_at(t, &["value"]);
        match op {
            "Equal" | "" => {
                let msgs = names::label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        &child(&ip, "operator"),
                        value,
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid_shown(
                        &child(&ip, "operator"),
                        t.to_string(),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &child(&ip, "operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errs.push(FieldError::not_supported(
                &child(&ip, "effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policy_from_tag() {
        assert!(pulls_always("nginx"));
        assert!(pulls_always("nginx:latest"));
        assert!(pulls_always("localhost:5000/nginx"));
        assert!(!pulls_always("localhost:5000/nginx:1.25"));
        assert!(!pulls_always("nginx:1.25"));
        assert!(!pulls_always("nginx@sha256:abc"));
        assert!(pulls_always("nginx:latest@sha256:abc"));
    }
}
