//! PNG plots with plotters (pure-Rust text through ab_glyph and a bundled DejaVu Sans, so no
//! system font library is needed):
//! - `timeline_<variant>.png`: per node, its state over time; below, which node serves the VIP
//!   and where client 0's ARP entry points (first seed of the variant).
//! - `distributions.png`: master changes and client-visible outage per run, per variant.
//! - LVS runs: `lvs_detection.png` and `lvs_recovery.png` (every real-server fault's time
//!   against the formula's band, per fault kind, variant and real server) and
//!   `lvs_errors.png` (the clients' requests that failed, per variant).

use crate::observe::metrics::{Recording, RunResult};
use crate::report::output::{by_variant, percentile};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;
use vrrp_engine::{Instant, State};

static FONT: Once = Once::new();

fn fonts() {
    FONT.call_once(|| {
        // The bytes are valid TrueType; a failure would only mean text is not drawn.
        let _ = register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        );
    });
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// A plotted metric: caption, axis label, value of a run.
type Metric = (&'static str, &'static str, fn(&RunResult) -> f64);

fn state_color(s: Option<State>) -> RGBColor {
    match s {
        Some(State::Master) => RGBColor(46, 160, 67),
        Some(State::Backup) => RGBColor(66, 133, 244),
        Some(State::Fault) => RGBColor(219, 68, 55),
        Some(State::Initialize) => RGBColor(170, 170, 170),
        None => RGBColor(225, 225, 225),
    }
}

/// Colours for nodes, distinct from the state colours.
fn node_color(i: Option<usize>) -> RGBColor {
    const P: [RGBColor; 6] = [
        RGBColor(230, 145, 56),
        RGBColor(142, 68, 173),
        RGBColor(22, 160, 133),
        RGBColor(141, 110, 99),
        RGBColor(240, 98, 146),
        RGBColor(52, 73, 94),
    ];
    match i {
        Some(i) => P[i % P.len()],
        None => RGBColor(120, 120, 120),
    }
}

/// A legend drawn in its own area: coloured squares and labels, top to bottom.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    items: &[(String, RGBColor)],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    for (k, (label, color)) in items.iter().enumerate() {
        let y = 60 + 24 * k as i32;
        area.draw(&Rectangle::new([(10, y), (26, y + 14)], color.filled()))?;
        area.draw(&Text::new(
            label.clone(),
            (34, y),
            ("sans-serif", 15).into_font(),
        ))?;
    }
    Ok(())
}

/// A file-name-safe form of a variant name.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draw the timeline of one recorded run.
pub fn timeline(path: &Path, title: &str, rec: &Recording) -> PlotResult {
    fonts();
    let end = rec.duration.as_secs_f64().max(1e-9);
    let (unit, scale) = if end >= 600.0 {
        ("min", 60.0)
    } else if end >= 1.0 {
        ("s", 1.0)
    } else {
        ("ms", 1e-3)
    };
    let x = |t: Instant| t.offset().as_secs_f64() / scale;
    let n = rec.nodes.len();
    let lanes = n + 2;
    let full =
        BitMapBackend::new(path, (1400, (140 + 60 * lanes as u32).max(300))).into_drawing_area();
    full.fill(&WHITE)?;
    let (root, legend_area) = full.split_horizontally(1180);
    let labels: Vec<String> = rec
        .nodes
        .iter()
        .cloned()
        .chain(["VIP served by".to_string(), "client ARP ->".to_string()])
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(130)
        .build_cartesian_2d(0.0..end / scale, 0.0..lanes as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .y_labels(lanes * 2 + 1)
        .y_label_formatter(&|y| {
            let lane = (lanes as f64 - y - 0.5).round();
            if (y.fract() - 0.5).abs() < 1e-6 && lane >= 0.0 {
                labels.get(lane as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 15))
        .draw()?;
    let lane_y = |lane: usize| (lanes - lane - 1) as f64;
    for s in &rec.spans {
        let y = lane_y(s.node);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x(s.from), y + 0.15), (x(s.to), y + 0.85)],
            state_color(s.state).filled(),
        )))?;
    }
    for (lane, series) in [(n, &rec.vip_owner), (n + 1, &rec.arp_target)] {
        let y = lane_y(lane);
        for (k, (t, who)) in series.iter().enumerate() {
            let until = series.get(k + 1).map_or(end / scale, |(t2, _)| x(*t2));
            if who.is_some() {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x(*t), y + 0.15), (until, y + 0.85)],
                    node_color(*who).filled(),
                )))?;
            }
        }
    }
    // Legend: states, then node colours.
    let mut legend: Vec<(String, RGBColor)> = [
        ("MASTER", Some(State::Master)),
        ("BACKUP", Some(State::Backup)),
        ("FAULT", Some(State::Fault)),
        ("INIT / removed", Some(State::Initialize)),
        ("not running", None),
    ]
    .iter()
    .map(|(l, s)| (l.to_string(), state_color(*s)))
    .collect();
    legend.extend(
        rec.nodes
            .iter()
            .enumerate()
            .map(|(i, name)| (format!("VIP / ARP: {name}"), node_color(Some(i)))),
    );
    draw_legend(&legend_area, &legend)?;
    root.present()?;
    Ok(())
}

