//! Real-looking manifests, as users have them, through parse and insert.

use super::*;
use crate::model::taints::{Toleration, TolerationOp};
use crate::model::{DeploymentId, PodId};
use crate::scenario::yaml::parse_documents;

fn parse(
    file: &str,
    text: &str,
    summary: &mut LoadSummary,
) -> Result<Vec<Parsed>, Vec<InputError>> {
    let docs = parse_documents(file, text).expect("valid YAML");
    parse_objects(file, &docs, &LoadDefaults::default(), summary)
}

struct Loaded {
    world: World,
    summary: LoadSummary,
    notes: Vec<String>,
}

fn load_files(files: &[(&str, &str)]) -> Result<Loaded, Vec<InputError>> {
    let mut summary = LoadSummary::default();
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        match parse(file, text, &mut summary) {
            Ok(mut p) => all.append(&mut p),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut world = World::default();
    let notes = insert_objects(&mut world, all, &LoadDefaults::default())?;
    Ok(Loaded {
        world,
        summary,
        notes,
    })
}

fn load(text: &str) -> Loaded {
    match load_files(&[("m.yaml", text)]) {
        Ok(l) => l,
        Err(e) => panic!("unexpected errors:\n{}", crate::error::Error::Input(e)),
    }
}

/// 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

fn errors(text: &str) -> Vec<InputError> {
    match load_files(&[("m.yaml", text)]) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e,
    }
}

/// The Kubernetes tutorial "Exposing an External IP Address to Access an
/// Application in a Cluster" (service/load-balancer-example.yaml), and the
/// Service `kubectl expose --type=LoadBalancer --name=my-service` makes for it.
const HELLO_WORLD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/name: load-balancer-example
  name: hello-world
spec:
  replicas: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: load-balancer-example
  template:
    metadata:
      labels:
        app.kubernetes.io/name: load-balancer-example
    spec:
      containers:
      - image: gcr.io/google-samples/node-hello:1.0
        name: hello-world
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: my-service
  labels:
    app.kubernetes.io/name: load-balancer-example
spec:
  type: LoadBalancer
  selector:
    app.kubernetes.io/name: load-balancer-example
  ports:
  - protocol: TCP
    port: 8080
    targetPort: 8080
"#;

/// The Deployment of the Kubernetes docs (controllers/nginx-deployment.yaml),
/// with 2 replicas as in "Run a Stateless Application Using a Deployment".
const NGINX: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2 # tells deployment to run 2 pods matching the template
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
"#;

/// `kubectl get nodes -o yaml` of a two-node cluster, trimmed only in length.
const NODES: &str = r#"
apiVersion: v1
items:
- apiVersion: v1
  kind: Node
  metadata:
    annotations:
      kubeadm.alpha.kubernetes.io/cri-socket: unix:///run/containerd/containerd.sock
      node.alpha.kubernetes.io/ttl: "0"
      volumes.kubernetes.io/controller-managed-attach-detach: "true"
    creationTimestamp: "2024-05-02T09:14:31Z"
    labels:
      beta.kubernetes.io/arch: amd64
      beta.kubernetes.io/os: linux
      kubernetes.io/arch: amd64
      kubernetes.io/hostname: kind-control-plane
      kubernetes.io/os: linux
      node-role.kubernetes.io/control-plane: ""
      topology.kubernetes.io/zone: zone-a
    managedFields:
    - apiVersion: v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:annotations:
            .: {}
            f:kubeadm.alpha.kubernetes.io/cri-socket: {}
          f:labels:
            .: {}
            f:beta.kubernetes.io/arch: {}
      manager: kubelet
      operation: Update
      time: "2024-05-02T09:14:31Z"
    name: kind-control-plane
    resourceVersion: "4521"
    uid: 6c3b9d8e-1f6a-4b8e-9d0c-2f1e3a4b5c6d
  spec:
    podCIDR: 10.244.0.0/24
    podCIDRs:
    - 10.244.0.0/24
    providerID: kind://docker/kind/kind-control-plane
    taints:
    - effect: NoSchedule
      key: node-role.kubernetes.io/control-plane
  status:
    addresses:
    - address: 172.18.0.2
      type: InternalIP
    - address: kind-control-plane
      type: Hostname
    allocatable:
      cpu: "8"
      ephemeral-storage: 263112772Ki
      hugepages-1Gi: "0"
      hugepages-2Mi: "0"
      memory: 32698536Ki
      pods: "110"
    capacity:
      cpu: "8"
      ephemeral-storage: 263112772Ki
      hugepages-1Gi: "0"
      hugepages-2Mi: "0"
      memory: 32698536Ki
      pods: "110"
    conditions:
    - lastHeartbeatTime: "2024-05-02T10:01:12Z"
      lastTransitionTime: "2024-05-02T09:14:28Z"
      message: kubelet has sufficient memory available
      reason: KubeletHasSufficientMemory
      status: "False"
      type: MemoryPressure
    - lastHeartbeatTime: "2024-05-02T10:01:12Z"
      lastTransitionTime: "2024-05-02T09:14:55Z"
      message: kubelet is posting ready status
      reason: KubeletReady
      status: "True"
      type: Ready
    daemonEndpoints:
      kubeletEndpoint:
        Port: 10250
    images:
    - names:
      - registry.k8s.io/etcd@sha256:44a8e24dcbba3470ee1fee21d5e88d128c936e9b55d4bc51fbef8086f8ed123b
      - registry.k8s.io/etcd:3.5.12-0
      sizeBytes: 57236178
    - names:
      - docker.io/library/nginx:1.14.2
      sizeBytes: 44708492
    nodeInfo:
      architecture: amd64
      bootID: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0
      containerRuntimeVersion: containerd://1.7.15
      kernelVersion: 6.5.0-28-generic
      kubeProxyVersion: v1.30.0
      kubeletVersion: v1.30.0
      machineID: 5e0d7c1a2b3c4d5e6f708192a3b4c5d6
      operatingSystem: linux
      osImage: Debian GNU/Linux 12 (bookworm)
      systemUUID: 5e0d7c1a-2b3c-4d5e-6f70-8192a3b4c5d6
- apiVersion: v1
  kind: Node
  metadata:
    creationTimestamp: "2024-05-02T09:14:50Z"
    labels:
      kubernetes.io/arch: amd64
      kubernetes.io/os: linux
      nvidia.com/gpu.present: "true"
    name: kind-worker
  spec:
    podCIDR: 10.244.1.0/24
  status:
    allocatable:
      cpu: 3800m
      memory: "15Gi"
      pods: "110"
      nvidia.com/gpu: "2"
    capacity:
      cpu: "4"
      memory: 16Gi
      pods: "110"
      nvidia.com/gpu: "2"
    images:
    - names:
      - gcr.io/google-samples/node-hello:1.0
      sizeBytes: 258123456
    - names:
      - docker.io/library/busybox:1.36
