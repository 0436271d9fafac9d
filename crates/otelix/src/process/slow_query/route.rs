//! Which request route each in-flight trace belongs to.
//!
//! The processor never sees the SERVER span's attributes when a database span ends, and
//! `on_end` gets no usable context. So `on_start` looks for a [`RequestRoute`] in the parent
//! context and files it under the span's trace ID. Keyed by trace, not by span: one entry per
//! request instead of one per span, and no bookkeeping in `on_end` for spans that are not
//! database spans. The entry goes when the trace's local root span has been handled by the
//! worker; entries whose root never ends (leaked spans) age out with the older of two
//! generations, which bounds memory without timestamps.
//!
//! A trace can have several local roots in one process (a service calling itself, a consumer
//! of its own messages): the entry counts the local roots still open and goes only when the
//! last one ends, so the N+1 counts and the route of the outer request survive an inner one.
//! Such a process keeps the route of the request whose span started last.
//!
//! [`RequestRoute`]: crate::RequestRoute

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use opentelemetry::trace::TraceId;

/// Shards keep concurrent `on_start` calls of different requests off each other's lock.
const SHARDS: usize = 16;
/// Entries per generation and shard: up to 2 × 16 × 1024 routes are remembered.
const GENERATION_CAPACITY: usize = 1024;

/// What is known of one in-flight trace.
#[derive(Debug, Default, Clone)]
struct Entry {
    route: Option<Arc<str>>,
    /// A database span of the trace went to the worker, which then holds state for the trace
    /// (N+1 counts, records still to write) and must hear when the trace's root ends.
    db_seen: bool,
    /// Local root spans of the trace started and not yet ended in this process.
    open_roots: u32,
}

#[derive(Debug, Default)]
struct Shard {
    current: HashMap<TraceId, Entry, TraceIdHash>,
    previous: HashMap<TraceId, Entry, TraceIdHash>,
}

/// Hashes trace IDs with two multiply-rotate rounds under a random per-map seed. Every request
/// touches these maps three times, where SipHash cost more than the rest of the bookkeeping;
/// trace IDs are random already, the seed keeps crafted `traceparent` IDs from lining up, and
/// a generation holds at most `GENERATION_CAPACITY` entries whatever happens.
#[derive(Debug, Clone)]
struct TraceIdHash {
    seed: u64,
}

impl Default for TraceIdHash {
    fn default() -> Self {
        TraceIdHash {
            seed: RandomState::new().hash_one(0x07e1_1c5e_u64),
        }
    }
}

impl BuildHasher for TraceIdHash {
    type Hasher = TraceIdHasher;

    fn build_hasher(&self) -> TraceIdHasher {
        TraceIdHasher(self.seed)
    }
}

#[derive(Debug)]
struct TraceIdHasher(u64);

impl TraceIdHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl Hasher for TraceIdHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    fn write_u128(&mut self, value: u128) {
        self.mix(value as u64);
        self.mix((value >> 64) as u64);
    }
}

impl Shard {
    fn entry(&mut self, trace_id: TraceId) -> &mut Entry {
        if !self.current.contains_key(&trace_id) {
            let carried = self.previous.remove(&trace_id).unwrap_or_default();
            if self.current.len() >= GENERATION_CAPACITY {
                self.previous = std::mem::take(&mut self.current);
            }
            self.current.insert(trace_id, carried);
        }
        self.current.entry(trace_id).or_default()
    }
}

#[derive(Debug, Default)]
pub(super) struct RouteRegistry {
    shards: [Mutex<Shard>; SHARDS],
}

impl RouteRegistry {
    fn shard(&self, trace_id: TraceId) -> MutexGuard<'_, Shard> {
        // Trace IDs are random, so their low bits spread evenly.
        let index = usize::from(trace_id.to_bytes()[15]) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Files `route` under `trace_id`, unless it is already there.
    pub(super) fn remember(&self, trace_id: TraceId, route: &Arc<str>) {
        let mut shard = self.shard(trace_id);
        if shard.current.get(&trace_id).and_then(|e| e.route.as_ref()) == Some(route) {
            return;
        }
        shard.entry(trace_id).route = Some(Arc::clone(route));
    }

