//! KubeSchedulerConfiguration files (`kubescheduler.config.k8s.io/v1`):
//! several profiles chosen by the pod's `schedulerName`, plugins enabled and
//! disabled per extension point with weights, `pluginConfig` args, and
//! `percentageOfNodesToScore`.
//!
//! Follows pkg/scheduler/apis/config/v1 (types, `default_plugins.go`'s
//! `mergePlugins`), framework/runtime/framework.go (`expandMultiPointPlugins`:
//! an extension point's own list overrides MultiPoint, and its order is
//! overridden plugins, then MultiPoint plugins, then the point's others) and
//! apis/config/validation (`ValidateKubeSchedulerConfiguration`,
//! validation_pluginargs.go), whose messages are reproduced in the
//! `field.Error` form: `PATH: Invalid value: VALUE: DETAIL`.
//!
//! Fields that configure the process rather than decisions (clientConnection,
//! leaderElection, parallelism, bind addresses…) are accepted and ignored.
//! Extenders are not simulated and are rejected.

// InputError is wide; errors are the cold path.
#![allow(clippy::result_large_err)]

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::{SECOND, Time};
use crate::error::{Error, InputError};
use crate::model::labels::{
    NodeSelector, NodeSelectorTerm, Operator, Requirement, validate_label_key, validate_label_value,
};
use crate::model::{InclusionPolicy, TopologySpreadConstraint, UnsatisfiableAction};
use crate::scenario::yaml::{Document, parse_bytes};
use crate::scheduler::plugins::Registry;
use crate::scheduler::plugins::node_affinity::AddedAffinity;
use crate::scheduler::plugins::node_resources_fit::{ResourceWeight, Strategy};
use crate::scheduler::profiles::{
    DEFAULT_PLUGINS, PluginArgs, PluginSpec, Points, Profile, SpreadDefaults,
};

