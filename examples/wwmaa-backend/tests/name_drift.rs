//! No name drift between what the service exposes and what the operations files query.
//!
//! The service runs with traffic on every path that feeds a metric (requests of each kind, a
//! 404, a cache miss then a hit, the external APIs, a report slow enough for the slow-query
//! log, the dunning job's per-member updates seen as an N+1), and a second instance with its
//! failures (external APIs answering 503, a table gone: the series only errors carry); their
//! `/metrics` are scraped, and
//! every PromQL expression in `docs/observability/prometheus-alerts.yml` (alerts and recording
//! rules) and `docs/observability/grafana-dashboard.json` (panels and template variables) is
//! parsed with a real PromQL parser. Each metric a selector names must be in the scrape (or be
//! recorded by a rule, or be one Prometheus makes itself), and each label a selector matches
//! on must be a label of that metric in the scrape. A renamed instrument, unit or attribute
//! fails this test instead of silently emptying an alert or a panel.
//!
//! The scrape is also held against `otelix::names`, both ways: every family in it is a metric
//! the module lists (or the resource's `target_info`), and every metric the module lists is in
//! it, of the listed type, with the listed description and exactly the listed labels, each
//! label with values among the listed ones where the module fixes them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use common::{Backends, TestApp, WAIT};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::names;
use otelix_testkit::exposition::MetricType;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};

/// Names Prometheus makes itself, per target or for rules, never in a service's exposition.
const PROMETHEUS_OWN: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "ALERTS",
    "ALERTS_FOR_STATE",
];
/// Prefixes of the other targets' own metrics (the collector, Prometheus, Alertmanager), which
/// the alerts and dashboard may query but the service never exposes.
const OTHER_TARGETS: &[&str] = &["otelcol_", "prometheus_", "alertmanager_"];
/// Labels Prometheus attaches to every scraped series (target labels).
const TARGET_LABELS: &[&str] = &["__name__", "job", "instance"];
/// Families of the scrape that are not otelix's metrics: the resource, as the bridge shows it.
const NOT_OTELIX: &[&str] = &["target_info"];

#[actix_web::test]
async fn every_metric_and_label_the_alerts_and_dashboard_query_is_exposed() {
    // A healthy service with traffic of every kind.
    // A run every second: one run that fails on a loaded machine (a sandbox call timing out)
    // must not leave the last-success gauge without a series.
    let app = common::start(
        Backends::Embedded,
        &[("DUNNING_INTERVAL_SECONDS", "1")],
        |config| {
            config
                // Every statement counts as slow, so the slow-query counter has series.
                .with_slow_query_threshold(Duration::from_micros(1))
                // The dunning job updates members one by one under its run's span.
                .with_n_plus_one_threshold(2)
        },
    )
    .await
    .expect("embedded backends");
    common::send_every_kind(&app.client, &app.base).await;
    app.receiver
        .wait_for_span(
            |s| s.name() == "dunning_reminder" && s.status_code() != StatusCode::Error,
            WAIT,
        )
        .await
        .expect("a dunning job run succeeded");
    let mut scrape = Scrape::parse(&app.get_text("/metrics").await);
    app.stop().await;

    // A failing one: the external APIs answer 503 and a table is gone, so the series that
    // only errors have (`error_type` on the HTTP, database and client histograms, failed job
    // runs) exist too.
    let app = common::start(Backends::Embedded, &[("SANDBOX_FAILURE_RATE", "1")], |c| c)
        .await
        .expect("embedded backends");
    common::drop_sqlite_table(&app.database_url, "activity_events").await;
    assert_eq!(app.get("/api/reports/activity?window=7").await.status, 500);
    let paid = app
        .post(
            "/api/payments",
            serde_json::json!({"member_id": 1, "amount_cents": 5000}),
        )
        .await;
    assert_eq!(paid.status, 502, "{}", paid.body);
    wait_for_job_run(&app).await;
    scrape.merge(Scrape::parse(&app.get_text("/metrics").await));
    app.stop().await;

    let root = workspace_root();
    let rules = rule_expressions(&root.join("docs/observability/prometheus-alerts.yml"));
    let dashboard = dashboard_expressions(&root.join("docs/observability/grafana-dashboard.json"));
    assert!(
        rules.expressions.len() > 20,
        "alert rules read: {}",
        rules.expressions.len()
    );
    assert!(
        dashboard.len() > 10,
        "dashboard queries read: {}",
        dashboard.len()
    );

    let mut problems = Vec::new();
    let mut checked = BTreeSet::new();
    for (place, expr) in rules.expressions.iter().chain(&dashboard) {
        let selectors = match selectors(expr) {
            Ok(selectors) => selectors,
            Err(error) => {
                problems.push(format!("{place}: not valid PromQL ({error}): {expr}"));
                continue;
            }
        };
        for selector in selectors {
            checked.insert(selector.name.clone());
            problems.extend(
                scrape
                    .check(&selector, &rules.recorded)
                    .map(|problem| format!("{place}: {problem}")),
            );
        }
    }
    // The test itself must have looked at the metrics the operations files are built on.
    for name in [
        format!("{}_bucket", names::HTTP_SERVER_REQUEST_DURATION.prometheus),
        format!("{}_bucket", names::HTTP_CLIENT_REQUEST_DURATION.prometheus),
        names::CACHE_REQUESTS.prometheus.to_owned(),
        names::DB_SLOW_QUERIES.prometheus.to_owned(),
        names::JOB_LAST_SUCCESS_TIMESTAMP.prometheus.to_owned(),
    ] {
        assert!(checked.contains(&name), "no query uses {name}: {checked:?}");
    }
    problems.extend(scrape.check_names());
    assert!(
        problems.is_empty(),
        "{} problem(s) between the operations files and the scrape:\n{}\n\nscraped metric names: {:?}",
        problems.len(),
        problems.join("\n"),
        scrape.labels.keys().collect::<Vec<_>>()
    );
}

