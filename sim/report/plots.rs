//! Plots drawn with plotters, each as SVG (for report.html and browsers) and PNG.
//!
//! Text is rendered with plotters' `ab_glyph` backend and the bundled DejaVu Sans
//! (fonts/, Bitstream Vera licence), so no system font library is needed. A run
//! gets pods and nodes over time, a node × time heat map of cpu allocation,
//! ready replicas per workload and the replicas each HPA set, with failures
//! marked; a comparison gets one
//! figure per scenario with a bar (mean) and error bar (95% CI) per policy for
//! every metric.

use std::error::Error as StdError;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::compare::{Better, Comparison, metric};
use crate::error::Error;
use crate::metrics::Report;

type DrawResult = Result<(), Box<dyn StdError>>;

/// Tableau 10: distinguishable, and readable by most colour-blind people.
const PALETTE: [RGBColor; 10] = [
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
const FAILURE: RGBColor = RGBColor(214, 39, 40);
const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("fonts/DejaVuSans.ttf");
        plotters::style::register_font(FONT, FontStyle::Normal, bytes)
            .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

/// One figure, ready to be drawn on any backend; it borrows the report or
/// comparison it draws.
pub struct Figure<'a> {
    /// File stem: `NAME.svg`, `NAME.png`.
    pub name: String,
    pub title: String,
    pub size: (u32, u32),
    kind: Kind<'a>,
}

enum Kind<'a> {
    PodsNodes(&'a Report),
    Heatmap(&'a Report),
    Ready(&'a Report),
    Hpa(&'a Report),
    Compare(&'a Comparison, usize),
}

impl Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        match &self.kind {
            Kind::PodsNodes(r) => pods_nodes(root, r),
            Kind::Heatmap(r) => heatmap(root, r),
            Kind::Ready(r) => step_lines(root, r, &Lines::ready(r)),
            Kind::Hpa(r) => step_lines(root, r, &Lines::hpa_replicas(r)),
            Kind::Compare(c, i) => compare_bars(root, c, *i),
        }?;
        root.present()?;
        Ok(())
    }

    pub fn svg(&self) -> Result<String, Error> {
        register_font();
        let mut s = String::new();
        {
            let root = SVGBackend::with_string(&mut s, self.size).into_drawing_area();
            self.draw(&root).map_err(|e| plot_error(&self.name, e))?;
        }
        Ok(s)
    }

    /// Draw into `pixels` (RGB, reused between figures) and write it as a
    /// PNG with fast deflate and the Paeth filter on every row. The default
    /// encoder's adaptive filter search made up most of a large run's report
    /// time and gave files no smaller.
    pub fn write_png(&self, path: &Path, pixels: &mut Vec<u8>) -> Result<(), Error> {
        register_font();
        let (w, h) = self.size;
        pixels.clear();
        pixels.resize(w as usize * h as usize * 3, 0);
        {
            let root = BitMapBackend::with_buffer(pixels, self.size).into_drawing_area();
            self.draw(&root).map_err(|e| plot_error(&self.name, e))?;
        }
        let io = |message: String| Error::Io {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::create(path).map_err(|e| io(e.to_string()))?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::FilterType::Paeth);
        enc.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
        let mut out = enc.write_header().map_err(|e| io(e.to_string()))?;
        out.write_image_data(pixels)
            .and_then(|()| out.finish())
            .map_err(|e| io(e.to_string()))
    }
}

fn plot_error(name: &str, e: Box<dyn StdError>) -> Error {
    Error::Internal(format!("drawing plot {name}: {e}"))
}

/// The figures of one run (the heat map only when nodes were sampled, the
/// ready chart only when there are workloads, the HPA chart only with HPAs).
pub fn run_plots(r: &Report) -> Vec<Figure<'_>> {
    let mut figs = vec![Figure {
        name: "pods-nodes".into(),
        title: "Pods and nodes over time".into(),
        size: (1000, 640),
        kind: Kind::PodsNodes(r),
    }];
    if !r.series.nodes.is_empty() && !r.timeseries.is_empty() {
        let rows = r.series.nodes.len() as u32;
        figs.push(Figure {
            name: "allocation-heatmap".into(),
            title: "CPU allocation per node over time".into(),
            size: (1000, (160 + rows * 16).clamp(360, 1400)),
            kind: Kind::Heatmap(r),
        });
    }
    if !r.series.workloads.is_empty() {
        figs.push(Figure {
            name: "ready-replicas".into(),
            title: "Ready replicas per workload".into(),
            size: (1000, 520),
            kind: Kind::Ready(r),
        });
    }
    if !r.series.hpas.is_empty() {
        figs.push(Figure {
            name: "hpa-replicas".into(),
            title: "Replicas set by each HorizontalPodAutoscaler".into(),
            size: (1000, 520),
            kind: Kind::Hpa(r),
        });
    }
    figs
}

/// One bar chart per scenario of a comparison.
pub fn compare_plots(c: &Comparison) -> Vec<Figure<'_>> {
    c.summary
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            let panels = sc
                .metrics
                .iter()
                .filter(|mc| {
                    mc.policies
                        .iter()
                        .any(|p| p.mean.unwrap_or(0.0) != 0.0 || p.ci95.unwrap_or(0.0) != 0.0)
                })
                .count()
                .max(1) as u32;
            let rows = panels.div_ceil(3);
            Figure {
                name: format!("compare-{}", file_safe(&sc.scenario)),
                title: format!("Scheduler policies on {}", sc.scenario),
                size: (1200, 90 + rows * 280),
                kind: Kind::Compare(c, i),
            }
        })
        .collect()
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Write every figure as NAME.svg and NAME.png into `dir`; returns the SVGs
/// (for the HTML page, which embeds them), in the order of `figs`.
pub fn write_all(figs: &[Figure], dir: &Path) -> Result<Vec<String>, Error> {
    let mut pixels = Vec::new();
    let mut svgs = Vec::with_capacity(figs.len());
    for f in figs {
        let svg = f.svg()?;
        let path = dir.join(format!("{}.svg", f.name));
        std::fs::write(&path, &svg).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        f.write_png(&dir.join(format!("{}.png", f.name)), &mut pixels)?;
        svgs.push(svg);
    }
    Ok(svgs)
}

