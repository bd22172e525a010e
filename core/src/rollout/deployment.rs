//! Kubernetes' Deployment controller: ReplicaSets per revision, the
//! RollingUpdate and Recreate strategies, `minReadySeconds`,
//! `progressDeadlineSeconds`, `revisionHistoryLimit` and rollback to a
//! revision.
//!
//! Key decision: the ReplicaSet objects (revision, template, replicas wanted)
//! live in [`Deployment`], which the world owns and [`sync`] updates like the
//! API server would; pods stay the world's, seen through [`PodView`]s tagged
//! with their template. Scaling is answered as [`DeploymentAction::Scale`]
//! and the world creates or deletes the pods through its replica controller,
//! deleting unavailable pods before available ones (the ReplicaSet
//! controller's `ActivePods` order), which is what makes the
//! `maxUnavailable` bound hold.
//!
//! Transcribed from kubernetes/kubernetes `pkg/controller/deployment`:
//! `rolling.go` (`rolloutRolling`, `reconcileNewReplicaSet`,
//! `reconcileOldReplicaSets`, `cleanupUnhealthyReplicas`,
//! `scaleDownOldReplicaSetsForRollingUpdate`), `recreate.go`, `sync.go`
//! (`getNewReplicaSet`: revision = max old revision + 1; `cleanupDeployment`;
//! `syncRolloutStatus`), `progress.go`, `rollback.go` (`rollbackTo`), and
//! `util/deployment_util.go` (`ResolveFenceposts`, `MaxSurge`,
//! `MaxUnavailable`, `NewRSNewReplicas`, `DeploymentProgressing`,
//! `DeploymentComplete`, `DeploymentTimedOut`). Counts are `u32` where
//! upstream uses `int32`; subtractions that upstream lets go negative are
//! done in `i64`.

use super::{IntOrPercent, TemplateId, earliest};
use crate::time::{SimDuration, SimTime};

/// `spec.strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `RollingUpdate` with its fenceposts (Kubernetes defaults: 25%, 25%).
    RollingUpdate {
        /// `maxSurge`: pods above `replicas` allowed during the update (rounds up).
        max_surge: IntOrPercent,
        /// `maxUnavailable`: pods below `replicas` allowed unavailable (rounds down).
        max_unavailable: IntOrPercent,
    },
    /// `Recreate`: every old pod gone before any new pod is created.
    Recreate,
}

/// The Deployment fields that shape a rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentConfig {
    /// `spec.strategy`.
    pub strategy: Strategy,
    /// `minReadySeconds`: a pod is available once ready this long (default 0).
    pub min_ready: SimDuration,
    /// `progressDeadlineSeconds` (default 600 s; `None`: never times out).
    pub progress_deadline: Option<SimDuration>,
    /// `revisionHistoryLimit`: old ReplicaSets kept at zero (default 10).
    pub revision_history_limit: u32,
    /// Argo Rollouts' `progressDeadlineAbort`, applied to a Deployment: on
    /// ProgressDeadlineExceeded roll back to the previous revision (plain
    /// Kubernetes only reports the condition; default false).
    pub progress_deadline_abort: bool,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        DeploymentConfig {
            strategy: Strategy::RollingUpdate {
                max_surge: IntOrPercent::Percent(25),
                max_unavailable: IntOrPercent::Percent(25),
            },
            min_ready: SimDuration::ZERO,
            progress_deadline: Some(SimDuration::from_secs(600)),
            revision_history_limit: 10,
            progress_deadline_abort: false,
        }
    }
}

/// A ReplicaSet object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaSet {
    /// Its pod template (unique among the Deployment's ReplicaSets).
    pub template: TemplateId,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u64,
    /// `spec.replicas`: pods wanted.
    pub replicas: u32,
}

/// The reason of the `Progressing` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// `NewReplicaSetCreated` (status True).
    NewReplicaSetCreated,
    /// `ReplicaSetUpdated` (status True).
    ReplicaSetUpdated,
    /// `NewReplicaSetAvailable` (status True): the rollout is complete.
    NewReplicaSetAvailable,
    /// `ProgressDeadlineExceeded` (status False).
    ProgressDeadlineExceeded,
}

/// `Deployment.status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentStatus {
    /// Pods of all ReplicaSets.
    pub replicas: u32,
    /// Pods of the new ReplicaSet.
    pub updated_replicas: u32,
    /// Ready pods.
    pub ready_replicas: u32,
    /// Pods ready for at least `minReadySeconds`.
    pub available_replicas: u32,
    /// The `Progressing` condition's reason.
    pub progressing: Progress,
    /// The condition's `lastUpdateTime`: the last progress.
    pub last_progress: SimTime,
}

