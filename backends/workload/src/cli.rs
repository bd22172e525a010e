//! Command-line flags ⇄ [`WorkloadConfig`], hand-parsed to keep the static binary small.
//!
//! Key decision: the flags spell a distribution the way a scenario does
//! (`--dist lognormal --mean 0.04 --p99 0.25`), held in [`DistArgs`], so the
//! live backend can turn a scenario's service model into a container command
//! line ([`to_args`]) and the workload rebuilds the very same
//! [`DurationDist`] with the core's constructors ([`parse_args`]).

use std::fmt;
use std::net::SocketAddr;

use orkestra_core::dist::DurationDist;
use orkestra_core::time::{SimDuration, parse_duration};

use crate::server::{Work, WorkloadConfig};

/// The usage text printed for `--help`.
pub const USAGE: &str = "\
usage: orkestra-workload [FLAGS]
  --listen IP:PORT     address to bind, IP literal only (default 0.0.0.0:8080)
  --concurrency N      requests served at once, >= 1 (default 1)
  --queue-limit N      requests that may wait for a slot (default unbounded)
  --work cpu|sleep     burn CPU or sleep for each request's duration (default sleep)
  --seed N             seed of the `service` random stream (default 0)
  --dist KIND          constant | exponential | lognormal | gamma | pareto (default constant)
  --value SECONDS      constant: the duration (default 0.01)
  --mean SECONDS       exponential, lognormal, gamma, pareto: the mean
  --p99 SECONDS        lognormal: the 99th percentile (or give --sigma)
  --sigma X            lognormal: sigma of the underlying normal (or give --p99)
  --shape X            gamma: shape k > 0; pareto: tail index > 1
  --error-rate P       answer this share of work requests 500, in [0, 1] (default 0)
  --slowdown X         multiply every drawn duration by X > 0 (default 1)
SECONDS is a decimal number of seconds (0.04) or a duration like 40ms.
Flags take their value as the next argument or after '=' (--seed=7).";

/// Default of `--listen`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Default of `--value` for `--dist constant`.
pub const DEFAULT_VALUE: SimDuration = SimDuration::from_millis(10);

/// A distribution family on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DistKind {
    /// `--value`.
    #[default]
    Constant,
    /// `--mean`.
    Exponential,
    /// `--mean` with `--p99` or `--sigma`.
    Lognormal,
    /// `--mean`, `--shape`.
    Gamma,
    /// `--mean`, `--shape` > 1.
    Pareto,
}

impl fmt::Display for DistKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            DistKind::Constant => "constant",
            DistKind::Exponential => "exponential",
            DistKind::Lognormal => "lognormal",
            DistKind::Gamma => "gamma",
            DistKind::Pareto => "pareto",
        })
    }
}

/// The service-time flags: a family and its parameters, as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DistArgs {
    /// `--dist`.
    pub kind: DistKind,
    /// `--value` (constant).
    pub value: Option<SimDuration>,
    /// `--mean`.
    pub mean: Option<SimDuration>,
    /// `--p99` (lognormal).
    pub p99: Option<SimDuration>,
    /// `--sigma` (lognormal).
    pub sigma: Option<f64>,
    /// `--shape` (gamma, Pareto).
    pub shape: Option<f64>,
}

