//! Random (literature baseline): every feasible node scores the same, so the
//! framework's tie-break picks one uniformly from the scheduler's RNG stream.

use crate::scheduler::framework::*;

pub const NAME: &str = "Random";

pub struct Random;

impl Plugin for Random {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for Random {
    fn score(&self, _: &CycleContext, _: &State, _: &NodeInfo) -> i64 {
        0
    }
}
