//! Failure injection bookkeeping: random node failures drawn from a pool's
//! `failureRate`, the pods told to crash, and recovery tracking — for each
//! failure, when the control plane noticed, when pods were evicted, and when
//! every workload it touched was whole again.
//!
//! A workload is *whole* when it has as many healthy ready pods as it had
//! just before the failure (capped by its desired replicas). Healthy means:
//! active (not terminating), Ready, on a node that is up and reaches the
//! control plane. This is ground truth, not the API's view: a pod on a node
//! that just died still shows Ready in the API for up to the grace period,
//! but it is not counted.

use rand_distr::{Distribution, Exp, Weibull};

use std::collections::BTreeSet;

use crate::controllers::nodelifecycle::LifecycleEvent;
use crate::engine::{SECOND, Time, rng_stream};
use crate::metrics::{Recovery, TimelineEntry, WorkloadRecovery, round6};
use crate::model::*;
use crate::scenario::{PoolFailures, TimeToFailure};

/// Random failures of a pool's nodes up to `until`: (down at, up at, node),
/// in time order. Each node draws time-to-failure, fails, is repaired after
/// `repair`, and draws again, from the pool's own stream.
pub fn random_failures(pf: &PoolFailures, seed: u64, until: Time) -> Vec<(Time, Time, NodeId)> {
    let mut rng = rng_stream(seed, &format!("failures/pool/{}", pf.pool));
    let mut out = Vec::new();
    let secs = |t: Time| t as f64 / SECOND as f64;
    for &n in &pf.nodes {
        let mut t: Time = 0;
        loop {
            let ttf = match pf.time_to_failure {
                TimeToFailure::Exponential { mean } => Exp::new(1.0 / secs(mean.max(1)))
                    .expect("positive rate")
                    .sample(&mut rng),
                TimeToFailure::Weibull { scale, shape } => Weibull::new(secs(scale.max(1)), shape)
                    .expect("positive parameters")
                    .sample(&mut rng),
            };
            let down = t.saturating_add(((ttf * SECOND as f64).round() as Time).max(1));
            if down > until {
                break;
            }
            let up = down + pf.repair;
            out.push((down, up, n));
            t = up;
        }
    }
    out.sort();
    out
}

/// A pod counts toward its workload being whole: active, Ready, on a node
/// that is up and reaches the control plane.
fn healthy(w: &World, p: PodId) -> bool {
    let pod = w.pod(p);
    pod.is_active()
        && pod.ready
        && pod
            .node
            .is_some_and(|n| w.node(n).up && w.node(n).reachable)
}

/// A workload a failure touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    Deployment(DeploymentId),
    ReplicaSet(ReplicaSetId),
    StatefulSet(StatefulSetId),
    DaemonSet(DaemonSetId),
    Job(JobId),
    /// A pod without controller.
    Pod(PodId),
}

impl Workload {
    pub fn of(world: &World, pod: PodId) -> Workload {
        match world.pod(pod).owner {
            Some(Owner::ReplicaSet(rs)) => match world.replicasets[rs.idx()].owner {
                Some(d) => Workload::Deployment(d),
                None => Workload::ReplicaSet(rs),
            },
            Some(Owner::StatefulSet(s)) => Workload::StatefulSet(s),
            Some(Owner::DaemonSet(d)) => Workload::DaemonSet(d),
            Some(Owner::Job(j)) => Workload::Job(j),
            None => Workload::Pod(pod),
        }
    }

    /// (kind, namespace, name).
    pub fn describe(self, w: &World) -> (&'static str, String, String) {
        let m = |m: &Meta| (m.namespace.clone(), m.name.clone());
        let (kind, (ns, name)) = match self {
            Workload::Deployment(d) => ("Deployment", m(&w.deployments[d.idx()].meta)),
            Workload::ReplicaSet(r) => ("ReplicaSet", m(&w.replicasets[r.idx()].meta)),
            Workload::StatefulSet(s) => ("StatefulSet", m(&w.statefulsets[s.idx()].meta)),
            Workload::DaemonSet(d) => ("DaemonSet", m(&w.daemonsets[d.idx()].meta)),
            Workload::Job(j) => ("Job", m(&w.jobs[j.idx()].meta)),
            Workload::Pod(p) => ("Pod", (w.pod(p).namespace.clone(), w.pod(p).name.clone())),
        };
        (kind, ns, name)
    }

