//! Kubernetes manifests into the World, checked as the API server checks them.
//!
//! Two steps, because a PriorityClass may come in a later file than the pods that
//! use it: [`parse_objects`] turns one file's documents into validated
//! [`Parsed`] objects (strict decoding with k8s-openapi's types — see
//! `strict.rs` —, defaulting, validation, pod templates compiled by
//! `podspec.rs`); [`insert_objects`] takes every file's objects, resolves what
//! refers to other objects (priorityClassName, the globalDefault class,
//! spec.nodeName) and only then changes the World, in a deterministic order:
//! PriorityClasses, then Nodes, then everything else in file order.
//!
//! Follows pkg/apis/{core,apps,batch,policy,scheduling,autoscaling}/validation
//! and the v1 defaulting of each kind, the Priority admission plugin
//! (plugin/pkg/admission/priority) and the kubelet's admission of pods that
//! arrive already bound (pkg/kubelet/lifecycle/predicate.go) (v1.35).
//!
//! Simplified, deliberately:
//! - Kinds the simulator does not model (ConfigMap, Secret, Namespace, RBAC,
//!   Ingress, CRDs and custom resources…) are accepted and counted in
//!   [`LoadSummary::ignored`]; a few common core kinds are still checked for
//!   unknown fields.
//! - A pod with `ownerReferences` is loaded as a bare pod, even when its owner is
//!   in the same load: a `kubectl get pods -o yaml` dump seeds existing state,
//!   and its owners' controllers are not re-created from it.
//! - A pod whose dumped `status.phase` is Succeeded or Failed is history, not
//!   state: it is counted as ignored.
//! - Objects defined twice (same kind, namespace and name) are an error, where
//!   `kubectl apply` would let the later one win: in a simulation that is almost
//!   always a mistake.

// `InputError` is wide; errors are the cold path (see yaml.rs).
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::{v1 as autoscaling_v1, v2 as autoscaling_v2};
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::engine::{SECOND, Time};
use crate::error::{InputError, did_you_mean};
use crate::model::labels::{
    LabelSelector, Labels, Operator, Requirement, selector_from_k8s, validate_dns1123_label,
    validate_dns1123_subdomain, validate_labels,
};
use crate::model::taints::{TaintEffect, find_untolerated, taints_from_k8s};
use crate::model::{
    DaemonSet, Deployment, DeploymentStrategy, HOSTNAME_LABEL, Hpa, HpaBehavior, HpaPolicyType,
    HpaScalingPolicy, HpaScalingRules, HpaStatus, IntOrPercent, Job, JobState, Meta, Node, NodeId,
    Pod, PodDisruptionBudget, PodManagementPolicy, PodPhase, PodSpec, PreemptionPolicy,
    PriorityClass, ReplicaSet, Resources, ScaleTarget, SelectPolicy, Service, SpecId, StatefulSet,
    World,
};
use crate::scenario::podspec::{self, Template, TemplateAt, Workload};
use crate::scenario::strict::{Ctx, Loc, join};
use crate::scenario::yaml::Document;

/// Pod start-up latency of Node objects when the scenario sets none: image
/// already present, container runtime start and the kubelet's status update
/// (about what a warm node shows between scheduled and running).
pub const DEFAULT_STARTUP_LATENCY: Time = 2 * SECOND;

/// Image size assumed for a node's image listed without `sizeBytes` (ImageLocality).
pub const DEFAULT_IMAGE_SIZE: i64 = 100 * 1024 * 1024;

/// API server defaults for Deployments (apps/v1 defaults.go).
const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;
const DEFAULT_BACKOFF_LIMIT: i32 = 6;
/// Labels the Job API puts on its pod template.
pub const JOB_NAME_LABELS: [&str; 2] = ["batch.kubernetes.io/job-name", "job-name"];
/// autoscaling: the CPU target when an HPA names no metric.
const DEFAULT_CPU_UTILIZATION: i32 = 80;
/// scheduling.HighestUserDefinablePriority.
const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// The PriorityClasses every cluster has (pkg/apis/scheduling/types.go).
const SYSTEM_PRIORITY_CLASSES: [(&str, i32); 2] = [
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// Defaults from the scenario that affect conversion.
#[derive(Clone, Debug)]
pub struct LoadDefaults {
    /// Run time of Job pods without the `kubesim.dev/duration` annotation
    /// (the scenario's `spec.defaults.jobDuration`); `None`: they run until deleted.
    pub job_duration: Option<Time>,
    /// Size of a node's image listed without `sizeBytes`.
    pub default_image_size: i64,
    /// Pod start-up latency on nodes loaded from Node objects.
    pub startup_latency: Time,
}

impl Default for LoadDefaults {
    fn default() -> Self {
        LoadDefaults {
            job_duration: None,
            default_image_size: DEFAULT_IMAGE_SIZE,
            startup_latency: DEFAULT_STARTUP_LATENCY,
        }
    }
}

/// What was loaded besides what went into the World.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Kind → count of objects accepted but not simulated.
    pub ignored: BTreeMap<String, usize>,
    /// Objects read (simulated and ignored; `List`s count by their items).
    pub objects: usize,
}

impl LoadSummary {
    /// `ignored: 3 objects of kinds ConfigMap (2), Secret (1)`, or `None`.
    pub fn ignored_line(&self) -> Option<String> {
        let total: usize = self.ignored.values().sum();
        if total == 0 {
            return None;
        }
        let kinds: Vec<String> = self
            .ignored
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        let s = if total == 1 { "" } else { "s" };
        Some(format!(
            "ignored: {total} object{s} of kinds {}",
            kinds.join(", ")
        ))
    }
}

/// One validated object of a file, not yet in the World.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// `Deployment`, `Node`…
    pub kind: &'static str,
    /// Empty for cluster-scoped kinds (Node, PriorityClass).
    pub namespace: String,
    pub name: String,
    /// Where the object starts (its file, its path in a List, its line).
    pub at: Loc,
    /// `metadata.generateName` when the name was generated from it.
    pub generate_name: Option<String>,
    object: Object,
}

impl Parsed {
    /// `kind/namespace/name` (or `kind/name`), as errors and notes name objects.
    pub fn key(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind.to_lowercase(), self.name)
        } else {
            format!(
                "{}/{}/{}",
                self.kind.to_lowercase(),
                self.namespace,
                self.name
            )
        }
    }
}

/// Placeholder for the template of a workload until the template is in the World.
const UNSET_SPEC: SpecId = SpecId(u32::MAX);

#[derive(Clone, Debug)]
enum Object {
    Node {
        node: Node,
        /// Extended resources by name (interned at insert).
        scalars: Vec<(String, i64)>,
    },
    Pod {
        template: Template,
        node_name: Option<(String, Loc)>,
    },
    Deployment(Deployment, Template),
    ReplicaSet(ReplicaSet, Template),
    StatefulSet(StatefulSet, Template),
    DaemonSet(DaemonSet, Template),
    Job(Job, Template),
    Service(Service),
    PriorityClass(PriorityClass, Loc),
    Pdb(PodDisruptionBudget),
    /// With where its scaleTargetRef is written.
    Hpa(Hpa, Loc),
}

/// The kinds that are simulated, with the group/version they are served as.
const SIMULATED: [(&str, &[&str]); 11] = [
    ("Pod", &["v1"]),
    ("Node", &["v1"]),
    ("Service", &["v1"]),
    ("Deployment", &["apps/v1"]),
    ("ReplicaSet", &["apps/v1"]),
    ("StatefulSet", &["apps/v1"]),
    ("DaemonSet", &["apps/v1"]),
    ("Job", &["batch/v1"]),
    ("PriorityClass", &["scheduling.k8s.io/v1"]),
    ("PodDisruptionBudget", &["policy/v1"]),
    (
        "HorizontalPodAutoscaler",
        &["autoscaling/v2", "autoscaling/v1"],
    ),
];

/// Load every Kubernetes object in `docs` (the documents of `file`), collecting
/// all errors. `kind: List` (and `*List` kinds) contribute their items.
pub fn parse_objects(
    file: &str,
    docs: &[Document],
    defaults: &LoadDefaults,
    summary: &mut LoadSummary,
) -> Result<Vec<Parsed>, Vec<InputError>> {
    let mut p = FileParser {
        file,
        defaults,
        summary,
        out: Vec::new(),
        errors: Vec::new(),
        index: 0,
    };
    for doc in docs {
        p.value(doc, String::new(), &doc.value);
    }
    if p.errors.is_empty() {
        Ok(p.out)
    } else {
        Err(p.errors)
    }
}

struct FileParser<'a> {
    file: &'a str,
    defaults: &'a LoadDefaults,
    summary: &'a mut LoadSummary,
    out: Vec<Parsed>,
    errors: Vec<InputError>,
    /// Objects seen so far in the file (names `generateName` + index).
    index: usize,
}

