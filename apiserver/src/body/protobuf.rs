//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! decoded to JSON for the kinds `kubectl create <generator>` sends that way.
//!
//! The envelope is the magic `k8s\0` then a `runtime.Unknown` message
//! (`typeMeta` = 1 {apiVersion = 1, kind = 2}, `raw` = 2). `raw` is the object's
//! message, decoded with a field table per type below (field numbers from
//! upstream's `generated.proto`). Go's protobuf writes every non-pointer
//! field, so zero scalars and empty messages are dropped, except for fields
//! known to be pointers (`replicas: 0` must survive). A non-empty field the
//! tables do not know is an error: the client must send JSON for it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Int,
    /// A pointer scalar: zero is kept.
    IntPtr,
    BoolPtr,
    Msg(&'static [F]),
    /// An embedded struct whose fields JSON prints inline in the parent.
    Inline(&'static [F]),
    MapStr,
    MapBytes,
    MapQuantity,
    IntOrString,
    /// metav1.Time (seconds = 1, nanos = 2) as RFC 3339.
    Time,
}

/// One field: number, JSON name, type, repeated.
#[derive(Clone, Copy)]
struct F(u32, &'static str, Ty, bool);

const fn f(n: u32, name: &'static str, ty: Ty) -> F {
    F(n, name, ty, false)
}
const fn rep(n: u32, name: &'static str, ty: Ty) -> F {
    F(n, name, ty, true)
}

use Ty::*;

const OWNER_REF: &[F] = &[
    f(1, "kind", Str),
    f(3, "name", Str),
    f(4, "uid", Str),
    f(5, "apiVersion", Str),
    f(6, "controller", BoolPtr),
    f(7, "blockOwnerDeletion", BoolPtr),
];
const OBJECT_META: &[F] = &[
    f(1, "name", Str),
    f(2, "generateName", Str),
    f(3, "namespace", Str),
    f(4, "selfLink", Str),
    f(5, "uid", Str),
    f(6, "resourceVersion", Str),
    f(7, "generation", Int),
    f(8, "creationTimestamp", Time),
    f(9, "deletionTimestamp", Time),
    f(10, "deletionGracePeriodSeconds", IntPtr),
    f(11, "labels", MapStr),
    f(12, "annotations", MapStr),
    rep(13, "ownerReferences", Msg(OWNER_REF)),
    rep(14, "finalizers", Str),
];
const OBJECT_REF: &[F] = &[
    f(1, "kind", Str),
    f(2, "namespace", Str),
    f(3, "name", Str),
    f(4, "uid", Str),
    f(5, "apiVersion", Str),
    f(6, "resourceVersion", Str),
    f(7, "fieldPath", Str),
];
const LOCAL_REF: &[F] = &[f(1, "name", Str)];
const LABEL_REQ: &[F] = &[
    f(1, "key", Str),
    f(2, "operator", Str),
    rep(3, "values", Str),
];
const LABEL_SELECTOR: &[F] = &[
    f(1, "matchLabels", MapStr),
    rep(2, "matchExpressions", Msg(LABEL_REQ)),
];
const CONTAINER_PORT: &[F] = &[
    f(1, "name", Str),
    f(2, "hostPort", Int),
    f(3, "containerPort", Int),
    f(4, "protocol", Str),
    f(5, "hostIP", Str),
];
const ENV_VAR: &[F] = &[f(1, "name", Str), f(2, "value", Str)];
const RESOURCES: &[F] = &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity)];
const CONTAINER: &[F] = &[
    f(1, "name", Str),
    f(2, "image", Str),
    rep(3, "command", Str),
    rep(4, "args", Str),
    f(5, "workingDir", Str),
    rep(6, "ports", Msg(CONTAINER_PORT)),
    rep(7, "env", Msg(ENV_VAR)),
    f(8, "resources", Msg(RESOURCES)),
    f(13, "terminationMessagePath", Str),
    f(14, "imagePullPolicy", Str),
    f(16, "stdin", Bool),
    f(17, "stdinOnce", Bool),
    f(18, "tty", Bool),
    f(20, "terminationMessagePolicy", Str),
];
const POD_SPEC: &[F] = &[
    rep(2, "containers", Msg(CONTAINER)),
    f(3, "restartPolicy", Str),
    f(4, "terminationGracePeriodSeconds", IntPtr),
    f(5, "activeDeadlineSeconds", IntPtr),
    f(6, "dnsPolicy", Str),
    f(7, "nodeSelector", MapStr),
    f(8, "serviceAccountName", Str),
    f(9, "serviceAccount", Str),
    f(10, "nodeName", Str),
    f(11, "hostNetwork", Bool),
    f(12, "hostPID", Bool),
    f(13, "hostIPC", Bool),
    rep(15, "imagePullSecrets", Msg(LOCAL_REF)),
    f(16, "hostname", Str),
    f(17, "subdomain", Str),
    f(19, "schedulerName", Str),
    rep(20, "initContainers", Msg(CONTAINER)),
    f(24, "priorityClassName", Str),
];
const POD_TEMPLATE: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(POD_SPEC)),
];
const DEPLOYMENT_SPEC: &[F] = &[
    f(1, "replicas", IntPtr),
    f(2, "selector", Msg(LABEL_SELECTOR)),
    f(3, "template", Msg(POD_TEMPLATE)),
    f(5, "minReadySeconds", Int),
    f(6, "revisionHistoryLimit", IntPtr),
    f(7, "paused", Bool),
    f(9, "progressDeadlineSeconds", IntPtr),
];
const JOB_SPEC: &[F] = &[
    f(1, "parallelism", IntPtr),
    f(2, "completions", IntPtr),
    f(3, "activeDeadlineSeconds", IntPtr),
    f(4, "selector", Msg(LABEL_SELECTOR)),
    f(5, "manualSelector", BoolPtr),
    f(6, "template", Msg(POD_TEMPLATE)),
    f(7, "backoffLimit", IntPtr),
    f(8, "ttlSecondsAfterFinished", IntPtr),
    f(10, "suspend", BoolPtr),
];
const JOB_TEMPLATE: &[F] = &[
    f(1, "metadata", Msg(OBJECT_META)),
    f(2, "spec", Msg(JOB_SPEC)),
];
const CRON_JOB_SPEC: &[F] = &[
    f(1, "schedule", Str),
    f(2, "startingDeadlineSeconds", IntPtr),
    f(3, "concurrencyPolicy", Str),
    f(4, "suspend", BoolPtr),
    f(5, "jobTemplate", Msg(JOB_TEMPLATE)),
    f(6, "successfulJobsHistoryLimit", IntPtr),
    f(7, "failedJobsHistoryLimit", IntPtr),
    f(8, "timeZone", Str),
];
const SERVICE_PORT: &[F] = &[
    f(1, "name", Str),
    f(2, "protocol", Str),
    f(3, "port", Int),
    f(4, "targetPort", IntOrString),
    f(5, "nodePort", Int),
    f(6, "appProtocol", Str),
];
const SERVICE_SPEC: &[F] = &[
    rep(1, "ports", Msg(SERVICE_PORT)),
    f(2, "selector", MapStr),
    f(3, "clusterIP", Str),
    f(4, "type", Str),
    rep(5, "externalIPs", Str),
    f(7, "sessionAffinity", Str),
    f(10, "externalName", Str),
];
const SUBJECT: &[F] = &[
    f(1, "kind", Str),
    f(2, "apiGroup", Str),
    f(3, "name", Str),
    f(4, "namespace", Str),
];
const ROLE_REF: &[F] = &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)];
const QUOTA_SPEC: &[F] = &[f(1, "hard", MapQuantity), rep(2, "scopes", Str)];
const PDB_SPEC: &[F] = &[
    f(1, "minAvailable", IntOrString),
    f(2, "selector", Msg(LABEL_SELECTOR)),
    f(3, "maxUnavailable", IntOrString),
    f(4, "unhealthyPodEvictionPolicy", Str),
];
const POLICY_RULE: &[F] = &[
    rep(1, "verbs", Str),
    rep(2, "apiGroups", Str),
    rep(3, "resources", Str),
    rep(4, "resourceNames", Str),
    rep(5, "nonResourceURLs", Str),
];
const AGGREGATION_RULE: &[F] = &[rep(1, "clusterRoleSelectors", Msg(LABEL_SELECTOR))];
const SERVICE_BACKEND_PORT: &[F] = &[f(1, "name", Str), f(2, "number", Int)];
const SERVICE_BACKEND: &[F] = &[f(1, "name", Str), f(2, "port", Msg(SERVICE_BACKEND_PORT))];
const TYPED_LOCAL_REF: &[F] = &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)];
const INGRESS_BACKEND: &[F] = &[
    f(3, "resource", Msg(TYPED_LOCAL_REF)),
    f(4, "service", Msg(SERVICE_BACKEND)),
];
const HTTP_PATH: &[F] = &[
    f(1, "path", Str),
    f(2, "backend", Msg(INGRESS_BACKEND)),
    f(3, "pathType", Str),
];
const HTTP_RULE: &[F] = &[rep(1, "paths", Msg(HTTP_PATH))];
const INGRESS_RULE_VALUE: &[F] = &[f(1, "http", Msg(HTTP_RULE))];
const INGRESS_RULE: &[F] = &[f(1, "host", Str), f(2, "", Inline(INGRESS_RULE_VALUE))];
const INGRESS_TLS: &[F] = &[rep(1, "hosts", Str), f(2, "secretName", Str)];
const INGRESS_SPEC: &[F] = &[
    f(1, "defaultBackend", Msg(INGRESS_BACKEND)),
    rep(2, "tls", Msg(INGRESS_TLS)),
    rep(3, "rules", Msg(INGRESS_RULE)),
    f(4, "ingressClassName", Str),
];
const CROSS_VERSION_REF: &[F] = &[
    f(1, "kind", Str),
    f(2, "name", Str),
    f(3, "apiVersion", Str),
];
const HPA_V1_SPEC: &[F] = &[
    f(1, "scaleTargetRef", Msg(CROSS_VERSION_REF)),
    f(2, "minReplicas", IntPtr),
    f(3, "maxReplicas", Int),
    f(4, "targetCPUUtilizationPercentage", IntPtr),
];
const NAMESPACE_SPEC: &[F] = &[rep(1, "finalizers", Str)];
const NAMESPACE_STATUS: &[F] = &[f(1, "phase", Str)];

