//! Dominant Resource Fairness as the queue order of a scheduling batch
//! (Ghodsi et al., "Dominant Resource Fairness: Fair Allocation of Multiple
//! Resource Types", NSDI 2011, §4 and Algorithm 1).
//!
//! Key decision: DRF decides *which service's replica is placed next*, not
//! where it goes; the placement policy still picks the node. Each service is
//! a user of the paper: its allocation is the sum of the requests of its
//! replicas bound to nodes (observed ones plus this batch's binds), its
//! dominant share the largest of allocation / cluster total over cpu,
//! memory and GPUs, where the cluster total is the allocatable of the ready
//! nodes (a resource the cluster has none of is skipped). The next replica
//! comes from the pending service with the lowest dominant share, ties by
//! service id, replicas of one service in id order; the share is recomputed
//! after every bind (progressive filling). Algorithm 1 stops at the first
//! task that does not fit ("the cluster is full"); a batch must still
//! decide every pending replica, so a replica that cannot be placed leaves
//! its service's share unchanged, the service's next replicas are tried
//! (and fail alike when they ask the same of the same nodes), then the
//! other services'. Shares are exact fractions compared by
//! cross-multiplication, so equal shares tie exactly.
//!
//! Priorities stay above fairness: a service with a higher
//! `Constraints::priority` is always served first; DRF orders services of
//! equal priority (all of them, when no priorities are set).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::model::{DesiredState, ObservedCluster, ReplicaId, ResourceName, Resources, ServiceId};

/// A fraction `num / den` with `den > 0`, compared exactly.
#[derive(Clone, Copy, Debug)]
pub struct Share {
    num: u64,
    den: u64,
}

impl Share {
    /// Nothing allocated.
    pub const ZERO: Share = Share { num: 0, den: 1 };

    /// `num / den`, or `None` when `den` is zero.
    pub const fn new(num: u64, den: u64) -> Option<Share> {
        if den == 0 {
            None
        } else {
            Some(Share { num, den })
        }
    }

    /// The dominant share of `alloc` in a cluster of `total`: the largest
    /// `alloc_r / total_r` over the resources the cluster has.
    pub fn dominant(alloc: &Resources, total: &Resources) -> Share {
        [ResourceName::Cpu, ResourceName::Memory, ResourceName::Gpu]
            .into_iter()
            .filter(|&r| total.get(r) > 0)
            .map(|r| Share {
                num: alloc.get(r),
                den: total.get(r),
            })
            .max()
            .unwrap_or(Share::ZERO)
    }

    /// As a float, for display.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl Ord for Share {
    fn cmp(&self, o: &Share) -> Ordering {
        (u128::from(self.num) * u128::from(o.den)).cmp(&(u128::from(o.num) * u128::from(self.den)))
    }
}

