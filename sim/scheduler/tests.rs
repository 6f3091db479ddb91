//! Whole-cycle tests: worked examples from upstream's formulas, FitError
//! messages, preemption, and properties (a bound pod passes every filter;
//! explain agrees with the decision).

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::engine::SECOND;
use crate::model::labels::{LabelSelector, Labels};
use crate::model::taints::{Taint, TaintEffect};
use crate::model::{
    InclusionPolicy, Node, Pod, PodAffinityTerm, PodSpec, Resources, TopologySpreadConstraint,
    UnsatisfiableAction,
};

const GI: i64 = 1024 * 1024 * 1024;
const MI: i64 = 1024 * 1024;

pub(crate) fn node(name: &str, milli_cpu: i64, memory: i64) -> Node {
    let mut labels = Labels::new();
    labels.insert(crate::model::HOSTNAME_LABEL.into(), name.into());
    Node {
        name: name.into(),
        labels,
        taints: Vec::new(),
        unschedulable: false,
        allocatable: Resources {
            milli_cpu,
            memory,
            ephemeral_storage: 0,
            pods: 110,
            scalar: Vec::new(),
        },
        requested: Resources::default(),
        nonzero_requested: (0, 0),
        pods: Vec::new(),
        images: Vec::new(),
        pool: None,
        startup_latency: 0,
        up: true,
        reachable: true,
        ready: true,
        deleted: false,
    }
}

pub(crate) fn spec(milli_cpu: i64, memory: i64) -> PodSpec {
    let mut s = PodSpec::default();
    s.requests.milli_cpu = milli_cpu;
    s.requests.memory = memory;
    // One container; the non-zero defaults apply to a missing request.
    s.nonzero_milli_cpu = if milli_cpu == 0 { 100 } else { milli_cpu };
    s.nonzero_memory = if memory == 0 { 200 * MI } else { memory };
    s
}

pub(crate) fn pod(w: &mut World, name: &str, s: PodSpec) -> PodId {
    let sid = w.add_spec(s);
    w.create_pod(Pod::new(name.into(), "default", sid, None), 0)
}

pub(crate) fn bound(w: &mut World, name: &str, s: PodSpec, n: NodeId) -> PodId {
    let p = pod(w, name, s);
    w.bind(p, n, 0);
    p
}

/// The profiles of a KubeSchedulerConfiguration written inline.
pub(crate) fn config_profiles(yaml: &str) -> Vec<Profile> {
    let docs = crate::scenario::yaml::parse_bytes("s.yaml", yaml.as_bytes()).unwrap();
    config::parse(&docs[0], "s.yaml", &Registry::new())
        .unwrap()
        .profiles
}

fn sched(name: &str, version: KubeVersion) -> Scheduler {
    Scheduler::new(name, Path::new("."), version, 1).unwrap()
}

fn v(minor: u32) -> KubeVersion {
    KubeVersion { major: 1, minor }
}

/// Feed the World's pending changes to the scheduler.
fn sync(s: &mut Scheduler, w: &mut World, now: Time) {
    for c in std::mem::take(&mut w.changes) {
        s.on_change(w, c, now);
    }
}

fn schedule(s: &mut Scheduler, w: &mut World, p: PodId) -> Outcome {
    sync(s, w, 0);
    s.schedule_one(w, p, 0)
}

#[test]
fn least_allocated_picks_the_emptier_node() {
    let mut w = World::default();
    let a = w.add_node(node("a", 4000, 8 * GI));
    let b = w.add_node(node("b", 4000, 8 * GI));
    bound(&mut w, "x", spec(2000, 4 * GI), a);
    let p = pod(&mut w, "p", spec(1000, GI));
    let mut s = sched("default", KubeVersion::DEFAULT);
    // a: cpu (4000-3000)*100/4000 = 25, mem (8-5)*100/8 = 37 → (25+37)/2 = 31.
    // b: cpu 75, mem (8-1)*100/8 = 87 → 81. b wins under LeastAllocated.
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p, 0);
    let nb = e.nodes.iter().find(|n| n.node == "b").unwrap();
    assert_eq!(nb.scores["NodeResourcesFit"].raw, 81);
    let na = e.nodes.iter().find(|n| n.node == "a").unwrap();
    assert_eq!(na.scores["NodeResourcesFit"].raw, 31);
    assert_eq!(s.schedule_one(&w, p, 0), Outcome::Bind(b));
}

#[test]
fn binpack_picks_the_fuller_node() {
    let mut w = World::default();
    let a = w.add_node(node("a", 4000, 8 * GI));
    w.add_node(node("b", 4000, 8 * GI));
    bound(&mut w, "x", spec(2000, 4 * GI), a);
    let p = pod(&mut w, "p", spec(1000, GI));
    let mut s = sched("binpack", KubeVersion::DEFAULT);
    assert_eq!(schedule(&mut s, &mut w, p), Outcome::Bind(a));
}

#[test]
fn pods_without_requests_score_with_non_zero_defaults() {
    let mut w = World::default();
    let a = w.add_node(node("a", 1000, 1000 * MI));
    w.add_node(node("b", 2000, 2000 * MI));
    let p = pod(&mut w, "p", spec(0, 0));
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p, 0);
    let score =
        |n: &str, plugin: &str| e.nodes.iter().find(|x| x.node == n).unwrap().scores[plugin].raw;
    // a: cpu (1000-100)*100/1000 = 90; mem (1000-200)*100/1000 = 80 → 85.
    // b: cpu 95; mem 90 → 92.
    assert_eq!(score("a", "NodeResourcesFit"), 85);
    assert_eq!(score("b", "NodeResourcesFit"), 92);
    // BalancedAllocation skips a best-effort pod from v1.33: 0 everywhere.
    assert_eq!(score("a", "NodeResourcesBalancedAllocation"), 0);
    assert!(
        e.skipped_score_plugins
            .contains(&"NodeResourcesBalancedAllocation".into())
    );
    let _ = a;
}

#[test]
fn fit_error_message_and_preemption_suffix() {
    let mut w = World::default();
    for n in ["a", "b", "c"] {
        let id = w.add_node(node(n, 1000, 8 * GI));
        bound(&mut w, &format!("x-{n}"), spec(800, GI), id);
    }
    let p = pod(&mut w, "p", spec(500, GI));
    let mut s = sched("default", v(33));
    match schedule(&mut s, &mut w, p) {
        Outcome::Unschedulable {
            message,
            preemption,
        } => {
            assert_eq!(
                message,
                "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
            );
            assert_eq!(preemption, None);
        }
        o => panic!("{o:?}"),
    }
    // From v1.34 DynamicResources' PostFilter speaks first.
    let mut s = sched("default", v(35));
    sync(&mut s, &mut w, 0);
    match s.schedule_one(&w, p, 0) {
        Outcome::Unschedulable { message, .. } => assert_eq!(
            message,
            "0/3 nodes are available: 3 Insufficient cpu. no new claims to deallocate, preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
        ),
        o => panic!("{o:?}"),
    }
}

#[test]
fn taint_reason_depends_on_version() {
    let mut w = World::default();
    let mut n = node("gpu-0", 4000, 8 * GI);
    n.taints.push(Taint {
        key: "dedicated".into(),
        value: "gpu".into(),
        effect: TaintEffect::NoSchedule,
    });
    w.add_node(n);
    w.add_node(node("small", 100, GI));
    let p = pod(&mut w, "p", spec(500, GI));
    let msg = |version| {
        let mut s = sched("default", version);
        match s.schedule_one(&w, p, 0) {
            Outcome::Unschedulable { message, .. } => message,
            o => panic!("{o:?}"),
        }
    };
    // 500m > 100m allocatable: unresolvable from v1.34 → preemption not helpful anywhere.
    assert_eq!(
        msg(v(34)),
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    );
    assert_eq!(
        msg(v(37)),
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    );
    // Before v1.34 an oversized request is only Unschedulable: preemption looks, finds no victims.
    assert_eq!(
        msg(v(33)),
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.."
    );
}

