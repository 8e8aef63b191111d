//! bench/latency.svg, written by hand: one group per row, one bar per
//! distribution (svcfs first, then its baselines) on a log-scale time
//! axis. A bar is a box from p25 to p75 with a tick at p50, a whisker
//! from min to p99 and a dot at p99 (p99 is the max when n < 100).

use std::fmt::Write as _;
use std::time::Duration;

use crate::report::{Report, Series};
use crate::stats::human;

const WIDTH: f64 = 1000.0;
const LABEL_W: f64 = 360.0;
const RIGHT: f64 = 30.0;
const BAR_H: f64 = 14.0;
const BAR_GAP: f64 = 4.0;
const GROUP_TITLE_H: f64 = 18.0;
const GROUP_GAP: f64 = 10.0;
const TOP: f64 = 60.0;
const AXIS_H: f64 = 40.0;
const SVCFS_COLOR: &str = "#d9534f";
const BASELINE_COLOR: &str = "#337ab7";
const OTHER_COLOR: &str = "#8a8a8a";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The x axis: whole decades around every value plotted.
struct Axis {
    lo: f64,
    hi: f64,
}

impl Axis {
    fn around(series: &[&Series]) -> Axis {
        let values = series
            .iter()
            .flat_map(|s| [s.samples.min(), s.samples.max()])
            .map(|d| d.as_secs_f64().max(1e-7));
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            (lo, hi) = (1e-6, 1.0);
        }
        Axis {
            lo: 10f64.powf(lo.log10().floor()),
            hi: 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
        }
    }

    fn x(&self, d: Duration) -> f64 {
        let v = d.as_secs_f64().clamp(self.lo, self.hi);
        let t = (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10());
        LABEL_W + t * (WIDTH - LABEL_W - RIGHT)
    }

    fn decades(&self) -> Vec<f64> {
        let (a, b) = (
            self.lo.log10().round() as i32,
            self.hi.log10().round() as i32,
        );
        (a..=b).map(|e| 10f64.powi(e)).collect()
    }
}

fn bar(out: &mut String, axis: &Axis, y: f64, series: &Series, color: &str) {
    let s = &series.samples;
    let (x_min, x25, x50, x75, x99) = (
        axis.x(s.min()),
        axis.x(s.quantile(0.25)),
        axis.x(s.p50()),
        axis.x(s.quantile(0.75)),
        axis.x(s.p99()),
    );
    let mid = y + BAR_H / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{} (n={})</text>"#,
        LABEL_W - 8.0,
        mid + 4.0,
        escape(&series.label),
        s.n()
    );
    let _ = writeln!(
        out,
        r#"<line x1="{x_min:.1}" y1="{mid:.1}" x2="{x99:.1}" y2="{mid:.1}" stroke="{color}" stroke-width="1.5"/>"#
    );
    let _ = writeln!(
        out,
        r#"<rect x="{x25:.1}" y="{y:.1}" width="{:.1}" height="{BAR_H}" fill="{color}" fill-opacity="0.35" stroke="{color}"><title>{}: p50 {} p99 {} min {} max {}</title></rect>"#,
        (x75 - x25).max(1.5),
        escape(&series.label),
        human(s.p50()),
        human(s.p99()),
        human(s.min()),
        human(s.max()),
    );
    let _ = writeln!(
        out,
        r#"<line x1="{x50:.1}" y1="{y:.1}" x2="{x50:.1}" y2="{:.1}" stroke="{color}" stroke-width="2.5"/>"#,
        y + BAR_H
    );
    let _ = writeln!(
        out,
        r#"<circle cx="{x99:.1}" cy="{mid:.1}" r="3" fill="{color}"/>"#
    );
}

/// "1 µs", "10 ms", "100 s".
fn decade_label(seconds: f64) -> String {
    let units = [(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s")];
    let (scale, unit) = units
        .iter()
        .rev()
        .find(|(scale, _)| seconds >= *scale * 0.999)
        .copied()
        .unwrap_or(units[0]);
    format!("{:.0} {unit}", seconds / scale)
}

/// The whole plot, from the rows that have distributions.
pub fn render(report: &Report) -> String {
    let groups: Vec<(String, Vec<(&Series, &str)>)> = report
        .rows
        .iter()
        .filter_map(|row| {
            let svcfs = row.svcfs.as_ref()?;
            let mut bars = vec![(svcfs, SVCFS_COLOR)];
            bars.extend(row.baseline.iter().map(|b| (b, BASELINE_COLOR)));
            bars.extend(row.others.iter().map(|o| (o, OTHER_COLOR)));
            Some((row.name.clone(), bars))
        })
        .collect();
    let all: Vec<&Series> = groups
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|(s, _)| *s))
        .collect();
    let axis = Axis::around(&all);
    let height = TOP
        + groups
            .iter()
            .map(|(_, bars)| GROUP_TITLE_H + bars.len() as f64 * (BAR_H + BAR_GAP) + GROUP_GAP)
            .sum::<f64>()
        + AXIS_H;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    out.push_str(
        "<style>.label{fill:#222}.title{font-weight:bold;fill:#000}.tick{fill:#555}</style>\n",
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" class="title" font-size="14">svcfs latency distributions (log scale)</text>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="10" y="38" class="tick">box p25–p75, thick tick p50, whisker min–p99, dot p99 · <tspan fill="{SVCFS_COLOR}">■ svcfs</tspan> <tspan fill="{BASELINE_COLOR}">■ baseline of the ratio</tspan> <tspan fill="{OTHER_COLOR}">■ other baselines</tspan></text>"#
    );
    let plot_bottom = height - AXIS_H;
    for decade in axis.decades() {
        let x = axis.x(Duration::from_secs_f64(decade));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{plot_bottom:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
            TOP - 8.0,
            plot_bottom + 16.0,
            decade_label(decade),
        );
    }
    let mut y = TOP;
    for (title, bars) in &groups {
        let _ = writeln!(
            out,
            r#"<text x="10" y="{:.1}" class="title">{}</text>"#,
            y + 12.0,
            escape(title)
        );
        y += GROUP_TITLE_H;
        for (series, color) in bars {
            bar(&mut out, &axis, y, series, color);
            y += BAR_H + BAR_GAP;
        }
        y += GROUP_GAP;
    }
    out.push_str("</svg>\n");
    out
}
