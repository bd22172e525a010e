//! `PodRequests` / `PodLimits` against upstream's tables.
//!
//! Transcribed from `staging/src/k8s.io/component-helpers/resource/helpers_test.go`
//! (kubernetes/kubernetes at 6c5cf687229f4699334a13393e38b3ca4b8a9293):
//! `TestPodRequestsAndLimits`, `TestPodRequestsAndLimitsWithoutOverhead`,
//! `TestPodResourceRequests`, `TestPodResourceLimits`, and the two
//! "non missing container requests applied to …" cases of a later
//! revision of the same file. Cases that read the pod's status (in-place
//! resize: "resized, …", "pod scaled up/down") cannot be expressed: a
//! simulated pod has no container statuses. CPU amounts are millicores
//! (`"9"` = 9000), memory bytes (`"5"` = 5, `"1Gi"` = 2^30).

use super::*;
use crate::model::ResourceName::{Cpu, Memory};

const GI: u64 = 1 << 30;

fn list(entries: &[(ResourceName, u64)]) -> ResourceList {
    entries.iter().copied().collect()
}

fn app(requests: &[(ResourceName, u64)], limits: &[(ResourceName, u64)]) -> Container {
    Container {
        requests: list(requests),
        limits: list(limits),
        ..Container::default()
    }
}

fn sidecar(requests: &[(ResourceName, u64)], limits: &[(ResourceName, u64)]) -> Container {
    Container {
        restart_always: true,
        ..app(requests, limits)
    }
}

/// upstream's `getPod(name, podResources{…})`: one container with the
/// given requests and limits, and the overhead.
fn one(
    requests: &[(ResourceName, u64)],
    limits: &[(ResourceName, u64)],
    overhead: &[(ResourceName, u64)],
) -> PodResources {
    PodResources {
        containers: vec![app(requests, limits)],
        init_containers: vec![],
        overhead: list(overhead),
    }
}

#[test]
fn pod_requests_and_limits() {
    // (name, pod, expected requests, expected limits), TestPodRequestsAndLimits.
    let cases: Vec<(&str, PodResources, ResourceList, ResourceList)> = vec![
        (
            "just-limit-no-overhead",
            one(&[], &[(Cpu, 9000)], &[]),
            list(&[]),
            list(&[(Cpu, 9000)]),
        ),
        (
            "just-overhead",
            one(&[], &[], &[(Cpu, 5000), (Memory, 5)]),
            list(&[(Cpu, 5000), (Memory, 5)]),
            list(&[]),
        ),
        (
            "req-and-overhead",
            one(
                &[(Cpu, 1000), (Memory, 10)],
                &[],
                &[(Cpu, 5000), (Memory, 5)],
            ),
            list(&[(Cpu, 6000), (Memory, 15)]),
            list(&[]),
        ),
        (
            "all-req-lim-and-overhead",
            one(
                &[(Cpu, 1000), (Memory, 10)],
                &[(Cpu, 2000), (Memory, 12)],
                &[(Cpu, 5000), (Memory, 5)],
            ),
            list(&[(Cpu, 6000), (Memory, 15)]),
            list(&[(Cpu, 7000), (Memory, 17)]),
        ),
        (
            "req-some-lim-and-overhead",
            one(
                &[(Cpu, 1000), (Memory, 10)],
                &[(Cpu, 2000)],
                &[(Cpu, 5000), (Memory, 5)],
            ),
            list(&[(Cpu, 6000), (Memory, 15)]),
            list(&[(Cpu, 7000)]),
        ),
    ];
    let opts = PodResourcesOptions::default();
    for (name, pod, requests, limits) in cases {
        assert_eq!(pod_requests(&pod, &opts), requests, "{name}: requests");
        assert_eq!(pod_limits(&pod, &opts), limits, "{name}: limits");
    }
}

#[test]
fn pod_requests_and_limits_without_overhead() {
    let two = |overhead: &[(ResourceName, u64)], init: Vec<Container>| PodResources {
        containers: vec![
            app(&[(Cpu, 1000), (Memory, 5)], &[(Cpu, 2000), (Memory, 10)]),
            app(&[(Cpu, 4000), (Memory, 12)], &[(Cpu, 8000), (Memory, 24)]),
        ],
        init_containers: init,
        overhead: list(overhead),
    };
    let cases: Vec<(&str, PodResources, ResourceList, ResourceList)> = vec![
        (
            "two container no overhead - should just be sum of containers",
            two(&[], vec![]),
            list(&[(Cpu, 5000), (Memory, 17)]),
            list(&[(Cpu, 10000), (Memory, 34)]),
        ),
        (
            "two container with overhead - shouldn't consider overhead",
            two(&[(Cpu, 3000), (Memory, 8)], vec![]),
            list(&[(Cpu, 5000), (Memory, 17)]),
            list(&[(Cpu, 10000), (Memory, 34)]),
        ),
        (
            "two container with overhead, massive init - should just be the largest init",
            two(
                &[(Cpu, 3000), (Memory, 8)],
                vec![
                    app(&[(Cpu, 1000), (Memory, 5)], &[(Cpu, 1000), (Memory, 5)]),
                    app(
                        &[(Cpu, 40000), (Memory, 120)],
                        &[(Cpu, 80000), (Memory, 240)],
                    ),
                ],
            ),
            list(&[(Cpu, 40000), (Memory, 120)]),
            list(&[(Cpu, 80000), (Memory, 240)]),
        ),
    ];
    let opts = PodResourcesOptions {
        exclude_overhead: true,
        ..Default::default()
    };
    for (name, pod, requests, limits) in cases {
        assert_eq!(pod_requests(&pod, &opts), requests, "{name}: requests");
        assert_eq!(pod_limits(&pod, &opts), limits, "{name}: limits");
    }
}

