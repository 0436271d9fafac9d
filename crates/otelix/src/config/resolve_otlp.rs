//! Resolving the OTLP exporter settings of each signal from the general and per-signal rows of
//! the settings table (precedence: see [`otlp`](super::otlp)).

use std::path::PathBuf;

use super::error::ConfigError;
use super::otlp::{Compression, OtlpExport, SettingPath, Signal, TlsFiles};
use super::resolve::Vars;
use super::settings::*;
use super::table::Setting;
use super::types::{Protocol, Secret};
use super::ConfigBuilder;

/// One signal's rows of the settings table.
struct Rows {
    endpoint: &'static Setting<String>,
    protocol: &'static Setting<Protocol>,
    headers: &'static Setting<Vec<(String, String)>>,
    timeout: &'static Setting<std::time::Duration>,
    compression: &'static Setting<Compression>,
    insecure: &'static Setting<bool>,
    certificate: &'static Setting<PathBuf>,
    client_certificate: &'static Setting<PathBuf>,
    client_key: &'static Setting<PathBuf>,
}

/// The rows every signal falls back to (`OTEL_EXPORTER_OTLP_*`).
const GENERAL: Rows = Rows {
    endpoint: &OTEL_EXPORTER_OTLP_ENDPOINT,
    protocol: &OTEL_EXPORTER_OTLP_PROTOCOL,
    headers: &OTEL_EXPORTER_OTLP_HEADERS,
    timeout: &OTEL_EXPORTER_OTLP_TIMEOUT,
    compression: &OTEL_EXPORTER_OTLP_COMPRESSION,
    insecure: &OTEL_EXPORTER_OTLP_INSECURE,
    certificate: &OTEL_EXPORTER_OTLP_CERTIFICATE,
    client_certificate: &OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    client_key: &OTEL_EXPORTER_OTLP_CLIENT_KEY,
};

fn rows(signal: Signal) -> Rows {
    match signal {
        Signal::Traces => Rows {
            endpoint: &OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            protocol: &OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            headers: &OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            timeout: &OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            compression: &OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            insecure: &OTEL_EXPORTER_OTLP_TRACES_INSECURE,
            certificate: &OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            client_certificate: &OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
            client_key: &OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
        },
        Signal::Metrics => Rows {
            endpoint: &OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            protocol: &OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            headers: &OTEL_EXPORTER_OTLP_METRICS_HEADERS,
            timeout: &OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
            compression: &OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
            insecure: &OTEL_EXPORTER_OTLP_METRICS_INSECURE,
            certificate: &OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
            client_certificate: &OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
            client_key: &OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
        },
        Signal::Logs => Rows {
            endpoint: &OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
            protocol: &OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
            headers: &OTEL_EXPORTER_OTLP_LOGS_HEADERS,
            timeout: &OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
            compression: &OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
            insecure: &OTEL_EXPORTER_OTLP_LOGS_INSECURE,
            certificate: &OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
            client_certificate: &OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
            client_key: &OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
        },
    }
}

/// What code set for one signal, or for every signal.
#[derive(Default)]
struct Code {
    endpoint: Option<String>,
    protocol: Option<super::types::Protocol>,
    timeout: Option<std::time::Duration>,
    compression: Option<Compression>,
    insecure: Option<bool>,
    certificate: Option<PathBuf>,
    client_certificate: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

impl ConfigBuilder {
    /// The exporter settings of the three signals, in [`Signal::ALL`]'s order.
    pub(super) fn otlp(&self, vars: &Vars<'_>) -> Result<[OtlpExport; 3], ConfigError> {
        let [traces, metrics, logs] = Signal::ALL.map(|signal| self.signal_export(vars, signal));
        Ok([traces?, metrics?, logs?])
    }

    fn general_code(&self) -> Code {
        let c = &self.code;
        Code {
            endpoint: c.endpoint.clone(),
            protocol: c.protocol,
            timeout: c.otlp_timeout,
            compression: c.otlp_compression,
            insecure: c.otlp_insecure,
            certificate: c.otlp_certificate.clone(),
            client_certificate: c.otlp_client_certificate.clone(),
            client_key: c.otlp_client_key.clone(),
        }
    }

    fn signal_code(&self, signal: Signal) -> Code {
        let c = &self.code;
        match signal {
            Signal::Traces => Code {
                endpoint: c.traces_endpoint.clone(),
                protocol: c.otlp_traces_protocol,
                timeout: c.otlp_traces_timeout,
                compression: c.otlp_traces_compression,
                insecure: c.otlp_traces_insecure,
                certificate: c.otlp_traces_certificate.clone(),
                client_certificate: c.otlp_traces_client_certificate.clone(),
                client_key: c.otlp_traces_client_key.clone(),
            },
            Signal::Metrics => Code {
                endpoint: c.metrics_endpoint_otlp.clone(),
                protocol: c.otlp_metrics_protocol,
                timeout: c.otlp_metrics_timeout,
                compression: c.otlp_metrics_compression,
                insecure: c.otlp_metrics_insecure,
                certificate: c.otlp_metrics_certificate.clone(),
                client_certificate: c.otlp_metrics_client_certificate.clone(),
                client_key: c.otlp_metrics_client_key.clone(),
            },
            Signal::Logs => Code {
                endpoint: c.logs_endpoint.clone(),
                protocol: c.otlp_logs_protocol,
                timeout: c.otlp_logs_timeout,
                compression: c.otlp_logs_compression,
                insecure: c.otlp_logs_insecure,
                certificate: c.otlp_logs_certificate.clone(),
                client_certificate: c.otlp_logs_client_certificate.clone(),
                client_key: c.otlp_logs_client_key.clone(),
            },
        }
    }

