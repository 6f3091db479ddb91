//! FirstFit (literature policy): the feasible node that comes first in the
//! cluster's node order (pool order, then index) wins.
//!
//! Raw score is the node's id; normalisation gives 100 to the smallest and less
//! to every other, so exactly the first feasible node is chosen.

use crate::scheduler::framework::*;

pub const NAME: &str = "FirstFit";

pub struct FirstFit;

impl Plugin for FirstFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for FirstFit {
    fn score(&self, _: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
        i64::from(node.id.0)
    }
    fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
        normalize_lower_is_better(scores);
    }
}

/// Map the smallest raw score to 100 and the largest to 0, linearly, with
/// truncation: only an exact minimum scores 100, so ties are exact ties.
pub fn normalize_lower_is_better(scores: &mut [i64]) {
    let (min, max) = scores
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    if scores.is_empty() || max == min {
        scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        return;
    }
    for s in scores.iter_mut() {
        *s = ((max - *s) as i128 * MAX_NODE_SCORE as i128 / (max - min) as i128) as i64;
    }
}

/// Map the largest raw score to 100 and the smallest to 0 (only an exact maximum scores 100).
pub fn normalize_higher_is_better(scores: &mut [i64]) {
    let (min, max) = scores
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    if scores.is_empty() || max == min {
        scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        return;
    }
    for s in scores.iter_mut() {
        *s = ((*s - min) as i128 * MAX_NODE_SCORE as i128 / (max - min) as i128) as i64;
    }
}
