//! Worked examples from upstream's formulas, with the arithmetic in comments.

use std::collections::BTreeMap;

use super::*;
use crate::controllers::testutil::{self, meta};
use crate::model::labels::LabelSelector;

const MIN: Time = 60 * SECOND;

/// A Running pod started long ago (past the cpu initialisation period),
/// Ready since its start, requesting `request` millicores and using `usage`.
fn pod(request: i64, usage: Option<i64>) -> PodView<'static> {
    PodView {
        name: "p",
        phase: PodPhase::Running,
        deleting: false,
        ready: true,
        start: Some(0),
        ready_changed: Some(0),
        request_milli: request,
        usage_milli: usage,
    }
}

/// Long enough after the pods' start that none is initialising.
const LATER: Time = 20 * MIN;

fn replicas(pods: &[PodView], current: i32, target: i32) -> i32 {
    resource_replicas(pods, current, target, Tolerances::DEFAULT, LATER)
        .unwrap()
        .replicas
}

#[test]
fn four_pods_at_90_percent_of_a_50_percent_target_become_eight() {
    // utilisation = 4 × 900 × 100 / (4 × 1000) = 90; ratio = 90 / 50 = 1.8;
    // desired = ceil(4 × 1.8) = ceil(7.2) = 8.
    let pods = vec![pod(1000, Some(900)); 4];
    let r = resource_replicas(&pods, 4, 50, Tolerances::DEFAULT, LATER).unwrap();
    assert_eq!(
        r,
        Recommendation {
            replicas: 8,
            utilization: 90,
            raw_average_milli: 900
        }
    );
}

#[test]
fn within_the_tolerance_nothing_changes() {
    // 46 / 50 = 0.92 and 54 / 50 = 1.08 are within [0.9, 1.1]: stay at 10.
    assert_eq!(replicas(&vec![pod(1000, Some(460)); 10], 10, 50), 10);
    assert_eq!(replicas(&vec![pod(1000, Some(540)); 10], 10, 50), 10);
    // The bounds are inclusive: 45 / 50 = 0.9 exactly (in float64 too).
    assert_eq!(replicas(&vec![pod(1000, Some(450)); 10], 10, 50), 10);
    // 40 / 50 = 0.8: ceil(10 × 0.8) = 8.
    assert_eq!(replicas(&vec![pod(1000, Some(400)); 10], 10, 50), 8);
}

#[test]
fn utilisation_is_a_ratio_of_sums_in_integers() {
    // Σ usage 100 over Σ requests 300: 100 × 100 / 300 = 33 (truncated),
    // ratio 33 / 50 = 0.66, ceil(3 × 0.66) = ceil(1.98) = 2.
    let pods = [pod(100, Some(100)), pod(100, Some(0)), pod(100, Some(0))];
    let r = resource_replicas(&pods, 3, 50, Tolerances::DEFAULT, LATER).unwrap();
    assert_eq!(
        (r.replicas, r.utilization, r.raw_average_milli),
        (2, 33, 33)
    );
}

#[test]
fn missing_pods_count_as_full_on_a_scale_down() {
    // Three samples at 100m of 1000m: 300 × 100 / 3000 = 10 %, ratio 0.2.
    // The pod without a sample counts as 100 % of its request (max(100, 50)):
    // 1300 × 100 / 4000 = 32 %, ratio 0.64, ceil(0.64 × 4) = ceil(2.56) = 3
    // (not ceil(0.2 × 3) = 1).
    let mut pods = vec![pod(1000, Some(100)); 3];
    pods.push(pod(1000, None));
    assert_eq!(replicas(&pods, 4, 50), 3);
}

#[test]
fn missing_pods_count_as_idle_on_a_scale_up() {
    // Three samples at 900m: 90 %, ratio 1.8. The fourth counts as 0:
    // 2700 × 100 / 4000 = 67 %, ratio 1.34, ceil(1.34 × 4) = ceil(5.36) = 6.
    let mut pods = vec![pod(1000, Some(900)); 3];
    pods.push(pod(1000, None));
    assert_eq!(replicas(&pods, 4, 50), 6);
}

#[test]
fn unready_pods_hold_back_a_scale_up_that_they_would_absorb() {
    // Two Ready pods at 90 % (ratio 1.8) and two Pending ones counted as 0:
    // 1800 × 100 / 4000 = 45 %, ratio 0.9: within the tolerance, stay at 4.
    let mut pods = vec![pod(1000, Some(900)); 2];
    let pending = PodView {
        phase: PodPhase::Pending,
        start: None,
        usage_milli: None,
        ..pod(1000, None)
    };
    pods.extend([pending, pending]);
    assert_eq!(replicas(&pods, 4, 50), 4);
    // At 100 % the same recount gives 50 %, ratio 1.0 → still 4; at 150 %:
    // 3000 × 100 / 4000 = 75 %, ratio 1.5, ceil(1.5 × 4) = 6.
    let mut hot = vec![pod(1000, Some(1500)); 2];
    hot.extend([pending, pending]);
    assert_eq!(replicas(&hot, 4, 50), 6);
}

