//! TaintToleration: NoSchedule/NoExecute taints filter; untolerated
//! PreferNoSchedule taints lower the score (reverse-normalised).
//!
//! Follows pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go
//! (v1.35). The filter's reason names the first untolerated taint up to v1.34
//! (`node(s) had untolerated taint {key: value}`); from v1.35 (PR #134740) it is
//! the generic `node(s) had untolerated taint(s)`.

use crate::model::taints::{TaintEffect, Toleration, find_untolerated, is_do_not_schedule};
use crate::scheduler::framework::*;

pub const NAME: &str = "TaintToleration";
/// The v1.35+ reason.
pub const REASON: &str = "node(s) had untolerated taint(s)";

pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
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

impl FilterPlugin for TaintToleration {
    /// Reads only the node's taints and the template's tolerations.
    fn is_static(&self) -> bool {
        true
    }
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        match find_untolerated(&node.node.taints, &cx.spec.tolerations, is_do_not_schedule) {
            None => Status::SUCCESS,
            Some(_) if cx.version.at_least(35) => Status::unresolvable(REASON),
            Some(t) => Status::unresolvable(crate::model::taints::untolerated_taint_reason(t)),
        }
    }
}

/// The pod's tolerations that matter for scoring: effect empty or PreferNoSchedule.
#[derive(Default)]
struct PreScoreState {
    tolerations: Vec<Toleration>,
}

impl PreScorePlugin for TaintToleration {
    fn pre_score(
        &self,
        cx: &CycleContext,
        state: &mut State,
        _: &[crate::model::NodeId],
    ) -> Status {
        let s = state.get_or_default::<PreScoreState>();
        s.tolerations.clear();
        s.tolerations.extend(
            cx.spec
                .tolerations
                .iter()
                .filter(|t| t.effect.is_none_or(|e| e == TaintEffect::PreferNoSchedule))
                .cloned(),
        );
        Status::SUCCESS
    }
}

impl ScorePlugin for TaintToleration {
    /// Reads only the node's taints and the template's tolerations.
    fn is_node_local(&self) -> bool {
        true
    }

    /// The number of PreferNoSchedule taints the pod does not tolerate.
    fn score(&self, _: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
        let tols = state
            .get::<PreScoreState>()
            .map(|s| s.tolerations.as_slice())
            .unwrap_or(&[]);
        node.node
            .taints
            .iter()
            .filter(|t| {
                t.effect == TaintEffect::PreferNoSchedule && !tols.iter().any(|x| x.tolerates(t))
            })
            .count() as i64
    }
    /// 0 without reading the node where the table says it has no
    /// PreferNoSchedule taint.
    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        let t = cx.table;
        out.extend(feasible.iter().map(|&n| {
            if t.prefer_no_schedule[n.idx()] {
                self.score(cx, state, &NodeInfo::of(cx.world, n))
            } else {
                0
            }
        }));
    }
    /// No node has a PreferNoSchedule taint: every raw score is 0, and every
    /// normalised one 100.
    fn is_uniform(&self, cx: &CycleContext, _: &State) -> bool {
        cx.table.prefer_no_schedule_nodes == 0
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
    }
}

impl EnqueueExtensions for TaintToleration {
    /// Node Add | UpdateNodeTaint (a pod's tolerations never change here).
    fn events_to_register(&self) -> Events {
        Events::nodes(ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT))
    }

    /// `isSchedulableAfterNodeChange`: the node had a NoSchedule/NoExecute taint
    /// the pod does not tolerate (a new node counts as having had one) and no
    /// longer has.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let Some((_, old, Some(new))) = event.node() else {
            return QueueingHint::QueueSkip;
        };
        let tols = &cx.spec.tolerations;
        let untolerated = |taints: &[crate::model::taints::Taint]| {
            find_untolerated(taints, tols, is_do_not_schedule).is_some()
        };
        QueueingHint::queue_if(
            old.is_none_or(|o| untolerated(&o.taints)) && !untolerated(&new.taints),
        )
    }
}
