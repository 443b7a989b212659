//! Authentication, RBAC authorization, impersonation and the review APIs,
//! against the real binary: `kubectl auth whoami` / `can-i`, requests
//! without a client certificate, a user with their own certificate, and
//! SubjectAccessReviews through kube::Client.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use conformance::{json, Server};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

const WAIT: Duration = Duration::from_secs(30);

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// `kubectl auth can-i ARGS` as the admin: "yes" or "no".
fn can_i(s: &Server, args: &[&str]) -> String {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    let out = s.kubectl(&all);
    let (stdout, stderr) = text(&out);
    assert!(
        stdout == "yes" || stdout == "no",
        "can-i {args:?}: stdout {stdout:?}, stderr {stderr:?}"
    );
    assert_eq!(
        out.status.success(),
        stdout == "yes",
        "exit code of can-i {args:?}"
    );
    stdout
}

/// A kubeconfig for the server with the given client certificate.
fn kubeconfig(s: &Server, name: &str, crt: &Path, key: &Path) -> PathBuf {
    let ca = s.data_dir().join("pki").join("ca.crt");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: u\n  user:\n    client-certificate: {}\n    client-key: {}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n",
        s.url(),
        ca.display(),
        crt.display(),
        key.display()
    );
    let path = s.data_dir().join(format!("{name}.kubeconfig"));
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

fn kubectl_as(config: &Path, args: &[&str]) -> Output {
    Command::new(conformance::kubectl_path())
        .arg("--kubeconfig")
        .arg(config)
        .args(args)
        .output()
        .expect("run kubectl")
}

/// A client certificate for CN=`user`, O=`group`, signed by the cluster CA
/// with openssl: (certificate, key).
fn client_cert(s: &Server, user: &str, group: &str) -> (PathBuf, PathBuf) {
    let pki = s.data_dir().join("pki");
    let dir = s.data_dir();
    let key = dir.join(format!("{user}.key"));
    let csr = dir.join(format!("{user}.csr"));
    let crt = dir.join(format!("{user}.crt"));
    let ext = dir.join(format!("{user}.ext"));
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").expect("ext file");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {:?}", text(&out));
    };
    let p = |p: &Path| p.display().to_string();
    run(&[
        "ecparam",
        "-genkey",
        "-name",
        "prime256v1",
        "-noout",
        "-out",
        &p(&key),
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        &p(&key),
        "-subj",
        &format!("/O={group}/CN={user}"),
        "-out",
        &p(&csr),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &p(&csr),
        "-CA",
        &p(&pki.join("ca.crt")),
        "-CAkey",
        &p(&pki.join("ca.key")),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p(&ext),
        "-out",
        &p(&crt),
    ]);
    (crt, key)
}

fn curl(s: &Server, path: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}", "--cacert"])
        .arg(s.data_dir().join("pki").join("ca.crt"))
        .args(extra)
        .arg(format!("{}{path}", s.url()))
        .output()
        .expect("curl");
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = all.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_string(), body.to_string())
}

