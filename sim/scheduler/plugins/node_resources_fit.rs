//! NodeResourcesFit: the pod's requests must fit the node's free allocatable;
//! nodes are scored by a strategy — LeastAllocated (the default),
//! MostAllocated or RequestedToCapacityRatio — over weighted resources.
//!
//! Follows pkg/scheduler/framework/plugins/noderesources/fit.go,
//! resource_allocation.go, least_allocated.go, most_allocated.go,
//! requested_to_capacity_ratio.go and plugins/helper/shape_score.go (v1.35).
//! All arithmetic is upstream's int64 with truncating division, except where
//! upstream itself rounds a float (RequestedToCapacityRatio's final average).
//!
//! Filtering uses the pod's real requests (a container without requests counts
//! 0); scoring uses the non-zero defaults (100m cpu, 200Mi memory per container
//! without requests) on both the pod's and the node's side.

use std::borrow::Cow;

use crate::model::{NodeId, PodSpec, Resources, ScalarId, World};
use crate::scheduler::framework::*;
use crate::scheduler::node_table::NodeTable;

pub const NAME: &str = "NodeResourcesFit";

/// A resource named in scoring args.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWeight {
    pub name: String,
    pub weight: i64,
}

impl ResourceWeight {
    pub fn new(name: &str, weight: i64) -> Self {
        ResourceWeight {
            name: name.to_string(),
            weight,
        }
    }
    /// `[cpu w1, memory w1]`, the default of both resource-scoring plugins.
    pub fn defaults() -> Vec<ResourceWeight> {
        vec![Self::new("cpu", 1), Self::new("memory", 1)]
    }
}

/// `ScoringStrategy.type` with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    LeastAllocated,
    MostAllocated,
    /// `shape`: (utilization 0..=100, score 0..=10) points, utilization ascending.
    RequestedToCapacityRatio {
        shape: Vec<(i64, i64)>,
    },
}

/// `NodeResourcesFitArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitArgs {
    pub strategy: Strategy,
    pub resources: Vec<ResourceWeight>,
    pub ignored_resources: Vec<String>,
    pub ignored_resource_groups: Vec<String>,
}

impl Default for FitArgs {
    fn default() -> Self {
        FitArgs {
            strategy: Strategy::LeastAllocated,
            resources: ResourceWeight::defaults(),
            ignored_resources: Vec::new(),
            ignored_resource_groups: Vec::new(),
        }
    }
}

/// A resource resolved for one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Cpu,
    Memory,
    EphemeralStorage,
    Scalar(ScalarId),
    /// A name no node or pod has: always (0, 0), i.e. skipped.
    Unknown,
}

pub fn resolve(world: &World, name: &str) -> Res {
    match name {
        "cpu" => Res::Cpu,
        "memory" => Res::Memory,
        "ephemeral-storage" => Res::EphemeralStorage,
        other => world
            .scalar_names
            .iter()
            .position(|n| n == other)
            .map_or(Res::Unknown, |i| Res::Scalar(i as ScalarId)),
    }
}

/// The pod's request of `res` for scoring: with non-zero defaults unless `real`.
pub fn pod_request(spec: &PodSpec, res: Res, real: bool) -> i64 {
    match res {
        Res::Cpu if real => spec.requests.milli_cpu,
        Res::Cpu => spec.nonzero_milli_cpu,
        Res::Memory if real => spec.requests.memory,
        Res::Memory => spec.nonzero_memory,
        Res::EphemeralStorage => spec.requests.ephemeral_storage,
        Res::Scalar(id) => spec.requests.scalar(id),
        Res::Unknown => 0,
    }
}

/// `calculateResourceAllocatableRequest`: (allocatable, requested on the node
/// including the pod). A scalar resource the pod does not request, or one the
/// node does not have, gives (0, 0).
pub fn allocatable_and_requested(
    node: &NodeInfo,
    res: Res,
    pod_req: i64,
    real: bool,
) -> (i64, i64) {
    let alloc = &node.node.allocatable;
    match res {
        Res::Cpu => {
            let r = if real {
                node.requested.milli_cpu
            } else {
                node.nonzero_requested.0
            };
            (alloc.milli_cpu, r + pod_req)
        }
        Res::Memory => {
            let r = if real {
                node.requested.memory
            } else {
                node.nonzero_requested.1
            };
            (alloc.memory, r + pod_req)
        }
        Res::EphemeralStorage => (
            alloc.ephemeral_storage,
            node.requested.ephemeral_storage + pod_req,
        ),
        Res::Scalar(id) => {
            let a = alloc.scalar(id);
            if pod_req == 0 || a == 0 {
                (0, 0)
            } else {
                (a, node.requested.scalar(id) + pod_req)
            }
        }
        Res::Unknown => (0, 0),
    }
}