impl DistArgs {
    /// Builds the distribution with the core's constructors, rejecting
    /// parameters that do not belong to the family.
    pub fn build(&self) -> Result<DurationDist, String> {
        use DistKind::*;
        let given = [
            ("value", self.value.is_some(), self.kind == Constant),
            ("mean", self.mean.is_some(), self.kind != Constant),
            ("p99", self.p99.is_some(), self.kind == Lognormal),
            ("sigma", self.sigma.is_some(), self.kind == Lognormal),
            (
                "shape",
                self.shape.is_some(),
                matches!(self.kind, Gamma | Pareto),
            ),
        ];
        for (flag, present, applies) in given {
            if present && !applies {
                return Err(format!("--{flag} does not apply to --dist {}", self.kind));
            }
        }
        let need = |flag: &str| format!("--dist {} needs --{flag}", self.kind);
        let mean = || self.mean.ok_or_else(|| need("mean"));
        let shape = || self.shape.ok_or_else(|| need("shape"));
        let built = match self.kind {
            Constant => Ok(DurationDist::constant(self.value.unwrap_or(DEFAULT_VALUE))),
            Exponential => DurationDist::exponential(mean()?),
            Lognormal => match (self.p99, self.sigma) {
                (Some(p99), None) => DurationDist::lognormal_mean_p99(mean()?, p99),
                (None, Some(sigma)) => DurationDist::lognormal_mean_sigma(mean()?, sigma),
                (Some(_), Some(_)) => return Err("give --p99 or --sigma, not both".into()),
                (None, None) => return Err(need("p99 or --sigma")),
            },
            Gamma => DurationDist::gamma(mean()?, shape()?),
            Pareto => DurationDist::pareto(mean()?, shape()?),
        };
        built.map_err(|e| format!("--dist {}: {e}", self.kind))
    }

    /// The flags of a built distribution; empirical ones cannot be passed.
    /// Means are rounded to whole nanoseconds, so a rebuilt lognormal may
    /// differ from `dist` in the last bits of its parameters.
    pub fn from_dist(dist: &DurationDist) -> Result<DistArgs, String> {
        let mean = Some(SimDuration::from_secs_f64(dist.mean_secs()));
        let (kind, sigma, shape) = match dist {
            DurationDist::Constant(d) => {
                return Ok(DistArgs {
                    value: Some(*d),
                    ..DistArgs::default()
                });
            }
            DurationDist::Exponential { .. } => (DistKind::Exponential, None, None),
            DurationDist::LogNormal { sigma, .. } => (DistKind::Lognormal, Some(*sigma), None),
            DurationDist::Gamma { shape, .. } => (DistKind::Gamma, None, Some(*shape)),
            DurationDist::Pareto { shape, .. } => (DistKind::Pareto, None, Some(*shape)),
            DurationDist::Empirical(_) => {
                return Err("an empirical service time cannot be passed as flags".into());
            }
        };
        Ok(DistArgs {
            kind,
            mean,
            sigma,
            shape,
            ..DistArgs::default()
        })
    }

    /// The flags, e.g. `["--dist", "gamma", "--mean", "0.04", "--shape", "2"]`.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = vec!["--dist".to_string(), self.kind.to_string()];
        let durations = [
            ("--value", self.value),
            ("--mean", self.mean),
            ("--p99", self.p99),
        ];
        for (flag, d) in durations {
            if let Some(d) = d {
                out.extend([flag.to_string(), secs(d)]);
            }
        }
        for (flag, x) in [("--sigma", self.sigma), ("--shape", self.shape)] {
            if let Some(x) = x {
                out.extend([flag.to_string(), x.to_string()]);
            }
        }
        out
    }
}

/// Parses the flags (without the program name) into a configuration.
pub fn parse_args(args: &[String]) -> Result<WorkloadConfig, String> {
    let mut bind = None;
    let (mut concurrency, mut queue_limit, mut work, mut seed) = (None, None, None, None);
    let (mut error_rate, mut slowdown) = (None, None);
    let mut dist = DistArgs::default();
    let mut dist_given = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--listen" => set(&mut bind, flag, listen(&value()?)?)?,
            "--concurrency" => set(&mut concurrency, flag, number(flag, &value()?)?)?,
            "--queue-limit" => set(&mut queue_limit, flag, number(flag, &value()?)?)?,
            "--work" => set(&mut work, flag, work_kind(&value()?)?)?,
            "--seed" => set(&mut seed, flag, number(flag, &value()?)?)?,
            "--dist" => {
                if dist_given {
                    return Err("--dist given twice".into());
                }
                dist.kind = dist_kind(&value()?)?;
                dist_given = true;
            }
            "--value" => set(&mut dist.value, flag, seconds(flag, &value()?)?)?,
            "--mean" => set(&mut dist.mean, flag, seconds(flag, &value()?)?)?,
            "--p99" => set(&mut dist.p99, flag, seconds(flag, &value()?)?)?,
            "--sigma" => set(&mut dist.sigma, flag, real(flag, &value()?)?)?,
            "--shape" => set(&mut dist.shape, flag, real(flag, &value()?)?)?,
            "--error-rate" => set(&mut error_rate, flag, real(flag, &value()?)?)?,
            "--slowdown" => set(&mut slowdown, flag, real(flag, &value()?)?)?,
            _ => return Err(format!("unknown argument {arg:?} (see --help)")),
        }
    }
    let concurrency: u32 = concurrency.unwrap_or(1);
    if concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let error_rate = error_rate.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&error_rate) {
        return Err(format!("--error-rate must be in [0, 1], got {error_rate}"));
    }
    let slowdown = slowdown.unwrap_or(1.0);
    if slowdown <= 0.0 {
        return Err(format!("--slowdown must be > 0, got {slowdown}"));
    }
    Ok(WorkloadConfig {
        service_time: dist.build()?,
        work: work.unwrap_or(Work::Sleep),
        concurrency,
        queue_limit,
        seed: seed.unwrap_or(0),
        bind: bind.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
        error_rate,
        slowdown,
    })
}

