//! `[services.NAME]` → [`ServiceSpec`]s with their traffic, autoscaler,
//! latency objective and probes, in service name order.
//!
//! Key decision: one small function per field, called in the order the
//! checks have always run, so the first mistake in a file is the one
//! reported; the sections with tables of their own (traffic, autoscaler,
//! balancing, rollout, probes, constraints) have their own files.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::autoscaler::SloFile;
use super::fields::{at_least_one, check_dns_label, key_span, resource_list};
use super::schema::{ContainerFile, ServiceFile, StragglersFile, WorkKind};
use super::{
    Ctx, Files, InputError, Slo, autoscaler, balancing, constraints, dist, health, rollout, traces,
};
use crate::autoscale::spec::AutoscalerSpec;
use crate::balance::Routing;
use crate::dist::DurationDist;
use crate::health::Probes;
use crate::model::{ResourceName, Resources, ServiceKind, ServiceSpec, Stragglers, Work};
use crate::pod::{Container, PodResources};
use crate::quantity::{format_bytes, format_cpu_millis};
use crate::registry;
use crate::rollout::RolloutSpec;
use crate::time::SimDuration;
use crate::traffic::RateModel;

/// The services and what comes with each, in the same (name) order.
#[derive(Default)]
pub(super) struct Services {
    pub specs: Vec<ServiceSpec>,
    pub traffic: Vec<RateModel>,
    /// Where each service's `replicas` is written, for placement errors.
    pub replica_spans: Vec<Range<usize>>,
    pub autoscalers: Vec<Option<AutoscalerSpec>>,
    pub slos: Vec<Option<Slo>>,
    pub probes: Vec<Probes>,
}

/// What a service's fields are checked against: the pools (balancing
/// weights) and the run's length (client-side balancers).
pub(super) struct Around<'a> {
    pub pools: &'a BTreeSet<String>,
    pub duration: SimDuration,
    /// The HPA controller's flags (`[hpaController]`).
    pub hpa: &'a crate::autoscale::hpa::HpaConfig,
}

/// Resolves every service.
pub(super) fn resolve(
    services: &BTreeMap<String, ServiceFile>,
    around: &Around<'_>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Services, InputError> {
    let mut out = Services::default();
    for (sname, s) in services {
        let probes = health::probes(&s.probes, sname, ctx)?;
        check_dns_label(sname).map_err(|m| {
            ctx.err(
                key_span(ctx.text, "services", sname),
                format!("services.{sname}"),
                m,
            )
        })?;
        let r = service(sname, s, around, ctx, files, hash)?;
        out.specs.push(r.spec);
        out.traffic.push(r.traffic);
        out.replica_spans.push(s.replicas.span());
        out.autoscalers.push(r.autoscaler);
        out.slos.push(r.slo);
        out.probes.push(probes);
    }
    Ok(out)
}

/// One service, resolved.
struct Resolved {
    spec: ServiceSpec,
    traffic: RateModel,
    autoscaler: Option<AutoscalerSpec>,
    slo: Option<Slo>,
}

/// A service's fields after its name and probes.
fn service(
    sname: &str,
    s: &ServiceFile,
    around: &Around<'_>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Resolved, InputError> {
    let path = format!("services.{sname}");
    let at = |field: &str| format!("{path}.{field}");
    let meta = constraints::metadata(s.metadata.as_ref(), sname, &path, ctx)?;
    let placement = constraints::constraints(s, &path, &meta, ctx)?;
    let concurrency = at_least_one(&s.concurrency, &at("concurrency"), ctx)?.unwrap_or(1);
    let timeout = timeout(s, &at("timeout"), ctx)?;
    let (requests, limits) = requests_and_limits(s, &path, ctx)?;
    let service_time = dist::build_dist(
        s.service_time.get_ref(),
        s.service_time.span(),
        &at("serviceTime"),
        ctx,
        files,
        hash,
    )?;
    let start_delay = match &s.start_delay {
        None => DurationDist::constant(SimDuration::ZERO),
        Some(sd) => dist::dist_or_duration(sd, &at("startDelay"), ctx, files, hash)?,
    };
    let routing = routing(s, &at("balancer"), ctx)?;
    let balancing = balancing::build(
        s.balancing.as_ref(),
        routing,
        &at("balancing"),
        around.pools,
        around.duration,
        ctx,
    )?;
    let traffic = traces::build_traffic(
        s.traffic.get_ref(),
        s.traffic.span(),
        &at("traffic"),
        ctx,
        files,
        hash,
    )?;
    let start_mean = SimDuration::from_secs_f64(start_delay.mean_secs());
    let autoscaler = match &s.autoscaler {
        Some(a) => Some(autoscaler::build(a, &path, start_mean, around.hpa, ctx)?),
        None => None,
    };
    let slo = slo(&s.slo, &path, ctx)?;
    let stragglers = stragglers(s.stragglers.as_ref(), &path, ctx)?;
    let rollout = rollout(s.rollout.as_ref(), &path, ctx, files, hash)?;
    let spec = ServiceSpec {
        stateful: None,
        name: sname.to_string(),
        kind: ServiceKind::Service,
        replicas: *s.replicas.get_ref(),
        requests,
        limits,
        concurrency,
        queue_limit: s.queue_limit,
        timeout,
        service_time,
        start_delay,
        routing,
        work: match s.work {
            Some(WorkKind::Sleep) => Work::Sleep,
            _ => Work::Cpu,
        },
        placement,
        stragglers,
        balancing,
        rollout,
        meta,
        controller: controller(s, &path, ctx)?,
        volumes: volumes(s.volumes.as_deref(), &path, ctx)?,
        termination_grace_period: s
            .termination_grace_period_seconds
            .map_or(crate::model::DEFAULT_TERMINATION_GRACE_PERIOD, |n| {
                SimDuration::from_secs(u64::from(n))
            }),
    };
    Ok(Resolved {
        spec,
        traffic,
        autoscaler,
        slo,
    })
}

