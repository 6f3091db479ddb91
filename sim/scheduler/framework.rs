//! The scheduling framework: statuses, the per-cycle node view, per-plugin cycle
//! state and one small trait per extension point.
//!
//! Follows kube-scheduler's `pkg/scheduler/framework/interface.go`,
//! `k8s.io/kube-scheduler/framework` (the plugin interfaces) and
//! `framework/runtime/framework.go` (v1.35): a plugin
//! implements only the extension points it needs and says which through the
//! `as_*` accessors of [`Plugin`]; a profile (see `profiles.rs`) is data —
//! names and weights — not code.
//!
//! Extension points, in the order a cycle runs them: PreFilter, Filter,
//! PostFilter (only when no node fits), PreScore, Score (with NormalizeScore),
//! Reserve (Unreserve on a later failure), Bind. Queue sorting is the queue's
//! fixed order; PreEnqueue, Permit, PreBind and PostBind are not simulated.
//!
//! Plugins are immutable during a cycle (`&self`). What a plugin computes in
//! PreFilter or PreScore for the pod at hand lives in its own [`State`] slot,
//! which the framework keeps between cycles so buffers are reused.

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::engine::{SimRng, Time};
use crate::model::{KubeVersion, Node, PodSpec, Resources, World};
pub use crate::model::{NodeId, PodId};
use crate::scheduler::Preemption;
use crate::scheduler::cycle::{Buffers, Cycle, Diagnosis};

/// `MaxNodeScore` (k8s.io/kube-scheduler/framework/interface.go).
pub const MAX_NODE_SCORE: i64 = 100;

/// The result code of a plugin (framework `Code`). `Error` and `Wait` are not simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Code {
    Success,
    /// The node does not fit now; preemption may help.
    Unschedulable,
    /// The node does not fit, and evicting pods would not change that.
    UnschedulableAndUnresolvable,
    /// PreFilter/PreScore: nothing to do for this pod; the plugin's Filter/Score are skipped.
    Skip,
}

/// A plugin's verdict with its reasons, as `fwk.Status`. Success does not allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<Cow<'static, str>>,
}

impl Status {
    pub const SUCCESS: Status = Status {
        code: Code::Success,
        reasons: Vec::new(),
    };
    pub const SKIP: Status = Status {
        code: Code::Skip,
        reasons: Vec::new(),
    };

    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
        }
    }
    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }
    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
    /// `Status.Message()`: the reasons joined by ", ".
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// What every plugin may read during one cycle: the World as it stands and the pod.
pub struct CycleContext<'a> {
    pub world: &'a World,
    pub pod: PodId,
    pub spec: &'a PodSpec,
    /// Candidate nodes (not deleted), in the snapshot's order (upstream's node tree:
    /// zones round-robin).
    pub nodes: &'a [NodeId],
    pub version: KubeVersion,
    pub now: Time,
    /// Bound pods whose spec has pod affinity or anti-affinity terms (upstream
    /// `NodeInfo.PodsWithAffinity`), so that InterPodAffinity need not visit
    /// every pod for a pod without terms of its own.
    pub pods_with_affinity: &'a BTreeSet<PodId>,
    /// Bound pods by namespace and label, to count a selector's pods quickly.
    pub labels: &'a crate::scheduler::label_index::LabelIndex,
}

impl CycleContext<'_> {
    pub fn namespace(&self) -> &str {
        &self.world.pod(self.pod).namespace
    }
}

/// One node as a Filter or Score plugin sees it (upstream `NodeInfo`): the node,
/// its requested totals, and its pods — with nominated pods added or preemption
/// victims removed when the framework evaluates a hypothetical.
pub struct NodeInfo<'a> {
    pub id: NodeId,
    pub node: &'a Node,
    pub requested: &'a Resources,
    /// cpu (millicores) and memory (bytes) with the non-zero defaults, for scoring.
    pub nonzero_requested: (i64, i64),
    /// Pods counted against `pods` allocatable.
    pub num_pods: i64,
    /// Pods that are not (yet) on the node but count as if they were (nominated pods).
    pub added: &'a [PodId],
    /// Pods on the node that count as gone (preemption victims).
    pub removed: &'a [PodId],
}

impl<'a> NodeInfo<'a> {
    /// The node as it stands.
    pub fn of(world: &'a World, id: NodeId) -> NodeInfo<'a> {
        let node = world.node(id);
        NodeInfo {
            id,
            node,
            requested: &node.requested,
            nonzero_requested: node.nonzero_requested,
            num_pods: node.pods.len() as i64,
            added: &[],
            removed: &[],
        }
    }

    /// The pods on the node in this view: existing ones not removed, then added ones.
    pub fn pods(&self) -> impl Iterator<Item = PodId> + '_ {
        self.node
            .pods
            .iter()
            .copied()
            .filter(|p| !self.removed.contains(p))
            .chain(self.added.iter().copied())
    }

    /// Whether this view differs from the node as it stands.
    pub fn is_hypothetical(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }
}

/// One plugin's private cycle state (a slot of upstream's `CycleState`).
#[derive(Default)]
pub struct State(Option<Box<dyn Any + Send>>);

impl State {
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.as_ref().and_then(|b| b.downcast_ref::<T>())
    }
    /// The slot's value, created with `Default` the first time; kept across
    /// cycles so that plugins can reuse their buffers (clear them first).
    pub fn get_or_default<T: Default + Send + 'static>(&mut self) -> &mut T {
        if self.0.as_ref().is_none_or(|b| !b.is::<T>()) {
            self.0 = Some(Box::new(T::default()));
        }
        self.0.as_mut().unwrap().downcast_mut::<T>().unwrap()
    }
}

