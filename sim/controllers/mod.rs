//! Controllers: each reconciles one kind of object toward its desired state.
//! They are woken like informers — by the World changes that concern them (see
//! [`watchers`]), after the watch delay — and by the requeues they ask for. They
//! read and mutate the World only through its methods, and never call each other.
//!
//! What is shared lives here: the wake-up map, workload status as kubectl shows
//! it, upstream's slow-start batching and pod availability, and the generated
//! parts of names. Simplifications common to all controllers: API calls never
//! fail, and the informer cache is the World itself, so upstream's
//! "expectations" (do not sync again until the cache has seen my own writes)
//! are always met.

pub mod daemonset;
pub mod deployment;
pub mod endpointslice;
pub mod hpa;
pub mod job;
pub mod nodelifecycle;
pub mod replicaset;
pub mod statefulset;
pub mod ttlafterfinished;

use crate::engine::{SECOND, Time, splitmix64};
use crate::model::*;

/// One controller's work item: the object to reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerRef {
    Deployment(DeploymentId),
    ReplicaSet(ReplicaSetId),
    StatefulSet(StatefulSetId),
    DaemonSet(DaemonSetId),
    Job(JobId),
    /// The TTL-after-finished controller's work item is a finished Job.
    TtlAfterFinished(JobId),
    /// The EndpointSlice controller's work item is a Service.
    Endpoints(ServiceId),
}

/// What a reconcile may use besides the World.
pub struct Ctx<'a> {
    pub world: &'a mut World,
    pub now: Time,
    /// Requests to be reconciled again at a later time (minReadySeconds, backoff…).
    pub requeue: &'a mut Vec<(Time, ControllerRef)>,
    pub caches: &'a mut Caches,
}

/// What controllers keep between reconciles, as upstream's informer indexes:
/// derived from the World (never a source of truth) and brought up to date
/// lazily, so a fresh one is always correct, only slower at first.
#[derive(Clone, Debug, Default)]
pub struct Caches {
    /// Pods by the Services that select them.
    pub endpoints: endpointslice::Index,
    /// Each DaemonSet's verdict on each node, for node updates.
    pub daemon_nodes: daemonset::NodeVerdicts,
}

impl Ctx<'_> {
    /// Ask for `c` to be reconciled at `at` (not before now).
    pub fn requeue_at(&mut self, at: Time, c: ControllerRef) {
        self.requeue.push((at.max(self.now), c));
    }
}

/// Reconcile one object.
pub fn reconcile(ctx: &mut Ctx, c: ControllerRef) {
    match c {
        ControllerRef::Deployment(d) => deployment::reconcile(ctx, d),
        ControllerRef::ReplicaSet(rs) => replicaset::reconcile(ctx, rs),
        ControllerRef::StatefulSet(s) => statefulset::reconcile(ctx, s),
        ControllerRef::DaemonSet(ds) => daemonset::reconcile(ctx, ds),
        ControllerRef::Job(j) => job::reconcile(ctx, j),
        ControllerRef::TtlAfterFinished(j) => ttlafterfinished::reconcile(ctx, j),
        ControllerRef::Endpoints(svc) => endpointslice::reconcile(ctx, svc),
    }
}

/// The controllers that a World change wakes, appended to `out` (duplicates allowed).
pub fn watchers(world: &World, caches: &mut Caches, change: Change, out: &mut Vec<ControllerRef>) {
    match change {
        Change::PodAdded(p)
        | Change::PodUpdated(p)
        | Change::PodDeleting(p)
        | Change::PodRemoved(p) => {
            let pod = world.pod(p);
            match pod.owner {
                Some(Owner::ReplicaSet(rs)) => {
                    out.push(ControllerRef::ReplicaSet(rs));
                    if let Some(d) = world.replicasets[rs.idx()].owner {
                        out.push(ControllerRef::Deployment(d));
                    }
                }
                Some(Owner::StatefulSet(s)) => out.push(ControllerRef::StatefulSet(s)),
                Some(Owner::DaemonSet(ds)) => out.push(ControllerRef::DaemonSet(ds)),
                Some(Owner::Job(j)) => out.push(ControllerRef::Job(j)),
                None => {}
            }
            endpointslice::services_selecting(world, &mut caches.endpoints, p, out);
        }
        Change::NodeUpdated(n) => {
            caches.daemon_nodes.node_updated(world, n, out);
            for &p in &world.node(n).pods {
                endpointslice::services_selecting(world, &mut caches.endpoints, p, out);
            }
        }
    }
}