/// The flags that [`parse_args`] turns back into `cfg` (up to the rounding
/// noted at [`DistArgs::from_dist`]); fails for an empirical service time.
pub fn to_args(cfg: &WorkloadConfig) -> Result<Vec<String>, String> {
    let mut out = vec![
        "--listen".to_string(),
        cfg.bind.to_string(),
        "--concurrency".to_string(),
        cfg.concurrency.to_string(),
    ];
    if let Some(limit) = cfg.queue_limit {
        out.extend(["--queue-limit".to_string(), limit.to_string()]);
    }
    out.extend(["--work".to_string(), cfg.work.as_str().to_string()]);
    out.extend(["--seed".to_string(), cfg.seed.to_string()]);
    out.extend(DistArgs::from_dist(&cfg.service_time)?.to_args());
    if cfg.error_rate > 0.0 {
        out.extend(["--error-rate".to_string(), cfg.error_rate.to_string()]);
    }
    if cfg.slowdown != 1.0 {
        out.extend(["--slowdown".to_string(), cfg.slowdown.to_string()]);
    }
    Ok(out)
}

fn set<T>(slot: &mut Option<T>, flag: &str, value: T) -> Result<(), String> {
    match slot.replace(value) {
        Some(_) => Err(format!("{flag} given twice")),
        None => Ok(()),
    }
}

fn listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!("--listen wants IP:PORT like {DEFAULT_LISTEN}, got {text:?} (no host names)")
    })
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} wants a non-negative integer, got {text:?}"))
}

fn real(flag: &str, text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{flag} wants a number, got {text:?}")),
    }
}

fn seconds(flag: &str, text: &str) -> Result<SimDuration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(SimDuration::from_secs_f64(s)),
        Ok(_) => Err(format!(
            "{flag} wants a non-negative duration, got {text:?}"
        )),
        Err(_) => parse_duration(text).map_err(|e| format!("{flag}: {e}")),
    }
}

fn work_kind(text: &str) -> Result<Work, String> {
    match text {
        "cpu" => Ok(Work::Cpu),
        "sleep" => Ok(Work::Sleep),
        _ => Err(format!("--work wants cpu or sleep, got {text:?}")),
    }
}

fn dist_kind(text: &str) -> Result<DistKind, String> {
    Ok(match text {
        "constant" => DistKind::Constant,
        "exponential" => DistKind::Exponential,
        "lognormal" => DistKind::Lognormal,
        "gamma" => DistKind::Gamma,
        "pareto" => DistKind::Pareto,
        _ => {
            return Err(format!(
                "--dist wants constant, exponential, lognormal, gamma or pareto, got {text:?}"
            ));
        }
    })
}

/// Whole nanoseconds as exact decimal seconds: 40 ms → `0.04`.
fn secs(d: SimDuration) -> String {
    let (whole, frac) = (d.0 / 1_000_000_000, d.0 % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:09}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
