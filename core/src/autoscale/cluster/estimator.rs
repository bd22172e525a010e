//! How many new nodes of a group the pending replicas need: Cluster
//! Autoscaler's binpacking estimator, and the filter that first drops the
//! replicas that already have a place.
//!
//! Key decision: the estimate packs the pending replicas onto copies of the
//! group's template node in a scratch [`Snapshot`], asking the core's hard
//! filters every question, so a replica that the scheduler would refuse on
//! such a node (an untolerated taint, a node selector the group's labels do
//! not meet, a request larger than the node, one replica per host) is never
//! counted. Upstream's `BinpackingNodeEstimator.Estimate`
//! (`estimator/binpacking_estimator.go`): replicas in equivalence groups
//! ordered by `DecreasingPodOrderer` (Σ over cpu and memory of request ÷
//! template allocatable, largest first), each placed on the first new node
//! that takes it, else on a freshly added node; a replica that does not fit
//! even a fresh node ends its group; adding stops at the limit (the group's
//! room under `max` and the cluster-wide maximum), which leaves the rest of
//! that group unplaced. First fit decreasing: at most 11/9·OPT + 6/9 nodes
//! in one dimension.

use std::cmp::Reverse;

use super::{NodeGroup, NodeLife, PendingGroup, ScanInput};
use crate::model::{DesiredState, LABEL_HOSTNAME, NodeId, NodeStatus, Resources};
use crate::placement::{Batch, ClusterView, NodeAlloc, Request, Snapshot};
use crate::sched::hard::HardFilters;
use crate::storage::{ClaimId, Storage};

/// The outcome of one group's estimate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// New nodes that received replicas.
    pub nodes: u32,
    /// Replicas placed on them.
    pub pods: u32,
    /// Σ requests of those replicas.
    pub requested: Resources,
    /// Replicas placed per service, in the order packed.
    pub scheduled: Vec<PendingGroup>,
}

/// Whether the hard filters depend on where other replicas are (spreading,
/// anti-affinity), so they must be prepared again after every bind.
fn view_dependent(r: &Request<'_>) -> bool {
    r.constraints.depends_on_pods()
}

/// An empty node of `group` for estimates: the template named
/// `<group>-estimate-<k>`, with its own hostname.
fn template_node(group: &NodeGroup, k: usize) -> NodeStatus {
    let mut spec = group.template.clone();
    spec.name = format!("{}-estimate-{k}", group.name);
    spec.labels
        .insert(LABEL_HOSTNAME.to_string(), spec.name.clone());
    NodeStatus::new(spec)
}

/// Upstream's `DecreasingPodOrderer` score of a replica on `template`:
/// cpu request ÷ cpu allocatable + memory request ÷ memory allocatable
/// (a resource the template lacks adds nothing).
pub fn pod_score(requests: &Resources, template: &Resources) -> f64 {
    let mut s = 0.0;
    if template.cpu_milli > 0 {
        s += requests.cpu_milli as f64 / template.cpu_milli as f64;
    }
    if template.memory_bytes > 0 {
        s += requests.memory_bytes as f64 / template.memory_bytes as f64;
    }
    s
}

/// Packs `pending` onto at most `limit` new nodes of `group` (see the
/// module documentation). Replicas that would not fit an empty node of the
/// group are left out before packing.
pub fn estimate(
    group: &NodeGroup,
    pending: &[PendingGroup],
    desired: &DesiredState,
    storage: &Storage,
    limit: u32,
) -> Estimate {
    let mut hard = HardFilters::default();
    // New nodes hold no volumes yet: the volume plugins see the claims and
    // volumes (zones, access modes), not what existing nodes hold.
    let storage = storage.for_new_nodes();
    let claims: Vec<Vec<Option<ClaimId>>> = pending
        .iter()
        .map(|p| storage.claims_of(&desired.services[p.service.0 as usize], p.replica))
        .collect();
    let req = |k: usize| {
        let p = &pending[k];
        Request::of(
            p.service,
            &desired.services[p.service.0 as usize],
            &claims[k],
        )
    };
    // Which services fit an empty node of the group at all.
    let mut probe = Snapshot::new(vec![template_node(group, 0)]);
    probe.storage = storage.clone();
    let mut order: Vec<(f64, usize)> = (0..pending.len())
        .filter(|&k| pending[k].count > 0)
        .filter(|&k| {
            let r = req(k);
            hard.prepare(&r, &probe.view());
            hard.check(&r, &probe.view(), 0).is_ok()
        })
        .map(|k| (pod_score(&req(k).resources, &group.template.allocatable), k))
        .collect();
    // Largest first; equal scores keep service order.
    order.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(pending[a.1].service.cmp(&pending[b.1].service))
    });

    let mut snap = Snapshot::new(Vec::new());
    snap.storage = storage;
    let mut out = Estimate::default();
    for (_, k) in order {
        let p = pending[k];
        let r = req(k);
        let volumes = r.storage.has_volume_plugin_input();
        let dependent = view_dependent(&r) || volumes;
        let mut placed = 0u32;
        // Identical replicas: nodes before the last one used stay too full.
        let mut cursor = 0usize;
        hard.prepare(&r, &snap.view());
        'pods: for _ in 0..p.count {
            if dependent {
                hard.prepare(&r, &snap.view());
            }
            while cursor < snap.nodes.len() {
                if hard.check(&r, &snap.view(), cursor).is_ok() {
                    bind(&mut snap, cursor, &r);
                    placed += 1;
                    continue 'pods;
                }
                cursor += 1;
            }
            if snap.nodes.len() as u32 >= limit {
                break;
            }
            let n = snap.nodes.len();
            snap.nodes.push(template_node(group, n));
            snap.allocs.push(NodeAlloc::default());
            hard.prepare(&r, &snap.view());
            if hard.check(&r, &snap.view(), n).is_err() {
                // Not even a fresh node takes it (e.g. spreading): the rest
                // of its group cannot be helped by this group either.
                snap.nodes.pop();
                snap.allocs.pop();
                break;
            }
            bind(&mut snap, n, &r);
            cursor = n;
            placed += 1;
        }
        if placed > 0 {
            out.pods += placed;
            for _ in 0..placed {
                out.requested += r.resources;
            }
            out.scheduled.push(PendingGroup {
                service: p.service,
                count: placed,
                replica: p.replica,
            });
        }
    }
    out.nodes = snap.nodes.len() as u32;
    out
}

