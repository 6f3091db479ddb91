//! Loading a scenario file and its Kubernetes manifests into a validated
//! [`Scenario`]: the World at time zero plus the timed events.
//!
//! Parsing is two-stage (ripgrep's LowArgs → HiArgs): the YAML is deserialized
//! into raw serde structs that reject unknown fields with a did-you-mean hint,
//! then validated into typed values; every error names file, line, column and
//! field. The scenario document is strict; Kubernetes objects are checked as the
//! API server checks them (see `manifests`).

pub mod arrivals;
pub mod faults;
pub mod manifests;
pub mod podspec;
pub mod strict;
pub mod yaml;

pub use arrivals::{ArrivalDistribution, JobArrivals};
pub use faults::{
    ControllerSettings, NetworkSettings, PodTarget, PoolFailures, Rate, TimeToFailure,
    TrafficModel, TrafficSpec,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::controllers::deployment::TemplateChange;
use crate::engine::{SECOND, Time};
use crate::error::{Error, InputError, did_you_mean};
use crate::model::duration::parse_duration;
use crate::model::labels::{Labels, validate_label_key, validate_label_value};
use crate::model::quantity::parse_quantity;
use crate::model::taints::{Taint, taints_from_k8s};
use crate::model::{HOSTNAME_LABEL, KubeVersion, Node, Resources, World, ZONE_LABEL};
use yaml::Document;

pub const API_VERSION: &str = "kubesim.dev/v1alpha1";

/// Kubelet pod start-up latency when a pool does not set `startupLatency`:
/// image already cached, sandbox and container start. A documented simplification.
pub const DEFAULT_STARTUP_LATENCY: Time = 2 * SECOND;
/// Image size assumed for ImageLocality when neither the node nor `spec.images` says.
pub const DEFAULT_IMAGE_SIZE: i64 = 100 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScenario {
    api_version: String,
    kind: String,
    metadata: RawMeta,
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    seed: Option<u64>,
    duration: String,
    #[serde(default)]
    kubernetes_version: Option<String>,
    #[serde(default)]
    cluster: Option<RawCluster>,
    #[serde(default)]
    scheduler: Option<String>,
    #[serde(default)]
    manifests: Vec<String>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    traffic: Vec<Value>,
    #[serde(default)]
    job_arrivals: Vec<Value>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    #[serde(default)]
    images: BTreeMap<String, Value>,
    #[serde(default)]
    controllers: Option<Value>,
    #[serde(default)]
    network: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCluster {
    #[serde(default)]
    node_pools: Vec<RawPool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPool {
    name: String,
    count: i64,
    #[serde(default)]
    zones: Vec<String>,
    allocatable: BTreeMap<String, Value>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    taints: Vec<k8s_openapi::api::core::v1::Taint>,
    #[serde(default)]
    startup_latency: Option<String>,
    #[serde(default)]
    failure_rate: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDefaults {
    #[serde(default)]
    job_duration: Option<String>,
    #[serde(default)]
    startup_latency: Option<String>,
    #[serde(default)]
    image_size: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawEvent {
    pub(crate) at: String,
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) node: Option<String>,
    #[serde(default)]
    pub(crate) nodes: Vec<String>,
    #[serde(default)]
    pub(crate) zone: Option<String>,
    #[serde(default, rename = "for")]
    pub(crate) for_: Option<String>,
    #[serde(default)]
    pub(crate) target: Option<String>,
    #[serde(default)]
    pub(crate) replicas: Option<i64>,
    #[serde(default)]
    pub(crate) pod: Option<String>,
    #[serde(default)]
    pub(crate) image: Option<String>,
    #[serde(default)]
    pub(crate) container: Option<String>,
    #[serde(default)]
    pub(crate) service: Option<String>,
    #[serde(default)]
    pub(crate) rate: Option<String>,
}

/// The actions a scenario event can take.
pub const ACTIONS: &[&str] = &[
    "scale",
    "rollout",
    "failNode",
    "recoverNode",
    "failZone",
    "recoverZone",
    "partition",
    "killPod",
    "crashPod",
    "setTraffic",
];
/// Actions parsed by [`faults::event_action`].
const FAULT_ACTIONS: &[&str] = &[
    "failNode",
    "recoverNode",
    "failZone",
    "recoverZone",
    "partition",
    "killPod",
    "crashPod",
    "setTraffic",
];

/// A workload addressed as `KIND/[NAMESPACE/]NAME`.
pub use crate::model::ScaleTarget;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Scale {
        target: ScaleTarget,
        replicas: i32,
    },
    /// A new pod template for a Deployment (`kubectl set image` or
    /// `kubectl rollout restart`): the Deployment controller rolls it out.
    Rollout {
        deployment: crate::model::DeploymentId,
        change: TemplateChange,
    },
    /// `failNode` / `failZone`: the machines stop (kubelet and pods).
    FailNodes {
        nodes: Vec<crate::model::NodeId>,
        duration: Option<Time>,
    },
    /// `recoverNode` / `recoverZone`.
    RecoverNodes {
        nodes: Vec<crate::model::NodeId>,
    },
    /// The nodes (or the whole zone) lose contact with the control plane
    /// (a zone also with other zones).
    Partition {
        nodes: Vec<crate::model::NodeId>,
        zone: Option<String>,
        duration: Option<Time>,
    },
    /// A pod's container is killed once; restartPolicy decides.
    KillPod {
        target: PodTarget,
    },
    /// A pod's container crashes on every start (for `duration`, or for ever).
    CrashPod {
        target: PodTarget,
        duration: Option<Time>,
    },
    /// Change the request rate of `spec.traffic[traffic]`.
    SetTraffic {
        traffic: usize,
        rate: Rate,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioEvent {
    pub at: Time,
    pub action: Action,
    /// How the event was written, for reports (`scale deployment/hello-world to 10`).
    pub label: String,
}

/// Settings that apply to every object of the scenario.
#[derive(Clone, Debug)]
pub struct Defaults {
    pub job_duration: Option<Time>,
    pub startup_latency: Time,
    pub image_size: i64,
}

/// A loaded, validated scenario: the World at time zero and what happens later.
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub base_dir: PathBuf,
    /// FNV-1a of the scenario file and every manifest it loads, hex.
    pub content_hash: String,
    pub seed: u64,
    pub duration: Time,
    pub kubernetes_version: KubeVersion,
    pub scheduler: String,
    pub defaults: Defaults,
    pub world: World,
    pub events: Vec<ScenarioEvent>,
    pub ignored: BTreeMap<String, usize>,
    /// `spec.controllers`: node lifecycle timings.
    pub controllers: ControllerSettings,
    /// `spec.network`: latencies, kube-proxy delay, traffic model.
    pub network: NetworkSettings,
    /// `spec.traffic`.
    pub traffic: Vec<TrafficSpec>,
    /// Pools with a `failureRate`.
    pub pool_failures: Vec<PoolFailures>,
    /// `spec.jobArrivals`.
    pub job_arrivals: Vec<JobArrivals>,
    /// What loading decided that the user should know (e.g. a pod the kubelet rejected).
    pub notes: Vec<String>,
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// A quantity written as a string or a bare YAML number.
fn quantity_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn duration_at(doc: &Document, file: &str, path: &str, s: &str) -> Result<Time, InputError> {
    parse_duration(s).map_err(|m| {
        doc.error(file, path, m)
            .hint("durations are written as in Go: 90s, 5m, 1h30m")
    })
}

/// Load a scenario file, its inline manifests and the manifest files it lists.
pub fn load(path: &Path) -> Result<Scenario, Error> {
    let file = path.display().to_string();
    let bytes = read_file(path)?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    fnv(&mut hash, &bytes);
    let docs = yaml::parse_bytes(&file, &bytes)?;
    let first = &docs[0];
    let kind = first
        .value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != "Scenario" {
        let (l, c) = first.locate("kind");
        return Err(InputError::new(
            &file,
            format!("the first document must be a kubesim Scenario, found kind {kind:?}"),
        )
        .at(l, c)
        .field("kind")
        .hint(format!(
            "start the file with `apiVersion: {API_VERSION}` and `kind: Scenario`"
        ))
        .into());
    }
    let raw: RawScenario = first.deserialize(&file)?;
    if raw.api_version != API_VERSION {
        return Err(first
            .error(
                &file,
                "apiVersion",
                format!("unsupported apiVersion {:?}", raw.api_version),
            )
            .hint(format!("use {API_VERSION}"))
            .into());
    }
    let _ = raw.kind;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut errors: Vec<InputError> = Vec::new();
    let spec = raw.spec;

    let duration = match duration_at(first, &file, "spec.duration", &spec.duration) {
        Ok(0) => {
            errors.push(first.error(&file, "spec.duration", "duration must be positive"));
            0
        }
        Ok(d) => d,
        Err(e) => {
            errors.push(e);
            0
        }
    };
    let kubernetes_version = match &spec.kubernetes_version {
        None => KubeVersion::DEFAULT,
        Some(v) => KubeVersion::parse(v).unwrap_or_else(|m| {
            errors.push(first.error(&file, "spec.kubernetesVersion", m));
            KubeVersion::DEFAULT
        }),
    };
    let mut defaults = Defaults {
        job_duration: None,
        startup_latency: DEFAULT_STARTUP_LATENCY,
        image_size: DEFAULT_IMAGE_SIZE,
    };
    if let Some(d) = &spec.defaults {
        if let Some(s) = &d.job_duration {
            match duration_at(first, &file, "spec.defaults.jobDuration", s) {
                Ok(t) => defaults.job_duration = Some(t),
                Err(e) => errors.push(e),
            }
        }
        if let Some(s) = &d.startup_latency {
            match duration_at(first, &file, "spec.defaults.startupLatency", s) {
                Ok(t) => defaults.startup_latency = t,
                Err(e) => errors.push(e),
            }
        }
        if let Some(v) = &d.image_size {
            match quantity_text(v).map(|t| parse_quantity(&t)) {
                Some(Ok(q)) if !q.is_negative() => defaults.image_size = q.value(),
                _ => errors.push(first.error(
                    &file,
                    "spec.defaults.imageSize",
                    "image size must be a non-negative quantity such as 500Mi",
                )),
            }
        }
    }
    let controllers =
        faults::controllers(first, &file, spec.controllers.as_ref()).unwrap_or_else(|mut e| {
            errors.append(&mut e);
            ControllerSettings::default()
        });
    let network = faults::network(first, &file, spec.network.as_ref()).unwrap_or_else(|mut e| {
        errors.append(&mut e);
        NetworkSettings::default()
    });

    let mut world = World::default();
    for (name, v) in &spec.images {
        match quantity_text(v).map(|t| parse_quantity(&t)) {
            Some(Ok(q)) if !q.is_negative() => {
                world.image_sizes.insert(name.clone(), q.value());
            }
            _ => errors.push(first.error(
                &file,
                &format!("spec.images.{name}"),
                "image size must be a non-negative quantity such as 500Mi",
            )),
        }
    }
    let mut pool_failures = Vec::new();
    if let Some(cluster) = &spec.cluster {
        for (i, pool) in cluster.node_pools.iter().enumerate() {
            if let Err(mut e) = add_pool(&mut world, first, &file, i, pool, &defaults) {
                errors.append(&mut e);
            }
            if let Some(v) = &pool.failure_rate {
                let path = format!("spec.cluster.nodePools[{i}].failureRate");
                match faults::failure_rate(first, &file, &path, v) {
                    Ok((time_to_failure, repair)) => pool_failures.push(PoolFailures {
                        pool: pool.name.clone(),
                        nodes: (0..pool.count.max(0))
                            .filter_map(|n| world.node_by_name(&format!("{}-{n}", pool.name)))
                            .collect(),
                        time_to_failure,
                        repair,
                    }),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
    }

    // Manifests: the documents after the scenario, then the listed files in order.
    let load_defaults = manifests::LoadDefaults {
        job_duration: defaults.job_duration,
        default_image_size: defaults.image_size,
        startup_latency: defaults.startup_latency,
    };
    let mut summary = manifests::LoadSummary::default();
    let mut parsed = Vec::new();
    match manifests::parse_objects(&file, &docs[1..], &load_defaults, &mut summary) {
        Ok(mut p) => parsed.append(&mut p),
        Err(mut e) => errors.append(&mut e),
    }
    for (i, m) in spec.manifests.iter().enumerate() {
        let mpath = base_dir.join(m);
        let mfile = mpath.display().to_string();
        let bytes = match std::fs::read(&mpath) {
            Ok(b) => b,
            Err(e) => {
                errors.push(
                    first
                        .error(
                            &file,
                            &format!("spec.manifests[{i}]"),
                            format!("cannot read manifest file {mfile}: {e}"),
                        )
                        .hint("manifest paths are relative to the scenario file"),
                );
                continue;
            }
        };
        fnv(&mut hash, &bytes);
        match yaml::parse_bytes(&mfile, &bytes) {
            Ok(mdocs) => {
                match manifests::parse_objects(&mfile, &mdocs, &load_defaults, &mut summary) {
                    Ok(mut p) => parsed.append(&mut p),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    let notes =
        manifests::insert_objects(&mut world, parsed, &load_defaults).map_err(Error::Input)?;
    if world.nodes.is_empty() {
        return Err(first
            .error(&file, "spec.cluster", "the cluster has no nodes")
            .hint("add spec.cluster.nodePools, or Node objects to the manifests")
            .into());
    }

    let traffic = faults::traffic(&world, first, &file, &spec.traffic).unwrap_or_else(|mut e| {
        errors.append(&mut e);
        Vec::new()
    });
    let job_arrivals = arrivals::job_arrivals(&world, first, &file, &spec.job_arrivals, duration)
        .unwrap_or_else(|mut e| {
            errors.append(&mut e);
            Vec::new()
        });
    let mut events = Vec::new();
    for (i, ev) in spec.events.iter().enumerate() {
        match event(&world, &traffic, first, &file, i, ev, duration) {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    // Events at the same instant keep file order (stable sort).
    events.sort_by_key(|e| e.at);

    Ok(Scenario {
        name: raw.metadata.name,
        file,
        base_dir,
        content_hash: format!("{hash:016x}"),
        seed: spec.seed.unwrap_or(0),
        duration,
        kubernetes_version,
        scheduler: spec.scheduler.unwrap_or_else(|| "default".to_string()),
        defaults,
        world,
        events,
        ignored: summary.ignored,
        controllers,
        network,
        traffic,
        pool_failures,
        job_arrivals,
        notes,
    })
}

fn add_pool(
    world: &mut World,
    doc: &Document,
    file: &str,
    i: usize,
    pool: &RawPool,
    defaults: &Defaults,
) -> Result<(), Vec<InputError>> {
    let at = |f: &str| format!("spec.cluster.nodePools[{i}].{f}");
    let mut errors = Vec::new();
    if let Err(m) = crate::model::labels::validate_dns1123_subdomain(&pool.name) {
        errors.push(doc.error(file, &at("name"), m));
    }
    if pool.count < 0 || pool.count > 100_000 {
        errors.push(doc.error(
            file,
            &at("count"),
            format!("count must be between 0 and 100000, got {}", pool.count),
        ));
    }
    let mut alloc = Resources {
        pods: 110,
        ..Default::default()
    };
    let mut has_cpu = false;
    let mut has_mem = false;
    for (name, v) in &pool.allocatable {
        let path = at(&format!("allocatable.{name}"));
        // Given but invalid still counts as given: its own error says what is wrong.
        has_cpu |= name == "cpu";
        has_mem |= name == "memory";
        let q = match quantity_text(v).map(|t| parse_quantity(&t)) {
            Some(Ok(q)) if !q.is_negative() => q,
            Some(Ok(_)) => {
                errors.push(doc.error(file, &path, "allocatable must not be negative"));
                continue;
            }
            Some(Err(m)) => {
                errors.push(doc.error(file, &path, m));
                continue;
            }
            None => {
                errors.push(doc.error(
                    file,
                    &path,
                    "expected a quantity such as \"4\", 500m or 16Gi",
                ));
                continue;
            }
        };
        match name.as_str() {
            "cpu" => alloc.milli_cpu = q.milli_value(),
            "memory" => alloc.memory = q.value(),
            "ephemeral-storage" => alloc.ephemeral_storage = q.value(),
            "pods" => alloc.pods = q.value(),
            other if other.contains('/') || other.starts_with("hugepages-") => {
                let id = world.scalar_id(other);
                alloc.set_scalar(id, q.value());
            }
            other => errors.push(
                doc.error(file, &path, format!("unknown resource {other:?}"))
                    .hint(
                        did_you_mean(other, ["cpu", "memory", "ephemeral-storage", "pods"])
                            .map_or_else(
                                || {
                                    "extended resources need a domain prefix, e.g. nvidia.com/gpu"
                                        .to_string()
                                },
                                |s| format!("did you mean `{s}`?"),
                            ),
                    ),
            ),
        }
    }
    if !has_cpu || !has_mem {
        errors.push(doc.error(
            file,
            &at("allocatable"),
            "allocatable must give at least cpu and memory",
        ));
    }
    for (k, v) in &pool.labels {
        if let Err(m) = validate_label_key(k).and_then(|_| validate_label_value(v)) {
            errors.push(doc.error(file, &at(&format!("labels.{k}")), m));
        }
    }
    let taints: Vec<Taint> = match taints_from_k8s(&pool.taints) {
        Ok(t) => t,
        Err(m) => {
            errors.push(doc.error(file, &at("taints"), m));
            Vec::new()
        }
    };
    let startup = match &pool.startup_latency {
        Some(s) => match duration_at(doc, file, &at("startupLatency"), s) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                0
            }
        },
        None => defaults.startup_latency,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    for n in 0..pool.count {
        let name = format!("{}-{n}", pool.name);
        if world.node_by_name(&name).is_some() {
            return Err(vec![doc.error(
                file,
                &at("name"),
                format!("node {name} already exists: pool names must be unique"),
            )]);
        }
        let mut labels = pool.labels.clone();
        labels.insert(HOSTNAME_LABEL.to_string(), name.clone());
        if !pool.zones.is_empty() {
            labels.insert(
                ZONE_LABEL.to_string(),
                pool.zones[n as usize % pool.zones.len()].clone(),
            );
        }
        world.add_node(Node {
            name,
            labels,
            taints: taints.clone(),
            unschedulable: false,
            allocatable: alloc.clone(),
            requested: Resources::default(),
            nonzero_requested: (0, 0),
            pods: Vec::new(),
            images: Vec::new(),
            pool: Some(pool.name.clone()),
            startup_latency: startup,
            up: true,
            reachable: true,
            ready: true,
            deleted: false,
        });
    }
    Ok(())
}

/// Split `KIND/[NAMESPACE/]NAME` into (lower-case kind, namespace, name);
/// the namespace is `default` when omitted.
pub(crate) fn split_object_ref(s: &str) -> Option<(String, &str, &str)> {
    let mut parts = s.splitn(3, '/');
    let kind = parts.next().unwrap_or("").to_ascii_lowercase();
    match (parts.next(), parts.next()) {
        (Some(n), None) => Some((kind, "default", n)),
        (Some(ns), Some(n)) => Some((kind, ns, n)),
        _ => None,
    }
}

/// Resolve `KIND/[NAMESPACE/]NAME` to a scalable workload.
pub fn resolve_target(world: &World, s: &str) -> Result<ScaleTarget, String> {
    let Some((kind, ns, name)) = split_object_ref(s) else {
        return Err(format!(
            "target {s:?} must be KIND/[NAMESPACE/]NAME, e.g. deployment/hello-world"
        ));
    };
    let find = |metas: Vec<&crate::model::Meta>| -> Result<usize, String> {
        metas
            .iter()
            .position(|m| m.namespace == ns && m.name == name)
            .ok_or_else(|| {
                let names: Vec<String> = metas.iter().map(|m| m.name.clone()).collect();
                let hint = did_you_mean(name, names.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                format!("no {kind} named {ns}/{name} in the scenario{hint}")
            })
    };
    match kind.as_str() {
        "deployment" | "deploy" | "deployments" => Ok(ScaleTarget::Deployment(
            crate::model::DeploymentId(
                find(world.deployments.iter().map(|d| &d.meta).collect())? as u32
            ),
        )),
        "replicaset" | "rs" | "replicasets" => Ok(ScaleTarget::ReplicaSet(
            crate::model::ReplicaSetId(
                find(world.replicasets.iter().map(|d| &d.meta).collect())? as u32
            ),
        )),
        "statefulset" | "sts" | "statefulsets" => Ok(ScaleTarget::StatefulSet(
            crate::model::StatefulSetId(
                find(world.statefulsets.iter().map(|d| &d.meta).collect())? as u32,
            ),
        )),
        _ => Err(format!(
            "cannot scale kind {kind:?}: use deployment, replicaset or statefulset"
        )),
    }
}

fn event(
    world: &World,
    traffic: &[TrafficSpec],
    doc: &Document,
    file: &str,
    i: usize,
    ev: &RawEvent,
    duration: Time,
) -> Result<ScenarioEvent, InputError> {
    let at = |f: &str| format!("spec.events[{i}].{f}");
    let t = duration_at(doc, file, &at("at"), &ev.at)?;
    if t > duration {
        return Err(doc.error(
            file,
            &at("at"),
            format!(
                "event at {} is after the end of the run ({})",
                ev.at,
                crate::model::duration::format_duration(duration)
            ),
        ));
    }
    if !ACTIONS.contains(&ev.action.as_str()) {
        let mut e = doc.error(
            file,
            &at("action"),
            format!("unknown action {:?}", ev.action),
        );
        e = match did_you_mean(&ev.action, ACTIONS.iter().copied()) {
            Some(s) => e.hint(format!("did you mean `{s}`?")),
            None => e.hint(format!("actions are: {}", ACTIONS.join(", "))),
        };
        return Err(e);
    }
    if FAULT_ACTIONS.contains(&ev.action.as_str()) {
        let (action, label) = faults::event_action(world, traffic, doc, file, i, ev)?;
        return Ok(ScenarioEvent {
            at: t,
            action,
            label,
        });
    }
    if ev.action == "rollout" {
        return rollout(world, doc, file, i, ev).map(|(action, label)| ScenarioEvent {
            at: t,
            action,
            label,
        });
    }
    // Only `scale` remains.
    let target = ev.target.as_deref().ok_or_else(|| {
        doc.error(
            file,
            &at("action"),
            "scale needs `target` (e.g. deployment/hello-world)",
        )
    })?;
    let target_id = resolve_target(world, target).map_err(|m| doc.error(file, &at("target"), m))?;
    let replicas = ev
        .replicas
        .ok_or_else(|| doc.error(file, &at("action"), "scale needs `replicas`"))?;
    if !(0..=1_000_000).contains(&replicas) {
        return Err(doc.error(
            file,
            &at("replicas"),
            format!("replicas must be between 0 and 1000000, got {replicas}"),
        ));
    }
    Ok(ScenarioEvent {
        at: t,
        action: Action::Scale {
            target: target_id,
            replicas: replicas as i32,
        },
        label: format!("scale {target} to {replicas}"),
    })
}

/// `{action: rollout, target: deployment/NAME, image: IMAGE, container: NAME}`;
/// without `image`, a restart (`kubectl rollout restart`).
fn rollout(
    world: &World,
    doc: &Document,
    file: &str,
    i: usize,
    ev: &RawEvent,
) -> Result<(Action, String), InputError> {
    let at = |f: &str| format!("spec.events[{i}].{f}");
    if ev.replicas.is_some() {
        return Err(doc
            .error(file, &at("replicas"), "rollout takes no `replicas`")
            .hint("scale the Deployment with a separate `scale` event"));
    }
    let target = ev.target.as_deref().ok_or_else(|| {
        doc.error(
            file,
            &at("action"),
            "rollout needs `target` (e.g. deployment/web)",
        )
    })?;
    let deployment = match resolve_target(world, target) {
        Ok(ScaleTarget::Deployment(d)) => d,
        Ok(_) => {
            return Err(doc
                .error(
                    file,
                    &at("target"),
                    format!("cannot roll out {target:?}: rollout applies to Deployments"),
                )
                .hint("use deployment/NAME"));
        }
        Err(m) => return Err(doc.error(file, &at("target"), m)),
    };
    let spec = world.spec(world.deployments[deployment.idx()].spec);
    let change = match (&ev.image, &ev.container) {
        (None, None) => TemplateChange::Restart,
        (None, Some(_)) => {
            return Err(doc
                .error(file, &at("container"), "`container` needs `image`")
                .hint("give the container's new image, or drop `container` to restart every pod"));
        }
        (Some(image), container) => {
            if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
                return Err(doc.error(
                    file,
                    &at("image"),
                    format!("invalid image {image:?}: expected a reference such as web:v2"),
                ));
            }
            if let Some(c) = container
                && !spec.containers.contains(c)
            {
                let mut e = doc.error(
                    file,
                    &at("container"),
                    format!("{target} has no container named {c:?}"),
                );
                e = match did_you_mean(c, spec.containers.iter().map(String::as_str)) {
                    Some(s) => e.hint(format!("did you mean `{s}`?")),
                    None => e.hint(format!(
                        "its containers are: {}",
                        spec.containers.join(", ")
                    )),
                };
                return Err(e);
            }
            TemplateChange::Image {
                container: container.clone(),
                image: image.clone(),
            }
        }
    };
    let label = match &change {
        TemplateChange::Restart => format!("rollout restart {target}"),
        TemplateChange::Image {
            container: Some(c),
            image,
        } => format!("rollout {target} {c}={image}"),
        TemplateChange::Image {
            container: None,
            image,
        } => format!("rollout {target} to {image}"),
    };
    Ok((Action::Rollout { deployment, change }, label))
}
