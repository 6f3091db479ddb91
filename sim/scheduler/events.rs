//! Cluster events and queueing hints: which World changes are events for the
//! scheduling queue, and whether an event may make an unschedulable pod
//! schedulable.
//!
//! Follows pkg/scheduler/eventhandlers.go (a pod informer that leaves out
//! Succeeded and Failed pods, so a pod that ends is deleted for the scheduler;
//! `deletePodFromSchedulingQueue`'s nominated-pod case with its
//! lower-or-equal-priority pre-check), framework/events.go
//! (`NodeSchedulingPropertiesChange`) and backend/queue/scheduling_queue.go
//! (`isPodWorthRequeuing`) (v1.35, with queueing hints on as from v1.32):
//! - a pod rejected by no plugin is worth requeuing on any event;
//! - otherwise only the plugins that rejected it are asked, for the events
//!   they registered (`EventsToRegister`); one `Queue` moves the pod to
//!   activeQ, or to backoffQ while its backoff lasts;
//! - a plugin without `EnqueueExtensions` registers every event, without a hint.
//!
//! Pod labels, tolerations and requests never change in kubesim, so the pod
//! events are additions (bindings) and deletions only; an update such as a
//! pod turning Terminating or Ready is no event for any plugin.

use crate::engine::Time;
use crate::model::{Change, NodeId, PodId, World};
use crate::scheduler::Scheduler;
use crate::scheduler::framework::*;
use crate::scheduler::profiles::Profile;

/// The bit of plugin `i` in a rejector mask; plugins past the 63rd share the
/// last bit, which counts as a plugin that registered no events.
pub fn plugin_bit(i: usize) -> u64 {
    1 << i.min(63)
}

/// `UnschedulablePlugins` as a bit set over the profile's plugins.
pub fn rejector_mask(profile: &Profile, rejectors: &[&str]) -> u64 {
    rejectors
        .iter()
        .filter_map(|r| profile.plugins.iter().position(|p| p.name() == *r))
        .fold(0, |m, i| m | plugin_bit(i))
}

/// `isPodWorthRequeuing` for a pod whose last failure had `rejectors`.
pub fn worth_requeuing(
    profile: &Profile,
    cx: &HintContext,
    rejectors: u64,
    event: &ClusterEvent,
) -> bool {
    if rejectors == 0 {
        return true;
    }
    (0..64).filter(|&b| rejectors & (1 << b) != 0).any(|b| {
        let Some(plugin) = profile.plugins.get(b).filter(|_| b < 63) else {
            return true;
        };
        match plugin.as_enqueue_extensions() {
            None => true,
            Some(ext) => {
                ext.events_to_register().matches(event)
                    && ext.queueing_hint(cx, event) == QueueingHint::Queue
            }
        }
    })
}

impl Scheduler {
    /// A pod changed: the event it is for the queue, if any.
    pub(super) fn pod_event(&mut self, world: &World, change: Change, now: Time) {
        let pod = match change {
            Change::PodAdded(p)
            | Change::PodUpdated(p)
            | Change::PodDeleting(p)
            | Change::PodRemoved(p) => p,
            Change::NodeUpdated(_) => return,
        };
        let q = world.pod(pod);
        let assigned = !q.deleted && q.node.is_some() && !q.phase.is_terminal();
        if self.assigned.len() <= pod.idx() {
            self.assigned.resize(pod.idx() + 1, false);
        }
        let was = std::mem::replace(&mut self.assigned[pod.idx()], assigned);
        let event = match (was, assigned) {
            (false, true) => ClusterEvent::AssignedPodAdded(pod),
            (true, false) => ClusterEvent::AssignedPodDeleted(pod),
            (false, false)
                if matches!(change, Change::PodRemoved(_))
                    && q.node.is_none()
                    && q.nominated_node.is_some() =>
            {
                ClusterEvent::UnscheduledPodDeleted(pod)
            }
            _ => return,
        };
        self.move_for(world, &event, now);
    }

