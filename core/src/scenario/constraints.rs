//! Scheduling constraints in scenario files: `taints` on pools;
//! `nodeSelector`, `tolerations`, `affinity`, `topologySpreadConstraints`
//! and `priority` on services.
//!
//! Key decision: the fields carry Kubernetes' names and Kubernetes' API
//! validation rules (the ones `kubectl apply` would reject a pod spec for),
//! so a user can paste them from a manifest, and anything Kubernetes would
//! refuse is one located error here rather than a silently odd schedule.

use std::collections::BTreeSet;
use std::ops::Range;

use toml::Spanned;

use super::fields::check_dns_label;
use super::schema::{
    AffinityFile, EffectFile, MetadataFile, NodeInclusionPolicyFile, PodAffinityFile,
    PodAffinityTermFile, PodAntiAffinityFile, RequirementFile, SelectorOpFile, ServiceFile,
    SpreadFile, TaintFile, TolerationFile, TolerationOpFile, WhenUnsatisfiableFile,
};
use super::selectors::{check_label_key, check_label_value, label_selector};
use super::{Ctx, InputError};
use crate::labels::LabelSelector;
use crate::model::{
    AntiAffinity, Constraints, NodeInclusionPolicy, PodAffinity, PodAffinityTerm, PodMeta,
    PodSelector, PodSet, SelectorOp, SelectorRequirement, SelectorTerm, ServiceSpec,
    SpreadConstraint, Taint, TaintEffect, Toleration, WhenUnsatisfiable,
};

fn effect(e: EffectFile) -> TaintEffect {
    match e {
        EffectFile::NoSchedule => TaintEffect::NoSchedule,
        EffectFile::PreferNoSchedule => TaintEffect::PreferNoSchedule,
        EffectFile::NoExecute => TaintEffect::NoExecute,
    }
}

/// A pool's `taints` (`path` is `pools.NAME.taints`): keys non-empty, unique
/// by key and effect (Kubernetes' node validation).
pub(crate) fn taints(
    list: &[Spanned<TaintFile>],
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<Taint>, InputError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let (span, at) = (t.span(), format!("{path}[{i}]"));
        let t = t.get_ref();
        if t.key.is_empty() {
            return Err(ctx.err(span, format!("{at}.key"), "must not be empty"));
        }
        let taint = Taint {
            key: t.key.clone(),
            value: t.value.clone(),
            effect: effect(t.effect),
        };
        if !seen.insert((taint.key.clone(), taint.effect)) {
            return Err(ctx.err(
                span,
                at,
                format!(
                    "a second taint with key '{}' and effect {}: taints must be unique by key and effect",
                    taint.key,
                    taint.effect.as_str()
                ),
            ));
        }
        out.push(taint);
    }
    Ok(out)
}

/// A service's scheduling fields (`path` is `services.NAME`).
pub(crate) fn constraints(
    s: &ServiceFile,
    path: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
) -> Result<Constraints, InputError> {
    let mut c = Constraints {
        priority: s.priority.unwrap_or(0),
        ..Default::default()
    };
    if let Some(sel) = &s.node_selector {
        if sel.get_ref().keys().any(|k| k.is_empty()) {
            return Err(ctx.err(
                sel.span(),
                format!("{path}.nodeSelector"),
                "label keys must not be empty",
            ));
        }
        c.node_selector = sel.get_ref().clone();
    }
    for (i, t) in s.tolerations.iter().enumerate() {
        c.tolerations.push(toleration(
            t.get_ref(),
            t.span(),
            &format!("{path}.tolerations[{i}]"),
            ctx,
        )?);
    }
    if let Some(a) = &s.affinity {
        affinity(a, &format!("{path}.affinity"), meta, ctx, &mut c)?;
    }
    let mut seen = BTreeSet::new();
    for (i, sp) in s.topology_spread_constraints.iter().enumerate() {
        let at = format!("{path}.topologySpreadConstraints[{i}]");
        let k = spread(sp.get_ref(), sp.span(), &at, meta, ctx)?;
        if !seen.insert((
            k.topology_key.clone(),
            k.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule,
        )) {
            return Err(ctx.err(
                sp.span(),
                at,
                format!(
                    "a second constraint with topologyKey '{}' and the same whenUnsatisfiable: each pair may appear once",
                    k.topology_key
                ),
            ));
        }
        c.spread.push(k);
    }
    Ok(c)
}