const META: F = f(1, "metadata", Msg(OBJECT_META));
const CONFIG_MAP: &[F] = &[
    META,
    f(2, "data", MapStr),
    f(3, "binaryData", MapBytes),
    f(4, "immutable", BoolPtr),
];
const SECRET: &[F] = &[
    META,
    f(2, "data", MapBytes),
    f(3, "type", Str),
    f(4, "stringData", MapStr),
    f(5, "immutable", BoolPtr),
];
const NAMESPACE: &[F] = &[
    META,
    f(2, "spec", Msg(NAMESPACE_SPEC)),
    f(3, "status", Msg(NAMESPACE_STATUS)),
];
const SERVICE_ACCOUNT: &[F] = &[
    META,
    rep(2, "secrets", Msg(OBJECT_REF)),
    rep(3, "imagePullSecrets", Msg(LOCAL_REF)),
    f(4, "automountServiceAccountToken", BoolPtr),
];
const DEPLOYMENT: &[F] = &[
    META,
    f(2, "spec", Msg(DEPLOYMENT_SPEC)),
    f(3, "status", Msg(&[])),
];
const JOB: &[F] = &[META, f(2, "spec", Msg(JOB_SPEC)), f(3, "status", Msg(&[]))];
const CRON_JOB: &[F] = &[
    META,
    f(2, "spec", Msg(CRON_JOB_SPEC)),
    f(3, "status", Msg(&[])),
];
const SERVICE: &[F] = &[
    META,
    f(2, "spec", Msg(SERVICE_SPEC)),
    f(3, "status", Msg(&[])),
];
const BINDING: &[F] = &[
    META,
    rep(2, "subjects", Msg(SUBJECT)),
    f(3, "roleRef", Msg(ROLE_REF)),
];
const QUOTA: &[F] = &[
    META,
    f(2, "spec", Msg(QUOTA_SPEC)),
    f(3, "status", Msg(&[])),
];
const PRIORITY_CLASS: &[F] = &[
    META,
    f(2, "value", IntPtr),
    f(3, "globalDefault", Bool),
    f(4, "description", Str),
    f(5, "preemptionPolicy", Str),
];
const ROLE: &[F] = &[META, rep(2, "rules", Msg(POLICY_RULE))];
const CLUSTER_ROLE: &[F] = &[
    META,
    rep(2, "rules", Msg(POLICY_RULE)),
    f(3, "aggregationRule", Msg(AGGREGATION_RULE)),
];
const INGRESS: &[F] = &[
    META,
    f(2, "spec", Msg(INGRESS_SPEC)),
    f(3, "status", Msg(&[])),
];
const PDB: &[F] = &[META, f(2, "spec", Msg(PDB_SPEC)), f(3, "status", Msg(&[]))];
const HPA_V1: &[F] = &[
    META,
    f(2, "spec", Msg(HPA_V1_SPEC)),
    f(3, "status", Msg(&[])),
];
const BOUND_OBJECT_REF: &[F] = &[
    f(1, "kind", Str),
    f(2, "apiVersion", Str),
    f(3, "name", Str),
    f(4, "uid", Str),
];
const TOKEN_REQUEST_SPEC: &[F] = &[
    rep(1, "audiences", Str),
    f(3, "boundObjectRef", Msg(BOUND_OBJECT_REF)),
    f(4, "expirationSeconds", IntPtr),
];
/// What `kubectl create token` sends; the server fills the status.
const TOKEN_REQUEST: &[F] = &[
    META,
    f(2, "spec", Msg(TOKEN_REQUEST_SPEC)),
    f(
        3,
        "status",
        Msg(&[f(1, "token", Str), f(2, "expirationTimestamp", Time)]),
    ),
];

