//! The dense integer ids every entity is addressed by.
//!
//! Key decision: ids sit below everything else in the core (the model, the
//! balancers, the schedulers all name replicas and nodes by them), so they
//! live in a module that imports nothing: a balancer can name a replica
//! without depending on the cluster model that holds its spec.

/// Index of a node in the observed cluster's node list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a service in the desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u32);

/// Index of a replica in the observed cluster's replica list; never reused
/// within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplicaId(pub u32);
