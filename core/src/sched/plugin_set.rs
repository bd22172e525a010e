//! A profile's `plugins` as kube-scheduler reads them: per-extension-point
//! `PluginSet`s merged onto the defaults, then `multiPoint` expanded into
//! the filter and score lists, with the score weights resolved.
//!
//! Key decision: the three steps are upstream's, by name and in order —
//! [`merge_plugin_set`] is `mergePluginSet` of
//! `pkg/scheduler/apis/config/v1/default_plugins.go` @ 01db4ae9,
//! [`expand_multi_point_plugins`] and [`score_weights`] are
//! `expandMultiPointPlugins`/`updatePluginList` and `getScoreWeights` of
//! `pkg/scheduler/framework/runtime/framework.go` — over plain names, so a
//! configuration may name every upstream plugin; those Orkestra does not
//! model ([`UPSTREAM_PLUGINS`] says which extension points each has) are
//! carried through and dropped only when the profile is built, where they
//! change nothing. Errors are worded as upstream's.

/// One `Plugin` of a `PluginSet`: a name and its `weight` (score plugins
/// only; `None` when not given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    /// The plugin's name, or `*` in a disabled list.
    pub name: String,
    /// `weight`.
    pub weight: Option<i32>,
}

impl PluginRef {
    /// A plugin with no weight.
    pub fn named(name: &str) -> PluginRef {
        PluginRef {
            name: name.to_string(),
            weight: None,
        }
    }

    /// A plugin with a weight.
    pub fn weighted(name: &str, weight: i32) -> PluginRef {
        PluginRef {
            name: name.to_string(),
            weight: Some(weight),
        }
    }
}

/// `PluginSet`: enabled plugins in order, and disabled names (`*` for all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginSet {
    /// `enabled`.
    pub enabled: Vec<PluginRef>,
    /// `disabled` (names only).
    pub disabled: Vec<String>,
}

/// `Plugins`, the extension points whose configuration Orkestra reads:
/// `multiPoint`, `filter` and `score`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plugins {
    /// `multiPoint`.
    pub multi_point: PluginSet,
    /// `filter`.
    pub filter: PluginSet,
    /// `score`.
    pub score: PluginSet,
}

/// An extension point that [`expand_multi_point_plugins`] fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionPoint {
    /// `FilterPlugin`.
    Filter,
    /// `ScorePlugin`.
    Score,
}

impl ExtensionPoint {
    /// The Go interface's name, as upstream's errors print it.
    pub fn type_name(self) -> &'static str {
        match self {
            ExtensionPoint::Filter => "FilterPlugin",
            ExtensionPoint::Score => "ScorePlugin",
        }
    }
}

/// Upstream's in-tree plugins of the default profile and whether each
/// implements `FilterPlugin` and `ScorePlugin` (`pkg/scheduler/framework/
/// plugins/*`): `(name, filter, score)`. Ones also in
/// [`super::config::PluginName`] are modelled.
pub const UPSTREAM_PLUGINS: [(&str, bool, bool); 19] = [
    ("SchedulingGates", false, false),
    ("PrioritySort", false, false),
    ("NodeUnschedulable", true, false),
    ("NodeName", true, false),
    ("TaintToleration", true, true),
    ("NodeAffinity", true, true),
    ("NodePorts", true, false),
    ("NodeResourcesFit", true, true),
    ("VolumeRestrictions", true, false),
    ("NodeVolumeLimits", true, false),
    ("VolumeBinding", true, true),
    ("VolumeZone", true, false),
    ("PodTopologySpread", true, true),
    ("InterPodAffinity", true, true),
    ("DynamicResources", true, false),
    ("DefaultPreemption", false, false),
    ("NodeResourcesBalancedAllocation", false, true),
    ("ImageLocality", false, true),
    ("DefaultBinder", false, false),
];

