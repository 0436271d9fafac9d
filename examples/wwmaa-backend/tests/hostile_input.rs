//! Hostile input against the real binary: what an attacker controls must not decide how many
//! metric series exist or how much memory telemetry holds.
//!
//! - Cardinality: floods of requests with random paths, random methods, random query strings
//!   and propagation headers full of distinct entries (32 and 33 `tracestate` members,
//!   `baggage` of 64, 180 and more entries, up to and past its 8192-byte limit). The series of
//!   every metric family are exactly the same after the third flood as after the first, the
//!   route and method labels take only the values the route table and the semantic conventions
//!   allow (`_OTHER`, no route for unmatched paths), and the process's resident memory stops
//!   growing once warm.
//! - Resources: 50 MiB bodies (with a length, chunked, to a JSON endpoint and to no route),
//!   chunked bodies that never end and slowloris clients that send a header one byte at a time.
//!   The service keeps answering, its memory stays far below one such body, every request
//!   that began is counted as finished once its client is gone, and no body reaches a span, a
//!   log record or a log line.
//!
//! The requests are written on raw TCP connections, since no HTTP client sends methods such
//! as `Zq7`, never-ending bodies or half headers. Resident memory comes from
//! `/proc/<pid>/status`: on other systems those assertions are skipped with a note.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{free_port, wait_listening, Process, WAIT};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::exposition::{Labels, Sample};
use otelix_testkit::{AttrValue, Receiver};

/// Requests per flood. Each carries about 9 KB of input that no other request repeats (1.2 KB
/// of path and query, 0.5 KB of `tracestate`, 7 KB of `baggage` on average), so a flood is
/// some 27 MB of distinct paths, queries and headers.
const FLOOD: usize = 3_000;
/// Keep-alive connections per flood.
const CONNECTIONS: usize = 8;
/// Allowed growth of resident memory from the end of the second flood to the end of the
/// third. Allocator arenas and pools are warm by then, so what remains is noise: 0.1 to
/// 0.2 MiB measured. Keeping each SERVER span of the third flood (its path, query and user
/// agent alone are 1.3 KB) would add about 4 MiB, keeping its `baggage` 20 MiB.
const FLAT_RSS_BYTES: u64 = 3 << 20;
/// The longest `tracestate` otelix propagates, and so keeps in the span context.
const MAX_TRACESTATE_LEN: usize = 512;

/// A body too large for any endpoint of the service.
const HUGE_BODY: usize = 50 << 20;
/// Slowloris connections held open at once.
const SLOW_CLIENTS: usize = 200;
/// Endless chunked bodies held open at once.
const ENDLESS_BODIES: usize = 8;
/// Allowed growth of resident memory while the 50 MiB bodies, the endless bodies and the
/// slowloris clients are all being served: a quarter of one body. What the service holds for
/// them is bounded by its limits (a 64 KiB JSON body, actix-web's read buffers per connection),
/// about 3 MiB measured; buffering any one body would take 50 MiB.
const HOSTILE_RSS_BYTES: u64 = HUGE_BODY as u64 / 4;

/// The requests of a flood, each with the status it must get and the labels it must be
/// counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `GET /x/<random>?<random>=<random>`: no route.
    UnmatchedGet,
    /// `<random method> /x/<random>`: no route, an unknown method.
    UnmatchedOther,
    /// `GET /api/members/z<random>`: the route, an ID that does not parse.
    BadId,
    /// `GET /api/members/<random number>`: the route, a member that does not exist (a
    /// database query and a cache miss each time).
    MissingId,
    /// `<random method> /api/members/<random>`: the route, a method it does not allow.
    MemberOther,
    /// `GET /api/members?q<random>=<random>`: the route, an unknown query parameter.
    BadQuery,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::UnmatchedGet,
        Kind::UnmatchedOther,
        Kind::BadId,
        Kind::MissingId,
        Kind::MemberOther,
        Kind::BadQuery,
    ];

    fn status(self) -> u16 {
        match self {
            Kind::UnmatchedGet | Kind::UnmatchedOther | Kind::MissingId => 404,
            Kind::BadId | Kind::BadQuery => 400,
            Kind::MemberOther => 405,
        }
    }

    /// `(http_request_method, http_route, http_response_status_code)` of its series.
    fn series(self) -> Series {
        let (method, route) = match self {
            Kind::UnmatchedGet => ("GET", None),
            Kind::UnmatchedOther => ("_OTHER", None),
            Kind::BadId | Kind::MissingId => ("GET", Some("/api/members/{id}")),
            Kind::MemberOther => ("_OTHER", Some("/api/members/{id}")),
            Kind::BadQuery => ("GET", Some("/api/members")),
        };
        (
            method.to_owned(),
            route.map(str::to_owned),
            self.status().to_string(),
        )
    }
}

