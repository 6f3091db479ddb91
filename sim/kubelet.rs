//! Pod life on a node, as the kubelet drives it: containers start after the
//! node's start-up latency, the pod turns Ready after the readiness probe's
//! initial delay, containers that exit are restarted per `restartPolicy` with
//! CrashLoopBackOff, and a deleted pod is gone once its containers stop.
//!
//! The kubelet also renews its node's Lease (the heartbeat the node lifecycle
//! controller watches), stops with its machine, and when it is back in contact
//! with the control plane re-reports its pods and finishes deleting the ones
//! deleted meanwhile.
//!
//! Simplifications (see ARCHITECTURE.md): start-up latency is a constant per
//! pool; a readiness probe succeeds on its first try; on SIGTERM containers stop
//! after `TERMINATION_TIME`, capped by `terminationGracePeriodSeconds`. While a
//! node is cut off from the control plane its kubelet still acts on the pods
//! (the World is updated as if its status updates got through), except that it
//! does not learn of new bindings and deletions until contact returns.

use crate::controllers::nodelifecycle::{LeaseView, Renewals};
use crate::engine::{SECOND, SimRng, Time};
use crate::model::*;

/// Back-off before restarting a crashed container: 10 s doubling to 300 s
/// (pkg/kubelet/kubelet.go: backOffPeriod = 10s, MaxContainerBackOff = 300s).
pub const CRASH_BACKOFF_INITIAL: Time = 10 * SECOND;
pub const CRASH_BACKOFF_MAX: Time = 300 * SECOND;
/// How long containers take to exit after SIGTERM in the simulation.
pub const TERMINATION_TIME: Time = SECOND;

/// A kubelet action due at some time. Stale actions are recognised by `generation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletAction {
    Start,
    Ready,
    Exit,
    Terminated,
    /// The main container exits with a failure (killed, or crashing):
    /// restartPolicy decides, through CrashLoopBackOff.
    Crash,
}

/// `nodeLeaseDurationSeconds` (kubelet config default, 40 s) and the renewal
/// interval, a quarter of it (`nodeLeaseRenewIntervalFraction` = 0.25):
/// pkg/kubelet/apis/config/v1beta1/defaults.go, pkg/kubelet/kubelet.go.
pub const NODE_LEASE_DURATION: Time = 40 * SECOND;
pub const LEASE_RENEW_INTERVAL: Time = NODE_LEASE_DURATION / 4;

/// Every kubelet's Lease renewals, computed rather than simulated one by one:
/// a kubelet renews at `phase + k × 10 s` (phase drawn once per node) while
/// its node is up and reaches the control plane. After contact returns the
/// first renewal is the next tick of that grid (upstream retries a failed
/// renewal with a back-off of up to 7 s, `maxBackoff` in
/// staging/src/k8s.io/component-helpers/apimachinery/lease/controller.go;
/// the grid is within 10 s).
#[derive(Clone, Debug, Default)]
pub struct Leases {
    phase: Vec<Time>,
    in_contact: Vec<bool>,
    /// When contact was (re)gained.
    since: Vec<Time>,
    /// The last renewal before contact was lost.
    last_before_loss: Vec<Option<Time>>,
}

impl Leases {
    pub fn new(world: &World, rng: &mut SimRng) -> Leases {
        use rand::RngExt;
        let mut l = Leases::default();
        for n in &world.nodes {
            l.phase.push(rng.random_range(0..LEASE_RENEW_INTERVAL));
            l.in_contact.push(n.up && n.reachable);
            l.since.push(0);
            l.last_before_loss.push(Some(0));
        }
        l
    }

    /// Nodes renewing on the given phases, all in contact (for tests).
    #[cfg(test)]
    pub(crate) fn with_phases(world: &World, phase: Vec<Time>) -> Leases {
        let n = world.nodes.len();
        assert_eq!(phase.len(), n);
        Leases {
            phase,
            in_contact: vec![true; n],
            since: vec![0; n],
            last_before_loss: vec![Some(0); n],
        }
    }

