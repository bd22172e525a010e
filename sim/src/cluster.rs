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

use std::collections::{BTreeMap, HashMap};
use std::io;

use orkestra_core::action::Action;
use orkestra_core::balance::{Balance, Keys, Policy, RetryBudget, Routing};
use orkestra_core::capacity::Capacity;
use orkestra_core::controller::reconcile_replicas;
use orkestra_core::jobs::{Job, JobStream};
use orkestra_core::metrics::{ClusterMetrics, Durations, ServiceMetrics};
use orkestra_core::model::{
    NodeId, NodeStatus, ObservedCluster, ReplicaId, ReplicaState, ReplicaStatus, ServiceKind,
};
use orkestra_core::placement::Place;
use orkestra_core::queue::SchedulingQueue;
use orkestra_core::registry;
use orkestra_core::results::{ClusterSummary, FORMAT, JobSetSummary, NullOutput, Output, Summary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};
use orkestra_core::traffic::Arrivals;

mod faults;
mod nodes;
mod probes;
mod rollout;
mod topology;

use crate::autoscaling::Pipeline;
use crate::engine::Engine;
use crate::waiting::{Queue, Waiting};
use orkestra_core::autoscale::PodSample;
use orkestra_core::autoscale::spec::AutoscalerSpec;
use orkestra_core::metrics::SloTracker;
use orkestra_core::model::DesiredState;
use orkestra_core::results::AutoscalingSummary;

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

/// Arrival times of requests handled by client-side balancers carry the
/// client's index above this bit (runs with them are shorter than 2^48 ns,
/// as the scenario loader checks), so a queued request remembers whose
/// counters its completion updates without any per-request allocation.
const CLIENT_SHIFT: u32 = 48;

/// A balancer instance for `s`. Central-queue mode never asks it to pick;
/// it only receives feedback, so round robin stands in there.
pub(crate) fn balancer_for(s: &orkestra_core::model::ServiceSpec) -> Box<dyn Balance> {
    s.routing
        .policy()
        .unwrap_or(Policy::RoundRobin)
        .build(&s.balancing)
}

/// One balancer instance: the shared one, or one client-side balancer.
struct Client {
    balancer: Box<dyn Balance>,
    rng: StreamRng,
    /// Retry budget, when the service retries.
    budget: Option<RetryBudget>,
}

/// Request-serving state of one replica (beside its [`ReplicaStatus`]).
#[derive(Clone, Copy, Debug, Default)]
struct Serving {
    /// Requests in service.
    busy: u32,
    /// Arrival times (ns) of waiting requests, oldest first, in [`Waiting`].
    queue: Queue,
}

struct ServiceRuntime {
    arrivals: Arrivals,
    traffic_rng: StreamRng,
    service_rng: StreamRng,
    /// The balancer instances (one unless client-side balancing).
    clients: Vec<Client>,
    /// Picks the client of each request (client-side balancing only).
    client_rng: StreamRng,
    /// Request keys (hashing balancers with a key distribution).
    keys: Option<(Keys, StreamRng)>,
    /// Ready replicas as the balancers know them, in the order they were
    /// announced: with a discovery delay, replicas that left stay listed
    /// until the change arrives.
    endpoints: Vec<ReplicaId>,
    /// Endpoint changes on their way: (due ns, replica, added).
    discovery: std::collections::VecDeque<(u64, u32, bool)>,
    metrics: ServiceMetrics,
    busy: u32,
    queued: u32,
    ready: u32,
    /// Requests held at the activator (arrival ns) while no replica is ready;
    /// only for services that scale to zero.
    held: std::collections::VecDeque<u64>,
    /// Scale to zero: requests wait at the activator instead of failing.
    activator: bool,
    /// Central-queue mode: requests wait in `held` for a free slot.
    central: bool,
    /// Central-queue mode: one entry per free request slot (replica id);
    /// entries of replicas that left are dropped when met.
    slots: Vec<u32>,
    /// ∫ needed replicas dt (offered work ÷ concurrency).
    needed_seconds: f64,
}

