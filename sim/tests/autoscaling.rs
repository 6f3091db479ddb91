//! The HorizontalPodAutoscaler end to end on `scenarios/autoscaling.yaml`:
//! scale-up soon after traffic rises, scale-down only after the 5-minute
//! stabilisation window and at the policy's pace, and decisions that do not
//! depend on the traffic model or on `--until-stable`.

use super::*;
use kubesim::metrics::{HpaReport, Report};
use kubesim::run::RunOptions;
use kubesim::scenario::TrafficModel;

fn run(opts: RunOptions) -> Report {
    let path = repo().join("scenarios/autoscaling.yaml");
    let s = kubesim::scenario::load(&path).unwrap();
    kubesim::run::run(&s, &opts).unwrap()
}

fn web(r: &Report) -> &HpaReport {
    r.hpas.iter().find(|h| h.name == "web").expect("hpa/web")
}

#[test]
fn scales_up_with_traffic_and_down_after_the_stabilisation_window() {
    let r = run(RunOptions {
        check_invariants: true,
        ..Default::default()
    });
    let h = web(&r);
    let ev: Vec<(f64, i64, i64)> = h
        .scale_events
        .iter()
        .map(|e| (e.at_seconds, e.from, e.to))
        .collect();
    // Traffic 40/s → 240/s at 300 s: 2 pods at 60/s (capacity) × 10m =
    // 600m = 120 % of 500m, ratio 2.4, ceil(2 × 2.4) = 5 at the 300 s sync
    // (behavior default: max(2 + 4, 2 × 2) = 6 allowed). At 330 s the five
    // serve 48/s = 96 %: ceil(5 × 1.92) = 10 = maxReplicas.
    assert_eq!(&ev[..2], &[(300.0, 2, 5), (330.0, 5, 10)], "{ev:?}");
    // Traffic 240/s → 60/s at 900 s: the recommendation is 3 from then on,
    // but 10 stays in the 300 s window until the 885 s sample is 300 s old.
    let downs: Vec<&(f64, i64, i64)> = ev.iter().filter(|e| e.2 < e.1).collect();
    assert_eq!(downs[0].0, 1185.0);
    // Then at most 2 pods per 60 s (spec.behavior.scaleDown).
    for w in downs.windows(2) {
        assert!(w[1].0 - w[0].0 >= 60.0 && w[0].1 - w[0].2 <= 2, "{ev:?}");
    }
    assert_eq!(downs.last().unwrap().2, 3);
    assert_eq!(
        (h.current_replicas, h.current_cpu_utilization),
        (3, Some(40))
    );
    let d = r.workloads.iter().find(|w| w.kind == "Deployment").unwrap();
    assert_eq!((d.desired, d.ready), (3, 3));
    // The time series follows the target's spec.replicas.
    assert_eq!(r.series.hpas, vec!["default/web".to_string()]);
    let at = |t: f64| {
        r.timeseries
            .iter()
            .rfind(|s| s.t <= t)
            .map(|s| s.hpa_replicas[0])
            .unwrap()
    };
    assert_eq!(
        (at(299.0), at(400.0), at(1180.0), at(1790.0)),
        (2, 10, 10, 3)
    );
}

#[test]
fn decisions_do_not_depend_on_the_traffic_model() {
    let fluid = run(RunOptions::default());
    let requests = run(RunOptions {
        traffic_model: Some(TrafficModel::Requests),
        ..Default::default()
    });
    assert_eq!(web(&fluid).scale_events, web(&requests).scale_events);
}

#[test]
fn until_stable_waits_for_a_pending_scale_down() {
    // Nothing but periodic work is left after the last pod change around
    // 330 s… except the HPA's held scale-down, which must still happen.
    let r = run(RunOptions {
        until_stable: true,
        ..Default::default()
    });
    assert_eq!(web(&r).scale_events.last().map(|e| e.to), Some(3));
}
