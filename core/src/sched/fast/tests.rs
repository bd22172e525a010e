//! Differential tests: the cached policy against the plain profile
//! ([`kubernetes_default_sampled`]`(Sampling::All)`) on random clusters,
//! binds, unbinds, batches (applied or dropped), readiness and label
//! changes, taints, cut logs and more shapes than the cache holds.

use std::collections::BTreeSet;

use super::*;
use crate::model::{
    LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, NodeStatus, SelectorOp, SelectorRequirement,
    SelectorTerm, Taint, TaintEffect,
};
use crate::placement::{Batch, NodeAlloc, Snapshot};
use crate::rng::{StreamRng, stream};
use crate::sched::Sampling;
use crate::sched::default_profile::kubernetes_default_sampled;

const GI: u64 = 1 << 30;

/// A cluster with its world replicas and the current batch's binds.
struct Cluster {
    snap: Snapshot,
    world: Vec<(usize, ServiceId, Resources)>,
    batch: Vec<(usize, ServiceId, Resources)>,
}

impl Cluster {
    fn view(&self) -> ClusterView<'_> {
        self.snap.view()
    }

    /// The node's allocation as observed plus this batch's binds on it.
    fn realloc(&mut self, i: usize) {
        self.snap.allocs[i] = NodeAlloc::of(&self.snap.nodes[i]);
        for &(n, _, r) in &self.batch {
            if n == i {
                self.snap.allocs[i].add(r);
            }
        }
    }

    fn bind_world(&mut self, i: usize, s: ServiceId, r: Resources) {
        self.snap.bind(i, s, r);
        self.world.push((i, s, r));
        self.realloc(i);
    }

    fn unbind_world(&mut self, k: usize) {
        let (i, s, r) = self.world.swap_remove(k);
        self.snap.unbind(i, s, r);
        self.realloc(i);
    }

    fn bind_batch(&mut self, i: usize, s: ServiceId, r: Resources) {
        self.snap.batch.bind(NodeId(i as u32), s);
        self.snap.allocs[i].add(r);
        self.batch.push((i, s, r));
    }

    /// Ends the batch; its binds reach the world or are dropped.
    fn end_batch(&mut self, apply: bool) {
        let binds = std::mem::take(&mut self.batch);
        self.snap.batch = Batch::new();
        for &(i, _, _) in &binds {
            self.realloc(i);
        }
        if apply {
            for (i, s, r) in binds {
                self.bind_world(i, s, r);
            }
        }
    }
}

fn shape(rng: &mut StreamRng) -> Resources {
    const SHAPES: [(u64, u64); 8] = [
        (0, 0),
        (100, 128 << 20),
        (500, GI),
        (1000, GI / 2),
        (250, 0),
        (0, 3 * GI),
        (3000, 6 * GI),
        (9000, GI),
    ];
    let (c, m) = SHAPES[rng.random_range(0..SHAPES.len())];
    Resources::new(c, m)
}

fn random_node(rng: &mut StreamRng, i: usize, zones: u32) -> NodeStatus {
    let cpu = [1000, 2000, 3900, 4000, 8000][rng.random_range(0..5)];
    let mem = [GI, 2 * GI, 4 * GI, 15 * GI / 2, 16 * GI][rng.random_range(0..5)];
    let r = Resources::new(cpu, mem);
    let name = format!("n{i}");
    let mut labels = std::collections::BTreeMap::new();
    if rng.random_range(0..20) > 0 {
        labels.insert(LABEL_HOSTNAME.to_string(), name.clone());
    }
    match rng.random_range(0..20) {
        0 => {}
        1 => {
            labels.insert(LABEL_ZONE.to_string(), String::new());
        }
        _ => {
            let z = format!("z{}", rng.random_range(0..zones));
            labels.insert(LABEL_ZONE.to_string(), z);
        }
    }
    let mut n = NodeStatus::new(NodeSpec {
        csi: Some(Default::default()),
        name,
        pool: "p".into(),
        zone: String::new(),
        labels,
        taints: vec![],
        capacity: r,
        allocatable: r,
        speed: 1.0,
    });
    n.ready = rng.random_range(0..10) > 0;
    n
}

fn random_cluster(rng: &mut StreamRng, max_nodes: usize) -> Cluster {
    let n = 1 + rng.random_range(0..max_nodes);
    let zones = 1 + rng.random_range(0..4);
    let nodes = (0..n).map(|i| random_node(rng, i, zones)).collect();
    let mut c = Cluster {
        snap: Snapshot::new(nodes),
        world: Vec::new(),
        batch: Vec::new(),
    };
    for i in 0..n {
        for _ in 0..rng.random_range(0..4) {
            let s = ServiceId(rng.random_range(0..4));
            let r = shape(rng);
            if r.first_shortfall(
                &c.snap.allocs[i].requested,
                &c.snap.nodes[i].spec.allocatable,
            )
            .is_none()
            {
                c.bind_world(i, s, r);
            }
        }
    }
    c
}

