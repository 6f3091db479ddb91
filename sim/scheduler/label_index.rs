//! Bound pods by (namespace, label key, label value), so that counting the
//! pods a selector matches (PodTopologySpread) visits the candidates of one
//! `In` requirement instead of every pod in the cluster.

use crate::hash::HashMap;
use std::collections::BTreeSet;

use crate::model::labels::{LabelSelector, Operator};
use crate::model::{PodId, World};

/// By label value, the pods carrying it.
type ByValue = HashMap<String, BTreeSet<PodId>>;

#[derive(Clone, Debug, Default)]
pub struct LabelIndex {
    /// namespace → label key → label value → pods; looked up by `&str`, so
    /// a pod that joins or leaves allocates only for a new value.
    by_label: HashMap<String, HashMap<String, ByValue>>,
    /// By pod id: the pod is in the index.
    indexed: Vec<bool>,
}

impl LabelIndex {
    /// Bring the index up to date with one pod: indexed while bound and not deleted.
    pub fn update(&mut self, world: &World, pod: PodId) {
        let p = world.pod(pod);
        let want = !p.deleted && p.node.is_some();
        let have = self.indexed.get(pod.idx()).copied().unwrap_or(false);
        if want == have {
            return;
        }
        let labels = &world.spec(p.spec).labels;
        if want {
            let ns = match self.by_label.get_mut(&p.namespace) {
                Some(ns) => ns,
                None => self.by_label.entry(p.namespace.clone()).or_default(),
            };
            for (k, v) in labels {
                let by_value = match ns.get_mut(k) {
                    Some(m) => m,
                    None => ns.entry(k.clone()).or_default(),
                };
                match by_value.get_mut(v) {
                    Some(set) => set.insert(pod),
                    None => by_value.entry(v.clone()).or_default().insert(pod),
                };
            }
            if self.indexed.len() <= pod.idx() {
                self.indexed.resize(pod.idx() + 1, false);
            }
        } else if let Some(ns) = self.by_label.get_mut(&p.namespace) {
            for (k, v) in labels {
                if let Some(by_value) = ns.get_mut(k)
                    && let Some(set) = by_value.get_mut(v)
                {
                    set.remove(&pod);
                    if set.is_empty() {
                        by_value.remove(v);
                    }
                }
            }
        }
        self.indexed[pod.idx()] = want;
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
            let by_value = self.by_label.get(namespace).and_then(|ns| ns.get(&r.key));
            for val in &r.values {
                if let Some(set) = by_value.and_then(|m| m.get(val)) {
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
