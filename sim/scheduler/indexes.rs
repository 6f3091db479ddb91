//! Incremental scheduler-side indexes, so that a cycle never rescans every pod
//! or compares label strings node by node:
//! - [`MatchCounts`]: per tracked (namespace, selector), how many pods on each
//!   node the selector matches (PodTopologySpread's `countPodsMatchSelector`,
//!   InterPodAffinity's term counts), and, per (selector, topology key) asked
//!   for, the sum of these over each domain's nodes (PodTopologySpread's
//!   per-domain totals, [`MatchCounts::domain_totals`]);
//! - [`TopologyIndex`]: per topology key, each node's domain as a small integer,
//!   and how many nodes each domain has;
//! - [`ImageIndex`]: per image, how many nodes hold it (ImageLocality).
//!
//! Both are kept up to date from the World's change log by the scheduler
//! (`Scheduler::on_change`). A selector or key is tracked from the first cycle
//! that asks for it (one scan of the World then); afterwards each pod or node
//! change costs one update per tracked selector the pod's template matches.
//! The domain totals hold, at every step, `Σ per_node[n]` over the nodes `n`
//! whose current domain is `d`: a pod change adds its per-node delta to the
//! node's current domain, a node changing domain (relabelled, deleted, back)
//! moves its current per-node count from the old domain to the new one, so
//! the order in which pod and node changes arrive does not matter.
//! Interior mutability (a `RefCell`) is what lets plugins, which see the
//! cycle read-only, start tracking a selector; the scheduler is single-threaded.
//!
//! Which pods count is exactly what the straightforward scan counted: pods in
//! the node's pod list (bound, not deleted, not terminal), optionally without
//! terminating ones (PodTopologySpread skips pods with a deletion timestamp;
//! InterPodAffinity does not), in the selector's namespace, whose labels match.
//! Differential tests below compare against that scan on random histories.

use crate::hash::HashMap;
use std::cell::{Ref, RefCell};
use std::hash::{Hash, Hasher};

use crate::model::labels::LabelSelector;
use crate::model::{NodeId, PodId, SpecId, World};
use crate::scheduler::plugins::image_locality::normalized_image_name;

/// A tracked selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelId(u32);

/// What a pod last contributed: its node while it is in the node's pod list,
/// and whether it was terminating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    node: Option<NodeId>,
    terminating: bool,
}

struct Entry {
    namespace: String,
    selector: LabelSelector,
    include_terminating: bool,
    per_node: Vec<u32>,
    /// Per topology key asked for: by domain id, the sum of `per_node` over
    /// the domain's nodes (nodes lacking the key, or deleted, in none).
    totals: Vec<(KeyId, Vec<u32>)>,
}

#[derive(Default)]
struct Inner {
    /// By the hash of (namespace, selector, include_terminating): the tracked
    /// selectors with that hash (compared in full), so that a look-up
    /// clones nothing.
    ids: HashMap<u64, Vec<SelId>>,
    entries: Vec<Entry>,
    /// By SpecId: the tracked selectors whose requirements the template's
    /// labels satisfy (namespace checked per pod); `None` until first needed.
    spec_matches: Vec<Option<Vec<SelId>>>,
    seen: Vec<Seen>,
}

/// Pods per node matching tracked selectors; see the module doc.
#[derive(Default)]
pub struct MatchCounts {
    inner: RefCell<Inner>,
}

fn seen_now(world: &World, pod: PodId) -> Seen {
    let p = world.pod(pod);
    let on_node = !p.deleted && !p.phase.is_terminal();
    Seen {
        node: if on_node { p.node } else { None },
        terminating: p.deleting_since.is_some(),
    }
}

impl Entry {
    fn counts(&self, s: Seen) -> bool {
        s.node.is_some() && (self.include_terminating || !s.terminating)
    }

    /// `per_node[node]` changed by `delta`: so did its domains' totals.
    fn add_to_totals(&mut self, topo: &TopologyIndex, node: NodeId, delta: i32) {
        for (key, tot) in &mut self.totals {
            let d = topo.domain(*key, node);
            if d != NONE {
                add_at(tot, d, delta);
            }
        }
    }
}

