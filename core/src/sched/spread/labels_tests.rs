//! Upstream's cases that need pod labels, namespaces and node inclusion
//! policies, replayed against [`PodTopologySpread`] through the public
//! model: each distinct label set of upstream's pods is one service here
//! (a service's pods share their template's labels), and a selector is
//! resolved to services with [`PodSet::resolve`], as the scenario loader does.
//!
//! Source: kubernetes/kubernetes `pkg/scheduler/framework/plugins/podtopologyspread/filtering_test.go`
//! at commit 01c2588bf4a3eb6bb3524b1e2bd60efb38a4b577 (`TestSingleConstraint`,
//! `TestMultipleConstraints`), and `scoring_test.go` / `filtering.go` /
//! `scoring.go` / `common.go` read at 02fb06dfc56a53699335ab60973b991fbc436a05,
//! 01c2588bf4a3eb6bb3524b1e2bd60efb38a4b577 and 02850301e61b0491a6efad7fb440dfa1b03cfc96.
//! Upstream's `fooSelector` is `Exists("foo")`, `barSelector` `Exists("bar")`;
//! its test pods carry labels with empty values. Node inclusion policies
//! are on (`enableNodeInclusionPolicy: true`), as in every release since 1.26.
//!
//! Not replayed, and why: "terminating Pods should be excluded" (replicas
//! here leave their node when deleted, there is no terminating state to
//! count); cases that check `preFilterState` internals (`TestPreFilterState`:
//! critical paths are not public, their effect is what `filter` returns);
//! `AddPod`/`RemovePod` (preemption's incremental updates; a batch's binds
//! are counted directly through `ClusterView::count`); scoring's
//! `PodsWithOwnerRef` counting of newer releases (this follows the selector
//! count of release 1.31).

use super::*;
use crate::labels::{LabelSelector, Labels};
use crate::model::{
    PodMeta, PodSet, Resources, SelectorOp, SelectorRequirement, ServiceId, Taint, TaintEffect,
};
use crate::placement::Snapshot;
use crate::testing::node;

/// Pods with these label keys (empty values), in `ns`.
fn meta(ns: &str, keys: &[&str]) -> PodMeta {
    PodMeta {
        namespace: ns.to_string(),
        labels: keys
            .iter()
            .map(|k| (k.to_string(), String::new()))
            .collect(),
        annotations: Labels::new(),
    }
}

/// `st.MakeLabelSelector().Exists(key)`.
fn exists(key: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![SelectorRequirement {
            key: key.into(),
            op: SelectorOp::Exists,
            values: Vec::new(),
        }],
    }
}

fn sc(key: &str, skew: u32, hard: bool, selector: Option<LabelSelector>) -> SpreadConstraint {
    SpreadConstraint {
        max_skew: skew,
        topology_key: key.to_string(),
        when_unsatisfiable: if hard {
            WhenUnsatisfiable::DoNotSchedule
        } else {
            WhenUnsatisfiable::ScheduleAnyway
        },
        min_domains: None,
        selector: PodSelector::Pods(Box::new(PodSet {
            selector,
            namespaces: vec!["default".into()],
            ..Default::default()
        })),
        match_label_keys: Vec::new(),
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
    }
}

/// A cluster: nodes with labels (and the `node.kubernetes.io/unschedulable`
/// NoSchedule taint where `tainted`), `pods` as (node, service), the
/// services' metadata, and the incoming replica's service `own`.
struct World<'a> {
    nodes: Vec<(&'a [(&'a str, &'a str)], bool)>,
    metas: Vec<PodMeta>,
    pods: Vec<(usize, u32)>,
    own: u32,
}

