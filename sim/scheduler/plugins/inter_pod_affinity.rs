//! InterPodAffinity: required pod affinity / anti-affinity of the incoming pod,
//! and existing pods' required anti-affinity against it, filter by topology
//! domain; preferred terms (both ways) and existing pods' required affinity
//! (×`hardPodAffinityWeight`) score, min-max normalised.
//!
//! Follows pkg/scheduler/framework/plugins/interpodaffinity/{plugin,filtering,
//! scoring}.go (v1.35). Terminating pods count (upstream checks no deletion
//! timestamp here). Namespace labels are not modelled: a `namespaceSelector`
//! sees only `kubernetes.io/metadata.name`.
//!
//! Counts are kept per (topology key, domain) with both as integers from the
//! scheduler's [`TopologyIndex`](crate::scheduler::indexes::TopologyIndex);
//! an incoming pod's required anti-affinity term in its own namespaces reads
//! per-node match counts from [`MatchCounts`](crate::scheduler::indexes::MatchCounts)
//! instead of visiting the matching pods.

use crate::model::labels::Labels;
use std::collections::BTreeSet;

use crate::model::{PodAffinityTerm, PodId, SpecId, World};
use crate::scheduler::framework::*;
use crate::scheduler::indexes::{KeyId, NONE};

pub const NAME: &str = "InterPodAffinity";
/// `ErrReasonAffinityRulesNotMatch`.
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// `ErrReasonAntiAffinityRulesNotMatch`.
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

pub struct InterPodAffinity {
    pub hard_pod_affinity_weight: i64,
    pub ignore_preferred_terms_of_existing_pods: bool,
}

/// `AffinityTerm.Matches`: the target pod's namespace is selected and the
/// selector matches its labels. `owner_ns` is the namespace of the pod whose term it is.
pub fn term_matches(term: &PodAffinityTerm, owner_ns: &str, ns: &str, labels: &Labels) -> bool {
    let ns_ok = if term.namespaces.is_empty() && term.namespace_selector.is_none() {
        ns == owner_ns
    } else {
        term.namespaces.iter().any(|n| n == ns)
            || term.namespace_selector.as_ref().is_some_and(|sel| {
                let mut l = Labels::new();
                l.insert("kubernetes.io/metadata.name".into(), ns.to_string());
                sel.matches(&l)
            })
    };
    ns_ok && term.selector.as_ref().is_some_and(|s| s.matches(labels))
}

/// Counts per topology key (one entry per key), by domain id.
type Pairs = Vec<(KeyId, Vec<i64>)>;

/// A few counts for one node's own domains (hypothetical views).
type Delta = Vec<(KeyId, u32, i64)>;

/// Bound pods that may match `term` (a superset, id order), through the label
/// index; `None` when the term cannot be narrowed (a namespace selector, or a
/// selector without an `In` requirement).
fn term_candidates(
    cx: &CycleContext,
    term: &PodAffinityTerm,
    owner_ns: &str,
) -> Option<Vec<PodId>> {
    if term.namespace_selector.is_some() {
        return None;
    }
    let Some(sel) = &term.selector else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    if term.namespaces.is_empty() {
        out = cx.labels.candidates(owner_ns, sel)?;
    } else {
        for ns in &term.namespaces {
            out.extend(cx.labels.candidates(ns, sel)?);
        }
        out.sort_unstable();
        out.dedup();
    }
    Some(out)
}

/// The node of a bound pod, if it is a live node.
fn live_node(world: &World, p: PodId) -> Option<NodeId> {
    let n = world.pod(p).node?;
    (!world.node(n).deleted).then_some(n)
}

/// The counts of `key` in `m`, created (sized to the key's domains) if absent.
fn slot<'m>(cx: &CycleContext, m: &'m mut Pairs, key: KeyId) -> &'m mut Vec<i64> {
    let i = match m.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            m.push((key, vec![0; cx.topo.num_domains(key)]));
            m.len() - 1
        }
    };
    &mut m[i].1
}

