//! The World: every object in arenas indexed by small integer ids, with the
//! indexes and running totals kept where objects are mutated — here, and only
//! here. Each mutation records a [`Change`] so the run loop can wake the
//! components that watch it, as informers would.

use crate::hash::HashMap;

use crate::engine::Time;
use crate::model::objects::*;
use crate::model::resources::{Resources, ScalarId};

/// Something that changed in the World, for the watchers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    PodAdded(PodId),
    PodUpdated(PodId),
    /// Deletion was requested: the pod is Terminating.
    PodDeleting(PodId),
    /// The pod is gone from the API server (its node's resources are free).
    PodRemoved(PodId),
    NodeUpdated(NodeId),
}

#[derive(Clone, Default)]
pub struct World {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub specs: Vec<PodSpec>,
    pub deployments: Vec<Deployment>,
    pub replicasets: Vec<ReplicaSet>,
    pub statefulsets: Vec<StatefulSet>,
    pub daemonsets: Vec<DaemonSet>,
    pub jobs: Vec<Job>,
    pub services: Vec<Service>,
    pub priority_classes: Vec<PriorityClass>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub hpas: Vec<Hpa>,
    /// Names of extended resources, indexed by [`ScalarId`].
    pub scalar_names: Vec<String>,
    /// Image sizes in bytes declared by the scenario (ImageLocality).
    pub image_sizes: HashMap<String, i64>,
    /// Lookups only; never iterated into a result.
    pub node_by_name: HashMap<String, NodeId>,
    pub pod_by_key: HashMap<(String, String), PodId>,
    /// The DaemonSet controller's per-node copies of a template (with the
    /// `metadata.name` node affinity), keyed by (template, node). Lookups only.
    pub daemon_pod_specs: HashMap<(SpecId, NodeId), SpecId>,
    /// The inverse of `daemon_pod_specs`, by spec index: a sync asks of every
    /// pod whether it is the current copy for its node without hashing.
    pub daemon_pod_spec_origin: Vec<Option<(SpecId, NodeId)>>,
    /// Per spec, the first spec equal to it but for labels and annotations
    /// (every Job's pods carry the Job's name as a label, so each Job has a
    /// spec of its own). The scheduler's per-template caches are keyed by this
    /// class: what they cache reads neither labels nor annotations.
    pub spec_class: Vec<SpecId>,
    /// The class of each spec content (`Debug` of the spec without labels and
    /// annotations). Lookups only.
    spec_class_by_key: HashMap<String, SpecId>,
    /// Pods per phase, maintained incrementally (deleted pods excluded).
    pub phase_counts: [usize; 4],
    /// Nodes holding at least one pod, and their summed allocatable and requests
    /// (for time-weighted allocation metrics without a scan per event).
    pub used: UsedTotals,
    /// Per node, the bound pods not owned by a DaemonSet: a node holding only
    /// DaemonSet pods counts as empty (as cluster-autoscaler sees it).
    pub workload_pods: Vec<u32>,
    /// Pods waiting for a node, and active ready pods per owner.
    pub tallies: PodTallies,
    pub changes: Vec<Change>,
}

/// Counts over pods that metrics read every sample, kept in step by the
/// World's pod methods (each notes a pod's [`TallyState`] before a change and
/// re-tallies after it) and recomputed by [`World::check_invariants`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTallies {
    /// Pods for which [`Pod::is_unbound`] holds.
    pub unbound: usize,
    /// Pods that are [`Pod::is_active`] and ready, per owner: ReplicaSet,
    /// StatefulSet, DaemonSet, Job, each by arena index.
    ready: [Vec<u32>; 4],
}

/// What a pod contributes to [`PodTallies`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TallyState {
    unbound: bool,
    ready_active: bool,
}

impl TallyState {
    fn of(p: &Pod) -> TallyState {
        TallyState {
            unbound: p.is_unbound(),
            ready_active: p.is_active() && p.ready,
        }
    }
}