impl World<'_> {
    fn snapshot(&self) -> Snapshot {
        let statuses = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (labels, tainted))| {
                let mut n = node(&format!("n{i}")).cpu("4").mem("8Gi").status();
                n.spec_mut().labels = labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if *tainted {
                    n.spec_mut().taints.push(Taint {
                        key: "node.kubernetes.io/unschedulable".into(),
                        value: String::new(),
                        effect: TaintEffect::NoSchedule,
                    });
                }
                n
            })
            .collect();
        let mut snap = Snapshot::new(statuses);
        for &(n, s) in &self.pods {
            snap.bind(n, ServiceId(s), Resources::ZERO);
        }
        snap
    }

    fn resolve(&self, mut c: Constraints) -> Constraints {
        let refs: Vec<&PodMeta> = self.metas.iter().collect();
        for k in &mut c.spread {
            if let PodSelector::Pods(p) = &mut k.selector {
                p.resolve(ServiceId(self.own), &refs);
            }
        }
        c
    }

    /// Which nodes pass the filter.
    fn fits(&self, c: Constraints) -> Vec<bool> {
        let c = self.resolve(c);
        let snap = self.snapshot();
        let view = snap.view();
        let req = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(self.own),
            resources: Resources::ZERO,
            constraints: &c,
        };
        let mut p = PodTopologySpread::default();
        Filter::prepare(&mut p, &req, &view);
        (0..view.len())
            .map(|i| p.filter(&req, &view, i).is_ok())
            .collect()
    }

    /// Normalised scores over every node.
    fn scores(&self, c: Constraints) -> Vec<i64> {
        let c = self.resolve(c);
        let snap = self.snapshot();
        let view = snap.view();
        let req = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(self.own),
            resources: Resources::ZERO,
            constraints: &c,
        };
        let all: Vec<usize> = (0..view.len()).collect();
        let mut p = PodTopologySpread::default();
        Score::prepare(&mut p, &req, &view, &all);
        let mut s: Vec<i64> = all.iter().map(|&i| p.score(&req, &view, i)).collect();
        p.normalize(&mut s);
        s
    }
}

fn with(spread: Vec<SpreadConstraint>) -> Constraints {
    Constraints {
        spread,
        ..Default::default()
    }
}

const ZA: &[(&str, &str)] = &[("zone", "zone1"), ("node", "node-a")];
const ZB: &[(&str, &str)] = &[("zone", "zone1"), ("node", "node-b")];
const ZX: &[(&str, &str)] = &[("zone", "zone2"), ("node", "node-x")];
const ZY: &[(&str, &str)] = &[("zone", "zone2"), ("node", "node-y")];

/// Services: 0 = pods labelled foo, 1 = bar, 2 = foo+bar, 3 = foo in namespace "other".
fn metas() -> Vec<PodMeta> {
    vec![
        meta("default", &["foo"]),
        meta("default", &["bar"]),
        meta("default", &["foo", "bar"]),
        meta("other", &["foo"]),
    ]
}

#[test]
fn single_constraint_pod_does_not_match_itself() {
    // "pods spread across nodes as 2/1/0/3, but pod doesn't match itself": the incoming
    // pod is labelled bar (service 1), the selector foo. min 0 (node-x), selfMatchNum 0:
    // a 2 > 1, b 1 ≤ 1, x 0, y 3 > 1.
    let w = World {
        nodes: vec![(ZA, false), (ZB, false), (ZX, false), (ZY, false)],
        metas: metas(),
        pods: vec![(0, 0), (0, 0), (1, 0), (3, 0), (3, 0), (3, 0)],
        own: 1,
    };
    let c = with(vec![sc("node", 1, true, Some(exists("foo")))]);
    assert_eq!(w.fits(c), [false, true, true, false]);
}

