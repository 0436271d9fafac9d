//! The load generator: one keep-alive HTTP/1.1 connection per worker task, closed-loop or
//! open-loop (constant arrival rate) scheduling.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::{AbortHandle, JoinSet};

use crate::plan::Target;
use crate::stats::{micros, EndpointStats, SlowRequest, SlowestRequests, TransportError};

/// The response header carrying the request (trace) ID.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// After this many requests in total.
    Requests(u64),
    /// After this long: no request starts later (in open loop, none is scheduled later either).
    Duration(Duration),
}

/// Everything the load generator needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Where to connect.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: HeaderValue,
    /// The endpoints, used round-robin.
    pub targets: Vec<Target>,
    /// When to stop.
    pub limit: Limit,
    /// Open loop: requests per second in total.
    pub rate: Option<f64>,
    /// Worker tasks, one connection each.
    pub concurrency: usize,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// How many of the slowest requests to keep.
    pub slowest: usize,
}

/// Counters shared with the progress display, and the stop switch (Ctrl-C).
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests finished, with or without a response.
    pub done: AtomicU64,
    /// Requests without a response, or with a 5xx.
    pub errors: AtomicU64,
    /// Set to stop scheduling new requests.
    pub stop: AtomicBool,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadResult {
    /// Per endpoint, in target order.
    pub per_target: Vec<EndpointStats>,
    /// The slowest requests, slowest first.
    pub slowest: Vec<SlowRequest>,
    /// From the first scheduled request to the end of the last one.
    pub elapsed: Duration,
    /// Whether the run was cut short by Ctrl-C.
    pub interrupted: bool,
}

/// Runs the load like wrk does: one OS thread per core the process may run on (as limited by
/// its CPU affinity, so `taskset` is honoured), each with a single-threaded runtime driving its
/// share of the connections, so a request costs no cross-thread wake-up or work stealing.
///
/// # Errors
///
/// When a runtime or a thread cannot be started.
pub fn run(config: LoadConfig, counters: Arc<Counters>) -> std::io::Result<LoadResult> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(config.concurrency)
        .max(1);
    let shared = Arc::new(Shared {
        schedule: Schedule::new(config.limit, config.rate),
        counters,
        config,
    });
    // Every thread opens its connections first; the clock starts when all are through.
    let connected = Arc::new(Barrier::new(threads + 1));
    let mut handles = Vec::with_capacity(threads);
    for thread in 0..threads {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let workers = (thread..shared.config.concurrency).step_by(threads).count();
        let (shared, connected) = (shared.clone(), connected.clone());
        let handle = std::thread::Builder::new()
            .name(format!("otelix-perf-{thread}"))
            .spawn(move || load_thread(&runtime, &shared, &connected, workers))?;
        handles.push(handle);
    }
    let interrupt = Interrupt::watch(shared.counters.clone());
    connected.wait();
    let start = shared.schedule.start();

    let targets = shared.config.targets.len();
    let mut per_target = vec![EndpointStats::new(); targets];
    let mut slowest = SlowestRequests::new(shared.config.slowest);
    for handle in handles {
        // A thread that panicked contributes nothing rather than taking the report down.
        if let Ok((stats, kept)) = handle.join() {
            for (total, part) in per_target.iter_mut().zip(&stats) {
                total.merge(part);
            }
            slowest.merge(kept);
        }
    }
    let elapsed = start.elapsed();
    interrupt.finish();
    Ok(LoadResult {
        per_target,
        slowest: slowest.into_sorted(),
        elapsed,
        interrupted: shared.counters.stop.load(Relaxed),
    })
}

struct Shared {
    config: LoadConfig,
    counters: Arc<Counters>,
    schedule: Schedule,
}

/// One thread of the load: opens `workers` connections, waits for the others, then runs a
/// worker task per connection until the schedule ends.
fn load_thread(
    runtime: &tokio::runtime::Runtime,
    shared: &Arc<Shared>,
    connected: &Barrier,
    workers: usize,
) -> (Vec<EndpointStats>, SlowestRequests) {
    let config = &shared.config;
    let connections = runtime.block_on(async {
        let mut connecting = JoinSet::new();
        for _ in 0..workers {
            let (addr, timeout) = (config.addr, config.timeout);
            connecting.spawn(async move {
                tokio::time::timeout(timeout, Connection::open(addr))
                    .await
                    .ok()?
                    .ok()
            });
        }
        let mut connections = Vec::with_capacity(workers);
        while let Some(joined) = connecting.join_next().await {
            // A connection that failed is retried by its worker, which counts the error.
            connections.push(joined.ok().flatten());
        }
        connections
    });
    connected.wait();
    shared.schedule.start();

    // The thread's workers never run at the same time, so this lock is never contended.
    let stats = Arc::new(Mutex::new(vec![EndpointStats::new(); config.targets.len()]));
    let slowest = runtime.block_on(async {
        let mut running = JoinSet::new();
        for connection in connections {
            running.spawn(worker(shared.clone(), stats.clone(), connection));
        }
        let mut slowest = SlowestRequests::new(config.slowest);
        while let Some(joined) = running.join_next().await {
            if let Ok(kept) = joined {
                slowest.merge(kept);
            }
        }
        slowest
    });
    let stats = std::mem::take(&mut *stats.lock().unwrap_or_else(PoisonError::into_inner));
    (stats, slowest)
}

