//! The ReplicaSet controller: creates and deletes pods until the active ones
//! (not terminating, not finished) number `replicas`.
//!
//! Follows pkg/controller/replicaset/replica_set.go (`manageReplicas`,
//! `slowStartBatch`, `getPodsToDelete`, `getPodsRankedByRelatedPodsOnSameNode`)
//! and pkg/controller/controller_utils.go (`ActivePodsWithRanks.Less`, with
//! LogarithmicScaleDown, on since v1.22) (v1.37).
//!
//! Simplified: pods are owned by their ownerReference only (no adoption of
//! orphans by selector); the `controller.kubernetes.io/pod-deletion-cost`
//! annotation is not modelled (every pod costs 0). Timestamps compared in the
//! deletion ranking are cut to whole seconds, as the API server stores them.

use crate::controllers::{
    Ctx, WorkloadStatus, create_generated_pod, is_available, slow_start_batch,
};
use crate::engine::{SECOND, Time, splitmix64};
use crate::model::*;

/// `BurstReplicas`: at most this many creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;

pub fn reconcile(ctx: &mut Ctx, id: ReplicaSetId) {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let rs = &w.replicasets[id.idx()];
    if rs.deleted {
        return;
    }
    let active = active_pods(w, &rs.pods);
    let want = rs.replicas.max(0) as usize;
    if active.len() < want {
        let n = (want - active.len()).min(BURST_REPLICAS);
        let (prefix, ns, spec) = (rs.meta.name.clone(), rs.meta.namespace.clone(), rs.spec);
        slow_start_batch(n, || {
            create_generated_pod(w, &prefix, &ns, spec, Owner::ReplicaSet(id), now);
            true
        });
    } else if active.len() > want {
        let n = (active.len() - want).min(BURST_REPLICAS);
        let related = related_pods(w, id);
        for p in pods_to_delete(w, active, &related, n, now) {
            w.mark_deleting(p, now);
        }
    }
}

/// The active pods among `pods` (`controller.FilterActivePods`).
pub fn active_pods(w: &World, pods: &[PodId]) -> Vec<PodId> {
    pods.iter()
        .copied()
        .filter(|&p| w.pod(p).is_active())
        .collect()
}

/// Pods of every ReplicaSet with the same owner (`getIndirectlyRelatedPods`);
/// just this ReplicaSet's pods when it has no owner.
fn related_pods(w: &World, id: ReplicaSetId) -> Vec<PodId> {
    match w.replicasets[id.idx()].owner {
        Some(d) => w.deployments[d.idx()]
            .replicasets
            .iter()
            .filter(|&&r| !w.replicasets[r.idx()].deleted)
            .flat_map(|&r| w.replicasets[r.idx()].pods.iter().copied())
            .collect(),
        None => w.replicasets[id.idx()].pods.clone(),
    }
}

/// `getPodsToDelete`: the first `diff` of `pods` in deletion order.
pub fn pods_to_delete(
    w: &World,
    mut pods: Vec<PodId>,
    related: &[PodId],
    diff: usize,
    now: Time,
) -> Vec<PodId> {
    if diff < pods.len() {
        // Rank: active related pods on the same node (unassigned pods share the
        // node ""), counted once per node as upstream's podsOnNode map does.
        let mut on_node: crate::hash::HashMap<Option<NodeId>, usize> = Default::default();
        for &q in related {
            if w.pod(q).is_active() {
                *on_node.entry(w.pod(q).node).or_default() += 1;
            }
        }
        let rank = |p: PodId| on_node.get(&w.pod(p).node).copied().unwrap_or(0);
        let ranked: Vec<(PodId, usize)> = pods.iter().map(|&p| (p, rank(p))).collect();
        let mut ranked = ranked;
        merge_sort_by(&mut ranked, &|a, b| delete_first(w, *a, *b, now));
        pods = ranked.into_iter().map(|(p, _)| p).collect();
    }
    pods.truncate(diff);
    pods
}

/// Stand-in for a pod's UID (random in Kubernetes): a fixed scramble of its id,
/// compared as upstream compares UID strings.
pub fn pod_uid(p: PodId) -> u64 {
    splitmix64(u64::from(p.0) ^ 0x7569_6400)
}

/// A timestamp as the API stores it (whole seconds), in nanoseconds.
fn api_ns(t: Time) -> i64 {
    (t / SECOND * SECOND) as i64 * 1000
}

/// `logarithmicRankDiff`: compares ⌊log2(now − t)⌋ in nanoseconds (−1 when
/// the age is not positive). Integer log2, exact where Go's float log2 is.
fn log_rank_diff(t1: Time, t2: Time, now: Time) -> i64 {
    let now_ns = now as i64 * 1000;
    let rank = |t: Time| {
        let d = now_ns - api_ns(t);
        if d > 0 {
            63 - i64::from(d.leading_zeros())
        } else {
            -1
        }
    };
    rank(t1) - rank(t2)
}

