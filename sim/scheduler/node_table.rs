//! The scheduler's node table: what the hot Filter and Score loops read about
//! every node, as parallel arrays indexed by node id (a struct of arrays), and
//! the per-template cache of static filter verdicts built on it.
//!
//! The World keeps each node as one large struct (labels, taints, images,
//! pod list…); a cycle that visits 500 nodes through a dozen plugins would
//! touch several cache lines per node and build a `NodeInfo` per plugin call.
//! The table copies the numbers those plugins need — allocatable, requested,
//! non-zero requested cpu and memory, the pod count — into `Vec<i64>`s, so that
//! NodeResourcesFit's filter and the resource scores are tight loops over a
//! slice of node ids.
//!
//! It is kept up to date from the World's change log, in the same place as the
//! other scheduler indexes (`Scheduler::on_change`): a node change rewrites the
//! node's row and gives it a new generation; a pod change rewrites the usage of
//! the pod's node (the World keeps a pod's last node after it ends or is
//! removed). Debug builds check every row a cycle reads against the World.
//!
//! [`TemplateCache`] keeps values per (profile, pod template) and node:
//! - which *static* Filter plugins (`FilterPlugin::is_static`) reject the
//!   node. Their verdict depends only on the template, the plugin's
//!   configuration and the node object, so it stays valid until the node's
//!   `generation` changes;
//! - the raw score of each *node-local* Score plugin
//!   (`ScorePlugin::is_node_local`), which depends only on the template, the
//!   configuration, the node object and the resources requested on it, so it
//!   stays valid until the node's `usage_generation` changes (a bind there).
//!
//! A pod of a template already seen is then filtered by resources only, and
//! of the resource scores only the nodes that changed since are computed.
//! Debug builds compare every cached value with a fresh computation.

use crate::model::taints::TaintEffect;
use crate::model::{NodeId, SpecId, World};

/// A node's room: allocatable minus requested (negative when over-committed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Free {
    pub pods: i64,
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
}

/// Per node id: the numbers the resource plugins read. See the module doc.
#[derive(Clone, Debug, Default)]
pub struct NodeTable {
    pub alloc_cpu: Vec<i64>,
    pub alloc_mem: Vec<i64>,
    pub alloc_eph: Vec<i64>,
    pub alloc_pods: Vec<i64>,
    /// Requested totals of the pods on the node (real requests).
    pub req_cpu: Vec<i64>,
    pub req_mem: Vec<i64>,
    pub req_eph: Vec<i64>,
    /// Requested cpu and memory with kube-scheduler's non-zero defaults.
    pub nz_cpu: Vec<i64>,
    pub nz_mem: Vec<i64>,
    /// Pods counted against the node's `pods` allocatable.
    pub num_pods: Vec<i64>,
    /// Allocatable minus requested, one row per node: what a Filter's
    /// resource check reads, in one cache line per two nodes.
    pub free: Vec<Free>,
    /// The node has a `PreferNoSchedule` taint (TaintToleration's score).
    pub prefer_no_schedule: Vec<bool>,
    /// How many nodes have a `PreferNoSchedule` taint.
    pub prefer_no_schedule_nodes: usize,
    /// Changes whenever the node object changes (labels, taints,
    /// unschedulable, allocatable…); never reused within one table.
    pub generation: Vec<u64>,
    /// Changes whenever the node object or the resources requested on it
    /// change; never reused within one table.
    pub usage_generation: Vec<u64>,
    /// The number of the last change (each new generation is one).
    next_generation: u64,
    /// The node of each recent change: `log[k]` is change `log_start + k + 1`
    /// (see [`changed_since`](Self::changed_since)).
    log: Vec<u32>,
    log_start: u64,
}

/// The change log keeps at least this many changes, or four per node.
const MIN_LOG: usize = 4096;

impl NodeTable {
    /// A table of every node of the World as it stands.
    pub fn build(world: &World) -> NodeTable {
        let mut t = NodeTable::default();
        for i in 0..world.nodes.len() {
            t.update_node(world, NodeId(i as u32));
        }
        t
    }

