//! Authentication: the user of a connection's verified client certificate
//! (CN = user name, O = groups, plus `system:authenticated`), read once per
//! connection; bearer tokens, of which only ServiceAccount tokens this
//! cluster signed are accepted (others get 401, as upstream answers unknown
//! tokens); everything else is `system:anonymous` (anonymous auth on,
//! upstream's default).

use std::any::Any;
use std::sync::Arc;

use actix_web::dev::{Extensions, ServiceRequest};
use actix_web::http::header;

use super::{User, AUTHENTICATED};
use crate::error::ApiError;

/// The identity a connection's client certificate proved, kept in the
/// connection's data by [`on_connect`].
#[derive(Debug, Clone)]
pub struct PeerUser(pub Arc<User>);

/// `HttpServer::on_connect` hook: reads the verified client certificate (if
/// any) of a TLS connection once, so requests only clone an `Arc`.
pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(tls) = conn.downcast_ref::<Tls>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    let Some(leaf) = session.peer_certificates().and_then(|c| c.first()) else {
        return;
    };
    match user_of_certificate(leaf.as_ref()) {
        Some(user) => {
            data.insert(PeerUser(Arc::new(user)));
        }
        None => tracing::debug!("client certificate without a readable subject"),
    }
}

/// What a request presents: the connection's certificate user first (as
/// upstream's x509 authenticator comes before tokens), else a bearer token
/// (checked by the caller, which can wait on lookups), else nothing
/// (anonymous).
pub enum Credential<'a> {
    User(Arc<User>),
    Bearer(&'a str),
}

pub fn credential(req: &ServiceRequest) -> Credential<'_> {
    if let Some(PeerUser(user)) = req.conn_data::<PeerUser>() {
        return Credential::User(user.clone());
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    match bearer {
        Some(token) => Credential::Bearer(token),
        None => Credential::User(anonymous()),
    }
}

/// The user of a bearer token: a ServiceAccount token this cluster signed
/// (any other token is invalid: 401, as upstream answers unknown tokens).
pub async fn token_user(req: &ServiceRequest, token: &str) -> Result<Arc<User>, ApiError> {
    let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
    let signer = req.app_data::<actix_web::web::Data<crate::tokens::Signer>>();
    let (Some(state), Some(signer)) = (state, signer) else {
        return Err(super::unauthorized());
    };
    match crate::tokens::authn::user_of(state, signer, token, &[]).await {
        Ok((user, _)) => Ok(Arc::new(user)),
        Err(why) => {
            tracing::debug!(%why, "bearer token refused");
            Err(super::unauthorized())
        }
    }
}

/// One shared anonymous user.
pub fn anonymous() -> Arc<User> {
    static ANON: std::sync::LazyLock<Arc<User>> =
        std::sync::LazyLock::new(|| Arc::new(User::anonymous()));
    ANON.clone()
}

/// CN = user name, every O = a group, then `system:authenticated`
/// (upstream's `CommonNameUserConversion` and authenticated-group adder).
pub fn user_of_certificate(der: &[u8]) -> Option<User> {
    let subject = der::subject(der)?;
    let mut name = None;
    let mut groups = Vec::new();
    for (oid, value) in subject {
        match oid {
            der::OID_COMMON_NAME => name = Some(value),
            der::OID_ORGANIZATION => groups.push(value),
            _ => {}
        }
    }
    let name = name.filter(|n| !n.is_empty())?;
    if !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.to_string());
    }
    Some(User {
        name,
        groups,
        ..Default::default()
    })
}

/// Just enough DER to read a certificate's subject: rustls has already
/// verified the certificate, so only its structure is walked here.
mod der {
    /// 2.5.4.3
    pub const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    /// 2.5.4.10
    pub const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const VERSION: u8 = 0xa0;

    /// One TLV: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
        let (tag, body, rest) = tlv(input)?;
        (tag == want).then_some((body, rest))
    }

    /// The subject's attributes, (OID bytes, string value), in order.
    pub fn subject(cert: &[u8]) -> Option<Vec<(&[u8], String)>> {
        let (certificate, _) = expect(cert, SEQUENCE)?;
        let (tbs, _) = expect(certificate, SEQUENCE)?;
        let mut rest = tbs;
        let (tag, _, after) = tlv(rest)?;
        if tag == VERSION {
            rest = after;
        }
        // serialNumber, signature, issuer, validity, then subject.
        for _ in 0..4 {
            rest = tlv(rest)?.2;
        }
        let (name, _) = expect(rest, SEQUENCE)?;
        let mut out = Vec::new();
        let mut rdns = name;
        while !rdns.is_empty() {
            let (set, next) = expect(rdns, SET)?;
            rdns = next;
            let mut atvs = set;
            while !atvs.is_empty() {
                let (atv, next) = expect(atvs, SEQUENCE)?;
                atvs = next;
                let (oid, value) = expect(atv, OID)?;
                let (tag, bytes, _) = tlv(value)?;
                let text = match tag {
                    // BMPString: UTF-16BE.
                    0x1e => {
                        let units: Vec<u16> = bytes
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                        String::from_utf16(&units).ok()?
                    }
                    _ => String::from_utf8(bytes.to_vec()).ok()?,
                };
                out.push((oid, text));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    fn cert(cn: &str, orgs: &[&str]) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        for o in orgs {
            dn.push(DnType::OrganizationName, *o);
        }
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn certificate_subject_becomes_the_user() {
        let u = user_of_certificate(&cert("kubernetes-admin", &["system:masters"])).expect("user");
        assert_eq!(u.name, "kubernetes-admin");
        assert_eq!(u.groups, ["system:masters", "system:authenticated"]);
        assert!(u.is_master());
        let u = user_of_certificate(&cert("jane", &[])).expect("user");
        assert_eq!(u.groups, ["system:authenticated"]);
        assert!(!u.is_master());
    }

    #[test]
    fn the_admin_certificate_is_kubernetes_admin_in_system_masters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki =
            crate::tls::Pki::load_or_create(dir.path(), &crate::tls::serving_hosts("127.0.0.1"))
                .expect("pki");
        let der: Vec<u8> = rustls_pemfile::certs(&mut pki.admin.cert_pem.as_bytes())
            .next()
            .expect("one cert")
            .expect("pem")
            .to_vec();
        let u = user_of_certificate(&der).expect("user");
        assert_eq!(u.name, "kubernetes-admin");
        assert!(u.is_master());
    }

    #[test]
    fn garbage_is_no_user() {
        assert!(user_of_certificate(&[]).is_none());
        assert!(user_of_certificate(&[0x30, 0x82, 0xff]).is_none());
        assert!(user_of_certificate(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
    }
}
