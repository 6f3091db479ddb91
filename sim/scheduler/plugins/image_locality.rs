//! ImageLocality: favours nodes that already hold the pod's images, weighted by
//! image size and by how widely the image is spread over the cluster.
//!
//! Follows pkg/scheduler/framework/plugins/imagelocality/image_locality.go (v1.35).
//! Image sizes come from the nodes' image lists (the scenario's `images`).

use crate::model::NodeId;
use crate::scheduler::framework::*;

pub const NAME: &str = "ImageLocality";

const MB: i64 = 1024 * 1024;
/// `minThreshold`: below 23 MB of images the score is 0.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// `maxContainerThreshold`: per container, 1000 MB of images scores 100.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// `normalizedImageName`: an image without a tag is `:latest`.
pub fn normalized_image_name(name: &str) -> std::borrow::Cow<'_, str> {
    let colon = name.rfind(':').map_or(-1, |i| i as i64);
    let slash = name.rfind('/').map_or(-1, |i| i as i64);
    if colon <= slash {
        format!("{name}:latest").into()
    } else {
        name.into()
    }
}

/// `calculatePriority`: clamp the summed scaled sizes to
/// [23 MB, 1000 MB × containers] and map linearly onto [0, 100].
pub fn calculate_priority(sum_scores: i64, num_containers: i64) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * num_containers;
    let s = sum_scores.clamp(MIN_THRESHOLD, max_threshold.max(MIN_THRESHOLD));
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

/// `scaledImageScore`: size × (nodes having it / all nodes), float then truncated.
pub fn scaled_image_score(size: i64, num_nodes: i64, total_nodes: i64) -> i64 {
    (size as f64 * (num_nodes as f64 / total_nodes as f64)) as i64
}

#[derive(Default)]
struct ScoreState {
    /// The pod's images, normalised, with how many nodes have each.
    images: Vec<(String, i64)>,
    total_nodes: i64,
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
        let s = state.get_or_default::<ScoreState>();
        s.images.clear();
        s.total_nodes = cx.nodes.len() as i64;
        if cx.spec.images.is_empty() {
            return Status::SKIP;
        }
        let mut any = false;
        for img in &cx.spec.images {
            let name = normalized_image_name(img).into_owned();
            let count = cx.images.nodes_with(&name);
            any |= count > 0;
            s.images.push((name, count));
        }
        // No node holds any of the images: every node would score 0.
        if !any {
            s.images.clear();
        }
        Status::SUCCESS
    }
}

impl ImageLocality {
    fn node_score(&self, cx: &CycleContext, s: &ScoreState, node: &NodeInfo) -> i64 {
        if s.images.is_empty() || node.node.images.is_empty() {
            // calculatePriority(0, n) is 0.
            return 0;
        }
        let mut sum = 0;
        for (name, count) in &s.images {
            if let Some((_, size)) = node
                .node
                .images
                .iter()
                .find(|(i, _)| i == name || normalized_image_name(i) == name.as_str())
            {
                sum += scaled_image_score(*size, *count, s.total_nodes);
            }
        }
        calculate_priority(sum, cx.spec.images.len() as i64)
    }
}

impl ScorePlugin for ImageLocality {
    score_from_state!(ScoreState);

    /// No node holds any of the pod's images: 0 on every node.
    fn is_uniform(&self, _: &CycleContext, state: &State) -> bool {
        state
            .get::<ScoreState>()
            .is_none_or(|s| s.images.is_empty())
    }

    /// No node holds any of the pod's images: 0 everywhere, without visiting nodes.
    fn score_all(&self, cx: &CycleContext, state: &State, feasible: &[NodeId], out: &mut Vec<i64>) {
        if state
            .get::<ScoreState>()
            .is_some_and(|s| !s.images.is_empty())
        {
            score_each(cx, state, feasible, out, |s: &ScoreState, n| {
                self.node_score(cx, s, n)
            });
        } else {
            out.resize(out.len() + feasible.len(), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_latest_when_untagged() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(normalized_image_name("nginx:1.25"), "nginx:1.25");
        assert_eq!(
            normalized_image_name("registry:5000/app"),
            "registry:5000/app:latest"
        );
    }

    #[test]
    fn priority_is_linear_between_thresholds() {
        // One 500 MB image on 2 of 4 nodes: scaled 250 MB.
        let s = scaled_image_score(500 * MB, 2, 4);
        assert_eq!(s, 250 * MB);
        // 100 * (250 - 23) / (1000 - 23) = 22700/977 = 23 (23.2 truncated).
        assert_eq!(calculate_priority(s, 1), 23);
        // Two containers: 100 * 227 / 1977 = 11.
        assert_eq!(calculate_priority(s, 2), 11);
        assert_eq!(calculate_priority(10 * MB, 1), 0);
        assert_eq!(calculate_priority(5000 * MB, 1), 100);
    }
}