pub struct Config {
    pub profiles: Vec<Profile>,
    pub initial_backoff: Time,
    pub max_backoff: Time,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct RawConfig {
    api_version: String,
    kind: String,
    #[serde(default)]
    profiles: Option<Vec<RawProfile>>,
    percentage_of_nodes_to_score: Option<i32>,
    pod_initial_backoff_seconds: Option<i64>,
    pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    extenders: Option<Vec<Value>>,
    // Process settings: accepted, not simulated.
    parallelism: Option<i32>,
    leader_election: Option<Value>,
    client_connection: Option<Value>,
    healthz_bind_address: Option<String>,
    metrics_bind_address: Option<String>,
    enable_profiling: Option<bool>,
    enable_contention_profiling: Option<bool>,
    delay_cache_until_active: Option<bool>,
    feature_gates: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProfile {
    scheduler_name: Option<String>,
    percentage_of_nodes_to_score: Option<i32>,
    plugins: Option<RawPlugins>,
    #[serde(default)]
    plugin_config: Vec<RawPluginConfig>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct RawPlugins {
    multi_point: Option<RawPluginSet>,
    pre_enqueue: Option<RawPluginSet>,
    queue_sort: Option<RawPluginSet>,
    pre_filter: Option<RawPluginSet>,
    filter: Option<RawPluginSet>,
    post_filter: Option<RawPluginSet>,
    pre_score: Option<RawPluginSet>,
    score: Option<RawPluginSet>,
    reserve: Option<RawPluginSet>,
    permit: Option<RawPluginSet>,
    pre_bind: Option<RawPluginSet>,
    bind: Option<RawPluginSet>,
    post_bind: Option<RawPluginSet>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPluginSet {
    #[serde(default)]
    enabled: Vec<RawPlugin>,
    #[serde(default)]
    disabled: Vec<RawPlugin>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPlugin {
    name: String,
    #[serde(default)]
    weight: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPluginConfig {
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct FitArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    ignored_resources: Vec<String>,
    #[serde(default)]
    ignored_resource_groups: Vec<String>,
    scoring_strategy: Option<ScoringStrategyRaw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScoringStrategyRaw {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    resources: Option<Vec<ResourceRaw>>,
    requested_to_capacity_ratio: Option<RtcrRaw>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceRaw {
    name: String,
    #[serde(default)]
    weight: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RtcrRaw {
    #[serde(default)]
    shape: Vec<ShapeRaw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShapeRaw {
    #[serde(default)]
    utilization: i64,
    #[serde(default)]
    score: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct BalancedArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    resources: Option<Vec<ResourceRaw>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct InterPodAffinityArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    hard_pod_affinity_weight: Option<i64>,
    ignore_preferred_terms_of_existing_pods: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct SpreadArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    default_constraints: Vec<ConstraintRaw>,
    defaulting_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConstraintRaw {
    #[serde(default)]
    max_skew: i32,
    #[serde(default)]
    topology_key: String,
    #[serde(default)]
    when_unsatisfiable: String,
    label_selector: Option<Value>,
    min_domains: Option<i32>,
    node_affinity_policy: Option<String>,
    node_taints_policy: Option<String>,
    #[serde(default)]
    match_label_keys: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct PreemptionArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    min_candidate_nodes_percentage: Option<i32>,
    min_candidate_nodes_absolute: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Some fields are accepted (strict parsing must allow them) but not simulated.
#[allow(dead_code)]
struct NodeAffinityArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    added_affinity: Option<NodeAffinityRaw>,
}

/// `v1.NodeAffinity`, strictly.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeAffinityRaw {
    required_during_scheduling_ignored_during_execution: Option<NodeSelectorRaw>,
    preferred_during_scheduling_ignored_during_execution: Option<Vec<PreferredTermRaw>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeSelectorRaw {
    #[serde(default)]
    node_selector_terms: Vec<NodeSelectorTermRaw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeSelectorTermRaw {
    #[serde(default)]
    match_expressions: Vec<RequirementRaw>,
    #[serde(default)]
    match_fields: Vec<RequirementRaw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequirementRaw {
    #[serde(default)]
    key: String,
    #[serde(default)]
    operator: String,
    values: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PreferredTermRaw {
    #[serde(default)]
    weight: i32,
    #[serde(default)]
    preference: NodeSelectorTermRaw,
}

/// Collects `field.Error`s with positions.
struct Errors<'a> {
    doc: &'a Document,
    file: &'a str,
    list: Vec<InputError>,
}

impl Errors<'_> {
    fn invalid(&mut self, path: &str, value: impl std::fmt::Display, detail: &str) {
        self.list.push(self.doc.error(
            self.file,
            path,
            format!("{path}: Invalid value: {value}: {detail}"),
        ));
    }
    fn other(&mut self, path: &str, msg: String) {
        self.list.push(self.doc.error(self.file, path, msg));
    }
}

/// The plugin set a point ends up with after `mergePluginSet(default, custom)`.
fn merge_set(
    default: &[(String, i64)],
    custom: Option<&RawPluginSet>,
) -> (Vec<(String, i64)>, Vec<String>) {
    let Some(custom) = custom else {
        return (default.to_vec(), Vec::new());
    };
    let disabled: Vec<String> = custom.disabled.iter().map(|p| p.name.clone()).collect();
    let mut replaced = vec![false; custom.enabled.len()];
    let mut enabled = Vec::new();
    if !disabled.iter().any(|d| d == "*") {
        for (name, w) in default {
            if disabled.contains(name) {
                continue;
            }
            if let Some(i) = custom.enabled.iter().position(|p| p.name == *name) {
                replaced[i] = true;
                enabled.push((name.clone(), custom.enabled[i].weight.unwrap_or(0)));
            } else {
                enabled.push((name.clone(), *w));
            }
        }
    }
    for (i, p) in custom.enabled.iter().enumerate() {
        if !replaced[i] {
            enabled.push((p.name.clone(), p.weight.unwrap_or(0)));
        }
    }
    (enabled, disabled)
}

/// Resolve MultiPoint and the per-point sets into per-plugin specs, in the order
/// filters run (`expandMultiPointPlugins`).
fn expand(plugins: Option<&RawPlugins>) -> Vec<PluginSpec> {
    let defaults: Vec<(String, i64)> = DEFAULT_PLUGINS
        .iter()
        .map(|&(n, w)| (n.to_string(), w))
        .collect();
    let p = plugins.cloned().unwrap_or_default();
    let (multi, _) = merge_set(&defaults, p.multi_point.as_ref());
    // Per point: (enabled, disabled) from the user's set (defaults are MultiPoint only).
    let point = |s: &Option<RawPluginSet>| merge_set(&[], s.as_ref());
    let points = [
        point(&p.pre_filter),
        point(&p.filter),
        point(&p.post_filter),
        point(&p.pre_score),
        point(&p.score),
        point(&p.reserve),
        point(&p.bind),
    ];
    // Every plugin named anywhere, in order: point-overridden first per point
    // order, then MultiPoint, then other point plugins. Since filters are the
    // only order-sensitive point here, build the list from MultiPoint order
    // with the point sets applied, then append plugins enabled only at points.
    let mut specs: Vec<PluginSpec> = Vec::new();
    let add = |name: &str, specs: &mut Vec<PluginSpec>| -> usize {
        if let Some(i) = specs.iter().position(|s| s.name == name) {
            return i;
        }
        specs.push(PluginSpec {
            name: name.to_string(),
            points: Points::NONE,
            explicit: Points::NONE,
            weight: 0,
        });
        specs.len() - 1
    };
    // Overridden plugins at the filter point come first.
    for (name, _) in &points[1].0 {
        if multi.iter().any(|(m, _)| m == name) {
            add(name, &mut specs);
        }
    }
    for (name, weight) in &multi {
        let i = add(name, &mut specs);
        let s = &mut specs[i];
        let on = |k: usize| {
            let (en, dis) = &points[k];
            en.iter().any(|(n, _)| n == name) || !(dis.iter().any(|d| d == name || d == "*"))
        };
        s.points.pre_filter |= on(0);
        s.points.filter |= on(1);
        s.points.post_filter |= on(2);
        s.points.pre_score |= on(3);
        s.points.score |= on(4);
        s.points.reserve |= on(5);
        s.points.bind |= on(6);
        if s.weight == 0 {
            s.weight = *weight;
        }
    }
    for (k, (enabled, _)) in points.iter().enumerate() {
        for (name, weight) in enabled {
            let i = add(name, &mut specs);
            let s = &mut specs[i];
            let (point, named) = match k {
                0 => (&mut s.points.pre_filter, &mut s.explicit.pre_filter),
                1 => (&mut s.points.filter, &mut s.explicit.filter),
                2 => (&mut s.points.post_filter, &mut s.explicit.post_filter),
                3 => (&mut s.points.pre_score, &mut s.explicit.pre_score),
                4 => {
                    if *weight != 0 {
                        s.weight = *weight;
                    }
                    (&mut s.points.score, &mut s.explicit.score)
                }
                5 => (&mut s.points.reserve, &mut s.explicit.reserve),
                _ => (&mut s.points.bind, &mut s.explicit.bind),
            };
            *point = true;
            *named = true;
        }
    }
    specs
}

fn resources(
    raw: &Option<Vec<ResourceRaw>>,
    path: &str,
    errs: &mut Errors,
    balanced: bool,
) -> Option<Vec<ResourceWeight>> {
    let list = raw.as_ref()?;
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        if balanced {
            if seen.contains(&r.name.as_str()) {
                errs.other(
                    &format!("{path}[{i}].name"),
                    format!("{path}[{i}].name: Duplicate value: {:?}", r.name),
                );
            }
            seen.push(&r.name);
            if r.weight != 1 {
                errs.invalid(&format!("{path}[{i}].weight"), r.weight, "must be 1");
            }
        } else if r.weight <= 0 || r.weight > 100 {
            errs.invalid(
                &format!("{path}[{i}].weight"),
                r.weight,
                &format!("resource weight of {} not in valid range (0, 100]", r.name),
            );
        }
        out.push(ResourceWeight::new(&r.name, r.weight.max(1)));
    }
    Some(out)
}

/// A `[]string` as Go's `%#v` prints it in a `field.Error`.
fn go_strings(values: &Option<Vec<String>>) -> String {
    match values {
        None => "[]string(nil)".into(),
        Some(v) => {
            let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

/// One term as `nodeaffinity.newNodeSelectorTerm` parses it, with
/// `labels.NewRequirement`'s and the field selector's errors.
fn selector_term(t: &NodeSelectorTermRaw, path: &str, errs: &mut Errors) -> NodeSelectorTerm {
    let mut term = NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: Vec::new(),
    };
    for (i, r) in t.match_expressions.iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let vals = r.values.clone().unwrap_or_default();
        let Some(op) = Operator::node_selector(&r.operator) else {
            let at = format!("{p}.operator");
            errs.other(&at, format!("{at}: Unsupported value: {:?}: supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\"", r.operator));
            continue;
        };
        if let Err(e) = validate_label_key(&r.key) {
            errs.invalid(&format!("{p}.key"), format!("{:?}", r.key), &e);
        }
        let vp = format!("{p}.values");
        match op {
            Operator::In | Operator::NotIn if vals.is_empty() => errs.invalid(
                &vp,
                go_strings(&r.values),
                "for 'in', 'notin' operators, values set can't be empty",
            ),
            Operator::Exists | Operator::DoesNotExist if !vals.is_empty() => errs.invalid(
                &vp,
                go_strings(&r.values),
                "values set must be empty for exists and does not exist",
            ),
            Operator::Gt | Operator::Lt => {
                if vals.len() != 1 {
                    errs.invalid(
                        &vp,
                        go_strings(&r.values),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    );
                }
                for (j, v) in vals.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.invalid(
                            &format!("{vp}[{j}]"),
                            format!("{v:?}"),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        );
                    }
                }
            }
            _ => {}
        }
        for (j, v) in vals.iter().enumerate() {
            if let Err(e) = validate_label_value(v) {
                errs.invalid(&format!("{vp}[{j}][{}]", r.key), format!("{v:?}"), &e);
            }
        }
        term.match_expressions.push(Requirement {
            key: r.key.clone(),
            op,
            values: vals,
        });
    }
    for (i, r) in t.match_fields.iter().enumerate() {
        let p = format!("{path}.matchFields[{i}]");
        let op = match r.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            other => {
                let at = format!("{p}.operator");
                errs.other(
                    &at,
                    format!(
                        "{at}: Unsupported value: {other:?}: supported values: \"In\", \"NotIn\""
                    ),
                );
                continue;
            }
        };
        let vals = r.values.clone().unwrap_or_default();
        if vals.len() != 1 {
            errs.invalid(
                &format!("{p}.values"),
                go_strings(&r.values),
                "must have one element",
            );
        }
        // Any key parses; only `metadata.name` is a node field, so `In` on
        // another key never matches.
        term.match_fields.push(Requirement {
            key: r.key.clone(),
            op,
            values: vals,
        });
    }
    term
}

/// `ValidateNodeAffinityArgs` and the plugin's parsing of `addedAffinity`:
/// empty terms are dropped (they match nothing), as are preferred terms of
/// weight 0.
fn added_affinity(a: &NodeAffinityRaw, path: &str, errs: &mut Errors) -> AddedAffinity {
    let mut out = AddedAffinity::default();
    if let Some(ns) = &a.required_during_scheduling_ignored_during_execution {
        let rp = format!("{path}.requiredDuringSchedulingIgnoredDuringExecution");
        let mut terms = Vec::new();
        for (i, t) in ns.node_selector_terms.iter().enumerate() {
            if t.match_expressions.is_empty() && t.match_fields.is_empty() {
                continue;
            }
            terms.push(selector_term(
                t,
                &format!("{rp}.nodeSelectorTerms[{i}]"),
                errs,
            ));
        }
        out.required = Some(NodeSelector { terms });
    }
    if let Some(list) = &a.preferred_during_scheduling_ignored_during_execution
        && !list.is_empty()
    {
        let pp = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution");
        let mut terms = Vec::new();
        for (i, t) in list.iter().enumerate() {
            let pref = &t.preference;
            if t.weight == 0 || (pref.match_expressions.is_empty() && pref.match_fields.is_empty())
            {
                continue;
            }
            terms.push((t.weight, selector_term(pref, &format!("{pp}[{i}]"), errs)));
        }
        out.preferred = Some(terms);
    }
    out
}

fn plugin_args(
    doc: &Document,
    file: &str,
    base: &str,
    configs: &[RawPluginConfig],
    errs: &mut Errors,
) -> PluginArgs {
    let mut args = PluginArgs::default();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let path = format!("{base}.pluginConfig[{i}]");
        if seen.contains(&c.name.as_str()) {
            errs.other(&path, format!("{path}: Duplicate value: {:?}", c.name));
        }
        seen.push(&c.name);
        let apath = format!("{path}.args");
        let value = if c.args.is_null() {
            Value::Object(Default::default())
        } else {
            c.args.clone()
        };
        macro_rules! parse {
            ($t:ty) => {
                match doc.deserialize_at::<$t>(file, &apath, &value) {
                    Ok(v) => v,
                    Err(e) => {
                        errs.list.push(e);
                        continue;
                    }
                }
            };
        }
        match c.name.as_str() {
            "NodeResourcesFit" => {
                let a = parse!(FitArgsRaw);
                for (j, g) in a.ignored_resource_groups.iter().enumerate() {
                    if g.contains('/') {
                        errs.invalid(
                            &format!("{apath}.ignoredResourceGroups[{j}]"),
                            format!("{g:?}"),
                            "resource group name can't contain '/'",
                        );
                    }
                }
                args.fit.ignored_resources = a.ignored_resources;
                args.fit.ignored_resource_groups = a.ignored_resource_groups;
                if let Some(s) = a.scoring_strategy {
                    let spath = format!("{apath}.scoringStrategy");
                    let kind = s.kind.unwrap_or_else(|| "LeastAllocated".into());
                    if let Some(r) =
                        resources(&s.resources, &format!("{spath}.resources"), errs, false)
                    {
                        args.fit.resources = r;
                    }
                    args.fit.strategy = match kind.as_str() {
                        "LeastAllocated" => Strategy::LeastAllocated,
                        "MostAllocated" => Strategy::MostAllocated,
                        "RequestedToCapacityRatio" => {
                            let shape = s
                                .requested_to_capacity_ratio
                                .map(|r| r.shape)
                                .unwrap_or_default();
                            let shp = format!("{spath}.shape");
                            if shape.is_empty() {
                                errs.other(&shp, format!("{shp}: Required value: at least one point must be specified"));
                            }
                            for k in 1..shape.len() {
                                if shape[k - 1].utilization >= shape[k].utilization {
                                    errs.invalid(
                                        &format!("{shp}[{k}].utilization"),
                                        shape[k].utilization,
                                        "utilization values must be sorted in increasing order",
                                    );
                                    break;
                                }
                            }
                            for (k, p) in shape.iter().enumerate() {
                                if !(0..=100).contains(&p.utilization) {
                                    errs.invalid(
                                        &format!("{shp}[{k}].utilization"),
                                        p.utilization,
                                        "not in valid range [0, 100]",
                                    );
                                }
                                if !(0..=10).contains(&p.score) {
                                    errs.invalid(
                                        &format!("{shp}[{k}].score"),
                                        p.score,
                                        "not in valid range [0, 10]",
                                    );
                                }
                            }
                            Strategy::RequestedToCapacityRatio {
                                shape: shape.iter().map(|p| (p.utilization, p.score)).collect(),
                            }
                        }
                        other => {
                            errs.other(
                                &format!("{spath}.type"),
                                format!("{spath}.type: Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""),
                            );
                            Strategy::LeastAllocated
                        }
                    };
                }
            }
            "NodeResourcesBalancedAllocation" => {
                let a = parse!(BalancedArgsRaw);
                if let Some(r) = resources(&a.resources, &format!("{apath}.resources"), errs, true)
                {
                    args.balanced = r;
                }
            }
            "InterPodAffinity" => {
                let a = parse!(InterPodAffinityArgsRaw);
                if let Some(w) = a.hard_pod_affinity_weight {
                    if !(0..=100).contains(&w) {
                        errs.invalid(
                            &format!("{apath}.hardPodAffinityWeight"),
                            w,
                            "not in valid range [0, 100]",
                        );
                    }
                    args.hard_pod_affinity_weight = w;
                }
                args.ignore_preferred_terms_of_existing_pods =
                    a.ignore_preferred_terms_of_existing_pods.unwrap_or(false);
            }
            "DefaultPreemption" => {
                let a = parse!(PreemptionArgsRaw);
                let pct = a.min_candidate_nodes_percentage.unwrap_or(10);
                let abs = a.min_candidate_nodes_absolute.unwrap_or(100);
                let (pp, ap) = (
                    format!("{apath}.minCandidateNodesPercentage"),
                    format!("{apath}.minCandidateNodesAbsolute"),
                );
                if !(0..=100).contains(&pct) {
                    errs.invalid(&pp, pct, "not in valid range [0, 100]");
                }
                if abs < 0 {
                    errs.invalid(&ap, abs, "not in valid range [0, inf)");
                }
                if pct == 0 && abs == 0 {
                    errs.invalid(
                        &pp,
                        pct,
                        "cannot be zero at the same time as minCandidateNodesAbsolute",
                    );
                    errs.invalid(
                        &ap,
                        abs,
                        "cannot be zero at the same time as minCandidateNodesPercentage",
                    );
                }
                args.preemption.min_candidate_nodes_percentage = pct;
                args.preemption.min_candidate_nodes_absolute = abs;
            }
            "PodTopologySpread" => {
                let a = parse!(SpreadArgsRaw);
                let dt = a.defaulting_type.unwrap_or_else(|| "System".into());
                let dpath = format!("{apath}.defaultingType");
                match dt.as_str() {
                    "System" if !a.default_constraints.is_empty() => {
                        errs.invalid(&dpath, format!("{dt:?}"), "when .defaultConstraints are not empty")
                    }
                    "System" | "List" => {}
                    other => errs.other(
                        &dpath,
                        format!("{dpath}: Unsupported value: {other:?}: supported values: \"System\", \"List\""),
                    ),
                }
                let mut list = Vec::new();
                for (j, c) in a.default_constraints.iter().enumerate() {
                    let cp = format!("{apath}.defaultConstraints[{j}]");
                    if c.max_skew <= 0 {
                        errs.invalid(
                            &format!("{cp}.maxSkew"),
                            c.max_skew,
                            "not in valid range (0, inf)",
                        );
                    }
                    if c.topology_key.is_empty() {
                        errs.other(
                            &format!("{cp}.topologyKey"),
                            format!("{cp}.topologyKey: Required value: can not be empty"),
                        );
                    } else if let Err(e) = validate_label_key(&c.topology_key) {
                        errs.other(
                            &format!("{cp}.topologyKey"),
                            format!("{cp}.topologyKey: {e}"),
                        );
                    }
                    let wu = match c.when_unsatisfiable.as_str() {
                        "DoNotSchedule" => UnsatisfiableAction::DoNotSchedule,
                        "ScheduleAnyway" => UnsatisfiableAction::ScheduleAnyway,
                        "" => {
                            errs.other(
                                &format!("{cp}.whenUnsatisfiable"),
                                format!("{cp}.whenUnsatisfiable: Required value: can not be empty"),
                            );
                            UnsatisfiableAction::ScheduleAnyway
                        }
                        other => {
                            errs.other(&format!("{cp}.whenUnsatisfiable"), format!("{cp}.whenUnsatisfiable: Unsupported value: {other:?}: supported values: \"DoNotSchedule\", \"ScheduleAnyway\""));
                            UnsatisfiableAction::ScheduleAnyway
                        }
                    };
                    if c.label_selector.is_some() {
                        errs.other(&format!("{cp}.labelSelector"), format!("{cp}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"));
                    }
                    if a.default_constraints[..j].iter().any(|o| {
                        o.topology_key == c.topology_key
                            && o.when_unsatisfiable == c.when_unsatisfiable
                    }) {
                        errs.other(
                            &cp,
                            format!(
                                "{apath}.defaultConstraints[{j}]: Duplicate value: \"{{{}, {}}}\"",
                                c.topology_key, c.when_unsatisfiable
                            ),
                        );
                    }
                    let pol = |p: &Option<String>, d| match p.as_deref() {
                        Some("Honor") => InclusionPolicy::Honor,
                        Some("Ignore") => InclusionPolicy::Ignore,
                        _ => d,
                    };
                    list.push(TopologySpreadConstraint {
                        max_skew: c.max_skew,
                        topology_key: c.topology_key.clone(),
                        when_unsatisfiable: wu,
                        selector: None,
                        min_domains: c.min_domains,
                        node_affinity_policy: pol(&c.node_affinity_policy, InclusionPolicy::Honor),
                        node_taints_policy: pol(&c.node_taints_policy, InclusionPolicy::Ignore),
                        match_label_keys: c.match_label_keys.clone(),
                    });
                }
                args.spread = if dt == "List" {
                    SpreadDefaults::List(list)
                } else {
                    SpreadDefaults::System
                };
            }
            "NodeAffinity" => {
                let a = parse!(NodeAffinityArgsRaw);
                if let Some(added) = &a.added_affinity {
                    let path = format!("{apath}.addedAffinity");
                    args.node_affinity = added_affinity(added, &path, errs);
                }
            }
            // Args of plugins kubesim does not parse are kept as they are, for
            // out-of-tree plugins.
            other => args.raw.push((other.to_string(), value)),
        }
    }
    args
}

/// Load and validate a configuration file. `shown` is the path as the user
/// wrote it; `registry` adds out-of-tree plugins to kubesim's.
pub fn load(path: &Path, shown: &str, registry: &Registry) -> Result<Config, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: shown.to_string(),
        message: format!("cannot read the scheduler configuration: {e}"),
    })?;
    let docs = parse_bytes(shown, &bytes)?;
    let Some(doc) = docs.first() else {
        return Err(InputError::new(shown, "empty KubeSchedulerConfiguration file").into());
    };
    parse(doc, shown, registry)
}

/// Build profiles from one parsed document.
pub fn parse(doc: &Document, file: &str, registry: &Registry) -> Result<Config, Error> {
    let raw: RawConfig = doc.deserialize(file)?;
    let mut errs = Errors {
        doc,
        file,
        list: Vec::new(),
    };
    if raw.kind != "KubeSchedulerConfiguration" {
        errs.other(
            "kind",
            format!("kind {:?} is not KubeSchedulerConfiguration", raw.kind),
        );
    }
    if raw.api_version != "kubescheduler.config.k8s.io/v1" {
        errs.other(
            "apiVersion",
            format!(
                "apiVersion {:?} is not supported: use kubescheduler.config.k8s.io/v1",
                raw.api_version
            ),
        );
    }
    if let Some(p) = raw.parallelism
        && p <= 0
    {
        errs.invalid(
            "parallelism",
            p,
            "should be an integer value greater than zero",
        );
    }
    let global_pct = raw.percentage_of_nodes_to_score;
    if let Some(p) = global_pct
        && !(0..=100).contains(&p)
    {
        errs.invalid("percentageOfNodesToScore", p, "not in valid range [0-100]");
    }
    let initial = raw.pod_initial_backoff_seconds.unwrap_or(1);
    let max = raw.pod_max_backoff_seconds.unwrap_or(10);
    if initial <= 0 {
        errs.invalid(
            "podInitialBackoffSeconds",
            initial,
            "must be greater than 0",
        );
    }
    if max < initial {
        errs.invalid(
            "podMaxBackoffSeconds",
            max,
            "must be greater than or equal to PodInitialBackoffSeconds",
        );
    }
    if raw.extenders.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.other(
            "extenders",
            "extenders: scheduler extenders are not simulated".into(),
        );
    }
    let raw_profiles = raw.profiles.unwrap_or_else(|| vec![RawProfile::default()]);
    let mut profiles = Vec::new();
    for (i, rp) in raw_profiles.iter().enumerate() {
        let base = format!("profiles[{i}]");
        let name = rp
            .scheduler_name
            .clone()
            .unwrap_or_else(|| "default-scheduler".into());
        if name.is_empty() {
            errs.other(
                &format!("{base}.schedulerName"),
                format!("{base}.schedulerName: Required value"),
            );
        }
        if let Some(j) = raw_profiles[..i]
            .iter()
            .position(|o| o.scheduler_name.as_deref().unwrap_or("default-scheduler") == name)
        {
            errs.other(
                &format!("{base}.schedulerName"),
                format!("{base}.schedulerName: Duplicate value: \"profiles[{j}].schedulerName\""),
            );
        }
        if let Some(p) = rp.percentage_of_nodes_to_score
            && !(0..=100).contains(&p)
        {
            errs.invalid(
                &format!("{base}.percentageOfNodesToScore"),
                p,
                "not in valid range [0-100]",
            );
        }
        let args = plugin_args(doc, file, &base, &rp.plugin_config, &mut errs);
        if let Some(p) = &rp.plugins {
            // Points kubesim does not run: their plugins must exist, no more.
            let others = [
                ("preEnqueue", &p.pre_enqueue),
                ("queueSort", &p.queue_sort),
                ("permit", &p.permit),
                ("preBind", &p.pre_bind),
                ("postBind", &p.post_bind),
            ];
            for (point, set) in others {
                for (j, pl) in set.iter().flat_map(|s| s.enabled.iter()).enumerate() {
                    if !registry.contains(&pl.name) {
                        let at = format!("{base}.plugins.{point}.enabled[{j}]");
                        errs.other(&at, format!("{base}: plugin {:?} does not exist", pl.name));
                    }
                }
            }
        }
        let specs = expand(rp.plugins.as_ref());
        let pct = rp.percentage_of_nodes_to_score.or(global_pct);
        match Profile::build(&name, &specs, &args, pct, registry) {
            Ok(p) => profiles.push(p),
            Err(e) => errs.other(&format!("{base}.plugins"), format!("{base}: {e}")),
        }
    }
    if !errs.list.is_empty() {
        return Err(Error::Input(errs.list));
    }
    Ok(Config {
        profiles,
        initial_backoff: initial as Time * SECOND,
        max_backoff: max as Time * SECOND,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, Error> {
        let docs = parse_bytes("sched.yaml", yaml.as_bytes()).unwrap();
        parse(&docs[0], "sched.yaml", &Registry::new())
    }

    fn cfg_err(yaml: &str) -> String {
        cfg(yaml).err().unwrap().to_string()
    }

    fn names(p: &Profile, which: &[usize]) -> Vec<&'static str> {
        which.iter().map(|&i| p.plugin_name(i)).collect()
    }

    #[test]
    fn two_profiles_with_most_allocated_and_weights() {
        let c = cfg(r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}, {name: ImageLocality}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 2}, {name: memory, weight: 1}]
"#)
        .unwrap();
        assert_eq!(c.profiles.len(), 2);
        let p = &c.profiles[1];
        assert_eq!(p.scheduler_name, "bin-packing");
        assert_eq!(p.percentage_of_nodes_to_score, Some(30));
        let scores: Vec<(&str, i64)> = p
            .score
            .iter()
            .map(|&(i, w)| (p.plugin_name(i), w))
            .collect();
        assert!(scores.contains(&("NodeResourcesFit", 5)), "{scores:?}");
        assert!(!scores.iter().any(|(n, _)| *n == "ImageLocality"));
        // Filters keep upstream order.
        assert_eq!(
            names(p, &p.filter),
            vec![
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
    }

    #[test]
    fn rejections_carry_upstream_reasons() {
        let e = cfg_err(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
podInitialBackoffSeconds: 5
podMaxBackoffSeconds: 2
profiles:
- schedulerName: a
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: RequestedToCapacityRatio
        resources: [{name: cpu, weight: 0}]
        requestedToCapacityRatio:
          shape: [{utilization: 50, score: 5}, {utilization: 40, score: 11}]
- schedulerName: a
"#,
        );
        for want in [
            "podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to PodInitialBackoffSeconds",
            "profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight: Invalid value: 0: resource weight of cpu not in valid range (0, 100]",
            "profiles[0].pluginConfig[0].args.scoringStrategy.shape[1].utilization: Invalid value: 40: utilization values must be sorted in increasing order",
            "profiles[0].pluginConfig[0].args.scoringStrategy.shape[1].score: Invalid value: 11: not in valid range [0, 10]",
            "profiles[1].schedulerName: Duplicate value: \"profiles[0].schedulerName\"",
        ] {
            assert!(e.contains(want), "missing {want:?} in\n{e}");
        }
    }

    #[test]
    fn unknown_plugin_and_field() {
        let e = cfg_err(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    multiPoint:
      enabled: [{name: NodeResourceFit}]
"#,
        );
        assert!(
            e.contains("plugin \"NodeResourceFit\" does not exist"),
            "{e}"
        );
        assert!(e.contains("did you mean \"NodeResourcesFit\""), "{e}");
        let e = cfg("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentOfNodesToScore: 5\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown field `percentOfNodesToScore`"), "{e}");
    }

    #[test]
    fn post_filter_and_bind_points_follow_upstream() {
        // Disabling DefaultPreemption at postFilter turns preemption off; the
        // other PostFilter plugin stays.
        let c = cfg(r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    postFilter:
      disabled: [{name: DefaultPreemption}]
"#)
        .unwrap();
        let p = &c.profiles[0];
        assert_eq!(names(p, &p.post_filter), vec!["DynamicResources"]);
        assert_eq!(names(p, &p.bind), vec!["DefaultBinder"]);
        // No Bind plugin left.
        let e = cfg_err(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: no-binder
  plugins:
    bind:
      disabled: [{name: "*"}]
"#,
        );
        assert!(
            e.contains("profiles[0]: at least one bind plugin is needed for profile with scheduler name \"no-binder\""),
            "{e}"
        );
        // A plugin named at a point it does not implement (`updatePluginList`).
        let e = cfg_err(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    bind:
      enabled: [{name: NodePorts}]
"#,
        );
        assert!(
            e.contains("plugin \"NodePorts\" does not extend BindPlugin plugin"),
            "{e}"
        );
    }

    #[test]
    fn node_affinity_args_parse_added_affinity() {
        let docs = parse_bytes(
            "sched.yaml",
            br#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - {}
          - matchExpressions: [{key: gen, operator: Gt, values: ["3"]}]
            matchFields: [{key: metadata.name, operator: NotIn, values: [old-0]}]
        preferredDuringSchedulingIgnoredDuringExecution:
        - {weight: 0, preference: {matchExpressions: [{key: a, operator: Exists}]}}
        - {weight: 7, preference: {matchExpressions: [{key: disk, operator: In, values: [ssd]}]}}
"#,
        )
        .unwrap();
        let doc = &docs[0];
        let raw: RawConfig = doc.deserialize("sched.yaml").unwrap();
        let mut errs = Errors {
            doc,
            file: "sched.yaml",
            list: Vec::new(),
        };
        let configs = &raw.profiles.as_ref().unwrap()[0].plugin_config;
        let args = plugin_args(doc, "sched.yaml", "profiles[0]", configs, &mut errs);
        assert!(errs.list.is_empty());
        // The empty term and the weight-0 term are dropped, as upstream parses them.
        let added = args.node_affinity;
        let req = added.required.unwrap();
        assert_eq!(req.terms.len(), 1);
        assert_eq!(req.terms[0].match_expressions[0].op, Operator::Gt);
        assert_eq!(req.terms[0].match_fields[0].op, Operator::NotIn);
        let pref = added.preferred.unwrap();
        assert_eq!(pref.len(), 1);
        assert_eq!(pref[0].0, 7);
    }

    #[test]
    fn node_affinity_args_rejected_with_upstream_reasons() {
        let e = cfg_err(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions:
            - {key: zone, operator: In}
            - {key: "bad key", operator: Exists, values: [x]}
            - {key: gen, operator: Gt, values: [new]}
            - {key: zone, operator: Near, values: [z1]}
            matchFields:
            - {key: metadata.name, operator: In, values: [a, b]}
            - {key: metadata.name, operator: Exists}
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 3
          preference:
            matchExpressions: [{key: disk, operator: In, values: ["-ssd"]}]
"#,
        );
        let p = "profiles[0].pluginConfig[0].args.addedAffinity";
        let r = format!("{p}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]");
        for want in [
            format!(
                "{r}.matchExpressions[0].values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
            ),
            format!(
                "{r}.matchExpressions[1].key: Invalid value: \"bad key\": name part must consist of alphanumeric characters"
            ),
            format!(
                "{r}.matchExpressions[1].values: Invalid value: []string{{\"x\"}}: values set must be empty for exists and does not exist"
            ),
            format!(
                "{r}.matchExpressions[2].values[0]: Invalid value: \"new\": for 'Gt', 'Lt' operators, the value must be an integer"
            ),
            format!(
                "{r}.matchExpressions[3].operator: Unsupported value: \"Near\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\""
            ),
            format!(
                "{r}.matchFields[0].values: Invalid value: []string{{\"a\", \"b\"}}: must have one element"
            ),
            format!(
                "{r}.matchFields[1].operator: Unsupported value: \"Exists\": supported values: \"In\", \"NotIn\""
            ),
            format!(
                "{p}.preferredDuringSchedulingIgnoredDuringExecution[0].matchExpressions[0].values[0][disk]: Invalid value: \"-ssd\": a valid label must be"
            ),
        ] {
            assert!(e.contains(&want), "missing {want:?} in\n{e}");
        }
    }

    #[test]
    fn an_out_of_tree_plugin_is_enabled_by_name() {
        use crate::scheduler::framework::Plugin;
        struct Fussy;
        impl Plugin for Fussy {
            fn name(&self) -> &'static str {
                "Fussy"
            }
        }
        let mut registry = Registry::new();
        registry
            .register("Fussy", |args| {
                args.and_then(|a| a.get("level"))
                    .ok_or("args.level is required")?;
                Ok(Box::new(Fussy))
            })
            .unwrap();
        assert_eq!(
            registry.register("NodePorts", |_| Err(String::new())),
            Err("a plugin named NodePorts already exists".into())
        );
        let yaml = |args: &str| {
            format!(
                "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    multiPoint:\n      enabled: [{{name: Fussy}}]\n{args}"
            )
        };
        let parse_with = |text: String| {
            let docs = parse_bytes("sched.yaml", text.as_bytes()).unwrap();
            parse(&docs[0], "sched.yaml", &registry)
        };
        let c = parse_with(yaml(
            "  pluginConfig:\n  - {name: Fussy, args: {level: high}}\n",
        ))
        .unwrap();
        assert!(c.profiles[0].plugins.iter().any(|p| p.name() == "Fussy"));
        let e = parse_with(yaml("")).err().unwrap().to_string();
        assert!(
            e.contains("initializing plugin \"Fussy\": args.level is required"),
            "{e}"
        );
        // Without the registry the name is unknown.
        let docs = parse_bytes("sched.yaml", yaml("").as_bytes()).unwrap();
        let e = parse(&docs[0], "sched.yaml", &Registry::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("plugin \"Fussy\" does not exist"), "{e}");
    }
}
