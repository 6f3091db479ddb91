//! DrfSpread: spread by dominant resource. Dominant Resource Fairness (Ghodsi
//! et al., NSDI 2011) equalises users' dominant shares; applied across nodes it
//! places the pod where the node's dominant share (the larger of its cpu and
//! memory fractions, with the pod) is lowest — a spread policy that, unlike
//! LeastAllocated's average, is driven by each node's bottleneck resource.

use crate::scheduler::framework::*;
use crate::scheduler::plugins::first_fit::normalize_lower_is_better;

pub const NAME: &str = "DrfSpread";

pub struct DrfSpread;

impl Plugin for DrfSpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

fn share_ppm(used: i64, alloc: i64) -> i64 {
    if alloc <= 0 {
        0
    } else {
        (used.max(0) as i128 * 1_000_000 / alloc as i128) as i64
    }
}

impl ScorePlugin for DrfSpread {
    fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        let a = &node.node.allocatable;
        let r = &cx.spec.requests;
        share_ppm(node.requested.milli_cpu + r.milli_cpu, a.milli_cpu)
            .max(share_ppm(node.requested.memory + r.memory, a.memory))
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        normalize_lower_is_better(scores);
    }
}
