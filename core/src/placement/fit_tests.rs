//! NodeResourcesFit's filter against upstream's table.
//!
//! Transcribed from `pkg/scheduler/framework/plugins/noderesources/fit_test.go`
//! (kubernetes/kubernetes at 24fbb13eafec665e6f4b64961930774babd8b6d1):
//! `TestEnoughRequests` (every case), `TestNotEnoughRequests` and
//! `TestStorageRequests`. The node of `TestEnoughRequests` has allocatable
//! cpu 10m, memory 20, pods 32, `example.com/aaa` 5, ephemeral-storage 20,
//! `hugepages-2Mi` 5 and already runs one pod (the `nodeInfo` pod). The
//! pods are upstream's `newResourcePod` (one app container per listed
//! usage), `newResourceInitPod` and `newResourceOverheadPod`, built with
//! [`crate::pod`]. [`insufficient_resources`] is upstream's `fitsRequest`
//! (all reasons, with numbers); [`fits`] and the `NodeResourcesFit` filter
//! answer the first of them, which is what the project reports per node
//! (upstream's status lists them all).

use super::*;
use crate::model::{NodeSpec, NodeStatus, ResourceName};
use crate::pod::{Container, PodResources, ResourceList, effective_requests};
use crate::sched::Filter;
use crate::sched::plugins::NodeResourcesFit;

const EXT_A: &str = "example.com/aaa";
const EXT_B: &str = "example.com/bbb";
const K8S_A: &str = "kubernetes.io/something";
const K8S_B: &str = "subdomain.kubernetes.io/something";
const HUGE_A: &str = "hugepages-2Mi";

fn name(n: &str) -> ResourceName {
    ResourceName::named(n)
}

/// `framework.Resource{MilliCPU, Memory, EphemeralStorage, ScalarResources}` as a container's requests.
fn usage(cpu: u64, mem: u64, eph: u64, scalars: &[(&str, u64)]) -> ResourceList {
    let mut l = ResourceList::from([
        (ResourceName::Cpu, cpu),
        (ResourceName::Memory, mem),
        (ResourceName::EphemeralStorage, eph),
    ]);
    l.extend(scalars.iter().map(|&(n, q)| (name(n), q)));
    l
}

fn containers(list: &[ResourceList]) -> Vec<Container> {
    list.iter()
        .map(|r| Container {
            requests: r.clone(),
            ..Container::default()
        })
        .collect()
}

/// `makeAllocatableResources(10, 20, pods, 5, 20, 5)`.
fn node(pods: u32, ext_a: u64, storage: u64, huge: u64) -> NodeStatus {
    let allocatable = Resources::new(10, 20)
        .with(ResourceName::Pods, u64::from(pods))
        .with(name(EXT_A), ext_a)
        .with(ResourceName::EphemeralStorage, storage)
        .with(name(HUGE_A), huge);
    NodeStatus::new(NodeSpec {
        csi: Some(Default::default()),
        name: "n".into(),
        pool: "p".into(),
        zone: "z".into(),
        labels: Default::default(),
        taints: vec![],
        capacity: allocatable,
        allocatable,
        speed: 1.0,
    })
}

struct Case {
    name: &'static str,
    apps: Vec<ResourceList>,
    init: Vec<ResourceList>,
    overhead: ResourceList,
    /// The one pod already on the node.
    existing: ResourceList,
    ignored: &'static [&'static str],
    ignored_groups: &'static [&'static str],
    /// (resource, requested, used, capacity).
    want: Vec<(&'static str, u64, u64, u64)>,
}

fn case(name: &'static str, apps: Vec<ResourceList>, existing: ResourceList) -> Case {
    Case {
        name,
        apps,
        init: vec![],
        overhead: ResourceList::new(),
        existing,
        ignored: &[],
        ignored_groups: &[],
        want: vec![],
    }
}

