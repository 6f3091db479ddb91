//! Tetris (Grandl et al., SIGCOMM 2014): place the pod where its demand vector
//! aligns best with the node's free vector — the dot product of the two, each
//! resource normalised by the node's allocatable.
//!
//! Score = Σ_r (request_r / alloc_r) × (free_r / alloc_r) over cpu and memory,
//! in integer parts per million per factor; the largest wins.

use crate::scheduler::framework::*;
use crate::scheduler::plugins::first_fit::normalize_higher_is_better;

pub const NAME: &str = "Tetris";

pub struct Tetris;

impl Plugin for Tetris {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

fn ppm(x: i64, alloc: i64) -> i128 {
    if alloc <= 0 {
        0
    } else {
        x.max(0) as i128 * 1_000_000 / alloc as i128
    }
}

impl ScorePlugin for Tetris {
    fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        let a = &node.node.allocatable;
        let r = &cx.spec.requests;
        let free_cpu = a.milli_cpu - node.requested.milli_cpu;
        let free_mem = a.memory - node.requested.memory;
        let dot = ppm(r.milli_cpu, a.milli_cpu) * ppm(free_cpu, a.milli_cpu)
            + ppm(r.memory, a.memory) * ppm(free_mem, a.memory);
        (dot / 1_000_000) as i64
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        normalize_higher_is_better(scores);
    }
}
