//! Job arrivals (`spec.jobArrivals`): at random times, a new Job is created
//! from a suspended template Job, as a user or a workflow engine would run
//! `kubectl create job NAME --from=…`. Each entry draws its gaps from its own
//! stream (`job-arrivals/K` for entry K): exponential gaps (a Poisson
//! process) from `rand_distr::Exp`, or a constant 1/rate.
//!
//! The new Job is the template with `suspend: false`, named
//! `TEMPLATE-N` (N = 0, 1, … per template, skipping names of Jobs loaded
//! from the manifests), and its pod template's job-name labels set to that
//! name (as the Job API's `generateSelector` would label it).

use crate::hash::HashSet;
use std::collections::BTreeMap;

use rand_distr::{Distribution, Exp};

use crate::engine::{SECOND, SimRng, Time, rng_stream};
use crate::model::*;
use crate::scenario::manifests::JOB_NAME_LABELS;
use crate::scenario::{ArrivalDistribution, JobArrivals};

pub struct Arrivals {
    pub specs: Vec<JobArrivals>,
    rngs: Vec<SimRng>,
    /// Arrivals so far, per entry.
    pub arrived: Vec<u64>,
    /// Next name suffix per template.
    next_suffix: BTreeMap<JobId, u64>,
    /// Names of the Jobs loaded with the scenario. Lookups only.
    loaded: HashSet<(String, String)>,
}

impl Arrivals {
    pub fn new(specs: &[JobArrivals], world: &World, seed: u64) -> Arrivals {
        Arrivals {
            specs: specs.to_vec(),
            rngs: (0..specs.len())
                .map(|k| rng_stream(seed, &format!("job-arrivals/{k}")))
                .collect(),
            arrived: vec![0; specs.len()],
            next_suffix: BTreeMap::new(),
            loaded: world
                .jobs
                .iter()
                .map(|j| (j.meta.namespace.clone(), j.meta.name.clone()))
                .collect(),
        }
    }

    /// When entry `k`'s next Job arrives, counting from `after` (its start,
    /// or the previous arrival); `None` when there are no more.
    pub fn next(&mut self, k: usize, after: Time) -> Option<Time> {
        let spec = &self.specs[k];
        if spec.count.is_some_and(|c| self.arrived[k] >= c) {
            return None;
        }
        let per_second = spec.rate.per_second();
        let gap = match spec.distribution {
            ArrivalDistribution::Exponential => {
                let secs = Exp::new(per_second)
                    .expect("positive rate")
                    .sample(&mut self.rngs[k]);
                (secs * SECOND as f64).round() as Time
            }
            // Rate is in thousandths per second: 1/rate s = 10⁹/rate µs.
            ArrivalDistribution::Constant => (1_000_000_000 + spec.rate.0 / 2) / spec.rate.0,
        };
        let t = after.saturating_add(gap.max(1));
        (t <= spec.until).then_some(t)
    }

    /// Entry `k`'s Job arrives: create it from the template. The caller wakes
    /// the Job controller (the new Job's watch event).
    pub fn arrive(&mut self, world: &mut World, k: usize, now: Time) -> JobId {
        self.arrived[k] += 1;
        let template = self.specs[k].template;
        let t = &world.jobs[template.idx()];
        let ns = t.meta.namespace.clone();
        let suffix = self.next_suffix.entry(template).or_insert(0);
        let name = loop {
            let name = format!("{}-{}", t.meta.name, suffix);
            *suffix += 1;
            if !self.loaded.contains(&(ns.clone(), name.clone())) {
                break name;
            }
        };
        let mut spec = world.spec(t.spec).clone();
        for label in JOB_NAME_LABELS {
            spec.labels.insert(label.to_string(), name.clone());
        }
        let mut job = t.clone();
        job.meta.name = name;
        job.suspend = false;
        job.started_at = now;
        job.spec = world.add_spec(spec);
        world.jobs.push(job);
        JobId(world.jobs.len() as u32 - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::*;
    use crate::scenario::Rate;

    fn world_with_template() -> World {
        let mut w = test_world();
        let spec = spec_with_labels(&mut w, &[("job-name", "batch"), ("app", "x")]);
        let j = add_job(&mut w, "batch", spec);
        w.jobs[j.idx()].suspend = true;
        // A loaded Job whose name the arrivals must not reuse.
        add_job(&mut w, "batch-1", spec);
        w
    }

    fn entry(distribution: ArrivalDistribution, count: Option<u64>) -> JobArrivals {
        JobArrivals {
            template: JobId(0),
            rate: Rate(2_000), // 2/s
            distribution,
            start: 10 * SECOND,
            until: 20 * SECOND,
            count,
        }
    }

    fn times(a: &mut Arrivals, k: usize) -> Vec<Time> {
        let mut out = Vec::new();
        let mut t = a.specs[k].start;
        while let Some(next) = a.next(k, t) {
            a.arrived[k] += 1;
            out.push(next);
            t = next;
        }
        out
    }

    #[test]
    fn constant_arrivals_every_one_over_rate_until_the_end_or_count() {
        let w = world_with_template();
        let mut a = Arrivals::new(&[entry(ArrivalDistribution::Constant, None)], &w, 1);
        // 2/s from 10 s: 10.5, 11, …, 20 (20 included).
        let t = times(&mut a, 0);
        assert_eq!(t.len(), 20);
        assert_eq!((t[0], t[19]), (10_500_000, 20 * SECOND));
        let mut a = Arrivals::new(&[entry(ArrivalDistribution::Constant, Some(3))], &w, 1);
        assert_eq!(times(&mut a, 0).len(), 3);
    }

    #[test]
    fn exponential_arrivals_are_seeded_and_average_the_rate() {
        let w = world_with_template();
        let mut long = entry(ArrivalDistribution::Exponential, None);
        long.until = 10_000 * SECOND;
        let mut a = Arrivals::new(std::slice::from_ref(&long), &w, 7);
        let t = times(&mut a, 0);
        // 2/s over 9990 s: about 19 980 arrivals (σ ≈ 141).
        assert!((19_400..=20_560).contains(&t.len()), "{}", t.len());
        assert!(t.windows(2).all(|p| p[0] < p[1]));
        let mut b = Arrivals::new(&[long], &w, 7);
        assert_eq!(times(&mut b, 0), t);
    }

    #[test]
    fn arrivals_copy_the_template_under_new_names() {
        let mut w = world_with_template();
        let mut a = Arrivals::new(&[entry(ArrivalDistribution::Constant, None)], &w, 1);
        let j0 = a.arrive(&mut w, 0, 5 * SECOND);
        let j1 = a.arrive(&mut w, 0, 6 * SECOND);
        let names: Vec<&str> = [j0, j1]
            .iter()
            .map(|j| w.jobs[j.idx()].meta.name.as_str())
            .collect();
        // batch-1 is taken by a loaded Job.
        assert_eq!(names, vec!["batch-0", "batch-2"]);
        let job = &w.jobs[j1.idx()];
        assert!(!job.suspend);
        assert_eq!(job.started_at, 6 * SECOND);
        let labels = &w.spec(job.spec).labels;
        assert_eq!(labels["job-name"], "batch-2");
        assert_eq!(labels["batch.kubernetes.io/job-name"], "batch-2");
        assert_eq!(labels["app"], "x");
        // The template is untouched.
        assert!(w.jobs[0].suspend);
        assert_eq!(w.spec(w.jobs[0].spec).labels["job-name"], "batch");
    }
}
