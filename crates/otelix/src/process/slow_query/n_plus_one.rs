//! N+1 detection: the same statement run again and again under one parent span.
//!
//! Owned by the worker thread, so it needs no locks. Time is passed in, which keeps the
//! timeout logic testable without sleeping.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceId};

/// At most this many traces are tracked; a new one evicts the oldest.
pub(super) const MAX_TRACKED_TRACES: usize = 10_000;
/// At most this many (parent, statement) pairs are counted per trace; further pairs in that
/// trace are ignored. With the trace cap this bounds memory to about 10 000 × 256 × 24 bytes.
pub(super) const MAX_STATEMENTS_PER_TRACE: usize = 256;

#[derive(Debug)]
struct TraceState {
    /// Matches the entry in `order` that created this state.
    seq: u64,
    started: Instant,
    /// Occurrences per (parent span, hash of the sanitized statement). Hashes rather than the
    /// text keep the state small; a collision within one trace and parent is negligible.
    counts: HashMap<(SpanId, u64), u32>,
}

#[derive(Debug)]
pub(super) struct NPlusOneDetector {
    threshold: u32,
    timeout: Duration,
    hasher: RandomState,
    traces: HashMap<TraceId, TraceState>,
    /// Traces in creation order, for eviction and expiry. Entries whose trace has ended stay
    /// until they reach the front or the queue is compacted.
    order: VecDeque<(TraceId, u64)>,
    next_seq: u64,
}

