//! Rollouts in the simulator (issue 7): a rolling update with readiness
//! gating loses nothing and keeps Kubernetes' surge/unavailable bounds, a bad
//! canary is aborted by analysis before its next weight, blue/green switches
//! at once, and a crash-looping Deployment rolls back at its progress
//! deadline. Bounds are checked at every `events.csv` row.

mod common;

use std::io;

use orkestra_core::results::{Output, Summary};
use orkestra_core::scenario;
use orkestra_core::testing::{NoFiles, edit};
use orkestra_simulator::Simulation;

const ROLLING: &str = include_str!("../../scenarios/rolling-update.toml");
const CANARY: &str = include_str!("../../scenarios/bad-canary.toml");

/// One `events.csv` row: (time s, kind, subject, detail).
type Row = (f64, String, String, String);

#[derive(Default)]
struct Events(Vec<Row>);

impl Output for Events {
    fn sample(&mut self, _: f64, _: &str, _: &str, _: f64) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, t: f64, kind: &str, subject: &str, detail: &str) -> io::Result<()> {
        self.0.push((t, kind.into(), subject.into(), detail.into()));
        Ok(())
    }
}

fn run(text: &str) -> (Summary, Vec<Row>) {
    let s = scenario::parse(text, "rollout.toml", &NoFiles, &[], None)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Events::default();
    let summary = Simulation::new(&s, &mut out)
        .run(&mut |_| {})
        .expect("in memory");
    (summary, out.0)
}

/// The scenario without its `[services.web.rollout]` tables.
fn without_rollout(text: &str) -> String {
    text.split("[services.web.rollout]")
        .next()
        .unwrap()
        .to_string()
}

/// Replays pod rows of the service: after each row, (time, pods not
/// terminating, ready pods, pods of template 1 not terminating).
fn replay(rows: &[Row]) -> Vec<(f64, i64, i64, i64)> {
    let (mut live, mut ready, mut new) = (0i64, 0i64, 0i64);
    let mut new_pods = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (t, kind, subject, detail) in rows {
        match kind.as_str() {
            "create" => {
                live += 1;
                if detail == "template=1" {
                    new += 1;
                    new_pods.insert(subject.clone());
                }
            }
            "ready" => ready += 1,
            "delete" => {
                live -= 1;
                if detail == "ready" {
                    ready -= 1;
                }
                if new_pods.contains(subject) {
                    new -= 1;
                }
            }
            _ => {}
        }
        out.push((*t, live, ready, new));
    }
    out
}

fn at(rows: &[Row], kind: &str, detail: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.1 == kind && r.3.contains(detail))
        .map(|r| r.0)
        .collect()
}

#[test]
fn rolling_update_loses_nothing_and_keeps_surge_and_unavailable_bounds() {
    let (with, rows) = run(ROLLING);
    let (base, _) = run(&without_rollout(ROLLING));
    let r = with.services[0].rollout.as_ref().expect("rollout summary");
    assert_eq!((r.outcome.as_str(), r.rollbacks), ("complete", 0));
    // Zero loss: nothing failed, rejected or timed out, as in the run
    // without the rollout.
    let lost = |s: &Summary| {
        let q = &s.services[0].requests;
        (q.failed, q.rejected, q.timed_out)
    };
    assert_eq!(lost(&with), (0, 0, 0));
    assert_eq!(lost(&base), (0, 0, 0));
    assert_eq!(r.failed, 0);
    // Arrivals come from their own stream: the rollout does not change them.
    assert_eq!(
        with.services[0].requests.total,
        base.services[0].requests.total
    );
    // Bounds at every row from the start: 13 replicas, maxSurge ceil(13 ×
    // 25%) = 4 → at most 17 pods; maxUnavailable floor(13 × 25%) = 3 → at
    // least 10 ready.
    let states = replay(&rows);
    let during: Vec<_> = states.iter().filter(|s| s.0 >= 60.0).collect();
    let max_live = during.iter().map(|s| s.1).max().unwrap();
    let min_ready = during.iter().map(|s| s.2).min().unwrap();
    assert_eq!(max_live, 17, "the surge is used and never exceeded");
    assert_eq!(min_ready, 10, "availability dips to, never below, 10");
    // Done: 13 pods, all of the new template.
    let end = states.last().unwrap();
    assert_eq!((end.1, end.2, end.3), (13, 13, 13));
}

