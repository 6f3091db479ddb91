//! The Job controller (NonIndexed completion mode): runs up to `parallelism`
//! pods until `completions` of them succeed, or fails once more pods failed
//! than `backoffLimit` allows.
//!
//! Follows pkg/controller/job/job_controller.go (`syncJob`, `manageJob`,
//! `isPodFailed`, `pastBackoffLimitOnFailure`, `MaxPodCreateDeletePerSync =
//! 500`) and backoff_utils.go (`newBackoffRecord`,
//! `getRemainingTimeForFailuresCount`, `DefaultJobPodFailureBackOff = 10s`,
//! `MaxJobPodFailureBackOff = 10m`) (v1.37):
//! - finished pods are counted once each (upstream: the tracking finalizer);
//!   with the default podReplacementPolicy (TerminatingOrFailed) a pod deleted
//!   before it succeeded counts as failed, and is replaced at once;
//! - wanted active pods: `min(completions − succeeded, parallelism)`, or
//!   `parallelism` until the first success when completions is unset (then
//!   the running ones are left to finish); extra active pods are deleted;
//! - after failures, new pods wait `10 s × 2^(failures since the last
//!   success − 1)`, at most 10 min, from the last failure;
//! - the Job fails (BackoffLimitExceeded) when failures exceed backoffLimit,
//!   or, with restartPolicy OnFailure, when the active pods' restarts reach
//!   it; its active pods are deleted. It completes when enough pods
//!   succeeded and none is active.
//!
//! Simplified: a pod's finish time is its deletion time, or its start plus
//! run duration (the kubelet's exit), else the sync time. The Complete and
//! Failed states are set at once (upstream waits for pods to terminate behind
//! the SuccessCriteriaMet / FailureTarget conditions). A suspended Job
//! (`spec.suspend`) creates no pods; nothing suspends or resumes a Job during a
//! run, so it never has pods to delete (suspended Jobs are the templates of
//! `spec.jobArrivals`). A finished Job with `ttlSecondsAfterFinished` is handed
//! to the TTL-after-finished controller (see `ttlafterfinished`). No Indexed
//! mode, activeDeadlineSeconds, podFailurePolicy or successPolicy.

use crate::controllers::replicaset::pods_to_delete;
use crate::controllers::{
    ControllerRef, Ctx, WorkloadStatus, create_generated_pod, slow_start_batch,
};
use crate::engine::{MINUTE, SECOND, Time};
use crate::model::*;

/// `MaxPodCreateDeletePerSync`.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// `DefaultJobPodFailureBackOff`.
pub const POD_FAILURE_BACKOFF: Time = 10 * SECOND;
/// `MaxJobPodFailureBackOff`.
pub const MAX_POD_FAILURE_BACKOFF: Time = 10 * MINUTE;

/// `getRemainingTimeForFailuresCount`: how long pod creation must still wait.
pub fn backoff_remaining(failures: i32, last_failure: Option<Time>, now: Time) -> Time {
    let Some(last) = last_failure else {
        return 0;
    };
    if failures <= 0 {
        return 0;
    }
    let mut backoff = POD_FAILURE_BACKOFF;
    for _ in 1..failures {
        backoff *= 2;
        if backoff >= MAX_POD_FAILURE_BACKOFF {
            backoff = MAX_POD_FAILURE_BACKOFF;
            break;
        }
    }
    let elapsed = now.saturating_sub(last);
    backoff.saturating_sub(elapsed)
}

/// `getFinishedTime`, as far as the simulator knows it.
fn finished_at(w: &World, p: PodId, now: Time) -> Time {
    let pod = w.pod(p);
    if let Some(t) = pod.deleting_since {
        return t;
    }
    match (pod.started_at, w.pod_spec(p).behaviour.run_duration) {
        (Some(s), Some(d)) => (s + d).min(now),
        _ => now,
    }
}

