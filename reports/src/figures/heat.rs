//! The node × time heatmap: one row per node (or run of nodes), one column
//! per stretch of time, coloured white → dark blue by allocated fraction.
//!
//! Key decision: cells are plain filled rectangles on a segmented node axis,
//! so the same drawing code serves SVG and PNG; grey marks a node that did
//! not exist (NaN), and a colour scale beside the grid reads 0% to 100%.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Draw, FAMILY, e};

/// A node × time grid of fractions, drawn as coloured cells.
#[derive(Clone, Debug)]
pub struct HeatFigure {
    /// Title.
    pub title: String,
    /// Row labels (nodes or node ranges), top to bottom.
    pub rows: Vec<String>,
    /// Start of each column, seconds; columns end where the next starts or at `x_end`.
    pub columns: Vec<f64>,
    /// `values[row][column]` in 0..=1; NaN where the node did not exist.
    pub values: Vec<Vec<f64>>,
    /// End of the time axis.
    pub x_end: f64,
}

/// White → dark blue.
fn heat(v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(225, 225, 225);
    }
    let v = v.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

impl Draw for HeatFigure {
    fn size(&self) -> (u32, u32) {
        (960, 120 + (14 * self.rows.len() as u32).clamp(140, 700))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e)?;
        let (main, legend) = root.split_horizontally(880);
        let n = self.rows.len().max(1);
        let label_w = self.rows.iter().map(|r| r.len()).max().unwrap_or(4) as u32 * 7 + 12;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FAMILY, 17))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(label_w.min(220))
            .build_cartesian_2d(0f64..self.x_end.max(1e-9), (0..n).into_segmented())
            .map_err(e)?;
        let rows = &self.rows;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (s)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_labels(n.min(40))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => (n - 1)
                    .checked_sub(*i)
                    .and_then(|k| rows.get(k))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FAMILY, 11))
            .draw()
            .map_err(e)?;
        let mut cells = Vec::new();
        for (r, row) in self.values.iter().enumerate() {
            let y = n - 1 - r; // first row on top
            for (c, &v) in row.iter().enumerate() {
                let x0 = self.columns[c];
                let x1 = self.columns.get(c + 1).copied().unwrap_or(self.x_end);
                cells.push(Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(y)),
                        (x1, SegmentValue::Exact(y + 1)),
                    ],
                    heat(v).filled(),
                ));
            }
        }
        chart.draw_series(cells).map_err(e)?;
        // Colour scale: 0% at the bottom, 100% at the top.
        let steps = 20;
        let (w, h) = legend.dim_in_pixel();
        let (top, bottom) = (40i32, h as i32 - 60);
        for k in 0..steps {
            let y0 = bottom - (bottom - top) * (k + 1) / steps;
            let y1 = bottom - (bottom - top) * k / steps;
            legend
                .draw(&Rectangle::new(
                    [(10, y0), (34, y1)],
                    heat((f64::from(k) + 0.5) / f64::from(steps)).filled(),
                ))
                .map_err(e)?;
        }
        let style = TextStyle::from((FAMILY, 11).into_font());
        legend
            .draw(&Text::new("100%", (38, top - 6), style.clone()))
            .map_err(e)?;
        legend
            .draw(&Text::new("0%", (38, bottom - 6), style))
            .map_err(e)?;
        let _ = w;
        Ok(())
    }
}
