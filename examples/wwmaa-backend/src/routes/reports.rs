//! `GET /api/reports/activity?window=N`: the heavy report, a slow query on demand.

use actix_web::web;
use otelix_actix::ApiError;
use serde::{Deserialize, Serialize};

use super::validate;
use crate::app::AppState;
use crate::calendar;
use crate::errors::database;
use crate::store::{MAX_REPORT_WINDOW_DAYS, ROLLING_DAYS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    window: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct ActivityReport {
    window: u32,
    rolling_days: i64,
    from: String,
    to: String,
    peak_events: i64,
    days: Vec<ReportDay>,
}

#[derive(Serialize)]
struct ReportDay {
    date: String,
    events: i64,
    active_members: i64,
}

/// Per day of the window (default 30, at most 1825), the activity of the trailing 90 days.
pub(super) async fn activity(
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<web::Json<ActivityReport>, ApiError> {
    let window = validate::within(
        "window",
        query.window.unwrap_or(30),
        1,
        MAX_REPORT_WINDOW_DAYS,
    )?;
    let rows = state
        .store
        .activity_report(window)
        .await
        .map_err(|e| database("the activity report failed", state.store.system(), &e))?;
    let to = calendar::today();
    let from = to - i64::from(window) + 1;
    Ok(web::Json(ActivityReport {
        window,
        rolling_days: ROLLING_DAYS,
        from: calendar::format_day(from),
        to: calendar::format_day(to),
        peak_events: rows.iter().map(|r| r.events).max().unwrap_or(0),
        days: rows
            .into_iter()
            .map(|r| ReportDay {
                date: calendar::format_day(r.day),
                events: r.events,
                active_members: r.active_members,
            })
            .collect(),
    }))
}
