//! `[topology]`, `[[faults]]`, `[stochastic.POOL]`, probes and
//! `[nodeLifecycle]`: what they resolve to, and one located line per bad input.

use super::tests::MemFiles;
use super::*;
use crate::faults::{FailureScope, FaultKind};
use crate::health::ProbeSpec;
use crate::model::NodeId;
use crate::testing::edit;
use crate::time::SimTime;

const BASE: &str = r#"
name = "faulty"

[simulation]
duration = "1h"

[pools.a]
count = 4
cpu = "2"
memory = "4Gi"
zone = "za"
region = "eu"
racks = 2
labels = { disk = "ssd" }

[pools.b]
count = 2
cpu = "2"
memory = "4Gi"
zone = "zb"
region = "eu"

[services.web]
replicas = 2
limits = { cpu = "500m", memory = "256Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 10 }

[services.web.probes.readiness]
periodSeconds = 5
failureThreshold = 2

[services.web.probes.liveness]
initialDelaySeconds = 15

[topology]
defaultLatency = "50ms"

[[topology.links]]
from = "za"
to = "zb"
latency = "2ms"
loss = 0.001

[nodeLifecycle]
nodeMonitorGracePeriod = "50s"
tolerationSeconds = 60
"#;

fn load(extra: &str) -> Result<Scenario, InputError> {
    let text = format!("{BASE}{extra}");
    parse(&text, "f.toml", &MemFiles::default(), &[], None)
}

/// 1-based line of the first occurrence of `needle` in BASE + `extra`.
fn line_of(extra: &str, needle: &str) -> usize {
    let text = format!("{BASE}{extra}");
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    line_col(&text, at).0
}

#[test]
fn topology_probes_and_lifecycle_resolve() {
    let s = load("").unwrap();
    let r = &s.resilience;
    // Pool a's nodes 0..4 dealt over 2 racks: a-r0, a-r1, a-r0, a-r1; pool b has none → own names.
    assert_eq!(
        r.topology.node_rack,
        ["a-r0", "a-r1", "a-r0", "a-r1", "b-0", "b-1"]
    );
    assert_eq!(r.topology.zone_region["zb"], "eu");
    assert_eq!(r.topology.links[0].latency, SimDuration::from_millis(2));
    assert_eq!(r.topology.default_latency, SimDuration::from_millis(50));
    // No ingressZone: the zone of the first node (a-0, pool a, zone za).
    assert_eq!(r.topology.ingress_zone, "za");
    assert!(r.topology.declared);
    let web = &r.probes[0];
    // Readiness: period 5, failureThreshold 2, the rest Kubernetes' defaults (timeout 1, success 1, delay 0).
    assert_eq!(
        web.readiness,
        Some(ProbeSpec {
            period: SimDuration::from_secs(5),
            failure_threshold: 2,
            ..ProbeSpec::default()
        })
    );
    assert_eq!(
        web.liveness.unwrap().initial_delay,
        SimDuration::from_secs(15)
    );
    assert_eq!(r.node_lifecycle.grace_period, SimDuration::from_secs(50));
    assert_eq!(r.node_lifecycle.toleration, SimDuration::from_secs(60));
    // Not given: kubelet nodeStatusUpdateFrequency 10 s, --node-monitor-period 5 s.
    assert_eq!(
        r.node_lifecycle.heartbeat_interval,
        SimDuration::from_secs(10)
    );
    assert!(r.faults.is_empty());
    // The graph built from the spec answers the matrix.
    let t = crate::topology::Topology::build(&r.topology, &s.nodes);
    assert_eq!(
        t.between(NodeId(0), NodeId(5)).latency,
        SimDuration::from_millis(2)
    );
}

#[test]
fn faults_resolve_their_targets() {
    let s = load(
        r#"
[[faults]]
kind = "node-crash"
at = "100s"
duration = "5m"
target = { rack = "a-r1" }

[[faults]]
kind = "node-crash"
at = "100s"
until = "200s"
target = { node = "b-0" }

[[faults]]
kind = "slow-node"
at = "10s"
speed = 0.5
selector = { disk = "ssd" }

[[faults]]
kind = "partition"
at = "20m"
duration = "1m"
from = ["za"]
to = ["zb"]

[[faults]]
kind = "oom-kill"
at = "0s"
target = { service = "web" }
memoryBase = "100Mi"
memoryPerRequest = "10Mi"

[[faults]]
kind = "control-plane-pause"
at = "30m"
duration = "2m"

[stochastic.a]
scope = "rack"
timeToFailure = { dist = "weibull", scale = "720h", shape = 1.2 }
timeToRepair = { dist = "lognormal", mean = "10m", p99 = "1h" }
"#,
    )
    .unwrap();
    let f = &s.resilience.faults;
    let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
    assert_eq!(
        f.scheduled[0].kind,
        FaultKind::NodeCrash {
            nodes: ids(&[1, 3])
        }
    );
    assert_eq!(f.scheduled[0].end(), Some(SimTime(400_000_000_000))); // 100 s + 5 m
    // until 200 s − at 100 s = 100 s.
    assert_eq!(f.scheduled[1].duration, Some(SimDuration::from_secs(100)));
    assert_eq!(
        f.scheduled[2].kind,
        FaultKind::SlowNode {
            nodes: ids(&[0, 1, 2, 3]),
            speed: 0.5
        }
    );
    match &f.scheduled[4].kind {
        // The limit is web's limits.memory, 256Mi.
        FaultKind::OomKill { memory, .. } => assert_eq!(memory.limit, 256 << 20),
        k => panic!("{k:?}"),
    }
    assert_eq!(f.scheduled[4].duration, None, "lasts to the end of the run");
    let p = &f.stochastic[0];
    assert_eq!(p.scope, FailureScope::Rack);
    let units: Vec<(&str, Vec<NodeId>)> = p
        .units
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    assert_eq!(units, [("a-r0", ids(&[0, 2])), ("a-r1", ids(&[1, 3]))]);
}

#[test]
fn bad_faults_are_located() {
    // (extra text, needle on the reported line, field path, words in the message)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "[[faults]]\nkind = \"container-crash\"\nat = \"1s\"\ntarget = { service = \"web\" }\nrate = 0.1\nlive = \"pause\"\n",
            "live =",
            "faults[0].live",
            "\"kill\" or \"stop\"",
        ),
        (
            "[[faults]]\nkind = \"slow-node\"\nat = \"1s\"\ntarget = { node = \"a-0\" }\nspeed = 0.5\nlive = \"kill\"\n",
            "[[faults]]",
            "faults[0]",
            "'live' does not apply to kind = \"slow-node\"",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"1s\"\ntarget = { node = \"nope\" }\n",
            "target = { node",
            "faults[0].target.node",
            "unknown node 'nope'; nodes: a-0, a-1",
        ),
        (
            "[[faults]]\nkind = \"zone-outage\"\nat = \"1s\"\ntarget = { zone = \"zc\" }\n",
            "target = { zone",
            "faults[0].target.zone",
            "unknown zone 'zc'; zones: za, zb",
        ),
        (
            "[[faults]]\nkind = \"image-pull-failure\"\nat = \"1s\"\ntarget = { service = \"api\" }\n",
            "target = { service",
            "faults[0].target.service",
            "unknown service 'api'",
        ),
        (
            "[[faults]]\nkind = \"provision-failure\"\nat = \"1s\"\ntarget = { pool = \"a\" }\n",
            "target = { pool",
            "faults[0].target.pool",
            "pool 'a' is not autoscaled (give it 'max'): only nodes a node autoscaler adds can fail to provision",
        ),
        (
            "[[faults]]\nkind = \"provision-failure\"\nat = \"1s\"\ntarget = { node = \"a-0\" }\n",
            "target = { node",
            "faults[0].target.node",
            "kind = \"provision-failure\" targets a pool, not a node",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"1s\"\nduration = \"-5s\"\ntarget = { pool = \"a\" }\n",
            "duration = \"-5s\"",
            "faults[0].duration",
            "must not be negative",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"1s\"\nduration = \"0s\"\ntarget = { pool = \"a\" }\n",
            "duration = \"0s\"",
            "faults[0].duration",
            "greater than zero",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"100s\"\nuntil = \"50s\"\ntarget = { pool = \"a\" }\n",
            "until = \"50s\"",
            "faults[0].until",
            "recovery must come after the start",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"2h\"\ntarget = { pool = \"a\" }\n",
            "at = \"2h\"",
            "faults[0].at",
            "never happen",
        ),
        // Pool a (nodes a-0..a-3) crashes 100–400 s; rack a-r0 (a-0, a-2) from 200 s overlaps.
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"100s\"\nduration = \"5m\"\ntarget = { pool = \"a\" }\n\
             [[faults]]\nkind = \"node-crash\"\nat = \"200s\"\ntarget = { rack = \"a-r0\" }\n",
            "at = \"200s\"",
            "faults[1].at",
            "overlaps faults[0], which already crashes node 'a-0' until 400s",
        ),
        (
            "[[faults]]\nkind = \"partition\"\nat = \"1s\"\nfrom = [\"za\"]\nto = [\"za\", \"zb\"]\n",
            "to = [",
            "faults[0].to",
            "zone 'za' is on both sides",
        ),
        (
            "[[faults]]\nkind = \"slow-node\"\nat = \"1s\"\nspeed = 2\ntarget = { node = \"a-0\" }\n",
            "speed = 2",
            "faults[0].speed",
            "at most 1",
        ),
        (
            "[[faults]]\nkind = \"container-crash\"\nat = \"1s\"\ntarget = { service = \"web\" }\n",
            "[[faults]]",
            "faults[0]",
            "needs 'rate'",
        ),
        (
            "[[faults]]\nkind = \"zone-outage\"\nat = \"1s\"\nspeed = 0.5\ntarget = { zone = \"za\" }\n",
            "[[faults]]",
            "faults[0]",
            "'speed' does not apply to kind = \"zone-outage\"",
        ),
        (
            "[[faults]]\nkind = \"node-crash\"\nat = \"1s\"\nselector = { disk = \"hdd\" }\n",
            "selector = {",
            "faults[0].selector",
            "selects no node",
        ),
        (
            "[[faults]]\nkind = \"control-plane-pause\"\nat = \"1s\"\n",
            "[[faults]]",
            "faults[0]",
            "needs 'duration'",
        ),
        (
            "[stochastic.c]\ntimeToFailure = { dist = \"exponential\", mean = \"1h\" }\ntimeToRepair = { dist = \"exponential\", mean = \"1m\" }\n",
            "[stochastic.c]",
            "stochastic.c",
            "unknown pool 'c'; pools: a, b",
        ),
        (
            "[stochastic.a]\ntimeToFailure = { dist = \"weibull\", scale = \"1h\" }\ntimeToRepair = { dist = \"exponential\", mean = \"1m\" }\n",
            "timeToFailure",
            "stochastic.a.timeToFailure",
            "needs 'shape'",
        ),
        (
            "[[topology.links]]\nfrom = \"za\"\nto = \"zz\"\n",
            "to = \"zz\"",
            "topology.links[1].to",
            "unknown zone 'zz'",
        ),
    ];
    for (extra, needle, path, words) in cases {
        let e = load(extra).expect_err(path);
        assert_eq!(e.path, *path, "{e}");
        assert_eq!(e.line, line_of(extra, needle), "{e}");
        assert!(e.message.contains(words), "{e}");
    }
}

