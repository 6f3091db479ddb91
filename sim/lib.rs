//! kubesim: a deterministic discrete-event simulator of Kubernetes clusters.
//!
//! The public API in one screen: [`scenario::load`] reads a scenario file into a
//! validated [`scenario::Scenario`], [`run::run`] simulates it and returns a
//! [`metrics::Report`].

pub mod arrivals;
pub mod check;
pub mod compare;
pub mod controllers;
pub mod engine;
pub mod error;
pub mod failures;
pub mod hash;
pub mod kubelet;
pub mod metrics;
pub mod model;
pub mod network;
pub mod report;
pub mod run;
pub mod scenario;
pub mod scheduler;
pub mod stats;
