//! DefaultPreemption, the default profile's PostFilter: when a pod fits no
//! node, find the node and the smallest set of lower-priority pods whose
//! eviction lets it in.
//!
//! Key decision: each step is a public function under its upstream name,
//! transcribing `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go`
//! (`SelectVictimsOnNode`, `PodEligibleToPreemptOthers`,
//! `filterPodsWithPDBViolation`, `calculateNumCandidates`) and
//! `pkg/scheduler/framework/preemption/preemption.go` (`Preempt`,
//! `findCandidates`, `DryRunPreemption`, `pickOneNodeForPreemption`),
//! kubernetes/kubernetes commits 008b3652959ca58af8be3fb5b6ecfe9ae7638282
//! and 00e6d95193934fed1b980e82fb6ec563e9dd1693. A pod is a replica of the
//! observed cluster; its priority, namespace, labels and requests are its
//! service's. The dry run works on one owned copy of the nodes
//! ([`Snapshot`]) and checks fit with the profile's filters
//! ([`HardFilters`]), removing and re-adding victims on the node's status
//! as upstream's `RemovePod`/`AddPod` pre-filter extensions do. Preemption
//! runs only when a pod could not be placed, never on the placement hot
//! path.
//!
//! Differences from upstream, each deliberate: nominated pods are not added
//! to the dry run's filters (the simulator reserves a nominated pod's
//! requests on its node instead, so every later filter sees them); the
//! candidates' tie after every criterion goes to the first in node order
//! from the offset, where upstream takes the first of a Go map's random
//! iteration; extenders and custom `OrderedScoreFuncs` do not exist here.

use std::cmp::Ordering;

use crate::disruption::PodDisruptionBudget;
use crate::fit::FilterReason;
use crate::model::{DesiredState, NodeId, ObservedCluster, ReplicaId, ReplicaState};
use crate::placement::{Request, Snapshot};
use crate::priority::PreemptionPolicy;
use crate::sched::hard::HardFilters;
use crate::time::SimTime;

/// `DefaultPreemptionArgs` (`pkg/scheduler/apis/config/v1/defaults.go`:
/// 10% and 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultPreemptionArgs {
    /// `minCandidateNodesPercentage`.
    pub min_candidate_nodes_percentage: u32,
    /// `minCandidateNodesAbsolute`.
    pub min_candidate_nodes_absolute: u32,
}

impl Default for DefaultPreemptionArgs {
    fn default() -> DefaultPreemptionArgs {
        DefaultPreemptionArgs {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

/// `calculateNumCandidates`: how many candidates the dry run looks for among
/// `num_nodes` potential nodes.
pub fn calculate_num_candidates(args: &DefaultPreemptionArgs, num_nodes: u32) -> u32 {
    let n = (num_nodes * args.min_candidate_nodes_percentage) / 100;
    n.max(args.min_candidate_nodes_absolute).min(num_nodes)
}

/// `GetOffsetAndNumCandidates`' offset: where the dry run starts among
/// `n` potential nodes, uniform in `[0, n)` (0 when there are none).
pub fn get_offset(rng: &mut dyn rand::Rng, n: usize) -> usize {
    use rand::RngExt;
    if n == 0 { 0 } else { rng.random_range(0..n) }
}

/// A PodDisruptionBudget as preemption reads it: the spec and the two
/// status fields `filterPodsWithPDBViolation` uses.
#[derive(Clone, Debug)]
pub struct Budget<'a> {
    /// The budget.
    pub pdb: &'a PodDisruptionBudget,
    /// `status.disruptionsAllowed` (see [`PodDisruptionBudget::status_in`]).
    pub disruptions_allowed: i64,
    /// `status.disruptedPods`: evictions the API server already processed.
    pub disrupted_pods: Vec<ReplicaId>,
}

/// The cluster preemption looks at.
#[derive(Clone, Copy, Debug)]
pub struct Cluster<'a> {
    /// Services: a pod's priority, requests, namespace and labels.
    pub desired: &'a DesiredState,
    /// Nodes and replicas.
    pub observed: &'a ObservedCluster,
}

impl Cluster<'_> {
    /// `corev1helpers.PodPriority`.
    pub fn priority(&self, r: ReplicaId) -> i32 {
        let s = self.observed.replicas[r.0 as usize].service;
        self.desired.services[s.0 as usize].placement.priority
    }

