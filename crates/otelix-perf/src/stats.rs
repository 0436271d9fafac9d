//! What a run records: latency histograms, status codes and error counts per endpoint, and
//! the slowest requests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency a histogram records, in microseconds (one hour); longer ones saturate.
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The TCP connection or the HTTP handshake failed.
    Connect,
    /// No complete response within `--timeout`.
    Timeout,
    /// The connection failed while sending or receiving.
    Io,
}

/// The counts and latencies of one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointStats {
    /// Latency in microseconds of every request that got a response, whatever its status.
    pub latency_us: Histogram<u64>,
    /// Responses per status code, in no particular order.
    pub statuses: Vec<(u16, u64)>,
    /// Connection or handshake failures.
    pub connect_errors: u64,
    /// Requests that exceeded the timeout.
    pub timeouts: u64,
    /// Other I/O failures (connection reset or closed mid-request, malformed response).
    pub io_errors: u64,
    /// The first message seen per transport error class, to show the user a cause.
    pub error_examples: Vec<(TransportError, String)>,
}

impl EndpointStats {
    /// Empty stats.
    pub fn new() -> Self {
        // Constant bounds (1 µs to 1 h, 3 significant digits) that hdrhistogram accepts: no
        // input reaches this.
        #[allow(clippy::expect_used)]
        let latency_us =
            Histogram::new_with_bounds(1, HIGHEST_MICROS, 3).expect("valid histogram bounds");
        Self {
            latency_us,
            statuses: Vec::new(),
            connect_errors: 0,
            timeouts: 0,
            io_errors: 0,
            error_examples: Vec::new(),
        }
    }

    /// Records a response.
    pub fn record_response(&mut self, status: u16, latency: Duration) {
        self.latency_us.saturating_record(micros(latency));
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
    }

    /// Records a request that got no response.
    pub fn record_error(&mut self, error: TransportError, message: impl FnOnce() -> String) {
        match error {
            TransportError::Connect => self.connect_errors += 1,
            TransportError::Timeout => self.timeouts += 1,
            TransportError::Io => self.io_errors += 1,
        }
        if !self.error_examples.iter().any(|(e, _)| *e == error) {
            self.error_examples.push((error, message()));
        }
    }

    /// Adds another endpoint's records to these.
    pub fn merge(&mut self, other: &EndpointStats) {
        if self.latency_us.add(&other.latency_us).is_err() {
            // Same bounds on both sides, so this cannot happen; fall back to value by value.
            for v in other.latency_us.iter_recorded() {
                self.latency_us
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        for &(status, n) in &other.statuses {
            match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => self.statuses.push((status, n)),
            }
        }
        self.connect_errors += other.connect_errors;
        self.timeouts += other.timeouts;
        self.io_errors += other.io_errors;
        for (error, message) in &other.error_examples {
            if !self.error_examples.iter().any(|(e, _)| e == error) {
                self.error_examples.push((*error, message.clone()));
            }
        }
    }

    /// Requests that got a response.
    pub fn responses(&self) -> u64 {
        self.statuses.iter().map(|(_, n)| n).sum()
    }

    /// Every request sent or attempted.
    pub fn requests(&self) -> u64 {
        self.responses() + self.transport_errors()
    }

    /// Requests without a response.
    pub fn transport_errors(&self) -> u64 {
        self.connect_errors + self.timeouts + self.io_errors
    }

    /// Responses whose status is in `[low, high)`.
    pub fn status_range(&self, low: u16, high: u16) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (low..high).contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Default for EndpointStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Converts a latency to whole microseconds, at least 1.
pub(crate) fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// One of the slowest requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowRequest {
    /// Latency in microseconds.
    pub latency_us: u64,
    /// Position of the request in the run, which breaks ties.
    pub sequence: u64,
    /// Index of the endpoint.
    pub target: usize,
    /// Response status.
    pub status: u16,
    /// The `X-Request-ID` response header, when there was one.
    pub request_id: Option<String>,
}

impl Ord for SlowRequest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.latency_us, Reverse(self.sequence)).cmp(&(other.latency_us, Reverse(other.sequence)))
    }
}

impl PartialOrd for SlowRequest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` slowest requests seen, kept in a bounded min-heap so that a request costs one
/// comparison unless it is among them.
#[derive(Debug, Clone)]
pub struct SlowestRequests {
    k: usize,
    heap: BinaryHeap<Reverse<SlowRequest>>,
}

impl SlowestRequests {
    /// Keeps at most `k` requests.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a request this slow would be kept; lets callers skip building the entry.
    pub fn would_keep(&self, latency_us: u64) -> bool {
        if self.heap.len() < self.k {
            return true;
        }
        self.heap
            .peek()
            .is_some_and(|Reverse(min)| latency_us > min.latency_us)
    }

    /// Offers a request; it is kept if it is among the `k` slowest so far.
    pub fn offer(&mut self, request: SlowRequest) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Reverse(request));
        } else if self.heap.peek().is_some_and(|Reverse(min)| request > *min) {
            self.heap.pop();
            self.heap.push(Reverse(request));
        }
    }

    /// Adds the requests kept by another instance.
    pub fn merge(&mut self, other: SlowestRequests) {
        for Reverse(request) in other.heap {
            self.offer(request);
        }
    }

    /// The kept requests, slowest first.
    pub fn into_sorted(self) -> Vec<SlowRequest> {
        let mut all: Vec<_> = self.heap.into_iter().map(|Reverse(r)| r).collect();
        all.sort_by(|a, b| b.cmp(a));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(latency_us: u64, sequence: u64) -> SlowRequest {
        SlowRequest {
            latency_us,
            sequence,
            target: 0,
            status: 200,
            request_id: Some(format!("id-{sequence}")),
        }
    }

    #[test]
    fn keeps_the_k_slowest_across_merges() {
        let mut a = SlowestRequests::new(3);
        let mut b = SlowestRequests::new(3);
        for (i, latency) in [5, 1, 9, 3, 7].into_iter().enumerate() {
            a.offer(slow(latency, i as u64));
        }
        for (i, latency) in [8, 2, 10].into_iter().enumerate() {
            b.offer(slow(latency, 100 + i as u64));
        }
        assert!(!a.would_keep(4));
        assert!(a.would_keep(6));
        a.merge(b);
        let kept: Vec<u64> = a.into_sorted().iter().map(|r| r.latency_us).collect();
        assert_eq!(kept, [10, 9, 8]);
    }

    #[test]
    fn zero_keeps_nothing() {
        let mut none = SlowestRequests::new(0);
        none.offer(slow(1, 1));
        assert!(none.into_sorted().is_empty());
    }

    #[test]
    fn counts_merge() {
        let mut a = EndpointStats::new();
        a.record_response(200, Duration::from_millis(2));
        a.record_response(503, Duration::from_millis(4));
        a.record_error(TransportError::Timeout, || "slow".into());
        let mut b = EndpointStats::new();
        b.record_response(200, Duration::from_millis(8));
        b.record_error(TransportError::Timeout, || "other".into());
        b.record_error(TransportError::Connect, || "refused".into());
        a.merge(&b);
        assert_eq!(a.requests(), 6);
        assert_eq!(a.responses(), 3);
        assert_eq!(a.status_range(500, 600), 1);
        assert_eq!(a.timeouts, 2);
        assert_eq!(a.error_examples.len(), 2);
        assert_eq!(a.error_examples[0].1, "slow");
        assert_eq!(a.latency_us.len(), 3);
        assert!(a.latency_us.max() >= 8000);
    }
}
