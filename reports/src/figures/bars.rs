//! Horizontal bars with 95% confidence intervals: one bar per configuration.
//!
//! Key decision: horizontal, so configuration labels of any length sit on the
//! left; the mean is the bar, the interval a black whisker, the value written
//! beside it (`1.34s ± 16.2ms (n=5)`), and the best configuration is green.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Draw, FAMILY, Unit, e, fmt_tick, fmt_value};
use crate::stats::Estimate;

/// One bar: a group's mean with its 95% interval.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Group label.
    pub label: String,
    /// Mean and interval across seeds.
    pub est: Estimate,
    /// The best group for this metric.
    pub best: bool,
}

/// Horizontal bars with 95% confidence intervals, one per group.
#[derive(Clone, Debug)]
pub struct BarFigure {
    /// Title (the metric).
    pub title: String,
    /// Value axis description.
    pub x_label: String,
    /// How values are shown.
    pub unit: Unit,
    /// Bars, top to bottom.
    pub bars: Vec<Bar>,
}

impl Draw for BarFigure {
    fn size(&self) -> (u32, u32) {
        (960, 90 + 34 * self.bars.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e)?;
        let n = self.bars.len().max(1);
        let top = self
            .bars
            .iter()
            .map(|b| b.est.mean + b.est.half)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let top = if top > 0.0 { top * 1.25 } else { 1.0 };
        let label_w = self.bars.iter().map(|b| b.label.len()).max().unwrap_or(4) as u32 * 7 + 16;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 17))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(label_w.min(360))
            .build_cartesian_2d(0f64..top, (0..n).into_segmented())
            .map_err(e)?;
        let bars = &self.bars;
        let unit = self.unit;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc(self.x_label.as_str())
            .x_label_formatter(&|v| match unit {
                Unit::Seconds => crate::html::fmt_seconds(*v),
                _ => fmt_tick(*v, unit == Unit::Fraction),
            })
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => (n - 1)
                    .checked_sub(*i)
                    .and_then(|k| bars.get(k))
                    .map(|b| b.label.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FAMILY, 12))
            .draw()
            .map_err(e)?;
        let best = RGBColor(44, 160, 44);
        let plain = RGBColor(31, 119, 180);
        let ink = RGBColor(30, 30, 30);
        for (k, b) in self.bars.iter().enumerate() {
            let y = n - 1 - k;
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (b.est.mean, SegmentValue::Exact(y + 1)),
                ],
                (if b.best { best } else { plain }).filled(),
            );
            rect.set_margin(5, 5, 0, 0);
            chart.draw_series([rect]).map_err(e)?;
            let (lo, hi) = (b.est.mean - b.est.half, b.est.mean + b.est.half);
            let c = SegmentValue::CenterOf(y);
            if b.est.half > 0.0 {
                chart
                    .draw_series([PathElement::new(
                        vec![(lo, c.clone()), (hi, c)],
                        ink.stroke_width(2),
                    )])
                    .map_err(e)?;
            }
            let mut text = fmt_value(b.est.mean, unit);
            if b.est.n > 1 {
                text = format!("{text} ± {}  (n={})", fmt_value(b.est.half, unit), b.est.n);
            }
            if b.best {
                text.push_str("  best");
            }
            chart
                .draw_series([Text::new(
                    text,
                    (hi.max(b.est.mean) + top * 0.01, SegmentValue::CenterOf(y)),
                    (FAMILY, 12)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )])
                .map_err(e)?;
        }
        Ok(())
    }
}