/// A time axis in the unit that keeps its numbers readable.
fn time_unit(max_seconds: f64) -> (f64, &'static str) {
    if max_seconds > 3.0 * 3600.0 {
        (3600.0, "h")
    } else if max_seconds > 600.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

/// Tick labels: `5` rather than `5.0`, `2.5` stays.
fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Pending and running pods (top) and nodes used (bottom), failures marked.
fn pods_nodes<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Report) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = root.titled(
        &format!(
            "{}: pods and nodes over time (seed {}, scheduler {})",
            r.scenario, r.seed, r.scheduler
        ),
        font(22),
    )?;
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
    let (div, unit) = time_unit(r.simulated_seconds);
    let x_max = (r.simulated_seconds / div).max(1e-9);
    let ts = &r.timeseries;

    let y_max = ts
        .iter()
        .map(|s| s.pending.max(s.running))
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.1;
    let mut chart = ChartBuilder::on(&top)
        .caption("Pods", font(18))
        .margin(10)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .y_desc("pods")
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    mark_failures(&mut chart, r, div, y_max)?;
    type Get = fn(&crate::metrics::Sample) -> f64;
    let series: [(&str, RGBColor, Get); 2] = [
        ("pending", FAILURE, |s| s.pending as f64),
        ("running", PALETTE[0], |s| s.running as f64),
    ];
    for (label, color, get) in series {
        chart
            .draw_series(LineSeries::new(
                step(ts.iter().map(|s| (s.t / div, get(s))), x_max),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    legend(&mut chart)?;

    let n_max = ts.iter().map(|s| s.nodes_used).max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(&bottom)
        .caption("Nodes holding pods", font(18))
        .margin(10)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..n_max)?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .y_desc("nodes")
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    mark_failures(&mut chart, r, div, n_max)?;
    chart
        .draw_series(LineSeries::new(
            step(ts.iter().map(|s| (s.t / div, s.nodes_used as f64)), x_max),
            PALETTE[2].stroke_width(2),
        ))?
        .label("nodes used")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[2].stroke_width(2)));
    legend(&mut chart)?;
    Ok(())
}

/// Samples hold until the next one: draw them as steps, the last until `x_end`.
fn step(points: impl Iterator<Item = (f64, f64)>, x_end: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (x, y) in points {
        if let Some(&(_, py)) = out.last() {
            out.push((x, py));
        }
        out.push((x, y));
    }
    if let Some(&(lx, ly)) = out.last()
        && lx < x_end
    {
        out.push((x_end, ly));
    }
    out
}

