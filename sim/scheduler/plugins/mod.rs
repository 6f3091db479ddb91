//! One file per plugin, and the registry that builds them by name.
//!
//! A new built-in policy is one file here and one line in [`build`]; a policy
//! defined outside kubesim is registered by name in a [`Registry`].

pub mod balanced_allocation;
pub mod default_binder;
pub mod default_preemption;
pub mod drf_spread;
pub mod dynamic_resources;
pub mod first_fit;
pub mod fit_leftover;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod random;
pub mod taint_toleration;
pub mod tetris;

use std::sync::Arc;

use serde_json::Value;

use crate::scheduler::framework::Plugin;
use crate::scheduler::profiles::PluginArgs;

/// Plugins upstream ships that kubesim accepts in a configuration but does not
/// simulate (volumes, scheduling gates) or that are the queue's fixed order
/// here (queue sort).
pub const ACCEPTED_NOT_SIMULATED: &[&str] = &[
    "PrioritySort",
    "SchedulingGates",
    "VolumeRestrictions",
    "VolumeBinding",
    "VolumeZone",
    "NodeVolumeLimits",
    "EBSLimits",
    "GCEPDLimits",
    "AzureDiskLimits",
    "CinderLimits",
];

/// Every plugin name the registry builds.
pub const NAMES: &[&str] = &[
    node_unschedulable::NAME,
    node_name::NAME,
    taint_toleration::NAME,
    node_affinity::NAME,
    node_ports::NAME,
    node_resources_fit::NAME,
    balanced_allocation::NAME,
    image_locality::NAME,
    pod_topology_spread::NAME,
    inter_pod_affinity::NAME,
    first_fit::NAME,
    fit_leftover::BEST_FIT,
    fit_leftover::WORST_FIT,
    random::NAME,
    tetris::NAME,
    drf_spread::NAME,
    default_preemption::NAME,
    dynamic_resources::NAME,
    default_binder::NAME,
];

/// A plugin by its upstream name, configured by `args`; `None` if unknown.
pub fn build(name: &str, args: &PluginArgs) -> Option<Box<dyn Plugin>> {
    Some(match name {
        node_unschedulable::NAME => Box::new(node_unschedulable::NodeUnschedulable),
        node_name::NAME => Box::new(node_name::NodeName),
        taint_toleration::NAME => Box::new(taint_toleration::TaintToleration),
        node_affinity::NAME => Box::new(node_affinity::NodeAffinity {
            added: args.node_affinity.clone(),
        }),
        node_ports::NAME => Box::new(node_ports::NodePorts),
        node_resources_fit::NAME => {
            Box::new(node_resources_fit::NodeResourcesFit::new(args.fit.clone()))
        }
        balanced_allocation::NAME => Box::new(balanced_allocation::BalancedAllocation {
            resources: args.balanced.clone(),
        }),
        image_locality::NAME => Box::new(image_locality::ImageLocality),
        pod_topology_spread::NAME => Box::new(pod_topology_spread::PodTopologySpread {
            defaults: args.spread.clone(),
        }),
        inter_pod_affinity::NAME => Box::new(inter_pod_affinity::InterPodAffinity {
            hard_pod_affinity_weight: args.hard_pod_affinity_weight,
            ignore_preferred_terms_of_existing_pods: args.ignore_preferred_terms_of_existing_pods,
        }),
        first_fit::NAME => Box::new(first_fit::FirstFit),
        fit_leftover::BEST_FIT => Box::new(fit_leftover::FitLeftover { best: true }),
        fit_leftover::WORST_FIT => Box::new(fit_leftover::FitLeftover { best: false }),
        random::NAME => Box::new(random::Random),
        tetris::NAME => Box::new(tetris::Tetris),
        drf_spread::NAME => Box::new(drf_spread::DrfSpread),
        default_preemption::NAME => Box::new(default_preemption::DefaultPreemption {
            args: args.preemption.clone(),
        }),
        dynamic_resources::NAME => Box::new(dynamic_resources::DynamicResources),
        default_binder::NAME => Box::new(default_binder::DefaultBinder),
        _ => return None,
    })
}

/// Builds an out-of-tree plugin from its `pluginConfig` args as written
/// (`None` when the profile gives none), as upstream's `PluginFactory` does.
pub type Factory = Arc<dyn Fn(Option<&Value>) -> Result<Box<dyn Plugin>, String> + Send + Sync>;

/// Plugins by name: kubesim's own and those registered out of tree (upstream
/// `runtime.Registry`, extended by `app.WithPlugin`). A KubeSchedulerConfiguration
/// enables a registered plugin by name like any other.
#[derive(Clone, Default)]
pub struct Registry {
    out_of_tree: Vec<(String, Factory)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.out_of_tree.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Register `factory` under `name`; a name taken (built in or registered)
    /// is an error, as upstream's `Registry.Register`.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(Option<&Value>) -> Result<Box<dyn Plugin>, String> + Send + Sync + 'static,
    ) -> Result<(), String> {
        if self.contains(name) {
            return Err(format!("a plugin named {name} already exists"));
        }
        self.out_of_tree.push((name.to_string(), Arc::new(factory)));
        Ok(())
    }

    /// Whether a configuration may name `name`.
    pub fn contains(&self, name: &str) -> bool {
        NAMES.contains(&name)
            || ACCEPTED_NOT_SIMULATED.contains(&name)
            || self.out_of_tree.iter().any(|(n, _)| n == name)
    }

    /// Every name that builds a plugin, for did-you-mean hints.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        NAMES
            .iter()
            .copied()
            .chain(self.out_of_tree.iter().map(|(n, _)| n.as_str()))
    }

    /// The plugin named `name`, configured by `args`; `None` if unknown.
    pub fn build(&self, name: &str, args: &PluginArgs) -> Option<Result<Box<dyn Plugin>, String>> {
        if let Some(p) = build(name, args) {
            return Some(Ok(p));
        }
        let (_, factory) = self.out_of_tree.iter().find(|(n, _)| n == name)?;
        let raw = args.raw.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        Some(factory(raw).map_err(|e| format!("initializing plugin {name:?}: {e}")))
    }
}
