//! NodePorts: a pod's `hostPort`s must be free on the node.
//!
//! Follows pkg/scheduler/framework/plugins/nodeports/node_ports.go and
//! framework/types.go (`HostPortInfo.CheckConflict`) (v1.35): an empty host IP
//! means `0.0.0.0`, which conflicts with the same protocol and port on any IP.

use crate::model::{HostPort, World};
use crate::scheduler::framework::*;

pub const NAME: &str = "NodePorts";
/// `ErrReason`.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
        Some(self)
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(&self, cx: &CycleContext, _: &mut State) -> Status {
        if cx.spec.host_ports.iter().any(|p| p.port > 0) {
            Status::SUCCESS
        } else {
            Status::SKIP
        }
    }
}

fn ip(p: &HostPort) -> &str {
    if p.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        &p.host_ip
    }
}

/// `HostPortInfo.CheckConflict` for one wanted port against one used port.
pub fn conflicts(want: &HostPort, used: &HostPort) -> bool {
    if want.port <= 0 || used.port <= 0 || want.port != used.port || want.protocol != used.protocol
    {
        return false;
    }
    let (a, b) = (ip(want), ip(used));
    a == "0.0.0.0" || b == "0.0.0.0" || a == b
}

/// Whether any of `want` conflicts with the ports of the pods in `node`.
pub fn node_has_conflict(world: &World, want: &[HostPort], node: &NodeInfo) -> bool {
    node.pods().any(|p| {
        let used = &world.pod_spec(p).host_ports;
        !used.is_empty() && want.iter().any(|w| used.iter().any(|u| conflicts(w, u)))
    })
}

impl FilterPlugin for NodePorts {
    fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
        if node_has_conflict(cx.world, &cx.spec.host_ports, node) {
            Status::unschedulable(REASON)
        } else {
            Status::SUCCESS
        }
    }
}

impl EnqueueExtensions for NodePorts {
    /// Pod Delete (ports are immutable), and Node Add without a hint.
    fn events_to_register(&self) -> Events {
        Events {
            node: ActionType::ADD,
            pod: ActionType::DELETE,
        }
    }

    /// Node Add: always. `isSchedulableAfterPodDeleted`: the deleted pod was
    /// bound or nominated, and used a host port this pod wants.
    fn queueing_hint(&self, cx: &HintContext, event: &ClusterEvent) -> QueueingHint {
        let Some(p) = event.pod() else {
            return QueueingHint::Queue;
        };
        let used = &cx.world.pod_spec(p).host_ports;
        let frees = cx
            .spec
            .host_ports
            .iter()
            .any(|w| used.iter().any(|u| conflicts(w, u)));
        QueueingHint::queue_if(frees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    fn hp(ip: &str, port: i32) -> HostPort {
        HostPort {
            protocol: Protocol::Tcp,
            host_ip: ip.into(),
            port,
        }
    }

    #[test]
    fn wildcard_ip_conflicts_with_every_ip() {
        assert!(conflicts(&hp("", 80), &hp("10.0.0.1", 80)));
        assert!(conflicts(&hp("10.0.0.1", 80), &hp("0.0.0.0", 80)));
        assert!(!conflicts(&hp("10.0.0.1", 80), &hp("10.0.0.2", 80)));
        assert!(!conflicts(&hp("", 80), &hp("", 81)));
        let mut udp = hp("", 80);
        udp.protocol = Protocol::Udp;
        assert!(!conflicts(&hp("", 80), &udp));
    }
}
