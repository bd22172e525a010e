//! The placement seam: choosing a node for each pending replica.
//!
//! Key decision: a placement policy sees the nodes and their current
//! allocation and answers with a node *or the reasons every node was
//! rejected* (`0/20 nodes are available: 20 Insufficient cpu.`, as
//! kube-scheduler words it), so pending replicas can be explained. The batch
//! driver [`schedule`] owns the bookkeeping of what it has just bound, so
//! policies stay stateless functions of their inputs. First fit is the
//! foundation's policy; the kube-scheduler-style framework plugs in here.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;

use crate::fit::{FilterReason, Unschedulable};
use crate::model::{
    ChangeLog, Constraints, NodeId, NodeStatus, ResourceName, Resources, ServiceId,
};
use crate::sched::hard::HardFilters;

/// One replica to place.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Its service (spreading and anti-affinity count the service's replicas).
    pub service: ServiceId,
    /// What it requests.
    pub resources: Resources,
    /// Its scheduling constraints.
    pub constraints: &'a Constraints,
    /// Its volumes and the claims they name.
    pub storage: crate::storage::PodStorage<'a>,
}

/// Constraints of a replica that has none.
pub static NO_CONSTRAINTS: Constraints = Constraints {
    node_selector: BTreeMap::new(),
    required_terms: Vec::new(),
    preferred_terms: Vec::new(),
    tolerations: Vec::new(),
    spread: Vec::new(),
    anti_affinity: None,
    priority: 0,
    batch: false,
    pod_affinity: None,
    preemption_policy: crate::priority::PreemptionPolicy::PreemptLowerPriority,
};

impl<'a> Request<'a> {
    /// A replica of `service` (`spec`) whose claim volumes name `claims`
    /// ([`crate::storage::Storage::resolve`]).
    pub fn of(
        service: ServiceId,
        spec: &'a crate::model::ServiceSpec,
        claims: &'a [Option<crate::storage::ClaimId>],
    ) -> Request<'a> {
        Request {
            service,
            resources: spec.requests,
            constraints: &spec.placement,
            storage: crate::storage::PodStorage {
                namespace: &spec.meta.namespace,
                volumes: &spec.volumes,
                claims,
            },
        }
    }
}

impl Request<'static> {
    /// A replica of service 0 with `resources` and no constraints.
    pub fn plain(resources: Resources) -> Request<'static> {
        Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources,
            constraints: &NO_CONSTRAINTS,
        }
    }
}

/// The binds a scheduling batch has made so far, which the observed
/// cluster does not show yet.
///
/// Key decision: a cache keyed on the world's [`ChangeLog`] must also see
/// these. Each batch has an id unique in the process; `changed` lists the
/// nodes bound to in this batch, in order. A reader that sees a new batch
/// id must treat the previous batch's nodes as changed too (its binds may
/// or may not have been applied to the world).
#[derive(Debug)]
pub struct Batch {
    id: u64,
    counts: HashMap<(u32, u32), u32>,
    totals: HashMap<u32, u32>,
    changed: Vec<NodeId>,
    services: Vec<ServiceId>,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch with a fresh id.
    pub fn new() -> Batch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Batch {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            counts: HashMap::new(),
            totals: HashMap::new(),
            changed: Vec::new(),
            services: Vec::new(),
        }
    }

    /// This batch's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Nodes bound to in this batch, in order.
    pub fn changed(&self) -> &[NodeId] {
        &self.changed
    }

    /// The service of each bind, aligned with [`Batch::changed`]: a cache
    /// of per-service counts applies the binds it has not seen yet.
    pub fn changed_services(&self) -> &[ServiceId] {
        &self.services
    }

    /// Records a bind of a replica of `service` to `node`.
    pub fn bind(&mut self, node: NodeId, service: ServiceId) {
        *self.counts.entry((node.0, service.0)).or_default() += 1;
        *self.totals.entry(node.0).or_default() += 1;
        self.changed.push(node);
        self.services.push(service);
    }

    /// Replicas of `service` bound to `node` in this batch.
    pub fn count(&self, node: usize, service: ServiceId) -> u32 {
        if self.counts.is_empty() {
            return 0;
        }
        self.counts
            .get(&(node as u32, service.0))
            .copied()
            .unwrap_or(0)
    }

    /// Replicas of any service bound to `node` in this batch.
    pub fn replicas(&self, node: usize) -> u32 {
        if self.totals.is_empty() {
            return 0;
        }
        self.totals.get(&(node as u32)).copied().unwrap_or(0)
    }
}

