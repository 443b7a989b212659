//! Unit tests of `validate` and `check` with upstream's exact messages.

use super::{check, validate};
use serde_json::{json, Value};

fn errs(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<String> {
    validate(schema, obj, old)
        .iter()
        .map(|e| format!("{}: {}", e.field, e.body()))
        .collect()
}

fn checks(schema: &Value) -> Vec<String> {
    check(schema, "spec.validation.openAPIV3Schema")
        .iter()
        .map(|e| format!("{}: {}", e.field, e.body()))
        .collect()
}

/// A resource schema with `spec` of the given properties and rules.
fn spec_schema(props: Value, rules: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": props, "x-kubernetes-validations": rules}
        }
    })
}

fn cr(spec: Value) -> Value {
    json!({"apiVersion": "x.io/v1", "kind": "X", "metadata": {"name": "a", "namespace": "ns"}, "spec": spec})
}

#[test]
fn failing_rule_reports_message_at_node_path() {
    let s = spec_schema(
        json!({"externalId": {"type": "string"}, "roleArn": {"type": "string"}}),
        json!([{"rule": "!has(self.externalId) || has(self.roleArn)", "message": "externalId can only be used when roleArn is specified"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"roleArn": "r", "externalId": "e"})), None),
        Vec::<String>::new()
    );
    assert_eq!(errs(&s, &cr(json!({})), None), Vec::<String>::new());
    assert_eq!(
        errs(&s, &cr(json!({"externalId": "e"})), None),
        vec![
            r#"spec: Invalid value: "object": externalId can only be used when roleArn is specified"#
        ]
    );
}

#[test]
fn default_message_is_failed_rule() {
    let s = spec_schema(
        json!({"replicas": {"type": "integer"}}),
        json!([{"rule": "self.replicas < 5"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"replicas": 7})), None),
        vec![r#"spec: Invalid value: "object": failed rule: self.replicas < 5"#]
    );
}

#[test]
fn root_rules_see_the_object_and_report_nil_path() {
    let mut s = spec_schema(json!({}), json!([]));
    s["x-kubernetes-validations"] = json!([{"rule": "self.metadata.name.startsWith('b') && self.kind == 'X' && self.apiVersion == 'x.io/v1'"}]);
    assert_eq!(
        errs(&s, &cr(json!({})), None),
        vec![
            r#"<nil>: Invalid value: "object": failed rule: self.metadata.name.startsWith('b') && self.kind == 'X' && self.apiVersion == 'x.io/v1'"#
        ]
    );
}

#[test]
fn runtime_error_no_such_key() {
    let s = spec_schema(
        json!({"a": {"type": "string"}}),
        json!([{"rule": "self.a == 'x'"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({})), None),
        vec![r#"spec: Invalid value: "object": no such key: a evaluating rule: self.a == 'x'"#]
    );
}

#[test]
fn message_expression_reason_and_field_path() {
    let s = spec_schema(
        json!({"min": {"type": "integer"}, "max": {"type": "integer"}}),
        json!([
            {"rule": "self.min <= self.max", "messageExpression": "'min ' + string(self.min) + ' exceeds max ' + string(self.max)", "fieldPath": ".min"},
            {"rule": "self.max < 10", "reason": "FieldValueForbidden", "message": "max too big"},
            {"rule": "self.max < 10", "reason": "FieldValueRequired", "message": "max too big"},
            {"rule": "self.max < 10", "reason": "FieldValueDuplicate"},
        ]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"min": 20, "max": 12})), None),
        vec![
            r#"spec.min: Invalid value: "object": min 20 exceeds max 12"#,
            "spec: Forbidden: max too big",
            "spec: Required value: max too big",
            r#"spec: Duplicate value: "object""#,
        ]
    );
}

#[test]
fn scalar_node_shows_its_type() {
    let s = spec_schema(
        json!({"port": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0 && self < 65536"}]},
               "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')", "message": "lowercase only"}]},
               "ratio": {"type": "number", "x-kubernetes-validations": [{"rule": "self <= 1.0"}]}}),
        json!([]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"port": 0, "name": "Abc", "ratio": 2})), None),
        vec![
            r#"spec.name: Invalid value: "string": lowercase only"#,
            r#"spec.port: Invalid value: "integer": failed rule: self > 0 && self < 65536"#,
            r#"spec.ratio: Invalid value: "number": failed rule: self <= 1.0"#,
        ]
    );
}

