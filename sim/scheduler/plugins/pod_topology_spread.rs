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
/// and its key and selector as tracked ids.
#[derive(Clone, Debug)]
struct Constraint {
    max_skew: i64,
    key: String,
    selector: Option<LabelSelector>,
    min_domains: i64,
    affinity_policy: InclusionPolicy,
    taints_policy: InclusionPolicy,
    key_id: KeyId,
    sel_id: Option<SelId>,
}

#[derive(Default)]
struct SpreadState {
    // Filter
    filter: Vec<Constraint>,
    /// Per filter constraint, by domain id: matching pods on eligible nodes.
    counts: Vec<Vec<i64>>,
    /// Per filter constraint, by domain id: some eligible node is in the domain.
    present: Vec<Vec<bool>>,
    min_match: Vec<i64>,
    self_match: Vec<bool>,
    // Score
    score: Vec<Constraint>,
    score_counts: Vec<Vec<i64>>,
    score_present: Vec<Vec<bool>>,
    weights: Vec<f64>,
    ignored: Vec<NodeId>,
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
    Constraint {
        max_skew: i64::from(c.max_skew),
        key: c.topology_key.clone(),
        selector,
        min_domains: i64::from(c.min_domains.unwrap_or(1)),
        affinity_policy: c.node_affinity_policy,
        taints_policy: c.node_taints_policy,
        key_id: KeyId::default(),
        sel_id: None,
    }
}