pub fn reconcile(ctx: &mut Ctx, id: JobId) {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let job = &w.jobs[id.idx()];
    if job.deleted || job.state != JobState::Running || job.suspend {
        return;
    }

    // Count newly finished pods.
    let (mut newly, mut new_succeeded, mut new_failed) = (Vec::new(), Vec::new(), Vec::new());
    for &p in &job.pods {
        if job.tracking.counted.contains(&p) {
            continue;
        }
        let pod = w.pod(p);
        if pod.phase == PodPhase::Succeeded {
            new_succeeded.push(finished_at(w, p, now));
        } else if pod.phase == PodPhase::Failed || pod.deleting_since.is_some() || pod.deleted {
            new_failed.push(finished_at(w, p, now));
        } else {
            continue;
        }
        newly.push(p);
    }
    let job = &mut w.jobs[id.idx()];
    job.tracking.counted.extend(newly);
    // Counted and gone from the API: forget them (the finalizer is off).
    let pods = &w.pods;
    job.pods
        .retain(|p| !(pods[p.idx()].deleted && job.tracking.counted.contains(p)));
    job.succeeded += new_succeeded.len() as i32;
    job.failed += new_failed.len() as i32;
    update_backoff(&mut job.tracking, &mut new_succeeded, &mut new_failed);

    let job = &w.jobs[id.idx()];
    let active: Vec<PodId> = job
        .pods
        .iter()
        .copied()
        .filter(|&p| w.pod(p).is_active())
        .collect();
    let restarts: u32 = active.iter().map(|&p| w.pod(p).restarts).sum();
    let on_failure_exceeded = w.spec(job.spec).restart_policy == RestartPolicy::OnFailure
        && if job.backoff_limit == 0 {
            restarts > 0
        } else {
            restarts as i64 >= i64::from(job.backoff_limit)
        };
    if job.failed > job.backoff_limit || on_failure_exceeded {
        let job = &mut w.jobs[id.idx()];
        job.state = JobState::Failed;
        job.finished_at = Some(now);
        let ttl = job.ttl_after_finished;
        for p in active {
            w.mark_deleting(p, now);
        }
        finished(ctx, id, ttl);
        return;
    }

    let active_count = manage(ctx, id, active);
    let w = &mut *ctx.world;
    let job = &mut w.jobs[id.idx()];
    let complete = match job.completions {
        None => job.succeeded > 0 && active_count == 0,
        Some(c) => job.succeeded >= c && active_count == 0,
    };
    if complete {
        job.state = JobState::Complete;
        job.finished_at = Some(now);
        let ttl = job.ttl_after_finished;
        finished(ctx, id, ttl);
    }
}

/// The Job just finished: the TTL-after-finished controller, which watches
/// Jobs, queues it for when its TTL expires.
fn finished(ctx: &mut Ctx, id: JobId, ttl: Option<Time>) {
    if let Some(ttl) = ttl {
        ctx.requeue_at(ctx.now + ttl, ControllerRef::TtlAfterFinished(id));
    }
}

/// `newBackoffRecord`: failures since the last success and the last failure's time.
fn update_backoff(t: &mut JobTracking, succeeded: &mut [Time], failed: &mut [Time]) {
    succeeded.sort_unstable();
    failed.sort_unstable();
    match (succeeded.last(), failed.last()) {
        (None, None) => {}
        (None, Some(&last)) => {
            t.failures_after_last_success += failed.len() as i32;
            t.last_failure_at = Some(last);
        }
        (Some(&last_success), _) => {
            t.failures_after_last_success = 0;
            t.last_failure_at = None;
            for &f in failed.iter().rev() {
                if f <= last_success {
                    break;
                }
                t.last_failure_at.get_or_insert(f);
                t.failures_after_last_success += 1;
            }
        }
    }
}

/// `manageJob`: delete extra active pods or create missing ones (after the
/// backoff). Returns the number of active pods afterwards.
fn manage(ctx: &mut Ctx, id: JobId, active: Vec<PodId>) -> usize {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let job = &w.jobs[id.idx()];
    let parallelism = job.parallelism.max(0) as usize;
    let want = match job.completions {
        None if job.succeeded > 0 => active.len(),
        None => parallelism,
        Some(c) => ((c - job.succeeded).max(0) as usize).min(parallelism),
    };
    if active.len() > want {
        let n = (active.len() - want).min(MAX_POD_CREATE_DELETE_PER_SYNC);
        let victims = pods_to_delete(w, active.clone(), &[], n, now);
        for &p in &victims {
            w.mark_deleting(p, now);
        }
        return active.len() - victims.len();
    }
    if active.len() == want {
        return active.len();
    }
    let wait = backoff_remaining(
        job.tracking.failures_after_last_success,
        job.tracking.last_failure_at,
        now,
    );
    if wait > 0 {
        ctx.requeue_at(now + wait, ControllerRef::Job(id));
        return active.len();
    }
    let n = (want - active.len()).min(MAX_POD_CREATE_DELETE_PER_SYNC);
    let (name, ns, spec) = (job.meta.name.clone(), job.meta.namespace.clone(), job.spec);
    let created = slow_start_batch(n, || {
        create_generated_pod(w, &name, &ns, spec, Owner::Job(id), now);
        true
    });
    active.len() + created
}

