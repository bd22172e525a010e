//! `sim report`: from results folders to `index.html` and PNG figures.
//!
//! Key decision: every number on the page comes from the folders' files —
//! time series from `timeseries.csv`, marks from `events.csv`, the heatmap
//! from `nodes.csv`, CDFs and all comparisons from `summary.json` — and
//! groups of seeds are compared by mean with a 95% t interval
//! ([`crate::stats`]). Time-series figures overlay the first seed of each
//! group (at most [`MAX_OVERLAID`]); a live group and a simulated group of
//! the same scenario therefore share axes, and get a fidelity table.

use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::LATENCY_QUANTILES;

use crate::data::{Mark, RunData};
use crate::figures::{CdfFigure, Draw, HeatFigure, Line, Panel, TimeFigure, render};
use crate::html::{FigureHtml, Section, esc, page, table};
use crate::inputs::{Group, collect, group};
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

/// The figures drawn so far; each one's PNG is written beside the page.
pub(crate) struct Figures<'a> {
    out: &'a Path,
    /// Ids in page order.
    pub(crate) ids: Vec<String>,
}

impl Figures<'_> {
    /// Draws `f` as `<id>.png` and as SVG for the page.
    pub(crate) fn add(
        &mut self,
        id: &str,
        title: &str,
        caption: String,
        f: &impl Draw,
    ) -> Result<FigureHtml, ReportError> {
        let png = self.out.join(format!("{id}.png"));
        let svg = render(f, &png).map_err(ReportError::Draw)?;
        self.ids.push(id.to_string());
        Ok(FigureHtml {
            id: id.to_string(),
            title: title.to_string(),
            caption,
            svg,
        })
    }
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
    let mut figs = Figures {
        out: &opts.out,
        ids: Vec::new(),
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
    time_figs.push(figs.add(
        "traffic",
        "Request rate and latency",
        format!(
            "Arrivals per second and the p99 (solid) and p50 (dashed) latency of each sample interval; \
             grey verticals mark scaling events (replica and node counts), red ones faults.{overlay_note}"
        ),
        &traffic,
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
    time_figs.push(figs.add(
        "capacity",
        "Replicas and nodes",
        format!(
            "Ready replicas per service; nodes existing (solid) and holding at least one replica (dashed).{overlay_note}"
        ),
        &capacity,
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
    time_figs.push(figs.add(
        "utilisation",
        "Utilisation per resource",
        format!(
            "Requests allocated on nodes ÷ allocatable, cluster-wide, per resource.{overlay_note}"
        ),
        &util,
    )?);
    for (k, d) in overlaid
        .iter()
        .enumerate()
        .filter(|(_, d)| d.nodes.is_some())
        .take(MAX_HEATMAPS)
    {
        let heat = heatmap(d, x_end, labels[k]);
        time_figs.push(figs.add(
            &format!("heatmap-{}", k + 1),
            &format!("CPU allocated per node: {}", labels[k]),
            "Each row a node, each column a stretch of time; darker is more of the node's allocatable \
             cpu requested (grey: the node did not exist). From nodes.csv."
                .into(),
            &heat,
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
    time_figs.push(figs.add(
        "latency-cdf",
        "Latency distribution",
        format!("Fraction of successful requests at or under each latency, from summary.json's latency quantiles.{overlay_note}"),
        &cdf,
    )?);
    sections.push(Section {
        title: "Over time".into(),
        body: String::new(),
        figures: time_figs,
    });

    if let Some(section) = crate::compare::section(&groups, &mut figs)? {
        sections.push(section);
    }
    if let Some(body) = crate::compare::fidelity(&groups) {
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
        figures: figs.ids,
        runs: n_runs,
        groups: groups.len(),
    })
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