    /// (desired replicas, healthy ready pods) now.
    pub fn health(self, w: &World) -> (i64, i64) {
        let healthy = |p: PodId| healthy(w, p);
        let count =
            |pods: &mut dyn Iterator<Item = PodId>| pods.filter(|&p| healthy(p)).count() as i64;
        match self {
            Workload::Deployment(d) => {
                let dep = &w.deployments[d.idx()];
                let mut pods = dep
                    .replicasets
                    .iter()
                    .flat_map(|rs| w.replicasets[rs.idx()].pods.iter().copied());
                (i64::from(dep.replicas), count(&mut pods))
            }
            Workload::ReplicaSet(r) => {
                let rs = &w.replicasets[r.idx()];
                (i64::from(rs.replicas), count(&mut rs.pods.iter().copied()))
            }
            Workload::StatefulSet(s) => {
                let ss = &w.statefulsets[s.idx()];
                (
                    i64::from(ss.replicas),
                    count(&mut ss.pods.iter().flatten().copied()),
                )
            }
            Workload::DaemonSet(d) => {
                let ds = &w.daemonsets[d.idx()];
                (i64::MAX, count(&mut ds.pods.iter().copied()))
            }
            Workload::Job(j) => {
                let job = &w.jobs[j.idx()];
                (
                    i64::from(job.parallelism),
                    count(&mut job.pods.iter().copied()),
                )
            }
            Workload::Pod(p) => {
                let pod = w.pod(p);
                let alive = !pod.deleted;
                (1, i64::from(alive && healthy(p)))
            }
        }
    }

    /// [`Workload::health`] from the World's per-owner tallies of active
    /// Ready pods, less those on the nodes in `no_contact`, which must be
    /// every node that is down or out of reach (a handful, where the
    /// workload's own pods may be thousands).
    pub fn health_tallied(self, w: &World, no_contact: &BTreeSet<NodeId>) -> (i64, i64) {
        let ready = |o: Owner| w.tallies.ready(o);
        let (desired, ready) = match self {
            Workload::Deployment(d) => {
                let dep = &w.deployments[d.idx()];
                let ready = dep
                    .replicasets
                    .iter()
                    .map(|&rs| ready(Owner::ReplicaSet(rs)))
                    .sum();
                (i64::from(dep.replicas), ready)
            }
            Workload::ReplicaSet(r) => (
                i64::from(w.replicasets[r.idx()].replicas),
                ready(Owner::ReplicaSet(r)),
            ),
            Workload::DaemonSet(d) => (i64::MAX, ready(Owner::DaemonSet(d))),
            Workload::Job(j) => (i64::from(w.jobs[j.idx()].parallelism), ready(Owner::Job(j))),
            Workload::StatefulSet(_) | Workload::Pod(_) => return self.health(w),
        };
        let out_of_contact = no_contact
            .iter()
            .flat_map(|&n| &w.node(n).pods)
            .filter(|&&p| {
                let pod = w.pod(p);
                pod.is_active() && pod.ready && Workload::of(w, p) == self
            })
            .count() as i64;
        (desired, ready - out_of_contact)
    }
}

/// A workload's (desired, healthy) pods, from the tallies
/// ([`Workload::health_tallied`]); with `verify` (and in debug builds)
/// compared with a count of its pods, a difference noted in `violation`.
fn tallied_health(
    world: &World,
    wl: Workload,
    no_contact: &BTreeSet<NodeId>,
    verify: bool,
    violation: &mut Option<String>,
) -> (i64, i64) {
    let h = wl.health_tallied(world, no_contact);
    if verify || cfg!(debug_assertions) {
        let counted = wl.health(world);
        debug_assert_eq!(h, counted, "stale health tally of {wl:?}");
        if h != counted && violation.is_none() {
            *violation = Some(format!(
                "stale health tally of {wl:?}: {h:?}, counting its pods gives {counted:?}"
            ));
        }
    }
    h
}

/// One failure being followed.
#[derive(Clone, Debug)]
pub struct Record {
    pub label: String,
    pub at: Time,
    pub nodes: Vec<NodeId>,
    pub pods: Vec<PodId>,
    /// (workload, target healthy pods, restored at).
    pub workloads: Vec<(Workload, i64, Option<Time>)>,
    pub detected: Option<Time>,
    pub evicted: Option<Time>,
    pub restored: Option<Time>,
    pub requests_failed: f64,
    pub timeline: Vec<(Time, String)>,
    /// The failure lasts until then (a crash loop with `for`); nothing is
    /// restored before. `Time::MAX`: for ever.
    pub not_before: Time,
    /// Every workload is to be checked at the next observation (at or after
    /// `not_before`), not only those that something happened to.
    check_all: bool,
}

