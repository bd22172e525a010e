//! Upstream's test tables (podtopologyspread/{filtering,scoring}_test.go),
//! with the arithmetic worked in comments. Upstream's `foo` selector is our
//! service 0; its pods are replicas of service 0 bound to the nodes.

use super::*;
use crate::model::{Resources, SelectorOp, SelectorRequirement, SelectorTerm, ServiceId};
use crate::placement::{Batch, Snapshot};
use crate::testing::node;

const S: ServiceId = ServiceId(0);

/// Labels of one node.
type Labels<'a> = &'a [(&'a str, &'a str)];

/// Nodes with exactly the labels given (no default hostname or zone label
/// unless listed), and `pods[i]` replicas of S on node i.
fn cluster(nodes: &[Labels<'_>], pods: &[u32]) -> Snapshot {
    let statuses = nodes
        .iter()
        .enumerate()
        .map(|(i, labels)| {
            let mut n = node(&format!("n{i}")).cpu("4").mem("8Gi").status();
            n.spec_mut().labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            n
        })
        .collect();
    let mut snap = Snapshot::new(statuses);
    for (i, &k) in pods.iter().enumerate() {
        for _ in 0..k {
            snap.bind(i, S, Resources::ZERO);
        }
    }
    snap
}

fn constraint(key: &str, max_skew: u32, hard: bool, min_domains: Option<u32>) -> SpreadConstraint {
    SpreadConstraint {
        max_skew,
        topology_key: key.to_string(),
        when_unsatisfiable: if hard {
            WhenUnsatisfiable::DoNotSchedule
        } else {
            WhenUnsatisfiable::ScheduleAnyway
        },
        min_domains,
        selector: PodSelector::Own,
        match_label_keys: Vec::new(),
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
    }
}

fn request(c: &Constraints) -> Request<'_> {
    Request {
        storage: crate::storage::PodStorage::NONE,
        service: S,
        resources: Resources::ZERO,
        constraints: c,
    }
}

/// Prepare + score + normalise over `feasible`, as a profile does.
fn scores(c: &Constraints, snap: &Snapshot, feasible: &[usize]) -> Vec<i64> {
    let mut p = PodTopologySpread::default();
    let (req, view) = (request(c), snap.view());
    Score::prepare(&mut p, &req, &view, feasible);
    let mut s: Vec<i64> = feasible.iter().map(|&i| p.score(&req, &view, i)).collect();
    p.normalize(&mut s);
    s
}

fn filter(c: &Constraints, snap: &Snapshot) -> Vec<Result<(), FilterReason>> {
    let mut p = PodTopologySpread::default();
    let (req, view) = (request(c), snap.view());
    Filter::prepare(&mut p, &req, &view);
    (0..view.len()).map(|i| p.filter(&req, &view, i)).collect()
}

fn spread(cs: Vec<SpreadConstraint>) -> Constraints {
    Constraints {
        spread: cs,
        ..Default::default()
    }
}

const H: &str = LABEL_HOSTNAME;

