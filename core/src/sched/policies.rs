//! Whole-placement policies and the named presets of real orchestrators.
//!
//! Key decision: a preset is a profile (filters + weighted scores) or a
//! direct placement rule, built by name from the registry; the presets
//! that are Kubernetes profiles are named values of one
//! [`SchedulerProfile`] (`super::config`), which a scenario's `[scheduler]`
//! fields override, and its doc
//! comment names the documentation it reproduces. What a preset cannot yet
//! reproduce (constraints Orkestra does not model yet) is stated there too.
//!
//! The presets, by registry name (`sim list policies`):
//! - here: `kubernetes-default`, `gke-optimize-utilization`,
//!   `least-allocated`, `most-allocated`, `nomad-binpack`, `nomad-spread`
//!   (profiles); `ecs-binpack`, `best-fit`, `worst-fit` ([`BestFit`]);
//!   `random` ([`RandomFit`]);
//! - [`super::swarm_spread`]: `swarm-spread` (Docker Swarm mode's default);
//! - [`super::swarm_binpack`]: `swarm-binpack` (classic Docker Swarm);
//! - [`super::ecs_spread`]: `ecs-spread` (ECS's service default, spread by
//!   zone) and `ecs-spread-binpack` (zone spread, then binpack on memory);
//! - [`super::tetris`]: `tetris` (Grandl et al., SIGCOMM 2014).
//!
//! The queue order of a batch, [`crate::placement::QueueOrder`], is chosen
//! apart from the placement policy; its DRF order lives in [`super::drf`].

use rand::{Rng, RngExt};

use super::config::SchedulerProfile;
pub use super::default_profile::kubernetes_default_sampled;
use super::fast::KubeDefault;
use super::hard::{HardFilters, hard_filters};
use super::plugins::NomadFit;
use super::{Profile, Sampling};
use crate::fit::Unschedulable;
use crate::model::{NodeId, NodeStatus, ResourceName, Resources};
use crate::placement::{ClusterView, NodeAlloc, Place, Request};

/// The `kubernetes-default` policy: [`kubernetes_default_sampled`] with
/// every node filtered and scored (`percentageOfNodesToScore: 100`),
/// answered from per-shape caches ([`KubeDefault`]), with the same totals;
/// the [`SchedulerProfile::kubernetes_default`] configuration.
pub fn kubernetes_default() -> KubeDefault {
    KubeDefault::new()
}

/// GKE's `optimize-utilization` autoscaling profile: Kubernetes' default
/// profile ([`kubernetes_default`], same filters, scores and weights, same
/// omissions) with NodeResourcesFit scoring by MostAllocated instead of
/// LeastAllocated, so the scheduler prefers nodes with high allocation and
/// the cluster autoscaler can remove the emptied ones (GKE docs, "Cluster
/// autoscaler: autoscaling profiles"); adaptive sampling. The
/// [`SchedulerProfile::gke_optimize_utilization`] configuration.
pub fn gke_optimize_utilization() -> Profile {
    SchedulerProfile::gke_optimize_utilization().profile()
}

/// Only NodeResourcesFit/LeastAllocated, every node scored; the
/// [`hard_filters`]. The [`SchedulerProfile::least_allocated`] configuration.
pub fn least_allocated() -> Profile {
    SchedulerProfile::least_allocated().profile()
}

/// Only NodeResourcesFit/MostAllocated, every node scored; the
/// [`hard_filters`]. The [`SchedulerProfile::most_allocated`] configuration.
pub fn most_allocated() -> Profile {
    SchedulerProfile::most_allocated().profile()
}

/// Nomad's default `binpack` scheduler algorithm (Nomad docs, "Scheduling:
/// scheduler algorithm"; score `ScoreFitBinPack`), with the
/// [`hard_filters`] standing in for Nomad's feasibility checks.
pub fn nomad_binpack() -> Profile {
    Profile::new(
        "nomad-binpack",
        hard_filters(),
        vec![(Box::new(NomadFit { spread: false }), 1)],
        Sampling::All,
    )
}

/// Nomad's `spread` scheduler algorithm (score `ScoreFitSpread`), with the
/// [`hard_filters`].
pub fn nomad_spread() -> Profile {
    Profile::new(
        "nomad-spread",
        hard_filters(),
        vec![(Box::new(NomadFit { spread: true }), 1)],
        Sampling::All,
    )
}

/// Best fit on one resource: the feasible node (one that passes the
/// [`hard_filters`]) left with the least of it, first in node order on
/// ties. With memory this is ECS's `binpack` placement strategy on memory
/// (AWS docs, "Amazon ECS task placement strategies": "tasks are placed on
/// container instances … that leave the least amount of unused memory").
#[derive(Debug)]
pub struct BestFit {
    /// The resource to pack on; `None` packs on the sum of normalised remainders.
    pub resource: Option<ResourceName>,
    /// Choose the node left with the *most* room instead (worst fit).
    pub worst: bool,
    /// Registry name.
    pub name: &'static str,
    hard: HardFilters,
}

