//! The event engine: integer clock, (time, sequence)-ordered queue, seeded RNG streams.
