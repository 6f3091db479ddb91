//! The node lifecycle controller and the taint eviction controller: how the
//! control plane notices a node that stopped heartbeating and what happens to
//! its pods.
//!
//! Follows pkg/controller/nodelifecycle/node_lifecycle_controller.go
//! (`monitorNodeHealth`, `tryUpdateNodeHealth`, `processTaintBaseEviction`,
//! `doNoExecuteTaintingPass`, `handleDisruption`, `ComputeZoneState`,
//! `ReducedQPSFunc`, `HealthyQPSFunc`), pkg/controller/nodelifecycle/scheduler/
//! rate_limited_queue.go (`RateLimitedTimedQueue.Try`, `SwapLimiter`, burst 1),
//! pkg/controller/util/node/controller_utils.go (`MarkPodsNotReady`),
//! pkg/controller/tainteviction/taint_eviction.go (`processPodOnNode`,
//! `getMinTolerationTime`) and plugin/pkg/admission/defaulttolerationseconds
//! (v1.37):
//! - every `nodeMonitorPeriod` (5 s) the controller compares each node's Lease
//!   renewTime with what it saw last; a change sets the node's probe timestamp
//!   to now. A node whose probe timestamp is older than the grace period
//!   (`nodeMonitorGracePeriod`: 50 s from v1.32, 40 s before;
//!   `nodeStartupGracePeriod` 60 s for a node never Ready) turns Ready=Unknown;
//!   its pods' Ready condition is set False (`MarkPodsNotReady`), it gets the
//!   `node.kubernetes.io/unreachable:NoSchedule` taint at once and joins its
//!   zone's queue for the `unreachable:NoExecute` taint;
//! - zone queues are served every 100 ms through a token bucket of burst 1 at
//!   the zone's rate: `nodeEvictionRate` (0.1/s) when the zone is Normal or
//!   fully disrupted, `secondaryNodeEvictionRate` (0.01/s) when partially
//!   disrupted (more than 2 nodes and ≥ 55 % not Ready) in a zone larger than
//!   50 nodes and 0 in a smaller one; when every zone is fully disrupted all
//!   NoExecute taints are removed and tainting stops;
//! - the taint eviction controller deletes a pod `tolerationSeconds` after it
//!   sees a NoExecute taint the pod tolerates for a while (300 s, added by the
//!   DefaultTolerationSeconds admission plugin to pods that do not tolerate
//!   not-ready/unreachable themselves), at once when untolerated, never when
//!   tolerated for ever (DaemonSet pods); a deletion scheduled by an earlier
//!   update stands (later updates neither postpone nor advance it), and it is
//!   cancelled when the taint goes.
//!
//! A pass visits only the nodes whose state can change at it (upstream
//! walks every node): nodes not Ready, nodes something changed (a Lease's
//! contact, the node object), and Ready nodes whose grace period can run out
//! before their next renewal is seen, found in a heap of wake-up times. A
//! skipped node's `renew_seen` and `probe` are brought up to date when it is
//! next visited, from the recorded pass times and [`LeaseView::renewed_since`]
//! (exactly what visiting it at every pass would have left). With
//! verification on (debug builds, `--check-invariants`) every pass also
//! keeps the per-pass values and checks that each skipped node's visit would
//! have changed nothing.
//!
//! Simplified: the Ready=False path (`not-ready` taint) is implemented but
//! nothing in the simulation makes a kubelet post Ready=False; node status
//! posted by the kubelet is folded into the Lease (a node whose Lease is
//! renewed again is Ready again at the next monitor pass).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use crate::engine::{MILLISECOND, SECOND, Time};
use crate::model::taints::{Taint, TaintEffect, Toleration, TolerationOp};
use crate::model::*;
use crate::scenario::ControllerSettings;

pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_NODE_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// `nodeEvictionPeriod`: how often the NoExecute tainting queues are served.
pub const NODE_EVICTION_PERIOD: Time = 100 * MILLISECOND;

/// The node's Ready condition as the control plane holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyStatus {
    True,
    False,
    Unknown,
}

/// `ZoneState` of upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    Initial,
    Normal,
    FullDisruption,
    PartialDisruption,
}

/// How a node's Lease renewTime will change after a time, as long as nothing
/// changes the kubelet's side (whoever changes it calls
/// [`NodeLifecycle::lease_changing`] first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewals {
    /// Not known: the controller looks at the node at every pass.
    Unknown,
    /// It stays as it is.
    Never,
    /// It changes at `next` and from then on at least every `interval`, each
    /// time to a value it never had before.
    Every { next: Time, interval: Time },
}

/// Where a Lease renewal comes from: the kubelet side, read by the controller
/// as the API server would show it.
pub trait LeaseView {
    /// The renewTime of the node's Lease at `now`, if it was ever renewed.
    /// For a fixed kubelet-side state, non-decreasing in `now`.
    fn renew_time(&self, node: NodeId, now: Time) -> Option<Time>;

    /// How `renew_time` changes after `now` (see [`Renewals`]).
    fn renewals(&self, _node: NodeId, _now: Time) -> Renewals {
        Renewals::Unknown
    }

    /// The earliest time since which `renew_time` has returned
    /// `renew_time(node, now)`, for the current kubelet-side state. Only
    /// asked when `renewals` is not `Unknown`.
    fn renewed_since(&self, _node: NodeId, now: Time) -> Time {
        now
    }
}

#[derive(Clone, Debug)]
struct NodeHealth {
    probe: Time,
    renew_seen: Option<Time>,
    status: ReadyStatus,
    ever_ready: bool,
    /// Index into `zones`.
    zone: usize,
    /// `renew_seen` and `probe` are as passes `passes[..seen]` left them.
    seen: usize,
    /// The first time at which a pass must visit the node (`Time::MAX`: not
    /// before something changes); the entry of `wakes` with this time is the
    /// live one.
    wake: Time,
    /// Counted in `zone_counts` (not deleted).
    counted: bool,
}

/// A token bucket of burst 1 (`flowcontrol.NewTokenBucketRateLimiter(qps, 1)`):
/// full (one token) from `full_at` on; `qps == 0` never accepts.
#[derive(Clone, Debug)]
struct Limiter {
    qps: f64,
    full_at: Time,
}

