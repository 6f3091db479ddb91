//! Malformed and impossible input: exit code 2 and a message naming the file,
//! line and field, never a panic.

const HEAD: &str =
    "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: bad}\nspec:\n";
const POOL: &str = "  cluster:\n    nodePools:\n    - name: p\n      count: 2\n      allocatable: {cpu: \"4\", memory: 8Gi}\n";

/// A Deployment `x` with one container `app`, as a further document.
const DEPLOYMENT: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: app, image: i}]}\n";

/// A Job `batch`, as a further document ending in its `spec:` mapping.
const JOB: &str = "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: batch}\nspec:\n  template:\n    spec: {restartPolicy: Never, containers: [{name: app, image: i}]}\n";

/// (name, file content, text the error must contain, line it must name)
fn cases() -> Vec<(&'static str, String, &'static str, usize)> {
    vec![
        (
            "typo",
            format!("{HEAD}  duration: 1m\n  cluster:\n    nodePool: []\n"),
            "did you mean `nodePools`",
            7,
        ),
        (
            "bad-quantity",
            format!(
                "{HEAD}  duration: 1m\n  cluster:\n    nodePools:\n    - name: p\n      count: 1\n      allocatable: {{cpu: \"abc\", memory: 1Gi}}\n"
            ),
            "allocatable.cpu",
            10,
        ),
        (
            "bad-duration",
            format!("{HEAD}  duration: 5 minutes\n{POOL}"),
            "spec.duration",
            5,
        ),
        (
            "negative-count",
            format!(
                "{HEAD}  duration: 1m\n  cluster:\n    nodePools:\n    - name: p\n      count: -3\n      allocatable: {{cpu: \"4\", memory: 8Gi}}\n"
            ),
            "count",
            9,
        ),
        (
            "unknown-action",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: scael, target: deployment/x, replicas: 1}}\n"
            ),
            "did you mean `scale`",
            12,
        ),
        (
            "missing-target",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: scale, target: deployment/nope, replicas: 1}}\n"
            ),
            "no deployment named default/nope",
            12,
        ),
        (
            "event-after-end",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 2m, action: scale, target: deployment/x, replicas: 1}}\n"
            ),
            "after the end",
            12,
        ),
        (
            "syntax",
            format!("{HEAD}  duration: 1m\n  cluster: [\n"),
            "bad.yaml",
            0,
        ),
        (
            "missing-manifest",
            format!("{HEAD}  duration: 1m\n{POOL}  manifests: [nowhere.yaml]\n"),
            "cannot read manifest file",
            11,
        ),
        (
            "not-a-scenario",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n".to_string(),
            "must be a kubesim Scenario",
            2,
        ),
        ("empty", "# nothing here\n".to_string(), "bad.yaml", 0),
        (
            "kind-typo",
            format!(
                "{HEAD}  duration: 1m\n{POOL}---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {{name: x}}\n"
            ),
            "did you mean `Deployment`",
            13,
        ),
        (
            "negative-replicas",
            format!(
                "{HEAD}  duration: 1m\n{POOL}---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: x}}\nspec:\n  replicas: -2\n  selector: {{matchLabels: {{a: b}}}}\n  template:\n    metadata: {{labels: {{a: b}}}}\n    spec: {{containers: [{{name: c, image: i}}]}}\n"
            ),
            "spec.replicas",
            16,
        ),
        ("no-nodes", format!("{HEAD}  duration: 1m\n"), "no nodes", 0),
        (
            "job-arrivals-template-not-suspended",
            format!(
                "{HEAD}  duration: 1h\n{POOL}  jobArrivals:\n  - {{template: job/batch, rate: 30/h}}\n{JOB}"
            ),
            "not suspended",
            12,
        ),
        (
            "job-arrivals-field-typo",
            format!(
                "{HEAD}  duration: 1h\n{POOL}  jobArrivals:\n  - {{template: job/batch, rte: 30/h}}\n{JOB}  suspend: true\n"
            ),
            "did you mean `rate`",
            12,
        ),
        (
            "job-arrivals-missing-template",
            format!(
                "{HEAD}  duration: 1h\n{POOL}  jobArrivals:\n  - {{template: job/btch, rate: 30/h}}\n{JOB}  suspend: true\n"
            ),
            "did you mean `job/batch`",
            12,
        ),
        (
            "job-arrivals-bad-distribution",
            format!(
                "{HEAD}  duration: 1h\n{POOL}  jobArrivals:\n  - {{template: job/batch, rate: 30/h, distribution: exponental}}\n{JOB}  suspend: true\n"
            ),
            "did you mean `exponential`",
            12,
        ),
        (
            "job-negative-ttl",
            format!("{HEAD}  duration: 1h\n{POOL}{JOB}  ttlSecondsAfterFinished: -5\n"),
            "spec.ttlSecondsAfterFinished",
            18,
        ),
        (
            "rollout-missing-deployment",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: rollout, target: deployment/nope, image: \"web:2\"}}\n"
            ),
            "no deployment named default/nope",
            12,
        ),
        (
            "rollout-container-typo",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: rollout, target: deployment/x, container: ap, image: \"web:2\"}}\n{DEPLOYMENT}"
            ),
            "did you mean `app`",
            12,
        ),
        (
            "rollout-container-without-image",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: rollout, target: deployment/x, container: app}}\n{DEPLOYMENT}"
            ),
            "`container` needs `image`",
            12,
        ),
        (
            "rollout-of-a-statefulset",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  events:\n  - {{at: 10s, action: rollout, target: sts/x}}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: x}}\nspec:\n  serviceName: x\n  selector: {{matchLabels: {{a: b}}}}\n  template:\n    metadata: {{labels: {{a: b}}}}\n    spec: {{containers: [{{name: app, image: i}}]}}\n"
            ),
            "rollout applies to Deployments",
            12,
        ),
        (
            "cpu-per-request-not-a-quantity",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  traffic:\n  - {{service: web, rate: 10/s, podCapacity: 10/s, cpuPerRequest: abc}}\n{WEB_SERVICE}"
            ),
            "spec.traffic[0].cpuPerRequest",
            12,
        ),
        (
            "cpu-per-request-typo",
            format!(
                "{HEAD}  duration: 1m\n{POOL}  traffic:\n  - {{service: web, rate: 10/s, podCapacity: 10/s, cpuPerReqest: 5m}}\n{WEB_SERVICE}"
            ),
            "did you mean `cpuPerRequest`",
            12,
        ),
        (
            "hpa-select-policy",
            format!(
                "{HEAD}  duration: 1m\n{POOL}{WEB_SERVICE}---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n  maxReplicas: 5\n  behavior:\n    scaleUp: {{selectPolicy: Maxx}}\n"
            ),
            "did you mean `Max`",
            24,
        ),
    ]
}

