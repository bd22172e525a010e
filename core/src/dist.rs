//! Distributions of durations: service times and start-up delays.
//!
//! Key decision: a distribution is a closed enum, built and validated once
//! from the scenario, that samples whole nanoseconds from a caller-supplied
//! RNG stream — so the same stream and seed give the same durations in the
//! simulator, the live workload and the tests. Parameters are given the way
//! operators know them (mean and p99 for a lognormal) and converted here.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Pareto};

use crate::time::{NANOS_PER_SEC, SimDuration};

/// z-score of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// A distribution of durations.
#[derive(Clone, Debug)]
pub enum DurationDist {
    /// Always the same duration.
    Constant(SimDuration),
    /// Exponential (memoryless) with the given mean.
    Exponential {
        /// Mean in seconds.
        mean_s: f64,
        /// Sampler (rate 1/mean).
        exp: Exp<f64>,
    },
    /// Lognormal: `exp(N(mu, sigma))` seconds.
    LogNormal {
        /// Location of the underlying normal.
        mu: f64,
        /// Scale of the underlying normal.
        sigma: f64,
        /// Sampler.
        dist: LogNormal<f64>,
    },
    /// Gamma with shape `k` and scale `θ` seconds (mean `kθ`).
    Gamma {
        /// Shape `k`.
        shape: f64,
        /// Scale `θ` in seconds.
        scale_s: f64,
        /// Sampler.
        dist: Gamma<f64>,
    },
    /// Pareto (type I) with minimum `scale` seconds and tail index `shape` > 1.
    Pareto {
        /// Minimum value in seconds.
        scale_s: f64,
        /// Tail index α.
        shape: f64,
        /// Sampler.
        dist: Pareto<f64>,
    },
    /// Uniform choice among observed samples (a bootstrap of a measured distribution).
    Empirical(Arc<[SimDuration]>),
}

impl DurationDist {
    /// A fixed duration.
    pub fn constant(d: SimDuration) -> DurationDist {
        DurationDist::Constant(d)
    }

    /// Exponential with mean `mean` (> 0).
    pub fn exponential(mean: SimDuration) -> Result<DurationDist, String> {
        let mean_s = positive_secs(mean, "mean")?;
        let exp = Exp::new(1.0 / mean_s).map_err(|e| e.to_string())?;
        Ok(DurationDist::Exponential { mean_s, exp })
    }

    /// Lognormal from the underlying normal's `mu` and `sigma`.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<DurationDist, String> {
        if !(sigma.is_finite() && sigma >= 0.0 && mu.is_finite()) {
            return Err(format!("sigma must be finite and ≥ 0 (got {sigma})"));
        }
        let dist = LogNormal::new(mu, sigma).map_err(|e| e.to_string())?;
        Ok(DurationDist::LogNormal { mu, sigma, dist })
    }

    /// Lognormal with the given mean and sigma of the underlying normal:
    /// `mean = exp(mu + sigma²/2)` ⇒ `mu = ln(mean) − sigma²/2`.
    pub fn lognormal_mean_sigma(mean: SimDuration, sigma: f64) -> Result<DurationDist, String> {
        let m = positive_secs(mean, "mean")?;
        DurationDist::lognormal(m.ln() - sigma * sigma / 2.0, sigma)
    }

    /// Lognormal with the given mean and 99th percentile.
    ///
    /// `mean = exp(mu + σ²/2)` and `p99 = exp(mu + z·σ)` with z = 2.3263, so
    /// `ln(p99/mean) = zσ − σ²/2`; the smaller root `σ = z − sqrt(z² − 2·ln(p99/mean))`
    /// is the one where the percentile grows with σ. It exists for
    /// `mean < p99 ≤ mean·e^(z²/2) ≈ 14.96·mean`.
    pub fn lognormal_mean_p99(mean: SimDuration, p99: SimDuration) -> Result<DurationDist, String> {
        let m = positive_secs(mean, "mean")?;
        let q = positive_secs(p99, "p99")?;
        if q <= m {
            return Err(format!(
                "p99 ({q}s) must be larger than the mean ({m}s) for a lognormal"
            ));
        }
        let d = (q / m).ln();
        let disc = Z99 * Z99 - 2.0 * d;
        if disc < 0.0 {
            return Err(format!(
                "p99/mean = {:.2} is more than a lognormal allows (at most {:.2}); give sigma instead",
                q / m,
                (Z99 * Z99 / 2.0).exp()
            ));
        }
        let sigma = Z99 - disc.sqrt();
        DurationDist::lognormal_mean_sigma(mean, sigma)
    }

    /// Gamma with the given mean and shape `k` (> 0); scale = mean / k.
    pub fn gamma(mean: SimDuration, shape: f64) -> Result<DurationDist, String> {
        let m = positive_secs(mean, "mean")?;
        if !(shape.is_finite() && shape > 0.0) {
            return Err(format!("shape must be > 0 (got {shape})"));
        }
        let scale_s = m / shape;
        let dist = Gamma::new(shape, scale_s).map_err(|e| e.to_string())?;
        Ok(DurationDist::Gamma {
            shape,
            scale_s,
            dist,
        })
    }

    /// Pareto with the given mean and tail index α > 1; minimum = mean·(α−1)/α.
    pub fn pareto(mean: SimDuration, shape: f64) -> Result<DurationDist, String> {
        let m = positive_secs(mean, "mean")?;
        if !(shape.is_finite() && shape > 1.0) {
            return Err(format!("shape must be > 1 for a finite mean (got {shape})"));
        }
        let scale_s = m * (shape - 1.0) / shape;
        let dist = Pareto::new(scale_s, shape).map_err(|e| e.to_string())?;
        Ok(DurationDist::Pareto {
            scale_s,
            shape,
            dist,
        })
    }

    /// Uniform choice among `samples` (at least one).
    pub fn empirical(samples: Vec<SimDuration>) -> Result<DurationDist, String> {
        if samples.is_empty() {
            return Err("an empirical distribution needs at least one sample".into());
        }
        Ok(DurationDist::Empirical(samples.into()))
    }

    /// Draws one duration.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let secs = match self {
            DurationDist::Constant(d) => return *d,
            DurationDist::Exponential { exp, .. } => exp.sample(rng),
            DurationDist::LogNormal { dist, .. } => dist.sample(rng),
            DurationDist::Gamma { dist, .. } => dist.sample(rng),
            DurationDist::Pareto { dist, .. } => dist.sample(rng),
            DurationDist::Empirical(samples) => {
                let i = (rng.next_u64() % samples.len() as u64) as usize;
                return samples[i];
            }
        };
        SimDuration::from_secs_f64(secs)
    }

    /// The distribution's mean in seconds.
    pub fn mean_secs(&self) -> f64 {
        match self {
            DurationDist::Constant(d) => d.as_secs_f64(),
            DurationDist::Exponential { mean_s, .. } => *mean_s,
            DurationDist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            DurationDist::Gamma { shape, scale_s, .. } => shape * scale_s,
            DurationDist::Pareto { scale_s, shape, .. } => shape * scale_s / (shape - 1.0),
            DurationDist::Empirical(s) => {
                s.iter().map(|d| d.0 as f64).sum::<f64>() / s.len() as f64 / NANOS_PER_SEC as f64
            }
        }
    }
}