#[test]
fn node_inclusion_policies_in_filtering() {
    let nodes = |taint_y| {
        vec![
            (&[("node", "node-a"), ("foo", "")][..], false),
            (&[("node", "node-b"), ("foo", "")][..], false),
            (&[("node", "node-x"), ("foo", "")][..], false),
            (&[("node", "node-y")][..], taint_y),
        ]
    };
    // Pods foo on a, b, y: 1/1/0/1.
    let pods = vec![(0, 0), (1, 0), (3, 0)];
    let w = World {
        nodes: nodes(true),
        metas: metas(),
        pods: pods.clone(),
        own: 0,
    };
    // "NodeTaintsPolicy honored": y (tainted, not tolerated) is not counted → 1/1/0/~0~,
    // min 0: a, b 1 + 1 − 0 = 2 > 1; x 1; y 0 + 1 = 1 (TaintToleration would reject it).
    let mut honor = sc("node", 1, true, Some(exists("foo")));
    honor.node_taints_policy = NodeInclusionPolicy::Honor;
    assert_eq!(w.fits(with(vec![honor])), [false, false, true, true]);
    // "NodeTaintsPolicy ignored": y counts 1 → 2 > 1.
    let ignored = sc("node", 1, true, Some(exists("foo")));
    assert_eq!(
        w.fits(with(vec![ignored.clone()])),
        [false, false, true, false]
    );
    // "NodeAffinityPolicy honored with labelSelectors": nodeSelector foo leaves y out → y fits;
    // "NodeAffinityPolicy ignored with labelSelectors": y counted → y does not.
    let w = World {
        nodes: nodes(false),
        metas: metas(),
        pods,
        own: 0,
    };
    let by_selector = |sc: SpreadConstraint| Constraints {
        node_selector: [("foo".to_string(), String::new())].into(),
        ..with(vec![sc])
    };
    assert_eq!(
        w.fits(by_selector(ignored.clone())),
        [false, false, true, true]
    );
    let mut ignore = ignored;
    ignore.node_affinity_policy = NodeInclusionPolicy::Ignore;
    assert_eq!(w.fits(by_selector(ignore)), [false, false, true, false]);
}

#[test]
fn multiple_constraints_with_different_selectors() {
    let four = vec![(ZA, false), (ZB, false), (ZX, false), (ZY, false)];
    let foo_zone_bar_node = || {
        with(vec![
            sc("zone", 1, true, Some(exists("foo"))),
            sc("node", 1, true, Some(exists("bar"))),
        ])
    };
    type Case<'a> = (&'a str, Vec<(usize, u32)>, u32, [bool; 4]);
    let cases: Vec<Case> = vec![
        (
            // zone (foo): zone1 1, zone2 0 → zone2 only; node (bar): y 1 → a, b, x. ∩ = x.
            "Constraints hold different labelSelectors, spreads = [1/0, 1/0/0/1]",
            vec![(0, 0), (3, 1)],
            2,
            [false, false, true, false],
        ),
        (
            // zone → zone2; node (bar): x 1, y 1, min 0 → a, b. ∩ = ∅.
            "Constraints hold different labelSelectors, spreads = [1/0, 0/0/1/1]",
            vec![(0, 0), (2, 1), (3, 1)],
            2,
            [false; 4],
        ),
        (
            // foo: a1, a2(foo+bar), y1, y2(foo+bar), y3 → zone1 2, zone2 3 → zone1;
            // bar: a 1, y 1 → b, x. ∩ = b.
            "Constraints hold different labelSelectors, spreads = [2/3, 1/0/0/1]",
            vec![(0, 0), (0, 2), (3, 0), (3, 2), (3, 0)],
            2,
            [false, true, false, false],
        ),
        (
            // The incoming pod is bar only: the zone constraint (foo) has selfMatchNum 0 so
            // every zone passes (1 + 0 − 0 ≤ 1); bar: x 1, y 1 → a, b.
            "Constraints hold different labelSelectors but pod doesn't match itself on 'zone' constraint",
            vec![(0, 0), (2, 1), (3, 1)],
            1,
            [true, true, false, false],
        ),
    ];
    for (name, pods, own, want) in cases {
        let w = World {
            nodes: four.clone(),
            metas: metas(),
            pods,
            own,
        };
        assert_eq!(w.fits(foo_zone_bar_node()), want, "{name}");
    }
}

#[test]
fn nil_selector_and_other_namespaces_count_nothing() {
    // A nil labelSelector matches no pod (LabelSelectorAsSelector(nil) = Nothing): every
    // count 0 and selfMatchNum 0, so 0 − 0 ≤ 1 everywhere, however uneven the pods are.
    let w = World {
        nodes: vec![(ZA, false), (ZB, false), (ZX, false), (ZY, false)],
        metas: metas(),
        pods: vec![(0, 0), (0, 0), (0, 0), (1, 0)],
        own: 0,
    };
    assert_eq!(w.fits(with(vec![sc("node", 1, true, None)])), [true; 4]);
    // Pods of namespace "other" (service 3) are not counted (countPodsMatchSelector skips
    // pod.Namespace != ns): foo on a ×2 in "other", 1 in default on b → a 0, b 1, x 0,
    // y 0: b 1 + 1 − 0 = 2 > 1, the rest fit.
    let w = World {
        pods: vec![(0, 3), (0, 3), (1, 0)],
        ..w
    };
    assert_eq!(
        w.fits(with(vec![sc("node", 1, true, Some(exists("foo")))])),
        [true, false, true, true]
    );
}

