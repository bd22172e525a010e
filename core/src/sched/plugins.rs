//! Resource plugins with Kubernetes' exact arithmetic.
//!
//! Key decision: every score is computed with upstream's integer operations
//! in upstream's order (`pkg/scheduler/framework/plugins/noderesources/`),
//! so truncation matches kube-scheduler bit for bit; the tests replay
//! upstream's test tables. Resource scores (`LeastAllocated`,
//! `MostAllocated`, `RequestedToCapacityRatio`) see requests with the
//! non-zero defaults (100m CPU, 200Mi memory for replicas that request
//! nothing, `useRequested = false`); `BalancedAllocation` sees the real
//! requests (`useRequested = true`).

use super::{Filter, MAX_NODE_SCORE, NodeScore};
use crate::fit::FilterReason;
use crate::model::{NodeStatus, ResourceName, Resources};
use crate::placement::{ClusterView, NodeAlloc, Request, fits};

/// `NodeResourcesFit` as a filter: requests + allocated ≤ allocatable.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeResourcesFit;

impl Filter for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        fits(&request.resources, &view.nodes[i], &view.allocs[i])
    }
}

/// A weighted resource for scoring (`config.ResourceSpec`).
pub const DEFAULT_RESOURCES: [(ResourceName, i64); 2] =
    [(ResourceName::Cpu, 1), (ResourceName::Memory, 1)];

/// (requested, allocatable) per scored resource, upstream's `calculateResourceAllocatableRequest`.
fn requested_and_allocatable(
    request: &Resources,
    node: &NodeStatus,
    alloc: &NodeAlloc,
    use_requested: bool,
    r: ResourceName,
) -> (i64, i64) {
    let (pod, on_node) = if use_requested {
        (*request, alloc.requested)
    } else {
        (request.non_zero(), alloc.non_zero)
    };
    // Upstream: a scalar (extended, hugepages) resource the pod does not
    // request is not scored at all (0, 0).
    if r.is_scalar() && pod.get(r) == 0 {
        return (0, 0);
    }
    (
        on_node.get(r) as i64 + pod.get(r) as i64,
        node.spec.allocatable.get(r) as i64,
    )
}

/// Upstream's weighted mean over resources: Σ score·weight / Σ weight (integer division),
/// skipping resources the node does not have.
fn weighted(
    request: &Resources,
    node: &NodeStatus,
    alloc: &NodeAlloc,
    resources: &[(ResourceName, i64)],
    f: impl Fn(i64, i64) -> i64,
) -> i64 {
    let (mut score, mut weights) = (0i64, 0i64);
    for &(r, w) in resources {
        let (req, cap) = requested_and_allocatable(request, node, alloc, false, r);
        if cap == 0 {
            continue;
        }
        score += f(req, cap) * w;
        weights += w;
    }
    if weights == 0 { 0 } else { score / weights }
}

/// `leastRequestedScore`: `(capacity − requested) × 100 / capacity`, 0 when over capacity.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `mostRequestedScore`: `requested × 100 / capacity`, requested capped at capacity.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// NodeResourcesFit scoring with the `LeastAllocated` strategy (the default): favours empty nodes.
#[derive(Clone, Debug)]
pub struct LeastAllocated {
    /// Resources and weights.
    pub resources: Vec<(ResourceName, i64)>,
}

impl Default for LeastAllocated {
    fn default() -> Self {
        LeastAllocated {
            resources: DEFAULT_RESOURCES.to_vec(),
        }
    }
}

impl NodeScore for LeastAllocated {
    fn name(&self) -> &'static str {
        "NodeResourcesFit/LeastAllocated"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        weighted(request, node, alloc, &self.resources, least_requested_score)
    }
}

/// NodeResourcesFit scoring with the `MostAllocated` strategy: favours full nodes (bin packing).
#[derive(Clone, Debug)]
pub struct MostAllocated {
    /// Resources and weights.
    pub resources: Vec<(ResourceName, i64)>,
}

impl Default for MostAllocated {
    fn default() -> Self {
        MostAllocated {
            resources: DEFAULT_RESOURCES.to_vec(),
        }
    }
}

impl NodeScore for MostAllocated {
    fn name(&self) -> &'static str {
        "NodeResourcesFit/MostAllocated"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        weighted(request, node, alloc, &self.resources, most_requested_score)
    }
}

