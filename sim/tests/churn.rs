//! Workload churn end to end: `rollout` events through the Deployment
//! controller, Job arrivals and the TTL-after-finished controller.

use super::stable_json;
use kubesim::metrics::{Report, WorkloadReport};
use kubesim::run::RunOptions;

/// Write `text` as a scenario file in a temporary directory and load it.
fn load_yaml(name: &str, text: &str) -> kubesim::scenario::Scenario {
    let dir = std::env::temp_dir().join(format!("kubesim-churn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    kubesim::scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run_for(s: &kubesim::scenario::Scenario, seconds: u64) -> Report {
    let opts = RunOptions {
        duration: Some(seconds * kubesim::engine::SECOND),
        check_invariants: true,
        ..Default::default()
    };
    kubesim::run::run(s, &opts).unwrap()
}

fn workloads<'a>(r: &'a Report, kind: &str) -> Vec<&'a WorkloadReport> {
    r.workloads.iter().filter(|w| w.kind == kind).collect()
}

/// Ten replicas, maxSurge 30 % (⌈3⌉ = 3) and maxUnavailable 1; a pod is
/// Ready 5 s after it starts (2 s start-up), so the rollout takes several steps.
const WEB: &str = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: rollout}
spec:
  seed: 3
  duration: 3m
  cluster:
    nodePools:
    - {name: node, count: 4, allocatable: {cpu: "8", memory: 32Gi, pods: "110"}}
  events:
  - {at: 60s, action: rollout, target: deployment/web, container: app, image: "web:v2"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 10
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 30%, maxUnavailable: 1}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: web:v1
        resources: {requests: {cpu: 100m, memory: 64Mi}}
        readinessProbe:
          httpGet: {path: /, port: 80}
          initialDelaySeconds: 5
      - name: sidecar
        image: proxy:v1
"#;

#[test]
fn rollout_replaces_every_pod_within_max_surge_and_max_unavailable() {
    let s = load_yaml("rollout", WEB);
    // Every second from the rollout until well after it: the report at that
    // moment (a run is a prefix of any longer run with the same seed).
    let (mut saw_two, mut most, mut fewest) = (false, 0, i64::MAX);
    for t in 60..=120 {
        let r = run_for(&s, t);
        let d = workloads(&r, "Deployment")[0];
        assert_eq!(d.desired, 10);
        assert!(
            d.current <= 10 + 3,
            "at {t}s: {} pods > replicas + maxSurge",
            d.current
        );
        assert!(
            d.available >= 10 - 1,
            "at {t}s: {} available < replicas - maxUnavailable",
            d.available
        );
        let rs = workloads(&r, "ReplicaSet");
        assert!(
            rs.iter().map(|w| w.desired).sum::<i64>() <= 13,
            "at {t}s: {rs:?}"
        );
        saw_two |= rs.len() == 2 && rs.iter().all(|w| w.current > 0);
        most = most.max(d.current);
        fewest = fewest.min(d.available);
    }
    assert!(saw_two, "old and new ReplicaSets never ran side by side");
    // Upstream uses both budgets to the full: 10 + 3 pods, 10 − 1 available.
    assert_eq!((most, fewest), (13, 9));
    let r = run_for(&s, 180);
    let d = workloads(&r, "Deployment")[0];
    assert_eq!((d.ready, d.up_to_date, d.available), (10, 10, 10));
    let rs = workloads(&r, "ReplicaSet");
    assert_eq!(rs.len(), 2);
    // The old ReplicaSet is kept (revisionHistoryLimit 10) with no pods.
    assert_eq!((rs[0].desired, rs[0].current), (0, 0));
    assert_eq!((rs[1].desired, rs[1].ready), (10, 10));
    assert_ne!(rs[0].name, rs[1].name);
    // 10 pods, then 10 replacements.
    assert_eq!(r.pods.created, 20);
    assert_eq!(r.pods.pending_at_end, 0);
}

