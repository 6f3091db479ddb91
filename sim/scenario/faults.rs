//! The failure-and-traffic parts of a scenario: `spec.controllers` (node
//! lifecycle timings), `spec.network` (latencies, kube-proxy delay, traffic
//! model), `spec.traffic`, a pool's `failureRate`, and the failure actions of
//! `spec.events` (`failNode`, `recoverNode`, `failZone`, `recoverZone`,
//! `partition`, `killPod`, `crashPod`, `setTraffic`).
//!
//! Raw serde structs first (strict: unknown fields are errors with a
//! did-you-mean hint), then validated typed values, as in `scenario/mod.rs`.

use serde::Deserialize;
use serde_json::Value;

use crate::engine::{MICROSECOND, MILLISECOND, SECOND, Time};
use crate::error::InputError;
use crate::model::duration::parse_duration;
use crate::model::{KubeVersion, NodeId, ServiceId, World};
use crate::scenario::yaml::Document;
use crate::scenario::{RawEvent, ScaleTarget, resolve_target};

// ---------------------------------------------------------------------------
// Typed values

/// Node lifecycle controller and admission settings (`spec.controllers`).
/// Defaults are kube-controller-manager's and kube-apiserver's
/// (pkg/controller/nodelifecycle/config/v1alpha1/defaults.go,
/// plugin/pkg/admission/defaulttolerationseconds/admission.go).
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerSettings {
    /// `--node-monitor-period`.
    pub node_monitor_period: Time,
    /// `--node-monitor-grace-period`; `None`: the default of the simulated
    /// release (see [`ControllerSettings::grace_period`]).
    pub node_monitor_grace_period: Option<Time>,
    /// `--node-startup-grace-period`.
    pub node_startup_grace_period: Time,
    /// `--node-eviction-rate` (nodes per second, per zone).
    pub node_eviction_rate: f64,
    /// `--secondary-node-eviction-rate`.
    pub secondary_node_eviction_rate: f64,
    /// `--unhealthy-zone-threshold`.
    pub unhealthy_zone_threshold: f32,
    /// `--large-cluster-size-threshold`.
    pub large_cluster_size_threshold: u32,
    /// kube-apiserver `--default-not-ready-toleration-seconds`.
    pub default_not_ready_toleration_seconds: i64,
    /// kube-apiserver `--default-unreachable-toleration-seconds`.
    pub default_unreachable_toleration_seconds: i64,
}

impl Default for ControllerSettings {
    fn default() -> Self {
        ControllerSettings {
            node_monitor_period: 5 * SECOND,
            node_monitor_grace_period: None,
            node_startup_grace_period: 60 * SECOND,
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            unhealthy_zone_threshold: 0.55,
            large_cluster_size_threshold: 50,
            default_not_ready_toleration_seconds: 300,
            default_unreachable_toleration_seconds: 300,
        }
    }
}

impl ControllerSettings {
    /// `--node-monitor-grace-period`: 50 s from v1.32 (kubernetes/kubernetes
    /// PR #126287 raised it from 40 s so that it exceeds the kubelet's
    /// 40 s lease duration by more than one renewal), 40 s before.
    pub fn grace_period(&self, version: KubeVersion) -> Time {
        self.node_monitor_grace_period
            .unwrap_or(if version.at_least(32) {
                50 * SECOND
            } else {
                40 * SECOND
            })
    }
}

/// How Service traffic is simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficModel {
    /// One event per request (Poisson arrivals): exact, costs events.
    Requests,
    /// Rates integrated between state changes: cheap, no per-request noise.
    Fluid,
}

/// `spec.network`: the topology's latencies and kube-proxy's propagation delay.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSettings {
    /// One-way latency between a client and a node in the same zone.
    pub intra_zone_latency: Time,
    /// One-way latency added when a request crosses zones.
    pub cross_zone_latency: Time,
    /// From an EndpointSlice change to kube-proxy's rules on every node
    /// (watch propagation plus iptables `minSyncPeriod` of 1 s).
    pub proxy_delay: Time,
    pub traffic_model: TrafficModel,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            intra_zone_latency: 250 * MICROSECOND,
            cross_zone_latency: MILLISECOND,
            proxy_delay: SECOND,
            traffic_model: TrafficModel::Requests,
        }
    }
}

