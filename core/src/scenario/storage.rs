//! `[[storageClasses]]`, `[[persistentVolumes]]`, `[[persistentVolumeClaims]]`
//! and the services' claim volumes.
//!
//! Key decision: the objects are read as the API server would admit them
//! (`pkg/apis/storage/validation`, `pkg/apis/core/validation`): a class's
//! `volumeBindingMode` defaults to `Immediate` and `reclaimPolicy` to
//! `Delete`; a volume's `persistentVolumeReclaimPolicy` to `Retain`; a
//! claim without `storageClassName` gets the default class
//! (`isDefault = true`, the `storageclass.kubernetes.io/is-default-class`
//! annotation) as the DefaultStorageClass admission plugin sets it. Then
//! the PV controller's first pass binds the `Immediate` claims
//! ([`Storage::bind_immediate`]). A pod volume naming a claim that does not
//! exist is an error here (upstream would leave the pod pending with
//! `persistentvolumeclaim "x" not found`, which in a scenario is a typo).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::schema::{Memory, TermFile};
use super::{Ctx, InputError};
use crate::model::{NodeSpec, SelectorOp, SelectorRequirement, SelectorTerm, ServiceSpec};
use crate::storage::{
    AccessModes, BindingMode, InlineDisk, PersistentVolume, PersistentVolumeClaim, Reach,
    ReclaimPolicy, Storage, StorageClass, VolumeBackend,
};

/// One `[[storageClasses]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageClassFile {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `provisioner`: a CSI driver, or `kubernetes.io/no-provisioner`.
    pub provisioner: Spanned<String>,
    /// `volumeBindingMode` (default `Immediate`).
    pub volume_binding_mode: Option<BindingModeFile>,
    /// `reclaimPolicy` (default `Delete`).
    pub reclaim_policy: Option<ReclaimFile>,
    /// `allowedTopologies`: `[{ matchLabelExpressions = [{ key, values }] }]`.
    #[serde(default)]
    pub allowed_topologies: Vec<Spanned<TopologyTermFile>>,
    /// Where the provisioner's volumes can be used from (default `zone`).
    pub reach: Option<ReachFile>,
    /// The default class (annotation `storageclass.kubernetes.io/is-default-class`).
    #[serde(default)]
    pub is_default: bool,
    /// How long attaching a volume takes (default `0s`).
    pub attach_delay: Option<Spanned<super::schema::Dur>>,
    /// How long detaching one from a healthy node takes (default `0s`).
    pub detach_delay: Option<Spanned<super::schema::Dur>>,
}

/// `volumeBindingMode`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum BindingModeFile {
    /// Bind as soon as the claim exists.
    Immediate,
    /// Bind where the first pod using the claim is scheduled.
    WaitForFirstConsumer,
}

/// `reclaimPolicy`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum ReclaimFile {
    /// Delete the volume with its claim.
    Delete,
    /// Keep it, `Released`.
    Retain,
}

/// `reach`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReachFile {
    /// One node (local volumes).
    Node,
    /// One zone.
    Zone,
    /// One region.
    Region,
    /// Anywhere.
    Cluster,
}

/// `{ matchLabelExpressions = [{ key = "…", values = ["…"] }] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologyTermFile {
    /// The requirements (all must hold).
    pub match_label_expressions: Vec<TopologyRequirementFile>,
}

/// `{ key, values }`: the label is one of the values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologyRequirementFile {
    /// Node label key.
    pub key: String,
    /// Allowed values.
    pub values: Vec<String>,
}

/// One `[[persistentVolumes]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PersistentVolumeFile {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `storageClassName` (default: none).
    #[serde(default)]
    pub storage_class_name: String,
    /// `capacity.storage`.
    pub capacity: Spanned<Memory>,
    /// `accessModes`.
    pub access_modes: Spanned<Vec<String>>,
    /// `nodeAffinity.required`: a node must match one term.
    pub node_affinity: Option<Spanned<VolumeNodeAffinityFile>>,
    /// `csi = { driver, volumeHandle }`.
    pub csi: Option<CsiSourceFile>,
    /// `awsElasticBlockStore = { volumeID }`.
    pub aws_elastic_block_store: Option<EbsFile>,
    /// `gcePersistentDisk = { pdName }`.
    pub gce_persistent_disk: Option<GcePdFile>,
    /// `claimRef = "namespace/name"`: pre-bound to that claim.
    pub claim_ref: Option<Spanned<String>>,
    /// `persistentVolumeReclaimPolicy` (default `Retain`).
    pub persistent_volume_reclaim_policy: Option<ReclaimFile>,
}

