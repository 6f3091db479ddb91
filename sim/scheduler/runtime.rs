//! Running the extension points after Filter and Score: PostFilter when no
//! node fits, then Reserve and Bind for the selected host.
//!
//! Follows pkg/scheduler/framework/runtime/framework.go (`RunPostFilterPlugins`,
//! `RunReservePluginsReserve`, `RunReservePluginsUnreserve`, `RunBindPlugins`)
//! and schedule_one.go (`schedulingCycle`: a Reserve rejection becomes a
//! FitError over the one selected node; `handleBindingCycleError`: Unreserve,
//! then the pod goes back to the queue) (v1.35).
//!
//! The scheduling cycle takes no simulated time and the binding cycle runs at
//! once, so there is no assumed pod to forget: a pod that fails Reserve or Bind
//! has changed nothing in the World. Nothing here allocates when every plugin
//! succeeds.

use crate::engine::SimRng;
use crate::scheduler::Preemption;
use crate::scheduler::cycle::{Buffers, Cycle, Diagnosis};
use crate::scheduler::framework::*;

/// Run the profile's PostFilter plugins until the first Success or
/// `UnschedulableAndUnresolvable`, and set the diagnosis' PostFilter message
/// (that status's message, or the reasons of every `Unschedulable` one joined
/// by ", "). Returns the last result a plugin gave, as upstream keeps the last
/// meaningful `PostFilterResult`.
pub fn run_post_filter(
    cycle: &Cycle,
    diag: &mut Diagnosis,
    rng: &mut SimRng,
    bufs: &mut Buffers,
) -> Option<Preemption> {
    let mut result = None;
    let mut reasons: Vec<std::borrow::Cow<'static, str>> = Vec::new();
    for &i in &cycle.profile.post_filter {
        let p = cycle.profile.plugins[i].as_post_filter().unwrap();
        let (s, r) = p.post_filter(&mut PostFilterHandle::new(cycle, diag, rng, bufs));
        if s.code == Code::Success || s.code == Code::UnschedulableAndUnresolvable {
            diag.post_filter_msg = s.message();
            return r;
        }
        if r.is_some() {
            result = r;
        }
        reasons.extend(s.reasons);
    }
    diag.post_filter_msg = reasons.join(", ");
    result
}

/// Why the pod was not bound after a host was selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindFailure {
    /// The pod's FailedScheduling message.
    pub message: String,
    /// The Reserve plugin that rejected the pod (its `UnschedulablePlugins`).
    /// A binding failure is not a FitError: upstream records no plugin, so the
    /// pod backs off instead of waiting for an event.
    pub rejector: Option<usize>,
}

/// Reserve on `node`, then Bind. On failure every Reserve plugin's Unreserve
/// has run, in reverse order.
pub fn reserve_and_bind(
    cycle: &Cycle,
    bufs: &mut Buffers,
    node: NodeId,
) -> Result<(), BindFailure> {
    let profile = cycle.profile;
    let cx = cycle.context();
    for &i in &profile.reserve {
        let p = profile.plugins[i].as_reserve().unwrap();
        let s = p.reserve(&cx, &mut bufs.states[i], node);
        if s.is_success() {
            continue;
        }
        unreserve(cycle, &cx, bufs, node);
        // A rejection is a FitError over the one node: "0/1 nodes are available: REASON."
        let message = if s.is_rejected() {
            Diagnosis {
                num_all_nodes: 1,
                statuses: vec![(node, s)],
                ..Default::default()
            }
            .message()
        } else {
            format!(
                "running Reserve plugin {:?}: {}",
                profile.plugin_name(i),
                s.message()
            )
        };
        return Err(BindFailure {
            message,
            rejector: Some(i),
        });
    }
    for &i in &profile.bind {
        let p = profile.plugins[i].as_bind().unwrap();
        let s = p.bind(&cx, &bufs.states[i], node);
        match s.code {
            Code::Skip => continue,
            Code::Success => return Ok(()),
            _ => {
                unreserve(cycle, &cx, bufs, node);
                return Err(BindFailure {
                    message: s.message(),
                    rejector: None,
                });
            }
        }
    }
    // Every Bind plugin skipped the pod: upstream's binding cycle fails with
    // the Skip status, without a rejecting plugin.
    unreserve(cycle, &cx, bufs, node);
    Err(BindFailure {
        message: "running Bind plugins: every plugin skipped the pod".into(),
        rejector: None,
    })
}