/// `COMPLETIONS` (succeeded/completions), active pods, succeeded and failed.
pub fn status(w: &World, id: JobId) -> WorkloadStatus {
    let job = &w.jobs[id.idx()];
    let mut s = WorkloadStatus {
        desired: job.completions.unwrap_or(1),
        succeeded: job.succeeded,
        failed: job.failed,
        ..Default::default()
    };
    for &p in &job.pods {
        let pod = w.pod(p);
        if pod.is_active() {
            s.current += 1;
            s.ready += i32::from(pod.ready);
        }
    }
    s.available = s.ready;
    s.up_to_date = s.current;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::*;

    fn pi_job(
        w: &mut World,
        completions: Option<i32>,
        parallelism: i32,
        backoff_limit: i32,
    ) -> JobId {
        let spec = w.add_spec(PodSpec {
            labels: labels(&[("job", "pi")]),
            restart_policy: RestartPolicy::Never,
            ..Default::default()
        });
        let j = add_job(w, "pi", spec);
        let job = &mut w.jobs[j.idx()];
        (job.completions, job.parallelism, job.backoff_limit) =
            (completions, parallelism, backoff_limit);
        j
    }

    fn active(w: &World, j: JobId) -> Vec<PodId> {
        w.jobs[j.idx()]
            .pods
            .iter()
            .copied()
            .filter(|&p| w.pod(p).is_active())
            .collect()
    }

    fn finish(w: &mut World, p: PodId, phase: PodPhase, now: Time) {
        start(w, p, None, now);
        w.set_phase(p, phase);
    }

    #[test]
    fn backoff_doubles_from_10s_and_caps_at_10_minutes() {
        // failures 1..=7: 10, 20, 40, 80, 160, 320, 600 (640 capped) s.
        let want = [10, 20, 40, 80, 160, 320, 600, 600];
        for (i, &s) in want.iter().enumerate() {
            assert_eq!(backoff_remaining(i as i32 + 1, Some(0), 0), s * SECOND);
        }
        assert_eq!(
            backoff_remaining(2, Some(5 * SECOND), 12 * SECOND),
            13 * SECOND
        );
        assert_eq!(backoff_remaining(2, Some(0), 25 * SECOND), 0);
        assert_eq!(backoff_remaining(0, None, 0), 0);
    }

    #[test]
    fn runs_parallelism_pods_until_completions_succeed() {
        let mut w = test_world();
        let j = pi_job(&mut w, Some(5), 2, 6);
        let c = ControllerRef::Job(j);
        run(&mut w, c, 0);
        let a = active(&w, j);
        assert_eq!(a.len(), 2);
        assert!(w.pod(a[0]).name.starts_with("pi-") && w.pod(a[0]).name.len() == 8);
        let mut t = 0;
        while w.jobs[j.idx()].state == JobState::Running {
            t += SECOND;
            assert!(t < 100 * SECOND);
            for p in active(&w, j) {
                finish(&mut w, p, PodPhase::Succeeded, t);
            }
            run(&mut w, c, t);
            // Never more than the remaining completions.
            let remaining = 5 - w.jobs[j.idx()].succeeded;
            assert!(active(&w, j).len() as i32 <= remaining.min(2));
        }
        let job = &w.jobs[j.idx()];
        assert_eq!(
            (job.state, job.succeeded, job.failed),
            (JobState::Complete, 5, 0)
        );
        assert_eq!(job.finished_at, Some(3 * SECOND));
        assert_eq!(job.pods.len(), 5);
    }

    #[test]
    fn without_completions_the_first_success_completes_once_others_finish() {
        let mut w = test_world();
        let j = pi_job(&mut w, None, 3, 6);
        let c = ControllerRef::Job(j);
        run(&mut w, c, 0);
        let a = active(&w, j);
        assert_eq!(a.len(), 3);
        finish(&mut w, a[0], PodPhase::Succeeded, SECOND);
        run(&mut w, c, SECOND);
        // The others keep running; nothing new is created.
        assert_eq!(active(&w, j).len(), 2);
        assert_eq!(w.jobs[j.idx()].state, JobState::Running);
        finish(&mut w, a[1], PodPhase::Succeeded, 2 * SECOND);
        finish(&mut w, a[2], PodPhase::Succeeded, 2 * SECOND);
        run(&mut w, c, 2 * SECOND);
        assert_eq!(w.jobs[j.idx()].state, JobState::Complete);
        assert_eq!(w.jobs[j.idx()].pods.len(), 3);
    }

    #[test]
    fn failures_back_off_and_exceeding_the_limit_fails_the_job() {
        let mut w = test_world();
        let j = pi_job(&mut w, Some(1), 1, 2);
        let c = ControllerRef::Job(j);
        run(&mut w, c, 0);
        // First failure at 5 s: the replacement waits 10 s (until 15 s).
        let p = active(&w, j)[0];
        finish(&mut w, p, PodPhase::Failed, 5 * SECOND);
        let re = run(&mut w, c, 5 * SECOND);
        assert_eq!(w.jobs[j.idx()].failed, 1);
        assert!(active(&w, j).is_empty());
        assert_eq!(re, vec![(15 * SECOND, c)]);
        run(&mut w, c, 15 * SECOND);
        assert_eq!(active(&w, j).len(), 1);
        // Second failure at 20 s: 20 s backoff (until 40 s).
        let p = active(&w, j)[0];
        finish(&mut w, p, PodPhase::Failed, 20 * SECOND);
        let re = run(&mut w, c, 20 * SECOND);
        assert_eq!(re, vec![(40 * SECOND, c)]);
        run(&mut w, c, 40 * SECOND);
        // Removed pods are forgotten once counted; counts stay.
        w.remove_pod(p);
        run(&mut w, c, 40 * SECOND);
        assert_eq!((w.jobs[j.idx()].failed, w.jobs[j.idx()].pods.len()), (2, 2));
        // Third failure: 3 > backoffLimit 2 — Failed.
        let p = active(&w, j)[0];
        finish(&mut w, p, PodPhase::Failed, 50 * SECOND);
        run(&mut w, c, 50 * SECOND);
        let job = &w.jobs[j.idx()];
        assert_eq!(
            (job.state, job.failed, job.finished_at),
            (JobState::Failed, 3, Some(50 * SECOND))
        );
        // A finished Job does nothing more.
        run(&mut w, c, 60 * SECOND);
        assert_eq!(w.jobs[j.idx()].pods.len(), 2);
    }

    #[test]
    fn failing_deletes_active_pods_and_deleted_pods_count_as_failures() {
        let mut w = test_world();
        let j = pi_job(&mut w, Some(4), 3, 1);
        let c = ControllerRef::Job(j);
        run(&mut w, c, 0);
        let a = active(&w, j);
        // Evicted (deleted while running): a failure like any other, so the
        // replacement waits out the backoff from the deletion time.
        start(&mut w, a[0], None, SECOND);
        w.mark_deleting(a[0], 2 * SECOND);
        // Even removed before the Job looks, it is counted (exactly once).
        w.remove_pod(a[0]);
        let re = run(&mut w, c, 2 * SECOND);
        assert_eq!(w.jobs[j.idx()].failed, 1);
        assert_eq!(re, vec![(12 * SECOND, c)]);
        run(&mut w, c, 2 * SECOND);
        assert_eq!(w.jobs[j.idx()].failed, 1);
        finish(&mut w, a[1], PodPhase::Failed, 3 * SECOND);
        run(&mut w, c, 3 * SECOND);
        let job = &w.jobs[j.idx()];
        assert_eq!((job.state, job.failed), (JobState::Failed, 2));
        assert!(w.pod(a[2]).deleting_since.is_some());
    }

    #[test]
    fn a_success_resets_the_backoff() {
        let mut t = JobTracking::default();
        update_backoff(&mut t, &mut [], &mut [5, 3]);
        assert_eq!(
            (t.failures_after_last_success, t.last_failure_at),
            (2, Some(5))
        );
        // A success at 7 with failures at 6 and 9: only the one after it counts.
        update_backoff(&mut t, &mut [7], &mut [9, 6]);
        assert_eq!(
            (t.failures_after_last_success, t.last_failure_at),
            (1, Some(9))
        );
        update_backoff(&mut t, &mut [10], &mut []);
        assert_eq!(
            (t.failures_after_last_success, t.last_failure_at),
            (0, None)
        );
    }

    #[test]
    fn on_failure_restarts_count_toward_the_limit() {
        let mut w = test_world();
        let j = pi_job(&mut w, Some(1), 1, 3);
        let spec = w.jobs[j.idx()].spec;
        w.specs[spec.idx()].restart_policy = RestartPolicy::OnFailure;
        let c = ControllerRef::Job(j);
        run(&mut w, c, 0);
        let p = active(&w, j)[0];
        start(&mut w, p, None, SECOND);
        w.pods[p.idx()].restarts = 2;
        run(&mut w, c, 2 * SECOND);
        assert_eq!(w.jobs[j.idx()].state, JobState::Running);
        w.pods[p.idx()].restarts = 3;
        run(&mut w, c, 3 * SECOND);
        assert_eq!(w.jobs[j.idx()].state, JobState::Failed);
        assert!(w.pod(p).deleting_since.is_some());
    }
}
