//! Policies by name, so scenarios choose them as strings.
//!
//! Key decision: one table per extension point maps a name to a constructor
//! and a one-line description; an unknown name is an error that lists every
//! valid choice and suggests the closest one, so `lest-allocated` is caught
//! at load time, never silently replaced by a default.

use std::fmt;

use crate::balance::{Policy, Routing};
use crate::model::ResourceName;
use crate::placement::{FirstFit, Place};
use crate::sched::ecs_spread::EcsSpread;
use crate::sched::policies;
use crate::sched::swarm_binpack::SwarmBinpack;
use crate::sched::swarm_spread::SwarmSpread;
use crate::sched::tetris::Tetris;

/// A named constructor with a description.
pub struct Entry<T: ?Sized> {
    /// The name used in scenarios.
    pub name: &'static str,
    /// What it does and where it comes from.
    pub about: &'static str,
    /// Builds a fresh instance.
    pub make: fn() -> Box<T>,
}

/// A balancing mode by name.
pub struct BalancerEntry {
    /// The name used in scenarios.
    pub name: &'static str,
    /// What it does and where it comes from.
    pub about: &'static str,
    /// What the name resolves to.
    pub routing: Routing,
}

/// Balancing policies, and central-queue mode.
pub const BALANCERS: &[BalancerEntry] = &[
    BalancerEntry {
        name: "round-robin",
        about: "each ready replica in turn (Envoy ROUND_ROBIN, kube-proxy ipvs rr)",
        routing: Routing::Balanced(Policy::RoundRobin),
    },
    BalancerEntry {
        name: "random",
        about: "uniformly random ready replica (Envoy RANDOM)",
        routing: Routing::Balanced(Policy::Random),
    },
    BalancerEntry {
        name: "least-request",
        about: "fewest outstanding requests over all endpoints, ties at random (Envoy LEAST_REQUEST with every host a choice, NGINX least_conn)",
        routing: Routing::Balanced(Policy::LeastRequest),
    },
    BalancerEntry {
        name: "p2c",
        about: "power of two choices on outstanding requests: the less loaded of two distinct random endpoints (Mitzenmacher 2001; Envoy LEAST_REQUEST, tower p2c)",
        routing: Routing::Balanced(Policy::P2c),
    },
    BalancerEntry {
        name: "peak-ewma",
        about: "P2C on peak-EWMA latency × (outstanding + 1), decay 10 s (Finagle/Linkerd, tower PeakEwma)",
        routing: Routing::Balanced(Policy::PeakEwma),
    },
    BalancerEntry {
        name: "jsq",
        about: "join the shortest queue: full scan for the fewest outstanding requests, ties at random (Winston 1977)",
        routing: Routing::Balanced(Policy::Jsq),
    },
    BalancerEntry {
        name: "weighted-round-robin",
        about: "nginx smooth weighted round robin (equal weights unless configured)",
        routing: Routing::Balanced(Policy::WeightedRoundRobin),
    },
    BalancerEntry {
        name: "ring-hash",
        about: "consistent hashing on a ring of virtual nodes (Karger et al. 1997; Envoy RING_HASH, minimum ring 1024)",
        routing: Routing::Balanced(Policy::RingHash),
    },
    BalancerEntry {
        name: "maglev",
        about: "Maglev lookup table of 65537 slots (Eisenbud et al., NSDI 2016; Envoy MAGLEV)",
        routing: Routing::Balanced(Policy::Maglev),
    },
    BalancerEntry {
        name: "central-queue",
        about: "requests wait at the balancer until a replica has a free slot, oldest first (HAProxy maxconn + queue)",
        routing: Routing::CentralQueue,
    },
];

/// Placement policies and presets.
pub const PLACERS: &[Entry<dyn Place>] = &[
    Entry {
        name: "first-fit",
        about: "first node in order that passes the hard filters (taints, node affinity, resources, anti-affinity)",
        make: || Box::new(FirstFit::default()),
    },
    Entry {
        name: "kubernetes-default",
        about: "kube-scheduler default profile (TaintToleration, NodeAffinity, NodeResourcesFit LeastAllocated, PodTopologySpread, InterPodAffinity, BalancedAllocation with upstream weights), every node scored, from per-shape caches",
        make: || Box::new(policies::kubernetes_default()),
    },
    Entry {
        name: "gke-optimize-utilization",
        about: "GKE optimize-utilization: the default profile with MostAllocated instead of LeastAllocated",
        make: || Box::new(policies::gke_optimize_utilization()),
    },
    Entry {
        name: "least-allocated",
        about: "NodeResourcesFit LeastAllocated only (spread by free resources)",
        make: || Box::new(policies::least_allocated()),
    },
    Entry {
        name: "most-allocated",
        about: "NodeResourcesFit MostAllocated only (pack by allocation)",
        make: || Box::new(policies::most_allocated()),
    },
    Entry {
        name: "nomad-binpack",
        about: "Nomad's default binpack algorithm (ScoreFitBinPack)",
        make: || Box::new(policies::nomad_binpack()),
    },
    Entry {
        name: "nomad-spread",
        about: "Nomad's spread algorithm (ScoreFitSpread)",
        make: || Box::new(policies::nomad_spread()),
    },
    Entry {
        name: "ecs-binpack",
        about: "ECS binpack on memory: the instance left with the least memory",
        make: || {
            Box::new(policies::BestFit::new(
                Some(ResourceName::Memory),
                false,
                "ecs-binpack",
            ))
        },
    },
    Entry {
        name: "best-fit",
        about: "the node left with the least normalised room (cpu + memory)",
        make: || Box::new(policies::BestFit::new(None, false, "best-fit")),
    },
    Entry {
        name: "worst-fit",
        about: "the node left with the most normalised room (cpu + memory)",
        make: || Box::new(policies::BestFit::new(None, true, "worst-fit")),
    },
    Entry {
        name: "random",
        about: "a uniformly random feasible node (Swarm/ECS random)",
        make: || Box::new(policies::RandomFit::default()),
    },
    Entry {
        name: "swarm-spread",
        about: "Docker Swarm mode default (swarmkit): fewest replicas of the service, then fewest replicas",
        make: || Box::new(SwarmSpread::default()),
    },
    Entry {
        name: "swarm-binpack",
        about: "classic Docker Swarm binpack: highest cpu% + memory% after placing, then most replicas",
        make: || Box::new(SwarmBinpack::default()),
    },
    Entry {
        name: "ecs-spread",
        about: "ECS service default, spread on availability zone: fewest of the service in the zone, then on the instance",
        make: || Box::new(EcsSpread::spread()),
    },
    Entry {
        name: "ecs-spread-binpack",
        about: "ECS AZ-balanced binpack: fewest of the service in the zone, then least memory left",
        make: || Box::new(EcsSpread::binpack()),
    },
    Entry {
        name: "tetris",
        about: "Tetris (SIGCOMM 2014): largest dot product of requests and free resources, both over node size",
        make: || Box::new(Tetris::default()),
    },
];