#[test]
fn admin_is_kubernetes_admin_and_may_do_anything() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let who = s.kubectl_ok(&["auth", "whoami"]);
    assert!(who.contains("Username    kubernetes-admin"), "{who}");
    assert!(
        who.contains("[system:masters system:authenticated]"),
        "{who}"
    );
    let review = json(&s.kubectl_ok(&["auth", "whoami", "-o", "json"]));
    assert_eq!(review["kind"], "SelfSubjectReview");
    assert_eq!(review["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(review["status"]["userInfo"]["username"], "kubernetes-admin");
    let yaml = s.kubectl_ok(&["auth", "whoami", "-o", "yaml"]);
    assert!(yaml.contains("username: kubernetes-admin"), "{yaml}");

    assert_eq!(can_i(&s, &["create", "pods"]), "yes");
    assert_eq!(can_i(&s, &["delete", "nodes", "--all-namespaces"]), "yes");
    assert_eq!(can_i(&s, &["get", "/metrics"]), "yes");
    let list = s.kubectl_ok(&["auth", "can-i", "--list", "-n", "default"]);
    assert!(list.lines().any(|l| l.starts_with("*.*")), "{list}");
    assert!(
        list.contains("selfsubjectaccessreviews.authorization.k8s.io"),
        "{list}"
    );
}

#[test]
fn service_account_is_allowed_by_a_role_binding() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let sa = "--as=system:serviceaccount:default:x";
    assert_eq!(can_i(&s, &["get", "pods", sa, "-n", "default"]), "no");
    s.kubectl_ok(&[
        "create",
        "role",
        "pod-reader",
        "--verb=get,list",
        "--resource=pods",
        "-n",
        "default",
    ]);
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "x-reads",
        "--role=pod-reader",
        "--serviceaccount=default:x",
        "-n",
        "default",
    ]);
    // The binding is in force as soon as it is created (reviews re-check
    // after catching up with the store).
    assert_eq!(can_i(&s, &["get", "pods", sa, "-n", "default"]), "yes");
    assert_eq!(can_i(&s, &["list", "pods", sa, "-n", "default"]), "yes");
    assert_eq!(can_i(&s, &["delete", "pods", sa, "-n", "default"]), "no");
    assert_eq!(can_i(&s, &["get", "pods", sa, "-n", "kube-system"]), "no");
    s.kubectl_ok(&["get", "pods", sa, "-n", "default"]);
    let out = s.kubectl(&["get", "pods", sa, "-n", "kube-system"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out).1,
        "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:default:x\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
    );
    // Service accounts are in system:serviceaccounts and
    // system:serviceaccounts:NS: bind that group cluster-wide to view.
    s.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "sa-view",
        "--clusterrole=view",
        "--group=system:serviceaccounts:default",
    ]);
    s.wait_for(WAIT, "view aggregated and bound", || {
        (can_i(&s, &["list", "deployments.apps", sa, "-n", "kube-system"]) == "yes").then_some(())
    });
    let list = s.kubectl_ok(&["auth", "can-i", "--list", sa, "-n", "default"]);
    assert!(list.contains("pods"), "{list}");
}

#[test]
fn requests_without_credentials_are_anonymous() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let (code, body) = curl(&s, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(code, "403", "{body}");
    let status = json(&body);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["code"], 403);
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(status["details"], serde_json::json!({"kind": "pods"}));
    let (code, body) = curl(&s, "/apis/apps/v1/namespaces/a/deployments/web", &[]);
    assert_eq!(code, "403");
    let status = json(&body);
    assert_eq!(
        status["message"],
        "deployments.apps \"web\" is forbidden: User \"system:anonymous\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"a\""
    );
    assert_eq!(
        status["details"],
        serde_json::json!({"name": "web", "group": "apps", "kind": "deployments"})
    );
    let (code, body) = curl(&s, "/api", &[]);
    assert_eq!(code, "403");
    assert_eq!(
        json(&body)["message"],
        "forbidden: User \"system:anonymous\" cannot get path \"/api\""
    );
    // Upstream's system:public-info-viewer: health and version are public.
    for path in ["/healthz", "/livez", "/readyz", "/version"] {
        let (code, body) = curl(&s, path, &[]);
        assert_eq!(code, "200", "{path}: {body}");
    }
    // An unknown bearer token is refused, not treated as anonymous.
    let (code, body) = curl(&s, "/version", &["-H", "Authorization: Bearer not-a-token"]);
    assert_eq!(code, "401");
    assert_eq!(json(&body)["reason"], "Unauthorized");

    // Anonymous users may not even ask about themselves (system:basic-user
    // is for authenticated users).
    let ssar = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}"#;
    let (code, body) = curl(
        &s,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            ssar,
        ],
    );
    assert_eq!(code, "403", "{body}");
    assert_eq!(
        json(&body)["message"],
        "selfsubjectaccessreviews.authorization.k8s.io is forbidden: User \"system:anonymous\" cannot create resource \"selfsubjectaccessreviews\" in API group \"authorization.k8s.io\" at the cluster scope"
    );
}

