//! The HorizontalPodAutoscaler controller: every sync period it reads the CPU
//! usage of the pods its target selects, computes the replicas that would
//! bring their average utilisation to the target, stabilises and rate-limits
//! that recommendation, and scales the target through its scale subresource.
//!
//! Follows pkg/controller/podautoscaler/horizontal.go (`reconcileAutoscaler`,
//! `computeReplicasForMetrics`, `normalizeDesiredReplicas[WithBehaviors]`,
//! `stabilizeRecommendation[WithBehaviors]`, `convertDesiredReplicasWithRules`,
//! `convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimit[WithScalingRules]`,
//! `calculateScaleDownLimitWithBehaviors`, `storeScaleEvent`, `setStatus`),
//! replica_calculator.go (`GetResourceReplicas`, `groupPods`, `Tolerances`)
//! and metrics/utilization.go (`GetResourceUtilizationRatio`) (v1.35), with
//! kube-controller-manager's defaults (pkg/controller/podautoscaler/config/
//! v1alpha1/defaults.go). The arithmetic is upstream's, floats included.
//!
//! Like upstream, the controller keeps in memory (not in the API object) the
//! recommendations of the stabilisation window and the recent scale events;
//! the run loop owns it and calls [`HpaController::sync`] every
//! [`SYNC_PERIOD`] from the HPA's creation (its work queue re-adds a key
//! after the resync period, `NewDefaultHPARateLimiter`).
//!
//! Simplified (see ARCHITECTURE.md):
//! - only a `Resource` metric on `cpu` with a `Utilization` target is
//!   computed; other metrics are ignored (listed in a load note);
//! - metrics-server is ideal: a Running pod on a node that is up and reaches
//!   the control plane has a fresh sample (timestamp = the sync, window
//!   [`METRIC_RESOLUTION`]) once its container has run for one window;
//!   its value is [`CpuSource`]'s, rounded up to millicores as `MilliValue`;
//! - a pod's cpu request is its effective request as the scheduler counts it
//!   (a pod whose request is 0 makes the metric fail, as a container without a
//!   cpu request does upstream); status.startTime is the binding time;
//! - a sample or a scale event counts while strictly younger than its window
//!   or period. Upstream's legacy stabilisation also keeps a sample exactly
//!   one window old (`Before(cutoff)`); its syncs are 15 s plus processing
//!   time apart, so that sample is always just older, which `<` reproduces
//!   on the simulator's exact grid.

use crate::controllers::{self, ControllerRef};
use crate::engine::{SECOND, Time};
use crate::metrics::{HpaConditionReport, HpaReport, HpaScaleEvent};
use crate::model::labels::LabelSelector;
use crate::model::*;

