//! `distributions.png`: master changes and client-visible outage per run, one row per
//! variant. Variant names run down the side, one per row, in a column as wide as the widest
//! name (measured in the bundled font): names on an x axis overlap as soon as they are long.

use super::style::{fonts, series_color, text_size, PlotResult};
use super::ticks::{integer_ticks, linear_label, linear_ticks, TickedAxis};
use crate::observe::metrics::RunResult;
use crate::report::output::{by_variant, percentile};
use plotters::prelude::*;
use std::path::Path;

/// A plotted metric: caption, value of a run.
type Metric = (&'static str, fn(&RunResult) -> f64);

/// Pixel size of the variant names.
const LABEL_FONT: u32 = 14;
/// Gap between a name and the axis, and the margin on its left.
const LABEL_GAP: u32 = 10;
/// Rows never closer than this (pixels).
const MIN_PITCH: u32 = 26;
/// Height above the first row: title, note, panel caption and margin.
const TOP: u32 = 60 + 20 + 30;
/// Height below the last row: the x axis labels and description, margin.
const BOTTOM: u32 = 60 + 20;

/// The column of row labels left of a plot: its width, the row pitch, and each label's
/// box (x0, y0, x1, y1) in pixels from the column's top left, right-aligned, centred in its
/// row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelColumn {
    /// Width of the column.
    pub width: u32,
    /// Distance between row centres.
    pub pitch: u32,
    /// Each label's box, row by row.
    pub boxes: Vec<(i32, i32, i32, i32)>,
}

impl LabelColumn {
    /// The first two labels whose boxes overlap or leave the column, if any.
    pub fn collision(&self) -> Option<(usize, usize)> {
        for (i, a) in self.boxes.iter().enumerate() {
            if a.0 < 0 || a.2 > self.width as i32 {
                return Some((i, i));
            }
            for (j, b) in self.boxes.iter().enumerate().skip(i + 1) {
                if a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3 {
                    return Some((i, j));
                }
            }
        }
        None
    }
}

/// Lays out `names` in a column, one per row, with the bundled font at `size` pixels.
pub fn label_column(names: &[String], size: u32) -> LabelColumn {
    let sizes: Vec<(u32, u32)> = names.iter().map(|n| text_size(n, size)).collect();
    let widest = sizes.iter().map(|s| s.0).max().unwrap_or(0);
    let tallest = sizes.iter().map(|s| s.1).max().unwrap_or(0);
    let pitch = (tallest + 12).max(MIN_PITCH);
    let width = widest + 2 * LABEL_GAP;
    let boxes = sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| {
            let centre = (pitch * i as u32 + pitch / 2) as i32;
            let x1 = (width - LABEL_GAP) as i32;
            (
                x1 - w as i32,
                centre - (h as i32 + 1) / 2,
                x1,
                centre + h as i32 / 2,
            )
        })
        .collect();
    LabelColumn {
        width,
        pitch,
        boxes,
    }
}

/// Min, lower quartile, median, upper quartile, max (quartiles interpolated linearly).
fn five_numbers(v: &[f64]) -> [f64; 5] {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let r = p * (s.len() - 1) as f64;
        let (i, f) = (r.floor() as usize, r.fract());
        s[i] + (s[(i + 1).min(s.len() - 1)] - s[i]) * f
    };
    [s[0], q(0.25), q(0.5), q(0.75), s[s.len() - 1]]
}

