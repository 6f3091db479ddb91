//! The run loop: the one place where events are given meaning. It pops the next
//! event, lets the component it belongs to act on the World, then hands every
//! resulting World change to the watchers (scheduler, controllers, kubelet,
//! recorder), which react by scheduling further events. Nothing else advances
//! time, and nothing else calls a component.

use crate::hash::HashMap;
use std::collections::{BTreeMap, BTreeSet};

use crate::arrivals::Arrivals;
use crate::controllers::hpa::{self, HpaController};
use crate::controllers::nodelifecycle::{LifecycleEvent, NodeLifecycle};
use crate::controllers::{self, ControllerRef, Ctx};
use crate::engine::{EventQueue, MILLISECOND, SECOND, SimRng, Time, rng_stream, seconds};
use crate::error::Error;
use crate::failures::{self, Recoveries};
use crate::kubelet::{self, KubeletAction, Leases};
use crate::metrics::*;
use crate::model::*;
use crate::network::Topology;
use crate::network::cpu::CpuUsage;
use crate::network::traffic::{Cause, Traffic};
use crate::scenario::{Action, PodTarget, ScaleTarget, Scenario, TrafficModel};
use crate::scheduler::{Outcome, Registry, Scheduler, explain::Explanation};

/// Delay between an object changing and a watching controller reconciling it
/// (informer propagation plus work-queue pickup). A documented simplification.
pub const WATCH_DELAY: Time = 10 * MILLISECOND;

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub scheduler: Option<String>,
    pub duration: Option<Time>,
    pub kubernetes_version: Option<KubeVersion>,
    pub check_invariants: bool,
    /// End early once nothing is left to happen but periodic work.
    pub until_stable: bool,
    /// Overrides `spec.network.trafficModel` (`--traffic-model`).
    pub traffic_model: Option<TrafficModel>,
    /// Scheduler plugins registered out of tree, which a KubeSchedulerConfiguration
    /// may enable by name (see `sim/scheduler/EXTENDING.md`).
    pub registry: Registry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Scenario(usize),
    Reconcile(ControllerRef),
    SchedulerWake,
    Kubelet {
        pod: PodId,
        generation: u32,
        action: KubeletAction,
    },
    Sample,
    /// The node lifecycle controller's periodic `monitorNodeHealth`.
    NodeMonitor,
    /// The node lifecycle controller serves its zones' NoExecute taint queues.
    TaintPass,
    /// The taint eviction controller processes a node whose taints changed.
    TaintEviction(NodeId),
    /// The HPA controller's periodic sync of one HorizontalPodAutoscaler.
    HpaSync(HpaId),
    /// A deletion the taint eviction controller scheduled is due.
    Evict {
        pod: PodId,
        token: u64,
    },
    /// A failure ends or a random failure starts/ends.
    Fault(Fault),
    /// A `spec.traffic` entry starts sending.
    TrafficStart(usize),
    /// Step `step` of a `spec.traffic` entry's rate schedule.
    TrafficRate {
        traffic: usize,
        step: usize,
    },
    /// One request of a `spec.traffic` entry (stale when `token` is old).
    Request {
        traffic: usize,
        token: u64,
    },
    /// kube-proxies program version `version` of a Service's endpoints.
    ProxySync {
        service: ServiceId,
        version: u32,
    },
    /// The next Job of `spec.jobArrivals[k]` arrives.
    JobArrival(usize),
}

/// Failure events the run schedules itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The `for` of scenario event i is over: its nodes recover.
    RecoverEvent(usize),
    /// The `for` of scenario event i (a partition) is over: it heals.
    HealEvent(usize),
    /// Random failure k (pool `failureRate`) starts / is repaired.
    RandomDown(usize),
    RandomUp(usize),
}

/// How long a crashing container runs before it exits again.
pub const CRASH_RUN_TIME: Time = SECOND;

/// Events that recur for ever and so do not keep `--until-stable` running.
fn is_periodic(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Sample
            | Event::SchedulerWake
            | Event::NodeMonitor
            | Event::Request { .. }
            | Event::HpaSync(_)
    )
}

struct Sim<'a> {
    scenario: &'a Scenario,
    world: World,
    queue: EventQueue<Event>,
    scheduler: Scheduler,
    recorder: Recorder,
    pending_reconcile: BTreeSet<ControllerRef>,
    /// The controllers' informer indexes.
    caches: controllers::Caches,
    scheduler_wake: Option<Time>,
    /// Events other than samples and scheduler wake-ups still in the queue.
    real_events: u64,
    reasons: HashMap<PodId, String>,
    failed_seen: BTreeSet<PodId>,
    requeue: Vec<(Time, ControllerRef)>,
    kubelet_out: Vec<(Time, PodId, u32, KubeletAction)>,
    watch_buf: Vec<ControllerRef>,
    /// The World's change log being delivered (a buffer kept between
    /// settles, swapped with `World::changes`, so that neither reallocates).
    change_buf: Vec<Change>,
    check_invariants: bool,
    lifecycle: NodeLifecycle,
    lifecycle_seen: usize,
    hpa: HpaController,
    leases: Leases,
    /// Per node: the kubelet is up and reaches the control plane.
    contact: Vec<bool>,
    /// Nodes that went down since their kubelet last had contact.
    rebooted: BTreeSet<NodeId>,
    topo: Topology,
    traffic: Traffic,
    traffic_last: Time,
    recoveries: Recoveries,
    /// Scenario event index → its recovery record.
    event_record: HashMap<usize, usize>,
    random: Vec<(Time, Time, NodeId)>,
    arrivals: Arrivals,
    /// Pods told to crash, until when (`None`: for ever).
    crashing: BTreeMap<PodId, Option<Time>>,
    failure_rng: SimRng,
    taint_pass_at: Option<Time>,
    /// Something changed since the fluid rates / recovery health were computed.
    dirty: bool,
    explain: Option<ExplainRequest>,
    explanation: Option<Explanation>,
}