/// `nodeAffinity = { required = [{ matchExpressions = […] }] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeNodeAffinityFile {
    /// The terms (any may match).
    pub required: Vec<Spanned<TermFile>>,
}

/// `csi = { driver, volumeHandle }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CsiSourceFile {
    /// The CSI driver.
    pub driver: String,
    /// The volume's id in the driver.
    pub volume_handle: String,
}

/// `awsElasticBlockStore = { volumeID }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsFile {
    /// `volumeID`.
    #[serde(rename = "volumeID")]
    pub volume_id: String,
    /// `readOnly`.
    #[serde(default, rename = "readOnly")]
    pub read_only: bool,
}

/// `gcePersistentDisk = { pdName }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcePdFile {
    /// `pdName`.
    pub pd_name: String,
    /// `readOnly`.
    #[serde(default)]
    pub read_only: bool,
}

/// `[services.NAME.statefulSet]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatefulSetFile {
    /// `podManagementPolicy` (default `OrderedReady`).
    pub pod_management_policy: Option<PodManagementFile>,
    /// `volumeClaimTemplates`.
    #[serde(default)]
    pub volume_claim_templates: Vec<Spanned<ClaimTemplateFile>>,
    /// `persistentVolumeClaimRetentionPolicy` (default Retain, Retain).
    pub persistent_volume_claim_retention_policy: Option<RetentionFile>,
}

/// `podManagementPolicy`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum PodManagementFile {
    /// One at a time, in order.
    OrderedReady,
    /// All at once.
    Parallel,
}

/// `{ whenDeleted, whenScaled }`, each `"Retain"` or `"Delete"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetentionFile {
    /// When the StatefulSet is deleted.
    pub when_deleted: Option<ReclaimFile>,
    /// When it is scaled down.
    pub when_scaled: Option<ReclaimFile>,
}

/// One of `volumeClaimTemplates`: a claim's fields without a namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimTemplateFile {
    /// `metadata.name`: the pod volume's name and the claims' prefix.
    pub name: Spanned<String>,
    /// `storageClassName` (absent: the default class).
    pub storage_class_name: Option<Spanned<String>>,
    /// `resources.requests.storage`.
    pub storage: Spanned<Memory>,
    /// `accessModes`.
    pub access_modes: Spanned<Vec<String>>,
}

/// One `[[persistentVolumeClaims]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PersistentVolumeClaimFile {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `metadata.namespace` (default `default`).
    pub namespace: Option<String>,
    /// `storageClassName` (absent: the default class; `""`: none).
    pub storage_class_name: Option<Spanned<String>>,
    /// `resources.requests.storage`.
    pub storage: Spanned<Memory>,
    /// `accessModes`.
    pub access_modes: Spanned<Vec<String>>,
    /// `volumeName`: pre-bound to that volume.
    pub volume_name: Option<Spanned<String>>,
}

