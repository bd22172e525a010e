//! Why a replica does not fit: the reason one node rejected it and the
//! count of reasons over all nodes, worded as kube-scheduler words them.
//!
//! Key decision: these are plain values below both the placement seam
//! (which produces them) and the actions (which carry them to the worlds),
//! so neither has to import the other to name an unschedulable replica.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::ResourceName;

/// Why one node cannot take a replica. Displayed with kube-scheduler's
/// wording so that messages read as users know them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterReason {
    /// Requests plus allocated exceed allocatable for this resource
    /// (`Insufficient cpu`); for [`ResourceName::Pods`], the node already
    /// runs as many pods as it accepts (`Too many pods`).
    Insufficient(ResourceName),
    /// The node does not accept replicas.
    NotReady,
    /// A NoSchedule/NoExecute taint the replica does not tolerate (TaintToleration).
    UntoleratedTaint {
        /// Taint key.
        key: String,
        /// Taint value.
        value: String,
    },
    /// nodeSelector or required node affinity not met (NodeAffinity).
    NodeAffinity,
    /// Placing here would exceed a DoNotSchedule constraint's maxSkew (PodTopologySpread).
    TopologySpread,
    /// The node lacks a DoNotSchedule constraint's topology label (PodTopologySpread).
    TopologyLabelMissing,
    /// A replica of the same service already runs in this domain (InterPodAffinity).
    AntiAffinity,
    /// A whole-placement policy's own rule, worded by the policy.
    Policy(&'static str),
    /// A required pod affinity term has no matching pod in the node's domain (InterPodAffinity).
    PodAffinity,
    /// A running pod's required anti-affinity term selects the replica in this domain (InterPodAffinity).
    ExistingAntiAffinity,
}

impl fmt::Display for FilterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterReason::Insufficient(ResourceName::Pods) => write!(f, "Too many pods"),
            FilterReason::Insufficient(r) => write!(f, "Insufficient {}", r.as_str()),
            FilterReason::NotReady => write!(f, "node(s) were not ready"),
            FilterReason::UntoleratedTaint { key, value } => {
                write!(f, "node(s) had untolerated taint {{{key}: {value}}}")
            }
            FilterReason::NodeAffinity => {
                write!(f, "node(s) didn't match Pod's node affinity/selector")
            }
            FilterReason::TopologySpread => {
                write!(f, "node(s) didn't match pod topology spread constraints")
            }
            FilterReason::TopologyLabelMissing => write!(
                f,
                "node(s) didn't match pod topology spread constraints (missing required label)"
            ),
            FilterReason::AntiAffinity => write!(f, "node(s) didn't match pod anti-affinity rules"),
            FilterReason::Policy(why) => write!(f, "{why}"),
            FilterReason::PodAffinity => write!(f, "node(s) didn't match pod affinity rules"),
            FilterReason::ExistingAntiAffinity => {
                write!(
                    f,
                    "node(s) didn't satisfy existing pods anti-affinity rules"
                )
            }
        }
    }
}

/// No node can take a replica, with a count of nodes per reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unschedulable {
    /// Nodes considered.
    pub nodes: u32,
    /// How many nodes were rejected for each reason.
    pub reasons: BTreeMap<FilterReason, u32>,
}

impl Unschedulable {
    /// Counts one more rejected node.
    pub fn add(&mut self, reason: FilterReason) {
        self.nodes += 1;
        *self.reasons.entry(reason).or_default() += 1;
    }
}

impl fmt::Display for Unschedulable {
    /// Formats like kube-scheduler's FitError: `0/3 nodes are available: 3 Insufficient cpu.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available", self.nodes)?;
        let mut sep = ": ";
        for (reason, n) in &self.reasons {
            write!(f, "{sep}{n} {reason}")?;
            sep = ", ";
        }
        write!(f, ".")
    }
}
