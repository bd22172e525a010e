//! A kube-scheduler-style framework: filter plugins, score plugins, profiles.
//!
//! Key decision: a [`Profile`] is itself a [`Place`] policy, so the
//! simulator and live mode use it through the same seam as first fit. Each
//! filter says *why* a node is infeasible; each score plugin answers on
//! Kubernetes' one 0–100 scale with upstream's integer arithmetic; the
//! profile sums `weight × score` and picks the highest, breaking ties
//! uniformly at random (reservoir sampling, as kube-scheduler's
//! `selectHost`). With sampling on, filtering stops once
//! `numFeasibleNodesToFind` nodes pass, starting where the previous cycle
//! stopped (kube-scheduler's `percentageOfNodesToScore`).

pub mod affinity;
pub mod config;
mod default_profile;
pub mod drf;
pub mod ecs_spread;
pub mod fast;
pub mod hard;
pub mod interpod;
pub mod plugin_set;
pub mod plugins;
pub mod policies;
pub mod preemption;
pub mod spread;
pub mod swarm_binpack;
pub mod swarm_spread;
pub mod taint;
pub mod tetris;

use rand::{Rng, RngExt};

use crate::fit::{FilterReason, Unschedulable};
use crate::model::{NodeId, NodeStatus, Resources};
use crate::placement::{ClusterView, NodeAlloc, NodeVerdict, Place, Request};

/// Kubernetes' `MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's `DefaultNormalizeScore` (`plugins/helper/normalize_score.go`):
/// scales `[0, max(scores)]` onto `[0, max_priority]` with integer division
/// (`max_priority × score / max`), then with `reverse` subtracts from
/// `max_priority`. When every score is 0, `reverse` gives every node
/// `max_priority` and otherwise the zeros stay. Scores are assumed ≥ 0.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    let max = scores.iter().copied().fold(0, i64::max);
    if max == 0 {
        if reverse {
            scores.fill(max_priority);
        }
        return;
    }
    for s in scores {
        let scaled = max_priority * *s / max;
        *s = if reverse {
            max_priority - scaled
        } else {
            scaled
        };
    }
}

/// A filter plugin: can this node take the replica?
pub trait Filter: Send {
    /// Plugin name (as in kube-scheduler where one exists).
    fn name(&self) -> &'static str;
    /// kube's `PreFilter`: per-decision state computed once from the whole
    /// view (e.g. replicas per topology domain) before nodes are filtered.
    fn prepare(&mut self, _request: &Request<'_>, _view: &ClusterView<'_>) {}
    /// After [`Filter::prepare`]: whether the PreFilter returned Skip, so
    /// the filter passes every node and need not be called (upstream skips
    /// such plugins' Filter). Default: no.
    fn skips(&self) -> bool {
        false
    }
    /// `Ok` if node `i` of `view` is feasible, else the reason.
    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason>;
}

/// A score plugin: how good is this node, 0..=100.
pub trait Score: Send {
    /// Plugin name.
    fn name(&self) -> &'static str;
    /// kube's `PreScore`: per-decision state from the view and the feasible nodes.
    fn prepare(&mut self, _request: &Request<'_>, _view: &ClusterView<'_>, _feasible: &[usize]) {}
    /// Node `i`'s raw score for the replica: 0..=[`MAX_NODE_SCORE`] unless
    /// [`Score::normalize`] maps the plugin's own scale (a count, a
    /// negative weighted sum) onto it, as upstream's NormalizeScore does.
    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64;
    /// Optional normalisation over all scored nodes (kube's `NormalizeScore`);
    /// `scores[k]` belongs to `feasible[k]` of [`Score::prepare`].
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// A score that depends only on the replica's requests and one node's own
/// state (the resource plugins); every such plugin is a [`Score`].
pub trait NodeScore: Send {
    /// Plugin name.
    fn name(&self) -> &'static str;
    /// The node's score, 0..=[`MAX_NODE_SCORE`].
    fn node_score(&self, request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> i64;
}

impl<T: NodeScore> Score for T {
    fn name(&self) -> &'static str {
        NodeScore::name(self)
    }
    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        self.node_score(&request.resources, &view.nodes[i], &view.allocs[i])
    }
}

