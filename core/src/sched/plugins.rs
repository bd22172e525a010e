//! Resource plugins with Kubernetes' exact arithmetic.
//!
//! Key decision: the scoring strategies are public pure functions under
//! upstream's names, over per-resource [`ResourceValue`]s (requested,
//! allocatable, weight) exactly as upstream's scorers take their
//! `requested`/`allocatable` lists, with upstream's integer operations in
//! upstream's order (`pkg/scheduler/framework/plugins/noderesources/`), so
//! truncation matches kube-scheduler bit for bit; the tests replay
//! upstream's test tables against them. The plugins only gather the values
//! ([`resource_value`], upstream's `calculateResourceAllocatableRequest`)
//! and call the functions. Resource scores (`LeastAllocated`,
//! `MostAllocated`, `RequestedToCapacityRatio`) see cpu and memory with the
//! non-zero defaults (100m CPU, 200Mi memory for replicas that request
//! nothing, `useRequested = false`); `BalancedAllocation` sees the real
//! requests (`useRequested = true`).
//!
//! Sources, kubernetes/kubernetes: `least_allocated.go` @ 05c351a9,
//! `most_allocated.go` @ 046d201c, `requested_to_capacity_ratio.go`
//! @ 0a295a8d, `balanced_allocation.go` @ 02d7708a, `resource_allocation.go`
//! (the DRA-era `calculateResourceAllocatableRequest`, id 339814650 in the
//! code index), `helper/shape_score.go` @ 2d58ef78.

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

/// The default scored resources and weights (`defaultResourceSpec` of
/// `apis/config/v1/defaults.go`: cpu 1, memory 1).
pub const DEFAULT_RESOURCES: [(ResourceName, i64); 2] =
    [(ResourceName::Cpu, 1), (ResourceName::Memory, 1)];

/// upstream's `config.MaxCustomPriorityScore`: shape scores are on 0..=10.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;

/// `requested_to_capacity_ratio.go`'s `maxUtilization`.
pub const MAX_UTILIZATION: i64 = 100;

/// One scored resource of one node as upstream's scorers see it: the
/// requested amount (what the node's pods request plus the incoming pod's),
/// the node's allocatable (0 for a resource upstream bypasses) and the
/// resource's weight (`config.ResourceSpec.Weight`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceValue {
    /// Node's requests + the pod's.
    pub requested: i64,
    /// The node's allocatable; 0 skips the resource.
    pub allocatable: i64,
    /// The resource's weight.
    pub weight: i64,
}

impl ResourceValue {
    /// `(requested, allocatable, weight)`.
    pub const fn new(requested: i64, allocatable: i64, weight: i64) -> ResourceValue {
        ResourceValue {
            requested,
            allocatable,
            weight,
        }
    }
}

/// `leastRequestedScore` (`least_allocated.go`): `(capacity − requested) ×
/// 100 / capacity`, 0 when over capacity or without capacity.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `mostRequestedScore` (`most_allocated.go`): `requested × 100 /
/// capacity`, requested capped at capacity (pods with no requests get the
/// non-zero minimums, so requested can exceed it), 0 without capacity.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The weighted combination upstream's `leastResourceScorer` and
/// `mostResourceScorer` share: `Σ score·weight / Σ weight` with integer
/// division over the resources whose allocatable is not 0 (the others are
/// skipped, as `resourceAllocationScorer.score` leaves them 0); 0 when no
/// resource is left.
pub fn resource_allocation_score(
    values: impl IntoIterator<Item = ResourceValue>,
    score: impl Fn(i64, i64) -> i64,
) -> i64 {
    let (mut node_score, mut weight_sum) = (0i64, 0i64);
    for v in values {
        if v.allocatable == 0 {
            continue;
        }
        node_score += score(v.requested, v.allocatable) * v.weight;
        weight_sum += v.weight;
    }
    if weight_sum == 0 {
        0
    } else {
        node_score / weight_sum
    }
}

/// `leastResourceScorer` (`least_allocated.go`): LeastAllocated's node score.
pub fn least_resource_scorer(values: impl IntoIterator<Item = ResourceValue>) -> i64 {
    resource_allocation_score(values, least_requested_score)
}

/// `mostResourceScorer` (`most_allocated.go`): MostAllocated's node score.
pub fn most_resource_scorer(values: impl IntoIterator<Item = ResourceValue>) -> i64 {
    resource_allocation_score(values, most_requested_score)
}

/// A point of a broken-linear function (`helper.FunctionShapePoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionShapePoint {
    /// The argument (utilisation, percent).
    pub utilization: i64,
    /// The value.
    pub score: i64,
}

/// `helper.BuildBrokenLinearFunction` (`helper/shape_score.go`), evaluated
/// at `p`: `shape[0].score` at or below the first point, the last score
/// above the last point, linear (integer division) in between. `shape` is
/// non-empty with increasing utilisations (as validation guarantees).
pub fn broken_linear_function(shape: &[FunctionShapePoint], p: i64) -> i64 {
    for (i, point) in shape.iter().enumerate() {
        if p <= point.utilization {
            if i == 0 {
                return point.score;
            }
            let prev = shape[i - 1];
            return prev.score
                + (point.score - prev.score) * (p - prev.utilization)
                    / (point.utilization - prev.utilization);
        }
    }
    shape.last().map_or(0, |p| p.score)
}

