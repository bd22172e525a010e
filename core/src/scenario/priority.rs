//! `[[priorityClasses]]`, and `priorityClassName`/`preemptionPolicy` on
//! services and job sets.
//!
//! Key decision: classes resolve into each pod's integer priority and
//! preemption policy at load time, as the `Priority` admission plugin
//! (`plugin/pkg/admission/priority/admission.go`) writes them into the pod
//! spec, validated as `pkg/apis/scheduling/validation` validates a class
//! (value at most 1000000000, no `system-` names, one `globalDefault`).
//! The project's `priority` integer stays what it was — the pod's
//! priority given directly — so scenarios without classes resolve exactly
//! as before; next to a `priorityClassName` it must equal the class's value
//! (admission rejects a pod spec whose priority differs from its class's).
//! A pod naming no class gets the `globalDefault` class, else priority 0.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::fields::key_span;
use super::schema::{JobsFile, ServiceFile};
use super::{Ctx, InputError};
use crate::jobs::JobSet;
use crate::model::ServiceSpec;
use crate::priority::{
    HIGHEST_USER_DEFINABLE_PRIORITY, PreemptionPolicy, PriorityClass, SYSTEM_PRIORITY_CLASS_PREFIX,
    system_priority_classes,
};

/// One `[[priorityClasses]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PriorityClassFile {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `value`.
    pub value: Spanned<i32>,
    /// `globalDefault` (default false).
    #[serde(default)]
    pub global_default: bool,
    /// `preemptionPolicy` (default `PreemptLowerPriority`).
    pub preemption_policy: Option<PreemptionPolicyFile>,
    /// `description`.
    #[serde(default)]
    pub description: String,
}

/// `preemptionPolicy = "PreemptLowerPriority" | "Never"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum PreemptionPolicyFile {
    /// May preempt lower-priority pods.
    PreemptLowerPriority,
    /// Never preempts.
    Never,
}

fn policy(p: PreemptionPolicyFile) -> PreemptionPolicy {
    match p {
        PreemptionPolicyFile::PreemptLowerPriority => PreemptionPolicy::PreemptLowerPriority,
        PreemptionPolicyFile::Never => PreemptionPolicy::Never,
    }
}

/// The scenario's classes, in file order, validated.
pub(super) fn classes(
    list: &[Spanned<PriorityClassFile>],
    ctx: &Ctx<'_>,
) -> Result<Vec<PriorityClass>, InputError> {
    let mut out: Vec<PriorityClass> = Vec::with_capacity(list.len());
    let mut default: Option<String> = None;
    for (i, c) in list.iter().enumerate() {
        let (span, c) = (c.span(), c.get_ref());
        let at = format!("priorityClasses[{i}]");
        let name = c.name.get_ref();
        if name.is_empty() {
            return Err(ctx.err(c.name.span(), format!("{at}.name"), "must not be empty"));
        }
        if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
            return Err(ctx.err(
                c.name.span(),
                format!("{at}.name"),
                format!(
                    "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only"
                ),
            ));
        }
        if out.iter().any(|o| &o.name == name) {
            return Err(ctx.err(
                c.name.span(),
                format!("{at}.name"),
                format!("a second priority class named '{name}'"),
            ));
        }
        let value = *c.value.get_ref();
        if value > HIGHEST_USER_DEFINABLE_PRIORITY {
            return Err(ctx.err(
                c.value.span(),
                format!("{at}.value"),
                format!(
                    "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
                ),
            ));
        }
        if c.global_default {
            if let Some(first) = &default {
                return Err(ctx.err(
                    span,
                    format!("{at}.globalDefault"),
                    format!(
                        "PriorityClass {first} is already marked as default. Only one default can exist"
                    ),
                ));
            }
            default = Some(name.clone());
        }
        out.push(PriorityClass {
            name: name.clone(),
            value,
            global_default: c.global_default,
            preemption_policy: c.preemption_policy.map(policy).unwrap_or_default(),
            description: c.description.clone(),
        });
    }
    Ok(out)
}

/// The class called `name`: the scenario's, or a system class.
fn find(classes: &[PriorityClass], name: &str) -> Option<PriorityClass> {
    classes
        .iter()
        .cloned()
        .chain(system_priority_classes())
        .find(|c| c.name == name)
}

