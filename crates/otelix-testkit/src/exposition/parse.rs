//! The line-by-line parser. It slices the line only at ASCII characters, which are always
//! UTF-8 boundaries, so that no input can make it panic.

use super::error::{ParseError, ParseErrorKind};
use super::model::{Exemplar, Family, Labels, MetricType, Sample};
use super::Format;

/// The families of `text`, parsed as `format`.
pub(super) fn families(text: &str, format: Format) -> Result<Vec<Family>, ParseError> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    // The newline that ends the last line does not start another.
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut page = Page {
        format,
        families: Vec::new(),
    };
    let mut eof = false;
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let result = if eof {
            Err(ParseErrorKind::ContentAfterEof)
        } else {
            page.line(line, number).map(|is_eof| eof = is_eof)
        };
        result.map_err(|kind| ParseError::new(number, line, kind))?;
    }
    if format == Format::OpenMetrics && !eof {
        return Err(ParseError::new(
            lines.len() + 1,
            "",
            ParseErrorKind::MissingEof,
        ));
    }
    Ok(page.families)
}

/// The families read so far.
struct Page {
    format: Format,
    families: Vec<Family>,
}

impl Page {
    /// Reads one line; `true` when it is the OpenMetrics `# EOF`.
    fn line(&mut self, line: &str, number: usize) -> Result<bool, ParseErrorKind> {
        let mut cursor = Cursor(line);
        cursor.skip_blanks();
        if cursor.0.is_empty() {
            return Ok(false);
        }
        if cursor.eat('#') {
            return self.comment(cursor);
        }
        let sample = sample(cursor, self.format, number)?;
        self.add(sample);
        Ok(false)
    }

    /// A `#` line: metadata, `# EOF`, or a comment to skip.
    fn comment(&mut self, mut cursor: Cursor<'_>) -> Result<bool, ParseErrorKind> {
        cursor.skip_blanks();
        let keyword = cursor.take_while(|c| !is_blank(c));
        let open_metrics = self.format == Format::OpenMetrics;
        match keyword {
            "EOF" if open_metrics => {
                cursor.skip_blanks();
                match cursor.0 {
                    "" => Ok(true),
                    rest => Err(ParseErrorKind::TrailingText(rest.to_owned())),
                }
            }
            "HELP" => {
                let name = metadata_name(&mut cursor)?;
                let help = unescape_help(cursor.0, self.format)?;
                self.metadata("HELP", name, |family| {
                    let first = family.help.is_none();
                    family.help = Some(help);
                    first
                })
                .map(|()| false)
            }
            "TYPE" => {
                let name = metadata_name(&mut cursor)?;
                let metric_type = metric_type(cursor.take_while(|c| !is_blank(c)), self.format)?;
                cursor.skip_blanks();
                if !cursor.0.is_empty() {
                    return Err(ParseErrorKind::TrailingText(cursor.0.to_owned()));
                }
                self.metadata("TYPE", name, |family| {
                    let first = !family.typed;
                    family.typed = true;
                    family.metric_type = metric_type;
                    first
                })
                .map(|()| false)
            }
            "UNIT" if open_metrics => {
                let name = metadata_name(&mut cursor)?;
                let unit = cursor.take_while(|c| !is_blank(c)).to_owned();
                cursor.skip_blanks();
                if !cursor.0.is_empty() {
                    return Err(ParseErrorKind::TrailingText(cursor.0.to_owned()));
                }
                self.metadata("UNIT", name, |family| {
                    let first = family.unit.is_none();
                    family.unit = Some(unit);
                    first
                })
                .map(|()| false)
            }
            _ => Ok(false),
        }
    }

    /// Applies a metadata line to the family `name`: the current one if it is that family
    /// and has no samples yet, else a new one. `set` returns whether the family lacked that
    /// metadata.
    fn metadata(
        &mut self,
        keyword: &'static str,
        name: &str,
        set: impl FnOnce(&mut Family) -> bool,
    ) -> Result<(), ParseErrorKind> {
        let current = self
            .families
            .last()
            .is_some_and(|family| family.name == name && family.samples.is_empty());
        if !current {
            if self.families.iter().any(|family| family.name == name) {
                return Err(ParseErrorKind::MetadataAfterSamples {
                    keyword,
                    name: name.to_owned(),
                });
            }
            self.families.push(Family::new(name));
        }
        let first = self.families.last_mut().is_some_and(set);
        if first {
            Ok(())
        } else {
            Err(ParseErrorKind::DuplicateMetadata {
                keyword,
                name: name.to_owned(),
            })
        }
    }

