//! Profiles: an ordered set of plugins with score weights, as data.
//!
//! The default profile follows pkg/scheduler/apis/config/v1/default_plugins.go
//! (v1.35): every plugin in `MultiPoint`, in this order, weights TaintToleration 3,
//! NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2, InterPodAffinity 2,
//! NodeResourcesBalancedAllocation 1, ImageLocality 1; PostFilter
//! DynamicResources (v1.34+, when DRA is on by default) then DefaultPreemption;
//! Bind DefaultBinder. Volume plugins and SchedulingGates are out of scope;
//! PrioritySort is the queue's order.
//!
//! A profile needs at least one Bind plugin, as upstream's `NewFramework`
//! (framework/runtime/framework.go) requires.

use crate::scheduler::framework::Plugin;
use crate::scheduler::plugins::node_affinity::AddedAffinity;
use crate::scheduler::plugins::node_resources_fit::{FitArgs, ResourceWeight, Strategy};
use crate::scheduler::plugins::{
    self, Registry, default_binder, default_preemption, dynamic_resources,
};

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
    /// `NodeAffinityArgs.addedAffinity`.
    pub node_affinity: AddedAffinity,
    /// Args of plugins kubesim does not parse (out-of-tree plugins get theirs).
    pub raw: Vec<(String, serde_json::Value)>,
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
            node_affinity: AddedAffinity::default(),
            raw: Vec::new(),
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
    pub reserve: bool,
    pub bind: bool,
}

impl Points {
    pub const ALL: Points = Points {
        pre_filter: true,
        filter: true,
        post_filter: true,
        pre_score: true,
        score: true,
        reserve: true,
        bind: true,
    };
    pub const NONE: Points = Points {
        pre_filter: false,
        filter: false,
        post_filter: false,
        pre_score: false,
        score: false,
        reserve: false,
        bind: false,
    };
}

/// One plugin of a profile, before it is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSpec {
    pub name: String,
    pub points: Points,
    /// The points where the configuration names the plugin itself (not through
    /// MultiPoint): the plugin must implement them.
    pub explicit: Points,
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
    (dynamic_resources::NAME, 0),
    (default_preemption::NAME, 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    (default_binder::NAME, 0),
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
    pub post_filter: Vec<usize>,
    pub reserve: Vec<usize>,
    pub bind: Vec<usize>,
    /// `percentageOfNodesToScore`: `None` or 0 is upstream's adaptive default.
    pub percentage_of_nodes_to_score: Option<i32>,
}

impl Profile {
    fn empty(scheduler_name: &str, percentage_of_nodes_to_score: Option<i32>) -> Profile {
        Profile {
            scheduler_name: scheduler_name.to_string(),
            plugins: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            post_filter: Vec::new(),
            reserve: Vec::new(),
            bind: Vec::new(),
            percentage_of_nodes_to_score,
        }
    }

    /// Add `plugin` at the extension points of `points` it implements.
    fn push(&mut self, plugin: Box<dyn Plugin>, points: Points, weight: i64) {
        let i = self.plugins.len();
        if points.pre_filter && plugin.as_pre_filter().is_some() {
            self.pre_filter.push(i);
        }
        if points.filter && plugin.as_filter().is_some() {
            self.filter.push(i);
        }
        if points.pre_score && plugin.as_pre_score().is_some() {
            self.pre_score.push(i);
        }
        if points.score && plugin.as_score().is_some() {
            self.score.push((i, if weight == 0 { 1 } else { weight }));
        }
        if points.post_filter && plugin.as_post_filter().is_some() {
            self.post_filter.push(i);
        }
        if points.reserve && plugin.as_reserve().is_some() {
            self.reserve.push(i);
        }
        if points.bind && plugin.as_bind().is_some() {
            self.bind.push(i);
        }
        self.plugins.push(plugin);
    }

