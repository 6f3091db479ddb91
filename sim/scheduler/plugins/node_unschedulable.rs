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
}

impl FilterPlugin for NodeUnschedulable {
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
