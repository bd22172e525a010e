//! What controllers ask a world (simulator or live backend) to do.
//!
//! Key decision: controllers never mutate state; they return a list of
//! actions and each world applies them its own way (an event in the
//! simulator, a Docker API call in live mode). That keeps every decision
//! replayable and testable without either world.

use crate::fit::Unschedulable;
use crate::model::{NodeId, ReplicaId, ServiceId};

/// One change a controller wants made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a new pending replica of a service.
    Create {
        /// The service.
        service: ServiceId,
    },
    /// Create the pod of ordinal `ordinal` of a StatefulSet (its claims
    /// from the templates first, where missing).
    CreateStateful {
        /// The service.
        service: ServiceId,
        /// The ordinal.
        ordinal: u32,
    },
    /// Bind a pending replica to a node and start it there.
    Bind {
        /// The replica.
        replica: ReplicaId,
        /// The node chosen for it.
        node: NodeId,
    },
    /// Stop routing to a replica, let it finish, then remove it.
    Delete {
        /// The replica.
        replica: ReplicaId,
    },
    /// A pending replica stays pending: no node passed the filters.
    Unschedulable {
        /// The replica.
        replica: ReplicaId,
        /// Why each node was rejected.
        why: Unschedulable,
    },
}