kind: List
metadata:
  resourceVersion: ""
"#;

#[test]
fn hello_world_tutorial_loads_as_deployment_and_load_balancer() {
    let l = load(HELLO_WORLD);
    let w = &l.world;
    assert_eq!(w.deployments.len(), 1);
    let d = &w.deployments[0];
    assert_eq!(
        (d.meta.namespace.as_str(), d.meta.name.as_str()),
        ("default", "hello-world")
    );
    assert_eq!(d.replicas, 5);
    assert!(
        d.replicasets.is_empty(),
        "the controller makes the ReplicaSet"
    );
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25)
        }
    );
    assert_eq!(d.revision_history_limit, 10);
    let spec = w.spec(d.spec);
    assert_eq!(spec.images, ["gcr.io/google-samples/node-hello:1.0"]);
    assert_eq!(
        spec.labels["app.kubernetes.io/name"],
        "load-balancer-example"
    );
    assert!(
        spec.host_ports.is_empty(),
        "containerPort alone is no hostPort"
    );
    assert!(spec.requests.is_zero_request());
    assert_eq!(spec.requests.pods, 1);
    // BestEffort: both containers' requests omitted → the scheduler's defaults.
    assert_eq!(spec.nonzero_milli_cpu, 100);
    assert_eq!(spec.nonzero_memory, 200 * 1024 * 1024);
    assert_eq!(spec.scheduler_name, "default-scheduler");
    assert_eq!(spec.termination_grace, 30 * SECOND);
    assert_eq!(spec.priority, 0);

    let s = &w.services[0];
    assert_eq!(s.meta.name, "my-service");
    assert_eq!(s.service_type, "LoadBalancer");
    assert_eq!(s.ports, vec![(String::new(), 8080, "8080".to_string())]);
    let selector = s.selector.as_ref().unwrap();
    assert!(LabelSelector::from_map(selector).matches(&spec.labels));
    assert_eq!(l.summary.objects, 2);
    assert!(l.summary.ignored.is_empty());
}

#[test]
fn nginx_deployment_has_two_replicas() {
    let l = load(NGINX);
    let d = &l.world.deployments[0];
    assert_eq!(d.replicas, 2);
    assert_eq!(l.world.spec(d.spec).images, ["nginx:1.14.2"]);
}

#[test]
fn kubectl_get_nodes_list_loads_allocatable_taints_and_images() {
    let l = load(NODES);
    let w = &l.world;
    assert_eq!(w.nodes.len(), 2);
    let cp = &w.nodes[0];
    assert_eq!(cp.name, "kind-control-plane");
    assert_eq!(cp.allocatable.milli_cpu, 8000);
    assert_eq!(cp.allocatable.memory, 32698536 * 1024);
    assert_eq!(cp.allocatable.ephemeral_storage, 263112772 * 1024);
    assert_eq!(cp.allocatable.pods, 110);
    assert!(
        cp.allocatable.scalar.is_empty(),
        "zero hugepages are not kept"
    );
    assert_eq!(cp.taints.len(), 1);
    assert_eq!(cp.taints[0].key, "node-role.kubernetes.io/control-plane");
    assert_eq!(cp.zone(), Some("zone-a"));
    assert_eq!(
        cp.images[1],
        ("registry.k8s.io/etcd:3.5.12-0".to_string(), 57236178)
    );
    assert!(cp.up && cp.reachable && cp.ready && !cp.unschedulable);
    assert_eq!(cp.startup_latency, DEFAULT_STARTUP_LATENCY);

    let worker = &w.nodes[1];
    assert_eq!(
        worker.labels[HOSTNAME_LABEL], "kind-worker",
        "hostname label added"
    );
    assert_eq!(
        worker.allocatable.milli_cpu, 3800,
        "allocatable, not capacity"
    );
    assert_eq!(worker.allocatable.memory, 15 << 30);
    let gpu = w
        .scalar_names
        .iter()
        .position(|n| n == "nvidia.com/gpu")
        .unwrap();
    assert_eq!(worker.allocatable.scalar(gpu as u16), 2);
    assert_eq!(
        worker.images[1],
        (
            "docker.io/library/busybox:1.36".to_string(),
            DEFAULT_IMAGE_SIZE
        )
    );
    assert_eq!(l.summary.objects, 2);
}

const BUSY_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
  annotations:
    prometheus.io/scrape: "true"
    kubesim.dev/duration: 1h30m
    kubesim.dev/exit-code: "3"
spec:
  securityContext:
    runAsNonRoot: true
    fsGroup: 2000
    seccompProfile: {type: RuntimeDefault}
  serviceAccountName: web
  terminationGracePeriodSeconds: 45
  volumes:
  - name: config
    configMap:
      name: web-config
      defaultMode: 0644
  - name: cache
    emptyDir: {sizeLimit: 500Mi}
  containers:
  - name: web
    image: ghcr.io/acme/web:2.3.1
    imagePullPolicy: IfNotPresent
    args: ["--port=8080"]
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
    - name: LOG_LEVEL
      value: info
    envFrom:
    - secretRef: {name: web-secrets}
    ports:
    - {name: http, containerPort: 8080, protocol: TCP}
    - {name: metrics, containerPort: 9090, hostPort: 9090}
    resources:
      requests: {cpu: 250m, memory: 128974848}
      limits: {cpu: "1", memory: 256Mi}
    readinessProbe:
      httpGet: {path: /healthz, port: http}
      initialDelaySeconds: 5
      periodSeconds: 10
    livenessProbe:
      tcpSocket: {port: 8080}
      initialDelaySeconds: 15
    startupProbe:
      exec: {command: [cat, /tmp/ready]}
      failureThreshold: 30
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "sleep 5"]}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      readOnlyRootFilesystem: true
    volumeMounts:
    - {name: config, mountPath: /etc/web, readOnly: true}
    - {name: cache, mountPath: /cache}
  - name: log-shipper
    image: fluent/fluent-bit:3.0
    resources:
      limits: {cpu: 100m, memory: 64Mi}
"#;

