//! The database: schema, seed data and every query the service runs.
//!
//! One code path serves SQLite and PostgreSQL: the pool is a `sqlx::Any` pool wrapped in
//! otelix's [`InstrumentedPool`], so every query is a CLIENT span and a
//! `db.client.operation.duration` point. Queries use `$N` placeholders, which both databases
//! understand; dates are whole days since 1970-01-01 and times are Unix seconds, stored as
//! `BIGINT`, so no type needs a per-database mapping. Only the `CREATE TABLE` statements differ
//! (how an auto-incrementing key is spelled).
//!
//! Schema creation and seeding run at start-up through the bare pool (one transaction, no
//! request to attach spans to); everything else goes through the instrumented pool.

use std::time::Duration;

use otelix::db::InstrumentedPool;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection as _};

use crate::calendar;
use crate::settings::{DatabaseKind, DatabaseUrl};

/// The widest `window` of the activity report, in days: the seed data covers it fully, so
/// the report's cost grows linearly up to here.
pub const MAX_REPORT_WINDOW_DAYS: u32 = 1825;
/// Each report day counts the events of the trailing `ROLLING_DAYS` days.
pub const ROLLING_DAYS: i64 = 90;
/// Members seeded into an empty database.
pub const SEED_MEMBERS: usize = 300;
/// Activity events seeded per member, spread over the report's whole range.
pub const SEED_EVENTS_PER_MEMBER: usize = 60;

/// Why the database could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite file's directory could not be created.
    #[error("cannot create the directory {path} for the SQLite database")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No connection could be opened.
    #[error("cannot connect to the database {url}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// What sqlx said.
        source: sqlx::Error,
    },
    /// Creating the schema or seeding failed.
    #[error("cannot prepare the database schema and seed data: {0}")]
    Schema(sqlx::Error),
}

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
    /// Events in the trailing [`ROLLING_DAYS`] days.
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

macro_rules! member_columns {
    () => {
        "id, name, email, status, tier, joined_on, dues_paid_until, last_reminder_on"
    };
}

/// The instrumented database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: InstrumentedPool<Any>,
    kind: DatabaseKind,
}

impl Store {
    /// Connects, creates the schema when missing and seeds an empty database. A query waits
    /// at most `acquire_timeout` for a connection: while the database is unreachable, the pool
    /// retries connecting until then, and the query fails with [`sqlx::Error::PoolTimedOut`].
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database cannot be reached or prepared.
    pub async fn open(
        url: &DatabaseUrl,
        max_connections: u32,
        acquire_timeout: Duration,
        telemetry: &otelix::TelemetryHandle,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut connect_url = url.as_secret_str().to_owned();
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout);
        if url.kind() == DatabaseKind::Sqlite {
            if let Some(path) = url.sqlite_path() {
                create_parent_dir(path)?;
                if !connect_url.contains("mode=") {
                    connect_url.push_str(if connect_url.contains('?') {
                        "&mode=rwc"
                    } else {
                        "?mode=rwc"
                    });
                }
            } else {
                // Every connection of `sqlite::memory:` would be a database of its own, and
                // the database goes with its last connection: keep exactly one, forever.
                options = options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
        }
        // One plain connection first: a pool that cannot connect only says it timed out,
        // while the connection says why (refused, unknown host, authentication).
        let probe = sqlx::AnyConnection::connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.display(),
                source,
            })?;
        let _ = probe.close().await;
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.display(),
                source,
            })?;
        create_schema(&pool, url.kind())
            .await
            .map_err(StoreError::Schema)?;
        seed(&pool).await.map_err(StoreError::Schema)?;
        Ok(Store {
            db: InstrumentedPool::new(pool, telemetry),
            kind: url.kind(),
        })
    }

    /// SQLite or PostgreSQL.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The database's `db.system.name`: `sqlite` or `postgresql`, for log lines.
    pub fn system(&self) -> &'static str {
        match self.kind {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgresql",
        }
    }

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

/// Whether `error` is a unique-constraint violation (a taken e-mail address).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Whether `error` says the database could not be reached, rather than that a query failed:
/// no connection within the acquire timeout, a connection that broke, or PostgreSQL refusing
/// work while it shuts down or starts (SQLSTATE class 08, and 57P01 to 57P05).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