/// Box plots of master changes and of client-visible outage (downtime + blackhole) per variant.
pub fn distributions(path: &Path, title: &str, results: &[RunResult]) -> PlotResult {
    fonts();
    let groups = by_variant(results);
    let names: Vec<String> = groups.iter().map(|(v, _)| v.clone()).collect();
    let root = BitMapBackend::new(path, (1400, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let panels = root.split_evenly((1, 2));
    let metrics: [Metric; 2] = [
        ("Master changes per run", "master changes", |r| {
            r.master_changes as f64
        }),
        (
            "Client-visible outage per run",
            "downtime + blackhole + served unhealthy (s)",
            |r| r.downtime + r.blackhole + r.unhealthy_served,
        ),
    ];
    for (panel, (caption, ydesc, f)) in panels.iter().zip(metrics) {
        let values: Vec<Vec<f64>> = groups
            .iter()
            .map(|(_, rs)| rs.iter().map(|r| f(r)).collect())
            .collect();
        let top = (values.iter().flatten().copied().fold(0.0f64, f64::max) * 1.1) as f32;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{caption} (box: quartiles, whiskers: min..max, dot: p99)"),
                ("sans-serif", 16),
            )
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(names.as_slice().into_segmented(), 0.0f32..top.max(1.0))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("variant")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(s) | SegmentValue::Exact(s) => s.to_string(),
                SegmentValue::Last => String::new(),
            })
            .y_desc(ydesc)
            .label_style(("sans-serif", 14))
            .draw()?;
        for (k, vals) in values.iter().enumerate() {
            if vals.is_empty() {
                continue;
            }
            let q = Quartiles::new(vals);
            let color = node_color(Some(k));
            chart.draw_series(std::iter::once(
                Boxplot::new_vertical(SegmentValue::CenterOf(&names[k]), &q)
                    .width(40)
                    .style(color.stroke_width(2)),
            ))?;
            let p99 = percentile(vals, 99.0) as f32;
            chart.draw_series(std::iter::once(Circle::new(
                (SegmentValue::CenterOf(&names[k]), p99),
                4,
                color.filled(),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}

/// log10 when `log`, else the value itself (plots draw log axes as linear axes of log10).
fn axis(v: f64, log: bool) -> f64 {
    if log {
        v.max(1e-12).log10()
    } else {
        v
    }
}

/// Tick label of an axis value.
fn tick(v: f64, log: bool) -> String {
    if log {
        let x = 10f64.powf(v);
        if x >= 1.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.0e}")
        }
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

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
    let pad = ((y1 - y0) * 0.08).max(1e-9);
    y1 += pad;
    if log_y {
        y0 -= pad;
    }
    let xpad = ((x1 - x0) * 0.05).max(1e-9);
    let full = BitMapBackend::new(path, (1400, 760)).into_drawing_area();
    full.fill(&WHITE)?;
    let (root, legend_area) = full.split_horizontally(1100);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 - xpad)..(x1 + xpad), y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(if log_y {
            format!("{y_label} (log scale)")
        } else {
            y_label.to_string()
        })
        .x_label_formatter(&|v| tick(*v, log_x))
        .y_label_formatter(&|v| tick(*v, log_y))
        .label_style(("sans-serif", 14))
        .draw()?;
    let mut legend = Vec::new();
    for (k, (name, points)) in series.iter().enumerate() {
        let color = node_color(Some(k));
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !log_y || p.mean > 0.0)
            .map(|p| (axis(p.x, log_x), axis(p.mean, log_y)))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?;
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
        )?;
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
        legend.push((name.clone(), color));
    }
    let has_theory = series
        .iter()
        .any(|(_, p)| p.iter().any(|x| x.theory.is_some()));
    let note = if has_theory {
        "dashed: theory; bars: min..max of runs"
    } else {
        "bars: min..max of runs"
    };
    legend.push((note.to_string(), RGBColor(255, 255, 255)));
    draw_legend(&legend_area, &legend)?;
    full.present()?;
    Ok(())
}

