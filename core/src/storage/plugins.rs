//! The default profile's volume plugins, in its order: VolumeRestrictions,
//! NodeVolumeLimits, VolumeBinding, VolumeZone (between NodeResourcesFit
//! and PodTopologySpread).
//!
//! Key decision: a plugin's PreFilter is [`Filter::prepare`]; a PreFilter
//! that rejects the pod (a missing claim, an unbound immediate claim) makes
//! every node fail with that one reason, which
//! [`Unschedulable`](crate::fit::Unschedulable) prints once, without a
//! count, as upstream's `FitError` prints a PreFilter message; a PreFilter
//! that skips makes the filter pass. A pod without volumes is skipped by
//! all four, so they cost the common case one test.
//!
//! Sources, kubernetes/kubernetes `pkg/scheduler/framework/plugins/`:
//! `volumerestrictions/volume_restrictions.go` @ 78fc8e44,
//! `nodevolumelimits/csi.go` @ 113b12c6 (with the VolumeAttachment
//! counting of the v1.33 tests), `volumebinding/volume_binding.go`
//! @ 7ac2504c and `binder.go` @ 8af39349, `volumezone/volume_zone.go`
//! @ 02d7708a. Not modelled: storage capacity tracking (CSIStorageCapacity,
//! "node(s) did not have enough free storage"), generic ephemeral volumes,
//! `volumeMode`, claim label selectors, and VolumeBinding's score (behind
//! a feature gate that is off by default).

use std::collections::BTreeSet;

use super::{AccessModes, ClaimId, LABEL_REGION, PodStorage, Storage};
use crate::fit::{FilterReason, VolumeBindingReasons};
use crate::labels::Labels;
use crate::model::{LABEL_HOSTNAME, LABEL_ZONE, SelectorOp};
use crate::placement::{ClusterView, Request};
use crate::sched::Filter;

/// What a PreFilter decided.
#[derive(Clone, Debug, Default)]
enum Pre<T> {
    /// The plugin does not apply to the pod.
    #[default]
    Skip,
    /// The pod fails on every node with this reason.
    Fail(FilterReason),
    /// Check each node with this state.
    Check(T),
}

/// A PreFilter's outcome, for tests that replay upstream's tables.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PreStatus {
    /// Skip: the filter is not run.
    Skip,
    /// Success.
    Ok,
    /// Rejected with this reason.
    Fail(FilterReason),
}

#[cfg(test)]
impl<T> Pre<T> {
    fn status(&self) -> PreStatus {
        match self {
            Pre::Skip => PreStatus::Skip,
            Pre::Fail(r) => PreStatus::Fail(r.clone()),
            Pre::Check(_) => PreStatus::Ok,
        }
    }
}

#[cfg(test)]
impl VolumeRestrictions {
    pub(crate) fn pre(&self) -> PreStatus {
        self.pre.status()
    }
}

#[cfg(test)]
impl NodeVolumeLimits {
    pub(crate) fn pre(&self) -> PreStatus {
        if self.applies {
            PreStatus::Ok
        } else {
            PreStatus::Skip
        }
    }
}

#[cfg(test)]
impl VolumeBinding {
    pub(crate) fn pre(&self) -> PreStatus {
        self.pre.status()
    }
}

#[cfg(test)]
impl VolumeZone {
    pub(crate) fn pre(&self) -> PreStatus {
        self.pre.status()
    }
}

impl<T> Pre<T> {
    /// For a filter: pass (`Ok(None)`), fail with the PreFilter's reason,
    /// or check the node with this state.
    fn state(&self) -> Result<Option<&T>, FilterReason> {
        match self {
            Pre::Skip => Ok(None),
            Pre::Fail(r) => Err(r.clone()),
            Pre::Check(t) => Ok(Some(t)),
        }
    }
}

fn not_found(claim: &str) -> String {
    format!("persistentvolumeclaim {claim:?} not found")
}

fn unresolvable(message: String) -> FilterReason {
    FilterReason::PreFilter {
        message,
        resolvable: false,
    }
}

/// `VolumeRestrictions`: inline disks in use by another pod on the node
/// ("node(s) had no available disk") and `ReadWriteOncePod` claims in use
/// by any pod in the cluster.
#[derive(Debug, Default)]
pub struct VolumeRestrictions {
    pre: Pre<u32>,
}

