//! Per-pod scheduling cost: a SchedulingBasic-shaped scenario (nodes of 4 cpu /
//! 32Gi / 110 pods, pods of 100m / 500Mi) at 100, 1000, 5000 and 15000 nodes,
//! for the `default` and `binpack` profiles, run end to end (`run::run`) with
//! the number of pods reduced so `cargo bench` finishes in minutes. Then the
//! three scale scenarios of `scenarios/scale/` (SchedulingBasic,
//! TopologySpreading, PodAntiAffinity) at a tenth of their size. Throughput is
//! reported per pod; scenarios are loaded once, outside the measurement.

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
    for nodes in [100u32, 1000, 5000, 15000] {
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

/// The scale scenarios with every node count and replica count divided by 10.
fn scale_shapes(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_shapes");
    g.sample_size(10);
    for name in [
        "scheduling-basic",
        "topology-spreading",
        "pod-anti-affinity",
    ] {
        let path = format!("{}/scenarios/scale/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let reduced: String = text
            .lines()
            .map(
                |l| match l.find("count: ").or_else(|| l.find("replicas: ")) {
                    Some(i) => {
                        let (head, tail) = l.split_at(i);
                        let (key, rest) = tail.split_at(tail.find(": ").unwrap() + 2);
                        let digits: String =
                            rest.chars().take_while(char::is_ascii_digit).collect();
                        let n: u32 = digits.parse().unwrap_or(0);
                        format!("{head}{key}{}{}\n", n / 10, &rest[digits.len()..])
                    }
                    None => format!("{l}\n"),
                },
            )
            .collect();
        let s = load_text(name, &reduced);
        let opts = RunOptions {
            until_stable: true,
            ..Default::default()
        };
        let pods = run(&s, &opts).unwrap().pods.scheduled;
        g.throughput(Throughput::Elements(pods));
        g.bench_function(format!("{name}/tenth"), |b| {
            b.iter(|| run(&s, &opts).unwrap().pods.scheduled)
        });
    }
    g.finish();
}

criterion_group!(benches, scheduler, scale_shapes);
criterion_main!(benches);