#[test]
fn impersonation_needs_the_impersonate_verb() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let (code, body) = curl(
        &s,
        "/api/v1/namespaces/default/pods",
        &["-H", "Impersonate-User: bob"],
    );
    assert_eq!(code, "403", "{body}");
    assert_eq!(
        json(&body)["message"],
        "users \"bob\" is forbidden: User \"system:anonymous\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let (crt, key) = client_cert(&s, "jane", "devs");
    let jane = kubeconfig(&s, "jane", &crt, &key);
    // kubectl's discovery (which carries the headers too) fails first and
    // client-go prints "Forbidden: unknown", as against kube-apiserver.
    let out = kubectl_as(
        &jane,
        &["get", "pods", "--as=system:serviceaccount:ns1:bot"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("Error from server (Forbidden)"),
        "{:?}",
        text(&out)
    );
    let (crt_s, key_s) = (crt.display().to_string(), key.display().to_string());
    let as_bot = [
        "--cert",
        &crt_s,
        "--key",
        &key_s,
        "-H",
        "Impersonate-User: system:serviceaccount:ns1:bot",
    ];
    let (code, body) = curl(&s, "/api/v1/namespaces/ns1/pods", &as_bot);
    assert_eq!(code, "403", "{body}");
    assert_eq!(
        json(&body)["message"],
        "serviceaccounts \"bot\" is forbidden: User \"jane\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"ns1\""
    );
    s.kubectl_ok(&["create", "namespace", "ns1"]);
    // Granted the verb on one service account, jane acts as it.
    s.kubectl_ok(&[
        "create",
        "role",
        "be-bot",
        "--verb=impersonate",
        "--resource=serviceaccounts",
        "--resource-name=bot",
        "-n",
        "ns1",
    ]);
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "jane-be-bot",
        "--role=be-bot",
        "--user=jane",
        "-n",
        "ns1",
    ]);
    let who = text(&kubectl_as(
        &jane,
        &[
            "auth",
            "whoami",
            "--as=system:serviceaccount:ns1:bot",
            "-o",
            "json",
        ],
    ));
    let info = &json(&who.0)["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:ns1:bot", "{who:?}");
    assert_eq!(
        info["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:ns1",
            "system:authenticated"
        ])
    );
    let (code, body) = curl(&s, "/api/v1/namespaces/ns1/pods", &as_bot);
    assert_eq!(code, "403", "bot may not list pods: {body}");
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("pods is forbidden: User \"system:serviceaccount:ns1:bot\""),
        "{body}"
    );
    let as_other = [
        "--cert",
        &crt_s,
        "--key",
        &key_s,
        "-H",
        "Impersonate-User: system:serviceaccount:ns1:other",
    ];
    let (code, body) = curl(&s, "/api/v1/namespaces/ns1/pods", &as_other);
    assert_eq!(code, "403");
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot impersonate resource \"serviceaccounts\""),
        "{body}"
    );

    // The admin may impersonate; the impersonated user's rights apply.
    let who = s.kubectl_ok(&[
        "auth",
        "whoami",
        "--as=bob",
        "--as-group=devs",
        "-o",
        "json",
    ]);
    let info = &json(&who)["status"]["userInfo"];
    assert_eq!(info["username"], "bob");
    assert_eq!(
        info["groups"],
        serde_json::json!(["devs", "system:authenticated"])
    );
    let out = s.kubectl(&["get", "secrets", "--as=bob", "-n", "default"]);
    assert_eq!(
        text(&out).1,
        "Error from server (Forbidden): secrets is forbidden: User \"bob\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\""
    );
    // A group without a user is refused.
    let out = s.kubectl(&["get", "pods", "--as-group=devs"]);
    assert!(!out.status.success());
}

#[test]
fn a_client_certificate_names_the_user_and_groups() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let (crt, key) = client_cert(&s, "jane", "devs");
    let jane = kubeconfig(&s, "jane", &crt, &key);
    let (who, err) = text(&kubectl_as(&jane, &["auth", "whoami", "-o", "json"]));
    let info = &json(&who)["status"]["userInfo"];
    assert_eq!(info["username"], "jane", "{err}");
    assert_eq!(
        info["groups"],
        serde_json::json!(["devs", "system:authenticated"])
    );
    let out = kubectl_as(&jane, &["get", "configmaps", "-n", "default"]);
    assert_eq!(
        text(&out).1,
        "Error from server (Forbidden): configmaps is forbidden: User \"jane\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    // Discovery is open to authenticated users.
    let out = kubectl_as(&jane, &["get", "--raw", "/api"]);
    assert!(out.status.success(), "{:?}", text(&out));
    // Bind the group to edit in one namespace.
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "devs-edit",
        "--clusterrole=edit",
        "--group=devs",
        "-n",
        "default",
    ]);
    s.wait_for(WAIT, "devs may create configmaps", || {
        kubectl_as(&jane, &["create", "configmap", "c1", "-n", "default"])
            .status
            .success()
            .then_some(())
    });
    let out = kubectl_as(&jane, &["get", "configmaps", "-n", "kube-system"]);
    assert!(!out.status.success());
    // edit does not include RBAC objects; admin does.
    let out = kubectl_as(&jane, &["get", "roles", "-n", "default"]);
    assert!(
        text(&out).1.contains("cannot list resource \"roles\""),
        "{:?}",
        text(&out)
    );
}

