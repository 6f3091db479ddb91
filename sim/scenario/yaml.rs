//! YAML into `serde_json::Value`s that remember where every value and key came from.
//!
//! Every error kubesim reports must name a line and column, including semantic errors found
//! long after deserialization ("node `general-9` does not exist" at `spec.events[2].node`).
//! So we parse with yaml-rust2's event parser, whose events carry positions, and keep a span
//! tree beside each document's value; [`Document::locate`] walks it by field path. serde_yaml,
//! the usual choice, is deprecated by its author and drops positions once it has a value.
//! Typed values are then deserialized from the `serde_json::Value` with serde_path_to_error,
//! whose path leads back into the span tree.
//!
//! Scalars resolve as `kubectl` resolves them (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1
//! rules; follows go-yaml v2's resolve.go), not as YAML 1.2 would: `yes`, `on` and `y` are
//! booleans, `0644` is octal, and `1.0` is the integer 1 because Go's JSON encoder writes it
//! as `1`. Duplicate keys are errors, as in the API server's strict decoding.

// `InputError` is wide (its fields are the error report); errors are the cold path, so
// returning it by value costs nothing that matters, and boxing would only burden callers.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::error::{InputError, did_you_mean};

/// Values that aliases may expand to in one file. Far above any real manifest; it stops
/// a "billion laughs" file from exhausting memory (go-yaml has the same kind of guard).
const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// One YAML document of a file, with the position of each of its values.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    span: Span,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    fn of(mark: &Marker) -> Pos {
        // yaml-rust2 counts lines from 1 but columns from 0.
        Pos {
            line: mark.line(),
            column: mark.col() + 1,
        }
    }
}

/// Where one value is, and its children's spans in the same order as the value's.
#[derive(Debug, Clone)]
struct Span {
    value: Pos,
    /// The mapping key this value is under, if any: "unknown field" errors point there.
    key: Option<Pos>,
    children: Children,
}

#[derive(Debug, Clone)]
enum Children {
    Leaf,
    Seq(Vec<Span>),
    Map(Vec<(String, Span)>),
}

/// All documents of a multi-document file, skipping empty ones (only comments, or `null`,
/// which `kubectl apply` skips too).
pub fn parse_documents(file: &str, text: &str) -> Result<Vec<Document>, InputError> {
    if let Some(index) = text.find('\0') {
        let (line, column) = line_col(text, index);
        return Err(
            InputError::new(file, "file contains NUL bytes: it looks binary, not YAML")
                .at(line, column),
        );
    }
    // Editors on Windows write a byte-order mark; go-yaml skips it, and so must we.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut events = Events::default();
    Parser::new_from_str(text)
        .load(&mut events, true)
        .map_err(|e| syntax_error(file, text, &e))?;

    let mut builder = Builder {
        file,
        events: events.0.into_iter(),
        anchors: HashMap::new(),
        expanded: 0,
        path: String::new(),
    };
    let mut documents = Vec::new();
    while let Some((event, _)) = builder.events.next() {
        if event != Event::DocumentStart {
            continue;
        }
        let (event, mark) = builder.next()?;
        let (value, span) = builder.node(event, mark)?;
        // Anchors do not reach across documents.
        builder.anchors.clear();
        if !value.is_null() {
            documents.push(Document { value, span });
        }
    }
    if documents.is_empty() {
        return Err(InputError::new(
            file,
            "file has no YAML documents: it is empty or only comments",
        )
        .at(1, 1));
    }
    Ok(documents)
}

/// [`parse_documents`] for raw file contents: rejects binary files and invalid UTF-8 with
/// the position of the first bad byte, and decodes UTF-16 with a byte-order mark (what
/// PowerShell's `>` writes, and what go-yaml accepts).
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Vec<Document>, InputError> {
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, u16::from_le_bytes as fn([u8; 2]) -> u16)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, u16::from_be_bytes as fn([u8; 2]) -> u16)),
        _ => None,
    };
    if let Some((rest, decode)) = utf16 {
        let units = rest.chunks(2).map(|pair| match pair {
            [a, b] => decode([*a, *b]),
            // An odd trailing byte decodes as an unpaired surrogate, so it is reported below.
            _ => 0xD800,
        });
        let text: Result<String, _> = char::decode_utf16(units).collect();
        return match text {
            Ok(text) => parse_documents(file, &text),
            Err(_) => Err(InputError::new(
                file,
                "file starts with a UTF-16 byte-order mark but is not valid UTF-16",
            )
            .at(1, 1)
            .hint("save the file as UTF-8")),
        };
    }
    if let Some(index) = bytes.iter().position(|&b| b == 0) {
        let prefix = String::from_utf8_lossy(&bytes[..index]);
        let (line, column) = line_col(&prefix, prefix.len());
        return Err(
            InputError::new(file, "file contains NUL bytes: it looks binary, not YAML")
                .at(line, column),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_documents(file, text),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let prefix = String::from_utf8_lossy(valid);
            let (line, column) = line_col(&prefix, prefix.len());
            let bad = bytes[e.valid_up_to()];
            Err(
                InputError::new(file, format!("file is not valid UTF-8 (byte 0x{bad:02X})"))
                    .at(line, column)
                    .hint("save the file as UTF-8"),
            )
        }
    }
}

