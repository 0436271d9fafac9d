//! What the integration suites (`integration`, `stack`) share: whether they run, the variables
//! `scripts/integration.sh` sets, their `ok` lines and the OTLP transport of a run.

/// Whether the suites run against real peers: `OTELIX_INTEGRATION=1`, which
/// `scripts/integration.sh` sets. Otherwise the test says it is skipped, so that a plain
/// `cargo test` passes on a machine without the peers.
pub(crate) fn integration_enabled() -> bool {
    if std::env::var("OTELIX_INTEGRATION").as_deref() == Ok("1") {
        true
    } else {
        eprintln!("skipped: the integration suites run with scripts/integration.sh");
        false
    }
}

/// A variable `scripts/integration.sh` sets (a peer's binary, a backend's URL); a panic naming
/// it when it is missing or empty.
pub(crate) fn integration_var(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: scripts/integration.sh sets it"))
}

/// `DATABASE_URL`, which must be PostgreSQL for the integration suites.
pub(crate) fn integration_database_url() -> String {
    let database_url = integration_var("DATABASE_URL");
    assert!(
        database_url.starts_with("postgres"),
        "DATABASE_URL must be PostgreSQL: {database_url}"
    );
    database_url
}

/// One passed check: a line `scripts/integration.sh` collects into its summary.
pub(crate) fn ok(check: &str) {
    println!("ok    {check}");
}

/// The OTLP transport a service exports over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub(crate) fn otel_name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}
