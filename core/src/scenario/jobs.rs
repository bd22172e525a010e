//! `[jobs.NAME]` → [`JobSet`]s: batch jobs given by an inline list
//! (`arrivals`), a Poisson process (`rate`) or a trace file (`trace`), and
//! the job shapes they run as, appended to the desired state's services.
//!
//! Key decision: each job set's pods share a few shapes — one per distinct
//! (requests, priority, GPU models), named `SET.K` in order of first
//! appearance — so a trace of thousands of pods schedules as a handful of
//! services; the three sources are checked as models with
//! [`check_fields`], so a field of another source is named.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml::Spanned;

use super::fields::{at_least_one, check_dns_label, check_fields, key_span, resources};
use super::schema::{
    Cpu, Gpu, JobArrivalFile, JobTraceFile, JobsFile, Memory, Rate, ResourcesFile, TraceFormat,
};
use super::{Ctx, Files, InputError, LABEL_GPU_MODEL, alibaba, dist, traces};
use crate::balance::Routing;
use crate::dist::DurationDist;
use crate::jobs::{JobArrival, JobSet, JobSource};
use crate::model::{
    Constraints, Resources, SelectorOp, SelectorRequirement, SelectorTerm, ServiceId, ServiceKind,
    ServiceSpec,
};
use crate::results::TraceReport;
use crate::time::{SimDuration, SimTime};

/// Resolves every job set, appending its shapes to `services`; a
/// scenario needs at least one service or job set.
pub(super) fn resolve(
    jobs: &BTreeMap<String, Spanned<JobsFile>>,
    services: &mut Vec<ServiceSpec>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Vec<JobSet>, InputError> {
    if services.is_empty() && jobs.is_empty() {
        return Err(ctx.err(
            0..0,
            "services",
            "no services and no jobs: add a [services.NAME] or a [jobs.NAME] table",
        ));
    }
    jobs.iter()
        .map(|(name, j)| job_set(name, j, services, ctx, files, hash))
        .collect()
}

/// The job shapes of one set: one per distinct (requests, priority, GPU
/// models), named `SET.K` in order of first appearance.
struct Shapes<'a> {
    set: &'a str,
    services: &'a mut Vec<ServiceSpec>,
    known: HashMap<(Resources, i32, Vec<String>), ServiceId>,
    ids: Vec<ServiceId>,
}

impl Shapes<'_> {
    fn get(&mut self, requests: Resources, priority: i32, models: Vec<String>) -> ServiceId {
        let key = (requests, priority, models);
        if let Some(&id) = self.known.get(&key) {
            return id;
        }
        let id = ServiceId(self.services.len() as u32);
        let mut placement = Constraints {
            priority,
            ..Default::default()
        };
        if !key.2.is_empty() {
            placement.required_terms.push(SelectorTerm {
                requirements: vec![SelectorRequirement {
                    key: LABEL_GPU_MODEL.to_string(),
                    op: SelectorOp::In,
                    values: key.2.clone(),
                }],
            });
        }
        placement.batch = true;
        self.services.push(ServiceSpec {
            stateful: None,
            name: format!("{}.{}", self.set, self.ids.len()),
            kind: ServiceKind::Job,
            replicas: 0,
            requests,
            limits: requests,
            concurrency: 1,
            queue_limit: None,
            timeout: None,
            service_time: DurationDist::constant(SimDuration::ZERO),
            start_delay: DurationDist::constant(SimDuration::ZERO),
            routing: Routing::default(),
            work: crate::model::Work::Cpu,
            placement,
            stragglers: Default::default(),
            balancing: Default::default(),
            rollout: None,
            meta: Default::default(),
            controller: crate::model::Controller::ReplicaSet,
            volumes: Vec::new(),
            termination_grace_period: crate::model::DEFAULT_TERMINATION_GRACE_PERIOD,
        });
        self.known.insert(key, id);
        self.ids.push(id);
        id
    }
}

