//! The `kubesim` command line: parse arguments, call the library, print, and
//! set the exit code (0 ok, 1 check failed, 2 bad input or usage).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
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
        scheduler: a.scheduler.clone(),
        duration,
        kubernetes_version,
        check_invariants: a.check_invariants,
        until_stable: a.until_stable,
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
            let report = kubesim::run::run(&scenario, &opts)?;
            let dir = out.unwrap_or_else(|| PathBuf::from("reports/out").join(&scenario.name));
            kubesim::report::write_out(&report, &dir)?;
            if !quiet {
                match format {
                    Format::Table => {
                        print!("{}", kubesim::report::render_text(&report));
                        println!("report: {}", dir.join("report.json").display());
                    }
                    Format::Json => print!("{}", kubesim::report::to_json(&report)),
                }
            }
            Ok(0)
        }
        Command::Validate { files } => {
            let mut errors = Vec::new();
            for f in &files {
                match kubesim::scenario::load(f) {
                    Ok(s) => println!(
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
                    ),
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
                Format::Table => print!("{}", kubesim::report::render_explanation(&e)),
                Format::Json => println!(
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
            print!(
                "{}",
                kubesim::report::table(&["NAME", "DESCRIPTION"], &rows)
            );
            Ok(0)
        }
    }
}