#[test]
fn bad_probes_and_lifecycle_are_located() {
    // (text in BASE, replacement, needle, path, words)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "periodSeconds = 5",
            "periodSeconds = 0",
            "services.web.probes.readiness.periodSeconds",
            "at least 1",
        ),
        (
            "initialDelaySeconds = 15",
            "initialDelaySeconds = -1",
            "services.web.probes.liveness.initialDelaySeconds",
            "at least 0",
        ),
        (
            "initialDelaySeconds = 15",
            "successThreshold = 2",
            "services.web.probes.liveness.successThreshold",
            "must be 1 for a liveness probe",
        ),
        (
            "nodeMonitorGracePeriod = \"50s\"",
            "nodeMonitorGracePeriod = \"10s\"",
            "nodeLifecycle.nodeMonitorGracePeriod",
            "longer than heartbeatInterval",
        ),
        (
            "tolerationSeconds = 60",
            "tolerationSeconds = -1",
            "nodeLifecycle.tolerationSeconds",
            "at least 0",
        ),
        ("racks = 2", "racks = 0", "pools.a.racks", "at least 1"),
        (
            "loss = 0.001",
            "loss = 1.5",
            "topology.links[0].loss",
            "at most 1",
        ),
    ];
    for (from, to, path, words) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = parse(&text, "f.toml", &MemFiles::default(), &[], None).expect_err(path);
        assert_eq!(e.path, *path, "{e}");
        let want = line_col(&text, text.find(to).unwrap()).0;
        assert_eq!(e.line, want, "{e}");
        assert!(e.message.contains(words), "{e}");
    }
}

