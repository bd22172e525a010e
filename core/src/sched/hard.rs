//! The hard filters: the constraints no policy may break.
//!
//! Key decision: one list, [`hard_filters`], in kube-scheduler's filter
//! order (TaintToleration, NodeAffinity, NodeResourcesFit,
//! InterPodAffinity), is the filter set of every profile, and
//! [`HardFilters`] runs the same list for the policies that are not
//! profiles (first fit, best/worst fit, random), so a replica never lands
//! on a node it may not use whichever policy places it. The first failing
//! filter names the reason, as in kube-scheduler.

use std::fmt;

use super::Filter;
use super::affinity::NodeAffinity;
use super::interpod::InterPodAffinity;
use super::plugins::NodeResourcesFit;
use super::spread::PodTopologySpread;
use super::taint::TaintToleration;
use crate::fit::FilterReason;
use crate::placement::{ClusterView, Request};
use crate::storage::plugins::{NodeVolumeLimits, VolumeBinding, VolumeRestrictions, VolumeZone};

/// The hard filters, fresh, in kube-scheduler's order: untolerated
/// `NoSchedule`/`NoExecute` taints, `nodeSelector` and required node
/// affinity, resources (and readiness), the volume plugins (a volume can
/// only be used where it is reachable and attachable), `DoNotSchedule`
/// topology spread, required anti-affinity.
pub fn hard_filters() -> Vec<Box<dyn Filter>> {
    vec![
        Box::new(TaintToleration),
        Box::new(NodeAffinity),
        Box::new(NodeResourcesFit),
        Box::new(VolumeRestrictions::default()),
        Box::new(NodeVolumeLimits::default()),
        Box::new(VolumeBinding::default()),
        Box::new(VolumeZone::default()),
        Box::new(PodTopologySpread::default()),
        Box::new(InterPodAffinity::default()),
    ]
}

/// [`hard_filters`] for policies that scan nodes themselves: prepare once
/// per decision, then check nodes.
pub struct HardFilters {
    filters: Vec<Box<dyn Filter>>,
    /// The filters that did not skip this decision.
    active: Vec<usize>,
}

impl Default for HardFilters {
    fn default() -> HardFilters {
        let filters = hard_filters();
        HardFilters {
            active: (0..filters.len()).collect(),
            filters,
        }
    }
}

impl fmt::Debug for HardFilters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.filters.iter().map(|x| x.name()))
            .finish()
    }
}

impl HardFilters {
    /// Per-decision state (PreFilter) for `request` on `view`; call before
    /// [`HardFilters::check`] for each decision.
    pub fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        self.active.clear();
        for (k, f) in self.filters.iter_mut().enumerate() {
            f.prepare(request, view);
            if !f.skips() {
                self.active.push(k);
            }
        }
    }

    /// `Ok` if node `i` passes every hard filter, else the first reason.
    pub fn check(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        self.active
            .iter()
            .try_for_each(|&f| self.filters[f].filter(request, view, i))
    }

    /// Every filter's verdict on node `i`: `(filter, None if passed else the reason)`.
    pub fn verdicts(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Vec<(String, Option<String>)> {
        self.filters
            .iter()
            .map(|f| {
                (
                    f.name().to_string(),
                    f.filter(request, view, i).err().map(|r| r.to_string()),
                )
            })
            .collect()
    }
}