/// `timeout`: greater than zero when given (absent: none).
fn timeout(s: &ServiceFile, path: &str, ctx: &Ctx<'_>) -> Result<Option<SimDuration>, InputError> {
    match &s.timeout {
        Some(t) if t.get_ref().0.0 == 0 => Err(ctx.err(
            t.span(),
            path,
            "must be greater than zero (leave it out for no timeout)",
        )),
        Some(t) => Ok(Some(t.get_ref().0)),
        None => Ok(None),
    }
}

/// The pod's requests and limits as the scheduler and the runtime see
/// them ([`crate::pod::effective_requests`], [`crate::pod::effective_limits`]),
/// from its `containers`, `initContainers` and `overhead`, or from the flat
/// `requests`/`limits` of a pod with one container. As in Kubernetes, a
/// resource with a limit and no request gets the limit as its request, and
/// no request may exceed its limit.
fn requests_and_limits(
    s: &ServiceFile,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(Resources, Resources), InputError> {
    let pod = pod_resources(s, path, ctx)?;
    Ok((
        crate::pod::effective_requests(&pod),
        crate::pod::effective_limits(&pod),
    ))
}

/// The pod's containers: `containers` (and `initContainers`), or one
/// container of the flat `requests` and `limits`; each checked and
/// defaulted as the API server does.
fn pod_resources(s: &ServiceFile, path: &str, ctx: &Ctx<'_>) -> Result<PodResources, InputError> {
    let flat = s.requests.is_some() || s.limits.is_some();
    let containers = match &s.containers {
        Some(list) if flat => {
            return Err(ctx.err(
                list.span(),
                format!("{path}.containers"),
                "give the pod's resources either as 'requests'/'limits' (one container) or per container in 'containers', not both",
            ));
        }
        Some(list) if list.get_ref().is_empty() => {
            return Err(ctx.err(
                list.span(),
                format!("{path}.containers"),
                "a pod needs at least one container",
            ));
        }
        Some(list) => list
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, c)| container(c, i, false, &format!("{path}.containers[{i}]"), ctx))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![flat_container(s, path, ctx)?],
    };
    let init_containers = s
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| container(c, i, true, &format!("{path}.initContainers[{i}]"), ctx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PodResources {
        containers,
        init_containers,
        overhead: resource_list(s.overhead.as_ref().map(|o| o.get_ref())),
    })
}

/// The flat `requests`/`limits`: one app container (errors located at
/// `replicas`, as they always were).
fn flat_container(s: &ServiceFile, path: &str, ctx: &Ctx<'_>) -> Result<Container, InputError> {
    let mut c = Container {
        name: "main".to_string(),
        requests: resource_list(s.requests.as_ref()),
        limits: resource_list(s.limits.as_ref()),
        restart_always: false,
    };
    c.default_requests_from_limits();
    check_within_limits(&c, s.replicas.span(), &format!("{path}.requests"), ctx)?;
    Ok(c)
}