// authorization.k8s.io/v1 and authentication.k8s.io/v1 reviews (the
// typed clients behind `kubectl auth can-i` and `whoami` send protobuf).
const SELECTOR_REQUIREMENT: &[F] = &[
    f(1, "key", Str),
    f(2, "operator", Str),
    rep(3, "values", Str),
];
const SELECTOR_ATTRIBUTES: &[F] = &[
    f(1, "rawSelector", Str),
    rep(2, "requirements", Msg(SELECTOR_REQUIREMENT)),
];
const RESOURCE_ATTRIBUTES: &[F] = &[
    f(1, "namespace", Str),
    f(2, "verb", Str),
    f(3, "group", Str),
    f(4, "version", Str),
    f(5, "resource", Str),
    f(6, "subresource", Str),
    f(7, "name", Str),
    f(8, "fieldSelector", Msg(SELECTOR_ATTRIBUTES)),
    f(9, "labelSelector", Msg(SELECTOR_ATTRIBUTES)),
];
const NON_RESOURCE_ATTRIBUTES: &[F] = &[f(1, "path", Str), f(2, "verb", Str)];
const SELF_ACCESS_SPEC: &[F] = &[
    f(1, "resourceAttributes", Msg(RESOURCE_ATTRIBUTES)),
    f(2, "nonResourceAttributes", Msg(NON_RESOURCE_ATTRIBUTES)),
];
const ACCESS_SPEC: &[F] = &[
    f(1, "resourceAttributes", Msg(RESOURCE_ATTRIBUTES)),
    f(2, "nonResourceAttributes", Msg(NON_RESOURCE_ATTRIBUTES)),
    f(3, "user", Str),
    rep(4, "groups", Str),
    f(6, "uid", Str),
];
const SELF_ACCESS_REVIEW: &[F] = &[
    META,
    f(2, "spec", Msg(SELF_ACCESS_SPEC)),
    f(3, "status", Msg(&[])),
];
const ACCESS_REVIEW: &[F] = &[
    META,
    f(2, "spec", Msg(ACCESS_SPEC)),
    f(3, "status", Msg(&[])),
];
const RULES_REVIEW: &[F] = &[
    META,
    f(2, "spec", Msg(&[f(1, "namespace", Str)])),
    f(3, "status", Msg(&[])),
];
const SELF_SUBJECT_REVIEW: &[F] = &[META, f(2, "status", Msg(&[]))];
const TOKEN_REVIEW: &[F] = &[
    META,
    f(
        2,
        "spec",
        Msg(&[f(1, "token", Str), rep(2, "audiences", Str)]),
    ),
    f(3, "status", Msg(&[])),
];