#[test]
fn scores_match_upstream_table() {
    let four: Vec<Labels> = vec![&[(H, "a")], &[(H, "b")], &[(H, "c")], &[(H, "d")]];
    let zoned: Vec<Labels> = vec![
        &[(H, "a"), ("zone", "zone1")],
        &[(H, "b"), ("zone", "zone1")],
        &[(H, "x"), ("zone", "zone2")],
        &[(H, "y"), ("zone", "zone2")],
    ];
    type Case<'a> = (
        &'a str,
        Constraints,
        Vec<Labels<'a>>,
        &'a [u32],
        &'a [usize],
        &'a [i64],
    );
    let cases: Vec<Case> = vec![
        (
            // 2/1/0/3 on hostname, maxSkew 1, 4 candidates: w = ln 6 = 1.792.
            // raw a 2·1.792 = 3.58 → 4, b 1.79 → 2, c 0, d 5.38 → 5; min 0, max 5:
            // a 100·(5 + 0 − 4)/5 = 20, b 100·3/5 = 60, c 100, d 0.
            "one constraint on node, all 4 nodes are candidates",
            spread(vec![constraint(H, 1, false, None)]),
            four.to_vec(),
            &[2, 1, 0, 3],
            &[0, 1, 2, 3],
            &[20, 60, 100, 0],
        ),
        (
            // maxSkew 2 adds 1: raw a 4.58 → 5, b 2.79 → 3, c 1, d 6.38 → 6; min 1, max 6:
            // a 100·(7 − 5)/6 = 33, b 100·4/6 = 66, c 100, d 100·1/6 = 16.
            "one constraint on node, all 4 nodes are candidates, maxSkew=2",
            spread(vec![constraint(H, 2, false, None)]),
            four.to_vec(),
            &[2, 1, 0, 3],
            &[0, 1, 2, 3],
            &[33, 66, 100, 16],
        ),
        (
            // 4/3/2/1, maxSkew 3 (+2): raw a 4·1.792 + 2 = 9.17 → 9, b 7.38 → 7, c 5.58 → 6,
            // d 3.79 → 4; min 4, max 9: a 100·4/9 = 44, b 66, c 77, d 100.
            "one constraint on node, all 4 nodes are candidates, maxSkew=3",
            spread(vec![constraint(H, 3, false, None)]),
            four.to_vec(),
            &[4, 3, 2, 1],
            &[0, 1, 2, 3],
            &[44, 66, 77, 100],
        ),
        (
            // System defaults, nodes without a zone: the zone constraint is skipped in Score
            // (label absent), hostname maxSkew 3 gives the maxSkew=3 scores above.
            "system defaulting, nodes don't have zone, pods match service",
            Constraints::default(),
            four.to_vec(),
            &[4, 3, 2, 1],
            &[0, 1, 2, 3],
            &[44, 66, 77, 100],
        ),
        (
            // 4/2/1/~3~: 3 candidates, w = ln 5 = 1.609: a 6.44 → 6, b 3.22 → 3, x 1.61 → 2;
            // min 2, max 6: a 100·(8 − 6)/6 = 33, b 100·5/6 = 83, x 100.
            "one constraint on node, 3 out of 4 nodes are candidates",
            spread(vec![constraint(H, 1, false, None)]),
            vec![&[(H, "a")], &[(H, "b")], &[(H, "x")], &[(H, "y")]],
            &[4, 2, 1, 3],
            &[0, 1, 2],
            &[33, 83, 100],
        ),
        (
            // 4/?2?/1/~3~: b lacks the key and is ignored; size 3 − 1 = 2, w = ln 4 = 1.386:
            // a 5.55 → 6, x 1.39 → 1; min 1, max 6: a 100·(7 − 6)/6 = 16, b 0, x 100.
            "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
            spread(vec![constraint(H, 1, false, None)]),
            vec![&[(H, "a")], &[("n", "b")], &[(H, "x")], &[(H, "y")]],
            &[4, 2, 1, 3],
            &[0, 1, 2],
            &[16, 0, 100],
        ),
        (
            // Zones {a, b} = zone1 (6), {x, y} = zone2 (1 + 3, y counted though not a
            // candidate); 2 domains, w = ln 4 = 1.386: a, b 8.32 → 8, x 5.55 → 6;
            // min 6, max 8: a, b 100·(14 − 8)/8 = 75, x 100.
            "one constraint on zone, 3 out of 4 nodes are candidates",
            spread(vec![constraint("zone", 1, false, None)]),
            zoned.clone(),
            &[4, 2, 1, 3],
            &[0, 1, 2],
            &[75, 75, 100],
        ),
        (
            // 2/~1~/2/~4~, candidates a, x: zone w = ln 4, host w = ln 4 = 1.386;
            // zone1 3, zone2 6: a 3·1.386 + 2·1.386 = 6.93 → 7, x 8·1.386 = 11.09 → 11;
            // a 100·(18 − 7)/11 = 100, x 100·7/11 = 63.
            "two Constraints on zone and node, 2 out of 4 nodes are candidates",
            spread(vec![
                constraint("zone", 1, false, None),
                constraint(H, 1, false, None),
            ]),
            zoned.clone(),
            &[2, 1, 2, 4],
            &[0, 2],
            &[100, 63],
        ),
        (
            // minDomains plays no part in scoring: "node" key (not hostname), 3 domains,
            // w = ln 5 = 1.609, maxSkew 2 (+1): a, b 2·1.609 + 1 = 4.22 → 4, c 2.61 → 3;
            // a, b 100·(7 − 4)/4 = 75, c 100.
            "minDomains has no effect when ScheduleAnyway",
            spread(vec![constraint("node", 2, false, Some(10))]),
            vec![&[("node", "a")], &[("node", "b")], &[("node", "c")]],
            &[2, 2, 1],
            &[0, 1, 2],
            &[75, 75, 100],
        ),
    ];
    for (name, c, nodes, pods, feasible, want) in cases {
        let snap = cluster(&nodes, pods);
        assert_eq!(scores(&c, &snap, feasible), want, "{name}");
    }
}