    /// The columns of requested totals, in the order `update_usage` writes them.
    fn usage_columns(&mut self) -> [&mut Vec<i64>; 6] {
        [
            &mut self.req_cpu,
            &mut self.req_mem,
            &mut self.req_eph,
            &mut self.nz_cpu,
            &mut self.nz_mem,
            &mut self.num_pods,
        ]
    }

    fn grow(&mut self, len: usize) {
        if self.alloc_cpu.len() >= len {
            return;
        }
        for v in [
            &mut self.alloc_cpu,
            &mut self.alloc_mem,
            &mut self.alloc_eph,
            &mut self.alloc_pods,
        ] {
            v.resize(len, 0);
        }
        for v in self.usage_columns() {
            v.resize(len, 0);
        }
        self.free.resize(len, Free::default());
        self.prefer_no_schedule.resize(len, false);
        self.generation.resize(len, 0);
        self.usage_generation.resize(len, 0);
    }

    /// Rewrite a node's whole row after the node object changed.
    pub fn update_node(&mut self, world: &World, node: NodeId) {
        let i = node.idx();
        self.grow(i + 1);
        let n = world.node(node);
        self.alloc_cpu[i] = n.allocatable.milli_cpu;
        self.alloc_mem[i] = n.allocatable.memory;
        self.alloc_eph[i] = n.allocatable.ephemeral_storage;
        self.alloc_pods[i] = n.allocatable.pods;
        let prefer = n
            .taints
            .iter()
            .any(|t| t.effect == TaintEffect::PreferNoSchedule);
        if prefer != self.prefer_no_schedule[i] {
            if prefer {
                self.prefer_no_schedule_nodes += 1;
            } else {
                self.prefer_no_schedule_nodes -= 1;
            }
        }
        self.prefer_no_schedule[i] = prefer;
        self.next_generation += 1;
        self.generation[i] = self.next_generation;
        self.usage_generation[i] = self.next_generation;
        self.log_change(i);
        self.update_usage(world, node);
    }

    /// Rewrite a node's requested totals and pod count (after a pod on it changed).
    pub fn update_usage(&mut self, world: &World, node: NodeId) {
        let i = node.idx();
        if self.alloc_cpu.len() <= i {
            return self.update_node(world, node);
        }
        let n = world.node(node);
        let row = [
            n.requested.milli_cpu,
            n.requested.memory,
            n.requested.ephemeral_storage,
            n.nonzero_requested.0,
            n.nonzero_requested.1,
            n.pods.len() as i64,
        ];
        let mut changed = false;
        for (col, v) in self.usage_columns().into_iter().zip(row) {
            changed |= col[i] != v;
            col[i] = v;
        }
        self.free[i] = Free {
            pods: self.alloc_pods[i] - self.num_pods[i],
            milli_cpu: self.alloc_cpu[i] - self.req_cpu[i],
            memory: self.alloc_mem[i] - self.req_mem[i],
            ephemeral_storage: self.alloc_eph[i] - self.req_eph[i],
        };
        if changed {
            self.next_generation += 1;
            self.usage_generation[i] = self.next_generation;
            self.log_change(i);
        }
    }

    /// Record that node `i` changed (change number `next_generation`),
    /// forgetting the older half of the log when it is full.
    fn log_change(&mut self, i: usize) {
        if self.log.len() >= MIN_LOG.max(4 * self.alloc_cpu.len()) {
            let half = self.log.len() / 2;
            self.log.drain(..half);
            self.log_start += half as u64;
        }
        self.log.push(i as u32);
    }

    /// The number of the last change to any node's row.
    pub fn last_change(&self) -> u64 {
        self.next_generation
    }

    /// The nodes changed after change number `since`, in order and with
    /// repeats; `None` when the log no longer reaches back that far (or
    /// `since` is from another table's future).
    pub fn changed_since(&self, since: u64) -> Option<&[u32]> {
        if since < self.log_start || since > self.next_generation {
            return None;
        }
        Some(&self.log[(since - self.log_start) as usize..])
    }

