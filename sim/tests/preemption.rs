//! `scenarios/priority-preemption.toml`: the victims, worked by hand.
//!
//! Three 4-cpu nodes, each with one `cache` and one `web` replica of 2 cpu
//! (priority 100, class `low`), all bound at 0 s. At 30 s three `urgent`
//! pods (priority 100000) of 2 cpu arrive; none fits.
//!
//! First pod, every node alike: removing both lower-priority replicas
//! leaves 0 + 2 ≤ 4. The budget `web` (minAvailable 3, 3 ready →
//! disruptionsAllowed 0) makes web's replica violating, so it is reprieved
//! first: 2 + 2 = 4 ≤ 4, kept; cache's then gives 6 > 4, a victim. Every
//! node: victims [cache], 0 violations, equal on every criterion → the
//! first from the random offset. The pod is nominated there and its 2 cpu
//! reserved. Second pod: on the first node (2 reserved + web 2 + cache 2
//! terminating) removing web and cache leaves 2 + 2 = 4; reprieving web
//! gives 6 > 4, a violating victim, and cache another: 2 victims, 1
//! violation — worse than another node's [cache] with 0. So each pod takes
//! its own node and evicts that node's cache replica: the victims are
//! cache-0, cache-1, cache-2, and no web replica. Without the budget, cache
//! (lower replica ids: created first, same start) is the more important and
//! reprieved first, and web's replicas become the victims.

mod common;

use std::collections::BTreeSet;

use common::simulate;
use orkestra_core::testing::NoFiles;

const TEXT: &str = include_str!("../../scenarios/priority-preemption.toml");

fn preempt_rows(text: &str) -> Vec<(f64, String, String)> {
    let (_, rows) = simulate(text, "priority-preemption.toml", &[], None, &NoFiles);
    rows.events
        .iter()
        .filter(|e| e.1 == "preempt")
        .map(|e| (e.0, e.2.clone(), e.3.clone()))
        .collect()
}

fn field<'a>(detail: &'a str, key: &str) -> &'a str {
    detail
        .split(' ')
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} in {detail}"))
}

#[test]
fn the_budget_protects_web_and_each_urgent_pod_evicts_one_cache_replica() {
    let rows = preempt_rows(TEXT);
    let victims: BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        victims,
        BTreeSet::from(["cache-0", "cache-1", "cache-2"]),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    // One victim per node, one preemptor per victim, all when the job arrives.
    let nodes: BTreeSet<&str> = rows.iter().map(|r| field(&r.2, "node")).collect();
    assert_eq!(nodes.len(), 3, "{rows:?}");
    let preemptors: BTreeSet<&str> = rows.iter().map(|r| field(&r.2, "preemptor")).collect();
    assert_eq!(preemptors.len(), 3, "{rows:?}");
    assert!(
        preemptors.iter().all(|p| p.starts_with("urgent.")),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.0 == 30.0), "{rows:?}");
}

#[test]
fn every_urgent_pod_binds_to_the_node_it_preempted_on() {
    let (_, rows) = simulate(TEXT, "priority-preemption.toml", &[], None, &NoFiles);
    for e in rows.events.iter().filter(|e| e.1 == "preempt") {
        let (node, pod) = (field(&e.3, "node"), field(&e.3, "preemptor"));
        let bind = rows
            .events
            .iter()
            .find(|b| b.1 == "bind" && b.2 == pod)
            .unwrap_or_else(|| panic!("{pod} never bound"));
        assert_eq!(bind.3, format!("node={node}"));
        assert!(bind.0 >= 30.0);
    }
}

#[test]
fn without_the_budget_web_replicas_are_the_victims_first() {
    // No budget: on every node cache's replica (lower id, same priority and start) is the
    // more important and is reprieved first (2 + 2 = 4 fits), so the first pod's victim,
    // whichever node the offset gives it, is a web replica. What the next pods take depends
    // on whether that victim has finished its in-flight requests (graceful termination):
    // once it has, its node needs only cache's replica gone, a one-victim tie like the others.
    let text = TEXT.replace(
        "[[podDisruptionBudgets]]\nname = \"web\"\nselector = { matchLabels = { app = \"web\" } }\nminAvailable = 3\n",
        "",
    );
    assert_ne!(text, TEXT);
    let rows = preempt_rows(&text);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].1.starts_with("web-"), "{rows:?}");
}

#[test]
fn without_priority_classes_nothing_is_preempted() {
    // Equal priorities: upstream preempts only strictly lower ones.
    let text = TEXT.replace("priorityClassName = \"critical\"\n", "");
    assert_ne!(text, TEXT);
    assert!(preempt_rows(&text).is_empty());
}

/// One 4-cpu node; a low-priority job of one 4-cpu pod runs 60 s from 0 s;
/// critical 4-cpu jobs of 20 s arrive at `critical_at`.
fn job_controller_scenario(critical_at: &[u32], backoff_limit: u32) -> String {
    let arrivals: Vec<String> = critical_at
        .iter()
        .map(|t| format!("{{ at = \"{t}s\", duration = \"20s\", cpu = \"4\" }}"))
        .collect();
    format!(
        "name = \"jobs\"\n[simulation]\nduration = \"10m\"\nseed = 1\n\
         [scheduler]\npolicy = \"kubernetes-default\"\n\
         [pools.pool]\ncount = 1\nzone = \"z\"\ncpu = \"4\"\nmemory = \"16Gi\"\n\
         [jobs.batch]\nbackoffLimit = {backoff_limit}\npriority = 0\n\
         arrivals = [{{ at = \"0s\", duration = \"60s\", cpu = \"4\" }}]\n\
         [jobs.urgent]\npriority = 1000\narrivals = [{}]\n",
        arrivals.join(", ")
    )
}

