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
    fs::create_dir_all(&opts.out).map_err(io_error(&opts.out))?;
    let overlaid: Vec<RunData> = groups
        .iter()
        .take(MAX_OVERLAID)
        .map(|g| RunData::read(g.runs[0].clone()))
        .collect::<Result<_, _>>()?;
    let mut figs = Figures {
        out: &opts.out,
        ids: Vec::new(),
    };
    let mut sections = vec![over_time(&Overlay::new(&groups, &overlaid), &mut figs)?];
    sections.extend(comparison_sections(&groups, &mut figs)?);
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
    let first = &groups[0].runs[0].summary;
    let html = page(
        &format!("Orkestra report: {}", first.scenario),
        &intro(&groups, n_runs),
        &sections,
    );
    let index = opts.out.join("index.html");
    fs::write(&index, html).map_err(io_error(&index))?;
    Ok(Report {
        index,
        figures: figs.ids,
        runs: n_runs,
        groups: groups.len(),
    })
}

/// The error of an I/O operation on `path`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError::Io { path, source }
}

/// The page's opening paragraph: scenario, runs, configurations, versions.
fn intro(groups: &[Group], n_runs: usize) -> String {
    let first = &groups[0].runs[0].summary;
    format!(
        "<p>Scenario <code>{}</code>: {} runs in {} configurations. Rendered by orkestra-reports {} \
         from results format {}.</p>",
        esc(&first.scenario),
        n_runs,
        groups.len(),
        env!("CARGO_PKG_VERSION"),
        first.format
    )
}

/// What the time-series figures share: the overlaid runs (the first of each
/// group), their labels, the services, the event marks and the time axis.
struct Overlay<'a> {
    groups: &'a [Group],
    runs: &'a [RunData],
    labels: Vec<&'a str>,
    services: Vec<String>,
    /// More than one service: lines name their service.
    multi: bool,
    marks: Vec<(f64, Mark)>,
    x_end: f64,
    /// Appended to the captions when several configurations are overlaid.
    note: String,
}

impl<'a> Overlay<'a> {
    fn new(groups: &'a [Group], runs: &'a [RunData]) -> Overlay<'a> {
        let first = &groups[0].runs[0].summary;
        let note = if groups.len() > 1 {
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
        let mut marks: Vec<(f64, Mark)> = runs
            .iter()
            .flat_map(|d| {
                d.events
                    .iter()
                    .filter_map(|e| e.mark().map(|k| (e.time_s, k)))
            })
            .collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let services: Vec<String> = first.services.iter().map(|s| s.name.clone()).collect();
        Overlay {
            groups,
            runs,
            labels: groups.iter().map(|g| g.label.as_str()).collect(),
            multi: services.len() > 1,
            services,
            marks,
            x_end: runs
                .iter()
                .map(|d| d.results.summary.duration_s)
                .fold(0.0, f64::max),
            note,
        }
    }

    /// Every (run index, run, service index, service) pair, runs outermost.
    fn service_runs(&self) -> impl Iterator<Item = (usize, &'a RunData, usize, &str)> {
        self.runs.iter().enumerate().flat_map(move |(k, d)| {
            self.services
                .iter()
                .enumerate()
                .map(move |(j, s)| (k, d, j, s.as_str()))
        })
    }

    /// The palette index of service `j` of run `k`.
    fn color(&self, k: usize, j: usize) -> usize {
        k * self.services.len() + j
    }

    /// Legend text of a service line: the configuration when several are
    /// overlaid, the service when several exist (or nothing else names the
    /// line), then `what`.
    fn service_label(&self, k: usize, service: &str, what: &str) -> String {
        let mut parts = Vec::new();
        if self.runs.len() > 1 {
            parts.push(self.labels[k]);
        }
        if self.multi || parts.is_empty() {
            parts.push(service);
        }
        if !what.is_empty() {
            parts.push(what);
        }
        parts.join(" ")
    }

