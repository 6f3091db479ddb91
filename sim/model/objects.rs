//! The simulator's compact form of Kubernetes objects. Manifests are converted
//! into these once, at load (see `crate::scenario`); fields Kubernetes defines but
//! the simulator does not model are validated there and dropped.

use crate::engine::Time;
use crate::model::labels::{LabelSelector, Labels, NodeSelector, NodeSelectorTerm};
use crate::model::resources::Resources;
use crate::model::taints::{Taint, Toleration};

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            pub fn idx(self) -> usize { self.0 as usize }
        }
    )*};
}
id_type!(
    NodeId,
    PodId,
    SpecId,
    DeploymentId,
    ReplicaSetId,
    StatefulSetId,
    DaemonSetId,
    JobId,
    ServiceId,
    PdbId,
    HpaId
);

/// Name, namespace and labels of a namespaced object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
}

impl Meta {
    /// `namespace/name`, the way kubectl names objects.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A workload with a scale subresource that the simulator runs: the target
/// of a `scale` event and of an HPA's `scaleTargetRef`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScaleTarget {
    Deployment(DeploymentId),
    ReplicaSet(ReplicaSetId),
    StatefulSet(StatefulSetId),
}

/// Who owns a pod (its controller ownerReference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    ReplicaSet(ReplicaSetId),
    StatefulSet(StatefulSetId),
    DaemonSet(DaemonSetId),
    Job(JobId),
}

/// The phase of a pod (core/v1 PodPhase). Exactly one at any time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl PodPhase {
    pub const ALL: [PodPhase; 4] = [
        PodPhase::Pending,
        PodPhase::Running,
        PodPhase::Succeeded,
        PodPhase::Failed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreemptionPolicy {
    PreemptLowerPriority,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// A `hostPort` a container asks for (NodePorts plugin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub protocol: Protocol,
    pub host_ip: String,
    pub port: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsatisfiableAction {
    DoNotSchedule,
    ScheduleAnyway,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InclusionPolicy {
    Honor,
    Ignore,
}

/// core/v1 TopologySpreadConstraint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: UnsatisfiableAction,
    /// `None` matches no pods (upstream: a nil selector selects nothing).
    pub selector: Option<LabelSelector>,
    pub min_domains: Option<i32>,
    pub node_affinity_policy: InclusionPolicy,
    pub node_taints_policy: InclusionPolicy,
    pub match_label_keys: Vec<String>,
}

/// core/v1 PodAffinityTerm, with namespaces resolved at load (empty list and no
/// namespaceSelector mean the pod's own namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodAffinityTerm {
    pub selector: Option<LabelSelector>,
    pub namespaces: Vec<String>,
    /// `Some(empty)` selects every namespace.
    pub namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    pub required: Vec<PodAffinityTerm>,
    pub preferred: Vec<(i32, PodAffinityTerm)>,
}

impl PodAffinity {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty()
    }
}

/// What the kubelet does with a container: how long it runs and how it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Run time until the main containers exit (annotation `kubesim.dev/duration`,
    /// or the scenario's job default for Job pods). `None`: runs until deleted.
    pub run_duration: Option<Time>,
    /// Exit code when the run time is over (annotation `kubesim.dev/exit-code`, default 0).
    pub exit_code: i32,
    /// CPU the containers use whatever they serve, in nanocores (annotation
    /// `kubesim.dev/cpu-baseline`); see `network::cpu` for the CPU model.
    pub cpu_baseline_nanos: Option<i64>,
}

