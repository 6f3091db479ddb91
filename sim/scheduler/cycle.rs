//! One scheduling cycle: PreFilter, Filter over a sample of nodes from a
//! rotating start index, PreScore, Score, NormalizeScore, weights, and the
//! choice among the best; on failure, the FitError message.
//!
//! Follows pkg/scheduler/schedule_one.go (`schedulePod`, `findNodesThatFitPod`,
//! `findNodesThatPassFilters`, `numFeasibleNodesToFind`, `prioritizeNodes`,
//! `selectHost`), framework/runtime/framework.go (`RunFilterPluginsWithNominatedPods`,
//! `RunScorePlugins`) and framework/types.go (`FitError.Error`) (v1.35).
//!
//! Upstream filters nodes with 16 goroutines, so which nodes are found first is
//! not deterministic; here nodes are examined one after another from the start
//! index, which is what one worker would do.

use crate::hash::HashMap;
use std::collections::BTreeMap;

use rand::RngExt;

use crate::engine::{SimRng, Time};
use crate::model::{KubeVersion, NodeId, PodId, Resources, World};
use crate::scheduler::framework::*;
use crate::scheduler::node_table::{
    FitEntry, FitIndex, NodeTable, Refresh, SummedEntry, SummedIndex, TemplateCache,
};
use crate::scheduler::profiles::Profile;

/// `minFeasibleNodesToFind`.
pub const MIN_FEASIBLE_NODES_TO_FIND: i32 = 100;
/// `minFeasibleNodesPercentageToFind`.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i32 = 5;

/// `numFeasibleNodesToFind` in upstream's int32 arithmetic: all nodes below
/// 100; otherwise `percentage` of them (adaptive `50 - n/125`, at least 5%,
/// when unset or 0), but at least 100.
pub fn num_feasible_nodes_to_find(percentage: Option<i32>, num_all_nodes: i32) -> i32 {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = percentage.unwrap_or(0);
    if pct == 0 {
        pct = 50 - num_all_nodes / 125;
        if pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND {
            pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
        }
    }
    let n = (i64::from(num_all_nodes) * i64::from(pct) / 100) as i32;
    if n < MIN_FEASIBLE_NODES_TO_FIND {
        return MIN_FEASIBLE_NODES_TO_FIND;
    }
    n
}

/// Why a pod fits nowhere (`framework.Diagnosis`).
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    pub num_all_nodes: usize,
    /// Nodes examined and rejected, with the status of the first plugin that rejected.
    pub statuses: Vec<(NodeId, Status)>,
    /// The status of every node not in `statuses` (a PreFilter rejection).
    pub absent: Option<Status>,
    pub pre_filter_msg: String,
    pub post_filter_msg: String,
    /// Plugins that rejected the pod somewhere.
    pub rejectors: Vec<&'static str>,
}

impl Diagnosis {
    pub fn status_of(&self, node: NodeId) -> Option<&Status> {
        self.statuses
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, s)| s)
            .or(self.absent.as_ref())
    }

    /// `FitError.Error()`: `0/N nodes are available: ` then the PreFilter message,
    /// or a histogram of reasons (`COUNT REASON`, sorted as strings, joined by
    /// ", ", ended by "."), then the PostFilter message if any, also ended by
    /// "." (`SeparatorFormat`, " %v."): a PostFilter message that ends with a
    /// period, as preemption's do, ends with two, as in real events.
    pub fn message(&self) -> String {
        let mut msg = format!("0/{} nodes are available:", self.num_all_nodes);
        if !self.pre_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", self.pre_filter_msg));
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, s) in &self.statuses {
                for r in &s.reasons {
                    *counts.entry(r).or_default() += 1;
                }
            }
            let absent = self.num_all_nodes.saturating_sub(self.statuses.len());
            if absent > 0
                && let Some(s) = &self.absent
            {
                for r in &s.reasons {
                    *counts.entry(r).or_default() += absent;
                }
            }
            let mut items: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
            items.sort();
            if !items.is_empty() {
                msg.push_str(&format!(" {}.", items.join(", ")));
            }
        }
        if !self.post_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", self.post_filter_msg));
        }
        msg
    }
}

/// What a cycle decided.
pub enum Decision {
    Bind(NodeId),
    Unschedulable(Diagnosis),
}

/// Scores as computed, for `explain`.
#[derive(Clone, Debug, Default)]
pub struct ScoreRecord {
    pub feasible: Vec<NodeId>,
    /// Per score plugin (profile order): raw and normalised scores per feasible node.
    pub raw: Vec<Vec<i64>>,
    pub normalized: Vec<Vec<i64>>,
    pub totals: Vec<i64>,
    /// Feasible nodes with the top total.
    pub ties: Vec<NodeId>,
    /// Plugins whose PreScore returned Skip.
    pub skipped: Vec<&'static str>,
    pub num_to_find: usize,
    pub evaluated: Vec<NodeId>,
}

/// Reusable per-cycle buffers: nothing on the hot path allocates per node.
#[derive(Default)]
pub struct Buffers {
    pub states: Vec<State>,
    pub skip_filter: Vec<bool>,
    skip_score: Vec<bool>,
    feasible: Vec<NodeId>,
    scores: Vec<Vec<i64>>,
    totals: Vec<i64>,
    pub added: Vec<PodId>,
    pub requested: Resources,
    /// The PreFilter result: only these nodes are filtered (snapshot order),
    /// with the names of the plugins that restricted them.
    pub subset: Option<(Vec<NodeId>, Vec<&'static str>)>,
    /// Static filter verdicts and node-local raw scores per template, kept
    /// across cycles.
    /// A verdict is the mask of rejecting static filters (low 32 bits) and
    /// the index in `static_statuses` of the first one's status (high 32
    /// bits; `NO_STATUS`: ask the plugin again).
    pub verdicts: TemplateCache<u64>,
    /// The statuses of static rejections, each once (at most
    /// `MAX_STATIC_STATUSES`); never shrinks, so cached indexes stay valid.
    pub static_statuses: Vec<Status>,
    pub scores_cache: TemplateCache<i64>,
    /// The weighted sum of the node-local scores without NormalizeScore, per
    /// node, by the set of plugins summed (`Cycle::add_summed_scores`).
    pub summed_cache: TemplateCache<i64>,
    /// The same sums for every node, kept current per key once worth it.
    pub summed_index: SummedIndex,
    /// Which nodes the walk's filters reject, per key (`Cycle::walk`).
    pub fit_index: FitIndex,
    batch: BatchBuffers,
}

/// A cached static verdict without a cached status.
const NO_STATUS: u32 = u32::MAX;

/// A rejected node's status as the filters leave it, in 4 bytes: a static
/// rejection names its interned status in `Buffers::static_statuses`, any
/// other its place in the cycle's `BatchBuffers::owned`. Statuses are
/// cloned (or moved) into the [`Diagnosis`] only if the cycle fails; most
/// cycles find a node and drop the rejections. A batch Job pod on
/// cluster-day leaves ≈ 4,500 rejections per cycle, so they stay small.
#[derive(Clone, Copy)]
struct Rejection(u32);

impl Rejection {
    const OWNED: u32 = 1 << 31;