#[test]
fn items_and_additional_properties_are_walked() {
    let s = spec_schema(
        json!({
            "list": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "size(self) < 3"}]}},
            "labels": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [{"rule": "self != ''"}]}}
        }),
        json!([]),
    );
    assert_eq!(
        errs(
            &s,
            &cr(json!({"list": ["ab", "abcd"], "labels": {"a": "x", "b": ""}})),
            None
        ),
        vec![
            r#"spec.labels[b]: Invalid value: "string": failed rule: self != ''"#,
            r#"spec.list[1]: Invalid value: "string": failed rule: size(self) < 3"#,
        ]
    );
}

#[test]
fn transition_rules_need_the_old_value() {
    let s = spec_schema(
        json!({"mode": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "mode is immutable"}]}}),
        json!([]),
    );
    let new = cr(json!({"mode": "b"}));
    assert_eq!(errs(&s, &new, None), Vec::<String>::new());
    assert_eq!(errs(&s, &new, Some(&cr(json!({})))), Vec::<String>::new());
    assert_eq!(
        errs(&s, &new, Some(&cr(json!({"mode": "a"})))),
        vec![r#"spec.mode: Invalid value: "string": mode is immutable"#]
    );
}

#[test]
fn optional_old_self_sees_none_on_create() {
    let s = spec_schema(
        json!({"mode": {"type": "string"}}),
        json!([{"rule": "!oldSelf.hasValue() || oldSelf.value().mode == self.mode", "optionalOldSelf": true, "message": "immutable"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"mode": "b"})), None),
        Vec::<String>::new()
    );
    assert_eq!(
        errs(
            &s,
            &cr(json!({"mode": "b"})),
            Some(&cr(json!({"mode": "a"})))
        ),
        vec![r#"spec: Invalid value: "object": immutable"#]
    );
}