/// Ctrl-C stops scheduling new requests; the requests in flight finish and are reported.
struct Interrupt {
    done: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Interrupt {
    fn watch(counters: Arc<Counters>) -> Self {
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("otelix-perf-signal".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    tokio::select! {
                        signal = tokio::signal::ctrl_c() => {
                            if signal.is_ok() {
                                counters.stop.store(true, Relaxed);
                            }
                        }
                        _ = finished => {}
                    }
                });
            })
            .ok();
        Self {
            done: Some(done),
            thread,
        }
    }

    fn finish(mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Hands out request numbers and, in open loop, their intended send times.
struct Schedule {
    next: AtomicU64,
    start: OnceLock<Instant>,
    requests: Option<u64>,
    duration: Option<Duration>,
    seconds_between: Option<f64>,
}

struct Ticket {
    sequence: u64,
    intended: Option<Instant>,
}

impl Schedule {
    fn new(limit: Limit, rate: Option<f64>) -> Self {
        let (requests, duration) = match limit {
            Limit::Requests(n) => (Some(n), None),
            Limit::Duration(d) => (None, Some(d)),
        };
        Self {
            next: AtomicU64::new(0),
            start: OnceLock::new(),
            requests,
            duration,
            seconds_between: rate.map(|r| 1.0 / r),
        }
    }

    /// The start of the run: set by the first caller.
    fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    fn next(&self, stop: &AtomicBool) -> Option<Ticket> {
        if stop.load(Relaxed) {
            return None;
        }
        let sequence = self.next.fetch_add(1, Relaxed);
        if self.requests.is_some_and(|n| sequence >= n) {
            return None;
        }
        let start = self.start();
        let intended = match self.seconds_between {
            // A time too far to represent is past any run's end.
            Some(between) => Some(
                Duration::try_from_secs_f64(sequence as f64 * between)
                    .ok()
                    .and_then(|d| start.checked_add(d))?,
            ),
            None => None,
        };
        if let Some(deadline) = self.duration.and_then(|d| start.checked_add(d)) {
            // Open loop: requests due before the end but not started by then are not sent
            // (the report counts them), so an overloaded run still ends on time.
            if intended.is_some_and(|at| at >= deadline) || Instant::now() >= deadline {
                return None;
            }
        }
        Some(Ticket { sequence, intended })
    }
}

/// One HTTP/1.1 keep-alive connection; its driver task ends when this is dropped.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Connection {
    async fn open(addr: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY on {addr}: {e}"))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {addr}: {e}"))?;
        let driver = tokio::spawn(async move {
            // Its errors surface to the sender as failed requests.
            let _ = connection.await;
        })
        .abort_handle();
        Ok(Self { sender, driver })
    }
}

struct Exchanged {
    status: u16,
    close: bool,
    request_id: Option<HeaderValue>,
}

