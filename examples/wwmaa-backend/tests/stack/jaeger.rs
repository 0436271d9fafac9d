//! Jaeger's HTTP query API, and the traces it returns.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::WAIT;

/// Jaeger's HTTP query API (`/api/traces/<trace-id>`, the one its UI reads).
pub(crate) struct Jaeger {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
}

impl Jaeger {
    /// The trace `id` as Jaeger returns it now; no spans when it has none.
    async fn trace(&self, id: &str) -> JaegerTrace {
        let response = self
            .client
            .get(format!("{}/api/traces/{id}", self.base))
            .send()
            .await
            .expect("Jaeger answers");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON from Jaeger");
        if status == reqwest::StatusCode::NOT_FOUND {
            return JaegerTrace {
                spans: Vec::new(),
                raw: body,
            };
        }
        assert!(status.is_success(), "Jaeger: {status}: {body}");
        JaegerTrace::parse(body)
    }

    /// Polls trace `id` until `complete` accepts it, for up to [`WAIT`]: spans reach Jaeger in
    /// batches, a service's at a time. Otherwise the last problem and trace.
    pub(crate) async fn wait_for(
        &self,
        id: &str,
        complete: impl Fn(&JaegerTrace) -> Result<(), String>,
    ) -> Result<JaegerTrace, (String, JaegerTrace)> {
        let deadline = Instant::now() + WAIT;
        loop {
            let trace = self.trace(id).await;
            let problem = if trace.spans.is_empty() {
                "Jaeger has no such trace".to_owned()
            } else {
                match complete(&trace) {
                    Ok(()) => return Ok(trace),
                    Err(problem) => problem,
                }
            };
            if Instant::now() > deadline {
                return Err((problem, trace));
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A trace from Jaeger's API.
pub(crate) struct JaegerTrace {
    pub(crate) spans: Vec<JaegerSpan>,
    raw: serde_json::Value,
}

/// One span of a [`JaegerTrace`]: its tags (span attributes, `span.kind`, `otel.status_code`,
/// `error`) and its process's (the resource).
pub(crate) struct JaegerSpan {
    pub(crate) span_id: String,
    pub(crate) parent: Option<String>,
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) resource: BTreeMap<String, String>,
}

impl JaegerSpan {
    pub(crate) fn tag(&self, key: &str) -> Option<String> {
        self.tags.get(key).cloned()
    }

    pub(crate) fn resource(&self, key: &str) -> Option<String> {
        self.resource.get(key).cloned()
    }

    pub(crate) fn kind(&self) -> Option<&str> {
        self.tags.get("span.kind").map(String::as_str)
    }
}

/// Jaeger's tags as `key -> value` text (numbers and booleans as JSON prints them).
fn tags(list: &serde_json::Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            let key = tag["key"].as_str()?.to_owned();
            let value = match &tag["value"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((key, value))
        })
        .collect()
}

impl JaegerTrace {
    fn parse(raw: serde_json::Value) -> JaegerTrace {
        let data = &raw["data"][0];
        let spans = data["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|span| {
                let process = &data["processes"][span["processID"].as_str().unwrap_or_default()];
                JaegerSpan {
                    span_id: span["spanID"].as_str().unwrap_or_default().to_owned(),
                    parent: span["references"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|r| r["refType"] == "CHILD_OF")
                        .and_then(|r| r["spanID"].as_str())
                        .map(str::to_owned),
                    name: span["operationName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    service: process["serviceName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    tags: tags(&span["tags"]),
                    resource: tags(&process["tags"]),
                }
            })
            .collect();
        JaegerTrace { spans, raw }
    }

    /// The span without a parent; `Err` unless there is exactly one.
    pub(crate) fn root(&self) -> Result<&JaegerSpan, String> {
        let roots: Vec<&JaegerSpan> = self.spans.iter().filter(|s| s.parent.is_none()).collect();
        match roots.as_slice() {
            [root] => Ok(root),
            _ => Err(format!(
                "{} spans without a parent, expected one",
                roots.len()
            )),
        }
    }

    pub(crate) fn children_of(&self, parent: &JaegerSpan) -> Vec<&JaegerSpan> {
        self.spans
            .iter()
            .filter(|s| s.parent.as_deref() == Some(parent.span_id.as_str()))
            .collect()
    }

    /// One line per span (service, kind, name, parent), or the raw answer when it has none.
    pub(crate) fn describe(&self) -> String {
        if self.spans.is_empty() {
            return self.raw.to_string();
        }
        self.spans
            .iter()
            .map(|s| {
                format!(
                    "  {} {} {:?} {:?} span {} parent {:?} tags {:?}",
                    s.service,
                    s.kind().unwrap_or("?"),
                    s.name,
                    s.tag("otel.status_code"),
                    s.span_id,
                    s.parent,
                    s.tags
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