    /// Build from plugin specs with kubesim's plugins and those of `registry`.
    /// An unknown name, a plugin named at a point it does not implement, or a
    /// profile without a Bind plugin is an error with upstream's wording.
    pub fn build(
        scheduler_name: &str,
        specs: &[PluginSpec],
        args: &PluginArgs,
        percentage_of_nodes_to_score: Option<i32>,
        registry: &Registry,
    ) -> Result<Profile, String> {
        let mut p = Profile::empty(scheduler_name, percentage_of_nodes_to_score);
        for s in specs {
            if plugins::ACCEPTED_NOT_SIMULATED.contains(&s.name.as_str()) {
                continue;
            }
            let plugin = match registry.build(&s.name, args) {
                Some(built) => built?,
                None => {
                    let mut msg = format!("plugin {:?} does not exist", s.name);
                    if let Some(m) = crate::error::did_you_mean(&s.name, registry.names()) {
                        msg.push_str(&format!(" (did you mean {m:?}?)"));
                    }
                    return Err(msg);
                }
            };
            let e = &s.explicit;
            for (named, implemented, kind) in [
                (
                    e.pre_filter,
                    plugin.as_pre_filter().is_some(),
                    "PreFilterPlugin",
                ),
                (e.filter, plugin.as_filter().is_some(), "FilterPlugin"),
                (
                    e.post_filter,
                    plugin.as_post_filter().is_some(),
                    "PostFilterPlugin",
                ),
                (
                    e.pre_score,
                    plugin.as_pre_score().is_some(),
                    "PreScorePlugin",
                ),
                (e.score, plugin.as_score().is_some(), "ScorePlugin"),
                (e.reserve, plugin.as_reserve().is_some(), "ReservePlugin"),
                (e.bind, plugin.as_bind().is_some(), "BindPlugin"),
            ] {
                if named && !implemented {
                    // `updatePluginList`.
                    return Err(format!("plugin {:?} does not extend {kind} plugin", s.name));
                }
            }
            p.push(plugin, s.points, s.weight);
        }
        if p.bind.is_empty() {
            return Err(format!(
                "at least one bind plugin is needed for profile with scheduler name {scheduler_name:?}"
            ));
        }
        Ok(p)
    }

    /// A profile from plugin values, for policies defined outside kubesim: each
    /// plugin is enabled at every extension point it implements, in the order
    /// given; a weight of 0 keeps it out of scoring. DefaultPreemption is added
    /// unless a plugin of that name is given, and DefaultBinder unless a given
    /// plugin binds.
    pub fn with_plugins(
        scheduler_name: &str,
        plugins: Vec<(Box<dyn Plugin>, i64)>,
        percentage_of_nodes_to_score: Option<i32>,
    ) -> Profile {
        let mut p = Profile::empty(scheduler_name, percentage_of_nodes_to_score);
        for (plugin, weight) in plugins {
            let mut points = Points::ALL;
            if weight <= 0 {
                points.pre_score = false;
                points.score = false;
            }
            p.push(plugin, points, weight);
        }
        if !p
            .plugins
            .iter()
            .any(|x| x.name() == default_preemption::NAME)
        {
            let preemption = default_preemption::DefaultPreemption::default();
            p.push(Box::new(preemption), Points::ALL, 0);
        }
        if p.bind.is_empty() {
            p.push(Box::new(default_binder::DefaultBinder), Points::ALL, 0);
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
            explicit: Points::NONE,
            weight,
        })
        .collect()
}

/// The filters of the default profile, its PostFilter and Bind plugins, and
/// `scorer` alone.
fn filters_and(scorer: &str) -> Vec<PluginSpec> {
    let mut v: Vec<(&str, i64)> = FILTERS.iter().map(|&n| (n, 0)).collect();
    v.push((dynamic_resources::NAME, 0));
    v.push((default_preemption::NAME, 0));
    v.push((default_binder::NAME, 0));
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
    Some(
        Profile::build(DEFAULT_SCHEDULER_NAME, &list, &args, pct, &Registry::new())
            .expect("built-in profile"),
    )
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
        let names = |v: &[usize]| v.iter().map(|&i| p.plugin_name(i)).collect::<Vec<_>>();
        // default_plugins.go: PostFilter DynamicResources (v1.34+) then
        // DefaultPreemption; Bind DefaultBinder; no Reserve plugin simulated.
        assert_eq!(
            names(&p.post_filter),
            vec!["DynamicResources", "DefaultPreemption"]
        );
        assert_eq!(names(&p.bind), vec!["DefaultBinder"]);
        assert!(p.reserve.is_empty());
    }

    #[test]
    fn a_profile_needs_a_bind_plugin() {
        let mut list = specs(DEFAULT_PLUGINS);
        list.retain(|s| s.name != "DefaultBinder");
        let e = Profile::build("x", &list, &PluginArgs::default(), None, &Registry::new())
            .err()
            .unwrap();
        assert_eq!(
            e,
            "at least one bind plugin is needed for profile with scheduler name \"x\""
        );
    }
}
