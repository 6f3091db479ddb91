//! Failures and recovery end to end: the default timeline pinned to
//! upstream's numbers, partitions shorter than the toleration, StatefulSet
//! at-most-once, zone rate limiting, and request accounting.

use super::*;
use kubesim::engine::SECOND;
use kubesim::metrics::Report;
use kubesim::model::KubeVersion;
use kubesim::run::RunOptions;
use kubesim::scenario::TrafficModel;

fn run_with(path: &Path, opts: RunOptions) -> Report {
    let s = kubesim::scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kubesim::run::run(&s, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Write `text` as a scenario file under the target directory and run it.
fn run_yaml(name: &str, text: &str, opts: RunOptions) -> Report {
    let dir = std::env::temp_dir().join(format!("kubesim-failures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    run_with(&path, opts)
}

fn checked() -> RunOptions {
    RunOptions {
        check_invariants: true,
        ..Default::default()
    }
}

fn workload<'a>(r: &'a Report, kind: &str, name: &str) -> &'a kubesim::metrics::WorkloadReport {
    r.workloads
        .iter()
        .find(|w| w.kind == kind && w.name == name)
        .unwrap_or_else(|| panic!("{kind}/{name}"))
}

/// Times in the timeline that mention `what`.
fn when(r: &kubesim::metrics::Recovery, what: &str) -> Vec<f64> {
    r.timeline
        .iter()
        .filter(|e| e.what.contains(what))
        .map(|e| e.t)
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn default_timeline_follows_upstream_v1_37() {
    // failNode at 300 s. The kubelet renewed its Lease at most 10 s before
    // (renew interval = 40 s lease / 4); the controller sees a renewal at its
    // next 5 s pass, so the probe timestamp is in [290, 305); Ready=Unknown
    // at the first pass strictly more than 50 s (v1.32+) later:
    // detected ∈ (340, 360], on the 5 s grid.
    let r = run_with(&repo().join("scenarios/node-failure.yaml"), checked());
    let f = &r.recovery[0];
    let at = f.at_seconds;
    let detected = f.detected_seconds.unwrap();
    assert!(
        detected > at + 40.0 && detected <= at + 60.0,
        "detected {detected}"
    );
    assert!(
        close(detected % 5.0, 0.0),
        "monitor period grid: {detected}"
    );
    // The unreachable:NoExecute taint at the next 100 ms tainting pass (the
    // zone is healthy: rate 0.1/s, the bucket is full).
    let tainted = when(f, "tainted node.kubernetes.io/unreachable:NoExecute")[0];
    assert!(close(tainted, detected + 0.1), "tainted {tainted}");
    // Eviction 300 s (DefaultTolerationSeconds) after the taint eviction
    // controller saw the taint (10 ms watch delay).
    let evicted = f.evicted_seconds.unwrap();
    assert!(close(evicted, tainted + 0.01 + 300.0), "evicted {evicted}");
    // The ReplicaSet replaces the evicted pod at once: Running and Ready after
    // the 2 s start-up latency (plus watch delays).
    let web = f
        .workloads
        .iter()
        .find(|w| w.kind == "Deployment")
        .unwrap()
        .restored_seconds
        .unwrap();
    assert!(web > evicted + 2.0 && web < evicted + 2.1, "web {web}");
    // The StatefulSet's pod stays Terminating until the node returns at 20m.
    let db = f
        .workloads
        .iter()
        .find(|w| w.kind == "StatefulSet")
        .unwrap()
        .restored_seconds
        .unwrap();
    assert!(db > 1200.0 && db < 1205.0, "db {db}");
    // DaemonSet pods tolerate unreachable for ever: only web and db evicted.
    assert_eq!(r.pods.evicted, 2);
    assert_eq!(f.pods_disrupted, 3);
}

#[test]
fn grace_period_is_40s_before_v1_32_and_configurable() {
    let path = repo().join("scenarios/node-failure.yaml");
    let old = run_with(
        &path,
        RunOptions {
            kubernetes_version: Some(KubeVersion {
                major: 1,
                minor: 31,
            }),
            ..Default::default()
        },
    );
    let f = &old.recovery[0];
    let d = f.detected_seconds.unwrap() - f.at_seconds;
    assert!(d > 30.0 && d <= 50.0, "v1.31 detected after {d}");
    let new = run_with(&path, RunOptions::default());
    let g = &new.recovery[0];
    assert!(close(
        (g.detected_seconds.unwrap() - g.at_seconds) - d,
        10.0
    ));

    let text = std::fs::read_to_string(&path).unwrap().replace(
        "  seed: 42\n",
        "  seed: 42\n  controllers: {nodeMonitorGracePeriod: 20s}\n",
    );
    let r = run_yaml("grace20", &text, RunOptions::default());
    let h = &r.recovery[0];
    assert!(close(
        (h.detected_seconds.unwrap() - h.at_seconds) - (g.detected_seconds.unwrap() - g.at_seconds),
        -30.0
    ));
}

#[test]
fn partition_shorter_than_toleration_evicts_nothing() {
    let r = run_with(&repo().join("scenarios/partition.yaml"), checked());
    assert_eq!(r.pods.evicted, 0);
    for f in &r.recovery {
        assert!(f.detected_seconds.is_some(), "{}: not detected", f.event);
        assert_eq!(f.evicted_seconds, None, "{}", f.event);
        // Whole again as soon as the partition heals.
        assert!(f.restored_seconds.is_some(), "{}", f.event);
    }
    let api = workload(&r, "Deployment", "api");
    assert_eq!((api.ready, api.desired), (6, 6));
    assert_eq!(r.pods.created, 6, "no pod was replaced");
    // A node cut from the control plane keeps serving until kube-proxy drops
    // its pods; a zone cut from the others makes its pods unreachable from
    // outside until then, and leaves its own clients with stale rules.
    assert_eq!(r.recovery[0].requests_failed, 0);
    assert!(r.recovery[1].requests_failed > 0);
    let s = &r.services[0];
    assert_eq!(s.failed, s.failures["unreachable"]);
}

#[test]
fn statefulset_pods_are_never_duplicated() {
    // general-4 holds db's pod from 5m to 20m; it is evicted at ~11m. Until
    // the node returns, the Terminating pod keeps its ordinal: the StatefulSet
    // has 2 Ready pods and creates nothing.
    let path = repo().join("scenarios/node-failure.yaml");
    let at = |secs: u64| {
        run_with(
            &path,
            RunOptions {
                duration: Some(secs * SECOND),
                check_invariants: true,
                ..Default::default()
            },
        )
    };
    let r12 = at(12 * 60);
    let r19 = at(19 * 60 + 50);
    for r in [&r12, &r19] {
        // status.replicas still counts the Terminating pod; 2 are Ready.
        let db = workload(r, "StatefulSet", "db");
        assert_eq!((db.current, db.ready, db.desired), (3, 2, 3));
    }
    assert_eq!(r12.pods.created, r19.pods.created);
    let end = run_with(&path, checked());
    let db = workload(&end, "StatefulSet", "db");
    assert_eq!((db.current, db.ready), (3, 3));
    assert_eq!(
        end.pods.created,
        r19.pods.created + 1,
        "one db pod, recreated once"
    );
}

#[test]
fn zone_outage_taints_one_node_every_ten_seconds() {
    let r = run_with(&repo().join("scenarios/zone-outage.yaml"), checked());
    let f = &r.recovery[0];
    let mut t = when(f, "tainted");
    t.sort_by(f64::total_cmp);
    assert_eq!(t.len(), 3);
    // Fully disrupted zone among healthy ones: HealthyQPSFunc, 0.1 node/s.
    assert!(t.windows(2).all(|w| w[1] - w[0] >= 10.0 - 1e-6), "{t:?}");
    assert!(f.evicted_seconds.is_some());
    let fe = workload(&r, "Deployment", "frontend");
    assert_eq!((fe.ready, fe.desired), (6, 6));
}

const CLUSTER_OF: &str = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: rates}
spec:
  seed: 1
  duration: 20m
  cluster:
    nodePools:
    - name: node
      count: COUNT
      zones: [zone-a]
      allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
  events:
  - {at: 1m, action: failNode, nodes: [NODES]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: app, image: app, resources: {requests: {cpu: 100m}}}
"#;

fn cluster(count: usize, failed: usize, replicas: usize) -> String {
    let nodes: Vec<String> = (0..failed).map(|i| format!("node-{i}")).collect();
    CLUSTER_OF
        .replace("COUNT", &count.to_string())
        .replace("NODES", &nodes.join(", "))
        .replace("REPLICAS", &replicas.to_string())
}

#[test]
fn partial_disruption_of_a_large_zone_uses_the_secondary_rate() {
    // 60 nodes in one zone, 40 fail: 40/60 ≥ 0.55 and more than 2 → partial
    // disruption; 60 > 50 (large cluster) → 0.01 node/s: one taint per 100 s.
    let r = run_yaml("partial", &cluster(60, 40, 60), RunOptions::default());
    let f = &r.recovery[0];
    let mut t = when(f, "tainted");
    t.sort_by(f64::total_cmp);
    assert!(t.len() >= 2, "{t:?}");
    assert!(t.windows(2).all(|w| w[1] - w[0] >= 100.0 - 1e-6), "{t:?}");
    // A small zone in partial disruption stops tainting altogether.
    let r = run_yaml("partial-small", &cluster(10, 6, 10), RunOptions::default());
    let f = &r.recovery[0];
    assert!(f.detected_seconds.is_some());
    assert!(when(f, "tainted").len() <= 1, "{:?}", f.timeline);
}

#[test]
fn a_fully_disrupted_cluster_evicts_nothing() {
    // Every zone fully disrupted: master disruption mode, no NoExecute taints.
    let r = run_yaml("all-down", &cluster(3, 3, 3), checked());
    let f = &r.recovery[0];
    assert!(f.detected_seconds.is_some());
    assert_eq!(f.evicted_seconds, None);
    assert_eq!(r.pods.evicted, 0);
}

#[test]
fn every_request_is_counted_once() {
    for name in ["node-failure", "partition", "crashloop", "zone-outage"] {
        let r = run_with(&repo().join(format!("scenarios/{name}.yaml")), checked());
        for s in r.services.iter().filter(|s| s.requests > 0) {
            let by_cause: u64 = s.failures.values().sum();
            assert_eq!(s.failed, by_cause, "{name}");
            assert!(s.failed <= s.requests, "{name}");
            let succeeded = s.requests - s.failed;
            assert!(close(
                s.availability,
                (succeeded as f64 / s.requests as f64 * 1e6).round() / 1e6
            ));
        }
    }
    // node-failure: 20/s from 1m to 25m → 28 800 expected, σ ≈ 170.
    let r = run_with(
        &repo().join("scenarios/node-failure.yaml"),
        RunOptions::default(),
    );
    let n = r.services[0].requests as f64;
    assert!((n - 28_800.0).abs() < 5.0 * 28_800f64.sqrt(), "{n}");
    // Requests failed during a failure are a subset of all failed requests.
    let during: u64 = r.recovery.iter().map(|f| f.requests_failed).sum();
    assert!(during <= r.services[0].failed);
}

#[test]
fn fluid_and_requests_agree() {
    // The same scenario under both traffic models: request counts within 2 %,
    // availability within 0.01 (documented in network/traffic.rs).
    for name in ["node-failure", "zone-outage", "partition"] {
        let path = repo().join(format!("scenarios/{name}.yaml"));
        let opts = |m| RunOptions {
            traffic_model: Some(m),
            ..Default::default()
        };
        let a = run_with(&path, opts(TrafficModel::Requests));
        let b = run_with(&path, opts(TrafficModel::Fluid));
        for (x, y) in a.services.iter().zip(&b.services) {
            if x.requests == 0 {
                continue;
            }
            let dr = (x.requests as f64 - y.requests as f64).abs() / x.requests as f64;
            assert!(
                dr < 0.02,
                "{name}: requests {} vs {}",
                x.requests,
                y.requests
            );
            assert!(
                (x.availability - y.availability).abs() < 0.01,
                "{name}: availability {} vs {}",
                x.availability,
                y.availability
            );
        }
    }
}

const BAD_HEAD: &str = "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: bad}\nspec:\n  duration: 10m\n  cluster:\n    nodePools:\n    - name: p\n      count: 2\n      zones: [zone-a, zone-b]\n      allocatable: {cpu: \"4\", memory: 8Gi}\n";

#[test]
fn bad_failure_input_names_line_and_field() {
    // (extra lines after the pool, text the error must contain, line it names)
    let cases: Vec<(&str, &str, usize)> = vec![
        (
            "  events:\n  - {at: 1m, action: failNode, node: p-7}\n",
            "no node named \"p-7\"",
            13,
        ),
        (
            "  events:\n  - {at: 1m, action: partition, zone: zone-x, for: 1m}\n",
            "did you mean `zone-a`",
            13,
        ),
        (
            "  events:\n  - {at: 1m, action: recoverNode, node: p-1, for: 1m}\n",
            "takes no `for`",
            13,
        ),
        (
            "  events:\n  - {at: 1m, action: crashPod}\n",
            "needs either `pod` or `target`",
            13,
        ),
        (
            "  controllers: {nodeMonitorGracePeriodd: 20s}\n",
            "did you mean `nodeMonitorGracePeriod`",
            12,
        ),
        (
            "  controllers: {nodeEvictionRate: -1}\n",
            "non-negative",
            12,
        ),
        (
            "  network: {trafficModel: fluidd}\n",
            "unknown traffic model",
            12,
        ),
        (
            "  traffic:\n  - {service: web, rate: 10/s, podCapacity: 5/s}\n",
            "no Service named default/web",
            13,
        ),
        (
            "  events:\n  - {at: 1m, action: setTraffic, service: web, rate: fast}\n",
            "no Service named default/web",
            13,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("kubesim-bad-failures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (extra, want, line)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("case{i}.yaml"));
        std::fs::write(&path, format!("{BAD_HEAD}{extra}")).unwrap();
        let err = match kubesim::scenario::load(&path) {
            Ok(_) => panic!("case {i} loaded: {extra}"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.contains(want), "case {i}: {msg}");
        assert!(
            msg.contains(&format!(":{line}:")),
            "case {i} line {line}: {msg}"
        );
    }
    // A pool's failureRate with an unknown distribution.
    let path = dir.join("rate.yaml");
    std::fs::write(
        &path,
        BAD_HEAD.replace(
            "      zones: [zone-a, zone-b]\n",
            "      zones: [zone-a, zone-b]\n      failureRate: {distribution: gamma, mtbf: 1h, repair: 5m}\n",
        ),
    )
    .unwrap();
    let msg = kubesim::scenario::load(&path).err().unwrap().to_string();
    assert!(msg.contains("unknown distribution"), "{msg}");
}

#[test]
fn random_node_failures_from_a_pool_failure_rate() {
    let text = cluster(4, 1, 4)
        .replace(
            "      zones: [zone-a]\n",
            "      zones: [zone-a]\n      failureRate: {distribution: weibull, shape: 1.5, mtbf: 20m, repair: 3m}\n",
        )
        .replace("  events:\n  - {at: 1m, action: failNode, nodes: [node-0]}\n", "");
    let a = run_yaml("random", &text, checked());
    let b = run_yaml("random", &text, checked());
    assert_eq!(stable_json(&a), stable_json(&b));
    assert!(!a.recovery.is_empty());
    for f in &a.recovery {
        assert!(
            f.event.starts_with("random failure of node-"),
            "{}",
            f.event
        );
        assert!(f.event.contains("repaired after 3m"), "{}", f.event);
    }
}

#[test]
fn set_traffic_changes_the_rate() {
    // node-failure at 20/s, raised to 60/s at 22m: ~ 20×1260 + 60×180 requests.
    let path = repo().join("scenarios/node-failure.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "  - {at: 20m, action: recoverNode, node: general-4}\n",
        "  - {at: 20m, action: recoverNode, node: general-4}\n  - {at: 22m, action: setTraffic, service: web, rate: 60/s}\n",
    );
    let r = run_yaml("set-traffic", &text, RunOptions::default());
    let n = r.services[0].requests as f64;
    let want = 20.0 * 1260.0 + 60.0 * 180.0;
    assert!((n - want).abs() < 5.0 * want.sqrt(), "{n} vs {want}");
    // The same change as a schedule in spec.traffic: the very same run.
    let original = std::fs::read_to_string(&path).unwrap();
    let scheduled = original.replace(
        "start: 1m}",
        "start: 1m, schedule: [{at: 22m, rate: 60/s}]}",
    );
    assert_ne!(scheduled, original);
    let s = run_yaml("schedule", &scheduled, RunOptions::default());
    assert_eq!(s.services, r.services);
}

#[test]
fn a_partition_longer_than_the_toleration_evicts_and_cleans_up_on_heal() {
    // general-4 (web, db and node-exporter pods) is cut off for 10 minutes:
    // its web and db pods are evicted ~6 min in and stay Terminating (the
    // kubelet cannot hear); web is replaced at once, db's ordinal waits. When
    // the partition heals the kubelet finishes the deletions, the StatefulSet
    // recreates its pod, and nothing is left over.
    let path = repo().join("scenarios/node-failure.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "  - {at: 5m, action: failNode, node: general-4}\n  - {at: 20m, action: recoverNode, node: general-4}\n",
            "  - {at: 5m, action: partition, nodes: [general-4], for: 10m}\n",
        );
    let r = run_yaml("long-partition", &text, checked());
    let f = &r.recovery[0];
    assert!(f.evicted_seconds.is_some());
    assert_eq!(r.pods.evicted, 2);
    let db = f
        .workloads
        .iter()
        .find(|w| w.kind == "StatefulSet")
        .unwrap();
    let healed = f.at_seconds + 600.0;
    let db_back = db.restored_seconds.unwrap();
    assert!(db_back > healed && db_back < healed + 5.0, "{db_back}");
    let web = f.workloads.iter().find(|w| w.kind == "Deployment").unwrap();
    assert!(web.restored_seconds.unwrap() < healed);
    let (d, s) = (
        workload(&r, "Deployment", "web"),
        workload(&r, "StatefulSet", "db"),
    );
    assert_eq!((d.ready, d.current, s.ready, s.current), (6, 6, 3, 3));
    assert!(r.services[0].endpoints_ready == 6);
}

#[test]
fn kill_pod_follows_restart_policy() {
    // A bare pod with restartPolicy Never fails for good; one with Always
    // restarts after the 10 s back-off and is whole again.
    let text = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: kill}
spec:
  seed: 1
  duration: 5m
  cluster:
    nodePools:
    - {name: worker, count: 1, allocatable: {cpu: "4", memory: 16Gi}}
  events:
  - {at: 1m, action: killPod, pod: once}
  - {at: 1m, action: killPod, pod: always}
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: always}
spec:
  containers: [{name: c, image: busybox}]
"#;
    let r = run_yaml("kill", text, checked());
    assert_eq!(r.pods.failed, 1);
    let once = r
        .recovery
        .iter()
        .find(|f| f.event.contains("once"))
        .unwrap();
    assert_eq!(once.restored_seconds, None);
    let always = r
        .recovery
        .iter()
        .find(|f| f.event.contains("always"))
        .unwrap();
    assert!(close(always.restored_seconds.unwrap(), 70.0), "{always:?}");
    assert_eq!(r.mean_time_to_recovery_seconds, Some(10.0));
}
