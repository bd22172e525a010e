//! Batch bin packing and its lower bounds.
//!
//! Key decision: packers take plain integer sizes (1-D) or integer vectors
//! (multi-resource) and return an assignment, so they can pack replicas,
//! batch jobs or textbook instances alike; the bounds (L1 = ⌈Σs/C⌉ and
//! Martello–Toth L2) let reports state the gap to the optimum without
//! solving it. Best-fit decreasing keeps open bins in an ordered map of
//! remaining capacity, so it runs in O(n log n).

use std::collections::BTreeMap;

/// The result of packing: the bin of every item and the number of bins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    /// `bin[i]` is the bin item `i` went to.
    pub bin: Vec<u32>,
    /// Bins used.
    pub bins: u32,
}

/// Items in decreasing size (stable: equal sizes keep their order).
fn decreasing(sizes: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]));
    order
}

/// First-fit decreasing (Johnson 1973): each item, largest first, into the
/// lowest-numbered bin with room. At most 11/9·OPT + 6/9 bins.
///
/// # Panics
/// If an item is larger than `capacity`.
pub fn ffd(sizes: &[u64], capacity: u64) -> Packing {
    assert!(
        sizes.iter().all(|&s| s <= capacity),
        "an item exceeds the bin capacity"
    );
    let mut remaining: Vec<u64> = Vec::new();
    // Segment tree over bins of the max remaining capacity finds the first bin
    // with room in O(log n).
    let mut tree = MaxTree::new(sizes.len().max(1));
    let mut bin = vec![0u32; sizes.len()];
    for i in decreasing(sizes) {
        let s = sizes[i];
        let b = match tree.first_at_least(s) {
            Some(b) if b < remaining.len() => b,
            _ => {
                remaining.push(capacity);
                remaining.len() - 1
            }
        };
        remaining[b] -= s;
        tree.set(b, remaining[b]);
        bin[i] = b as u32;
    }
    Packing {
        bin,
        bins: remaining.len() as u32,
    }
}

/// Best-fit decreasing: each item, largest first, into the open bin whose
/// remaining capacity is smallest but sufficient.
///
/// # Panics
/// If an item is larger than `capacity`.
pub fn bfd(sizes: &[u64], capacity: u64) -> Packing {
    assert!(
        sizes.iter().all(|&s| s <= capacity),
        "an item exceeds the bin capacity"
    );
    // remaining capacity → bins with exactly that much room
    let mut open: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    let mut bins = 0u32;
    let mut bin = vec![0u32; sizes.len()];
    for i in decreasing(sizes) {
        let s = sizes[i];
        let found = open
            .range_mut(s..)
            .next()
            .map(|(&room, list)| (room, list.pop().expect("non-empty")));
        let (b, room) = match found {
            Some((room, b)) => {
                if open[&room].is_empty() {
                    open.remove(&room);
                }
                (b, room)
            }
            None => {
                bins += 1;
                (bins - 1, capacity)
            }
        };
        let left = room - s;
        if left > 0 {
            open.entry(left).or_default().push(b);
        }
        bin[i] = b;
    }
    Packing { bin, bins }
}

/// L1 = ⌈Σs / C⌉: no packing can do better than the total volume.
pub fn lower_bound_l1(sizes: &[u64], capacity: u64) -> u64 {
    let total: u128 = sizes.iter().map(|&s| u128::from(s)).sum();
    total.div_ceil(u128::from(capacity)) as u64
}

/// L1 for bins of different capacities: the fewest bins, taken largest
/// first, whose capacities sum to at least the total size. Any set of bins
/// that holds the items has at least the total capacity, and no set of `k`
/// bins has more than the `k` largest, so this is a lower bound; with equal
/// capacities `C` it is [`lower_bound_l1`] = ⌈Σs / C⌉. For vectors (one
/// bound per resource) the bound of the whole is the largest of them.
#[derive(Clone, Debug, Default)]
pub struct HeterogeneousL1 {
    /// Capacities, largest first.
    caps: Vec<u64>,
    /// `prefix[k]` = sum of the `k` largest capacities.
    prefix: Vec<u128>,
}

impl HeterogeneousL1 {
    /// Bins with these capacities (any order).
    pub fn new(capacities: &[u64]) -> HeterogeneousL1 {
        let mut caps = capacities.to_vec();
        caps.sort_unstable_by(|a, b| b.cmp(a));
        let mut h = HeterogeneousL1 {
            caps,
            prefix: Vec::new(),
        };
        h.sum_from(0);
        h
    }

    /// Recomputes `prefix` from position `k` on.
    fn sum_from(&mut self, k: usize) {
        self.prefix.truncate(k + 1);
        if self.prefix.is_empty() {
            self.prefix.push(0);
        }
        let mut sum = self.prefix[k];
        for &x in &self.caps[k..] {
            sum += u128::from(x);
            self.prefix.push(sum);
        }
    }

    /// A bin of capacity `cap` joins (a node is added); O(bins).
    pub fn add(&mut self, cap: u64) {
        let k = self.caps.partition_point(|&c| c > cap);
        self.caps.insert(k, cap);
        self.sum_from(k);
    }