/// One `[jobs.NAME]` table as the sources see it.
struct Set<'a, 'c> {
    name: &'a str,
    path: String,
    span: Range<usize>,
    given: [(&'static str, bool); 9],
    /// The set's `priority` (default 0).
    priority: i32,
    ctx: &'a Ctx<'c>,
}

impl Set<'_, '_> {
    fn at(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    /// The source `kind` takes `needed` and `optional`, and nothing else.
    fn check(&self, needed: &[&str], optional: &[&str], kind: &str) -> Result<(), InputError> {
        check_fields(
            &self.given,
            needed,
            optional,
            kind,
            self.span.clone(),
            &self.path,
            self.ctx,
        )
    }
}

/// Resolves `[jobs.NAME]`, appending its shapes to `services`.
fn job_set(
    name: &str,
    j: &Spanned<JobsFile>,
    services: &mut Vec<ServiceSpec>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<JobSet, InputError> {
    let path = format!("jobs.{name}");
    check_dns_label(name).map_err(|m| ctx.err(key_span(ctx.text, "jobs", name), &path, m))?;
    let (span, j) = (j.span(), j.get_ref());
    let set = Set {
        name,
        path,
        span,
        given: [
            ("arrivals", j.arrivals.is_some()),
            ("rate", j.rate.is_some()),
            ("duration", j.duration.is_some()),
            ("cpu", j.cpu.is_some()),
            ("memory", j.memory.is_some()),
            ("gpu", j.gpu.is_some()),
            ("count", j.count.is_some()),
            ("priority", j.priority.is_some()),
            ("trace", j.trace.is_some()),
        ],
        priority: j.priority.unwrap_or(0),
        ctx,
    };
    let sources = [j.arrivals.is_some(), j.rate.is_some(), j.trace.is_some()];
    if sources.iter().filter(|&&x| x).count() != 1 {
        return Err(ctx.err(
            set.span,
            set.path,
            "give exactly one of 'arrivals' (a list of jobs), 'rate' (Poisson arrivals) or 'trace' (a trace file)",
        ));
    }
    let mut shapes = Shapes {
        set: name,
        services,
        known: Default::default(),
        ids: Vec::new(),
    };
    let (source, trace) = if let Some(arrivals) = &j.arrivals {
        (listed(&set, arrivals, &mut shapes)?, None)
    } else if let Some(rate) = j.rate {
        (poisson(&set, j, rate, &mut shapes, files, hash)?, None)
    } else {
        let t = j.trace.as_ref().expect("checked");
        let (source, report) = traced(&set, t, &mut shapes, files, hash)?;
        (source, Some(report))
    };
    Ok(JobSet {
        name: name.to_string(),
        source,
        shapes: shapes.ids,
        trace,
        backoff_limit: j
            .backoff_limit
            .unwrap_or(crate::jobs::DEFAULT_BACKOFF_LIMIT),
    })
}

/// A `count` of pods: at least 1 (default 1).
fn pod_count(c: &Option<Spanned<u32>>, path: &str, ctx: &Ctx<'_>) -> Result<u32, InputError> {
    Ok(at_least_one(c, path, ctx)?.unwrap_or(1))
}

/// Requests of a pod from its `cpu`, `memory` and `gpu` (zero when left out).
fn pod_requests(cpu: Option<Cpu>, memory: Option<Memory>, gpu: Option<Gpu>) -> Resources {
    resources(Some(&ResourcesFile {
        cpu,
        memory,
        gpu,
        other: Vec::new(),
    }))
}

/// Jobs given by `arrivals`, in arrival order.
fn listed(
    set: &Set<'_, '_>,
    arrivals: &[JobArrivalFile],
    shapes: &mut Shapes<'_>,
) -> Result<JobSource, InputError> {
    set.check(&["arrivals"], &["priority"], "jobs given by 'arrivals'")?;
    if arrivals.is_empty() {
        return Err(set.ctx.err(
            set.span.clone(),
            set.at("arrivals"),
            "the list is empty: give at least one job",
        ));
    }
    let mut list = Vec::with_capacity(arrivals.len());
    for (i, a) in arrivals.iter().enumerate() {
        let count = pod_count(&a.count, &set.at(&format!("arrivals[{i}].count")), set.ctx)?;
        let requests = pod_requests(a.cpu, a.memory, a.gpu);
        let shape = shapes.get(requests, a.priority.unwrap_or(set.priority), Vec::new());
        list.push(JobArrival {
            at: SimTime::ZERO + a.at.0,
            duration: a.duration.0,
            shape,
            count,
            name: format!("{}-{i}", set.name),
        });
    }
    list.sort_by_key(|a| a.at);
    Ok(JobSource::List(list))
}

/// Poisson jobs (`rate`) of one shape.
fn poisson(
    set: &Set<'_, '_>,
    j: &JobsFile,
    rate: Rate,
    shapes: &mut Shapes<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<JobSource, InputError> {
    set.check(
        &["rate", "duration"],
        &["cpu", "memory", "gpu", "count", "priority"],
        "Poisson jobs ('rate')",
    )?;
    let d = j.duration.as_ref().expect("checked");
    let duration = dist::dist_or_duration(d, &set.at("duration"), set.ctx, files, hash)?;
    let requests = pod_requests(j.cpu, j.memory, j.gpu);
    Ok(JobSource::Poisson {
        rate: rate.0,
        duration,
        shape: shapes.get(requests, set.priority, Vec::new()),
        count: pod_count(&j.count, &set.at("count"), set.ctx)?,
    })
}

/// Jobs read from a `trace` file, with what was read and skipped.
fn traced(
    set: &Set<'_, '_>,
    t: &Spanned<JobTraceFile>,
    shapes: &mut Shapes<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<(JobSource, TraceReport), InputError> {
    set.check(&["trace"], &["priority"], "jobs given by 'trace'")?;
    let (tspan, tpath) = (t.span(), set.at("trace"));
    let opts = trace_window(t, &tpath, set.ctx)?;
    let t = t.get_ref();
    let fpath = format!("{tpath}.file");
    let bytes = traces::read_file(&t.file, &fpath, set.ctx, files, hash)?;
    let shown = files.display(t.file.get_ref());
    let (pods, report) = match t.format {
        TraceFormat::AlibabaOpenb => alibaba::read_pods(&bytes, &shown, &opts, &fpath)?,
    };
    if pods.is_empty() {
        return Err(set.ctx.err(
            tspan,
            tpath,
            format!(
                "no pod of '{shown}' was taken ({} rows: {} without deletion time, {} with a non-positive duration, {} in other phases, {} outside the window)",
                report.rows,
                report.skipped_no_deletion,
                report.skipped_non_positive_duration,
                report.skipped_phase,
                report.skipped_outside_window
            ),
        ));
    }
    let list = pods
        .into_iter()
        .map(|p| JobArrival {
            at: p.at,
            duration: p.duration,
            shape: shapes.get(p.requests, set.priority, p.gpu_models),
            count: 1,
            name: p.name,
        })
        .collect();
    Ok((JobSource::List(list), report))
}

/// What of a trace is taken: its window, scales, limit and phases.
fn trace_window(
    t: &Spanned<JobTraceFile>,
    tpath: &str,
    ctx: &Ctx<'_>,
) -> Result<alibaba::PodOptions, InputError> {
    let (tspan, t) = (t.span(), t.get_ref());
    let start_s = t.start.map_or(0.0, |d| d.0.as_secs_f64());
    let end_s = t.end.map(|d| d.0.as_secs_f64());
    if end_s.is_some_and(|e| e <= start_s) {
        return Err(ctx.err(tspan, format!("{tpath}.end"), "must be after 'start'"));
    }
    if t.limit == Some(0) {
        return Err(ctx.err(tspan, format!("{tpath}.limit"), "must be at least 1"));
    }
    if t.phases.as_ref().is_some_and(|p| p.is_empty()) {
        return Err(ctx.err(
            tspan,
            format!("{tpath}.phases"),
            "the list is empty: no pod would be taken",
        ));
    }
    let time_scale = t.time_scale.map_or(1.0, |x| x.0);
    Ok(alibaba::PodOptions {
        start_s,
        end_s,
        time_scale,
        duration_scale: t.duration_scale.map_or(time_scale, |x| x.0),
        limit: t.limit,
        phases: t.phases.clone(),
    })
}
