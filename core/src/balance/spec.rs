//! A service's balancing configuration beyond the policy name.
//!
//! Key decision: everything around the policy — its parameters (`choices`,
//! weights, keys), the topology (one shared balancer or `clients`
//! client-side ones, as in a service mesh), service discovery's propagation
//! delay, retries with a budget and outlier ejection — is one plain value on
//! the `ServiceSpec`, validated by the scenario loader, so the simulator and
//! the live proxy read the same settings. Defaults change nothing: one
//! shared balancer, endpoints known at once, no retries, no ejection.

use std::collections::BTreeMap;

use crate::time::SimDuration;

use super::{KeyDist, OutlierSpec, RetryBudgetSpec};

/// Where `weighted-round-robin` weights come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Weights {
    /// The replica's usable CPU: its CPU limit (or 1 core without one) ×
    /// its node's speed factor, in millicores.
    #[default]
    Cpu,
    /// A weight per node pool (replicas on unlisted pools weigh 1).
    ByPool(BTreeMap<String, u32>),
}

impl Weights {
    /// The weight of a replica with CPU limit `cpu_milli` on a node of
    /// `pool` with speed factor `speed`.
    pub fn weight(&self, cpu_milli: u64, speed: f64, pool: &str) -> u32 {
        match self {
            Weights::Cpu => {
                let cpu = if cpu_milli == 0 { 1000 } else { cpu_milli };
                ((cpu as f64 * speed).round() as u32).max(1)
            }
            Weights::ByPool(m) => m.get(pool).copied().unwrap_or(1).max(1),
        }
    }
}

/// How a service's requests are balanced, besides the policy's name.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancingSpec {
    /// Power-of-d choices: `d` for `p2c` and `peak-ewma` (Envoy's
    /// `choice_count`, default 2).
    pub choices: Option<usize>,
    /// `weighted-round-robin` weights.
    pub weights: Weights,
    /// Balancer instances: 1 is one shared balancer; N > 1 are client-side
    /// balancers, each request handled by one of them at random, each with
    /// its own counters and estimates.
    pub clients: u32,
    /// Time for an endpoint change (a replica ready or gone) to reach the
    /// balancers; meanwhile they send to gone replicas, and those requests fail.
    pub discovery_delay: SimDuration,
    /// Retries per request after a failed attempt (connection refused or
    /// rejected), each to a newly picked endpoint.
    pub retries: u32,
    /// What retries may add to the load.
    pub retry_budget: RetryBudgetSpec,
    /// Outlier ejection, when configured.
    pub outlier: Option<OutlierSpec>,
    /// Request keys for `ring-hash` and `maglev`.
    pub keys: Option<KeyDist>,
}

impl Default for BalancingSpec {
    fn default() -> Self {
        BalancingSpec {
            choices: None,
            weights: Weights::Cpu,
            clients: 1,
            discovery_delay: SimDuration::ZERO,
            retries: 0,
            retry_budget: RetryBudgetSpec::default(),
            outlier: None,
            keys: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_weights_scale_with_node_speed_and_pool_weights_default_to_one() {
        // 500m limit on a node of speed 1.5: 500 × 1.5 = 750; no limit: 1000 × 1 = 1000.
        assert_eq!(Weights::Cpu.weight(500, 1.5, "a"), 750);
        assert_eq!(Weights::Cpu.weight(0, 1.0, "a"), 1000);
        let w = Weights::ByPool(BTreeMap::from([("fast".into(), 3)]));
        assert_eq!(w.weight(500, 1.0, "fast"), 3);
        assert_eq!(w.weight(500, 1.0, "slow"), 1);
    }
}
