//! Autoscaler decisions: one Cluster Autoscaler pass over 10,000 nodes
//! (a scale-up decision with pending replicas; a scale-down scan), and one
//! HPA recommendation over 100 pods.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orkestra_core::autoscale::cluster::{
    ClusterAutoscaler, ClusterAutoscalerConfig, NodeAction, NodeAutoscale, NodeGroup, NodeInfo,
    NodeLife, ScanInput,
};
use orkestra_core::autoscale::hpa::{
    Hpa, HpaBehavior, HpaSpec, MetricSource, MetricSpec, MetricTarget, ResourceMetric,
};
use orkestra_core::autoscale::{Autoscale, PodPhase, PodSample, ScaleInput};
use orkestra_core::model::{
    DesiredState, LABEL_HOSTNAME, LABEL_ZONE, NodeId, NodeSpec, NodeStatus, ObservedCluster,
    ReplicaState, ReplicaStatus, Resources, ServiceId, ServiceSpec,
};
use orkestra_core::rng::stream;
use orkestra_core::testing::service;
use orkestra_core::time::{SimDuration, SimTime};
use rand::Rng;

const NODES: usize = 10_000;
const GI: u64 = 1 << 30;

/// A group of 8-cpu / 32Gi nodes.
fn group() -> NodeGroup {
    let r = Resources::new(8000, 32 * GI);
    NodeGroup {
        name: "g".into(),
        template: NodeSpec {
            csi: Some(Default::default()),
            name: "g".into(),
            pool: "g".into(),
            zone: "z0".into(),
            labels: [(LABEL_ZONE.to_string(), "z0".to_string())].into(),
            taints: vec![],
            capacity: r,
            allocatable: r,
            speed: 1.0,
        },
        min: 0,
        max: 20_000,
        boot_delay: SimDuration::from_secs(90),
        cost_per_hour: 0.4,
    }
}

/// 10,000 ready nodes of the group, each holding 5 to 15 replicas of a
/// 500m / 1Gi service (2500m to 7500m of 8000m: a third of the nodes below
/// the 0.5 threshold), and `pending` replicas of a 6-cpu service that fit
/// no node's free room (at most 5500m), so every pass estimates new nodes.
fn cluster(pending: u32) -> (Vec<NodeGroup>, Vec<NodeInfo>, ObservedCluster, DesiredState) {
    let g = group();
    let mut rng = stream(1, "bench-ca");
    let mut observed = ObservedCluster::default();
    let small = Resources::new(500, GI);
    for i in 0..NODES {
        observed.nodes.push(NodeStatus::new(g.node_spec(i as u32)));
        for _ in 0..5 + rng.next_u32() % 11 {
            observed.replicas.push(ReplicaStatus {
                service: ServiceId(0),
                node: Some(NodeId(i as u32)),
                state: ReplicaState::Ready,
                since: SimTime::ZERO,
            });
            observed.bind(NodeId(i as u32), ServiceId(0), small);
        }
    }
    for _ in 0..pending {
        observed.replicas.push(ReplicaStatus {
            service: ServiceId(1),
            node: None,
            state: ReplicaState::Pending,
            since: SimTime::ZERO,
        });
    }
    let desired = DesiredState {
        services: vec![
            ServiceSpec {
                requests: small,
                ..service("small")
            },
            ServiceSpec {
                requests: Resources::new(6000, 8 * GI),
                ..service("big")
            },
        ],
    };
    let info = vec![
        NodeInfo {
            group: Some(0),
            life: NodeLife::Ready,
            created: SimTime::ZERO,
        };
        NODES
    ];
    debug_assert!(
        observed
            .nodes
            .iter()
            .all(|n| n.spec.labels.contains_key(LABEL_HOSTNAME))
    );
    (vec![g], info, observed, desired)
}

fn cluster_autoscaler(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster-autoscaler pass on 10,000 nodes (nodes)");
    g.throughput(Throughput::Elements(NODES as u64));
    g.sample_size(20);
    let mut rng = stream(2, "bench-ca-expander");
    {
        let (groups, nodes, observed, desired) = cluster(100);
        let mut ca = ClusterAutoscaler::new(ClusterAutoscalerConfig::default());
        let input = ScanInput {
            now: SimTime::ZERO,
            groups: &groups,
            nodes: &nodes,
            observed: &observed,
            desired: &desired,
            pdbs: &[],
        };
        // 100 pending replicas of 6 cpu: one per new 8-cpu node.
        assert!(matches!(
            ca.scan(&input, &mut rng)[..],
            [NodeAction::ScaleUp { count: 100, .. }]
        ));
        g.bench_function("scale-up decision, 100 pending replicas", |b| {
            b.iter(|| black_box(ca.scan(&input, &mut rng)))
        });
    }
    {
        let (groups, nodes, observed, desired) = cluster(0);
        let mut ca = ClusterAutoscaler::new(ClusterAutoscalerConfig::default());
        let mut now = SimTime::ZERO;
        g.bench_function("scale-down scan, no pending replicas", |b| {
            b.iter(|| {
                // Within the unneeded time: every pass finds and times the
                // unneeded nodes, none is removed, so the cluster stays as is.
                now += SimDuration::from_millis(1);
                let input = ScanInput {
                    now,
                    groups: &groups,
                    nodes: &nodes,
                    observed: &observed,
                    desired: &desired,
                    pdbs: &[],
                };
                let a = ca.scan(&input, &mut rng);
                debug_assert!(a.is_empty());
                black_box(a)
            })
        });
        assert!(!ca.unneeded_since().is_empty());
    }
    g.finish();
}

fn hpa(c: &mut Criterion) {
    let mut g = c.benchmark_group("HPA recommendation, 100 pods (recommendations)");
    g.throughput(Throughput::Elements(1));
    let spec = HpaSpec {
        min_replicas: 1,
        max_replicas: 500,
        metrics: vec![MetricSpec {
            source: MetricSource::Resource(ResourceMetric::Cpu),
            target: MetricTarget::Utilization(60),
        }],
        behavior: Some(HpaBehavior::default()),
    };
    let mut rng = stream(3, "bench-hpa");
    let pods: Vec<PodSample> = (0..100)
        .map(|_| PodSample {
            phase: PodPhase::Running,
            start_time: Some(SimTime::ZERO),
            ready: Some((true, SimTime::ZERO)),
            values: vec![Some(i64::from(200 + rng.next_u32() % 600))],
            metric_time: SimTime::ZERO,
            requests: vec![500],
        })
        .collect();
    let mut hpa = Hpa::new(spec);
    let mut now = SimTime::ZERO + SimDuration::from_secs(3600);
    g.bench_function("cpu utilization target, default behavior", |b| {
        b.iter(|| {
            // One sync period later each time, as the controller calls it, so
            // the stabilisation history stays a window's worth.
            now += SimDuration::from_secs(15);
            let input = ScaleInput {
                now,
                spec_replicas: 100,
                pods: &pods,
                values: &[],
                metric_window: SimDuration::from_secs(30),
            };
            black_box(hpa.recommend(&input))
        })
    });
    g.finish();
}

criterion_group!(benches, cluster_autoscaler, hpa);
criterion_main!(benches);
