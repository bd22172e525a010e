//! `[[podDisruptionBudgets]]`, and the pod template's `namespace` and
//! `labels` on services that budgets select.
//!
//! Key decision: a budget is written as a `policy/v1` manifest's fields
//! (`name`, `namespace`, `selector` with `matchLabels`/`matchExpressions`,
//! exactly one of `minAvailable`/`maxUnavailable` as an integer or
//! `"N%"`), validated as `pkg/apis/policy/validation` does, and resolved
//! into [`PodDisruptionBudget`]; its status is computed where a
//! disruption asks ([`PodDisruptionBudget::status_in`]).

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use super::schema::LabelSelectorFile;
use super::selectors::label_selector;
use super::{Ctx, InputError};
use crate::disruption::{DisruptionRule, IntOrPercent, PodDisruptionBudget};

/// One `[[podDisruptionBudgets]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodDisruptionBudgetFile {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `metadata.namespace` (default `default`).
    pub namespace: Option<String>,
    /// `spec.selector` (absent: selects no pods, as a nil selector).
    pub selector: Option<Spanned<LabelSelectorFile>>,
    /// `spec.minAvailable`.
    pub min_available: Option<Spanned<IntOrStringFile>>,
    /// `spec.maxUnavailable`.
    pub max_unavailable: Option<Spanned<IntOrStringFile>>,
}

/// `intstr.IntOrString`: `2` or `"50%"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum IntOrStringFile {
    /// A count.
    Int(i64),
    /// A percentage.
    Str(String),
}

fn int_or_percent(
    v: &Spanned<IntOrStringFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<IntOrPercent, InputError> {
    let bad = |m: String| ctx.err(v.span(), at.to_string(), m);
    match v.get_ref() {
        IntOrStringFile::Int(n) if *n < 0 => Err(bad("must be greater than or equal to 0".into())),
        IntOrStringFile::Int(n) if *n > i64::from(i32::MAX) => {
            Err(bad(format!("must be at most {}", i32::MAX)))
        }
        IntOrStringFile::Int(n) => Ok(IntOrPercent::Int(*n as u32)),
        IntOrStringFile::Str(s) => {
            let p = s
                .strip_suffix('%')
                .and_then(|d| d.parse::<u32>().ok())
                .ok_or_else(|| {
                    bad(format!(
                        "'{s}': a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')"
                    ))
                })?;
            if p > 100 {
                return Err(bad("must not be greater than 100%".into()));
            }
            Ok(IntOrPercent::Percent(p))
        }
    }
}

/// The scenario's budgets, in file order.
pub(super) fn budgets(
    list: &[Spanned<PodDisruptionBudgetFile>],
    ctx: &Ctx<'_>,
) -> Result<Vec<PodDisruptionBudget>, InputError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, b) in list.iter().enumerate() {
        let (span, b) = (b.span(), b.get_ref());
        let at = format!("podDisruptionBudgets[{i}]");
        let name = b.name.get_ref();
        if name.is_empty() {
            return Err(ctx.err(b.name.span(), format!("{at}.name"), "must not be empty"));
        }
        let namespace = b.namespace.clone().unwrap_or_else(|| "default".to_string());
        if !seen.insert((namespace.clone(), name.clone())) {
            return Err(ctx.err(
                b.name.span(),
                format!("{at}.name"),
                format!("a second budget named '{name}' in namespace '{namespace}'"),
            ));
        }
        let rule = match (&b.min_available, &b.max_unavailable) {
            (Some(v), None) => {
                DisruptionRule::MinAvailable(int_or_percent(v, &format!("{at}.minAvailable"), ctx)?)
            }
            (None, Some(v)) => DisruptionRule::MaxUnavailable(int_or_percent(
                v,
                &format!("{at}.maxUnavailable"),
                ctx,
            )?),
            _ => {
                return Err(ctx.err(
                    span,
                    at,
                    "give exactly one of 'minAvailable' or 'maxUnavailable' (minAvailable and maxUnavailable cannot be both set)",
                ));
            }
        };
        let selector = match &b.selector {
            Some(s) => Some(label_selector(s, &format!("{at}.selector"), ctx)?),
            None => None,
        };
        out.push(PodDisruptionBudget {
            name: name.clone(),
            namespace,
            selector,
            rule,
        });
    }
    Ok(out)
}
