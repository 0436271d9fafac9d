//! Resources: 50 MiB bodies, endless chunked bodies and slowloris clients neither grow memory
//! nor reach telemetry.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::{AttrValue, Receiver};

use crate::common::WAIT;
use crate::raw_http::{connect, get, read_response};
use crate::rng::{seed, Rng, ALNUM};
use crate::service::{active_requests, metrics_page, mib, rss_bytes, spawn_service, wait_quiet};

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