type Series = (String, Option<String>, String);

/// The values `http.request.method` may take: the methods the semantic conventions know, and
/// `_OTHER` for every other.
const KNOWN_METHODS: [&str; 10] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "_OTHER",
];

/// xorshift64*: reproducible from the seed printed on failure, and no dependency.
struct Rng(u64);

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a path segment, `%` included so that percent-escapes appear (valid or not).
const PATH_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%";
/// Characters of a method: the HTTP token characters actix-web's parser accepts (it answers
/// 400 itself, before any middleware, to `#`, `$`, `&` and `'`).
const METHOD_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-.^_|~";

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// `len` characters of `alphabet`, eight from each draw (the floods need megabytes).
    fn text(&mut self, len: usize, alphabet: &[u8]) -> String {
        let mut text = String::with_capacity(len);
        let mut bits = 0;
        for i in 0..len {
            if i % 8 == 0 {
                bits = self.next();
            }
            text.push(char::from(
                alphabet[(bits & 0xff) as usize % alphabet.len()],
            ));
            bits >>= 8;
        }
        text
    }

    /// Between `low` and `high` characters of `alphabet`.
    fn word(&mut self, low: usize, high: usize, alphabet: &[u8]) -> String {
        let len = self.between(low, high);
        self.text(len, alphabet)
    }

    fn hex(&mut self, digits: usize) -> String {
        self.text(digits, b"0123456789abcdef")
    }
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// The `tracestate` a request carries, named in its `User-Agent` so that its span can be
/// checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TraceState {
    None,
    /// 32 members, the most the specification allows, about 700 characters.
    Full,
    /// 33 members: invalid, so dropped whole.
    TooMany,
}

impl TraceState {
    fn tag(self) -> &'static str {
        match self {
            TraceState::None => "ts0",
            TraceState::Full => "ts32",
            TraceState::TooMany => "ts33",
        }
    }
}

