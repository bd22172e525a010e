//! Central-queue mode's bookkeeping: free request slots and the requests
//! waiting for one.
//!
//! Key decision: one stack of free slots (one entry per slot, the replica
//! it belongs to; the most recently freed slot is reused first, which keeps
//! warm replicas busy) and one FIFO of waiters, oldest first, as HAProxy's
//! `maxconn` + queue. Entries go stale when a replica leaves or dies; the
//! world says which slots are usable and which waiters still wait (not
//! timed out, client still there) as it takes them, so the pool never
//! walks its contents to clean up. `W` is whatever the world keeps per
//! waiter: an arrival time in the simulator, a reply channel in the proxy.

use std::collections::VecDeque;

use crate::ids::ReplicaId;

/// Free slots and waiting requests.
#[derive(Debug)]
pub struct SlotPool<W> {
    free: Vec<ReplicaId>,
    waiting: VecDeque<W>,
}

impl<W> Default for SlotPool<W> {
    fn default() -> Self {
        SlotPool {
            free: Vec::new(),
            waiting: VecDeque::new(),
        }
    }
}

impl<W> SlotPool<W> {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replica `r` brings `slots` free slots (it became ready).
    pub fn add(&mut self, r: ReplicaId, slots: u32) {
        for _ in 0..slots {
            self.free.push(r);
        }
    }

    /// One slot of `r` is free again.
    #[inline]
    pub fn release(&mut self, r: ReplicaId) {
        self.free.push(r);
    }

    /// A free slot that is `usable`; unusable entries met on the way are dropped.
    #[inline]
    pub fn take(&mut self, mut usable: impl FnMut(ReplicaId) -> bool) -> Option<ReplicaId> {
        while let Some(r) = self.free.pop() {
            if usable(r) {
                return Some(r);
            }
        }
        None
    }

    /// `w` waits for a slot, behind everyone already waiting.
    #[inline]
    pub fn wait(&mut self, w: W) {
        self.waiting.push_back(w);
    }

    /// Requests waiting (including any that stopped waiting and have not
    /// been met yet).
    #[inline]
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The oldest waiter that is still `live`; the others met on the way
    /// are dropped (the world counts them through `live`).
    #[inline]
    pub fn next_waiter(&mut self, mut live: impl FnMut(&W) -> bool) -> Option<W> {
        while let Some(w) = self.waiting.pop_front() {
            if live(&w) {
                return Some(w);
            }
        }
        None
    }

    /// A usable free slot and the oldest live waiter, together; when there
    /// is a slot but no live waiter, the slot stays free.
    #[inline]
    pub fn pair(
        &mut self,
        usable: impl FnMut(ReplicaId) -> bool,
        live: impl FnMut(&W) -> bool,
    ) -> Option<(ReplicaId, W)> {
        if self.waiting.is_empty() {
            return None;
        }
        let slot = self.take(usable)?;
        match self.next_waiter(live) {
            Some(w) => Some((slot, w)),
            None => {
                self.free.push(slot);
                None
            }
        }
    }

    /// The slot of `r` that just finished serves the oldest live waiter,
    /// returned; with none, it becomes free.
    #[inline]
    pub fn reuse(&mut self, r: ReplicaId, live: impl FnMut(&W) -> bool) -> Option<W> {
        let w = self.next_waiter(live);
        if w.is_none() {
            self.free.push(r);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_freed_slot_is_taken_first_and_stale_ones_are_dropped() {
        let mut pool = SlotPool::<u64>::new();
        pool.add(ReplicaId(1), 2);
        pool.add(ReplicaId(2), 1);
        // Stack order: 2, then 1, 1. Replica 2 left: its slot is skipped and dropped.
        assert_eq!(pool.take(|r| r != ReplicaId(2)), Some(ReplicaId(1)));
        pool.release(ReplicaId(3));
        assert_eq!(pool.take(|_| true), Some(ReplicaId(3)));
        assert_eq!(pool.take(|_| true), Some(ReplicaId(1)));
        assert_eq!(pool.take(|_| true), None);
    }

    #[test]
    fn waiters_are_served_oldest_first_skipping_those_that_left() {
        let mut pool = SlotPool::new();
        for arrival in [10u64, 20, 30, 40] {
            pool.wait(arrival);
        }
        assert_eq!(pool.pair(|_| true, |_| true), None, "no slot yet");
        pool.add(ReplicaId(0), 2);
        // 10 timed out: 20 takes the first slot.
        let mut expired = 0;
        let live = |a: &u64| {
            if *a <= 10 {
                expired += 1;
            }
            *a > 10
        };
        assert_eq!(pool.pair(|_| true, live), Some((ReplicaId(0), 20)));
        assert_eq!(expired, 1);
        // A finishing request's slot goes straight to 30.
        assert_eq!(pool.reuse(ReplicaId(0), |_| true), Some(30));
        // 40 left too: the slot of the pair stays free, as does the reused one.
        assert_eq!(pool.pair(|_| true, |a| *a != 40), None);
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.reuse(ReplicaId(0), |_| true), None);
        assert_eq!(pool.take(|_| true), Some(ReplicaId(0)));
        assert_eq!(pool.take(|_| true), Some(ReplicaId(0)));
        assert_eq!(pool.take(|_| true), None);
    }
}
