//! Comparing scheduler policies: a sweep runs every (scenario, scheduler, seed)
//! independently on a rayon pool and merges the results in a fixed order, so
//! the output is identical for any number of threads or shards.
//!
//! Seeds: run `i` of a scenario uses `first_seed + i` (wrapping), where
//! `first_seed` defaults to the scenario's `spec.seed`, so `--seeds 1` reproduces
//! a plain `kubesim run`. Each metric below is extracted from one run's
//! [`Report`]; `wall_seconds` and anything else that depends on the machine is
//! never compared.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError};
use crate::metrics::Report;
use crate::report::table;
use crate::run::{RunOptions, run};
use crate::scenario::{self, Scenario};
use crate::stats::{Summary, welch_p};

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// How far a metric may move in the worse direction before `check` fails:
/// `relative · |baseline| + absolute`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub relative: f64,
    pub absolute: f64,
}

impl Tolerance {
    pub fn allowed(&self, baseline: f64) -> f64 {
        self.relative * baseline.abs() + self.absolute
    }
}

/// A number extracted from every run, compared across policies.
pub struct Metric {
    /// Stable key in JSON and CSV.
    pub key: &'static str,
    pub label: &'static str,
    /// Unit of the value as stored ("" for counts, "ratio" for 0..1 fractions).
    pub unit: &'static str,
    pub better: Better,
    pub tolerance: Tolerance,
    pub value: fn(&Report) -> Option<f64>,
}

impl Metric {
    /// The value as a person reads it: fractions as percentages.
    pub fn display(&self, x: f64) -> String {
        match self.unit {
            "ratio" => format!("{:.1}%", x * 100.0),
            "s" => format!("{x:.3}s"),
            "node-hours" => format!("{x:.3}"),
            _ => format!("{x:.2}"),
        }
    }

    /// Like [`Metric::display`] for a difference (keeps the sign).
    pub fn display_delta(&self, x: f64) -> String {
        let s = self.display(x.abs());
        let s = if self.unit == "ratio" {
            format!("{:.1}pp", x.abs() * 100.0)
        } else {
            s
        };
        if x < 0.0 {
            format!("-{s}")
        } else {
            format!("+{s}")
        }
    }

    /// Label with its unit, for tables and plot axes.
    pub fn title(&self) -> String {
        match self.unit {
            "" => self.label.to_string(),
            "ratio" => format!("{} (%)", self.label),
            u => format!("{} ({u})", self.label),
        }
    }
}

const fn tol(relative: f64, absolute: f64) -> Tolerance {
    Tolerance { relative, absolute }
}