/// A job set during the run.
struct JobRuntime<'a> {
    stream: JobStream,
    /// The next job, scheduled as a `JobArrival` event.
    next: Option<Job<'a>>,
    jobs: u64,
    pods: u64,
    started: u64,
    completed: u64,
    pending: u64,
    pending_time: Durations,
}

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A simulation of one scenario with one seed.
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    /// The desired state the controllers reconcile to: the scenario's,
    /// with replica counts changed by autoscalers.
    desired: DesiredState,
    pipeline: Option<Pipeline>,
    /// Per replica id, its service-time multiplier; empty unless some
    /// service has stragglers (then every replica has an entry).
    slow: Vec<f32>,
    straggler_rng: StreamRng,
    /// Some node is faster or slower than nominal: `slow` holds every
    /// replica's factor, divided by its node's speed at bind.
    speeds: bool,
    /// Masks a request tag to its arrival time (all ones unless some
    /// service has client-side balancers).
    time_mask: u64,
    pod_buf: Vec<PodSample>,
    value_buf: Vec<Option<i64>>,
    engine: Engine<Event>,
    observed: ObservedCluster,
    serving: Vec<Serving>,
    waiting: Waiting,
    services: Vec<ServiceRuntime>,
    placer: Box<dyn Place>,
    policy_rng: StreamRng,
    startup_rng: StreamRng,
    reconcile_pending: bool,
    /// A service replica changed: the replica controller must look again.
    services_dirty: bool,
    unschedulable: BTreeMap<u32, String>,
    /// Replicas not yet bound.
    pending: u32,
    queue: SchedulingQueue,
    capacity: Capacity,
    cluster: ClusterMetrics,
    jobs: Vec<JobRuntime<'a>>,
    /// Job set of each job shape (by service index; `None` for services).
    shape_set: Vec<Option<u32>>,
    /// Duration of each job pod not yet bound.
    job_duration: HashMap<u32, SimDuration>,
    /// Per node: its group and lifecycle (what the node autoscaler reads).
    node_info: Vec<orkestra_core::autoscale::cluster::NodeInfo>,
    /// Per node: when it existed, its cost, why it drains.
    node_books: Vec<nodes::NodeBook>,
    /// The node autoscaler, when the scenario has one.
    node_scaler: Option<nodes::NodeScaler>,
    /// Nodes not removed.
    nodes_existing: u32,
    /// Faults and self-healing, when the scenario injects faults.
    faults: Option<Box<faults::Faults>>,
    /// Zones on the request path, when the scenario has `[topology]` or
    /// cuts or degrades links the ingress uses.
    net: Option<Box<topology::Net>>,
    /// Per service, its rollout (empty when no service has one).
    rollouts: Vec<Option<rollout::RolloutRt>>,
    /// Per replica id, its template (0, or 1 for `newRevision`); empty
    /// when no service has a rollout.
    template: Vec<u8>,
    out: &'a mut dyn Output,
    error: Option<io::Error>,
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
        let seed = scenario.seed;
        let horizon = SimTime::ZERO + scenario.duration;
        let services = scenario
            .desired
            .services
            .iter()
            .zip(&scenario.traffic)
            .zip(scenario.autoscalers.iter().zip(&scenario.slos))
            .map(|((s, t), (a, slo))| ServiceRuntime {
                arrivals: Arrivals::new(t.clone(), horizon),
                traffic_rng: stream(seed, &format!("{}/{}", names::TRAFFIC, s.name)),
                service_rng: stream(seed, &format!("{}/{}", names::SERVICE, s.name)),
                clients: (0..s.balancing.clients.max(1))
                    .map(|c| {
                        // Client 0 keeps the shared balancer's stream name.
                        let name = match c {
                            0 => format!("{}/balance/{}", names::POLICY, s.name),
                            c => format!("{}/balance/{}/client{c}", names::POLICY, s.name),
                        };
                        Client {
                            balancer: balancer_for(s),
                            rng: stream(seed, &name),
                            budget: (s.balancing.retries > 0)
                                .then(|| RetryBudget::new(s.balancing.retry_budget)),
                        }
                    })
                    .collect(),
                client_rng: stream(
                    seed,
                    &format!("{}/balance/{}/clients", names::POLICY, s.name),
                ),
                keys: s.balancing.keys.map(|k| {
                    let name = format!("{}/balance/{}/keys", names::POLICY, s.name);
                    (Keys::new(k), stream(seed, &name))
                }),
                endpoints: Vec::new(),
                discovery: Default::default(),
                metrics: {
                    let mut m = ServiceMetrics::default();
                    m.slo = slo.map(|o| SloTracker::new(o.latency, o.percentile));
                    m
                },
                busy: 0,
                queued: 0,
                ready: 0,
                held: Default::default(),
                activator: matches!(a, Some(AutoscalerSpec::Knative(_))),
                central: s.routing == Routing::CentralQueue,
                slots: Vec::new(),
                needed_seconds: 0.0,
            })
            .collect();
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
        let nodes: Vec<NodeStatus> = scenario
            .nodes
            .iter()
            .map(|n| NodeStatus::new(n.clone()))
            .collect();
        let capacity = Capacity::new(&nodes, scenario.desired.services.iter().map(|s| s.requests));
        let mut shape_set = vec![None; scenario.desired.services.len()];
        for (k, set) in scenario.jobs.iter().enumerate() {
            for shape in &set.shapes {
                shape_set[shape.0 as usize] = Some(k as u32);
            }
        }
        let jobs = scenario
            .jobs
            .iter()
            .map(|set| JobRuntime {
                stream: JobStream::new(set, seed, horizon),
                next: None,
                jobs: 0,
                pods: 0,
                started: 0,
                completed: 0,
                pending: 0,
                pending_time: Durations::default(),
            })
            .collect();
        let (node_info, node_books, node_scaler) = nodes::initial(scenario);
        Simulation {
            nodes_existing: node_info.len() as u32,
            node_info,
            node_books,
            node_scaler,
            scenario,
            desired: scenario.desired.clone(),
            pipeline,
            slow: Vec::new(),
            straggler_rng: stream(seed, "stragglers"),
            speeds: scenario.nodes.iter().any(|n| n.speed != 1.0)
                || scenario.node_groups.iter().any(|g| g.template.speed != 1.0)
                || faults::Faults::slows_nodes(scenario),
            faults: faults::Faults::new(scenario),
            net: topology::Net::new(scenario),
            time_mask: if scenario
                .desired
                .services
                .iter()
                .any(|s| s.balancing.clients > 1)
            {
                (1 << CLIENT_SHIFT) - 1
            } else {
                u64::MAX
            },
            pod_buf: Vec::new(),
            value_buf: Vec::new(),
            engine: Engine::new(),
            observed: ObservedCluster {
                changes: Default::default(),
                nodes,
                replicas: Vec::new(),
            },
            serving: Vec::new(),
            waiting: Waiting::new(),
            services,
            placer: registry::placer(&scenario.placement).expect("validated placement"),
            policy_rng: stream(seed, &format!("{}/placement", names::POLICY)),
            startup_rng: stream(seed, names::STARTUP),
            reconcile_pending: false,
            services_dirty: true,
            unschedulable: BTreeMap::new(),
            pending: 0,
            queue: SchedulingQueue::new(),
            capacity,
            cluster: ClusterMetrics::default(),
            jobs,
            shape_set,
            job_duration: HashMap::new(),
            rollouts: rollout::initial(scenario),
            template: Vec::new(),
            out,
            error: None,
        }
    }

    /// Runs to the scenario's end and returns the summary.
    ///
    /// `progress` is called now and then with the simulated time reached.
    pub fn run(mut self, progress: &mut dyn FnMut(SimTime)) -> io::Result<Summary> {
        let end = SimTime::ZERO + self.scenario.duration;
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
        self.serving.reserve_exact(desired);
        for (svc, spec) in self
            .services
            .iter_mut()
            .zip(&self.scenario.desired.services)
        {
            svc.endpoints.reserve_exact(spec.replicas as usize);
        }
        // Initial state: converge the desired state at time zero.
        self.reconcile(self.scenario.warm_start);
        for s in 0..self.services.len() {
            self.schedule_next_arrival(s);
        }
        for k in 0..self.jobs.len() {
            self.schedule_next_job(k);
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
        if let Some(ns) = &self.node_scaler {
            self.engine.schedule(ns.first_scan(), Event::NodeScan);
        }
        self.schedule_faults();
        self.schedule_rollouts();
        let mut next_progress = PROGRESS_EVERY;
        while let Some(ev) = self.engine.next_until(end) {
            match ev {
                Event::Arrival { service } => self.on_arrival(service as usize),
                Event::Completion { replica, arrival } => self.on_completion(replica, arrival),
                Event::Timeout { replica } => self.on_timeout(replica),
                Event::Ready { replica } => self.on_ready(replica),
                Event::Reconcile => {
                    if !self.defer(ev) {
                        self.reconcile_pending = false;
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
                if self.error.is_some() {
                    break;
                }
            }
        }
        progress(end);
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok(self.summary(end))
    }

    fn emit_event(&mut self, kind: &str, subject: &str, detail: &str) {
        if let Err(e) = self
            .out
            .event(self.engine.now().as_secs_f64(), kind, subject, detail)
        {
            self.error.get_or_insert(e);
        }
    }

    fn replica_name(&self, r: u32) -> String {
        let s = self.observed.replicas[r as usize].service;
        format!("{}-{r}", self.scenario.desired.services[s.0 as usize].name)
    }

    /// Something changed that the scheduler (and, with `services`, the
    /// replica controller) must see: reconcile once at this instant.
    fn mark_dirty(&mut self, services: bool) {
        self.services_dirty |= services;
        if !self.reconcile_pending {
            self.reconcile_pending = true;
            self.engine.schedule(self.engine.now(), Event::Reconcile);
        }
    }

    /// Creates a pending replica of `service` and queues it.
    fn create(&mut self, service: orkestra_core::model::ServiceId, detail: &str) -> u32 {
        let now = self.engine.now();
        let id = self.observed.replicas.len() as u32;
        self.observed.replicas.push(ReplicaStatus {
            service,
            node: None,
            state: ReplicaState::Pending,
            since: now,
        });
        self.serving.push(Serving::default());
        if !self.rollouts.is_empty() {
            let t = self.default_template(service.0 as usize);
            self.template.push(t);
        }
        let spec = &self.scenario.desired.services[service.0 as usize];
        if spec.stragglers.fraction > 0.0 || !self.slow.is_empty() || self.speeds {
            // Every replica gets an entry once any service has stragglers.
            self.slow.resize(id as usize, 1.0);
            let st = spec.stragglers;
            let slow = st.fraction > 0.0
                && rand::RngExt::random::<f64>(&mut self.straggler_rng) < st.fraction;
            self.slow.push(if slow { st.slowdown as f32 } else { 1.0 });
        }
        let priority = self.scenario.desired.services[service.0 as usize]
            .placement
            .priority;
        self.queue.push(ReplicaId(id), priority);
        let name = self.replica_name(id);
        self.emit_event("create", &name, detail);
        self.pending += 1;
        id
    }

    /// Runs the replica controller (when a service replica changed) and the
    /// scheduling queue, and applies their actions.
    fn reconcile(&mut self, warm: bool) {
        let now = self.engine.now();
        if std::mem::take(&mut self.services_dirty) {
            let actions = reconcile_replicas(&self.desired, &self.observed, now);
            for a in actions {
                match a {
                    Action::Create { service } => {
                        self.create(service, "");
                    }
                    Action::Delete { replica } => self.delete(replica.0),
                    _ => {}
                }
            }
        }
        let binds = self.queue.schedule(
            self.scenario.queue,
            &self.desired,
            &self.observed,
            self.placer.as_mut(),
            &mut self.policy_rng,
        );
        for a in binds {
            match a {
                Action::Bind { replica, node } => self.bind(replica.0, node, warm),
                Action::Unschedulable { replica, why } => {
                    self.cluster.unschedulable(&why);
                    let why = why.to_string();
                    if self.unschedulable.get(&replica.0) != Some(&why) {
                        let name = self.replica_name(replica.0);
                        self.emit_event("unschedulable", &name, &why);
                        self.unschedulable.insert(replica.0, why);
                    }
                }
                _ => {}
            }
        }
    }

    /// Node `node`'s allocation changed by `requests` (added or removed):
    /// keep the cluster's capacity accounting without walking every node.
    fn allocation_changed(
        &mut self,
        node: NodeId,
        requests: orkestra_core::model::Resources,
        added: bool,
    ) {
        let now = self.engine.now();
        let i = node.0 as usize;
        self.capacity
            .node_changed(now, i, &self.observed.nodes[i], requests, added);
    }

    fn bind(&mut self, r: u32, node: NodeId, warm: bool) {
        let now = self.engine.now();
        let status = &mut self.observed.replicas[r as usize];
        let spec = &self.scenario.desired.services[status.service.0 as usize];
        let pending = now.saturating_since(status.since);
        self.cluster.bound(pending);
        self.pending -= 1;
        let job = spec.kind == ServiceKind::Job;
        status.node = Some(node);
        status.state = if job {
            ReplicaState::Ready
        } else {
            ReplicaState::Starting
        };
        status.since = now;
        let (service, requests) = (status.service, spec.requests);
        if self.speeds {
            let speed = self.observed.nodes[node.0 as usize].spec.speed;
            self.slow[r as usize] = (f64::from(self.slow[r as usize]) / speed) as f32;
        }
        self.observed.bind(node, service, requests);
        let node_name = self.observed.nodes[node.0 as usize].spec.name.clone();
        self.unschedulable.remove(&r);
        self.allocation_changed(node, requests, true);
        let name = self.replica_name(r);
        self.emit_event("bind", &name, &format!("node={node_name}"));
        if job {
            // A job pod runs its duration from its bind.
            let set =
                &mut self.jobs[self.shape_set[service.0 as usize].expect("job shape") as usize];
            set.started += 1;
            set.pending -= 1;
            set.pending_time.record(pending);
            let d = self.job_duration.remove(&r).expect("job pod duration");
            self.engine.schedule(now + d, Event::JobDone { replica: r });
            return;
        }
        if self.faults.is_some() && self.hold_start(r, node) {
            return;
        }
        if !self.template.is_empty() && !self.rollout_starts(r) {
            return;
        }
        let delay = if warm {
            SimDuration::ZERO
        } else {
            spec.start_delay.sample(&mut self.startup_rng)
        };
        if warm {
            self.on_ready(r);
        } else {
            let at = self.readiness_at(service.0 as usize, now, now + delay);
            self.engine.schedule(at, Event::Ready { replica: r });
        }
    }

    /// Schedules the next job of set `k`, if one arrives before the end.
    fn schedule_next_job(&mut self, k: usize) {
        let set = &self.scenario.jobs[k];
        let rt = &mut self.jobs[k];
        rt.next = rt.stream.next(set);
        if let Some(job) = &rt.next {
            let at = job.at.max(self.engine.now());
            self.engine
                .schedule(at, Event::JobArrival { set: k as u32 });
        }
    }

    /// A job arrives: its pods are created pending and queued.
    fn on_job_arrival(&mut self, k: usize) {
        let job = self.jobs[k].next.take().expect("scheduled job");
        let detail = format!("job={}", job.name);
        for _ in 0..job.count {
            let id = self.create(job.shape, &detail);
            self.job_duration.insert(id, job.duration);
        }
        let rt = &mut self.jobs[k];
        rt.jobs += 1;
        rt.pods += u64::from(job.count);
        rt.pending += u64::from(job.count);
        self.mark_dirty(false);
        self.schedule_next_job(k);
    }

    /// A job pod has run its duration: it leaves and frees its node.
    fn on_job_done(&mut self, r: u32) {
        let now = self.engine.now();
        let status = self.observed.replicas[r as usize];
        let node = status.node.expect("a running job pod is bound");
        let requests = self.scenario.desired.services[status.service.0 as usize].requests;
        self.observed.unbind(node, status.service, requests);
        self.allocation_changed(node, requests, false);
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Terminated;
        st.since = now;
        let k = self.shape_set[status.service.0 as usize].expect("job shape");
        self.jobs[k as usize].completed += 1;
        let name = self.replica_name(r);
        self.emit_event("completed", &name, "");
        self.node_left(node.0);
        self.mark_dirty(false);
    }

    fn on_ready(&mut self, r: u32) {
        let now = self.engine.now();
        if self.faults.as_ref().is_some_and(|f| f.is_dead(r)) {
            return; // its node crashed, or its image cannot be pulled
        }
        let status = &mut self.observed.replicas[r as usize];
        if status.state != ReplicaState::Starting {
            return; // deleted while starting
        }
        if self.net.is_some() && self.net_parks(r) {
            return; // on a cut-off node: the control plane does not hear it
        }
        let status = &mut self.observed.replicas[r as usize];
        status.state = ReplicaState::Ready;
        status.since = now;
        let s = status.service.0 as usize;
        let concurrency = self.scenario.desired.services[s].concurrency;
        self.endpoint_change(s, r, true);
        let svc = &mut self.services[s];
        svc.ready += 1;
        svc.metrics.started += 1;
        svc.metrics.ready.set(now, f64::from(svc.ready));
        svc.metrics
            .slots
            .set(now, f64::from(svc.ready * concurrency));
        let name = self.replica_name(r);
        self.emit_event("ready", &name, "");
        if self.faults.is_some() {
            self.faults_on_ready(r);
        }
        if !self.rollouts.is_empty() {
            self.rollout_pod_changed(r);
        }
        if self.services[s].central {
            // Its slots join the pool; waiting requests take them, oldest first.
            for _ in 0..concurrency {
                self.services[s].slots.push(r);
            }
            while !self.services[s].held.is_empty() {
                let Some(slot) = self.take_slot(s) else { break };
                match self.next_held(s) {
                    Some(a) => {
                        self.start_service(slot, a, s);
                        self.load_changed(slot, s);
                    }
                    None => {
                        self.services[s].slots.push(slot);
                        break;
                    }
                }
            }
            self.service_load(s);
            return;
        }
        // Cold start over: the activator releases what it held, oldest first.
        let timeout = self.scenario.desired.services[s].timeout;
        while let Some(a) = self.services[s].held.pop_front() {
            if timeout.is_some_and(|t| now.0 - a >= t.0) {
                self.services[s].metrics.timed_out();
                continue;
            }
            self.dispatch(s, a);
        }
        self.service_load(s);
    }
}

/// Whether traffic held at the activator should wake the autoscaler now:
/// only while the service is scaled to zero.
fn svc_needs_poke(desired: &DesiredState, s: usize) -> bool {
    desired.services[s].replicas == 0
}

impl Simulation<'_> {
    /// Ready replica `r` of service `s` stops being an endpoint (deleted,
    /// or dead with its node): the balancers learn it (after the discovery
    /// delay) and the ready counts drop now.
    pub(crate) fn leave_endpoints(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let concurrency = self.scenario.desired.services[s].concurrency;
        self.endpoint_change(s, r, false);
        let svc = &mut self.services[s];
        svc.ready -= 1;
        svc.metrics.ready.set(now, f64::from(svc.ready));
        svc.metrics
            .slots
            .set(now, f64::from(svc.ready * concurrency));
    }

    /// Begins removing a replica: no new requests; it goes once idle.
    fn delete(&mut self, r: u32) {
        let now = self.engine.now();
        let status = self.observed.replicas[r as usize];
        let s = status.service.0 as usize;
        if status.state == ReplicaState::Ready {
            self.leave_endpoints(r, s);
        }
        if status.state == ReplicaState::Pending {
            self.pending -= 1;
            let priority = self.scenario.desired.services[s].placement.priority;
            self.queue.remove(ReplicaId(r), status.service, priority);
        }
        let name = self.replica_name(r);
        self.emit_event("delete", &name, status.state.as_str());
        self.observed.replicas[r as usize].state = ReplicaState::Terminating;
        self.observed.replicas[r as usize].since = now;
        self.finish_if_idle(r);
    }

    fn finish_if_idle(&mut self, r: u32) {
        let status = self.observed.replicas[r as usize];
        if status.state != ReplicaState::Terminating {
            return;
        }
        let serving = self.serving[r as usize];
        if serving.busy > 0 || !serving.queue.is_empty() {
            return;
        }
        let now = self.engine.now();
        if let Some(node) = status.node {
            let spec = &self.scenario.desired.services[status.service.0 as usize];
            let (service, requests) = (status.service, spec.requests);
            self.observed.unbind(node, service, requests);
            self.allocation_changed(node, requests, false);
        }
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Terminated;
        st.since = now;
        let name = self.replica_name(r);
        self.emit_event("terminated", &name, "");
        if !self.rollouts.is_empty() {
            self.rollout_pod_changed(r);
        }
        if let Some(node) = status.node {
            self.node_left(node.0);
        }
        self.mark_dirty(true);
    }

    #[inline]
    fn schedule_next_arrival(&mut self, s: usize) {
        let svc = &mut self.services[s];
        if let Some(t) = svc.arrivals.next(&mut svc.traffic_rng) {
            self.engine.schedule(
                t.max(self.engine.now()),
                Event::Arrival { service: s as u32 },
            );
        }
    }

    #[inline]
    fn on_arrival(&mut self, s: usize) {
        self.schedule_next_arrival(s);
        let now = self.engine.now();
        self.services[s].metrics.arrival();
        if let Some(p) = &mut self.pipeline {
            p.arrival(s);
        }
        self.dispatch(s, now.0);
    }

    /// Central-queue mode: a free slot of a ready replica of `s`, if any.
    fn take_slot(&mut self, s: usize) -> Option<u32> {
        let concurrency = self.scenario.desired.services[s].concurrency;
        while let Some(r) = self.services[s].slots.pop() {
            let ok = self.observed.replicas[r as usize].state == ReplicaState::Ready
                && self.serving[r as usize].busy < concurrency
                && !self.faults.as_ref().is_some_and(|f| f.is_dead(r));
            if ok {
                return Some(r);
            }
        }
        None
    }

    /// Central-queue mode: the oldest waiting request of `s` that has not
    /// timed out (those are counted as they are met).
    fn next_held(&mut self, s: usize) -> Option<u64> {
        let now = self.engine.now().0;
        let timeout = self.scenario.desired.services[s].timeout;
        while let Some(a) = self.services[s].held.pop_front() {
            if timeout.is_some_and(|t| now - a >= t.0) {
                self.services[s].metrics.timed_out();
                continue;
            }
            return Some(a);
        }
        None
    }

    /// Sends a request of service `s` that arrived at `arrival` (ns) to a replica.
    #[inline]
    fn dispatch(&mut self, s: usize, arrival: u64) {
        if self.services[s].central {
            match self.take_slot(s) {
                Some(r) => {
                    self.start_service(r, arrival, s);
                    self.load_changed(r, s);
                }
                None => {
                    self.services[s].held.push_back(arrival);
                    self.service_load(s);
                }
            }
            return;
        }
        if !self.rollouts.is_empty() && self.route_to_new(s, arrival) {
            return;
        }
        let now = self.engine.now();
        let spec = &self.scenario.desired.services[s];
        let svc = &mut self.services[s];
        // Which balancer handles it: the shared one, or a client-side one at random.
        let c = if svc.clients.len() > 1 {
            rand::RngExt::random_range(&mut svc.client_rng, 0..svc.clients.len())
        } else {
            0
        };
        let tagged = arrival | ((c as u64) << CLIENT_SHIFT);
        let key = svc.keys.as_mut().map(|(k, rng)| k.next(rng));
        let client = &mut svc.clients[c];
        client.balancer.on_time(now);
        if let Some(b) = &mut client.budget {
            b.deposit(now);
        }
        let mut attempt = 0u32;
        loop {
            // A retry of a keyed request rehashes (Envoy's hash balancers
            // try another host on retry).
            let k = key.map(|k| k.wrapping_add(u64::from(attempt) * 0x9e37_79b9_7f4a_7c15));
            let Some(i) = client
                .balancer
                .pick_keyed(&svc.endpoints, k, &mut client.rng)
            else {
                break;
            };
            let r = svc.endpoints[i];
            let serving = &mut self.serving[r.0 as usize];
            let status = &self.observed.replicas[r.0 as usize];
            // Gone, or (with a topology) cut off or lost on the way.
            let gone = status.state != ReplicaState::Ready
                || self.faults.as_ref().is_some_and(|f| f.is_dead(r.0))
                || self.net.as_mut().is_some_and(|n| n.drops(status.node));
            if !gone && serving.busy < spec.concurrency {
                client.balancer.on_start(r);
                self.start_service(r.0, tagged, s);
            } else if gone
                || spec
                    .queue_limit
                    .is_some_and(|limit| serving.queue.len() >= limit)
            {
                // Connection refused (the replica is gone; the balancer's
                // view is stale; or its link is cut or lost the request)
                // or 503 (its queue is full). Started and failed at once,
                // so load counts stay paired.
                client.balancer.on_start(r);
                client.balancer.on_complete(r, SimDuration::ZERO, false);
                if attempt < spec.balancing.retries
                    && client.budget.as_mut().is_some_and(|b| b.try_withdraw(now))
                {
                    attempt += 1;
                    svc.metrics.retried();
                    continue;
                }
                if gone {
                    svc.metrics.failed();
                } else {
                    svc.metrics.rejected(false);
                }
                return;
            } else {
                client.balancer.on_start(r);
                self.waiting.push_back(&mut serving.queue, tagged);
                svc.queued += 1;
                if let Some(t) = spec.timeout {
                    self.engine.schedule(
                        SimTime(arrival + t.0).max(now),
                        Event::Timeout { replica: r.0 },
                    );
                }
            }
            self.load_changed(r.0, s);
            return;
        }
        // No endpoint at all.
        if svc.activator {
            // Held at the activator until a replica is ready (a cold start).
            svc.held.push_back(arrival);
            self.service_load(s);
            if svc_needs_poke(&self.desired, s) {
                self.engine.schedule(now, Event::Poke { service: s as u32 });
            }
        } else {
            svc.metrics.rejected(true);
        }
    }

    /// Replica `r` of service `s` became ready (`added`) or left: the
    /// balancers learn it now, or after the discovery delay.
    fn endpoint_change(&mut self, s: usize, r: u32, added: bool) {
        let delay = self.scenario.desired.services[s].balancing.discovery_delay;
        // Replicas ready at the start (a warm start) are known from the start.
        if delay == SimDuration::ZERO || self.engine.now() == SimTime::ZERO {
            self.apply_endpoint_change(s, r, added);
            self.announce_endpoints(s);
            return;
        }
        let due = self.engine.now() + delay;
        self.services[s].discovery.push_back((due.0, r, added));
        self.engine
            .schedule(due, Event::Discover { service: s as u32 });
    }

    fn apply_endpoint_change(&mut self, s: usize, r: u32, added: bool) {
        if !self.rollouts.is_empty() && self.rollout_endpoint(s, r, added) {
            return;
        }
        let spec = &self.scenario.desired.services[s];
        let svc = &mut self.services[s];
        if !added {
            svc.endpoints.retain(|e| e.0 != r);
            return;
        }
        if spec.routing.policy().is_some_and(Policy::weighted) {
            let node = self.observed.replicas[r as usize]
                .node
                .expect("a ready replica is bound");
            let n = &self.observed.nodes[node.0 as usize].spec;
            let w = spec
                .balancing
                .weights
                .weight(spec.limits.cpu_milli, n.speed, &n.pool);
            for c in &mut svc.clients {
                c.balancer.on_weight(ReplicaId(r), w);
            }
        }
        svc.endpoints.push(ReplicaId(r));
    }

    fn announce_endpoints(&mut self, s: usize) {
        let svc = &mut self.services[s];
        for c in &mut svc.clients {
            c.balancer.on_endpoints(&svc.endpoints);
        }
    }

    /// Endpoint changes whose propagation delay has passed reach the balancers.
    fn on_discover(&mut self, s: usize) {
        let now = self.engine.now().0;
        let mut changed = false;
        while let Some(&(due, r, added)) = self.services[s].discovery.front() {
            if due > now {
                break;
            }
            self.services[s].discovery.pop_front();
            self.apply_endpoint_change(s, r, added);
            changed = true;
        }
        if changed {
            self.announce_endpoints(s);
        }
    }

    /// Tells the metrics pipeline that replica `r` of service `s` changed load.
    #[inline]
    fn load_changed(&mut self, r: u32, s: usize) {
        if self.faults.is_some() {
            self.check_oom(r, s);
        }
        if let Some(p) = &mut self.pipeline {
            let sv = &self.serving[r as usize];
            let svc = &self.services[s];
            p.replica_load(
                self.engine.now(),
                s,
                r,
                sv.busy,
                sv.busy + sv.queue.len(),
                svc.busy + svc.queued + svc.held.len() as u32,
            );
        }
    }

    /// The service-wide in-flight count of `s` changed without a replica.
    fn service_load(&mut self, s: usize) {
        if let Some(p) = &mut self.pipeline {
            let svc = &self.services[s];
            p.service_load(
                self.engine.now(),
                s,
                svc.busy + svc.queued + svc.held.len() as u32,
            );
        }
    }

    /// Scrapes every replica's metrics.
    fn on_scrape(&mut self) {
        let now = self.engine.now();
        if let Some(p) = &mut self.pipeline {
            p.scrape(
                now,
                &self.observed.replicas,
                &self.scenario.desired.services,
            );
            let next = now + p.resolution;
            self.engine.schedule(next, Event::Scrape);
        }
    }

    /// Runs service `s`'s autoscaler; `periodic` syncs schedule the next one.
    fn on_autoscale(&mut self, s: usize, periodic: bool) {
        let now = self.engine.now();
        // A rollout in progress owns the pod counts: the autoscaler reads
        // and writes its Deployment's spec.replicas, as an HPA scales a
        // Deployment's scale subresource during a rollout.
        let current = self
            .rollout_base(s)
            .unwrap_or(self.desired.services[s].replicas);
        let Some(p) = &mut self.pipeline else { return };
        let input = p.input(
            now,
            s,
            current,
            &self.observed.replicas,
            &self.scenario.desired.services[s],
            &mut self.pod_buf,
            &mut self.value_buf,
        );
        let sc = p.services[s]
            .as_mut()
            .expect("scheduled for a scaled service");
        let rec = sc.scaler.recommend(&input);
        let period = sc.scaler.sync_period();
        if periodic {
            self.engine
                .schedule(now + period, Event::Autoscale { service: s as u32 });
        }
        if rec.replicas != current {
            sc.actions += 1;
            if !self.rollout_rescale(s, rec.replicas) {
                self.desired.services[s].replicas = rec.replicas;
            }
            let name = self.scenario.desired.services[s].name.clone();
            self.emit_event(
                "scale",
                &name,
                &format!("from={current} to={} reason={}", rec.replicas, rec.reason),
            );
            self.mark_dirty(true);
        }
    }

    /// A request tag's arrival time (ns) and balancer client.
    #[inline]
    fn untag(&self, tagged: u64) -> (u64, usize) {
        let arrival = tagged & self.time_mask;
        (arrival, ((tagged ^ arrival) >> CLIENT_SHIFT) as usize)
    }

    /// Puts a request (tagged with its arrival and client) into service on `r`.
    #[inline]
    fn start_service(&mut self, r: u32, tagged: u64, s: usize) {
        let now = self.engine.now();
        let (arrival, _) = self.untag(tagged);
        let spec = &self.scenario.desired.services[s];
        let svc = &mut self.services[s];
        self.serving[r as usize].busy += 1;
        svc.busy += 1;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        svc.metrics.started_service(SimDuration(now.0 - arrival));
        let mut work = spec.service_time.sample(&mut svc.service_rng);
        if let Some(&f) = self.slow.get(r as usize)
            && f != 1.0
        {
            work = SimDuration((work.0 as f64 * f64::from(f)).round() as u64);
        }
        if !self.template.is_empty() {
            work = self.rollout_work(s, r, work);
        }
        self.engine.schedule(
            now + work,
            Event::Completion {
                replica: r,
                arrival: tagged,
            },
        );
    }

    #[inline]
    fn on_completion(&mut self, r: u32, tagged: u64) {
        if self.faults.is_some() && self.orphan(r, tagged) {
            return; // lost when its replica died
        }
        let now = self.engine.now();
        let (arrival, c) = self.untag(tagged);
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let scenario = self.scenario;
        let spec = &scenario.desired.services[s];
        let mut latency = SimDuration(now.0 - arrival);
        // With a topology: the round trip to the replica's zone, and a
        // response lost on a cut link (or, in central-queue mode, a loss).
        let mut lost = false;
        if let Some(net) = &mut self.net {
            let node = self.observed.replicas[r as usize].node;
            let (round_trip, cut) = net.complete(node, self.services[s].central);
            latency.0 += round_trip;
            lost = cut;
        }
        let mut ok = !lost && spec.timeout.is_none_or(|t| latency <= t);
        // The new revision of a rollout may fail it (`errorRate`).
        let error =
            (!self.template.is_empty() && self.rollout_completed(s, r, latency, ok)) || lost;
        let svc = &mut self.services[s];
        if error {
            svc.metrics.failed();
            ok = false;
        } else if ok {
            svc.metrics.ok(latency);
            if let Some(p) = &mut self.pipeline {
                p.completion(s, r, latency);
            }
        } else {
            svc.metrics.timed_out();
        }
        let b = self.balancer_of(s, c, r);
        b.on_time(now);
        b.on_complete(ReplicaId(r), latency, ok);
        let svc = &mut self.services[s];
        svc.busy -= 1;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        self.serving[r as usize].busy -= 1;
        if self.services[s].central
            && self.observed.replicas[r as usize].state == ReplicaState::Ready
        {
            // The freed slot serves the oldest request waiting at the balancer.
            match self.next_held(s) {
                Some(a) => self.start_service(r, a, s),
                None => self.services[s].slots.push(r),
            }
            self.load_changed(r, s);
            self.service_load(s);
            return;
        }
        // Serve the oldest live waiting request.
        while let Some(tagged) = self.waiting.pop_front(&mut self.serving[r as usize].queue) {
            let (a, c) = self.untag(tagged);
            let svc = &mut self.services[s];
            svc.queued -= 1;
            if spec.timeout.is_some_and(|t| now.0 - a >= t.0) {
                svc.metrics.timed_out();
                self.balancer_of(s, c, r)
                    .on_complete(ReplicaId(r), SimDuration(now.0 - a), false);
                continue;
            }
            self.start_service(r, tagged, s);
            self.load_changed(r, s);
            return;
        }
        self.load_changed(r, s);
        self.finish_if_idle(r);
    }

    fn on_timeout(&mut self, r: u32) {
        let now = self.engine.now().0;
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let Some(t) = self.scenario.desired.services[s].timeout else {
            return;
        };
        let mask = self.time_mask;
        while let Some(tagged) = self.waiting.front(&self.serving[r as usize].queue) {
            let a = tagged & mask;
            if now - a < t.0 {
                break;
            }
            self.waiting.pop_front(&mut self.serving[r as usize].queue);
            let svc = &mut self.services[s];
            svc.queued -= 1;
            svc.metrics.timed_out();
            let b = self.balancer_of(s, ((tagged ^ a) >> CLIENT_SHIFT) as usize, r);
            b.on_time(SimTime(now));
            b.on_complete(ReplicaId(r), SimDuration(now - a), false);
        }
        self.load_changed(r, s);
        self.finish_if_idle(r);
    }

    fn on_sample(&mut self, end: SimTime) {
        let now = self.engine.now();
        let t = now.as_secs_f64();
        let mut rows: Vec<(String, &'static str, f64)> = Vec::new();
        for (spec, svc) in self
            .scenario
            .desired
            .services
            .iter()
            .zip(&mut self.services)
        {
            let scope = format!("service:{}", spec.name);
            let iv = svc.metrics.take_interval();
            svc.needed_seconds += iv.arrivals as f64 * spec.service_time.mean_secs()
                / f64::from(spec.concurrency.max(1));
            if let Some(slo) = &mut svc.metrics.slo {
                slo.roll(now);
            }
            rows.push((scope.clone(), "arrivals", iv.arrivals as f64));
            rows.push((scope.clone(), "completions", iv.completions as f64));
            rows.push((scope.clone(), "in_flight", f64::from(svc.busy + svc.queued)));
            rows.push((scope.clone(), "queue_length", f64::from(svc.queued)));
            if let (Some(p50), Some(p99)) = (iv.p50_s, iv.p99_s) {
                rows.push((scope.clone(), "latency_p50_s", p50));
                rows.push((scope.clone(), "latency_p99_s", p99));
            }
            rows.push((scope, "ready_replicas", f64::from(svc.ready)));
        }
        if let Some(f) = &self.faults {
            // desired − serving (ready, not dead, not cut off), per service.
            let cut = self.cut_ready();
            for (s, spec) in self.scenario.desired.services.iter().enumerate() {
                if spec.kind == ServiceKind::Service {
                    let cut = cut.as_ref().map_or(0, |c| c[s]);
                    let serving = self.services[s].ready.saturating_sub(f.dead_ready(s) + cut);
                    let unavailable = self.desired.services[s].replicas.saturating_sub(serving);
                    let scope = format!("service:{}", spec.name);
                    rows.push((scope, "unavailable_replicas", f64::from(unavailable)));
                }
            }
        }
        let c = self.capacity.sample();
        let cluster = |name: &'static str, value: f64| ("cluster".to_string(), name, value);
        rows.push(cluster("pending_replicas", f64::from(self.pending)));
        rows.push(cluster("nodes", f64::from(self.nodes_existing)));
        rows.push(cluster("nodes_in_use", f64::from(c.nodes_in_use)));
        rows.push(cluster("cpu_allocated", c.allocated[0]));
        rows.push(cluster("memory_allocated", c.allocated[1]));
        rows.push(cluster("gpu_allocated", c.allocated[2]));
        rows.push(cluster("stranded_cpu", c.stranded[0]));
        rows.push(cluster("stranded_memory", c.stranded[1]));
        rows.push(cluster("stranded_gpu", c.stranded[2]));
        rows.push(cluster("nodes_lower_bound", c.nodes_lower_bound as f64));
        if self.scenario.node_metrics {
            let frac = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            // Nodes that exist: a removed node has no more rows.
            let existing = self
                .observed
                .nodes
                .iter()
                .zip(&self.node_info)
                .filter(|(_, i)| i.life != orkestra_core::autoscale::cluster::NodeLife::Removed);
            for (n, _) in existing {
                let (a, cap) = (&n.allocated, &n.spec.allocatable);
                let f = [
                    frac(a.cpu_milli, cap.cpu_milli),
                    frac(a.memory_bytes, cap.memory_bytes),
                    frac(a.gpu_milli, cap.gpu_milli),
                ];
                if let Err(e) = self.out.node_sample(t, &n.spec.name, f) {
                    self.error.get_or_insert(e);
                }
            }
        }
        for (scope, name, value) in rows {
            if let Err(e) = self.out.sample(t, &scope, name, value) {
                self.error.get_or_insert(e);
            }
        }
        if now < end {
            let next = (now + self.scenario.sample_interval).min(end);
            self.engine.schedule(next, Event::Sample);
        }
    }

    fn summary(&mut self, end: SimTime) -> Summary {
        let mut rollouts: Vec<_> = (0..self.services.len())
            .map(|i| self.rollout_summary(i, end))
            .collect();
        let services = self
            .scenario
            .desired
            .services
            .iter()
            .zip(&mut self.services)
            .enumerate()
            .map(|(i, (spec, svc))| {
                let desired = self.desired.services[i].replicas;
                let mut sum = svc.metrics.summary(&spec.name, desired, end);
                sum.ejections = svc.clients.iter().map(|c| c.balancer.ejections()).sum();
                sum.rollout = rollouts[i].take();
                if let Some(Some(sc)) = self.pipeline.as_ref().map(|p| &p.services[i]) {
                    sum.autoscaling = Some(AutoscalingSummary {
                        autoscaler: sc.scaler.name().to_string(),
                        scaling_actions: sc.actions,
                        needed_replica_seconds: svc.needed_seconds,
                        over_provisioning: if svc.needed_seconds > 0.0 {
                            sum.replicas.replica_seconds / svc.needed_seconds
                        } else {
                            0.0
                        },
                    });
                }
                sum
            })
            .collect();
        let zones: std::collections::BTreeSet<&str> = self
            .observed
            .nodes
            .iter()
            .zip(&self.node_info)
            .filter(|(_, i)| i.life != orkestra_core::autoscale::cluster::NodeLife::Removed)
            .map(|(n, _)| n.spec.zone.as_str())
            .collect();
        let mut summary = Summary {
            format: FORMAT,
            version: orkestra_core::VERSION.to_string(),
            mode: "sim".to_string(),
            scenario: self.scenario.name.clone(),
            source: self.scenario.source.clone(),
            scenario_hash: self.scenario.hash.clone(),
            overrides: self.scenario.overrides.clone(),
            seed: self.scenario.seed,
            duration_s: end.as_secs_f64(),
            events: self.engine.processed(),
            services,
            cluster: ClusterSummary {
                nodes: self.nodes_existing,
                zones: zones.len() as u32,
                pending_at_end: self.pending,
                ..Default::default()
            },
            jobs: self
                .scenario
                .jobs
                .iter()
                .zip(&self.jobs)
                .map(|(set, rt)| JobSetSummary {
                    name: set.name.clone(),
                    source: set.source_name().to_string(),
                    jobs: rt.jobs,
                    pods: rt.pods,
                    started: rt.started,
                    completed: rt.completed,
                    running_at_end: rt.started - rt.completed,
                    pending_at_end: rt.pending,
                    pending_time_s: rt.pending_time.stats(),
                    trace: set.trace.clone(),
                })
                .collect(),
            faults: None,
        };
        self.capacity.fill(&mut summary.cluster, end);
        self.cluster.fill(&mut summary.cluster);
        let (node_hours, cost, autoscaling) = self.node_summary(end);
        summary.cluster.node_hours = node_hours;
        summary.cluster.cost = cost;
        summary.cluster.node_autoscaling = autoscaling;
        summary.faults = self.faults_summary(&summary);
        summary
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
