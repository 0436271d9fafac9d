//! The `dunning_reminder` background job: every `DUNNING_INTERVAL_SECONDS`, find active
//! members whose dues ran out (and who were not reminded in the last week) and enrol each in
//! the BeeHiiv reminder automation.
//!
//! Each run is tracked by otelix's `JobTracker`: a root span of its own (`dunning_reminder`,
//! with the database and `beehiiv` CLIENT spans below it), `otelix.job.duration`,
//! `otelix.job.runs` and `otelix.job.last_success_timestamp`.
//!
//! A run is bounded: at most [`MAX_BATCHES_PER_RUN`] batches of `DUNNING_BATCH_SIZE` members.
//! It stops early at a safe point when shutdown is asked for: the signal is checked before
//! each batch and before each member, never between a member's reminder and the note that it
//! was sent.

use std::time::Duration;

use otelix::jobs::{JobError, JobTracker};
use tokio::sync::watch;

use crate::cache::MemberCache;
use crate::external::{ExternalError, Externals};
use crate::store::Store;

/// The job's name: its span name and the `job.name` label.
pub const JOB_NAME: &str = "dunning_reminder";
/// Batches one run processes at most.
pub const MAX_BATCHES_PER_RUN: u32 = 10;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Reminders sent.
    pub reminded: u32,
    /// Reminders that failed (retried in the next run).
    pub failed: u32,
    /// Batches read.
    pub batches: u32,
    /// Whether shutdown cut the run short.
    pub interrupted: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The database could not be read or written.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Every reminder of the run failed: BeeHiiv is down, not one member.
    #[error("all {failed} reminders failed; the last: {last}")]
    AllRemindersFailed {
        /// How many failed.
        failed: u32,
        /// The last failure.
        last: ExternalError,
    },
}

/// The job and what it needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DunningJob {
    store: Store,
    cache: MemberCache,
    external: Externals,
    tracker: JobTracker,
    batch_size: u32,
    interval: Duration,
}

impl DunningJob {
    /// A job over `store`, reminding through `external`.
    pub fn new(
        store: Store,
        cache: MemberCache,
        external: Externals,
        telemetry: &otelix::TelemetryHandle,
        batch_size: u32,
        interval: Duration,
    ) -> Self {
        DunningJob {
            store,
            cache,
            external,
            tracker: JobTracker::new(telemetry),
            batch_size,
            interval,
        }
    }

    /// Runs at once, then every interval, until `shutdown` turns true (or its sender is
    /// dropped). A run in progress finishes at its next safe point.
    pub async fn run_forever(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            // The run logs its own outcome, inside its trace; only a panic is left to say.
            if let Err(JobError::Panicked { message, .. }) = self.run_once(&shutdown).await {
                tracing::error!(%message, "{JOB_NAME} run panicked");
            }
            tokio::select! {
                () = actix_web::rt::time::sleep(self.interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!("{JOB_NAME} stopped");
    }

    /// One tracked run.
    ///
    /// # Errors
    ///
    /// [`JobError`] with the run's [`RunError`], or the panic it caught.
    pub async fn run_once(
        &self,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<RunSummary, JobError<RunError>> {
        self.tracker.track(JOB_NAME, self.run(shutdown)).await
    }

    /// One run, logging its outcome inside the run's trace.
    async fn run(&self, shutdown: &watch::Receiver<bool>) -> Result<RunSummary, RunError> {
        let outcome = self.remind(shutdown).await;
        match &outcome {
            Ok(summary) => tracing::info!(
                reminded = summary.reminded,
                failed = summary.failed,
                batches = summary.batches,
                interrupted = summary.interrupted,
                "{JOB_NAME} run finished"
            ),
            Err(error) => tracing::warn!(%error, "{JOB_NAME} run failed"),
        }
        outcome
    }

    async fn remind(&self, shutdown: &watch::Receiver<bool>) -> Result<RunSummary, RunError> {
        let mut summary = RunSummary::default();
        let mut last_error = None;
        let mut after_id = 0;
        'batches: while summary.batches < MAX_BATCHES_PER_RUN {
            if *shutdown.borrow() {
                summary.interrupted = true;
                break;
            }
            let batch = self
                .store
                .overdue_members(after_id, self.batch_size)
                .await?;
            summary.batches += 1;
            let Some(last) = batch.last() else { break };
            after_id = last.id;
            let full = batch.len() >= usize::try_from(self.batch_size).unwrap_or(usize::MAX);
            for member in batch {
                if *shutdown.borrow() {
                    summary.interrupted = true;
                    break 'batches;
                }
                match self.external.send_dues_reminder(&member.email).await {
                    Ok(()) => {
                        self.store.mark_reminded(member.id).await?;
                        self.cache.invalidate(member.id).await;
                        summary.reminded += 1;
                    }
                    Err(error) => {
                        tracing::warn!(member_id = member.id, %error, "dues reminder failed; retried next run");
                        summary.failed += 1;
                        last_error = Some(error);
                    }
                }
            }
            if !full {
                break;
            }
        }
        match last_error {
            Some(last) if summary.reminded == 0 => Err(RunError::AllRemindersFailed {
                failed: summary.failed,
                last,
            }),
            _ => Ok(summary),
        }
    }
}