impl PartialOrd for Share {
    fn partial_cmp(&self, o: &Share) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Share {
    fn eq(&self, o: &Share) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Share {}

/// Pending replicas in DRF order: [`DrfQueue::pop`] the next one, and call
/// [`DrfQueue::bound`] if it was bound.
#[derive(Debug)]
pub struct DrfQueue {
    total: Resources,
    requests: Vec<Resources>,
    priority: Vec<i32>,
    alloc: Vec<Resources>,
    pending: Vec<Vec<u32>>,
    next: Vec<usize>,
    heap: BinaryHeap<Reverse<(Reverse<i32>, Share, u32)>>,
    current: Option<usize>,
}

impl DrfQueue {
    /// A queue of the `pending` replica ids of `observed`, with each
    /// service's allocation taken from the replicas bound to its nodes.
    pub fn new(
        desired: &DesiredState,
        observed: &ObservedCluster,
        pending: impl IntoIterator<Item = u32>,
    ) -> DrfQueue {
        let n = desired.services.len();
        let requests: Vec<Resources> = desired.services.iter().map(|s| s.requests).collect();
        let mut total = Resources::ZERO;
        let mut alloc = vec![Resources::ZERO; n];
        for node in &observed.nodes {
            if node.ready {
                total += node.spec.allocatable;
            }
            for &(s, count) in &node.services {
                if let Some(a) = alloc.get_mut(s.0 as usize) {
                    *a += times(requests[s.0 as usize], count);
                }
            }
        }
        let mut per_service = vec![Vec::new(); n];
        for i in pending {
            let s = observed.replicas[i as usize].service.0 as usize;
            per_service[s].push(i);
        }
        let mut q = DrfQueue {
            total,
            requests,
            priority: desired
                .services
                .iter()
                .map(|s| s.placement.priority)
                .collect(),
            alloc,
            pending: per_service,
            next: vec![0; n],
            heap: BinaryHeap::new(),
            current: None,
        };
        for s in 0..n {
            if !q.pending[s].is_empty() {
                q.push(s);
            }
        }
        q
    }

    fn push(&mut self, s: usize) {
        let key = (
            Reverse(self.priority[s]),
            self.share(ServiceId(s as u32)),
            s as u32,
        );
        self.heap.push(Reverse(key));
    }

    /// The dominant share of `service` now.
    pub fn share(&self, service: ServiceId) -> Share {
        Share::dominant(&self.alloc[service.0 as usize], &self.total)
    }

    /// The next replica to place: the first pending one of the service with
    /// the highest priority and then the lowest dominant share.
    pub fn pop(&mut self) -> Option<ReplicaId> {
        if let Some(s) = self.current.take()
            && self.next[s] < self.pending[s].len()
        {
            self.push(s);
        }
        let Reverse((_, _, s)) = self.heap.pop()?;
        let s = s as usize;
        let id = self.pending[s][self.next[s]];
        self.next[s] += 1;
        self.current = Some(s);
        Some(ReplicaId(id))
    }

    /// The replica last popped was bound: its service's allocation grows by its requests.
    pub fn bound(&mut self) {
        if let Some(s) = self.current {
            self.alloc[s] += self.requests[s];
        }
    }
}

/// `r × n`, saturating.
fn times(r: Resources, n: u32) -> Resources {
    let n = u64::from(n);
    Resources::new(
        r.cpu_milli.saturating_mul(n),
        r.memory_bytes.saturating_mul(n),
    )
    .with_gpu(r.gpu_milli.saturating_mul(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::model::{ReplicaState, ReplicaStatus, ServiceSpec};
    use crate::placement::{FirstFit, QueueOrder, schedule_with};
    use crate::rng::stream;
    use crate::testing::{node, service};
    use crate::time::SimTime;

    const GI: u64 = 1 << 30;

    fn svc(name: &str, cpu: u64, mem: u64, priority: i32) -> ServiceSpec {
        let mut s = ServiceSpec {
            requests: Resources::new(cpu, mem),
            ..service(name)
        };
        s.placement.priority = priority;
        s
    }

    fn pending(service: u32, n: usize) -> Vec<ReplicaStatus> {
        let r = ReplicaStatus {
            service: ServiceId(service),
            node: None,
            state: ReplicaState::Pending,
            since: SimTime(0),
        };
        vec![r; n]
    }

    /// Binds per service, in the order of the actions.
    fn binds(desired: &DesiredState, observed: &ObservedCluster, order: QueueOrder) -> Vec<u32> {
        let actions = schedule_with(
            order,
            desired,
            observed,
            &mut FirstFit::default(),
            &mut stream(0, "t"),
        );
        let mut per = vec![0; desired.services.len()];
        for a in actions {
            if let Action::Bind { replica, .. } = a {
                per[observed.replicas[replica.0 as usize].service.0 as usize] += 1;
            }
        }
        per
    }

    #[test]
    fn the_papers_example_gives_a_three_tasks_and_b_two() {
        // §4: cluster ⟨9 CPU, 18 GB⟩; A's tasks ⟨1 CPU, 4 GB⟩, B's ⟨3 CPU, 1 GB⟩; ten pending each,
        // A's first in id order.
        let desired = DesiredState {
            services: vec![svc("a", 1000, 4 * GI, 0), svc("b", 3000, GI, 0)],
        };
        let mut replicas = pending(0, 10);
        replicas.extend(pending(1, 10));
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![node("n").cpu("9").mem("18Gi").status()],
            replicas,
            changes: Default::default(),
        };
        // DRF, shares as (A, B):   (0, 0) tie → A by id: A = max(1/9, 4/18) = 2/9.
        // (2/9, 0) → B: B = max(3/9, 1/18) = 1/3.   (2/9, 1/3) → A: 4/9.   (4/9, 1/3) → B: 2/3.
        // (4/9, 2/3) → A: used 2+6+1 = 9 CPU, 8+2+4 = 14 GB, fits; A = max(3/9, 12/18) = 2/3.
        // (2/3, 2/3) tie → A: 10 CPU > 9, unschedulable, A's share stays, so A's other replicas
        // fail too; then B's: 9 + 3 > 9 CPU. A gets 3 tasks ⟨3, 12⟩, B 2 tasks ⟨6, 2⟩, both 2/3.
        assert_eq!(binds(&desired, &observed, QueueOrder::Drf), vec![3, 2]);
        // Priority order (ids) for contrast: A until memory runs out: 4 × 4 GB = 16 ≤ 18, a fifth
        // needs 20; then B: 4 + 3 = 7 CPU, 17 GB fits, a second needs 10 CPU. A 4, B 1.
        assert_eq!(binds(&desired, &observed, QueueOrder::Priority), vec![4, 1]);
    }

    #[test]
    fn shares_count_replicas_already_running() {
        // One node 4 CPU / 4Gi. A already runs two ⟨1 CPU, 1Gi⟩ replicas: share max(2/4, 2/4) = 1/2.
        // Pending: one A (id 2) and one B ⟨2 CPU, 1Gi⟩ (id 3); room for 2 CPU, so only one fits.
        let desired = DesiredState {
            services: vec![svc("a", 1000, GI, 0), svc("b", 2000, GI, 0)],
        };
        let mut observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![node("n").cpu("4").mem("4Gi").status()],
            replicas: pending(0, 3),
            changes: Default::default(),
        };
        observed.replicas.extend(pending(1, 1));
        for r in 0..2 {
            observed.replicas[r].state = ReplicaState::Ready;
            observed.replicas[r].node = Some(crate::model::NodeId(0));
            observed.bind(
                crate::model::NodeId(0),
                ServiceId(0),
                Resources::new(1000, GI),
            );
        }
        let q = DrfQueue::new(&desired, &observed, [2, 3]);
        assert_eq!(q.share(ServiceId(0)), Share::new(1, 2).unwrap());
        assert_eq!(q.share(ServiceId(1)), Share::ZERO);
        // DRF: B (share 0 < 1/2) first and takes the last 2 CPU; A's replica no longer fits.
        assert_eq!(binds(&desired, &observed, QueueOrder::Drf), vec![0, 1]);
        // Priority (id order): A's replica first (3 CPU used), then B needs 5 > 4.
        assert_eq!(binds(&desired, &observed, QueueOrder::Priority), vec![1, 0]);
    }

    #[test]
    fn higher_priority_goes_first_whatever_its_share() {
        // B has priority 10: both its replicas come before A's although after one bind B's share
        // (2/4) exceeds A's (0).
        let desired = DesiredState {
            services: vec![svc("a", 1000, GI, 0), svc("b", 2000, GI, 10)],
        };
        let mut replicas = pending(0, 2);
        replicas.extend(pending(1, 2));
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![node("n").cpu("4").mem("8Gi").status()],
            replicas,
            changes: Default::default(),
        };
        let mut q = DrfQueue::new(&desired, &observed, 0..4);
        let mut order = Vec::new();
        while let Some(r) = q.pop() {
            order.push(r.0);
            q.bound();
        }
        // B (2, 3) by priority; then A: 0 and 1.
        assert_eq!(order, vec![2, 3, 0, 1]);
    }

    #[test]
    fn shares_compare_exactly() {
        let s = |num, den| Share::new(num, den).unwrap();
        // 2/9 = 4/18 exactly; 2/9 < 1/3; 2/3 = 6/9.
        assert_eq!(s(2, 9), s(4, 18));
        assert!(s(2, 9) < s(1, 3));
        assert_eq!(s(2, 3), s(6, 9));
        // Dominant share: ⟨3 CPU, 12 GB⟩ of ⟨9, 18⟩ → max(1/3, 2/3) = 2/3; no GPUs in the cluster,
        // so a GPU request does not count.
        let total = Resources::new(9000, 18 * GI);
        let alloc = Resources::new(3000, 12 * GI).with_gpu(1000);
        assert_eq!(Share::dominant(&alloc, &total), s(2, 3));
        assert_eq!(Share::dominant(&alloc, &Resources::ZERO), Share::ZERO);
        assert!((s(2, 3).as_f64() - 0.6667).abs() < 1e-3);
        assert!(Share::new(1, 0).is_none());
    }
}