    /// Whether the row of `node` agrees with the World (debug checks).
    pub fn agrees(&self, world: &World, node: NodeId) -> bool {
        let i = node.idx();
        let n = world.node(node);
        i < self.alloc_cpu.len()
            && self.alloc_cpu[i] == n.allocatable.milli_cpu
            && self.alloc_mem[i] == n.allocatable.memory
            && self.alloc_eph[i] == n.allocatable.ephemeral_storage
            && self.alloc_pods[i] == n.allocatable.pods
            && self.req_cpu[i] == n.requested.milli_cpu
            && self.req_mem[i] == n.requested.memory
            && self.req_eph[i] == n.requested.ephemeral_storage
            && (self.nz_cpu[i], self.nz_mem[i]) == n.nonzero_requested
            && self.num_pods[i] == n.pods.len() as i64
            && self.free[i]
                == Free {
                    pods: n.allocatable.pods - n.pods.len() as i64,
                    milli_cpu: n.allocatable.milli_cpu - n.requested.milli_cpu,
                    memory: n.allocatable.memory - n.requested.memory,
                    ephemeral_storage: n.allocatable.ephemeral_storage
                        - n.requested.ephemeral_storage,
                }
            && self.prefer_no_schedule[i]
                == n.taints
                    .iter()
                    .any(|t| t.effect == TaintEffect::PreferNoSchedule)
    }
}

/// Values computed for one pod template on every node, each with the node
/// generation it was computed at (0: never).
pub type PerNode<T> = Vec<(u64, T)>;

/// At most this many (profile, template, slot) entries are kept; past it the
/// cache starts over (it is transparent: emptying it changes nothing but time).
const MAX_ENTRIES: usize = 512;

/// Values kept per pod template (a spec id or spec class) and key: found by
/// the template's index, then among its few keys, so a cycle's look-up
/// hashes nothing. Past `max` entries it starts over: what it keeps are
/// caches, and dropping them changes nothing but time.
pub struct ByTemplate<K, V> {
    by_spec: Vec<Vec<(K, V)>>,
    len: usize,
    max: usize,
}

impl<K, V> ByTemplate<K, V> {
    pub fn with_max(max: usize) -> Self {
        ByTemplate {
            by_spec: Vec::new(),
            len: 0,
            max,
        }
    }

    /// The value of `spec` whose key `matches`, or a new one from `make`.
    pub fn find_or_insert(
        &mut self,
        spec: SpecId,
        matches: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> &mut V {
        let i = spec.idx();
        let found = self
            .by_spec
            .get(i)
            .and_then(|es| es.iter().position(|(k, _)| matches(k)));
        let at = match found {
            Some(at) => at,
            None => {
                if self.len >= self.max {
                    self.by_spec.clear();
                    self.len = 0;
                }
                if self.by_spec.len() <= i {
                    self.by_spec.resize_with(i + 1, Vec::new);
                }
                self.by_spec[i].push(make());
                self.len += 1;
                self.by_spec[i].len() - 1
            }
        };
        &mut self.by_spec[i][at].1
    }
}

/// Per-node values cached per (profile, template, slot), valid while the
/// node's generation is the one stored with them. Used for the static filter
/// verdicts (slot 0: a mask of the static Filter plugins, by position in the
/// profile's filter list, that reject the node) and for node-local raw scores
/// (slot: the plugin's position in the profile's score list). See the module doc.
pub struct TemplateCache<T>(ByTemplate<(usize, usize), PerNode<T>>);

impl<T> Default for TemplateCache<T> {
    fn default() -> Self {
        TemplateCache(ByTemplate::with_max(MAX_ENTRIES))
    }
}

impl<T: Copy + Default> TemplateCache<T> {
    /// The values of `spec` under `profile` for `slot`, one per node of the
    /// table. An entry whose generation differs from the node's is stale.
    pub fn of(
        &mut self,
        profile: usize,
        spec: SpecId,
        slot: usize,
        table: &NodeTable,
    ) -> &mut PerNode<T> {
        let key = (profile, slot);
        let v = self
            .0
            .find_or_insert(spec, |k| *k == key, || (key, Vec::new()));
        if v.len() < table.generation.len() {
            v.resize(table.generation.len(), (0, T::default()));
        }
        v
    }
}

/// How a per-node set kept current from the node table's change log is to
/// be brought up to date ([`Kept::refresh`]).
pub enum Refresh<'t> {
    /// The set is not kept (yet): the caller examines nodes its own way and
    /// adds how many to [`Kept::looked`].
    NotKept,
    /// Recompute these nodes (changed since; with repeats).
    Nodes(&'t [u32]),
    /// Recompute every node: the set is new, the table grew, or the log no
    /// longer reaches back to when it was last current.
    All,
}

/// The bookkeeping of a per-node set kept current from the change log. A
/// set is only kept once its key's cycles looked at as many nodes as the
/// table has (building it costs one look at every node), so templates with
/// few pods never pay for one.
#[derive(Default)]
pub struct Kept {
    /// Nodes the key's cycles examined while the set was not kept.
    pub looked: usize,
    /// The change number the set is current with.
    synced: Option<u64>,
}

impl Kept {
    /// What to recompute for a set of `len` nodes to be current, which it
    /// is then taken to be.
    pub fn refresh<'t>(&mut self, t: &'t NodeTable, len: usize) -> Refresh<'t> {
        let n = t.generation.len();
        if self.synced.is_none() && self.looked < n {
            return Refresh::NotKept;
        }
        let r = match self.synced.and_then(|since| t.changed_since(since)) {
            Some(changed) if len == n => Refresh::Nodes(changed),
            _ => Refresh::All,
        };
        self.synced = Some(t.last_change());
        r
    }
}