#[test]
fn node_name_affinity_restricts_filtering_to_that_node() {
    use crate::model::labels::{NodeSelector, NodeSelectorTerm, Operator, Requirement};
    // A DaemonSet pod: required affinity matchFields metadata.name In [b].
    let mut w = World::default();
    w.add_node(node("a", 4000, 8 * GI));
    let b = w.add_node(node("b", 1000, 8 * GI));
    w.add_node(node("c", 4000, 8 * GI));
    let mut ds = spec(2000, GI);
    ds.required_node_affinity = Some(NodeSelector {
        terms: vec![NodeSelectorTerm {
            match_expressions: Vec::new(),
            match_fields: vec![Requirement {
                key: "metadata.name".into(),
                op: Operator::In,
                values: vec!["b".into()],
            }],
        }],
    });
    let p = pod(&mut w, "ds", ds.clone());
    let mut s = sched("default", v(33));
    match schedule(&mut s, &mut w, p) {
        Outcome::Unschedulable { message, .. } => assert_eq!(
            message,
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.."
        ),
        o => panic!("{o:?}"),
    }
    ds.requests.milli_cpu = 500;
    let q = pod(&mut w, "ds2", ds);
    sync(&mut s, &mut w, 0);
    assert_eq!(s.schedule_one(&w, q, 0), Outcome::Bind(b));
}

#[test]
fn preemption_evicts_the_lowest_priority_pods() {
    let mut w = World::default();
    let a = w.add_node(node("a", 2000, 8 * GI));
    let b = w.add_node(node("b", 2000, 8 * GI));
    let mut low = spec(1000, GI);
    low.priority = 10;
    let mut lower = spec(1000, GI);
    lower.priority = 1;
    let mut mid = spec(1000, GI);
    mid.priority = 50;
    bound(&mut w, "a1", low.clone(), a);
    bound(&mut w, "a2", mid.clone(), a);
    let b1 = bound(&mut w, "b1", lower.clone(), b);
    bound(&mut w, "b2", mid, b);
    let mut high = spec(1000, GI);
    high.priority = 100;
    let p = pod(&mut w, "p", high);
    let mut s = sched("default", KubeVersion::DEFAULT);
    match schedule(&mut s, &mut w, p) {
        Outcome::Unschedulable { preemption, .. } => {
            // Both nodes need one victim; b's highest victim priority (1) < a's (10).
            assert_eq!(
                preemption,
                Some(Preemption {
                    node: b,
                    victims: vec![b1]
                })
            );
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn preemption_policy_never_is_not_eligible() {
    let mut w = World::default();
    let a = w.add_node(node("a", 1000, 8 * GI));
    bound(&mut w, "x", spec(1000, GI), a);
    let mut s2 = spec(500, GI);
    s2.priority = 100;
    s2.preemption_policy = crate::model::PreemptionPolicy::Never;
    let p = pod(&mut w, "p", s2);
    let mut s = sched("default", v(33));
    match schedule(&mut s, &mut w, p) {
        Outcome::Unschedulable {
            message,
            preemption,
        } => {
            assert_eq!(preemption, None);
            assert_eq!(
                message,
                "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.."
            );
        }
        o => panic!("{o:?}"),
    }
}

fn spread(key: &str, skew: i32, app: &str) -> TopologySpreadConstraint {
    let mut l = Labels::new();
    l.insert("app".into(), app.into());
    TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.into(),
        when_unsatisfiable: UnsatisfiableAction::DoNotSchedule,
        selector: Some(LabelSelector::from_map(&l)),
        min_domains: None,
        node_affinity_policy: InclusionPolicy::Honor,
        node_taints_policy: InclusionPolicy::Ignore,
        match_label_keys: Vec::new(),
    }
}

fn with_app(mut s: PodSpec, app: &str) -> PodSpec {
    s.labels.insert("app".into(), app.into());
    s
}

fn zoned(name: &str, zone: &str) -> Node {
    let mut n = node(name, 8000, 32 * GI);
    n.labels
        .insert(crate::model::ZONE_LABEL.into(), zone.into());
    n
}

#[test]
fn topology_spread_filter_respects_max_skew() {
    let mut w = World::default();
    let a = w.add_node(zoned("a", "z1"));
    let b = w.add_node(zoned("b", "z2"));
    // z1 has 2 matching pods, z2 has 0.
    bound(&mut w, "w1", with_app(spec(100, MI), "web"), a);
    bound(&mut w, "w2", with_app(spec(100, MI), "web"), a);
    let mut ps = with_app(spec(100, MI), "web");
    ps.topology_spread = vec![spread(crate::model::ZONE_LABEL, 1, "web")];
    let p = pod(&mut w, "p", ps);
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p, 0);
    // z1: 2 + 1 (self) - 0 (min) = 3 > 1 → rejected; z2: 0 + 1 - 0 = 1 ≤ 1.
    let na = e.nodes.iter().find(|n| n.node == "a").unwrap();
    assert_eq!(
        na.reasons,
        vec!["node(s) didn't match pod topology spread constraints".to_string()]
    );
    assert_eq!(s.schedule_one(&w, p, 0), Outcome::Bind(b));
}

/// A ClusterIP Service in `default` selecting `app=APP`.
fn service(name: &str, app: &str) -> crate::model::Service {
    let mut sel = Labels::new();
    sel.insert("app".into(), app.into());
    crate::model::Service {
        meta: crate::model::Meta {
            name: name.into(),
            namespace: "default".into(),
            labels: Labels::new(),
        },
        selector: Some(sel),
        service_type: "ClusterIP".into(),
        ports: Vec::new(),
        publish_not_ready: false,
        endpoints: Vec::new(),
        not_ready_endpoints: Vec::new(),
        terminating_endpoints: Vec::new(),
    }
}

/// Two `app=web` pods bound to `a`, a Service selecting them, and a third
/// web pod's PodTopologySpread score details on each node (the default
/// profile's `explain`).
fn web_pod_spread_scores(
    w: &mut World,
    a: NodeId,
) -> impl Fn(&str) -> crate::scheduler::explain::ScoreDetail {
    bound(w, "w1", with_app(spec(100, MI), "web"), a);
    bound(w, "w2", with_app(spec(100, MI), "web"), a);
    w.services.push(service("web", "web"));
    let p = pod(w, "p", with_app(spec(100, MI), "web"));
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, w, 0);
    let e = s.explain(w, p, 0);
    move |n: &str| e.nodes.iter().find(|x| x.node == n).unwrap().scores["PodTopologySpread"].clone()
}

#[test]
fn topology_spread_score_system_defaults_from_service() {
    // Score: round(cnt × ln(size + 2) + maxSkew − 1) per constraint.
    // 2 hostname domains: weight ln(4) = 1.386. Node a has 2 matching pods:
    // 2×1.386 + 2 = 4.77; zone z1 (1 domain: ln 3 = 1.0986), 2 pods: 2.197 + 4.
    // Both nodes are in z1, so the zone term is equal: a = round(4.77+6.197) = 11,
    // b = round(0 + 2 + 6.197) = 8. Normalised: 100*(11+8-s)/11: a 72, b 100.
    let mut w = World::default();
    let a = w.add_node(zoned("a", "z1"));
    w.add_node(zoned("b", "z1"));
    let sc = web_pod_spread_scores(&mut w, a);
    assert_eq!(sc("a").raw, 11);
    assert_eq!(sc("b").raw, 8);
    assert_eq!(sc("a").normalized, 72);
    assert_eq!(sc("b").normalized, 100);
    assert_eq!(sc("b").weighted, 200);
}

#[test]
fn topology_spread_system_defaults_count_a_zoneless_node_as_the_empty_zone() {
    // Upstream's initPreScoreState reads a missing zone label as "", so with
    // a zoneless feasible node the zone constraint has 2 domains (z1, ""):
    // weight ln(4) = 1.3863, not ln(3). Hostname: 3 nodes, ln(5) = 1.6094.
    // a (z1, 2 pods): 2×1.6094 + 2 + 2×1.3863 + 4 = 11.99 → 12;
    // b (z1): 2 + 6.77 = 8.77 → 9; c (no zone): hostname only, 2.
    // Normalised 100×(12+2−s)/12: a 16, b 41, c 100.
    let mut w = World::default();
    let a = w.add_node(zoned("a", "z1"));
    w.add_node(zoned("b", "z1"));
    w.add_node(node("c", 8000, 32 * GI));
    let sc = web_pod_spread_scores(&mut w, a);
    assert_eq!((sc("a").raw, sc("b").raw, sc("c").raw), (12, 9, 2));
    assert_eq!(
        (sc("a").normalized, sc("b").normalized, sc("c").normalized),
        (16, 41, 100)
    );
}

fn term(app: &str, key: &str) -> PodAffinityTerm {
    let mut l = Labels::new();
    l.insert("app".into(), app.into());
    PodAffinityTerm {
        selector: Some(LabelSelector::from_map(&l)),
        namespaces: Vec::new(),
        namespace_selector: None,
        topology_key: key.into(),
    }
}

