//! Faults and self-healing in the simulator (issue 7): node crashes through
//! NotReady and eviction to replacements, container crashes with
//! CrashLoopBackOff, and the zone-outage scenario under several presets.
//! Times are worked out in comments from Kubernetes' defaults.

mod common;

use common::Rows;
use orkestra_core::results::Summary;
use orkestra_core::scenario::Files;
use orkestra_core::testing::{NoFiles, edit};

fn run(text: &str, overrides: &[String], seed: u64, files: &dyn Files) -> (Summary, Rows) {
    common::simulate(text, "faults.toml", overrides, Some(seed), files)
}

/// Two nodes of pool `a` hold the four replicas (first-fit: two per node),
/// pool `b` has room for two more.
const NODE_CRASH: &str = r#"
name = "node-crash"
[simulation]
duration = "15m"
sampleInterval = "10s"
[pools.a]
count = 2
cpu = "2"
memory = "4Gi"
[pools.b]
count = 1
cpu = "2"
memory = "4Gi"
[services.web]
replicas = 4
concurrency = 4
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
startDelay = "5s"
traffic = { model = "constant", rate = 10 }
[[faults]]
kind = "node-crash"
at = "100s"
duration = "500s"
target = { node = "a-0" }
"#;

#[test]
fn a_node_crash_goes_not_ready_is_evicted_and_replaced_elsewhere() {
    let (sum, rows) = run(NODE_CRASH, &[], 1, &NoFiles);
    // Kubernetes defaults: heartbeat 10 s, monitor period 5 s, grace 40 s,
    // tolerationSeconds 300. Crash at 100 s: last heartbeat 100 s (a multiple
    // of 10 s), silent past 100 + 40 = 140 s, first monitor pass strictly
    // after that = 145 s → NotReady at 145 s.
    assert_eq!(rows.times("fault-start"), vec![100.0]);
    assert_eq!(rows.times("node-not-ready"), vec![145.0]);
    // Eviction at taint + toleration = 145 + 300 = 445 s, both replicas of a-0.
    assert_eq!(rows.times("evict"), vec![445.0, 445.0]);
    // Replacements are created and bound at 445 s on b-0 (a-0 is NotReady,
    // a-1 is full), ready after startDelay 5 s = 450 s.
    let binds: Vec<_> = rows
        .events
        .iter()
        .filter(|e| e.1 == "bind" && e.0 > 0.0)
        .map(|e| (e.0, e.3.as_str()))
        .collect();
    assert_eq!(binds, vec![(445.0, "node=b-0"), (445.0, "node=b-0")]);
    let ready: Vec<f64> = rows
        .times("ready")
        .into_iter()
        .filter(|&t| t > 0.0)
        .collect();
    assert_eq!(ready, vec![450.0, 450.0]);
    // The node comes back at the end of the fault (100 + 500 = 600 s), empty.
    assert_eq!(rows.times("node-ready"), vec![600.0]);
    let f = &sum.faults.as_ref().expect("faults summary").faults[0];
    assert_eq!(f.kind, "node-crash");
    assert_eq!(f.time_to_detect_s, Some(45.0)); // 145 − 100
    assert_eq!(f.time_to_recover_s, Some(350.0)); // 450 − 100
    assert_eq!(f.containers_killed, 2);
    // Round robin over 4 endpoints sends every other request to a dead
    // replica of a-0 from 100 s until NotReady at 145 s: about
    // 45 s × 10/s ÷ 2 = 225 lost (Poisson count: sd ≈ √450 ÷ 2 ≈ 11; ±50 is > 4 sd).
    let lost = sum.services[0].requests.failed;
    assert!(
        (175..=275).contains(&lost),
        "lost {lost}, about 225 expected"
    );
    let avail = sum.faults.as_ref().unwrap().availability[0].availability;
    let total = sum.services[0].requests.total as f64;
    assert!((avail - sum.services[0].requests.ok as f64 / total).abs() < 1e-12);
}

#[test]
fn a_node_back_before_not_ready_cancels_eviction_and_comes_back_empty() {
    // Crash 100 s for 30 s: back at 130 s, before NotReady (145 s). No
    // NotReady, no eviction; its two replicas are Failed at 130 s and
    // replaced (first-fit: a-0 is Ready again and first), ready at 135 s.
    let text = edit(NODE_CRASH, "duration = \"500s\"", "duration = \"30s\"");
    let (sum, rows) = run(&text, &[], 1, &NoFiles);
    assert!(rows.times("node-not-ready").is_empty());
    assert!(rows.times("evict").is_empty());
    let ready: Vec<f64> = rows
        .times("ready")
        .into_iter()
        .filter(|&t| t > 0.0)
        .collect();
    assert_eq!(ready, vec![135.0, 135.0]);
    let f = &sum.faults.as_ref().unwrap().faults[0];
    assert_eq!(f.time_to_detect_s, None);
    assert_eq!(f.time_to_recover_s, Some(35.0)); // 135 − 100
}