/// `--horizontal-pod-autoscaler-sync-period`.
pub const SYNC_PERIOD: Time = 15 * SECOND;
/// `--horizontal-pod-autoscaler-tolerance`.
pub const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-downscale-stabilization`.
pub const DOWNSCALE_STABILIZATION: Time = 300 * SECOND;
/// `--horizontal-pod-autoscaler-cpu-initialization-period`.
pub const CPU_INITIALIZATION_PERIOD: Time = 300 * SECOND;
/// `--horizontal-pod-autoscaler-initial-readiness-delay`.
pub const INITIAL_READINESS_DELAY: Time = 30 * SECOND;
/// metrics-server's `--metric-resolution`: how often it scrapes, and the
/// window over which a CPU sample is a rate.
pub const METRIC_RESOLUTION: Time = 15 * SECOND;
/// `scaleUpLimitFactor`, `scaleUpLimitMinimum` (horizontal.go).
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;
/// How the CPU metric is named in events and conditions.
const CPU_METRIC: &str = "cpu resource utilization (percentage of request)";

const ABLE_TO_SCALE: &str = "AbleToScale";
const SCALING_ACTIVE: &str = "ScalingActive";
const SCALING_LIMITED: &str = "ScalingLimited";

/// The resource metrics API's source: a pod's CPU usage in nanocores now,
/// or `None` when the simulator has no CPU model for the pod.
pub trait CpuSource {
    fn cpu_nanos(&self, world: &World, pod: PodId) -> Option<i64>;
}

/// `Tolerances` (replica_calculator.go): no scaling while the usage ratio is
/// within [1 − scaleDown, 1 + scaleUp].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    pub scale_down: f64,
    pub scale_up: f64,
}

impl Tolerances {
    pub const DEFAULT: Tolerances = Tolerances {
        scale_down: TOLERANCE,
        scale_up: TOLERANCE,
    };

    /// `isWithin`.
    pub fn is_within(self, usage_ratio: f64) -> bool {
        (1.0 - self.scale_down) <= usage_ratio && usage_ratio <= (1.0 + self.scale_up)
    }
}

/// A pod as `groupPods` and `calculateRequests` see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodView<'a> {
    pub name: &'a str,
    pub phase: PodPhase,
    /// metadata.deletionTimestamp is set.
    pub deleting: bool,
    /// The Ready condition's status.
    pub ready: bool,
    /// status.startTime.
    pub start: Option<Time>,
    /// The Ready condition's lastTransitionTime (`None`: set with startTime).
    pub ready_changed: Option<Time>,
    pub request_milli: i64,
    /// The metrics API's sample, in millicores, taken now over [`METRIC_RESOLUTION`].
    pub usage_milli: Option<i64>,
}

/// What `GetResourceReplicas` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    /// Average utilisation in percent of requests, over the pods with usable samples.
    pub utilization: i32,
    /// Their average usage, millicores.
    pub raw_average_milli: i64,
}

/// `GetResourceUtilizationRatio` (metrics/utilization.go) over `metrics`
/// (pod index, usage): utilisation is Σ usage × 100 / Σ requests in integers.
fn utilization_ratio(
    metrics: &[(usize, i64)],
    pods: &[PodView],
    target: i32,
) -> Result<(f64, i32, i64), String> {
    let (mut total, mut requests) = (0i64, 0i64);
    for &(i, v) in metrics {
        total += v;
        requests += pods[i].request_milli;
    }
    if requests == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = (total * 100 / requests) as i32;
    Ok((
        f64::from(utilization) / f64::from(target),
        utilization,
        total / metrics.len() as i64,
    ))
}

/// `GetResourceReplicas` (replica_calculator.go): the replicas that bring the
/// average CPU utilisation of `pods` to `target` percent, from `current`.
///
/// `groupPods` sets aside terminating and Failed pods (ignored), Pending pods
/// and, for CPU, pods still initialising or never Ready (unready), and pods
/// without a sample (missing). When nothing is unready or missing:
/// ceil(ratio × ready pods). Otherwise, missing pods count as using 100 % of
/// their request (or the target if higher) on a scale-down and 0 on a
/// scale-up, unready pods 0 on a scale-up; the ratio is recomputed and the
/// decision dropped if it flips direction or falls within the tolerance.
pub fn resource_replicas(
    pods: &[PodView],
    current: i32,
    target: i32,
    tolerances: Tolerances,
    now: Time,
) -> Result<Recommendation, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let mut ready_count = 0i64;
    let (mut unready, mut missing, mut metrics) = (Vec::new(), Vec::new(), Vec::new());
    for (i, p) in pods.iter().enumerate() {
        if p.deleting || p.phase == PodPhase::Failed {
            continue;
        }
        if p.phase == PodPhase::Pending {
            unready.push(i);
            continue;
        }
        let Some(usage) = p.usage_milli else {
            missing.push(i);
            continue;
        };
        let is_unready = match p.start {
            None => true,
            Some(start) => {
                let changed = p.ready_changed.unwrap_or(start);
                if start + CPU_INITIALIZATION_PERIOD > now {
                    // Unready, or no whole sample window since it turned Ready.
                    !p.ready || now < changed + METRIC_RESOLUTION
                } else {
                    // Unready and never Ready since it started.
                    !p.ready && start + INITIAL_READINESS_DELAY > changed
                }
            }
        };
        if is_unready {
            unready.push(i);
            continue;
        }
        ready_count += 1;
        metrics.push((i, usage));
    }
    if metrics.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    if let Some(p) = pods.iter().find(|p| p.request_milli == 0) {
        return Err(format!("missing request for cpu in Pod {}", p.name));
    }
    let (ratio, utilization, raw_average_milli) = utilization_ratio(&metrics, pods, target)?;
    let result = |replicas| {
        Ok(Recommendation {
            replicas,
            utilization,
            raw_average_milli,
        })
    };
    let scale_up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if tolerances.is_within(ratio) {
            return result(current);
        }
        return result((ratio * ready_count as f64).ceil() as i32);
    }
    if ratio < 1.0 {
        let fallback = i64::from(target.max(100));
        metrics.extend(
            missing
                .iter()
                .map(|&i| (i, pods[i].request_milli * fallback / 100)),
        );
    } else if ratio > 1.0 {
        metrics.extend(missing.iter().map(|&i| (i, 0)));
    }
    if scale_up_with_unready {
        metrics.extend(unready.iter().map(|&i| (i, 0)));
    }
    let (new_ratio, _, _) = utilization_ratio(&metrics, pods, target)?;
    if tolerances.is_within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return result(current);
    }
    let new_replicas = (new_ratio * metrics.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && new_replicas > current) || (new_ratio > 1.0 && new_replicas < current) {
        return result(current);
    }
    result(new_replicas)
}

/// A past scale event (`timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ScaleRecord {
    /// Replicas added (scale-up list) or removed (scale-down list).
    change: i32,
    at: Time,
    outdated: bool,
}