fn schema(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("v1", "Service") => SERVICE,
        ("v1", "ResourceQuota") => QUOTA,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("batch/v1", "Job") => JOB,
        ("batch/v1", "CronJob") => CRON_JOB,
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => BINDING,
        ("scheduling.k8s.io/v1", "PriorityClass") => PRIORITY_CLASS,
        ("rbac.authorization.k8s.io/v1", "Role") => ROLE,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => CLUSTER_ROLE,
        ("networking.k8s.io/v1", "Ingress") => INGRESS,
        ("policy/v1", "PodDisruptionBudget") => PDB,
        ("autoscaling/v1", "HorizontalPodAutoscaler") => HPA_V1,
        ("authentication.k8s.io/v1", "TokenRequest") => TOKEN_REQUEST,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => SELF_ACCESS_REVIEW,
        ("authorization.k8s.io/v1", "SubjectAccessReview" | "LocalSubjectAccessReview") => {
            ACCESS_REVIEW
        }
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => RULES_REVIEW,
        ("authentication.k8s.io/v1", "SelfSubjectReview") => SELF_SUBJECT_REVIEW,
        ("authentication.k8s.io/v1", "TokenReview") => TOKEN_REVIEW,
        _ => return None,
    })
}

const MAGIC: &[u8] = b"k8s\x00";