type Chart2d<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart2d<'a, DB>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .label_font(font(14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// Shade each failure from its start to its restoration (to the end if never),
/// with a dashed line at the start; one legend entry.
fn mark_failures<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    r: &Report,
    div: f64,
    y_max: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (i, f) in r.recovery.iter().enumerate() {
        let x0 = f.at_seconds / div;
        let x1 = f.restored_seconds.unwrap_or(r.simulated_seconds) / div;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, 0.0), (x1, y_max)],
            FAILURE.mix(0.08).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            f.event.clone(),
            (x0, y_max),
            font(12)
                .color(&FAILURE)
                .pos(Pos::new(HPos::Left, VPos::Top)),
        )))?;
        let line = chart.draw_series(DashedLineSeries::new(
            vec![(x0, 0.0), (x0, y_max)],
            6,
            4,
            FAILURE.stroke_width(1),
        ))?;
        if i == 0 {
            line.label("failure (shaded until restored)")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], FAILURE.mix(0.3).filled())
                });
        }
    }
    Ok(())
}

/// White (idle) to dark blue (full): linear in the allocation ratio.
fn heat_color(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// Node (rows) × time (columns), coloured by cpu requested / allocatable.
fn heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Report) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let s = &r.series;
    let title = if s.nodes_total > s.nodes.len() {
        format!(
            "{}: cpu allocation per node (first {} of {} nodes)",
            r.scenario,
            s.nodes.len(),
            s.nodes_total
        )
    } else {
        format!("{}: cpu allocation per node", r.scenario)
    };
    let root = root.titled(&title, font(22))?;
    let (main, bar) = root.split_horizontally(root.dim_in_pixel().0 - 110);
    let (div, unit) = time_unit(r.simulated_seconds);
    let x_max = (r.simulated_seconds / div).max(1e-9);
    let n = s.nodes.len();
    let longest = s.nodes.iter().map(|x| x.chars().count()).max().unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(&main)
        .margin(10)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size((longest * 8 + 20).clamp(60, 240))
        .build_cartesian_2d(0.0..x_max, 0.0..n as f64)?;
    let names = s.nodes.clone();
    let label_every = n.div_ceil(40).max(1);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .x_label_formatter(&tick)
        .y_desc("node")
        .y_labels(n.min(40) * 2 + 1)
        .y_label_formatter(&|y| {
            // Rows are drawn top-down: row i spans [n-1-i, n-i); label its centre.
            let pos = y - y.floor();
            let row = n as f64 - y.floor() - 1.0;
            if (pos - 0.5).abs() > 1e-6 || row < 0.0 {
                return String::new();
            }
            let i = row as usize;
            if i.is_multiple_of(label_every) {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(font(12))
        .axis_desc_style(font(15))
        .draw()?;
    // Run-length cells: a node's allocation changes rarely, so a row is a few rectangles.
    let ts = &r.timeseries;
    let mut cells = Vec::new();
    for node in 0..n {
        let y0 = (n - 1 - node) as f64;
        let mut start: Option<(f64, f64)> = None;
        for sample in ts {
            let v = sample.node_cpu.get(node).copied();
            let t = sample.t / div;
            match (start, v) {
                (Some((_, v0)), Some(v1)) if v1 == v0 => {}
                (Some((t0, v0)), _) => {
                    cells.push((t0, t, y0, v0));
                    start = v.map(|v| (t, v));
                }
                (None, Some(v1)) => start = Some((t, v1)),
                (None, None) => {}
            }
        }
        if let Some((t0, v0)) = start {
            cells.push((t0, x_max, y0, v0));
        }
    }
    chart.draw_series(cells.into_iter().map(|(x0, x1, y0, v)| {
        Rectangle::new([(x0, y0 + 0.06), (x1, y0 + 0.94)], heat_color(v).filled())
    }))?;

    // Colour bar.
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(10)
        .margin_bottom(50)
        .margin_right(10)
        .y_label_area_size(45)
        .caption("cpu (%)", font(14))
        .build_cartesian_2d(0.0..1.0, 0.0..100.0)?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&tick)
        .label_style(font(12))
        .draw()?;
    cb.draw_series((0..100).map(|i| {
        let v = i as f64;
        Rectangle::new([(0.0, v), (1.0, v + 1.0)], heat_color(v / 100.0).filled())
    }))?;
    Ok(())
}

/// One step line per named series of the samples.
struct Lines<'a> {
    what: &'a str,
    y_desc: &'a str,
    names: &'a [String],
    /// How many series there are, including those not kept in the report.
    total: usize,
    value: fn(&crate::metrics::Sample, usize) -> Option<i64>,
}