    /// A local root span of `trace_id` started (its parent is remote or absent).
    pub(super) fn root_started(&self, trace_id: TraceId) {
        let mut shard = self.shard(trace_id);
        let entry = shard.entry(trace_id);
        entry.open_roots = entry.open_roots.saturating_add(1);
    }

    /// A local root span of `trace_id` ended: whether it was the last one open. A root whose
    /// start was not seen counts as the last.
    pub(super) fn root_closed(&self, trace_id: TraceId) -> bool {
        let mut shard = self.shard(trace_id);
        let shard = &mut *shard;
        let entry = match shard.current.get_mut(&trace_id) {
            Some(entry) => Some(entry),
            None => shard.previous.get_mut(&trace_id),
        };
        match entry {
            Some(entry) => {
                entry.open_roots = entry.open_roots.saturating_sub(1);
                entry.open_roots == 0
            }
            None => true,
        }
    }

    /// Notes that a database span of `trace_id` went to the worker.
    pub(super) fn mark_database_span(&self, trace_id: TraceId) {
        self.shard(trace_id).entry(trace_id).db_seen = true;
    }

    /// The trace's last open local root span ended. Returns whether the worker must be told
    /// (it holds state for the trace); otherwise the entry is dropped here and now, which
    /// spares the worker a wake-up per request that never touched a database.
    pub(super) fn root_ended(&self, trace_id: TraceId) -> bool {
        if !self.root_closed(trace_id) {
            return false;
        }
        let mut shard = self.shard(trace_id);
        let db_seen = shard
            .current
            .get(&trace_id)
            .or_else(|| shard.previous.get(&trace_id))
            .is_some_and(|e| e.db_seen);
        if !db_seen {
            shard.current.remove(&trace_id);
            shard.previous.remove(&trace_id);
        }
        db_seen
    }

    pub(super) fn lookup(&self, trace_id: TraceId) -> Option<Arc<str>> {
        let shard = self.shard(trace_id);
        shard
            .current
            .get(&trace_id)
            .or_else(|| shard.previous.get(&trace_id))
            .and_then(|e| e.route.clone())
    }

    pub(super) fn forget(&self, trace_id: TraceId) {
        let mut shard = self.shard(trace_id);
        shard.current.remove(&trace_id);
        shard.previous.remove(&trace_id);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| {
                let shard = self.shards[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                shard.current.len() + shard.previous.len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_looks_up_and_forgets() {
        let registry = RouteRegistry::default();
        let route: Arc<str> = Arc::from("/members/{id}");
        let trace = TraceId::from(7u128);
        registry.remember(trace, &route);
        registry.remember(trace, &route);
        assert_eq!(registry.lookup(trace).as_deref(), Some("/members/{id}"));
        assert_eq!(registry.len(), 1);
        registry.forget(trace);
        assert_eq!(registry.lookup(trace), None);
    }

    #[test]
    fn only_traces_with_database_spans_need_the_worker_at_root_end() {
        let registry = RouteRegistry::default();
        let route: Arc<str> = Arc::from("/health");
        let quiet = TraceId::from(1u128);
        let busy = TraceId::from(2u128);
        registry.remember(quiet, &route);
        registry.remember(busy, &route);
        registry.mark_database_span(busy);
        assert!(!registry.root_ended(quiet));
        assert_eq!(registry.lookup(quiet), None, "dropped at once");
        assert!(registry.root_ended(busy));
        assert_eq!(
            registry.lookup(busy).as_deref(),
            Some("/health"),
            "kept for the worker"
        );
        assert!(!registry.root_ended(TraceId::from(3u128)), "unknown trace");
    }

    #[test]
    fn memory_is_bounded_by_two_generations() {
        let registry = RouteRegistry::default();
        let route: Arc<str> = Arc::from("/r");
        for i in 0..(SHARDS * GENERATION_CAPACITY * 5) as u128 {
            registry.remember(TraceId::from(i + 1), &route);
        }
        assert!(registry.len() <= 2 * SHARDS * GENERATION_CAPACITY);
        // The newest are still there.
        let newest = TraceId::from((SHARDS * GENERATION_CAPACITY * 5) as u128);
        assert!(registry.lookup(newest).is_some());
    }
}
