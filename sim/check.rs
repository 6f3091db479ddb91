//! The CI gate and sweeps beyond one machine: `kubesim baseline` records the
//! metric means of a sweep with a tolerance per metric, `kubesim check` re-runs
//! it and fails when a metric got worse past its tolerance, and `kubesim merge`
//! joins the slices that `--shard I/N` runs into the output of the whole sweep.
//!
//! Paths inside a baseline are relative to the baseline file's directory, so
//! `check` works from any working directory and in any checkout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::compare::{
    self, Better, Comparison, METRICS, RunResult, SchedulerSpec, Shard, Sweep, SweepInfo,
    Tolerance, absolute, check_complete, fnv_hex, is_file_spec, metric, relative_to, round9,
};
use crate::error::Error;
use crate::report::table;
use crate::stats::Summary;

/// Version of the baseline file format.
pub const BASELINE_FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub kubesim_baseline: u32,
    pub kubesim_version: String,
    pub seeds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seed: Option<u64>,
    pub scenarios: Vec<BaselineScenario>,
    pub schedulers: Vec<BaselineScheduler>,
    /// Per metric; edit to loosen or tighten. Entries may override them.
    pub tolerances: BTreeMap<String, Tolerance>,
    pub entries: Vec<BaselineEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineScenario {
    pub name: String,
    /// Relative to the baseline file's directory.
    pub path: String,
    pub content_hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineScheduler {
    pub name: String,
    /// A KubeSchedulerConfiguration file, relative to the baseline file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub scenario: String,
    pub scheduler: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tolerances: BTreeMap<String, Tolerance>,
    pub metrics: BTreeMap<String, BaselineValue>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineValue {
    pub mean: f64,
    pub stddev: f64,
    pub n: usize,
}

impl Baseline {
    /// Summarise a complete sweep into a baseline to be written at `out`.
    /// `scheduler_files` (parallel to `info.schedulers`) are the configuration
    /// files; tolerances edited into `previous` are kept.
    pub fn build(
        info: &SweepInfo,
        runs: &[RunResult],
        scheduler_files: &[Option<PathBuf>],
        out: &Path,
        previous: Option<&Baseline>,
    ) -> Result<Baseline, Error> {
        check_complete(info, runs)?;
        let dir = parent_dir(out);
        let mut entries = Vec::new();
        for sc in &info.scenarios {
            for s in &info.schedulers {
                let mut metrics = BTreeMap::new();
                for m in METRICS {
                    let xs: Vec<f64> = compare::values(runs, &sc.name, &s.name, m.key).collect();
                    if let Some(sum) = Summary::of(&xs) {
                        metrics.insert(
                            m.key.to_string(),
                            BaselineValue {
                                mean: round9(sum.mean),
                                stddev: round9(sum.stddev),
                                n: sum.n,
                            },
                        );
                    }
                }
                let tolerances = previous
                    .and_then(|p| {
                        p.entries
                            .iter()
                            .find(|e| e.scenario == sc.name && e.scheduler == s.name)
                    })
                    .map(|e| e.tolerances.clone())
                    .unwrap_or_default();
                entries.push(BaselineEntry {
                    scenario: sc.name.clone(),
                    scheduler: s.name.clone(),
                    tolerances,
                    metrics,
                });
            }
        }
        let mut tolerances: BTreeMap<String, Tolerance> = METRICS
            .iter()
            .map(|m| (m.key.to_string(), m.tolerance))
            .collect();
        if let Some(p) = previous {
            for (k, t) in &p.tolerances {
                tolerances.insert(k.clone(), *t);
            }
        }
        Ok(Baseline {
            kubesim_baseline: BASELINE_FORMAT,
            kubesim_version: env!("CARGO_PKG_VERSION").to_string(),
            seeds: info.seeds,
            first_seed: info.first_seed,
            scenarios: info
                .scenarios
                .iter()
                .map(|s| BaselineScenario {
                    name: s.name.clone(),
                    path: relative_to(Path::new(&s.file), &dir),
                    content_hash: s.content_hash.clone(),
                })
                .collect(),
            schedulers: info
                .schedulers
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let file = scheduler_files
                        .get(i)
                        .cloned()
                        .flatten()
                        .or_else(|| s.content_hash.as_ref().map(|_| PathBuf::from(&s.name)));
                    BaselineScheduler {
                        name: s.name.clone(),
                        path: file.map(|f| relative_to(&f, &dir)),
                        content_hash: s.content_hash.clone(),
                    }
                })
                .collect(),
            tolerances,
            entries,
        })
    }

    pub fn read(path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            crate::error::InputError::new(path.display().to_string(), e.to_string())
                .at(e.line(), e.column())
        })?;
        if b.kubesim_baseline != BASELINE_FORMAT {
            return Err(crate::error::InputError::new(
                path.display().to_string(),
                format!(
                    "baseline format {} is not supported (this kubesim reads {BASELINE_FORMAT})",
                    b.kubesim_baseline
                ),
            )
            .into());
        }
        for k in b
            .tolerances
            .keys()
            .chain(b.entries.iter().flat_map(|e| e.tolerances.keys()))
        {
            if metric(k).is_none() {
                return Err(crate::error::InputError::new(
                    path.display().to_string(),
                    format!("tolerance for unknown metric {k:?}"),
                )
                .hint(format!(
                    "known metrics: {}",
                    METRICS.iter().map(|m| m.key).collect::<Vec<_>>().join(", ")
                ))
                .into());
            }
        }
        Ok(b)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("baselines serialise");
        s.push('\n');
        s
    }

    /// The tolerance for `key` in `entry`: the entry's own, the file's, or the default.
    pub fn tolerance(&self, entry: &BaselineEntry, key: &str) -> Tolerance {
        entry
            .tolerances
            .get(key)
            .or_else(|| self.tolerances.get(key))
            .copied()
            .or_else(|| metric(key).map(|m| m.tolerance))
            .unwrap_or(Tolerance {
                relative: 0.0,
                absolute: 0.0,
            })
    }
}

fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `text` to `path`, creating its directory.
pub fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// The outcome of `kubesim check`.
pub struct CheckReport {
    /// Notes, the diff table and the verdict, for the terminal.
    pub text: String,
    pub failed: bool,
    /// The new baseline, when `--update` was asked for.
    pub updated: Option<Baseline>,
}

/// Re-run the baseline at `path` and compare. With `update`, the result is the
/// new baseline and the check passes.
pub fn check(
    baseline: &Baseline,
    path: &Path,
    jobs: usize,
    update: bool,
    on_done: &(dyn Fn() + Sync),
) -> Result<CheckReport, Error> {
    let dir = parent_dir(path);
    let mut notes = String::new();
    let mut failures: Vec<String> = Vec::new();

    let files: Vec<String> = baseline
        .scenarios
        .iter()
        .map(|s| absolute(&dir.join(&s.path)).display().to_string())
        .collect();
    let mut schedulers = Vec::new();
    for s in &baseline.schedulers {
        let spec = match &s.path {
            Some(p) => {
                let file = absolute(&dir.join(p));
                let bytes = std::fs::read(&file).map_err(|e| Error::Io {
                    path: file.display().to_string(),
                    message: format!("scheduler configuration {:?} of the baseline: {e}", s.name),
                })?;
                SchedulerSpec {
                    name: s.name.clone(),
                    file: Some(file),
                    content_hash: Some(fnv_hex(&bytes)),
                }
            }
            None if is_file_spec(&s.name) => {
                return Err(Error::Usage(format!(
                    "baseline scheduler {:?} looks like a file but has no path",
                    s.name
                )));
            }
            None => SchedulerSpec {
                name: s.name.clone(),
                file: None,
                content_hash: None,
            },
        };
        if spec.content_hash != s.content_hash {
            let _ = writeln!(
                notes,
                "scheduler configuration {}: changed since the baseline (hash {} → {}); judged below",
                s.name,
                s.content_hash.as_deref().unwrap_or("-"),
                spec.content_hash.as_deref().unwrap_or("-"),
            );
        }
        schedulers.push(spec);
    }
    let scenarios = compare::load_scenarios(&files, Path::new("."))?;
    for (s, b) in scenarios.iter().zip(&baseline.scenarios) {
        if s.name != b.name {
            return Err(Error::Usage(format!(
                "{}: the scenario is now named {:?}, the baseline has {:?}; run `kubesim check --update`",
                b.path, s.name, b.name
            )));
        }
        if s.content_hash != b.content_hash {
            let _ = writeln!(
                notes,
                "scenario {} ({}): CHANGED since the baseline (hash {} → {}); its numbers below are not a like-for-like comparison",
                b.name, b.path, b.content_hash, s.content_hash
            );
            failures.push(format!("scenario {} changed", b.name));
        }
    }
    if baseline.kubesim_version != env!("CARGO_PKG_VERSION") {
        let _ = writeln!(
            notes,
            "baseline made by kubesim {}, this is {}",
            baseline.kubesim_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let sweep = Sweep {
        scenarios,
        files,
        schedulers,
        seeds: baseline.seeds,
        first_seed: baseline.first_seed,
    };
    let runs = sweep.run(Shard::ALL, jobs, on_done)?;
    let info = sweep.info();

    let mut rows = Vec::new();
    let mut regressions = Vec::new();
    for e in &baseline.entries {
        let mut keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        keys.retain(|k| {
            e.metrics.contains_key(*k)
                || compare::values(&runs, &e.scenario, &e.scheduler, k)
                    .next()
                    .is_some()
        });
        for key in keys {
            let m = metric(key).expect("known metric");
            let xs: Vec<f64> = compare::values(&runs, &e.scenario, &e.scheduler, key).collect();
            let now = Summary::of(&xs).map(|s| s.mean);
            let base = e.metrics.get(key).map(|v| v.mean);
            let tol = baseline.tolerance(e, key);
            let (change, allowed, status) = match (base, now) {
                (Some(b), Some(n)) => {
                    let allowed = tol.allowed(b);
                    let worse = match m.better {
                        Better::Lower => n - b,
                        Better::Higher => b - n,
                    };
                    let status = if worse > allowed + 1e-12 {
                        regressions.push(format!("{}/{}: {}", e.scenario, e.scheduler, m.label));
                        "WORSE"
                    } else if -worse > allowed + 1e-12 {
                        "better"
                    } else {
                        "ok"
                    };
                    let bound = match m.better {
                        Better::Lower => format!("<= {}", m.display(b + allowed)),
                        Better::Higher => format!(">= {}", m.display(b - allowed)),
                    };
                    let rel = if b != 0.0 {
                        format!(" ({:+.1}%)", (n - b) / b.abs() * 100.0)
                    } else {
                        String::new()
                    };
                    (format!("{}{rel}", m.display_delta(n - b)), bound, status)
                }
                (None, Some(_)) => ("-".into(), "-".into(), "new"),
                (Some(_), None) => ("-".into(), "-".into(), "gone"),
                (None, None) => continue,
            };
            rows.push(vec![
                e.scenario.clone(),
                e.scheduler.clone(),
                m.title(),
                base.map_or("-".into(), |b| m.display(b)),
                now.map_or("-".into(), |n| m.display(n)),
                change,
                allowed,
                status.to_string(),
            ]);
        }
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "baseline {}: {} × {} × {} ({} runs)",
        path.display(),
        plural(baseline.scenarios.len(), "scenario"),
        plural(baseline.schedulers.len(), "scheduler"),
        plural(baseline.seeds as usize, "seed"),
        runs.len()
    );
    text.push_str(&notes);
    text.push('\n');
    text.push_str(&table(
        &[
            "SCENARIO",
            "SCHEDULER",
            "METRIC",
            "BASELINE",
            "NOW",
            "CHANGE",
            "ALLOWED",
            "STATUS",
        ],
        &rows,
    ));
    text.push('\n');
    if !regressions.is_empty() {
        failures.push(format!(
            "{} worse than allowed ({})",
            plural(regressions.len(), "metric"),
            regressions.join(", ")
        ));
    }
    let updated = if update {
        let scheduler_files: Vec<Option<PathBuf>> =
            sweep.schedulers.iter().map(|s| s.file.clone()).collect();
        Some(Baseline::build(
            &info,
            &runs,
            &scheduler_files,
            path,
            Some(baseline),
        )?)
    } else {
        None
    };
    let failed = !failures.is_empty() && !update;
    if update {
        let _ = writeln!(text, "baseline updated: {}", path.display());
    } else if failed {
        let _ = writeln!(text, "check FAILED: {}", failures.join("; "));
        if regressions.is_empty() {
            let _ = writeln!(
                text,
                "if the change is intended, run `kubesim check --baseline {} --update` and commit the result",
                path.display()
            );
        }
    } else {
        let _ = writeln!(text, "check passed");
    }
    Ok(CheckReport {
        text,
        failed,
        updated,
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// What a slice of a sweep is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Compare,
    Baseline,
}

/// The output of `compare --shard` or `baseline --shard`: the runs of one slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPart {
    pub kubesim_sweep_part: Purpose,
    pub kubesim_version: String,
    pub shard: Shard,
    pub sweep: SweepInfo,
    pub runs: Vec<RunResult>,
}

impl SweepPart {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("parts serialise");
        s.push('\n');
        s
    }

    pub fn read(path: &Path) -> Result<SweepPart, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| {
            crate::error::InputError::new(
                path.display().to_string(),
                format!("not a kubesim sweep slice: {e}"),
            )
            .at(e.line(), e.column())
            .hint("merge takes the files written by `compare --shard` or `baseline --shard`")
            .into()
        })
    }
}

