//! Whole-placement policies and the named presets of real orchestrators.
//!
//! Key decision: a preset is a profile (filters + weighted scores) or a
//! direct placement rule, built by name from the registry, and its doc
//! comment names the documentation it reproduces. What a preset cannot yet
//! reproduce (constraints Orkestra does not model yet) is stated there too.

use rand::{Rng, RngExt};

use super::fast::KubeDefault;
use super::plugins::{
    BalancedAllocation, LeastAllocated, MostAllocated, NodeResourcesFit, NomadFit,
};
use super::spread::PodTopologySpread;
use super::{Profile, Sampling};
use crate::model::{NodeId, NodeStatus, ResourceName, Resources};
use crate::placement::{ClusterView, NodeAlloc, Place, Request, Unschedulable, fits};

/// The `kubernetes-default` policy: [`kubernetes_default_sampled`] with
/// every node filtered and scored (`percentageOfNodesToScore: 100`),
/// answered from per-shape caches ([`KubeDefault`]), with the same totals.
pub fn kubernetes_default() -> KubeDefault {
    KubeDefault::new()
}

/// Kubernetes' default profile (kubernetes.io "Scheduler Configuration",
/// default plugins; `pkg/scheduler/apis/config/v1/default_plugins.go`):
/// filters NodeResourcesFit and PodTopologySpread; scores NodeResourcesFit
/// with LeastAllocated (cpu 1, memory 1) weight 1,
/// NodeResourcesBalancedAllocation weight 1 and PodTopologySpread (the
/// system default constraints for replicas that declare none) weight 2.
/// The other default plugins (TaintToleration, NodeAffinity,
/// InterPodAffinity, ImageLocality, VolumeBinding) are not included.
///
/// `percentageOfNodesToScore` is `sampling`; with [`Sampling::All`] this is
/// the plain per-node path, every node filtered and scored (the
/// baseline of the scheduling benchmarks).
pub fn kubernetes_default_sampled(sampling: Sampling) -> Profile {
    Profile::new(
        "kubernetes-default",
        vec![
            Box::new(NodeResourcesFit),
            Box::new(PodTopologySpread::default()),
        ],
        vec![
            (Box::new(LeastAllocated::default()), 1),
            (Box::new(BalancedAllocation), 1),
            (Box::new(PodTopologySpread::default()), 2),
        ],
        sampling,
    )
}

/// GKE's `optimize-utilization` autoscaling profile: the scheduler prefers
/// nodes with high allocation (NodeResourcesFit scoring with MostAllocated),
/// so that the cluster autoscaler can remove the emptied ones (GKE docs,
/// "Cluster autoscaler: autoscaling profiles"); the other plugins as in
/// Kubernetes' default profile (PodTopologySpread filter, and score weight 2).
pub fn gke_optimize_utilization() -> Profile {
    Profile::new(
        "gke-optimize-utilization",
        vec![
            Box::new(NodeResourcesFit),
            Box::new(PodTopologySpread::default()),
        ],
        vec![
            (Box::new(MostAllocated::default()), 1),
            (Box::new(BalancedAllocation), 1),
            (Box::new(PodTopologySpread::default()), 2),
        ],
        Sampling::Adaptive,
    )
}

/// Only NodeResourcesFit/LeastAllocated, every node scored.
pub fn least_allocated() -> Profile {
    Profile::new(
        "least-allocated",
        vec![Box::new(NodeResourcesFit)],
        vec![(Box::new(LeastAllocated::default()), 1)],
        Sampling::All,
    )
}

/// Only NodeResourcesFit/MostAllocated, every node scored.
pub fn most_allocated() -> Profile {
    Profile::new(
        "most-allocated",
        vec![Box::new(NodeResourcesFit)],
        vec![(Box::new(MostAllocated::default()), 1)],
        Sampling::All,
    )
}

