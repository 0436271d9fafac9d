//! The one rustls client configuration both transports use: rustls with the `ring` provider,
//! the CA bundle of `OTEL_EXPORTER_OTLP_CERTIFICATE` or else the system's roots, and the client
//! certificate and key of `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`/`_CLIENT_KEY` for mTLS.
//!
//! Every file is read once, when telemetry is built: a file that cannot be read or parsed, or a
//! key that does not match its certificate, is an [`InitError`] naming the setting and the path,
//! never a panic and never a connection without TLS.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{OtlpExport, SettingPath, Signal, TlsFiles};
use crate::InitError;

/// Why a TLS file named by a setting cannot be used. The error that carries it,
/// [`InitError::Tls`], names the setting and the path; no variant holds the file's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The file cannot be read (missing, a directory, no permission).
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The file holds no `CERTIFICATE` section.
    #[error("no PEM certificate in the file")]
    NoCertificate,
    /// The file holds no private key section (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`).
    #[error("no PEM private key in the file")]
    NoPrivateKey,
    /// A PEM section does not decode.
    #[error("the PEM content does not parse: {0}")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// The private key is not the key of the client certificate.
    #[error("the private key does not match the client certificate of {certificate}")]
    KeyMismatch {
        /// The setting that named the certificate.
        certificate: &'static str,
    },
    /// rustls refused a certificate or key (an unsupported key type, a malformed certificate).
    #[error("rustls refused it: {0}")]
    Rustls(#[source] rustls::Error),
}

/// The rustls configuration for one signal's connection. An `http` endpoint never uses it,
/// so for one no file is read and no root is loaded.
pub(crate) fn client_config(
    signal: Signal,
    export: &OtlpExport,
) -> Result<Arc<ClientConfig>, InitError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| InitError::Exporter {
            signal: signal.as_str(),
            endpoint: export.endpoint.clone(),
            source: Box::new(error),
        })?;
    if !export.uses_tls() {
        return Ok(Arc::new(
            builder
                .with_root_certificates(RootCertStore::empty())
                .with_no_client_auth(),
        ));
    }
    let builder = builder.with_root_certificates(roots(&export.tls)?);
    let config = match (&export.tls.client_certificate, &export.tls.client_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(certificate), Some(key)) => {
            let chain = certificates(certificate)?;
            let key_der = private_key(key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|error| match error {
                    rustls::Error::InconsistentKeys(_) => tls_error(
                        key,
                        TlsError::KeyMismatch {
                            certificate: certificate.setting(),
                        },
                    ),
                    other => tls_error(key, TlsError::Rustls(other)),
                })?
        }
        (Some(given), None) => return Err(incomplete(given, "CLIENT_CERTIFICATE", "CLIENT_KEY")),
        (None, Some(given)) => return Err(incomplete(given, "CLIENT_KEY", "CLIENT_CERTIFICATE")),
    };
    Ok(Arc::new(config))
}

/// The CA bundle's certificates, or the system's roots without one. A system without roots
/// is not an error here: the first connection reports that the server could not be verified.
fn roots(tls: &TlsFiles) -> Result<RootCertStore, InitError> {
    let mut store = RootCertStore::empty();
    match &tls.certificate {
        Some(bundle) => {
            for certificate in certificates(bundle)? {
                store
                    .add(certificate)
                    .map_err(|error| tls_error(bundle, TlsError::Rustls(error)))?;
            }
        }
        None => {
            let system = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(system.certs);
        }
    }
    Ok(store)
}

fn read(file: &SettingPath) -> Result<Vec<u8>, InitError> {
    std::fs::read(file.path()).map_err(|error| tls_error(file, TlsError::Read(error)))
}

/// Every certificate in the PEM file, in order (a chain: the client's certificate first).
fn certificates(file: &SettingPath) -> Result<Vec<CertificateDer<'static>>, InitError> {
    let pem = read(file)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| tls_error(file, TlsError::Pem(error)))?;
    if certificates.is_empty() {
        return Err(tls_error(file, TlsError::NoCertificate));
    }
    Ok(certificates)
}

/// The first private key in the PEM file (PKCS #8, PKCS #1 or SEC1).
fn private_key(file: &SettingPath) -> Result<PrivateKeyDer<'static>, InitError> {
    let pem = read(file)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| {
        let reason = match error {
            rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
            other => TlsError::Pem(other),
        };
        tls_error(file, reason)
    })
}

fn tls_error(file: &SettingPath, source: TlsError) -> InitError {
    InitError::Tls {
        setting: file.setting(),
        path: file.path().to_owned(),
        source,
    }
}

/// A client certificate without its key, or the reverse: the error names the setting given
/// and the one missing, in the same form (variable or builder method, same signal).
fn incomplete(given: &SettingPath, has: &str, lacks: &str) -> InitError {
    let given_setting = given.setting();
    let missing = if given_setting.starts_with("with_") {
        given_setting.replace(&has.to_ascii_lowercase(), &lacks.to_ascii_lowercase())
    } else {
        given_setting.replace(has, lacks)
    };
    InitError::ClientAuthIncomplete {
        given: given_setting,
        path: given.path().to_owned(),
        missing,
    }
}

#[cfg(test)]
#[cfg(all(feature = "otlp-grpc", feature = "otlp-http"))]
#[path = "tls_tests.rs"]
mod tests;