    /// A node was added, updated or deleted: the event it is, if any.
    pub(super) fn node_event(&mut self, world: &World, id: NodeId, now: Time) {
        let node = world.node(id);
        let old = self.seen_nodes.remove(&id);
        if node.deleted {
            if let Some(old) = &old {
                self.move_for(world, &ClusterEvent::NodeDeleted { node: id, old }, now);
            }
            return;
        }
        let new = NodeSnapshot::of(node);
        match &old {
            None => self.move_for(
                world,
                &ClusterEvent::NodeAdded {
                    node: id,
                    new: &new,
                },
                now,
            ),
            Some(old) => {
                let actions = old.update_actions(&new);
                if actions != ActionType::NONE {
                    let e = ClusterEvent::NodeUpdated {
                        node: id,
                        old,
                        new: &new,
                        actions,
                    };
                    self.move_for(world, &e, now);
                }
            }
        }
        self.seen_nodes.insert(id, new);
    }

    /// `MoveAllToActiveOrBackoffQueue(event)`.
    fn move_for(&mut self, world: &World, event: &ClusterEvent, now: Time) {
        if !self.queue.has_unschedulable() {
            return;
        }
        // `getLEPriorityPreCheck`: a nominated pod's deletion helps only pods
        // of lower or equal priority.
        let max_priority = match *event {
            ClusterEvent::UnscheduledPodDeleted(p) => Some(world.pod_spec(p).priority),
            _ => None,
        };
        let (profiles, version) = (&self.profiles, self.version);
        self.queue.move_unschedulable(now, |pod: PodId, rejectors| {
            let spec = world.pod_spec(pod);
            if max_priority.is_some_and(|m| spec.priority > m) {
                return false;
            }
            let Some(profile) = profiles
                .iter()
                .find(|p| p.scheduler_name == spec.scheduler_name)
            else {
                return true;
            };
            let cx = HintContext {
                world,
                pod,
                spec,
                version,
            };
            worth_requeuing(profile, &cx, rejectors, event)
        });
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::SECOND;
    use crate::model::KubeVersion;
    use crate::model::taints::{Taint, TaintEffect, Toleration, TolerationOp};
    use crate::scheduler::Outcome;
    use crate::scheduler::tests::{bound, node, pod, spec};

    const GI: i64 = 1 << 30;

    fn gpu_taint() -> Taint {
        Taint {
            key: "dedicated".into(),
            value: "gpu".into(),
            effect: TaintEffect::NoSchedule,
        }
    }

    fn sync(s: &mut Scheduler, w: &mut World, now: Time) {
        for c in std::mem::take(&mut w.changes) {
            s.on_change(w, c, now);
        }
    }

    /// One node, tainted; a pod that tolerates the taint runs there. The pod
    /// under test is rejected by TaintToleration alone (it fits otherwise).
    fn tainted_cluster() -> (World, Scheduler, PodId, PodId) {
        let mut w = World::default();
        let mut a = node("a", 4000, 8 * GI);
        a.taints.push(gpu_taint());
        let a = w.add_node(a);
        let mut tolerant = spec(1000, GI);
        tolerant.tolerations.push(Toleration {
            key: "dedicated".into(),
            op: TolerationOp::Equal,
            value: "gpu".into(),
            effect: None,
            toleration_seconds: None,
        });
        let x = bound(&mut w, "x", tolerant, a);
        let p = pod(&mut w, "p", spec(500, GI));
        let mut s = Scheduler::new("default", Path::new("."), KubeVersion::DEFAULT, 1).unwrap();
        sync(&mut s, &mut w, 0);
        assert_eq!(s.pop(&w, 0), Some(p));
        match s.schedule_one(&w, p, 0) {
            Outcome::Unschedulable { message, .. } => assert!(
                message.starts_with("0/1 nodes are available: 1 node(s) had untolerated taint(s)."),
                "{message}"
            ),
            o => panic!("{o:?}"),
        }
        (w, s, p, x)
    }

    #[test]
    fn a_pod_rejected_by_taints_ignores_a_pod_deletion() {
        let (mut w, mut s, _, x) = tainted_cluster();
        // The tolerating pod goes away: AssignedPodDelete. TaintToleration did
        // not register pod events, so the pod stays unschedulable until the
        // 5-minute flush (failed at 0 s → the 330 s tick).
        w.remove_pod(x);
        sync(&mut s, &mut w, 10 * SECOND);
        assert_eq!(s.next_wakeup(10 * SECOND), Some(330 * SECOND));
        assert_eq!(s.pop(&w, 10 * SECOND), None);
    }

    #[test]
    fn a_pod_rejected_by_taints_wakes_when_the_taint_goes() {
        let (mut w, mut s, p, _) = tainted_cluster();
        // A label change is an UpdateNodeLabel event: not one TaintToleration asked for.
        w.nodes[0].labels.insert("team".into(), "ml".into());
        w.node_changed(NodeId(0));
        sync(&mut s, &mut w, 5 * SECOND);
        assert_eq!(s.pop(&w, 5 * SECOND), None);
        // Removing the taint is UpdateNodeTaint; the hint sees an untolerated
        // taint before and none after: Queue. Backoff (1 s) has expired.
        w.nodes[0].taints.clear();
        w.node_changed(NodeId(0));
        sync(&mut s, &mut w, 6 * SECOND);
        assert_eq!(s.next_wakeup(6 * SECOND), Some(6 * SECOND));
        assert_eq!(s.pop(&w, 6 * SECOND), Some(p));
        assert_eq!(s.schedule_one(&w, p, 6 * SECOND), Outcome::Bind(NodeId(0)));
    }

    #[test]
    fn a_pod_short_of_cpu_wakes_on_a_deletion_but_not_on_a_taint_change() {
        let mut w = World::default();
        let a = w.add_node(node("a", 2000, 8 * GI));
        let x = bound(&mut w, "x", spec(1500, GI), a);
        let p = pod(&mut w, "p", spec(1000, GI));
        let mut s = Scheduler::new("default", Path::new("."), KubeVersion::DEFAULT, 1).unwrap();
        sync(&mut s, &mut w, 0);
        assert_eq!(s.pop(&w, 0), Some(p));
        assert!(matches!(
            s.schedule_one(&w, p, 0),
            Outcome::Unschedulable { .. }
        ));
        // A taint added is UpdateNodeTaint: NodeResourcesFit registered only
        // Add | UpdateNodeAllocatable for nodes.
        w.nodes[a.idx()].taints.push(gpu_taint());
        w.node_changed(a);
        sync(&mut s, &mut w, 2 * SECOND);
        assert_eq!(s.pop(&w, 2 * SECOND), None);
        // An assigned pod deleted: NodeResourcesFit's hint says Queue.
        w.remove_pod(x);
        sync(&mut s, &mut w, 3 * SECOND);
        assert_eq!(s.pop(&w, 3 * SECOND), Some(p));
    }

    #[test]
    fn node_resources_fit_hint_wants_more_of_what_the_pod_requests() {
        let mut w = World::default();
        let a = w.add_node(node("a", 1000, 8 * GI));
        let p = pod(&mut w, "p", spec(2000, GI));
        let profile = crate::scheduler::profiles::builtin("default").unwrap();
        let fit = profile
            .plugins
            .iter()
            .find(|x| x.name() == "NodeResourcesFit")
            .unwrap();
        let ext = fit.as_enqueue_extensions().unwrap();
        let cx = HintContext {
            world: &w,
            pod: p,
            spec: w.pod_spec(p),
            version: KubeVersion::DEFAULT,
        };
        let old = NodeSnapshot::of(w.node(a));
        let hint = |new: &NodeSnapshot| {
            let e = ClusterEvent::NodeUpdated {
                node: a,
                old: &old,
                new,
                actions: old.update_actions(new),
            };
            (
                ext.events_to_register().matches(&e),
                ext.queueing_hint(&cx, &e),
            )
        };
        // More memory: registered (UpdateNodeAllocatable) but the pod alone still
        // does not fit 1000m: QueueSkip.
        let mut more_mem = old.clone();
        more_mem.allocatable.memory *= 2;
        assert_eq!(hint(&more_mem), (true, QueueingHint::QueueSkip));
        // 2000m: the pod fits the node alone, and cpu (requested) increased: Queue.
        let mut more_cpu = old.clone();
        more_cpu.allocatable.milli_cpu = 2000;
        assert_eq!(hint(&more_cpu), (true, QueueingHint::Queue));
        // A label change is not an event NodeResourcesFit registered.
        let mut labelled = old.clone();
        labelled.labels.insert("x".into(), "y".into());
        assert!(!hint(&labelled).0);
    }
}
