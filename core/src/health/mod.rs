//! Self-healing state machines: container probes, restart back-off and node
//! lifecycle, transcribed from the kubelet and the node lifecycle controller.
//!
//! Key decision: each machine is a small value fed with observations and
//! the time (`now: SimTime`), answering *when* something happens (the next
//! probe, the restart, NotReady, the eviction) as closed-form instants, so a
//! discrete-event world schedules one event per transition instead of
//! polling every probe period or heartbeat. A world that does poll (the live
//! backend on a tokio interval) feeds the same values and gets the same
//! transitions.
//!
//! - [`probe`] — liveness/readiness probes (kubelet `prober/worker.go`).
//! - [`backoff`] — `CrashLoopBackOff` (kubelet `flowcontrol.Backoff`, 10 s doubling to 5 min).
//! - [`node`] — heartbeats, NotReady after `nodeMonitorGracePeriod`, NoExecute
//!   taints and taint-based eviction after `tolerationSeconds`.

pub mod backoff;
pub mod node;
pub mod probe;

#[cfg(test)]
mod tests;

pub use backoff::CrashLoopBackOff;
pub use node::{NodeCondition, NodeLifecycle, NodeLifecycleConfig, NodeTransition};
pub use probe::{Probe, ProbeKind, ProbeOutcome, ProbeSpec, Probes};
