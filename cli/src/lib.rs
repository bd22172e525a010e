//! The `sim` command's library: results folders, comparisons, sweeps, the
//! terminal tables, and live mode's wiring — everything the thin `sim`
//! binary dispatches to.
//!
//! Key decision: this crate sits on top of the simulator library
//! (`orkestra-simulator`), the live backends and the reports, ripgrep-style:
//! the libraries below know nothing of the command line, and only this
//! crate links tokio and the Docker client (through `orkestra-backends`).
#![warn(missing_docs)]

pub mod check;
pub mod compare;
pub mod live;
pub mod place;
pub mod report;
pub mod run;
pub mod summary;
pub mod sweep;
