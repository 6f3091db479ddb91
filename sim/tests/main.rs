//! Integration tests: run shipped scenarios end to end.