fn unsupported(why: &str) -> ApiError {
    ApiError::unsupported_media_type(format!(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml ({why})"
    ))
}

fn malformed() -> ApiError {
    ApiError::bad_request("unable to decode protobuf body: malformed message")
}

/// Decodes a protobuf body into the object's JSON.
pub fn decode(bytes: &[u8]) -> ApiResult<Value> {
    let body = bytes.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    })?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for field in Wire::new(body) {
        let (num, val) = field?;
        match (num, val) {
            (1, Val::Len(tm)) => {
                for tf in Wire::new(tm) {
                    match tf? {
                        (1, Val::Len(s)) => api_version = utf8(s)?,
                        (2, Val::Len(s)) => kind = utf8(s)?,
                        _ => {}
                    }
                }
            }
            (2, Val::Len(r)) => raw = r,
            (3, Val::Len(enc)) if !enc.is_empty() => {
                return Err(unsupported("content encodings are not supported"))
            }
            _ => {}
        }
    }
    let fields = schema(&api_version, &kind).ok_or_else(|| {
        unsupported(&format!(
            "protobuf is not supported for {kind} in {api_version}; send JSON"
        ))
    })?;
    let mut obj = message(raw, fields)?;
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    Ok(obj)
}

fn utf8(b: &[u8]) -> ApiResult<String> {
    String::from_utf8(b.to_vec()).map_err(|_| malformed())
}

enum Val<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

impl Val<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Val::Varint(v) => *v == 0,
            Val::Len(b) => b.is_empty() || all_empty(b),
            Val::Fixed => false,
        }
    }
}

/// A message whose every field is a zero scalar or an empty message.
fn all_empty(b: &[u8]) -> bool {
    let mut ok = true;
    for field in Wire::new(b) {
        match field {
            Ok((_, v)) if v.is_empty() => {}
            _ => {
                ok = false;
                break;
            }
        }
    }
    ok
}

struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Wire<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Wire {
            buf,
            pos: 0,
            failed: false,
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut r: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            r |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(r);
            }
        }
        None
    }
}

impl<'a> Iterator for Wire<'a> {
    type Item = ApiResult<(u32, Val<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let item = (|| {
            let key = self.varint()?;
            let num = u32::try_from(key >> 3).ok()?;
            let val = match key & 7 {
                0 => Val::Varint(self.varint()?),
                1 => {
                    self.pos = self.pos.checked_add(8).filter(|p| *p <= self.buf.len())?;
                    Val::Fixed
                }
                2 => {
                    let len = usize::try_from(self.varint()?).ok()?;
                    let end = self.pos.checked_add(len).filter(|e| *e <= self.buf.len())?;
                    let s = &self.buf[self.pos..end];
                    self.pos = end;
                    Val::Len(s)
                }
                5 => {
                    self.pos = self.pos.checked_add(4).filter(|p| *p <= self.buf.len())?;
                    Val::Fixed
                }
                _ => return None,
            };
            Some((num, val))
        })();
        match item {
            Some(v) => Some(Ok(v)),
            None => {
                self.failed = true;
                Some(Err(malformed()))
            }
        }
    }
}