impl FileParser<'_> {
    fn value(&mut self, doc: &Document, base: String, value: &Value) {
        let mut ctx = Ctx::new(self.file, Some(doc), base);
        let Some(map) = value.as_object() else {
            ctx.err(
                "",
                "expected a Kubernetes object (a mapping with apiVersion and kind)",
            );
            self.errors.append(&mut ctx.errors);
            return;
        };
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() || api_version.is_empty() {
            for (field, present) in [
                ("apiVersion", !api_version.is_empty()),
                ("kind", !kind.is_empty()),
            ] {
                if !present {
                    let path = if map.contains_key(field) { field } else { "" };
                    ctx.err(
                        path,
                        format!("Required value: {field} not set (expected a string)"),
                    );
                }
            }
            self.errors.append(&mut ctx.errors);
            return;
        }
        if kind == "List" || (kind.ends_with("List") && map.contains_key("items")) {
            match map.get("items").unwrap_or(&Value::Null) {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(doc, join(&ctx.base, &format!("items[{i}]")), item);
                    }
                }
                Value::Null => {}
                _ => ctx.err(
                    "items",
                    "Invalid value: a List's items must be a list of objects",
                ),
            }
            self.errors.append(&mut ctx.errors);
            return;
        }
        self.index += 1;
        let index = self.index - 1;
        match SIMULATED.iter().find(|(k, _)| *k == kind) {
            Some((_, versions)) if versions.contains(&api_version) => {
                let at = ctx.loc("");
                let parsed = convert(&mut ctx, kind, api_version, value, self.defaults, index);
                if let Some((namespace, name, object)) = parsed.filter(|_| ctx.errors.is_empty()) {
                    self.summary.objects += 1;
                    match object {
                        Converted::Object(object) => self.out.push(Parsed {
                            kind: SIMULATED.iter().find(|(k, _)| *k == kind).unwrap().0,
                            namespace,
                            name,
                            at,
                            generate_name: generated_from(value),
                            object: *object,
                        }),
                        Converted::Ignored(why) => {
                            *self.summary.ignored.entry(why).or_insert(0) += 1;
                        }
                    }
                }
            }
            Some((_, versions)) => {
                let hint = format!("{kind} is served as apiVersion {}", versions.join(" or "));
                ctx.err_hint(
                    "apiVersion",
                    format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
                    Some(hint),
                );
            }
            None => {
                check_builtin_kind(&mut ctx, kind, api_version);
                check_ignored(&mut ctx, kind, api_version, value);
                if ctx.errors.is_empty() {
                    self.summary.objects += 1;
                    *self.summary.ignored.entry(kind.to_string()).or_insert(0) += 1;
                }
            }
        }
        self.errors.append(&mut ctx.errors);
    }
}

