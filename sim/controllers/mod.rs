//! Controllers: each reconciles one kind of object toward its desired state.
//! They are woken like informers — by the World changes that concern them (see
//! [`watchers`]), after the watch delay — and by the requeues they ask for. They
//! read and mutate the World only through its methods, and never call each other.

use crate::engine::Time;
use crate::model::*;

/// One controller's work item: the object to reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerRef {
    Deployment(DeploymentId),
    ReplicaSet(ReplicaSetId),
    StatefulSet(StatefulSetId),
    DaemonSet(DaemonSetId),
    Job(JobId),
    /// The EndpointSlice controller's work item is a Service.
    Endpoints(ServiceId),
}

/// What a reconcile may use besides the World.
pub struct Ctx<'a> {
    pub world: &'a mut World,
    pub now: Time,
    /// Requests to be reconciled again at a later time (minReadySeconds, backoff…).
    pub requeue: &'a mut Vec<(Time, ControllerRef)>,
}

/// Reconcile one object.
pub fn reconcile(_ctx: &mut Ctx, _c: ControllerRef) {}

/// The controllers that a World change wakes, appended to `out` (duplicates allowed).
pub fn watchers(_world: &World, _change: Change, _out: &mut Vec<ControllerRef>) {}

/// Whether a DaemonSet with pod spec `spec` should run a pod on `node`.
pub fn daemon_eligible(_world: &World, _spec: &PodSpec, _node: &Node) -> bool {
    true
}