#[test]
fn live_actions_are_kept_by_fault_name() {
    let s = load(
        "[[faults]]\nkind = \"node-crash\"\nat = \"1s\"\ntarget = { node = \"a-0\" }\nlive = \"pause\"\n\n[[faults]]\nkind = \"zone-outage\"\nat = \"2s\"\ntarget = { zone = \"zb\" }\nlive = \"stop-engine\"\n\n[[faults]]\nkind = \"container-crash\"\nat = \"0s\"\ntarget = { service = \"web\" }\nrate = 0.1\n",
    )
    .unwrap();
    let live = &s.resilience.faults.live_actions;
    use crate::faults::LiveAction;
    assert_eq!(live.get("faults[0]"), Some(&LiveAction::Pause));
    assert_eq!(live.get("faults[1]"), Some(&LiveAction::StopEngine));
    // Not given: the default, a kill.
    assert_eq!(live.get("faults[2]"), None);
    assert_eq!(LiveAction::default(), LiveAction::Kill);
}

#[test]
fn ingress_zone_resolves_and_defaults() {
    let with = edit(
        BASE,
        "defaultLatency = \"50ms\"",
        "defaultLatency = \"50ms\"\ningressZone = \"zb\"",
    );
    let s = parse(&with, "f.toml", &MemFiles::default(), &[], None).unwrap();
    assert_eq!(s.resilience.topology.ingress_zone, "zb");
    // Without a [topology] table: not declared, ingress still the first node's zone.
    let start = BASE.find("[topology]").unwrap();
    let end = BASE.find("[nodeLifecycle]").unwrap();
    let without = format!("{}{}", &BASE[..start], &BASE[end..]);
    let s = parse(&without, "f.toml", &MemFiles::default(), &[], None).unwrap();
    assert!(!s.resilience.topology.declared);
    assert_eq!(s.resilience.topology.ingress_zone, "za");
}

#[test]
fn bad_ingress_zone_is_located() {
    // (the line added after defaultLatency, path, words)
    let cases: &[(&str, &str, &str)] = &[
        (
            "ingressZone = \"zz\"",
            "topology.ingressZone",
            "unknown zone 'zz'; zones: za, zb",
        ),
        (
            "ingressZone = 3",
            "topology.ingressZone",
            "invalid type: integer `3`, expected a string",
        ),
        (
            "ingresZone = \"za\"",
            "topology.ingresZone",
            "unknown field `ingresZone`",
        ),
    ];
    for (line, path, words) in cases {
        let text = edit(
            BASE,
            "defaultLatency = \"50ms\"",
            &format!("defaultLatency = \"50ms\"\n{line}"),
        );
        let e = parse(&text, "f.toml", &MemFiles::default(), &[], None).expect_err(path);
        assert_eq!(e.path, *path, "{e}");
        // Located on the added line: the one after `defaultLatency`.
        let want = line_col(&text, text.find(line).unwrap()).0;
        assert_eq!(e.line, want, "{e}");
        assert!(e.message.contains(words), "{e}");
        assert!(e.to_string().starts_with(&format!("f.toml:{want}:")), "{e}");
    }
}
