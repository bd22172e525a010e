//! Packers and bounds: hand-worked cases, invariants, and the Falkenauer
//! instances with proven optima from ../shared/data.

use super::*;

/// No bin is overfull, every item is placed.
fn check(sizes: &[u64], cap: u64, p: &Packing) {
    let mut load = vec![0u64; p.bins as usize];
    for (i, &b) in p.bin.iter().enumerate() {
        load[b as usize] += sizes[i];
    }
    assert!(load.iter().all(|&l| l <= cap && l > 0), "{load:?}");
}

#[test]
fn hand_worked_packings() {
    // C = 10, items 6 6 5 4 4 3 2 (Σ = 30, L1 = 3).
    // FFD: 6→b0(4 left), 6→b1(4), 5→b2(5), 4→b0(0), 4→b1(0), 3→b2(2), 2→b2(0): 3 bins.
    let s = [4, 6, 2, 5, 6, 3, 4];
    let f = ffd(&s, 10);
    check(&s, 10, &f);
    assert_eq!(f.bins, 3);
    let b = bfd(&s, 10);
    check(&s, 10, &b);
    assert_eq!(b.bins, 3);
    assert_eq!(lower_bound_l1(&s, 10), 3);
}

#[test]
fn heterogeneous_l1_takes_the_largest_bins_first() {
    // Capacities 2, 8, 4: the largest first cover 8, 12, 14.
    let b = HeterogeneousL1::new(&[2, 8, 4]);
    assert_eq!(b.bound(0), 0);
    assert_eq!(b.bound(8), 1); // 8 ≥ 8
    assert_eq!(b.bound(9), 2); // 8 < 9 ≤ 8 + 4
    assert_eq!(b.bound(13), 3); // 12 < 13 ≤ 14
    assert_eq!(b.bound(99), 3); // more than everything: all bins
    // Bins joining and leaving: 2, 8, 4 + 6 − 8 = 6, 4, 2: cover 6, 10, 12.
    let mut b = b;
    b.add(6);
    b.remove(8);
    b.remove(5); // no such bin: nothing changes
    assert_eq!(b.bound(6), 1);
    assert_eq!(b.bound(7), 2); // 6 < 7 ≤ 10
    assert_eq!(b.bound(11), 3); // 10 < 11 ≤ 12
    assert_eq!(b.bound(13), 3);
    // Equal capacities: it is L1 = ⌈Σ/C⌉.
    let same = HeterogeneousL1::new(&[10; 7]);
    for s in [&[4u64, 6, 2, 5, 6, 3, 4][..], &[6; 6], &[10, 10, 1]] {
        let total: u64 = s.iter().sum();
        assert_eq!(
            same.bound(u128::from(total)),
            lower_bound_l1(s, 10),
            "{s:?}"
        );
    }
}

#[test]
fn ffd_and_bfd_differ_where_best_fit_helps() {
    // C = 10: items 5 4 3 3 ... FFD: 5→b0(5), 4→b0(1), 3→b1(7), 3→b1(4) …; both give 2 bins for
    // Σ = 15. A case where they differ: 7 5 3 3 2 (Σ = 20).
    // FFD: 7→b0(3), 5→b1(5), 3→b0(0), 3→b1(2), 2→b1(0) = 2 bins; BFD the same here.
    let s = [7, 5, 3, 3, 2];
    assert_eq!(ffd(&s, 10).bins, 2);
    assert_eq!(bfd(&s, 10).bins, 2);
}

#[test]
fn l2_beats_l1_on_large_items() {
    // C = 10, six items of 6: Σ = 36, L1 = ⌈3.6⌉ = 4, but no two fit together:
    // with α = 0, J2 = all six (6 > 5): L(0) = 6. So L2 = 6 = OPT.
    let s = [6; 6];
    assert_eq!(lower_bound_l1(&s, 10), 4);
    assert_eq!(lower_bound_l2(&s, 10), 6);
    // Items 6,6,4,4: α = 4: J1 = {} (6 > 6? no), J2 = {6,6}, J3 = {4,4}: free in J2 = 2·10 − 12 = 8,
    // Σ J3 = 8 ≤ 8 → L = 2. Optimum 2 (6+4, 6+4).
    assert_eq!(lower_bound_l2(&[6, 6, 4, 4], 10), 2);
}

