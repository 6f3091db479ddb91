//! Placeholder first-fit scheduler with the interface the loop relies on;
//! replaced by the framework on branch `sched`.
use std::path::Path;

use crate::engine::Time;
use crate::error::Error;
use crate::model::*;

pub struct Preemption {
    pub node: NodeId,
    pub victims: Vec<PodId>,
}
pub enum Outcome {
    Bind(NodeId),
    Unschedulable {
        message: String,
        preemption: Option<Preemption>,
    },
}
pub struct Scheduler {
    queue: std::collections::VecDeque<PodId>,
    attempts: u64,
}
impl Scheduler {
    pub fn new(
        _spec: &str,
        _base_dir: &Path,
        _version: KubeVersion,
        _seed: u64,
    ) -> Result<Scheduler, Error> {
        Ok(Scheduler {
            queue: Default::default(),
            attempts: 0,
        })
    }
    pub fn on_change(&mut self, world: &World, change: Change, _now: Time) {
        if let Change::PodAdded(p) = change
            && world.pod(p).node.is_none()
        {
            self.queue.push_back(p);
        }
    }
    pub fn next_wakeup(&self, now: Time) -> Option<Time> {
        (!self.queue.is_empty()).then_some(now)
    }
    pub fn pop(&mut self, world: &World, _now: Time) -> Option<PodId> {
        while let Some(p) = self.queue.pop_front() {
            let pod = world.pod(p);
            if !pod.deleted && pod.node.is_none() && pod.deleting_since.is_none() {
                return Some(p);
            }
        }
        None
    }
    pub fn schedule_one(&mut self, world: &World, pod: PodId, _now: Time) -> Outcome {
        self.attempts += 1;
        let spec = world.pod_spec(pod);
        for (id, n) in world.live_nodes() {
            let mut r = n.requested.clone();
            r.add(&spec.requests);
            if r.fits_in(&n.allocatable) {
                return Outcome::Bind(id);
            }
        }
        Outcome::Unschedulable {
            message: format!("0/{} nodes are available.", world.nodes.len()),
            preemption: None,
        }
    }
    pub fn attempts(&self) -> u64 {
        self.attempts
    }
    pub fn name(&self) -> &str {
        "default"
    }
}
