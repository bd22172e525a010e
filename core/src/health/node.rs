//! Node lifecycle: heartbeats, NotReady after a grace period, NoExecute
//! taints and taint-based eviction.
//!
//! Key decision: per node we keep only the last heartbeat, the condition and
//! when the NoExecute taint was added — the node lifecycle controller's own
//! state — in dense arrays indexed by [`NodeId`]. The transition instants
//! have closed forms ([`NodeLifecycleConfig::not_ready_at`],
//! [`NodeLifecycle::evict_at`]), so a simulator schedules one event per
//! crashed node instead of a heartbeat per node every 10 s; [`NodeLifecycle::monitor`]
//! is the polling form for a world that ticks (and the test oracle).
//!
//! Sources:
//! - kubelet posts node status every `nodeStatusUpdateFrequency` (10 s).
//! - `pkg/controller/nodelifecycle/node_lifecycle_controller.go`
//!   `monitorNodeHealth` runs every `nodeMonitorPeriod` (5 s); `tryUpdateNodeHealth`
//!   sets the Ready condition to Unknown when
//!   `now.After(probeTimestamp.Add(gracePeriod))` — strictly after — with
//!   `nodeMonitorGracePeriod` (40 s in the releases this transcribes;
//!   v1.32 raised the default to 50 s; set it in `[nodeLifecycle]`). It then
//!   taints the node `node.kubernetes.io/unreachable:NoExecute`
//!   (`node.kubernetes.io/not-ready` when the kubelet itself reports
//!   NotReady); the taint's `TimeAdded` is that pass.
//! - Taint-based eviction (`pkg/controller/tainteviction`): a pod that
//!   tolerates the taint for `tolerationSeconds` is deleted at
//!   `TimeAdded + tolerationSeconds`; the DefaultTolerationSeconds admission
//!   plugin gives every pod 300 s for both taints. A heartbeat before then
//!   removes the taint and cancels the eviction.
//!
//! Not modelled: the eviction rate limiter (`nodeEvictionRate` 0.1 node/s,
//! zone-state secondary rates) — taints are applied in the same pass.

use crate::model::NodeId;
use crate::time::{SimDuration, SimTime};

/// Timing of `[nodeLifecycle]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLifecycleConfig {
    /// kubelet `nodeStatusUpdateFrequency` (default 10 s).
    pub heartbeat_interval: SimDuration,
    /// kube-controller-manager `--node-monitor-period` (default 5 s).
    pub monitor_period: SimDuration,
    /// `--node-monitor-grace-period` (default 40 s).
    pub grace_period: SimDuration,
    /// `tolerationSeconds` for the not-ready/unreachable taints (default 300 s).
    pub toleration: SimDuration,
    /// The attach-detach controller's
    /// `--attach-detach-reconcile-max-wait-unmount-duration` (default 6
    /// min): how long a volume stays attached to a node that is not ready
    /// after its pod is deleted, before the force detach.
    pub max_wait_for_unmount: SimDuration,
}

impl Default for NodeLifecycleConfig {
    fn default() -> NodeLifecycleConfig {
        NodeLifecycleConfig {
            heartbeat_interval: SimDuration::from_secs(10),
            monitor_period: SimDuration::from_secs(5),
            grace_period: SimDuration::from_secs(40),
            toleration: SimDuration::from_secs(300),
            max_wait_for_unmount: SimDuration::from_secs(360),
        }
    }
}

impl NodeLifecycleConfig {
    /// The last heartbeat at or before `at` of a kubelet that posts at
    /// `phase + k·heartbeatInterval` (a node that crashes at `at`).
    pub fn last_heartbeat(&self, phase: SimTime, at: SimTime) -> SimTime {
        if at < phase || self.heartbeat_interval.0 == 0 {
            return phase.min(at);
        }
        let k = (at - phase).0 / self.heartbeat_interval.0;
        phase + SimDuration(k * self.heartbeat_interval.0)
    }

    /// The monitor pass that first sees a node silent since `last_heartbeat`:
    /// the first multiple of `monitor_period` strictly after `last + grace`.
    pub fn not_ready_at(&self, last_heartbeat: SimTime) -> SimTime {
        let deadline = last_heartbeat + self.grace_period;
        if self.monitor_period.0 == 0 {
            return deadline + SimDuration(1);
        }
        let k = deadline.0 / self.monitor_period.0 + 1;
        SimTime(k.saturating_mul(self.monitor_period.0))
    }
}

