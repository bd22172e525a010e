//! Zones on the request path (issue 7's "requests crossing zones pay that
//! latency; a partition cuts links"): the round trip from the ingress zone,
//! loss, `link-degrade`, and a `partition` through NotReady, eviction and
//! healing. Every expected number is worked out in the comments.

mod common;

use std::path::Path;

use common::Rows;
use orkestra_core::results::Summary;
use orkestra_core::testing::{NoFiles, edit};

fn run(text: &str, seed: u64) -> (Summary, Rows) {
    common::simulate(text, "topology.toml", &[], Some(seed), &NoFiles)
}

/// Zone za (first, so the default ingress) has one node, zone zb two; the
/// two replicas of `web` may only run in zb (node selector). Service time
/// is a constant 10 ms and each replica has 64 slots, so at 100 requests/s
/// (1 Erlang over 128 slots) no request ever waits: every latency is the
/// service time plus what the link adds.
const FAR: &str = r#"
name = "far"
[simulation]
duration = "100s"
sampleInterval = "10s"
[pools.a]
count = 1
cpu = "2"
memory = "4Gi"
zone = "za"
[pools.b]
count = 2
cpu = "2"
memory = "4Gi"
zone = "zb"
[services.web]
replicas = 2
concurrency = 64
requests = { cpu = "1", memory = "1Gi" }
nodeSelector = { "topology.kubernetes.io/zone" = "zb" }
serviceTime = { dist = "constant", value = "10ms" }
traffic = { model = "constant", rate = 100 }
"#;

const LINK_5MS: &str = r#"
[topology]
[[topology.links]]
from = "za"
to = "zb"
latency = "5ms"
"#;

#[test]
fn a_request_to_another_zone_pays_the_round_trip() {
    // No topology: every latency is exactly the 10 ms service time.
    let (base, _) = run(FAR, 1);
    let web = &base.services[0];
    assert!(web.requests.total > 9_000, "{}", web.requests.total);
    assert!(
        (web.latency_s.mean - 0.010).abs() < 1e-12,
        "{}",
        web.latency_s.mean
    );
    // Ingress za (the first node's zone), replicas in zb, link 5 ms one
    // way: 10 ms + 2 × 5 ms = 20 ms, for every request.
    let (far, _) = run(&format!("{FAR}{LINK_5MS}"), 1);
    let web = &far.services[0];
    assert!(
        (web.latency_s.mean - 0.020).abs() < 1e-12,
        "{}",
        web.latency_s.mean
    );
    assert!(
        (web.latency_s.max - 0.020).abs() < 1e-3,
        "{}",
        web.latency_s.max
    );
    // The link draws nothing: the same requests, all served.
    assert_eq!(web.requests.total, base.services[0].requests.total);
    assert_eq!(web.requests.ok, web.requests.total - in_flight(&far));
    // Ingress in zb itself: the zone to itself is free → 10 ms again.
    let text = edit(
        &format!("{FAR}{LINK_5MS}"),
        "[topology]",
        "[topology]\ningressZone = \"zb\"",
    );
    let (near, _) = run(&text, 1);
    assert!((near.services[0].latency_s.mean - 0.010).abs() < 1e-12);
}

/// Requests still in service when the run ends (neither ok nor failed).
fn in_flight(s: &Summary) -> u64 {
    let r = &s.services[0].requests;
    r.total - r.ok - r.failed - r.timed_out - r.rejected
}

#[test]
fn the_timeout_includes_the_round_trip() {
    // Timeout 15 ms: 10 ms of service passes alone, but 10 + 2 × 5 = 20 ms
    // over the link does not — every completed request times out.
    let text = edit(
        FAR,
        "concurrency = 64",
        "concurrency = 64\ntimeout = \"15ms\"",
    );
    let (alone, _) = run(&text, 1);
    assert_eq!(alone.services[0].requests.timed_out, 0);
    let (far, _) = run(&format!("{text}{LINK_5MS}"), 1);
    let r = &far.services[0].requests;
    assert_eq!(r.ok, 0);
    assert_eq!(r.timed_out, r.total - in_flight(&far));
}

