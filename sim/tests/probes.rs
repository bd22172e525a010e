//! Readiness probes gate a starting replica in the simulator: it is ready
//! at the first probe after its application is up, once `successThreshold`
//! probes in a row have passed (kubelet `prober/worker.go`).

mod common;

use orkestra_core::testing::NoFiles;

/// Two replicas started at 0 (no warm start), their application up after
/// a constant 12 s.
const BASE: &str = r#"
name = "probes"
[simulation]
duration = "1m"
warmStart = false
[pools.a]
count = 1
cpu = "4"
memory = "4Gi"
[services.web]
replicas = 2
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
startDelay = "12s"
traffic = { model = "constant", rate = 10 }
"#;

fn ready_times(extra: &str) -> Vec<f64> {
    let text = format!("{BASE}{extra}");
    common::simulate(&text, "probes.toml", &[], None, &NoFiles)
        .1
        .times("ready")
}

#[test]
fn a_readiness_probe_delays_ready_to_its_probe_instants() {
    // No probe: ready when the application is, at 12 s.
    assert_eq!(ready_times(""), [12.0, 12.0]);
    // Probes at 5, 15, 25, … s (initialDelay 5, period 10): the first at or
    // after 12 s is 15 s.
    let one = "[services.web.probes.readiness]\nperiodSeconds = 10\ninitialDelaySeconds = 5\n";
    assert_eq!(ready_times(one), [15.0, 15.0]);
    // successThreshold 2: the probes at 15 s and 25 s must both pass → 25 s.
    let two = format!("{one}successThreshold = 2\n");
    assert_eq!(ready_times(&two), [25.0, 25.0]);
    // A probe instant exactly at 12 s counts (period 4, no delay: 0, 4, 8, 12).
    let at = "[services.web.probes.readiness]\nperiodSeconds = 4\n";
    assert_eq!(ready_times(at), [12.0, 12.0]);
}
