//! Errors as values, with the file, line and field they point at.
//!
//! Bad input is the common failure of a simulator driven by hand-written YAML, so an
//! [`InputError`] carries everything a user needs to fix it without reading our code: where
//! (file, line, column, field path), what, and when we can guess it, a hint. Errors are
//! collected into [`Error`], printed once at the top, and mapped to the exit codes that
//! DESIGN.md promises (1 a check failed, 2 bad input or usage).

use std::fmt;

/// One problem in the user's input, pointing at where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, counted in characters.
    pub column: Option<usize>,
    /// Path of the offending field, e.g. `spec.cluster.nodePools[0].count`.
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            file: file.into(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

impl fmt::Display for InputError {
    /// `FILE:LINE:COL: error in FIELD: MESSAGE`, the shape compilers use, so that editors and
    /// terminals turn the location into a link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut location = self.file.clone();
        if let Some(line) = self.line {
            location = format!("{location}:{line}");
            if let Some(column) = self.column {
                location = format!("{location}:{column}");
            }
        }
        if !location.is_empty() {
            write!(f, "{location}: ")?;
        }
        match self.field.as_deref() {
            Some(field) if !field.is_empty() => write!(f, "error in {field}: {}", self.message)?,
            _ => write!(f, "error: {}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// Everything that can stop kubesim, by what the user should do about it.
#[derive(Debug)]
pub enum Error {
    /// The scenario or a manifest is wrong; all problems found, not just the first.
    Input(Vec<InputError>),
    /// The command line is wrong.
    Usage(String),
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// `kubesim check` found a regression; the message is the diff table.
    CheckFailed(String),
    /// A bug in kubesim (an invariant broke).
    Internal(String),
}

impl Error {
    /// The process exit code DESIGN.md promises to scripts and CI.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Usage(_) | Error::Io { .. } => 2,
            // Not a distinct code: scripts only distinguish "failed" from "you called it wrong".
            Error::CheckFailed(_) | Error::Internal(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Error::Usage(message) => write!(f, "error: {message}"),
            Error::Io { path, message } => write!(f, "{path}: error: {message}"),
            Error::CheckFailed(message) => write!(f, "{message}"),
            Error::Internal(message) => write!(f, "internal error (a bug in kubesim): {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}

impl From<Vec<InputError>> for Error {
    fn from(errors: Vec<InputError>) -> Self {
        Error::Input(errors)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The candidate the user most likely meant by `word`, for "did you mean X?" hints.
///
/// Case-insensitive optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions, the commonest typo). A candidate qualifies when it is within
/// `max(2, len/3)` edits and is not a complete rewrite of the word; ties go to the first
/// candidate so that hints are deterministic.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower: Vec<char> = word.to_lowercase().chars().collect();
    let limit = (lower.len() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let other: Vec<char> = candidate.to_lowercase().chars().collect();
        let d = edit_distance(&lower, &other);
        if d > limit || d >= lower.len().max(other.len()) {
            continue;
        }
        if best.is_none_or(|(best_d, _)| d < best_d) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Optimal string alignment distance: each character edited at most once.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    // Three rolling rows: transpositions look two rows back.
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn display_has_location_field_and_hint() {
        let e = InputError::new("s.yaml", "unknown field `nodePool`")
            .at(7, 5)
            .field("spec.cluster.nodePool")
            .hint("did you mean `nodePools`?");
        assert_eq!(
            e.to_string(),
            "s.yaml:7:5: error in spec.cluster.nodePool: unknown field `nodePool`\n  hint: did you mean `nodePools`?"
        );
    }

    #[test]
    fn display_omits_missing_parts() {
        assert_eq!(
            InputError::new("s.yaml", "file is empty").to_string(),
            "s.yaml: error: file is empty"
        );
        let mut e = InputError::new("s.yaml", "bad").field("spec");
        e.line = Some(3);
        assert_eq!(e.to_string(), "s.yaml:3: error in spec: bad");
        assert_eq!(InputError::new("", "bad").to_string(), "error: bad");
    }

    #[test]
    fn errors_list_every_input_problem_and_map_to_exit_codes() {
        let e = Error::Input(vec![
            InputError::new("a.yaml", "one").at(1, 1),
            InputError::new("b.yaml", "two").at(2, 3),
        ]);
        assert_eq!(
            e.to_string(),
            "a.yaml:1:1: error: one\nb.yaml:2:3: error: two"
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            Error::Io {
                path: "p".into(),
                message: "m".into()
            }
            .exit_code(),
            2
        );
        assert_eq!(Error::CheckFailed("x".into()).exit_code(), 1);
        assert_eq!(Error::Internal("x".into()).exit_code(), 1);
        let from: Error = InputError::new("f", "m").into();
        assert!(matches!(from, Error::Input(ref v) if v.len() == 1));
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(edit_distance(&chars("nodePools"), &chars("ndoePools")), 1);
        assert_eq!(edit_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(edit_distance(&chars("abc"), &chars("abc")), 0);
    }

    #[test]
    fn did_you_mean_picks_the_closest_close_candidate() {
        let fields = ["nodePools", "nodes", "zones"];
        assert_eq!(did_you_mean("nodePool", fields), Some("nodePools".into()));
        assert_eq!(did_you_mean("NODEPOOLS", fields), Some("nodePools".into()));
        assert_eq!(did_you_mean("zoens", fields), Some("zones".into()));
        assert_eq!(did_you_mean("replicas", fields), None);
        // Two edits on two letters is a different word, not a typo.
        assert_eq!(did_you_mean("ab", ["cd"]), None);
        // Ties resolve to the first candidate, deterministically.
        assert_eq!(did_you_mean("cat", ["bat", "hat"]), Some("bat".into()));
        // Three edits are too many for a six-letter word, not for a 27-letter one (limit 9).
        assert_eq!(did_you_mean("abcxyz", ["abcdef"]), None);
        assert_eq!(
            did_you_mean(
                "termnatoinGracePeriodSecnds",
                ["terminationGracePeriodSeconds"]
            ),
            Some("terminationGracePeriodSeconds".into())
        );
    }
}
