//! Duration distributions as written (`{ dist = "lognormal", mean, p99 }`,
//! or a plain duration where one is allowed) → [`DurationDist`].
//!
//! Key decision: each family names the parameters it takes, checked with
//! [`check_fields`] before anything is built, so a parameter of another
//! family is an error naming it rather than silently ignored; `empirical`
//! samples are read through [`Files`] and hashed like every other input.

use std::ops::Range;

use toml::Spanned;

use super::fields::check_fields;
use super::schema::{DistFile, DistKind, DistOrDuration};
use super::{Ctx, Files, InputError, traces};
use crate::dist::DurationDist;
use crate::time::SimDuration;

/// A duration or a distribution table.
pub(super) fn dist_or_duration(
    d: &Spanned<DistOrDuration>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<DurationDist, InputError> {
    match d.get_ref() {
        DistOrDuration::Fixed(x) => Ok(DurationDist::constant(*x)),
        DistOrDuration::Dist(x) => build_dist(x, d.span(), path, ctx, files, hash),
    }
}

/// A distribution table at `path` (written at `span`).
pub(super) fn build_dist(
    d: &DistFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<DurationDist, InputError> {
    let given = [
        ("value", d.value.is_some()),
        ("mean", d.mean.is_some()),
        ("p99", d.p99.is_some()),
        ("sigma", d.sigma.is_some()),
        ("shape", d.shape.is_some()),
        ("file", d.file.is_some()),
        ("column", d.column.is_some()),
    ];
    let check = |needed: &[&str], optional: &[&str], kind: &str| {
        check_fields(&given, needed, optional, kind, span.clone(), path, ctx)
    };
    let fail = |m: String| ctx.err(span.clone(), path, m);
    let mean = || d.mean.map_or(SimDuration::ZERO, |m| m.0);
    match d.dist {
        DistKind::Constant => {
            check(&["value"], &[], "dist = \"constant\"")?;
            Ok(DurationDist::constant(d.value.expect("checked").0))
        }
        DistKind::Exponential => {
            check(&["mean"], &[], "dist = \"exponential\"")?;
            DurationDist::exponential(mean()).map_err(fail)
        }
        DistKind::Lognormal => {
            let kind = "dist = \"lognormal\"";
            match (d.p99, d.sigma) {
                (Some(p99), None) => {
                    check(&["mean", "p99"], &[], kind)?;
                    DurationDist::lognormal_mean_p99(mean(), p99.0).map_err(fail)
                }
                (None, Some(sigma)) => {
                    check(&["mean", "sigma"], &[], kind)?;
                    DurationDist::lognormal_mean_sigma(mean(), sigma.0).map_err(fail)
                }
                _ => Err(fail(format!(
                    "{kind} needs 'mean' and exactly one of 'p99' or 'sigma'"
                ))),
            }
        }
        DistKind::Gamma => {
            check(&["mean", "shape"], &[], "dist = \"gamma\"")?;
            DurationDist::gamma(mean(), d.shape.expect("checked").0).map_err(fail)
        }
        DistKind::Pareto => {
            check(&["mean", "shape"], &[], "dist = \"pareto\"")?;
            DurationDist::pareto(mean(), d.shape.expect("checked").0).map_err(fail)
        }
        DistKind::Empirical => {
            check(&["file"], &["column"], "dist = \"empirical\"")?;
            let file = d.file.as_ref().expect("checked");
            let samples = traces::read_samples(
                file,
                d.column.as_deref(),
                &format!("{path}.file"),
                ctx,
                files,
                hash,
            )?;
            DurationDist::empirical(samples).map_err(fail)
        }
    }
}