impl Limiter {
    fn interval(&self) -> Time {
        (SECOND as f64 / self.qps).round() as Time
    }
    fn try_accept(&mut self, now: Time) -> bool {
        if self.qps <= 0.0 || now < self.full_at {
            return false;
        }
        self.full_at = now + self.interval();
        true
    }
    /// `SwapLimiter`: a new bucket, drained if the old one had no token.
    fn swap(&mut self, qps: f64, now: Time) {
        if self.qps == qps {
            return;
        }
        let waiting = !self.try_accept(now);
        self.qps = qps;
        self.full_at = 0;
        if qps > 0.0 && waiting {
            self.full_at = now + self.interval();
        }
    }
}

#[derive(Clone, Debug)]
struct Zone {
    state: ZoneState,
    limiter: Limiter,
    queue: VecDeque<NodeId>,
}

/// Something the controllers did, for recovery metrics and the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// Ready became Unknown (or False).
    NotReady(NodeId),
    /// A NoExecute taint was added.
    Tainted(NodeId),
    /// Ready again; NoExecute taints removed.
    Ready(NodeId),
    /// The taint eviction controller deleted a pod.
    Evicted(PodId),
}

/// What the run loop must schedule after a controller step.
#[derive(Debug, Default)]
pub struct Followups {
    /// A tainting pass is due at this time.
    pub taint_pass: Option<Time>,
    /// Nodes whose NoExecute taints changed: the taint eviction controller
    /// processes them (after the watch delay).
    pub taints_changed: Vec<NodeId>,
    /// Scheduled pod deletions: (time, pod, token).
    pub evictions: Vec<(Time, PodId, u64)>,
}

/// The node lifecycle controller with its in-memory state (upstream's
/// `nodeHealthMap`, `zoneStates`, `zoneNoExecuteTainter`) and the taint
/// eviction controller's scheduled deletions.
pub struct NodeLifecycle {
    cfg: ControllerSettings,
    grace: Time,
    health: Vec<NodeHealth>,
    /// Zones in the order their first node was seen, with their keys.
    zones: Vec<Zone>,
    zone_keys: Vec<String>,
    /// Pods whose Ready condition the controller set False, per node: the
    /// kubelet reports them Ready again when it is back in contact.
    pub marked_not_ready: BTreeMap<NodeId, Vec<PodId>>,
    /// Taint eviction: pod → (created at, fire at, token).
    scheduled: BTreeMap<PodId, (Time, Time, u64)>,
    next_token: u64,
    pub log: Vec<(Time, LifecycleEvent)>,
    /// The time of every monitor pass so far.
    passes: Vec<Time>,
    /// (wake time, node): nodes to visit at the first pass at or after it.
    wakes: BinaryHeap<Reverse<(Time, u32)>>,
    /// Per zone: (Ready, not Ready) nodes that are not deleted.
    zone_counts: Vec<(usize, usize)>,
    /// Nodes visited at the current pass (a buffer).
    visit: Vec<u32>,
    /// Visit every node at every pass, as upstream (the reference in tests).
    full: bool,
    /// With verification: `(renew_seen, probe)` of every node as visiting it
    /// at every pass leaves them.
    shadow: Option<Vec<(Option<Time>, Time)>>,
    /// The first disagreement verification found (`--check-invariants`).
    pub violation: Option<String>,
}

/// Upstream's zone key (`GetZoneKey`): region and zone labels.
pub fn zone_key(node: &Node) -> String {
    let region = node.labels.get(REGION_LABEL).map_or("", |s| s.as_str());
    let zone = node.labels.get(ZONE_LABEL).map_or("", |s| s.as_str());
    format!("{region}:\u{0}:{zone}")
}

