//! PodTopologySpread: `DoNotSchedule` constraints filter by skew,
//! `ScheduleAnyway` constraints (and the system defaults for a pod without
//! constraints) score by matching pods per domain.
//!
//! Follows pkg/scheduler/framework/plugins/podtopologyspread/{plugin,common,
//! filtering,scoring}.go and plugins/helper/spread.go (`DefaultSelector`) (v1.35):
//! - counted pods: same namespace, selector matches, not terminating;
//! - nodes count toward domains if they have every constraint's key and pass
//!   nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore);
//! - filter: `matchNum + selfMatch - minMatch > maxSkew` rejects, `minMatch` 0
//!   when there are fewer domains than `minDomains`;
//! - score: `round(Σ cnt × ln(domains + 2) + maxSkew - 1)`, normalised as
//!   `100 × (max + min - s) / max`, nodes lacking a key scoring 0.
//!
//! Simplification: the global minimum is kept per constraint (upstream keys it
//! by topology key, which differs only when two constraints share a key).

use std::cell::{Cell, Ref, RefCell};
use std::sync::Arc;

use crate::model::labels::Labels;
use crate::model::labels::{LabelSelector, Operator, Requirement};
use crate::model::taints::{find_untolerated, is_do_not_schedule};
use crate::model::{
    HOSTNAME_LABEL, InclusionPolicy, Node, NodeId, Owner, PodId, PodSpec, TopologySpreadConstraint,
    UnsatisfiableAction, World, ZONE_LABEL,
};
use crate::scheduler::framework::*;
use crate::scheduler::indexes::{KeyId, NONE, SelId};
use crate::scheduler::plugins::node_affinity::required_matches;
use crate::scheduler::profiles::SpreadDefaults;
use UnsatisfiableAction::{DoNotSchedule, ScheduleAnyway};

pub const NAME: &str = "PodTopologySpread";
/// `ErrReasonConstraintsNotMatch`.
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
/// `ErrReasonNodeLabelNotMatch`.
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

pub struct PodTopologySpread {
    pub defaults: SpreadDefaults,
}

/// A constraint ready to count with: the selector with matchLabelKeys merged,
/// its key and selector as tracked ids, and what the pod's template alone
/// decides about it.
#[derive(Clone, Debug, PartialEq)]
struct Constraint {
    max_skew: i64,
    key: String,
    /// The key is `kubernetes.io/hostname`: counts are read per node.
    hostname: bool,
    selector: Option<LabelSelector>,
    min_domains: i64,
    affinity_policy: InclusionPolicy,
    taints_policy: InclusionPolicy,
    /// `included` can reject a node for this pod (see `may_exclude`).
    check: bool,
    /// The selector matches the pod's own labels (Filter's `selfMatchNum`).
    self_match: bool,
    key_id: KeyId,
    sel_id: Option<SelId>,
}

/// What PreFilter and PreScore derive from the pod alone: its template, owner
/// and namespace (the default selector reads the owner's selector and the
/// namespace's Services) under the plugin's defaulting. Built once per
/// template and reused while the owner, namespace and number of Services are
/// those it was built with (selectors of Services and workloads are immutable).
#[derive(Debug, PartialEq)]
struct Inputs {
    owner: Option<Owner>,
    namespace: String,
    services: usize,
    /// `DoNotSchedule` constraints (Filter).
    filter: Vec<Constraint>,
    /// `ScheduleAnyway` constraints, or the defaults (Score).
    score: Vec<Constraint>,
    /// Score ignores nodes lacking a key (not for the system defaults).
    require_all: bool,
}

#[derive(Default)]
struct SpreadState {
    /// Per SpecId: the template's inputs, built under the defaulting `built_for`
    /// (the state slot may pass between profiles).
    inputs: Vec<Option<Arc<Inputs>>>,
    built_for: Option<SpreadDefaults>,
    /// The inputs of this cycle's pod.
    cur: Option<Arc<Inputs>>,
    // Filter
    /// Per filter constraint, by domain id: matching pods on eligible nodes.
    counts: Vec<Vec<i64>>,
    /// Per filter constraint, by domain id: some eligible node is in the domain.
    present: Vec<Vec<bool>>,
    min_match: Vec<i64>,
    // Score
    score_counts: Vec<Vec<i64>>,
    score_present: Vec<Vec<bool>>,
    topo_size: Vec<usize>,
    keyless: Vec<bool>,
    weights: Vec<f64>,
    ignored: Vec<NodeId>,
    /// Score's memo (see `score_all`): by combination of the constraints'
    /// inputs, the rounded score, valid when stamped with this cycle's `stamp`.
    memo: RefCell<Vec<(u32, i64)>>,
    stamp: u32,
    /// `normalize_into`'s weighted normalised score by raw score - min.
    norm_table: RefCell<Vec<i64>>,
    /// The least and greatest score of the nodes not ignored, as the last
    /// `score_all` (by slot) left them for this many nodes; taken by
    /// `normalize_into`, which otherwise finds them itself.
    min_max: Cell<Option<(usize, i64, i64)>>,
}