#[test]
fn anti_affinity_both_ways() {
    let mut w = World::default();
    let a = w.add_node(zoned("a", "z1"));
    let b = w.add_node(zoned("b", "z1"));
    let c = w.add_node(zoned("c", "z2"));
    // An existing db pod on a refuses web pods in its zone (z1).
    let mut db = with_app(spec(100, MI), "db");
    db.pod_anti_affinity.required = vec![term("web", crate::model::ZONE_LABEL)];
    bound(&mut w, "db", db, a);
    let p = pod(&mut w, "p", with_app(spec(100, MI), "web"));
    let mut s = sched("default", KubeVersion::DEFAULT);
    assert_eq!(schedule(&mut s, &mut w, p), Outcome::Bind(c));
    // A cache pod that refuses db pods on the same host: only a is excluded.
    let mut cache = with_app(spec(100, MI), "cache");
    cache.pod_anti_affinity.required = vec![term("db", crate::model::HOSTNAME_LABEL)];
    let q = pod(&mut w, "q", cache);
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, q, 0);
    let na = e.nodes.iter().find(|n| n.node == "a").unwrap();
    assert_eq!(
        na.reasons,
        vec!["node(s) didn't match pod anti-affinity rules".to_string()]
    );
    assert!(e.nodes.iter().find(|n| n.node == "b").unwrap().feasible);
    let _ = b;
}

#[test]
fn rtcr_and_extended_resources() {
    let mut w = World::default();
    let gpu = w.scalar_id("nvidia.com/gpu");
    let mut a = node("a", 4000, 8 * GI);
    a.allocatable.set_scalar(gpu, 4);
    let a = w.add_node(a);
    let b = w.add_node(node("b", 4000, 8 * GI));
    let mut ps = spec(1000, 2 * GI);
    ps.requests.set_scalar(gpu, 5);
    let p = pod(&mut w, "p", ps.clone());
    let mut s = sched("rtcr-binpack", v(33));
    match schedule(&mut s, &mut w, p) {
        Outcome::Unschedulable { message, .. } => assert!(
            message.starts_with("0/2 nodes are available: 2 Insufficient nvidia.com/gpu."),
            "{message}"
        ),
        o => panic!("{o:?}"),
    }
    // RTCR with shape (0,0)-(100,10) ×10: cpu 25% → 25, memory 25% → 25 → round(50/2) = 25.
    let p2 = pod(&mut w, "p2", spec(1000, 2 * GI));
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p2, 0);
    assert_eq!(
        e.nodes.iter().find(|x| x.node == "a").unwrap().scores["NodeResourcesFit"].raw,
        25
    );
    let _ = (a, b);
}

#[test]
fn queue_retries_after_node_added() {
    let mut w = World::default();
    w.add_node(node("a", 1000, GI));
    let p = pod(&mut w, "p", spec(2000, MI));
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    assert_eq!(s.pop(&w, 0), Some(p));
    assert!(matches!(
        s.schedule_one(&w, p, 0),
        Outcome::Unschedulable { .. }
    ));
    // Unschedulable, no event: the 5-minute leftover flush at the 330 s tick.
    assert_eq!(s.next_wakeup(SECOND), Some(330 * SECOND));
    let b = w.add_node(node("b", 4000, GI));
    sync(&mut s, &mut w, 2 * SECOND);
    // Pop from backoffQ when activeQ is empty (v1.33+): at once.
    assert_eq!(s.next_wakeup(2 * SECOND), Some(2 * SECOND));
    assert_eq!(s.pop(&w, 2 * SECOND), Some(p));
    assert_eq!(s.schedule_one(&w, p, 2 * SECOND), Outcome::Bind(b));
}

#[test]
fn unknown_scheduler_suggests_a_name() {
    let e = Scheduler::new("binpak", Path::new("."), KubeVersion::DEFAULT, 1)
        .err()
        .unwrap();
    assert!(e.to_string().contains("did you mean \"binpack\""), "{e}");
}

#[test]
fn literature_policies() {
    let mut w = World::default();
    let a = w.add_node(node("a", 4000, 8 * GI));
    let b = w.add_node(node("b", 4000, 8 * GI));
    let c = w.add_node(node("c", 4000, 8 * GI));
    bound(&mut w, "x", spec(3000, 6 * GI), b);
    bound(&mut w, "y", spec(1000, 2 * GI), c);
    let p = pod(&mut w, "p", spec(500, GI));
    for (name, want) in [
        ("first-fit", a),
        ("best-fit", b),
        ("worst-fit", a),
        ("drf-spread", a),
        ("tetris", a),
    ] {
        let mut s = sched(name, KubeVersion::DEFAULT);
        assert_eq!(s.schedule_one(&w, p, 0), Outcome::Bind(want), "{name}");
    }
}

/// A random small cluster and workload, for the properties.
/// Nodes: (cpu cores, memory GiB, tainted, zone); pods: (milli-cpu, memory
/// half-GiB, app, anti-affinity to own app, 0 plain / 1 zone spread / 2 host port).
type NodeCase = (i64, i64, bool, u8);
type PodCase = (i64, i64, u8, bool, u8);

fn arb_case() -> impl Strategy<Value = (Vec<NodeCase>, Vec<PodCase>, u64)> {
    (
        prop::collection::vec((1i64..8, 1i64..16, any::<bool>(), 0u8..3), 1..8),
        prop::collection::vec((0i64..3000, 0i64..4, 0u8..3, any::<bool>(), 0u8..4), 1..30),
        any::<u64>(),
    )
}

fn build(nodes: &[(i64, i64, bool, u8)], pods: &[(i64, i64, u8, bool, u8)]) -> (World, Vec<PodId>) {
    let mut w = World::default();
    for (i, &(cpu, mem, taint, zone)) in nodes.iter().enumerate() {
        let mut n = zoned(&format!("n{i}"), &format!("z{zone}"));
        n.allocatable.milli_cpu = cpu * 1000;
        n.allocatable.memory = mem * GI;
        if taint {
            n.taints.push(Taint {
                key: "dedicated".into(),
                value: "x".into(),
                effect: TaintEffect::NoSchedule,
            });
        }
        w.add_node(n);
    }
    let mut ids = Vec::new();
    for (i, &(cpu, mem, app, anti, kind)) in pods.iter().enumerate() {
        let mut s = with_app(spec(cpu, mem * GI / 2), &format!("a{app}"));
        if anti {
            s.pod_anti_affinity.required =
                vec![term(&format!("a{app}"), crate::model::HOSTNAME_LABEL)];
        }
        match kind {
            1 => s.topology_spread = vec![spread(crate::model::ZONE_LABEL, 1, &format!("a{app}"))],
            2 => {
                s.host_ports = vec![crate::model::HostPort {
                    protocol: crate::model::Protocol::Tcp,
                    host_ip: String::new(),
                    port: 8080,
                }]
            }
            _ => {}
        }
        ids.push(pod(&mut w, &format!("p{i}"), s));
    }
    (w, ids)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every binding the default profile makes passes every Filter plugin
    /// against the world as it stood, and explain agrees with it.
    #[test]
    fn bound_pods_pass_every_filter((nodes, pods, seed) in arb_case()) {
        let (mut w, ids) = build(&nodes, &pods);
        let mut s = Scheduler::new("default", Path::new("."), KubeVersion::DEFAULT, seed).unwrap();
        sync(&mut s, &mut w, 0);
        for &p in &ids {
            let e = s.explain(&w, p, 0);
            let out = s.schedule_one(&w, p, 0);
            match &out {
                Outcome::Bind(n) => {
                    prop_assert_eq!(e.selected.as_deref(), Some(w.node(*n).name.as_str()));
                    let ne = e.nodes.iter().find(|x| x.node == w.node(*n).name).unwrap();
                    prop_assert!(ne.feasible, "{:?}", ne.filters);
                    for f in &ne.filters {
                        prop_assert_eq!(f.code, framework::Code::Success);
                    }
                    w.bind(p, *n, 0);
                }
                Outcome::Unschedulable { message, .. } => {
                    prop_assert_eq!(e.selected, None);
                    prop_assert_eq!(e.message.as_deref().map(|m| m.starts_with(message.as_str())), Some(true));
                    prop_assert!(e.nodes.iter().all(|n| !n.feasible));
                }
            }
            sync(&mut s, &mut w, 0);
            prop_assert!(w.check_invariants().is_ok());
        }
    }
}