#[test]
fn pod_with_probes_security_env_and_volumes_is_accepted() {
    let l = load(BUSY_POD);
    let w = &l.world;
    let pod = &w.pods[0];
    assert_eq!(pod.key(), "shop/web");
    assert_eq!(pod.phase, PodPhase::Pending);
    assert!(pod.node.is_none());
    let spec = w.pod_spec(PodId(0));
    // 250m + 100m (limits become requests); memory 128974848 + 64Mi.
    assert_eq!(spec.requests.milli_cpu, 350);
    assert_eq!(spec.requests.memory, 128974848 + (64 << 20));
    assert_eq!(spec.nonzero_milli_cpu, 350);
    assert_eq!(spec.readiness_delay, Some(5 * SECOND));
    assert_eq!(spec.termination_grace, 45 * SECOND);
    assert_eq!(spec.behaviour.run_duration, Some(90 * 60 * SECOND));
    assert_eq!(spec.behaviour.exit_code, 3);
    assert_eq!(
        spec.host_ports,
        vec![crate::model::HostPort {
            protocol: crate::model::Protocol::Tcp,
            host_ip: "0.0.0.0".into(),
            port: 9090
        }]
    );
    assert_eq!(
        spec.images,
        ["ghcr.io/acme/web:2.3.1", "fluent/fluent-bit:3.0"]
    );
}

#[test]
fn default_toleration_seconds_are_added_to_pods() {
    let l = load(BUSY_POD);
    let tols = &l.world.pod_spec(PodId(0)).tolerations;
    let want = |key: &str| Toleration {
        key: key.into(),
        op: TolerationOp::Exists,
        value: String::new(),
        effect: Some(TaintEffect::NoExecute),
        toleration_seconds: Some(300),
    };
    assert_eq!(
        tols,
        &vec![
            want("node.kubernetes.io/not-ready"),
            want("node.kubernetes.io/unreachable")
        ]
    );
}

#[test]
fn typo_in_a_container_field_is_located_with_a_hint() {
    let bad = NGINX.replace(
        "        image: nginx:1.14.2\n",
        "        image: nginx:1.14.2\n        imagePullPolicyy: Always\n",
    );
    let e = errors(&bad);
    assert_eq!(e.len(), 1, "{e:?}");
    let e = &e[0];
    assert_eq!(e.message, "unknown field \"imagePullPolicyy\"");
    assert_eq!(
        e.field.as_deref(),
        Some("spec.template.spec.containers[0].imagePullPolicyy")
    );
    assert_eq!(
        (e.line, e.column),
        (Some(line_of(&bad, "imagePullPolicyy")), Some(9))
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `imagePullPolicy`?"));
}

#[test]
fn typos_at_every_level_are_all_reported() {
    let bad = HELLO_WORLD
        .replace("  replicas: 5\n", "  replica: 5\n")
        .replace(
            "  type: LoadBalancer\n",
            "  type: LoadBalancer\n  sessionAfinity: None\n",
        );
    let e = errors(&bad);
    let fields: Vec<_> = e
        .iter()
        .map(|e| (e.field.clone().unwrap(), e.hint.clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            (
                "spec.replica".to_string(),
                Some("did you mean `replicas`?".to_string())
            ),
            (
                "spec.sessionAfinity".to_string(),
                Some("did you mean `sessionAffinity`?".to_string())
            ),
        ]
    );
    // The Service's error points into the second document.
    assert_eq!(e[1].line, Some(line_of(&bad, "sessionAfinity")));
}

#[test]
fn bad_quantity_names_line_and_field() {
    let bad = BUSY_POD.replace("requests: {cpu: 250m,", "requests: {cpu: \"abc\",");
    let e = errors(&bad);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0].field.as_deref(),
        Some("spec.containers[0].resources.requests.cpu")
    );
    assert_eq!(e[0].line, Some(line_of(&bad, "abc")));
    assert!(e[0].message.contains("\"abc\""), "{}", e[0].message);
    assert!(
        e[0].message
            .contains("quantities must match the regular expression"),
        "{}",
        e[0].message
    );
}

#[test]
fn negative_quantities_and_requests_above_limits_are_rejected() {
    let bad = BUSY_POD
        .replace("requests: {cpu: 250m,", "requests: {cpu: 2,")
        .replace(
            "limits: {cpu: 100m, memory: 64Mi}",
            "limits: {cpu: 100m, memory: -64Mi}",
        );
    let e = errors(&bad);
    let msgs: Vec<_> = e
        .iter()
        .map(|e| format!("{}: {}", e.field.as_deref().unwrap(), e.message))
        .collect();
    assert_eq!(
        msgs,
        vec![
            "spec.containers[0].resources.requests.cpu: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            "spec.containers[1].resources.limits.memory: Invalid value: \"-64Mi\": must be greater than or equal to 0",
        ]
    );
}

#[test]
fn negative_replicas_are_rejected() {
    let e = errors(&NGINX.replace("replicas: 2", "replicas: -2"));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field.as_deref(), Some("spec.replicas"));
    assert_eq!(
        e[0].message,
        "Invalid value: -2: must be greater than or equal to 0"
    );
    assert_eq!(e[0].line, Some(line_of(NGINX, "replicas:")));
}

#[test]
fn selector_must_match_template_labels() {
    let e = errors(&NGINX.replace(
        "        app: nginx\n    spec:",
        "        app: web\n    spec:",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field.as_deref(), Some("spec.template.metadata.labels"));
    assert_eq!(
        e[0].message,
        "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"
    );
    let missing = errors(&NGINX.replace("  selector:\n    matchLabels:\n      app: nginx\n", ""));
    assert_eq!(missing[0].field.as_deref(), Some("spec.selector"));
    assert_eq!(missing[0].message, "Required value");
}

#[test]
fn rolling_update_with_nothing_to_move_is_rejected() {
    let text = NGINX.replace(
        "  replicas: 2",
        "  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: \"0%\"}\n  replicas: 2",
    );
    let e = errors(&text);
    assert_eq!(
        e[0].field.as_deref(),
        Some("spec.strategy.rollingUpdate.maxUnavailable")
    );
    assert_eq!(
        e[0].message,
        "Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"
    );
    let ok = load(&NGINX.replace(
        "  replicas: 2",
        "  strategy: {type: Recreate}\n  minReadySeconds: 5\n  paused: true\n  replicas: 2",
    ));
    let d = &ok.world.deployments[0];
    assert_eq!(d.strategy, DeploymentStrategy::Recreate);
    assert_eq!((d.min_ready_seconds, d.paused), (5, true));
}

const PRIORITY_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: batch-1}
spec:
  priorityClassName: high-priority
  containers:
  - {name: main, image: busybox}
"#;