/// Waits for the end of the dunning job's first run (its metrics are recorded when a run
/// ends).
async fn wait_for_job_run(app: &TestApp) {
    app.receiver
        .wait_for_span(|s| s.name() == "dunning_reminder", WAIT)
        .await
        .expect("the dunning job's run ended");
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// One metric selector of an expression: `name{label=...}`.
#[derive(Debug)]
struct Selector {
    name: String,
    labels: Vec<String>,
}

/// The selectors of a PromQL expression, or the parser's error.
fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    struct Collect(Vec<Selector>);
    impl ExprVisitor for Collect {
        type Error = String;
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
            let selector = match expr {
                Expr::VectorSelector(vs) => vs,
                Expr::MatrixSelector(ms) => &ms.vs,
                _ => return Ok(true),
            };
            let matchers = selector
                .matchers
                .matchers
                .iter()
                .chain(selector.matchers.or_matchers.iter().flatten());
            let mut name = selector.name.clone();
            let mut labels = Vec::new();
            for matcher in matchers {
                if matcher.name == "__name__" {
                    // A regex names the metrics it matches by their common prefix at best;
                    // kept whole, it only passes for another target's metrics.
                    name.get_or_insert_with(|| matcher.value.clone());
                } else {
                    labels.push(matcher.name.clone());
                }
            }
            let name =
                name.ok_or_else(|| format!("a selector without a metric name: {selector}"))?;
            self.0.push(Selector { name, labels });
            Ok(true)
        }
    }
    let parsed = parser::parse(expr)?;
    let mut collect = Collect(Vec::new());
    walk_expr(&mut collect, &parsed)?;
    Ok(collect.0)
}

/// The metric names of a scrape and the label names each carries, and its families.
struct Scrape {
    labels: BTreeMap<String, BTreeSet<String>>,
    families: BTreeMap<String, FamilySeen>,
}