#[test]
fn vector_packing_respects_every_dimension() {
    // Two dimensions, capacity (10, 10). Items alternate cpu-heavy and memory-heavy.
    let items: Vec<Vec<u64>> = (0..20)
        .map(|i| if i % 2 == 0 { vec![7, 2] } else { vec![2, 7] })
        .collect();
    for p in [ffd_vector(&items, &[10, 10]), bfd_vector(&items, &[10, 10])] {
        let mut load = vec![[0u64; 2]; p.bins as usize];
        for (i, &b) in p.bin.iter().enumerate() {
            load[b as usize][0] += items[i][0];
            load[b as usize][1] += items[i][1];
        }
        assert!(load.iter().all(|l| l[0] <= 10 && l[1] <= 10));
        // A (7,2) and a (2,7) share a bin: 10 bins is optimal; L1 per dimension = ⌈90/10⌉ = 9.
        assert!(p.bins <= 11, "{}", p.bins);
    }
}

#[test]
fn no_packing_ever_overfills_a_bin() {
    // Property: random instances, both packers, several capacities.
    use crate::rng::stream;
    use rand::Rng;
    let mut rng = stream(9, "packing");
    for _ in 0..300 {
        let cap = 1 + u64::from(rng.next_u32() % 1000);
        let n = (rng.next_u32() % 200) as usize;
        let s: Vec<u64> = (0..n).map(|_| 1 + rng.next_u64() % cap).collect();
        let (f, b) = (ffd(&s, cap), bfd(&s, cap));
        check(&s, cap, &f);
        check(&s, cap, &b);
        let l2 = lower_bound_l2(&s, cap);
        assert!(lower_bound_l1(&s, cap) <= l2);
        assert!(
            l2 <= u64::from(f.bins.min(b.bins)),
            "bound {l2} above a packing"
        );
    }
}

/// One OR-Library instance.
struct Instance {
    name: String,
    capacity: u64,
    sizes: Vec<u64>,
}

/// Parses an OR-Library binpack file. Triplet instances have one decimal:
/// sizes and capacity are scaled ×10 to integers.
fn parse_orlib(text: &str) -> Vec<Instance> {
    let mut tokens = text.split_whitespace();
    let p: usize = tokens.next().unwrap().parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..p {
        let name = tokens.next().unwrap().to_string();
        let cap: f64 = tokens.next().unwrap().parse().unwrap();
        let n: usize = tokens.next().unwrap().parse().unwrap();
        let _best: usize = tokens.next().unwrap().parse().unwrap();
        let sizes: Vec<f64> = (0..n)
            .map(|_| tokens.next().unwrap().parse().unwrap())
            .collect();
        let scale = if sizes.iter().any(|s| s.fract() != 0.0) || cap.fract() != 0.0 {
            10.0
        } else {
            1.0
        };
        out.push(Instance {
            name,
            capacity: (cap * scale).round() as u64,
            sizes: sizes.iter().map(|s| (s * scale).round() as u64).collect(),
        });
    }
    out
}

