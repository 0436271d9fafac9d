//! W3C Trace Context propagation: `traceparent` and `tracestate` headers, read and written exactly
//! as [W3C Trace Context Level 1] says, plus adapters between OpenTelemetry's carrier traits and
//! [`http::HeaderMap`], and the sanitizer for client-supplied `X-Request-ID` values.
//!
//! The SDK ships a `TraceContextPropagator`, but it reads only the first `traceparent` value (so a
//! duplicated header is silently accepted) and takes any `tracestate` the `TraceState` type lets
//! through, with neither the list limits nor the full key and value grammar enforced. A service that
//! sits at the edge continues traces from untrusted callers, so this module applies the whole
//! specification instead; [`W3CTraceContextPropagator`] documents every decision and the section it
//! comes from.
//!
//! # Example
//!
//! ```
//! use http::HeaderMap;
//! use opentelemetry::propagation::TextMapPropagator;
//! use opentelemetry::trace::TraceContextExt;
//! use otelix::{HeaderExtractor, HeaderInjector, W3CTraceContextPropagator};
//!
//! let propagator = W3CTraceContextPropagator::new();
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?,
//! );
//! incoming.insert("tracestate", "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE".parse()?);
//!
//! let cx = propagator.extract(&HeaderExtractor(&incoming));
//! let parent = cx.span().span_context().clone();
//! assert!(parent.is_remote() && parent.is_sampled());
//! assert_eq!(parent.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = HeaderMap::new();
//! propagator.inject_context(&cx, &mut HeaderInjector(&mut outgoing));
//! assert_eq!(outgoing["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! assert_eq!(outgoing["tracestate"], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [W3C Trace Context Level 1]: https://www.w3.org/TR/trace-context-1/

mod headers;
mod request_id;
mod traceparent;
mod tracestate;

use std::sync::LazyLock;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry::Context;

pub use headers::{HeaderExtractor, HeaderInjector};
pub use request_id::sanitize_request_id;
use traceparent::{parse_traceparent, TraceparentError, SUPPORTED_VERSION};
use tracestate::{into_trace_state, parse_tracestate, tracestate_header};

const TRACEPARENT_HEADER: &str = "traceparent";
const TRACESTATE_HEADER: &str = "tracestate";

static FIELDS: LazyLock<[String; 2]> =
    LazyLock::new(|| [TRACEPARENT_HEADER.to_owned(), TRACESTATE_HEADER.to_owned()]);

/// Propagates span contexts in the `traceparent` and `tracestate` headers of
/// [W3C Trace Context Level 1](https://www.w3.org/TR/trace-context-1/).
///
/// Extraction yields a remote parent only from a `traceparent` that is valid in every respect;
/// otherwise the context passed in is returned unchanged and the request starts a new trace.
/// `tracestate` is read only after a valid `traceparent`, and a bad `tracestate` is dropped on its
/// own without costing the parent.
///
/// Decisions, with the part of the specification each follows:
///
/// - *traceparent Header Field Values*: every field is lowercase hex (`HEXDIGLC`); an all-zero
///   `trace-id` or `parent-id` is invalid; version `ff` is invalid; a version 00 value is exactly
///   55 characters. Leading and trailing optional whitespace (spaces and horizontal tabs) around
///   the value is tolerated: the ABNF describes the field value, and HTTP field parsing
///   (RFC 7230 section 3.2.4) does not count surrounding OWS as part of it, which is also what the
///   W3C test suite (`test_traceparent_ows_handling`) expects. Any other whitespace, or whitespace
///   inside the value, makes it invalid.
/// - *trace-flags*: only the `sampled` bit is interpreted and kept; "Other Flags" are reserved
///   and vendors MUST set them to zero, so they never reach the span context or the next hop.
/// - *Versioning of traceparent*: a higher version (01 to fe) must be at least 55 characters, and
///   if longer its 56th character must be `-`; only the first 55 characters are read, unknown
///   fields are ignored, and injection writes version 00.
/// - Duplicated `traceparent`: `traceparent` is not a list, so RFC 7230 section 3.2.2 forbids
///   sending it more than once; more than one value, or one value holding a comma (how
///   intermediaries combine duplicates), is treated as invalid, as the W3C test suite's
///   `test_traceparent_duplicated` expects.
/// - *tracestate Header Field Values*: several `tracestate` headers are combined in order, as if
///   joined with `,`. Members are trimmed of spaces and tabs; empty and whitespace-only members
///   are skipped and do not count towards the 32-member limit. Keys and values follow the Level 1
///   ABNF exactly (a value's leading spaces are part of it, trailing ones are OWS). A member
///   without `=`, an invalid key or value, a duplicated key ("Only one entry per key is allowed")
///   or more than 32 members makes the whole `tracestate` invalid, and it is dropped.
/// - *tracestate Limits*: the propagated `tracestate` is at most 512 characters, measured as it is
///   written back (`key=value` pairs joined by `,`, without OWS). When it is longer, entries over
///   128 characters are removed first, rightmost first, then entries from the end, until it fits.
///   The same normalisation applies on injection, so a `TraceState` edited in code never produces
///   a header that this propagator would refuse.
/// - `opentelemetry`'s `TraceState` rejects a multi-tenant key whose system part is the full 14
///   characters the grammar allows; it cannot hold such an entry, so that entry alone is left out
///   and the rest of the list is kept (deleting an entry is an allowed mutation).
#[derive(Clone, Copy, Debug, Default)]
pub struct W3CTraceContextPropagator {
    _private: (),
}

