//! Pod life on a node, as the kubelet drives it: containers start after the
//! node's start-up latency, the pod turns Ready after the readiness probe's
//! initial delay, containers that exit are restarted per `restartPolicy` with
//! CrashLoopBackOff, and a deleted pod is gone once its containers stop.
//!
//! Simplifications (see ARCHITECTURE.md): start-up latency is a constant per
//! pool; a readiness probe succeeds on its first try; on SIGTERM containers stop
//! after `TERMINATION_TIME`, capped by `terminationGracePeriodSeconds`.

use crate::engine::{SECOND, Time};
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
    if node.up {
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
        KubeletAction::Exit => {
            world.set_ready(pod, false, now);
            let restart = match spec.restart_policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => spec.exit_code != 0,
                RestartPolicy::Never => false,
            };
            if restart {
                let p = &mut world.pods[pod.idx()];
                p.restarts += 1;
                let delay = crash_backoff(p.restarts);
                // Between restarts the pod stays Running but not Ready (CrashLoopBackOff).
                out.push((now + delay, pod, generation, KubeletAction::Start));
            } else if spec.exit_code == 0 {
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
    fn crashloop_backoff_doubles_to_five_minutes() {
        let b: Vec<u64> = (1..=7).map(|r| crash_backoff(r) / SECOND).collect();
        assert_eq!(b, vec![10, 20, 40, 80, 160, 300, 300]);
    }
}
