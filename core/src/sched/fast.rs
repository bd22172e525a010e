//! `kubernetes-default` at scale: Kubernetes' default profile with every
//! node filtered and scored, answered from caches instead of a per-node walk.
//!
//! Key decision: the total of a feasible node is
//! `T = R + 2·P`, where `R` = NodeResourcesFit's score (LeastAllocated by
//! default; the profile's scoring strategy) + BalancedAllocation (0..=200)
//! depends only on the request's shape and the node, and `P` is
//! PodTopologySpread's normalised score with the system default
//! constraints (`spread.rs`). So the policy keeps, per request shape (the
//! requests; the non-zero requests follow from them), each node's
//! feasibility and `R`, and buckets of feasible nodes per (node class,
//! `R`), where a class is (zone domain, has hostname label, has zone
//! label). Every bucket has O(1) swap-remove position indices and a
//! bitmap of non-empty levels per class, so a changed node moves in O(1)
//! and the top level is a few bit operations away. Shapes are kept
//! current from [`ChangeLog::since`](crate::model::ChangeLog::since)
//! (world changes) and [`Batch`](crate::placement::Batch) (this batch's
//! binds; when the batch id changes, the nodes the previous batch touched
//! are refreshed too) and rebuilt when the epoch or node count changes or
//! the log was cut; at most [`SHAPES`] shapes are kept, least recently
//! used dropped. Per service the policy keeps the nodes holding its
//! replicas (with counts, batch binds included) and its replicas per zone
//! (`world.rs`; the per-shape part is `shape.rs`).
//!
//! Why the argmax is exact. Let `S` be the feasible nodes. Upstream's raw
//! spread score of a node is
//! `round([host]·(c·ln(|S|+2) + 2) + [zone]·(Z[z]·ln(|D|+2) + 4))`, with
//! `c` the service's replicas on the node, `Z[z]` those in its zone and
//! `D` the zones of `S` (`""` for a node without the label). Every feasible
//! node with `c = 0` in class `k` has the same raw score `raw₀(k)`, hence
//! the same `P`; the best of them is any node of the highest non-empty
//! level of class `k` once the service's nodes are taken out. The service's
//! own nodes (few) are evaluated one by one. The normalisation's minimum
//! and maximum over `S` are therefore the extremes of `raw₀(k)` over the
//! classes that still have a `c = 0` feasible node and of the service's
//! feasible nodes' raw scores. `P` is computed with the same functions as
//! the plugin (`score_for_count`, `topology_normalizing_weight`,
//! `normalized_score`) and `R` by calling the plugins themselves, so the
//! integers are identical; the differential test checks it on random
//! clusters against [`Profile::explain`].
//!
//! Ties are broken uniformly at random among every node with the maximum
//! total, as kube-scheduler's `selectHost` does: a class group counts its
//! nodes minus the service's nodes in its bucket, one draw picks a group
//! by size and a second draw picks within it (rejection sampling when the
//! service's nodes are at most half the bucket, else a scan). The draws
//! differ from the plain profile's reservoir sampling, so the same seed
//! can pick a different node among equals.
//!
//! Not covered, delegated to the plain profile
//! ([`SchedulerProfile::profile`] of the profile it was built for): replicas with a node
//! selector, node affinity (required or preferred), tolerations,
//! anti-affinity or their own spread constraints; clusters where any node
//! has a taint; decisions with no feasible node (for the per-node
//! reasons). `explain` is the plain profile's. The caches assume that
//! every change to a node (status, labels, taints) is recorded in the
//! change log, as [`crate::model::ObservedCluster`]'s mutators do.

use rand::{Rng, RngExt};

use shape::{LEVELS, Shape};
use world::World;

use super::Profile;
use super::config::SchedulerProfile;
use super::plugins::{BalancedAllocation, FitScore};
use super::spread::{
    SYSTEM_DEFAULT_HOSTNAME_SKEW, SYSTEM_DEFAULT_ZONE_SKEW, normalized_score, round_half_away,
    score_for_count, topology_normalizing_weight,
};
use crate::fit::Unschedulable;
use crate::model::{Constraints, NodeId, Resources, ServiceId};
use crate::placement::{ClusterView, NodeVerdict, Place, Request};

