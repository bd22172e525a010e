//! Mean and 95% confidence interval of a metric across seeds.
//!
//! Key decision: seeds are independent replications, so the interval is
//! Student's t: mean ± t(0.975, n−1) · s/√n with the sample standard
//! deviation s (n − 1 in the denominator). The t quantiles are the standard
//! two-sided 95% table (NIST/SEMATECH e-Handbook of Statistical Methods,
//! §1.3.6.7.2, "Critical values of the Student's t distribution"); between
//! tabulated degrees of freedom the next smaller one is used, which only
//! widens the interval.

/// t(0.975, df) for df = 1..=30.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The two-sided 95% t quantile for `df` degrees of freedom (df ≥ 1).
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df - 1],
        31..=40 => 2.042,
        41..=60 => 2.021,
        61..=120 => 2.000,
        _ => 1.980,
    }
}

/// Mean and half-width of the 95% interval of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Arithmetic mean.
    pub mean: f64,
    /// Half-width of the 95% confidence interval (0 for one value).
    pub half: f64,
    /// How many values.
    pub n: usize,
}

impl Estimate {
    /// The estimate of `values` (mean 0 and n 0 when empty).
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                mean: 0.0,
                half: 0.0,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate { mean, half: 0.0, n };
        }
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        Estimate {
            mean,
            half: t975(n - 1) * (var / n as f64).sqrt(),
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_worked_by_hand() {
        // Table of (values, mean, half-width).
        let cases: [(&[f64], f64, f64); 4] = [
            // One value: no interval.
            (&[3.0], 3.0, 0.0),
            // 1,2,3: s² = (1+0+1)/2 = 1, s/√3 = 0.57735; t(0.975,2) = 4.303 → 2.48434.
            (&[1.0, 2.0, 3.0], 2.0, 4.303 / 3f64.sqrt()),
            // Five equal values: s = 0.
            (&[7.0; 5], 7.0, 0.0),
            // 2,4,4,4,5,5,7,9: mean 5, s² = 32/7; t(0.975,7) = 2.365 → 2.365·√(32/7/8) = 1.78770.
            (
                &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0],
                5.0,
                2.365 * (32.0f64 / 7.0 / 8.0).sqrt(),
            ),
        ];
        for (values, mean, half) in cases {
            let e = Estimate::of(values);
            assert_eq!(e.n, values.len());
            assert!((e.mean - mean).abs() < 1e-12, "{values:?}: {e:?}");
            assert!((e.half - half).abs() < 1e-12, "{values:?}: {e:?}");
        }
        // Between tabulated rows the smaller df is used: df 35 → the df 30 value.
        assert_eq!(t975(35), 2.042);
        assert_eq!(t975(4), 2.776);
    }
}
