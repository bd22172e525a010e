//! Orkestra's discrete-event simulator: the engine, the simulated cluster
//! and the `sim` command's run logic.
//!
//! Key decision: the simulator owns time (a virtual clock in integer
//! nanoseconds) and state, and calls the pure policies and controllers of
//! `orkestra-core` — it never re-implements one. One seed, split into named
//! streams, makes every run reproducible byte for byte.
#![warn(missing_docs)]

pub mod autoscaling;
pub mod cluster;
pub mod compare;
pub mod engine;
pub mod run;
pub mod sweep;
pub mod waiting;

pub use cluster::{Simulation, simulate};
pub use engine::{Engine, EventQueue};
pub use orkestra_core::results::{NullOutput, Output};
