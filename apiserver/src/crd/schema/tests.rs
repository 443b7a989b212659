//! Tests of the public API with upstream's exact messages, and over the
//! real CRDs and custom resources of the shared corpus.

use super::*;
use serde_json::json;

const P: &str = "spec.versions[0].schema.openAPIV3Schema";

fn texts(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

fn widget_schema() -> Schema {
    Schema::parse(&json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z]+$"},
                    "replicas": {"type": "integer"},
                    "count": {"type": "integer", "minimum": 0, "maximum": 10},
                    "ratio": {"type": "number", "maximum": 10.5, "exclusiveMinimum": true, "minimum": 0},
                    "size": {"type": "string", "enum": ["small", "large"]},
                    "code": {"type": "string", "minLength": 2, "maxLength": 3},
                    "tags": {"type": "array", "minItems": 1, "maxItems": 1,
                             "items": {"type": "string"}},
                    "when": {"type": "string", "format": "date-time"},
                    "size32": {"type": "integer", "format": "int32"},
                    "port": {"x-kubernetes-int-or-string": true},
                    "nick": {"type": "string", "nullable": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {"type": "array", "items": {"type": "object",
                              "properties": {"name": {"type": "string"}}}},
                    "step": {"type": "integer", "multipleOf": 5}
                }
            }
        }
    }))
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "default"}, "spec": spec})
}

#[test]
fn valid_object_has_no_errors() {
    let obj = widget(
        json!({"name": "abc", "replicas": 3, "count": 10, "ratio": 10.5,
        "size": "small", "code": "ab", "tags": ["x"], "when": "2024-01-02T03:04:05Z",
        "size32": 99999999999i64, "port": "http", "nick": null, "labels": {"a": "b"},
        "items": [{"name": "n"}], "step": 15}),
    );
    assert_eq!(
        texts(&validate(&widget_schema(), &obj)),
        Vec::<String>::new()
    );
    let obj = widget(json!({"name": "abc", "port": 8080, "replicas": 3.0}));
    assert_eq!(
        texts(&validate(&widget_schema(), &obj)),
        Vec::<String>::new()
    );
}

