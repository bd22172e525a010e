//! The discrete-event engine: a clock and a pending-event set.
//!
//! Key decision: the pending-event set is a *radix heap* (Ahuja, Mehlhorn,
//! Orlin & Tarjan 1990) keyed on integer nanoseconds. A simulation's clock
//! never goes back, so keys are monotone and a radix heap applies: an event
//! is filed in bucket `⌈log2(time XOR now)⌉`, push is O(1), and each event
//! is moved at most 64 times, in practice a handful. Unlike a binary heap it
//! touches memory sequentially, so it stays fast with a million pending
//! events. Ties keep insertion order: events are totally ordered by
//! (time, sequence number), so runs are reproducible.
//!
//! Events are a plain `enum` chosen by the model (`E`), matched in one place
//! by the model's loop, never boxed closures.

use orkestra_core::time::{SimDuration, SimTime};

/// Buckets drained with more capacity than this (entries) are shrunk.
const SHRINK_ABOVE: usize = 1024;

/// An entry in the pending set.
#[derive(Clone, Copy, Debug)]
struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// Bucket index of `time` relative to the last popped time `last`:
/// 0 for equal, else 1 + the position of the highest differing bit.
#[inline(always)]
fn bucket_of(time: u64, last: u64) -> usize {
    (64 - (time ^ last).leading_zeros()) as usize
}

/// A monotone priority queue of events ordered by (time, insertion order).
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// `buckets[0]` holds events at exactly `last`, in sequence order, read
    /// from `head`; `buckets[i]` holds events whose time differs from `last`
    /// first in bit `i − 1`.
    buckets: Vec<Vec<Entry<E>>>,
    head: usize,
    /// Bit `i` set when `buckets[i]` (i ≥ 1) may be non-empty.
    nonempty: u64,
    last: u64,
    seq: u64,
    len: usize,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            buckets: (0..65).map(|_| Vec::new()).collect(),
            head: 0,
            nonempty: 0,
            last: 0,
            seq: 0,
            len: 0,
        }
    }

    /// Events pending.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No events pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `event` at `time`; `time` must not be before the last popped time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(
            time.0 >= self.last,
            "scheduling into the past: {} < {}",
            time.0,
            self.last
        );
        let time = time.0.max(self.last);
        let seq = self.seq;
        self.seq += 1;
        let b = bucket_of(time, self.last);
        self.buckets[b].push(Entry { time, seq, event });
        if b > 0 {
            self.nonempty |= 1 << (b - 1);
        }
        self.len += 1;
    }

    /// Removes and returns the earliest event (ties in insertion order).
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.head < self.buckets[0].len() {
            let e = self.buckets[0][self.head];
            self.head += 1;
            self.len -= 1;
            return Some((SimTime(e.time), e.event));
        }
        self.refill()?;
        let e = self.buckets[0][self.head];
        self.head += 1;
        self.len -= 1;
        Some((SimTime(e.time), e.event))
    }

    /// Heap bytes held by the queue's buckets (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        self.buckets
            .iter()
            .map(|b| b.capacity() * std::mem::size_of::<Entry<E>>())
            .sum::<usize>()
            + self.buckets.capacity() * std::mem::size_of::<Vec<Entry<E>>>()
    }

    /// Time of the earliest event without removing it.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.head >= self.buckets[0].len() {
            self.refill()?;
        }
        Some(SimTime(self.buckets[0][self.head].time))
    }

    /// Bucket 0 is exhausted: find the lowest non-empty bucket, advance
    /// `last` to its minimum and redistribute it into lower buckets.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Option<()> {
        self.buckets[0].clear();
        self.head = 0;
        if self.nonempty == 0 {
            return None;
        }
        let b = self.nonempty.trailing_zeros() as usize + 1;
        self.nonempty &= !(1 << (b - 1));
        let mut bucket = std::mem::take(&mut self.buckets[b]);
        let min = bucket
            .iter()
            .map(|e| e.time)
            .min()
            .expect("non-empty bucket");
        self.last = min;
        for e in bucket.drain(..) {
            let nb = bucket_of(e.time, min);
            // Every entry lands strictly below b (they share the bits above b − 1 with min).
            self.buckets[nb].push(e);
            if nb > 0 {
                self.nonempty |= 1 << (nb - 1);
            }
        }
        // Keep a small allocation for reuse; give a large one back, or every
        // bucket would keep the largest size it ever had (measured: 5.7× the
        // live entries with a million pending events). It regrows by doubling.
        if bucket.capacity() > SHRINK_ABOVE {
            bucket.shrink_to(SHRINK_ABOVE / 4);
        }
        self.buckets[b] = bucket;
        // Entries at `min` came from different pushes; order them by sequence.
        let zero = &mut self.buckets[0];
        if zero.len() > 1 {
            zero.sort_unstable_by_key(|e| e.seq);
        }
        Some(())
    }
}

