//! Prometheus for the integration suites (`integration`, `stack`): the project's
//! `prometheus.yml` adapted to loopback, the real binary started on it, and its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{wait_listening, Process};

/// `docs/observability`, where `prometheus.yml`, its rule files and the dashboard live.
pub(crate) fn observability_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/observability")
        .canonicalize()
        .expect("docs/observability")
}

/// Where each job of `prometheus.yml` scrapes, all on loopback.
pub(crate) struct Targets {
    pub(crate) prometheus: SocketAddr,
    pub(crate) service: SocketAddr,
    /// `None` drops the `alertmanager` job and the `alerting` section: no Alertmanager runs.
    pub(crate) alertmanager: Option<SocketAddr>,
    /// The collector's Prometheus exporter (job `otel-collector-exporter`) and its own
    /// telemetry (job `otel-collector`); `None` drops both jobs, for a collector that has
    /// neither (rotel).
    pub(crate) collector: Option<CollectorTargets>,
}

/// The collector's two scrape targets.
pub(crate) struct CollectorTargets {
    pub(crate) exporter: SocketAddr,
    pub(crate) telemetry: SocketAddr,
}

/// The project's prometheus.yml with every address moved to loopback, one-second intervals
/// (the rule files copied into `dir` without their groups' intervals), and the jobs whose peer
/// does not run left out (see [`Targets`]).
pub(crate) fn loopback_config(dir: &Path, targets: &Targets) -> String {
    let obs = observability_dir();
    let text = std::fs::read_to_string(obs.join("prometheus.yml")).expect("prometheus.yml");
    let mut config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let global = &mut config["global"];
    global["scrape_interval"] = "1s".into();
    global["scrape_timeout"] = "1s".into();
    global["evaluation_interval"] = "1s".into();
    // The rule files, copied with their groups' own intervals removed: every group is
    // evaluated at the suite's one-second interval.
    let rules: Vec<serde_yaml_ng::Value> = config["rule_files"]
        .as_sequence()
        .expect("rule_files")
        .iter()
        .map(|file| {
            let file = file.as_str().expect("a path");
            let text = std::fs::read_to_string(obs.join(file)).expect("a rule file");
            let mut rules: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(&text).expect("valid YAML");
            for group in rules["groups"].as_sequence_mut().expect("groups") {
                if let Some(group) = group.as_mapping_mut() {
                    group.remove("interval");
                }
            }
            let copy = dir.join(file);
            std::fs::write(&copy, serde_yaml_ng::to_string(&rules).expect("YAML"))
                .expect("rule file copy");
            copy.display().to_string().into()
        })
        .collect();
    config["rule_files"] = rules.into();
    match targets.alertmanager {
        Some(alertmanager) => {
            config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] =
                vec![serde_yaml_ng::Value::from(alertmanager.to_string())].into();
        }
        None => {
            config
                .as_mapping_mut()
                .expect("a mapping")
                .remove("alerting");
        }
    }
    let jobs = config["scrape_configs"]
        .as_sequence_mut()
        .expect("scrape_configs");
    jobs.retain(|job| match job["job_name"].as_str().unwrap_or_default() {
        "alertmanager" => targets.alertmanager.is_some(),
        name if name.starts_with("otel-collector") => targets.collector.is_some(),
        _ => true,
    });
    for job in jobs.iter_mut() {
        let target = match (
            job["job_name"].as_str().expect("job_name"),
            &targets.collector,
        ) {
            ("prometheus", _) => targets.prometheus,
            ("wwmaa-backend", _) => targets.service,
            ("alertmanager", _) => targets.alertmanager.expect("kept only with one"),
            ("otel-collector-exporter", Some(collector)) => collector.exporter,
            ("otel-collector", Some(collector)) => collector.telemetry,
            (other, _) => panic!("prometheus.yml has a job this suite does not know: {other}"),
        };
        job["static_configs"][0]["targets"] =
            vec![serde_yaml_ng::Value::from(target.to_string())].into();
    }
    serde_yaml_ng::to_string(&config).expect("YAML")
}

/// Prometheus (`binary`) on `targets.prometheus` with [`loopback_config`] and exemplar storage
/// (as `docker-compose.yml` runs it), its files and data in `dir`; returns once it listens.
pub(crate) fn spawn(binary: &Path, dir: &Path, targets: &Targets) -> Process {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, loopback_config(dir, targets)).expect("prometheus config");
    let mut prometheus = Process::spawn(
        "prometheus",
        dir,
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom").display()
            ))
            .arg(format!("--web.listen-address={}", targets.prometheus))
            .arg("--enable-feature=exemplar-storage"),
    );
    wait_listening(&mut prometheus, targets.prometheus);
    prometheus
}

/// The single value of an instant-query result, if it has one series.
pub(crate) fn single_value(result: &serde_json::Value) -> Option<f64> {
    let series = result.as_array()?;
    if series.len() != 1 {
        return None;
    }
    series[0]["value"][1].as_str()?.parse().ok()
}

/// Prometheus's HTTP API.
pub(crate) struct PromApi {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
}

impl PromApi {
    pub(crate) async fn get(&self, path: &str) -> serde_json::Value {
        self.json(&format!("{}{path}", self.base)).await
    }

    /// The JSON body Prometheus answers at `url`.
    async fn json(&self, url: &str) -> serde_json::Value {
        self.client
            .get(url)
            .send()
            .await
            .expect("Prometheus answers")
            .json()
            .await
            .expect("JSON from Prometheus")
    }

    /// The `result` of an instant query; fails on a query error.
    pub(crate) async fn query(&self, expr: &str) -> serde_json::Value {
        let url =
            url::Url::parse_with_params(&format!("{}/api/v1/query", self.base), [("query", expr)])
                .expect("a query URL");
        let body = self.json(url.as_str()).await;
        assert_eq!(body["status"], "success", "query {expr}: {body}");
        body["data"]["result"].clone()
    }

    /// The `trace_id` of every exemplar of `selector` between `start` and `end` (Unix
    /// seconds), and Prometheus's whole answer (for a failure message).
    pub(crate) async fn exemplar_trace_ids(
        &self,
        selector: &str,
        start: f64,
        end: f64,
    ) -> (Vec<String>, serde_json::Value) {
        let url = url::Url::parse_with_params(
            &format!("{}/api/v1/query_exemplars", self.base),
            [
                ("query", selector.to_owned()),
                ("start", format!("{start}")),
                ("end", format!("{end}")),
            ],
        )
        .expect("a query URL");
        let body = self.json(url.as_str()).await;
        let trace_ids = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        (trace_ids, body)
    }
}
