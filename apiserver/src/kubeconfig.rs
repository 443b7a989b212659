//! The admin kubeconfig: cluster `ferrokube` at the server's real URL with the
//! CA inline, user `kubernetes-admin` with the admin client certificate inline,
//! one context, made current. Written atomically so pollers never see half.

use std::path::Path;

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
        ca = base64(pki.ca.cert_pem.as_bytes()),
        cert = base64(pki.admin.cert_pem.as_bytes()),
        key = base64(pki.admin.key_pem.as_bytes()),
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

/// Standard base64 with padding (RFC 4648), as kubeconfig `*-data` fields use.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 0x3f) as usize] as char;
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

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