/// Every compared metric, in table order.
pub static METRICS: &[Metric] = &[
    Metric {
        key: "nodes_used",
        label: "nodes used at end",
        unit: "",
        better: Better::Lower,
        tolerance: tol(0.02, 0.25),
        value: |r| Some(r.packing.nodes_used_end as f64),
    },
    Metric {
        key: "nodes_used_peak",
        label: "nodes used at peak",
        unit: "",
        better: Better::Lower,
        tolerance: tol(0.02, 0.25),
        value: |r| Some(r.packing.nodes_used_peak as f64),
    },
    Metric {
        key: "packing_efficiency",
        label: "packing efficiency",
        unit: "ratio",
        better: Better::Higher,
        tolerance: tol(0.02, 0.005),
        value: |r| Some(r.packing.efficiency),
    },
    Metric {
        key: "cpu_allocation",
        label: "cpu allocation",
        unit: "ratio",
        better: Better::Higher,
        tolerance: tol(0.02, 0.005),
        value: |r| Some(r.packing.allocation.cpu),
    },
    Metric {
        key: "memory_allocation",
        label: "memory allocation",
        unit: "ratio",
        better: Better::Higher,
        tolerance: tol(0.02, 0.005),
        value: |r| Some(r.packing.allocation.memory),
    },
    Metric {
        key: "scheduling_latency_p95",
        label: "pending time p95",
        unit: "s",
        better: Better::Lower,
        tolerance: tol(0.02, 0.01),
        value: |r| Some(r.scheduling.latency_seconds.p95),
    },
    Metric {
        key: "unschedulable_pods",
        label: "unschedulable pods at end",
        unit: "",
        better: Better::Lower,
        tolerance: tol(0.02, 0.25),
        value: |r| Some(r.pods.pending_at_end as f64),
    },
    Metric {
        key: "preemptions",
        label: "preemptions",
        unit: "",
        better: Better::Lower,
        tolerance: tol(0.02, 0.25),
        value: |r| Some(r.pods.preempted as f64),
    },
    Metric {
        key: "recovery_seconds",
        label: "recovery time",
        unit: "s",
        better: Better::Lower,
        tolerance: tol(0.02, 1.0),
        value: recovery_seconds,
    },
    Metric {
        key: "unrecovered_failures",
        label: "failures never recovered",
        unit: "",
        better: Better::Lower,
        tolerance: tol(0.0, 0.25),
        value: |r| {
            (!r.recovery.is_empty()).then(|| {
                r.recovery
                    .iter()
                    .filter(|x| x.restored_seconds.is_none())
                    .count() as f64
            })
        },
    },
    Metric {
        key: "availability",
        label: "service availability",
        unit: "ratio",
        better: Better::Higher,
        tolerance: tol(0.0, 0.001),
        value: availability,
    },
    Metric {
        key: "cost_node_hours",
        label: "cost",
        unit: "node-hours",
        better: Better::Lower,
        tolerance: tol(0.02, 0.01),
        value: |r| Some(node_hours(r)),
    },
];

pub fn metric(key: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.key == key)
}

/// Mean time from a failure to its restoration, over the failures that were restored.
fn recovery_seconds(r: &Report) -> Option<f64> {
    let times: Vec<f64> = r
        .recovery
        .iter()
        .filter_map(|x| x.restored_seconds.map(|t| t - x.at_seconds))
        .collect();
    (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64)
}

fn availability(r: &Report) -> Option<f64> {
    if r.services.is_empty() {
        return None;
    }
    Some(r.services.iter().map(|s| s.availability).sum::<f64>() / r.services.len() as f64)
}

/// ∫ nodes_used dt over the run, in node-hours: each sample holds until the next,
/// the last until the end of the run.
pub fn node_hours(r: &Report) -> f64 {
    let ts = &r.timeseries;
    let mut total = 0.0;
    for (i, s) in ts.iter().enumerate() {
        let end = ts.get(i + 1).map_or(r.simulated_seconds, |n| n.t);
        total += s.nodes_used as f64 * (end - s.t).max(0.0);
    }
    total / 3600.0
}

/// A scheduler to sweep: a built-in profile name or a KubeSchedulerConfiguration file.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerSpec {
    /// As the user wrote it; the key in tables and baselines.
    pub name: String,
    /// The configuration file, resolved, when it is one.
    pub file: Option<PathBuf>,
    /// FNV-1a of the file's bytes, hex.
    pub content_hash: Option<String>,
}

/// Whether a `--schedulers` entry names a file rather than a built-in profile.
pub fn is_file_spec(s: &str) -> bool {
    s.contains('/')
        || s.contains('\\')
        || s.ends_with(".yaml")
        || s.ends_with(".yml")
        || s.ends_with(".json")
}

impl SchedulerSpec {
    /// Parse one entry; files are resolved against `base` and read now, so a
    /// missing file is a usage error before any run starts.
    pub fn parse(name: &str, base: &Path) -> Result<SchedulerSpec, Error> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Usage("empty scheduler name".into()));
        }
        if !is_file_spec(name) {
            return Ok(SchedulerSpec {
                name: name.to_string(),
                file: None,
                content_hash: None,
            });
        }
        let file = absolute(&base.join(name));
        let bytes = std::fs::read(&file).map_err(|e| Error::Io {
            path: file.display().to_string(),
            message: format!("scheduler configuration: {e}"),
        })?;
        Ok(SchedulerSpec {
            name: name.to_string(),
            file: Some(file),
            content_hash: Some(fnv_hex(&bytes)),
        })
    }

    /// What `RunOptions::scheduler` gets: the profile name, or the absolute file path.
    pub fn run_as(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => self.name.clone(),
        }
    }
}