/// The kinds each built-in group/version serves (v1.37). A kind that a built-in
/// apiVersion does not serve is a typo, not a CRD: the API server answers
/// `no matches for kind "Deploymnet" in version "apps/v1"`.
const BUILTIN_KINDS: &[(&str, &[&str])] = &[
    (
        "v1",
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "apps/v1",
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    ("batch/v1", &["CronJob", "Job"]),
    ("autoscaling/v1", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2", &["HorizontalPodAutoscaler"]),
    ("policy/v1", &["Eviction", "PodDisruptionBudget"]),
    ("scheduling.k8s.io/v1", &["PriorityClass"]),
    (
        "networking.k8s.io/v1",
        &[
            "Ingress",
            "IngressClass",
            "IPAddress",
            "NetworkPolicy",
            "ServiceCIDR",
        ],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    (
        "storage.k8s.io/v1",
        &[
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "StorageClass",
            "VolumeAttachment",
            "VolumeAttributesClass",
        ],
    ),
    ("coordination.k8s.io/v1", &["Lease"]),
    ("discovery.k8s.io/v1", &["EndpointSlice"]),
    ("node.k8s.io/v1", &["RuntimeClass"]),
    ("apiextensions.k8s.io/v1", &["CustomResourceDefinition"]),
    (
        "admissionregistration.k8s.io/v1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("certificates.k8s.io/v1", &["CertificateSigningRequest"]),
    ("events.k8s.io/v1", &["Event"]),
];

fn check_builtin_kind(ctx: &mut Ctx, kind: &str, api_version: &str) {
    let Some((_, kinds)) = BUILTIN_KINDS.iter().find(|(v, _)| *v == api_version) else {
        return;
    };
    if kinds.contains(&kind) {
        return;
    }
    let mut candidates: Vec<&str> = kinds.to_vec();
    candidates.extend(SIMULATED.iter().map(|(k, _)| *k));
    let hint = crate::error::did_you_mean(kind, candidates)
        .map(|k| format!("did you mean `{k}`?"))
        .unwrap_or_else(|| format!("{api_version} serves {}", kinds.join(", ")));
    ctx.err_hint(
        "kind",
        format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
        Some(hint),
    );
}

/// Unknown fields in the common core kinds that are not simulated are still
/// errors (`kubectl apply --validate=strict` would refuse them). Only when the
/// apiVersion is the current one: anything else may be a CRD of the same name.
fn check_ignored(ctx: &mut Ctx, kind: &str, api_version: &str, value: &Value) {
    macro_rules! check {
        ($($kind:literal, $version:literal => $ty:ty;)*) => {
            match (kind, api_version) {
                $(($kind, $version) => { let _ = ctx.typed::<$ty>("", value); })*
                _ => {}
            }
        };
    }
    use k8s_openapi::api::{networking::v1 as networking, rbac::v1 as rbac};
    check! {
        "ConfigMap", "v1" => core::ConfigMap;
        "Secret", "v1" => core::Secret;
        "ServiceAccount", "v1" => core::ServiceAccount;
        "Namespace", "v1" => core::Namespace;
        "PersistentVolumeClaim", "v1" => core::PersistentVolumeClaim;
        "LimitRange", "v1" => core::LimitRange;
        "ResourceQuota", "v1" => core::ResourceQuota;
        "CronJob", "batch/v1" => batch::CronJob;
        "Ingress", "networking.k8s.io/v1" => networking::Ingress;
        "NetworkPolicy", "networking.k8s.io/v1" => networking::NetworkPolicy;
        "Role", "rbac.authorization.k8s.io/v1" => rbac::Role;
        "RoleBinding", "rbac.authorization.k8s.io/v1" => rbac::RoleBinding;
        "ClusterRole", "rbac.authorization.k8s.io/v1" => rbac::ClusterRole;
        "ClusterRoleBinding", "rbac.authorization.k8s.io/v1" => rbac::ClusterRoleBinding;
    }
}

enum Converted {
    Object(Box<Object>),
    /// Accepted, not simulated; the key for [`LoadSummary::ignored`].
    Ignored(String),
}

type Conversion = Option<(String, String, Converted)>;

fn convert(
    ctx: &mut Ctx,
    kind: &str,
    api_version: &str,
    value: &Value,
    defaults: &LoadDefaults,
    index: usize,
) -> Conversion {
    match kind {
        "Node" => node(ctx, value, defaults),
        "Pod" => pod(ctx, value, defaults, index),
        "Deployment" => deployment(ctx, value, defaults),
        "ReplicaSet" => replicaset(ctx, value, defaults),
        "StatefulSet" => statefulset(ctx, value, defaults),
        "DaemonSet" => daemonset(ctx, value, defaults),
        "Job" => job(ctx, value, defaults, index),
        "Service" => service(ctx, value),
        "PriorityClass" => priority_class(ctx, value),
        "PodDisruptionBudget" => pdb(ctx, value),
        "HorizontalPodAutoscaler" if api_version == "autoscaling/v1" => hpa_v1(ctx, value),
        "HorizontalPodAutoscaler" => hpa_v2(ctx, value),
        _ => None,
    }
}

fn obj(ns: String, name: String, o: Object) -> Conversion {
    Some((ns, name, Converted::Object(Box::new(o))))
}

/// Which names a kind's objects may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Subdomain,
    /// Services: a DNS-1035 label (starts with a letter).
    Dns1035,
}

/// metadata: the name (or `generateName` + index where allowed), the namespace
/// (`default` when omitted; empty for cluster-scoped kinds) and the labels.
fn metadata(
    ctx: &mut Ctx,
    m: &ObjectMeta,
    namespaced: bool,
    generate: Option<usize>,
    rule: NameRule,
) -> (String, String) {
    let name = match (m.name.as_deref(), m.generate_name.as_deref(), generate) {
        (Some(n), _, _) if !n.is_empty() => n.to_string(),
        (_, Some(g), Some(index)) if !g.is_empty() => format!("{g}{index}"),
        _ => {
            ctx.err(
                "metadata",
                if generate.is_some() {
                    "metadata.name: Required value: name or generateName is required"
                } else {
                    "metadata.name: Required value: name is required"
                },
            );
            String::new()
        }
    };
    if !name.is_empty() {
        let checked = match rule {
            NameRule::Subdomain => validate_dns1123_subdomain(&name),
            NameRule::Dns1035 => validate_dns1123_label(&name).and_then(|()| {
                if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                    Ok(())
                } else {
                    Err("a DNS-1035 label must start with an alphabetic character".to_string())
                }
            }),
        };
        if let Err(e) = checked {
            ctx.err("metadata.name", format!("Invalid value: \"{name}\": {e}"));
        }
    }
    let namespace = if namespaced {
        let ns = m
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        if let Err(e) = validate_dns1123_label(&ns) {
            ctx.err(
                "metadata.namespace",
                format!("Invalid value: \"{ns}\": {e}"),
            );
        }
        ns
    } else {
        String::new()
    };
    if let Some(labels) = &m.labels
        && let Err(e) = validate_labels(labels)
    {
        ctx.err_list("metadata", &e);
    }
    (namespace, name)
}

fn meta(namespace: &str, name: &str, m: &ObjectMeta) -> Meta {
    Meta {
        name: name.to_string(),
        namespace: namespace.to_string(),
        labels: m.labels.clone().unwrap_or_default(),
    }
}

fn non_negative(ctx: &mut Ctx, path: &str, v: i32) -> i32 {
    if v < 0 {
        ctx.err(
            path,
            format!("Invalid value: {v}: must be greater than or equal to 0"),
        );
        0
    } else {
        v
    }
}

/// Go's `%#v` of a label map, as the API server prints it in errors.
fn go_map(labels: &Labels) -> String {
    let entries: Vec<String> = labels.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", entries.join(", "))
}

fn has(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// A workload's selector and template labels (`ValidatePodTemplateSpecForReplicaSet`
/// and friends): the selector is required, not empty, and must select the template.
fn workload_selector(
    ctx: &mut Ctx,
    value: &Value,
    selector: &K8sSelector,
    template_labels: &Labels,
    kind: &str,
) -> Option<LabelSelector> {
    if !has(value, "/spec/selector") {
        ctx.err("spec.selector", "Required value");
        return None;
    }
    let s = match selector_from_k8s(selector) {
        Ok(s) => s,
        Err(e) => {
            ctx.err_list("spec.selector", &e);
            return None;
        }
    };
    if s.is_empty() {
        ctx.err(
            "spec.selector",
            format!("Invalid value: {{}}: empty selector is invalid for {kind}"),
        );
        return None;
    }
    if !s.matches(template_labels) {
        ctx.err_hint(
            "spec.template.metadata.labels",
            format!(
                "Invalid value: {}: `selector` does not match template `labels`",
                go_map(template_labels)
            ),
            Some(
                "every label in spec.selector must be set on spec.template.metadata.labels".into(),
            ),
        );
        return None;
    }
    Some(s)
}

fn template(
    ctx: &mut Ctx,
    t: &core::PodTemplateSpec,
    namespace: &str,
    workload: Workload,
    defaults: &LoadDefaults,
) -> Option<Template> {
    let Some(spec) = &t.spec else {
        ctx.err("spec.template.spec", "Required value");
        return None;
    };
    let meta = t.metadata.clone().unwrap_or_default();
    let at = TemplateAt {
        meta_path: "spec.template.metadata",
        spec_path: "spec.template.spec",
        namespace,
        workload,
        job_duration: defaults.job_duration,
    };
    Some(podspec::compile(ctx, &at, &meta, spec))
}

fn template_labels(t: &core::PodTemplateSpec) -> Labels {
    t.metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

fn replicas(ctx: &mut Ctx, v: Option<i32>) -> i32 {
    non_negative(ctx, "spec.replicas", v.unwrap_or(1))
}

/// intstr values of maxSurge, maxUnavailable, minAvailable: a non-negative
/// integer or a percentage string (`ValidatePositiveIntOrPercent`), at most 100%
/// where `cap_percent`.
fn int_or_percent(
    ctx: &mut Ctx,
    path: &str,
    v: &IntOrString,
    cap_percent: bool,
) -> Option<IntOrPercent> {
    match v {
        IntOrString::Int(i) if *i < 0 => {
            ctx.err(
                path,
                format!("Invalid value: {i}: must be greater than or equal to 0"),
            );
            None
        }
        IntOrString::Int(i) => Some(IntOrPercent::Int(*i)),
        IntOrString::String(s) => {
            let pct = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<i32>().ok());
            match pct {
                None => {
                    ctx.err(
                        path,
                        format!("Invalid value: \"{s}\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
                    );
                    None
                }
                Some(p) if cap_percent && p > 100 => {
                    ctx.err(
                        path,
                        format!("Invalid value: \"{s}\": must not be greater than 100%"),
                    );
                    None
                }
                Some(p) => Some(IntOrPercent::Percent(p)),
            }
        }
    }
}

fn is_zero(v: &IntOrPercent) -> bool {
    matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
}

fn strategy(ctx: &mut Ctx, s: Option<&apps::DeploymentStrategy>) -> DeploymentStrategy {
    let pct25 = IntOrPercent::Percent(25);
    let default = DeploymentStrategy::RollingUpdate {
        max_surge: pct25,
        max_unavailable: pct25,
    };
    let Some(s) = s else {
        return default;
    };
    match s.type_.as_deref().unwrap_or("RollingUpdate") {
        "Recreate" => {
            if s.rolling_update.is_some() {
                ctx.err(
                    "spec.strategy.rollingUpdate",
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                );
            }
            DeploymentStrategy::Recreate
        }
        "RollingUpdate" => {
            let ru = s.rolling_update.clone().unwrap_or_default();
            let p = "spec.strategy.rollingUpdate";
            let max_surge = match &ru.max_surge {
                Some(v) => int_or_percent(ctx, &format!("{p}.maxSurge"), v, false),
                None => Some(pct25),
            };
            let max_unavailable = match &ru.max_unavailable {
                Some(v) => int_or_percent(ctx, &format!("{p}.maxUnavailable"), v, true),
                None => Some(pct25),
            };
            if let (Some(surge), Some(unavailable)) = (max_surge, max_unavailable) {
                if is_zero(&surge) && is_zero(&unavailable) {
                    let shown = match unavailable {
                        IntOrPercent::Int(i) => i.to_string(),
                        IntOrPercent::Percent(p) => format!("\"{p}%\""),
                    };
                    ctx.err(
                        &format!("{p}.maxUnavailable"),
                        format!("Invalid value: {shown}: may not be 0 when `maxSurge` is 0"),
                    );
                }
                DeploymentStrategy::RollingUpdate {
                    max_surge: surge,
                    max_unavailable: unavailable,
                }
            } else {
                default
            }
        }
        other => {
            ctx.err(
                "spec.strategy.type",
                format!("Unsupported value: \"{other}\": supported values: \"Recreate\", \"RollingUpdate\""),
            );
            default
        }
    }
}

fn node(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults) -> Conversion {
    let n: core::Node = ctx.typed("", value)?;
    let (_, name) = metadata(ctx, &n.metadata, false, None, NameRule::Subdomain);
    let mut labels = n.metadata.labels.clone().unwrap_or_default();
    labels
        .entry(HOSTNAME_LABEL.to_string())
        .or_insert_with(|| name.clone());
    let spec = n.spec.clone().unwrap_or_default();
    let taints = match taints_from_k8s(spec.taints.as_deref().unwrap_or(&[])) {
        Ok(t) => t,
        Err(e) => {
            ctx.err_list("spec", &e);
            Vec::new()
        }
    };
    let status = n.status.clone().unwrap_or_default();
    let (field, list) = match (&status.allocatable, &status.capacity) {
        (Some(a), _) if !a.is_empty() => ("allocatable", a.clone()),
        (_, Some(c)) if !c.is_empty() => ("capacity", c.clone()),
        _ => {
            ctx.err_hint(
                "status",
                "Required value: a Node needs status.allocatable (or status.capacity) for the simulator to know its size",
                Some("as `kubectl get nodes -o yaml` prints it, e.g. allocatable: {cpu: \"4\", memory: 16Gi, pods: \"110\"}".into()),
            );
            return None;
        }
    };
    let mut allocatable = Resources::default();
    let mut scalars = Vec::new();
    for (res, q) in &list {
        let path = format!("status.{field}.{res}");
        let Some(v) = podspec::resource_value(ctx, &path, res, q) else {
            continue;
        };
        match res.as_str() {
            "cpu" => allocatable.milli_cpu = v,
            "memory" => allocatable.memory = v,
            "ephemeral-storage" => allocatable.ephemeral_storage = v,
            "pods" => allocatable.pods = v,
            _ if v != 0 => scalars.push((res.clone(), v)),
            _ => {}
        }
    }
    let mut images = Vec::new();
    for img in status.images.iter().flatten() {
        let size = img.size_bytes.unwrap_or(defaults.default_image_size);
        for image in img.names.iter().flatten() {
            images.push((image.clone(), size));
        }
    }
    let node = Node {
        name: name.clone(),
        labels,
        taints,
        unschedulable: spec.unschedulable.unwrap_or(false),
        allocatable,
        requested: Resources::default(),
        nonzero_requested: (0, 0),
        pods: Vec::new(),
        images,
        pool: None,
        startup_latency: defaults.startup_latency,
        up: true,
        reachable: true,
        ready: true,
        deleted: false,
    };
    obj(String::new(), name, Object::Node { node, scalars })
}

fn pod(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults, index: usize) -> Conversion {
    let p: core::Pod = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &p.metadata, true, Some(index), NameRule::Subdomain);
    let Some(spec) = &p.spec else {
        ctx.err("spec", "Required value");
        return None;
    };
    let at = TemplateAt {
        meta_path: "metadata",
        spec_path: "spec",
        namespace: &namespace,
        workload: Workload::Pod,
        job_duration: defaults.job_duration,
    };
    let template = podspec::compile(ctx, &at, &p.metadata, spec);
    if let Some(phase @ ("Succeeded" | "Failed")) =
        p.status.as_ref().and_then(|s| s.phase.as_deref())
    {
        return Some((
            namespace,
            name,
            Converted::Ignored(format!("Pod ({phase})")),
        ));
    }
    let node_name = template
        .spec
        .node_name
        .clone()
        .map(|n| (n, ctx.loc("spec.nodeName")));
    obj(
        namespace,
        name,
        Object::Pod {
            template,
            node_name,
        },
    )
}

fn deployment(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults) -> Conversion {
    let d: apps::Deployment = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &d.metadata, true, None, NameRule::Subdomain);
    if !has(value, "/spec") {
        ctx.err("spec", "Required value");
        return None;
    }
    let spec = &d.spec;
    let replicas = replicas(ctx, spec.replicas);
    let labels = template_labels(&spec.template);
    let selector = workload_selector(ctx, value, &spec.selector, &labels, "deployment");
    let template = template(
        ctx,
        &spec.template,
        &namespace,
        Workload::Deployment,
        defaults,
    );
    let strategy = strategy(ctx, spec.strategy.as_ref());
    let min_ready_seconds = non_negative(
        ctx,
        "spec.minReadySeconds",
        spec.min_ready_seconds.unwrap_or(0),
    );
    let revision_history_limit = non_negative(
        ctx,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT),
    );
    let deadline = spec
        .progress_deadline_seconds
        .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
    if deadline <= min_ready_seconds {
        ctx.err(
            "spec.progressDeadlineSeconds",
            format!("Invalid value: {deadline}: must be greater than minReadySeconds"),
        );
    }
    let d = Deployment {
        meta: meta(&namespace, &name, &d.metadata),
        replicas,
        selector: selector?,
        spec: UNSET_SPEC,
        strategy,
        min_ready_seconds,
        revision_history_limit,
        paused: spec.paused.unwrap_or(false),
        replicasets: Vec::new(),
        deleted: false,
    };
    obj(namespace, name, Object::Deployment(d, template?))
}

fn replicaset(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults) -> Conversion {
    let rs: apps::ReplicaSet = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &rs.metadata, true, None, NameRule::Subdomain);
    if !has(value, "/spec") {
        ctx.err("spec", "Required value");
        return None;
    }
    let spec = &rs.spec;
    let replicas = replicas(ctx, spec.replicas);
    let Some(t) = &spec.template else {
        ctx.err("spec.template", "Required value");
        return None;
    };
    let labels = template_labels(t);
    let selector = workload_selector(ctx, value, &spec.selector, &labels, "replicaset");
    let template = template(ctx, t, &namespace, Workload::ReplicaSet, defaults);
    let min_ready_seconds = non_negative(
        ctx,
        "spec.minReadySeconds",
        spec.min_ready_seconds.unwrap_or(0),
    );
    let r = ReplicaSet {
        meta: meta(&namespace, &name, &rs.metadata),
        replicas,
        selector: selector?,
        spec: UNSET_SPEC,
        owner: None,
        min_ready_seconds,
        pods: Vec::new(),
        rollout: Default::default(),
        deleted: false,
    };
    obj(namespace, name, Object::ReplicaSet(r, template?))
}

