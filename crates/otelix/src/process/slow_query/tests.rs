//! The processor end to end: an SDK tracer provider with the processor, spans with faked
//! durations, the file read back and the metrics read from the SDK's in-memory exporter.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanProcessor as _};
#[allow(deprecated)]
use opentelemetry_semantic_conventions::attribute::{
    DB_COLLECTION_NAME, DB_OPERATION_NAME, DB_QUERY_TEXT, DB_SQL_TABLE, DB_STATEMENT, DB_SYSTEM,
    DB_SYSTEM_NAME,
};
use serde_json::Value as Json;

use super::writer::REOPEN_CHECK_INTERVAL;
use super::{SlowQueryHandle, SlowQueryProcessor};
use crate::config::SlowQuerySettings;
use crate::context::RequestRoute;

type TestResult = Result<(), Box<dyn Error>>;
/// A counter's data points: attributes (sorted by key) and value.
type Points = Vec<(Vec<KeyValue>, u64)>;

const SLOW: Duration = Duration::from_millis(1500);
const CRITICAL: Duration = Duration::from_secs(6);
const FAST: Duration = Duration::from_millis(3);

struct Harness {
    _dir: tempfile::TempDir,
    path: PathBuf,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    meters: SdkMeterProvider,
    exporter: InMemoryMetricExporter,
    handle: SlowQueryHandle,
}

impl Harness {
    fn new() -> Result<Self, Box<dyn Error>> {
        Self::with(|_, _| {})
    }

    /// `configure` gets the settings and the temporary directory they point into.
    fn with(configure: impl FnOnce(&mut SlowQuerySettings, &Path)) -> Result<Self, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let mut settings = SlowQuerySettings {
            log_file: dir.path().join("logs/slow_queries.log"),
            ..SlowQuerySettings::default()
        };
        configure(&mut settings, dir.path());
        let exporter = InMemoryMetricExporter::default();
        let meters = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let path = settings.log_file.clone();
        let processor = SlowQueryProcessor::new(settings, &meters.meter("otelix"));
        let handle = processor.handle();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        Ok(Harness {
            _dir: dir,
            path,
            provider,
            tracer,
            meters,
            exporter,
            handle,
        })
    }

    /// Starts a span under `parent` and ends it `duration` later.
    fn span(
        &self,
        name: &'static str,
        attributes: Vec<KeyValue>,
        duration: Duration,
        parent: &Context,
    ) -> SpanContext {
        let start = SystemTime::now();
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .with_start_time(start)
            .start_with_context(&self.tracer, parent);
        let span_context = span.span_context().clone();
        span.end_with_timestamp(start + duration);
        span_context
    }

    fn db_span(&self, query: &str, duration: Duration, parent: &Context) -> SpanContext {
        self.span("SELECT members", db_attributes(query), duration, parent)
    }

    fn flush(&self) -> TestResult {
        self.provider.force_flush()?;
        Ok(())
    }

    fn lines(&self) -> Vec<String> {
        read_lines(&self.path)
    }

    fn records(&self) -> Result<Vec<Json>, Box<dyn Error>> {
        parse_lines(&self.path)
    }

    fn counter(&self, name: &str) -> Result<Points, Box<dyn Error>> {
        self.meters.force_flush()?;
        let batches = self.exporter.get_finished_metrics()?;
        let Some(latest) = batches.last() else {
            return Ok(Vec::new());
        };
        let mut points = Vec::new();
        for metric in latest
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .filter(|metric| metric.name() == name)
        {
            if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                for point in sum.data_points() {
                    let mut attributes: Vec<KeyValue> = point.attributes().cloned().collect();
                    attributes.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
                    points.push((attributes, point.value()));
                }
            }
        }
        Ok(points)
    }

    fn counter_total(&self, name: &str) -> Result<u64, Box<dyn Error>> {
        Ok(self.counter(name)?.iter().map(|(_, value)| value).sum())
    }
}

fn db_attributes(query: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new(DB_SYSTEM_NAME, "postgresql"),
        KeyValue::new(DB_COLLECTION_NAME, "members"),
        KeyValue::new(DB_OPERATION_NAME, "SELECT"),
        KeyValue::new(DB_QUERY_TEXT, query.to_owned()),
    ]
}

fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn parse_lines(path: &Path) -> Result<Vec<Json>, Box<dyn Error>> {
    read_lines(path)
        .iter()
        .map(|line| serde_json::from_str(line).map_err(Into::into))
        .collect()
}

