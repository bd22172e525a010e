//! The `sim` command end to end: determinism, the results folder contract,
//! and one clear line for every kind of bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sim")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file of a results folder except the wall-clock one, by name.
fn deterministic_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "timing.json")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

const SHORT: &str = "simulation.duration=90s";

#[test]
fn same_seed_gives_byte_identical_results_and_different_seeds_differ() {
    let d = scratch("determinism");
    let spike = repo().join("scenarios/spike.toml");
    let spike = spike.to_str().unwrap();
    for (out, seed) in [("a", "3"), ("b", "3"), ("c", "4")] {
        let o = sim(
            &[
                "run", spike, "--seed", seed, "--set", SHORT, "--out", out, "--quiet",
            ],
            &d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = deterministic_files(&d.join("a"));
    let b = deterministic_files(&d.join("b"));
    let c = deterministic_files(&d.join("c"));
    let names: Vec<_> = a.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "events.csv",
            "scenario.toml",
            "summary.json",
            "timeseries.csv"
        ]
    );
    assert!(a == b, "same seed, different bytes");
    assert_ne!(a[3], c[3], "timeseries identical across seeds");
    assert_ne!(a[2], c[2], "summary identical across seeds");
    let summary: serde_json::Value = serde_json::from_slice(&a[2].1).unwrap();
    assert_eq!(summary["seed"], 3);
    assert_eq!(summary["overrides"][0], SHORT);
    assert_eq!(summary["duration_s"], 90.0);
    assert!(d.join("a/timing.json").exists());
}