fn statefulset(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults) -> Conversion {
    let s: apps::StatefulSet = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &s.metadata, true, None, NameRule::Subdomain);
    if !has(value, "/spec") {
        ctx.err("spec", "Required value");
        return None;
    }
    let spec = &s.spec;
    let replicas = replicas(ctx, spec.replicas);
    let labels = template_labels(&spec.template);
    let selector = workload_selector(ctx, value, &spec.selector, &labels, "statefulset");
    let template = template(
        ctx,
        &spec.template,
        &namespace,
        Workload::StatefulSet,
        defaults,
    );
    let policy = match spec.pod_management_policy.as_deref() {
        None | Some("OrderedReady") => PodManagementPolicy::OrderedReady,
        Some("Parallel") => PodManagementPolicy::Parallel,
        Some(other) => {
            ctx.err(
                "spec.podManagementPolicy",
                format!("Unsupported value: \"{other}\": supported values: \"OrderedReady\", \"Parallel\""),
            );
            PodManagementPolicy::OrderedReady
        }
    };
    let s = StatefulSet {
        meta: meta(&namespace, &name, &s.metadata),
        replicas,
        selector: selector?,
        spec: UNSET_SPEC,
        policy,
        pods: Vec::new(),
        deleted: false,
    };
    obj(namespace, name, Object::StatefulSet(s, template?))
}

fn daemonset(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults) -> Conversion {
    let d: apps::DaemonSet = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &d.metadata, true, None, NameRule::Subdomain);
    if !has(value, "/spec") {
        ctx.err("spec", "Required value");
        return None;
    }
    let spec = &d.spec;
    let labels = template_labels(&spec.template);
    let selector = workload_selector(ctx, value, &spec.selector, &labels, "daemonset");
    let template = template(
        ctx,
        &spec.template,
        &namespace,
        Workload::DaemonSet,
        defaults,
    );
    let d = DaemonSet {
        meta: meta(&namespace, &name, &d.metadata),
        selector: selector?,
        spec: UNSET_SPEC,
        pods: Vec::new(),
        deleted: false,
    };
    obj(namespace, name, Object::DaemonSet(d, template?))
}

fn job(ctx: &mut Ctx, value: &Value, defaults: &LoadDefaults, index: usize) -> Conversion {
    let j: batch::Job = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &j.metadata, true, Some(index), NameRule::Subdomain);
    let Some(spec) = &j.spec else {
        ctx.err("spec", "Required value");
        return None;
    };
    // Job defaulting: with neither set, one pod, one completion; parallelism 1.
    let completions = match (spec.completions, spec.parallelism) {
        (None, None) => Some(1),
        (c, _) => c,
    };
    if let Some(c) = completions {
        non_negative(ctx, "spec.completions", c);
    }
    let parallelism = non_negative(ctx, "spec.parallelism", spec.parallelism.unwrap_or(1));
    let backoff_limit = non_negative(
        ctx,
        "spec.backoffLimit",
        spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT),
    );
    if spec.selector.is_some() && spec.manual_selector != Some(true) {
        ctx.err_hint(
            "spec.selector",
            "Invalid value: `selector` will be auto-generated",
            Some("remove spec.selector, or set spec.manualSelector: true".into()),
        );
    }
    // The Job API labels the template with the job's name (batch/job strategy
    // `generateSelector`; the controller-uid labels need uids and are left out).
    let mut t = spec.template.clone();
    let m = t.metadata.get_or_insert_with(Default::default);
    let labels = m.labels.get_or_insert_with(Default::default);
    for label in JOB_NAME_LABELS {
        labels.insert(label.to_string(), name.clone());
    }
    let template = template(ctx, &t, &namespace, Workload::Job, defaults);
    let ttl_after_finished = spec
        .ttl_seconds_after_finished
        .map(|s| non_negative(ctx, "spec.ttlSecondsAfterFinished", s) as Time * SECOND);
    let job = Job {
        meta: meta(&namespace, &name, &j.metadata),
        completions,
        parallelism,
        backoff_limit,
        suspend: spec.suspend.unwrap_or(false),
        ttl_after_finished,
        spec: UNSET_SPEC,
        pods: Vec::new(),
        succeeded: 0,
        failed: 0,
        state: JobState::Running,
        started_at: 0,
        finished_at: None,
        next_index: 0,
        tracking: Default::default(),
        deleted: false,
    };
    obj(namespace, name, Object::Job(job, template?))
}