/// Round to 9 decimals. Every number a sweep writes goes through this: short
/// decimals parse back to the identical `f64` (serde_json's parser is exact up
/// to 15 significant digits), so merged slices and re-read files reproduce the
/// output byte for byte.
pub fn round9(x: f64) -> f64 {
    if x.is_finite() && x.abs() < 1e6 {
        (x * 1e9).round() / 1e9
    } else {
        x
    }
}

/// FNV-1a 64 of `bytes`, 16 hex digits (the same hash scenarios use).
pub fn fnv_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `path` made absolute against the current directory and normalised lexically
/// (`.` and `..` removed) without touching the file system.
pub fn absolute(path: &Path) -> PathBuf {
    let p = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// `path` relative to the directory `base` (both made absolute first), with `/`.
pub fn relative_to(path: &Path, base: &Path) -> String {
    let p = absolute(path);
    let b = absolute(base);
    let pc: Vec<_> = p.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..bc.len() {
        parts.push("..".into());
    }
    for c in &pc[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// What a sweep covers, as recorded in its outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub seeds: u32,
    /// When set, every scenario's seeds start here instead of at its `spec.seed`.
    pub first_seed: Option<u64>,
    pub scenarios: Vec<ScenarioInfo>,
    pub schedulers: Vec<SchedulerInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    /// The file as it was given on the command line.
    pub file: String,
    pub content_hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// Load scenario files (resolved against `base`), reporting every bad file at
/// once; a sweep needs distinct scenario names, its tables are keyed by them.
pub fn load_scenarios(files: &[String], base: &Path) -> Result<Vec<Scenario>, Error> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match scenario::load(&base.join(f)) {
            Ok(s) => scenarios.push(s),
            Err(Error::Input(mut e)) => errors.append(&mut e),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Input(errors));
    }
    for (i, s) in scenarios.iter().enumerate() {
        if let Some(j) = scenarios[..i].iter().position(|o| o.name == s.name) {
            return Err(InputError::new(
                &files[i],
                format!(
                    "scenario name {:?} is also the name of {}; a sweep needs distinct names",
                    s.name, files[j]
                ),
            )
            .into());
        }
    }
    Ok(scenarios)
}

/// Scenarios loaded once, schedulers resolved: ready to run any slice of.
pub struct Sweep {
    pub scenarios: Vec<Scenario>,
    /// Scenario files as given, parallel to `scenarios`.
    pub files: Vec<String>,
    pub schedulers: Vec<SchedulerSpec>,
    pub seeds: u32,
    pub first_seed: Option<u64>,
}

/// One run's compared metrics (`None`: the metric does not apply, e.g. no failures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Position in the sweep's fixed order (scenario, then scheduler, then seed).
    pub index: usize,
    pub scenario: String,
    pub scheduler: String,
    pub seed: u64,
    pub metrics: BTreeMap<String, Option<f64>>,
}

impl Sweep {
    /// Load each scenario file (resolved against `base`) once and resolve the schedulers.
    pub fn load(
        files: &[String],
        schedulers: &[String],
        seeds: u32,
        first_seed: Option<u64>,
        base: &Path,
    ) -> Result<Sweep, Error> {
        if files.is_empty() {
            return Err(Error::Usage("no scenario files given".into()));
        }
        if schedulers.is_empty() {
            return Err(Error::Usage("no schedulers given".into()));
        }
        if seeds == 0 {
            return Err(Error::Usage("--seeds must be at least 1".into()));
        }
        let scenarios = load_scenarios(files, base)?;
        let mut specs: Vec<SchedulerSpec> = Vec::new();
        for s in schedulers {
            let spec = SchedulerSpec::parse(s, base)?;
            if specs.iter().any(|o| o.name == spec.name) {
                return Err(Error::Usage(format!(
                    "scheduler {:?} given twice",
                    spec.name
                )));
            }
            // Fail before any run starts: an unknown name gets its did-you-mean here.
            let first = &scenarios[0];
            crate::scheduler::Scheduler::new(
                &spec.run_as(),
                &first.base_dir,
                first.kubernetes_version,
                first.seed,
            )?;
            specs.push(spec);
        }
        Ok(Sweep {
            scenarios,
            files: files.to_vec(),
            schedulers: specs,
            seeds,
            first_seed,
        })
    }