#[test]
fn unchanged_invalid_values_are_ratcheted() {
    let s = spec_schema(
        json!({"a": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5"}]},
               "b": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5"}]}}),
        json!([]),
    );
    let old = cr(json!({"a": 9, "b": 1}));
    let new = cr(json!({"a": 9, "b": 7}));
    assert_eq!(
        errs(&s, &new, Some(&old)),
        vec![r#"spec.b: Invalid value: "integer": failed rule: self < 5"#]
    );
}

#[test]
fn list_map_items_correlate_by_key() {
    let s = spec_schema(
        json!({"ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                      "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port", "message": "port is immutable"}]}}}),
        json!([]),
    );
    let old = cr(json!({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}));
    let new = cr(
        json!({"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 3}, {"name": "c", "port": 4}]}),
    );
    assert_eq!(
        errs(&s, &new, Some(&old)),
        vec![r#"spec.ports[1]: Invalid value: "object": port is immutable"#]
    );
}

#[test]
fn int_or_string_and_formats() {
    let s = spec_schema(
        json!({
            "port": {"x-kubernetes-int-or-string": true},
            "when": {"type": "string", "format": "date-time"},
            "timeout": {"type": "string", "format": "duration"}
        }),
        json!([
            {"rule": "type(self.port) == int ? self.port > 0 : self.port.startsWith('http')"},
            {"rule": "self.when < timestamp('2030-01-01T00:00:00Z')"},
            {"rule": "self.timeout <= duration('1h')"}
        ]),
    );
    assert_eq!(
        errs(
            &s,
            &cr(json!({"port": 8080, "when": "2024-01-01T00:00:00Z", "timeout": "30m"})),
            None
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        errs(
            &s,
            &cr(json!({"port": "ftp", "when": "2034-01-01T00:00:00Z", "timeout": "2h"})),
            None
        ),
        vec![
            r#"spec: Invalid value: "object": failed rule: type(self.port) == int ? self.port > 0 : self.port.startsWith('http')"#,
            r#"spec: Invalid value: "object": failed rule: self.when < timestamp('2030-01-01T00:00:00Z')"#,
            r#"spec: Invalid value: "object": failed rule: self.timeout <= duration('1h')"#,
        ]
    );
}

#[test]
fn macros_and_kubernetes_libraries() {
    let s = spec_schema(
        json!({"xs": {"type": "array", "items": {"type": "integer"}},
               "names": {"type": "array", "items": {"type": "string"}},
               "url": {"type": "string"}, "mem": {"type": "string"}}),
        json!([
            {"rule": "self.xs.all(x, x > 0) && self.xs.exists(x, x == 2) && self.xs.exists_one(x, x == 3)"},
            {"rule": "self.xs.map(x, x * 2).filter(x, x > 4).size() == 1"},
            {"rule": "self.xs.isSorted() && self.xs.sum() == 6 && self.xs.min() == 1 && self.xs.max() == 3"},
            {"rule": "self.xs.indexOf(2) == 1 && self.xs.lastIndexOf(9) == -1"},
            {"rule": "self.names.join(',') == 'a,B' && 'a,B'.split(',').size() == 2 && 'AbC'.lowerAscii() == 'abc'"},
            {"rule": "' x '.trim() == 'x' && 'aXa'.replace('X', 'y') == 'aya' && 'ABC'.upperAscii() == 'ABC'"},
            {"rule": "'abc123'.find('[0-9]+') == '123' && 'a1b2'.findAll('[0-9]').size() == 2"},
            {"rule": "url(self.url).getHost() == 'example.com:8080' && url(self.url).getPort() == '8080' && isURL(self.url)"},
            {"rule": "quantity(self.mem).isGreaterThan(quantity('1Gi')) && quantity('1') == quantity('1000m')"},
            {"rule": "sets.contains(self.xs, [1, 2]) && sets.intersects(self.xs, [3, 4])"},
            {"rule": "isIP('10.0.0.1') && !isIP('10.0.0.300') && ip('10.0.0.1').family() == 4 && ip('fe80::1').isLinkLocalUnicast()"},
            {"rule": "cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsCIDR('11.0.0.0/16')"},
            {"rule": "string(cidr('10.1.0.0/8').masked()) == '10.0.0.0/8' && cidr('::1/128').prefixLength() == 128"},
            {"rule": "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1') && string(ip('::1')) == '::1'"},
            {"rule": "['1.2.3.4'].all(ip, isIP(ip))"}
        ]),
    );
    assert_eq!(
        errs(
            &s,
            &cr(
                json!({"xs": [1, 2, 3], "names": ["a", "B"], "url": "https://example.com:8080/p?q=1", "mem": "2Gi"})
            ),
            None
        ),
        Vec::<String>::new()
    );
}

#[test]
fn no_such_overload_at_runtime() {
    let s = spec_schema(
        json!({"v": {"x-kubernetes-int-or-string": true}}),
        json!([{"rule": "self.v > 1"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"v": "abc"})), None),
        vec![
            r#"spec: Invalid value: "object": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: self.v > 1"#
        ]
    );
}

#[test]
fn check_accepts_valid_rules() {
    let s = spec_schema(
        json!({"mode": {"type": "string"}, "replicas": {"type": "integer"}}),
        json!([{"rule": "!(has(self.mode) && self.mode == 'DaemonSet' && has(self.replicas))", "message": "replicas cannot be set when mode is DaemonSet"}]),
    );
    assert_eq!(checks(&s), Vec::<String>::new());
}

#[test]
fn check_reports_syntax_errors_as_cel_go() {
    let s = spec_schema(json!({}), json!([{"rule": "self.a ==", "message": "m"}]));
    assert_eq!(
        checks(&s),
        vec![concat!(
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: ",
            "apiextensions.ValidationRule{Rule:\"self.a ==\", Message:\"m\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: ",
            "compilation failed: ERROR: <input>:1:10: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n",
            " | self.a ==\n",
            " | .........^"
        )]
    );
}

#[test]
fn check_reports_undefined_fields_and_references() {
    let s = spec_schema(
        json!({"a": {"type": "string"}}),
        json!([{"rule": "self.b == 'x'"}, {"rule": "foo == 1"}, {"rule": "self.a"}, {"rule": "self.a.fakeFunction()"},
               {"rule": "self.a == 1"}, {"rule": "-size(self.a) < 0 && 1 < 2.0"},
               {"rule": "size(1) == 1"}, {"rule": "self.a.size() == 1 && self.a.startsWith('x')"}, {"rule": "1.startsWith('x')"}]),
    );
    let p = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations";
    let shown = |r: &str| {
        format!("apiextensions.ValidationRule{{Rule:{r:?}, Message:\"\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}}")
    };
    assert_eq!(
        checks(&s),
        vec![
            format!("{p}[0].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:5: undefined field 'b'\n | self.b == 'x'\n | ....^", shown("self.b == 'x'")),
            format!("{p}[1].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')\n | foo == 1\n | ^", shown("foo == 1")),
            format!("{p}[2].rule: Invalid value: {}: cel expression must evaluate to a bool", shown("self.a")),
            format!("{p}[3].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:20: undeclared reference to 'fakeFunction' (in container '')\n | self.a.fakeFunction()\n | ...................^", shown("self.a.fakeFunction()")),
            format!("{p}[4].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:8: found no matching overload for '_==_' applied to '(string, int)'\n | self.a == 1\n | .......^", shown("self.a == 1")),
            format!("{p}[6].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:5: found no matching overload for 'size' applied to '(int)'\n | size(1) == 1\n | ....^", shown("size(1) == 1")),
            format!("{p}[8].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:13: found no matching overload for 'startsWith' applied to 'int.(string)'\n | 1.startsWith('x')\n | ............^", shown("1.startsWith('x')")),
        ]
    );
}

#[test]
fn check_validates_rule_fields() {
    let s = spec_schema(
        json!({"a": {"type": "string"}, "l": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}),
        json!([
            {"rule": " "},
            {"rule": "true", "message": "a\nb"},
            {"rule": "true", "reason": "Bogus"},
            {"rule": "true", "fieldPath": ".b"},
            {"rule": "true", "optionalOldSelf": true},
            {"rule": "true", "messageExpression": "42"}
        ]),
    );
    let p = "spec.validation.openAPIV3Schema.properties[spec]";
    assert_eq!(
        checks(&s),
        vec![
            format!("{p}.x-kubernetes-validations[0].rule: Required value: rule is not specified"),
            format!("{p}.x-kubernetes-validations[1].message: Invalid value: \"a\\nb\": message must not contain line breaks"),
            format!("{p}.x-kubernetes-validations[2].reason: Unsupported value: \"Bogus\": supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\""),
            format!("{p}.x-kubernetes-validations[3].fieldPath: Invalid value: \".b\": fieldPath must be a valid path"),
            format!("{p}.properties[l].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within {p}.properties[l]"),
        ]
    );
}

#[test]
fn check_reports_message_expression_and_optional_old_self() {
    let s = spec_schema(
        json!({"a": {"type": "string"}}),
        json!([{"rule": "true", "optionalOldSelf": true}, {"rule": "true", "messageExpression": "42"}]),
    );
    let p = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations";
    assert_eq!(
        checks(&s),
        vec![
            format!("{p}[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule"),
            format!("{p}[1].messageExpression: Invalid value: apiextensions.ValidationRule{{Rule:\"true\", Message:\"\", MessageExpression:\"42\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}}: messageExpression must evaluate to a string"),
        ]
    );
}

#[test]
fn atomic_list_items_ratchet_by_the_list() {
    let s = spec_schema(
        json!({"xs": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5"}]}}}),
        json!([]),
    );
    let old = cr(json!({"xs": [9]}));
    assert_eq!(errs(&s, &old, Some(&old)), Vec::<String>::new());
    assert_eq!(
        errs(&s, &cr(json!({"xs": [9, 1]})), Some(&old)),
        vec![r#"spec.xs[0]: Invalid value: "integer": failed rule: self < 5"#]
    );
}

#[test]
fn all_of_rules_apply_to_the_node() {
    let mut s = spec_schema(json!({"a": {"type": "integer"}}), json!([]));
    s["properties"]["spec"]["allOf"] =
        json!([{"x-kubernetes-validations": [{"rule": "self.a > 1", "message": "a too small"}]}]);
    assert_eq!(
        errs(&s, &cr(json!({"a": 1})), None),
        vec![r#"spec: Invalid value: "object": a too small"#]
    );
}

#[test]
fn embedded_resources_see_their_type_and_name() {
    let s = spec_schema(
        json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
            "x-kubernetes-validations": [{"rule": "self.kind == 'Pod' && self.metadata.name == 'p'"}]}}),
        json!([]),
    );
    let obj = cr(
        json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}}}),
    );
    assert_eq!(errs(&s, &obj, None), Vec::<String>::new());
    let obj =
        cr(json!({"template": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "p"}}}));
    assert_eq!(
        errs(&s, &obj, None),
        vec![
            r#"spec.template: Invalid value: "object": failed rule: self.kind == 'Pod' && self.metadata.name == 'p'"#
        ]
    );
}

#[test]
fn escaped_property_names() {
    let s = spec_schema(
        json!({"x-y": {"type": "string"}, "namespace": {"type": "string"}}),
        json!([{"rule": "self.x__dash__y == self.__namespace__"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"x-y": "a", "namespace": "a"})), None),
        Vec::<String>::new()
    );
    assert_eq!(
        errs(&s, &cr(json!({"x-y": "a", "namespace": "b"})), None),
        vec![
            r#"spec: Invalid value: "object": failed rule: self.x__dash__y == self.__namespace__"#
        ]
    );
}

#[test]
fn every_item_of_a_long_list_is_validated() {
    let s = spec_schema(
        json!({"xs": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.n % 2 == 0", "message": "n must be even"}]}}}),
        json!([{"rule": "self.xs.all(x, x.n >= 0)"}]),
    );
    let items: Vec<Value> = (0..2000).map(|n| json!({"n": n})).collect();
    let t = std::time::Instant::now();
    let got = validate(&s, &cr(json!({"xs": items})), None);
    eprintln!("2000 items: {:?}", t.elapsed());
    assert_eq!(got.len(), 1000);
    assert_eq!(
        got[0].to_string(),
        r#"spec.xs[1]: Invalid value: "object": n must be even"#
    );
}

#[test]
fn message_expression_falls_back_to_the_message() {
    let s = spec_schema(
        json!({"a": {"type": "integer"}}),
        json!([
            {"rule": "self.a < 0", "message": "static", "messageExpression": "'a is ' + self.b"},
            {"rule": "self.a < 0", "messageExpression": "'   '"},
            {"rule": "self.a < 0", "message": "m", "messageExpression": "'a is ' + string(self.a) + '  '"},
        ]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"a": 3})), None),
        vec![
            r#"spec: Invalid value: "object": static"#,
            r#"spec: Invalid value: "object": failed rule: self.a < 0"#,
            r#"spec: Invalid value: "object": a is 3"#,
        ]
    );
}

#[test]
fn rules_that_do_not_compile_fail_at_runtime() {
    let s = spec_schema(
        json!({"a": {"type": "integer"}}),
        json!([{"rule": "self.b > 1"}]),
    );
    assert_eq!(
        errs(&s, &cr(json!({"a": 3})), None),
        vec![concat!(
            r#"spec: Invalid value: "object": rule compile error: compilation failed: ERROR: <input>:1:5: undefined field 'b'"#,
            "\n | self.b > 1\n | ....^"
        )]
    );
}

#[test]
fn running_out_of_budget_stops_validation() {
    let Ok(env) = super::env::env() else {
        panic!("no CEL environment");
    };
    let s = spec_schema(
        json!({"a": {"type": "integer"}}),
        json!([{"rule": "self.a < 0"}, {"rule": "self.a < 0"}, {"rule": "self.a < 0"}]),
    );
    // each evaluation of `spec` ({"a": 1}) costs 3
    let mut walker = super::validate::Walker::with_budget(env, 7);
    walker.resource(&s, &cr(json!({"a": 1})), None);
    let got: Vec<String> = walker.errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        got,
        vec![
            r#"spec: Invalid value: "object": failed rule: self.a < 0"#,
            r#"spec: Invalid value: "object": failed rule: self.a < 0"#,
            r#"spec: Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run"#,
        ]
    );
}

