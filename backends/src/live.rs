//! A live run: one scenario on real Docker engines, written as results.
//!
//! Key decision: the run is assembled from the same parts as a simulation
//! — the scenario's desired state, the core's controllers (through
//! [`Controller`]), its balancers (through the proxies), its arrival process
//! (through the load generators) and its metrics and results writers — so a
//! live results folder is read exactly like a simulated one. Scenario time
//! is wall time × `speed`; traffic shapes are compressed, rates are not.
//! Whatever happens (error, Ctrl-C), every container and network the run
//! created is removed before returning.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orkestra_core::metrics::{Integral, ServiceMetrics, SloTracker};
use orkestra_core::model::{NodeStatus, ReplicaState};
use orkestra_core::results::{AutoscalingSummary, ClusterSummary, FORMAT, Output, Summary};
use orkestra_core::rng::{names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;
use tokio::sync::{Mutex as AsyncMutex, Notify, watch};

use crate::autoscaling::Pipeline;
use crate::controller::{Clock, Controller, EventRow, ScaleHandle};
use crate::hosts::{self, Host};
use crate::loadgen::{self, LoadSpec, LoadState};
use crate::proxy::{self, Endpoints};
use crate::{docker, image};

/// How to run live.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Hosts file; `None` = the local engine.
    pub hosts: Option<String>,
    /// Time compression (≥ 1 plays the scenario faster).
    pub speed: f64,
    /// Controller tick.
    pub tick: Duration,
    /// Longest wait for the initial replicas to become ready.
    pub warmup_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            hosts: None,
            speed: 1.0,
            tick: Duration::from_millis(250),
            warmup_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a live run failed (after cleaning up).
#[derive(Debug, thiserror::Error)]
pub enum LiveRunError {
    /// Hosts could not be used.
    #[error("{0}")]
    Hosts(#[from] hosts::HostError),
    /// The image could not be made.
    #[error("{0}")]
    Image(#[from] image::ImageError),
    /// Anything else, in one line.
    #[error("{0}")]
    Other(String),
}

/// The run id used in labels: stable for a scenario and seed, so a restarted
/// controller adopts the containers of the run it interrupted.
pub fn run_id(s: &Scenario) -> String {
    format!("{}-seed{}", s.name, s.seed)
}

/// Checks that the initial replicas fit the hosts.
fn check_fit(s: &Scenario, hosts: &[Host]) -> Result<(), LiveRunError> {
    let mut placer = s.placer();
    let nodes = hosts
        .iter()
        .map(|h| NodeStatus::new(h.node.clone()))
        .collect();
    let mut rng = stream(s.seed, &format!("{}/placement", names::POLICY));
    let result =
        orkestra_core::placement::place_initial(&s.desired, nodes, placer.as_mut(), &mut rng);
    for (svc, why) in s.desired.services.iter().zip(&result.first_failure) {
        if let Some(why) = why {
            return Err(LiveRunError::Other(format!(
                "services.{}.replicas: {} replicas do not fit the hosts ({why}); lower replicas with --set or add hosts",
                svc.name, svc.replicas
            )));
        }
    }
    Ok(())
}

/// Runs `scenario` live, writing rows to `out`; stops early when `shutdown` resolves.
pub async fn run(
    scenario: Arc<Scenario>,
    opts: &LiveOptions,
    out: &mut dyn Output,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, LiveRunError> {
    if let Some(set) = scenario.jobs.first() {
        return Err(LiveRunError::Other(format!(
            "jobs.{}: batch jobs are simulated only; live mode cannot run them yet",
            set.name
        )));
    }
    if let Some(s) = scenario
        .desired
        .services
        .iter()
        .find(|s| s.controller == orkestra_core::model::Controller::None)
    {
        return Err(LiveRunError::Other(format!(
            "{}: services.{}.controller: bare pods are simulated only; the live controller replaces every pod",
            scenario.source, s.name
        )));
    }
    if let Some(s) = scenario
        .desired
        .services
        .iter()
        .find(|s| s.controller == orkestra_core::model::Controller::StatefulSet)
    {
        return Err(LiveRunError::Other(format!(
            "{}: services.{}.controller: StatefulSets are simulated only; live mode does not give pods ordinals and volumes yet",
            scenario.source, s.name
        )));
    }
    if let Some(s) = scenario
        .desired
        .services
        .iter()
        .find(|s| !s.volumes.is_empty())
    {
        return Err(LiveRunError::Other(format!(
            "{}: services.{}.volumes: volumes are simulated only; live mode does not mount them yet",
            scenario.source, s.name
        )));
    }
    let hosts = hosts::connect_all(opts.hosts.as_deref()).await?;
    check_fit(&scenario, &hosts)?;
    crate::controller::check_rollouts(&scenario)
        .and_then(|()| crate::faults::check(&scenario, &hosts))
        .map_err(|e| LiveRunError::Other(format!("{}: {e}", scenario.source)))?;
    image::ensure(&hosts, false).await?;
    let run = run_id(&scenario);
    let mut network = String::new();
    for h in &hosts {
        match docker::ensure_network(&h.docker, &run).await {
            Ok(n) => network = n,
            Err(e) => {
                // Leave nothing behind on the hosts that did get a network.
                for h in &hosts {
                    let _ = docker::down(&h.docker, Some(&run), h.address).await;
                }
                return Err(LiveRunError::Other(format!(
                    "host '{}': cannot create network: {e}",
                    h.name
                )));
            }
        }
    }
    let metrics: Vec<Arc<Mutex<ServiceMetrics>>> = scenario
        .slos
        .iter()
        .map(|slo| {
            let mut m = ServiceMetrics::default();
            m.slo = slo.map(|o| SloTracker::new(o.latency, o.percentile));
            Arc::new(Mutex::new(m))
        })
        .collect();
    let mut senders = Vec::new();
    let mut proxies = Vec::new();
    for spec in &scenario.desired.services {
        let (tx, rx) = watch::channel::<Endpoints>(Arc::new(Vec::new()));
        let config = proxy::ProxyConfig {
            service: spec.name.clone(),
            routing: spec.routing,
            balancing: spec.balancing.clone(),
            concurrency: spec.concurrency,
            seed: scenario.seed,
            speed: opts.speed,
        };
        let split = spec.rollout.as_ref().is_some_and(|r| {
            !matches!(
                r.strategy,
                orkestra_core::rollout::RolloutStrategy::Deployment(_)
            )
        });
        let running = proxy::spawn(config, rx, split)
            .await
            .map_err(|e| LiveRunError::Other(format!("proxy: {e}")))?;
        senders.push(tx);
        proxies.push(running);
    }
    // Scenario time stays at zero until traffic starts.
    let clock = Clock {
        start: Instant::now() + Duration::from_secs(86_400 * 365),
        speed: opts.speed,
    };
    let placer = scenario.placer();
    let controller = Controller::new(
        hosts.clone(),
        run.clone(),
        network,
        scenario.clone(),
        placer,
        stream(scenario.seed, &format!("{}/placement", names::POLICY)),
        clock,
        senders,
        proxies.iter().map(|p| p.drain.clone()).collect(),
        metrics.clone(),
    );
    let mut controller = controller;
    controller.set_splits(proxies.iter().map(|p| p.split.clone()).collect());
    let events = controller.events.clone();
    let wake = controller.wake.clone();
    let controller = Arc::new(AsyncMutex::new(controller));
    let result = drive(
        scenario.clone(),
        opts,
        out,
        shutdown,
        controller.clone(),
        metrics,
        &proxies,
        wake,
    )
    .await;
    for p in &proxies {
        p.handle.abort();
    }
    let leftovers = controller.lock().await.teardown().await;
    let mut rows: Vec<EventRow> = std::mem::take(&mut *events.lock().expect("events"));
    // Autoscalers add rows from their own task: keep the file in time order.
    rows.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    for r in rows {
        out.event(r.time_s, r.kind, &r.subject, &r.detail)
            .map_err(|e| LiveRunError::Other(format!("events.csv: {e}")))?;
    }
    if !leftovers.is_empty() {
        return Err(LiveRunError::Other(format!(
            "cleanup failed: {}",
            leftovers.join("; ")
        )));
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    scenario: Arc<Scenario>,
    opts: &LiveOptions,
    out: &mut dyn Output,
    shutdown: impl Future<Output = ()>,
    controller: Arc<AsyncMutex<Controller>>,
    metrics: Vec<Arc<Mutex<ServiceMetrics>>>,
    proxies: &[proxy::Running],
    wake: Arc<Notify>,
) -> Result<Summary, LiveRunError> {
    tokio::pin!(shutdown);
    // Docker events wake the controller when a container of this run dies.
    let watchers: Vec<_> = controller
        .lock()
        .await
        .hosts()
        .iter()
        .map(|h| {
            let docker = h.docker.clone();
            let wake = wake.clone();
            let run = run_id(&scenario);
            tokio::spawn(async move {
                let mut filters = std::collections::HashMap::new();
                filters.insert("type".to_string(), vec!["container".to_string()]);
                filters.insert(
                    "event".to_string(),
                    vec!["die".to_string(), "oom".to_string()],
                );
                filters.insert("label".to_string(), vec![format!("{}={run}", docker::RUN)]);
                let opts = bollard::query_parameters::EventsOptionsBuilder::default()
                    .filters(&filters)
                    .build();
                let mut s = docker.events(Some(opts));
                while let Some(Ok(_)) = s.next().await {
                    wake.notify_one();
                }
            })
        })
        .collect();
    let stop = Arc::new(Notify::new());
    let ctl = {
        let (controller, stop, tick) = (controller.clone(), stop.clone(), opts.tick);
        tokio::spawn(async move {
            let result: Result<(), crate::controller::LiveError> = async {
                loop {
                    controller.lock().await.tick().await?;
                    tokio::select! {
                        _ = tokio::time::sleep(tick) => {}
                        _ = wake.notified() => {}
                        _ = stop.notified() => return Ok(()),
                    }
                }
            }
            .await;
            result
        })
    };
    let outcome = traffic(
        &scenario,
        opts,
        out,
        &mut shutdown,
        &controller,
        &metrics,
        proxies,
    )
    .await;
    stop.notify_one();
    let ctl_result = ctl.await;
    for w in watchers {
        w.abort();
    }
    let end = outcome?;
    match ctl_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(LiveRunError::Other(e.to_string())),
        Err(e) => return Err(LiveRunError::Other(format!("controller task: {e}"))),
    }
    Ok(end)
}

/// Waits for the initial replicas, plays the traffic, samples, and returns the summary.
async fn traffic(
    scenario: &Arc<Scenario>,
    opts: &LiveOptions,
    out: &mut dyn Output,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    controller: &Arc<AsyncMutex<Controller>>,
    metrics: &[Arc<Mutex<ServiceMetrics>>],
    proxies: &[proxy::Running],
) -> Result<Summary, LiveRunError> {
    warm_start(scenario, opts, shutdown, controller).await?;
    let start = Instant::now();
    let clock = Clock {
        start,
        speed: opts.speed,
    };
    let (handle, injector) = {
        let mut c = controller.lock().await;
        c.start_clock(start);
        let injector = (!scenario.resilience.faults.is_empty()).then(|| crate::faults::Injector {
            scenario: scenario.clone(),
            hosts: c.hosts().to_vec(),
            run: crate::live::run_id(scenario),
            network: c.network().to_string(),
            state: c.faults.clone(),
            handle: c.scale_handle(),
            clock,
        });
        (c.scale_handle(), injector)
    };
    let faults_stop = Arc::new(Notify::new());
    let faults_task = injector.map(|i| tokio::spawn(i.run(faults_stop.clone())));
    let states: Vec<Arc<LoadState>> = (0..metrics.len()).map(|_| Arc::default()).collect();
    // Autoscalers: scrape every metricResolution, sync every sync period (scenario time).
    let scaling_stop = Arc::new(Notify::new());
    // A JoinSet, so that an early return (a failed sample) aborts the task.
    let mut scaling = tokio::task::JoinSet::new();
    if let Some(p) = Pipeline::new(scenario.clone()) {
        scaling.spawn(p.run(handle.clone(), clock, states.clone(), scaling_stop.clone()));
    }
    let mut loads = spawn_loads(scenario, opts, proxies, metrics, &states, start);
    let interval = Duration::from_nanos((scenario.sample_interval.0 as f64 / opts.speed) as u64)
        .max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval_at((start + interval).into(), interval);
    let mut tally = Tally::new(opts.speed, proxies);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                sample(scenario, clock.now(), out, controller, metrics, &states, &mut tally).await?;
            }
            r = loads.join_next() => {
                if r.is_none() { break; }
            }
            _ = &mut *shutdown => { loads.abort_all(); break; }
        }
    }
    scaling_stop.notify_one();
    faults_stop.notify_one();
    let fault_report = match faults_task {
        Some(t) => Some(
            t.await
                .map_err(|e| LiveRunError::Other(format!("fault task: {e}")))?,
        ),
        None => None,
    };
    let pipeline = scaling
        .join_next()
        .await
        .transpose()
        .map_err(|e| LiveRunError::Other(format!("autoscaler task: {e}")))?;
    let end = clock.now();
    sample(scenario, end, out, controller, metrics, &states, &mut tally).await?;
    let ctl = controller.lock().await;
    let finished = Finished {
        end,
        pipeline,
        fault_report,
        in_flight: states
            .iter()
            .map(|s| u64::from(s.in_flight.load(std::sync::atomic::Ordering::Relaxed)))
            .collect(),
    };
    Ok(summarize(
        scenario, &ctl, &handle, metrics, proxies, tally, finished,
    ))
}

/// Warm start: waits until every service has its desired replicas ready.
async fn warm_start(
    scenario: &Scenario,
    opts: &LiveOptions,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    controller: &Arc<AsyncMutex<Controller>>,
) -> Result<(), LiveRunError> {
    let deadline = Instant::now() + opts.warmup_timeout;
    loop {
        let ready = controller.lock().await.ready_counts();
        if ready
            .iter()
            .zip(&scenario.desired.services)
            .all(|(r, s)| *r >= s.replicas)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LiveRunError::Other(format!(
                "replicas not ready after {:?} (ready per service: {ready:?})",
                opts.warmup_timeout
            )));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut *shutdown => return Err(LiveRunError::Other("interrupted before traffic started".into())),
        }
    }
}

