//! The shape of the settings table: what one row says about a setting, and the `settings!`
//! macro that turns the rows of [`settings`](super::settings) into everything else.
//!
//! A row is written once and gives, for one environment variable: its builder method, the
//! kind of value it takes, its default (as text a user would write in the variable), what it
//! means, and the parser that reads it. From the rows come:
//! - a typed `Setting<T>` constant per variable, which the resolver reads (so the default,
//!   the parser and the names in error messages all come from the row);
//! - [`ENV_VARS`](super::ENV_VARS), the public list that the README's configuration table is
//!   generated from (a test keeps the two equal);
//! - the builder's setter methods, whose doc comments quote the row's meaning and default.

use super::error::ConfigError;

/// One environment variable otelix reads: its row of the settings table, for documentation
/// and tooling. [`ENV_VARS`](crate::ENV_VARS) lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// The [`ConfigBuilder`](crate::ConfigBuilder) method that sets the same value in code
    /// (and wins over the variable).
    pub builder: &'static str,
    /// The kind of value the variable takes, such as `milliseconds` or `boolean`.
    pub value: &'static str,
    /// The default, as it would be written in the variable, or how it is derived.
    pub default: &'static str,
    /// What it controls.
    pub meaning: &'static str,
}

/// Where a setting's default comes from; its text is [`EnvVar::default`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum DefaultValue {
    /// The text is read by the row's own parser, exactly as if the variable held it.
    Parsed,
    /// Computed by the resolver from other settings; the text says how, for the docs.
    Derived,
    /// No value: the setting is optional (or a list, empty); the text says what that means.
    Unset,
}

/// A typed row of the settings table.
pub(crate) struct Setting<T: 'static> {
    pub(crate) var: EnvVar,
    pub(crate) default: DefaultValue,
    /// Reads the variable's text; `Err` says what would have been accepted.
    pub(crate) parse: fn(&str) -> Result<T, &'static str>,
    /// Checks (and normalises) a value set in code; `Err` says what would have been accepted.
    pub(crate) check: fn(T) -> Result<T, &'static str>,
    /// What an error may show of a value: the value itself, or for a secret what identifies
    /// it without revealing it (a length, the header names).
    pub(crate) show: fn(&str) -> String,
}

impl<T> Setting<T> {
    /// The variable's name.
    pub(crate) const fn name(&self) -> &'static str {
        self.var.name
    }

    /// The default, when the row gives one as text; `None` when the resolver derives it or
    /// the setting is unset by default.
    ///
    /// # Errors
    ///
    /// A default that does not parse is a mistake in the table (the `defaults_parse` test
    /// keeps them all valid); it is reported as an invalid value of the variable, never a
    /// panic.
    pub(crate) fn default_value(&self) -> Result<Option<T>, ConfigError> {
        match self.default {
            DefaultValue::Derived | DefaultValue::Unset => Ok(None),
            DefaultValue::Parsed => (self.parse)(self.var.default)
                .map(Some)
                .map_err(|expected| self.invalid_env(self.var.default, expected)),
        }
    }

    /// The row's default, for the `Default` impls of the settings structs.
    ///
    /// # Panics
    ///
    /// When the row's default is not `Parsed` text its parser accepts: a mistake in the table
    /// itself, which the `every_default_parses` test catches. Nothing a user sets reaches it.
    #[allow(clippy::expect_used)]
    pub(crate) fn parsed_default(&self) -> T {
        let parsed = match self.default {
            DefaultValue::Parsed => (self.parse)(self.var.default).ok(),
            DefaultValue::Derived | DefaultValue::Unset => None,
        };
        parsed.expect("the settings table gives this row a default its parser accepts")
    }

    /// The error for a variable holding `raw`.
    pub(crate) fn invalid_env(&self, raw: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::InvalidEnv {
            var: self.var.name,
            value: self.shown(raw),
            expected: expected.into(),
        }
    }

    /// The error for a value set in code through the row's builder method.
    pub(crate) fn invalid_setting(&self, shown: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::InvalidSetting {
            setting: self.var.builder,
            value: self.shown(shown),
            expected: expected.into(),
        }
    }

    /// What an error may show of a value.
    pub(crate) fn shown(&self, value: &str) -> String {
        (self.show)(value)
    }
}