/// `kubesim explain`: which pod, and when.
#[derive(Clone, Debug)]
pub struct ExplainRequest {
    pub namespace: String,
    pub name: String,
    /// Explain at this moment; `None`: at the pod's first scheduling attempt.
    pub at: Option<Time>,
}

/// Simulate a loaded scenario.
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<Report, Error> {
    run_with(scenario, opts, None, None).map(|(r, _)| r)
}

/// Events between two calls of a progress callback: often enough for a few
/// updates per wall-clock second at any realistic speed, rare enough to cost
/// nothing. The loop never reads the machine's clock itself.
pub const PROGRESS_EVERY: u64 = 1 << 10;

/// [`run`], calling `progress(now, end)` with the simulated time every
/// [`PROGRESS_EVERY`] events and once at the end (for a progress bar).
pub fn run_with_progress(
    scenario: &Scenario,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Time, Time),
) -> Result<Report, Error> {
    run_with(scenario, opts, None, Some(progress)).map(|(r, _)| r)
}

/// Simulate until the scheduler is about to place the requested pod (or until
/// `at`), and show how every node's filters and scores judge it then.
pub fn explain(
    scenario: &Scenario,
    opts: &RunOptions,
    req: ExplainRequest,
) -> Result<Explanation, Error> {
    let (report, explanation) = run_with(scenario, opts, Some(req.clone()), None)?;
    if let Some(e) = explanation {
        return Ok(e);
    }
    let pods: Vec<String> = report
        .pending
        .iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect();
    let key = format!("{}/{}", req.namespace, req.name);
    let hint = crate::error::did_you_mean(&key, pods.iter().map(String::as_str))
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default();
    Err(Error::Usage(match req.at {
        Some(t) => format!(
            "pod {key} is not waiting to be scheduled at {}{hint}: it does not exist yet, or is already bound; try another --at",
            crate::model::duration::format_duration(t)
        ),
        None => format!("pod {key} is never scheduled in this run{hint}"),
    }))
}

fn run_with(
    scenario: &Scenario,
    opts: &RunOptions,
    explain: Option<ExplainRequest>,
    mut progress: Option<&mut dyn FnMut(Time, Time)>,
) -> Result<(Report, Option<Explanation>), Error> {
    let wall = std::time::Instant::now();
    let seed = opts.seed.unwrap_or(scenario.seed);
    let duration = opts.duration.unwrap_or(scenario.duration);
    let version = opts
        .kubernetes_version
        .unwrap_or(scenario.kubernetes_version);
    let sched_spec = opts
        .scheduler
        .clone()
        .unwrap_or_else(|| scenario.scheduler.clone());
    let scheduler = Scheduler::with_registry(
        &sched_spec,
        &scenario.base_dir,
        version,
        seed,
        &opts.registry,
    )?;
    let topo = Topology::new(&scenario.world, &scenario.network);
    let model = opts.traffic_model.unwrap_or(scenario.network.traffic_model);
    let traffic = Traffic::new(&scenario.traffic, model, &topo, seed);
    let random = scenario
        .pool_failures
        .iter()
        .flat_map(|pf| failures::random_failures(pf, seed, duration))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut sim = Sim {
        scenario,
        world: scenario.world.clone(),
        queue: EventQueue::new(),
        scheduler,
        recorder: Recorder::default(),
        pending_reconcile: BTreeSet::new(),
        caches: controllers::Caches::default(),
        scheduler_wake: None,
        real_events: 0,
        reasons: HashMap::default(),
        failed_seen: BTreeSet::new(),
        requeue: Vec::new(),
        kubelet_out: Vec::new(),
        watch_buf: Vec::new(),
        change_buf: Vec::new(),
        check_invariants: opts.check_invariants,
        lifecycle: NodeLifecycle::new(&scenario.controllers, version, &scenario.world)
            .verified(opts.check_invariants),
        lifecycle_seen: 0,
        hpa: HpaController::new(&scenario.world, version),
        leases: Leases::new(&scenario.world, &mut rng_stream(seed, "kubelet/lease")),
        contact: scenario
            .world
            .nodes
            .iter()
            .map(|n| n.up && n.reachable)
            .collect(),
        rebooted: BTreeSet::new(),
        topo,
        traffic,
        traffic_last: 0,
        recoveries: Recoveries::verified(opts.check_invariants),
        event_record: HashMap::default(),
        random,
        arrivals: Arrivals::new(&scenario.job_arrivals, &scenario.world, seed),
        crashing: BTreeMap::new(),
        failure_rng: rng_stream(seed, "failures"),
        taint_pass_at: None,
        dirty: true,
        explain,
        explanation: None,
    };
    let duration = match &sim.explain {
        Some(ExplainRequest { at: Some(at), .. }) => (*at).min(duration),
        _ => duration,
    };
    for (i, &c) in sim.contact.iter().enumerate() {
        if !c {
            sim.recoveries.contact_changed(NodeId(i as u32), false);
        }
    }
    sim.start();
    let sample_every = sample_interval(duration);
    sim.queue.schedule(0, Event::Sample);
    let mut events: u64 = 0;
    let mut last_time = 0;
    while let Some(t) = sim.queue.peek_time() {
        if t > duration {
            break;
        }
        let (t, ev) = sim.queue.pop().expect("peeked");
        if t < last_time {
            return Err(Error::Internal(format!(
                "simulated time went backwards: {t} < {last_time}"
            )));
        }
        last_time = t;
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY)
            && let Some(p) = progress.as_mut()
        {
            p(t, duration);
        }
        sim.recorder.advance(&sim.world, t);
        if !is_periodic(&ev) {
            sim.real_events -= 1;
            sim.hpa.invalidate();
        }
        if sim.traffic.model == TrafficModel::Fluid && !sim.traffic.is_empty() {
            let since = sim.traffic_last;
            let failed = sim.traffic.advance(t);
            sim.recoveries.add_failed(since, failed);
            sim.traffic_last = t;
        }
        match ev {
            Event::Sample => {
                sim.recorder.sample(&sim.world, t);
                if t + sample_every <= duration {
                    sim.queue.schedule(t + sample_every, Event::Sample);
                }
            }
            other => sim.handle(other, t),
        }
        sim.settle(t);
        sim.after_event(t);
        if sim.check_invariants {
            if let Some(m) = sim
                .recoveries
                .violation
                .take()
                .or_else(|| sim.lifecycle.violation.take())
            {
                return Err(Error::Internal(format!(
                    "invariant violated at {:.6}s after {:?}: {m}",
                    seconds(t),
                    ev
                )));
            }
            sim.world.check_invariants().map_err(|m| {
                Error::Internal(format!(
                    "invariant violated at {:.6}s after {:?}: {m}",
                    seconds(t),
                    ev
                ))
            })?;
        }
        if sim.explanation.is_some() {
            break;
        }
        if opts.until_stable
            && sim.real_events == 0
            && sim.hpa.settled()
            && sim.scheduler.next_wakeup(t).is_none_or(|w| w > t)
        {
            last_time = t;
            break;
        }
    }
    let end = if opts.until_stable {
        last_time
    } else {
        duration
    };
    sim.recorder.advance(&sim.world, end);
    if sim.traffic.model == TrafficModel::Fluid && !sim.traffic.is_empty() {
        let since = sim.traffic_last;
        let failed = sim.traffic.advance(end);
        sim.recoveries.add_failed(since, failed);
    }
    if let Some(ExplainRequest {
        namespace,
        name,
        at: Some(at),
    }) = &sim.explain
        && sim.explanation.is_none()
        && let Some(pod) = sim.world.pod_by_name(namespace, name)
        && sim.world.pod(pod).node.is_none()
        && sim.world.pod(pod).deleting_since.is_none()
    {
        sim.explanation = Some(sim.scheduler.explain(&sim.world, pod, *at));
    }
    if let Some(p) = progress.as_mut() {
        p(end, duration);
    }
    let explanation = sim.explanation.take();
    let mut report = sim.report(seed, &sched_spec, version, end, events);
    report.wall_seconds = wall.elapsed().as_secs_f64();
    if report.wall_seconds > 0.0 {
        report.events_per_second = (events as f64 / report.wall_seconds).round();
        report.sim_to_wall_ratio = round6(report.simulated_seconds / report.wall_seconds);
    }
    Ok((report, explanation))
}