fn update(cx: &CycleContext, m: &mut Pairs, node: NodeId, key: &str, v: i64) {
    let key = cx.topo.track(cx.world, key);
    let d = cx.topo.domain(key, node);
    if d != NONE {
        let c = slot(cx, m, key);
        if c.len() <= d as usize {
            c.resize(d as usize + 1, 0);
        }
        c[d as usize] += v;
    }
}

fn count(m: &Pairs, key: KeyId, d: u32) -> i64 {
    m.iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, c)| c.get(d as usize))
        .copied()
        .unwrap_or(0)
}

fn any_nonzero(m: &Pairs) -> bool {
    m.iter().any(|(_, c)| c.iter().any(|&v| v != 0))
}

#[derive(Default)]
struct AffinityState {
    existing_anti: Pairs,
    affinity: Pairs,
    anti_affinity: Pairs,
    /// Scoring: per topology key, the score of each domain.
    topology_score: Pairs,
}

fn pod_ns_labels(world: &World, p: PodId) -> (&str, &Labels) {
    let q = world.pod(p);
    (&q.namespace, &world.spec(q.spec).labels)
}

/// Pods matching `term` per node through the incoming pod's match counts, added
/// to `m` by domain; `false` when the term needs a namespace selector (then
/// the caller visits pods).
fn add_term_counts(cx: &CycleContext, m: &mut Pairs, term: &PodAffinityTerm, ns: &str) -> bool {
    if term.namespace_selector.is_some() {
        return false;
    }
    let Some(sel) = &term.selector else {
        return true;
    };
    let key = cx.topo.track(cx.world, &term.topology_key);
    let mut namespaces: Vec<&str> = if term.namespaces.is_empty() {
        vec![ns]
    } else {
        term.namespaces.iter().map(String::as_str).collect()
    };
    namespaces.sort_unstable();
    namespaces.dedup();
    let ids: Vec<_> = namespaces
        .iter()
        .map(|n| cx.counts.track(cx.world, n, sel, true))
        .collect();
    let doms = cx.topo.domains(key);
    let c = slot(cx, m, key);
    for id in ids {
        let per_node = cx.counts.per_node(id);
        for &nid in cx.nodes {
            let cnt = per_node.get(nid.idx()).copied().unwrap_or(0);
            if cnt == 0 {
                continue;
            }
            let d = doms.get(nid.idx()).copied().unwrap_or(NONE);
            if d != NONE {
                if c.len() <= d as usize {
                    c.resize(d as usize + 1, 0);
                }
                c[d as usize] += i64::from(cnt);
            }
        }
    }
    true
}