fn tracestate(rng: &mut Rng, members: usize) -> String {
    (0..members)
        .map(|i| {
            let key = format!("k{i}{}", rng.word(4, 10, LOWER_DIGITS));
            let value = rng.word(8, 14, ALNUM);
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `entries` distinct baggage entries with values of `value_len` characters.
fn baggage(rng: &mut Rng, entries: usize, value_len: usize) -> String {
    (0..entries)
        .map(|i| {
            format!(
                "b{i}{}={}",
                rng.text(6, LOWER_DIGITS),
                rng.text(value_len, ALNUM)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One request of `kind` with random everything else.
fn hostile_request(rng: &mut Rng, kind: Kind) -> Vec<u8> {
    let random_method = |rng: &mut Rng| {
        // `Z` first, so that it is never a method the conventions know.
        format!("Z{}", rng.word(2, 40, METHOD_CHARS))
    };
    let (method, target) = match kind {
        Kind::UnmatchedGet => (
            "GET".to_owned(),
            format!(
                "/x/{}?{}={}",
                rng.word(1000, 2000, PATH_CHARS),
                rng.word(1, 40, ALNUM),
                rng.word(500, 1500, ALNUM)
            ),
        ),
        Kind::UnmatchedOther => (
            random_method(rng),
            format!("/x/{}", rng.word(1000, 2000, PATH_CHARS)),
        ),
        Kind::BadId => (
            "GET".to_owned(),
            format!("/api/members/z{}", rng.word(500, 1500, ALNUM)),
        ),
        Kind::MissingId => (
            "GET".to_owned(),
            format!("/api/members/{}", 100_000_000 + rng.below(900_000_000)),
        ),
        Kind::MemberOther => (
            random_method(rng),
            format!("/api/members/{}", rng.word(500, 1500, ALNUM)),
        ),
        Kind::BadQuery => (
            "GET".to_owned(),
            format!(
                "/api/members?q{}={}",
                rng.word(1, 60, ALNUM),
                rng.word(500, 1900, ALNUM)
            ),
        ),
    };
    let state = [TraceState::None, TraceState::Full, TraceState::TooMany][rng.below(3)];
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hostile/{}/{}\r\nX-Request-ID: {}\r\ntraceparent: 00-{}-{}-01\r\n",
        state.tag(),
        rng.word(10, 200, ALNUM),
        rng.word(1, 100, ALNUM),
        rng.hex(32),
        rng.hex(16),
    );
    match state {
        TraceState::None => {}
        TraceState::Full => head.push_str(&format!("tracestate: {}\r\n", tracestate(rng, 32))),
        TraceState::TooMany => head.push_str(&format!("tracestate: {}\r\n", tracestate(rng, 33))),
    }
    match rng.below(4) {
        0 => {}
        // Within the 8192-byte limit: 64 entries (the most kept) and 180 (cut to 64).
        1 => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 64, 110))),
        2 => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 180, 35))),
        // Past it (about 13 KB): dropped whole.
        _ => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 300, 35))),
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A response read from a raw connection.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Reads one HTTP/1.1 response (a `Content-Length` or chunked body).
fn read_response(reader: &mut impl BufRead) -> std::io::Result<Response> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not a status line: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(std::io::Error::other)?;
        response.body.resize(length, 0);
        reader.read_exact(&mut response.body)?;
    } else if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim_end(), 16).map_err(std::io::Error::other)?;
            let start = response.body.len();
            response.body.resize(start + size, 0);
            reader.read_exact(&mut response.body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    }
    Ok(response)
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("the service accepts a connection");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream.set_nodelay(true).expect("nodelay");
    BufReader::new(stream)
}

/// `GET path` on a connection of its own.
fn get(addr: SocketAddr, path: &str) -> Response {
    let mut connection = connect(addr);
    connection
        .get_mut()
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .expect("request written");
    read_response(&mut connection).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Sends `FLOOD` requests of every kind in turn over `CONNECTIONS` keep-alive connections;
/// each must get its kind's status. Returns how many requests of each kind were sent.
fn flood(addr: SocketAddr, seed: u64) -> BTreeMap<Kind, usize> {
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|thread| {
            std::thread::spawn(move || {
                let mut rng =
                    Rng::new(seed ^ (thread as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut connection = connect(addr);
                let mut sent = BTreeMap::new();
                for i in (thread..FLOOD).step_by(CONNECTIONS) {
                    let kind = Kind::ALL[i % Kind::ALL.len()];
                    let request = hostile_request(&mut rng, kind);
                    connection
                        .get_mut()
                        .write_all(&request)
                        .unwrap_or_else(|e| panic!("seed {seed}: writing a {kind:?} request: {e}"));
                    let response = read_response(&mut connection).unwrap_or_else(|e| {
                        panic!("seed {seed}: no response to a {kind:?} request: {e}")
                    });
                    assert_eq!(
                        response.status,
                        kind.status(),
                        "seed {seed}: {kind:?}: {}\n{}",
                        String::from_utf8_lossy(&response.body),
                        String::from_utf8_lossy(&request[..request.len().min(300)])
                    );
                    *sent.entry(kind).or_insert(0) += 1;
                    if response.closes() {
                        connection = connect(addr);
                    }
                }
                sent
            })
        })
        .collect();
    let mut total = BTreeMap::new();
    for thread in threads {
        for (kind, count) in thread.join().expect("a flood connection failed") {
            *total.entry(kind).or_insert(0) += count;
        }
    }
    total
}

/// The series of a scrape: every sample's name and labels.
fn series_of(page: &str) -> BTreeSet<(String, Labels)> {
    common::exposition(page)
        .samples()
        .map(|sample| (sample.name().to_owned(), sample.labels().clone()))
        .collect()
}

/// `(method, route, status)` of each `http.server.request.duration` series.
fn duration_series(page: &str) -> BTreeSet<Series> {
    common::exposition(page)
        .find("http_server_request_duration_seconds_count", &[])
        .into_iter()
        .map(|s| {
            (
                s.labels()["http_request_method"].clone(),
                s.labels().get("http_route").cloned(),
                s.labels()["http_response_status_code"].clone(),
            )
        })
        .collect()
}

/// The sum of `http_server_active_requests` over its series.
fn active_requests(page: &str) -> f64 {
    common::exposition(page)
        .find("http_server_active_requests", &[])
        .into_iter()
        .map(Sample::value)
        .sum()
}

/// Resident memory of `pid` in bytes, from `/proc/<pid>/status`; `None` where there is no
/// such file (not Linux).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Waits until no request is in flight and no span has arrived for half a second: with a
/// 100 ms export delay, the span queue is then empty, so memory is measured at rest.
fn wait_quiet(addr: SocketAddr, receiver: &Receiver, service: &Process) {
    let deadline = Instant::now() + WAIT;
    let mut last = receiver.counts().spans;
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = receiver.counts().spans;
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(500)
            && active_requests(&metrics_page(addr)) == 0.0
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the service never went quiet\n{}",
            service.tail()
        );
    }
}

