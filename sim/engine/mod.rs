//! The event engine: an integer clock, a queue ordered by (time, sequence), and
//! seeded random streams. It knows nothing of Kubernetes: the event type is a
//! parameter, and the run loop that gives events meaning lives in `crate::sim`.
//!
//! Invariants: the engine never reads the machine's clock; two events at the same
//! microsecond are delivered in the order they were scheduled; every random number
//! comes from a named stream derived from the scenario seed, so adding a component
//! does not shift another component's draws.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::SeedableRng;

/// Simulated time in microseconds since the start of the run.
pub type Time = u64;

pub const MICROSECOND: Time = 1;
pub const MILLISECOND: Time = 1_000;
pub const SECOND: Time = 1_000_000;
pub const MINUTE: Time = 60 * SECOND;

/// Seconds as a float, for reports only (never fed back into the simulation).
pub fn seconds(t: Time) -> f64 {
    t as f64 / SECOND as f64
}

/// The generator every component uses: ChaCha8, named so that a run replays
/// bit-for-bit on any platform and any version of `rand` that keeps ChaCha8.
pub type SimRng = rand_chacha::ChaCha8Rng;

/// A random stream for one component, derived from the scenario seed and the
/// component's name (FNV-1a of the name, mixed with SplitMix64).
pub fn rng_stream(seed: u64, component: &str) -> SimRng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in component.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    SimRng::seed_from_u64(splitmix64(seed ^ h))
}

/// SplitMix64's finaliser: spreads nearby seeds over the whole 64-bit space.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // BinaryHeap is a max-heap: reverse so that the earliest (time, seq) pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Future events, delivered in (time, sequence) order.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: Time,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: 0,
        }
    }

    /// The time of the event delivered last (the simulation's clock).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedule `event` at `time`. An event in the past is a bug in the caller:
    /// it is clamped to now, so the clock can never run backwards.
    pub fn schedule(&mut self, time: Time, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        let time = time.max(self.now);
        self.heap.push(Entry {
            time,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
    }

    /// Schedule `event` `delay` microseconds from now.
    pub fn schedule_in(&mut self, delay: Time, event: E) {
        self.schedule(self.now.saturating_add(delay), event);
    }

    /// The next event, advancing the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let e = self.heap.pop()?;
        self.now = e.time;
        Some((e.time, e.event))
    }

    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many events have ever been scheduled.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn ties_break_by_scheduling_order() {
        let mut q = EventQueue::new();
        q.schedule(10, "b1");
        q.schedule(5, "a");
        q.schedule(10, "b2");
        q.schedule(10, "b3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["a", "b1", "b2", "b3"]);
    }

    #[test]
    fn clock_follows_delivered_events() {
        let mut q = EventQueue::new();
        q.schedule(7, ());
        q.pop();
        assert_eq!(q.now(), 7);
        q.schedule_in(3, ());
        assert_eq!(q.pop().unwrap().0, 10);
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a1 = rng_stream(42, "scheduler").next_u64();
        let a2 = rng_stream(42, "scheduler").next_u64();
        let b = rng_stream(42, "kubelet").next_u64();
        let c = rng_stream(43, "scheduler").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }
}
