//! `sim report`: from results folders to `index.html` and PNG figures.
//!
//! Key decision: every number on the page comes from the folders' files —
//! time series from `timeseries.csv`, marks from `events.csv`, the heatmap
//! from `nodes.csv`, CDFs and all comparisons from `summary.json` — and
//! groups of seeds are compared by mean with a 95% t interval
//! ([`crate::stats`]). Time-series figures overlay the first seed of each
//! group (at most [`MAX_OVERLAID`]); a live group and a simulated group of
//! the same scenario therefore share axes, and get a fidelity table.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::{LATENCY_QUANTILES, Summary};

use crate::data::{Mark, RunData};
use crate::figures::{
    Bar, BarFigure, CdfFigure, HeatFigure, Line, Panel, TimeFigure, Unit, fmt_value, render,
};
use crate::html::{FigureHtml, Section, esc, page, table};
use crate::inputs::{Group, collect, group};
use crate::stats::Estimate;
use crate::{ReportError, ReportOptions};

/// Groups whose first run is drawn on the time-series figures.
pub const MAX_OVERLAID: usize = 10;

/// Heatmaps drawn (one per overlaid run that wrote `nodes.csv`).
const MAX_HEATMAPS: usize = 3;

/// A rendered report.
#[derive(Clone, Debug)]
pub struct Report {
    /// `index.html`.
    pub index: PathBuf,
    /// Figure ids, in page order (each has `<id>.png` beside the page).
    pub figures: Vec<String>,
    /// Runs covered.
    pub runs: usize,
    /// Groups (configurations) compared.
    pub groups: usize,
}

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

