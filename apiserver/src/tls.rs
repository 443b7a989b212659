//! The server's PKI: a self-made cluster CA, the API server's serving
//! certificate and the admin client certificate, all kept in the data dir and
//! reused on restart; and the rustls configuration that serves them.
//!
//! Files in the data dir (PEM):
//! - `pki/ca.crt`, `pki/ca.key`: the cluster CA (10 years).
//! - `pki/apiserver.crt`, `pki/apiserver.key`: serving certificate with SANs
//!   `localhost`, `127.0.0.1`, `::1` and the listen host; re-issued by the same
//!   CA when the host list changes (`pki/apiserver.hosts` remembers it).
//! - `pki/admin.crt`, `pki/admin.key`: client certificate
//!   `CN=kubernetes-admin, O=system:masters`.
//!
//! Client certificates signed by the CA are accepted but not required.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const CA_COMMON_NAME: &str = "ferrokube-ca";
const CA_YEARS: i16 = 10;
const LEAF_YEARS: i16 = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot generate {what}: {source}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("invalid PEM in {path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A certificate and its private key, as PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the server and its kubeconfig need.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: CertKey,
    pub serving: CertKey,
    pub admin: CertKey,
}

/// The hosts the serving certificate is valid for: loopback names plus `host`
/// (an IP or DNS name; unspecified addresses such as `0.0.0.0` add nothing).
pub fn serving_hosts(host: &str) -> Vec<String> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let unspecified = host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_unspecified())
        .unwrap_or(false);
    if !host.is_empty() && !unspecified && !hosts.iter().any(|h| h == host) {
        hosts.push(host.to_string());
    }
    hosts
}

impl Pki {
    /// Load the PKI from `dir/pki`, creating whatever is missing. The serving
    /// certificate is re-issued when `hosts` differs from the one on disk.
    pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<Pki> {
        let pki = dir.join("pki");
        fs::create_dir_all(&pki).map_err(|source| Error::Io {
            action: "create",
            path: pki.clone(),
            source,
        })?;

        let ca = match read_pair(&pki, "ca")? {
            Some(ca) => ca,
            None => {
                let ca = new_ca()?;
                write_pair(&pki, "ca", &ca)?;
                ca
            }
        };
        let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(|e| Error::Pem {
            path: pki.join("ca.key"),
            message: e.to_string(),
        })?;
        // The issuer needs only the CA's name, key-id method and usages, which
        // `ca_params` reproduces exactly; the signature comes from the key.
        let issuer = Issuer::new(ca_params()?, ca_key);

        let hosts_file = pki.join("apiserver.hosts");
        let wanted_hosts = hosts.join("\n");
        let on_disk_hosts = fs::read_to_string(&hosts_file).unwrap_or_default();
        let serving = match read_pair(&pki, "apiserver")? {
            Some(s) if on_disk_hosts == wanted_hosts => s,
            _ => {
                let s = new_leaf(&issuer, serving_params(hosts)?, "serving certificate")?;
                write_pair(&pki, "apiserver", &s)?;
                write_file(&hosts_file, wanted_hosts.as_bytes(), false)?;
                s
            }
        };

        let admin = match read_pair(&pki, "admin")? {
            Some(a) => a,
            None => {
                let a = new_leaf(&issuer, admin_params()?, "admin client certificate")?;
                write_pair(&pki, "admin", &a)?;
                a
            }
        };

        Ok(Pki { ca, serving, admin })
    }

    /// rustls server config: TLS 1.2/1.3 with the ring provider, the serving
    /// certificate, and optional client certificates verified against the CA.
    /// ALPN (`h2`, `http/1.1`) is added by actix-web when binding.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in parse_certs(&self.ca.cert_pem)? {
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| Error::Config(format!("client verifier: {e}")))?;
        let chain = parse_certs(&self.serving.cert_pem)?;
        let key = KeyPair::from_pem(&self.serving.key_pem)
            .map_err(|e| Error::Config(format!("serving key: {e}")))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| Error::Config(format!("serving certificate: {e}")))
    }
}

/// Install ring as the process-wide rustls provider (idempotent). Other rustls
/// users in the process (kube::Client in the controllers) need one too.
pub fn install_crypto_provider() {
    // Err means a provider is already installed: fine either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn parse_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Config(format!("certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Config("no certificate in PEM".into()));
    }
    Ok(certs)
}

/// Validity starts a day ago (clock skew) and lasts `years`.
fn validity(params: &mut CertificateParams, years: i16) {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date();
    let start = today.yesterday().unwrap_or(today);
    params.not_before =
        rcgen::date_time_ymd(start.year().into(), start.month() as u8, start.day() as u8);
    params.not_after = rcgen::date_time_ymd(
        (start.year() + years).into(),
        start.month() as u8,
        // Feb 29 does not exist in most years.
        start.day().min(28) as u8,
    );
}

