//! Smaller kinds with defaults or rules of their own: Endpoints, Node,
//! HorizontalPodAutoscaler, NetworkPolicy, RoleBinding/ClusterRoleBinding,
//! admission webhook configurations, CustomResourceDefinition.

use super::json::{self, arr_at, child, index, str_at};
use super::meta::{validate_object_meta, validate_object_meta_update};
use super::{names, FieldError, NameFn, Strategy};
use serde_json::{json, Value};

/// A kind whose behaviour is a defaulting function plus extra validation.
pub struct Simple {
    pub namespaced: bool,
    pub name_fn: NameFn,
    pub generation: bool,
    pub defaults: fn(&mut Value),
    pub extra: fn(&Value) -> Vec<FieldError>,
    pub extra_update: fn(&Value, &Value) -> Vec<FieldError>,
}

fn nothing(_: &Value) -> Vec<FieldError> {
    Vec::new()
}

fn nothing_update(_: &Value, _: &Value) -> Vec<FieldError> {
    Vec::new()
}

impl Strategy for Simple {
    fn default(&self, obj: &mut Value) {
        (self.defaults)(obj);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, self.namespaced, self.name_fn);
        errs.extend((self.extra)(obj));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend((self.extra)(new));
        errs.extend((self.extra_update)(new, old));
        errs
    }
    fn generation_tracked(&self) -> bool {
        self.generation
    }
    fn namespaced(&self) -> bool {
        self.namespaced
    }
}

// -------------------------------------------------------------- Endpoints

fn default_endpoints(obj: &mut Value) {
    if let Some(subsets) = json::arr_mut(obj, "subsets") {
        for s in subsets.iter_mut() {
            if let Some(ports) = json::arr_mut(s, "ports") {
                for p in ports.iter_mut() {
                    json::default_str(p, "protocol", "TCP");
                }
            }
        }
    }
}

pub static ENDPOINTS: Simple = Simple {
    namespaced: true,
    name_fn: names::name_is_dns_subdomain,
    generation: false,
    defaults: default_endpoints,
    extra: nothing,
    extra_update: nothing_update,
};

// ------------------------------------------------------------------- Node

fn no_defaults(_: &mut Value) {}

pub static NODE: Simple = Simple {
    namespaced: false,
    name_fn: names::name_is_dns_subdomain,
    generation: false,
    defaults: no_defaults,
    extra: nothing,
    extra_update: nothing_update,
};

// -------------------------------------------------------------------- HPA

fn default_hpa(obj: &mut Value) {
    let v2 = str_at(obj, &["apiVersion"]) != "autoscaling/v1";
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    json::default(spec, "minReplicas", json!(1));
    if !v2 {
        return;
    }
    if arr_at(spec, &["metrics"]).is_empty() {
        spec["metrics"] = json!([{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
        }]);
    }
    if let Some(b) = json::obj_opt(spec, "behavior") {
        if let Some(up) = json::obj(b, "scaleUp") {
            json::default(up, "stabilizationWindowSeconds", json!(0));
            json::default_str(up, "selectPolicy", "Max");
            if arr_at(up, &["policies"]).is_empty() {
                up["policies"] = json!([
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}
                ]);
            }
        }
        if let Some(down) = json::obj(b, "scaleDown") {
            json::default(down, "stabilizationWindowSeconds", json!(300));
            json::default_str(down, "selectPolicy", "Max");
            if arr_at(down, &["policies"]).is_empty() {
                down["policies"] = json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]);
            }
        }
    }
}

fn validate_hpa(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let target = spec.get("scaleTargetRef").unwrap_or(&empty);
    if str_at(target, &["kind"]).is_empty() {
        errs.push(FieldError::required("spec.scaleTargetRef.kind", ""));
    }
    let name = str_at(target, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required("spec.scaleTargetRef.name", ""));
    } else {
        for msg in names::path_segment_name(name, false) {
            errs.push(FieldError::invalid("spec.scaleTargetRef.name", name, msg));
        }
    }
    let min = json::int_at(spec, &["minReplicas"]);
    if let Some(m) = min {
        if m < 1 {
            errs.push(FieldError::invalid(
                "spec.minReplicas",
                m,
                "must be greater than or equal to 1",
            ));
        }
    }
    let max = json::int_at(spec, &["maxReplicas"]).unwrap_or(0);
    if max < 1 {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than 0",
        ));
    }
    if let Some(m) = min {
        if m > max && max >= 1 {
            errs.push(FieldError::invalid(
                "spec.maxReplicas",
                max,
                "must be greater than or equal to `minReplicas`",
            ));
        }
    }
    errs
}

