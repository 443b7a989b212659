//! REST operations for every built-in resource, shaped as kube-apiserver
//! publishes them: one path item per URL, operations carrying
//! `x-kubernetes-action` and `x-kubernetes-group-version-kind`, write
//! operations taking `dryRun`, `fieldManager` and `fieldValidation`.
//!
//! PATCH operations advertise JSON patch, merge patch and apply patch but not
//! strategic merge patch: kubectl then computes strategic merge patches for
//! built-in kinds from its own compiled-in patch metadata (exactly as against
//! kube-apiserver), instead of from our schemas, which carry no
//! `x-kubernetes-patch-strategy` (k8s-openapi's schemas have none).

use serde_json::{json, Map, Value};

use super::schemas::{
    Definitions, DELETE_OPTIONS, PATCH, STATUS, V2_PREFIX, V3_PREFIX, WATCH_EVENT,
};
use crate::resources::{ResourceInfo, Subresource};

/// Which document the operations are rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Swagger 2.0 (`/openapi/v2`).
    V2,
    /// OpenAPI 3.0 (`/openapi/v3/...`).
    V3,
}

const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];
const PRODUCES: &[&str] = &["application/json", "application/yaml"];
const PRODUCES_WATCH: &[&str] = &["application/json", "application/json;stream=watch"];

/// Stands for an inline `{"type": "string"}` where a definition name goes
/// (the plain-text responses of `pods/log`).
const STRING: &str = "#string";