/// How many nodes to filter before scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// Filter and score every node.
    All,
    /// kube-scheduler's adaptive default: 50% − nodes/125, at least 5%, at least 100 nodes.
    Adaptive,
    /// A fixed percentage of nodes (at least 100 nodes).
    Percent(u32),
}

/// kube-scheduler's `numFeasibleNodesToFind` (`schedule_one.go`): with `n`
/// nodes and `percentage` (0 = adaptive), how many feasible nodes to find.
pub fn num_feasible_nodes_to_find(n: u32, percentage: u32) -> u32 {
    const MIN_FEASIBLE_NODES_TO_FIND: u32 = 100;
    const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;
    if n < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100 {
        return n;
    }
    let mut adaptive = i64::from(percentage);
    if adaptive <= 0 {
        adaptive = 50 - i64::from(n) / 125;
        if adaptive < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND {
            adaptive = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
        }
    }
    let num = (i64::from(n) * adaptive / 100) as u32;
    num.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Filters plus weighted scores: a scheduling profile.
pub struct Profile {
    name: &'static str,
    filters: Vec<Box<dyn Filter>>,
    /// The filters that did not skip this decision.
    active: Vec<usize>,
    scores: Vec<(Box<dyn Score>, i64)>,
    sampling: Sampling,
    next_start: usize,
    scratch: Vec<(usize, i64)>,
    feasible: Vec<usize>,
    column: Vec<i64>,
}

impl Profile {
    /// A profile called `name`.
    pub fn new(
        name: &'static str,
        filters: Vec<Box<dyn Filter>>,
        scores: Vec<(Box<dyn Score>, i64)>,
        sampling: Sampling,
    ) -> Profile {
        Profile {
            name,
            filters,
            active: Vec::new(),
            scores,
            sampling,
            next_start: 0,
            scratch: Vec::new(),
            feasible: Vec::new(),
            column: Vec::new(),
        }
    }

    /// The filter plugins' names, in order.
    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filters.iter().map(|f| f.name()).collect()
    }

    /// The score plugins' names and weights, in order.
    pub fn score_names(&self) -> Vec<(&'static str, i64)> {
        self.scores.iter().map(|(s, w)| (s.name(), *w)).collect()
    }

    /// Scores plugin by plugin for every feasible node: `(node, total)`.
    fn feasible_and_scores(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        why: &mut Unschedulable,
    ) {
        let n = view.len();
        self.active.clear();
        for (k, f) in self.filters.iter_mut().enumerate() {
            f.prepare(request, view);
            if !f.skips() {
                self.active.push(k);
            }
        }
        let want = match self.sampling {
            Sampling::All => n as u32,
            Sampling::Adaptive => num_feasible_nodes_to_find(n as u32, 0),
            Sampling::Percent(p) => num_feasible_nodes_to_find(n as u32, p),
        } as usize;
        self.scratch.clear();
        let mut processed = 0;
        for k in 0..n {
            if self.scratch.len() >= want {
                break;
            }
            let i = (self.next_start + k) % n;
            processed += 1;
            match self
                .active
                .iter()
                .try_for_each(|&f| self.filters[f].filter(request, view, i))
            {
                Ok(()) => self.scratch.push((i, 0)),
                Err(r) => why.add(r),
            }
        }
        if n > 0 {
            self.next_start = (self.next_start + processed) % n;
        }
        self.feasible.clear();
        self.feasible.extend(self.scratch.iter().map(|&(i, _)| i));
        for (plugin, weight) in &mut self.scores {
            plugin.prepare(request, view, &self.feasible);
            self.column.clear();
            self.column.extend(
                self.scratch
                    .iter()
                    .map(|&(i, _)| plugin.score(request, view, i)),
            );
            plugin.normalize(&mut self.column);
            for (slot, s) in self.scratch.iter_mut().zip(&self.column) {
                slot.1 += s * *weight;
            }
        }
    }
}

