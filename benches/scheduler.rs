//! Per-pod scheduling cost: a SchedulingBasic-shaped scenario (nodes of 4 cpu /
//! 32Gi / 110 pods, pods of 100m / 500Mi) at 100, 1000 and 5000 nodes, for the
//! `default` and `binpack` profiles, run end to end (`run::run`) with the
//! number of pods reduced so `cargo bench` finishes in seconds. Throughput is
//! reported per pod; the scenario is loaded once, outside the measurement.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubesim::run::{RunOptions, run};
use kubesim::scenario::{Scenario, load};

/// Pods scheduled per run (the measured Deployment's replicas).
const PODS: u32 = 500;

fn scenario_yaml(nodes: u32, pods: u32) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: bench}}\nspec:\n  seed: 1\n  duration: 2m\n  cluster:\n    nodePools:\n    - name: node\n      count: {nodes}\n      allocatable: {{cpu: \"4\", memory: 32Gi, pods: \"110\"}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: measured}}\nspec:\n  replicas: {pods}\n  selector: {{matchLabels: {{app: measured}}}}\n  template:\n    metadata: {{labels: {{app: measured}}}}\n    spec:\n      containers:\n      - name: pause\n        image: registry.k8s.io/pause:3.10\n        resources: {{requests: {{cpu: 100m, memory: 500Mi}}}}\n"
    )
}

fn load_text(name: &str, text: &str) -> Scenario {
    let dir = std::env::temp_dir().join(format!("kubesim-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.yaml");
    std::fs::write(&file, text).unwrap();
    let s = load(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    s
}

fn scheduler(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PODS)));
    for nodes in [100u32, 1000, 5000] {
        let s = load_text(&nodes.to_string(), &scenario_yaml(nodes, PODS));
        for profile in ["default", "binpack"] {
            let opts = RunOptions {
                scheduler: Some(profile.to_string()),
                until_stable: true,
                ..Default::default()
            };
            g.bench_function(format!("{profile}/{nodes}_nodes"), |b| {
                b.iter(|| {
                    let r = run(&s, &opts).unwrap();
                    assert_eq!(r.pods.scheduled, u64::from(PODS));
                    r.pods.scheduled
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