/// Nomad's default `binpack` scheduler algorithm (Nomad docs, "Scheduling:
/// scheduler algorithm"; score `ScoreFitBinPack`).
pub fn nomad_binpack() -> Profile {
    Profile::new(
        "nomad-binpack",
        vec![Box::new(NodeResourcesFit)],
        vec![(Box::new(NomadFit { spread: false }), 1)],
        Sampling::All,
    )
}

/// Nomad's `spread` scheduler algorithm (score `ScoreFitSpread`).
pub fn nomad_spread() -> Profile {
    Profile::new(
        "nomad-spread",
        vec![Box::new(NodeResourcesFit)],
        vec![(Box::new(NomadFit { spread: true }), 1)],
        Sampling::All,
    )
}

/// Best fit on one resource: the feasible node left with the least of it,
/// first in node order on ties. With memory this is ECS's `binpack` placement
/// strategy on memory (AWS docs, "Amazon ECS task placement strategies":
/// "tasks are placed on container instances … that leave the least amount of
/// unused memory").
#[derive(Clone, Copy, Debug)]
pub struct BestFit {
    /// The resource to pack on; `None` packs on the sum of normalised remainders.
    pub resource: Option<ResourceName>,
    /// Choose the node left with the *most* room instead (worst fit).
    pub worst: bool,
    /// Registry name.
    pub name: &'static str,
}

impl BestFit {
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
        let (request, allocated) = (&request.resources, view.allocs);
        let mut why = Unschedulable::default();
        let mut best: Option<(usize, f64)> = None;
        for (i, node) in view.nodes.iter().enumerate() {
            if let Err(r) = fits(request, node, &allocated[i]) {
                why.add(r);
                continue;
            }
            let rem = self.remainder(request, node, &allocated[i]);
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

/// A uniformly random feasible node (Swarm's and ECS's `random` strategies).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomFit;

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
        let (request, allocated) = (&request.resources, view.allocs);
        let mut why = Unschedulable::default();
        let mut chosen = None;
        let mut seen = 0u32;
        for (i, node) in view.nodes.iter().enumerate() {
            match fits(request, node, &allocated[i]) {
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
                &mut BestFit {
                    resource: Some(ResourceName::Memory),
                    worst: false,
                    name: "ecs-binpack"
                },
                &mut rng
            ),
            2
        );
        // Worst fit (sum of normalised remainders): b (0.875 + 0.9375) beats a and c → b.
        assert_eq!(
            pick(
                &mut BestFit {
                    resource: None,
                    worst: true,
                    name: "worst-fit"
                },
                &mut rng
            ),
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
        // Property: random clusters and requests; whatever a policy returns fits.
        use crate::registry::PLACERS;
        let mut rng = stream(3, "prop");
        for e in PLACERS {
            let mut p = (e.make)();
            for _ in 0..200 {
                let k = 1 + (rng.next_u32() % 6) as usize;
                let n: Vec<NodeStatus> = (0..k)
                    .map(|i| {
                        let mut s = node(&format!("n{i}")).status();
                        s.spec.allocatable = Resources::new(
                            u64::from(rng.next_u32() % 8000),
                            u64::from(rng.next_u32() % (8 << 20)),
                        );
                        s
                    })
                    .collect();
                let a: Vec<NodeAlloc> = n
                    .iter()
                    .map(|s| {
                        let mut x = NodeAlloc::default();
                        x.add(Resources::new(
                            s.spec.allocatable.cpu_milli / 2,
                            s.spec.allocatable.memory_bytes / 3,
                        ));
                        x
                    })
                    .collect();
                let req = Resources::new(
                    u64::from(rng.next_u32() % 4000),
                    u64::from(rng.next_u32() % (4 << 20)),
                );
                if let Ok(id) = place_plain(p.as_mut(), &req, &n, &a, &mut rng) {
                    let i = id.0 as usize;
                    assert!(
                        req.first_shortfall(&a[i].requested, &n[i].spec.allocatable)
                            .is_none(),
                        "{} overcommitted",
                        e.name
                    );
                }
            }
        }
    }
}