/// A request rate in thousandths of a request per second (`200/s` → 200 000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(pub u64);

impl Rate {
    pub fn per_second(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}/s", self.0 / 1000)
        } else {
            write!(f, "{}/s", self.per_second())
        }
    }
}

/// Parse `200/s`, `1.5/s`, `600/m`, `3600/h` or a bare number (per second).
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let t = s.trim();
    let (num, per) = match t.split_once('/') {
        Some((n, u)) => {
            let per = match u.trim() {
                "s" => 1,
                "m" | "min" => 60,
                "h" => 3600,
                other => {
                    return Err(format!(
                        "invalid rate {s:?}: unknown unit {other:?} (use /s, /m or /h)"
                    ));
                }
            };
            (n.trim(), per)
        }
        None => (t, 1),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("invalid rate {s:?}: expected e.g. 200/s"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("invalid rate {s:?}: must be a non-negative number"));
    }
    let milli = (v * 1000.0 / f64::from(per)).round();
    if milli > 1e12 {
        return Err(format!("invalid rate {s:?}: too large"));
    }
    Ok(Rate(milli as u64))
}

/// One entry of `spec.traffic`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    pub service: ServiceId,
    /// `namespace/name`, for reports.
    pub service_key: String,
    pub rate: Rate,
    /// Requests per second one pod serves; above it requests fail.
    pub pod_capacity: Rate,
    /// Zones clients are in (evenly split); empty: every zone of the cluster.
    pub client_zones: Vec<String>,
    /// When the clients start sending.
    pub start: Time,
    /// Later rate changes (`schedule: [{at, rate}]`), in time order.
    pub schedule: Vec<(Time, Rate)>,
    /// CPU time one request costs the pod that serves it, in nanocores per
    /// request per second (`cpuPerRequest: 5m` → 5 000 000); 0: no CPU model.
    pub cpu_per_request_nanos: i64,
}

/// Time-to-failure distribution of a pool's nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeToFailure {
    Exponential { mean: Time },
    Weibull { scale: Time, shape: f64 },
}

/// A pool's `failureRate`: random node failures and their repair.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolFailures {
    pub pool: String,
    pub nodes: Vec<NodeId>,
    pub time_to_failure: TimeToFailure,
    pub repair: Time,
}

/// Which pod a `killPod`/`crashPod` event hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodTarget {
    /// A pod by name, looked up when the event fires (pods made by
    /// controllers do not exist at load).
    Named { namespace: String, name: String },
    /// One Running pod of a workload, drawn from the failure stream.
    Of(ScaleTarget),
}

