//! The Deployment controller: owns one ReplicaSet per template and moves
//! replicas between them — scaling, rolling updates (maxSurge/maxUnavailable),
//! Recreate, proportional scaling during a rollout, and the cleanup of old
//! ReplicaSets beyond `revisionHistoryLimit`.
//!
//! Follows pkg/controller/deployment/deployment_controller.go (`syncDeployment`,
//! `isScalingEvent`), sync.go (`sync`, `scale`, `getNewReplicaSet`,
//! `scaleReplicaSet`, `cleanupDeployment`), rolling.go, recreate.go and
//! util/deployment_util.go (`ResolveFenceposts`, `NewRSNewReplicas`,
//! `GetProportion`, `IsSaturated`, `FindActiveOrLatest`) (v1.37).
//!
//! Simplified: the new ReplicaSet is found by comparing templates (ignoring
//! `pod-template-hash`); the hash is FNV-1a of the Deployment's key, its
//! template's SpecId and the collision count, safe-encoded as upstream
//! encodes `ComputeHash` (so it looks the same, but differs in value). No
//! progress deadline, no rollback API (a rollout back to an older template
//! reuses that template's ReplicaSet, as upstream does). A ReplicaSet's status
//! is read from its pods at the time of the sync.

use crate::controllers::replicaset::active_pods;
use crate::controllers::{
    ControllerRef, Ctx, WorkloadStatus, available_at, fnv32a, is_available, safe_encode,
};
use crate::engine::Time;
use crate::model::labels::{Operator, Requirement};
use crate::model::*;

/// The label that tells a Deployment's ReplicaSets' pods apart.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Start a rollout: the Deployment's template becomes `new_spec`. The caller
/// then reconciles the Deployment (an update event, as the API would send).
pub fn rollout(world: &mut World, dep: DeploymentId, new_spec: SpecId) {
    world.deployments[dep.idx()].spec = new_spec;
}

/// The annotation `kubectl rollout restart` sets on the pod template
/// (staging/src/k8s.io/kubectl/pkg/polymorphichelpers/objectrestarter.go).
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// How a scenario's `rollout` event changes a Deployment's pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateChange {
    /// `kubectl set image deployment/NAME CONTAINER=IMAGE` (`container: None`:
    /// `*=IMAGE`, every container, init containers included).
    Image {
        container: Option<String>,
        image: String,
    },
    /// `kubectl rollout restart`: the restartedAt annotation becomes now.
    Restart,
}

/// The template `change` makes of `spec` at `now` (which may equal `spec`:
/// setting the image a template already has is no rollout, as upstream).
pub fn changed_template(spec: &PodSpec, change: &TemplateChange, now: Time) -> PodSpec {
    let mut s = spec.clone();
    match change {
        TemplateChange::Image { container, image } => {
            for (i, name) in s.containers.iter().enumerate() {
                if container.as_ref().is_none_or(|c| c == name) {
                    s.images[i] = image.clone();
                }
            }
        }
        TemplateChange::Restart => {
            s.annotations
                .insert(RESTARTED_AT_ANNOTATION.to_string(), rfc3339(now));
        }
    }
    s
}

