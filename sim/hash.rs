//! The hash maps and sets used inside the simulator: std's, with foldhash's
//! fixed-seed hasher instead of SipHash with a random key.
//!
//! Keys here are node and pod ids, label keys and object names that the
//! scenario author controls, so resistance to hash flooding buys nothing,
//! and SipHash cost several percent of a scheduling-heavy run (PERFORMANCE.md).
//! Iteration order never reaches a result (results iterate sorted
//! collections or vectors), so a fixed seed changes no output.

/// `std::collections::HashMap` with foldhash's fixed-seed hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// `std::collections::HashSet` with foldhash's fixed-seed hasher.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;