/// `v[d] += delta`, growing `v` with zeros.
fn add_at(v: &mut Vec<u32>, d: u32, delta: i32) {
    let d = d as usize;
    if v.len() <= d {
        v.resize(d + 1, 0);
    }
    v[d] = v[d]
        .checked_add_signed(delta)
        .expect("domain total below zero");
}

impl Inner {
    fn matches_of(&mut self, world: &World, spec: SpecId) {
        let i = spec.idx();
        if self.spec_matches.len() <= i {
            self.spec_matches.resize(i + 1, None);
        }
        if self.spec_matches[i].is_none() {
            let labels = &world.spec(spec).labels;
            let v = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.selector.matches(labels))
                .map(|(k, _)| SelId(k as u32))
                .collect();
            self.spec_matches[i] = Some(v);
        }
    }
}

impl MatchCounts {
    /// Bring the counts up to date with one pod (after any change to it);
    /// `topo` gives the domains of the pod's old and new node as they are now.
    pub fn update(&mut self, world: &World, topo: &TopologyIndex, pod: PodId) {
        let inner = self.inner.get_mut();
        if inner.entries.is_empty() {
            return;
        }
        let i = pod.idx();
        if inner.seen.len() <= i {
            inner.seen.resize(i + 1, Seen::default());
        }
        let old = inner.seen[i];
        let new = seen_now(world, pod);
        if old == new {
            return;
        }
        inner.seen[i] = new;
        let p = world.pod(pod);
        inner.matches_of(world, p.spec);
        let ids = inner.spec_matches[p.spec.idx()].take().unwrap_or_default();
        for &id in &ids {
            let e = &mut inner.entries[id.0 as usize];
            if e.namespace != p.namespace {
                continue;
            }
            if e.counts(old) {
                let n = old.node.unwrap();
                e.per_node[n.idx()] -= 1;
                e.add_to_totals(topo, n, -1);
            }
            if e.counts(new) {
                let n = new.node.unwrap();
                if e.per_node.len() <= n.idx() {
                    e.per_node.resize(n.idx() + 1, 0);
                }
                e.per_node[n.idx()] += 1;
                e.add_to_totals(topo, n, 1);
            }
        }
        inner.spec_matches[p.spec.idx()] = Some(ids);
    }

    /// The id of `selector` in `namespace`, tracking it (one scan of every
    /// pod) the first time it is asked for.
    pub fn track(
        &self,
        world: &World,
        namespace: &str,
        selector: &LabelSelector,
        include_terminating: bool,
    ) -> SelId {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        let hash = {
            let mut h = std::hash::DefaultHasher::new();
            (namespace, selector, include_terminating).hash(&mut h);
            h.finish()
        };
        let same = inner.ids.get(&hash).and_then(|ids| {
            ids.iter().copied().find(|id| {
                let e = &inner.entries[id.0 as usize];
                e.include_terminating == include_terminating
                    && e.namespace == namespace
                    && e.selector == *selector
            })
        });
        if let Some(id) = same {
            return id;
        }
        let id = SelId(inner.entries.len() as u32);
        inner.ids.entry(hash).or_default().push(id);
        // Catch up on pods never seen (tracking starts lazily), then count.
        if inner.seen.len() < world.pods.len() {
            let from = inner.seen.len();
            inner.seen.resize(world.pods.len(), Seen::default());
            for (k, s) in inner.seen.iter_mut().enumerate().skip(from) {
                *s = seen_now(world, PodId(k as u32));
            }
        }
        let mut e = Entry {
            namespace: namespace.to_string(),
            selector: selector.clone(),
            include_terminating,
            per_node: vec![0; world.nodes.len()],
            totals: Vec::new(),
        };
        for (spec, m) in inner.spec_matches.iter_mut().enumerate() {
            if let Some(m) = m
                && selector.matches(&world.specs[spec].labels)
            {
                m.push(id);
            }
        }
        for (k, s) in inner.seen.iter().enumerate() {
            if !e.counts(*s) {
                continue;
            }
            let p = &world.pods[k];
            if p.namespace == namespace && selector.matches(&world.spec(p.spec).labels) {
                e.per_node[s.node.unwrap().idx()] += 1;
            }
        }
        inner.entries.push(e);
        id
    }