/// A Deployment: its spec, its ReplicaSets and its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Rollout configuration.
    pub config: DeploymentConfig,
    /// `spec.replicas` (an autoscaler may change it).
    pub replicas: u32,
    /// `spec.template`: the revision being rolled out.
    pub template: TemplateId,
    /// The ReplicaSets, oldest first (creation order).
    pub replica_sets: Vec<ReplicaSet>,
    /// Status after the last sync.
    pub status: DeploymentStatus,
    /// The template `progressDeadlineAbort` last rolled back from; never
    /// rolled back to automatically (no flip-flop between two bad revisions).
    pub aborted: Option<TemplateId>,
}

/// One pod of the Deployment as the world sees it (terminating pods excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodView {
    /// The template it was created from.
    pub template: TemplateId,
    /// When it became ready (`None`: not ready).
    pub ready_since: Option<SimTime>,
}

/// What the world should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentAction {
    /// Make the ReplicaSet of `template` have `replicas` pods (deleting
    /// unavailable pods first).
    Scale {
        /// The ReplicaSet.
        template: TemplateId,
        /// Pods wanted.
        replicas: u32,
    },
    /// Forget the ReplicaSet of `template` (history cleanup; it has no pods).
    Delete {
        /// The ReplicaSet.
        template: TemplateId,
    },
}

/// The answer of one [`sync`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sync {
    /// To apply in order; after applying any, sync again.
    pub actions: Vec<DeploymentAction>,
    /// Sync again at this instant at the latest (a pod becoming available
    /// after `minReadySeconds`, or the progress deadline).
    pub wake_at: Option<SimTime>,
    /// Set when `progressDeadlineAbort` rolled back to this template.
    pub rolled_back_to: Option<TemplateId>,
}

/// Rollback errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// `rollbackTo.revision` names no ReplicaSet.
    #[error("unable to find revision {0}")]
    RevisionNotFound(u64),
    /// Revision 0 (the previous one) was asked but there is no older revision.
    #[error("unable to find last revision")]
    NoPreviousRevision,
}

/// `ResolveFenceposts` (`pkg/controller/deployment/util/deployment_util.go`):
/// (surge, unavailable) for `desired` replicas; surge rounds up,
/// unavailable rounds down, and when both resolve to zero unavailable
/// becomes 1 "on the theory that surge might not work due to quota". A nil
/// field upstream is `intstr` 0 (`ValueOrDefault`): pass `Count(0)`.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    desired: u32,
) -> (u32, u32) {
    let surge = max_surge.scaled(desired, true);
    let unavailable = max_unavailable.scaled(desired, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// `MaxSurge` (`deployment_util.go`): the resolved surge, 0 for Recreate.
pub fn max_surge(config: &DeploymentConfig, replicas: u32) -> u32 {
    match config.strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => resolve_fenceposts(max_surge, max_unavailable, replicas).0,
        Strategy::Recreate => 0,
    }
}

/// `MaxUnavailable` (`deployment_util.go`): the resolved unavailable count,
/// at most `replicas`; 0 for Recreate or zero replicas.
pub fn max_unavailable(config: &DeploymentConfig, replicas: u32) -> u32 {
    match config.strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } if replicas > 0 => resolve_fenceposts(max_surge, max_unavailable, replicas)
            .1
            .min(replicas),
        _ => 0,
    }
}

/// `MinAvailable` (`deployment_util.go`): `replicas − MaxUnavailable`, the
/// pods that must stay available during a rolling update; 0 for Recreate.
pub fn min_available(config: &DeploymentConfig, replicas: u32) -> u32 {
    match config.strategy {
        Strategy::RollingUpdate { .. } => replicas - max_unavailable(config, replicas),
        Strategy::Recreate => 0,
    }
}

/// `GetReplicaCountForReplicaSets` (`deployment_util.go`): the pods the
/// ReplicaSets want in all (their `spec.replicas`).
pub fn get_replica_count_for_replica_sets(replica_sets: &[ReplicaSet]) -> u32 {
    replica_sets.iter().map(|r| r.replicas).sum()
}