/// Samples for time series: about 500 per run, on whole seconds.
fn sample_interval(duration: Time) -> Time {
    ((duration / 500) / SECOND).max(1) * SECOND
}

impl Sim<'_> {
    fn schedule(&mut self, t: Time, ev: Event) {
        if !is_periodic(&ev) {
            self.real_events += 1;
        }
        self.queue.schedule(t, ev);
    }

    fn start(&mut self) {
        for (i, e) in self.scenario.events.iter().enumerate() {
            self.schedule(e.at, Event::Scenario(i));
        }
        self.schedule(0, Event::NodeMonitor);
        for h in 0..self.world.hpas.len() {
            self.schedule(hpa::SYNC_PERIOD, Event::HpaSync(HpaId(h as u32)));
        }
        for k in 0..self.random.len() {
            let (down, up, _) = self.random[k];
            self.schedule(down, Event::Fault(Fault::RandomDown(k)));
            self.schedule(up, Event::Fault(Fault::RandomUp(k)));
        }
        for k in 0..self.arrivals.specs.len() {
            if let Some(t) = self.arrivals.next(k, self.arrivals.specs[k].start) {
                self.schedule(t, Event::JobArrival(k));
            }
        }
        for i in 0..self.traffic.specs.len() {
            self.schedule(self.traffic.specs[i].start, Event::TrafficStart(i));
            for step in 0..self.traffic.specs[i].schedule.len() {
                let at = self.traffic.specs[i].schedule[step].0;
                self.schedule(at, Event::TrafficRate { traffic: i, step });
            }
        }
        let w = &self.world;
        let mut refs: Vec<ControllerRef> = Vec::new();
        refs.extend(
            (0..w.deployments.len()).map(|i| ControllerRef::Deployment(DeploymentId(i as u32))),
        );
        refs.extend(
            (0..w.replicasets.len()).map(|i| ControllerRef::ReplicaSet(ReplicaSetId(i as u32))),
        );
        refs.extend(
            (0..w.statefulsets.len()).map(|i| ControllerRef::StatefulSet(StatefulSetId(i as u32))),
        );
        refs.extend(
            (0..w.daemonsets.len()).map(|i| ControllerRef::DaemonSet(DaemonSetId(i as u32))),
        );
        refs.extend((0..w.jobs.len()).map(|i| ControllerRef::Job(JobId(i as u32))));
        refs.extend((0..w.services.len()).map(|i| ControllerRef::Endpoints(ServiceId(i as u32))));
        for r in refs {
            self.pending_reconcile.insert(r);
            self.schedule(0, Event::Reconcile(r));
        }
        // Pods present at load (bare pods, existing state) enter the scheduler's queue.
        let initial: Vec<Change> = (0..self.world.pods.len())
            .map(|i| Change::PodAdded(PodId(i as u32)))
            .collect();
        self.recorder.created += initial.len() as u64;
        self.world.changes.clear();
        for c in initial {
            self.scheduler.on_change(&self.world, c, 0);
        }
        self.settle(0);
    }

    fn handle(&mut self, ev: Event, now: Time) {
        match ev {
            Event::Scenario(i) => self.scenario_event(i, now),
            Event::Reconcile(r) => {
                self.pending_reconcile.remove(&r);
                let mut ctx = Ctx {
                    world: &mut self.world,
                    now,
                    requeue: &mut self.requeue,
                    caches: &mut self.caches,
                };
                controllers::reconcile(&mut ctx, r);
                if let ControllerRef::Endpoints(svc) = r
                    && let Some(version) = self.traffic.publish(&self.world, svc)
                {
                    let at = now + self.scenario.network.proxy_delay;
                    self.schedule(
                        at,
                        Event::ProxySync {
                            service: svc,
                            version,
                        },
                    );
                }
            }
            Event::SchedulerWake => {
                if self.scheduler_wake == Some(now) {
                    self.scheduler_wake = None;
                }
                self.schedule_pods(now);
            }
            Event::Kubelet {
                pod,
                generation,
                action,
            } => {
                let p = self.world.pod(pod);
                if p.deleted || p.generation != generation {
                    return;
                }
                let restarts = self.world.pod(pod).restarts;
                kubelet::apply(&mut self.world, pod, action, now, &mut self.kubelet_out);
                if action == KubeletAction::Crash && self.recoveries.any_open() {
                    let p = self.world.pod(pod);
                    let what = if p.restarts > restarts {
                        format!(
                            "{} crashed: CrashLoopBackOff, restart {} in {}",
                            p.name,
                            p.restarts,
                            crate::model::duration::format_duration(kubelet::crash_backoff(
                                p.restarts
                            ))
                        )
                    } else {
                        format!("{} exited: {}", p.name, p.phase.as_str())
                    };
                    self.recoveries.note_pod(pod, now, &what);
                }
                if action == KubeletAction::Start
                    && let Some(until) = self.crashing.get(&pod)
                {
                    if until.is_none_or(|u| now < u) {
                        let generation = self.world.pod(pod).generation;
                        self.kubelet_out.push((
                            now + CRASH_RUN_TIME,
                            pod,
                            generation,
                            KubeletAction::Crash,
                        ));
                    } else {
                        self.crashing.remove(&pod);
                    }
                }
            }
            Event::Sample => {}
            Event::NodeMonitor => {
                let f = self.lifecycle.monitor(&mut self.world, &self.leases, now);
                self.followups(f, now);
                let next = now + self.lifecycle.monitor_period();
                self.schedule(next, Event::NodeMonitor);
            }
            Event::TaintPass => {
                if self.taint_pass_at == Some(now) {
                    self.taint_pass_at = None;
                }
                let f = self.lifecycle.taint_pass(&mut self.world, now);
                self.followups(f, now);
            }
            Event::TaintEviction(node) => {
                let f = self.lifecycle.taint_eviction(&self.world, node, now);
                self.followups(f, now);
            }
            Event::HpaSync(h) => {
                let marked = &self.lifecycle.marked_not_ready;
                let world = &self.world;
                let serving = |p: PodId| serving(world, marked, p);
                let cpu = CpuUsage::new(&self.traffic, world, &self.topo, &serving, now);
                if let Some(r) = self.hpa.sync(&mut self.world, h, &cpu, now) {
                    // Desired replicas changed: open failures re-check health.
                    self.recoveries.everything_changed();
                    self.wake(r);
                }
                self.schedule(now + hpa::SYNC_PERIOD, Event::HpaSync(h));
            }
            Event::Evict { pod, token } => {
                self.lifecycle.evict(&mut self.world, pod, token, now);
            }
            Event::Fault(f) => self.fault(f, now),
            Event::TrafficStart(i) => {
                if self.traffic.model == TrafficModel::Requests
                    && let Some(t) = self.traffic.next_arrival(i, now)
                {
                    let token = self.traffic.arrival_token[i];
                    self.schedule(t, Event::Request { traffic: i, token });
                }
            }
            Event::TrafficRate { traffic, step } => {
                let rate = self.traffic.specs[traffic].schedule[step].1;
                self.set_rate(traffic, rate, now);
            }
            Event::Request { traffic, token } => {
                if token != self.traffic.arrival_token[traffic] {
                    return;
                }
                let marked = &self.lifecycle.marked_not_ready;
                let world = &self.world;
                let serving = |p: PodId| serving(world, marked, p);
                if self
                    .traffic
                    .request(traffic, world, &self.topo, &serving, now)
                    .is_err()
                {
                    self.recoveries.add_failed(now, 1.0);
                }
                if let Some(t) = self.traffic.next_arrival(traffic, now) {
                    self.schedule(t, Event::Request { traffic, token });
                }
                // A request changes nothing the fluid rates or recovery checks read.
                return;
            }
            Event::ProxySync { service, version } => {
                self.traffic.sync(&self.topo, service, version);
            }
            Event::JobArrival(k) => {
                let job = self.arrivals.arrive(&mut self.world, k, now);
                self.wake(ControllerRef::Job(job));
                if let Some(t) = self.arrivals.next(k, now) {
                    self.schedule(t, Event::JobArrival(k));
                }
            }
        }
        self.dirty = true;
        self.drain_lifecycle_log();
    }

    /// A traffic entry's rate changes: the pending arrival is redrawn (the
    /// Poisson process is memoryless, so this is exact).
    fn set_rate(&mut self, k: usize, rate: crate::scenario::Rate, now: Time) {
        self.traffic.rate[k] = rate;
        self.traffic.arrival_token[k] += 1;
        if self.traffic.model == TrafficModel::Requests
            && now >= self.traffic.specs[k].start
            && let Some(t) = self.traffic.next_arrival(k, now)
        {
            let token = self.traffic.arrival_token[k];
            self.schedule(t, Event::Request { traffic: k, token });
        }
    }

    /// Schedule what a node lifecycle step asks for.
    fn followups(&mut self, f: controllers::nodelifecycle::Followups, now: Time) {
        if let Some(t) = f.taint_pass
            && self.taint_pass_at.is_none_or(|cur| t < cur || cur < now)
        {
            self.taint_pass_at = Some(t);
            self.schedule(t, Event::TaintPass);
        }
        for n in f.taints_changed {
            self.schedule(now + WATCH_DELAY, Event::TaintEviction(n));
        }
        for (t, pod, token) in f.evictions {
            self.schedule(t, Event::Evict { pod, token });
        }
    }

    fn drain_lifecycle_log(&mut self) {
        while self.lifecycle_seen < self.lifecycle.log.len() {
            let (t, e) = self.lifecycle.log[self.lifecycle_seen];
            self.lifecycle_seen += 1;
            if let LifecycleEvent::Evicted(_) = e {
                self.recorder.evicted += 1;
            }
            self.recoveries.on_lifecycle(&self.world, t, e);
        }
    }

    /// After every event: fluid rates and recovery checks see the new state.
    fn after_event(&mut self, now: Time) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if self.recoveries.any_open() {
            self.recoveries.observe(&self.world, now);
        }
        if self.traffic.model == TrafficModel::Fluid && !self.traffic.is_empty() {
            let marked = &self.lifecycle.marked_not_ready;
            let world = &self.world;
            let serving = |p: PodId| serving(world, marked, p);
            self.traffic.recompute(world, &self.topo, &serving, now);
        }
    }

    /// The node's kubelet gained or lost contact with the control plane.
    fn update_contact(&mut self, n: NodeId, now: Time) {
        let node = self.world.node(n);
        let contact = node.up && node.reachable;
        if self.contact[n.idx()] == contact {
            return;
        }
        self.contact[n.idx()] = contact;
        self.recoveries.contact_changed(n, contact);
        self.lifecycle.lease_changing(n, &self.leases);
        self.leases.set_contact(n, contact, now);
        if contact {
            let rebooted = self.rebooted.remove(&n);
            let marked = self
                .lifecycle
                .marked_not_ready
                .remove(&n)
                .unwrap_or_default();
            kubelet::on_contact_restored(
                &mut self.world,
                n,
                rebooted,
                &marked,
                now,
                &mut self.kubelet_out,
            );
        }
    }

    fn node_down(&mut self, n: NodeId, now: Time) {
        if !self.world.node(n).up {
            return;
        }
        self.world.nodes[n.idx()].up = false;
        self.world.node_changed(n);
        self.rebooted.insert(n);
        kubelet::on_node_down(&mut self.world, n);
        self.update_contact(n, now);
    }

    fn node_up(&mut self, n: NodeId, now: Time) {
        if self.world.node(n).up {
            return;
        }
        self.world.nodes[n.idx()].up = true;
        self.world.node_changed(n);
        self.update_contact(n, now);
    }

    /// Apply the topology's control-plane reachability to the nodes; zones
    /// back in contact get the Services' latest endpoints.
    fn update_reachability(&mut self, now: Time, was_in_contact: &[bool]) {
        for i in 0..self.world.nodes.len() {
            let n = NodeId(i as u32);
            let r = self.topo.reaches_control_plane(n);
            if self.world.nodes[i].reachable != r {
                self.world.nodes[i].reachable = r;
                self.world.node_changed(n);
                self.update_contact(n, now);
            }
        }
        let healed =
            (0..self.topo.zones.len()).any(|z| !was_in_contact[z] && self.topo.zone_in_contact(z));
        if healed {
            let at = now + self.scenario.network.proxy_delay;
            for (service, version) in self.traffic.latest_versions() {
                self.schedule(at, Event::ProxySync { service, version });
            }
        }
    }

    fn partition(&mut self, nodes: &[NodeId], zone: Option<&str>, cut: bool, now: Time) {
        let before: Vec<bool> = (0..self.topo.zones.len())
            .map(|z| self.topo.zone_in_contact(z))
            .collect();
        self.topo.partition(nodes, zone, cut);
        self.update_reachability(now, &before);
    }

    fn fault(&mut self, f: Fault, now: Time) {
        match f {
            Fault::RecoverEvent(i) => {
                if let Action::FailNodes { nodes, .. } = &self.scenario.events[i].action {
                    for &n in nodes {
                        self.node_up(n, now);
                    }
                    if let Some(&r) = self.event_record.get(&i) {
                        self.recoveries
                            .note(r, now, "nodes back up (end of `for`)".to_string());
                    }
                }
            }
            Fault::HealEvent(i) => {
                if let Action::Partition { nodes, zone, .. } = &self.scenario.events[i].action {
                    self.partition(nodes, zone.as_deref(), false, now);
                    if let Some(&r) = self.event_record.get(&i) {
                        self.recoveries.note(r, now, "partition healed".to_string());
                    }
                }
            }
            Fault::RandomDown(k) => {
                let (down, up, n) = self.random[k];
                if self.world.node(n).up {
                    let pool = self.world.node(n).pool.clone().unwrap_or_default();
                    let label = format!(
                        "random failure of {} (pool {pool}, repaired after {})",
                        self.world.node(n).name,
                        crate::model::duration::format_duration(up - down)
                    );
                    self.recoveries.begin(&self.world, label, now, &[n], &[]);
                    self.node_down(n, now);
                }
            }
            Fault::RandomUp(k) => {
                let (_, _, n) = self.random[k];
                self.node_up(n, now);
            }
        }
    }

    /// The pod a killPod/crashPod event hits, if any.
    fn pod_target(&mut self, t: &PodTarget) -> Option<PodId> {
        use rand::RngExt;
        let w = &self.world;
        let candidates: Vec<PodId> = match t {
            PodTarget::Named { namespace, name } => {
                w.pod_by_name(namespace, name).into_iter().collect()
            }
            PodTarget::Of(target) => match *target {
                ScaleTarget::Deployment(d) => w.deployments[d.idx()]
                    .replicasets
                    .iter()
                    .flat_map(|rs| w.replicasets[rs.idx()].pods.iter().copied())
                    .collect(),
                ScaleTarget::ReplicaSet(r) => w.replicasets[r.idx()].pods.clone(),
                ScaleTarget::StatefulSet(s) => w.statefulsets[s.idx()]
                    .pods
                    .iter()
                    .flatten()
                    .copied()
                    .collect(),
            },
        };
        let candidates: Vec<PodId> = candidates
            .into_iter()
            .filter(|&p| w.pod(p).is_active() && w.pod(p).phase == PodPhase::Running)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let k = self.failure_rng.random_range(0..candidates.len());
        Some(candidates[k])
    }

    /// killPod (`until` = None) or crashPod (`until` = Some(end of crashing)).
    fn crash(&mut self, i: usize, target: &PodTarget, until: Option<Option<Time>>, now: Time) {
        let label = self.scenario.events[i].label.clone();
        let Some(pod) = self.pod_target(target) else {
            let r = self.recoveries.begin(&self.world, label, now, &[], &[]);
            self.recoveries.note(
                r,
                now,
                "no Running pod matched: nothing happened".to_string(),
            );
            return;
        };
        let label = format!("{label} ({})", self.world.pod(pod).name);
        let r = self.recoveries.begin(&self.world, label, now, &[], &[pod]);
        self.event_record.insert(i, r);
        if let Some(until) = until {
            self.crashing.insert(pod, until);
            self.recoveries.lasts_until(r, until.unwrap_or(Time::MAX));
        }
        let on_live_node = self
            .world
            .pod(pod)
            .node
            .is_some_and(|n| self.world.node(n).up);
        if on_live_node {
            kubelet::apply(
                &mut self.world,
                pod,
                KubeletAction::Crash,
                now,
                &mut self.kubelet_out,
            );
            let p = self.world.pod(pod);
            let what = if p.phase == PodPhase::Running {
                format!(
                    "{} restarts in {} (restart {})",
                    p.name,
                    crate::model::duration::format_duration(kubelet::crash_backoff(p.restarts)),
                    p.restarts
                )
            } else {
                format!("{} exited: {} (restartPolicy)", p.name, p.phase.as_str())
            };
            self.recoveries.note(r, now, what);
        }
    }

    fn scenario_event(&mut self, i: usize, now: Time) {
        // Desired replicas may change: every failure's workloads are re-checked.
        self.recoveries.everything_changed();
        let label = self.scenario.events[i].label.clone();
        match &self.scenario.events[i].action {
            Action::FailNodes { nodes, duration } => {
                let r = self.recoveries.begin(&self.world, label, now, nodes, &[]);
                self.event_record.insert(i, r);
                for &n in nodes {
                    self.node_down(n, now);
                }
                if let Some(d) = duration {
                    self.schedule(now + d, Event::Fault(Fault::RecoverEvent(i)));
                }
            }
            Action::RecoverNodes { nodes } => {
                for &n in nodes {
                    self.node_up(n, now);
                }
            }
            Action::Partition {
                nodes,
                zone,
                duration,
            } => {
                let r = self.recoveries.begin(&self.world, label, now, nodes, &[]);
                self.event_record.insert(i, r);
                self.partition(nodes, zone.as_deref(), true, now);
                if let Some(d) = duration {
                    self.schedule(now + d, Event::Fault(Fault::HealEvent(i)));
                }
            }
            Action::KillPod { target } => self.crash(i, target, None, now),
            Action::CrashPod { target, duration } => {
                self.crash(i, target, Some(duration.map(|d| now + d)), now)
            }
            Action::SetTraffic { traffic, rate } => self.set_rate(*traffic, *rate, now),
            Action::Rollout { deployment, change } => {
                let d = *deployment;
                let current = self.world.deployments[d.idx()].spec;
                let spec = controllers::deployment::changed_template(
                    self.world.spec(current),
                    change,
                    now,
                );
                if spec != *self.world.spec(current) {
                    let id = self.world.add_spec(spec);
                    controllers::deployment::rollout(&mut self.world, d, id);
                    self.wake(ControllerRef::Deployment(d));
                }
            }
            Action::Scale { target, replicas } => {
                let r = controllers::scale(&mut self.world, *target, *replicas);
                self.wake(r);
            }
        }
    }

    /// Queue a reconcile after the watch delay unless one is already pending.
    fn wake(&mut self, r: ControllerRef) {
        if self.pending_reconcile.insert(r) {
            let t = self.queue.now() + WATCH_DELAY;
            self.schedule(t, Event::Reconcile(r));
        }
    }

    /// One scheduling pass: every pod the queue offers now.
    fn schedule_pods(&mut self, now: Time) {
        while let Some(pod) = self.scheduler.pop(&self.world, now) {
            if let Some(req) = &self.explain
                && req.at.is_none()
                && self.explanation.is_none()
            {
                let p = self.world.pod(pod);
                if p.namespace == req.namespace && p.name == req.name {
                    self.explanation = Some(self.scheduler.explain(&self.world, pod, now));
                }
            }
            match self.scheduler.schedule_one(&self.world, pod, now) {
                Outcome::Bind(node) => {
                    self.world.bind(pod, node, now);
                    self.reasons.remove(&pod);
                    self.recorder.scheduled += 1;
                    let created = self.world.pod(pod).created_at;
                    self.recorder.latencies_us.push(now - created);
                    kubelet::on_bound(&self.world, pod, &mut self.kubelet_out, now);
                }
                Outcome::Unschedulable {
                    message,
                    preemption,
                } => {
                    self.reasons.insert(pod, message);
                    if let Some(p) = preemption {
                        self.world.pods[pod.idx()].nominated_node = Some(p.node);
                        for v in p.victims {
                            self.recorder.preempted += 1;
                            self.world.mark_deleting(v, now);
                        }
                    }
                }
            }
            // Let watchers see each binding before the next cycle, as upstream's
            // scheduler cache assumes the pod immediately.
            self.settle(now);
        }
    }

    /// Deliver World changes to every watcher until none are left.
    fn settle(&mut self, now: Time) {
        loop {
            let mut changes = std::mem::take(&mut self.change_buf);
            std::mem::swap(&mut changes, &mut self.world.changes);
            if changes.is_empty() {
                self.change_buf = changes;
                break;
            }
            for c in changes.drain(..) {
                if self.recoveries.any_open() {
                    match c {
                        Change::PodAdded(p) | Change::PodUpdated(p) => {
                            self.recoveries.pod_changed(&self.world, p)
                        }
                        Change::NodeUpdated(_) => self.recoveries.everything_changed(),
                        Change::PodDeleting(_) | Change::PodRemoved(_) => {}
                    }
                }
                match c {
                    Change::PodAdded(_) => self.recorder.created += 1,
                    Change::NodeUpdated(n) => self.lifecycle.node_updated(n),
                    Change::PodDeleting(p) => {
                        kubelet::on_deleting(&mut self.world, p, now, &mut self.kubelet_out)
                    }
                    // Failed is terminal, so each pod is counted once.
                    Change::PodUpdated(p)
                        if self.world.pod(p).phase == PodPhase::Failed
                            && self.failed_seen.insert(p) =>
                    {
                        self.recorder.failed += 1;
                    }
                    _ => {}
                }
                self.scheduler.on_change(&self.world, c, now);
                let mut buf = std::mem::take(&mut self.watch_buf);
                controllers::watchers(&self.world, &mut self.caches, c, &mut buf);
                for r in buf.drain(..) {
                    self.wake(r);
                }
                self.watch_buf = buf;
            }
            self.change_buf = changes;
        }
        // Buffers drained in place and kept, unless something refilled them.
        let mut requeue = std::mem::take(&mut self.requeue);
        for (t, r) in requeue.drain(..) {
            if t <= now {
                self.wake(r);
            } else {
                self.schedule(t, Event::Reconcile(r));
            }
        }
        if self.requeue.is_empty() {
            self.requeue = requeue;
        }
        let mut kubelet_out = std::mem::take(&mut self.kubelet_out);
        for (t, pod, generation, action) in kubelet_out.drain(..) {
            self.schedule(
                t,
                Event::Kubelet {
                    pod,
                    generation,
                    action,
                },
            );
        }
        if self.kubelet_out.is_empty() {
            self.kubelet_out = kubelet_out;
        }
        if let Some(w) = self.scheduler.next_wakeup(now)
            && self.scheduler_wake.is_none_or(|cur| w < cur)
        {
            self.scheduler_wake = Some(w);
            self.schedule(w.max(now), Event::SchedulerWake);
        }
    }

    fn report(
        &self,
        seed: u64,
        scheduler: &str,
        version: KubeVersion,
        end: Time,
        events: u64,
    ) -> Report {
        let w = &self.world;
        let mut lat: Vec<f64> = self
            .recorder
            .latencies_us
            .iter()
            .map(|&t| seconds(t))
            .collect();
        let mut pending = Vec::new();
        for (i, p) in w.pods.iter().enumerate() {
            if p.is_unbound() {
                let reason = self
                    .reasons
                    .get(&PodId(i as u32))
                    .cloned()
                    .unwrap_or_else(|| "not yet attempted".to_string());
                pending.push(PendingPod {
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                    reason,
                });
            }
        }
        let running: Vec<&Resources> = w
            .pods
            .iter()
            .filter(|p| {
                // DaemonSet pods follow the nodes; they do not decide how many are needed.
                !p.deleted && p.node.is_some() && !matches!(p.owner, Some(Owner::DaemonSet(_)))
            })
            .map(|p| &w.specs[p.spec.idx()].requests)
            .collect();
        let caps: Vec<&Resources> = w.live_nodes().map(|(_, n)| &n.allocatable).collect();
        let lb = lower_bound_nodes(&running, &caps);
        let used_end = w.used.nodes as u64;
        let recovery = self.recoveries.report(w);
        Report {
            scenario: self.scenario.name.clone(),
            scenario_hash: self.scenario.content_hash.clone(),
            seed,
            scheduler: scheduler.to_string(),
            kubernetes_version: version.to_string(),
            kubesim_version: env!("CARGO_PKG_VERSION").to_string(),
            simulated_seconds: seconds(end),
            events_processed: events,
            wall_seconds: 0.0,
            events_per_second: 0.0,
            sim_to_wall_ratio: 0.0,
            pods: PodCounts {
                created: self.recorder.created,
                scheduled: self.recorder.scheduled,
                pending_at_end: pending.len() as u64,
                evicted: self.recorder.evicted,
                failed: self.recorder.failed,
                preempted: self.recorder.preempted,
            },
            scheduling: Scheduling {
                attempts: self.scheduler.attempts(),
                latency_seconds: Percentiles::of(&mut lat),
            },
            packing: Packing {
                nodes_used_peak: self.recorder.nodes_used_peak as u64,
                nodes_used_end: used_end,
                lower_bound_nodes: lb,
                efficiency: if used_end == 0 {
                    1.0
                } else {
                    round6(lb as f64 / used_end as f64)
                },
                allocation: self.recorder.allocation(),
            },
            recovery: recovery.clone(),
            mean_time_to_recovery_seconds: failures::mean_time_to_recovery(&recovery),
            workloads: workloads(w, end),
            services: services(w, &self.traffic),
            hpas: self.hpa.report(w),
            nodes: nodes(w),
            pending,
            ignored_objects: self.scenario.ignored.clone(),
            notes: self.scenario.notes.clone(),
            timeseries: self.recorder.samples.clone(),
            series: self.recorder.series.clone(),
        }
    }
}