fn owner_slot(o: Owner) -> (usize, usize) {
    match o {
        Owner::ReplicaSet(i) => (0, i.idx()),
        Owner::StatefulSet(i) => (1, i.idx()),
        Owner::DaemonSet(i) => (2, i.idx()),
        Owner::Job(i) => (3, i.idx()),
    }
}

impl PodTallies {
    /// Active ready pods owned by `owner`.
    pub fn ready(&self, owner: Owner) -> i64 {
        let (k, i) = owner_slot(owner);
        self.ready[k].get(i).map_or(0, |&n| i64::from(n))
    }

    fn apply(&mut self, owner: Option<Owner>, before: TallyState, after: TallyState) {
        if before.unbound != after.unbound {
            if after.unbound {
                self.unbound += 1;
            } else {
                self.unbound -= 1;
            }
        }
        if before.ready_active != after.ready_active
            && let Some(o) = owner
        {
            let (k, i) = owner_slot(o);
            let v = &mut self.ready[k];
            if v.len() <= i {
                v.resize(i + 1, 0);
            }
            if after.ready_active {
                v[i] += 1;
            } else {
                v[i] -= 1;
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsedTotals {
    pub nodes: usize,
    pub allocatable: Resources,
    pub requested: Resources,
}

impl World {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.idx()]
    }
    pub fn pod(&self, id: PodId) -> &Pod {
        &self.pods[id.idx()]
    }
    pub fn spec(&self, id: SpecId) -> &PodSpec {
        &self.specs[id.idx()]
    }
    pub fn pod_spec(&self, id: PodId) -> &PodSpec {
        &self.specs[self.pods[id.idx()].spec.idx()]
    }

    pub fn scalar_id(&mut self, name: &str) -> ScalarId {
        if let Some(i) = self.scalar_names.iter().position(|n| n == name) {
            return i as ScalarId;
        }
        self.scalar_names.push(name.to_string());
        (self.scalar_names.len() - 1) as ScalarId
    }

    pub fn add_spec(&mut self, spec: PodSpec) -> SpecId {
        let id = SpecId(self.specs.len() as u32);
        let mut key = spec.clone();
        key.labels.clear();
        key.annotations.clear();
        let class = *self
            .spec_class_by_key
            .entry(format!("{key:?}"))
            .or_insert(id);
        self.spec_class.push(class);
        self.specs.push(spec);
        id
    }

    pub fn add_node(&mut self, node: Node) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.node_by_name.insert(node.name.clone(), id);
        self.nodes.push(node);
        self.changes.push(Change::NodeUpdated(id));
        id
    }

    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.node_by_name.get(name).copied()
    }

