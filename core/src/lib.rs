//! Orkestra's pure core: the cluster model, the policies and the controllers
//! that both worlds — the discrete-event simulator and the live Docker
//! backend — run unchanged.
//!
//! Key decision: nothing here does I/O, reads a clock or draws OS
//! randomness. Time arrives as [`time::SimTime`] arguments and randomness as
//! `&mut impl Rng` streams from [`rng`], so every decision can be replayed
//! exactly and unit-tested in microseconds.
#![warn(missing_docs)]

pub mod action;
pub mod autoscale;
pub mod balance;
pub mod capacity;
pub mod controller;
pub mod disruption;
pub mod dist;
pub mod faults;
pub mod fit;
pub mod health;
pub mod ids;
pub mod intstr;
pub mod jobs;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod packing;
pub mod placement;
pub mod pod;
pub mod presets;
pub mod priority;
pub mod quantity;
pub mod queue;
pub mod registry;
pub mod results;
pub mod rng;
pub mod rollout;
pub mod scenario;
pub mod sched;
pub mod stateful;
pub mod storage;
pub mod testing;
pub mod time;
pub mod topology;
pub mod traffic;

/// The version recorded in every result file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