    /// `GetPodStartTime`: when the replica entered its state (bound
    /// replicas: their bind, start or readiness).
    pub fn start_time(&self, r: ReplicaId) -> SimTime {
        self.observed.replicas[r.0 as usize].since
    }
}

/// `util.MoreImportantPod`: higher priority first, then the earlier start
/// time; ties keep replica order (upstream's sort is unstable there).
pub fn more_important_pod(cluster: &Cluster<'_>, a: ReplicaId, b: ReplicaId) -> Ordering {
    cluster
        .priority(b)
        .cmp(&cluster.priority(a))
        .then(cluster.start_time(a).cmp(&cluster.start_time(b)))
        .then(a.cmp(&b))
}

/// The victims on one node (most important first) and how many of them
/// break a PDB: upstream's `extenderv1.Victims`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The node.
    pub node: NodeId,
    /// Pods to evict, most important first.
    pub victims: Vec<ReplicaId>,
    /// `NumPDBViolations`.
    pub num_pdb_violations: u32,
}

/// Why a node is no candidate, or why preemption did nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotPreempted {
    /// `PodEligibleToPreemptOthers` said no, with upstream's reason.
    NotEligible(&'static str),
    /// The node has no pod of lower priority: "No preemption victims found
    /// for incoming pod".
    NoVictims,
    /// Even without every lower-priority pod the node fails this filter.
    StillUnfit(FilterReason),
    /// The node failed a filter that evicting pods cannot fix
    /// (UnschedulableAndUnresolvable): "Preemption is not helpful for scheduling".
    NotHelpful,
}

impl std::fmt::Display for NotPreempted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotPreempted::NotEligible(why) => write!(f, "{why}"),
            NotPreempted::NoVictims => write!(f, "No preemption victims found for incoming pod"),
            NotPreempted::StillUnfit(r) => write!(f, "{r}"),
            NotPreempted::NotHelpful => write!(f, "Preemption is not helpful for scheduling"),
        }
    }
}

/// Whether a filter failure could be fixed by removing pods from the node:
/// upstream's `Unschedulable` (resources, topology spread skew,
/// anti-affinity) against `UnschedulableAndUnresolvable` (taints, node
/// affinity, a missing topology label, a not-ready node, a whole-placement
/// policy's own rule). Reasons added later count as resolvable: the dry
/// run checks fit anyway.
pub fn resolvable(reason: &FilterReason) -> bool {
    #[allow(unreachable_patterns)]
    match reason {
        FilterReason::Insufficient(_) => true,
        FilterReason::TopologySpread => true,
        FilterReason::AntiAffinity => true,
        FilterReason::NotReady => false,
        FilterReason::UntoleratedTaint { .. } => false,
        FilterReason::NodeAffinity => false,
        FilterReason::TopologyLabelMissing => false,
        FilterReason::Policy(_) => false,
        FilterReason::VolumeZoneConflict => false,
        FilterReason::VolumeBinding(_) => false,
        FilterReason::NotInPreFilterResult(_) => false,
        FilterReason::PreFilter { resolvable, .. } | FilterReason::Volume { resolvable, .. } => {
            *resolvable
        }
        FilterReason::DiskConflict => true,
        FilterReason::ReadWriteOncePodConflict => true,
        FilterReason::MaxVolumeCount => true,
        _ => true,
    }
}

/// `PodEligibleToPreemptOthers`: a pod with `preemptionPolicy: Never` may
/// not preempt; nor may one already nominated to a node (that still passes
/// or only fails resolvably) where a lower-priority pod it preempted is
/// still terminating (`terminating_by_preemption`).
pub fn pod_eligible_to_preempt_others(
    cluster: &Cluster<'_>,
    priority: i32,
    policy: PreemptionPolicy,
    nominated: Option<(NodeId, bool)>,
    terminating_by_preemption: &dyn Fn(ReplicaId) -> bool,
) -> Result<(), NotPreempted> {
    if policy == PreemptionPolicy::Never {
        return Err(NotPreempted::NotEligible(
            "not eligible due to preemptionPolicy=Never.",
        ));
    }
    let Some((node, unresolvable)) = nominated else {
        return Ok(());
    };
    if unresolvable {
        return Ok(());
    }
    let waiting = cluster.observed.replicas.iter().enumerate().any(|(i, r)| {
        let id = ReplicaId(i as u32);
        r.node == Some(node)
            && r.state == ReplicaState::Terminating
            && cluster.priority(id) < priority
            && terminating_by_preemption(id)
    });
    if waiting {
        return Err(NotPreempted::NotEligible(
            "not eligible due to a terminating pod on the nominated node.",
        ));
    }
    Ok(())
}