fn noexecute(key: &str) -> Taint {
    Taint {
        key: key.to_string(),
        value: String::new(),
        effect: TaintEffect::NoExecute,
    }
}
fn noschedule(key: &str) -> Taint {
    Taint {
        key: key.to_string(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
    }
}

/// `ComputeZoneState`: (not ready count, state).
pub fn compute_zone_state(ready: usize, not_ready: usize, threshold: f32) -> ZoneState {
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && (not_ready as f32) / ((not_ready + ready) as f32) >= threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

impl NodeLifecycle {
    pub fn new(cfg: &ControllerSettings, version: KubeVersion, world: &World) -> NodeLifecycle {
        let mut nl = NodeLifecycle {
            cfg: cfg.clone(),
            grace: cfg.grace_period(version),
            health: Vec::new(),
            zones: Vec::new(),
            zone_keys: Vec::new(),
            marked_not_ready: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            next_token: 0,
            log: Vec::new(),
            passes: Vec::new(),
            wakes: BinaryHeap::new(),
            zone_counts: Vec::new(),
            visit: Vec::new(),
            full: false,
            shadow: None,
            violation: None,
        };
        nl.ensure(world, 0);
        nl.verified(cfg!(debug_assertions))
    }

    /// With `verify`, every pass is checked against visiting every node
    /// (always on in debug builds).
    pub fn verified(mut self, verify: bool) -> NodeLifecycle {
        if verify && self.shadow.is_none() {
            self.shadow = Some(
                self.health
                    .iter()
                    .map(|h| (h.renew_seen, h.probe))
                    .collect(),
            );
        }
        self
    }

    /// Visit every node at every pass, as upstream does (the reference the
    /// tests compare with).
    #[cfg(test)]
    fn full_scan(mut self) -> NodeLifecycle {
        self.full = true;
        self
    }

    /// The node's Lease is about to change on the kubelet side (contact lost
    /// or regained): bring what the controller saw of it up to date under the
    /// old state, and look at the node at the next pass.
    pub fn lease_changing(&mut self, node: NodeId, leases: &dyn LeaseView) {
        let i = node.idx();
        if i >= self.health.len() {
            return;
        }
        if let Some(last) = self.passes.len().checked_sub(1) {
            self.materialise(i, leases, last);
        }
        self.set_wake(i, 0);
    }

    /// The node object changed: look at it at the next pass.
    pub fn node_updated(&mut self, node: NodeId) {
        if node.idx() < self.health.len() {
            self.set_wake(node.idx(), 0);
        }
    }

    fn set_wake(&mut self, i: usize, at: Time) {
        if self.full {
            return;
        }
        let h = &mut self.health[i];
        if at == h.wake {
            return;
        }
        h.wake = at;
        if at != Time::MAX {
            self.wakes.push(Reverse((at, i as u32)));
        }
    }

    /// What visiting node `i` at every pass up to `passes[upto]` would have
    /// left in (`renew_seen`, `probe`), and whether the renewal changed at
    /// that last pass.
    fn materialised(
        &self,
        i: usize,
        leases: &dyn LeaseView,
        upto: usize,
    ) -> (Option<Time>, Time, bool) {
        let h = &self.health[i];
        if h.seen > upto {
            return (h.renew_seen, h.probe, false);
        }
        let now = self.passes[upto];
        let renew = leases.renew_time(NodeId(i as u32), now);
        if renew == h.renew_seen {
            return (renew, h.probe, false);
        }
        if h.seen == upto {
            return (renew, now, true);
        }
        // Skipped passes: the renewal was first seen at the first of them
        // at or after the time it has been showing since (renewTime does not
        // decrease while the kubelet side is unchanged, and every change of
        // that side brought `seen` up to the last pass before it).
        let since = leases.renewed_since(NodeId(i as u32), now);
        let window = &self.passes[h.seen..=upto];
        let probe = window[window.partition_point(|&p| p < since)];
        (renew, probe, probe == now)
    }

    fn materialise(&mut self, i: usize, leases: &dyn LeaseView, upto: usize) -> bool {
        let (renew, probe, changed_now) = self.materialised(i, leases, upto);
        let h = &mut self.health[i];
        h.renew_seen = renew;
        h.probe = probe;
        h.seen = h.seen.max(upto + 1);
        changed_now
    }

    fn grace_of(&self, h: &NodeHealth) -> Time {
        if h.ever_ready {
            self.grace
        } else {
            self.cfg.node_startup_grace_period
        }
    }

    /// When a pass must next visit node `i`, just visited at `now`: a node
    /// not Ready at every pass; a Ready one when its grace period could run
    /// out before a renewal is seen.
    fn next_visit(&self, i: usize, leases: &dyn LeaseView, now: Time) -> Time {
        let h = &self.health[i];
        if self.full || h.status != ReadyStatus::True {
            return now + 1;
        }
        let grace = self.grace_of(h);
        // The first time at which `now > probe + grace`.
        let expiry = h.probe + grace + 1;
        match leases.renewals(NodeId(i as u32), now) {
            Renewals::Unknown => now + 1,
            Renewals::Never => expiry,
            // From `next` on, a pass sees a renewal younger than `interval`,
            // first seen at or after the time it was made: never out of
            // grace if `interval <= grace`.
            Renewals::Every { next, interval } => {
                if expiry < next || interval > grace {
                    expiry
                } else {
                    Time::MAX
                }
            }
        }
    }

    pub fn grace_period(&self) -> Time {
        self.grace
    }

    pub fn monitor_period(&self) -> Time {
        self.cfg.node_monitor_period
    }

    /// Ready status of a node as the controller holds it.
    pub fn status(&self, node: NodeId) -> ReadyStatus {
        self.health
            .get(node.idx())
            .map_or(ReadyStatus::True, |h| h.status)
    }

    /// New nodes are first observed now (upstream: probe timestamp = now).
    fn ensure(&mut self, world: &World, now: Time) {
        while self.health.len() < world.nodes.len() {
            let n = &world.nodes[self.health.len()];
            let key = zone_key(n);
            let zone = match self.zone_keys.iter().position(|k| *k == key) {
                Some(z) => z,
                None => {
                    self.zone_keys.push(key);
                    self.zones.push(Zone {
                        state: ZoneState::Initial,
                        limiter: Limiter {
                            qps: self.cfg.node_eviction_rate,
                            full_at: 0,
                        },
                        queue: VecDeque::new(),
                    });
                    self.zones.len() - 1
                }
            };
            let i = self.health.len();
            self.health.push(NodeHealth {
                zone,
                probe: now,
                renew_seen: None,
                status: if n.ready {
                    ReadyStatus::True
                } else {
                    ReadyStatus::Unknown
                },
                ever_ready: n.ready,
                seen: self.passes.len(),
                wake: Time::MAX,
                counted: false,
            });
            if self.zone_counts.len() < self.zones.len() {
                self.zone_counts.resize(self.zones.len(), (0, 0));
            }
            if !n.deleted {
                self.count(zone, n.ready, 1);
                self.health[i].counted = true;
            }
            if let Some(shadow) = &mut self.shadow {
                shadow.push((None, now));
            }
            self.set_wake(i, now);
        }
    }

    /// Adds `delta` (±1) to the zone's Ready or not Ready count.
    fn count(&mut self, zone: usize, ready: bool, delta: isize) {
        let c = &mut self.zone_counts[zone];
        let slot = if ready { &mut c.0 } else { &mut c.1 };
        *slot = slot.checked_add_signed(delta).expect("zone count");
    }

    /// One `monitorNodeHealth` pass.
    pub fn monitor(&mut self, world: &mut World, leases: &dyn LeaseView, now: Time) -> Followups {
        self.ensure(world, now);
        let pass = self.passes.len();
        self.passes.push(now);
        if self.shadow.is_some() {
            self.shadow_pass(world, leases, now);
        }
        let mut out = Followups::default();
        let mut visit = std::mem::take(&mut self.visit);
        visit.clear();
        if self.full {
            visit.extend(0..self.health.len() as u32);
        } else {
            while let Some(&Reverse((at, i))) = self.wakes.peek() {
                if at > now {
                    break;
                }
                self.wakes.pop();
                let h = &mut self.health[i as usize];
                if h.wake == at {
                    h.wake = Time::MAX;
                    visit.push(i);
                }
            }
            // Upstream's order: by node.
            visit.sort_unstable();
        }
        for &v in &visit {
            let i = v as usize;
            let id = NodeId(v);
            if world.nodes[i].deleted {
                if self.health[i].counted {
                    let (zone, ready) = (self.health[i].zone, self.health[i].status);
                    self.count(zone, ready == ReadyStatus::True, -1);
                    self.health[i].counted = false;
                }
                self.health[i].wake = Time::MAX;
                continue;
            }
            let changed = self.materialise(i, leases, pass);
            let grace = self.grace_of(&self.health[i]);
            let h = &mut self.health[i];
            let observed = h.status;
            // A renewal after an outage comes with the kubelet posting
            // Ready=True (folded into the Lease here). A node not Ready is
            // visited at every pass, so `changed` is a change at this one.
            if changed && h.status != ReadyStatus::True && h.renew_seen.is_some() {
                h.status = ReadyStatus::True;
                h.ever_ready = true;
            }
            if now > h.probe + grace && h.status != ReadyStatus::Unknown {
                h.status = ReadyStatus::Unknown;
            }
            let current = h.status;
            let zone = h.zone;
            if current != observed {
                let (was, is) = (observed == ReadyStatus::True, current == ReadyStatus::True);
                if was != is {
                    self.count(zone, was, -1);
                    self.count(zone, is, 1);
                }
                self.transition(world, id, observed, current, now, &mut out);
            }
            self.process_taint_based_eviction(world, id, current, now, &mut out);
            let wake = self.next_visit(i, leases, now);
            self.set_wake(i, wake);
        }
        self.visit = visit;
        let conditions = self.zone_counts.clone();
        self.handle_disruption(world, leases, &conditions, now, &mut out);
        if self.shadow.is_some() {
            self.verify_pass(world, leases, now);
        }
        out.taint_pass = self.next_taint_pass(now);
        out
    }

    /// Verification: what visiting every node at this pass leaves in
    /// (`renew_seen`, `probe`).
    fn shadow_pass(&mut self, world: &World, leases: &dyn LeaseView, now: Time) {
        let shadow = self.shadow.as_mut().expect("verifying");
        for (i, s) in shadow.iter_mut().enumerate() {
            if world.nodes[i].deleted {
                continue;
            }
            let renew = leases.renew_time(NodeId(i as u32), now);
            if renew != s.0 {
                *s = (renew, now);
            }
        }
    }

    /// Verification: every node's state as visiting every node would have
    /// it, every skipped node one whose visit would have changed nothing,
    /// and the zone counts a recount.
    fn verify_pass(&mut self, world: &World, leases: &dyn LeaseView, now: Time) {
        let pass = self.passes.len() - 1;
        let shadow = self.shadow.as_ref().expect("verifying");
        let mut counts = vec![(0, 0); self.zones.len()];
        let mut problem = None;
        for (i, h) in self.health.iter().enumerate() {
            let node = &world.nodes[i];
            if node.deleted {
                continue;
            }
            let (renew, probe, _) = self.materialised(i, leases, pass);
            if (renew, probe) != shadow[i] {
                problem.get_or_insert(format!(
                    "stale lease view of node {i}: (renew, probe) {:?}, visiting every pass gives {:?}",
                    (renew, probe),
                    shadow[i]
                ));
            }
            if h.status == ReadyStatus::True {
                counts[h.zone].0 += 1;
            } else {
                counts[h.zone].1 += 1;
            }
            if h.seen > pass {
                continue;
            }
            // Skipped: the visit would have found it Ready, in grace, with no
            // NoExecute taint of the controller's and in no tainting queue.
            let tainted = node.taints.iter().any(|t| {
                t.effect == TaintEffect::NoExecute
                    && (t.key == TAINT_NODE_UNREACHABLE || t.key == TAINT_NODE_NOT_READY)
            });
            if h.status != ReadyStatus::True
                || now > probe + self.grace_of(h)
                || tainted
                || self.zones[h.zone].queue.contains(&NodeId(i as u32))
            {
                problem.get_or_insert(format!(
                    "stale node monitor: node {i} skipped at {now} but its visit would act ({:?}, probe {probe}, tainted {tainted})",
                    h.status
                ));
            }
        }
        if counts != self.zone_counts {
            problem.get_or_insert(format!(
                "stale zone counts {:?}, recount {counts:?}",
                self.zone_counts
            ));
        }
        if let Some(m) = problem {
            debug_assert!(false, "{m}");
            self.violation.get_or_insert(m);
        }
    }

    fn transition(
        &mut self,
        world: &mut World,
        id: NodeId,
        from: ReadyStatus,
        to: ReadyStatus,
        now: Time,
        _out: &mut Followups,
    ) {
        let key = match to {
            ReadyStatus::Unknown => Some(TAINT_NODE_UNREACHABLE),
            ReadyStatus::False => Some(TAINT_NODE_NOT_READY),
            ReadyStatus::True => None,
        };
        let node = &mut world.nodes[id.idx()];
        node.ready = to == ReadyStatus::True;
        // TaintNodesByCondition: the NoSchedule taints follow the condition at once.
        node.taints.retain(|t| {
            !(t.effect == TaintEffect::NoSchedule
                && (t.key == TAINT_NODE_UNREACHABLE || t.key == TAINT_NODE_NOT_READY))
        });
        if let Some(k) = key {
            node.taints.push(noschedule(k));
        }
        world.node_changed(id);
        if from == ReadyStatus::True {
            // MarkPodsNotReady.
            let pods = world.nodes[id.idx()].pods.clone();
            let mut marked = Vec::new();
            for p in pods {
                if world.pod(p).ready {
                    world.set_ready(p, false, now);
                    marked.push(p);
                }
            }
            self.marked_not_ready.insert(id, marked);
            self.log.push((now, LifecycleEvent::NotReady(id)));
        }
        if to == ReadyStatus::True {
            self.log.push((now, LifecycleEvent::Ready(id)));
        }
    }

    /// `processTaintBaseEviction`.
    fn process_taint_based_eviction(
        &mut self,
        world: &mut World,
        id: NodeId,
        status: ReadyStatus,
        now: Time,
        out: &mut Followups,
    ) {
        let zk = self.health[id.idx()].zone;
        match status {
            ReadyStatus::False | ReadyStatus::Unknown => {
                let (want, other) = if status == ReadyStatus::False {
                    (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE)
                } else {
                    (TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY)
                };
                let node = &mut world.nodes[id.idx()];
                let has = |k: &str, n: &Node| {
                    n.taints
                        .iter()
                        .any(|t| t.effect == TaintEffect::NoExecute && t.key == k)
                };
                if has(other, node) {
                    // Swap the opposite taint at once.
                    node.taints
                        .retain(|t| !(t.effect == TaintEffect::NoExecute && t.key == other));
                    node.taints.push(noexecute(want));
                    world.node_changed(id);
                    out.taints_changed.push(id);
                    self.log.push((now, LifecycleEvent::Tainted(id)));
                } else if !has(want, node) {
                    // markNodeForTainting: queued once.
                    let z = &mut self.zones[zk];
                    if !z.queue.contains(&id) {
                        z.queue.push_back(id);
                    }
                }
            }
            ReadyStatus::True => {
                // markNodeAsReachable.
                let z = &mut self.zones[zk];
                if !z.queue.is_empty() {
                    z.queue.retain(|&n| n != id);
                }
                if remove_noexecute(world, id) {
                    out.taints_changed.push(id);
                }
            }
        }
    }

    fn handle_disruption(
        &mut self,
        world: &mut World,
        leases: &dyn LeaseView,
        conditions: &[(usize, usize)],
        now: Time,
        out: &mut Followups,
    ) {
        // Zones without nodes are forgotten, as upstream deletes their state.
        let present = |z: usize| conditions[z].0 + conditions[z].1 > 0;
        let new_states: Vec<ZoneState> = conditions
            .iter()
            .map(|&(ready, not_ready)| {
                compute_zone_state(ready, not_ready, self.cfg.unhealthy_zone_threshold)
            })
            .collect();
        let all_are_fully = (0..self.zones.len())
            .filter(|&z| present(z))
            .all(|z| new_states[z] == ZoneState::FullDisruption);
        let all_was_fully = (0..self.zones.len())
            .filter(|&z| present(z))
            .all(|z| self.zones[z].state == ZoneState::FullDisruption);
        if all_are_fully && all_was_fully {
            return;
        }
        if all_are_fully {
            // Master disruption mode: every node reachable again, no tainting.
            for z in &mut self.zones {
                z.queue.clear();
            }
            for i in 0..world.nodes.len() {
                let id = NodeId(i as u32);
                if !world.nodes[i].deleted && remove_noexecute(world, id) {
                    out.taints_changed.push(id);
                }
            }
            for z in &mut self.zones {
                z.limiter.swap(0.0, now);
                z.state = ZoneState::FullDisruption;
            }
            return;
        }
        if all_was_fully {
            // Every probe restarts now: bring the skipped nodes up to this
            // pass first, then look at each again.
            let pass = self.passes.len() - 1;
            for i in 0..self.health.len() {
                if !world.nodes[i].deleted {
                    self.materialise(i, leases, pass);
                }
                self.health[i].probe = now;
            }
            if let Some(shadow) = &mut self.shadow {
                for s in shadow {
                    s.1 = now;
                }
            }
            for i in 0..self.health.len() {
                if !world.nodes[i].deleted {
                    let wake = self.next_visit(i, leases, now);
                    self.set_wake(i, wake);
                }
            }
        }
        for (k, z) in self.zones.iter_mut().enumerate() {
            if !present(k) {
                continue;
            }
            let new = new_states[k];
            if z.state == new && !all_was_fully {
                continue;
            }
            let size = conditions[k].0 + conditions[k].1;
            let qps = match new {
                ZoneState::Normal | ZoneState::Initial | ZoneState::FullDisruption => {
                    self.cfg.node_eviction_rate
                }
                ZoneState::PartialDisruption => {
                    if size as u32 > self.cfg.large_cluster_size_threshold {
                        self.cfg.secondary_node_eviction_rate
                    } else {
                        0.0
                    }
                }
            };
            z.limiter.swap(qps, now);
            z.state = new;
        }
    }

    /// The next 100 ms tick at which a non-empty queue has a token.
    fn next_taint_pass(&self, now: Time) -> Option<Time> {
        let grid_after = |t: Time| (t / NODE_EVICTION_PERIOD + 1) * NODE_EVICTION_PERIOD;
        let grid_ceil = |t: Time| t.div_ceil(NODE_EVICTION_PERIOD) * NODE_EVICTION_PERIOD;
        self.zones
            .iter()
            .filter(|z| !z.queue.is_empty() && z.limiter.qps > 0.0)
            .map(|z| grid_after(now).max(grid_ceil(z.limiter.full_at)))
            .min()
    }

    /// One `doNoExecuteTaintingPass`.
    pub fn taint_pass(&mut self, world: &mut World, now: Time) -> Followups {
        let mut out = Followups::default();
        for z in &mut self.zones {
            while let Some(&id) = z.queue.front() {
                if !z.limiter.try_accept(now) {
                    break;
                }
                z.queue.pop_front();
                let status = self.health[id.idx()].status;
                let (want, other) = match status {
                    ReadyStatus::False => (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE),
                    ReadyStatus::Unknown => (TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY),
                    // Ready again meanwhile: nothing to taint.
                    ReadyStatus::True => continue,
                };
                let node = &mut world.nodes[id.idx()];
                if node.deleted {
                    continue;
                }
                node.taints.retain(|t| {
                    !(t.effect == TaintEffect::NoExecute && (t.key == other || t.key == want))
                });
                node.taints.push(noexecute(want));
                world.node_changed(id);
                out.taints_changed.push(id);
                self.log.push((now, LifecycleEvent::Tainted(id)));
            }
        }
        out.taint_pass = self.next_taint_pass(now);
        out
    }

    /// The taint eviction controller handles a node whose NoExecute taints
    /// changed (`processPodOnNode` for each of its pods).
    pub fn taint_eviction(&mut self, world: &World, node: NodeId, now: Time) -> Followups {
        let mut out = Followups::default();
        let n = &world.nodes[node.idx()];
        let taints: Vec<&Taint> = n
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::NoExecute)
            .collect();
        for &p in &n.pods {
            let pod = world.pod(p);
            if pod.deleted || pod.deleting_since.is_some() {
                continue;
            }
            if taints.is_empty() {
                self.scheduled.remove(&p);
                continue;
            }
            let tolerations = effective_tolerations(&world.pod_spec(p).tolerations, &self.cfg);
            let Some(secs) = min_toleration_seconds(&taints, &tolerations) else {
                // Tolerated for ever.
                self.scheduled.remove(&p);
                continue;
            };
            let fire = now + secs.max(0) as Time * SECOND;
            let mut created = now;
            if let Some(&(c, _, _)) = self.scheduled.get(&p) {
                // `startTime.Add(min).Before(triggerTime)`: a deletion
                // scheduled earlier stands; updates never postpone it.
                if c < now {
                    continue;
                }
                created = c;
            }
            self.next_token += 1;
            self.scheduled.insert(p, (created, fire, self.next_token));
            out.evictions.push((fire, p, self.next_token));
        }
        out
    }

    /// A scheduled deletion is due: delete the pod unless cancelled meanwhile.
    pub fn evict(&mut self, world: &mut World, pod: PodId, token: u64, now: Time) -> bool {
        match self.scheduled.get(&pod) {
            Some(&(_, _, t)) if t == token => {}
            _ => return false,
        }
        self.scheduled.remove(&pod);
        let p = world.pod(pod);
        if p.deleted || p.deleting_since.is_some() {
            return false;
        }
        world.mark_deleting(pod, now);
        self.log.push((now, LifecycleEvent::Evicted(pod)));
        true
    }
}

fn remove_noexecute(world: &mut World, id: NodeId) -> bool {
    let node = &mut world.nodes[id.idx()];
    let before = node.taints.len();
    node.taints.retain(|t| {
        !(t.effect == TaintEffect::NoExecute
            && (t.key == TAINT_NODE_UNREACHABLE || t.key == TAINT_NODE_NOT_READY))
    });
    let changed = node.taints.len() != before;
    if changed {
        world.node_changed(id);
    }
    changed
}

/// A pod's tolerations with what the DefaultTolerationSeconds admission
/// plugin adds: `not-ready` and `unreachable` NoExecute for 300 s, each unless
/// a toleration with that key (or no key) and effect NoExecute (or none) is
/// there already. Applied here, where it matters, rather than stored on every
/// pod spec.
pub fn effective_tolerations(tols: &[Toleration], cfg: &ControllerSettings) -> Vec<Toleration> {
    let covers = |key: &str| {
        tols.iter().any(|t| {
            (t.key.is_empty() || t.key == key)
                && t.effect.is_none_or(|e| e == TaintEffect::NoExecute)
        })
    };
    let mut out = tols.to_vec();
    for (key, secs) in [
        (
            TAINT_NODE_NOT_READY,
            cfg.default_not_ready_toleration_seconds,
        ),
        (
            TAINT_NODE_UNREACHABLE,
            cfg.default_unreachable_toleration_seconds,
        ),
    ] {
        if !covers(key) {
            out.push(Toleration {
                key: key.to_string(),
                op: TolerationOp::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some(secs),
            });
        }
    }
    out
}

/// `GetMatchingTolerations` + `getMinTolerationTime`: `Some(0)` when a taint
/// is not tolerated (delete now), `None` when every used toleration lasts for
/// ever, else the smallest `tolerationSeconds`.
pub fn min_toleration_seconds(taints: &[&Taint], tols: &[Toleration]) -> Option<i64> {
    let mut used: Vec<&Toleration> = Vec::new();
    for t in taints {
        match tols.iter().find(|tol| tol.tolerates(t)) {
            Some(tol) => used.push(tol),
            None => return Some(0),
        }
    }
    if used.is_empty() {
        return Some(0);
    }
    let mut min: Option<i64> = None;
    for t in used {
        if let Some(s) = t.toleration_seconds {
            if s <= 0 {
                return Some(0);
            }
            min = Some(min.map_or(s, |m: i64| m.min(s)));
        }
    }
    min
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::test_world;
    use proptest::prelude::*;

    /// Kubelets renew every 10 s on a phase-0 grid; node 0 stops at `stop`.
    struct Grid {
        stop: Time,
    }
    impl LeaseView for Grid {
        fn renew_time(&self, node: NodeId, now: Time) -> Option<Time> {
            let t = if node.0 == 0 {
                now.min(self.stop - 1)
            } else {
                now
            };
            Some(t / (10 * SECOND) * (10 * SECOND))
        }
    }

    /// A World of three nodes with one Running, Ready pod each; the pods
    /// tolerate nothing themselves (they get the 300 s defaults).
    fn world_with_pods() -> (World, PodId) {
        let mut w = test_world();
        let spec = w.add_spec(PodSpec::default());
        let mut pod = None;
        for n in 0..3 {
            let mut p = crate::controllers::new_pod(
                format!("p-{n}"),
                "default",
                spec,
                Owner::Job(JobId(0)),
            );
            p.owner = None;
            let id = w.create_pod(p, 0);
            w.bind(id, NodeId(n), 0);
            w.set_phase(id, PodPhase::Running);
            w.set_ready(id, true, 0);
            pod.get_or_insert(id);
        }
        w.changes.clear();
        (w, pod.unwrap())
    }

    fn run_until(
        nl: &mut NodeLifecycle,
        w: &mut World,
        leases: &Grid,
        until: Time,
    ) -> Vec<(Time, PodId)> {
        let mut evictions = Vec::new();
        let mut t = 0;
        while t <= until {
            let f = nl.monitor(w, leases, t);
            if let Some(tp) = f.taint_pass {
                let g = nl.taint_pass(w, tp);
                for n in g.taints_changed {
                    evictions.extend(
                        nl.taint_eviction(w, n, tp + 10 * MILLISECOND)
                            .evictions
                            .into_iter()
                            .map(|(at, p, _)| (at, p)),
                    );
                }
            }
            t += 5 * SECOND;
        }
        evictions
    }

    #[test]
    fn the_default_timeline_step_by_step() {
        // Lease renewals at …, 280, 290 s; the machine stops at 300 s. The
        // pass at 290 s sees the 290 s renewal (probe 290 s); grace 50 s: the
        // first pass strictly after 340 s is 345 s → Ready=Unknown, pods not
        // Ready, unreachable:NoSchedule at once, NoExecute at the 100 ms pass
        // (345.1 s), and the pod is deleted 300 s after the taint eviction
        // controller sees it (345.11 s + 300 s).
        let v = KubeVersion {
            major: 1,
            minor: 37,
        };
        let (mut w, pod) = world_with_pods();
        let mut nl = NodeLifecycle::new(&ControllerSettings::default(), v, &w);
        let leases = Grid { stop: 300 * SECOND };
        let ev = run_until(&mut nl, &mut w, &leases, 400 * SECOND);
        let not_ready: Vec<Time> = nl
            .log
            .iter()
            .filter(|(_, e)| *e == LifecycleEvent::NotReady(NodeId(0)))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(not_ready, vec![345 * SECOND]);
        assert!(nl.log.contains(&(
            345 * SECOND + 100 * MILLISECOND,
            LifecycleEvent::Tainted(NodeId(0))
        )));
        assert!(!w.pod(pod).ready);
        assert!(!w.node(NodeId(0)).ready);
        assert!(
            w.node(NodeId(0))
                .taints
                .iter()
                .any(|t| t.key == TAINT_NODE_UNREACHABLE && t.effect == TaintEffect::NoSchedule)
        );
        assert_eq!(ev, vec![(645 * SECOND + 110 * MILLISECOND, pod)]);
        assert_eq!(nl.status(NodeId(1)), ReadyStatus::True);

        // Before v1.32 the grace period is 40 s: NotReady at 335 s.
        let (mut w, _) = world_with_pods();
        let old = KubeVersion {
            major: 1,
            minor: 31,
        };
        let mut nl = NodeLifecycle::new(&ControllerSettings::default(), old, &w);
        run_until(&mut nl, &mut w, &leases, 400 * SECOND);
        assert_eq!(
            nl.log[0],
            (335 * SECOND, LifecycleEvent::NotReady(NodeId(0)))
        );
    }

    #[test]
    fn a_returning_node_is_untainted_and_its_eviction_cancelled() {
        let v = KubeVersion::DEFAULT;
        let (mut w, pod) = world_with_pods();
        let mut nl = NodeLifecycle::new(&ControllerSettings::default(), v, &w);
        run_until(&mut nl, &mut w, &Grid { stop: 300 * SECOND }, 400 * SECOND);
        let first = nl.scheduled[&pod];
        // A later update of the node does not move the scheduled deletion.
        let again = nl.taint_eviction(&w, NodeId(0), 420 * SECOND);
        assert!(again.evictions.is_empty());
        assert_eq!(nl.scheduled[&pod], first);
        // The kubelet renews again (its Lease moves past 400 s).
        let back = Grid { stop: Time::MAX };
        let f = nl.monitor(&mut w, &back, 405 * SECOND);
        assert_eq!(nl.status(NodeId(0)), ReadyStatus::True);
        assert!(w.node(NodeId(0)).ready);
        assert!(w.node(NodeId(0)).taints.is_empty());
        assert_eq!(f.taints_changed, vec![NodeId(0)]);
        let g = nl.taint_eviction(&w, NodeId(0), 405 * SECOND);
        assert!(g.evictions.is_empty());
        assert!(!nl.evict(&mut w, pod, 1, 645 * SECOND), "cancelled");
        assert!(w.pod(pod).deleting_since.is_none());
    }

    #[test]
    fn zone_states_as_upstream_computes_them() {
        // 0 ready of 3 → full; 3 of 5 not ready (60 % ≥ 55 %) → partial;
        // 2 of 2 not ready but ready == 0 → full; 2 of 3 not ready (not > 2) → normal.
        assert_eq!(compute_zone_state(0, 3, 0.55), ZoneState::FullDisruption);
        assert_eq!(compute_zone_state(2, 3, 0.55), ZoneState::PartialDisruption);
        assert_eq!(compute_zone_state(1, 2, 0.55), ZoneState::Normal);
        // 11 of 20 = 0.55 exactly (float32) → partial.
        assert_eq!(
            compute_zone_state(9, 11, 0.55),
            ZoneState::PartialDisruption
        );
        assert_eq!(compute_zone_state(10, 10, 0.55), ZoneState::Normal);
    }

    #[test]
    fn token_bucket_of_burst_one() {
        let mut l = Limiter {
            qps: 0.1,
            full_at: 0,
        };
        assert!(l.try_accept(5 * SECOND));
        assert!(!l.try_accept(14 * SECOND));
        assert!(l.try_accept(15 * SECOND));
        // Swapping to a slower rate while waiting drains the new bucket.
        l.swap(0.01, 16 * SECOND);
        assert!(!l.try_accept(100 * SECOND));
        assert!(l.try_accept(116 * SECOND));
        l.swap(0.0, 200 * SECOND);
        assert!(!l.try_accept(10_000 * SECOND));
    }

    fn tol(key: &str, effect: Option<TaintEffect>, secs: Option<i64>) -> Toleration {
        Toleration {
            key: key.to_string(),
            op: TolerationOp::Exists,
            value: String::new(),
            effect,
            toleration_seconds: secs,
        }
    }

    #[test]
    fn default_toleration_seconds_unless_the_pod_has_its_own() {
        let cfg = ControllerSettings::default();
        let t = effective_tolerations(&[], &cfg);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| t.toleration_seconds == Some(300)));
        let own = [tol(
            TAINT_NODE_UNREACHABLE,
            Some(TaintEffect::NoExecute),
            Some(30),
        )];
        let t = effective_tolerations(&own, &cfg);
        assert_eq!(t.len(), 2);
        assert_eq!(
            min_toleration_seconds(&[&noexecute(TAINT_NODE_UNREACHABLE)], &t),
            Some(30)
        );
        // A key-less Exists toleration covers both: nothing is added.
        assert_eq!(effective_tolerations(&[tol("", None, None)], &cfg).len(), 1);
    }

    #[test]
    fn min_toleration_time_as_upstream() {
        let u = noexecute(TAINT_NODE_UNREACHABLE);
        let n = noexecute(TAINT_NODE_NOT_READY);
        // Untolerated → now; forever → None; the minimum of the used ones.
        assert_eq!(min_toleration_seconds(&[&u], &[]), Some(0));
        assert_eq!(
            min_toleration_seconds(&[&u], &[tol(TAINT_NODE_UNREACHABLE, None, None)]),
            None
        );
        let tols = [
            tol(TAINT_NODE_UNREACHABLE, None, Some(300)),
            tol(TAINT_NODE_NOT_READY, None, Some(60)),
        ];
        assert_eq!(min_toleration_seconds(&[&u, &n], &tols), Some(60));
        assert_eq!(
            min_toleration_seconds(&[&u], &[tol(TAINT_NODE_UNREACHABLE, None, Some(-5))]),
            Some(0)
        );
    }

    /// A world of `n` nodes spread over `zones` zones, each with a Running,
    /// Ready pod that tolerates nothing itself.
    fn zoned_world(n: usize, zones: usize) -> World {
        let mut w = World::default();
        let spec = w.add_spec(PodSpec::default());
        for i in 0..n {
            let mut node = crate::controllers::testutil::node(&format!("n-{i}"));
            node.labels
                .insert(ZONE_LABEL.to_string(), format!("z-{}", i % zones));
            let id = w.add_node(node);
            let mut p = crate::controllers::new_pod(
                format!("p-{i}"),
                "default",
                spec,
                Owner::Job(JobId(0)),
            );
            p.owner = None;
            let pod = w.create_pod(p, 0);
            w.bind(pod, id, 0);
            w.set_phase(pod, PodPhase::Running);
            w.set_ready(pod, true, 0);
        }
        w.changes.clear();
        w
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// The incremental monitor (verified at every pass against the
        /// per-pass values) acts exactly as visiting every node at every
        /// pass: same log, taints, Ready flags and follow-ups, under random
        /// contact losses and returns (some at pass times, some before or
        /// after the pass at that time), renewal phases on and off the pass
        /// grid, and grace periods shorter and longer than the renewal
        /// interval.
        #[test]
        fn skipping_nodes_acts_as_visiting_every_node(
            nodes in 1usize..7,
            zones in 1usize..3,
            phases in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(0u64),
                    proptest::prelude::Just(5 * SECOND),
                    (0u64..10_000u64).prop_map(|ms| ms * MILLISECOND),
                ],
                7,
            ),
            grace_s in proptest::sample::select(vec![3u64, 9, 10, 12, 40, 50]),
            toggles in proptest::collection::vec((0u64..1600, 0usize..7, proptest::prelude::any::<bool>()), 0..40),
        ) {
            let cfg = ControllerSettings {
                node_monitor_grace_period: Some(grace_s * SECOND),
                ..ControllerSettings::default()
            };
            let v = KubeVersion { major: 1, minor: 37 };
            let mut wa = zoned_world(nodes, zones);
            let mut wb = wa.clone();
            let mut a = NodeLifecycle::new(&cfg, v, &wa).verified(true);
            let mut b = NodeLifecycle::new(&cfg, v, &wb).full_scan();
            let mut leases = crate::kubelet::Leases::with_phases(&wa, phases[..nodes].to_vec());
            let mut contact = vec![true; nodes];
            // Toggles at multiples of 500 ms; `before` puts one at a pass
            // time ahead of the pass.
            let mut toggles: Vec<(Time, usize, bool)> = toggles
                .into_iter()
                .filter(|&(_, n, _)| n < nodes)
                .map(|(t, n, before)| (t * 500 * MILLISECOND, n, before))
                .collect();
            toggles.sort_by_key(|&(t, _, before)| (t, !before));
            let mut next = toggles.into_iter().peekable();
            let mut taint_pass: Option<Time> = None;
            let mut t = 0;
            while t <= 900 * SECOND {
                let mut toggle_now = |upto: Time, ahead: bool, a: &mut NodeLifecycle, b: &mut NodeLifecycle, leases: &mut crate::kubelet::Leases| {
                    while let Some(&(at, n, before)) = next.peek() {
                        if at > upto || (at == upto && before != ahead) {
                            break;
                        }
                        next.next();
                        contact[n] = !contact[n];
                        a.lease_changing(NodeId(n as u32), leases);
                        b.lease_changing(NodeId(n as u32), leases);
                        leases.set_contact(NodeId(n as u32), contact[n], at);
                    }
                };
                if let Some(tp) = taint_pass.filter(|&tp| tp < t) {
                    toggle_now(tp, true, &mut a, &mut b, &mut leases);
                    let fa = a.taint_pass(&mut wa, tp);
                    let fb = b.taint_pass(&mut wb, tp);
                    prop_assert_eq!(&fa.taints_changed, &fb.taints_changed);
                    prop_assert_eq!(fa.taint_pass, fb.taint_pass);
                    taint_pass = fa.taint_pass;
                }
                toggle_now(t, true, &mut a, &mut b, &mut leases);
                for c in std::mem::take(&mut wa.changes) {
                    if let crate::model::Change::NodeUpdated(n) = c {
                        a.node_updated(n);
                    }
                }
                wb.changes.clear();
                let fa = a.monitor(&mut wa, &leases, t);
                let fb = b.monitor(&mut wb, &leases, t);
                prop_assert_eq!(&a.violation, &None);
                prop_assert_eq!(&fa.taints_changed, &fb.taints_changed);
                prop_assert_eq!(fa.taint_pass, fb.taint_pass);
                prop_assert_eq!(&a.log, &b.log);
                for (na, nb) in wa.nodes.iter().zip(&wb.nodes) {
                    prop_assert_eq!(&na.taints, &nb.taints);
                    prop_assert_eq!(na.ready, nb.ready);
                }
                for i in 0..nodes {
                    prop_assert_eq!(a.status(NodeId(i as u32)), b.status(NodeId(i as u32)));
                }
                taint_pass = taint_pass.min(fa.taint_pass).or(fa.taint_pass);
                toggle_now(t, false, &mut a, &mut b, &mut leases);
                t += 5 * SECOND;
            }
        }
    }

    #[test]
    fn a_node_in_contact_is_not_visited_again() {
        let v = KubeVersion {
            major: 1,
            minor: 37,
        };
        let mut w = zoned_world(4, 1);
        let mut nl = NodeLifecycle::new(&ControllerSettings::default(), v, &w);
        let leases =
            crate::kubelet::Leases::with_phases(&w, vec![0, SECOND, 2 * SECOND, 3 * SECOND]);
        nl.monitor(&mut w, &leases, 0);
        // Every node was visited at the first pass; renewing every 10 s
        // within a 50 s grace period, none is due again.
        assert!(nl.health.iter().all(|h| h.wake == Time::MAX));
        for k in 1..20 {
            nl.monitor(&mut w, &leases, k * 5 * SECOND);
            assert!(nl.visit.is_empty());
        }
        assert_eq!(nl.violation, None);
    }
}
