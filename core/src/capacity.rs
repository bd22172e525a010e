//! Cluster capacity accounting: allocated fractions, nodes in use, stranded
//! capacity and a lower bound on the nodes the bound requests need.
//!
//! Key decision: everything is updated when one node's allocation changes,
//! in time independent of the number of nodes (O(shapes) for stranding,
//! O(log nodes) for the bound), and integrated exactly over simulated time,
//! so a world reports time-weighted means without scanning the cluster per
//! event or trusting samples.
//!
//! **Stranded capacity.** Let the *shapes* be the distinct requests of the
//! scenario (every service's and every job shape's, known when the scenario
//! loads). A node is *blocked* when no shape fits in its free allocatable
//! (allocatable − allocated) in every resource at once; only the shapes
//! that no other shape undercuts in every resource need checking. The
//! stranded amount of a resource is the free amount of that resource summed
//! over blocked nodes, reported as a fraction of the cluster's allocatable:
//! capacity that is free but that no replica or job of the scenario can
//! use, typically CPU or memory left on a node whose GPUs (or memory) are
//! gone. A node too small for every shape even when empty counts as
//! blocked; a scenario with a shape that requests nothing strands nothing.
//!
//! **Packing lower bound and gap.** For each resource, the fewest nodes,
//! taken largest allocatable first, whose allocatable sums to the total
//! bound requests ([`HeterogeneousL1`]; on identical nodes it is L1 =
//! ⌈Σ requests ÷ allocatable⌉); the bound is the largest over cpu, memory
//! and GPU. Nodes in use (holding at least one replica) can never be fewer.
//! The packing gap is (in use − bound) ÷ bound, time-weighted over the time
//! the bound is positive. L2 is not used: it needs every item's size per
//! evaluation, which is a scan per event.

use crate::metrics::Integral;
use crate::model::{NodeStatus, ResourceName, Resources};
use crate::packing::HeterogeneousL1;
use crate::results::ClusterSummary;
use crate::time::SimTime;

const RESOURCES: [ResourceName; 3] = [ResourceName::Cpu, ResourceName::Memory, ResourceName::Gpu];

/// Instantaneous values, for timeseries rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CapacitySample {
    /// Allocated ÷ allocatable: cpu, memory, gpu (0 when the cluster has none).
    pub allocated: [f64; 3],
    /// Stranded ÷ allocatable: cpu, memory, gpu.
    pub stranded: [f64; 3],
    /// Nodes holding at least one replica.
    pub nodes_in_use: u32,
    /// Lower bound on the nodes the bound requests need.
    pub nodes_lower_bound: u64,
}

/// The cluster's capacity state, kept incrementally.
#[derive(Clone, Debug)]
pub struct Capacity {
    allocatable: Resources,
    allocated: Resources,
    in_use: u32,
    shapes: Vec<Resources>,
    node_stranded: Vec<Resources>,
    stranded: Resources,
    bounds: [HeterogeneousL1; 3],
    lower_bound: u64,
    allocated_t: [Integral; 3],
    stranded_t: [Integral; 3],
    in_use_t: Integral,
    bound_t: Integral,
    gap_t: Integral,
    gap_time: Integral,
}

/// `a ÷ b`, 0 when `b` is 0.
fn frac(a: u64, b: u64) -> f64 {
    if b > 0 { a as f64 / b as f64 } else { 0.0 }
}

/// The shapes no other shape undercuts in every resource, deduplicated.
fn minimal(shapes: impl IntoIterator<Item = Resources>) -> Vec<Resources> {
    let mut all: Vec<Resources> = shapes.into_iter().collect();
    all.sort_by_key(|r| (r.cpu_milli, r.memory_bytes, r.gpu_milli));
    all.dedup();
    let within = |a: &Resources, b: &Resources| {
        a.cpu_milli <= b.cpu_milli && a.memory_bytes <= b.memory_bytes && a.gpu_milli <= b.gpu_milli
    };
    all.iter()
        .filter(|s| !all.iter().any(|t| t != *s && within(t, s)))
        .copied()
        .collect()
}

impl Capacity {
    /// Tracks `nodes` (with their current allocations) for a workload whose
    /// request shapes are `shapes`.
    pub fn new(nodes: &[NodeStatus], shapes: impl IntoIterator<Item = Resources>) -> Capacity {
        let bounds = RESOURCES.map(|r| {
            let caps: Vec<u64> = nodes.iter().map(|n| n.spec.allocatable.get(r)).collect();
            HeterogeneousL1::new(&caps)
        });
        let mut c = Capacity {
            allocatable: Resources::ZERO,
            allocated: Resources::ZERO,
            in_use: 0,
            shapes: minimal(shapes),
            node_stranded: vec![Resources::ZERO; nodes.len()],
            stranded: Resources::ZERO,
            bounds,
            lower_bound: 0,
            allocated_t: Default::default(),
            stranded_t: Default::default(),
            in_use_t: Integral::default(),
            bound_t: Integral::default(),
            gap_t: Integral::default(),
            gap_time: Integral::default(),
        };
        for (i, n) in nodes.iter().enumerate() {
            c.allocatable += n.spec.allocatable;
            c.allocated += n.allocated;
            if n.replicas > 0 {
                c.in_use += 1;
            }
            c.node_stranded[i] = c.stranded_on(n);
            c.stranded += c.node_stranded[i];
        }
        c.record(SimTime::ZERO);
        c
    }