/// Whether a DaemonSet with pod spec `spec` should run a pod on `node`
/// (`NodeShouldRunDaemonPod`'s first answer; see [`daemonset::node_should_run`]).
pub fn daemon_eligible(_world: &World, spec: &PodSpec, node: &Node) -> bool {
    !node.deleted && daemonset::node_should_run(spec, node).0
}

/// Scale a workload, as `kubectl scale` and the HPA do through the scale
/// subresource: spec.replicas changes and its controller is to be woken
/// (the returned ref, after the watch delay).
pub fn scale(world: &mut World, target: ScaleTarget, replicas: i32) -> ControllerRef {
    world.set_replicas(target, replicas);
    match target {
        ScaleTarget::Deployment(d) => ControllerRef::Deployment(d),
        ScaleTarget::ReplicaSet(r) => ControllerRef::ReplicaSet(r),
        ScaleTarget::StatefulSet(s) => ControllerRef::StatefulSet(s),
    }
}

/// A workload's status in kubectl's terms (`READY`, `UP-TO-DATE`, `AVAILABLE`,
/// `DESIRED CURRENT READY`, `COMPLETIONS`), computed from the World at `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadStatus {
    /// spec.replicas; a DaemonSet's desiredNumberScheduled; a Job's completions.
    pub desired: i32,
    /// status.replicas: active pods (a Job: active pods).
    pub current: i32,
    pub ready: i32,
    /// Ready for longer than minReadySeconds.
    pub available: i32,
    /// Pods made from the current template.
    pub up_to_date: i32,
    pub succeeded: i32,
    pub failed: i32,
}

/// The status of one workload (for a Service, `ready` and `current` count its
/// ready and all endpoints). Availability depends on the time, hence `now`.
pub fn status(world: &World, c: ControllerRef, now: Time) -> WorkloadStatus {
    match c {
        ControllerRef::Deployment(d) => deployment::status(world, d, now),
        ControllerRef::ReplicaSet(rs) => replicaset::status(world, rs, now),
        ControllerRef::StatefulSet(s) => statefulset::status(world, s),
        ControllerRef::DaemonSet(ds) => daemonset::status(world, ds),
        ControllerRef::Job(j) | ControllerRef::TtlAfterFinished(j) => job::status(world, j),
        ControllerRef::Endpoints(svc) => {
            let s = &world.services[svc.idx()];
            let ready = s.endpoints.len() as i32;
            WorkloadStatus {
                desired: ready,
                current: ready + s.not_ready_endpoints.len() as i32,
                ready,
                available: ready,
                up_to_date: ready,
                ..Default::default()
            }
        }
    }
}

/// `podutil.IsPodAvailable` (pkg/api/v1/pod/util.go): Ready, and Ready for
/// strictly longer than minReadySeconds (or minReadySeconds is 0).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Time) -> bool {
    if !pod.ready {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    pod.ready_at
        .is_some_and(|t| t + min_ready_seconds as Time * SECOND < now)
}

/// When a Ready pod that is not yet available becomes available: the first
/// microsecond past `ready_at + minReadySeconds`.
pub fn available_at(pod: &Pod, min_ready_seconds: i32) -> Option<Time> {
    if !pod.ready || min_ready_seconds <= 0 {
        return None;
    }
    pod.ready_at
        .map(|t| t + min_ready_seconds as Time * SECOND + 1)
}

/// Upstream's `SlowStartInitialBatchSize` (pkg/controller/controller_utils.go).
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;

