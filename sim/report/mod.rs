//! Presenting a [`Report`]: a kubectl-like terminal summary and `report.json`;
//! the time series as CSV ([`csv`]), plots ([`plots`]) and one HTML page
//! ([`html`]); and the files of a policy comparison ([`write_comparison`]).

pub mod csv;
pub mod html;
pub mod json;
pub mod plots;

pub mod failures;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::compare::Comparison;
use crate::error::Error;
use crate::metrics::Report;

/// Render rows as aligned columns (kubectl's tabwriter style: two spaces between columns).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                let _ = write!(out, "{c:<w$}  ", w = widths[i]);
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn mib(bytes: i64) -> String {
    format!("{}Mi", bytes / (1024 * 1024))
}

/// Simulated time per wall-clock time, as `2450×` (`0.25×` when slower).
fn speed(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else {
        format!("{ratio:.2}×")
    }
}

/// The terminal summary of one run.
pub fn render_text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario {}  seed {}  scheduler {}  kubernetes {}  kubesim {}  (hash {})",
        r.scenario, r.seed, r.scheduler, r.kubernetes_version, r.kubesim_version, r.scenario_hash
    );
    let _ = writeln!(
        o,
        "simulated {:.0}s in {:.3}s wall ({} real time), {} events ({:.0} events/s)\n",
        r.simulated_seconds,
        r.wall_seconds,
        speed(r.sim_to_wall_ratio),
        r.events_processed,
        r.events_per_second
    );
    let deps: Vec<_> = r
        .workloads
        .iter()
        .filter(|w| w.kind == "Deployment")
        .collect();
    if !deps.is_empty() {
        let rows: Vec<Vec<String>> = deps
            .iter()
            .map(|w| {
                vec![
                    format!("deployment/{}", qualified(&w.namespace, &w.name)),
                    format!("{}/{}", w.ready, w.desired),
                    w.up_to_date.to_string(),
                    w.available.to_string(),
                ]
            })
            .collect();
        o.push_str(&table(&["NAME", "READY", "UP-TO-DATE", "AVAILABLE"], &rows));
        o.push('\n');
    }
    let rss: Vec<_> = r
        .workloads
        .iter()
        .filter(|w| w.kind == "ReplicaSet")
        .collect();
    if !rss.is_empty() {
        let rows: Vec<Vec<String>> = rss
            .iter()
            .map(|w| {
                vec![
                    format!("replicaset/{}", qualified(&w.namespace, &w.name)),
                    w.desired.to_string(),
                    w.current.to_string(),
                    w.ready.to_string(),
                ]
            })
            .collect();
        o.push_str(&table(&["NAME", "DESIRED", "CURRENT", "READY"], &rows));
        o.push('\n');
    }
    let others: Vec<_> = r
        .workloads
        .iter()
        .filter(|w| w.kind != "Deployment" && w.kind != "ReplicaSet")
        .collect();
    if !others.is_empty() {
        let rows: Vec<Vec<String>> = others
            .iter()
            .map(|w| {
                let status = match (w.succeeded, w.failed) {
                    (Some(s), Some(f)) => format!("{s}/{} complete, {f} failed", w.desired),
                    _ => format!("{}/{} ready", w.ready, w.desired),
                };
                vec![
                    format!(
                        "{}/{}",
                        w.kind.to_lowercase(),
                        qualified(&w.namespace, &w.name)
                    ),
                    status,
                ]
            })
            .collect();
        o.push_str(&table(&["NAME", "STATUS"], &rows));
        o.push('\n');
    }
    if !r.services.is_empty() {
        let rows: Vec<Vec<String>> = r
            .services
            .iter()
            .map(|s| {
                let mut eps = s
                    .endpoints
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",");
                if s.endpoints.len() > 3 {
                    let _ = write!(eps, " + {} more", s.endpoints.len() - 3);
                }
                if eps.is_empty() {
                    eps = "<none>".into();
                }
                vec![
                    format!("service/{}", qualified(&s.namespace, &s.name)),
                    s.service_type.clone(),
                    s.endpoints_ready.to_string(),
                    eps,
                ]
            })
            .collect();
        o.push_str(&table(&["NAME", "TYPE", "ENDPOINTS", "PODS"], &rows));
        o.push('\n');
    }
    hpas(r, &mut o);
    const MAX_NODES: usize = 20;
    let rows: Vec<Vec<String>> = r
        .nodes
        .iter()
        .take(MAX_NODES)
        .map(|n| {
            vec![
                n.name.clone(),
                if n.ready {
                    "Ready".into()
                } else {
                    "NotReady".into()
                },
                n.zone.clone().unwrap_or_else(|| "-".into()),
                n.pods.to_string(),
                format!("{}m/{}m", n.cpu_requested_milli, n.cpu_allocatable_milli),
                format!("{}/{}", mib(n.memory_requested), mib(n.memory_allocatable)),
            ]
        })
        .collect();
    o.push_str(&table(
        &[
            "NODE",
            "STATUS",
            "ZONE",
            "PODS",
            "CPU REQ/ALLOC",
            "MEMORY REQ/ALLOC",
        ],
        &rows,
    ));
    if r.nodes.len() > MAX_NODES {
        let _ = writeln!(o, "… and {} more nodes", r.nodes.len() - MAX_NODES);
    }
    o.push('\n');
    if !r.pending.is_empty() {
        let rows: Vec<Vec<String>> = r
            .pending
            .iter()
            .take(10)
            .map(|p| vec![qualified(&p.namespace, &p.name), p.reason.clone()])
            .collect();
        o.push_str(&table(&["PENDING POD", "REASON"], &rows));
        if r.pending.len() > 10 {
            let _ = writeln!(o, "… and {} more pending pods", r.pending.len() - 10);
        }
        o.push('\n');
    }
    failures::render(r, &mut o);
    let p = &r.pods;
    let _ = writeln!(
        o,
        "pods: {} created, {} scheduled, {} pending, {} failed, {} evicted, {} preempted",
        p.created, p.scheduled, p.pending_at_end, p.failed, p.evicted, p.preempted
    );
    let l = &r.scheduling.latency_seconds;
    let _ = writeln!(
        o,
        "scheduling: {} attempts; latency p50 {:.3}s  p95 {:.3}s  p99 {:.3}s  max {:.3}s",
        r.scheduling.attempts, l.p50, l.p95, l.p99, l.max
    );
    let k = &r.packing;
    let _ = writeln!(
        o,
        "packing: nodes used {} (peak {}), lower bound {}, efficiency {}; allocation cpu {} memory {}",
        k.nodes_used_end,
        k.nodes_used_peak,
        k.lower_bound_nodes,
        pct(k.efficiency),
        pct(k.allocation.cpu),
        pct(k.allocation.memory)
    );
    for n in &r.notes {
        let _ = writeln!(o, "note: {n}");
    }
    if !r.ignored_objects.is_empty() {
        let kinds: Vec<String> = r
            .ignored_objects
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let total: usize = r.ignored_objects.values().sum();
        let _ = writeln!(
            o,
            "ignored: {total} objects of kinds not simulated ({})",
            kinds.join(", ")
        );
    }
    o
}

