//! What a run measured: the [`Recorder`] observes the World as the loop runs,
//! and [`Report`] is the stable, serde-serialised result (`report.json`).
//! Field names are snake_case and part of the contract in DESIGN.md: add, never
//! rename. Every time is seconds of simulated time since the start.

use serde::{Deserialize, Serialize};

use crate::engine::{Time, seconds};
use crate::model::{
    DaemonSetId, JobId, Meta, Owner, PodPhase, ReplicaSetId, Resources, StatefulSetId, World,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PodCounts {
    pub created: u64,
    pub scheduled: u64,
    pub pending_at_end: u64,
    pub evicted: u64,
    pub failed: u64,
    pub preempted: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (sorted here).
    pub fn of(values: &mut [f64]) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let k = ((p / 100.0) * values.len() as f64).ceil() as usize;
            values[k.clamp(1, values.len()) - 1]
        };
        Percentiles {
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: values[values.len() - 1],
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Scheduling {
    pub attempts: u64,
    /// From pod creation to binding, for pods the scheduler bound.
    pub latency_seconds: Percentiles,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Allocation {
    pub cpu: f64,
    pub memory: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Packing {
    pub nodes_used_peak: u64,
    pub nodes_used_end: u64,
    /// A valid lower bound on the nodes the pods running at the end need.
    pub lower_bound_nodes: u64,
    /// lower_bound_nodes / nodes_used_end (1.0 when no node is used).
    pub efficiency: f64,
    /// Time-weighted requested/allocatable over the nodes that hold pods.
    pub allocation: Allocation,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Recovery {
    pub event: String,
    pub at_seconds: f64,
    pub detected_seconds: Option<f64>,
    pub evicted_seconds: Option<f64>,
    pub restored_seconds: Option<f64>,
    /// Pods on the failed nodes (not finished) or the crashed pod.
    pub pods_disrupted: u64,
    /// Requests that failed, for any cause, from `at_seconds` until restored
    /// (or the end of the run); overlapping failures each count them.
    pub requests_failed: u64,
    /// Each workload the failure touched and when it was whole again.
    #[serde(default)]
    pub workloads: Vec<WorkloadRecovery>,
    /// What happened, in order, for the terminal timeline.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WorkloadRecovery {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub restored_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TimelineEntry {
    pub t: f64,
    pub what: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WorkloadReport {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub desired: i64,
    pub current: i64,
    pub ready: i64,
    pub available: i64,
    pub up_to_date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceReport {
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub service_type: String,
    pub endpoints_ready: u64,
    pub endpoints_not_ready: u64,
    /// `IP:port`-style list as `kubectl describe service` shows, pod names here.
    pub endpoints: Vec<String>,
    pub requests: u64,
    pub failed: u64,
    pub availability: f64,
    /// Failed requests by cause (`no_endpoint`, `node_down`, `unreachable`,
    /// `not_serving`, `over_capacity`), for Services with traffic.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failures: std::collections::BTreeMap<String, u64>,
    /// Latency of successful requests, for Services with traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_seconds: Option<Percentiles>,
}

/// A HorizontalPodAutoscaler as `kubectl get hpa` (NAME, REFERENCE,
/// TARGETS, MINPODS, MAXPODS, REPLICAS) and `kubectl describe hpa`
/// (conditions, events) show it at the end of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HpaReport {
    pub namespace: String,
    pub name: String,
    /// `KIND/NAME` of spec.scaleTargetRef.
    pub reference: String,
    /// Target average CPU utilisation, percent of requests.
    pub target_cpu_utilization: Option<i64>,
    /// Last observed average CPU utilisation; null when unknown.
    pub current_cpu_utilization: Option<i64>,
    pub min_replicas: i64,
    pub max_replicas: i64,
    /// status.currentReplicas: the target's replicas at the last sync.
    pub current_replicas: i64,
    pub desired_replicas: i64,
    pub last_scale_seconds: Option<f64>,
    /// Metrics of the HPA that the simulator has no values for (ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsimulated_metrics: Vec<String>,
    pub conditions: Vec<HpaConditionReport>,
    /// Every rescale (upstream's SuccessfulRescale events).
    pub scale_events: Vec<HpaScaleEvent>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HpaConditionReport {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HpaScaleEvent {
    pub at_seconds: f64,
    pub from: i64,
    pub to: i64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PendingPod {
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeReport {
    pub name: String,
    pub pool: Option<String>,
    pub zone: Option<String>,
    pub ready: bool,
    pub pods: u64,
    pub cpu_requested_milli: i64,
    pub cpu_allocatable_milli: i64,
    pub memory_requested: i64,
    pub memory_allocatable: i64,
}

/// One sample of the cluster's state, for time series and plots.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub pending: u64,
    pub running: u64,
    pub nodes_used: u64,
    pub cpu_allocation: f64,
    pub memory_allocation: f64,
    /// Ready pods per workload, in the order of [`Series::workloads`] (a
    /// workload created later than this sample has no entry yet; only the
    /// first [`MAX_WORKLOAD_SERIES`] workloads seen have one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ready: Vec<i64>,
    /// Ready endpoints per Service, in the order of [`Series::services`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints_ready: Vec<u64>,
    /// Requested/allocatable cpu per node, in the order of [`Series::nodes`]
    /// (the first [`MAX_NODE_SERIES`] nodes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_cpu: Vec<f64>,
    /// The target's spec.replicas per HPA, in the order of [`Series::hpas`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hpa_replicas: Vec<i64>,
    /// The CPU utilisation (percent) each HPA last observed; null when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hpa_cpu_utilization: Vec<Option<i64>>,
}

/// Nodes beyond this many get no per-node time series (the heat map would be unreadable
/// and report.json large).
pub const MAX_NODE_SERIES: usize = 200;

/// Workloads seen after this many get no time series: Jobs that arrive all
/// day would otherwise add a column each to every later sample (tens of
/// thousands over a cluster-day).
pub const MAX_WORKLOAD_SERIES: usize = 200;

/// What the per-entity vectors of each [`Sample`] refer to.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Series {
    /// `kind/namespace/name`, in order of first appearance (the first
    /// [`MAX_WORKLOAD_SERIES`]).
    pub workloads: Vec<String>,
    /// All workloads that existed at a sample, when more than [`Series::workloads`].
    #[serde(default)]
    pub workloads_total: usize,
    /// `namespace/name`.
    pub services: Vec<String>,
    /// Node names in id order.
    pub nodes: Vec<String>,
    /// All nodes that existed, when more than [`Series::nodes`].
    pub nodes_total: usize,
    /// HorizontalPodAutoscalers, `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hpas: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub scenario_hash: String,
    pub seed: u64,
    pub scheduler: String,
    pub kubernetes_version: String,
    pub kubesim_version: String,
    pub simulated_seconds: f64,
    pub events_processed: u64,
    pub wall_seconds: f64,
    pub events_per_second: f64,
    /// Simulated seconds per wall-clock second of the simulation (0 when too
    /// fast to measure). Like `wall_seconds`, depends on the machine.
    #[serde(default)]
    pub sim_to_wall_ratio: f64,
    pub pods: PodCounts,
    pub scheduling: Scheduling,
    pub packing: Packing,
    pub recovery: Vec<Recovery>,
    /// Mean over restored failures of (restored − at); null when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_time_to_recovery_seconds: Option<f64>,
    pub workloads: Vec<WorkloadReport>,
    pub services: Vec<ServiceReport>,
    /// HorizontalPodAutoscalers (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hpas: Vec<HpaReport>,
    pub nodes: Vec<NodeReport>,
    pub pending: Vec<PendingPod>,
    pub ignored_objects: std::collections::BTreeMap<String, usize>,
    /// Notes from loading (e.g. pods the kubelet rejected as existing state).
    pub notes: Vec<String>,
    pub timeseries: Vec<Sample>,
    /// Names for the per-entity vectors of `timeseries`.
    #[serde(default)]
    pub series: Series,
}

/// Observes the run; the loop calls it after every event.
#[derive(Default)]
pub struct Recorder {
    pub created: u64,
    pub scheduled: u64,
    pub failed: u64,
    pub evicted: u64,
    pub preempted: u64,
    pub latencies_us: Vec<Time>,
    pub nodes_used_peak: usize,
    last_t: Time,
    /// ∫ requested/allocatable dt over time with used nodes, per resource.
    cpu_integral: f64,
    mem_integral: f64,
    used_time: Time,
    pub samples: Vec<Sample>,
    pub series: Series,
    /// Column of each workload seen in `series.workloads` (`None`: past
    /// [`MAX_WORKLOAD_SERIES`]), by its label.
    workload_column: crate::hash::HashMap<String, Option<usize>>,
    /// The same column by (kind, arena index), once looked up: Deployment,
    /// standalone ReplicaSet, StatefulSet, DaemonSet, Job.
    workload_cache: [Vec<Option<Option<usize>>>; 5],
}

impl Recorder {
    /// Advance the time integrals to `now` with the state as it was before `now`.
    pub fn advance(&mut self, world: &World, now: Time) {
        if now > self.last_t {
            let dt = now - self.last_t;
            let u = &world.used;
            if u.nodes > 0 {
                self.used_time += dt;
                self.cpu_integral +=
                    ratio(u.requested.milli_cpu, u.allocatable.milli_cpu) * dt as f64;
                self.mem_integral += ratio(u.requested.memory, u.allocatable.memory) * dt as f64;
            }
            self.last_t = now;
        }
        self.nodes_used_peak = self.nodes_used_peak.max(world.used.nodes);
    }

    pub fn sample(&mut self, world: &World, now: Time) {
        let ready = self.sample_workloads(world);
        let endpoints_ready = self.sample_services(world);
        let node_cpu = self.sample_nodes(world);
        let (hpa_replicas, hpa_cpu_utilization) = self.sample_hpas(world);
        let u = &world.used;
        self.samples.push(Sample {
            t: seconds(now),
            pending: pending_unbound(world) as u64,
            running: world.phase_counts[PodPhase::Running as usize] as u64,
            nodes_used: u.nodes as u64,
            cpu_allocation: ratio(u.requested.milli_cpu, u.allocatable.milli_cpu),
            memory_allocation: ratio(u.requested.memory, u.allocatable.memory),
            ready,
            endpoints_ready,
            node_cpu,
            hpa_replicas,
            hpa_cpu_utilization,
        });
    }

    fn sample_hpas(&mut self, world: &World) -> (Vec<i64>, Vec<Option<i64>>) {
        for h in &world.hpas[self.series.hpas.len()..] {
            self.series.hpas.push(h.meta.key());
        }
        world
            .hpas
            .iter()
            .map(|h| {
                let replicas = h
                    .target
                    .map_or(h.status.current_replicas, |t| world.scale(t).0);
                (
                    i64::from(replicas),
                    h.status.current_cpu_utilization.map(i64::from),
                )
            })
            .unzip()
    }

    fn sample_workloads(&mut self, world: &World) -> Vec<i64> {
        let ready_of = |o: Owner| world.tallies.ready(o);
        // Workloads in a fixed order (kind, then arena index); a workload's
        // column is looked up by label once, and pods are counted only for
        // workloads that have a column.
        let mut ready = vec![0; self.series.workloads.len()];
        let mut put = |c: usize, n: i64| {
            if ready.len() <= c {
                ready.resize(c + 1, 0);
            }
            ready[c] = n;
        };
        for (i, d) in world
            .deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.deleted)
        {
            if let Some(c) = self.column(0, i, || workload_label("deployment", &d.meta)) {
                put(
                    c,
                    d.replicasets
                        .iter()
                        .map(|&rs| ready_of(Owner::ReplicaSet(rs)))
                        .sum(),
                );
            }
        }
        for (i, r) in world.replicasets.iter().enumerate() {
            let id = ReplicaSetId(i as u32);
            if r.deleted || r.owner.is_some() {
                continue;
            }
            if let Some(c) = self.column(1, i, || workload_label("replicaset", &r.meta)) {
                put(c, ready_of(Owner::ReplicaSet(id)));
            }
        }
        for (i, s) in world
            .statefulsets
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.deleted)
        {
            if let Some(c) = self.column(2, i, || workload_label("statefulset", &s.meta)) {
                put(c, ready_of(Owner::StatefulSet(StatefulSetId(i as u32))));
            }
        }
        for (i, d) in world
            .daemonsets
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.deleted)
        {
            if let Some(c) = self.column(3, i, || workload_label("daemonset", &d.meta)) {
                put(c, ready_of(Owner::DaemonSet(DaemonSetId(i as u32))));
            }
        }
        for (i, j) in world.jobs.iter().enumerate().filter(|(_, j)| !j.deleted) {
            if let Some(c) = self.column(4, i, || workload_label("job", &j.meta)) {
                put(c, ready_of(Owner::Job(JobId(i as u32))));
            }
        }
        ready.resize(self.series.workloads.len(), 0);
        ready
    }

    /// A workload's column, looked up by label the first time its arena slot
    /// (`kind`: Deployment, standalone ReplicaSet, StatefulSet, DaemonSet,
    /// Job) is seen.
    fn column(&mut self, kind: usize, idx: usize, label: impl FnOnce() -> String) -> Option<usize> {
        if let Some(&Some(c)) = self.workload_cache[kind].get(idx) {
            return c;
        }
        let c = self.column_for(label());
        let cache = &mut self.workload_cache[kind];
        if cache.len() <= idx {
            cache.resize(idx + 1, None);
        }
        cache[idx] = Some(c);
        c
    }

    /// The column for a workload label seen for the first time by its arena
    /// slot (a workload re-created under the same name keeps its column).
    fn column_for(&mut self, label: String) -> Option<usize> {
        if let Some(&c) = self.workload_column.get(&label) {
            return c;
        }
        self.series.workloads_total += 1;
        let c = (self.series.workloads.len() < MAX_WORKLOAD_SERIES).then(|| {
            self.series.workloads.push(label.clone());
            self.series.workloads.len() - 1
        });
        self.workload_column.insert(label, c);
        c
    }

    fn sample_services(&mut self, world: &World) -> Vec<u64> {
        for s in &world.services[self.series.services.len()..] {
            self.series
                .services
                .push(format!("{}/{}", s.meta.namespace, s.meta.name));
        }
        world
            .services
            .iter()
            .map(|s| s.endpoints.len() as u64)
            .collect()
    }

    fn sample_nodes(&mut self, world: &World) -> Vec<f64> {
        self.series.nodes_total = world.nodes.len();
        let n = world.nodes.len().min(MAX_NODE_SERIES);
        for node in &world.nodes[self.series.nodes.len()..n] {
            self.series.nodes.push(node.name.clone());
        }
        world.nodes[..n]
            .iter()
            .map(|node| {
                if node.deleted {
                    0.0
                } else {
                    round6(ratio(node.requested.milli_cpu, node.allocatable.milli_cpu))
                }
            })
            .collect()
    }

    pub fn allocation(&self) -> Allocation {
        if self.used_time == 0 {
            return Allocation::default();
        }
        let t = self.used_time as f64;
        Allocation {
            cpu: round6(self.cpu_integral / t),
            memory: round6(self.mem_integral / t),
        }
    }
}

fn workload_label(kind: &str, meta: &Meta) -> String {
    format!("{kind}/{}/{}", meta.namespace, meta.name)
}

fn ratio(a: i64, b: i64) -> f64 {
    if b <= 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Round for reports, so that floating-point noise never reaches a golden file.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Live pods not bound to any node.
pub fn pending_unbound(world: &World) -> usize {
    world.tallies.unbound
}

/// A valid lower bound on the number of nodes needed to hold `pods` (requests),
/// given the cluster's nodes: never above the optimum. It is the largest of
/// (a) per resource, the fewest nodes whose allocatable (largest first) covers
///     the summed requests; and
/// (b) per resource, the number of pods that need more than half of the largest
///     node's allocatable of that resource: no two of them can share a node.
pub fn lower_bound_nodes(pods: &[&Resources], nodes: &[&Resources]) -> u64 {
    if pods.is_empty() {
        return 0;
    }
    type Get = fn(&Resources) -> i64;
    let getters: [Get; 4] = [
        |r| r.milli_cpu,
        |r| r.memory,
        |r| r.ephemeral_storage,
        |r| r.pods,
    ];
    let mut best = 1u64;
    for get in getters {
        let total: i64 = pods.iter().map(|p| get(p)).sum();
        let mut caps: Vec<i64> = nodes.iter().map(|n| get(n)).collect();
        caps.sort_unstable_by(|a, b| b.cmp(a));
        let mut covered = 0i64;
        let mut k = 0u64;
        for c in &caps {
            if covered >= total {
                break;
            }
            covered += c;
            k += 1;
        }
        best = best.max(k);
        if let Some(&max_cap) = caps.first() {
            let big = pods.iter().filter(|p| 2 * get(p) > max_cap).count() as u64;
            best = best.max(big);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cpu: i64, mem: i64) -> Resources {
        Resources {
            milli_cpu: cpu,
            memory: mem,
            pods: 1,
            ..Default::default()
        }
    }

    #[test]
    fn lower_bound_counts_sizes_and_pods_that_cannot_share() {
        let node = Resources {
            milli_cpu: 4000,
            memory: 16,
            pods: 110,
            ..Default::default()
        };
        let nodes = vec![&node; 10];
        // Sum of sizes: 3 × 2100m = 6300m → 2 nodes; but no two 2100m pods fit together on 4000m → 3.
        let p = r(2100, 1);
        assert_eq!(lower_bound_nodes(&[&p, &p, &p], &nodes), 3);
        // Small pods: 10 × 500m = 5000m → 2 nodes.
        let s = r(500, 1);
        assert_eq!(lower_bound_nodes(&[&s; 10], &nodes), 2);
        assert_eq!(lower_bound_nodes(&[], &nodes), 0);
    }

    #[test]
    fn workload_series_stop_at_the_cap_but_count_every_workload() {
        use crate::controllers::testutil::{add_job, spec_with_labels, test_world};
        let mut w = test_world();
        let spec = spec_with_labels(&mut w, &[("job", "x")]);
        for i in 0..MAX_WORKLOAD_SERIES + 50 {
            add_job(&mut w, &format!("job-{i}"), spec);
        }
        let mut rec = Recorder::default();
        rec.sample(&w, 0);
        rec.sample(&w, 1);
        assert_eq!(rec.series.workloads.len(), MAX_WORKLOAD_SERIES);
        assert_eq!(rec.series.workloads_total, MAX_WORKLOAD_SERIES + 50);
        assert!(
            rec.samples
                .iter()
                .all(|s| s.ready.len() == MAX_WORKLOAD_SERIES)
        );
        assert_eq!(rec.series.workloads[0], "job/default/job-0");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
    }
}