#[test]
fn a_preempted_job_pod_is_replaced_after_the_backoff_and_runs_its_whole_duration() {
    // 10 s: urgent preempts batch's pod (deleted at once: nothing to finish) and binds.
    // 20 s: the Job controller's first back-off (10 s) is over: a replacement,
    // pending until urgent's pod ends at 10 + 20 = 30 s, then runs 60 s: done at 90 s.
    let (summary, rows) = simulate(
        &job_controller_scenario(&[10], 6),
        "jobs.toml",
        &[],
        None,
        &NoFiles,
    );
    let at = |kind: &str, subject: &str| {
        rows.events
            .iter()
            .filter(|e| e.1 == kind && e.2.starts_with(subject))
            .map(|e| e.0)
            .collect::<Vec<f64>>()
    };
    assert_eq!(at("preempt", "batch."), [10.0]);
    assert_eq!(at("create", "batch."), [0.0, 20.0]);
    let replacement = rows
        .events
        .iter()
        .find(|e| e.1 == "create" && e.0 == 20.0)
        .unwrap();
    assert_eq!(replacement.3, "job=batch-0 replacement=true");
    assert_eq!(at("bind", "batch."), [0.0, 30.0]);
    assert_eq!(at("completed", "batch."), [90.0]);
    let batch = &summary.jobs[0];
    assert_eq!(
        (batch.pods, batch.disrupted, batch.replaced, batch.completed),
        (2, 1, 1, 1)
    );
    assert_eq!(
        (
            batch.running_at_end,
            batch.pending_at_end,
            batch.failed_jobs
        ),
        (0, 0, 0)
    );
}

#[test]
fn a_job_preempted_more_often_than_its_backoff_limit_fails() {
    // backoffLimit 1: preempted at 10 s (failure 1: replaced at 20 s, bound at
    // 30 s when urgent-0 ends), preempted again at 40 s by urgent-1 (failure 2
    // > 1): the job fails, no replacement.
    let (summary, rows) = simulate(
        &job_controller_scenario(&[10, 40], 1),
        "jobs.toml",
        &[],
        None,
        &NoFiles,
    );
    let failed: Vec<_> = rows.events.iter().filter(|e| e.1 == "job-failed").collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, 40.0);
    assert_eq!(failed[0].2, "batch-0");
    assert_eq!(
        failed[0].3,
        "reason=BackoffLimitExceeded failures=2 backoffLimit=1"
    );
    let batch = &summary.jobs[0];
    assert_eq!(
        (
            batch.pods,
            batch.disrupted,
            batch.replaced,
            batch.completed,
            batch.failed_jobs
        ),
        (2, 2, 1, 0, 1)
    );
}

/// One 4-cpu node; `web` (one 4-cpu replica, 100 s per request, 1 request/s)
/// holds it; a critical 4-cpu job pod arrives at 10 s and preempts web-0.
fn grace_scenario(grace: Option<u32>) -> String {
    let grace = grace.map_or(String::new(), |g| {
        format!("terminationGracePeriodSeconds = {g}\n")
    });
    format!(
        "name = \"grace\"\n[simulation]\nduration = \"5m\"\nseed = 1\n\
         [scheduler]\npolicy = \"kubernetes-default\"\n\
         [pools.pool]\ncount = 1\nzone = \"z\"\ncpu = \"4\"\nmemory = \"16Gi\"\n\
         [services.web]\nreplicas = 1\n{grace}requests = {{ cpu = \"4\" }}\n\
         serviceTime = {{ dist = \"constant\", value = \"100s\" }}\n\
         traffic = {{ model = \"constant\", rate = 1 }}\n\
         [jobs.urgent]\npriority = 1000\narrivals = [{{ at = \"10s\", duration = \"20s\", cpu = \"4\" }}]\n"
    )
}

#[test]
fn a_victim_still_serving_is_killed_when_its_grace_period_ends() {
    // web-0's first request (from 1 s) needs 100 s: at 10 s, deleted by the
    // preemption, it keeps serving until its grace period ends — the
    // default 30 s: killed at 40 s, its requests failed; only then is its
    // node free for the nominated pod. With terminationGracePeriodSeconds = 5:
    // at 15 s.
    for (grace, at) in [(None, 40.0), (Some(5), 15.0)] {
        let (summary, rows) = simulate(&grace_scenario(grace), "grace.toml", &[], None, &NoFiles);
        let killed: Vec<_> = rows.events.iter().filter(|e| e.1 == "killed").collect();
        assert_eq!(killed.len(), 1, "{killed:?}");
        assert_eq!((killed[0].0, killed[0].2.as_str()), (at, "web-0"));
        let secs = grace.unwrap_or(30);
        assert!(
            killed[0].3.starts_with(&format!(
                "reason=grace period over (terminationGracePeriodSeconds {secs}s) lost="
            )),
            "{}",
            killed[0].3
        );
        let bind = rows
            .events
            .iter()
            .find(|e| e.1 == "bind" && e.2.starts_with("urgent."))
            .unwrap();
        assert_eq!(bind.0, at);
        assert!(summary.services[0].requests.failed > 0);
    }
}
