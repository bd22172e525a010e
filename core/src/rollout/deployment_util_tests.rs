//! `deployment_util_test.go`'s tables replayed against the public
//! Deployment helpers.
//!
//! Source: kubernetes/kubernetes `pkg/controller/deployment/util/deployment_util_test.go`
//! at commit 00216e4596922fe546c0e5548921d01e2d91db12, cases in upstream's
//! order with upstream's names. Not expressible here, and why:
//! - `TestResolveFenceposts`' two error cases ("oops", "urg"): our
//!   `IntOrPercent` is typed, so a malformed string is refused by the
//!   scenario loader before any controller runs.
//! - `TestGetReplicaCountForReplicaSets`' actual and terminating columns:
//!   a `ReplicaSet` here carries only `spec.replicas` (pods are the
//!   world's); the `expectedCount` column is replayed.
//! - `TestDeploymentTimedOut`'s "condition is nil": the status here always
//!   has its Progressing condition.
//! - Template hashing, annotations, conditions lists and listers
//!   (`TestEqualIgnoreHash*`, `TestFind*ReplicaSet*`, `TestGetCondition`,
//!   `TestSetCondition`, `TestRemoveCondition`, annotation tests): the model
//!   identifies templates by `TemplateId` and keeps one Progressing reason.

use super::IntOrPercent::{self, Int as Count, Percent};
use super::deployment::*;
use crate::time::{SimDuration, SimTime};

fn rolling(max_surge: IntOrPercent, max_unavailable: IntOrPercent) -> DeploymentConfig {
    DeploymentConfig {
        strategy: Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        },
        ..DeploymentConfig::default()
    }
}

fn recreate() -> DeploymentConfig {
    DeploymentConfig {
        strategy: Strategy::Recreate,
        ..DeploymentConfig::default()
    }
}

fn rs(template: super::TemplateId, replicas: u32) -> ReplicaSet {
    ReplicaSet {
        template,
        revision: 1,
        replicas,
    }
}

fn status(current: u32, updated: u32, ready: u32, available: u32) -> DeploymentStatus {
    DeploymentStatus {
        replicas: current,
        updated_replicas: updated,
        ready_replicas: ready,
        available_replicas: available,
        progressing: Progress::ReplicaSetUpdated,
        last_progress: SimTime::ZERO,
    }
}

/// TestResolveFenceposts: (maxSurge, maxUnavailable, desired) → (surge,
/// unavailable). Upstream's nil is `intstr` 0 (`ValueOrDefault`).
#[test]
fn resolve_fenceposts_table() {
    let cases = [
        (Percent(0), Percent(0), 0, (0, 1)),
        (Percent(39), Percent(39), 10, (4, 3)),
        (Count(0), Percent(39), 10, (0, 3)), // maxSurge nil
        (Percent(39), Count(0), 10, (4, 0)), // maxUnavailable nil
        (Count(0), Count(0), 10, (0, 1)),    // both nil
    ];
    for (i, (surge, unavail, desired, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            resolve_fenceposts(surge, unavail, desired),
            want,
            "case {i}"
        );
    }
}

/// TestGetReplicaCountForReplicaSets, the `expectedCount` column:
/// rs1..rs4 want 1, 2, 3 and 1 pods.
#[test]
fn get_replica_count_for_replica_sets_table() {
    let (rs1, rs2, rs3, rs4) = (rs(1, 1), rs(2, 2), rs(3, 3), rs(4, 1));
    let cases: [(&str, Vec<ReplicaSet>, u32); 6] = [
        ("scaling down rs1", vec![rs1.clone()], 1),
        (
            "scaling down rs1 and rs2",
            vec![rs1.clone(), rs2.clone()],
            3,
        ),
        ("scaling up rs3", vec![rs3.clone()], 3),
        (
            "scaling down rs1 and rs2 and scaling up rs3",
            vec![rs1.clone(), rs2.clone(), rs3.clone()],
            6,
        ),
        (
            "invalid/unknown terminating status for rs4",
            vec![rs4.clone()],
            1,
        ),
        (
            "invalid/unknown terminating status for rs4 with rs1, rs2 and rs3",
            vec![rs1, rs2, rs3, rs4],
            7,
        ),
    ];
    for (name, sets, want) in cases {
        assert_eq!(get_replica_count_for_replica_sets(&sets), want, "{name}");
    }
}

