//! A core/v1 PodSpec (with its metadata) compiled into the simulator's
//! [`PodSpec`], with the API server's defaulting, validation and admission applied
//! as they would be to every pod made from it.
//!
//! Follows, for requests, k8s.io/component-helpers/resource/helpers.go
//! (`PodRequests`, `AggregateContainerRequests`: sidecars add up, each init
//! container needs the sidecars started before it, the pod needs the larger of
//! that and its containers, plus overhead; pod-level requests override), and
//! pkg/scheduler/framework/types.go `calculateResource` with schedutil's
//! non-zero defaults (100m cpu, 200Mi memory for a container that *omits* the
//! request: upstream's "override if un-set, but not if explicitly set to zero").
//! Defaulting follows pkg/apis/core/v1/defaults.go (requests from limits,
//! hostNetwork ports, restartPolicy, schedulerName, terminationGracePeriodSeconds);
//! validation pkg/apis/core/validation (resources, ports, tolerations, affinity,
//! topology spread); admission plugin/pkg/admission/defaulttolerationseconds;
//! and DaemonSet pods get pkg/controller/daemon/util/daemonset_util.go
//! `AddOrUpdateDaemonPodTolerations` (v1.35).
//!
//! Simplified: fields that do not change scheduling or pod life in the
//! simulator (volumes, env, probes other than readiness' initial delay,
//! securityContext, schedulingGates, resourceClaims…) are accepted and dropped.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::{SECOND, Time};
use crate::error::did_you_mean;
use crate::model::duration::parse_duration;
use crate::model::labels::{
    Labels, node_selector_from_k8s, node_selector_term_from_k8s, selector_from_k8s,
    validate_label_key, validate_label_value, validate_labels,
};
use crate::model::quantity::quantity_from_k8s;
use crate::model::taints::{TaintEffect, Toleration, TolerationOp, toleration_from_k8s};
use crate::model::{
    Behaviour, HostPort, InclusionPolicy, PodAffinity, PodAffinityTerm, PodSpec, PreemptionPolicy,
    Protocol, Resources, RestartPolicy, TopologySpreadConstraint, UnsatisfiableAction,
};
use crate::scenario::strict::{Ctx, Loc};

/// Annotation: how long the pod's containers run before they exit (Go duration).
pub const DURATION_ANNOTATION: &str = "kubesim.dev/duration";
/// Annotation: the exit code when they do (default 0).
pub const EXIT_CODE_ANNOTATION: &str = "kubesim.dev/exit-code";
/// Annotation: CPU the pod uses whatever traffic it serves (a quantity, e.g.
/// `50m`); see `network::cpu`.
pub const CPU_BASELINE_ANNOTATION: &str = "kubesim.dev/cpu-baseline";
/// The annotations kubesim reads; another `kubesim.dev/` key is a typo.
const ANNOTATIONS: [&str; 3] = [
    DURATION_ANNOTATION,
    EXIT_CODE_ANNOTATION,
    CPU_BASELINE_ANNOTATION,
];

/// schedutil.DefaultMilliCPURequest and DefaultMemoryRequest (200Mi).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// The DefaultTolerationSeconds admission plugin's default (300 s).
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// What makes the pods: validation and defaulting differ by owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
}

/// A compiled pod template, before it meets the World: extended resources are
/// still names, and the priority is not resolved (PriorityClasses may be defined
/// in a later file).
#[derive(Clone, Debug)]
pub struct Template {
    /// `requests.scalar` is empty here; see `scalars`.
    pub spec: PodSpec,
    /// Extended resources (and hugepages) requested, by name.
    pub scalars: Vec<(String, i64)>,
    pub priority_class: Option<(String, Loc)>,
    /// `spec.priority` and `spec.preemptionPolicy` as written (admission checks them).
    pub explicit_priority: Option<(i32, Loc)>,
    pub explicit_preemption: Option<(PreemptionPolicy, Loc)>,
}

/// Where the template is inside the object (relative to the context's base).
pub struct TemplateAt<'a> {
    /// `metadata` for a Pod, `spec.template.metadata` for a workload.
    pub meta_path: &'a str,
    /// `spec` for a Pod, `spec.template.spec` for a workload.
    pub spec_path: &'a str,
    pub namespace: &'a str,
    pub workload: Workload,
    /// Run time for Job pods without the duration annotation.
    pub job_duration: Option<Time>,
}

/// Requests by resource name, in the units the scheduler counts: millicores for
/// cpu, whole units (bytes, counts) for everything else.
type ResList = BTreeMap<String, i64>;

fn add_list(to: &mut ResList, from: &ResList) {
    for (k, v) in from {
        let e = to.entry(k.clone()).or_insert(0);
        *e = e.saturating_add(*v);
    }
}

fn max_list(to: &mut ResList, from: &ResList) {
    for (k, v) in from {
        let e = to.entry(k.clone()).or_insert(*v);
        *e = (*e).max(*v);
    }
}

