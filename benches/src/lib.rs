//! Models the criterion benchmarks in `benches/benches/` time.
//!
//! Key decision: each model exists twice — once on Orkestra's engine
//! ([`EventQueue`]) and once on a hand-written `std::collections::BinaryHeap`
//! loop — with the same events, random streams and arithmetic, so a
//! benchmark group shows their ratio measured in the same process.
#![warn(missing_docs)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use orkestra_core::rng::{StreamRng, stream};
use orkestra_core::time::SimTime;
use orkestra_simulator::EventQueue;
use rand_distr::{Distribution, Exp1};

/// Events of the minimal M/M/c model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MmcEvent {
    /// A customer arrives.
    Arrival,
    /// A server finishes.
    Departure,
}

/// The M/M/c model's state and random streams.
pub struct Mmc {
    servers: u32,
    busy: u32,
    queued: u64,
    /// Mean interarrival and service times in ns.
    arrival_ns: f64,
    service_ns: f64,
    arrivals: StreamRng,
    services: StreamRng,
    /// Customers served (a checksum the caller can assert on).
    pub served: u64,
}

impl Mmc {
    /// `servers` servers at utilisation `rho`, mean service time 1 ms.
    pub fn new(servers: u32, rho: f64, seed: u64) -> Mmc {
        let service_ns = 1e6;
        Mmc {
            servers,
            busy: 0,
            queued: 0,
            arrival_ns: service_ns / (rho * f64::from(servers)),
            service_ns,
            arrivals: stream(seed, "traffic"),
            services: stream(seed, "service"),
            served: 0,
        }
    }

    #[inline]
    fn next_arrival(&mut self, now: u64) -> u64 {
        let e: f64 = Exp1.sample(&mut self.arrivals);
        now + (e * self.arrival_ns) as u64
    }

    #[inline]
    fn service(&mut self, now: u64) -> u64 {
        let e: f64 = Exp1.sample(&mut self.services);
        now + (e * self.service_ns) as u64
    }

    /// Handles one event at `now`, scheduling follow-ups through `schedule`.
    #[inline]
    pub fn handle(&mut self, now: u64, ev: MmcEvent, mut schedule: impl FnMut(u64, MmcEvent)) {
        match ev {
            MmcEvent::Arrival => {
                schedule(self.next_arrival(now), MmcEvent::Arrival);
                if self.busy < self.servers {
                    self.busy += 1;
                    schedule(self.service(now), MmcEvent::Departure);
                } else {
                    self.queued += 1;
                }
            }
            MmcEvent::Departure => {
                self.served += 1;
                if self.queued > 0 {
                    self.queued -= 1;
                    schedule(self.service(now), MmcEvent::Departure);
                } else {
                    self.busy -= 1;
                }
            }
        }
    }
}

/// Runs `events` events of M/M/c on Orkestra's radix-heap queue; returns customers served.
pub fn mmc_engine(servers: u32, rho: f64, events: u64, seed: u64) -> u64 {
    let mut m = Mmc::new(servers, rho, seed);
    let mut q = EventQueue::new();
    q.push(SimTime(0), MmcEvent::Arrival);
    for _ in 0..events {
        let (t, ev) = q.pop().expect("the arrival stream never ends");
        m.handle(t.0, ev, |at, e| q.push(SimTime(at), e));
    }
    m.served
}

/// The same model on a hand-written `BinaryHeap` loop ordered by (time, sequence).
pub fn mmc_binary_heap(servers: u32, rho: f64, events: u64, seed: u64) -> u64 {
    let mut m = Mmc::new(servers, rho, seed);
    let mut q: BinaryHeap<Reverse<(u64, u64, MmcEvent)>> = BinaryHeap::new();
    let mut seq = 0u64;
    q.push(Reverse((0, seq, MmcEvent::Arrival)));
    for _ in 0..events {
        let Reverse((t, _, ev)) = q.pop().expect("the arrival stream never ends");
        m.handle(t, ev, |at, e| {
            seq += 1;
            q.push(Reverse((at, seq, e)));
        });
    }
    m.served
}

/// The baseline pending set of the hold model: (time, sequence, payload).
pub type HoldHeap = BinaryHeap<Reverse<(u64, u64, u32)>>;

/// The classic *hold* model: `pending` events in the set; each step pops the
/// earliest and schedules one an exponential time (mean 1 s) later, so the
/// pending set stays at `pending`. Returns a checksum of popped times.
pub struct Hold {
    rng: StreamRng,
}

impl Hold {
    /// A hold model's random stream.
    pub fn new(seed: u64) -> Hold {
        Hold {
            rng: stream(seed, "hold"),
        }
    }

    #[inline]
    fn delay(&mut self) -> u64 {
        let e: f64 = Exp1.sample(&mut self.rng);
        (e * 1e9) as u64
    }

    /// A radix-heap queue prefilled with `pending` events.
    pub fn engine_queue(&mut self, pending: usize) -> EventQueue<u32> {
        let mut q = EventQueue::new();
        for i in 0..pending {
            q.push(SimTime(self.delay()), i as u32);
        }
        q
    }

    /// `steps` hold operations on the radix heap.
    pub fn run_engine(&mut self, q: &mut EventQueue<u32>, steps: u64) -> u64 {
        let mut sum = 0u64;
        for _ in 0..steps {
            let (t, e) = q.pop().expect("never empty");
            sum = sum.wrapping_add(t.0);
            q.push(SimTime(t.0 + self.delay()), e);
        }
        sum
    }

    /// A binary heap prefilled with `pending` events.
    pub fn heap(&mut self, pending: usize) -> (HoldHeap, u64) {
        let mut q = BinaryHeap::with_capacity(pending);
        for i in 0..pending {
            q.push(Reverse((self.delay(), i as u64, i as u32)));
        }
        (q, pending as u64)
    }

    /// `steps` hold operations on the binary heap.
    pub fn run_heap(&mut self, q: &mut HoldHeap, seq: &mut u64, steps: u64) -> u64 {
        let mut sum = 0u64;
        for _ in 0..steps {
            let Reverse((t, _, e)) = q.pop().expect("never empty");
            sum = sum.wrapping_add(t);
            *seq += 1;
            q.push(Reverse((t + self.delay(), *seq, e)));
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_queues_simulate_the_same_model() {
        // Same streams, same (time, seq) order ⇒ the same customers served.
        assert_eq!(
            mmc_engine(4, 0.9, 100_000, 1),
            mmc_binary_heap(4, 0.9, 100_000, 1)
        );
    }

    #[test]
    fn both_hold_loops_pop_the_same_times() {
        let mut a = Hold::new(2);
        let mut qa = a.engine_queue(10_000);
        let mut b = Hold::new(2);
        let (mut qb, mut seq) = b.heap(10_000);
        assert_eq!(
            a.run_engine(&mut qa, 50_000),
            b.run_heap(&mut qb, &mut seq, 50_000)
        );
    }
}