/// Places with both policies: the fast policy's node must be feasible with
/// the plain profile's maximum total, its own total must be that maximum,
/// and without a feasible node both must give the same reasons.
fn check(
    fast: &mut KubeDefault,
    plain: &mut Profile,
    request: &Request<'_>,
    view: &ClusterView<'_>,
    rng: &mut StreamRng,
) -> Option<usize> {
    let rows = plain.explain(request, view);
    let feasible: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].filters.iter().all(|f| f.1.is_none()))
        .collect();
    let max = feasible.iter().map(|&i| rows[i].total).max();
    let fast_path = KubeDefault::covers(request.constraints)
        && view.nodes.iter().all(|n| n.spec.taints.is_empty());
    match fast.place(request, view, rng) {
        Ok(id) => {
            let i = id.0 as usize;
            assert!(feasible.contains(&i), "chose infeasible node {i}");
            assert_eq!(Some(rows[i].total), max, "node {i}: {:?}", rows[i]);
            if fast_path {
                assert_eq!(fast.last_total, max);
            }
            Some(i)
        }
        Err(why) => {
            assert!(
                feasible.is_empty(),
                "fast found nothing; feasible {feasible:?}"
            );
            assert_eq!(Err(why), plain.place(request, view, rng));
            None
        }
    }
}

#[test]
fn chooses_a_node_with_the_plain_profiles_best_total() {
    let mut rng = stream(7, "fast-differential");
    let selector = Constraints {
        required_terms: vec![SelectorTerm {
            requirements: vec![SelectorRequirement {
                key: LABEL_HOSTNAME.into(),
                op: SelectorOp::Exists,
                values: vec![],
            }],
        }],
        ..Default::default()
    };
    let none = Constraints::default();
    let (mut decisions, mut fast_decisions) = (0, 0);
    let mut draws = [0; 3];
    let mut fast = KubeDefault::new();
    for _cluster in 0..300 {
        let mut c = random_cluster(&mut rng, 40);
        let mut plain = kubernetes_default_sampled(Sampling::All);
        if rng.random_range(0..4) == 0 {
            // A fresh policy now and then; otherwise one policy sees many epochs.
            (0..3).for_each(|w| draws[w] += fast.draws[w]);
            fast = KubeDefault::new();
        }
        for _step in 0..80 {
            let n = c.snap.nodes.len();
            match rng.random_range(0..20) {
                0..=10 => {
                    let service = ServiceId(rng.random_range(0..4));
                    let resources = shape(&mut rng);
                    let constraints = if rng.random_range(0..15) == 0 {
                        &selector
                    } else {
                        &none
                    };
                    let request = Request {
                        storage: crate::storage::PodStorage::NONE,
                        service,
                        resources,
                        constraints,
                    };
                    decisions += 1;
                    fast_decisions += usize::from(
                        KubeDefault::covers(constraints)
                            && c.snap.nodes.iter().all(|n| n.spec.taints.is_empty()),
                    );
                    if let Some(i) = check(&mut fast, &mut plain, &request, &c.view(), &mut rng) {
                        if rng.random_range(0..3) == 0 {
                            c.bind_world(i, service, resources);
                        } else {
                            c.bind_batch(i, service, resources);
                        }
                    }
                }
                11..=13 if !c.world.is_empty() => {
                    let k = rng.random_range(0..c.world.len());
                    c.unbind_world(k);
                }
                14 | 15 => c.end_batch(rng.random_range(0..2) == 0),
                16 => {
                    let i = rng.random_range(0..n);
                    c.snap.nodes[i].ready = !c.snap.nodes[i].ready;
                    c.snap.changes.push(NodeId(i as u32));
                }
                17 => {
                    // A node moves zone (or loses its zone label).
                    let i = rng.random_range(0..n);
                    let labels = &mut c.snap.nodes[i].spec_mut().labels;
                    match rng.random_range(0..3) {
                        0 => labels.remove(LABEL_ZONE),
                        _ => {
                            labels.insert(LABEL_ZONE.into(), format!("z{}", rng.random_range(0..5)))
                        }
                    };
                    c.snap.changes.push(NodeId(i as u32));
                }
                18 => {
                    // Taints send every decision to the plain profile until removed.
                    let i = rng.random_range(0..n);
                    let taints = &mut c.snap.nodes[i].spec_mut().taints;
                    if taints.is_empty() && rng.random_range(0..8) == 0 {
                        taints.push(Taint {
                            key: "k".into(),
                            value: String::new(),
                            effect: TaintEffect::PreferNoSchedule,
                        });
                        c.snap.changes.push(NodeId(i as u32));
                    } else {
                        for (j, node) in c.snap.nodes.iter_mut().enumerate() {
                            if !node.spec.taints.is_empty() {
                                node.spec_mut().taints.clear();
                                c.snap.changes.push(NodeId(j as u32));
                            }
                        }
                    }
                }
                19 if rng.random_range(0..10) == 0 => {
                    // More changes than the log keeps: readers must rebuild.
                    for _ in 0..20_000 {
                        c.snap.changes.push(NodeId(0));
                    }
                }
                _ => {}
            }
        }
    }
    (0..3).for_each(|w| draws[w] += fast.draws[w]);
    // Most decisions take the fast path, and every way of drawing a tied node is used.
    assert!(
        fast_decisions * 10 > decisions * 8,
        "{fast_decisions} of {decisions}"
    );
    assert!(draws.iter().all(|&d| d > 0), "{draws:?}");
}