#[test]
fn scoring_with_selectors_and_taints_policy() {
    // Hostname-like key "node", ScheduleAnyway maxSkew 1, four nodes with foo pods 2/1/0/3
    // and bar pods 0/0/5/0. Selector foo counts 2/1/0/3: w = ln(4 + 2) = 1.792,
    // raw a 3.58 → 4, b 1.79 → 2, x 0, y 5.38 → 5; min 0, max 5:
    // a 100·(5 − 4)/5 = 20, b 60, x 100, y 0 — upstream's "one constraint on node, all 4
    // nodes are candidates" (scoring_test.go) with the bar pods left out by the selector.
    let w = World {
        nodes: vec![(ZA, false), (ZB, false), (ZX, false), (ZY, false)],
        metas: metas(),
        pods: vec![
            (0, 0),
            (0, 0),
            (1, 0),
            (3, 0),
            (3, 0),
            (3, 0),
            (2, 1),
            (2, 1),
            (2, 1),
            (2, 1),
            (2, 1),
        ],
        own: 0,
    };
    let foo = sc("node", 1, false, Some(exists("foo")));
    assert_eq!(w.scores(with(vec![foo.clone()])), [20, 60, 100, 0]);
    // Zone key with nodeTaintsPolicy Honor and node-y tainted: y's 3 pods are not counted,
    // zone1 3, zone2 0 (x); 2 domains, w = ln 4 = 1.386: a, b 4.16 → 4, x, y 0;
    // max 4, min 0: a, b 100·(4 − 4)/4 = 0, x, y 100. Ignored: zone2 3 → every node 4 → 100.
    let tainted = World {
        nodes: vec![(ZA, false), (ZB, false), (ZX, false), (ZY, true)],
        ..w
    };
    let mut zone = sc("zone", 1, false, Some(exists("foo")));
    assert_eq!(tainted.scores(with(vec![zone.clone()])), [100; 4]);
    zone.node_taints_policy = NodeInclusionPolicy::Honor;
    assert_eq!(tainted.scores(with(vec![zone])), [0, 0, 100, 100]);
}

