//! Charts as inline SVG: no script, no library. Every mark carries a `<title>`, which
//! browsers show on hover, so the exact value is one pointer away.

use maud::{html, Markup};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const PAD: f64 = 28.0;

/// One point of a line chart: its label (a date), its value and, when judged, its
/// expected band.
pub struct LinePoint {
    pub label: String,
    pub value: Option<f64>,
    pub band: Option<(f64, f64)>,
    pub flagged: bool,
}

/// A line chart with an optional shaded baseline band and flagged points in red.
/// `show` formats a value for the hover text and the axis.
pub fn line(points: &[LinePoint], show: impl Fn(f64) -> String) -> Markup {
    // The scale follows the values and the band's upper edge; the lower edge is clipped at
    // the axis, so a wide band never drags a sales chart below zero.
    let values = points
        .iter()
        .flat_map(|p| [p.value, p.band.map(|b| b.1)])
        .flatten()
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    lo = lo.min(0.0);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let n = points.len().max(2) as f64;
    let x = |i: usize| PAD + (WIDTH - 2.0 * PAD) * i as f64 / (n - 1.0);
    let y = |v: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - lo) / (hi - lo);
    let path: String = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.value.map(|v| (i, v)))
        .enumerate()
        .map(|(k, (i, v))| format!("{}{:.1},{:.1}", if k == 0 { "M" } else { " L" }, x(i), y(v)))
        .collect();
    let upper: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.band.map(|(_, u)| format!("{:.1},{:.1}", x(i), y(u))))
        .collect();
    let lower: Vec<String> = points
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, p)| {
            p.band
                .map(|(l, _)| format!("{:.1},{:.1}", x(i), y(l.max(lo))))
        })
        .collect();
    let band = (!upper.is_empty()).then(|| format!("{} {}", upper.join(" "), lower.join(" ")));
    html! {
        svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" preserveAspectRatio="none" {
            line.axis x1=(PAD) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) {}
            text.tick x="2" y=(PAD) { (show(hi)) }
            text.tick x="2" y=(HEIGHT - PAD) { (show(lo)) }
            @if let Some(band) = band {
                polygon.band points=(band) {}
            }
            path.series d=(path) {}
            @for (i, p) in points.iter().enumerate() {
                @if let Some(v) = p.value {
                    circle.dot.flagged[p.flagged] cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(v))) r=(if p.flagged { 4 } else { 2 }) {
                        title { (p.label) ": " (show(v))
                            @if let Some((l, u)) = p.band { " (" (show(l)) " – " (show(u)) ")" } }
                    }
                }
            }
            @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                text.tick x=(PAD) y=(HEIGHT - 8.0) { (first.label) }
                text.tick.end x=(WIDTH - PAD) y=(HEIGHT - 8.0) { (last.label) }
            }
        }
    }
}

/// Horizontal bars, one per (label, value), scaled to the largest.
pub fn bars(rows: &[(String, f64)], show: impl Fn(f64) -> String) -> Markup {
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    html! {
        div.bars {
            @for (label, value) in rows {
                div.bar-row title=(format!("{label}: {}", show(*value))) {
                    span.bar-label { (label) }
                    span.bar-track { span.bar-fill style=(format!("width:{:.1}%", 100.0 * value / max)) {} }
                    span.bar-value { (show(*value)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_has_a_hover_value_and_flags_are_marked() {
        let points = vec![
            LinePoint {
                label: "12-01".into(),
                value: Some(10.0),
                band: Some((8.0, 12.0)),
                flagged: false,
            },
            LinePoint {
                label: "12-02".into(),
                value: None,
                band: None,
                flagged: false,
            },
            LinePoint {
                label: "12-03".into(),
                value: Some(30.0),
                band: Some((8.0, 12.0)),
                flagged: true,
            },
        ];
        let svg = line(&points, |v| format!("{v:.0}")).into_string();
        assert!(svg.contains("<title>12-01: 10 (8 – 12)</title>"), "{svg}");
        assert!(svg.contains("<title>12-03: 30 (8 – 12)</title>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("flagged").count(), 1);
        assert!(svg.contains("<polygon"));
    }

    #[test]
    fn bars_escape_their_labels() {
        let html = bars(&[("<b>".into(), 2.0)], |v| v.to_string()).into_string();
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("width:100.0%"));
    }
}