async fn worker(
    shared: Arc<Shared>,
    stats: Arc<Mutex<Vec<EndpointStats>>>,
    mut connection: Option<Connection>,
) -> SlowestRequests {
    let config = &shared.config;
    let counters = &shared.counters;
    // One timer per worker, pushed back for each request: extending a registered deadline is
    // an atomic store, where a new timer per request would be a timer-wheel insertion.
    let mut deadline = Box::pin(tokio::time::sleep(config.timeout));
    let mut slowest = SlowestRequests::new(config.slowest);
    let targets = config.targets.len() as u64;
    while let Some(ticket) = shared.schedule.next(&counters.stop) {
        // Open loop measures from the intended send time: when the connections are all busy,
        // the wait for one is part of what a user of the service would see.
        let start = match ticket.intended {
            Some(at) => {
                if at > Instant::now() {
                    tokio::time::sleep_until(at.into()).await;
                }
                at
            }
            None => Instant::now(),
        };
        let target = (ticket.sequence % targets) as usize;
        deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + config.timeout);
        let outcome = tokio::select! {
            biased;
            exchanged = exchange(&mut connection, config, &config.targets[target]) => Ok(exchanged),
            () = &mut deadline => Err(()),
        };
        let latency = start.elapsed();
        match outcome {
            Ok(Ok(response)) => {
                stats.lock().unwrap_or_else(PoisonError::into_inner)[target]
                    .record_response(response.status, latency);
                if response.status >= 500 {
                    counters.errors.fetch_add(1, Relaxed);
                }
                if response.close {
                    connection = None;
                }
                let latency_us = micros(latency);
                if slowest.would_keep(latency_us) {
                    slowest.offer(SlowRequest {
                        latency_us,
                        sequence: ticket.sequence,
                        target,
                        status: response.status,
                        request_id: response
                            .request_id
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    });
                }
            }
            Ok(Err((error, message))) => {
                connection = None;
                counters.errors.fetch_add(1, Relaxed);
                stats.lock().unwrap_or_else(PoisonError::into_inner)[target]
                    .record_error(error, || message);
            }
            Err(()) => {
                // The connection may still carry the late response: never reuse it.
                connection = None;
                counters.errors.fetch_add(1, Relaxed);
                stats.lock().unwrap_or_else(PoisonError::into_inner)[target]
                    .record_error(TransportError::Timeout, || {
                        format!("no complete response within {:?}", config.timeout)
                    });
            }
        }
        counters.done.fetch_add(1, Relaxed);
    }
    slowest
}

async fn exchange(
    connection: &mut Option<Connection>,
    config: &LoadConfig,
    target: &Target,
) -> Result<Exchanged, (TransportError, String)> {
    let connect = || async {
        Connection::open(config.addr)
            .await
            .map_err(|e| (TransportError::Connect, e))
    };
    let mut fresh = false;
    let mut conn = match connection.take() {
        Some(c) if !c.sender.is_closed() => c,
        _ => {
            fresh = true;
            connect().await?
        }
    };
    if conn.sender.ready().await.is_err() {
        // The server closed the idle connection: one new one, and no error for it.
        if fresh {
            return Err((
                TransportError::Connect,
                format!("{} closed the connection at once", config.addr),
            ));
        }
        conn = connect().await?;
        conn.sender
            .ready()
            .await
            .map_err(|e| (TransportError::Connect, e.to_string()))?;
    }
    let conn = connection.insert(conn);

    let mut request = Request::new(Full::new(target.body.clone()));
    *request.method_mut() = target.method.clone();
    *request.uri_mut() = target.uri.clone();
    let headers = request.headers_mut();
    headers.insert(HOST, config.host.clone());
    if let Some(content_type) = &target.content_type {
        headers.insert(CONTENT_TYPE, content_type.clone());
    }
    for (name, value) in &target.headers {
        headers.insert(name.clone(), value.clone());
    }

    let response = conn
        .sender
        .send_request(request)
        .await
        .map_err(|e| (TransportError::Io, e.to_string()))?;
    let status = response.status().as_u16();
    let close = response
        .headers()
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let request_id = response.headers().get(X_REQUEST_ID).cloned();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        frame.map_err(|e| {
            (
                TransportError::Io,
                format!("reading the response body: {e}"),
            )
        })?;
    }
    Ok(Exchanged {
        status,
        close,
        request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_loop_hands_out_exactly_n_tickets() {
        let schedule = Schedule::new(Limit::Requests(3), None);
        let stop = AtomicBool::new(false);
        let tickets: Vec<_> = std::iter::from_fn(|| schedule.next(&stop)).collect();
        assert_eq!(
            tickets.iter().map(|t| t.sequence).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(tickets.iter().all(|t| t.intended.is_none()));
    }

    #[test]
    fn open_loop_spaces_intended_times_by_the_rate() {
        let schedule = Schedule::new(Limit::Duration(Duration::from_secs(1)), Some(10.0));
        let stop = AtomicBool::new(false);
        let tickets: Vec<_> = std::iter::from_fn(|| schedule.next(&stop)).collect();
        assert_eq!(tickets.len(), 10);
        let offset = tickets[4].intended.unwrap() - schedule.start();
        assert!((offset.as_secs_f64() - 0.4).abs() < 1e-6);
    }

    #[test]
    fn stop_ends_the_schedule() {
        let schedule = Schedule::new(Limit::Requests(100), None);
        let stop = AtomicBool::new(true);
        assert!(schedule.next(&stop).is_none());
    }
}