#[test]
fn a_change_of_direction_after_the_recount_keeps_the_current_size() {
    // Ready pod at 60 % of a 50 % target (ratio 1.2, scale up) but three
    // pods without samples count as 0: 600 × 100 / 4000 = 15 %, ratio 0.3
    // is a scale-down: keep 4.
    let mut pods = vec![pod(1000, Some(600))];
    pods.extend([pod(1000, None); 3]);
    assert_eq!(replicas(&pods, 4, 50), 4);
}

#[test]
fn terminating_and_failed_pods_are_ignored() {
    let mut pods = vec![pod(1000, Some(900)); 2];
    pods.push(PodView {
        deleting: true,
        ..pod(1000, Some(0))
    });
    pods.push(PodView {
        phase: PodPhase::Failed,
        ..pod(1000, None)
    });
    // Only the two Ready pods: 90 %, ceil(2 × 1.8) = 4.
    assert_eq!(replicas(&pods, 2, 50), 4);
}

#[test]
fn initialising_pods_follow_group_pods() {
    let at = |start: Time, ready: bool, changed: Time| PodView {
        start: Some(start),
        ready,
        ready_changed: Some(changed),
        ..pod(1000, Some(900))
    };
    let unready = |p: PodView, now: Time| {
        // Next to an idle Ready pod (100m of 1000m), the utilisation is
        // 100 × 100 / 1000 = 10 % when `p` is set aside as unready and
        // 1000 × 100 / 2000 = 50 % when its sample counts.
        let pods = [pod(1000, Some(100)), p];
        resource_replicas(&pods, 2, 50, Tolerances::DEFAULT, now)
            .unwrap()
            .utilization
            == 10
    };
    let now = 10 * MIN;
    // Started 1 min ago, Ready for 10 s: within the cpu initialisation
    // period and no whole 15 s sample window since Ready → unready.
    assert!(unready(at(now - MIN, true, now - 10 * SECOND), now));
    // Ready for 15 s: its sample counts.
    assert!(!unready(at(now - MIN, true, now - 15 * SECOND), now));
    // Started 9 min ago (past the 5 min period), never Ready (the condition
    // last changed at start, within the 30 s initial readiness delay) → unready.
    assert!(unready(at(now - 9 * MIN, false, now - 9 * MIN), now));
    // Ready at +1 min then not Ready: it was Ready once, its sample counts.
    assert!(!unready(at(now - 9 * MIN, false, now - 8 * MIN), now));
}

#[test]
fn no_samples_or_no_requests_are_errors() {
    let e = resource_replicas(&[], 1, 50, Tolerances::DEFAULT, LATER).unwrap_err();
    assert!(e.contains("no pods returned by selector"), "{e}");
    let e = resource_replicas(&[pod(1000, None)], 1, 50, Tolerances::DEFAULT, LATER);
    assert!(e.unwrap_err().contains("did not receive metrics"));
    let pods = [pod(1000, Some(900)), pod(0, Some(10))];
    let e = resource_replicas(&pods, 2, 50, Tolerances::DEFAULT, LATER);
    assert!(e.unwrap_err().contains("missing request for cpu"));
}

#[test]
fn configured_tolerances_apply_per_direction() {
    // 54 / 50 = 1.08: outside a scale-up tolerance of 5 %: ceil(10 × 1.08) = 11.
    let t = Tolerances {
        scale_down: 0.1,
        scale_up: 0.05,
    };
    let pods = vec![pod(1000, Some(540)); 10];
    let r = resource_replicas(&pods, 10, 50, t, LATER).unwrap();
    assert_eq!(r.replicas, 11);
}

#[test]
fn scale_down_is_held_by_the_stabilisation_window() {
    // Recommendations every 15 s: 10, then 3 from t = 15 s. The highest of
    // the last 300 s wins until the 10 (t = 0) is 300 s old.
    let mut recs = Vec::new();
    assert_eq!(stabilize(&mut recs, 0, 10), 10);
    for k in 1..20 {
        assert_eq!(
            stabilize(&mut recs, k * 15 * SECOND, 3),
            10,
            "t = {}",
            k * 15
        );
    }
    assert_eq!(stabilize(&mut recs, 300 * SECOND, 3), 3);
    // Old samples are forgotten: 20 recommendations of 3 remain.
    assert_eq!(recs.len(), 20);
}