/// What the controller remembers of one HPA.
#[derive(Clone, Debug, Default)]
struct Memory {
    /// Unstabilised recommendations (`timestampedRecommendation`).
    recommendations: Vec<(Time, i32)>,
    scale_up_events: Vec<ScaleRecord>,
    scale_down_events: Vec<ScaleRecord>,
    /// The last sync left a change for a later one (held by the
    /// stabilisation window or a rate limit).
    pending: bool,
    /// Something may have changed since the last sync.
    stale: bool,
}

/// A rescale, as upstream's SuccessfulRescale event reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rescale {
    pub hpa: HpaId,
    pub at: Time,
    pub from: i32,
    pub to: i32,
    pub reason: String,
}

/// `NormalizationArg`.
struct Normalization<'a> {
    behavior: Option<&'a HpaBehavior>,
    min: i32,
    max: i32,
    current: i32,
    desired: i32,
}

pub struct HpaController {
    /// HPAConfigurableTolerance (KEP-4951): beta, on by default, from v1.35.
    configurable_tolerance: bool,
    memory: Vec<Memory>,
    /// Every rescale in order, for the report.
    pub log: Vec<Rescale>,
}

impl HpaController {
    pub fn new(world: &World, version: KubeVersion) -> HpaController {
        HpaController {
            configurable_tolerance: version.at_least(35),
            memory: vec![
                Memory {
                    stale: true,
                    ..Memory::default()
                };
                world.hpas.len()
            ],
            log: Vec::new(),
        }
    }

    /// Every HPA has synced since the World last changed and holds back no
    /// change for a later sync: nothing is left for it to do.
    pub fn settled(&self) -> bool {
        self.memory.iter().all(|m| !m.pending && !m.stale)
    }

    /// The World changed (an event other than periodic work ran).
    pub fn invalidate(&mut self) {
        for m in &mut self.memory {
            m.stale = true;
        }
    }

    /// The tolerances of one HPA: the flag's, or `behavior.*.tolerance`.
    pub fn tolerances(&self, hpa: &Hpa) -> Tolerances {
        let mut t = Tolerances::DEFAULT;
        if let (true, Some(b)) = (self.configurable_tolerance, &hpa.behavior) {
            t.scale_down = b.scale_down.tolerance.unwrap_or(t.scale_down);
            t.scale_up = b.scale_up.tolerance.unwrap_or(t.scale_up);
        }
        t
    }

