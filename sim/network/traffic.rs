//! Service traffic: clients in zones send requests to a Service; kube-proxy on
//! the client's side picks an endpoint from its own view of the Service's
//! EndpointSlices; the request succeeds if the pod is there to serve it.
//!
//! - Arrivals are a Poisson process per `spec.traffic` entry (exponential
//!   gaps from the entry's own seeded stream); a client's zone is drawn
//!   evenly from `clientZones` (default: every zone).
//! - kube-proxy in iptables mode picks uniformly among the endpoints it has
//!   programmed (pkg/proxy/iptables/proxier.go: rule i of n matches with
//!   probability 1/(n−i)), the ready ones, or the serving-terminating ones
//!   when none is ready (ProxyTerminatingEndpoints, GA v1.28). Its view is
//!   the EndpointSlice state `proxyDelay` (default 1 s: watch propagation plus
//!   the iptables `minSyncPeriod` of 1 s) after it changed, and a zone cut off
//!   from the control plane keeps its stale view until the partition heals.
//! - A request fails, in this order of causes: no endpoint in the view;
//!   the endpoint's node is down; no path from the client's zone to the node;
//!   the pod is not serving (gone, not Running, container not running); the
//!   pod is over capacity. Capacity is a GCRA token bucket per (traffic entry,
//!   pod): `podCapacity` requests per second with a burst of a tenth of a
//!   second's worth (at least 1).
//! - Latency of a success: the client↔node round trip plus one service time
//!   (1 / podCapacity). No queueing model beyond the capacity limit.
//!
//! The fluid model ([`TrafficModel::Fluid`]) integrates the same rates
//! between state changes instead of drawing requests: same causes, same
//! latencies, no Poisson noise; it under-counts over-capacity failures that
//! bursts cause below capacity. `fluid_and_requests_agree` in the tests pins
//! the tolerance (availability within 0.01, request counts within 2 %).

use crate::hash::HashMap;
use std::collections::BTreeMap;

use rand::RngExt;
use rand_distr::{Distribution, Exp};

use crate::engine::{SECOND, SimRng, Time, rng_stream};
use crate::metrics::Percentiles;
use crate::model::{NodeId, PodId, PodPhase, Service, ServiceId, World};
use crate::network::Topology;
use crate::scenario::{Rate, TrafficModel, TrafficSpec};

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    NoEndpoint,
    NodeDown,
    Unreachable,
    NotServing,
    OverCapacity,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::NoEndpoint,
        Cause::NodeDown,
        Cause::Unreachable,
        Cause::NotServing,
        Cause::OverCapacity,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::NoEndpoint => "no_endpoint",
            Cause::NodeDown => "node_down",
            Cause::Unreachable => "unreachable",
            Cause::NotServing => "not_serving",
            Cause::OverCapacity => "over_capacity",
        }
    }
}

/// What kube-proxy programs for a Service: the ready endpoints, or when none
/// is ready the serving terminating ones.
pub fn proxied_endpoints(s: &Service) -> Vec<PodId> {
    if s.endpoints.is_empty() {
        s.terminating_endpoints.clone()
    } else {
        s.endpoints.clone()
    }
}

/// Counts per traffic entry. Fluid counts are fractional until reported.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: f64,
    pub failed: [f64; 5],
    /// Per-request model: latency of each success (µs).
    pub latencies_us: Vec<Time>,
    /// Fluid model: latency (µs) → requests.
    pub latency_weights: BTreeMap<Time, f64>,
}

struct ServiceViews {
    latest: u32,
    latest_eps: Vec<PodId>,
    snapshots: BTreeMap<u32, Vec<PodId>>,
    /// The version each zone's kube-proxies have programmed.
    zone_version: Vec<u32>,
}

/// The fluid model's rates for one entry, valid until the next state change.
#[derive(Clone, Debug, Default)]
struct FluidRates {
    requests: f64,
    failed: [f64; 5],
    latency: Vec<(Time, f64)>,
}

