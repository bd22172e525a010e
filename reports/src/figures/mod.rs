//! Figure types and their drawing with plotters, once as SVG and once as PNG.
//!
//! Key decision: a figure is plain data (lines, cells, bars) behind the
//! [`Draw`] trait, drawn by the same code on plotters' SVG backend (inlined
//! in `index.html`) and bitmap backend (the PNG file), so both show the
//! same thing. Text is laid out with an embedded DejaVu Sans subset through
//! plotters' `ab_glyph` feature: no system font is looked up, and the same
//! inputs give byte-identical SVG and PNG files on any machine. Series are
//! thinned to at most [`MAX_POINTS`] bucket means so a day-long run does not
//! make a megabyte of SVG.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Mark;

mod bars;
mod heat;

pub use bars::{Bar, BarFigure};
pub use heat::HeatFigure;

static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans-subset.ttf");

/// The family every figure uses; registered once with the embedded font.
const FAMILY: &str = "sans-serif";

/// Most points drawn per line.
pub const MAX_POINTS: usize = 1500;

/// Tableau 10, the colour of series `i % 10`.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn fonts() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // The bytes are the font shipped in this crate: they parse.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

/// Something that can be drawn on any plotters backend.
pub trait Draw {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on `root` (already the right size).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Draws `fig` as SVG (returned) and as a PNG file at `png`.
pub fn render(fig: &impl Draw, png: &Path) -> Result<String, String> {
    fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, fig.size()).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(e)?;
    }
    let root = BitMapBackend::new(png, fig.size()).into_drawing_area();
    fig.draw(&root)?;
    root.present()
        .map_err(|err| format!("{}: {err}", png.display()))?;
    Ok(svg)
}

/// Bucket means of `points` so that at most [`MAX_POINTS`] remain.
pub fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let k = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(k)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|p| p.0).sum::<f64>() / n,
                c.iter().map(|p| p.1).sum::<f64>() / n,
            )
        })
        .collect()
}

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Palette index.
    pub color: usize,
    /// Dashed (e.g. a median beside a solid p99, or a second world).
    pub dashed: bool,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// One panel of a time figure: shared x axis (seconds), own y axis.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Y axis description.
    pub y_label: String,
    /// Y values are fractions shown as percentages.
    pub percent: bool,
    /// The lines.
    pub lines: Vec<Line>,
}

/// Panels stacked over one time axis, with events marked as vertical lines.
#[derive(Clone, Debug)]
pub struct TimeFigure {
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
    /// Marked events: time and kind.
    pub marks: Vec<(f64, Mark)>,
    /// End of the time axis, seconds.
    pub x_end: f64,
}

fn mark_color(m: Mark) -> RGBAColor {
    match m {
        Mark::Scaling => RGBColor(120, 120, 120).mix(0.35),
        Mark::Fault => RGBColor(214, 39, 40).mix(0.6),
    }
}

/// Width of the legend column on the right of time and CDF figures.
const LEGEND_W: u32 = 250;

/// One legend entry: label, colour, dashed.
type Entry = (String, RGBAColor, bool);

