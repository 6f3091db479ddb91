//! NodeName: a pod with `spec.nodeName` fits only that node.
//!
//! Follows pkg/scheduler/framework/plugins/nodename/node_name.go (v1.35).

use crate::scheduler::framework::*;

pub const NAME: &str = "NodeName";
/// `ErrReason`.
pub const REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        match &cx.spec.node_name {
            Some(name) if *name != node.node.name => Status::unresolvable(REASON),
            _ => Status::SUCCESS,
        }
    }
}