#[test]
fn validation_messages_match_upstream() {
    let s = widget_schema();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "a", "replicas": "3"}),
         r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#),
        (json!({"name": "a", "replicas": 1.5}),
         r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#),
        (json!({"name": "a", "size": "huge"}),
         r#"spec.size: Unsupported value: "huge": supported values: "small", "large""#),
        (json!({}), "spec.name: Required value"),
        (json!({"name": "a", "count": 11}),
         "spec.count: Invalid value: 11: spec.count in body should be less than or equal to 10"),
        (json!({"name": "a", "count": -1}),
         "spec.count: Invalid value: -1: spec.count in body should be greater than or equal to 0"),
        (json!({"name": "a", "ratio": 11.25}),
         "spec.ratio: Invalid value: 11.25: spec.ratio in body should be less than or equal to 10.5"),
        (json!({"name": "a", "ratio": 0}),
         "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
        (json!({"name": "Abc"}),
         r#"spec.name: Invalid value: "Abc": spec.name in body should match '^[a-z]+$'"#),
        (json!({"name": "a", "code": "abcd"}), "spec.code: Too long: may not be more than 3 bytes"),
        (json!({"name": "a", "code": "a"}),
         r#"spec.code: Invalid value: "a": spec.code in body should be at least 2 chars long"#),
        (json!({"name": "a", "tags": ["x", "y"]}), "spec.tags: Too many: 2: must have at most 1 item"),
        (json!({"name": "a", "tags": []}),
         "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"),
        (json!({"name": "a", "when": "yesterday"}),
         r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#),
        (json!({"name": "a", "port": true}),
         r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#),
        (json!({"name": null}),
         r#"spec.name: Invalid value: "null": spec.name in body must be of type string: "null""#),
        (json!({"name": "a", "labels": {"foo": 1}}),
         r#"spec.labels.foo: Invalid value: "integer": spec.labels.foo in body must be of type string: "integer""#),
        (json!({"name": "a", "items": [{"name": 2}]}),
         r#"spec.items[0].name: Invalid value: "integer": spec.items[0].name in body must be of type string: "integer""#),
        (json!({"name": "a", "step": 7}),
         "spec.step: Invalid value: 7: spec.step in body should be a multiple of 5"),
        (json!({"name": "a", "tags": "x"}),
         r#"spec.tags: Invalid value: "string": spec.tags in body must be of type array: "string""#),
    ];
    for (spec, want) in cases {
        assert_eq!(
            texts(&validate(&s, &widget(spec.clone()))),
            vec![want.to_string()],
            "{spec}"
        );
    }
    let errs = validate(
        &s,
        &json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": 3}),
    );
    assert_eq!(
        texts(&errs),
        vec![r#"spec: Invalid value: "integer": spec in body must be of type object: "integer""#]
    );
}

#[test]
fn enum_of_non_strings_and_null_data() {
    let s = Schema::parse(&json!({"type": "object", "properties": {
        "level": {"type": "integer", "enum": [1, 2]},
        "opt": {"type": "string", "nullable": true, "enum": ["a"]}}}));
    let errs = validate(&s, &json!({"level": 3, "opt": null}));
    assert_eq!(
        texts(&errs),
        vec![
            r#"spec.level: Unsupported value: 3: supported values: "1", "2""#.replace("spec.", ""),
            r#"opt: Unsupported value: null: supported values: "a""#.to_string(),
        ]
    );
    assert!(validate(&s, &json!({"level": 2.0})).is_empty());
}

#[test]
fn combinators_report_at_nil_like_upstream() {
    let s = Schema::parse(&json!({"type": "object", "properties": {
        "x": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
              "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}}}));
    assert!(validate(&s, &json!({"x": {"a": "1"}})).is_empty());
    assert_eq!(
        texts(&validate(&s, &json!({"x": {"a": "1", "b": "2"}}))),
        vec![
            r#"<nil>: Invalid value: "": "x" must validate one and only one schema (oneOf). Found 2 valid alternatives"#
        ]
    );
    assert_eq!(
        texts(&validate(&s, &json!({"x": {}}))),
        vec![
            r#"<nil>: Invalid value: "": "x" must validate one and only one schema (oneOf). Found none valid"#,
            "x.a: Required value",
        ]
    );
    let s = Schema::parse(&json!({"type": "object", "properties": {"port": {
        "x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}));
    assert!(validate(&s, &json!({"port": "http"})).is_empty());
    assert_eq!(
        texts(&validate(&s, &json!({"port": 1.5}))),
        vec![
            r#"port: Invalid value: "number": port in body must be of type integer,string: "number""#,
            r#"<nil>: Invalid value: "": "port" must validate at least one schema (anyOf)"#,
            r#"port: Invalid value: "number": port in body must be of type integer: "number""#,
        ]
    );
}

#[test]
fn embedded_resources_and_list_types() {
    let s = Schema::parse(
        &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "x-kubernetes-preserve-unknown-fields": true},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                      "items": {"type": "object", "required": ["port"],
                                "properties": {"port": {"type": "integer"}, "name": {"type": "string"}}}}
        }}}}),
    );
    let obj = json!({"spec": {
        "template": {"metadata": {"name": "a/b"}},
        "tags": ["a", "b", "a", "a"],
        "ports": [{"port": 80}, {"port": 80, "name": "x"}, {"port": 81}]
    }});
    assert_eq!(
        texts(&validate(&s, &obj)),
        vec![
            "spec.template.apiVersion: Required value",
            "spec.template.kind: Required value",
            r#"spec.template.metadata.name: Invalid value: "a/b": may not contain '/'"#,
            "spec.ports[1]: Duplicate value: map[string]interface {}{\"port\":80}",
            r#"spec.tags[2]: Duplicate value: "a""#,
        ]
    );
    let ok = json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"anything": true}}}});
    assert!(validate(&s, &ok).is_empty());
    let bad = json!({"spec": {"template": {"apiVersion": "a/b/c", "kind": "my_kind"}}});
    assert_eq!(
        texts(&validate(&s, &bad)),
        vec![
            r#"spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            r#"spec.template.kind: Invalid value: "my_kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
        ]
    );
}

#[test]
fn prune_removes_undeclared_fields_and_reports_paths() {
    let s = Schema::parse(&json!({"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "a": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"z": {"type": "integer"}}}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                 "properties": {"known": {"type": "object", "properties": {"k": {"type": "string"}}}}},
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "x-kubernetes-preserve-unknown-fields": true}
    }}}}));
    let mut obj = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "custom": 1},
        "spec": {"a": 1, "b": 2, "items": [{"x": 1, "y": 2}], "m": {"k": {"z": 1, "w": 2}},
                 "free": {"anything": {"deep": 1}, "known": {"k": "v", "junk": 1}},
                 "template": {"apiVersion": "v1", "kind": "Pod", "spec": {"c": 1},
                              "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": true}}},
        "status": {"ready": true}});
    let mut removed = prune(&s, &mut obj);
    removed.sort();
    assert_eq!(
        removed,
        vec![
            "spec.b",
            "spec.free.known.junk",
            "spec.items[0].y",
            "spec.m.k.w",
            "spec.template.metadata.bogus",
            "status",
        ]
    );
    assert_eq!(
        obj,
        json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "custom": 1},
            "spec": {"a": 1, "items": [{"x": 1}], "m": {"k": {"z": 1}},
                     "free": {"anything": {"deep": 1}, "known": {"k": "v"}},
                     "template": {"apiVersion": "v1", "kind": "Pod", "spec": {"c": 1},
                                  "metadata": {"name": "p", "labels": {"a": "b"}}}}})
    );
}