/// TestNewRSNewReplicas: maxUnavailable 1, maxSurge as given, one other
/// ReplicaSet (`rs5`) wanting 5 pods is all the ReplicaSets upstream passes.
#[test]
fn new_rs_new_replicas_table() {
    // (name, recreate?, deployment replicas, new RS replicas, maxSurge, expected)
    let cases = [
        ("can not scale up - to newRSReplicas", false, 1, 5, 1, 5),
        ("scale up - to depReplicas", false, 6, 2, 10, 6),
        ("recreate - to depReplicas", true, 3, 1, 1, 3),
    ];
    let all = [rs(5, 5)];
    for (name, is_recreate, dep, new_replicas, surge, want) in cases {
        let config = if is_recreate {
            recreate()
        } else {
            rolling(Count(surge), Count(1))
        };
        let got = new_rs_new_replicas(&config, dep, &all, &rs(0, new_replicas));
        assert_eq!(got, want, "{name}");
    }
}

/// TestDeploymentComplete: (desired, current, updated, available,
/// maxUnavailable, maxSurge); the fenceposts do not enter the answer.
#[test]
fn deployment_complete_table() {
    let cases = [
        (
            "not complete: min but not all pods become available",
            (5, 5, 5, 4),
            false,
        ),
        (
            "not complete: min availability is not honored",
            (5, 5, 5, 3),
            false,
        ),
        ("complete", (5, 5, 5, 5), true),
        (
            "not complete: all pods are available but not updated",
            (5, 5, 4, 5),
            false,
        ),
        // Old RS 1/1/1 available, new RS 1/1/0 available.
        ("not complete: still running old pods", (1, 2, 1, 1), false),
        (
            "not complete: one replica deployment never comes up",
            (1, 1, 1, 0),
            false,
        ),
    ];
    for (name, (desired, current, updated, available), want) in cases {
        let s = status(current, updated, 0, available);
        assert_eq!(deployment_complete(desired, &s), want, "{name}");
    }
}

/// TestDeploymentProgressing: old status (current, updated, ready,
/// available) → new status.
#[test]
fn deployment_progressing_table() {
    let cases = [
        (
            "progressing: updated pods",
            (10, 4, 4, 4),
            (10, 6, 4, 4),
            true,
        ),
        ("not progressing", (10, 4, 4, 4), (10, 4, 4, 4), false),
        (
            "progressing: old pods removed",
            (10, 4, 6, 6),
            (8, 4, 6, 6),
            true,
        ),
        (
            "not progressing: less new pods",
            (10, 7, 3, 3),
            (10, 6, 3, 3),
            false,
        ),
        (
            "progressing: less overall but more new pods",
            (10, 4, 7, 7),
            (8, 8, 5, 5),
            true,
        ),
        (
            "progressing: more ready pods",
            (10, 10, 9, 8),
            (10, 10, 10, 8),
            true,
        ),
        (
            "progressing: more available pods",
            (10, 10, 10, 9),
            (10, 10, 10, 10),
            true,
        ),
    ];
    for (name, (c0, u0, r0, a0), (c1, u1, r1, a1), want) in cases {
        let got = deployment_progressing(&status(c0, u0, r0, a0), &status(c1, u1, r1, a1));
        assert_eq!(got, want, "{name}");
    }
}