#[test]
fn rollout_restart_and_setting_the_same_image() {
    // A restart makes a new ReplicaSet; setting the image the template has
    // already is no rollout at all; rolling back to v1 reuses the first one.
    let text = WEB.replace(
        "  - {at: 60s, action: rollout, target: deployment/web, container: app, image: \"web:v2\"}\n",
        "  - {at: 30s, action: rollout, target: deployment/web, image: \"web:v1\", container: app}\n  - {at: 60s, action: rollout, target: deployment/web}\n  - {at: 120s, action: rollout, target: deployment/web, image: \"web:v1\"}\n",
    );
    let s = load_yaml("restart", &text);
    let r = run_for(&s, 100);
    assert_eq!(workloads(&r, "ReplicaSet").len(), 2);
    assert_eq!(r.pods.created, 20);
    // `web:v1` for every container (the sidecar too): a third template.
    let r = run_for(&s, 180);
    let rs = workloads(&r, "ReplicaSet");
    assert_eq!(rs.len(), 3);
    assert_eq!(
        rs.iter().map(|w| w.desired).collect::<Vec<_>>(),
        vec![0, 0, 10]
    );
    let d = workloads(&r, "Deployment")[0];
    assert_eq!((d.ready, d.up_to_date), (10, 10));
}

/// A suspended template Job; copies of it arrive 60 times an hour for two
/// hours, run 2 minutes each and are deleted a minute after they finish.
const BATCH: &str = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: arrivals}
spec:
  seed: 5
  duration: 2h
  cluster:
    nodePools:
    - {name: node, count: 3, allocatable: {cpu: "8", memory: 32Gi, pods: "110"}}
  jobArrivals:
  - {template: job/batch, rate: 60/h, until: 2h}
---
apiVersion: batch/v1
kind: Job
metadata: {name: batch}
spec:
  suspend: true
  completions: 2
  parallelism: 2
  ttlSecondsAfterFinished: 60
  template:
    metadata:
      annotations: {kubesim.dev/duration: 2m}
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: batch:v1, resources: {requests: {cpu: 500m, memory: 1Gi}}}
"#;

#[test]
fn job_arrivals_run_and_finished_jobs_are_deleted_after_their_ttl() {
    let s = load_yaml("arrivals", BATCH);
    let r = run_for(&s, 7200);
    let jobs = workloads(&r, "Job");
    // The template stays, suspended: no pods.
    let template = jobs.iter().find(|j| j.name == "batch").unwrap();
    assert_eq!((template.current, template.succeeded), (0, Some(0)));
    // About 120 arrivals (Poisson, σ ≈ 11), two pods each.
    assert_eq!(r.pods.created % 2, 0);
    let arrived = r.pods.created / 2;
    assert!((85..=155).contains(&arrived), "{arrived} arrivals");
    // Each lives about 2 min + 2 s start-up + 60 s TTL: only the last few
    // minutes' Jobs are left (rate 1/min: about 3; generously 12).
    let left: Vec<_> = jobs.iter().filter(|j| j.name != "batch").collect();
    assert!(
        !left.is_empty() && left.len() <= 12,
        "{} Jobs left",
        left.len()
    );
    assert!(left.iter().all(|j| j.name.starts_with("batch-")));
    assert_eq!((r.pods.failed, r.pods.pending_at_end), (0, 0));
    // Deleted Jobs' pods are gone too: only the Jobs left hold pods.
    let pods_left: u64 = r.nodes.iter().map(|n| n.pods).sum();
    assert!(pods_left <= 2 * left.len() as u64);
}

#[test]
fn job_arrivals_are_deterministic_and_follow_the_seed() {
    let s = load_yaml("arrivals-seed", BATCH);
    let opts = |seed| RunOptions {
        seed: Some(seed),
        duration: Some(3600 * kubesim::engine::SECOND),
        ..Default::default()
    };
    let a = kubesim::run::run(&s, &opts(1)).unwrap();
    let b = kubesim::run::run(&s, &opts(1)).unwrap();
    let c = kubesim::run::run(&s, &opts(2)).unwrap();
    assert_eq!(stable_json(&a), stable_json(&b));
    assert_ne!(stable_json(&a), stable_json(&c));
}

#[test]
fn progress_follows_simulated_time_and_ends_at_the_end() {
    // Ten times the arrivals: enough events for several progress calls.
    let s = load_yaml("progress", &BATCH.replace("rate: 60/h", "rate: 600/h"));
    let mut seen = Vec::new();
    let r = kubesim::run::run_with_progress(&s, &RunOptions::default(), &mut |now, end| {
        seen.push((now, end))
    })
    .unwrap();
    let every = kubesim::run::PROGRESS_EVERY;
    assert_eq!(seen.len() as u64, r.events_processed / every + 1);
    assert!(seen.len() > 3);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    let end = 7200 * kubesim::engine::SECOND;
    assert!(seen.iter().all(|&(_, e)| e == end));
    assert_eq!(seen.last(), Some(&(end, end)));
}