/// Every workload with kubectl-like status columns, in kind then id order.
fn workloads(w: &World, now: Time) -> Vec<WorkloadReport> {
    let mut refs: Vec<(ControllerRef, &'static str, &Meta)> = Vec::new();
    for (i, d) in w.deployments.iter().enumerate().filter(|(_, d)| !d.deleted) {
        refs.push((
            ControllerRef::Deployment(DeploymentId(i as u32)),
            "Deployment",
            &d.meta,
        ));
    }
    for (i, r) in w.replicasets.iter().enumerate().filter(|(_, r)| !r.deleted) {
        refs.push((
            ControllerRef::ReplicaSet(ReplicaSetId(i as u32)),
            "ReplicaSet",
            &r.meta,
        ));
    }
    for (i, s) in w
        .statefulsets
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.deleted)
    {
        refs.push((
            ControllerRef::StatefulSet(StatefulSetId(i as u32)),
            "StatefulSet",
            &s.meta,
        ));
    }
    for (i, d) in w.daemonsets.iter().enumerate().filter(|(_, d)| !d.deleted) {
        refs.push((
            ControllerRef::DaemonSet(DaemonSetId(i as u32)),
            "DaemonSet",
            &d.meta,
        ));
    }
    for (i, j) in w.jobs.iter().enumerate().filter(|(_, j)| !j.deleted) {
        refs.push((ControllerRef::Job(JobId(i as u32)), "Job", &j.meta));
    }
    refs.into_iter()
        .map(|(r, kind, meta)| {
            let st = controllers::status(w, r, now);
            let is_job = kind == "Job";
            WorkloadReport {
                kind: kind.to_string(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                desired: i64::from(st.desired),
                current: i64::from(st.current),
                ready: i64::from(st.ready),
                available: i64::from(st.available),
                up_to_date: i64::from(st.up_to_date),
                succeeded: is_job.then_some(i64::from(st.succeeded)),
                failed: is_job.then_some(i64::from(st.failed)),
            }
        })
        .collect()
}

/// A pod serves requests: Ready, or made not Ready only by the node lifecycle
/// controller while its containers run on a node cut off from it.
fn serving(w: &World, marked: &BTreeMap<NodeId, Vec<PodId>>, p: PodId) -> bool {
    let pod = w.pod(p);
    pod.ready
        || pod
            .node
            .is_some_and(|n| marked.get(&n).is_some_and(|v| v.contains(&p)))
}

fn services(w: &World, traffic: &Traffic) -> Vec<ServiceReport> {
    let mut out: Vec<ServiceReport> = w
        .services
        .iter()
        .map(|s| ServiceReport {
            namespace: s.meta.namespace.clone(),
            name: s.meta.name.clone(),
            service_type: s.service_type.clone(),
            endpoints_ready: s.endpoints.len() as u64,
            endpoints_not_ready: s.not_ready_endpoints.len() as u64,
            endpoints: s.endpoints.iter().map(|&p| w.pod(p).name.clone()).collect(),
            requests: 0,
            failed: 0,
            availability: if s.endpoints.is_empty() { 0.0 } else { 1.0 },
            failures: BTreeMap::new(),
            latency_seconds: None,
        })
        .collect();
    for (i, spec) in traffic.specs.iter().enumerate() {
        let (requests, failed, latency) = traffic.summary(i);
        let r = &mut out[spec.service.idx()];
        r.requests += requests;
        for c in Cause::ALL {
            *r.failures.entry(c.as_str().to_string()).or_insert(0) += failed[c as usize];
        }
        r.failed = r.failures.values().sum();
        r.availability = if r.requests == 0 {
            1.0
        } else {
            round6((r.requests - r.failed) as f64 / r.requests as f64)
        };
        if r.latency_seconds.is_none() {
            r.latency_seconds = latency;
        }
    }
    out
}

fn nodes(w: &World) -> Vec<NodeReport> {
    w.live_nodes()
        .map(|(_, n)| NodeReport {
            name: n.name.clone(),
            pool: n.pool.clone(),
            zone: n.zone().map(str::to_string),
            ready: n.ready,
            pods: n.pods.iter().filter(|&&p| !w.pod(p).deleted).count() as u64,
            cpu_requested_milli: n.requested.milli_cpu,
            cpu_allocatable_milli: n.allocatable.milli_cpu,
            memory_requested: n.requested.memory,
            memory_allocatable: n.allocatable.memory,
        })
        .collect()
}