fn service(ctx: &mut Ctx, value: &Value) -> Conversion {
    let s: core::Service = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &s.metadata, true, None, NameRule::Dns1035);
    let spec = s.spec.clone().unwrap_or_default();
    let service_type = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
    const TYPES: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    if !TYPES.contains(&service_type.as_str()) {
        let hint = did_you_mean(&service_type, TYPES).map(|m| format!("did you mean `{m}`?"));
        ctx.err_hint(
            "spec.type",
            format!("Unsupported value: \"{service_type}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
            hint,
        );
    }
    let external = service_type == "ExternalName";
    if external && spec.external_name.as_deref().unwrap_or("").is_empty() {
        ctx.err("spec.externalName", "Required value");
    }
    let ports = spec.ports.clone().unwrap_or_default();
    if ports.is_empty() && !external {
        ctx.err("spec.ports", "Required value");
    }
    let mut out_ports = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        let port_name = p.name.clone().unwrap_or_default();
        if ports.len() > 1 && port_name.is_empty() {
            ctx.err(&format!("{pp}.name"), "Required value");
        } else if !port_name.is_empty() {
            if names.contains(&port_name.as_str()) {
                ctx.err(
                    &format!("{pp}.name"),
                    format!("Duplicate value: \"{port_name}\""),
                );
            }
            names.push(p.name.as_deref().unwrap_or(""));
        }
        if !(1..=65535).contains(&p.port) {
            ctx.err(
                &format!("{pp}.port"),
                format!(
                    "Invalid value: {}: must be between 1 and 65535, inclusive",
                    p.port
                ),
            );
        }
        if let Some(proto) = p.protocol.as_deref()
            && !["TCP", "UDP", "SCTP"].contains(&proto)
        {
            ctx.err(
                &format!("{pp}.protocol"),
                format!(
                    "Unsupported value: \"{proto}\": supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
            );
        }
        let target = match &p.target_port {
            None => p.port.to_string(),
            Some(IntOrString::Int(t)) => {
                if !(1..=65535).contains(t) {
                    ctx.err(
                        &format!("{pp}.targetPort"),
                        format!("Invalid value: {t}: must be between 1 and 65535, inclusive"),
                    );
                }
                t.to_string()
            }
            Some(IntOrString::String(s)) if s.is_empty() => p.port.to_string(),
            Some(IntOrString::String(s)) => s.clone(),
        };
        out_ports.push((port_name, p.port, target));
    }
    // An empty selector is no selector (it does not survive the API's encoding);
    // ExternalName services have no endpoints.
    let selector = spec.selector.clone().filter(|s| !s.is_empty() && !external);
    if let Some(sel) = &selector
        && let Err(e) = validate_labels(sel)
    {
        ctx.err_list("spec.selector", &e.replace("labels[", "["));
    }
    let svc = Service {
        meta: meta(&namespace, &name, &s.metadata),
        selector,
        service_type,
        ports: out_ports,
        publish_not_ready: spec.publish_not_ready_addresses.unwrap_or(false),
        endpoints: Vec::new(),
        not_ready_endpoints: Vec::new(),
        terminating_endpoints: Vec::new(),
    };
    obj(namespace, name, Object::Service(svc))
}

fn priority_class(ctx: &mut Ctx, value: &Value) -> Conversion {
    let pc: scheduling::PriorityClass = ctx.typed("", value)?;
    let (_, name) = metadata(ctx, &pc.metadata, false, None, NameRule::Subdomain);
    let v = pc.value.unwrap_or(0);
    let global_default = pc.global_default.unwrap_or(false);
    if name.starts_with("system-") {
        let known = SYSTEM_PRIORITY_CLASSES
            .iter()
            .any(|&(n, value)| n == name && value == v && !global_default);
        if !known {
            ctx.err(
                "metadata.name",
                format!("Forbidden: priority class names with 'system-' prefix are reserved for system use only (\"{name}\" with value {v} is not one of system-node-critical ({}), system-cluster-critical ({}))", SYSTEM_PRIORITY_CLASSES[0].1, SYSTEM_PRIORITY_CLASSES[1].1),
            );
        }
    } else if v > HIGHEST_USER_DEFINABLE_PRIORITY {
        ctx.err(
            "value",
            format!("Forbidden: maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
        );
    }
    let preemption_policy = match pc.preemption_policy.as_deref() {
        None => PreemptionPolicy::PreemptLowerPriority,
        Some(s) => podspec::preemption_policy(ctx, "preemptionPolicy", s)
            .unwrap_or(PreemptionPolicy::PreemptLowerPriority),
    };
    let loc = ctx.loc(if global_default {
        "globalDefault"
    } else {
        "metadata.name"
    });
    let pc = PriorityClass {
        name: name.clone(),
        value: v,
        global_default,
        preemption_policy,
    };
    obj(String::new(), name, Object::PriorityClass(pc, loc))
}

fn pdb(ctx: &mut Ctx, value: &Value) -> Conversion {
    let p: policy::PodDisruptionBudget = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &p.metadata, true, None, NameRule::Subdomain);
    let spec = p.spec.clone().unwrap_or_default();
    let min_available = spec
        .min_available
        .as_ref()
        .and_then(|v| int_or_percent(ctx, "spec.minAvailable", v, true));
    let max_unavailable = spec
        .max_unavailable
        .as_ref()
        .and_then(|v| int_or_percent(ctx, "spec.maxUnavailable", v, true));
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        ctx.err(
            "spec",
            "Invalid value: minAvailable and maxUnavailable cannot be both set",
        );
    }
    let selector = match &spec.selector {
        Some(s) => match selector_from_k8s(s) {
            Ok(s) => s,
            Err(e) => {
                ctx.err_list("spec.selector", &e);
                return None;
            }
        },
        // policy/v1: a null selector selects no pods. `In` with no values never matches.
        None => LabelSelector {
            requirements: vec![Requirement {
                key: "kubesim.dev/no-selector".into(),
                op: Operator::In,
                values: Vec::new(),
            }],
        },
    };
    let pdb = PodDisruptionBudget {
        meta: meta(&namespace, &name, &p.metadata),
        selector,
        min_available,
        max_unavailable,
    };
    obj(namespace, name, Object::Pdb(pdb))
}

/// Replica bounds of an HPA (`validateHorizontalPodAutoscalerSpec`).
fn hpa_bounds(ctx: &mut Ctx, min: Option<i32>, max: i32) -> i32 {
    let min = min.unwrap_or(1);
    if min < 1 {
        ctx.err(
            "spec.minReplicas",
            format!("Invalid value: {min}: must be greater than or equal to 1"),
        );
    }
    if max < 1 {
        ctx.err(
            "spec.maxReplicas",
            format!("Invalid value: {max}: must be greater than 0"),
        );
    } else if max < min {
        ctx.err(
            "spec.maxReplicas",
            format!("Invalid value: {max}: must be greater than or equal to `minReplicas`"),
        );
    }
    min
}

fn scale_target(ctx: &mut Ctx, kind: &str, name: &str) {
    if kind.is_empty() {
        ctx.err("spec.scaleTargetRef.kind", "Required value");
    }
    if name.is_empty() {
        ctx.err("spec.scaleTargetRef.name", "Required value");
    }
}