impl Filter for VolumeRestrictions {
    fn name(&self) -> &'static str {
        "VolumeRestrictions"
    }

    fn skips(&self) -> bool {
        matches!(self.pre, Pre::Skip)
    }

    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        let pod = &request.storage;
        let storage = view.storage;
        let needs_check = pod.disks().next().is_some();
        let mut rwop: Vec<ClaimId> = Vec::new();
        for (name, c) in pod.claim_volumes() {
            let Some(c) = c else {
                self.pre = Pre::Fail(unresolvable(not_found(name)));
                return;
            };
            if storage.claim(c).access_modes.contains(AccessModes::RWOP) && !rwop.contains(&c) {
                rwop.push(c);
            }
        }
        let conflicts = rwop
            .iter()
            .filter(|c| storage.users.get(c.0 as usize).is_some_and(|&u| u > 0))
            .count() as u32;
        self.pre = if !needs_check && conflicts == 0 {
            Pre::Skip
        } else {
            Pre::Check(conflicts)
        };
    }

    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        let Some(conflicts) = self.pre.state()? else {
            return Ok(());
        };
        let conflicts = *conflicts;
        if let Some(node) = view.storage.node(i) {
            for d in request.storage.disks() {
                if node.disks.iter().any(|(e, _)| d.conflicts(e)) {
                    return Err(FilterReason::DiskConflict);
                }
            }
        }
        if conflicts > 0 {
            return Err(FilterReason::ReadWriteOncePodConflict);
        }
        Ok(())
    }
}

/// `NodeVolumeLimits` (CSI): the node's attachable volumes per driver —
/// those its pods use, those still attached (VolumeAttachments), and the
/// pod's new ones — within its CSINode's per-driver limit ("node(s) exceed
/// max volume count").
#[derive(Debug, Default)]
pub struct NodeVolumeLimits {
    applies: bool,
}

impl Filter for NodeVolumeLimits {
    fn name(&self) -> &'static str {
        "NodeVolumeLimits"
    }

    fn skips(&self) -> bool {
        !self.applies
    }

    fn prepare(&mut self, request: &Request<'_>, _view: &ClusterView<'_>) {
        let pod = &request.storage;
        self.applies =
            pod.claim_volumes().next().is_some() || pod.disks().any(|d| d.csi_key().is_some());
    }

    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        if !self.applies {
            return Ok(());
        }
        let pod = &request.storage;
        let csi = view.nodes[i].spec.csi.as_ref();
        if let Some((name, _)) = pod.claim_volumes().find(|(_, c)| c.is_none()) {
            return Err(FilterReason::Volume {
                message: format!(
                    "looking up PVC {}/{name}: {}",
                    pod.namespace,
                    not_found(name)
                ),
                resolvable: false,
            });
        }
        let mut new = view.storage.pod_csi_keys(pod, csi.is_some());
        if new.is_empty() {
            return Ok(());
        }
        let Some(csi) = csi.filter(|c| c.drivers.iter().any(|(_, l)| l.is_some())) else {
            return Ok(());
        };
        // Per driver: unique volumes of the node's pods, then VolumeAttachments
        // to the node not among them (the pod's own volume may be one of
        // those: upstream counts it again).
        let mut attached: Vec<(&str, u32)> = Vec::new();
        if let Some(node) = view.storage.node(i) {
            let pods = node.csi.iter().map(|(k, _)| k);
            let vas = node
                .attached
                .iter()
                .filter(|k| !node.csi.iter().any(|(x, _)| x == *k));
            for (driver, handle) in pods.clone() {
                new.retain(|(d, h)| !(d == driver && h == handle));
            }
            for (driver, _) in pods.chain(vas) {
                match attached.iter_mut().find(|(d, _)| d == driver) {
                    Some((_, n)) => *n += 1,
                    None => attached.push((driver.as_str(), 1)),
                }
            }
        }
        let mut drivers: Vec<&str> = new.iter().map(|(d, _)| d.as_str()).collect();
        drivers.sort_unstable();
        drivers.dedup();
        for d in drivers {
            let Some(limit) = csi.limit(d) else { continue };
            let adding = new.iter().filter(|(x, _)| x == d).count() as u32;
            let have = attached
                .iter()
                .find(|(x, _)| *x == d)
                .map_or(0, |(_, n)| *n);
            if have + adding > limit {
                return Err(FilterReason::MaxVolumeCount);
            }
        }
        Ok(())
    }
}

/// VolumeBinding's per-decision state.
#[derive(Clone, Debug, Default)]
pub struct BindingState {
    bound: Vec<ClaimId>,
    delayed: Vec<ClaimId>,
    eligible: Option<BTreeSet<String>>,
}

/// `VolumeBinding`: a pod's bound claims' volumes must be usable from the
/// node; its unbound `WaitForFirstConsumer` claims must each find an
/// available volume there or be provisionable there; unbound `Immediate`
/// claims make the pod wait.
#[derive(Debug, Default)]
pub struct VolumeBinding {
    pre: Pre<BindingState>,
}