#[test]
fn loss_fails_attempts_on_both_legs_and_retries_recover_them() {
    // 1000 requests/s for 100 s ≈ 100,000 requests over a link with loss
    // 0.1 each way: an attempt is lost with p = 1 − 0.9² = 0.19. Binomial
    // sd of the share: √(0.19 × 0.81 / 100,000) ≈ 0.00124; allow ±0.006 (~5 sd).
    let lossy = edit(FAR, "rate = 100", "rate = 1000")
        + &edit(
            LINK_5MS,
            "latency = \"5ms\"",
            "latency = \"5ms\"\nloss = 0.1",
        );
    let (sum, _) = run(&lossy, 1);
    let r = &sum.services[0].requests;
    let share = r.failed as f64 / r.total as f64;
    assert!((share - 0.19).abs() < 0.006, "failed share {share}");
    assert!(r.total > 95_000, "{}", r.total);
    // Loss draws from `topology/loss` only: the arrivals are the lossless run's.
    let (lossless, _) = run(&edit(FAR, "rate = 100", "rate = 1000"), 1);
    assert_eq!(r.total, lossless.services[0].requests.total);
    // One retry with a budget that never binds (ratio 1): a request fails
    // only if both attempts are lost, p = 0.19² = 0.0361 (sd ≈ 0.00059;
    // allow ±0.003), and about 19% of requests are retried once (±0.006).
    let retrying = edit(
        &lossy,
        "concurrency = 64",
        "concurrency = 64\nbalancing = { retries = 1, retryBudget = { retryRatio = 1.0 } }",
    );
    let (sum, _) = run(&retrying, 1);
    let r = &sum.services[0].requests;
    let share = r.failed as f64 / r.total as f64;
    assert!((share - 0.0361).abs() < 0.003, "failed share {share}");
    let retried = r.retries as f64 / r.total as f64;
    assert!((retried - 0.19).abs() < 0.006, "retried share {retried}");
}

#[test]
fn link_degrade_adds_latency_and_loss_for_its_window() {
    // Degraded from 0 s to the end by +20 ms one way and loss 0.1 (the base
    // link has none): every request pays 10 + 2 × (5 + 20) = 60 ms, and
    // 1 − 0.9² = 0.19 of them are lost (±0.006 as above at 1000/s).
    let text = edit(FAR, "rate = 100", "rate = 1000")
        + LINK_5MS
        + r#"
[[faults]]
kind = "link-degrade"
at = "0s"
from = ["za"]
to = ["zb"]
latency = "20ms"
loss = 0.1
"#;
    let (sum, rows) = run(&text, 1);
    let web = &sum.services[0];
    assert!(
        (web.latency_s.mean - 0.060).abs() < 1e-12,
        "{}",
        web.latency_s.mean
    );
    let share = web.requests.failed as f64 / web.requests.total as f64;
    assert!((share - 0.19).abs() < 0.006, "failed share {share}");
    // A degraded link is still up: no node goes silent.
    assert!(rows.times("node-not-ready").is_empty());
    // Without a topology table, a link-degrade alone still applies (base 0 ms):
    // 10 + 2 × 20 = 50 ms.
    let text = edit(&text, LINK_5MS, "");
    let (sum, _) = run(&text, 1);
    assert!((sum.services[0].latency_s.mean - 0.050).abs() < 1e-12);
}

/// The replicas run in zone zb on pool `far` (named first, so first-fit
/// fills it first: 2 of the 4 replicas), and pool `near` in za, the
/// ingress, has the rest and room for 2 more. Constant 10 ms service, 10
/// requests/s, start delay 5 s, Kubernetes' default node lifecycle.
const PARTITION: &str = r#"
name = "partition"
[simulation]
duration = "15m"
sampleInterval = "10s"
[pools.far]
count = 1
cpu = "2"
memory = "4Gi"
zone = "zb"
[pools.near]
count = 1
cpu = "4"
memory = "8Gi"
zone = "za"
[topology]
ingressZone = "za"
[services.web]
replicas = 4
concurrency = 4
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
startDelay = "5s"
traffic = { model = "constant", rate = 10 }
[[faults]]
kind = "partition"
at = "100s"
duration = "500s"
from = ["za"]
to = ["zb"]
"#;

#[test]
fn a_partition_fails_requests_to_the_far_side_then_evicts_and_replaces_near() {
    let (sum, rows) = run(PARTITION, 1);
    // Heartbeats every 10 s: the last from far-0 is at 100 s; silent past
    // 100 + 40 = 140 s, the first 5 s monitor pass strictly after is 145 s.
    assert_eq!(rows.times("fault-start"), vec![100.0]);
    assert_eq!(rows.after_start("node-not-ready"), vec![(145.0, "far-0")]);
    // Eviction at 145 + 300 = 445 s of far-0's two replicas, replaced on
    // near-0 (far-0 is NotReady) at 445 s and ready 5 s later.
    assert_eq!(rows.times("evict"), vec![445.0, 445.0]);
    let binds: Vec<_> = rows
        .events
        .iter()
        .filter(|e| e.1 == "bind" && e.0 > 0.0)
        .map(|e| (e.0, e.3.as_str()))
        .collect();
    assert_eq!(binds, vec![(445.0, "node=near-0"), (445.0, "node=near-0")]);
    let ready: Vec<f64> = rows.after_start("ready").iter().map(|r| r.0).collect();
    assert_eq!(ready, vec![450.0, 450.0]);
    // The partition ends at 100 + 500 = 600 s: far-0 is heard again.
    assert_eq!(rows.after_start("node-ready"), vec![(600.0, "far-0")]);
    let f = &sum.faults.as_ref().expect("faults summary").faults[0];
    assert_eq!(f.kind, "partition");
    assert_eq!(f.time_to_detect_s, Some(45.0)); // 145 − 100
    // The far replicas stopped serving at 100 s; 4 serve again at 450 s.
    assert_eq!(f.time_to_recover_s, Some(350.0));
    // Their containers ran until the eviction, which stops them.
    assert_eq!(f.containers_killed, 2);
    // Round-robin over 4 endpoints sends every other request to a cut
    // replica from 100 s until NotReady at 145 s: 45 s × 10/s ÷ 2 ≈ 225
    // failed (Poisson count, sd ≈ √450 ÷ 2 ≈ 11; ±50 is > 4 sd). Nothing
    // fails outside that window: the near side serves everything.
    let lost = sum.services[0].requests.failed;
    assert!(
        (175..=275).contains(&lost),
        "lost {lost}, about 225 expected"
    );
}

