//! `scenarios/partition.toml` through the `sim` command: it validates,
//! runs, repeats byte for byte with the same seed, and its events follow
//! the timeline the scenario's comments work out. (The topology's
//! behaviour in the simulator is tested in `sim/tests/topology.rs`.)

use std::path::Path;
use std::process::Command;

#[test]
fn partition_scenario_runs_and_repeats_byte_for_byte() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let scenario = repo.join("scenarios/partition.toml");
    let dir = std::env::temp_dir().join(format!("orkestra-topology-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let check = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["check", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for out in ["a", "b"] {
        let o = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(["run", scenario.to_str().unwrap(), "--quiet", "--out"])
            .arg(dir.join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for f in [
        "summary.json",
        "events.csv",
        "timeseries.csv",
        "scenario.toml",
    ] {
        let a = std::fs::read(dir.join("a").join(f)).unwrap();
        let b = std::fs::read(dir.join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between two runs of the same seed");
    }
    // The timeline of the scenario's comments: NotReady at 345 s (last
    // heartbeat 300 s + 40 s grace → the 345 s pass), eviction at 345 + 60.
    let events = std::fs::read_to_string(dir.join("a/events.csv")).unwrap();
    let at = |kind: &str| -> Vec<&str> {
        events
            .lines()
            .filter(|l| l.split(',').nth(1) == Some(kind))
            .map(|l| l.split(',').next().unwrap())
            .collect()
    };
    assert_eq!(at("node-not-ready"), vec!["345"; 4]);
    assert_eq!(at("evict"), vec!["405"; 4]);
    assert_eq!(at("node-ready"), vec!["600"; 4]);
    let _ = std::fs::remove_dir_all(&dir);
}
