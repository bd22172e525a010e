//! `jsq`: join the shortest queue.
//!
//! Key decision: JSQ is the queueing-theory name for a dispatcher that sees
//! every queue and sends each arrival to a shortest one (Winston 1977; the
//! d = n end of Mitzenmacher's power of d choices). Our measure of a queue is
//! the requests outstanding at the replica (in service + waiting), so JSQ is
//! the same full scan as [`LeastRequest`], ties at random; it has its own
//! name so scenarios and reports can say which model they mean.

use rand::Rng;

use crate::ids::ReplicaId;
use crate::time::SimDuration;

use super::{Balance, LeastRequest};

/// Join the shortest queue: the fewest outstanding requests, ties at random.
#[derive(Clone, Debug)]
pub struct Jsq(LeastRequest);

impl Default for Jsq {
    fn default() -> Self {
        Jsq(LeastRequest::named("jsq"))
    }
}

impl Balance for Jsq {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize> {
        self.0.pick(endpoints, rng)
    }

    fn on_start(&mut self, replica: ReplicaId) {
        self.0.on_start(replica);
    }

    fn on_complete(&mut self, replica: ReplicaId, latency: SimDuration, ok: bool) {
        self.0.on_complete(replica, latency, ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn joins_the_shortest_queue() {
        // Queues 3, 1, 2 → index 1; after two more to it (3), 2 is shortest.
        let mut b = Jsq::default();
        let mut rng = stream(5, "t");
        let eps = [ReplicaId(0), ReplicaId(1), ReplicaId(2)];
        for (r, n) in [(0, 3), (1, 1), (2, 2)] {
            for _ in 0..n {
                b.on_start(ReplicaId(r));
            }
        }
        assert_eq!(b.pick(&eps, &mut rng), Some(1));
        b.on_start(ReplicaId(1));
        b.on_start(ReplicaId(1));
        assert_eq!(b.pick(&eps, &mut rng), Some(2));
        assert_eq!(b.name(), "jsq");
    }
}
