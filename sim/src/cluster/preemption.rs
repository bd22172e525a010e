//! Preemption's state in the simulated world: who is nominated where, and
//! which replicas are terminating because they were preempted.
//!
//! Key decision: the scheduler's PostFilter is the core's
//! [`preempt`](orkestra_core::sched::preemption::preempt); this file keeps
//! only what the world must remember between scheduling rounds. A
//! nominated replica leaves the scheduling queue and its requests are
//! *reserved* on its node (bound in the observed allocation without a
//! replica), so no other pod's filters see the room its victims free —
//! upstream's scheduler adds nominated pods to the filters of pods of
//! lower or equal priority; here every later pod sees the reservation, and
//! a higher-priority preemptor that chooses the same node clears it
//! (`getLowerPriorityNominatedPods`). Once every victim has terminated the
//! replica binds to its node if the hard filters still pass, else it
//! returns to the queue. The whole subsystem is `None` unless the
//! placement policy preempts and the scenario's pods differ in priority,
//! so a scenario without priorities runs exactly as before.

use std::collections::{BTreeMap, BTreeSet};

use orkestra_core::model::{DesiredState, NodeId};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;

/// A replica nominated to a node, waiting for its victims to go.
#[derive(Clone, Debug)]
pub(super) struct Nomination {
    pub(super) node: NodeId,
    pub(super) priority: i32,
    pub(super) victims: Vec<u32>,
}

/// Preemption's memory between scheduling rounds.
pub(super) struct Preempting {
    /// The lowest priority of any pod: a replica at it has no one to preempt.
    pub(super) min_priority: i32,
    /// The dry run's offset (`GetOffsetAndNumCandidates`), drawn from `policy/preemption`.
    pub(super) rng: StreamRng,
    /// Nominated replicas by id.
    pub(super) nominated: BTreeMap<u32, Nomination>,
    /// Replicas terminating because they were preempted.
    pub(super) victims: BTreeSet<u32>,
}

impl Preempting {
    /// The subsystem, when `preempts` (the placement policy's PostFilter is
    /// DefaultPreemption) and the pods' priorities are not all equal.
    pub(super) fn new(scenario: &Scenario, preempts: bool) -> Option<Preempting> {
        let prios = || priorities(&scenario.desired);
        let min = prios().min()?;
        let max = prios().max()?;
        (preempts && min < max).then(|| Preempting {
            min_priority: min,
            rng: stream(scenario.seed, &format!("{}/preemption", names::POLICY)),
            nominated: BTreeMap::new(),
            victims: BTreeSet::new(),
        })
    }

    /// Nominations on `node` of a priority below `priority`, in id order.
    pub(super) fn lower_on(&self, node: NodeId, priority: i32) -> Vec<u32> {
        self.nominated
            .iter()
            .filter(|(_, n)| n.node == node && n.priority < priority)
            .map(|(&r, _)| r)
            .collect()
    }
}

fn priorities(desired: &DesiredState) -> impl Iterator<Item = i32> + '_ {
    desired.services.iter().map(|s| s.placement.priority)
}