/// One container's requests after defaulting, and whether it is a sidecar
/// (an init container with `restartPolicy: Always`).
#[derive(Clone, Debug, Default)]
pub struct ContainerRequests {
    pub requests: ResList,
    pub sidecar: bool,
}

/// `AggregateContainerRequests` + pod-level override + overhead
/// (component-helpers/resource/helpers.go `PodRequests`). With `non_zero`, a
/// container that omits cpu or memory counts as 100m / 200Mi (the scheduler's
/// `NonMissingContainerRequests`).
pub fn pod_requests(
    containers: &[ContainerRequests],
    init_containers: &[ContainerRequests],
    pod_level: &ResList,
    overhead: &ResList,
    non_zero: bool,
) -> ResList {
    let effective = |c: &ContainerRequests| -> ResList {
        let mut r = c.requests.clone();
        if non_zero {
            r.entry("cpu".into()).or_insert(DEFAULT_MILLI_CPU_REQUEST);
            r.entry("memory".into()).or_insert(DEFAULT_MEMORY_REQUEST);
        }
        r
    };
    let mut reqs = ResList::new();
    for c in containers {
        add_list(&mut reqs, &effective(c));
    }
    // InitContainerUse(i) = sum(sidecars with index < i) + init container i; a
    // sidecar itself adds to the pod's running total and counts as the running
    // sum of sidecars so far (KEP-753).
    let mut sidecars = ResList::new();
    let mut init = ResList::new();
    for c in init_containers {
        let r = effective(c);
        let use_ = if c.sidecar {
            add_list(&mut reqs, &r);
            add_list(&mut sidecars, &r);
            sidecars.clone()
        } else {
            let mut tmp = r;
            add_list(&mut tmp, &sidecars);
            tmp
        };
        max_list(&mut init, &use_);
    }
    max_list(&mut reqs, &init);
    // Pod-level resources (PodLevelResources, beta and on by default since 1.34)
    // replace the aggregate for the resources they name.
    for (k, v) in pod_level {
        reqs.insert(k.clone(), *v);
    }
    add_list(&mut reqs, overhead);
    reqs
}

/// The named requests as a [`Resources`] (`pods: 1`) and the extended ones by name.
fn to_resources(list: &ResList) -> (Resources, Vec<(String, i64)>) {
    let mut r = Resources {
        pods: 1,
        ..Default::default()
    };
    let mut scalars = Vec::new();
    for (k, &v) in list {
        match k.as_str() {
            "cpu" => r.milli_cpu = v,
            "memory" => r.memory = v,
            "ephemeral-storage" => r.ephemeral_storage = v,
            _ if v != 0 => scalars.push((k.clone(), v)),
            _ => {}
        }
    }
    (r, scalars)
}

/// `IsStandardContainerResourceName`.
const CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Resources that may not be overcommitted (request must equal limit): extended
/// resources and hugepages (`helper.IsOvercommitAllowed`).
fn overcommit_allowed(name: &str) -> bool {
    CONTAINER_RESOURCES.contains(&name)
}

/// Parses one quantity of a resource list into the scheduler's unit, reporting a
/// bad or negative quantity at `path`.
pub fn resource_value(ctx: &mut Ctx, path: &str, name: &str, q: &K8sQuantity) -> Option<i64> {
    let shown = &q.0;
    match quantity_from_k8s(q) {
        Err(e) => {
            ctx.err(path, e);
            None
        }
        Ok(q) if q.is_negative() => {
            ctx.err(
                path,
                format!("Invalid value: \"{shown}\": must be greater than or equal to 0"),
            );
            None
        }
        Ok(q) => {
            if name == "cpu" {
                Some(q.milli_value())
            } else {
                if !overcommit_allowed(name) && q.milli_value() % 1000 != 0 {
                    ctx.err(
                        path,
                        format!("Invalid value: \"{shown}\": must be an integer"),
                    );
                    return None;
                }
                Some(q.value())
            }
        }
    }
}

/// Validates a container's resource names (`validateContainerResourceName`).
fn check_container_resource_name(ctx: &mut Ctx, path: &str, name: &str) -> bool {
    if name.contains('/') {
        if name.starts_with("kubernetes.io/") || name.starts_with("requests.") {
            ctx.err_key(
                path,
                format!(
                    "Invalid value: \"{name}\": doesn't follow extended resource name standard"
                ),
                None,
            );
            return false;
        }
        return true;
    }
    if CONTAINER_RESOURCES.contains(&name) || is_hugepages(name) {
        return true;
    }
    let hint = did_you_mean(name, CONTAINER_RESOURCES).map(|m| format!("did you mean `{m}`?"));
    ctx.err_key(
        path,
        format!("Invalid value: \"{name}\": must be a standard resource for containers"),
        hint,
    );
    false
}