#[test]
fn node_affinity_is_honored_when_counting() {
    // "NodeAffinityPolicy honored with labelSelectors / nodeAffinity": a and b have foo,
    // c does not; 2/1/1 replicas. Counting honours the selector: c's replica is not
    // counted (its domain exists, count 0). "node" key, 3 domains, w = ln 5 = 1.609:
    // a 3.22 → 3, b 1.61 → 2, c 0; a 100·(3 − 3)/3 = 0, b 100·1/3 = 33, c 100.
    let nodes: Vec<Labels> = vec![
        &[("node", "a"), ("foo", "")],
        &[("node", "b"), ("foo", "")],
        &[("node", "c")],
    ];
    let snap = cluster(&nodes, &[2, 1, 1]);
    let by_selector = Constraints {
        node_selector: [("foo".to_string(), String::new())].into(),
        ..spread(vec![constraint("node", 1, false, None)])
    };
    assert_eq!(scores(&by_selector, &snap, &[0, 1, 2]), [0, 33, 100]);
    let by_affinity = Constraints {
        required_terms: vec![SelectorTerm {
            requirements: vec![SelectorRequirement {
                key: "foo".into(),
                op: SelectorOp::In,
                values: vec![String::new()],
            }],
        }],
        ..spread(vec![constraint("node", 1, false, None)])
    };
    assert_eq!(scores(&by_affinity, &snap, &[0, 1, 2]), [0, 33, 100]);
}

#[test]
fn system_defaults_spread_over_hosts_and_zones() {
    // Two zones; replicas a 2, b 0 (zone1), x 1, y 0 (zone2). All four feasible:
    // host w = ln 6 = 1.792, zone w = ln 4 = 1.386; zone1 has 2, zone2 1.
    // a: 2·1.792 + 2 + 2·1.386 + 4 = 12.36 → 12; b: 2 + 6.77 = 8.77 → 9;
    // x: 1.792 + 2 + 1.386 + 4 = 9.18 → 9; y: 2 + 5.386 = 7.39 → 7.
    // min 7, max 12: a 100·(19 − 12)/12 = 58, b 100·10/12 = 83, x 83, y 100.
    let mut nodes: Vec<Labels> = vec![
        &[(H, "a"), (LABEL_ZONE, "zone1")],
        &[(H, "b"), (LABEL_ZONE, "zone1")],
        &[(H, "x"), (LABEL_ZONE, "zone2")],
        &[(H, "y"), (LABEL_ZONE, "zone2")],
    ];
    let snap = cluster(&nodes, &[2, 0, 1, 0]);
    assert_eq!(
        scores(&Constraints::default(), &snap, &[0, 1, 2, 3]),
        [58, 83, 83, 100]
    );
    // A node without a zone label is in the zone "" and is not ignored: it keeps its
    // hostname score. Candidates a, b (no zone), y: host w = ln 5 = 1.609; their zones
    // zone1, "", zone2 are 3 domains, zone w = ln 5 = 1.609.
    // a: 2·1.609 + 2 + 2·1.609 + 4 = 12.44 → 12; b: 0 + 2 (no zone term) = 2;
    // y: 2 + 1·1.609 + 4 = 7.61 → 8. min 2, max 12: a 100·2/12 = 16, b 100, y 100·6/12 = 50.
    nodes[1] = &[(H, "b")];
    let snap = cluster(&nodes, &[2, 0, 1, 0]);
    assert_eq!(
        scores(&Constraints::default(), &snap, &[0, 1, 3]),
        [16, 100, 50]
    );
}