    /// Adds `sample` to the current family if it belongs there, else to the latest earlier
    /// family it belongs to, else to a new untyped family of its own name.
    fn add(&mut self, sample: Sample) {
        let index = match self
            .families
            .iter()
            .rposition(|family| family.accepts(&sample.name))
        {
            Some(index) => index,
            None => {
                self.families.push(Family::new(&sample.name));
                self.families.len() - 1
            }
        };
        if let Some(family) = self.families.get_mut(index) {
            family.samples.push(sample);
        }
    }
}

/// A sample line, from its name on.
fn sample(mut cursor: Cursor<'_>, format: Format, line: usize) -> Result<Sample, ParseErrorKind> {
    let name = metric_name(&mut cursor).ok_or(ParseErrorKind::InvalidMetricName)?;
    cursor.skip_blanks();
    let labels = if cursor.eat('{') {
        label_set(&mut cursor)?
    } else {
        Labels::new()
    };
    // Neither a number nor a timestamp contains `#`: the first one opens the exemplar.
    let (numbers, exemplar) = match cursor.0.split_once('#') {
        Some((numbers, exemplar)) => (numbers, Some(exemplar)),
        None => (cursor.0, None),
    };
    let (value, timestamp) = value_and_timestamp(numbers, format)?;
    let exemplar = match (exemplar, format) {
        (None, _) => None,
        (Some(_), Format::Prometheus) => return Err(ParseErrorKind::UnexpectedExemplar),
        (Some(text), Format::OpenMetrics) => Some(self::exemplar(Cursor(text))?),
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar,
        line,
    })
}

/// `{labels} value [timestamp]` after an OpenMetrics sample's `#`.
fn exemplar(mut cursor: Cursor<'_>) -> Result<Exemplar, ParseErrorKind> {
    cursor.skip_blanks();
    if !cursor.eat('{') {
        return Err(ParseErrorKind::MissingExemplarLabels);
    }
    let labels = label_set(&mut cursor)?;
    let (value, timestamp) = value_and_timestamp(cursor.0, Format::OpenMetrics)?;
    Ok(Exemplar {
        labels,
        value,
        timestamp,
    })
}

/// The value and optional timestamp that end a sample or exemplar.
fn value_and_timestamp(text: &str, format: Format) -> Result<(f64, Option<f64>), ParseErrorKind> {
    let mut tokens = text.split(is_blank).filter(|token| !token.is_empty());
    let value = tokens.next().ok_or(ParseErrorKind::MissingValue)?;
    let value = number(value).ok_or_else(|| ParseErrorKind::InvalidValue(value.to_owned()))?;
    let timestamp = match tokens.next() {
        None => None,
        Some(token) => Some(
            timestamp(token, format)
                .ok_or_else(|| ParseErrorKind::InvalidTimestamp(token.to_owned()))?,
        ),
    };
    match tokens.next() {
        None => Ok((value, timestamp)),
        Some(extra) => Err(ParseErrorKind::TrailingText(extra.to_owned())),
    }
}

/// The label pairs after a `{`, through the closing `}`.
fn label_set(cursor: &mut Cursor<'_>) -> Result<Labels, ParseErrorKind> {
    let mut labels = Labels::new();
    loop {
        cursor.skip_blanks();
        // `{}` and a trailing comma before `}` are both allowed.
        if cursor.eat('}') {
            return Ok(labels);
        }
        let name = label_name(cursor).ok_or(ParseErrorKind::InvalidLabelName)?;
        cursor.skip_blanks();
        if !cursor.eat('=') {
            return Err(ParseErrorKind::MissingEquals(name.to_owned()));
        }
        cursor.skip_blanks();
        if !cursor.eat('"') {
            return Err(ParseErrorKind::MissingQuote(name.to_owned()));
        }
        let value = label_value(cursor, name)?;
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(ParseErrorKind::DuplicateLabel(name.to_owned()));
        }
        cursor.skip_blanks();
        if cursor.eat('}') {
            return Ok(labels);
        }
        if !cursor.eat(',') {
            return Err(ParseErrorKind::MissingCommaOrBrace);
        }
    }
}