#[test]
fn bad_canary_is_aborted_before_its_next_weight() {
    let (s, rows) = run(CANARY);
    let r = s.services[0].rollout.as_ref().expect("rollout summary");
    assert_eq!((r.outcome.as_str(), r.rollbacks), ("aborted", 1));
    // Steps 10/30/60: the first analysis (30 s after 10% is routed) fails
    // with ~20% errors > 5%, so 30% is never routed.
    assert_eq!(r.max_weight, 10);
    let abort = at(&rows, "rollout-abort", "");
    assert_eq!(abort.len(), 1);
    let routed = at(&rows, "rollout-scale", "weight from=0 to=10");
    assert_eq!(routed.len(), 1);
    // Analysis interval 30 s after the weight was routed.
    assert!(
        (abort[0] - routed[0] - 30.0).abs() < 1e-6,
        "{abort:?} {routed:?}"
    );
    assert_eq!(at(&rows, "rollout-scale", "weight from=10 to=0"), abort);
    assert_eq!(at(&rows, "rollout-analysis", "result=Failed"), abort);
    // Errors only while 10% went to the canary: 300/s × 10% × 30 s = 900
    // requests × 20% = 180 expected, sd √(900 × 0.2 × 0.8) = 12; ±40 is
    // over 3 sd.
    let failed = s.services[0].requests.failed;
    assert!((140..=220).contains(&failed), "failed {failed}");
    // The canary's pod goes abortScaleDownDelaySeconds (30 s) after the abort.
    let states = replay(&rows);
    let gone = at(&rows, "rollout-scale", "template=1 from=1 to=0");
    assert_eq!(gone.len(), 1);
    assert!((gone[0] - abort[0] - 30.0).abs() < 1e-6);
    let end = states.last().unwrap();
    assert_eq!((end.1, end.3), (10, 0), "10 stable pods, no canary");
}

#[test]
fn blue_green_switches_all_traffic_at_once_after_green_is_ready() {
    let text = edit(
        ROLLING,
        "strategy = \"rollingUpdate\"\nat = \"1m\"\nmaxSurge = \"25%\"\nmaxUnavailable = \"25%\"",
        "strategy = \"blueGreen\"\nat = \"1m\"\nscaleDownDelaySeconds = 30",
    );
    let (s, rows) = run(&text);
    let r = s.services[0].rollout.as_ref().expect("rollout summary");
    assert_eq!(
        (r.outcome.as_str(), r.max_weight, r.failed),
        ("complete", 100, 0)
    );
    let switch = at(&rows, "rollout-scale", "weight from=0 to=100");
    assert_eq!(switch.len(), 1, "one switch, no intermediate weight");
    let states = replay(&rows);
    // At the switch all 13 green pods are ready beside the 13 blue ones.
    let at_switch = states.iter().rfind(|x| x.0 <= switch[0]).unwrap();
    assert_eq!((at_switch.1, at_switch.2, at_switch.3), (26, 26, 13));
    // Blue goes scaleDownDelaySeconds (30 s) after the switch.
    let blue_down = at(&rows, "rollout-scale", "template=0 from=13 to=0");
    assert_eq!(blue_down.len(), 1);
    assert!((blue_down[0] - switch[0] - 30.0).abs() < 1e-6);
    let end = states.last().unwrap();
    assert_eq!((end.1, end.3), (13, 13));
}