/// [`allocatable_and_requested`] for a node as it stands, read from the node
/// table. The table holds no extended resources: callers check that `res` is
/// not a `Scalar` (which gives (0, 0) here).
pub fn table_allocatable_and_requested(
    t: &NodeTable,
    node: NodeId,
    res: Res,
    pod_req: i64,
    real: bool,
) -> (i64, i64) {
    let i = node.idx();
    match res {
        Res::Cpu => (
            t.alloc_cpu[i],
            if real { t.req_cpu[i] } else { t.nz_cpu[i] } + pod_req,
        ),
        Res::Memory => (
            t.alloc_mem[i],
            if real { t.req_mem[i] } else { t.nz_mem[i] } + pod_req,
        ),
        Res::EphemeralStorage => (t.alloc_eph[i], t.req_eph[i] + pod_req),
        Res::Scalar(_) | Res::Unknown => {
            debug_assert!(
                !matches!(res, Res::Scalar(_)),
                "scalar resources are not in the table"
            );
            (0, 0)
        }
    }
}

/// Whether every resource can be read from the node table (none is extended).
pub fn in_table<'r>(mut resources: impl Iterator<Item = &'r Res>) -> bool {
    resources.all(|r| !matches!(r, Res::Scalar(_)))
}

/// `leastRequestedScore`: ((capacity - requested) * 100) / capacity, 0 when over.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `mostRequestedScore`: (requested * 100) / capacity, requested clamped to capacity.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// `helper.BuildBrokenLinearFunction` over already-scaled points: linear
/// interpolation between points, flat outside them, int64 truncation.
pub fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    for (i, &(u, s)) in shape.iter().enumerate() {
        if p <= u {
            if i == 0 {
                return s;
            }
            let (u0, s0) = shape[i - 1];
            return s0 + (s - s0) * (p - u0) / (u - u0);
        }
    }
    shape.last().map_or(0, |&(_, s)| s)
}

/// Per-cycle state: the resources resolved, the pod's (non-zero) requests.
#[derive(Default)]
struct ScoreState {
    resources: Vec<(Res, i64, i64)>, // (resource, weight, pod request)
    /// RequestedToCapacityRatio's shape with scores scaled ×10 (to 0..=100).
    shape: Vec<(i64, i64)>,
}

pub struct NodeResourcesFit {
    pub args: FitArgs,
}

impl NodeResourcesFit {
    pub fn new(args: FitArgs) -> Self {
        NodeResourcesFit { args }
    }

    fn ignored(&self, name: &str) -> bool {
        self.args.ignored_resources.iter().any(|r| r == name)
            || name.split_once('/').is_some_and(|(group, _)| {
                self.args.ignored_resource_groups.iter().any(|g| g == group)
            })
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
    fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
        Some(self)
    }
}

/// `isFit`: the pod alone would fit the node's allocatable.
fn is_fit(req: &Resources, alloc: &Resources) -> bool {
    let fits = |want: i64, cap: i64| want <= 0 || want <= cap;
    alloc.pods >= 1
        && (req.is_zero_request()
            || (fits(req.milli_cpu, alloc.milli_cpu)
                && fits(req.memory, alloc.memory)
                && fits(req.ephemeral_storage, alloc.ephemeral_storage)
                && req.scalar.iter().all(|&(id, q)| fits(q, alloc.scalar(id)))))
}

/// `haveAnyRequestedResourcesIncreased`: more pods allowed, or more of a
/// resource the pod requests.
fn any_requested_increased(req: &Resources, old: &Resources, new: &Resources) -> bool {
    if new.pods > old.pods {
        return true;
    }
    let more = |want: i64, o: i64, n: i64| want > 0 && n > o;
    more(req.milli_cpu, old.milli_cpu, new.milli_cpu)
        || more(req.memory, old.memory, new.memory)
        || more(
            req.ephemeral_storage,
            old.ephemeral_storage,
            new.ephemeral_storage,
        )
        || req
            .scalar
            .iter()
            .any(|&(id, q)| more(q, old.scalar(id), new.scalar(id)))
}

impl EnqueueExtensions for NodeResourcesFit {
    /// Pod Delete (requests never scale down here), Node Add | UpdateNodeAllocatable.
    fn events_to_register(&self) -> Events {
        Events {
            node: ActionType::ADD.or(ActionType::UPDATE_NODE_ALLOCATABLE),
            pod: ActionType::DELETE,
        }
    }

