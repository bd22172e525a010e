//! Expanders: which node group grows when several could help.
//!
//! Key decision: upstream's expanders (`expander/random`, `mostpods`,
//! `waste`, `price` in kubernetes/autoscaler) as pure functions of the
//! expansion options, with upstream's arithmetic: `most-pods` and
//! `least-waste` keep every option tied for the best and let `random`
//! choose among them (their fallback strategy); `price` keeps the first
//! option with the strictly lowest score. Draws come from the caller's
//! stream and only when more than one option is left.

use rand::{Rng, RngExt};

use super::NodeGroup;
use crate::model::Resources;

/// `--expander`: how the group to grow is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Expander {
    /// Any group that helps, uniformly at random (upstream's default).
    #[default]
    Random,
    /// The group whose new nodes would take the most pending replicas.
    MostPods,
    /// The group that leaves the least idle cpu + memory fraction on its new nodes.
    LeastWaste,
    /// The group whose new nodes cost the least per replica they take.
    Price,
}

impl Expander {
    /// The name scenarios use.
    pub fn as_str(self) -> &'static str {
        match self {
            Expander::Random => "random",
            Expander::MostPods => "most-pods",
            Expander::LeastWaste => "least-waste",
            Expander::Price => "price",
        }
    }
}

/// One group that could take some of the pending replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpansionOption {
    /// Index into the groups.
    pub group: usize,
    /// New nodes needed.
    pub nodes: u32,
    /// Pending replicas they would take.
    pub pods: u32,
    /// Σ requests of those replicas.
    pub requested: Resources,
}

/// `least-waste`'s score (`expander/waste/waste.go`): with the group's
/// node *capacity* (upstream reads `Status.Capacity`) times the new nodes,
/// (cpu − requested cpu) ÷ cpu + (memory − requested memory) ÷ memory; a
/// resource the node lacks counts as no waste.
pub fn waste(option: &ExpansionOption, group: &NodeGroup) -> f64 {
    let n = u128::from(option.nodes);
    let frac = |cap: u64, req: u64| {
        let avail = u128::from(cap) * n;
        if avail == 0 {
            0.0
        } else {
            (avail as f64 - req as f64) / avail as f64
        }
    };
    let cap = &group.template.capacity;
    frac(cap.cpu_milli, option.requested.cpu_milli)
        + frac(cap.memory_bytes, option.requested.memory_bytes)
}

/// `price`'s score: the new nodes' cost per hour ÷ the replicas they take.
/// Upstream divides by the replicas' own price (their requests priced
/// against a reference machine) and weighs by a preferred node size; the
/// scenario gives a price per node only, so the cost per replica stands in.
pub fn price(option: &ExpansionOption, group: &NodeGroup) -> f64 {
    group.cost_per_hour * f64::from(option.nodes) / f64::from(option.pods.max(1))
}

/// The index (into `options`) of the option `expander` chooses, or `None`
/// when there is none.
pub fn best_option(
    expander: Expander,
    options: &[ExpansionOption],
    groups: &[NodeGroup],
    rng: &mut dyn Rng,
) -> Option<usize> {
    if options.is_empty() {
        return None;
    }
    let random = |tied: &[usize], rng: &mut dyn Rng| match tied.len() {
        0 => None,
        1 => Some(tied[0]),
        n => Some(tied[rng.random_range(0..n)]),
    };
    // Indices of the options with the lowest `key`, exactly tied.
    let lowest = |key: &dyn Fn(&ExpansionOption) -> f64| {
        let mut best = f64::INFINITY;
        let mut tied = Vec::new();
        for (i, o) in options.iter().enumerate() {
            let k = key(o);
            if k < best {
                best = k;
                tied.clear();
                tied.push(i);
            } else if k == best {
                tied.push(i);
            }
        }
        tied
    };
    match expander {
        Expander::Random => {
            let all: Vec<usize> = (0..options.len()).collect();
            random(&all, rng)
        }
        Expander::MostPods => {
            let tied = lowest(&|o| -f64::from(o.pods));
            random(&tied, rng)
        }
        Expander::LeastWaste => {
            let tied = lowest(&|o| waste(o, &groups[o.group]));
            random(&tied, rng)
        }
        Expander::Price => lowest(&|o| price(o, &groups[o.group])).first().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use crate::testing::node;
    use crate::time::SimDuration;

    const GI: u64 = 1 << 30;

    fn group(name: &str, cpu: &str, mem: &str, cost: f64) -> NodeGroup {
        NodeGroup {
            name: name.into(),
            template: node(name).cpu(cpu).mem(mem).spec(),
            min: 0,
            max: 10,
            boot_delay: SimDuration::ZERO,
            cost_per_hour: cost,
        }
    }

    fn option(group: usize, nodes: u32, pods: u32, cpu: u64, mem: u64) -> ExpansionOption {
        ExpansionOption {
            group,
            nodes,
            pods,
            requested: Resources::new(cpu, mem),
        }
    }

    #[test]
    fn each_expander_picks_as_documented() {
        // a: 4 cpu / 16Gi at 0.20/h; b: 8 cpu / 8Gi at 0.30/h; c: 2 cpu / 4Gi at 0.10/h.
        let groups = [
            group("a", "4", "16Gi", 0.20),
            group("b", "8", "8Gi", 0.30),
            group("c", "2", "4Gi", 0.10),
        ];
        // The same 6 replicas of (1 cpu, 1Gi): a needs 2 nodes, b 1 node, c 3 nodes.
        let options = [
            option(0, 2, 6, 6000, 6 * GI),
            option(1, 1, 6, 6000, 6 * GI),
            option(2, 3, 6, 6000, 6 * GI),
        ];
        // Waste: a: (8000 − 6000)/8000 + (32 − 6)/32 = 0.25 + 0.8125 = 1.0625;
        //        b: (8000 − 6000)/8000 + (8 − 6)/8  = 0.25 + 0.25   = 0.5;
        //        c: (6000 − 6000)/6000 + (12 − 6)/12 = 0   + 0.5    = 0.5.
        assert_eq!(waste(&options[0], &groups[0]), 1.0625);
        assert_eq!(waste(&options[1], &groups[1]), 0.5);
        assert_eq!(waste(&options[2], &groups[2]), 0.5);
        // Price per replica: a: 0.20 × 2 / 6 = 0.0667; b: 0.30 / 6 = 0.05; c: 0.10 × 3 / 6 = 0.05.
        // b and c tie at 0.05: price keeps the first, b.
        let mut rng = stream(1, "t");
        assert_eq!(
            best_option(Expander::Price, &options, &groups, &mut rng),
            Some(1)
        );
        // least-waste: b and c tie at 0.5; random picks between them, never a.
        let mut picked = [0u32; 3];
        for _ in 0..200 {
            let i = best_option(Expander::LeastWaste, &options, &groups, &mut rng).unwrap();
            picked[i] += 1;
        }
        assert_eq!(picked[0], 0);
        assert!(picked[1] > 0 && picked[2] > 0, "{picked:?}");
        // most-pods: a different option takes more replicas.
        let more = [option(0, 2, 6, 6000, 6 * GI), option(1, 1, 7, 7000, 7 * GI)];
        assert_eq!(
            best_option(Expander::MostPods, &more, &groups, &mut rng),
            Some(1)
        );
        // random: every option is possible; none is invalid.
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[best_option(Expander::Random, &options, &groups, &mut rng).unwrap()] = true;
        }
        assert_eq!(seen, [true; 3]);
        assert_eq!(best_option(Expander::Random, &[], &groups, &mut rng), None);
    }
}
