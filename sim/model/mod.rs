//! Typed cluster objects, quantities, arenas and indexes (the World).
pub mod duration;
pub mod labels;
pub mod objects;
pub mod quantity;
pub mod resources;
pub mod taints;
pub mod world;

pub use objects::*;
pub use resources::{Resources, ScalarId};
pub use world::{Change, World};

/// Well-known labels (k8s.io/api/core/v1/well_known_labels.go).
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