// ---------------------------------------------------------------------------
// Raw serde structs

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawControllers {
    #[serde(default)]
    node_monitor_period: Option<String>,
    #[serde(default)]
    node_monitor_grace_period: Option<String>,
    #[serde(default)]
    node_startup_grace_period: Option<String>,
    #[serde(default)]
    node_eviction_rate: Option<f64>,
    #[serde(default)]
    secondary_node_eviction_rate: Option<f64>,
    #[serde(default)]
    unhealthy_zone_threshold: Option<f32>,
    #[serde(default)]
    large_cluster_size_threshold: Option<u32>,
    #[serde(default)]
    default_not_ready_toleration_seconds: Option<i64>,
    #[serde(default)]
    default_unreachable_toleration_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawNetwork {
    #[serde(default)]
    intra_zone_latency: Option<String>,
    #[serde(default)]
    cross_zone_latency: Option<String>,
    #[serde(default)]
    proxy_delay: Option<String>,
    #[serde(default)]
    traffic_model: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTraffic {
    service: String,
    rate: Value,
    pod_capacity: Value,
    #[serde(default)]
    client_zones: Vec<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    schedule: Vec<RawRateStep>,
    #[serde(default)]
    cpu_per_request: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateStep {
    at: String,
    rate: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFailureRate {
    #[serde(default)]
    distribution: Option<String>,
    mtbf: String,
    #[serde(default)]
    shape: Option<f64>,
    repair: String,
}

fn duration_at(doc: &Document, file: &str, path: &str, s: &str) -> Result<Time, InputError> {
    parse_duration(s).map_err(|m| {
        doc.error(file, path, m)
            .hint("durations are written as in Go: 90s, 5m, 1h30m")
    })
}

fn rate_value(doc: &Document, file: &str, path: &str, v: &Value) -> Result<Rate, InputError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    parse_rate(&text).map_err(|m| doc.error(file, path, m).hint("rates are written as 200/s"))
}

/// `cpuPerRequest`: a non-negative CPU quantity (`5m`, `0.005`, `500u`), in nanocores.
fn cpu_per_request(doc: &Document, file: &str, path: &str, v: &Value) -> Result<i64, InputError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let hint = "CPU time per request, as a CPU quantity: 5m is 5 ms of one core per request, so 100 requests/s use 500m";
    match crate::model::quantity::parse_quantity(&text) {
        Ok(q) if !q.is_negative() => Ok(i64::try_from(q.nanos()).unwrap_or(i64::MAX)),
        Ok(_) => Err(doc
            .error(
                file,
                path,
                format!("cpuPerRequest must not be negative, got {text:?}"),
            )
            .hint(hint)),
        Err(m) => Err(doc.error(file, path, m).hint(hint)),
    }
}

// ---------------------------------------------------------------------------
// Parsing

pub fn controllers(
    doc: &Document,
    file: &str,
    v: Option<&Value>,
) -> Result<ControllerSettings, Vec<InputError>> {
    let mut c = ControllerSettings::default();
    let Some(v) = v else { return Ok(c) };
    let raw: RawControllers = doc
        .deserialize_at(file, "spec.controllers", v)
        .map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mut dur = |f: &str, s: &Option<String>, out: &mut Time| {
        if let Some(s) = s {
            match duration_at(doc, file, &format!("spec.controllers.{f}"), s) {
                Ok(0) => errors.push(doc.error(
                    file,
                    &format!("spec.controllers.{f}"),
                    "must be positive",
                )),
                Ok(t) => *out = t,
                Err(e) => errors.push(e),
            }
        }
    };
    dur(
        "nodeMonitorPeriod",
        &raw.node_monitor_period,
        &mut c.node_monitor_period,
    );
    let mut grace = 0;
    dur(
        "nodeMonitorGracePeriod",
        &raw.node_monitor_grace_period,
        &mut grace,
    );
    if grace > 0 {
        c.node_monitor_grace_period = Some(grace);
    }
    dur(
        "nodeStartupGracePeriod",
        &raw.node_startup_grace_period,
        &mut c.node_startup_grace_period,
    );
    let mut rate = |f: &str, v: Option<f64>, out: &mut f64| {
        if let Some(r) = v {
            if r.is_finite() && r >= 0.0 {
                *out = r;
            } else {
                errors.push(doc.error(
                    file,
                    &format!("spec.controllers.{f}"),
                    "must be a non-negative number of nodes per second",
                ));
            }
        }
    };
    rate(
        "nodeEvictionRate",
        raw.node_eviction_rate,
        &mut c.node_eviction_rate,
    );
    rate(
        "secondaryNodeEvictionRate",
        raw.secondary_node_eviction_rate,
        &mut c.secondary_node_eviction_rate,
    );
    if let Some(t) = raw.unhealthy_zone_threshold {
        if (0.0..=1.0).contains(&t) {
            c.unhealthy_zone_threshold = t;
        } else {
            errors.push(doc.error(
                file,
                "spec.controllers.unhealthyZoneThreshold",
                "must be between 0 and 1",
            ));
        }
    }
    if let Some(n) = raw.large_cluster_size_threshold {
        c.large_cluster_size_threshold = n;
    }
    if let Some(s) = raw.default_not_ready_toleration_seconds {
        c.default_not_ready_toleration_seconds = s;
    }
    if let Some(s) = raw.default_unreachable_toleration_seconds {
        c.default_unreachable_toleration_seconds = s;
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors)
    }
}

pub fn network(
    doc: &Document,
    file: &str,
    v: Option<&Value>,
) -> Result<NetworkSettings, Vec<InputError>> {
    let mut n = NetworkSettings::default();
    let Some(v) = v else { return Ok(n) };
    let raw: RawNetwork = doc
        .deserialize_at(file, "spec.network", v)
        .map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    for (f, s, out) in [
        (
            "intraZoneLatency",
            &raw.intra_zone_latency,
            &mut n.intra_zone_latency,
        ),
        (
            "crossZoneLatency",
            &raw.cross_zone_latency,
            &mut n.cross_zone_latency,
        ),
        ("proxyDelay", &raw.proxy_delay, &mut n.proxy_delay),
    ] {
        if let Some(s) = s {
            match duration_at(doc, file, &format!("spec.network.{f}"), s) {
                Ok(t) => *out = t,
                Err(e) => errors.push(e),
            }
        }
    }
    match raw.traffic_model.as_deref() {
        None | Some("requests") => {}
        Some("fluid") => n.traffic_model = TrafficModel::Fluid,
        Some(other) => errors.push(
            doc.error(
                file,
                "spec.network.trafficModel",
                format!("unknown traffic model {other:?}"),
            )
            .hint("use `requests` (one event per request) or `fluid` (rates)"),
        ),
    }
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(errors)
    }
}

