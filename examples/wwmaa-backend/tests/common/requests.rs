//! Requests to the service: one sent and its reply read, or traffic that reaches every
//! instrument.

use super::unique_name;

/// A response's status, `X-Request-ID` and body as JSON (`Null` when empty).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
    pub(crate) body: serde_json::Value,
}

/// Sends `request` and reads the reply.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        request_id,
        body,
    }
}

/// One request of [`send_every_kind`]: which one (`"METHOD /path"`) and its reply.
pub(crate) struct Sent {
    pub(crate) what: String,
    pub(crate) reply: Reply,
}

/// Requests that reach every instrument of the service: each route, a 404, a cache miss then
/// a hit, a write, the four external APIs (through the sandbox) and a heavy report. Each must
/// get the status it is sent for.
pub(crate) async fn send_every_kind(client: &reqwest::Client, base: &str) -> Vec<Sent> {
    let email = format!("{}@example.org", unique_name("every_kind"));
    let requests: Vec<(reqwest::Method, String, Option<serde_json::Value>, u16)> = vec![
        (reqwest::Method::GET, "/health".into(), None, 200),
        (
            reqwest::Method::GET,
            "/api/members?status=active".into(),
            None,
            200,
        ),
        (reqwest::Method::GET, "/api/members/1".into(), None, 200),
        (reqwest::Method::GET, "/api/members/1".into(), None, 200),
        (
            reqwest::Method::GET,
            "/api/members/999999".into(),
            None,
            404,
        ),
        (
            reqwest::Method::POST,
            "/api/members".into(),
            Some(serde_json::json!({"name": "Every Kind", "email": email})),
            201,
        ),
        (
            reqwest::Method::PATCH,
            "/api/members/2".into(),
            Some(serde_json::json!({"status": "active", "tier": "standard"})),
            200,
        ),
        (
            reqwest::Method::POST,
            "/api/payments".into(),
            Some(serde_json::json!({"member_id": 1, "amount_cents": 4500, "currency": "EUR"})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/newsletter/subscribe".into(),
            Some(serde_json::json!({"email": email})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/videos/upload-url".into(),
            Some(serde_json::json!({"name": "Grading", "max_duration_seconds": 600})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/ai/classify".into(),
            Some(serde_json::json!({"text": "How do I pay my dues by card?"})),
            200,
        ),
        (
            reqwest::Method::GET,
            format!(
                "/api/reports/activity?window={}",
                wwmaa_backend::store::MAX_REPORT_WINDOW_DAYS
            ),
            None,
            200,
        ),
    ];
    let mut sent = Vec::with_capacity(requests.len());
    for (method, path, body, expected) in requests {
        let mut request = client.request(method.clone(), format!("{base}{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send(request).await;
        let what = format!("{method} {path}");
        assert_eq!(reply.status, expected, "{what}: {}", reply.body);
        sent.push(Sent { what, reply });
    }
    sent
}
