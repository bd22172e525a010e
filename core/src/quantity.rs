//! Kubernetes resource quantities parsed into exact integers.
//!
//! Key decision: a quantity is parsed as an exact decimal (digits × 2^b ×
//! 10^e) and converted with integer arithmetic, rounding *up* like
//! Kubernetes' `Quantity.MilliValue()`/`Value()` do, so `0.1m` of CPU is 1
//! millicore and no float ever touches a resource amount. The grammar is the
//! one `k8s.io/apimachinery/pkg/api/resource` accepts: a decimal number
//! followed by a binary-SI suffix (`Ki Mi Gi Ti Pi Ei`), a decimal-SI suffix
//! (`n u m k M G T P E`) or a decimal exponent (`e3`, `E-2`).

use std::fmt;

/// A parsed, non-negative quantity: `digits × 2^pow2 × 10^pow10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    digits: u128,
    pow2: u32,
    pow10: i32,
}

/// Why a quantity could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a valid quantity: {reason}")]
pub struct QuantityError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Quantity {
    /// Parses a Kubernetes quantity such as `250m`, `1.5`, `512Mi`, `2G` or `1e3`.
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let err = |reason: &str| QuantityError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        let s = match s.strip_prefix('+') {
            Some(rest) => rest,
            None => s,
        };
        if s.starts_with('-') {
            return Err(err("resource quantities must not be negative"));
        }
        let number_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err("expected a number such as 250m, 1.5, 512Mi or 2G"));
        }
        if frac_part.contains('.') {
            return Err(err("more than one decimal point"));
        }
        let all_digits = format!("{int_part}{frac_part}");
        let trimmed = all_digits.trim_start_matches('0');
        if trimmed.len() > 30 {
            return Err(err("too many digits"));
        }
        let digits: u128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().map_err(|_| err("too many digits"))?
        };
        let mut pow10 = -(frac_part.len() as i32);
        let mut pow2 = 0u32;
        match suffix {
            "" => {}
            "Ki" => pow2 = 10,
            "Mi" => pow2 = 20,
            "Gi" => pow2 = 30,
            "Ti" => pow2 = 40,
            "Pi" => pow2 = 50,
            "Ei" => pow2 = 60,
            "n" => pow10 -= 9,
            "u" => pow10 -= 6,
            "m" => pow10 -= 3,
            "k" => pow10 += 3,
            "M" => pow10 += 6,
            "G" => pow10 += 9,
            "T" => pow10 += 12,
            "P" => pow10 += 15,
            "E" => pow10 += 18,
            _ if suffix.starts_with(['e', 'E']) => {
                let exp = &suffix[1..];
                let valid = !exp.is_empty()
                    && exp
                        .strip_prefix(['+', '-'])
                        .unwrap_or(exp)
                        .chars()
                        .all(|c| c.is_ascii_digit())
                    && exp.len() <= 4;
                if !valid {
                    return Err(err(
                        "the exponent after 'e' must be a small integer, as in 1e3",
                    ));
                }
                pow10 += exp.parse::<i32>().map_err(|_| err("bad exponent"))?;
            }
            other => {
                return Err(err(&format!(
                    "unknown suffix '{other}' (use one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e3)"
                )));
            }
        }
        Ok(Quantity {
            digits,
            pow2,
            pow10,
        })
    }

    /// The value in thousandths (millicores for CPU), rounded up.
    pub fn milli_value(&self) -> Option<u64> {
        self.scaled(3)
    }

    /// The value in whole units (bytes for memory), rounded up.
    pub fn value(&self) -> Option<u64> {
        self.scaled(0)
    }

    /// `ceil(self × 10^extra)` as an integer, `None` when it overflows `u64`.
    fn scaled(&self, extra: i32) -> Option<u64> {
        let mut n = self.digits.checked_mul(1u128.checked_shl(self.pow2)?)?;
        let e = self.pow10 + extra;
        if e >= 0 {
            n = n.checked_mul(10u128.checked_pow(e as u32)?)?;
        } else {
            let d = match 10u128.checked_pow((-e) as u32) {
                Some(d) => d,
                // 10^39 exceeds u128: anything non-zero rounds up to 1.
                None => return Some(u64::from(n > 0)),
            };
            n = n.div_ceil(d);
        }
        u64::try_from(n).ok()
    }
}

