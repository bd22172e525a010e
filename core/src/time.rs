//! Simulated time as integer nanoseconds.
//!
//! Key decision: time is an integer (`u64` nanoseconds), never a float, so
//! event order is exact and runs are reproducible bit for bit. `SimTime` is
//! an instant since the start of a run; `SimDuration` is a span. The same
//! types carry wall-clock offsets in live mode, where the backend converts.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant: nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant (about 584 years).
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// This instant in (possibly fractional) seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// The instant `secs` seconds after the start, rounded to the nearest nanosecond.
    pub fn from_secs_f64(secs: f64) -> SimTime {
        SimTime(secs_to_nanos(secs))
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A whole number of seconds.
    pub const fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * NANOS_PER_SEC)
    }

    /// A whole number of milliseconds.
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    /// A span of `secs` seconds, rounded to the nearest nanosecond (negative and NaN give zero).
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration(secs_to_nanos(secs))
    }

    /// This span in (possibly fractional) seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
}

fn secs_to_nanos(secs: f64) -> u64 {
    let ns = (secs * NANOS_PER_SEC as f64).round();
    if ns.is_nan() || ns <= 0.0 {
        0
    } else if ns >= u64::MAX as f64 {
        u64::MAX
    } else {
        ns as u64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        debug_assert!(
            earlier <= self,
            "time went backwards: {earlier:?} > {self:?}"
        );
        SimDuration(self.0 - earlier.0)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.as_secs_f64())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.as_secs_f64())
    }
}

/// Parses a Go/Kubernetes-style duration: a sequence of decimal numbers each
/// with a unit, e.g. `"300ms"`, `"1.5s"`, `"2h45m"`. Units: `ns`, `us` (or
/// `µs`), `ms`, `s`, `m`, `h`. The result is exact to the nanosecond; a
/// fraction finer than a nanosecond is an error rather than silently rounded.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"30s\", \"250ms\" or \"1h30m\"".into());
    }
    if s.starts_with('-') {
        return Err(format!("duration '{text}' must not be negative"));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number = &s[start..i];
        if number.is_empty() {
            return Err(format!(
                "duration '{text}': expected a number at '{}'",
                &s[start..]
            ));
        }
        let unit_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let unit_ns: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "duration '{text}' has no unit; write e.g. \"{number}s\" (units: ns, us, ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "duration '{text}' has unknown unit '{other}' (units: ns, us, ms, s, m, h)"
                ));
            }
        };
        let (int_part, frac_part) = match number.split_once('.') {
            Some((a, b)) => (a, b),
            None => (number, ""),
        };
        if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
            return Err(format!("duration '{text}': '{number}' is not a number"));
        }
        let too_big = || format!("duration '{text}' is too large");
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_big())?
        };
        let mut part = int.checked_mul(unit_ns).ok_or_else(too_big)?;
        if !frac_part.is_empty() {
            if frac_part.len() > 18 {
                return Err(format!("duration '{text}': too many decimal places"));
            }
            let frac: u128 = frac_part.parse().map_err(|_| too_big())?;
            let scale = 10u128.pow(frac_part.len() as u32);
            let scaled = frac * unit_ns;
            if !scaled.is_multiple_of(scale) {
                return Err(format!("duration '{text}' is finer than one nanosecond"));
            }
            part += scaled / scale;
        }
        total = total.checked_add(part).ok_or_else(too_big)?;
    }
    u64::try_from(total)
        .map(SimDuration)
        .map_err(|_| format!("duration '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1s", 1_000_000_000),
            ("250ms", 250_000_000),
            ("1.5s", 1_500_000_000),
            ("2h45m", (2 * 3600 + 45 * 60) * 1_000_000_000),
            ("10us", 10_000),
            ("7ns", 7),
            (".5m", 30_000_000_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text), Ok(SimDuration(*ns)), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        for (text, needle) in [
            ("", "empty"),
            ("5", "no unit"),
            ("5d", "unknown unit 'd'"),
            ("-1s", "negative"),
            ("1.2.3s", "not a number"),
            ("0.1ns", "finer than one nanosecond"),
            ("99999999999999h", "too large"),
            ("s", "expected a number"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn time_arithmetic() {
        let t = SimTime(5) + SimDuration(7);
        assert_eq!(t, SimTime(12));
        assert_eq!(t - SimTime(2), SimDuration(10));
        assert_eq!(SimTime(3).saturating_since(SimTime(9)), SimDuration(0));
        assert_eq!(SimDuration::from_secs_f64(0.25), SimDuration(250_000_000));
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration(0));
    }
}
