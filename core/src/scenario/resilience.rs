//! The [`Resilience`] of a scenario: topology, faults, probes and node
//! lifecycle, resolved once the nodes and services they name exist.
//!
//! Key decision: these sections come last in the pipeline because every
//! fault target and topology link is checked against the built cluster;
//! their tables are read in `topology.rs`, `faults.rs`, `stochastic.rs`
//! and `health.rs`.

use super::schema::ScenarioFile;
use super::{Ctx, InputError, Resilience, faults, health, topology};
use crate::health::Probes;
use crate::model::{NodeSpec, ServiceSpec};
use crate::time::SimDuration;

/// Topology and faults over `nodes` and `services` (job shapes included),
/// `probes` per service (job shapes get none).
pub(super) fn resolve(
    raw: &ScenarioFile,
    nodes: &[NodeSpec],
    groups: &[String],
    services: &[ServiceSpec],
    mut probes: Vec<Probes>,
    duration: SimDuration,
    ctx: &Ctx<'_>,
) -> Result<Resilience, InputError> {
    let topology = topology::build(&raw.topology, &raw.pools, nodes, ctx)?;
    let world = faults::World {
        nodes,
        groups,
        services,
        topology: &topology,
        duration,
    };
    let faults = faults::build(&raw.faults, &raw.stochastic, &world, ctx)?;
    probes.resize(services.len(), Default::default());
    Ok(Resilience {
        topology,
        faults,
        probes,
        node_lifecycle: health::node_lifecycle(&raw.node_lifecycle, ctx)?,
    })
}