pub static HPA: Simple = Simple {
    namespaced: true,
    name_fn: names::name_is_dns_subdomain,
    generation: true,
    defaults: default_hpa,
    extra: validate_hpa,
    extra_update: nothing_update,
};

// --------------------------------------------------------- NetworkPolicy

fn default_network_policy(obj: &mut Value) {
    let Some(spec) = json::obj(obj, "spec") else {
        return;
    };
    json::default(spec, "podSelector", json!({}));
    for dir in ["ingress", "egress"] {
        if let Some(rules) = json::arr_mut(spec, dir) {
            for r in rules.iter_mut() {
                if let Some(ports) = json::arr_mut(r, "ports") {
                    for p in ports.iter_mut() {
                        json::default_str(p, "protocol", "TCP");
                    }
                }
            }
        }
    }
    if arr_at(spec, &["policyTypes"]).is_empty() {
        let mut types = vec![json!("Ingress")];
        if !arr_at(spec, &["egress"]).is_empty() {
            types.push(json!("Egress"));
        }
        spec["policyTypes"] = Value::Array(types);
    }
}

fn validate_network_policy(obj: &Value) -> Vec<FieldError> {
    let mut errs =
        super::selector::validate(json::at(obj, &["spec", "podSelector"]), "spec.podSelector");
    let types = arr_at(obj, &["spec", "policyTypes"]);
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(
                &index("spec.policyTypes", i),
                t,
                &["Ingress", "Egress"],
            ));
        }
    }
    if types.len() > 2 {
        errs.push(FieldError::invalid(
            "spec.policyTypes",
            Value::from(types.to_vec()),
            "may not specify more than two policyTypes",
        ));
    }
    errs
}

pub static NETWORK_POLICY: Simple = Simple {
    namespaced: true,
    name_fn: names::name_is_dns_subdomain,
    generation: true,
    defaults: default_network_policy,
    extra: validate_network_policy,
    extra_update: nothing_update,
};

// ------------------------------------------------------------------- RBAC

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn default_subjects(obj: &mut Value) {
    if let Some(subjects) = json::arr_mut(obj, "subjects") {
        for s in subjects.iter_mut() {
            let group = match str_at(s, &["kind"]) {
                "ServiceAccount" => "",
                "User" | "Group" => RBAC_GROUP,
                _ => continue,
            };
            if json::unset_str(s.get("apiGroup")) {
                s["apiGroup"] = json!(group);
            }
        }
    }
}