#[test]
fn more_shapes_than_the_cache_holds() {
    // 40 shapes in turn, twice, with binds between: shapes are evicted and rebuilt.
    let mut rng = stream(8, "fast-shapes");
    let mut c = random_cluster(&mut rng, 30);
    let mut fast = KubeDefault::new();
    let mut plain = kubernetes_default_sampled(Sampling::All);
    let none = Constraints::default();
    for round in 0..3 {
        for k in 0..40u64 {
            let resources = Resources::new(50 * k, (k % 7) * (GI / 4));
            let request = Request {
                storage: crate::storage::PodStorage::NONE,
                service: ServiceId((k % 3) as u32),
                resources,
                constraints: &none,
            };
            let chosen = check(&mut fast, &mut plain, &request, &c.view(), &mut rng);
            if let (Some(i), true) = (chosen, round < 2) {
                c.bind_world(i, request.service, resources);
            }
            assert!(fast.shapes.len() <= SHAPES);
        }
    }
}

#[test]
fn every_tied_node_is_chosen() {
    // Small clusters with few node sizes tie often; over 400 draws each member of the
    // tied set must come up (a missed member has probability ≤ 8·(7/8)^400 ≈ 1e-22),
    // and nothing outside it.
    let mut rng = stream(9, "fast-ties");
    let none = Constraints::default();
    let mut tied_sets = 0;
    for _ in 0..60 {
        let n = 2 + rng.random_range(0..7);
        let zones = 1 + rng.random_range(0..3);
        let nodes = (0..n)
            .map(|i| {
                let mut s = crate::testing::node(&format!("n{i}"))
                    .cpu(["2", "4"][rng.random_range(0..2)])
                    .mem("8Gi")
                    .zone(&format!("z{}", rng.random_range(0..zones)))
                    .status();
                s.ready = rng.random_range(0..12) > 0;
                s
            })
            .collect();
        let mut c = Cluster {
            snap: Snapshot::new(nodes),
            world: vec![],
            batch: vec![],
        };
        for i in 0..n {
            if rng.random_range(0..3) == 0 {
                c.bind_world(
                    i,
                    ServiceId(rng.random_range(0..2)),
                    Resources::new(500, GI),
                );
            }
        }
        let request = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources: Resources::new(500, GI),
            constraints: &none,
        };
        let mut plain = kubernetes_default_sampled(Sampling::All);
        let rows = plain.explain(&request, &c.view());
        let feasible: Vec<usize> = (0..n)
            .filter(|&i| rows[i].filters.iter().all(|f| f.1.is_none()))
            .collect();
        let Some(max) = feasible.iter().map(|&i| rows[i].total).max() else {
            continue;
        };
        let tied: BTreeSet<usize> = feasible
            .iter()
            .copied()
            .filter(|&i| rows[i].total == max)
            .collect();
        tied_sets += usize::from(tied.len() > 1);
        let mut fast = KubeDefault::new();
        let chosen: BTreeSet<usize> = (0..400)
            .map(|_| fast.place(&request, &c.view(), &mut rng).unwrap().0 as usize)
            .collect();
        assert_eq!(chosen, tied, "{rows:?}");
    }
    assert!(tied_sets > 20, "{tied_sets}");
}