fn field<'j>(record: &'j Json, key: &str) -> Option<&'j str> {
    record.get(key).and_then(Json::as_str)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn a_slow_database_span_writes_one_sanitized_line() -> TestResult {
    let h = Harness::new()?;
    let root = Context::new();
    let slow = h.db_span(
        "SELECT *  FROM members WHERE email = 'ann@example.com' AND age > 42",
        SLOW,
        &root,
    );
    h.db_span("SELECT 1", FAST, &root);
    h.span("render", Vec::new(), CRITICAL, &root);
    h.flush()?;

    let records = h.records()?;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(field(record, "kind"), Some("slow_query"));
    assert_eq!(field(record, "severity"), Some("warning"));
    assert_eq!(
        record.get("duration_ms").and_then(Json::as_f64),
        Some(1500.0)
    );
    assert_eq!(field(record, "db_system"), Some("postgresql"));
    assert_eq!(field(record, "collection"), Some("members"));
    assert_eq!(field(record, "operation"), Some("SELECT"));
    assert_eq!(
        field(record, "query"),
        Some("SELECT * FROM members WHERE email = ? AND age > ?")
    );
    let trace_id = slow.trace_id().to_string();
    let span_id = slow.span_id().to_string();
    assert_eq!(field(record, "trace_id"), Some(trace_id.as_str()));
    assert_eq!(field(record, "span_id"), Some(span_id.as_str()));
    assert_eq!(record.get("route"), Some(&Json::Null));
    assert_eq!(field(record, "span_name"), Some("SELECT members"));
    let timestamp = field(record, "timestamp").unwrap_or_default();
    assert_eq!(
        timestamp.len(),
        "2025-01-31T12:00:00.123Z".len(),
        "{timestamp}"
    );
    assert!(
        timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );

    // Compact keys: what `grep -o '"collection":"[^"]*"'` relies on.
    let lines = h.lines();
    assert!(
        lines[0].contains("\"collection\":\"members\""),
        "{}",
        lines[0]
    );
    assert!(lines[0].starts_with("{\"timestamp\":\""), "{}", lines[0]);
    Ok(())
}

#[test]
fn severities_are_counted_without_the_query_text() -> TestResult {
    let h = Harness::new()?;
    let root = Context::new();
    h.db_span("SELECT 1", SLOW, &root);
    h.db_span("SELECT 2", CRITICAL, &root);
    h.db_span("SELECT 3", Duration::from_secs(5), &root);
    h.db_span("SELECT 4", Duration::from_millis(999), &root);
    h.flush()?;

    let severities: Vec<_> = h
        .records()?
        .iter()
        .map(|r| field(r, "severity").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(severities, ["warning", "critical", "critical"]);

    let points = h.counter("otelix.db.slow_queries")?;
    let count = |severity: &str| {
        points
            .iter()
            .filter(|(attributes, _)| {
                attribute(attributes, "severity") == Some(&Value::from(severity.to_owned()))
            })
            .map(|(_, value)| *value)
            .sum::<u64>()
    };
    assert_eq!((count("warning"), count("critical")), (1, 2));
    for (attributes, _) in &points {
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                DB_COLLECTION_NAME,
                DB_OPERATION_NAME,
                DB_SYSTEM_NAME,
                "severity"
            ]
        );
    }
    Ok(())
}

#[test]
#[allow(deprecated)]
fn legacy_attribute_names_are_understood() -> TestResult {
    let h = Harness::new()?;
    h.span(
        "query",
        vec![
            KeyValue::new(DB_SYSTEM, "mysql"),
            KeyValue::new(DB_SQL_TABLE, "members"),
            KeyValue::new(
                DB_STATEMENT,
                r#"SELECT * FROM members WHERE name = "bob\"s""#,
            ),
        ],
        SLOW,
        &Context::new(),
    );
    h.flush()?;
    let records = h.records()?;
    assert_eq!(records.len(), 1);
    assert_eq!(field(&records[0], "db_system"), Some("mysql"));
    assert_eq!(field(&records[0], "collection"), Some("members"));
    // MySQL rules: "..." is a string with backslash escapes.
    assert_eq!(
        field(&records[0], "query"),
        Some("SELECT * FROM members WHERE name = ?")
    );
    assert_eq!(h.counter_total("otelix.db.slow_queries")?, 1);
    Ok(())
}

#[test]
fn the_request_route_comes_from_the_parent_context() -> TestResult {
    let h = Harness::new()?;
    let request_cx = Context::new().with_value(RequestRoute::new("/members/{id}"));
    let server = h
        .tracer
        .span_builder("GET /members/{id}")
        .with_kind(SpanKind::Server)
        .start_with_context(&h.tracer, &request_cx);
    let cx = request_cx.with_span(server);
    h.db_span("SELECT * FROM members WHERE id = $1", SLOW, &cx);
    h.flush()?;
    let records = h.records()?;
    assert_eq!(records.len(), 1);
    assert_eq!(field(&records[0], "route"), Some("/members/{id}"));
    assert_eq!(h.handle.remembered_routes(), 1);

    // The route is forgotten once the request's root span has ended.
    cx.span().end();
    h.flush()?;
    assert_eq!(h.handle.remembered_routes(), 0);
    Ok(())
}