#[test]
fn counts_include_the_batch_binds() {
    // Hostname-only constraint; a has 1 replica in the world and 1 bound earlier in the
    // batch, b none: w = ln 4 = 1.386: a 2.77 → 3, b 0; a 100·(3 − 3)/3 = 0, b 100.
    let nodes: Vec<Labels> = vec![&[(H, "a")], &[(H, "b")]];
    let mut snap = cluster(&nodes, &[1, 0]);
    snap.batch = Batch::new();
    snap.batch.bind(crate::model::NodeId(0), S);
    let c = spread(vec![constraint(H, 1, false, None)]);
    assert_eq!(scores(&c, &snap, &[0, 1]), [0, 100]);
}

#[test]
fn only_hard_constraints_leave_the_score_out() {
    // A DoNotSchedule constraint only: PreScore returns Skip, every node scores 0.
    let nodes: Vec<Labels> = vec![&[(H, "a")], &[(H, "b")]];
    let snap = cluster(&nodes, &[3, 0]);
    let c = spread(vec![constraint(H, 1, true, None)]);
    assert_eq!(scores(&c, &snap, &[0, 1]), [0, 0]);
}

#[test]
fn filter_matches_upstream_table() {
    use FilterReason::{TopologyLabelMissing as Missing, TopologySpread as Skew};
    let four: Vec<Labels> = vec![
        &[("zone", "zone1"), ("node", "a")],
        &[("zone", "zone1"), ("node", "b")],
        &[("zone", "zone2"), ("node", "x")],
        &[("zone", "zone2"), ("node", "y")],
    ];
    let zone = |skew, min| spread(vec![constraint("zone", skew, true, min)]);
    let host = |skew| spread(vec![constraint("node", skew, true, None)]);
    let node_in = |values: &[&str]| SelectorTerm {
        requirements: vec![SelectorRequirement {
            key: "node".into(),
            op: SelectorOp::In,
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
    };
    type Case<'a> = (
        &'a str,
        Constraints,
        Vec<Labels<'a>>,
        &'a [u32],
        Vec<Result<(), FilterReason>>,
    );
    let cases: Vec<Case> = vec![
        (
            // Every count 0, min 0: 0 + 1 − 0 = 1 ≤ 1 everywhere.
            "no existing pods",
            zone(1, None),
            four.clone(),
            &[0, 0, 0, 0],
            vec![Ok(()); 4],
        ),
        (
            // zone1 2 + 1 = 3, zone2 3, min 3: 3 + 1 − 3 = 1 ≤ 1 everywhere.
            "pods spread across zones as 3/3, all nodes fit",
            zone(1, None),
            four.clone(),
            &[2, 1, 0, 3],
            vec![Ok(()); 4],
        ),
        (
            // b lacks "zone": not counted, and rejected as unresolvable. zone1 1, zone2 2,
            // min 1: a 1 + 1 − 1 = 1 fits; x, y 2 + 1 − 1 = 2 > 1.
            "pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
            zone(1, None),
            vec![
                four[0],
                &[("zon", "zone1"), ("node", "b")],
                four[2],
                four[3],
            ],
            &[1, 1, 1, 1],
            vec![Ok(()), Err(Missing), Err(Skew), Err(Skew)],
        ),
        (
            "pod cannot be scheduled as all nodes don't have label 'rack'",
            spread(vec![constraint("rack", 1, true, None)]),
            vec![four[0], four[2]],
            &[0, 0],
            vec![Err(Missing), Err(Missing)],
        ),
        (
            // Per node 2/1/0/3, min 0: a 2 + 1 = 3, b 2, x 1, y 4: only x ≤ 1.
            "pods spread across nodes as 2/1/0/3, only node-x fits",
            host(1),
            four.clone(),
            &[2, 1, 0, 3],
            vec![Err(Skew), Err(Skew), Ok(()), Err(Skew)],
        ),
        (
            // maxSkew 2: b (2) and x (1) fit.
            "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
            host(2),
            four.clone(),
            &[2, 1, 0, 3],
            vec![Err(Skew), Ok(()), Ok(()), Err(Skew)],
        ),
        (
            // Only a (2) and y (3) match the affinity and are counted: min 2. a 2 + 1 − 2 = 1
            // fits; b and x have no counted domain: 0 + 1 − 2 < 1 (NodeAffinity, not this
            // plugin, rejects them); y 3 + 1 − 2 = 2 > 1.
            "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
            Constraints {
                required_terms: vec![node_in(&["a", "y"])],
                ..host(1)
            },
            four.clone(),
            &[2, 1, 0, 3],
            vec![Ok(()), Ok(()), Ok(()), Err(Skew)],
        ),
        (
            // Zones 3/3 fit on zone, but on nodes only x (0) fits: the intersection is x.
            "two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
            spread(vec![
                constraint("zone", 1, true, None),
                constraint("node", 1, true, None),
            ]),
            four.clone(),
            &[2, 1, 0, 3],
            vec![Err(Skew), Err(Skew), Ok(()), Err(Skew)],
        ),
        (
            // minDomains 3 with 2 eligible zones: global minimum 0. zone1 1, zone2 1:
            // 1 + 1 − 0 = 2 > 1 everywhere (with the default minDomains 1 it would be 1).
            "minDomains above the eligible domains makes the global minimum 0",
            zone(1, Some(3)),
            four.clone(),
            &[1, 0, 1, 0],
            vec![Err(Skew); 4],
        ),
        (
            // minDomains 2 = 2 eligible zones: minimum 1, 1 + 1 − 1 = 1 fits.
            "minDomains met",
            zone(1, Some(2)),
            four.clone(),
            &[1, 0, 1, 0],
            vec![Ok(()); 4],
        ),
        (
            // Constraints are checked in order. Only a and x have both keys and are
            // counted: zone1 2, zone2 0 (min 0); rack r 2 (min 2). a and c: zone1
            // 2 + 1 − 0 = 3 > 1 (c's missing rack is not reached); x: zone 1 fits,
            // rack 2 + 1 − 2 = 1 fits; y fits its zone, then lacks rack.
            "the first failing constraint gives the reason",
            spread(vec![
                constraint("zone", 1, true, None),
                constraint("rack", 1, true, None),
            ]),
            vec![
                &[("zone", "zone1"), ("rack", "r")],
                &[("zone", "zone1")],
                &[("zone", "zone2"), ("rack", "r")],
                &[("zone", "zone2")],
            ],
            &[2, 0, 0, 0],
            vec![Err(Skew), Err(Skew), Ok(()), Err(Missing)],
        ),
    ];
    for (name, c, nodes, pods, want) in cases {
        let snap = cluster(&nodes, pods);
        assert_eq!(filter(&c, &snap), want, "{name}");
    }
}

#[test]
fn filter_sees_no_domain_without_every_key() {
    // With "zone" and "rack" hard constraints, no node has "rack": nothing is counted,
    // zone1's 2 replicas included, and every node misses a label (zone comes first and fits
    // with min 0 from minDomains: 0 domains < 1).
    let nodes: Vec<Labels> = vec![&[("zone", "zone1")], &[("zone", "zone2")]];
    let snap = cluster(&nodes, &[2, 0]);
    let c = spread(vec![
        constraint("zone", 1, true, None),
        constraint("rack", 1, true, None),
    ]);
    assert_eq!(
        filter(&c, &snap),
        [
            Err(FilterReason::TopologyLabelMissing),
            Err(FilterReason::TopologyLabelMissing)
        ]
    );
}

#[test]
fn rounding_is_go_math_round() {
    // Halves go away from zero; the largest double below 0.5 goes to 0 (adding 0.5 and
    // flooring would give 1); integers above 2^52 stay; and random values agree with
    // f64::round, which is Go's math.Round.
    let below_half = 0.5 - f64::EPSILON / 4.0;
    for (x, want) in [
        (0.0, 0),
        (0.5, 1),
        (1.5, 2),
        (2.5, 3),
        (-0.5, -1),
        (-2.5, -3),
        (below_half, 0),
        (2.0 - f64::EPSILON, 2),
        (4_503_599_627_370_497.0, 4_503_599_627_370_497),
    ] {
        assert_eq!(round_half_away(x), want, "{x}");
    }
    let mut rng = crate::rng::stream(1, "round");
    for _ in 0..100_000 {
        let bits = rand::Rng::next_u64(&mut rng);
        let x = (bits >> 11) as f64 / (1u64 << 20) as f64 * if bits & 1 == 0 { 1.0 } else { -1.0 };
        let half = (bits >> 12) as f64 + 0.5;
        for v in [x, half, -half] {
            assert_eq!(round_half_away(v), v.round() as i64, "{v}");
        }
    }
}
