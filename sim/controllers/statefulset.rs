//! The StatefulSet controller: pods `NAME-0 … NAME-(replicas-1)`, each
//! ordinal held by at most one pod at a time.
//!
//! Follows pkg/controller/statefulset/stateful_set_control.go
//! (`updateStatefulSet`, `processReplica`, `processCondemned`, `runForAll`,
//! `computeReplicaStatus`) and stateful_set_utils.go (`isRunningAndReady`,
//! `isUnavailable`) (v1.37):
//! - OrderedReady ("monotonic"): walk ordinals upward; create the first
//!   missing pod and stop; stop at any pod that is terminating or not Running
//!   and Ready. Only then scale down, highest ordinal first, one pod per sync,
//!   waiting for it to be gone; an unhealthy condemned pod blocks unless it is
//!   the first unhealthy pod of the set.
//! - Parallel: the same steps without stopping.
//! - A Succeeded or Failed pod is deleted; its replacement (same name) comes
//!   only after the old pod is removed, so an ordinal never has two live pods.
//! - Rolling update (partition 0, the classic one-at-a-time path): once all
//!   is healthy, delete the highest-ordinal pod whose template is not the
//!   current one; wait while any pod above it is unavailable.
//!
//! Not modelled: minReadySeconds (StatefulSet has none here: available =
//! Ready), `spec.ordinals.start`, PVCs, OnDelete, maxUnavailable > 1.

use crate::controllers::{Ctx, WorkloadStatus, new_pod};
use crate::model::*;

fn running_and_ready(p: &Pod) -> bool {
    p.phase == PodPhase::Running && p.ready
}

/// `isUnavailable` (minReadySeconds 0): not Running and Ready, or terminating.
fn unavailable(p: Option<&Pod>) -> bool {
    p.is_none_or(|p| !running_and_ready(p) || p.deleting_since.is_some())
}

pub fn reconcile(ctx: &mut Ctx, id: StatefulSetId) {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let set = &w.statefulsets[id.idx()];
    if set.deleted {
        return;
    }
    let monotonic = set.policy == PodManagementPolicy::OrderedReady;
    let replicas = set.replicas.max(0) as usize;
    let slot = |w: &World, ord: usize| -> Option<PodId> {
        w.statefulsets[id.idx()]
            .pods
            .get(ord)
            .copied()
            .flatten()
            .filter(|&p| !w.pod(p).deleted)
    };
    // Condemned: ordinals ≥ replicas, highest first.
    let condemned: Vec<PodId> = (replicas..set.pods.len())
        .rev()
        .filter_map(|o| slot(w, o))
        .collect();
    // The first unavailable pod: among replicas by ordinal, then the
    // condemned from the lowest ordinal up.
    let first_unhealthy = (0..replicas)
        .map(|o| (o, slot(w, o)))
        .find(|(_, p)| unavailable(p.map(|p| w.pod(p))))
        .map(|(_, p)| p)
        .or_else(|| {
            condemned
                .iter()
                .rev()
                .find(|&&p| unavailable(Some(w.pod(p))))
                .map(|&p| Some(p))
        });

    for ord in 0..replicas {
        let Some(p) = slot(w, ord) else {
            let set = &w.statefulsets[id.idx()];
            let mut pod = new_pod(
                format!("{}-{ord}", set.meta.name),
                &set.meta.namespace.clone(),
                set.spec,
                Owner::StatefulSet(id),
            );
            pod.ordinal = Some(ord as u32);
            w.create_pod(pod, now);
            if monotonic {
                return;
            }
            continue;
        };
        let pod = w.pod(p);
        if pod.phase.is_terminal() {
            w.mark_deleting(p, now);
            if monotonic {
                return;
            }
            continue;
        }
        if monotonic && (pod.deleting_since.is_some() || !running_and_ready(pod)) {
            return;
        }
    }

    for &p in &condemned {
        let pod = w.pod(p);
        if pod.deleting_since.is_some() {
            if monotonic {
                return;
            }
            continue;
        }
        if monotonic && !running_and_ready(pod) && first_unhealthy != Some(Some(p)) {
            return;
        }
        w.mark_deleting(p, now);
        if monotonic {
            return;
        }
    }

    // Rolling update, highest ordinal first.
    let spec = w.statefulsets[id.idx()].spec;
    for ord in (0..replicas).rev() {
        let Some(p) = slot(w, ord) else {
            return;
        };
        let pod = w.pod(p);
        if pod.spec != spec && pod.deleting_since.is_none() {
            w.mark_deleting(p, now);
            return;
        }
        if unavailable(Some(pod)) {
            return;
        }
    }
}

