//! The builders' plots as pure functions from history rows to PNG bytes, drawn with plotters
//! on a bitmap: build durations coloured by result, the pass rate per day, and step
//! durations stacked per build. `plots.rs` reads the rows and serves the images.

use std::collections::BTreeMap;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::font::{self, Align, Label};
use super::images::{self, RenderError, Rgb, encode};
use crate::db::history::{BuildTime, DayCount, StepTime};
use crate::engine::views::badge::BadgeState;
use crate::model::Results;

/// A plot's size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Canvas {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

const BACKGROUND: RGBColor = RGBColor(0xff, 0xff, 0xff);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const GRID: RGBColor = RGBColor(0xe4, 0xe6, 0xea);
const CAPTION_EM: f64 = 14.0;
const LABEL_EM: f64 = 11.0;

/// Step colours, in the order step names first appear (a colour-blind-safe palette).
const STEP_COLOURS: [Rgb; 8] = [
    Rgb(0x44, 0x77, 0xaa),
    Rgb(0xee, 0x66, 0x77),
    Rgb(0x22, 0x88, 0x33),
    Rgb(0xcc, 0xbb, 0x44),
    Rgb(0x66, 0xcc, 0xee),
    Rgb(0xaa, 0x33, 0x77),
    Rgb(0xbb, 0xbb, 0xbb),
    Rgb(0x99, 0x55, 0x22),
];

/// The unit durations are shown in: seconds, minutes or hours, by the longest.
fn unit(longest: i64) -> (f64, &'static str) {
    if longest >= 2 * 3600 {
        (3600.0, "hours")
    } else if longest >= 120 {
        (60.0, "minutes")
    } else {
        (1.0, "seconds")
    }
}

/// Round values from `lo` to `hi`, about `count` of them, steps of 1, 2 or 5 times a power
/// of ten (never below 1 on an axis of whole numbers).
fn ticks(lo: f64, hi: f64, count: usize, whole: bool) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let magnitude = 10f64.powf((span / count.max(1) as f64).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| span / step <= count as f64)
        .unwrap_or(10.0 * magnitude);
    let step = if whole { step.max(1.0).round() } else { step };
    let first = (lo / step).ceil() * step;
    (0..=count * 2).map(|i| first + i as f64 * step).take_while(|v| *v <= hi + step * 1e-9).collect()
}

/// A value as an axis shows it: no decimals unless the steps need them.
fn number(v: f64, step: f64) -> String {
    if step >= 1.0 || v == v.round() { format!("{v:.0}") } else { format!("{v:.1}") }
}

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The chart on `area` over `x` × `y`, with room for the axes' labels.
fn chart<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, RenderError> {
    Ok(ChartBuilder::on(area).margin(10).x_label_area_size(22).y_label_area_size(44).build_cartesian_2d(x, y)?)
}

/// Axis lines, a light grid at round values and their labels, all text set with the
/// embedded font (plotters' own text spaces small labels unevenly). `x_label` writes an x
/// value.
fn axes(
    chart: &mut Chart<'_, '_>,
    x_ticks: &[f64],
    y_ticks: &[f64],
    x_label: &dyn Fn(f64) -> String,
) -> Result<(), RenderError> {
    chart.configure_mesh().disable_mesh().x_labels(0).y_labels(0).axis_style(INK.mix(0.6)).draw()?;
    let (xs, ys) = (chart.x_range(), chart.y_range());
    let area = chart.plotting_area();
    let ink = INK.mix(1.0);
    let y_step = if y_ticks.len() > 1 { y_ticks[1] - y_ticks[0] } else { 1.0 };
    for &y in y_ticks {
        area.draw(&PathElement::new(vec![(xs.start, y), (xs.end, y)], GRID))?;
        let text = number(y, y_step);
        area.draw(&Label { text, em: LABEL_EM, at: (xs.start, y), align: Align::Right, offset: (-6, 4), colour: ink })?;
    }
    for &x in x_ticks {
        area.draw(&Label {
            text: x_label(x),
            em: LABEL_EM,
            at: (x, ys.start),
            align: Align::Centre,
            offset: (0, 15),
            colour: ink,
        })?;
    }
    Ok(())
}

