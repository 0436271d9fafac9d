//! What `cache`, `external` and `jobs` share: where their tracer and meter come from, and how an
//! error's type becomes a bounded `error.type` value.
//!
//! Every tracker is built either from a `TelemetryHandle`
//! (explicit, no globals: what services and tests should use) or from the process-wide providers
//! that `otelix::init` installs (what the attribute macros use, since generated code has no handle
//! to pass).

use std::sync::Arc;

use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::Meter;
use opentelemetry::InstrumentationScope;

/// A tracer of either origin behind one type; cloning shares it.
pub(crate) type SharedTracer = Arc<BoxedTracer>;

/// The tracer and meter an instrumented component records with.
#[derive(Clone, Debug)]
pub(crate) struct Providers {
    pub(crate) tracer: SharedTracer,
    pub(crate) meter: Meter,
}

impl Providers {
    /// otelix's own tracer and meter, as configured in `telemetry`.
    pub(crate) fn from_handle(telemetry: &crate::TelemetryHandle) -> Self {
        Self {
            tracer: Arc::new(BoxedTracer::new(Box::new(telemetry.tracer().clone()))),
            meter: telemetry.meter().clone(),
        }
    }

    /// A tracer and meter of the process-wide providers as they are now. Instruments created
    /// from them stay bound to those providers, so callers build these after `otelix::init`.
    pub(crate) fn global() -> Self {
        let scope = scope();
        Self {
            tracer: Arc::new(opentelemetry::global::tracer_with_scope(scope.clone())),
            meter: opentelemetry::global::meter_with_scope(scope),
        }
    }
}

/// The instrumentation scope of the global-provider path: the same as the handle's, so both
/// paths produce identical telemetry.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(crate::SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Bucket advice for duration histograms, for meter providers without otelix's seconds view.
pub(crate) fn duration_buckets() -> Vec<f64> {
    crate::DURATION_BUCKETS_SECONDS.to_vec()
}

/// The type name of `T` with every module path removed: `my_app::billing::StripeError` becomes
/// `StripeError`, `alloc::boxed::Box<dyn core::error::Error + core::marker::Send>` becomes
/// `Box<dyn Error + Send>`. Bounded by the program's types, never by data, so it is safe as an
/// `error.type` value.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    strip_paths(std::any::type_name::<T>())
}

fn strip_paths(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            // `segment` was a path prefix: drop it.
            chars.next();
            segment.clear();
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    mod billing {
        #[derive(Debug)]
        pub(crate) struct StripeError;
    }

    #[test]
    fn short_type_name_drops_module_paths() {
        assert_eq!(short_type_name::<billing::StripeError>(), "StripeError");
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(short_type_name::<&str>(), "&str");
        assert_eq!(
            short_type_name::<Box<dyn std::error::Error + Send + Sync>>(),
            "Box<dyn Error + Send + Sync>"
        );
        assert_eq!(
            short_type_name::<Result<u8, billing::StripeError>>(),
            "Result<u8, StripeError>"
        );
        assert_eq!(short_type_name::<(u8, Vec<i32>)>(), "(u8, Vec<i32>)");
    }

    #[test]
    fn strip_paths_keeps_names_without_paths() {
        assert_eq!(strip_paths("Plain"), "Plain");
        assert_eq!(strip_paths(""), "");
        assert_eq!(strip_paths("a::b::C<d::E, [f::G; 2]>"), "C<E, [G; 2]>");
    }
}
