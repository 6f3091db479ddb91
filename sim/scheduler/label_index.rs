//! Bound pods by (namespace, label key, label value), so that counting the
//! pods a selector matches (PodTopologySpread) visits the candidates of one
//! `In` requirement instead of every pod in the cluster.

use std::collections::{BTreeSet, HashMap};

use crate::model::labels::{LabelSelector, Operator};
use crate::model::{PodId, World};

#[derive(Clone, Debug, Default)]
pub struct LabelIndex {
    by_label: HashMap<(String, String, String), BTreeSet<PodId>>,
    indexed: HashMap<PodId, ()>,
}

impl LabelIndex {
    /// Bring the index up to date with one pod: indexed while bound and not deleted.
    pub fn update(&mut self, world: &World, pod: PodId) {
        let p = world.pod(pod);
        let want = !p.deleted && p.node.is_some();
        let have = self.indexed.contains_key(&pod);
        if want == have {
            return;
        }
        let labels = &world.spec(p.spec).labels;
        for (k, v) in labels {
            let key = (p.namespace.clone(), k.clone(), v.clone());
            if want {
                self.by_label.entry(key).or_default().insert(pod);
            } else if let Some(set) = self.by_label.get_mut(&key) {
                set.remove(&pod);
                if set.is_empty() {
                    self.by_label.remove(&key);
                }
            }
        }
        if want {
            self.indexed.insert(pod, ());
        } else {
            self.indexed.remove(&pod);
        }
    }

    pub fn build(world: &World) -> LabelIndex {
        let mut ix = LabelIndex::default();
        for i in 0..world.pods.len() {
            ix.update(world, PodId(i as u32));
        }
        ix
    }

    /// A superset of the bound pods in `namespace` that `selector` matches, in
    /// id order; `None` when the selector has no `In` requirement to narrow by
    /// (the caller must then visit every pod).
    pub fn candidates(&self, namespace: &str, selector: &LabelSelector) -> Option<Vec<PodId>> {
        let mut best: Option<Vec<PodId>> = None;
        for r in &selector.requirements {
            if r.op != Operator::In {
                continue;
            }
            let mut v: Vec<PodId> = Vec::new();
            for val in &r.values {
                if let Some(set) =
                    self.by_label
                        .get(&(namespace.to_string(), r.key.clone(), val.clone()))
                {
                    v.extend(set.iter().copied());
                }
            }
            if best.as_ref().is_none_or(|b| v.len() < b.len()) {
                best = Some(v);
            }
        }
        let mut best = best?;
        best.sort_unstable();
        best.dedup();
        Some(best)
    }
}