fn modes(list: &Spanned<Vec<String>>, at: &str, ctx: &Ctx<'_>) -> Result<AccessModes, InputError> {
    if list.get_ref().is_empty() {
        return Err(ctx.err(
            list.span(),
            format!("{at}.accessModes"),
            "at least 1 access mode is required",
        ));
    }
    let mut out = AccessModes::NONE;
    for m in list.get_ref() {
        let Some(x) = AccessModes::parse(m) else {
            return Err(ctx.err(
                list.span(),
                format!("{at}.accessModes"),
                format!(
                    "'{m}': expected ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod"
                ),
            ));
        };
        out = out.union(x);
    }
    if out.contains(AccessModes::RWOP) && out != AccessModes::RWOP {
        return Err(ctx.err(
            list.span(),
            format!("{at}.accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    Ok(out)
}

fn name(n: &Spanned<String>, at: &str, ctx: &Ctx<'_>) -> Result<String, InputError> {
    super::fields::check_dns_label(n.get_ref())
        .map_err(|m| ctx.err(n.span(), format!("{at}.name"), m))?;
    Ok(n.get_ref().clone())
}

fn reclaim(r: Option<ReclaimFile>, default: ReclaimPolicy) -> ReclaimPolicy {
    match r {
        None => default,
        Some(ReclaimFile::Delete) => ReclaimPolicy::Delete,
        Some(ReclaimFile::Retain) => ReclaimPolicy::Retain,
    }
}

fn duplicate(span: Range<usize>, at: &str, what: &str, ctx: &Ctx<'_>) -> InputError {
    ctx.err(
        span,
        format!("{at}.name"),
        format!("'{what}': Duplicate value"),
    )
}

fn class(
    c: &Spanned<StorageClassFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<StorageClass, InputError> {
    let f = c.get_ref();
    let name = name(&f.name, at, ctx)?;
    if f.provisioner.get_ref().is_empty() {
        return Err(ctx.err(
            f.provisioner.span(),
            format!("{at}.provisioner"),
            "Required value",
        ));
    }
    let mut allowed = Vec::new();
    for (k, t) in f.allowed_topologies.iter().enumerate() {
        let exprs = &t.get_ref().match_label_expressions;
        if exprs.is_empty() || exprs.iter().any(|r| r.values.is_empty()) {
            return Err(ctx.err(
                t.span(),
                format!("{at}.allowedTopologies[{k}]"),
                "every term needs matchLabelExpressions, each with at least one value",
            ));
        }
        allowed.push(SelectorTerm {
            requirements: exprs
                .iter()
                .map(|r| SelectorRequirement {
                    key: r.key.clone(),
                    op: SelectorOp::In,
                    values: r.values.clone(),
                })
                .collect(),
        });
    }
    Ok(StorageClass {
        name,
        provisioner: f.provisioner.get_ref().clone(),
        binding: Some(match f.volume_binding_mode {
            None | Some(BindingModeFile::Immediate) => BindingMode::Immediate,
            Some(BindingModeFile::WaitForFirstConsumer) => BindingMode::WaitForFirstConsumer,
        }),
        reclaim: reclaim(f.reclaim_policy, ReclaimPolicy::Delete),
        allowed_topologies: allowed,
        reach: match f.reach {
            None | Some(ReachFile::Zone) => Reach::Zone,
            Some(ReachFile::Node) => Reach::Node,
            Some(ReachFile::Region) => Reach::Region,
            Some(ReachFile::Cluster) => Reach::Cluster,
        },
        attach_delay: delay(&f.attach_delay, &format!("{at}.attachDelay"), ctx)?,
        detach_delay: delay(&f.detach_delay, &format!("{at}.detachDelay"), ctx)?,
    })
}

/// A duration (Go-style durations are never negative), 0 when absent.
fn delay(
    d: &Option<Spanned<super::schema::Dur>>,
    _at: &str,
    _ctx: &Ctx<'_>,
) -> Result<crate::time::SimDuration, InputError> {
    Ok(d.as_ref()
        .map_or(crate::time::SimDuration::ZERO, |d| d.get_ref().0))
}

fn volume(
    v: &Spanned<PersistentVolumeFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<PersistentVolume, InputError> {
    let f = v.get_ref();
    let mut pv = PersistentVolume::new(&name(&f.name, at, ctx)?, &f.storage_class_name);
    pv.labels = f.labels.clone();
    pv.capacity = f.capacity.get_ref().0;
    pv.access_modes = modes(&f.access_modes, at, ctx)?;
    pv.reclaim = reclaim(f.persistent_volume_reclaim_policy, ReclaimPolicy::Retain);
    if let Some(a) = &f.node_affinity {
        let mut terms = Vec::new();
        for (k, t) in a.get_ref().required.iter().enumerate() {
            terms.push(super::constraints::term(
                &t.get_ref().match_expressions,
                t.span(),
                &format!("{at}.nodeAffinity.required[{k}]"),
                ctx,
            )?);
        }
        pv.node_affinity = Some(terms);
    }
    pv.backend = match (&f.csi, &f.aws_elastic_block_store, &f.gce_persistent_disk) {
        (None, None, None) => VolumeBackend::Other,
        (Some(c), None, None) => VolumeBackend::Csi {
            driver: c.driver.clone(),
            handle: c.volume_handle.clone(),
        },
        (None, Some(e), None) => VolumeBackend::InTree(InlineDisk::AwsEbs {
            volume_id: e.volume_id.clone(),
            read_only: e.read_only,
        }),
        (None, None, Some(g)) => VolumeBackend::InTree(InlineDisk::GcePd {
            pd_name: g.pd_name.clone(),
            read_only: g.read_only,
        }),
        _ => {
            return Err(ctx.err(
                v.span(),
                at,
                "give at most one source: 'csi', 'awsElasticBlockStore' or 'gcePersistentDisk'",
            ));
        }
    };
    if let Some(r) = &f.claim_ref {
        let Some((ns, n)) = r.get_ref().split_once('/') else {
            return Err(ctx.err(
                r.span(),
                format!("{at}.claimRef"),
                format!("'{}': expected \"namespace/name\"", r.get_ref()),
            ));
        };
        pv.claim_ref = Some((ns.to_string(), n.to_string()));
    }
    Ok(pv)
}

/// The scenario's storage objects, validated, with the PV controller's
/// first pass done against `nodes` (the node groups' templates included,
/// so an `Immediate` claim may land where only autoscaled nodes will be).
pub(super) fn resolve(
    raw: &super::schema::ScenarioFile,
    nodes: &[&NodeSpec],
    ctx: &Ctx<'_>,
) -> Result<Storage, InputError> {
    let mut s = Storage::default();
    let mut default: Option<String> = None;
    // (`default` mirrors what `Storage::default_class` will answer.)
    for (i, c) in raw.storage_classes.iter().enumerate() {
        let at = format!("storageClasses[{i}]");
        let sc = class(c, &at, ctx)?;
        if s.class(&sc.name).is_some() {
            return Err(duplicate(c.get_ref().name.span(), &at, &sc.name, ctx));
        }
        if c.get_ref().is_default {
            if let Some(d) = &default {
                return Err(ctx.err(
                    c.get_ref().name.span(),
                    format!("{at}.isDefault"),
                    format!(
                        "'{}' and '{d}' are both the default class; mark one",
                        sc.name
                    ),
                ));
            }
            default = Some(sc.name.clone());
        }
        let is_default = c.get_ref().is_default;
        s.add_class(sc);
        if is_default {
            s.set_default_class(default.clone());
        }
    }
    for (i, v) in raw.persistent_volumes.iter().enumerate() {
        let at = format!("persistentVolumes[{i}]");
        let pv = volume(v, &at, ctx)?;
        if s.volume_named(&pv.name).is_some() {
            return Err(duplicate(v.get_ref().name.span(), &at, &pv.name, ctx));
        }
        s.add_volume(pv);
    }
    for (i, c) in raw.persistent_volume_claims.iter().enumerate() {
        let at = format!("persistentVolumeClaims[{i}]");
        let f = c.get_ref();
        let n = name(&f.name, &at, ctx)?;
        let ns = f.namespace.clone().unwrap_or_else(|| "default".to_string());
        if s.claim_named(&ns, &n).is_some() {
            return Err(duplicate(f.name.span(), &at, &format!("{ns}/{n}"), ctx));
        }
        let class = claim_class(f.storage_class_name.as_ref(), &s, &at, ctx)?;
        let mut pvc = PersistentVolumeClaim::new(&ns, &n, class.as_deref());
        pvc.request = f.storage.get_ref().0;
        pvc.access_modes = modes(&f.access_modes, &at, ctx)?;
        if let Some(v) = &f.volume_name {
            if s.volume_named(v.get_ref()).is_none() {
                return Err(ctx.err(
                    v.span(),
                    format!("{at}.volumeName"),
                    format!("'{}': no such entry in [[persistentVolumes]]", v.get_ref()),
                ));
            }
            pvc.volume_name = v.get_ref().clone();
        }
        s.add_claim(pvc);
    }
    // Claims naming a volume, and volumes naming a claim, bind to each
    // other first (the PV controller's pre-bound cases).
    for k in 0..s.claims.len() {
        let id = crate::storage::ClaimId(k as u32);
        let c = s.claim(id);
        if c.volume_name.is_empty() {
            continue;
        }
        let v = s.volume_named(&c.volume_name).expect("checked above");
        let pv = s.volume(v);
        if pv.claim_ref.is_none()
            || pv.claim_ref.as_ref() == Some(&(c.namespace.clone(), c.name.clone()))
        {
            s.bind(id, v);
        }
    }
    s.bind_immediate(nodes);
    Ok(s)
}

/// A claim's class: absent, the default class (DefaultStorageClass
/// admission); `""`, none; else a class that must exist.
fn claim_class(
    name: Option<&Spanned<String>>,
    s: &Storage,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<Option<String>, InputError> {
    match name {
        None => Ok(s.default_class().map(str::to_string)),
        Some(c) if c.get_ref().is_empty() => Ok(Some(String::new())),
        Some(c) => {
            if s.class(c.get_ref()).is_none() {
                return Err(ctx.err(
                    c.span(),
                    format!("{at}.storageClassName"),
                    format!("'{}': no such entry in [[storageClasses]]", c.get_ref()),
                ));
            }
            Ok(Some(c.get_ref().clone()))
        }
    }
}

/// `[services.NAME.statefulSet]` onto the StatefulSet services: the spec,
/// and a claim volume per template (as the controller adds them to each
/// pod's spec).
pub(super) fn apply_stateful(
    raw: &super::schema::ScenarioFile,
    specs: &mut [ServiceSpec],
    storage: &Storage,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    use crate::model::{Controller, Volume, VolumeSource};
    use crate::stateful::{ClaimTemplate, PodManagement, Retention, StatefulSetSpec};
    for spec in specs.iter_mut() {
        let Some(file) = raw.services.get(&spec.name) else {
            continue;
        };
        let path = format!("services.{}", spec.name);
        let table = file.stateful_set.as_ref();
        if spec.controller != Controller::StatefulSet {
            if let Some(t) = table {
                return Err(ctx.err(
                    t.span(),
                    format!("{path}.statefulSet"),
                    "needs controller = \"StatefulSet\"",
                ));
            }
            continue;
        }
        let mut set = StatefulSetSpec::default();
        if let Some(t) = table {
            let f = t.get_ref();
            set.pod_management = match f.pod_management_policy {
                Some(PodManagementFile::Parallel) => PodManagement::Parallel,
                _ => PodManagement::OrderedReady,
            };
            let retention = |r: Option<ReclaimFile>| match r {
                Some(ReclaimFile::Delete) => Retention::Delete,
                _ => Retention::Retain,
            };
            if let Some(r) = &f.persistent_volume_claim_retention_policy {
                set.when_scaled = retention(r.when_scaled);
                set.when_deleted = retention(r.when_deleted);
            }
            for (k, c) in f.volume_claim_templates.iter().enumerate() {
                let at = format!("{path}.statefulSet.volumeClaimTemplates[{k}]");
                let c = c.get_ref();
                let n = name(&c.name, &at, ctx)?;
                if spec.volumes.iter().any(|v| v.name == n)
                    || set.claim_templates.iter().any(|t| t.name == n)
                {
                    return Err(ctx.err(
                        c.name.span(),
                        format!("{at}.name"),
                        format!(
                            "'{n}': Duplicate value (a pod volume or template of that name exists)"
                        ),
                    ));
                }
                set.claim_templates.push(ClaimTemplate {
                    name: n,
                    class: claim_class(c.storage_class_name.as_ref(), storage, &at, ctx)?,
                    request: c.storage.get_ref().0,
                    access_modes: modes(&c.access_modes, &at, ctx)?,
                });
            }
        }
        for t in &set.claim_templates {
            spec.volumes.push(Volume {
                name: t.name.clone(),
                source: VolumeSource::ClaimTemplate {
                    template: t.name.clone(),
                },
            });
        }
        spec.stateful = Some(Box::new(set));
    }
    Ok(())
}

/// Checks each service's claim volumes against the claims in its namespace.
pub(super) fn check_services(
    specs: &[ServiceSpec],
    storage: &Storage,
    raw: &super::schema::ScenarioFile,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    for spec in specs {
        for (k, v) in spec.volumes.iter().enumerate() {
            let Some(claim) = v.claim_name() else {
                continue;
            };
            if storage.claim_named(&spec.meta.namespace, claim).is_none() {
                let span = super::fields::key_span(ctx.text, "services", &spec.name);
                let _ = raw;
                return Err(ctx.err(
                    span,
                    format!("services.{}.volumes[{k}].persistentVolumeClaim.claimName", spec.name),
                    format!(
                        "'{claim}': no [[persistentVolumeClaims]] entry of that name in namespace '{}'",
                        spec.meta.namespace
                    ),
                ));
            }
        }
    }
    Ok(())
}
