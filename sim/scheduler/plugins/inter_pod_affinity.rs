//! InterPodAffinity: required pod affinity / anti-affinity of the incoming pod,
//! and existing pods' required anti-affinity against it, filter by topology
//! domain; preferred terms (both ways) and existing pods' required affinity
//! (×`hardPodAffinityWeight`) score, min-max normalised.
//!
//! Follows pkg/scheduler/framework/plugins/interpodaffinity/{plugin,filtering,
//! scoring}.go (v1.35). Terminating pods count (upstream checks no deletion
//! timestamp here); Succeeded and Failed pods do not (the scheduler's pod
//! informer drops them). Namespace labels are not modelled: a
//! `namespaceSelector` sees only `kubernetes.io/metadata.name`.
//!
//! Counts are kept per (topology key, domain) with both as integers from the
//! scheduler's [`TopologyIndex`](crate::scheduler::indexes::TopologyIndex).
//! Existing pods' terms come from the [`TermIndex`](crate::scheduler::term_index::TermIndex),
//! which counts their owners per domain as pods bind and leave: a cycle
//! reads the counts of the terms that select the incoming pod instead of
//! visiting every pod with affinity. The incoming pod's own required
//! anti-affinity terms read per-node match counts from
//! [`MatchCounts`](crate::scheduler::indexes::MatchCounts), and its other
//! terms visit the candidates the label index gives (all pods only for a
//! namespace selector or a selector without an `In` requirement).

use crate::model::labels::Labels;

use crate::model::{PodAffinityTerm, PodId, World};
use crate::scheduler::framework::*;
use crate::scheduler::indexes::{KeyId, NONE};
use crate::scheduler::term_index::{TermRef, counted_node};

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

/// Counts per topology key by domain id (upstream's `topologyToMatchedTermCount`
/// and `scoreMap`). A key has an entry once a count was added for it, as a
/// key of upstream's map. Entries are kept between cycles and zeroed, so a
/// cycle does not allocate them again.
#[derive(Default)]
struct Counts {
    entries: Vec<(KeyId, Vec<i64>)>,
    /// Entries in use (the others are zeroed spares).
    len: usize,
}

impl Counts {
    fn reset(&mut self) {
        for (_, c) in &mut self.entries[..self.len] {
            c.fill(0);
        }
        self.len = 0;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn active(&self) -> &[(KeyId, Vec<i64>)] {
        &self.entries[..self.len]
    }

    /// The counts of `key`, created (sized to the key's domains) if absent.
    fn slot(&mut self, cx: &CycleContext, key: KeyId) -> &mut Vec<i64> {
        let i = match self.active().iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                if self.entries.len() == self.len {
                    self.entries.push((key, Vec::new()));
                }
                let e = &mut self.entries[self.len];
                e.0 = key;
                e.1.resize(cx.topo.num_domains(key), 0);
                self.len += 1;
                self.len - 1
            }
        };
        &mut self.entries[i].1
    }

    fn add(&mut self, cx: &CycleContext, key: KeyId, d: u32, v: i64) {
        let c = self.slot(cx, key);
        if c.len() <= d as usize {
            c.resize(d as usize + 1, 0);
        }
        c[d as usize] += v;
    }

    /// Add `v` for `node`'s domain of `key`, if the node has the key.
    fn update(&mut self, cx: &CycleContext, node: NodeId, key: &str, v: i64) {
        let key = cx.topo.track(cx.world, key);
        let d = cx.topo.domain(key, node);
        if d != NONE {
            self.add(cx, key, d, v);
        }
    }

    /// Every domain's count of `key` (empty without an entry).
    fn of(&self, key: KeyId) -> &[i64] {
        let c = self.active().iter().find(|(k, _)| *k == key);
        c.map_or(&[][..], |(_, c)| c.as_slice())
    }

    fn get(&self, key: KeyId, d: u32) -> i64 {
        self.active()
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, c)| c.get(d as usize))
            .copied()
            .unwrap_or(0)
    }

    fn nonzero(&self) -> usize {
        self.active()
            .iter()
            .map(|(_, c)| c.iter().filter(|&&v| v != 0).count())
            .sum()
    }
}