impl Plugin for InterPodAffinity {
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

impl InterPodAffinity {
    /// Existing pods' required anti-affinity terms that match the incoming
    /// pod, counted by the existing pod's domain. Only pods with terms of
    /// their own can have any; a (spec, namespace) none of whose terms
    /// selects the incoming pod is examined once per cycle, not once per pod.
    fn existing_anti(&self, cx: &CycleContext, s: &mut AffinityState) {
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let mut unmatched: BTreeSet<(SpecId, &str)> = BTreeSet::new();
        for &p in cx.pods_with_affinity {
            let Some(node) = live_node(world, p) else {
                continue;
            };
            let q = world.pod(p);
            let key = (q.spec, q.namespace.as_str());
            if unmatched.contains(&key) {
                continue;
            }
            let mut any = false;
            for t in &world.spec(q.spec).pod_anti_affinity.required {
                if term_matches(t, &q.namespace, ns, labels) {
                    any = true;
                    update(cx, &mut s.existing_anti, node, &t.topology_key, 1);
                }
            }
            if !any {
                unmatched.insert(key);
            }
        }
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status {
        let s = state.get_or_default::<AffinityState>();
        s.existing_anti.clear();
        s.affinity.clear();
        s.anti_affinity.clear();
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let req_aff = &cx.spec.pod_affinity.required;
        let req_anti = &cx.spec.pod_anti_affinity.required;
        let aff_cands = req_aff
            .first()
            .map_or(Some(Vec::new()), |t| term_candidates(cx, t, ns));
        let anti_indexed = req_anti.iter().all(|t| t.namespace_selector.is_none());
        if req_aff.is_empty() && req_anti.is_empty() {
            self.existing_anti(cx, s);
        } else if let (Some(aff), true) = (aff_cands, anti_indexed) {
            // Pods matching the first affinity term (all must match), pods
            // matching each anti-affinity term, and pods with required
            // anti-affinity of their own.
            for p in aff {
                if let Some(node) = live_node(world, p) {
                    let q = world.pod(p);
                    let ql = &world.spec(q.spec).labels;
                    if req_aff
                        .iter()
                        .all(|t| term_matches(t, ns, &q.namespace, ql))
                    {
                        for t in req_aff {
                            update(cx, &mut s.affinity, node, &t.topology_key, 1);
                        }
                    }
                }
            }
            for t in req_anti {
                add_term_counts(cx, &mut s.anti_affinity, t, ns);
            }
            self.existing_anti(cx, s);
        } else {
            for &nid in cx.nodes {
                for &p in &world.node(nid).pods {
                    let q = world.pod(p);
                    let qs = world.spec(q.spec);
                    for t in &qs.pod_anti_affinity.required {
                        if term_matches(t, &q.namespace, ns, labels) {
                            update(cx, &mut s.existing_anti, nid, &t.topology_key, 1);
                        }
                    }
                    let (qns, ql) = (&q.namespace, &qs.labels);
                    if !req_aff.is_empty() && req_aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
                        for t in req_aff {
                            update(cx, &mut s.affinity, nid, &t.topology_key, 1);
                        }
                    }
                    for t in req_anti {
                        if term_matches(t, ns, qns, ql) {
                            update(cx, &mut s.anti_affinity, nid, &t.topology_key, 1);
                        }
                    }
                }
            }
        }
        if !any_nonzero(&s.existing_anti) && req_aff.is_empty() && req_anti.is_empty() {
            return Status::SKIP;
        }
        Status::SUCCESS
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> Status {
        let Some(s) = state.get::<AffinityState>() else {
            return Status::SUCCESS;
        };
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let nid = node.id;
        let hyp = node.is_hypothetical();
        // Pods added to or removed from this node in a hypothetical view shift
        // the counts of this node's own domains (AddPod/RemovePod extensions).
        let delta = |keys_of: &dyn Fn(PodId, &mut Vec<String>)| -> Delta {
            let mut d = Delta::new();
            let mut keys = Vec::new();
            for (pods, sign) in [(node.added, 1), (node.removed, -1)] {
                for &p in pods {
                    keys.clear();
                    keys_of(p, &mut keys);
                    for k in &keys {
                        let key = cx.topo.track(world, k);
                        let dom = cx.topo.domain(key, nid);
                        if dom != NONE {
                            d.push((key, dom, sign));
                        }
                    }
                }
            }
            d
        };
        let get = |m: &Pairs, d: &Delta, key: KeyId, dom: u32| -> i64 {
            count(m, key, dom)
                + d.iter()
                    .filter(|e| e.0 == key && e.1 == dom)
                    .map(|e| e.2)
                    .sum::<i64>()
        };

        // 1. The incoming pod's required affinity.
        let req_aff = &cx.spec.pod_affinity.required;
        if !req_aff.is_empty() {
            let d = if hyp {
                delta(&|p, keys| {
                    let (qns, ql) = pod_ns_labels(world, p);
                    if req_aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
                        keys.extend(req_aff.iter().map(|t| t.topology_key.clone()));
                    }
                })
            } else {
                Delta::new()
            };
            let mut pods_exist = true;
            for t in req_aff {
                let key = cx.topo.track(world, &t.topology_key);
                let dom = cx.topo.domain(key, nid);
                if dom == NONE {
                    return Status::unresolvable(REASON_AFFINITY);
                }
                if get(&s.affinity, &d, key, dom) <= 0 {
                    pods_exist = false;
                }
            }
            if !pods_exist {
                let first_of_group = !any_nonzero(&s.affinity)
                    && d.iter().all(|e| get(&Pairs::new(), &d, e.0, e.1) == 0)
                    && req_aff.iter().all(|t| term_matches(t, ns, ns, labels));
                if !first_of_group {
                    return Status::unresolvable(REASON_AFFINITY);
                }
            }
        }
        // 2. The incoming pod's required anti-affinity.
        let req_anti = &cx.spec.pod_anti_affinity.required;
        if !req_anti.is_empty() {
            let d = if hyp {
                delta(&|p, keys| {
                    let (qns, ql) = pod_ns_labels(world, p);
                    for t in req_anti {
                        if term_matches(t, ns, qns, ql) {
                            keys.push(t.topology_key.clone());
                        }
                    }
                })
            } else {
                Delta::new()
            };
            for t in req_anti {
                let key = cx.topo.track(world, &t.topology_key);
                let dom = cx.topo.domain(key, nid);
                if dom != NONE && get(&s.anti_affinity, &d, key, dom) > 0 {
                    return Status::unschedulable(REASON_ANTI_AFFINITY);
                }
            }
        }
        // 3. Existing pods' required anti-affinity against the incoming pod.
        if !s.existing_anti.is_empty() || hyp {
            let d = if hyp {
                delta(&|p, keys| {
                    let q = world.pod(p);
                    for t in &world.spec(q.spec).pod_anti_affinity.required {
                        if term_matches(t, &q.namespace, ns, labels) {
                            keys.push(t.topology_key.clone());
                        }
                    }
                })
            } else {
                Delta::new()
            };
            let keys = s
                .existing_anti
                .iter()
                .map(|e| e.0)
                .chain(d.iter().map(|e| e.0));
            for key in keys {
                let dom = cx.topo.domain(key, nid);
                if dom != NONE && get(&s.existing_anti, &d, key, dom) > 0 {
                    return Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
                }
            }
        }
        Status::SUCCESS
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
        let s = state.get_or_default::<AffinityState>();
        s.topology_score.clear();
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let pref_aff = &cx.spec.pod_affinity.preferred;
        let pref_anti = &cx.spec.pod_anti_affinity.preferred;
        let has_constraints = !pref_aff.is_empty() || !pref_anti.is_empty();
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::SKIP;
        }
        let mut add = |key: &str, node: NodeId, v: i64| {
            update(cx, &mut s.topology_score, node, key, v);
        };
        let mut visit = |node: NodeId, p: PodId| {
            let q = world.pod(p);
            let qs = world.spec(q.spec);
            for (w, t) in pref_aff {
                if term_matches(t, ns, &q.namespace, &qs.labels) {
                    add(&t.topology_key, node, i64::from(*w));
                }
            }
            for (w, t) in pref_anti {
                if term_matches(t, ns, &q.namespace, &qs.labels) {
                    add(&t.topology_key, node, -i64::from(*w));
                }
            }
            if self.hard_pod_affinity_weight > 0 {
                for t in &qs.pod_affinity.required {
                    if term_matches(t, &q.namespace, ns, labels) {
                        add(&t.topology_key, node, self.hard_pod_affinity_weight);
                    }
                }
            }
            for (w, t) in &qs.pod_affinity.preferred {
                if term_matches(t, &q.namespace, ns, labels) {
                    add(&t.topology_key, node, i64::from(*w));
                }
            }
            for (w, t) in &qs.pod_anti_affinity.preferred {
                if term_matches(t, &q.namespace, ns, labels) {
                    add(&t.topology_key, node, -i64::from(*w));
                }
            }
        };
        let indexed: Option<Vec<Vec<PodId>>> = pref_aff
            .iter()
            .chain(pref_anti.iter())
            .map(|(_, t)| term_candidates(cx, t, ns))
            .collect();
        if has_constraints && indexed.is_none() {
            for &nid in cx.nodes {
                for &p in &world.node(nid).pods {
                    visit(nid, p);
                }
            }
        } else if has_constraints {
            // The incoming pod's terms over their candidates, then the terms of
            // pods with affinity over the incoming pod.
            let cands = indexed.unwrap();
            let terms = pref_aff
                .iter()
                .map(|(w, t)| (i64::from(*w), t))
                .chain(pref_anti.iter().map(|(w, t)| (-i64::from(*w), t)));
            for ((w, t), pods) in terms.zip(cands) {
                for p in pods {
                    let Some(node) = live_node(world, p) else {
                        continue;
                    };
                    let q = world.pod(p);
                    if term_matches(t, ns, &q.namespace, &world.spec(q.spec).labels) {
                        add(&t.topology_key, node, w);
                    }
                }
            }
            for &p in cx.pods_with_affinity {
                let Some(node) = live_node(world, p) else {
                    continue;
                };
                let q = world.pod(p);
                let qs = world.spec(q.spec);
                if self.hard_pod_affinity_weight > 0 {
                    for t in &qs.pod_affinity.required {
                        if term_matches(t, &q.namespace, ns, labels) {
                            add(&t.topology_key, node, self.hard_pod_affinity_weight);
                        }
                    }
                }
                for (w, t) in &qs.pod_affinity.preferred {
                    if term_matches(t, &q.namespace, ns, labels) {
                        add(&t.topology_key, node, i64::from(*w));
                    }
                }
                for (w, t) in &qs.pod_anti_affinity.preferred {
                    if term_matches(t, &q.namespace, ns, labels) {
                        add(&t.topology_key, node, -i64::from(*w));
                    }
                }
            }
        } else {
            // Without preferred terms of its own, only pods with affinity terms score.
            for &p in cx.pods_with_affinity {
                if let Some(n) = live_node(world, p) {
                    visit(n, p);
                }
            }
        }
        if s.topology_score.is_empty() {
            return Status::SKIP;
        }
        Status::SUCCESS
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
        let Some(s) = state.get::<AffinityState>() else {
            return 0;
        };
        s.topology_score
            .iter()
            .map(|(k, vals)| {
                let d = cx.topo.domain(*k, node.id);
                vals.get(d as usize).copied().unwrap_or(0)
            })
            .sum()
    }

