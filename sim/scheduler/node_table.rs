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
    next_generation: u64,
}

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
        }
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

/// One (profile, slot) pair of a template and its values.
type Slot<T> = ((usize, usize), PerNode<T>);

/// Per-node values cached per (profile, template, slot), valid while the
/// node's generation is the one stored with them. Used for the static filter
/// verdicts (slot 0: a mask of the static Filter plugins, by position in the
/// profile's filter list, that reject the node) and for node-local raw scores
/// (slot: the plugin's position in the profile's score list). See the module doc.
///
/// Entries are found by template id (a vector index), then among the few
/// (profile, slot) pairs of that template: a cycle's look-ups hash nothing.
pub struct TemplateCache<T> {
    by_spec: Vec<Vec<Slot<T>>>,
    len: usize,
}

impl<T> Default for TemplateCache<T> {
    fn default() -> Self {
        TemplateCache {
            by_spec: Vec::new(),
            len: 0,
        }
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
        let i = spec.idx();
        let found = self
            .by_spec
            .get(i)
            .and_then(|es| es.iter().position(|(k, _)| *k == key));
        let at = match found {
            Some(at) => at,
            None => {
                if self.len >= MAX_ENTRIES {
                    self.by_spec.clear();
                    self.len = 0;
                }
                if self.by_spec.len() <= i {
                    self.by_spec.resize_with(i + 1, Vec::new);
                }
                self.by_spec[i].push((key, Vec::new()));
                self.len += 1;
                self.by_spec[i].len() - 1
            }
        };
        let v = &mut self.by_spec[i][at].1;
        if v.len() < table.generation.len() {
            v.resize(table.generation.len(), (0, T::default()));
        }
        v
    }
}