/// Resolve `[NAMESPACE/]NAME` to a Service.
fn resolve_service(world: &World, s: &str) -> Result<(ServiceId, String), String> {
    let (ns, name) = s.split_once('/').unwrap_or(("default", s));
    world
        .services
        .iter()
        .position(|svc| svc.meta.namespace == ns && svc.meta.name == name)
        .map(|i| (ServiceId(i as u32), format!("{ns}/{name}")))
        .ok_or_else(|| {
            let names: Vec<&str> = world
                .services
                .iter()
                .map(|s| s.meta.name.as_str())
                .collect();
            let hint = crate::error::did_you_mean(name, names)
                .map(|n| format!(" (did you mean {n}?)"))
                .unwrap_or_default();
            format!("no Service named {ns}/{name} in the scenario{hint}")
        })
}

fn zones_of(world: &World) -> Vec<String> {
    let mut z: Vec<String> = world
        .live_nodes()
        .filter_map(|(_, n)| n.zone().map(str::to_string))
        .collect();
    z.sort();
    z.dedup();
    z
}

pub fn traffic(
    world: &World,
    doc: &Document,
    file: &str,
    values: &[Value],
) -> Result<Vec<TrafficSpec>, Vec<InputError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let zones = zones_of(world);
    for (i, v) in values.iter().enumerate() {
        let at = |f: &str| format!("spec.traffic[{i}].{f}");
        let raw: RawTraffic = match doc.deserialize_at(file, &format!("spec.traffic[{i}]"), v) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let service =
            resolve_service(world, &raw.service).map_err(|m| doc.error(file, &at("service"), m));
        let rate = rate_value(doc, file, &at("rate"), &raw.rate);
        let cap = rate_value(doc, file, &at("podCapacity"), &raw.pod_capacity).and_then(|c| {
            if c.0 == 0 {
                Err(doc.error(file, &at("podCapacity"), "podCapacity must be positive"))
            } else {
                Ok(c)
            }
        });
        let start = match &raw.start {
            Some(s) => duration_at(doc, file, &at("start"), s),
            None => Ok(0),
        };
        for (j, z) in raw.client_zones.iter().enumerate() {
            if !zones.contains(z) {
                let mut e = doc.error(
                    file,
                    &format!("spec.traffic[{i}].clientZones[{j}]"),
                    format!("no node is in zone {z:?}"),
                );
                if let Some(s) = crate::error::did_you_mean(z, zones.iter().map(String::as_str)) {
                    e = e.hint(format!("did you mean `{s}`?"));
                }
                errors.push(e);
            }
        }
        let mut schedule = Vec::new();
        for (j, step) in raw.schedule.iter().enumerate() {
            let path = |f: &str| format!("spec.traffic[{i}].schedule[{j}].{f}");
            match (
                duration_at(doc, file, &path("at"), &step.at),
                rate_value(doc, file, &path("rate"), &step.rate),
            ) {
                (Ok(t), Ok(r)) => schedule.push((t, r)),
                (a, b) => {
                    errors.extend(a.err());
                    errors.extend(b.err());
                }
            }
        }
        schedule.sort_by_key(|s| s.0);
        let cpu = match &raw.cpu_per_request {
            None => Ok(0),
            Some(v) => cpu_per_request(doc, file, &at("cpuPerRequest"), v),
        };
        match (service, rate, cap, start, cpu) {
            (Ok((service, key)), Ok(rate), Ok(pod_capacity), Ok(start), Ok(cpu)) => {
                out.push(TrafficSpec {
                    service,
                    service_key: key,
                    rate,
                    pod_capacity,
                    client_zones: raw.client_zones.clone(),
                    start,
                    schedule,
                    cpu_per_request_nanos: cpu,
                })
            }
            (s, r, c, t, u) => {
                errors.extend(s.err());
                errors.extend(r.err());
                errors.extend(c.err());
                errors.extend(t.err());
                errors.extend(u.err());
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A pool's `failureRate: {distribution, mtbf, shape, repair}`.
pub fn failure_rate(
    doc: &Document,
    file: &str,
    path: &str,
    v: &Value,
) -> Result<(TimeToFailure, Time), Vec<InputError>> {
    let raw: RawFailureRate = doc.deserialize_at(file, path, v).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mtbf = match duration_at(doc, file, &format!("{path}.mtbf"), &raw.mtbf) {
        Ok(0) => {
            errors.push(doc.error(file, &format!("{path}.mtbf"), "mtbf must be positive"));
            0
        }
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            0
        }
    };
    let repair = duration_at(doc, file, &format!("{path}.repair"), &raw.repair)
        .map_err(|e| errors.push(e))
        .unwrap_or(0);
    let ttf = match raw.distribution.as_deref() {
        None | Some("exponential") => {
            if raw.shape.is_some() {
                errors.push(doc.error(
                    file,
                    &format!("{path}.shape"),
                    "shape applies to the weibull distribution only",
                ));
            }
            TimeToFailure::Exponential { mean: mtbf }
        }
        Some("weibull") => {
            let shape = raw.shape.unwrap_or(1.0);
            if !(shape.is_finite() && shape > 0.0) {
                errors.push(doc.error(
                    file,
                    &format!("{path}.shape"),
                    "shape must be a positive number",
                ));
            }
            // Mean of Weibull(scale λ, shape k) is λ·Γ(1 + 1/k).
            let scale = (mtbf as f64 / gamma(1.0 + 1.0 / shape.max(0.01))).round() as Time;
            TimeToFailure::Weibull { scale, shape }
        }
        Some(other) => {
            errors.push(
                doc.error(
                    file,
                    &format!("{path}.distribution"),
                    format!("unknown distribution {other:?}"),
                )
                .hint("use exponential or weibull"),
            );
            TimeToFailure::Exponential { mean: mtbf }
        }
    };
    if errors.is_empty() {
        Ok((ttf, repair))
    } else {
        Err(errors)
    }
}

/// Γ(x) for x > 0 by the Lanczos approximation (g = 7, n = 9), accurate to
/// about 15 digits: enough to turn a Weibull mean into its scale.
pub fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

/// The failure actions of `spec.events`, validated. Returns the action and its label.
pub(crate) fn event_action(
    world: &World,
    traffic: &[TrafficSpec],
    doc: &Document,
    file: &str,
    i: usize,
    ev: &RawEvent,
) -> Result<(super::Action, String), InputError> {
    use super::Action;
    let at = |f: &str| format!("spec.events[{i}].{f}");
    let for_ = match &ev.for_ {
        Some(s) => match duration_at(doc, file, &at("for"), s)? {
            0 => return Err(doc.error(file, &at("for"), "`for` must be positive")),
            t => Some(t),
        },
        None => None,
    };
    let node = |name: &str, path: &str| -> Result<NodeId, InputError> {
        world.node_by_name(name).ok_or_else(|| {
            let mut names: Vec<&str> = world.nodes.iter().map(|n| n.name.as_str()).collect();
            names.sort();
            let mut e = doc.error(file, path, format!("no node named {name:?}"));
            if let Some(s) = crate::error::did_you_mean(name, names) {
                e = e.hint(format!("did you mean `{s}`?"));
            }
            e
        })
    };
    let zone_nodes = |z: &str| -> Result<Vec<NodeId>, InputError> {
        let nodes: Vec<NodeId> = world
            .live_nodes()
            .filter(|(_, n)| n.zone() == Some(z))
            .map(|(id, _)| id)
            .collect();
        if nodes.is_empty() {
            let zones = zones_of(world);
            let mut e = doc.error(file, &at("zone"), format!("no node is in zone {z:?}"));
            if let Some(s) = crate::error::did_you_mean(z, zones.iter().map(String::as_str)) {
                e = e.hint(format!("did you mean `{s}`?"));
            }
            return Err(e);
        }
        Ok(nodes)
    };
    let nodes_field = || -> Result<Vec<NodeId>, InputError> {
        let mut v = Vec::new();
        if let Some(n) = &ev.node {
            v.push(node(n, &at("node"))?);
        }
        for (j, n) in ev.nodes.iter().enumerate() {
            v.push(node(n, &format!("spec.events[{i}].nodes[{j}]"))?);
        }
        if v.is_empty() {
            return Err(doc.error(
                file,
                &at("action"),
                format!("{} needs `node` or `nodes`", ev.action),
            ));
        }
        Ok(v)
    };
    let node_label = || {
        let mut names: Vec<String> = ev.node.iter().cloned().collect();
        names.extend(ev.nodes.iter().cloned());
        if names.len() > 4 {
            format!("{} and {} more", names[..3].join(","), names.len() - 3)
        } else {
            names.join(",")
        }
    };
    let suffix = for_
        .map(|t| format!(" for {}", crate::model::duration::format_duration(t)))
        .unwrap_or_default();
    let no_for = |what: &str| -> Result<(), InputError> {
        if for_.is_some() {
            return Err(doc.error(
                file,
                &at("for"),
                format!("{what} takes no `for`: it ends a failure"),
            ));
        }
        Ok(())
    };
    match ev.action.as_str() {
        "failNode" => Ok((
            Action::FailNodes {
                nodes: nodes_field()?,
                duration: for_,
            },
            format!("failNode {}{suffix}", node_label()),
        )),
        "recoverNode" => {
            no_for("recoverNode")?;
            Ok((
                Action::RecoverNodes {
                    nodes: nodes_field()?,
                },
                format!("recoverNode {}", node_label()),
            ))
        }
        "failZone" | "recoverZone" => {
            let z = ev.zone.as_deref().ok_or_else(|| {
                doc.error(file, &at("action"), format!("{} needs `zone`", ev.action))
            })?;
            let nodes = zone_nodes(z)?;
            if ev.action == "failZone" {
                Ok((
                    Action::FailNodes {
                        nodes,
                        duration: for_,
                    },
                    format!("failZone {z}{suffix}"),
                ))
            } else {
                no_for("recoverZone")?;
                Ok((Action::RecoverNodes { nodes }, format!("recoverZone {z}")))
            }
        }
        "partition" => {
            if let Some(z) = &ev.zone {
                if ev.node.is_some() || !ev.nodes.is_empty() {
                    return Err(doc.error(
                        file,
                        &at("zone"),
                        "partition takes either `zone` or `nodes`, not both",
                    ));
                }
                let nodes = zone_nodes(z)?;
                Ok((
                    Action::Partition {
                        nodes,
                        zone: Some(z.clone()),
                        duration: for_,
                    },
                    format!("partition zone {z}{suffix}"),
                ))
            } else {
                Ok((
                    Action::Partition {
                        nodes: nodes_field()?,
                        zone: None,
                        duration: for_,
                    },
                    format!("partition {}{suffix}", node_label()),
                ))
            }
        }
        "killPod" | "crashPod" => {
            let target = match (&ev.pod, &ev.target) {
                (Some(p), None) => {
                    let (ns, name) = p.split_once('/').unwrap_or(("default", p));
                    PodTarget::Named {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                    }
                }
                (None, Some(t)) => PodTarget::Of(
                    resolve_target(world, t).map_err(|m| doc.error(file, &at("target"), m))?,
                ),
                _ => {
                    return Err(doc
                        .error(
                            file,
                            &at("action"),
                            format!("{} needs either `pod` or `target`", ev.action),
                        )
                        .hint("`pod: NAMESPACE/NAME`, or `target: deployment/NAME` for one of its pods"));
                }
            };
            let what = ev.pod.clone().or(ev.target.clone()).unwrap_or_default();
            if ev.action == "killPod" {
                no_for("killPod")?;
                Ok((Action::KillPod { target }, format!("killPod {what}")))
            } else {
                Ok((
                    Action::CrashPod {
                        target,
                        duration: for_,
                    },
                    format!("crashPod {what}{suffix}"),
                ))
            }
        }
        "setTraffic" => {
            let svc = ev.service.as_deref().ok_or_else(|| {
                doc.error(file, &at("action"), "setTraffic needs `service` and `rate`")
            })?;
            let (id, key) =
                resolve_service(world, svc).map_err(|m| doc.error(file, &at("service"), m))?;
            let t = traffic
                .iter()
                .position(|t| t.service == id)
                .ok_or_else(|| {
                    doc.error(
                        file,
                        &at("service"),
                        format!("Service {key} has no entry in spec.traffic"),
                    )
                    .hint("list it under spec.traffic with its podCapacity first")
                })?;
            let rate_s = ev.rate.as_deref().ok_or_else(|| {
                doc.error(file, &at("action"), "setTraffic needs `rate` (e.g. 400/s)")
            })?;
            let rate = parse_rate(rate_s).map_err(|m| doc.error(file, &at("rate"), m))?;
            Ok((
                Action::SetTraffic { traffic: t, rate },
                format!("setTraffic {key} to {rate}"),
            ))
        }
        other => Err(doc.error(
            file,
            &at("action"),
            format!("action {other:?} is not supported yet"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_per_second_minute_hour() {
        assert_eq!(parse_rate("200/s"), Ok(Rate(200_000)));
        assert_eq!(parse_rate("1.5/s"), Ok(Rate(1500)));
        assert_eq!(parse_rate("600/m"), Ok(Rate(10_000)));
        assert_eq!(parse_rate("3600/h"), Ok(Rate(1000)));
        assert_eq!(parse_rate("50"), Ok(Rate(50_000)));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5/d").is_err());
        assert!(parse_rate("-1/s").is_err());
    }

    #[test]
    fn grace_period_follows_the_release() {
        let c = ControllerSettings::default();
        let v = |m| KubeVersion { major: 1, minor: m };
        assert_eq!(c.grace_period(v(31)), 40 * SECOND);
        assert_eq!(c.grace_period(v(32)), 50 * SECOND);
        assert_eq!(c.grace_period(v(37)), 50 * SECOND);
        let o = ControllerSettings {
            node_monitor_grace_period: Some(20 * SECOND),
            ..c
        };
        assert_eq!(o.grace_period(v(37)), 20 * SECOND);
    }

    #[test]
    fn gamma_matches_known_values() {
        // Γ(1) = 1, Γ(5) = 4! = 24, Γ(1.5) = √π/2.
        assert!((gamma(1.0) - 1.0).abs() < 1e-12);
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(1.5) - std::f64::consts::PI.sqrt() / 2.0).abs() < 1e-12);
    }
}