    /// `reconcileAutoscaler` for HPA `h` at `now`. Returns the controller to
    /// wake when the target was scaled.
    pub fn sync(
        &mut self,
        world: &mut World,
        h: HpaId,
        cpu: &dyn CpuSource,
        now: Time,
    ) -> Option<ControllerRef> {
        self.memory[h.idx()].stale = false;
        let hpa = &world.hpas[h.idx()];
        let mut status = hpa.status.clone();
        let Some(target) = hpa.target else {
            let message = format!(
                "the HPA controller was unable to get the target's current scale: {}/{} is not a workload in the simulation",
                hpa.target_kind, hpa.target_name
            );
            set_condition(&mut status, ABLE_TO_SCALE, false, "FailedGetScale", message);
            world.hpas[h.idx()].status = status;
            return None;
        };
        set_condition(
            &mut status,
            ABLE_TO_SCALE,
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".into(),
        );
        let (current, selector) = world.scale(target);
        let tolerances = self.tolerances(hpa);
        let mem = &mut self.memory[h.idx()];
        if mem.recommendations.is_empty() {
            mem.recommendations.push((now, current));
        }
        let (min, max) = (hpa.min_replicas, hpa.max_replicas);
        let mut desired = 0;
        let mut reason = String::new();
        let mut rescale = true;
        let mut wanted = None;
        let mut metric = None;
        if current == 0 && min != 0 {
            rescale = false;
            set_condition(
                &mut status,
                SCALING_ACTIVE,
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".into(),
            );
        } else if current > max {
            reason = "Current number of replicas above Spec.MaxReplicas".into();
            desired = max;
        } else if current < min {
            reason = "Current number of replicas below Spec.MinReplicas".into();
            desired = min;
        } else {
            let computed = match hpa.target_cpu_utilization {
                None => Err(format!(
                    "the simulator has no values for metrics {}",
                    hpa.unsimulated_metrics.join(", ")
                )),
                Some(target_utilization) => {
                    let (pods, modelled) =
                        pod_views(world, &hpa.meta.namespace, selector, cpu, now);
                    resource_replicas(&pods, current, target_utilization, tolerances, now).map_err(
                        |e| {
                            let hint = if modelled || pods.is_empty() {
                                ""
                            } else {
                                NO_CPU_MODEL
                            };
                            format!(
                                "the HPA was unable to compute the replica count: failed to get cpu utilization: {e}{hint}"
                            )
                        },
                    )
                }
            };
            let rec = match computed {
                Ok(rec) => rec,
                Err(message) => {
                    // setCurrentReplicasAndMetricsInStatus: no metric status.
                    set_condition(
                        &mut status,
                        SCALING_ACTIVE,
                        false,
                        "FailedGetResourceMetric",
                        message,
                    );
                    status.current_replicas = current;
                    status.current_cpu_utilization = None;
                    status.current_cpu_average_milli = None;
                    mem.pending = false;
                    world.hpas[h.idx()].status = status;
                    return None;
                }
            };
            set_condition(
                &mut status,
                SCALING_ACTIVE,
                true,
                "ValidMetricFound",
                format!(
                    "the HPA was able to successfully calculate a replica count from {CPU_METRIC}"
                ),
            );
            metric = Some(rec);
            let mut rescale_metric = "";
            if rec.replicas > desired {
                desired = rec.replicas;
                rescale_metric = CPU_METRIC;
            }
            if desired > current {
                reason = format!("{rescale_metric} above target");
            }
            if desired < current {
                reason = "All metrics below target".into();
            }
            wanted = Some(desired.max(min).min(max));
            let args = Normalization {
                behavior: hpa.behavior.as_ref(),
                min,
                max,
                current,
                desired,
            };
            desired = normalize(mem, &mut status, &args, now);
            rescale = desired != current;
        }
        let behavior = hpa.behavior.clone();
        let woken = if rescale {
            store_scale_event(mem, behavior.as_ref(), now, current, desired);
            set_condition(
                &mut status,
                ABLE_TO_SCALE,
                true,
                "SucceededRescale",
                format!("the HPA controller was able to update the target scale to {desired}"),
            );
            status.last_scale_time = Some(now);
            self.log.push(Rescale {
                hpa: h,
                at: now,
                from: current,
                to: desired,
                reason,
            });
            Some(controllers::scale(world, target, desired))
        } else {
            desired = current;
            None
        };
        mem.pending = wanted.is_some_and(|w| {
            let disabled = |r: &HpaScalingRules| r.select_policy == SelectPolicy::Disabled;
            w != desired
                && !behavior.as_ref().is_some_and(|b| {
                    disabled(if w > desired {
                        &b.scale_up
                    } else {
                        &b.scale_down
                    })
                })
        });
        status.current_replicas = current;
        status.desired_replicas = desired;
        status.current_cpu_utilization = metric.map(|m| m.utilization);
        status.current_cpu_average_milli = metric.map(|m| m.raw_average_milli);
        world.hpas[h.idx()].status = status;
        woken
    }

