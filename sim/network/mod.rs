//! The network: a topology graph (petgraph) of the control plane, one hub per
//! zone and the nodes, which partitions cut; and Service traffic over it
//! (see [`traffic`]), and the CPU pods use serving it (see [`cpu`]).
//!
//! Shape: every node hangs off its zone's hub by two links, a data link
//! (one-way `intraZoneLatency`, default 250 µs) and a control link (kubelet ↔
//! API server); hubs are fully meshed by data links (`crossZoneLatency`,
//! default 1 ms, typical of cloud availability zones in one region), and the
//! control plane hangs off every hub. Clients live in zones: a client in zone z
//! reaches a node when data links join z's hub to it, with the path's latency;
//! a kubelet reaches the API server over its control link, its hub and the
//! hub's link to the control plane.
//! - `partition` of nodes cuts their control links: the control plane loses
//!   them, their pods keep running and serving every client that still sends
//!   them requests (until kube-proxy drops them from its rules).
//! - `partition` of a zone cuts the zone from the control plane and from the
//!   other zones: clients inside the zone still reach the zone's nodes, and
//!   the zone's kube-proxies keep their stale rules.
//!
//! Nodes without a zone label share the hub of zone "". Cuts are counted, so
//! overlapping partitions heal independently.

pub mod cpu;
pub mod traffic;

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::{EdgeFiltered, EdgeRef};

use crate::engine::Time;
use crate::model::{NodeId, World};
use crate::scenario::NetworkSettings;

/// A link: one-way latency, and whether it carries control or data traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Link {
    latency: Time,
    control: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vertex {
    ControlPlane,
    Zone(usize),
    Node(NodeId),
}

pub struct Topology {
    graph: UnGraph<Vertex, Link>,
    cp: NodeIndex,
    /// Zone names in sorted order; index = zone id.
    pub zones: Vec<String>,
    zone_ix: Vec<NodeIndex>,
    node_ix: Vec<NodeIndex>,
    node_zone: Vec<usize>,
    /// How many partitions currently cut each edge.
    cuts: Vec<u32>,
    /// Derived after every change: node reachable from the control plane.
    cp_reach: Vec<bool>,
    /// Zone hub reachable from the control plane (its kube-proxies get updates).
    zone_cp: Vec<bool>,
    /// One-way latency from a client in zone z to node n; `None`: unreachable.
    latency: Vec<Vec<Option<Time>>>,
}

impl Topology {
    pub fn new(world: &World, settings: &NetworkSettings) -> Topology {
        let mut zones: Vec<String> = world
            .nodes
            .iter()
            .map(|n| n.zone().unwrap_or("").to_string())
            .collect();
        zones.sort();
        zones.dedup();
        if zones.is_empty() {
            zones.push(String::new());
        }
        let mut graph = UnGraph::new_undirected();
        let cp = graph.add_node(Vertex::ControlPlane);
        let zone_ix: Vec<NodeIndex> = (0..zones.len())
            .map(|z| graph.add_node(Vertex::Zone(z)))
            .collect();
        let control = Link {
            latency: 0,
            control: true,
        };
        for &z in &zone_ix {
            graph.add_edge(cp, z, control);
        }
        for a in 0..zone_ix.len() {
            for b in a + 1..zone_ix.len() {
                let data = Link {
                    latency: settings.cross_zone_latency,
                    control: false,
                };
                graph.add_edge(zone_ix[a], zone_ix[b], data);
            }
        }
        let mut node_ix = Vec::new();
        let mut node_zone = Vec::new();
        for (i, n) in world.nodes.iter().enumerate() {
            let z = zones
                .binary_search_by(|x| x.as_str().cmp(n.zone().unwrap_or("")))
                .expect("zone listed");
            let v = graph.add_node(Vertex::Node(NodeId(i as u32)));
            let data = Link {
                latency: settings.intra_zone_latency,
                control: false,
            };
            graph.add_edge(zone_ix[z], v, data);
            graph.add_edge(zone_ix[z], v, control);
            node_ix.push(v);
            node_zone.push(z);
        }
        let cuts = vec![0; graph.edge_count()];
        let mut t = Topology {
            graph,
            cp,
            zones,
            zone_ix,
            node_ix,
            node_zone,
            cuts,
            cp_reach: Vec::new(),
            zone_cp: Vec::new(),
            latency: Vec::new(),
        };
        t.recompute();
        t
    }

    pub fn zone_index(&self, name: &str) -> Option<usize> {
        self.zones.binary_search_by(|x| x.as_str().cmp(name)).ok()
    }

    pub fn node_zone(&self, node: NodeId) -> Option<usize> {
        self.node_zone.get(node.idx()).copied()
    }

    fn edge(&self, a: NodeIndex, b: NodeIndex, control: bool) -> EdgeIndex {
        self.graph
            .edges_connecting(a, b)
            .find(|e| e.weight().control == control)
            .map(|e| e.id())
            .expect("edge of the topology")
    }

