//! Sweeps: `compare` is identical for any --jobs and for sharded + merged runs,
//! `baseline`/`check` pass against themselves and fail on a regression or a
//! changed scenario, and every output file parses back.

use std::process::{Command, Output};

use kubesim::check::Baseline;
use kubesim::compare::{Comparison, METRICS, Shard, Sweep};

use super::*;

/// Two tiny scenarios (debug builds run them in milliseconds).
fn scenarios(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    let mut files = Vec::new();
    for (name, nodes, replicas) in [("tiny-a", 3, 4), ("tiny-b", 4, 6)] {
        let text = format!(
            "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: {name}}}
spec:
  seed: 11
  duration: 2m
  cluster:
    nodePools:
    - name: pool
      count: {nodes}
      zones: [zone-a, zone-b]
      allocatable: {{cpu: \"2\", memory: 4Gi, pods: \"110\"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {{requests: {{cpu: 500m, memory: 512Mi}}}}
"
        );
        let f = format!("scenarios/{name}.yaml");
        std::fs::write(dir.join(&f), text).unwrap();
        files.push(f);
    }
    files
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sweep-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn kubesim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .current_dir(dir)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn compare_is_identical_for_any_number_of_threads() {
    let dir = scratch("jobs");
    let files = scenarios(&dir);
    let sweep = Sweep::load(&files, &["default".into(), "binpack".into()], 4, None, &dir).unwrap();
    let one = sweep.run(Shard::ALL, 1, &|| {}).unwrap();
    let two = sweep.run(Shard::ALL, 2, &|| {}).unwrap();
    let a = Comparison::build(sweep.info(), one).unwrap();
    let b = Comparison::build(sweep.info(), two).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.render_table(), b.render_table());
    assert_eq!(a.runs.len(), 2 * 2 * 4);
    // Seeds are spec.seed + i.
    let seeds: Vec<u64> = a.runs[..4].iter().map(|r| r.seed).collect();
    assert_eq!(seeds, vec![11, 12, 13, 14]);

    // The same through the CLI, every format.
    let mut args = vec!["compare"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--schedulers", "default,binpack", "--seeds", "3", "-q"]);
    for format in ["table", "json", "csv"] {
        let mut a1 = args.clone();
        a1.extend(["--format", format, "--jobs", "1"]);
        let mut a2 = args.clone();
        a2.extend(["--format", format, "--jobs", "2"]);
        assert_eq!(ok(&kubesim(&dir, &a1)), ok(&kubesim(&dir, &a2)), "{format}");
    }
}

#[test]
fn sharded_and_merged_equals_unsharded() {
    let dir = scratch("shards");
    let files = scenarios(&dir);
    let mut base = vec![];
    base.extend(files.iter().map(String::as_str));
    base.extend(["--schedulers", "default,binpack", "--seeds", "3", "-q"]);

    // compare
    let mut whole = vec!["compare", "--format", "json"];
    whole.extend(&base);
    let whole = ok(&kubesim(&dir, &whole));
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut a = vec!["compare", "--shard", &shard, "--out", "parts"];
        a.extend(&base);
        ok(&kubesim(&dir, &a));
    }
    // A slice may also come from an Indexed Job's environment.
    let mut env_run = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    env_run
        .args(["compare", "--out", "env-parts"])
        .args(&base)
        .current_dir(&dir)
        .env("JOB_COMPLETION_INDEX", "1")
        .env("JOB_COMPLETIONS", "3");
    ok(&env_run.output().unwrap());
    assert_eq!(
        std::fs::read(dir.join("env-parts/compare.shard-1-of-3.json")).unwrap(),
        std::fs::read(dir.join("parts/compare.shard-1-of-3.json")).unwrap()
    );
    let merged = ok(&kubesim(
        &dir,
        &[
            "merge",
            "parts/compare.shard-2-of-3.json",
            "parts/compare.shard-0-of-3.json",
            "parts/compare.shard-1-of-3.json",
        ],
    ));
    assert_eq!(merged, whole);
    // A missing slice is an error, not a smaller sweep.
    let o = kubesim(
        &dir,
        &[
            "merge",
            "parts/compare.shard-0-of-3.json",
            "parts/compare.shard-1-of-3.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("slice 2/3 is missing"));

    // baseline
    let mut a = vec!["baseline", "-o", "reports/whole.json"];
    a.extend(&base);
    ok(&kubesim(&dir, &a));
    for i in 0..2 {
        let shard = format!("{i}/2");
        let mut a = vec!["baseline", "--shard", &shard, "-o", "parts/b.json"];
        a.extend(&base);
        ok(&kubesim(&dir, &a));
    }
    ok(&kubesim(
        &dir,
        &[
            "merge",
            "parts/b.shard-0-of-2.json",
            "parts/b.shard-1-of-2.json",
            "-o",
            "reports/merged.json",
        ],
    ));
    assert_eq!(
        std::fs::read_to_string(dir.join("reports/whole.json")).unwrap(),
        std::fs::read_to_string(dir.join("reports/merged.json")).unwrap()
    );
}

#[test]
fn check_passes_against_itself_and_fails_on_regression_or_changed_scenario() {
    let dir = scratch("check");
    let files = scenarios(&dir);
    let mut a = vec!["baseline", "--seeds", "2", "-q", "--schedulers", "default"];
    a.extend(files.iter().map(String::as_str));
    ok(&kubesim(&dir, &a));
    let path = dir.join("reports/baseline.json");
    let b = Baseline::read(&path).unwrap();
    assert_eq!(b.scenarios[0].path, "../scenarios/tiny-a.yaml");
    assert_eq!(b.entries.len(), 2);

    // Against itself, from another working directory too.
    let out = ok(&kubesim(&dir, &["check", "-q"]));
    assert!(out.contains("check passed"), "{out}");
    let o = kubesim(
        &dir.join("scenarios"),
        &["check", "--baseline", "../reports/baseline.json"],
    );
    assert!(ok(&o).contains("check passed"));

    // A baseline that was better than what the code does now: every metric
    // moved past its tolerance in the good direction.
    let mut better = b.clone();
    for e in &mut better.entries {
        for (k, v) in e.metrics.iter_mut() {
            let m = kubesim::compare::metric(k).unwrap();
            let slack = m.tolerance.allowed(v.mean) * 2.0 + 1.0;
            match m.better {
                kubesim::compare::Better::Lower => v.mean -= slack,
                kubesim::compare::Better::Higher => v.mean += slack,
            }
        }
    }
    std::fs::write(dir.join("reports/better.json"), better.to_json()).unwrap();
    let o = kubesim(&dir, &["check", "--baseline", "reports/better.json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("WORSE") && out.contains("check FAILED"),
        "{out}"
    );
    assert!(out.contains("nodes used at end"), "{out}");
    // A loosened tolerance in the file is honoured.
    let mut loose = better.clone();
    for m in METRICS {
        loose.tolerances.insert(
            m.key.into(),
            kubesim::compare::Tolerance {
                relative: 0.0,
                absolute: 1e9,
            },
        );
    }
    std::fs::write(dir.join("reports/loose.json"), loose.to_json()).unwrap();
    let o = kubesim(&dir, &["check", "--baseline", "reports/loose.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A changed scenario is reported and fails until --update.
    let f = dir.join(&files[1]);
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("count: 4", "count: 5")).unwrap();
    let o = kubesim(&dir, &["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("tiny-b") && out.contains("CHANGED"), "{out}");
    ok(&kubesim(&dir, &["check", "--update", "-q"]));
    assert!(ok(&kubesim(&dir, &["check"])).contains("check passed"));
    let updated = Baseline::read(&path).unwrap();
    assert_ne!(
        updated.scenarios[1].content_hash,
        b.scenarios[1].content_hash
    );
}

#[test]
fn check_reports_a_changed_scheduler_configuration() {
    let dir = scratch("schedconf");
    let files = scenarios(&dir);
    std::fs::create_dir_all(dir.join("sched")).unwrap();
    let conf = "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
";
    std::fs::write(dir.join("sched/mine.yaml"), conf).unwrap();
    let mut a = vec![
        "baseline",
        "--seeds",
        "1",
        "-q",
        "--schedulers",
        "default,sched/mine.yaml",
    ];
    a.push(&files[0]);
    ok(&kubesim(&dir, &a));
    let b = Baseline::read(&dir.join("reports/baseline.json")).unwrap();
    assert_eq!(b.schedulers[1].path.as_deref(), Some("../sched/mine.yaml"));
    std::fs::write(dir.join("sched/mine.yaml"), format!("{conf}# edited\n")).unwrap();
    let out = ok(&kubesim(&dir, &["check"]));
    assert!(
        out.contains("scheduler configuration sched/mine.yaml: changed since the baseline"),
        "{out}"
    );
}

/// A small RFC 4180 reader, to prove the CSV parses back.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn compare_outputs_parse_back() {
    let dir = scratch("outputs");
    let files = scenarios(&dir);
    let mut a = vec!["compare", "--schedulers", "default,binpack", "--seeds", "3"];
    a.extend(files.iter().map(String::as_str));
    a.extend(["-q", "--out", "out", "--format", "json"]);
    let json = ok(&kubesim(&dir, &a));
    let c: Comparison = serde_json::from_str(&json).unwrap();
    assert_eq!(c.to_json(), json);
    assert_eq!(
        std::fs::read_to_string(dir.join("out/compare.json")).unwrap(),
        json
    );
    let summary = parse_csv(&std::fs::read_to_string(dir.join("out/summary.csv")).unwrap());
    assert_eq!(summary[0][0], "scenario");
    assert!(summary.len() > 1);
    for r in &summary[1..] {
        assert_eq!(r.len(), summary[0].len());
        let mean: f64 = r[6].parse().unwrap();
        let sc = c.summary.iter().find(|s| s.scenario == r[0]).unwrap();
        let mc = sc.metrics.iter().find(|m| m.metric == r[1]).unwrap();
        let p = mc.policies.iter().find(|p| p.scheduler == r[4]).unwrap();
        assert_eq!(Some(mean), p.mean);
    }
    let runs = parse_csv(&std::fs::read_to_string(dir.join("out/runs.csv")).unwrap());
    assert_eq!(runs.len(), 1 + c.runs.len());
    assert_eq!(runs[0].len(), 3 + METRICS.len());
    for name in ["compare-tiny-a", "compare-tiny-b"] {
        let svg = std::fs::read_to_string(dir.join(format!("out/{name}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        let png = std::fs::read(dir.join(format!("out/{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    }
    let html = std::fs::read_to_string(dir.join("out/compare.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
}

#[test]
fn run_out_writes_report_csv_plots_and_html() {
    let dir = scratch("run-out");
    let files = scenarios(&dir);
    ok(&kubesim(&dir, &["run", &files[0], "--out", "out", "-q"]));
    let report: kubesim::metrics::Report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/report.json")).unwrap())
            .unwrap();
    let ts = parse_csv(&std::fs::read_to_string(dir.join("out/timeseries.csv")).unwrap());
    assert_eq!(ts.len(), 1 + report.timeseries.len());
    assert_eq!(
        &ts[0][..4],
        &["t_seconds", "pending", "running", "nodes_used"]
    );
    assert!(ts.iter().all(|r| r.len() == ts[0].len()));
    for name in ["pods-nodes", "allocation-heatmap"] {
        let svg = std::fs::read_to_string(dir.join(format!("out/{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let png = std::fs::read(dir.join(format!("out/{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    }
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("Failure timeline"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
}

#[test]
fn check_fails_when_a_worse_policy_replaces_a_better_one() {
    let dir = scratch("policy");
    let files = scenarios(&dir);
    let mut a = vec!["baseline", "--seeds", "2", "-q", "--schedulers", "best-fit"];
    a.extend(files.iter().map(String::as_str));
    ok(&kubesim(&dir, &a));
    assert!(ok(&kubesim(&dir, &["check"])).contains("check passed"));
    // Same numbers, but the gate now judges worst-fit against them.
    let path = dir.join("reports/baseline.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"best-fit\"", "\"worst-fit\"")).unwrap();
    let o = kubesim(&dir, &["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.lines().any(|l| l.contains("worst-fit")
            && l.contains("nodes used at end")
            && l.contains("WORSE")),
        "{out}"
    );
}
