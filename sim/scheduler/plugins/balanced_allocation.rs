//! NodeResourcesBalancedAllocation: favours nodes whose resource fractions
//! (requested / allocatable, with the pod) are close to each other.
//!
//! Follows pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go.
//! Version-dependent (see the version table in ARCHITECTURE.md):
//! - from v1.33 (PR #130260) a pod requesting none of the resources skips the
//!   plugin (it scores 0 everywhere);
//! - from v1.36 (PR #135573) the score measures the *change* in balance:
//!   `50 + (50 + withPod - withoutPod) / 2`, each term the older formula.
//!
//! Uses real requests on both sides (`useRequested`), never the non-zero defaults.
//! Resource weights are accepted but, as upstream, ignored.

use crate::model::NodeId;
use crate::scheduler::framework::*;
use crate::scheduler::plugins::node_resources_fit::{
    Res, ResourceWeight, allocatable_and_requested, in_table, pod_request, resolve,
    table_allocatable_and_requested,
};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

pub struct BalancedAllocation {
    pub resources: Vec<ResourceWeight>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        BalancedAllocation {
            resources: ResourceWeight::defaults(),
        }
    }
}

#[derive(Default)]
struct ScoreState {
    resources: Vec<(Res, i64)>,
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
        let s = state.get_or_default::<ScoreState>();
        s.resources.clear();
        for r in &self.resources {
            let res = resolve(cx.world, &r.name);
            s.resources.push((res, pod_request(cx.spec, res, true)));
        }
        if cx.version.at_least(33) && s.resources.iter().all(|&(_, q)| q == 0) {
            return Status::SKIP;
        }
        Status::SUCCESS
    }
}

/// `balancedResourceScorer`: (1 - std of the fractions) * 100, truncated.
/// Two resources: std = |f0 - f1| / 2; more: the population standard deviation.
pub fn balanced_score(fractions: &[f64]) -> i64 {
    let n = fractions.len();
    let std = match n {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        _ => {
            let mean = fractions.iter().sum::<f64>() / n as f64;
            let var = fractions
                .iter()
                .map(|f| (f - mean) * (f - mean))
                .sum::<f64>()
                / n as f64;
            var.sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl BalancedAllocation {
    fn node_score(&self, cx: &CycleContext, s: &ScoreState, node: &NodeInfo) -> i64 {
        Self::score_with(cx, s, |res, pod_req| {
            allocatable_and_requested(node, res, pod_req, true)
        })
    }

    /// The score with each resource's (allocatable, requested including the
    /// pod) from `alloc_req(resource, pod request)`.
    #[inline]
    fn score_with(
        cx: &CycleContext,
        s: &ScoreState,
        alloc_req: impl Fn(Res, i64) -> (i64, i64),
    ) -> i64 {
        // At most a handful of resources: fixed arrays, no allocation.
        let mut with = [0f64; 8];
        let mut without = [0f64; 8];
        let mut n = 0;
        for &(res, pod_req) in s.resources.iter().take(8) {
            let (alloc, req) = alloc_req(res, pod_req);
            if alloc == 0 {
                continue;
            }
            with[n] = (req as f64 / alloc as f64).min(1.0);
            without[n] = ((req - pod_req) as f64 / alloc as f64).min(1.0);
            n += 1;
        }
        let with_pod = balanced_score(&with[..n]);
        if !cx.version.at_least(36) {
            return with_pod;
        }
        let without_pod = balanced_score(&without[..n]);
        MAX_NODE_SCORE / 2 + (MAX_NODE_SCORE / 2 + with_pod - without_pod) / 2
    }
}

impl ScorePlugin for BalancedAllocation {
    /// Reads only the node's allocatable and requested resources and the template's requests.
    fn is_node_local(&self) -> bool {
        true
    }

    /// The score is already in [0, 100]: no NormalizeScore.
    fn normalize_is_identity(&self) -> bool {
        true
    }

    score_from_state!(ScoreState);

    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        match state.get::<ScoreState>() {
            Some(s) if in_table(s.resources.iter().map(|r| &r.0)) => {
                let t = cx.table;
                out.extend(feasible.iter().map(|&n| {
                    Self::score_with(cx, s, |res, q| {
                        table_allocatable_and_requested(t, n, res, q, true)
                    })
                }));
            }
            _ => score_each(cx, state, feasible, out, |s: &ScoreState, n| {
                self.node_score(cx, s, n)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_resources_use_half_the_difference() {
        // cpu 3000/4000 = 0.75, mem 2Gi/8Gi = 0.25: std = 0.25 → (0.75)*100 = 75.
        assert_eq!(balanced_score(&[0.75, 0.25]), 75);
        // Clamped fractions: 1.0 and 0.1 → std 0.45 → 55.
        assert_eq!(balanced_score(&[1.0, 0.1]), 55);
        // Three: 0.2, 0.5, 0.8: mean 0.5, var (0.09+0+0.09)/3 = 0.06, std 0.2449 → 75.5 → 75.
        assert_eq!(balanced_score(&[0.2, 0.5, 0.8]), 75);
    }

    #[test]
    fn v136_scores_the_change() {
        // Without pod balanced (100), with pod fully imbalanced: fractions 1.0, 0.0 → 50.
        // 50 + (50 + 50 - 100)/2 = 50.
        let with_pod = balanced_score(&[1.0, 0.0]);
        assert_eq!(with_pod, 50);
        assert_eq!(50 + (50 + with_pod - 100) / 2, 50);
        // No change: 50 + 50/2 = 75.
        assert_eq!(50 + (50 + 80 - 80) / 2, 75);
    }
}