    pub fn info(&self) -> SweepInfo {
        SweepInfo {
            seeds: self.seeds,
            first_seed: self.first_seed,
            scenarios: self
                .scenarios
                .iter()
                .zip(&self.files)
                .map(|(s, f)| ScenarioInfo {
                    name: s.name.clone(),
                    file: f.clone(),
                    content_hash: s.content_hash.clone(),
                })
                .collect(),
            schedulers: self
                .schedulers
                .iter()
                .map(|s| SchedulerInfo {
                    name: s.name.clone(),
                    content_hash: s.content_hash.clone(),
                })
                .collect(),
        }
    }

    pub fn total(&self) -> usize {
        self.scenarios.len() * self.schedulers.len() * self.seeds as usize
    }

    /// The seed of run `i` (0-based) of `scenario`.
    pub fn seed(&self, scenario: &Scenario, i: u32) -> u64 {
        self.first_seed
            .unwrap_or(scenario.seed)
            .wrapping_add(u64::from(i))
    }

    /// Run one (scenario, scheduler, seed) by its index in the fixed order.
    pub fn run_one(&self, index: usize) -> Result<RunResult, Error> {
        let seeds = self.seeds as usize;
        let per_scenario = self.schedulers.len() * seeds;
        let sc = &self.scenarios[index / per_scenario];
        let sched = &self.schedulers[(index % per_scenario) / seeds];
        let seed = self.seed(sc, (index % seeds) as u32);
        let opts = RunOptions {
            seed: Some(seed),
            scheduler: Some(sched.run_as()),
            ..Default::default()
        };
        let report = run(sc, &opts)?;
        Ok(RunResult {
            index,
            scenario: sc.name.clone(),
            scheduler: sched.name.clone(),
            seed,
            metrics: METRICS
                .iter()
                .map(|m| (m.key.to_string(), (m.value)(&report).map(round9)))
                .collect(),
        })
    }

    /// Run the runs of `shard` on `jobs` threads; results in index order whatever
    /// the threads did. `on_done` is called after each run (for progress bars).
    pub fn run(
        &self,
        shard: Shard,
        jobs: usize,
        on_done: &(dyn Fn() + Sync),
    ) -> Result<Vec<RunResult>, Error> {
        let indexes: Vec<usize> = (0..self.total()).filter(|&i| shard.owns(i)).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
            .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
        let results: Vec<Result<RunResult, Error>> = pool.install(|| {
            indexes
                .par_iter()
                .map(|&i| {
                    let r = self.run_one(i);
                    on_done();
                    r
                })
                .collect()
        });
        results.into_iter().collect()
    }
}

