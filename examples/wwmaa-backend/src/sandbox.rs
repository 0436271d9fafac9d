//! Stand-ins for Stripe, BeeHiiv, Cloudflare Stream and the AI registry, served by the same
//! process under `/sandbox/...`, so the service runs offline and its traces still show real
//! outgoing HTTP calls: the caller's CLIENT span, then the sandbox's SERVER span as its child
//! (the request carries `traceparent`, and the sandbox routes sit behind the same
//! `RequestTelemetry` middleware).
//!
//! Each answer takes 50% to 150% of `SANDBOX_LATENCY_MS`; a `SANDBOX_FAILURE_RATE` share of
//! them is a 503. The answers have the shape of the real APIs' (the fields this service reads).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use otelix_actix::json_error;
use serde::Deserialize;
use serde_json::json;

use crate::settings::Settings;

/// How the sandbox behaves.
#[derive(Debug, Clone, Copy)]
pub struct SandboxBehavior {
    latency: Duration,
    failure_rate: f64,
}

impl SandboxBehavior {
    /// The behaviour `SANDBOX_LATENCY_MS` and `SANDBOX_FAILURE_RATE` ask for.
    pub fn from_settings(settings: &Settings) -> Self {
        SandboxBehavior {
            latency: settings.sandbox_latency(),
            failure_rate: settings.sandbox_failure_rate(),
        }
    }

    /// Waits the simulated latency; `Some(503)` when this call is one that fails.
    async fn simulate(&self) -> Option<HttpResponse> {
        if !self.latency.is_zero() {
            let jitter = 0.5 + random_unit();
            actix_web::rt::time::sleep(self.latency.mul_f64(jitter)).await;
        }
        (self.failure_rate > 0.0 && random_unit() < self.failure_rate).then(|| {
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "sandbox failure (SANDBOX_FAILURE_RATE)",
            )
        })
    }
}

/// A number in `[0, 1)`. `RandomState` is seeded randomly and each instance differently, which
/// is all the randomness a latency jitter and a failure draw need.
fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // The top 53 bits fill an f64 mantissa exactly.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A random lowercase hex ID of `len` characters (at most 32).
fn random_id(len: usize) -> String {
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let b = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut id = format!("{a:016x}{b:016x}");
    id.truncate(len.min(32));
    id
}

/// Registers the sandbox routes under `/sandbox`.
pub fn routes(behavior: SandboxBehavior) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config.service(
            web::scope("/sandbox")
                .app_data(web::Data::new(behavior))
                .route(
                    "/stripe/v1/payment_intents",
                    web::post().to(stripe_payment_intent),
                )
                .route(
                    "/beehiiv/v2/subscriptions",
                    web::post().to(beehiiv_subscription),
                )
                .route(
                    "/beehiiv/v2/automations/{automation}/journeys",
                    web::post().to(beehiiv_journey),
                )
                .route(
                    "/cloudflare/stream/direct_upload",
                    web::post().to(cloudflare_direct_upload),
                )
                .route("/ai/v1/classify", web::post().to(ai_classify)),
        );
    }
}

#[derive(Deserialize)]
struct PaymentIntentRequest {
    amount: i64,
    currency: String,
}

async fn stripe_payment_intent(
    behavior: web::Data<SandboxBehavior>,
    body: web::Json<PaymentIntentRequest>,
) -> HttpResponse {
    if let Some(failure) = behavior.simulate().await {
        return failure;
    }
    if body.amount <= 0 {
        return json_error(StatusCode::BAD_REQUEST, "amount must be positive");
    }
    HttpResponse::Ok().json(json!({
        "id": format!("pi_sandbox_{}", random_id(24)),
        "object": "payment_intent",
        "amount": body.amount,
        "currency": body.currency,
        "status": "succeeded",
    }))
}

#[derive(Deserialize)]
struct EmailRequest {
    email: String,
}

async fn beehiiv_subscription(
    behavior: web::Data<SandboxBehavior>,
    body: web::Json<EmailRequest>,
) -> HttpResponse {
    if let Some(failure) = behavior.simulate().await {
        return failure;
    }
    HttpResponse::Created().json(json!({
        "data": {
            "id": format!("sub_{}", random_id(24)),
            "email": body.email,
            "status": "active",
        }
    }))
}

async fn beehiiv_journey(
    behavior: web::Data<SandboxBehavior>,
    body: web::Json<EmailRequest>,
) -> HttpResponse {
    if let Some(failure) = behavior.simulate().await {
        return failure;
    }
    HttpResponse::Created().json(json!({
        "data": {
            "id": format!("aj_{}", random_id(24)),
            "email": body.email,
            "status": "initiated",
        }
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectUploadRequest {
    max_duration_seconds: u32,
}

async fn cloudflare_direct_upload(
    behavior: web::Data<SandboxBehavior>,
    body: web::Json<DirectUploadRequest>,
) -> HttpResponse {
    if let Some(failure) = behavior.simulate().await {
        return failure;
    }
    let uid = random_id(32);
    HttpResponse::Ok().json(json!({
        "success": true,
        "errors": [],
        "result": {
            "uid": uid,
            "uploadURL": format!("https://upload.videodelivery.invalid/{uid}"),
            "maxDurationSeconds": body.max_duration_seconds,
        }
    }))
}

#[derive(Deserialize)]
struct ClassifyRequest {
    text: String,
}

async fn ai_classify(
    behavior: web::Data<SandboxBehavior>,
    body: web::Json<ClassifyRequest>,
) -> HttpResponse {
    if let Some(failure) = behavior.simulate().await {
        return failure;
    }
    let text = body.text.to_lowercase();
    let rules: [(&str, &[&str]); 4] = [
        ("billing", &["pay", "dues", "invoice", "refund", "card"]),
        ("events", &["event", "meetup", "tournament", "seminar"]),
        ("media", &["video", "photo", "stream", "upload"]),
        ("membership", &["join", "member", "renew", "cancel"]),
    ];
    let (label, hits) = rules
        .iter()
        .map(|(label, words)| (*label, words.iter().filter(|w| text.contains(*w)).count()))
        .max_by_key(|(_, hits)| *hits)
        .filter(|(_, hits)| *hits > 0)
        .unwrap_or(("general", 0));
    let confidence = ((0.55 + 0.15 * hits as f64).min(0.99) * 100.0).round() / 100.0;
    HttpResponse::Ok().json(json!({
        "label": label,
        "confidence": confidence,
        "model": "sandbox-keywords-v1",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_are_in_range_and_vary() {
        let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.35..0.65).contains(&mean), "{mean}");
        assert_ne!(random_id(32), random_id(32));
        assert_eq!(random_id(24).len(), 24);
    }
}
