//! The DaemonSet controller: one pod on every eligible node.
//!
//! Follows pkg/controller/daemon/daemon_controller.go (`manage`,
//! `podsShouldBeOnNode`, `NodeShouldRunDaemonPod`, `predicates`, `syncNodes`,
//! `updateDaemonSetStatus`, `BurstReplicas = 250`), update.go (`rollingUpdate`
//! without surge, maxUnavailable 1) and pkg/controller/daemon/util/daemonset_util.go
//! (`AddOrUpdateDaemonPodTolerations`, `ReplaceDaemonSetPodNodeNameNodeAffinity`,
//! `GetTargetNodeName`) (v1.37):
//! - eligibility: the template's nodeName, nodeSelector and required node
//!   affinity match the node, and its tolerations (with the daemon ones added)
//!   tolerate the node's NoSchedule and NoExecute taints; a pod already there
//!   may stay if only NoSchedule taints are untolerated;
//! - pods are not bound by the controller: each gets a copy of the template
//!   whose required node affinity is `metadata.name In [node]` (matchFields),
//!   and the default scheduler binds it. The copies are cached per
//!   (template, node) in the World;
//! - a node with a daemon pod (terminating included) gets no second one;
//!   finished pods are deleted (upstream delays deleting Failed ones with a
//!   1 s…15 min backoff: not modelled), extra pods beyond the oldest deleted.
//!
//! Not modelled: minReadySeconds (available = Ready), maxSurge, `hostNetwork`
//! (its network-unavailable toleration), deleted nodes' orphans (PodGC's).

use std::cmp::Ordering;

use crate::controllers::{
    ControllerRef, Ctx, WorkloadStatus, create_generated_pod, slow_start_batch,
};
use crate::engine::Time;
use crate::model::labels::{
    NODE_NAME_FIELD, NodeSelector, NodeSelectorTerm, Operator, Requirement,
};
use crate::model::taints::{TaintEffect, Toleration, TolerationOp, find_untolerated};
use crate::model::*;

/// `BurstReplicas` of the DaemonSet controller.
pub const BURST_REPLICAS: usize = 250;

/// The DaemonSet rolling update's default `maxUnavailable`.
const MAX_UNAVAILABLE: usize = 1;

/// Tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`):
/// not-ready and unreachable NoExecute forever, and the node-condition and
/// unschedulable NoSchedule taints.
pub fn daemon_tolerations() -> Vec<Toleration> {
    let t = |key: &str, effect| Toleration {
        key: key.to_string(),
        op: TolerationOp::Exists,
        value: String::new(),
        effect: Some(effect),
        toleration_seconds: None,
    };
    vec![
        t("node.kubernetes.io/not-ready", TaintEffect::NoExecute),
        t("node.kubernetes.io/unreachable", TaintEffect::NoExecute),
        t("node.kubernetes.io/disk-pressure", TaintEffect::NoSchedule),
        t(
            "node.kubernetes.io/memory-pressure",
            TaintEffect::NoSchedule,
        ),
        t("node.kubernetes.io/pid-pressure", TaintEffect::NoSchedule),
        t("node.kubernetes.io/unschedulable", TaintEffect::NoSchedule),
    ]
}

fn with_daemon_tolerations(mut tolerations: Vec<Toleration>) -> Vec<Toleration> {
    for t in daemon_tolerations() {
        // AddOrUpdateTolerationInPodSpec: an equal toleration is not added twice.
        if !tolerations.contains(&t) {
            tolerations.push(t);
        }
    }
    tolerations
}

/// `NodeShouldRunDaemonPod`: (should run, should continue running).
pub fn node_should_run(template: &PodSpec, node: &Node) -> (bool, bool) {
    should_run(
        template,
        &with_daemon_tolerations(template.tolerations.clone()),
        node,
    )
}