/// One entry of `containers` or `initContainers`.
fn container(
    f: &Spanned<ContainerFile>,
    i: usize,
    init: bool,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Container, InputError> {
    let g = f.get_ref();
    let restart_always = match &g.restart_policy {
        None => false,
        Some(p) if !init => {
            return Err(ctx.err(
                p.span(),
                format!("{path}.restartPolicy"),
                "restartPolicy applies to init containers only (\"Always\" makes one a sidecar)",
            ));
        }
        Some(p) if p.get_ref() == "Always" => true,
        Some(p) => {
            return Err(ctx.err(
                p.span(),
                format!("{path}.restartPolicy"),
                format!(
                    "an init container's restartPolicy may only be \"Always\" (a sidecar), got \"{}\"",
                    p.get_ref()
                ),
            ));
        }
    };
    let mut c = Container {
        name: g
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{i}", if init { "init" } else { "container" })),
        requests: resource_list(g.requests.as_ref()),
        limits: resource_list(g.limits.as_ref()),
        restart_always,
    };
    c.default_requests_from_limits();
    check_within_limits(&c, f.span(), &format!("{path}.requests"), ctx)?;
    Ok(c)
}

/// No request above its limit (cpu, gpu, memory, then the others by name).
fn check_within_limits(
    c: &Container,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let show = |r: ResourceName, v: u64| match r {
        ResourceName::Cpu | ResourceName::Gpu => format_cpu_millis(v),
        ResourceName::Memory | ResourceName::EphemeralStorage => format_bytes(v),
        ResourceName::Scalar(n) if n.starts_with("hugepages-") => format_bytes(v),
        _ => v.to_string(),
    };
    let order = [ResourceName::Cpu, ResourceName::Gpu, ResourceName::Memory];
    let rest = c.requests.keys().copied().filter(|r| !order.contains(r));
    for r in order.into_iter().chain(rest) {
        let (Some(&request), Some(&limit)) = (c.requests.get(&r), c.limits.get(&r)) else {
            continue;
        };
        if limit > 0 && request > limit {
            let name = if r == ResourceName::Gpu {
                "gpu"
            } else {
                r.as_str()
            };
            return Err(ctx.err(
                span,
                format!("{path}.{name}"),
                format!(
                    "request {} exceeds limit {}",
                    show(r, request),
                    show(r, limit)
                ),
            ));
        }
    }
    Ok(())
}

/// `balancer`: a registered policy or central-queue mode (default `round-robin`).
fn routing(s: &ServiceFile, path: &str, ctx: &Ctx<'_>) -> Result<Routing, InputError> {
    match &s.balancer {
        Some(b) => {
            registry::routing(b.get_ref()).map_err(|e| ctx.err(b.span(), path, e.to_string()))
        }
        None => Ok(Routing::default()),
    }
}

/// `slo`: a latency greater than zero and a percentile below 100 (default 99).
fn slo(f: &Option<SloFile>, path: &str, ctx: &Ctx<'_>) -> Result<Option<Slo>, InputError> {
    let Some(f) = f else { return Ok(None) };
    let latency = f.latency.get_ref().0;
    if latency == SimDuration::ZERO {
        return Err(ctx.err(
            f.latency.span(),
            format!("{path}.slo.latency"),
            "must be greater than zero",
        ));
    }
    let percentile = match &f.percentile {
        Some(p) if p.get_ref().0 >= 100.0 => {
            return Err(ctx.err(
                p.span(),
                format!("{path}.slo.percentile"),
                "must be below 100",
            ));
        }
        Some(p) => p.get_ref().0,
        None => 99.0,
    };
    Ok(Some(Slo {
        latency,
        percentile,
    }))
}

/// `stragglers`: a fraction below 1 slowed down by at least 1.
fn stragglers(
    f: Option<&Spanned<StragglersFile>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Stragglers, InputError> {
    let Some(f) = f else {
        return Ok(Stragglers::default());
    };
    let g = f.get_ref();
    if g.fraction.0 >= 1.0 {
        return Err(ctx.err(
            f.span(),
            format!("{path}.stragglers.fraction"),
            format!("must be below 1 (got {})", g.fraction.0),
        ));
    }
    if g.slowdown.0 < 1.0 {
        return Err(ctx.err(
            f.span(),
            format!("{path}.stragglers.slowdown"),
            format!("must be at least 1 (got {})", g.slowdown.0),
        ));
    }
    Ok(Stragglers {
        fraction: g.fraction.0,
        slowdown: g.slowdown.0,
    })
}

/// `rollout`, with the new revision's own service time when it has one.
fn rollout(
    r: Option<&Spanned<rollout::RolloutFile>>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Option<RolloutSpec>, InputError> {
    let Some(r) = r else { return Ok(None) };
    let mut spec = rollout::build(r, path, ctx)?;
    if let Some(n) = &r.get_ref().new_revision
        && let Some(st) = &n.get_ref().service_time
    {
        spec.new_revision.service_time = Some(dist::build_dist(
            st.get_ref(),
            st.span(),
            &format!("{path}.rollout.newRevision.serviceTime"),
            ctx,
            files,
            hash,
        )?);
    }
    Ok(Some(spec))
}

/// `volumes`: each exactly one source, names DNS labels and unique.
fn volumes(
    list: Option<&[Spanned<super::schema::VolumeFile>]>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<crate::model::Volume>, InputError> {
    use crate::model::{Volume, VolumeSource};
    let mut out: Vec<Volume> = Vec::new();
    for (k, v) in list.unwrap_or_default().iter().enumerate() {
        let at = format!("{path}.volumes[{k}]");
        let f = v.get_ref();
        let name = f.name.get_ref();
        if let Err(m) = super::fields::check_dns_label(name) {
            return Err(ctx.err(f.name.span(), format!("{at}.name"), m));
        }
        if out.iter().any(|o| o.name == *name) {
            return Err(ctx.err(
                f.name.span(),
                format!("{at}.name"),
                format!("'{name}': Duplicate value (volume names are unique in a pod)"),
            ));
        }
        let given = [
            f.empty_dir.is_some(),
            f.host_path.is_some(),
            f.persistent_volume_claim.is_some(),
            f.aws_elastic_block_store.is_some(),
            f.gce_persistent_disk.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(ctx.err(
                v.span(),
                at,
                "give exactly one source: 'emptyDir', 'hostPath', 'persistentVolumeClaim', \
                 'awsElasticBlockStore' or 'gcePersistentDisk' (others are not modelled yet)",
            ));
        }
        let source = match (&f.empty_dir, &f.host_path) {
            _ if f.persistent_volume_claim.is_some() => {
                let c = f.persistent_volume_claim.as_ref().expect("given");
                VolumeSource::PersistentVolumeClaim {
                    claim: c.claim_name.clone(),
                    read_only: c.read_only,
                }
            }
            _ if f.aws_elastic_block_store.is_some() => {
                let e = f.aws_elastic_block_store.as_ref().expect("given");
                VolumeSource::Disk(crate::storage::InlineDisk::AwsEbs {
                    volume_id: e.volume_id.clone(),
                    read_only: e.read_only,
                })
            }
            _ if f.gce_persistent_disk.is_some() => {
                let g = f.gce_persistent_disk.as_ref().expect("given");
                VolumeSource::Disk(crate::storage::InlineDisk::GcePd {
                    pd_name: g.pd_name.clone(),
                    read_only: g.read_only,
                })
            }
            (Some(e), None) => {
                let memory = match e.medium.as_ref().map(|m| m.get_ref().as_str()) {
                    None | Some("") => false,
                    Some("Memory") => true,
                    Some(other) => {
                        let m = e.medium.as_ref().expect("given");
                        return Err(ctx.err(
                            m.span(),
                            format!("{at}.emptyDir.medium"),
                            format!("'{other}': expected \"\" (the node's disk) or \"Memory\""),
                        ));
                    }
                };
                VolumeSource::EmptyDir { memory }
            }
            (None, Some(h)) => VolumeSource::HostPath {
                path: h.path.clone(),
            },
            _ => unreachable!("exactly one source, checked above"),
        };
        out.push(Volume {
            name: name.clone(),
            source,
        });
    }
    Ok(out)
}

/// `controller`: `"ReplicaSet"` (default) or `"none"`; bare pods take no
/// autoscaler and no rollout (nothing owns a scale or a revision of them).
fn controller(
    s: &ServiceFile,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<crate::model::Controller, InputError> {
    use crate::model::Controller;
    let Some(c) = &s.controller else {
        return Ok(Controller::ReplicaSet);
    };
    let at = format!("{path}.controller");
    match c.get_ref().as_str() {
        "ReplicaSet" => Ok(Controller::ReplicaSet),
        "none" => {
            let owned = [
                ("autoscaler", s.autoscaler.as_ref().map(|a| a.span())),
                ("rollout", s.rollout.as_ref().map(|r| r.span())),
            ];
            for (field, span) in owned {
                if let Some(span) = span {
                    return Err(ctx.err(
                        span,
                        format!("{path}.{field}"),
                        format!("bare pods (controller = \"none\") have no controller to take '{field}'"),
                    ));
                }
            }
            Ok(Controller::None)
        }
        "StatefulSet" => {
            if let Some(r) = &s.rollout {
                return Err(ctx.err(
                    r.span(),
                    format!("{path}.rollout"),
                    "a StatefulSet's RollingUpdate (partition, maxUnavailable) is not modelled yet; \
                     roll out a Deployment instead",
                ));
            }
            Ok(Controller::StatefulSet)
        }
        other => Err(ctx.err(
            c.span(),
            at,
            format!("'{other}': expected \"ReplicaSet\" (a Deployment's pods, the default), \"StatefulSet\" or \"none\" (bare pods)"),
        )),
    }
}