/// The entries of `lines`, each (label, colour, dash) once, in order.
fn entries<'a>(lines: impl Iterator<Item = &'a Line>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for l in lines {
        let e = (l.label.clone(), color(l.color).to_rgba(), l.dashed);
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Draws the legend column: a short line (two dashes when dashed) and the label per entry.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    list: &[Entry],
) -> Result<(), String> {
    let font = TextStyle::from((FAMILY, 12).into_font());
    let (_, h) = area.dim_in_pixel();
    let step = 17i32;
    let fits = ((h as i32 - 40) / step).max(1) as usize;
    for (i, (label, c, dashed)) in list.iter().take(fits).enumerate() {
        let y = 40 + step * i as i32;
        let style = ShapeStyle::from(*c).stroke_width(2);
        let (a, b) = if *dashed { (7, 11) } else { (9, 9) };
        area.draw(&PathElement::new(vec![(6, y), (6 + a, y)], style))
            .map_err(e)?;
        area.draw(&PathElement::new(vec![(6 + b, y), (24, y)], style))
            .map_err(e)?;
        let mut text = label.clone();
        if text.chars().count() > 34 {
            text = text.chars().take(33).collect::<String>() + "…";
        }
        area.draw(&Text::new(text, (30, y - 7), font.clone()))
            .map_err(e)?;
    }
    if list.len() > fits {
        area.draw(&Text::new(
            format!("… {} more", list.len() - fits),
            (30, 40 + step * fits as i32 - 7),
            font,
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Draws `points` in `line`'s colour, solid or dashed, on any chart whose
/// coordinates are `(f64, f64)` (linear or logarithmic axes).
fn draw_line<DB, CT>(
    chart: &mut ChartContext<'_, DB, CT>,
    line: &Line,
    points: Vec<(f64, f64)>,
) -> Result<(), String>
where
    DB: DrawingBackend,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let style = ShapeStyle::from(color(line.color)).stroke_width(2);
    if line.dashed {
        chart
            .draw_series(DashedLineSeries::new(points, 6, 4, style))
            .map_err(e)?;
    } else {
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(e)?;
    }
    Ok(())
}

fn y_max(lines: &[Line]) -> f64 {
    let m = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    if m > 0.0 { m * 1.08 } else { 1.0 }
}

/// How a value is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Seconds, with a unit (`1.56s`, `52.1ms`).
    Seconds,
    /// A fraction shown as a percentage.
    Fraction,
    /// A plain number.
    Number,
}

/// `v` as a table cell or bar label.
pub fn fmt_value(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    match unit {
        Unit::Seconds => crate::html::fmt_seconds(v),
        Unit::Fraction => format!("{:.2}%", v * 100.0),
        Unit::Number if v.abs() >= 100.0 => format!("{v:.0}"),
        Unit::Number => format!("{v:.2}"),
    }
}

fn fmt_tick(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.0}%", v * 100.0)
    } else if v != 0.0 && v.abs() < 0.01 {
        format!("{:.1}ms", v * 1e3)
    } else if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Draw for TimeFigure {
    fn size(&self) -> (u32, u32) {
        (960, 40 + 260 * self.panels.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e)?;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w - LEGEND_W);
        let areas = plot.split_evenly((self.panels.len().max(1), 1));
        // Marks: one per (kind, pixel column) is enough to see them.
        let mut marks: Vec<(f64, Mark)> = Vec::new();
        let px = self.x_end.max(1e-9) / 900.0;
        for &(t, m) in &self.marks {
            if !marks
                .iter()
                .rev()
                .take(8)
                .any(|&(u, n)| n == m && (u - t).abs() < px)
            {
                marks.push((t, m));
            }
        }
        for (panel, area) in self.panels.iter().zip(&areas) {
            let top = y_max(&panel.lines);
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, (FAMILY, 17))
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(64)
                .build_cartesian_2d(0f64..self.x_end.max(1e-9), 0f64..top)
                .map_err(e)?;
            let percent = panel.percent;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(225, 225, 225))
                .x_desc("time (s)")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_desc(panel.y_label.as_str())
                .y_label_formatter(&|v| fmt_tick(*v, percent))
                .label_style((FAMILY, 12))
                .draw()
                .map_err(e)?;
            for kind in [Mark::Scaling, Mark::Fault] {
                let style = mark_color(kind);
                let lines: Vec<_> = marks
                    .iter()
                    .filter(|m| m.1 == kind)
                    .map(|&(t, _)| PathElement::new(vec![(t, 0.0), (t, top)], style))
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                chart.draw_series(lines).map_err(e)?;
            }
            for line in &panel.lines {
                draw_line(&mut chart, line, thin(&line.points))?;
            }
        }
        let mut list = entries(self.panels.iter().flat_map(|p| &p.lines));
        for (kind, name) in [(Mark::Scaling, "scaling event"), (Mark::Fault, "fault")] {
            if marks.iter().any(|m| m.1 == kind) {
                list.push((name.to_string(), mark_color(kind), false));
            }
        }
        draw_legend(&side, &list)
    }
}

/// Latency CDFs on a logarithmic latency axis.
#[derive(Clone, Debug)]
pub struct CdfFigure {
    /// Title.
    pub title: String,
    /// Lines: x = latency (s), y = quantile.
    pub lines: Vec<Line>,
}

impl Draw for CdfFigure {
    fn size(&self) -> (u32, u32) {
        (960, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e)?;
        let (w, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(w - LEGEND_W);
        let xs = || {
            self.lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .filter(|x| *x > 0.0 && x.is_finite())
        };
        let lo = xs().fold(f64::INFINITY, f64::min);
        let hi = xs().fold(0.0f64, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo / 1.5, hi * 1.5)
        } else {
            (1e-3, 1.0)
        };
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, (FAMILY, 17))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.0)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc("latency of successful requests (log scale)")
            .y_desc("fraction of requests")
            .x_label_formatter(&|v| crate::html::fmt_seconds(*v))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .label_style((FAMILY, 12))
            .draw()
            .map_err(e)?;
        for line in &self.lines {
            let points = line.points.iter().copied().filter(|p| p.0 > 0.0).collect();
            draw_line(&mut chart, line, points)?;
        }
        draw_legend(&side, &entries(self.lines.iter()))
    }
}
