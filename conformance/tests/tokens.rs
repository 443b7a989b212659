//! ServiceAccount tokens (`kubectl create token`, the TokenRequest API) and
//! the OIDC discovery documents that publish the key they are signed with.

use std::time::Duration;

use conformance::{json, Server};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// The JSON of one base64url part of a JWT.
fn part(token: &str, i: usize) -> Value {
    let s = token.trim().split('.').nth(i).unwrap_or_default();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = alphabet.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    serde_json::from_slice(&out).expect("JSON part")
}

fn stderr_of(s: &Server, args: &[&str]) -> String {
    let out = s.kubectl(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kubectl_create_token_issues_signed_service_account_tokens() {
    let mut s = Server::start();
    s.wait_for(WAIT, "the default ServiceAccount", || {
        s.kubectl(&["get", "sa", "default"])
            .status
            .success()
            .then_some(())
    });
    let sa = json(&s.kubectl_ok(&["get", "sa", "default", "-o", "json"]));
    let token = s.kubectl_ok(&["create", "token", "default"]);
    let header = part(&token, 0);
    let claims = part(&token, 1);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(
        claims["iss"],
        "https://kubernetes.default.svc.cluster.local"
    );
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://kubernetes.default.svc.cluster.local"])
    );
    assert_eq!(claims["sub"], "system:serviceaccount:default:default");
    assert_eq!(claims["kubernetes.io"]["namespace"], "default");
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "default");
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"]["uid"],
        sa["metadata"]["uid"]
    );
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    assert_eq!(lifetime, 3600);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The key is published under the id the token names.
    let jwks = json(&s.kubectl_ok(&["get", "--raw", "/openid/v1/jwks"]));
    assert_eq!(jwks["keys"][0]["kid"], header["kid"], "{jwks}");
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    let oidc = json(&s.kubectl_ok(&["get", "--raw", "/.well-known/openid-configuration"]));
    assert_eq!(oidc["issuer"], claims["iss"]);
    assert!(oidc["jwks_uri"]
        .as_str()
        .is_some_and(|u| u.ends_with("/openid/v1/jwks")));

    // Duration and audience; the whole TokenRequest with -o json.
    let req = json(&s.kubectl_ok(&[
        "create",
        "token",
        "default",
        "--duration=20m",
        "--audience=vault",
        "-o",
        "json",
    ]));
    assert_eq!(req["kind"], "TokenRequest");
    assert_eq!(req["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(req["metadata"]["name"], "default");
    assert_eq!(req["spec"]["expirationSeconds"], 1200);
    assert_eq!(req["spec"]["audiences"], serde_json::json!(["vault"]));
    let short = req["status"]["token"].as_str().unwrap_or_default();
    let c = part(short, 1);
    assert_eq!(c["aud"], serde_json::json!(["vault"]));
    assert_eq!(
        c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0),
        1200
    );
    assert!(req["status"]["expirationTimestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    // Mistakes, as upstream answers them.
    let err = stderr_of(&s, &["create", "token", "default", "--duration=1m"]);
    assert!(err.contains(r#"TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"#), "{err}");
    let err = stderr_of(&s, &["create", "token", "nobody"]);
    assert!(
        err.contains(r#"serviceaccounts "nobody" not found"#),
        "{err}"
    );

    // Bound to a pod of this account (and not to another account's pod).
    for (pod, account) in [("mine", "default"), ("theirs", "robot")] {
        if account != "default" {
            s.kubectl_ok(&["create", "serviceaccount", account]);
        }
        let manifest = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}}}\nspec:\n  serviceAccountName: {account}\n  containers: [{{name: c, image: nginx}}]\n"
        );
        s.kubectl_with_ok(
            &conformance::kubectl_path(),
            &["apply", "-f", "-"],
            Some(&manifest),
        );
    }
    let pod = json(&s.kubectl_ok(&["get", "pod", "mine", "-o", "json"]));
    let bound = s.kubectl_ok(&[
        "create",
        "token",
        "default",
        "--bound-object-kind=Pod",
        "--bound-object-name=mine",
    ]);
    let c = part(&bound, 1);
    assert_eq!(c["kubernetes.io"]["pod"]["name"], "mine");
    assert_eq!(c["kubernetes.io"]["pod"]["uid"], pod["metadata"]["uid"]);
    let err = stderr_of(
        &s,
        &[
            "create",
            "token",
            "default",
            "--bound-object-kind=Pod",
            "--bound-object-name=theirs",
        ],
    );
    assert!(err.contains(r#"cannot bind token for serviceaccount "default" to pod running with serviceaccount "robot""#), "{err}");
    let err = stderr_of(
        &s,
        &[
            "create",
            "token",
            "default",
            "--bound-object-kind=Pod",
            "--bound-object-name=gone",
        ],
    );
    assert!(err.contains(r#"pods "gone" not found"#), "{err}");

    // A raw TokenRequest bound to a kind tokens cannot be bound to.
    let body = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"boundObjectRef":{"apiVersion":"v1","kind":"ConfigMap","name":"x"}}}"#;
    let out = s.kubectl_with(
        &conformance::kubectl_path(),
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/serviceaccounts/default/token",
            "-f",
            "-",
        ],
        Some(body),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot bind token to object of type /v1, Kind=ConfigMap"),
        "{err}"
    );

    // Discovery names the subresource; the key survives a restart.
    let resources = s.kubectl_ok(&["get", "--raw", "/api/v1"]);
    assert!(
        resources.contains(r#""name":"serviceaccounts/token""#),
        "{resources}"
    );
    s.restart().expect("restart");
    let again = json(&s.kubectl_ok(&["get", "--raw", "/openid/v1/jwks"]));
    assert_eq!(again["keys"][0]["kid"], header["kid"]);
}

/// kubectl with only a bearer token (no client certificate).
fn with_token(s: &Server, token: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--kubeconfig=/dev/null", "--insecure-skip-tls-verify"];
    let server = format!("--server={}", s.url());
    let token = format!("--token={}", token.trim());
    all.push(&server);
    all.push(&token);
    all.extend_from_slice(args);
    std::process::Command::new(conformance::kubectl_path())
        .args(&all)
        .output()
        .expect("kubectl")
}

fn review(s: &Server, token: &str, audiences: &[&str]) -> Value {
    let body = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token.trim(), "audiences": audiences},
    });
    let out = s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-", "-o", "json"],
        Some(&body.to_string()),
    );
    json(&out)["status"].clone()
}