/// A container's (or the pod's) `resources`: requests after defaulting from limits
/// (`SetDefaults_ResourceList` for requests), validated as
/// `ValidateResourceRequirements` does.
fn requirements(
    ctx: &mut Ctx,
    path: &str,
    res: Option<&core::ResourceRequirements>,
    container: bool,
) -> ResList {
    let mut requests = ResList::new();
    let Some(res) = res else {
        return requests;
    };
    let mut limits = ResList::new();
    let empty = BTreeMap::new();
    for (which, list, out) in [
        ("limits", res.limits.as_ref().unwrap_or(&empty), &mut limits),
        (
            "requests",
            res.requests.as_ref().unwrap_or(&empty),
            &mut requests,
        ),
    ] {
        for (name, q) in list {
            let p = format!("{path}.{which}.{name}");
            if container && !check_container_resource_name(ctx, &p, name) {
                continue;
            }
            if let Some(v) = resource_value(ctx, &p, name, q) {
                out.insert(name.clone(), v);
            }
        }
    }
    for (name, &limit) in &limits {
        match requests.get(name) {
            None => {
                requests.insert(name.clone(), limit);
            }
            Some(&req) if req > limit => {
                let shown = &res.requests.as_ref().unwrap()[name].0;
                let lim = &res.limits.as_ref().unwrap()[name].0;
                ctx.err(
                    &format!("{path}.requests.{name}"),
                    format!("Invalid value: \"{shown}\": must be less than or equal to {name} limit of {lim}"),
                );
            }
            Some(&req) if req != limit && !overcommit_allowed(name) => {
                let shown = &res.requests.as_ref().unwrap()[name].0;
                let lim = &res.limits.as_ref().unwrap()[name].0;
                ctx.err(
                    &format!("{path}.requests.{name}"),
                    format!("Invalid value: \"{shown}\": must be equal to {name} limit of {lim}"),
                );
            }
            _ => {}
        }
    }
    if container {
        for name in requests.keys() {
            if !overcommit_allowed(name) && !limits.contains_key(name) {
                ctx.err(
                    &format!("{path}.limits"),
                    format!("Required value: Limit must be set for non overcommitable resources (\"{name}\")"),
                );
            }
        }
    }
    requests
}

