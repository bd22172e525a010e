//! `orkestra-workload`: the program inside every live-mode container.
//!
//! Key decision: the workload *embodies* a scenario's service model instead
//! of approximating it — `concurrency` slots, an optional bounded FIFO queue
//! and per-request work drawn from the same [`orkestra_core::dist::DurationDist`]
//! on the same named stream (`service`) that the simulator uses — so a live
//! replica and a simulated one differ only by what the real machine adds
//! (scheduling noise, CPU limits, network). It depends on nothing but
//! `orkestra-core`, `rand` and `tokio`, binds IP literals only (no DNS) and
//! is built statically (`+crt-static`) to run in a `FROM scratch` image.
//!
//! - [`http1`]: the small HTTP/1.1 codec (Content-Length framing, keep-alive)
//!   that the reverse proxy and the load generator reuse.
//! - [`server`]: [`serve`] — `/work` (any other path), `/healthz`, `/readyz`,
//!   `/metrics` (Prometheus text), graceful drain on shutdown.
//! - [`cli`]: the flags of the binary ⇄ [`WorkloadConfig`] ([`parse_args`],
//!   [`to_args`]); see [`cli::USAGE`] for the flag set.
#![warn(missing_docs)]

pub mod cli;
pub mod http1;
pub mod server;

pub use cli::{DistArgs, DistKind, parse_args, to_args};
pub use server::{Work, WorkloadConfig, serve};