/// The cluster as a placement policy sees it for one decision.
#[derive(Clone, Copy, Debug)]
pub struct ClusterView<'a> {
    /// Nodes as observed.
    pub nodes: &'a [NodeStatus],
    /// `allocs[i]`: `nodes[i]`'s allocation including this batch's binds.
    pub allocs: &'a [NodeAlloc],
    /// This batch's binds.
    pub batch: &'a Batch,
    /// Changes to `nodes` (not including this batch).
    pub changes: &'a ChangeLog,
    /// Volumes, claims and what each node holds, including this batch's binds.
    pub storage: &'a crate::storage::Storage,
}

impl ClusterView<'_> {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Replicas of `service` on node `i`, including this batch's binds.
    pub fn count(&self, i: usize, service: ServiceId) -> u32 {
        self.nodes[i].count(service) + self.batch.count(i, service)
    }

    /// Replicas of every service on node `i`, including this batch's binds.
    pub fn replicas(&self, i: usize) -> u32 {
        self.nodes[i].replicas + self.batch.replicas(i)
    }
}

/// An owned cluster to view: for tests, benchmarks and one-off decisions.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Nodes.
    pub nodes: Vec<NodeStatus>,
    /// Their allocations (as observed unless changed).
    pub allocs: Vec<NodeAlloc>,
    /// An empty batch.
    pub batch: Batch,
    /// The change log.
    pub changes: ChangeLog,
    /// Storage (empty unless set).
    pub storage: crate::storage::Storage,
}

impl Snapshot {
    /// Nodes with their observed allocations.
    pub fn new(nodes: Vec<NodeStatus>) -> Snapshot {
        let allocs = nodes.iter().map(NodeAlloc::of).collect();
        Snapshot {
            storage: Default::default(),
            nodes,
            allocs,
            batch: Batch::new(),
            changes: ChangeLog::new(),
        }
    }

    /// The view.
    pub fn view(&self) -> ClusterView<'_> {
        ClusterView {
            storage: &self.storage,
            nodes: &self.nodes,
            allocs: &self.allocs,
            batch: &self.batch,
            changes: &self.changes,
        }
    }

    /// Binds a replica to node `i` (status, allocation and change log).
    pub fn bind(&mut self, i: usize, service: ServiceId, requests: Resources) {
        self.nodes[i].add(service, requests);
        self.allocs[i] = NodeAlloc::of(&self.nodes[i]);
        self.changes.push(NodeId(i as u32));
    }

    /// Removes a replica bound to node `i`.
    pub fn unbind(&mut self, i: usize, service: ServiceId, requests: Resources) {
        self.nodes[i].remove(service, requests);
        self.allocs[i] = NodeAlloc::of(&self.nodes[i]);
        self.changes.push(NodeId(i as u32));
    }
}

/// What is bound to a node during a scheduling batch: the node's allocation
/// plus the binds the batch has made so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeAlloc {
    /// Sum of requests.
    pub requested: Resources,
    /// Sum of requests with Kubernetes' non-zero defaults.
    pub non_zero: Resources,
    /// Pods bound (upstream's `len(nodeInfo.Pods)`), for the `pods` check.
    pub pods: u32,
}

impl NodeAlloc {
    /// The allocation of `node` as observed.
    pub fn of(node: &NodeStatus) -> NodeAlloc {
        NodeAlloc {
            requested: node.allocated,
            non_zero: node.non_zero_allocated,
            pods: node.replicas,
        }
    }

    /// Adds a replica's requests.
    pub fn add(&mut self, requests: Resources) {
        self.requested += requests;
        self.non_zero += requests.non_zero();
        self.pods += 1;
    }
}

/// Why a policy would or would not choose each node: for `sim place`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// The policy.
    pub policy: String,
    /// One row per node, in node order.
    pub nodes: Vec<NodeVerdict>,
    /// The node the policy chose, if any.
    pub chosen: Option<String>,
    /// When no node fits and the policy preempts: what DefaultPreemption
    /// would do (absent otherwise, also from the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<PreemptionVerdict>,
}

/// DefaultPreemption's answer for a replica that fits no node: for `sim place`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PreemptionVerdict {
    /// The nominated node, if preemption helps.
    pub node: Option<String>,
    /// The pods it evicts there, most important first.
    pub victims: Vec<String>,
    /// How many of them break a PodDisruptionBudget.
    pub pdb_violations: u32,
    /// Why not, when it does not help: the attempt's or each node's reason.
    pub reasons: Vec<String>,
}