/// `filterPodsWithPDBViolation`: splits `pods` (order kept) into those whose
/// eviction would take a matching budget below zero and the others, each
/// pod spending one disruption of every budget that selects it (pods
/// already in a budget's `disruptedPods` spend nothing).
pub fn filter_pods_with_pdb_violation(
    cluster: &Cluster<'_>,
    pods: &[ReplicaId],
    budgets: &[Budget<'_>],
) -> (Vec<ReplicaId>, Vec<ReplicaId>) {
    let mut allowed: Vec<i64> = budgets.iter().map(|b| b.disruptions_allowed).collect();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for &p in pods {
        let s = cluster.observed.replicas[p.0 as usize].service;
        let meta = &cluster.desired.services[s.0 as usize].meta;
        let mut violated = false;
        for (b, left) in budgets.iter().zip(&mut allowed) {
            if !b.pdb.selects_for_preemption(&meta.namespace, &meta.labels) {
                continue;
            }
            if b.disrupted_pods.contains(&p) {
                continue;
            }
            *left -= 1;
            if *left < 0 {
                violated = true;
            }
        }
        if violated {
            violating.push(p);
        } else {
            non_violating.push(p);
        }
    }
    (violating, non_violating)
}

/// Pods bound to node `node` that preemption may consider: every replica
/// still on it (starting, ready, or already terminating), in id order.
pub fn pods_on_node(cluster: &Cluster<'_>, node: NodeId) -> Vec<ReplicaId> {
    cluster
        .observed
        .replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.node == Some(node)
                && matches!(
                    r.state,
                    ReplicaState::Starting | ReplicaState::Ready | ReplicaState::Terminating
                )
        })
        .map(|(i, _)| ReplicaId(i as u32))
        .collect()
}

/// What the dry run needs besides the cluster: the preemptor, the budgets,
/// and `IsEligiblePod` (which lower-priority pods may be victims at all).
pub struct Preemptor<'a> {
    /// The pod to place.
    pub request: Request<'a>,
    /// Its priority.
    pub priority: i32,
    /// `IsEligiblePod`: upstream's default allows every lower-priority pod.
    pub eligible: &'a dyn Fn(ReplicaId) -> bool,
}

fn fits(
    p: &Preemptor<'_>,
    snap: &Snapshot,
    filters: &mut HardFilters,
    node: usize,
) -> Result<(), FilterReason> {
    let view = snap.view();
    filters.prepare(&p.request, &view);
    filters.check(&p.request, &view, node)
}

fn remove(cluster: &Cluster<'_>, snap: &mut Snapshot, node: usize, r: ReplicaId) {
    let s = cluster.observed.replicas[r.0 as usize].service;
    snap.unbind(node, s, cluster.desired.services[s.0 as usize].requests);
}

fn add(cluster: &Cluster<'_>, snap: &mut Snapshot, node: usize, r: ReplicaId) {
    let s = cluster.observed.replicas[r.0 as usize].service;
    snap.bind(node, s, cluster.desired.services[s.0 as usize].requests);
}

