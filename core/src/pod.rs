//! A pod's containers and what the pod as a whole requests: Kubernetes'
//! `PodRequests` and `PodLimits`.
//!
//! Key decision: computed once, when a scenario is loaded, into the
//! [`Resources`] every placement decision reads; a pod whose containers
//! leave a cpu or memory request out scores with the scheduler's non-zero
//! defaults applied per container, which the amount carries
//! ([`Resources::with_non_zero`]) only when that differs from the plain
//! rule, so single-container pods stay as compact as before.
//!
//! Transcribed from `staging/src/k8s.io/component-helpers/resource/helpers.go`
//! (kubernetes/kubernetes at c4b5de207d1f469249888c498a965c58443e6964:
//! `PodRequests`, `AggregateContainerRequests`, `applyNonMissing`,
//! `PodLimits`, `AggregateContainerLimits`), without pod-level resources
//! and in-place resize (no status): app containers are summed, each
//! restartable init container (a native sidecar, `restartPolicy: Always`)
//! is added to the sum and to the running sidecar total, each regular init
//! container needs itself plus the sidecars started before it, the pod
//! needs the larger of the sum and the largest init-container need, and
//! the overhead is added (to requests always, to limits only where a
//! limit is set and non-zero).

use std::collections::BTreeMap;

use crate::model::{ResourceName, Resources};

/// A resource list: which resources a container states, and how much
/// (units of [`Resources::get`]: millicores, bytes, GPU thousandths,
/// counts). A name with an explicit `0` is present; an absent name is not.
pub type ResourceList = BTreeMap<ResourceName, u64>;

/// One container's resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    /// Its name (for messages).
    pub name: String,
    /// `resources.requests`.
    pub requests: ResourceList,
    /// `resources.limits`.
    pub limits: ResourceList,
    /// `restartPolicy: Always` on an init container: a native sidecar.
    pub restart_always: bool,
}

impl Container {
    /// Kubernetes' API defaulting (`SetDefaults_ResourceList` for
    /// containers): every resource with a limit and no request gets the
    /// limit as its request.
    pub fn default_requests_from_limits(&mut self) {
        for (&r, &q) in &self.limits {
            self.requests.entry(r).or_insert(q);
        }
    }
}

/// The resource-relevant part of a pod spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodResources {
    /// `spec.containers`.
    pub containers: Vec<Container>,
    /// `spec.initContainers`, in order.
    pub init_containers: Vec<Container>,
    /// `spec.overhead`.
    pub overhead: ResourceList,
}

/// What [`pod_requests`] and [`pod_limits`] take into account (upstream's
/// `PodResourcesOptions`, the parts without pod status).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodResourcesOptions {
    /// `ExcludeOverhead`.
    pub exclude_overhead: bool,
    /// `NonMissingContainerRequests`: a container that does not state one
    /// of these resources is taken to request the given amount; an
    /// explicit request, even 0, is kept.
    pub non_missing_container_requests: ResourceList,
}

impl PodResourcesOptions {
    /// The scheduler's non-zero defaults (`DefaultMilliCPURequest` = 100m,
    /// `DefaultMemoryRequest` = 200Mi in `pkg/scheduler/util`), as the
    /// resource-scoring plugins pass them when `useRequested` is false and
    /// `NodeInfo` does for `NonZeroRequested`.
    pub fn non_zero() -> PodResourcesOptions {
        PodResourcesOptions {
            exclude_overhead: false,
            non_missing_container_requests: BTreeMap::from([
                (ResourceName::Cpu, 100),
                (ResourceName::Memory, 200 << 20),
            ]),
        }
    }
}

fn add_list(list: &mut ResourceList, other: &ResourceList) {
    for (&r, &q) in other {
        let v = list.entry(r).or_insert(0);
        *v = v.saturating_add(q);
    }
}

fn max_list(list: &mut ResourceList, other: &ResourceList) {
    for (&r, &q) in other {
        let v = list.entry(r).or_insert(q);
        *v = (*v).max(q);
    }
}

/// Upstream's `applyNonMissing`.
fn apply_non_missing(reqs: &ResourceList, non_missing: &ResourceList) -> ResourceList {
    let mut out = reqs.clone();
    for (&r, &q) in non_missing {
        out.entry(r).or_insert(q);
    }
    out
}

/// Upstream's `AggregateContainerRequests` / `AggregateContainerLimits`
/// (the same walk over `requests` or `limits`).
fn aggregate(
    pod: &PodResources,
    field: fn(&Container) -> &ResourceList,
    non_missing: &ResourceList,
) -> ResourceList {
    let effective = |c: &Container| {
        if non_missing.is_empty() {
            field(c).clone()
        } else {
            apply_non_missing(field(c), non_missing)
        }
    };
    let mut total = ResourceList::new();
    for c in &pod.containers {
        add_list(&mut total, &effective(c));
    }
    let mut sidecars = ResourceList::new();
    let mut init = ResourceList::new();
    for c in &pod.init_containers {
        let own = effective(c);
        let need = if c.restart_always {
            add_list(&mut total, &own);
            add_list(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut tmp = own;
            add_list(&mut tmp, &sidecars);
            tmp
        };
        max_list(&mut init, &need);
    }
    max_list(&mut total, &init);
    total
}

/// Upstream's `PodRequests`: what the pod requests as a whole.
pub fn pod_requests(pod: &PodResources, opts: &PodResourcesOptions) -> ResourceList {
    let mut reqs = aggregate(pod, |c| &c.requests, &opts.non_missing_container_requests);
    if !opts.exclude_overhead {
        add_list(&mut reqs, &pod.overhead);
    }
    reqs
}

/// Upstream's `PodLimits`: the pod's limits as a whole; the overhead is
/// added only to limits that are set and non-zero.
pub fn pod_limits(pod: &PodResources, opts: &PodResourcesOptions) -> ResourceList {
    let mut limits = aggregate(pod, |c| &c.limits, &ResourceList::new());
    if !opts.exclude_overhead {
        for (r, q) in &pod.overhead {
            if let Some(v) = limits.get_mut(r)
                && *v > 0
            {
                *v = v.saturating_add(*q);
            }
        }
    }
    limits
}

/// A resource list as an amount (absent and 0 alike).
pub fn to_resources(list: &ResourceList) -> Resources {
    list.iter()
        .fold(Resources::ZERO, |acc, (&r, &q)| acc.with(r, q))
}

/// What the scheduler reads of a pod: [`pod_requests`] as the amount fit
/// and BalancedAllocation see, with the per-container non-zero view
/// ([`PodResourcesOptions::non_zero`]) that LeastAllocated, MostAllocated
/// and RequestedToCapacityRatio see through [`Resources::non_zero`].
pub fn effective_requests(pod: &PodResources) -> Resources {
    let plain = to_resources(&pod_requests(pod, &PodResourcesOptions::default()));
    let nz = pod_requests(pod, &PodResourcesOptions::non_zero());
    let get = |r: ResourceName| nz.get(&r).copied().unwrap_or(0);
    plain.with_non_zero(get(ResourceName::Cpu), get(ResourceName::Memory))
}

/// The pod's limits as an amount ([`pod_limits`] with the overhead).
pub fn effective_limits(pod: &PodResources) -> Resources {
    to_resources(&pod_limits(pod, &PodResourcesOptions::default()))
}

#[cfg(test)]
mod tests;
