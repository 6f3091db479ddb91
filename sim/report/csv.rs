//! `timeseries.csv`: one row per sample of a run, for spreadsheets and pandas.
//!
//! Fixed columns first (`t_seconds`, `pending`, `running`, `nodes_used`,
//! `cpu_allocation`, `memory_allocation`), then `ready:KIND/NAMESPACE/NAME`
//! per workload, then per Service `endpoints_ready:NAMESPACE/NAME` and
//! `available:NAMESPACE/NAME` (1 while it has a ready endpoint), then per
//! HorizontalPodAutoscaler `hpa_replicas:NAMESPACE/NAME` (its target's
//! spec.replicas) and `hpa_cpu:NAMESPACE/NAME` (the utilisation it last saw,
//! percent; empty while unknown). A workload that did not exist yet at a
//! sample has an empty cell. Fields are quoted as RFC 4180 says.

use crate::compare::csv_row;
use crate::metrics::Report;

pub fn timeseries(r: &Report) -> String {
    let s = &r.series;
    let mut header: Vec<String> = [
        "t_seconds",
        "pending",
        "running",
        "nodes_used",
        "cpu_allocation",
        "memory_allocation",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    header.extend(s.workloads.iter().map(|w| format!("ready:{w}")));
    header.extend(s.services.iter().map(|x| format!("endpoints_ready:{x}")));
    header.extend(s.services.iter().map(|x| format!("available:{x}")));
    header.extend(s.hpas.iter().map(|x| format!("hpa_replicas:{x}")));
    header.extend(s.hpas.iter().map(|x| format!("hpa_cpu:{x}")));
    let mut out = String::new();
    csv_row(&mut out, &header);
    for x in &r.timeseries {
        let mut row = vec![
            x.t.to_string(),
            x.pending.to_string(),
            x.running.to_string(),
            x.nodes_used.to_string(),
            x.cpu_allocation.to_string(),
            x.memory_allocation.to_string(),
        ];
        row.extend(
            (0..s.workloads.len())
                .map(|i| x.ready.get(i).map(|v| v.to_string()).unwrap_or_default()),
        );
        row.extend((0..s.services.len()).map(|i| {
            x.endpoints_ready
                .get(i)
                .map(|v| v.to_string())
                .unwrap_or_default()
        }));
        row.extend((0..s.services.len()).map(|i| {
            x.endpoints_ready
                .get(i)
                .map(|&v| u8::from(v > 0).to_string())
                .unwrap_or_default()
        }));
        row.extend((0..s.hpas.len()).map(|i| {
            x.hpa_replicas
                .get(i)
                .map(|v| v.to_string())
                .unwrap_or_default()
        }));
        row.extend((0..s.hpas.len()).map(|i| {
            x.hpa_cpu_utilization
                .get(i)
                .copied()
                .flatten()
                .map(|v| v.to_string())
                .unwrap_or_default()
        }));
        csv_row(&mut out, &row);
    }
    out
}