fn validate_binding(obj: &Value, cluster: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let rr = obj.get("roleRef").unwrap_or(&empty);
    if str_at(rr, &["apiGroup"]) != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            str_at(rr, &["apiGroup"]),
            &[RBAC_GROUP],
        ));
    }
    let kind = str_at(rr, &["kind"]);
    if cluster && kind != "ClusterRole" {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            kind,
            &["ClusterRole"],
        ));
    } else if !cluster && kind != "Role" && kind != "ClusterRole" {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            kind,
            &["Role", "ClusterRole"],
        ));
    }
    let rname = str_at(rr, &["name"]);
    if rname.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in names::path_segment_name(rname, false) {
            errs.push(FieldError::invalid("roleRef.name", rname, msg));
        }
    }
    for (i, s) in arr_at(obj, &["subjects"]).iter().enumerate() {
        let p = index("subjects", i);
        let name = str_at(s, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&p, "name"), ""));
        }
        let group = str_at(s, &["apiGroup"]);
        match str_at(s, &["kind"]) {
            "ServiceAccount" => {
                if !name.is_empty() {
                    for msg in names::name_is_dns_subdomain(name, false) {
                        errs.push(FieldError::invalid(&child(&p, "name"), name, msg));
                    }
                }
                if !group.is_empty() {
                    errs.push(FieldError::not_supported(
                        &child(&p, "apiGroup"),
                        group,
                        &[""],
                    ));
                }
                if cluster && str_at(s, &["namespace"]).is_empty() {
                    errs.push(FieldError::required(&child(&p, "namespace"), ""));
                }
            }
            "User" | "Group" => {
                if group != RBAC_GROUP {
                    errs.push(FieldError::not_supported(
                        &child(&p, "apiGroup"),
                        group,
                        &[RBAC_GROUP],
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &child(&p, "kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    errs
}

fn validate_role_binding(obj: &Value) -> Vec<FieldError> {
    validate_binding(obj, false)
}

fn validate_cluster_role_binding(obj: &Value) -> Vec<FieldError> {
    validate_binding(obj, true)
}

fn role_ref_immutable(new: &Value, old: &Value) -> Vec<FieldError> {
    if new.get("roleRef") != old.get("roleRef") {
        let rr = new.get("roleRef").cloned().unwrap_or(Value::Null);
        let shown = format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            super::gofmt::quote(str_at(&rr, &["apiGroup"])),
            super::gofmt::quote(str_at(&rr, &["kind"])),
            super::gofmt::quote(str_at(&rr, &["name"]))
        );
        vec![FieldError::invalid_shown(
            "roleRef",
            shown,
            "cannot change roleRef",
        )]
    } else {
        Vec::new()
    }
}

pub static ROLE_BINDING: Simple = Simple {
    namespaced: true,
    name_fn: names::path_segment_name,
    generation: false,
    defaults: default_subjects,
    extra: validate_role_binding,
    extra_update: role_ref_immutable,
};

pub static CLUSTER_ROLE_BINDING: Simple = Simple {
    namespaced: false,
    name_fn: names::path_segment_name,
    generation: false,
    defaults: default_subjects,
    extra: validate_cluster_role_binding,
    extra_update: role_ref_immutable,
};

// --------------------------------------------------------------- Webhooks

fn default_webhooks(obj: &mut Value, mutating: bool) {
    if let Some(hooks) = json::arr_mut(obj, "webhooks") {
        for h in hooks.iter_mut().filter(|h| h.is_object()) {
            json::default_str(h, "failurePolicy", "Fail");
            json::default_str(h, "matchPolicy", "Equivalent");
            json::default(h, "namespaceSelector", json!({}));
            json::default(h, "objectSelector", json!({}));
            json::default(h, "timeoutSeconds", json!(10));
            if mutating {
                json::default_str(h, "reinvocationPolicy", "Never");
            }
            if let Some(rules) = json::arr_mut(h, "rules") {
                for r in rules.iter_mut() {
                    json::default_str(r, "scope", "*");
                }
            }
            if let Some(svc) =
                json::obj_opt(h, "clientConfig").and_then(|c| json::obj_opt(c, "service"))
            {
                json::default(svc, "port", json!(443));
            }
        }
    }
}

fn default_validating(obj: &mut Value) {
    default_webhooks(obj, false);
}

fn default_mutating(obj: &mut Value) {
    default_webhooks(obj, true);
}

fn validate_webhooks(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, h) in arr_at(obj, &["webhooks"]).iter().enumerate() {
        let p = index("webhooks", i);
        let name = str_at(h, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&p, "name"), ""));
        } else {
            for msg in names::dns1123_subdomain(name) {
                errs.push(FieldError::invalid(&child(&p, "name"), name, msg));
            }
            if name.split('.').count() < 3 {
                errs.push(FieldError::invalid(
                    &child(&p, "name"),
                    name,
                    "should be a domain with at least three segments separated by dots",
                ));
            }
            if seen.contains(&name) {
                errs.push(FieldError::duplicate(&child(&p, "name"), name));
            }
            seen.push(name);
        }
        if arr_at(h, &["admissionReviewVersions"]).is_empty() {
            errs.push(FieldError::required(
                &child(&p, "admissionReviewVersions"),
                "must specify one of v1, v1beta1",
            ));
        }
        match str_at(h, &["sideEffects"]) {
            "None" | "NoneOnDryRun" => {}
            "" => errs.push(FieldError::required(
                &child(&p, "sideEffects"),
                "must specify one of None, NoneOnDryRun",
            )),
            other => errs.push(FieldError::not_supported(
                &child(&p, "sideEffects"),
                other,
                &["None", "NoneOnDryRun"],
            )),
        }
    }
    errs
}