/// A few count changes at one node's own domains (a hypothetical view).
type Delta = Vec<(KeyId, u32, i64)>;

/// The sum of the changes at `(key, dom)`.
fn delta_at(d: &Delta, key: KeyId, dom: u32) -> i64 {
    d.iter()
        .filter(|e| e.0 == key && e.1 == dom)
        .map(|e| e.2)
        .sum()
}

#[derive(Default)]
struct AffinityState {
    /// Existing pods' required anti-affinity terms that select the pod and
    /// have owners on nodes with the term's key.
    existing: Vec<TermRef>,
    affinity: Counts,
    anti_affinity: Counts,
    /// Nonzero entries of `affinity`.
    affinity_nonzero: usize,
    /// The keys of the pod's required affinity and anti-affinity terms.
    affinity_keys: Vec<KeyId>,
    anti_affinity_keys: Vec<KeyId>,
    /// The pod matches all its own required affinity terms.
    matches_own_affinity: bool,
    /// Scoring: per topology key, the score of each domain from the pod's
    /// own preferred terms …
    topology_score: Counts,
    /// … and from existing pods' terms: a group's pods per domain × weight.
    existing_score: Vec<(TermRef, i64)>,
}

fn pod_ns_labels(world: &World, p: PodId) -> (&str, &Labels) {
    let q = world.pod(p);
    (&q.namespace, &world.spec(q.spec).labels)
}

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