/// Draws onto a white canvas and encodes it; `draw` gets the area below the caption.
fn plot(
    canvas: Canvas,
    caption: &str,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), RenderError>,
) -> Result<Vec<u8>, RenderError> {
    font::register()?;
    let (w, h) = (canvas.width, canvas.height);
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&BACKGROUND)?;
        let colour = INK.mix(1.0);
        let text = caption.to_owned();
        root.draw(&Label {
            text,
            em: CAPTION_EM,
            at: (w as i32 / 2, 18),
            align: Align::Centre,
            offset: (0, 0),
            colour,
        })?;
        let (_, body) = root.split_vertically(24);
        draw(&body)?;
        root.present()?;
    }
    encode(w, h, png::ColorType::Rgb, &pixels)
}

/// "nothing to show" in the middle of an area.
fn empty(area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, what: &str) -> Result<(), RenderError> {
    let (w, h) = area.dim_in_pixel();
    let colour = RGBColor(0x88, 0x88, 0x88).mix(1.0);
    let text = what.to_owned();
    area.draw(&Label {
        text,
        em: LABEL_EM,
        at: (w as i32 / 2, h as i32 / 2),
        align: Align::Centre,
        offset: (0, 0),
        colour,
    })?;
    Ok(())
}

/// How many labels fit along `pixels`.
fn fit(pixels: u32, per_label: u32) -> usize {
    (pixels / per_label).clamp(2, 12) as usize
}

/// Each build's duration as a bar in its result's colour, oldest on the left.
pub fn durations(builder: &str, builds: &[BuildTime], canvas: Canvas) -> Result<Vec<u8>, RenderError> {
    let longest = builds.iter().map(|b| b.finished_at - b.started_at).max().unwrap_or(0).max(1);
    let (scale, unit) = unit(longest);
    plot(canvas, &format!("{builder}: build durations in {unit}"), |area| {
        let (Some(first), Some(last)) = (builds.first(), builds.last()) else {
            return empty(area, "no finished builds");
        };
        let (lo, hi) = (first.number.min(last.number) as f64, first.number.max(last.number) as f64);
        let top = longest as f64 / scale * 1.08;
        let mut chart = chart(area, (lo - 0.5)..(hi + 0.5), 0.0..top)?;
        let x_ticks = ticks(lo, hi, fit(canvas.width, 70), true);
        axes(&mut chart, &x_ticks, &ticks(0.0, top, fit(canvas.height, 40), false), &|n| format!("#{n:.0}"))?;
        let width = if builds.len() > 200 { 0.5 } else { 0.4 };
        // A build too short for the scale still shows its colour.
        let least = top / 100.0;
        chart.draw_series(builds.iter().map(|b| {
            let state = b.results().map_or(BadgeState::Unknown, BadgeState::Done);
            let n = b.number as f64;
            let top = ((b.finished_at - b.started_at) as f64 / scale).max(least);
            Rectangle::new([(n - width, 0.0), (n + width, top)], images::colours(state).background.plotters().filled())
        }))?;
        Ok(())
    })
}

/// The pass rate of each day: successful builds (warnings count as passing) among those
/// that passed or failed; skipped, retried and cancelled builds do not count.
pub fn pass_rates(days: &[DayCount]) -> Vec<(i64, f64, i64)> {
    let mut by_day: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for d in days {
        let (passed, counted) = by_day.entry(d.day).or_default();
        match Results::from_i64(d.results) {
            Some(Results::Success | Results::Warnings) => {
                *passed += d.count;
                *counted += d.count;
            }
            Some(Results::Failure | Results::Exception) => *counted += d.count,
            _ => {}
        }
    }
    by_day
        .into_iter()
        .filter(|(_, (_, counted))| *counted > 0)
        .map(|(day, (passed, counted))| (day, 100.0 * passed as f64 / counted as f64, counted))
        .collect()
}

/// The pass rate per day (UTC), as a line over points in 0.8.9's colours.
pub fn results(builder: &str, days: &[DayCount], canvas: Canvas) -> Result<Vec<u8>, RenderError> {
    let rates = pass_rates(days);
    plot(canvas, &format!("{builder}: % of builds passed per day (UTC)"), |area| {
        let (Some(first), Some(last)) = (rates.first(), rates.last()) else {
            return empty(area, "no finished builds");
        };
        let (lo, hi) = (first.0 as f64, last.0 as f64);
        let mut chart = chart(area, (lo - 0.5)..(hi + 0.5), 0.0..105.0)?;
        let day = |d: f64| {
            chrono::DateTime::from_timestamp(d.round() as i64 * 86400, 0)
                .map(|t| t.format("%b %-d").to_string())
                .unwrap_or_default()
        };
        axes(
            &mut chart,
            &ticks(lo, hi, fit(canvas.width, 70), true),
            &ticks(0.0, 100.0, fit(canvas.height, 40), false),
            &day,
        )?;
        let line = images::colours(BadgeState::Done(Results::Success)).border.plotters();
        chart.draw_series(LineSeries::new(rates.iter().map(|(d, r, _)| (*d as f64, *r)), line.stroke_width(2)))?;
        chart.draw_series(rates.iter().map(|(d, r, _)| {
            let state = match *r {
                r if r >= 100.0 => Results::Success,
                r if r >= 50.0 => Results::Warnings,
                _ => Results::Failure,
            };
            Circle::new((*d as f64, *r), 4, images::colours(BadgeState::Done(state)).background.plotters().filled())
        }))?;
        Ok(())
    })
}