impl Case {
    fn init(mut self, init: Vec<ResourceList>) -> Case {
        self.init = init;
        self
    }
    fn want(mut self, want: Vec<(&'static str, u64, u64, u64)>) -> Case {
        self.want = want;
        self
    }
}

fn check(c: &Case, node: &NodeStatus) {
    let pod = PodResources {
        containers: containers(&c.apps),
        init_containers: containers(&c.init),
        overhead: c.overhead.clone(),
    };
    let request = effective_requests(&pod);
    let mut alloc = NodeAlloc::default();
    alloc.add(crate::pod::to_resources(&c.existing));
    let ignored = |r: ResourceName| {
        let n = r.as_str();
        let group = n.split('/').next().unwrap_or("");
        c.ignored.contains(&n) || c.ignored_groups.contains(&group)
    };
    let got: Vec<_> = insufficient_resources(&request, node, &alloc, &ignored)
        .into_iter()
        .map(|r| (r.resource.as_str(), r.requested, r.used, r.capacity))
        .collect();
    assert_eq!(got, c.want, "{}: insufficient resources", c.name);
    // The filter answers the first reason, in upstream's wording.
    let first = c.want.first().map(|w| match w.0 {
        "pods" => "Too many pods".to_string(),
        r => format!("Insufficient {r}"),
    });
    if c.ignored.is_empty() && c.ignored_groups.is_empty() {
        let reason = fits(&request, node, &alloc).err().map(|r| r.to_string());
        assert_eq!(reason, first, "{}: fits", c.name);
        let snap = Snapshot {
            nodes: vec![node.clone()],
            allocs: vec![alloc],
            ..Snapshot::default()
        };
        let via_plugin = NodeResourcesFit
            .filter(&Request::plain(request), &snap.view(), 0)
            .err()
            .map(|r| r.to_string());
        assert_eq!(via_plugin, first, "{}: NodeResourcesFit", c.name);
    }
}

#[test]
fn enough_requests_matches_upstream_table() {
    let u = |cpu, mem| usage(cpu, mem, 0, &[]);
    let ext = |n: &str, q| usage(1, 1, 0, &[(n, q)]);
    let none = || usage(0, 0, 0, &[]);
    let mut cases = vec![
        Case {
            apps: vec![],
            ..case("no resources requested always fits", vec![], u(10, 20))
        },
        case("too many resources fails", vec![u(1, 1)], u(10, 20))
            .want(vec![("cpu", 1, 10, 10), ("memory", 1, 20, 20)]),
        case(
            "too many resources fails due to init container cpu",
            vec![u(1, 1)],
            u(8, 19),
        )
        .init(vec![u(3, 1)])
        .want(vec![("cpu", 3, 8, 10)]),
        case(
            "too many resources fails due to highest init container cpu",
            vec![u(1, 1)],
            u(8, 19),
        )
        .init(vec![u(3, 1), u(2, 1)])
        .want(vec![("cpu", 3, 8, 10)]),
        case(
            "too many resources fails due to init container memory",
            vec![u(1, 1)],
            u(9, 19),
        )
        .init(vec![u(1, 3)])
        .want(vec![("memory", 3, 19, 20)]),
        case(
            "too many resources fails due to highest init container memory",
            vec![u(1, 1)],
            u(9, 19),
        )
        .init(vec![u(1, 3), u(1, 2)])
        .want(vec![("memory", 3, 19, 20)]),
        case(
            "init container fits because it's the max, not sum, of containers and init containers",
            vec![u(1, 1)],
            u(9, 19),
        )
        .init(vec![u(1, 1)]),
        case(
            "multiple init containers fit because it's the max, not sum, of containers and init containers",
            vec![u(1, 1)],
            u(9, 19),
        )
        .init(vec![u(1, 1), u(1, 1)]),
        case("both resources fit", vec![u(1, 1)], u(5, 5)),
        case("one resource memory fits", vec![u(2, 1)], u(9, 5)).want(vec![("cpu", 2, 9, 10)]),
        case("one resource cpu fits", vec![u(1, 2)], u(5, 19)).want(vec![("memory", 2, 19, 20)]),
        case("equal edge case", vec![u(5, 1)], u(5, 19)),
        case("equal edge case for init container", vec![u(4, 1)], u(5, 19)).init(vec![u(5, 1)]),
        case(
            "extended resource fits",
            vec![usage(0, 0, 0, &[(EXT_A, 1)])],
            none(),
        ),
        case("extended resource fits for init container", vec![none()], none())
            .init(vec![usage(0, 0, 0, &[(EXT_A, 1)])]),
        case(
            "extended resource capacity enforced",
            vec![ext(EXT_A, 10)],
            usage(0, 0, 0, &[(EXT_A, 0)]),
        )
        .want(vec![(EXT_A, 10, 0, 5)]),
        case(
            "extended resource capacity enforced for init container",
            vec![none()],
            usage(0, 0, 0, &[(EXT_A, 0)]),
        )
        .init(vec![ext(EXT_A, 10)])
        .want(vec![(EXT_A, 10, 0, 5)]),
        case(
            "extended resource allocatable enforced",
            vec![ext(EXT_A, 1)],
            usage(0, 0, 0, &[(EXT_A, 5)]),
        )
        .want(vec![(EXT_A, 1, 5, 5)]),
        case(
            "extended resource allocatable enforced for init container",
            vec![none()],
            usage(0, 0, 0, &[(EXT_A, 5)]),
        )
        .init(vec![ext(EXT_A, 1)])
        .want(vec![(EXT_A, 1, 5, 5)]),
        case(
            "extended resource allocatable enforced for multiple containers",
            vec![ext(EXT_A, 3), ext(EXT_A, 3)],
            usage(0, 0, 0, &[(EXT_A, 2)]),
        )
        .want(vec![(EXT_A, 6, 2, 5)]),
        case(
            "extended resource allocatable admits multiple init containers",
            vec![none()],
            usage(0, 0, 0, &[(EXT_A, 2)]),
        )
        .init(vec![ext(EXT_A, 3), ext(EXT_A, 3)]),
        case(
            "extended resource allocatable enforced for multiple init containers",
            vec![none()],
            usage(0, 0, 0, &[(EXT_A, 2)]),
        )
        .init(vec![ext(EXT_A, 6), ext(EXT_A, 3)])
        .want(vec![(EXT_A, 6, 2, 5)]),
        case(
            "extended resource allocatable enforced for unknown resource",
            vec![ext(EXT_B, 1)],
            none(),
        )
        .want(vec![(EXT_B, 1, 0, 0)]),
        case(
            "extended resource allocatable enforced for unknown resource for init container",
            vec![none()],
            none(),
        )
        .init(vec![ext(EXT_B, 1)])
        .want(vec![(EXT_B, 1, 0, 0)]),
        case(
            "kubernetes.io resource capacity enforced",
            vec![ext(K8S_A, 10)],
            none(),
        )
        .want(vec![(K8S_A, 10, 0, 0)]),
        case(
            "kubernetes.io resource capacity enforced for init container",
            vec![none()],
            none(),
        )
        .init(vec![ext(K8S_B, 10)])
        .want(vec![(K8S_B, 10, 0, 0)]),
        case(
            "hugepages resource capacity enforced",
            vec![ext(HUGE_A, 10)],
            usage(0, 0, 0, &[(HUGE_A, 0)]),
        )
        .want(vec![(HUGE_A, 10, 0, 5)]),
        case(
            "hugepages resource capacity enforced for init container",
            vec![none()],
            usage(0, 0, 0, &[(HUGE_A, 0)]),
        )
        .init(vec![ext(HUGE_A, 10)])
        .want(vec![(HUGE_A, 10, 0, 5)]),
        case(
            "hugepages resource allocatable enforced for multiple containers",
            vec![ext(HUGE_A, 3), ext(HUGE_A, 3)],
            usage(0, 0, 0, &[(HUGE_A, 2)]),
        )
        .want(vec![(HUGE_A, 6, 2, 5)]),
        Case {
            ignored: &[EXT_B],
            ..case(
                "skip checking ignored extended resource",
                vec![ext(EXT_B, 1)],
                none(),
            )
        },
        Case {
            // Overhead 3m / 13: cpu 1 + 3 = 4 ≤ 10 − 5, memory 1 + 13 = 14 ≤ 20 − 5.
            overhead: usage(3, 13, 0, &[]),
            ..case("resources + pod overhead fits", vec![u(1, 1)], u(5, 5))
        },
        Case {
            // Memory 1 + 15 = 16 > 20 − 5.
            overhead: usage(1, 15, 0, &[]),
            ..case(
                "requests + overhead does not fit for memory",
                vec![u(1, 1)],
                u(5, 5),
            )
        }
        .want(vec![("memory", 16, 5, 20)]),
        Case {
            ignored_groups: &["example.com"],
            ..case(
                "skip checking ignored extended resource via resource groups",
                vec![usage(1, 1, 0, &[(EXT_B, 1), (K8S_A, 1)])],
                none(),
            )
        }
        .want(vec![(K8S_A, 1, 0, 0)]),
        case(
            "skip checking extended resource request with quantity zero via resource groups",
            vec![ext(EXT_A, 0)],
            usage(0, 0, 0, &[(EXT_A, 6)]),
        ),
        case(
            "skip checking resource request with quantity zero",
            vec![usage(0, 0, 0, &[(EXT_A, 1)])],
            usage(20, 30, 0, &[(EXT_A, 1)]),
        ),
    ];
    let n = node(32, 5, 20, 5);
    for c in &mut cases {
        check(c, &n);
    }
}

#[test]
fn not_enough_requests_matches_upstream_table() {
    // `makeAllocatableResources(10, 20, 1, 0, 0, 0)`: one pod, already there.
    let n = node(1, 0, 0, 0);
    let u = |cpu, mem| usage(cpu, mem, 0, &[]);
    let cases = [
        case(
            "even without specified resources, predicate fails when there's no space for additional pod",
            vec![],
            u(10, 20),
        ),
        case(
            "even if both resources fit, predicate fails when there's no space for additional pod",
            vec![u(1, 1)],
            u(5, 5),
        ),
        case(
            "even for equal edge case, predicate fails when there's no space for additional pod",
            vec![u(5, 1)],
            u(5, 19),
        ),
        case(
            "even for equal edge case, predicate fails when there's no space for additional pod due to init container",
            vec![u(5, 1)],
            u(5, 19),
        )
        .init(vec![u(5, 1)]),
    ];
    for c in cases {
        check(&c.want(vec![("pods", 1, 1, 1)]), &n);
    }
}

#[test]
fn storage_requests_matches_upstream_table() {
    let n = node(32, 5, 20, 5);
    let cases = [
        case(
            "empty storage requested, and pod fits",
            vec![usage(1, 1, 0, &[])],
            usage(2, 10, 0, &[]),
        ),
        case(
            "storage ephemeral local storage request exceeds allocatable",
            vec![usage(0, 0, 25, &[])],
            usage(2, 2, 0, &[]),
        )
        .want(vec![("ephemeral-storage", 25, 0, 20)]),
        // `newResourceInitPod(newResourcePod(…5))` with no init usage.
        case(
            "ephemeral local storage is sufficient",
            vec![usage(0, 0, 5, &[])],
            usage(2, 2, 10, &[]),
        ),
        case("pod fits", vec![usage(0, 0, 10, &[])], usage(2, 2, 0, &[])),
    ];
    for c in cases {
        check(&c, &n);
    }
}

#[test]
fn a_node_that_does_not_say_takes_110_pods() {
    let mut n = node(0, 0, 0, 0);
    n.spec_mut().allocatable = Resources::new(1_000_000, 1 << 40);
    let mut alloc = NodeAlloc::default();
    for _ in 0..109 {
        alloc.add(Resources::new(1, 1));
    }
    // 109 + 1 ≤ 110.
    assert_eq!(fits(&Resources::new(1, 1), &n, &alloc), Ok(()));
    alloc.add(Resources::new(1, 1));
    // 110 + 1 > 110.
    assert_eq!(
        fits(&Resources::new(1, 1), &n, &alloc).map_err(|r| r.to_string()),
        Err("Too many pods".to_string())
    );
}