#[test]
fn falkenauer_instances_against_their_optima() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/binpacking-orlib-falkenauer");
    let Ok(optima) = std::fs::read_to_string(dir.join("optima.csv")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI",
            dir.display()
        );
        eprintln!(
            "SKIP: ../shared is absent ({}); Falkenauer instances not run",
            dir.display()
        );
        return;
    };
    let optimum: std::collections::HashMap<String, u64> = optima
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].trim().to_string(), f[5].trim().parse().unwrap())
        })
        .collect();
    println!("class   n  | OPT mean | FFD gap  BFD gap | L1 gap  L2 gap (bins, mean per instance)");
    let mut total_gap = 0.0;
    let mut count = 0.0;
    for k in 1..=8 {
        let text = std::fs::read_to_string(dir.join(format!("binpack{k}.txt"))).unwrap();
        let instances = parse_orlib(&text);
        let (mut opt, mut gf, mut gb, mut g1, mut g2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for inst in &instances {
            let o = optimum[&inst.name];
            let f = ffd(&inst.sizes, inst.capacity);
            let b = bfd(&inst.sizes, inst.capacity);
            check(&inst.sizes, inst.capacity, &f);
            check(&inst.sizes, inst.capacity, &b);
            let (l1, l2) = (
                lower_bound_l1(&inst.sizes, inst.capacity),
                lower_bound_l2(&inst.sizes, inst.capacity),
            );
            // Bounds are bounds, packings are feasible: L1 ≤ L2 ≤ OPT ≤ packers.
            assert!(
                l1 <= l2 && l2 <= o,
                "{}: L1 {l1} L2 {l2} OPT {o}",
                inst.name
            );
            assert!(
                u64::from(f.bins) >= o && u64::from(b.bins) >= o,
                "{}: beat the optimum?",
                inst.name
            );
            // FFD's guarantee: ≤ 11/9·OPT + 6/9.
            assert!(f64::from(f.bins) <= 11.0 / 9.0 * o as f64 + 6.0 / 9.0);
            opt += o as f64;
            gf += f.bins as f64 - o as f64;
            gb += b.bins as f64 - o as f64;
            g1 += o as f64 - l1 as f64;
            g2 += o as f64 - l2 as f64;
            total_gap += (f.bins.min(b.bins) as f64 - o as f64) / o as f64;
            count += 1.0;
        }
        let m = instances.len() as f64;
        let class = instances[0].name.split('_').next().unwrap().to_string();
        println!(
            "{class:<6} {:>4} | {:>8.1} | {:>7.2} {:>7.2} | {:>6.2} {:>6.2}",
            instances[0].sizes.len(),
            opt / m,
            gf / m,
            gb / m,
            g1 / m,
            g2 / m
        );
    }
    println!(
        "best of FFD/BFD: mean relative gap to the optimum {:.2}%",
        100.0 * total_gap / count
    );
    assert_eq!(count, 160.0);
}

#[test]
fn scholl_instances_against_their_optima() {
    use std::io::Read;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/binpacking-scholl");
    let Ok(optima) = std::fs::read_to_string(dir.join("optima.csv")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI",
            dir.display()
        );
        eprintln!(
            "SKIP: ../shared is absent ({}); Scholl instances not run",
            dir.display()
        );
        return;
    };
    // (zip, member) → optimum
    let optimum: std::collections::HashMap<(String, String), u64> = optima
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_string(), f[1].to_string()),
                f[5].trim().parse().unwrap(),
            )
        })
        .collect();
    println!(
        "set       n  | OPT mean | FFD gap  BFD gap | L1 gap  L2 gap (bins, mean per instance) | FFD at OPT"
    );
    let (mut total_gap, mut count) = (0.0, 0.0);
    for set in ["bin1data", "bin2data", "bin3data"] {
        let file = std::fs::File::open(dir.join(format!("{set}.zip"))).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let (mut m, mut opt, mut gf, mut gb, mut g1, mut g2, mut at_opt) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0);
        for k in 0..zip.len() {
            let mut entry = zip.by_index(k).unwrap();
            let name = entry.name().expect("utf-8 member name").to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            let nums: Vec<u64> = text
                .split_whitespace()
                .map(|t| t.parse().unwrap())
                .collect();
            let (n, cap) = (nums[0] as usize, nums[1]);
            let sizes = &nums[2..2 + n];
            let o = optimum[&(format!("{set}.zip"), name.clone())];
            let f = ffd(sizes, cap);
            let b = bfd(sizes, cap);
            check(sizes, cap, &f);
            check(sizes, cap, &b);
            let (l1, l2) = (lower_bound_l1(sizes, cap), lower_bound_l2(sizes, cap));
            assert!(l1 <= l2 && l2 <= o, "{name}: L1 {l1} L2 {l2} OPT {o}");
            assert!(
                u64::from(f.bins.min(b.bins)) >= o,
                "{name}: beat the optimum?"
            );
            m += 1.0;
            opt += o as f64;
            gf += f.bins as f64 - o as f64;
            gb += b.bins as f64 - o as f64;
            g1 += o as f64 - l1 as f64;
            g2 += o as f64 - l2 as f64;
            at_opt += usize::from(u64::from(f.bins) == o);
            total_gap += (f.bins.min(b.bins) as f64 - o as f64) / o as f64;
            count += 1.0;
        }
        println!(
            "{set} {:>5} | {:>8.1} | {:>7.2} {:>7.2} | {:>6.2} {:>6.2} | {at_opt}/{m}",
            m,
            opt / m,
            gf / m,
            gb / m,
            g1 / m,
            g2 / m
        );
    }
    println!(
        "best of FFD/BFD: mean relative gap to the optimum {:.2}%",
        100.0 * total_gap / count
    );
    assert_eq!(count, 1210.0);
}