/// The init-container and sidecar cases of `TestPodResourceRequests` and
/// `TestPodResourceLimits`: the same containers, once as requests and
/// once as limits, with the same expected cpu.
#[test]
fn pod_resource_requests_and_limits_with_init_containers_and_sidecars() {
    struct Case {
        name: &'static str,
        exclude_overhead: bool,
        overhead: &'static [(ResourceName, u64)],
        // (cpu, sidecar?) per init container, cpu per app container.
        init: &'static [(u64, bool)],
        apps: &'static [u64],
        requests: &'static [(ResourceName, u64)],
        limits: &'static [(ResourceName, u64)],
    }
    let cases = [
        Case {
            name: "nil options, larger init container",
            exclude_overhead: false,
            overhead: &[],
            init: &[(4000, false)],
            apps: &[1000],
            requests: &[(Cpu, 4000)],
            limits: &[(Cpu, 4000)],
        },
        Case {
            name: "nil options, larger containers",
            exclude_overhead: false,
            overhead: &[],
            init: &[(2000, false)],
            apps: &[2000, 3000],
            requests: &[(Cpu, 5000)],
            limits: &[(Cpu, 5000)],
        },
        Case {
            name: "pod overhead excluded",
            exclude_overhead: true,
            overhead: &[(Cpu, 1000)],
            init: &[(2000, false)],
            apps: &[2000, 3000],
            requests: &[(Cpu, 5000)],
            limits: &[(Cpu, 5000)],
        },
        Case {
            // Requests: cpu 2+3+1 = 6 and the overhead's 1Gi of memory;
            // limits: "overhead is only added to non-zero limits, so
            // there will be no expected memory limit".
            name: "pod overhead included",
            exclude_overhead: false,
            overhead: &[(Cpu, 1000), (Memory, GI)],
            init: &[(2000, false)],
            apps: &[2000, 3000],
            requests: &[(Cpu, 6000), (Memory, GI)],
            limits: &[(Cpu, 6000)],
        },
        Case {
            name: "restartable init container",
            exclude_overhead: false,
            overhead: &[],
            init: &[(1000, true)],
            apps: &[1000],
            requests: &[(Cpu, 2000)],
            limits: &[(Cpu, 2000)],
        },
        Case {
            // max(5, restartable init containers(3+2+1) + regular(1)) = 7
            name: "multiple restartable init containers",
            exclude_overhead: false,
            overhead: &[],
            init: &[(5000, false), (1000, true), (2000, true), (3000, true)],
            apps: &[1000],
            requests: &[(Cpu, 7000)],
            limits: &[(Cpu, 7000)],
        },
        Case {
            // init-2 requires 5 + the previously running restartable init
            // containers(1+2) = 8, the one that starts after it doesn't count.
            name: "multiple restartable and regular init containers",
            exclude_overhead: false,
            overhead: &[],
            init: &[
                (5000, false),
                (1000, true),
                (2000, true),
                (5000, false),
                (3000, true),
            ],
            apps: &[1000],
            requests: &[(Cpu, 8000)],
            limits: &[(Cpu, 8000)],
        },
        Case {
            // init-1 200 + sidecar 10 = 210 > app 100 + sidecar 10.
            name: "restartable-init, init and regular",
            exclude_overhead: false,
            overhead: &[],
            init: &[(10_000, true), (200_000, false)],
            apps: &[100_000],
            requests: &[(Cpu, 210_000)],
            limits: &[(Cpu, 210_000)],
        },
    ];
    for c in cases {
        let opts = PodResourcesOptions {
            exclude_overhead: c.exclude_overhead,
            ..Default::default()
        };
        let build = |as_limits: bool| {
            let res = |cpu: u64| {
                let l = [(Cpu, cpu)];
                if as_limits {
                    (vec![], l.to_vec())
                } else {
                    (l.to_vec(), vec![])
                }
            };
            PodResources {
                containers: c
                    .apps
                    .iter()
                    .map(|&cpu| {
                        let (r, l) = res(cpu);
                        app(&r, &l)
                    })
                    .collect(),
                init_containers: c
                    .init
                    .iter()
                    .map(|&(cpu, always)| {
                        let (r, l) = res(cpu);
                        if always { sidecar(&r, &l) } else { app(&r, &l) }
                    })
                    .collect(),
                overhead: list(c.overhead),
            }
        };
        assert_eq!(
            pod_requests(&build(false), &opts),
            list(c.requests),
            "{}: requests",
            c.name
        );
        assert_eq!(
            pod_limits(&build(true), &opts),
            list(c.limits),
            "{}: limits",
            c.name
        );
    }
}