    /// Edges a partition cuts: the nodes' control links, or a zone's links to
    /// the control plane and the other zones.
    fn partition_edges(&self, nodes: &[NodeId], zone: Option<&str>) -> Vec<EdgeIndex> {
        match zone.and_then(|z| self.zone_index(z)) {
            Some(z) => {
                let hub = self.zone_ix[z];
                let mut v = vec![self.edge(self.cp, hub, true)];
                for (o, &other) in self.zone_ix.iter().enumerate() {
                    if o != z {
                        v.push(self.edge(hub, other, false));
                    }
                }
                v
            }
            None => nodes
                .iter()
                .filter(|n| n.idx() < self.node_ix.len())
                .map(|n| {
                    let hub = self.zone_ix[self.node_zone[n.idx()]];
                    self.edge(hub, self.node_ix[n.idx()], true)
                })
                .collect(),
        }
    }

    /// Start (`cut = true`) or heal a partition.
    pub fn partition(&mut self, nodes: &[NodeId], zone: Option<&str>, cut: bool) {
        for e in self.partition_edges(nodes, zone) {
            let c = &mut self.cuts[e.index()];
            if cut {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
        }
        self.recompute();
    }

    fn recompute(&mut self) {
        let cuts = &self.cuts;
        // Kubelets reach the API server over control links only.
        let g = EdgeFiltered::from_fn(&self.graph, |e| {
            cuts[e.id().index()] == 0 && e.weight().control
        });
        let from_cp = petgraph::algo::dijkstra(&g, self.cp, None, |e| e.weight().latency);
        self.cp_reach = self
            .node_ix
            .iter()
            .map(|v| from_cp.contains_key(v))
            .collect();
        self.zone_cp = self
            .zone_ix
            .iter()
            .map(|v| from_cp.contains_key(v))
            .collect();
        self.latency = self
            .zone_ix
            .iter()
            .map(|&hub| {
                // Client traffic takes data links only.
                let g = EdgeFiltered::from_fn(&self.graph, |e| {
                    cuts[e.id().index()] == 0 && !e.weight().control
                });
                let d = petgraph::algo::dijkstra(&g, hub, None, |e| e.weight().latency);
                self.node_ix.iter().map(|v| d.get(v).copied()).collect()
            })
            .collect();
    }

    /// The node's kubelet reaches the API server.
    pub fn reaches_control_plane(&self, node: NodeId) -> bool {
        self.cp_reach.get(node.idx()).copied().unwrap_or(true)
    }

    /// Kube-proxies in zone `z` receive EndpointSlice updates.
    pub fn zone_in_contact(&self, z: usize) -> bool {
        self.zone_cp[z]
    }

    /// One-way latency from a client in zone `z` to `node`, if reachable.
    pub fn latency(&self, z: usize, node: NodeId) -> Option<Time> {
        self.latency[z].get(node.idx()).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{MICROSECOND, MILLISECOND};
    use crate::model::*;

    pub fn world(zones: &[&str], per_zone: usize) -> World {
        let mut w = World::default();
        for z in zones {
            for i in 0..per_zone {
                let name = format!("{z}-{i}");
                let mut labels = crate::model::labels::Labels::new();
                labels.insert(ZONE_LABEL.to_string(), z.to_string());
                w.add_node(Node {
                    name,
                    labels,
                    taints: Vec::new(),
                    unschedulable: false,
                    allocatable: Resources::default(),
                    requested: Resources::default(),
                    nonzero_requested: (0, 0),
                    pods: Vec::new(),
                    images: Vec::new(),
                    pool: None,
                    startup_latency: 0,
                    up: true,
                    reachable: true,
                    ready: true,
                    deleted: false,
                });
            }
        }
        w
    }

    #[test]
    fn zone_partition_keeps_in_zone_paths() {
        let w = world(&["a", "b"], 2);
        let mut t = Topology::new(&w, &NetworkSettings::default());
        let (a0, b0) = (NodeId(0), NodeId(2));
        assert_eq!(t.latency(0, a0), Some(250 * MICROSECOND));
        assert_eq!(t.latency(0, b0), Some(MILLISECOND + 250 * MICROSECOND));
        t.partition(&[], Some("b"), true);
        assert!(!t.reaches_control_plane(b0));
        assert!(t.reaches_control_plane(a0));
        assert!(!t.zone_in_contact(1));
        assert_eq!(t.latency(0, b0), None);
        assert_eq!(t.latency(1, b0), Some(250 * MICROSECOND));
        t.partition(&[], Some("b"), false);
        assert!(t.reaches_control_plane(b0));
        assert!(t.latency(0, b0).is_some());
    }

    #[test]
    fn node_partitions_stack() {
        let w = world(&["a"], 2);
        let mut t = Topology::new(&w, &NetworkSettings::default());
        t.partition(&[NodeId(1)], None, true);
        t.partition(&[NodeId(1)], None, true);
        assert!(!t.reaches_control_plane(NodeId(1)));
        // Cut from the control plane only: clients still reach it.
        assert_eq!(t.latency(0, NodeId(1)), Some(250 * MICROSECOND));
        t.partition(&[NodeId(1)], None, false);
        assert!(!t.reaches_control_plane(NodeId(1)));
        t.partition(&[NodeId(1)], None, false);
        assert!(t.reaches_control_plane(NodeId(1)));
    }
}