/// Starts one load generator per service, sending to its proxy from `start`.
fn spawn_loads(
    scenario: &Scenario,
    opts: &LiveOptions,
    proxies: &[proxy::Running],
    metrics: &[Arc<Mutex<ServiceMetrics>>],
    states: &[Arc<LoadState>],
    start: Instant,
) -> tokio::task::JoinSet<()> {
    let mut loads = tokio::task::JoinSet::new();
    for (i, spec) in scenario.desired.services.iter().enumerate() {
        let load = LoadSpec {
            model: scenario.traffic[i].clone(),
            duration: scenario.duration,
            speed: opts.speed,
            target: proxies[i].addr,
            timeout: spec.timeout.map(|t| Duration::from_nanos(t.0)),
            rng: stream(scenario.seed, &format!("{}/{}", names::TRAFFIC, spec.name)),
        };
        loads.spawn(loadgen::run(
            load,
            start,
            metrics[i].clone(),
            states[i].clone(),
        ));
    }
    loads
}

/// What the sampler accumulates over the run.
struct Tally {
    /// Cluster-wide cpu allocated ÷ allocatable over time.
    cpu: Integral,
    /// The same for memory.
    mem: Integral,
    /// The workloads' counters last seen.
    scraped: Scraped,
    /// Offered work per service, replica-seconds of scenario time.
    needed: Vec<f64>,
    /// Each service's proxy counters (requests waiting at the proxy count
    /// in the queue length).
    proxies: Vec<Arc<proxy::ProxyStats>>,
}

