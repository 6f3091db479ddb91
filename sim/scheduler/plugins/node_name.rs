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
    fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    /// Reads only the node's name and the template's `nodeName`.
    fn is_static(&self) -> bool {
        true
    }
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        match &cx.spec.node_name {
            Some(name) if *name != node.node.name => Status::unresolvable(REASON),
            _ => Status::SUCCESS,
        }
    }
}

impl EnqueueExtensions for NodeName {
    /// Node Add.
    fn events_to_register(&self) -> Events {
        Events::nodes(ActionType::ADD)
    }

    /// `isSchedulableAfterNodeAdd`: the added node is the one the pod names.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        match (event.node(), &cx.spec.node_name) {
            (Some((id, _, Some(_))), Some(name)) if *name != cx.world.node(id).name => {
                QueueingHint::QueueSkip
            }
            (Some((_, _, Some(_))), _) => QueueingHint::Queue,
            _ => QueueingHint::QueueSkip,
        }
    }
}