#[test]
fn sets_compare_regardless_of_order() {
    let s = spec_schema(
        json!({"tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
               "xs": {"type": "array", "items": {"type": "string"}}}),
        json!([{"rule": "self.tags == oldSelf.tags", "message": "tags are immutable"},
               {"rule": "self.xs == oldSelf.xs", "message": "xs are immutable"}]),
    );
    let old = cr(json!({"tags": ["a", "b"], "xs": ["a", "b"]}));
    assert_eq!(
        errs(
            &s,
            &cr(json!({"tags": ["b", "a"], "xs": ["a", "b"]})),
            Some(&old)
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        errs(
            &s,
            &cr(json!({"tags": ["b", "c"], "xs": ["b", "a"]})),
            Some(&old)
        ),
        vec![
            r#"spec: Invalid value: "object": tags are immutable"#,
            r#"spec: Invalid value: "object": xs are immutable"#,
        ]
    );
}

#[test]
fn schema_errors_that_block_the_rules() {
    use crate::strategy::FieldError;
    assert_eq!(
        super::blocking_error(&[FieldError::invalid("spec.a", 1, "bad")]),
        None
    );
    let Some(e) = super::blocking_error(&[FieldError::required("spec.a", "")]) else {
        panic!("a required error blocks the rules");
    };
    assert_eq!(
        e.to_string(),
        r#"<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"#
    );
}
