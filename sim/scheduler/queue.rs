//! The scheduling queue: activeQ ordered by priority then arrival, backoffQ
//! ordered by backoff expiry, and the unschedulable pods waiting for a cluster
//! event that could help them.
//!
//! Follows pkg/scheduler/backend/queue/scheduling_queue.go and backoff_queue.go
//! (v1.35):
//! - backoff doubles from `podInitialBackoffSeconds` (1 s) up to
//!   `podMaxBackoffSeconds` (10 s) with the number of attempts, counted from the
//!   time the pod last failed;
//! - `flushBackoffQCompleted` runs every second and moves pods whose backoff
//!   expired to activeQ; `flushUnschedulablePodsLeftover` runs every 30 s and
//!   moves pods that have been unschedulable for more than 5 minutes;
//! - from v1.33 (`SchedulerPopFromBackoffQ`, KEP-5142) a pod is popped from
//!   backoffQ when activeQ is empty, without waiting for its backoff — except a
//!   pod that failed without a rejecting plugin (an error), which waits in
//!   backoff_queue.go's `podErrorBackoffQ`;
//! - each pod remembers the plugins that rejected it (`UnschedulablePlugins`);
//!   a failed pod with none goes to backoffQ at once, the others wait among
//!   the unschedulable pods until a cluster event that one of those plugins'
//!   queueing hints accepts (`isPodWorthRequeuing`, decided by the caller:
//!   see `events.rs`) or the 5-minute flush.
//!
//! The periodic flushes run on ticks at multiples of their period from time 0,
//! as `wait.Until` started with the scheduler would.

use crate::hash::HashMap;
use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::engine::{SECOND, Time};
use crate::model::PodId;

pub const DEFAULT_INITIAL_BACKOFF: Time = SECOND;
pub const DEFAULT_MAX_BACKOFF: Time = 10 * SECOND;
/// `DefaultPodMaxInUnschedulablePodsDuration`.
pub const MAX_IN_UNSCHEDULABLE: Time = 5 * 60 * SECOND;
pub const BACKOFF_FLUSH_PERIOD: Time = SECOND;
pub const UNSCHEDULABLE_FLUSH_PERIOD: Time = 30 * SECOND;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    InFlight,
}

#[derive(Clone, Debug)]
struct Entry {
    priority: i32,
    /// `QueuedPodInfo.Timestamp`: when the pod was added or last failed.
    timestamp: Time,
    attempts: u32,
    /// Tie-breaker: order of insertion.
    seq: u64,
    place: Place,
    /// `UnschedulablePlugins` of the last failure: bit i is plugin i of the
    /// pod's profile (see `events::rejector_mask`).
    rejectors: u64,
}

type ActiveKey = (Reverse<i32>, Time, u64, PodId);