impl Lines<'_> {
    /// Ready pods per workload.
    fn ready(r: &Report) -> Lines<'_> {
        Lines {
            what: "ready replicas per workload",
            y_desc: "ready pods",
            names: &r.series.workloads,
            total: r.series.workloads.len().max(r.series.workloads_total),
            value: |x, i| x.ready.get(i).copied(),
        }
    }

    /// Each HPA's target replicas (spec.replicas).
    fn hpa_replicas(r: &Report) -> Lines<'_> {
        Lines {
            what: "replicas set by each HorizontalPodAutoscaler",
            y_desc: "replicas",
            names: &r.series.hpas,
            total: r.series.hpas.len(),
            value: |x, i| x.hpa_replicas.get(i).copied(),
        }
    }
}

/// The series of `lines` over time (the 10 largest), failures marked.
fn step_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &Report,
    lines: &Lines,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let ts = &r.timeseries;
    let value = lines.value;
    let peak = |i: usize| ts.iter().filter_map(|x| value(x, i)).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..lines.names.len()).collect();
    // Largest first; ties keep the series order.
    order.sort_by_key(|&i| std::cmp::Reverse(peak(i)));
    let shown: Vec<usize> = order.into_iter().take(PALETTE.len()).collect();
    let mut title = format!("{}: {}", r.scenario, lines.what);
    if lines.total > shown.len() {
        title.push_str(&format!(" ({} largest of {})", shown.len(), lines.total));
    }
    let root = root.titled(&title, font(22))?;
    let (div, unit) = time_unit(r.simulated_seconds);
    let x_max = (r.simulated_seconds / div).max(1e-9);
    let y_max = shown.iter().map(|&i| peak(i)).max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({unit})"))
        .y_desc(lines.y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    mark_failures(&mut chart, r, div, y_max)?;
    for (k, &i) in shown.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points = step(
            ts.iter()
                .filter_map(|x| value(x, i).map(|v| (x.t / div, v as f64))),
            x_max,
        );
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(lines.names[i].clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .label_font(font(14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
}

/// One panel per metric: a bar per policy at its mean, with the 95% CI as an error bar.
fn compare_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Comparison,
    index: usize,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let sc = &c.summary[index];
    let root = root.titled(
        &format!(
            "{}: scheduler policies, mean ± 95% CI over {} seeds",
            sc.scenario, c.sweep.seeds
        ),
        font(22),
    )?;
    let (legend_area, grid) = root.split_vertically(36);
    // Legend: a swatch per policy.
    let mut x = 20;
    for (k, s) in c.sweep.schedulers.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        legend_area.draw(&Rectangle::new([(x, 10), (x + 18, 26)], color.filled()))?;
        legend_area.draw(&Text::new(s.name.clone(), (x + 24, 11), font(15)))?;
        x += 24 + 9 * s.name.chars().count() as i32 + 30;
    }
    // Metrics at zero for every policy (no preemptions anywhere, say) stay in the table only.
    let shown: Vec<_> = sc
        .metrics
        .iter()
        .filter(|mc| {
            mc.policies
                .iter()
                .any(|p| p.mean.unwrap_or(0.0) != 0.0 || p.ci95.unwrap_or(0.0) != 0.0)
        })
        .collect();
    let panels = shown.len().max(1);
    let rows = panels.div_ceil(3);
    let areas = grid.split_evenly((rows, 3));
    let names: Vec<String> = c.sweep.schedulers.iter().map(|s| s.name.clone()).collect();
    for (mc, area) in shown.into_iter().zip(&areas) {
        let m = metric(&mc.metric).expect("known metric");
        let scale = if m.unit == "ratio" { 100.0 } else { 1.0 };
        let vals: Vec<(f64, f64)> = mc
            .policies
            .iter()
            .map(|p| (p.mean.unwrap_or(0.0) * scale, p.ci95.unwrap_or(0.0) * scale))
            .collect();
        let hi = vals.iter().map(|(m, h)| m + h).fold(0.0f64, f64::max);
        let lo = vals.iter().map(|(m, h)| m - h).fold(0.0f64, f64::min);
        let y_max = if hi <= 0.0 { 1.0 } else { hi * 1.15 };
        let arrow = if m.better == Better::Lower {
            "lower is better"
        } else {
            "higher is better"
        };
        let mut caption = format!("{} — {arrow}", m.label);
        if let Some(b) = &mc.best {
            caption = format!("{caption}; best {b}");
            if mc.significant == Some(false) {
                caption.push_str(" (n.s.)");
            }
        }
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(55)
            .build_cartesian_2d(
                (0..names.len().saturating_sub(1)).into_segmented(),
                lo.min(0.0)..y_max,
            )?;
        let y_desc = match m.unit {
            "" => "count".to_string(),
            "ratio" => "%".to_string(),
            u => u.to_string(),
        };
        let labels = names.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_desc)
            .y_label_formatter(&tick)
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()?;
        chart.draw_series(vals.iter().enumerate().map(|(k, &(mean, _))| {
            let color = PALETTE[k % PALETTE.len()];
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(k), 0.0),
                    (SegmentValue::Exact(k + 1), mean),
                ],
                color.mix(0.85).filled(),
            );
            bar.set_margin(0, 0, 12, 12);
            bar
        }))?;
        // Error bars: a vertical line over the 95% CI with 12-pixel caps.
        for (k, &(mean, h)) in vals.iter().enumerate().filter(|(_, (_, h))| *h > 0.0) {
            let x = SegmentValue::CenterOf(k);
            let style = BLACK.stroke_width(2);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x.clone(), mean - h), (x.clone(), mean + h)],
                style,
            )))?;
            for y in [mean - h, mean + h] {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x.clone(), y))
                        + PathElement::new(vec![(-6, 0), (6, 0)], style),
                ))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Recovery, Sample, Series};

    /// A made-up run: 8 nodes filling up, a failure at 10 min restored at 14 min.
    pub(crate) fn synthetic_report() -> Report {
        let nodes: Vec<String> = (0..8).map(|i| format!("general-{i}")).collect();
        let timeseries = (0..=60)
            .map(|k| {
                let t = k as f64 * 30.0;
                let failed = (600.0..840.0).contains(&t);
                let running = (k * 2).min(40) - if failed { 6 } else { 0 };
                Sample {
                    t,
                    pending: if failed {
                        6
                    } else {
                        (60 - k).min(10) as u64 / 3
                    },
                    running: running as u64,
                    nodes_used: ((running + 7) / 8).min(8) as u64,
                    cpu_allocation: 0.6,
                    memory_allocation: 0.4,
                    ready: vec![(running / 2) as i64, (running - running / 2) as i64],
                    endpoints_ready: vec![(running / 2) as u64],
                    node_cpu: (0..8)
                        .map(|n| {
                            if failed && n == 2 {
                                0.0
                            } else {
                                ((running as f64 / 40.0) * (1.0 - n as f64 / 10.0)).min(1.0)
                            }
                        })
                        .collect(),
                    hpa_replicas: vec![(running / 4).max(2) as i64],
                    ..Default::default()
                }
            })
            .collect();
        Report {
            scenario: "synthetic".into(),
            seed: 1,
            scheduler: "default".into(),
            simulated_seconds: 1800.0,
            timeseries,
            recovery: vec![Recovery {
                event: "failNode general-2".into(),
                at_seconds: 600.0,
                detected_seconds: Some(640.0),
                evicted_seconds: Some(700.0),
                restored_seconds: Some(840.0),
                pods_disrupted: 6,
                requests_failed: 0,
                ..Default::default()
            }],
            series: Series {
                workloads: vec![
                    "deployment/shop/frontend".into(),
                    "statefulset/shop/db".into(),
                ],
                services: vec!["shop/frontend".into()],
                nodes: nodes.clone(),
                nodes_total: 8,
                workloads_total: 2,
                hpas: vec!["shop/frontend".into()],
            },
            ..Default::default()
        }
    }

    #[test]
    fn run_plots_are_valid_svg_and_png() {
        let r = synthetic_report();
        let figs = run_plots(&r);
        assert_eq!(figs.len(), 4);
        let dir = std::env::var_os("KUBESIM_PLOT_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("kubesim-plots-{}", std::process::id()))
            });
        std::fs::create_dir_all(&dir).unwrap();
        write_all(&figs, &dir).unwrap();
        for f in &figs {
            let svg = std::fs::read_to_string(dir.join(format!("{}.svg", f.name))).unwrap();
            assert!(svg.contains("<svg") && svg.contains("</svg>"), "{}", f.name);
            let png = std::fs::read(dir.join(format!("{}.png", f.name))).unwrap();
            assert!(
                png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}",
                f.name
            );
        }
    }
}
