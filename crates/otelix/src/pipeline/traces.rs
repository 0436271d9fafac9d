//! The tracer provider's pieces: the database-aware sampler and the processor wiring (the
//! slow-query processor before the exporter, user processors between them).

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Sampler, SpanProcessor};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::attribute as semattr;

use crate::config::SamplerKind;
use crate::process::{BatchExportProcessor, SlowQueryProcessor};

/// `SdkTracerProviderBuilder::with_span_processor` is generic; boxed processors from the
/// builder need a concrete type.
#[derive(Debug)]
pub(super) struct BoxedProcessor(pub(super) Box<dyn SpanProcessor>);

impl SpanProcessor for BoxedProcessor {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.0.on_end(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The slow-query processor and the export processor as one: the span is observed by
/// reference, then moved into the export queue.
#[derive(Debug)]
pub(super) struct ObserveThenExport {
    pub(super) slow_query: SlowQueryProcessor,
    pub(super) export: BatchExportProcessor,
}

impl SpanProcessor for ObserveThenExport {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.slow_query.on_start(span, cx);
    }
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.slow_query.observe(&span);
        self.export.on_end(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        let slow_query = self.slow_query.force_flush();
        self.export.force_flush().and(slow_query)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        // Both wait in parallel in effect: the slow-query worker drains while spans export.
        let deadline = Instant::now() + timeout;
        let export = self.export.shutdown_with_timeout(timeout);
        let slow_query = self
            .slow_query
            .shutdown_with_timeout(deadline.saturating_duration_since(Instant::now()));
        export.and(slow_query)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.slow_query.set_resource(resource);
        self.export.set_resource(resource);
    }
}

/// Wraps the configured sampler so that a database span the sampler would drop is still
/// recorded (but not exported): slow-query and N+1 detection see every query, whatever the
/// sampling ratio. Only spans that carry `db.system.name` (or the older `db.system`) when
/// they start are affected, so the cost elsewhere is one scan of the start attributes.
#[derive(Debug, Clone)]
pub(super) struct DatabaseAwareSampler(Sampler);

impl opentelemetry_sdk::trace::ShouldSample for DatabaseAwareSampler {
    fn should_sample(
        &self,
        parent_context: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        span_kind: &opentelemetry::trace::SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        let mut result =
            self.0
                .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if result.decision == opentelemetry_sdk::trace::SamplingDecision::Drop
            && attributes.iter().any(|kv| {
                kv.key.as_str() == semattr::DB_SYSTEM_NAME || kv.key.as_str() == "db.system"
            })
        {
            result.decision = opentelemetry_sdk::trace::SamplingDecision::RecordOnly;
        }
        result
    }
}

pub(super) fn sampler(kind: SamplerKind) -> DatabaseAwareSampler {
    DatabaseAwareSampler(match kind {
        SamplerKind::AlwaysOn => Sampler::AlwaysOn,
        SamplerKind::AlwaysOff => Sampler::AlwaysOff,
        SamplerKind::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerKind::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerKind::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_database_spans_are_still_recorded_but_not_exported() {
        use opentelemetry::trace::{SpanKind, TraceId};
        use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
        let never = sampler(SamplerKind::AlwaysOff);
        let decide = |attrs: &[KeyValue]| {
            never
                .should_sample(
                    None,
                    TraceId::from(1u128),
                    "q",
                    &SpanKind::Client,
                    attrs,
                    &[],
                )
                .decision
        };
        assert_eq!(decide(&[]), SamplingDecision::Drop);
        assert_eq!(
            decide(&[KeyValue::new(semattr::DB_SYSTEM_NAME, "postgresql")]),
            SamplingDecision::RecordOnly
        );
        assert_eq!(
            decide(&[KeyValue::new("db.system", "mysql")]),
            SamplingDecision::RecordOnly
        );
        let always = sampler(SamplerKind::AlwaysOn);
        assert_eq!(
            always
                .should_sample(None, TraceId::from(1u128), "q", &SpanKind::Client, &[], &[])
                .decision,
            SamplingDecision::RecordAndSample
        );
    }
}
