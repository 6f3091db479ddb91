//! The order in which the scheduler walks nodes: zones round-robin, nodes of
//! a zone in the order they were added.
//!
//! Follows pkg/scheduler/backend/cache/node_tree.go (v1.35) and
//! k8s.io/component-helpers/node/topology (`GetZoneKey`): the zone key is
//! `region + ":\x00:" + zone` from the topology labels (or their deprecated
//! failure-domain.beta.kubernetes.io forms), empty when both are missing.

use crate::hash::HashMap;

use crate::model::{Node, NodeId, World};

#[derive(Clone, Debug, Default)]
pub struct NodeTree {
    zones: Vec<String>,
    tree: HashMap<String, Vec<NodeId>>,
    zone_of: HashMap<NodeId, String>,
    list: Vec<NodeId>,
    dirty: bool,
}

/// `GetZoneKey`.
pub fn zone_key(node: &Node) -> String {
    let get = |a: &str, b: &str| {
        node.labels
            .get(a)
            .or_else(|| node.labels.get(b))
            .cloned()
            .unwrap_or_default()
    };
    let zone = get(
        crate::model::ZONE_LABEL,
        "failure-domain.beta.kubernetes.io/zone",
    );
    let region = get(
        crate::model::REGION_LABEL,
        "failure-domain.beta.kubernetes.io/region",
    );
    if zone.is_empty() && region.is_empty() {
        return String::new();
    }
    format!("{region}:\x00:{zone}")
}

impl NodeTree {
    fn add(&mut self, id: NodeId, zone: String) {
        match self.tree.get_mut(&zone) {
            Some(v) => v.push(id),
            None => {
                self.zones.push(zone.clone());
                self.tree.insert(zone.clone(), vec![id]);
            }
        }
        self.zone_of.insert(id, zone);
        self.dirty = true;
    }

    fn remove(&mut self, id: NodeId) {
        let Some(zone) = self.zone_of.remove(&id) else {
            return;
        };
        let v = self.tree.get_mut(&zone).unwrap();
        v.retain(|&n| n != id);
        if v.is_empty() {
            self.tree.remove(&zone);
            self.zones.retain(|z| *z != zone);
        }
        self.dirty = true;
    }

    /// Bring the tree up to date with one node (added, changed or deleted).
    pub fn update(&mut self, world: &World, id: NodeId) {
        let node = world.node(id);
        if node.deleted {
            self.remove(id);
            return;
        }
        let zone = zone_key(node);
        match self.zone_of.get(&id) {
            Some(z) if *z == zone => {}
            Some(_) => {
                self.remove(id);
                self.add(id, zone);
            }
            None => self.add(id, zone),
        }
    }

    /// `nodeTree.list()`: the i-th node of every zone, for i = 0, 1, …
    pub fn list(&mut self) -> &[NodeId] {
        if self.dirty {
            self.list.clear();
            let mut i = 0;
            loop {
                let mut any = false;
                for z in &self.zones {
                    if let Some(&n) = self.tree[z].get(i) {
                        self.list.push(n);
                        any = true;
                    }
                }
                if !any {
                    break;
                }
                i += 1;
            }
            self.dirty = false;
        }
        &self.list
    }

    pub fn cached_list(&self) -> &[NodeId] {
        debug_assert!(!self.dirty);
        &self.list
    }
}
