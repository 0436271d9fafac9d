//! What goes wrong reading the settings.

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A variable holds a value that cannot be used.
    #[error("invalid value {value:?} for environment variable {var}: expected {expected}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// The value found, with any password removed.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A variable is set but is not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
}