/// The hostnames a local volume is pinned to (upstream's
/// `GetLocalPersistentVolumeNodeNames`): over its terms, the union of the
/// intersection of each term's `kubernetes.io/hostname In` values.
fn local_node_names(v: &super::PersistentVolume) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for term in v.node_affinity.iter().flatten() {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in &term.requirements {
            if r.key == LABEL_HOSTNAME && r.op == SelectorOp::In {
                let values: BTreeSet<String> = r.values.iter().cloned().collect();
                term_names = Some(match term_names {
                    None => values,
                    Some(t) => t.intersection(&values).cloned().collect(),
                });
            }
        }
        names.extend(term_names.unwrap_or_default());
    }
    names
}

impl VolumeBinding {
    fn pre_filter(pod: &PodStorage<'_>, storage: &Storage) -> Pre<BindingState> {
        let mut state = BindingState::default();
        let mut any = false;
        let mut immediate = false;
        for (name, c) in pod.claim_volumes() {
            any = true;
            let Some(c) = c else {
                return Pre::Fail(unresolvable(not_found(name)));
            };
            let claim = storage.claim(c);
            if claim.phase == super::ClaimPhase::Lost {
                return Pre::Fail(unresolvable(format!(
                    "persistentvolumeclaim {:?} bound to non-existent persistentvolume {:?}",
                    claim.name, claim.volume_name
                )));
            }
            if claim.fully_bound() {
                state.bound.push(c);
                continue;
            }
            match storage.delays_binding(claim) {
                Err(message) => {
                    return Pre::Fail(FilterReason::Volume {
                        message,
                        resolvable: false,
                    });
                }
                Ok(true) if claim.volume_name.is_empty() => state.delayed.push(c),
                Ok(_) => immediate = true,
            }
        }
        if !any {
            return Pre::Skip;
        }
        if immediate {
            return Pre::Fail(unresolvable(
                "pod has unbound immediate PersistentVolumeClaims".to_string(),
            ));
        }
        // GetEligibleNodes: bound local volumes pin the pod to their nodes.
        let mut eligible: Option<BTreeSet<String>> = None;
        for &c in &state.bound {
            let Some(v) = storage.bound_volume(c) else {
                eligible = None;
                break;
            };
            let names = local_node_names(storage.volume(v));
            if !names.is_empty() {
                eligible = Some(match eligible {
                    None => names,
                    Some(e) => e.intersection(&names).cloned().collect(),
                });
            }
        }
        if eligible.as_ref().is_some_and(BTreeSet::is_empty) {
            return Pre::Fail(FilterReason::PreFilter {
                message: "node(s) didn't satisfy plugin VolumeBinding".to_string(),
                resolvable: true,
            });
        }
        state.eligible = eligible;
        Pre::Check(state)
    }

    /// FindPodVolumes for a node `name` with `labels`: the reasons it fails.
    fn find_pod_volumes(
        state: &BindingState,
        storage: &Storage,
        name: &str,
        labels: &Labels,
    ) -> Result<VolumeBindingReasons, FilterReason> {
        let mut reasons = VolumeBindingReasons::default();
        for &c in &state.bound {
            match storage.bound_volume(c) {
                None => {
                    reasons.0 |= VolumeBindingReasons::PV_NOT_EXIST;
                    break;
                }
                Some(v) if !storage.volume(v).node_affinity_matches(labels) => {
                    reasons.0 |= VolumeBindingReasons::NODE_CONFLICT;
                    break;
                }
                Some(_) => {}
            }
        }
        if state.delayed.is_empty() {
            return Ok(reasons);
        }
        let mut provision = Vec::new();
        let mut matching = Vec::new();
        for &c in &state.delayed {
            match &storage.claim(c).selected_node {
                Some(n) if n != name => {
                    reasons.0 |= VolumeBindingReasons::BIND_CONFLICT;
                    return Ok(reasons);
                }
                Some(_) => provision.push(c),
                None => matching.push(c),
            }
        }
        let (_, rest) = storage.match_claims(&matching, labels);
        let mut unbound_ok = rest.is_empty();
        provision.extend(rest);
        if !provision.is_empty() {
            unbound_ok = true;
            for c in provision {
                match storage.can_provision(c, labels) {
                    Err(message) => {
                        return Err(FilterReason::Volume {
                            message,
                            resolvable: false,
                        });
                    }
                    Ok(false) => {
                        unbound_ok = false;
                        break;
                    }
                    Ok(true) => {}
                }
            }
        }
        if !unbound_ok {
            reasons.0 |= VolumeBindingReasons::BIND_CONFLICT;
        }
        Ok(reasons)
    }
}