/// Box plots of master changes and of client-visible outage (downtime + blackhole +
/// served unhealthy) per variant.
pub fn distributions(path: &Path, title: &str, results: &[RunResult]) -> PlotResult {
    fonts();
    let groups = by_variant(results);
    let names: Vec<String> = groups.iter().map(|(v, _)| v.clone()).collect();
    let rows = names.len().max(1);
    let column = label_column(&names, LABEL_FONT);
    if let Some((a, b)) = column.collision() {
        return Err(format!("variant names {a} and {b} would overlap").into());
    }
    let panel_w = 640;
    let width = column.width + 2 * panel_w;
    let height = TOP + column.pitch * rows as u32 + BOTTOM;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(60);
    head.draw(&Text::new(
        title.to_string(),
        ((width / 2) as i32, 8),
        ("sans-serif", 22).into_font().into_text_style(&head).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        ),
    ))?;
    head.draw(&Text::new(
        "one row per variant; box: quartiles of the runs, line: min..max, dot: p99".to_string(),
        ((width / 2) as i32, 36),
        ("sans-serif", 15).into_font().into_text_style(&head).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        ),
    ))?;
    let (left, right) = body.split_horizontally(column.width + panel_w);
    let metrics: [Metric; 2] = [
        ("Master changes per run", |r| r.master_changes as f64),
        (
            "Client-visible outage per run: downtime + blackhole + served unhealthy (s)",
            |r| r.downtime + r.blackhole + r.unhealthy_served,
        ),
    ];
    for (k, (panel, (caption, f))) in [left, right].iter().zip(metrics).enumerate() {
        let values: Vec<Vec<f64>> = groups
            .iter()
            .map(|(_, rs)| rs.iter().map(|r| f(r)).collect())
            .collect();
        let top = (values.iter().flatten().copied().fold(0.0f64, f64::max) * 1.08).max(1.0);
        // Row centres at i + 0.5 from the top; the first variant on top.
        let centres: Vec<f64> = (0..rows).map(|i| i as f64 + 0.5).collect();
        let label_area = if k == 0 { column.width } else { LABEL_GAP };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 16))
            .margin_top(10)
            .margin_bottom(20)
            .margin_right(20)
            .x_label_area_size(60)
            .y_label_area_size(label_area)
            .build_cartesian_2d(
                TickedAxis::at(
                    0.0,
                    top,
                    if k == 0 {
                        integer_ticks(0.0, top)
                    } else {
                        linear_ticks(0.0, top)
                    },
                ),
                TickedAxis::at(0.0, rows as f64, centres),
            )?;
        let drawn = chart.plotting_area().get_pixel_range().1;
        let drawn_pitch = (drawn.end - drawn.start) as f64 / rows as f64;
        if drawn_pitch + 1.0 < column.pitch as f64 {
            return Err(format!(
                "rows of {drawn_pitch:.1} px are lower than the names' {} px",
                column.pitch
            )
            .into());
        }
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(if k == 0 { "master changes" } else { "seconds" })
            .x_label_formatter(&|v| linear_label(*v, top))
            .y_label_formatter(&|y| {
                if k > 0 {
                    return String::new();
                }
                let row = (rows as f64 - y - 0.5).round();
                names.get(row as usize).cloned().unwrap_or_default()
            })
            .label_style(("sans-serif", LABEL_FONT))
            .draw()?;
        let color = series_color(0);
        for (i, vals) in values.iter().enumerate() {
            if vals.is_empty() {
                continue;
            }
            let [lo, q1, med, q3, hi] = five_numbers(vals);
            let yc = rows as f64 - i as f64 - 0.5;
            let area = chart.plotting_area();
            area.draw(&PathElement::new(
                [(lo, yc), (hi, yc)],
                color.stroke_width(1),
            ))?;
            for x in [lo, hi] {
                area.draw(&PathElement::new(
                    [(x, yc - 0.18), (x, yc + 0.18)],
                    color.stroke_width(1),
                ))?;
            }
            area.draw(&Rectangle::new(
                [(q1, yc - 0.3), (q3, yc + 0.3)],
                WHITE.filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(q1, yc - 0.3), (q3, yc + 0.3)],
                color.stroke_width(2),
            ))?;
            area.draw(&PathElement::new(
                [(med, yc - 0.3), (med, yc + 0.3)],
                BLACK.stroke_width(2),
            ))?;
            let p99 = percentile(vals, 99.0);
            area.draw(&Circle::new((p99, yc), 4, series_color(3).filled()))?;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_get_their_own_rows_and_a_column_as_wide_as_the_widest() {
        let names: Vec<String> = (0..40)
            .map(|i| format!("two-way-no-lower-garp-{i}-with-a-long-tail"))
            .collect();
        let c = label_column(&names, LABEL_FONT);
        assert_eq!(c.collision(), None);
        let widest = names
            .iter()
            .map(|n| text_size(n, LABEL_FONT).0)
            .max()
            .unwrap();
        assert!(c.width >= widest && widest > 200, "{} {widest}", c.width);
        let tallest = names
            .iter()
            .map(|n| text_size(n, LABEL_FONT).1)
            .max()
            .unwrap();
        assert!(c.pitch > tallest && tallest >= 10, "{} {tallest}", c.pitch);
    }

    #[test]
    fn a_too_narrow_column_is_a_collision() {
        let mut c = label_column(&["a".into(), "bb".into()], LABEL_FONT);
        assert_eq!(c.collision(), None);
        c.pitch = 2;
        c.boxes[1].1 = c.boxes[0].1 + 2;
        c.boxes[1].3 = c.boxes[0].3 + 2;
        assert_eq!(c.collision(), Some((0, 1)));
        c.width = 1;
        assert_eq!(c.collision(), Some((0, 0)));
    }

    #[test]
    fn five_numbers_interpolate_the_quartiles() {
        assert_eq!(
            five_numbers(&[4.0, 1.0, 3.0, 2.0, 5.0]),
            [1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(five_numbers(&[2.0]), [2.0; 5]);
        assert_eq!(five_numbers(&[0.0, 1.0]), [0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