#[test]
fn container_crashes_restart_after_crash_loop_back_off() {
    // One replica crashing at 1/min for the whole run: each restart comes
    // exactly the kubelet back-off after its crash (10 s, doubling while
    // crashes come within 10 min of the last raise, capped at 5 min).
    let text = edit(
        NODE_CRASH,
        "[[faults]]\nkind = \"node-crash\"",
        "[[faults]]\nkind = \"container-crash\"",
    );
    let text = edit(
        &text,
        "target = { node = \"a-0\" }",
        "target = { service = \"web\" }\nrate = 0.0166667",
    );
    let text = edit(&text, "at = \"100s\"\nduration = \"500s\"", "at = \"0s\"");
    let (sum, rows) = run(&text, &[], 3, &NoFiles);
    let crashes: Vec<_> = rows
        .events
        .iter()
        .filter(|e| e.1 == "container-crash")
        .collect();
    assert!(crashes.len() >= 3, "{} crashes", crashes.len());
    for c in &crashes {
        let backoff: f64 =
            c.3.split("backoff=")
                .nth(1)
                .and_then(|b| b.strip_suffix('s'))
                .and_then(|b| b.parse().ok())
                .unwrap_or_else(|| panic!("detail {}", c.3));
        assert!([10.0, 20.0, 40.0, 80.0, 160.0, 300.0].contains(&backoff));
        let restart = rows
            .events
            .iter()
            .find(|e| e.1 == "restart" && e.2 == c.2 && e.0 >= c.0)
            .map(|e| e.0);
        if let Some(t) = restart {
            assert!((t - c.0 - backoff).abs() < 1e-9, "{} restart {t}", c.0);
        }
    }
    let killed: u64 = sum.faults.as_ref().unwrap().faults[0].containers_killed;
    assert_eq!(killed, crashes.len() as u64);
}

#[test]
fn faults_do_not_move_arrivals_and_runs_repeat() {
    // Faults draw only from failures/* streams: the arrivals are the same
    // with and without the crash, and a second run is identical.
    let without = NODE_CRASH.split("[[faults]]").next().unwrap();
    let (a, _) = run(without, &[], 5, &NoFiles);
    let (b, rows_b) = run(NODE_CRASH, &[], 5, &NoFiles);
    let (c, rows_c) = run(NODE_CRASH, &[], 5, &NoFiles);
    assert_eq!(a.services[0].requests.total, b.services[0].requests.total);
    assert!(a.faults.is_none());
    assert_eq!(b, c);
    assert_eq!(rows_b.events, rows_c.events);
}

#[test]
fn zone_outage_under_balancer_and_scheduler_presets() {
    let text = include_str!("../../scenarios/zone-outage.toml");
    println!(
        "\n| scheduler | balancer | availability | lost requests | replicas killed | time to detect | time to recover |"
    );
    println!("|---|---|---|---|---|---|---|");
    for sched in ["first-fit", "kubernetes-default", "swarm-spread"] {
        for bal in ["round-robin", "least-request", "p2c"] {
            let o = vec![
                format!("scheduler.policy={sched}"),
                format!("services.web.balancer={bal}"),
            ];
            let (sum, rows) = run(text, &o, 1, &NoFiles);
            let f = sum.faults.as_ref().expect("faults");
            let rec = &f.faults[0];
            let a = &f.availability[0];
            println!(
                "| {sched} | {bal} | {:.3}% | {} | {} | {:.0} s | {} |",
                a.availability * 100.0,
                a.lost,
                rec.containers_killed,
                rec.time_to_detect_s.unwrap_or(f64::NAN),
                rec.time_to_recover_s
                    .map_or("never".into(), |t| format!("{t:.0} s")),
            );
            // Outage at 300 s: last heartbeat 300 s, silent past 340 s, next
            // monitor pass 345 s → detected 45 s later, for all four nodes.
            assert_eq!(rec.time_to_detect_s, Some(45.0));
            assert_eq!(rows.times("node-not-ready"), vec![345.0; 4]);
            // Each preset puts 4 of the 12 replicas in zone-b (first-fit: 8
            // fill zone-a's 4 × 2 CPUs, the next 4 zone-b; the others spread
            // 4/4/4), so 4 are killed and evicted at 345 + 60 = 405 s.
            assert_eq!(rec.containers_killed, 4);
            assert_eq!(rows.times("evict"), vec![405.0; 4]);
            // Recovery needs the replacements ready: after 405 s − 300 s = 105 s.
            let t = rec.time_to_recover_s.expect("recovered before the end");
            assert!(t > 105.0, "recovered after {t} s");
            assert!(a.availability < 1.0 && a.lost > 0);
        }
    }
}