impl Tally {
    fn new(speed: f64, proxies: &[proxy::Running]) -> Tally {
        Tally {
            cpu: Integral::default(),
            mem: Integral::default(),
            scraped: Scraped::new(speed),
            needed: vec![0.0; proxies.len()],
            proxies: proxies.iter().map(|p| p.stats.clone()).collect(),
        }
    }
}

/// What the run's background tasks hand back once traffic has ended.
struct Finished {
    /// Scenario time of the last sample.
    end: SimTime,
    /// The autoscalers' pipeline, if any service had one.
    pipeline: Option<Pipeline>,
    /// The fault injector's report, if the scenario had faults.
    fault_report: Option<crate::faults::Report>,
    /// Per service, requests sent and not answered when traffic ended
    /// (only after an interrupted run: the load generator waits for all).
    in_flight: Vec<u64>,
}

/// The run's summary, in the simulator's format.
fn summarize(
    scenario: &Scenario,
    ctl: &Controller,
    handle: &ScaleHandle,
    metrics: &[Arc<Mutex<ServiceMetrics>>],
    proxies: &[proxy::Running],
    mut tally: Tally,
    finished: Finished,
) -> Summary {
    let Finished {
        end,
        pipeline,
        fault_report,
        in_flight,
    } = finished;
    let needed = &tally.needed;
    let nodes = &ctl.observed().nodes;
    let secs = end.as_secs_f64().max(f64::MIN_POSITIVE);
    let zones: std::collections::BTreeSet<&str> =
        nodes.iter().map(|n| n.spec.zone.as_str()).collect();
    let desired = handle.all_desired();
    let services: Vec<_> = scenario
        .desired
        .services
        .iter()
        .zip(metrics)
        .enumerate()
        .map(|(i, (s, m))| {
            let mut sum = m.lock().expect("metrics").summary(&s.name, desired[i], end);
            sum.requests.in_flight_at_end = in_flight[i];
            sum.requests.retries = proxies[i]
                .stats
                .retries
                .load(std::sync::atomic::Ordering::Relaxed);
            sum.ejections = proxies[i]
                .stats
                .ejections
                .load(std::sync::atomic::Ordering::Relaxed);
            sum.rollout = ctl.rollout_summary(i, end);
            let scaler = pipeline.as_ref().and_then(|p| p.services[i].as_ref());
            if let Some(sc) = scaler {
                sum.autoscaling = Some(AutoscalingSummary {
                    autoscaler: sc.name().to_string(),
                    scaling_actions: sc.actions,
                    needed_replica_seconds: needed[i],
                    over_provisioning: if needed[i] > 0.0 {
                        sum.replicas.replica_seconds / needed[i]
                    } else {
                        0.0
                    },
                });
            }
            sum
        })
        .collect();
    let faults = fault_report.map(|r| {
        let counts: Vec<(u64, u64)> = services
            .iter()
            .map(|s| {
                let c = &s.requests;
                (c.ok, c.ok + c.failed + c.rejected + c.timed_out)
            })
            .collect();
        let rows = handle.events.lock().expect("events").clone();
        r.summary(scenario, &counts, &rows)
    });
    Summary {
        format: FORMAT,
        version: orkestra_core::VERSION.to_string(),
        mode: "live".to_string(),
        scenario: scenario.name.clone(),
        source: scenario.source.clone(),
        scenario_hash: scenario.hash.clone(),
        overrides: scenario.overrides.clone(),
        seed: scenario.seed,
        duration_s: end.as_secs_f64(),
        // In live mode the events are the requests sent.
        events: services.iter().map(|s| s.requests.total).sum(),
        services,
        cluster: ClusterSummary {
            nodes: nodes.len() as u32,
            zones: zones.len() as u32,
            cpu_allocatable_milli: nodes.iter().map(|n| n.spec.allocatable.cpu_milli).sum(),
            memory_allocatable_bytes: nodes.iter().map(|n| n.spec.allocatable.memory_bytes).sum(),
            cpu_allocated_mean: tally.cpu.area(end) / secs,
            memory_allocated_mean: tally.mem.area(end) / secs,
            pending_at_end: ctl
                .observed()
                .replicas
                .iter()
                .filter(|r| r.state == ReplicaState::Pending)
                .count() as u32,
            ..Default::default()
        },
        jobs: Vec::new(),
        faults,
    }
}