/// `NewRSNewReplicas` (`deployment_util.go`): the replicas the new
/// ReplicaSet should have now. RollingUpdate scales it up by at most what
/// keeps all ReplicaSets within `replicas + maxSurge` and never above
/// `replicas`; Recreate jumps to `replicas`.
pub fn new_rs_new_replicas(
    config: &DeploymentConfig,
    replicas: u32,
    all: &[ReplicaSet],
    new: &ReplicaSet,
) -> u32 {
    match config.strategy {
        Strategy::RollingUpdate {
            max_surge: surge, ..
        } => {
            // Upstream scales maxSurge alone here (rounding up), without
            // the fencepost rule; the two agree whenever surge > 0.
            let max_total = u64::from(replicas) + u64::from(surge.scaled(replicas, true));
            let current = all.iter().map(|r| u64::from(r.replicas)).sum::<u64>();
            if current >= max_total {
                return new.replicas;
            }
            let up = (max_total - current).min(u64::from(replicas.saturating_sub(new.replicas)));
            new.replicas + up as u32
        }
        Strategy::Recreate => replicas,
    }
}

/// `DeploymentComplete` (`deployment_util.go`): every desired pod is
/// updated and available and no old pod is left. (Upstream also asks
/// `observedGeneration ≥ generation`; a sync here always observes the
/// current spec.)
pub fn deployment_complete(replicas: u32, status: &DeploymentStatus) -> bool {
    status.updated_replicas == replicas
        && status.replicas == replicas
        && status.available_replicas == replicas
}

/// `DeploymentProgressing` (`deployment_util.go`): from `old` to `new`, more
/// updated pods, fewer old pods, more ready pods or more available pods.
pub fn deployment_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_old = i64::from(old.replicas) - i64::from(old.updated_replicas);
    let new_old = i64::from(new.replicas) - i64::from(new.updated_replicas);
    new.updated_replicas > old.updated_replicas
        || new_old < old_old
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

/// `progressDeadlineSeconds` that upstream reads as "no deadline"
/// (`HasProgressDeadline`: nil or `math.MaxInt32`).
pub const NO_PROGRESS_DEADLINE_SECS: u64 = i32::MAX as u64;

/// `HasProgressDeadline` (`deployment_util.go`).
pub fn has_progress_deadline(config: &DeploymentConfig) -> bool {
    config
        .progress_deadline
        .is_some_and(|d| d != SimDuration::from_secs(NO_PROGRESS_DEADLINE_SECS))
}

/// `DeploymentTimedOut` (`deployment_util.go`): the Progressing condition
/// of `status` has not been updated for longer than
/// `progressDeadlineSeconds` at `now` (strictly: `from + deadline` is
/// before `now`). A complete rollout never times out; one already marked
/// `ProgressDeadlineExceeded` stays timed out.
pub fn deployment_timed_out(
    config: &DeploymentConfig,
    status: &DeploymentStatus,
    now: SimTime,
) -> bool {
    if !has_progress_deadline(config) {
        return false;
    }
    match status.progressing {
        Progress::NewReplicaSetAvailable => false,
        Progress::ProgressDeadlineExceeded => true,
        _ => {
            let deadline = config.progress_deadline.expect("has a deadline");
            status.last_progress + deadline < now
        }
    }
}

impl Deployment {
    /// A new Deployment of `replicas` pods of `template`, created at `now`
    /// (its first sync creates revision 1).
    pub fn new(
        config: DeploymentConfig,
        replicas: u32,
        template: TemplateId,
        now: SimTime,
    ) -> Self {
        Deployment {
            config,
            replicas,
            template,
            replica_sets: Vec::new(),
            status: DeploymentStatus {
                replicas: 0,
                updated_replicas: 0,
                ready_replicas: 0,
                available_replicas: 0,
                progressing: Progress::NewReplicaSetCreated,
                last_progress: now,
            },
            aborted: None,
        }
    }

    /// The ReplicaSet of the current template, if created.
    pub fn new_replica_set(&self) -> Option<&ReplicaSet> {
        self.replica_sets
            .iter()
            .find(|r| r.template == self.template)
    }

    /// Whether the rollout is complete (`DeploymentComplete` after the last sync).
    pub fn complete(&self) -> bool {
        self.status.progressing == Progress::NewReplicaSetAvailable
    }

    /// A new revision: `kubectl set image` — the next sync creates its
    /// ReplicaSet (or re-adopts an old one with the same template) and the
    /// progress clock restarts.
    pub fn set_template(&mut self, template: TemplateId, now: SimTime) {
        if template != self.template {
            self.template = template;
            self.status.progressing = Progress::NewReplicaSetCreated;
            self.status.last_progress = now;
        }
    }

    /// The template `rollback(0)` would return to (`LastRevision`).
    pub fn previous_template(&self) -> Option<TemplateId> {
        let max = self.replica_sets.iter().map(|r| r.revision).max();
        self.replica_sets
            .iter()
            .filter(|r| Some(r.revision) != max)
            .max_by_key(|r| r.revision)
            .map(|r| r.template)
    }