/// Request shapes cached at most.
pub const SHAPES: usize = 32;
/// Weight of PodTopologySpread in the default profile.
const SPREAD_WEIGHT: i64 = 2;
/// What the default profile's other plugins add to every node's total on the
/// fast path, where no node has a taint and the replica declares no
/// preferences: TaintToleration normalises all-zero counts to 100 (weight 3,
/// `DefaultNormalizeScore` with reverse); NodeAffinity and InterPodAffinity
/// skip replicas without preferred terms (0). A constant moves no argmax.
#[cfg(test)]
const CONSTANT_SCORES: i64 = 3 * 100;
/// Replica counts per node whose raw spread score is memoised per class.
const MEMO_COUNTS: usize = 8;

/// The resource part `R` of a node's total: NodeResourcesFit's score with
/// the profile's strategy plus BalancedAllocation's, each 0..=100.
#[derive(Clone, Debug)]
pub(super) struct ResourceScores {
    pub(super) fit: FitScore,
    pub(super) balanced: BalancedAllocation,
}

/// A group of nodes with the best total.
#[derive(Clone, Copy, Debug)]
enum Group {
    /// The nodes of one bucket without replicas of the service.
    Bucket { class: u32, level: u8, size: u32 },
    /// One node holding replicas of the service.
    Node(u32),
}

/// Kubernetes' default profile with every node scored, from caches; see
/// the module documentation for what is covered and why it is exact.
pub struct KubeDefault {
    name: &'static str,
    fallback: Profile,
    resources: ResourceScores,
    world: World,
    shapes: Vec<Shape>,
    tick: u64,
    dirty: Vec<u32>,
    class_members: Vec<u32>,
    class_raw: Vec<i64>,
    raw_memo: Vec<i64>,
    bucket_members: Vec<u32>,
    touched: Vec<usize>,
    members: Vec<(u32, u8, i64)>,
    groups: Vec<Group>,
    #[cfg(test)]
    last_total: Option<i64>,
    #[cfg(test)]
    draws: [u32; 3],
}

impl Default for KubeDefault {
    fn default() -> KubeDefault {
        KubeDefault::new()
    }
}

impl std::fmt::Debug for KubeDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeDefault")
            .field("shapes", &self.shapes.len())
            .finish_non_exhaustive()
    }
}

impl KubeDefault {
    /// An empty cache for `kubernetes-default`; the first decision builds it.
    pub fn new() -> KubeDefault {
        KubeDefault::with_profile(&SchedulerProfile::kubernetes_default())
    }

    /// An empty cache for `profile`, whose NodeResourcesFit scoring strategy
    /// and BalancedAllocation resources it scores with. Exact only when
    /// [`SchedulerProfile::fast_path_exact`] holds (the filters, weights and
    /// sampling the fast path assumes); the plain profile it falls back to
    /// is `profile`'s own.
    pub fn with_profile(profile: &SchedulerProfile) -> KubeDefault {
        KubeDefault {
            name: profile.name,
            fallback: profile.profile(),
            resources: ResourceScores {
                fit: profile.scoring_strategy.plugin(),
                balanced: profile.balanced(),
            },
            world: World::default(),
            shapes: Vec::new(),
            tick: 0,
            dirty: Vec::new(),
            class_members: Vec::new(),
            class_raw: Vec::new(),
            raw_memo: Vec::new(),
            bucket_members: Vec::new(),
            touched: Vec::new(),
            members: Vec::new(),
            groups: Vec::new(),
            #[cfg(test)]
            last_total: None,
            #[cfg(test)]
            draws: [0; 3],
        }
    }

