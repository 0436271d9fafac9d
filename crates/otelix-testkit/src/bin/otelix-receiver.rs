//! Runs the otelix-testkit OTLP receiver on fixed addresses and prints its counts as one
//! JSON line per interval on stdout, plus a final line (`"final":true`) on SIGINT/SIGTERM.
//! Received items are counted, not kept, so memory stays flat under load; with
//! `--server-spans` the spans are kept, and the final line also counts the SERVER spans by
//! name (`"server_spans":{"GET /users/{id}":1200}`), for scripts that match responses to spans.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::{Behavior, Counts, Receiver};

/// OTLP receiver that counts spans, metric data points and log records.
#[derive(Debug, Parser)]
#[command(name = "otelix-receiver", version)]
struct Args {
    /// OTLP/gRPC listening address.
    #[arg(long, default_value = "127.0.0.1:4317")]
    grpc_addr: SocketAddr,
    /// OTLP/HTTP listening address.
    #[arg(long, default_value = "127.0.0.1:4318")]
    http_addr: SocketAddr,
    /// Interval between count lines: `500ms`, `1s`, `2m`, or plain seconds (`1.5`).
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    report_every: Duration,
    /// How to answer exports: `accept`, `reject` (gRPC UNAVAILABLE / HTTP 503), `hang` (never
    /// answer), or `delay=<duration>` (answer after it, such as `delay=3s`). Rejected exports
    /// are not counted as received items.
    #[arg(long, default_value = "accept", value_parser = parse_behavior)]
    behavior: Behavior,
    /// Keep what is received (memory grows with it: for short runs) and add to the final line
    /// `"server_spans"`, the number of SERVER spans by span name (`{METHOD} {route}`).
    #[arg(long)]
    server_spans: bool,
}

fn parse_behavior(text: &str) -> Result<Behavior, String> {
    match text.trim() {
        "accept" => Ok(Behavior::Accept),
        "reject" => Ok(Behavior::Reject),
        "hang" => Ok(Behavior::Hang),
        other => match other.strip_prefix("delay=") {
            Some(delay) => parse_interval(delay).map(Behavior::Delay),
            None => Err(format!(
                "{other:?} is not accept, reject, hang or delay=<duration>"
            )),
        },
    }
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_secs) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 1s or 2m"))?;
    Duration::try_from_secs_f64(value * unit_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive duration"))
}

/// One count line; `extra` is inserted as is before the closing brace (empty or `,"key":...`).
fn json_line(counts: Counts, is_final: bool, extra: &str) -> String {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        "{{\"unix_ms\":{unix_ms},\"spans\":{},\"metric_data_points\":{},\"logs\":{},\"export_requests\":{},\"final\":{is_final}{extra}}}",
        counts.spans, counts.metric_data_points, counts.logs, counts.export_requests
    )
}

/// `,"server_spans":{...}`: SERVER spans by name, names in sorted order.
fn server_spans_field(receiver: &Receiver) -> String {
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for span in receiver.spans() {
        if span.kind() == SpanKind::Server {
            *by_name.entry(span.name().to_owned()).or_default() += 1;
        }
    }
    let mut field = String::from(",\"server_spans\":{");
    for (index, (name, count)) in by_name.iter().enumerate() {
        if index > 0 {
            field.push(',');
        }
        let _ = write!(field, "{}:{count}", json_string(name));
    }
    field.push('}');
    field
}

/// `text` as a JSON string literal (span names come from the sender: escape them).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(unix)]
async fn terminated() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn terminated() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let receiver = match Receiver::builder()
        .with_grpc_addr(args.grpc_addr)
        .with_http_addr(args.http_addr)
        .with_keep_items(args.server_spans)
        .with_behavior(args.behavior)
        .build()
    {
        Ok(receiver) => receiver,
        Err(error) => {
            eprintln!("otelix-receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "otelix-receiver: OTLP/gRPC on {}, OTLP/HTTP on {}",
        receiver.grpc_endpoint(),
        receiver.http_endpoint()
    );
    let start = tokio::time::Instant::now() + args.report_every;
    let mut ticks = tokio::time::interval_at(start, args.report_every);
    let stop = terminated();
    tokio::pin!(stop);
    let code = loop {
        tokio::select! {
            _ = ticks.tick() => println!("{}", json_line(receiver.counts(), false, "")),
            result = &mut stop => {
                let extra = if args.server_spans {
                    server_spans_field(&receiver)
                } else {
                    String::new()
                };
                println!("{}", json_line(receiver.counts(), true, &extra));
                break match result {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        eprintln!("otelix-receiver: cannot listen for signals: {error}");
                        ExitCode::FAILURE
                    }
                };
            }
        }
    };
    receiver.shutdown();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_names_are_escaped_as_json_strings() {
        assert_eq!(json_string("GET /users/{id}"), r#""GET /users/{id}""#);
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }
}