/// `ActivePodsWithRanks.Less`: whether pod `a` should be deleted before `b`.
fn delete_first(
    w: &World,
    (a, rank_a): (PodId, usize),
    (b, rank_b): (PodId, usize),
    now: Time,
) -> bool {
    let (pa, pb) = (w.pod(a), w.pod(b));
    // 1. Unassigned before assigned.
    if pa.node.is_none() != pb.node.is_none() {
        return pa.node.is_none();
    }
    // 2. Pending < Unknown < Running (podPhaseToOrdinal; Unknown is not modelled).
    let phase = |p: &Pod| u8::from(p.phase == PodPhase::Running) * 2;
    if phase(pa) != phase(pb) {
        return phase(pa) < phase(pb);
    }
    // 3. Not ready before ready.
    if pa.ready != pb.ready {
        return !pa.ready;
    }
    // 4. pod-deletion-cost: all 0 here.
    // 5. More related pods on the same node first.
    if rank_a != rank_b {
        return rank_a > rank_b;
    }
    // 6. Both ready: ready more recently first, in logarithmic buckets; a tie
    //    in the bucket is settled by UID.
    if pa.ready && pb.ready {
        let (ta, tb) = (pa.ready_at, pb.ready_at);
        let (sa, sb) = (ta.map(api_ns), tb.map(api_ns));
        if sa != sb {
            return match (ta, tb) {
                (Some(ta), Some(tb)) => {
                    let d = log_rank_diff(ta, tb, now);
                    if d == 0 {
                        pod_uid(a) < pod_uid(b)
                    } else {
                        d < 0
                    }
                }
                // afterOrZero: the zero time first.
                _ => ta.is_none(),
            };
        }
    }
    // 7. More restarts first.
    if pa.restarts != pb.restarts {
        return pa.restarts > pb.restarts;
    }
    // 8. Newer first, in logarithmic buckets, UID on a tie.
    if api_ns(pa.created_at) != api_ns(pb.created_at) {
        let d = log_rank_diff(pa.created_at, pb.created_at, now);
        return if d == 0 {
            pod_uid(a) < pod_uid(b)
        } else {
            d < 0
        };
    }
    false
}

/// A stable merge sort driven by a `less` function, which need not be a
/// consistent total order (upstream's `Less` is not quite one): whatever it
/// answers, the result is deterministic and the sort never panics.
pub fn merge_sort_by<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let mid = n / 2;
    merge_sort_by(&mut v[..mid], less);
    merge_sort_by(&mut v[mid..], less);
    let mut out = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if less(&v[j], &v[i]) {
            out.push(v[j]);
            j += 1;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&v[i..mid]);
    out.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&out);
}

