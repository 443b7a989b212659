//! Several ferrokube processes forming one Raft cluster: `--peer-listen` on
//! each, `--join` on the new ones; writes through one API server are read
//! through another.

use conformance::{json, kubectl_path, Server};

fn start_member(seed: &str, id: u32) -> Server {
    let id = id.to_string();
    Server::start_with(&[
        "--node-id",
        &id,
        "--peer-listen",
        "127.0.0.1:0",
        "--join",
        seed,
    ])
    .unwrap_or_else(|e| panic!("node {id} did not join: {e:#}"))
}

#[test]
fn three_nodes_share_one_store() {
    let first = Server::start_with(&["--peer-listen", "127.0.0.1:0"])
        .unwrap_or_else(|e| panic!("first node: {e:#}"));
    let seed = first.peer_address().expect("peer-address file");
    assert!(seed.starts_with("127.0.0.1:"), "{seed}");
    let second = start_member(&seed, 2);
    let third = start_member(&seed, 3);

    let manifest =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"k":"v"}}"#;
    first.kubectl_with_ok(&kubectl_path(), &["create", "-f", "-"], Some(manifest));
    for node in [&second, &third] {
        let cm = json(&node.kubectl_ok(&["get", "configmap", "shared", "-o", "json"]));
        assert_eq!(cm["data"]["k"], "v");
    }
    // And the other way round.
    third.kubectl_ok(&["label", "configmap", "shared", "via=third"]);
    let label = first.kubectl_ok(&[
        "get",
        "configmap",
        "shared",
        "-o",
        "jsonpath={.metadata.labels.via}",
    ]);
    assert_eq!(label, "third");

    // One signing key for the cluster: a ServiceAccount token made through
    // one node authenticates on the others.
    first.kubectl_ok(&["create", "serviceaccount", "robot"]);
    let token = first.kubectl_ok(&["create", "token", "robot"]);
    for node in [&second, &third] {
        let server = format!("--server={}", node.url());
        let bearer = format!("--token={}", token.trim());
        let out = std::process::Command::new(kubectl_path())
            .args([
                "--kubeconfig=/dev/null",
                "--insecure-skip-tls-verify",
                &server,
                &bearer,
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ])
            .output()
            .expect("kubectl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "system:serviceaccount:default:robot",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A CRD created through one node is served by every node: each builds its
/// catalog from the replicated CRDs.
#[test]
fn a_crd_created_on_one_node_is_served_by_all() {
    let first = Server::start_with(&[
        "--peer-listen",
        "127.0.0.1:0",
        "--controllers=",
        "--nodes",
        "0",
    ])
    .unwrap_or_else(|e| panic!("first node: {e:#}"));
    let seed = first.peer_address().expect("peer-address file");
    let second = Server::start_with(&[
        "--node-id",
        "2",
        "--peer-listen",
        "127.0.0.1:0",
        "--join",
        &seed,
        "--controllers=",
        "--nodes",
        "0",
    ])
    .unwrap_or_else(|e| panic!("node 2 did not join: {e:#}"));
    let crd = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
      "metadata":{"name":"gadgets.cluster.example.com"},
      "spec":{"group":"cluster.example.com","scope":"Namespaced",
        "names":{"plural":"gadgets","kind":"Gadget"},
        "versions":[{"name":"v1","served":true,"storage":true,
          "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}"#;
    first.kubectl_with_ok(&kubectl_path(), &["create", "-f", "-"], Some(crd));
    first.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.cluster.example.com",
        "--timeout=30s",
    ]);
    let gadget = r#"{"apiVersion":"cluster.example.com/v1","kind":"Gadget","metadata":{"name":"g1"},"spec":{"x":1}}"#;
    // The second node may take a moment to see the CRD.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = second.kubectl_with(&kubectl_path(), &["create", "-f", "-"], Some(gadget));
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node 2 never served gadgets: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let g = json(&first.kubectl_ok(&["get", "gadgets", "g1", "-o", "json"]));
    assert_eq!(g["spec"]["x"], 1);
}
