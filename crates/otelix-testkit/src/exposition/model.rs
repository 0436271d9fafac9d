use std::collections::BTreeMap;
use std::fmt;

/// Label names and their (unescaped) values. The order they were written in carries no
/// meaning in either format, so they are kept sorted by name.
pub type Labels = BTreeMap<String, String>;

/// A metric family's type, from its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`: samples `name_total` and `name_created` in OpenMetrics, `name` in Prometheus
    /// text (where the family is usually named `..._total` itself).
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`: samples `name_bucket` (with `le`), `name_sum`, `name_count`, `name_created`.
    Histogram,
    /// `gaugehistogram` (OpenMetrics): `name_bucket`, `name_gsum`, `name_gcount`.
    GaugeHistogram,
    /// `summary`: `name` (with `quantile`), `name_sum`, `name_count`, `name_created`.
    Summary,
    /// `info` (OpenMetrics): `name_info`.
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `unknown` (OpenMetrics), `untyped` (Prometheus), or no `# TYPE` line at all.
    Unknown,
}

impl MetricType {
    /// The name the format writes on `# TYPE` lines (`unknown` for [`MetricType::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// The suffixes the samples of a family of this type add to the family's name.
    pub(super) fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["", "_total", "_created"],
            MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            MetricType::Summary => &["", "_sum", "_count", "_created"],
            MetricType::Info => &["", "_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric family: the samples that share a `# TYPE` (and `# HELP`, `# UNIT`) line.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub(super) name: String,
    pub(super) metric_type: MetricType,
    pub(super) help: Option<String>,
    pub(super) unit: Option<String>,
    pub(super) samples: Vec<Sample>,
    /// Whether a `# TYPE` line set `metric_type` (a second one is an error).
    pub(super) typed: bool,
}

impl Family {
    pub(super) fn new(name: &str) -> Family {
        Family {
            name: name.to_owned(),
            metric_type: MetricType::Unknown,
            help: None,
            unit: None,
            samples: Vec::new(),
            typed: false,
        }
    }

    /// The family's name, as on its `# TYPE` line (or its only sample's name when it has
    /// none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The family's type; [`MetricType::Unknown`] without a `# TYPE` line.
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// The unescaped text of the `# HELP` line.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The `# UNIT` line's unit (OpenMetrics).
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The family's samples, in the order of the page.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Whether a sample named `sample_name` belongs to this family.
    pub(super) fn accepts(&self, sample_name: &str) -> bool {
        sample_name
            .strip_prefix(self.name.as_str())
            .is_some_and(|suffix| self.metric_type.sample_suffixes().contains(&suffix))
    }
}

/// One sample line: a name, labels, a value, perhaps a timestamp and an exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) value: f64,
    pub(super) timestamp: Option<f64>,
    pub(super) exemplar: Option<Exemplar>,
    pub(super) line: usize,
}

impl Sample {
    /// The sample's full name (`..._bucket`, `..._total`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sample's labels, values unescaped.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The value of label `name`, unescaped.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// Whether the sample has every `(label, value)` of `labels`; as in PromQL, an empty
    /// value matches a sample without that label.
    pub fn matches(&self, labels: &[(&str, &str)]) -> bool {
        labels
            .iter()
            .all(|(name, value)| self.label(name).unwrap_or("") == *value)
    }

    /// The sample's value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The timestamp as written: integer milliseconds in Prometheus text, seconds in
    /// OpenMetrics.
    pub fn timestamp(&self) -> Option<f64> {
        self.timestamp
    }

    /// The exemplar after ` # ` (OpenMetrics only).
    pub fn exemplar(&self) -> Option<&Exemplar> {
        self.exemplar.as_ref()
    }

    /// The number of the sample's line in the page, counting from 1.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// Writes the sample as a line of the page (without the newline), labels sorted by name.
impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            write_labels(f, &self.labels)?;
        }
        write!(f, " {}", Number(self.value))?;
        if let Some(timestamp) = self.timestamp {
            write!(f, " {}", Number(timestamp))?;
        }
        if let Some(exemplar) = &self.exemplar {
            write!(f, " # {exemplar}")?;
        }
        Ok(())
    }
}

/// The exemplar of an OpenMetrics sample: `# {trace_id="..."} 0.012 1764240000.123`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub(super) labels: Labels,
    pub(super) value: f64,
    pub(super) timestamp: Option<f64>,
}

impl Exemplar {
    /// The exemplar's labels, values unescaped.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The value of the exemplar's label `name` (such as `trace_id`).
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// The exemplar's value (for a histogram bucket, the observation it stands for).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The exemplar's timestamp in seconds.
    pub fn timestamp(&self) -> Option<f64> {
        self.timestamp
    }
}

/// Writes `{labels} value [timestamp]`, as after an OpenMetrics sample's ` # `.
impl fmt::Display for Exemplar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_labels(f, &self.labels)?;
        write!(f, " {}", Number(self.value))?;
        if let Some(timestamp) = self.timestamp {
            write!(f, " {}", Number(timestamp))?;
        }
        Ok(())
    }
}

fn write_labels(f: &mut fmt::Formatter<'_>, labels: &Labels) -> fmt::Result {
    f.write_str("{")?;
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            f.write_str(",")?;
        }
        write!(f, "{name}=\"")?;
        for c in value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")?;
    }
    f.write_str("}")
}

/// A number as both formats write it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal that
/// reads back as the same value.
struct Number(f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}
