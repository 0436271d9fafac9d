//! `/api/members`: create, read (through the cache), list, update, delete.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use otelix_actix::ApiError;
use serde::{Deserialize, Serialize};

use super::validate::{self, MemberStatus, Tier};
use crate::app::AppState;
use crate::calendar;
use crate::errors::{bad_request, database};
use crate::store::{is_unique_violation, Member, MemberChanges, MemberFilter, NewMember};

/// Largest page of the member list.
const MAX_PAGE: i64 = 100;
/// Largest offset of the member list: deep pages are a scan, not a feature.
const MAX_OFFSET: i64 = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateMember {
    name: String,
    email: String,
    status: Option<MemberStatus>,
    tier: Option<Tier>,
    dues_paid_until: Option<String>,
}

pub(super) async fn create(
    state: web::Data<AppState>,
    body: web::Json<CreateMember>,
) -> Result<HttpResponse, ApiError> {
    let dues_paid_until = match &body.dues_paid_until {
        Some(date) => validate::date("dues_paid_until", date)?,
        None => calendar::today() + 30,
    };
    let new = NewMember {
        name: validate::name("name", &body.name)?,
        email: validate::email(&body.email)?,
        status: body.status.unwrap_or(MemberStatus::Active).as_str(),
        tier: body.tier.unwrap_or(Tier::Standard).as_str(),
        dues_paid_until,
    };
    let row = state.store.create_member(&new).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "a member with this email already exists",
            )
        } else {
            database("creating a member failed", state.store.system(), &e)
        }
    })?;
    tracing::info!(member_id = row.id, "member created");
    let member = Member::from(row);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/members/{}", member.id)))
        .json(member))
}

/// Cache-aside: the cache first; on a miss the database, then the cache is filled.
pub(super) async fn get(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Member>, ApiError> {
    let id = id.into_inner();
    if let Some(member) = state.cache.get(id).await {
        return Ok(web::Json(member));
    }
    let row = state
        .store
        .member(id)
        .await
        .map_err(|e| database("reading a member failed", state.store.system(), &e))?
        .ok_or_else(|| ApiError::not_found("no such member"))?;
    let member = Member::from(row);
    state.cache.put(&member).await;
    Ok(web::Json(member))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<MemberStatus>,
    tier: Option<Tier>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize)]
pub(super) struct MemberPage {
    items: Vec<Member>,
    total: i64,
    limit: i64,
    offset: i64,
}

pub(super) async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<MemberPage>, ApiError> {
    let limit = validate::within("limit", query.limit.unwrap_or(20), 1, MAX_PAGE)?;
    let offset = validate::within("offset", query.offset.unwrap_or(0), 0, MAX_OFFSET)?;
    let filter = MemberFilter {
        status: query.status.map(MemberStatus::as_str),
        tier: query.tier.map(Tier::as_str),
        limit,
        offset,
    };
    let (rows, total) = state
        .store
        .members(&filter)
        .await
        .map_err(|e| database("listing members failed", state.store.system(), &e))?;
    Ok(web::Json(MemberPage {
        items: rows.into_iter().map(Member::from).collect(),
        total,
        limit,
        offset,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateMember {
    name: Option<String>,
    email: Option<String>,
    status: Option<MemberStatus>,
    tier: Option<Tier>,
    dues_paid_until: Option<String>,
}

pub(super) async fn update(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<UpdateMember>,
) -> Result<web::Json<Member>, ApiError> {
    let id = id.into_inner();
    let changes = MemberChanges {
        name: body
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?,
        email: body.email.as_deref().map(validate::email).transpose()?,
        status: body.status.map(MemberStatus::as_str),
        tier: body.tier.map(Tier::as_str),
        dues_paid_until: body
            .dues_paid_until
            .as_deref()
            .map(|d| validate::date("dues_paid_until", d))
            .transpose()?,
    };
    if changes.name.is_none()
        && changes.email.is_none()
        && changes.status.is_none()
        && changes.tier.is_none()
        && changes.dues_paid_until.is_none()
    {
        return Err(bad_request(
            "nothing to update: give at least one of name, email, status, tier, dues_paid_until",
        ));
    }
    let updated = state.store.update_member(id, &changes).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "a member with this email already exists",
            )
        } else {
            database("updating a member failed", state.store.system(), &e)
        }
    })?;
    state.cache.invalidate(id).await;
    let row = updated.ok_or_else(|| ApiError::not_found("no such member"))?;
    Ok(web::Json(Member::from(row)))
}

pub(super) async fn delete(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = state
        .store
        .delete_member(id)
        .await
        .map_err(|e| database("deleting a member failed", state.store.system(), &e))?;
    state.cache.invalidate(id).await;
    if deleted {
        tracing::info!(member_id = id, "member deleted");
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("no such member"))
    }
}
