//! What the slow-query processor costs on the threads that end spans, and what the
//! sanitizer costs the worker.
//!
//! `cargo bench --bench slow_query -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanId, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanProcessor as _};
use otelix::{sanitize_query, RequestRoute, SlowQueryProcessor, SlowQuerySettings};

const TYPICAL_QUERY: &str = "SELECT m.id, m.email, m.display_name, o.total FROM members m \
     JOIN orders o ON o.member_id = m.id WHERE m.email = 'ann@example.com' \
     AND o.created_at > '2024-01-01' AND o.status IN (1, 2, 3) ORDER BY o.created_at DESC LIMIT 20";

const CLEAN_QUERY: &str = "SELECT m.id, m.email, m.display_name FROM members m WHERE m.id = $1";

fn processor(
    dir: &Path,
    meters: &SdkMeterProvider,
    n_plus_one_threshold: usize,
) -> SlowQueryProcessor {
    let settings = SlowQuerySettings {
        log_file: dir.join("slow_queries.log"),
        n_plus_one_threshold,
        ..SlowQuerySettings::default()
    };
    SlowQueryProcessor::new(settings, &meters.meter("bench"))
}

/// A tracer whose provider has no processor: spans built with it are handed to the processor
/// under test by hand.
fn bare_tracer() -> (SdkTracerProvider, SdkTracer) {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("bench");
    (provider, tracer)
}

/// A finished child span (not a local root) with `attributes`.
fn span_data(tracer: &SdkTracer, name: &'static str, attributes: Vec<KeyValue>) -> SpanData {
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
        .start(tracer);
    let mut data = span
        .exported_data()
        .unwrap_or_else(|| unreachable!("always sampled"));
    data.parent_span_id = SpanId::from(0x00f0_67aa_0ba9_02b7);
    data
}

fn on_end(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let meters = SdkMeterProvider::builder().build();
    let processor = processor(dir.path(), &meters, 10);
    // Without N+1 detection, spans under the threshold never reach the queue.
    let without_n_plus_one = self::processor(dir.path(), &meters, 0);
    let (_provider, tracer) = bare_tracer();

    let http = span_data(
        &tracer,
        "GET /members/{id}",
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/members/{id}"),
            KeyValue::new("url.path", "/members/42"),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("user_agent.original", "bench/1.0"),
        ],
    );
    let db = span_data(
        &tracer,
        "SELECT members",
        vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.namespace", "app"),
            KeyValue::new("db.collection.name", "members"),
            KeyValue::new("db.operation.name", "SELECT"),
            KeyValue::new("db.query.text", CLEAN_QUERY),
            KeyValue::new("server.address", "db.internal"),
        ],
    );

    let mut group = c.benchmark_group("on_end");
    group.bench_function("non_db_span", |b| {
        b.iter_batched(
            || http.clone(),
            |span| processor.on_end(span),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("fast_db_span", |b| {
        b.iter_batched(
            || db.clone(),
            |span| processor.on_end(span),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("fast_db_span_n_plus_one_off", |b| {
        b.iter_batched(
            || db.clone(),
            |span| without_n_plus_one.on_end(span),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("baseline_drop_span_data", |b| {
        b.iter_batched(|| http.clone(), drop, BatchSize::SmallInput)
    });
    group.finish();
    let _ = processor.shutdown();
    let _ = without_n_plus_one.shutdown();
}

fn on_start(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let meters = SdkMeterProvider::builder().build();
    let processor = processor(dir.path(), &meters, 10);
    let (_provider, tracer) = bare_tracer();
    let plain = Context::new();
    let routed = Context::new().with_value(RequestRoute::new("/members/{id}"));

    let mut group = c.benchmark_group("on_start");
    let mut span = tracer.build_with_context(tracer.span_builder("SELECT members"), &plain);
    group.bench_function("no_route", |b| {
        b.iter(|| processor.on_start(&mut span, black_box(&plain)))
    });
    group.bench_function("route_already_known", |b| {
        b.iter(|| processor.on_start(&mut span, black_box(&routed)))
    });
    group.bench_function("route_new_trace", |b| {
        b.iter_batched_ref(
            || tracer.build_with_context(tracer.span_builder("SELECT members"), &plain),
            |span| processor.on_start(span, black_box(&routed)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    let _ = processor.shutdown();
}

fn sanitize(c: &mut Criterion) {
    let mut group = c.benchmark_group("sanitize_query");
    group.bench_function("typical_with_literals", |b| {
        b.iter(|| sanitize_query(black_box(TYPICAL_QUERY)))
    });
    group.bench_function("clean_placeholders", |b| {
        b.iter(|| sanitize_query(black_box(CLEAN_QUERY)))
    });
    group.finish();
}

criterion_group!(benches, on_end, on_start, sanitize);
criterion_main!(benches);