#[test]
fn legacy_limits_scale_up_to_double_or_four() {
    // max(2 × 2, 4) = 4; max(2 × 5, 4) = 10; max is 8 here: TooManyReplicas.
    assert_eq!(convert_with_rules(2, 20, 1, 100).0, 4);
    assert_eq!(convert_with_rules(5, 20, 1, 100).0, 10);
    assert_eq!(
        convert_with_rules(5, 20, 1, 8),
        (
            8,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count"
        )
    );
    assert_eq!(convert_with_rules(5, 0, 2, 8).0, 2);
}

fn rules(window: Option<i32>, policies: &[(HpaPolicyType, i32, i32)]) -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: window,
        select_policy: SelectPolicy::Max,
        policies: policies
            .iter()
            .map(|&(policy_type, value, period_seconds)| HpaScalingPolicy {
                policy_type,
                value,
                period_seconds,
            })
            .collect(),
        tolerance: None,
    }
}

/// The defaults `GenerateHPAScaleUpRules`/`GenerateHPAScaleDownRules` give.
fn default_behavior() -> HpaBehavior {
    HpaBehavior {
        scale_up: rules(
            Some(0),
            &[
                (HpaPolicyType::Pods, 4, 15),
                (HpaPolicyType::Percent, 100, 15),
            ],
        ),
        scale_down: rules(None, &[(HpaPolicyType::Percent, 100, 15)]),
    }
}

/// Stabilise and limit one recommendation as a sync would.
fn step(mem: &mut Memory, b: &HpaBehavior, now: Time, current: i32, desired: i32) -> i32 {
    let args = Normalization {
        behavior: Some(b),
        min: 1,
        max: 100,
        current,
        desired,
    };
    let d = normalize(mem, &mut HpaStatus::default(), &args, now);
    if d != current {
        store_scale_event(mem, Some(b), now, current, d);
    }
    d
}

#[test]
fn default_behavior_scales_up_by_max_of_four_pods_and_100_percent() {
    let b = default_behavior();
    let mut mem = Memory::default();
    // From 2: max(2 + 4, ceil(2 × 2)) = 6.
    assert_eq!(step(&mut mem, &b, 0, 2, 20), 6);
    // 15 s later the first event is out of the 15 s period: max(6 + 4, 12) = 12.
    assert_eq!(step(&mut mem, &b, 15 * SECOND, 6, 20), 12);
    assert_eq!(step(&mut mem, &b, 30 * SECOND, 12, 20), 20);
}

#[test]
fn scale_down_policies_limit_each_step() {
    // scaleDown: 0 s window, at most 2 pods per 60 s.
    let b = HpaBehavior {
        scale_down: rules(Some(0), &[(HpaPolicyType::Pods, 2, 60)]),
        ..default_behavior()
    };
    let mut mem = Memory::default();
    assert_eq!(step(&mut mem, &b, 0, 10, 3), 8);
    // Within the period the replicas at its start were 8 + 2 = 10: 10 − 2 = 8.
    for t in [15, 30, 45] {
        assert_eq!(step(&mut mem, &b, t * SECOND, 8, 3), 8, "t = {t}");
    }
    assert_eq!(step(&mut mem, &b, 60 * SECOND, 8, 3), 6);
    assert_eq!(step(&mut mem, &b, 120 * SECOND, 6, 3), 4);
    assert_eq!(step(&mut mem, &b, 180 * SECOND, 4, 3), 3);
}

#[test]
fn percent_scale_down_truncates_and_select_policy_picks() {
    // 10 × (1 − 15 / 100) = 8.5 → 8 (int32 conversion truncates).
    let percent = rules(Some(0), &[(HpaPolicyType::Percent, 15, 60)]);
    assert_eq!(scale_limit(10, &[], &[], &percent, 0, false), 8);
    // Pods 1 and Percent 50 from 10: Max allows the larger change (5),
    // Min the smaller (9), Disabled none.
    let mut both = rules(
        Some(0),
        &[
            (HpaPolicyType::Pods, 1, 60),
            (HpaPolicyType::Percent, 50, 60),
        ],
    );
    assert_eq!(scale_limit(10, &[], &[], &both, 0, false), 5);
    both.select_policy = SelectPolicy::Min;
    assert_eq!(scale_limit(10, &[], &[], &both, 0, false), 9);
    both.select_policy = SelectPolicy::Disabled;
    assert_eq!(scale_limit(10, &[], &[], &both, 0, false), 10);
    // Scale up by Percent 50 from 3: ceil(3 × 1.5) = ceil(4.5) = 5.
    let up = rules(Some(0), &[(HpaPolicyType::Percent, 50, 60)]);
    assert_eq!(scale_limit(3, &[], &[], &up, 0, true), 5);
}