/// Parses a CPU quantity into millicores (`"250m"` → 250, `"1.5"` → 1500).
pub fn parse_cpu_millis(text: &str) -> Result<u64, QuantityError> {
    let q = Quantity::parse(text)?;
    q.milli_value().ok_or_else(|| QuantityError {
        text: text.to_string(),
        reason: "too large for a CPU amount".into(),
    })
}

/// Parses a memory (or any count) quantity into whole units, e.g. bytes (`"512Mi"` → 536870912).
pub fn parse_bytes(text: &str) -> Result<u64, QuantityError> {
    let q = Quantity::parse(text)?;
    q.value().ok_or_else(|| QuantityError {
        text: text.to_string(),
        reason: "too large (more than 2^64 units)".into(),
    })
}

/// Formats millicores the way Kubernetes prints them (`1500m` → `"1500m"`, `2000` → `"2"`).
pub fn format_cpu_millis(m: u64) -> String {
    if m.is_multiple_of(1000) {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

/// Formats bytes with the largest exact binary suffix (`536870912` → `"512Mi"`).
pub fn format_bytes(b: u64) -> String {
    for (suffix, shift) in [
        ("Ei", 60),
        ("Pi", 50),
        ("Ti", 40),
        ("Gi", 30),
        ("Mi", 20),
        ("Ki", 10),
    ] {
        if b != 0 && b.is_multiple_of(1u64 << shift) {
            return format!("{}{suffix}", b >> shift);
        }
    }
    format!("{b}")
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×2^{}×10^{}", self.digits, self.pow2, self.pow10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_in_millicores() {
        // Expected values follow resource.Quantity.MilliValue(): ceil(q × 1000).
        let cases: &[(&str, u64)] = &[
            ("250m", 250),
            ("1.5", 1500), // 1.5 × 1000
            ("2", 2000),
            ("0.1m", 1),        // 0.0001 × 1000 = 0.1 → ceil → 1
            ("1e3", 1_000_000), // 1000 cores
            ("100u", 1),        // 0.0001 cores → 0.1m → 1m
            ("1k", 1_000_000),
            ("+3", 3000),
            ("0", 0),
            (".5", 500),
        ];
        for (text, want) in cases {
            assert_eq!(parse_cpu_millis(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn memory_quantities_in_bytes() {
        let cases: &[(&str, u64)] = &[
            ("512Mi", 512 * 1024 * 1024),
            ("2G", 2_000_000_000),
            ("1.5Gi", 1_610_612_736), // 1.5 × 2^30
            ("1e3", 1000),
            ("128974848", 128_974_848),
            ("129e6", 129_000_000),
            ("123Mi", 128_974_848),
            ("500m", 1), // half a byte rounds up
        ];
        for (text, want) in cases {
            assert_eq!(parse_bytes(text), Ok(*want), "{text}");
        }
        // 16Ei = 2^64 does not fit in u64.
        assert!(
            parse_bytes("16Ei")
                .unwrap_err()
                .reason
                .contains("too large")
        );
        assert_eq!(parse_bytes("15Ei"), Ok(15 << 60));
    }

    #[test]
    fn nonsense_is_rejected_with_a_reason() {
        for (text, needle) in [
            ("", "empty"),
            ("-1", "negative"),
            ("abc", "expected a number"),
            ("1.2.3", "more than one decimal point"),
            ("12Q", "unknown suffix 'Q'"),
            ("1e", "exponent"),
            ("1ex", "exponent"),
            ("1KiB", "unknown suffix 'KiB'"),
            ("1 Gi", "unknown suffix ' Gi'"),
            ("1234567890123456789012345678901", "too many digits"),
        ] {
            let err = Quantity::parse(text).unwrap_err();
            assert!(err.reason.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_cpu_millis(1500), "1500m");
        assert_eq!(format_cpu_millis(2000), "2");
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(parse_bytes(&format_bytes(3 << 30)), Ok(3 << 30));
    }
}