/// Writes one sample of every service and node at `now`, and adds it to `tally`.
async fn sample(
    scenario: &Scenario,
    now: SimTime,
    out: &mut dyn Output,
    controller: &Arc<AsyncMutex<Controller>>,
    metrics: &[Arc<Mutex<ServiceMetrics>>],
    states: &[Arc<LoadState>],
    tally: &mut Tally,
) -> Result<(), LiveRunError> {
    let Tally {
        cpu,
        mem,
        scraped,
        needed,
        proxies,
    } = tally;
    let t = now.as_secs_f64();
    let io = |e: std::io::Error| LiveRunError::Other(format!("timeseries.csv: {e}"));
    let (ready, nodes, addrs) = {
        let c = controller.lock().await;
        (
            c.ready_counts(),
            c.observed().nodes.clone(),
            c.ready_addrs(),
        )
    };
    for (i, spec) in scenario.desired.services.iter().enumerate() {
        let scope = format!("service:{}", spec.name);
        let iv = {
            let mut m = metrics[i].lock().expect("metrics");
            if let Some(slo) = &mut m.slo {
                slo.roll(now);
            }
            m.take_interval()
        };
        // Offered work in replica-seconds of scenario time, as the simulator
        // counts it for `needed_replica_seconds`: rates are not compressed,
        // so an interval of scenario time saw 1/speed of its arrivals.
        needed[i] += iv.arrivals as f64 * scraped.speed * spec.service_time.mean_secs()
            / f64::from(spec.concurrency.max(1));
        out.sample(t, &scope, "arrivals", iv.arrivals as f64)
            .map_err(io)?;
        out.sample(t, &scope, "completions", iv.completions as f64)
            .map_err(io)?;
        let in_flight = states[i]
            .in_flight
            .load(std::sync::atomic::Ordering::Relaxed);
        out.sample(t, &scope, "in_flight", f64::from(in_flight))
            .map_err(io)?;
        // Queue length and busy time come from the workloads' own counters.
        let (queue, busy) = scraped.collect(&addrs[i]).await;
        // Central-queue mode: requests waiting at the proxy are queued too.
        let at_proxy = proxies[i]
            .waiting
            .load(std::sync::atomic::Ordering::Relaxed);
        out.sample(t, &scope, "queue_length", queue + at_proxy as f64)
            .map_err(io)?;
        metrics[i]
            .lock()
            .expect("metrics")
            .busy
            .add_area(busy * scraped.speed);
        if let (Some(p50), Some(p99)) = (iv.p50_s, iv.p99_s) {
            out.sample(t, &scope, "latency_p50_s", p50).map_err(io)?;
            out.sample(t, &scope, "latency_p99_s", p99).map_err(io)?;
        }
        out.sample(t, &scope, "ready_replicas", f64::from(ready[i]))
            .map_err(io)?;
    }
    let (mut c, mut m, mut ac, mut am) = (0u64, 0u64, 0u64, 0u64);
    let frac = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    for n in &nodes {
        if scenario.node_metrics {
            let (a, cap) = (&n.allocated, &n.spec.allocatable);
            out.node_sample(
                t,
                &n.spec.name,
                [
                    frac(a.cpu_milli, cap.cpu_milli),
                    frac(a.memory_bytes, cap.memory_bytes),
                    frac(a.gpu_milli, cap.gpu_milli),
                ],
            )
            .map_err(|e| LiveRunError::Other(format!("nodes.csv: {e}")))?;
        }
        c += n.allocated.cpu_milli;
        m += n.allocated.memory_bytes;
        ac += n.spec.allocatable.cpu_milli;
        am += n.spec.allocatable.memory_bytes;
    }
    cpu.set(now, if ac > 0 { c as f64 / ac as f64 } else { 0.0 });
    mem.set(now, if am > 0 { m as f64 / am as f64 } else { 0.0 });
    Ok(())
}