/// Every failure of the run, in the order they happened.
///
/// Checking whether failures are over is incremental: a workload's health
/// can only go up when one of its pods turns healthy, when a node changes
/// (comes back up or in reach), or when its desired replicas change (a
/// scenario event). The run loop reports those ([`Recoveries::pod_changed`],
/// [`Recoveries::everything_changed`]) and [`Recoveries::observe`] re-counts
/// only the workloads they concern, which gives the same restore times as
/// re-counting every open failure's workloads after every event.
#[derive(Default)]
pub struct Recoveries {
    pub records: Vec<Record>,
    /// Records not yet restored, in order.
    open: Vec<usize>,
    /// Workloads with a pod that turned (or stayed) healthy since the last observation.
    touched: Vec<Workload>,
    /// Something may have raised every workload's health since the last observation.
    touched_all: bool,
    /// Also re-count the workloads skipped as untouched, and record in
    /// `violation` one that was whole nonetheless (`--check-invariants`).
    pub verify: bool,
    pub violation: Option<String>,
    /// Nodes down or out of reach of the control plane (kept by the run loop
    /// through [`Recoveries::contact_changed`]).
    no_contact: BTreeSet<NodeId>,
}

impl Recoveries {
    /// No failures yet; with `verify`, observations are checked (see `verify`).
    pub fn verified(verify: bool) -> Recoveries {
        Recoveries {
            verify,
            ..Default::default()
        }
    }

    /// A failure is about to hit `nodes` (or just `pods`): note the baseline
    /// health of every workload it touches. Call before applying it.
    pub fn begin(
        &mut self,
        world: &World,
        label: String,
        at: Time,
        nodes: &[NodeId],
        pods: &[PodId],
    ) -> usize {
        let mut affected: Vec<PodId> = pods.to_vec();
        for &n in nodes {
            affected.extend(world.node(n).pods.iter().copied().filter(|&p| {
                let pod = world.pod(p);
                !pod.deleted && !pod.phase.is_terminal()
            }));
        }
        affected.sort();
        affected.dedup();
        let mut workloads: Vec<Workload> =
            affected.iter().map(|&p| Workload::of(world, p)).collect();
        workloads.sort();
        workloads.dedup();
        let workloads = workloads
            .into_iter()
            .map(|wl| {
                let (desired, ready) = tallied_health(
                    world,
                    wl,
                    &self.no_contact,
                    self.verify,
                    &mut self.violation,
                );
                (wl, desired.min(ready), None)
            })
            .collect();
        self.records.push(Record {
            timeline: vec![(at, label.clone())],
            label,
            at,
            nodes: nodes.to_vec(),
            pods: affected,
            workloads,
            detected: None,
            evicted: None,
            restored: None,
            requests_failed: 0.0,
            not_before: at,
            check_all: true,
        });
        self.open.push(self.records.len() - 1);
        self.records.len() - 1
    }

    /// Node `n` is now up and in reach (`contact`) or not.
    pub fn contact_changed(&mut self, n: NodeId, contact: bool) {
        if contact {
            self.no_contact.remove(&n);
        } else {
            self.no_contact.insert(n);
        }
    }

    /// The failure goes on until `t` (e.g. a pod crashing for a while).
    pub fn lasts_until(&mut self, idx: usize, t: Time) {
        self.records[idx].not_before = t;
        self.records[idx].check_all = true;
    }

    pub fn any_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Pod `p` was added or updated: if it is healthy now, its workload may be whole.
    pub fn pod_changed(&mut self, world: &World, p: PodId) {
        if self.any_open() && healthy(world, p) {
            self.touched.push(Workload::of(world, p));
        }
    }

    /// A node changed, or desired replicas: any workload may be whole.
    pub fn everything_changed(&mut self) {
        if self.any_open() {
            self.touched_all = true;
        }
    }

    pub fn note(&mut self, idx: usize, t: Time, what: String) {
        self.records[idx].timeline.push((t, what));
    }

