//! The OTLP exporter settings of one signal, as the OTLP exporter specification defines them:
//! each setting has a general variable (`OTEL_EXPORTER_OTLP_CERTIFICATE`) and a per-signal one
//! (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`), and the per-signal one wins.
//!
//! Precedence, most specific first within each layer, code before the environment: a value set
//! in code for the signal, a value set in code for every signal, the signal's variable, the
//! general variable, the default. (Code wins over the environment everywhere in otelix, so a
//! general value set in code also wins over a signal's variable.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::types::{Protocol, Secret};

/// The three signals otelix exports over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// Every signal, in this order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `traces`, `metrics` or `logs`, as in the variables' names and the OTLP/HTTP paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The OTLP/HTTP path appended to a base endpoint, such as `/v1/traces`.
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// Compression of OTLP request bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Bodies are sent as they are.
    None,
    /// Bodies are gzip-compressed (`grpc-encoding: gzip`, `Content-Encoding: gzip`).
    Gzip,
}

impl Compression {
    /// The value as written in the variable.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
        }
    }

    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            _ => Err("gzip or none"),
        }
    }
}

/// A file a setting names, with the variable or builder method that named it, so that an
/// error reading it can name both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingPath {
    pub(super) path: PathBuf,
    pub(super) setting: &'static str,
}

impl SettingPath {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variable (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`) or builder method
    /// (`with_otlp_certificate`) the path came from.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

/// TLS for one signal's connection: the files to trust and to present. The endpoint's scheme
/// decides whether TLS is used at all (`https`); without any file, the system's roots verify
/// the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsFiles {
    /// PEM bundle of certificate authorities that verify the collector
    /// (`OTEL_EXPORTER_OTLP_CERTIFICATE`), instead of the system's roots.
    pub certificate: Option<SettingPath>,
    /// PEM certificate chain the client presents (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<SettingPath>,
    /// PEM private key of the client certificate (`OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: Option<SettingPath>,
}

/// Everything one signal's OTLP exporter needs, resolved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtlpExport {
    /// The transport.
    pub protocol: Protocol,
    /// The full URL requests go to (for HTTP, with the signal's path).
    pub endpoint: String,
    /// Headers sent with every request. Their values are secrets (API keys): `Debug` does not
    /// show them; [`OtlpExport::header_value`] does.
    pub headers: Vec<(String, Secret)>,
    /// Request body compression.
    pub compression: Compression,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// The files that secure the connection.
    pub tls: TlsFiles,
    /// The variable or builder method that chose the protocol (the general variable when it
    /// is the default), for errors about it.
    pub(super) protocol_setting: &'static str,
}

impl OtlpExport {
    /// The headers as name and value, for the transport.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.0.as_str()))
    }

    /// A header's value, for tests and for the transport.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.0.as_str())
    }

    /// The variable or builder method that chose [`protocol`](Self::protocol), such as
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`.
    pub fn protocol_setting(&self) -> &'static str {
        self.protocol_setting
    }

    /// Whether requests go over TLS (an `https` endpoint).
    pub fn uses_tls(&self) -> bool {
        self.endpoint.starts_with("https://")
    }
}