impl BestFit {
    /// Best (or with `worst`, worst) fit on `resource`, called `name`.
    pub fn new(resource: Option<ResourceName>, worst: bool, name: &'static str) -> BestFit {
        BestFit {
            resource,
            worst,
            name,
            hard: HardFilters::default(),
        }
    }

    fn remainder(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> f64 {
        let left = |r: ResourceName| {
            node.spec.allocatable.get(r) as f64
                - alloc.requested.get(r) as f64
                - request.get(r) as f64
        };
        match self.resource {
            Some(r) => left(r),
            None => [ResourceName::Cpu, ResourceName::Memory]
                .into_iter()
                .map(|r| {
                    let cap = node.spec.allocatable.get(r) as f64;
                    if cap > 0.0 { left(r) / cap } else { 0.0 }
                })
                .sum(),
        }
    }
}

impl Place for BestFit {
    fn name(&self) -> &'static str {
        self.name
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        _rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        self.hard.prepare(request, view);
        let mut why = Unschedulable::default();
        let mut best: Option<(usize, f64)> = None;
        for (i, node) in view.nodes.iter().enumerate() {
            if let Err(r) = self.hard.check(request, view, i) {
                why.add(r);
                continue;
            }
            let rem = self.remainder(&request.resources, node, &view.allocs[i]);
            let better = match best {
                None => true,
                Some((_, b)) => {
                    if self.worst {
                        rem > b
                    } else {
                        rem < b
                    }
                }
            };
            if better {
                best = Some((i, rem));
            }
        }
        best.map(|(i, _)| NodeId(i as u32)).ok_or(why)
    }
}

/// A uniformly random feasible node, one that passes the [`hard_filters`]
/// (Swarm's and ECS's `random` strategies).
#[derive(Debug, Default)]
pub struct RandomFit {
    hard: HardFilters,
}