/// `slowStartBatch` (pkg/controller/replicaset/replica_set.go): call `f` up to
/// `count` times in batches of 1, 2, 4, …; a batch with a failure ends the run
/// (the batch itself completes). Returns the number of successes.
pub fn slow_start_batch(count: usize, mut f: impl FnMut() -> bool) -> usize {
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = remaining.min(SLOW_START_INITIAL_BATCH_SIZE);
    while batch > 0 {
        let ok = (0..batch).filter(|_| f()).count();
        successes += ok;
        if ok < batch {
            return successes;
        }
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    successes
}

/// The alphabet of generated names (`k8s.io/apimachinery/pkg/util/rand`):
/// no vowels, no confusable characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The 5 random characters that `generateName` appends, drawn
/// deterministically from the pod's arena index (never from global randomness).
pub fn name_suffix(pod_index: usize) -> String {
    let mut x = splitmix64(pod_index as u64 ^ 0x6b75_6265_7369_6d00);
    (0..5)
        .map(|_| {
            let c = ALPHANUMS[(x % ALPHANUMS.len() as u64) as usize] as char;
            x /= ALPHANUMS.len() as u64;
            c
        })
        .collect()
}

/// `rand.SafeEncodeString`: maps each byte to the name alphabet, so that a
/// hash never spells words (as `pod-template-hash` values look).
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// 32-bit FNV-1a (`hash/fnv.New32a`), the hash behind `pod-template-hash`
/// and `controller-revision-hash`.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A pod in the state it is created in (Pending, unbound).
pub fn new_pod(name: String, namespace: &str, spec: SpecId, owner: Owner) -> Pod {
    Pod::new(name, namespace, spec, Some(owner))
}

/// Create a pod named `PREFIX-xxxxx` (generateName) for `owner`.
pub fn create_generated_pod(
    world: &mut World,
    prefix: &str,
    namespace: &str,
    spec: SpecId,
    owner: Owner,
    now: Time,
) -> PodId {
    let name = format!("{prefix}-{}", name_suffix(world.pods.len()));
    world.create_pod(new_pod(name, namespace, spec, owner), now)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Hand-built Worlds and a stand-in for the kubelet and scheduler.
    use super::*;
    use crate::model::labels::Labels;

    pub fn labels(kv: &[(&str, &str)]) -> Labels {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn meta(name: &str, l: &[(&str, &str)]) -> Meta {
        Meta {
            name: name.to_string(),
            namespace: "default".to_string(),
            labels: labels(l),
        }
    }

    pub fn node(name: &str) -> Node {
        Node {
            name: name.to_string(),
            labels: labels(&[(HOSTNAME_LABEL, name)]),
            taints: Vec::new(),
            unschedulable: false,
            allocatable: Resources {
                milli_cpu: 4000,
                memory: 16 << 30,
                pods: 110,
                ..Default::default()
            },
            requested: Resources::default(),
            nonzero_requested: (0, 0),
            pods: Vec::new(),
            images: Vec::new(),
            pool: None,
            startup_latency: SECOND,
            up: true,
            reachable: true,
            ready: true,
            deleted: false,
        }
    }

    /// Three nodes `n-0…n-2`; no workloads.
    pub fn test_world() -> World {
        let mut w = World::default();
        for i in 0..3 {
            w.add_node(node(&format!("n-{i}")));
        }
        w.changes.clear();
        w
    }

    pub fn spec_with_labels(w: &mut World, l: &[(&str, &str)]) -> SpecId {
        w.add_spec(PodSpec {
            labels: labels(l),
            ..Default::default()
        })
    }

    /// A bare ReplicaSet `name` of `replicas` pods labelled `app=name`.
    pub fn add_rs(w: &mut World, name: &str, replicas: i32) -> ReplicaSetId {
        let spec = spec_with_labels(w, &[("app", name)]);
        w.add_replicaset(ReplicaSet {
            meta: meta(name, &[("app", name)]),
            replicas,
            selector: crate::model::labels::LabelSelector::from_map(&labels(&[("app", name)])),
            spec,
            owner: None,
            min_ready_seconds: 0,
            pods: Vec::new(),
            rollout: Default::default(),
            deleted: false,
        })
    }

    /// A Running Job `name` with pod spec `spec`: one completion, parallelism
    /// 1, backoffLimit 6, no TTL (tests set what they need).
    pub fn add_job(w: &mut World, name: &str, spec: SpecId) -> JobId {
        w.jobs.push(Job {
            meta: meta(name, &[]),
            completions: Some(1),
            parallelism: 1,
            backoff_limit: 6,
            suspend: false,
            ttl_after_finished: None,
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
        JobId(w.jobs.len() as u32 - 1)
    }

    /// Bind (to `node`, or the node with the fewest pods) and make the pod
    /// Running and Ready at `now`, as scheduler and kubelet would.
    pub fn start(w: &mut World, p: PodId, node: Option<NodeId>, now: Time) {
        if w.pod(p).node.is_none() {
            let n = node.unwrap_or_else(|| {
                w.live_nodes()
                    .min_by_key(|(i, n)| (n.pods.len(), *i))
                    .map(|(i, _)| i)
                    .unwrap()
            });
            w.bind(p, n, now);
        }
        w.set_phase(p, PodPhase::Running);
        w.set_ready(p, true, now);
    }

    /// Finish graceful deletions: remove every terminating or unbound-deleting pod.
    pub fn finish_terminations(w: &mut World) {
        let ids: Vec<PodId> = (0..w.pods.len() as u32)
            .map(PodId)
            .filter(|&p| w.pod(p).deleting_since.is_some() && !w.pod(p).deleted)
            .collect();
        for p in ids {
            w.remove_pod(p);
        }
    }

    /// Run reconcile for `c` at `now`; returns the requeues it asked for.
    pub fn run(w: &mut World, c: ControllerRef, now: Time) -> Vec<(Time, ControllerRef)> {
        let mut requeue = Vec::new();
        let mut ctx = Ctx {
            world: w,
            now,
            requeue: &mut requeue,
            caches: &mut Caches::default(),
        };
        reconcile(&mut ctx, c);
        requeue
    }

    /// Drive a controller the way the loop does, with an instant kubelet: run
    /// reconciles (the given ref and requeues due by `now`) until nothing
    /// changes. Pods are not started.
    pub fn settle(w: &mut World, c: ControllerRef, now: Time) {
        let mut queue = vec![c];
        let mut rounds = 0;
        while let Some(c) = queue.pop() {
            rounds += 1;
            assert!(rounds < 10_000, "controllers do not settle");
            for (t, r) in run(w, c, now) {
                if t <= now && !queue.contains(&r) {
                    queue.push(r);
                }
            }
            let changes: Vec<Change> = w.changes.drain(..).collect();
            let mut woken = Vec::new();
            for ch in changes {
                watchers(w, &mut Caches::default(), ch, &mut woken);
            }
            for r in woken {
                if !queue.contains(&r) {
                    queue.push(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_batches_double_and_stop_at_first_failure() {
        // 10 calls: batches 1, 2, 4, 3.
        let mut calls = 0;
        assert_eq!(
            slow_start_batch(10, || {
                calls += 1;
                true
            }),
            10
        );
        assert_eq!(calls, 10);
        // The 5th call fails: it is in the third batch (calls 4..=7), which
        // completes; the last batch of 3 is skipped.
        let mut calls = 0;
        let ok = slow_start_batch(10, || {
            calls += 1;
            calls != 5
        });
        assert_eq!((calls, ok), (7, 6));
    }

    #[test]
    fn generated_names_use_upstream_alphabet_and_are_stable() {
        let a = name_suffix(7);
        assert_eq!(a.len(), 5);
        assert!(a.bytes().all(|b| ALPHANUMS.contains(&b)));
        assert_eq!(a, name_suffix(7));
        assert_ne!(a, name_suffix(8));
    }

    #[test]
    fn safe_encode_maps_digits_like_upstream() {
        // '0' is byte 48, 48 % 27 = 21 → '4'; '9' is 57, 57 % 27 = 3 → 'f'.
        assert_eq!(safe_encode("09"), "4f");
        // FNV-1a of the empty input is the offset basis.
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        // FNV-1a("a") = 0xe40c292c (the published test vector).
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    }

    #[test]
    fn availability_needs_strictly_more_than_min_ready_seconds() {
        let mut w = testutil::test_world();
        let spec = testutil::spec_with_labels(&mut w, &[("app", "x")]);
        w.statefulsets.push(StatefulSet {
            meta: testutil::meta("s", &[]),
            replicas: 1,
            selector: Default::default(),
            spec,
            policy: PodManagementPolicy::Parallel,
            pods: Vec::new(),
            deleted: false,
        });
        let mut pod = new_pod(
            "p".into(),
            "default",
            spec,
            Owner::StatefulSet(StatefulSetId(0)),
        );
        pod.ordinal = Some(0);
        let p = w.create_pod(pod, 0);
        testutil::start(&mut w, p, None, 10 * SECOND);
        let pod = w.pod(p);
        assert!(is_available(pod, 0, 10 * SECOND));
        assert!(!is_available(pod, 5, 15 * SECOND));
        assert!(is_available(pod, 5, 15 * SECOND + 1));
        assert_eq!(available_at(pod, 5), Some(15 * SECOND + 1));
        assert_eq!(w.statefulsets[0].pods, vec![Some(p)]);
    }
}