/// Each build's steps stacked in order, one colour per step name, with a legend.
pub fn steps(builder: &str, rows: &[StepTime], canvas: Canvas) -> Result<Vec<u8>, RenderError> {
    let mut names: Vec<&str> = Vec::new();
    let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
    for r in rows {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
        *totals.entry(r.build).or_default() += r.seconds.max(0);
    }
    let longest = totals.values().copied().max().unwrap_or(0).max(1);
    let (scale, unit) = unit(longest);
    plot(canvas, &format!("{builder}: step durations in {unit}"), |area| {
        let (Some(lo), Some(hi)) = (totals.keys().next(), totals.keys().next_back()) else {
            return empty(area, "no finished builds");
        };
        let (lo, hi) = (*lo as f64, *hi as f64);
        let top = longest as f64 / scale * 1.08;
        let mut chart = chart(area, (lo - 0.5)..(hi + 0.5), 0.0..top)?;
        let x_ticks = ticks(lo, hi, fit(canvas.width, 70), true);
        axes(&mut chart, &x_ticks, &ticks(0.0, top, fit(canvas.height, 40), false), &|n| format!("#{n:.0}"))?;
        // Where each build's stack has reached so far.
        let mut reached: BTreeMap<i64, f64> = BTreeMap::new();
        let bars: Vec<(usize, f64, f64, f64)> = rows
            .iter()
            .map(|r| {
                let bottom = reached.entry(r.build).or_default();
                let top = *bottom + r.seconds.max(0) as f64 / scale;
                let bar = (names.iter().position(|n| *n == r.name).unwrap_or(0), r.build as f64, *bottom, top);
                *bottom = top;
                bar
            })
            .collect();
        for (i, name) in names.iter().enumerate() {
            let colour = STEP_COLOURS[i % STEP_COLOURS.len()].plotters();
            chart
                .draw_series(
                    bars.iter().filter(|b| b.0 == i).map(|&(_, n, bottom, top)| {
                        Rectangle::new([(n - 0.4, bottom), (n + 0.4, top)], colour.filled())
                    }),
                )?
                .label(super::markup::shorten(name, 32).into_owned())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(BACKGROUND.mix(0.85))
            .border_style(INK.mix(0.3))
            .label_font((font::FAMILY, font::plotters_size(LABEL_EM)?))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_rates_count_passing_and_failing_builds_only() {
        let day = |day, results: Results, count| DayCount { day, results: results.as_i64(), count };
        let days = [
            day(10, Results::Success, 3),
            day(10, Results::Failure, 1),
            day(11, Results::Warnings, 1),
            day(11, Results::Cancelled, 5),
            day(12, Results::Retry, 2),
            day(13, Results::Exception, 2),
        ];
        assert_eq!(pass_rates(&days), vec![(10, 75.0, 4), (11, 100.0, 1), (13, 0.0, 2)]);
    }

    #[test]
    fn ticks_fall_on_round_values() {
        assert_eq!(ticks(0.0, 10.0, 5, false), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0, 4, false), [0.0, 0.5, 1.0]);
        assert_eq!(ticks(3.0, 5.0, 10, true), [3.0, 4.0, 5.0], "whole numbers step by 1 at least");
        assert_eq!(ticks(1.0, 1000.0, 5, true), [200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!(number(2.5, 0.5), "2.5");
        assert_eq!(number(2.0, 0.5), "2");
    }

    #[test]
    fn durations_are_shown_in_a_readable_unit() {
        assert_eq!(unit(59).1, "seconds");
        assert_eq!(unit(600).1, "minutes");
        assert_eq!(unit(3 * 3600).1, "hours");
    }
}