/// [`node_should_run`] with the template's tolerations and the daemon ones
/// already merged (a sync computes them once, not once per node).
fn should_run(template: &PodSpec, tolerations: &[Toleration], node: &Node) -> (bool, bool) {
    if template.node_name.as_ref().is_some_and(|n| *n != node.name) {
        return (false, false);
    }
    let fits_selector = template
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v));
    let fits_affinity = template
        .required_node_affinity
        .as_ref()
        .is_none_or(|a| a.matches(&node.name, &node.labels));
    if !fits_selector || !fits_affinity {
        return (false, false);
    }
    let untolerated = |effects: &[TaintEffect]| {
        find_untolerated(&node.taints, tolerations, |t| effects.contains(&t.effect)).is_some()
    };
    if untolerated(&[TaintEffect::NoSchedule, TaintEffect::NoExecute]) {
        return (false, !untolerated(&[TaintEffect::NoExecute]));
    }
    (true, true)
}

/// What each DaemonSet last made of each node (`NodeShouldRunDaemonPod`),
/// so that a node update wakes only the DaemonSets whose verdict it changes:
/// upstream's `updateNode` compares the verdicts for the old and the new node
/// and enqueues a DaemonSet only when one differs (a node failing or coming
/// back, which daemon pods tolerate, wakes none). A node never seen wakes
/// every DaemonSet, so a fresh cache is merely slower.
#[derive(Clone, Debug, Default)]
pub struct NodeVerdicts(crate::hash::HashMap<(DaemonSetId, NodeId), (SpecId, (bool, bool))>);

impl NodeVerdicts {
    /// Node `n` changed: the DaemonSets to wake, appended to `out`.
    pub fn node_updated(&mut self, w: &World, n: NodeId, out: &mut Vec<ControllerRef>) {
        let node = w.node(n);
        for (i, ds) in w.daemonsets.iter().enumerate() {
            if ds.deleted {
                continue;
            }
            let id = DaemonSetId(i as u32);
            let verdict = if node.deleted {
                (false, false)
            } else {
                node_should_run(w.spec(ds.spec), node)
            };
            if self.0.insert((id, n), (ds.spec, verdict)) != Some((ds.spec, verdict)) {
                out.push(ControllerRef::DaemonSet(id));
            }
        }
    }
}

/// The per-node pod spec for `template` on `node` (cached).
fn node_spec(w: &mut World, template: SpecId, node: NodeId) -> SpecId {
    if let Some(&s) = w.daemon_pod_specs.get(&(template, node)) {
        return s;
    }
    let mut spec = w.spec(template).clone();
    spec.tolerations = with_daemon_tolerations(spec.tolerations);
    spec.required_node_affinity = Some(NodeSelector {
        terms: vec![NodeSelectorTerm {
            match_expressions: Vec::new(),
            match_fields: vec![Requirement {
                key: NODE_NAME_FIELD.to_string(),
                op: Operator::In,
                values: vec![w.node(node).name.clone()],
            }],
        }],
    });
    let s = w.add_spec(spec);
    w.daemon_pod_specs.insert((template, node), s);
    let origin = &mut w.daemon_pod_spec_origin;
    if origin.len() <= s.idx() {
        origin.resize(s.idx() + 1, None);
    }
    origin[s.idx()] = Some((template, node));
    s
}

/// Whether `spec` is the per-node copy of `template` for `node`:
/// `daemon_pod_specs[(template, node)] == spec`, without hashing.
fn is_copy_of(w: &World, spec: SpecId, template: SpecId, node: NodeId) -> bool {
    let origin = w.daemon_pod_spec_origin.get(spec.idx()).copied().flatten();
    debug_assert_eq!(
        origin == Some((template, node)),
        w.daemon_pod_specs.get(&(template, node)) == Some(&spec),
        "stale daemon_pod_spec_origin of {spec:?}"
    );
    origin == Some((template, node))
}