/// kubectl's TARGETS column for an HPA: `cpu: 62%/50%`, `cpu: <unknown>/50%`.
pub(crate) fn hpa_targets(h: &crate::metrics::HpaReport) -> String {
    let mut t = match h.target_cpu_utilization {
        Some(target) => format!(
            "cpu: {}/{target}%",
            h.current_cpu_utilization
                .map_or_else(|| "<unknown>".to_string(), |c| format!("{c}%"))
        ),
        None => "<none>".to_string(),
    };
    if !h.unsimulated_metrics.is_empty() {
        let _ = write!(t, " (+{} not simulated)", h.unsimulated_metrics.len());
    }
    t
}

/// Simulated `kubectl get hpa`, then each HPA's rescales.
fn hpas(r: &Report, o: &mut String) {
    if r.hpas.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = r
        .hpas
        .iter()
        .map(|h| {
            vec![
                format!("hpa/{}", qualified(&h.namespace, &h.name)),
                h.reference.clone(),
                hpa_targets(h),
                h.min_replicas.to_string(),
                h.max_replicas.to_string(),
                h.current_replicas.to_string(),
            ]
        })
        .collect();
    o.push_str(&table(
        &[
            "NAME",
            "REFERENCE",
            "TARGETS",
            "MINPODS",
            "MAXPODS",
            "REPLICAS",
        ],
        &rows,
    ));
    const MAX_EVENTS: usize = 12;
    for h in &r.hpas {
        for e in h.scale_events.iter().take(MAX_EVENTS) {
            let _ = writeln!(
                o,
                "  hpa/{} at {}: {} → {} ({})",
                qualified(&h.namespace, &h.name),
                crate::model::duration::format_duration((e.at_seconds * 1e6).round() as u64),
                e.from,
                e.to,
                e.reason
            );
        }
        for c in h.conditions.iter().filter(|c| c.status == "False") {
            let _ = writeln!(
                o,
                "  hpa/{}: {} False ({}): {}",
                qualified(&h.namespace, &h.name),
                c.condition_type,
                c.reason,
                c.message
            );
        }
        if h.scale_events.len() > MAX_EVENTS {
            let _ = writeln!(
                o,
                "  … and {} more rescales",
                h.scale_events.len() - MAX_EVENTS
            );
        }
    }
    o.push('\n');
}