impl Place for Profile {
    fn name(&self) -> &'static str {
        self.name
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        let mut why = Unschedulable::default();
        self.feasible_and_scores(request, view, &mut why);
        // selectHost: highest total; ties replaced with probability 1/count.
        let mut best: Option<(usize, i64)> = None;
        let mut ties = 0u32;
        for &(i, s) in &self.scratch {
            match best {
                Some((_, b)) if s < b => {}
                Some((_, b)) if s == b => {
                    ties += 1;
                    if rng.random_range(0..ties) == 0 {
                        best = Some((i, s));
                    }
                }
                _ => {
                    best = Some((i, s));
                    ties = 1;
                }
            }
        }
        match best {
            Some((i, _)) => Ok(NodeId(i as u32)),
            None => {
                why.nodes = view.len() as u32;
                Err(why)
            }
        }
    }

    /// Every node's filter verdicts; for the feasible nodes every score
    /// plugin's raw score (after normalisation over the feasible nodes, as
    /// kube-scheduler reports it) and weighted score.
    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        for f in &mut self.filters {
            f.prepare(request, view);
        }
        let mut rows: Vec<NodeVerdict> = (0..view.len())
            .map(|i| NodeVerdict {
                node: view.nodes[i].spec.name.clone(),
                filters: self
                    .filters
                    .iter()
                    .map(|f| {
                        (
                            f.name().to_string(),
                            f.filter(request, view, i).err().map(|r| r.to_string()),
                        )
                    })
                    .collect(),
                scores: vec![],
                total: 0,
            })
            .collect();
        let feasible: Vec<usize> = (0..view.len())
            .filter(|&i| rows[i].filters.iter().all(|f| f.1.is_none()))
            .collect();
        for (plugin, weight) in &mut self.scores {
            plugin.prepare(request, view, &feasible);
            let mut column: Vec<i64> = feasible
                .iter()
                .map(|&i| plugin.score(request, view, i))
                .collect();
            plugin.normalize(&mut column);
            for (&i, &raw) in feasible.iter().zip(&column) {
                rows[i]
                    .scores
                    .push((plugin.name().to_string(), raw, raw * *weight));
                rows[i].total += raw * *weight;
            }
        }
        rows
    }
}

/// The best candidate by key (greater is better), ties broken uniformly at
/// random by reservoir sampling: the k-th equal candidate replaces the
/// current one with probability 1/k (kube-scheduler's `selectHost`).
/// Whole-placement rules use it where the system they reproduce leaves ties
/// to an unspecified order (Go map iteration, an unstable sort).
#[derive(Clone, Copy, Debug)]
pub struct Pick<K> {
    best: Option<(usize, K)>,
    ties: u32,
}

impl<K> Default for Pick<K> {
    fn default() -> Self {
        Pick {
            best: None,
            ties: 0,
        }
    }
}

impl<K: PartialOrd> Pick<K> {
    /// Considers candidate `i` with `key`; keys that do not compare (NaN) lose.
    pub fn offer(&mut self, i: usize, key: K, rng: &mut dyn Rng) {
        let order = match &self.best {
            None => Some(std::cmp::Ordering::Greater),
            Some((_, b)) => key.partial_cmp(b),
        };
        match order {
            Some(std::cmp::Ordering::Greater) => {
                self.best = Some((i, key));
                self.ties = 1;
            }
            Some(std::cmp::Ordering::Equal) => {
                self.ties += 1;
                if rng.random_range(0..self.ties) == 0 {
                    self.best = Some((i, key));
                }
            }
            _ => {}
        }
    }