    /// Every HPA as `kubectl get hpa` and `describe hpa` show it, with its rescales.
    pub fn report(&self, world: &World) -> Vec<HpaReport> {
        world
            .hpas
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let s = &h.status;
                HpaReport {
                    namespace: h.meta.namespace.clone(),
                    name: h.meta.name.clone(),
                    reference: format!("{}/{}", h.target_kind, h.target_name),
                    target_cpu_utilization: h.target_cpu_utilization.map(i64::from),
                    current_cpu_utilization: s.current_cpu_utilization.map(i64::from),
                    min_replicas: i64::from(h.min_replicas),
                    max_replicas: i64::from(h.max_replicas),
                    current_replicas: i64::from(s.current_replicas),
                    desired_replicas: i64::from(s.desired_replicas),
                    last_scale_seconds: s.last_scale_time.map(crate::engine::seconds),
                    unsimulated_metrics: h.unsimulated_metrics.clone(),
                    conditions: s
                        .conditions
                        .iter()
                        .map(|c| HpaConditionReport {
                            condition_type: c.condition_type.to_string(),
                            status: if c.status { "True" } else { "False" }.to_string(),
                            reason: c.reason.to_string(),
                            message: c.message.clone(),
                        })
                        .collect(),
                    scale_events: self
                        .log
                        .iter()
                        .filter(|r| r.hpa.idx() == i)
                        .map(|r| HpaScaleEvent {
                            at_seconds: crate::engine::seconds(r.at),
                            from: i64::from(r.from),
                            to: i64::from(r.to),
                            reason: r.reason.clone(),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// Appended to a metric failure when the simulator has no CPU model for
/// any of the pods (see `network::cpu`).
const NO_CPU_MODEL: &str = " (kubesim has no CPU model for these pods: give their Service's spec.traffic entry a cpuPerRequest, or the pods a kubesim.dev/cpu-baseline annotation)";

/// The pods of the target's selector in the HPA's namespace (the pod
/// lister's view: every pod the API still has), with their samples; and
/// whether any of them has a CPU model.
fn pod_views<'w>(
    world: &'w World,
    namespace: &str,
    selector: &LabelSelector,
    cpu: &dyn CpuSource,
    now: Time,
) -> (Vec<PodView<'w>>, bool) {
    let mut modelled = false;
    let views = world
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            !p.deleted && p.namespace == namespace && selector.matches(&world.spec(p.spec).labels)
        })
        .map(|(i, p)| {
            let id = PodId(i as u32);
            modelled |= cpu.cpu_nanos(world, id).is_some();
            PodView {
                name: &p.name,
                phase: p.phase,
                deleting: p.deleting_since.is_some(),
                ready: p.ready,
                start: p.scheduled_at,
                ready_changed: p.ready_changed_at,
                request_milli: world.spec(p.spec).requests.milli_cpu,
                usage_milli: sample(world, id, cpu, now),
            }
        })
        .collect();
    (views, modelled)
}

/// metrics-server's sample of a pod's CPU, in millicores (rounded up, as
/// `Quantity.MilliValue`), if it has one.
fn sample(world: &World, pod: PodId, cpu: &dyn CpuSource, now: Time) -> Option<i64> {
    let p = world.pod(pod);
    if p.phase != PodPhase::Running {
        return None;
    }
    let node = world.node(p.node?);
    if !node.up || !node.reachable || p.started_at? + METRIC_RESOLUTION > now {
        return None;
    }
    let nanos = cpu.cpu_nanos(world, pod)?.max(0);
    Some((nanos + 999_999) / 1_000_000)
}

/// `setCondition`: set or add one condition.
fn set_condition(
    status: &mut HpaStatus,
    condition_type: &'static str,
    ok: bool,
    reason: &'static str,
    message: String,
) {
    let c = HpaCondition {
        condition_type,
        status: ok,
        reason,
        message,
    };
    match status
        .conditions
        .iter_mut()
        .find(|x| x.condition_type == condition_type)
    {
        Some(x) => *x = c,
        None => status.conditions.push(c),
    }
}

/// `normalizeDesiredReplicas` (no spec.behavior) or
/// `normalizeDesiredReplicasWithBehaviors`: stabilise, then limit.
fn normalize(mem: &mut Memory, status: &mut HpaStatus, args: &Normalization, now: Time) -> i32 {
    let (stabilized, reason, message) = match args.behavior {
        None => {
            let s = stabilize(&mut mem.recommendations, now, args.desired);
            (
                s,
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation",
            )
        }
        Some(b) => stabilize_with_behaviors(&mut mem.recommendations, now, b, args),
    };
    if stabilized != args.desired {
        set_condition(status, ABLE_TO_SCALE, true, reason, message.into());
    } else {
        set_condition(
            status,
            ABLE_TO_SCALE,
            true,
            "ReadyForNewScale",
            "recommended size matches current size".into(),
        );
    }
    let (desired, reason, message) = match args.behavior {
        None => convert_with_rules(args.current, stabilized, args.min, args.max),
        Some(b) => convert_with_behavior_rate(mem, now, b, args, stabilized),
    };
    set_condition(
        status,
        SCALING_LIMITED,
        desired != stabilized,
        reason,
        message.into(),
    );
    desired
}

/// `stabilizeRecommendation`: the highest recommendation of the downscale
/// stabilisation window, this one included; this one is recorded.
fn stabilize(recs: &mut Vec<(Time, i32)>, now: Time, desired: i32) -> i32 {
    let in_window = |t: Time| now - t < DOWNSCALE_STABILIZATION;
    let highest = recs
        .iter()
        .filter(|(t, _)| in_window(*t))
        .map(|&(_, r)| r)
        .fold(desired, i32::max);
    recs.retain(|(t, _)| in_window(*t));
    recs.push((now, desired));
    highest
}

/// `stabilizeRecommendationWithBehaviors`: not above the lowest
/// recommendation of the scale-up window nor below the highest of the
/// scale-down window (this one in both), moving from the current replicas.
fn stabilize_with_behaviors(
    recs: &mut Vec<(Time, i32)>,
    now: Time,
    b: &HpaBehavior,
    args: &Normalization,
) -> (i32, &'static str, &'static str) {
    let seconds = |s: i32| Time::from(s.max(0).unsigned_abs()) * SECOND;
    let up_window = seconds(b.scale_up.stabilization_window_seconds.unwrap_or(0));
    // maybeInitScaleDownStabilizationWindow: the flag's value when unset.
    let down_window = b
        .scale_down
        .stabilization_window_seconds
        .map_or(DOWNSCALE_STABILIZATION, seconds);
    let (mut up, mut down) = (args.desired, args.desired);
    for &(t, r) in recs.iter() {
        if now - t < up_window {
            up = up.min(r);
        }
        if now - t < down_window {
            down = down.max(r);
        }
    }
    let recommendation = args.current.max(up).min(down);
    recs.retain(|&(t, _)| now - t < up_window || now - t < down_window);
    recs.push((now, args.desired));
    if args.desired >= args.current {
        (
            recommendation,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    } else {
        (
            recommendation,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    }
}

/// `calculateScaleUpLimit`: at most double, and at least 4.
fn scale_up_limit(current: i32) -> i32 {
    (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32
}

/// `convertDesiredReplicasWithRules` (no spec.behavior).
fn convert_with_rules(
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
) -> (i32, &'static str, &'static str) {
    let limit = scale_up_limit(current);
    let (maximum, condition, reason) = if max > limit {
        (
            limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
        )
    } else {
        (
            max,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    };
    if desired < min {
        return (
            min,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        );
    }
    if desired > maximum {
        return (maximum, condition, reason);
    }
    (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
}

/// `convertDesiredReplicasWithBehaviorRate`: within [min, max] and the
/// policies' limits for the direction of the change.
fn convert_with_behavior_rate(
    mem: &Memory,
    now: Time,
    b: &HpaBehavior,
    args: &Normalization,
    desired: i32,
) -> (i32, &'static str, &'static str) {
    let current = args.current;
    if desired > current {
        let limit = scale_limit(
            current,
            &mem.scale_up_events,
            &mem.scale_down_events,
            &b.scale_up,
            now,
            true,
        )
        .max(current);
        let (maximum, reason, message) = if args.max > limit {
            (
                limit,
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        } else {
            (
                args.max,
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        };
        if desired > maximum {
            return (maximum, reason, message);
        }
    } else if desired < current {
        let limit = scale_limit(
            current,
            &mem.scale_up_events,
            &mem.scale_down_events,
            &b.scale_down,
            now,
            false,
        )
        .min(current);
        let (minimum, reason, message) = if args.min < limit {
            (
                limit,
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        } else {
            (
                args.min,
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        };
        if desired < minimum {
            return (minimum, reason, message);
        }
    }
    (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
}

/// `getReplicasChangePerPeriod`: replicas changed by events younger than the period.
fn change_in_period(period_seconds: i32, events: &[ScaleRecord], now: Time) -> i32 {
    let period = Time::from(period_seconds.max(0).unsigned_abs()) * SECOND;
    events
        .iter()
        .filter(|e| now - e.at < period)
        .map(|e| e.change)
        .sum()
}

/// `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`:
/// each policy's bound from the replicas at the start of its period, the
/// policies combined by `selectPolicy` (`Max` allows the largest change,
/// `Min` the smallest, `Disabled` none).
fn scale_limit(
    current: i32,
    up_events: &[ScaleRecord],
    down_events: &[ScaleRecord],
    rules: &HpaScalingRules,
    now: Time,
    scale_up: bool,
) -> i32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    let pick_highest = (rules.select_policy == SelectPolicy::Max) == scale_up;
    let mut result = if pick_highest { i32::MIN } else { i32::MAX };
    for p in &rules.policies {
        let added = change_in_period(p.period_seconds, up_events, now);
        let deleted = change_in_period(p.period_seconds, down_events, now);
        let start = current - added + deleted;
        let proposed = match (p.policy_type, scale_up) {
            (HpaPolicyType::Pods, true) => start + p.value,
            (HpaPolicyType::Pods, false) => start - p.value,
            // Rounded up, or a small target would never grow.
            (HpaPolicyType::Percent, true) => {
                (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
            }
            (HpaPolicyType::Percent, false) => {
                (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32
            }
        };
        result = if pick_highest {
            result.max(proposed)
        } else {
            result.min(proposed)
        };
    }
    result
}

/// `storeScaleEvent` (only with spec.behavior): events older than the
/// direction's longest policy period are outdated (`markScaleEventsOutdated`)
/// and the last of them is reused.
fn store_scale_event(
    mem: &mut Memory,
    behavior: Option<&HpaBehavior>,
    now: Time,
    prev: i32,
    new: i32,
) {
    let Some(b) = behavior else { return };
    let (rules, events, change) = if new > prev {
        (&b.scale_up, &mut mem.scale_up_events, new - prev)
    } else {
        (&b.scale_down, &mut mem.scale_down_events, prev - new)
    };
    let longest = rules
        .policies
        .iter()
        .map(|p| p.period_seconds)
        .max()
        .unwrap_or(0);
    let longest = Time::from(longest.max(0).unsigned_abs()) * SECOND;
    for e in events.iter_mut() {
        if now - e.at > longest {
            e.outdated = true;
        }
    }
    let record = ScaleRecord {
        change,
        at: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = record,
        None => events.push(record),
    }
}

#[cfg(test)]
mod tests;