    fn interned(ix: u32) -> Rejection {
        debug_assert!(ix < Self::OWNED);
        Rejection(ix)
    }

    fn owned(s: Status, owned: &mut Vec<Status>) -> Rejection {
        owned.push(s);
        Rejection(Self::OWNED | (owned.len() - 1) as u32)
    }

    fn take(self, interned: &[Status], owned: &mut [Status]) -> Status {
        if self.0 & Self::OWNED != 0 {
            std::mem::replace(
                &mut owned[(self.0 & !Self::OWNED) as usize],
                Status::SUCCESS,
            )
        } else {
            interned[self.0 as usize].clone()
        }
    }
}

/// A rejection whose status names no plugin (`filter_node` returned none).
const NO_PLUGIN: u32 = u32::MAX;
/// Distinct static rejection statuses kept; past it statuses are asked again.
const MAX_STATIC_STATUSES: usize = 1024;

/// The batch filter's scratch space (see `Cycle::filter_chunk`).
#[derive(Default)]
struct BatchBuffers {
    chunk: Vec<NodeId>,
    /// Nodes of the chunk not rejected yet, their positions in the chunk and
    /// their static filter masks.
    alive: Vec<NodeId>,
    alive_at: Vec<usize>,
    masks: Vec<u32>,
    status_ix: Vec<u32>,
    /// The rejected nodes of the chunk: position, status and plugin
    /// (`NO_PLUGIN`: none), sorted by position once the chunk is filtered;
    /// `is_rejected` by position.
    rejections: Vec<(u32, Rejection, u32)>,
    is_rejected: Vec<bool>,
    /// One filter's rejections among the nodes still standing (positions in
    /// `alive`), and what a batch filter returns before they are moved there.
    rejected: Vec<(u32, Rejection)>,
    from_batch: Vec<(usize, Status)>,
    /// The cycle's rejected nodes so far, turned into `Diagnosis::statuses`
    /// only when no node is feasible, and the statuses they own.
    diagnosed: Vec<(NodeId, Rejection)>,
    owned: Vec<Status>,
    /// Nodes whose cached score is stale, their positions, their scores.
    stale: Vec<NodeId>,
    stale_at: Vec<usize>,
    fresh: Vec<i64>,
    /// The stale nodes' summed scores (`Cycle::add_summed_scores`).
    sums: Vec<i64>,
    /// The table checks of the cycle's walk (`Cycle::walk_plan`).
    fits: Vec<TableFit>,
}

/// `ScorePlugin::score_all` of a node-local plugin through the template's
/// cache: only nodes whose usage changed since are scored.
fn score_cached(
    cx: &CycleContext,
    p: &dyn ScorePlugin,
    state: &State,
    feasible: &[NodeId],
    out: &mut Vec<i64>,
    cache: &mut crate::scheduler::node_table::PerNode<i64>,
    b: &mut BatchBuffers,
) {
    let generation = &cx.table.usage_generation;
    b.stale.clear();
    b.stale_at.clear();
    out.clear();
    out.extend(feasible.iter().enumerate().map(|(j, &n)| {
        let (g, score) = cache[n.idx()];
        if g == generation[n.idx()] {
            score
        } else {
            b.stale.push(n);
            b.stale_at.push(j);
            0
        }
    }));
    if !b.stale.is_empty() {
        b.fresh.clear();
        p.score_all(cx, state, &b.stale, &mut b.fresh);
        for ((&n, &j), &score) in b.stale.iter().zip(&b.stale_at).zip(&b.fresh) {
            out[j] = score;
            cache[n.idx()] = (generation[n.idx()], score);
        }
    }
    #[cfg(debug_assertions)]
    {
        let mut all = Vec::new();
        p.score_all(cx, state, feasible, &mut all);
        assert_eq!(&all, out, "stale cached score");
    }
}

/// What the filters of one cycle share: the context, the PreFilter states,
/// which plugins PreFilter skipped, and which filters are static.
struct FilterRun<'r, 'a> {
    cx: &'r CycleContext<'a>,
    states: &'r [State],
    skip: &'r [bool],
    statics: u32,
}

/// Pods nominated to each node (status.nominatedNodeName), maintained by the scheduler.
pub type Nominated = HashMap<NodeId, Vec<PodId>>;

/// Everything one cycle reads.
pub struct Cycle<'a> {
    pub profile: &'a Profile,
    /// The profile's position in the scheduler (keys the static verdict cache).
    pub profile_index: usize,
    pub world: &'a World,
    pub pod: PodId,
    pub now: Time,
    pub version: KubeVersion,
    pub nodes: &'a [NodeId],
    pub nominated: &'a Nominated,
    pub terms: &'a crate::scheduler::term_index::TermIndex,
    pub labels: &'a crate::scheduler::label_index::LabelIndex,
    pub counts: &'a crate::scheduler::indexes::MatchCounts,
    pub topo: &'a crate::scheduler::indexes::TopologyIndex,
    pub images: &'a crate::scheduler::indexes::ImageIndex,
    pub table: &'a NodeTable,
}