impl Place for RandomFit {
    fn name(&self) -> &'static str {
        "random"
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        self.hard.prepare(request, view);
        let mut why = Unschedulable::default();
        let mut chosen = None;
        let mut seen = 0u32;
        for i in 0..view.len() {
            match self.hard.check(request, view, i) {
                Ok(()) => {
                    seen += 1;
                    if rng.random_range(0..seen) == 0 {
                        chosen = Some(i);
                    }
                }
                Err(r) => why.add(r),
            }
        }
        chosen.map(|i| NodeId(i as u32)).ok_or(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::fits;
    use crate::placement::place_plain;
    use crate::rng::stream;
    use crate::testing::node;

    fn nodes() -> (Vec<NodeStatus>, Vec<NodeAlloc>) {
        // a: 4 cpu / 8Gi with 3 cpu / 1Gi used; b: 4 cpu / 8Gi empty; c: 2 cpu / 2Gi empty.
        let n = vec![
            node("a").cpu("4").mem("8Gi").status(),
            node("b").cpu("4").mem("8Gi").status(),
            node("c").cpu("2").mem("2Gi").status(),
        ];
        let mut a = vec![NodeAlloc::default(); 3];
        a[0].add(Resources::new(3000, 1 << 30));
        (n, a)
    }

    #[test]
    fn presets_choose_as_their_systems_document() {
        let (n, a) = nodes();
        let req = Resources::new(500, 512 << 20);
        let mut rng = stream(1, "t");
        let pick = |p: &mut dyn Place, rng: &mut crate::rng::StreamRng| {
            place_plain(p, &req, &n, &a, rng).unwrap().0
        };
        // Least allocated spreads to an empty big node: b. Scores: a cpu (4000−3600)·100/4000 = 10,
        // mem (8192−1536)/8192 → 81 → 45; b cpu 87, mem 93 → 90; c cpu 75, mem 75 → 75 → b.
        assert_eq!(pick(&mut least_allocated(), &mut rng), 1);
        // Most allocated packs onto a: cpu 90, mem 18 → 54 vs b 12, 6 → 9 vs c 25, 25 → 25.
        assert_eq!(pick(&mut most_allocated(), &mut rng), 0);
        // ECS binpack on memory: least memory left: a 8Gi−1.5Gi = 6.5Gi, b 7.5Gi, c 1.5Gi → c.
        assert_eq!(
            pick(
                &mut BestFit::new(Some(ResourceName::Memory), false, "ecs-binpack"),
                &mut rng
            ),
            2
        );
        // Worst fit (sum of normalised remainders): b (0.875 + 0.9375) beats a and c → b.
        assert_eq!(
            pick(&mut BestFit::new(None, true, "worst-fit"), &mut rng),
            1
        );
        // Nomad binpack prefers the fullest feasible node: a (free cpu 0.1, mem 0.81).
        assert_eq!(pick(&mut nomad_binpack(), &mut rng), 0);
        assert_eq!(pick(&mut nomad_spread(), &mut rng), 1);
    }

    #[test]
    fn kubernetes_default_breaks_ties_at_random_among_equals() {
        // Three identical empty nodes: every node scores the same; over 3000 picks each wins ~1000
        // (binomial sd √(3000·⅓·⅔) = 26; allow 5 sd).
        let n: Vec<NodeStatus> = ["a", "b", "c"]
            .iter()
            .map(|x| node(x).cpu("4").mem("8Gi").status())
            .collect();
        let a = vec![NodeAlloc::default(); 3];
        let mut p = kubernetes_default();
        let mut rng = stream(2, "t");
        let mut wins = [0u32; 3];
        for _ in 0..3000 {
            wins[place_plain(&mut p, &Resources::new(100, 1 << 20), &n, &a, &mut rng)
                .unwrap()
                .0 as usize] += 1;
        }
        assert!(
            wins.iter().all(|&w| (w as i64 - 1000).abs() < 130),
            "{wins:?}"
        );
    }

    #[test]
    fn no_policy_ever_overcommits_a_node() {
        // Property, for every registered policy: on random clusters (zones, GPUs, nodes not
        // ready, replicas of several services bound, binds earlier in the batch) and random
        // requests, a chosen node is ready and fits; and a policy fails only when no node fits.
        use crate::model::ServiceId;
        use crate::placement::{NO_CONSTRAINTS, Snapshot};
        use crate::registry::PLACERS;
        let mut rng = stream(3, "prop");
        for e in PLACERS {
            let mut p = (e.make)();
            for _ in 0..200 {
                let k = 1 + (rng.next_u32() % 6) as usize;
                let n: Vec<NodeStatus> = (0..k)
                    .map(|i| {
                        let mut s = node(&format!("n{i}"))
                            .zone(["z0", "z1", "z2"][rng.next_u32() as usize % 3])
                            .status();
                        s.spec_mut().allocatable = Resources::new(
                            u64::from(rng.next_u32() % 8000),
                            u64::from(rng.next_u32() % (8 << 20)),
                        )
                        .with_gpu(u64::from(rng.next_u32() % 3) * 500);
                        s.ready = !rng.next_u32().is_multiple_of(8);
                        let a = s.spec.allocatable;
                        let used = Resources::new(a.cpu_milli / 2, a.memory_bytes / 3)
                            .with_gpu(a.gpu_milli / 2);
                        s.add(ServiceId(rng.next_u32() % 3), used);
                        for _ in 0..rng.next_u32() % 3 {
                            s.add(ServiceId(rng.next_u32() % 3), Resources::ZERO);
                        }
                        s
                    })
                    .collect();
                let mut snap = Snapshot::new(n);
                let small = Resources::new(100, 1 << 10);
                for _ in 0..rng.next_u32() % 3 {
                    let i = rng.next_u32() as usize % k;
                    if fits(&small, &snap.nodes[i], &snap.allocs[i]).is_ok() {
                        snap.allocs[i].add(small);
                        snap.batch
                            .bind(NodeId(i as u32), ServiceId(rng.next_u32() % 3));
                    }
                }
                let request = Request {
                    storage: crate::storage::PodStorage::NONE,
                    service: ServiceId(rng.next_u32() % 4),
                    resources: Resources::new(
                        u64::from(rng.next_u32() % 4000),
                        u64::from(rng.next_u32() % (4 << 20)),
                    )
                    .with_gpu(u64::from(rng.next_u32() % 4 / 3) * 500),
                    constraints: &NO_CONSTRAINTS,
                };
                let feasible = (0..k)
                    .filter(|&i| fits(&request.resources, &snap.nodes[i], &snap.allocs[i]).is_ok())
                    .count();
                match p.place(&request, &snap.view(), &mut rng) {
                    Ok(id) => {
                        let i = id.0 as usize;
                        assert!(snap.nodes[i].ready, "{} chose a node not ready", e.name);
                        assert!(
                            request
                                .resources
                                .first_shortfall(
                                    &snap.allocs[i].requested,
                                    &snap.nodes[i].spec.allocatable
                                )
                                .is_none(),
                            "{} overcommitted",
                            e.name
                        );
                    }
                    Err(why) => {
                        assert_eq!(
                            feasible, 0,
                            "{} failed with {feasible} feasible nodes",
                            e.name
                        );
                        assert_eq!(why.nodes as usize, k, "{}: {why}", e.name);
                    }
                }
            }
        }
    }
}
