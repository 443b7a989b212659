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
}