#[tokio::test]
async fn subject_access_reviews_through_kube_client() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let client = s.client().await;
    let review = |user: &str, verb: &str, ns: &str| SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.into()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some("apps".into()),
                resource: Some("deployments".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let sars: Api<SubjectAccessReview> = Api::all(client.clone());
    let pp = PostParams::default();
    let denied = sars
        .create(&pp, &review("jane", "list", "default"))
        .await
        .expect("sar");
    let status = denied.status.expect("status");
    assert!(!status.allowed);
    assert_eq!(status.denied, None);

    s.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "jane-view",
        "--clusterrole=view",
        "--user=jane",
    ]);
    let allowed = sars
        .create(&pp, &review("jane", "list", "default"))
        .await
        .expect("sar");
    let status = allowed.status.expect("status");
    assert!(status.allowed, "{status:?}");
    assert_eq!(
        status.reason.as_deref(),
        Some("RBAC: allowed by ClusterRoleBinding \"jane-view\" of ClusterRole \"view\" to User \"jane\"")
    );
    let delete = sars
        .create(&pp, &review("jane", "delete", "default"))
        .await
        .expect("sar");
    assert!(!delete.status.expect("status").allowed);

    // A binding to a role that does not exist is reported as the reason.
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "ghost",
        "--role=ghost",
        "--user=jane",
        "-n",
        "default",
    ]);
    let d = sars
        .create(&pp, &review("jane", "delete", "default"))
        .await
        .expect("sar");
    assert_eq!(
        d.status.expect("status").reason.as_deref(),
        Some("RBAC: role.rbac.authorization.k8s.io \"ghost\" not found")
    );

    // Neither user nor group: 422 as upstream.
    let mut empty = review("", "list", "default");
    empty.spec.user = None;
    let err = sars.create(&pp, &empty).await.expect_err("invalid");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(
                s.message
                    .contains("at least one of user or group must be specified"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }

    // LocalSubjectAccessReview: the namespace must match the URL's.
    let lsars: Api<LocalSubjectAccessReview> = Api::namespaced(client, "default");
    let local = |ns: &str| LocalSubjectAccessReview {
        metadata: kube::api::ObjectMeta {
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: review("jane", "get", ns).spec,
        ..Default::default()
    };
    let ok = lsars.create(&pp, &local("default")).await.expect("lsar");
    assert!(ok.status.expect("status").allowed);
    let err = lsars
        .create(&pp, &local("other"))
        .await
        .expect_err("mismatch");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 400);
            assert_eq!(
                s.message,
                "spec.resourceAttributes.namespace must match namespace: default"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn default_roles_are_bootstrapped_and_aggregated() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let admin = json(&s.kubectl_ok(&["get", "clusterrole", "admin", "-o", "json"]));
    assert_eq!(
        admin["metadata"]["labels"]["kubernetes.io/bootstrapping"],
        "rbac-defaults"
    );
    assert_eq!(
        admin["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
        "true"
    );
    let has = |role: &serde_json::Value, resource: &str| {
        role["rules"].as_array().into_iter().flatten().any(|r| {
            r["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x == resource)
        })
    };
    assert!(
        has(&admin, "localsubjectaccessreviews"),
        "admin's own rules"
    );
    assert!(has(&admin, "pods/exec"), "admin aggregates edit");
    assert!(
        has(&admin, "controllerrevisions"),
        "admin aggregates view through edit"
    );
    let binding = json(&s.kubectl_ok(&[
        "get",
        "clusterrolebinding",
        "system:public-info-viewer",
        "-o",
        "json",
    ]));
    assert_eq!(binding["subjects"][1]["name"], "system:unauthenticated");

    // A role labelled aggregate-to-view joins view (and so edit and admin).
    let role = r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "widgets-view",
                     "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}]}"#;
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(role),
    );
    s.wait_for(WAIT, "view and admin to aggregate widgets-view", || {
        let view = json(&s.kubectl_ok(&["get", "clusterrole", "view", "-o", "json"]));
        let admin = json(&s.kubectl_ok(&["get", "clusterrole", "admin", "-o", "json"]));
        (has(&view, "widgets") && has(&admin, "widgets")).then_some(())
    });

    // A restart keeps edited defaults (they are only created when missing).
    s.kubectl_ok(&["label", "clusterrole", "system:discovery", "edited=yes"]);
    let mut s = s;
    s.restart().expect("restart");
    let d = json(&s.kubectl_ok(&["get", "clusterrole", "system:discovery", "-o", "json"]));
    assert_eq!(d["metadata"]["labels"]["edited"], "yes");
}

#[test]
fn always_allow_mode_lets_anonymous_requests_through() {
    let s = Server::start_with(&[
        "--nodes",
        "0",
        "--controllers",
        "",
        "--authorization-mode",
        "AlwaysAllow",
    ])
    .expect("start");
    let (code, body) = curl(&s, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(code, "200", "{body}");
    let ssar = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"delete","resource":"nodes"}}}"#;
    let (code, body) = curl(
        &s,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            ssar,
        ],
    );
    assert_eq!(code, "201", "{body}");
    assert_eq!(json(&body)["status"]["allowed"], true);
}