    /// `isSchedulableAfterPodEvent`: a bound or nominated pod was deleted.
    /// `isSchedulableAfterNodeChange`: the pod alone fits the node, and the
    /// node is new or has more of something the pod requests.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let queue = match event.node() {
            // The events registered for pods are deletions of bound or nominated pods.
            None => true,
            Some((_, old, Some(new))) => {
                let req = &cx.spec.requests;
                is_fit(req, &new.allocatable)
                    && old.is_none_or(|o| {
                        any_requested_increased(req, &o.allocatable, &new.allocatable)
                    })
            }
            Some((_, _, None)) => false,
        };
        QueueingHint::queue_if(queue)
    }
}

/// One insufficient resource (`InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insufficient {
    pub reason: Cow<'static, str>,
    /// The pod asks for more than the whole node has: preemption cannot help.
    pub unresolvable: bool,
}

/// `fitsRequest`: every resource the pod requests, and one more pod slot.
pub fn fits_request(
    world: &World,
    spec: &PodSpec,
    node: &NodeInfo,
    ignored: &dyn Fn(&str) -> bool,
    out: &mut Vec<Insufficient>,
) {
    let alloc = &node.node.allocatable;
    let req = &spec.requests;
    let used = node.requested;
    if node.num_pods + 1 > alloc.pods {
        out.push(Insufficient {
            reason: Cow::Borrowed("Too many pods"),
            unresolvable: false,
        });
    }
    if req.milli_cpu == 0 && req.memory == 0 && req.ephemeral_storage == 0 && req.scalar.is_empty()
    {
        return;
    }
    let mut check = |want: i64, cap: i64, used: i64, reason: Cow<'static, str>| {
        if want > 0 && want > cap - used {
            out.push(Insufficient {
                reason,
                unresolvable: want > cap,
            });
        }
    };
    check(
        req.milli_cpu,
        alloc.milli_cpu,
        used.milli_cpu,
        Cow::Borrowed("Insufficient cpu"),
    );
    check(
        req.memory,
        alloc.memory,
        used.memory,
        Cow::Borrowed("Insufficient memory"),
    );
    check(
        req.ephemeral_storage,
        alloc.ephemeral_storage,
        used.ephemeral_storage,
        Cow::Borrowed("Insufficient ephemeral-storage"),
    );
    for &(id, q) in &req.scalar {
        let name = &world.scalar_names[id as usize];
        if ignored(name) {
            continue;
        }
        let (cap, u) = (alloc.scalar(id), used.scalar(id));
        if q > 0 && q > cap - u {
            out.push(Insufficient {
                reason: Cow::Owned(format!("Insufficient {name}")),
                unresolvable: q > cap,
            });
        }
    }
}

impl FilterPlugin for NodeResourcesFit {
    /// `fitsRequest` over the node table: the pod count and cpu, memory and
    /// ephemeral storage; a rejected node's reasons come from `filter`. A pod
    /// requesting extended resources goes node by node.
    fn filter_batch(
        &self,
        cx: &CycleContext,
        state: &State,
        nodes: &[NodeId],
        rejected: &mut Vec<(usize, Status)>,
    ) {
        let Some(fit) = self.table_fit(cx, state) else {
            return filter_each(self, cx, state, nodes, rejected);
        };
        let t = cx.table;
        for (j, &n) in nodes.iter().enumerate() {
            if fit.rejects(t, n.idx()) {
                rejected.push((j, self.filter(cx, state, &NodeInfo::of(cx.world, n))));
            }
        }
    }

    /// The table check of `filter_batch`, for a pod without extended resources.
    fn table_fit(&self, cx: &CycleContext, _: &State) -> Option<TableFit> {
        let req = &cx.spec.requests;
        req.scalar
            .is_empty()
            .then(|| TableFit::new(req.milli_cpu, req.memory, req.ephemeral_storage))
    }

    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        let mut out = Vec::new();
        fits_request(cx.world, cx.spec, node, &|n| self.ignored(n), &mut out);
        if out.is_empty() {
            return Status::SUCCESS;
        }
        // PR #131345 (v1.34): a request larger than the whole node is unresolvable.
        let code = if cx.version.at_least(34) && out.iter().any(|i| i.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status {
            code,
            reasons: out.into_iter().map(|i| i.reason).collect(),
        }
    }
}

