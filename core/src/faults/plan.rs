//! The fault plan: scheduled faults and stochastic failure processes merged
//! into one time-ordered stream of start and end events.
//!
//! Key decision: the plan is lazy — a heap holds, per failure unit (node,
//! rack or zone of a `[stochastic.POOL]`), only its next transition, and
//! draws the following time to failure or repair when it pops — so memory
//! is O(units + scheduled faults) whatever the run length, and each unit
//! draws from its own stream `failures/<pool>/<unit>`. Nothing here touches
//! a traffic or service stream: adding a fault cannot change the arrivals.
//! Ties are ordered (time, end before start, declaration order), so a node
//! whose crash ends at `t` is up before another fault starting at `t`.
//!
//! The up/down alternation is the classic alternating renewal process of
//! reliability theory (a unit is up for a TTF draw, down for a TTR draw);
//! availability tends to `E[TTF] / (E[TTF] + E[TTR])`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::spec::{FailureScope, Fault, FaultKind, FaultsSpec};
use crate::rng::{StreamRng, names, stream};
use crate::time::SimTime;

/// Whether a fault begins or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    /// Recovery (ordered first among equal times).
    End,
    /// The fault begins.
    Start,
}

/// One start or end of a fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEvent {
    /// When.
    pub at: SimTime,
    /// Start or end.
    pub edge: Edge,
    /// The fault (its `at`/`duration` give both edges).
    pub fault: Fault,
}

/// What the heap holds: a scheduled fault's edge, or a unit's next change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Scheduled(usize),
    Unit { process: usize, unit: usize },
}

#[derive(Debug)]
struct Unit {
    rng: StreamRng,
    /// The current outage, while down.
    down: Option<Fault>,
}

/// The time-ordered fault events of one run.
#[derive(Debug)]
pub struct FaultPlan {
    spec: FaultsSpec,
    units: Vec<Vec<Unit>>,
    heap: BinaryHeap<Reverse<(SimTime, Edge, u64, Item)>>,
    seq: u64,
    horizon: SimTime,
}

impl FaultPlan {
    /// The plan of `spec` for a run with `seed`, emitting events up to and
    /// including `horizon` (the run's end).
    pub fn new(spec: &FaultsSpec, seed: u64, horizon: SimTime) -> FaultPlan {
        let mut plan = FaultPlan {
            spec: spec.clone(),
            units: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            horizon,
        };
        for (i, f) in spec.scheduled.iter().enumerate() {
            plan.push(f.at, Edge::Start, Item::Scheduled(i));
            if let Some(end) = f.end() {
                plan.push(end, Edge::End, Item::Scheduled(i));
            }
        }
        for (p, proc_) in spec.stochastic.iter().enumerate() {
            let mut units = Vec::with_capacity(proc_.units.len());
            for (u, (name, _)) in proc_.units.iter().enumerate() {
                let stream_name = format!("{}/{}/{}", names::FAILURES, proc_.pool, name);
                let mut rng = stream(seed, &stream_name);
                let first = SimTime::ZERO + proc_.ttf.sample(&mut rng);
                units.push(Unit { rng, down: None });
                plan.push(
                    first,
                    Edge::Start,
                    Item::Unit {
                        process: p,
                        unit: u,
                    },
                );
            }
            plan.units.push(units);
        }
        plan
    }

    /// When the next event happens, if any is left before the horizon.
    pub fn peek_at(&self) -> Option<SimTime> {
        self.heap
            .peek()
            .map(|Reverse((t, ..))| *t)
            .filter(|t| *t <= self.horizon)
    }

    fn push(&mut self, at: SimTime, edge: Edge, item: Item) {
        if at <= self.horizon {
            self.heap.push(Reverse((at, edge, self.seq, item)));
            self.seq += 1;
        }
    }
}

impl Iterator for FaultPlan {
    type Item = FaultEvent;