const HIGH_PRIORITY: &str = r#"
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high-priority
value: 1000000
globalDefault: false
description: "This priority class should be used for XYZ service pods only."
"#;

#[test]
fn missing_priority_class_is_an_error_at_the_pod() {
    let e = errors(PRIORITY_POD);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].message,
        "no PriorityClass with name high-priority was found"
    );
    assert_eq!(e[0].field.as_deref(), Some("spec.priorityClassName"));
    assert_eq!(
        (e[0].file.as_str(), e[0].line),
        ("m.yaml", Some(line_of(PRIORITY_POD, "priorityClassName")))
    );
    let typo = errors(&format!(
        "{HIGH_PRIORITY}---\n{}",
        PRIORITY_POD.replace("high-priority", "high-priorty")
    ));
    assert_eq!(
        typo[0].hint.as_deref(),
        Some("did you mean `high-priority`?")
    );
}

#[test]
fn priority_class_may_come_in_a_later_file() {
    let l = load_files(&[("pods.yaml", PRIORITY_POD), ("classes.yaml", HIGH_PRIORITY)])
        .unwrap_or_else(|e| panic!("{}", crate::error::Error::Input(e)));
    let spec = l.world.pod_spec(PodId(0));
    assert_eq!(spec.priority, 1_000_000);
    assert_eq!(spec.priority_class.as_deref(), Some("high-priority"));
    // The built-in classes exist, and the user's class is after them.
    let names: Vec<_> = l
        .world
        .priority_classes
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "system-node-critical",
            "system-cluster-critical",
            "high-priority"
        ]
    );
}

#[test]
fn global_default_priority_applies_to_pods_without_a_class() {
    let default = HIGH_PRIORITY.replace("globalDefault: false", "globalDefault: true");
    let text = format!("{NGINX}---\n{default}");
    let l = load(&text);
    let spec = l.world.spec(l.world.deployments[0].spec);
    assert_eq!(
        (spec.priority, spec.priority_class.as_deref()),
        (1_000_000, Some("high-priority"))
    );
    // An explicit spec.priority that disagrees is refused, as admission does.
    let e = errors(&format!(
        "{default}---\n{}",
        PRIORITY_POD.replace("  priorityClassName: high-priority\n", "  priority: 5\n")
    ));
    assert!(
        e[0].message
            .contains("the integer value of priority (5) must not be provided"),
        "{}",
        e[0].message
    );
}

#[test]
fn user_priority_classes_cannot_exceed_a_billion() {
    let e = errors(&HIGH_PRIORITY.replace("1000000\n", "2000000000\n"));
    assert_eq!(e[0].field.as_deref(), Some("value"));
    assert_eq!(
        e[0].message,
        "Forbidden: maximum allowed value of a user defined priority is 1000000000"
    );
    let pod = PRIORITY_POD.replace("high-priority", "system-node-critical");
    let l = load(&pod);
    assert_eq!(l.world.pod_spec(PodId(0)).priority, 2_000_001_000);
}

#[test]
fn sidecar_and_init_container_requests_follow_pod_requests() {
    // App 500m/256Mi; init containers in order: migrate 2/1Gi, sidecar istio 100m/128Mi,
    // warmup 1500m/64Mi. Overhead 50m.
    //   cpu:    app + sidecar = 500 + 100 = 600; migrate 2000; warmup 1500 + 100 = 1600
    //           → max(600, 2000) = 2000, + 50 overhead = 2050
    //   memory: 256Mi + 128Mi = 384Mi; migrate 1Gi; warmup 64Mi + 128Mi = 192Mi → 1Gi
    let text = r#"
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  overhead: {cpu: 50m}
  initContainers:
  - name: migrate
    image: migrate:1
    resources: {requests: {cpu: "2", memory: 1Gi}}
  - name: istio
    image: proxy:1
    restartPolicy: Always
    resources: {requests: {cpu: 100m, memory: 128Mi}}
  - name: warmup
    image: warm:1
    resources: {requests: {cpu: 1500m, memory: 64Mi}}
  containers:
  - name: app
    image: app:1
    resources: {requests: {cpu: 500m, memory: 256Mi}}
"#;
    let l = load(text);
    let spec = l.world.pod_spec(PodId(0));
    assert_eq!(spec.requests.milli_cpu, 2050);
    assert_eq!(spec.requests.memory, 1 << 30);
    assert_eq!(spec.nonzero_milli_cpu, 2050);
    assert_eq!(spec.images, ["migrate:1", "proxy:1", "warm:1", "app:1"]);
}

#[test]
fn daemonset_pods_get_the_controllers_tolerations() {
    let text = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluentd, namespace: kube-system}
spec:
  selector: {matchLabels: {name: fluentd}}
  template:
    metadata: {labels: {name: fluentd}}
    spec:
      priorityClassName: system-node-critical
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      containers:
      - name: fluentd
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources:
          limits: {memory: 200Mi}
          requests: {cpu: 100m, memory: 200Mi}
"#;
    let l = load(text);
    let spec = l.world.spec(l.world.daemonsets[0].spec);
    let keys: Vec<_> = spec
        .tolerations
        .iter()
        .map(|t| (t.key.as_str(), t.toleration_seconds))
        .collect();
    assert_eq!(
        keys,
        [
            ("node-role.kubernetes.io/control-plane", None),
            ("node.kubernetes.io/not-ready", None),
            ("node.kubernetes.io/unreachable", None),
            ("node.kubernetes.io/disk-pressure", None),
            ("node.kubernetes.io/memory-pressure", None),
            ("node.kubernetes.io/pid-pressure", None),
            ("node.kubernetes.io/unschedulable", None),
        ]
    );
    assert_eq!(spec.priority, 2_000_001_000);
}

const BOUND_PODS: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: coredns-7db6d8ff4d-4xk2p
    namespace: kube-system
    ownerReferences:
    - apiVersion: apps/v1
      blockOwnerDeletion: true
      controller: true
      kind: ReplicaSet
      name: coredns-7db6d8ff4d
      uid: 0c7a0a4e-7d1e-4d55-8d6b-6f1e1a1d5a10
  spec:
    nodeName: kind-worker
    priority: 2000000000
    priorityClassName: system-cluster-critical
    containers:
    - name: coredns
      image: registry.k8s.io/coredns/coredns:v1.11.1
      resources:
        limits: {memory: 170Mi}
        requests: {cpu: 100m, memory: 70Mi}
  status:
    phase: Running
    podIP: 10.244.1.2
- apiVersion: v1
  kind: Pod
  metadata: {name: hog, namespace: default}
  spec:
    nodeName: kind-worker
    containers:
    - name: hog
      image: busybox
      resources: {requests: {cpu: "4"}}
