//! The admin kubeconfig: cluster `ferrokube` at the server's real URL with the
//! CA inline, user `kubernetes-admin` with the admin client certificate inline,
//! one context, made current. Written atomically so pollers never see half.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::tls::{self, Pki};

pub const CLUSTER: &str = "ferrokube";
pub const USER: &str = "kubernetes-admin";
pub const CONTEXT: &str = "kubernetes-admin@ferrokube";
pub const FILE_NAME: &str = "admin.kubeconfig";

/// The kubeconfig YAML for `server` (e.g. `https://127.0.0.1:6443`).
pub fn render(server: &str, pki: &Pki) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CLUSTER}
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {USER}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CLUSTER}
    user: {USER}
current-context: {CONTEXT}
preferences: {{}}
",
        ca = STANDARD.encode(pki.ca.cert_pem.as_bytes()),
        cert = STANDARD.encode(pki.admin.cert_pem.as_bytes()),
        key = STANDARD.encode(pki.admin.key_pem.as_bytes()),
    )
}

/// Write the kubeconfig to `path` atomically with mode 0600.
pub fn write(path: &Path, server: &str, pki: &Pki) -> tls::Result<()> {
    tls::write_file(path, render(server, pki).as_bytes(), true)
}

/// The URL clients use for a bound address: IPv6 hosts in brackets, and an
/// unspecified bind address (0.0.0.0, ::) reached through loopback.
pub fn server_url(addr: std::net::SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            std::net::SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            std::net::SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        addr.ip()
    };
    match ip {
        std::net::IpAddr::V4(v4) => format!("https://{v4}:{}", addr.port()),
        std::net::IpAddr::V6(v6) => format!("https://[{v6}]:{}", addr.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_url_brackets_ipv6_and_maps_unspecified() {
        assert_eq!(
            server_url("127.0.0.1:6443".parse().expect("addr")),
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            server_url("[::1]:1234".parse().expect("addr")),
            "https://[::1]:1234"
        );
        assert_eq!(
            server_url("0.0.0.0:9".parse().expect("addr")),
            "https://127.0.0.1:9"
        );
    }

    #[test]
    fn kubeconfig_loads_with_kube_rs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki::load_or_create(dir.path(), &tls::serving_hosts("127.0.0.1")).expect("pki");
        let path = dir.path().join(FILE_NAME);
        write(&path, "https://127.0.0.1:6443", &pki).expect("write");
        let kc = kube::config::Kubeconfig::read_from(&path).expect("parse");
        assert_eq!(kc.current_context.as_deref(), Some(CONTEXT));
        let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        let user = kc.auth_infos[0].auth_info.as_ref().expect("user");
        assert!(user.client_certificate_data.is_some());
        // Nothing but the kubeconfig is left in the dir (no temp files).
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            names.iter().all(|n| n == FILE_NAME || n == "pki"),
            "{names:?}"
        );
    }
}
