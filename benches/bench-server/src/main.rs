//! The service `scripts/bench-overhead.sh` loads: `GET /users/{id}` answering a short text
//! body, either on bare actix-web or instrumented with otelix.
//!
//! `otelix-bench-server --mode bare|otelix --addr 127.0.0.1:8080`; one actix worker unless
//! `WORKERS` says otherwise. In `otelix` mode it is configured like any otelix service, from
//! the environment (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...), with everything on: 100% sampling,
//! a SERVER span per request, HTTP metrics to both readers (OTLP and the Prometheus bridge
//! behind `/metrics`), the request ID, log correlation and the slow-query processor. In `bare`
//! mode no otelix code runs at all, not even `init`. SIGTERM or SIGINT stops the server
//! gracefully (actix-web's own signal handling), then telemetry is flushed.

use std::net::SocketAddr;
use std::process::ExitCode;

use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use opentelemetry::KeyValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// actix-web alone.
    Bare,
    /// actix-web with otelix's middleware, exporters and /metrics.
    Otelix,
}

/// Benchmark target for otelix's instrumentation overhead.
#[derive(Debug, Parser)]
#[command(name = "otelix-bench-server")]
struct Args {
    /// Bare actix-web, or instrumented with otelix.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Listening address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// In `otelix` mode, this many extra counter series at start-up, so that a `/metrics`
    /// scrape has a realistic size to render.
    #[arg(long, default_value_t = 0)]
    metric_series: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = workers().and_then(|workers| match args.mode {
        Mode::Bare => run_bare(args.addr, workers),
        Mode::Otelix => run_otelix(args.addr, workers, args.metric_series),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otelix-bench-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Actix workers: `WORKERS`, default 1 (the benchmark pins the server to one core).
fn workers() -> anyhow::Result<usize> {
    match std::env::var("WORKERS") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("WORKERS={text:?} is not a positive integer")),
        _ => Ok(1),
    }
}

async fn user(id: web::Path<u32>) -> String {
    format!("user {id}")
}

async fn user_logged(id: web::Path<u32>) -> String {
    // Log correlation is on: at the default level this event is filtered out, as a
    // debug line in a hot handler would be in production; with `RUST_LOG=debug` it is
    // written with the request's trace_id and span_id.
    tracing::debug!(user_id = *id, "user requested");
    format!("user {id}")
}

fn run_bare(addr: SocketAddr, workers: usize) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/users/{id}", web::get().to(user)))
            .workers(workers)
            .bind(addr)
            .with_context(|| format!("cannot listen on {addr}"))?
            .run()
            .await
            .context("the HTTP server failed")
    })
}

fn run_otelix(addr: SocketAddr, workers: usize, metric_series: u32) -> anyhow::Result<()> {
    let config = otelix::Config::builder()
        .with_default_service_name("otelix-bench-server")
        .build()?;
    let telemetry = otelix::init(config).context("telemetry set-up failed")?;
    let handle = telemetry.handle();
    let series = handle
        .meter()
        .u64_counter("otelix.bench.series")
        .with_unit("{item}")
        .with_description("Filler series for the /metrics scrape benchmark.")
        .build();
    for i in 0..metric_series {
        series.add(1, &[KeyValue::new("series", i64::from(i))]);
    }
    let served = actix_web::rt::System::new().block_on(async move {
        let middleware = otelix_actix::RequestTelemetry::new(&handle);
        HttpServer::new(move || {
            App::new()
                .wrap(middleware.clone())
                .configure(otelix_actix::metrics_endpoints(handle.clone()))
                .route("/users/{id}", web::get().to(user_logged))
        })
        .workers(workers)
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?
        .run()
        .await
        .context("the HTTP server failed")
    });
    // Stopped by a signal (or failed): flush what is buffered before exiting.
    telemetry.shutdown().context("telemetry shutdown")?.log();
    served
}