/// The `index`-th of `count` slices of a sweep; slices take runs round-robin
/// (run i belongs to slice i mod count) so that each gets a fair mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn owns(&self, run: usize) -> bool {
        run % self.count == self.index
    }

    /// `I/N` with 0 ≤ I < N.
    pub fn parse(s: &str) -> Result<Shard, Error> {
        let bad = || {
            Error::Usage(format!(
                "--shard {s:?}: expected I/N with 0 <= I < N, e.g. 0/4"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// From a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` and the
    /// `JOB_COMPLETIONS` the manifest sets beside it; `None` when not in one.
    pub fn from_env(
        index: Option<String>,
        completions: Option<String>,
    ) -> Result<Option<Shard>, Error> {
        match (index, completions) {
            (None, _) => Ok(None),
            (Some(i), Some(n)) => Shard::parse(&format!("{i}/{n}")).map(Some),
            (Some(_), None) => Err(Error::Usage(
                "JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set it to the Job's \
                 .spec.completions, or pass --shard I/N"
                    .into(),
            )),
        }
    }
}

/// One policy's statistics for one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyStats {
    pub scheduler: String,
    /// Runs where the metric applied.
    pub n: usize,
    pub mean: Option<f64>,
    pub stddev: Option<f64>,
    /// Half-width of the 95% Student-t interval.
    pub ci95: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    pub metric: String,
    pub better: Better,
    pub policies: Vec<PolicyStats>,
    /// The policy with the best mean; `None` when fewer than two policies have
    /// values or the best two are tied exactly.
    pub best: Option<String>,
    pub runner_up: Option<String>,
    /// When the best mean is shared: every policy that has it (in the order given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<String>,
    /// Welch's t-test, best against runner-up (two-sided).
    pub p_value: Option<f64>,
    /// p < 0.05.
    pub significant: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioComparison {
    pub scenario: String,
    pub metrics: Vec<MetricComparison>,
}

/// The result of `kubesim compare` (and of `kubesim merge` over its shards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub kubesim_version: String,
    pub sweep: SweepInfo,
    pub summary: Vec<ScenarioComparison>,
    pub runs: Vec<RunResult>,
}

/// Check that `runs` are exactly the sweep's runs, in order.
pub fn check_complete(info: &SweepInfo, runs: &[RunResult]) -> Result<(), Error> {
    let total = info.scenarios.len() * info.schedulers.len() * info.seeds as usize;
    if runs.len() != total || runs.iter().enumerate().any(|(i, r)| r.index != i) {
        let have: std::collections::BTreeSet<usize> = runs.iter().map(|r| r.index).collect();
        let missing: Vec<String> = (0..total)
            .filter(|i| !have.contains(i))
            .take(10)
            .map(|i| i.to_string())
            .collect();
        return Err(Error::Usage(format!(
            "incomplete sweep: {} of {total} runs (missing runs {}{})",
            runs.len(),
            missing.join(", "),
            if missing.len() == 10 { ", …" } else { "" }
        )));
    }
    Ok(())
}

/// The values of `metric` for (scenario, scheduler), in run order.
pub fn values<'a>(
    runs: &'a [RunResult],
    scenario: &'a str,
    scheduler: &'a str,
    metric: &'a str,
) -> impl Iterator<Item = f64> + 'a {
    runs.iter()
        .filter(move |r| r.scenario == scenario && r.scheduler == scheduler)
        .filter_map(move |r| r.metrics.get(metric).copied().flatten())
}

impl Comparison {
    /// Summarise a complete set of runs (in index order).
    pub fn build(sweep: SweepInfo, runs: Vec<RunResult>) -> Result<Comparison, Error> {
        check_complete(&sweep, &runs)?;
        let mut summary = Vec::new();
        for sc in &sweep.scenarios {
            let mut metrics = Vec::new();
            for m in METRICS {
                let stats: Vec<(String, Option<Summary>)> = sweep
                    .schedulers
                    .iter()
                    .map(|s| {
                        let xs: Vec<f64> = values(&runs, &sc.name, &s.name, m.key).collect();
                        (s.name.clone(), Summary::of(&xs))
                    })
                    .collect();
                if stats.iter().all(|(_, s)| s.is_none()) {
                    continue;
                }
                let mut ranked: Vec<(&String, &Summary)> = stats
                    .iter()
                    .filter_map(|(n, s)| s.as_ref().map(|s| (n, s)))
                    .collect();
                // Stable sort: ties keep the order the schedulers were given in.
                ranked.sort_by(|a, b| match m.better {
                    Better::Lower => a.1.mean.total_cmp(&b.1.mean),
                    Better::Higher => b.1.mean.total_cmp(&a.1.mean),
                });
                let (mut best, mut runner_up, mut p_value, mut significant) =
                    (None, None, None, None);
                let mut tied = Vec::new();
                if ranked.len() >= 2 && ranked[0].1.mean == ranked[1].1.mean {
                    let top = ranked[0].1.mean;
                    tied = ranked
                        .iter()
                        .filter(|(_, s)| s.mean == top)
                        .map(|(n, _)| (*n).clone())
                        .collect();
                }
                if ranked.len() >= 2 && ranked[0].1.mean != ranked[1].1.mean {
                    best = Some(ranked[0].0.clone());
                    runner_up = Some(ranked[1].0.clone());
                    let p = round9(welch_p(ranked[0].1, ranked[1].1));
                    if p.is_finite() {
                        p_value = Some(p);
                        significant = Some(p < 0.05);
                    }
                }
                metrics.push(MetricComparison {
                    metric: m.key.to_string(),
                    better: m.better,
                    policies: stats
                        .into_iter()
                        .map(|(scheduler, s)| PolicyStats {
                            scheduler,
                            n: s.map_or(0, |s| s.n),
                            mean: s.map(|s| round9(s.mean)),
                            stddev: s.map(|s| round9(s.stddev)),
                            ci95: s.map(|s| round9(s.ci95)),
                        })
                        .collect(),
                    best,
                    runner_up,
                    tied,
                    p_value,
                    significant,
                });
            }
            summary.push(ScenarioComparison {
                scenario: sc.name.clone(),
                metrics,
            });
        }
        Ok(Comparison {
            kubesim_version: env!("CARGO_PKG_VERSION").to_string(),
            sweep,
            summary,
            runs,
        })
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("comparisons serialise");
        s.push('\n');
        s
    }

