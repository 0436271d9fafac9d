//! Every query a request or the dunning job runs, through the instrumented pool: each one is
//! a CLIENT span and a `db.client.operation.duration` point.

use super::{
    ActivityDay, MemberChanges, MemberFilter, MemberRow, NewMember, OverdueMember, PaymentRow,
    Store, ROLLING_DAYS,
};
use crate::calendar;

macro_rules! member_columns {
    () => {
        "id, name, email, status, tier, joined_on, dues_paid_until, last_reminder_on"
    };
}

impl Store {
    /// The member with `id`.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn member(&self, id: i64) -> Result<Option<MemberRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM members WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db)
        .await
    }

    /// One page of members matching `filter`, and how many match in all.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn members(
        &self,
        filter: &MemberFilter<'_>,
    ) -> Result<(Vec<MemberRow>, i64), sqlx::Error> {
        let rows = sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM members WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR tier = $2)",
            " ORDER BY id LIMIT $3 OFFSET $4"
        ))
        .bind(filter.status)
        .bind(filter.tier)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(&self.db)
        .await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM members WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR tier = $2)",
        )
        .bind(filter.status)
        .bind(filter.tier)
        .fetch_one(&self.db)
        .await?;
        Ok((rows, total))
    }

    /// Inserts a member.
    ///
    /// # Errors
    ///
    /// What the database reports; a unique violation when the e-mail address is taken.
    pub async fn create_member(&self, member: &NewMember<'_>) -> Result<MemberRow, sqlx::Error> {
        let now = calendar::now_seconds();
        sqlx::query_as(concat!(
            "INSERT INTO members (name, email, status, tier, joined_on, dues_paid_until, created_at, updated_at)",
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
            member_columns!()
        ))
        .bind(member.name)
        .bind(member.email)
        .bind(member.status)
        .bind(member.tier)
        .bind(calendar::today())
        .bind(member.dues_paid_until)
        .bind(now)
        .fetch_one(&self.db)
        .await
    }

    /// Changes a member; `None` when there is no member `id`.
    ///
    /// # Errors
    ///
    /// What the database reports; a unique violation when the new e-mail address is taken.
    pub async fn update_member(
        &self,
        id: i64,
        changes: &MemberChanges<'_>,
    ) -> Result<Option<MemberRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "UPDATE members SET name = COALESCE($1, name), email = COALESCE($2, email),",
            " status = COALESCE($3, status), tier = COALESCE($4, tier),",
            " dues_paid_until = COALESCE($5, dues_paid_until), updated_at = $6",
            " WHERE id = $7 RETURNING ",
            member_columns!()
        ))
        .bind(changes.name)
        .bind(changes.email)
        .bind(changes.status)
        .bind(changes.tier)
        .bind(changes.dues_paid_until)
        .bind(calendar::now_seconds())
        .bind(id)
        .fetch_optional(&self.db)
        .await
    }

    /// Deletes a member with its payments and activity; `false` when there was none.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn delete_member(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM members WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a payment and extends the member's dues by a year from the later of today and
    /// the current end.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn record_payment(
        &self,
        member: &MemberRow,
        amount_cents: i64,
        currency: &str,
        status: &str,
        provider_reference: &str,
    ) -> Result<PaymentRow, sqlx::Error> {
        let payment = sqlx::query_as(
            "INSERT INTO payments (member_id, amount_cents, currency, status, provider_reference, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, member_id, amount_cents, currency, status, provider_reference, created_at",
        )
        .bind(member.id)
        .bind(amount_cents)
        .bind(currency)
        .bind(status)
        .bind(provider_reference)
        .bind(calendar::now_seconds())
        .fetch_one(&self.db)
        .await?;
        if status == "succeeded" {
            let paid_until = member.dues_paid_until.max(calendar::today()) + 365;
            sqlx::query(
                "UPDATE members SET dues_paid_until = $1, status = 'active', updated_at = $2 WHERE id = $3",
            )
            .bind(paid_until)
            .bind(calendar::now_seconds())
            .bind(member.id)
            .execute(&self.db)
            .await?;
        }
        Ok(payment)
    }

    /// The activity report: for each of the `window` days ending today, the events and
    /// distinct members of the trailing [`ROLLING_DAYS`] days.
    ///
    /// Deliberately heavy: a recursive CTE generates the days, and each day joins the events
    /// of its rolling range, so the rows read grow linearly with `window`. The largest window
    /// is the easiest way to produce a slow query on demand.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn activity_report(&self, window: u32) -> Result<Vec<ActivityDay>, sqlx::Error> {
        let last = calendar::today();
        let first = last - i64::from(window) + 1;
        sqlx::query_as(
            "WITH RECURSIVE days (day) AS (
                 SELECT CAST($1 AS BIGINT)
                 UNION ALL
                 SELECT day + 1 FROM days WHERE day < $2
             )
             SELECT days.day AS day,
                    COUNT(activity_events.id) AS events,
                    COUNT(DISTINCT activity_events.member_id) AS active_members
             FROM days
             LEFT JOIN activity_events
                    ON activity_events.occurred_on > days.day - $3
                   AND activity_events.occurred_on <= days.day
             GROUP BY days.day
             ORDER BY days.day",
        )
        .bind(first)
        .bind(last)
        .bind(ROLLING_DAYS)
        .fetch_all(&self.db.with_collection("activity_events"))
        .await
    }

    /// Up to `limit` active members whose dues ran out before today and who were not reminded
    /// in the last week, with IDs above `after_id`, in ID order.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn overdue_members(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<OverdueMember>, sqlx::Error> {
        let today = calendar::today();
        sqlx::query_as(
            "SELECT id, email FROM members
             WHERE status = 'active' AND dues_paid_until < $1
               AND (last_reminder_on IS NULL OR last_reminder_on <= $2)
               AND id > $3
             ORDER BY id LIMIT $4",
        )
        .bind(today)
        .bind(today - 7)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await
    }

    /// Notes that member `id` was reminded today.
    ///
    /// # Errors
    ///
    /// What the database reports.
    pub async fn mark_reminded(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE members SET last_reminder_on = $1 WHERE id = $2")
            .bind(calendar::today())
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(())
    }
}