/// A label's value after its opening `"`, through the closing one, unescaped.
fn label_value(cursor: &mut Cursor<'_>, name: &str) -> Result<String, ParseErrorKind> {
    let mut value = String::new();
    let mut chars = cursor.0.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => {
                cursor.0 = cursor.0.get(index + 1..).unwrap_or("");
                return Ok(value);
            }
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => return Err(ParseErrorKind::InvalidEscape(other)),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(ParseErrorKind::UnterminatedLabelValue(name.to_owned()))
}

/// The name after `# HELP`, `# TYPE` or `# UNIT`, and the blanks after it.
fn metadata_name<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, ParseErrorKind> {
    cursor.skip_blanks();
    let name = metric_name(cursor).ok_or(ParseErrorKind::InvalidMetricName)?;
    if !cursor.0.is_empty() && !cursor.0.starts_with(is_blank) {
        return Err(ParseErrorKind::InvalidMetricName);
    }
    cursor.skip_blanks();
    Ok(name)
}

/// A `# HELP` text with its escapes resolved: `\\` and `\n`, and in OpenMetrics `\"`.
fn unescape_help(text: &str, format: Format) -> Result<String, ParseErrorKind> {
    let mut help = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            help.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => help.push('\\'),
            Some('n') => help.push('\n'),
            Some('"') if format == Format::OpenMetrics => help.push('"'),
            Some(other) => return Err(ParseErrorKind::InvalidEscape(other)),
            // A lone backslash at the end: Prometheus keeps it.
            None => help.push('\\'),
        }
    }
    Ok(help)
}

fn metric_type(token: &str, format: Format) -> Result<MetricType, ParseErrorKind> {
    let open_metrics = format == Format::OpenMetrics;
    Ok(match token {
        "" => return Err(ParseErrorKind::MissingType),
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" if !open_metrics => MetricType::Unknown,
        "unknown" if open_metrics => MetricType::Unknown,
        "gaugehistogram" if open_metrics => MetricType::GaugeHistogram,
        "info" if open_metrics => MetricType::Info,
        "stateset" if open_metrics => MetricType::StateSet,
        other => return Err(ParseErrorKind::UnknownType(other.to_owned())),
    })
}

/// A sample or exemplar value: a decimal number, `+Inf`, `-Inf` or `NaN` (Rust reads the
/// words in any case and `infinity` spelled out, as Go's `strconv.ParseFloat` does).
fn number(token: &str) -> Option<f64> {
    token.parse().ok()
}

/// A timestamp: integer milliseconds in Prometheus text, finite seconds in OpenMetrics.
fn timestamp(token: &str, format: Format) -> Option<f64> {
    match format {
        Format::Prometheus => token.parse::<i64>().ok().map(|ms| ms as f64),
        Format::OpenMetrics => number(token).filter(|seconds| seconds.is_finite()),
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, or `None` (the cursor unmoved) when there is none.
fn metric_name<'a>(cursor: &mut Cursor<'a>) -> Option<&'a str> {
    name(
        cursor,
        |c| c.is_ascii_alphabetic() || c == '_' || c == ':',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == ':',
    )
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, or `None` (the cursor unmoved) when there is none.
fn label_name<'a>(cursor: &mut Cursor<'a>) -> Option<&'a str> {
    name(
        cursor,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
    )
}

fn name<'a>(
    cursor: &mut Cursor<'a>,
    first: impl Fn(char) -> bool,
    rest: impl Fn(char) -> bool,
) -> Option<&'a str> {
    if !cursor.0.starts_with(first) {
        return None;
    }
    Some(cursor.take_while(rest))
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The unread rest of a line.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn skip_blanks(&mut self) {
        self.0 = self.0.trim_start_matches(is_blank);
    }

    /// Consumes `c` if the rest starts with it.
    fn eat(&mut self, c: char) -> bool {
        match self.0.strip_prefix(c) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes and returns the longest prefix whose characters satisfy `keep`.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self
            .0
            .char_indices()
            .find(|&(_, c)| !keep(c))
            .map_or(self.0.len(), |(index, _)| index);
        let (taken, rest) = self.0.split_at(end);
        self.0 = rest;
        taken
    }
}