/// `calculateStatus`: replicas, readyReplicas and availableReplicas of the
/// active pods.
pub fn status(w: &World, id: ReplicaSetId, now: Time) -> WorkloadStatus {
    let rs = &w.replicasets[id.idx()];
    let mut s = WorkloadStatus {
        desired: rs.replicas,
        ..Default::default()
    };
    for &p in &rs.pods {
        let pod = w.pod(p);
        if !pod.is_active() {
            continue;
        }
        s.current += 1;
        s.ready += i32::from(pod.ready);
        s.available += i32::from(is_available(pod, rs.min_ready_seconds, now));
    }
    s.up_to_date = s.current;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::ControllerRef;
    use crate::controllers::testutil::*;

    #[test]
    fn world_tallies_follow_binding_readiness_and_deletion() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 2);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let pods = w.replicasets[rs.idx()].pods.clone();
        assert_eq!(w.tallies.unbound, 2);
        w.bind(pods[0], NodeId(0), 0);
        assert_eq!(w.tallies.unbound, 1);
        w.set_ready(pods[0], true, 1);
        let owner = crate::model::Owner::ReplicaSet(rs);
        assert_eq!(w.tallies.ready(owner), 1);
        w.check_invariants().unwrap();
        w.mark_deleting(pods[0], 2);
        w.mark_deleting(pods[1], 2);
        assert_eq!((w.tallies.ready(owner), w.tallies.unbound), (0, 0));
        w.remove_pod(pods[0]);
        w.check_invariants().unwrap();
    }

    #[test]
    fn creates_missing_pods_with_generated_names() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 3);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let pods = w.replicasets[rs.idx()].pods.clone();
        assert_eq!(pods.len(), 3);
        for &p in &pods {
            let name = &w.pod(p).name;
            assert!(name.starts_with("web-") && name.len() == 9, "{name}");
            assert_eq!(w.pod(p).owner, Some(Owner::ReplicaSet(rs)));
        }
        // A second sync has nothing to do.
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        assert_eq!(w.replicasets[rs.idx()].pods.len(), 3);
    }

    #[test]
    fn burst_limits_creations_per_sync() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "big", 1200);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        assert_eq!(w.replicasets[rs.idx()].pods.len(), 500);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        assert_eq!(w.replicasets[rs.idx()].pods.len(), 1200);
    }

    #[test]
    fn replaces_finished_and_terminating_pods() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 2);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let pods = w.replicasets[rs.idx()].pods.clone();
        w.set_phase(pods[0], PodPhase::Failed);
        w.mark_deleting(pods[1], SECOND);
        run(&mut w, ControllerRef::ReplicaSet(rs), 2 * SECOND);
        let active = active_pods(&w, &w.replicasets[rs.idx()].pods);
        assert_eq!(active.len(), 2);
        assert!(!active.contains(&pods[0]) && !active.contains(&pods[1]));
    }

    #[test]
    fn scale_down_deletes_in_upstream_ranking_order() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 6);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let p = w.replicasets[rs.idx()].pods.clone();
        let (n0, n1, n2) = (NodeId(0), NodeId(1), NodeId(2));
        // p0: unassigned. p1: bound, Pending. p2: Running, not ready.
        // p3, p4: Ready on n1 (doubled up), p5: Ready alone on n2.
        w.bind(p[1], n0, SECOND);
        w.bind(p[2], n0, SECOND);
        w.set_phase(p[2], PodPhase::Running);
        start(&mut w, p[3], Some(n1), 100 * SECOND);
        start(&mut w, p[4], Some(n1), 100 * SECOND);
        start(&mut w, p[5], Some(n2), 100 * SECOND);
        let now = 1000 * SECOND;
        let active = active_pods(&w, &w.replicasets[rs.idx()].pods);
        let order = pods_to_delete(&w, active.clone(), &active, 5, now);
        // Unassigned < Pending < Running-not-ready < ready doubled-up (rank 2 on
        // n1, where p1 and p2 on n0 also count 2 but lost earlier) < ready alone.
        assert_eq!(order[0], p[0]);
        assert_eq!(order[1], p[1]);
        assert_eq!(order[2], p[2]);
        assert!(order[3..5].contains(&p[3]) && order[3..5].contains(&p[4]));
        // Through reconcile: scale to 3 marks the three least valuable.
        w.replicasets[rs.idx()].replicas = 3;
        run(&mut w, ControllerRef::ReplicaSet(rs), now);
        let deleting: Vec<PodId> = p
            .iter()
            .copied()
            .filter(|&q| w.pod(q).deleting_since.is_some())
            .collect();
        assert_eq!(deleting, vec![p[0], p[1], p[2]]);
    }

    #[test]
    fn ready_pods_in_the_same_log_bucket_tie_on_uid_newer_buckets_first() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 3);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let p = w.replicasets[rs.idx()].pods.clone();
        let now = 1000 * SECOND;
        // Ready ages 900 s, 600 s (same bucket: 2^39 ns ≤ both < 2^40 ns) and
        // 10 s (2^33 ≤ 1e10 < 2^34): the 10-second-ready pod goes first, then
        // the other two by UID.
        start(&mut w, p[0], Some(NodeId(0)), now - 900 * SECOND);
        start(&mut w, p[1], Some(NodeId(1)), now - 600 * SECOND);
        start(&mut w, p[2], Some(NodeId(2)), now - 10 * SECOND);
        assert_eq!(
            log_rank_diff(now - 900 * SECOND, now - 600 * SECOND, now),
            0
        );
        let order = pods_to_delete(&w, p.clone(), &p, 2, now);
        assert_eq!(order[0], p[2]);
        let second = if pod_uid(p[0]) < pod_uid(p[1]) {
            p[0]
        } else {
            p[1]
        };
        assert_eq!(order[1], second);
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut v = [(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')];
        merge_sort_by(&mut v, &|x, y| x.0 < y.0);
        assert_eq!(v, [(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]);
    }

    #[test]
    fn status_counts_ready_and_available() {
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 3);
        w.replicasets[rs.idx()].min_ready_seconds = 10;
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let p = w.replicasets[rs.idx()].pods.clone();
        start(&mut w, p[0], None, SECOND);
        start(&mut w, p[1], None, 8 * SECOND);
        let s = status(&w, rs, 12 * SECOND);
        assert_eq!((s.desired, s.current, s.ready, s.available), (3, 3, 2, 1));
    }
}
