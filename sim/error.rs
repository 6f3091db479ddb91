//! Errors as values, with the file, line and field they point at.