fn ca_params() -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|source| Error::Generate {
            what: "CA parameters",
            source,
        })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, CA_YEARS);
    Ok(params)
}

fn serving_params(hosts: &[String]) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(hosts.to_vec()).map_err(|source| Error::Generate {
        what: "serving certificate parameters",
        source,
    })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-apiserver");
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, LEAF_YEARS);
    Ok(params)
}

fn admin_params() -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|source| Error::Generate {
            what: "admin certificate parameters",
            source,
        })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "system:masters");
    dn.push(DnType::CommonName, "kubernetes-admin");
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, LEAF_YEARS);
    Ok(params)
}

fn new_ca() -> Result<CertKey> {
    let key = KeyPair::generate().map_err(|source| Error::Generate {
        what: "CA key",
        source,
    })?;
    let cert = ca_params()?
        .self_signed(&key)
        .map_err(|source| Error::Generate {
            what: "CA certificate",
            source,
        })?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn new_leaf(
    issuer: &Issuer<'_, KeyPair>,
    params: CertificateParams,
    what: &'static str,
) -> Result<CertKey> {
    let key = KeyPair::generate().map_err(|source| Error::Generate { what, source })?;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|source| Error::Generate { what, source })?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn read_pair(dir: &Path, name: &str) -> Result<Option<CertKey>> {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    if !cert.exists() || !key.exists() {
        return Ok(None);
    }
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })
    };
    Ok(Some(CertKey {
        cert_pem: read(&cert)?,
        key_pem: read(&key)?,
    }))
}

fn write_pair(dir: &Path, name: &str, pair: &CertKey) -> Result<()> {
    // Key first: a certificate on disk always has its key beside it.
    write_file(
        &dir.join(format!("{name}.key")),
        pair.key_pem.as_bytes(),
        true,
    )?;
    write_file(
        &dir.join(format!("{name}.crt")),
        pair.cert_pem.as_bytes(),
        false,
    )
}

/// Write `path` atomically (temp file in the same dir, then rename), mode 0600
/// for secrets.
pub fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    let io_err = |action, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp, mut file) = tempfile_in(dir).map_err(|e| io_err("create a temp file for", e))?;
    let written = (|| {
        use std::io::Write;
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
                .map_err(|e| io_err("chmod", e))?;
        }
        #[cfg(not(unix))]
        let _ = secret;
        file.write_all(contents).map_err(|e| io_err("write", e))?;
        file.sync_all().map_err(|e| io_err("sync", e))?;
        fs::rename(&tmp, path).map_err(|e| io_err("rename into", e))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// A uniquely named file in `dir`, created exclusively.
fn tempfile_in(dir: &Path) -> io::Result<(PathBuf, fs::File)> {
    for attempt in 0..16u32 {
        let name = format!(
            ".tmp-{}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple(),
            attempt
        );
        let path = dir.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no unique temp file name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;

    #[test]
    fn serving_hosts_adds_listen_host_once() {
        assert_eq!(
            serving_hosts("127.0.0.1"),
            vec!["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(
            serving_hosts("10.1.2.3"),
            vec!["localhost", "127.0.0.1", "::1", "10.1.2.3"]
        );
        assert_eq!(serving_hosts("0.0.0.0").len(), 3);
        assert_eq!(serving_hosts("[::1]").len(), 3);
    }

    #[test]
    fn pki_is_created_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts = serving_hosts("127.0.0.1");
        let first = Pki::load_or_create(dir.path(), &hosts).expect("create");
        let second = Pki::load_or_create(dir.path(), &hosts).expect("reload");
        assert_eq!(first.ca, second.ca);
        assert_eq!(first.serving, second.serving);
        assert_eq!(first.admin, second.admin);
        // A new listen host re-issues only the serving certificate.
        let third = Pki::load_or_create(dir.path(), &serving_hosts("10.0.0.7")).expect("new host");
        assert_eq!(first.ca, third.ca);
        assert_eq!(first.admin, third.admin);
        assert_ne!(first.serving, third.serving);
        third.server_config().expect("rustls config");
    }

    #[test]
    fn serving_cert_verifies_against_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki::load_or_create(dir.path(), &serving_hosts("127.0.0.1")).expect("pki");
        let mut roots = rustls::RootCertStore::empty();
        for c in parse_certs(&pki.ca.cert_pem).expect("ca") {
            roots.add(c).expect("add root");
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .expect("verifier");
        let leaf = parse_certs(&pki.serving.cert_pem).expect("leaf").remove(0);
        let now = rustls::pki_types::UnixTime::now();
        for name in ["localhost", "127.0.0.1"] {
            let sn = rustls::pki_types::ServerName::try_from(name).expect("name");
            verifier
                .verify_server_cert(&leaf, &[], &sn, &[], now)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let other = rustls::pki_types::ServerName::try_from("example.com").expect("name");
        assert!(verifier
            .verify_server_cert(&leaf, &[], &other, &[], now)
            .is_err());
    }
}
