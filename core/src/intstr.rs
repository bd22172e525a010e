//! `intstr.IntOrString` where Kubernetes means "a number of pods or a
//! percentage of them": a Deployment's `maxSurge`/`maxUnavailable`, a
//! PDB's `minAvailable`/`maxUnavailable`, a disruption budget's `nodes`.
//!
//! Key decision: one type for every such field, with apimachinery's one
//! scaling rule (`staging/src/k8s.io/apimachinery/pkg/util/intstr/intstr.go`,
//! `GetScaledValueFromIntOrPercent`) in exact integers.

/// A count or a percentage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute number.
    Int(u32),
    /// A percentage of a total (may exceed 100 where the field allows, as
    /// `maxSurge` does).
    Percent(u32),
}

impl IntOrPercent {
    /// [`get_scaled_value_from_int_or_percent`] of `self`.
    pub fn scaled(self, total: u32, round_up: bool) -> u32 {
        get_scaled_value_from_int_or_percent(self, total, round_up)
    }
}

/// `GetScaledValueFromIntOrPercent`: an int as is; a percentage of `total`,
/// `math.Ceil` of `value × total / 100` when `round_up`, `math.Floor`
/// otherwise (saturating at `u32::MAX`).
pub fn get_scaled_value_from_int_or_percent(v: IntOrPercent, total: u32, round_up: bool) -> u32 {
    match v {
        IntOrPercent::Int(n) => n,
        IntOrPercent::Percent(p) => {
            let num = u64::from(p) * u64::from(total);
            let v = if round_up {
                num.div_ceil(100)
            } else {
                num / 100
            };
            u32::try_from(v).unwrap_or(u32::MAX)
        }
    }
}

impl std::fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: ceil/floor of value × total / 100.
    #[test]
    fn scales_as_get_scaled_value_from_int_or_percent() {
        use IntOrPercent::*;
        let cases = [
            (Percent(25), 10, true, 3),  // ceil(2.5) = 3
            (Percent(25), 10, false, 2), // floor(2.5) = 2
            (Percent(1), 2, true, 1),    // ceil(0.02) = 1
            (Percent(1), 2, false, 0),   // floor(0.02) = 0
            (Percent(100), 7, false, 7), // exactly 7
            (Percent(150), 4, true, 6),  // surge may exceed 100%: 4 × 1.5 = 6
            (Percent(10), 5, true, 1),   // a PDB's 10% of 5 pods: ceil(0.5) = 1
            (Int(3), 10, true, 3),       // counts are not scaled
            (Int(3), 10, false, 3),
            (Percent(200), u32::MAX, true, u32::MAX), // saturates
        ];
        for (v, total, up, want) in cases {
            assert_eq!(v.scaled(total, up), want, "{v} of {total}, up={up}");
        }
    }
}
