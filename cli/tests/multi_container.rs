//! `scenarios/multi-container.toml` runs end to end with `sim run`: its
//! six pods (800m / 1216Mi / one `example.com/foo` each, worked out in
//! `core/src/scenario/pod_tests.rs`) are bound two per node, as the
//! extended resource allows, and serve their traffic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn multi_container_scenario_runs() {
    let d = std::env::temp_dir().join(format!("orkestra-multi-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    let out = d.join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "run",
            repo()
                .join("scenarios/multi-container.toml")
                .to_str()
                .unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = fs::read_to_string(out.join("events.csv")).unwrap();
    // One bind row per pod: `time,bind,web-K,NODE`.
    let mut per_node = std::collections::BTreeMap::<String, u32>::new();
    for line in events
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("bind"))
    {
        let node = line.split(',').nth(3).unwrap_or_default().to_string();
        *per_node.entry(node).or_default() += 1;
    }
    // First fit (the default policy) would put four on a node by cpu
    // (3900m / 800m); example.com/foo (2 per node, 1 per pod) stops it at two.
    let want: std::collections::BTreeMap<String, u32> = [
        ("node=pool-0".to_string(), 2),
        ("node=pool-1".to_string(), 2),
        ("node=pool-2".to_string(), 2),
    ]
    .into();
    assert_eq!(per_node, want, "{events}");
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"multi-container\""), "{summary}");
    let _ = fs::remove_dir_all(&d);
}
