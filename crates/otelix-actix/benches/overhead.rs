//! CPU cost of the middleware per request, as a ratio against the same application without
//! it, measured in one run: `cargo bench -p otelix-actix --bench overhead`.
//!
//! Requests go through the service in-process (`actix_web::test::call_service`), so HTTP
//! parsing and socket I/O, which the middleware does not change, are left out. Spans go through
//! otelix's batch processor into an exporter that drops them, so the cost of handing them off
//! is counted, but not that of encoding and sending them (see `scripts/bench-overhead.sh`).
//!
//! For an instruction count that does not depend on the machine's other load, run one mode
//! with few requests under callgrind: `OVERHEAD_MODE=otelix OVERHEAD_REQUESTS=4000
//! OVERHEAD_ROUNDS=1 valgrind --tool=callgrind <bench binary>`, and again with another request
//! count; the difference of the totals divided by the difference of the counts is the cost of
//! one request, without the set-up.

// A benchmark that cannot set itself up should stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otelix::{BatchExportProcessor, BatchSettings, Config, Exporters, Telemetry};
use otelix_actix::RequestTelemetry;

/// Requests before each measurement, per measurement and rounds of both modes; each can be
/// overridden from the environment (`OVERHEAD_WARM_UP`, `OVERHEAD_REQUESTS`, `OVERHEAD_ROUNDS`).
const WARM_UP: u32 = 20_000;
const REQUESTS: u32 = 200_000;
const ROUNDS: u32 = 5;

fn setting(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a count")),
        Err(_) => default,
    }
}

/// Which applications to measure: both (the default), or only `bare` or `otelix`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Both,
    Bare,
    Otelix,
}

impl Mode {
    fn from_env() -> Mode {
        match std::env::var("OVERHEAD_MODE").as_deref() {
            Err(_) | Ok("both") => Mode::Both,
            Ok("bare") => Mode::Bare,
            Ok("otelix") => Mode::Otelix,
            Ok(other) => panic!("OVERHEAD_MODE={other:?}: expected both, bare or otelix"),
        }
    }
}

#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

async fn user(id: web::Path<u32>) -> String {
    format!("user {id}")
}

/// A small service's route table, the measured route last, so that finding it costs what it
/// would in a real application.
fn routes(config: &mut web::ServiceConfig) {
    for resource in ["orders", "products", "carts", "sessions", "events"] {
        config
            .route(&format!("/{resource}"), web::get().to(|| async { "list" }))
            .route(
                &format!("/{resource}/{{id}}"),
                web::get().to(|| async { "one" }),
            );
    }
    config.route("/users/{id}", web::get().to(user));
}

/// Nanoseconds per request over `requests` requests to `/users/{id}`, after `warm_up` others.
async fn measure<S, B>(app: &S, warm_up: u32, requests: u32) -> f64
where
    S: Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let request = |i: u32| {
        TestRequest::get()
            .uri(&format!("/users/{}", i % 1000))
            .insert_header(("user-agent", "bench/1.0"))
            .to_request()
    };
    for i in 0..warm_up {
        black_box(test::call_service(app, request(i)).await);
    }
    let start = Instant::now();
    for i in 0..requests {
        black_box(test::call_service(app, request(i)).await);
    }
    start.elapsed().as_nanos() as f64 / f64::from(requests.max(1))
}

fn main() {
    let warm_up = setting("OVERHEAD_WARM_UP", WARM_UP);
    let requests = setting("OVERHEAD_REQUESTS", REQUESTS);
    let rounds = setting("OVERHEAD_ROUNDS", ROUNDS);
    let mode = Mode::from_env();
    let config = Config::builder()
        .with_service_name("otelix-actix-bench")
        .with_traces_exporter(Exporters::NONE)
        .with_metrics_exporter(Exporters::NONE)
        .with_logs_exporter(Exporters::NONE)
        .with_bsp_schedule_delay(Duration::from_millis(200))
        .build_from_vars(Vec::<(String, String)>::new())
        .expect("configuration");
    let telemetry = Telemetry::builder(config)
        .with_span_processor(BatchExportProcessor::new(
            vec![DropExporter, DropExporter],
            BatchSettings::default(),
        ))
        .with_log_writer(std::io::sink)
        .build()
        .expect("telemetry");
    let handle = telemetry.handle();

    actix_web::rt::System::new().block_on(async move {
        let bare = test::init_service(App::new().configure(routes)).await;
        let instrumented = test::init_service(
            App::new()
                .wrap(RequestTelemetry::new(&handle))
                .configure(routes),
        )
        .await;
        // Interleaved rounds, best of each: frequency scaling and noise hit both alike.
        let (mut best_bare, mut best_instrumented) = (f64::MAX, f64::MAX);
        for _ in 0..rounds {
            if mode != Mode::Otelix {
                best_bare = best_bare.min(measure(&bare, warm_up, requests).await);
            }
            if mode != Mode::Bare {
                best_instrumented =
                    best_instrumented.min(measure(&instrumented, warm_up, requests).await);
            }
        }
        if mode != Mode::Otelix {
            println!("bare actix-web          {best_bare:8.0} ns/request");
        }
        if mode != Mode::Bare {
            println!("with RequestTelemetry   {best_instrumented:8.0} ns/request");
        }
        if mode == Mode::Both {
            println!(
                "ratio                   {:8.2}x  (+{:.0} ns/request)",
                best_instrumented / best_bare,
                best_instrumented - best_bare
            );
        }
    });
}