fn positive_secs(d: SimDuration, what: &str) -> Result<f64, String> {
    if d.0 == 0 {
        Err(format!("{what} must be greater than zero"))
    } else {
        Ok(d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn sample_mean(d: &DurationDist, n: usize) -> f64 {
        let mut rng = stream(7, "test");
        (0..n)
            .map(|_| d.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn lognormal_from_mean_and_p99_hits_both() {
        // mean 50ms, p99 400ms: d = ln 8 = 2.0794; σ = 2.3263 − sqrt(5.4119 − 4.1589) = 1.2069.
        let d = DurationDist::lognormal_mean_p99(
            SimDuration::from_millis(50),
            SimDuration::from_millis(400),
        )
        .unwrap();
        let DurationDist::LogNormal { mu, sigma, .. } = d else {
            panic!()
        };
        assert!((sigma - 1.2069).abs() < 1e-3, "{sigma}");
        assert!(((mu + Z99 * sigma).exp() - 0.4).abs() < 1e-9);
        assert!((d.mean_secs() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn impossible_lognormal_is_explained() {
        let e = DurationDist::lognormal_mean_p99(
            SimDuration::from_millis(10),
            SimDuration::from_millis(5),
        )
        .unwrap_err();
        assert!(e.contains("larger than the mean"), "{e}");
        let e = DurationDist::lognormal_mean_p99(
            SimDuration::from_millis(10),
            SimDuration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.contains("at most 14.97"), "{e}");
    }

    #[test]
    fn sample_means_match_the_stated_means() {
        // 200k samples: the standard error of the mean is σ/√n, e.g. 0.1/447 = 0.00022 s
        // for the exponential; the 2% tolerance is > 9 standard errors for all cases.
        let mean = SimDuration::from_millis(100);
        for d in [
            DurationDist::exponential(mean).unwrap(),
            DurationDist::gamma(mean, 2.0).unwrap(),
            DurationDist::lognormal_mean_sigma(mean, 0.5).unwrap(),
            DurationDist::pareto(mean, 3.5).unwrap(),
            DurationDist::constant(mean),
            DurationDist::empirical(vec![
                SimDuration::from_millis(50),
                SimDuration::from_millis(150),
            ])
            .unwrap(),
        ] {
            assert!((d.mean_secs() - 0.1).abs() < 1e-12, "{d:?}");
            let m = sample_mean(&d, 200_000);
            assert!((m - 0.1).abs() / 0.1 < 0.02, "{d:?}: sample mean {m}");
        }
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(DurationDist::exponential(SimDuration::ZERO).is_err());
        assert!(DurationDist::pareto(SimDuration::from_secs(1), 1.0).is_err());
        assert!(DurationDist::gamma(SimDuration::from_secs(1), 0.0).is_err());
        assert!(DurationDist::empirical(vec![]).is_err());
    }
}