impl W3CTraceContextPropagator {
    /// Creates the propagator. It holds no state, so one instance can serve every request.
    pub const fn new() -> Self {
        Self { _private: () }
    }

    fn extract_span_context(extractor: &dyn Extractor) -> Result<SpanContext, TraceparentError> {
        let traceparent = extractor.get_all(TRACEPARENT_HEADER).unwrap_or_default();
        let (trace_id, span_id, trace_flags) = parse_traceparent(&traceparent)?;

        // "If the vendor failed to parse traceparent, it MUST NOT attempt to parse tracestate",
        // hence only here; and a failure below must not cost the parent, hence no `?`.
        let trace_state = extractor
            .get_all(TRACESTATE_HEADER)
            .and_then(|values| parse_tracestate(&values).ok())
            .map_or(TraceState::NONE, into_trace_state);

        Ok(SpanContext::new(
            trace_id,
            span_id,
            trace_flags,
            true,
            trace_state,
        ))
    }
}

impl TextMapPropagator for W3CTraceContextPropagator {
    /// Writes `traceparent` (version 00, only the `sampled` flag) and, when it has members,
    /// `tracestate`, for the span in `cx`; writes nothing when that span context is invalid.
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(
            TRACEPARENT_HEADER,
            format!(
                "{SUPPORTED_VERSION:02x}-{}-{}-{:02x}",
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags() & TraceFlags::SAMPLED,
            ),
        );
        // "Vendors ... SHOULD avoid sending" empty tracestate headers.
        if let Some(tracestate) = tracestate_header(span_context.trace_state()) {
            injector.set(TRACESTATE_HEADER, tracestate);
        }
    }

    /// Returns `cx` with the remote parent described by the carrier's `traceparent` and
    /// `tracestate`, or `cx` unchanged when there is no valid `traceparent`.
    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match Self::extract_span_context(extractor) {
            Ok(span_context) => cx.with_remote_span_context(span_context),
            Err(_) => cx.clone(),
        }
    }

    /// `traceparent` and `tracestate`.
    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// Strips HTTP optional whitespace (RFC 7230 section 3.2.3: spaces and horizontal tabs).
fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// The propagator otelix installs globally and uses for incoming and outgoing requests:
/// [`W3CTraceContextPropagator`] and the SDK's W3C Baggage propagator.
pub fn propagator() -> opentelemetry::propagation::TextMapCompositePropagator {
    opentelemetry::propagation::TextMapCompositePropagator::new(vec![
        Box::new(W3CTraceContextPropagator::new()),
        Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
    ])
}

#[cfg(test)]
mod tests;