fn metrics_page(addr: SocketAddr) -> String {
    let response = get(addr, "/metrics");
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).expect("UTF-8 metrics")
}

/// The real binary on a free port with SQLite in `dir`, exporting traces, metrics and logs to
/// `receiver`.
fn spawn_service(dir: &Path, receiver: &Receiver) -> (Process, SocketAddr) {
    let database_url = format!("sqlite://{}", dir.join("wwmaa.db").display());
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut service = Process::spawn(
        "wwmaa-backend",
        dir,
        common::service_command(
            addr,
            &database_url,
            &receiver.grpc_endpoint(),
            "grpc",
            &dir.join("slow_queries.log"),
        )
        .env("APP_ENV", "development")
        .env("SANDBOX_LATENCY_MS", "2"),
    );
    wait_listening(&mut service, addr);
    (service, addr)
}

#[test]
fn random_paths_methods_queries_and_propagation_headers_keep_series_and_memory_bounded() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::start().expect("receiver");
    let (mut service, addr) = spawn_service(dir.path(), &receiver);
    let pid = service.child.id();
    let seed = seed();

    // The dunning job runs once at start-up and calls the sandbox (POST /sandbox/...): its
    // series come before the first scrape, so that later scrapes differ only by the floods.
    let deadline = Instant::now() + WAIT;
    while !metrics_page(addr).contains("otelix_job_duration_seconds_count") {
        assert!(
            Instant::now() < deadline,
            "the start-up job run never finished\n{}",
            service.tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut rss = Vec::new();
    let mut pages = Vec::new();
    for round in 0..3_u64 {
        let sent = flood(addr, seed.wrapping_add(round));
        assert_eq!(sent.values().sum::<usize>(), FLOOD);
        wait_quiet(addr, &receiver, &service);
        rss.push(rss_bytes(pid));
        pages.push(metrics_page(addr));
        if round == 0 {
            check_spans(&receiver, seed);
        }
        receiver.clear();
    }

    // Exactly the series the route table and the conventions allow, one per kind of request:
    // unmatched paths have no route, unknown methods are `_OTHER`. Every request had a path of
    // its own, a third of them a method of their own.
    let expected: BTreeSet<Series> = Kind::ALL.iter().map(|k| k.series()).collect();
    for (round, page) in pages.iter().enumerate() {
        let flood_series: BTreeSet<Series> = duration_series(page)
            .into_iter()
            .filter(|(_, route, _)| !route.as_deref().is_some_and(|r| r.starts_with("/sandbox/")))
            .collect();
        assert_eq!(
            flood_series,
            expected,
            "seed {seed}: after flood {}",
            round + 1
        );
        // One series per method and scheme that requests used, bound with the first of them
        // (the floods' and the start-up job's calls to the sandbox): no series for the known
        // methods nobody sent, none per unknown method.
        let method_and_scheme = |s: &Sample| {
            (
                s.labels()["http_request_method"].clone(),
                s.labels()["url_scheme"].clone(),
            )
        };
        let exposition = common::exposition(page);
        let active: BTreeSet<(String, String)> = exposition
            .find("http_server_active_requests", &[])
            .into_iter()
            .map(method_and_scheme)
            .collect();
        let expected_active: BTreeSet<(String, String)> = exposition
            .find("http_server_request_duration_seconds_count", &[])
            .into_iter()
            .map(method_and_scheme)
            .collect();
        assert!(
            active.iter().all(|(method, scheme)| {
                KNOWN_METHODS.contains(&method.as_str())
                    && ["http", "https"].contains(&scheme.as_str())
            }),
            "seed {seed}: {active:?}"
        );
        assert_eq!(
            active,
            expected_active,
            "seed {seed}: after flood {}",
            round + 1
        );
    }
    // Every family: the same series after the third flood as after the first.
    let (first, last) = (series_of(&pages[0]), series_of(&pages[2]));
    let added: Vec<_> = last.difference(&first).collect();
    let removed: Vec<_> = first.difference(&last).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "seed {seed}: series appeared {added:#?} or disappeared {removed:#?}"
    );
    eprintln!(
        "{} series on /metrics after each flood; {} http.server.request.duration series",
        last.len(),
        duration_series(&pages[2]).len()
    );

    match rss.as_slice() {
        [Some(warm), Some(second), Some(third)] => {
            eprintln!(
                "resident memory after floods 1, 2, 3: {:.1} MiB, {:.1} MiB, {:.1} MiB",
                mib(*warm),
                mib(*second),
                mib(*third)
            );
            assert!(
                third.saturating_sub(*second) <= FLAT_RSS_BYTES,
                "seed {seed}: resident memory grew by {:.1} MiB over the third flood (allowed {:.1} MiB): {:.1}, {:.1}, {:.1} MiB",
                mib(third - second),
                mib(FLAT_RSS_BYTES),
                mib(*warm),
                mib(*second),
                mib(*third)
            );
        }
        _ => eprintln!("memory not checked: /proc/<pid>/status is Linux-only"),
    }
    service.terminate();
}

