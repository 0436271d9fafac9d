use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;

/// The OTLP transport an item arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

/// An attribute value, simplified from the OTLP `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string value.
    Str(String),
    /// A boolean value.
    Bool(bool),
    /// An integer value.
    Int(i64),
    /// A floating-point value.
    Double(f64),
    /// Anything else (arrays, maps, bytes, empty values), in a readable string form:
    /// arrays as `[a, b]`, maps as `{k: v}`, bytes as lowercase hex.
    Other(String),
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) | AttrValue::Other(s) => f.write_str(s),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Double(d) => write!(f, "{d}"),
        }
    }
}

impl From<&AnyValue> for AttrValue {
    fn from(value: &AnyValue) -> Self {
        match &value.value {
            Some(any_value::Value::StringValue(s)) => AttrValue::Str(s.clone()),
            Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
            Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(*d),
            Some(any_value::Value::ArrayValue(array)) => {
                let items: Vec<String> = array
                    .values
                    .iter()
                    .map(|v| AttrValue::from(v).to_string())
                    .collect();
                AttrValue::Other(format!("[{}]", items.join(", ")))
            }
            Some(any_value::Value::KvlistValue(list)) => {
                let items: Vec<String> = list
                    .values
                    .iter()
                    .map(|kv| format!("{}: {}", kv.key, value_string(kv.value.as_ref())))
                    .collect();
                AttrValue::Other(format!("{{{}}}", items.join(", ")))
            }
            Some(any_value::Value::BytesValue(bytes)) => AttrValue::Other(hex(bytes)),
            Some(any_value::Value::StringValueStrindex(index)) => {
                AttrValue::Other(format!("strindex:{index}"))
            }
            None => AttrValue::Other(String::new()),
        }
    }
}

fn value_string(value: Option<&AnyValue>) -> String {
    value
        .map(|v| AttrValue::from(v).to_string())
        .unwrap_or_default()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Hex of an ID, or `None` when it is empty or all zeros (the OTLP "not set").
fn optional_id(bytes: &[u8]) -> Option<String> {
    if bytes.iter().all(|b| *b == 0) {
        None
    } else {
        Some(hex(bytes))
    }
}

fn find_attr(attributes: &[KeyValue], key: &str) -> Option<AttrValue> {
    attributes.iter().find(|kv| kv.key == key).map(|kv| {
        kv.value
            .as_ref()
            .map(AttrValue::from)
            .unwrap_or(AttrValue::Other(String::new()))
    })
}

fn attr_map(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), value_string(kv.value.as_ref())))
        .collect()
}

/// A span as received, with its resource attributes and instrumentation scope name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// Attributes of the resource that sent the span.
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope (tracer) that produced the span.
    pub scope_name: String,
    /// The span itself.
    pub span: Span,
    /// The transport it arrived on.
    pub transport: Transport,
}

impl ReceivedSpan {
    /// The trace ID as 32 lowercase hex characters.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span ID as 16 lowercase hex characters.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent span ID as 16 lowercase hex characters, `None` for a root span.
    pub fn parent_span_id(&self) -> Option<String> {
        optional_id(&self.span.parent_span_id)
    }

    /// The span name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// The span kind; `Unspecified` when the sender sent an unknown value.
    pub fn kind(&self) -> SpanKind {
        SpanKind::try_from(self.span.kind).unwrap_or(SpanKind::Unspecified)
    }

    /// The span attribute `key`.
    pub fn attr(&self, key: &str) -> Option<AttrValue> {
        find_attr(&self.span.attributes, key)
    }

    /// The span attribute `key` in string form (numbers and booleans formatted).
    pub fn attr_str(&self, key: &str) -> Option<String> {
        self.attr(key).map(|v| v.to_string())
    }

    /// All span attributes in string form.
    pub fn attrs(&self) -> HashMap<String, String> {
        attr_map(&self.span.attributes)
    }

    /// The resource attribute `key` in string form.
    pub fn resource_attr(&self, key: &str) -> Option<String> {
        find_attr(&self.resource, key).map(|v| v.to_string())
    }