    /// Pods on `node` matching the tracked selector.
    pub fn on_node(&self, id: SelId, node: NodeId) -> i64 {
        let inner = self.inner.borrow();
        i64::from(
            inner.entries[id.0 as usize]
                .per_node
                .get(node.idx())
                .copied()
                .unwrap_or(0),
        )
    }

    /// Every node's count (indexed by node id; nodes past the end have 0).
    pub fn per_node(&self, id: SelId) -> Ref<'_, [u32]> {
        Ref::map(self.inner.borrow(), |i| {
            i.entries[id.0 as usize].per_node.as_slice()
        })
    }

    /// By domain id of `key`: the pods the selector matches on the domain's
    /// nodes (0 past the end), kept from then on (the first call for a
    /// (selector, key) sums every node's count once).
    pub fn domain_totals(&self, id: SelId, key: KeyId, topo: &TopologyIndex) -> Ref<'_, [u32]> {
        let at = {
            let mut inner = self.inner.borrow_mut();
            let e = &mut inner.entries[id.0 as usize];
            match e.totals.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    let doms = topo.domains(key);
                    let mut tot = vec![0; topo.num_domains(key)];
                    for (n, &c) in e.per_node.iter().enumerate() {
                        let d = doms.get(n).copied().unwrap_or(NONE);
                        if d != NONE && c > 0 {
                            tot[d as usize] += c;
                        }
                    }
                    e.totals.push((key, tot));
                    e.totals.len() - 1
                }
            }
        };
        Ref::map(self.inner.borrow(), |i| {
            i.entries[id.0 as usize].totals[at].1.as_slice()
        })
    }

    /// `node` moved from domain `old` to `new` of `key` (either may be
    /// `NONE`): its counts move between the domains' totals.
    pub fn node_moved(&mut self, key: KeyId, node: NodeId, old: u32, new: u32) {
        for e in &mut self.inner.get_mut().entries {
            let c = e.per_node.get(node.idx()).copied().unwrap_or(0) as i32;
            if c == 0 {
                continue;
            }
            if let Some((_, tot)) = e.totals.iter_mut().find(|(k, _)| *k == key) {
                if old != NONE {
                    add_at(tot, old, -c);
                }
                if new != NONE {
                    add_at(tot, new, c);
                }
            }
        }
    }
}

/// Domain ids of one topology key: per node, `NONE` when it lacks the label.
#[derive(Default)]
struct KeyDomains {
    of_node: Vec<u32>,
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// By domain id: how many nodes are in the domain.
    nodes_in: Vec<u32>,
    /// Nodes with the key (not deleted): the sum of `nodes_in`.
    with_key: usize,
}

/// Per topology key, every node's domain as an integer; see the module doc.
#[derive(Default)]
pub struct TopologyIndex {
    keys: RefCell<Vec<(String, KeyDomains)>>,
}

/// A tracked topology key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyId(u32);

/// The node lacks the topology key.
pub const NONE: u32 = u32::MAX;

impl TopologyIndex {
    /// Give `node` its current domain of `key`; the old one when it changed.
    fn assign(world: &World, key: &str, kd: &mut KeyDomains, node: NodeId) -> Option<u32> {
        let i = node.idx();
        if kd.of_node.len() <= i {
            kd.of_node.resize(i + 1, NONE);
        }
        let n = world.node(node);
        let old = kd.of_node[i];
        let new = match n.labels.get(key) {
            Some(v) if !n.deleted => match kd.ids.get(v) {
                Some(&d) => d,
                None => {
                    let d = kd.names.len() as u32;
                    kd.ids.insert(v.clone(), d);
                    kd.names.push(v.clone());
                    d
                }
            },
            _ => NONE,
        };
        if old == new {
            return None;
        }
        kd.of_node[i] = new;
        if old != NONE {
            kd.nodes_in[old as usize] -= 1;
            kd.with_key -= 1;
        }
        if new != NONE {
            add_at(&mut kd.nodes_in, new, 1);
            kd.with_key += 1;
        }
        Some(old)
    }