/// The spans of the first flood: one SERVER span per request, continuing the caller's trace,
/// its `tracestate` cut to 512 characters, or dropped when invalid.
fn check_spans(receiver: &Receiver, seed: u64) {
    let spans = receiver.spans();
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Server)
        .filter_map(|s| Some((s, s.attr_str("user_agent.original")?)))
        .filter(|(_, ua)| ua.starts_with("hostile/"))
        .collect();
    // The export queue (8192 spans) holds a whole flood, so none is dropped.
    assert_eq!(
        servers.len(),
        FLOOD,
        "seed {seed}: one SERVER span per request"
    );
    let mut seen = BTreeMap::new();
    for (span, ua) in servers {
        let state = &span.span.trace_state;
        let tag = ua.split('/').nth(1).unwrap_or_default();
        *seen.entry(tag.to_owned()).or_insert(0) += 1;
        assert!(
            span.parent_span_id().is_some(),
            "seed {seed}: the traceparent is continued"
        );
        match tag {
            "ts0" | "ts33" => assert_eq!(state, "", "seed {seed}: {tag}"),
            "ts32" => assert!(
                !state.is_empty() && state.len() <= MAX_TRACESTATE_LEN && state.starts_with("k0"),
                "seed {seed}: {tag}: {state}"
            ),
            other => panic!("seed {seed}: unexpected user agent tag {other}"),
        }
    }
    assert_eq!(
        seen.len(),
        3,
        "seed {seed}: every tracestate variant seen: {seen:?}"
    );
}

/// A client that sends a request head one byte every 100 ms and never finishes it.
struct SlowClient {
    stream: TcpStream,
    head: Vec<u8>,
    sent: usize,
    /// When the server closed the connection (or answered it).
    closed: Option<Instant>,
}

impl SlowClient {
    fn open(addr: SocketAddr, rng: &mut Rng) -> Self {
        let stream = TcpStream::connect(addr).expect("slow client connects");
        stream.set_nonblocking(true).expect("nonblocking");
        // Long enough that it never ends at one byte per 100 ms within the test.
        let head = format!(
            "POST /api/members HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {}",
            rng.text(4096, ALNUM)
        )
        .into_bytes();
        SlowClient {
            stream,
            head,
            sent: 0,
            closed: None,
        }
    }