/// Per constraint, how many input values the score memo tells apart
/// (key absent, then count or domain id); with at most two constraints.
const MEMO_SLOTS: usize = 32;

impl SpreadState {
    fn cur(&self) -> &Inputs {
        self.cur
            .as_deref()
            .expect("PodTopologySpread state without inputs")
    }
}

/// Every node's domain for a key (`NONE` past the end).
fn domain_of(doms: &[u32], node: NodeId) -> u32 {
    doms.get(node.idx()).copied().unwrap_or(NONE)
}

fn system_defaults() -> Vec<TopologySpreadConstraint> {
    let c = |key: &str, skew| TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.to_string(),
        when_unsatisfiable: UnsatisfiableAction::ScheduleAnyway,
        selector: None,
        min_domains: None,
        node_affinity_policy: InclusionPolicy::Honor,
        node_taints_policy: InclusionPolicy::Ignore,
        match_label_keys: Vec::new(),
    };
    vec![c(HOSTNAME_LABEL, 3), c(ZONE_LABEL, 5)]
}

/// `helper.DefaultSelector`: the selectors of the Services selecting the pod
/// merged with its ReplicaSet's or StatefulSet's selector.
pub fn default_selector(world: &World, pod: crate::model::PodId) -> LabelSelector {
    let p = world.pod(pod);
    let labels = &world.spec(p.spec).labels;
    let mut merged = crate::model::labels::Labels::new();
    for s in &world.services {
        if s.meta.namespace != p.namespace {
            continue;
        }
        if let Some(sel) = &s.selector
            && !sel.is_empty()
            && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
        {
            merged.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let mut selector = LabelSelector::from_map(&merged);
    match p.owner {
        Some(Owner::ReplicaSet(rs)) => selector.requirements.extend(
            world.replicasets[rs.idx()]
                .selector
                .requirements
                .iter()
                .cloned(),
        ),
        Some(Owner::StatefulSet(ss)) => selector.requirements.extend(
            world.statefulsets[ss.idx()]
                .selector
                .requirements
                .iter()
                .cloned(),
        ),
        _ => {}
    }
    selector
}

fn to_constraint(c: &TopologySpreadConstraint, spec: &PodSpec) -> Constraint {
    let mut selector = c.selector.clone();
    if let Some(sel) = selector.as_mut() {
        for k in &c.match_label_keys {
            if let Some(v) = spec.labels.get(k) {
                sel.requirements.push(Requirement {
                    key: k.clone(),
                    op: Operator::In,
                    values: vec![v.clone()],
                });
            }
        }
    }
    let mut k = Constraint {
        max_skew: i64::from(c.max_skew),
        key: c.topology_key.clone(),
        hostname: c.topology_key == HOSTNAME_LABEL,
        selector,
        min_domains: i64::from(c.min_domains.unwrap_or(1)),
        affinity_policy: c.node_affinity_policy,
        taints_policy: c.node_taints_policy,
        check: false,
        self_match: false,
        key_id: KeyId::default(),
        sel_id: None,
    };
    k.check = may_exclude(&k, spec);
    k
}

/// Track each constraint's key and selector in the scheduler's indexes, and
/// decide `self_match`.
fn resolve(cx: &CycleContext, cs: &mut [Constraint]) {
    let ns = cx.namespace();
    for c in cs {
        c.key_id = cx.topo.track(cx.world, &c.key);
        c.sel_id = c
            .selector
            .as_ref()
            .map(|sel| cx.counts.track(cx.world, ns, sel, false));
        c.self_match = c
            .selector
            .as_ref()
            .is_some_and(|sel| sel.matches(&cx.spec.labels));
    }
}

/// Whether `included` can reject any node for this pod (otherwise every
/// node is included and the per-node check is skipped).
fn may_exclude(c: &Constraint, spec: &PodSpec) -> bool {
    (c.affinity_policy == InclusionPolicy::Honor
        && (!spec.node_selector.is_empty() || spec.required_node_affinity.is_some()))
        || c.taints_policy == InclusionPolicy::Honor
}

/// Reset `counts` and `present` to `n` zeroed domains.
fn reset(counts: &mut Vec<i64>, present: &mut Vec<bool>, n: usize) {
    counts.clear();
    counts.resize(n, 0);
    present.clear();
    present.resize(n, false);
}

impl PodTopologySpread {
    /// The pod's constraints with `action`, or the defaults; and whether they are
    /// system defaults.
    fn constraints(
        &self,
        world: &World,
        pod: PodId,
        action: UnsatisfiableAction,
        out: &mut Vec<Constraint>,
    ) -> bool {
        out.clear();
        let spec = world.pod_spec(pod);
        if !spec.topology_spread.is_empty() {
            out.extend(
                spec.topology_spread
                    .iter()
                    .filter(|c| c.when_unsatisfiable == action)
                    .map(|c| to_constraint(c, spec)),
            );
            return false;
        }
        let (list, system) = match &self.defaults {
            SpreadDefaults::System => (system_defaults(), true),
            SpreadDefaults::List(l) => (l.clone(), false),
        };
        let list: Vec<_> = list
            .into_iter()
            .filter(|c| c.when_unsatisfiable == action)
            .collect();
        if list.is_empty() {
            return system;
        }
        let selector = default_selector(world, pod);
        if selector.is_empty() {
            return system;
        }
        for c in &list {
            let mut k = to_constraint(c, spec);
            k.selector = Some(selector.clone());
            out.push(k);
        }
        system
    }

    /// The pod's [`Inputs`], from the state's cache when they were built for
    /// this template, owner, namespace and defaulting.
    fn inputs(&self, s: &mut SpreadState, cx: &CycleContext) -> Arc<Inputs> {
        if s.built_for.as_ref() != Some(&self.defaults) {
            s.inputs.clear();
            s.built_for = Some(self.defaults.clone());
        }
        let i = cx.spec_id().idx();
        if s.inputs.len() <= i {
            s.inputs.resize(i + 1, None);
        }
        let p = cx.world.pod(cx.pod);
        if let Some(x) = &s.inputs[i]
            && x.owner == p.owner
            && x.namespace == p.namespace
            && x.services == cx.world.services.len()
        {
            debug_assert_eq!(**x, self.build_inputs(cx), "stale PodTopologySpread inputs");
            return Arc::clone(x);
        }
        let x = Arc::new(self.build_inputs(cx));
        s.inputs[i] = Some(Arc::clone(&x));
        x
    }

    fn build_inputs(&self, cx: &CycleContext) -> Inputs {
        let p = cx.world.pod(cx.pod);
        let mut filter = Vec::new();
        self.constraints(cx.world, cx.pod, DoNotSchedule, &mut filter);
        resolve(cx, &mut filter);
        let mut score = Vec::new();
        let system = self.constraints(cx.world, cx.pod, ScheduleAnyway, &mut score);
        resolve(cx, &mut score);
        Inputs {
            owner: p.owner,
            namespace: p.namespace.clone(),
            services: cx.world.services.len(),
            filter,
            score,
            require_all: !cx.spec.topology_spread.is_empty() || !system,
        }
    }
}

/// Whether `node` has every constraint's key (`doms`: the keys' domains).
fn has_all_keys(doms: &[Ref<'_, [u32]>], node: NodeId) -> bool {
    doms.iter().all(|d| domain_of(d, node) != NONE)
}

fn included(c: &Constraint, spec: &PodSpec, node: &Node) -> bool {
    if c.affinity_policy == InclusionPolicy::Honor && !required_matches(spec, node) {
        return false;
    }
    if c.taints_policy == InclusionPolicy::Honor
        && find_untolerated(&node.taints, &spec.tolerations, is_do_not_schedule).is_some()
    {
        return false;
    }
    true
}

/// Whether every candidate node has every constraint's key (nodes with a key
/// are never outside `cx.nodes`, which holds every node not deleted).
fn all_nodes_have_keys(cx: &CycleContext, cs: &[Constraint]) -> bool {
    cs.iter()
        .all(|c| cx.topo.nodes_with_key(c.key_id) == cx.nodes.len())
}

/// PreFilter's walk for constraint `i`: over every node with all the keys
/// that the constraint includes, mark its domain present and add its
/// matching pods.
fn filter_walk(
    cx: &CycleContext,
    c: &Constraint,
    doms: &[Ref<'_, [u32]>],
    i: usize,
    counts: &mut [i64],
    present: &mut [bool],
) {
    let per_node = c.sel_id.map(|id| cx.counts.per_node(id));
    for &nid in cx.nodes {
        let d = domain_of(&doms[i], nid);
        if d == NONE
            || (doms.len() > 1 && !has_all_keys(doms, nid))
            || (c.check && !included(c, cx.spec, cx.world.node(nid)))
        {
            continue;
        }
        present[d as usize] = true;
        if let Some(pn) = &per_node {
            counts[d as usize] += i64::from(pn.get(nid.idx()).copied().unwrap_or(0));
        }
    }
}

/// PreScore's walk for constraint `i`: over every node in a `present`
/// domain (with all the keys when `require_all`) that the constraint
/// includes, add its matching pods to its domain.
#[allow(clippy::too_many_arguments)]
fn score_walk(
    cx: &CycleContext,
    c: &Constraint,
    sel: SelId,
    doms: &[Ref<'_, [u32]>],
    i: usize,
    require_all: bool,
    present: &[bool],
    counts: &mut [i64],
) {
    let per_node = cx.counts.per_node(sel);
    for &nid in cx.nodes {
        let d = domain_of(&doms[i], nid);
        if d == NONE
            || !present[d as usize]
            || (require_all && !has_all_keys(doms, nid))
            || (c.check && !included(c, cx.spec, cx.world.node(nid)))
        {
            continue;
        }
        counts[d as usize] += i64::from(per_node.get(nid.idx()).copied().unwrap_or(0));
    }
}

/// `countPodsMatchSelector`: same namespace, not terminating, selector matches.
fn count_matching(
    world: &World,
    pods: impl Iterator<Item = crate::model::PodId>,
    sel: &Option<LabelSelector>,
    ns: &str,
) -> i64 {
    let Some(sel) = sel else { return 0 };
    pods.filter(|&p| {
        let q = world.pod(p);
        q.deleting_since.is_none()
            && !q.deleted
            && q.namespace == ns
            && sel.matches(&world.spec(q.spec).labels)
    })
    .count() as i64
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
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

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status {
        let s = state.get_or_default::<SpreadState>();
        let inputs = self.inputs(s, cx);
        s.cur = Some(Arc::clone(&inputs));
        let cs = &inputs.filter;
        if cs.is_empty() {
            return Status::SKIP;
        }
        let n = cs.len();
        s.counts.resize_with(n, Vec::new);
        s.present.resize_with(n, Vec::new);
        let doms: Vec<_> = cs.iter().map(|c| cx.topo.domains(c.key_id)).collect();
        // Domains of the eligible nodes, and the matching pods on them.
        // Upstream's `calPreFilterState` (filtering.go) counts every node that
        // has all the constraints' keys (`nodeLabelsMatchSpreadConstraints`)
        // and passes the constraint's inclusion policies
        // (`matchNodeInclusionPolicies`, common.go). When neither can exclude
        // a node that has the constraint's key — the policies exclude nothing
        // for this pod (`!check`) and there is one key or every node has every
        // key — a domain is present when it has a node, and its count is the
        // selector's total over the domain's nodes, both kept by the indexes.
        let all_keyed = n == 1 || all_nodes_have_keys(cx, cs);
        for (i, c) in cs.iter().enumerate() {
            let (counts, present) = (&mut s.counts[i], &mut s.present[i]);
            reset(counts, present, cx.topo.num_domains(c.key_id));
            if all_keyed && !c.check {
                let nodes_in = cx.topo.nodes_in(c.key_id);
                for (d, p) in present.iter_mut().enumerate() {
                    *p = nodes_in.get(d).is_some_and(|&k| k > 0);
                }
                if let Some(sel) = c.sel_id {
                    let totals = cx.counts.domain_totals(sel, c.key_id, cx.topo);
                    for (d, cnt) in counts.iter_mut().enumerate() {
                        *cnt = i64::from(totals.get(d).copied().unwrap_or(0));
                    }
                }
                #[cfg(debug_assertions)]
                {
                    let (mut want_counts, mut want_present) = Default::default();
                    reset(&mut want_counts, &mut want_present, counts.len());
                    filter_walk(cx, c, &doms, i, &mut want_counts, &mut want_present);
                    assert_eq!(
                        (&*counts, &*present),
                        (&want_counts, &want_present),
                        "stale PodTopologySpread domain totals (PreFilter)"
                    );
                }
            } else {
                filter_walk(cx, c, &doms, i, counts, present);
            }
        }
        s.min_match.clear();
        for (i, c) in cs.iter().enumerate() {
            let present = &s.present[i];
            let domains = present.iter().filter(|&&p| p).count() as i64;
            let min = s.counts[i]
                .iter()
                .zip(present)
                .filter(|&(_, &p)| p)
                .map(|(&c, _)| c)
                .min()
                .unwrap_or(0);
            s.min_match
                .push(if domains < c.min_domains { 0 } else { min });
        }
        Status::SUCCESS
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> Status {
        let Some(s) = state.get::<SpreadState>() else {
            return Status::SUCCESS;
        };
        let ns = cx.namespace();
        for (i, c) in s.cur().filter.iter().enumerate() {
            let d = cx.topo.domain(c.key_id, node.id);
            if d == NONE {
                return Status::unresolvable(REASON_MISSING_LABEL);
            }
            let mut match_num = s.counts[i].get(d as usize).copied().unwrap_or(0);
            if node.is_hypothetical() && included(c, cx.spec, node.node) {
                // Nominated pods added / victims removed on this node (PreFilter
                // extensions AddPod/RemovePod, for this node's own domain).
                let before =
                    count_matching(cx.world, node.node.pods.iter().copied(), &c.selector, ns);
                let after = count_matching(cx.world, node.pods(), &c.selector, ns);
                match_num += after - before;
            }
            let skew = match_num + i64::from(c.self_match) - s.min_match[i];
            if skew > c.max_skew {
                return Status::unschedulable(REASON);
            }
        }
        Status::SUCCESS
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, feasible: &[NodeId]) -> Status {
        let s = state.get_or_default::<SpreadState>();
        let inputs = self.inputs(s, cx);
        s.cur = Some(Arc::clone(&inputs));
        let cs = &inputs.score;
        if cs.is_empty() {
            return Status::SKIP;
        }
        let require_all = inputs.require_all;
        s.stamp = s.stamp.wrapping_add(1);
        if s.stamp == 0 {
            s.memo.get_mut().clear();
            s.stamp = 1;
        }
        let n = cs.len();
        s.score_counts.resize_with(n, Vec::new);
        s.score_present.resize_with(n, Vec::new);
        s.topo_size.clear();
        s.topo_size.resize(n, 0);
        let mut by_domain = false;
        for (i, c) in cs.iter().enumerate() {
            // Hostname counts are read per node in Score, not by domain.
            let num = if c.hostname {
                0
            } else {
                cx.topo.num_domains(c.key_id)
            };
            by_domain |= num > 0;
            reset(&mut s.score_counts[i], &mut s.score_present[i], num);
        }
        s.ignored.clear();
        let doms: Vec<_> = cs.iter().map(|c| cx.topo.domains(c.key_id)).collect();
        // Without domains to count and nodes to ignore, the walk finds nothing.
        // Per constraint: some feasible node lacks its key (only without
        // `require_all`).
        s.keyless.clear();
        s.keyless.resize(n, false);
        if require_all || by_domain {
            for &nid in feasible {
                if require_all && !has_all_keys(&doms, nid) {
                    s.ignored.push(nid);
                    continue;
                }
                for (i, c) in cs.iter().enumerate() {
                    if c.hostname {
                        continue;
                    }
                    let d = domain_of(&doms[i], nid);
                    if d == NONE {
                        s.keyless[i] = true;
                    } else if !s.score_present[i][d as usize] {
                        s.score_present[i][d as usize] = true;
                        s.topo_size[i] += 1;
                    }
                }
            }
        }
        s.weights.clear();
        for (i, c) in cs.iter().enumerate() {
            let size = if c.hostname {
                feasible.len() - s.ignored.len()
            } else {
                // Upstream's `initPreScoreState` (scoring.go) reads a missing
                // key as the value "": a feasible node without the key (the
                // system default zone constraint on a zoneless node) adds the
                // "" domain to `topoSize`, unless a node labelled with the
                // empty value already did. Score never reads that domain's
                // count for a keyless node, so only the weight sees it.
                let empty_present = cx
                    .topo
                    .empty_value_domain(c.key_id)
                    .is_some_and(|e| s.score_present[i].get(e as usize) == Some(&true));
                s.topo_size[i] + usize::from(s.keyless[i] && !empty_present)
            };
            s.weights.push(((size + 2) as f64).ln());
        }
        // Upstream's PreScore (scoring.go, `processAllNode`) adds to a domain
        // some feasible node is in the matching pods of every node in it that
        // passes the constraint's inclusion policies (`matchNodeInclusionPolicies`,
        // common.go: the pod's required node affinity under nodeAffinityPolicy
        // Honor, its tolerations under nodeTaintsPolicy Honor) and, with
        // `requireAllTopologies`, has all the constraints' keys. When neither
        // can exclude a node that has the constraint's key — the policies
        // exclude nothing for this pod (`!check`: no nodeSelector or required
        // affinity, or policy Ignore; taints policy Ignore) and keys are not
        // required, or there is one, or every node has every key — that sum is
        // the selector's total over the domain's nodes, kept by `MatchCounts`.
        let all_keyed = !require_all || n == 1 || all_nodes_have_keys(cx, cs);
        for (i, c) in cs.iter().enumerate() {
            // Hostname counts are read per node in Score. No feasible node has
            // this key (e.g. the system default zone constraint on zoneless
            // nodes): there is no domain to count into.
            if c.hostname || s.topo_size[i] == 0 {
                continue;
            }
            let Some(sel) = c.sel_id else { continue };
            let (counts, present) = (&mut s.score_counts[i], &s.score_present[i]);
            if all_keyed && !c.check {
                let totals = cx.counts.domain_totals(sel, c.key_id, cx.topo);
                for (d, cnt) in counts.iter_mut().enumerate() {
                    if present[d] {
                        *cnt = i64::from(totals.get(d).copied().unwrap_or(0));
                    }
                }
                #[cfg(debug_assertions)]
                {
                    let mut want = vec![0; counts.len()];
                    score_walk(cx, c, sel, &doms, i, require_all, present, &mut want);
                    assert_eq!(
                        *counts, want,
                        "stale PodTopologySpread domain totals (PreScore)"
                    );
                }
            } else {
                score_walk(cx, c, sel, &doms, i, require_all, present, counts);
            }
        }
        Status::SUCCESS
    }
}

/// `math.Round(x)` as an int64: halves away from zero, as `f64::round`
/// gives, without the libm call (x86-64's baseline has no rounding
/// instruction). `x - trunc(x)` is exact for every double, so the comparison
/// with 0.5 decides exactly; out of range saturates as `as i64` does.
fn round_to_i64(x: f64) -> i64 {
    let t = x as i64;
    let frac = x - t as f64;
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}

impl PodTopologySpread {
    fn node_score(&self, cx: &CycleContext, s: &SpreadState, node: &NodeInfo) -> i64 {
        if s.ignored.contains(&node.id) {
            return 0;
        }
        let mut score = 0f64;
        for (i, c) in s.cur().score.iter().enumerate() {
            let d = cx.topo.domain(c.key_id, node.id);
            if d == NONE {
                continue;
            }
            let cnt = if c.hostname {
                c.sel_id.map_or(0, |id| cx.counts.on_node(id, node.id))
            } else {
                s.score_counts[i].get(d as usize).copied().unwrap_or(0)
            };
            score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        round_to_i64(score)
    }
}

impl ScorePlugin for PodTopologySpread {
    score_from_state!(SpreadState);

    /// `node_score` with each constraint's domains and hostname counts
    /// borrowed once per cycle instead of once per node.
    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        let Some(s) = state.get::<SpreadState>() else {
            out.resize(out.len() + feasible.len(), 0);
            return;
        };
        s.min_max.set(None);
        let cs = &s.cur().score;
        let doms: Vec<_> = cs.iter().map(|c| cx.topo.domains(c.key_id)).collect();
        let on_node: Vec<_> = cs
            .iter()
            .map(|c| {
                if c.hostname {
                    c.sel_id.map(|id| cx.counts.per_node(id))
                } else {
                    None
                }
            })
            .collect();
        let raw = |n: NodeId| {
            let mut score = 0f64;
            for (i, c) in cs.iter().enumerate() {
                let d = domain_of(&doms[i], n);
                if d == NONE {
                    continue;
                }
                let cnt = if c.hostname {
                    on_node[i]
                        .as_ref()
                        .map_or(0, |pn| i64::from(pn.get(n.idx()).copied().unwrap_or(0)))
                } else {
                    s.score_counts[i].get(d as usize).copied().unwrap_or(0)
                };
                score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
            }
            round_to_i64(score)
        };
        let ignored = |n: NodeId| !s.ignored.is_empty() && s.ignored.contains(&n);
        if cs.len() > 2 {
            out.extend(
                feasible
                    .iter()
                    .map(|&n| if ignored(n) { 0 } else { raw(n) }),
            );
            return;
        }
        // A node's score is a function of, per constraint, whether the node
        // has the key and then its hostname count or its domain (whose count
        // is fixed for the cycle): nodes alike in these share the score, which
        // is computed (and rounded) once per cycle.
        let slots = MEMO_SLOTS as i64;
        // A constraint whose key no node has gives slot 0 everywhere.
        let keyless = |c: &Constraint| !c.hostname && cx.topo.num_domains(c.key_id) == 0;
        let mut memo = s.memo.borrow_mut();
        if memo.len() < MEMO_SLOTS * MEMO_SLOTS {
            memo.resize(MEMO_SLOTS * MEMO_SLOTS, (0, 0));
        }
        let mut keyed = (0..cs.len()).filter(|&i| !keyless(&cs[i]));
        if let (Some(i), None) = (keyed.next(), keyed.next()) {
            // One constraint tells nodes apart (the system defaults on
            // zoneless nodes): a node's score is its slot's, and every slot's
            // score is computed up front, from the slot alone: 0 without the
            // key, else the constraint's term as `raw` adds it (the others
            // have their key on no node and add nothing).
            let c = &cs[i];
            let mut by_slot = [0i64; MEMO_SLOTS];
            for (slot, v) in by_slot.iter_mut().enumerate().skip(1) {
                let cnt = if c.hostname {
                    (slot - 1) as i64
                } else {
                    s.score_counts[i].get(slot - 1).copied().unwrap_or(0)
                };
                *v = round_to_i64(0f64 + (cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64));
            }
            let d_of: &[u32] = &doms[i];
            let base = out.len();
            // Which slots occurred (bit k: slot k), and the least and
            // greatest score past the slots: NormalizeScore's min and max.
            let mut used = 0u32;
            let (mut lo, mut hi) = (i64::MAX, 0i64);
            let mut past = |n: NodeId| {
                let v = raw(n);
                (lo, hi) = (lo.min(v), hi.max(v));
                v
            };
            if c.hostname {
                let counts: &[u32] = on_node[i].as_deref().unwrap_or(&[]);
                out.extend(feasible.iter().map(|&n| {
                    let slot = if domain_of(d_of, n) == NONE {
                        0
                    } else {
                        1 + counts.get(n.idx()).copied().unwrap_or(0) as usize
                    };
                    if slot < MEMO_SLOTS {
                        used |= 1 << slot;
                        by_slot[slot]
                    } else {
                        past(n)
                    }
                }));
            } else {
                out.extend(feasible.iter().map(|&n| {
                    let slot = domain_of(d_of, n).wrapping_add(1) as usize;
                    if slot < MEMO_SLOTS {
                        used |= 1 << slot;
                        by_slot[slot]
                    } else {
                        past(n)
                    }
                }));
            }
            let dst = &mut out[base..];
            if s.ignored.is_empty() {
                for (k, &v) in by_slot.iter().enumerate() {
                    if used & (1 << k) != 0 {
                        (lo, hi) = (lo.min(v), hi.max(v));
                    }
                }
                s.min_max.set(Some((dst.len(), lo, hi)));
            } else {
                for (o, n) in dst.iter_mut().zip(feasible) {
                    if s.ignored.contains(n) {
                        *o = 0;
                    }
                }
                s.min_max.set(None);
            }
            #[cfg(debug_assertions)]
            for (&o, &n) in dst.iter().zip(feasible) {
                let want = if ignored(n) { 0 } else { raw(n) };
                assert_eq!(o, want, "PodTopologySpread score by slot");
            }
            return;
        }
        // Each node's memo key is built in `out`, one constraint at a time
        // (-1: past the memo).
        let base = out.len();
        out.resize(base + feasible.len(), 0);
        let keys = &mut out[base..];
        const PAST: i64 = -1;
        for (i, c) in cs.iter().enumerate() {
            if keyless(c) {
                // No node has the key: slot 0 everywhere.
                for k in keys.iter_mut().filter(|k| **k != PAST) {
                    *k *= slots;
                }
                continue;
            }
            let d_of = &doms[i];
            let counts: &[u32] = on_node[i].as_deref().unwrap_or(&[]);
            for (k, &n) in keys.iter_mut().zip(feasible) {
                let slot = memo_slot(c, d_of, counts, n);
                *k = if *k == PAST || slot >= slots {
                    PAST
                } else {
                    *k * slots + slot
                };
            }
        }
        for (k, &n) in keys.iter_mut().zip(feasible) {
            *k = if ignored(n) {
                0
            } else if *k == PAST {
                raw(n)
            } else {
                let e = &mut memo[*k as usize];
                if e.0 != s.stamp {
                    *e = (s.stamp, raw(n));
                }
                debug_assert_eq!(e.1, raw(n), "PodTopologySpread score memo");
                e.1
            };
        }
    }

    /// `normalize` and the weighting in one pass after the min and max, the
    /// division read from a table per score value when the scores span few
    /// values (a count of pods per node or zone: they do).
    fn normalize_into(
        &self,
        cx: &CycleContext,
        state: &State,
        feasible: &[NodeId],
        scores: &mut [i64],
        weight: i64,
        totals: &mut [i64],
    ) {
        let Some(s) = state.get::<SpreadState>() else {
            return add_weighted(scores, weight, totals);
        };
        let ignored = |j: usize| !s.ignored.is_empty() && s.ignored.contains(&feasible[j]);
        let (min, max) = match s.min_max.take() {
            Some((len, min, max)) if len == scores.len() => {
                debug_assert_eq!(
                    (min, max),
                    min_max(scores, feasible, &s.ignored),
                    "PodTopologySpread min and max from score_all"
                );
                (min, max)
            }
            _ => min_max(scores, feasible, &s.ignored),
        };
        if max == 0 || min > max || max - min > 4096 {
            self.normalize(cx, state, feasible, scores);
            return add_weighted(scores, weight, totals);
        }
        let mut table = s.norm_table.borrow_mut();
        table.clear();
        table.extend(
            (min..=max).map(|sc| {
                (MAX_NODE_SCORE * (max + min - sc) / max).clamp(0, MAX_NODE_SCORE) * weight
            }),
        );
        if s.ignored.is_empty() {
            for (t, &sc) in totals.iter_mut().zip(scores.iter()) {
                *t += table[(sc - min) as usize];
            }
        } else {
            for (j, (t, &sc)) in totals.iter_mut().zip(scores.iter()).enumerate() {
                if !ignored(j) {
                    *t += table[(sc - min) as usize];
                }
            }
        }
        #[cfg(debug_assertions)]
        {
            let mut want = scores.to_vec();
            self.normalize(cx, state, feasible, &mut want);
            let mut sum = vec![0; want.len()];
            add_weighted(&want, weight, &mut sum);
            let got: Vec<i64> = (0..want.len())
                .map(|j| {
                    if ignored(j) {
                        0
                    } else {
                        table[(scores[j] - min) as usize]
                    }
                })
                .collect();
            assert_eq!(got, sum, "PodTopologySpread fused normalisation");
        }
    }

    fn normalize(&self, _: &CycleContext, state: &State, feasible: &[NodeId], scores: &mut [i64]) {
        let Some(s) = state.get::<SpreadState>() else {
            return;
        };
        let ignored = |j: usize| !s.ignored.is_empty() && s.ignored.contains(&feasible[j]);
        let (min, max) = min_max(scores, feasible, &s.ignored);
        for (j, sc) in scores.iter_mut().enumerate() {
            if ignored(j) {
                *sc = 0;
            } else if max == 0 {
                *sc = MAX_NODE_SCORE;
            } else {
                *sc = MAX_NODE_SCORE * (max + min - *sc) / max;
            }
        }
    }
}

/// A node's input to the score memo for one constraint: 0 without the
/// key, else 1 + its hostname count (`counts`) or 1 + its domain (`d_of`).
#[inline]
fn memo_slot(c: &Constraint, d_of: &[u32], counts: &[u32], n: NodeId) -> i64 {
    let d = domain_of(d_of, n);
    if d == NONE {
        0
    } else if c.hostname {
        1 + i64::from(counts.get(n.idx()).copied().unwrap_or(0))
    } else {
        1 + i64::from(d)
    }
}

/// The least and greatest score of the nodes (`feasible`, in `scores`'
/// order) not in `ignored` (`i64::MAX` and 0 when every node is), as
/// `NormalizeScore` starts.
fn min_max(scores: &[i64], feasible: &[NodeId], ignored: &[NodeId]) -> (i64, i64) {
    let (mut min, mut max) = (i64::MAX, 0i64);
    if ignored.is_empty() {
        // The common case, as a loop the compiler vectorises.
        for &sc in scores {
            min = min.min(sc);
            max = max.max(sc);
        }
        return (min, max);
    }
    for (&sc, n) in scores.iter().zip(feasible) {
        if !ignored.contains(n) {
            min = min.min(sc);
            max = max.max(sc);
        }
    }
    (min, max)
}

/// `nodeLabelsMatchSpreadConstraints`: the node has every constraint's key.
fn labels_have_all_keys(labels: &Labels, cs: &[Constraint]) -> bool {
    cs.iter().all(|c| labels.contains_key(&c.key))
}

impl EnqueueExtensions for PodTopologySpread {
    /// Pod Add | UpdatePodLabel | Delete; Node Add | Delete | UpdateNodeLabel |
    /// UpdateNodeTaint.
    fn events_to_register(&self) -> Events {
        Events {
            node: ActionType::ADD
                .or(ActionType::DELETE)
                .or(ActionType::UPDATE_NODE_LABEL)
                .or(ActionType::UPDATE_NODE_TAINT),
            pod: ActionType::ADD
                .or(ActionType::UPDATE_POD_LABEL)
                .or(ActionType::DELETE),
        }
    }

    /// `isSchedulableAfterPodChange`: a bound pod of the same namespace whose
    /// labels match a constraint's selector was added or deleted.
    /// `isSchedulableAfterNodeChange`: a node with every topology key was added
    /// or deleted, or a node gained or lost one, changed a key's value, or
    /// changed its taints while having them all.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let mut cs = Vec::new();
        self.constraints(cx.world, cx.pod, DoNotSchedule, &mut cs);
        let queue = if let Some(p) = event.pod() {
            let q = cx.world.pod(p);
            let involved =
                p == cx.pod || (q.node.is_some() && q.namespace == cx.world.pod(cx.pod).namespace);
            let labels = &cx.world.spec(q.spec).labels;
            involved
                && cs
                    .iter()
                    .any(|c| c.selector.as_ref().is_some_and(|s| s.matches(labels)))
        } else {
            let Some((_, old, new)) = event.node() else {
                return QueueingHint::QueueSkip;
            };
            let matching =
                |n: Option<&NodeSnapshot>| n.is_some_and(|n| labels_have_all_keys(&n.labels, &cs));
            match (old, new) {
                (Some(o), Some(n)) => {
                    matching(old) != matching(new)
                        || (matching(new)
                            && (cs
                                .iter()
                                .any(|c| o.labels.get(&c.key) != n.labels.get(&c.key))
                                || o.taints != n.taints))
                }
                (None, _) => matching(new),
                (_, None) => matching(old),
            }
        };
        QueueingHint::queue_if(queue)
    }
}

#[cfg(test)]
mod round_tests {
    use super::round_to_i64;

    #[test]
    fn round_to_i64_rounds_as_f64_round() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4503599627370495.5,
            4503599627370497.0,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            9.223372036854775e18,
        ];
        // Sums as PodTopologySpread forms them: counts × ln(domains + 2) + skew - 1.
        for cnt in 0..200 {
            for size in 0..60 {
                xs.push(f64::from(cnt) * f64::from(size + 2).ln() + 2.0);
                xs.push(f64::from(cnt) * f64::from(size + 2).ln() + 0.5);
            }
        }
        for x in xs {
            assert_eq!(round_to_i64(x), x.round() as i64, "{x}");
        }
    }
}
