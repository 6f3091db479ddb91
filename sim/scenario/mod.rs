//! Loading scenario files and Kubernetes manifests into the model.
pub mod yaml;