/// One node's verdicts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct NodeVerdict {
    /// Node name.
    pub node: String,
    /// `(filter, None if passed else the reason)`.
    pub filters: Vec<(String, Option<String>)>,
    /// `(score plugin, raw 0..100, weighted)` for feasible nodes.
    pub scores: Vec<(String, i64, i64)>,
    /// Sum of weighted scores.
    pub total: i64,
}

/// A placement policy: pick a node for one replica.
pub trait Place: Send {
    /// The name the registry knows it by.
    fn name(&self) -> &'static str;

    /// Picks a node for `request` in `view` (which includes binds made
    /// earlier in the same batch).
    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable>;

    /// Whether the policy is a kube-scheduler profile whose PostFilter is
    /// DefaultPreemption ([`crate::sched::preemption`]): a world then runs
    /// preemption for a replica this policy could not place. Default: no.
    fn preempts(&self) -> bool {
        false
    }

    /// Every node's filter verdicts and scores for `request`. The default
    /// explains the hard filters ([`crate::sched::hard::hard_filters`]),
    /// which every policy honours, with no scores.
    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        let mut hard = HardFilters::default();
        hard.prepare(request, view);
        view.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeVerdict {
                node: n.spec.name.clone(),
                filters: hard.verdicts(request, view, i),
                scores: vec![],
                total: 0,
            })
            .collect()
    }
}

/// One decision on `nodes` with explicit allocations, outside any batch:
/// for tests and one-off questions (a cache in `policy` cannot carry over
/// between calls, since every call is a new cluster).
pub fn place_plain(
    policy: &mut dyn Place,
    request: &Resources,
    nodes: &[NodeStatus],
    allocs: &[NodeAlloc],
    rng: &mut dyn Rng,
) -> Result<NodeId, Unschedulable> {
    let (batch, changes) = (Batch::new(), ChangeLog::new());
    let view = ClusterView {
        storage: &crate::storage::NO_STORAGE,
        nodes,
        allocs,
        batch: &batch,
        changes: &changes,
    };
    policy.place(&Request::plain(*request), &view, rng)
}

/// Explains a decision: every node's verdicts, then the policy's choice.
pub fn explain(
    policy: &mut dyn Place,
    request: &Request<'_>,
    view: &ClusterView<'_>,
    rng: &mut dyn Rng,
) -> Explanation {
    let rows = policy.explain(request, view);
    let chosen = policy
        .place(request, view, rng)
        .ok()
        .map(|id| view.nodes[id.0 as usize].spec.name.clone());
    Explanation {
        policy: policy.name().to_string(),
        nodes: rows,
        chosen,
        preemption: None,
    }
}

/// Checks one node: the node is ready, then kube-scheduler's
/// NodeResourcesFit filter (`fitsRequest` in
/// `pkg/scheduler/framework/plugins/noderesources/fit.go`): the pod count
/// first (`Too many pods`), then every resource the replica requests
/// ([`Resources::first_shortfall`]). Returns the first reason;
/// [`insufficient_resources`] lists them all.
pub fn fits(
    request: &Resources,
    node: &NodeStatus,
    allocated: &NodeAlloc,
) -> Result<(), FilterReason> {
    if !node.ready {
        return Err(FilterReason::NotReady);
    }
    let allocatable = &node.spec.allocatable;
    if allocated.pods >= allocatable.max_pods() {
        return Err(FilterReason::Insufficient(ResourceName::Pods));
    }
    match request.first_shortfall(&allocated.requested, allocatable) {
        Some(r) => Err(FilterReason::Insufficient(r)),
        None => Ok(()),
    }
}

/// One resource a node is short of, with upstream's numbers
/// (`InsufficientResource` in `noderesources/fit.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    /// The resource.
    pub resource: ResourceName,
    /// What the replica asks for (1 for `pods`).
    pub requested: u64,
    /// What the node's pods already use.
    pub used: u64,
    /// The node's allocatable amount.
    pub capacity: u64,
}

impl InsufficientResource {
    /// Upstream's reason: `Too many pods`, `Insufficient cpu`, …
    pub fn reason(&self) -> String {
        FilterReason::Insufficient(self.resource).to_string()
    }
}

