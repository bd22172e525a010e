//! The load-time placement check: every initial replica must fit the
//! cluster under the scenario's own placement policy and queue order.
//!
//! Key decision: the check runs the real placement (the same policy, queue
//! and random stream a run starts with) rather than a capacity sum, so a
//! scenario that loads is one whose initial replicas all place, and one
//! that does not names the first service that cannot and why.

use std::ops::Range;

use super::{Ctx, InputError};
use crate::model::{DesiredState, NodeSpec, NodeStatus};
use crate::placement::{Place, QueueOrder};
use crate::quantity::{format_bytes, format_cpu_millis};
use crate::rng::{names, stream};

/// Places every initial replica with the scenario's placement policy and
/// queue order, and reports the first service whose replicas cannot all be
/// placed.
pub(super) fn check_fit(
    desired: &DesiredState,
    (nodes, storage): (&[NodeSpec], &crate::storage::Storage),
    mut policy: Box<dyn Place>,
    queue: QueueOrder,
    seed: u64,
    spans: &[Range<usize>],
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let mut rng = stream(seed, &format!("{}/placement", names::POLICY));
    let nodes = nodes.iter().map(|n| NodeStatus::new(n.clone())).collect();
    let result = crate::placement::place_initial_with_storage(
        queue,
        desired,
        nodes,
        storage.clone(),
        policy.as_mut(),
        &mut rng,
    );
    let first = result
        .first_failure
        .iter()
        .enumerate()
        .find_map(|(s, w)| w.as_ref().map(|w| (s, w)));
    if let Some((s, why)) = first {
        let spec = &desired.services[s];
        let n = result.placed[s];
        return Err(ctx.err(
            spans[s].clone(),
            format!("services.{}.replicas", spec.name),
            format!(
                "{} replicas requesting {} cpu{} and {} memory{} each do not fit the cluster: only {n} could be placed ({why})",
                spec.replicas,
                format_cpu_millis(spec.requests.cpu_milli),
                if spec.requests.gpu_milli > 0 {
                    format!(", {} gpu", format_cpu_millis(spec.requests.gpu_milli))
                } else {
                    String::new()
                },
                format_bytes(spec.requests.memory_bytes),
                others(&spec.requests),
            ),
        ));
    }
    Ok(())
}

/// The requested resources besides cpu, memory and the GPU, for the
/// message (`, 1Gi ephemeral-storage, 1 example.com/foo`); empty for most pods.
fn others(r: &crate::model::Resources) -> String {
    use crate::model::ResourceName;
    r.iter()
        .filter(|(n, _)| {
            !matches!(
                n,
                ResourceName::Cpu | ResourceName::Memory | ResourceName::Gpu
            )
        })
        .map(|(n, q)| {
            let shown = if n == ResourceName::EphemeralStorage || n.is_hugepages() {
                format_bytes(q)
            } else {
                q.to_string()
            };
            format!(", {shown} {}", n.as_str())
        })
        .collect()
}
