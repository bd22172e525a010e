//! The simulated cluster: nodes, replicas and requests driven by the engine.
//!
//! Key decision: the simulator owns an [`ObservedCluster`] that it keeps
//! exactly up to date, and hands it to the core's controllers (replica
//! controller, scheduler) whenever something changed — the same functions the
//! live backend calls on observations from Docker. Request handling is the
//! hot path and lives in flat per-replica arrays: each replica serves
//! `concurrency` requests at once and queues the rest FIFO, with an optional
//! queue limit and a client timeout measured from arrival.
//!
//! Timeouts: a queued request whose deadline passes leaves the queue at its
//! deadline (all requests of a service share one timeout, so deadlines in a
//! queue are in arrival order and expire from its head). A request already in
//! service when its deadline passes is counted as timed out when service
//! ends; the replica still does the work, as a real server would.
//!
//! Layout: this file holds the [`Simulation`], its construction, the event
//! loop and the one `match` over [`Event`]. The handlers live in two paths:
//! `cluster/requests.rs` (arrival, dispatch, service, completion; the use of
//! the core's `Router` and `SlotPool` in `requests/balancing.rs`, service
//! discovery in `requests/endpoints.rs`) and `cluster/control.rs`
//! (reconcile, scheduling, replica lifecycle, jobs, autoscaling, node
//! autoscaling, rollouts), with `cluster/healing.rs` applying faults and cut
//! links. Each optional subsystem — faults, topology, node autoscaling,
//! rollouts, probes — owns its state in its own struct whose methods take the
//! few parts of the world they need; the handlers call them and apply the
//! rest. `cluster/output.rs` writes samples, events and the summary.

use std::io;

use orkestra_core::model::{DesiredState, ObservedCluster, ReplicaId, ReplicaStatus};
use orkestra_core::results::{NullOutput, Output, Summary};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

mod control;
mod faults;
mod healing;
mod jobs;
mod nodes;
mod output;
mod preemption;
mod probes;
mod requests;
mod rollout;
mod topology;
mod volumes;

use crate::autoscaling::Pipeline;
use crate::engine::Engine;
use control::Control;
use faults::Faults;
use jobs::Jobs;
use nodes::Nodes;
use output::Recorder;
use requests::{Requests, Serving};
use rollout::Rollouts;
use topology::Net;

/// Everything that can happen in the simulated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A request for `service` arrives.
    Arrival {
        /// Service index.
        service: u32,
    },
    /// A request that arrived at `arrival` (ns) finishes service on `replica`.
    Completion {
        /// Replica index.
        replica: u32,
        /// Arrival time of the request, ns.
        arrival: u64,
    },
    /// The oldest queued request of `replica` may have reached its deadline.
    Timeout {
        /// Replica index.
        replica: u32,
    },
    /// `replica` finished starting and passes its readiness probe.
    Ready {
        /// Replica index.
        replica: u32,
    },
    /// `replica`'s volumes are attached to its node: its container starts.
    VolumesAttached {
        /// Replica index.
        replica: u32,
    },
    /// Run the controllers against the current observation.
    Reconcile,
    /// Write a timeseries sample.
    Sample,
    /// Scrape replica metrics for autoscalers.
    Scrape,
    /// Run `service`'s autoscaler (its periodic sync).
    Autoscale {
        /// Service index.
        service: u32,
    },
    /// Run `service`'s autoscaler now, outside its period (Knative's
    /// activator poking the autoscaler when traffic meets zero replicas).
    Poke {
        /// Service index.
        service: u32,
    },
    /// The next job of job set `set` arrives.
    JobArrival {
        /// Job set index.
        set: u32,
    },
    /// Job pod `replica` has run its duration.
    JobDone {
        /// Replica index.
        replica: u32,
    },
    /// Retry the refused evictions of drained node `node`.
    DrainRetry {
        /// Node index.
        node: u32,
    },
    /// Terminating replica `replica`'s grace period is over: kill it.
    GraceOver {
        /// Replica index.
        replica: u32,
    },
    /// The back-off after a failed pod of job `job` is over: replace it.
    JobReplace {
        /// Job index (arrival order).
        job: u32,
    },
    /// Run the node autoscaler (its periodic scan).
    NodeScan,
    /// `node`, added by a scale-up, finished booting and accepts replicas.
    NodeReady {
        /// Node index.
        node: u32,
    },
    /// Endpoint changes of `service` reach its balancers (service
    /// discovery's propagation delay has passed).
    Discover {
        /// Service index.
        service: u32,
    },
    /// Fault edges of the plan are due (`cluster/faults/`).
    Fault,
    /// The node lifecycle controller finds crashed `node` silent for the
    /// grace period (ignored unless `epoch` is the node's current one).
    NodeNotReady {
        /// Node index.
        node: u32,
        /// The node's crash epoch.
        epoch: u32,
    },
    /// Taint-based eviction of NotReady `node`'s replicas.
    Evict {
        /// Node index.
        node: u32,
        /// The node's crash epoch.
        epoch: u32,
    },
    /// `replica`'s container crashes (or is OOMKilled), unless it died or
    /// restarted since (`incarnation`).
    ContainerCrash {
        /// Replica index.
        replica: u32,
        /// The replica's incarnation when drawn.
        incarnation: u32,
    },
    /// The kubelet restarts `replica`'s container after its back-off.
    Restart {
        /// Replica index.
        replica: u32,
        /// The replica's incarnation at its death.
        incarnation: u32,
    },
    /// Start or sync `service`'s rollout (at `at`, on a pod change, at the
    /// controller's wake-up time).
    Rollout {
        /// Service index.
        service: u32,
    },
}

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A simulation of one scenario with one seed.
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    /// The desired state the controllers reconcile to: the scenario's,
    /// with replica counts changed by autoscalers.
    desired: DesiredState,
    engine: Engine<Event>,
    observed: ObservedCluster,
    /// The request path: per-service request state, per-replica serving
    /// state and queues.
    req: Requests,
    /// The controllers and the scheduler.
    ctl: Control,
    /// Nodes: lifecycle, capacity accounting, cost, the node autoscaler.
    nodes: Nodes,
    jobs: Jobs<'a>,
    /// The autoscalers' metrics pipeline, when some service has one.
    pipeline: Option<Pipeline>,
    /// Faults and self-healing, when the scenario injects faults.
    faults: Option<Box<Faults>>,
    /// Zones on the request path, when the scenario has `[topology]` or
    /// cuts or degrades links the ingress uses.
    net: Option<Box<Net>>,
    /// Rollouts and the template of each replica (empty when no service
    /// has a rollout).
    rollouts: Rollouts,
    /// Where rows go, and the first write error.
    rec: Recorder<'a>,
    /// Exclusive volumes' attachments, when some service mounts claims.
    volumes: Option<Box<volumes::Attachments>>,
}

