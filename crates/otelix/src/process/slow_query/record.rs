//! What `on_end` hands to the worker, and how the worker turns it into a JSON line.

use std::borrow::Cow;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Value;
use time::macros::{datetime, format_description};
use time::OffsetDateTime;

/// How slow a slow query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A database span, reduced to what the worker needs. Attribute values are moved out of the
/// span, not copied.
#[derive(Debug)]
pub(super) struct DbSpan {
    pub(super) trace_id: TraceId,
    pub(super) span_id: SpanId,
    pub(super) parent_span_id: SpanId,
    /// The span is its trace's local root: the trace's state can go after it.
    pub(super) local_root: bool,
    pub(super) end_time: SystemTime,
    pub(super) duration: Duration,
    /// `None` for a span under the threshold (queued for N+1 detection only).
    pub(super) severity: Option<Severity>,
    pub(super) name: Cow<'static, str>,
    pub(super) db_system: Option<Value>,
    pub(super) collection: Option<Value>,
    pub(super) operation: Option<Value>,
    pub(super) query: Option<Value>,
}

/// What travels through the queue. Kept small (32 bytes): the queue's slots are allocated up
/// front.
#[derive(Debug)]
pub(super) enum Message {
    DbSpan(Box<DbSpan>),
    /// A non-database local root span ended: its trace's state can go.
    LocalRootEnded(TraceId),
    /// Wakes the worker (at shutdown); carries nothing.
    Wake,
}

/// Builds one compact JSON object per line: `{"key":value,...}\n`, keys in a fixed order,
/// no spaces, so `grep -o '"collection":"[^"]*"'` works on the file.
pub(super) struct JsonLine<'b> {
    buf: &'b mut Vec<u8>,
    empty: bool,
}

impl<'b> JsonLine<'b> {
    pub(super) fn new(buf: &'b mut Vec<u8>) -> Self {
        buf.clear();
        buf.push(b'{');
        JsonLine { buf, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    pub(super) fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        // Writing a string to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.buf, value);
        self
    }

    /// A string, or `null` when absent.
    pub(super) fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.str(key, value),
            None => self.raw(key, "null"),
        }
    }

    pub(super) fn f64(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.buf, &value);
        self
    }

    pub(super) fn u64(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    pub(super) fn timestamp(mut self, key: &str, time: SystemTime) -> Self {
        self.key(key);
        self.buf.push(b'"');
        write_rfc3339_millis(self.buf, time);
        self.buf.push(b'"');
        self
    }

    /// A value that is already valid JSON and needs no escaping (hex IDs, `null`).
    pub(super) fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.buf.extend_from_slice(json.as_bytes());
        self
    }

    pub(super) fn trace_id(mut self, key: &str, id: TraceId) -> Self {
        self.key(key);
        let _ = write!(self.buf, "\"{id}\"");
        self
    }

    pub(super) fn span_id(mut self, key: &str, id: SpanId) -> Self {
        self.key(key);
        let _ = write!(self.buf, "\"{id}\"");
        self
    }

    pub(super) fn finish(self) {
        self.buf.extend_from_slice(b"}\n");
    }
}

/// Milliseconds, rounded to microseconds so the value stays short: `1234.567`.
pub(super) fn duration_ms(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

/// `2024-05-01T12:34:56.789Z`: RFC 3339 in UTC, milliseconds cut (not rounded). Times before
/// 1970 are written as the epoch, times after 9999 as the last millisecond of 9999.
pub(super) fn write_rfc3339_millis(out: &mut Vec<u8>, time: SystemTime) {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let time = i128::try_from(since_epoch.as_nanos())
        .ok()
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
        .unwrap_or(datetime!(9999-12-31 23:59:59.999 UTC));
    // Writing to a Vec cannot fail, nor can a format without time zone names.
    let _ = time.format_into(
        out,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(time: SystemTime) -> String {
        let mut out = Vec::new();
        write_rfc3339_millis(&mut out, time);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn formats_rfc3339_utc_with_milliseconds() {
        let at = |secs: u64, millis: u64| UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis);
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(at(1_709_251_199, 999)), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(at(1_735_689_600, 0)), "2025-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(4_102_444_800, 123)), "2100-01-01T00:00:00.123Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1 << 40)),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn writes_compact_json() -> Result<(), serde_json::Error> {
        let mut buf = Vec::new();
        JsonLine::new(&mut buf)
            .str("collection", "mem\"bers")
            .opt_str("route", None)
            .f64("duration_ms", duration_ms(Duration::from_micros(1_500_250)))
            .u64("count", 10)
            .trace_id("trace_id", TraceId::from(1u128))
            .span_id("span_id", SpanId::from(2u64))
            .finish();
        let text = String::from_utf8_lossy(&buf);
        assert_eq!(
            text,
            "{\"collection\":\"mem\\\"bers\",\"route\":null,\"duration_ms\":1500.25,\"count\":10,\
             \"trace_id\":\"00000000000000000000000000000001\",\"span_id\":\"0000000000000002\"}\n"
        );
        let _: serde_json::Value = serde_json::from_slice(&buf)?;
        Ok(())
    }
}
