//! `scenarios/cluster-autoscaling.toml` end to end: nodes are added while
//! replicas are pending, the pending replicas land on them, the nodes go
//! after the load falls, and the node-hours add up — read from the results
//! folder only, as a user would.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-ca-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// One `events.csv` row.
#[derive(Debug, Clone)]
struct Row {
    t: f64,
    kind: String,
    subject: String,
    detail: String,
}

/// The rows of `events.csv`: time, kind and subject never hold commas; the
/// detail is the rest, CSV-quoted when it has one.
fn events(dir: &Path) -> Vec<Row> {
    let text = fs::read_to_string(dir.join("events.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut f = l.splitn(4, ',');
            let (t, kind, subject) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let detail = f.next().unwrap_or("");
            let detail = match detail.strip_prefix('"').and_then(|d| d.strip_suffix('"')) {
                Some(q) => q.replace("\"\"", "\""),
                None => detail.to_string(),
            };
            Row {
                t: t.parse().unwrap(),
                kind: kind.into(),
                subject: subject.into(),
                detail,
            }
        })
        .collect()
}

/// `(time, value)` of one cluster timeseries.
fn series(dir: &Path, name: &str) -> Vec<(f64, f64)> {
    let text = fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let key = format!(",cluster,{name},");
    text.lines()
        .filter(|l| l.contains(&key))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}