/// The policy of EXTENDING.md (a doctest there, enabled by name through the
/// registry), here through `Profile::with_plugins`.
mod extending_example {
    use super::*;
    use crate::scheduler::framework::*;
    use crate::scheduler::plugins::node_resources_fit::{
        FitArgs, NodeResourcesFit, most_requested_score,
    };
    use crate::scheduler::plugins::node_unschedulable::NodeUnschedulable;
    use crate::scheduler::plugins::taint_toleration::TaintToleration;

    pub struct CostAware;

    fn is_spot(node: &NodeInfo) -> bool {
        node.node
            .labels
            .get("lifecycle")
            .is_some_and(|l| l == "spot")
    }

    impl Plugin for CostAware {
        fn name(&self) -> &'static str {
            "CostAware"
        }
        fn as_filter(&self) -> Option<&dyn FilterPlugin> {
            Some(self)
        }
        fn as_score(&self) -> Option<&dyn ScorePlugin> {
            Some(self)
        }
    }

    impl FilterPlugin for CostAware {
        fn filter(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> Status {
            let critical = cx.spec.labels.get("tier").is_some_and(|t| t == "critical");
            if critical && is_spot(node) {
                return Status::unresolvable("node(s) were spot instances");
            }
            Status::SUCCESS
        }
    }

    impl ScorePlugin for CostAware {
        fn score(&self, cx: &CycleContext, _: &State, node: &NodeInfo) -> i64 {
            let cpu = node.requested.milli_cpu + cx.spec.requests.milli_cpu;
            let full = most_requested_score(cpu, node.node.allocatable.milli_cpu);
            if is_spot(node) {
                full / 2
            } else {
                50 + full / 2
            }
        }
    }

    #[test]
    fn cost_aware_policy() {
        let mut w = World::default();
        let mut spot = node("spot", 4000, 8 * GI);
        spot.labels.insert("lifecycle".into(), "spot".into());
        let spot = w.add_node(spot);
        let od = w.add_node(node("on-demand", 4000, 8 * GI));
        let profile = Profile::with_plugins(
            "default-scheduler",
            vec![
                (Box::new(NodeUnschedulable), 0),
                (Box::new(TaintToleration), 0),
                (Box::new(NodeResourcesFit::new(FitArgs::default())), 0),
                (Box::new(CostAware), 1),
            ],
            None,
        );
        let mut s = Scheduler::from_profiles("cost-aware", vec![profile], KubeVersion::DEFAULT, 1);
        let p = pod(&mut w, "p", spec(500, GI));
        assert_eq!(s.schedule_one(&w, p, 0), Outcome::Bind(od));
        let mut crit = spec(500, GI);
        crit.labels.insert("tier".into(), "critical".into());
        w.nodes[od.idx()].unschedulable = true;
        w.node_changed(od);
        let q = pod(&mut w, "q", crit);
        match schedule(&mut s, &mut w, q) {
            Outcome::Unschedulable { message, .. } => assert!(
                message.starts_with("0/2 nodes are available: 1 node(s) were spot instances, 1 node(s) were unschedulable."),
                "{message}"
            ),
            o => panic!("{o:?}"),
        }
        let _ = spot;
    }
}

fn raw_and_norm(e: &Explanation, node: &str, plugin: &str) -> (i64, i64) {
    let s = &e.nodes.iter().find(|n| n.node == node).unwrap().scores[plugin];
    (s.raw, s.normalized)
}

#[test]
fn preferred_node_affinity_and_prefer_no_schedule_taints() {
    use crate::model::labels::{NodeSelectorTerm, Operator, Requirement};
    let mut w = World::default();
    let mut a = node("a", 4000, 8 * GI);
    a.labels.insert("disk".into(), "ssd".into());
    a.labels.insert("gen".into(), "new".into());
    for k in ["x", "y"] {
        a.taints.push(Taint {
            key: k.into(),
            value: String::new(),
            effect: TaintEffect::PreferNoSchedule,
        });
    }
    w.add_node(a);
    let mut b = node("b", 4000, 8 * GI);
    b.labels.insert("disk".into(), "ssd".into());
    b.taints.push(Taint {
        key: "x".into(),
        value: String::new(),
        effect: TaintEffect::PreferNoSchedule,
    });
    w.add_node(b);
    w.add_node(node("c", 4000, 8 * GI));
    let req = |k: &str, v: &str| NodeSelectorTerm {
        match_expressions: vec![Requirement {
            key: k.into(),
            op: Operator::In,
            values: vec![v.into()],
        }],
        match_fields: Vec::new(),
    };
    let mut ps = spec(100, MI);
    ps.preferred_node_affinity = vec![(30, req("disk", "ssd")), (7, req("gen", "new"))];
    let p = pod(&mut w, "p", ps);
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p, 0);
    // NodeAffinity: a 30+7 = 37, b 30, c 0; normalised 100*s/37: 100, 81 (81.08), 0.
    assert_eq!(raw_and_norm(&e, "a", "NodeAffinity"), (37, 100));
    assert_eq!(raw_and_norm(&e, "b", "NodeAffinity"), (30, 81));
    assert_eq!(raw_and_norm(&e, "c", "NodeAffinity"), (0, 0));
    // TaintToleration: untolerated PreferNoSchedule counts 2, 1, 0; reversed:
    // 100 - 100*2/2 = 0, 100 - 100*1/2 = 50, 100.
    assert_eq!(raw_and_norm(&e, "a", "TaintToleration"), (2, 0));
    assert_eq!(raw_and_norm(&e, "b", "TaintToleration"), (1, 50));
    assert_eq!(raw_and_norm(&e, "c", "TaintToleration"), (0, 100));
    // Weights: NodeAffinity ×2, TaintToleration ×3.
    let nb = e.nodes.iter().find(|n| n.node == "b").unwrap();
    assert_eq!(nb.scores["NodeAffinity"].weighted, 162);
    assert_eq!(nb.scores["TaintToleration"].weighted, 150);
}

#[test]
fn preferred_pod_affinity_min_max_normalisation() {
    let mut w = World::default();
    let a = w.add_node(zoned("a", "z1"));
    let b = w.add_node(zoned("b", "z2"));
    w.add_node(zoned("c", "z3"));
    bound(&mut w, "cache", with_app(spec(100, MI), "cache"), a);
    bound(&mut w, "batch", with_app(spec(100, MI), "batch"), b);
    let mut ps = with_app(spec(100, MI), "web");
    ps.pod_affinity.preferred = vec![(40, term("cache", crate::model::ZONE_LABEL))];
    ps.pod_anti_affinity.preferred = vec![(10, term("batch", crate::model::ZONE_LABEL))];
    let p = pod(&mut w, "p", ps);
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    let e = s.explain(&w, p, 0);
    // Raw: z1 +40, z2 −10, z3 0. min −10, max 40, diff 50:
    // a 100*(50/50) = 100, b 0, c 100*(10/50) = 20.
    assert_eq!(raw_and_norm(&e, "a", "InterPodAffinity"), (40, 100));
    assert_eq!(raw_and_norm(&e, "b", "InterPodAffinity"), (-10, 0));
    assert_eq!(raw_and_norm(&e, "c", "InterPodAffinity"), (0, 20));
}

#[test]
fn least_allocated_with_resource_weights() {
    let profiles = config_profiles(
        r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: LeastAllocated
        resources: [{name: cpu, weight: 3}, {name: memory, weight: 1}]
"#,
    );
    let mut w = World::default();
    w.add_node(node("a", 4000, 8 * GI));
    let p = pod(&mut w, "p", spec(1000, 6 * GI));
    let s = Scheduler::from_profiles("cfg", profiles, KubeVersion::DEFAULT, 1);
    let e = s.explain(&w, p, 0);
    // One node: selected without scoring; check the arithmetic on the plugin directly:
    // cpu (4000-1000)*100/4000 = 75, memory (8-6)*100/8 = 25; (75*3 + 25*1)/4 = 250/4 = 62.
    assert_eq!(e.selected.as_deref(), Some("a"));
    w.add_node(node("b", 4000, 8 * GI));
    let e = s.explain(&w, p, 0);
    assert_eq!(raw_and_norm(&e, "a", "NodeResourcesFit"), (62, 62));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Differential: the label index's candidates contain every bound pod the
    /// selector matches (so PodTopologySpread counts equal a full scan).
    #[test]
    fn label_index_candidates_cover_matches(
        (nodes, pods, _seed) in arb_case(),
        bind_mask in prop::collection::vec(any::<bool>(), 30),
        app in 0u8..3,
    ) {
        let (mut w, ids) = build(&nodes, &pods);
        for (i, &p) in ids.iter().enumerate() {
            if bind_mask[i % bind_mask.len()] {
                w.bind(p, NodeId((i % nodes.len()) as u32), 0);
            }
        }
        if let Some(&p) = ids.first() {
            w.remove_pod(p);
        }
        let ix = label_index::LabelIndex::build(&w);
        let mut l = Labels::new();
        l.insert("app".into(), format!("a{app}"));
        let sel = LabelSelector::from_map(&l);
        let cand = ix.candidates("default", &sel).unwrap();
        for (i, q) in w.pods.iter().enumerate() {
            let id = PodId(i as u32);
            let matches = !q.deleted && q.node.is_some() && sel.matches(&w.spec(q.spec).labels);
            prop_assert_eq!(matches, cand.contains(&id));
        }
    }
}

