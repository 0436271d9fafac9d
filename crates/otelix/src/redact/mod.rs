//! Keeping secrets out of telemetry: URLs and query strings with credentials replaced by
//! [`REDACTED`] before they become span attributes. Shared by the outgoing-call
//! instrumentation (`url.full`) and the HTTP middleware (`url.query`). SQL literals are the
//! [`sql`](crate::sql) module's.

mod url;

pub use self::url::{redact_query, redact_url, REDACTED, SENSITIVE_QUERY_KEYS};