    /// Legend text of a cluster-wide line: `what`, after the configuration
    /// when several are overlaid.
    fn cluster_label(&self, k: usize, what: &str) -> String {
        if self.runs.len() > 1 {
            format!("{} {what}", self.labels[k])
        } else {
            what.to_string()
        }
    }

    /// Panels over the shared time axis, with the event marks.
    fn time_figure(&self, panels: Vec<Panel>) -> TimeFigure {
        TimeFigure {
            panels,
            marks: self.marks.clone(),
            x_end: self.x_end,
        }
    }
}

/// A panel of plain (not percentage) values.
fn panel(title: &str, y_label: &str, lines: Vec<Line>) -> Panel {
    Panel {
        title: title.into(),
        y_label: y_label.into(),
        percent: false,
        lines,
    }
}

/// The "Over time" section: traffic, capacity, utilisation, heatmaps and
/// the latency CDF.
fn over_time(v: &Overlay<'_>, figs: &mut Figures<'_>) -> Result<Section, ReportError> {
    let mut figures = vec![
        traffic_figure(v, figs)?,
        capacity_figure(v, figs)?,
        utilisation_figure(v, figs)?,
    ];
    figures.extend(heatmap_figures(v, figs)?);
    figures.push(latency_cdf_figure(v, figs)?);
    Ok(Section {
        title: "Over time".into(),
        body: String::new(),
        figures,
    })
}

/// Request rate and latency per service.
fn traffic_figure(v: &Overlay<'_>, figs: &mut Figures<'_>) -> Result<FigureHtml, ReportError> {
    let mut rate = Vec::new();
    let mut latency = Vec::new();
    for (k, d, j, s) in v.service_runs() {
        let scope = format!("service:{s}");
        let color = v.color(k, j);
        let dt = d.interval_s();
        rate.push(Line {
            label: v.service_label(k, s, ""),
            color,
            dashed: d.results.summary.mode == "live",
            points: d
                .get(&scope, "arrivals")
                .iter()
                .map(|&(t, n)| (t, n / dt))
                .collect(),
        });
        latency.push(Line {
            label: v.service_label(k, s, "p99"),
            color,
            dashed: false,
            points: d.get(&scope, "latency_p99_s").to_vec(),
        });
        latency.push(Line {
            label: v.service_label(k, s, "p50"),
            color,
            dashed: true,
            points: d.get(&scope, "latency_p50_s").to_vec(),
        });
    }
    let fig = v.time_figure(vec![
        panel("request rate", "requests/s", rate),
        panel(
            "latency of successful requests per sample interval",
            "seconds",
            latency,
        ),
    ]);
    figs.add(
        "traffic",
        "Request rate and latency",
        format!(
            "Arrivals per second and the p99 (solid) and p50 (dashed) latency of each sample interval; \
             grey verticals mark scaling events (replica and node counts), red ones faults.{}",
            v.note
        ),
        &fig,
    )
}

/// Ready replicas per service; nodes existing and in use.
fn capacity_figure(v: &Overlay<'_>, figs: &mut Figures<'_>) -> Result<FigureHtml, ReportError> {
    let replicas = v
        .service_runs()
        .map(|(k, d, j, s)| Line {
            label: v.service_label(k, s, "ready"),
            color: v.color(k, j),
            dashed: d.results.summary.mode == "live",
            points: d.get(&format!("service:{s}"), "ready_replicas").to_vec(),
        })
        .collect();
    let mut nodes = Vec::new();
    for (k, d) in v.runs.iter().enumerate() {
        nodes.push(Line {
            label: v.cluster_label(k, "nodes"),
            color: k,
            dashed: false,
            points: d.get("cluster", "nodes").to_vec(),
        });
        nodes.push(Line {
            label: v.cluster_label(k, "in use"),
            color: k,
            dashed: true,
            points: d.get("cluster", "nodes_in_use").to_vec(),
        });
    }
    let fig = v.time_figure(vec![
        panel("ready replicas", "replicas", replicas),
        panel("nodes", "nodes", nodes),
    ]);
    figs.add(
        "capacity",
        "Replicas and nodes",
        format!(
            "Ready replicas per service; nodes existing (solid) and holding at least one replica (dashed).{}",
            v.note
        ),
        &fig,
    )
}