    /// The free resources of `n` if no shape fits them, else nothing.
    fn stranded_on(&self, n: &NodeStatus) -> Resources {
        let a = &n.spec.allocatable;
        let free = Resources::new(
            a.cpu_milli.saturating_sub(n.allocated.cpu_milli),
            a.memory_bytes.saturating_sub(n.allocated.memory_bytes),
        )
        .with_gpu(a.gpu_milli.saturating_sub(n.allocated.gpu_milli));
        let fits = |s: &Resources| {
            s.cpu_milli <= free.cpu_milli
                && s.memory_bytes <= free.memory_bytes
                && s.gpu_milli <= free.gpu_milli
        };
        if self.shapes.is_empty() || self.shapes.iter().any(fits) {
            Resources::ZERO
        } else {
            free
        }
    }

    /// Node `i`, now `node`, gained (`added`) or lost a replica requesting `requests` at `now`.
    pub fn node_changed(
        &mut self,
        now: SimTime,
        i: usize,
        node: &NodeStatus,
        requests: Resources,
        added: bool,
    ) {
        if added {
            self.allocated += requests;
            if node.replicas == 1 {
                self.in_use += 1;
            }
        } else {
            self.allocated -= requests;
            if node.replicas == 0 {
                self.in_use -= 1;
            }
        }
        let s = self.stranded_on(node);
        self.stranded -= self.node_stranded[i];
        self.stranded += s;
        self.node_stranded[i] = s;
        self.record(now);
    }

    /// Node `i`, `node`, joins the cluster at `now` (a scale-up): its
    /// allocatable counts from now on. `i` is the next node index.
    pub fn add_node(&mut self, now: SimTime, i: usize, node: &NodeStatus) {
        debug_assert_eq!(i, self.node_stranded.len());
        self.allocatable += node.spec.allocatable;
        self.allocated += node.allocated;
        if node.replicas > 0 {
            self.in_use += 1;
        }
        for (b, r) in self.bounds.iter_mut().zip(RESOURCES) {
            b.add(node.spec.allocatable.get(r));
        }
        let s = self.stranded_on(node);
        self.stranded += s;
        self.node_stranded.push(s);
        self.record(now);
    }

    /// Node `i`, `node` as it is when it leaves (normally empty), is removed
    /// at `now`: its allocatable no longer counts. It must not change again.
    pub fn remove_node(&mut self, now: SimTime, i: usize, node: &NodeStatus) {
        self.allocatable -= node.spec.allocatable;
        self.allocated -= node.allocated;
        if node.replicas > 0 {
            self.in_use -= 1;
        }
        for (b, r) in self.bounds.iter_mut().zip(RESOURCES) {
            b.remove(node.spec.allocatable.get(r));
        }
        self.stranded -= self.node_stranded[i];
        self.node_stranded[i] = Resources::ZERO;
        self.record(now);
    }

    fn record(&mut self, now: SimTime) {
        let sample = self.sample();
        for k in 0..3 {
            self.allocated_t[k].set(now, sample.allocated[k]);
            self.stranded_t[k].set(now, sample.stranded[k]);
        }
        let bound = RESOURCES
            .iter()
            .zip(&self.bounds)
            .map(|(&r, b)| b.bound(u128::from(self.allocated.get(r))))
            .max()
            .unwrap_or(0);
        debug_assert!(bound <= u64::from(self.in_use), "{bound} > {}", self.in_use);
        self.lower_bound = bound;
        self.in_use_t.set(now, f64::from(self.in_use));
        self.bound_t.set(now, bound as f64);
        if bound > 0 {
            let gap = (f64::from(self.in_use) - bound as f64) / bound as f64;
            self.gap_t.set(now, gap);
            self.gap_time.set(now, 1.0);
        } else {
            self.gap_t.set(now, 0.0);
            self.gap_time.set(now, 0.0);
        }
    }

    /// Values now.
    pub fn sample(&self) -> CapacitySample {
        let f = |x: &Resources| RESOURCES.map(|r| frac(x.get(r), self.allocatable.get(r)));
        CapacitySample {
            allocated: f(&self.allocated),
            stranded: f(&self.stranded),
            nodes_in_use: self.in_use,
            nodes_lower_bound: self.lower_bound,
        }
    }