    /// Bring every tracked key up to date with one node; `moved(key, old,
    /// new)` for each key whose domain of the node changed.
    pub fn update(&mut self, world: &World, node: NodeId, mut moved: impl FnMut(KeyId, u32, u32)) {
        for (k, (key, kd)) in self.keys.get_mut().iter_mut().enumerate() {
            if let Some(old) = Self::assign(world, key, kd, node) {
                moved(KeyId(k as u32), old, kd.of_node[node.idx()]);
            }
        }
    }

    /// The id of `key`, tracking it (one pass over the nodes) the first time.
    pub fn track(&self, world: &World, key: &str) -> KeyId {
        let mut keys = self.keys.borrow_mut();
        if let Some(i) = keys.iter().position(|(k, _)| k == key) {
            return KeyId(i as u32);
        }
        let mut kd = KeyDomains::default();
        for i in 0..world.nodes.len() {
            Self::assign(world, key, &mut kd, NodeId(i as u32));
        }
        keys.push((key.to_string(), kd));
        KeyId((keys.len() - 1) as u32)
    }

    /// Every node's domain for `key` (indexed by node id; `NONE` past the end).
    pub fn domains(&self, key: KeyId) -> Ref<'_, [u32]> {
        Ref::map(self.keys.borrow(), |k| {
            k[key.0 as usize].1.of_node.as_slice()
        })
    }

    /// The domain of one node.
    pub fn domain(&self, key: KeyId, node: NodeId) -> u32 {
        self.keys.borrow()[key.0 as usize]
            .1
            .of_node
            .get(node.idx())
            .copied()
            .unwrap_or(NONE)
    }

    /// The domain of nodes whose label `key` has the empty value, if one
    /// has been seen.
    pub fn empty_value_domain(&self, key: KeyId) -> Option<u32> {
        self.keys.borrow()[key.0 as usize].1.ids.get("").copied()
    }

    /// How many distinct domain ids `key` has handed out (an upper bound on
    /// live domains; ids are never reused).
    pub fn num_domains(&self, key: KeyId) -> usize {
        self.keys.borrow()[key.0 as usize].1.names.len()
    }

    /// By domain id: how many nodes (not deleted) are in the domain (0 past
    /// the end).
    pub fn nodes_in(&self, key: KeyId) -> Ref<'_, [u32]> {
        Ref::map(self.keys.borrow(), |k| {
            k[key.0 as usize].1.nodes_in.as_slice()
        })
    }

    /// How many nodes (not deleted) have the key.
    pub fn nodes_with_key(&self, key: KeyId) -> usize {
        self.keys.borrow()[key.0 as usize].1.with_key
    }
}

/// How many live nodes hold each image (upstream's `imageStates` of the
/// snapshot, for ImageLocality), by normalised image name.
#[derive(Clone, Debug, Default)]
pub struct ImageIndex {
    of_node: Vec<Vec<String>>,
    nodes_with: HashMap<String, i64>,
}

impl ImageIndex {
    /// Bring the counts up to date with one node.
    pub fn update(&mut self, world: &World, node: NodeId) {
        let i = node.idx();
        if self.of_node.len() <= i {
            self.of_node.resize_with(i + 1, Vec::new);
        }
        let n = world.node(node);
        let mut now: Vec<String> = if n.deleted {
            Vec::new()
        } else {
            n.images
                .iter()
                .map(|(name, _)| normalized_image_name(name).into_owned())
                .collect()
        };
        now.sort();
        now.dedup();
        if now == self.of_node[i] {
            return;
        }
        for name in &self.of_node[i] {
            if let Some(c) = self.nodes_with.get_mut(name) {
                *c -= 1;
            }
        }
        for name in &now {
            *self.nodes_with.entry(name.clone()).or_insert(0) += 1;
        }
        self.of_node[i] = now;
    }

    pub fn build(world: &World) -> ImageIndex {
        let mut ix = ImageIndex::default();
        for i in 0..world.nodes.len() {
            ix.update(world, NodeId(i as u32));
        }
        ix
    }

    /// Live nodes holding the image (`name` normalised).
    pub fn nodes_with(&self, name: &str) -> i64 {
        self.nodes_with.get(name).copied().unwrap_or(0)
    }
}
