//! The preemption evaluator behind the DefaultPreemption PostFilter plugin
//! (`plugins/default_preemption.rs`): find the node where evicting the fewest,
//! least important pods makes the pod fit, respecting PodDisruptionBudgets
//! where possible.
//!
//! Follows pkg/scheduler/framework/preemption/preemption.go (`Evaluator`) and
//! plugins/defaultpreemption/default_preemption.go (v1.35):
//! - a pod with `preemptionPolicy: Never`, or whose nominated node still has a
//!   terminating lower-priority pod, is not eligible;
//! - candidates are the nodes whose filter verdict was `Unschedulable` (not
//!   `UnschedulableAndUnresolvable`), examined from a random offset; the dry run
//!   stops once enough candidates (10% of them, at least 100) are found;
//! - on a node, every lower-priority pod is removed; if the pod then fits, pods
//!   are reprieved greedily — PDB-violating ones first, each group by importance
//!   (priority, then earlier start);
//! - among candidates: fewest PDB violations, lowest highest victim priority,
//!   smallest sum of priorities, fewest victims, latest earliest start time.
//!
//! Simplifications: PDBs' `disruptionsAllowed` is computed here from the pods
//! it selects (ready and not terminating, against minAvailable/maxUnavailable)
//! rather than read from a status the disruption controller maintains; the
//! final tie goes to the first candidate found, not to Go's map order.

use std::cmp::Ordering;

use rand::RngExt;

use crate::engine::SimRng;
use crate::model::{PodDisruptionBudget, PodId, PreemptionPolicy, World};
use crate::scheduler::Preemption;
use crate::scheduler::cycle::Diagnosis;
use crate::scheduler::framework::*;
use crate::scheduler::profiles::PreemptionArgs;

pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// `GetOffsetAndNumCandidates`: a random offset in [0, n) and how many
/// candidates to look for: n × percentage / 100, at least the absolute minimum,
/// at most n.
pub fn offset_and_num_candidates(rng: &mut SimRng, n: i32, args: &PreemptionArgs) -> (i32, i32) {
    let offset = if n > 0 { rng.random_range(0..n) } else { 0 };
    let mut num = n * args.min_candidate_nodes_percentage / 100;
    if num < args.min_candidate_nodes_absolute {
        num = args.min_candidate_nodes_absolute;
    }
    if num > n {
        num = n;
    }
    (offset, num)
}

/// `MoreImportantPod`: higher priority; equal priority, started earlier.
fn more_important(world: &World, now: crate::engine::Time, a: PodId, b: PodId) -> Ordering {
    let (pa, pb) = (world.pod_spec(a).priority, world.pod_spec(b).priority);
    let start = |p: PodId| world.pod(p).started_at.unwrap_or(now);
    pb.cmp(&pa).then(start(a).cmp(&start(b)))
}

/// PDB `disruptionsAllowed` as the disruption controller would compute it.
fn disruptions_allowed(world: &World, pdb: &PodDisruptionBudget) -> i64 {
    let mut expected = 0i32;
    let mut healthy = 0i64;
    for p in &world.pods {
        if p.deleted || p.namespace != pdb.meta.namespace || p.phase.is_terminal() {
            continue;
        }
        if !pdb.selector.matches(&world.spec(p.spec).labels) {
            continue;
        }
        expected += 1;
        if p.ready && p.deleting_since.is_none() {
            healthy += 1;
        }
    }
    let desired = if let Some(m) = pdb.min_available {
        i64::from(m.scaled(expected, true))
    } else if let Some(m) = pdb.max_unavailable {
        i64::from(expected - m.scaled(expected, true))
    } else {
        0
    };
    (healthy - desired).max(0)
}

struct Candidate {
    node: NodeId,
    victims: Vec<PodId>,
    pdb_violations: usize,
}

/// `Evaluator.Preempt`: the preemption decided, or the message saying why none
/// (without the "preemption: " prefix the plugin adds).
pub fn preempt(h: &mut PostFilterHandle, args: &PreemptionArgs) -> Result<Preemption, String> {
    let cycle = h.cycle();
    let diag = h.diagnosis;
    let world = cycle.world;
    let cx = h.context();
    let pod = world.pod(cycle.pod);
    // 1. Eligibility (`PodEligibleToPreemptOthers`).
    if cx.spec.preemption_policy == PreemptionPolicy::Never {
        return Err("not eligible due to preemptionPolicy=Never.".into());
    }
    if let Some(nn) = pod.nominated_node
        && diag
            .status_of(nn)
            .is_none_or(|s| s.code != Code::UnschedulableAndUnresolvable)
        && world.node(nn).pods.iter().any(|&p| {
            world.pod(p).deleting_since.is_some() && world.pod_spec(p).priority < cx.spec.priority
        })
    {
        return Err("not eligible due to a terminating pod on the nominated node.".into());
    }
    // 2. Candidates.
    let potential: Vec<NodeId> = cycle
        .nodes
        .iter()
        .copied()
        .filter(|&n| {
            diag.status_of(n)
                .is_some_and(|s| s.code != Code::UnschedulableAndUnresolvable)
        })
        .collect();
    let mut fit = Diagnosis {
        num_all_nodes: cycle.nodes.len(),
        absent: Some(Status::unresolvable(NOT_HELPFUL)),
        ..Default::default()
    };
    if potential.is_empty() {
        return Err(fit.message());
    }
    let (offset, num) = offset_and_num_candidates(h.rng, potential.len() as i32, args);
    let pdbs: Vec<(&PodDisruptionBudget, i64)> = world
        .pdbs
        .iter()
        .map(|p| (p, disruptions_allowed(world, p)))
        .collect();
    let mut non_violating: Vec<Candidate> = Vec::new();
    let mut violating: Vec<Candidate> = Vec::new();
    for i in 0..potential.len() {
        let node = potential[(offset as usize + i) % potential.len()];
        match select_victims(h, &cx, node, &pdbs) {
            Ok((victims, v)) => {
                let c = Candidate {
                    node,
                    victims,
                    pdb_violations: v,
                };
                if v == 0 {
                    non_violating.push(c);
                } else {
                    violating.push(c);
                }
                if !non_violating.is_empty()
                    && (non_violating.len() + violating.len()) as i32 >= num
                {
                    break;
                }
            }
            Err(s) => fit.statuses.push((node, s)),
        }
    }
    non_violating.extend(violating);
    if non_violating.is_empty() {
        return Err(fit.message());
    }
    let best = pick_one(world, cycle.now, &non_violating);
    Ok(Preemption {
        node: best.node,
        victims: best.victims.clone(),
    })
}

