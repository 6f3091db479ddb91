//! NodeUnschedulable: nodes with `spec.unschedulable` take only pods that
//! tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint.
//!
//! Follows pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go (v1.35).

use crate::model::taints::{Taint, TaintEffect, tolerated};
use crate::scheduler::framework::*;

pub const NAME: &str = "NodeUnschedulable";
/// `ErrReasonUnschedulable`.
pub const REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    /// Reads only `spec.unschedulable` and the template's tolerations.
    fn is_static(&self) -> bool {
        true
    }
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        if !node.node.unschedulable {
            return Status::SUCCESS;
        }
        let taint = Taint {
            key: TAINT_KEY.to_string(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        };
        if tolerated(&cx.spec.tolerations, &taint) {
            Status::SUCCESS
        } else {
            Status::unresolvable(REASON)
        }
    }
}

impl EnqueueExtensions for NodeUnschedulable {
    /// Node Add | UpdateNodeTaint (`spec.unschedulable` turning false is reported
    /// as a taint update).
    fn events_to_register(&self) -> Events {
        Events::nodes(ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT))
    }

    /// `isSchedulableAfterNodeChange`: a schedulable node was added, or a node
    /// became schedulable.
    fn queueing_hint(&self, _: &HintContext, event: &ClusterEvent) -> QueueingHint {
        match event.node() {
            Some((_, old, Some(new)))
                if !new.unschedulable && old.is_none_or(|o| o.unschedulable) =>
            {
                QueueingHint::Queue
            }
            _ => QueueingHint::QueueSkip,
        }
    }
}
