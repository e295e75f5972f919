//! What every plot shares: the bundled font, the colours, text measurement and the legend.

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::Once;
use vrrp_engine::State;

static FONT: Once = Once::new();

/// Registers the bundled DejaVu Sans as "sans-serif" (once per process).
pub(crate) fn fonts() {
    FONT.call_once(|| {
        // The bytes are valid TrueType; a failure would only mean text is not drawn.
        let _ = register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../../assets/DejaVuSans.ttf"),
        );
    });
}

/// The result of drawing a plot.
pub(crate) type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Size of text for label size `size` in the bundled font (width, height in pixels).
pub fn text_size(text: &str, size: u32) -> (u32, u32) {
    fonts();
    let font: FontDesc = ("sans-serif", size as f64).into_font();
    font.box_size(text).unwrap_or((0, 0))
}

/// Colour of a node's state in the timelines.
pub(crate) fn state_color(s: Option<State>) -> RGBColor {
    match s {
        Some(State::Master) => RGBColor(46, 160, 67),
        Some(State::Backup) => RGBColor(66, 133, 244),
        Some(State::Fault) => RGBColor(219, 68, 55),
        Some(State::Initialize) => RGBColor(170, 170, 170),
        None => RGBColor(225, 225, 225),
    }
}

/// Colours for nodes, distinct from the state colours.
pub(crate) fn node_color(i: Option<usize>) -> RGBColor {
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

/// Colours for the series of a plot (Tableau 10: ten that stay apart, also in print).
pub(crate) fn series_color(k: usize) -> RGBColor {
    const P: [RGBColor; 10] = [
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
    P[k % P.len()]
}

/// Marker of the series `k`: past ten series the colours repeat, the shape does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    /// A filled circle.
    Circle,
    /// A filled triangle.
    Triangle,
    /// A filled square.
    Square,
}

/// The marker of series `k` (see [`series_color`]).
pub(crate) fn series_marker(k: usize) -> Marker {
    [Marker::Circle, Marker::Triangle, Marker::Square][(k / 10) % 3]
}

/// Draws marker `m` of pixel radius `r` at `at` in a plotting area.
pub(crate) fn draw_marker<DB, CT>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    m: Marker,
    r: i32,
    color: RGBColor,
) -> PlotResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
    CT::From: Clone,
{
    let style = color.filled();
    match m {
        Marker::Circle => area.draw(&Circle::new(at, r, style))?,
        Marker::Triangle => area.draw(&TriangleMarker::new(at, r + 1, style))?,
        Marker::Square => {
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-r, -r), (r, r)], style)))?
        }
    }
    Ok(())
}

/// One legend entry: its swatch and its text.
#[derive(Clone, Debug)]
pub(crate) enum Swatch {
    /// A filled square of the colour.
    Square(RGBColor),
    /// A marker of the colour.
    Marker(Marker, RGBColor),
    /// A short line of the colour (dashed or not).
    Line(RGBColor, bool),
    /// No swatch: a note.
    None,
}

/// Pixel size of legend text.
pub(crate) const LEGEND_FONT: u32 = 15;
/// Vertical distance between legend entries.
const LEGEND_PITCH: i32 = 24;

/// Width a legend needs (swatch, gap, the widest text, a margin).
pub(crate) fn legend_width(items: &[(String, Swatch)]) -> u32 {
    let widest = items
        .iter()
        .map(|(t, _)| text_size(t, LEGEND_FONT).0)
        .max()
        .unwrap_or(0);
    34 + widest + 16
}

/// Height a legend needs from `top`.
pub(crate) fn legend_height(items: &[(String, Swatch)], top: i32) -> u32 {
    (top + LEGEND_PITCH * items.len() as i32 + 8).max(0) as u32
}

/// A legend drawn in its own area from `top`: swatches and labels, top to bottom.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    items: &[(String, Swatch)],
    top: i32,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    for (k, (label, swatch)) in items.iter().enumerate() {
        let y = top + LEGEND_PITCH * k as i32;
        match *swatch {
            Swatch::Square(c) => {
                area.draw(&Rectangle::new([(10, y), (26, y + 14)], c.filled()))?;
            }
            Swatch::Marker(m, c) => {
                let s = c.filled();
                match m {
                    Marker::Circle => area.draw(&Circle::new((18, y + 7), 5, s))?,
                    Marker::Triangle => area.draw(&TriangleMarker::new((18, y + 7), 6, s))?,
                    Marker::Square => area.draw(&Rectangle::new([(13, y + 2), (23, y + 12)], s))?,
                }
            }
            Swatch::Line(c, dashed) => {
                if dashed {
                    for x in [8, 16, 24] {
                        area.draw(&PathElement::new(
                            [(x, y + 7), (x + 4, y + 7)],
                            c.stroke_width(2),
                        ))?;
                    }
                } else {
                    area.draw(&PathElement::new(
                        [(8, y + 7), (28, y + 7)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Swatch::None => {}
        }
        area.draw(&Text::new(
            label.clone(),
            (34, y),
            ("sans-serif", LEGEND_FONT).into_font(),
        ))?;
    }
    Ok(())
}
