//! The `tracing` subscriber: log lines carrying `trace_id` and `span_id`, `tracing` spans as
//! OpenTelemetry spans, and log records exported over OTLP.
//!
//! Every line written while an OpenTelemetry span is current (an otelix request span, a
//! `tracing` span bridged by `tracing-opentelemetry`, or a span made current by hand) carries
//! that span's IDs, because the IDs are read from the current OpenTelemetry context rather
//! than from `tracing`'s own span stack.
//!
//! The exporters' own diagnostics (targets `opentelemetry*`, `tonic`, `h2`, `hyper`, ...) never
//! reach the OTLP log exporter or the span bridge, so a failing export cannot feed itself, and
//! on stdout each such message is shown at most once a minute, and below WARN only when the
//! filter names the crate (`RUST_LOG=info,opentelemetry_sdk=debug`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{dynamic_filter_fn, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer as _, Registry};

use crate::config::{Config, LogFormat};

/// Targets whose events are about exporting telemetry itself.
const INTERNAL_TARGETS: &[&str] = &[
    "opentelemetry",
    "tonic",
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "reqwest",
    "rustls",
];

/// How often one internal diagnostic may appear on stdout.
const INTERNAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

fn is_internal(target: &str) -> bool {
    INTERNAL_TARGETS.iter().any(|prefix| {
        target.starts_with(prefix)
            && matches!(
                target.as_bytes().get(prefix.len()),
                None | Some(b':' | b'_' | b'-')
            )
    })
}

pub(crate) fn dispatch(
    config: &Config,
    writer: BoxMakeWriter,
    tracer: SdkTracer,
    logger_provider: Option<&SdkLoggerProvider>,
) -> tracing::Dispatch {
    // The directives were validated when the Config was built.
    let filter = EnvFilter::builder().parse_lossy(config.log_filter());

    let limiter = RateLimiter::<tracing::callsite::Identifier>::default();
    // The SDK narrates at INFO (a provider was installed, ...); show that only to someone who
    // asked for it by naming an internal crate in the filter.
    let internal_floor = if INTERNAL_TARGETS
        .iter()
        .any(|t| config.log_filter().contains(t))
    {
        tracing::Level::TRACE
    } else {
        tracing::Level::WARN
    };
    let lines = tracing_subscriber::fmt::layer()
        .event_format(LineFormat {
            json: config.log_format() == LogFormat::Json,
        })
        .with_writer(writer)
        .with_filter(dynamic_filter_fn(move |meta, _| {
            !meta.is_event()
                || !is_internal(meta.target())
                || (*meta.level() <= internal_floor && limiter.allow(meta.callsite()))
        }));

    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(|meta| !is_internal(meta.target())));

    let records = logger_provider.map(|provider| {
        opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(provider)
            .with_filter(filter_fn(|meta| !is_internal(meta.target())))
    });

    tracing::Dispatch::new(
        Registry::default()
            .with(filter)
            .with(lines)
            .with(spans)
            .with(records),
    )
}

/// Lets one message per key through per [`INTERNAL_LOG_INTERVAL`]: internal diagnostics by
/// callsite here, export drops by reason in `export`.
pub(crate) struct RateLimiter<K = tracing::callsite::Identifier> {
    last: Mutex<HashMap<K, Instant>>,
}

impl<K> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter {
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + std::hash::Hash> RateLimiter<K> {
    pub(crate) fn allow(&self, key: K) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        let now = Instant::now();
        match last.get(&key) {
            Some(at) if now.duration_since(*at) < INTERNAL_LOG_INTERVAL => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }
}

/// The IDs of the current OpenTelemetry span, if any.
pub(crate) fn current_ids() -> Option<(TraceId, SpanId)> {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
    })
}

/// One line per event: JSON or readable text, always with the trace context.
struct LineFormat {
    json: bool,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut timestamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        let ids = current_ids();
        let span_name = ctx.lookup_current().map(|s| s.name());

        if self.json {
            let mut obj = serde_json::Map::with_capacity(8 + fields.fields.len());
            obj.insert("timestamp".into(), timestamp.into());
            obj.insert("level".into(), meta.level().as_str().into());
            obj.insert("target".into(), meta.target().into());
            obj.insert("message".into(), fields.message.unwrap_or_default().into());
            for (key, value) in fields.fields {
                // Reserved keys keep their meaning; a colliding field is kept under a prefix.
                // An event about another span (a slow query reported by a background worker)
                // may name its trace itself: outside any span, its `trace_id` is the line's.
                let ids_field = matches!(key, "trace_id" | "span_id");
                let keep = if ids_field {
                    ids.is_none()
                } else {
                    !obj.contains_key(key) && key != "span"
                };
                let key = if keep {
                    key.to_owned()
                } else {
                    format!("field.{key}")
                };
                obj.insert(key, value);
            }
            if let Some(name) = span_name {
                obj.insert("span".into(), name.into());
            }
            if let Some((trace_id, span_id)) = ids {
                obj.insert("trace_id".into(), trace_id.to_string().into());
                obj.insert("span_id".into(), span_id.to_string().into());
            }
            let line = serde_json::Value::Object(obj).to_string();
            writer.write_str(&line)?;
            writer.write_char('\n')
        } else {
            write!(
                writer,
                "{timestamp} {:>5} {}: {}",
                meta.level().as_str(),
                meta.target(),
                fields.message.as_deref().unwrap_or_default()
            )?;
            for (key, value) in &fields.fields {
                match value {
                    serde_json::Value::String(s) => write!(writer, " {key}={s:?}")?,
                    other => write!(writer, " {key}={other}")?,
                }
            }
            if let Some((trace_id, span_id)) = ids {
                write!(writer, " trace_id={trace_id} span_id={span_id}")?;
            }
            writer.write_char('\n')
        }
    }
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    fields: Vec<(&'static str, serde_json::Value)>,
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
        } else if !field.name().starts_with("log.") {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for FieldCollector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_targets_are_matched_by_crate_not_by_prefix_alone() {
        assert!(is_internal("opentelemetry_sdk"));
        assert!(is_internal("opentelemetry-otlp"));
        assert!(is_internal("h2::codec"));
        assert!(is_internal("hyper_util::client"));
        assert!(!is_internal("h2o_service"));
        assert!(!is_internal("otelix"));
        assert!(!is_internal("wwmaa_backend::routes"));
    }
}
