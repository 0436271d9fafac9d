//! A parser for the text that `/metrics` serves: the Prometheus text exposition format 0.0.4
//! and OpenMetrics 1.0 text.
//!
//! [`Exposition::parse`] reads a page into [`Family`]s (name, type, help, unit) and their
//! [`Sample`]s (name, labels, value, timestamp, and on OpenMetrics lines the [`Exemplar`]
//! after ` # `), so that a test asks for a sample by name and labels instead of matching
//! lines with `split` and `find`. Label values are unescaped (`\\`, `\"`, `\n`); values
//! include `+Inf`, `-Inf` and `NaN`.
//!
//! ```
//! use otelix_testkit::exposition::{Exposition, Format, MetricType};
//!
//! # fn main() -> Result<(), otelix_testkit::exposition::ParseError> {
//! let page = "\
//! ## HELP http_server_request_duration_seconds Duration of HTTP server requests.
//! ## TYPE http_server_request_duration_seconds histogram
//! ## UNIT http_server_request_duration_seconds seconds
//! http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",le=\"0.005\"} 0
//! http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",le=\"+Inf\"} 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.012 1764240000.123
//! http_server_request_duration_seconds_sum{http_route=\"/users/{id}\"} 0.012
//! http_server_request_duration_seconds_count{http_route=\"/users/{id}\"} 1
//! ## EOF
//! ";
//! let exposition = Exposition::parse(page)?;
//! assert_eq!(exposition.format(), Format::OpenMetrics);
//!
//! let family = exposition.family("http_server_request_duration_seconds").expect("the family");
//! assert_eq!(family.metric_type(), MetricType::Histogram);
//! assert_eq!(family.unit(), Some("seconds"));
//! assert_eq!(family.samples().len(), 4);
//!
//! let route = [("http_route", "/users/{id}")];
//! assert_eq!(exposition.value("http_server_request_duration_seconds_count", &route), Some(1.0));
//!
//! let bucket = exposition
//!     .sample("http_server_request_duration_seconds_bucket", &[("le", "+Inf"), route[0]])
//!     .expect("one +Inf bucket");
//! let exemplar = bucket.exemplar().expect("an exemplar");
//! assert_eq!(exemplar.label("trace_id"), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
//! assert_eq!(exemplar.value(), 0.012);
//! assert_eq!(exemplar.timestamp(), Some(1764240000.123));
//! # Ok(())
//! # }
//! ```
//!
//! The parser is strict about structure (names, quoting, escapes, numbers, the order of
//! metadata and samples, `# EOF` ending an OpenMetrics page) and reports the first problem as
//! a [`ParseError`] naming the line. It is lenient about blanks between tokens, comments, and
//! OpenMetrics rules a test seldom cares about (the exemplar's length limit, a unit being the
//! name's suffix); for a strict verdict run `promtool check metrics` or Python's
//! `prometheus_client` parser on the page as well. It never panics, whatever the input.

mod error;
mod model;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::str::FromStr;

pub use error::{ParseError, ParseErrorKind};
pub use model::{Exemplar, Family, Labels, MetricType, Sample};

/// Which of the two text formats a page is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`): timestamps
    /// are integer milliseconds, no exemplars, no `# UNIT`, no `# EOF`.
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`): timestamps are
    /// seconds, samples may carry an exemplar, the page ends with `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header value names: `application/openmetrics-text` is
    /// OpenMetrics, `text/plain` is Prometheus text; `None` for anything else.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media_type.eq_ignore_ascii_case("text/plain") {
            Some(Format::Prometheus)
        } else {
            None
        }
    }

    /// The format of `text` judged by its content: OpenMetrics when a line is `# EOF` (which
    /// every OpenMetrics page ends with and no Prometheus exporter writes), Prometheus text
    /// otherwise.
    pub fn detect(text: &str) -> Format {
        if text.split('\n').any(|line| line == "# EOF") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

/// A parsed page: its format and its metric families in the order they appear.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition {
    format: Format,
    families: Vec<Family>,
}

impl Exposition {
    /// Parses `text` in the format [`Format::detect`] finds.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming the first line that is not valid in that format.
    pub fn parse(text: &str) -> Result<Exposition, ParseError> {
        Exposition::parse_as(text, Format::detect(text))
    }

    /// Parses `text` as `format` (for instance the one
    /// [`Format::from_content_type`] reads from the response).
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming the first line that is not valid in `format`, or the line after
    /// the last when an OpenMetrics page lacks its `# EOF`.
    pub fn parse_as(text: &str, format: Format) -> Result<Exposition, ParseError> {
        Ok(Exposition {
            format,
            families: parse::families(text, format)?,
        })
    }

    /// The format the page was parsed as.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Every family, in the order of the page. A sample with no `# TYPE` before it is in a
    /// family of its own name, of type [`MetricType::Unknown`].
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The family named `name` (the name on its `# TYPE` line: `http_server_request_duration_seconds`
    /// for a histogram whose samples are `..._bucket`, `..._sum` and `..._count`).
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.name() == name)
    }

    /// Every sample of every family, in the order of the page.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> + '_ {
        self.families.iter().flat_map(|family| family.samples())
    }

    /// The samples named `name` (the full sample name, such as `..._count`) whose labels match
    /// every `(label, value)` of `labels`. As in PromQL, an empty value matches a sample
    /// without that label.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples()
            .filter(|sample| sample.name() == name && sample.matches(labels))
            .collect()
    }

    /// The one sample [`find`](Self::find) returns; `None` when there is none or more than
    /// one.
    pub fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Sample> {
        match self.find(name, labels).as_slice() {
            [sample] => Some(sample),
            _ => None,
        }
    }

    /// The value of the one sample [`find`](Self::find) returns; `None` when there is none or
    /// more than one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.sample(name, labels).map(Sample::value)
    }

    /// The distinct sample names of the page (`..._bucket`, `..._total`, ...).
    pub fn sample_names(&self) -> BTreeSet<&str> {
        self.samples().map(Sample::name).collect()
    }

    /// The distinct label names of the samples named `name`.
    pub fn label_names(&self, name: &str) -> BTreeSet<&str> {
        self.samples()
            .filter(|sample| sample.name() == name)
            .flat_map(|sample| sample.labels().keys().map(String::as_str))
            .collect()
    }
}

impl FromStr for Exposition {
    type Err = ParseError;

    /// The same as [`Exposition::parse`].
    fn from_str(text: &str) -> Result<Exposition, ParseError> {
        Exposition::parse(text)
    }
}
