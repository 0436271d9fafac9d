//! The endpoints that call external services: payments (`stripe`), newsletter (`beehiiv`),
//! video uploads (`cloudflare`) and classification (`ai_registry`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use otelix_actix::ApiError;
use serde::{Deserialize, Serialize};

use super::validate;
use crate::app::AppState;
use crate::errors::database;
use crate::external::Classification;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreatePayment {
    member_id: i64,
    amount_cents: i64,
    currency: Option<String>,
}

#[derive(Serialize)]
struct Payment {
    id: i64,
    member_id: i64,
    amount_cents: i64,
    currency: String,
    status: String,
    provider_reference: String,
    created_at: i64,
}

/// Charges a member through Stripe, stores the payment and extends the member's dues.
pub(super) async fn create_payment(
    state: web::Data<AppState>,
    body: web::Json<CreatePayment>,
) -> Result<HttpResponse, ApiError> {
    let amount = validate::within("amount_cents", body.amount_cents, 50, 100_000_000)?;
    let currency = validate::currency(body.currency.as_deref().unwrap_or("usd"))?;
    let member = state
        .store
        .member(body.member_id)
        .await
        .map_err(|e| database("reading a member failed", state.store.system(), &e))?
        .ok_or_else(|| ApiError::not_found("no such member"))?;
    let intent = state
        .external
        .create_payment_intent(member.id, amount, &currency)
        .await
        .map_err(crate::external::ExternalError::into_api_error)?;
    let row = state
        .store
        .record_payment(&member, amount, &currency, &intent.status, &intent.id)
        .await
        .map_err(|e| database("storing a payment failed", state.store.system(), &e))?;
    state.cache.invalidate(member.id).await;
    tracing::info!(member_id = member.id, payment_id = row.id, status = %row.status, "payment recorded");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/payments/{}", row.id)))
        .json(Payment {
            id: row.id,
            member_id: row.member_id,
            amount_cents: row.amount_cents,
            currency: row.currency,
            status: row.status,
            provider_reference: row.provider_reference,
            created_at: row.created_at,
        }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Subscribe {
    email: String,
}

#[derive(Serialize)]
struct Subscribed {
    subscription_id: String,
    status: String,
}

/// Subscribes an address to the newsletter through BeeHiiv.
pub(super) async fn subscribe(
    state: web::Data<AppState>,
    body: web::Json<Subscribe>,
) -> Result<HttpResponse, ApiError> {
    let email = validate::email(&body.email)?;
    let subscription = state
        .external
        .subscribe(email)
        .await
        .map_err(crate::external::ExternalError::into_api_error)?;
    Ok(HttpResponse::Created().json(Subscribed {
        subscription_id: subscription.id,
        status: subscription.status,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UploadRequest {
    name: String,
    max_duration_seconds: Option<u32>,
}

#[derive(Serialize)]
struct UploadSlot {
    video_id: String,
    upload_url: String,
}

/// Reserves a direct-upload URL on Cloudflare Stream.
pub(super) async fn create_upload_url(
    state: web::Data<AppState>,
    body: web::Json<UploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = validate::name("name", &body.name)?;
    let max_duration = validate::within(
        "max_duration_seconds",
        body.max_duration_seconds.unwrap_or(3600),
        1,
        21_600,
    )?;
    let upload = state
        .external
        .direct_upload(name, max_duration)
        .await
        .map_err(crate::external::ExternalError::into_api_error)?;
    Ok(HttpResponse::Created().json(UploadSlot {
        video_id: upload.uid,
        upload_url: upload.upload_url,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClassifyRequest {
    text: String,
}

/// Classifies a text through the AI registry.
pub(super) async fn classify(
    state: web::Data<AppState>,
    body: web::Json<ClassifyRequest>,
) -> Result<web::Json<Classification>, ApiError> {
    let text = validate::text("text", &body.text, 5000)?;
    state
        .external
        .classify(text)
        .await
        .map(web::Json)
        .map_err(crate::external::ExternalError::into_api_error)
}