    /// The next byte, and whether the server has closed the connection meanwhile.
    fn tick(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let mut buf = [0u8; 1024];
        match self.stream.read(&mut buf) {
            // EOF, or an answer (actix-web's 408): the server gave up on this client.
            Ok(_) => self.closed = Some(Instant::now()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => self.closed = Some(Instant::now()),
        }
        if self.closed.is_none() {
            if let Some(byte) = self.head.get(self.sent..=self.sent) {
                match self.stream.write(byte) {
                    Ok(_) => self.sent += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => self.closed = Some(Instant::now()),
                }
            }
        }
    }
}

/// Sends a request head then `total` bytes of `chunk` (as chunked encoding, never finished,
/// when `chunked`) whatever the server answers meanwhile, as a hostile client would; stops
/// only when the server closes the connection. Returns the answer's status and how many body
/// bytes were sent.
fn huge_upload(
    addr: SocketAddr,
    head: String,
    chunk: Vec<u8>,
    total: usize,
    chunked: bool,
) -> (u16, usize) {
    let mut connection = connect(addr);
    let mut writer = connection.get_ref().try_clone().expect("clone");
    let uploader = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let mut sent = 0;
        while sent < total {
            let result = if chunked {
                writer
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| writer.write_all(&chunk))
                    .and_then(|()| writer.write_all(b"\r\n"))
            } else {
                writer.write_all(&chunk)
            };
            if result.is_err() {
                // The server closed the connection.
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let response = read_response(&mut connection);
    let sent = uploader.join().expect("uploader");
    (response.map_or(0, |r| r.status), sent)
}

#[test]
fn huge_and_endless_bodies_and_slowloris_clients_do_not_grow_memory_or_reach_telemetry() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::start().expect("receiver");
    let (mut service, addr) = spawn_service(dir.path(), &receiver);
    let pid = service.child.id();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let marker = format!("zqbody{:x}", seed & 0xffff_ffff);

    // Warm: every kind of request the round below sends, once, so pools and arenas exist.
    for path in ["/api/members/1", "/api/members?status=active", "/x/warm"] {
        let status = get(addr, path).status;
        assert!(matches!(status, 200 | 404), "{path}: {status}");
    }
    let small = format!("{{\"name\":\"{marker}\",\"email\":\"{marker}@example.org\",\"x\":\"");
    let (warm, _) = huge_upload(
        addr,
        "POST /api/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
        format!("{small}{}", marker.repeat(4096 / marker.len())).into_bytes(),
        256 << 10,
        true,
    );
    assert_eq!(warm, 413, "a chunked JSON body past 64 KiB");
    wait_quiet(addr, &receiver, &service);
    let before = rss_bytes(pid);

    // Slowloris: all connected and trickling before anything else starts.
    let mut slow: Vec<SlowClient> = (0..SLOW_CLIENTS)
        .map(|_| SlowClient::open(addr, &mut rng))
        .collect();
    let slow_started = Instant::now();
    let slow_thread = std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline && slow.iter().any(|c| c.closed.is_none()) {
            for client in &mut slow {
                client.tick();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        slow
    });

    // Endless chunked bodies to a JSON endpoint, under its limit: the requests stay in flight.
    let endless: Vec<TcpStream> = (0..ENDLESS_BODIES)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("connects");
            stream
                .write_all(
                    format!("POST /api/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{small}{marker}\r\n", small.len() + marker.len())
                        .as_bytes(),
                )
                .expect("endless body starts");
            stream
        })
        .collect();

    // Peak memory, sampled while the round runs.
    let peak = Arc::new(AtomicU64::new(before.unwrap_or(0)));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                if let Some(rss) = rss_bytes(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // Three 50 MiB bodies at once: with a length and chunked to a JSON endpoint (64 KiB
    // limit), and with a length to a path no route matches (nothing reads the body).
    let filler = format!("{small}{}", marker.repeat(65536 / marker.len())).into_bytes();
    let uploads: Vec<_> = [
        ("/api/members", false, 413),
        ("/api/members", true, 413),
        ("/x/nothing-reads-this", false, 404),
    ]
    .into_iter()
    .map(|(path, chunked, expected)| {
        let framing = if chunked {
            "Transfer-Encoding: chunked".to_owned()
        } else {
            format!("Content-Length: {HUGE_BODY}")
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
        );
        let filler = filler.clone();
        std::thread::spawn(move || {
            (
                path,
                chunked,
                expected,
                huge_upload(addr, head, filler, HUGE_BODY, chunked),
            )
        })
    })
    .collect();

    // Meanwhile the service answers everyone else, on fresh connections, until the uploads are
    // over and the server has dropped every slowloris client.
    let mut answered = 0;
    while !uploads.iter().all(|u| u.is_finished()) || !slow_thread.is_finished() {
        let response = get(addr, "/api/members/1");
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    for upload in uploads {
        let (path, chunked, expected, (status, sent)) = upload.join().expect("upload");
        assert_eq!(status, expected, "50 MiB to {path} (chunked: {chunked})");
        eprintln!(
            "50 MiB to {path} (chunked: {chunked}): {status}, {:.1} MiB sent",
            mib(sent as u64)
        );
    }
    let during = metrics_page(addr);
    assert!(
        active_requests(&during) >= ENDLESS_BODIES as f64,
        "the endless bodies are requests in flight"
    );

    // The endless bodies' clients give up: actix-web ends those bodies with an error, which the
    // JSON extractor answers with a 400, and the requests end as any other.
    drop(endless);
    // Slowloris clients are dropped by the server (actix-web's 5 s client request timeout).
    let slow = slow_thread.join().expect("slow clients");
    let open = slow.iter().filter(|c| c.closed.is_none()).count();
    assert_eq!(open, 0, "{open} slowloris connections still open");
    let longest = slow
        .iter()
        .filter_map(|c| c.closed)
        .map(|at| at - slow_started)
        .max()
        .unwrap_or_default();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");

    wait_quiet(addr, &receiver, &service);
    let after = rss_bytes(pid);
    let page = metrics_page(addr);
    assert_eq!(
        active_requests(&page),
        0.0,
        "every request is counted as finished"
    );

    match (before, after) {
        (Some(before), Some(after)) => {
            let peak = peak.load(Ordering::Relaxed);
            eprintln!(
                "resident memory: {:.1} MiB before, {:.1} MiB at most during, {:.1} MiB after; slowloris clients dropped within {longest:?}; {answered} requests answered meanwhile",
                mib(before),
                mib(peak),
                mib(after)
            );
            assert!(
                peak.saturating_sub(before) <= HOSTILE_RSS_BYTES,
                "resident memory grew by {:.1} MiB (allowed {:.1} MiB)",
                mib(peak - before),
                mib(HOSTILE_RSS_BYTES)
            );
        }
        _ => eprintln!("memory not checked: /proc/<pid>/status is Linux-only"),
    }

    service.terminate();
    let spans = receiver.spans();
    let rejected = spans
        .iter()
        .filter(|s| {
            s.name() == "POST /api/members"
                && s.attr("http.response.status_code") == Some(AttrValue::Int(413))
        })
        .count();
    assert_eq!(
        rejected, 3,
        "the warm-up's and the two 50 MiB bodies' 413s are traced"
    );
    let unrouted = spans
        .iter()
        .filter(|s| {
            s.kind() == SpanKind::Server
                && s.name() == "POST"
                && s.attr("http.response.status_code") == Some(AttrValue::Int(404))
        })
        .count();
    assert_eq!(unrouted, 1, "the 50 MiB body to no route is traced");
    // actix-web ends the body of a request whose client went away with an error, which the
    // JSON extractor answers with a 400: the span ends then, as any other.
    let abandoned = spans
        .iter()
        .filter(|s| {
            s.name() == "POST /api/members"
                && s.attr("http.response.status_code") == Some(AttrValue::Int(400))
        })
        .count();
    assert_eq!(abandoned, ENDLESS_BODIES, "the abandoned requests end");

    let outputs = [
        ("exported spans", format!("{spans:?}")),
        ("exported log records", format!("{:?}", receiver.logs())),
        ("stdout and stderr", service.output()),
        ("/metrics", page),
    ];
    for (name, text) in &outputs {
        assert!(
            !text.contains(&marker),
            "{name} holds request body content ({marker})"
        );
    }
}
