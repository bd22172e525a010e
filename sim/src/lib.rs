//! Orkestra's discrete-event simulator: the engine, the simulated cluster
//! and loading a scenario file from disk.
//!
//! Key decision: the simulator owns time (a virtual clock in integer
//! nanoseconds) and state, and calls the pure policies and controllers of
//! `orkestra-core` — it never re-implements one. One seed, split into named
//! streams, makes every run reproducible byte for byte. It links no async
//! runtime and no Docker client: the `sim` command (package `orkestra-sim`,
//! in `cli/`) puts results folders, live mode and reports on top of it.
#![warn(missing_docs)]

pub mod autoscaling;
pub mod cluster;
pub mod engine;
pub mod scenario_file;
pub mod waiting;

pub use cluster::{Simulation, simulate};
pub use engine::{Engine, EventQueue};
pub use orkestra_core::results::{NullOutput, Output};
pub use scenario_file::{FsFiles, load};