    /// Σ allocatable.
    pub fn allocatable(&self) -> Resources {
        self.allocatable
    }

    /// Fills the capacity fields of a cluster summary: allocatable totals
    /// and time-weighted means from time zero to `end`.
    pub fn fill(&mut self, c: &mut ClusterSummary, end: SimTime) {
        let secs = end.as_secs_f64().max(f64::MIN_POSITIVE);
        c.cpu_allocatable_milli = self.allocatable.cpu_milli;
        c.memory_allocatable_bytes = self.allocatable.memory_bytes;
        c.gpu_allocatable_milli = self.allocatable.gpu_milli;
        let [a0, a1, a2] = &mut self.allocated_t;
        c.cpu_allocated_mean = a0.area(end) / secs;
        c.memory_allocated_mean = a1.area(end) / secs;
        c.gpu_allocated_mean = a2.area(end) / secs;
        let [s0, s1, s2] = &mut self.stranded_t;
        c.stranded_cpu_mean = s0.area(end) / secs;
        c.stranded_memory_mean = s1.area(end) / secs;
        c.stranded_gpu_mean = s2.area(end) / secs;
        c.nodes_in_use_mean = self.in_use_t.area(end) / secs;
        c.nodes_lower_bound_mean = self.bound_t.area(end) / secs;
        let t = self.gap_time.area(end);
        c.packing_gap_mean = if t > 0.0 {
            self.gap_t.area(end) / t
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceId;
    use crate::testing::node;

    const GI: u64 = 1 << 30;

    #[test]
    fn dominated_shapes_are_dropped() {
        let s = minimal([
            Resources::new(1000, GI),
            Resources::new(2000, 2 * GI), // ≥ (1000, 1Gi) everywhere: dropped
            Resources::new(500, 4 * GI),  // less cpu, more memory: kept
            Resources::new(1000, GI),     // duplicate
        ]);
        assert_eq!(
            s,
            vec![Resources::new(500, 4 * GI), Resources::new(1000, GI)]
        );
    }

    #[test]
    fn stranding_bound_and_gap_follow_each_change_and_integrate_over_time() {
        // Two nodes of 4 cpu / 8Gi / 1 GPU; shapes: (1 cpu, 1Gi, 1 GPU) and (2 cpu, 4Gi, 0).
        let mut nodes: Vec<NodeStatus> = ["a", "b"]
            .iter()
            .map(|n| node(n).cpu("4").mem("8Gi").gpu(1).status())
            .collect();
        let gpu_job = Resources::new(1000, GI).with_gpu(1000);
        let cpu_job = Resources::new(2000, 4 * GI);
        let mut c = Capacity::new(&nodes, [gpu_job, cpu_job]);
        assert_eq!(c.sample().stranded, [0.0; 3]);
        let sec = |s: u64| SimTime(s * 1_000_000_000);
        let bind = |c: &mut Capacity, nodes: &mut Vec<NodeStatus>, t, i: usize, r| {
            nodes[i].add(ServiceId(0), r);
            c.node_changed(sec(t), i, &nodes[i], r, true);
        };
        // t = 0: two cpu jobs on a: a has 0 cpu, 0Gi, 1 GPU free → nothing fits: a is blocked,
        // its free GPU (1000 of 2000) is stranded.
        bind(&mut c, &mut nodes, 0, 0, cpu_job);
        bind(&mut c, &mut nodes, 0, 0, cpu_job);
        let s = c.sample();
        assert_eq!(s.stranded, [0.0, 0.0, 0.5]);
        assert_eq!(s.allocated, [0.5, 0.5, 0.0]);
        // Bound: cpu 4000 of nodes of 4000 → 1 node; memory 8Gi → 1; gpu 0 → 0. In use 1: gap 0.
        assert_eq!((s.nodes_in_use, s.nodes_lower_bound), (1, 1));
        // t = 10 s: a GPU job on b: b has 3 cpu, 7Gi, 0 GPU free; the cpu job (2, 4Gi) still fits.
        bind(&mut c, &mut nodes, 10, 1, gpu_job);
        let s = c.sample();
        assert_eq!(s.stranded, [0.0, 0.0, 0.5]);
        // cpu 5000 > 4000 → 2 nodes; in use 2: gap 0.
        assert_eq!((s.nodes_in_use, s.nodes_lower_bound), (2, 2));
        // t = 20 s: another cpu job on b: b has 1 cpu, 3Gi, 0 GPU: blocked: 1000m and 3Gi stranded.
        bind(&mut c, &mut nodes, 20, 1, cpu_job);
        let s = c.sample();
        assert_eq!(s.stranded, [1000.0 / 8000.0, 3.0 / 16.0, 0.5]);
        // t = 30 s: one cpu job leaves a: a has 2 cpu, 4Gi, 1 GPU free: the cpu job fits again.
        nodes[0].remove(ServiceId(0), cpu_job);
        c.node_changed(sec(30), 0, &nodes[0], cpu_job, false);
        assert_eq!(c.sample().stranded, [1000.0 / 8000.0, 3.0 / 16.0, 0.0]);
        // Bound at 30 s: cpu 2000 + 3000 = 5000 > 4000 → 2; in use 2.
        let mut sum = ClusterSummary::default();
        c.fill(&mut sum, sec(40));
        // Stranded gpu: 0.5 for 0–30 s, 0 for 30–40 s: 15/40 = 0.375.
        assert_eq!(sum.stranded_gpu_mean, 0.375);
        // Stranded cpu: 1/8 for 20–40 s: 2.5/40 = 0.0625; memory 3/16 × 20/40 = 0.09375.
        assert_eq!(sum.stranded_cpu_mean, 0.0625);
        assert_eq!(sum.stranded_memory_mean, 0.09375);
        // cpu allocated: 4000/8000 for 0–10, 5000 for 10–20, 7000 for 20–30, 5000 for 30–40:
        // (0.5 + 0.625 + 0.875 + 0.625) × 10 / 40 = 0.65625.
        assert_eq!(sum.cpu_allocated_mean, 0.65625);
        // GPU: 1000/2000 from 10 s on: 0.5 × 30 / 40 = 0.375.
        assert_eq!(sum.gpu_allocated_mean, 0.375);
        // In use 1 for 10 s, then 2: 1.75; bound the same; gap 0 throughout.
        assert_eq!(
            (sum.nodes_in_use_mean, sum.nodes_lower_bound_mean),
            (1.75, 1.75)
        );
        assert_eq!(sum.packing_gap_mean, 0.0);
    }

    #[test]
    fn nodes_joining_and_leaving_change_allocatable_and_the_bound() {
        // One 4-cpu node with a 3-cpu replica: allocated 3000/4000 = 0.75, bound 1.
        let r = Resources::new(3000, GI);
        let mut nodes = vec![node("a").cpu("4").mem("8Gi").status()];
        let mut c = Capacity::new(&nodes, [r]);
        nodes[0].add(ServiceId(0), r);
        c.node_changed(SimTime::ZERO, 0, &nodes[0], r, true);
        let sec = |s: u64| SimTime(s * 1_000_000_000);
        // t = 10 s: an empty 4-cpu node joins: 3000/8000 = 0.375; bound still 1 (3000 ≤ 4000).
        nodes.push(node("b").cpu("4").mem("8Gi").status());
        c.add_node(sec(10), 1, &nodes[1]);
        let s = c.sample();
        assert_eq!(s.allocated[0], 0.375);
        assert_eq!((s.nodes_in_use, s.nodes_lower_bound), (1, 1));
        assert_eq!(c.allocatable(), Resources::new(8000, 16 * GI));
        // t = 30 s: it leaves, still empty: back to 0.75 of 4000m.
        c.remove_node(sec(30), 1, &nodes[1]);
        assert_eq!(c.sample().allocated[0], 0.75);
        let mut sum = ClusterSummary::default();
        c.fill(&mut sum, sec(40));
        // cpu allocated: 0.75 for 10 s, 0.375 for 20 s, 0.75 for 10 s: (7.5 + 7.5 + 7.5) / 40.
        assert_eq!(sum.cpu_allocated_mean, 0.5625);
        assert_eq!(sum.cpu_allocatable_milli, 4000);
    }

    #[test]
    fn the_gap_compares_nodes_in_use_with_the_largest_nodes_first() {
        // Nodes of 8, 4 and 4 cpu; one 1-cpu replica on each small node: in use 2, but the
        // 2000m would fit on the largest node: bound 1, gap (2 − 1)/1 = 1.
        let mut nodes = vec![
            node("big").cpu("8").mem("8Gi").status(),
            node("s1").cpu("4").mem("8Gi").status(),
            node("s2").cpu("4").mem("8Gi").status(),
        ];
        let r = Resources::new(1000, GI);
        let mut c = Capacity::new(&nodes, [r]);
        for i in [1, 2] {
            nodes[i].add(ServiceId(0), r);
            c.node_changed(SimTime::ZERO, i, &nodes[i], r, true);
        }
        let mut sum = ClusterSummary::default();
        c.fill(&mut sum, SimTime(1_000_000_000));
        assert_eq!(
            (sum.nodes_in_use_mean, sum.nodes_lower_bound_mean),
            (2.0, 1.0)
        );
        assert_eq!(sum.packing_gap_mean, 1.0);
    }
}