    /// Note `what` in the timeline of every open failure that disrupted `pod`.
    pub fn note_pod(&mut self, pod: PodId, t: Time, what: &str) {
        for r in &mut self.records {
            if r.restored.is_none() && r.pods.contains(&pod) && r.nodes.is_empty() {
                r.timeline.push((t, what.to_string()));
            }
        }
    }

    /// Check whether open failures' workloads are whole again.
    pub fn observe(&mut self, world: &World, now: Time) {
        self.touched.sort_unstable();
        self.touched.dedup();
        for &i in &self.open {
            let r = &mut self.records[i];
            if now < r.not_before {
                continue;
            }
            let all_of_them = std::mem::take(&mut r.check_all) || self.touched_all;
            let mut all = true;
            let mut latest = r.at;
            for (wl, target, restored) in r.workloads.iter_mut() {
                let skip = !all_of_them && self.touched.binary_search(wl).is_err();
                if restored.is_none() && skip && self.verify {
                    let (desired, ready) = wl.health(world);
                    if ready >= (*target).min(desired) && self.violation.is_none() {
                        self.violation = Some(format!(
                            "failure {:?}: {:?} is whole but was not re-checked",
                            r.label, wl
                        ));
                    }
                }
                if restored.is_none() && !skip {
                    let (desired, ready) = tallied_health(
                        world,
                        *wl,
                        &self.no_contact,
                        self.verify,
                        &mut self.violation,
                    );
                    if ready >= (*target).min(desired) {
                        *restored = Some(now);
                        let (kind, ns, name) = wl.describe(world);
                        r.timeline.push((
                            now,
                            format!("{} {ns}/{name} back to {ready} ready", kind.to_lowercase()),
                        ));
                    }
                }
                match restored {
                    Some(t) => latest = latest.max(*t),
                    None => all = false,
                }
            }
            if all {
                r.restored = Some(latest);
                r.timeline.push((latest, "restored".to_string()));
            }
        }
        self.touched.clear();
        self.touched_all = false;
        let records = &self.records;
        self.open.retain(|&i| records[i].restored.is_none());
    }

    /// What the node lifecycle and taint eviction controllers did.
    pub fn on_lifecycle(&mut self, world: &World, t: Time, e: LifecycleEvent) {
        for r in &mut self.records {
            if r.at > t {
                continue;
            }
            match e {
                LifecycleEvent::NotReady(n) if r.nodes.contains(&n) => {
                    if r.detected.is_none() {
                        r.detected = Some(t);
                    }
                    r.timeline.push((
                        t,
                        format!("{} NotReady (Ready=Unknown)", world.node(n).name),
                    ));
                }
                LifecycleEvent::Tainted(n) if r.nodes.contains(&n) && r.restored.is_none() => {
                    r.timeline.push((
                        t,
                        format!(
                            "{} tainted {}:NoExecute",
                            world.node(n).name,
                            world
                                .node(n)
                                .taints
                                .iter()
                                .rev()
                                .find(|t| t.effect == crate::model::taints::TaintEffect::NoExecute)
                                .map_or("", |t| t.key.as_str())
                        ),
                    ));
                }
                LifecycleEvent::Ready(n) if r.nodes.contains(&n) => {
                    r.timeline
                        .push((t, format!("{} Ready again", world.node(n).name)));
                }
                LifecycleEvent::Evicted(p) if r.pods.contains(&p) && r.evicted.is_none() => {
                    r.evicted = Some(t);
                    r.timeline
                        .push((t, format!("first eviction: pod {}", world.pod(p).key())));
                }
                _ => {}
            }
        }
    }

    /// Failed requests while failures are open count against each of them.
    pub fn add_failed(&mut self, now: Time, n: f64) {
        for r in self.records.iter_mut() {
            if r.at <= now && r.restored.is_none() {
                r.requests_failed += n;
            }
        }
    }

