//! Typed cluster objects, quantities, arenas and indexes (the World).
pub mod duration;
pub mod labels;
pub mod quantity;
pub mod taints;