    fn signal_export(&self, vars: &Vars<'_>, signal: Signal) -> Result<OtlpExport, ConfigError> {
        let own = rows(signal);
        let (code, all) = (self.signal_code(signal), self.general_code());
        let (protocol, protocol_setting) = vars
            .layered_from(
                [own.protocol, GENERAL.protocol],
                [code.protocol, all.protocol],
            )?
            .unwrap_or_else(|| (default_protocol(), GENERAL.protocol.name()));
        let insecure = vars
            .layered(
                [own.insecure, GENERAL.insecure],
                [code.insecure, all.insecure],
            )?
            .unwrap_or(false);
        let file = |pick: fn(&Rows) -> &'static Setting<PathBuf>, code: [Option<PathBuf>; 2]| {
            Ok::<_, ConfigError>(
                vars.layered_from([pick(&own), pick(&GENERAL)], code)?
                    .map(|(path, setting)| SettingPath { path, setting }),
            )
        };
        let tls = TlsFiles {
            certificate: file(|r| r.certificate, [code.certificate, all.certificate])?,
            client_certificate: file(
                |r| r.client_certificate,
                [code.client_certificate, all.client_certificate],
            )?,
            client_key: file(|r| r.client_key, [code.client_key, all.client_key])?,
        };
        let compression = [own.compression, GENERAL.compression];
        let timeout = [own.timeout, GENERAL.timeout];
        Ok(OtlpExport {
            protocol,
            endpoint: self.endpoint(vars, signal, protocol, insecure, code.endpoint)?,
            headers: self.headers(vars, signal)?,
            compression: vars
                .layered(compression, [code.compression, all.compression])?
                .unwrap_or(Compression::None),
            timeout: match vars.layered(timeout, [code.timeout, all.timeout])? {
                Some(timeout) => timeout,
                None => vars.get(GENERAL.timeout, None)?,
            },
            tls,
            protocol_setting,
        })
    }

    /// The signal's own endpoint (used as it is), else the general base URL (for HTTP, with the
    /// signal's path appended), else the protocol's default. A gRPC endpoint written without a
    /// scheme gets `http` when insecure, `https` otherwise; an HTTP one must have a scheme.
    fn endpoint(
        &self,
        vars: &Vars<'_>,
        signal: Signal,
        protocol: Protocol,
        insecure: bool,
        code: Option<String>,
    ) -> Result<String, ConfigError> {
        let own = rows(signal).endpoint;
        let from_code = code.is_some();
        let (setting, from_code, url) = match vars.value(own, code)? {
            Some(url) => (own, from_code, url),
            None => {
                let general = self.code.endpoint.clone();
                let from_code = general.is_some();
                let base = vars
                    .value(GENERAL.endpoint, general)?
                    .unwrap_or_else(|| protocol.default_endpoint().to_owned());
                let url = match protocol {
                    // gRPC routes by service name, not by path: the base URL serves every signal.
                    Protocol::Grpc => base,
                    Protocol::HttpProtobuf => base + signal.http_path(),
                };
                (GENERAL.endpoint, from_code, url)
            }
        };
        if url.contains("://") {
            return Ok(url);
        }
        match protocol {
            Protocol::Grpc => Ok(format!(
                "{}://{url}",
                if insecure { "http" } else { "https" }
            )),
            Protocol::HttpProtobuf => {
                let expected =
                    "an http:// or https:// URL (only a gRPC endpoint may leave the scheme out)";
                Err(if from_code {
                    setting.invalid_setting(&url, expected)
                } else {
                    setting.invalid_env(&url, expected)
                })
            }
        }
    }

    /// The signal's headers: the signal's variable, else the general one; then the headers set
    /// in code for every signal and for the signal replace those of the same name.
    fn headers(
        &self,
        vars: &Vars<'_>,
        signal: Signal,
    ) -> Result<Vec<(String, Secret)>, ConfigError> {
        let mut headers = match vars.env(rows(signal).headers)? {
            Some(headers) => headers,
            None => vars.env(GENERAL.headers)?.unwrap_or_default(),
        };
        let from_code = self
            .otlp_headers
            .iter()
            .chain(&self.signal_headers[signal.index()]);
        for (key, value) in from_code {
            super::parse::valid_header(key, value.expose()).map_err(|expected| {
                GENERAL
                    .headers
                    .invalid_setting(&format!("{key}={}", value.expose()), expected)
            })?;
            // Header names are case-insensitive: one set in code replaces the variable's.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
            headers.push((key.clone(), value.expose().to_owned()));
        }
        Ok(headers.into_iter().map(|(k, v)| (k, Secret(v))).collect())
    }
}

fn default_protocol() -> Protocol {
    if cfg!(feature = "otlp-grpc") || !cfg!(feature = "otlp-http") {
        Protocol::Grpc
    } else {
        Protocol::HttpProtobuf
    }
}
