//! Fault injection: validated fault specs and the plan that turns them into
//! a time-ordered stream of start/end events.
//!
//! Key decision: faults are *data* validated with the scenario
//! ([`spec`]), expanded lazily into [`FaultEvent`]s by a [`FaultPlan`]
//! ([`plan`]) that draws only from the `failures/…` random streams — so
//! adding, removing or changing a fault never moves an arrival or a service
//! time. The plan says what breaks and when; the world applies it (stops a
//! node's replicas, cuts a link in the [`crate::topology::Topology`], pauses
//! its controller loop) and the self-healing machines in [`crate::health`]
//! decide how the cluster reacts. Per-replica processes (container crashes,
//! out-of-memory kills) depend on replicas the plan does not know, so
//! [`replica`] gives the pure helpers the world calls at replica start and
//! on each request.
//!
//! Sources: the fault vocabulary follows chaos tools operators know
//! (Chaos Mesh's PodChaos/NetworkChaos/StressChaos, AWS FIS actions); the
//! failure processes follow reliability practice (exponential, Weibull and
//! lognormal lifetimes; Schroeder & Gibson, "Disk failures in the real
//! world", FAST 2007, for Weibull inter-failure times).

pub mod plan;
pub mod replica;
pub mod spec;

pub use plan::{Edge, FaultEvent, FaultPlan};
pub use replica::{MemoryModel, next_container_crash};
pub use spec::{FailureProcess, FailureScope, Fault, FaultKind, FaultsSpec, Lifetime, LiveAction};