/// The node's Ready condition as the controller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeCondition {
    /// Heartbeats arrive.
    Ready,
    /// The kubelet reports NotReady (taint `node.kubernetes.io/not-ready`).
    NotReady,
    /// No heartbeat for the grace period (taint `node.kubernetes.io/unreachable`).
    Unknown,
}

/// A change the world must apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeTransition {
    /// The node is tainted NoExecute: remove it from scheduling and its
    /// replicas from the endpoints; evict them at `evict_at`.
    Tainted {
        /// The node.
        node: NodeId,
        /// Unknown or NotReady.
        condition: NodeCondition,
        /// `TimeAdded + tolerationSeconds`.
        evict_at: SimTime,
    },
    /// A heartbeat came back: untaint, cancel the pending eviction.
    Recovered(NodeId),
}

#[derive(Clone, Debug)]
struct NodeState {
    last_heartbeat: SimTime,
    condition: NodeCondition,
    tainted_at: Option<SimTime>,
    evicted: bool,
}

/// The node lifecycle controller's view of every node.
#[derive(Clone, Debug)]
pub struct NodeLifecycle {
    config: NodeLifecycleConfig,
    nodes: Vec<NodeState>,
}

impl NodeLifecycle {
    /// `nodes` nodes, all Ready with a heartbeat at `now`.
    pub fn new(config: NodeLifecycleConfig, nodes: usize, now: SimTime) -> NodeLifecycle {
        let mut l = NodeLifecycle {
            config,
            nodes: Vec::with_capacity(nodes),
        };
        for _ in 0..nodes {
            l.add_node(now);
        }
        l
    }

    /// The timing in force.
    pub fn config(&self) -> &NodeLifecycleConfig {
        &self.config
    }

    /// Appends a node (ids are never reused), Ready with a heartbeat at `now`.
    pub fn add_node(&mut self, now: SimTime) -> NodeId {
        self.nodes.push(NodeState {
            last_heartbeat: now,
            condition: NodeCondition::Ready,
            tainted_at: None,
            evicted: false,
        });
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// The node's condition.
    pub fn condition(&self, node: NodeId) -> NodeCondition {
        self.nodes[node.0 as usize].condition
    }

    /// The kubelet of `node` posted its status at `now`.
    pub fn heartbeat(&mut self, node: NodeId, now: SimTime) -> Option<NodeTransition> {
        let n = &mut self.nodes[node.0 as usize];
        n.last_heartbeat = n.last_heartbeat.max(now);
        if n.condition == NodeCondition::Ready {
            return None;
        }
        n.condition = NodeCondition::Ready;
        n.tainted_at = None;
        n.evicted = false;
        Some(NodeTransition::Recovered(node))
    }

    /// The kubelet of `node` reported NotReady at `now` (e.g. its runtime is down).
    pub fn report_not_ready(&mut self, node: NodeId, now: SimTime) -> Option<NodeTransition> {
        self.taint(node, NodeCondition::NotReady, now)
    }

    /// One monitor pass at `now` over one node (O(1)): taints it if its last
    /// heartbeat is more than the grace period ago.
    pub fn check(&mut self, node: NodeId, now: SimTime) -> Option<NodeTransition> {
        let n = &self.nodes[node.0 as usize];
        if n.condition == NodeCondition::Ready && now > n.last_heartbeat + self.config.grace_period
        {
            return self.taint(node, NodeCondition::Unknown, now);
        }
        None
    }

    /// One monitor pass at `now` over every node (O(nodes)), in id order.
    pub fn monitor(&mut self, now: SimTime) -> Vec<NodeTransition> {
        (0..self.nodes.len() as u32)
            .filter_map(|i| self.check(NodeId(i), now))
            .collect()
    }

    /// When the replicas of a tainted node are evicted (None when untainted).
    pub fn evict_at(&self, node: NodeId) -> Option<SimTime> {
        self.nodes[node.0 as usize]
            .tainted_at
            .map(|t| t + self.config.toleration)
    }

    /// Nodes whose eviction time has come by `now` and were not evicted
    /// yet; each is returned once (until it recovers and fails again).
    pub fn evictions_due(&mut self, now: SimTime) -> Vec<NodeId> {
        let toleration = self.config.toleration;
        let mut due = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if !n.evicted && n.tainted_at.is_some_and(|t| now >= t + toleration) {
                n.evicted = true;
                due.push(NodeId(i as u32));
            }
        }
        due
    }