impl Document {
    /// Line of the document's first value, to point at a document as a whole.
    pub fn start_line(&self) -> usize {
        self.span.value.line
    }

    /// Line and column of the value at `path` (`spec.containers[0].resources.requests.cpu`,
    /// or serde_path_to_error's rendering of the same). An absent path gives its nearest
    /// existing ancestor, so an error always lands somewhere useful.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        let (span, _) = self.find(path);
        (span.value.line, span.value.column)
    }

    /// Line and column of the mapping key of the field at `path`, where "unknown field" and
    /// "missing field" errors should point; falls back to [`Document::locate`].
    pub fn locate_key(&self, path: &str) -> (usize, usize) {
        match self.find(path) {
            (Span { key: Some(key), .. }, true) => (key.line, key.column),
            (span, _) => (span.value.line, span.value.column),
        }
    }

    /// A located error about the value at `path`, for checks done after deserialization.
    pub fn error(&self, file: &str, path: &str, message: impl Into<String>) -> InputError {
        let (line, column) = self.locate(path);
        with_field(InputError::new(file, message).at(line, column), path)
    }

    /// The whole document as a `T`; errors name the field, its position, and for a
    /// misspelt field or variant the name that was probably meant.
    pub fn deserialize<T: DeserializeOwned>(&self, file: &str) -> Result<T, InputError> {
        self.deserialize_at(file, "", &self.value)
    }

    /// `value`, the sub-tree at `path` of this document, as a `T`. Error paths are prefixed
    /// with `path`, so that they read and locate as paths from the document's root.
    pub fn deserialize_at<T: DeserializeOwned>(
        &self,
        file: &str,
        path: &str,
        value: &Value,
    ) -> Result<T, InputError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            self.deserialize_error(file, &join_path(path, &inner), &e.inner().to_string())
        })
    }

    fn deserialize_error(&self, file: &str, path: &str, message: &str) -> InputError {
        if let Some((name, expected)) = parse_unknown(message, "unknown field `") {
            // serde_path_to_error's path usually ends at the unknown key already, but not
            // when the error comes from a buffered (flattened or tagged) struct.
            let field = if path == name || path.ends_with(&format!(".{name}")) {
                path.to_string()
            } else {
                join_path(path, name)
            };
            let (line, column) = self.locate_key(&field);
            let error = InputError::new(file, format!("unknown field `{name}`"))
                .at(line, column)
                .field(field);
            return suggest(error, name, &expected);
        }
        if let Some((name, expected)) = parse_unknown(message, "unknown variant `") {
            let error = self.error(file, path, format!("unknown variant `{name}`"));
            return suggest(error, name, &expected);
        }
        if message.starts_with("missing field") {
            // The parent's key line reads better than its first child's line.
            let (line, column) = self.locate_key(path);
            return with_field(InputError::new(file, message).at(line, column), path);
        }
        if message.starts_with("invalid type: boolean") && message.contains("expected a string") {
            // kubectl reads YAML 1.1, where an unquoted y/n/yes/no/on/off is a boolean.
            return self.error(file, path, message).hint(
                "quote the value: YAML reads unquoted y, n, yes, no, on and off as booleans",
            );
        }
        self.error(file, path, message)
    }

    /// The deepest span along `path`, and whether all of `path` was found.
    fn find(&self, path: &str) -> (&Span, bool) {
        let mut span = &self.span;
        let mut rest = path.strip_prefix('.').unwrap_or(path);
        loop {
            if rest.is_empty() {
                return (span, true);
            }
            let next = match &span.children {
                // Keys may contain dots (`node.kubernetes.io/instance-type`), so instead of
                // splitting the path, take the longest key that the path continues with.
                Children::Map(entries) => entries
                    .iter()
                    .filter(|(key, _)| {
                        rest.starts_with(key.as_str())
                            && matches!(rest.as_bytes().get(key.len()), None | Some(b'.' | b'['))
                    })
                    .max_by_key(|(key, _)| key.len())
                    .map(|(key, child)| (child, &rest[key.len()..])),
                Children::Seq(items) => {
                    let (digits, after) = match rest.strip_prefix('[') {
                        Some(inner) => match inner.split_once(']') {
                            Some((digits, after)) => (digits, after),
                            None => return (span, false),
                        },
                        None => {
                            let end = rest.find(['.', '[']).unwrap_or(rest.len());
                            (&rest[..end], &rest[end..])
                        }
                    };
                    digits
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| items.get(i))
                        .map(|child| (child, after))
                }
                Children::Leaf => None,
            };
            match next {
                Some((child, after)) => {
                    span = child;
                    rest = after.strip_prefix('.').unwrap_or(after);
                }
                None => return (span, false),
            }
        }
    }
}