- apiVersion: v1
  kind: Pod
  metadata: {name: done, namespace: default}
  spec:
    nodeName: kind-worker
    restartPolicy: Never
    containers: [{name: c, image: busybox}]
  status: {phase: Succeeded}
"#;

#[test]
fn pods_with_node_name_are_existing_state() {
    let l = load_files(&[("pods.yaml", BOUND_PODS), ("nodes.yaml", NODES)])
        .unwrap_or_else(|e| panic!("{}", crate::error::Error::Input(e)));
    let w = &l.world;
    let worker = w.node_by_name("kind-worker").unwrap();
    let dns = w
        .pod_by_name("kube-system", "coredns-7db6d8ff4d-4xk2p")
        .unwrap();
    let p = w.pod(dns);
    assert_eq!(
        (p.node, p.phase, p.ready),
        (Some(worker), PodPhase::Running, true)
    );
    assert_eq!(p.owner, None, "loaded as a bare pod");
    assert_eq!(w.pod_spec(dns).priority, 2_000_000_000);
    // 3800m allocatable, 100m used: 4 cpu more would not fit, so the kubelet refuses it.
    let hog = w.pod(w.pod_by_name("default", "hog").unwrap());
    assert_eq!((hog.node, hog.phase), (None, PodPhase::Failed));
    assert_eq!(
        l.notes,
        [
            "pod default/hog was rejected by the kubelet on node kind-worker and is Failed: OutOfcpu: Node didn't have enough resource: cpu, requested: 4000, used: 100, capacity: 3800"
        ]
    );
    assert_eq!(w.node(worker).requested.milli_cpu, 100);
    assert_eq!(l.summary.ignored.get("Pod (Succeeded)"), Some(&1));
    w.check_invariants().unwrap();
}

#[test]
fn node_name_of_a_missing_node_is_an_error_with_a_hint() {
    let pods = BOUND_PODS.replacen("nodeName: kind-worker", "nodeName: kind-wroker", 1);
    let e = load_files(&[("pods.yaml", &pods), ("nodes.yaml", NODES)])
        .err()
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].message, "node \"kind-wroker\" not found");
    assert_eq!(e[0].field.as_deref(), Some("items[0].spec.nodeName"));
    assert_eq!(
        (e[0].file.as_str(), e[0].line),
        ("pods.yaml", Some(line_of(&pods, "kind-wroker")))
    );
    assert_eq!(e[0].hint.as_deref(), Some("did you mean `kind-worker`?"));
}

#[test]
fn other_kinds_are_accepted_and_counted() {
    let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: shop}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.acme.io}
spec: {group: acme.io, names: {kind: Widget, plural: widgets}, scope: Namespaced, versions: []}
---
apiVersion: acme.io/v1
kind: Widget
metadata: {name: w}
spec: {anything: [goes, here]}
"#;
    let l = load(text);
    let line = l.summary.ignored_line().unwrap();
    assert_eq!(
        line,
        "ignored: 5 objects of kinds ConfigMap (2), CustomResourceDefinition (1), Namespace (1), Widget (1)"
    );
    assert_eq!(l.summary.objects, 5);
    // Strictness still applies to the core kinds we know.
    let e = errors("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndatta: {a: b}\n");
    assert_eq!(e[0].hint.as_deref(), Some("did you mean `data`?"));
}

#[test]
fn old_api_versions_of_simulated_kinds_are_errors() {
    let e = errors(&NGINX.replace("apps/v1", "extensions/v1beta1"));
    assert_eq!(
        e[0].message,
        "no matches for kind \"Deployment\" in version \"extensions/v1beta1\""
    );
    assert_eq!(
        e[0].hint.as_deref(),
        Some("Deployment is served as apiVersion apps/v1")
    );
    assert_eq!(e[0].line, Some(2));
    let e = errors("kind: Pod\nmetadata: {name: x}\n");
    assert_eq!(
        e[0].message,
        "Required value: apiVersion not set (expected a string)"
    );
}

#[test]
fn jobs_get_defaults_labels_and_must_not_restart_always() {
    let text = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
"#;
    let docs = parse_documents("job.yaml", text).unwrap();
    let defaults = LoadDefaults {
        job_duration: Some(30 * SECOND),
        ..Default::default()
    };
    let mut summary = LoadSummary::default();
    let parsed = parse_objects("job.yaml", &docs, &defaults, &mut summary).unwrap();
    let mut w = World::default();
    insert_objects(&mut w, parsed, &defaults).unwrap();
    let j = &w.jobs[0];
    assert_eq!(
        (j.completions, j.parallelism, j.backoff_limit),
        (Some(1), 1, 6)
    );
    let spec = w.spec(j.spec);
    assert_eq!(spec.labels["batch.kubernetes.io/job-name"], "pi");
    assert_eq!(spec.behaviour.run_duration, Some(30 * SECOND));
    let e = errors(&text.replace("      restartPolicy: Never\n", ""));
    assert_eq!(
        e[0].field.as_deref(),
        Some("spec.template.spec.restartPolicy")
    );
    assert_eq!(
        e[0].message,
        "Required value: valid values: \"OnFailure\", \"Never\""
    );
}

#[test]
fn duplicates_are_reported_with_the_first_definition() {
    let e = load_files(&[("a.yaml", NGINX), ("b.yaml", NGINX)])
        .err()
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].file, "b.yaml");
    assert_eq!(
        e[0].message,
        "Deployment \"default/nginx-deployment\" is defined twice (first at a.yaml:2)"
    );
}

#[test]
fn statefulset_pdb_and_hpa_are_converted() {
    let text = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: ["ReadWriteOnce"]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: nginx}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: php-apache}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: php-apache}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: old-style}
spec:
  scaleTargetRef: {kind: Deployment, name: php-apache}
  maxReplicas: 4
"#;
    let l = load(text);
    let w = &l.world;
    assert_eq!(w.statefulsets[0].replicas, 3);
    assert_eq!(w.statefulsets[0].policy, PodManagementPolicy::Parallel);
    assert_eq!(w.pdbs[0].min_available, Some(IntOrPercent::Int(2)));
    assert_eq!(w.hpas[0].target_cpu_utilization, Some(50));
    assert_eq!((w.hpas[1].min_replicas, w.hpas[1].max_replicas), (1, 4));
    assert_eq!(w.hpas[1].target_cpu_utilization, Some(80));
    let e = errors(&text.replace(
        "  minAvailable: 2\n",
        "  minAvailable: 2\n  maxUnavailable: 10%\n",
    ));
    assert_eq!(
        e[0].message,
        "Invalid value: minAvailable and maxUnavailable cannot be both set"
    );
}

