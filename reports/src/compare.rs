//! Comparing configurations: key metrics per group of seeds, bars and the table.
//!
//! Key decision: a configuration is compared by the mean of each key metric
//! over its seeds with a 95% Student's t interval ([`crate::stats`]), the
//! metrics read from `summary.json` only; "best" is the best mean in the
//! metric's direction (every group that ties for it), and a metric that is
//! zero in every run is left out. Simulated and live groups of one scenario
//! also get a fidelity table: their means side by side and the relative
//! error (sim − live) ÷ live.

use std::fmt::Write as _;

use orkestra_core::results::Summary;

use crate::ReportError;
use crate::figures::{Bar, BarFigure, Unit, fmt_value};
use crate::html::{Section, esc, table};
use crate::inputs::Group;
use crate::report::Figures;
use crate::stats::Estimate;

/// Which way is better for a metric.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

/// A key metric of a run.
struct Metric {
    name: String,
    unit: Unit,
    better: Better,
    value: Box<dyn Fn(&Summary) -> f64>,
}

fn metrics(first: &Summary, runs: &[&Summary]) -> Vec<Metric> {
    let mut m: Vec<Metric> = Vec::new();
    for (i, s) in first.services.iter().enumerate() {
        let svc = move |sum: &Summary| sum.services.get(i).cloned();
        let n = &s.name;
        m.push(Metric {
            name: format!("{n}: p99 latency"),
            unit: Unit::Seconds,
            better: Better::Lower,
            value: Box::new(move |x| svc(x).map_or(f64::NAN, |s| s.latency_s.p99)),
        });
        m.push(Metric {
            name: format!("{n}: p50 latency"),
            unit: Unit::Seconds,
            better: Better::Lower,
            value: Box::new(move |x| svc(x).map_or(f64::NAN, |s| s.latency_s.p50)),
        });
        m.push(Metric {
            name: format!("{n}: failed requests"),
            unit: Unit::Fraction,
            better: Better::Lower,
            value: Box::new(move |x| {
                svc(x).map_or(f64::NAN, |s| {
                    let r = s.requests;
                    (r.rejected + r.timed_out) as f64 / (r.total.max(1)) as f64
                })
            }),
        });
        m.push(Metric {
            name: format!("{n}: replica-seconds"),
            unit: Unit::Number,
            better: Better::Lower,
            value: Box::new(move |x| svc(x).map_or(f64::NAN, |s| s.replicas.replica_seconds)),
        });
        if s.slo.is_some() {
            m.push(Metric {
                name: format!("{n}: SLO violation minutes"),
                unit: Unit::Number,
                better: Better::Lower,
                value: Box::new(move |x| {
                    svc(x)
                        .and_then(|s| s.slo)
                        .map_or(f64::NAN, |s| s.violation_minutes as f64)
                }),
            });
        }
    }
    m.push(Metric {
        name: "cpu allocated".into(),
        unit: Unit::Fraction,
        better: Better::Higher,
        value: Box::new(|x| x.cluster.cpu_allocated_mean),
    });
    m.push(Metric {
        name: "replica pending p99".into(),
        unit: Unit::Seconds,
        better: Better::Lower,
        value: Box::new(|x| x.cluster.pending_time_s.p99),
    });
    m.push(Metric {
        name: "node-hours".into(),
        unit: Unit::Number,
        better: Better::Lower,
        value: Box::new(|x| x.cluster.node_hours),
    });
    // Metrics that are zero in every run say nothing.
    m.retain(|k| runs.iter().any(|s| (k.value)(s) != 0.0));
    m
}

fn show(v: f64, unit: Unit) -> String {
    fmt_value(v, unit)
}

/// The groups with the best mean (all of them on a tie); none when every mean is equal.
fn best_of(better: Better, e: &[Estimate]) -> Vec<usize> {
    let ok: Vec<(usize, f64)> = e
        .iter()
        .enumerate()
        .filter(|(_, e)| e.n > 0 && e.mean.is_finite())
        .map(|(i, e)| (i, e.mean))
        .collect();
    if ok.len() < 2 || ok.iter().all(|&(_, v)| v == ok[0].1) {
        return Vec::new();
    }
    let pick = |a: f64, b: f64| match better {
        Better::Lower => a.min(b),
        Better::Higher => a.max(b),
    };
    let top = ok.iter().map(|p| p.1).fold(ok[0].1, pick);
    ok.iter().filter(|p| p.1 == top).map(|p| p.0).collect()
}