    /// A bin of capacity `cap` leaves (a node is removed); O(bins). A
    /// capacity that no bin has is ignored.
    pub fn remove(&mut self, cap: u64) {
        let k = self.caps.partition_point(|&c| c > cap);
        if self.caps.get(k) == Some(&cap) {
            self.caps.remove(k);
            self.sum_from(k);
        }
    }

    /// The fewest bins whose capacities cover `total` (all of them, if even
    /// that is not enough); O(log n).
    pub fn bound(&self, total: u128) -> u64 {
        let k = self.prefix.partition_point(|&p| p < total);
        k.min(self.prefix.len().saturating_sub(1)) as u64
    }
}

/// Martello & Toth's L2 (1990): for 0 ≤ α ≤ C/2, items larger than C − α
/// (J1) and larger than C/2 (J2) each need their own bin, and the items in
/// [α, C/2] (J3) fill what J2 leaves free before needing more:
/// L(α) = |J1| + |J2| + max(0, ⌈(Σ J3 − (|J2|·C − Σ J2)) / C⌉); L2 = max over α.
/// Only α equal to an item size (or 0) can change L(α). L2 ≥ L1.
pub fn lower_bound_l2(sizes: &[u64], capacity: u64) -> u64 {
    let c = capacity;
    let mut s: Vec<u64> = sizes.to_vec();
    s.sort_unstable();
    let mut alphas: Vec<u64> = s.iter().copied().filter(|&x| 2 * x <= c).collect();
    alphas.push(0);
    alphas.dedup();
    let mut best = lower_bound_l1(sizes, capacity);
    for &alpha in &alphas {
        let (mut j1, mut j2, mut sum_j2, mut sum_j3) = (0u64, 0u64, 0u128, 0u128);
        for &x in &s {
            if x > c - alpha {
                j1 += 1;
            } else if 2 * x > c {
                j2 += 1;
                sum_j2 += u128::from(x);
            } else if x >= alpha {
                sum_j3 += u128::from(x);
            }
        }
        let free_in_j2 = u128::from(j2) * u128::from(c) - sum_j2;
        let extra = if sum_j3 > free_in_j2 {
            (sum_j3 - free_in_j2).div_ceil(u128::from(c)) as u64
        } else {
            0
        };
        best = best.max(j1 + j2 + extra);
    }
    best
}

/// Multi-resource first-fit decreasing: items ordered by the sum of their
/// dimensions relative to the bin, each into the first bin with room in
/// every dimension.
pub fn ffd_vector(items: &[Vec<u64>], capacity: &[u64]) -> Packing {
    vector_pack(items, capacity, false)
}

/// Multi-resource best-fit decreasing: into the bin that is left with the
/// least total (normalised) room.
pub fn bfd_vector(items: &[Vec<u64>], capacity: &[u64]) -> Packing {
    vector_pack(items, capacity, true)
}

fn vector_pack(items: &[Vec<u64>], capacity: &[u64], best: bool) -> Packing {
    let size = |v: &[u64]| -> f64 {
        v.iter()
            .zip(capacity)
            .map(|(&x, &c)| x as f64 / c as f64)
            .sum()
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| size(&items[b]).total_cmp(&size(&items[a])));
    let mut bins: Vec<Vec<u64>> = Vec::new();
    let mut bin = vec![0u32; items.len()];
    for i in order {
        let item = &items[i];
        assert!(
            item.iter().zip(capacity).all(|(x, c)| x <= c),
            "an item exceeds the bin capacity"
        );
        let fits = |room: &Vec<u64>| item.iter().zip(room).all(|(x, r)| x <= r);
        let chosen = if best {
            bins.iter()
                .enumerate()
                .filter(|(_, r)| fits(r))
                .min_by(|a, b| size(a.1).total_cmp(&size(b.1)))
                .map(|(j, _)| j)
        } else {
            bins.iter().position(fits)
        };
        let j = chosen.unwrap_or_else(|| {
            bins.push(capacity.to_vec());
            bins.len() - 1
        });
        for (r, x) in bins[j].iter_mut().zip(item) {
            *r -= x;
        }
        bin[i] = j as u32;
    }
    Packing {
        bin,
        bins: bins.len() as u32,
    }
}

/// A max segment tree over bins' remaining capacity (leftmost bin ≥ x in O(log n)).
struct MaxTree {
    n: usize,
    t: Vec<u64>,
}

impl MaxTree {
    fn new(n: usize) -> MaxTree {
        let n = n.next_power_of_two();
        MaxTree {
            n,
            t: vec![0; 2 * n],
        }
    }

    fn set(&mut self, i: usize, v: u64) {
        let mut p = i + self.n;
        self.t[p] = v;
        while p > 1 {
            p /= 2;
            self.t[p] = self.t[2 * p].max(self.t[2 * p + 1]);
        }
    }

    /// The leftmost leaf whose value is ≥ `x`.
    fn first_at_least(&self, x: u64) -> Option<usize> {
        if self.t[1] < x {
            return None;
        }
        let mut p = 1;
        while p < self.n {
            p = if self.t[2 * p] >= x { 2 * p } else { 2 * p + 1 };
        }
        Some(p - self.n)
    }
}

#[cfg(test)]
mod tests;
