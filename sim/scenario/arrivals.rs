//! `spec.jobArrivals`: Jobs that arrive over time, each a copy of a template
//! Job from the manifests. The template is an ordinary Job with
//! `spec.suspend: true`, so that it never runs itself (Kubernetes' own
//! meaning of a suspended Job: the controller creates no pods for it).
//!
//! ```yaml
//! jobArrivals:
//! - template: job/batch          # job/[NAMESPACE/]NAME of a suspended Job
//!   rate: 30/h                   # mean arrivals per second, minute or hour
//!   distribution: exponential    # (default) Poisson arrivals; or constant
//!   start: 10m                   # optional: arrivals after this (default 0)
//!   until: 24h                   # optional: none after this (default: the end)
//!   count: 500                   # optional: at most this many
//! ```
//!
//! Raw serde struct first (strict: unknown fields are errors with a
//! did-you-mean hint), then validated typed values, as in `scenario/mod.rs`.

use serde::Deserialize;
use serde_json::Value;

use crate::engine::Time;
use crate::error::{InputError, did_you_mean};
use crate::model::duration::{format_duration, parse_duration};
use crate::model::{JobId, World};
use crate::scenario::faults::{Rate, parse_rate};
use crate::scenario::split_object_ref;
use crate::scenario::yaml::Document;

/// How the gaps between arrivals are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalDistribution {
    /// Exponential gaps (a Poisson process), from `rand_distr::Exp`.
    Exponential,
    /// Every 1/rate exactly.
    Constant,
}

/// One entry of `spec.jobArrivals`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobArrivals {
    /// The suspended template Job.
    pub template: JobId,
    pub rate: Rate,
    pub distribution: ArrivalDistribution,
    /// Arrivals come after this time…
    pub start: Time,
    /// …and not after this one.
    pub until: Time,
    /// At most this many arrivals.
    pub count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawJobArrivals {
    template: String,
    rate: Value,
    #[serde(default)]
    distribution: Option<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    count: Option<i64>,
}

/// Resolve `job/[NAMESPACE/]NAME` to a Job of the scenario.
fn resolve_job(world: &World, s: &str) -> Result<JobId, (String, Option<String>)> {
    let Some((kind, ns, name)) = split_object_ref(s) else {
        return Err((
            format!("template {s:?} must be job/[NAMESPACE/]NAME"),
            Some("e.g. template: job/batch".into()),
        ));
    };
    if kind != "job" && kind != "jobs" {
        return Err((
            format!("template {s:?} is a {kind}: a jobArrivals template is a Job"),
            Some("name a Job with spec.suspend: true, as job/NAME".into()),
        ));
    }
    world
        .jobs
        .iter()
        .position(|j| !j.deleted && j.meta.namespace == ns && j.meta.name == name)
        .map(|i| JobId(i as u32))
        .ok_or_else(|| {
            let names = world.jobs.iter().map(|j| j.meta.name.as_str());
            (
                format!("no Job named {ns}/{name} in the scenario"),
                did_you_mean(name, names).map(|n| format!("did you mean `job/{n}`?")),
            )
        })
}

/// `spec.jobArrivals`, checked against the loaded World and the run's duration.
pub fn job_arrivals(
    world: &World,
    doc: &Document,
    file: &str,
    values: &[Value],
    duration: Time,
) -> Result<Vec<JobArrivals>, Vec<InputError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = |f: &str| format!("spec.jobArrivals[{i}].{f}");
        let raw: RawJobArrivals =
            match doc.deserialize_at(file, &format!("spec.jobArrivals[{i}]"), v) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
        let before = errors.len();
        let mut err = |f: &str, m: String, hint: Option<String>| {
            let mut e = doc.error(file, &at(f), m);
            if let Some(h) = hint {
                e = e.hint(h);
            }
            errors.push(e);
        };
        let template = match resolve_job(world, &raw.template) {
            Ok(j) if !world.jobs[j.idx()].suspend => {
                let m = &world.jobs[j.idx()].meta;
                err(
                    "template",
                    format!(
                        "Job {}/{} is a jobArrivals template but is not suspended: it would run itself",
                        m.namespace, m.name
                    ),
                    Some("set spec.suspend: true on the template Job".into()),
                );
                None
            }
            Ok(j) => Some(j),
            Err((m, hint)) => {
                err("template", m, hint);
                None
            }
        };
        let text = match &raw.rate {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let rate = match parse_rate(&text) {
            Ok(r) if r.0 > 0 => Some(r),
            Ok(_) => {
                err("rate", "rate must be positive".into(), None);
                None
            }
            Err(m) => {
                err(
                    "rate",
                    m,
                    Some("rates are written as 30/h, 2/m or 0.5/s".into()),
                );
                None
            }
        };
        let distribution = match raw.distribution.as_deref() {
            None | Some("exponential") => ArrivalDistribution::Exponential,
            Some("constant") => ArrivalDistribution::Constant,
            Some(other) => {
                let hint = did_you_mean(other, ["exponential", "constant"])
                    .map_or("use exponential or constant".into(), |s| {
                        format!("did you mean `{s}`?")
                    });
                err(
                    "distribution",
                    format!("unknown distribution {other:?}"),
                    Some(hint),
                );
                ArrivalDistribution::Exponential
            }
        };
        let mut time = |f: &str, s: &Option<String>, default: Time| match s {
            None => default,
            Some(s) => match parse_duration(s) {
                Ok(t) if t > duration => {
                    err(
                        f,
                        format!(
                            "{f} {s} is after the end of the run ({})",
                            format_duration(duration)
                        ),
                        None,
                    );
                    default
                }
                Ok(t) => t,
                Err(m) => {
                    err(
                        f,
                        m,
                        Some("durations are written as in Go: 90s, 5m, 1h30m".into()),
                    );
                    default
                }
            },
        };
        let start = time("start", &raw.start, 0);
        let until = time("until", &raw.until, duration);
        if until <= start {
            err(
                "until",
                "until must be after start".into(),
                Some("arrivals come in (start, until]".into()),
            );
        }
        let count = match raw.count {
            None => None,
            Some(n) if n >= 1 => Some(n as u64),
            Some(n) => {
                err("count", format!("count must be at least 1, got {n}"), None);
                None
            }
        };
        if errors.len() > before {
            continue;
        }
        if let (Some(template), Some(rate)) = (template, rate) {
            out.push(JobArrivals {
                template,
                rate,
                distribution,
                start,
                until,
                count,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