/// The node crash of `NODE_CRASH` made permanent, plus `extra` faults.
fn crash_plus(extra: &str) -> String {
    edit(NODE_CRASH, "duration = \"500s\"\n", "") + extra
}

#[test]
fn replacements_bound_during_an_image_pull_failure_start_when_it_ends() {
    // Eviction at 445 s (as above) binds two replacements on b-0 during an
    // image-pull failure from 400 s to 500 s: ErrImagePull at 445 s, the
    // containers start at 500 s and are ready after startDelay: 505 s.
    let text = crash_plus(
        "[[faults]]\nkind = \"image-pull-failure\"\nat = \"400s\"\nduration = \"100s\"\ntarget = { service = \"web\" }\n",
    );
    let (sum, rows) = run(&text, &[], 1, &NoFiles);
    assert_eq!(rows.times("image-pull-backoff"), vec![445.0, 445.0]);
    let ready: Vec<f64> = rows
        .times("ready")
        .into_iter()
        .filter(|&t| t > 0.0)
        .collect();
    assert_eq!(ready, vec![505.0, 505.0]);
    let crash = &sum.faults.as_ref().unwrap().faults[0];
    assert_eq!(crash.time_to_recover_s, Some(405.0)); // 505 − 100
}

#[test]
fn a_control_plane_pause_defers_not_ready_and_eviction() {
    // Pause 140 s–200 s: the NotReady pass due at 145 s runs at the end of
    // the pause, 200 s; eviction 200 + 300 = 500 s; replacements ready 505 s.
    let text = crash_plus(
        "[[faults]]\nkind = \"control-plane-pause\"\nat = \"140s\"\nduration = \"60s\"\n",
    );
    let (sum, rows) = run(&text, &[], 1, &NoFiles);
    assert_eq!(rows.times("node-not-ready"), vec![200.0]);
    assert_eq!(rows.times("evict"), vec![500.0, 500.0]);
    let crash = &sum.faults.as_ref().unwrap().faults[0];
    assert_eq!(crash.time_to_detect_s, Some(100.0)); // 200 − 100
    assert_eq!(crash.time_to_recover_s, Some(405.0)); // 505 − 100
}

/// One static 2-cpu node holds two 1-cpu replicas; a 1-cpu job pod arrives
/// at 5 s. Two autoscaled pools can take it: `cheap` (0.10/h) and `dear`
/// (0.20/h), both booting 30 s; the Cluster Autoscaler's `price` expander
/// prefers `cheap`, whose nodes fail to provision from 0 s.
const PROVISION: &str = r#"
name = "provision-failure"
[simulation]
duration = "20m"
[pools.base]
count = 1
cpu = "2"
memory = "8Gi"
[pools.cheap]
count = 0
max = 3
cpu = "2"
memory = "8Gi"
bootDelay = "30s"
costPerHour = 0.1
[pools.dear]
count = 0
max = 3
cpu = "2"
memory = "8Gi"
bootDelay = "30s"
costPerHour = 0.2
[clusterAutoscaler]
kind = "cluster-autoscaler"
expander = "price"
[services.web]
replicas = 2
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
traffic = { model = "constant", rate = 1 }
[jobs.batch]
arrivals = [{ at = "5s", duration = "30m", cpu = "1", memory = "1Gi" }]
[[faults]]
kind = "provision-failure"
at = "0s"
target = { pool = "cheap" }
"#;