/// Track each constraint's key and selector in the scheduler's indexes.
fn resolve(cx: &CycleContext, cs: &mut [Constraint]) {
    let ns = cx.namespace();
    for c in cs {
        c.key_id = cx.topo.track(cx.world, &c.key);
        c.sel_id = c
            .selector
            .as_ref()
            .map(|sel| cx.counts.track(cx.world, ns, sel, false));
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
}

fn has_all_keys(cx: &CycleContext, node: NodeId, cs: &[Constraint]) -> bool {
    cs.iter().all(|c| cx.topo.domain(c.key_id, node) != NONE)
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
        let mut cs = std::mem::take(&mut s.filter);
        self.constraints(cx.world, cx.pod, DoNotSchedule, &mut cs);
        s.filter = cs;
        if s.filter.is_empty() {
            return Status::SKIP;
        }
        resolve(cx, &mut s.filter);
        let n = s.filter.len();
        s.counts.resize_with(n, Vec::new);
        s.present.resize_with(n, Vec::new);
        // Domains of the eligible nodes, and the matching pods on them.
        for (i, c) in s.filter.iter().enumerate() {
            let (counts, present) = (&mut s.counts[i], &mut s.present[i]);
            reset(counts, present, cx.topo.num_domains(c.key_id));
            let check = may_exclude(c, cx.spec);
            let doms = cx.topo.domains(c.key_id);
            let per_node = c.sel_id.map(|id| cx.counts.per_node(id));
            for &nid in cx.nodes {
                let d = doms.get(nid.idx()).copied().unwrap_or(NONE);
                if d == NONE
                    || !has_all_keys(cx, nid, &s.filter)
                    || (check && !included(c, cx.spec, cx.world.node(nid)))
                {
                    continue;
                }
                present[d as usize] = true;
                if let Some(pn) = &per_node {
                    counts[d as usize] += i64::from(pn.get(nid.idx()).copied().unwrap_or(0));
                }
            }
        }
        s.min_match.clear();
        s.self_match.clear();
        for (i, c) in s.filter.iter().enumerate() {
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
            s.self_match.push(
                c.selector
                    .as_ref()
                    .is_some_and(|sel| sel.matches(&cx.spec.labels)),
            );
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
        for (i, c) in s.filter.iter().enumerate() {
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
            let skew = match_num + i64::from(s.self_match[i]) - s.min_match[i];
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
        let mut cs = std::mem::take(&mut s.score);
        let system = self.constraints(cx.world, cx.pod, ScheduleAnyway, &mut cs);
        s.score = cs;
        if s.score.is_empty() {
            return Status::SKIP;
        }
        resolve(cx, &mut s.score);
        let require_all = !cx.spec.topology_spread.is_empty() || !system;
        let n = s.score.len();
        s.score_counts.resize_with(n, Vec::new);
        s.score_present.resize_with(n, Vec::new);
        for (i, c) in s.score.iter().enumerate() {
            // Hostname counts are read per node in Score, not by domain.
            let num = if c.key == HOSTNAME_LABEL {
                0
            } else {
                cx.topo.num_domains(c.key_id)
            };
            reset(&mut s.score_counts[i], &mut s.score_present[i], num);
        }
        s.ignored.clear();
        let mut topo_size = vec![0usize; n];
        for &nid in feasible {
            if require_all && !has_all_keys(cx, nid, &s.score) {
                s.ignored.push(nid);
                continue;
            }
            for (i, c) in s.score.iter().enumerate() {
                if c.key == HOSTNAME_LABEL {
                    continue;
                }
                let d = cx.topo.domain(c.key_id, nid);
                if d != NONE && !s.score_present[i][d as usize] {
                    s.score_present[i][d as usize] = true;
                    topo_size[i] += 1;
                }
            }
        }
        s.weights.clear();
        for (i, c) in s.score.iter().enumerate() {
            let size = if c.key == HOSTNAME_LABEL {
                feasible.len() - s.ignored.len()
            } else {
                topo_size[i]
            };
            s.weights.push(((size + 2) as f64).ln());
        }
        for (i, c) in s.score.iter().enumerate() {
            // Hostname counts are read per node in Score. No feasible node has
            // this key (e.g. the system default zone constraint on zoneless
            // nodes): there is no domain to count into.
            if c.key == HOSTNAME_LABEL || topo_size[i] == 0 {
                continue;
            }
            let Some(sel) = c.sel_id else { continue };
            let check = may_exclude(c, cx.spec);
            let doms = cx.topo.domains(c.key_id);
            let per_node = cx.counts.per_node(sel);
            let (counts, present) = (&mut s.score_counts[i], &s.score_present[i]);
            for &nid in cx.nodes {
                let d = doms.get(nid.idx()).copied().unwrap_or(NONE);
                if d == NONE
                    || !present[d as usize]
                    || (require_all && !has_all_keys(cx, nid, &s.score))
                    || (check && !included(c, cx.spec, cx.world.node(nid)))
                {
                    continue;
                }
                counts[d as usize] += i64::from(per_node.get(nid.idx()).copied().unwrap_or(0));
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
        for (i, c) in s.score.iter().enumerate() {
            let d = cx.topo.domain(c.key_id, node.id);
            if d == NONE {
                continue;
            }
            let cnt = if c.key == HOSTNAME_LABEL {
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
        let doms: Vec<_> = s.score.iter().map(|c| cx.topo.domains(c.key_id)).collect();
        let on_node: Vec<_> = s
            .score
            .iter()
            .map(|c| {
                if c.key == HOSTNAME_LABEL {
                    c.sel_id.map(|id| cx.counts.per_node(id))
                } else {
                    None
                }
            })
            .collect();
        let hostname: Vec<bool> = s.score.iter().map(|c| c.key == HOSTNAME_LABEL).collect();
        out.extend(feasible.iter().map(|&n| {
            if !s.ignored.is_empty() && s.ignored.contains(&n) {
                return 0;
            }
            let mut score = 0f64;
            for (i, c) in s.score.iter().enumerate() {
                let d = doms[i].get(n.idx()).copied().unwrap_or(NONE);
                if d == NONE {
                    continue;
                }
                let cnt = if hostname[i] {
                    on_node[i]
                        .as_ref()
                        .map_or(0, |pn| i64::from(pn.get(n.idx()).copied().unwrap_or(0)))
                } else {
                    s.score_counts[i].get(d as usize).copied().unwrap_or(0)
                };
                score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
            }
            round_to_i64(score)
        }));
    }

    fn normalize(&self, _: &CycleContext, state: &State, feasible: &[NodeId], scores: &mut [i64]) {
        let Some(s) = state.get::<SpreadState>() else {
            return;
        };
        let ignored = |j: usize| !s.ignored.is_empty() && s.ignored.contains(&feasible[j]);
        let (mut min, mut max) = (i64::MAX, 0i64);
        for (j, &sc) in scores.iter().enumerate() {
            if ignored(j) {
                continue;
            }
            min = min.min(sc);
            max = max.max(sc);
        }
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