/// Simulated time as an RFC 3339 timestamp (what kubectl writes with
/// `time.Now().Format(time.RFC3339)`), counting from the Unix epoch: the
/// simulation has no calendar, so its start is 1970-01-01T00:00:00Z.
pub fn rfc3339(t: Time) -> String {
    let secs = t / crate::engine::SECOND;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to civil date (Howard Hinnant's `civil_from_days`), for days ≥ 0.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `ResolveFenceposts`: maxSurge rounds up, maxUnavailable down, and both 0
/// would deadlock, so unavailable becomes 1.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    desired: i32,
) -> (i32, i32) {
    let surge = max_surge.scaled(desired, true);
    let unavailable = max_unavailable.scaled(desired, false);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

/// `MaxSurge`: 0 for Recreate.
pub fn max_surge(d: &Deployment) -> i32 {
    match d.strategy {
        DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => resolve_fenceposts(max_surge, max_unavailable, d.replicas).0,
        DeploymentStrategy::Recreate => 0,
    }
}

/// `MaxUnavailable`: 0 for Recreate or no replicas, at most `replicas`.
pub fn max_unavailable(d: &Deployment) -> i32 {
    match d.strategy {
        DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } if d.replicas > 0 => resolve_fenceposts(max_surge, max_unavailable, d.replicas)
            .1
            .min(d.replicas),
        _ => 0,
    }
}

pub fn reconcile(ctx: &mut Ctx, d: DeploymentId) {
    let dep = &ctx.world.deployments[d.idx()];
    if dep.deleted {
        return;
    }
    if dep.paused || is_scaling_event(ctx, d) {
        sync(ctx, d);
    } else {
        match dep.strategy {
            DeploymentStrategy::RollingUpdate { .. } => rollout_rolling(ctx, d),
            DeploymentStrategy::Recreate => rollout_recreate(ctx, d),
        }
    }
    requeue_for_availability(ctx, d);
}

/// The ReplicaSets of a Deployment, oldest first (`ReplicaSetsByCreationTimestamp`).
fn replicasets(w: &World, d: DeploymentId) -> Vec<ReplicaSetId> {
    w.deployments[d.idx()]
        .replicasets
        .iter()
        .copied()
        .filter(|&r| !w.replicasets[r.idx()].deleted)
        .collect()
}

fn without_hash(spec: &PodSpec) -> PodSpec {
    let mut s = spec.clone();
    s.labels.remove(POD_TEMPLATE_HASH_LABEL);
    s
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the
/// Deployment's, ignoring `pod-template-hash`.
pub fn new_replicaset(w: &World, d: DeploymentId) -> Option<ReplicaSetId> {
    let want = without_hash(w.spec(w.deployments[d.idx()].spec));
    replicasets(w, d)
        .into_iter()
        .find(|&r| without_hash(w.spec(w.replicasets[r.idx()].spec)) == want)
}

fn old_replicasets(w: &World, d: DeploymentId, new: Option<ReplicaSetId>) -> Vec<ReplicaSetId> {
    replicasets(w, d)
        .into_iter()
        .filter(|&r| Some(r) != new)
        .collect()
}

fn rs(w: &World, r: ReplicaSetId) -> &ReplicaSet {
    &w.replicasets[r.idx()]
}

fn sum_replicas(w: &World, rses: &[ReplicaSetId]) -> i32 {
    rses.iter().map(|&r| rs(w, r).replicas).sum()
}

/// A ReplicaSet's `status.availableReplicas`.
fn available(w: &World, r: ReplicaSetId, now: Time) -> i32 {
    let rs = rs(w, r);
    rs.pods
        .iter()
        .filter(|&&p| w.pod(p).is_active() && is_available(w.pod(p), rs.min_ready_seconds, now))
        .count() as i32
}

/// A ReplicaSet's `status.replicas` (active pods).
fn actual(w: &World, r: ReplicaSetId) -> i32 {
    active_pods(w, &rs(w, r).pods).len() as i32
}

/// `isScalingEvent`: an active ReplicaSet was last sized for another replica count.
fn is_scaling_event(ctx: &Ctx, d: DeploymentId) -> bool {
    let w = &*ctx.world;
    let want = w.deployments[d.idx()].replicas;
    replicasets(w, d).into_iter().any(|r| {
        let rs = rs(w, r);
        rs.replicas > 0 && rs.rollout.desired_replicas.is_some_and(|x| x != want)
    })
}

/// `getNewReplicaSet`: sync the existing new ReplicaSet's revision and
/// minReadySeconds, or create it when `create`.
fn get_new_replicaset(ctx: &mut Ctx, d: DeploymentId, create: bool) -> Option<ReplicaSetId> {
    let w = &mut *ctx.world;
    let new = new_replicaset(w, d);
    let olds = old_replicasets(w, d, new);
    let revision = olds
        .iter()
        .map(|&r| rs(w, r).rollout.revision)
        .max()
        .unwrap_or(0)
        + 1;
    let dep = &w.deployments[d.idx()];
    let min_ready = dep.min_ready_seconds;
    if let Some(r) = new {
        let rs = &mut w.replicasets[r.idx()];
        rs.rollout.revision = rs.rollout.revision.max(revision);
        rs.min_ready_seconds = min_ready;
        return Some(r);
    }
    if !create {
        return None;
    }
    let replicas = new_rs_new_replicas(w, d, &olds, 0);
    let (ns, name) = (dep.meta.namespace.clone(), dep.meta.name.clone());
    let mut collisions = 0u32;
    let (hash, rs_name) = loop {
        let key = format!("{ns}/{name}#{}#{collisions}", dep.spec.0);
        let hash = safe_encode(&fnv32a(key.as_bytes()).to_string());
        let rs_name = format!("{name}-{hash}");
        let taken = w
            .replicasets
            .iter()
            .any(|r| !r.deleted && r.meta.namespace == ns && r.meta.name == rs_name);
        if !taken {
            break (hash, rs_name);
        }
        collisions += 1;
    };
    let mut spec = w.spec(dep.spec).clone();
    spec.labels
        .insert(POD_TEMPLATE_HASH_LABEL.to_string(), hash.clone());
    let mut selector = dep.selector.clone();
    selector.requirements.push(Requirement {
        key: POD_TEMPLATE_HASH_LABEL.to_string(),
        op: Operator::In,
        values: vec![hash],
    });
    let labels = spec.labels.clone();
    let annotations = RolloutAnnotations {
        revision,
        desired_replicas: Some(dep.replicas),
        max_replicas: Some(dep.replicas + max_surge(dep)),
    };
    let spec = w.add_spec(spec);
    let r = w.add_replicaset(ReplicaSet {
        meta: Meta {
            name: rs_name,
            namespace: ns,
            labels,
        },
        replicas,
        selector,
        spec,
        owner: Some(d),
        min_ready_seconds: min_ready,
        pods: Vec::new(),
        rollout: annotations,
        deleted: false,
    });
    ctx.requeue_at(ctx.now, ControllerRef::ReplicaSet(r));
    Some(r)
}

/// `NewRSNewReplicas`: how far the new ReplicaSet may grow now.
fn new_rs_new_replicas(w: &World, d: DeploymentId, all: &[ReplicaSetId], new_replicas: i32) -> i32 {
    let dep = &w.deployments[d.idx()];
    match dep.strategy {
        DeploymentStrategy::RollingUpdate { max_surge, .. } => {
            let surge = max_surge.scaled(dep.replicas, true);
            let current = sum_replicas(w, all);
            let max_total = dep.replicas + surge;
            if current >= max_total {
                return new_replicas;
            }
            let up = (max_total - current).min(dep.replicas - new_replicas);
            new_replicas + up
        }
        DeploymentStrategy::Recreate => dep.replicas,
    }
}

/// `scaleReplicaSet`: set the size and the replicas annotations; wakes the
/// ReplicaSet (and this Deployment, as the ReplicaSet's update would).
/// Returns whether the size changed.
fn scale_replicaset(ctx: &mut Ctx, d: DeploymentId, r: ReplicaSetId, to: i32) -> bool {
    let dep = &ctx.world.deployments[d.idx()];
    let ann = (Some(dep.replicas), Some(dep.replicas + max_surge(dep)));
    let rs = &mut ctx.world.replicasets[r.idx()];
    let resize = rs.replicas != to;
    if resize || (rs.rollout.desired_replicas, rs.rollout.max_replicas) != ann {
        rs.replicas = to;
        (rs.rollout.desired_replicas, rs.rollout.max_replicas) = ann;
        ctx.requeue_at(ctx.now, ControllerRef::ReplicaSet(r));
        ctx.requeue_at(ctx.now, ControllerRef::Deployment(d));
    }
    resize
}

/// `scaleReplicaSetAndRecordEvent`: nothing to do when the size is right.
fn scale_if_needed(ctx: &mut Ctx, d: DeploymentId, r: ReplicaSetId, to: i32) -> bool {
    rs(ctx.world, r).replicas != to && scale_replicaset(ctx, d, r, to)
}

/// `sync`: scaling (and paused Deployments) only — no new ReplicaSet.
fn sync(ctx: &mut Ctx, d: DeploymentId) {
    let new = get_new_replicaset(ctx, d, false);
    let old = old_replicasets(ctx.world, d, new);
    scale(ctx, d, new, &old);
    if ctx.world.deployments[d.idx()].paused {
        cleanup(ctx, d, &old);
    }
}

/// `scale`: resize the one active ReplicaSet, or spread a resize over all of
/// them in proportion to their sizes during a rolling update.
fn scale(ctx: &mut Ctx, d: DeploymentId, new: Option<ReplicaSetId>, old: &[ReplicaSetId]) {
    let now = ctx.now;
    let w = &*ctx.world;
    let dep = &w.deployments[d.idx()];
    let want = dep.replicas;
    // FindActiveOrLatest: old sorted newest first, then the new one.
    let mut all: Vec<ReplicaSetId> = old.iter().rev().copied().collect();
    all.extend(new);
    let active: Vec<ReplicaSetId> = all
        .iter()
        .copied()
        .filter(|&r| rs(w, r).replicas > 0)
        .collect();
    let single = match active.len() {
        0 => new.or(all.first().copied()),
        1 => Some(active[0]),
        _ => None,
    };
    if let Some(r) = single {
        if rs(w, r).replicas != want {
            scale_replicaset(ctx, d, r, want);
        }
        return;
    }
    // IsSaturated: the new ReplicaSet has all replicas, available.
    if let Some(n) = new {
        let rs = rs(w, n);
        if rs.replicas == want
            && rs.rollout.desired_replicas == Some(want)
            && available(w, n, now) == want
        {
            for &o in old {
                if ctx.world.replicasets[o.idx()].replicas > 0 {
                    scale_if_needed(ctx, d, o, 0);
                }
            }
            return;
        }
    }
    if !matches!(dep.strategy, DeploymentStrategy::RollingUpdate { .. }) {
        return;
    }
    let current = sum_replicas(w, &active);
    let allowed = if want > 0 { want + max_surge(dep) } else { 0 };
    let to_add = allowed - current;
    let mut sorted = active.clone();
    // ReplicaSetsBySizeNewer (scaling up) / BySizeOlder (down): larger first,
    // ties by creation (the Deployment's list is oldest first).
    let order = |r: &ReplicaSetId| dep.replicasets.iter().position(|x| x == r).unwrap_or(0);
    if to_add > 0 {
        sorted.sort_by(|a, b| {
            rs(w, *b)
                .replicas
                .cmp(&rs(w, *a).replicas)
                .then(order(b).cmp(&order(a)))
        });
    } else if to_add < 0 {
        sorted.sort_by(|a, b| {
            rs(w, *b)
                .replicas
                .cmp(&rs(w, *a).replicas)
                .then(order(a).cmp(&order(b)))
        });
    }
    let status_replicas: i32 = replicasets(w, d).iter().map(|&r| actual(w, r)).sum();
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(sorted.len());
    for &r in &sorted {
        let size = rs(w, r).replicas;
        if to_add != 0 {
            let p = proportion(rs(w, r), dep, to_add, added, status_replicas);
            sizes.push(size + p);
            added += p;
        } else {
            sizes.push(size);
        }
    }
    if to_add != 0 && !sizes.is_empty() {
        // Leftovers go to the largest.
        sizes[0] = (sizes[0] + to_add - added).max(0);
    }
    for (&r, &size) in sorted.iter().zip(&sizes) {
        scale_replicaset(ctx, d, r, size);
    }
}

/// `GetProportion` with `getReplicaSetFraction`: this ReplicaSet's share of
/// `to_add`, scaled from the size the Deployment had (max-replicas annotation)
/// to the size it has now; rounded as `integer.RoundToInt32`.
fn proportion(
    rs: &ReplicaSet,
    d: &Deployment,
    to_add: i32,
    added: i32,
    status_replicas: i32,
) -> i32 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if d.replicas == 0 {
        -rs.replicas
    } else {
        let max_now = d.replicas + max_surge(d);
        let before = match rs.rollout.max_replicas {
            Some(m) if m != 0 => m,
            _ => status_replicas,
        };
        if before == 0 {
            0
        } else {
            let size = (f64::from(rs.replicas) / f64::from(before)) * f64::from(max_now);
            let rounded = if size < 0.0 { size - 0.5 } else { size + 0.5 } as i32;
            rounded - rs.replicas
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// rolling.go `rolloutRolling`.
fn rollout_rolling(ctx: &mut Ctx, d: DeploymentId) {
    let Some(new) = get_new_replicaset(ctx, d, true) else {
        return;
    };
    let old = old_replicasets(ctx.world, d, Some(new));
    let mut all = old.clone();
    all.push(new);
    if reconcile_new_replicaset(ctx, d, new, &all) {
        return;
    }
    let active_old: Vec<ReplicaSetId> = old
        .iter()
        .copied()
        .filter(|&r| rs(ctx.world, r).replicas > 0)
        .collect();
    if reconcile_old_replicasets(ctx, d, new, &active_old, &all) {
        return;
    }
    if complete(ctx.world, d, ctx.now) {
        cleanup(ctx, d, &old);
    }
}

/// `reconcileNewReplicaSet`.
fn reconcile_new_replicaset(
    ctx: &mut Ctx,
    d: DeploymentId,
    new: ReplicaSetId,
    all: &[ReplicaSetId],
) -> bool {
    let want = ctx.world.deployments[d.idx()].replicas;
    let have = rs(ctx.world, new).replicas;
    if have == want {
        return false;
    }
    if have > want {
        return scale_if_needed(ctx, d, new, want);
    }
    let to = new_rs_new_replicas(ctx.world, d, all, have);
    scale_if_needed(ctx, d, new, to)
}

/// `reconcileOldReplicaSets`: scale old ReplicaSets down as far as
/// maxUnavailable allows, unhealthy replicas first.
fn reconcile_old_replicasets(
    ctx: &mut Ctx,
    d: DeploymentId,
    new: ReplicaSetId,
    old: &[ReplicaSetId],
    all: &[ReplicaSetId],
) -> bool {
    let now = ctx.now;
    let w = &*ctx.world;
    if sum_replicas(w, old) == 0 {
        return false;
    }
    let dep = &w.deployments[d.idx()];
    let min_available = dep.replicas - max_unavailable(dep);
    let new_unavailable = rs(w, new).replicas - available(w, new, now);
    let max_scaled_down = sum_replicas(w, all) - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    // cleanupUnhealthyReplicas: old replicas that are not available go first.
    let mut cleaned = 0;
    for &r in old {
        if cleaned >= max_scaled_down {
            break;
        }
        let (replicas, avail) = (rs(ctx.world, r).replicas, available(ctx.world, r, now));
        if replicas == 0 || replicas <= avail {
            continue;
        }
        let n = (max_scaled_down - cleaned).min(replicas - avail);
        scale_if_needed(ctx, d, r, replicas - n);
        cleaned += n;
    }
    // scaleDownOldReplicaSetsForRollingUpdate: keep minAvailable available.
    let w = &*ctx.world;
    let avail_total: i32 = all.iter().map(|&r| available(w, r, now)).sum();
    let mut scaled = 0;
    if avail_total > min_available {
        let todo = avail_total - min_available;
        for &r in old {
            if scaled >= todo {
                break;
            }
            let replicas = rs(ctx.world, r).replicas;
            if replicas == 0 {
                continue;
            }
            let n = replicas.min(todo - scaled);
            scale_if_needed(ctx, d, r, replicas - n);
            scaled += n;
        }
    }
    cleaned + scaled > 0
}

/// recreate.go `rolloutRecreate`: all old pods go before the new ones come.
fn rollout_recreate(ctx: &mut Ctx, d: DeploymentId) {
    let mut new = get_new_replicaset(ctx, d, false);
    let old = old_replicasets(ctx.world, d, new);
    let mut scaled_down = false;
    for &r in &old {
        if rs(ctx.world, r).replicas > 0 {
            scaled_down |= scale_if_needed(ctx, d, r, 0);
        }
    }
    if scaled_down {
        return;
    }
    // oldPodsRunning: any old pod not finished, terminating ones included.
    let w = &*ctx.world;
    let running = old.iter().any(|&r| {
        actual(w, r) > 0
            || rs(w, r)
                .pods
                .iter()
                .any(|&p| !w.pod(p).deleted && !w.pod(p).phase.is_terminal())
    });
    if running {
        return;
    }
    if new.is_none() {
        new = get_new_replicaset(ctx, d, true);
    }
    if let Some(n) = new {
        let want = ctx.world.deployments[d.idx()].replicas;
        scale_if_needed(ctx, d, n, want);
    }
    if complete(ctx.world, d, ctx.now) {
        cleanup(ctx, d, &old);
    }
}

/// `DeploymentComplete`: every replica updated and available, none extra.
fn complete(w: &World, d: DeploymentId, now: Time) -> bool {
    let s = status(w, d, now);
    s.up_to_date == s.desired && s.current == s.desired && s.available == s.desired
}

/// `cleanupDeployment`: delete the oldest revisions beyond
/// revisionHistoryLimit, if they have no replicas.
fn cleanup(ctx: &mut Ctx, d: DeploymentId, old: &[ReplicaSetId]) {
    let limit = ctx.world.deployments[d.idx()].revision_history_limit;
    if limit < 0 || limit == i32::MAX {
        return;
    }
    let diff = old.len() as i32 - limit;
    if diff <= 0 {
        return;
    }
    let mut by_revision = old.to_vec();
    by_revision.sort_by_key(|&r| rs(ctx.world, r).rollout.revision);
    for &r in by_revision.iter().take(diff as usize) {
        if rs(ctx.world, r).replicas != 0 || actual(ctx.world, r) != 0 {
            continue;
        }
        let pods = rs(ctx.world, r).pods.clone();
        for p in pods {
            // Cascading deletion of what is left (finished pods).
            ctx.world.mark_deleting(p, ctx.now);
        }
        ctx.world.delete_replicaset(r);
    }
}

/// Availability changes with time alone: come back when the next Ready pod of
/// this Deployment becomes available.
fn requeue_for_availability(ctx: &mut Ctx, d: DeploymentId) {
    let w = &*ctx.world;
    let next = replicasets(w, d)
        .into_iter()
        .flat_map(|r| {
            let rs = rs(w, r);
            rs.pods
                .iter()
                .filter_map(move |&p| available_at(w.pod(p), rs.min_ready_seconds))
        })
        .filter(|&t| t > ctx.now)
        .min();
    if let Some(t) = next {
        ctx.requeue_at(t, ControllerRef::Deployment(d));
    }
}

/// `READY x/y`, `UP-TO-DATE`, `AVAILABLE` (calculateStatus).
pub fn status(w: &World, d: DeploymentId, now: Time) -> WorkloadStatus {
    let mut s = WorkloadStatus {
        desired: w.deployments[d.idx()].replicas,
        ..Default::default()
    };
    for r in replicasets(w, d) {
        let st = crate::controllers::replicaset::status(w, r, now);
        s.current += st.current;
        s.ready += st.ready;
        s.available += st.available;
    }
    s.up_to_date = new_replicaset(w, d).map_or(0, |r| actual(w, r));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testutil::*;
    use crate::engine::SECOND;
    use crate::model::labels::LabelSelector;

    fn add_deployment(
        w: &mut World,
        name: &str,
        replicas: i32,
        strategy: DeploymentStrategy,
    ) -> DeploymentId {
        let spec = spec_with_labels(w, &[("app", name)]);
        w.deployments.push(Deployment {
            meta: meta(name, &[("app", name)]),
            replicas,
            selector: LabelSelector::from_map(&labels(&[("app", name)])),
            spec,
            strategy,
            min_ready_seconds: 0,
            revision_history_limit: 10,
            paused: false,
            replicasets: Vec::new(),
            deleted: false,
        });
        DeploymentId(w.deployments.len() as u32 - 1)
    }

    fn rolling(surge: IntOrPercent, unavailable: IntOrPercent) -> DeploymentStrategy {
        DeploymentStrategy::RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        }
    }

    fn default_rolling() -> DeploymentStrategy {
        rolling(IntOrPercent::Percent(25), IntOrPercent::Percent(25))
    }

    /// A template like the Deployment's with another image: a new revision.
    fn new_template(w: &mut World, d: DeploymentId, image: &str) -> SpecId {
        let mut s = w.spec(w.deployments[d.idx()].spec).clone();
        s.images = vec![image.to_string()];
        w.add_spec(s)
    }

    /// Start every pending pod of the Deployment and finish terminations.
    fn kubelet(w: &mut World, d: DeploymentId, now: Time) {
        finish_terminations(w);
        for r in replicasets(w, d) {
            for p in rs(w, r).pods.clone() {
                if w.pod(p).is_active() && !w.pod(p).ready {
                    start(w, p, None, now);
                }
            }
        }
    }

    fn sizes(w: &World, d: DeploymentId) -> Vec<i32> {
        replicasets(w, d)
            .iter()
            .map(|&r| rs(w, r).replicas)
            .collect()
    }

    #[test]
    fn restarted_at_is_rfc3339_from_the_epoch() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2 h 3 min 4.5 s: seconds are truncated, as RFC3339 without fraction.
        assert_eq!(rfc3339(7_384_500_000), "1970-01-01T02:03:04Z");
        // Day 59 is 1 March 1970 (not a leap year); day 365 is 1 January 1971.
        assert_eq!(rfc3339(59 * 86_400 * SECOND), "1970-03-01T00:00:00Z");
        assert_eq!(rfc3339(365 * 86_400 * SECOND), "1971-01-01T00:00:00Z");
        // 1970 and 1971 have 365 days: day 730 is 1 January 1972, day 761 is
        // 1 February, and 1972 is a leap year, so day 789 is 29 February.
        assert_eq!(rfc3339(789 * 86_400 * SECOND), "1972-02-29T00:00:00Z");
    }

    #[test]
    fn template_changes_set_images_or_the_restart_annotation() {
        let spec = PodSpec {
            images: vec!["init:1".into(), "web:1".into(), "log:1".into()],
            containers: vec!["setup".into(), "web".into(), "log".into()],
            ..Default::default()
        };
        let one = TemplateChange::Image {
            container: Some("web".into()),
            image: "web:2".into(),
        };
        assert_eq!(
            changed_template(&spec, &one, 0).images,
            vec!["init:1", "web:2", "log:1"]
        );
        let all = TemplateChange::Image {
            container: None,
            image: "x:9".into(),
        };
        assert_eq!(changed_template(&spec, &all, 0).images, vec!["x:9"; 3]);
        let r = changed_template(&spec, &TemplateChange::Restart, 90 * SECOND);
        assert_eq!(
            r.annotations[RESTARTED_AT_ANNOTATION],
            "1970-01-01T00:01:30Z"
        );
        assert_eq!(
            (r.images.clone(), r.labels.clone()),
            (spec.images.clone(), spec.labels.clone())
        );
        assert_ne!(r, spec);
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let p = IntOrPercent::Percent;
        // 10 × 25% = 2.5: surge ⌈2.5⌉ = 3, unavailable ⌊2.5⌋ = 2.
        assert_eq!(resolve_fenceposts(p(25), p(25), 10), (3, 2));
        // 3 × 25% = 0.75: surge 1, unavailable 0.
        assert_eq!(resolve_fenceposts(p(25), p(25), 3), (1, 0));
        // Both 0 → unavailable 1.
        assert_eq!(resolve_fenceposts(IntOrPercent::Int(0), p(0), 5), (0, 1));
    }

    #[test]
    fn creates_replicaset_with_template_hash_and_scales_it() {
        let mut w = test_world();
        let d = add_deployment(&mut w, "web", 3, default_rolling());
        settle(&mut w, ControllerRef::Deployment(d), 0);
        let rses = replicasets(&w, d);
        assert_eq!(rses.len(), 1);
        let r = rs(&w, rses[0]);
        let hash = w.spec(r.spec).labels[POD_TEMPLATE_HASH_LABEL].clone();
        assert!(!hash.is_empty() && hash.len() <= 10);
        assert!(hash.bytes().all(|b| b"45789bcdf".contains(&b) || b == b'6'));
        assert_eq!(r.meta.name, format!("web-{hash}"));
        assert_eq!(r.replicas, 3);
        assert_eq!(r.rollout.revision, 1);
        assert_eq!(r.pods.len(), 3);
        for &p in &r.pods {
            assert!(w.pod(p).name.starts_with(&format!("web-{hash}-")));
        }
        // Scale to 5: a scaling event resizes the one ReplicaSet.
        w.deployments[d.idx()].replicas = 5;
        settle(&mut w, ControllerRef::Deployment(d), SECOND);
        assert_eq!(sizes(&w, d), vec![5]);
        assert_eq!(rs(&w, rses[0]).pods.len(), 5);
        kubelet(&mut w, d, 2 * SECOND);
        let s = status(&w, d, 2 * SECOND);
        assert_eq!(
            (s.desired, s.current, s.ready, s.available, s.up_to_date),
            (5, 5, 5, 5, 5)
        );
        // Scale to 2: three pods terminate.
        w.deployments[d.idx()].replicas = 2;
        settle(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![2]);
        assert_eq!(status(&w, d, 3 * SECOND).current, 2);
    }

    #[test]
    fn rolling_update_first_steps_10_replicas_25_25() {
        let mut w = test_world();
        let d = add_deployment(&mut w, "web", 10, default_rolling());
        settle(&mut w, ControllerRef::Deployment(d), 0);
        kubelet(&mut w, d, SECOND);
        let t = new_template(&mut w, d, "web:2");
        rollout(&mut w, d, t);
        // One sync: the new RS is created with replicas + surge − current =
        // 10 + 3 − 10 = 3 (creating is not "scaling up", so the sync goes
        // on); the old one goes down by all − minAvailable − newUnavailable =
        // 13 − 8 − 3 = 2.
        run(&mut w, ControllerRef::Deployment(d), 2 * SECOND);
        assert_eq!(sizes(&w, d), vec![8, 3]);
        assert_eq!(rs(&w, replicasets(&w, d)[1]).rollout.revision, 2);
        // Sizes count, not pods: total 11 < 13, so the new RS grows by
        // min(13 − 11, 10 − 3) = 2.
        run(&mut w, ControllerRef::Deployment(d), 2 * SECOND);
        assert_eq!(sizes(&w, d), vec![8, 5]);
        // Then nothing until something becomes available: 13 − 8 − 5 = 0.
        run(&mut w, ControllerRef::Deployment(d), 2 * SECOND);
        assert_eq!(sizes(&w, d), vec![8, 5]);
        // Old pods gone, the five new ones ready: available 8 + 5 = 13, less
        // minAvailable 8: the old RS loses 5.
        // (The ReplicaSets were woken by the runs above; let them act.)
        for r in replicasets(&w, d) {
            settle(&mut w, ControllerRef::ReplicaSet(r), 2 * SECOND);
        }
        assert_eq!(sizes(&w, d), vec![8, 5]);
        assert_eq!(status(&w, d, 2 * SECOND).current, 13);
        kubelet(&mut w, d, 3 * SECOND);
        run(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![3, 5]);
    }

    #[test]
    fn rolling_update_respects_surge_and_unavailable_to_the_end() {
        let mut w = test_world();
        let d = add_deployment(&mut w, "web", 10, default_rolling());
        settle(&mut w, ControllerRef::Deployment(d), 0);
        kubelet(&mut w, d, SECOND);
        let t = new_template(&mut w, d, "web:2");
        rollout(&mut w, d, t);
        for step in 0..50 {
            let now = (10 + step) * SECOND;
            settle(&mut w, ControllerRef::Deployment(d), now);
            let s = status(&w, d, now);
            assert!(s.current <= 13, "surge exceeded: {s:?}");
            assert!(s.available >= 8, "too many unavailable: {s:?}");
            kubelet(&mut w, d, now);
        }
        let now = 100 * SECOND;
        settle(&mut w, ControllerRef::Deployment(d), now);
        assert_eq!(sizes(&w, d), vec![0, 10]);
        let s = status(&w, d, now);
        assert_eq!((s.current, s.ready, s.up_to_date), (10, 10, 10));
    }

    #[test]
    fn recreate_waits_for_old_pods_to_go() {
        let mut w = test_world();
        let d = add_deployment(&mut w, "db", 2, DeploymentStrategy::Recreate);
        settle(&mut w, ControllerRef::Deployment(d), 0);
        kubelet(&mut w, d, SECOND);
        let t = new_template(&mut w, d, "db:2");
        rollout(&mut w, d, t);
        settle(&mut w, ControllerRef::Deployment(d), 2 * SECOND);
        // Old scaled to 0, pods terminating: no new ReplicaSet yet.
        assert_eq!(sizes(&w, d), vec![0]);
        finish_terminations(&mut w);
        settle(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![0, 2]);
    }

    #[test]
    fn proportional_scaling_mid_rollout_matches_the_docs_example() {
        // kubernetes.io "Proportional scaling": 10 replicas, maxSurge 3,
        // maxUnavailable 2, a rollout to an image that never starts: old 8,
        // new 5. Scaling to 15 allows 15 + 3 = 18, 5 more: the old RS gets
        // round(8/13 × 18) − 8 = 11 − 8 = 3, the new round(5/13 × 18) − 5 = 2.
        let mut w = test_world();
        let d = add_deployment(
            &mut w,
            "web",
            10,
            rolling(IntOrPercent::Int(3), IntOrPercent::Int(2)),
        );
        settle(&mut w, ControllerRef::Deployment(d), 0);
        kubelet(&mut w, d, SECOND);
        let t = new_template(&mut w, d, "web:broken");
        rollout(&mut w, d, t);
        settle(&mut w, ControllerRef::Deployment(d), 2 * SECOND);
        finish_terminations(&mut w);
        settle(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![8, 5]);
        w.deployments[d.idx()].replicas = 15;
        settle(&mut w, ControllerRef::Deployment(d), 4 * SECOND);
        assert_eq!(sizes(&w, d), vec![11, 7]);
    }

    #[test]
    fn old_replicasets_beyond_history_limit_are_deleted() {
        let mut w = test_world();
        let d = add_deployment(&mut w, "web", 1, default_rolling());
        w.deployments[d.idx()].revision_history_limit = 1;
        let mut now = 0;
        for i in 0..4 {
            if i > 0 {
                let t = new_template(&mut w, d, &format!("web:{i}"));
                rollout(&mut w, d, t);
            }
            for _ in 0..6 {
                now += SECOND;
                settle(&mut w, ControllerRef::Deployment(d), now);
                kubelet(&mut w, d, now);
            }
        }
        // Current revision + 1 old one kept; the two oldest deleted.
        let rses = replicasets(&w, d);
        let revisions: Vec<i64> = rses.iter().map(|&r| rs(&w, r).rollout.revision).collect();
        assert_eq!(revisions, vec![3, 4]);
        assert_eq!(sizes(&w, d), vec![0, 1]);
        assert_eq!(w.replicasets.iter().filter(|r| r.deleted).count(), 2);
    }

    #[test]
    fn min_ready_seconds_gates_availability_and_requeues() {
        let mut w = test_world();
        let d = add_deployment(
            &mut w,
            "web",
            2,
            rolling(IntOrPercent::Int(0), IntOrPercent::Int(1)),
        );
        w.deployments[d.idx()].min_ready_seconds = 5;
        settle(&mut w, ControllerRef::Deployment(d), 0);
        kubelet(&mut w, d, SECOND);
        // Ready at 1 s, available once ready for more than 5 s.
        let re = run(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert!(
            re.contains(&(6 * SECOND + 1, ControllerRef::Deployment(d))),
            "{re:?}"
        );
        assert_eq!(status(&w, d, 3 * SECOND).available, 0);
        assert_eq!(status(&w, d, 6 * SECOND + 1).available, 2);
        // A rollout at 3 s: the new RS starts at 0 (surge 0); the old pods are
        // not available yet, so cleanupUnhealthyReplicas may take one of them
        // (all 2 − minAvailable 1 − new unavailable 0 = 1).
        let t = new_template(&mut w, d, "web:2");
        rollout(&mut w, d, t);
        run(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![1, 0]);
        run(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![1, 1]);
        run(&mut w, ControllerRef::Deployment(d), 3 * SECOND);
        assert_eq!(sizes(&w, d), vec![1, 1]);
    }
}
