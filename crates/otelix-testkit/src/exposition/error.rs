use std::fmt;

/// How much of the offending line a [`ParseError`] keeps, in characters.
const MAX_QUOTED_CHARS: usize = 200;

/// Why a page could not be parsed: the line (1-based), its text, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    line: usize,
    text: String,
    kind: ParseErrorKind,
}

impl ParseError {
    pub(super) fn new(line: usize, text: &str, kind: ParseErrorKind) -> ParseError {
        let text = match text.char_indices().nth(MAX_QUOTED_CHARS) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_owned(),
        };
        ParseError { line, text, kind }
    }

    /// The number of the offending line, counting from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The offending line (its first 200 characters); empty for [`ParseErrorKind::MissingEof`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What is wrong with the line.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)?;
        if !self.text.is_empty() {
            write!(f, ": {:?}", self.text)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// What is wrong with a line of a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// No valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) where one must be.
    #[error("expected a metric name")]
    InvalidMetricName,
    /// No valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`) where one must be.
    #[error("expected a label name")]
    InvalidLabelName,
    /// A label name not followed by `=`.
    #[error("expected `=` after label {0}")]
    MissingEquals(String),
    /// A label's value does not start with `"`.
    #[error("expected `\"` opening the value of label {0}")]
    MissingQuote(String),
    /// A label's value has no closing `"` on the line.
    #[error("the value of label {0} is not closed")]
    UnterminatedLabelValue(String),
    /// A backslash followed by something other than `\`, `"` or `n`.
    #[error("invalid escape sequence `\\{0}`")]
    InvalidEscape(char),
    /// A label set continues with something other than `,` or `}`.
    #[error("expected `,` or `}}` in the label set")]
    MissingCommaOrBrace,
    /// The same label name twice in one label set.
    #[error("label {0} appears twice")]
    DuplicateLabel(String),
    /// A sample or exemplar without a value.
    #[error("expected a value")]
    MissingValue,
    /// A value that is not a number (`+Inf`, `-Inf` and `NaN` are numbers).
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// A timestamp that is not integer milliseconds (Prometheus) or finite seconds
    /// (OpenMetrics).
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// More on the line than its grammar allows.
    #[error("unexpected {0:?} at the end of the line")]
    TrailingText(String),
    /// ` # ` after a Prometheus text sample: exemplars exist only in OpenMetrics.
    #[error("an exemplar in the Prometheus text format (only OpenMetrics has exemplars)")]
    UnexpectedExemplar,
    /// ` # ` not followed by the exemplar's `{labels}`.
    #[error("expected `{{` opening the exemplar's labels")]
    MissingExemplarLabels,
    /// `# TYPE name` without a type.
    #[error("expected a metric type")]
    MissingType,
    /// A type the format does not know.
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    /// A second `# HELP`, `# TYPE` or `# UNIT` line for one family.
    #[error("a second # {keyword} line for {name}")]
    DuplicateMetadata {
        /// `HELP`, `TYPE` or `UNIT`.
        keyword: &'static str,
        /// The family's name.
        name: String,
    },
    /// Metadata for a family that already has samples or appeared earlier in the page.
    #[error("# {keyword} for {name} after its samples or a later family")]
    MetadataAfterSamples {
        /// `HELP`, `TYPE` or `UNIT`.
        keyword: &'static str,
        /// The family's name.
        name: String,
    },
    /// A line after an OpenMetrics page's `# EOF`.
    #[error("content after # EOF")]
    ContentAfterEof,
    /// An OpenMetrics page that does not end with `# EOF`.
    #[error("the OpenMetrics page does not end with # EOF")]
    MissingEof,
}
