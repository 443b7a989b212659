//! The rules of the corpus' CRDs (shared/corpus: cert-manager, Prometheus
//! operator, ...) compile, the corpus' custom resources pass them, and
//! resources changed to break them are rejected with the CRDs' messages.
//! Skipped, with a message, when the corpus is absent.

use super::{check, validate};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// shared/ sits beside the clone (CI, developers); FERROKUBE_CORPUS overrides.
fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("FERROKUBE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
        });
    if root.join("objects").is_dir() {
        Some(root)
    } else {
        eprintln!(
            "corpus not found at {} (set FERROKUBE_CORPUS); skipping",
            root.display()
        );
        None
    }
}

fn yaml_docs(path: &std::path::Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line.trim_end() == "---" {
            if let Ok(v) = serde_saphyr::from_str::<Value>(&current) {
                if v.is_object() {
                    docs.push(v);
                }
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    docs
}

fn files(dir: PathBuf) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Every CRD of the corpus (objects and bundles), read once.
fn crds(root: &std::path::Path) -> Vec<Value> {
    static CRDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    CRDS.get_or_init(|| read_crds(root)).clone()
}

fn read_crds(root: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    let sources = files(root.join("objects/CustomResourceDefinition"))
        .into_iter()
        .chain(files(root.join("bundles")));
    for f in sources {
        for doc in yaml_docs(&f) {
            if doc["kind"] == "CustomResourceDefinition" {
                out.push(doc);
            }
        }
    }
    out
}

/// Schemas by "group/version Kind".
fn schemas(crds: &[Value]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for crd in crds {
        let group = crd["spec"]["group"].as_str().unwrap_or("");
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or("");
        for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
            let schema = &v["schema"]["openAPIV3Schema"];
            if schema.is_object() {
                let name = v["name"].as_str().unwrap_or("");
                out.insert(format!("{group}/{name} {kind}"), schema.clone());
            }
        }
    }
    out
}

fn count_rules(s: &Value) -> usize {
    let here = s["x-kubernetes-validations"].as_array().map_or(0, Vec::len);
    let props: usize = s["properties"]
        .as_object()
        .map_or(0, |m| m.values().map(count_rules).sum());
    here + props + count_rules_opt(&s["items"]) + count_rules_opt(&s["additionalProperties"])
}

fn count_rules_opt(s: &Value) -> usize {
    if s.is_object() {
        count_rules(s)
    } else {
        0
    }
}

#[test]
fn corpus_rules_compile() {
    let Some(root) = corpus() else {
        return;
    };
    let mut rules = 0;
    let mut failures = Vec::new();
    for crd in crds(&root) {
        for (i, v) in crd["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let schema = &v["schema"]["openAPIV3Schema"];
            if !schema.is_object() {
                continue;
            }
            rules += count_rules(schema);
            let path = format!("spec.versions[{i}].schema.openAPIV3Schema");
            for e in check(schema, &path) {
                failures.push(format!("{}: {e}", crd["metadata"]["name"]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(rules >= 40, "only {rules} rules found in the corpus");
}

#[test]
fn corpus_custom_resources_pass_their_rules() {
    let Some(root) = corpus() else {
        return;
    };
    let schemas = schemas(&crds(&root));
    let mut failures = Vec::new();
    let mut validated = 0;
    for kind_dir in files(root.join("objects")) {
        for f in files(kind_dir) {
            for obj in yaml_docs(&f) {
                let key = format!(
                    "{} {}",
                    obj["apiVersion"].as_str().unwrap_or(""),
                    obj["kind"].as_str().unwrap_or("")
                );
                let Some(schema) = schemas.get(&key) else {
                    continue;
                };
                if count_rules(schema) == 0 {
                    continue;
                }
                validated += 1;
                for e in validate(schema, &obj, None) {
                    failures.push(format!("{}: create: {e}", f.display()));
                }
                for e in validate(schema, &obj, Some(&obj)) {
                    failures.push(format!("{}: update: {e}", f.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        validated >= 20,
        "only {validated} custom resources had rules"
    );
}

/// The first corpus object of `kind` with its schema.
fn sample(root: &std::path::Path, kind: &str) -> (Value, Value) {
    let schemas = schemas(&crds(root));
    for f in files(root.join("objects").join(kind)) {
        for obj in yaml_docs(&f) {
            let key = format!("{} {}", obj["apiVersion"].as_str().unwrap_or(""), kind);
            if let Some(s) = schemas.get(&key) {
                if count_rules(s) > 0 {
                    return (s.clone(), obj);
                }
            }
        }
    }
    panic!("no {kind} with rules in the corpus");
}

fn messages(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<String> {
    validate(schema, obj, old)
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn corpus_rules_reject_violations() {
    let Some(root) = corpus() else {
        return;
    };
    let (schema, mut agent) = sample(&root, "PrometheusAgent");
    agent["spec"]["mode"] = json!("DaemonSet");
    agent["spec"]["replicas"] = json!(2);
    assert_eq!(
        messages(&schema, &agent, None),
        vec![
            r#"spec: Invalid value: "object": replicas cannot be set when mode is DaemonSet"#,
            r#"spec: Invalid value: "object": serviceMonitorSelector cannot be set when mode is DaemonSet"#,
        ]
    );

    let (schema, mut prom) = sample(&root, "Prometheus");
    prom["spec"]["shardingStrategy"] = json!({"topology": {"values": ["a", "b"]}});
    assert_eq!(
        messages(&schema, &prom, None),
        vec![
            r#"spec.shardingStrategy: Invalid value: "object": topology can only be defined when mode is set to 'Topology'"#
        ]
    );
    prom["spec"]["shardingStrategy"]["mode"] = json!("Topology");
    prom["spec"]["shards"] = json!(1);
    assert_eq!(
        messages(&schema, &prom, None),
        vec![
            r#"spec: Invalid value: "object": shards must be greater than or equal to the number of topology values when sharding strategy mode is Topology"#
        ]
    );
    // unchanged on update: ratcheted
    assert_eq!(messages(&schema, &prom, Some(&prom)), Vec::<String>::new());

    let (schema, mut issuer) = sample(&root, "ClusterIssuer");
    issuer["spec"] = json!({"venafi": {"zone": "z"}});
    assert_eq!(
        messages(&schema, &issuer, None),
        vec![
            r#"spec.venafi: Invalid value: "object": exactly one of tpp, cloud, or ngts must be configured"#
        ]
    );
}
