//! `[sweep]` and `--vary`: what `sim sweep` varies, as dotted paths and values.
//!
//! Key decision: a sweep changes a scenario only through the `--set`
//! override path (`path=value`, see [`super::apply_overrides`]), so a swept
//! value is validated exactly like a `--set` value and an unknown path is
//! named the same way. This module only reads and checks the *list* of
//! variations — from the command line (`--vary path=a,b,c`) or from the
//! scenario's `[sweep]` table, which runs themselves ignore. Dimensions keep
//! the order they were written in: it is the order of the cross product,
//! of run folders and of `sweep.csv` rows.

use serde::Deserialize;
use toml::Spanned;

use super::{Ctx, InputError, parse_toml};

/// `[sweep]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Seeds per combination (the scenario's seed, seed + 1, …; default 1).
    pub seeds: Option<Spanned<u32>>,
    /// The dimensions, in cross-product order.
    #[serde(default)]
    pub vary: Vec<Spanned<VaryFile>>,
}

/// One `vary = [{ path = "…", values = […] }]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaryFile {
    /// Dotted path, as for `--set`.
    pub path: Spanned<String>,
    /// Values: strings, numbers or booleans.
    pub values: Spanned<Vec<Spanned<toml::Value>>>,
}

/// One dimension of a sweep: a dotted path and the values it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vary {
    /// Dotted path (`services.web.autoscaler.kind`).
    pub path: String,
    /// Values in the order given, as `--set` would take them.
    pub values: Vec<String>,
}

impl Vary {
    /// Parses a `--vary path=a,b,c` argument. Errors name `--vary …`.
    pub fn parse(arg: &str) -> Result<Vary, InputError> {
        let bad = |message: String| InputError {
            file: format!("--vary {arg}"),
            line: 0,
            column: 0,
            path: String::new(),
            message,
        };
        let (path, values) = arg.split_once('=').ok_or_else(|| {
            bad("expected dotted.path=a,b,c, e.g. scheduler.policy=first-fit,tetris".into())
        })?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        check(path.trim(), &values).map_err(bad)?;
        Ok(Vary {
            path: path.trim().to_string(),
            values,
        })
    }

    /// The `--set` string of value `i`.
    pub fn set(&self, i: usize) -> String {
        format!("{}={}", self.path, self.values[i])
    }
}

/// The variations of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSpec {
    /// Dimensions in cross-product order (the last one varies fastest).
    pub vary: Vec<Vary>,
    /// Seeds per combination.
    pub seeds: u32,
}

/// Rules shared by both spellings: a dotted path, at least one value, no
/// empty or repeated value.
fn check(path: &str, values: &[String]) -> Result<(), String> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(format!(
            "'{path}' is not a dotted path like services.web.replicas"
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if v.is_empty() {
            return Err(format!("{path}: empty value; give values as a,b,c"));
        }
        if values[..i].contains(v) {
            return Err(format!("{path}: value '{v}' is listed twice"));
        }
    }
    Ok(())
}

