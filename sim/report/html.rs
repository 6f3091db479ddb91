//! `report.html` and `compare.html`: one self-contained page each (inline CSS
//! and SVG, no scripts, no network), readable in any browser and attachable to
//! a CI run as a single file.

use std::fmt::Write as _;

use crate::compare::{Better, Comparison, metric};
use crate::metrics::Report;
use crate::report::plots::Figure;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#666}.best{font-weight:bold}.bad{color:#b00}figure{margin:1em 0}figcaption{color:#666}
svg{max-width:100%;height:auto}";

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn html_table(o: &mut String, header: &[&str], rows: &[Vec<(String, &str)>]) {
    o.push_str("<table>\n<tr>");
    for h in header {
        let _ = write!(o, "<th>{}</th>", escape(h));
    }
    o.push_str("</tr>\n");
    for r in rows {
        o.push_str("<tr>");
        for (cell, class) in r {
            if class.is_empty() {
                let _ = write!(o, "<td>{}</td>", escape(cell));
            } else {
                let _ = write!(o, "<td class=\"{class}\">{}</td>", escape(cell));
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

/// Each figure's SVG (`svgs`, as `plots::write_all` rendered them, in the
/// order of `figs`) inline, with its caption.
fn figures(o: &mut String, figs: &[Figure], svgs: &[String]) {
    for (f, svg) in figs.iter().zip(svgs) {
        let start = svg.find("<svg").unwrap_or(0);
        let _ = writeln!(
            o,
            "<figure>\n{}\n<figcaption>{} (also {}.svg and {}.png)</figcaption>\n</figure>",
            &svg[start..],
            escape(&f.title),
            f.name,
            f.name
        );
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or("never".into(), |v| format!("{v:.1}s"))
}

/// The page for one run: summary, plots, failure timeline, workloads, pending pods.
pub fn run_page(r: &Report, figs: &[Figure], svgs: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<h1>kubesim: {}</h1>", escape(&r.scenario));
    let _ = writeln!(
        o,
        "<p class=\"meta\">seed {} · scheduler {} · Kubernetes {} · kubesim {} · scenario hash {} · {:.0}s simulated, {} events</p>",
        r.seed,
        escape(&r.scheduler),
        escape(&r.kubernetes_version),
        escape(&r.kubesim_version),
        escape(&r.scenario_hash),
        r.simulated_seconds,
        r.events_processed
    );
    o.push_str("<h2>Summary</h2>\n");
    let p = &r.pods;
    let l = &r.scheduling.latency_seconds;
    let k = &r.packing;
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let rows: Vec<Vec<(String, &str)>> = vec![
        vec![
            ("pods created / scheduled".into(), ""),
            (format!("{} / {}", p.created, p.scheduled), "num"),
        ],
        vec![
            ("pending at end".into(), ""),
            (
                p.pending_at_end.to_string(),
                if p.pending_at_end > 0 {
                    "num bad"
                } else {
                    "num"
                },
            ),
        ],
        vec![
            ("failed / evicted / preempted".into(), ""),
            (
                format!("{} / {} / {}", p.failed, p.evicted, p.preempted),
                "num",
            ),
        ],
        vec![
            ("scheduling attempts".into(), ""),
            (r.scheduling.attempts.to_string(), "num"),
        ],
        vec![
            ("pending time p50 / p95 / p99 / max".into(), ""),
            (
                format!(
                    "{:.3}s / {:.3}s / {:.3}s / {:.3}s",
                    l.p50, l.p95, l.p99, l.max
                ),
                "num",
            ),
        ],
        vec![
            ("nodes used at end / peak / lower bound".into(), ""),
            (
                format!(
                    "{} / {} / {}",
                    k.nodes_used_end, k.nodes_used_peak, k.lower_bound_nodes
                ),
                "num",
            ),
        ],
        vec![
            ("packing efficiency".into(), ""),
            (pct(k.efficiency), "num"),
        ],
        vec![
            ("allocation cpu / memory".into(), ""),
            (
                format!("{} / {}", pct(k.allocation.cpu), pct(k.allocation.memory)),
                "num",
            ),
        ],
        vec![
            ("cost".into(), ""),
            (
                format!("{:.3} node-hours", crate::compare::node_hours(r)),
                "num",
            ),
        ],
    ];
    html_table(&mut o, &["", ""], &rows);

    o.push_str("<h2>Plots</h2>\n");
    figures(&mut o, figs, svgs);

    o.push_str("<h2>Failure timeline</h2>\n");
    if r.recovery.is_empty() {
        o.push_str("<p>No failures in this scenario.</p>\n");
    } else {
        let rows: Vec<Vec<(String, &str)>> = r
            .recovery
            .iter()
            .map(|f| {
                vec![
                    (f.event.clone(), ""),
                    (format!("{:.1}s", f.at_seconds), "num"),
                    (secs(f.detected_seconds), "num"),
                    (secs(f.evicted_seconds), "num"),
                    (
                        secs(f.restored_seconds),
                        if f.restored_seconds.is_none() {
                            "num bad"
                        } else {
                            "num"
                        },
                    ),
                    (
                        f.restored_seconds
                            .map_or("-".into(), |t| format!("{:.1}s", t - f.at_seconds)),
                        "num",
                    ),
                    (f.pods_disrupted.to_string(), "num"),
                    (f.requests_failed.to_string(), "num"),
                ]
            })
            .collect();
        html_table(
            &mut o,
            &[
                "event",
                "at",
                "detected",
                "evicted",
                "restored",
                "recovery time",
                "pods disrupted",
                "requests failed",
            ],
            &rows,
        );
    }

    if !r.workloads.is_empty() {
        o.push_str("<h2>Workloads at end</h2>\n");
        let rows: Vec<Vec<(String, &str)>> = r
            .workloads
            .iter()
            .map(|w| {
                vec![
                    (
                        format!("{}/{}/{}", w.kind.to_lowercase(), w.namespace, w.name),
                        "",
                    ),
                    (w.desired.to_string(), "num"),
                    (
                        w.ready.to_string(),
                        if w.ready < w.desired {
                            "num bad"
                        } else {
                            "num"
                        },
                    ),
                    (w.available.to_string(), "num"),
                ]
            })
            .collect();
        html_table(
            &mut o,
            &["workload", "desired", "ready", "available"],
            &rows,
        );
    }
    if !r.services.is_empty() {
        o.push_str("<h2>Services at end</h2>\n");
        let rows: Vec<Vec<(String, &str)>> = r
            .services
            .iter()
            .map(|s| {
                vec![
                    (format!("{}/{}", s.namespace, s.name), ""),
                    (s.endpoints_ready.to_string(), "num"),
                    (s.requests.to_string(), "num"),
                    (s.failed.to_string(), "num"),
                    (format!("{:.3}%", s.availability * 100.0), "num"),
                ]
            })
            .collect();
        html_table(
            &mut o,
            &[
                "service",
                "ready endpoints",
                "requests",
                "failed",
                "availability",
            ],
            &rows,
        );
    }
    if !r.hpas.is_empty() {
        o.push_str("<h2>HorizontalPodAutoscalers at end</h2>\n");
        let rows: Vec<Vec<(String, &str)>> = r
            .hpas
            .iter()
            .map(|h| {
                vec![
                    (format!("{}/{}", h.namespace, h.name), ""),
                    (h.reference.clone(), ""),
                    (
                        super::hpa_targets(h),
                        if h.current_cpu_utilization.is_none() {
                            "bad"
                        } else {
                            ""
                        },
                    ),
                    (format!("{}–{}", h.min_replicas, h.max_replicas), "num"),
                    (h.current_replicas.to_string(), "num"),
                    (h.scale_events.len().to_string(), "num"),
                ]
            })
            .collect();
        html_table(
            &mut o,
            &[
                "hpa",
                "reference",
                "targets",
                "min–max",
                "replicas",
                "rescales",
            ],
            &rows,
        );
    }
    if !r.pending.is_empty() {
        let _ = writeln!(o, "<h2>Pending pods at end ({})</h2>", r.pending.len());
        let rows: Vec<Vec<(String, &str)>> = r
            .pending
            .iter()
            .take(50)
            .map(|p| {
                vec![
                    (format!("{}/{}", p.namespace, p.name), ""),
                    (p.reason.clone(), ""),
                ]
            })
            .collect();
        html_table(&mut o, &["pod", "reason"], &rows);
        if r.pending.len() > 50 {
            let _ = writeln!(
                o,
                "<p>… and {} more (see report.json)</p>",
                r.pending.len() - 50
            );
        }
    }
    page(&format!("kubesim: {}", r.scenario), &o)
}

/// The page for a comparison: one table and one figure per scenario.
pub fn compare_page(c: &Comparison, figs: &[Figure], svgs: &[String]) -> String {
    let mut o = String::new();
    o.push_str("<h1>kubesim: scheduler policies compared</h1>\n");
    let _ = writeln!(
        o,
        "<p class=\"meta\">kubesim {} · {} seeds per (scenario, policy) · mean ± 95% Student-t interval · best in bold; “n.s.”: Welch's t-test against the runner-up has p ≥ 0.05</p>",
        escape(&c.kubesim_version),
        c.sweep.seeds
    );
    for (sc, info) in c.summary.iter().zip(&c.sweep.scenarios) {
        let _ = writeln!(
            o,
            "<h2>{}</h2>\n<p class=\"meta\">{} · hash {}</p>",
            escape(&sc.scenario),
            escape(&info.file),
            escape(&info.content_hash)
        );
        let mut header: Vec<&str> = vec!["metric"];
        header.extend(c.sweep.schedulers.iter().map(|s| s.name.as_str()));
        header.push("note");
        let rows: Vec<Vec<(String, &str)>> = sc
            .metrics
            .iter()
            .map(|mc| {
                let m = metric(&mc.metric).expect("known metric");
                let mut row = vec![(
                    format!(
                        "{} {}",
                        m.title(),
                        if m.better == Better::Lower {
                            "↓"
                        } else {
                            "↑"
                        }
                    ),
                    "",
                )];
                for p in &mc.policies {
                    let cell = match (p.mean, p.ci95) {
                        (Some(mean), Some(hw)) => {
                            format!("{} ± {}", m.display(mean), m.display(hw))
                        }
                        _ => "-".into(),
                    };
                    let class = if mc.best.as_deref() == Some(&p.scheduler)
                        || (mc.tied.contains(&p.scheduler) && mc.tied.len() < mc.policies.len())
                    {
                        "num best"
                    } else {
                        "num"
                    };
                    row.push((cell, class));
                }
                let note = match (mc.significant, mc.p_value) {
                    (Some(false), Some(p)) => format!("n.s. (p={p:.2})"),
                    (Some(true), Some(p)) => format!("p={p:.3}"),
                    _ if mc.tied.len() == mc.policies.len() => "all equal".into(),
                    _ if !mc.tied.is_empty() => format!("tie: {}", mc.tied.join(", ")),
                    _ => String::new(),
                };
                row.push((note, ""));
                row
            })
            .collect();
        html_table(&mut o, &header, &rows);
    }
    o.push_str("<h2>Plots</h2>\n");
    figures(&mut o, figs, svgs);
    page("kubesim: scheduler policies compared", &o)
}
