//! [`ConfigError`]: what can be wrong with a configuration, naming the variable or the builder
//! method and the value, so a caller can match on it and a reader can fix it.

/// Why a configuration could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value that cannot be used.
    #[error("invalid value {value:?} for environment variable {var}: expected {expected}")]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// The value found.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A value set in code cannot be used.
    #[error("invalid value {value:?} passed to ConfigBuilder::{setting}: expected {expected}")]
    InvalidSetting {
        /// The builder method that received the value.
        setting: &'static str,
        /// The value received.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// An environment variable is set but is not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
}
