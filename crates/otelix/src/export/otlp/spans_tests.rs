use super::*;

use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
use prost::Message as _;

fn sample_span() -> SpanData {
    let mut events = SpanEvents::default();
    events.events.push(opentelemetry::trace::Event::new(
        "exception",
        UNIX_EPOCH + Duration::from_nanos(1_500),
        vec![KeyValue::new("exception.type", "Timeout")],
        0,
    ));
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10_u128),
            SpanId::from(0x1112_1314_1516_1718_u64),
            TraceFlags::SAMPLED,
            false,
            TraceState::from_key_value([("vendor", "x")]).unwrap_or_default(),
        ),
        parent_span_id: SpanId::from(7_u64),
        parent_span_is_remote: true,
        span_kind: SpanKind::Server,
        name: "GET /users/{id}".into(),
        start_time: UNIX_EPOCH + Duration::from_nanos(1_000),
        end_time: UNIX_EPOCH + Duration::from_nanos(2_000),
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200_i64),
            KeyValue::new("negative", -3_i64),
            KeyValue::new("ratio", 0.5),
            KeyValue::new("flag", false),
            KeyValue::new("empty", ""),
            KeyValue::new(
                "http.request.header.x-request-id",
                Value::Array(Array::String(vec!["abc".into()])),
            ),
        ],
        dropped_attributes_count: 1,
        events,
        links: SpanLinks::default(),
        status: Status::error("boom"),
        instrumentation_scope: InstrumentationScope::builder("otelix")
            .with_version("0.1.0")
            .build(),
    }
}

#[test]
fn the_bytes_decode_as_the_sdk_exporter_would_have_sent_them() {
    let mut exporter = SpanEncoder::default();
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("svc")
            .with_attribute(KeyValue::new("deployment.environment.name", "test"))
            .build(),
    );
    let other_scope = SpanData {
        instrumentation_scope: InstrumentationScope::builder("other").build(),
        ..sample_span()
    };
    let bytes = exporter.encode(&[sample_span(), other_scope, sample_span()]);
    let request =
        ExportTraceServiceRequest::decode(bytes.as_slice()).expect("the encoder's bytes decode");
    let expected = opentelemetry_proto::tonic::trace::v1::ResourceSpans::new(
        sample_span(),
        &(&Resource::builder_empty()
            .with_service_name("svc")
            .with_attribute(KeyValue::new("deployment.environment.name", "test"))
            .build())
            .into(),
    );
    assert_eq!(request.resource_spans.len(), 1);
    let got = &request.resource_spans[0];
    let mut got_resource = got.resource.clone().unwrap_or_default().attributes;
    let mut want_resource = expected.resource.clone().unwrap_or_default().attributes;
    got_resource.sort_by(|a, b| a.key.cmp(&b.key));
    want_resource.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(got_resource, want_resource);
    assert_eq!(got.scope_spans.len(), 2);
    assert_eq!(got.scope_spans[0].spans.len(), 2);
    assert_eq!(got.scope_spans[1].spans.len(), 1);
    assert_eq!(got.scope_spans[0].scope, expected.scope_spans[0].scope);
    assert_eq!(
        got.scope_spans[0].spans[0],
        expected.scope_spans[0].spans[0]
    );
    let attrs = &got.scope_spans[0].spans[0].attributes;
    let empty = attrs.iter().find(|kv| kv.key == "empty");
    assert_eq!(
        empty.and_then(|kv| kv.value.clone()).and_then(|v| v.value),
        Some(any_value::Value::StringValue(String::new()))
    );
}

#[test]
fn long_messages_get_multi_byte_lengths() {
    let mut buf = Vec::new();
    message(&mut buf, 1, |b| b.extend_from_slice(&[7u8; 300]));
    assert_eq!(&buf[..3], &[0x0a, 0xac, 0x02]);
    assert_eq!(buf.len(), 303);
}