#[test]
fn a_pool_that_fails_to_provision_is_given_up_after_15_minutes_and_backed_off() {
    // First scan at 10 s: cheap-0 is requested and never registers. The
    // pending pod fits it, so nothing else happens until 10 + 900 =
    // 910 s, when the scan deletes it and backs cheap off for 5 min; the
    // next scan (920 s) grows dear instead: dear-0 ready at 950 s, and the
    // job pod binds there.
    let (_, rows) = run(PROVISION, &[], 1, &NoFiles);
    let of = |kind: &str, subject: &str| {
        rows.events
            .iter()
            .filter(|e| e.1 == kind && e.2 == subject)
            .map(|e| e.0)
            .collect::<Vec<f64>>()
    };
    assert_eq!(of("node-add", "cheap-0"), [10.0]);
    assert!(of("node-ready", "cheap-0").is_empty());
    assert_eq!(of("node-drain", "cheap-0"), [910.0]);
    assert_eq!(of("node-remove", "cheap-0"), [910.0]);
    assert_eq!(of("node-add", "dear-0"), [920.0]);
    assert_eq!(of("node-ready", "dear-0"), [950.0]);
    let bound_on_dear = rows
        .events
        .iter()
        .filter(|e| e.1 == "bind" && e.3 == "node=dear-0")
        .count();
    assert_eq!(bound_on_dear, 1);
    // cheap was never grown again within its back-off (until 1210 s) nor after:
    // nothing was pending any more.
    assert!(of("node-add", "cheap-1").is_empty());
}

/// Two 2-cpu nodes; web's two 1-cpu replicas both on a-0 (first fit), a
/// budget keeping one of them available; a-0 drained from 60 s for 60 s.
const DRAIN: &str = r#"
name = "node-drain"
[simulation]
duration = "3m"
[pools.a]
count = 1
cpu = "2"
memory = "4Gi"
[pools.b]
count = 1
cpu = "2"
memory = "4Gi"
[[podDisruptionBudgets]]
name = "web"
selector = { matchLabels = { app = "web" } }
minAvailable = 1
[services.web]
replicas = 2
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
startDelay = "2s"
traffic = { model = "constant", rate = 10 }
[[faults]]
kind = "node-drain"
at = "60s"
duration = "60s"
target = { node = "a-0" }
"#;

#[test]
fn a_drain_evicts_through_the_budget_and_retries_every_5_s() {
    // 60 s: a-0 cordoned; web-0 evicted (2 healthy, 1 required: 1 allowed);
    // web-1 refused (web-0 leaving: 1 healthy, 0 allowed). web-0's
    // replacement binds on b-0 and is ready at 62 s; the retry at 65 s
    // evicts web-1 (2 healthy again). 120 s: a-0 uncordoned.
    let (_, rows) = run(DRAIN, &[], 1, &NoFiles);
    let of = |kind: &str| {
        rows.events
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| (e.0, e.2.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(of("node-cordon"), [(60.0, "a-0".to_string())]);
    assert_eq!(
        of("evict"),
        [(60.0, "web-0".to_string()), (65.0, "web-1".to_string())]
    );
    assert_eq!(of("eviction-refused"), [(60.0, "web-1".to_string())]);
    let refused = rows
        .events
        .iter()
        .find(|e| e.1 == "eviction-refused")
        .unwrap();
    assert_eq!(
        refused.3,
        "node=a-0 Cannot evict pod as it would violate the pod's disruption budget (PDB web: disruptionsAllowed 0)."
    );
    assert_eq!(of("node-uncordon"), [(120.0, "a-0".to_string())]);
    // Without the budget both go at once.
    let free = edit(
        DRAIN,
        "[[podDisruptionBudgets]]\nname = \"web\"\nselector = { matchLabels = { app = \"web\" } }\nminAvailable = 1\n",
        "",
    );
    let (_, rows) = run(&free, &[], 1, &NoFiles);
    let evicted: Vec<f64> = rows
        .events
        .iter()
        .filter(|e| e.1 == "evict")
        .map(|e| e.0)
        .collect();
    assert_eq!(evicted, [60.0, 60.0]);
    // Bare pods: kubectl drain refuses them without --force; nothing is
    // evicted and nothing recreated.
    let bare = edit(
        &free,
        "replicas = 2\n",
        "replicas = 2\ncontroller = \"none\"\n",
    );
    let (_, rows) = run(&bare, &[], 1, &NoFiles);
    assert!(rows.events.iter().all(|e| e.1 != "evict"));
    let refused: Vec<&str> = rows
        .events
        .iter()
        .filter(|e| e.1 == "eviction-refused")
        .map(|e| e.3.as_str())
        .collect();
    assert_eq!(
        refused,
        ["node=a-0 cannot delete Pods that declare no controller (use --force to override)"; 2]
    );
    assert_eq!(rows.events.iter().filter(|e| e.1 == "create").count(), 2);
}
