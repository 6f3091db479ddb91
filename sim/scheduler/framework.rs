//! The scheduling framework: statuses, the per-cycle node view, per-plugin cycle
//! state and one small trait per extension point.
//!
//! Follows kube-scheduler's `pkg/scheduler/framework/interface.go`,
//! `k8s.io/kube-scheduler/framework` (the plugin interfaces, cluster events
//! and queueing hints) and `framework/runtime/framework.go` (v1.35): a plugin
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

use crate::engine::{SimRng, Time};
use crate::model::labels::Labels;
use crate::model::taints::Taint;
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
    /// Existing pods' pod affinity and anti-affinity terms, their owners
    /// counted per topology domain (upstream walks `NodeInfo.PodsWithAffinity`
    /// and `PodsWithRequiredAntiAffinity` instead).
    pub terms: &'a crate::scheduler::term_index::TermIndex,
    /// Bound pods by namespace and label, to count a selector's pods quickly.
    pub labels: &'a crate::scheduler::label_index::LabelIndex,
    /// Pods per node matching a selector, kept incrementally.
    pub counts: &'a crate::scheduler::indexes::MatchCounts,
    /// Nodes' topology domains as integers.
    pub topo: &'a crate::scheduler::indexes::TopologyIndex,
    pub images: &'a crate::scheduler::indexes::ImageIndex,
    /// Every node's allocatable and requested resources as parallel arrays,
    /// for plugins' batch Filter and Score.
    pub table: &'a crate::scheduler::node_table::NodeTable,
}

impl CycleContext<'_> {
    pub fn namespace(&self) -> &str {
        &self.world.pod(self.pod).namespace
    }
    /// The pod's template.
    pub fn spec_id(&self) -> crate::model::SpecId {
        self.world.pod(self.pod).spec
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
    /// The cluster events that may make a pod this plugin rejected schedulable.
    /// `None` (the default) means every event, without a hint, as upstream's
    /// `defaultEnqueueExtension` does for a plugin that registers none.
    fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
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
    /// Filter each of `nodes` as it stands (no nominated pod added, no pod
    /// removed), pushing `(index in nodes, status)` for every node rejected,
    /// in `nodes`' order. The default calls [`filter`](Self::filter) per
    /// node; plugins on the hot path override it with a loop over the node
    /// table (`cx.table`). Both must decide alike.
    fn filter_batch(
        &self,
        cx: &CycleContext,
        state: &State,
        nodes: &[NodeId],
        rejected: &mut Vec<(usize, Status)>,
    ) {
        filter_each(self, cx, state, nodes, rejected);
    }
    /// Whether the verdict depends only on the pod's template (its spec,
    /// except its labels and annotations), the plugin's configuration and the
    /// node's name, labels, taints and `unschedulable` — not on the node's
    /// pods or resources, the pod's labels or namespace, the time or PreFilter
    /// state. The framework then caches the verdict per class of templates
    /// that differ only in labels and annotations (`World::spec_class`) until
    /// the node changes. Default: `false`.
    fn is_static(&self) -> bool {
        false
    }
    /// `Some(fit)` when, for this pod and PreFilter state, the plugin
    /// rejects a node as it stands exactly when [`TableFit::rejects`] says
    /// so: the framework may then decide which nodes pass from the node
    /// table alone, and asks [`filter`](Self::filter) only for the statuses
    /// of a cycle that finds no node. Default: `None`.
    fn table_fit(&self, _cx: &CycleContext, _state: &State) -> Option<TableFit> {
        None
    }
}

/// A filter verdict read off the node table: room for one more pod and
/// for the requested cpu, memory and ephemeral storage (a zero request
/// always fits, even on an over-committed node), as NodeResourcesFit's
/// `fitsRequest` checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFit {
    /// The requests, a zero one as `i64::MIN` so that it exceeds no room.
    milli_cpu: i64,
    memory: i64,
    ephemeral_storage: i64,
}

impl TableFit {
    pub fn new(milli_cpu: i64, memory: i64, ephemeral_storage: i64) -> TableFit {
        let need = |q: i64| if q > 0 { q } else { i64::MIN };
        TableFit {
            milli_cpu: need(milli_cpu),
            memory: need(memory),
            ephemeral_storage: need(ephemeral_storage),
        }
    }

