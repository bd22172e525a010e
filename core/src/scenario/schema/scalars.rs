//! Value types that check their own syntax while deserialising (cpu,
//! memory, GPU quantities, durations, rates, bounded numbers), so toml
//! reports the exact span of a bad value.

use std::fmt;

use crate::quantity::{parse_bytes, parse_cpu_millis};
use crate::time::{SimDuration, parse_duration};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

macro_rules! scalar {
    ($name:ident, $inner:ty, $expecting:literal, $doc:literal, |$v:ident| $check:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        #[allow(unused_braces)]
                        let check = |$v: Scalar<'_>| -> Result<$inner, String> { $check };
                        check(Scalar::Str(s)).map($name).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$name, E> {
                        #[allow(unused_braces)]
                        let check = |$v: Scalar<'_>| -> Result<$inner, String> { $check };
                        check(Scalar::Int(n)).map($name).map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$name, E> {
                        self.visit_i64(i64::try_from(n).map_err(|_| E::custom("number too large"))?)
                    }
                    fn visit_f64<E: de::Error>(self, x: f64) -> Result<$name, E> {
                        #[allow(unused_braces)]
                        let check = |$v: Scalar<'_>| -> Result<$inner, String> { $check };
                        check(Scalar::Float(x)).map($name).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// A scalar as written in TOML, before interpretation.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Scalar<'_> {
    fn quantity_text(self) -> String {
        match self {
            Scalar::Str(s) => s.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
        }
    }

    fn number(self, what: &str) -> Result<f64, String> {
        match self {
            Scalar::Int(n) => Ok(n as f64),
            Scalar::Float(x) if x.is_finite() => Ok(x),
            Scalar::Float(x) => Err(format!("{what} must be a finite number, not {x}")),
            Scalar::Str(s) => Err(format!("{what} must be a number, not the string \"{s}\"")),
        }
    }
}

scalar!(
    Cpu,
    u64,
    "a CPU quantity such as \"500m\", \"2\" or 1.5",
    "CPU in millicores.",
    |v| { parse_cpu_millis(&v.quantity_text()).map_err(|e| e.to_string()) }
);
scalar!(
    Memory,
    u64,
    "a memory quantity such as \"512Mi\" or \"2G\"",
    "Memory in bytes.",
    |v| {
        match v {
            Scalar::Float(_) => Err(
                "memory must be an integer number of bytes or a quantity string such as \"512Mi\""
                    .to_string(),
            ),
            _ => parse_bytes(&v.quantity_text()).map_err(|e| e.to_string()),
        }
    }
);
scalar!(
    Gpu,
    u64,
    "a GPU quantity such as 1, 0.5 or \"500m\"",
    "GPUs in thousandths (`1` = 1000, `\"500m\"` = 0.5 = 500).",
    |v| { parse_cpu_millis(&v.quantity_text()).map_err(|e| e.to_string()) }
);
scalar!(
    Count,
    u64,
    "a whole number such as 1 or \"2\"",
    "A whole count (extended resources, `pods`).",
    |v| {
        let milli = parse_cpu_millis(&v.quantity_text()).map_err(|e| e.to_string())?;
        if milli % 1000 == 0 {
            Ok(milli / 1000)
        } else {
            Err(format!(
                "must be a whole number (got {}): extended resources and pods are counted in units",
                v.quantity_text()
            ))
        }
    }
);
scalar!(
    Rate,
    f64,
    "a rate in requests per second greater than zero",
    "A rate > 0 (requests/s).",
    |v| {
        let x = v.number("a rate")?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(format!("rate must be greater than zero (got {x})"))
        }
    }
);
scalar!(NonNegative, f64, "a number ≥ 0", "A number ≥ 0.", |v| {
    let x = v.number("this value")?;
    if x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("must not be negative (got {x})"))
    }
});
scalar!(Positive, f64, "a number > 0", "A number > 0.", |v| {
    let x = v.number("this value")?;
    if x > 0.0 {
        Ok(x)
    } else {
        Err(format!("must be greater than zero (got {x})"))
    }
});
scalar!(
    Dur,
    SimDuration,
    "a duration string like \"30s\", \"250ms\" or \"1h30m\"",
    "A Go-style duration.",
    |v| {
        match v {
            Scalar::Str(s) => parse_duration(s),
            Scalar::Int(n) => Err(format!(
                "durations need a unit: write \"{n}s\" (units: ns, us, ms, s, m, h)"
            )),
            Scalar::Float(x) => Err(format!(
                "durations need a unit: write \"{x}s\" (units: ns, us, ms, s, m, h)"
            )),
        }
    }
);