    fn next(&mut self) -> Option<FaultEvent> {
        let Reverse((at, edge, _, item)) = self.heap.pop()?;
        match item {
            Item::Scheduled(i) => Some(FaultEvent {
                at,
                edge,
                fault: self.spec.scheduled[i].clone(),
            }),
            Item::Unit { process, unit } => {
                let proc_ = &self.spec.stochastic[process];
                let state = &mut self.units[process][unit];
                let (event, next) = match edge {
                    Edge::Start => {
                        let repair = proc_.ttr.sample(&mut state.rng);
                        let (name, nodes) = &proc_.units[unit];
                        let kind = match proc_.scope {
                            FailureScope::Zone => FaultKind::ZoneOutage {
                                zone: name.clone(),
                                nodes: nodes.clone(),
                            },
                            FailureScope::Node | FailureScope::Rack => FaultKind::NodeCrash {
                                nodes: nodes.clone(),
                            },
                        };
                        let fault = Fault {
                            name: format!("stochastic.{}/{}", proc_.pool, name),
                            at,
                            duration: Some(repair),
                            kind,
                        };
                        state.down = Some(fault.clone());
                        (FaultEvent { at, edge, fault }, (at + repair, Edge::End))
                    }
                    Edge::End => {
                        let fault = state.down.take().expect("a unit ends only while down");
                        let up = proc_.ttf.sample(&mut state.rng);
                        (FaultEvent { at, edge, fault }, (at + up, Edge::Start))
                    }
                };
                self.push(next.0, next.1, item);
                Some(event)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DurationDist;
    use crate::faults::spec::{FailureProcess, Lifetime};
    use crate::model::NodeId;
    use crate::time::SimDuration;

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1_000_000_000)
    }

    fn crash(name: &str, at: u64, dur: Option<u64>, node: u32) -> Fault {
        Fault {
            name: name.into(),
            at: s(at),
            duration: dur.map(SimDuration::from_secs),
            kind: FaultKind::NodeCrash {
                nodes: vec![NodeId(node)],
            },
        }
    }

    fn exp(mean: u64) -> Lifetime {
        Lifetime::Dist(DurationDist::exponential(SimDuration::from_secs(mean)).unwrap())
    }

    #[test]
    fn scheduled_faults_come_out_in_time_order_end_first() {
        let spec = FaultsSpec {
            scheduled: vec![
                crash("faults[0]", 100, Some(50), 0), // 100 → 150
                crash("faults[1]", 150, None, 0),     // 150 → end of run
                crash("faults[2]", 20, Some(10), 1),  // 20 → 30
                crash("faults[3]", 900, Some(10), 1), // after the horizon: dropped
            ],
            stochastic: vec![],
            ..Default::default()
        };
        let got: Vec<(u64, Edge, String)> = FaultPlan::new(&spec, 1, s(600))
            .map(|e| (e.at.0 / 1_000_000_000, e.edge, e.fault.name))
            .collect();
        let want = [
            (20, Edge::Start, "faults[2]"),
            (30, Edge::End, "faults[2]"),
            (100, Edge::Start, "faults[0]"),
            // At 150 the end of faults[0] comes before the start of faults[1].
            (150, Edge::End, "faults[0]"),
            (150, Edge::Start, "faults[1]"),
        ];
        let want: Vec<(u64, Edge, String)> = want
            .iter()
            .map(|(t, e, n)| (*t, *e, n.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    fn process(units: u32, ttf: u64, ttr: u64) -> FailureProcess {
        FailureProcess {
            pool: "web".into(),
            scope: FailureScope::Node,
            units: (0..units)
                .map(|i| (format!("web-{i}"), vec![NodeId(i)]))
                .collect(),
            ttf: exp(ttf),
            ttr: exp(ttr),
        }
    }

    #[test]
    fn stochastic_availability_matches_the_renewal_limit() {
        // MTTF 900 s, MTTR 100 s → availability 900/1000 = 0.9 per node.
        // 20 nodes × 1e6 s ≈ 20,000 cycles; s.e. of the fraction ≈ 0.001.
        let spec = FaultsSpec {
            scheduled: vec![],
            stochastic: vec![process(20, 900, 100)],
            ..Default::default()
        };
        let horizon = s(1_000_000);
        let mut down = 0u64;
        let mut open = [None; 20];
        let mut last = SimTime::ZERO;
        for e in FaultPlan::new(&spec, 9, horizon) {
            assert!(e.at >= last, "events in time order");
            last = e.at;
            let FaultKind::NodeCrash { nodes } = &e.fault.kind else {
                panic!()
            };
            let n = nodes[0].0 as usize;
            match e.edge {
                Edge::Start => open[n] = Some(e.at),
                Edge::End => down += (e.at - open[n].take().unwrap()).0,
            }
        }
        for t in open.into_iter().flatten() {
            down += (horizon - t).0;
        }
        let availability = 1.0 - down as f64 / (20.0 * horizon.0 as f64);
        assert!(
            (availability - 0.9).abs() < 0.01,
            "availability {availability}"
        );
    }

    #[test]
    fn adding_a_process_leaves_the_others_unchanged() {
        let one = FaultsSpec {
            scheduled: vec![],
            stochastic: vec![process(3, 500, 50)],
            ..Default::default()
        };
        let mut other = process(2, 100, 10);
        other.pool = "db".into();
        let two = FaultsSpec {
            scheduled: vec![crash("faults[0]", 7, Some(1), 9)],
            stochastic: vec![other, process(3, 500, 50)],
            ..Default::default()
        };
        let web = |spec: &FaultsSpec| -> Vec<FaultEvent> {
            FaultPlan::new(spec, 4, s(10_000))
                .filter(|e| e.fault.name.starts_with("stochastic.web"))
                .collect()
        };
        let a = web(&one);
        assert!(a.len() > 20, "enough events to compare: {}", a.len());
        assert_eq!(a, web(&two));
    }
}