/// Accepts a value set in code as it is.
pub(crate) fn any<T>(value: T) -> Result<T, &'static str> {
    Ok(value)
}

/// Shows a value in an error as it is.
pub(crate) fn as_is(value: &str) -> String {
    value.to_owned()
}

/// Builds the settings table from its rows; see the module docs.
///
/// A row with `builder: with_x(field)` gets a generated setter `with_x(value: T)` that stores
/// into `CodeValues::field` (`with_x(field, into)`: `with_x(value: impl Into<T>)`, for strings
/// and paths); a row with `builder: with_x` only names a setter written by hand in
/// `ConfigBuilder` (for values that are lists, pairs or secrets).
macro_rules! settings {
    ($(
        $name:ident: $ty:ty {
            value: $value:literal,
            default: $dkind:ident($default:literal),
            meaning: $meaning:literal,
            parse: $parse:expr,
            $(check: $check:expr,)?
            $(show: $show:expr,)?
            builder: $builder:ident $(($field:ident $(, $into:ident)?))?,
        }
    )*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`: ", $meaning, ".")]
            pub(crate) const $name: $crate::config::table::Setting<$ty> =
                $crate::config::table::Setting {
                    var: $crate::config::table::EnvVar {
                        name: stringify!($name),
                        builder: stringify!($builder),
                        value: $value,
                        default: $default,
                        meaning: $meaning,
                    },
                    default: $crate::config::table::DefaultValue::$dkind,
                    parse: $parse,
                    check: settings!(@check $($check)?),
                    show: settings!(@show $($show)?),
                };
        )*

        /// Every environment variable [`Config::from_env`](crate::Config::from_env) reads, in
        /// the order of the README's configuration table, which is generated from it.
        pub const ENV_VARS: &[$crate::config::table::EnvVar] = &[$($name.var,)*];

        /// Each row's name, default kind and whether its default parses, for the
        /// `every_default_parses` test.
        #[cfg(test)]
        pub(crate) fn default_checks() -> Vec<(
            &'static str,
            $crate::config::table::DefaultValue,
            Result<bool, $crate::config::ConfigError>,
        )> {
            vec![$((
                $name.name(),
                $name.default,
                $name.default_value().map(|value| value.is_some()),
            ),)*]
        }

        /// The values set in code through the generated setters; `None` where unset.
        #[derive(Debug, Clone, Default)]
        pub(crate) struct CodeValues {
            $($(pub(crate) $field: Option<$ty>,)?)*
        }

        impl $crate::config::ConfigBuilder {
            $($(
                settings!(@setter $builder, $field, $ty, $name, $meaning, $default $(, $into)?);
            )?)*
        }
    };
    (@setter $builder:ident, $field:ident, $ty:ty, $name:ident, $meaning:literal, $default:literal) => {
        #[doc = concat!(
            "Sets what `", stringify!($name), "` sets: ", $meaning, ".\n\n",
            "Default: `", $default, "`. A value set here wins over the variable.",
        )]
        pub fn $builder(mut self, value: $ty) -> Self {
            self.code.$field = Some(value);
            self
        }
    };
    (@setter $builder:ident, $field:ident, $ty:ty, $name:ident, $meaning:literal, $default:literal, into) => {
        #[doc = concat!(
            "Sets what `", stringify!($name), "` sets: ", $meaning, ".\n\n",
            "Default: `", $default, "`. A value set here wins over the variable.",
        )]
        pub fn $builder(mut self, value: impl Into<$ty>) -> Self {
            self.code.$field = Some(value.into());
            self
        }
    };
    (@check) => { $crate::config::table::any };
    (@show) => { $crate::config::table::as_is };
    (@show $show:expr) => { $show };
    (@check $check:expr) => { $check };
}

pub(crate) use settings;