/// The root has no field name worth printing.
fn with_field(error: InputError, path: &str) -> InputError {
    if path.is_empty() || path == "." {
        error
    } else {
        error.field(path)
    }
}

/// The hint for a misspelt name: the likely intended one, or else all the valid ones.
fn suggest(error: InputError, name: &str, expected: &[&str]) -> InputError {
    if let Some(closest) = did_you_mean(name, expected.iter().copied()) {
        error.hint(format!("did you mean `{closest}`?"))
    } else if expected.is_empty() {
        error
    } else {
        let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
        error.hint(format!("expected one of {}", list.join(", ")))
    }
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or
/// "there are no fields") into the name and the expected names.
fn parse_unknown<'m>(message: &'m str, prefix: &str) -> Option<(&'m str, Vec<&'m str>)> {
    let rest = message.strip_prefix(prefix)?;
    let (name, rest) = rest.split_once('`')?;
    // Between backticks, every second piece is a name; the others are ", " separators.
    let expected = rest.split('`').skip(1).step_by(2).collect();
    Some((name, expected))
}

fn join_path(prefix: &str, path: &str) -> String {
    let path = path.strip_prefix('.').unwrap_or(path);
    if prefix.is_empty() || prefix == "." {
        path.to_string()
    } else if path.is_empty() {
        prefix.to_string()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}

/// Paths of fields present in `original` but lost in `roundtrip` (the same object through a
/// typed struct that ignores unknown fields, serialized back): the fields that the type
/// does not define. Empty values are skipped, since serializers drop those legitimately;
/// a map that became a scalar (IntOrString, Quantity) is a different encoding, not a loss.
pub fn unknown_fields(original: &Value, roundtrip: &Value) -> Vec<String> {
    let mut found = Vec::new();
    compare(original, roundtrip, &mut String::new(), &mut found);
    found
}

fn compare(original: &Value, roundtrip: &Value, path: &mut String, found: &mut Vec<String>) {
    let len = path.len();
    match (original, roundtrip) {
        (Value::Object(original), Value::Object(roundtrip)) => {
            for (key, value) in original {
                if is_empty(value) {
                    continue;
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match roundtrip.get(key) {
                    None => found.push(path.clone()),
                    Some(kept) => compare(value, kept, path, found),
                }
                path.truncate(len);
            }
        }
        // Lists of different lengths cannot be matched element by element.
        (Value::Array(original), Value::Array(roundtrip)) if original.len() == roundtrip.len() => {
            for (i, (value, kept)) in original.iter().zip(roundtrip).enumerate() {
                path.push_str(&format!("[{i}]"));
                compare(value, kept, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[derive(Default)]
struct Events(Vec<(Event, Marker)>);

impl MarkedEventReceiver for Events {
    fn on_event(&mut self, event: Event, mark: Marker) {
        self.0.push((event, mark));
    }
}

/// Builds values and spans from the parser's events, which are already well-nested.
struct Builder<'f> {
    file: &'f str,
    events: std::vec::IntoIter<(Event, Marker)>,
    anchors: HashMap<usize, Anchored>,
    /// Values copied by aliases so far, against [`MAX_ALIAS_EXPANSION`].
    expanded: usize,
    /// Path of the node being built, for errors found while building.
    path: String,
}

struct Anchored {
    value: Value,
    span: Span,
    size: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), InputError> {
        self.events
            .next()
            .ok_or_else(|| InputError::new(self.file, "unexpected end of YAML"))
    }

    fn error(&self, at: Pos, message: impl Into<String>) -> InputError {
        with_field(
            InputError::new(self.file, message).at(at.line, at.column),
            &self.path,
        )
    }

    fn node(&mut self, event: Event, mark: Marker) -> Result<(Value, Span), InputError> {
        let mut at = Pos::of(&mark);
        let (anchor, value, children) = match event {
            Event::Alias(id) => return self.alias(id, at),
            Event::Scalar(text, style, anchor, tag) => (
                anchor,
                resolve_scalar(text, style, tag.as_ref()),
                Children::Leaf,
            ),
            Event::SequenceStart(anchor, _) => {
                let (items, spans) = self.sequence()?;
                at = collection_start(at, spans.first().map(|s| s.value));
                (anchor, Value::Array(items), Children::Seq(spans))
            }
            Event::MappingStart(anchor, _) => {
                let (map, spans, first_key) = self.mapping()?;
                at = collection_start(at, first_key);
                (anchor, Value::Object(map), Children::Map(spans))
            }
            other => return Err(self.error(at, format!("unexpected YAML event {other:?}"))),
        };
        let span = Span {
            value: at,
            key: None,
            children,
        };
        // yaml-rust2 numbers anchors from 1; 0 means none.
        if anchor > 0 {
            let size = count_values(&value);
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    span: span.clone(),
                    size,
                },
            );
        }
        Ok((value, span))
    }

    fn alias(&mut self, id: usize, at: Pos) -> Result<(Value, Span), InputError> {
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(self.error(
                at,
                "alias to an anchor that is not defined earlier in this document",
            ));
        };
        self.expanded += anchored.size;
        if self.expanded > MAX_ALIAS_EXPANSION {
            return Err(self.error(
                at,
                format!("aliases expand to more than {MAX_ALIAS_EXPANSION} values"),
            ));
        }
        let value = anchored.value.clone();
        let mut span = anchored.span.clone();
        // Errors about this copy should point at the alias; its insides are only in the anchor.
        span.value = at;
        Ok((value, span))
    }

    fn sequence(&mut self) -> Result<(Vec<Value>, Vec<Span>), InputError> {
        let mut items = Vec::new();
        let mut spans = Vec::new();
        loop {
            let (event, mark) = self.next()?;
            if event == Event::SequenceEnd {
                return Ok((items, spans));
            }
            let len = self.path.len();
            self.path.push_str(&format!("[{}]", items.len()));
            let (value, span) = self.node(event, mark)?;
            self.path.truncate(len);
            items.push(value);
            spans.push(span);
        }
    }

    /// The entries, their spans, and where the first key is written.
    fn mapping(&mut self) -> Result<MappingParts, InputError> {
        let mut first_key = None;
        let mut map = Map::new();
        let mut spans: Vec<(String, Span)> = Vec::new();
        let mut merges = Vec::new();
        loop {
            let (event, mark) = self.next()?;
            if event == Event::MappingEnd {
                break;
            }
            let key_at = Pos::of(&mark);
            first_key.get_or_insert(key_at);
            let is_merge =
                matches!(&event, Event::Scalar(text, TScalarStyle::Plain, _, None) if text == "<<");
            let (key, _) = self.node(event, mark)?;
            let Some(key) = key_string(&key) else {
                return Err(self.error(key_at, "a mapping key must be a string, number or boolean"));
            };
            if !is_merge && map.contains_key(&key) {
                let first = spans
                    .iter()
                    .find(|(k, _)| *k == key)
                    .and_then(|(_, s)| s.key);
                let mut error = self
                    .error(key_at, format!("duplicate field \"{key}\""))
                    .field(join_path(&self.path, &key));
                if let Some(first) = first {
                    error =
                        error.hint(format!("\"{key}\" is first defined at line {}", first.line));
                }
                return Err(error);
            }

            let len = self.path.len();
            if !is_merge {
                self.path = join_path(&self.path, &key);
            }
            let (event, mark) = self.next()?;
            let built = self.node(event, mark);
            self.path.truncate(len);
            let (value, mut span) = built?;

            if is_merge {
                merges.push((key_at, value, span));
            } else {
                span.key = Some(key_at);
                map.insert(key.clone(), value);
                spans.push((key, span));
            }
        }
        // Keys written in the mapping win over merged ones wherever they appear, and earlier
        // merge sources win over later ones (the YAML merge-key rules).
        for (at, value, span) in merges {
            let sources: Vec<(Value, Span)> = match (value, span.children) {
                (Value::Array(items), Children::Seq(item_spans)) => {
                    items.into_iter().zip(item_spans).collect()
                }
                (value, children) => vec![(value, Span { children, ..span })],
            };
            for source in sources {
                let (Value::Object(entries), Children::Map(entry_spans)) =
                    (source.0, source.1.children)
                else {
                    return Err(
                        self.error(at, "a merge key `<<` takes a mapping or a list of mappings")
                    );
                };
                for ((key, value), (_, span)) in entries.into_iter().zip(entry_spans) {
                    if !map.contains_key(&key) {
                        map.insert(key.clone(), value);
                        spans.push((key, span));
                    }
                }
            }
        }
        Ok((map, spans, first_key))
    }
}

type MappingParts = (Map<String, Value>, Vec<(String, Span)>, Option<Pos>);

/// yaml-rust2 marks a block mapping at the `:` of its first key, and an indentless
/// sequence after its first `-`; the first child's own position is where a reader looks.
fn collection_start(mark: Pos, first_child: Option<Pos>) -> Pos {
    first_child.map_or(mark, |first| first.min(mark))
}

/// sigs.k8s.io/yaml turns non-string keys into strings the same way (`true`, `1`).
fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn count_values(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_values).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_values).sum::<usize>(),
        _ => 1,
    }
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag
        && tag.handle == "tag:yaml.org,2002:"
    {
        match tag.suffix.as_str() {
            "str" => return Value::String(text),
            "int" | "float" | "bool" | "null" => return resolve_plain(text),
            _ => {}
        }
    }
    match style {
        TScalarStyle::Plain => resolve_plain(text),
        // Quoted and block scalars are strings whatever they look like.
        _ => Value::String(text),
    }
}