/// `TestPodTopologySpreadScore` (kubernetes/kubernetes
/// `pkg/scheduler/framework/plugins/podtopologyspread/scoring_test.go`, commit
/// 38f68d59a73f5685774b2f1e1d1921e231cc8ab4): the node inclusion policy and
/// `matchLabelKeys` cases, with the arithmetic worked.
#[test]
fn scoring_matches_upstream_policy_and_match_label_keys_cases() {
    let abc = |taint_c| {
        vec![
            (&[("node", "node-a"), ("foo", "")][..], false),
            (&[("node", "node-b"), ("foo", "")][..], false),
            (&[("node", "node-c")][..], taint_c),
        ]
    };
    // foo pods 2/1/1 on a, b, c; key "node", 3 domains, w = ln 5 = 1.609, maxSkew 1.
    let pods = vec![(0, 0), (0, 0), (1, 0), (2, 0)];
    // "NodeTaintsPolicy honored": c (tainted) not counted → 2/1/0: raw 3.22 → 3, 1.61 → 2, 0;
    // min 0, max 3: a 100·(3 − 3)/3 = 0, b 100·1/3 = 33, c 100.
    // "NodeTaintsPolicy ignored": 2/1/1 → 3, 2, 2: a 100·(5 − 3)/3 = 66, b, c 100.
    let w = World {
        nodes: abc(true),
        metas: metas(),
        pods: pods.clone(),
        own: 0,
    };
    let mut honor = sc("node", 1, false, Some(exists("foo")));
    honor.node_taints_policy = NodeInclusionPolicy::Honor;
    assert_eq!(
        w.scores(with(vec![honor])),
        [0, 33, 100],
        "NodeTaintsPolicy honored"
    );
    let plain = sc("node", 1, false, Some(exists("foo")));
    assert_eq!(
        w.scores(with(vec![plain.clone()])),
        [66, 100, 100],
        "NodeTaintsPolicy ignored"
    );
    // "NodeAffinityPolicy honored with labelSelectors" (nodeSelector foo: c not counted) and
    // "NodeAffinityPolicy ignored with labelSelectors" (c counted): as the two above.
    let w = World {
        nodes: abc(false),
        ..w
    };
    let by_selector = |s: SpreadConstraint| Constraints {
        node_selector: [("foo".to_string(), String::new())].into(),
        ..with(vec![s])
    };
    assert_eq!(w.scores(by_selector(plain.clone())), [0, 33, 100]);
    let mut ignore = plain;
    ignore.node_affinity_policy = NodeInclusionPolicy::Ignore;
    assert_eq!(w.scores(by_selector(ignore)), [66, 100, 100]);

    // matchLabelKeys: nodes a, b (zone1), c, d (zone2) with hostnames.
    const H: &str = crate::model::LABEL_HOSTNAME;
    let h = H;
    let abcd: Vec<(&[(&str, &str)], bool)> = vec![
        (&[("zone", "zone1"), (H, "node-a")], false),
        (&[("zone", "zone1"), (H, "node-b")], false),
        (&[("zone", "zone2"), (H, "node-c")], false),
        (&[("zone", "zone2"), (H, "node-d")], false),
    ];
    let keyed = |key: &str, sel: LabelSelector, keys: &[&str], own: &PodMeta| {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        sc(
            key,
            1,
            false,
            Some(with_match_label_keys(sel, &keys, &own.labels)),
        )
    };
    // "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty": the incoming pod
    // {foo, bar}; zone: {} + [foo] = foo; hostname: {} + [bar] = bar. Services 0 {foo},
    // 1 {bar}, 2 {foo, bar}; 3 the incoming pod {foo, bar} (no replicas). Pods: a foo,
    // b foo+bar, c foo and bar. Zone (foo): zone1 2, zone2 1, w = ln 4 = 1.386; hostname
    // (bar): a 0, b 1, c 1, d 0, w = ln 6 = 1.792. Raw a 2.77 → 3, b 4.56 → 5,
    // c 3.18 → 3, d 1.39 → 1; min 1, max 5: a 100·(6 − 3)/5 = 60, b 20, c 60, d 100.
    let mut ms = metas();
    ms[3] = meta("default", &["foo", "bar"]);
    let incoming = ms[3].clone();
    let w = World {
        nodes: abcd.clone(),
        metas: ms,
        pods: vec![(0, 0), (1, 2), (2, 0), (2, 1)],
        own: 3,
    };
    let c = with(vec![
        keyed("zone", LabelSelector::default(), &["foo"], &incoming),
        keyed(h, LabelSelector::default(), &["bar"], &incoming),
    ]);
    assert_eq!(w.scores(c), [60, 20, 60, 100], "LabelSelector is empty");
    // "… when LabelSelector isn't empty": incoming {foo, bar, baz}; zone fooSelector;
    // hostname barSelector + [baz] = bar and baz. Pods a {foo}, b {foo, bar, baz},
    // c {foo}, {bar}, {bar, baz}. Zone: zone1 2, zone2 1; hostname: b 1, c 1 → the
    // same counts and scores as above.
    let ms = vec![
        meta("default", &["foo"]),
        meta("default", &["bar"]),
        meta("default", &["foo", "bar", "baz"]),
        meta("default", &["bar", "baz"]),
        meta("default", &["foo", "bar", "baz"]),
    ];
    let incoming = ms[4].clone();
    let w = World {
        nodes: abcd,
        metas: ms,
        pods: vec![(0, 0), (1, 2), (2, 0), (2, 1), (2, 3)],
        own: 4,
    };
    let c = with(vec![
        sc("zone", 1, false, Some(exists("foo"))),
        keyed(h, exists("bar"), &["baz"], &incoming),
    ]);
    assert_eq!(w.scores(c), [60, 20, 60, 100], "LabelSelector isn't empty");
}