/// At most this many entries are kept in a [`FitIndex`] or [`SummedIndex`].
const MAX_KEPT_ENTRIES: usize = 256;

/// Which nodes a cycle's walk filters reject (`Cycle::walk`), per (profile,
/// pod template class, static filters that count, table checks), kept
/// current from the table's change log: a bind changes one node, so a walk
/// that would examine hundreds of nodes one by one reads instead whether
/// any node is rejected at all, and copies its sample of candidates when
/// none is. See ARCHITECTURE.md.
pub struct FitIndex(ByTemplate<FitKey, FitEntry>);

type FitKey = (usize, u32, Vec<crate::scheduler::framework::TableFit>);

impl Default for FitIndex {
    fn default() -> Self {
        FitIndex(ByTemplate::with_max(MAX_KEPT_ENTRIES))
    }
}

/// One key's rejected nodes.
#[derive(Default)]
pub struct FitEntry {
    pub kept: Kept,
    /// By node index: the walk's filters reject the node.
    pub rejected: Vec<bool>,
    /// How many nodes of `rejected` are.
    pub count: usize,
}

impl FitEntry {
    /// Bring the set up to date, `rejects(i)` deciding node `i` for the
    /// nodes changed since (or every node); `false` while it is not kept.
    pub fn refresh(&mut self, t: &NodeTable, mut rejects: impl FnMut(usize) -> bool) -> bool {
        match self.kept.refresh(t, self.rejected.len()) {
            Refresh::NotKept => return false,
            Refresh::Nodes(changed) => {
                for &i in changed {
                    self.set(i as usize, rejects(i as usize));
                }
            }
            Refresh::All => {
                let n = t.generation.len();
                self.rejected.clear();
                self.rejected.resize(n, false);
                self.count = 0;
                for i in 0..n {
                    self.set(i, rejects(i));
                }
            }
        }
        true
    }

    /// Set node `i`'s verdict, keeping the count.
    #[inline]
    pub fn set(&mut self, i: usize, rejected: bool) {
        let r = &mut self.rejected[i];
        self.count = self.count + usize::from(rejected) - usize::from(*r);
        *r = rejected;
    }
}

impl FitIndex {
    /// The entry of a key, created empty when new.
    pub fn entry(
        &mut self,
        profile: usize,
        class: SpecId,
        active: u32,
        fits: &[crate::scheduler::framework::TableFit],
    ) -> &mut FitEntry {
        self.0.find_or_insert(
            class,
            |(p, a, f)| *p == profile && *a == active && f == fits,
            || ((profile, active, fits.to_vec()), FitEntry::default()),
        )
    }
}