    /// One table per scenario: a row per metric, a column per policy with
    /// `mean ± 95% half-width`, `*` on the best, and a note on significance.
    pub fn render_table(&self) -> String {
        let mut o = String::new();
        let seeds = self.sweep.seeds;
        for (sc, info) in self.summary.iter().zip(&self.sweep.scenarios) {
            let first = self.runs.iter().find(|r| r.scenario == sc.scenario);
            let seed_text = match first {
                Some(r) if seeds > 1 => format!(
                    "seeds {}..={}",
                    r.seed,
                    r.seed.wrapping_add(u64::from(seeds) - 1)
                ),
                Some(r) => format!("seed {}", r.seed),
                None => String::new(),
            };
            let _ = writeln!(
                o,
                "scenario {} ({}, hash {}): {} per policy, mean ± 95% CI, * best",
                sc.scenario,
                seed_text,
                info.content_hash,
                plural(seeds as usize, "run")
            );
            let mut header: Vec<&str> = vec!["METRIC"];
            header.extend(self.sweep.schedulers.iter().map(|s| s.name.as_str()));
            header.push("NOTE");
            let rows: Vec<Vec<String>> = sc
                .metrics
                .iter()
                .map(|mc| {
                    let m = metric(&mc.metric).expect("known metric");
                    let mut row = vec![format!(
                        "{} {}",
                        m.title(),
                        if m.better == Better::Lower {
                            "↓"
                        } else {
                            "↑"
                        }
                    )];
                    for p in &mc.policies {
                        let cell = match (p.mean, p.ci95) {
                            (Some(mean), Some(hw)) => {
                                let star = if mc.best.as_deref() == Some(&p.scheduler)
                                    || (mc.tied.contains(&p.scheduler)
                                        && mc.tied.len() < mc.policies.len())
                                {
                                    " *"
                                } else {
                                    ""
                                };
                                let partial = if p.n < seeds as usize {
                                    format!(" (n={})", p.n)
                                } else {
                                    String::new()
                                };
                                format!("{} ± {}{partial}{star}", m.display(mean), m.display(hw))
                            }
                            _ => "-".into(),
                        };
                        row.push(cell);
                    }
                    row.push(note(mc));
                    row
                })
                .collect();
            o.push_str(&table(&header, &rows));
            o.push('\n');
        }
        o
    }

