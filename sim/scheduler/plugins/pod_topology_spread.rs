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

use std::collections::HashMap;

use crate::model::labels::Labels;
use crate::model::labels::{LabelSelector, Operator, Requirement};
use crate::model::taints::{find_untolerated, is_do_not_schedule};
use crate::model::{
    HOSTNAME_LABEL, InclusionPolicy, Node, NodeId, Owner, PodId, PodSpec, TopologySpreadConstraint,
    UnsatisfiableAction, World, ZONE_LABEL,
};
use crate::scheduler::framework::*;
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

/// A constraint ready to count with: the selector with matchLabelKeys merged.
#[derive(Clone, Debug)]
struct Constraint {
    max_skew: i64,
    key: String,
    selector: Option<LabelSelector>,
    min_domains: i64,
    affinity_policy: InclusionPolicy,
    taints_policy: InclusionPolicy,
}

#[derive(Default)]
struct SpreadState {
    // Filter
    filter: Vec<Constraint>,
    /// Per filter constraint: matching pods per domain value.
    counts: Vec<HashMap<String, i64>>,
    min_match: Vec<i64>,
    self_match: Vec<bool>,
    // Score
    score: Vec<Constraint>,
    score_counts: Vec<HashMap<String, i64>>,
    weights: Vec<f64>,
    ignored: Vec<NodeId>,
    /// Per constraint, by node index: the node counts toward the constraint's domains.
    eligible: Vec<Vec<bool>>,
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
    }
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

fn has_all_keys(node: &Node, cs: &[Constraint]) -> bool {
    cs.iter().all(|c| node.labels.contains_key(&c.key))
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

/// Add to `counts[domain]` the pods matching `c` on eligible nodes: through
/// the label index when the selector has an `In` requirement, else by
/// visiting every node's pods.
fn count_into(
    cx: &CycleContext,
    c: &Constraint,
    ns: &str,
    eligible: &[bool],
    counts: &mut HashMap<String, i64>,
) {
    let Some(sel) = &c.selector else { return };
    let world = cx.world;
    let mut add = |p: crate::model::PodId| {
        let q = world.pod(p);
        let Some(n) = q.node else { return };
        if !eligible[n.idx()]
            || q.deleted
            || q.deleting_since.is_some()
            || q.namespace != ns
            || !sel.matches(&world.spec(q.spec).labels)
        {
            return;
        }
        if let Some(v) = world.node(n).labels.get(&c.key)
            && let Some(slot) = counts.get_mut(v)
        {
            *slot += 1;
        }
    };
    match cx.labels.candidates(ns, sel) {
        Some(pods) => pods.into_iter().for_each(&mut add),
        None => {
            for &nid in cx.nodes {
                if eligible[nid.idx()] {
                    world.node(nid).pods.iter().copied().for_each(&mut add);
                }
            }
        }
    }
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
        let ns = cx.namespace();
        let n = s.filter.len();
        s.counts.iter_mut().for_each(HashMap::clear);
        s.counts.resize_with(n, HashMap::new);
        // Domains of the eligible nodes (with zero counts), then the pods.
        let nn = cx.world.nodes.len();
        s.eligible.resize_with(n, Vec::new);
        for (i, c) in s.filter.iter().enumerate() {
            let el = &mut s.eligible[i];
            el.clear();
            el.resize(nn, false);
            for &nid in cx.nodes {
                let node = cx.world.node(nid);
                if has_all_keys(node, &s.filter) && included(c, cx.spec, node) {
                    el[nid.idx()] = true;
                    s.counts[i].entry(node.labels[&c.key].clone()).or_insert(0);
                }
            }
            count_into(cx, c, ns, el, &mut s.counts[i]);
        }
        s.min_match.clear();
        s.self_match.clear();
        for (i, c) in s.filter.iter().enumerate() {
            let domains = s.counts[i].len() as i64;
            let min = s.counts[i].values().copied().min().unwrap_or(0);
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
            let Some(v) = node.node.labels.get(&c.key) else {
                return Status::unresolvable(REASON_MISSING_LABEL);
            };
            let mut match_num = s.counts[i].get(v).copied().unwrap_or(0);
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
        let require_all = !cx.spec.topology_spread.is_empty() || !system;
        let n = s.score.len();
        s.score_counts.iter_mut().for_each(HashMap::clear);
        s.score_counts.resize_with(n, HashMap::new);
        s.ignored.clear();
        let mut topo_size = vec![0usize; n];
        for &nid in feasible {
            let node = cx.world.node(nid);
            if require_all && !has_all_keys(node, &s.score) {
                s.ignored.push(nid);
                continue;
            }
            for (i, c) in s.score.iter().enumerate() {
                if c.key == HOSTNAME_LABEL {
                    continue;
                }
                let Some(v) = node.labels.get(&c.key) else {
                    continue;
                };
                if !s.score_counts[i].contains_key(v) {
                    s.score_counts[i].insert(v.clone(), 0);
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
        let ns = cx.namespace();
        let nn = cx.world.nodes.len();
        s.eligible.resize_with(n, Vec::new);
        for (i, c) in s.score.iter().enumerate() {
            // No feasible node has this key (e.g. the system default zone
            // constraint on zoneless nodes): there is no domain to count into,
            // so skip the walk over every node.
            if c.key == HOSTNAME_LABEL || s.score_counts[i].is_empty() {
                continue;
            }
            let el = &mut s.eligible[i];
            el.clear();
            el.resize(nn, false);
            for &nid in cx.nodes {
                let node = cx.world.node(nid);
                if (!require_all || has_all_keys(node, &s.score))
                    && included(c, cx.spec, node)
                    && node
                        .labels
                        .get(&c.key)
                        .is_some_and(|v| s.score_counts[i].contains_key(v))
                {
                    el[nid.idx()] = true;
                }
            }
            count_into(cx, c, ns, el, &mut s.score_counts[i]);
        }
        Status::SUCCESS
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
        let Some(s) = state.get::<SpreadState>() else {
            return 0;
        };
        if s.ignored.contains(&node.id) {
            return 0;
        }
        let mut score = 0f64;
        for (i, c) in s.score.iter().enumerate() {
            let Some(v) = node.node.labels.get(&c.key) else {
                continue;
            };
            let cnt = if c.key == HOSTNAME_LABEL {
                count_matching(cx.world, node.pods(), &c.selector, cx.namespace())
            } else {
                s.score_counts[i].get(v).copied().unwrap_or(0)
            };
            score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    fn normalize(&self, _: &CycleContext, state: &State, feasible: &[NodeId], scores: &mut [i64]) {
        let Some(s) = state.get::<SpreadState>() else {
            return;
        };
        let ignored: Vec<bool> = feasible.iter().map(|n| s.ignored.contains(n)).collect();
        let (mut min, mut max) = (i64::MAX, 0i64);
        for (j, &sc) in scores.iter().enumerate() {
            if ignored[j] {
                continue;
            }
            min = min.min(sc);
            max = max.max(sc);
        }
        for (j, sc) in scores.iter_mut().enumerate() {
            if ignored[j] {
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
