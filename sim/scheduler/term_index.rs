//! Existing pods' pod affinity and anti-affinity terms, counted by topology
//! domain, so that InterPodAffinity finds the terms that select an incoming
//! pod, and where their owners run, by look-up instead of visiting every pod
//! with affinity in every cycle.
//!
//! Upstream computes this per cycle: PreFilter's `getExistingAntiAffinityCounts`
//! (pkg/scheduler/framework/plugins/interpodaffinity/filtering.go) walks the
//! nodes holding pods with required anti-affinity, and PreScore's
//! `processExistingPod` (scoring.go) the pods with affinity; both add, per
//! (topology key, value of the owner's node), one count per owner and
//! matching term. Pods of one template (`SpecId`) in one namespace own the
//! same terms and match the same incoming pods, so they form a *group*: the
//! index keeps, per group and per topology key its terms use, how many of its
//! pods run in each domain (domain ids from [`TopologyIndex`]). An incoming
//! pod's counts are then the sums, over the groups' terms that select it, of
//! these per-domain counts, read where they are needed.
//!
//! Which groups' terms select a pod depends only on the pod's template (its
//! labels) and namespace, and on the groups' templates and namespaces, all
//! immutable; groups are never removed. So [`TermIndex::matched`] caches it
//! per (template, namespace) and, when new groups appear, examines only those.
//!
//! Which pods count: those in their node's pod list (bound, not removed, not
//! Succeeded or Failed: the scheduler's pod informer drops terminal pods), on
//! a node that is not deleted; terminating pods count. Kept up to date from
//! the change log (`Scheduler::on_change`): a pod change re-examines the pod,
//! a node change the pods on the node. Each pod remembers the domains it was
//! counted in, so that it is subtracted from exactly those whatever changed
//! since. A group's per-domain array is released when its last pod goes.
//! `term_index_matches_full_scan` (sim/scheduler/tests.rs) compares the
//! counts with a scan of every node's pods after each step of random histories.

use crate::hash::HashMap;
use std::cell::{Ref, RefCell};

use crate::model::{NodeId, PodAffinityTerm, PodId, PodSpec, SpecId, World};
use crate::scheduler::indexes::{KeyId, NONE, TopologyIndex};
use crate::scheduler::plugins::inter_pod_affinity::term_matches;

/// Per-domain counts of one group's pods for one topology key.
#[derive(Default)]
struct Slot {
    key: KeyId,
    name: String,
    per_domain: Vec<u32>,
    /// Pods of the group on nodes that have the key.
    total: u32,
}

struct Group {
    spec: SpecId,
    namespace: String,
    /// One per distinct topology key of the template's terms.
    slots: Vec<Slot>,
}

/// Where a pod is counted: its group and, per slot, its domain (or `NONE`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rec {
    group: u32,
    domains: Box<[u32]>,
}

/// One existing required anti-affinity term selecting the incoming pod: the
/// owners' group, the slot of the term's topology key, and the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermRef {
    pub group: u32,
    pub slot: u32,
    pub key: KeyId,
}

/// One (group, topology key) whose scoring terms select the incoming pod:
/// how many required affinity terms (each weighted by the plugin's
/// `hardPodAffinityWeight`), the sum of the preferred terms' weights
/// (affinity positive, anti-affinity negative) and how many preferred terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreRef {
    pub term: TermRef,
    pub hard: i64,
    pub soft: i64,
    pub soft_terms: u32,
}

/// The existing groups' terms that select one template in one namespace.
#[derive(Clone, Debug, Default)]
pub struct Matched {
    /// Groups examined so far (ids below this).
    seen: usize,
    /// Required anti-affinity terms, one entry per matching term.
    pub anti: Vec<TermRef>,
    /// Required affinity and preferred terms, one entry per (group, key).
    pub score: Vec<ScoreRef>,
}

/// See the module doc.
#[derive(Default)]
pub struct TermIndex {
    groups: Vec<Group>,
    /// Lookup only.
    group_of: HashMap<(SpecId, String), u32>,
    recs: Vec<Option<Rec>>,
    /// By the incoming pod's SpecId: per namespace, what selects it.
    matched: RefCell<Vec<Vec<(String, Matched)>>>,
}

