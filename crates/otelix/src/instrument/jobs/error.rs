use std::borrow::Cow;

/// Why a tracked job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError<E> {
    /// The job returned an error.
    #[error("job {job} failed: {source}")]
    Failed {
        /// The job's name.
        job: Cow<'static, str>,
        /// What the job returned.
        source: E,
    },
    /// The job panicked; the panic was caught and recorded.
    #[error("job {job} panicked: {message}")]
    Panicked {
        /// The job's name.
        job: Cow<'static, str>,
        /// The panic's message, when it was a string.
        message: String,
    },
}

impl<E> JobError<E> {
    /// The job's name.
    pub fn job(&self) -> &str {
        match self {
            Self::Failed { job, .. } | Self::Panicked { job, .. } => job,
        }
    }

    /// The job's own error, when it returned one rather than panicking.
    pub fn into_failure(self) -> Option<E> {
        match self {
            Self::Failed { source, .. } => Some(source),
            Self::Panicked { .. } => None,
        }
    }

    /// Whether the job panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked { .. })
    }
}