#[test]
fn crash_looping_deployment_rolls_back_at_its_progress_deadline() {
    let text = format!(
        "{ROLLING}progressDeadlineSeconds = 30\nprogressDeadlineAbort = true\n\
         [services.web.rollout.newRevision]\ncrashOnStart = true\n"
    );
    let (s, rows) = run(&text);
    let r = s.services[0].rollout.as_ref().expect("rollout summary");
    assert_eq!((r.outcome.as_str(), r.rollbacks), ("rolled-back", 1));
    // New pods: surge 4 (13 → 17), old scaled 13 → 10 (17 − 10 available
    // needed − 4 unavailable new = 3), then 3 more new: 7 crash-looping.
    assert_eq!(r.crash_loops, 7);
    // Each exits at its bind (60 s) and restarts after CrashLoopBackOff's
    // 10 s, then 20 s: at 70 s and 90 s, before its deletion at 90 s + 1 ns
    // (the deadline passes strictly after 60 + 30 s). 7 × 2 = 14.
    assert_eq!(r.restarts, 14);
    // No progress since the start at 60 s: the deadline passes at 60 + 30 s.
    let abort = at(&rows, "rollout-abort", "ProgressDeadlineExceeded");
    assert_eq!(abort.len(), 1);
    assert!((abort[0] - 90.0).abs() < 1e-6, "{abort:?}");
    // Ten old replicas kept serving: nothing lost.
    assert_eq!(r.failed, 0);
    let end = replay(&rows).pop().unwrap();
    assert_eq!((end.1, end.2, end.3), (13, 13, 0), "back to 13 old pods");
}

#[test]
fn an_autoscaler_rescales_a_rolling_update_in_progress() {
    // rolling-update.toml with its traffic stepping from 300 to 1,500
    // requests/s at 62 s (the rollout started at 60 s) and a CPU HPA
    // (60% of requests, 13 to 30 replicas). 1,500/s × 50 ms = 75 busy
    // slots over 13 replicas of 4 slots: saturated, so the HPA asks for
    // more at its next sync — while the rollout runs. The autoscaler reads
    // and writes the Deployment's spec.replicas (the rollout's base), so
    // the rollout goes on over the new count and ends with every pod of
    // the new template and as many as the HPA last asked for.
    // Start delays of 20 s on average (8 s in the file) stretch the
    // rollout past the HPA's first reaction (about 30 s after the step:
    // the metrics window, then the next 15 s sync).
    let text = edit(
        ROLLING,
        "startDelay = { dist = \"lognormal\", mean = \"8s\", p99 = \"25s\" }",
        "startDelay = { dist = \"lognormal\", mean = \"20s\", p99 = \"40s\" }",
    );
    let text = edit(
        &text,
        "[services.web.traffic]\nmodel = \"constant\"\nrate = 300\n",
        "[services.web.traffic]\nmodel = \"spike\"\nbase = 300\npeak = 1500\nstart = \"62s\"\nrampUp = \"1s\"\nhold = \"10m\"\nrampDown = \"1s\"\n\n[services.web.autoscaler]\nkind = \"hpa\"\nminReplicas = 13\nmaxReplicas = 30\nmetrics = [\n  { type = \"Resource\", resource = { name = \"cpu\", target = { type = \"Utilization\", averageUtilization = 60 } } },\n]\n",
    );
    let (s, rows) = run(&text);
    let r = s.services[0].rollout.as_ref().expect("rollout summary");
    assert_eq!(r.outcome, "complete", "{r:?}");
    let start = at(&rows, "rollout-start", "")[0];
    let done = at(&rows, "rollout-done", "")[0];
    let scales: Vec<(f64, u32)> = rows
        .iter()
        .filter(|r| r.1 == "scale")
        .map(|r| {
            let to = r.3.split("to=").nth(1).unwrap().split(' ').next().unwrap();
            (r.0, to.parse().unwrap())
        })
        .collect();
    assert!(
        scales.iter().any(|&(t, _)| t > start && t < done),
        "no scaling while the rollout ran: {scales:?} (rollout {start}–{done})"
    );
    let last = scales.last().unwrap().1;
    assert!(last > 13, "{scales:?}");
    // The end: every pod of the new template, as many as the HPA asked.
    let end = replay(&rows).last().copied().unwrap();
    assert_eq!(
        (end.1, end.3),
        (i64::from(last), i64::from(last)),
        "{scales:?}"
    );
    assert_eq!(s.services[0].replicas.desired, last);
}
