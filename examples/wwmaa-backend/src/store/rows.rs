//! What the queries take and return: rows as the database holds them, members as the API
//! shows them, and the fields of a change.

use serde::{Deserialize, Serialize};

use crate::calendar;

/// A member as the database holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    /// Primary key.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Unique e-mail address.
    pub email: String,
    /// `active`, `lapsed` or `cancelled`.
    pub status: String,
    /// `standard`, `student`, `family` or `lifetime`.
    pub tier: String,
    /// Day the member joined.
    pub joined_on: i64,
    /// Last day covered by paid dues.
    pub dues_paid_until: i64,
    /// Day of the last dunning reminder, if any.
    pub last_reminder_on: Option<i64>,
}

/// A member as the API shows it, and as the cache stores it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Primary key.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Unique e-mail address.
    pub email: String,
    /// `active`, `lapsed` or `cancelled`.
    pub status: String,
    /// `standard`, `student`, `family` or `lifetime`.
    pub tier: String,
    /// `YYYY-MM-DD`.
    pub joined_on: String,
    /// `YYYY-MM-DD`.
    pub dues_paid_until: String,
    /// `YYYY-MM-DD`, or null.
    pub last_reminder_on: Option<String>,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            id: row.id,
            name: row.name,
            email: row.email,
            status: row.status,
            tier: row.tier,
            joined_on: calendar::format_day(row.joined_on),
            dues_paid_until: calendar::format_day(row.dues_paid_until),
            last_reminder_on: row.last_reminder_on.map(calendar::format_day),
        }
    }
}

/// Fields of a new member, validated.
#[derive(Debug, Clone)]
pub struct NewMember<'a> {
    /// Full name.
    pub name: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Status.
    pub status: &'a str,
    /// Tier.
    pub tier: &'a str,
    /// Day the dues are paid until.
    pub dues_paid_until: i64,
}

/// Fields to change on a member; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New e-mail address.
    pub email: Option<&'a str>,
    /// New status.
    pub status: Option<&'a str>,
    /// New tier.
    pub tier: Option<&'a str>,
    /// New last day covered by dues.
    pub dues_paid_until: Option<i64>,
}

/// Filters and page of the member list.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter<'a> {
    /// Only members with this status.
    pub status: Option<&'a str>,
    /// Only members of this tier.
    pub tier: Option<&'a str>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// A stored payment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    /// Primary key.
    pub id: i64,
    /// The paying member.
    pub member_id: i64,
    /// Amount in the currency's minor unit.
    pub amount_cents: i64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// The provider's status (`succeeded`, ...).
    pub status: String,
    /// The provider's ID for the payment.
    pub provider_reference: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// One day of the activity report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityDay {
    /// The day.
    pub day: i64,
    /// Events in the trailing [`ROLLING_DAYS`](super::ROLLING_DAYS) days.
    pub events: i64,
    /// Distinct members behind those events.
    pub active_members: i64,
}

/// A member the dunning job should remind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueMember {
    /// Primary key.
    pub id: i64,
    /// Where the reminder goes.
    pub email: String,
}
