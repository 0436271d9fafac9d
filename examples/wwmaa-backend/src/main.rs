//! wwmaa-backend: the members' association service, instrumented with otelix.
//!
//! `cargo run -p wwmaa-backend` runs it offline on http://127.0.0.1:8000 (SQLite in ./data,
//! in-process cache, sandboxed external APIs). Configuration: the variables in the example's
//! README and otelix's own. Ctrl-C or SIGTERM: in-flight requests finish, the job stops at a
//! safe point, telemetry is flushed; a second signal stops at once.

use std::process::ExitCode;

use anyhow::Context as _;
use wwmaa_backend::{Application, Settings};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line with the causes, no backtrace (whatever RUST_BACKTRACE says).
            eprintln!("wwmaa-backend: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let config = telemetry_config()?;
    let telemetry = otelix::init(config).context("telemetry set-up failed")?;
    let served = actix_web::rt::System::new().block_on(serve(settings, telemetry.handle()));
    // What was delivered and what was lost (and why) is logged; an unreachable collector is
    // not a failure of the service, so it does not change the exit status.
    telemetry.shutdown()?.log();
    served
}

/// The error and its causes, each said once (some errors repeat their source's text).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// otelix's configuration from the environment, named `wwmaa-backend` unless the environment
/// names the service itself.
fn telemetry_config() -> Result<otelix::Config, otelix::ConfigError> {
    otelix::Config::builder()
        .with_default_service_name("wwmaa-backend")
        .with_service_version(env!("CARGO_PKG_VERSION"))
        .build()
}

async fn serve(settings: Settings, telemetry: otelix::TelemetryHandle) -> anyhow::Result<()> {
    let app = Application::build(settings, telemetry).await?;
    println!("{}", app.startup_summary());
    let running = app.start()?;
    let trigger = running.shutdown_trigger();
    actix_web::rt::spawn(async move {
        let signal = match shutdown_signal().await {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot listen for shutdown signals");
                return;
            }
        };
        tracing::info!(
            signal,
            "shutting down: finishing in-flight requests and the job's current step (signal again to stop at once)"
        );
        let force = trigger.clone();
        actix_web::rt::spawn(async move {
            if shutdown_signal().await.is_ok() {
                tracing::warn!("second signal: stopping now");
                force.immediate().await;
            }
        });
        trigger.graceful().await;
    });
    running.wait().await.context("the HTTP server failed")?;
    tracing::info!("stopped; flushing telemetry");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT"),
            _ = terminate.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}
