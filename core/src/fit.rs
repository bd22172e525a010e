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
    /// An inline disk another pod on the node uses (VolumeRestrictions).
    DiskConflict,
    /// A `ReadWriteOncePod` claim another pod uses (VolumeRestrictions).
    ReadWriteOncePodConflict,
    /// The node's attach limit for a CSI driver would be exceeded (NodeVolumeLimits).
    MaxVolumeCount,
    /// A bound volume's zone or region labels do not match the node's (VolumeZone).
    VolumeZoneConflict,
    /// VolumeBinding's reasons for this node (one or more; each is counted
    /// on its own, as upstream's status carries several).
    VolumeBinding(VolumeBindingReasons),
    /// A PreFilter rejected the pod on every node (a missing claim, an
    /// unbound immediate claim): printed once, without a count.
    PreFilter {
        /// Upstream's message.
        message: String,
        /// Whether removing pods could help (upstream's `Unschedulable`
        /// rather than `UnschedulableAndUnresolvable`).
        resolvable: bool,
    },
    /// A volume plugin's per-node failure with its own message (a missing
    /// claim looked up by NodeVolumeLimits, a class without binding mode).
    Volume {
        /// Upstream's message.
        message: String,
        /// Whether removing pods could help.
        resolvable: bool,
    },
    /// The node is not among those a PreFilter allowed (bound local
    /// volumes pin a pod to their nodes).
    NotInPreFilterResult(&'static str),
}

/// The reasons VolumeBinding's filter gives one node, as a set in
/// upstream's order: node affinity conflict, bind conflict, not enough
/// space, volume missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumeBindingReasons(pub u8);

impl VolumeBindingReasons {
    /// "node(s) had volume node affinity conflict".
    pub const NODE_CONFLICT: u8 = 1;
    /// "node(s) didn't find available persistent volumes to bind".
    pub const BIND_CONFLICT: u8 = 2;
    /// "node(s) did not have enough free storage".
    pub const NOT_ENOUGH_SPACE: u8 = 4;
    /// "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)".
    pub const PV_NOT_EXIST: u8 = 8;

    /// Each reason on its own, in upstream's order.
    pub fn each(self) -> impl Iterator<Item = VolumeBindingReasons> {
        [1u8, 2, 4, 8]
            .into_iter()
            .filter(move |b| self.0 & b != 0)
            .map(VolumeBindingReasons)
    }

    /// Upstream's messages, in order.
    pub fn messages(self) -> Vec<&'static str> {
        self.each()
            .map(|r| match r.0 {
                1 => "node(s) had volume node affinity conflict",
                2 => "node(s) didn't find available persistent volumes to bind",
                4 => "node(s) did not have enough free storage",
                _ => "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)",
            })
            .collect()
    }
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
            FilterReason::DiskConflict => write!(f, "node(s) had no available disk"),
            FilterReason::ReadWriteOncePodConflict => write!(
                f,
                "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
            ),
            FilterReason::MaxVolumeCount => write!(f, "node(s) exceed max volume count"),
            FilterReason::VolumeZoneConflict => write!(f, "node(s) had no available volume zone"),
            FilterReason::VolumeBinding(r) => write!(f, "{}", r.messages().join(", ")),
            FilterReason::PreFilter { message, .. } | FilterReason::Volume { message, .. } => {
                write!(f, "{message}")
            }
            FilterReason::NotInPreFilterResult(plugin) => {
                write!(f, "node(s) didn't satisfy plugin(s) [{plugin}]")
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
        match reason {
            FilterReason::VolumeBinding(r) if r.each().count() > 1 => {
                for one in r.each() {
                    *self
                        .reasons
                        .entry(FilterReason::VolumeBinding(one))
                        .or_default() += 1;
                }
            }
            r => *self.reasons.entry(r).or_default() += 1,
        }
    }
}

impl fmt::Display for Unschedulable {
    /// Formats like kube-scheduler's FitError: `0/3 nodes are available: 3 Insufficient cpu.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available", self.nodes)?;
        // A PreFilter's rejection is the whole message (upstream's PreFilterMsg).
        if let Some(FilterReason::PreFilter { message, .. }) = self
            .reasons
            .keys()
            .find(|r| matches!(r, FilterReason::PreFilter { .. }))
        {
            return write!(f, ": {message}.");
        }
        let mut sep = ": ";
        for (reason, n) in &self.reasons {
            write!(f, "{sep}{n} {reason}")?;
            sep = ", ";
        }
        write!(f, ".")
    }
}