fn message(buf: &[u8], fields: &[F]) -> ApiResult<Value> {
    let mut out = Map::new();
    for field in Wire::new(buf) {
        let (num, val) = field?;
        let Some(F(_, name, ty, repeated)) = fields.iter().find(|f| f.0 == num).copied() else {
            if val.is_empty() {
                continue;
            }
            return Err(unsupported(&format!(
                "protobuf field {num} is not supported here; send JSON"
            )));
        };
        if let (Inline(inner), Val::Len(b)) = (ty, &val) {
            if let Value::Object(m) = message(b, inner)? {
                out.extend(m);
            }
            continue;
        }
        let keep_zero = matches!(ty, IntPtr | BoolPtr);
        if val.is_empty() && !keep_zero && !repeated {
            continue;
        }
        let v = scalar(ty, &val)?;
        let Some(v) = v else { continue };
        if repeated {
            match out
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(a) => a.push(v),
                other => *other = Value::Array(vec![v]),
            }
        } else if let (MapStr | MapBytes | MapQuantity, Value::Object(entry)) = (ty, &v) {
            let m = out
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = m {
                m.extend(entry.clone());
            }
        } else {
            out.insert(name.to_string(), v);
        }
    }
    Ok(Value::Object(out))
}

fn scalar(ty: Ty, val: &Val<'_>) -> ApiResult<Option<Value>> {
    Ok(Some(match (ty, val) {
        (Str, Val::Len(b)) => json!(utf8(b)?),
        (Bool | BoolPtr, Val::Varint(v)) => json!(*v != 0),
        (Int | IntPtr, Val::Varint(v)) => json!(*v as i64),
        (Msg(fields), Val::Len(b)) => {
            let m = message(b, fields)?;
            if m.as_object().is_some_and(Map::is_empty) {
                return Ok(None);
            }
            m
        }
        (MapStr | MapBytes | MapQuantity, Val::Len(b)) => {
            let mut key = String::new();
            let mut value = Value::String(String::new());
            for e in Wire::new(b) {
                match e? {
                    (1, Val::Len(k)) => key = utf8(k)?,
                    (2, Val::Len(v)) => {
                        value = match ty {
                            MapBytes => json!(STANDARD.encode(v)),
                            MapQuantity => quantity(v)?,
                            _ => json!(utf8(v)?),
                        }
                    }
                    _ => {}
                }
            }
            json!({ key: value })
        }
        (IntOrString, Val::Len(b)) => {
            let mut is_string = false;
            let mut int = 0i64;
            let mut s = String::new();
            for e in Wire::new(b) {
                match e? {
                    (1, Val::Varint(t)) => is_string = t == 1,
                    (2, Val::Varint(i)) => int = i as i64,
                    (3, Val::Len(v)) => s = utf8(v)?,
                    _ => {}
                }
            }
            if is_string {
                json!(s)
            } else {
                json!(int)
            }
        }
        (Time, Val::Len(b)) => {
            let mut secs = 0i64;
            for e in Wire::new(b) {
                if let (1, Val::Varint(s)) = e? {
                    secs = s as i64;
                }
            }
            let ts = jiff::Timestamp::from_second(secs).map_err(|_| malformed())?;
            json!(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        _ => return Err(malformed()),
    }))
}

fn quantity(b: &[u8]) -> ApiResult<Value> {
    let mut s = String::new();
    for e in Wire::new(b) {
        if let (1, Val::Len(v)) = e? {
            s = utf8(v)?;
        }
    }
    Ok(json!(s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(decode(b"nope").unwrap_err().code, 400);
        assert_eq!(decode(b"k8s\x00\x0a\xff").unwrap_err().code, 400);
    }

    // Bodies captured from kubectl 1.33 `kubectl create ...`.
    include!("protobuf_fixtures.rs");
}
