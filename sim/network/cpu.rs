//! The CPU model: what a pod's containers use, as the resource metrics
//! pipeline (kubelet → metrics-server → metrics.k8s.io) reports it to the
//! HPA controller.
//!
//! A pod uses its `kubesim.dev/cpu-baseline` annotation (default 0) plus, for
//! every `spec.traffic` entry with a `cpuPerRequest`, the requests per second
//! it serves times that cost (`cpuPerRequest: 5m`: 5 ms of one core per
//! request, so 100 requests/s use 500m). What a pod serves is the fluid
//! model's expectation whichever traffic model runs: the entry's rate split
//! evenly over its client zones, then over the endpoints of each zone's
//! kube-proxy view that a request can reach, capped at `podCapacity`
//! (requests beyond it fail and cost nothing). So the metric has no sampling
//! noise and does not depend on `--traffic-model`.
//!
//! A pod has a CPU model only when it carries the annotation or the Service of
//! an entry with `cpuPerRequest` selects it. Other pods have no usage at all
//! rather than an invented one: an HPA over them cannot compute a utilisation
//! (upstream's FailedGetResourceMetric), so scenarios that never describe CPU
//! keep their replica counts.

use std::collections::BTreeMap;

use crate::controllers::endpointslice::selects;
use crate::controllers::hpa::CpuSource;
use crate::engine::Time;
use crate::model::{PodId, ServiceId, World};
use crate::network::Topology;
use crate::network::traffic::Traffic;

/// The CPU usage of every pod at one instant.
pub struct CpuUsage {
    /// Usage driven by traffic, nanocores, for pods that serve any.
    traffic_nanos: BTreeMap<PodId, i64>,
    /// Services of entries with a CPU cost: the pods they select have a model.
    costed: Vec<ServiceId>,
}

impl CpuUsage {
    /// The usage at `now`, from the traffic entries' current rates and the
    /// kube-proxy views (`serving` as for requests).
    pub fn new(
        traffic: &Traffic,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        now: Time,
    ) -> CpuUsage {
        let mut u = CpuUsage {
            traffic_nanos: BTreeMap::new(),
            costed: Vec::new(),
        };
        for (i, spec) in traffic.specs.iter().enumerate() {
            if spec.cpu_per_request_nanos <= 0 {
                continue;
            }
            u.costed.push(spec.service);
            let cost = spec.cpu_per_request_nanos as f64;
            for (pod, rate) in traffic.served(i, world, topo, serving, now) {
                *u.traffic_nanos.entry(pod).or_insert(0) += (rate * cost).round() as i64;
            }
        }
        u
    }
}

impl CpuSource for CpuUsage {
    fn cpu_nanos(&self, world: &World, pod: PodId) -> Option<i64> {
        let p = world.pod(pod);
        let spec = world.spec(p.spec);
        let behind_costed_traffic = self.costed.iter().any(|&s| {
            let svc = &world.services[s.idx()];
            svc.meta.namespace == p.namespace
                && svc
                    .selector
                    .as_ref()
                    .is_some_and(|sel| selects(sel, &spec.labels))
        });
        if spec.behaviour.cpu_baseline_nanos.is_none() && !behind_costed_traffic {
            return None;
        }
        let traffic = self.traffic_nanos.get(&pod).copied().unwrap_or(0);
        Some(
            spec.behaviour
                .cpu_baseline_nanos
                .unwrap_or(0)
                .saturating_add(traffic),
        )
    }
}