/// `kubesim explain` as tables: one row per node with its verdict and total,
/// then each feasible node's per-plugin scores.
pub fn render_explanation(e: &crate::scheduler::explain::Explanation) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "pod {} at {:.3}s, profile {} (nodes to find: {})",
        e.pod, e.at_seconds, e.profile, e.feasible_nodes_to_find
    );
    let rows: Vec<Vec<String>> = e
        .nodes
        .iter()
        .map(|n| {
            let verdict = if !n.evaluated {
                "not evaluated".to_string()
            } else if n.feasible {
                "feasible".to_string()
            } else {
                n.reasons.join("; ")
            };
            let chosen = if e.selected.as_deref() == Some(n.node.as_str()) {
                "<- selected"
            } else {
                ""
            };
            vec![
                n.node.clone(),
                verdict,
                n.total.map_or("-".into(), |t| t.to_string()),
                chosen.to_string(),
            ]
        })
        .collect();
    o.push_str(&table(&["NODE", "FILTER", "TOTAL", ""], &rows));
    let plugins: Vec<&String> = e
        .nodes
        .iter()
        .flat_map(|n| n.scores.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !plugins.is_empty() {
        o.push('\n');
        let mut header = vec!["NODE"];
        header.extend(plugins.iter().map(|p| p.as_str()));
        let rows: Vec<Vec<String>> = e
            .nodes
            .iter()
            .filter(|n| !n.scores.is_empty())
            .map(|n| {
                let mut r = vec![n.node.clone()];
                for p in &plugins {
                    r.push(n.scores.get(*p).map_or("-".into(), |s| {
                        format!("{}/{}/{}", s.raw, s.normalized, s.weighted)
                    }));
                }
                r
            })
            .collect();
        o.push_str("scores as raw/normalized/weighted\n");
        o.push_str(&table(&header, &rows));
    }
    if !e.skipped_score_plugins.is_empty() {
        let _ = writeln!(
            o,
            "skipped at PreScore: {}",
            e.skipped_score_plugins.join(", ")
        );
    }
    match (&e.selected, &e.message) {
        (Some(n), _) if e.ties.len() > 1 => {
            let _ = writeln!(
                o,
                "\nselected {n} (random choice among ties: {})",
                e.ties.join(", ")
            );
        }
        (Some(n), _) => {
            let _ = writeln!(o, "\nselected {n}");
        }
        (None, Some(m)) => {
            let _ = writeln!(o, "\nunschedulable: {m}");
        }
        (None, None) => {}
    }
    o
}

fn qualified(ns: &str, name: &str) -> String {
    if ns == "default" {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// `report.json`: indented (arrays of numbers on one line, [`json`]), with
/// a trailing newline.
pub fn to_json(r: &Report) -> String {
    let mut s = json::to_string(r);
    s.push('\n');
    s
}

/// Write the run's files into `dir`.
pub fn write_out(r: &Report, dir: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    // Streamed, as `to_json` writes it: a 10,000-node report is megabytes.
    let path = dir.join("report.json");
    let file = std::fs::File::create(&path).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    json::to_writer(&mut w, r)
        .map_err(std::io::Error::from)
        .and_then(|()| w.write_all(b"\n"))
        .and_then(|()| w.flush())
        .map_err(io)?;
    std::fs::write(dir.join("timeseries.csv"), csv::timeseries(r)).map_err(io)?;
    let figures = plots::run_plots(r);
    let svgs = plots::write_all(&figures, dir)?;
    std::fs::write(dir.join("report.html"), html::run_page(r, &figures, &svgs)).map_err(io)?;
    Ok(())
}

/// Write a comparison's files into `dir`: compare.json, summary.csv, runs.csv,
/// the bar charts (SVG and PNG) and compare.html.
pub fn write_comparison(c: &Comparison, dir: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("compare.json"), c.to_json()).map_err(io)?;
    std::fs::write(dir.join("summary.csv"), c.summary_csv()).map_err(io)?;
    std::fs::write(dir.join("runs.csv"), c.runs_csv()).map_err(io)?;
    let figures = plots::compare_plots(c);
    let svgs = plots::write_all(&figures, dir)?;
    std::fs::write(
        dir.join("compare.html"),
        html::compare_page(c, &figures, &svgs),
    )
    .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "LONGER"], &[vec!["xxxx".into(), "1".into()]]);
        assert_eq!(t, "A     LONGER\nxxxx  1\n");
    }
}