/// `scaledUtilization` (`requested_to_capacity_ratio.go`): `requested ×
/// max / capacity`, exact (128-bit intermediate), requested clamped to
/// `[0, capacity]`.
pub fn scaled_utilization(requested: i64, capacity: i64, max: i64) -> i64 {
    if capacity <= 0 || requested <= 0 {
        return 0;
    }
    if requested >= capacity {
        return max;
    }
    (i128::from(requested) * i128::from(max) / i128::from(capacity)) as i64
}

/// `requestedToCapacityRatioScorer`'s shape conversion: configuration
/// points `(utilization, score 0..=10)` with scores multiplied by
/// `MaxNodeScore / MaxCustomPriorityScore` = 10.
pub fn requested_to_capacity_ratio_shape(points: &[(i64, i64)]) -> Vec<FunctionShapePoint> {
    points
        .iter()
        .map(|&(utilization, score)| FunctionShapePoint {
            utilization,
            score: score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
        })
        .collect()
}

/// `buildRequestedToCapacityRatioScorerFunction`'s scorer
/// (`requested_to_capacity_ratio.go`) over an already scaled `shape`
/// ([`requested_to_capacity_ratio_shape`]): each resource with allocatable
/// ≠ 0 scores `f(scaledUtilization)` (`f(100)` when over capacity); only
/// resources with a positive score enter the weighted mean, which is
/// rounded (`math.Round`, half away from zero).
pub fn requested_to_capacity_ratio_scorer(
    shape: &[FunctionShapePoint],
    values: impl IntoIterator<Item = ResourceValue>,
) -> i64 {
    let (mut node_score, mut weight_sum) = (0i64, 0i64);
    for v in values {
        if v.allocatable == 0 {
            continue;
        }
        let s = if v.requested > v.allocatable {
            broken_linear_function(shape, MAX_UTILIZATION)
        } else {
            broken_linear_function(
                shape,
                scaled_utilization(v.requested, v.allocatable, MAX_UTILIZATION),
            )
        };
        if s > 0 {
            node_score += s * v.weight;
            weight_sum += v.weight;
        }
    }
    if weight_sum == 0 {
        0
    } else {
        (node_score as f64 / weight_sum as f64).round() as i64
    }
}

/// `balancedResourceScorer` (`balanced_allocation.go` @ 02d7708a):
/// `(1 − std) × 100` truncated, over the fractions requested/allocatable
/// (capped at 1) of the resources with allocatable ≠ 0; with exactly two
/// fractions `std = |f₁ − f₂| / 2`, with more the population standard
/// deviation, with fewer 0. Weights are not used (validation makes them 1).
pub fn balanced_resource_scorer<I>(values: I) -> i64
where
    I: IntoIterator<Item = ResourceValue>,
    I::IntoIter: Clone,
{
    let values = values.into_iter().filter(|v| v.allocatable != 0);
    let fraction = |v: ResourceValue| (v.requested as f64 / v.allocatable as f64).min(1.0);
    let (mut n, mut total, mut first, mut second) = (0usize, 0f64, 0f64, 0f64);
    for v in values.clone() {
        let f = fraction(v);
        match n {
            0 => first = f,
            1 => second = f,
            _ => {}
        }
        total += f;
        n += 1;
    }
    let std = match n {
        2 => ((first - second) / 2.0).abs(),
        n if n > 2 => {
            let mean = total / n as f64;
            let mut sum = 0f64;
            for v in values {
                let f = fraction(v);
                sum += (f - mean) * (f - mean);
            }
            (sum / n as f64).sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// How upstream's `calculateResourceAllocatableRequest` reads a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// cpu and memory: the node's `NonZeroRequested` and the pod's non-zero
    /// request unless `useRequested`.
    Native,
    /// An extended (scalar) resource: bypassed, `(0, 0)`, when the pod does
    /// not request it; otherwise the node's `Requested`.
    Scalar,
    /// Not scored at all (`pods`): `(0, 0)`.
    Bypassed,
}

/// The kind of a resource the model knows.
pub fn resource_kind(r: ResourceName) -> ResourceKind {
    match r {
        ResourceName::Cpu | ResourceName::Memory | ResourceName::EphemeralStorage => {
            ResourceKind::Native
        }
        ResourceName::Gpu | ResourceName::Scalar(_) => ResourceKind::Scalar,
        // `pods` is neither native nor scalar to calculateResourceAllocatableRequest: (0, 0).
        ResourceName::Pods => ResourceKind::Bypassed,
    }
}

/// Upstream's `calculateResourceAllocatableRequest` and the filling in
/// `resourceAllocationScorer.score`, for one configured resource of one
/// node: `(requested, allocatable, weight)`, with `allocatable = 0` (the
/// resource skipped) for an extended resource the pod does not request or
/// the node does not have. Reads every amount through [`Resources::get`].
pub fn resource_value(
    request: &Resources,
    node: &NodeStatus,
    alloc: &NodeAlloc,
    use_requested: bool,
    r: ResourceName,
    weight: i64,
) -> ResourceValue {
    let (pod, on_node) = match resource_kind(r) {
        ResourceKind::Native if !use_requested => {
            (request.non_zero().get(r), alloc.non_zero.get(r))
        }
        ResourceKind::Native => (request.get(r), alloc.requested.get(r)),
        ResourceKind::Bypassed => return ResourceValue::new(0, 0, weight),
        ResourceKind::Scalar => {
            let pod = request.get(r);
            if pod == 0 {
                return ResourceValue::new(0, 0, weight);
            }
            (pod, alloc.requested.get(r))
        }
    };
    let allocatable = node.spec.allocatable.get(r) as i64;
    if allocatable == 0 {
        return ResourceValue::new(0, 0, weight);
    }
    ResourceValue::new(on_node as i64 + pod as i64, allocatable, weight)
}

/// The values of `resources` for one node, lazily (no allocation).
fn values<'a>(
    request: &'a Resources,
    node: &'a NodeStatus,
    alloc: &'a NodeAlloc,
    use_requested: bool,
    resources: &'a [(ResourceName, i64)],
) -> impl Iterator<Item = ResourceValue> + Clone + 'a {
    resources
        .iter()
        .map(move |&(r, w)| resource_value(request, node, alloc, use_requested, r, w))
}