/// `GetTargetNodeName`: the node a pod is bound to, or the one its
/// `metadata.name` affinity names.
pub fn target_node(w: &World, p: PodId) -> Option<NodeId> {
    let pod = w.pod(p);
    if pod.node.is_some() {
        return pod.node;
    }
    let spec = w.spec(pod.spec);
    if let Some(n) = &spec.node_name {
        return w.node_by_name(n);
    }
    let terms = &spec.required_node_affinity.as_ref()?.terms;
    terms.iter().find_map(|t| {
        t.match_fields
            .iter()
            .find(|r| r.key == NODE_NAME_FIELD && r.op == Operator::In && r.values.len() == 1)
            .and_then(|r| w.node_by_name(&r.values[0]))
    })
}

/// The DaemonSet's pods (not removed) by node: (node, pod) sorted by node,
/// each node's pods in the DaemonSet's order (pod id order). One allocation,
/// not one per node: a sync looks at every node of a large cluster.
struct PodsByNode(Vec<(NodeId, PodId)>);

impl PodsByNode {
    fn of(w: &World, ds: DaemonSetId) -> PodsByNode {
        let mut v: Vec<(NodeId, PodId)> = w.daemonsets[ds.idx()]
            .pods
            .iter()
            .filter(|&&p| !w.pod(p).deleted)
            .filter_map(|&p| target_node(w, p).map(|n| (n, p)))
            .collect();
        v.sort_by_key(|&(n, _)| n);
        PodsByNode(v)
    }

    /// A walk over the nodes in increasing order (a sync's order).
    fn cursor(&self) -> NodeCursor<'_> {
        NodeCursor {
            pairs: &self.0,
            at: 0,
            last: None,
        }
    }

    /// Each node with pods, and its pods, in node order.
    fn groups(&self) -> impl Iterator<Item = (NodeId, impl Iterator<Item = PodId> + '_)> + '_ {
        self.0
            .chunk_by(|a, b| a.0 == b.0)
            .map(|g| (g[0].0, g.iter().map(|&(_, p)| p)))
    }
}

/// [`PodsByNode`] read node by node in increasing order: one pass over the
/// pairs instead of a binary search per node.
struct NodeCursor<'a> {
    pairs: &'a [(NodeId, PodId)],
    at: usize,
    last: Option<NodeId>,
}

impl<'a> NodeCursor<'a> {
    /// The pods on node `n`, which comes after every node asked before.
    fn on(&mut self, n: NodeId) -> impl Iterator<Item = PodId> + 'a {
        debug_assert!(self.last.is_none_or(|l| l < n), "nodes out of order");
        self.last = Some(n);
        let pairs = self.pairs;
        while self.at < pairs.len() && pairs[self.at].0 < n {
            self.at += 1;
        }
        let start = self.at;
        while self.at < pairs.len() && pairs[self.at].0 == n {
            self.at += 1;
        }
        pairs[start..self.at].iter().map(|&(_, p)| p)
    }
}

/// `podByCreationTimestampAndPhase`: scheduled first, then oldest, then by name.
fn oldest_first(w: &World, a: PodId, b: PodId) -> Ordering {
    let (pa, pb) = (w.pod(a), w.pod(b));
    pb.node
        .is_some()
        .cmp(&pa.node.is_some())
        .then(pa.created_at.cmp(&pb.created_at))
        .then_with(|| pa.name.cmp(&pb.name))
}