pub static VALIDATING_WEBHOOKS: Simple = Simple {
    namespaced: false,
    name_fn: names::name_is_dns_subdomain,
    generation: true,
    defaults: default_validating,
    extra: validate_webhooks,
    extra_update: nothing_update,
};

pub static MUTATING_WEBHOOKS: Simple = Simple {
    namespaced: false,
    name_fn: names::name_is_dns_subdomain,
    generation: true,
    defaults: default_mutating,
    extra: validate_webhooks,
    extra_update: nothing_update,
};

// ---------------------------------------------------------------- Ingress

fn validate_ingress_host(host: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if host.parse::<std::net::IpAddr>().is_ok() {
        errs.push(FieldError::invalid(
            path,
            host,
            "must be a DNS name, not an IP address",
        ));
    }
    if let Some(rest) = host.strip_prefix("*.") {
        if !names::dns1123_subdomain(rest).is_empty() || rest.contains('*') {
            errs.push(FieldError::invalid(
                path,
                host,
                names::regex_error(
                    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
                    r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                    &["*.example.com"],
                ),
            ));
        }
    } else {
        for msg in names::dns1123_subdomain(host) {
            errs.push(FieldError::invalid(path, host, msg));
        }
    }
    errs
}

fn validate_ingress_backend(b: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let svc = b.get("service").filter(|s| s.is_object());
    let res = b.get("resource").filter(|s| s.is_object());
    match (svc, res) {
        (Some(_), Some(_)) => errs.push(FieldError::invalid_shown(
            path,
            b.to_string(),
            "cannot set both resource and service backends",
        )),
        (None, None) => errs.push(FieldError::invalid_shown(
            path,
            b.to_string(),
            "resource or service backend is required",
        )),
        _ => {}
    }
    if let Some(s) = svc {
        let sp = child(path, "service");
        let name = str_at(s, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&sp, "name"), ""));
        } else {
            for msg in names::dns1035_label(name) {
                errs.push(FieldError::invalid(&child(&sp, "name"), name, msg));
            }
        }
        let pname = str_at(s, &["port", "name"]);
        let pnum = json::int_at(s, &["port", "number"]).unwrap_or(0);
        let pp = child(&sp, "port");
        if !pname.is_empty() && pnum != 0 {
            errs.push(FieldError::invalid_shown(
                &pp,
                s["port"].to_string(),
                "cannot set both port name & port number",
            ));
        } else if !pname.is_empty() {
            for msg in names::port_name(pname) {
                errs.push(FieldError::invalid(&child(&pp, "name"), pname, msg));
            }
        } else if pnum != 0 {
            for msg in names::port_num(pnum) {
                errs.push(FieldError::invalid(&child(&pp, "number"), pnum, msg));
            }
        } else {
            errs.push(FieldError::required(&pp, "port name or number is required"));
        }
    }
    errs
}

