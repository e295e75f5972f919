//! `takeover_vs_theory.png`: every takeover by timer, the RFC's time against the measured
//! one, log-log, coloured by what the timer answered (a silent Master, priority 0, a
//! preemption): only the first two are comparable with the line y = x.

use super::style::{
    draw_legend, draw_marker, fonts, legend_height, legend_width, series_color, Marker, PlotResult,
    Swatch,
};
use super::ticks::{axis, axis_label, TickedAxis};
use crate::observe::metrics::{RunResult, TakeoverCause};
use plotters::prelude::*;
use std::path::Path;

/// Colour, marker, what happened and what x is, of each cause, in legend order.
const CAUSES: [(TakeoverCause, usize, Marker, &str, &str); 3] = [
    (
        TakeoverCause::MasterSilent,
        0,
        Marker::Circle,
        "Master fell silent (crash, kill, partition, loss)",
        "x = Master_Down_Interval",
    ),
    (
        TakeoverCause::PriorityZero,
        1,
        Marker::Triangle,
        "Master sent priority 0 (shutdown, stop)",
        "x = Skew_Time",
    ),
    (
        TakeoverCause::Preemption,
        3,
        Marker::Square,
        "preemption of a live lower-priority Master",
        "x = Master_Down_Interval,",
    ),
];

/// The second legend line of a preemption: why its points sit below y = x.
const PREEMPTION_NOTE: &str =
    "   y = since that Master's last advert (under one interval): not comparable with x";

/// Every takeover by timer: the RFC's time (x) against the measured one (y), log-log, with
/// the line y = x, coloured by cause.
pub fn takeover_vs_theory(path: &Path, title: &str, results: &[RunResult]) -> PlotResult {
    fonts();
    let pts: Vec<(f64, f64, TakeoverCause)> = results
        .iter()
        .flat_map(|r| {
            r.takeover_theory
                .iter()
                .zip(&r.takeover_after_last_advert)
                .enumerate()
                .map(|(i, (t, m))| {
                    let cause = r
                        .takeover_cause
                        .get(i)
                        .copied()
                        .unwrap_or(TakeoverCause::MasterSilent);
                    (axis(*t, true), axis(*m, true), cause)
                })
        })
        .collect();
    if pts.is_empty() {
        return Ok(());
    }
    let lo = pts.iter().map(|p| p.0.min(p.1)).fold(f64::MAX, f64::min) - 0.2;
    let hi = pts.iter().map(|p| p.0.max(p.1)).fold(f64::MIN, f64::max) + 0.2;
    let mut legend: Vec<(String, Swatch)> = vec![("y = x".into(), Swatch::Line(BLACK, false))];
    for (cause, color, m, what, x) in CAUSES {
        let n = pts.iter().filter(|p| p.2 == cause).count();
        if n == 0 {
            continue;
        }
        legend.push((
            format!("{what} ({n}): {x}"),
            Swatch::Marker(m, series_color(color)),
        ));
        if cause == TakeoverCause::Preemption {
            legend.push((PREEMPTION_NOTE.into(), Swatch::None));
        }
    }
    let width = legend_width(&legend).max(900);
    let legend_h = legend_height(&legend, 8);
    let root = BitMapBackend::new(path, (width, 800 + legend_h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_vertically(800);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(TickedAxis::new(lo, hi, true), TickedAxis::new(lo, hi, true))?;
    chart
        .configure_mesh()
        .x_desc("RFC: the timer's length, Master_Down_Interval or Skew_Time (s, log scale)")
        .y_desc("measured: takeover after the last advert received (s, log scale)")
        .x_label_formatter(&|v| axis_label(*v, true, hi - lo))
        .y_label_formatter(&|v| axis_label(*v, true, hi - lo))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?;
    for (cause, color, m, _, _) in CAUSES {
        for p in pts.iter().filter(|p| p.2 == cause) {
            draw_marker(chart.plotting_area(), (p.0, p.1), m, 4, series_color(color))?;
        }
    }
    draw_legend(&legend_area, &legend, 8)?;
    root.present()?;
    Ok(())
}