    fn last_tick(&self, i: usize, t: Time) -> Time {
        let ph = self.phase[i];
        if t < ph {
            0
        } else {
            ph + (t - ph) / LEASE_RENEW_INTERVAL * LEASE_RENEW_INTERVAL
        }
    }

    /// The node's kubelet gained (`true`) or lost contact at `now`.
    pub fn set_contact(&mut self, node: NodeId, contact: bool, now: Time) {
        let i = node.idx();
        if i >= self.phase.len() || self.in_contact[i] == contact {
            return;
        }
        if contact {
            self.since[i] = now;
        } else {
            self.last_before_loss[i] = self.renew_time(node, now.saturating_sub(1));
        }
        self.in_contact[i] = contact;
    }
}

impl LeaseView for Leases {
    fn renew_time(&self, node: NodeId, now: Time) -> Option<Time> {
        let i = node.idx();
        if i >= self.phase.len() {
            // A node added after the start renews on a grid of phase 0.
            return Some(now / LEASE_RENEW_INTERVAL * LEASE_RENEW_INTERVAL);
        }
        if self.in_contact[i] {
            let t = self.last_tick(i, now);
            if t >= self.since[i] {
                return Some(t);
            }
        }
        self.last_before_loss[i]
    }

    fn renewals(&self, node: NodeId, now: Time) -> Renewals {
        let i = node.idx();
        let next = if i >= self.phase.len() {
            (now / LEASE_RENEW_INTERVAL + 1) * LEASE_RENEW_INTERVAL
        } else if !self.in_contact[i] {
            return Renewals::Never;
        } else if now < self.phase[i] {
            self.phase[i]
        } else {
            // After `since` (at most `now`), so a renewal that shows.
            self.last_tick(i, now) + LEASE_RENEW_INTERVAL
        };
        Renewals::Every {
            next,
            interval: LEASE_RENEW_INTERVAL,
        }
    }

    fn renewed_since(&self, node: NodeId, now: Time) -> Time {
        let i = node.idx();
        if i >= self.phase.len() {
            return now / LEASE_RENEW_INTERVAL * LEASE_RENEW_INTERVAL;
        }
        if self.in_contact[i] {
            let t = self.last_tick(i, now);
            if t >= self.since[i] {
                return t;
            }
        }
        // The renewal from before contact was lost, which the current state
        // shows at every time before its first tick.
        0
    }
}

/// Where a restart back-off stands after `restarts` restarts.
pub fn crash_backoff(restarts: u32) -> Time {
    let shift = restarts.saturating_sub(1).min(16);
    (CRASH_BACKOFF_INITIAL << shift).min(CRASH_BACKOFF_MAX)
}

/// The pod was bound: schedule its start on the node (if the node is up).
pub fn on_bound(
    world: &World,
    pod: PodId,
    out: &mut Vec<(Time, PodId, u32, KubeletAction)>,
    now: Time,
) {
    let p = world.pod(pod);
    let Some(n) = p.node else { return };
    let node = world.node(n);
    if node.up && node.reachable {
        out.push((
            now + node.startup_latency,
            pod,
            p.generation,
            KubeletAction::Start,
        ));
    }
}

