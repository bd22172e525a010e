//! Expanders: which node group grows when several could help.
//!
//! Key decision: upstream's expanders (`expander/random`, `mostpods`,
//! `waste`, `price`, `priority` in kubernetes/autoscaler
//! `cluster-autoscaler`) as pure functions of the expansion options, with
//! upstream's arithmetic, chained as `expander/factory/expander_factory.go`
//! and `chain.go` chain them (`--expander=priority,least-waste`): each
//! expander but `random` is a filter that keeps its best options, the chain
//! stops as soon as one option is left, and `random` picks among what
//! remains (the fallback when the chain does not end in it). `most-pods`
//! and `least-waste` keep every option tied for the best; `price` keeps the
//! first option with the strictly lowest score; `priority` keeps the
//! options whose group name matches a regex of the highest priority. Draws
//! come from the caller's stream and only when more than one option is left.

use std::fmt;

use rand::{Rng, RngExt};

use super::NodeGroup;
use crate::model::Resources;

/// One expander of `--expander`.
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
    /// The groups whose names match a regex of the highest priority
    /// (upstream's `cluster-autoscaler-priority-expander` ConfigMap).
    Priority,
}

impl Expander {
    /// Every expander, in the order errors list them.
    pub const ALL: [Expander; 5] = [
        Expander::Random,
        Expander::MostPods,
        Expander::LeastWaste,
        Expander::Price,
        Expander::Priority,
    ];

    /// The name scenarios use (upstream's flag values).
    pub fn as_str(self) -> &'static str {
        match self {
            Expander::Random => "random",
            Expander::MostPods => "most-pods",
            Expander::LeastWaste => "least-waste",
            Expander::Price => "price",
            Expander::Priority => "priority",
        }
    }

    /// The expander named `name`, if any.
    pub fn parse(name: &str) -> Option<Expander> {
        Expander::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// A regex matched against node-group names, compared by its source.
#[derive(Clone, Debug)]
pub struct GroupPattern(regex::Regex);

impl GroupPattern {
    /// Compiles `source` (RE2 syntax, as Go's `regexp`); the error is the
    /// regex parser's message.
    pub fn new(source: &str) -> Result<GroupPattern, String> {
        regex::Regex::new(source)
            .map(GroupPattern)
            .map_err(|e| e.to_string())
    }

    /// Whether the pattern matches anywhere in `name` (Go's
    /// `regexp.MatchString`: unanchored).
    pub fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }

    /// The source it was compiled from.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for GroupPattern {
    fn eq(&self, other: &GroupPattern) -> bool {
        self.as_str() == other.as_str()
    }
}

/// One entry of the priority expander's `priorities`: a priority and the
/// group-name regexes that have it.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorityTier {
    /// Higher wins.
    pub priority: i32,
    /// Any match gives a group this priority.
    pub patterns: Vec<GroupPattern>,
}

/// `--expander`: one expander or a chain of them, with the priority
/// expander's configuration when the chain uses it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpanderChain {
    expanders: Vec<Expander>,
    priorities: Vec<PriorityTier>,
}

impl From<Expander> for ExpanderChain {
    fn from(e: Expander) -> ExpanderChain {
        ExpanderChain {
            expanders: vec![e],
            priorities: Vec::new(),
        }
    }
}

impl Default for ExpanderChain {
    fn default() -> ExpanderChain {
        Expander::Random.into()
    }
}

impl fmt::Display for ExpanderChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.expanders.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(e.as_str())?;
        }
        Ok(())
    }
}

impl ExpanderChain {
    /// A chain as `expander_factory.go`'s `Build` accepts it: at least one
    /// expander, none twice, and `random` (which always returns one option)
    /// only last. The errors are worded like upstream's.
    pub fn new(expanders: Vec<Expander>) -> Result<ExpanderChain, String> {
        if expanders.is_empty() {
            return Err("needs at least one expander".into());
        }
        for (i, e) in expanders.iter().enumerate() {
            if expanders[..i].contains(e) {
                return Err(format!(
                    "Expander {} was specified multiple times, each expander must not be specified more than once",
                    e.as_str()
                ));
            }
            if i > 0 && expanders[i - 1] == Expander::Random {
                return Err(format!(
                    "Expander {} came after an expander random that will always return only one result, this is not allowed since {} will never be used",
                    e.as_str(),
                    e.as_str()
                ));
            }
        }
        Ok(ExpanderChain {
            expanders,
            priorities: Vec::new(),
        })
    }

