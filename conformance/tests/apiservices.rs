//! apiregistration.k8s.io APIServices: the server's own group-versions are
//! registered as `Local` and available; APIServices for aggregated APIs
//! (metrics-server's) are stored, validated, and say why they are not
//! available.

use std::time::Duration;

use conformance::{json, Server};

const WAIT: Duration = Duration::from_secs(60);

const METRICS: &str = r#"
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    name: metrics-server
    namespace: kube-system
"#;

const SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
spec:
  selector: {k8s-app: metrics-server}
  ports: [{name: https, port: 443, targetPort: https}]
"#;

fn available(s: &Server, name: &str) -> String {
    s.kubectl_ok(&["get", "apiservice", name, "--no-headers"])
        .split_whitespace()
        .skip(2)
        .take_while(|w| !w.ends_with('s') || w.starts_with('('))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn local_and_aggregated_api_services() {
    let s = Server::start();
    let table = s.wait_for(WAIT, "the local APIServices", || {
        let out = s.kubectl_ok(&["get", "apiservices"]);
        out.contains("v2.autoscaling").then_some(out)
    });
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "SERVICE", "AVAILABLE", "AGE"]);
    for name in [
        "v1.",
        "v1.apps",
        "v1.apiregistration.k8s.io",
        "v2.autoscaling",
    ] {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{table}"));
        assert!(line.contains("Local") && line.contains("True"), "{line}");
    }
    let apps = json(&s.kubectl_ok(&["get", "apiservice", "v1.apps", "-o", "json"]));
    assert_eq!(apps["spec"]["group"], "apps");
    assert_eq!(apps["spec"]["groupPriorityMinimum"], 17800);
    assert_eq!(apps["spec"]["versionPriority"], 15);
    assert_eq!(apps["status"]["conditions"][0]["reason"], "Local");

    // An aggregated API whose Service does not exist yet, then has no endpoints.
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(METRICS),
    );
    s.wait_for(WAIT, "ServiceNotFound", || {
        (available(&s, "v1beta1.metrics.k8s.io") == "False (ServiceNotFound)").then_some(())
    });
    let msg = json(&s.kubectl_ok(&["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"]))
        ["status"]["conditions"][0]["message"]
        .clone();
    assert_eq!(
        msg,
        "service/metrics-server in \"kube-system\" is not present"
    );
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(SERVICE),
    );
    s.wait_for(WAIT, "MissingEndpoints", || {
        (available(&s, "v1beta1.metrics.k8s.io") == "False (MissingEndpoints)").then_some(())
    });
    // Its group is not in discovery, so kubectl says what it says upstream
    // when metrics-server is not working.
    let apis = s.kubectl_ok(&["api-versions"]);
    assert!(!apis.contains("metrics.k8s.io"), "{apis}");

    // Validation as kube-aggregator's.
    for (from, to, why) in [
        (
            "name: v1beta1.metrics.k8s.io",
            "name: metrics",
            r#"metadata.name: Invalid value: "metrics": must be `spec.version+"."+spec.group`: "v1beta1.metrics.k8s.io""#,
        ),
        (
            "groupPriorityMinimum: 100",
            "groupPriorityMinimum: 0",
            "spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000",
        ),
    ] {
        let bad = METRICS.replace(from, to);
        let out = s.kubectl_with(
            &conformance::kubectl_path(),
            &["apply", "-f", "-"],
            Some(&bad),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1beta1
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

/// As upstream's crdregistration controller: each group-version a CRD serves
/// has a local APIService while it does, and only then.
#[test]
fn crd_group_versions_get_local_api_services() {
    let s = Server::start();
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(CRD),
    );
    s.wait_for(WAIT, "v1.stable.example.com Local True", || {
        let out = s.kubectl(&["get", "apiservice", "v1.stable.example.com", "--no-headers"]);
        let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        (words.get(1..3) == Some(&["Local".to_string(), "True".to_string()][..])).then_some(())
    });
    let svc = json(&s.kubectl_ok(&["get", "apiservice", "v1.stable.example.com", "-o", "json"]));
    assert_eq!(
        svc["metadata"]["labels"]["kube-aggregator.kubernetes.io/automanaged"],
        "true"
    );
    assert_eq!(svc["spec"]["groupPriorityMinimum"], 1000);
    assert_eq!(svc["spec"]["versionPriority"], 100);
    // A version that is not served has none.
    let out = s.kubectl(&["get", "apiservice", "v1beta1.stable.example.com"]);
    assert!(!out.status.success());

    // Serving v1beta1 too adds its APIService; deleting the CRD removes both.
    let both = CRD.replace("served: false", "served: true");
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(&both),
    );
    s.wait_for(WAIT, "v1beta1.stable.example.com", || {
        s.kubectl(&["get", "apiservice", "v1beta1.stable.example.com"])
            .status
            .success()
            .then_some(())
    });
    s.kubectl_ok(&["delete", "crd", "widgets.stable.example.com"]);
    s.wait_for(WAIT, "the CRD's APIServices to go", || {
        let out = s.kubectl_ok(&["get", "apiservices", "-o", "name"]);
        (!out.contains("stable.example.com")).then_some(())
    });
    // The built-in ones stay.
    let out = s.kubectl_ok(&["get", "apiservices", "-o", "name"]);
    assert!(
        out.contains("apiservice.apiregistration.k8s.io/v1.apps"),
        "{out}"
    );
}