/// An HPA written before the Deployment it scales, with a behavior.
const HPA_BEHAVIOR: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  behavior:
    scaleDown:
      tolerance: "0.05"
      policies:
      - {type: Pods, value: 2, periodSeconds: 60}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
"#;

#[test]
fn hpa_behavior_is_defaulted_as_the_api_server_does() {
    let l = load(HPA_BEHAVIOR);
    let h = &l.world.hpas[0];
    assert_eq!(h.target, Some(ScaleTarget::Deployment(DeploymentId(0))));
    // No metrics: cpu 80 % (the API default).
    assert_eq!(h.target_cpu_utilization, Some(80));
    let b = h.behavior.as_ref().unwrap();
    let p = |policy_type, value, period_seconds| HpaScalingPolicy {
        policy_type,
        value,
        period_seconds,
    };
    // GenerateHPAScaleUpRules: 0 s window, Max of 4 pods and 100 % per 15 s.
    assert_eq!(b.scale_up.stabilization_window_seconds, Some(0));
    assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
    assert_eq!(
        b.scale_up.policies,
        vec![
            p(HpaPolicyType::Pods, 4, 15),
            p(HpaPolicyType::Percent, 100, 15)
        ]
    );
    // Scale down: what is written, the window left to the controller.
    assert_eq!(b.scale_down.stabilization_window_seconds, None);
    assert_eq!(b.scale_down.policies, vec![p(HpaPolicyType::Pods, 2, 60)]);
    assert_eq!(b.scale_down.tolerance, Some(0.05));
    assert!(l.notes.is_empty(), "{:?}", l.notes);
}

#[test]
fn hpa_behavior_is_validated() {
    let cases = [
        (
            "periodSeconds: 60",
            "periodSeconds: 0",
            "must be greater than zero",
        ),
        (
            "periodSeconds: 60",
            "periodSeconds: 3600",
            "less than or equal to 1800",
        ),
        ("value: 2", "value: -2", "must be greater than zero"),
        ("type: Pods", "type: Pod", "Unsupported value: \"Pod\""),
        (
            "tolerance: \"0.05\"",
            "tolerance: \"-0.05\"",
            "greater than or equal to zero",
        ),
        ("tolerance: \"0.05\"", "tolerance: five", "invalid quantity"),
        (
            "tolerance: \"0.05\"",
            "stabilizationWindowSeconds: 7200",
            "less than or equal to 3600",
        ),
        (
            "tolerance: \"0.05\"",
            "selectPolicy: Maximum",
            "Unsupported value",
        ),
    ];
    for (from, to, want) in cases {
        let bad = HPA_BEHAVIOR.replace(from, to);
        let e = errors(&bad);
        assert_eq!(e.len(), 1, "{to}: {e:?}");
        assert!(e[0].message.contains(want), "{to}: {}", e[0].message);
        let key = to.split(':').next().unwrap();
        assert_eq!(e[0].line, Some(line_of(&bad, to)), "{to}");
        assert!(e[0].field.as_deref().unwrap().ends_with(key), "{to}");
    }
    let e = errors(&HPA_BEHAVIOR.replace("type: Pods", "type: Pod"));
    assert_eq!(e[0].hint.as_deref(), Some("did you mean `Pods`?"));
    let e = errors(&HPA_BEHAVIOR.replace(
        "      policies:\n      - {type: Pods, value: 2, periodSeconds: 60}\n",
        "      policies: []\n",
    ));
    assert!(
        e[0].message.contains("at least one Policy"),
        "{}",
        e[0].message
    );
}

#[test]
fn hpa_whose_target_is_missing_is_accepted_with_a_note() {
    // The API server accepts it; the controller would report FailedGetScale.
    let text = HPA_BEHAVIOR.replace(
        "kind: Deployment, name: web}",
        "kind: Deployment, name: webb}",
    );
    let l = load(&text);
    assert_eq!(l.world.hpas[0].target, None);
    let line = line_of(&text, "scaleTargetRef");
    assert_eq!(l.notes.len(), 1);
    assert!(
        l.notes[0].contains(&format!("(m.yaml:{line})"))
            && l.notes[0]
                .contains("no deployment named default/webb in the scenario (did you mean web?)"),
        "{}",
        l.notes[0]
    );
    // Without apiVersion the kind is looked up in the core group: no match.
    let l = load(&HPA_BEHAVIOR.replace(
        "{apiVersion: apps/v1, kind: Deployment",
        "{kind: Deployment",
    ));
    assert!(
        l.notes[0].contains("no matches for kind \"Deployment\" in group \"\""),
        "{}",
        l.notes[0]
    );
    // Metrics without values in the simulator are listed.
    let l = load(&HPA_BEHAVIOR.replace(
        "  behavior:\n",
        "  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}\n  behavior:\n",
    ));
    assert_eq!(l.world.hpas[0].target_cpu_utilization, None);
    assert!(
        l.notes[0].contains("metrics Resource memory (Utilization) are not simulated; it has no cpu utilization target"),
        "{}",
        l.notes[0]
    );
}

#[test]
fn kubesim_annotations_are_checked() {
    let with = |a: &str| {
        HPA_BEHAVIOR.replace(
            "    metadata: {labels: {app: web}}",
            &format!("    metadata:\n      labels: {{app: web}}\n      annotations: {{{a}}}"),
        )
    };
    let l = load(&with("kubesim.dev/cpu-baseline: 50m"));
    let spec = l.world.spec(l.world.deployments[0].spec);
    assert_eq!(spec.behaviour.cpu_baseline_nanos, Some(50_000_000));
    let bad = with("kubesim.dev/cpu-baseline: lots");
    let e = errors(&bad);
    assert!(e[0].message.contains("\"lots\""), "{}", e[0].message);
    assert_eq!(e[0].line, Some(line_of(&bad, "lots")));
    let e = errors(&with("kubesim.dev/cpu-basline: 50m"));
    assert!(
        e[0].message.contains("unknown kubesim annotation"),
        "{}",
        e[0].message
    );
    assert_eq!(
        e[0].hint.as_deref(),
        Some("did you mean `kubesim.dev/cpu-baseline`?")
    );
}