/// A pod's spec in the simulator's terms. Shared by every pod made from one
/// template (a ReplicaSet's pods share one `SpecId`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpec {
    pub labels: Labels,
    /// Effective requests as the scheduler computes them: max(sum of containers,
    /// largest init container) + overhead, and `pods: 1`.
    pub requests: Resources,
    /// cpu and memory with kube-scheduler's non-zero defaults (100m, 200Mi) for
    /// containers that request none; used by scoring only.
    pub nonzero_milli_cpu: i64,
    pub nonzero_memory: i64,
    pub node_name: Option<String>,
    pub node_selector: Labels,
    pub required_node_affinity: Option<NodeSelector>,
    pub preferred_node_affinity: Vec<(i32, NodeSelectorTerm)>,
    pub tolerations: Vec<Toleration>,
    pub topology_spread: Vec<TopologySpreadConstraint>,
    pub pod_affinity: PodAffinity,
    pub pod_anti_affinity: PodAffinity,
    pub priority: i32,
    pub priority_class: Option<String>,
    pub preemption_policy: PreemptionPolicy,
    pub scheduler_name: String,
    pub host_ports: Vec<HostPort>,
    /// Images of the init containers, then of the app containers.
    pub images: Vec<String>,
    /// Container names, parallel to `images` (a rollout's `container:` names one).
    pub containers: Vec<String>,
    /// The template's annotations: part of the template (changing one makes a
    /// new ReplicaSet, as `kubectl rollout restart` relies on), not otherwise read.
    pub annotations: Labels,
    pub restart_policy: RestartPolicy,
    /// Readiness probe's initialDelaySeconds, when a probe is defined.
    pub readiness_delay: Option<Time>,
    pub termination_grace: Time,
    pub behaviour: Behaviour,
}