fn create_parent_dir(path: &str) -> Result<(), StoreError> {
    let parent = std::path::Path::new(path).parent();
    match parent {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

async fn create_schema(pool: &AnyPool, kind: DatabaseKind) -> Result<(), sqlx::Error> {
    let key = match kind {
        DatabaseKind::Sqlite => "id INTEGER PRIMARY KEY",
        DatabaseKind::Postgres => "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    let statements = [
        "CREATE TABLE IF NOT EXISTS app_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)".to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS members ({key}, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
             status TEXT NOT NULL, tier TEXT NOT NULL, joined_on BIGINT NOT NULL,
             dues_paid_until BIGINT NOT NULL, last_reminder_on BIGINT,
             created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS payments ({key},
             member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
             amount_cents BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL,
             provider_reference TEXT NOT NULL, created_at BIGINT NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS activity_events ({key},
             member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
             kind TEXT NOT NULL, occurred_on BIGINT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS activity_events_occurred_on ON activity_events (occurred_on)".to_owned(),
        "CREATE INDEX IF NOT EXISTS activity_events_member_id ON activity_events (member_id)".to_owned(),
        "CREATE INDEX IF NOT EXISTS payments_member_id ON payments (member_id)".to_owned(),
        "CREATE INDEX IF NOT EXISTS members_dues ON members (status, dues_paid_until)".to_owned(),
    ];
    for statement in statements {
        sqlx::query(AssertSqlSafe(statement)).execute(pool).await?;
    }
    Ok(())
}

/// A small deterministic generator (SplitMix64), so every fresh database holds the same data.
struct SeedRng(u64);

impl SeedRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(index).copied().unwrap_or_default()
    }

    fn days(&mut self, n: i64) -> i64 {
        i64::try_from(self.below(u64::try_from(n.max(1)).unwrap_or(1))).unwrap_or(0)
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Linus",
    "Sophie",
    "Niklaus",
    "Joan",
    "Claude",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Torvalds",
    "Wilson",
    "Wirth",
    "Clarke",
    "Shannon",
];
const EVENT_KINDS: &[&str] = &[
    "login",
    "event_rsvp",
    "video_view",
    "newsletter_open",
    "forum_post",
];

/// Rows per multi-row INSERT: well under both databases' bound-parameter limits.
const SEED_CHUNK: usize = 500;

/// Seeds members and activity events, once per database: the first instance to insert the
/// `seeded` marker does it, in the same transaction, so concurrent starts cannot seed twice.
async fn seed(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query(
        "INSERT INTO app_meta (key, value) VALUES ('seeded', '1') ON CONFLICT (key) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return tx.commit().await;
    }
    let today = calendar::today();
    let now = calendar::now_seconds();
    let mut rng = SeedRng(0x5EED_F00D);

    let mut ids = Vec::with_capacity(SEED_MEMBERS);
    for chunk_start in (0..SEED_MEMBERS).step_by(SEED_CHUNK) {
        let chunk = chunk_start..(chunk_start + SEED_CHUNK).min(SEED_MEMBERS);
        let mut sql = String::from(
            "INSERT INTO members (name, email, status, tier, joined_on, dues_paid_until, created_at, updated_at) VALUES ",
        );
        let columns = 8;
        for (row, _) in chunk.clone().enumerate() {
            if row > 0 {
                sql.push_str(", ");
            }
            let base = row * columns;
            let placeholders: Vec<String> =
                (1..=columns).map(|c| format!("${}", base + c)).collect();
            sql.push('(');
            sql.push_str(&placeholders.join(", "));
            sql.push(')');
        }
        sql.push_str(" RETURNING id");
        let mut query = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql));
        for n in chunk {
            let first = rng.pick(FIRST_NAMES);
            let last = rng.pick(LAST_NAMES);
            let status = match rng.below(100) {
                0..=79 => "active",
                80..=91 => "lapsed",
                _ => "cancelled",
            };
            let tier = match rng.below(10) {
                0..=5 => "standard",
                6..=7 => "student",
                8 => "family",
                _ => "lifetime",
            };
            // Active members are paid up to a year ahead; about one in seven is overdue.
            let dues_paid_until = match status {
                "active" => today - 60 + rng.days(425),
                _ => today - 30 - rng.days(700),
            };
            query = query
                .bind(format!("{first} {last}"))
                .bind(format!(
                    "{}.{}{}@members.example.org",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase(),
                    n + 1
                ))
                .bind(status)
                .bind(tier)
                .bind(today - 30 - rng.days(5 * 365))
                .bind(dues_paid_until)
                .bind(now)
                .bind(now);
        }
        for (id,) in query.fetch_all(&mut *tx).await? {
            ids.push(id);
        }
    }

    let span = i64::from(MAX_REPORT_WINDOW_DAYS) + ROLLING_DAYS;
    let total_events = ids.len() * SEED_EVENTS_PER_MEMBER;
    for chunk_start in (0..total_events).step_by(SEED_CHUNK) {
        let rows = (total_events - chunk_start).min(SEED_CHUNK);
        let mut sql =
            String::from("INSERT INTO activity_events (member_id, kind, occurred_on) VALUES ");
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            let base = row * 3;
            sql.push_str(&format!("(${}, ${}, ${})", base + 1, base + 2, base + 3));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for _ in 0..rows {
            let member = ids
                .get(usize::try_from(rng.below(ids.len() as u64)).unwrap_or(0))
                .copied()
                .unwrap_or(1);
            query = query
                .bind(member)
                .bind(rng.pick(EVENT_KINDS))
                .bind(today - rng.days(span));
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}
