//! Strategic merge patch and server-side apply follow the patch metadata of
//! the built-in types (`x-kubernetes-patch-strategy`, `-patch-merge-key`,
//! `-list-type`, `-list-map-keys`), which the server also publishes in its
//! OpenAPI, so stock `kubectl apply` (client-side, computing its patch from
//! that OpenAPI) and the server agree: atomic lists are replaced whole,
//! merging lists merge by their key, `$retainKeys` clears a union's other
//! members.

use conformance::{json, Server};
use serde_json::{json, Value};

/// A server without controllers or nodes: nothing but the test writes.
fn server() -> Server {
    Server::start_with(&["--controllers=", "--nodes", "0"]).expect("start")
}

fn apply(s: &Server, manifest: &Value) -> String {
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(&manifest.to_string()),
    )
}

fn get(s: &Server, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    json(&s.kubectl_ok(&args))
}

/// The managedFields entry of `manager` with `operation`.
fn managed_entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["manager"] == manager && e["operation"] == operation)
        })
        .unwrap_or_else(|| panic!("no {manager}/{operation} entry in {obj}"))
}

fn network_policy(ports: &[u16]) -> Value {
    let ports: Vec<Value> = ports.iter().map(|p| json!({"port": p})).collect();
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"ports": ports}],
        },
    })
}

#[test]
fn kubectl_apply_removes_a_network_policy_port_and_smp_replaces_atomic_lists() {
    let s = server();
    apply(&s, &network_policy(&[80, 443]));
    let out = apply(&s, &network_policy(&[80]));
    assert_eq!(out.trim(), "networkpolicy.networking.k8s.io/web configured");
    let np = get(&s, &["networkpolicy", "web"]);
    assert_eq!(
        np["spec"]["ingress"],
        json!([{"ports": [{"port": 80, "protocol": "TCP"}]}])
    );

    // A strategic merge patch replaces the atomic ingress list whole.
    s.kubectl_ok(&[
        "patch",
        "networkpolicy",
        "web",
        "-p",
        r#"{"spec":{"ingress":[{"ports":[{"port":8443}]}]}}"#,
    ]);
    let np = get(&s, &["networkpolicy", "web"]);
    assert_eq!(
        np["spec"]["ingress"],
        json!([{"ports": [{"port": 8443, "protocol": "TCP"}]}])
    );

    // EndpointSlice ports are atomic too (no merge by `port`).
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    });
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&slice.to_string()),
    );
    s.kubectl_ok(&[
        "patch",
        "endpointslice",
        "web-1",
        "-p",
        r#"{"ports":[{"name":"https","port":443,"protocol":"TCP"}]}"#,
    ]);
    let slice = get(&s, &["endpointslice", "web-1"]);
    assert_eq!(
        slice["ports"],
        json!([{"name": "https", "port": 443, "protocol": "TCP"}])
    );
}

#[test]
fn node_taints_are_replaced_by_a_strategic_merge_patch() {
    let s = server();
    let node = json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "a", "value": "1", "effect": "NoSchedule"}],
                 "podCIDRs": ["10.0.0.0/24"]},
    });
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(&node.to_string()),
    );
    s.kubectl_ok(&[
        "patch",
        "node",
        "n1",
        "-p",
        r#"{"spec":{"taints":[{"key":"b","effect":"NoExecute"}]}}"#,
    ]);
    let n = get(&s, &["node", "n1"]);
    assert_eq!(
        n["spec"]["taints"],
        json!([{"key": "b", "effect": "NoExecute"}])
    );
    assert_eq!(n["spec"]["podCIDRs"], json!(["10.0.0.0/24"]));

    // podCIDRs merge as a set; status addresses merge by type.
    s.kubectl_ok(&[
        "patch",
        "node",
        "n1",
        "-p",
        r#"{"spec":{"podCIDRs":["fd00::/64"]}}"#,
    ]);
    let n = get(&s, &["node", "n1"]);
    assert_eq!(n["spec"]["podCIDRs"], json!(["fd00::/64", "10.0.0.0/24"]));
    for addresses in [
        r#"{"status":{"addresses":[{"type":"InternalIP","address":"10.1.0.1"}]}}"#,
        r#"{"status":{"addresses":[{"type":"Hostname","address":"n1"}]}}"#,
    ] {
        s.kubectl_ok(&[
            "patch",
            "node",
            "n1",
            "--subresource=status",
            "-p",
            addresses,
        ]);
    }
    let n = get(&s, &["node", "n1"]);
    assert_eq!(
        n["status"]["addresses"],
        json!([{"type": "Hostname", "address": "n1"},
               {"type": "InternalIP", "address": "10.1.0.1"}])
    );
}

fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
        },
    })
}