/// Whether a template has any pod (anti-)affinity term.
pub fn has_terms(spec: &PodSpec) -> bool {
    !spec.pod_affinity.is_empty() || !spec.pod_anti_affinity.is_empty()
}

/// Every term of a template: required anti-affinity, required affinity,
/// preferred affinity, preferred anti-affinity.
fn all_terms(spec: &PodSpec) -> impl Iterator<Item = &PodAffinityTerm> {
    let (aff, anti) = (&spec.pod_affinity, &spec.pod_anti_affinity);
    anti.required
        .iter()
        .chain(&aff.required)
        .chain(aff.preferred.iter().map(|(_, t)| t))
        .chain(anti.preferred.iter().map(|(_, t)| t))
}

/// The node a pod counts on: bound, in the node's pod list, node not deleted.
pub fn counted_node(world: &World, pod: PodId) -> Option<NodeId> {
    let p = world.pod(pod);
    let n = p.node?;
    (!p.deleted && !p.phase.is_terminal() && !world.node(n).deleted).then_some(n)
}

impl Group {
    fn slot_of(&self, key: &str) -> u32 {
        self.slots.iter().position(|s| s.name == key).unwrap() as u32
    }

    fn add(&mut self, domains: &[u32], sign: i32) {
        for (s, &d) in self.slots.iter_mut().zip(domains) {
            if d == NONE {
                continue;
            }
            let d = d as usize;
            if sign > 0 {
                if s.per_domain.len() <= d {
                    s.per_domain.resize(d + 1, 0);
                }
                s.per_domain[d] += 1;
                s.total += 1;
            } else {
                s.per_domain[d] -= 1;
                s.total -= 1;
                if s.total == 0 {
                    s.per_domain = Vec::new();
                }
            }
        }
    }
}

impl TermIndex {
    /// An index of the World as it stands.
    pub fn build(world: &World, topo: &TopologyIndex) -> TermIndex {
        let mut ix = TermIndex::default();
        for i in 0..world.pods.len() {
            ix.update_pod(world, topo, PodId(i as u32));
        }
        ix
    }

    fn group(&mut self, world: &World, topo: &TopologyIndex, spec: SpecId, ns: &str) -> u32 {
        if let Some(&g) = self.group_of.get(&(spec, ns.to_string())) {
            return g;
        }
        let mut slots: Vec<Slot> = Vec::new();
        for t in all_terms(world.spec(spec)) {
            if !slots.iter().any(|s| s.name == t.topology_key) {
                slots.push(Slot {
                    key: topo.track(world, &t.topology_key),
                    name: t.topology_key.clone(),
                    ..Slot::default()
                });
            }
        }
        let g = self.groups.len() as u32;
        self.groups.push(Group {
            spec,
            namespace: ns.to_string(),
            slots,
        });
        self.group_of.insert((spec, ns.to_string()), g);
        g
    }

    /// Bring the counts up to date with one pod (after any change to it).
    /// `topo` must be up to date with the pod's node.
    pub fn update_pod(&mut self, world: &World, topo: &TopologyIndex, pod: PodId) {
        let i = pod.idx();
        if self.recs.len() <= i {
            self.recs.resize(i + 1, None);
        }
        let p = world.pod(pod);
        let new = match counted_node(world, pod) {
            Some(n) if has_terms(world.spec(p.spec)) => {
                let group = self.group(world, topo, p.spec, &p.namespace);
                let domains = self.groups[group as usize]
                    .slots
                    .iter()
                    .map(|s| topo.domain(s.key, n))
                    .collect();
                Some(Rec { group, domains })
            }
            _ => None,
        };
        if new == self.recs[i] {
            return;
        }
        if let Some(old) = &self.recs[i] {
            self.groups[old.group as usize].add(&old.domains, -1);
        }
        if let Some(new) = &new {
            self.groups[new.group as usize].add(&new.domains, 1);
        }
        self.recs[i] = new;
    }