#[test]
fn a_partition_that_heals_before_eviction_brings_the_replicas_back() {
    // Cut 100 s to 300 s: NotReady at 145 s as above, eviction would be at
    // 445 s, but far-0 is heard again at 300 s: Ready, and its two replicas
    // — still running — are Ready again then. Nothing is evicted or replaced.
    let text = edit(PARTITION, "duration = \"500s\"", "duration = \"200s\"");
    let (sum, rows) = run(&text, 1);
    assert_eq!(rows.after_start("node-not-ready"), vec![(145.0, "far-0")]);
    assert!(rows.times("evict").is_empty());
    assert_eq!(rows.after_start("node-ready"), vec![(300.0, "far-0")]);
    let ready: Vec<f64> = rows.after_start("ready").iter().map(|r| r.0).collect();
    assert_eq!(ready, vec![300.0, 300.0]);
    assert!(rows.after_start("bind").is_empty());
    let f = &sum.faults.as_ref().unwrap().faults[0];
    assert_eq!(f.time_to_recover_s, Some(200.0)); // 300 − 100
    assert_eq!(f.containers_killed, 0);
    // Cut 100 s to 130 s, before NotReady (145 s): no NotReady at all, the
    // replicas never leave; about 30 s × 10/s ÷ 2 = 150 requests fail (±50).
    let text = edit(PARTITION, "duration = \"500s\"", "duration = \"30s\"");
    let (sum, rows) = run(&text, 1);
    assert!(rows.times("node-not-ready").is_empty());
    assert!(rows.after_start("ready").is_empty());
    let lost = sum.services[0].requests.failed;
    assert!(
        (100..=200).contains(&lost),
        "lost {lost}, about 150 expected"
    );
    let f = &sum.faults.as_ref().unwrap().faults[0];
    assert_eq!(f.time_to_recover_s, Some(30.0));
}

#[test]
fn an_outage_of_the_ingress_zone_cuts_every_other_zone() {
    // za is the ingress and goes dark 100–300 s: near-0 crashes, and far-0,
    // cut off from the control plane, goes NotReady at the same pass (last
    // heartbeat 100 s → 145 s; near-0's crash is applied first, so its
    // NotReady comes first). Until then every attempt fails; after it no
    // endpoint is left and requests are rejected for want of one.
    let text = PARTITION.split("[[faults]]").next().unwrap().to_string()
        + "[[faults]]\nkind = \"zone-outage\"\nat = \"100s\"\nduration = \"200s\"\ntarget = { zone = \"za\" }\n";
    let (sum, rows) = run(&text, 1);
    let not_ready: Vec<_> = rows.after_start("node-not-ready");
    assert_eq!(not_ready, vec![(145.0, "near-0"), (145.0, "far-0")]);
    let r = &sum.services[0].requests;
    // 100–145 s: every attempt fails (near dead, far cut): ≈ 450 ± 100.
    assert!((350..=550).contains(&r.failed), "failed {}", r.failed);
    // 145–300 s: no endpoint: ≈ 1550 rejected (sd ≈ 40; ±200).
    assert!(
        (1350..=1750).contains(&r.rejected_no_endpoint),
        "rejected {}",
        r.rejected_no_endpoint
    );
}

#[test]
fn faults_with_a_node_autoscaler_bind_on_added_nodes() {
    // Before the fault state grew with added nodes, binding a replica to a
    // node the Cluster Autoscaler added indexed past the per-node arrays and
    // panicked. The shipped scenario plus a short control-plane pause and a
    // topology must run and add nodes.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(repo.join("scenarios/cluster-autoscaling.toml")).unwrap();
    let text = format!(
        "{text}\n[topology]\ndefaultLatency = \"1ms\"\n\n[[faults]]\nkind = \"control-plane-pause\"\nat = \"10s\"\nduration = \"5s\"\n"
    );
    let (sum, rows) = run(&text, 1);
    assert!(!rows.times("node-add").is_empty());
    assert!(sum.services[0].requests.ok > 0);
}