/// Plugins removed from the v1 configuration (`invalidPluginsByVersion` of
/// `pkg/scheduler/apis/config/validation/validation.go` @ 030880a5): an
/// enabled one is invalid.
pub const INVALID_V1_PLUGINS: [&str; 4] = [
    "AzureDiskLimits",
    "CinderLimits",
    "EBSLimits",
    "GCEPDLimits",
];

/// Whether upstream's plugin `name` implements extension point `e`;
/// `None` if there is no such plugin.
pub fn implements(name: &str, e: ExtensionPoint) -> Option<bool> {
    UPSTREAM_PLUGINS
        .iter()
        .find(|p| p.0 == name)
        .map(|p| match e {
            ExtensionPoint::Filter => p.1,
            ExtensionPoint::Score => p.2,
        })
}

/// The default profile's `multiPoint` (`getDefaultPlugins`,
/// `default_plugins.go` @ 01db4ae9, without the four volume-limit plugins
/// later removed from v1 — [`INVALID_V1_PLUGINS`] — and without
/// `DynamicResources`, which its feature gate adds).
pub fn default_plugins() -> Plugins {
    let names: [(&str, Option<i32>); 17] = [
        ("SchedulingGates", None),
        ("PrioritySort", None),
        ("NodeUnschedulable", None),
        ("NodeName", None),
        ("TaintToleration", Some(3)),
        ("NodeAffinity", Some(2)),
        ("NodePorts", None),
        ("NodeResourcesFit", Some(1)),
        ("VolumeRestrictions", None),
        ("NodeVolumeLimits", None),
        ("VolumeBinding", None),
        ("VolumeZone", None),
        ("PodTopologySpread", Some(2)),
        ("InterPodAffinity", Some(2)),
        ("DefaultPreemption", None),
        ("NodeResourcesBalancedAllocation", Some(1)),
        ("ImageLocality", Some(1)),
    ];
    let mut enabled: Vec<PluginRef> = names
        .iter()
        .map(|&(name, weight)| PluginRef {
            name: name.to_string(),
            weight,
        })
        .collect();
    enabled.push(PluginRef::named("DefaultBinder"));
    Plugins {
        multi_point: PluginSet {
            enabled,
            disabled: Vec::new(),
        },
        ..Plugins::default()
    }
}

/// `mergePluginSet`: the custom set onto the default one. Disabled names
/// (custom, then default) are kept; unless `*` is disabled, the default
/// enabled plugins stay in order minus the disabled ones, a custom entry
/// of the same name replacing one in place; the other custom plugins are
/// appended (duplicates too: the framework rejects them later).
pub fn merge_plugin_set(default: &PluginSet, custom: &PluginSet) -> PluginSet {
    let mut disabled: Vec<String> = custom.disabled.clone();
    disabled.extend(default.disabled.iter().cloned());
    let is_disabled = |n: &str| disabled.iter().any(|d| d == n);
    // The last custom entry of a name replaces the default (a map in Go).
    let custom_index = |n: &str| custom.enabled.iter().rposition(|p| p.name == n);
    let mut replaced = vec![false; custom.enabled.len()];
    let mut enabled = Vec::new();
    if !is_disabled("*") {
        for d in &default.enabled {
            if is_disabled(&d.name) {
                continue;
            }
            match custom_index(&d.name) {
                Some(i) => {
                    replaced[i] = true;
                    enabled.push(custom.enabled[i].clone());
                }
                None => enabled.push(d.clone()),
            }
        }
    }
    for (i, p) in custom.enabled.iter().enumerate() {
        if !replaced[i] {
            enabled.push(p.clone());
        }
    }
    PluginSet { enabled, disabled }
}

/// `mergePlugins` over the extension points Orkestra reads.
pub fn merge_plugins(default: &Plugins, custom: &Plugins) -> Plugins {
    Plugins {
        multi_point: merge_plugin_set(&default.multi_point, &custom.multi_point),
        filter: merge_plugin_set(&default.filter, &custom.filter),
        score: merge_plugin_set(&default.score, &custom.score),
    }
}

