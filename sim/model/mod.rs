//! Typed cluster objects, quantities, arenas and indexes (the World).
pub mod duration;
pub mod quantity;
