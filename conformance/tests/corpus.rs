//! The shared corpus of real manifests (`../shared/corpus`): whole install
//! bundles apply and their workloads run on the simulated nodes, and the
//! 707 single objects apply server-side as on kube-apiserver, with a client
//! mistake answered by a 4xx and never by a server error. Skipped, with a
//! message, where the corpus is absent (a user's clone).

use std::path::Path;
use std::time::Duration;

use conformance::{json, Server};

const WAIT: Duration = Duration::from_secs(180);

fn apply(s: &Server, path: &Path, extra: &[&str]) -> (bool, String, String) {
    let file = path.display().to_string();
    let mut args = vec!["apply", "--server-side", "-f", &file];
    args.extend_from_slice(extra);
    let out = s.kubectl(&args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn all_crds_established(s: &Server) {
    s.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=60s",
    ]);
}

/// What no client mistake may produce.
fn assert_no_server_errors(s: &Server, stderr: &str) {
    for bad in [
        "InternalError",
        "Internal error",
        "(InternalError)",
        "the server has asked",
    ] {
        assert!(!stderr.contains(bad), "{bad}:\n{stderr}");
    }
    assert!(!s.log().contains("panicked"), "{}", s.log());
}

#[test]
fn install_bundles_apply_and_their_workloads_run() {
    let Some(corpus) = conformance::corpus() else {
        return;
    };
    let s = Server::start();
    let bundles = corpus.join("bundles");
    // kube-prometheus needs its CRDs first; argo-cd's install names no namespace.
    let (ok, _, err) = apply(&s, &bundles.join("kube-prometheus-setup.yaml"), &[]);
    assert!(ok, "{err}");
    all_crds_established(&s);
    s.kubectl_ok(&["create", "namespace", "argocd"]);
    for (bundle, extra) in [
        ("kube-prometheus.yaml", &[][..]),
        ("argo-cd-install.yaml", &["-n", "argocd"][..]),
        ("ingress-nginx-cloud.yaml", &[][..]),
        ("metrics-server.yaml", &[][..]),
        ("microservices-demo.yaml", &[][..]),
    ] {
        let (ok, out, err) = apply(&s, &bundles.join(bundle), extra);
        assert!(ok, "{bundle}: {err}");
        assert!(
            out.lines().all(|l| l.ends_with("serverside-applied")),
            "{bundle}: {out}"
        );
    }
    // Every Deployment and StatefulSet of them becomes ready on the simulated nodes.
    s.wait_for(WAIT, "every Deployment available", || {
        let all = json(&s.kubectl_ok(&["get", "deployments", "-A", "-o", "json"]));
        let items = all["items"].as_array().cloned().unwrap_or_default();
        let ready = |d: &serde_json::Value| {
            d["status"]["availableReplicas"].as_i64().unwrap_or(0)
                >= d["spec"]["replicas"].as_i64().unwrap_or(1)
        };
        (items.len() >= 20 && items.iter().all(ready)).then_some(())
    });
    let sets = json(&s.kubectl_ok(&["get", "statefulsets", "-A", "-o", "json"]));
    for set in sets["items"].as_array().into_iter().flatten() {
        let name = set["metadata"]["name"].as_str().unwrap_or_default();
        let ns = set["metadata"]["namespace"].as_str().unwrap_or_default();
        s.wait_for(WAIT, &format!("statefulset {ns}/{name} ready"), || {
            let now = json(&s.kubectl_ok(&["get", "statefulset", "-n", ns, name, "-o", "json"]));
            (now["status"]["readyReplicas"] == now["spec"]["replicas"]).then_some(())
        });
    }
    // What users then look at works.
    let all = s.kubectl_ok(&["get", "all", "-A"]);
    assert!(all.contains("deployment.apps/frontend"), "{all}");
    s.kubectl_ok(&["describe", "deployment", "-n", "argocd", "argocd-server"]);
}

#[test]
fn corpus_objects_apply_server_side() {
    let Some(corpus) = conformance::corpus() else {
        return;
    };
    let index = std::fs::read_to_string(corpus.join("objects-index.tsv")).expect("index");
    let crds = tempfile::tempdir().expect("tempdir");
    let objects = tempfile::tempdir().expect("tempdir");
    let mut namespaces = std::collections::BTreeSet::new();
    let mut total = 0;
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 7 {
            continue;
        }
        let (kind, ns, file) = (f[1], f[3], corpus.join(f[6]));
        let dir = if kind == "CustomResourceDefinition" {
            &crds
        } else {
            &objects
        };
        let name = file.file_name().expect("file name");
        std::fs::copy(&file, dir.path().join(name)).expect("copy");
        if !ns.is_empty() {
            namespaces.insert(ns.to_string());
        }
        total += 1;
    }
    assert_eq!(total, 707, "the corpus changed");
    let s = Server::start();
    let (_, out, err) = apply(&s, crds.path(), &[]);
    assert_no_server_errors(&s, &err);
    let crds_applied = out
        .lines()
        .filter(|l| l.ends_with("serverside-applied"))
        .count();
    // Two CRDs of the corpus are invalid (an apiextensions v1beta1 shape and
    // a fragment), as kube-apiserver says too.
    assert_eq!(crds_applied, 21, "{out}\n{err}");
    assert!(
        err.contains(
            r#"CustomResourceDefinition.apiextensions.k8s.io "examples.example.io" is invalid"#
        ),
        "{err}"
    );
    all_crds_established(&s);
    for ns in &namespaces {
        let _ = s.kubectl(&["create", "namespace", ns]);
    }
    let (_, out, err) = apply(&s, objects.path(), &[]);
    assert_no_server_errors(&s, &err);
    let applied = out
        .lines()
        .filter(|l| l.ends_with("serverside-applied"))
        .count();
    // kube-apiserver v1.28 accepted 639 of the 707 one file at a time; in one
    // call, objects sharing a name update each other and some of those
    // updates are refused (immutable fields), so fewer apply here.
    assert!(
        applied >= 600,
        "only {applied} of 684 objects applied:\n{err}"
    );
    // Refusals are upstream's kinds of answers.
    for line in err.lines().filter(|l| l.starts_with("Error from server")) {
        let known = [
            "(Invalid)",
            "(BadRequest)",
            "(NotFound)",
            "(Forbidden)",
            "(Conflict)",
        ];
        assert!(known.iter().any(|k| line.contains(k)), "{line}");
    }
}