    /// The status code; `Unset` when no status was sent.
    pub fn status_code(&self) -> StatusCode {
        self.span
            .status
            .as_ref()
            .and_then(|s| StatusCode::try_from(s.code).ok())
            .unwrap_or(StatusCode::Unset)
    }

    /// The status message, empty when none was sent.
    pub fn status_message(&self) -> &str {
        self.span.status.as_ref().map_or("", |s| s.message.as_str())
    }

    /// Names of the span's events, in order.
    pub fn event_names(&self) -> Vec<&str> {
        self.span.events.iter().map(|e| e.name.as_str()).collect()
    }

    /// End time minus start time; zero if the end precedes the start.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(
            self.span
                .end_time_unix_nano
                .saturating_sub(self.span.start_time_unix_nano),
        )
    }
}

/// A metric as received (one per metric per export), with its resource attributes and
/// instrumentation scope name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMetric {
    /// Attributes of the resource that sent the metric.
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope (meter) that produced the metric.
    pub scope_name: String,
    /// The metric with all its data points.
    pub metric: Metric,
    /// The transport it arrived on.
    pub transport: Transport,
}

impl ReceivedMetric {
    /// The metric name.
    pub fn name(&self) -> &str {
        &self.metric.name
    }

    /// The metric unit.
    pub fn unit(&self) -> &str {
        &self.metric.unit
    }

    /// The resource attribute `key` in string form.
    pub fn resource_attr(&self, key: &str) -> Option<String> {
        find_attr(&self.resource, key).map(|v| v.to_string())
    }

    /// The number of data points, whatever the metric type.
    pub fn data_point_count(&self) -> usize {
        data_point_count(&self.metric)
    }

    /// The attributes of each data point (in string form), one map per point, in order.
    pub fn data_point_attributes(&self) -> Vec<HashMap<String, String>> {
        match &self.metric.data {
            Some(metric::Data::Gauge(g)) => g
                .data_points
                .iter()
                .map(|p| attr_map(&p.attributes))
                .collect(),
            Some(metric::Data::Sum(s)) => s
                .data_points
                .iter()
                .map(|p| attr_map(&p.attributes))
                .collect(),
            Some(metric::Data::Histogram(h)) => h
                .data_points
                .iter()
                .map(|p| attr_map(&p.attributes))
                .collect(),
            Some(metric::Data::ExponentialHistogram(h)) => h
                .data_points
                .iter()
                .map(|p| attr_map(&p.attributes))
                .collect(),
            Some(metric::Data::Summary(s)) => s
                .data_points
                .iter()
                .map(|p| attr_map(&p.attributes))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The sum of `count` over all histogram (explicit or exponential) data points;
    /// 0 for other metric types.
    pub fn histogram_counts(&self) -> u64 {
        match &self.metric.data {
            Some(metric::Data::Histogram(h)) => h.data_points.iter().map(|p| p.count).sum(),
            Some(metric::Data::ExponentialHistogram(h)) => {
                h.data_points.iter().map(|p| p.count).sum()
            }
            _ => 0,
        }
    }

    /// The sum of `sum` over all histogram (explicit or exponential) data points;
    /// 0.0 for other metric types.
    pub fn histogram_sum(&self) -> f64 {
        match &self.metric.data {
            Some(metric::Data::Histogram(h)) => h.data_points.iter().filter_map(|p| p.sum).sum(),
            Some(metric::Data::ExponentialHistogram(h)) => {
                h.data_points.iter().filter_map(|p| p.sum).sum()
            }
            _ => 0.0,
        }
    }

    /// The values of all sum or gauge data points added up, as `f64`;
    /// 0.0 for other metric types.
    pub fn sum_value(&self) -> f64 {
        let points = match &self.metric.data {
            Some(metric::Data::Gauge(g)) => &g.data_points,
            Some(metric::Data::Sum(s)) => &s.data_points,
            _ => return 0.0,
        };
        points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                // i64 -> f64 may round above 2^53, which is fine for test assertions.
                #[allow(clippy::cast_precision_loss)]
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => 0.0,
            })
            .sum()
    }
}