/// go-yaml v2's resolution of an untagged plain scalar, as `kubectl` sees it. One
/// departure: `.inf` and `.nan` are floats to go-yaml, which kubectl then fails to encode
/// as JSON; here they stay strings, so the field's own type decides whether they are valid.
fn resolve_plain(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    match resolve_number(&text) {
        Some(number) => Value::Number(number),
        None => Value::String(text),
    }
}

fn resolve_number(text: &str) -> Option<Number> {
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return None;
    }
    // go-yaml drops underscores before trying any number syntax.
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(number) = parse_go_int(&plain) {
        return Some(number);
    }
    if is_yaml_float(&plain) {
        return plain.parse::<f64>().ok().and_then(float_number);
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint`: optional sign, `0x`/`0o`/`0b`
/// prefixes, and a leading `0` meaning octal (so `defaultMode: 0644` is 420).
fn parse_go_int(plain: &str) -> Option<Number> {
    let (negative, unsigned) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain),
    };
    let prefixed = |lower: &str, upper: &str| {
        unsigned
            .strip_prefix(lower)
            .or_else(|| unsigned.strip_prefix(upper))
    };
    let (radix, digits) = if let Some(digits) = prefixed("0x", "0X") {
        (16, digits)
    } else if let Some(digits) = prefixed("0o", "0O") {
        (8, digits)
    } else if let Some(digits) = prefixed("0b", "0B") {
        (2, digits)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = i64::try_from(-i128::try_from(magnitude).ok()?).ok()?;
        Some(Number::from(value))
    } else if let Ok(value) = i64::try_from(magnitude) {
        Some(Number::from(value))
    } else {
        u64::try_from(magnitude).ok().map(Number::from)
    }
}

/// go-yaml v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, spelled out to
/// keep Rust's float parser from accepting `inf`, `NaN` and friends.
fn is_yaml_float(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == bytes.len()
}

/// A float as it comes out of kubectl's YAML→JSON step: Go's encoder writes integral values
/// below 1e21 without a fraction (`1.0` → `1`, `1e3` → `1000`), which then decode as
/// integers; larger ones keep their exponent and stay floats.
fn float_number(f: f64) -> Option<Number> {
    if !f.is_finite() {
        // Out of range (`1e400`): Go's ParseFloat fails and the scalar stays a string.
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Both bounds are exact powers of two, so the comparisons are exact.
        if f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
            return Some(Number::from(f as i64));
        }
        if f >= 0.0 && f < 2f64.powi(64) {
            return Some(Number::from(f as u64));
        }
    }
    Number::from_f64(f)
}

fn syntax_error(file: &str, text: &str, error: &ScanError) -> InputError {
    let at = Pos::of(error.marker());
    let error =
        InputError::new(file, format!("invalid YAML: {}", error.info())).at(at.line, at.column);
    // Tab indentation is the commonest cause, and the parser's message does not say so.
    let near = text.lines().skip(at.line.saturating_sub(2)).take(2);
    if near
        .into_iter()
        .any(|line| line.trim_start_matches(' ').starts_with('\t'))
    {
        error.hint("YAML indentation must use spaces, not tabs")
    } else {
        error
    }
}

/// 1-based line and column (in characters) of byte `index` of `text`.
fn line_col(text: &str, index: usize) -> (usize, usize) {
    let before = &text[..index];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn parse(text: &str) -> Vec<Document> {
        parse_documents("test.yaml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_error(text: &str) -> InputError {
        match parse_documents("test.yaml", text) {
            Ok(docs) => panic!(
                "expected an error, got {:?}",
                docs.iter().map(|d| &d.value).collect::<Vec<_>>()
            ),
            Err(e) => e,
        }
    }

    const TWO_DOCUMENTS: &str = "\
# A scenario and a manifest in one file.
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  cluster:
    nodePools:
    - name: general
      count: 6
      labels: {node.kubernetes.io/instance-type: m5.xlarge}
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: web
        resources:
          requests:
            cpu: 500m
";

    #[test]
    fn positions_of_nested_fields_across_documents() {
        let docs = parse(TWO_DOCUMENTS);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].start_line(), 2);
        assert_eq!(docs[1].start_line(), 11);

        let scenario = &docs[0];
        assert_eq!(
            scenario.value["spec"]["cluster"]["nodePools"][0]["count"],
            json!(6)
        );
        // "      count: 6": the value is at column 14, its key at column 7.
        assert_eq!(scenario.locate("spec.cluster.nodePools[0].count"), (8, 14));
        assert_eq!(
            scenario.locate_key("spec.cluster.nodePools[0].count"),
            (8, 7)
        );
        // serde_path_to_error writes the root as "." and paths without a leading dot.
        assert_eq!(scenario.locate("."), (2, 1));
        // A block collection is where its first entry is.
        assert_eq!(scenario.locate("spec.cluster.nodePools[0]"), (7, 7));
        assert_eq!(scenario.locate_key("spec.cluster"), (5, 3));
        // Keys may contain dots; the longest matching key wins.
        let label = "spec.cluster.nodePools[0].labels.node.kubernetes.io/instance-type";
        assert_eq!(scenario.locate(label), (9, 50));
        assert_eq!(scenario.locate_key(label), (9, 16));

        let manifest = &docs[1];
        let cpu = "spec.template.spec.containers[0].resources.requests.cpu";
        assert_eq!(
            manifest
                .value
                .pointer("/spec/template/spec/containers/0/resources/requests/cpu"),
            Some(&json!("500m"))
        );
        assert_eq!(manifest.locate(cpu), (20, 18));
        assert_eq!(manifest.locate_key(cpu), (20, 13));
    }

    #[test]
    fn absent_paths_locate_their_nearest_ancestor() {
        let docs = parse(TWO_DOCUMENTS);
        let containers = docs[1].locate("spec.template.spec.containers");
        assert_eq!(containers, (17, 9));
        assert_eq!(
            docs[1].locate("spec.template.spec.containers[3].image"),
            containers
        );
        assert_eq!(
            docs[1].locate_key("spec.template.spec.containers[0].image"),
            (17, 9)
        );
        // Descending into a scalar stops at the scalar.
        assert_eq!(docs[0].locate("kind.foo"), (3, 7));
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let e = parse_error("a: 1\n  b: 2\n");
        assert_eq!(
            (e.file.as_str(), e.line, e.column),
            ("test.yaml", Some(2), Some(4))
        );
        assert!(e.message.contains("mapping values are not allowed"), "{e}");
        assert_eq!(e.hint, None);

        // Lines count from the top of the file, not of the document.
        let e = parse_error("a: 1\n---\nb: 'unterminated\n");
        assert_eq!((e.line, e.column), (Some(3), Some(4)));

        let e = parse_error("a:\n\tb: 1\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.hint.as_deref(),
            Some("YAML indentation must use spaces, not tabs")
        );
    }

    #[test]
    fn duplicate_keys_are_rejected_like_strict_decoding() {
        let e = parse_error("metadata:\n  name: a\n  labels:\n    app: x\n    app: y\n");
        assert_eq!(e.message, "duplicate field \"app\"");
        assert_eq!((e.line, e.column), (Some(5), Some(5)));
        assert_eq!(e.field.as_deref(), Some("metadata.labels.app"));
        assert_eq!(
            e.hint.as_deref(),
            Some("\"app\" is first defined at line 4")
        );
        // Keys that only look the same after resolution collide too (`on` is true).
        assert_eq!(
            parse_error("true: 1\non: 2\n").message,
            "duplicate field \"true\""
        );
    }

    #[test]
    fn empty_binary_and_badly_encoded_files_are_rejected() {
        for text in ["", "# only\n# comments\n", "---\n---\n", "~\n"] {
            let e = parse_error(text);
            assert!(e.message.contains("empty"), "{text:?}: {e}");
            assert_eq!(e.line, Some(1));
        }

        let e = parse_bytes("bin", b"a: 1\nb\x00\x01\x02").unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
        assert_eq!((e.line, e.column), (Some(2), Some(2)));

        let e = parse_bytes("latin1", b"a: 1\nb: caf\xe9\n").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
        assert_eq!((e.line, e.column), (Some(2), Some(7)));

        // What PowerShell's `kubectl get nodes -o yaml > nodes.yaml` writes.
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("a: 1\nb: é\n".encode_utf16().flat_map(u16::to_le_bytes));
        let docs = parse_bytes("ps.yaml", &utf16).unwrap();
        assert_eq!(docs[0].value, json!({"a": 1, "b": "é"}));

        let docs = parse_bytes("bom.yaml", "\u{feff}a: 1\n".as_bytes()).unwrap();
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[0].locate("a"), (1, 4));
    }

    #[test]
    fn scalars_resolve_as_kubectl_resolves_them() {
        let docs = parse(
            "\
bools: [yes, Off, TRUE, n, Y, on, False]
nulls: [~, null, NULL, Null]
empty:
ints: [42, -7, +3, 0x1F, 0644, 0o17, 0b101, 1_000, 9223372036854775808, 18446744073709551615]
floats: [1.5, -0.25, .5, 1e-3]
integral_floats: [2.0, 1e3, 1., 08]
huge: [1e21, 18446744073709551616]
not_json_numbers: [.inf, -.Inf, .nan, 1e400]
quoted: [\"true\", '42', \"~\", '']
literal: |
  yes
folded: >-
  1.5
strings: [1.2.3, 500m, 2Gi, 0x, 1h30m, 2024-01-01, yes please]
tagged: [!!str 123, !!str true, !!int \"7\"]
on: key resolves to a bool, then to its JSON text
",
        );
        let v = &docs[0].value;
        assert_eq!(
            v["bools"],
            json!([true, false, true, false, true, true, false])
        );
        assert_eq!(v["nulls"], json!([null, null, null, null]));
        assert_eq!(v["empty"], json!(null));
        assert_eq!(
            v["ints"],
            json!([
                42,
                -7,
                3,
                31,
                420,
                15,
                5,
                1000,
                9223372036854775808u64,
                18446744073709551615u64
            ])
        );
        assert_eq!(v["floats"], json!([1.5, -0.25, 0.5, 0.001]));
        // Go's JSON encoder writes integral floats as integers, so kubectl sends `2`.
        assert_eq!(v["integral_floats"], json!([2, 1000, 1, 8]));
        assert!(
            v["integral_floats"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_i64)
        );
        assert_eq!(v["huge"], json!([1e21, 18446744073709551616.0]));
        assert_eq!(
            v["not_json_numbers"],
            json!([".inf", "-.Inf", ".nan", "1e400"])
        );
        assert_eq!(v["quoted"], json!(["true", "42", "~", ""]));
        assert_eq!(
            (&v["literal"], &v["folded"]),
            (&json!("yes\n"), &json!("1.5"))
        );
        assert_eq!(
            v["strings"],
            json!([
                "1.2.3",
                "500m",
                "2Gi",
                "0x",
                "1h30m",
                "2024-01-01",
                "yes please"
            ])
        );
        assert_eq!(v["tagged"], json!(["123", "true", 7]));
        assert!(v.get("true").is_some_and(Value::is_string));
    }

    #[test]
    fn anchors_and_merge_keys_expand_with_explicit_keys_winning() {
        let docs = parse(
            "\
base: &base {cpu: \"1\", memory: 1Gi}
pool:
  memory: 2Gi
  <<: [*base, {cpu: \"9\", gpu: 1}]
  name: big
copy: *base
",
        );
        let v = &docs[0].value;
        assert_eq!(
            v["pool"],
            json!({"memory": "2Gi", "name": "big", "cpu": "1", "gpu": 1})
        );
        assert_eq!(v["copy"], json!({"cpu": "1", "memory": "1Gi"}));
        // The alias is where `copy` is; its insides are where the anchor wrote them.
        assert_eq!(docs[0].locate("copy"), (6, 7));
        assert_eq!(docs[0].locate("copy.memory"), (1, 32));
        assert_eq!(docs[0].locate("pool.gpu"), (4, 31));

        let e = parse_error("a: &a 1\nb:\n  <<: *a\n");
        assert!(e.message.contains("merge key"), "{e}");
        assert_eq!(
            (e.line, e.column, e.field.as_deref()),
            (Some(3), Some(3), Some("b"))
        );
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in [("b", "a"), ("c", "b"), ("d", "c"), ("e", "d"), ("f", "e")] {
            let refs = vec![format!("*{previous}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = parse_error(&text);
        assert!(e.message.contains("aliases expand"), "{e}");
        assert_eq!(e.line, Some(6));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Scenario {
        api_version: String,
        kind: String,
        spec: Spec,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Spec {
        seed: u64,
        cluster: Cluster,
        #[serde(default)]
        events: Vec<ScenarioEvent>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Cluster {
        node_pools: Vec<NodePool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct NodePool {
        name: String,
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct ScenarioEvent {
        action: Action,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Action {
        FailNode,
        RecoverNode,
    }

    fn scenario(cluster: &str) -> String {
        format!(
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  seed: 42\n  cluster:\n{cluster}"
        )
    }

    #[test]
    fn deserialize_accepts_a_valid_document() {
        let docs = parse(&scenario(
            "    nodePools:\n    - {name: general, count: 6}\n  events:\n  - action: recoverNode\n",
        ));
        let parsed: Scenario = docs[0].deserialize("s.yaml").unwrap();
        assert_eq!(
            (parsed.api_version.as_str(), parsed.kind.as_str()),
            ("kubesim.dev/v1alpha1", "Scenario")
        );
        assert_eq!(parsed.spec.seed, 42);
        assert!(matches!(
            parsed.spec.events[..],
            [ScenarioEvent {
                action: Action::RecoverNode
            }]
        ));
        assert_eq!(parsed.spec.cluster.node_pools[0].name, "general");
        assert_eq!(parsed.spec.cluster.node_pools[0].count, 6);
    }

    #[test]
    fn unknown_field_points_at_the_key_and_suggests_the_known_one() {
        let docs = parse(&scenario(
            "    nodePool:\n    - name: general\n      count: 6\n",
        ));
        let e = docs[0].deserialize::<Scenario>("s.yaml").unwrap_err();
        assert_eq!(e.message, "unknown field `nodePool`");
        assert_eq!(e.field.as_deref(), Some("spec.cluster.nodePool"));
        assert_eq!(
            (e.file.as_str(), e.line, e.column),
            ("s.yaml", Some(6), Some(5))
        );
        assert_eq!(e.hint.as_deref(), Some("did you mean `nodePools`?"));

        // Nothing close: list what is accepted instead.
        let docs = parse("spec:\n  seed: 42\n  cluster: {nodePools: [], zones: 3}\n");
        let e = docs[0].deserialize::<Scenario>("s.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("spec.cluster.zones"));
        assert_eq!((e.line, e.column), (Some(3), Some(28)));
        assert_eq!(e.hint.as_deref(), Some("expected one of `nodePools`"));
    }

    #[test]
    fn unknown_variant_suggests_the_known_one() {
        let docs =
            parse("spec:\n  seed: 1\n  cluster: {nodePools: []}\n  events:\n  - action: failNod\n");
        let e = docs[0].deserialize::<Scenario>("s.yaml").unwrap_err();
        assert_eq!(e.message, "unknown variant `failNod`");
        assert_eq!(e.field.as_deref(), Some("spec.events[0].action"));
        assert_eq!((e.line, e.column), (Some(5), Some(13)));
        assert_eq!(e.hint.as_deref(), Some("did you mean `failNode`?"));
    }

    #[test]
    fn type_errors_report_the_line_of_the_value() {
        let docs = parse(&scenario(
            "    nodePools:\n    - name: general\n      count: six\n",
        ));
        let e = docs[0]
            .deserialize_at::<Spec>("s.yaml", "spec", &docs[0].value["spec"])
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("spec.cluster.nodePools[0].count"));
        assert_eq!((e.line, e.column), (Some(8), Some(14)));
        assert!(e.message.starts_with("invalid type: string \"six\""), "{e}");

        let e = docs[0].deserialize::<Scenario>("s.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("spec.cluster.nodePools[0].count"));
        assert!(
            e.to_string()
                .starts_with("s.yaml:8:14: error in spec.cluster.nodePools[0].count: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn missing_field_points_at_the_parent_key() {
        let docs = parse(&scenario("    {}\n"));
        let e = docs[0]
            .deserialize_at::<Spec>("s.yaml", "spec", &docs[0].value["spec"])
            .unwrap_err();
        assert_eq!(e.message, "missing field `nodePools`");
        assert_eq!(e.field.as_deref(), Some("spec.cluster"));
        assert_eq!((e.line, e.column), (Some(5), Some(3)));
    }

    #[test]
    fn unknown_fields_finds_what_the_roundtrip_lost() {
        let original = json!({
            "metadata": {"name": "web", "annotations": {}, "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {
                "replicas": 2,
                "strategy": {"rollingUpdate": {"maxSurge": {"odd": 1}}},
                "template": {"spec": {
                    "containers": [
                        {"name": "web", "imagePullPolicyy": "Always", "ports": [], "env": null},
                        {"name": "sidecar", "resources": {"limits": {"cpu": "1", "gpuu": "1"}}},
                    ],
                    "initContainers": [{"name": "a", "bogus": 1}, {"name": "b"}],
                }},
            },
            "statuz": {"ready": true},
        });
        let roundtrip = json!({
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {
                "replicas": 2,
                "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
                "template": {"spec": {
                    "containers": [
                        {"name": "web"},
                        {"name": "sidecar", "resources": {"limits": {"cpu": "1"}}},
                    ],
                    "initContainers": [{"name": "a"}],
                }},
            },
        });
        assert_eq!(
            unknown_fields(&original, &roundtrip),
            vec![
                "spec.template.spec.containers[0].imagePullPolicyy",
                "spec.template.spec.containers[1].resources.limits.gpuu",
                "statuz",
            ]
        );
        assert!(unknown_fields(&original, &original).is_empty());
    }

    #[test]
    fn unknown_field_paths_locate_in_the_document() {
        let docs = parse(
            TWO_DOCUMENTS
                .replace("        resources:", "        resourcez:")
                .as_str(),
        );
        let mut roundtrip = docs[1].value.clone();
        roundtrip["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("resourcez");
        let unknown = unknown_fields(&docs[1].value, &roundtrip);
        assert_eq!(unknown, vec!["spec.template.spec.containers[0].resourcez"]);
        assert_eq!(docs[1].locate_key(&unknown[0]), (18, 9));
    }
}
