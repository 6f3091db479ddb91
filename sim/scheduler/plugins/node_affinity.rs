//! NodeAffinity: `nodeSelector` and required node affinity filter; preferred
//! terms score by the sum of the weights of the terms a node matches,
//! normalised by the largest. The args' `addedAffinity` applies to every pod
//! of the profile: its required selector filters before the pod's own terms,
//! its preferred terms add to every node's score.
//!
//! Follows pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go and
//! k8s.io/component-helpers/scheduling/corev1/nodeaffinity (v1.35).

use crate::model::labels::{Labels, NodeSelector, NodeSelectorTerm};
use crate::model::{Node, PodSpec};
use crate::scheduler::framework::*;

pub const NAME: &str = "NodeAffinity";
/// `ErrReasonPod`.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";
/// `errReasonEnforced`.
pub const REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";

/// `NodeAffinityArgs.addedAffinity`, parsed (`nodeaffinity.NewNodeSelector`,
/// `NewPreferredSchedulingTerms`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddedAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution`; empty terms match no node.
    pub required: Option<NodeSelector>,
    /// `preferredDuringSchedulingIgnoredDuringExecution` when given and not
    /// empty, without its weight-0 and empty terms.
    pub preferred: Option<Vec<(i32, NodeSelectorTerm)>>,
}

#[derive(Default)]
pub struct NodeAffinity {
    pub added: AddedAffinity,
}

impl NodeAffinity {
    fn added_required_matches(&self, name: &str, labels: &Labels) -> bool {
        self.added
            .required
            .as_ref()
            .is_none_or(|s| s.matches(name, labels))
    }
}