fn hpa_v2(ctx: &mut Ctx, value: &Value) -> Conversion {
    let h: autoscaling_v2::HorizontalPodAutoscaler = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &h.metadata, true, None, NameRule::Subdomain);
    let spec = h.spec.clone();
    let target = &spec.scale_target_ref;
    scale_target(ctx, &target.kind, &target.name);
    let min_replicas = hpa_bounds(ctx, spec.min_replicas, spec.max_replicas);
    let metrics = spec.metrics.clone().unwrap_or_default();
    let mut cpu = if metrics.is_empty() {
        Some(DEFAULT_CPU_UTILIZATION)
    } else {
        None
    };
    let mut unsimulated = Vec::new();
    const TYPES: [&str; 5] = [
        "ContainerResource",
        "External",
        "Object",
        "Pods",
        "Resource",
    ];
    for (i, m) in metrics.iter().enumerate() {
        let mp = format!("spec.metrics[{i}]");
        if !TYPES.contains(&m.type_.as_str()) {
            let hint = did_you_mean(&m.type_, TYPES).map(|s| format!("did you mean `{s}`?"));
            ctx.err_hint(
                &format!("{mp}.type"),
                format!("Unsupported value: \"{}\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"", m.type_),
                hint,
            );
            continue;
        }
        if m.type_ == "Resource" {
            let Some(r) = &m.resource else {
                ctx.err(
                    &format!("{mp}.resource"),
                    "Required value: must populate information for the given metric source",
                );
                continue;
            };
            if r.target.type_ == "Utilization" {
                match r.target.average_utilization {
                    Some(u) if u > 0 => {
                        if r.name == "cpu" {
                            cpu = Some(u);
                            continue;
                        }
                    }
                    Some(u) => ctx.err(
                        &format!("{mp}.resource.target.averageUtilization"),
                        format!("Invalid value: {u}: must be greater than 0"),
                    ),
                    None => ctx.err(
                        &format!("{mp}.resource.target.averageUtilization"),
                        "Required value: must set averageUtilization when type is Utilization",
                    ),
                }
            }
        }
        unsimulated.push(metric_label(m));
    }
    let behavior = spec.behavior.as_ref().map(|b| HpaBehavior {
        scale_up: scaling_rules(ctx, "spec.behavior.scaleUp", b.scale_up.as_ref(), true),
        scale_down: scaling_rules(ctx, "spec.behavior.scaleDown", b.scale_down.as_ref(), false),
    });
    let hpa = Hpa {
        meta: meta(&namespace, &name, &h.metadata),
        target_api_version: target.api_version.clone().unwrap_or_default(),
        target_kind: target.kind.clone(),
        target_name: target.name.clone(),
        target: None,
        min_replicas,
        max_replicas: spec.max_replicas,
        target_cpu_utilization: cpu,
        unsimulated_metrics: unsimulated,
        behavior,
        status: HpaStatus::default(),
    };
    let at = ctx.loc("spec.scaleTargetRef");
    obj(namespace, name, Object::Hpa(hpa, at))
}

/// How a metric the simulator has no values for is named in notes and reports.
fn metric_label(m: &autoscaling_v2::MetricSpec) -> String {
    let name = match m.type_.as_str() {
        "Resource" => m.resource.as_ref().map(|r| {
            let t = &r.target.type_;
            format!("{} ({t})", r.name)
        }),
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|r| format!("{} of container {}", r.name, r.container)),
        "Pods" => m.pods.as_ref().map(|p| p.metric.name.clone()),
        "Object" => m.object.as_ref().map(|o| o.metric.name.clone()),
        "External" => m.external.as_ref().map(|e| e.metric.name.clone()),
        _ => None,
    };
    format!("{} {}", m.type_, name.unwrap_or_default())
        .trim_end()
        .to_string()
}

/// One direction of spec.behavior: `GenerateHPAScaleUpRules` /
/// `GenerateHPAScaleDownRules` (pkg/apis/autoscaling/v2/defaults.go: scale up
/// by max(4 pods, 100 %) per 15 s with no window; scale down by 100 % per
/// 15 s with the controller's window) over what is written, checked as
/// `validateScalingRules` (pkg/apis/autoscaling/validation/validation.go) does.
fn scaling_rules(
    ctx: &mut Ctx,
    path: &str,
    rules: Option<&autoscaling_v2::HPAScalingRules>,
    scale_up: bool,
) -> HpaScalingRules {
    let policy = |policy_type, value| HpaScalingPolicy {
        policy_type,
        value,
        period_seconds: 15,
    };
    let mut out = if scale_up {
        HpaScalingRules {
            stabilization_window_seconds: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                policy(HpaPolicyType::Pods, 4),
                policy(HpaPolicyType::Percent, 100),
            ],
            tolerance: None,
        }
    } else {
        HpaScalingRules {
            stabilization_window_seconds: None,
            select_policy: SelectPolicy::Max,
            policies: vec![policy(HpaPolicyType::Percent, 100)],
            tolerance: None,
        }
    };
    let Some(r) = rules else { return out };
    if let Some(w) = r.stabilization_window_seconds {
        let at = format!("{path}.stabilizationWindowSeconds");
        if w < 0 {
            ctx.err(
                &at,
                format!("Invalid value: {w}: must be greater than or equal to zero"),
            );
        } else if w > 3600 {
            ctx.err(
                &at,
                format!("Invalid value: {w}: must be less than or equal to 3600"),
            );
        }
        out.stabilization_window_seconds = Some(w);
    }
    if let Some(p) = &r.select_policy {
        out.select_policy = match p.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                let hint = did_you_mean(other, ["Disabled", "Max", "Min"])
                    .map(|s| format!("did you mean `{s}`?"));
                ctx.err_hint(
                    &format!("{path}.selectPolicy"),
                    format!("Unsupported value: \"{other}\": supported values: \"Disabled\", \"Max\", \"Min\""),
                    hint,
                );
                SelectPolicy::Max
            }
        };
    }
    if let Some(policies) = &r.policies {
        if policies.is_empty() {
            ctx.err(
                &format!("{path}.policies"),
                "Required value: must specify at least one Policy",
            );
        }
        out.policies.clear();
        for (i, p) in policies.iter().enumerate() {
            let at = |f: &str| format!("{path}.policies[{i}].{f}");
            let policy_type = match p.type_.as_str() {
                "Pods" => HpaPolicyType::Pods,
                "Percent" => HpaPolicyType::Percent,
                other => {
                    let hint = did_you_mean(other, ["Percent", "Pods"])
                        .map(|s| format!("did you mean `{s}`?"));
                    ctx.err_hint(
                        &at("type"),
                        format!("Unsupported value: \"{other}\": supported values: \"Percent\", \"Pods\""),
                        hint,
                    );
                    continue;
                }
            };
            if p.value <= 0 {
                ctx.err(
                    &at("value"),
                    format!("Invalid value: {}: must be greater than zero", p.value),
                );
            }
            if p.period_seconds <= 0 {
                ctx.err(
                    &at("periodSeconds"),
                    format!(
                        "Invalid value: {}: must be greater than zero",
                        p.period_seconds
                    ),
                );
            } else if p.period_seconds > 1800 {
                ctx.err(
                    &at("periodSeconds"),
                    format!(
                        "Invalid value: {}: must be less than or equal to 1800",
                        p.period_seconds
                    ),
                );
            }
            out.policies.push(HpaScalingPolicy {
                policy_type,
                value: p.value,
                period_seconds: p.period_seconds,
            });
        }
    }
    if let Some(q) = &r.tolerance {
        match crate::model::quantity::quantity_from_k8s(q) {
            Ok(t) if !t.is_negative() => out.tolerance = Some(t.nanos() as f64 / 1e9),
            Ok(_) => ctx.err(
                &format!("{path}.tolerance"),
                format!(
                    "Invalid value: \"{}\": must be greater than or equal to zero",
                    q.0
                ),
            ),
            Err(m) => ctx.err(&format!("{path}.tolerance"), m),
        }
    }
    out
}

fn hpa_v1(ctx: &mut Ctx, value: &Value) -> Conversion {
    let h: autoscaling_v1::HorizontalPodAutoscaler = ctx.typed("", value)?;
    let (namespace, name) = metadata(ctx, &h.metadata, true, None, NameRule::Subdomain);
    let spec = h.spec.clone();
    let target = &spec.scale_target_ref;
    scale_target(ctx, &target.kind, &target.name);
    let min_replicas = hpa_bounds(ctx, spec.min_replicas, spec.max_replicas);
    let cpu = spec
        .target_cpu_utilization_percentage
        .unwrap_or(DEFAULT_CPU_UTILIZATION);
    if cpu < 1 {
        ctx.err(
            "spec.targetCPUUtilizationPercentage",
            format!("Invalid value: {cpu}: must be greater than 0"),
        );
    }
    let hpa = Hpa {
        meta: meta(&namespace, &name, &h.metadata),
        target_api_version: target.api_version.clone().unwrap_or_default(),
        target_kind: target.kind.clone(),
        target_name: target.name.clone(),
        target: None,
        min_replicas,
        max_replicas: spec.max_replicas,
        target_cpu_utilization: Some(cpu),
        unsimulated_metrics: Vec::new(),
        behavior: None,
        status: HpaStatus::default(),
    };
    let at = ctx.loc("spec.scaleTargetRef");
    obj(namespace, name, Object::Hpa(hpa, at))
}

/// Resolve an HPA's scaleTargetRef as the controller's RESTMapper and scale
/// client would: the group of `apiVersion` (`apps`) and the kind select the
/// resource, the name and the HPA's namespace the object. `Err` says why the
/// controller could not get the target's scale (upstream accepts such an
/// HPA; the controller reports FailedGetScale).
fn resolve_hpa_target(world: &World, h: &Hpa) -> Result<ScaleTarget, String> {
    let group = h.target_api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = h.target_kind.as_str();
    if !matches!(kind, "Deployment" | "ReplicaSet" | "StatefulSet") {
        return Err(format!(
            "kind \"{kind}\" is not a workload the simulator runs (Deployment, ReplicaSet, StatefulSet)"
        ));
    }
    if group != "apps" {
        return Err(format!(
            "no matches for kind \"{kind}\" in group \"{group}\" (set scaleTargetRef.apiVersion: apps/v1)"
        ));
    }
    let target = format!("{kind}/{}/{}", h.meta.namespace, h.target_name);
    crate::scenario::resolve_target(world, &target)
}

