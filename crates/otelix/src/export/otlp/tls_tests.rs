use super::*;
use crate::config::Config;
use crate::export::otlp::test_support::{export, Pki};

fn https(vars: &[(&str, String)]) -> Result<Arc<ClientConfig>, InitError> {
    let mut all = vec![(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "https://collector.test:4317".to_owned(),
    )];
    all.extend(vars.iter().cloned());
    client_config(Signal::Traces, &export(Signal::Traces, &all))
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// The error's message names the setting and the path, and never holds the file's content.
fn assert_names(error: &InitError, setting: &str, file: &std::path::Path, content: &str) {
    let message = error.to_string();
    assert!(message.contains(setting), "{message}");
    assert!(message.contains(&path(file)), "{message}");
    assert!(!message.contains(content), "{message}");
    assert!(!format!("{error:?}").contains(content), "{error:?}");
}

#[test]
fn a_ca_file_and_a_client_certificate_with_its_key_build_one_config() {
    let pki = Pki::new();
    assert!(https(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.ca)),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.client_cert)
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_key)),
    ])
    .is_ok());
    // The system's roots when no CA file is named.
    assert!(https(&[]).is_ok());
}

#[test]
fn a_missing_file_is_named_with_its_setting() {
    let missing = std::env::temp_dir().join("otelix-no-such-ca.pem");
    let error = https(&[("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", path(&missing))])
        .expect_err("a missing CA file");
    assert!(
        matches!(
            &error,
            InitError::Tls { setting: "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", source: TlsError::Read(e), .. }
                if e.kind() == std::io::ErrorKind::NotFound
        ),
        "{error:?}"
    );
    assert_names(
        &error,
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        &missing,
        "-----",
    );
}

#[test]
fn a_file_that_is_not_pem_holds_no_certificate() {
    let pki = Pki::new();
    let file = pki.dir.path().join("not-pem.txt");
    std::fs::write(&file, "s3cr3t-file-content, not a certificate").expect("write");
    let error = https(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&file))]).expect_err("not PEM");
    assert!(
        matches!(
            error,
            InitError::Tls {
                source: TlsError::NoCertificate,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, "OTEL_EXPORTER_OTLP_CERTIFICATE", &file, "s3cr3t");
}

#[test]
fn a_pem_section_that_does_not_decode_is_a_pem_error() {
    let pki = Pki::new();
    let file = pki.dir.path().join("broken.pem");
    std::fs::write(
        &file,
        "-----BEGIN CERTIFICATE-----\n!!s3cr3t!!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let error = https(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&file))]).expect_err("broken");
    assert!(
        matches!(
            error,
            InitError::Tls {
                source: TlsError::Pem(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, "OTEL_EXPORTER_OTLP_CERTIFICATE", &file, "s3cr3t");
}

#[test]
fn a_certificate_file_without_a_certificate_and_a_key_file_without_a_key_are_named() {
    let pki = Pki::new();
    let key_text = std::fs::read_to_string(&pki.client_key).expect("the key");
    // A key where the certificate belongs.
    let error = https(&[
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.client_key),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_key)),
    ])
    .expect_err("no certificate");
    assert!(
        matches!(
            error,
            InitError::Tls {
                source: TlsError::NoCertificate,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(
        &error,
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        &pki.client_key,
        &key_text[40..80],
    );
    // A certificate where the key belongs.
    let error = https(&[
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.client_cert),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_cert)),
    ])
    .expect_err("no key");
    assert!(
        matches!(
            error,
            InitError::Tls {
                source: TlsError::NoPrivateKey,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(
        &error,
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        &pki.client_cert,
        "BEGIN",
    );
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let pki = Pki::new();
    let error = https(&[
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.client_cert),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.other_key)),
    ])
    .expect_err("a key of another certificate");
    assert!(
        matches!(
            error,
            InitError::Tls {
                setting: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                source: TlsError::KeyMismatch {
                    certificate: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(
        &error,
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        &pki.other_key,
        "PRIVATE KEY",
    );
}

#[test]
fn a_client_certificate_without_its_key_names_both_settings() {
    let pki = Pki::new();
    let error = https(&[(
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        path(&pki.client_cert),
    )])
    .expect_err("no key");
    let message = error.to_string();
    assert!(
        matches!(error, InitError::ClientAuthIncomplete { .. }),
        "{error:?}"
    );
    for expected in [
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        &path(&pki.client_cert),
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // The reverse, in the per-signal form.
    let error = https(&[(
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        path(&pki.client_key),
    )])
    .expect_err("no certificate");
    let message = error.to_string();
    assert!(
        message.contains("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY")
            && message.contains("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE"),
        "{message}"
    );
}

#[test]
fn a_builder_given_certificate_without_key_names_the_builder_methods() {
    let pki = Pki::new();
    let config = Config::builder()
        .with_otlp_client_certificate(pki.client_cert.clone())
        .build_from_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.test:4317")])
        .expect("valid settings");
    let error = client_config(Signal::Logs, config.otlp(Signal::Logs)).expect_err("no key");
    let message = error.to_string();
    assert!(
        message.contains("with_otlp_client_certificate")
            && message.contains("with_otlp_client_key"),
        "{message}"
    );
}

#[test]
fn a_plaintext_endpoint_reads_no_file() {
    let missing = std::env::temp_dir().join("otelix-no-such-ca.pem");
    let plain = export(
        Signal::Traces,
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://collector.test:4317".to_owned(),
            ),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&missing)),
        ],
    );
    assert!(client_config(Signal::Traces, &plain).is_ok());
}