/// A plugin: a name as upstream spells it, and the extension points it implements.
///
/// A policy written by a user is one type implementing `Plugin` and the traits
/// of the points it needs; see `sim/scheduler/EXTENDING.md` for a complete example.
pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// PreFilter: look at the pod once per cycle, precompute into `state`. A
/// rejection marks every node; `Skip` turns this plugin's Filter off for the pod.
pub trait PreFilterPlugin {
    fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status;
    /// `PreFilterResult.NodeNames`: after a successful PreFilter, the only nodes
    /// that can fit (`None`: all of them). The framework intersects the sets of
    /// all plugins and filters only those nodes.
    fn node_names(&self, _cx: &CycleContext, _state: &State) -> Option<Vec<String>> {
        None
    }
}

/// Filter: can the pod run on this node?
pub trait FilterPlugin {
    fn filter(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> Status;
}

/// PreScore: once per cycle, with the feasible nodes; `Skip` turns Score off.
pub trait PreScorePlugin {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, feasible: &[NodeId]) -> Status;
}

/// Score (and NormalizeScore): a raw score per feasible node, then in place
/// normalisation of all of them into [0, 100].
pub trait ScorePlugin {
    fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64;
    /// `ScoreExtensions().NormalizeScore`; the default leaves scores as they are.
    fn normalize(
        &self,
        _cx: &CycleContext,
        _state: &State,
        _feasible: &[NodeId],
        _scores: &mut [i64],
    ) {
    }
}

/// PostFilter: runs, in profile order, only when no node fits the pod, with why
/// each node was rejected. Upstream `RunPostFilterPlugins`: the first Success
/// or `UnschedulableAndUnresolvable` ends the point; the reasons of the
/// `Unschedulable` ones are joined by ", " into the FitError's PostFilter
/// message. A result (`PostFilterResult`) is data: the node to nominate and the
/// pods to evict for it, carried out by the run loop.
pub trait PostFilterPlugin {
    fn post_filter(&self, h: &mut PostFilterHandle) -> (Status, Option<Preemption>);
}

/// What a PostFilter plugin may use (upstream passes `fwk.Handle` and the
/// `NodeToStatusReader`): the cycle's context, every node's filter verdict, the
/// scheduler's RNG stream, and the profile's filters to try hypotheticals.
pub struct PostFilterHandle<'h, 'a> {
    cycle: &'h Cycle<'a>,
    pub diagnosis: &'h Diagnosis,
    pub rng: &'h mut SimRng,
    bufs: &'h mut Buffers,
}

impl<'h, 'a> PostFilterHandle<'h, 'a> {
    pub(crate) fn new(
        cycle: &'h Cycle<'a>,
        diagnosis: &'h Diagnosis,
        rng: &'h mut SimRng,
        bufs: &'h mut Buffers,
    ) -> Self {
        PostFilterHandle {
            cycle,
            diagnosis,
            rng,
            bufs,
        }
    }

    pub fn cycle(&self) -> &'h Cycle<'a> {
        self.cycle
    }

    pub fn context(&self) -> CycleContext<'a> {
        self.cycle.context()
    }

    /// `RunFilterPluginsWithNominatedPods` on `node` with the pods `removed`
    /// treated as gone (preemption's dry run), with this cycle's PreFilter state.
    pub fn filter_without(&mut self, cx: &CycleContext, node: NodeId, removed: &[PodId]) -> Status {
        let Buffers {
            states,
            skip_filter,
            added,
            requested,
            ..
        } = &mut *self.bufs;
        self.cycle
            .filter_node(cx, states, skip_filter, node, removed, added, requested)
            .0
    }
}

/// Reserve (upstream `ReservePlugin`): after a host is selected, in profile
/// order; a rejection fails the cycle, and then every Reserve plugin's
/// `unreserve` runs in reverse order (`RunReservePluginsUnreserve`), also when
/// binding fails later. `unreserve` must be idempotent: it may run for a plugin
/// whose `reserve` did not.
pub trait ReservePlugin {
    fn reserve(&self, cx: &CycleContext, state: &mut State, node: NodeId) -> Status;
    fn unreserve(&self, cx: &CycleContext, state: &mut State, node: NodeId);
}

/// Bind (upstream `BindPlugin`): in profile order until one does not return
/// `Skip`. Success means the run loop binds the pod to `node` (the Binding
/// call); a rejection fails the binding and the pod goes back to the queue.
pub trait BindPlugin {
    fn bind(&self, cx: &CycleContext, state: &State, node: NodeId) -> Status;
}

/// `helper.DefaultNormalizeScore` (pkg/scheduler/framework/plugins/helper/normalize_score.go):
/// scale to `max_priority` by the largest score, optionally reversed.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    let max_count = scores.iter().copied().fold(0, i64::max);
    if max_count == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        *s = max_priority * *s / max_count;
        if reverse {
            *s = max_priority - *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_normalize_scales_by_max_and_reverses() {
        // [0,1,2] reversed: 100*0/2=0 → 100; 100*1/2=50 → 50; 100 → 0.
        let mut s = [0, 1, 2];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 50, 0]);
        // [0,1,3]: 100*1/3 = 33 → 67.
        let mut s = [0, 1, 3];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 67, 0]);
        let mut s = [0, 0];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 100]);
        let mut s = [0, 0];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, [0, 0]);
        // Not reversed: 100*3/7 = 42.
        let mut s = [3, 7];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, [42, 100]);
    }
}
