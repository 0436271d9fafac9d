//! `otelix-perf`: the load and SLO test tool of otelix.
//!
//! It sends HTTP/1.1 requests over keep-alive connections, closed-loop (`--concurrency`) or
//! open-loop at a constant arrival rate (`--rate`, latency measured from the intended send
//! time), records latencies in HDR histograms per endpoint, checks them against the objectives
//! of an SLO file (`docs/observability/slos.yaml`), and lists the slowest requests with the
//! `X-Request-ID` each response carried: the trace ID to open in Jaeger.
//!
//! The binary is the main interface; the library exposes the same steps for tests:
//!
//! ```no_run
//! use clap::Parser;
//! let args = otelix_perf::Args::parse_from(["otelix-perf", "--base-url", "http://127.0.0.1:8000"]);
//! let outcome = otelix_perf::run(&args)?;
//! println!("{}", otelix_perf::report::render_text(&outcome.report));
//! # Ok::<(), otelix_perf::Error>(())
//! ```
#![deny(missing_docs)]

mod cli;
pub mod engine;
pub mod plan;
pub mod progress;
pub mod report;
pub mod slo;
pub mod stats;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

pub use cli::{Args, DEFAULT_REQUESTS};
use engine::{Counters, Limit, LoadConfig};
use plan::CommandLineBody;
use report::{Parameters, Report};
pub use slo::SloError;

/// Longest wait for the connection check before the run.
const CONNECT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a run could not be carried out. Every variant is a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SLO file is unreadable or invalid.
    #[error(transparent)]
    Slo(#[from] SloError),
    /// The body file is unreadable.
    #[error("cannot read body file {path}: {source}")]
    Body {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `--method` or `--body` without `--endpoint` while the SLO file gives the endpoints.
    #[error(
        "--method and --body apply to --endpoint requests; the endpoints read from the SLO file \
         bring their own method and body (add --endpoint PATH)"
    )]
    MethodWithoutEndpoint,
    /// A request target cannot be used.
    #[error("invalid endpoint: {0}")]
    Endpoint(#[from] plan::TargetError),
    /// The base URL's host could not be resolved.
    #[error("cannot resolve the host of --base-url {url}: {source}")]
    Resolve {
        /// The base URL.
        url: String,
        /// What the resolver said.
        source: std::io::Error,
    },
    /// The base URL's host resolved to no address, or cannot be sent as a `Host` header.
    #[error("--base-url {url} names no host a request can be sent to")]
    NoAddress {
        /// The base URL.
        url: String,
    },
    /// Nothing accepts connections at the base URL.
    #[error("cannot connect to --base-url {url} ({addr}): {source}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// The address tried last.
        addr: SocketAddr,
        /// The connect error.
        source: std::io::Error,
    },
    /// The report file cannot be written.
    #[error("cannot write the report to {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the load generator: {0}")]
    Runtime(std::io::Error),
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Everything measured.
    pub report: Report,
}

impl Outcome {
    /// 1 when an SLO failed, 0 otherwise (all held, or none applied).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.report.slo_passed == Some(false))
    }
}

/// Validates the arguments, checks the service answers connections, runs the load, prints the
/// report to stdout (progress to stderr) and writes the JSON report when asked.
///
/// # Errors
///
/// [`Error`] for bad input: unreadable or invalid files, an unreachable base URL, an
/// unwritable report path.
pub fn run(args: &Args) -> Result<Outcome, Error> {
    if args.endpoints.is_empty()
        && args.slo.is_some()
        && (args.method.is_some() || args.body.is_some())
    {
        return Err(Error::MethodWithoutEndpoint);
    }
    let slos = args.slo.as_deref().map(slo::load).transpose()?;
    let body = args
        .body
        .as_ref()
        .map(|path| {
            std::fs::read(path)
                .map(CommandLineBody::new)
                .map_err(|source| Error::Body {
                    path: path.display().to_string(),
                    source,
                })
        })
        .transpose()?;
    let targets = plan::targets(
        args.base_url.path(),
        &args.endpoints,
        args.method.as_ref(),
        body.as_ref(),
        slos.as_ref(),
    )?;
    let addr = check_reachable(args)?;
    let host = host_header(args)?;
    let mut output = args.output.as_ref().map(|path| create(path)).transpose()?;

    let limit = match args.duration {
        Some(duration) => Limit::Duration(duration),
        None => Limit::Requests(args.requests.unwrap_or(DEFAULT_REQUESTS)),
    };
    let started_at_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let config = LoadConfig {
        addr,
        host,
        targets: targets.clone(),
        limit,
        rate: args.rate,
        concurrency: args.concurrency,
        timeout: args.timeout,
        slowest: args.slowest,
    };
    let counters = Arc::new(Counters::default());
    let progress = progress::Progress::start(counters.clone(), limit);
    let result = engine::run(config, counters).map_err(Error::Runtime);
    progress.finish();
    let result = result?;

    let report = report::build(
        parameters(args),
        started_at_unix_ms,
        &targets,
        slos.as_ref(),
        &result,
    );
    print!("{}", report::render_text(&report));
    if let (Some((path, file)), Some(shown)) = (output.as_mut(), args.output.as_ref()) {
        let written = serde_json::to_writer_pretty(&mut *file, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        written.map_err(|source| Error::Output {
            path: path.clone(),
            source,
        })?;
        eprintln!("otelix-perf: report written to {}", shown.display());
    }
    Ok(Outcome { report })
}

fn create(path: &Path) -> Result<(String, BufWriter<File>), Error> {
    let shown = path.display().to_string();
    File::create(path)
        .map(|f| (shown.clone(), BufWriter::new(f)))
        .map_err(|source| Error::Output {
            path: shown,
            source,
        })
}

/// Resolves the base URL and opens one connection, so that a wrong URL is a clear error
/// rather than a run of connect errors.
fn check_reachable(args: &Args) -> Result<SocketAddr, Error> {
    let url = args.base_url.as_str().trim_end_matches('/').to_owned();
    let addrs = args
        .base_url
        .socket_addrs(|| Some(80))
        .map_err(|source| Error::Resolve {
            url: url.clone(),
            source,
        })?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, args.timeout.min(CONNECT_CHECK_TIMEOUT)) {
            Ok(_) => return Ok(addr),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, source)) => Err(Error::Unreachable { url, addr, source }),
        None => Err(Error::NoAddress { url }),
    }
}

fn host_header(args: &Args) -> Result<HeaderValue, Error> {
    let url = &args.base_url;
    let host = url.host_str().unwrap_or_default();
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::from_str(&value).map_err(|_| Error::NoAddress {
        url: url.to_string(),
    })
}

fn parameters(args: &Args) -> Parameters {
    Parameters {
        base_url: args.base_url.to_string(),
        mode: if args.rate.is_some() {
            "open_loop"
        } else {
            "closed_loop"
        },
        requests: match args.duration {
            Some(_) => None,
            None => Some(args.requests.unwrap_or(DEFAULT_REQUESTS)),
        },
        duration_s: args.duration.map(|d| d.as_secs_f64()),
        concurrency: args.concurrency,
        rate: args.rate,
        timeout_s: args.timeout.as_secs_f64(),
        slo_file: args.slo.as_ref().map(|p| p.display().to_string()),
        slowest: args.slowest,
        method: args.method.as_ref().map(ToString::to_string),
        body_file: args.body.as_ref().map(|p| p.display().to_string()),
    }
}
