//! `sweep_<metric>.png`: a metric over the sweep's x, one line per series (mean, min..max
//! bars), the theory dashed.

use super::style::{
    draw_legend, draw_marker, fonts, legend_height, legend_width, series_color, series_marker,
    PlotResult, Swatch,
};
use super::ticks::{axis, axis_label, TickedAxis};
use plotters::prelude::*;
use std::path::Path;

/// One point of a sweep line: x, mean, min, max of a metric over the runs of a variant, and
/// the theory at that x if any.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// Variant's x.
    pub x: f64,
    /// Mean over runs.
    pub mean: f64,
    /// Smallest run.
    pub min: f64,
    /// Largest run.
    pub max: f64,
    /// Theory, when it applies.
    pub theory: Option<f64>,
}

/// A sweep plot: one line per series (mean, with min..max bars), theory dashed.
pub fn sweep(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<SweepPoint>)],
    log_x: bool,
    log_y: bool,
) -> PlotResult {
    fonts();
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let xs: Vec<f64> = pts.clone().map(|p| axis(p.x, log_x)).collect();
    let ys: Vec<f64> = pts
        .flat_map(|p| [p.min, p.max, p.mean].into_iter().chain(p.theory))
        .filter(|&v| !log_y || v > 0.0)
        .map(|v| axis(v, log_y))
        .collect();
    if xs.is_empty() || ys.is_empty() {
        return Ok(());
    }
    let (x0, x1) = (
        xs.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(f64::MIN, f64::max),
    );
    let (mut y0, mut y1) = (
        ys.iter().copied().fold(f64::MAX, f64::min),
        ys.iter().copied().fold(f64::MIN, f64::max),
    );
    if !log_y {
        y0 = y0.min(0.0);
    }
    let pad = ((y1 - y0) * 0.08).max(if log_y { 0.1 } else { 1e-9 });
    y1 += pad;
    if log_y {
        y0 -= pad;
    }
    let xpad = ((x1 - x0) * 0.05).max(if log_x { 0.1 } else { 1e-9 });
    let (xa, xb) = (x0 - xpad, x1 + xpad);
    let mut legend: Vec<(String, Swatch)> = series
        .iter()
        .enumerate()
        .map(|(k, (name, _))| {
            (
                name.clone(),
                Swatch::Marker(series_marker(k), series_color(k)),
            )
        })
        .collect();
    if series
        .iter()
        .any(|(_, p)| p.iter().any(|x| x.theory.is_some()))
    {
        legend.push(("dashed: theory".into(), Swatch::Line(BLACK, true)));
    }
    legend.push(("line: mean of the runs".into(), Swatch::Line(BLACK, false)));
    legend.push(("bars: min..max of the runs".into(), Swatch::None));
    let legend_w = legend_width(&legend).max(240);
    let full = BitMapBackend::new(path, (1100 + legend_w, 760.max(legend_height(&legend, 60))))
        .into_drawing_area();
    full.fill(&WHITE)?;
    let (root, legend_area) = full.split_horizontally(1100);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            TickedAxis::new(xa, xb, log_x),
            TickedAxis::new(y0, y1, log_y),
        )?;
    chart
        .configure_mesh()
        .x_desc(if log_x {
            format!("{x_label} (log scale)")
        } else {
            x_label.to_string()
        })
        .y_desc(if log_y {
            format!("{y_label} (log scale)")
        } else {
            y_label.to_string()
        })
        .x_label_formatter(&|v| axis_label(*v, log_x, xb - xa))
        .y_label_formatter(&|v| axis_label(*v, log_y, y1 - y0))
        .label_style(("sans-serif", 14))
        .draw()?;
    for (k, (_, points)) in series.iter().enumerate() {
        let color = series_color(k);
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !log_y || p.mean > 0.0)
            .map(|p| (axis(p.x, log_x), axis(p.mean, log_y)))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?;
        for &p in &line {
            draw_marker(chart.plotting_area(), p, series_marker(k), 4, color)?;
        }
        chart.draw_series(points.iter().filter(|p| !log_y || p.min > 0.0).map(|p| {
            let x = axis(p.x, log_x);
            ErrorBar::new_vertical(
                x,
                axis(p.min, log_y),
                axis(p.mean.max(p.min), log_y),
                axis(p.max, log_y),
                color.stroke_width(1),
                8,
            )
        }))?;
        let theory: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| {
                p.theory
                    .filter(|&t| !log_y || t > 0.0)
                    .map(|t| (axis(p.x, log_x), axis(t, log_y)))
            })
            .collect();
        if !theory.is_empty() {
            chart.draw_series(DashedLineSeries::new(theory, 6, 4, color.stroke_width(1)))?;
        }
    }
    draw_legend(&legend_area, &legend, 60)?;
    full.present()?;
    Ok(())
}