/// Runs the scenario with `sets` into `dir/out`; returns the folder.
fn run(dir: &Path, out: &str, sets: &[&str]) -> PathBuf {
    let scenario = repo().join("scenarios/cluster-autoscaling.toml");
    let mut args = vec![
        "run".to_string(),
        scenario.to_str().unwrap().to_string(),
        "--out".into(),
        out.into(),
        "--quiet".into(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push((*s).into());
    }
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("run sim");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join(out)
}

/// Per replica: when it was created and when (if ever) it was bound, and to which node.
fn lifetimes(rows: &[Row]) -> BTreeMap<String, (f64, Option<(f64, String)>)> {
    let mut m: BTreeMap<String, (f64, Option<(f64, String)>)> = BTreeMap::new();
    for r in rows {
        match r.kind.as_str() {
            "create" => {
                m.insert(r.subject.clone(), (r.t, None));
            }
            "bind" => {
                let node = r.detail.trim_start_matches("node=").to_string();
                m.get_mut(&r.subject).unwrap().1 = Some((r.t, node));
            }
            _ => {}
        }
    }
    m
}

/// The end of the spike: start 3m + rampUp 30s + hold 6m + rampDown 1m.
const LOAD_FALLEN_S: f64 = 180.0 + 30.0 + 360.0 + 60.0;
/// `simulation.duration`.
const END_S: f64 = 45.0 * 60.0;

#[test]
fn nodes_are_added_for_pending_replicas_and_removed_after_the_load_falls() {
    let d = scratch("ca");
    let out = run(&d, "r", &[]);
    let rows = events(&out);
    let life = lifetimes(&rows);
    let of = |kind: &'static str| rows.iter().filter(move |r| r.kind == kind);

    // Nodes were added, each while replicas were pending: created at or before the
    // node-add and not bound before it.
    let added: Vec<&Row> = of("node-add").collect();
    assert!(added.len() >= 2, "{added:?}");
    for a in &added {
        let pending = life
            .values()
            .filter(|(c, b)| *c <= a.t && b.as_ref().is_none_or(|(t, _)| *t > a.t))
            .count();
        assert!(
            pending > 0,
            "no replica pending when {} was added",
            a.subject
        );
        assert!(a.detail.starts_with("group=burst reason="), "{}", a.detail);
    }

    // Each new node became ready one boot delay (90 s) after it was added, and no
    // replica was bound to it before.
    let new: BTreeSet<&str> = added.iter().map(|a| a.subject.as_str()).collect();
    let ready: BTreeMap<&str, f64> = of("node-ready")
        .map(|r| (r.subject.as_str(), r.t))
        .collect();
    for a in &added {
        assert_eq!(ready[a.subject.as_str()], a.t + 90.0, "{}", a.subject);
    }
    // The replicas pending at the first scale-up were all placed, on the new nodes once
    // ready (the 2 static nodes were full).
    let first = added[0].t;
    let waiting: Vec<_> = life
        .iter()
        .filter(|(_, (c, b))| *c <= first && b.as_ref().is_none_or(|(t, _)| *t > first))
        .collect();
    assert!(!waiting.is_empty());
    for (name, (_, bound)) in &waiting {
        let (t, node) = bound
            .as_ref()
            .unwrap_or_else(|| panic!("{name} never bound"));
        assert!(new.contains(node.as_str()), "{name} went to {node}");
        assert!(
            *t >= ready[node.as_str()],
            "{name} bound to {node} before it was ready"
        );
    }

    // Removals came after the load fell, each drain with its removal, and the cluster
    // is back to its 2 static nodes.
    let removed: Vec<&Row> = of("node-remove").collect();
    assert_eq!(removed.len(), added.len());
    for r in &removed {
        assert!(r.t > LOAD_FALLEN_S, "{} removed at {}", r.subject, r.t);
        assert!(new.contains(r.subject.as_str()));
        assert!(of("node-drain").any(|d| d.subject == r.subject && d.t <= r.t));
    }
    let nodes = series(&out, "nodes");
    assert_eq!(nodes.last().unwrap().1, 2.0);
    let most = nodes.iter().map(|n| n.1).fold(0.0, f64::max);
    assert_eq!(most, 2.0 + added.len() as f64);

    // Node-hours by hand from the events: the 2 static nodes for the whole run, each
    // added node from its node-add to its node-remove (or the end).
    let removed_at: BTreeMap<&str, f64> =
        removed.iter().map(|r| (r.subject.as_str(), r.t)).collect();
    let seconds = 2.0 * END_S
        + added
            .iter()
            .map(|a| removed_at.get(a.subject.as_str()).copied().unwrap_or(END_S) - a.t)
            .sum::<f64>();
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let c = &s["cluster"];
    let hours = c["node_hours"].as_f64().unwrap();
    assert!(
        (hours - seconds / 3600.0).abs() < 1e-9,
        "{hours} vs {seconds} s"
    );
    // Every pool costs 0.19 per node-hour.
    assert!((c["cost"].as_f64().unwrap() - 0.19 * hours).abs() < 1e-9);
    let n = &c["node_autoscaling"];
    assert_eq!(n["autoscaler"], "cluster-autoscaler");
    assert_eq!(n["nodes_added"], added.len() as u64);
    assert_eq!(n["nodes_removed"], removed.len() as u64);
    assert_eq!(n["nodes_max"], 2 + added.len() as u64);
    assert_eq!(c["nodes"], 2);
    assert_eq!(c["pending_at_end"], 0);
    let g = &n["groups"][0];
    assert_eq!(
        (g["name"].as_str(), g["nodes_at_end"].as_u64()),
        (Some("burst"), Some(0))
    );
    // The group's hours are the added nodes' share: total − 2 static nodes × 45 min.
    assert!((g["node_hours"].as_f64().unwrap() - (hours - 1.5)).abs() < 1e-9);
}

#[test]
fn karpenter_drains_a_node_and_its_replicas_are_recreated_elsewhere() {
    // Two 8-cpu nodes, four 1-cpu replicas spread two per node by the
    // default profile, nothing else changing: at the first scan (1 s) one
    // node's two replicas fit the other; the NodePool budget (10% of 2,
    // rounded up: 1) allows one node; the delete is held for the 15 s
    // re-validation and carried out at 16 s.
    let d = scratch("karpenter");
    fs::write(
        d.join("k.toml"),
        r#"
name = "karpenter-delete"
[simulation]
duration = "2m"
sampleInterval = "10s"
[scheduler]
policy = "kubernetes-default"
[pools.big]
count = 2
max = 3
cpu = "8"
memory = "32Gi"
bootDelay = "30s"
costPerHour = 0.4
[clusterAutoscaler]
kind = "karpenter"
[services.web]
replicas = 4
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
[services.web.traffic]
model = "constant"
rate = 20
"#,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", "k.toml", "--out", "k", "--quiet"])
        .current_dir(&d)
        .output()
        .expect("run sim");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = d.join("k");
    let rows = events(&out);
    let life = lifetimes(&rows);
    // A consolidation that deletes a node with replicas on it (rows are in event order).
    let k = rows
        .iter()
        .position(|r| r.kind == "node-drain" && r.detail.contains("consolidation: delete"))
        .expect("a non-empty node consolidated");
    let drain = &rows[k];
    assert_eq!(drain.t, 16.0, "{}", drain.detail);
    let (before, after) = rows.split_at(k);
    // The replicas still on it (bound there, not deleted earlier, e.g. by the HPA at the
    // same instant) were deleted by the drain, at its time.
    let on_node: Vec<&str> = before
        .iter()
        .filter(|r| r.kind == "bind" && r.detail == format!("node={}", drain.subject))
        .map(|r| r.subject.as_str())
        .filter(|name| {
            !before
                .iter()
                .any(|r| r.kind == "delete" && r.subject == *name)
        })
        .collect();
    let want: usize = drain
        .detail
        .split("its ")
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(on_node.len(), want, "{on_node:?}: {}", drain.detail);
    assert_eq!(want, 2, "{}", drain.detail);
    for name in &on_node {
        assert!(
            after
                .iter()
                .any(|r| r.kind == "delete" && r.subject == *name && r.t == drain.t),
            "{name} not deleted at the drain"
        );
    }
    // The controller recreated as many right after, and they went to other nodes.
    let recreated: Vec<&str> = after
        .iter()
        .take_while(|r| r.t == drain.t)
        .filter(|r| r.kind == "create")
        .map(|r| r.subject.as_str())
        .collect();
    assert_eq!(recreated.len(), on_node.len(), "{recreated:?}");
    for name in recreated {
        let (_, node) = life[name].1.as_ref().expect("recreated replica bound");
        assert_ne!(node, &drain.subject);
    }
    // The node went once empty.
    assert!(
        rows.iter()
            .any(|r| r.kind == "node-remove" && r.subject == drain.subject && r.t >= drain.t)
    );
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["cluster"]["node_autoscaling"]["autoscaler"], "karpenter");
    assert_eq!(s["cluster"]["nodes"], 1); // one of the two went
}

