//! LVS runs: `lvs_detection.png` / `lvs_recovery.png` (every real-server fault's time against
//! the formula's band) and `lvs_errors.png` (what the clients' requests met).

use super::style::{
    draw_legend, fonts, legend_width, node_color, text_size, Marker, PlotResult, Swatch,
};
use super::ticks::linear_label;
use crate::observe::metrics::RunResult;
use crate::report::output::by_variant;
use plotters::prelude::*;
use std::path::Path;

/// Width of a y label area holding `names` at 14 px.
fn label_width(names: &[String]) -> u32 {
    names.iter().map(|n| text_size(n, 14).0).max().unwrap_or(0) + 24
}

/// Which time of an LVS fault a plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvsTime {
    /// From the fault to the table losing the real server.
    Detection,
    /// From the server's return to the table having it back.
    Recovery,
}

/// One (variant, real server, fault kind) cell of an LVS time plot.
struct LvsCell {
    row: usize,
    lane: usize,
    band: Option<(f64, f64)>,
    values: Vec<f64>,
    missing: usize,
}

/// Fault kinds in the order the plots show them.
const LVS_KINDS: [&str; 6] = [
    "down",
    "blackhole",
    "slow",
    "http_status",
    "wrong_body",
    "alpha",
];

/// Detection (or recovery) time of every real-server fault: one panel per fault kind, one
/// row per variant, one colour per real server; the formula's band drawn behind the
/// measured points; faults never detected marked at the right edge.
pub fn lvs_times(path: &Path, title: &str, results: &[RunResult], which: LvsTime) -> PlotResult {
    fonts();
    let groups = by_variant(results);
    let variants: Vec<String> = groups.iter().map(|(v, _)| v.clone()).collect();
    let mut servers: Vec<String> = Vec::new();
    let mut cells: Vec<(&'static str, Vec<LvsCell>)> =
        LVS_KINDS.iter().map(|k| (*k, Vec::new())).collect();
    let mut x_max: f64 = 1.0;
    for (row, (_, rs)) in groups.iter().enumerate() {
        for f in rs
            .iter()
            .filter_map(|r| r.lvs.as_ref())
            .flat_map(|l| l.faults.iter())
        {
            let (value, band) = match which {
                // An alpha start-up has nothing to detect (its entry is in the recovery plot).
                LvsTime::Detection if f.kind == "alpha" => continue,
                LvsTime::Detection => (f.detection, f.detection_bounds),
                LvsTime::Recovery => {
                    if f.up_at.is_none() {
                        continue;
                    }
                    (f.recovery, f.recovery_bounds)
                }
            };
            let lane = match servers.iter().position(|s| *s == f.real_server) {
                Some(i) => i,
                None => {
                    servers.push(f.real_server.clone());
                    servers.len() - 1
                }
            };
            let Some((_, panel)) = cells.iter_mut().find(|(k, _)| *k == f.kind) else {
                continue;
            };
            let cell = match panel
                .iter_mut()
                .position(|c| c.row == row && c.lane == lane)
            {
                Some(i) => &mut panel[i],
                None => {
                    panel.push(LvsCell {
                        row,
                        lane,
                        band: None,
                        values: Vec::new(),
                        missing: 0,
                    });
                    panel.last_mut().expect("just pushed")
                }
            };
            if let Some((lo, hi)) = band {
                cell.band = Some(match cell.band {
                    Some((a, b)) => (a.min(lo), b.max(hi)),
                    None => (lo, hi),
                });
                x_max = x_max.max(hi);
            }
            match value {
                Some(v) => {
                    cell.values.push(v);
                    x_max = x_max.max(v);
                }
                None => cell.missing += 1,
            }
        }
    }
    cells.retain(|(_, c)| !c.is_empty());
    if cells.is_empty() {
        return Ok(());
    }
    let x_max = x_max * 1.08;
    let rows = variants.len().max(1);
    let lanes = servers.len().max(1);
    let panel_h = 90 + 38 * rows as u32;
    let height = 60 + panel_h * cells.len() as u32;
    let mut legend: Vec<(String, Swatch)> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("real server {s}"),
                Swatch::Square(node_color(Some(i))),
            )
        })
        .collect();
    legend.push((
        "band: the formula [min, max]".into(),
        Swatch::Square(RGBColor(200, 200, 200)),
    ));
    legend.push((
        "dot: one measured fault".into(),
        Swatch::Marker(Marker::Circle, RGBColor(90, 90, 90)),
    ));
    legend.push(("x at the right edge: not detected".into(), Swatch::None));
    let full = BitMapBackend::new(path, (1180 + legend_width(&legend).max(320), height))
        .into_drawing_area();
    full.fill(&WHITE)?;
    let full = full.titled(title, ("sans-serif", 22))?;
    let (plots_area, legend_area) = full.split_horizontally(1180);
    let names_w = label_width(&variants);
    let panels = plots_area.split_evenly((cells.len(), 1));
    let what = match which {
        LvsTime::Detection => "detection: fault -> out of the table",
        LvsTime::Recovery => "recovery: server back -> in the table again",
    };
    for (panel, (kind, cs)) in panels.iter().zip(&cells) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("fault: {kind} ({what})"), ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(names_w)
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("seconds")
            .x_label_formatter(&|v| linear_label(*v, x_max))
            .y_labels(rows * 2 + 1)
            .y_label_formatter(&|y| {
                let row = (rows as f64 - y - 0.5).round();
                if (y.fract() - 0.5).abs() < 1e-6 && row >= 0.0 {
                    variants.get(row as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 14))
            .draw()?;
        for c in cs {
            let top = (rows - c.row) as f64;
            let h = 0.8 / lanes as f64;
            let y0 = top - 0.1 - h * (c.lane as f64 + 1.0);
            let y = y0 + h / 2.0;
            let color = node_color(Some(c.lane));
            if let Some((lo, hi)) = c.band {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (lo, y0 + h * 0.1),
                        (hi.max(lo + x_max * 0.002), y0 + h * 0.9),
                    ],
                    color.mix(0.25).filled(),
                )))?;
            }
            chart.draw_series(
                c.values
                    .iter()
                    .map(|&v| Circle::new((v, y), 3, color.filled())),
            )?;
            if c.missing > 0 {
                chart.draw_series(std::iter::once(Cross::new(
                    (x_max * 0.985, y),
                    5,
                    color.stroke_width(2),
                )))?;
            }
        }
    }
    draw_legend(&legend_area, &legend, 60)?;
    full.present()?;
    Ok(())
}