    pub fn report(&self, world: &World) -> Vec<Recovery> {
        let s = |t: Time| round6(t as f64 / SECOND as f64);
        self.records
            .iter()
            .map(|r| Recovery {
                event: r.label.clone(),
                at_seconds: s(r.at),
                detected_seconds: r.detected.map(s),
                evicted_seconds: r.evicted.map(s),
                restored_seconds: r.restored.map(s),
                pods_disrupted: r.pods.len() as u64,
                requests_failed: r.requests_failed.round() as u64,
                workloads: r
                    .workloads
                    .iter()
                    .map(|(wl, _, restored)| {
                        let (kind, namespace, name) = wl.describe(world);
                        WorkloadRecovery {
                            kind: kind.to_string(),
                            namespace,
                            name,
                            restored_seconds: restored.map(s),
                        }
                    })
                    .collect(),
                timeline: r
                    .timeline
                    .iter()
                    .map(|(t, what)| TimelineEntry {
                        t: s(*t),
                        what: what.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Mean over failures that were restored of (restored − at), seconds.
pub fn mean_time_to_recovery(rs: &[Recovery]) -> Option<f64> {
    let done: Vec<f64> = rs
        .iter()
        .filter_map(|r| r.restored_seconds.map(|t| t - r.at_seconds))
        .collect();
    if done.is_empty() {
        None
    } else {
        Some(round6(done.iter().sum::<f64>() / done.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MINUTE;

    #[test]
    fn random_failures_are_reproducible_and_within_the_run() {
        let pf = PoolFailures {
            pool: "p".into(),
            nodes: vec![NodeId(0), NodeId(1)],
            time_to_failure: TimeToFailure::Exponential { mean: 30 * MINUTE },
            repair: 5 * MINUTE,
        };
        let a = random_failures(&pf, 1, 600 * MINUTE);
        let b = random_failures(&pf, 1, 600 * MINUTE);
        assert_eq!(a, b);
        assert!(!a.is_empty());
        assert!(
            a.iter()
                .all(|&(d, u, _)| d <= 600 * MINUTE && u == d + 5 * MINUTE)
        );
        // Per node, a failure starts only after the previous repair.
        for n in [NodeId(0), NodeId(1)] {
            let v: Vec<_> = a.iter().filter(|x| x.2 == n).collect();
            assert!(v.windows(2).all(|w| w[1].0 >= w[0].1));
        }
        // Over 600 min with MTBF 30 min + 5 min repair, about 17 failures per node.
        assert!((20..=50).contains(&a.len()), "{}", a.len());
    }

    /// The tallied health (owner tallies less pods on nodes out of contact)
    /// against counting pods: Ready, not Ready, terminating and finished
    /// pods, on nodes up, down and out of reach.
    #[test]
    fn tallied_health_is_the_count_of_healthy_pods() {
        use crate::controllers::testutil::*;
        use crate::controllers::{ControllerRef, new_pod};
        let mut w = test_world();
        let rs = add_rs(&mut w, "web", 6);
        run(&mut w, ControllerRef::ReplicaSet(rs), 0);
        let pods = w.replicasets[rs.idx()].pods.clone();
        for (k, &p) in pods.iter().enumerate() {
            start(&mut w, p, Some(NodeId(k as u32 % 3)), 0);
        }
        w.set_ready(pods[3], false, 1);
        w.mark_deleting(pods[4], 1);
        w.set_phase(pods[5], PodPhase::Succeeded);
        let job_spec = w.add_spec(PodSpec::default());
        let job = add_job(&mut w, "batch", job_spec);
        let mut jp = new_pod("batch-0".into(), "default", job_spec, Owner::Job(job));
        jp.owner = Some(Owner::Job(job));
        let jp = w.create_pod(jp, 0);
        start(&mut w, jp, Some(NodeId(1)), 0);
        let mut lone = new_pod("lone".into(), "default", job_spec, Owner::Job(job));
        lone.owner = None;
        let lone = w.create_pod(lone, 0);
        start(&mut w, lone, Some(NodeId(2)), 0);
        let workloads = [
            Workload::ReplicaSet(rs),
            Workload::Job(job),
            Workload::Pod(lone),
        ];
        let mut no_contact = BTreeSet::new();
        for (n, up, reachable) in [(1, false, true), (2, true, false), (1, true, true)] {
            let node = &mut w.nodes[n];
            node.up = up;
            node.reachable = reachable;
            if up && reachable {
                no_contact.remove(&NodeId(n as u32));
            } else {
                no_contact.insert(NodeId(n as u32));
            }
            for wl in workloads {
                assert_eq!(wl.health_tallied(&w, &no_contact), wl.health(&w), "{wl:?}");
            }
        }
        // Pods 0 and 3 on node 0, 1 and 4 on node 1, 2 and 5 on node 2;
        // node 1 back, node 2 out of reach: pods 0 and 1 are healthy.
        assert_eq!(Workload::ReplicaSet(rs).health(&w), (6, 2));
    }
}