#[test]
fn behavior_stabilisation_bounds_both_ways() {
    // scaleUp window 60 s: a scale-up takes the lowest recommendation of the
    // last minute; the default scale-down window (300 s) the highest.
    let b = HpaBehavior {
        scale_up: rules(Some(60), &[(HpaPolicyType::Pods, 100, 15)]),
        ..default_behavior()
    };
    let mut mem = Memory::default();
    assert_eq!(step(&mut mem, &b, 0, 4, 4), 4);
    // Wants 9 at 15 s and 30 s, but 4 was recommended less than 60 s ago.
    assert_eq!(step(&mut mem, &b, 15 * SECOND, 4, 9), 4);
    assert_eq!(step(&mut mem, &b, 45 * SECOND, 4, 9), 4);
    // At 60 s the 4 (t = 0) is a whole window old: 9.
    assert_eq!(step(&mut mem, &b, 60 * SECOND, 4, 9), 9);
    // Down to 2 at once? No: 9 was recommended in the last 300 s.
    assert_eq!(step(&mut mem, &b, 75 * SECOND, 9, 2), 9);
}

/// A CPU source from a map (nanocores per pod).
struct Fixed(BTreeMap<PodId, i64>);

impl CpuSource for Fixed {
    fn cpu_nanos(&self, _: &World, pod: PodId) -> Option<i64> {
        self.0.get(&pod).copied()
    }
}

/// A Deployment `web` of `replicas` Running, Ready pods (500m each, started
/// at 0) and an HPA on it (cpu 50 %, 1–10).
fn world_with_hpa(replicas: i32) -> (World, Vec<PodId>) {
    let mut w = testutil::test_world();
    let spec = w.add_spec(PodSpec {
        labels: testutil::labels(&[("app", "web")]),
        requests: Resources {
            milli_cpu: 500,
            pods: 1,
            ..Default::default()
        },
        ..Default::default()
    });
    w.deployments.push(Deployment {
        meta: meta("web", &[]),
        replicas,
        selector: LabelSelector::from_map(&testutil::labels(&[("app", "web")])),
        spec,
        strategy: DeploymentStrategy::Recreate,
        min_ready_seconds: 0,
        revision_history_limit: 10,
        paused: false,
        replicasets: Vec::new(),
        deleted: false,
    });
    let pods = (0..replicas)
        .map(|i| {
            let p = w.create_pod(Pod::new(format!("web-{i}"), "default", spec, None), 0);
            testutil::start(&mut w, p, None, 0);
            w.pods[p.idx()].started_at = Some(0);
            p
        })
        .collect();
    w.hpas.push(Hpa {
        meta: meta("web", &[]),
        target_api_version: "apps/v1".into(),
        target_kind: "Deployment".into(),
        target_name: "web".into(),
        target: Some(ScaleTarget::Deployment(DeploymentId(0))),
        min_replicas: 1,
        max_replicas: 10,
        target_cpu_utilization: Some(50),
        unsimulated_metrics: Vec::new(),
        behavior: None,
        status: HpaStatus::default(),
    });
    w.changes.clear();
    (w, pods)
}

#[test]
fn sync_scales_the_deployment_and_writes_status() {
    // Two pods at 450m of 500m: 90 %, ceil(2 × 1.8) = 4 (the legacy limit
    // max(2 × 2, 4) = 4 allows it).
    let (mut w, pods) = world_with_hpa(2);
    let cpu = Fixed(pods.iter().map(|&p| (p, 450_000_000)).collect());
    let mut c = HpaController::new(&w, KubeVersion::DEFAULT);
    let now = 10 * MIN;
    let woken = c.sync(&mut w, HpaId(0), &cpu, now);
    assert_eq!(woken, Some(ControllerRef::Deployment(DeploymentId(0))));
    assert_eq!(w.deployments[0].replicas, 4);
    let s = &w.hpas[0].status;
    assert_eq!(
        (
            s.current_replicas,
            s.desired_replicas,
            s.current_cpu_utilization
        ),
        (2, 4, Some(90))
    );
    assert_eq!(s.last_scale_time, Some(now));
    assert_eq!(c.log.len(), 1);
    assert_eq!(
        c.log[0].reason,
        "cpu resource utilization (percentage of request) above target"
    );
    // Idle now: the recommendation drops to 1, but 4 (t = 10 min) stays in
    // the window for 300 s.
    let idle = Fixed(pods.iter().map(|&p| (p, 0)).collect());
    let after = |s: Time| now + s * SECOND;
    assert_eq!(c.sync(&mut w, HpaId(0), &idle, after(15)), None);
    assert_eq!(w.deployments[0].replicas, 4);
    assert!(!c.settled(), "a scale-down is pending");
    assert_eq!(w.hpas[0].status.conditions[0].reason, "ScaleDownStabilized");
    assert_eq!(c.sync(&mut w, HpaId(0), &idle, after(285)), None);
    assert!(c.sync(&mut w, HpaId(0), &idle, after(300)).is_some());
    assert_eq!(w.deployments[0].replicas, 1);
}