/// A family of a scrape: its type and help, and every value each label took.
struct FamilySeen {
    metric_type: MetricType,
    help: Option<String>,
    labels: BTreeMap<String, BTreeSet<String>>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let page = common::exposition(text);
        let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for sample in page.samples() {
            labels
                .entry(sample.name().to_owned())
                .or_default()
                .extend(sample.labels().keys().cloned());
        }
        assert!(labels.len() > 10, "a scrape with metrics:\n{text}");
        let families = page
            .families()
            .iter()
            .map(|family| {
                let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                for (label, value) in family.samples().iter().flat_map(|s| s.labels()) {
                    labels
                        .entry(label.clone())
                        .or_default()
                        .insert(value.clone());
                }
                let seen = FamilySeen {
                    metric_type: family.metric_type(),
                    help: family.help().map(str::to_owned),
                    labels,
                };
                (family.name().to_owned(), seen)
            })
            .collect();
        Scrape { labels, families }
    }

    /// Adds the names, labels and families of `other`.
    fn merge(&mut self, other: Scrape) {
        for (name, labels) in other.labels {
            self.labels.entry(name).or_default().extend(labels);
        }
        for (name, family) in other.families {
            match self.families.get_mut(&name) {
                None => {
                    self.families.insert(name, family);
                }
                Some(seen) => {
                    for (label, values) in family.labels {
                        seen.labels.entry(label).or_default().extend(values);
                    }
                }
            }
        }
    }

    /// What differs between this scrape and `otelix::names`, both ways.
    fn check_names(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for family in self.families.keys() {
            let listed = names::METRICS.iter().any(|m| m.prometheus == family);
            if !listed && !NOT_OTELIX.contains(&family.as_str()) {
                problems.push(format!(
                    "family {family} is in the scrape but not in otelix::names"
                ));
            }
        }
        for metric in names::METRICS {
            let Some(seen) = self.families.get(metric.prometheus) else {
                problems.push(format!(
                    "{} ({}) is in otelix::names but not in the scrape",
                    metric.prometheus, metric.name
                ));
                continue;
            };
            problems.extend(family_problems(metric, seen));
        }
        problems
    }

    /// What is wrong with `selector` against this scrape.
    fn check<'a>(
        &'a self,
        selector: &'a Selector,
        recorded: &'a BTreeSet<String>,
    ) -> impl Iterator<Item = String> + 'a {
        let name = selector.name.as_str();
        let elsewhere = PROMETHEUS_OWN.contains(&name)
            || recorded.contains(name)
            || OTHER_TARGETS.iter().any(|prefix| name.starts_with(prefix));
        let (missing, scraped) = if elsewhere {
            (None, None)
        } else {
            match self.labels.get(name) {
                Some(labels) => (None, Some(labels)),
                None => (Some(format!("metric {name} is not in the scrape")), None),
            }
        };
        let unknown_labels = scraped.into_iter().flat_map(move |labels| {
            selector
                .labels
                .iter()
                .filter(|label| {
                    !TARGET_LABELS.contains(&label.as_str()) && !labels.contains(*label)
                })
                .map(move |label| {
                    format!("metric {name} has no label {label} in the scrape (it has {labels:?})")
                })
        });
        missing.into_iter().chain(unknown_labels)
    }
}

/// What differs between `metric` as `otelix::names` lists it and the family the scrape has.
fn family_problems(metric: &names::Metric, seen: &FamilySeen) -> Vec<String> {
    let name = metric.prometheus;
    let mut problems = Vec::new();
    if seen.metric_type.as_str() != metric.kind.prometheus_type() {
        problems.push(format!(
            "{name} is a {} in the scrape, a {} in otelix::names",
            seen.metric_type,
            metric.kind.prometheus_type()
        ));
    }
    if seen.help.as_deref() != Some(metric.description) {
        problems.push(format!(
            "{name}'s help is {:?} in the scrape, {:?} in otelix::names",
            seen.help, metric.description
        ));
    }
    // The instrumentation scope and the bucket bound are the bridge's, not the instrument's.
    let scraped: BTreeSet<&str> = seen
        .labels
        .keys()
        .map(String::as_str)
        .filter(|label| !label.starts_with("otel_scope_") && *label != "le")
        .collect();
    let listed: Vec<String> = metric.prometheus_labels().collect();
    let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    if scraped != listed {
        problems.push(format!(
            "{name} has the labels {scraped:?} in the scrape, {listed:?} in otelix::names"
        ));
    }
    for attribute in metric.attributes.iter().filter(|a| !a.values.is_empty()) {
        let label = attribute.prometheus_label();
        for value in seen.labels.get(&label).into_iter().flatten() {
            if !attribute.values.contains(&value.as_str()) {
                problems.push(format!(
                    "{name}{{{label}=\"{value}\"}}: otelix::names lists only {:?}",
                    attribute.values
                ));
            }
        }
    }
    problems
}

/// The rules file's expressions (place, PromQL) and the names its recording rules define.
struct Rules {
    expressions: Vec<(String, String)>,
    recorded: BTreeSet<String>,
}

fn rule_expressions(path: &std::path::Path) -> Rules {
    let text = std::fs::read_to_string(path).expect("the alert rules file");
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let mut rules = Rules {
        expressions: Vec::new(),
        recorded: BTreeSet::new(),
    };
    for group in file["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let expr = rule["expr"].as_str().expect("every rule has an expr");
            let place = match (rule["alert"].as_str(), rule["record"].as_str()) {
                (Some(alert), _) => format!("alert {alert}"),
                (None, Some(record)) => {
                    rules.recorded.insert(record.to_owned());
                    format!("recording rule {record}")
                }
                _ => panic!("a rule that neither alerts nor records: {rule:?}"),
            };
            rules.expressions.push((place, expr.to_owned()));
        }
    }
    rules
}