/// A name that is not in a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy {
    /// Which kind of policy ("balancer", "placement policy").
    pub kind: &'static str,
    /// The name asked for.
    pub name: String,
    /// All valid names.
    pub choices: Vec<&'static str>,
}

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} '{}'", self.kind, self.name)?;
        if let Some(best) = closest(&self.name, &self.choices) {
            write!(f, " (did you mean '{best}'?)")?;
        }
        write!(f, "; choose from: {}", self.choices.join(", "))
    }
}

impl std::error::Error for UnknownPolicy {}

fn lookup<T: ?Sized>(
    kind: &'static str,
    table: &[Entry<T>],
    name: &str,
) -> Result<Box<T>, UnknownPolicy> {
    match table.iter().find(|e| e.name == name) {
        Some(e) => Ok((e.make)()),
        None => Err(UnknownPolicy {
            kind,
            name: name.to_string(),
            choices: table.iter().map(|e| e.name).collect(),
        }),
    }
}

/// The balancing mode called `name`.
pub fn routing(name: &str) -> Result<Routing, UnknownPolicy> {
    match BALANCERS.iter().find(|e| e.name == name) {
        Some(e) => Ok(e.routing),
        None => Err(UnknownPolicy {
            kind: "balancer",
            name: name.to_string(),
            choices: BALANCERS.iter().map(|e| e.name).collect(),
        }),
    }
}

/// A new placement policy called `name`.
pub fn placer(name: &str) -> Result<Box<dyn Place>, UnknownPolicy> {
    lookup("placement policy", PLACERS, name)
}

/// The choice within edit distance 3 of `name`, if any.
fn closest<'a>(name: &str, choices: &[&'a str]) -> Option<&'a str> {
    choices
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_builds_what_its_name_says() {
        for e in BALANCERS {
            assert_eq!(e.routing.name(), e.name);
            if let Some(p) = e.routing.policy() {
                assert_eq!(p.fresh().name(), e.name);
            }
        }
        for e in PLACERS {
            assert_eq!((e.make)().name(), e.name);
        }
    }

    #[test]
    fn every_entry_has_a_unique_name_and_a_description() {
        fn check<T: ?Sized>(table: &[Entry<T>]) {
            let mut seen = std::collections::BTreeSet::new();
            for e in table {
                assert!(!e.name.is_empty(), "an entry has no name");
                assert!(seen.insert(e.name), "'{}' is registered twice", e.name);
                assert!(
                    !e.about.trim().is_empty(),
                    "'{}' has no description",
                    e.name
                );
                assert!(!e.about.contains('\n'), "'{}': one line", e.name);
            }
        }
        check(PLACERS);
        let mut seen = std::collections::BTreeSet::new();
        for e in BALANCERS {
            assert!(seen.insert(e.name), "'{}' is registered twice", e.name);
            assert!(
                !e.about.trim().is_empty() && !e.about.contains('\n'),
                "{}",
                e.name
            );
        }
    }

    #[test]
    fn typos_get_the_choices_and_a_suggestion() {
        let err = routing("round-robbin").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown balancer 'round-robbin' (did you mean 'round-robin'?); choose from: round-robin, random, least-request, p2c, peak-ewma, jsq, weighted-round-robin, ring-hash, maglev, central-queue"
        );
        let err = placer("lest-allocated").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown placement policy 'lest-allocated' (did you mean 'least-allocated'?); choose from: \
             first-fit, kubernetes-default, gke-optimize-utilization, least-allocated, most-allocated, \
             nomad-binpack, nomad-spread, ecs-binpack, best-fit, worst-fit, random, swarm-spread, swarm-binpack, \
             ecs-spread, ecs-spread-binpack, tetris"
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3); // the textbook example
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
