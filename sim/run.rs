//! The run loop: the one place where events are given meaning. It pops the next
//! event, lets the component it belongs to act on the World, then hands every
//! resulting World change to the watchers (scheduler, controllers, kubelet,
//! recorder), which react by scheduling further events. Nothing else advances
//! time, and nothing else calls a component.

use std::collections::{BTreeSet, HashMap};

use crate::controllers::{self, ControllerRef, Ctx};
use crate::engine::{EventQueue, MILLISECOND, SECOND, Time, seconds};
use crate::error::Error;
use crate::kubelet::{self, KubeletAction};
use crate::metrics::*;
use crate::model::*;
use crate::scenario::{Action, ScaleTarget, Scenario};
use crate::scheduler::{Outcome, Scheduler, explain::Explanation};

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
}

struct Sim<'a> {
    scenario: &'a Scenario,
    world: World,
    queue: EventQueue<Event>,
    scheduler: Scheduler,
    recorder: Recorder,
    pending_reconcile: BTreeSet<ControllerRef>,
    scheduler_wake: Option<Time>,
    /// Events other than samples and scheduler wake-ups still in the queue.
    real_events: u64,
    reasons: HashMap<PodId, String>,
    failed_seen: BTreeSet<PodId>,
    requeue: Vec<(Time, ControllerRef)>,
    kubelet_out: Vec<(Time, PodId, u32, KubeletAction)>,
    watch_buf: Vec<ControllerRef>,
    check_invariants: bool,
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
    run_with(scenario, opts, None).map(|(r, _)| r)
}

/// Simulate until the scheduler is about to place the requested pod (or until
/// `at`), and show how every node's filters and scores judge it then.
pub fn explain(
    scenario: &Scenario,
    opts: &RunOptions,
    req: ExplainRequest,
) -> Result<Explanation, Error> {
    let (report, explanation) = run_with(scenario, opts, Some(req.clone()))?;
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
    let scheduler = Scheduler::new(&sched_spec, &scenario.base_dir, version, seed)?;
    let mut sim = Sim {
        scenario,
        world: scenario.world.clone(),
        queue: EventQueue::new(),
        scheduler,
        recorder: Recorder::default(),
        pending_reconcile: BTreeSet::new(),
        scheduler_wake: None,
        real_events: 0,
        reasons: HashMap::new(),
        failed_seen: BTreeSet::new(),
        requeue: Vec::new(),
        kubelet_out: Vec::new(),
        watch_buf: Vec::new(),
        check_invariants: opts.check_invariants,
        explain,
        explanation: None,
    };
    let duration = match &sim.explain {
        Some(ExplainRequest { at: Some(at), .. }) => (*at).min(duration),
        _ => duration,
    };
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
        sim.recorder.advance(&sim.world, t);
        if !matches!(ev, Event::Sample | Event::SchedulerWake) {
            sim.real_events -= 1;
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
        if sim.check_invariants {
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
    let explanation = sim.explanation.take();
    let mut report = sim.report(seed, &sched_spec, version, end, events);
    report.wall_seconds = wall.elapsed().as_secs_f64();
    report.events_per_second = if report.wall_seconds > 0.0 {
        (events as f64 / report.wall_seconds).round()
    } else {
        0.0
    };
    Ok((report, explanation))
}

/// Samples for time series: about 500 per run, on whole seconds.
fn sample_interval(duration: Time) -> Time {
    ((duration / 500) / SECOND).max(1) * SECOND
}

impl Sim<'_> {
    fn schedule(&mut self, t: Time, ev: Event) {
        if !matches!(ev, Event::Sample | Event::SchedulerWake) {
            self.real_events += 1;
        }
        self.queue.schedule(t, ev);
    }

    fn start(&mut self) {
        for (i, e) in self.scenario.events.iter().enumerate() {
            self.schedule(e.at, Event::Scenario(i));
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
                };
                controllers::reconcile(&mut ctx, r);
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
                kubelet::apply(&mut self.world, pod, action, now, &mut self.kubelet_out);
            }
            Event::Sample => {}
        }
    }

    fn scenario_event(&mut self, i: usize, _now: Time) {
        match &self.scenario.events[i].action {
            Action::Scale { target, replicas } => match *target {
                ScaleTarget::Deployment(d) => {
                    self.world.deployments[d.idx()].replicas = *replicas;
                    self.wake(ControllerRef::Deployment(d));
                }
                ScaleTarget::ReplicaSet(r) => {
                    self.world.replicasets[r.idx()].replicas = *replicas;
                    self.wake(ControllerRef::ReplicaSet(r));
                }
                ScaleTarget::StatefulSet(s) => {
                    self.world.statefulsets[s.idx()].replicas = *replicas;
                    self.wake(ControllerRef::StatefulSet(s));
                }
            },
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
            let changes = std::mem::take(&mut self.world.changes);
            if changes.is_empty() {
                break;
            }
            for c in changes {
                match c {
                    Change::PodAdded(_) => self.recorder.created += 1,
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
                controllers::watchers(&self.world, c, &mut buf);
                for r in buf.drain(..) {
                    self.wake(r);
                }
                self.watch_buf = buf;
            }
        }
        for (t, r) in std::mem::take(&mut self.requeue) {
            if t <= now {
                self.wake(r);
            } else {
                self.schedule(t, Event::Reconcile(r));
            }
        }
        for (t, pod, generation, action) in std::mem::take(&mut self.kubelet_out) {
            self.schedule(
                t,
                Event::Kubelet {
                    pod,
                    generation,
                    action,
                },
            );
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
            if !p.deleted && p.node.is_none() && p.deleting_since.is_none() {
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
            .filter(|p| !p.deleted && p.node.is_some())
            .map(|p| &w.specs[p.spec.idx()].requests)
            .collect();
        let caps: Vec<&Resources> = w.live_nodes().map(|(_, n)| &n.allocatable).collect();
        let lb = lower_bound_nodes(&running, &caps);
        let used_end = w.used.nodes as u64;
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
            recovery: Vec::new(),
            workloads: workloads(w, end),
            services: services(w),
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

fn services(w: &World) -> Vec<ServiceReport> {
    w.services
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
        })
        .collect()
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