/// Bytes of simulator state per running replica by layout: its status, its
/// serving state, its endpoint slot and one pending event in the radix heap.
/// Waiting requests cost 8 bytes each on top, in their replica's queue.
pub fn bytes_per_replica() -> usize {
    std::mem::size_of::<ReplicaStatus>()
        + std::mem::size_of::<Serving>()
        + std::mem::size_of::<ReplicaId>()
        + crate::engine::entry_size::<Event>()
}

impl<'a> Simulation<'a> {
    /// Prepares a run; the scenario has been validated, so policies resolve.
    pub fn new(scenario: &'a Scenario, out: &'a mut dyn Output) -> Simulation<'a> {
        let pipeline = scenario.autoscalers.iter().any(Option::is_some).then(|| {
            Pipeline::new(
                scenario
                    .autoscalers
                    .iter()
                    .map(|a| a.as_ref().map(|a| (a.build(), a.metrics())))
                    .collect(),
                scenario.metric_resolution,
            )
        });
        let observed = ObservedCluster {
            storage: scenario.storage.clone(),
            changes: Default::default(),
            nodes: scenario
                .nodes
                .iter()
                .map(|n| orkestra_core::model::NodeStatus::new(n.clone()))
                .collect(),
            replicas: Vec::new(),
        };
        Simulation {
            nodes: Nodes::new(scenario, &observed.nodes),
            scenario,
            desired: scenario.desired.clone(),
            engine: Engine::new(),
            observed,
            req: Requests::new(scenario),
            ctl: Control::new(scenario),
            jobs: Jobs::new(scenario),
            pipeline,
            faults: Faults::new(scenario),
            net: Net::new(scenario),
            rollouts: Rollouts::new(scenario),
            rec: Recorder::new(out),
            volumes: scenario
                .desired
                .services
                .iter()
                .any(|s| s.volumes.iter().any(|v| v.claim_name().is_some()))
                .then(|| {
                    Box::new(volumes::Attachments::new(
                        scenario.resilience.node_lifecycle.max_wait_for_unmount,
                    ))
                }),
        }
    }

    /// Runs to the scenario's end and returns the summary.
    ///
    /// `progress` is called now and then with the simulated time reached.
    pub fn run(mut self, progress: &mut dyn FnMut(SimTime)) -> io::Result<Summary> {
        let end = SimTime::ZERO + self.scenario.duration;
        self.start();
        let mut next_progress = PROGRESS_EVERY;
        while let Some(ev) = self.engine.next_until(end) {
            match ev {
                Event::Arrival { service } => self.on_arrival(service as usize),
                Event::Completion { replica, arrival } => self.on_completion(replica, arrival),
                Event::Timeout { replica } => self.on_timeout(replica),
                Event::Ready { replica } => self.on_ready(replica),
                Event::VolumesAttached { replica } => self.on_volumes_attached(replica),
                Event::Reconcile => {
                    if !self.defer(ev) {
                        self.ctl.reconcile_pending = false;
                        self.reconcile(false);
                    }
                }
                Event::Sample => self.on_sample(end),
                Event::Scrape => self.on_scrape(),
                Event::Autoscale { service } => {
                    if !self.defer(ev) {
                        self.on_autoscale(service as usize, true);
                    }
                }
                Event::Poke { service } => {
                    if !self.defer(ev) {
                        self.on_autoscale(service as usize, false);
                    }
                }
                Event::JobArrival { set } => self.on_job_arrival(set as usize),
                Event::JobDone { replica } => self.on_job_done(replica),
                Event::JobReplace { job } => self.on_job_replace(job),
                Event::GraceOver { replica } => self.on_grace_over(replica),
                Event::DrainRetry { node } => self.evict_pass(node),
                Event::NodeScan => {
                    if !self.defer(ev) {
                        self.on_node_scan();
                    }
                }
                Event::NodeReady { node } => self.on_node_ready(node),
                Event::Discover { service } => self.on_discover(service as usize),
                Event::Fault => self.on_fault(),
                Event::NodeNotReady { node, epoch } => self.on_node_not_ready(node, epoch),
                Event::Evict { node, epoch } => self.on_evict(node, epoch),
                Event::ContainerCrash {
                    replica,
                    incarnation,
                } => self.on_container_crash(replica, incarnation),
                Event::Restart {
                    replica,
                    incarnation,
                } => self.on_restart(replica, incarnation),
                Event::Rollout { service } => self.on_rollout(service as usize),
            }
            if self.engine.processed() >= next_progress {
                next_progress += PROGRESS_EVERY;
                progress(self.engine.now());
                if self.rec.failed() {
                    break;
                }
            }
        }
        progress(end);
        self.rec.take_error()?;
        Ok(self.summary(end))
    }

    /// Converges the desired state at time zero and schedules the first
    /// event of every source.
    fn start(&mut self) {
        // Size the per-replica arrays for the desired state up front: growth by
        // doubling would leave up to half of them as slack.
        let desired: usize = self
            .scenario
            .desired
            .services
            .iter()
            .map(|s| s.replicas as usize)
            .sum();
        self.observed.replicas.reserve_exact(desired);
        self.req.reserve(desired, &self.scenario.desired.services);
        // Initial state: converge the desired state at time zero.
        self.reconcile(self.scenario.warm_start);
        for s in 0..self.req.services.len() {
            self.schedule_next_arrival(s);
        }
        for k in 0..self.jobs.len() {
            self.jobs.schedule_next(k, self.scenario, &mut self.engine);
        }
        self.engine.schedule(
            SimTime::ZERO + self.scenario.sample_interval.min(self.scenario.duration),
            Event::Sample,
        );
        if let Some(p) = &self.pipeline {
            self.engine
                .schedule(SimTime::ZERO + p.resolution, Event::Scrape);
            for (s, sc) in p.services.iter().enumerate() {
                if let Some(sc) = sc {
                    let period = sc.scaler.sync_period();
                    self.engine.schedule(
                        SimTime::ZERO + period,
                        Event::Autoscale { service: s as u32 },
                    );
                }
            }
        }
        self.nodes.schedule_first_scan(&mut self.engine);
        if let Some(f) = &self.faults {
            f.schedule_next(&mut self.engine);
        }
        self.rollouts.schedule_starts(&mut self.engine);
    }

    fn emit_event(&mut self, kind: &str, subject: &str, detail: &str) {
        self.rec.event(self.engine.now(), kind, subject, detail);
    }

    /// `<service>-<replica id>`; a StatefulSet's pods are
    /// `<set>-<ordinal>`, a replacement named as the pod it replaces.
    fn replica_name(&self, r: u32) -> String {
        let s = self.observed.replicas[r as usize].service;
        let name = &self.scenario.desired.services[s.0 as usize].name;
        match self.observed.storage.ordinal(ReplicaId(r)) {
            Some(k) => orkestra_core::stateful::pod_name(name, k),
            None => format!("{name}-{r}"),
        }
    }

    /// Something changed that the scheduler (and, with `services`, the
    /// replica controller) must see: reconcile once at this instant.
    fn mark_dirty(&mut self, services: bool) {
        self.ctl.services_dirty |= services;
        if !self.ctl.reconcile_pending {
            self.ctl.reconcile_pending = true;
            self.engine.schedule(self.engine.now(), Event::Reconcile);
        }
    }

    /// During a control-plane pause, moves `ev` to the pause's end and says so.
    fn defer(&mut self, ev: Event) -> bool {
        let now = self.engine.now();
        match self.faults.as_ref().and_then(|f| f.paused(now)) {
            Some(t) => {
                self.engine.schedule(t, ev);
                true
            }
            None => false,
        }
    }
}

/// Simulates `scenario` without writing rows, returning its summary.
pub fn simulate(scenario: &Scenario) -> Summary {
    let mut out = NullOutput;
    Simulation::new(scenario, &mut out)
        .run(&mut |_| {})
        .expect("NullOutput cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_replica_costs_at_most_128_bytes() {
        // Status 24 + serving 16 + endpoint 4 + one radix-heap entry 32 = 76 bytes.
        assert!(bytes_per_replica() <= 128, "{} bytes", bytes_per_replica());
    }
}
