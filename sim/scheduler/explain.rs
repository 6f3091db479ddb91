//! `kubesim explain`: one pod, one moment — every node's filter verdicts and
//! every score plugin's raw, normalised and weighted score, and the node the
//! scheduler would choose, computed by the same cycle code on a clone of the
//! scheduler's RNG and start index so that it agrees with the real decision.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{SimRng, seconds};
use crate::scheduler::cycle::{Buffers, Cycle, Decision, ScoreRecord};
use crate::scheduler::framework::*;
use crate::scheduler::runtime;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Explanation {
    /// `namespace/name`.
    pub pod: String,
    pub at_seconds: f64,
    pub profile: String,
    pub nodes: Vec<NodeExplanation>,
    /// The node the cycle would bind to; `None` when the pod fits nowhere.
    pub selected: Option<String>,
    /// Feasible nodes sharing the top total score (the choice among them is random).
    pub ties: Vec<String>,
    /// kube-scheduler's FitError message when the pod fits nowhere.
    pub message: Option<String>,
    /// `numFeasibleNodesToFind` for this cluster and profile.
    pub feasible_nodes_to_find: usize,
    /// Score plugins whose PreScore skipped this pod (they score 0 everywhere).
    pub skipped_score_plugins: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeExplanation {
    pub node: String,
    /// Examined by this cycle (nodes beyond the sample are shown but were not).
    pub evaluated: bool,
    pub feasible: bool,
    /// The reasons of the first Filter plugin that rejected the node, as
    /// kube-scheduler records them.
    pub reasons: Vec<String>,
    /// Every Filter plugin's own verdict, in profile order.
    pub filters: Vec<FilterVerdict>,
    pub scores: BTreeMap<String, ScoreDetail>,
    pub total: Option<i64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FilterVerdict {
    pub plugin: String,
    pub code: Code,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScoreDetail {
    pub raw: i64,
    pub normalized: i64,
    pub weighted: i64,
}

pub fn explain(
    cycle: &Cycle,
    profile_name: &str,
    mut rng: SimRng,
    mut start: usize,
) -> Explanation {
    let world = cycle.world;
    let mut bufs = Buffers::default();
    let mut record = ScoreRecord::default();
    let decision = cycle.schedule(&mut rng, &mut start, &mut bufs, Some(&mut record));
    let (selected, message) = match decision {
        Decision::Bind(n) => match runtime::reserve_and_bind(cycle, &mut bufs, n) {
            Ok(()) => (Some(n), None),
            Err(failure) => (None, Some(failure.message)),
        },
        Decision::Unschedulable(mut diag) => {
            let mut b = Buffers::default();
            // PreFilter state for the dry run.
            let cx = cycle.context();
            let _ = cycle.pre_filter(&cx, &mut b);
            let p = runtime::run_post_filter(cycle, &mut diag, &mut rng, &mut b);
            let mut msg = diag.message();
            if let Some(p) = p {
                msg.push_str(&format!(
                    " (preemption would nominate node {} and evict {} pod(s))",
                    world.node(p.node).name,
                    p.victims.len()
                ));
            }
            (None, Some(msg))
        }
    };

    // Per-plugin verdicts for every node, with fresh PreFilter state.
    let cx = cycle.context();
    let mut b = Buffers::default();
    let pre = cycle.pre_filter(&cx, &mut b);
    let mut nodes = Vec::with_capacity(cycle.nodes.len());
    for &n in cycle.nodes {
        let info = NodeInfo::of(world, n);
        let mut filters = Vec::new();
        let mut reasons = Vec::new();
        match &pre {
            Err((s, i)) => {
                reasons = s.reasons.iter().map(|r| r.to_string()).collect();
                filters.push(FilterVerdict {
                    plugin: cycle.profile.plugin_name(*i).to_string(),
                    code: s.code,
                    reasons: reasons.clone(),
                });
            }
            Ok(()) => {
                for &i in &cycle.profile.filter {
                    if b.skip_filter[i] {
                        continue;
                    }
                    let f = cycle.profile.plugins[i].as_filter().unwrap();
                    let s = f.filter(&cx, &b.states[i], &info);
                    let rs: Vec<String> = s.reasons.iter().map(|r| r.to_string()).collect();
                    if reasons.is_empty() && !s.is_success() {
                        reasons = rs.clone();
                    }
                    filters.push(FilterVerdict {
                        plugin: cycle.profile.plugin_name(i).to_string(),
                        code: s.code,
                        reasons: rs,
                    });
                }
            }
        }
        if let Some((subset, plugins)) = &b.subset
            && !subset.contains(&n)
        {
            reasons = vec![format!(
                "node(s) didn't satisfy plugin(s) [{}]",
                plugins.join(" ")
            )];
        }
        let mut scores = BTreeMap::new();
        let mut total = None;
        if let Some(j) = record.feasible.iter().position(|&f| f == n)
            && !record.totals.is_empty()
        {
            for (k, &(i, w)) in cycle.profile.score.iter().enumerate() {
                let norm = record.normalized[k][j];
                scores.insert(
                    cycle.profile.plugin_name(i).to_string(),
                    ScoreDetail {
                        raw: record.raw[k][j],
                        normalized: norm,
                        weighted: norm.clamp(0, MAX_NODE_SCORE) * w,
                    },
                );
            }
            total = Some(record.totals[j]);
        }
        nodes.push(NodeExplanation {
            node: world.node(n).name.clone(),
            evaluated: record.evaluated.contains(&n),
            feasible: reasons.is_empty() && pre.is_ok(),
            reasons,
            filters,
            scores,
            total,
        });
    }
    let pod = world.pod(cycle.pod);
    Explanation {
        pod: pod.key(),
        at_seconds: seconds(cycle.now),
        profile: profile_name.to_string(),
        nodes,
        selected: selected.map(|n| world.node(n).name.clone()),
        ties: record
            .ties
            .iter()
            .map(|&n| world.node(n).name.clone())
            .collect(),
        message,
        feasible_nodes_to_find: record.num_to_find,
        skipped_score_plugins: record.skipped.iter().map(|s| s.to_string()).collect(),
    }
}
