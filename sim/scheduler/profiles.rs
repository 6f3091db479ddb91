//! Profiles: an ordered set of plugins with score weights, as data.
//!
//! The default profile follows pkg/scheduler/apis/config/v1/default_plugins.go
//! (v1.35): every plugin in `MultiPoint`, in this order, weights TaintToleration 3,
//! NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2, InterPodAffinity 2,
//! NodeResourcesBalancedAllocation 1, ImageLocality 1. Volume plugins, DRA and
//! SchedulingGates are out of scope; PrioritySort is the queue's order and
//! DefaultBinder the run loop's bind.

use crate::scheduler::framework::Plugin;
use crate::scheduler::plugins::node_resources_fit::{FitArgs, ResourceWeight, Strategy};
use crate::scheduler::plugins::{self, DEFAULT_PREEMPTION};

/// `DefaultPreemptionArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreemptionArgs {
    pub min_candidate_nodes_percentage: i32,
    pub min_candidate_nodes_absolute: i32,
}

impl Default for PreemptionArgs {
    fn default() -> Self {
        PreemptionArgs {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

/// Topology spread defaulting (`PodTopologySpreadArgs.defaultingType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpreadDefaults {
    /// hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway.
    System,
    /// `defaultConstraints` given in the configuration (possibly none).
    List(Vec<crate::model::TopologySpreadConstraint>),
}

/// Every plugin's arguments (`pluginConfig`), defaulted as upstream defaults them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginArgs {
    pub fit: FitArgs,
    pub balanced: Vec<ResourceWeight>,
    pub hard_pod_affinity_weight: i64,
    pub ignore_preferred_terms_of_existing_pods: bool,
    pub spread: SpreadDefaults,
    pub preemption: PreemptionArgs,
}

impl Default for PluginArgs {
    fn default() -> Self {
        PluginArgs {
            fit: FitArgs::default(),
            balanced: ResourceWeight::defaults(),
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
            spread: SpreadDefaults::System,
            preemption: PreemptionArgs::default(),
        }
    }
}

/// Extension points a plugin is enabled at in a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Points {
    pub pre_filter: bool,
    pub filter: bool,
    pub post_filter: bool,
    pub pre_score: bool,
    pub score: bool,
}

impl Points {
    pub const ALL: Points = Points {
        pre_filter: true,
        filter: true,
        post_filter: true,
        pre_score: true,
        score: true,
    };
    pub const NONE: Points = Points {
        pre_filter: false,
        filter: false,
        post_filter: false,
        pre_score: false,
        score: false,
    };
}

/// One plugin of a profile, before it is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSpec {
    pub name: String,
    pub points: Points,
    /// Score weight; 0 means the default, 1.
    pub weight: i64,
}

