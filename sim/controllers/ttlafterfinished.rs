//! The TTL-after-finished controller: deletes a finished Job (Complete or
//! Failed) `ttlSecondsAfterFinished` after it finished, with its pods.
//!
//! Follows pkg/controller/ttlafterfinished/ttlafterfinished_controller.go
//! (`processJob`, `processTTL`, `needsCleanup`, `timeLeft`: expiry is the
//! finish time plus the TTL; before it, the Job is queued again for the time
//! left; at or after it, the Job is deleted with `propagationPolicy:
//! Foreground`) (v1.37).
//!
//! Simplified: the controller learns that a Job finished from the Job
//! controller's requeue rather than from a watch; foreground deletion is
//! collapsed: the Job leaves the API at once and its pods are deleted (they
//! terminate as any deleted pod does), where upstream the garbage collector
//! deletes the pods first and the Job once they are gone.

use crate::controllers::{ControllerRef, Ctx};
use crate::model::*;

pub fn reconcile(ctx: &mut Ctx, id: JobId) {
    let now = ctx.now;
    let w = &mut *ctx.world;
    let job = &w.jobs[id.idx()];
    // needsCleanup: a TTL and a finished Job (not already deleted).
    let (Some(ttl), Some(finished)) = (job.ttl_after_finished, job.finished_at) else {
        return;
    };
    if job.deleted || job.state == JobState::Running {
        return;
    }
    let expire_at = finished + ttl;
    if now < expire_at {
        ctx.requeue_at(expire_at, ControllerRef::TtlAfterFinished(id));
        return;
    }
    let job = &mut w.jobs[id.idx()];
    job.deleted = true;
    let pods: Vec<PodId> = job.pods.clone();
    for p in pods {
        w.mark_deleting(p, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::*;
    use crate::engine::SECOND;

    #[test]
    fn deletes_the_job_and_its_pods_ttl_after_it_finished() {
        let mut w = test_world();
        let spec = spec_with_labels(&mut w, &[("job", "pi")]);
        w.specs[spec.idx()].restart_policy = RestartPolicy::Never;
        let j = add_job(&mut w, "pi", spec);
        let job = &mut w.jobs[j.idx()];
        (job.completions, job.parallelism) = (Some(2), 2);
        job.ttl_after_finished = Some(100 * SECOND);
        run(&mut w, ControllerRef::Job(j), 0);
        let pods = w.jobs[0].pods.clone();
        assert_eq!(pods.len(), 2);
        for &p in &pods {
            start(&mut w, p, None, SECOND);
            w.set_phase(p, PodPhase::Succeeded);
        }
        // Finished at 10 s: the Job controller queues the TTL controller for 110 s.
        let re = run(&mut w, ControllerRef::Job(j), 10 * SECOND);
        assert_eq!(w.jobs[0].state, JobState::Complete);
        assert_eq!(re, vec![(110 * SECOND, ControllerRef::TtlAfterFinished(j))]);
        // Early: queued again for the time left.
        let re = run(&mut w, ControllerRef::TtlAfterFinished(j), 50 * SECOND);
        assert_eq!(re, vec![(110 * SECOND, ControllerRef::TtlAfterFinished(j))]);
        assert!(!w.jobs[0].deleted);
        // Expired: the Job goes, its (finished) pods are deleted.
        let re = run(&mut w, ControllerRef::TtlAfterFinished(j), 110 * SECOND);
        assert!(re.is_empty());
        assert!(w.jobs[0].deleted);
        assert!(
            pods.iter()
                .all(|&p| w.pod(p).deleting_since == Some(110 * SECOND))
        );
        finish_terminations(&mut w);
        assert!(pods.iter().all(|&p| w.pod(p).deleted));
        assert_eq!(w.check_invariants(), Ok(()));
    }

    #[test]
    fn a_job_without_ttl_or_still_running_stays() {
        let mut w = test_world();
        let spec = spec_with_labels(&mut w, &[("job", "pi")]);
        let j = add_job(&mut w, "pi", spec);
        w.jobs[j.idx()].suspend = true;
        w.jobs[j.idx()].ttl_after_finished = Some(0);
        // Suspended: no pods, never finished, never deleted.
        run(&mut w, ControllerRef::Job(j), 0);
        assert!(w.jobs[0].pods.is_empty());
        run(&mut w, ControllerRef::TtlAfterFinished(j), SECOND);
        assert!(!w.jobs[0].deleted);
    }
}