impl Filter for VolumeBinding {
    fn name(&self) -> &'static str {
        "VolumeBinding"
    }

    fn skips(&self) -> bool {
        matches!(self.pre, Pre::Skip)
    }

    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        self.pre = VolumeBinding::pre_filter(&request.storage, view.storage);
    }

    fn filter(
        &self,
        _request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        let Some(state) = self.pre.state()? else {
            return Ok(());
        };
        let node = &view.nodes[i].spec;
        if let Some(e) = &state.eligible
            && !e.contains(&node.name)
        {
            return Err(FilterReason::NotInPreFilterResult("VolumeBinding"));
        }
        let reasons =
            VolumeBinding::find_pod_volumes(state, view.storage, &node.name, &node.labels)?;
        if reasons.0 == 0 {
            Ok(())
        } else {
            Err(FilterReason::VolumeBinding(reasons))
        }
    }
}

/// VolumeZone's topology labels, in upstream's order.
const TOPOLOGY_LABELS: [&str; 4] = [
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    LABEL_ZONE,
    LABEL_REGION,
];

/// The GA label of a beta topology label.
fn ga_label(key: &str) -> &str {
    match key {
        "failure-domain.beta.kubernetes.io/zone" => LABEL_ZONE,
        "failure-domain.beta.kubernetes.io/region" => LABEL_REGION,
        k => k,
    }
}

/// `VolumeZone`: the zone and region labels of a pod's bound volumes must
/// match the node's ("node(s) had no available volume zone").
#[derive(Debug, Default)]
pub struct VolumeZone {
    pre: Pre<Vec<(&'static str, BTreeSet<String>)>>,
}

impl VolumeZone {
    fn pre_filter(
        pod: &PodStorage<'_>,
        storage: &Storage,
    ) -> Pre<Vec<(&'static str, BTreeSet<String>)>> {
        let mut topologies = Vec::new();
        for (name, c) in pod.claim_volumes() {
            let Some(c) = c else {
                return Pre::Fail(unresolvable(not_found(name)));
            };
            let claim = storage.claim(c);
            if claim.volume_name.is_empty() {
                let class = claim.class_name();
                if class.is_empty() {
                    return Pre::Fail(unresolvable(
                        "PersistentVolumeClaim had no pv name and storageClass name".to_string(),
                    ));
                }
                let Some(sc) = storage.class(class) else {
                    return Pre::Fail(unresolvable(format!(
                        "storageclasses.storage.k8s.io {class:?} not found"
                    )));
                };
                match sc.binding {
                    None => {
                        return Pre::Fail(unresolvable(format!(
                            "VolumeBindingMode not set for StorageClass {class:?}"
                        )));
                    }
                    Some(super::BindingMode::WaitForFirstConsumer) => continue,
                    Some(super::BindingMode::Immediate) => {
                        return Pre::Fail(unresolvable("PersistentVolume had no name".to_string()));
                    }
                }
            }
            let Some(v) = storage.volume_named(&claim.volume_name) else {
                return Pre::Fail(unresolvable(format!(
                    "persistentvolume {:?} not found",
                    claim.volume_name
                )));
            };
            let labels = &storage.volume(v).labels;
            for key in TOPOLOGY_LABELS {
                let Some(value) = labels.get(key) else {
                    continue;
                };
                let zones: Vec<&str> = value.split("__").map(str::trim).collect();
                if zones.iter().any(|z| z.is_empty()) {
                    continue;
                }
                topologies.push((key, zones.into_iter().map(str::to_string).collect()));
            }
        }
        if topologies.is_empty() {
            Pre::Skip
        } else {
            Pre::Check(topologies)
        }
    }
}

impl Filter for VolumeZone {
    fn name(&self) -> &'static str {
        "VolumeZone"
    }

    fn skips(&self) -> bool {
        matches!(self.pre, Pre::Skip)
    }

    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        self.pre = VolumeZone::pre_filter(&request.storage, view.storage);
    }

    fn filter(
        &self,
        _request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        let Some(topologies) = self.pre.state()? else {
            return Ok(());
        };
        let labels = &view.nodes[i].spec.labels;
        if !TOPOLOGY_LABELS.iter().any(|k| labels.contains_key(*k)) {
            return Ok(());
        }
        for (key, values) in topologies {
            let v = labels.get(*key).or_else(|| labels.get(ga_label(key)));
            if v.is_none_or(|v| !values.contains(v)) {
                return Err(FilterReason::VolumeZoneConflict);
            }
        }
        Ok(())
    }
}