impl Plugin for NodeAffinity {
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

/// `GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector labels all equal,
/// and the required terms (ORed) when present.
pub fn required_matches(spec: &PodSpec, node: &Node) -> bool {
    required_matches_labels(spec, &node.name, &node.labels)
}

fn required_matches_labels(spec: &PodSpec, name: &str, labels: &Labels) -> bool {
    spec.node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && spec
            .required_node_affinity
            .as_ref()
            .is_none_or(|s| s.matches(name, labels))
}

/// `errReasonConflict`: the required terms name disjoint sets of nodes.
pub const REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The node names the required terms allow through `matchFields` on
/// `metadata.name` with `In` (ANDed within a term, ORed across terms); `None`
/// when some term does not restrict names.
fn required_node_names(spec: &crate::model::PodSpec) -> Option<Vec<String>> {
    let sel = spec.required_node_affinity.as_ref()?;
    if sel.terms.is_empty() {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    for t in &sel.terms {
        let mut term_names: Option<Vec<String>> = None;
        for r in &t.match_fields {
            if r.key == crate::model::labels::NODE_NAME_FIELD
                && r.op == crate::model::labels::Operator::In
            {
                term_names = Some(match term_names {
                    None => r.values.clone(),
                    Some(prev) => prev.into_iter().filter(|n| r.values.contains(n)).collect(),
                });
            }
        }
        let term_names = term_names?;
        for n in term_names {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    Some(names)
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, cx: &CycleContext, _: &mut State) -> Status {
        if cx.spec.required_node_affinity.is_none()
            && self.added.required.is_none()
            && cx.spec.node_selector.is_empty()
        {
            return Status::SKIP;
        }
        if required_node_names(cx.spec).is_some_and(|n| n.is_empty()) {
            return Status::unresolvable(REASON_CONFLICT);
        }
        Status::SUCCESS
    }
    fn node_names(&self, cx: &CycleContext, _: &State) -> Option<Vec<String>> {
        required_node_names(cx.spec)
    }
}

impl FilterPlugin for NodeAffinity {
    /// Reads only the node's name and labels, the template's selector and required terms, and the args' added affinity.
    fn is_static(&self) -> bool {
        true
    }
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        if !self.added_required_matches(&node.node.name, &node.node.labels) {
            return Status::unresolvable(REASON_ENFORCED);
        }
        if required_matches(cx.spec, node.node) {
            Status::SUCCESS
        } else {
            Status::unresolvable(REASON)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, cx: &CycleContext, _: &mut State, _: &[crate::model::NodeId]) -> Status {
        if cx.spec.preferred_node_affinity.is_empty() && self.added.preferred.is_none() {
            Status::SKIP
        } else {
            Status::SUCCESS
        }
    }
}

impl ScorePlugin for NodeAffinity {
    /// Reads only the node's name and labels, the template's preferred terms and the args' added ones.
    fn is_node_local(&self) -> bool {
        true
    }

    fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        let (name, labels) = (&node.node.name, &node.node.labels);
        let sum = |terms: &[(i32, NodeSelectorTerm)]| -> i64 {
            terms
                .iter()
                .filter(|(_, term)| term.matches(name, labels))
                .map(|(w, _)| i64::from(*w))
                .sum()
        };
        self.added.preferred.as_deref().map_or(0, sum) + sum(&cx.spec.preferred_node_affinity)
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}

impl EnqueueExtensions for NodeAffinity {
    /// Node Add | UpdateNodeLabel (with queueing hints on, no preCheck).
    fn events_to_register(&self) -> Events {
        Events::nodes(ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL))
    }

    /// `isSchedulableAfterNodeChange`: the node now matches the added affinity
    /// and the pod's required affinity, and did not before (or is new).
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let Some((id, old, Some(new))) = event.node() else {
            return QueueingHint::QueueSkip;
        };
        let name = &cx.world.node(id).name;
        if !self.added_required_matches(name, &new.labels)
            || !required_matches_labels(cx.spec, name, &new.labels)
        {
            return QueueingHint::QueueSkip;
        }
        match old {
            Some(old) if required_matches_labels(cx.spec, name, &old.labels) => {
                QueueingHint::QueueSkip
            }
            _ => QueueingHint::Queue,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{KubeVersion, World};
    use crate::scheduler::tests::{config_profiles, node, pod, spec};
    use crate::scheduler::{Outcome, Scheduler};

    const GI: i64 = 1 << 30;

    /// A profile whose NodeAffinity args add `zone In [z1]` as required and
    /// `disk In [ssd]` (weight 5) as preferred to every pod.
    fn scheduler() -> Scheduler {
        let profiles = config_profiles(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{key: zone, operator: In, values: [z1]}]
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 5
          preference:
            matchExpressions: [{key: disk, operator: In, values: [ssd]}]
"#,
        );
        Scheduler::from_profiles("cfg", profiles, KubeVersion::DEFAULT, 1)
    }

    fn labelled(name: &str, labels: &[(&str, &str)]) -> crate::model::Node {
        let mut n = node(name, 4000, 8 * GI);
        for (k, v) in labels {
            n.labels.insert(k.to_string(), v.to_string());
        }
        n
    }

    #[test]
    fn added_affinity_filters_and_scores_every_pod() {
        use crate::model::labels::{NodeSelectorTerm, Operator, Requirement};
        let mut w = World::default();
        w.add_node(labelled("a", &[("zone", "z1"), ("disk", "ssd")]));
        w.add_node(labelled("b", &[("zone", "z2"), ("disk", "ssd")]));
        let c = w.add_node(labelled("c", &[("zone", "z1"), ("gen", "new")]));
        // The pod prefers gen=new with weight 10.
        let mut s = spec(100, GI);
        s.preferred_node_affinity = vec![(
            10,
            NodeSelectorTerm {
                match_expressions: vec![Requirement {
                    key: "gen".into(),
                    op: Operator::In,
                    values: vec!["new".into()],
                }],
                match_fields: Vec::new(),
            },
        )];
        let p = pod(&mut w, "p", s);
        let mut sched = scheduler();
        let e = sched.explain(&w, p, 0);
        let at = |n: &str| e.nodes.iter().find(|x| x.node == n).unwrap();
        // b is outside the enforced zone; the pod itself has no required terms.
        assert_eq!(
            at("b").reasons,
            vec!["node(s) didn't match scheduler-enforced node affinity"]
        );
        // Score: added terms plus the pod's: a 5 + 0 = 5, c 0 + 10 = 10;
        // normalised by the largest, 100*5/10 = 50 and 100; weight 2.
        let score = |n: &str| {
            let d = &at(n).scores["NodeAffinity"];
            (d.raw, d.normalized, d.weighted)
        };
        assert_eq!(score("a"), (5, 50, 100));
        assert_eq!(score("c"), (10, 100, 200));
        assert_eq!(sched.schedule_one(&w, p, 0), Outcome::Bind(c));
    }

    #[test]
    fn added_preferred_terms_alone_keep_score_on() {
        // A pod without preferences: PreScore does not skip, because the args add
        // terms (upstream: `preferredNodeAffinity == nil && addedPrefSchedTerms == nil`).
        let mut w = World::default();
        let a = w.add_node(labelled("a", &[("zone", "z1"), ("disk", "ssd")]));
        w.add_node(labelled("c", &[("zone", "z1")]));
        let p = pod(&mut w, "p", spec(100, GI));
        let mut sched = scheduler();
        let e = sched.explain(&w, p, 0);
        assert!(
            !e.skipped_score_plugins
                .contains(&"NodeAffinity".to_string())
        );
        let d = &e.nodes.iter().find(|x| x.node == "a").unwrap().scores["NodeAffinity"];
        assert_eq!((d.raw, d.normalized), (5, 100));
        assert_eq!(sched.schedule_one(&w, p, 0), Outcome::Bind(a));
    }
}