#[test]
fn prune_drops_nulls_that_are_neither_nullable_nor_defaulted() {
    let s = widget_schema();
    let mut obj = widget(
        json!({"name": null, "nick": null, "labels": {"a": null}, "items": [{"name": null}]}),
    );
    assert!(prune(&s, &mut obj).is_empty());
    assert_eq!(
        obj["spec"],
        json!({"nick": null, "labels": {}, "items": [{}]})
    );
    assert_eq!(
        texts(&validate(&s, &obj)),
        vec!["spec.name: Required value"]
    );
}

#[test]
fn defaults_apply_to_custom_resources() {
    let s = Schema::parse(
        &json!({"type": "object", "properties": {"spec": {"type": "object",
        "properties": {"replicas": {"type": "integer", "default": 1}}}}}),
    );
    let mut obj = json!({"spec": {}});
    apply_defaults(&s, &mut obj);
    assert_eq!(obj, json!({"spec": {"replicas": 1}}));
}

fn check(schema: Value) -> Vec<String> {
    texts(&check_structural(&schema, P))
}

#[test]
fn structural_check_messages_match_upstream() {
    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
         vec![format!("{P}.properties[spec].type: Required value: must not be empty for specified object fields")]),
        (json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}}),
         vec![format!("{P}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive")]),
        (json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-preserve-unknown-fields": false}}}),
         vec![format!("{P}.properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined")]),
        (json!({"type": "object", "properties": {"spec": {"$ref": "#/definitions/Foo"}}}),
         vec![format!("{P}.properties[spec].$ref: Forbidden: $ref is not supported")]),
        (json!({"type": "string"}),
         vec![format!(r#"{P}.type: Invalid value: "string": must be object at the root"#)]),
        (json!({"type": "object", "properties": {"a": {"type": "array"}}}),
         vec![format!("{P}.properties[a].items: Required value: must be specified")]),
        (json!({"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}}),
         vec![format!(r#"{P}.properties[n].default: Invalid value: "string":  in body must be of type integer: "string""#)]),
        (json!({"type": "object", "properties": {"o": {"type": "object", "default": {"b": 1},
            "properties": {"a": {"type": "string"}}}}}),
         vec![format!(r#"{P}.properties[o].default: Invalid value: map[string]interface {{}}{{"b":1}}: must not have unknown fields"#)]),
        (json!({"type": "object", "properties": {"o": {"type": "object", "default": {"a": 5},
            "properties": {"a": {"type": "string"}}}}}),
         vec![format!(r#"{P}.properties[o].default.a: Invalid value: "integer": a in body must be of type string: "integer""#)]),
        (json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"labels": {"type": "object"}}}}}),
         vec![format!("{P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified")]),
        (json!({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}}),
         vec![format!("{P}.properties[metadata].default: Forbidden: must not be set in top-level metadata")]),
        (json!({"type": "object", "properties": {"x": {"type": "string", "anyOf": [{"type": "string"}]}}}),
         vec![format!("{P}.properties[x].anyOf[0].type: Forbidden: must be empty to be structural")]),
        (json!({"type": "object", "anyOf": [{"properties": {"x": {}}}]}),
         vec![format!("{P}.properties[x]: Required value: because it is defined in {P}.anyOf[0].properties[x]")]),
        (json!({"type": "object", "properties": {"p": {"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["port"],
            "items": {"type": "object", "properties": {"port": {"type": "integer"}}}}}}),
         vec![format!("{P}.properties[p].items.properties[port].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property")]),
        (json!({"type": "object", "properties": {"p": {"type": "array", "x-kubernetes-list-type": "set",
            "items": {"type": "object"}}}}),
         vec![format!("{P}.properties[p].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set")]),
        (json!({"type": "object", "properties": {"p": {"type": "string", "x-kubernetes-list-type": "list"}}}),
         vec![
             format!(r#"{P}.properties[p].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified"#),
             format!(r#"{P}.properties[p].x-kubernetes-list-type: Unsupported value: "list": supported values: "atomic", "set", "map""#),
         ]),
        (json!({"type": "object", "properties": {"t": {"type": "object", "x-kubernetes-embedded-resource": true}}}),
         vec![format!("{P}.properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields")]),
        (json!({"type": "object", "nullable": true}),
         vec![format!("{P}.nullable: Forbidden: nullable cannot be true at the root")]),
        (json!({"type": "object", "properties": {"u": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}}),
         vec![format!("{P}.properties[u].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic")]),
    ];
    for (schema, want) in cases {
        assert_eq!(check(schema.clone()), want, "{schema}");
    }
}

#[test]
fn structural_check_accepts_the_usual_shapes() {
    let ok = json!({"type": "object", "properties": {
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
        "spec": {"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "quantity": {"x-kubernetes-int-or-string": true,
                "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+$"}]},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                      "items": {"type": "object", "required": ["port"],
                                "properties": {"port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
            "replicas": {"type": "integer", "default": 1, "minimum": 0},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "x-kubernetes-preserve-unknown-fields": true},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }, "oneOf": [{"required": ["port"]}, {"required": ["quantity"]}]},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    }});
    assert_eq!(check(ok), Vec::<String>::new());
}

/// The shared corpus of real manifests: `shared/` beside the clone (or
/// beside the worktrees' parent); `FERROKUBE_CORPUS` overrides.
fn corpus_root() -> Option<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<std::path::PathBuf> = match std::env::var_os("FERROKUBE_CORPUS") {
        Some(p) => vec![p.into()],
        None => vec![
            manifest.join("../../shared/corpus"),
            manifest.join("../../../shared/corpus"),
        ],
    };
    let found = candidates
        .iter()
        .find(|r| r.join("objects").is_dir())
        .cloned();
    if found.is_none() {
        eprintln!("corpus not found at {candidates:?}; skipping");
    }
    found
}

fn yaml_docs(path: &std::path::Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn corpus_crds(root: &std::path::Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["objects/CustomResourceDefinition", "bundles"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    files.sort();
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        for doc in yaml_docs(&f) {
            if doc["kind"] == "CustomResourceDefinition"
                && doc["apiVersion"] == "apiextensions.k8s.io/v1"
            {
                out.push((name.clone(), doc));
            }
        }
    }
    out
}

#[test]
fn corpus_crds_pass_the_structural_check() {
    let Some(root) = corpus_root() else { return };
    let crds = corpus_crds(&root);
    assert!(crds.len() >= 20, "only {} CRDs found", crds.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, crd) in &crds {
        for (i, v) in crd["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let schema = &v["schema"]["openAPIV3Schema"];
            if schema.is_null() {
                continue;
            }
            checked += 1;
            let errs = check_structural(
                schema,
                &format!("spec.versions[{i}].schema.openAPIV3Schema"),
            );
            if !errs.is_empty() {
                failures.push(format!(
                    "{file} {}: {:?}",
                    crd["metadata"]["name"],
                    texts(&errs)
                ));
            }
        }
    }
    assert!(checked > 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_custom_resources_validate_and_prune() {
    let Some(root) = corpus_root() else { return };
    let mut schemas = std::collections::HashMap::new();
    for (_, crd) in corpus_crds(&root) {
        let group = crd["spec"]["group"].as_str().unwrap_or("").to_string();
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or("")
            .to_string();
        for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
            let version = v["name"].as_str().unwrap_or("");
            schemas.insert(
                (format!("{group}/{version}"), kind.clone()),
                Schema::parse(&v["schema"]["openAPIV3Schema"]),
            );
        }
    }
    let index = std::fs::read_to_string(root.join("objects-index.tsv")).unwrap_or_default();
    let (mut valid, mut invalid, mut unknown_kind) = (0, Vec::new(), 0);
    for line in index.lines().filter(|l| l.starts_with("cr\t")) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (kind, api_version, file) = (cols[1], cols[2], cols[6]);
        let Some(schema) = schemas.get(&(api_version.to_string(), kind.to_string())) else {
            unknown_kind += 1;
            continue;
        };
        for mut obj in yaml_docs(&root.join(file)) {
            apply_defaults(schema, &mut obj);
            let _removed = prune(schema, &mut obj);
            let errs = validate(schema, &obj);
            if errs.is_empty() {
                valid += 1;
            } else {
                invalid.push(format!("{file}: {:?}", texts(&errs)));
            }
        }
    }
    eprintln!(
        "{valid} valid, {} invalid, {unknown_kind} without a CRD in the corpus",
        invalid.len()
    );
    for i in &invalid {
        eprintln!("  {i}");
    }
    assert!(
        valid >= 55,
        "only {valid} custom resources validate:\n{}",
        invalid.join("\n")
    );
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or(Value::Null)
}

/// Upstream's integration test style: every expected violation is reported
/// (and none of the unexpected prefixes).
fn assert_violations(schema: &str, expected: &[&str], unexpected: &[&str]) {
    let got = check(yaml(schema));
    for e in expected {
        let e = e.replace("$P", P);
        assert!(got.contains(&e), "missing {e:?} in {got:#?}");
    }
    for u in unexpected {
        let u = u.replace("$P", P);
        assert!(
            !got.iter().any(|g| g.starts_with(&u)),
            "unexpected {u:?} in {got:#?}"
        );
    }
}

#[test]
fn structural_check_forbids_generics_and_extensions_under_junctors() {
    assert_violations(
        "
type: object
properties:
  foo: {type: string}
not: {type: string, additionalProperties: true, title: hello, description: world, nullable: true}
allOf:
- properties:
    foo: {type: string, additionalProperties: true, title: hello, description: world, nullable: true}
anyOf:
- items: {type: string, additionalProperties: true, title: hello, description: world, nullable: true}
",
        &[
            "$P.anyOf[0].items.type: Forbidden: must be empty to be structural",
            "$P.anyOf[0].items.additionalProperties: Forbidden: must be undefined to be structural",
            "$P.anyOf[0].items.title: Forbidden: must be empty to be structural",
            "$P.anyOf[0].items.description: Forbidden: must be empty to be structural",
            "$P.anyOf[0].items.nullable: Forbidden: must be false to be structural",
            "$P.allOf[0].properties[foo].type: Forbidden: must be empty to be structural",
            "$P.not.nullable: Forbidden: must be false to be structural",
            "$P.items: Required value: because it is defined in $P.anyOf[0].items",
        ],
        &["$P.not.default"],
    );
    assert_violations(
        "
type: object
properties:
  ios: {x-kubernetes-int-or-string: true}
  emb: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
  metadata: {type: object, properties: {name: {type: string}}}
oneOf:
- properties:
    ios: {x-kubernetes-int-or-string: true}
    emb: {x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
    metadata: {}
",
        &[
            "$P.oneOf[0].properties[emb].x-kubernetes-preserve-unknown-fields: Forbidden: must be false to be structural",
            "$P.oneOf[0].properties[emb].x-kubernetes-embedded-resource: Forbidden: must be false to be structural",
            "$P.oneOf[0].properties[ios].x-kubernetes-int-or-string: Forbidden: must be false to be structural",
            "$P.oneOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
        ],
        &[],
    );
}

#[test]
fn structural_check_int_or_string_variants() {
    assert_violations(
        "
type: object
properties:
  a: {x-kubernetes-int-or-string: true}
  b:
    x-kubernetes-int-or-string: true
    anyOf: [{type: integer}, {type: string}]
    allOf: [{pattern: abc}]
  c:
    x-kubernetes-int-or-string: true
    allOf: [{anyOf: [{type: integer}, {type: string}]}, {pattern: abc}]
  d:
    x-kubernetes-int-or-string: true
    anyOf: [{type: integer}, {type: string, pattern: abc}]
  e:
    x-kubernetes-int-or-string: true
    allOf: [{anyOf: [{type: integer}, {type: string, pattern: abc}]}, {pattern: abc}]
  g:
    x-kubernetes-int-or-string: true
    anyOf: [{type: string}, {type: integer}]
",
        &[
            "$P.properties[d].anyOf[0].type: Forbidden: must be empty to be structural",
            "$P.properties[d].anyOf[1].type: Forbidden: must be empty to be structural",
            "$P.properties[e].allOf[0].anyOf[0].type: Forbidden: must be empty to be structural",
            "$P.properties[e].allOf[0].anyOf[1].type: Forbidden: must be empty to be structural",
            "$P.properties[g].anyOf[0].type: Forbidden: must be empty to be structural",
            "$P.properties[g].anyOf[1].type: Forbidden: must be empty to be structural",
        ],
        &["$P.properties[a]", "$P.properties[b]", "$P.properties[c]"],
    );
}

#[test]
fn structural_check_missing_types_and_completeness() {
    assert_violations(
        "
properties:
  foo: {properties: {a: {}}}
  bar: {items: {additionalProperties: {properties: {a: {}}, items: {}}}}
  json: {x-kubernetes-preserve-unknown-fields: true, properties: {a: {}}}
",
        &[
            "$P.properties[foo].properties[a].type: Required value: must not be empty for specified object fields",
            "$P.properties[foo].type: Required value: must not be empty for specified object fields",
            "$P.properties[json].properties[a].type: Required value: must not be empty for specified object fields",
            "$P.properties[bar].items.additionalProperties.items.type: Required value: must not be empty for specified array items",
            "$P.properties[bar].items.type: Required value: must not be empty for specified array items",
            "$P.type: Required value: must not be empty at the root",
        ],
        &["$P.properties[json].type"],
    );
    assert_violations(
        "
type: object
properties:
  b: {type: object, properties: {b: {type: array}}}
  c: {type: array, items: {type: object}}
  d: {type: array}
not:
  properties:
    a: {}
    b: {not: {properties: {a: {}, b: {items: {}}}}}
    c: {items: {not: {items: {properties: {a: {}}}}}}
    d: {items: {}}
allOf: [{properties: {e: {}}}]
",
        &[
            "$P.properties[d].items: Required value: because it is defined in $P.not.properties[d].items",
            "$P.properties[a]: Required value: because it is defined in $P.not.properties[a]",
            "$P.properties[b].properties[a]: Required value: because it is defined in $P.not.properties[b].not.properties[a]",
            "$P.properties[b].properties[b].items: Required value: because it is defined in $P.not.properties[b].not.properties[b].items",
            "$P.properties[c].items.items: Required value: because it is defined in $P.not.properties[c].items.not.items",
            "$P.properties[e]: Required value: because it is defined in $P.allOf[0].properties[e]",
        ],
        &[],
    );
    assert_violations(
        "
type: object
properties:
  metadata:
    properties:
      name: {pattern: '^[a-z]+$'}
      labels: {type: object, maxLength: 4}
",
        &[
            "$P.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            "$P.properties[metadata].type: Required value: must not be empty for specified object fields",
            "$P.properties[metadata].properties[name].type: Required value: must not be empty for specified object fields",
        ],
        &[],
    );
    assert_violations(
        "
type: object
properties:
  slice: {type: array, items: {type: string}, not: {items: [{type: string}]}}
  other: {type: array, items: [{type: string}, {type: integer}]}
",
        &[
            "$P.properties[slice].not.items: Forbidden: items must be a schema object and not an array",
            "$P.properties[other].items: Forbidden: items must be a schema object and not an array",
        ],
        &[],
    );
}

#[test]
fn invalid_patterns_are_reported_like_go() {
    assert_eq!(
        check(yaml("{type: object, properties: {foo: {type: string, pattern: '+'}}}")),
        vec![format!(
            "{P}.properties[foo].pattern: Invalid value: \"+\": must be a valid regular expression, but isn't: error parsing regexp: missing argument to repetition operator: `+`"
        )]
    );
}

#[test]
fn odd_values_render_like_go() {
    let s = Schema::parse(&json!({"type": "object", "properties": {
        "when": {"type": "string", "format": "date-time"},
        "big": {"type": "number", "maximum": 1000000},
        "small": {"type": "integer", "maximum": 10.5},
        "free": {"type": "string", "format": "my-own-format"},
        "tmpl": {"type": "object", "x-kubernetes-embedded-resource": true,
                 "x-kubernetes-preserve-unknown-fields": true}}}));
    let obj = json!({"when": 5, "big": 1500000.5, "small": 11, "free": "anything",
        "tmpl": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 1}}});
    assert_eq!(
        texts(&validate(&s, &obj)),
        vec![
            r#"big: Invalid value: 1.5000005e+06: big in body should be less than or equal to 1e+06"#,
            r#"small: Invalid value: 11: small in body should be less than or equal to 10"#,
            r#"when: Invalid value: "int64": when in body must be of type date-time: "int64""#,
            r#"tmpl.metadata: Invalid value: map[string]interface {}{"name":1}: json: cannot unmarshal number into Go struct field ObjectMeta.name of type string"#,
        ]
    );
}

#[test]
fn schema_accessors_for_the_rest_layer() {
    let s = widget_schema();
    assert_eq!(
        s.at(&["spec", "replicas"]).map(|n| n.type_.as_str()),
        Some("integer")
    );
    assert_eq!(
        s.at(&["spec", "labels", "any"]).map(|n| n.type_.as_str()),
        Some("string")
    );
    assert!(s.at(&["status"]).is_none());
    assert_eq!(s.at(&[]), Some(&s));
}

#[test]
fn updates_ratchet_unchanged_invalid_values() {
    let s = Schema::parse(
        &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 2},
        "b": {"type": "string", "maxLength": 2},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {
                      "name": {"type": "string"}, "port": {"type": "integer", "maximum": 100}}}}}}}}),
    );
    let old = json!({"spec": {"a": "long", "b": "ok", "ports": [{"name": "x", "port": 500}]}});
    // unchanged invalid values pass; a changed one fails
    let new = json!({"spec": {"a": "long", "b": "longer", "ports": [{"name": "y", "port": 1}, {"name": "x", "port": 500}]}});
    assert_eq!(
        texts(&validate_update(&s, &new, &old)),
        vec!["spec.b: Too long: may not be more than 2 bytes"]
    );
    let new = json!({"spec": {"a": "long", "b": "ok", "ports": [{"name": "x", "port": 501}]}});
    assert_eq!(
        texts(&validate_update(&s, &new, &old)),
        vec!["spec.ports[0].port: Invalid value: 501: spec.ports[0].port in body should be less than or equal to 100"]
    );
    assert_eq!(validate(&s, &old).len(), 2);

    // list-type uniqueness is checked on update only if the old object had it
    let s = Schema::parse(&json!({"type": "object", "properties": {"tags": {
        "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}));
    let dup = json!({"tags": ["a", "a"]});
    let fine = json!({"tags": ["a"]});
    assert!(validate_update(&s, &json!({"tags": ["a", "a", "b"]}), &dup).is_empty());
    assert_eq!(
        texts(&validate_update(&s, &dup, &fine)),
        vec![r#"tags[1]: Duplicate value: "a""#]
    );
}

#[test]
fn arbitrary_documents_never_panic() {
    let Some(root) = corpus_root() else { return };
    let crds = corpus_crds(&root);
    let schemas: Vec<Schema> = crds
        .iter()
        .flat_map(|(_, c)| {
            c["spec"]["versions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|v| Schema::parse(&v["schema"]["openAPIV3Schema"]))
        .collect();
    let index = std::fs::read_to_string(root.join("objects-index.tsv")).unwrap_or_default();
    let mut seen = 0;
    for line in index.lines().skip(1).step_by(7) {
        let Some(file) = line.split('\t').nth(6) else {
            continue;
        };
        for doc in yaml_docs(&root.join(file)) {
            // any document as a schema, and as an object of every schema
            let _ = check_structural(&doc, P);
            let _ = validate(&Schema::parse(&doc), &doc);
            for s in schemas.iter().step_by(3) {
                let mut d = doc.clone();
                apply_defaults(s, &mut d);
                let _ = prune(s, &mut d);
                let _ = validate(s, &doc);
                let _ = validate_update(s, &d, &doc);
            }
            seen += 1;
        }
    }
    assert!(seen > 50);
}