fn protocol(ctx: &mut Ctx, path: &str, p: Option<&str>) -> Protocol {
    match p.unwrap_or("TCP") {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        other => {
            ctx.err(
                path,
                format!(
                    "Unsupported value: \"{other}\": supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
            );
            Protocol::Tcp
        }
    }
}

fn check_port(ctx: &mut Ctx, path: &str, port: i32, allow_zero: bool) {
    if (port == 0 && !allow_zero) || !(0..=65535).contains(&port) {
        ctx.err(
            path,
            format!("Invalid value: {port}: must be between 1 and 65535, inclusive"),
        );
    }
}

fn seconds(ctx: &mut Ctx, path: &str, v: i64) -> Time {
    if v < 0 {
        ctx.err(
            path,
            format!("Invalid value: {v}: must be greater than or equal to 0"),
        );
        return 0;
    }
    (v as u64).saturating_mul(SECOND)
}

/// Compiles the pod template at `at` (its metadata and spec, already typed).
pub fn compile(
    ctx: &mut Ctx,
    at: &TemplateAt,
    meta: &ObjectMeta,
    spec: &core::PodSpec,
) -> Template {
    let sp = at.spec_path;
    let mut out = PodSpec::default();

    // Labels (the Job API adds the job-name labels to its template, so that
    // selectors and PDBs can use them; controller-uid is left out: no uids here).
    let labels: Labels = meta.labels.clone().unwrap_or_default();
    if let Err(e) = validate_labels(&labels) {
        ctx.err_list(at.meta_path, &e);
    }
    out.labels = labels;
    out.annotations = meta.annotations.clone().unwrap_or_default();

    // Containers.
    if spec.containers.is_empty() {
        ctx.err(&format!("{sp}.containers"), "Required value");
    }
    let mut names: Vec<&str> = Vec::new();
    let mut containers = Vec::new();
    let mut inits = Vec::new();
    let mut readiness: Option<i64> = None;
    let host_network = spec.host_network.unwrap_or(false);
    let init_list = spec.init_containers.as_deref().unwrap_or(&[]);
    for (list, field, is_init) in [
        (init_list, "initContainers", true),
        (&spec.containers[..], "containers", false),
    ] {
        for (i, c) in list.iter().enumerate() {
            let cp = format!("{sp}.{field}[{i}]");
            if c.name.is_empty() {
                ctx.err(&format!("{cp}.name"), "Required value");
            } else if names.contains(&c.name.as_str()) {
                ctx.err(
                    &format!("{cp}.name"),
                    format!("Duplicate value: \"{}\"", c.name),
                );
            } else {
                if let Err(e) = crate::model::labels::validate_dns1123_label(&c.name) {
                    ctx.err(
                        &format!("{cp}.name"),
                        format!("Invalid value: \"{}\": {e}", c.name),
                    );
                }
                names.push(&c.name);
            }
            match c.image.as_deref() {
                Some(image) if !image.trim().is_empty() => {
                    out.images.push(image.to_string());
                    out.containers.push(c.name.clone());
                }
                _ => ctx.err(&format!("{cp}.image"), "Required value"),
            }
            let sidecar = match c.restart_policy.as_deref() {
                None => false,
                Some("Always") if is_init => true,
                Some(other) if is_init => {
                    ctx.err(
                        &format!("{cp}.restartPolicy"),
                        format!("Unsupported value: \"{other}\": supported values: \"Always\""),
                    );
                    false
                }
                Some(_) => {
                    ctx.err(
                        &format!("{cp}.restartPolicy"),
                        "Forbidden: may not be set for non-init containers",
                    );
                    false
                }
            };
            let requests =
                requirements(ctx, &format!("{cp}.resources"), c.resources.as_ref(), true);
            let r = ContainerRequests { requests, sidecar };
            if is_init {
                inits.push(r);
            } else {
                containers.push(r);
                if let Some(probe) = &c.readiness_probe {
                    let d = i64::from(probe.initial_delay_seconds.unwrap_or(0));
                    if d < 0 {
                        ctx.err(
                            &format!("{cp}.readinessProbe.initialDelaySeconds"),
                            format!("Invalid value: {d}: must be greater than or equal to 0"),
                        );
                    }
                    readiness = Some(readiness.unwrap_or(0).max(d.max(0)));
                }
            }
            for (j, p) in c.ports.iter().flatten().enumerate() {
                let pp = format!("{cp}.ports[{j}]");
                check_port(ctx, &format!("{pp}.containerPort"), p.container_port, false);
                let proto = protocol(ctx, &format!("{pp}.protocol"), p.protocol.as_deref());
                // hostNetwork pods use the container port on the host (defaults.go).
                let host_port = match p.host_port {
                    Some(h) if h != 0 => h,
                    _ if host_network => p.container_port,
                    _ => 0,
                };
                if let Some(h) = p.host_port {
                    check_port(ctx, &format!("{pp}.hostPort"), h, true);
                }
                // The NodePorts plugin looks at the app containers' ports.
                if host_port > 0 && !is_init {
                    out.host_ports.push(HostPort {
                        protocol: proto,
                        host_ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".to_string()),
                        port: host_port,
                    });
                }
            }
        }
    }
    out.readiness_delay = readiness.map(|d| (d as u64).saturating_mul(SECOND));

    // Requests.
    let pod_level: ResList = requirements(
        ctx,
        &format!("{sp}.resources"),
        spec.resources.as_ref(),
        false,
    )
    .into_iter()
    .filter(|(k, _)| k == "cpu" || k == "memory" || is_hugepages(k))
    .collect();
    let mut overhead = ResList::new();
    for (name, q) in spec.overhead.iter().flatten() {
        if let Some(v) = resource_value(ctx, &format!("{sp}.overhead.{name}"), name, q) {
            overhead.insert(name.clone(), v);
        }
    }
    let requests = pod_requests(&containers, &inits, &pod_level, &overhead, false);
    let non_zero = pod_requests(&containers, &inits, &pod_level, &overhead, true);
    let (resources, scalars) = to_resources(&requests);
    out.requests = resources;
    out.nonzero_milli_cpu = non_zero.get("cpu").copied().unwrap_or(0);
    out.nonzero_memory = non_zero.get("memory").copied().unwrap_or(0);

    // Placement.
    out.node_name = spec.node_name.clone().filter(|n| !n.is_empty());
    for (k, v) in spec.node_selector.iter().flatten() {
        let p = format!("{sp}.nodeSelector.{k}");
        if let Err(e) = validate_label_key(k) {
            ctx.err_key(&p, format!("Invalid value: \"{k}\": {e}"), None);
        }
        if let Err(e) = validate_label_value(v) {
            ctx.err(&p, format!("Invalid value: \"{v}\": {e}"));
        }
        out.node_selector.insert(k.clone(), v.clone());
    }
    if let Some(aff) = &spec.affinity {
        let ap = format!("{sp}.affinity");
        if let Some(na) = &aff.node_affinity {
            let np = format!("{ap}.nodeAffinity");
            if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
                let rp = format!("{np}.requiredDuringSchedulingIgnoredDuringExecution");
                match node_selector_from_k8s(req) {
                    Ok(s) => out.required_node_affinity = Some(s),
                    Err(e) => ctx.err_list(&rp, &e),
                }
            }
            for (i, pref) in na
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .enumerate()
            {
                let pp = format!("{np}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
                check_weight(ctx, &pp, pref.weight);
                match node_selector_term_from_k8s(&pref.preference) {
                    Ok(t) => out.preferred_node_affinity.push((pref.weight, t)),
                    Err(e) => ctx.err_list(&format!("{pp}.preference"), &e),
                }
            }
        }
        if let Some(pa) = &aff.pod_affinity {
            out.pod_affinity = pod_affinity(
                ctx,
                &format!("{ap}.podAffinity"),
                pa.required_during_scheduling_ignored_during_execution
                    .as_deref(),
                pa.preferred_during_scheduling_ignored_during_execution
                    .as_deref(),
                at.namespace,
            );
        }
        if let Some(pa) = &aff.pod_anti_affinity {
            out.pod_anti_affinity = pod_affinity(
                ctx,
                &format!("{ap}.podAntiAffinity"),
                pa.required_during_scheduling_ignored_during_execution
                    .as_deref(),
                pa.preferred_during_scheduling_ignored_during_execution
                    .as_deref(),
                at.namespace,
            );
        }
    }
    for (i, t) in spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
    {
        if let Some(c) = spread_constraint(ctx, &format!("{sp}.topologySpreadConstraints[{i}]"), t)
        {
            out.topology_spread.push(c);
        }
    }

    // Tolerations, then what the DaemonSet controller and the admission plugin add.
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        match toleration_from_k8s(t) {
            Ok(t) => out.tolerations.push(t),
            Err(e) => ctx.err_list(&format!("{sp}.tolerations[{i}]"), &e),
        }
    }
    if at.workload == Workload::DaemonSet {
        add_daemon_pod_tolerations(&mut out.tolerations, host_network);
    }
    add_default_toleration_seconds(&mut out.tolerations);

    // Priority (resolved at insert), preemption, scheduler.
    let priority_class = spec
        .priority_class_name
        .clone()
        .filter(|n| !n.is_empty())
        .map(|n| (n, ctx.loc(&format!("{sp}.priorityClassName"))));
    out.priority_class = priority_class.as_ref().map(|(n, _)| n.clone());
    let explicit_priority = spec
        .priority
        .map(|p| (p, ctx.loc(&format!("{sp}.priority"))));
    let explicit_preemption = match spec.preemption_policy.as_deref() {
        None => None,
        Some(s) => {
            let path = format!("{sp}.preemptionPolicy");
            preemption_policy(ctx, &path, s).map(|p| (p, ctx.loc(&path)))
        }
    };
    if let Some((p, _)) = &explicit_preemption {
        out.preemption_policy = *p;
    }
    if let Some(name) = spec.scheduler_name.as_deref().filter(|n| !n.is_empty()) {
        out.scheduler_name = name.to_string();
    }

    // Life.
    let restart_path = format!("{sp}.restartPolicy");
    out.restart_policy = match spec.restart_policy.as_deref() {
        None | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        Some(other) => {
            ctx.err(
                &restart_path,
                format!("Unsupported value: \"{other}\": supported values: \"Always\", \"OnFailure\", \"Never\""),
            );
            RestartPolicy::Always
        }
    };
    match at.workload {
        Workload::Job => match spec.restart_policy.as_deref() {
            None => ctx.err(
                &restart_path,
                "Required value: valid values: \"OnFailure\", \"Never\"",
            ),
            Some("Always") => ctx.err(
                &restart_path,
                "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
            ),
            _ => {}
        },
        Workload::Pod => {}
        _ => {
            if let Some(p @ ("OnFailure" | "Never")) = spec.restart_policy.as_deref() {
                ctx.err(
                    &restart_path,
                    format!("Unsupported value: \"{p}\": supported values: \"Always\""),
                );
            }
        }
    }
    if let Some(g) = spec.termination_grace_period_seconds {
        out.termination_grace = seconds(ctx, &format!("{sp}.terminationGracePeriodSeconds"), g);
    }
    out.behaviour = behaviour(ctx, at, meta);

    Template {
        spec: out,
        scalars,
        priority_class,
        explicit_priority,
        explicit_preemption,
    }
}