pub(crate) fn data_point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// A log record as received, with its resource attributes and instrumentation scope name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedLog {
    /// Attributes of the resource that sent the record.
    pub resource: Vec<KeyValue>,
    /// Name of the instrumentation scope (logger) that produced the record.
    pub scope_name: String,
    /// The log record itself.
    pub record: LogRecord,
    /// The transport it arrived on.
    pub transport: Transport,
}

impl ReceivedLog {
    /// The trace ID as 32 lowercase hex characters; `None` when empty or all zeros.
    pub fn trace_id(&self) -> Option<String> {
        optional_id(&self.record.trace_id)
    }

    /// The span ID as 16 lowercase hex characters; `None` when empty or all zeros.
    pub fn span_id(&self) -> Option<String> {
        optional_id(&self.record.span_id)
    }

    /// The body in string form; `None` when the record has no body.
    pub fn body(&self) -> Option<String> {
        self.record
            .body
            .as_ref()
            .filter(|b| b.value.is_some())
            .map(|b| AttrValue::from(b).to_string())
    }

    /// The log attribute `key`.
    pub fn attr(&self, key: &str) -> Option<AttrValue> {
        find_attr(&self.record.attributes, key)
    }

    /// The log attribute `key` in string form.
    pub fn attr_str(&self, key: &str) -> Option<String> {
        self.attr(key).map(|v| v.to_string())
    }

    /// The resource attribute `key` in string form.
    pub fn resource_attr(&self, key: &str) -> Option<String> {
        find_attr(&self.resource, key).map(|v| v.to_string())
    }

    /// The severity text (e.g. `INFO`), empty when none was sent.
    pub fn severity_text(&self) -> &str {
        &self.record.severity_text
    }

    /// The severity number; `Unspecified` when none or an unknown value was sent.
    pub fn severity_number(&self) -> SeverityNumber {
        SeverityNumber::try_from(self.record.severity_number).unwrap_or(SeverityNumber::Unspecified)
    }

    /// The event name, `None` when empty.
    pub fn event_name(&self) -> Option<&str> {
        Some(self.record.event_name.as_str()).filter(|n| !n.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn ids_are_lowercase_hex_and_zero_parent_is_none() {
        let span = ReceivedSpan {
            resource: vec![kv(
                "service.name",
                any_value::Value::StringValue("svc".into()),
            )],
            scope_name: "scope".into(),
            span: Span {
                trace_id: vec![0xAB; 16],
                span_id: vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
                parent_span_id: vec![0; 8],
                start_time_unix_nano: 1_000,
                end_time_unix_nano: 3_500,
                attributes: vec![
                    kv("n", any_value::Value::IntValue(7)),
                    kv(
                        "list",
                        any_value::Value::ArrayValue(ArrayValue {
                            values: vec![
                                AnyValue {
                                    value: Some(any_value::Value::StringValue("a".into())),
                                },
                                AnyValue {
                                    value: Some(any_value::Value::BoolValue(true)),
                                },
                            ],
                        }),
                    ),
                ],
                ..Default::default()
            },
            transport: Transport::Grpc,
        };
        assert_eq!(span.trace_id(), "ab".repeat(16));
        assert_eq!(span.span_id(), "0123456789abcdef");
        assert_eq!(span.parent_span_id(), None);
        assert_eq!(span.attr("n"), Some(AttrValue::Int(7)));
        assert_eq!(span.attr_str("n").as_deref(), Some("7"));
        assert_eq!(span.attr_str("list").as_deref(), Some("[a, true]"));
        assert_eq!(span.resource_attr("service.name").as_deref(), Some("svc"));
        assert_eq!(span.duration(), Duration::from_nanos(2_500));
        assert_eq!(span.kind(), SpanKind::Unspecified);
        assert_eq!(span.status_code(), StatusCode::Unset);
    }
}