    /// `rollbackTo`: make the template of `revision` current again (0: the
    /// revision before the current one, `LastRevision`). The next sync bumps
    /// that ReplicaSet to a new revision number, as upstream does.
    pub fn rollback(&mut self, revision: u64, now: SimTime) -> Result<TemplateId, RollbackError> {
        let template = if revision == 0 {
            // LastRevision: the largest revision below the current maximum.
            self.previous_template()
                .ok_or(RollbackError::NoPreviousRevision)?
        } else {
            self.replica_sets
                .iter()
                .find(|r| r.revision == revision)
                .ok_or(RollbackError::RevisionNotFound(revision))?
                .template
        };
        self.set_template(template, now);
        Ok(template)
    }
}

/// Per-ReplicaSet pod counts at `now`.
#[derive(Clone, Copy, Default)]
struct Counts {
    pods: u32,
    ready: u32,
    available: u32,
}

fn count(pods: &[PodView], template: TemplateId, min_ready: SimDuration, now: SimTime) -> Counts {
    let mut c = Counts::default();
    for p in pods.iter().filter(|p| p.template == template) {
        c.pods += 1;
        if let Some(since) = p.ready_since {
            c.ready += 1;
            if since + min_ready <= now {
                c.available += 1;
            }
        }
    }
    c
}

/// One sync of the Deployment controller at `now` (`syncDeployment`).
pub fn sync(d: &mut Deployment, pods: &[PodView], now: SimTime) -> Sync {
    let mut out = Sync::default();
    // getNewReplicaSet: the new RS takes revision max(old) + 1.
    let max_old = d
        .replica_sets
        .iter()
        .filter(|r| r.template != d.template)
        .map(|r| r.revision)
        .max()
        .unwrap_or(0);
    match d.replica_sets.iter_mut().find(|r| r.template == d.template) {
        Some(rs) if rs.revision <= max_old => rs.revision = max_old + 1,
        Some(_) => {}
        None => d.replica_sets.push(ReplicaSet {
            template: d.template,
            revision: max_old + 1,
            replicas: 0,
        }),
    }
    let c: Vec<Counts> = d
        .replica_sets
        .iter()
        .map(|r| count(pods, r.template, d.config.min_ready, now))
        .collect();
    let new_ix = d
        .replica_sets
        .iter()
        .position(|r| r.template == d.template)
        .expect("created above");
    let scale = |d: &mut Deployment, out: &mut Sync, i: usize, n: u32| {
        if d.replica_sets[i].replicas != n {
            d.replica_sets[i].replicas = n;
            out.actions.push(DeploymentAction::Scale {
                template: d.replica_sets[i].template,
                replicas: n,
            });
        }
    };
    match d.config.strategy {
        Strategy::RollingUpdate { .. } => rolling(d, &c, new_ix, &mut out, scale),
        Strategy::Recreate => {
            // recreate.go: scale every old RS to zero; wait until no old pod
            // exists; then scale the new RS up to replicas.
            for i in 0..d.replica_sets.len() {
                if i != new_ix {
                    scale(d, &mut out, i, 0);
                }
            }
            let old_running = c.iter().enumerate().any(|(i, c)| i != new_ix && c.pods > 0);
            if out.actions.is_empty() && !old_running {
                let n = d.replicas;
                scale(d, &mut out, new_ix, n);
            }
        }
    }
    sync_status(d, &c, new_ix, now, &mut out);
    if d.complete() && out.actions.is_empty() {
        cleanup(d, pods, &mut out);
    }
    // Requeue when a ready pod completes minReadySeconds.
    for p in pods {
        if let Some(since) = p.ready_since {
            let at = since + d.config.min_ready;
            if at > now {
                out.wake_at = earliest(out.wake_at, Some(at));
            }
        }
    }
    if d.config.progress_deadline_abort
        && d.status.progressing == Progress::ProgressDeadlineExceeded
        && let Some(prev) = d.previous_template()
        && d.aborted != Some(prev)
    {
        d.aborted = Some(d.template);
        d.set_template(prev, now);
        out.rolled_back_to = Some(prev);
        out.wake_at = Some(now);
    }
    out
}

