//! NodeAffinity: `nodeSelector` and required node affinity filter; preferred
//! terms score by the sum of the weights of the terms a node matches,
//! normalised by the largest.
//!
//! Follows pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go and
//! k8s.io/component-helpers/scheduling/corev1/nodeaffinity (v1.35). The plugin
//! args' `addedAffinity` is not simulated.

use crate::scheduler::framework::*;

pub const NAME: &str = "NodeAffinity";
/// `ErrReasonPod`.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

pub struct NodeAffinity;

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
}

/// `GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector labels all equal,
/// and the required terms (ORed) when present.
pub fn required_matches(spec: &crate::model::PodSpec, node: &crate::model::Node) -> bool {
    spec.node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
        && spec
            .required_node_affinity
            .as_ref()
            .is_none_or(|s| s.matches(&node.name, &node.labels))
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
        if cx.spec.required_node_affinity.is_none() && cx.spec.node_selector.is_empty() {
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
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        if required_matches(cx.spec, node.node) {
            Status::SUCCESS
        } else {
            Status::unresolvable(REASON)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, cx: &CycleContext, _: &mut State, _: &[crate::model::NodeId]) -> Status {
        if cx.spec.preferred_node_affinity.is_empty() {
            Status::SKIP
        } else {
            Status::SUCCESS
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        cx.spec
            .preferred_node_affinity
            .iter()
            .filter(|(_, term)| term.matches(&node.node.name, &node.node.labels))
            .map(|(w, _)| i64::from(*w))
            .sum()
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}
