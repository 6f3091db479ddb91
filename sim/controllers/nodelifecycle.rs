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
//! Simplified: the Ready=False path (`not-ready` taint) is implemented but
//! nothing in the simulation makes a kubelet post Ready=False; node status
//! posted by the kubelet is folded into the Lease (a node whose Lease is
//! renewed again is Ready again at the next monitor pass).

use std::collections::{BTreeMap, VecDeque};

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

/// Where a Lease renewal comes from: the kubelet side, read by the controller
/// as the API server would show it.
pub trait LeaseView {
    /// The renewTime of the node's Lease at `now`, if it was ever renewed.
    fn renew_time(&self, node: NodeId, now: Time) -> Option<Time>;
}

#[derive(Clone, Debug)]
struct NodeHealth {
    probe: Time,
    renew_seen: Option<Time>,
    status: ReadyStatus,
    ever_ready: bool,
    /// Index into `zones`.
    zone: usize,
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
        };
        nl.ensure(world, 0);
        nl
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
            });
        }
    }

    /// One `monitorNodeHealth` pass.
    pub fn monitor(&mut self, world: &mut World, leases: &dyn LeaseView, now: Time) -> Followups {
        self.ensure(world, now);
        let mut out = Followups::default();
        // Per zone: (Ready, not Ready) nodes.
        let mut zone_conditions: Vec<(usize, usize)> = vec![(0, 0); self.zones.len()];
        for i in 0..world.nodes.len() {
            let id = NodeId(i as u32);
            if world.nodes[i].deleted {
                continue;
            }
            let renew = leases.renew_time(id, now);
            let h = &mut self.health[i];
            let observed = h.status;
            if renew != h.renew_seen {
                h.renew_seen = renew;
                h.probe = now;
                // A renewal after an outage comes with the kubelet posting
                // Ready=True (folded into the Lease here).
                if h.status != ReadyStatus::True && renew.is_some() {
                    h.status = ReadyStatus::True;
                    h.ever_ready = true;
                }
            }
            let grace = if h.ever_ready {
                self.grace
            } else {
                self.cfg.node_startup_grace_period
            };
            if now > h.probe + grace && h.status != ReadyStatus::Unknown {
                h.status = ReadyStatus::Unknown;
            }
            let current = h.status;
            let entry = &mut zone_conditions[h.zone];
            if current == ReadyStatus::True {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
            if current != observed {
                self.transition(world, id, observed, current, now, &mut out);
            }
            self.process_taint_based_eviction(world, id, current, now, &mut out);
        }
        self.handle_disruption(world, &zone_conditions, now, &mut out);
        out.taint_pass = self.next_taint_pass(now);
        out
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
            for h in &mut self.health {
                h.probe = now;
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
}