    pub fn pod_by_name(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.pod_by_key
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Nodes that exist in the API (not deleted), in id order.
    pub fn live_nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.deleted)
            .map(|(i, n)| (NodeId(i as u32), n))
    }

    /// Create a pod (Pending, unbound). A name already in use by a live pod gets
    /// the first free `-N` suffix, as generateName would.
    pub fn create_pod(&mut self, mut pod: Pod, now: Time) -> PodId {
        let id = PodId(self.pods.len() as u32);
        let mut key = (pod.namespace.clone(), pod.name.clone());
        if self.pod_by_key.contains_key(&key) {
            let mut n = 1;
            while self
                .pod_by_key
                .contains_key(&(pod.namespace.clone(), format!("{}-{}", pod.name, n)))
            {
                n += 1;
            }
            pod.name = format!("{}-{}", pod.name, n);
            key.1 = pod.name.clone();
        }
        pod.created_at = now;
        pod.phase = PodPhase::Pending;
        pod.deleted = false;
        self.phase_counts[PodPhase::Pending as usize] += 1;
        self.pod_by_key.insert(key, id);
        match pod.owner {
            Some(Owner::ReplicaSet(rs)) => self.replicasets[rs.idx()].pods.push(id),
            Some(Owner::DaemonSet(ds)) => self.daemonsets[ds.idx()].pods.push(id),
            Some(Owner::Job(j)) => self.jobs[j.idx()].pods.push(id),
            Some(Owner::StatefulSet(s)) => {
                if let Some(ord) = pod.ordinal {
                    let slots = &mut self.statefulsets[s.idx()].pods;
                    if slots.len() <= ord as usize {
                        slots.resize(ord as usize + 1, None);
                    }
                    slots[ord as usize] = Some(id);
                }
            }
            None => {}
        }
        self.pods.push(pod);
        self.retally(id, TallyState::default());
        self.changes.push(Change::PodAdded(id));
        id
    }

    /// Add a ReplicaSet; one with an owner is appended to its Deployment's list
    /// (which is kept oldest first).
    pub fn add_replicaset(&mut self, rs: ReplicaSet) -> ReplicaSetId {
        let id = ReplicaSetId(self.replicasets.len() as u32);
        if let Some(d) = rs.owner {
            self.deployments[d.idx()].replicasets.push(id);
        }
        self.replicasets.push(rs);
        id
    }

    /// Delete a ReplicaSet from the API (its pods, if any, are the garbage
    /// collector's: the caller deletes only ReplicaSets without active pods).
    pub fn delete_replicaset(&mut self, rs: ReplicaSetId) {
        let r = &mut self.replicasets[rs.idx()];
        r.deleted = true;
        if let Some(d) = r.owner {
            self.deployments[d.idx()].replicasets.retain(|&x| x != rs);
        }
    }

    /// Bind a pod to a node and charge the node's running totals.
    pub fn bind(&mut self, pod: PodId, node: NodeId, now: Time) {
        let before = TallyState::of(&self.pods[pod.idx()]);
        let p = &mut self.pods[pod.idx()];
        debug_assert!(p.node.is_none() && !p.deleted);
        p.node = Some(node);
        p.scheduled_at = Some(now);
        p.nominated_node = None;
        let daemon = matches!(p.owner, Some(Owner::DaemonSet(_)));
        let spec = &self.specs[p.spec.idx()];
        let n = &mut self.nodes[node.idx()];
        if self.workload_pods.len() <= node.idx() {
            self.workload_pods.resize(node.idx() + 1, 0);
        }
        let wp = &mut self.workload_pods[node.idx()];
        if !daemon {
            *wp += 1;
        }
        n.requested.add(&spec.requests);
        n.nonzero_requested.0 += spec.nonzero_milli_cpu;
        n.nonzero_requested.1 += spec.nonzero_memory;
        n.pods.push(pod);
        if !daemon && *wp == 1 {
            // The node just became used: it brings its allocatable and every request on it.
            self.used.nodes += 1;
            self.used.allocatable.add(&n.allocatable);
            self.used.requested.add(&n.requested);
        } else if *wp > 0 {
            self.used.requested.add(&spec.requests);
        }
        self.retally(pod, before);
        self.changes.push(Change::PodUpdated(pod));
    }

    pub fn set_phase(&mut self, pod: PodId, phase: PodPhase) {
        let p = &mut self.pods[pod.idx()];
        if p.phase == phase || p.deleted {
            return;
        }
        let before = TallyState::of(p);
        self.phase_counts[p.phase as usize] -= 1;
        self.phase_counts[phase as usize] += 1;
        p.phase = phase;
        if phase.is_terminal() {
            p.ready = false;
            self.release(pod);
        }
        self.retally(pod, before);
        self.changes.push(Change::PodUpdated(pod));
    }

    pub fn set_ready(&mut self, pod: PodId, ready: bool, now: Time) {
        let p = &mut self.pods[pod.idx()];
        if p.ready == ready || p.deleted {
            return;
        }
        let before = TallyState::of(p);
        p.ready = ready;
        p.ready_at = if ready { Some(now) } else { None };
        p.ready_changed_at = Some(now);
        self.retally(pod, before);
        self.changes.push(Change::PodUpdated(pod));
    }

    /// Request deletion (sets the deletion timestamp): the pod is Terminating.
    pub fn mark_deleting(&mut self, pod: PodId, now: Time) {
        let p = &mut self.pods[pod.idx()];
        if p.deleted || p.deleting_since.is_some() {
            return;
        }
        let before = TallyState::of(p);
        p.deleting_since = Some(now);
        self.retally(pod, before);
        self.changes.push(Change::PodDeleting(pod));
    }

    /// Free what a pod holds on its node: its requests leave the running totals
    /// and it leaves the node's pod list. Done when the pod ends (Succeeded or
    /// Failed: the kubelet and the scheduler stop counting it, though the API
    /// object stays) or, for a pod still running, when it is removed.
    fn release(&mut self, pod: PodId) {
        let p = &self.pods[pod.idx()];
        if let Some(node) = p.node {
            let spec = &self.specs[p.spec.idx()];
            let n = &mut self.nodes[node.idx()];
            n.requested.sub(&spec.requests);
            n.nonzero_requested.0 -= spec.nonzero_milli_cpu;
            n.nonzero_requested.1 -= spec.nonzero_memory;
            if let Some(i) = n.pods.iter().position(|&q| q == pod) {
                n.pods.remove(i);
            }
            let wp = &mut self.workload_pods[node.idx()];
            if *wp > 0 {
                self.used.requested.sub(&spec.requests);
            }
            if !matches!(p.owner, Some(Owner::DaemonSet(_))) {
                *wp -= 1;
                if *wp == 0 {
                    self.used.nodes -= 1;
                    self.used.allocatable.sub(&n.allocatable);
                    self.used.requested.sub(&n.requested);
                }
            }
        }
    }

    /// Remove the pod from the API server: frees its node's resources and drops
    /// it from every index. The arena slot stays as a tombstone.
    pub fn remove_pod(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.idx()];
        if p.deleted {
            return;
        }
        let before = TallyState::of(p);
        p.deleted = true;
        p.ready = false;
        self.phase_counts[p.phase as usize] -= 1;
        self.pod_by_key
            .remove(&(p.namespace.clone(), p.name.clone()));
        let terminal = p.phase.is_terminal();
        if !terminal {
            self.release(pod);
        }
        let p = &self.pods[pod.idx()];
        let owner = p.owner;
        match owner {
            Some(Owner::ReplicaSet(rs)) => self.replicasets[rs.idx()].pods.retain(|&q| q != pod),
            Some(Owner::DaemonSet(ds)) => self.daemonsets[ds.idx()].pods.retain(|&q| q != pod),
            // A Job keeps its removed pods until it has counted them (upstream's
            // tracking finalizer); the Job controller drops them.
            Some(Owner::Job(_)) => {}
            Some(Owner::StatefulSet(s)) => {
                for slot in self.statefulsets[s.idx()].pods.iter_mut() {
                    if *slot == Some(pod) {
                        *slot = None;
                    }
                }
            }
            None => {}
        }
        self.retally(pod, before);
        self.changes.push(Change::PodRemoved(pod));
    }

    /// Bring [`PodTallies`] up to date after `pod` changed from `before`.
    fn retally(&mut self, pod: PodId, before: TallyState) {
        let p = &self.pods[pod.idx()];
        let after = TallyState::of(p);
        if after != before {
            self.tallies.apply(p.owner, before, after);
        }
    }

    pub fn node_changed(&mut self, node: NodeId) {
        self.changes.push(Change::NodeUpdated(node));
    }

    /// A workload's scale subresource: spec.replicas and the pod selector.
    pub fn scale(&self, target: ScaleTarget) -> (i32, &crate::model::labels::LabelSelector) {
        match target {
            ScaleTarget::Deployment(d) => {
                let d = &self.deployments[d.idx()];
                (d.replicas, &d.selector)
            }
            ScaleTarget::ReplicaSet(r) => {
                let r = &self.replicasets[r.idx()];
                (r.replicas, &r.selector)
            }
            ScaleTarget::StatefulSet(s) => {
                let s = &self.statefulsets[s.idx()];
                (s.replicas, &s.selector)
            }
        }
    }

    /// Update a workload's scale subresource: set spec.replicas.
    pub fn set_replicas(&mut self, target: ScaleTarget, replicas: i32) {
        match target {
            ScaleTarget::Deployment(d) => self.deployments[d.idx()].replicas = replicas,
            ScaleTarget::ReplicaSet(r) => self.replicasets[r.idx()].replicas = replicas,
            ScaleTarget::StatefulSet(s) => self.statefulsets[s.idx()].replicas = replicas,
        }
    }

    /// Whether the owner object of a pod still exists.
    pub fn owner_alive(&self, owner: Owner) -> bool {
        match owner {
            Owner::ReplicaSet(i) => !self.replicasets[i.idx()].deleted,
            Owner::StatefulSet(i) => !self.statefulsets[i.idx()].deleted,
            Owner::DaemonSet(i) => !self.daemonsets[i.idx()].deleted,
            Owner::Job(i) => !self.jobs[i.idx()].deleted,
        }
    }

    /// Check the World's invariants against a recomputation from scratch.
    /// Returns a description of the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut counts = [0usize; 4];
        let mut tallies = PodTallies::default();
        let mut requested: Vec<Resources> = vec![Resources::default(); self.nodes.len()];
        for (i, p) in self.pods.iter().enumerate() {
            if p.deleted {
                continue;
            }
            counts[p.phase as usize] += 1;
            tallies.apply(p.owner, TallyState::default(), TallyState::of(p));
            if let Some(n) = p.node.filter(|_| !p.phase.is_terminal()) {
                requested[n.idx()].add(&self.specs[p.spec.idx()].requests);
                if !self.nodes[n.idx()].pods.contains(&PodId(i as u32)) {
                    return Err(format!(
                        "pod {} bound to {} but missing from its pod list",
                        p.key(),
                        self.nodes[n.idx()].name
                    ));
                }
            }
            if let Some(o) = p.owner
                && !self.owner_alive(o)
                && p.deleting_since.is_none()
                && !p.phase.is_terminal()
            {
                return Err(format!(
                    "pod {} has an owner that no longer exists",
                    p.key()
                ));
            }
        }
        let mut used = UsedTotals::default();
        for n in &self.nodes {
            let workload = n.pods.iter().any(|&q| {
                let p = &self.pods[q.idx()];
                !p.deleted
                    && !p.phase.is_terminal()
                    && !matches!(p.owner, Some(Owner::DaemonSet(_)))
            });
            if workload {
                used.nodes += 1;
                used.allocatable.add(&n.allocatable);
                used.requested.add(&n.requested);
            }
        }
        if used != self.used {
            return Err(format!(
                "used-node totals {:?} differ from recomputed {:?}",
                self.used, used
            ));
        }
        let mut own = self.tallies.clone();
        for v in &mut own.ready {
            while v.last() == Some(&0) {
                v.pop();
            }
        }
        for v in &mut tallies.ready {
            while v.last() == Some(&0) {
                v.pop();
            }
        }
        if own != tallies {
            return Err(format!(
                "pod tallies {:?} differ from recomputed {:?}",
                own, tallies
            ));
        }
        if counts != self.phase_counts {
            return Err(format!(
                "phase counts {:?} differ from recomputed {:?}",
                self.phase_counts, counts
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if requested[i] != n.requested {
                return Err(format!(
                    "node {}: running total {:?} differs from recomputed {:?}",
                    n.name, n.requested, requested[i]
                ));
            }
            if !n.requested.fits_in(&n.allocatable) {
                return Err(format!(
                    "node {} is over-committed: requested {:?} > allocatable {:?}",
                    n.name, n.requested, n.allocatable
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_differing_only_in_labels_or_annotations_share_a_class() {
        let mut w = World::default();
        let base = PodSpec::default();
        let a = w.add_spec(base.clone());
        let mut labelled = base.clone();
        labelled.labels.insert("job-name".into(), "etl-1".into());
        labelled.annotations.insert("note".into(), "x".into());
        let b = w.add_spec(labelled);
        let mut tolerant = base.clone();
        tolerant.node_selector.insert("pool".into(), "batch".into());
        let c = w.add_spec(tolerant);
        assert_eq!(w.spec_class[a.idx()], a);
        assert_eq!(w.spec_class[b.idx()], a);
        assert_eq!(w.spec_class[c.idx()], c);
    }
}