    /// Parses upstream's flag value, `"priority,least-waste"`.
    pub fn parse(flag: &str) -> Result<ExpanderChain, String> {
        let mut expanders = Vec::new();
        for name in flag.split(',') {
            let name = name.trim();
            let Some(e) = Expander::parse(name) else {
                let known: Vec<&str> = Expander::ALL.iter().map(|e| e.as_str()).collect();
                return Err(format!(
                    "Expander {name} not supported: expected {} or a comma-separated chain of them (\"priority,least-waste\")",
                    known.join(", ")
                ));
            };
            expanders.push(e);
        }
        ExpanderChain::new(expanders)
    }

    /// The chain with the priority expander's tiers.
    pub fn with_priorities(mut self, priorities: Vec<PriorityTier>) -> ExpanderChain {
        self.priorities = priorities;
        self
    }

    /// The expanders, in order.
    pub fn expanders(&self) -> &[Expander] {
        &self.expanders
    }

    /// The priority expander's tiers.
    pub fn priorities(&self) -> &[PriorityTier] {
        &self.priorities
    }

    /// Whether the chain uses `e`.
    pub fn uses(&self, e: Expander) -> bool {
        self.expanders.contains(&e)
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

/// The priority expander's filter (`expander/priority/priority.go`,
/// `BestOptions`): each option's group name is matched against every
/// tier; the options in the highest matching tier are kept. A group that
/// matches no tier is not used; when no option matches any tier, all are
/// kept (upstream falls back to the next expander with a warning).
/// Priorities below −1 are never chosen, as upstream (its best starts
/// at −1).
pub fn priority_filter(
    options: &[usize],
    all: &[ExpansionOption],
    groups: &[NodeGroup],
    tiers: &[PriorityTier],
) -> Vec<usize> {
    let mut max = -1i64;
    let mut best = Vec::new();
    for &i in options {
        let name = &groups[all[i].group].name;
        let top = tiers
            .iter()
            .filter(|t| t.patterns.iter().any(|p| p.matches(name)))
            .map(|t| i64::from(t.priority))
            .max();
        let Some(p) = top else { continue };
        if p < max {
            continue;
        }
        if p > max {
            max = p;
            best.clear();
        }
        best.push(i);
    }
    if best.is_empty() {
        options.to_vec()
    } else {
        best
    }
}

/// The index (into `options`) of the option `chain` chooses, or `None`
/// when there is none.
pub fn best_option(
    chain: &ExpanderChain,
    options: &[ExpansionOption],
    groups: &[NodeGroup],
    rng: &mut dyn Rng,
) -> Option<usize> {
    let random = |left: &[usize], rng: &mut dyn Rng| match left.len() {
        0 => None,
        1 => Some(left[0]),
        n => Some(left[rng.random_range(0..n)]),
    };
    // Of `left`, the options with the lowest `key`, exactly tied.
    let lowest = |left: &[usize], key: &dyn Fn(&ExpansionOption) -> f64| {
        let mut best = f64::INFINITY;
        let mut tied = Vec::new();
        for &i in left {
            let k = key(&options[i]);
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
    let mut left: Vec<usize> = (0..options.len()).collect();
    for &e in &chain.expanders {
        left = match e {
            Expander::Random => return random(&left, rng),
            Expander::MostPods => lowest(&left, &|o| -f64::from(o.pods)),
            Expander::LeastWaste => lowest(&left, &|o| waste(o, &groups[o.group])),
            Expander::Price => lowest(&left, &|o| price(o, &groups[o.group]))
                .into_iter()
                .take(1)
                .collect(),
            Expander::Priority => priority_filter(&left, options, groups, &chain.priorities),
        };
        if left.len() == 1 {
            return Some(left[0]);
        }
    }
    random(&left, rng)
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
            best_option(&Expander::Price.into(), &options, &groups, &mut rng),
            Some(1)
        );
        // least-waste: b and c tie at 0.5; random picks between them, never a.
        let mut picked = [0u32; 3];
        for _ in 0..200 {
            let i = best_option(&Expander::LeastWaste.into(), &options, &groups, &mut rng).unwrap();
            picked[i] += 1;
        }
        assert_eq!(picked[0], 0);
        assert!(picked[1] > 0 && picked[2] > 0, "{picked:?}");
        // most-pods: a different option takes more replicas.
        let more = [option(0, 2, 6, 6000, 6 * GI), option(1, 1, 7, 7000, 7 * GI)];
        assert_eq!(
            best_option(&Expander::MostPods.into(), &more, &groups, &mut rng),
            Some(1)
        );
        // random: every option is possible; none is invalid.
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[best_option(&Expander::Random.into(), &options, &groups, &mut rng).unwrap()] =
                true;
        }
        assert_eq!(seen, [true; 3]);
        assert_eq!(
            best_option(&Expander::Random.into(), &[], &groups, &mut rng),
            None
        );
    }

    #[test]
    fn chains_are_built_as_upstream_builds_them() {
        // expander_factory.go's Build: known names, none twice, random only last.
        assert_eq!(
            ExpanderChain::parse("priority,least-waste")
                .unwrap()
                .expanders(),
            [Expander::Priority, Expander::LeastWaste]
        );
        assert_eq!(
            ExpanderChain::parse("least-waste,random")
                .unwrap()
                .to_string(),
            "least-waste,random"
        );
        assert_eq!(
            ExpanderChain::parse("random,price").unwrap_err(),
            "Expander price came after an expander random that will always return only one result, this is not allowed since price will never be used"
        );
        assert_eq!(
            ExpanderChain::parse("price,price").unwrap_err(),
            "Expander price was specified multiple times, each expander must not be specified more than once"
        );
        assert!(
            ExpanderChain::parse("cheapest")
                .unwrap_err()
                .starts_with("Expander cheapest not supported")
        );
    }

    #[test]
    fn priority_keeps_the_highest_matching_tier_and_chains_on() {
        // The priority expander README's example: t2.large groups at 10,
        // t3.large at 50; a group that matches nothing is not used.
        let groups = [
            group("eks-t2.large-a", "2", "8Gi", 0.10),
            group("eks-t3.large-a", "2", "8Gi", 0.10),
            group("eks-t3.large-b", "4", "8Gi", 0.20),
            group("eks-m5.large", "2", "8Gi", 0.05),
        ];
        let tiers = vec![
            PriorityTier {
                priority: 10,
                patterns: vec![GroupPattern::new(r".*t2\.large.*").unwrap()],
            },
            PriorityTier {
                priority: 50,
                patterns: vec![GroupPattern::new(r".*t3\.large.*").unwrap()],
            },
        ];
        let options: Vec<ExpansionOption> = (0..4).map(|g| option(g, 1, 2, 2000, 2 * GI)).collect();
        let all = [0, 1, 2, 3];
        assert_eq!(priority_filter(&all, &options, &groups, &tiers), [1, 2]);
        // No option matches any tier: all are kept (upstream's fallback).
        assert_eq!(
            priority_filter(&[0, 3], &options, &groups, &tiers[1..]),
            [0, 3]
        );
        // Alone, priority leaves 1 and 2 to random; chained with
        // least-waste, 1 wastes (2000−2000)/2000 + (8−2)/8 = 0.75 and 2
        // (4000−2000)/4000 + 0.75 = 1.25: 1 wins every time.
        let mut rng = stream(3, "t");
        let alone = ExpanderChain::parse("priority")
            .unwrap()
            .with_priorities(tiers.clone());
        let mut seen = [0u32; 4];
        for _ in 0..100 {
            seen[best_option(&alone, &options, &groups, &mut rng).unwrap()] += 1;
        }
        assert!(
            seen[0] == 0 && seen[3] == 0 && seen[1] > 0 && seen[2] > 0,
            "{seen:?}"
        );
        let chained = ExpanderChain::parse("priority,least-waste")
            .unwrap()
            .with_priorities(tiers);
        for _ in 0..20 {
            assert_eq!(best_option(&chained, &options, &groups, &mut rng), Some(1));
        }
    }
}
