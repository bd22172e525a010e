//! Checks that many sections share: which parameters a model was given,
//! names, and the common single-value rules (a duration greater than zero,
//! a count of at least 1, a probability at most 1).
//!
//! Key decision: each rule lives here once with its one message, so the
//! same mistake reads the same in every table; a section's resolver calls
//! these per field and keeps only the rules that are its own.

use std::ops::Range;

use toml::Spanned;

use super::schema::{Dur, NonNegative, ResourcesFile};
use super::{Ctx, InputError};
use crate::model::Resources;
use crate::time::SimDuration;

/// Checks which parameters a model was given: all of `needed`, none outside `needed` and `optional`.
pub(crate) fn check_fields(
    given: &[(&str, bool)],
    needed: &[&str],
    optional: &[&str],
    kind: &str,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    for (field, present) in given {
        if *present && !needed.contains(field) && !optional.contains(field) {
            let mut takes = needed.join(", ");
            if needed.is_empty() {
                takes = format!("(all optional) {}", optional.join(", "));
            } else if !optional.is_empty() {
                takes = format!("{takes} (optional: {})", optional.join(", "));
            }
            return Err(ctx.err(
                span.clone(),
                path,
                format!("'{field}' does not apply to {kind}; it takes: {takes}"),
            ));
        }
    }
    for n in needed {
        if !given.iter().any(|(f, p)| f == n && *p) {
            return Err(ctx.err(
                span.clone(),
                path,
                format!("{kind} needs '{n}' (it takes: {})", needed.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The first field of a one-table-many-kinds section (`(field, given,
/// kinds it belongs to)`) that is given but does not belong to `chosen`,
/// with its kinds joined for the message.
pub(super) fn foreign_field<'a>(
    fields: &[(&'a str, bool, &[&str])],
    chosen: &str,
) -> Option<(&'a str, String)> {
    fields
        .iter()
        .find(|(_, set, owners)| *set && !owners.contains(&chosen))
        .map(|(field, _, owners)| (*field, owners.join(", ")))
}

/// Where the table `[section.name]` (or a dotted key `section.name`) is
/// written, for errors about the name itself; serde keeps no span for map keys.
pub(super) fn key_span(text: &str, section: &str, name: &str) -> Range<usize> {
    let header = format!("[{section}.{name}");
    let dotted = format!("{section}.{name}");
    let at = text
        .find(&header)
        .map(|i| i + 1)
        .or_else(|| text.find(&dotted))
        .unwrap_or(0);
    at..at
}

/// Lower-case DNS label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub(super) fn check_dns_label(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit (at most 63)"
        ))
    }
}

/// `{ cpu, memory, gpu, … }` with zero for what is left out.
pub(super) fn resources(r: Option<&ResourcesFile>) -> Resources {
    crate::pod::to_resources(&resource_list(r))
}

/// The resources a table states, an explicit 0 included.
pub(super) fn resource_list(r: Option<&ResourcesFile>) -> crate::pod::ResourceList {
    use crate::model::ResourceName;
    let mut out = crate::pod::ResourceList::new();
    let Some(r) = r else { return out };
    if let Some(c) = r.cpu {
        out.insert(ResourceName::Cpu, c.0);
    }
    if let Some(m) = r.memory {
        out.insert(ResourceName::Memory, m.0);
    }
    if let Some(g) = r.gpu {
        out.insert(ResourceName::Gpu, g.0);
    }
    out.extend(r.other.iter().copied());
    out
}

/// A duration that must be greater than zero when given.
pub(super) fn positive_duration(
    d: &Option<Spanned<Dur>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Option<SimDuration>, InputError> {
    match d {
        Some(d) if d.get_ref().0 == SimDuration::ZERO => {
            Err(ctx.err(d.span(), path, "must be greater than zero"))
        }
        Some(d) => Ok(Some(d.get_ref().0)),
        None => Ok(None),
    }
}

/// A count that must be at least 1 when given.
pub(super) fn at_least_one(
    c: &Option<Spanned<u32>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Option<u32>, InputError> {
    match c {
        Some(c) if *c.get_ref() == 0 => Err(ctx.err(c.span(), path, "must be at least 1")),
        Some(c) => Ok(Some(*c.get_ref())),
        None => Ok(None),
    }
}

/// A probability in [0, 1] (0 when left out).
pub(super) fn probability(
    v: &Option<Spanned<NonNegative>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<f64, InputError> {
    match v {
        Some(p) if p.get_ref().0 > 1.0 => Err(ctx.err(
            p.span(),
            path,
            format!("a probability must be at most 1 (got {})", p.get_ref().0),
        )),
        Some(p) => Ok(p.get_ref().0),
        None => Ok(0.0),
    }
}
