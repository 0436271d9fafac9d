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
//!
//! | File | What |
//! |---|---|
//! | `mod.rs` | [`Store`], the instrumented pool |
//! | `open.rs` | connecting to SQLite (a file or memory) or PostgreSQL, then schema and seed |
//! | `schema.rs` | the tables and indexes, the one place the two databases differ |
//! | `seed.rs` | the deterministic seed data of an empty database |
//! | `queries.rs` | every query a request or the job runs |
//! | `rows.rs` | what the queries take and return ([`Member`], [`MemberRow`], ...) |
//! | `error.rs` | [`StoreError`], and which `sqlx` errors mean what |

mod error;
mod open;
mod queries;
mod rows;
mod schema;
mod seed;

pub use error::{is_unavailable, is_unique_violation, StoreError};
pub use rows::{
    ActivityDay, Member, MemberChanges, MemberFilter, MemberRow, NewMember, OverdueMember,
    PaymentRow,
};
pub use seed::{SEED_EVENTS_PER_MEMBER, SEED_MEMBERS};

use otelix::db::InstrumentedPool;
use sqlx::Any;

use crate::settings::DatabaseKind;

/// The widest `window` of the activity report, in days: the seed data covers it fully, so
/// the report's cost grows linearly up to here.
pub const MAX_REPORT_WINDOW_DAYS: u32 = 1825;
/// Each report day counts the events of the trailing `ROLLING_DAYS` days.
pub const ROLLING_DAYS: i64 = 90;

/// The instrumented database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: InstrumentedPool<Any>,
    kind: DatabaseKind,
}

impl Store {
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
}