/// NodeResourcesFit scoring with `RequestedToCapacityRatio`: a broken-linear
/// function of utilisation given by shape points `(utilisation %, score 0..10)`.
#[derive(Clone, Debug)]
pub struct RequestedToCapacityRatio {
    /// Shape points, utilisation ascending; scores already ×10 (0..100), as upstream scales them.
    shape: Vec<(i64, i64)>,
    /// Resources and weights.
    pub resources: Vec<(ResourceName, i64)>,
}

impl RequestedToCapacityRatio {
    /// From shape points with scores on the configuration's 0..10 scale
    /// (upstream multiplies by `MaxNodeScore / MaxCustomPriorityScore` = 10).
    pub fn new(
        points: &[(i64, i64)],
        resources: Vec<(ResourceName, i64)>,
    ) -> RequestedToCapacityRatio {
        RequestedToCapacityRatio {
            shape: points
                .iter()
                .map(|&(u, s)| (u, s * (MAX_NODE_SCORE / 10)))
                .collect(),
            resources,
        }
    }

    /// Upstream's `BuildBrokenLinearFunction`.
    fn broken_linear(&self, p: i64) -> i64 {
        for (i, &(u, s)) in self.shape.iter().enumerate() {
            if p <= u {
                if i == 0 {
                    return s;
                }
                let (u0, s0) = self.shape[i - 1];
                return s0 + (s - s0) * (p - u0) / (u - u0);
            }
        }
        self.shape.last().map_or(0, |p| p.1)
    }
}

impl NodeScore for RequestedToCapacityRatio {
    fn name(&self) -> &'static str {
        "NodeResourcesFit/RequestedToCapacityRatio"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        const MAX_UTILIZATION: i64 = 100;
        let (mut score, mut weights) = (0i64, 0i64);
        for &(r, w) in &self.resources {
            let (req, cap) = requested_and_allocatable(request, node, alloc, false, r);
            if cap == 0 {
                continue;
            }
            let s = if req > cap {
                self.broken_linear(MAX_UTILIZATION)
            } else {
                self.broken_linear(req * MAX_UTILIZATION / cap)
            };
            // Upstream only averages resources whose score is positive.
            if s > 0 {
                score += s * w;
                weights += w;
            }
        }
        if weights == 0 {
            0
        } else {
            (score as f64 / weights as f64).round() as i64
        }
    }
}

/// `NodeResourcesBalancedAllocation`: favours nodes whose resource fractions are even:
/// `(1 − std) × 100` with std = |f_cpu − f_mem| / 2 for two resources.
#[derive(Clone, Copy, Debug, Default)]
pub struct BalancedAllocation;

impl NodeScore for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        let mut fractions = [0f64; 2];
        let mut n = 0;
        for (r, _) in DEFAULT_RESOURCES {
            let (req, cap) = requested_and_allocatable(request, node, alloc, true, r);
            if cap > 0 {
                fractions[n] = (req as f64 / cap as f64).min(1.0);
                n += 1;
            }
        }
        // Upstream: with two resources std = |f1 − f2| / 2; with one, 0.
        let std = if n == 2 {
            ((fractions[0] - fractions[1]) / 2.0).abs()
        } else {
            0.0
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}

/// Nomad's fit scores (`nomad/structs/funcs.go`: `ScoreFitBinPack`,
/// `ScoreFitSpread`, after Google's BestFit v3): with the free fractions
/// f_cpu, f_mem left after placing the replica, total = 10^f_cpu + 10^f_mem;
/// binpack = 20 − total, spread = total − 2, each clamped to [0, 18] and
/// mapped onto 0..100 here.
#[derive(Clone, Copy, Debug)]
pub struct NomadFit {
    /// Spread instead of binpack.
    pub spread: bool,
}

impl NodeScore for NomadFit {
    fn name(&self) -> &'static str {
        if self.spread {
            "NomadFit/spread"
        } else {
            "NomadFit/binpack"
        }
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        let free = |r: ResourceName| {
            let (req, cap) = requested_and_allocatable(request, node, alloc, true, r);
            if cap == 0 {
                0.0
            } else {
                1.0 - req as f64 / cap as f64
            }
        };
        let total = 10f64.powf(free(ResourceName::Cpu)) + 10f64.powf(free(ResourceName::Memory));
        let raw = if self.spread {
            total - 2.0
        } else {
            20.0 - total
        };
        (raw.clamp(0.0, 18.0) / 18.0 * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests;
