//! A local actix-web server that counts what it sees and issues its own X-Request-IDs, and a
//! helper that runs the real `otelix-perf` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    pub ok: AtomicU64,
    pub slow: AtomicU64,
    pub missing: AtomicU64,
    pub fail: AtomicU64,
    pub stall: AtomicU64,
    pub patch: AtomicU64,
    pub health: AtomicU64,
    /// Until the first /stall request takes it, that request stalls for a second.
    pub stall_armed: AtomicBool,
    next_id: AtomicU64,
    /// Every X-Request-ID the server returned.
    pub issued_ids: Mutex<HashSet<String>>,
    /// (content-type, body) of the PATCH requests.
    pub patch_bodies: Mutex<Vec<(String, String)>>,
}

impl Seen {
    fn reply(&self, status: StatusCode) -> HttpResponse {
        let id = format!(
            "{:032x}",
            0xabc0_0000_0000_u64 + self.next_id.fetch_add(1, SeqCst)
        );
        self.issued_ids.lock().unwrap().insert(id.clone());
        HttpResponse::build(status)
            .insert_header(("x-request-id", id))
            .body("done")
    }

    pub fn count(counter: &AtomicU64) -> u64 {
        counter.load(SeqCst)
    }
}

pub struct TestServer {
    pub base_url: String,
    pub seen: Arc<Seen>,
}

async fn ok(seen: web::Data<Seen>) -> HttpResponse {
    seen.ok.fetch_add(1, SeqCst);
    seen.reply(StatusCode::OK)
}

async fn health(seen: web::Data<Seen>) -> HttpResponse {
    seen.health.fetch_add(1, SeqCst);
    seen.reply(StatusCode::OK)
}

async fn slow(seen: web::Data<Seen>) -> HttpResponse {
    seen.slow.fetch_add(1, SeqCst);
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    seen.reply(StatusCode::OK)
}

async fn missing(seen: web::Data<Seen>) -> HttpResponse {
    seen.missing.fetch_add(1, SeqCst);
    seen.reply(StatusCode::NOT_FOUND)
}

async fn fail(seen: web::Data<Seen>) -> HttpResponse {
    seen.fail.fetch_add(1, SeqCst);
    seen.reply(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn stall(seen: web::Data<Seen>) -> HttpResponse {
    seen.stall.fetch_add(1, SeqCst);
    if seen.stall_armed.swap(false, SeqCst) {
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
    seen.reply(StatusCode::OK)
}

async fn patch(seen: web::Data<Seen>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    seen.patch.fetch_add(1, SeqCst);
    let content_type = request
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    seen.patch_bodies
        .lock()
        .unwrap()
        .push((content_type, String::from_utf8_lossy(&body).into_owned()));
    seen.reply(StatusCode::OK)
}

/// Starts a server on 127.0.0.1 with a free port, in its own thread; it lives until the test
/// process ends.
pub fn start_server() -> TestServer {
    let seen = Arc::new(Seen {
        stall_armed: AtomicBool::new(true),
        ..Seen::default()
    });
    let data = web::Data::from(seen.clone());
    let (sender, receiver) = mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/ok", web::get().to(ok))
                    .route("/health", web::get().to(health))
                    .route("/slow", web::get().to(slow))
                    .route("/missing", web::get().to(missing))
                    .route("/fail", web::get().to(fail))
                    .route("/stall", web::get().to(stall))
                    .route("/items/2", web::patch().to(patch))
            })
            .workers(2)
            .disable_signals()
            .bind("127.0.0.1:0")
            .expect("bind");
            sender.send(server.addrs()[0]).expect("send address");
            server.run().await.expect("server");
        });
    });
    let addr = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("server started");
    TestServer {
        base_url: format!("http://{addr}"),
        seen,
    }
}

/// Runs the otelix-perf binary.
pub fn perf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otelix-perf"))
        .args(args)
        .output()
        .expect("run otelix-perf")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Reads a JSON report.
pub fn read_report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

/// The report entry of an endpoint label such as `GET /ok`.
pub fn endpoint<'a>(report: &'a serde_json::Value, label: &str) -> &'a serde_json::Value {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == label)
        .unwrap_or_else(|| panic!("no endpoint {label} in {report}"))
}

/// Writes a file in a temporary directory.
pub fn write_file(dir: &tempfile::TempDir, name: &str, content: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}