#[test]
fn sync_without_a_target_or_cpu_model_does_not_scale() {
    let (mut w, _) = world_with_hpa(2);
    let mut c = HpaController::new(&w, KubeVersion::DEFAULT);
    // No CPU model for any pod: the metric fails, <unknown>, a hint.
    assert_eq!(
        c.sync(&mut w, HpaId(0), &Fixed(BTreeMap::new()), 10 * MIN),
        None
    );
    let s = &w.hpas[0].status;
    assert_eq!(s.current_cpu_utilization, None);
    let active = &s.conditions[1];
    assert_eq!(
        (active.status, active.reason),
        (false, "FailedGetResourceMetric")
    );
    assert!(
        active.message.contains("no CPU model"),
        "{}",
        active.message
    );
    assert!(c.settled());
    // No target: AbleToScale False.
    w.hpas[0].target = None;
    assert_eq!(
        c.sync(&mut w, HpaId(0), &Fixed(BTreeMap::new()), 11 * MIN),
        None
    );
    let able = &w.hpas[0].status.conditions[0];
    assert_eq!((able.status, able.reason), (false, "FailedGetScale"));
    assert_eq!(w.deployments[0].replicas, 2);
}

#[test]
fn bounds_apply_before_metrics_and_zero_replicas_disables_scaling() {
    let (mut w, pods) = world_with_hpa(2);
    let cpu = Fixed(pods.iter().map(|&p| (p, 250_000_000)).collect());
    let mut c = HpaController::new(&w, KubeVersion::DEFAULT);
    w.hpas[0].min_replicas = 3;
    c.sync(&mut w, HpaId(0), &cpu, 10 * MIN);
    assert_eq!(w.deployments[0].replicas, 3);
    assert_eq!(
        c.log[0].reason,
        "Current number of replicas below Spec.MinReplicas"
    );
    w.deployments[0].replicas = 0;
    assert_eq!(c.sync(&mut w, HpaId(0), &cpu, 11 * MIN), None);
    assert_eq!(w.hpas[0].status.conditions[1].reason, "ScalingDisabled");
}

#[test]
fn behavior_tolerance_needs_v1_35() {
    // 54 % of 50 %: ratio 1.08. With scaleUp tolerance 0.05 (honoured from
    // v1.35) ceil(2 × 1.08) = 3; on v1.34 the 10 % default keeps 2.
    for (minor, want) in [(34, 2), (35, 3)] {
        let (mut w, pods) = world_with_hpa(2);
        let mut b = default_behavior();
        b.scale_up.tolerance = Some(0.05);
        w.hpas[0].behavior = Some(b);
        let cpu = Fixed(pods.iter().map(|&p| (p, 270_000_000)).collect());
        let mut c = HpaController::new(&w, KubeVersion { major: 1, minor });
        c.sync(&mut w, HpaId(0), &cpu, 10 * MIN);
        assert_eq!(w.deployments[0].replicas, want, "v1.{minor}");
    }
}

#[test]
fn samples_need_a_running_container_for_one_window_and_a_reachable_node() {
    let (mut w, pods) = world_with_hpa(1);
    let cpu = Fixed(BTreeMap::from([(pods[0], 1_500_001)]));
    // Rounded up to millicores, as Quantity.MilliValue: 1.500001m → 2m.
    assert_eq!(sample(&w, pods[0], &cpu, MIN), Some(2));
    w.pods[pods[0].idx()].started_at = Some(MIN - 14 * SECOND);
    assert_eq!(sample(&w, pods[0], &cpu, MIN), None);
    w.pods[pods[0].idx()].started_at = Some(0);
    let n = w.pods[pods[0].idx()].node.unwrap();
    w.nodes[n.idx()].reachable = false;
    assert_eq!(sample(&w, pods[0], &cpu, MIN), None);
}