pub fn reconcile(ctx: &mut Ctx, id: DaemonSetId) {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let ds = &w.daemonsets[id.idx()];
    if ds.deleted {
        return;
    }
    let template = ds.spec;
    let by_node = PodsByNode::of(w, id);
    let tolerations = with_daemon_tolerations(w.spec(template).tolerations.clone());
    let mut need: Vec<NodeId> = Vec::new();
    let mut delete: Vec<PodId> = Vec::new();
    let mut cursor = by_node.cursor();
    for (n, node) in w.live_nodes() {
        let (run, keep) = should_run(w.spec(template), &tolerations, node);
        let mut pods = cursor.on(n).peekable();
        if run && pods.peek().is_none() {
            need.push(n);
        } else if keep {
            let mut running = Vec::new();
            for p in pods {
                let pod = w.pod(p);
                if pod.deleting_since.is_some() {
                    continue;
                }
                if pod.phase.is_terminal() {
                    delete.push(p);
                } else {
                    running.push(p);
                }
            }
            if running.len() > 1 {
                running.sort_by(|&a, &b| oldest_first(w, a, b));
                delete.extend_from_slice(&running[1..]);
            }
        } else if !keep {
            delete.extend(pods.filter(|&p| w.pod(p).deleting_since.is_none()));
        }
    }
    // Upstream's expectations hold the rolling update back until the
    // informer has seen this sync's creations and deletions: the next sync.
    if need.is_empty() && delete.is_empty() {
        // Nothing changed since `by_node` was made.
        rolling_update(w, id, &by_node, now);
    } else {
        sync_nodes(w, id, &need, &delete, now);
    }
}

/// `syncNodes`: create on `need`, delete `delete`, at most BurstReplicas each.
fn sync_nodes(w: &mut World, id: DaemonSetId, need: &[NodeId], delete: &[PodId], now: Time) {
    let ds = &w.daemonsets[id.idx()];
    let (name, ns, template) = (ds.meta.name.clone(), ds.meta.namespace.clone(), ds.spec);
    let mut nodes = need.iter().take(BURST_REPLICAS);
    slow_start_batch(need.len().min(BURST_REPLICAS), || {
        let n = *nodes.next().expect("slow start calls at most count times");
        let spec = node_spec(w, template, n);
        create_generated_pod(w, &name, &ns, spec, Owner::DaemonSet(id), now);
        true
    });
    for &p in delete.iter().take(BURST_REPLICAS) {
        w.mark_deleting(p, now);
    }
}

/// update.go `rollingUpdate` (no surge): replace pods made from an older
/// template, unavailable old ones at once, available ones while fewer than
/// maxUnavailable nodes are unavailable.
fn rolling_update(w: &mut World, id: DaemonSetId, by_node: &PodsByNode, now: Time) {
    let template = w.daemonsets[id.idx()].spec;
    let mut unavailable = 0;
    let mut replace = Vec::new();
    let mut candidates = Vec::new();
    for (n, pods) in by_node.groups() {
        // Live (not terminating) pods from the current template and from older
        // ones: how many, and the first of each.
        let (mut new, mut old) = ((0, None), (0, None));
        for p in pods.filter(|&p| w.pod(p).deleting_since.is_none()) {
            let slot = if is_copy_of(w, w.pod(p).spec, template, n) {
                &mut new
            } else {
                &mut old
            };
            slot.0 += 1;
            slot.1.get_or_insert(p);
        }
        match (new, old) {
            ((n, _), (o, _)) if n > 1 || o > 1 || n == o => unavailable += 1,
            ((_, Some(p)), _) => unavailable += usize::from(!w.pod(p).ready),
            (_, (_, Some(p))) if !w.pod(p).ready => replace.push(p),
            (_, (_, Some(p))) if unavailable < MAX_UNAVAILABLE => candidates.push(p),
            _ => {}
        }
    }
    let room = MAX_UNAVAILABLE
        .saturating_sub(unavailable)
        .min(candidates.len());
    replace.extend_from_slice(&candidates[..room]);
    sync_nodes(w, id, &[], &replace, now);
}