/// A clock plus the pending events of a model.
#[derive(Clone, Debug)]
pub struct Engine<E> {
    now: SimTime,
    queue: EventQueue<E>,
    processed: u64,
}

impl<E: Copy> Default for Engine<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Engine<E> {
    /// An engine at time zero with nothing pending.
    pub fn new() -> Self {
        Engine {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            processed: 0,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events handed out by [`Engine::next_until`] so far.
    #[inline]
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Heap bytes held by the pending-event set.
    pub fn queue_heap_bytes(&self) -> usize {
        self.queue.heap_bytes()
    }

    /// Events pending.
    #[inline]
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Schedules `event` at `at` (not in the past).
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        debug_assert!(
            at >= self.now,
            "scheduling into the past: {at:?} < {:?}",
            self.now
        );
        self.queue.push(at, event);
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now + delay, event);
    }

    /// The next event at or before `until`, advancing the clock to it; `None`
    /// (with the clock at `until`) when there is none.
    #[inline]
    pub fn next_until(&mut self, until: SimTime) -> Option<E> {
        match self.queue.peek_time() {
            Some(t) if t <= until => {
                let (t, e) = self.queue.pop().expect("peeked");
                self.now = t;
                self.processed += 1;
                Some(e)
            }
            _ => {
                self.now = self.now.max(until);
                None
            }
        }
    }
}

/// Bytes one pending event of type `E` occupies in the queue.
pub fn entry_size<E>() -> usize {
    std::mem::size_of::<Entry<E>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orkestra_core::rng::stream;
    use rand::Rng;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(3), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(3), 'd');
        assert_eq!(q.pop(), Some((SimTime(3), 'b')));
        q.push(SimTime(5), 'e'); // after a and c at the same time
        q.push(SimTime(3), 'f'); // at the current time: after d
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            rest,
            vec![
                (SimTime(3), 'd'),
                (SimTime(3), 'f'),
                (SimTime(5), 'a'),
                (SimTime(5), 'c'),
                (SimTime(5), 'e')
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn matches_a_binary_heap_on_random_interleavings() {
        // Model: the (time, seq) order of a BinaryHeap of Reverse((time, seq)).
        let mut rng = stream(11, "engine-test");
        let mut q = EventQueue::new();
        let mut h = BinaryHeap::new();
        let mut now = 0u64;
        let mut seq = 0u64;
        for step in 0..200_000u64 {
            if !rng.next_u32().is_multiple_of(3) || h.is_empty() {
                // Mix of near, far and tied times.
                let d = match rng.next_u32() % 4 {
                    0 => 0,
                    1 => rng.next_u64() % 16,
                    2 => rng.next_u64() % 1_000_000,
                    _ => rng.next_u64() % (1 << 40),
                };
                q.push(SimTime(now + d), seq);
                h.push(Reverse((now + d, seq)));
                seq += 1;
            } else {
                let Reverse((t, s)) = h.pop().unwrap();
                assert_eq!(q.pop(), Some((SimTime(t), s)), "step {step}");
                now = t;
            }
        }
        while let Some(Reverse((t, s))) = h.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), s)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn engine_runs_until_and_stops_the_clock_there() {
        let mut e = Engine::new();
        e.schedule(SimTime(10), 1u8);
        e.schedule(SimTime(30), 2u8);
        assert_eq!(e.next_until(SimTime(20)), Some(1));
        assert_eq!(e.now(), SimTime(10));
        assert_eq!(e.next_until(SimTime(20)), None);
        assert_eq!(e.now(), SimTime(20));
        assert_eq!(e.pending(), 1);
        assert_eq!(e.processed(), 1);
    }

    #[test]
    #[should_panic(expected = "scheduling into the past")]
    #[cfg(debug_assertions)]
    fn scheduling_into_the_past_panics_in_debug() {
        let mut e = Engine::new();
        e.schedule(SimTime(10), ());
        e.next_until(SimTime(10));
        e.schedule(SimTime(5), ());
    }
}
