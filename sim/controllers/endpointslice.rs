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
//! The selected pods come from [`Index`], as upstream lists them from the pod
//! informer's index rather than from the API.

use crate::controllers::{ControllerRef, Ctx};
use crate::model::labels::Labels;
use crate::model::*;

pub fn reconcile(ctx: &mut Ctx, svc: ServiceId) {
    let w = &mut *ctx.world;
    let members = ctx.caches.endpoints.selected(w, svc);
    let s = &w.services[svc.idx()];
    let (mut ready, mut not_ready, mut terminating) = (Vec::new(), Vec::new(), Vec::new());
    for &id in members {
        let pod = w.pod(id);
        if pod.phase != PodPhase::Running || pod.node.is_none() {
            continue;
        }
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
pub fn services_selecting(w: &World, index: &mut Index, p: PodId, out: &mut Vec<ControllerRef>) {
    let pod = w.pod(p);
    for &s in index.selecting_spec(w, pod.spec) {
        if w.services[s.idx()].meta.namespace == pod.namespace {
            out.push(ControllerRef::Endpoints(s));
        }
    }
}

/// Which pods each Service selects, kept as the pod informer's index would
/// be: pods are placed when first seen and dropped once removed. A pod's
/// labels never change (they are its spec's) and specs, pods and Services are
/// append-only arenas, so the index follows the World by looking at what was
/// appended since its last look; it is derived state, rebuilt from scratch
/// when the Services change (only at load).
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Services indexed (the length of the World's arena when built).
    services: usize,
    /// Pods looked at so far: a prefix of the pod arena.
    pods_seen: usize,
    /// Per Service: the pods it selects, in id order (removed ones until the
    /// next sync of that Service).
    members: Vec<Vec<PodId>>,
    /// Per spec: the Services with a selector matching its labels, in any
    /// namespace (`None`: not computed yet). Specs never change.
    by_spec: Vec<Option<Box<[ServiceId]>>>,
}

impl Index {
    /// The Services whose selector matches `spec`'s labels (any namespace).
    fn selecting_spec(&mut self, w: &World, spec: SpecId) -> &[ServiceId] {
        self.catch_up_services(w);
        if self.by_spec.len() <= spec.idx() {
            self.by_spec.resize(spec.idx() + 1, None);
        }
        self.by_spec[spec.idx()].get_or_insert_with(|| {
            let labels = &w.spec(spec).labels;
            w.services
                .iter()
                .enumerate()
                .filter(|(_, s)| s.selector.as_ref().is_some_and(|sel| selects(sel, labels)))
                .map(|(i, _)| ServiceId(i as u32))
                .collect()
        })
    }

    fn catch_up_services(&mut self, w: &World) {
        if self.services != w.services.len() {
            *self = Index {
                services: w.services.len(),
                members: vec![Vec::new(); w.services.len()],
                ..Default::default()
            };
        }
    }

    /// The pods Service `svc` selects now, in id order.
    pub fn selected(&mut self, w: &World, svc: ServiceId) -> &[PodId] {
        self.catch_up_services(w);
        while self.pods_seen < w.pods.len() {
            let id = PodId(self.pods_seen as u32);
            self.pods_seen += 1;
            let pod = w.pod(id);
            if pod.deleted {
                continue;
            }
            self.selecting_spec(w, pod.spec);
            let Index {
                by_spec, members, ..
            } = self;
            for &s in by_spec[pod.spec.idx()].as_deref().unwrap_or_default() {
                if w.services[s.idx()].meta.namespace == pod.namespace {
                    members[s.idx()].push(id);
                }
            }
        }
        let m = &mut self.members[svc.idx()];
        m.retain(|&p| !w.pod(p).deleted);
        m
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
        let owner = Owner::Job(add_job(w, "owner", spec));
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
        watchers(
            &w,
            &mut Default::default(),
            Change::PodUpdated(a[0]),
            &mut out,
        );
        assert!(out.contains(&ControllerRef::Endpoints(all)));
        assert!(out.contains(&ControllerRef::Endpoints(web)));
        assert!(!out.contains(&ControllerRef::Endpoints(other)));
        assert!(!out.contains(&ControllerRef::Endpoints(none)));
        // The node holding the pod wakes the same services.
        let mut out = Vec::new();
        watchers(
            &w,
            &mut Default::default(),
            Change::NodeUpdated(w.pod(a[0]).node.unwrap()),
            &mut out,
        );
        assert!(out.contains(&ControllerRef::Endpoints(web)));
    }

    /// The pods a selector selects, found the straightforward way: every pod.
    fn scan(w: &World, svc: ServiceId) -> Vec<PodId> {
        let s = &w.services[svc.idx()];
        (0..w.pods.len() as u32)
            .map(PodId)
            .filter(|&p| {
                let pod = w.pod(p);
                !pod.deleted
                    && pod.namespace == s.meta.namespace
                    && s.selector
                        .as_ref()
                        .is_some_and(|sel| selects(sel, &w.pod_spec(p).labels))
            })
            .collect()
    }

    #[test]
    fn the_index_selects_what_a_scan_of_every_pod_selects() {
        use rand::RngExt;
        let mut rng = crate::engine::rng_stream(9, "test/endpoint-index");
        let mut w = test_world();
        let apps = ["a", "b", "c"];
        let namespaces = ["default", "other"];
        for (i, app) in apps.iter().enumerate() {
            add_service(&mut w, Some(labels(&[("app", app)])), false);
            w.services[i].meta.namespace = namespaces[i % 2].to_string();
        }
        add_service(&mut w, Some(labels(&[("tier", "web")])), false);
        add_service(&mut w, Some(Labels::new()), false);
        add_service(&mut w, None, false);
        let specs: Vec<SpecId> = apps
            .iter()
            .flat_map(|app| {
                [
                    labels(&[("app", app), ("tier", "web")]),
                    labels(&[("app", app)]),
                ]
            })
            .map(|l| {
                w.add_spec(PodSpec {
                    labels: l,
                    ..Default::default()
                })
            })
            .collect();
        let mut index = Index::default();
        for step in 0..400 {
            let spec = specs[rng.random_range(0..specs.len())];
            let ns = namespaces[rng.random_range(0..2)];
            let mut pod = Pod::new(format!("p-{step}"), ns, spec, None);
            pod.created_at = step;
            w.create_pod(pod, step);
            if rng.random_range(0..3) == 0 {
                let live: Vec<PodId> = (0..w.pods.len() as u32)
                    .map(PodId)
                    .filter(|&p| !w.pod(p).deleted)
                    .collect();
                w.remove_pod(live[rng.random_range(0..live.len())]);
            }
            let svc = ServiceId(rng.random_range(0..w.services.len() as u32));
            assert_eq!(index.selected(&w, svc), scan(&w, svc), "step {step}");
        }
        for i in 0..w.services.len() as u32 {
            let svc = ServiceId(i);
            assert_eq!(index.selected(&w, svc), scan(&w, svc));
            assert_eq!(Index::default().selected(&w, svc), scan(&w, svc));
        }
    }
}