/// Every takeover by timer: the RFC's time (x) against the measured one (y), log-log, with
/// the line y = x.
pub fn takeover_vs_theory(path: &Path, title: &str, results: &[RunResult]) -> PlotResult {
    fonts();
    let pts: Vec<(f64, f64, usize)> = by_variant(results)
        .iter()
        .enumerate()
        .flat_map(|(k, (_, rs))| {
            rs.iter().flat_map(move |r| {
                r.takeover_theory
                    .iter()
                    .zip(&r.takeover_after_last_advert)
                    .map(move |(t, m)| (axis(*t, true), axis(*m, true), k))
            })
        })
        .collect();
    if pts.is_empty() {
        return Ok(());
    }
    let lo = pts.iter().map(|p| p.0.min(p.1)).fold(f64::MAX, f64::min) - 0.2;
    let hi = pts.iter().map(|p| p.0.max(p.1)).fold(f64::MIN, f64::max) + 0.2;
    let root = BitMapBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(lo..hi, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("RFC: Master_Down_Interval, or Skew_Time after priority 0 (s, log)")
        .y_desc("measured: takeover after the last advert received (s, log)")
        .x_label_formatter(&|v| tick(*v, true))
        .y_label_formatter(&|v| tick(*v, true))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?
        .label("y = x")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
    chart
        .draw_series(
            pts.iter()
                .map(|&(x, y, k)| Circle::new((x, y), 4, node_color(Some(k)).filled())),
        )?
        .label("one takeover (colour: variant)")
        .legend(|(x, y)| Circle::new((x + 8, y), 4, node_color(Some(0)).filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
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
    let full = BitMapBackend::new(path, (1500, height)).into_drawing_area();
    full.fill(&WHITE)?;
    let full = full.titled(title, ("sans-serif", 22))?;
    let (plots_area, legend_area) = full.split_horizontally(1180);
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
            .y_label_area_size(190)
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("seconds")
            .x_label_formatter(&|v| tick(*v, false))
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
    let mut legend: Vec<(String, RGBColor)> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("real server {s}"), node_color(Some(i))))
        .collect();
    legend.push((
        "band: the formula [min, max]".into(),
        RGBColor(200, 200, 200),
    ));
    legend.push(("dot: one measured fault".into(), RGBColor(90, 90, 90)));
    legend.push(("x at the right: not detected".into(), RGBColor(90, 90, 90)));
    draw_legend(&legend_area, &legend)?;
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
    let full = BitMapBackend::new(path, (1500, 140 + 72 * rows as u32)).into_drawing_area();
    full.fill(&WHITE)?;
    let (area, legend_area) = full.split_horizontally(1180);
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(190)
        .build_cartesian_2d(0.0..top, 0.0..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("share of the clients' requests (%)")
        .x_label_formatter(&|v| tick(*v, false))
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
    let colors = [
        RGBColor(219, 68, 55),
        RGBColor(120, 120, 120),
        RGBColor(230, 145, 56),
    ];
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
    let mut legend: Vec<(String, RGBColor)> = measures
        .iter()
        .zip(colors)
        .map(|((l, _), c)| (l.to_string(), c))
        .collect();
    legend.push(("bar: mean over runs".into(), WHITE));
    legend.push(("line: min..max of runs".into(), WHITE));
    draw_legend(&legend_area, &legend)?;
    full.present()?;
    Ok(())
}