#[test]
fn concurrent_writers_rotate_without_tearing_lines() -> TestResult {
    const THREADS: usize = 4;
    const SPANS: usize = 150;
    let max_bytes = 4000;
    let h = Harness::with(|settings, _| {
        settings.max_bytes = max_bytes;
        settings.backups = 3;
        settings.queue_capacity = 256;
    })?;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let h = &h;
            scope.spawn(move || {
                for i in 0..SPANS {
                    let query =
                        format!("SELECT * FROM members WHERE thread = {thread} AND i = {i}");
                    h.db_span(&query, SLOW, &Context::new());
                }
            });
        }
    });
    h.flush()?;

    let written = h.handle.lines_written();
    let dropped = h.handle.dropped();
    assert_eq!(written + dropped, (THREADS * SPANS) as u64);
    assert!(written > 0);
    assert_eq!(h.counter_total("otelix.slow_query.dropped")?, dropped);

    let backup = |n: usize| PathBuf::from(format!("{}.{n}", h.path.display()));
    assert!(
        backup(3).exists(),
        "expected rotation to have filled three backups"
    );
    assert!(!backup(4).exists());
    for path in [h.path.clone(), backup(1), backup(2), backup(3)] {
        let size = fs::metadata(&path)?.len();
        assert!(size <= max_bytes, "{} has {size} bytes", path.display());
        let records = parse_lines(&path)?;
        assert!(!records.is_empty(), "{} is empty", path.display());
        for record in records {
            assert_eq!(field(&record, "kind"), Some("slow_query"));
        }
    }
    Ok(())
}

#[test]
fn a_path_under_a_regular_file_is_reported_once() -> TestResult {
    let h = Harness::with(|settings, dir| {
        let blocker = dir.join("blocker");
        let _ = fs::write(&blocker, "");
        settings.log_file = blocker.join("slow_queries.log");
    })?;
    for _ in 0..5 {
        h.db_span("SELECT 1", SLOW, &Context::new());
    }
    h.flush()?;
    assert_eq!(h.handle.failures_reported(), 1);
    assert_eq!(h.handle.lines_written(), 0);
    assert_eq!(h.handle.dropped(), 5);
    assert_eq!(h.counter_total("otelix.db.slow_queries")?, 5);
    assert_eq!(h.counter_total("otelix.slow_query.dropped")?, 5);
    Ok(())
}

#[test]
fn a_directory_as_the_path_is_reported_once() -> TestResult {
    let h = Harness::with(|settings, dir| settings.log_file = dir.to_path_buf())?;
    for _ in 0..3 {
        h.db_span("SELECT 1", CRITICAL, &Context::new());
    }
    h.flush()?;
    assert_eq!(h.handle.failures_reported(), 1);
    assert_eq!(h.handle.dropped(), 3);
    assert_eq!(h.counter_total("otelix.db.slow_queries")?, 3);
    Ok(())
}

#[test]
fn a_file_moved_away_is_replaced_by_a_new_one() -> TestResult {
    let h = Harness::new()?;
    h.db_span("SELECT 'before'", SLOW, &Context::new());
    h.flush()?;
    let moved = h.path.with_extension("log.moved");
    fs::rename(&h.path, &moved)?;
    // The writer looks for a replaced file at most once per interval.
    std::thread::sleep(REOPEN_CHECK_INTERVAL + Duration::from_millis(100));
    h.db_span("SELECT 'after'", SLOW, &Context::new());
    h.flush()?;
    assert_eq!(parse_lines(&moved)?.len(), 1);
    assert_eq!(h.records()?.len(), 1);
    assert_eq!(h.handle.failures_reported(), 0);
    Ok(())
}

/// Starts a request's root span; returns its context.
fn request(h: &Harness, route: &str) -> Context {
    let cx = Context::new().with_value(RequestRoute::new(route));
    let span = h
        .tracer
        .span_builder("GET /members")
        .with_kind(SpanKind::Server)
        .start_with_context(&h.tracer, &cx);
    cx.with_span(span)
}