fn unknown(classes: &[PriorityClass], name: &str) -> String {
    let mut names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
    names.extend(system_priority_classes().map(|c| c.name));
    format!(
        "no PriorityClass with name {name} was found; known: {}",
        names.join(", ")
    )
}

/// A pod's priority and policy from its `priorityClassName`, `priority`
/// and `preemptionPolicy`, as the admission plugin computes them.
struct Pod<'a> {
    class: Option<&'a Spanned<String>>,
    priority: Option<i32>,
    policy: Option<&'a Spanned<PreemptionPolicyFile>>,
}

fn admit(
    pod: &Pod<'_>,
    classes: &[PriorityClass],
    path: &str,
    fallback: std::ops::Range<usize>,
    ctx: &Ctx<'_>,
) -> Result<Option<(i32, PreemptionPolicy)>, InputError> {
    let class = match pod.class {
        Some(n) => Some(find(classes, n.get_ref()).ok_or_else(|| {
            ctx.err(
                n.span(),
                format!("{path}.priorityClassName"),
                unknown(classes, n.get_ref()),
            )
        })?),
        None if pod.priority.is_some() => None,
        None => classes.iter().find(|c| c.global_default).cloned(),
    };
    let Some(class) = class else {
        // No class: the pod's own priority (or 0) and policy, as before classes existed.
        return Ok(pod
            .policy
            .map(|p| (pod.priority.unwrap_or(0), policy(*p.get_ref()))));
    };
    if let Some(p) = pod.priority
        && p != class.value
    {
        let span = pod.class.map_or(fallback.clone(), |c| c.span());
        return Err(ctx.err(
            span,
            format!("{path}.priority"),
            format!(
                "the integer value of priority ({p}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                class.value
            ),
        ));
    }
    if let Some(p) = pod.policy
        && policy(*p.get_ref()) != class.preemption_policy
    {
        return Err(ctx.err(
            p.span(),
            format!("{path}.preemptionPolicy"),
            format!(
                "the string value of PreemptionPolicy ({}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                policy(*p.get_ref()).as_str(),
                class.preemption_policy.as_str()
            ),
        ));
    }
    Ok(Some((class.value, class.preemption_policy)))
}

/// Applies classes to the resolved services (`specs` in name order, as
/// `services`), and `namespace`/`labels` to their pod templates.
pub(super) fn apply_services(
    services: &BTreeMap<String, ServiceFile>,
    specs: &mut [ServiceSpec],
    classes: &[PriorityClass],
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    for ((name, s), spec) in services.iter().zip(specs.iter_mut()) {
        let path = format!("services.{name}");
        let pod = Pod {
            class: s.priority_class_name.as_ref(),
            priority: s.priority,
            policy: s.preemption_policy.as_ref(),
        };
        let span = key_span(ctx.text, "services", name);
        if let Some((priority, policy)) = admit(&pod, classes, &path, span, ctx)? {
            spec.placement.priority = priority;
            spec.placement.preemption_policy = policy;
        }
    }
    Ok(())
}

/// Applies classes to the shapes of each job set (`sets` in name order, as
/// `jobs`): a set that names a class gives it to every one of its pods.
pub(super) fn apply_jobs(
    jobs: &BTreeMap<String, Spanned<JobsFile>>,
    sets: &[JobSet],
    specs: &mut [ServiceSpec],
    classes: &[PriorityClass],
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    for ((name, j), set) in jobs.iter().zip(sets) {
        let path = format!("jobs.{name}");
        let j = j.get_ref();
        let arrival_priority = j.arrivals.iter().flatten().find_map(|a| a.priority);
        let pod = Pod {
            class: j.priority_class_name.as_ref(),
            priority: j.priority.or(arrival_priority),
            policy: None,
        };
        if pod.class.is_none() && pod.priority.is_some() {
            continue; // priorities given directly, as before classes existed
        }
        let span = key_span(ctx.text, "jobs", name);
        if let Some((priority, policy)) = admit(&pod, classes, &path, span, ctx)? {
            for &s in &set.shapes {
                let c = &mut specs[s.0 as usize].placement;
                c.priority = priority;
                c.preemption_policy = policy;
            }
        }
    }
    Ok(())
}