/// `pods/log`'s query parameters (name, type, description), as upstream.
const LOG_PARAMS: &[(&str, &str, &str)] = &[
    ("container", "string", "The container for which to stream logs. Defaults to only container if there is one container in the pod."),
    ("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
    ("insecureSkipTLSVerifyBackend", "boolean", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.  This will make the HTTPS connection between the apiserver and the backend insecure. This means the apiserver cannot verify the log data it is receiving came from the real kubelet.  If the kubelet is configured to verify the apiserver's TLS credentials, it does not mean the connection to the real kubelet is vulnerable to a man in the middle attack (e.g. an attacker could not intercept the actual log data coming from the real kubelet)."),
    ("limitBytes", "integer", "If set, the number of bytes to read from the server before terminating the log output. This may not display a complete final line of logging, and may return slightly more or slightly less than the specified limit."),
    ("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
    ("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned. Only one of sinceSeconds or sinceTime may be specified."),
    ("stream", "string", "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". If not specified, \"All\" is used, and both stdout and stderr are returned interleaved. Note that when \"TailLines\" is specified, \"Stream\" can only be set to nil or \"All\"."),
    ("tailLines", "integer", "If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime. Note that when \"TailLines\" is specified, \"Stream\" can only be set to nil or \"All\"."),
    ("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false."),
];
const PRODUCES_LOG: &[&str] = &[
    "text/plain",
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];

impl Flavor {
    fn reference(self, name: &str) -> Value {
        if name == STRING {
            return json!({"type": "string"});
        }
        match self {
            Flavor::V2 => json!({"$ref": format!("{V2_PREFIX}{name}")}),
            Flavor::V3 => json!({"$ref": format!("{V3_PREFIX}{name}")}),
        }
    }

    fn param(self, name: &str, location: &str, description: &str, ty: &str) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(name));
        p.insert("in".into(), json!(location));
        p.insert("description".into(), json!(description));
        if location == "path" {
            p.insert("required".into(), json!(true));
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!(ty));
        if location != "path" {
            schema.insert("uniqueItems".into(), json!(true));
        }
        match self {
            Flavor::V2 => p.extend(schema),
            Flavor::V3 => {
                p.insert("schema".into(), Value::Object(schema));
            }
        }
        Value::Object(p)
    }

    fn body_param(self, schema: &str) -> Value {
        json!({"name": "body", "in": "body", "required": true, "schema": self.reference(schema)})
    }

    fn response(self, description: &str, schema: &str, produces: &[&str]) -> Value {
        match self {
            Flavor::V2 => json!({"description": description, "schema": self.reference(schema)}),
            Flavor::V3 => {
                let content: Map<String, Value> = produces
                    .iter()
                    .map(|ct| (ct.to_string(), json!({"schema": self.reference(schema)})))
                    .collect();
                json!({"description": description, "content": content})
            }
        }
    }
}

fn p_pretty(f: Flavor) -> Value {
    f.param(
        "pretty",
        "query",
        "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
        "string",
    )
}

fn p_name(f: Flavor, kind: &str) -> Value {
    f.param("name", "path", &format!("name of the {kind}"), "string")
}

fn p_namespace(f: Flavor) -> Value {
    f.param(
        "namespace",
        "path",
        "object name and auth scope, such as for teams and projects",
        "string",
    )
}

fn write_params(f: Flavor) -> Vec<Value> {
    vec![
        f.param("dryRun", "query", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed", "string"),
        f.param("fieldManager", "query", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.", "string"),
        f.param("fieldValidation", "query", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.", "string"),
    ]
}

fn list_params(f: Flavor) -> Vec<Value> {
    vec![
        f.param("allowWatchBookmarks", "query", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.", "boolean"),
        f.param("continue", "query", "The continue option should be set when retrieving more results from the server.", "string"),
        f.param("fieldSelector", "query", "A selector to restrict the list of returned objects by their fields. Defaults to everything.", "string"),
        f.param("labelSelector", "query", "A selector to restrict the list of returned objects by their labels. Defaults to everything.", "string"),
        f.param("limit", "query", "limit is a maximum number of responses to return for a list call.", "integer"),
        f.param("resourceVersion", "query", "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset", "string"),
        f.param("resourceVersionMatch", "query", "resourceVersionMatch determines how resourceVersion is applied to list calls. Defaults to unset", "string"),
        f.param("sendInitialEvents", "query", "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection.", "boolean"),
        f.param("timeoutSeconds", "query", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.", "integer"),
        f.param("watch", "query", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.", "boolean"),
    ]
}

fn delete_params(f: Flavor) -> Vec<Value> {
    vec![
        f.param("dryRun", "query", "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed", "string"),
        f.param("gracePeriodSeconds", "query", "The duration in seconds before the object should be deleted. The value zero indicates delete immediately.", "integer"),
        f.param("orphanDependents", "query", "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7.", "boolean"),
        f.param("propagationPolicy", "query", "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'.", "string"),
    ]
}

/// Names used in operation ids and tags.
struct Names {
    /// `CoreV1`, `AppsV1`, `RbacAuthorizationV1`.
    id: String,
    /// `core_v1`, `apps_v1`, `rbacAuthorization_v1`.
    tag: String,
}

fn names(group: &str, version: &str) -> Names {
    let base = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    let parts: Vec<&str> = base.split('.').collect();
    let camel: String = parts.iter().map(|p| capitalize(p)).collect();
    let lower_camel: String = parts
        .iter()
        .enumerate()
        .map(|(i, p)| if i == 0 { p.to_string() } else { capitalize(p) })
        .collect();
    Names {
        id: format!("{camel}{}", capitalize(version)),
        tag: format!("{lower_camel}_{version}"),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One operation being assembled.
struct Op<'a> {
    f: Flavor,
    tag: &'a str,
    gvk: Value,
}

impl Op<'_> {
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        id: String,
        action: &str,
        description: String,
        params: Vec<Value>,
        body: Option<(&str, &[&str])>,
        responses: Vec<(&str, &str, &str)>,
        produces: &[&str],
    ) -> Value {
        let mut op = Map::new();
        op.insert("description".into(), json!(description));
        op.insert("tags".into(), json!([self.tag]));
        op.insert("operationId".into(), json!(id));
        let mut params = params;
        if let (Flavor::V2, Some((schema, _))) = (self.f, body) {
            params.insert(0, self.f.body_param(schema));
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some((schema, content_types)) = body {
            match self.f {
                Flavor::V2 => {
                    op.insert("consumes".into(), json!(content_types));
                }
                Flavor::V3 => {
                    let content: Map<String, Value> = content_types
                        .iter()
                        .map(|ct| (ct.to_string(), json!({"schema": self.f.reference(schema)})))
                        .collect();
                    op.insert(
                        "requestBody".into(),
                        json!({"content": content, "required": true}),
                    );
                }
            }
        } else if self.f == Flavor::V2 {
            op.insert("consumes".into(), json!(["*/*"]));
        }
        if self.f == Flavor::V2 {
            op.insert("produces".into(), json!(produces));
            op.insert("schemes".into(), json!(["https"]));
        }
        let mut rs = Map::new();
        for (code, description, schema) in responses {
            rs.insert(code.into(), self.f.response(description, schema, produces));
        }
        rs.insert("401".into(), json!({"description": "Unauthorized"}));
        op.insert("responses".into(), Value::Object(rs));
        op.insert("x-kubernetes-action".into(), json!(action));
        op.insert("x-kubernetes-group-version-kind".into(), self.gvk.clone());
        Value::Object(op)
    }
}

fn path_item(params: Vec<Value>, ops: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (method, op) in ops {
        m.insert(method.into(), op);
    }
    m.insert("parameters".into(), Value::Array(params));
    Value::Object(m)
}

/// Adds every path of one resource (and its subresources) to `paths`.
pub fn add_resource(
    paths: &mut Map<String, Value>,
    defs: &Definitions,
    r: &ResourceInfo,
    f: Flavor,
) {
    let Some(item) = defs.name_of(r.group, r.version, r.kind) else {
        return;
    };
    // Create-only resources (the access reviews) have no list kind.
    let list = defs
        .name_of(r.group, r.version, r.list_kind)
        .unwrap_or(item);
    let n = names(r.group, r.version);
    let prefix = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let op = Op {
        f,
        tag: &n.tag,
        gvk: json!({"group": r.group, "kind": r.kind, "version": r.version}),
    };
    let (k, id) = (r.kind, &n.id);
    let scope = if r.namespaced { "Namespaced" } else { "" };
    let (collection, object, scope_params) = if r.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural),
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural),
            vec![p_namespace(f)],
        )
    } else {
        (
            format!("{prefix}/{}", r.plural),
            format!("{prefix}/{}/{{name}}", r.plural),
            vec![],
        )
    };
    let write: &[&str] = &["*/*"];
    let with = |mut a: Vec<Value>, b: Vec<Value>| {
        a.extend(b);
        a
    };

    // Collection: list, create, deletecollection.
    let mut ops = vec![];
    if r.verbs.contains(&"list") {
        ops.push((
            "get",
            op.build(
                format!("list{id}{scope}{k}"),
                "list",
                format!("list or watch objects of kind {k}"),
                list_params(f),
                None,
                vec![("200", "OK", list)],
                PRODUCES_WATCH,
            ),
        ));
    }
    if r.verbs.contains(&"create") {
        ops.push((
            "post",
            op.build(
                format!("create{id}{scope}{k}"),
                "post",
                format!("create a {k}"),
                write_params(f),
                Some((item, write)),
                vec![
                    ("200", "OK", item),
                    ("201", "Created", item),
                    ("202", "Accepted", item),
                ],
                PRODUCES,
            ),
        ));
    }
    if r.verbs.contains(&"deletecollection") {
        ops.push((
            "delete",
            op.build(
                format!("delete{id}Collection{scope}{k}"),
                "deletecollection",
                format!("delete collection of {k}"),
                with(delete_params(f), list_params(f)),
                Some((DELETE_OPTIONS, write)),
                vec![("200", "OK", STATUS)],
                PRODUCES,
            ),
        ));
    }
    let mut params = scope_params.clone();
    params.push(p_pretty(f));
    paths.insert(collection.clone(), path_item(params, ops));
    if !r.verbs.contains(&"get") {
        // Create-only (the access reviews): no object path.
        return;
    }

    // Object: read, replace, patch, delete.
    let mut ops = vec![(
        "get",
        op.build(
            format!("read{id}{scope}{k}"),
            "get",
            format!("read the specified {k}"),
            vec![],
            None,
            vec![("200", "OK", item)],
            PRODUCES,
        ),
    )];
    if r.verbs.contains(&"update") {
        ops.push((
            "put",
            op.build(
                format!("replace{id}{scope}{k}"),
                "put",
                format!("replace the specified {k}"),
                write_params(f),
                Some((item, write)),
                vec![("200", "OK", item), ("201", "Created", item)],
                PRODUCES,
            ),
        ));
    }
    if r.verbs.contains(&"patch") {
        ops.push((
            "patch",
            op.build(
                format!("patch{id}{scope}{k}"),
                "patch",
                format!("partially update the specified {k}"),
                with(
                    write_params(f),
                    vec![f.param("force", "query", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.", "boolean")],
                ),
                Some((PATCH, PATCH_TYPES)),
                vec![("200", "OK", item), ("201", "Created", item)],
                PRODUCES,
            ),
        ));
    }
    if r.verbs.contains(&"delete") {
        ops.push((
            "delete",
            op.build(
                format!("delete{id}{scope}{k}"),
                "delete",
                format!("delete a {k}"),
                delete_params(f),
                Some((DELETE_OPTIONS, write)),
                vec![("200", "OK", STATUS), ("202", "Accepted", STATUS)],
                PRODUCES,
            ),
        ));
    }
    let mut object_params = vec![p_name(f, k)];
    object_params.extend(scope_params.clone());
    object_params.push(p_pretty(f));
    paths.insert(object.clone(), path_item(object_params.clone(), ops));

    // Every namespace at once.
    if r.namespaced && r.verbs.contains(&"list") {
        paths.insert(
            format!("{prefix}/{}", r.plural),
            path_item(
                vec![p_pretty(f)],
                vec![(
                    "get",
                    op.build(
                        format!("list{id}{k}ForAllNamespaces"),
                        "list",
                        format!("list or watch objects of kind {k}"),
                        list_params(f),
                        None,
                        vec![("200", "OK", list)],
                        PRODUCES_WATCH,
                    ),
                )],
            ),
        );
    }

    // Deprecated watch paths, still published upstream.
    if r.verbs.contains(&"watch") {
        let watch_prefix = if r.namespaced {
            format!("{prefix}/watch/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/watch/{}", r.plural)
        };
        let watch = |id: String, action: &str| {
            op.build(
                id,
                action,
                format!("watch changes to {k}. deprecated: use the 'watch' parameter with a list operation instead."),
                list_params(f),
                None,
                vec![("200", "OK", WATCH_EVENT)],
                PRODUCES_WATCH,
            )
        };
        let mut params = scope_params.clone();
        params.push(p_pretty(f));
        paths.insert(
            watch_prefix.clone(),
            path_item(
                params,
                vec![(
                    "get",
                    watch(format!("watch{id}{scope}{k}List"), "watchlist"),
                )],
            ),
        );
        paths.insert(
            format!("{watch_prefix}/{{name}}"),
            path_item(
                object_params.clone(),
                vec![("get", watch(format!("watch{id}{scope}{k}"), "watch"))],
            ),
        );
        if r.namespaced {
            paths.insert(
                format!("{prefix}/watch/{}", r.plural),
                path_item(
                    vec![p_pretty(f)],
                    vec![(
                        "get",
                        watch(format!("watch{id}{k}ListForAllNamespaces"), "watchlist"),
                    )],
                ),
            );
        }
    }

    for s in r.subresources {
        add_subresource(paths, defs, r, s, &object, &object_params, &n, f);
    }
}

#[allow(clippy::too_many_arguments)]
fn add_subresource(
    paths: &mut Map<String, Value>,
    defs: &Definitions,
    r: &ResourceInfo,
    s: &Subresource,
    object: &str,
    object_params: &[Value],
    n: &Names,
    f: Flavor,
) {
    let is_log = s.name == "log" && r.group.is_empty() && r.plural == "pods";
    let schema = if is_log {
        STRING
    } else {
        match defs.name_of(s.group, s.version, s.kind) {
            Some(schema) => schema,
            None => return,
        }
    };
    let op = Op {
        f,
        tag: &n.tag,
        gvk: json!({"group": s.group, "kind": s.kind, "version": s.version}),
    };
    let id = &n.id;
    let scope = if r.namespaced { "Namespaced" } else { "" };
    let what = format!("{}{}", r.kind, capitalize(s.name));
    let mut ops = vec![];
    let write: &[&str] = &["*/*"];
    if s.verbs.contains(&"get") {
        let (params, produces) = if is_log {
            let params = LOG_PARAMS
                .iter()
                .map(|(name, ty, doc)| f.param(name, "query", doc, ty))
                .collect();
            (params, PRODUCES_LOG)
        } else {
            (vec![], PRODUCES)
        };
        ops.push((
            "get",
            op.build(
                format!("read{id}{scope}{what}"),
                "get",
                format!("read {} of the specified {}", s.name, r.kind),
                params,
                None,
                vec![("200", "OK", schema)],
                produces,
            ),
        ));
    }
    if s.verbs.contains(&"create") {
        ops.push((
            "post",
            op.build(
                format!("create{id}{scope}{what}"),
                "post",
                format!("create {} of a {}", s.name, r.kind),
                write_params(f),
                Some((schema, write)),
                vec![
                    ("200", "OK", schema),
                    ("201", "Created", schema),
                    ("202", "Accepted", schema),
                ],
                PRODUCES,
            ),
        ));
    }
    if s.verbs.contains(&"update") {
        ops.push((
            "put",
            op.build(
                format!("replace{id}{scope}{what}"),
                "put",
                format!("replace {} of the specified {}", s.name, r.kind),
                write_params(f),
                Some((schema, write)),
                vec![("200", "OK", schema), ("201", "Created", schema)],
                PRODUCES,
            ),
        ));
    }
    if s.verbs.contains(&"patch") {
        let mut params = write_params(f);
        params.push(f.param("force", "query", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.", "boolean"));
        ops.push((
            "patch",
            op.build(
                format!("patch{id}{scope}{what}"),
                "patch",
                format!("partially update {} of the specified {}", s.name, r.kind),
                params,
                Some((PATCH, PATCH_TYPES)),
                vec![("200", "OK", schema), ("201", "Created", schema)],
                PRODUCES,
            ),
        ));
    }
    let mut params = object_params.to_vec();
    if let Some(first) = params.first_mut() {
        *first = f.param("name", "path", &format!("name of the {}", s.kind), "string");
    }
    paths.insert(format!("{object}/{}", s.name), path_item(params, ops));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::lookup;

    #[test]
    fn operation_names_follow_upstream() {
        let n = names("rbac.authorization.k8s.io", "v1");
        assert_eq!(
            (n.id.as_str(), n.tag.as_str()),
            ("RbacAuthorizationV1", "rbacAuthorization_v1")
        );
        let n = names("", "v1");
        assert_eq!((n.id.as_str(), n.tag.as_str()), ("CoreV1", "core_v1"));
        let n = names("apps", "v1");
        assert_eq!(n.id, "AppsV1");
    }

    #[test]
    fn deployment_paths_carry_gvk_and_write_params() {
        let defs = Definitions::generate();
        let mut paths = Map::new();
        let r = lookup("apps", "v1", "deployments").expect("deployments");
        add_resource(&mut paths, &defs, r, Flavor::V3);
        let item = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        let patch = &item["patch"];
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        assert_eq!(patch["x-kubernetes-action"], "patch");
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .expect("params")
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for want in ["dryRun", "fieldManager", "fieldValidation", "force"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        let content = patch["requestBody"]["content"]
            .as_object()
            .expect("content");
        assert!(content.contains_key("application/apply-patch+yaml"));
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
        let scale = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
        assert_eq!(
            scale["put"]["x-kubernetes-group-version-kind"]["kind"],
            "Scale"
        );
        assert_eq!(
            scale["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"
        );
        assert!(paths.contains_key("/apis/apps/v1/deployments"));
        assert!(paths.contains_key("/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}"));
    }

    #[test]
    fn cluster_scoped_and_v2_shapes() {
        let defs = Definitions::generate();
        let mut paths = Map::new();
        let r = lookup("", "v1", "namespaces").expect("namespaces");
        add_resource(&mut paths, &defs, r, Flavor::V2);
        let coll = &paths["/api/v1/namespaces"];
        assert!(
            coll.get("delete").is_none(),
            "namespaces have no deletecollection"
        );
        let post = &coll["post"];
        assert_eq!(post["operationId"], "createCoreV1Namespace");
        assert_eq!(post["parameters"][0]["in"], "body");
        assert_eq!(
            post["parameters"][0]["schema"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.Namespace"
        );
        assert_eq!(post["parameters"][3]["name"], "fieldValidation");
        assert_eq!(post["parameters"][3]["type"], "string");
        assert!(paths.contains_key("/api/v1/namespaces/{name}/status"));
    }

    #[test]
    fn pod_logs_are_plain_text_with_their_query_parameters() {
        let defs = Definitions::generate();
        let mut paths = Map::new();
        let r = lookup("", "v1", "pods").expect("pods");
        add_resource(&mut paths, &defs, r, Flavor::V3);
        let get = &paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"];
        assert_eq!(get["operationId"], "readCoreV1NamespacedPodLog");
        assert_eq!(
            get["responses"]["200"]["content"]["text/plain"]["schema"],
            json!({"type": "string"})
        );
        let names: Vec<&str> = get["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            names.contains(&"tailLines") && names.contains(&"container"),
            "{names:?}"
        );
    }
}