/// Every node's weighted sum of the summed node-local scores
/// (`Cycle::add_summed_scores`), per (profile, template class, plugins
/// summed), kept current from the change log as [`FitIndex`] is: the sum
/// is then one read per feasible node, without the generation check.
pub struct SummedIndex(ByTemplate<(usize, u32), SummedEntry>);

impl Default for SummedIndex {
    fn default() -> Self {
        SummedIndex(ByTemplate::with_max(MAX_KEPT_ENTRIES))
    }
}

/// One key's sums, by node index.
#[derive(Default)]
pub struct SummedEntry {
    pub kept: Kept,
    pub sums: Vec<i64>,
}

impl SummedIndex {
    /// The entry of a key, created empty when new.
    pub fn entry(&mut self, profile: usize, class: SpecId, summed: u32) -> &mut SummedEntry {
        let key = (profile, summed);
        self.0
            .find_or_insert(class, |k| *k == key, || (key, SummedEntry::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::tests::node;

    fn world(n: usize) -> World {
        let mut w = World::default();
        for i in 0..n {
            w.add_node(node(&format!("n{i}"), 4000, 1 << 30));
        }
        w
    }

    #[test]
    fn change_log_names_each_changed_node_until_it_is_trimmed() {
        let mut w = world(3);
        let mut t = NodeTable::build(&w);
        let since = t.last_change();
        assert_eq!(t.changed_since(since), Some(&[][..]));
        w.nodes[2].requested.milli_cpu = 100;
        t.update_usage(&w, NodeId(2));
        // An update that changes nothing is no change.
        t.update_usage(&w, NodeId(2));
        t.update_node(&w, NodeId(0));
        // A node update is a change of the node and, when its usage moved
        // too, of its usage: the log may repeat a node.
        assert_eq!(t.changed_since(since), Some(&[2, 0][..]));
        assert_eq!(t.changed_since(since + 1), Some(&[0][..]));
        assert_eq!(t.changed_since(t.last_change() + 1), None, "the future");
        // Past MIN_LOG changes the oldest half is forgotten.
        for k in 0..MIN_LOG as i64 {
            w.nodes[1].requested.milli_cpu = k + 1;
            t.update_usage(&w, NodeId(1));
        }
        assert_eq!(t.changed_since(since), None);
        let recent = t.last_change() - 10;
        assert_eq!(t.changed_since(recent), Some(&[1; 10][..]));
    }

    #[test]
    fn kept_sets_start_after_a_table_of_looks_then_follow_the_log() {
        let mut w = world(4);
        let mut t = NodeTable::build(&w);
        let mut kept = Kept::default();
        assert!(matches!(kept.refresh(&t, 0), Refresh::NotKept));
        kept.looked += 3;
        assert!(matches!(kept.refresh(&t, 0), Refresh::NotKept));
        kept.looked += 1;
        assert!(matches!(kept.refresh(&t, 0), Refresh::All));
        assert!(matches!(kept.refresh(&t, 4), Refresh::Nodes([])));
        w.nodes[3].requested.milli_cpu = 5;
        t.update_usage(&w, NodeId(3));
        assert!(matches!(kept.refresh(&t, 4), Refresh::Nodes([3])));
        // A new node: the set (of 4) is rebuilt.
        w.add_node(node("n4", 4000, 1 << 30));
        t.update_node(&w, NodeId(4));
        assert!(matches!(kept.refresh(&t, 4), Refresh::All));
        assert!(matches!(kept.refresh(&t, 5), Refresh::Nodes([])));
    }

    #[test]
    fn fit_entry_counts_rejected_nodes() {
        let mut e = FitEntry {
            rejected: vec![false; 3],
            ..Default::default()
        };
        e.set(1, true);
        e.set(1, true);
        e.set(2, true);
        assert_eq!(e.count, 2);
        e.set(1, false);
        assert_eq!(
            (e.count, e.rejected.as_slice()),
            (1, &[false, false, true][..])
        );
    }
}