#[test]
fn n_plus_one_is_reported_once_when_the_threshold_is_reached() -> TestResult {
    let h = Harness::new()?;
    let cx = request(&h, "/members");
    for id in 0..12 {
        h.db_span(
            &format!("SELECT * FROM orders WHERE member_id = {id}"),
            FAST,
            &cx,
        );
    }
    h.flush()?;
    let records = h.records()?;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(field(record, "kind"), Some("n_plus_one"));
    assert_eq!(field(record, "severity"), Some("warning"));
    assert_eq!(record.get("count").and_then(Json::as_u64), Some(10));
    assert_eq!(
        field(record, "query"),
        Some("SELECT * FROM orders WHERE member_id = ?")
    );
    let parent = cx.span().span_context().clone();
    let (trace_id, parent_id) = (parent.trace_id().to_string(), parent.span_id().to_string());
    assert_eq!(field(record, "trace_id"), Some(trace_id.as_str()));
    assert_eq!(field(record, "parent_span_id"), Some(parent_id.as_str()));
    assert_eq!(field(record, "collection"), Some("members"));
    assert_eq!(field(record, "db_system"), Some("postgresql"));
    assert_eq!(field(record, "route"), Some("/members"));

    let points = h.counter("otelix.db.n_plus_one")?;
    assert_eq!(points.len(), 1);
    let (attributes, value) = &points[0];
    assert_eq!(*value, 1);
    let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, [DB_COLLECTION_NAME, DB_SYSTEM_NAME]);
    Ok(())
}

#[test]
fn repeated_statements_below_the_threshold_or_split_across_parents_are_fine() -> TestResult {
    let h = Harness::new()?;
    let cx = request(&h, "/members");
    for _ in 0..5 {
        h.db_span("SELECT * FROM orders WHERE member_id = $1", FAST, &cx);
    }
    let first = cx.with_span(h.tracer.start_with_context("load a", &cx));
    let second = cx.with_span(h.tracer.start_with_context("load b", &cx));
    for _ in 0..6 {
        h.db_span("SELECT * FROM invoices WHERE member_id = $1", FAST, &first);
        h.db_span("SELECT * FROM invoices WHERE member_id = $1", FAST, &second);
    }
    h.flush()?;
    assert_eq!(h.records()?.len(), 0);
    assert_eq!(h.counter_total("otelix.db.n_plus_one")?, 0);
    Ok(())
}

#[test]
fn n_plus_one_state_goes_when_the_local_root_ends() -> TestResult {
    let h = Harness::new()?;
    let cx = request(&h, "/members");
    for _ in 0..3 {
        h.db_span("SELECT * FROM orders WHERE member_id = $1", FAST, &cx);
    }
    h.flush()?;
    assert_eq!(h.handle.tracked_traces(), 1);
    cx.span().end();
    h.flush()?;
    assert_eq!(h.handle.tracked_traces(), 0);
    Ok(())
}

#[test]
fn an_inner_local_root_of_the_same_trace_keeps_the_outer_state() -> TestResult {
    // A service calling itself: the inner request is a second local root of the same trace
    // (its parent is the remote CLIENT span). Its end must not reset the outer request's N+1
    // counts or route.
    let h = Harness::new()?;
    let cx = request(&h, "/members");
    let statement = "UPDATE members SET last_reminder_on = $1 WHERE id = $2";
    for _ in 0..5 {
        h.db_span(statement, FAST, &cx);
        let remote = Context::new().with_remote_span_context(SpanContext::new(
            cx.span().span_context().trace_id(),
            SpanId::from(7),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        h.tracer
            .span_builder("POST /sandbox")
            .with_kind(SpanKind::Server)
            .start_with_context(&h.tracer, &remote)
            .end();
    }
    for _ in 0..5 {
        h.db_span(statement, FAST, &cx);
    }
    h.flush()?;
    let records = h.records()?;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(field(&records[0], "kind"), Some("n_plus_one"));
    assert_eq!(field(&records[0], "route"), Some("/members"));
    assert_eq!(h.handle.tracked_traces(), 1);
    cx.span().end();
    h.flush()?;
    assert_eq!(h.handle.tracked_traces(), 0);
    Ok(())
}

#[test]
fn shutdown_is_bounded_and_idempotent() -> TestResult {
    let h = Harness::new()?;
    h.db_span("SELECT 1", SLOW, &Context::new());
    h.provider.shutdown_with_timeout(Duration::from_secs(5))?;
    assert_eq!(h.records()?.len(), 1);

    // The processor itself, called twice.
    let dir = tempfile::tempdir()?;
    let settings = SlowQuerySettings {
        log_file: dir.path().join("slow.log"),
        ..SlowQuerySettings::default()
    };
    let processor = SlowQueryProcessor::new(settings, &h.meters.meter("otelix"));
    processor.shutdown_with_timeout(Duration::from_secs(5))?;
    assert!(matches!(
        processor.shutdown_with_timeout(Duration::from_secs(5)),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(
        processor.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    Ok(())
}