/// Client-visible effect per variant: the share of requests that hit a faulty real server,
/// that nobody served, and that the sorry server took (bars: mean over runs; whiskers:
/// min..max).
pub fn lvs_errors(path: &Path, title: &str, results: &[RunResult]) -> PlotResult {
    fonts();
    let groups: Vec<(String, Vec<&RunResult>)> = by_variant(results)
        .into_iter()
        .filter(|(_, rs)| rs.iter().any(|r| r.lvs.is_some()))
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    type Share = fn(&crate::observe::metrics::LvsResult) -> f64;
    let measures: [(&str, Share); 3] = [
        ("error: hit a faulty real server", |l| l.error_rate()),
        ("unserved: no director or destination", |l| {
            l.unserved_rate()
        }),
        ("sorry server", |l| l.sorry_rate()),
    ];
    let stats: Vec<Vec<(f64, f64, f64)>> = groups
        .iter()
        .map(|(_, rs)| {
            measures
                .iter()
                .map(|(_, f)| {
                    let v: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r.lvs.as_ref())
                        .map(|l| 100.0 * f(l))
                        .collect();
                    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                    (
                        crate::report::output::mean(&v),
                        if lo.is_finite() { lo } else { 0.0 },
                        crate::report::output::max(&v),
                    )
                })
                .collect()
        })
        .collect();
    let top = stats
        .iter()
        .flatten()
        .map(|s| s.2)
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.12;
    let rows = groups.len();
    let names: Vec<String> = groups.iter().map(|(v, _)| v.clone()).collect();
    let colors = [
        RGBColor(219, 68, 55),
        RGBColor(120, 120, 120),
        RGBColor(230, 145, 56),
    ];
    let mut legend: Vec<(String, Swatch)> = measures
        .iter()
        .zip(colors)
        .map(|((l, _), c)| (l.to_string(), Swatch::Square(c)))
        .collect();
    legend.push(("bar: mean over runs".into(), Swatch::None));
    legend.push(("line: min..max of runs".into(), Swatch::Line(BLACK, false)));
    let full = BitMapBackend::new(
        path,
        (
            1180 + legend_width(&legend).max(320),
            140 + 72 * rows as u32,
        ),
    )
    .into_drawing_area();
    full.fill(&WHITE)?;
    let (area, legend_area) = full.split_horizontally(1180);
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(label_width(&names))
        .build_cartesian_2d(0.0..top, 0.0..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("share of the clients' requests (%)")
        .x_label_formatter(&|v| linear_label(*v, top))
        .y_labels(rows * 2 + 1)
        .y_label_formatter(&|y| {
            let row = (rows as f64 - y - 0.5).round();
            if (y.fract() - 0.5).abs() < 1e-6 && row >= 0.0 {
                names.get(row as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 14))
        .draw()?;
    for (row, st) in stats.iter().enumerate() {
        let top_y = (rows - row) as f64;
        let h = 0.8 / measures.len() as f64;
        for (k, &(mean, lo, hi)) in st.iter().enumerate() {
            let y0 = top_y - 0.1 - h * (k as f64 + 1.0);
            let y = y0 + h / 2.0;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0 + h * 0.12), (mean, y0 + h * 0.88)],
                colors[k].filled(),
            )))?;
            if hi > lo {
                chart.draw_series(std::iter::once(PathElement::new(
                    [(lo, y), (hi, y)],
                    BLACK.stroke_width(1),
                )))?;
            }
            // The value right of the bar, inside its own sub-row (zeros left unlabelled).
            if hi > 0.0 {
                chart.draw_series(std::iter::once(Text::new(
                    format!("{mean:.2} %"),
                    (mean.max(hi) + top * 0.01, y0 + h * 0.92),
                    ("sans-serif", 12).into_font(),
                )))?;
            }
        }
    }
    draw_legend(&legend_area, &legend, 60)?;
    full.present()?;
    Ok(())
}