    /// Whether the fast path covers a replica with these constraints.
    fn covers(c: &Constraints) -> bool {
        c.node_selector.is_empty()
            && c.required_terms.is_empty()
            && c.preferred_terms.is_empty()
            && c.tolerations.is_empty()
            && c.spread.is_empty()
            && c.anti_affinity.is_none()
            && c.pod_affinity.is_none()
            && !c.batch
    }

    /// The cached shape for `requests`, synced to `view`.
    fn shape(&mut self, requests: Resources, view: &ClusterView<'_>) -> usize {
        self.tick += 1;
        let k = match self.shapes.iter().position(|s| s.requests == requests) {
            Some(k) => k,
            None if self.shapes.len() < SHAPES => {
                self.shapes.push(Shape::new(requests));
                self.shapes.len() - 1
            }
            None => {
                let k = (0..self.shapes.len())
                    .min_by_key(|&k| self.shapes[k].last_used)
                    .unwrap_or(0);
                self.shapes[k] = Shape::new(requests);
                k
            }
        };
        self.shapes[k].sync(view, &self.world, &self.resources, &mut self.dirty);
        self.shapes[k].last_used = self.tick;
        k
    }

    /// The best nodes' groups and their total size, or `None` without a feasible node.
    fn best(&mut self, service: ServiceId, k: usize) -> Option<(i64, u32)> {
        let (world, shape) = (&self.world, &self.shapes[k]);
        if shape.feasible == 0 {
            return None;
        }
        let classes = world.class.len();
        let w_host = topology_normalizing_weight(shape.feasible as usize);
        let w_zone = topology_normalizing_weight(shape.domains as usize);
        let index = world.service(service);
        let zone = |d: u32| index.map_or(0, |x| x.zone(d));
        // `Score` of the spread plugin for a node of `class` with `c` replicas.
        let raw = |class: u32, c: u32| -> i64 {
            let k = world.class[class as usize];
            let mut score = 0f64;
            if k.hostname {
                score += score_for_count(i64::from(c), SYSTEM_DEFAULT_HOSTNAME_SKEW, w_host);
            }
            if k.zone {
                score += score_for_count(zone(k.domain), SYSTEM_DEFAULT_ZONE_SKEW, w_zone);
            }
            round_half_away(score)
        };
        // Nodes of one class with the same count share their raw score.
        self.raw_memo.clear();
        self.raw_memo.resize(classes * MEMO_COUNTS, i64::MIN);
        let memo = &mut self.raw_memo;
        let mut raw_memo = |class: u32, c: u32| -> i64 {
            if c as usize >= MEMO_COUNTS {
                return raw(class, c);
            }
            let m = &mut memo[class as usize * MEMO_COUNTS + c as usize];
            if *m == i64::MIN {
                *m = raw(class, c);
            }
            *m
        };
        self.class_members.clear();
        self.class_members.resize(classes, 0);
        self.class_raw.resize(classes, 0);
        self.bucket_members.resize(classes * LEVELS, 0);
        self.members.clear();
        let (mut min, mut max) = (i64::MAX, 0i64);
        for &(node, c) in index.map_or(&[][..], |x| &x.members) {
            let slot = shape.slots[node as usize];
            if !slot.feasible {
                continue;
            }
            let r = raw_memo(slot.class, c);
            (min, max) = (min.min(r), max.max(r));
            self.class_members[slot.class as usize] += 1;
            let b = slot.class as usize * LEVELS + slot.score as usize;
            if self.bucket_members[b] == 0 {
                self.touched.push(b);
            }
            self.bucket_members[b] += 1;
            self.members.push((node, slot.score, r));
        }
        for class in 0..classes {
            if shape.class_feasible[class] > self.class_members[class] {
                let r = raw_memo(class as u32, 0);
                self.class_raw[class] = r;
                (min, max) = (min.min(r), max.max(r));
            }
        }
        let total =
            |level: u8, r: i64| i64::from(level) + SPREAD_WEIGHT * normalized_score(r, min, max);
        let (mut best, mut size) = (i64::MIN, 0u32);
        self.groups.clear();
        let mut offer = |groups: &mut Vec<Group>, t: i64, g: Group, n: u32| {
            if t > best {
                (best, size) = (t, 0);
                groups.clear();
            }
            if t == best {
                groups.push(g);
                size += n;
            }
        };
        for class in 0..classes {
            if shape.class_feasible[class] <= self.class_members[class] {
                continue;
            }
            // The highest level with a node outside the service.
            let mut level = shape.level_at_or_below(class as u32, LEVELS - 1);
            while let Some(l) = level {
                let b = class * LEVELS + l;
                let outside = shape.buckets[b].len() as u32 - self.bucket_members[b];
                if outside > 0 {
                    let g = Group::Bucket {
                        class: class as u32,
                        level: l as u8,
                        size: outside,
                    };
                    offer(
                        &mut self.groups,
                        total(l as u8, self.class_raw[class]),
                        g,
                        outside,
                    );
                    break;
                }
                level = l
                    .checked_sub(1)
                    .and_then(|l| shape.level_at_or_below(class as u32, l));
            }
        }
        for &(node, level, r) in &self.members {
            offer(&mut self.groups, total(level, r), Group::Node(node), 1);
        }
        Some((best, size))
    }