/// A Service for traffic entries to name.
const WEB_SERVICE: &str = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n";

#[test]
fn bad_input_is_exit_2_with_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("kubesim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for (name, content, needle, line) in cases() {
        let file = dir.join("bad.yaml");
        std::fs::write(&file, &content).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(["validate"])
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let at = format!("bad.yaml:{line}:");
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{name}: exit {:?}, stderr: {err}",
                out.status.code()
            ));
        } else if !err.contains(needle)
            || (line > 0 && !err.contains(&at))
            || err.contains("panicked")
        {
            failures.push(format!(
                "{name}: expected {needle:?} at line {line}, got: {err}"
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn binary_file_is_rejected() {
    let dir = std::env::temp_dir().join(format!("kubesim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.yaml");
    std::fs::write(&file, [0x7f, b'E', b'L', b'F', 0, 0, 1, 2]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("run")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// An invalid cpu quantity is one error, not also "allocatable must give at
/// least cpu and memory" (the field was given, just wrong).
#[test]
fn invalid_allocatable_cpu_is_reported_once() {
    let dir = std::env::temp_dir().join(format!("kubesim-once-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    let (_, content, _, _) = cases().into_iter().find(|c| c.0 == "bad-quantity").unwrap();
    std::fs::write(&file, content).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("invalid quantity \"abc\""), "{err}");
    assert!(!err.contains("at least cpu and memory"), "{err}");
}
