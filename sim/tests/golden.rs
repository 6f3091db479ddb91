//! Golden scenario tests: run each shipped scenario and compare a stable
//! summary with `sim/tests/golden/NAME.json`. `UPDATE_GOLDEN=1 cargo test`
//! rewrites them; an intended change updates the files in the same commit.

use super::*;

/// Scenarios small enough to run in debug builds on every test run.
fn shipped() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn summary(r: &kubesim::metrics::Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    let o = v.as_object_mut().unwrap();
    // Machine-dependent like wall_seconds. Shifted out first, so the other keys
    // stay where they were before the field existed (`remove` swaps the last
    // key into the hole it leaves).
    o.shift_remove("sim_to_wall_ratio");
    for k in [
        "wall_seconds",
        "events_per_second",
        "timeseries",
        "series",
        "kubesim_version",
        "scenario_hash",
    ] {
        o.remove(k);
    }
    v
}

#[test]
fn shipped_scenarios_match_golden_summaries() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for path in shipped() {
        let r = run_scenario(&path, None, true);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let got = serde_json::to_string_pretty(&summary(&r)).unwrap() + "\n";
        let golden = repo().join("sim/tests/golden").join(format!("{name}.json"));
        if update {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(_) => failures.push(format!(
                "{name}: summary differs from {} (UPDATE_GOLDEN=1 to accept)",
                golden.display()
            )),
            Err(_) => failures.push(format!(
                "{name}: no golden file {} (UPDATE_GOLDEN=1 to create)",
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn same_seed_gives_identical_report() {
    for path in shipped() {
        let a = stable_json(&run_scenario(&path, Some(11), false));
        let b = stable_json(&run_scenario(&path, Some(11), false));
        assert_eq!(a, b, "{} is not deterministic", path.display());
    }
}

#[test]
fn hello_world_ends_like_the_tutorial() {
    let r = run_scenario(&repo().join("scenarios/hello-world.yaml"), None, true);
    let d = r
        .workloads
        .iter()
        .find(|w| w.kind == "Deployment" && w.name == "hello-world")
        .expect("deployment");
    assert_eq!(
        (d.ready, d.desired, d.up_to_date, d.available),
        (5, 5, 5, 5)
    );
    let rs: Vec<_> = r
        .workloads
        .iter()
        .filter(|w| w.kind == "ReplicaSet")
        .collect();
    assert_eq!(rs.len(), 1);
    assert!(rs[0].name.starts_with("hello-world-"));
    assert_eq!((rs[0].desired, rs[0].current, rs[0].ready), (5, 5, 5));
    let s = r
        .services
        .iter()
        .find(|s| s.name == "my-service")
        .expect("service");
    assert_eq!(s.endpoints_ready, 5);
    assert_eq!(s.service_type, "LoadBalancer");
    assert_eq!(r.pods.pending_at_end, 0);
}

#[test]
fn nginx_scales_to_four_then_rolls_out_the_new_image() {
    let r = run_scenario(&repo().join("scenarios/nginx.yaml"), None, true);
    let d = r.workloads.iter().find(|w| w.kind == "Deployment").unwrap();
    assert_eq!((d.ready, d.desired, d.up_to_date), (4, 4, 4));
    // Four pods, then four replacements from a second ReplicaSet; the first
    // is kept, scaled to 0, as `kubectl get rs` shows after the docs' update.
    assert_eq!(r.pods.created, 8);
    let rs: Vec<(i64, i64)> = r
        .workloads
        .iter()
        .filter(|w| w.kind == "ReplicaSet")
        .map(|w| (w.desired, w.ready))
        .collect();
    assert_eq!(rs, vec![(0, 0), (4, 4)]);
}