/// `sim live down`: removes every container and network Orkestra labelled on the hosts.
pub async fn down(hosts_file: Option<&str>) -> Result<Vec<(String, usize, usize)>, LiveRunError> {
    let hosts = hosts::connect_all(hosts_file).await?;
    let mut removed = Vec::new();
    for h in &hosts {
        let (c, n) = docker::down(&h.docker, None, h.address)
            .await
            .map_err(|e| LiveRunError::Other(format!("host '{}': {e}", h.name)))?;
        removed.push((h.name.clone(), c, n));
    }
    Ok(removed)
}

/// `sim live image`: (re)builds the workload image and copies it to every host.
pub async fn build_image(hosts_file: Option<&str>) -> Result<String, LiveRunError> {
    let hosts = hosts::connect_all(hosts_file).await?;
    image::ensure(&hosts, true).await?;
    Ok(image::tag())
}

/// Counters scraped from the workloads' `/metrics`, to turn totals into
/// per-interval increments.
pub struct Scraped {
    /// `orkestra_busy_seconds_total` last seen per endpoint.
    last_busy: std::collections::HashMap<std::net::SocketAddr, f64>,
    /// Scenario seconds per wall second.
    speed: f64,
}

impl Scraped {
    fn new(speed: f64) -> Scraped {
        Scraped {
            last_busy: Default::default(),
            speed,
        }
    }

    /// Σ queue length now and Σ busy wall-seconds since the last call over `addrs`.
    async fn collect(&mut self, addrs: &[std::net::SocketAddr]) -> (f64, f64) {
        let results =
            futures_util::future::join_all(addrs.iter().map(|&a| crate::autoscaling::scrape(a)))
                .await;
        let (mut queue, mut busy) = (0.0, 0.0);
        for (addr, r) in addrs.iter().zip(results) {
            if let Some(c) = r {
                queue += c.queue;
                let last = self.last_busy.insert(*addr, c.busy_s).unwrap_or(0.0);
                busy += (c.busy_s - last).max(0.0);
            }
        }
        (queue, busy)
    }
}