impl Default for PodSpec {
    fn default() -> Self {
        PodSpec {
            labels: Labels::new(),
            requests: Resources {
                pods: 1,
                ..Default::default()
            },
            nonzero_milli_cpu: 0,
            nonzero_memory: 0,
            node_name: None,
            node_selector: Labels::new(),
            required_node_affinity: None,
            preferred_node_affinity: Vec::new(),
            tolerations: Vec::new(),
            topology_spread: Vec::new(),
            pod_affinity: PodAffinity::default(),
            pod_anti_affinity: PodAffinity::default(),
            priority: 0,
            priority_class: None,
            preemption_policy: PreemptionPolicy::PreemptLowerPriority,
            scheduler_name: "default-scheduler".to_string(),
            host_ports: Vec::new(),
            images: Vec::new(),
            containers: Vec::new(),
            annotations: Labels::new(),
            restart_policy: RestartPolicy::Always,
            readiness_delay: None,
            termination_grace: 30 * crate::engine::SECOND,
            behaviour: Behaviour::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pod {
    pub name: String,
    pub namespace: String,
    pub spec: SpecId,
    pub owner: Option<Owner>,
    pub node: Option<NodeId>,
    pub phase: PodPhase,
    /// The Ready condition.
    pub ready: bool,
    /// When deletion was requested (metadata.deletionTimestamp); the pod is Terminating.
    pub deleting_since: Option<Time>,
    /// Gone from the API server; the slot stays so ids remain stable.
    pub deleted: bool,
    pub created_at: Time,
    pub scheduled_at: Option<Time>,
    pub started_at: Option<Time>,
    pub ready_at: Option<Time>,
    /// When the Ready condition last changed (its lastTransitionTime); `None`
    /// until the kubelet first reports it.
    pub ready_changed_at: Option<Time>,
    pub restarts: u32,
    pub nominated_node: Option<NodeId>,
    /// Ordinal for StatefulSet pods.
    pub ordinal: Option<u32>,
    /// Incremented whenever the kubelet's plans for this pod are cancelled, so that
    /// stale kubelet events (start, ready, exit) scheduled earlier can be ignored.
    pub generation: u32,
}

impl Pod {
    /// A pod as it is created: Pending, unbound, not ready.
    pub fn new(name: String, namespace: &str, spec: SpecId, owner: Option<Owner>) -> Pod {
        Pod {
            name,
            namespace: namespace.to_string(),
            spec,
            owner,
            node: None,
            phase: PodPhase::Pending,
            ready: false,
            deleting_since: None,
            deleted: false,
            created_at: 0,
            scheduled_at: None,
            started_at: None,
            ready_at: None,
            ready_changed_at: None,
            restarts: 0,
            nominated_node: None,
            ordinal: None,
            generation: 0,
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
    /// Waiting for a node: exists, unbound and not being deleted.
    pub fn is_unbound(&self) -> bool {
        !self.deleted && self.node.is_none() && self.deleting_since.is_none()
    }

    /// Counts toward a workload: not terminating and not deleted.
    pub fn is_active(&self) -> bool {
        !self.deleted && self.deleting_since.is_none() && !self.phase.is_terminal()
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    /// Running total of the requests of pods bound here (not deleted).
    pub requested: Resources,
    /// The same with kube-scheduler's non-zero defaults (cpu, memory), for scoring.
    pub nonzero_requested: (i64, i64),
    /// Pods bound here and not yet removed, in bind order.
    pub pods: Vec<PodId>,
    /// Images present on the node with their sizes in bytes (ImageLocality).
    pub images: Vec<(String, i64)>,
    pub pool: Option<String>,
    /// Pod start-up latency on this node (kubelet), from the pool or the default.
    pub startup_latency: Time,
    /// The machine is up (kubelet running). Changed by failure events.
    pub up: bool,
    /// Reachable from the control plane (false during a partition).
    pub reachable: bool,
    /// The node's Ready condition as the control plane sees it.
    pub ready: bool,
    /// Deleted from the API (node objects removed by an event).
    pub deleted: bool,
}

impl Node {
    pub fn zone(&self) -> Option<&str> {
        self.labels
            .get(crate::model::ZONE_LABEL)
            .map(|s| s.as_str())
    }
}

/// intstr.IntOrString as used by maxSurge, maxUnavailable, minAvailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

impl IntOrPercent {
    /// intstr.GetScaledValueFromIntOrPercent (k8s.io/apimachinery/pkg/util/intstr/intstr.go):
    /// a percentage of `total`, rounded up or down.
    pub fn scaled(self, total: i32, round_up: bool) -> i32 {
        match self {
            IntOrPercent::Int(v) => v,
            IntOrPercent::Percent(p) => {
                let prod = i64::from(p) * i64::from(total);
                let v = if round_up {
                    (prod + 99).div_euclid(100)
                } else {
                    prod.div_euclid(100)
                };
                v as i32
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    RollingUpdate {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
    Recreate,
}

#[derive(Clone, Debug)]
pub struct Deployment {
    pub meta: Meta,
    pub replicas: i32,
    pub selector: LabelSelector,
    /// The current template; a rollout replaces it.
    pub spec: SpecId,
    pub strategy: DeploymentStrategy,
    pub min_ready_seconds: i32,
    pub revision_history_limit: i32,
    pub paused: bool,
    /// ReplicaSets owned, oldest first; the last one with `spec` is the new one.
    pub replicasets: Vec<ReplicaSetId>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct ReplicaSet {
    pub meta: Meta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub spec: SpecId,
    pub owner: Option<DeploymentId>,
    pub min_ready_seconds: i32,
    /// Pods owned and not yet deleted (terminating ones included).
    pub pods: Vec<PodId>,
    /// What the Deployment controller records on the ReplicaSets it owns.
    pub rollout: RolloutAnnotations,
    pub deleted: bool,
}

/// The annotations the Deployment controller keeps on its ReplicaSets
/// (`deployment.kubernetes.io/revision`, `desired-replicas`, `max-replicas`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RolloutAnnotations {
    pub revision: i64,
    /// The Deployment's replicas when this ReplicaSet was last scaled.
    pub desired_replicas: Option<i32>,
    /// The Deployment's replicas + maxSurge when this ReplicaSet was last scaled.
    pub max_replicas: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodManagementPolicy {
    OrderedReady,
    Parallel,
}

#[derive(Clone, Debug)]
pub struct StatefulSet {
    pub meta: Meta,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub spec: SpecId,
    pub policy: PodManagementPolicy,
    /// The pod holding each ordinal (index = ordinal).
    pub pods: Vec<Option<PodId>>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct DaemonSet {
    pub meta: Meta,
    pub selector: LabelSelector,
    pub spec: SpecId,
    /// Pods owned and not yet deleted.
    pub pods: Vec<PodId>,
    pub deleted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    Complete,
    Failed,
}

#[derive(Clone, Debug)]
pub struct Job {
    pub meta: Meta,
    pub completions: Option<i32>,
    pub parallelism: i32,
    pub backoff_limit: i32,
    /// `spec.suspend`: the Job controller creates no pods (a `jobArrivals`
    /// template is a suspended Job).
    pub suspend: bool,
    /// `spec.ttlSecondsAfterFinished`: the TTL-after-finished controller
    /// deletes the finished Job (and its pods) this long after it finished.
    pub ttl_after_finished: Option<Time>,
    pub spec: SpecId,
    /// Pods owned; removed ones stay until the Job controller has counted them.
    pub pods: Vec<PodId>,
    pub succeeded: i32,
    pub failed: i32,
    pub state: JobState,
    pub started_at: Time,
    pub finished_at: Option<Time>,
    /// Next pod index to hand out (pod names `NAME-N`).
    pub next_index: u32,
    /// The Job controller's bookkeeping of finished pods and failure backoff.
    pub tracking: JobTracking,
    pub deleted: bool,
}

/// Which finished pods a Job has counted (upstream: the tracking finalizer is
/// removed once a pod is counted) and its pod-failure backoff record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobTracking {
    pub counted: std::collections::BTreeSet<PodId>,
    pub failures_after_last_success: i32,
    pub last_failure_at: Option<Time>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub meta: Meta,
    /// `None`: a Service without selector (endpoints managed by hand): never has endpoints here.
    pub selector: Option<Labels>,
    pub service_type: String,
    pub ports: Vec<(String, i32, String)>,
    pub publish_not_ready: bool,
    /// Ready endpoints as the EndpointSlice controller last published them, in pod id order.
    pub endpoints: Vec<PodId>,
    /// Not-ready (serving = false) endpoints, for display.
    pub not_ready_endpoints: Vec<PodId>,
    /// Terminating endpoints that are still serving (Ready): kube-proxy falls
    /// back to them when there is no ready endpoint.
    pub terminating_endpoints: Vec<PodId>,
}

#[derive(Clone, Debug)]
pub struct PriorityClass {
    pub name: String,
    pub value: i32,
    pub global_default: bool,
    pub preemption_policy: PreemptionPolicy,
}

#[derive(Clone, Debug)]
pub struct PodDisruptionBudget {
    pub meta: Meta,
    pub selector: LabelSelector,
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

/// autoscaling/v2 HorizontalPodAutoscaler (an autoscaling/v1 object is
/// converted as the API server converts it); acted on by `controllers::hpa`.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub meta: Meta,
    /// spec.scaleTargetRef as written.
    pub target_api_version: String,
    pub target_kind: String,
    pub target_name: String,
    /// The scaleTargetRef resolved at load; `None` when it names nothing the
    /// simulator runs (upstream: condition AbleToScale False, FailedGetScale).
    pub target: Option<ScaleTarget>,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target average CPU utilisation in percent of requests, when set.
    pub target_cpu_utilization: Option<i32>,
    /// Metrics other than CPU utilisation (`memory`, `Pods`, `External`…),
    /// which the simulator has no values for, as `TYPE/NAME`.
    pub unsimulated_metrics: Vec<String>,
    /// spec.behavior with the API server's defaults filled in
    /// (`GenerateHPAScaleUpRules`/`GenerateHPAScaleDownRules`); `None` when
    /// unset (always for autoscaling/v1): the controller's default behaviour.
    pub behavior: Option<HpaBehavior>,
    /// What the controller last wrote in status.
    pub status: HpaStatus,
}

/// autoscaling/v2 HorizontalPodAutoscalerBehavior.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaBehavior {
    pub scale_up: HpaScalingRules,
    pub scale_down: HpaScalingRules,
}

/// autoscaling/v2 HPAScalingRules, defaulted.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaScalingRules {
    /// `None` (scaleDown only): the controller's
    /// `--horizontal-pod-autoscaler-downscale-stabilization`.
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: SelectPolicy,
    pub policies: Vec<HpaScalingPolicy>,
    /// `tolerance` (HPAConfigurableTolerance) as a fraction; `None`: the
    /// controller's `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpaPolicyType {
    Pods,
    Percent,
}

/// autoscaling/v2 HPAScalingPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HpaScalingPolicy {
    pub policy_type: HpaPolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

/// autoscaling/v2 HorizontalPodAutoscalerStatus, as far as it is simulated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaStatus {
    /// The target's spec.replicas when the controller last looked.
    pub current_replicas: i32,
    pub desired_replicas: i32,
    /// currentMetrics[cpu].current.averageUtilization; `None`: `<unknown>`.
    pub current_cpu_utilization: Option<i32>,
    /// currentMetrics[cpu].current.averageValue, in millicores.
    pub current_cpu_average_milli: Option<i64>,
    pub last_scale_time: Option<Time>,
    /// AbleToScale, ScalingActive, ScalingLimited, in the order first set.
    pub conditions: Vec<HpaCondition>,
}

/// One status condition of an HPA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaCondition {
    pub condition_type: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}