/// TestDeploymentTimedOut: the Progressing condition last updated at
/// 00:01:09 or 00:01:11, now 00:01:20 (times as seconds from 00:00:00).
#[test]
fn deployment_timed_out_table() {
    let at = |s: u64| SimTime(SimDuration::from_secs(s).0);
    let config = |pds: Option<u64>| DeploymentConfig {
        progress_deadline: pds.map(SimDuration::from_secs),
        ..DeploymentConfig::default()
    };
    let cond = |reason: Progress, from: SimTime| DeploymentStatus {
        progressing: reason,
        last_progress: from,
        ..status(0, 0, 0, 0)
    };
    let infinite = Some(NO_PROGRESS_DEADLINE_SECS);
    let cases = [
        (
            "nil progressDeadlineSeconds specified - no timeout",
            config(None),
            cond(Progress::ReplicaSetUpdated, at(69)),
            at(80),
            false,
        ),
        (
            "infinite progressDeadlineSeconds specified - no timeout",
            config(infinite),
            cond(Progress::ReplicaSetUpdated, at(69)),
            at(80),
            false,
        ),
        (
            "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s",
            config(Some(10)),
            cond(Progress::ReplicaSetUpdated, at(69)),
            at(80),
            true,
        ),
        (
            "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s",
            config(Some(10)),
            cond(Progress::ReplicaSetUpdated, at(71)),
            at(80),
            false,
        ),
        (
            // Upstream passes a nil deadline here too, so HasProgressDeadline
            // already answers; the reason alone must also answer.
            "previous status was a complete deployment",
            config(Some(10)),
            cond(Progress::NewReplicaSetAvailable, SimTime::ZERO),
            at(80),
            false,
        ),
    ];
    for (name, config, s, now, want) in cases {
        assert_eq!(deployment_timed_out(&config, &s, now), want, "{name}");
    }
    // Exactly at the deadline is not yet timed out (`Before` is strict).
    let s = cond(Progress::ReplicaSetUpdated, at(70));
    assert!(!deployment_timed_out(&config(Some(10)), &s, at(80)));
    // A reason of ProgressDeadlineExceeded stays timed out.
    let s = cond(Progress::ProgressDeadlineExceeded, at(79));
    assert!(deployment_timed_out(&config(Some(10)), &s, at(80)));
}

/// TestMaxUnavailable: maxSurge 1, maxUnavailable as given.
#[test]
fn max_unavailable_table() {
    let cases = [
        (
            "maxUnavailable less than replicas",
            rolling(Count(1), Count(5)),
            10,
            5,
        ),
        (
            "maxUnavailable equal replicas",
            rolling(Count(1), Count(10)),
            10,
            10,
        ),
        (
            "maxUnavailable greater than replicas",
            rolling(Count(1), Count(10)),
            5,
            5,
        ),
        (
            "maxUnavailable with replicas is 0",
            rolling(Count(1), Count(10)),
            0,
            0,
        ),
        // Upstream's Recreate deployment has nil replicas (read as 0 by the test's
        // struct); Recreate answers 0 whatever the count.
        (
            "maxUnavailable with Recreate deployment strategy",
            recreate(),
            0,
            0,
        ),
        (
            "maxUnavailable less than replicas with percents",
            rolling(Count(1), Percent(50)),
            10,
            5,
        ),
        (
            "maxUnavailable equal replicas with percents",
            rolling(Count(1), Percent(100)),
            10,
            10,
        ),
        (
            "maxUnavailable greater than replicas with percents",
            rolling(Count(1), Percent(100)),
            5,
            5,
        ),
    ];
    for (name, config, replicas, want) in cases {
        assert_eq!(max_unavailable(&config, replicas), want, "{name}");
    }
}

/// TestMinAvailable: maxSurge 1, maxUnavailable as given.
#[test]
fn min_available_table() {
    let cases = [
        (
            "replicas greater than maxUnavailable",
            rolling(Count(1), Count(5)),
            10,
            5,
        ),
        (
            "replicas equal maxUnavailable",
            rolling(Count(1), Count(10)),
            10,
            0,
        ),
        (
            "replicas less than maxUnavailable",
            rolling(Count(1), Count(10)),
            5,
            0,
        ),
        ("replicas is 0", rolling(Count(1), Count(10)), 0, 0),
        (
            "minAvailable with Recreate deployment strategy",
            recreate(),
            10,
            0,
        ),
        (
            "replicas greater than maxUnavailable with percents",
            rolling(Count(1), Percent(60)),
            10,
            4,
        ),
        (
            "replicas equal maxUnavailable with percents",
            rolling(Count(1), Percent(100)),
            10,
            0,
        ),
        (
            "replicas less than maxUnavailable with percents",
            rolling(Count(1), Percent(100)),
            5,
            0,
        ),
    ];
    for (name, config, replicas, want) in cases {
        assert_eq!(min_available(&config, replicas), want, "{name}");
    }
}
