//! The scheduler: kube-scheduler's queue, framework and default plugins, plus
//! built-in policies from the literature and user-defined profiles.
//!
//! Follows pkg/scheduler (v1.35, newest behaviours up to v1.37; older ones are
//! selected by the Kubernetes version, see the version table in ARCHITECTURE.md). Layout:
//! - `queue.rs`: activeQ / backoffQ / unschedulable pods, flush timing;
//! - `events.rs`: cluster events from World changes, queueing hints;
//! - `framework.rs`: statuses, node views, one trait per extension point;
//! - `cycle.rs`: one scheduling cycle (schedule_one.go) and FitError messages;
//! - `runtime.rs`: PostFilter, Reserve/Unreserve and Bind runs;
//! - `preemption.rs`: the preemption evaluator of DefaultPreemption;
//! - `plugins/`: one file per plugin, and the registry;
//! - `profiles.rs`: the default profile and the built-in policies;
//! - `config.rs`: KubeSchedulerConfiguration files;
//! - `explain.rs`: `kubesim explain`'s per-node verdicts and scores.
//!
//! Out of scope: volume plugins, DRA, scheduling gates, extenders, the
//! binding cycle's Permit/PreBind (the run loop binds at once).

pub mod config;
pub mod cycle;
pub mod events;
pub mod explain;
pub mod framework;
pub mod indexes;
pub mod label_index;
pub mod node_table;
pub mod node_tree;
pub mod plugins;
pub mod preemption;
pub mod profiles;
pub mod queue;
pub mod runtime;
pub mod term_index;

/// Writing a scheduling policy: `EXTENDING.md`, whose example is compiled and
/// run as a doctest.
#[doc = include_str!("EXTENDING.md")]
pub mod extending {}

use crate::hash::HashMap;
use std::path::Path;

use crate::engine::{SimRng, Time, rng_stream};
use crate::error::Error;
use crate::model::{Change, KubeVersion, NodeId, PodId, World};

use cycle::{Buffers, Cycle, Decision, Nominated};
pub use explain::Explanation;
use framework::NodeSnapshot;
use node_tree::NodeTree;
pub use plugins::Registry;
pub use profiles::Profile;
use queue::SchedulingQueue;

/// The result of one scheduling cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Bind(NodeId),
    /// `message` is kube-scheduler's FitError text, e.g.
    /// "0/3 nodes are available: 3 Insufficient cpu."
    Unschedulable {
        message: String,
        preemption: Option<Preemption>,
    },
}

/// A PostFilter result (upstream `PostFilterResult`), as DefaultPreemption
/// decides it: the run loop marks the victims deleting (graceful termination)
/// and nominates the pod to `node`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preemption {
    pub node: NodeId,
    pub victims: Vec<PodId>,
}

pub struct Scheduler {
    name: String,
    version: KubeVersion,
    profiles: Vec<Profile>,
    queue: SchedulingQueue,
    rng: SimRng,
    /// `nextStartNodeIndex`.
    next_start: usize,
    tree: NodeTree,
    /// Nodes as the scheduler last saw them, to tell what an update changed.
    seen_nodes: HashMap<NodeId, NodeSnapshot>,
    /// By pod: bound and neither ended nor removed, as the scheduler's pod
    /// informer lists assigned pods.
    assigned: Vec<bool>,
    nominated: Nominated,
    nominated_of: HashMap<PodId, NodeId>,
    terms: term_index::TermIndex,
    labels: label_index::LabelIndex,
    counts: indexes::MatchCounts,
    topo: indexes::TopologyIndex,
    images: indexes::ImageIndex,
    table: node_table::NodeTable,
    bufs: Buffers,
    attempts: u64,
    initialized: bool,
}

impl Scheduler {
    /// `spec` is a built-in profile name or a path (relative to `base_dir`) to a
    /// KubeSchedulerConfiguration file.
    pub fn new(
        spec: &str,
        base_dir: &Path,
        version: KubeVersion,
        seed: u64,
    ) -> Result<Scheduler, Error> {
        Scheduler::with_registry(spec, base_dir, version, seed, &Registry::new())
    }