/// Cluster-wide allocation ÷ allocatable per resource (GPU only when the
/// cluster has any).
fn utilisation_figure(v: &Overlay<'_>, figs: &mut Figures<'_>) -> Result<FigureHtml, ReportError> {
    let allocated = |title: &str, column: &str| Panel {
        title: title.into(),
        y_label: "of allocatable".into(),
        percent: true,
        lines: v
            .runs
            .iter()
            .enumerate()
            .map(|(k, d)| Line {
                label: v.labels[k].to_string(),
                color: k,
                dashed: d.results.summary.mode == "live",
                points: d.get("cluster", column).to_vec(),
            })
            .collect(),
    };
    let mut panels = vec![
        allocated("cpu allocated", "cpu_allocated"),
        allocated("memory allocated", "memory_allocated"),
    ];
    if v.groups[0].runs[0].summary.cluster.gpu_allocatable_milli > 0 {
        panels.push(allocated("gpu allocated", "gpu_allocated"));
    }
    figs.add(
        "utilisation",
        "Utilisation per resource",
        format!(
            "Requests allocated on nodes ÷ allocatable, cluster-wide, per resource.{}",
            v.note
        ),
        &v.time_figure(panels),
    )
}

/// One CPU heatmap per overlaid run that wrote `nodes.csv`, at most
/// [`MAX_HEATMAPS`].
fn heatmap_figures(
    v: &Overlay<'_>,
    figs: &mut Figures<'_>,
) -> Result<Vec<FigureHtml>, ReportError> {
    v.runs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.nodes.is_some())
        .take(MAX_HEATMAPS)
        .map(|(k, d)| {
            figs.add(
                &format!("heatmap-{}", k + 1),
                &format!("CPU allocated per node: {}", v.labels[k]),
                "Each row a node, each column a stretch of time; darker is more of the node's allocatable \
                 cpu requested (grey: the node did not exist). From nodes.csv."
                    .into(),
                &heatmap(d, v.x_end, v.labels[k]),
            )
        })
        .collect()
}

/// Latency CDFs over the whole run from each group's first summary.
fn latency_cdf_figure(v: &Overlay<'_>, figs: &mut Figures<'_>) -> Result<FigureHtml, ReportError> {
    let mut lines = Vec::new();
    for (k, g) in v.groups.iter().take(MAX_OVERLAID).enumerate() {
        for (j, s) in g.runs[0].summary.services.iter().enumerate() {
            if s.latency_quantiles_s.len() != LATENCY_QUANTILES.len() {
                continue;
            }
            let mut label = g.label.clone();
            if v.multi {
                label = format!("{label} {}", s.name);
            }
            lines.push(Line {
                label,
                color: v.color(k, j),
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
        lines,
    };
    figs.add(
        "latency-cdf",
        "Latency distribution",
        format!(
            "Fraction of successful requests at or under each latency, from summary.json's latency quantiles.{}",
            v.note
        ),
        &cdf,
    )
}

/// The comparison of configurations and, for a simulated and a live group
/// of one scenario, the fidelity table.
fn comparison_sections(
    groups: &[Group],
    figs: &mut Figures<'_>,
) -> Result<Vec<Section>, ReportError> {
    let mut sections = Vec::new();
    if let Some(section) = crate::compare::section(groups, figs)? {
        sections.push(section);
    }
    if let Some(body) = crate::compare::fidelity(groups) {
        sections.push(Section {
            title: "Fidelity: simulated vs live".into(),
            body,
            figures: Vec::new(),
        });
    }
    Ok(sections)
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