/// Upstream's `fitsRequest`: every resource the node is short of for
/// `request`, the pod count first, then cpu, memory, ephemeral-storage and
/// the scalar resources; extended resources for which `ignored` answers
/// true are not checked (`IgnoredResources`, `IgnoredResourceGroups`).
/// Readiness is not part of it.
pub fn insufficient_resources(
    request: &Resources,
    node: &NodeStatus,
    allocated: &NodeAlloc,
    ignored: &dyn Fn(ResourceName) -> bool,
) -> Vec<InsufficientResource> {
    let allocatable = &node.spec.allocatable;
    let mut out = Vec::new();
    if allocated.pods >= allocatable.max_pods() {
        out.push(InsufficientResource {
            resource: ResourceName::Pods,
            requested: 1,
            used: u64::from(allocated.pods),
            capacity: u64::from(allocatable.max_pods()),
        });
    }
    for r in request.shortfalls(&allocated.requested, allocatable, ignored) {
        out.push(InsufficientResource {
            resource: r,
            requested: request.get(r),
            used: allocated.requested.get(r),
            capacity: allocatable.get(r),
        });
    }
    out
}

/// First fit: the first node, in node order, that passes the hard filters
/// (room for the replica, and its taints, node affinity and required
/// anti-affinity).
#[derive(Debug, Default)]
pub struct FirstFit {
    hard: HardFilters,
}

impl Place for FirstFit {
    fn name(&self) -> &'static str {
        "first-fit"
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        _rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        self.hard.prepare(request, view);
        let mut why = Unschedulable::default();
        for i in 0..view.len() {
            match self.hard.check(request, view, i) {
                Ok(()) => return Ok(NodeId(i as u32)),
                Err(reason) => why.add(reason),
            }
        }
        Err(why)
    }
}

mod batch;
#[cfg(test)]
mod fit_tests;

pub use batch::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::model::{
        DesiredState, ObservedCluster, ReplicaId, ReplicaState, ReplicaStatus, ServiceId,
        ServiceSpec,
    };
    use crate::rng::stream;
    use crate::testing::{node, service};
    use crate::time::SimTime;

    #[test]
    fn first_fit_takes_the_first_node_with_room() {
        let nodes = vec![
            node("a").cpu("1").mem("1Gi").status(),
            node("b").cpu("4").mem("8Gi").status(),
        ];
        let allocated = vec![
            NodeAlloc::default(),
            NodeAlloc {
                requested: Resources::new(3000, 0),
                non_zero: Resources::new(3000, 200 << 20),
                pods: 1,
            },
        ];
        let mut rng = stream(0, "t");
        // 500m fits a (0 + 500 ≤ 1000).
        assert_eq!(
            place_plain(
                &mut FirstFit::default(),
                &Resources::new(500, 0),
                &nodes,
                &allocated,
                &mut rng
            ),
            Ok(NodeId(0))
        );
        // 1000m fits a exactly (0 + 1000 ≤ 1000).
        assert_eq!(
            place_plain(
                &mut FirstFit::default(),
                &Resources::new(1000, 0),
                &nodes,
                &allocated,
                &mut rng
            ),
            Ok(NodeId(0))
        );
        // 1001m: a has 1000, b has 4000 − 3000 = 1000 left: nowhere.
        let err = place_plain(
            &mut FirstFit::default(),
            &Resources::new(1001, 0),
            &nodes,
            &allocated,
            &mut rng,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/2 nodes are available: 2 Insufficient cpu."
        );
    }

    #[test]
    fn batch_scheduling_accounts_for_its_own_binds() {
        let desired = DesiredState {
            services: vec![ServiceSpec {
                requests: Resources::new(600, 1 << 30),
                ..service("web")
            }],
        };
        let pending = ReplicaStatus {
            service: ServiceId(0),
            node: None,
            state: ReplicaState::Pending,
            since: SimTime(0),
        };
        let mut not_ready = node("c").cpu("8").mem("8Gi").status();
        not_ready.ready = false;
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![
                node("a").cpu("1").mem("8Gi").status(),
                node("b").cpu("1").mem("1Gi").status(),
                not_ready,
            ],
            replicas: vec![pending; 3],
            changes: Default::default(),
        };
        let actions = schedule(
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut stream(0, "t"),
        );
        // a: 600m of 1000m; b: 600m of 1000m; third: a (1200 > 1000 cpu), b (cpu), c not ready.
        assert_eq!(
            actions[0],
            Action::Bind {
                replica: ReplicaId(0),
                node: NodeId(0)
            }
        );
        assert_eq!(
            actions[1],
            Action::Bind {
                replica: ReplicaId(1),
                node: NodeId(1)
            }
        );
        let Action::Unschedulable { why, .. } = &actions[2] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            why.to_string(),
            "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were not ready."
        );
    }
}