    /// As [`Scheduler::new`], with plugins registered out of tree: a
    /// KubeSchedulerConfiguration file may enable them by name.
    pub fn with_registry(
        spec: &str,
        base_dir: &Path,
        version: KubeVersion,
        seed: u64,
        registry: &Registry,
    ) -> Result<Scheduler, Error> {
        let (profiles, backoff) = if let Some(p) = profiles::builtin(spec) {
            (
                vec![p],
                (queue::DEFAULT_INITIAL_BACKOFF, queue::DEFAULT_MAX_BACKOFF),
            )
        } else if looks_like_path(spec) {
            let cfg = config::load(&base_dir.join(spec), spec, registry)?;
            (cfg.profiles, (cfg.initial_backoff, cfg.max_backoff))
        } else {
            let mut msg = format!("unknown scheduler {spec:?}");
            if let Some(m) =
                crate::error::did_you_mean(spec, profiles::BUILTINS.iter().map(|b| b.0))
            {
                msg.push_str(&format!(" (did you mean {m:?}?)"));
            } else {
                msg.push_str(&format!(
                    "; built-in profiles: {}, or a KubeSchedulerConfiguration file",
                    profiles::BUILTINS
                        .iter()
                        .map(|b| b.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Err(Error::Usage(msg));
        };
        let mut s = Scheduler::from_profiles(spec, profiles, version, seed);
        s.queue.initial_backoff = backoff.0;
        s.queue.max_backoff = backoff.1;
        Ok(s)
    }

    /// A scheduler running profiles built by the caller (policies defined
    /// outside kubesim; see EXTENDING.md), with upstream's default backoff.
    pub fn from_profiles(
        name: &str,
        profiles: Vec<Profile>,
        version: KubeVersion,
        seed: u64,
    ) -> Scheduler {
        Scheduler {
            name: name.to_string(),
            version,
            profiles,
            queue: SchedulingQueue::new(
                queue::DEFAULT_INITIAL_BACKOFF,
                queue::DEFAULT_MAX_BACKOFF,
                version.at_least(33),
            ),
            rng: rng_stream(seed, "scheduler"),
            next_start: 0,
            tree: NodeTree::default(),
            seen_nodes: HashMap::default(),
            assigned: Vec::new(),
            nominated: Nominated::default(),
            nominated_of: HashMap::default(),
            terms: term_index::TermIndex::default(),
            labels: label_index::LabelIndex::default(),
            counts: indexes::MatchCounts::default(),
            topo: indexes::TopologyIndex::default(),
            images: indexes::ImageIndex::default(),
            table: node_table::NodeTable::default(),
            bufs: Buffers::default(),
            attempts: 0,
            initialized: false,
        }
    }

    /// Short names and one-line descriptions of the built-in profiles.
    pub fn builtin_profiles() -> Vec<(&'static str, &'static str)> {
        profiles::BUILTINS.to_vec()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Pods waiting in the queue (active, backing off or unschedulable).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    fn profile_for(&self, scheduler_name: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.scheduler_name == scheduler_name)
    }

    fn is_pending(world: &World, pod: PodId) -> bool {
        world.pod(pod).is_unbound()
    }

    fn initialize(&mut self, world: &World, now: Time) {
        if self.initialized {
            return;
        }
        self.initialized = true;
        for i in 0..world.nodes.len() {
            self.node_changed(world, NodeId(i as u32), now);
        }
        for i in 0..world.pods.len() {
            self.pod_changed(world, Change::PodAdded(PodId(i as u32)), now);
        }
    }

    fn set_nomination(&mut self, pod: PodId, node: Option<NodeId>) {
        if self.nominated_of.get(&pod).copied() == node {
            return;
        }
        if let Some(old) = self.nominated_of.remove(&pod)
            && let Some(v) = self.nominated.get_mut(&old)
        {
            v.retain(|&p| p != pod);
            if v.is_empty() {
                self.nominated.remove(&old);
            }
        }
        if let Some(n) = node {
            self.nominated_of.insert(pod, n);
            self.nominated.entry(n).or_default().push(pod);
        }
    }

    fn pod_changed(&mut self, world: &World, change: Change, now: Time) {
        let (Change::PodAdded(pod)
        | Change::PodUpdated(pod)
        | Change::PodDeleting(pod)
        | Change::PodRemoved(pod)) = change
        else {
            return;
        };
        self.labels.update(world, pod);
        self.counts.update(world, &self.topo, pod);
        let p = world.pod(pod);
        if let Some(n) = p.node {
            self.table.update_usage(world, n);
        }
        self.terms.update_pod(world, &self.topo, pod);
        if Self::is_pending(world, pod) {
            self.set_nomination(pod, world.pod(pod).nominated_node);
            let spec = world.pod_spec(pod);
            if self.profile_for(&spec.scheduler_name).is_some() && !self.queue.contains(pod) {
                self.queue.add(pod, spec.priority, now);
            }
        } else {
            self.set_nomination(pod, None);
            self.queue.remove(pod);
        }
        self.pod_event(world, change, now);
    }

    fn node_changed(&mut self, world: &World, id: NodeId, now: Time) {
        self.tree.update(world, id);
        let counts = &mut self.counts;
        self.topo.update(world, id, |key, old, new| {
            counts.node_moved(key, id, old, new)
        });
        self.terms.update_node(world, &self.topo, id);
        self.images.update(world, id);
        self.table.update_node(world, id);
        self.node_event(world, id, now);
    }

    /// Called for every World change, in order: the scheduler's cache and
    /// queue follow it, and unschedulable pods move when a cluster event may
    /// help them (queueing hints, see `events.rs`).
    pub fn on_change(&mut self, world: &World, change: Change, now: Time) {
        if !self.initialized {
            self.initialize(world, now);
            return;
        }
        match change {
            Change::NodeUpdated(n) => self.node_changed(world, n, now),
            pod => self.pod_changed(world, pod, now),
        }
    }

    /// The earliest time at which `pop` could return a pod; `None` when nothing waits.
    pub fn next_wakeup(&self, now: Time) -> Option<Time> {
        self.queue.next_wakeup(now)
    }

    /// The next pod to schedule at `now`, after the flushes due.
    pub fn pop(&mut self, world: &World, now: Time) -> Option<PodId> {
        self.initialize(world, now);
        while let Some(p) = self.queue.pop(now) {
            if Self::is_pending(world, p) {
                return Some(p);
            }
            self.queue.remove(p);
        }
        None
    }

    /// One scheduling cycle for `pod` against the world as it stands. On
    /// failure the pod goes back to the queue as unschedulable.
    pub fn schedule_one(&mut self, world: &World, pod: PodId, now: Time) -> Outcome {
        self.initialize(world, now);
        self.attempts += 1;
        let spec = world.pod_spec(pod);
        let Some(pi) = self.profile_for(&spec.scheduler_name) else {
            return Outcome::Unschedulable {
                message: format!(
                    "no profile for schedulerName {:?} in scheduler {:?}",
                    spec.scheduler_name, self.name
                ),
                preemption: None,
            };
        };
        if !Self::is_pending(world, pod) {
            self.queue.remove(pod);
            return Outcome::Unschedulable {
                message: "pod is not pending".into(),
                preemption: None,
            };
        }
        if !self.queue.in_flight(pod) {
            self.queue.take(pod, spec.priority, now);
        }
        let nodes = self.tree.list();
        let cycle = Cycle {
            profile: &self.profiles[pi],
            profile_index: pi,
            world,
            pod,
            now,
            version: self.version,
            nodes,
            nominated: &self.nominated,
            terms: &self.terms,
            labels: &self.labels,
            counts: &self.counts,
            topo: &self.topo,
            images: &self.images,
            table: &self.table,
        };
        match cycle.schedule(&mut self.rng, &mut self.next_start, &mut self.bufs, None) {
            Decision::Bind(n) => match runtime::reserve_and_bind(&cycle, &mut self.bufs, n) {
                Ok(()) => {
                    self.queue.remove(pod);
                    Outcome::Bind(n)
                }
                Err(failure) => {
                    let rejectors = failure.rejector.map_or(0, events::plugin_bit);
                    self.queue.add_unschedulable(pod, now, rejectors);
                    Outcome::Unschedulable {
                        message: failure.message,
                        preemption: None,
                    }
                }
            },
            Decision::Unschedulable(mut diag) => {
                let preemption =
                    runtime::run_post_filter(&cycle, &mut diag, &mut self.rng, &mut self.bufs);
                let rejectors = events::rejector_mask(cycle.profile, &diag.rejectors);
                self.queue.add_unschedulable(pod, now, rejectors);
                if let Some(p) = &preemption {
                    // The run loop sets status.nominatedNodeName.
                    self.set_nomination(pod, Some(p.node));
                }
                Outcome::Unschedulable {
                    message: diag.message(),
                    preemption,
                }
            }
        }
    }

    /// Every node's filter verdicts and every score plugin's scores for `pod`
    /// at `now`, as the next `schedule_one` would compute them (same RNG state,
    /// same start index), without changing the scheduler.
    pub fn explain(&self, world: &World, pod: PodId, now: Time) -> Explanation {
        let mut tree = self.tree.clone();
        if !self.initialized {
            for i in 0..world.nodes.len() {
                tree.update(world, NodeId(i as u32));
            }
        }
        let nodes = tree.list().to_vec();
        let spec = world.pod_spec(pod);
        let pi = self.profile_for(&spec.scheduler_name).unwrap_or(0);
        let mut nominated = self.nominated.clone();
        if !self.initialized {
            for (i, p) in world.pods.iter().enumerate() {
                if let Some(n) = p.nominated_node
                    && Self::is_pending(world, PodId(i as u32))
                {
                    nominated.entry(n).or_default().push(PodId(i as u32));
                }
            }
        }
        // Without a first sync, indexes built from the World as it stands
        // (match counts and topology domains fill in lazily from it).
        let (built_labels, built_images, built_table, built_terms);
        let (fresh_counts, fresh_topo) = Default::default();
        let (labels, counts, topo, images, table, terms) = if self.initialized {
            (
                &self.labels,
                &self.counts,
                &self.topo,
                &self.images,
                &self.table,
                &self.terms,
            )
        } else {
            built_labels = label_index::LabelIndex::build(world);
            built_images = indexes::ImageIndex::build(world);
            built_table = node_table::NodeTable::build(world);
            built_terms = term_index::TermIndex::build(world, &fresh_topo);
            (
                &built_labels,
                &fresh_counts,
                &fresh_topo,
                &built_images,
                &built_table,
                &built_terms,
            )
        };
        let cycle = Cycle {
            profile: &self.profiles[pi],
            profile_index: pi,
            world,
            pod,
            now,
            version: self.version,
            nodes: &nodes,
            nominated: &nominated,
            terms,
            labels,
            counts,
            topo,
            images,
            table,
        };
        explain::explain(&cycle, &self.name, self.rng.clone(), self.next_start)
    }
}

fn looks_like_path(spec: &str) -> bool {
    spec.contains('/')
        || spec.ends_with(".yaml")
        || spec.ends_with(".yml")
        || spec.ends_with(".json")
}

#[cfg(test)]
mod tests;