/// `SelectVictimsOnNode`: the victims (most important first) and how many of
/// them violate a PDB; or the status saying why preemption cannot help here.
fn select_victims(
    h: &mut PostFilterHandle,
    cx: &CycleContext,
    node: NodeId,
    pdbs: &[(&PodDisruptionBudget, i64)],
) -> Result<(Vec<PodId>, usize), Status> {
    let cycle = h.cycle();
    let world = cycle.world;
    let prio = cx.spec.priority;
    let mut removed: Vec<PodId> = world
        .node(node)
        .pods
        .iter()
        .copied()
        .filter(|&p| world.pod_spec(p).priority < prio)
        .collect();
    if removed.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    let mut fits = |removed: &[PodId]| h.filter_without(cx, node, removed);
    let s = fits(&removed);
    if !s.is_success() {
        return Err(s);
    }
    let mut potential = removed.clone();
    potential.sort_by(|&a, &b| more_important(world, cycle.now, a, b));
    // `filterPodsWithPDBViolation`.
    let mut allowed: Vec<i64> = pdbs.iter().map(|&(_, a)| a).collect();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for &p in &potential {
        let q = world.pod(p);
        let labels = &world.spec(q.spec).labels;
        let mut violates = false;
        for (i, (pdb, _)) in pdbs.iter().enumerate() {
            if pdb.meta.namespace != q.namespace
                || pdb.selector.is_empty()
                || !pdb.selector.matches(labels)
            {
                continue;
            }
            allowed[i] -= 1;
            if allowed[i] < 0 {
                violates = true;
            }
        }
        if violates {
            violating.push(p);
        } else {
            non_violating.push(p);
        }
    }
    let mut victims = Vec::new();
    let mut num_violating = 0;
    for (group, is_violating) in [(&violating, true), (&non_violating, false)] {
        for &p in group.iter() {
            removed.retain(|&q| q != p);
            if !fits(&removed).is_success() {
                removed.push(p);
                victims.push(p);
                if is_violating {
                    num_violating += 1;
                }
            }
        }
    }
    if !violating.is_empty() && !non_violating.is_empty() {
        victims.sort_by(|&a, &b| more_important(world, cycle.now, a, b));
    }
    if victims.is_empty() {
        return Err(Status::new(
            Code::UnschedulableAndUnresolvable,
            format!(
                "expected at least one victim pod on node {:?}",
                world.node(node).name
            ),
        ));
    }
    Ok((victims, num_violating))
}

/// `pickOneNodeForPreemption`: each criterion keeps the ties for the next.
fn pick_one<'a>(world: &World, now: crate::engine::Time, cands: &'a [Candidate]) -> &'a Candidate {
    let mut keep: Vec<&Candidate> = cands.iter().collect();
    let prio = |p: PodId| i64::from(world.pod_spec(p).priority);
    let start = |p: PodId| world.pod(p).started_at.unwrap_or(now);
    let mut narrow = |key: &dyn Fn(&Candidate) -> i128| {
        let best = keep.iter().map(|c| key(c)).min().unwrap();
        keep.retain(|c| key(c) == best);
    };
    narrow(&|c| c.pdb_violations as i128);
    narrow(&|c| i128::from(prio(c.victims[0])));
    narrow(&|c| {
        c.victims
            .iter()
            .map(|&p| i128::from(prio(p) + i64::from(i32::MAX) + 1))
            .sum()
    });
    narrow(&|c| c.victims.len() as i128);
    // Latest "earliest start among the highest-priority victims" wins.
    narrow(&|c| {
        let top = prio(c.victims[0]);
        let earliest = c
            .victims
            .iter()
            .filter(|&&p| prio(p) == top)
            .map(|&p| start(p))
            .min()
            .unwrap();
        -i128::from(earliest)
    });
    keep[0]
}