    /// A uniformly random node of the best groups (`size` nodes in all),
    /// and how it was drawn (0 direct, 1 rejection, 2 scan).
    fn draw(&self, service: ServiceId, k: usize, size: u32, rng: &mut dyn Rng) -> (u32, usize) {
        let mut r = rng.random_range(0..size);
        let shape = &self.shapes[k];
        let index = self.world.service(service);
        for &g in &self.groups {
            match g {
                Group::Node(node) if r == 0 => return (node, 0),
                Group::Node(_) => r -= 1,
                Group::Bucket { size: n, .. } if r >= n => r -= n,
                Group::Bucket {
                    class,
                    level,
                    size: n,
                } => {
                    let bucket = &shape.buckets[class as usize * LEVELS + level as usize];
                    let inside = bucket.len() as u32 - n;
                    let outside = |x: &&u32| index.is_none_or(|s| !s.has(**x));
                    if inside == 0 {
                        return (bucket[r as usize], 0);
                    }
                    if 2 * inside <= bucket.len() as u32 {
                        // At least half the bucket qualifies: expected ≤ 2 tries.
                        loop {
                            let x = &bucket[rng.random_range(0..bucket.len())];
                            if outside(&x) {
                                return (*x, 1);
                            }
                        }
                    }
                    let x = bucket.iter().filter(outside).nth(r as usize);
                    return (*x.expect("r < size"), 2);
                }
            }
        }
        unreachable!("the groups hold `size` nodes")
    }
}

impl Place for KubeDefault {
    fn name(&self) -> &'static str {
        self.name
    }

    /// The default profile's PostFilter is DefaultPreemption.
    fn preempts(&self) -> bool {
        true
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        #[cfg(test)]
        {
            self.last_total = None;
        }
        if !KubeDefault::covers(request.constraints) || request.storage.has_volume_plugin_input() {
            return self.fallback.place(request, view, rng);
        }
        self.world.sync(view, &mut self.dirty);
        if self.world.tainted_nodes > 0 {
            return self.fallback.place(request, view, rng);
        }
        let k = self.shape(request.resources, view);
        let best = self.best(request.service, k);
        for b in self.touched.drain(..) {
            self.bucket_members[b] = 0;
        }
        let Some((_total, size)) = best else {
            // No feasible node: the plain profile gives every node's reason.
            return self.fallback.place(request, view, rng);
        };
        let (node, _way) = self.draw(request.service, k, size, rng);
        #[cfg(test)]
        {
            self.last_total = Some(_total + CONSTANT_SCORES);
            self.draws[_way] += 1;
        }
        Ok(NodeId(node))
    }

    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        self.fallback.explain(request, view)
    }
}

mod shape;
#[cfg(test)]
mod tests;
mod world;
