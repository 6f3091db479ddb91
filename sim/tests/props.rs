//! Property tests: random clusters and workloads keep the World's invariants
//! after every event (no node over-committed, each pod in one phase, owners
//! alive, time monotonic — checked by `--check-invariants`), and replay
//! identically. A failing case prints its seed; proptest shrinks it.

use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Workload {
    replicas: u32,
    cpu_m: u32,
    mem_mi: u32,
    scale_to: Option<u32>,
}

fn scenario_yaml(
    nodes: u32,
    node_cpu: u32,
    zones: u32,
    workloads: &[Workload],
    seed: u64,
) -> String {
    let zone_list: Vec<String> = (0..zones).map(|z| format!("z{z}")).collect();
    let mut s = format!(
        "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: prop}}\nspec:\n  seed: {seed}\n  duration: 5m\n  cluster:\n    nodePools:\n    - name: pool\n      count: {nodes}\n      zones: [{}]\n      allocatable: {{cpu: \"{node_cpu}\", memory: 8Gi, pods: \"20\"}}\n",
        zone_list.join(", ")
    );
    let events: Vec<String> = workloads
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.scale_to.map(|r| {
                format!(
                    "  - {{at: {}s, action: scale, target: deployment/w{i}, replicas: {r}}}\n",
                    30 + i * 7
                )
            })
        })
        .collect();
    if !events.is_empty() {
        s.push_str("  events:\n");
        s.push_str(&events.concat());
    }
    for (i, w) in workloads.iter().enumerate() {
        s.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w{i}}}\nspec:\n  replicas: {}\n  selector: {{matchLabels: {{app: w{i}}}}}\n  template:\n    metadata: {{labels: {{app: w{i}}}}}\n    spec:\n      containers:\n      - name: c\n        image: img{i}\n        resources: {{requests: {{cpu: {}m, memory: {}Mi}}}}\n",
            w.replicas, w.cpu_m, w.mem_mi
        ));
    }
    s
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        0u32..8,
        50u32..3000,
        64u32..4096,
        proptest::option::of(0u32..10),
    )
        .prop_map(|(replicas, cpu_m, mem_mi, scale_to)| Workload {
            replicas,
            cpu_m,
            mem_mi,
            scale_to,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn invariants_hold_on_random_clusters(
        nodes in 1u32..8, node_cpu in 1u32..8, zones in 1u32..4,
        workloads in proptest::collection::vec(workload(), 1..5), seed in 0u64..1000,
    ) {
        let yaml = scenario_yaml(nodes, node_cpu, zones, &workloads, seed);
        let dir = std::env::temp_dir().join(format!("kubesim-prop-{}-{seed}-{nodes}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.yaml");
        std::fs::write(&file, &yaml).unwrap();
        let s = kubesim::scenario::load(&file).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let opts = kubesim::run::RunOptions { check_invariants: true, ..Default::default() };
        let a = kubesim::run::run(&s, &opts);
        prop_assert!(a.is_ok(), "invariant violated: {}\nscenario:\n{yaml}", a.err().unwrap());
        let b = kubesim::run::run(&s, &opts).unwrap();
        prop_assert_eq!(super::stable_json(&a.unwrap()), super::stable_json(&b));
    }
}