#[derive(Clone, Debug)]
pub struct SchedulingQueue {
    entries: HashMap<PodId, Entry>,
    active: BTreeSet<ActiveKey>,
    backoff: BTreeSet<(Time, u64, PodId)>,
    /// Backing-off pods that failed without a rejecting plugin: never popped early.
    error_backoff: BTreeSet<(Time, u64, PodId)>,
    unschedulable: BTreeSet<(Time, u64, PodId)>,
    next_seq: u64,
    pub initial_backoff: Time,
    pub max_backoff: Time,
    pub pop_from_backoff: bool,
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Time, max_backoff: Time, pop_from_backoff: bool) -> Self {
        SchedulingQueue {
            entries: HashMap::default(),
            active: BTreeSet::new(),
            backoff: BTreeSet::new(),
            error_backoff: BTreeSet::new(),
            unschedulable: BTreeSet::new(),
            next_seq: 0,
            initial_backoff,
            max_backoff,
            pop_from_backoff,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn contains(&self, pod: PodId) -> bool {
        self.entries.contains_key(&pod)
    }

    /// `calculateBackoffDuration`: initial × 2^(attempts-1), capped at max.
    pub fn backoff_duration(&self, attempts: u32) -> Time {
        if attempts == 0 {
            return 0;
        }
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            if d > self.max_backoff - d {
                return self.max_backoff;
            }
            d += d;
        }
        d
    }

    fn backoff_expiry(&self, e: &Entry) -> Time {
        e.timestamp + self.backoff_duration(e.attempts)
    }

    /// A new pending pod: straight into activeQ.
    pub fn add(&mut self, pod: PodId, priority: i32, now: Time) {
        if self.entries.contains_key(&pod) {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            pod,
            Entry {
                priority,
                timestamp: now,
                attempts: 0,
                seq,
                place: Place::Active,
                rejectors: 0,
            },
        );
        self.active.insert((Reverse(priority), now, seq, pod));
    }

    fn unlink(&mut self, pod: PodId) -> Option<Entry> {
        let e = self.entries.get(&pod)?.clone();
        match e.place {
            Place::Active => {
                self.active
                    .remove(&(Reverse(e.priority), e.timestamp, e.seq, pod));
            }
            Place::Backoff => {
                let key = (self.backoff_expiry(&e), e.seq, pod);
                self.backoff_set(&e).remove(&key);
            }
            Place::Unschedulable => {
                self.unschedulable.remove(&(e.timestamp, e.seq, pod));
            }
            Place::InFlight => {}
        }
        Some(e)
    }

    /// The pod was bound or deleted: forget it.
    pub fn remove(&mut self, pod: PodId) {
        self.unlink(pod);
        self.entries.remove(&pod);
    }

    fn place(&mut self, pod: PodId, place: Place) {
        let Some(e) = self.entries.get_mut(&pod) else {
            return;
        };
        e.place = place;
        let e = e.clone();
        match place {
            Place::Active => {
                self.active
                    .insert((Reverse(e.priority), e.timestamp, e.seq, pod));
            }
            Place::Backoff => {
                let key = (self.backoff_expiry(&e), e.seq, pod);
                self.backoff_set(&e).insert(key);
            }
            Place::Unschedulable => {
                self.unschedulable.insert((e.timestamp, e.seq, pod));
            }
            Place::InFlight => {}
        }
    }

    fn backoff_set(&mut self, e: &Entry) -> &mut BTreeSet<(Time, u64, PodId)> {
        if e.rejectors == 0 {
            &mut self.error_backoff
        } else {
            &mut self.backoff
        }
    }

    /// The cycle for `pod` failed, rejected by the plugins in `rejectors`
    /// (`AddUnschedulableIfNotPresent`): it waits among the unschedulable pods,
    /// or, rejected by none, backs off.
    pub fn add_unschedulable(&mut self, pod: PodId, now: Time, rejectors: u64) {
        if !self.entries.contains_key(&pod) {
            return;
        }
        self.unlink(pod);
        let e = self.entries.get_mut(&pod).unwrap();
        e.timestamp = now;
        e.rejectors = rejectors;
        if rejectors == 0 {
            self.requeue(pod, now);
        } else {
            self.place(pod, Place::Unschedulable);
        }
    }

    /// `movePodsToActiveOrBackoffQueue`: the unschedulable pods for which
    /// `worth(pod, rejectors)` (`isPodWorthRequeuing`) go to activeQ, or to
    /// backoffQ while their backoff lasts.
    pub fn move_unschedulable(&mut self, now: Time, mut worth: impl FnMut(PodId, u64) -> bool) {
        let pods: Vec<PodId> = self
            .unschedulable
            .iter()
            .map(|&(_, _, p)| p)
            .filter(|p| worth(*p, self.entries[p].rejectors))
            .collect();
        for p in pods {
            self.requeue(p, now);
        }
    }

    /// Whether any pod waits among the unschedulable ones.
    pub fn has_unschedulable(&self) -> bool {
        !self.unschedulable.is_empty()
    }

    fn requeue(&mut self, pod: PodId, now: Time) {
        let Some(e) = self.unlink(pod) else { return };
        if self.backoff_expiry(&e) > now {
            self.place(pod, Place::Backoff);
        } else {
            self.place(pod, Place::Active);
        }
    }

    /// The periodic flushes due by `now`: both conditions are monotone in the
    /// tick time, so checking against the latest tick ≤ now is exact.
    pub fn flush(&mut self, now: Time) {
        let tick = now / BACKOFF_FLUSH_PERIOD * BACKOFF_FLUSH_PERIOD;
        for errors in [false, true] {
            loop {
                let set = if errors {
                    &self.error_backoff
                } else {
                    &self.backoff
                };
                let Some(&(expiry, _, pod)) = set.first() else {
                    break;
                };
                if expiry > tick {
                    break;
                }
                self.unlink(pod);
                self.place(pod, Place::Active);
            }
        }
        let tick = now / UNSCHEDULABLE_FLUSH_PERIOD * UNSCHEDULABLE_FLUSH_PERIOD;
        while let Some(&(ts, _, pod)) = self.unschedulable.first() {
            if tick.saturating_sub(ts) <= MAX_IN_UNSCHEDULABLE || tick < ts {
                break;
            }
            self.requeue(pod, tick);
        }
    }

    /// The earliest time at which `pop` could return a pod.
    pub fn next_wakeup(&self, now: Time) -> Option<Time> {
        if !self.active.is_empty() || (self.pop_from_backoff && !self.backoff.is_empty()) {
            return Some(now);
        }
        let backoff = [self.backoff.first(), self.error_backoff.first()]
            .into_iter()
            .flatten()
            .map(|&(expiry, _, _)| expiry.div_ceil(BACKOFF_FLUSH_PERIOD) * BACKOFF_FLUSH_PERIOD)
            .min();
        // The first 30 s tick T with T - timestamp > 5 min.
        let leftover = self.unschedulable.first().map(|&(ts, _, _)| {
            (ts + MAX_IN_UNSCHEDULABLE) / UNSCHEDULABLE_FLUSH_PERIOD * UNSCHEDULABLE_FLUSH_PERIOD
                + UNSCHEDULABLE_FLUSH_PERIOD
        });
        [backoff, leftover]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.max(now))
    }

    /// The next pod to schedule; it is in flight until it is bound, removed or
    /// added back as unschedulable. Counts an attempt.
    pub fn pop(&mut self, now: Time) -> Option<PodId> {
        self.flush(now);
        let pod = if let Some(&(_, _, _, pod)) = self.active.first() {
            pod
        } else if self.pop_from_backoff
            && let Some(&(_, _, pod)) = self.backoff.first()
        {
            pod
        } else {
            return None;
        };
        self.unlink(pod);
        let e = self.entries.get_mut(&pod).unwrap();
        e.attempts += 1;
        e.place = Place::InFlight;
        Some(pod)
    }

    /// Take a specific pod out of the queues (in flight), counting an attempt;
    /// for a cycle the caller starts without `pop`. Adds the pod if unknown.
    pub fn take(&mut self, pod: PodId, priority: i32, now: Time) {
        self.add(pod, priority, now);
        self.unlink(pod);
        let e = self.entries.get_mut(&pod).unwrap();
        e.attempts += 1;
        e.place = Place::InFlight;
    }

    /// Whether the pod is in flight (popped, its cycle not finished).
    pub fn in_flight(&self, pod: PodId) -> bool {
        self.entries
            .get(&pod)
            .is_some_and(|e| e.place == Place::InFlight)
    }

    /// Attempts so far for a queued pod.
    pub fn attempts_of(&self, pod: PodId) -> u32 {
        self.entries.get(&pod).map_or(0, |e| e.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let q = SchedulingQueue::new(SECOND, 10 * SECOND, false);
        let d: Vec<Time> = (0..7).map(|a| q.backoff_duration(a) / SECOND).collect();
        assert_eq!(d, vec![0, 1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn priority_then_arrival() {
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, false);
        q.add(PodId(0), 0, 5);
        q.add(PodId(1), 10, 7);
        q.add(PodId(2), 0, 3);
        q.add(PodId(3), 10, 7);
        let order: Vec<_> = std::iter::from_fn(|| q.pop(10)).collect();
        assert_eq!(order, vec![PodId(1), PodId(3), PodId(2), PodId(0)]);
    }

    #[test]
    fn moved_pod_waits_out_its_backoff_on_the_one_second_tick() {
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, false);
        q.add(PodId(0), 0, 0);
        // Three failed attempts: backoff 4 s from the last failure.
        for _ in 0..3 {
            let t = 100 * SECOND;
            assert_eq!(q.pop(t), Some(PodId(0)));
            q.add_unschedulable(PodId(0), t + 300_000, 1);
            q.move_unschedulable(t + 500_000, |_, _| true);
            if q.attempts_of(PodId(0)) < 3 {
                // Drain the backoff for the next round.
                q.flush(200 * SECOND);
            }
        }
        // Failed at 100.3 s with 3 attempts → expiry 104.3 s → the 105 s tick.
        assert_eq!(q.next_wakeup(101 * SECOND), Some(105 * SECOND));
        assert_eq!(q.pop(104 * SECOND + 900_000), None);
        assert_eq!(q.pop(105 * SECOND), Some(PodId(0)));
    }

    #[test]
    fn pop_from_backoff_when_active_is_empty() {
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, true);
        q.add(PodId(0), 0, 0);
        assert_eq!(q.pop(0), Some(PodId(0)));
        q.add_unschedulable(PodId(0), 0, 1);
        q.move_unschedulable(0, |_, _| true);
        assert_eq!(q.next_wakeup(0), Some(0));
        assert_eq!(q.pop(0), Some(PodId(0)));
    }

    #[test]
    fn unschedulable_leftover_flushes_after_five_minutes_on_a_30s_tick() {
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, false);
        q.add(PodId(0), 0, 0);
        q.pop(0);
        q.add_unschedulable(PodId(0), 10 * SECOND, 1);
        // 10 s + 300 s = 310 s; the first tick with T - 10 s > 300 s is 330 s.
        assert_eq!(q.next_wakeup(20 * SECOND), Some(330 * SECOND));
        assert_eq!(q.pop(329 * SECOND), None);
        assert_eq!(q.pop(330 * SECOND), Some(PodId(0)));
    }

    #[test]
    fn a_pod_rejected_by_no_plugin_backs_off_and_is_not_popped_early() {
        // backoff_queue.go: no UnschedulablePlugins → podErrorBackoffQ, which
        // PopFromBackoffQ does not pop from.
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, true);
        q.add(PodId(0), 0, 0);
        assert_eq!(q.pop(0), Some(PodId(0)));
        q.add_unschedulable(PodId(0), 0, 0);
        // One attempt: 1 s of backoff, flushed on the 1 s tick.
        assert_eq!(q.next_wakeup(0), Some(SECOND));
        assert_eq!(q.pop(SECOND - 1), None);
        assert_eq!(q.pop(SECOND), Some(PodId(0)));
    }

    #[test]
    fn only_pods_worth_requeuing_move() {
        let mut q = SchedulingQueue::new(SECOND, 10 * SECOND, false);
        for p in 0..3 {
            q.add(PodId(p), 0, 0);
            assert_eq!(q.pop(0), Some(PodId(p)));
            q.add_unschedulable(PodId(p), 0, 1 << p);
        }
        // Only the pod rejected by plugin 1 is worth requeuing.
        let mut asked = Vec::new();
        q.move_unschedulable(20 * SECOND, |p, rejectors| {
            asked.push((p, rejectors));
            rejectors & 0b10 != 0
        });
        assert_eq!(asked, vec![(PodId(0), 1), (PodId(1), 2), (PodId(2), 4)]);
        assert_eq!(q.pop(20 * SECOND), Some(PodId(1)));
        assert_eq!(q.pop(20 * SECOND), None);
        assert!(q.has_unschedulable());
    }
}