#[test]
fn ties_leave_out_the_services_nodes_of_a_bucket() {
    // Four identical nodes in one zone, each with one replica requesting nothing, so
    // every node has the same allocation and resource score (one bucket). Replicas of
    // service 0 (the one placed) raise a node's spread score and lower its total.
    let mut rng = stream(10, "fast-buckets");
    let none = Constraints::default();
    let request = Request {
        storage: crate::storage::PodStorage::NONE,
        service: ServiceId(0),
        resources: Resources::new(500, GI),
        constraints: &none,
    };
    // (service of each node's replica, expected winners, expected draw).
    let cases: [([u32; 4], &[usize], usize); 2] = [
        // One of four is the service's: ≤ half the bucket, rejection sampling among b, c, d.
        ([0, 1, 1, 1], &[1, 2, 3], 1),
        // Three of four: a scan finds d.
        ([0, 0, 0, 1], &[3], 2),
    ];
    for (services, winners, way) in cases {
        let nodes = ["a", "b", "c", "d"]
            .iter()
            .map(|x| crate::testing::node(x).cpu("4").mem("8Gi").status())
            .collect();
        let mut c = Cluster {
            snap: Snapshot::new(nodes),
            world: vec![],
            batch: vec![],
        };
        for (i, &s) in services.iter().enumerate() {
            c.bind_world(i, ServiceId(s), Resources::ZERO);
        }
        let mut fast = KubeDefault::new();
        let mut plain = kubernetes_default_sampled(Sampling::All);
        let chosen: BTreeSet<usize> = (0..300)
            .map(|_| check(&mut fast, &mut plain, &request, &c.view(), &mut rng).unwrap())
            .collect();
        assert_eq!(chosen, winners.iter().copied().collect());
        assert_eq!(fast.draws[way], 300, "{:?}", fast.draws);
    }
}

#[test]
fn batches_are_seen_bind_by_bind_and_refreshed_when_dropped() {
    // Two empty nodes; service 0's replicas go one per node in a batch (spread), and a
    // dropped batch leaves no trace: the next decision sees empty nodes again.
    let nodes = ["a", "b"]
        .iter()
        .map(|x| crate::testing::node(x).cpu("4").mem("8Gi").status())
        .collect();
    let mut c = Cluster {
        snap: Snapshot::new(nodes),
        world: vec![],
        batch: vec![],
    };
    let none = Constraints::default();
    let request = Request {
        storage: crate::storage::PodStorage::NONE,
        service: ServiceId(0),
        resources: Resources::new(100, 128 << 20),
        constraints: &none,
    };
    let mut fast = KubeDefault::new();
    let mut plain = kubernetes_default_sampled(Sampling::All);
    let mut rng = stream(11, "fast-batch");
    for _ in 0..5 {
        let first = check(&mut fast, &mut plain, &request, &c.view(), &mut rng).unwrap();
        c.bind_batch(first, request.service, request.resources);
        let second = check(&mut fast, &mut plain, &request, &c.view(), &mut rng).unwrap();
        assert_ne!(first, second, "the batch's first bind must count");
        c.bind_batch(second, request.service, request.resources);
        c.end_batch(false);
    }
    // Empty again: both nodes tie.
    let seen: BTreeSet<usize> = (0..100)
        .map(|_| check(&mut fast, &mut plain, &request, &c.view(), &mut rng).unwrap())
        .collect();
    assert_eq!(seen.len(), 2);
}

#[test]
fn configured_scoring_strategies_stay_exact() {
    // The fast path with a profile's own NodeResourcesFit strategy and resources gives the
    // plain profile's best total, for each strategy (random clusters, binds between decisions).
    use crate::model::ResourceName;
    use crate::sched::config::{SchedulerProfile, ScoringStrategy, ScoringStrategyType};
    let strategies = [
        ScoringStrategy {
            kind: ScoringStrategyType::MostAllocated,
            resources: vec![(ResourceName::Memory, 3), (ResourceName::Cpu, 1)],
            shape: vec![],
        },
        ScoringStrategy {
            kind: ScoringStrategyType::RequestedToCapacityRatio,
            resources: vec![(ResourceName::Cpu, 2), (ResourceName::Memory, 1)],
            shape: vec![(0, 0), (60, 10), (100, 4)],
        },
        ScoringStrategy {
            kind: ScoringStrategyType::LeastAllocated,
            resources: vec![(ResourceName::Cpu, 1)],
            shape: vec![],
        },
    ];
    let none = Constraints::default();
    let mut rng = stream(9, "fast-configured");
    for s in strategies {
        let mut profile = SchedulerProfile::kubernetes_default();
        profile.scoring_strategy = s;
        profile.balanced_resources = vec![ResourceName::Cpu];
        assert!(profile.fast_path_exact());
        let mut fast = KubeDefault::with_profile(&profile);
        for _cluster in 0..40 {
            let mut c = random_cluster(&mut rng, 30);
            let mut plain = profile.profile();
            for _ in 0..40 {
                let service = ServiceId(rng.random_range(0..3));
                let resources = shape(&mut rng);
                let request = Request {
                    storage: crate::storage::PodStorage::NONE,
                    service,
                    resources,
                    constraints: &none,
                };
                if let Some(i) = check(&mut fast, &mut plain, &request, &c.view(), &mut rng) {
                    c.bind_world(i, service, resources);
                }
            }
        }
    }
}