    /// Summary CSV: one row per (scenario, metric, scheduler).
    pub fn summary_csv(&self) -> String {
        let mut o = String::from(
            "scenario,metric,unit,better,scheduler,n,mean,stddev,ci95_low,ci95_high,best,p_value,significant\n",
        );
        for sc in &self.summary {
            for mc in &sc.metrics {
                let m = metric(&mc.metric).expect("known metric");
                for p in &mc.policies {
                    let f = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
                    let row = [
                        sc.scenario.clone(),
                        mc.metric.clone(),
                        m.unit.to_string(),
                        format!("{:?}", mc.better).to_lowercase(),
                        p.scheduler.clone(),
                        p.n.to_string(),
                        f(p.mean),
                        f(p.stddev),
                        f(p.mean.zip(p.ci95).map(|(a, b)| a - b)),
                        f(p.mean.zip(p.ci95).map(|(a, b)| a + b)),
                        (mc.best.as_deref() == Some(&p.scheduler)).to_string(),
                        f(mc.p_value),
                        mc.significant.map(|s| s.to_string()).unwrap_or_default(),
                    ];
                    csv_row(&mut o, &row);
                }
            }
        }
        o
    }

    /// Per-run CSV: one row per run, one column per metric (empty: not applicable).
    pub fn runs_csv(&self) -> String {
        let mut o = String::new();
        let mut header = vec!["scenario".to_string(), "scheduler".into(), "seed".into()];
        header.extend(METRICS.iter().map(|m| m.key.to_string()));
        csv_row(&mut o, &header);
        for r in &self.runs {
            let mut row = vec![r.scenario.clone(), r.scheduler.clone(), r.seed.to_string()];
            row.extend(METRICS.iter().map(|m| {
                r.metrics
                    .get(m.key)
                    .copied()
                    .flatten()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            }));
            csv_row(&mut o, &row);
        }
        o
    }
}

fn note(mc: &MetricComparison) -> String {
    match (&mc.best, mc.significant, mc.p_value) {
        (None, _, _) if !mc.tied.is_empty() => {
            if mc.tied.len() == mc.policies.iter().filter(|p| p.mean.is_some()).count() {
                "all equal".into()
            } else {
                format!("tie: {}", mc.tied.join(", "))
            }
        }
        (None, _, _) => String::new(),
        (Some(_), Some(false), Some(p)) => format!(
            "not significant vs {} (p={p:.2})",
            mc.runner_up.as_deref().unwrap_or("?")
        ),
        (Some(_), Some(true), Some(p)) if p < 0.001 => "p<0.001".into(),
        (Some(_), Some(true), Some(p)) => format!("p={p:.3}"),
        _ => "one seed: no test".into(),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Append one CSV record (RFC 4180: fields with `,`, `"` or line breaks are quoted).
pub fn csv_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for run in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(run)).count(), 1);
        }
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("1").is_err());
        assert_eq!(
            Shard::from_env(Some("1".into()), Some("3".into())).unwrap(),
            Some(Shard { index: 1, count: 3 })
        );
        assert_eq!(Shard::from_env(None, Some("3".into())).unwrap(), None);
        assert!(Shard::from_env(Some("1".into()), None).is_err());
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut s = String::new();
        csv_row(&mut s, &["a", "b,c", "say \"hi\""]);
        assert_eq!(s, "a,\"b,c\",\"say \"\"hi\"\"\"\n");
    }

    #[test]
    fn relative_paths_between_directories() {
        assert_eq!(
            relative_to(Path::new("/r/scenarios/a.yaml"), Path::new("/r/reports")),
            "../scenarios/a.yaml"
        );
        assert_eq!(
            relative_to(Path::new("/r/reports/x/../b.json"), Path::new("/r/reports")),
            "b.json"
        );
    }

    #[test]
    fn node_hours_integrate_the_step_function() {
        use crate::metrics::Sample;
        // 2 nodes for 1800 s, then 4 nodes for 1800 s: 1 + 2 = 3 node-hours.
        let r = Report {
            simulated_seconds: 3600.0,
            timeseries: vec![
                Sample {
                    t: 0.0,
                    nodes_used: 2,
                    ..Default::default()
                },
                Sample {
                    t: 1800.0,
                    nodes_used: 4,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(node_hours(&r), 3.0);
    }
}