#[test]
fn every_error_in_a_file_is_collected() {
    let text = format!(
        "{}---\n{}---\n{}",
        NGINX.replace("replicas: 2", "replicas: -1"),
        HELLO_WORLD.replace("containerPort: 8080", "containerPort: 80800"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: 1svc}\nspec: {ports: [{port: 80}], type: LoadBalancr}\n"
    );
    let e = errors(&text);
    let fields: Vec<_> = e
        .iter()
        .map(|e| e.field.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        fields,
        [
            "spec.replicas",
            "spec.template.spec.containers[0].ports[0].containerPort",
            "metadata.name",
            "spec.type"
        ]
    );
    assert_eq!(e[3].hint.as_deref(), Some("did you mean `LoadBalancer`?"));
}

#[test]
fn kubectl_dry_run_output_is_accepted() {
    // `kubectl create deployment web --image=nginx --dry-run=client -o yaml`
    let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx
        name: nginx
        resources: {}
status: {}
"#;
    let l = load(text);
    let d = &l.world.deployments[0];
    assert_eq!(d.replicas, 1);
    assert!(matches!(
        d.strategy,
        DeploymentStrategy::RollingUpdate { .. }
    ));
}

/// What `helm template` renders for a typical web chart: ServiceAccount,
/// ConfigMap, RBAC, a Deployment with checksum annotations, anti-affinity,
/// spread constraints and security contexts, its Service, PDB and HPA, an
/// Ingress, and a CRD with one custom resource.
const HELM_RENDERED: &str = r#"
---
# Source: web/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: release-web
  labels:
    helm.sh/chart: web-1.4.2
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: release
    app.kubernetes.io/version: "2.1.0"
    app.kubernetes.io/managed-by: Helm
automountServiceAccountToken: false
---
# Source: web/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: release-web
  labels:
    app.kubernetes.io/name: web
data:
  config.yaml: |
    listen: :8080
    upstreams: [api:9000]
---
# Source: web/templates/rbac.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: release-web
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "watch", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: release-web
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: release-web
subjects:
- kind: ServiceAccount
  name: release-web
  namespace: default
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: release-web
  labels:
    app.kubernetes.io/name: web
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
      protocol: TCP
      name: http
    - port: 9090
      targetPort: metrics
      name: metrics
  selector:
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: release
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: release-web
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: release
spec:
  replicas: 3
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      app.kubernetes.io/name: web
      app.kubernetes.io/instance: release
  template:
    metadata:
      annotations:
        checksum/config: 3f1e1a8f0c3b0e0c2a1ad7f7a3c0b1f4e6d5c4b3a29180706f5e4d3c2b1a0918
      labels:
        app.kubernetes.io/name: web
        app.kubernetes.io/instance: release
    spec:
      serviceAccountName: release-web
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 2000
      priorityClassName: ""
      nodeSelector:
        kubernetes.io/os: linux
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchLabels:
                  app.kubernetes.io/name: web
              topologyKey: kubernetes.io/hostname
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: node.kubernetes.io/instance-type
                operator: NotIn
                values: [t3.micro]
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: web
        matchLabelKeys: [pod-template-hash]
      tolerations:
      - operator: Exists
        effect: NoSchedule
      containers:
        - name: web
          securityContext:
            capabilities:
              drop: [ALL]
            readOnlyRootFilesystem: true
            runAsNonRoot: true
          image: "registry.example.com/web:2.1.0"
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
            - name: metrics
              containerPort: 9090
          livenessProbe:
            httpGet: {path: /, port: http}
          readinessProbe:
            httpGet: {path: /ready, port: http}
            initialDelaySeconds: 3
          resources:
            limits: {cpu: 500m, memory: 512Mi}
            requests: {cpu: 200m, memory: 256Mi}
          volumeMounts:
            - {name: config, mountPath: /etc/web}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: config
          configMap: {name: release-web}
        - name: tmp
          emptyDir: {}
---
# Source: web/templates/pdb.yaml
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: release-web
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web
---
# Source: web/templates/hpa.yaml
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: release-web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: release-web
  minReplicas: 3
  maxReplicas: 12
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - {type: Percent, value: 50, periodSeconds: 60}
  metrics:
    - type: Resource
      resource:
        name: memory
        target: {type: Utilization, averageUtilization: 75}
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 60}
---
# Source: web/templates/ingress.yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: release-web
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
spec:
  ingressClassName: nginx
  tls:
  - hosts: [web.example.com]
    secretName: web-tls
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: release-web
            port: {name: http}
---
# Source: web/crds/backup.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.example.com
spec:
  group: example.com
  names: {kind: Backup, listKind: BackupList, plural: backups, singular: backup}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: example.com/v1
kind: Backup
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
"#;

#[test]
fn helm_rendered_bundle_loads_what_it_simulates_and_counts_the_rest() {
    let l = load(HELM_RENDERED);
    let w = &l.world;
    let d = &w.deployments[0];
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Int(1),
            max_unavailable: IntOrPercent::Int(0)
        }
    );
    assert_eq!(d.revision_history_limit, 5);
    let spec = w.spec(d.spec);
    assert_eq!(
        spec.priority_class, None,
        "an empty priorityClassName is none"
    );
    assert_eq!(spec.node_selector["kubernetes.io/os"], "linux");
    assert!(spec.required_node_affinity.is_some());
    assert_eq!(spec.pod_anti_affinity.preferred.len(), 1);
    let (weight, term) = &spec.pod_anti_affinity.preferred[0];
    assert_eq!(
        (*weight, term.namespaces.as_slice()),
        (100, &["default".to_string()][..])
    );
    let tsc = &spec.topology_spread[0];
    assert_eq!(
        tsc.when_unsatisfiable,
        crate::model::UnsatisfiableAction::ScheduleAnyway
    );
    assert_eq!(
        (tsc.node_affinity_policy, tsc.node_taints_policy),
        (
            crate::model::InclusionPolicy::Honor,
            crate::model::InclusionPolicy::Ignore
        )
    );
    assert_eq!(tsc.match_label_keys, ["pod-template-hash"]);
    // The empty-key Exists toleration has effect NoSchedule, so it does not cover
    // NoExecute: both default tolerations are still added.
    assert_eq!(spec.tolerations.len(), 3);
    assert_eq!(spec.readiness_delay, Some(3 * SECOND));
    assert_eq!(spec.requests.milli_cpu, 200);

    let s = &w.services[0];
    assert_eq!(
        s.ports,
        vec![
            ("http".to_string(), 80, "http".to_string()),
            ("metrics".to_string(), 9090, "metrics".to_string())
        ]
    );
    assert_eq!(w.pdbs[0].max_unavailable, Some(IntOrPercent::Int(1)));
    let h = &w.hpas[0];
    assert_eq!(
        (h.min_replicas, h.max_replicas, h.target_cpu_utilization),
        (3, 12, Some(60))
    );
    assert_eq!(
        l.summary.ignored_line().unwrap(),
        "ignored: 7 objects of kinds Backup (1), ConfigMap (1), CustomResourceDefinition (1), Ingress (1), Role (1), RoleBinding (1), ServiceAccount (1)"
    );
    assert_eq!(l.summary.objects, 11);
}

