//! Prometheus scraping the service and evaluating the project's rules, Alertmanager with the
//! project's configuration, the dashboard's main queries, and promtool on a scrape.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::prometheus::{self as prom, PromApi};
use crate::common::{self, free_port, ok, wait_listening, Process};
use crate::run::Run;
use crate::Peers;

/// The dashboard panels whose queries must return data once the service has had traffic: the
/// request, database, cache, external-call and job panels (error-only panels stay empty on a
/// healthy run, and the collector's own panel has no collector metrics here: rotel exposes
/// none).
const MAIN_PANELS: &[&str] = &[
    "Request rate by route",
    "Request duration p50 / p95 / p99 by route (exemplars link to traces)",
    "Requests by status code",
    "Database operations by collection",
    "Database operation p95 / p99 (exemplars)",
    "Slow queries per minute by severity",
    "Cache hit ratio",
    "Cache requests by operation and result",
    "External call p95 / p99 by service (exemplars)",
    "External calls by service and status",
    "Job runs by outcome (per hour)",
    "Time since last success",
];

impl Run {
    /// Prometheus scrapes the service and evaluates the project's rules; Alertmanager runs the
    /// project's configuration; promtool accepts a scrape.
    pub(crate) async fn check_prometheus(&self, peers: &Peers) {
        let obs = prom::observability_dir();

        // Alertmanager with the project's file; the secret files it reads are made here.
        let secrets = self.dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).expect("secrets dir");
        for name in [
            "pager-webhook-url",
            "ticket-webhook-url",
            "slack-webhook-url",
        ] {
            std::fs::write(secrets.join(name), "http://127.0.0.1:9/hook\n").expect("secret file");
        }
        let am_config = std::fs::read_to_string(obs.join("alertmanager.yml"))
            .expect("alertmanager.yml")
            .replace("/etc/alertmanager/secrets", &secrets.display().to_string());
        let am_path = self.dir.path().join("alertmanager.yml");
        std::fs::write(&am_path, am_config).expect("alertmanager config");
        let am_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut alertmanager = Process::spawn(
            "alertmanager",
            self.dir.path(),
            Command::new(&peers.alertmanager)
                .arg(format!("--config.file={}", am_path.display()))
                .arg(format!(
                    "--storage.path={}",
                    self.dir.path().join("am").display()
                ))
                .arg(format!("--web.listen-address={am_addr}"))
                .arg("--cluster.listen-address="),
        );
        wait_listening(&mut alertmanager, am_addr);

        // Prometheus with the project's prometheus.yml, adapted to loopback.
        // (rotel has no metrics of its own: the collector jobs are left out.)
        let prom_addr = common::loopback();
        let prometheus = prom::spawn(
            &peers.prometheus,
            self.dir.path(),
            &prom::Targets {
                prometheus: prom_addr,
                service: self.service_addr,
                alertmanager: Some(am_addr),
                collector: None,
            },
        );
        let api = PromApi {
            base: format!("http://{prom_addr}"),
            client: self.client.clone(),
        };
        let tails = || {
            format!(
                "{}\n{}\n{}",
                prometheus.tail(),
                alertmanager.tail(),
                self.service.tail()
            )
        };

        // Traffic while Prometheus scrapes every second, so rates have two samples or more.
        let deadline = Instant::now() + Duration::from_secs(60);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let mut returned: BTreeSet<String> = self
            .sent
            .iter()
            .filter_map(|s| s.reply.request_id.clone())
            .collect();
        loop {
            returned.extend(
                common::send_every_kind(&self.client, &self.base)
                    .await
                    .into_iter()
                    .filter_map(|s| s.reply.request_id),
            );
            let up = api.query("up{job=\"wwmaa-backend\"}").await;
            let scrapes = api
                .query("count_over_time(up{job=\"wwmaa-backend\"}[1m])")
                .await;
            if prom::single_value(&up) == Some(1.0)
                && prom::single_value(&scrapes).is_some_and(|n| n >= 4.0)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not scrape the service: up = {up}\n{}",
                tails()
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        }
        ok("Prometheus scrapes /metrics: up{job=\"wwmaa-backend\"} == 1");