/// Kubernetes' toleration rules: an empty key needs `Exists`; `Exists` takes no value.
fn toleration(
    t: &TolerationFile,
    span: Range<usize>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<Toleration, InputError> {
    let exists = t.operator == Some(TolerationOpFile::Exists);
    if t.key.is_empty() && !exists {
        return Err(ctx.err(
            span,
            format!("{at}.operator"),
            "must be \"Exists\" when key is empty (an empty key with Exists tolerates every taint)",
        ));
    }
    if exists && !t.value.is_empty() {
        return Err(ctx.err(
            span,
            format!("{at}.value"),
            "must be empty when operator is \"Exists\"",
        ));
    }
    Ok(Toleration {
        key: t.key.clone(),
        exists,
        value: t.value.clone(),
        effect: t.effect.map(effect),
    })
}

fn affinity(
    a: &AffinityFile,
    at: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
    c: &mut Constraints,
) -> Result<(), InputError> {
    let mut terms = Vec::new();
    for (f, anti, name) in [
        (&a.pod_affinity, false, "podAffinity"),
        (&a.pod_anti_affinity_terms, true, "podAntiAffinityTerms"),
    ] {
        if let Some(f) = f {
            pod_terms(f, anti, &format!("{at}.{name}"), meta, ctx, &mut terms)?;
        }
    }
    if !terms.is_empty() {
        c.pod_affinity = Some(Box::new(PodAffinity {
            terms,
            existing: Vec::new(),
        }));
    }
    if let Some(na) = &a.node_affinity {
        for (i, t) in na.required.iter().enumerate() {
            let p = format!("{at}.nodeAffinity.required[{i}]");
            c.required_terms
                .push(term(&t.get_ref().match_expressions, t.span(), &p, ctx)?);
        }
        for (i, t) in na.preferred.iter().enumerate() {
            let p = format!("{at}.nodeAffinity.preferred[{i}]");
            let w = weight(&t.get_ref().weight, &format!("{p}.weight"), ctx)?;
            c.preferred_terms
                .push((w, term(&t.get_ref().match_expressions, t.span(), &p, ctx)?));
        }
    }
    if let Some(pa) = &a.pod_anti_affinity {
        c.anti_affinity = Some(anti_affinity(
            pa.get_ref(),
            pa.span(),
            &format!("{at}.podAntiAffinity"),
            ctx,
        )?);
    }
    Ok(())
}

/// A weight in 1..=100 (preferred node affinity and pod anti-affinity terms).
fn weight(w: &Spanned<i32>, at: &str, ctx: &Ctx<'_>) -> Result<i32, InputError> {
    let v = *w.get_ref();
    if (1..=100).contains(&v) {
        Ok(v)
    } else {
        Err(ctx.err(w.span(), at, format!("must be between 1 and 100 (got {v})")))
    }
}

pub(super) fn term(
    exprs: &[Spanned<RequirementFile>],
    span: Range<usize>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<SelectorTerm, InputError> {
    if exprs.is_empty() {
        return Err(ctx.err(
            span,
            format!("{at}.matchExpressions"),
            "must not be empty (an empty term matches no node)",
        ));
    }
    let requirements = exprs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            requirement(
                r.get_ref(),
                r.span(),
                &format!("{at}.matchExpressions[{i}]"),
                ctx,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(SelectorTerm { requirements })
}

/// Kubernetes' `NodeSelectorRequirement` rules: In/NotIn need values,
/// Exists/DoesNotExist take none, Gt/Lt take exactly one integer.
fn requirement(
    r: &RequirementFile,
    span: Range<usize>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<SelectorRequirement, InputError> {
    if r.key.is_empty() {
        return Err(ctx.err(span, format!("{at}.key"), "must not be empty"));
    }
    let (values, vspan) = match &r.values {
        Some(v) => (v.get_ref().clone(), v.span()),
        None => (Vec::new(), span.clone()),
    };
    let vat = format!("{at}.values");
    let op = match r.operator {
        SelectorOpFile::In => SelectorOp::In,
        SelectorOpFile::NotIn => SelectorOp::NotIn,
        SelectorOpFile::Exists => SelectorOp::Exists,
        SelectorOpFile::DoesNotExist => SelectorOp::DoesNotExist,
        SelectorOpFile::Gt => SelectorOp::Gt,
        SelectorOpFile::Lt => SelectorOp::Lt,
    };
    let name = format!("{:?}", r.operator);
    match op {
        SelectorOp::In | SelectorOp::NotIn if values.is_empty() => {
            return Err(ctx.err(
                vspan,
                vat,
                format!("operator {name} needs at least one value"),
            ));
        }
        SelectorOp::Exists | SelectorOp::DoesNotExist if !values.is_empty() => {
            return Err(ctx.err(vspan, vat, format!("must be empty for operator {name}")));
        }
        SelectorOp::Gt | SelectorOp::Lt => {
            if values.len() != 1 {
                return Err(ctx.err(
                    vspan,
                    vat,
                    format!(
                        "operator {name} needs exactly one integer value (got {})",
                        values.len()
                    ),
                ));
            }
            if values[0].parse::<i64>().is_err() {
                return Err(ctx.err(
                    vspan,
                    vat,
                    format!(
                        "operator {name} needs an integer value, not '{}'",
                        values[0]
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(SelectorRequirement {
        key: r.key.clone(),
        op,
        values,
    })
}

fn anti_affinity(
    a: &PodAntiAffinityFile,
    span: Range<usize>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<AntiAffinity, InputError> {
    if a.topology_key.is_empty() {
        return Err(ctx.err(span, format!("{at}.topologyKey"), "must not be empty"));
    }
    let weight = match (&a.weight, a.required) {
        (Some(w), true) => {
            return Err(ctx.err(
                w.span(),
                format!("{at}.weight"),
                "applies only to the preferred form (required = false); a required rule has no weight",
            ));
        }
        (Some(w), false) => weight(w, &format!("{at}.weight"), ctx)?,
        (None, true) => 0,
        (None, false) => {
            return Err(ctx.err(
                span,
                at,
                "the preferred form (required = false, the default) needs 'weight' between 1 and 100; write required = true for a hard rule",
            ));
        }
    };
    Ok(AntiAffinity {
        topology_key: a.topology_key.clone(),
        required: a.required,
        weight,
    })
}

/// Kubernetes' topology spread rules: `maxSkew` ≥ 1; `minDomains` ≥ 1 and
/// only with `DoNotSchedule`.
fn spread(
    s: &SpreadFile,
    span: Range<usize>,
    at: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
) -> Result<SpreadConstraint, InputError> {
    if *s.max_skew.get_ref() == 0 {
        return Err(ctx.err(
            s.max_skew.span(),
            format!("{at}.maxSkew"),
            "must be at least 1",
        ));
    }
    if s.topology_key.is_empty() {
        return Err(ctx.err(span, format!("{at}.topologyKey"), "must not be empty"));
    }
    let when = match s.when_unsatisfiable {
        WhenUnsatisfiableFile::DoNotSchedule => WhenUnsatisfiable::DoNotSchedule,
        WhenUnsatisfiableFile::ScheduleAnyway => WhenUnsatisfiable::ScheduleAnyway,
    };
    if let Some(m) = &s.min_domains {
        if when == WhenUnsatisfiable::ScheduleAnyway {
            return Err(ctx.err(
                m.span(),
                format!("{at}.minDomains"),
                "applies only to whenUnsatisfiable = \"DoNotSchedule\"",
            ));
        }
        if *m.get_ref() == 0 {
            return Err(ctx.err(m.span(), format!("{at}.minDomains"), "must be at least 1"));
        }
    }
    let selector = spread_selector(s, span, at, meta, ctx)?;
    let policy = |p: Option<NodeInclusionPolicyFile>, default| match p {
        Some(NodeInclusionPolicyFile::Honor) => NodeInclusionPolicy::Honor,
        Some(NodeInclusionPolicyFile::Ignore) => NodeInclusionPolicy::Ignore,
        None => default,
    };
    Ok(SpreadConstraint {
        max_skew: *s.max_skew.get_ref(),
        topology_key: s.topology_key.clone(),
        when_unsatisfiable: when,
        min_domains: s.min_domains.as_ref().map(|m| *m.get_ref()),
        selector,
        match_label_keys: s.match_label_keys.clone(),
        node_affinity_policy: policy(s.node_affinity_policy, NodeInclusionPolicy::Honor),
        node_taints_policy: policy(s.node_taints_policy, NodeInclusionPolicy::Ignore),
    })
}

/// A spread constraint's `labelSelector` merged with `matchLabelKeys`
/// (`filterTopologySpreadConstraints`: the replica's own values for the
/// keys it has), looking in the service's own namespace; without a
/// `labelSelector`, the service's own replicas. Upstream's validation
/// (`validateMatchLabelKeysInTopologySpread`): keys valid and unique, not
/// also in the selector, and only beside a `labelSelector`.
fn spread_selector(
    s: &SpreadFile,
    span: Range<usize>,
    at: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
) -> Result<PodSelector, InputError> {
    let kat = format!("{at}.matchLabelKeys");
    let Some(ls) = &s.label_selector else {
        if !s.match_label_keys.is_empty() {
            return Err(ctx.err(
                span,
                kat,
                "must not be specified when labelSelector is not set",
            ));
        }
        return Ok(PodSelector::Own);
    };
    let mut selector = label_selector(ls, &format!("{at}.labelSelector"), ctx)?;
    let mut seen = BTreeSet::new();
    for k in &s.match_label_keys {
        check_label_key(k).map_err(|m| ctx.err(span.clone(), kat.clone(), m))?;
        if !seen.insert(k) {
            return Err(ctx.err(span.clone(), kat, format!("duplicate key '{k}'")));
        }
        if selector.match_labels.contains_key(k)
            || selector.match_expressions.iter().any(|r| r.key == *k)
        {
            return Err(ctx.err(
                span.clone(),
                kat,
                format!("'{k}' exists in both matchLabelKeys and labelSelector"),
            ));
        }
    }
    selector =
        crate::sched::spread::with_match_label_keys(selector, &s.match_label_keys, &meta.labels);
    Ok(PodSelector::Pods(Box::new(PodSet {
        selector: Some(selector),
        namespaces: vec![meta.namespace.clone()],
        ..Default::default()
    })))
}

/// `podAffinity` / `podAntiAffinityTerms`: required terms without weight,
/// preferred terms with a weight in 1..=100, each a valid `PodAffinityTerm`.
fn pod_terms(
    f: &PodAffinityFile,
    anti: bool,
    at: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
    out: &mut Vec<PodAffinityTerm>,
) -> Result<(), InputError> {
    for (list, required, name) in [
        (&f.required, true, "required"),
        (&f.preferred, false, "preferred"),
    ] {
        for (i, t) in list.iter().enumerate() {
            let p = format!("{at}.{name}[{i}]");
            out.push(pod_term(
                t.get_ref(),
                t.span(),
                &p,
                anti,
                required,
                meta,
                ctx,
            )?);
        }
    }
    Ok(())
}

fn pod_term(
    t: &PodAffinityTermFile,
    span: Range<usize>,
    at: &str,
    anti: bool,
    required: bool,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
) -> Result<PodAffinityTerm, InputError> {
    check_label_key(&t.topology_key)
        .map_err(|m| ctx.err(span.clone(), format!("{at}.topologyKey"), m))?;
    let weight = match (&t.weight, required) {
        (Some(w), true) => {
            return Err(ctx.err(
                w.span(),
                format!("{at}.weight"),
                "applies only to preferred terms",
            ));
        }
        (Some(w), false) => weight(w, &format!("{at}.weight"), ctx)?,
        (None, true) => 0,
        (None, false) => {
            return Err(ctx.err(
                span,
                format!("{at}.weight"),
                "a preferred term needs a weight between 1 and 100",
            ));
        }
    };
    let mut selector = match &t.label_selector {
        Some(ls) => Some(label_selector(ls, &format!("{at}.labelSelector"), ctx)?),
        None => None,
    };
    selector = label_keys_merged(t, selector, span.clone(), at, meta, ctx)?;
    for n in &t.namespaces {
        check_dns_label(n).map_err(|m| ctx.err(span.clone(), format!("{at}.namespaces"), m))?;
    }
    let namespace_selector = match &t.namespace_selector {
        None => None,
        Some(ns) => Some(label_selector(ns, &format!("{at}.namespaceSelector"), ctx)?),
    };
    let all_namespaces = namespace_selector.as_ref().is_some_and(|s| s.is_empty());
    // GetNamespacesFromPodAffinityTerm: no namespaces and a nil namespaceSelector → the pod's own.
    let namespaces = if t.namespaces.is_empty() && namespace_selector.is_none() {
        vec![meta.namespace.clone()]
    } else {
        t.namespaces.clone()
    };
    let namespace_selector = namespace_selector.filter(|s| !s.is_empty());
    Ok(PodAffinityTerm {
        pods: PodSet {
            selector,
            namespaces,
            all_namespaces,
            namespace_selector,
            ..Default::default()
        },
        topology_key: t.topology_key.clone(),
        anti,
        required,
        weight,
    })
}

/// A term's `matchLabelKeys` and `mismatchLabelKeys`, validated as
/// `validateMatchLabelKeysAndMismatchLabelKeys` does
/// (`pkg/apis/core/validation/validation.go`) and merged into its selector
/// as the pod strategy's `applyMatchLabelKeysAndMismatchLabelKeys` does at
/// creation (`pkg/registry/core/pod/strategy.go`, kubernetes/kubernetes
/// v1.33): `key In (value)` / `key NotIn (value)` for each key the pod's
/// labels have, nothing for a key they lack, nothing at all for a nil
/// selector (which is an error when keys are given).
fn label_keys_merged(
    t: &PodAffinityTermFile,
    selector: Option<LabelSelector>,
    span: Range<usize>,
    at: &str,
    meta: &PodMeta,
    ctx: &Ctx<'_>,
) -> Result<Option<LabelSelector>, InputError> {
    let (keys, mis) = (&t.match_label_keys, &t.mismatch_label_keys);
    if keys.is_empty() && mis.is_empty() {
        return Ok(selector);
    }
    let Some(mut selector) = selector else {
        let field = if keys.is_empty() {
            "mismatchLabelKeys"
        } else {
            "matchLabelKeys"
        };
        return Err(ctx.err(
            span,
            format!("{at}.{field}"),
            "must not be specified when labelSelector is not set",
        ));
    };
    for (list, field) in [(keys, "matchLabelKeys"), (mis, "mismatchLabelKeys")] {
        for (i, k) in list.iter().enumerate() {
            check_label_key(k)
                .map_err(|m| ctx.err(span.clone(), format!("{at}.{field}[{i}]"), m))?;
        }
    }
    for (i, k) in keys.iter().enumerate() {
        if selector.match_labels.contains_key(k)
            || selector.match_expressions.iter().any(|r| r.key == *k)
        {
            return Err(ctx.err(
                span,
                format!("{at}.matchLabelKeys[{i}]"),
                format!("'{k}' exists in both matchLabelKeys and labelSelector"),
            ));
        }
        if mis.contains(k) {
            return Err(ctx.err(
                span,
                format!("{at}.matchLabelKeys[{i}]"),
                format!("'{k}' exists in both matchLabelKeys and mismatchLabelKeys"),
            ));
        }
    }
    for (list, op) in [(keys, SelectorOp::In), (mis, SelectorOp::NotIn)] {
        for k in list {
            if let Some(v) = meta.labels.get(k) {
                selector.match_expressions.push(SelectorRequirement {
                    key: k.clone(),
                    op,
                    values: vec![v.clone()],
                });
            }
        }
    }
    Ok(Some(selector))
}

/// `[services.NAME.metadata]` (`path` is `services.NAME`): a DNS-label
/// namespace (default `default`), valid label keys and values (default
/// `app = NAME`, so an unlabelled service's pods are told apart), valid
/// annotation keys.
pub(crate) fn metadata(
    m: Option<&Spanned<MetadataFile>>,
    name: &str,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<PodMeta, InputError> {
    let mut meta = PodMeta::default();
    let default_labels = || {
        [("app".to_string(), name.to_string())]
            .into_iter()
            .collect()
    };
    let Some(m) = m else {
        meta.labels = default_labels();
        return Ok(meta);
    };
    let at = format!("{path}.metadata");
    let f = m.get_ref();
    if let Some(ns) = &f.namespace {
        check_dns_label(ns.get_ref())
            .map_err(|e| ctx.err(ns.span(), format!("{at}.namespace"), e))?;
        meta.namespace = ns.get_ref().clone();
    }
    match &f.labels {
        Some(l) => {
            for (k, v) in l.get_ref() {
                let p = format!("{at}.labels.{k}");
                check_label_key(k).map_err(|e| ctx.err(l.span(), p.clone(), e))?;
                check_label_value(v).map_err(|e| ctx.err(l.span(), p, e))?;
            }
            meta.labels = l.get_ref().clone();
        }
        None => meta.labels = default_labels(),
    }
    if let Some(a) = &f.annotations {
        for k in a.get_ref().keys() {
            check_label_key(k)
                .map_err(|e| ctx.err(a.span(), format!("{at}.annotations.{k}"), e))?;
        }
        meta.annotations = a.get_ref().clone();
    }
    Ok(meta)
}

/// `[namespaces.NAME]`: valid DNS-label names and label keys and values;
/// `kubernetes.io/metadata.name`, if given, must be the name (the API
/// server sets it so). The result holds every declared namespace's labels
/// with that label set.
pub(crate) fn namespaces(
    list: &std::collections::BTreeMap<String, Spanned<super::schema::NamespaceFile>>,
    ctx: &Ctx<'_>,
) -> Result<std::collections::BTreeMap<String, crate::labels::Labels>, InputError> {
    let mut out = std::collections::BTreeMap::new();
    for (name, f) in list {
        let at = format!("namespaces.{name}");
        check_dns_label(name).map_err(|m| ctx.err(f.span(), at.clone(), m))?;
        for (k, v) in &f.get_ref().labels {
            let p = format!("{at}.labels.{k}");
            check_label_key(k).map_err(|e| ctx.err(f.span(), p.clone(), e))?;
            check_label_value(v).map_err(|e| ctx.err(f.span(), p.clone(), e))?;
            if k == crate::model::LABEL_NAMESPACE_NAME && v != name {
                return Err(ctx.err(
                    f.span(),
                    p,
                    format!("is always the namespace's name '{name}' (the API server sets it)"),
                ));
            }
        }
        let labels = crate::model::namespace_labels(name, Some(&f.get_ref().labels));
        out.insert(name.clone(), labels);
    }
    Ok(out)
}

/// Settles every explicit selector once all services (and job shapes) and
/// the declared namespaces are known.
pub(crate) fn resolve_selectors(
    specs: &mut [ServiceSpec],
    namespaces: &std::collections::BTreeMap<String, crate::labels::Labels>,
) {
    crate::model::resolve_pod_selectors_in(specs, namespaces);
}
