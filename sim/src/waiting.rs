//! FIFO queues of waiting requests, one per replica, in one shared pool.
//!
//! Key decision: a replica's queue is a linked list threaded through a
//! shared slab with a free list, so a replica carries two indices (8 bytes)
//! instead of a `VecDeque` (32 bytes plus a heap buffer per replica that ever
//! queued). Memory is paid per waiting request, reused as requests leave,
//! and 100k replicas cost no allocations of their own.

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Slot {
    arrival: u64,
    next: u32,
}

/// The ends of one replica's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queue {
    head: u32,
    tail: u32,
    len: u32,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }
}

impl Queue {
    /// Requests waiting.
    #[inline]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Nothing waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The shared slab of waiting requests.
#[derive(Clone, Debug)]
pub struct Waiting {
    slots: Vec<Slot>,
    /// Head of the list of free slots.
    free: u32,
}

impl Default for Waiting {
    fn default() -> Self {
        Self::new()
    }
}

impl Waiting {
    /// An empty pool.
    pub fn new() -> Waiting {
        Waiting {
            slots: Vec::new(),
            free: NIL,
        }
    }

    /// Appends a request that arrived at `arrival` (ns) to `q`.
    #[inline]
    pub fn push_back(&mut self, q: &mut Queue, arrival: u64) {
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            self.slots[i as usize] = Slot { arrival, next: NIL };
            i
        } else {
            self.slots.push(Slot { arrival, next: NIL });
            (self.slots.len() - 1) as u32
        };
        if q.tail == NIL {
            q.head = i;
        } else {
            self.slots[q.tail as usize].next = i;
        }
        q.tail = i;
        q.len += 1;
    }

    /// Arrival time of the oldest request in `q`.
    #[inline]
    pub fn front(&self, q: &Queue) -> Option<u64> {
        (q.head != NIL).then(|| self.slots[q.head as usize].arrival)
    }

    /// Removes and returns the oldest request of `q`.
    #[inline]
    pub fn pop_front(&mut self, q: &mut Queue) -> Option<u64> {
        if q.head == NIL {
            return None;
        }
        let i = q.head;
        let slot = self.slots[i as usize];
        q.head = slot.next;
        if q.head == NIL {
            q.tail = NIL;
        }
        q.len -= 1;
        self.slots[i as usize].next = self.free;
        self.free = i;
        Some(slot.arrival)
    }

    /// Heap bytes held (slab capacity).
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn queues_are_fifo_and_independent() {
        let mut w = Waiting::new();
        let (mut a, mut b) = (Queue::default(), Queue::default());
        w.push_back(&mut a, 1);
        w.push_back(&mut b, 10);
        w.push_back(&mut a, 2);
        assert_eq!((a.len(), b.len()), (2, 1));
        assert_eq!(w.front(&a), Some(1));
        assert_eq!(w.pop_front(&mut a), Some(1));
        w.push_back(&mut a, 3); // reuses the freed slot
        assert_eq!(w.slots.len(), 3);
        assert_eq!(w.pop_front(&mut a), Some(2));
        assert_eq!(w.pop_front(&mut a), Some(3));
        assert_eq!(w.pop_front(&mut a), None);
        assert!(a.is_empty());
        assert_eq!(w.pop_front(&mut b), Some(10));
    }

    #[test]
    fn matches_vecdeques_under_random_use() {
        use orkestra_core::rng::stream;
        use rand::Rng;
        let mut rng = stream(5, "waiting");
        let mut w = Waiting::new();
        let mut qs = [Queue::default(); 8];
        let mut model = vec![VecDeque::new(); 8];
        for t in 0..100_000u64 {
            let i = (rng.next_u32() % 8) as usize;
            if rng.next_u32().is_multiple_of(2) {
                w.push_back(&mut qs[i], t);
                model[i].push_back(t);
            } else {
                assert_eq!(w.pop_front(&mut qs[i]), model[i].pop_front());
            }
            assert_eq!(qs[i].len() as usize, model[i].len());
        }
    }
}