/// Renders the report of `opts.inputs` into `opts.out`.
pub fn render_report(opts: &ReportOptions) -> Result<Report, ReportError> {
    if opts.inputs.is_empty() {
        return Err(ReportError::NoInputs);
    }
    let runs = collect(&opts.inputs, opts.force)?;
    let n_runs = runs.len();
    let groups = group(runs);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    fs::create_dir_all(&opts.out).map_err(io(&opts.out))?;
    let overlaid: Vec<RunData> = groups
        .iter()
        .take(MAX_OVERLAID)
        .map(|g| RunData::read(g.runs[0].clone()))
        .collect::<Result<_, _>>()?;
    let mut sections = Vec::new();
    let mut figures = Vec::new();
    let mut fig = |id: &str,
                   title: &str,
                   caption: String,
                   f: &dyn Fn(&Path) -> Result<String, String>|
     -> Result<FigureHtml, ReportError> {
        let png = opts.out.join(format!("{id}.png"));
        let svg = f(&png).map_err(ReportError::Draw)?;
        figures.push(id.to_string());
        Ok(FigureHtml {
            id: id.to_string(),
            title: title.to_string(),
            caption,
            svg,
        })
    };
    let first = &groups[0].runs[0].summary;
    let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
    let overlay_note = if groups.len() > 1 {
        format!(
            " One line per configuration (its first seed){}.",
            if groups.len() > MAX_OVERLAID {
                format!("; the first {MAX_OVERLAID} of {}", groups.len())
            } else {
                String::new()
            }
        )
    } else {
        String::new()
    };

    // Over time.
    let x_end = overlaid
        .iter()
        .map(|d| d.results.summary.duration_s)
        .fold(0.0, f64::max);
    let marks: Vec<(f64, Mark)> = {
        let mut m: Vec<(f64, Mark)> = overlaid
            .iter()
            .flat_map(|d| {
                d.events
                    .iter()
                    .filter_map(|e| e.mark().map(|k| (e.time_s, k)))
            })
            .collect();
        m.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        m
    };
    let services: Vec<String> = first.services.iter().map(|s| s.name.clone()).collect();
    let mut rate = Vec::new();
    let mut latency = Vec::new();
    let mut replicas = Vec::new();
    let mut nodes = Vec::new();
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    let mut gpu = Vec::new();
    let multi = services.len() > 1;
    for (k, d) in overlaid.iter().enumerate() {
        let g = labels[k];
        let dt = d.interval_s();
        for (j, s) in services.iter().enumerate() {
            let scope = format!("service:{s}");
            let name = |what: &str| {
                let mut parts = Vec::new();
                if overlaid.len() > 1 {
                    parts.push(g.to_string());
                }
                if multi || parts.is_empty() {
                    parts.push(s.clone());
                }
                if !what.is_empty() {
                    parts.push(what.to_string());
                }
                parts.join(" ")
            };
            let c = k * services.len() + j;
            rate.push(Line {
                label: name(""),
                color: c,
                dashed: d.results.summary.mode == "live",
                points: d
                    .get(&scope, "arrivals")
                    .iter()
                    .map(|&(t, v)| (t, v / dt))
                    .collect(),
            });
            latency.push(Line {
                label: name("p99"),
                color: c,
                dashed: false,
                points: d.get(&scope, "latency_p99_s").to_vec(),
            });
            latency.push(Line {
                label: name("p50"),
                color: c,
                dashed: true,
                points: d.get(&scope, "latency_p50_s").to_vec(),
            });
            replicas.push(Line {
                label: name("ready"),
                color: c,
                dashed: d.results.summary.mode == "live",
                points: d.get(&scope, "ready_replicas").to_vec(),
            });
        }
        let lbl = |what: &str| {
            if overlaid.len() > 1 {
                format!("{g} {what}")
            } else {
                what.to_string()
            }
        };
        nodes.push(Line {
            label: lbl("nodes"),
            color: k,
            dashed: false,
            points: d.get("cluster", "nodes").to_vec(),
        });
        nodes.push(Line {
            label: lbl("in use"),
            color: k,
            dashed: true,
            points: d.get("cluster", "nodes_in_use").to_vec(),
        });
        let one = |name: &str| Line {
            label: g.to_string(),
            color: k,
            dashed: d.results.summary.mode == "live",
            points: d.get("cluster", name).to_vec(),
        };
        cpu.push(one("cpu_allocated"));
        mem.push(one("memory_allocated"));
        gpu.push(one("gpu_allocated"));
    }
    let mut time_figs = Vec::new();
    let traffic = TimeFigure {
        panels: vec![
            Panel {
                title: "request rate".into(),
                y_label: "requests/s".into(),
                percent: false,
                lines: rate,
            },
            Panel {
                title: "latency of successful requests per sample interval".into(),
                y_label: "seconds".into(),
                percent: false,
                lines: latency,
            },
        ],
        marks: marks.clone(),
        x_end,
    };
    time_figs.push(fig(
        "traffic",
        "Request rate and latency",
        format!(
            "Arrivals per second and the p99 (solid) and p50 (dashed) latency of each sample interval; \
             grey verticals mark scaling events (replica and node counts), red ones faults.{overlay_note}"
        ),
        &|p| render(&traffic, p),
    )?);
    let capacity = TimeFigure {
        panels: vec![
            Panel {
                title: "ready replicas".into(),
                y_label: "replicas".into(),
                percent: false,
                lines: replicas,
            },
            Panel {
                title: "nodes".into(),
                y_label: "nodes".into(),
                percent: false,
                lines: nodes,
            },
        ],
        marks: marks.clone(),
        x_end,
    };
    time_figs.push(fig(
        "capacity",
        "Replicas and nodes",
        format!(
            "Ready replicas per service; nodes existing (solid) and holding at least one replica (dashed).{overlay_note}"
        ),
        &|p| render(&capacity, p),
    )?);
    let mut util_panels = vec![
        Panel {
            title: "cpu allocated".into(),
            y_label: "of allocatable".into(),
            percent: true,
            lines: cpu,
        },
        Panel {
            title: "memory allocated".into(),
            y_label: "of allocatable".into(),
            percent: true,
            lines: mem,
        },
    ];
    if first.cluster.gpu_allocatable_milli > 0 {
        util_panels.push(Panel {
            title: "gpu allocated".into(),
            y_label: "of allocatable".into(),
            percent: true,
            lines: gpu,
        });
    }
    let util = TimeFigure {
        panels: util_panels,
        marks,
        x_end,
    };
    time_figs.push(fig(
        "utilisation",
        "Utilisation per resource",
        format!(
            "Requests allocated on nodes ÷ allocatable, cluster-wide, per resource.{overlay_note}"
        ),
        &|p| render(&util, p),
    )?);
    for (k, d) in overlaid
        .iter()
        .enumerate()
        .filter(|(_, d)| d.nodes.is_some())
        .take(MAX_HEATMAPS)
    {
        let heat = heatmap(d, x_end, labels[k]);
        time_figs.push(fig(
            &format!("heatmap-{}", k + 1),
            &format!("CPU allocated per node: {}", labels[k]),
            "Each row a node, each column a stretch of time; darker is more of the node's allocatable \
             cpu requested (grey: the node did not exist). From nodes.csv."
                .into(),
            &|p| render(&heat, p),
        )?);
    }
    let mut cdf_lines = Vec::new();
    for (k, g) in groups.iter().take(MAX_OVERLAID).enumerate() {
        for (j, s) in g.runs[0].summary.services.iter().enumerate() {
            if s.latency_quantiles_s.len() != LATENCY_QUANTILES.len() {
                continue;
            }
            let mut label = g.label.clone();
            if multi {
                label = format!("{label} {}", s.name);
            }
            cdf_lines.push(Line {
                label,
                color: k * services.len() + j,
                dashed: g.live,
                points: s
                    .latency_quantiles_s
                    .iter()
                    .zip(LATENCY_QUANTILES)
                    .map(|(&x, q)| (x, q))
                    .collect(),
            });
        }
    }
    let cdf = CdfFigure {
        title: "latency CDF over the whole run".into(),
        lines: cdf_lines,
    };
    time_figs.push(fig(
        "latency-cdf",
        "Latency distribution",
        format!("Fraction of successful requests at or under each latency, from summary.json's latency quantiles.{overlay_note}"),
        &|p| render(&cdf, p),
    )?);
    sections.push(Section {
        title: "Over time".into(),
        body: String::new(),
        figures: time_figs,
    });

    // Comparisons across groups.
    let all: Vec<&Summary> = groups
        .iter()
        .flat_map(|g| g.runs.iter().map(|r| &r.summary))
        .collect();
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
            bar_figs.push(fig(
                &id,
                &m.name,
                "Mean per configuration with its 95% confidence interval across seeds; green is best.".into(),
                &|p| render(&bars, p),
            )?);
        }
        sections.push(Section {
            title: "Comparison".into(),
            body,
            figures: bar_figs,
        });
    }

    if let Some(body) = fidelity(&groups) {
        sections.push(Section {
            title: "Fidelity: simulated vs live".into(),
            body,
            figures: Vec::new(),
        });
    }
    sections.push(Section {
        title: "Runs".into(),
        body: runs_table(&groups),
        figures: Vec::new(),
    });
    if let Some(dir) = &opts.criterion
        && let Some(body) = crate::bench::section(dir)
    {
        sections.push(Section {
            title: "Benchmarks".into(),
            body,
            figures: Vec::new(),
        });
    }
    let intro = format!(
        "<p>Scenario <code>{}</code>: {} runs in {} configurations. Rendered by orkestra-reports {} \
         from results format {}.</p>",
        esc(&first.scenario),
        n_runs,
        groups.len(),
        env!("CARGO_PKG_VERSION"),
        first.format
    );
    let html = page(
        &format!("Orkestra report: {}", first.scenario),
        &intro,
        &sections,
    );
    let index = opts.out.join("index.html");
    fs::write(&index, html).map_err(io(&index))?;
    Ok(Report {
        index,
        figures,
        runs: n_runs,
        groups: groups.len(),
    })
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