    fn normalize(&self, _: &CycleContext, state: &State, _: &[NodeId], scores: &mut [i64]) {
        if state
            .get::<AffinityState>()
            .is_none_or(|s| s.topology_score.is_empty())
        {
            return;
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}

impl EnqueueExtensions for InterPodAffinity {
    /// Pod Add | UpdatePodLabel | Delete; Node Add | UpdateNodeLabel.
    fn events_to_register(&self) -> Events {
        Events {
            node: ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL),
            pod: ActionType::ADD
                .or(ActionType::UPDATE_POD_LABEL)
                .or(ActionType::DELETE),
        }
    }

    /// `isSchedulableAfterPodChange` (only bound pods count): an added pod
    /// matching every required affinity term; a deleted pod matching a required
    /// anti-affinity term of this pod (PR #139161: any term), or whose own
    /// required anti-affinity matched this pod (PR #135325).
    /// `isSchedulableAfterNodeChange` (PR #127470): a node gained, or changed the
    /// value of, an affinity term's topology key; for anti-affinity, a node was
    /// added, or lost or changed the key.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let aff = &cx.spec.pod_affinity.required;
        let anti = &cx.spec.pod_anti_affinity.required;
        let queue = match *event {
            ClusterEvent::AssignedPodAdded(p) => {
                let (qns, ql) = pod_ns_labels(world, p);
                !aff.is_empty() && aff.iter().all(|t| term_matches(t, ns, qns, ql))
            }
            ClusterEvent::AssignedPodDeleted(p) => {
                let (qns, ql) = pod_ns_labels(world, p);
                anti.iter().any(|t| term_matches(t, ns, qns, ql))
                    || world
                        .pod_spec(p)
                        .pod_anti_affinity
                        .required
                        .iter()
                        .any(|t| term_matches(t, qns, ns, labels))
            }
            ClusterEvent::UnscheduledPodDeleted(_) => false,
            _ => match event.node() {
                Some((_, old, Some(new))) => {
                    fn value<'n>(n: Option<&'n NodeSnapshot>, key: &str) -> Option<&'n String> {
                        n.and_then(|n| n.labels.get(key))
                    }
                    let values = |key: &str| (value(old, key), value(Some(new), key));
                    aff.iter().any(|t| {
                        let (o, n) = values(&t.topology_key);
                        n.is_some() && o != n
                    }) || anti.iter().any(|t| {
                        let (o, n) = values(&t.topology_key);
                        old.is_none() || (o.is_some() && o != n)
                    })
                }
                _ => false,
            },
        };
        QueueingHint::queue_if(queue)
    }
}