/// The whole sweep, joined from its slices.
pub enum Merged {
    Comparison(Comparison),
    Baseline(Baseline),
}

/// Join slices: they must come from the same sweep, be distinct, and cover
/// every slice. `out` is where a merged baseline will be written (its paths
/// are made relative to it).
pub fn merge(parts: Vec<SweepPart>, out: Option<&Path>) -> Result<Merged, Error> {
    let Some(first) = parts.first() else {
        return Err(Error::Usage("merge needs at least one slice".into()));
    };
    let (purpose, info, count) = (
        first.kubesim_sweep_part,
        first.sweep.clone(),
        first.shard.count,
    );
    let mut seen = vec![false; count];
    for p in &parts {
        if p.kubesim_sweep_part != purpose || p.sweep != info || p.shard.count != count {
            return Err(Error::Usage(format!(
                "slice {}/{} is not from the same sweep as slice {}/{} (different scenarios, schedulers, seeds or purpose)",
                p.shard.index, p.shard.count, first.shard.index, count
            )));
        }
        if p.kubesim_version != first.kubesim_version {
            return Err(Error::Usage(format!(
                "slices were made by different kubesim versions ({} and {})",
                first.kubesim_version, p.kubesim_version
            )));
        }
        if std::mem::replace(&mut seen[p.shard.index], true) {
            return Err(Error::Usage(format!(
                "slice {}/{count} given twice",
                p.shard.index
            )));
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(Error::Usage(format!("slice {i}/{count} is missing")));
    }
    let mut runs: Vec<RunResult> = parts.into_iter().flat_map(|p| p.runs).collect();
    runs.sort_by_key(|r| r.index);
    match purpose {
        Purpose::Compare => Ok(Merged::Comparison(Comparison::build(info, runs)?)),
        Purpose::Baseline => {
            let out = out.ok_or_else(|| {
                Error::Usage(
                    "merging baseline slices needs -o FILE (paths are relative to it)".into(),
                )
            })?;
            let previous = Baseline::read(out).ok();
            Ok(Merged::Baseline(Baseline::build(
                &info,
                &runs,
                &[],
                out,
                previous.as_ref(),
            )?))
        }
    }
}
