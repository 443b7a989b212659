//! The server itself: start-up, kubeconfig, TLS (HTTP/2, client certs),
//! `/version`, health endpoints, `/metrics`, errors for unknown paths and
//! oversized bodies, restart on the same data dir, and the CLI.

use std::process::Command;

use conformance::{ferrokube_bin, get_raw, request, Server};

#[test]
fn kubeconfig_names_the_real_port_and_admin_identity() {
    let s = Server::start();
    let text = std::fs::read_to_string(s.kubeconfig_path()).expect("kubeconfig");
    assert!(s.url().starts_with("https://127.0.0.1:"), "{}", s.url());
    assert!(!s.url().ends_with(":0"), "{}", s.url());
    for field in [
        "certificate-authority-data:",
        "client-certificate-data:",
        "client-key-data:",
        "current-context:",
    ] {
        assert!(text.contains(field), "{field} missing:\n{text}");
    }
    // The admin certificate carries the identity kubeadm gives the admin.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(s.data_dir().join("pki/admin.crt"))
        .output()
        .expect("openssl");
    let subject = String::from_utf8_lossy(&out.stdout);
    assert!(subject.contains("system:masters"), "{subject}");
    assert!(subject.contains("kubernetes-admin"), "{subject}");
}

#[test]
fn serves_http2_and_http1_with_the_cluster_ca() {
    let s = Server::start();
    let pki = s.data_dir().join("pki");
    for (flag, want) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = Command::new("curl")
            .args([
                "-sS",
                flag,
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
            ])
            .arg("--cacert")
            .arg(pki.join("ca.crt"))
            .arg(format!("{}/version", s.url()))
            .output()
            .expect("curl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{want} 200"),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Client certificates are accepted (and optional: the call above had none).
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg("--cacert")
        .arg(pki.join("ca.crt"))
        .arg("--cert")
        .arg(pki.join("admin.crt"))
        .arg("--key")
        .arg(pki.join("admin.key"))
        .arg(format!("{}/readyz", s.url()))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    // localhost is in the serving certificate too.
    let localhost = s.url().replace("127.0.0.1", "localhost");
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg("--cacert")
        .arg(pki.join("ca.crt"))
        .arg(format!("{localhost}/livez"))
        .output()
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn version_is_kubernetes_1_33() {
    let s = Server::start();
    let client = s.client().await;
    let v = client.apiserver_version().await.expect("version");
    assert_eq!(v.major, "1");
    assert_eq!(v.minor, "33");
    assert!(v.git_version.starts_with("v1.33."), "{}", v.git_version);
    assert_eq!(v.platform, "linux/amd64");
}

#[tokio::test]
async fn health_endpoints_answer_ok_and_verbose() {
    let s = Server::start();
    let client = s.client().await;
    for path in ["/healthz", "/livez", "/readyz"] {
        assert_eq!(
            get_raw(&client, path).await.expect(path),
            (200, "ok".into())
        );
        let (code, body) = get_raw(&client, &format!("{path}?verbose"))
            .await
            .expect(path);
        assert_eq!(code, 200);
        assert!(body.contains("[+]ping ok"), "{body}");
        assert!(body.contains("[+]etcd ok"), "{body}");
        let name = path.trim_start_matches('/');
        assert!(body.ends_with(&format!("{name} check passed\n")), "{body}");
        let (code, body) = get_raw(&client, &format!("{path}/etcd")).await.expect(path);
        assert_eq!((code, body.as_str()), (200, "ok"));
    }
    let (code, body) = get_raw(&client, "/readyz?verbose&exclude=etcd")
        .await
        .expect("exclude");
    assert_eq!(code, 200);
    assert!(body.contains("[+]etcd excluded: ok"), "{body}");
}

#[tokio::test]
async fn metrics_count_requests() {
    let s = Server::start();
    let client = s.client().await;
    // One request that certainly reaches a resource path.
    let _ = get_raw(&client, "/api/v1/namespaces").await.expect("list");
    let (code, body) = get_raw(&client, "/metrics").await.expect("metrics");
    assert_eq!(code, 200);
    let line = body
        .lines()
        .find(|l| {
            l.starts_with("apiserver_request_total{")
                && l.contains("resource=\"namespaces\"")
                && l.contains("verb=\"LIST\"")
        })
        .unwrap_or_else(|| panic!("no LIST namespaces counter:\n{body}"));
    assert!(!line.ends_with(" 0"), "{line}");
    assert!(body.contains("process_start_time_seconds"));
}

#[tokio::test]
async fn unknown_path_is_a_not_found_status() {
    let s = Server::start();
    let client = s.client().await;
    let (code, body) = get_raw(&client, "/no/such/path").await.expect("get");
    assert_eq!(code, 404);
    let status = conformance::json(&body);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(
        status["message"],
        "the server could not find the requested resource"
    );
}

#[tokio::test]
async fn oversized_body_is_413_status() {
    let s = Server::start();
    let client = s.client().await;
    // 4 MiB of JSON: over kube-apiserver's 3 MiB limit.
    let big = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"x\":\"{}\"}}}}",
        "a".repeat(4 * 1024 * 1024)
    );
    let (code, body) = request(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        big.into_bytes(),
    )
    .await
    .expect("post");
    assert_eq!(code, 413, "{body}");
    let status = conformance::json(&body);
    assert_eq!(status["reason"], "RequestEntityTooLarge");
    // Nothing was stored.
    let (code, _) = get_raw(&client, "/api/v1/namespaces/default/configmaps/big")
        .await
        .expect("get");
    assert_eq!(code, 404);
}

#[test]
fn restart_keeps_pki_and_data() {
    let mut s = Server::start();
    let ca_before = std::fs::read_to_string(s.data_dir().join("pki/ca.crt")).expect("ca");
    s.kubectl_with_ok(
        &conformance::kubectl_path(),
        &["create", "-f", "-"],
        Some(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"survives"}}"#),
    );
    let url_before = s.url().to_string();
    s.restart().expect("restart");
    let ca_after = std::fs::read_to_string(s.data_dir().join("pki/ca.crt")).expect("ca");
    assert_eq!(ca_before, ca_after);
    // Port 0 again: most likely a different port, and the kubeconfig follows.
    let text = std::fs::read_to_string(s.kubeconfig_path()).expect("kubeconfig");
    assert!(text.contains(s.url()), "{text}");
    let _ = url_before;
    let out = s.kubectl_ok(&["get", "namespace", "survives", "-o", "name"]);
    assert_eq!(out.trim(), "namespace/survives");
}

#[test]
fn cli_version_and_help() {
    let bin = ferrokube_bin().expect("binary");
    let out = Command::new(&bin).arg("version").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("v1.33."), "{text}");

    let out = Command::new(&bin)
        .args(["server", "--help"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data-dir",
        "--listen",
        "--node-id",
        "--peer-listen",
        "--join",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }

    let out = Command::new(&bin)
        .args(["server", "--listen", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
}

#[test]
fn data_dir_that_is_a_file_fails_cleanly() {
    let bin = ferrokube_bin().expect("binary");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let out = Command::new(&bin)
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ferrokube:"), "{err}");
}
