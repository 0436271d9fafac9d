//! wwmaa-backend: the members' association service, instrumented with otelix.
//!
//! Runs offline with embedded defaults: `cargo run -p wwmaa-backend`.

use actix_web::{get, web, App, HttpResponse, HttpServer, Responder};
use anyhow::Context as _;

#[get("/health")]
async fn health() -> impl Responder {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn metrics(handle: web::Data<otelix::TelemetryHandle>) -> HttpResponse {
    match handle.render_prometheus() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(otelix::RenderError::Disabled) => HttpResponse::NotFound().finish(),
        Err(error) => {
            tracing::error!(%error, "rendering /metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn main() -> anyhow::Result<()> {
    let config = otelix::Config::builder()
        .with_service_name("wwmaa-backend")
        .with_service_version(env!("CARGO_PKG_VERSION"))
        .build()
        .context("invalid telemetry configuration")?;
    let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let telemetry = otelix::init(config).context("telemetry set-up failed")?;
    let handle = telemetry.handle();
    let cfg = handle.config();
    println!(
        "wwmaa-backend listening on http://{bind}\n  telemetry: OTLP {} -> {}\n  metrics:   {}\n  env:       {}",
        cfg.protocol().as_str(),
        cfg.traces_endpoint(),
        if cfg.prometheus_enabled() { cfg.metrics_path() } else { "(disabled)" },
        cfg.environment().as_str(),
    );
    let metrics_path = cfg.metrics_path().to_owned();

    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(handle.clone()))
                .service(health)
                .route(&metrics_path, web::get().to(metrics))
        })
        .bind(&bind)
        .with_context(|| format!("cannot listen on {bind} (BIND_ADDR)"))?
        .run()
        .await
        .context("server failed")
    })?;
    telemetry.shutdown().context("telemetry flush at exit")?;
    Ok(())
}