/// Pods matching `term` per node through the incoming pod's match counts, added
/// to `m` by domain; `false` when the term needs a namespace selector (then
/// the caller visits pods).
fn add_term_counts(cx: &CycleContext, m: &mut Counts, term: &PodAffinityTerm, ns: &str) -> bool {
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
    let c = m.slot(cx, key);
    let doms = cx.topo.domains(key);
    for id in ids {
        // By node id: a node that is deleted (not among the cycle's nodes)
        // has no domain.
        let per_node = cx.counts.per_node(id);
        for (&cnt, &d) in per_node.iter().zip(doms.iter()) {
            if cnt != 0 && d != NONE {
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

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status {
        let s = state.get_or_default::<AffinityState>();
        s.affinity.reset();
        s.anti_affinity.reset();
        s.affinity_keys.clear();
        s.anti_affinity_keys.clear();
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        // `getExistingAntiAffinityCounts`: the owners' counts per domain are
        // the index's; only terms with owners on keyed nodes are kept.
        s.existing.clear();
        let matched = cx.terms.matched(world, cx.spec_id(), ns);
        s.existing
            .extend((matched.anti.iter()).filter(|r| cx.terms.total(r.group, r.slot) > 0));
        drop(matched);
        let req_aff = &cx.spec.pod_affinity.required;
        let req_anti = &cx.spec.pod_anti_affinity.required;
        if req_aff.is_empty() && req_anti.is_empty() {
            if s.existing.is_empty() {
                return Status::SKIP;
            }
            return Status::SUCCESS;
        }
        for t in req_aff {
            s.affinity_keys.push(cx.topo.track(world, &t.topology_key));
        }
        for t in req_anti {
            s.anti_affinity_keys
                .push(cx.topo.track(world, &t.topology_key));
        }
        s.matches_own_affinity = req_aff.iter().all(|t| term_matches(t, ns, ns, labels));
        // `getIncomingAffinityAntiAffinityCounts`.
        let aff_cands = req_aff
            .first()
            .map_or(Some(Vec::new()), |t| term_candidates(cx, t, ns));
        let anti_indexed = req_anti.iter().all(|t| t.namespace_selector.is_none());
        if let (Some(aff), true) = (aff_cands, anti_indexed) {
            // Pods matching the first affinity term (all must match), and
            // per-node counts of each anti-affinity term.
            for p in aff {
                if let Some(node) = counted_node(world, p) {
                    let (qns, ql) = pod_ns_labels(world, p);
                    if req_aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
                        for t in req_aff {
                            s.affinity.update(cx, node, &t.topology_key, 1);
                        }
                    }
                }
            }
            for t in req_anti {
                add_term_counts(cx, &mut s.anti_affinity, t, ns);
            }
        } else {
            for &nid in cx.nodes {
                for &p in &world.node(nid).pods {
                    let (qns, ql) = pod_ns_labels(world, p);
                    if !req_aff.is_empty() && req_aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
                        for t in req_aff {
                            s.affinity.update(cx, nid, &t.topology_key, 1);
                        }
                    }
                    for t in req_anti {
                        if term_matches(t, ns, qns, ql) {
                            s.anti_affinity.update(cx, nid, &t.topology_key, 1);
                        }
                    }
                }
            }
        }
        s.affinity_nonzero = s.affinity.nonzero();
        Status::SUCCESS
    }
}

impl AffinityState {
    /// Pods of the existing terms' owners in `dom` of `key`.
    fn existing_count(&self, cx: &CycleContext, key: KeyId, dom: u32) -> i64 {
        self.existing
            .iter()
            .filter(|r| r.key == key)
            .map(|r| i64::from(cx.terms.count(r.group, r.slot, dom)))
            .sum()
    }

    /// `satisfyPodAffinity` when `affinity` (with `d` added) has no entry
    /// left: whether the pod may be the first of a group with affinity to
    /// itself.
    fn first_of_group(&self, d: &Delta) -> bool {
        if !self.matches_own_affinity {
            return false;
        }
        // Upstream deletes an entry that drops to zero: count what is left.
        let mut nonzero = self.affinity_nonzero as i64;
        let mut seen: Vec<(KeyId, u32)> = Vec::new();
        for &(key, dom, _) in d {
            if seen.contains(&(key, dom)) {
                continue;
            }
            seen.push((key, dom));
            let base = self.affinity.get(key, dom);
            let now = base + delta_at(d, key, dom);
            nonzero += i64::from(now != 0) - i64::from(base != 0);
        }
        nonzero == 0
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> Status {
        let Some(s) = state.get::<AffinityState>() else {
            return Status::SUCCESS;
        };
        if !node.is_hypothetical() {
            let mut out = Vec::new();
            self.filter_batch(cx, state, &[node.id], &mut out);
            return out.pop().map_or(Status::SUCCESS, |(_, st)| st);
        }
        let world = cx.world;
        let (ns, labels) = pod_ns_labels(world, cx.pod);
        let nid = node.id;
        // Pods added to or removed from this node in a hypothetical view shift
        // the counts of this node's own domains (the AddPod/RemovePod
        // extensions, `preFilterState.updateWithPod`).
        let delta = |keys_of: &dyn Fn(PodId, &mut Vec<KeyId>)| -> Delta {
            let mut d = Delta::new();
            let mut keys = Vec::new();
            for (pods, sign) in [(node.added, 1), (node.removed, -1)] {
                for &p in pods {
                    keys.clear();
                    keys_of(p, &mut keys);
                    for &key in &keys {
                        let dom = cx.topo.domain(key, nid);
                        if dom != NONE {
                            d.push((key, dom, sign));
                        }
                    }
                }
            }
            d
        };

        // 1. The incoming pod's required affinity.
        let req_aff = &cx.spec.pod_affinity.required;
        if !req_aff.is_empty() {
            let d = delta(&|p, keys| {
                let (qns, ql) = pod_ns_labels(world, p);
                if req_aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
                    keys.extend(&s.affinity_keys);
                }
            });
            let mut pods_exist = true;
            for &key in &s.affinity_keys {
                let dom = cx.topo.domain(key, nid);
                if dom == NONE {
                    return Status::unresolvable(REASON_AFFINITY);
                }
                if s.affinity.get(key, dom) + delta_at(&d, key, dom) <= 0 {
                    pods_exist = false;
                }
            }
            if !pods_exist && !s.first_of_group(&d) {
                return Status::unresolvable(REASON_AFFINITY);
            }
        }
        // 2. The incoming pod's required anti-affinity.
        let req_anti = &cx.spec.pod_anti_affinity.required;
        if !req_anti.is_empty() {
            let d = delta(&|p, keys| {
                let (qns, ql) = pod_ns_labels(world, p);
                for (t, &key) in req_anti.iter().zip(&s.anti_affinity_keys) {
                    if term_matches(t, ns, qns, ql) {
                        keys.push(key);
                    }
                }
            });
            for &key in &s.anti_affinity_keys {
                let dom = cx.topo.domain(key, nid);
                if dom != NONE && s.anti_affinity.get(key, dom) + delta_at(&d, key, dom) > 0 {
                    return Status::unschedulable(REASON_ANTI_AFFINITY);
                }
            }
        }
        // 3. Existing pods' required anti-affinity against the incoming pod.
        let d = delta(&|p, keys| {
            let q = world.pod(p);
            for t in &world.spec(q.spec).pod_anti_affinity.required {
                if term_matches(t, &q.namespace, ns, labels) {
                    keys.push(cx.topo.track(world, &t.topology_key));
                }
            }
        });
        let keys = s
            .existing
            .iter()
            .map(|r| r.key)
            .chain(d.iter().map(|e| e.0));
        for key in keys {
            let dom = cx.topo.domain(key, nid);
            if dom != NONE && s.existing_count(cx, key, dom) + delta_at(&d, key, dom) > 0 {
                return Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
            }
        }
        Status::SUCCESS
    }

    /// Nodes as they stand: every count is read by domain id, each key's
    /// domains borrowed once.
    fn filter_batch(
        &self,
        cx: &CycleContext,
        state: &State,
        nodes: &[NodeId],
        rejected: &mut Vec<(usize, Status)>,
    ) {
        let Some(s) = state.get::<AffinityState>() else {
            return;
        };
        let aff: Vec<_> = (s.affinity_keys.iter())
            .map(|&k| (cx.topo.domains(k), s.affinity.of(k)))
            .collect();
        let anti: Vec<_> = (s.anti_affinity_keys.iter())
            .map(|&k| (cx.topo.domains(k), s.anti_affinity.of(k)))
            .collect();
        let existing: Vec<_> = (s.existing.iter())
            .map(|r| (cx.topo.domains(r.key), cx.terms.per_domain(r.group, r.slot)))
            .collect();
        let first_of_group = s.affinity_nonzero == 0 && s.matches_own_affinity;
        let dom_of = |doms: &[u32], n: NodeId| doms.get(n.idx()).copied().unwrap_or(NONE);
        for (j, &n) in nodes.iter().enumerate() {
            let mut pods_exist = true;
            let mut unresolvable = false;
            for (doms, c) in &aff {
                let d = dom_of(doms, n);
                if d == NONE {
                    unresolvable = true;
                    break;
                }
                if c.get(d as usize).copied().unwrap_or(0) <= 0 {
                    pods_exist = false;
                }
            }
            if unresolvable || (!pods_exist && !first_of_group) {
                rejected.push((j, Status::unresolvable(REASON_AFFINITY)));
                continue;
            }
            if anti.iter().any(|(doms, c)| {
                let d = dom_of(doms, n);
                d != NONE && c.get(d as usize).copied().unwrap_or(0) > 0
            }) {
                rejected.push((j, Status::unschedulable(REASON_ANTI_AFFINITY)));
                continue;
            }
            // Counts are never negative: the sum over terms is positive when one is.
            if existing.iter().any(|(doms, c)| {
                let d = dom_of(doms, n);
                d != NONE && c.get(d as usize).copied().unwrap_or(0) > 0
            }) {
                rejected.push((j, Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY)));
            }
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
        let s = state.get_or_default::<AffinityState>();
        s.topology_score.reset();
        s.existing_score.clear();
        let world = cx.world;
        let ns = cx.namespace();
        let pref_aff = &cx.spec.pod_affinity.preferred;
        let pref_anti = &cx.spec.pod_anti_affinity.preferred;
        let has_constraints = !pref_aff.is_empty() || !pref_anti.is_empty();
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::SKIP;
        }
        // The pod's own preferred terms over the pods they may select
        // (`processExistingPod`'s first two `processTerms`).
        let terms: Vec<(i64, &PodAffinityTerm)> = (pref_aff.iter())
            .map(|(w, t)| (i64::from(*w), t))
            .chain(pref_anti.iter().map(|(w, t)| (-i64::from(*w), t)))
            .collect();
        let indexed: Option<Vec<Vec<PodId>>> = terms
            .iter()
            .map(|(_, t)| term_candidates(cx, t, ns))
            .collect();
        match indexed {
            Some(cands) => {
                for (&(w, t), pods) in terms.iter().zip(cands) {
                    for p in pods {
                        let Some(node) = counted_node(world, p) else {
                            continue;
                        };
                        let (qns, ql) = pod_ns_labels(world, p);
                        if term_matches(t, ns, qns, ql) {
                            s.topology_score.update(cx, node, &t.topology_key, w);
                        }
                    }
                }
            }
            None => {
                for &nid in cx.nodes {
                    for &p in &world.node(nid).pods {
                        let (qns, ql) = pod_ns_labels(world, p);
                        for &(w, t) in &terms {
                            if term_matches(t, ns, qns, ql) {
                                s.topology_score.update(cx, nid, &t.topology_key, w);
                            }
                        }
                    }
                }
            }
        }
        // Existing pods' required affinity (×`hardPodAffinityWeight`) and
        // preferred terms that select the pod, from the term index.
        let hard = self.hard_pod_affinity_weight;
        let matched = cx.terms.matched(world, cx.spec_id(), ns);
        for r in &matched.score {
            let hard_terms = if hard > 0 { r.hard } else { 0 };
            if (hard_terms == 0 && r.soft_terms == 0)
                || cx.terms.total(r.term.group, r.term.slot) == 0
            {
                continue;
            }
            s.existing_score.push((r.term, hard_terms * hard + r.soft));
        }
        if s.topology_score.is_empty() && s.existing_score.is_empty() {
            return Status::SKIP;
        }
        Status::SUCCESS
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
        let mut out = Vec::new();
        self.score_all(cx, state, &[node.id], &mut out);
        out[0]
    }

    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        let Some(s) = state.get::<AffinityState>() else {
            out.resize(out.len() + feasible.len(), 0);
            return;
        };
        let own: Vec<_> = (s.topology_score.active().iter())
            .map(|(k, vals)| (cx.topo.domains(*k), vals.as_slice()))
            .collect();
        let existing: Vec<_> = (s.existing_score.iter())
            .map(|(r, w)| {
                let c = cx.terms.per_domain(r.group, r.slot);
                (cx.topo.domains(r.key), c, *w)
            })
            .collect();
        let dom_of = |doms: &[u32], n: NodeId| doms.get(n.idx()).copied().unwrap_or(NONE) as usize;
        out.extend(feasible.iter().map(|&n| {
            let own: i64 = (own.iter())
                .map(|(doms, vals)| vals.get(dom_of(doms, n)).copied().unwrap_or(0))
                .sum();
            let existing: i64 = (existing.iter())
                .map(|(doms, c, w)| w * i64::from(c.get(dom_of(doms, n)).copied().unwrap_or(0)))
                .sum();
            own + existing
        }));
    }

    fn normalize(&self, _: &CycleContext, state: &State, _: &[NodeId], scores: &mut [i64]) {
        if state
            .get::<AffinityState>()
            .is_none_or(|s| s.topology_score.is_empty() && s.existing_score.is_empty())
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
