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

/// The Kubernetes release whose behaviour is simulated (`spec.kubernetesVersion`,
/// `--kubernetes-version`). Version-dependent behaviours are listed in ARCHITECTURE.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    /// The newest release whose source was read for this simulator.
    pub const DEFAULT: KubeVersion = KubeVersion {
        major: 1,
        minor: 37,
    };
    /// The oldest release whose behaviour is reproduced.
    pub const OLDEST: KubeVersion = KubeVersion {
        major: 1,
        minor: 29,
    };

    /// Parse `1.32`, `v1.32` or `v1.32.4` (the patch level is ignored).
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let t = s.trim().trim_start_matches('v');
        let mut it = t.split('.');
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            return Err(format!(
                "invalid Kubernetes version {s:?}: expected MAJOR.MINOR such as 1.35"
            ));
        };
        let parse = |x: &str| {
            x.parse::<u32>().map_err(|_| {
                format!("invalid Kubernetes version {s:?}: expected MAJOR.MINOR such as 1.35")
            })
        };
        let v = KubeVersion {
            major: parse(a)?,
            minor: parse(b)?,
        };
        if v < Self::OLDEST || v > Self::DEFAULT {
            return Err(format!(
                "Kubernetes version {v} is not simulated: choose one from {} to {}",
                Self::OLDEST,
                Self::DEFAULT
            ));
        }
        Ok(v)
    }

    pub fn at_least(self, minor: u32) -> bool {
        self.major > 1 || self.minor >= minor
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}