/// NodeResourcesFit scoring with the `LeastAllocated` strategy (the default): favours empty nodes.
#[derive(Clone, Debug, PartialEq)]
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
        least_resource_scorer(values(request, node, alloc, false, &self.resources))
    }
}

/// NodeResourcesFit scoring with the `MostAllocated` strategy: favours full nodes (bin packing).
#[derive(Clone, Debug, PartialEq)]
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
        most_resource_scorer(values(request, node, alloc, false, &self.resources))
    }
}

/// NodeResourcesFit scoring with `RequestedToCapacityRatio`: a broken-linear
/// function of utilisation given by shape points `(utilisation %, score 0..10)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestedToCapacityRatio {
    /// Shape points, utilisation ascending; scores already ×10 (0..100), as upstream scales them.
    shape: Vec<FunctionShapePoint>,
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
            shape: requested_to_capacity_ratio_shape(points),
            resources,
        }
    }

    /// Upstream's `BuildBrokenLinearFunction` over this shape.
    pub fn broken_linear(&self, p: i64) -> i64 {
        broken_linear_function(&self.shape, p)
    }
}

impl NodeScore for RequestedToCapacityRatio {
    fn name(&self) -> &'static str {
        "NodeResourcesFit/RequestedToCapacityRatio"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        requested_to_capacity_ratio_scorer(
            &self.shape,
            values(request, node, alloc, false, &self.resources),
        )
    }
}

/// NodeResourcesFit's score with one of its scoring strategies
/// (`NodeResourcesFitArgs.scoringStrategy.type`).
#[derive(Clone, Debug, PartialEq)]
pub enum FitScore {
    /// `LeastAllocated`.
    LeastAllocated(LeastAllocated),
    /// `MostAllocated`.
    MostAllocated(MostAllocated),
    /// `RequestedToCapacityRatio`.
    RequestedToCapacityRatio(RequestedToCapacityRatio),
}

impl Default for FitScore {
    fn default() -> Self {
        FitScore::LeastAllocated(LeastAllocated::default())
    }
}

impl NodeScore for FitScore {
    fn name(&self) -> &'static str {
        match self {
            FitScore::LeastAllocated(s) => NodeScore::name(s),
            FitScore::MostAllocated(s) => NodeScore::name(s),
            FitScore::RequestedToCapacityRatio(s) => NodeScore::name(s),
        }
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        match self {
            FitScore::LeastAllocated(s) => s.node_score(request, node, alloc),
            FitScore::MostAllocated(s) => s.node_score(request, node, alloc),
            FitScore::RequestedToCapacityRatio(s) => s.node_score(request, node, alloc),
        }
    }
}

/// `NodeResourcesBalancedAllocation`: favours nodes whose resource fractions
/// are even ([`balanced_resource_scorer`] over the real requests). A
/// best-effort replica (no request for any of the resources) scores 0 on
/// every node, which is what upstream's PreScore `Skip` amounts to.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancedAllocation {
    /// The resources (`NodeResourcesBalancedAllocationArgs.resources`; weights are 1).
    pub resources: Vec<(ResourceName, i64)>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        BalancedAllocation {
            resources: DEFAULT_RESOURCES.to_vec(),
        }
    }
}

impl NodeScore for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64 {
        // isBestEffortPod: every configured request (useRequested) is 0.
        if self.resources.iter().all(|&(r, _)| request.get(r) == 0) {
            return 0;
        }
        balanced_resource_scorer(values(request, node, alloc, true, &self.resources))
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
            let req = alloc.requested.get(r) as i64 + request.get(r) as i64;
            let cap = node.spec.allocatable.get(r) as i64;
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
