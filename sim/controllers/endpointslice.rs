//! The EndpointSlice controller: a Service with a selector publishes the pods it
//! selects, with upstream's endpoint conditions.
//!
//! Follows pkg/controller/endpointslice/endpointslice_controller.go (`syncService`)
//! and staging/src/k8s.io/endpointslice/utils.go (`podToEndpoint`,
//! `ShouldPodBeInEndpoints`) (v1.37):
//! - a pod is an endpoint when it is in the Service's namespace, selected, not
//!   finished (Succeeded/Failed) and has an IP (here: bound and Running);
//! - `ready` = Ready and not terminating, or always with publishNotReadyAddresses;
//! - `serving` = Ready (terminating or not), or always with publishNotReadyAddresses;
//! - terminating pods stay in the slice (EndpointSliceTerminatingCondition, GA v1.26).
//!
//! The slices themselves (100 endpoints each) are not modelled: the Service
//! keeps three lists in pod id order — ready, not serving, and serving but
//! terminating (what kube-proxy falls back to when nothing is ready).
//! Finding the selected pods scans all pods.

use crate::controllers::{ControllerRef, Ctx};
use crate::model::labels::Labels;
use crate::model::*;

pub fn reconcile(ctx: &mut Ctx, svc: ServiceId) {
    let w = &mut *ctx.world;
    let s = &w.services[svc.idx()];
    let (mut ready, mut not_ready, mut terminating) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(selector) = &s.selector {
        for (i, pod) in w.pods.iter().enumerate() {
            if pod.deleted
                || pod.namespace != s.meta.namespace
                || pod.phase != PodPhase::Running
                || pod.node.is_none()
                || !selects(selector, &w.specs[pod.spec.idx()].labels)
            {
                continue;
            }
            let id = PodId(i as u32);
            let serving = pod.ready || s.publish_not_ready;
            let is_terminating = pod.deleting_since.is_some();
            if serving && (!is_terminating || s.publish_not_ready) {
                ready.push(id);
            } else if serving {
                terminating.push(id);
            } else {
                not_ready.push(id);
            }
        }
    }
    let s = &mut w.services[svc.idx()];
    s.endpoints = ready;
    s.not_ready_endpoints = not_ready;
    s.terminating_endpoints = terminating;
}

/// A Service selector (`labels.SelectorFromSet`): every pair present; an
/// empty selector selects everything.
pub fn selects(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The Services whose endpoints depend on pod `p`, appended to `out`.
pub fn services_selecting(w: &World, p: PodId, out: &mut Vec<ControllerRef>) {
    let pod = w.pod(p);
    let labels = &w.pod_spec(p).labels;
    for (i, s) in w.services.iter().enumerate() {
        if s.meta.namespace == pod.namespace
            && s.selector.as_ref().is_some_and(|sel| selects(sel, labels))
        {
            out.push(ControllerRef::Endpoints(ServiceId(i as u32)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::*;
    use crate::controllers::{new_pod, watchers};
    use crate::engine::SECOND;

    fn add_service(w: &mut World, selector: Option<Labels>, publish_not_ready: bool) -> ServiceId {
        w.services.push(Service {
            meta: meta("svc", &[]),
            selector,
            service_type: "ClusterIP".into(),
            ports: Vec::new(),
            publish_not_ready,
            endpoints: Vec::new(),
            not_ready_endpoints: Vec::new(),
            terminating_endpoints: Vec::new(),
        });
        ServiceId(w.services.len() as u32 - 1)
    }

    fn pods(w: &mut World, app: &str, n: usize) -> Vec<PodId> {
        let spec = spec_with_labels(w, &[("app", app), ("tier", "web")]);
        w.jobs.push(Job {
            meta: meta("owner", &[]),
            completions: None,
            parallelism: 1,
            backoff_limit: 6,
            spec,
            pods: Vec::new(),
            succeeded: 0,
            failed: 0,
            state: JobState::Running,
            started_at: 0,
            finished_at: None,
            next_index: 0,
            tracking: Default::default(),
            deleted: false,
        });
        let owner = Owner::Job(JobId(w.jobs.len() as u32 - 1));
        (0..n)
            .map(|i| w.create_pod(new_pod(format!("{app}-{i}"), "default", spec, owner), 0))
            .collect()
    }

    #[test]
    fn ready_not_ready_and_terminating_endpoints() {
        let mut w = test_world();
        let svc = add_service(&mut w, Some(labels(&[("app", "a")])), false);
        let a = pods(&mut w, "a", 5);
        let b = pods(&mut w, "b", 1);
        start(&mut w, a[0], None, SECOND);
        start(&mut w, a[1], None, SECOND);
        start(&mut w, a[2], None, SECOND);
        w.set_ready(a[2], false, 2 * SECOND); // Running, not ready
        start(&mut w, a[3], None, SECOND);
        w.mark_deleting(a[3], 3 * SECOND); // terminating, still serving
        // a[4] stays Pending; b[0] is not selected.
        start(&mut w, b[0], None, SECOND);
        run(&mut w, ControllerRef::Endpoints(svc), 4 * SECOND);
        let s = &w.services[svc.idx()];
        assert_eq!(s.endpoints, vec![a[0], a[1]]);
        assert_eq!(s.not_ready_endpoints, vec![a[2]]);
        assert_eq!(s.terminating_endpoints, vec![a[3]]);
        // Finished pods leave.
        w.set_phase(a[1], PodPhase::Succeeded);
        run(&mut w, ControllerRef::Endpoints(svc), 5 * SECOND);
        assert_eq!(w.services[svc.idx()].endpoints, vec![a[0]]);
    }

    #[test]
    fn publish_not_ready_addresses_counts_everything_running_as_ready() {
        let mut w = test_world();
        let svc = add_service(&mut w, Some(labels(&[("app", "a")])), true);
        let a = pods(&mut w, "a", 3);
        start(&mut w, a[0], None, SECOND);
        start(&mut w, a[1], None, SECOND);
        w.set_ready(a[1], false, SECOND);
        start(&mut w, a[2], None, SECOND);
        w.mark_deleting(a[2], SECOND);
        run(&mut w, ControllerRef::Endpoints(svc), 2 * SECOND);
        assert_eq!(w.services[svc.idx()].endpoints, a);
    }

    #[test]
    fn service_without_selector_has_no_endpoints_and_watchers_find_services() {
        let mut w = test_world();
        let none = add_service(&mut w, None, false);
        let all = add_service(&mut w, Some(Labels::new()), false);
        let web = add_service(&mut w, Some(labels(&[("tier", "web")])), false);
        let other = add_service(&mut w, Some(labels(&[("tier", "db")])), false);
        let a = pods(&mut w, "a", 1);
        start(&mut w, a[0], None, SECOND);
        run(&mut w, ControllerRef::Endpoints(none), 2 * SECOND);
        assert!(w.services[none.idx()].endpoints.is_empty());
        let mut out = Vec::new();
        watchers(&w, Change::PodUpdated(a[0]), &mut out);
        assert!(out.contains(&ControllerRef::Endpoints(all)));
        assert!(out.contains(&ControllerRef::Endpoints(web)));
        assert!(!out.contains(&ControllerRef::Endpoints(other)));
        assert!(!out.contains(&ControllerRef::Endpoints(none)));
        // The node holding the pod wakes the same services.
        let mut out = Vec::new();
        watchers(&w, Change::NodeUpdated(w.pod(a[0]).node.unwrap()), &mut out);
        assert!(out.contains(&ControllerRef::Endpoints(web)));
    }
}
