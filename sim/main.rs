//! The `kubesim` command line: parse arguments, call the library, print, and
//! set the exit code (0 ok, 1 check failed, 2 bad input or usage).

/// mimalloc instead of glibc's malloc: a run allocates and frees many small
/// strings and vectors, and glibc handed freed pages back to the kernel only
/// to fault them in again (PERFORMANCE.md, seventh pass).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kubesim::check::{Baseline, Merged, Purpose, SweepPart, write_file};
use kubesim::compare::{Comparison, RunResult, Shard, Sweep};
use kubesim::error::Error;
use kubesim::model::KubeVersion;
use kubesim::model::duration::parse_duration;
use kubesim::run::RunOptions;

#[derive(Parser)]
#[command(name = "kubesim", version, about = "A deterministic discrete-event simulator of Kubernetes clusters", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `print!` to stdout; when the reader has gone (`kubesim run … | head`) the
/// process ends quietly with status 0 instead of panicking on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// `println!` with [`out!`]'s handling of a closed stdout.
macro_rules! outln {
    () => {
        out!("\n")
    };
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error writing to stdout: {e}");
        std::process::exit(1);
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (YAML: a kubesim Scenario, then Kubernetes manifests).
    scenario: PathBuf,
    /// Seed for every random stream (default: the scenario's spec.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Scheduler: a built-in profile name (see `kubesim schedulers`) or a KubeSchedulerConfiguration file.
    #[arg(long)]
    scheduler: Option<String>,
    /// Simulated duration, Go syntax (e.g. 30m, 1h30m); default: the scenario's spec.duration.
    #[arg(long)]
    duration: Option<String>,
    /// Kubernetes release whose behaviour to simulate (e.g. 1.31).
    #[arg(long)]
    kubernetes_version: Option<String>,
    /// Stop early once nothing is left to happen.
    #[arg(long)]
    until_stable: bool,
    /// Verify the World's invariants after every event (slower).
    #[arg(long)]
    check_invariants: bool,
    /// Service traffic: one event per request, or rates integrated between
    /// changes (fast, no sampling noise); default: the scenario's spec.network.trafficModel.
    #[arg(long, value_enum)]
    traffic_model: Option<TrafficModelArg>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TrafficModelArg {
    Requests,
    Fluid,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and report what happened.
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Directory for report.json (default: reports/out/SCENARIO-NAME).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Terminal output: a kubectl-like summary, or report.json on stdout.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Load and check scenario files without simulating.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show how the scheduler judges one pod: every node's filter verdicts and every plugin's scores.
    Explain {
        #[command(flatten)]
        args: RunArgs,
        /// The pod, as [NAMESPACE/]NAME.
        #[arg(long)]
        pod: String,
        /// Explain at this moment (Go duration since the start); default: when the pod is first scheduled.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the built-in scheduler profiles.
    Schedulers,
    /// Run every (scenario, scheduler, seed) and compare the policies side by side.
    Compare {
        #[command(flatten)]
        sweep: SweepArgs,
        /// Output: tables, the full comparison as JSON, or the summary as CSV.
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        /// Also write compare.json, summary.csv, runs.csv, plots and compare.html here
        /// (with --shard: the slice, compare.shard-I-of-N.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record a sweep's metric means and tolerances as the baseline for `check`.
    Baseline {
        #[command(flatten)]
        sweep: SweepArgs,
        /// The baseline file (with --shard: FILE's stem + .shard-I-of-N.json).
        #[arg(short, long, default_value = "reports/baseline.json")]
        output: PathBuf,
    },
    /// Re-run a baseline; exit 1 when a metric is worse than its tolerance allows.
    Check {
        #[arg(long, default_value = "reports/baseline.json")]
        baseline: PathBuf,
        /// Rewrite the baseline with the new results (keeping edited tolerances).
        #[arg(long)]
        update: bool,
        /// Runs in parallel (default: all cores).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Print only the verdict and regressions' table.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Join the slices of a sharded `compare` or `baseline` into the whole sweep's output.
    Merge {
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Write the merged JSON here (required for baseline slices); default: stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Terminal output for compare slices when no -o is given.
        #[arg(long, value_enum, default_value_t = SweepFormat::Json)]
        format: SweepFormat,
        /// For compare slices: also write the files `compare --out` writes.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SweepFormat {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Scenario files.
    #[arg(required = true)]
    scenarios: Vec<String>,
    /// Built-in profile names and KubeSchedulerConfiguration files, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "default")]
    schedulers: Vec<String>,
    /// Seeds per (scenario, scheduler): first-seed, first-seed+1, …
    #[arg(long, default_value_t = 10)]
    seeds: u32,
    /// First seed (default: each scenario's spec.seed).
    #[arg(long)]
    first_seed: Option<u64>,
    /// Runs in parallel (default: all cores); the output does not depend on it.
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Run only slice I of N (0-based); default from JOB_COMPLETION_INDEX and JOB_COMPLETIONS.
    #[arg(long)]
    shard: Option<String>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

impl SweepArgs {
    fn load(&self) -> Result<Sweep, Error> {
        Sweep::load(
            &self.scenarios,
            &self.schedulers,
            self.seeds,
            self.first_seed,
            Path::new("."),
        )
    }

    fn shard(&self) -> Result<Option<Shard>, Error> {
        match &self.shard {
            Some(s) => Shard::parse(s).map(Some),
            None => Shard::from_env(
                std::env::var("JOB_COMPLETION_INDEX").ok(),
                std::env::var("JOB_COMPLETIONS").ok(),
            ),
        }
    }

    /// Run the (slice of the) sweep with a progress bar.
    fn run(&self, sweep: &Sweep, shard: Shard) -> Result<Vec<RunResult>, Error> {
        let total = (0..sweep.total()).filter(|&i| shard.owns(i)).count();
        let bar = progress(total as u64, self.quiet);
        let runs = sweep.run(shard, jobs(self.jobs), &|| bar.inc(1));
        bar.finish_and_clear();
        runs
    }
}

fn jobs(j: Option<usize>) -> usize {
    j.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs done and time left on stderr; hidden when stderr is not a terminal.
fn progress(total: u64, quiet: bool) -> ProgressBar {
    bar(total, "runs", quiet)
}

/// Simulated seconds done of one run, redrawn at most 4 times a second.
fn sim_progress(duration: kubesim::engine::Time, quiet: bool) -> ProgressBar {
    bar(duration / kubesim::engine::SECOND, "s simulated", quiet)
}

/// The progress bar of `compare`, `check` and `run` (`unit` names what `pos`
/// counts); hidden with -q or when stderr is not a terminal.
fn bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "[{{bar:40}}] {{pos}}/{{len}} {unit}  {{elapsed}} elapsed, ~{{eta}} left"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// `base.json` → `base.shard-I-of-N.json`, beside it.
fn shard_file(base: &Path, shard: Shard) -> PathBuf {
    let stem = base
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    base.with_file_name(format!(
        "{stem}.shard-{}-of-{}.json",
        shard.index, shard.count
    ))
}

fn write_comparison(c: &Comparison, format: SweepFormat, out: Option<&Path>) -> Result<(), Error> {
    if let Some(dir) = out {
        kubesim::report::write_comparison(c, dir)?;
    }
    match format {
        SweepFormat::Table => out!("{}", c.render_table()),
        SweepFormat::Json => out!("{}", c.to_json()),
        SweepFormat::Csv => out!("{}", c.summary_csv()),
    }
    Ok(())
}

fn options(a: &RunArgs) -> Result<RunOptions, Error> {
    let duration = match &a.duration {
        Some(d) => Some(parse_duration(d).map_err(|m| Error::Usage(format!("--duration: {m}")))?),
        None => None,
    };
    let kubernetes_version = match &a.kubernetes_version {
        Some(v) => Some(
            KubeVersion::parse(v)
                .map_err(|m| Error::Usage(format!("--kubernetes-version: {m}")))?,
        ),
        None => None,
    };
    Ok(RunOptions {
        seed: a.seed,
        // A file named on the command line is relative to the current directory
        // (a scenario's own `spec.scheduler` file is relative to the scenario).
        scheduler: a
            .scheduler
            .as_ref()
            .map(|s| match std::fs::canonicalize(s) {
                Ok(abs) if abs.is_file() => abs.display().to_string(),
                _ => s.clone(),
            }),
        duration,
        kubernetes_version,
        check_invariants: a.check_invariants,
        until_stable: a.until_stable,
        traffic_model: a.traffic_model.map(|m| match m {
            TrafficModelArg::Requests => kubesim::scenario::TrafficModel::Requests,
            TrafficModelArg::Fluid => kubesim::scenario::TrafficModel::Fluid,
        }),
        registry: Default::default(),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Run {
            args,
            out,
            format,
            quiet,
        } => {
            let opts = options(&args)?;
            let scenario = kubesim::scenario::load(&args.scenario)?;
            let bar = sim_progress(opts.duration.unwrap_or(scenario.duration), quiet);
            let report = kubesim::run::run_with_progress(&scenario, &opts, &mut |now, _| {
                bar.set_position(now / kubesim::engine::SECOND)
            });
            bar.finish_and_clear();
            let report = report?;
            let dir = out.unwrap_or_else(|| PathBuf::from("reports/out").join(&scenario.name));
            kubesim::report::write_out(&report, &dir)?;
            if !quiet {
                match format {
                    Format::Table => {
                        out!("{}", kubesim::report::render_text(&report));
                        outln!("report: {}", dir.join("report.json").display());
                    }
                    Format::Json => out!("{}", kubesim::report::to_json(&report)),
                }
            }
            Ok(0)
        }
        Command::Validate { files } => {
            let mut errors = Vec::new();
            for f in &files {
                match kubesim::scenario::load(f) {
                    Ok(s) => {
                        outln!(
                            "{}: ok ({} nodes, {} pods, {} workloads, {} events)",
                            f.display(),
                            s.world.nodes.len(),
                            s.world.pods.len(),
                            s.world.deployments.len()
                                + s.world.replicasets.len()
                                + s.world.statefulsets.len()
                                + s.world.daemonsets.len()
                                + s.world.jobs.len(),
                            s.events.len()
                        );
                        for n in &s.notes {
                            outln!("  note: {n}");
                        }
                    }
                    Err(Error::Input(mut e)) => errors.append(&mut e),
                    Err(e) => return Err(e),
                }
            }
            if errors.is_empty() {
                Ok(0)
            } else {
                Err(Error::Input(errors))
            }
        }
        Command::Explain {
            args,
            pod,
            at,
            format,
        } => {
            let opts = options(&args)?;
            let at = match at {
                Some(a) => {
                    Some(parse_duration(&a).map_err(|m| Error::Usage(format!("--at: {m}")))?)
                }
                None => None,
            };
            let (namespace, name) = match pod.split_once('/') {
                Some((ns, n)) => (ns.to_string(), n.to_string()),
                None => ("default".to_string(), pod.clone()),
            };
            let scenario = kubesim::scenario::load(&args.scenario)?;
            let e = kubesim::run::explain(
                &scenario,
                &opts,
                kubesim::run::ExplainRequest {
                    namespace,
                    name,
                    at,
                },
            )?;
            match format {
                Format::Table => out!("{}", kubesim::report::render_explanation(&e)),
                Format::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&e).expect("serialisable")
                ),
            }
            Ok(0)
        }
        Command::Schedulers => {
            let rows: Vec<Vec<String>> = kubesim::scheduler::Scheduler::builtin_profiles()
                .into_iter()
                .map(|(n, d)| vec![n.to_string(), d.to_string()])
                .collect();
            out!(
                "{}",
                kubesim::report::table(&["NAME", "DESCRIPTION"], &rows)
            );
            Ok(0)
        }
        Command::Compare {
            sweep: args,
            format,
            out,
        } => {
            let sweep = args.load()?;
            if let Some(shard) = args.shard()? {
                let part = SweepPart {
                    kubesim_sweep_part: Purpose::Compare,
                    kubesim_version: env!("CARGO_PKG_VERSION").to_string(),
                    shard,
                    sweep: sweep.info(),
                    runs: args.run(&sweep, shard)?,
                };
                match out {
                    Some(dir) => {
                        let f = shard_file(&dir.join("compare.json"), shard);
                        write_file(&f, &part.to_json())?;
                        if !args.quiet {
                            eprintln!(
                                "slice {}/{} written to {}",
                                shard.index,
                                shard.count,
                                f.display()
                            );
                        }
                    }
                    None => out!("{}", part.to_json()),
                }
                return Ok(0);
            }
            let runs = args.run(&sweep, Shard::ALL)?;
            let c = Comparison::build(sweep.info(), runs)?;
            write_comparison(&c, format, out.as_deref())?;
            Ok(0)
        }
        Command::Baseline {
            sweep: args,
            output,
        } => {
            let sweep = args.load()?;
            if let Some(shard) = args.shard()? {
                let part = SweepPart {
                    kubesim_sweep_part: Purpose::Baseline,
                    kubesim_version: env!("CARGO_PKG_VERSION").to_string(),
                    shard,
                    sweep: sweep.info(),
                    runs: args.run(&sweep, shard)?,
                };
                let f = shard_file(&output, shard);
                write_file(&f, &part.to_json())?;
                if !args.quiet {
                    eprintln!(
                        "slice {}/{} written to {}",
                        shard.index,
                        shard.count,
                        f.display()
                    );
                }
                return Ok(0);
            }
            let runs = args.run(&sweep, Shard::ALL)?;
            let files: Vec<Option<PathBuf>> =
                sweep.schedulers.iter().map(|s| s.file.clone()).collect();
            let previous = Baseline::read(&output).ok();
            let b = Baseline::build(&sweep.info(), &runs, &files, &output, previous.as_ref())?;
            write_file(&output, &b.to_json())?;
            if !args.quiet {
                outln!(
                    "baseline written to {} ({} runs)",
                    output.display(),
                    runs.len()
                );
            }
            Ok(0)
        }
        Command::Check {
            baseline,
            update,
            jobs: j,
            quiet,
        } => {
            let b = Baseline::read(&baseline)?;
            let total = b.scenarios.len() * b.schedulers.len() * b.seeds as usize;
            let bar = progress(total as u64, quiet);
            let report = kubesim::check::check(&b, &baseline, jobs(j), update, &|| bar.inc(1));
            bar.finish_and_clear();
            let report = report?;
            if let Some(new) = &report.updated {
                write_file(&baseline, &new.to_json())?;
            }
            if quiet {
                // The verdict alone, and the table when it failed.
                if report.failed {
                    out!("{}", report.text);
                } else if let Some(last) = report.text.lines().last() {
                    outln!("{last}");
                }
            } else {
                out!("{}", report.text);
            }
            Ok(if report.failed { 1 } else { 0 })
        }
        Command::Merge {
            parts,
            output,
            format,
            out,
        } => {
            let parts = parts
                .iter()
                .map(|p| SweepPart::read(p))
                .collect::<Result<Vec<_>, _>>()?;
            match kubesim::check::merge(parts, output.as_deref())? {
                Merged::Comparison(c) => match &output {
                    Some(f) => {
                        if let Some(dir) = &out {
                            kubesim::report::write_comparison(&c, dir)?;
                        }
                        write_file(f, &c.to_json())?;
                    }
                    None => write_comparison(&c, format, out.as_deref())?,
                },
                Merged::Baseline(b) => {
                    let f = output.ok_or_else(|| {
                        Error::Usage("merging baseline slices needs -o FILE".into())
                    })?;
                    write_file(&f, &b.to_json())?;
                }
            }
            Ok(0)
        }
    }
}