#[test]
fn the_same_seed_gives_byte_identical_results() {
    let d = scratch("determinism");
    let a = run(&d, "a", &[]);
    let b = run(&d, "b", &[]);
    for f in ["events.csv", "timeseries.csv", "summary.json"] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn live_mode_refuses_node_autoscaling_before_touching_an_engine() {
    let d = scratch("live");
    let scenario = repo().join("scenarios/cluster-autoscaling.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", scenario.to_str().unwrap(), "--live", "--out", "l"])
        .current_dir(&d)
        .output()
        .expect("run sim");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.trim_end().ends_with(
            "cluster-autoscaling.toml: clusterAutoscaler: node autoscaling is simulated only; live mode cannot add or remove hosts"
        ),
        "{err}"
    );
    assert!(!d.join("l").exists());
}

#[test]
fn karpenter_replaces_a_node_by_a_cheaper_one_once_the_new_one_is_ready() {
    // One 8-cpu node at 0.40/h holding one 1-cpu replica; a 2-cpu group at 0.10/h takes it.
    let d = scratch("replace");
    fs::write(
        d.join("replace.toml"),
        r#"
name = "replace"
[simulation]
duration = "5m"
sampleInterval = "10s"
[pools.big]
count = 1
max = 3
cpu = "8"
memory = "32Gi"
bootDelay = "30s"
costPerHour = 0.4
[pools.small]
count = 0
max = 3
cpu = "2"
memory = "8Gi"
bootDelay = "30s"
costPerHour = 0.1
[clusterAutoscaler]
kind = "karpenter"
[services.web]
replicas = 1
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }
[services.web.traffic]
model = "constant"
rate = 20
"#,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", "replace.toml", "--out", "r", "--quiet"])
        .current_dir(&d)
        .output()
        .expect("run sim");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = events(&d.join("r"));
    let find = |kind: &str, subject: &str| {
        rows.iter()
            .find(|r| r.kind == kind && r.subject == subject)
            .unwrap_or_else(|| panic!("no {kind} of {subject}"))
    };
    // First scan (1 s): the replacement is decided, and carried out after Karpenter's 15 s
    // re-validation: at 16 s small-0 is added and big-0 cordoned; 30 s later small-0 is
    // ready, and only then is big-0's replica deleted and recreated on small-0.
    let add = find("node-add", "small-0");
    assert_eq!(
        (add.t, add.detail.as_str()),
        (16.0, "group=small reason=replaces big-0")
    );
    let cordon = find("node-drain", "big-0");
    assert_eq!(cordon.t, 16.0);
    assert!(
        cordon
            .detail
            .contains("replace by a cheaper small node (0.1/h < 0.4/h)")
    );
    assert_eq!(find("node-ready", "small-0").t, 46.0);
    assert_eq!(find("delete", "web-0").t, 46.0);
    assert_eq!(find("bind", "web-1").detail, "node=small-0");
    let gone = find("node-remove", "big-0").t;
    assert!((46.0..46.1).contains(&gone), "{gone}");
    // Cost by hand: big-0 from 0 to its removal at 0.40/h, small-0 from 16 s to 300 s at 0.10/h.
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    let want = 0.4 * gone / 3600.0 + 0.1 * 284.0 / 3600.0;
    assert!((s["cluster"]["cost"].as_f64().unwrap() - want).abs() < 1e-12);
    assert_eq!(s["cluster"]["node_autoscaling"]["replacements"], 1);
}
