//! The HTTP API. Handlers return `Result<_, ApiError>`; every error body carries the request
//! ID (see [`crate::errors`]).

mod integrations;
mod members;
mod reports;
mod validate;

use actix_web::{web, HttpResponse};

use crate::errors;

/// Registers `/health` and the `/api` routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/health", web::get().to(health))
        .service(
            web::resource("/api/members")
                .route(web::get().to(members::list))
                .route(web::post().to(members::create))
                .default_service(web::to(errors::method_not_allowed)),
        )
        .service(
            web::resource("/api/members/{id}")
                .route(web::get().to(members::get))
                .route(web::patch().to(members::update))
                .route(web::delete().to(members::delete))
                .default_service(web::to(errors::method_not_allowed)),
        )
        .service(post_only("/api/payments", integrations::create_payment))
        .service(post_only(
            "/api/newsletter/subscribe",
            integrations::subscribe,
        ))
        .service(post_only(
            "/api/videos/upload-url",
            integrations::create_upload_url,
        ))
        .service(post_only("/api/ai/classify", integrations::classify))
        .service(
            web::resource("/api/reports/activity")
                .route(web::get().to(reports::activity))
                .default_service(web::to(errors::method_not_allowed)),
        );
}

fn post_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(errors::method_not_allowed))
}

/// Liveness: no dependency is checked, so a slow database never gets the process restarted.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