/// Binds `r` to node `i` of the estimate, its volumes included (so attach
/// limits count them).
fn bind(snap: &mut Snapshot, i: usize, r: &Request<'_>) {
    snap.bind(i, r.service, r.resources);
    if r.storage.has_volume_plugin_input() {
        let spec = snap.nodes[i].spec.clone();
        snap.storage.place_pod(&r.storage, NodeId(i as u32), &spec);
    }
}

/// Takes out of `pending` the replicas that fit a ready node of the cluster
/// or a booting one (upstream's `FilterOutSchedulable` with the upcoming
/// nodes in the snapshot: a scale-up already under way is not repeated).
/// Each is placed on the first node that passes the hard filters, its
/// requests reserved there for the replicas after it; services go by
/// priority, then service order.
pub fn filter_out_schedulable(input: &ScanInput<'_>, pending: &mut [PendingGroup]) {
    let desired = input.desired;
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|&k| {
        let s = pending[k].service;
        (
            Reverse(desired.services[s.0 as usize].placement.priority),
            s,
        )
    });
    let life = |i: usize| input.nodes.get(i).map_or(NodeLife::Ready, |n| n.life);

    // The cluster's ready nodes, with a scratch copy of their allocations.
    let nodes = &input.observed.nodes;
    let mut allocs: Vec<NodeAlloc> = nodes.iter().map(NodeAlloc::of).collect();
    let mut batch = Batch::new();
    // Booting nodes, as the empty ready nodes they will be.
    let upcoming: Vec<NodeStatus> = nodes
        .iter()
        .enumerate()
        .filter(|&(i, _)| life(i) == NodeLife::Booting)
        .map(|(_, n)| {
            let mut n = n.clone();
            n.ready = true;
            n
        })
        .collect();
    let mut snap = Snapshot::new(upcoming);
    snap.storage = input.observed.storage.for_new_nodes();
    let mut hard = HardFilters::default();

    for k in order {
        let service = pending[k].service;
        let spec = &desired.services[service.0 as usize];
        let claims = input.observed.storage.claims_of(spec, pending[k].replica);
        // On the cluster's own nodes the volume plugins see its storage;
        // booting nodes hold no volumes yet.
        let r = Request::of(service, spec, &claims);
        let dependent = view_dependent(&r);
        let mut cursor = 0usize;
        let mut first = true;
        while pending[k].count > 0 {
            let view = ClusterView {
                storage: &input.observed.storage,
                nodes,
                allocs: &allocs,
                batch: &batch,
                changes: &input.observed.changes,
            };
            if first || dependent {
                hard.prepare(&r, &view);
                first = false;
            }
            while cursor < nodes.len()
                && (life(cursor) != NodeLife::Ready || hard.check(&r, &view, cursor).is_err())
            {
                cursor += 1;
            }
            if cursor == nodes.len() {
                break;
            }
            allocs[cursor].add(r.resources);
            batch.bind(NodeId(cursor as u32), r.service);
            pending[k].count -= 1;
        }
        let mut cursor = 0usize;
        let mut first = true;
        while pending[k].count > 0 && !snap.nodes.is_empty() {
            if first || dependent {
                hard.prepare(&r, &snap.view());
                first = false;
            }
            while cursor < snap.nodes.len() && hard.check(&r, &snap.view(), cursor).is_err() {
                cursor += 1;
            }
            if cursor == snap.nodes.len() {
                break;
            }
            snap.bind(cursor, r.service, r.resources);
            pending[k].count -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServiceId, ServiceSpec, TaintEffect, Toleration};
    use crate::testing::{node, service};
    use crate::time::SimDuration;

    pub(crate) fn group(name: &str, cpu: &str, mem: &str) -> NodeGroup {
        let mut template = node(name).cpu(cpu).mem(mem).spec();
        template.labels.remove(LABEL_HOSTNAME);
        NodeGroup {
            name: name.to_string(),
            template,
            min: 0,
            max: 100,
            boot_delay: SimDuration::from_secs(60),
            cost_per_hour: 1.0,
        }
    }

    fn desired(requests: &[(u64, u64)]) -> DesiredState {
        DesiredState {
            services: requests
                .iter()
                .enumerate()
                .map(|(i, &(c, m))| ServiceSpec {
                    requests: Resources::new(c, m),
                    ..service(&format!("s{i}"))
                })
                .collect(),
        }
    }

    fn pending(counts: &[u32]) -> Vec<PendingGroup> {
        counts
            .iter()
            .enumerate()
            .map(|(i, &count)| PendingGroup {
                replica: None,
                service: ServiceId(i as u32),
                count,
            })
            .collect()
    }

    const GI: u64 = 1 << 30;

    #[test]
    fn first_fit_decreasing_packs_the_largest_replicas_first() {
        // Nodes of 4 cpu / 16Gi. Service 0: 5 × (1500m, 1Gi); service 1: 4 × (500m, 1Gi).
        // Scores: s0 = 1500/4000 + 1/16 = 0.4375; s1 = 500/4000 + 1/16 = 0.1875 → s0 first.
        // s0: node 0 takes 2 (3000m, a third would be 4500m > 4000m), node 1 takes 2,
        // node 2 takes 1 (1500m).
        // s1: node 0 has 1000m free → 2 (1000m); node 1 → 2; all 4 placed. 3 nodes, 9 replicas.
        let g = group("g", "4", "16Gi");
        let d = desired(&[(1500, GI), (500, GI)]);
        let e = estimate(&g, &pending(&[5, 4]), &d, &Storage::default(), 100);
        assert_eq!((e.nodes, e.pods), (3, 9));
        // Requested: 5 × 1500 + 4 × 500 = 9500m; 9Gi.
        assert_eq!(e.requested, Resources::new(9500, 9 * GI));
        assert_eq!(e.scheduled, pending(&[5, 4]));
    }

    #[test]
    fn the_limit_stops_adding_nodes_and_replicas_that_fit_no_empty_node_are_left_out() {
        // 2-cpu nodes; service 0 asks 3 cpu (fits no empty node: left out), service 1
        // asks 1 cpu × 7: two per node → 4 nodes needed, limit 3 → 6 placed on 3 nodes.
        let g = group("g", "2", "8Gi");
        let d = desired(&[(3000, GI), (1000, GI)]);
        let e = estimate(&g, &pending(&[2, 7]), &d, &Storage::default(), 3);
        assert_eq!((e.nodes, e.pods), (3, 6));
        assert_eq!(
            e.scheduled,
            vec![PendingGroup {
                replica: None,
                service: ServiceId(1),
                count: 6
            }]
        );
    }

    #[test]
    fn taints_and_selectors_of_the_group_are_honoured() {
        // A tainted group with label disk=ssd. Service 0 tolerates and selects it,
        // service 1 tolerates but selects disk=hdd, service 2 does not tolerate.
        let mut g = group("g", "4", "8Gi");
        g.template.labels.insert("disk".into(), "ssd".into());
        g.template.taints.push(crate::model::Taint {
            key: "dedicated".into(),
            value: "db".into(),
            effect: TaintEffect::NoSchedule,
        });
        let mut d = desired(&[(1000, GI), (1000, GI), (1000, GI)]);
        let tol = Toleration {
            key: "dedicated".into(),
            exists: true,
            value: String::new(),
            effect: None,
        };
        d.services[0].placement.tolerations.push(tol.clone());
        d.services[0]
            .placement
            .node_selector
            .insert("disk".into(), "ssd".into());
        d.services[1].placement.tolerations.push(tol);
        d.services[1]
            .placement
            .node_selector
            .insert("disk".into(), "hdd".into());
        // Only service 0's 3 replicas count: 3 × 1 cpu on one 4-cpu node.
        let e = estimate(&g, &pending(&[3, 3, 3]), &d, &Storage::default(), 10);
        assert_eq!((e.nodes, e.pods), (1, 3));
        assert_eq!(e.scheduled, pending(&[3]));
    }

    #[test]
    fn required_anti_affinity_needs_one_node_per_replica() {
        // 4 replicas of 100m with one-per-host anti-affinity: 4 nodes, not 1.
        let g = group("g", "4", "8Gi");
        let mut d = desired(&[(100, 0)]);
        d.services[0].placement.anti_affinity = Some(crate::model::AntiAffinity {
            topology_key: LABEL_HOSTNAME.into(),
            required: true,
            weight: 0,
        });
        let e = estimate(&g, &pending(&[4]), &d, &Storage::default(), 10);
        assert_eq!((e.nodes, e.pods), (4, 4));
    }
}
