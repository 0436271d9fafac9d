//! The seed data of an empty database: members and their activity, the same in every fresh
//! database.

use sqlx::{AnyPool, AssertSqlSafe};

use super::{MAX_REPORT_WINDOW_DAYS, ROLLING_DAYS};
use crate::calendar;

/// Members seeded into an empty database.
pub const SEED_MEMBERS: usize = 300;
/// Activity events seeded per member, spread over the report's whole range.
pub const SEED_EVENTS_PER_MEMBER: usize = 60;

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
pub(super) async fn seed(pool: &AnyPool) -> Result<(), sqlx::Error> {
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