    /// The chosen candidate, if any was offered.
    pub fn best(&self) -> Option<usize> {
        self.best.as_ref().map(|(i, _)| *i)
    }
}

/// `Place::explain` for a rule that ranks feasible nodes by a key (greater
/// is better): every node's NodeResourcesFit verdict and, for feasible
/// nodes, the parts of its key as score rows (raw = weighted) and as total
/// the number of feasible nodes ranked strictly below it, so the highest
/// total is the best rank and equal keys show equal totals.
pub fn explain_ranked<K: PartialOrd>(
    request: &Request<'_>,
    view: &ClusterView<'_>,
    mut key: impl FnMut(usize) -> (K, Vec<(&'static str, i64)>),
) -> Vec<NodeVerdict> {
    let mut rows = Vec::with_capacity(view.len());
    let mut keys = Vec::new();
    let mut hard = hard::HardFilters::default();
    hard.prepare(request, view);
    for (i, node) in view.nodes.iter().enumerate() {
        let filters = hard.verdicts(request, view, i);
        let feasible = filters.iter().all(|f| f.1.is_none());
        let mut row = NodeVerdict {
            node: node.spec.name.clone(),
            filters,
            scores: vec![],
            total: 0,
        };
        if feasible {
            let (k, parts) = key(i);
            row.scores = parts
                .into_iter()
                .map(|(n, v)| (n.to_string(), v, v))
                .collect();
            keys.push((i, k));
        }
        rows.push(row);
    }
    let mut sorted: Vec<&K> = keys.iter().map(|(_, k)| k).collect();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    for (i, k) in &keys {
        rows[*i].total = sorted.partition_point(|o| *o < k) as i64;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_normalize_score_replays_upstream_table() {
        // normalize_score_test.go. Forward: 100·s/max with integer division; reverse: 100 − that.
        let cases: &[(bool, [i64; 4], [i64; 4])] = &[
            // max 4: 100·1/4 = 25, 50, 75, 100.
            (false, [1, 2, 3, 4], [25, 50, 75, 100]),
            (true, [1, 2, 3, 4], [75, 50, 25, 0]),
            // max 1000: 100·10/1000 = 1, 2, 3.
            (false, [1000, 10, 20, 30], [100, 1, 2, 3]),
            (true, [1000, 10, 20, 30], [0, 99, 98, 97]),
            (false, [1, 1, 1, 1], [100, 100, 100, 100]),
            // 100·1/1000 = 0 (truncated).
            (false, [1000, 1, 1, 1], [100, 0, 0, 0]),
            (true, [0, 1, 1, 1], [100, 0, 0, 0]),
            // All zero: reverse gives everyone the maximum, forward leaves zeros.
            (true, [0, 0, 0, 0], [100, 100, 100, 100]),
            (false, [0, 0, 0, 0], [0, 0, 0, 0]),
        ];
        for &(reverse, scores, want) in cases {
            let mut got = scores;
            default_normalize_score(MAX_NODE_SCORE, reverse, &mut got);
            assert_eq!(got, want, "reverse {reverse}, {scores:?}");
        }
    }

    #[test]
    fn adaptive_sampling_matches_kube_scheduler() {
        // n < 100: all. n = 1000: 50 − 1000/125 = 42% → 420. n = 5000: 50 − 40 = 10% → 500.
        // n = 10000: 50 − 80 < 5 → 5% → 500. n = 100000: 5% → 5000. n = 150: 48% → 72 → at least 100.
        for (n, want) in [
            (50, 50),
            (150, 100),
            (1000, 420),
            (5000, 500),
            (10_000, 500),
            (100_000, 5000),
        ] {
            assert_eq!(num_feasible_nodes_to_find(n, 0), want, "n = {n}");
        }
        // A configured 30% of 1000 nodes = 300; 100% = all.
        assert_eq!(num_feasible_nodes_to_find(1000, 30), 300);
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
    }
}