fn validate_ingress_path(p: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let value = str_at(p, &["path"]);
    match p.get("pathType").and_then(Value::as_str) {
        None => errs.push(FieldError::required(
            &child(path, "pathType"),
            "pathType must be specified",
        )),
        Some("Exact" | "Prefix") => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &child(path, "path"),
                    value,
                    "must be an absolute path",
                ));
            }
            if !value.is_empty() {
                for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                    if value.contains(seq) {
                        errs.push(FieldError::invalid(
                            &child(path, "path"),
                            value,
                            format!("must not contain '{seq}'"),
                        ));
                    }
                }
                for suffix in ["/..", "/."] {
                    if value.ends_with(suffix) {
                        errs.push(FieldError::invalid(
                            &child(path, "path"),
                            value,
                            format!("cannot end with '{suffix}'"),
                        ));
                    }
                }
            }
        }
        Some("ImplementationSpecific") => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &child(path, "path"),
                    value,
                    "must be an absolute path",
                ));
            }
        }
        Some(other) => errs.push(FieldError::not_supported(
            &child(path, "pathType"),
            other,
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    errs.extend(validate_ingress_backend(
        p.get("backend").unwrap_or(&json!({})),
        &child(path, "backend"),
    ));
    errs
}

fn validate_ingress(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let rules = arr_at(spec, &["rules"]);
    let default_backend = spec.get("defaultBackend").filter(|b| !b.is_null());
    if rules.is_empty() && default_backend.is_none() {
        errs.push(FieldError::invalid_shown(
            "spec",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default_backend {
        errs.extend(validate_ingress_backend(b, "spec.defaultBackend"));
    }
    for (i, r) in rules.iter().enumerate() {
        let rp = index("spec.rules", i);
        let host = str_at(r, &["host"]);
        if !host.is_empty() {
            errs.extend(validate_ingress_host(host, &child(&rp, "host")));
        }
        if let Some(http) = r.get("http").filter(|h| h.is_object()) {
            let paths = arr_at(http, &["paths"]);
            let hp = child(&rp, "http.paths");
            if paths.is_empty() {
                errs.push(FieldError::required(&hp, ""));
            }
            for (j, p) in paths.iter().enumerate() {
                errs.extend(validate_ingress_path(p, &index(&hp, j)));
            }
        }
    }
    for (i, t) in arr_at(spec, &["tls"]).iter().enumerate() {
        for (j, h) in arr_at(t, &["hosts"]).iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            errs.extend(validate_ingress_host(
                h,
                &index(&child(&index("spec.tls", i), "hosts"), j),
            ));
        }
    }
    let class = str_at(spec, &["ingressClassName"]);
    if !class.is_empty() {
        for msg in names::dns1123_subdomain(class) {
            errs.push(FieldError::invalid("spec.ingressClassName", class, msg));
        }
    }
    errs
}

pub static INGRESS: Simple = Simple {
    namespaced: true,
    name_fn: names::name_is_dns_subdomain,
    generation: true,
    defaults: no_defaults,
    extra: validate_ingress,
    extra_update: nothing_update,
};

// ------------------------------------------------------ Role, ClusterRole

fn validate_rules(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, r) in arr_at(obj, &["rules"]).iter().enumerate() {
        let p = index("rules", i);
        if arr_at(r, &["verbs"]).is_empty() {
            errs.push(FieldError::required(
                &child(&p, "verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = arr_at(r, &["nonResourceURLs"]);
        if !urls.is_empty() {
            let shown = Value::from(urls.to_vec());
            if namespaced {
                errs.push(FieldError::invalid(
                    &child(&p, "nonResourceURLs"),
                    shown.clone(),
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if ["apiGroups", "resources", "resourceNames"]
                .iter()
                .any(|f| !arr_at(r, &[f]).is_empty())
            {
                errs.push(FieldError::invalid(
                    &child(&p, "nonResourceURLs"),
                    shown,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if arr_at(r, &["apiGroups"]).is_empty() {
            errs.push(FieldError::required(
                &child(&p, "apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if arr_at(r, &["resources"]).is_empty() {
            errs.push(FieldError::required(
                &child(&p, "resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    errs
}

fn validate_role(obj: &Value) -> Vec<FieldError> {
    validate_rules(obj, true)
}

fn validate_cluster_role(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_rules(obj, false);
    if let Some(agg) = obj.get("aggregationRule").filter(|a| a.is_object()) {
        let sels = arr_at(agg, &["clusterRoleSelectors"]);
        if sels.is_empty() {
            errs.push(FieldError::required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, s) in sels.iter().enumerate() {
            errs.extend(super::selector::validate(
                Some(s),
                &index("aggregationRule.clusterRoleSelectors", i),
            ));
        }
    }
    errs
}

pub static ROLE: Simple = Simple {
    namespaced: true,
    name_fn: names::path_segment_name,
    generation: false,
    defaults: no_defaults,
    extra: validate_role,
    extra_update: nothing_update,
};

pub static CLUSTER_ROLE: Simple = Simple {
    namespaced: false,
    name_fn: names::path_segment_name,
    generation: false,
    defaults: no_defaults,
    extra: validate_cluster_role,
    extra_update: nothing_update,
};
