//! The per-shape half of the cache: every node's feasibility and resource
//! score for one request shape, feasible nodes bucketed by (class, score).
//!
//! Key decision: buckets are plain vectors with each node's index kept in
//! its slot, so a node moves between buckets with two swap-removes' worth
//! of work; a bitmap of non-empty levels per class finds the top bucket
//! in a few word operations. A shape syncs lazily, when it is used, from
//! its own position in the change log and its own batch cursor.

use super::ResourceScores;
use super::world::{BatchCursor, NO_CLASS, World};
use crate::model::{NodeStatus, Resources};
use crate::placement::{ClusterView, NodeAlloc, fits};
use crate::sched::NodeScore;

/// Resource score levels: NodeResourcesFit's score + BalancedAllocation, 0..=200.
pub(super) const LEVELS: usize = 201;

/// One node as a shape sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) class: u32,
    pub(super) score: u8,
    pub(super) feasible: bool,
    index: u32,
}

const EMPTY: Slot = Slot {
    class: NO_CLASS,
    score: 0,
    feasible: false,
    index: 0,
};

/// Feasibility and resource score of every node for one request shape,
/// with feasible nodes bucketed by (class, score).
#[derive(Debug)]
pub(super) struct Shape {
    pub(super) requests: Resources,
    pub(super) last_used: u64,
    generation: u64,
    pos: u64,
    cursor: BatchCursor,
    pub(super) slots: Vec<Slot>,
    pub(super) buckets: Vec<Vec<u32>>,
    levels: Vec<[u64; 4]>,
    pub(super) class_feasible: Vec<u32>,
    domain_feasible: Vec<u32>,
    pub(super) domains: u32,
    pub(super) feasible: u32,
}

impl Shape {
    /// An empty shape; its first sync builds it.
    pub(super) fn new(requests: Resources) -> Shape {
        Shape {
            requests,
            last_used: 0,
            generation: 0,
            pos: 0,
            cursor: BatchCursor::default(),
            slots: Vec::new(),
            buckets: Vec::new(),
            levels: Vec::new(),
            class_feasible: Vec::new(),
            domain_feasible: Vec::new(),
            domains: 0,
            feasible: 0,
        }
    }

    /// Brings the shape up to `view` (the world already synced): re-reads
    /// the nodes changed since this shape was last used, or every node
    /// after a world rebuild or a cut log.
    pub(super) fn sync(
        &mut self,
        view: &ClusterView<'_>,
        world: &World,
        scores: &ResourceScores,
        dirty: &mut Vec<u32>,
    ) {
        self.grow(world);
        let since = (self.generation == world.generation)
            .then(|| view.changes.since(self.pos))
            .flatten();
        dirty.clear();
        match since {
            Some(changed) => dirty.extend(changed.iter().map(|n| n.0)),
            None => {
                let requests = self.requests;
                *self = Shape::new(requests);
                self.generation = world.generation;
                self.slots = vec![EMPTY; view.len()];
                self.grow(world);
                dirty.extend(0..view.len() as u32);
            }
        }
        self.cursor.advance(view.batch, dirty);
        self.pos = view.changes.end();
        for &i in dirty.iter() {
            self.refresh(view, world, scores, i as usize);
        }
    }

    /// Room for the classes and domains the world has interned.
    fn grow(&mut self, world: &World) {
        let classes = world.class.len();
        self.buckets.resize_with(classes * LEVELS, Vec::new);
        self.levels.resize(classes, [0; 4]);
        self.class_feasible.resize(classes, 0);
        self.domain_feasible.resize(world.domains.len(), 0);
    }

    fn refresh(
        &mut self,
        view: &ClusterView<'_>,
        world: &World,
        scores: &ResourceScores,
        i: usize,
    ) {
        let (node, alloc) = (&view.nodes[i], &view.allocs[i]);
        let old = self.slots[i];
        if old.feasible {
            self.take(world, i, old);
        }
        self.slots[i] = EMPTY;
        if fits(&self.requests, node, alloc).is_ok() {
            let score = resource_score(scores, &self.requests, node, alloc);
            self.put(world, i, world.node_class[i], score);
        }
    }

    fn put(&mut self, world: &World, i: usize, class: u32, score: u8) {
        let b = class as usize * LEVELS + score as usize;
        self.slots[i] = Slot {
            class,
            score,
            feasible: true,
            index: self.buckets[b].len() as u32,
        };
        self.buckets[b].push(i as u32);
        self.levels[class as usize][score as usize / 64] |= 1 << (score % 64);
        self.class_feasible[class as usize] += 1;
        let d = world.class[class as usize].domain as usize;
        if self.domain_feasible[d] == 0 {
            self.domains += 1;
        }
        self.domain_feasible[d] += 1;
        self.feasible += 1;
    }

    fn take(&mut self, world: &World, i: usize, slot: Slot) {
        let b = slot.class as usize * LEVELS + slot.score as usize;
        let bucket = &mut self.buckets[b];
        debug_assert_eq!(bucket[slot.index as usize], i as u32);
        bucket.swap_remove(slot.index as usize);
        if let Some(&moved) = bucket.get(slot.index as usize) {
            self.slots[moved as usize].index = slot.index;
        }
        if bucket.is_empty() {
            self.levels[slot.class as usize][slot.score as usize / 64] &= !(1 << (slot.score % 64));
        }
        self.class_feasible[slot.class as usize] -= 1;
        let d = world.class[slot.class as usize].domain as usize;
        self.domain_feasible[d] -= 1;
        if self.domain_feasible[d] == 0 {
            self.domains -= 1;
        }
        self.feasible -= 1;
    }

    /// The highest non-empty level of `class` at or below `level`.
    pub(super) fn level_at_or_below(&self, class: u32, level: usize) -> Option<usize> {
        let words = &self.levels[class as usize];
        let (mut w, bit) = (level / 64, level % 64);
        let mut word = words[w] & (u64::MAX >> (63 - bit));
        loop {
            if word != 0 {
                return Some(w * 64 + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = words[w];
        }
    }
}

/// NodeResourcesFit's score + BalancedAllocation, by the plugins themselves.
fn resource_score(
    scores: &ResourceScores,
    requests: &Resources,
    node: &NodeStatus,
    alloc: &NodeAlloc,
) -> u8 {
    let s = scores.fit.node_score(requests, node, alloc)
        + scores.balanced.node_score(requests, node, alloc);
    debug_assert!((0..LEVELS as i64).contains(&s));
    s as u8
}