pub fn preemption_policy(ctx: &mut Ctx, path: &str, s: &str) -> Option<PreemptionPolicy> {
    match s {
        "PreemptLowerPriority" => Some(PreemptionPolicy::PreemptLowerPriority),
        "Never" => Some(PreemptionPolicy::Never),
        other => {
            ctx.err(
                path,
                format!("Unsupported value: \"{other}\": supported values: \"Never\", \"PreemptLowerPriority\""),
            );
            None
        }
    }
}

fn check_weight(ctx: &mut Ctx, path: &str, w: i32) {
    if !(1..=100).contains(&w) {
        ctx.err(
            &format!("{path}.weight"),
            format!("Invalid value: {w}: must be in the range 1-100"),
        );
    }
}

fn pod_affinity(
    ctx: &mut Ctx,
    path: &str,
    required: Option<&[core::PodAffinityTerm]>,
    preferred: Option<&[core::WeightedPodAffinityTerm]>,
    namespace: &str,
) -> PodAffinity {
    let mut out = PodAffinity::default();
    for (i, t) in required.unwrap_or(&[]).iter().enumerate() {
        let p = format!("{path}.requiredDuringSchedulingIgnoredDuringExecution[{i}]");
        if let Some(t) = affinity_term(ctx, &p, t, namespace) {
            out.required.push(t);
        }
    }
    for (i, w) in preferred.unwrap_or(&[]).iter().enumerate() {
        let p = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
        check_weight(ctx, &p, w.weight);
        if let Some(t) = affinity_term(
            ctx,
            &format!("{p}.podAffinityTerm"),
            &w.pod_affinity_term,
            namespace,
        ) {
            out.preferred.push((w.weight, t));
        }
    }
    out
}

