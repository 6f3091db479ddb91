//! The failure part of the terminal summary: Service traffic and, for each
//! failure, its recovery numbers and a timeline relative to the failure.

use std::fmt::Write as _;

use crate::metrics::Report;

fn secs(x: f64) -> String {
    let m = (x / 60.0).floor() as i64;
    if m > 0 {
        format!("{m}m{:04.1}s", x - 60.0 * m as f64)
    } else {
        format!("{x:.1}s")
    }
}

fn after(t: Option<f64>, at: f64) -> String {
    t.map_or_else(|| "never".to_string(), |t| format!("+{}", secs(t - at)))
}

/// Traffic lines, failure timelines and the mean time to recovery.
pub fn render(r: &Report, o: &mut String) {
    for s in r.services.iter().filter(|s| s.requests > 0) {
        let causes: Vec<String> = s
            .failures
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{n} {c}"))
            .collect();
        let _ = write!(
            o,
            "traffic service/{}/{}: {} requests, {} failed ({}), availability {:.4}%",
            s.namespace,
            s.name,
            s.requests,
            s.failed,
            if causes.is_empty() {
                "none".to_string()
            } else {
                causes.join(", ")
            },
            s.availability * 100.0
        );
        if let Some(l) = &s.latency_seconds {
            let _ = write!(
                o,
                "; latency p50 {:.1}ms p99 {:.1}ms",
                l.p50 * 1e3,
                l.p99 * 1e3
            );
        }
        o.push('\n');
    }
    if r.recovery.is_empty() {
        return;
    }
    if r.services.iter().any(|s| s.requests > 0) {
        o.push('\n');
    }
    for f in &r.recovery {
        let _ = writeln!(
            o,
            "FAILURE at {}: {} — detected {}, first eviction {}, restored {}; {} pods disrupted, {} requests failed",
            secs(f.at_seconds),
            f.event,
            after(f.detected_seconds, f.at_seconds),
            after(f.evicted_seconds, f.at_seconds),
            after(f.restored_seconds, f.at_seconds),
            f.pods_disrupted,
            f.requests_failed
        );
        const MAX_LINES: usize = 16;
        for e in f.timeline.iter().take(MAX_LINES) {
            let _ = writeln!(
                o,
                "  {:>10}  {}",
                format!("+{}", secs(e.t - f.at_seconds)),
                e.what
            );
        }
        if f.timeline.len() > MAX_LINES {
            let _ = writeln!(
                o,
                "  … and {} more (report.json has the whole timeline)",
                f.timeline.len() - MAX_LINES
            );
        }
    }
    match r.mean_time_to_recovery_seconds {
        Some(m) => {
            let _ = writeln!(o, "mean time to recovery: {}", secs(m));
        }
        None => {
            let _ = writeln!(o, "mean time to recovery: - (nothing restored)");
        }
    }
    o.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(secs(55.0), "55.0s");
        assert_eq!(secs(300.0), "5m00.0s");
        assert_eq!(secs(355.11), "5m55.1s");
    }
}
