//! Resource vectors in Kubernetes' integer units: cpu in millicores, memory and
//! ephemeral storage in bytes, pods as a count, extended resources (e.g.
//! `nvidia.com/gpu`) as integers keyed by an interned [`ScalarId`].

/// Index into `World::scalar_names`.
pub type ScalarId = u16;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources, sorted by id, no zero entries.
    pub scalar: Vec<(ScalarId, i64)>,
}

impl Resources {
    pub fn scalar(&self, id: ScalarId) -> i64 {
        match self.scalar.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => self.scalar[i].1,
            Err(_) => 0,
        }
    }

    pub fn set_scalar(&mut self, id: ScalarId, v: i64) {
        match self.scalar.binary_search_by_key(&id, |e| e.0) {
            Ok(i) if v == 0 => {
                self.scalar.remove(i);
            }
            Ok(i) => self.scalar[i].1 = v,
            Err(_) if v == 0 => {}
            Err(i) => self.scalar.insert(i, (id, v)),
        }
    }

    pub fn add(&mut self, o: &Resources) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.pods += o.pods;
        for &(id, v) in &o.scalar {
            let cur = self.scalar(id);
            self.set_scalar(id, cur + v);
        }
    }

    pub fn sub(&mut self, o: &Resources) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.pods -= o.pods;
        for &(id, v) in &o.scalar {
            let cur = self.scalar(id);
            self.set_scalar(id, cur - v);
        }
    }

    /// Component-wise maximum (used for init containers).
    pub fn max_with(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        self.pods = self.pods.max(o.pods);
        for &(id, v) in &o.scalar {
            let cur = self.scalar(id);
            self.set_scalar(id, cur.max(v));
        }
    }

    /// True when every component of `self` is ≤ the same component of `cap`.
    pub fn fits_in(&self, cap: &Resources) -> bool {
        self.milli_cpu <= cap.milli_cpu
            && self.memory <= cap.memory
            && self.ephemeral_storage <= cap.ephemeral_storage
            && self.pods <= cap.pods
            && self.scalar.iter().all(|&(id, v)| v <= cap.scalar(id))
    }

    /// A pod that requests nothing at all (Kubernetes' BestEffort for scheduling purposes).
    pub fn is_zero_request(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_bookkeeping_keeps_sorted_nonzero() {
        let mut r = Resources::default();
        r.set_scalar(3, 2);
        r.set_scalar(1, 1);
        assert_eq!(r.scalar, vec![(1, 1), (3, 2)]);
        let mut o = Resources::default();
        o.set_scalar(3, 2);
        r.sub(&o);
        assert_eq!(r.scalar, vec![(1, 1)]);
    }

    #[test]
    fn fits_checks_every_component() {
        let cap = Resources {
            milli_cpu: 1000,
            memory: 100,
            pods: 2,
            ..Default::default()
        };
        let ok = Resources {
            milli_cpu: 1000,
            memory: 100,
            pods: 1,
            ..Default::default()
        };
        assert!(ok.fits_in(&cap));
        let mut gpu = ok.clone();
        gpu.set_scalar(0, 1);
        assert!(!gpu.fits_in(&cap));
    }
}