fn affinity_term(
    ctx: &mut Ctx,
    path: &str,
    t: &core::PodAffinityTerm,
    namespace: &str,
) -> Option<PodAffinityTerm> {
    let mut ok = true;
    if t.topology_key.is_empty() {
        ctx.err(
            &format!("{path}.topologyKey"),
            "Required value: can not be empty",
        );
        ok = false;
    } else if let Err(e) = validate_label_key(&t.topology_key) {
        ctx.err(
            &format!("{path}.topologyKey"),
            format!("Invalid value: \"{}\": {e}", t.topology_key),
        );
        ok = false;
    }
    let selector = match &t.label_selector {
        None => None,
        Some(s) => match selector_from_k8s(s) {
            Ok(s) => Some(s),
            Err(e) => {
                ctx.err_list(&format!("{path}.labelSelector"), &e);
                ok = false;
                None
            }
        },
    };
    let namespace_selector = match &t.namespace_selector {
        None => None,
        Some(s) => match selector_from_k8s(s) {
            Ok(s) => Some(s),
            Err(e) => {
                ctx.err_list(&format!("{path}.namespaceSelector"), &e);
                ok = false;
                None
            }
        },
    };
    let mut namespaces = t.namespaces.clone().unwrap_or_default();
    if namespaces.is_empty() && namespace_selector.is_none() {
        namespaces.push(namespace.to_string());
    }
    ok.then_some(PodAffinityTerm {
        selector,
        namespaces,
        namespace_selector,
        topology_key: t.topology_key.clone(),
    })
}

fn inclusion(
    ctx: &mut Ctx,
    path: &str,
    v: Option<&str>,
    default: InclusionPolicy,
) -> InclusionPolicy {
    match v {
        None => default,
        Some("Honor") => InclusionPolicy::Honor,
        Some("Ignore") => InclusionPolicy::Ignore,
        Some(other) => {
            ctx.err(
                path,
                format!("Unsupported value: \"{other}\": supported values: \"Honor\", \"Ignore\""),
            );
            default
        }
    }
}

/// `validateTopologySpreadConstraints`, with the defaults of nodeAffinityPolicy
/// (Honor) and nodeTaintsPolicy (Ignore).
fn spread_constraint(
    ctx: &mut Ctx,
    path: &str,
    t: &core::TopologySpreadConstraint,
) -> Option<TopologySpreadConstraint> {
    let before = ctx.errors.len();
    if t.max_skew <= 0 {
        ctx.err(
            &format!("{path}.maxSkew"),
            format!("Invalid value: {}: must be greater than zero", t.max_skew),
        );
    }
    if t.topology_key.is_empty() {
        ctx.err(
            &format!("{path}.topologyKey"),
            "Required value: can not be empty",
        );
    } else if let Err(e) = validate_label_key(&t.topology_key) {
        ctx.err(
            &format!("{path}.topologyKey"),
            format!("Invalid value: \"{}\": {e}", t.topology_key),
        );
    }
    let when = match t.when_unsatisfiable.as_str() {
        "DoNotSchedule" => UnsatisfiableAction::DoNotSchedule,
        "ScheduleAnyway" => UnsatisfiableAction::ScheduleAnyway,
        other => {
            ctx.err(
                &format!("{path}.whenUnsatisfiable"),
                format!("Unsupported value: \"{other}\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\""),
            );
            UnsatisfiableAction::DoNotSchedule
        }
    };
    if let Some(m) = t.min_domains {
        if m <= 0 {
            ctx.err(
                &format!("{path}.minDomains"),
                format!("Invalid value: {m}: must be greater than 0"),
            );
        } else if when != UnsatisfiableAction::DoNotSchedule {
            ctx.err(
                &format!("{path}.minDomains"),
                format!("Invalid value: {m}: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"),
            );
        }
    }
    let selector = match &t.label_selector {
        None => None,
        Some(s) => match selector_from_k8s(s) {
            Ok(s) => Some(s),
            Err(e) => {
                ctx.err_list(&format!("{path}.labelSelector"), &e);
                None
            }
        },
    };
    let node_affinity_policy = inclusion(
        ctx,
        &format!("{path}.nodeAffinityPolicy"),
        t.node_affinity_policy.as_deref(),
        InclusionPolicy::Honor,
    );
    let node_taints_policy = inclusion(
        ctx,
        &format!("{path}.nodeTaintsPolicy"),
        t.node_taints_policy.as_deref(),
        InclusionPolicy::Ignore,
    );
    (ctx.errors.len() == before).then(|| TopologySpreadConstraint {
        max_skew: t.max_skew,
        topology_key: t.topology_key.clone(),
        when_unsatisfiable: when,
        selector,
        min_domains: t.min_domains,
        node_affinity_policy,
        node_taints_policy,
        match_label_keys: t.match_label_keys.clone().unwrap_or_default(),
    })
}

fn no_execute(key: &str, seconds: Option<i64>) -> Toleration {
    Toleration {
        key: key.to_string(),
        op: TolerationOp::Exists,
        value: String::new(),
        effect: Some(TaintEffect::NoExecute),
        toleration_seconds: seconds,
    }
}