pub struct Traffic {
    pub specs: Vec<TrafficSpec>,
    pub rate: Vec<Rate>,
    pub model: TrafficModel,
    rngs: Vec<SimRng>,
    /// Bumped when an entry's rate changes, cancelling the pending arrival.
    pub arrival_token: Vec<u64>,
    client_zones: Vec<Vec<usize>>,
    views: BTreeMap<ServiceId, ServiceViews>,
    tat: HashMap<(usize, PodId), Time>,
    pub stats: Vec<Stats>,
    fluid: Vec<FluidRates>,
    last_t: Time,
}

/// GCRA parameters for a capacity: (emission interval, burst tolerance), µs.
fn gcra(cap: Rate) -> (Time, Time) {
    let t = (1_000_000_000 / cap.0.max(1)).max(1);
    let burst = (cap.0 / 10_000).max(1);
    (t, (burst - 1) * t)
}

impl Traffic {
    pub fn new(specs: &[TrafficSpec], model: TrafficModel, topo: &Topology, seed: u64) -> Traffic {
        let mut views = BTreeMap::new();
        let client_zones = specs
            .iter()
            .map(|s| {
                if s.client_zones.is_empty() {
                    (0..topo.zones.len()).collect()
                } else {
                    s.client_zones
                        .iter()
                        .filter_map(|z| topo.zone_index(z))
                        .collect()
                }
            })
            .collect();
        for s in specs {
            views.entry(s.service).or_insert_with(|| ServiceViews {
                latest: 0,
                latest_eps: Vec::new(),
                snapshots: BTreeMap::from([(0, Vec::new())]),
                zone_version: vec![0; topo.zones.len()],
            });
        }
        Traffic {
            rate: specs.iter().map(|s| s.rate).collect(),
            model,
            rngs: (0..specs.len())
                .map(|i| rng_stream(seed, &format!("traffic/{i}/{}", specs[i].service_key)))
                .collect(),
            arrival_token: vec![0; specs.len()],
            client_zones,
            views,
            tat: HashMap::default(),
            stats: vec![Stats::default(); specs.len()],
            fluid: vec![FluidRates::default(); specs.len()],
            last_t: 0,
            specs: specs.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn has_service(&self, svc: ServiceId) -> bool {
        self.views.contains_key(&svc)
    }

    /// The EndpointSlice controller may have changed `svc`: a new version to
    /// propagate, if the programmed endpoints differ.
    pub fn publish(&mut self, world: &World, svc: ServiceId) -> Option<u32> {
        let v = self.views.get_mut(&svc)?;
        let eps = proxied_endpoints(&world.services[svc.idx()]);
        if eps == v.latest_eps {
            return None;
        }
        v.latest += 1;
        v.snapshots.insert(v.latest, eps.clone());
        v.latest_eps = eps;
        Some(v.latest)
    }

    /// Kube-proxies in every zone in contact with the control plane program
    /// `version` of `svc` (unless they have a newer one).
    pub fn sync(&mut self, topo: &Topology, svc: ServiceId, version: u32) {
        let Some(v) = self.views.get_mut(&svc) else {
            return;
        };
        for (z, zv) in v.zone_version.iter_mut().enumerate() {
            if topo.zone_in_contact(z) && *zv < version {
                *zv = version;
            }
        }
        let oldest = v.zone_version.iter().copied().min().unwrap_or(0);
        v.snapshots.retain(|&k, _| k >= oldest);
    }

    /// After a partition heals, every Service's latest version to propagate.
    pub fn latest_versions(&self) -> Vec<(ServiceId, u32)> {
        self.views.iter().map(|(&s, v)| (s, v.latest)).collect()
    }

    fn view(&self, svc: ServiceId, z: usize) -> &[PodId] {
        let v = &self.views[&svc];
        &v.snapshots[&v.zone_version[z]]
    }

    /// The next arrival after `now` for entry `i`, if it sends anything.
    pub fn next_arrival(&mut self, i: usize, now: Time) -> Option<Time> {
        let r = self.rate[i].per_second();
        if r <= 0.0 {
            return None;
        }
        let gap = Exp::new(r)
            .expect("positive rate")
            .sample(&mut self.rngs[i]);
        Some(now + ((gap * SECOND as f64).round() as Time).max(1))
    }

    /// Where a request from zone `z` to endpoint `pod` ends, before capacity:
    /// `Ok((node, one-way latency))` or the cause of failure.
    fn route(
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        z: usize,
        pod: PodId,
    ) -> Result<(NodeId, Time), Cause> {
        let p = world.pod(pod);
        let Some(node) = p.node else {
            return Err(Cause::NotServing);
        };
        if !world.node(node).up {
            return Err(Cause::NodeDown);
        }
        let Some(lat) = topo.latency(z, node) else {
            return Err(Cause::Unreachable);
        };
        if p.deleted || p.phase != PodPhase::Running || !serving(pod) {
            return Err(Cause::NotServing);
        }
        Ok((node, lat))
    }

    /// One request of entry `i` at `now`. Returns its latency or why it failed.
    pub fn request(
        &mut self,
        i: usize,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        now: Time,
    ) -> Result<Time, Cause> {
        let res = self.request_inner(i, world, topo, serving, now);
        let s = &mut self.stats[i];
        s.requests += 1.0;
        match res {
            Ok(l) => s.latencies_us.push(l),
            Err(c) => s.failed[c as usize] += 1.0,
        }
        res
    }

    fn request_inner(
        &mut self,
        i: usize,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        now: Time,
    ) -> Result<Time, Cause> {
        let zones = &self.client_zones[i];
        if zones.is_empty() {
            return Err(Cause::NoEndpoint);
        }
        let z = zones[self.rngs[i].random_range(0..zones.len())];
        let svc = self.specs[i].service;
        let n = self.view(svc, z).len();
        if n == 0 {
            return Err(Cause::NoEndpoint);
        }
        let k = self.rngs[i].random_range(0..n);
        let pod = self.view(svc, z)[k];
        let (_, lat) = Self::route(world, topo, serving, z, pod)?;
        let (t, tau) = gcra(self.specs[i].pod_capacity);
        let tat = self.tat.entry((i, pod)).or_insert(0);
        if *tat > now + tau {
            return Err(Cause::OverCapacity);
        }
        *tat = (*tat).max(now) + t;
        Ok(2 * lat + t)
    }

    /// Fluid model: integrate the current rates up to `now`. Returns the
    /// failed requests added.
    pub fn advance(&mut self, now: Time) -> f64 {
        if now <= self.last_t {
            return 0.0;
        }
        let dt = (now - self.last_t) as f64 / SECOND as f64;
        self.last_t = now;
        let mut failed = 0.0;
        for (s, r) in self.stats.iter_mut().zip(&self.fluid) {
            s.requests += r.requests * dt;
            for c in 0..5 {
                s.failed[c] += r.failed[c] * dt;
                failed += r.failed[c] * dt;
            }
            for &(l, w) in &r.latency {
                *s.latency_weights.entry(l).or_insert(0.0) += w * dt;
            }
        }
        failed
    }

    /// Entry `i`'s request rate at `now` (0 before it starts).
    fn lambda(&self, i: usize, now: Time) -> f64 {
        if now >= self.specs[i].start {
            self.rate[i].per_second()
        } else {
            0.0
        }
    }

    /// Where entry `i`'s `lambda` requests per second go, by expectation:
    /// split evenly over the client zones, then over the endpoints in each
    /// zone's kube-proxy view. `f(rate, route)` is called per (zone,
    /// endpoint) path, and once for a zone whose view is empty; `route` is
    /// the endpoint and the one-way latency, or why the requests fail.
    fn each_path(
        &self,
        i: usize,
        lambda: f64,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        mut f: impl FnMut(f64, Result<(PodId, Time), Cause>),
    ) {
        let zones = &self.client_zones[i];
        let per_zone = lambda / zones.len() as f64;
        for &z in zones {
            let view = self.view(self.specs[i].service, z);
            if view.is_empty() {
                f(per_zone, Err(Cause::NoEndpoint));
                continue;
            }
            let share = per_zone / view.len() as f64;
            for &pod in view {
                let route = Self::route(world, topo, serving, z, pod);
                f(share, route.map(|(_, lat)| (pod, lat)));
            }
        }
    }

    /// Requests per second each pod serves for entry `i` at `now`, by
    /// expectation: what reaches it, capped at `podCapacity`.
    pub fn served(
        &self,
        i: usize,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        now: Time,
    ) -> BTreeMap<PodId, f64> {
        let mut offered: BTreeMap<PodId, f64> = BTreeMap::new();
        let lambda = self.lambda(i, now);
        if lambda > 0.0 && !self.client_zones[i].is_empty() {
            self.each_path(i, lambda, world, topo, serving, |rate, route| {
                if let Ok((pod, _)) = route {
                    *offered.entry(pod).or_insert(0.0) += rate;
                }
            });
        }
        let cap = self.specs[i].pod_capacity.per_second();
        for load in offered.values_mut() {
            *load = load.min(cap);
        }
        offered
    }

    /// Fluid model: the rates that hold from `now` until the next change.
    pub fn recompute(
        &mut self,
        world: &World,
        topo: &Topology,
        serving: &dyn Fn(PodId) -> bool,
        now: Time,
    ) {
        for i in 0..self.specs.len() {
            let mut r = FluidRates::default();
            let lambda = self.lambda(i, now);
            let zones = &self.client_zones[i];
            if lambda > 0.0 && zones.is_empty() {
                r.failed[Cause::NoEndpoint as usize] = lambda;
            }
            if lambda > 0.0 && !zones.is_empty() {
                r.requests = lambda;
                let (t, _) = gcra(self.specs[i].pod_capacity);
                let cap = self.specs[i].pod_capacity.per_second();
                let mut offered: BTreeMap<PodId, f64> = BTreeMap::new();
                let mut paths: Vec<(PodId, Time, f64)> = Vec::new();
                self.each_path(
                    i,
                    lambda,
                    world,
                    topo,
                    serving,
                    |share, route| match route {
                        Ok((pod, lat)) => {
                            *offered.entry(pod).or_insert(0.0) += share;
                            paths.push((pod, 2 * lat + t, share));
                        }
                        Err(c) => r.failed[c as usize] += share,
                    },
                );
                for (&pod, &load) in &offered {
                    if load > cap {
                        r.failed[Cause::OverCapacity as usize] += load - cap;
                    }
                    let _ = pod;
                }
                let mut lat: BTreeMap<Time, f64> = BTreeMap::new();
                for (pod, l, share) in paths {
                    let load = offered[&pod];
                    let f = if load > cap { cap / load } else { 1.0 };
                    *lat.entry(l).or_insert(0.0) += share * f;
                }
                r.latency = lat.into_iter().collect();
            }
            self.fluid[i] = r;
        }
    }

    /// Report numbers for entry `i`: (requests, failed by cause, latency percentiles).
    pub fn summary(&self, i: usize) -> (u64, [u64; 5], Option<Percentiles>) {
        let s = &self.stats[i];
        let failed = s.failed.map(|f| f.round() as u64);
        let requests = (s.requests.round() as u64).max(failed.iter().sum());
        let secs = |us: Time| us as f64 / SECOND as f64;
        let lat = match self.model {
            TrafficModel::Requests => {
                if s.latencies_us.is_empty() {
                    None
                } else {
                    let mut v: Vec<f64> = s.latencies_us.iter().map(|&l| secs(l)).collect();
                    Some(Percentiles::of(&mut v))
                }
            }
            TrafficModel::Fluid => weighted_percentiles(&s.latency_weights).map(|p| Percentiles {
                p50: secs(p[0]),
                p95: secs(p[1]),
                p99: secs(p[2]),
                max: secs(p[3]),
            }),
        };
        (requests, failed, lat)
    }
}

/// Nearest-rank percentiles (50, 95, 99, max) of weighted values.
fn weighted_percentiles(w: &BTreeMap<Time, f64>) -> Option<[Time; 4]> {
    let total: f64 = w.values().sum();
    if total <= 0.0 {
        return None;
    }
    let rank = |p: f64| {
        let target = p * total;
        let mut acc = 0.0;
        for (&l, &x) in w {
            acc += x;
            if acc >= target - 1e-9 * total {
                return l;
            }
        }
        *w.keys().next_back().expect("non-empty")
    };
    let max = w
        .iter()
        .rev()
        .find(|(_, x)| **x > 0.0)
        .map(|(l, _)| *l)
        .unwrap_or(0);
    Some([rank(0.5), rank(0.95), rank(0.99), max])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::{meta, test_world};
    use crate::model::{Owner, PodSpec, StatefulSetId};
    use crate::scenario::NetworkSettings;

    #[test]
    fn every_request_is_counted_once_with_its_cause() {
        // Three pods on n-0…n-2; n-1 goes down, the pod on n-2 stops serving.
        let mut w = test_world();
        let spec = w.add_spec(PodSpec::default());
        let mut pods = Vec::new();
        for n in 0..3 {
            let mut p = crate::controllers::new_pod(
                format!("p-{n}"),
                "default",
                spec,
                Owner::StatefulSet(StatefulSetId(0)),
            );
            p.owner = None;
            let id = w.create_pod(p, 0);
            w.bind(id, NodeId(n), 0);
            w.set_phase(id, PodPhase::Running);
            w.set_ready(id, true, 0);
            pods.push(id);
        }
        w.services.push(Service {
            meta: meta("svc", &[]),
            selector: None,
            service_type: "ClusterIP".into(),
            ports: Vec::new(),
            publish_not_ready: false,
            endpoints: pods.clone(),
            not_ready_endpoints: Vec::new(),
            terminating_endpoints: Vec::new(),
        });
        let topo = Topology::new(&w, &NetworkSettings::default());
        let spec = TrafficSpec {
            service: ServiceId(0),
            service_key: "default/svc".into(),
            rate: Rate(1_000_000),
            pod_capacity: Rate(100_000),
            client_zones: Vec::new(),
            start: 0,
            schedule: Vec::new(),
            cpu_per_request_nanos: 0,
        };
        let mut t = Traffic::new(&[spec], TrafficModel::Requests, &topo, 1);
        // Nothing programmed yet: no endpoint.
        assert_eq!(
            t.request(0, &w, &topo, &|_| true, 0),
            Err(Cause::NoEndpoint)
        );
        let v = t.publish(&w, ServiceId(0)).unwrap();
        t.sync(&topo, ServiceId(0), v);
        w.nodes[1].up = false;
        let not_serving = pods[2];
        let mut ok = 0;
        let mut causes = [0u32; 5];
        let n = 3000;
        let mut now = 0;
        for _ in 0..n {
            now = t.next_arrival(0, now).unwrap();
            match t.request(0, &w, &topo, &|p| p != not_serving, now) {
                Ok(l) => {
                    ok += 1;
                    // Same zone: 2 × 250 µs + 10 ms service time.
                    assert_eq!(l, 10_500);
                }
                Err(c) => causes[c as usize] += 1,
            }
        }
        let s = &t.stats[0];
        assert_eq!(s.requests as u32, n + 1);
        assert_eq!(ok + causes.iter().sum::<u32>(), n);
        assert_eq!(s.latencies_us.len() as u32, ok);
        assert_eq!(s.failed.iter().sum::<f64>() as u32, n + 1 - ok);
        // A third each to the down node and the non-serving pod; the live pod
        // gets ~333/s against a capacity of 100/s: mostly over capacity.
        for c in [Cause::NodeDown, Cause::NotServing, Cause::OverCapacity] {
            assert!(causes[c as usize] > 500, "{c:?}: {causes:?}");
        }
        let served_per_s = f64::from(ok) / (now as f64 / SECOND as f64);
        assert!((served_per_s - 100.0).abs() < 15.0, "{served_per_s}");
    }

    #[test]
    fn gcra_of_one_hundred_per_second() {
        // 100/s: one request per 10 ms, a burst of 10 (90 ms of tolerance).
        assert_eq!(gcra(Rate(100_000)), (10_000, 90_000));
        // 1/s: burst 1, no tolerance.
        assert_eq!(gcra(Rate(1_000)), (1_000_000, 0));
    }

    #[test]
    fn weighted_percentiles_by_rank() {
        let w = BTreeMap::from([(1, 50.0), (2, 45.0), (3, 4.0), (4, 1.0)]);
        assert_eq!(weighted_percentiles(&w), Some([1, 2, 3, 4]));
    }
}