/// The default profile's plugins in upstream order, with score weights.
pub const DEFAULT_PLUGINS: &[(&str, i64)] = &[
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DynamicResources", 0),
    (DEFAULT_PREEMPTION, 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
];

/// The default profile's filters only (for the literature policies).
const FILTERS: &[&str] = &[
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
];

/// A built profile: plugins and, per extension point, the indexes of the plugins
/// enabled there, in order.
pub struct Profile {
    pub scheduler_name: String,
    pub plugins: Vec<Box<dyn Plugin>>,
    pub pre_filter: Vec<usize>,
    pub filter: Vec<usize>,
    pub pre_score: Vec<usize>,
    /// (plugin index, weight)
    pub score: Vec<(usize, i64)>,
    pub preemption: Option<PreemptionArgs>,
    /// DynamicResources is enabled at PostFilter: its PostFilter runs before
    /// DefaultPreemption (v1.34+, where DRA is on by default).
    pub dynamic_resources: bool,
    /// `percentageOfNodesToScore`: `None` or 0 is upstream's adaptive default.
    pub percentage_of_nodes_to_score: Option<i32>,
}

impl Profile {
    /// Build from plugin specs; an unknown name is an error naming it.
    pub fn build(
        scheduler_name: &str,
        specs: &[PluginSpec],
        args: &PluginArgs,
        percentage_of_nodes_to_score: Option<i32>,
    ) -> Result<Profile, String> {
        let mut p = Profile {
            scheduler_name: scheduler_name.to_string(),
            plugins: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            preemption: None,
            dynamic_resources: false,
            percentage_of_nodes_to_score,
        };
        for s in specs {
            if s.name == DEFAULT_PREEMPTION {
                if s.points.post_filter {
                    p.preemption = Some(args.preemption.clone());
                }
                continue;
            }
            if s.name == "DynamicResources" {
                p.dynamic_resources = s.points.post_filter;
                continue;
            }
            if plugins::ACCEPTED_NOT_SIMULATED.contains(&s.name.as_str()) {
                continue;
            }
            let Some(plugin) = plugins::build(&s.name, args) else {
                let mut msg = format!("plugin {:?} does not exist", s.name);
                if let Some(m) = crate::error::did_you_mean(&s.name, plugins::NAMES.iter().copied())
                {
                    msg.push_str(&format!(" (did you mean {m:?}?)"));
                }
                return Err(msg);
            };
            let i = p.plugins.len();
            if s.points.pre_filter && plugin.as_pre_filter().is_some() {
                p.pre_filter.push(i);
            }
            if s.points.filter && plugin.as_filter().is_some() {
                p.filter.push(i);
            }
            if s.points.pre_score && plugin.as_pre_score().is_some() {
                p.pre_score.push(i);
            }
            if s.points.score && plugin.as_score().is_some() {
                p.score.push((i, if s.weight == 0 { 1 } else { s.weight }));
            }
            p.plugins.push(plugin);
        }
        Ok(p)
    }

    /// A profile from plugin values, for policies defined outside kubesim: each
    /// plugin is enabled at every extension point it implements, in the order
    /// given; a weight of 0 keeps it out of scoring. DefaultPreemption is on.
    pub fn with_plugins(
        scheduler_name: &str,
        plugins: Vec<(Box<dyn Plugin>, i64)>,
        percentage_of_nodes_to_score: Option<i32>,
    ) -> Profile {
        let mut p = Profile {
            scheduler_name: scheduler_name.to_string(),
            plugins: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            preemption: Some(PreemptionArgs::default()),
            dynamic_resources: false,
            percentage_of_nodes_to_score,
        };
        for (i, (plugin, weight)) in plugins.into_iter().enumerate() {
            if plugin.as_pre_filter().is_some() {
                p.pre_filter.push(i);
            }
            if plugin.as_filter().is_some() {
                p.filter.push(i);
            }
            if weight > 0 && plugin.as_score().is_some() {
                if plugin.as_pre_score().is_some() {
                    p.pre_score.push(i);
                }
                p.score.push((i, weight));
            }
            p.plugins.push(plugin);
        }
        p
    }

    pub fn plugin_name(&self, i: usize) -> &'static str {
        self.plugins[i].name()
    }
}

fn specs(list: &[(&str, i64)]) -> Vec<PluginSpec> {
    list.iter()
        .map(|&(name, weight)| PluginSpec {
            name: name.to_string(),
            points: Points::ALL,
            weight,
        })
        .collect()
}

/// The filters of the default profile, DefaultPreemption, and `scorer` alone.
fn filters_and(scorer: &str) -> Vec<PluginSpec> {
    let mut v: Vec<(&str, i64)> = FILTERS.iter().map(|&n| (n, 0)).collect();
    v.push(("DynamicResources", 0));
    v.push((DEFAULT_PREEMPTION, 0));
    v.push((scorer, 1));
    let mut s = specs(&v);
    // The filters keep their PreFilter/Filter, but do not score.
    for spec in s.iter_mut().take(FILTERS.len()) {
        spec.points.pre_score = false;
        spec.points.score = false;
    }
    s
}

