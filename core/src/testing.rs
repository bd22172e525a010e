//! Builders for test fixtures: `node("a").cpu("4").mem("8Gi")`, `service("web")`.
//!
//! Key decision: fixtures read like the scenario files (Kubernetes
//! quantities as strings), so tests state resources the way users do.

use std::collections::BTreeMap;

use crate::dist::DurationDist;
use crate::model::{
    LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, NodeStatus, Resources, ServiceSpec, Taint, TaintEffect,
};
use crate::quantity::{parse_bytes, parse_cpu_millis};
use crate::time::SimDuration;

/// Builder for a [`NodeSpec`].
#[derive(Clone, Debug)]
pub struct NodeBuilder(NodeSpec);

/// A node called `name` in zone `z1` with 1 cpu and 1Gi, built up with the methods.
pub fn node(name: &str) -> NodeBuilder {
    let r = Resources::new(1000, 1 << 30);
    let labels = BTreeMap::from([
        (LABEL_HOSTNAME.to_string(), name.to_string()),
        (LABEL_ZONE.to_string(), "z1".to_string()),
    ]);
    NodeBuilder(NodeSpec {
        csi: Some(Default::default()),
        name: name.to_string(),
        pool: "pool".to_string(),
        zone: "z1".to_string(),
        labels,
        taints: Vec::new(),
        capacity: r,
        allocatable: r,
        speed: 1.0,
    })
}

impl NodeBuilder {
    /// Puts the node in `zone` (field and `topology.kubernetes.io/zone` label).
    pub fn zone(mut self, zone: &str) -> Self {
        self.0.zone = zone.to_string();
        self.0
            .labels
            .insert(LABEL_ZONE.to_string(), zone.to_string());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// Adds a taint.
    pub fn taint(mut self, key: &str, value: &str, effect: TaintEffect) -> Self {
        self.0.taints.push(Taint {
            key: key.to_string(),
            value: value.to_string(),
            effect,
        });
        self
    }

    /// Sets capacity and allocatable GPUs.
    pub fn gpu(mut self, n: u64) -> Self {
        self.0.capacity.gpu_milli = n * 1000;
        self.0.allocatable.gpu_milli = n * 1000;
        self
    }

    /// Sets capacity and allocatable cpu (a Kubernetes quantity).
    pub fn cpu(mut self, q: &str) -> Self {
        let m = parse_cpu_millis(q).expect("cpu quantity");
        self.0.capacity.cpu_milli = m;
        self.0.allocatable.cpu_milli = m;
        self
    }

    /// Sets capacity and allocatable memory (a Kubernetes quantity).
    pub fn mem(mut self, q: &str) -> Self {
        let b = parse_bytes(q).expect("memory quantity");
        self.0.capacity.memory_bytes = b;
        self.0.allocatable.memory_bytes = b;
        self
    }

    /// The spec.
    pub fn spec(self) -> NodeSpec {
        self.0
    }

    /// A ready, empty node status.
    pub fn status(self) -> NodeStatus {
        NodeStatus::new(self.0)
    }
}

/// A service called `name`: 1 replica requesting 100m/128Mi, concurrency 1,
/// exponential 10 ms service time, instant start, round robin.
pub fn service(name: &str) -> ServiceSpec {
    ServiceSpec {
        stateful: None,
        name: name.to_string(),
        kind: crate::model::ServiceKind::Service,
        replicas: 1,
        requests: Resources::new(100, 128 << 20),
        limits: Resources::new(100, 128 << 20),
        concurrency: 1,
        queue_limit: None,
        timeout: None,
        service_time: DurationDist::exponential(SimDuration::from_millis(10)).expect("valid"),
        start_delay: DurationDist::constant(SimDuration::ZERO),
        routing: crate::balance::Routing::default(),
        work: crate::model::Work::Cpu,
        placement: Default::default(),
        stragglers: Default::default(),
        balancing: Default::default(),
        rollout: None,
        meta: Default::default(),
        controller: crate::model::Controller::ReplicaSet,
        volumes: Vec::new(),
        termination_grace_period: crate::model::DEFAULT_TERMINATION_GRACE_PERIOD,
    }
}

/// A [`Files`](crate::scenario::Files) with no files: every read fails,
/// naming the path. For scenarios built in tests and benchmarks that
/// reference none.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFiles;

impl crate::scenario::Files for NoFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        Err(format!("{path}: no files here"))
    }
}

/// `text` with every occurrence of `from` replaced by `to`, for fixtures
/// made from a shipped scenario's text.
///
/// # Panics
/// When `text` does not contain `from`: a fixture whose pattern drifted
/// away would otherwise silently test the unchanged text.
#[track_caller]
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "fixture edit: the text no longer contains {from:?}"
    );
    text.replace(from, to)
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    #[test]
    fn edit_replaces_and_refuses_an_absent_pattern() {
        assert_eq!(edit("a = 1\nb = 1", "= 1", "= 2"), "a = 2\nb = 2");
        let absent = std::panic::catch_unwind(|| edit("a = 1", "c = 1", "c = 2"));
        assert!(absent.is_err());
    }
}