#[test]
fn service_ports_are_keyed_by_port_and_protocol_in_ssa_and_by_port_in_smp() {
    let s = server();
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "--server-side", "-f", "-"],
        Some(&service().to_string()),
    );
    let svc = get(&s, &["service", "web"]);
    let entry = managed_entry(&svc, "kubectl", "Apply");
    assert_eq!(
        entry["fieldsV1"]["f:spec"],
        json!({
            "f:ports": {
                "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}},
                "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}},
            },
            "f:selector": {},
        })
    );

    // A strategic merge patch merges ports by `port`.
    s.kubectl_ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"ports":[{"port":80,"name":"web"}]}}"#,
    ]);
    let svc = get(&s, &["service", "web"]);
    let ports: Vec<(Value, Value)> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| (p["port"].clone(), p["name"].clone()))
        .collect();
    assert_eq!(
        ports,
        vec![(json!(80), json!("web")), (json!(443), json!("https"))]
    );
    // The patcher now owns the port's name.
    let entry = managed_entry(&svc, "kubectl-patch", "Update");
    assert_eq!(
        entry["fieldsV1"]["f:spec"]["f:ports"],
        json!({"k:{\"port\":80,\"protocol\":\"TCP\"}": {"f:name": {}}})
    );
}

fn deployment(volumes: Value, strategy: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "strategy": strategy,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.27",
                                    "ports": [{"containerPort": 80}]}],
                    "volumes": volumes,
                },
            },
        },
    })
}

fn volume_names(d: &Value) -> Vec<String> {
    d["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kubectl_apply_merges_volumes_by_name_and_retains_keys() {
    let s = server();
    let rolling = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2}});
    apply(
        &s,
        &deployment(
            json!([{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]),
            rolling.clone(),
        ),
    );
    // A volume added by someone else survives the next apply (merged by name).
    s.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"volumes":[{"name":"extra","emptyDir":{}}]}}}}"#,
    ]);
    assert_eq!(
        volume_names(&get(&s, &["deployment", "web"])),
        ["extra", "a", "b"]
    );

    // Drop b, switch a from emptyDir to hostPath (retainKeys drops emptyDir),
    // and switch the strategy to Recreate (retainKeys drops rollingUpdate).
    apply(
        &s,
        &deployment(
            json!([{"name": "a", "hostPath": {"path": "/tmp"}}]),
            json!({"type": "Recreate"}),
        ),
    );
    let d = get(&s, &["deployment", "web"]);
    assert_eq!(volume_names(&d), ["extra", "a"]);
    let a = &d["spec"]["template"]["spec"]["volumes"][1];
    assert!(a.get("emptyDir").is_none(), "{a}");
    assert_eq!(a["hostPath"]["path"], "/tmp", "{a}");
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
}

#[test]
fn server_side_apply_keys_container_ports_by_port_and_protocol() {
    let s = server();
    let mut d = deployment(
        json!([{"name": "a", "emptyDir": {}}]),
        json!({"type": "Recreate"}),
    );
    d["spec"]["template"]["spec"]["topologySpreadConstraints"] = json!([{
        "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "maxSkew": 1,
        "labelSelector": {"matchLabels": {"app": "web"}},
    }]);
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "--server-side", "-f", "-"],
        Some(&d.to_string()),
    );
    let live = get(&s, &["deployment", "web"]);
    let entry = managed_entry(&live, "kubectl", "Apply");
    let pod_spec = &entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"];
    assert_eq!(
        pod_spec["f:containers"]["k:{\"name\":\"web\"}"],
        json!({
            ".": {}, "f:image": {}, "f:name": {},
            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
        })
    );
    assert_eq!(
        pod_spec["f:volumes"],
        json!({"k:{\"name\":\"a\"}": {".": {}, "f:emptyDir": {}, "f:name": {}}})
    );
    assert_eq!(
        pod_spec["f:topologySpreadConstraints"],
        json!({"k:{\"topologyKey\":\"zone\",\"whenUnsatisfiable\":\"DoNotSchedule\"}": {
            ".": {}, "f:labelSelector": {}, "f:maxSkew": {}, "f:topologyKey": {},
            "f:whenUnsatisfiable": {},
        }})
    );
    // The label selector is atomic: owned whole.
    assert_eq!(entry["fieldsV1"]["f:spec"]["f:selector"], json!({}));
}

#[test]
fn openapi_publishes_the_patch_metadata() {
    let s = server();
    let v3 = json(&s.kubectl_ok(&["get", "--raw", "/openapi/v3/apis/apps/v1"]));
    let schemas = &v3["components"]["schemas"];
    let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(
        schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"]
            ["x-kubernetes-list-map-keys"],
        json!(["containerPort", "protocol"])
    );
    assert_eq!(
        schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
            ["x-kubernetes-patch-strategy"],
        "retainKeys"
    );
    assert_eq!(
        schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
        "atomic"
    );
    let v2 = json(&s.kubectl_ok(&["get", "--raw", "/openapi/v2"]));
    let taints = &v2["definitions"]["io.k8s.api.core.v1.NodeSpec"]["properties"]["taints"];
    assert_eq!(taints["x-kubernetes-list-type"], "atomic");
    assert!(taints.get("x-kubernetes-patch-strategy").is_none());
    assert_eq!(
        v2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"]
            ["x-kubernetes-patch-strategy"],
        "merge,retainKeys"
    );
}