impl<'a> Cycle<'a> {
    pub fn context(&self) -> CycleContext<'a> {
        CycleContext {
            world: self.world,
            pod: self.pod,
            spec: self.world.pod_spec(self.pod),
            nodes: self.nodes,
            version: self.version,
            now: self.now,
            terms: self.terms,
            labels: self.labels,
            counts: self.counts,
            topo: self.topo,
            images: self.images,
            table: self.table,
        }
    }

    /// Run the filters in order on one node view; the first rejection wins.
    pub fn run_filters(
        &self,
        cx: &CycleContext,
        states: &[State],
        skip: &[bool],
        node: &NodeInfo,
    ) -> (Status, Option<usize>) {
        for &i in &self.profile.filter {
            if skip[i] {
                continue;
            }
            let f = self.profile.plugins[i].as_filter().unwrap();
            let s = f.filter(cx, &states[i], node);
            if !s.is_success() {
                return (s, Some(i));
            }
        }
        (Status::SUCCESS, None)
    }

    /// `RunFilterPluginsWithNominatedPods`: with the nominated pods of at least
    /// the pod's priority added to the node, then (if any) without them; both
    /// must pass. `removed` are pods treated as gone (preemption's dry run).
    #[allow(clippy::too_many_arguments)]
    pub fn filter_node(
        &self,
        cx: &CycleContext,
        states: &[State],
        skip: &[bool],
        node: NodeId,
        removed: &[PodId],
        added: &mut Vec<PodId>,
        requested: &mut Resources,
    ) -> (Status, Option<usize>) {
        let world = self.world;
        let n = world.node(node);
        added.clear();
        if !self.nominated.is_empty()
            && let Some(noms) = self.nominated.get(&node)
        {
            let prio = cx.spec.priority;
            added.extend(noms.iter().copied().filter(|&p| {
                let q = world.pod(p);
                p != self.pod
                    && !q.deleted
                    && q.node.is_none()
                    && world.pod_spec(p).priority >= prio
            }));
        }
        let base = |requested: &mut Resources| {
            requested.clone_from(&n.requested);
            let mut nz = n.nonzero_requested;
            for &p in removed {
                let s = world.pod_spec(p);
                requested.sub(&s.requests);
                nz.0 -= s.nonzero_milli_cpu;
                nz.1 -= s.nonzero_memory;
            }
            nz
        };
        if !added.is_empty() {
            let mut nz = base(requested);
            for &p in added.iter() {
                let s = world.pod_spec(p);
                requested.add(&s.requests);
                nz.0 += s.nonzero_milli_cpu;
                nz.1 += s.nonzero_memory;
            }
            let view = NodeInfo {
                id: node,
                node: n,
                requested,
                nonzero_requested: nz,
                num_pods: (n.pods.len() - removed.len() + added.len()) as i64,
                added,
                removed,
            };
            let r = self.run_filters(cx, states, skip, &view);
            if !r.0.is_success() {
                return r;
            }
        }
        if removed.is_empty() {
            return self.run_filters(cx, states, skip, &NodeInfo::of(world, node));
        }
        let nz = base(requested);
        let view = NodeInfo {
            id: node,
            node: n,
            requested,
            nonzero_requested: nz,
            num_pods: (n.pods.len() - removed.len()) as i64,
            added: &[],
            removed,
        };
        self.run_filters(cx, states, skip, &view)
    }

    /// Bit k set: the k-th plugin of the profile's filter list is static
    /// ([`FilterPlugin::is_static`]). 0 (no caching) past 32 filters.
    fn static_filters(&self) -> u32 {
        if self.profile.filter.len() > 32 {
            return 0;
        }
        let mut bits = 0;
        for (k, &i) in self.profile.filter.iter().enumerate() {
            if self.profile.plugins[i].as_filter().unwrap().is_static() {
                bits |= 1 << k;
            }
        }
        bits
    }

    /// Which static filters reject `node` (bit k: the k-th filter of the
    /// profile), and the status of the first of them.
    fn static_mask(&self, run: &FilterRun, node: NodeId) -> (u32, Option<Status>) {
        let info = NodeInfo::of(self.world, node);
        let mut mask = 0;
        let mut first = None;
        for (k, &i) in self.profile.filter.iter().enumerate() {
            if run.statics & (1 << k) != 0 {
                let f = self.profile.plugins[i].as_filter().unwrap();
                let s = f.filter(run.cx, &run.states[i], &info);
                if !s.is_success() {
                    mask |= 1 << k;
                    first.get_or_insert(s);
                }
            }
        }
        (mask, first)
    }

    /// `static_mask` as a cached verdict, the status interned in `statuses`.
    fn static_verdict(&self, run: &FilterRun, node: NodeId, statuses: &mut Vec<Status>) -> u64 {
        let (mask, first) = self.static_mask(run, node);
        let ix = match first {
            None => NO_STATUS,
            Some(s) => match statuses.iter().position(|x| *x == s) {
                Some(ix) => ix as u32,
                None if statuses.len() < MAX_STATIC_STATUSES => {
                    statuses.push(s);
                    (statuses.len() - 1) as u32
                }
                None => NO_STATUS,
            },
        };
        u64::from(mask) | u64::from(ix) << 32
    }

    /// `node`'s static verdict from the template's `cache`, computed (and
    /// its status interned in `statuses`) when the node changed since.
    /// The hit (one compare per node) is inlined into the loops over the
    /// nodes; the refresh is not, so that the loops stay small.
    #[inline(always)]
    fn cached_verdict(
        &self,
        run: &FilterRun,
        cache: &mut crate::scheduler::node_table::PerNode<u64>,
        node: NodeId,
        statuses: &mut Vec<Status>,
    ) -> u64 {
        let generation = run.cx.table.generation[node.idx()];
        let e = &mut cache[node.idx()];
        let v = if e.0 == generation {
            e.1
        } else {
            self.refresh_verdict(run, e, generation, node, statuses)
        };
        debug_assert_eq!(
            v as u32,
            self.static_mask(run, node).0,
            "stale static verdict"
        );
        v
    }

    /// `cached_verdict`'s miss: the verdict computed and stored in `e`.
    #[cold]
    #[inline(never)]
    fn refresh_verdict(
        &self,
        run: &FilterRun,
        e: &mut (u64, u64),
        generation: u64,
        node: NodeId,
        statuses: &mut Vec<Status>,
    ) -> u64 {
        *e = (generation, self.static_verdict(run, node, statuses));
        e.1
    }

    /// `filter_chunk`'s first step when pods are nominated: a node with
    /// nominated pods is filtered on its own (with them added), the others
    /// are left standing for the batch filters.
    fn filter_nominated(
        &self,
        run: &FilterRun,
        b: &mut BatchBuffers,
        added: &mut Vec<PodId>,
        requested: &mut Resources,
    ) {
        for (j, &n) in b.chunk.iter().enumerate() {
            if self.nominated.contains_key(&n) {
                let (s, by) =
                    self.filter_node(run.cx, run.states, run.skip, n, &[], added, requested);
                if !s.is_success() {
                    let r = Rejection::owned(s, &mut b.owned);
                    let by = by.map_or(NO_PLUGIN, |i| i as u32);
                    b.rejections.push((j as u32, r, by));
                    b.is_rejected[j] = true;
                }
            } else {
                b.alive.push(n);
                b.alive_at.push(j);
            }
        }
    }

    /// Filter the nodes of `batch.chunk`, leaving in `batch.rejections` (in
    /// chunk order) the status and plugin of each node's first rejection, exactly as
    /// [`filter_node`](Self::filter_node) node by node would: nodes with
    /// nominated pods go through it; the others go plugin by plugin over the
    /// nodes still standing, static filters answered from the template's
    /// cached verdicts, the others through `FilterPlugin::filter_batch`.
    fn filter_chunk(
        &self,
        run: &FilterRun,
        verdicts: &mut TemplateCache<u64>,
        statuses: &mut Vec<Status>,
        batch: &mut BatchBuffers,
        added: &mut Vec<PodId>,
        requested: &mut Resources,
    ) {
        let world = self.world;
        let b = batch;
        b.rejections.clear();
        b.is_rejected.clear();
        b.is_rejected.resize(b.chunk.len(), false);
        b.alive.clear();
        b.alive_at.clear();
        #[cfg(debug_assertions)]
        for &n in &b.chunk {
            assert!(run.cx.table.agrees(world, n), "node table out of date");
        }
        if self.nominated.is_empty() {
            b.alive.extend_from_slice(&b.chunk);
            b.alive_at.extend(0..b.chunk.len());
        } else {
            self.filter_nominated(run, b, added, requested);
        }
        b.masks.clear();
        b.status_ix.clear();
        if run.statics != 0 && !b.alive.is_empty() {
            let class = world.spec_class[run.cx.spec_id().idx()];
            let cache = verdicts.of(self.profile_index, class, 0, run.cx.table);
            for &n in &b.alive {
                let v = self.cached_verdict(run, cache, n, statuses);
                b.masks.push(v as u32);
                b.status_ix.push((v >> 32) as u32);
            }
        } else {
            b.masks.resize(b.alive.len(), 0);
            b.status_ix.resize(b.alive.len(), NO_STATUS);
        }
        // The static filters that reject some node of the chunk.
        let static_rejects = b.masks.iter().fold(0, |acc, m| acc | m);
        for (k, &i) in self.profile.filter.iter().enumerate() {
            if b.alive.is_empty() {
                break;
            }
            let is_static = run.statics & (1 << k) != 0;
            if run.skip[i] || (is_static && static_rejects & (1 << k) == 0) {
                continue;
            }
            let f = self.profile.plugins[i].as_filter().unwrap();
            b.rejected.clear();
            if is_static {
                for (a, &n) in b.alive.iter().enumerate() {
                    if b.masks[a] & (1 << k) != 0 {
                        // The verdict keeps the status of the first static
                        // filter that rejects the node; a filter before k
                        // may have been skipped for this pod.
                        let ix = b.status_ix[a];
                        let r = if ix == NO_STATUS || b.masks[a].trailing_zeros() != k as u32 {
                            let s = f.filter(run.cx, &run.states[i], &NodeInfo::of(world, n));
                            Rejection::owned(s, &mut b.owned)
                        } else {
                            debug_assert_eq!(
                                statuses[ix as usize],
                                f.filter(run.cx, &run.states[i], &NodeInfo::of(world, n)),
                                "stale static status"
                            );
                            Rejection::interned(ix)
                        };
                        b.rejected.push((a as u32, r));
                    }
                }
            } else {
                b.from_batch.clear();
                f.filter_batch(run.cx, &run.states[i], &b.alive, &mut b.from_batch);
                for (a, s) in b.from_batch.drain(..) {
                    b.rejected
                        .push((a as u32, Rejection::owned(s, &mut b.owned)));
                }
            }
            if b.rejected.is_empty() {
                continue;
            }
            // Record the rejections and keep the rest, in order.
            let mut next = b.rejected.iter().copied().peekable();
            let mut keep = 0;
            for a in 0..b.alive.len() {
                if next.peek().is_some_and(|&(r, _)| r as usize == a) {
                    let (_, r) = next.next().unwrap();
                    b.rejections.push((b.alive_at[a] as u32, r, i as u32));
                    b.is_rejected[b.alive_at[a]] = true;
                } else {
                    b.alive[keep] = b.alive[a];
                    b.alive_at[keep] = b.alive_at[a];
                    b.masks[keep] = b.masks[a];
                    b.status_ix[keep] = b.status_ix[a];
                    keep += 1;
                }
            }
            b.alive.truncate(keep);
            b.alive_at.truncate(keep);
            b.masks.truncate(keep);
            b.status_ix.truncate(keep);
        }
        // Plugin by plugin found them out of order; positions are unique.
        b.rejections.sort_unstable_by_key(|r| r.0);
    }

    /// Whether this cycle's filters can run as one walk over the nodes
    /// ([`walk`](Self::walk)): no pod is nominated anywhere, and every filter
    /// not skipped is either static with a cached verdict (bit k of `statics`)
    /// or a table check ([`FilterPlugin::table_fit`], pushed to `fits`).
    /// `Some` holds the static filters that count (bit k: the k-th filter).
    fn walk_plan(&self, run: &FilterRun, fits: &mut Vec<TableFit>) -> Option<u32> {
        if !self.nominated.is_empty() {
            return None;
        }
        fits.clear();
        let mut active = 0;
        for (k, &i) in self.profile.filter.iter().enumerate() {
            if run.skip[i] {
                continue;
            }
            if k < 32 && run.statics & (1 << k) != 0 {
                active |= 1 << k;
                continue;
            }
            let f = self.profile.plugins[i].as_filter().unwrap();
            fits.push(f.table_fit(run.cx, &run.states[i])?);
        }
        Some(active)
    }

    /// The filters as one loop over the candidates from `at`, wrapping: a
    /// node passes when no static filter of `active` rejects it (the
    /// template's cached verdict) and no table check of `fits` does. Stops,
    /// as examining nodes one by one does, when `num_to_find` nodes passed
    /// or every candidate was examined; returns how many were. Decides as
    /// `filter_chunk` does, but keeps no status: a cycle that finds no node
    /// asks `filter_chunk` for them.
    ///
    /// A walk over every node (`whole`: no PreFilter subset) whose key has
    /// been walked enough reads the verdicts from the key's [`FitIndex`]
    /// entry instead, brought up to date with the nodes changed since.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        run: &FilterRun,
        active: u32,
        fits: &[TableFit],
        verdicts: &mut TemplateCache<u64>,
        statuses: &mut Vec<Status>,
        fit_index: &mut FitIndex,
        whole: bool,
        candidates: &[NodeId],
        at: usize,
        num_to_find: usize,
        feasible: &mut Vec<NodeId>,
    ) -> usize {
        let t = run.cx.table;
        let class = self.world.spec_class[run.cx.spec_id().idx()];
        let mut cache = (active != 0).then(|| verdicts.of(self.profile_index, class, 0, t));
        let want = num_to_find.min(candidates.len());
        let mut entry = whole.then(|| fit_index.entry(self.profile_index, class, active, fits));
        if let Some(e) = entry.as_deref_mut()
            && e.refresh(t, |i| {
                let verdict = cache.as_deref_mut().map_or(0, |c| {
                    self.cached_verdict(run, c, NodeId(i as u32), statuses)
                });
                verdict as u32 & active != 0 || fits.iter().any(|f| f.rejects(t, i))
            })
        {
            return self.walk_indexed(run, e, candidates, at, want, feasible);
        }
        // One table check (a pod with requests) is the common case.
        let (fit, more) = match fits {
            [] => (None, &[][..]),
            [f, more @ ..] => (Some(*f), more),
        };
        // Passing nodes are written at `found` (a local, not the vector's
        // length) into room made beforehand.
        let base = feasible.len();
        feasible.resize(base + want, NodeId(0));
        let out = &mut feasible[base..];
        let (mut found, mut seen) = (0, 0);
        'walk: for segment in [&candidates[at..], &candidates[..at]] {
            for &n in segment {
                seen += 1;
                let i = n.idx();
                #[cfg(debug_assertions)]
                assert!(t.agrees(self.world, n), "node table out of date");
                let mut pass = true;
                if let Some(cache) = cache.as_deref_mut() {
                    pass = self.cached_verdict(run, cache, n, statuses) as u32 & active == 0;
                }
                pass = pass
                    && !fit.is_some_and(|f| f.rejects(t, i))
                    && !more.iter().any(|f| f.rejects(t, i));
                debug_assert_eq!(
                    pass,
                    self.run_filters(run.cx, run.states, run.skip, &NodeInfo::of(self.world, n))
                        .0
                        .is_success(),
                    "the walk decided otherwise than the filters"
                );
                if pass {
                    out[found] = n;
                    found += 1;
                    if found == want {
                        break 'walk;
                    }
                }
            }
        }
        feasible.truncate(base + found);
        if let Some(e) = entry {
            e.kept.looked += seen;
        }
        seen
    }

    /// `walk` with each node's verdict read from an up-to-date [`FitEntry`]:
    /// with no node rejected, the sample is the next `want` candidates.
    fn walk_indexed(
        &self,
        run: &FilterRun,
        e: &FitEntry,
        candidates: &[NodeId],
        at: usize,
        want: usize,
        feasible: &mut Vec<NodeId>,
    ) -> usize {
        let base = feasible.len();
        let seen = if e.count == 0 {
            let first = want.min(candidates.len() - at);
            feasible.extend_from_slice(&candidates[at..at + first]);
            feasible.extend_from_slice(&candidates[..want - first]);
            want
        } else {
            let mut seen = 0;
            'walk: for segment in [&candidates[at..], &candidates[..at]] {
                for &n in segment {
                    seen += 1;
                    if !e.rejected[n.idx()] {
                        feasible.push(n);
                        if feasible.len() - base == want {
                            break 'walk;
                        }
                    }
                }
            }
            seen
        };
        #[cfg(debug_assertions)]
        for k in 0..seen {
            let n = candidates[(at + k) % candidates.len()];
            assert!(run.cx.table.agrees(self.world, n), "node table out of date");
            assert_eq!(
                !e.rejected[n.idx()],
                self.run_filters(run.cx, run.states, run.skip, &NodeInfo::of(self.world, n))
                    .0
                    .is_success(),
                "the fit index decided otherwise than the filters"
            );
        }
        let _ = run;
        seen
    }

    /// Add to `totals` the weighted scores of the node-local plugins of
    /// `summed` (bit k: the k-th of the profile's score list) whose
    /// NormalizeScore changes nothing, summed per node and cached as one
    /// value per node for the template (valid until the node's usage
    /// changes): one read per node instead of one per plugin.
    #[allow(clippy::too_many_arguments)]
    fn add_summed_scores(
        &self,
        cx: &CycleContext,
        states: &[State],
        summed: u32,
        feasible: &[NodeId],
        totals: &mut [i64],
        cache: &mut crate::scheduler::node_table::PerNode<i64>,
        b: &mut BatchBuffers,
    ) {
        let generation: &[u64] = &cx.table.usage_generation;
        b.stale.clear();
        b.stale_at.clear();
        {
            // Slices in locals: the loop reloads no base pointer.
            let entries: &[(u64, i64)] = cache;
            let (stale, stale_at) = (&mut b.stale, &mut b.stale_at);
            for (j, (&n, t)) in feasible.iter().zip(totals.iter_mut()).enumerate() {
                let (g, sum) = entries[n.idx()];
                if g == generation[n.idx()] {
                    *t += sum;
                } else {
                    stale.push(n);
                    stale_at.push(j);
                }
            }
        }
        if !b.stale.is_empty() {
            b.sums.clear();
            b.sums.resize(b.stale.len(), 0);
            self.sum_scores(cx, states, summed, &b.stale, &mut b.sums, &mut b.fresh);
            for ((&n, &j), &sum) in b.stale.iter().zip(&b.stale_at).zip(&b.sums) {
                totals[j] += sum;
                cache[n.idx()] = (generation[n.idx()], sum);
            }
        }
        #[cfg(debug_assertions)]
        {
            let mut all = vec![0; feasible.len()];
            self.sum_scores(cx, states, summed, feasible, &mut all, &mut Vec::new());
            let now: Vec<_> = feasible.iter().map(|&n| cache[n.idx()].1).collect();
            assert_eq!(all, now, "stale summed score");
        }
    }

    /// `add_summed_scores` from the key's [`SummedIndex`] entry, brought up
    /// to date with the nodes changed since: one read per feasible node.
    /// `false` (and nothing added) while the entry is not kept.
    #[allow(clippy::too_many_arguments)]
    fn add_kept_sums(
        &self,
        cx: &CycleContext,
        states: &[State],
        summed: u32,
        feasible: &[NodeId],
        totals: &mut [i64],
        e: &mut SummedEntry,
        b: &mut BatchBuffers,
    ) -> bool {
        let t = cx.table;
        b.stale.clear();
        match e.kept.refresh(t, e.sums.len()) {
            Refresh::NotKept => return false,
            Refresh::Nodes(changed) => b.stale.extend(changed.iter().map(|&i| NodeId(i))),
            Refresh::All => {
                let n = t.generation.len();
                e.sums.clear();
                e.sums.resize(n, 0);
                b.stale.extend((0..n).map(|i| NodeId(i as u32)));
            }
        }
        if !b.stale.is_empty() {
            b.sums.clear();
            b.sums.resize(b.stale.len(), 0);
            self.sum_scores(cx, states, summed, &b.stale, &mut b.sums, &mut b.fresh);
            for (&n, &sum) in b.stale.iter().zip(&b.sums) {
                e.sums[n.idx()] = sum;
            }
        }
        let sums: &[i64] = &e.sums;
        for (total, &n) in totals.iter_mut().zip(feasible) {
            *total += sums[n.idx()];
        }
        #[cfg(debug_assertions)]
        {
            let mut want = vec![0; feasible.len()];
            self.sum_scores(cx, states, summed, feasible, &mut want, &mut Vec::new());
            let got: Vec<i64> = feasible.iter().map(|&n| sums[n.idx()]).collect();
            assert_eq!(got, want, "stale kept summed score");
        }
        true
    }

    /// Per node of `nodes`, the weighted, clamped scores of the plugins of
    /// `summed` added to `sums`.
    fn sum_scores(
        &self,
        cx: &CycleContext,
        states: &[State],
        summed: u32,
        nodes: &[NodeId],
        sums: &mut [i64],
        fresh: &mut Vec<i64>,
    ) {
        for (k, &(i, weight)) in self.profile.score.iter().enumerate() {
            if k >= 32 || summed & (1 << k) == 0 {
                continue;
            }
            let p = self.profile.plugins[i].as_score().unwrap();
            fresh.clear();
            p.score_all(cx, &states[i], nodes, fresh);
            for (sum, &s) in sums.iter_mut().zip(fresh.iter()) {
                *sum += s.clamp(0, MAX_NODE_SCORE) * weight;
            }
        }
    }

    /// Take a filtered chunk's result: its nodes that passed onto
    /// `feasible`, its rejected ones (and the plugins that rejected them, in
    /// order of first rejection) into the diagnosis.
    fn absorb_chunk(
        &self,
        batch: &mut BatchBuffers,
        feasible: &mut Vec<NodeId>,
        diag: &mut Diagnosis,
    ) {
        if batch.rejections.is_empty() {
            feasible.extend_from_slice(&batch.chunk);
            return;
        }
        feasible.extend(
            batch
                .chunk
                .iter()
                .zip(&batch.is_rejected)
                .filter(|&(_, &r)| !r)
                .map(|(&n, _)| n),
        );
        let mut last = NO_PLUGIN;
        for &(j, r, by) in &batch.rejections {
            if by != last && by != NO_PLUGIN {
                last = by;
                let name = self.profile.plugin_name(by as usize);
                if !diag.rejectors.contains(&name) {
                    diag.rejectors.push(name);
                }
            }
            batch.diagnosed.push((batch.chunk[j as usize], r));
        }
    }

    /// Run PreFilter; `Err` carries the rejecting status (every node gets it).
    pub fn pre_filter(&self, cx: &CycleContext, bufs: &mut Buffers) -> Result<(), (Status, usize)> {
        let n = self.profile.plugins.len();
        bufs.states.resize_with(n, State::default);
        bufs.skip_filter.clear();
        bufs.skip_filter.resize(n, false);
        bufs.subset = None;
        let mut names: Option<Vec<String>> = None;
        let mut restricting: Vec<&'static str> = Vec::new();
        for &i in &self.profile.pre_filter {
            let p = self.profile.plugins[i].as_pre_filter().unwrap();
            let s = p.pre_filter(cx, &mut bufs.states[i]);
            match s.code {
                Code::Success => {}
                Code::Skip => {
                    bufs.skip_filter[i] = true;
                    continue;
                }
                _ => return Err((s, i)),
            }
            if let Some(set) = p.node_names(cx, &bufs.states[i]) {
                restricting.push(self.profile.plugin_name(i));
                names = Some(match names {
                    None => set,
                    Some(prev) => prev.into_iter().filter(|n| set.contains(n)).collect(),
                });
                if names.as_ref().is_some_and(|n| n.is_empty()) {
                    let msg = if restricting.len() == 1 {
                        format!("node(s) didn't satisfy plugin {}", restricting[0])
                    } else {
                        format!(
                            "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                            restricting.join(" ")
                        )
                    };
                    return Err((Status::unresolvable(msg), i));
                }
            }
        }
        if let Some(names) = names {
            // Names to ids once, then integer compares over the node list
            // (kept in its order): a DaemonSet pod names one node of many.
            let mut ids: Vec<NodeId> = names
                .iter()
                .filter_map(|x| self.world.node_by_name(x))
                .collect();
            ids.sort_unstable();
            let subset = self
                .nodes
                .iter()
                .copied()
                .filter(|n| ids.binary_search(n).is_ok())
                .collect();
            restricting.sort();
            bufs.subset = Some((subset, restricting));
        }
        Ok(())
    }

    /// `schedulePod`. `start` is the scheduler's `nextStartNodeIndex`, advanced
    /// here; `rng` draws the tie-break. With `record`, scores are kept for explain.
    pub fn schedule(
        &self,
        rng: &mut SimRng,
        start: &mut usize,
        bufs: &mut Buffers,
        mut record: Option<&mut ScoreRecord>,
    ) -> Decision {
        let cx = self.context();
        let num_all = self.nodes.len();
        let mut diag = Diagnosis {
            num_all_nodes: num_all,
            ..Default::default()
        };
        if num_all == 0 {
            diag.pre_filter_msg = "no nodes available to schedule pods".into();
            return Decision::Unschedulable(diag);
        }
        if let Err((s, i)) = self.pre_filter(&cx, bufs) {
            diag.pre_filter_msg = s.message();
            diag.absent = Some(s);
            diag.rejectors.push(self.profile.plugin_name(i));
            return Decision::Unschedulable(diag);
        }
        let Buffers {
            states,
            skip_filter,
            skip_score,
            feasible,
            scores,
            totals,
            added,
            requested,
            subset,
            verdicts,
            static_statuses,
            scores_cache,
            summed_cache,
            summed_index,
            fit_index,
            batch,
        } = bufs;
        let whole = subset.is_none();
        // Nodes outside a PreFilter result are unresolvable, without filtering.
        let candidates: &[NodeId] = match subset {
            Some((nodes, plugins)) => {
                diag.absent = Some(Status::unresolvable(format!(
                    "node(s) didn't satisfy plugin(s) [{}]",
                    plugins.join(" ")
                )));
                nodes
            }
            None => self.nodes,
        };
        let num_candidates = candidates.len();
        batch.diagnosed.clear();
        batch.owned.clear();

        // A nominated node is tried first; if it passes, it is the only candidate.
        let pod = self.world.pod(self.pod);
        if let Some(nn) = pod.nominated_node
            && candidates.contains(&nn)
        {
            let (s, _) = self.filter_node(&cx, states, skip_filter, nn, &[], added, requested);
            if s.is_success() {
                if let Some(r) = record.as_deref_mut() {
                    r.feasible = vec![nn];
                    r.evaluated = vec![nn];
                    r.ties = vec![nn];
                    r.num_to_find = 1;
                }
                return Decision::Bind(nn);
            }
        }

        let mut num_to_find = num_feasible_nodes_to_find(
            self.profile.percentage_of_nodes_to_score,
            num_candidates as i32,
        ) as usize;
        if self.profile.score.is_empty() {
            num_to_find = 1;
        }
        feasible.clear();
        let mut processed = 0;
        // The index wraps without a division per node.
        let mut at = *start % num_candidates;
        // A PreFilter that names the nodes (a DaemonSet pod's one node) leaves
        // too few for a per-template cache to pay for its per-node arrays.
        let statics = if num_candidates < self.nodes.len() {
            0
        } else {
            self.static_filters()
        };
        let filters = FilterRun {
            cx: &cx,
            states,
            skip: skip_filter,
            statics,
        };
        if let Some(active) = self.walk_plan(&filters, &mut batch.fits) {
            let first = at;
            processed = self.walk(
                &filters,
                active,
                &batch.fits,
                verdicts,
                static_statuses,
                fit_index,
                whole,
                candidates,
                at,
                num_to_find,
                feasible,
            );
            at = (at + processed) % num_candidates;
            if feasible.is_empty() {
                // Every candidate was rejected: their statuses, as the
                // chunks below would have found them.
                batch.chunk.clear();
                batch.chunk.extend_from_slice(&candidates[first..]);
                batch.chunk.extend_from_slice(&candidates[..first]);
                self.filter_chunk(&filters, verdicts, static_statuses, batch, added, requested);
                self.absorb_chunk(batch, feasible, &mut diag);
            }
        }
        while processed < num_candidates && feasible.len() < num_to_find {
            // Exactly as many nodes as are still wanted: if all pass, the
            // sample ends where examining nodes one by one would stop.
            let take = (num_to_find - feasible.len()).min(num_candidates - processed);
            batch.chunk.clear();
            // `take` nodes from `at`, wrapping once at most.
            let first = take.min(num_candidates - at);
            batch.chunk.extend_from_slice(&candidates[at..at + first]);
            batch.chunk.extend_from_slice(&candidates[..take - first]);
            at = (at + take) % num_candidates;
            processed += take;
            self.filter_chunk(&filters, verdicts, static_statuses, batch, added, requested);
            self.absorb_chunk(batch, feasible, &mut diag);
        }
        if let Some(r) = record.as_deref_mut() {
            r.num_to_find = num_to_find;
            r.evaluated = (0..processed)
                .map(|i| candidates[(*start + i) % num_candidates])
                .collect();
        }
        *start = (*start + processed) % num_all;

        if feasible.is_empty() {
            let owned = &mut batch.owned;
            diag.statuses = batch
                .diagnosed
                .iter()
                .map(|&(n, r)| (n, r.take(static_statuses, owned)))
                .collect();
            return Decision::Unschedulable(diag);
        }
        if feasible.len() == 1 {
            if let Some(r) = record {
                r.feasible = feasible.clone();
                r.ties = feasible.clone();
            }
            return Decision::Bind(feasible[0]);
        }

        // PreScore, Score, NormalizeScore, weights.
        let n = self.profile.plugins.len();
        skip_score.clear();
        skip_score.resize(n, false);
        for &i in &self.profile.pre_score {
            let p = self.profile.plugins[i].as_pre_score().unwrap();
            if p.pre_score(&cx, &mut states[i], feasible).code == Code::Skip {
                skip_score[i] = true;
            }
        }
        totals.clear();
        if self.profile.score.is_empty() {
            totals.resize(feasible.len(), 1);
        } else {
            totals.resize(feasible.len(), 0);
        }
        scores.resize_with(self.profile.score.len(), Vec::new);
        if let Some(r) = record.as_deref_mut() {
            r.feasible = feasible.clone();
            r.raw.clear();
            r.normalized.clear();
        }
        // Without a record, the node-local plugins that normalise nothing
        // are summed through one cache, and plugins uniform this cycle are
        // left out (a constant moves no node in the ranking).
        let fast = record.is_none();
        let mut summed = 0u32;
        for (k, &(i, weight)) in self.profile.score.iter().enumerate() {
            let out = &mut scores[k];
            out.clear();
            if skip_score[i] {
                if let Some(r) = record.as_deref_mut() {
                    out.resize(feasible.len(), 0);
                    r.skipped.push(self.profile.plugin_name(i));
                    r.raw.push(out.clone());
                    r.normalized.push(out.clone());
                }
                continue;
            }
            let p = self.profile.plugins[i].as_score().unwrap();
            if fast && k < 32 && p.is_node_local() && p.normalize_is_identity() {
                summed |= 1 << k;
                continue;
            }
            if fast && p.is_uniform(&cx, &states[i]) {
                #[cfg(debug_assertions)]
                {
                    let mut col = Vec::new();
                    p.score_all(&cx, &states[i], feasible, &mut col);
                    p.normalize(&cx, &states[i], feasible, &mut col);
                    assert!(
                        col.windows(2).all(|w| w[0] == w[1]),
                        "a uniform score varies"
                    );
                }
                continue;
            }
            if p.is_node_local() {
                let class = self.world.spec_class[cx.spec_id().idx()];
                let cache = scores_cache.of(self.profile_index, class, k, self.table);
                score_cached(&cx, p, &states[i], feasible, out, cache, batch);
            } else {
                p.score_all(&cx, &states[i], feasible, out);
            }
            if let Some(r) = record.as_deref_mut() {
                r.raw.push(out.clone());
            }
            if let Some(r) = record.as_deref_mut() {
                p.normalize(&cx, &states[i], feasible, out);
                r.normalized.push(out.clone());
                add_weighted(out, weight, totals);
            } else {
                p.normalize_into(&cx, &states[i], feasible, out, weight, totals);
            }
        }

        if summed != 0 {
            let class = self.world.spec_class[cx.spec_id().idx()];
            let e = summed_index.entry(self.profile_index, class, summed);
            if !self.add_kept_sums(&cx, states, summed, feasible, totals, e, batch) {
                let cache = summed_cache.of(self.profile_index, class, summed as usize, self.table);
                self.add_summed_scores(&cx, states, summed, feasible, totals, cache, batch);
                e.kept.looked += feasible.len();
            }
        }

        // Uniform choice among the best (`selectHost`, reservoir sampling).
        let mut best = 0;
        let mut count = 0u32;
        let mut top = i64::MIN;
        for (j, &t) in totals.iter().enumerate() {
            if t > top {
                top = t;
                best = j;
                count = 1;
            } else if t == top {
                count += 1;
                if rng.random_range(0..count) == 0 {
                    best = j;
                }
            }
        }
        if let Some(r) = record {
            r.totals = totals.clone();
            r.ties = feasible
                .iter()
                .zip(totals.iter())
                .filter(|&(_, &t)| t == top)
                .map(|(&n, _)| n)
                .collect();
        }
        Decision::Bind(feasible[best])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentage_of_nodes_to_score_adaptive() {
        // < 100 nodes: all of them.
        assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
        // 100 nodes: 50 - 100/125 = 50% → 50, raised to the minimum 100.
        assert_eq!(num_feasible_nodes_to_find(None, 100), 100);
        // 500: 50 - 4 = 46% → 230.
        assert_eq!(num_feasible_nodes_to_find(None, 500), 230);
        // 1000: 50 - 8 = 42% → 420.
        assert_eq!(num_feasible_nodes_to_find(None, 1000), 420);
        // 5000: 50 - 40 = 10% → 500.
        assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
        // 6000: 50 - 48 = 2% → clamped to 5% → 300.
        assert_eq!(num_feasible_nodes_to_find(None, 6000), 300);
        // Explicit 100% and 0 (= adaptive).
        assert_eq!(num_feasible_nodes_to_find(Some(100), 5000), 5000);
        assert_eq!(num_feasible_nodes_to_find(Some(0), 5000), 500);
        // Explicit 1% of 5000 = 50 → raised to 100.
        assert_eq!(num_feasible_nodes_to_find(Some(1), 5000), 100);
    }

    fn st(code: Code, reasons: &[&'static str]) -> Status {
        Status {
            code,
            reasons: reasons.iter().map(|&r| r.into()).collect(),
        }
    }

    #[test]
    fn fit_error_histogram_sorted_as_strings() {
        let d = Diagnosis {
            num_all_nodes: 5,
            statuses: vec![
                (NodeId(0), st(Code::Unschedulable, &["Insufficient cpu"])),
                (
                    NodeId(1),
                    st(
                        Code::Unschedulable,
                        &["Insufficient cpu", "Insufficient memory"],
                    ),
                ),
                (
                    NodeId(2),
                    st(
                        Code::UnschedulableAndUnresolvable,
                        &["node(s) had untolerated taint {dedicated: gpu}"],
                    ),
                ),
                (
                    NodeId(3),
                    st(
                        Code::UnschedulableAndUnresolvable,
                        &["node(s) had untolerated taint {dedicated: gpu}"],
                    ),
                ),
                (
                    NodeId(4),
                    st(
                        Code::UnschedulableAndUnresolvable,
                        &["node(s) had untolerated taint {dedicated: gpu}"],
                    ),
                ),
            ],
            ..Default::default()
        };
        assert_eq!(
            d.message(),
            "0/5 nodes are available: 1 Insufficient memory, 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}."
        );
    }

    #[test]
    fn fit_error_with_prefilter_and_postfilter() {
        let d = Diagnosis {
            num_all_nodes: 3,
            pre_filter_msg: "node(s) didn't satisfy plugin(s) [NodeAffinity]".into(),
            post_filter_msg:
                "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
                    .into(),
            ..Default::default()
        };
        assert_eq!(
            d.message(),
            "0/3 nodes are available: node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
        );
        // Absent nodes count with the absent status; "10 …" sorts before "2 …".
        let d = Diagnosis {
            num_all_nodes: 12,
            statuses: vec![
                (NodeId(0), st(Code::Unschedulable, &["Too many pods"])),
                (NodeId(1), st(Code::Unschedulable, &["Too many pods"])),
            ],
            absent: Some(st(
                Code::UnschedulableAndUnresolvable,
                &["Preemption is not helpful for scheduling"],
            )),
            ..Default::default()
        };
        assert_eq!(
            d.message(),
            "0/12 nodes are available: 10 Preemption is not helpful for scheduling, 2 Too many pods."
        );
    }
}
