//! One file per plugin, and the registry that builds them by name.
//!
//! A new policy is one file here and one line in [`build`].

pub mod balanced_allocation;
pub mod drf_spread;
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

use crate::scheduler::framework::Plugin;
use crate::scheduler::profiles::PluginArgs;

/// Plugins upstream ships that kubesim accepts in a configuration but does not
/// simulate (volumes, DRA, scheduling gates) or that are built into the
/// framework here (queue sort, binding, preemption).
pub const ACCEPTED_NOT_SIMULATED: &[&str] = &[
    "PrioritySort",
    "SchedulingGates",
    "DefaultBinder",
    "VolumeRestrictions",
    "VolumeBinding",
    "VolumeZone",
    "NodeVolumeLimits",
    "EBSLimits",
    "GCEPDLimits",
    "AzureDiskLimits",
    "CinderLimits",
    "DynamicResources",
];

/// `DefaultPreemption` is the PostFilter built into the framework (preemption.rs).
pub const DEFAULT_PREEMPTION: &str = "DefaultPreemption";

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
];

/// A plugin by its upstream name, configured by `args`; `None` if unknown.
pub fn build(name: &str, args: &PluginArgs) -> Option<Box<dyn Plugin>> {
    Some(match name {
        node_unschedulable::NAME => Box::new(node_unschedulable::NodeUnschedulable),
        node_name::NAME => Box::new(node_name::NodeName),
        taint_toleration::NAME => Box::new(taint_toleration::TaintToleration),
        node_affinity::NAME => Box::new(node_affinity::NodeAffinity),
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
        _ => return None,
    })
}