impl NPlusOneDetector {
    /// `threshold` 0 disables detection.
    pub(super) fn new(threshold: usize, timeout: Duration) -> Self {
        NPlusOneDetector {
            threshold: u32::try_from(threshold).unwrap_or(u32::MAX),
            timeout,
            hasher: RandomState::new(),
            traces: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    pub(super) fn enabled(&self) -> bool {
        self.threshold > 0
    }

    /// Counts one run of `statement` under `parent`. Returns the count when it has just
    /// reached the threshold: each (trace, parent, statement) is reported once.
    pub(super) fn observe(
        &mut self,
        trace_id: TraceId,
        parent: SpanId,
        statement: &str,
        now: Instant,
    ) -> Option<u32> {
        if !self.enabled() || parent == SpanId::INVALID {
            return None;
        }
        let key = (parent, self.hasher.hash_one(statement));
        if !self.traces.contains_key(&trace_id) {
            self.make_room(now);
            let seq = self.next_seq;
            self.next_seq += 1;
            self.order.push_back((trace_id, seq));
            self.traces.insert(
                trace_id,
                TraceState {
                    seq,
                    started: now,
                    counts: HashMap::new(),
                },
            );
        }
        let state = self.traces.get_mut(&trace_id)?;
        let full = state.counts.len() >= MAX_STATEMENTS_PER_TRACE;
        let count = match state.counts.entry(key) {
            Entry::Occupied(entry) => {
                let count = entry.into_mut();
                *count = count.saturating_add(1);
                *count
            }
            Entry::Vacant(_) if full => return None,
            Entry::Vacant(entry) => *entry.insert(1),
        };
        (count == self.threshold).then_some(count)
    }

    /// Drops the state of a trace whose local root span has ended.
    pub(super) fn end_trace(&mut self, trace_id: TraceId) {
        self.traces.remove(&trace_id);
        if self.order.len() > 2 * MAX_TRACKED_TRACES {
            let traces = &self.traces;
            self.order
                .retain(|(id, seq)| traces.get(id).is_some_and(|state| state.seq == *seq));
        }
    }

    /// Drops the state of traces older than the timeout.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some(&(trace_id, seq)) = self.order.front() {
            match self.traces.get(&trace_id) {
                Some(state) if state.seq == seq => {
                    if now.saturating_duration_since(state.started) < self.timeout {
                        break;
                    }
                    self.traces.remove(&trace_id);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    pub(super) fn tracked_traces(&self) -> usize {
        self.traces.len()
    }

    fn make_room(&mut self, now: Instant) {
        self.expire(now);
        while self.traces.len() >= MAX_TRACKED_TRACES {
            let Some((trace_id, seq)) = self.order.pop_front() else {
                break;
            };
            if self
                .traces
                .get(&trace_id)
                .is_some_and(|state| state.seq == seq)
            {
                self.traces.remove(&trace_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(60);

    fn observe_n(
        detector: &mut NPlusOneDetector,
        trace: u128,
        parent: u64,
        statement: &str,
        n: usize,
        now: Instant,
    ) -> Vec<u32> {
        (0..n)
            .filter_map(|_| {
                detector.observe(TraceId::from(trace), SpanId::from(parent), statement, now)
            })
            .collect()
    }

    #[test]
    fn reports_once_when_the_threshold_is_reached() {
        let now = Instant::now();
        let mut detector = NPlusOneDetector::new(10, TIMEOUT);
        assert_eq!(
            observe_n(&mut detector, 1, 1, "SELECT ?", 25, now),
            vec![10]
        );
        assert_eq!(
            observe_n(&mut detector, 1, 1, "SELECT other", 9, now),
            Vec::<u32>::new()
        );
        // Same statement under another parent counts apart.
        assert_eq!(
            observe_n(&mut detector, 1, 2, "SELECT ?", 9, now),
            Vec::<u32>::new()
        );
        // No parent: never an N+1.
        assert_eq!(
            detector.observe(TraceId::from(1u128), SpanId::INVALID, "SELECT ?", now),
            None
        );
    }

    #[test]
    fn threshold_zero_disables() {
        let now = Instant::now();
        let mut detector = NPlusOneDetector::new(0, TIMEOUT);
        assert!(!detector.enabled());
        assert_eq!(
            observe_n(&mut detector, 1, 1, "SELECT ?", 100, now),
            Vec::<u32>::new()
        );
        assert_eq!(detector.tracked_traces(), 0);
    }

    #[test]
    fn state_ends_with_the_trace_or_the_timeout() {
        let start = Instant::now();
        let mut detector = NPlusOneDetector::new(3, TIMEOUT);
        observe_n(&mut detector, 1, 1, "a", 2, start);
        observe_n(&mut detector, 2, 1, "a", 2, start + Duration::from_secs(30));
        assert_eq!(detector.tracked_traces(), 2);
        detector.end_trace(TraceId::from(1u128));
        assert_eq!(detector.tracked_traces(), 1);
        // A trace seen again after its state was dropped starts from zero.
        assert_eq!(
            observe_n(&mut detector, 1, 1, "a", 2, start + Duration::from_secs(31)),
            Vec::<u32>::new()
        );
        detector.expire(start + Duration::from_secs(89));
        assert_eq!(detector.tracked_traces(), 2);
        detector.expire(start + Duration::from_secs(90));
        assert_eq!(detector.tracked_traces(), 1);
        detector.expire(start + Duration::from_secs(91));
        assert_eq!(detector.tracked_traces(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let now = Instant::now();
        let mut detector = NPlusOneDetector::new(3, TIMEOUT);
        for trace in 0..(MAX_TRACKED_TRACES as u128 + 500) {
            observe_n(&mut detector, trace + 1, 1, "a", 1, now);
        }
        assert_eq!(detector.tracked_traces(), MAX_TRACKED_TRACES);
        // The oldest went first.
        assert_eq!(
            observe_n(&mut detector, 1, 1, "a", 2, now),
            Vec::<u32>::new()
        );
        for statement in 0..(MAX_STATEMENTS_PER_TRACE + 10) {
            observe_n(&mut detector, 99_999, 1, &statement.to_string(), 1, now);
        }
        let state = detector.traces.get(&TraceId::from(99_999u128));
        assert_eq!(
            state.map(|s| s.counts.len()),
            Some(MAX_STATEMENTS_PER_TRACE)
        );
        for trace in 0..(3 * MAX_TRACKED_TRACES as u128) {
            observe_n(&mut detector, trace + 200_000, 1, "a", 1, now);
            detector.end_trace(TraceId::from(trace + 200_000));
        }
        assert!(detector.order.len() <= 2 * MAX_TRACKED_TRACES + 1);
    }
}