/// The Comparison section, when there are several groups or seeds.
pub(crate) fn section(
    groups: &[Group],
    figs: &mut Figures,
) -> Result<Option<Section>, ReportError> {
    let all: Vec<&Summary> = groups
        .iter()
        .flat_map(|g| g.runs.iter().map(|r| &r.summary))
        .collect();
    let first = &groups[0].runs[0].summary;
    let ms = metrics(first, &all);
    if groups.len() > 1 || groups.iter().any(|g| g.runs.len() > 1) {
        let mut head = vec!["configuration".to_string(), "runs".to_string()];
        head.extend(ms.iter().map(|m| m.name.clone()));
        let ests: Vec<Vec<Estimate>> = ms
            .iter()
            .map(|m| {
                groups
                    .iter()
                    .map(|g| {
                        let v: Vec<f64> = g
                            .runs
                            .iter()
                            .map(|r| (m.value)(&r.summary))
                            .filter(|v| v.is_finite())
                            .collect();
                        Estimate::of(&v)
                    })
                    .collect()
            })
            .collect();
        let best: Vec<Vec<usize>> = ms
            .iter()
            .zip(&ests)
            .map(|(m, e)| best_of(m.better, e))
            .collect();
        let rows: Vec<Vec<(String, &'static str)>> = groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let mut row = vec![(esc(&g.label), "l"), (g.runs.len().to_string(), "")];
                for (mi, m) in ms.iter().enumerate() {
                    let e = ests[mi][gi];
                    let mut cell = show(e.mean, m.unit);
                    if e.n > 1 {
                        let _ = write!(cell, " ± {}", show(e.half, m.unit));
                    }
                    row.push((esc(&cell), if best[mi].contains(&gi) { "best" } else { "" }));
                }
                row
            })
            .collect();
        let mut body = String::from(
            "<p>Mean over each configuration's seeds ± the half-width of the 95% confidence interval \
             (Student's t); the best configuration per metric is highlighted.</p>\n",
        );
        body.push_str(&table(&head, &rows));
        let mut bar_figs = Vec::new();
        for (mi, m) in ms.iter().enumerate() {
            let bars = BarFigure {
                title: m.name.clone(),
                x_label: match m.better {
                    Better::Lower => "lower is better",
                    Better::Higher => "higher is better",
                }
                .into(),
                unit: m.unit,
                bars: groups
                    .iter()
                    .enumerate()
                    .map(|(gi, g)| Bar {
                        label: g.label.clone(),
                        est: ests[mi][gi],
                        best: best[mi].contains(&gi),
                    })
                    .collect(),
            };
            let id = format!("bars-{}", mi + 1);
            bar_figs.push(figs.add(
                &id,
                &m.name,
                "Mean per configuration with its 95% confidence interval across seeds; green is best.".into(),
                &bars,
            )?);
        }
        return Ok(Some(Section {
            title: "Comparison".into(),
            body,
            figures: bar_figs,
        }));
    }
    Ok(None)
}

/// Sim vs live per service, when both worlds ran the scenario.
pub(crate) fn fidelity(groups: &[Group]) -> Option<String> {
    let sim: Vec<&Summary> = groups
        .iter()
        .filter(|g| !g.live)
        .flat_map(|g| g.runs.iter().map(|r| &r.summary))
        .collect();
    let live: Vec<&Summary> = groups
        .iter()
        .filter(|g| g.live)
        .flat_map(|g| g.runs.iter().map(|r| &r.summary))
        .collect();
    if sim.is_empty() || live.is_empty() {
        return None;
    }
    let head: Vec<String> = ["service · metric", "simulated", "live", "relative error"]
        .map(String::from)
        .to_vec();
    let mut rows = Vec::new();
    type Of = fn(&orkestra_core::results::ServiceSummary) -> f64;
    let cases: [(&str, Unit, Of); 3] = [
        ("p50 latency", Unit::Seconds, |t| t.latency_s.p50),
        ("p99 latency", Unit::Seconds, |t| t.latency_s.p99),
        ("ready replicas (mean)", Unit::Number, |t| {
            t.replicas.ready_mean
        }),
    ];
    for s in &sim[0].services {
        let n = &s.name;
        for (what, unit, f) in cases {
            let mean = |runs: &[&Summary]| {
                let v: Vec<f64> = runs
                    .iter()
                    .filter_map(|x| x.services.iter().find(|t| &t.name == n).map(f))
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            let (a, b) = (mean(&sim), mean(&live));
            let err = match (a, b) {
                (Some(a), Some(b)) if b != 0.0 => format!("{:+.1}%", (a - b) / b * 100.0),
                _ => "–".into(),
            };
            rows.push(vec![
                (esc(&format!("{n} · {what}")), "l"),
                (esc(&a.map_or("–".into(), |v| show(v, unit))), ""),
                (esc(&b.map_or("–".into(), |v| show(v, unit))), ""),
                (esc(&err), ""),
            ]);
        }
    }
    Some(format!(
        "<p>Means over {} simulated and {} live runs; relative error = (simulated − live) ÷ live.</p>\n{}",
        sim.len(),
        live.len(),
        table(&head, &rows)
    ))
}