/// `computeReplicaStatus`: created pods, Running and Ready ones, and the
/// created, not terminating ones at the current template.
pub fn status(w: &World, id: StatefulSetId) -> WorkloadStatus {
    let set = &w.statefulsets[id.idx()];
    let mut s = WorkloadStatus {
        desired: set.replicas,
        ..Default::default()
    };
    for p in set.pods.iter().flatten().map(|&p| w.pod(p)) {
        if p.deleted {
            continue;
        }
        s.current += 1;
        if running_and_ready(p) {
            s.ready += 1;
            s.available += 1;
        }
        if p.deleting_since.is_none() && p.spec == set.spec {
            s.up_to_date += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::ControllerRef;
    use crate::controllers::testutil::*;
    use crate::engine::SECOND;
    use crate::model::labels::LabelSelector;

    /// An OrderedReady StatefulSet of `n` replicas, created one pod a second,
    /// every pod started and Ready.
    fn ordered_and_running(n: u32) -> (World, StatefulSetId, ControllerRef) {
        let mut w = test_world();
        let s = add_sts(&mut w, n as i32, PodManagementPolicy::OrderedReady);
        let c = ControllerRef::StatefulSet(s);
        for i in 0..u64::from(n) {
            run(&mut w, c, i * SECOND);
            let p = slot(&w, s, i as usize);
            start(&mut w, p, None, i * SECOND);
        }
        (w, s, c)
    }

    fn add_sts(w: &mut World, replicas: i32, policy: PodManagementPolicy) -> StatefulSetId {
        let spec = spec_with_labels(w, &[("app", "db")]);
        w.statefulsets.push(StatefulSet {
            meta: meta("db", &[]),
            replicas,
            selector: LabelSelector::from_map(&labels(&[("app", "db")])),
            spec,
            policy,
            pods: Vec::new(),
            deleted: false,
        });
        StatefulSetId(w.statefulsets.len() as u32 - 1)
    }

    /// Live pods' names, in ordinal order.
    fn live(w: &World, s: StatefulSetId) -> Vec<String> {
        w.statefulsets[s.idx()]
            .pods
            .iter()
            .flatten()
            .filter(|&&p| !w.pod(p).deleted)
            .map(|&p| w.pod(p).name.clone())
            .collect()
    }

    fn slot(w: &World, s: StatefulSetId, ord: usize) -> PodId {
        w.statefulsets[s.idx()].pods[ord].unwrap()
    }

    #[test]
    fn ordered_ready_creates_one_at_a_time_after_ready() {
        let mut w = test_world();
        let s = add_sts(&mut w, 3, PodManagementPolicy::OrderedReady);
        let c = ControllerRef::StatefulSet(s);
        run(&mut w, c, 0);
        run(&mut w, c, 0);
        assert_eq!(live(&w, s), vec!["db-0"]);
        // Running but not Ready still blocks.
        let p0 = slot(&w, s, 0);
        w.bind(p0, NodeId(0), SECOND);
        w.set_phase(p0, PodPhase::Running);
        run(&mut w, c, SECOND);
        assert_eq!(live(&w, s), vec!["db-0"]);
        w.set_ready(p0, true, 2 * SECOND);
        run(&mut w, c, 2 * SECOND);
        assert_eq!(live(&w, s), vec!["db-0", "db-1"]);
        assert_eq!(w.pod(slot(&w, s, 1)).ordinal, Some(1));
        let p1 = slot(&w, s, 1);
        start(&mut w, p1, None, 3 * SECOND);
        run(&mut w, c, 3 * SECOND);
        let p2 = slot(&w, s, 2);
        start(&mut w, p2, None, 4 * SECOND);
        run(&mut w, c, 4 * SECOND);
        assert_eq!(live(&w, s), vec!["db-0", "db-1", "db-2"]);
        assert_eq!(status(&w, s).ready, 3);
    }

    #[test]
    fn ordered_scale_down_from_the_highest_ordinal_waiting_for_removal() {
        let (mut w, s, c) = ordered_and_running(3);
        w.statefulsets[s.idx()].replicas = 1;
        run(&mut w, c, 10 * SECOND);
        run(&mut w, c, 10 * SECOND);
        let deleting = |w: &World| -> Vec<u32> {
            w.pods
                .iter()
                .filter(|p| p.deleting_since.is_some() && !p.deleted)
                .map(|p| p.ordinal.unwrap())
                .collect()
        };
        assert_eq!(deleting(&w), vec![2]);
        finish_terminations(&mut w);
        run(&mut w, c, 11 * SECOND);
        assert_eq!(deleting(&w), vec![1]);
        finish_terminations(&mut w);
        run(&mut w, c, 12 * SECOND);
        assert_eq!(live(&w, s), vec!["db-0"]);
    }

    #[test]
    fn parallel_creates_and_deletes_all_at_once() {
        let mut w = test_world();
        let s = add_sts(&mut w, 4, PodManagementPolicy::Parallel);
        let c = ControllerRef::StatefulSet(s);
        run(&mut w, c, 0);
        assert_eq!(live(&w, s), vec!["db-0", "db-1", "db-2", "db-3"]);
        w.statefulsets[s.idx()].replicas = 1;
        run(&mut w, c, SECOND);
        let terminating = w.pods.iter().filter(|p| p.deleting_since.is_some()).count();
        assert_eq!(terminating, 3);
    }

    #[test]
    fn a_failed_pod_is_replaced_under_the_same_name_only_after_removal() {
        let (mut w, s, c) = ordered_and_running(2);
        let old = slot(&w, s, 0);
        w.set_phase(old, PodPhase::Failed);
        run(&mut w, c, 5 * SECOND);
        assert!(w.pod(old).deleting_since.is_some());
        // Terminating: no second db-0.
        run(&mut w, c, 6 * SECOND);
        assert_eq!(slot(&w, s, 0), old);
        assert_eq!(w.pods.iter().filter(|p| p.name == "db-0").count(), 1);
        w.remove_pod(old);
        run(&mut w, c, 7 * SECOND);
        let new = slot(&w, s, 0);
        assert_ne!(new, old);
        assert_eq!(w.pod(new).name, "db-0");
    }

    #[test]
    fn rolling_update_replaces_from_the_highest_ordinal() {
        let (mut w, s, c) = ordered_and_running(3);
        let mut spec = w.spec(w.statefulsets[s.idx()].spec).clone();
        spec.images = vec!["db:2".into()];
        let new_spec = w.add_spec(spec);
        w.statefulsets[s.idx()].spec = new_spec;
        let mut order = Vec::new();
        for t in 10..30 {
            run(&mut w, c, t * SECOND);
            for p in 0..w.pods.len() {
                let pod = &w.pods[p];
                if pod.deleting_since.is_some() && !pod.deleted {
                    order.push(pod.ordinal.unwrap());
                }
            }
            finish_terminations(&mut w);
            for o in 0..3 {
                if let Some(&Some(p)) = w.statefulsets[s.idx()].pods.get(o)
                    && !w.pod(p).ready
                {
                    start(&mut w, p, None, t * SECOND);
                }
            }
        }
        assert_eq!(order, vec![2, 1, 0]);
        assert_eq!(status(&w, s).up_to_date, 3);
    }
}