/// `SelectVictimsOnNode`: removes every eligible pod of lower priority
/// from `node` in `snap`; if the preemptor then fits, re-adds them most
/// important first — PDB-violating ones before the others — keeping each
/// that still leaves room, and returns the rest as victims with the number
/// of PDB violations among them. `snap` is as it was on return.
pub fn select_victims_on_node(
    cluster: &Cluster<'_>,
    preemptor: &Preemptor<'_>,
    snap: &mut Snapshot,
    filters: &mut HardFilters,
    node: NodeId,
    budgets: &[Budget<'_>],
) -> Result<Candidate, NotPreempted> {
    let i = node.0 as usize;
    let mut potential: Vec<ReplicaId> = pods_on_node(cluster, node)
        .into_iter()
        .filter(|&r| cluster.priority(r) < preemptor.priority && (preemptor.eligible)(r))
        .collect();
    if potential.is_empty() {
        return Err(NotPreempted::NoVictims);
    }
    for &r in &potential {
        remove(cluster, snap, i, r);
    }
    if let Err(why) = fits(preemptor, snap, filters, i) {
        for &r in &potential {
            add(cluster, snap, i, r);
        }
        return Err(NotPreempted::StillUnfit(why));
    }
    potential.sort_by(|&a, &b| more_important_pod(cluster, a, b));
    let (violating, non_violating) = filter_pods_with_pdb_violation(cluster, &potential, budgets);
    let mut victims = Vec::new();
    let mut num_violating = 0;
    for (pods, count) in [(&violating, true), (&non_violating, false)] {
        for &r in pods {
            add(cluster, snap, i, r);
            if fits(preemptor, snap, filters, i).is_err() {
                remove(cluster, snap, i, r);
                victims.push(r);
                if count {
                    num_violating += 1;
                }
            }
        }
    }
    if !violating.is_empty() && !non_violating.is_empty() {
        victims.sort_by(|&a, &b| more_important_pod(cluster, a, b));
    }
    for &r in &victims {
        add(cluster, snap, i, r);
    }
    Ok(Candidate {
        node,
        victims,
        num_pdb_violations: num_violating,
    })
}

/// `DryRunPreemption`: [`select_victims_on_node`] on `potential` nodes
/// from `offset` on (wrapping), stopping once at least one non-violating
/// candidate is found and `num_candidates` are; non-violating candidates
/// first, each group in the order found. The second list is every node
/// that is no candidate, with why.
pub fn dry_run_preemption(
    cluster: &Cluster<'_>,
    preemptor: &Preemptor<'_>,
    snap: &mut Snapshot,
    potential: &[NodeId],
    budgets: &[Budget<'_>],
    offset: usize,
    num_candidates: usize,
) -> (Vec<Candidate>, Vec<(NodeId, NotPreempted)>) {
    let mut filters = HardFilters::default();
    let (mut non_violating, mut violating, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..potential.len() {
        let node = potential[(offset + k) % potential.len()];
        match select_victims_on_node(cluster, preemptor, snap, &mut filters, node, budgets) {
            Ok(c) if c.victims.is_empty() => {
                // Upstream reports "expected at least one victim pod" as an error.
                failed.push((node, NotPreempted::NoVictims));
            }
            Ok(c) => {
                if c.num_pdb_violations == 0 {
                    non_violating.push(c);
                } else {
                    violating.push(c);
                }
                if !non_violating.is_empty()
                    && non_violating.len() + violating.len() >= num_candidates
                {
                    break;
                }
            }
            Err(why) => failed.push((node, why)),
        }
    }
    non_violating.extend(violating);
    (non_violating, failed)
}

/// `GetEarliestPodStartTime`: the earliest start among the victims of the
/// highest priority.
fn earliest_start_of_highest(cluster: &Cluster<'_>, victims: &[ReplicaId]) -> Option<SimTime> {
    let top = victims.iter().map(|&v| cluster.priority(v)).max()?;
    victims
        .iter()
        .filter(|&&v| cluster.priority(v) == top)
        .map(|&v| cluster.start_time(v))
        .min()
}

/// `pickOneNodeForPreemption`: the index in `candidates` of the node
/// with (1) the fewest PDB violations, then (2) the lowest highest-victim
/// priority, (3) the smallest sum of victim priorities (each shifted by
/// 2³¹ so negative priorities count as small, not as savings), (4) the
/// fewest victims, (5) the latest start among its highest-priority
/// victims, then (6) the first. `None` without candidates.
pub fn pick_one_node_for_preemption(
    cluster: &Cluster<'_>,
    candidates: &[Candidate],
) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let score_funcs: [&dyn Fn(&Candidate) -> i64; 5] = [
        &|c| -i64::from(c.num_pdb_violations),
        &|c| {
            -c.victims
                .iter()
                .map(|&v| i64::from(cluster.priority(v)))
                .max()
                .unwrap_or(i64::from(i32::MIN))
        },
        &|c| {
            -c.victims
                .iter()
                .map(|&v| i64::from(cluster.priority(v)) + i64::from(i32::MAX) + 1)
                .sum::<i64>()
        },
        &|c| -(c.victims.len() as i64),
        &|c| earliest_start_of_highest(cluster, &c.victims).map_or(i64::MIN, |t| t.0 as i64),
    ];
    let mut all: Vec<usize> = (0..candidates.len()).collect();
    for f in score_funcs {
        let mut max = i64::MIN;
        let mut selected = Vec::new();
        for &k in &all {
            let score = f(&candidates[k]);
            if score > max {
                max = score;
                selected.clear();
            }
            if score == max {
                selected.push(k);
            }
        }
        if selected.len() == 1 {
            return Some(selected[0]);
        }
        all = selected;
    }
    Some(all[0])
}

/// What [`preempt`] decided: the node to nominate and the pods to evict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preemption {
    /// The chosen candidate.
    pub candidate: Candidate,
    /// Lower-priority pods nominated to the same node, whose nomination
    /// upstream clears (`getLowerPriorityNominatedPods`); the caller knows
    /// its nominations and clears them itself.
    pub nominated_node: NodeId,
}

/// `Evaluator.Preempt` without the API calls: checks eligibility, finds
/// the nodes whose failure is resolvable, dry-runs preemption on them from
/// `offset` (upstream draws it uniformly from `[0, nodes)`; tests pass 0),
/// and picks one. `Err` carries the reason for the whole attempt: not
/// eligible, or every node's reason when no candidate exists.
#[allow(clippy::too_many_arguments)]
pub fn preempt(
    cluster: &Cluster<'_>,
    preemptor: &Preemptor<'_>,
    policy: PreemptionPolicy,
    nominated: Option<NodeId>,
    budgets: &[Budget<'_>],
    args: &DefaultPreemptionArgs,
    offset: &mut dyn FnMut(usize) -> usize,
    terminating_by_preemption: &dyn Fn(ReplicaId) -> bool,
) -> Result<Preemption, Vec<(NodeId, NotPreempted)>> {
    let mut snap = Snapshot::new(cluster.observed.nodes.clone());
    // The volume plugins see the cluster's storage (removing a victim does
    // not free what it holds there: VolumeRestrictions' RemovePod is not
    // modelled).
    if !cluster.observed.storage.is_empty() {
        snap.storage = cluster.observed.storage.clone();
    }
    let mut filters = HardFilters::default();
    let view = snap.view();
    filters.prepare(&preemptor.request, &view);
    let verdicts: Vec<Result<(), FilterReason>> = (0..view.len())
        .map(|i| filters.check(&preemptor.request, &view, i))
        .collect();
    let nominated = nominated.map(|n| {
        let unresolvable = verdicts[n.0 as usize]
            .as_ref()
            .is_err_and(|r| !resolvable(r));
        (n, unresolvable)
    });
    if let Err(why) = pod_eligible_to_preempt_others(
        cluster,
        preemptor.priority,
        policy,
        nominated,
        terminating_by_preemption,
    ) {
        return Err(vec![(NodeId(u32::MAX), why)]);
    }
    let mut failed = Vec::new();
    let mut potential = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        match v {
            Err(r) if resolvable(r) => potential.push(NodeId(i as u32)),
            // A node the pod fits needs no preemption (upstream never gets
            // here with one); neither does an unresolvable one help.
            _ => failed.push((NodeId(i as u32), NotPreempted::NotHelpful)),
        }
    }
    if potential.is_empty() {
        return Err(failed);
    }
    let n = calculate_num_candidates(args, potential.len() as u32) as usize;
    let start = offset(potential.len());
    let (candidates, more) =
        dry_run_preemption(cluster, preemptor, &mut snap, &potential, budgets, start, n);
    match pick_one_node_for_preemption(cluster, &candidates) {
        Some(k) => {
            let candidate = candidates[k].clone();
            Ok(Preemption {
                nominated_node: candidate.node,
                candidate,
            })
        }
        None => {
            failed.extend(more);
            failed.sort_by_key(|(n, _)| *n);
            Err(failed)
        }
    }
}

/// The budgets of `pdbs` with their current status in `cluster`
/// ([`PodDisruptionBudget::status_in`]) and no disrupted pods.
pub fn budgets<'a>(cluster: &Cluster<'_>, pdbs: &'a [PodDisruptionBudget]) -> Vec<Budget<'a>> {
    pdbs.iter()
        .map(|pdb| Budget {
            pdb,
            disruptions_allowed: i64::from(
                pdb.status_in(cluster.desired, cluster.observed)
                    .disruptions_allowed,
            ),
            disrupted_pods: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