#[test]
fn rbac_writes_cannot_grant_more_than_the_writer_holds() {
    let s = Server::start_with(&["--nodes", "0", "--controllers", ""]).expect("start");
    let (crt, key) = client_cert(&s, "jane", "devs");
    let jane = kubeconfig(&s, "jane", &crt, &key);
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "devs-admin",
        "--clusterrole=admin",
        "--group=devs",
        "-n",
        "default",
    ]);
    s.wait_for(WAIT, "jane may list roles", || {
        kubectl_as(&jane, &["get", "roles", "-n", "default"])
            .status
            .success()
            .then_some(())
    });
    // Rules she holds: fine, as a Role and as a binding to edit.
    let out = kubectl_as(
        &jane,
        &[
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods",
            "-n",
            "default",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kubectl_as(
        &jane,
        &[
            "create",
            "rolebinding",
            "bob-edit",
            "--clusterrole=edit",
            "--user=bob",
            "-n",
            "default",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    // More than she holds: refused with upstream's message.
    let out = kubectl_as(
        &jane,
        &[
            "create",
            "rolebinding",
            "root",
            "--clusterrole=cluster-admin",
            "--user=bob",
            "-n",
            "default",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out).1;
    assert!(
        err.contains("rolebindings.rbac.authorization.k8s.io \"root\" is forbidden: user \"jane\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}"),
        "{err}"
    );
    let out = kubectl_as(
        &jane,
        &[
            "create",
            "role",
            "nodes",
            "--verb=delete",
            "--resource=nodes",
            "-n",
            "default",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"delete\"]}"),
        "{:?}",
        text(&out)
    );
    // Editing a role to widen it is refused too; the admin may.
    let out = kubectl_as(
        &jane,
        &[
            "patch",
            "role",
            "reader",
            "-n",
            "default",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/rules/0/resources/-","value":"nodes"}]"#,
        ],
    );
    assert!(
        text(&out)
            .1
            .contains("is attempting to grant RBAC permissions not currently held"),
        "{:?}",
        text(&out)
    );
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "root",
        "--clusterrole=cluster-admin",
        "--user=bob",
        "-n",
        "default",
    ]);
    // With the bind verb on cluster-admin she may bind it.
    s.kubectl_ok(&[
        "create",
        "clusterrole",
        "bind-root",
        "--verb=bind",
        "--resource=clusterroles",
        "--resource-name=cluster-admin",
    ]);
    s.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "jane-bind-root",
        "--clusterrole=bind-root",
        "--user=jane",
    ]);
    let out = kubectl_as(
        &jane,
        &[
            "create",
            "rolebinding",
            "root2",
            "--clusterrole=cluster-admin",
            "--user=bob",
            "-n",
            "default",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
}
