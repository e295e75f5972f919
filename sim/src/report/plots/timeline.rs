//! `timeline_<variant>.png`: per node its state over time, then who serves the VIP and where
//! client 0's ARP entry points.

use super::style::{draw_legend, fonts, legend_width, node_color, state_color, PlotResult, Swatch};
use super::ticks::linear_label;
use crate::observe::metrics::Recording;
use plotters::prelude::*;
use std::path::Path;
use vrrp_engine::{Instant, State};

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
    let labels: Vec<String> = rec
        .nodes
        .iter()
        .cloned()
        .chain(["VIP served by".to_string(), "client ARP ->".to_string()])
        .collect();
    // Legend: states, then node colours.
    let mut legend: Vec<(String, Swatch)> = [
        ("MASTER", Some(State::Master)),
        ("BACKUP", Some(State::Backup)),
        ("FAULT", Some(State::Fault)),
        ("INIT / removed", Some(State::Initialize)),
        ("not running", None),
    ]
    .iter()
    .map(|(l, s)| (l.to_string(), Swatch::Square(state_color(*s))))
    .collect();
    legend.extend(rec.nodes.iter().enumerate().map(|(i, name)| {
        (
            format!("VIP / ARP: {name}"),
            Swatch::Square(node_color(Some(i))),
        )
    }));
    let legend_w = legend_width(&legend).max(200);
    let label_w = labels
        .iter()
        .map(|l| super::text_size(l, 15).0)
        .max()
        .unwrap_or(0)
        + 20;
    let height = (140 + 60 * lanes as u32)
        .max(300)
        .max(super::style::legend_height(&legend, 60));
    let full = BitMapBackend::new(path, (1200 + legend_w, height)).into_drawing_area();
    full.fill(&WHITE)?;
    let (root, legend_area) = full.split_horizontally(1200);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0.0..end / scale, 0.0..lanes as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .x_label_formatter(&|v| linear_label(*v, end / scale))
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
    draw_legend(&legend_area, &legend, 60)?;
    root.present()?;
    Ok(())
}