    /// Whether the node at table index `i` lacks room for the pod.
    #[inline(always)]
    pub fn rejects(&self, t: &crate::scheduler::node_table::NodeTable, i: usize) -> bool {
        let f = &t.free[i];
        // `|`, not `||`: four compares are cheaper than three branches.
        (f.pods < 1)
            | (self.milli_cpu > f.milli_cpu)
            | (self.memory > f.memory)
            | (self.ephemeral_storage > f.ephemeral_storage)
    }
}

/// `FilterPlugin::filter_batch` node by node: `filter` on each node as it stands.
pub fn filter_each<F: FilterPlugin + ?Sized>(
    f: &F,
    cx: &CycleContext,
    state: &State,
    nodes: &[NodeId],
    rejected: &mut Vec<(usize, Status)>,
) {
    for (j, &n) in nodes.iter().enumerate() {
        let s = f.filter(cx, state, &NodeInfo::of(cx.world, n));
        if !s.is_success() {
            rejected.push((j, s));
        }
    }
}

/// PreScore: once per cycle, with the feasible nodes; `Skip` turns Score off.
pub trait PreScorePlugin {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, feasible: &[NodeId]) -> Status;
}

/// Score (and NormalizeScore): a raw score per feasible node, then in place
/// normalisation of all of them into [0, 100].
pub trait ScorePlugin {
    fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64;
    /// Every feasible node's raw score, appended to `out` in `feasible`'s
    /// order. The default calls [`score`](Self::score) per node; plugins on
    /// the hot path override it to read their state once per cycle. Both must
    /// give the same scores.
    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        out.extend(
            feasible
                .iter()
                .map(|&n| self.score(cx, state, &NodeInfo::of(cx.world, n))),
        );
    }
    /// Whether the raw score on a node depends only on the pod's template
    /// (its spec, except its labels and annotations), the plugin's
    /// configuration, and that node: its object and the resources requested
    /// on it — not on other nodes, the feasible set, any pod's labels, the
    /// pod's namespace or the time. The framework then reuses a node's raw
    /// score for the same class of templates (`World::spec_class`) until the
    /// node or its requested resources change. Default: `false`.
    fn is_node_local(&self) -> bool {
        false
    }
    /// Whether [`normalize`](Self::normalize) leaves scores as they are (the
    /// default does). With [`is_node_local`](Self::is_node_local), the
    /// framework may then cache the node's weighted score summed with other
    /// such plugins'. Default: `false`.
    fn normalize_is_identity(&self) -> bool {
        false
    }
    /// Whether this cycle every feasible node gets the same normalised score
    /// (for instance, no node has anything the plugin scores): the framework
    /// may then leave the plugin out of the sum, since a constant moves no
    /// node in the ranking. Asked after PreScore. Default: `false`.
    fn is_uniform(&self, _cx: &CycleContext, _state: &State) -> bool {
        false
    }
    /// [`normalize`](Self::normalize), then each score clamped to [0, 100]
    /// and times `weight` added to `totals` (`RunScorePlugins`' weighting);
    /// the framework's fast path calls this. The default does exactly that;
    /// a plugin may fuse the passes, with the same result.
    fn normalize_into(
        &self,
        cx: &CycleContext,
        state: &State,
        feasible: &[NodeId],
        scores: &mut [i64],
        weight: i64,
        totals: &mut [i64],
    ) {
        self.normalize(cx, state, feasible, scores);
        add_weighted(scores, weight, totals);
    }
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

/// Normalised scores clamped to [0, 100], times `weight`, added to `totals`.
pub fn add_weighted(scores: &[i64], weight: i64, totals: &mut [i64]) {
    for (t, &s) in totals.iter_mut().zip(scores) {
        *t += s.clamp(0, MAX_NODE_SCORE) * weight;
    }
}

/// `ScorePlugin::score_all` for a plugin whose per-node score reads only its
/// PreScore state `T`: the state is looked up once, then `f` runs per node
/// (0 everywhere without state, as `score` gives).
pub fn score_each<T: 'static>(
    cx: &CycleContext,
    state: &State,
    feasible: &[NodeId],
    out: &mut Vec<i64>,
    f: impl Fn(&T, &NodeInfo) -> i64,
) {
    match state.get::<T>() {
        None => out.resize(out.len() + feasible.len(), 0),
        Some(s) => out.extend(feasible.iter().map(|&n| f(s, &NodeInfo::of(cx.world, n)))),
    }
}

