//! `sim place` on `scenarios/priority-preemption.toml`: one more `urgent`
//! pod fits no node of the full cluster and preempts.

use std::path::Path;

use orkestra_core::scenario::Scenario;
use orkestra_sim::place::{explain_placement, render_explanation};

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("scenarios")
        .join(name);
    orkestra_simulator::scenario_file::load(&path, &[], None)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

#[test]
fn place_lists_the_victims_of_a_replica_that_fits_nowhere() {
    // After the initial placement each 4-cpu node holds one cache and one web replica of 2
    // cpu. An urgent pod (2 cpu, priority 100000) fits none; on every node the budget makes
    // web's replica violating, so it is reprieved first (2 + 2 = 4) and cache's is the one
    // victim, with 0 violations: every node ties and the offset picks one.
    let s = load("priority-preemption.toml");
    let e = explain_placement(&s, Some("urgent.0")).unwrap();
    assert_eq!(e.chosen, None);
    let p = e.preemption.clone().expect("a preemption verdict");
    assert!(p.node.is_some(), "{p:?}");
    assert_eq!(p.victims.len(), 1, "{p:?}");
    assert!(p.victims[0].starts_with("cache-"), "{p:?}");
    assert_eq!(p.pdb_violations, 0);
    let text = render_explanation(&e);
    let line = format!(
        "preemption: nominate {}, evict {} (0 PDB violations)",
        p.node.unwrap(),
        p.victims[0]
    );
    assert!(text.contains(&line), "{text}");
    // A web replica (priority 100) has no one lower to preempt.
    let e = explain_placement(&s, Some("web")).unwrap();
    let p = e.preemption.expect("a verdict");
    assert_eq!(p.node, None);
    assert_eq!(
        p.reasons,
        ["pool-0", "pool-1", "pool-2"]
            .map(|n| format!("{n}: No preemption victims found for incoming pod"))
            .to_vec()
    );
}