        // Exemplar storage holds trace IDs from the request histogram's buckets, and each is an
        // X-Request-ID the service returned to this client.
        let (trace_ids, body) = api
            .exemplar_trace_ids(
                // The API's routes: the sandbox's are served to the service itself (its
                // dunning job among the callers), not to this client.
                "http_server_request_duration_seconds_bucket{http_route=~\"/api/.*\"}",
                started - 60.0,
                started + 600.0,
            )
            .await;
        assert!(
            !trace_ids.is_empty(),
            "no exemplars in Prometheus: {body}\n{}",
            tails()
        );
        let unknown: Vec<&String> = trace_ids
            .iter()
            .filter(|id| !returned.contains(*id))
            .collect();
        assert!(
            unknown.is_empty(),
            "exemplar trace IDs that no response carried as X-Request-ID: {unknown:?}"
        );
        ok(&format!(
            "Prometheus exemplar storage: {} exemplars on http_server_request_duration_seconds_bucket, each an X-Request-ID the service returned",
            trace_ids.len()
        ));

        // Every rule evaluated without error (after at least one evaluation of every group).
        let deadline = Instant::now() + Duration::from_secs(30);
        let (rules, groups) = loop {
            let body = api.get("/api/v1/rules").await;
            let groups = body["data"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let evaluated = !groups.is_empty()
                && groups.iter().all(|g| {
                    g["lastEvaluation"]
                        .as_str()
                        .is_some_and(|t| !t.starts_with("0001-"))
                });
            if evaluated {
                // One more interval, so that every rule has its own evaluation result.
                actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
                let body = api.get("/api/v1/rules").await;
                let groups = body["data"]["groups"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let rules: Vec<serde_json::Value> = groups
                    .iter()
                    .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                    .collect();
                break (rules, groups.len());
            }
            assert!(
                Instant::now() < deadline,
                "rules not evaluated: {body}\n{}",
                tails()
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        };
        let broken: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{} ({}): {}", r["name"], r["health"], r["lastError"]))
            .collect();
        assert!(
            broken.is_empty(),
            "rules with errors:\n{}\n{}",
            broken.join("\n"),
            tails()
        );
        let alerts = rules.iter().filter(|r| r["type"] == "alerting").count();
        ok(&format!(
            "Prometheus evaluates {} rules in {groups} groups ({alerts} alerts) with no errors",
            rules.len()
        ));

        // Alertmanager is Prometheus's active Alertmanager.
        let managers = api.get("/api/v1/alertmanagers").await;
        let active = managers["data"]["activeAlertmanagers"].to_string();
        assert!(
            active.contains(&am_addr.to_string()),
            "Alertmanager {am_addr} not active: {managers}\n{}",
            tails()
        );
        ok(&format!("Alertmanager on {am_addr} runs alertmanager.yml and is Prometheus's active Alertmanager"));

        // The dashboard's main queries return data.
        let dashboard: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(obs.join("grafana-dashboard.json")).expect("dashboard"),
        )
        .expect("dashboard JSON");
        let mut seen = BTreeSet::new();
        let mut queried = 0;
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or_default();
            if !MAIN_PANELS.contains(&title) {
                continue;
            }
            seen.insert(title.to_owned());
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = grafana_concrete(target["expr"].as_str().expect("expr"));
                let result = api.query(&expr).await;
                let series = result.as_array().map_or(0, Vec::len);
                assert!(
                    series > 0,
                    "dashboard panel {title:?} returns no data for {expr}\n{}",
                    tails()
                );
                queried += 1;
            }
        }
        let missing: Vec<_> = MAIN_PANELS.iter().filter(|t| !seen.contains(**t)).collect();
        assert!(
            missing.is_empty(),
            "dashboard panels not found: {missing:?}"
        );
        ok(&format!(
            "{queried} queries of {} main dashboard panels return data",
            MAIN_PANELS.len()
        ));

        // promtool check metrics on a scrape.
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("scrape body");
        let mut promtool = Command::new(&peers.promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool runs");
        promtool
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
        let output = promtool.wait_with_output().expect("promtool ends");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success() && report.trim().is_empty(),
            "promtool check metrics reports problems:\n{report}"
        );
        ok(&format!(
            "promtool check metrics: no problems in a {}-line scrape",
            text.lines().count()
        ));
        drop(prometheus);
        drop(alertmanager);
    }
}

fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(list: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A dashboard expression as Grafana sends it for this run: the service's job, every route,
/// and one-minute windows.
fn grafana_concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$job", "wwmaa-backend")
        .replace("$route", ".*")
}