/// `rolloutRolling`: scale the new RS up if the surge allows; otherwise scale
/// old ones down if availability allows.
fn rolling(
    d: &mut Deployment,
    c: &[Counts],
    new_ix: usize,
    out: &mut Sync,
    scale: impl Fn(&mut Deployment, &mut Sync, usize, u32),
) {
    let replicas = d.replicas;
    let total: u64 = d.replica_sets.iter().map(|r| u64::from(r.replicas)).sum();
    let new_replicas = d.replica_sets[new_ix].replicas;
    // reconcileNewReplicaSet.
    if new_replicas > replicas {
        return scale(d, out, new_ix, replicas);
    }
    if new_replicas < replicas {
        let n = new_rs_new_replicas(
            &d.config,
            replicas,
            &d.replica_sets,
            &d.replica_sets[new_ix],
        );
        if n != new_replicas {
            scale(d, out, new_ix, n);
            return;
        }
    }
    // reconcileOldReplicaSets.
    let old_pods: u64 = total - u64::from(new_replicas);
    if old_pods == 0 {
        return;
    }
    let min_available = i64::from(min_available(&d.config, replicas));
    let new_unavailable = i64::from(new_replicas) - i64::from(c[new_ix].available);
    let max_scaled_down = total as i64 - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // Old ReplicaSets oldest first (ReplicaSetsByCreationTimestamp: our
    // vector is in creation order).
    let old: Vec<usize> = (0..d.replica_sets.len()).filter(|&i| i != new_ix).collect();
    // cleanupUnhealthyReplicas: drop pods that are not available anyway.
    let mut cleaned: i64 = 0;
    for &i in &old {
        if cleaned >= max_scaled_down {
            break;
        }
        let want = d.replica_sets[i].replicas;
        if want == 0 || want <= c[i].available {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(i64::from(want - c[i].available));
        scale(d, out, i, want - down as u32);
        cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate: available pods of all RSs
    // (counted before this sync's cleanup removed only unavailable ones).
    let available: i64 = c.iter().map(|c| i64::from(c.available)).sum();
    if available <= min_available {
        return;
    }
    let target = available - min_available;
    let mut done: i64 = 0;
    for &i in &old {
        if done >= target {
            break;
        }
        let want = d.replica_sets[i].replicas;
        if want == 0 {
            continue;
        }
        let down = i64::from(want).min(target - done);
        scale(d, out, i, want - down as u32);
        done += down;
    }
}

/// `syncRolloutStatus` with `DeploymentComplete`, `DeploymentProgressing`
/// and `DeploymentTimedOut`.
fn sync_status(d: &mut Deployment, c: &[Counts], new_ix: usize, now: SimTime, out: &mut Sync) {
    let old = d.status.clone();
    let s = &mut d.status;
    s.replicas = c.iter().map(|c| c.pods).sum();
    s.updated_replicas = c[new_ix].pods;
    s.ready_replicas = c.iter().map(|c| c.ready).sum();
    s.available_replicas = c.iter().map(|c| c.available).sum();
    let complete = deployment_complete(d.replicas, s);
    let progressing = deployment_progressing(&old, s);
    if complete {
        if s.progressing != Progress::NewReplicaSetAvailable {
            s.last_progress = now;
        }
        s.progressing = Progress::NewReplicaSetAvailable;
    } else if progressing {
        s.progressing = Progress::ReplicaSetUpdated;
        s.last_progress = now;
    }
    // DeploymentTimedOut: lastUpdateTime + deadline is before now;
    // requeueStuckDeployment: otherwise look again just after that instant.
    if !complete
        && s.progressing != Progress::ProgressDeadlineExceeded
        && let Some(deadline) = d.config.progress_deadline
        && has_progress_deadline(&d.config)
    {
        if deployment_timed_out(&d.config, s, now) {
            s.progressing = Progress::ProgressDeadlineExceeded;
        } else {
            out.wake_at = earliest(
                out.wake_at,
                Some(s.last_progress + deadline + SimDuration(1)),
            );
        }
    }
}

/// `cleanupDeployment`: delete the oldest revisions beyond
/// `revisionHistoryLimit` that have no pods and want none.
fn cleanup(d: &mut Deployment, pods: &[PodView], out: &mut Sync) {
    let limit = d.config.revision_history_limit as usize;
    let mut old: Vec<(u64, TemplateId)> = d
        .replica_sets
        .iter()
        .filter(|r| r.template != d.template)
        .map(|r| (r.revision, r.template))
        .collect();
    if old.len() <= limit {
        return;
    }
    old.sort_unstable();
    let diff = old.len() - limit;
    for &(_, t) in &old[..diff] {
        let rs = d
            .replica_sets
            .iter()
            .find(|r| r.template == t)
            .expect("listed");
        if rs.replicas != 0 || pods.iter().any(|p| p.template == t) {
            continue;
        }
        d.replica_sets.retain(|r| r.template != t);
        out.actions.push(DeploymentAction::Delete { template: t });
    }
}