/// plugin/pkg/admission/defaulttolerationseconds: a pod that does not tolerate
/// `not-ready` / `unreachable` with NoExecute (a toleration with an empty key or
/// empty effect counts) gets one for 300 s each, in that order.
pub fn add_default_toleration_seconds(tols: &mut Vec<Toleration>) {
    let covers = |key: &str| {
        tols.iter().any(|t| {
            (t.key == key || t.key.is_empty())
                && (t.effect == Some(TaintEffect::NoExecute) || t.effect.is_none())
        })
    };
    let not_ready = covers(TAINT_NOT_READY);
    let unreachable = covers(TAINT_UNREACHABLE);
    if !not_ready {
        tols.push(no_execute(
            TAINT_NOT_READY,
            Some(DEFAULT_TOLERATION_SECONDS),
        ));
    }
    if !unreachable {
        tols.push(no_execute(
            TAINT_UNREACHABLE,
            Some(DEFAULT_TOLERATION_SECONDS),
        ));
    }
}

/// `v1helper.AddOrUpdateTolerationInPodSpec`: a toleration with the same key,
/// operator, value and effect is replaced in place; otherwise it is appended.
fn add_or_update(tols: &mut Vec<Toleration>, t: Toleration) {
    let same = |o: &Toleration| {
        o.key == t.key && o.op == t.op && o.value == t.value && o.effect == t.effect
    };
    if let Some(i) = tols.iter().position(same) {
        tols[i] = t;
    } else {
        tols.push(t);
    }
}

/// daemonset_util.go `AddOrUpdateDaemonPodTolerations`: daemons survive node
/// problems and run on cordoned nodes.
pub fn add_daemon_pod_tolerations(tols: &mut Vec<Toleration>, host_network: bool) {
    add_or_update(tols, no_execute(TAINT_NOT_READY, None));
    add_or_update(tols, no_execute(TAINT_UNREACHABLE, None));
    let mut no_schedule = vec![
        TAINT_DISK_PRESSURE,
        TAINT_MEMORY_PRESSURE,
        TAINT_PID_PRESSURE,
        TAINT_UNSCHEDULABLE,
    ];
    if host_network {
        no_schedule.push(TAINT_NETWORK_UNAVAILABLE);
    }
    for key in no_schedule {
        add_or_update(
            tols,
            Toleration {
                key: key.to_string(),
                op: TolerationOp::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoSchedule),
                toleration_seconds: None,
            },
        );
    }
}