/// `RunReservePluginsUnreserve`: every Reserve plugin, in reverse order.
fn unreserve(cycle: &Cycle, cx: &CycleContext, bufs: &mut Buffers, node: NodeId) {
    for &i in cycle.profile.reserve.iter().rev() {
        let p = cycle.profile.plugins[i].as_reserve().unwrap();
        p.unreserve(cx, &mut bufs.states[i], node);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::engine::SECOND;
    use crate::model::{KubeVersion, World};
    use crate::scheduler::plugins::default_binder::DefaultBinder;
    use crate::scheduler::tests::{node, pod, spec};
    use crate::scheduler::{Outcome, Profile, Scheduler};

    type Log = Arc<Mutex<Vec<String>>>;

    /// Records its Reserve, Unreserve and Bind calls; Reserve returns `reserve`,
    /// Bind (when it binds at all) returns `bind`.
    struct Recorder {
        name: &'static str,
        log: Log,
        reserve: Code,
        bind: Option<Code>,
    }

    impl Recorder {
        fn status(&self, code: Code) -> Status {
            match code {
                Code::Success | Code::Skip => Status {
                    code,
                    reasons: Vec::new(),
                },
                _ => Status::new(code, format!("node(s) were refused by {}", self.name)),
            }
        }
        fn note(&self, what: &str) {
            self.log
                .lock()
                .unwrap()
                .push(format!("{what} {}", self.name));
        }
    }

    impl Plugin for Recorder {
        fn name(&self) -> &'static str {
            self.name
        }
        fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
            Some(self)
        }
        fn as_bind(&self) -> Option<&dyn BindPlugin> {
            self.bind.map(|_| self as &dyn BindPlugin)
        }
    }

    impl ReservePlugin for Recorder {
        fn reserve(&self, _: &CycleContext, _: &mut State, _: NodeId) -> Status {
            self.note("reserve");
            self.status(self.reserve)
        }
        fn unreserve(&self, _: &CycleContext, _: &mut State, _: NodeId) {
            self.note("unreserve");
        }
    }

    impl BindPlugin for Recorder {
        fn bind(&self, _: &CycleContext, _: &State, _: NodeId) -> Status {
            self.note("bind");
            self.status(self.bind.unwrap())
        }
    }

    fn run(plugins: Vec<(Recorder, bool)>) -> (Outcome, Vec<String>, Scheduler, World) {
        let mut w = World::default();
        w.add_node(node("a", 4000, 1 << 33));
        let p = pod(&mut w, "p", spec(100, 1 << 20));
        let log = plugins[0].0.log.clone();
        let mut list: Vec<(Box<dyn Plugin>, i64)> = Vec::new();
        for (r, then_default_binder) in plugins {
            list.push((Box::new(r), 0));
            if then_default_binder {
                list.push((Box::new(DefaultBinder), 0));
            }
        }
        let profile = Profile::with_plugins("default-scheduler", list, None);
        let mut s = Scheduler::from_profiles("t", vec![profile], KubeVersion::DEFAULT, 1);
        for c in std::mem::take(&mut w.changes) {
            s.on_change(&w, c, 0);
        }
        assert_eq!(s.pop(&w, 0), Some(p));
        let out = s.schedule_one(&w, p, 0);
        let log = log.lock().unwrap().clone();
        (out, log, s, w)
    }

    fn rec(log: &Log, name: &'static str, reserve: Code, bind: Option<Code>) -> Recorder {
        Recorder {
            name,
            log: log.clone(),
            reserve,
            bind,
        }
    }

    #[test]
    fn a_reserve_rejection_unreserves_every_plugin_in_reverse_and_fails_over_one_node() {
        let log = Log::default();
        let (out, calls, s, _) = run(vec![
            (rec(&log, "A", Code::Success, None), false),
            (rec(&log, "B", Code::Unschedulable, None), false),
            (rec(&log, "C", Code::Success, None), false),
        ]);
        // RunReservePluginsUnreserve runs for all Reserve plugins, C included.
        assert_eq!(
            calls,
            [
                "reserve A",
                "reserve B",
                "unreserve C",
                "unreserve B",
                "unreserve A"
            ]
        );
        // schedulingCycle turns the rejection into a FitError over the selected node.
        assert_eq!(
            out,
            Outcome::Unschedulable {
                message: "0/1 nodes are available: 1 node(s) were refused by B.".into(),
                preemption: None,
            }
        );
        // B is the pod's UnschedulablePlugins: it waits for an event, not a backoff.
        assert_eq!(s.pending(), 1);
        assert_eq!(s.next_wakeup(0), Some(330 * SECOND));
    }

    #[test]
    fn bind_plugins_run_in_order_until_one_does_not_skip() {
        let log = Log::default();
        let (out, calls, _, _) = run(vec![
            (rec(&log, "A", Code::Success, None), false),
            (rec(&log, "X", Code::Success, Some(Code::Skip)), true),
        ]);
        // X skips, DefaultBinder (after X) binds; nothing is unreserved.
        assert_eq!(calls, ["reserve A", "reserve X", "bind X"]);
        assert_eq!(out, Outcome::Bind(NodeId(0)));
    }

    #[test]
    fn a_bind_rejection_unreserves_and_backs_off() {
        let log = Log::default();
        let (out, calls, s, w) = run(vec![
            (rec(&log, "A", Code::Success, None), false),
            (
                rec(&log, "X", Code::Success, Some(Code::Unschedulable)),
                true,
            ),
        ]);
        assert_eq!(
            calls,
            [
                "reserve A",
                "reserve X",
                "bind X",
                "unreserve X",
                "unreserve A"
            ]
        );
        assert_eq!(
            out,
            Outcome::Unschedulable {
                message: "node(s) were refused by X".into(),
                preemption: None,
            }
        );
        // Not a FitError: no rejecting plugin, so the pod backs off (1 s after its
        // first attempt) and is not popped early from the error backoff queue.
        assert_eq!(s.next_wakeup(0), Some(SECOND));
        let mut s = s;
        assert_eq!(s.pop(&w, 0), None);
        assert_eq!(s.pop(&w, SECOND), Some(PodId(0)));
    }
}