/// Reads the scenario's `[sweep]` table, if it has one.
pub fn sweep_spec(text: &str, file: &str) -> Result<Option<SweepSpec>, InputError> {
    /// Only `[sweep]`; the rest of the file is checked by [`super::parse`].
    #[derive(Deserialize)]
    struct Only {
        sweep: Option<Spanned<SweepFile>>,
    }
    let only: Only = parse_toml(text, file, &[])?;
    let Some(sweep) = only.sweep else {
        return Ok(None);
    };
    let ctx = Ctx { file, text };
    let sweep_span = sweep.span();
    let sweep = sweep.into_inner();
    let seeds = match sweep.seeds {
        Some(s) if *s.get_ref() == 0 => {
            return Err(ctx.err(s.span(), "sweep.seeds", "must be at least 1"));
        }
        Some(s) => s.into_inner(),
        None => 1,
    };
    let mut vary: Vec<Vary> = Vec::new();
    for (i, v) in sweep.vary.into_iter().enumerate() {
        let field = format!("sweep.vary[{i}]");
        let v = v.into_inner();
        let path = v.path.get_ref().trim().to_string();
        let values_span = v.values.span();
        let mut values = Vec::new();
        for value in v.values.into_inner() {
            let span = value.span();
            values.push(match value.into_inner() {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(x) => x.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(ctx.err(
                        span,
                        format!("{field}.values"),
                        "a value is a string, number or boolean",
                    ));
                }
            });
        }
        if values.is_empty() {
            return Err(ctx.err(
                values_span,
                format!("{field}.values"),
                "give at least one value",
            ));
        }
        check(&path, &values).map_err(|m| ctx.err(v.path.span(), format!("{field}.path"), m))?;
        if vary.iter().any(|d| d.path == path) {
            return Err(ctx.err(
                v.path.span(),
                format!("{field}.path"),
                format!("'{path}' is varied twice"),
            ));
        }
        vary.push(Vary { path, values });
    }
    if vary.is_empty() && seeds == 1 {
        return Err(ctx.err(
            sweep_span,
            "sweep",
            "varies nothing: add vary = [{ path = \"…\", values = [\"…\"] }] or seeds > 1",
        ));
    }
    Ok(Some(SweepSpec { vary, seeds }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"t\"\n[simulation]\nduration = \"1m\"\n";

    #[test]
    fn the_table_keeps_the_written_order_and_spells_values_for_set() {
        let text = format!(
            "{BASE}[sweep]\nseeds = 5\nvary = [\n  {{ path = \"services.web.autoscaler.kind\", values = [\"hpa\", \"predictive\"] }},\n  {{ path = \"services.web.replicas\", values = [4, 8] }},\n]\n"
        );
        let s = sweep_spec(&text, "s.toml").unwrap().unwrap();
        assert_eq!(s.seeds, 5);
        assert_eq!(s.vary[0].path, "services.web.autoscaler.kind");
        assert_eq!(s.vary[0].set(1), "services.web.autoscaler.kind=predictive");
        assert_eq!(s.vary[1].set(0), "services.web.replicas=4");
        assert_eq!(sweep_spec(BASE, "s.toml").unwrap(), None);
    }

    #[test]
    fn bad_tables_are_located() {
        // Table of (table body, expected error).
        let cases = [
            ("seeds = 0", "s.toml:5:9: sweep.seeds: must be at least 1"),
            (
                "vary = [{ path = \"a..b\", values = [1] }]",
                "s.toml:5:18: sweep.vary[0].path: 'a..b' is not a dotted path like services.web.replicas",
            ),
            (
                "vary = [{ path = \"a\", values = [] }]",
                "s.toml:5:32: sweep.vary[0].values: give at least one value",
            ),
            (
                "vary = [{ path = \"a\", values = [[1]] }]",
                "s.toml:5:33: sweep.vary[0].values: a value is a string, number or boolean",
            ),
            (
                "vary = [{ path = \"a\", values = [1] }, { path = \"a\", values = [2] }]",
                "s.toml:5:48: sweep.vary[1].path: 'a' is varied twice",
            ),
            (
                "vary = [{ path = \"a\", values = [1, 1] }]",
                "s.toml:5:18: sweep.vary[0].path: a: value '1' is listed twice",
            ),
            ("jobs = 2", "s.toml:5:1: sweep.jobs: unknown field `jobs`"),
        ];
        for (body, want) in cases {
            let text = format!("{BASE}[sweep]\n{body}\n");
            let err = sweep_spec(&text, "s.toml").unwrap_err().to_string();
            assert!(err.starts_with(want), "{body}: {err}");
        }
    }

    #[test]
    fn vary_arguments_name_themselves() {
        let v = Vary::parse("scheduler.policy=first-fit, tetris").unwrap();
        assert_eq!(v.values, ["first-fit", "tetris"]);
        // Table of (argument, expected error).
        let cases = [
            (
                "scheduler.policy",
                "--vary scheduler.policy: expected dotted.path=a,b,c",
            ),
            ("x=a,,b", "--vary x=a,,b: x: empty value"),
            ("x=a,a", "--vary x=a,a: x: value 'a' is listed twice"),
        ];
        for (arg, want) in cases {
            let err = Vary::parse(arg).unwrap_err().to_string();
            assert!(err.starts_with(want), "{arg}: {err}");
        }
    }
}