/// `updateDaemonSetStatus`: DESIRED (nodes that should run it), CURRENT
/// (of those, nodes with a pod), READY, UP-TO-DATE, AVAILABLE.
pub fn status(w: &World, id: DaemonSetId) -> WorkloadStatus {
    let template = w.daemonsets[id.idx()].spec;
    let by_node = PodsByNode::of(w, id);
    let tolerations = with_daemon_tolerations(w.spec(template).tolerations.clone());
    let mut s = WorkloadStatus::default();
    let mut cursor = by_node.cursor();
    for (n, node) in w.live_nodes() {
        if !should_run(w.spec(template), &tolerations, node).0 {
            continue;
        }
        s.desired += 1;
        let mut pods: Vec<PodId> = cursor.on(n).collect();
        if pods.is_empty() {
            continue;
        }
        s.current += 1;
        pods.sort_by(|&a, &b| oldest_first(w, a, b));
        let pod = w.pod(pods[0]);
        if pod.ready {
            s.ready += 1;
            s.available += 1;
        }
        if is_copy_of(w, pod.spec, template, n) {
            s.up_to_date += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::ControllerRef;
    use crate::controllers::testutil::*;
    use crate::engine::SECOND;
    use crate::model::labels::LabelSelector;
    use crate::model::taints::Taint;

    fn add_ds(w: &mut World, spec: PodSpec) -> DaemonSetId {
        let spec = w.add_spec(spec);
        w.daemonsets.push(DaemonSet {
            meta: meta("agent", &[]),
            selector: LabelSelector::from_map(&labels(&[("app", "agent")])),
            spec,
            pods: Vec::new(),
            deleted: false,
        });
        DaemonSetId(w.daemonsets.len() as u32 - 1)
    }

    fn agent() -> PodSpec {
        PodSpec {
            labels: labels(&[("app", "agent")]),
            ..Default::default()
        }
    }

    fn taint(key: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: String::new(),
            effect,
        }
    }

    fn nodes_with_pods(w: &World, ds: DaemonSetId) -> Vec<String> {
        PodsByNode::of(w, ds)
            .groups()
            .filter_map(|(n, mut pods)| {
                pods.any(|p| w.pod(p).deleting_since.is_none()).then_some(n)
            })
            .map(|n| w.node(n).name.clone())
            .collect()
    }

    #[test]
    fn one_pod_per_node_targeted_by_node_name_affinity() {
        let mut w = test_world();
        let ds = add_ds(&mut w, agent());
        run(&mut w, ControllerRef::DaemonSet(ds), 0);
        assert_eq!(nodes_with_pods(&w, ds), vec!["n-0", "n-1", "n-2"]);
        for &p in &w.daemonsets[ds.idx()].pods {
            let pod = w.pod(p);
            assert!(
                pod.node.is_none(),
                "the scheduler binds, not the controller"
            );
            assert!(pod.name.starts_with("agent-"));
            let a = w.spec(pod.spec).required_node_affinity.as_ref().unwrap();
            assert_eq!(a.terms.len(), 1);
            assert_eq!(a.terms[0].match_fields[0].key, "metadata.name");
            assert_eq!(
                w.node_by_name(&a.terms[0].match_fields[0].values[0]),
                target_node(&w, p)
            );
            assert!(w.spec(pod.spec).tolerations.len() >= 6);
        }
        // Nothing more on a second sync; a new node gets one.
        run(&mut w, ControllerRef::DaemonSet(ds), SECOND);
        assert_eq!(w.daemonsets[ds.idx()].pods.len(), 3);
        w.add_node(node("n-3"));
        run(&mut w, ControllerRef::DaemonSet(ds), 2 * SECOND);
        assert_eq!(nodes_with_pods(&w, ds).len(), 4);
        let s = status(&w, ds);
        assert_eq!((s.desired, s.current, s.ready, s.up_to_date), (4, 4, 0, 4));
    }

    #[test]
    fn eligibility_follows_selector_affinity_and_taints() {
        let mut w = test_world();
        // n-0: gpu label. n-1: NoSchedule taint. n-2: NoExecute taint.
        w.nodes[0].labels.insert("gpu".into(), "true".into());
        w.nodes[1]
            .taints
            .push(taint("dedicated", TaintEffect::NoSchedule));
        w.nodes[2]
            .taints
            .push(taint("dedicated", TaintEffect::NoExecute));
        // Daemon tolerations make the unschedulable taint irrelevant.
        w.nodes[0].taints.push(taint(
            "node.kubernetes.io/unschedulable",
            TaintEffect::NoSchedule,
        ));
        let plain = add_ds(&mut w, agent());
        run(&mut w, ControllerRef::DaemonSet(plain), 0);
        assert_eq!(nodes_with_pods(&w, plain), vec!["n-0"]);

        let mut gpu = agent();
        gpu.node_selector = labels(&[("gpu", "true")]);
        let gpu = add_ds(&mut w, gpu);
        run(&mut w, ControllerRef::DaemonSet(gpu), 0);
        assert_eq!(nodes_with_pods(&w, gpu), vec!["n-0"]);

        let mut tolerant = agent();
        tolerant.tolerations.push(Toleration {
            key: "dedicated".into(),
            op: TolerationOp::Exists,
            value: String::new(),
            effect: None,
            toleration_seconds: None,
        });
        let tolerant = add_ds(&mut w, tolerant);
        run(&mut w, ControllerRef::DaemonSet(tolerant), 0);
        assert_eq!(nodes_with_pods(&w, tolerant), vec!["n-0", "n-1", "n-2"]);
        assert_eq!(status(&w, plain).desired, 1);
    }

    #[test]
    fn new_taints_evict_only_when_no_execute_and_deleted_nodes_are_skipped() {
        let mut w = test_world();
        let ds = add_ds(&mut w, agent());
        run(&mut w, ControllerRef::DaemonSet(ds), 0);
        for p in w.daemonsets[ds.idx()].pods.clone() {
            let n = target_node(&w, p);
            start(&mut w, p, n, SECOND);
        }
        // A NoSchedule taint: the running pod may stay. NoExecute: it goes.
        w.nodes[0]
            .taints
            .push(taint("maint", TaintEffect::NoSchedule));
        w.nodes[1]
            .taints
            .push(taint("maint", TaintEffect::NoExecute));
        run(&mut w, ControllerRef::DaemonSet(ds), 2 * SECOND);
        assert_eq!(nodes_with_pods(&w, ds), vec!["n-0", "n-2"]);
        assert_eq!(status(&w, ds).desired, 1);
        // A deleted node gets nothing.
        w.nodes[1].taints.clear();
        w.nodes[1].deleted = true;
        finish_terminations(&mut w);
        run(&mut w, ControllerRef::DaemonSet(ds), 3 * SECOND);
        assert_eq!(nodes_with_pods(&w, ds), vec!["n-0", "n-2"]);
    }

    #[test]
    fn a_terminating_pod_blocks_its_replacement_and_finished_pods_are_replaced() {
        let mut w = test_world();
        let ds = add_ds(&mut w, agent());
        run(&mut w, ControllerRef::DaemonSet(ds), 0);
        let p = w.daemonsets[ds.idx()].pods[0];
        let n = target_node(&w, p);
        start(&mut w, p, n, SECOND);
        w.set_phase(p, PodPhase::Failed);
        run(&mut w, ControllerRef::DaemonSet(ds), 2 * SECOND);
        assert!(w.pod(p).deleting_since.is_some());
        run(&mut w, ControllerRef::DaemonSet(ds), 3 * SECOND);
        assert_eq!(
            w.daemonsets[ds.idx()].pods.len(),
            3,
            "no replacement while terminating"
        );
        w.remove_pod(p);
        run(&mut w, ControllerRef::DaemonSet(ds), 4 * SECOND);
        assert_eq!(w.daemonsets[ds.idx()].pods.len(), 3);
        assert_eq!(nodes_with_pods(&w, ds).len(), 3);
    }

    #[test]
    fn rolling_update_replaces_one_node_at_a_time() {
        let mut w = test_world();
        let ds = add_ds(&mut w, agent());
        let c = ControllerRef::DaemonSet(ds);
        run(&mut w, c, 0);
        for p in w.daemonsets[ds.idx()].pods.clone() {
            let n = target_node(&w, p);
            start(&mut w, p, n, SECOND);
        }
        let mut v2 = agent();
        v2.images = vec!["agent:2".into()];
        w.daemonsets[ds.idx()].spec = w.add_spec(v2);
        let mut max_terminating = 0;
        for t in 2..20 {
            run(&mut w, c, t * SECOND);
            let terminating = w
                .pods
                .iter()
                .filter(|p| p.deleting_since.is_some() && !p.deleted)
                .count();
            max_terminating = max_terminating.max(terminating);
            finish_terminations(&mut w);
            for p in w.daemonsets[ds.idx()].pods.clone() {
                if !w.pod(p).ready {
                    let n = target_node(&w, p);
                    start(&mut w, p, n, t * SECOND);
                }
            }
        }
        assert_eq!(max_terminating, 1);
        let s = status(&w, ds);
        assert_eq!((s.desired, s.current, s.ready, s.up_to_date), (3, 3, 3, 3));
    }

    #[test]
    fn node_updates_wake_only_daemonsets_whose_verdict_changes() {
        let mut w = test_world();
        let all = add_ds(&mut w, agent());
        let picky = add_ds(
            &mut w,
            PodSpec {
                node_selector: labels(&[("disk", "ssd")]),
                ..agent()
            },
        );
        let n = NodeId(0);
        let mut v = NodeVerdicts::default();
        let woken = |v: &mut NodeVerdicts, w: &World| {
            let mut out = Vec::new();
            v.node_updated(w, n, &mut out);
            out
        };
        // A node not seen before wakes every DaemonSet.
        assert_eq!(
            woken(&mut v, &w),
            vec![
                ControllerRef::DaemonSet(all),
                ControllerRef::DaemonSet(picky)
            ]
        );
        // The node becomes unreachable: daemon pods tolerate it, nobody wakes.
        w.nodes[0].taints.push(taint(
            "node.kubernetes.io/unreachable",
            TaintEffect::NoExecute,
        ));
        w.nodes[0].up = false;
        assert!(woken(&mut v, &w).is_empty());
        // A label that only one DaemonSet selects.
        w.nodes[0].labels.insert("disk".into(), "ssd".into());
        assert_eq!(woken(&mut v, &w), vec![ControllerRef::DaemonSet(picky)]);
        // A NoSchedule taint: the agent may stay but would not be placed anew.
        w.nodes[0]
            .taints
            .push(taint("dedicated", TaintEffect::NoSchedule));
        assert_eq!(
            woken(&mut v, &w),
            vec![
                ControllerRef::DaemonSet(all),
                ControllerRef::DaemonSet(picky)
            ]
        );
        // A deleted node: nothing should run there any more.
        w.nodes[0].taints.clear();
        assert_eq!(woken(&mut v, &w).len(), 2);
        w.nodes[0].deleted = true;
        assert_eq!(woken(&mut v, &w).len(), 2);
    }

    /// The cursor gives each node's pods as a search of the whole list
    /// would, for any increasing sequence of nodes (nodes without pods,
    /// nodes skipped, pods on nodes never asked).
    #[test]
    fn cursor_reads_each_node_as_a_search_would() {
        let pairs: Vec<(NodeId, PodId)> = [(0, 4), (0, 9), (2, 1), (3, 3), (3, 5), (3, 7), (7, 2)]
            .iter()
            .map(|&(n, p)| (NodeId(n), PodId(p)))
            .collect();
        let by_node = PodsByNode(pairs.clone());
        let search = |n: NodeId| -> Vec<PodId> {
            pairs
                .iter()
                .filter(|&&(m, _)| m == n)
                .map(|&(_, p)| p)
                .collect()
        };
        for asked in [
            vec![0, 1, 2, 3, 4, 5, 6, 7, 8],
            vec![1, 3, 8],
            vec![2, 7],
            vec![5],
            vec![],
        ] {
            let mut cursor = by_node.cursor();
            for n in asked {
                let n = NodeId(n);
                assert_eq!(cursor.on(n).collect::<Vec<_>>(), search(n), "node {n:?}");
            }
        }
    }
}