/// The plugins of extension point `e`, in the framework's order: the
/// point's own enabled list checked as `updatePluginList` checks it, then
/// `multiPoint` expanded as `expandMultiPointPlugins` does — skipped
/// entirely when the point disables `*`; a multi-point plugin that does
/// not implement `e` or is disabled there is skipped; one the point
/// enables itself keeps the point's entry (listed first, in the point's
/// order), the other multi-point plugins follow, then the rest of the
/// point's own list.
pub fn expand_multi_point_plugins(
    plugins: &Plugins,
    e: ExtensionPoint,
) -> Result<Vec<String>, String> {
    let set = match e {
        ExtensionPoint::Filter => &plugins.filter,
        ExtensionPoint::Score => &plugins.score,
    };
    let mut own: Vec<String> = Vec::new();
    for p in &set.enabled {
        match implements(&p.name, e) {
            None => return Err(format!("{} {:?} does not exist", e.type_name(), p.name)),
            Some(false) => {
                return Err(format!(
                    "plugin {:?} does not extend {} plugin",
                    p.name,
                    e.type_name()
                ));
            }
            Some(true) => {}
        }
        if own.contains(&p.name) {
            return Err(format!(
                "plugin {:?} already registered as {:?}",
                p.name,
                e.type_name()
            ));
        }
        own.push(p.name.clone());
    }
    if set.disabled.iter().any(|d| d == "*") {
        return Ok(own);
    }
    let mut overrides: Vec<&str> = Vec::new();
    let mut multi: Vec<String> = Vec::new();
    for p in &plugins.multi_point.enabled {
        match implements(&p.name, e) {
            None => return Err(format!("{} {:?} does not exist", e.type_name(), p.name)),
            Some(false) => continue,
            Some(true) => {}
        }
        if set.disabled.contains(&p.name) {
            continue;
        }
        if own.contains(&p.name) {
            overrides.push(&p.name);
            continue;
        }
        if multi.contains(&p.name) {
            return Err(format!(
                "plugin {:?} already registered as {:?}",
                p.name,
                e.type_name()
            ));
        }
        multi.push(p.name.clone());
    }
    let mut out: Vec<String> = own
        .iter()
        .filter(|n| overrides.contains(&n.as_str()))
        .cloned()
        .collect();
    out.extend(multi);
    out.extend(
        own.iter()
            .filter(|n| !overrides.contains(&n.as_str()))
            .cloned(),
    );
    Ok(out)
}