/// Apply a kubelet action. Returns follow-up actions.
pub fn apply(
    world: &mut World,
    pod: PodId,
    action: KubeletAction,
    now: Time,
    out: &mut Vec<(Time, PodId, u32, KubeletAction)>,
) {
    let p = world.pod(pod);
    let generation = p.generation;
    let spec = KubeletView::of(world.pod_spec(pod));
    match action {
        KubeletAction::Start => {
            world.pods[pod.idx()].started_at = Some(now);
            world.set_phase(pod, PodPhase::Running);
            match spec.readiness_delay {
                Some(d) if d > 0 => out.push((now + d, pod, generation, KubeletAction::Ready)),
                _ => world.set_ready(pod, true, now),
            }
            if let Some(d) = spec.run_duration {
                out.push((now + d, pod, generation, KubeletAction::Exit));
            }
        }
        KubeletAction::Ready => world.set_ready(pod, true, now),
        KubeletAction::Exit | KubeletAction::Crash => {
            if world.pod(pod).phase != PodPhase::Running {
                return;
            }
            world.set_ready(pod, false, now);
            let exit_code = if action == KubeletAction::Crash {
                1
            } else {
                spec.exit_code
            };
            let restart = match spec.restart_policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => exit_code != 0,
                RestartPolicy::Never => false,
            };
            if restart {
                let p = &mut world.pods[pod.idx()];
                p.restarts += 1;
                let delay = crash_backoff(p.restarts);
                // Between restarts the pod stays Running but not Ready (CrashLoopBackOff).
                out.push((now + delay, pod, generation, KubeletAction::Start));
            } else if exit_code == 0 {
                world.set_phase(pod, PodPhase::Succeeded);
            } else {
                world.set_phase(pod, PodPhase::Failed);
            }
        }
        KubeletAction::Terminated => world.remove_pod(pod),
    }
}

/// Deletion was requested: an unbound pod goes at once; a bound one after its
/// containers stop (if the node can hear about it).
pub fn on_deleting(
    world: &mut World,
    pod: PodId,
    now: Time,
    out: &mut Vec<(Time, PodId, u32, KubeletAction)>,
) {
    let p = &mut world.pods[pod.idx()];
    p.generation += 1;
    let generation = p.generation;
    match p.node {
        None => world.remove_pod(pod),
        Some(n) => {
            let node = &world.nodes[n.idx()];
            if p.phase.is_terminal() || p.started_at.is_none() {
                // Nothing runs: the kubelet confirms the deletion right away.
                if node.up && node.reachable {
                    out.push((now, pod, generation, KubeletAction::Terminated));
                }
            } else if node.up && node.reachable {
                let grace = world.specs[p.spec.idx()].termination_grace;
                out.push((
                    now + TERMINATION_TIME.min(grace),
                    pod,
                    generation,
                    KubeletAction::Terminated,
                ));
            }
        }
    }
}

/// The machine stopped: the kubelet's plans for its pods are void (their
/// containers are gone; the API still shows them as they were).
pub fn on_node_down(world: &mut World, node: NodeId) {
    for p in world.nodes[node.idx()].pods.clone() {
        world.pods[p.idx()].generation += 1;
    }
}

/// The kubelet is back in contact with the control plane: after a reboot
/// (`rebooted`) it restarts the containers of the pods still bound to it; after
/// a partition it reports the pods that the node lifecycle controller had
/// marked not Ready (`marked`) as Ready again. Either way it finishes deleting
/// the pods deleted meanwhile, and starts pods bound while it was away.
pub fn on_contact_restored(
    world: &mut World,
    node: NodeId,
    rebooted: bool,
    marked: &[PodId],
    now: Time,
    out: &mut Vec<(Time, PodId, u32, KubeletAction)>,
) {
    let latency = world.nodes[node.idx()].startup_latency;
    for pod in world.nodes[node.idx()].pods.clone() {
        let p = &world.pods[pod.idx()];
        if p.deleted {
            continue;
        }
        let started = p.started_at.is_some() && !p.phase.is_terminal();
        if p.deleting_since.is_some() {
            let grace = world.specs[p.spec.idx()].termination_grace;
            let p = &mut world.pods[pod.idx()];
            p.generation += 1;
            let delay = if started && !rebooted {
                TERMINATION_TIME.min(grace)
            } else {
                0
            };
            out.push((now + delay, pod, p.generation, KubeletAction::Terminated));
        } else if p.phase.is_terminal() {
            continue;
        } else if rebooted || p.started_at.is_none() {
            world.set_ready(pod, false, now);
            let p = &mut world.pods[pod.idx()];
            p.generation += 1;
            if p.started_at.is_some() {
                p.restarts += 1;
            }
            out.push((now + latency, pod, p.generation, KubeletAction::Start));
        } else if marked.contains(&pod) && p.phase == PodPhase::Running {
            world.set_ready(pod, true, now);
        }
    }
}