#[test]
fn pod_limits_of_unlimited_containers() {
    let opts = PodResourcesOptions::default();
    // "no limited containers should result in no limits for the pod"
    let pod = PodResources {
        containers: vec![app(&[], &[])],
        ..Default::default()
    };
    assert_eq!(pod_limits(&pod, &opts), list(&[]));
    // "one limited and one unlimited container should result in the
    // limited container's limits for the pod"
    let pod = PodResources {
        containers: vec![app(&[], &[(Cpu, 2000), (Memory, 2 * GI)]), app(&[], &[])],
        ..Default::default()
    };
    assert_eq!(
        pod_limits(&pod, &opts),
        list(&[(Cpu, 2000), (Memory, 2 * GI)])
    );
    // "one limited and one unlimited init container should result in the
    // limited init container's limits for the pod": max(app 1/1Gi, init 2/2Gi).
    let pod = PodResources {
        containers: vec![app(&[], &[(Cpu, 1000), (Memory, GI)])],
        init_containers: vec![app(&[], &[(Cpu, 2000), (Memory, 2 * GI)]), app(&[], &[])],
        ..Default::default()
    };
    assert_eq!(
        pod_limits(&pod, &opts),
        list(&[(Cpu, 2000), (Memory, 2 * GI)])
    );
}

#[test]
fn non_missing_container_requests_fill_only_what_a_container_leaves_out() {
    let opts = PodResourcesOptions {
        non_missing_container_requests: list(&[(Memory, 100 << 20)]),
        ..Default::default()
    };
    // "non missing container requests applied to init container"
    let pod = PodResources {
        init_containers: vec![app(&[(Cpu, 1000)], &[])],
        ..Default::default()
    };
    assert_eq!(
        pod_requests(&pod, &opts),
        list(&[(Cpu, 1000), (Memory, 100 << 20)])
    );
    assert_eq!(pod_limits(&pod, &opts), list(&[]));
    // "non missing container requests applied to regular container"
    let pod = one(&[(Cpu, 1000)], &[], &[]);
    assert_eq!(
        pod_requests(&pod, &opts),
        list(&[(Cpu, 1000), (Memory, 100 << 20)])
    );
    // An explicit 0 is kept (`applyNonMissing` fills only absent names).
    let pod = one(&[(Cpu, 1000), (Memory, 0)], &[], &[]);
    assert_eq!(pod_requests(&pod, &opts), list(&[(Cpu, 1000), (Memory, 0)]));
}

#[test]
fn the_scoring_view_applies_the_defaults_per_container() {
    // Two app containers: one asks 500m and nothing of memory, one asks
    // 1Gi and nothing of cpu. Fit sees 500m / 1Gi; scoring sees
    // cpu 500 + 100 = 600m and memory 200Mi + 1Gi.
    let pod = PodResources {
        containers: vec![app(&[(Cpu, 500)], &[]), app(&[(Memory, GI)], &[])],
        ..Default::default()
    };
    let r = effective_requests(&pod);
    assert_eq!((r.cpu_milli, r.memory_bytes), (500, GI));
    let nz = r.non_zero();
    assert_eq!((nz.cpu_milli, nz.memory_bytes), (600, GI + (200 << 20)));

    // One container stating cpu = 0 explicitly and leaving memory out:
    // scoring keeps the 0 and defaults memory (GetNonzeroRequests checks
    // presence, not zero).
    let explicit = effective_requests(&one(&[(Cpu, 0)], &[], &[]));
    assert_eq!(explicit.cpu_milli, 0);
    let nz = explicit.non_zero();
    assert_eq!((nz.cpu_milli, nz.memory_bytes), (0, 200 << 20));
    // The same container with nothing stated: both defaults.
    let absent = effective_requests(&one(&[], &[], &[]));
    let nz = absent.non_zero();
    assert_eq!((nz.cpu_milli, nz.memory_bytes), (100, 200 << 20));
    // Fit sees the two alike; they differ only in scoring.
    assert_eq!(
        (explicit.cpu_milli, explicit.memory_bytes),
        (absent.cpu_milli, absent.memory_bytes)
    );
    assert_ne!(explicit, absent);
    // A single container with both stated carries nothing extra: it is the
    // compact amount `Resources::new` builds.
    assert_eq!(
        effective_requests(&one(&[(Cpu, 250), (Memory, 64 << 20)], &[], &[])),
        Resources::new(250, 64 << 20)
    );
}

#[test]
fn limits_default_requests_as_the_api_does() {
    let mut c = app(&[(Memory, GI)], &[(Cpu, 2000), (Memory, 2 * GI)]);
    c.default_requests_from_limits();
    // cpu had only a limit: it becomes the request; memory keeps its own.
    assert_eq!(c.requests, list(&[(Cpu, 2000), (Memory, GI)]));
}