/// Inside `impl ScorePlugin for P`: `score` for a plugin whose per-node score
/// is its inherent `node_score(cx, state, node)` over PreScore state of type
/// `$state` (0 without state). The plugin's `score_all` is its own (a loop
/// over the node table, or [`score_each`]).
macro_rules! score_from_state {
    ($state:ty) => {
        fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
            state
                .get::<$state>()
                .map_or(0, |s| self.node_score(cx, s, node))
        }
    };
}
pub(crate) use score_from_state;

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

/// `fwk.ActionType`: what happened to an object, as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ActionType(pub u32);

impl ActionType {
    pub const NONE: ActionType = ActionType(0);
    pub const ADD: ActionType = ActionType(1);
    pub const DELETE: ActionType = ActionType(1 << 1);
    pub const UPDATE_NODE_ALLOCATABLE: ActionType = ActionType(1 << 2);
    pub const UPDATE_NODE_LABEL: ActionType = ActionType(1 << 3);
    /// Taints changed, or `spec.unschedulable` became false (upstream has no
    /// action of its own for the latter).
    pub const UPDATE_NODE_TAINT: ActionType = ActionType(1 << 4);
    pub const UPDATE_NODE_CONDITION: ActionType = ActionType(1 << 5);
    /// Pod labels never change in kubesim; registered for fidelity.
    pub const UPDATE_POD_LABEL: ActionType = ActionType(1 << 6);

    pub const fn or(self, o: ActionType) -> ActionType {
        ActionType(self.0 | o.0)
    }
    pub fn intersects(self, o: ActionType) -> bool {
        self.0 & o.0 != 0
    }
}

/// What a node looked like to the scheduler, for queueing hints (the fields
/// that can change during a run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSnapshot {
    pub allocatable: Resources,
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
    pub labels: Labels,
    pub ready: bool,
}

impl NodeSnapshot {
    pub fn of(node: &Node) -> NodeSnapshot {
        NodeSnapshot {
            allocatable: node.allocatable.clone(),
            unschedulable: node.unschedulable,
            taints: node.taints.clone(),
            labels: node.labels.clone(),
            ready: node.ready,
        }
    }

    /// `NodeSchedulingPropertiesChange`: the update actions from `self` to `new`.
    pub fn update_actions(&self, new: &NodeSnapshot) -> ActionType {
        let mut a = ActionType::NONE;
        if self.unschedulable && !new.unschedulable {
            a = a.or(ActionType::UPDATE_NODE_TAINT);
        }
        if self.allocatable != new.allocatable {
            a = a.or(ActionType::UPDATE_NODE_ALLOCATABLE);
        }
        if self.labels != new.labels {
            a = a.or(ActionType::UPDATE_NODE_LABEL);
        }
        if self.taints != new.taints {
            a = a.or(ActionType::UPDATE_NODE_TAINT);
        }
        if self.ready != new.ready {
            a = a.or(ActionType::UPDATE_NODE_CONDITION);
        }
        a
    }
}

/// A cluster event that may make unschedulable pods schedulable (upstream
/// `fwk.ClusterEvent` with its old and new objects). Pods are read from the
/// World, which keeps a pod's last node and labels after it ends or is removed.
#[derive(Clone, Copy, Debug)]
pub enum ClusterEvent<'a> {
    NodeAdded {
        node: NodeId,
        new: &'a NodeSnapshot,
    },
    /// One or more update actions at once (the hints compare old and new, so
    /// one call for all of them decides as one call per action would).
    NodeUpdated {
        node: NodeId,
        old: &'a NodeSnapshot,
        new: &'a NodeSnapshot,
        actions: ActionType,
    },
    NodeDeleted {
        node: NodeId,
        old: &'a NodeSnapshot,
    },
    /// `EventAssignedPodAdd`: a pod was bound (or created bound).
    AssignedPodAdded(PodId),
    /// `EventAssignedPodDelete`: a bound pod was removed or ended (the
    /// scheduler's pod informer does not list Succeeded and Failed pods).
    AssignedPodDeleted(PodId),
    /// `EventUnscheduledPodDelete`: a pod nominated to a node was removed
    /// before it was bound.
    UnscheduledPodDeleted(PodId),
}

