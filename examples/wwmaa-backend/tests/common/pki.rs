//! Certificates made for one test run, never committed: a CA, a server certificate for
//! `127.0.0.1` and `localhost` and a client certificate, both signed by it; and a second CA,
//! trusted by no server, with a client certificate of its own.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, as PEM files.
pub(crate) struct Pair {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    /// The key's PEM, a secret no output may contain.
    pub(crate) key_pem: String,
}

impl Pair {
    /// The certificate followed by the key, as `reqwest::Identity::from_pem` takes them.
    pub(crate) fn identity_pem(&self) -> Vec<u8> {
        let mut pem = std::fs::read(&self.cert).expect("certificate file");
        pem.extend_from_slice(self.key_pem.as_bytes());
        pem
    }

    /// The base64 lines of the key's PEM: no log line, error or metrics page may hold one.
    pub(crate) fn key_lines(&self) -> Vec<String> {
        self.key_pem
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() >= 16)
            .map(str::to_owned)
            .collect()
    }
}

/// The run's certificates, as files in the directory given to [`Pki::make`].
pub(crate) struct Pki {
    /// The CA that signed `server` and `client`.
    pub(crate) ca: PathBuf,
    /// For `127.0.0.1` and `localhost`.
    pub(crate) server: Pair,
    pub(crate) client: Pair,
    /// A CA that no server trusts and that signed no server certificate.
    pub(crate) untrusted_ca: PathBuf,
    /// A client certificate signed by the untrusted CA.
    pub(crate) untrusted_client: Pair,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

fn leaf(
    dir: &Path,
    name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> Pair {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("certificate parameters");
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("certificate");
    let pair = Pair {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}-key.pem")),
        key_pem: key.serialize_pem(),
    };
    std::fs::write(&pair.cert, cert.pem()).expect("certificate written");
    std::fs::write(&pair.key, &pair.key_pem).expect("key written");
    pair
}

impl Pki {
    /// Makes the certificates and writes them to `dir`.
    pub(crate) fn make(dir: &Path) -> Pki {
        let trusted = ca("otelix test CA");
        let untrusted = ca("otelix untrusted test CA");
        let write_ca = |file: &str, issuer: &CertifiedIssuer<'static, KeyPair>| {
            let path = dir.join(file);
            std::fs::write(&path, issuer.pem()).expect("CA written");
            path
        };
        Pki {
            ca: write_ca("ca.pem", &trusted),
            server: leaf(
                dir,
                "server",
                &["127.0.0.1", "localhost"],
                ExtendedKeyUsagePurpose::ServerAuth,
                &trusted,
            ),
            client: leaf(
                dir,
                "client",
                &["wwmaa-backend"],
                ExtendedKeyUsagePurpose::ClientAuth,
                &trusted,
            ),
            untrusted_ca: write_ca("untrusted-ca.pem", &untrusted),
            untrusted_client: leaf(
                dir,
                "untrusted-client",
                &["wwmaa-backend"],
                ExtendedKeyUsagePurpose::ClientAuth,
                &untrusted,
            ),
        }
    }
}