// ---------------------------------------------------------------------------
// Insert

/// Put `objects` (every file's, in file order) into `world`. Nothing is changed
/// unless every reference resolves; then PriorityClasses go in first (with the
/// two built-in system classes), then Nodes, then the rest in file order. Pods
/// with `spec.nodeName` are existing state: bound at time 0 and Running, or
/// Failed when the node's kubelet would reject them (the returned notes say why).
pub fn insert_objects(
    world: &mut World,
    objects: Vec<Parsed>,
    defaults: &LoadDefaults,
) -> Result<Vec<String>, Vec<InputError>> {
    let _ = defaults;
    let mut errors = Vec::new();
    let mut objects = objects;
    name_generated(world, &mut objects);
    check_duplicates(world, &objects, &mut errors);

    // Priority classes: the World's, the built-in ones, then the new ones.
    let mut classes: Vec<PriorityClass> = world.priority_classes.clone();
    for (name, value) in SYSTEM_PRIORITY_CLASSES {
        if !classes.iter().any(|c| c.name == name) {
            classes.push(PriorityClass {
                name: name.to_string(),
                value,
                global_default: false,
                preemption_policy: PreemptionPolicy::PreemptLowerPriority,
            });
        }
    }
    let mut default_from: Option<String> = classes
        .iter()
        .find(|c| c.global_default)
        .map(|c| c.name.clone());
    for p in &objects {
        if let Object::PriorityClass(pc, loc) = &p.object {
            if pc.global_default {
                if let Some(other) = &default_from {
                    errors.push(loc.error(format!("Forbidden: PriorityClass {other} is already marked as default. Only one default can exist")));
                } else {
                    default_from = Some(pc.name.clone());
                }
            }
            classes.push(pc.clone());
        }
    }
    let node_names: Vec<String> = world
        .live_nodes()
        .map(|(_, n)| n.name.clone())
        .chain(objects.iter().filter_map(|p| match &p.object {
            Object::Node { node, .. } => Some(node.name.clone()),
            _ => None,
        }))
        .collect();

    // Resolve every template's priority and every pod's node before changing anything.
    for p in &mut objects {
        let existing = matches!(
            &p.object,
            Object::Pod {
                node_name: Some(_),
                ..
            }
        );
        if let Some(t) = template_mut(&mut p.object)
            && let Err(e) = resolve_priority(t, &classes, existing)
        {
            errors.push(e);
        }
        if let Object::Pod {
            node_name: Some((name, loc)),
            ..
        } = &p.object
            && !node_names.contains(name)
        {
            let mut e = loc.error(format!("node \"{name}\" not found"));
            e.hint = did_you_mean(name, node_names.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`?"))
                .or_else(|| {
                    Some(if node_names.is_empty() {
                        "the cluster has no nodes: add nodePools or Node objects".to_string()
                    } else {
                        format!("nodes are: {}", list_some(&node_names))
                    })
                });
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Now change the World.
    for (name, value) in SYSTEM_PRIORITY_CLASSES {
        if !world.priority_classes.iter().any(|c| c.name == name) {
            world.priority_classes.push(PriorityClass {
                name: name.to_string(),
                value,
                global_default: false,
                preemption_policy: PreemptionPolicy::PreemptLowerPriority,
            });
        }
    }
    let mut rest = Vec::new();
    for p in objects {
        match p.object {
            Object::PriorityClass(pc, _) => world.priority_classes.push(pc),
            other => rest.push(Parsed { object: other, ..p }),
        }
    }
    let mut others = Vec::new();
    for p in rest {
        match p.object {
            Object::Node { mut node, scalars } => {
                for (name, v) in scalars {
                    let id = world.scalar_id(&name);
                    node.allocatable.set_scalar(id, v);
                }
                world.add_node(node);
            }
            other => others.push(Parsed { object: other, ..p }),
        }
    }
    let mut notes = Vec::new();
    let mut hpas = Vec::new();
    for p in others {
        let (namespace, name) = (p.namespace, p.name);
        match p.object {
            Object::Pod {
                template,
                node_name,
            } => {
                let spec = add_template(world, template);
                let pod = world.create_pod(new_pod(&namespace, &name, spec), 0);
                if let Some((node_name, _)) = node_name {
                    let node = world
                        .node_by_name(&node_name)
                        .expect("node names were checked");
                    match kubelet_admit(world, node, world.spec(spec)) {
                        Ok(()) => {
                            world.bind(pod, node, 0);
                            world.set_phase(pod, PodPhase::Running);
                            world.pods[pod.idx()].started_at = Some(0);
                            world.set_ready(pod, true, 0);
                        }
                        Err(why) => {
                            world.set_phase(pod, PodPhase::Failed);
                            notes.push(format!(
                                "pod {namespace}/{name} was rejected by the kubelet on node {node_name} and is Failed: {why}"
                            ));
                        }
                    }
                }
            }
            Object::Deployment(mut d, t) => {
                d.spec = add_template(world, t);
                world.deployments.push(d);
            }
            Object::ReplicaSet(mut r, t) => {
                r.spec = add_template(world, t);
                world.replicasets.push(r);
            }
            Object::StatefulSet(mut s, t) => {
                s.spec = add_template(world, t);
                world.statefulsets.push(s);
            }
            Object::DaemonSet(mut d, t) => {
                d.spec = add_template(world, t);
                world.daemonsets.push(d);
            }
            Object::Job(mut j, t) => {
                j.spec = add_template(world, t);
                world.jobs.push(j);
            }
            Object::Service(s) => world.services.push(s),
            Object::Pdb(p) => world.pdbs.push(p),
            Object::Hpa(h, at) => hpas.push((h, at)),
            Object::Node { .. } | Object::PriorityClass(..) => unreachable!("inserted above"),
        }
    }
    // HPAs last: their targets may come later in the files.
    for (mut h, at) in hpas {
        let what = format!(
            "HorizontalPodAutoscaler {}/{} ({})",
            h.meta.namespace,
            h.meta.name,
            at.short()
        );
        match resolve_hpa_target(world, &h) {
            Ok(t) => h.target = Some(t),
            Err(why) => notes.push(format!(
                "{what}: cannot get the scale of {}/{}: {why}; it scales nothing (upstream: AbleToScale False, FailedGetScale)",
                h.target_kind, h.target_name
            )),
        }
        if !h.unsimulated_metrics.is_empty() {
            let then = if h.target_cpu_utilization.is_some() {
                "it scales on cpu utilization alone"
            } else {
                "it has no cpu utilization target and scales nothing"
            };
            notes.push(format!(
                "{what}: metrics {} are not simulated; {then}",
                h.unsimulated_metrics.join(", ")
            ));
        }
        world.hpas.push(h);
    }
    Ok(notes)
}

fn list_some(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

fn template_mut(o: &mut Object) -> Option<&mut Template> {
    match o {
        Object::Pod { template, .. } => Some(template),
        Object::Deployment(_, t)
        | Object::ReplicaSet(_, t)
        | Object::StatefulSet(_, t)
        | Object::DaemonSet(_, t)
        | Object::Job(_, t) => Some(t),
        _ => None,
    }
}

/// The Priority admission plugin: the class named (or the global default, or
/// nothing: priority 0) sets priority and preemptionPolicy; values written in the
/// pod spec must agree with it. A pod that already runs (`spec.nodeName`, e.g.
/// from a dump) and carries `spec.priority` keeps it when its class is not
/// loaded: it was admitted by its own cluster.
fn resolve_priority(
    t: &mut Template,
    classes: &[PriorityClass],
    existing: bool,
) -> Result<(), InputError> {
    let class = match &t.priority_class {
        Some((name, loc)) => match classes.iter().find(|c| &c.name == name) {
            Some(c) => Some(c),
            None if existing && t.explicit_priority.is_some() => {
                t.spec.priority = t.explicit_priority.as_ref().map(|p| p.0).unwrap_or(0);
                return Ok(());
            }
            None => {
                let mut e = loc.error(format!("no PriorityClass with name {name} was found"));
                e.hint = did_you_mean(name, classes.iter().map(|c| c.name.as_str()))
                    .map(|m| format!("did you mean `{m}`?"))
                    .or_else(|| {
                        Some("define it with a PriorityClass object (scheduling.k8s.io/v1)".into())
                    });
                return Err(e);
            }
        },
        None => classes.iter().find(|c| c.global_default),
    };
    let (name, priority, policy) = match class {
        Some(c) => (Some(c.name.clone()), c.value, c.preemption_policy),
        None => (None, 0, PreemptionPolicy::PreemptLowerPriority),
    };
    if let Some((p, loc)) = &t.explicit_priority
        && *p != priority
    {
        return Err(loc.error(format!(
            "Forbidden: the integer value of priority ({p}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
        )));
    }
    if let Some((p, loc)) = &t.explicit_preemption
        && *p != policy
    {
        let show = |p: PreemptionPolicy| match p {
            PreemptionPolicy::Never => "Never",
            PreemptionPolicy::PreemptLowerPriority => "PreemptLowerPriority",
        };
        return Err(loc.error(format!(
            "Forbidden: the string value of PreemptionPolicy ({}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
            show(*p),
            show(policy)
        )));
    }
    t.spec.priority = priority;
    t.spec.priority_class = name;
    t.spec.preemption_policy = policy;
    Ok(())
}

fn add_template(world: &mut World, t: Template) -> SpecId {
    let mut spec: PodSpec = t.spec;
    for (name, v) in t.scalars {
        let id = world.scalar_id(&name);
        spec.requests.set_scalar(id, v);
    }
    world.add_spec(spec)
}

fn new_pod(namespace: &str, name: &str, spec: SpecId) -> Pod {
    Pod::new(name.to_string(), namespace, spec, None)
}

/// The kubelet's admission of a pod bound to its node (lifecycle/predicate.go:
/// the scheduler's NodeResourcesFit, NodeAffinity and NoExecute taints), with
/// its reason and message.
fn kubelet_admit(world: &World, node: NodeId, spec: &PodSpec) -> Result<(), String> {
    let n = world.node(node);
    let want = &spec.requests;
    let mut checks: Vec<(String, i64, i64, i64)> = vec![
        (
            "pods".into(),
            want.pods,
            n.requested.pods,
            n.allocatable.pods,
        ),
        (
            "cpu".into(),
            want.milli_cpu,
            n.requested.milli_cpu,
            n.allocatable.milli_cpu,
        ),
        (
            "memory".into(),
            want.memory,
            n.requested.memory,
            n.allocatable.memory,
        ),
        (
            "ephemeral-storage".into(),
            want.ephemeral_storage,
            n.requested.ephemeral_storage,
            n.allocatable.ephemeral_storage,
        ),
    ];
    for &(id, v) in &want.scalar {
        checks.push((
            world.scalar_names[id as usize].clone(),
            v,
            n.requested.scalar(id),
            n.allocatable.scalar(id),
        ));
    }
    for (name, req, used, cap) in checks {
        if req > 0 && used + req > cap {
            return Err(format!(
                "OutOf{name}: Node didn't have enough resource: {name}, requested: {req}, used: {used}, capacity: {cap}"
            ));
        }
    }
    let selector_ok = spec
        .node_selector
        .iter()
        .all(|(k, v)| n.labels.get(k) == Some(v));
    let affinity_ok = spec
        .required_node_affinity
        .as_ref()
        .is_none_or(|a| a.matches(&n.name, &n.labels));
    if !selector_ok || !affinity_ok {
        return Err("NodeAffinity: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector".into());
    }
    if let Some(t) = find_untolerated(&n.taints, &spec.tolerations, |t| {
        t.effect == TaintEffect::NoExecute
    }) {
        return Err(format!(
            "TaintToleration: Predicate TaintToleration failed: node(s) had untolerated taint {{{}: {}}}",
            t.key, t.value
        ));
    }
    Ok(())
}

/// Names made from `generateName` are unique across the whole load and the
/// World (the API server appends random characters; here the file's object
/// index, then the next free number).
fn name_generated(world: &World, objects: &mut [Parsed]) {
    let key = |p: &Parsed| (p.kind, p.namespace.clone(), p.name.clone());
    let mut taken: HashSet<(&str, String, String)> = objects
        .iter()
        .filter(|p| p.generate_name.is_none())
        .map(key)
        .collect();
    for p in objects.iter_mut() {
        let Some(prefix) = p.generate_name.clone() else {
            continue;
        };
        let mut n: usize = p.name[prefix.len()..].parse().unwrap_or(0);
        let mut name = p.name.clone();
        while taken.contains(&(p.kind, p.namespace.clone(), name.clone()))
            || in_world(world, p.kind, &p.namespace, &name)
        {
            n += 1;
            name = format!("{prefix}{n}");
        }
        if name != p.name {
            p.name = name.clone();
            if let Object::Job(j, t) = &mut p.object {
                j.meta.name = name.clone();
                for label in JOB_NAME_LABELS {
                    t.spec.labels.insert(label.to_string(), name.clone());
                }
            }
        }
        taken.insert(key(p));
    }
}

/// `metadata.generateName`, when there is no `metadata.name`.
fn generated_from(value: &Value) -> Option<String> {
    let named = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if named {
        return None;
    }
    value
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Two objects of one kind with one namespace and name, in this load or already
/// in the World, are an error naming where the first was defined.
fn check_duplicates(world: &World, objects: &[Parsed], errors: &mut Vec<InputError>) {
    let mut seen: HashMap<(&str, &str, &str), &Loc> = HashMap::new();
    for p in objects {
        let key = (p.kind, p.namespace.as_str(), p.name.as_str());
        if let Some(first) = seen.get(&key) {
            errors.push(p.at.error(format!(
                "{} {} is defined twice (first at {})",
                p.kind,
                display_name(&p.namespace, &p.name),
                first.short()
            )));
            continue;
        }
        seen.insert(key, &p.at);
        if in_world(world, p.kind, &p.namespace, &p.name) {
            let what = if p.kind == "Node" {
                "already exists (a node pool's node has that name)"
            } else {
                "already exists"
            };
            errors.push(p.at.error(format!(
                "{} {} {what}",
                p.kind,
                display_name(&p.namespace, &p.name)
            )));
        }
    }
}

fn display_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("\"{name}\"")
    } else {
        format!("\"{namespace}/{name}\"")
    }
}

fn in_world(world: &World, kind: &str, namespace: &str, name: &str) -> bool {
    let m = |meta: &Meta| meta.namespace == namespace && meta.name == name;
    match kind {
        "Node" => world.node_by_name(name).is_some(),
        "Pod" => world.pod_by_name(namespace, name).is_some(),
        "PriorityClass" => world.priority_classes.iter().any(|c| c.name == name),
        "Deployment" => world.deployments.iter().any(|d| !d.deleted && m(&d.meta)),
        "ReplicaSet" => world.replicasets.iter().any(|d| !d.deleted && m(&d.meta)),
        "StatefulSet" => world.statefulsets.iter().any(|d| !d.deleted && m(&d.meta)),
        "DaemonSet" => world.daemonsets.iter().any(|d| !d.deleted && m(&d.meta)),
        "Job" => world.jobs.iter().any(|d| !d.deleted && m(&d.meta)),
        "Service" => world.services.iter().any(|d| m(&d.meta)),
        "PodDisruptionBudget" => world.pdbs.iter().any(|d| m(&d.meta)),
        "HorizontalPodAutoscaler" => world.hpas.iter().any(|d| m(&d.meta)),
        _ => false,
    }
}

/// Compile one pod spec outside any file (for callers that build pods in code):
/// the same defaulting, validation and admission as a manifest's, with extended
/// resources interned in `world` and the priority resolved against its classes.
pub fn compile_pod_spec(
    world: &mut World,
    namespace: &str,
    meta: &ObjectMeta,
    spec: &core::PodSpec,
    workload: Workload,
    defaults: &LoadDefaults,
) -> Result<PodSpec, Vec<InputError>> {
    let mut ctx = Ctx::new("", None, "");
    let at = TemplateAt {
        meta_path: "metadata",
        spec_path: "spec",
        namespace,
        workload,
        job_duration: defaults.job_duration,
    };
    let mut t = podspec::compile(&mut ctx, &at, meta, spec);
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }
    let mut classes = world.priority_classes.clone();
    for (name, value) in SYSTEM_PRIORITY_CLASSES {
        if !classes.iter().any(|c| c.name == name) {
            classes.push(PriorityClass {
                name: name.into(),
                value,
                global_default: false,
                preemption_policy: PreemptionPolicy::PreemptLowerPriority,
            });
        }
    }
    resolve_priority(&mut t, &classes, false).map_err(|e| vec![e])?;
    let mut spec = t.spec;
    for (name, v) in t.scalars {
        let id = world.scalar_id(&name);
        spec.requests.set_scalar(id, v);
    }
    Ok(spec)
}

#[cfg(test)]
mod tests;
