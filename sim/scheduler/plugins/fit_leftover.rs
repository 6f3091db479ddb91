//! BestFit and WorstFit (literature policies): the node with the least (best
//! fit) or the most (worst fit) resources left over after placing the pod.
//!
//! Leftover is the sum over cpu and memory of the free fraction after placement,
//! in parts per million of allocatable; real requests (the filter's view).

use crate::scheduler::framework::*;
use crate::scheduler::plugins::first_fit::{normalize_higher_is_better, normalize_lower_is_better};

pub const BEST_FIT: &str = "BestFit";
pub const WORST_FIT: &str = "WorstFit";

pub struct FitLeftover {
    /// true: least leftover wins (best fit); false: most leftover wins (worst fit).
    pub best: bool,
}

impl Plugin for FitLeftover {
    fn name(&self) -> &'static str {
        if self.best { BEST_FIT } else { WORST_FIT }
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// Free fraction after placement in ppm; 0 for a resource the node lacks.
fn free_ppm(alloc: i64, used: i64) -> i64 {
    if alloc <= 0 {
        return 0;
    }
    ((alloc - used).max(0) as i128 * 1_000_000 / alloc as i128) as i64
}

pub fn leftover_ppm(cx: &CycleContext, node: &NodeInfo) -> i64 {
    let a = &node.node.allocatable;
    let r = &cx.spec.requests;
    free_ppm(a.milli_cpu, node.requested.milli_cpu + r.milli_cpu)
        + free_ppm(a.memory, node.requested.memory + r.memory)
}

impl ScorePlugin for FitLeftover {
    fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        leftover_ppm(cx, node)
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        if self.best {
            normalize_lower_is_better(scores)
        } else {
            normalize_higher_is_better(scores)
        }
    }
}