impl ClusterEvent<'_> {
    pub fn is_node(&self) -> bool {
        matches!(
            self,
            ClusterEvent::NodeAdded { .. }
                | ClusterEvent::NodeUpdated { .. }
                | ClusterEvent::NodeDeleted { .. }
        )
    }
    pub fn action(&self) -> ActionType {
        match self {
            ClusterEvent::NodeAdded { .. } | ClusterEvent::AssignedPodAdded(_) => ActionType::ADD,
            ClusterEvent::NodeUpdated { actions, .. } => *actions,
            ClusterEvent::NodeDeleted { .. }
            | ClusterEvent::AssignedPodDeleted(_)
            | ClusterEvent::UnscheduledPodDeleted(_) => ActionType::DELETE,
        }
    }
    /// For node events: (node, before, after).
    pub fn node(&self) -> Option<(NodeId, Option<&NodeSnapshot>, Option<&NodeSnapshot>)> {
        match *self {
            ClusterEvent::NodeAdded { node, new } => Some((node, None, Some(new))),
            ClusterEvent::NodeUpdated { node, old, new, .. } => Some((node, Some(old), Some(new))),
            ClusterEvent::NodeDeleted { node, old } => Some((node, Some(old), None)),
            _ => None,
        }
    }
    /// For pod events: the pod.
    pub fn pod(&self) -> Option<PodId> {
        match *self {
            ClusterEvent::AssignedPodAdded(p)
            | ClusterEvent::AssignedPodDeleted(p)
            | ClusterEvent::UnscheduledPodDeleted(p) => Some(p),
            _ => None,
        }
    }
}

/// `EventsToRegister`: the node and pod actions a plugin's hint wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Events {
    pub node: ActionType,
    pub pod: ActionType,
}

impl Events {
    /// Node events only.
    pub fn nodes(node: ActionType) -> Events {
        Events {
            node,
            pod: ActionType::NONE,
        }
    }
    pub fn matches(&self, e: &ClusterEvent) -> bool {
        let registered = if e.is_node() { self.node } else { self.pod };
        registered.intersects(e.action())
    }
}

/// `fwk.QueueingHint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueingHint {
    /// The event may make the pod schedulable: move it to activeQ, or to
    /// backoffQ while its backoff lasts.
    Queue,
    QueueSkip,
}

impl QueueingHint {
    /// `Queue` when `may_help`.
    pub fn queue_if(may_help: bool) -> QueueingHint {
        if may_help {
            QueueingHint::Queue
        } else {
            QueueingHint::QueueSkip
        }
    }
}

/// What a queueing hint may read: the World as it stands after the event, and
/// the unschedulable pod.
pub struct HintContext<'a> {
    pub world: &'a World,
    pub pod: PodId,
    pub spec: &'a PodSpec,
    pub version: KubeVersion,
}

/// `fwk.EnqueueExtensions`: which cluster events may make a pod this plugin
/// rejected schedulable, and for each the `QueueingHintFn`. Only the plugins
/// that rejected the pod (its `UnschedulablePlugins`) are asked, and only for
/// the events they registered.
pub trait EnqueueExtensions {
    fn events_to_register(&self) -> Events;
    /// Called only for events matching `events_to_register`.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint;
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

    #[test]
    fn table_fit_reads_room_and_lets_a_zero_request_through() {
        use crate::scheduler::node_table::{Free, NodeTable};
        let room = |pods, milli_cpu, memory| Free {
            pods,
            milli_cpu,
            memory,
            ephemeral_storage: 0,
        };
        let mut t = NodeTable::default();
        t.free = vec![
            room(1, 500, 1 << 30),
            room(0, 500, 1 << 30),
            room(3, 499, 1 << 30),
            // Over-committed cpu (a node that shrank under its pods).
            room(3, -200, 1 << 30),
        ];
        let fit = TableFit::new(500, 1 << 30, 0);
        let rejects: Vec<bool> = (0..4).map(|i| fit.rejects(&t, i)).collect();
        // Exactly the room fits; no pod slot, or 1m short, does not.
        assert_eq!(rejects, [false, true, true, true]);
        // No cpu asked: fits even where cpu is over-committed (`fitsRequest`
        // checks only requested resources), but still needs a pod slot.
        let fit = TableFit::new(0, 1 << 20, 0);
        let rejects: Vec<bool> = (0..4).map(|i| fit.rejects(&t, i)).collect();
        assert_eq!(rejects, [false, true, false, false]);
    }
}