#[test]
fn service_account_tokens_authenticate_as_their_account() {
    let s = Server::start();
    s.kubectl_ok(&["create", "serviceaccount", "robot"]);
    let token = s.kubectl_ok(&["create", "token", "robot"]);

    let out = with_token(&s, &token, &["auth", "whoami", "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who = json(&String::from_utf8_lossy(&out.stdout));
    let info = &who["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:default:robot");
    assert_eq!(
        info["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
    assert!(
        info["extra"]["authentication.kubernetes.io/credential-id"][0]
            .as_str()
            .is_some_and(|c| c.starts_with("JTI="))
    );

    // RBAC applies to it like to any user.
    let out = with_token(&s, &token, &["get", "pods"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default""#), "{err}");
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "robot-view",
        "--clusterrole=view",
        "--serviceaccount=default:robot",
    ]);
    s.wait_for(WAIT, "the binding to take effect", || {
        with_token(&s, &token, &["get", "pods"])
            .status
            .success()
            .then_some(())
    });

    // Tokens for another audience, forged or of a recreated account: 401.
    let vault = s.kubectl_ok(&["create", "token", "robot", "--audience=vault"]);
    for bad in [vault.as_str(), "not-a-token", &format!("{}x", token.trim())] {
        let out = with_token(&s, bad, &["get", "pods"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Unauthorized"), "{err}");
    }

    // TokenReview says who a token is, for the audiences asked.
    let status = review(&s, &token, &[]);
    assert_eq!(status["authenticated"], true, "{status}");
    assert_eq!(
        status["user"]["username"],
        "system:serviceaccount:default:robot"
    );
    let status = review(&s, &vault, &["vault"]);
    assert_eq!(status["authenticated"], true, "{status}");
    assert_eq!(status["audiences"], serde_json::json!(["vault"]));
    let status = review(&s, &vault, &[]);
    assert_ne!(status["authenticated"], true, "{status}");
    let status = review(&s, "garbage", &[]);
    assert_ne!(status["authenticated"], true, "{status}");

    // A pod-bound token dies with its pod; any token dies with its account.
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: robot\n  containers: [{name: c, image: nginx}]\n";
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["apply", "-f", "-"],
        Some(manifest),
    );
    let bound = s.kubectl_ok(&[
        "create",
        "token",
        "robot",
        "--bound-object-kind=Pod",
        "--bound-object-name=p",
    ]);
    let status = review(&s, &bound, &[]);
    assert_eq!(
        status["user"]["extra"]["authentication.kubernetes.io/pod-name"],
        serde_json::json!(["p"])
    );
    s.kubectl_ok(&["delete", "pod", "p", "--grace-period=0", "--force"]);
    s.wait_for(WAIT, "the pod to go", || {
        (!s.kubectl(&["get", "pod", "p"]).status.success()).then_some(())
    });
    let status = review(&s, &bound, &[]);
    assert_eq!(
        status["error"], "pod default/p has been deleted",
        "{status}"
    );
    s.kubectl_ok(&["delete", "serviceaccount", "robot"]);
    s.kubectl_ok(&["create", "serviceaccount", "robot"]);
    let status = review(&s, &token, &[]);
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("service account UID (")),
        "{status}"
    );
    let out = with_token(&s, &token, &["get", "pods"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized"));
}
