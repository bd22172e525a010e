//! Load measures for the load-aware balancers, after tower's `load` module.
//!
//! Key decision: a [`Load`] is per-replica state fed by the same feedback
//! hooks as a balancer, so one P2C or full-scan balancer works over any
//! measure (outstanding requests, peak EWMA). State lives in dense vectors
//! indexed by [`ReplicaId`], so it follows replicas through endpoint churn.

use crate::ids::ReplicaId;
use crate::time::{SimDuration, SimTime};

use super::slot;

/// A per-replica load measure; smaller is better.
pub trait Load: Send {
    /// The load of `replica` now (may decay internal estimates, as tower's
    /// and Finagle's peak EWMA do on every read).
    fn load(&mut self, replica: ReplicaId) -> f64;

    /// A request was sent to `replica`.
    fn on_start(&mut self, replica: ReplicaId);

    /// A request to `replica` finished after `latency`.
    fn on_complete(&mut self, replica: ReplicaId, latency: SimDuration, ok: bool);

    /// The clock moved to `now`.
    fn on_time(&mut self, _now: SimTime) {}
}

/// Outstanding (in-flight) requests per replica: Envoy's active requests,
/// tower's `PendingRequests`.
#[derive(Clone, Debug, Default)]
pub struct Outstanding {
    counts: Vec<u32>,
}

impl Outstanding {
    /// Requests sent to `replica` and not yet complete.
    #[inline]
    pub fn get(&self, replica: ReplicaId) -> u32 {
        self.counts.get(replica.0 as usize).copied().unwrap_or(0)
    }

    /// Counts a request sent to `replica`.
    #[inline]
    pub fn start(&mut self, replica: ReplicaId) {
        *slot(&mut self.counts, replica, 0) += 1;
    }

    /// Counts a request to `replica` as finished. A completion without a
    /// start (a world's bug) leaves the count at zero rather than wrapping.
    #[inline]
    pub fn complete(&mut self, replica: ReplicaId) {
        let c = slot(&mut self.counts, replica, 0);
        *c = c.saturating_sub(1);
    }
}

impl Load for Outstanding {
    #[inline]
    fn load(&mut self, replica: ReplicaId) -> f64 {
        f64::from(self.get(replica))
    }

    #[inline]
    fn on_start(&mut self, replica: ReplicaId) {
        self.start(replica);
    }

    #[inline]
    fn on_complete(&mut self, replica: ReplicaId, _latency: SimDuration, _ok: bool) {
        self.complete(replica);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outstanding_counts_by_replica_id_not_position() {
        let mut o = Outstanding::default();
        o.on_start(ReplicaId(7));
        o.on_start(ReplicaId(7));
        o.on_start(ReplicaId(2));
        o.on_complete(ReplicaId(7), SimDuration::ZERO, true);
        assert_eq!((o.get(ReplicaId(7)), o.get(ReplicaId(2))), (1, 1));
        // Never seen: zero; completion without start does not wrap.
        assert_eq!(o.get(ReplicaId(1000)), 0);
        o.on_complete(ReplicaId(3), SimDuration::ZERO, false);
        assert_eq!(o.load(ReplicaId(3)), 0.0);
    }
}