/// One-off check of node `i` against every hard filter. It prepares the
/// filters for this call alone (O(nodes) for a replica with required
/// anti-affinity), so policies that scan many nodes use [`HardFilters`].
pub fn hard_filters_pass(
    request: &Request<'_>,
    view: &ClusterView<'_>,
    i: usize,
) -> Result<(), FilterReason> {
    let mut h = HardFilters::default();
    h.prepare(request, view);
    h.check(request, view, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::model::{
        AntiAffinity, Constraints, DesiredState, LABEL_HOSTNAME, LABEL_ZONE, NodeId, NodeStatus,
        ObservedCluster, ReplicaState, ReplicaStatus, ResourceName, Resources, SelectorOp,
        SelectorRequirement, SelectorTerm, ServiceId, ServiceSpec, Taint, TaintEffect, Toleration,
    };
    use crate::placement::{Snapshot, schedule};
    use crate::rng::{StreamRng, stream};
    use crate::testing::{node, service};
    use crate::time::SimTime;
    use rand::Rng;

    #[test]
    fn the_first_failing_filter_in_kube_order_names_the_reason() {
        // One node failing everything: tainted, wrong zone, too small, and running a replica of
        // the service in its own hostname domain. TaintToleration comes first, as upstream.
        let mut snap = Snapshot::new(vec![
            node("a")
                .cpu("1")
                .taint("dedicated", "gpu", TaintEffect::NoSchedule)
                .status(),
            node("b").cpu("1").zone("z2").status(),
        ]);
        snap.bind(0, ServiceId(0), Resources::new(500, 0));
        let c = Constraints {
            node_selector: [(crate::model::LABEL_ZONE.to_string(), "z2".to_string())].into(),
            anti_affinity: Some(AntiAffinity {
                topology_key: crate::model::LABEL_HOSTNAME.into(),
                required: true,
                weight: 0,
            }),
            ..Default::default()
        };
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources: Resources::new(600, 0),
            constraints: &c,
        };
        let view = snap.view();
        assert_eq!(
            hard_filters_pass(&r, &view, 0),
            Err(FilterReason::UntoleratedTaint {
                key: "dedicated".into(),
                value: "gpu".into()
            })
        );
        // Every verdict of node a, in order.
        let mut h = HardFilters::default();
        h.prepare(&r, &view);
        let v = h.verdicts(&r, &view, 0);
        let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        // Every filter rejects node a except PodTopologySpread (the replica has no spread
        // constraints) and the volume plugins (it has no volumes).
        assert!(
            v.iter()
                .all(|(n, r)| r.is_some() == (n != "PodTopologySpread" && !n.contains("Volume"))),
            "{v:?}"
        );
        // Node b: in z2, empty, 600m of 1000m fits → passes all.
        assert_eq!(h.check(&r, &view, 1), Ok(()));
        // Resources are still checked: 1001m does not fit b.
        let big = Request {
            resources: Resources::new(1001, 0),
            ..r
        };
        assert_eq!(
            hard_filters_pass(&big, &view, 1),
            Err(FilterReason::Insufficient(ResourceName::Cpu))
        );
    }

    fn r(rng: &mut StreamRng, n: u32) -> u32 {
        rng.next_u32() % n
    }

    fn selector(key: &str, op: SelectorOp, values: &[&str]) -> SelectorRequirement {
        SelectorRequirement {
            key: key.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn tol(key: &str, exists: bool, value: &str, effect: Option<TaintEffect>) -> Toleration {
        Toleration {
            key: key.into(),
            exists,
            value: value.into(),
            effect,
        }
    }

    /// A random node: zone z0..z2, maybe `disk` ssd/hdd, maybe an integer `tier`, a random subset
    /// of four taints, random allocatable, usually ready.
    fn random_node(rng: &mut StreamRng, i: usize) -> NodeStatus {
        let mut b = node(&format!("n{i}")).zone(&format!("z{}", r(rng, 3)));
        match r(rng, 3) {
            0 => b = b.label("disk", "ssd"),
            1 => b = b.label("disk", "hdd"),
            _ => {}
        }
        if r(rng, 2) == 0 {
            b = b.label("tier", &r(rng, 10).to_string());
        }
        let taints = [
            ("dedicated", "gpu", TaintEffect::NoSchedule),
            ("dedicated", "batch", TaintEffect::NoExecute),
            ("spot", "", TaintEffect::PreferNoSchedule),
            ("maintenance", "", TaintEffect::NoSchedule),
        ];
        for (k, v, e) in taints {
            if r(rng, 4) == 0 {
                b = b.taint(k, v, e);
            }
        }
        let mut s = b.status();
        s.spec_mut().allocatable =
            Resources::new(u64::from(500 + r(rng, 4000)), u64::from(r(rng, 8 << 20)));
        s.ready = r(rng, 10) != 0;
        s
    }

    /// Random constraints drawn from the same vocabulary as [`random_node`].
    fn random_constraints(rng: &mut StreamRng) -> Constraints {
        let mut c = Constraints::default();
        if r(rng, 4) == 0 {
            let disk = if r(rng, 2) == 0 { "ssd" } else { "hdd" };
            c.node_selector.insert("disk".into(), disk.into());
        }
        let term = |reqs: Vec<SelectorRequirement>| SelectorTerm { requirements: reqs };
        match r(rng, 4) {
            0 => {
                let t = r(rng, 10).to_string();
                let op = if r(rng, 2) == 0 {
                    SelectorOp::Gt
                } else {
                    SelectorOp::Lt
                };
                c.required_terms = vec![term(vec![selector("tier", op, &[&t])])];
            }
            1 => {
                c.required_terms = vec![
                    term(vec![selector(LABEL_ZONE, SelectorOp::In, &["z0", "z1"])]),
                    term(vec![
                        selector("disk", SelectorOp::DoesNotExist, &[]),
                        selector("tier", SelectorOp::Exists, &[]),
                    ]),
                ];
            }
            2 => {
                let w = 1 + r(rng, 100) as i32;
                c.preferred_terms =
                    vec![(w, term(vec![selector("disk", SelectorOp::NotIn, &["hdd"])]))];
            }
            _ => {}
        }
        let tolerations = [
            tol("dedicated", false, "gpu", Some(TaintEffect::NoSchedule)),
            tol("dedicated", true, "", None),
            tol("maintenance", true, "", Some(TaintEffect::NoExecute)),
            tol("", true, "", None),
        ];
        for t in tolerations {
            if r(rng, 5) == 0 {
                c.tolerations.push(t);
            }
        }
        if r(rng, 2) == 0 {
            let key = if r(rng, 2) == 0 {
                LABEL_HOSTNAME
            } else {
                LABEL_ZONE
            };
            c.anti_affinity = Some(AntiAffinity {
                topology_key: key.into(),
                required: r(rng, 2) == 0,
                weight: 1 + r(rng, 100) as i32,
            });
        }
        c.priority = r(rng, 3) as i32;
        c
    }

    /// The hard constraints, checked naively (no plugin code): may a replica of service `s`
    /// with `c` and `req` go to node `i`, given the replicas already on `nodes`?
    fn allowed(
        nodes: &[NodeStatus],
        s: ServiceId,
        c: &Constraints,
        req: Resources,
        i: usize,
    ) -> bool {
        let n = &nodes[i];
        let labels = &n.spec.labels;
        let untolerated = |t: &Taint| {
            t.effect != TaintEffect::PreferNoSchedule
                && !c.tolerations.iter().any(|x| x.tolerates(t))
        };
        let term_matches = |t: &SelectorTerm| {
            !t.requirements.is_empty() && t.requirements.iter().all(|q| q.matches(labels))
        };
        let anti_ok = match &c.anti_affinity {
            Some(a) if a.required => match labels.get(&a.topology_key) {
                None => true,
                Some(v) => nodes
                    .iter()
                    .all(|m| m.spec.labels.get(&a.topology_key) != Some(v) || m.count(s) == 0),
            },
            _ => true,
        };
        n.ready
            && req
                .first_shortfall(&n.allocated, &n.spec.allocatable)
                .is_none()
            && !n.spec.taints.iter().any(untolerated)
            && c.node_selector
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
            && (c.required_terms.is_empty() || c.required_terms.iter().any(term_matches))
            && anti_ok
    }

    #[test]
    fn no_registered_placer_breaks_a_hard_constraint_or_overcommits() {
        // Property: random clusters (taints, labels, readiness, running replicas) and random
        // services (selectors, required/preferred affinity, tolerations, anti-affinity,
        // priority); every Bind of a scheduling batch, replayed in order, passes the naive check.
        let mut rng = stream(7, "prop-hard");
        let (mut binds, mut refused) = (0u32, 0u32);
        for e in crate::registry::PLACERS {
            let mut p = (e.make)();
            for _ in 0..120 {
                let k = 1 + r(&mut rng, 8) as usize;
                let mut observed = ObservedCluster {
                    nodes: (0..k).map(|i| random_node(&mut rng, i)).collect(),
                    ..Default::default()
                };
                let services: Vec<ServiceSpec> = (0..3)
                    .map(|s| {
                        let cpu = u64::from(r(&mut rng, 1500));
                        let mem = u64::from(r(&mut rng, 2 << 20));
                        ServiceSpec {
                            requests: Resources::new(cpu, mem),
                            placement: random_constraints(&mut rng),
                            ..service(&format!("s{s}"))
                        }
                    })
                    .collect();
                // Replicas already running wherever they fit (constraints ignored, as after a
                // spec change), then pending ones.
                for _ in 0..r(&mut rng, 6) {
                    let s = ServiceId(r(&mut rng, 3));
                    let i = r(&mut rng, k as u32) as usize;
                    let req = services[s.0 as usize].requests;
                    let n = &observed.nodes[i];
                    if req
                        .first_shortfall(&n.allocated, &n.spec.allocatable)
                        .is_none()
                    {
                        observed.bind(NodeId(i as u32), s, req);
                        observed.replicas.push(ReplicaStatus {
                            service: s,
                            node: Some(NodeId(i as u32)),
                            state: ReplicaState::Ready,
                            since: SimTime::ZERO,
                        });
                    }
                }
                for _ in 0..1 + r(&mut rng, 8) {
                    observed.replicas.push(ReplicaStatus {
                        service: ServiceId(r(&mut rng, 3)),
                        node: None,
                        state: ReplicaState::Pending,
                        since: SimTime::ZERO,
                    });
                }
                let desired = DesiredState { services };
                let actions = schedule(&desired, &observed, p.as_mut(), &mut rng);
                let mut shadow = observed.nodes.clone();
                for a in actions {
                    match a {
                        Action::Bind { replica, node } => {
                            let s = observed.replicas[replica.0 as usize].service;
                            let spec = &desired.services[s.0 as usize];
                            let i = node.0 as usize;
                            assert!(
                                allowed(&shadow, s, &spec.placement, spec.requests, i),
                                "{} put a replica of {} on {} against {:?}\nnodes: {:?}",
                                e.name,
                                spec.name,
                                shadow[i].spec.name,
                                spec.placement,
                                shadow
                            );
                            shadow[i].add(s, spec.requests);
                            binds += 1;
                        }
                        Action::Unschedulable { .. } => refused += 1,
                        other => panic!("unexpected action {other:?}"),
                    }
                }
            }
        }
        // The random cases exercise both outcomes.
        assert!(
            binds > 1000 && refused > 1000,
            "binds {binds}, refused {refused}"
        );
    }
}