#[test]
fn schedule_one_without_pop_leaves_other_pods_queued() {
    let mut w = World::default();
    w.add_node(node("a", 100, GI));
    let mut hi = spec(1000, MI);
    hi.priority = 10;
    let first = pod(&mut w, "hi", hi);
    let second = pod(&mut w, "lo", spec(1000, MI));
    let mut s = sched("default", KubeVersion::DEFAULT);
    sync(&mut s, &mut w, 0);
    // The loop may run a cycle for a pod it did not pop; the queue's head stays.
    assert!(matches!(
        s.schedule_one(&w, second, 0),
        Outcome::Unschedulable { .. }
    ));
    assert_eq!(s.pop(&w, 0), Some(first));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Differential: InterPodAffinity through the label index decides and
    /// scores as the full scan does (a namespace selector forces the scan).
    #[test]
    fn inter_pod_affinity_index_matches_full_scan(
        (nodes, pods, _seed) in arb_case(),
        bind_mask in prop::collection::vec(any::<bool>(), 30),
        a in 0u8..3, b in 0u8..3, required in any::<bool>(),
    ) {
        let (mut w, ids) = build(&nodes, &pods);
        for (i, &p) in ids.iter().enumerate() {
            if bind_mask[i % bind_mask.len()] {
                w.bind(p, NodeId((i % nodes.len()) as u32), 0);
            }
        }
        let mut by_name = Labels::new();
        by_name.insert("kubernetes.io/metadata.name".into(), "default".into());
        let scan = |mut t: PodAffinityTerm| {
            t.namespace_selector = Some(LabelSelector::from_map(&by_name));
            t
        };
        let mk = |indexed: bool| {
            let f = |t: PodAffinityTerm| if indexed { t } else { scan(t) };
            let mut s = with_app(spec(0, 0), "web");
            s.pod_affinity.preferred = vec![(7, f(term(&format!("a{a}"), crate::model::ZONE_LABEL)))];
            s.pod_anti_affinity.preferred = vec![(3, f(term(&format!("a{b}"), crate::model::HOSTNAME_LABEL)))];
            if required {
                s.pod_anti_affinity.required = vec![f(term(&format!("a{b}"), crate::model::ZONE_LABEL))];
                s.pod_affinity.required = vec![f(term(&format!("a{a}"), crate::model::ZONE_LABEL))];
            }
            s
        };
        let p1 = pod(&mut w, "in1", mk(true));
        let p2 = pod(&mut w, "in2", mk(false));
        let s = Scheduler::new("default", Path::new("."), KubeVersion::DEFAULT, 1).unwrap();
        let e1 = s.explain(&w, p1, 0);
        let e2 = s.explain(&w, p2, 0);
        for (n1, n2) in e1.nodes.iter().zip(e2.nodes.iter()) {
            prop_assert_eq!(&n1.reasons, &n2.reasons);
            prop_assert_eq!(
                n1.scores.get("InterPodAffinity").map(|d| d.raw),
                n2.scores.get("InterPodAffinity").map(|d| d.raw)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Differential: the incremental match counts, topology domains, nodes
    /// per domain and per-domain totals equal a straightforward scan of every
    /// node's pods and labels after each step of a random history (binds,
    /// terminations, pods ending, removals, nodes moving zone, losing the
    /// zone label, deleted and back), whether a selector or its totals are
    /// tracked from the start or half-way through.
    #[test]
    fn incremental_indexes_match_full_scan(
        (nodes, pods, _seed) in arb_case(),
        ops in prop::collection::vec((0usize..30, 0u8..7, 0usize..8), 1..60),
        late in 0usize..60,
    ) {
        use crate::scheduler::indexes::{MatchCounts, NONE, TopologyIndex};
        let (mut w, ids) = build(&nodes, &pods);
        let (mut counts, mut topo) = (MatchCounts::default(), TopologyIndex::default());
        let sel = |app: &str| {
            let mut l = Labels::new();
            l.insert("app".into(), app.into());
            LabelSelector::from_map(&l)
        };
        let early = counts.track(&w, "default", &sel("a0"), false);
        let early_all = counts.track(&w, "default", &sel("a1"), true);
        let zone = topo.track(&w, crate::model::ZONE_LABEL);
        // Totals asked for from the start for `early`, later for the others.
        counts.domain_totals(early, zone, &topo);
        let mut tracked = vec![(early, "a0", false), (early_all, "a1", true)];
        for (step, &(pi, op, ni)) in ops.iter().enumerate() {
            let p = ids[pi % ids.len()];
            let n = NodeId((ni % nodes.len()) as u32);
            let q = w.pod(p);
            match op {
                0 if q.node.is_none() && !q.deleted => w.bind(p, n, 0),
                1 => w.mark_deleting(p, 0),
                2 if q.node.is_some() => w.set_phase(p, crate::model::PodPhase::Succeeded),
                3 => w.remove_pod(p),
                4 => {
                    w.nodes[n.idx()].labels.insert(crate::model::ZONE_LABEL.into(), format!("z{}", ni % 2));
                    w.node_changed(n);
                }
                5 => {
                    w.nodes[n.idx()].labels.remove(crate::model::ZONE_LABEL);
                    w.node_changed(n);
                }
                6 => {
                    w.nodes[n.idx()].deleted ^= true;
                    w.node_changed(n);
                }
                _ => {}
            }
            for c in std::mem::take(&mut w.changes) {
                match c {
                    Change::NodeUpdated(n) => topo.update(&w, n, |key, old, new| counts.node_moved(key, n, old, new)),
                    Change::PodAdded(p) | Change::PodUpdated(p) | Change::PodDeleting(p)
                    | Change::PodRemoved(p) => counts.update(&w, &topo, p),
                }
            }
            if step == late {
                tracked.push((counts.track(&w, "default", &sel("a2"), false), "a2", false));
            }
            let num = topo.num_domains(zone);
            for &(id, app, terminating) in &tracked {
                let s = sel(app);
                let mut want_totals = vec![0u32; num];
                for (i, node) in w.nodes.iter().enumerate() {
                    let want = node.pods.iter().filter(|&&p| {
                        let q = w.pod(p);
                        (terminating || q.deleting_since.is_none())
                            && q.namespace == "default"
                            && s.matches(&w.spec(q.spec).labels)
                    }).count() as i64;
                    prop_assert_eq!(counts.on_node(id, NodeId(i as u32)), want);
                    let d = topo.domain(zone, NodeId(i as u32));
                    if d != NONE {
                        want_totals[d as usize] += want as u32;
                    }
                }
                if step >= late || id == early {
                    let totals = counts.domain_totals(id, zone, &topo);
                    let got: Vec<u32> = (0..num).map(|d| totals.get(d).copied().unwrap_or(0)).collect();
                    prop_assert_eq!(got, want_totals, "totals of {}", app);
                }
            }
            let mut want_nodes_in = vec![0u32; num];
            for (i, node) in w.nodes.iter().enumerate() {
                let d = topo.domain(zone, NodeId(i as u32));
                prop_assert_eq!(d == NONE, node.zone().is_none() || node.deleted);
                if d != NONE {
                    want_nodes_in[d as usize] += 1;
                }
                for (j, other) in w.nodes.iter().enumerate() {
                    let live = |n: &crate::model::Node| n.zone().is_some() && !n.deleted;
                    if live(node) && live(other) {
                        prop_assert_eq!(
                            d == topo.domain(zone, NodeId(j as u32)),
                            node.zone() == other.zone()
                        );
                    }
                }
            }
            let nodes_in: Vec<u32> =
                (0..num).map(|d| topo.nodes_in(zone).get(d).copied().unwrap_or(0)).collect();
            prop_assert_eq!(&nodes_in, &want_nodes_in);
            prop_assert_eq!(topo.nodes_with_key(zone), want_nodes_in.iter().sum::<u32>() as usize);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Differential: the term index's counts, read as InterPodAffinity reads
    /// them (the matched terms of an incoming template and namespace, the
    /// owners per domain), equal a scan of every node's pods after each step
    /// of a random history: binds, terminations, deletions, pods ending or
    /// removed, nodes moving zone.
    #[test]
    fn term_index_matches_full_scan(
        num_nodes in 1usize..8,
        pods in prop::collection::vec((0usize..4, any::<bool>()), 1..40),
        ops in prop::collection::vec((0u8..6, 0usize..40, 0usize..8), 1..60),
    ) {
        use crate::model::{HOSTNAME_LABEL, ZONE_LABEL};
        use crate::scheduler::indexes::{NONE, TopologyIndex};
        use crate::scheduler::term_index::TermIndex;
        let mut w = World::default();
        for i in 0..num_nodes {
            let mut n = zoned(&format!("n{i}"), &format!("z{}", i % 2));
            n.labels.insert(HOSTNAME_LABEL.into(), format!("n{i}"));
            w.add_node(n);
        }
        let mut t0 = with_app(spec(0, 0), "a0");
        t0.pod_anti_affinity.required = vec![term("a0", HOSTNAME_LABEL), term("a1", ZONE_LABEL)];
        t0.pod_affinity.preferred = vec![(4, term("a1", ZONE_LABEL))];
        let mut t1 = with_app(spec(0, 0), "a1");
        let mut other = term("a0", ZONE_LABEL);
        other.namespaces = vec!["other".into()];
        t1.pod_affinity.required = vec![term("a0", ZONE_LABEL), other];
        t1.pod_anti_affinity.preferred = vec![(7, term("a1", HOSTNAME_LABEL))];
        let t2 = with_app(spec(0, 0), "a0");
        let mut t3 = with_app(spec(0, 0), "a1");
        let mut all = term("a0", HOSTNAME_LABEL);
        all.namespace_selector = Some(LabelSelector::default());
        t3.pod_anti_affinity.required = vec![all];
        let specs: Vec<_> = [t0, t1, t2, t3].into_iter().map(|t| w.add_spec(t)).collect();
        let ids: Vec<PodId> = pods
            .iter()
            .enumerate()
            .map(|(i, &(t, other))| {
                let ns = if other { "other" } else { "default" };
                w.create_pod(Pod::new(format!("p{i}"), ns, specs[t], None), 0)
            })
            .collect();
        let (mut topo, mut ix) = (TopologyIndex::default(), TermIndex::default());
        for (step, &(op, pi, ni)) in ops.iter().enumerate() {
            let p = ids[pi % ids.len()];
            let n = NodeId((ni % num_nodes) as u32);
            let q = w.pod(p);
            match op {
                0 | 1 if q.node.is_none() && !q.deleted => w.bind(p, n, 0),
                2 => w.mark_deleting(p, 0),
                3 if q.node.is_some() => w.set_phase(p, crate::model::PodPhase::Failed),
                4 => w.remove_pod(p),
                5 => {
                    w.nodes[n.idx()].labels.insert(ZONE_LABEL.into(), format!("z{}", (ni + step) % 3));
                    w.node_changed(n);
                }
                _ => {}
            }
            for c in std::mem::take(&mut w.changes) {
                match c {
                    Change::NodeUpdated(n) => {
                        topo.update(&w, n, |_, _, _| {});
                        ix.update_node(&w, &topo, n);
                    }
                    Change::PodAdded(p) | Change::PodUpdated(p) | Change::PodDeleting(p)
                    | Change::PodRemoved(p) => ix.update_pod(&w, &topo, p),
                }
            }
            for &incoming in &specs {
                for ns in ["default", "other"] {
                    let labels = &w.spec(incoming).labels;
                    let m = ix.matched(&w, incoming, ns);
                    for (i, node) in w.nodes.iter().enumerate() {
                        for key in [ZONE_LABEL, HOSTNAME_LABEL] {
                            let Some(value) = node.labels.get(key) else { continue };
                            // The scan: pods on nodes of the same domain.
                            let (mut anti, mut score) = (0i64, 0i64);
                            for other in w.nodes.iter().filter(|o| o.labels.get(key) == Some(value)) {
                                for &q in &other.pods {
                                    let (qns, qs) = (w.pod(q).namespace.as_str(), w.pod_spec(q));
                                    let hit = |t: &PodAffinityTerm| {
                                        t.topology_key == key
                                            && crate::scheduler::plugins::inter_pod_affinity::term_matches(t, qns, ns, labels)
                                    };
                                    anti += qs.pod_anti_affinity.required.iter().filter(|t| hit(t)).count() as i64;
                                    score += qs.pod_affinity.required.iter().filter(|t| hit(t)).count() as i64;
                                    score += qs.pod_affinity.preferred.iter().filter(|(_, t)| hit(t)).map(|(w, _)| i64::from(*w)).sum::<i64>();
                                    score -= qs.pod_anti_affinity.preferred.iter().filter(|(_, t)| hit(t)).map(|(w, _)| i64::from(*w)).sum::<i64>();
                                }
                            }
                            let k = topo.track(&w, key);
                            let d = topo.domain(k, NodeId(i as u32));
                            prop_assert!(d != NONE);
                            let got_anti: i64 = m.anti.iter().filter(|r| r.key == k)
                                .map(|r| i64::from(ix.count(r.group, r.slot, d))).sum();
                            let got_score: i64 = m.score.iter().filter(|r| r.term.key == k)
                                .map(|r| (r.hard + r.soft) * i64::from(ix.count(r.term.group, r.term.slot, d))).sum();
                            prop_assert_eq!(got_anti, anti);
                            prop_assert_eq!(got_score, score);
                        }
                    }
                }
            }
        }
    }
}

/// Differential tests of the batch and cached paths (node table, static
/// filter verdicts, node-local score cache) against plugins seen only through
/// their per-node `filter` and `score`.
mod differential {
    use super::*;
    use crate::model::labels::{NodeSelectorTerm, Operator, Requirement};
    use crate::model::taints::Toleration;
    use crate::scheduler::framework::*;
    use crate::scheduler::plugins::inter_pod_affinity::{self, term_matches};
    use std::collections::BTreeMap;

    /// A plugin seen only through its per-node methods: no `filter_batch`,
    /// not static, no `score_all` of its own, not node-local; and its
    /// PreFilter starts each cycle from a fresh state, so nothing a plugin
    /// keeps per template (PodTopologySpread's inputs) outlives the cycle.
    struct Plain(Box<dyn Plugin>);

    impl PreFilterPlugin for Plain {
        fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status {
            *state = State::default();
            self.0.as_pre_filter().unwrap().pre_filter(cx, state)
        }
        fn node_names(&self, cx: &CycleContext, state: &State) -> Option<Vec<String>> {
            self.0.as_pre_filter().unwrap().node_names(cx, state)
        }
    }

    impl Plugin for Plain {
        fn name(&self) -> &'static str {
            self.0.name()
        }
        fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
            self.0.as_pre_filter().map(|_| self as &dyn PreFilterPlugin)
        }
        fn as_filter(&self) -> Option<&dyn FilterPlugin> {
            self.0.as_filter().map(|_| self as &dyn FilterPlugin)
        }
        fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
            self.0.as_pre_score()
        }
        fn as_score(&self) -> Option<&dyn ScorePlugin> {
            self.0.as_score().map(|_| self as &dyn ScorePlugin)
        }
        fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
            self.0.as_post_filter()
        }
        fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
            self.0.as_reserve()
        }
        fn as_bind(&self) -> Option<&dyn BindPlugin> {
            self.0.as_bind()
        }
        fn as_enqueue_extensions(&self) -> Option<&dyn EnqueueExtensions> {
            self.0.as_enqueue_extensions()
        }
    }

    impl FilterPlugin for Plain {
        fn filter(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> Status {
            self.0.as_filter().unwrap().filter(cx, state, node)
        }
    }

    impl ScorePlugin for Plain {
        fn score(&self, cx: &CycleContext, state: &State, node: &NodeInfo) -> i64 {
            self.0.as_score().unwrap().score(cx, state, node)
        }
        fn normalize(&self, cx: &CycleContext, state: &State, f: &[NodeId], s: &mut [i64]) {
            self.0.as_score().unwrap().normalize(cx, state, f, s)
        }
    }

    /// InterPodAffinity as upstream computes it, without any index: every
    /// cycle walks every node's pods and counts in maps keyed by (topology
    /// key, value) strings (filtering.go `getExistingAntiAffinityCounts`,
    /// `getIncomingAffinityAntiAffinityCounts`, `updateWithPod`,
    /// `satisfy*`; scoring.go `processExistingPod`), with
    /// `hardPodAffinityWeight` 1.
    struct ReferenceInterPodAffinity;

    type Pairs = BTreeMap<(String, String), i64>;

    #[derive(Default, Clone)]
    struct RefState {
        existing: Pairs,
        affinity: Pairs,
        anti: Pairs,
        score: Pairs,
    }

    fn bump(m: &mut Pairs, node: &Node, key: &str, v: i64) {
        if let Some(val) = node.labels.get(key) {
            let e = m.entry((key.to_string(), val.clone())).or_insert(0);
            *e += v;
            if *e == 0 {
                m.remove(&(key.to_string(), val.clone()));
            }
        }
    }

    /// `preFilterState.updateWithPod`: `q` counted on `node` `v` times.
    fn update_with_pod(cx: &CycleContext, s: &mut RefState, q: PodId, node: &Node, v: i64) {
        let (w, spec) = (cx.world, cx.spec);
        let (ns, labels) = (cx.namespace(), &w.pod_spec(cx.pod).labels);
        let (qns, ql) = (&w.pod(q).namespace, &w.pod_spec(q).labels);
        for t in &w.pod_spec(q).pod_anti_affinity.required {
            if term_matches(t, qns, ns, labels) {
                bump(&mut s.existing, node, &t.topology_key, v);
            }
        }
        let aff = &spec.pod_affinity.required;
        if !aff.is_empty() && aff.iter().all(|t| term_matches(t, ns, qns, ql)) {
            for t in aff {
                bump(&mut s.affinity, node, &t.topology_key, v);
            }
        }
        for t in &spec.pod_anti_affinity.required {
            if term_matches(t, ns, qns, ql) {
                bump(&mut s.anti, node, &t.topology_key, v);
            }
        }
    }

    impl Plugin for ReferenceInterPodAffinity {
        fn name(&self) -> &'static str {
            inter_pod_affinity::NAME
        }
        fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
            Some(self)
        }
        fn as_filter(&self) -> Option<&dyn FilterPlugin> {
            Some(self)
        }
        fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
            Some(self)
        }
        fn as_score(&self) -> Option<&dyn ScorePlugin> {
            Some(self)
        }
    }

    impl PreFilterPlugin for ReferenceInterPodAffinity {
        fn pre_filter(&self, cx: &CycleContext, state: &mut State) -> Status {
            let mut s = RefState::default();
            for (_, node) in cx.world.live_nodes() {
                for &q in &node.pods {
                    update_with_pod(cx, &mut s, q, node, 1);
                }
            }
            let spec = cx.spec;
            let none =
                spec.pod_affinity.required.is_empty() && spec.pod_anti_affinity.required.is_empty();
            let skip = s.existing.is_empty() && none;
            *state.get_or_default::<RefState>() = s;
            if skip { Status::SKIP } else { Status::SUCCESS }
        }
    }

    impl FilterPlugin for ReferenceInterPodAffinity {
        fn filter(&self, cx: &CycleContext, state: &State, info: &NodeInfo) -> Status {
            let mut s = state.get::<RefState>().unwrap().clone();
            for &q in info.added {
                update_with_pod(cx, &mut s, q, info.node, 1);
            }
            for &q in info.removed {
                update_with_pod(cx, &mut s, q, info.node, -1);
            }
            let labels = &info.node.labels;
            let pair = |k: &str| labels.get(k).map(|v| (k.to_string(), v.clone()));
            let at = |m: &Pairs, k: &str| pair(k).map(|p| m.get(&p).copied().unwrap_or(0));
            let aff = &cx.spec.pod_affinity.required;
            let mut pods_exist = true;
            for t in aff {
                match at(&s.affinity, &t.topology_key) {
                    None => return Status::unresolvable(inter_pod_affinity::REASON_AFFINITY),
                    Some(c) if c <= 0 => pods_exist = false,
                    Some(_) => {}
                }
            }
            let (ns, own) = (cx.namespace(), &cx.spec.labels);
            // Maybe the first of a group with affinity to itself.
            let first = s.affinity.is_empty() && aff.iter().all(|t| term_matches(t, ns, ns, own));
            if !pods_exist && !first {
                return Status::unresolvable(inter_pod_affinity::REASON_AFFINITY);
            }
            if !s.anti.is_empty()
                && cx
                    .spec
                    .pod_anti_affinity
                    .required
                    .iter()
                    .any(|t| at(&s.anti, &t.topology_key).is_some_and(|c| c > 0))
            {
                return Status::unschedulable(inter_pod_affinity::REASON_ANTI_AFFINITY);
            }
            if labels.iter().any(|(k, v)| {
                s.existing
                    .get(&(k.clone(), v.clone()))
                    .is_some_and(|&c| c > 0)
            }) {
                return Status::unschedulable(inter_pod_affinity::REASON_EXISTING_ANTI_AFFINITY);
            }
            Status::SUCCESS
        }
    }

    impl PreScorePlugin for ReferenceInterPodAffinity {
        fn pre_score(&self, cx: &CycleContext, state: &mut State, _: &[NodeId]) -> Status {
            let w = cx.world;
            let (ns, labels) = (cx.namespace(), &cx.spec.labels);
            let (aff, anti) = (&cx.spec.pod_affinity, &cx.spec.pod_anti_affinity);
            let constraints = !aff.preferred.is_empty() || !anti.preferred.is_empty();
            let mut m = Pairs::new();
            let mut entries = 0;
            for (_, node) in w.live_nodes() {
                for &q in &node.pods {
                    let qs = w.pod_spec(q);
                    let qns = w.pod(q).namespace.as_str();
                    if !constraints && qs.pod_affinity.is_empty() && qs.pod_anti_affinity.is_empty()
                    {
                        continue;
                    }
                    let mut add = |m: &mut Pairs, t: &PodAffinityTerm, hit: bool, v: i64| {
                        if hit && node.labels.contains_key(&t.topology_key) {
                            entries += 1;
                            let val = node.labels[&t.topology_key].clone();
                            *m.entry((t.topology_key.clone(), val)).or_insert(0) += v;
                        }
                    };
                    for (wt, t) in &aff.preferred {
                        add(
                            &mut m,
                            t,
                            term_matches(t, ns, qns, &qs.labels),
                            i64::from(*wt),
                        );
                    }
                    for (wt, t) in &anti.preferred {
                        add(
                            &mut m,
                            t,
                            term_matches(t, ns, qns, &qs.labels),
                            -i64::from(*wt),
                        );
                    }
                    for t in &qs.pod_affinity.required {
                        add(&mut m, t, term_matches(t, qns, ns, labels), 1);
                    }
                    for (wt, t) in &qs.pod_affinity.preferred {
                        add(&mut m, t, term_matches(t, qns, ns, labels), i64::from(*wt));
                    }
                    for (wt, t) in &qs.pod_anti_affinity.preferred {
                        add(&mut m, t, term_matches(t, qns, ns, labels), -i64::from(*wt));
                    }
                }
            }
            state.get_or_default::<RefState>().score = m;
            if entries == 0 {
                Status::SKIP
            } else {
                Status::SUCCESS
            }
        }
    }

    impl ScorePlugin for ReferenceInterPodAffinity {
        fn score(&self, _: &CycleContext, state: &State, info: &NodeInfo) -> i64 {
            let m = &state.get::<RefState>().unwrap().score;
            (info.node.labels.iter())
                .filter_map(|(k, v)| m.get(&(k.clone(), v.clone())))
                .sum()
        }
        fn normalize(&self, _: &CycleContext, _: &State, _: &[NodeId], scores: &mut [i64]) {
            let min = scores.iter().copied().min().unwrap_or(0);
            let max = scores.iter().copied().max().unwrap_or(0);
            for s in scores.iter_mut() {
                *s = if max > min {
                    (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / (max - min) as f64)) as i64
                } else {
                    0
                };
            }
        }
    }

    /// The default profile with every plugin wrapped in `Plain`, and
    /// InterPodAffinity replaced by [`ReferenceInterPodAffinity`].
    fn plain_default(seed: u64) -> Scheduler {
        let mut prof = profiles::builtin("default").unwrap();
        prof.plugins = std::mem::take(&mut prof.plugins)
            .into_iter()
            .map(|p| {
                let p: Box<dyn Plugin> = if p.name() == inter_pod_affinity::NAME {
                    Box::new(ReferenceInterPodAffinity)
                } else {
                    p
                };
                Box::new(Plain(p)) as Box<dyn Plugin>
            })
            .collect();
        Scheduler::from_profiles("default", vec![prof], KubeVersion::DEFAULT, seed)
    }

    fn taint(effect: TaintEffect) -> Taint {
        Taint {
            key: "dedicated".into(),
            value: "x".into(),
            effect,
        }
    }

    /// Four templates, each shared by many pods: plain; tolerating the
    /// NoSchedule taint and requiring `disk=ssd` (preferring zone z1);
    /// zone-spread; high priority with a host port.
    fn templates(w: &mut World, cpu: &[i64; 4]) -> Vec<crate::model::SpecId> {
        let mut t0 = with_app(spec(cpu[0], GI / 2), "a0");
        t0.images = vec!["app:1".into()];
        let mut t1 = with_app(spec(cpu[1], GI), "a1");
        t1.tolerations = vec![Toleration {
            key: "dedicated".into(),
            op: crate::model::taints::TolerationOp::Exists,
            value: String::new(),
            effect: Some(TaintEffect::NoSchedule),
            toleration_seconds: None,
        }];
        t1.node_selector.insert("disk".into(), "ssd".into());
        t1.preferred_node_affinity = vec![(
            5,
            NodeSelectorTerm {
                match_expressions: vec![Requirement {
                    key: crate::model::ZONE_LABEL.into(),
                    op: Operator::In,
                    values: vec!["z1".into()],
                }],
                match_fields: Vec::new(),
            },
        )];
        let mut t2 = with_app(spec(cpu[2], 0), "a2");
        t2.topology_spread = vec![spread(crate::model::ZONE_LABEL, 1, "a2")];
        let mut t3 = with_app(spec(cpu[3], 2 * GI), "a3");
        t3.priority = 100;
        t3.host_ports = vec![crate::model::HostPort {
            protocol: crate::model::Protocol::Tcp,
            host_ip: String::new(),
            port: 8080,
        }];
        // Pod (anti-)affinity both ways: required anti-affinity to itself
        // per host, preferred terms per zone (one with a namespace selector);
        // required affinity to a2 in either namespace, anti-affinity to a1,
        // and preferred terms (one with a selector the label index cannot
        // narrow).
        let mut t4 = with_app(spec(cpu[0], GI / 4), "a4");
        t4.pod_anti_affinity.required = vec![term("a4", crate::model::HOSTNAME_LABEL)];
        t4.pod_affinity.preferred = vec![(10, term("a0", crate::model::ZONE_LABEL))];
        let mut by_ns = Labels::new();
        by_ns.insert("kubernetes.io/metadata.name".into(), "other".into());
        let mut t = term("a4", crate::model::ZONE_LABEL);
        t.namespace_selector = Some(LabelSelector::from_map(&by_ns));
        t4.pod_anti_affinity.preferred = vec![(20, t)];
        let mut t5 = with_app(spec(cpu[1], GI / 4), "a5");
        let mut t = term("a2", crate::model::ZONE_LABEL);
        t.namespaces = vec!["default".into(), "other".into()];
        t5.pod_affinity.required = vec![t];
        t5.pod_anti_affinity.required = vec![term("a1", crate::model::ZONE_LABEL)];
        let any_app = PodAffinityTerm {
            selector: Some(LabelSelector {
                requirements: vec![Requirement {
                    key: "app".into(),
                    op: Operator::Exists,
                    values: Vec::new(),
                }],
            }),
            ..term("", crate::model::HOSTNAME_LABEL)
        };
        t5.pod_affinity.preferred = vec![(5, term("a5", crate::model::HOSTNAME_LABEL))];
        t5.pod_anti_affinity.preferred = vec![(3, any_app)];
        [t0, t1, t2, t3, t4, t5]
            .into_iter()
            .map(|t| w.add_spec(t))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Differential: the default profile decides exactly as the same
        /// plugins seen node by node, over a random history of scheduling
        /// (with preemption and nominations), node label, taint and
        /// unschedulable changes, zone moves, pods ending or removed, in two
        /// namespaces, Services added (a new default spreading selector) and
        /// pods of new templates; InterPodAffinity is compared with a
        /// full-scan reference. Clusters of 100+ nodes sample
        /// `numFeasibleNodesToFind` nodes in chunks.
        #[test]
        fn batch_and_cached_paths_decide_as_per_node(
            num_nodes in prop_oneof![1usize..8, 100usize..130],
            cpu in prop::array::uniform4(0i64..1500),
            pods in prop::collection::vec(0usize..6, 1..120),
            ops in prop::collection::vec((0u8..12, 0usize..200, 0usize..200), 1..160),
            seed in any::<u64>(),
        ) {
            let mut w = World::default();
            for i in 0..num_nodes {
                let mut n = zoned(&format!("n{i}"), &format!("z{}", i % 3));
                n.allocatable.milli_cpu = 1000 + 1000 * (i as i64 % 3);
                n.allocatable.memory = 4 * GI;
                n.allocatable.pods = 4 + i as i64 % 5;
                n.images = vec![("app:1".into(), 300 * MI)];
                w.add_node(n);
            }
            let specs = templates(&mut w, &cpu);
            let mut ids: Vec<PodId> = pods
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let ns = if i % 4 == 3 { "other" } else { "default" };
                    w.create_pod(Pod::new(format!("p{i}"), ns, specs[t], None), 0)
                })
                .collect();
            let mut fast = Scheduler::new("default", Path::new("."), KubeVersion::DEFAULT, seed).unwrap();
            let mut plain = plain_default(seed);
            for (step, &(op, a, b)) in ops.iter().enumerate() {
                let now = step as Time * SECOND;
                for c in std::mem::take(&mut w.changes) {
                    fast.on_change(&w, c, now);
                    plain.on_change(&w, c, now);
                }
                let p = ids[a % ids.len()];
                let n = NodeId((b % num_nodes) as u32);
                match op {
                    0..=4 if w.pod(p).is_unbound() => {
                        let out = fast.schedule_one(&w, p, now);
                        prop_assert_eq!(&out, &plain.schedule_one(&w, p, now));
                        match out {
                            Outcome::Bind(n) => w.bind(p, n, now),
                            Outcome::Unschedulable { preemption: Some(pre), .. } => {
                                w.pods[p.idx()].nominated_node = Some(pre.node);
                                for v in pre.victims {
                                    w.mark_deleting(v, now);
                                }
                            }
                            Outcome::Unschedulable { .. } => {}
                        }
                    }
                    5 if a % 4 == 0 => {
                        // A node moves to another zone (topology domains change).
                        let zone = format!("z{}", b % 4);
                        w.nodes[n.idx()].labels.insert(crate::model::ZONE_LABEL.into(), zone);
                        w.node_changed(n);
                    }
                    5 => {
                        let labels = &mut w.nodes[n.idx()].labels;
                        if labels.remove("disk").is_none() {
                            labels.insert("disk".into(), "ssd".into());
                        }
                        w.node_changed(n);
                    }
                    6 | 7 => {
                        let effect = if op == 6 { TaintEffect::NoSchedule } else { TaintEffect::PreferNoSchedule };
                        let taints = &mut w.nodes[n.idx()].taints;
                        if taints.iter().any(|t| t.effect == effect) {
                            taints.retain(|t| t.effect != effect);
                        } else {
                            taints.push(taint(effect));
                        }
                        w.node_changed(n);
                    }
                    8 => {
                        let node = &mut w.nodes[n.idx()];
                        node.unschedulable = !node.unschedulable;
                        w.node_changed(n);
                    }
                    9 if w.pod(p).node.is_some() && a % 2 == 0 => {
                        w.set_phase(p, crate::model::PodPhase::Succeeded)
                    }
                    9 => w.remove_pod(p),
                    10 => {
                        // A Service selecting one app: its pods get the system
                        // default spreading constraints from then on.
                        w.services.push(service(&format!("s{step}"), &format!("a{}", a % 4)));
                    }
                    11 => {
                        // A new template like an existing one, and a pod of it.
                        let t = w.spec(specs[a % specs.len()]).clone();
                        let spec = w.add_spec(t);
                        ids.push(w.create_pod(Pod::new(format!("q{step}"), "default", spec, None), now));
                    }
                    _ => {}
                }
            }
        }
    }
}