    /// Bring the counts up to date with one node (its labels or deletion):
    /// the pods on it are counted again. `topo` must be up to date with it.
    pub fn update_node(&mut self, world: &World, topo: &TopologyIndex, node: NodeId) {
        if self.groups.is_empty() {
            return;
        }
        for &p in &world.node(node).pods {
            if self.recs.get(p.idx()).is_some_and(Option::is_some) || has_terms(world.pod_spec(p)) {
                self.update_pod(world, topo, p);
            }
        }
    }

    /// Pods of `group` in domain `dom` of the slot's key.
    pub fn count(&self, group: u32, slot: u32, dom: u32) -> u32 {
        self.per_domain(group, slot)
            .get(dom as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Every domain's count for a group's slot (by domain id; 0 past the end).
    pub fn per_domain(&self, group: u32, slot: u32) -> &[u32] {
        &self.groups[group as usize].slots[slot as usize].per_domain
    }

    /// Pods of `group` on nodes that have the slot's key.
    pub fn total(&self, group: u32, slot: u32) -> u32 {
        self.groups[group as usize].slots[slot as usize].total
    }

    /// The existing terms that select pods of template `spec` in namespace
    /// `ns`, examining only groups created since the last call for them.
    pub fn matched(&self, world: &World, spec: SpecId, ns: &str) -> Ref<'_, Matched> {
        let at = {
            let mut cache = self.matched.borrow_mut();
            if cache.len() <= spec.idx() {
                cache.resize_with(spec.idx() + 1, Vec::new);
            }
            let per_ns = &mut cache[spec.idx()];
            let at = match per_ns.iter().position(|(n, _)| n == ns) {
                Some(at) => at,
                None => {
                    per_ns.push((ns.to_string(), Matched::default()));
                    per_ns.len() - 1
                }
            };
            let m = &mut per_ns[at].1;
            if m.seen < self.groups.len() {
                let labels = &world.spec(spec).labels;
                for (g, group) in self.groups.iter().enumerate().skip(m.seen) {
                    self.match_group(world, g as u32, group, ns, labels, m);
                }
                m.seen = self.groups.len();
            }
            at
        };
        Ref::map(self.matched.borrow(), |c| &c[spec.idx()][at].1)
    }

    fn match_group(
        &self,
        world: &World,
        g: u32,
        group: &Group,
        ns: &str,
        labels: &crate::model::labels::Labels,
        m: &mut Matched,
    ) {
        let owner = world.spec(group.spec);
        let gns = group.namespace.as_str();
        let term_ref = |t: &PodAffinityTerm| {
            let slot = group.slot_of(&t.topology_key);
            TermRef {
                group: g,
                slot,
                key: group.slots[slot as usize].key,
            }
        };
        for t in &owner.pod_anti_affinity.required {
            if term_matches(t, gns, ns, labels) {
                m.anti.push(term_ref(t));
            }
        }
        for (slot, s) in group.slots.iter().enumerate() {
            let mut r = ScoreRef {
                term: TermRef {
                    group: g,
                    slot: slot as u32,
                    key: s.key,
                },
                hard: 0,
                soft: 0,
                soft_terms: 0,
            };
            let on_key = |t: &&PodAffinityTerm| t.topology_key == s.name;
            for t in owner.pod_affinity.required.iter().filter(on_key) {
                if term_matches(t, gns, ns, labels) {
                    r.hard += 1;
                }
            }
            let preferred = (owner.pod_affinity.preferred.iter().map(|(w, t)| (*w, t))).chain(
                owner
                    .pod_anti_affinity
                    .preferred
                    .iter()
                    .map(|(w, t)| (-*w, t)),
            );
            for (w, t) in preferred {
                if t.topology_key == s.name && term_matches(t, gns, ns, labels) {
                    r.soft += i64::from(w);
                    r.soft_terms += 1;
                }
            }
            if r.hard > 0 || r.soft_terms > 0 {
                m.score.push(r);
            }
        }
    }
}