#[test]
fn generated_names_stay_unique_across_files() {
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: pi-}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: pi, image: perl}]\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {generateName: worker-}\nspec: {containers: [{name: c, image: busybox}]}\n";
    let l = load_files(&[
        ("a.yaml", job),
        ("b.yaml", job),
        ("c.yaml", pod),
        ("d.yaml", pod),
    ])
    .unwrap_or_else(|e| panic!("{}", crate::error::Error::Input(e)));
    let w = &l.world;
    let names: Vec<_> = w.jobs.iter().map(|j| j.meta.name.as_str()).collect();
    assert_eq!(names, ["pi-0", "pi-1"]);
    assert_eq!(w.spec(w.jobs[1].spec).labels["job-name"], "pi-1");
    let pods: Vec<_> = w.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pods, ["worker-0", "worker-1"]);
    let e = errors(
        "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    assert_eq!(
        e[0].message,
        "metadata.name: Required value: name or generateName is required"
    );
}

#[test]
fn empty_list_and_node_list_kinds() {
    let l = load(
        "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\n",
    );
    assert_eq!(l.summary.objects, 0);
    let nodes = NODES.replace("kind: List\n", "kind: NodeList\n");
    assert_eq!(load(&nodes).world.nodes.len(), 2);
}

#[test]
fn node_without_size_is_an_error() {
    let e = errors("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {}\n");
    assert_eq!(e[0].field.as_deref(), Some("status"));
    assert!(
        e[0].message.contains("status.allocatable"),
        "{}",
        e[0].message
    );
}

#[test]
fn dumped_daemon_pod_with_full_status_is_existing_state() {
    let text = r#"
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: "2024-05-02T09:15:02Z"
  generateName: kube-proxy-
  labels:
    controller-revision-hash: 7d9c6b8f5
    k8s-app: kube-proxy
    pod-template-generation: "1"
  name: kube-proxy-x7k2m
  namespace: kube-system
  ownerReferences:
  - apiVersion: apps/v1
    blockOwnerDeletion: true
    controller: true
    kind: DaemonSet
    name: kube-proxy
    uid: 2b0e7c55-6f0a-4a4e-9b8e-6e1f5d3c2a10
  resourceVersion: "512"
  uid: 8f3c2d1e-0a9b-4c8d-7e6f-5a4b3c2d1e0f
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchFields:
          - key: metadata.name
            operator: In
            values: [kind-worker]
  containers:
  - command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf]
    image: registry.k8s.io/kube-proxy:v1.30.0
    imagePullPolicy: IfNotPresent
    name: kube-proxy
    resources: {}
    securityContext: {privileged: true}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  hostNetwork: true
  nodeName: kind-worker
  nodeSelector: {kubernetes.io/os: linux}
  preemptionPolicy: PreemptLowerPriority
  priority: 2000001000
  priorityClassName: system-node-critical
  restartPolicy: Always
  schedulerName: default-scheduler
  serviceAccountName: kube-proxy
  terminationGracePeriodSeconds: 30
  tolerations:
  - operator: Exists
  - {effect: NoExecute, key: node.kubernetes.io/not-ready, operator: Exists}
  - {effect: NoExecute, key: node.kubernetes.io/unreachable, operator: Exists}
  - {effect: NoSchedule, key: node.kubernetes.io/network-unavailable, operator: Exists}
status:
  conditions:
  - lastProbeTime: null
    lastTransitionTime: "2024-05-02T09:15:05Z"
    status: "True"
    type: Ready
  containerStatuses:
  - containerID: containerd://5b1e0c1c2f3a
    image: registry.k8s.io/kube-proxy:v1.30.0
    imageID: sha256:a0bf559e280cf431fceb938087d59deeebcf29cbf3706746e07f7ac08e80ba0b
    lastState: {}
    name: kube-proxy
    ready: true
    restartCount: 0
    started: true
    state:
      running: {startedAt: "2024-05-02T09:15:04Z"}
  hostIP: 172.18.0.3
  hostIPs: [{ip: 172.18.0.3}]
  phase: Running
  podIP: 172.18.0.3
  podIPs: [{ip: 172.18.0.3}]
  qosClass: BestEffort
  startTime: "2024-05-02T09:15:02Z"
"#;
    let l = load_files(&[("pods.yaml", text), ("nodes.yaml", NODES)])
        .unwrap_or_else(|e| panic!("{}", crate::error::Error::Input(e)));
    let w = &l.world;
    let p = w.pod(w.pod_by_name("kube-system", "kube-proxy-x7k2m").unwrap());
    assert_eq!(p.phase, PodPhase::Running);
    assert_eq!(p.node, w.node_by_name("kind-worker"));
    let spec = w.pod_spec(PodId(0));
    assert_eq!(spec.priority, 2_000_001_000);
    assert_eq!(spec.tolerations.len(), 4, "all covered: nothing added");
}

#[test]
fn compile_pod_spec_serves_code_that_builds_pods() {
    let meta = ObjectMeta {
        labels: Some([("app".to_string(), "x".to_string())].into()),
        ..Default::default()
    };
    let spec: core::PodSpec = serde_json::from_value(serde_json::json!({
        "priorityClassName": "system-cluster-critical",
        "containers": [{"name": "c", "image": "i", "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": "1"}}}]
    }))
    .unwrap();
    let mut w = World::default();
    let s = compile_pod_spec(
        &mut w,
        "default",
        &meta,
        &spec,
        Workload::Pod,
        &LoadDefaults::default(),
    )
    .unwrap();
    assert_eq!(s.priority, 2_000_000_000);
    assert_eq!(s.requests.milli_cpu, 1000);
    assert_eq!(s.requests.scalar(w.scalar_id("nvidia.com/gpu")), 1);
    let bad: core::PodSpec =
        serde_json::from_value(serde_json::json!({"containers": [{"name": "c"}]})).unwrap();
    let e = compile_pod_spec(
        &mut w,
        "default",
        &meta,
        &bad,
        Workload::Pod,
        &LoadDefaults::default(),
    )
    .unwrap_err();
    assert_eq!(e[0].field.as_deref(), Some("spec.containers[0].image"));
}