/// The parts of a pod's spec the kubelet needs, copied out so the World can be mutated.
pub struct KubeletView {
    pub readiness_delay: Option<Time>,
    pub run_duration: Option<Time>,
    pub exit_code: i32,
    pub restart_policy: RestartPolicy,
}

impl KubeletView {
    fn of(spec: &PodSpec) -> KubeletView {
        KubeletView {
            readiness_delay: spec.readiness_delay,
            run_duration: spec.behaviour.run_duration,
            exit_code: spec.behaviour.exit_code,
            restart_policy: spec.restart_policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_renewals_stop_with_contact_and_resume_on_the_grid() {
        let mut l = Leases {
            phase: vec![3 * SECOND],
            in_contact: vec![true],
            since: vec![0],
            last_before_loss: vec![Some(0)],
        };
        let n = NodeId(0);
        // Registered at 0, then every 10 s from 3 s: 3, 13, 23, …
        assert_eq!(l.renew_time(n, 2 * SECOND), Some(0));
        assert_eq!(l.renew_time(n, 25 * SECOND), Some(23 * SECOND));
        // Contact lost at 33 s exactly: the 33 s renewal does not get through.
        l.set_contact(n, false, 33 * SECOND);
        assert_eq!(l.renew_time(n, 100 * SECOND), Some(23 * SECOND));
        // Back at 101 s: nothing new until the next tick, 103 s.
        l.set_contact(n, true, 101 * SECOND);
        assert_eq!(l.renew_time(n, 102 * SECOND), Some(23 * SECOND));
        assert_eq!(l.renew_time(n, 103 * SECOND), Some(103 * SECOND));
    }

    /// `renewals` and `renewed_since` against `renew_time` read every
    /// millisecond, through contact losses and returns.
    #[test]
    fn renewal_schedule_agrees_with_renew_time() {
        use crate::engine::MILLISECOND;
        let mut l = Leases {
            phase: vec![3 * SECOND, 0, 7_250 * MILLISECOND],
            in_contact: vec![true, true, false],
            since: vec![0; 3],
            last_before_loss: vec![Some(0); 3],
        };
        let ms = MILLISECOND;
        let changes = [
            (31_000 * ms, 0, false),
            (55_500 * ms, 0, true),
            (40_000 * ms, 1, false),
            (40_001 * ms, 1, true),
            (12_000 * ms, 2, true),
        ];
        let mut now = 0;
        while now < 120 * SECOND {
            for &(at, n, c) in &changes {
                if at == now {
                    l.set_contact(NodeId(n), c, now);
                }
            }
            // The node beyond the table renews on a phase-0 grid.
            for n in 0..4 {
                let id = NodeId(n);
                let value = l.renew_time(id, now);
                // renewed_since: the earliest time from which the value held.
                let since = l.renewed_since(id, now);
                assert_eq!(l.renew_time(id, since), value, "node {n} at {now}");
                if since > 0 {
                    assert_ne!(l.renew_time(id, since - 1), value, "node {n} at {now}");
                }
                // renewals: the next change, then one at least every interval.
                match l.renewals(id, now) {
                    Renewals::Never => {
                        assert_eq!(l.renew_time(id, now + 60 * SECOND), value);
                    }
                    Renewals::Every { next, interval } => {
                        assert!(next > now);
                        assert_eq!(l.renew_time(id, next - 1), value);
                        assert_ne!(l.renew_time(id, next), value);
                        assert_eq!(l.renew_time(id, next), Some(next));
                        let later = next + interval;
                        assert_eq!(l.renew_time(id, later), Some(later));
                    }
                    Renewals::Unknown => panic!("Leases always knows"),
                }
            }
            now += 250 * ms;
        }
    }

    #[test]
    fn crashloop_backoff_doubles_to_five_minutes() {
        let b: Vec<u64> = (1..=7).map(|r| crash_backoff(r) / SECOND).collect();
        assert_eq!(b, vec![10, 20, 40, 80, 160, 300, 300]);
    }
}