impl PreScorePlugin for NodeResourcesFit {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
        let s = state.get_or_default::<ScoreState>();
        s.resources.clear();
        for r in &self.args.resources {
            let res = resolve(cx.world, &r.name);
            s.resources
                .push((res, r.weight, pod_request(cx.spec, res, false)));
        }
        s.shape.clear();
        if let Strategy::RequestedToCapacityRatio { shape } = &self.args.strategy {
            // MaxNodeScore / MaxCustomPriorityScore = 100 / 10.
            s.shape.extend(shape.iter().map(|&(u, sc)| (u, sc * 10)));
        }
        Status::SUCCESS
    }
}

impl NodeResourcesFit {
    fn node_score(&self, _cx: &CycleContext, s: &ScoreState, node: &NodeInfo) -> i64 {
        self.score_with(s, |res, pod_req| {
            allocatable_and_requested(node, res, pod_req, false)
        })
    }

    /// The strategy's score, with each resource's (allocatable, requested
    /// including the pod) from `alloc_req(resource, pod request)`.
    #[inline]
    fn score_with(&self, s: &ScoreState, alloc_req: impl Fn(Res, i64) -> (i64, i64)) -> i64 {
        let (mut node_score, mut weight_sum) = (0i64, 0i64);
        for &(res, weight, pod_req) in &s.resources {
            let (alloc, req) = alloc_req(res, pod_req);
            if alloc == 0 {
                continue;
            }
            match &self.args.strategy {
                Strategy::LeastAllocated => {
                    node_score += least_requested_score(req, alloc) * weight;
                    weight_sum += weight;
                }
                Strategy::MostAllocated => {
                    node_score += most_requested_score(req, alloc) * weight;
                    weight_sum += weight;
                }
                Strategy::RequestedToCapacityRatio { .. } => {
                    let utilization = if req > alloc {
                        100
                    } else {
                        // 128-bit so that huge byte counts cannot overflow (PR #142112).
                        (i128::from(req) * 100 / i128::from(alloc)) as i64
                    };
                    let rs = broken_linear(&s.shape, utilization);
                    if rs > 0 {
                        node_score += rs * weight;
                        weight_sum += weight;
                    }
                }
            }
        }
        if weight_sum == 0 {
            return 0;
        }
        match self.args.strategy {
            Strategy::RequestedToCapacityRatio { .. } => {
                (node_score as f64 / weight_sum as f64).round() as i64
            }
            _ => node_score / weight_sum,
        }
    }
}

impl ScorePlugin for NodeResourcesFit {
    /// Reads only the node's allocatable and requested resources and the template's requests.
    fn is_node_local(&self) -> bool {
        true
    }

    /// The strategy's score is already in [0, 100]: no NormalizeScore.
    fn normalize_is_identity(&self) -> bool {
        true
    }

    score_from_state!(ScoreState);

    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        match state.get::<ScoreState>() {
            Some(s) if in_table(s.resources.iter().map(|r| &r.0)) => {
                let t = cx.table;
                out.extend(feasible.iter().map(|&n| {
                    self.score_with(s, |res, q| {
                        table_allocatable_and_requested(t, n, res, q, false)
                    })
                }));
            }
            _ => score_each(cx, state, feasible, out, |s: &ScoreState, n| {
                self.node_score(cx, s, n)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_and_most_requested_truncate() {
        // (4000-1100)*100/4000 = 290000/4000 = 72 (72.5 truncated).
        assert_eq!(least_requested_score(1100, 4000), 72);
        assert_eq!(least_requested_score(5000, 4000), 0);
        // 1100*100/4000 = 27 (27.5 truncated); over capacity clamps to 100.
        assert_eq!(most_requested_score(1100, 4000), 27);
        assert_eq!(most_requested_score(5000, 4000), 100);
    }

    #[test]
    fn broken_linear_interpolates_and_truncates() {
        // Shape (0,0)-(100,100) after ×10 scaling: identity.
        let s = [(0, 0), (100, 100)];
        assert_eq!(broken_linear(&s, 37), 37);
        // Binpack-like shape: (0,0),(50,30),(100,100): at 75 → 30 + 70*25/50 = 30+35 = 65.
        let s = [(0, 0), (50, 30), (100, 100)];
        assert_eq!(broken_linear(&s, 75), 65);
        // At 33 → 0 + 30*33/50 = 990/50 = 19 (19.8 truncated).
        assert_eq!(broken_linear(&s, 33), 19);
        // Decreasing (spread) shape (0,100),(100,0): at 33 → 100 + (-100)*33/100 = 100-33 = 67.
        let s = [(0, 100), (100, 0)];
        assert_eq!(broken_linear(&s, 33), 67);
        // Below the first point: its score; above the last: the last score.
        let s = [(10, 20), (90, 80)];
        assert_eq!(broken_linear(&s, 5), 20);
        assert_eq!(broken_linear(&s, 95), 80);
    }
}