    fn taint(&mut self, node: NodeId, c: NodeCondition, now: SimTime) -> Option<NodeTransition> {
        let n = &mut self.nodes[node.0 as usize];
        if n.condition != NodeCondition::Ready {
            return None;
        }
        n.condition = c;
        n.tainted_at = Some(now);
        Some(NodeTransition::Tainted {
            node,
            condition: c,
            evict_at: now + self.config.toleration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1_000_000_000)
    }

    #[test]
    fn crash_to_not_ready_to_eviction_closed_form() {
        let k8s = NodeLifecycleConfig::default();
        let grace50 = NodeLifecycleConfig {
            grace_period: SimDuration::from_secs(50),
            ..k8s
        };
        // (config, crash at s, expected last heartbeat, NotReady, eviction)
        let cases = [
            // Heartbeats at 0, 10, …, 100 (the one at 100 is posted before the
            // crash); deadline 100 + 40 = 140; the pass at 140 is not *after*
            // it, so the pass at 145 marks Unknown; eviction 145 + 300 = 445.
            (k8s, 100, 100, 145, 445),
            // Crash at 104: last heartbeat still 100 → same instants.
            (k8s, 104, 100, 145, 445),
            // Crash at 95: last heartbeat 90, deadline 130 → 135, evict 435.
            (k8s, 95, 90, 135, 435),
            // Grace 50 s (v1.32 default): deadline 150 → 155, evict 455.
            (grace50, 100, 100, 155, 455),
        ];
        for (cfg, crash, hb, not_ready, evict) in cases {
            let last = cfg.last_heartbeat(s(0), s(crash));
            assert_eq!(last, s(hb), "crash {crash}");
            let nr = cfg.not_ready_at(last);
            assert_eq!(nr, s(not_ready), "crash {crash}");
            assert_eq!(nr + cfg.toleration, s(evict), "crash {crash}");
        }
    }

    #[test]
    fn polling_agrees_with_the_closed_form() {
        // Three nodes; node 1 crashes at 100 s (last heartbeat 100), the
        // others keep posting every 10 s; monitor passes every 5 s.
        let cfg = NodeLifecycleConfig::default();
        let mut l = NodeLifecycle::new(cfg, 3, s(0));
        let mut tainted = None;
        let mut evicted = None;
        for t in (0..=500).step_by(5) {
            let now = s(t);
            if t % 10 == 0 {
                for n in [0, 1, 2] {
                    if n != 1 || t <= 100 {
                        l.heartbeat(NodeId(n), now);
                    }
                }
            }
            for tr in l.monitor(now) {
                tainted = Some((now, tr));
            }
            if let [n] = l.evictions_due(now)[..] {
                evicted = Some((now, n));
            }
        }
        let want = NodeTransition::Tainted {
            node: NodeId(1),
            condition: NodeCondition::Unknown,
            evict_at: s(445),
        };
        assert_eq!(tainted, Some((s(145), want)));
        assert_eq!(evicted, Some((s(445), NodeId(1))));
        assert_eq!(l.condition(NodeId(0)), NodeCondition::Ready);
    }

    #[test]
    fn heartbeat_before_the_toleration_cancels_eviction() {
        let cfg = NodeLifecycleConfig::default();
        let mut l = NodeLifecycle::new(cfg, 1, s(0));
        // Silent from 0: deadline 40 → tainted at the pass at 45, evict at 345.
        assert!(l.check(NodeId(0), s(40)).is_none());
        assert!(l.check(NodeId(0), s(45)).is_some());
        assert_eq!(l.evict_at(NodeId(0)), Some(s(345)));
        assert_eq!(
            l.heartbeat(NodeId(0), s(200)),
            Some(NodeTransition::Recovered(NodeId(0)))
        );
        assert_eq!(l.evict_at(NodeId(0)), None);
        assert!(l.evictions_due(s(400)).is_empty());
        // A kubelet-reported NotReady taints at once: evict 410 + 300 = 710.
        match l.report_not_ready(NodeId(0), s(410)) {
            Some(NodeTransition::Tainted {
                evict_at,
                condition,
                ..
            }) => {
                assert_eq!((evict_at, condition), (s(710), NodeCondition::NotReady));
            }
            other => panic!("{other:?}"),
        }
    }
}