/// At most 120 columns of time and 80 rows of nodes (bucket means).
fn heatmap(d: &RunData, x_end: f64, label: &str) -> HeatFigure {
    let grid = d.nodes.as_ref().expect("caller checked");
    let cols = grid.times.len().clamp(1, 120);
    let per_col = grid.times.len().div_ceil(cols).max(1);
    let per_row = grid.nodes.len().div_ceil(80).max(1);
    let mean = |vals: &mut dyn Iterator<Item = f64>| {
        let (mut s, mut n) = (0.0, 0);
        for v in vals.filter(|v| v.is_finite()) {
            s += v;
            n += 1;
        }
        if n == 0 { f64::NAN } else { s / f64::from(n) }
    };
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for chunk in (0..grid.nodes.len()).collect::<Vec<_>>().chunks(per_row) {
        rows.push(if chunk.len() == 1 {
            grid.nodes[chunk[0]].clone()
        } else {
            format!(
                "{}…{}",
                grid.nodes[chunk[0]],
                grid.nodes[chunk[chunk.len() - 1]]
            )
        });
        let mut row = Vec::new();
        for c in (0..grid.times.len()).step_by(per_col) {
            let end = (c + per_col).min(grid.times.len());
            row.push(mean(
                &mut chunk
                    .iter()
                    .flat_map(|&n| grid.cpu[n][c..end].iter().copied()),
            ));
        }
        values.push(row);
    }
    HeatFigure {
        title: format!("cpu allocated per node ({label})"),
        rows,
        columns: (0..grid.times.len())
            .step_by(per_col)
            .map(|c| grid.times[c])
            .collect(),
        values,
        x_end,
    }
}

/// Sim vs live per service, when both worlds ran the scenario.
fn fidelity(groups: &[Group]) -> Option<String> {
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

fn runs_table(groups: &[Group]) -> String {
    let head: Vec<String> = [
        "folder",
        "configuration",
        "mode",
        "seed",
        "scenario hash",
        "overrides",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for g in groups {
        for r in &g.runs {
            let s = &r.summary;
            rows.push(vec![
                (esc(&r.dir.display().to_string()), "l"),
                (esc(&g.label), "l"),
                (esc(&s.mode), "l"),
                (s.seed.to_string(), ""),
                (format!("<code>{}</code>", esc(&s.scenario_hash)), "l"),
                (esc(&s.overrides.join(" ")), "l"),
            ]);
        }
    }
    table(&head, &rows)
}