#[test]
fn results_folders_are_never_overwritten_without_force() {
    let d = scratch("force");
    let steady = repo().join("scenarios/steady.toml");
    let steady = steady.to_str().unwrap();
    let args = ["run", steady, "--set", "simulation.duration=5s", "--quiet"];
    let o = sim(&args, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    // The default folder name carries scenario and seed.
    let out = d.join("results/steady-seed1");
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = sim(&args, &d);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("already exists; pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = sim(&forced, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("notes.txt").exists());
    assert!(out.join("summary.json").exists());
}

#[test]
fn the_terminal_summary_reports_outcomes_latency_and_engine_speed() {
    let d = scratch("summary");
    let steady = repo().join("scenarios/steady.toml");
    let o = sim(
        &[
            "run",
            steady.to_str().unwrap(),
            "--set",
            "simulation.duration=20s",
            "--out",
            "r",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "requests",
        "ok",
        "rejected",
        "timeout",
        "p50",
        "p99",
        "util",
        "events/s",
        "simulated/wall",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[test]
fn check_accepts_the_shipped_scenarios() {
    for s in ["spike", "steady", "rolling-update", "bad-canary"] {
        let path = repo().join(format!("scenarios/{s}.toml"));
        let o = sim(&["check", path.to_str().unwrap()], &repo());
        assert!(o.status.success(), "{s}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: "));
    }
}

#[test]
fn help_shows_examples() {
    let o = sim(&["--help"], &repo());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("sim run scenarios/spike.toml"), "{text}");
    assert!(text.contains("Exit codes"), "{text}");
}

const BASE: &str = r#"name = "bad"

[simulation]
duration = "10s"

[pools.a]
count = 2
cpu = "2"
memory = "4Gi"

[services.web]
replicas = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }

[services.web.traffic]
model = "constant"
rate = 100
"#;

/// Writes a variant of BASE (with `from` replaced by `to`) plus extra files,
/// runs it, and checks the error contract: exit 1, one `sim:` line that
/// contains `want`, no panic, no results folder.
fn assert_bad(name: &str, from: &str, to: &str, extra: &[(&str, &str)], want: &str) {
    let d = scratch(name);
    assert!(BASE.contains(from), "{from}");
    fs::write(d.join("s.toml"), BASE.replacen(from, to, 1)).unwrap();
    for (f, text) in extra {
        fs::write(d.join(f), text).unwrap();
    }
    let o = sim(&["run", "s.toml", "--out", "out"], &d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: one line expected: {err}");
    assert!(err.starts_with("sim: "), "{name}: {err}");
    assert!(err.contains(want), "{name}:\n  got:  {err}  want: {want}");
    assert!(
        !d.join("out").exists() && !d.join("out.partial").exists(),
        "{name}: results folder left behind"
    );
}

#[test]
fn unknown_field() {
    assert_bad(
        "unknown",
        "count = 2",
        "count = 2\nzonez = \"a\"",
        &[],
        "s.toml:8:1: pools.a.zonez: unknown field `zonez`, expected one of",
    );
}

#[test]
fn wrong_type() {
    assert_bad(
        "type",
        "replicas = 2",
        "replicas = 2.5",
        &[],
        "s.toml:12:12: services.web.replicas: invalid type: floating point `2.5`, expected u32",
    );
}

#[test]
fn zero_rate() {
    assert_bad(
        "zero",
        "rate = 100",
        "rate = 0",
        &[],
        "s.toml:18:8: services.web.traffic.rate: rate must be greater than zero (got 0)",
    );
}

#[test]
fn negative_rate() {
    assert_bad(
        "negative",
        "rate = 100",
        "rate = -3.5",
        &[],
        "s.toml:18:8: services.web.traffic.rate: rate must be greater than zero (got -3.5)",
    );
}

#[test]
fn unparseable_quantity() {
    assert_bad(
        "quantity",
        "memory = \"4Gi\"",
        "memory = \"4 GB\"",
        &[],
        "s.toml:9:10: pools.a.memory: '4 GB' is not a valid quantity: unknown suffix ' GB'",
    );
}

const TRACE: &str = "model = \"constant\"\nrate = 100";
const TRACE_TO: &str = "model = \"trace\"\nfile = \"rates.csv\"";

#[test]
fn missing_trace_file() {
    assert_bad(
        "missing-trace",
        TRACE,
        TRACE_TO,
        &[],
        "s.toml:18:8: services.web.traffic.file: cannot read 'rates.csv': No such file or directory",
    );
}

#[test]
fn malformed_trace_row() {
    assert_bad(
        "malformed-trace",
        TRACE,
        TRACE_TO,
        &[("rates.csv", "time,rate\n0,100\n30,120\n60,1O0\n")],
        "rates.csv:4:4: services.web.traffic.file: row 4, column 'rate': '1O0' is not a number",
    );
}

#[test]
fn replicas_that_cannot_fit() {
    // 2 nodes × 2 cpu / 500m = 8 replicas fit by cpu; 4Gi / 512Mi = 8 per node by memory.
    assert_bad(
        "fit",
        "replicas = 2",
        "replicas = 9",
        &[],
        "s.toml:12:12: services.web.replicas: 9 replicas requesting 500m cpu and 512Mi memory each do not fit the cluster: only 8 could be placed (0/2 nodes are available: 2 Insufficient cpu.)",
    );
}

#[test]
fn bad_override() {
    let d = scratch("override");
    fs::write(d.join("s.toml"), BASE).unwrap();
    let o = sim(
        &[
            "run",
            "s.toml",
            "--set",
            "services.web.replicas=many",
            "--out",
            "out",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("--set services.web.replicas=many: services.web.replicas: invalid type"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("out").exists());
}

#[test]
fn missing_scenario_file() {
    let d = scratch("nofile");
    let o = sim(&["run", "nope.toml"], &d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("sim: nope.toml: cannot read scenario: No such file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn worldcup98_trace_scenario_runs_when_the_shared_data_is_present() {
    let trace =
        repo().join("../shared/data/worldcup98-requests-per-minute/wc98_requests_per_minute.csv");
    if !trace.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI",
            trace.display()
        );
        eprintln!(
            "SKIP: ../shared is absent ({}); worldcup98.toml not run",
            trace.display()
        );
        return;
    }
    let d = scratch("worldcup");
    let s = repo().join("scenarios/worldcup98.toml");
    let o = sim(
        &[
            "run",
            s.to_str().unwrap(),
            "--set",
            "simulation.duration=2m",
            "--out",
            "r",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    // 1998-07-12 00:00–02:00 at 60× compression: 120 trace minutes in 120 s. A minute
    // with count c has rate c/60 req/s and lasts 1 simulated second, so it brings c/60
    // requests: expected = Σc/60, with Poisson noise √expected.
    let text = fs::read_to_string(&trace).unwrap();
    let expected: f64 = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .filter(|(t, _)| *t >= "1998-07-12 00:00:00" && *t < "1998-07-12 02:00:00")
        .map(|(_, c)| c.parse::<f64>().unwrap())
        .sum::<f64>()
        / 60.0;
    let got = summary["services"][0]["requests"]["total"]
        .as_f64()
        .unwrap();
    assert!(
        (got - expected).abs() < 5.0 * expected.sqrt(),
        "requests {got}, expected {expected:.0}"
    );
}

#[test]
fn place_explains_every_node_and_list_names_every_policy() {
    let steady = repo().join("scenarios/steady.toml");
    let o = sim(
        &[
            "place",
            steady.to_str().unwrap(),
            "--set",
            "scheduler.policy=kubernetes-default",
            "--json",
        ],
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["policy"], "kubernetes-default");
    assert_eq!(e["nodes"].as_array().unwrap().len(), 10);
    // Ten 1-cpu/1Gi replicas spread one per node (allocatable 3900m, 15.5Gi); one more.
    // Scores in upstream order: TaintToleration ×3, NodeAffinity ×2, LeastAllocated ×1,
    // PodTopologySpread ×2, InterPodAffinity ×2, BalancedAllocation ×1.
    // TaintToleration: no taints anywhere → all-zero reverse normalisation → 100 (weighted 300).
    // NodeAffinity and InterPodAffinity: no preferences (upstream skips them) → 0.
    // LeastAllocated cpu (3900 − 2000)·100/3900 = 48, memory (15.5 − 2)/15.5 → 87: (48 + 87)/2 = 67.
    // BalancedAllocation: |2000/3900 − 2/15.5|/2 = 0.192 → (1 − 0.192)·100 = 80.
    // PodTopologySpread (system defaults): one api replica on every node, one zone, so every
    // node has the same raw score r and normalises to 100·(r + r − r)/r = 100, weight 2.
    // Total 300 + 0 + 67 + 200 + 0 + 80 = 647.
    let n0 = &e["nodes"][0];
    assert_eq!(n0["scores"][0][0], "TaintToleration");
    assert_eq!(n0["scores"][0][2], 300);
    assert_eq!(n0["scores"][1][1], 0);
    assert_eq!(n0["scores"][2][1], 67);
    assert_eq!(
        n0["scores"][3],
        serde_json::json!(["PodTopologySpread", 100, 200])
    );
    assert_eq!(n0["scores"][4][1], 0);
    assert_eq!(n0["scores"][5][1], 80);
    assert_eq!(n0["total"], 647);
    assert!(e["chosen"].as_str().unwrap().starts_with("pool-"));
    let o = sim(
        &["place", steady.to_str().unwrap(), "--service", "nope"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no service 'nope'; choose from: api"),
        "{}",
        stderr(&o)
    );
    let o = sim(&["list", "policies"], &repo());
    let text = String::from_utf8_lossy(&o.stdout);
    for name in [
        "first-fit",
        "kubernetes-default",
        "gke-optimize-utilization",
        "nomad-binpack",
        "ecs-binpack",
        "round-robin",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    // Each whole-cluster preset shows what it sets, and what it cannot yet.
    assert!(text.contains("whole-cluster presets (preset):"), "{text}");
    assert!(
        text.contains("not modelled yet: scale-down-delay-after-failure=3m"),
        "{text}"
    );
    // Each Kubernetes preset shows the profile it sets.
    assert!(
        text.contains("NodeResourcesFit MostAllocated (cpu 1, memory 1); BalancedAllocation (cpu, memory); percentageOfNodesToScore 0"),
        "{text}"
    );
    assert!(text.contains("scores TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2, InterPodAffinity 2, NodeResourcesBalancedAllocation 1;"), "{text}");
}

#[test]
fn every_placement_policy_runs_the_spike_and_places_every_replica() {
    let spike = repo().join("scenarios/spike.toml");
    let d = scratch("policies");
    for e in orkestra_core::registry::PLACERS {
        let set = format!("scheduler.policy={}", e.name);
        let out = format!("r-{}", e.name);
        let o = sim(
            &[
                "run",
                spike.to_str().unwrap(),
                "--set",
                &set,
                "--set",
                SHORT,
                // 20 replicas; the HPA's 300 s downscale window keeps them for the 90 s run.
                "--set",
                "services.web.replicas=20",
                "--out",
                &out,
                "--quiet",
            ],
            &d,
        );
        assert!(o.status.success(), "{}: {}", e.name, stderr(&o));
        let s: serde_json::Value =
            serde_json::from_slice(&fs::read(d.join(&out).join("summary.json")).unwrap()).unwrap();
        assert_eq!(s["cluster"]["pending_at_end"], 0, "{}", e.name);
        assert_eq!(s["services"][0]["replicas"]["ready_max"], 20, "{}", e.name);
    }
    // Packing and spreading differ where they should: first-fit fills pool zone-a first (events name
    // the nodes), least-allocated spreads over all 20 nodes.
    let nodes_used = |policy: &str| {
        let ev = fs::read_to_string(d.join(format!("r-{policy}/events.csv"))).unwrap();
        ev.lines()
            .filter(|l| l.contains(",bind,"))
            .filter_map(|l| l.rsplit("node=").next())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    // 20 replicas × 500m on 3900m nodes: first fit puts 7 per node → 3 nodes; least-allocated → 20.
    assert_eq!(nodes_used("first-fit"), 3);
    assert_eq!(nodes_used("least-allocated"), 20);
}

#[test]
fn cluster_scheduling_metrics_are_reported() {
    let steady = repo().join("scenarios/steady.toml");
    let d = scratch("cluster-metrics");
    let o = sim(
        &[
            "run",
            steady.to_str().unwrap(),
            "--set",
            "simulation.duration=10s",
            "--set",
            "simulation.warmStart=false",
            "--out",
            "r",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    // 10 replicas of 1 cpu on nodes with 3900m allocatable: first fit puts 3 per node → 4 nodes.
    assert_eq!(s["cluster"]["nodes_in_use_mean"], 4.0);
    // All bound at time zero by the first reconcile: no pending time.
    assert_eq!(s["cluster"]["pending_time_s"]["max"], 0.0);
    let ts = fs::read_to_string(d.join("r/timeseries.csv")).unwrap();
    assert!(
        ts.contains("\n1,cluster,nodes_in_use,4\n"),
        "{}",
        &ts[..ts.len().min(2000)]
    );
    assert!(ts.contains("\n1,cluster,pending_replicas,0\n"));
    // cpu allocated: 10 × 1000m of 10 × 3900m = 0.2564…
    assert!(ts.contains("\n1,cluster,cpu_allocated,0.2564"));
}

#[test]
fn the_drf_queue_is_a_scenario_setting_and_one_service_keeps_id_order() {
    // With one service DRF has no one to be fair to: it takes replicas in id order, as the
    // priority queue does, so both runs bind the same replicas to the same nodes.
    let spike = repo().join("scenarios/spike.toml");
    let d = scratch("drf-queue");
    for (queue, out) in [("priority", "p"), ("drf", "d")] {
        let set = format!("scheduler.queue={queue}");
        let o = sim(
            &[
                "run",
                spike.to_str().unwrap(),
                "--set",
                &set,
                "--set",
                "scheduler.policy=swarm-spread",
                "--set",
                SHORT,
                "--out",
                out,
                "--quiet",
            ],
            &d,
        );
        assert!(o.status.success(), "{queue}: {}", stderr(&o));
    }
    let events = |out: &str| fs::read_to_string(d.join(out).join("events.csv")).unwrap();
    assert_eq!(events("p"), events("d"));
    let o = sim(
        &[
            "check",
            spike.to_str().unwrap(),
            "--set",
            "scheduler.queue=fair",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("scheduler.queue: unknown variant `fair`, expected `priority` or `drf`"),
        "{}",
        stderr(&o)
    );
}

/// A tainted pool, a pool without the selected label and two good nodes.
const TAINTED: &str = r#"name = "tainted"

[simulation]
duration = "10s"

[pools.gpu]
count = 1
cpu = "4"
memory = "8Gi"
labels = { disk = "ssd" }
taints = [{ key = "dedicated", value = "gpu", effect = "NoSchedule" }]

[pools.hdd]
count = 1
cpu = "4"
memory = "8Gi"
labels = { disk = "hdd" }

[pools.ssd]
count = 2
cpu = "4"
memory = "8Gi"
labels = { disk = "ssd" }

[services.web]
replicas = 1
requests = { cpu = "1", memory = "1Gi" }
nodeSelector = { disk = "ssd" }
affinity = { podAntiAffinity = { topologyKey = "kubernetes.io/hostname", weight = 100 } }
serviceTime = { dist = "exponential", mean = "10ms" }

[services.web.traffic]
model = "constant"
rate = 10
"#;

#[test]
fn place_shows_constraint_filters_and_scores() {
    let d = scratch("place-constraints");
    fs::write(d.join("s.toml"), TAINTED).unwrap();
    let kube = ["--set", "scheduler.policy=kubernetes-default"];
    let o = sim(&[&["place", "s.toml"][..], &kube[..]].concat(), &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.get(1..).unwrap_or("").trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in\n{text}"))
            .to_string()
    };
    assert!(
        text.contains(
            "filters: TaintToleration, NodeAffinity, NodeResourcesFit, VolumeRestrictions, NodeVolumeLimits, VolumeBinding, VolumeZone, PodTopologySpread, InterPodAffinity"
        ),
        "{text}"
    );
    // Node order: pools by name. The tainted node and the hdd node are rejected with
    // kube-scheduler's reasons; only their failing filters are listed.
    assert!(
        row("gpu-0").ends_with("TaintToleration: node(s) had untolerated taint {dedicated: gpu}"),
        "{text}"
    );
    assert!(
        row("hdd-0").ends_with("NodeAffinity: node(s) didn't match Pod's node affinity/selector"),
        "{text}"
    );
    // The two ssd nodes: one already runs the first replica (which one is a random tie-break).
    // The empty one: TaintToleration 100 (300) — no PreferNoSchedule taints; NodeAffinity 0 (no
    // preferred terms); LeastAllocated cpu (4000 − 1000)·100/4000 = 75, memory 7/8 → 87, → 81;
    // PodTopologySpread, system defaults (zone maxSkew 5, hostname maxSkew 3) over the two
    // feasible nodes, both in zone "ssd": zone weight ln(1 + 2) = 1.0986, hostname weight
    // ln(2 + 2) = 1.3863. Empty: 1·1.0986 + 4 + 0·1.3863 + 2 = 7.10 → 7; occupied:
    // 1.0986 + 4 + 1.3863 + 2 = 8.48 → 8. Normalised 100·(8 + 7 − s)/8: 100 (200) and 87 (174).
    // InterPodAffinity: domains {occupied: −100}, empty 0 → min −100, max 0 → 100 (200);
    // BalancedAllocation |0.25 − 0.125|/2 = 0.0625 → 93. Total 300 + 81 + 200 + 200 + 93 = 874.
    // The occupied one: LeastAllocated cpu 50, memory 6/8 = 75 → 62; InterPodAffinity 0;
    // Balanced |0.5 − 0.25|/2 = 0.125 → 87. Total 300 + 62 + 174 + 87 = 623.
    let (empty, busy) = if row("ssd-0").ends_with("874") {
        ("ssd-0", "ssd-1")
    } else {
        ("ssd-1", "ssd-0")
    };
    // A row without its chosen mark, single-spaced.
    let cells = |r: String| r[1..].split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        cells(row(empty)),
        format!("{empty} 100 (300) 0 (0) 81 (81) 100 (200) 100 (200) 93 (93) 874"),
        "{text}"
    );
    assert_eq!(
        cells(row(busy)),
        format!("{busy} 100 (300) 0 (0) 62 (62) 87 (174) 0 (0) 87 (87) 623"),
        "{text}"
    );
    assert!(row(empty).starts_with('*'), "{text}");
    assert!(text.contains(&format!("chosen: {empty}")), "{text}");
    // The same verdicts in JSON.
    let o = sim(
        &[&["place", "s.toml", "--json"][..], &kube[..]].concat(),
        &d,
    );
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["nodes"][0]["node"], "gpu-0");
    assert_eq!(
        e["nodes"][0]["filters"][0],
        serde_json::json!([
            "TaintToleration",
            "node(s) had untolerated taint {dedicated: gpu}"
        ])
    );
    assert_eq!(
        e["nodes"][0]["filters"][1],
        serde_json::json!(["NodeAffinity", null])
    );
    // First fit (the scenario's default policy) honours and explains the same hard filters.
    let o = sim(&["place", "s.toml"], &d);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("TaintToleration: node(s) had untolerated taint {dedicated: gpu}"),
        "{text}"
    );
    // First fit ignores preferences: the first feasible node, ssd-0, which has room for a second.
    assert!(text.contains("chosen: ssd-0"), "{text}");
}

#[test]
fn hpa_replays_a_recorded_history() {
    let d = scratch("hpa-replay");
    let spec = repo().join("scenarios/hpa/web-hpa.toml");
    let data = repo().join("scenarios/hpa/web-metrics.csv");
    let o = sim(&["hpa", spec.to_str().unwrap(), data.to_str().unwrap()], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    // t=30: 3 pods at 600m of 500m (120%, ratio 2.0 against 60%) and a new unready pod counted
    // at 0: 1800·100/2000 = 90% → 1.5 → ⌈1.5 · 4⌉ = 6.
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("30.0"))
        .unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[..4], &["30.0", "4", "4", "6"], "{text}");
    // A bad spec names the field and exits 1.
    let bad = d.join("bad.toml");
    fs::write(
        &bad,
        "kind = \"hpa\"\nminReplicas = 5\nmaxReplicas = 2\nmetrics = []\n",
    )
    .unwrap();
    let o = sim(&["hpa", bad.to_str().unwrap(), data.to_str().unwrap()], &d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("autoscaler.minReplicas"),
        "{}",
        stderr(&o)
    );
}

/// Two nodes of 4 cpu / 8Gi. At 0 s a job of two 1-cpu pods that run 10 minutes; at 10 s one
/// pod asking for a whole node's cpu (4 cpu) for 1 minute.
const TINY_JOBS: &str = r#"name = "tiny-jobs"

[simulation]
duration = "15m"

[pools.n]
count = 2
cpu = "4"
memory = "8Gi"

[jobs.small]
arrivals = [{ at = "0s", duration = "10m", cpu = "1", memory = "1Gi", count = 2 }]

[jobs.big]
arrivals = [{ at = "10s", duration = "1m", cpu = "4", memory = "1Gi" }]
"#;

#[test]
fn compare_runs_each_policy_and_tabulates_pending_time_packing_and_stranding() {
    let d = scratch("compare");
    fs::write(d.join("jobs.toml"), TINY_JOBS).unwrap();
    let args = [
        "compare",
        "jobs.toml",
        "--placement",
        "kubernetes-default,gke-optimize-utilization,ecs-binpack",
        "--out",
        "cmp",
    ];
    let o = sim(&args, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let header: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("policy"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "policy",
            "pend_mean",
            "pend_p50",
            "pend_p99",
            "pend_end",
            "cpu",
            "mem",
            "gpu",
            "nodes",
            "nodes_lb",
            "pack_gap",
            "unsched",
            "strand_cpu",
            "strand_mem",
            "strand_gpu"
        ]
    );
    for p in [
        "kubernetes-default",
        "gke-optimize-utilization",
        "ecs-binpack",
    ] {
        assert!(d.join("cmp").join(p).join("summary.json").exists(), "{p}");
        assert!(
            text.lines().any(|l| l.starts_with(p)),
            "{p} row missing:\n{text}"
        );
    }
    let csv = fs::read_to_string(d.join("cmp/comparison.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0][..],
        [
            "policy",
            "pending_mean_s",
            "pending_p50_s",
            "pending_p99_s",
            "pending_at_end",
            "cpu_allocated",
            "memory_allocated",
            "gpu_allocated",
            "nodes_in_use",
            "nodes_lower_bound",
            "packing_gap",
            "unschedulable_attempts",
            "stranded_cpu",
            "stranded_memory",
            "stranded_gpu"
        ]
    );
    let get = |policy: &str, col: &str| -> f64 {
        let c = rows[0].iter().position(|h| *h == col).unwrap();
        let r = rows.iter().find(|r| r[0] == policy).unwrap();
        r[c].parse().unwrap()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // kubernetes-default spreads: the second small pod scores higher on the empty node
    // (LeastAllocated (75 + 87)/2 = 81 + BalancedAllocation 93 against 62 + 87), so each node
    // keeps 3 cpu free and the 4-cpu pod waits until both small pods end at 600 s:
    // pending (0 + 0 + 590)/3 = 196.67 s; one failed attempt (then parked until the nodes free up).
    let k8s = "kubernetes-default";
    assert!(close(get(k8s, "pending_mean_s"), 590.0 / 3.0));
    assert_eq!(get(k8s, "unschedulable_attempts"), 1.0);
    // Nodes in use: 2 for 600 s, 1 for 60 s, over 900 s = 1.4. Lower bound 1 throughout
    // (2 cpu, then 4 cpu, fit one node): gap (2 − 1)/1 for 600 s, 0 for 60 s → 600/660.
    assert!(close(get(k8s, "nodes_in_use"), 1.4));
    assert!(close(get(k8s, "packing_gap"), 600.0 / 660.0));
    // The packers put both small pods on one node (MostAllocated 37 + 87 = 124 against
    // 18 + 93 = 111; ECS: least memory left), so the big pod binds at once on the other.
    for p in ["gke-optimize-utilization", "ecs-binpack"] {
        assert_eq!(get(p, "pending_mean_s"), 0.0, "{p}");
        assert_eq!(get(p, "unschedulable_attempts"), 0.0, "{p}");
        // 1 node for 10 s, 2 for 60 s, 1 until 600 s: (10 + 120 + 530)/900.
        assert!(close(get(p, "nodes_in_use"), 660.0 / 900.0), "{p}");
        assert_eq!(get(p, "packing_gap"), 0.0, "{p}");
    }
    for p in [k8s, "gke-optimize-utilization", "ecs-binpack"] {
        // Same work everywhere: cpu 2000 of 8000 for 600 s + 4000 for 60 s = 180 cpu-s of 900·8000.
        assert!(close(get(p, "cpu_allocated"), 0.2), "{p}");
        assert_eq!(get(p, "pending_at_end"), 0.0, "{p}");
        // While the big pod runs its node has 0 cpu free: no shape fits, its 7Gi of 16Gi
        // are stranded for 60 of 900 s.
        assert!(
            close(get(p, "stranded_memory"), 7.0 / 16.0 * 60.0 / 900.0),
            "{p}"
        );
        assert_eq!(get(p, "stranded_cpu"), 0.0, "{p}");
    }
    // Never overwritten without --force; a bad policy name is one line with a suggestion.
    let o = sim(&args, &d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = sim(
        &[
            "compare",
            "jobs.toml",
            "--placement",
            "first-fit,least-alocated",
            "--out",
            "x",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(
            "sim: --placement: unknown placement policy 'least-alocated' (did you mean 'least-allocated'?)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("x").exists() && !d.join("x.partial").exists());
}

#[test]
fn node_metrics_go_to_nodes_csv_only_when_asked() {
    let d = scratch("nodes-csv");
    fs::write(d.join("jobs.toml"), TINY_JOBS).unwrap();
    let o = sim(&["run", "jobs.toml", "--out", "plain", "--quiet"], &d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join("plain/nodes.csv").exists());
    let ts = fs::read_to_string(d.join("plain/timeseries.csv")).unwrap();
    assert!(!ts.contains(",node:"), "per-node rows belong in nodes.csv");
    let o = sim(
        &[
            "run",
            "jobs.toml",
            "--set",
            "simulation.nodeMetrics=true",
            "--out",
            "nodes",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let nodes = fs::read_to_string(d.join("nodes/nodes.csv")).unwrap();
    let lines: Vec<&str> = nodes.lines().collect();
    // One row per node per 1 s sample over 900 s.
    assert_eq!(lines[0], "time_s,node,cpu,memory,gpu");
    assert_eq!(lines.len(), 1 + 2 * 900);
    // first-fit: both small pods on n-0 (2 of 4 cpu, 2Gi of 8Gi), the big one on n-1 from 10 s to 70 s.
    assert!(
        nodes.contains("\n1,n-0,0.5,0.25,0\n1,n-1,0,0,0\n"),
        "{}",
        &nodes[..200]
    );
    assert!(nodes.contains("\n11,n-1,1,0.125,0\n"));
    // The cluster rows carry the new metrics.
    let ts = fs::read_to_string(d.join("nodes/timeseries.csv")).unwrap();
    for name in [
        "gpu_allocated",
        "stranded_cpu",
        "stranded_memory",
        "stranded_gpu",
        "nodes_lower_bound",
    ] {
        assert!(ts.contains(&format!("\n1,cluster,{name},")), "{name}");
    }
    // 10–70 s: n-1 has 0 cpu free, so its 7Gi of 16Gi are stranded.
    assert!(ts.contains("\n11,cluster,stranded_memory,0.4375\n"));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("nodes/summary.json")).unwrap()).unwrap();
    let big = &summary["jobs"][0];
    assert_eq!(big["name"], "big");
    assert_eq!(
        (big["pods"].as_u64(), big["completed"].as_u64()),
        (Some(1), Some(1))
    );
    let small = &summary["jobs"][1];
    assert_eq!(small["completed"], 2);
}

#[test]
fn job_mistakes_are_one_located_line() {
    // `arrivals = [{ at = "1s", duration = "1s", count = ` is 50 characters: the 0 is column 51.
    assert_bad(
        "jobs-count",
        "rate = 100",
        "rate = 100\n\n[jobs.j]\narrivals = [{ at = \"1s\", duration = \"1s\", count = 0 }]",
        &[],
        "s.toml:21:51: jobs.j.arrivals[0].count: must be at least 1",
    );
    assert_bad(
        "jobs-trace-row",
        "rate = 100",
        "rate = 100\n\n[jobs.j]\ntrace = { file = \"pods.csv\", format = \"alibaba-openb\" }",
        &[(
            "pods.csv",
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
             p0,1000,1024,0,0,,LS,Running,0,10,0\n\
             p1,1000,1024,0,0,,LS,Running,5,x,5\n",
        )],
        // "p1,1000,1024,0,0,,LS,Running,5," is 31 characters: the x is column 32.
        "pods.csv:3:32: jobs.j.trace.file: row 3, column 'deletion_time': 'x' is not a non-negative number of seconds",
    );
}

#[test]
fn services_and_poisson_jobs_share_the_cluster_and_jobs_stay_out_of_live_mode() {
    let d = scratch("mixed");
    let steady = repo().join("scenarios/steady.toml");
    let steady = steady.to_str().unwrap();
    let sets = [
        "--set",
        "simulation.duration=60s",
        "--set",
        "jobs.batch.rate=1",
        "--set",
        "jobs.batch.duration=10s",
        "--set",
        "jobs.batch.cpu=1",
        "--set",
        "jobs.batch.memory=1Gi",
    ];
    for out in ["a", "b"] {
        let mut args = vec!["run", steady, "--out", out, "--quiet"];
        args.extend(sets);
        let o = sim(&args, &d);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = fs::read(d.join("a/summary.json")).unwrap();
    assert_eq!(a, fs::read(d.join("b/summary.json")).unwrap(), "same seed");
    assert_eq!(
        fs::read(d.join("a/events.csv")).unwrap(),
        fs::read(d.join("b/events.csv")).unwrap()
    );
    let s: serde_json::Value = serde_json::from_slice(&a).unwrap();
    // The replica controller leaves job pods alone and keeps the 10 api replicas.
    let api = &s["services"][0]["replicas"];
    assert_eq!(
        (api["ready_min"].as_u64(), api["ready_max"].as_u64()),
        (Some(10), Some(10))
    );
    // 1 job/s for 60 s: 60 expected, sd √60 ≈ 7.7. Each node has 3900 − 1000 = 2900m free,
    // room for 2 one-cpu jobs: 20 at once, and about 10 run at a time: none waits.
    let j = &s["jobs"][0];
    let pods = j["pods"].as_f64().unwrap();
    assert!((pods - 60.0).abs() < 5.0 * 60f64.sqrt(), "{pods}");
    assert_eq!(j["source"], "poisson");
    assert_eq!(j["pending_at_end"], 0);
    assert_eq!(j["pending_time_s"]["max"], 0.0);
    assert_eq!(j["started"], j["pods"]);
    // Live mode refuses jobs before it touches an engine.
    let mut args = vec!["run", steady, "--live", "--out", "live"];
    args.extend(sets);
    let o = sim(&args, &d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("jobs.batch: batch jobs are simulated only"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("live").exists());
}

#[test]
fn central_queue_runs_in_simulation_without_rejections_at_replicas() {
    let spike = repo().join("scenarios/spike.toml");
    let d = scratch("central-queue");
    let o = sim(
        &[
            "run",
            spike.to_str().unwrap(),
            "--set",
            "services.web.balancer=central-queue",
            "--set",
            SHORT,
            "--out",
            "c",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("c/summary.json")).unwrap()).unwrap();
    // Nothing is rejected at a replica's queue: requests wait at the balancer instead.
    assert_eq!(s["services"][0]["requests"]["rejected"], 0);
}