/// `getScoreWeights`: each score plugin's weight, the `score` list's entry
/// taking precedence over `multiPoint`'s; a weight of 0 or none is 1.
pub fn score_weights(plugins: &Plugins, names: &[String]) -> Vec<(String, i64)> {
    let entries: Vec<&PluginRef> = plugins
        .score
        .enabled
        .iter()
        .chain(&plugins.multi_point.enabled)
        .collect();
    names
        .iter()
        .map(|n| {
            let w = entries
                .iter()
                .find(|p| &p.name == n)
                .and_then(|p| p.weight)
                .unwrap_or(0);
            (n.clone(), if w == 0 { 1 } else { i64::from(w) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set from `"Name"` / `"Name:weight"` entries.
    fn ps(enabled: &[&str], disabled: &[&str]) -> PluginSet {
        PluginSet {
            enabled: enabled
                .iter()
                .map(|e| match e.split_once(':') {
                    Some((n, w)) => PluginRef::weighted(n, w.parse().unwrap()),
                    None => PluginRef::named(e),
                })
                .collect(),
            disabled: disabled.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// `TestMergePlugins` of `pkg/scheduler/apis/config/v1/default_plugins_test.go`
    /// @ 18f5b5c8e0c6b45e3be9b9fbce11ce15967dafdc, every case (each touches
    /// one extension point; "Append disabled Multipoint plugins" also
    /// carries a Score `disabled`, merged on its own set):
    /// (name, default, custom, expected).
    #[test]
    fn merge_plugin_set_replays_test_merge_plugins() {
        let d12 = ps(&["DefaultPlugin1", "DefaultPlugin2"], &[]);
        let p123 = ps(&["Plugin1", "Plugin2", "Plugin3"], &[]);
        let cases: Vec<(&str, PluginSet, PluginSet, PluginSet)> = vec![
            (
                "AppendCustomPlugin",
                d12.clone(),
                ps(&["CustomPlugin"], &[]),
                ps(&["DefaultPlugin1", "DefaultPlugin2", "CustomPlugin"], &[]),
            ),
            (
                "InsertAfterDefaultPlugins2",
                d12.clone(),
                ps(&["CustomPlugin", "DefaultPlugin2"], &["DefaultPlugin2"]),
                ps(
                    &["DefaultPlugin1", "CustomPlugin", "DefaultPlugin2"],
                    &["DefaultPlugin2"],
                ),
            ),
            (
                "InsertBeforeAllPlugins",
                d12.clone(),
                ps(
                    &["CustomPlugin", "DefaultPlugin1", "DefaultPlugin2"],
                    &["*"],
                ),
                ps(
                    &["CustomPlugin", "DefaultPlugin1", "DefaultPlugin2"],
                    &["*"],
                ),
            ),
            (
                "ReorderDefaultPlugins",
                d12.clone(),
                ps(&["DefaultPlugin2", "DefaultPlugin1"], &["*"]),
                ps(&["DefaultPlugin2", "DefaultPlugin1"], &["*"]),
            ),
            (
                "ApplyNilCustomPlugin",
                d12.clone(),
                PluginSet::default(),
                d12.clone(),
            ),
            (
                "CustomPluginOverrideDefaultPlugin",
                p123.clone(),
                ps(&["Plugin1:2", "Plugin3:3"], &[]),
                ps(&["Plugin1:2", "Plugin2", "Plugin3:3"], &[]),
            ),
            (
                "OrderPreserveAfterOverride",
                p123.clone(),
                ps(&["Plugin2:2", "Plugin1:1"], &[]),
                ps(&["Plugin1:1", "Plugin2:2", "Plugin3"], &[]),
            ),
            (
                "RepeatedCustomPlugin",
                p123.clone(),
                ps(&["Plugin1", "Plugin2:2", "Plugin3", "Plugin2:4"], &[]),
                ps(&["Plugin1", "Plugin2:4", "Plugin3", "Plugin2:2"], &[]),
            ),
            (
                "Append custom MultiPoint plugin",
                d12.clone(),
                ps(&["CustomPlugin"], &[]),
                ps(&["DefaultPlugin1", "DefaultPlugin2", "CustomPlugin"], &[]),
            ),
            (
                "Append disabled Multipoint plugins",
                d12.clone(),
                ps(&["CustomPlugin", "CustomPlugin2"], &["DefaultPlugin2"]),
                ps(
                    &["DefaultPlugin1", "CustomPlugin", "CustomPlugin2"],
                    &["DefaultPlugin2"],
                ),
            ),
            (
                "override default MultiPoint plugins with custom value",
                ps(&["DefaultPlugin"], &[]),
                ps(&["DefaultPlugin:5"], &[]),
                ps(&["DefaultPlugin:5"], &[]),
            ),
            (
                "disabled MultiPoint plugin in default set",
                ps(&["DefaultPlugin"], &["DefaultPlugin2"]),
                ps(&["CustomPlugin"], &[]),
                ps(&["DefaultPlugin", "CustomPlugin"], &["DefaultPlugin2"]),
            ),
            (
                "multipoint with only disabled gets merged",
                ps(&["DefaultPlugin"], &[]),
                ps(&[], &["DefaultPlugin"]),
                ps(&[], &["DefaultPlugin"]),
            ),
        ];
        for (name, default, custom, want) in cases {
            assert_eq!(merge_plugin_set(&default, &custom), want, "{name}");
        }
        // The Score half of "Append disabled Multipoint plugins".
        let score = merge_plugin_set(&PluginSet::default(), &ps(&[], &["CustomPlugin2"]));
        assert_eq!(score, ps(&[], &["CustomPlugin2"]));
    }

    #[test]
    fn the_default_profile_expands_to_upstreams_filters_and_scores() {
        let p = default_plugins();
        let filters = expand_multi_point_plugins(&p, ExtensionPoint::Filter).unwrap();
        assert_eq!(
            filters,
            [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        let scores = expand_multi_point_plugins(&p, ExtensionPoint::Score).unwrap();
        let w = score_weights(&p, &scores);
        let w: Vec<(&str, i64)> = w.iter().map(|(n, w)| (n.as_str(), *w)).collect();
        // VolumeBinding has no weight in the defaults: 0 counts as 1.
        assert_eq!(
            w,
            [
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("NodeResourcesFit", 1),
                ("VolumeBinding", 1),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesBalancedAllocation", 1),
                ("ImageLocality", 1)
            ]
        );
    }

    /// The rules `expandMultiPointPlugins` and `getScoreWeights` state
    /// (framework.go): a point's own entry overrides multiPoint's and comes
    /// first; a point's disabled name removes a multi-point plugin there
    /// only; `*` skips the expansion; a weight in `score` beats multiPoint's.
    #[test]
    fn multi_point_expansion_as_upstream() {
        let mut custom = Plugins::default();
        custom
            .score
            .enabled
            .push(PluginRef::weighted("PodTopologySpread", 5));
        custom.score.disabled.push("TaintToleration".into());
        let p = merge_plugins(&default_plugins(), &custom);
        let scores = expand_multi_point_plugins(&p, ExtensionPoint::Score).unwrap();
        assert_eq!(scores[0], "PodTopologySpread");
        assert!(!scores.contains(&"TaintToleration".to_string()));
        let w = score_weights(&p, &scores);
        assert_eq!(w[0], ("PodTopologySpread".to_string(), 5));
        // Filter is untouched by score's settings.
        let filters = expand_multi_point_plugins(&p, ExtensionPoint::Filter).unwrap();
        assert!(filters.contains(&"TaintToleration".to_string()));

        let mut custom = Plugins::default();
        custom.score.disabled.push("*".into());
        custom
            .score
            .enabled
            .push(PluginRef::named("NodeResourcesFit"));
        let p = merge_plugins(&default_plugins(), &custom);
        assert_eq!(
            expand_multi_point_plugins(&p, ExtensionPoint::Score).unwrap(),
            ["NodeResourcesFit"]
        );
    }

    #[test]
    fn errors_are_upstreams() {
        let mut p = default_plugins();
        p.filter.enabled.push(PluginRef::named("Nope"));
        assert_eq!(
            expand_multi_point_plugins(&p, ExtensionPoint::Filter).unwrap_err(),
            "FilterPlugin \"Nope\" does not exist"
        );
        let mut p = default_plugins();
        p.filter
            .enabled
            .push(PluginRef::named("NodeResourcesBalancedAllocation"));
        assert_eq!(
            expand_multi_point_plugins(&p, ExtensionPoint::Filter).unwrap_err(),
            "plugin \"NodeResourcesBalancedAllocation\" does not extend FilterPlugin plugin"
        );
        let mut p = default_plugins();
        p.multi_point.enabled.push(PluginRef::named("NodeAffinity"));
        assert_eq!(
            expand_multi_point_plugins(&p, ExtensionPoint::Score).unwrap_err(),
            "plugin \"NodeAffinity\" already registered as \"ScorePlugin\""
        );
    }
}
