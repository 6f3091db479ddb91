//! Loading scenario files and Kubernetes manifests into the model.
pub mod manifests;
pub mod podspec;
pub mod strict;
pub mod yaml;
