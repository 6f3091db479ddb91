//! Integration tests: every shipped scenario end to end against a golden
//! summary, determinism, bad input, the tidy check, and the HPA.

mod autoscaling;
mod bad_input;
mod churn;
mod failures;
mod golden;
mod props;
mod sweep;
mod tidy;

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run_scenario(
    path: &Path,
    seed: Option<u64>,
    check_invariants: bool,
) -> kubesim::metrics::Report {
    let s = kubesim::scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opts = kubesim::run::RunOptions {
        seed,
        check_invariants,
        ..Default::default()
    };
    kubesim::run::run(&s, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The report without what depends on the machine (wall time and rates).
pub fn stable_json(r: &kubesim::metrics::Report) -> String {
    let mut r = r.clone();
    r.wall_seconds = 0.0;
    r.events_per_second = 0.0;
    r.sim_to_wall_ratio = 0.0;
    kubesim::report::to_json(&r)
}