fn behaviour(ctx: &mut Ctx, at: &TemplateAt, meta: &ObjectMeta) -> Behaviour {
    let annotations = meta.annotations.as_ref();
    let mut b = Behaviour::default();
    if let Some(v) = annotations.and_then(|a| a.get(DURATION_ANNOTATION)) {
        let path = format!("{}.annotations.{DURATION_ANNOTATION}", at.meta_path);
        match parse_duration(v) {
            Ok(us) => b.run_duration = Some(us),
            Err(e) => ctx.err(&path, e),
        }
    } else if at.workload == Workload::Job {
        b.run_duration = at.job_duration;
    }
    if let Some(v) = annotations.and_then(|a| a.get(EXIT_CODE_ANNOTATION)) {
        let path = format!("{}.annotations.{EXIT_CODE_ANNOTATION}", at.meta_path);
        match v.trim().parse::<i32>() {
            Ok(code) if (0..=255).contains(&code) => b.exit_code = code,
            _ => ctx.err(
                &path,
                format!("Invalid value: \"{v}\": an exit code is an integer from 0 to 255"),
            ),
        }
    }
    if let Some(v) = annotations.and_then(|a| a.get(CPU_BASELINE_ANNOTATION)) {
        let path = format!("{}.annotations.{CPU_BASELINE_ANNOTATION}", at.meta_path);
        match crate::model::quantity::parse_quantity(v) {
            Ok(q) if !q.is_negative() => {
                b.cpu_baseline_nanos = Some(i64::try_from(q.nanos()).unwrap_or(i64::MAX))
            }
            _ => ctx.err_hint(
                &path,
                format!("Invalid value: \"{v}\": expected a non-negative CPU quantity"),
                Some("CPU is written as a quantity: 50m, 0.25, 1".to_string()),
            ),
        }
    }
    for key in annotations.into_iter().flat_map(|a| a.keys()) {
        if key.starts_with("kubesim.dev/") && !ANNOTATIONS.contains(&key.as_str()) {
            let path = format!("{}.annotations.{key}", at.meta_path);
            let hint = did_you_mean(key, ANNOTATIONS)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("kubesim reads {}", ANNOTATIONS.join(", "))));
            ctx.err_key(&path, format!("unknown kubesim annotation {key:?}"), hint);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rl(pairs: &[(&str, i64)]) -> ResList {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn c(pairs: &[(&str, i64)], sidecar: bool) -> ContainerRequests {
        ContainerRequests {
            requests: rl(pairs),
            sidecar,
        }
    }

    #[test]
    fn sidecars_add_up_and_init_containers_see_earlier_sidecars() {
        // KEP-753's example shape: containers 1 cpu + 500m; init containers in
        // order: init-a 2 cpu, sidecar-b 300m, init-c 1500m, sidecar-d 200m.
        //   sum of app containers + sidecars = 1000 + 500 + 300 + 200 = 2000
        //   InitContainerUse(init-a) = 2000 + 0          = 2000
        //   InitContainerUse(init-c) = 1500 + 300        = 1800
        //   sidecar uses: 300, then 300 + 200 = 500
        //   max(2000, max(2000, 1800, 300, 500)) = 2000; + overhead 250 = 2250
        let containers = [c(&[("cpu", 1000)], false), c(&[("cpu", 500)], false)];
        let inits = [
            c(&[("cpu", 2000), ("memory", 100)], false),
            c(&[("cpu", 300)], true),
            c(&[("cpu", 1500), ("memory", 900)], false),
            c(&[("cpu", 200), ("memory", 50)], true),
        ];
        let r = pod_requests(
            &containers,
            &inits,
            &ResList::new(),
            &rl(&[("cpu", 250)]),
            false,
        );
        assert_eq!(r["cpu"], 2250);
        // memory: app 0 + sidecars 50 = 50; init-a 100; init-c 900 + 0 (sidecar-b has
        // no memory) = 900; sidecar-d cumulative 50 → max(50, 900) = 900.
        assert_eq!(r["memory"], 900);

        // Make init-a bigger than everything: 5 cpu wins over the 2000 sum.
        let inits = [c(&[("cpu", 5000)], false)];
        assert_eq!(
            pod_requests(&containers, &inits, &ResList::new(), &ResList::new(), false)["cpu"],
            5000
        );
    }

    #[test]
    fn non_zero_defaults_apply_per_container_that_omits_the_request() {
        // Two containers: one asks 250m and no memory, one asks nothing; an init
        // container asks 64Mi and no cpu.
        //   cpu:    250 + 100 = 350;  init: 100        → 350
        //   memory: 200Mi + 200Mi = 400Mi; init: 64Mi  → 400Mi
        let containers = [c(&[("cpu", 250)], false), c(&[], false)];
        let inits = [c(&[("memory", 64 << 20)], false)];
        let r = pod_requests(&containers, &inits, &ResList::new(), &ResList::new(), true);
        assert_eq!(r["cpu"], 350);
        assert_eq!(r["memory"], 2 * DEFAULT_MEMORY_REQUEST);
        // An explicit zero is not "missing" and stays zero.
        let r = pod_requests(
            &[c(&[("cpu", 0)], false)],
            &[],
            &ResList::new(),
            &ResList::new(),
            true,
        );
        assert_eq!(r["cpu"], 0);
    }

    #[test]
    fn pod_level_requests_replace_the_aggregate() {
        let containers = [c(&[("cpu", 100), ("memory", 10)], false)];
        let r = pod_requests(
            &containers,
            &[],
            &rl(&[("cpu", 2000)]),
            &rl(&[("cpu", 10)]),
            false,
        );
        assert_eq!(r["cpu"], 2010);
        assert_eq!(r["memory"], 10);
    }

    #[test]
    fn default_toleration_seconds_only_when_not_already_tolerated() {
        let mut tols = Vec::new();
        add_default_toleration_seconds(&mut tols);
        assert_eq!(
            tols,
            vec![
                no_execute(TAINT_NOT_READY, Some(300)),
                no_execute(TAINT_UNREACHABLE, Some(300))
            ]
        );
        // A toleration of every NoExecute taint (empty key) covers both.
        let mut tols = vec![Toleration {
            key: String::new(),
            op: TolerationOp::Exists,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: None,
        }];
        add_default_toleration_seconds(&mut tols);
        assert_eq!(tols.len(), 1);
        // One for not-ready with 60 s: only unreachable is added.
        let mut tols = vec![no_execute(TAINT_NOT_READY, Some(60))];
        add_default_toleration_seconds(&mut tols);
        assert_eq!(
            tols,
            vec![
                no_execute(TAINT_NOT_READY, Some(60)),
                no_execute(TAINT_UNREACHABLE, Some(300))
            ]
        );
    }

    #[test]
    fn daemon_pods_tolerate_node_problems_forever() {
        let mut tols = vec![no_execute(TAINT_NOT_READY, Some(60))];
        add_daemon_pod_tolerations(&mut tols, true);
        add_default_toleration_seconds(&mut tols);
        // The 60 s toleration is replaced in place (same key, operator, value, effect).
        assert_eq!(tols[0], no_execute(TAINT_NOT_READY, None));
        assert_eq!(tols[1], no_execute(TAINT_UNREACHABLE, None));
        let keys: Vec<&str> = tols[2..].iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                TAINT_DISK_PRESSURE,
                TAINT_MEMORY_PRESSURE,
                TAINT_PID_PRESSURE,
                TAINT_UNSCHEDULABLE,
                TAINT_NETWORK_UNAVAILABLE
            ]
        );
        assert!(
            tols[2..]
                .iter()
                .all(|t| t.effect == Some(TaintEffect::NoSchedule))
        );
    }
}