/// Built-in profiles: name and one line for `kubesim schedulers`.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "default",
        "kube-scheduler's default profile: LeastAllocated, BalancedAllocation, spreading, affinity, taints, images",
    ),
    (
        "binpack",
        "default profile with NodeResourcesFit scoringStrategy MostAllocated (pack nodes full)",
    ),
    (
        "rtcr-binpack",
        "default profile with NodeResourcesFit RequestedToCapacityRatio, shape {0%: 0, 100%: 10}",
    ),
    (
        "spread",
        "default filters; LeastAllocated alone over all nodes (emptiest node first)",
    ),
    (
        "first-fit",
        "default filters; the first feasible node in node order",
    ),
    (
        "best-fit",
        "default filters; the node with the least cpu+memory left after placing the pod",
    ),
    (
        "worst-fit",
        "default filters; the node with the most cpu+memory left after placing the pod",
    ),
    (
        "random",
        "default filters; a feasible node uniformly at random",
    ),
    (
        "tetris",
        "default filters; the largest dot product of pod demand and node free vector (Tetris, SIGCOMM'14)",
    ),
    (
        "drf-spread",
        "default filters; the node whose dominant (cpu or memory) share after placement is lowest",
    ),
];

/// The scheduler name every built-in profile serves.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// A built-in profile by name.
pub fn builtin(name: &str) -> Option<Profile> {
    let mut args = PluginArgs::default();
    let (list, pct) = match name {
        "default" => (specs(DEFAULT_PLUGINS), None),
        "binpack" => {
            args.fit.strategy = Strategy::MostAllocated;
            (specs(DEFAULT_PLUGINS), None)
        }
        "rtcr-binpack" => {
            args.fit.strategy = Strategy::RequestedToCapacityRatio {
                shape: vec![(0, 0), (100, 10)],
            };
            (specs(DEFAULT_PLUGINS), None)
        }
        "spread" => (filters_and("NodeResourcesFit"), Some(100)),
        "first-fit" => (filters_and("FirstFit"), Some(100)),
        "best-fit" => (filters_and("BestFit"), Some(100)),
        "worst-fit" => (filters_and("WorstFit"), Some(100)),
        "random" => (filters_and("Random"), Some(100)),
        "tetris" => (filters_and("Tetris"), Some(100)),
        "drf-spread" => (filters_and("DrfSpread"), Some(100)),
        _ => return None,
    };
    let mut list = list;
    if name == "spread" {
        // NodeResourcesFit appears twice in `filters_and`: keep one entry, all points.
        list.retain(|s| s.name != "NodeResourcesFit" || s.points.score);
        let at = FILTERS
            .iter()
            .position(|&n| n == "NodeResourcesFit")
            .unwrap();
        let fit = list.pop().unwrap();
        list.insert(at, fit);
    }
    Some(Profile::build(DEFAULT_SCHEDULER_NAME, &list, &args, pct).expect("built-in profile"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_builds() {
        for (name, _) in BUILTINS {
            let p = builtin(name).unwrap();
            assert!(!p.filter.is_empty(), "{name}");
            assert!(!p.score.is_empty(), "{name}");
        }
    }

    #[test]
    fn default_profile_weights() {
        let p = builtin("default").unwrap();
        let w: Vec<(&str, i64)> = p
            .score
            .iter()
            .map(|&(i, w)| (p.plugin_name(i), w))
            .collect();
        assert!(w.contains(&("TaintToleration", 3)));
        assert!(w.contains(&("NodeAffinity", 2)));
        assert!(w.contains(&("NodeResourcesFit", 1)));
        assert!(w.contains(&("NodeResourcesBalancedAllocation", 1)));
        assert!(w.contains(&("ImageLocality", 1)));
        assert!(p.preemption.is_some());
    }
}