/// The dashboard's PromQL: every panel target and every query variable, with Grafana's
/// variables replaced as Grafana would (intervals by a duration, others by a regex).
fn dashboard_expressions(path: &std::path::Path) -> Vec<(String, String)> {
    fn panels<'a>(list: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            panels(&panel["panels"], out);
        }
    }
    let text = std::fs::read_to_string(path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut all = Vec::new();
    panels(&dashboard["panels"], &mut all);
    let mut expressions = Vec::new();
    for panel in all {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let place = format!(
                    "dashboard panel {:?} target {}",
                    panel["title"].as_str().unwrap_or("?"),
                    target["refId"].as_str().unwrap_or("?")
                );
                expressions.push((place, concrete(expr)));
            }
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(query) = variable["query"]["query"].as_str() else {
            continue;
        };
        // label_values(<selector>, <label>): the selector must exist and carry the label.
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .expect("query variables use label_values(selector, label)");
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values has two arguments");
        let selector = concrete(selector.trim());
        let selector = match selector.strip_suffix('}') {
            Some(open) => format!("{open},{}=~\".*\"}}", label.trim()),
            None => format!("{selector}{{{}=~\".*\"}}", label.trim()),
        };
        let place = format!(
            "dashboard variable {}",
            variable["name"].as_str().unwrap_or("?")
        );
        expressions.push((place, selector));
    }
    expressions
}

/// `expr` with Grafana's variables replaced: `$__rate_interval` and friends by a duration,
/// the dashboard's own variables by a match-anything regex.
fn concrete(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').expect("closed ${...}");
            (braced[..end].split(':').next().unwrap_or(""), end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        out.push_str(match name {
            "__rate_interval" | "__interval" => "5m",
            "__range" => "1h",
            _ => ".*",
        });
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn grafana_variables_are_replaced() {
    assert_eq!(
        concrete("rate(x{route=~\"$route\",job=~\"${job}\"}[$__rate_interval])"),
        "rate(x{route=~\".*\",job=~\".*\"}[5m])"
    );
    assert_eq!(concrete("x{a=~\"${v:regex}\"}"), "x{a=~\".*\"}");
}

#[test]
fn selectors_and_labels_are_found() {
    let found = selectors(
        "sum by (le) (rate(a_bucket{x=\"1\"}[5m])) / on() group_left b{y=~\"2\"} or {__name__=\"c\"}",
    )
    .unwrap();
    let names: Vec<_> = found.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a_bucket", "b", "c"]);
    assert_eq!(found[0].labels, ["x"]);
    assert_eq!(found[1].labels, ["y"]);
    assert!(selectors("rate(a[5m]").is_err());

    let scrape = Scrape::parse(
        &(0..11)
            .map(|i| format!("m{i}{{a=\"x\\\"}}, b=\\\\\",c=\"\"}} 1\n"))
            .collect::<String>(),
    );
    assert_eq!(
        scrape.labels["m0"],
        BTreeSet::from(["a".to_owned(), "c".to_owned()])
    );
    let recorded = BTreeSet::new();
    let missing = Selector {
        name: "m0".into(),
        labels: vec!["a".into(), "z".into(), "job".into()],
    };
    let problems: Vec<_> = scrape.check(&missing, &recorded).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no label z"));
    let unknown = Selector {
        name: "nope".into(),
        labels: vec![],
    };
    assert_eq!(scrape.check(&unknown, &recorded).count(), 1);
}

#[test]
fn a_scrape_is_held_against_the_names_module() {
    let cache = names::CACHE_REQUESTS;
    let mut text = format!(
        "# HELP {name} {help}\n# TYPE {name} counter\n\
         {name}{{cache_name=\"members\",cache_operation=\"get\",cache_result=\"stale\",otel_scope_name=\"otelix\"}} 1\n\
         # HELP {runs} Runs.\n# TYPE {runs} counter\n{runs}{{job_name=\"digest\",otel_scope_name=\"otelix\"}} 1\n\
         target_info{{service_name=\"wwmaa-backend\"}} 1\n",
        name = cache.prometheus,
        help = cache.description,
        runs = names::JOB_RUNS.prometheus,
    );
    text.extend((0..10).map(|i| format!("unlisted{i} 1\n")));
    let problems = Scrape::parse(&text).check_names();
    let has = |expected: &str| problems.iter().any(|p| p.contains(expected));

    assert!(
        has("otelix_cache_requests_total{cache_result=\"stale\"}"),
        "{problems:?}"
    );
    assert!(
        !has("otelix_cache_requests_total has the labels"),
        "{problems:?}"
    );
    assert!(has(
        "family unlisted0 is in the scrape but not in otelix::names"
    ));
    assert!(!has("target_info"), "{problems:?}");
    assert!(has(
        "otelix_job_runs_total has the labels {\"job_name\"} in the scrape"
    ));
    assert!(has("otelix_job_runs_total's help is Some(\"Runs.\")"));
    assert!(has(
        "otelix_job_duration_seconds (otelix.job.duration) is in otelix::names but not"
    ));
}
