//! Checking a Kubernetes object as the API server's strict decoding does
//! (`kubectl apply --validate=strict`): every field the kind defines is accepted,
//! any other is an error `unknown field "x"` at its key, with a did-you-mean hint.
//!
//! The schema is k8s-openapi's serde types. They ignore unknown fields, so the
//! object is deserialized, serialized back, and the two compared
//! ([`unknown_fields`]). For the hint we need the names the type *accepts* at
//! that place, not only those present; k8s-openapi hands them to
//! `Deserializer::deserialize_struct`, so a tiny deserializer ([`Probe`]) walks
//! the type along the unknown field's path and records that list.
//!
//! Also here: [`Ctx`], which carries the file, the document and the path of the
//! object inside it (`items[3]` in a `kind: List`), and collects located errors.

// `InputError` is wide; errors are the cold path (see yaml.rs).
#![allow(clippy::result_large_err)]

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::Value;

use crate::error::{InputError, did_you_mean};
use crate::scenario::yaml::{Document, unknown_fields};

/// A place in a document, kept for errors found after parsing (at insert time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    /// Field path from the document's root (`items[2].spec.priorityClassName`).
    pub field: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Loc {
    pub fn error(&self, message: impl Into<String>) -> InputError {
        let mut e = InputError::new(&self.file, message);
        e.line = self.line;
        e.column = self.column;
        if !self.field.is_empty() {
            e = e.field(&self.field);
        }
        e
    }

    /// `file:line`, to say where something else was defined.
    pub fn short(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// Conversion context: one object of one document, and the errors found so far.
pub struct Ctx<'a> {
    pub file: &'a str,
    /// `None` when converting values that did not come from a file (no positions).
    pub doc: Option<&'a Document>,
    /// Path of the object inside the document: empty, or `items[N]` in a List.
    pub base: String,
    pub errors: Vec<InputError>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a str, doc: Option<&'a Document>, base: impl Into<String>) -> Self {
        Ctx {
            file,
            doc,
            base: base.into(),
            errors: Vec::new(),
        }
    }

    /// The path from the document's root of `rel`, a path inside the object.
    pub fn full(&self, rel: &str) -> String {
        join(&self.base, rel)
    }

    /// Where the value at `rel` is.
    pub fn loc(&self, rel: &str) -> Loc {
        let field = self.full(rel);
        let (line, column) = match self.doc {
            Some(doc) => {
                let (l, c) = doc.locate(&field);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Loc {
            file: self.file.to_string(),
            field,
            line,
            column,
        }
    }

    /// Where the key of the field at `rel` is (for unknown or invalid keys).
    pub fn key_loc(&self, rel: &str) -> Loc {
        let mut loc = self.loc(rel);
        if let Some(doc) = self.doc {
            let (l, c) = doc.locate_key(&loc.field);
            loc.line = Some(l);
            loc.column = Some(c);
        }
        loc
    }

    pub fn err(&mut self, rel: &str, message: impl Into<String>) {
        let e = self.loc(rel).error(message);
        self.errors.push(e);
    }

    pub fn err_hint(&mut self, rel: &str, message: impl Into<String>, hint: Option<String>) {
        let mut e = self.loc(rel).error(message);
        e.hint = hint;
        self.errors.push(e);
    }

    pub fn err_key(&mut self, rel: &str, message: impl Into<String>, hint: Option<String>) {
        let mut e = self.key_loc(rel).error(message);
        e.hint = hint;
        self.errors.push(e);
    }

    /// Errors from the model's validators, which come as `sub.path: message`
    /// joined by `; ` (the API server's field.Error wording, relative paths):
    /// each becomes its own error, located at `rel` + its sub-path.
    pub fn err_list(&mut self, rel: &str, joined: &str) {
        for part in joined.split("; ") {
            match part.split_once(": ") {
                Some((sub, message)) if is_path(sub) => {
                    let path = join(rel, &brackets_to_dots(sub));
                    self.err(&path, message.to_string());
                }
                _ => self.err(rel, part.to_string()),
            }
        }
    }

    /// Deserialize `value` (the object at `rel`) into `T`, then report every field
    /// that `T` does not define. `None` when the value does not even have the
    /// right shape (that error is recorded).
    pub fn typed<T: DeserializeOwned + Serialize>(
        &mut self,
        rel: &str,
        value: &Value,
    ) -> Option<T> {
        let full = self.full(rel);
        let parsed: Result<T, InputError> = match self.doc {
            Some(doc) => doc.deserialize_at(self.file, &full, value),
            None => serde_path_to_error::deserialize(value).map_err(|e| {
                let path = join(&full, &e.path().to_string());
                InputError::new(self.file, e.inner().to_string()).field(path)
            }),
        };
        let object = match parsed {
            Ok(object) => object,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        let roundtrip = serde_json::to_value(&object).unwrap_or(Value::Null);
        for path in unknown_fields(value, &roundtrip) {
            let Some((parents, name)) = split_path(value, &path) else {
                continue;
            };
            let accepted = accepted_fields::<T>(&parents);
            let hint = match accepted {
                Some(fields) => did_you_mean(&name, fields.iter().copied()),
                None => None,
            }
            .map(|m| format!("did you mean `{m}`?"));
            self.err_key(&join(rel, &path), format!("unknown field \"{name}\""), hint);
        }
        Some(object)
    }
}

/// `a.b` + `c[0]` → `a.b.c[0]`; either side may be empty; `[i]` joins without a dot.
pub fn join(prefix: &str, path: &str) -> String {
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

fn is_path(s: &str) -> bool {
    !s.is_empty() && !s.contains(' ') && !s.starts_with('"')
}

/// The validators name map entries `labels[app]`; positions are found by `labels.app`.
fn brackets_to_dots(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        out.push_str(&rest[..open]);
        if inner.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&rest[open..=close]);
        } else {
            out.push('.');
            out.push_str(inner);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// One step of a path through a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index,
}

/// Splits the path of an unknown field (as [`unknown_fields`] prints it) into the
/// steps to its parent object and its own name. Keys may contain dots, so the path
/// is matched against the keys actually present, longest first (as `Document::locate`).
fn split_path(original: &Value, path: &str) -> Option<(Vec<Seg>, String)> {
    let mut segs = Vec::new();
    let mut value = original;
    let mut rest = path;
    loop {
        match value {
            Value::Object(map) => {
                let (key, child) = map
                    .iter()
                    .filter(|(k, _)| {
                        rest.starts_with(k.as_str())
                            && matches!(rest.as_bytes().get(k.len()), None | Some(b'.' | b'['))
                    })
                    .max_by_key(|(k, _)| k.len())?;
                rest = &rest[key.len()..];
                if rest.is_empty() {
                    return Some((segs, key.clone()));
                }
                segs.push(Seg::Key(key.clone()));
                value = child;
                rest = rest.strip_prefix('.').unwrap_or(rest);
            }
            Value::Array(items) => {
                let inner = rest.strip_prefix('[')?;
                let (digits, after) = inner.split_once(']')?;
                value = items.get(digits.parse::<usize>().ok()?)?;
                segs.push(Seg::Index);
                rest = after.strip_prefix('.').unwrap_or(after);
            }
            _ => return None,
        }
    }
}

/// The field names `T` accepts in the object reached by `path` (keys and list
/// steps from `T`'s root), as its serde implementation declares them.
pub fn accepted_fields<T: DeserializeOwned>(path: &[Seg]) -> Option<&'static [&'static str]> {
    let found = Cell::new(None);
    let _ = T::deserialize(Probe {
        path,
        found: &found,
    });
    found.get()
}

/// A deserializer that offers exactly one path into a type and records the field
/// list of the struct at its end; then it stops the deserialization with an error.
struct Probe<'p> {
    path: &'p [Seg],
    found: &'p Cell<Option<&'static [&'static str]>>,
}

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        if self.path.is_empty() {
            self.found.set(Some(fields));
            return Err(Stop);
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            Some((Seg::Key(key), rest)) => visitor.visit_map(OneEntry {
                key: Some(key.as_str()),
                value: Some(Probe {
                    path: rest,
                    found: self.found,
                }),
            }),
            _ => Err(Stop),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            Some((Seg::Index, rest)) => visitor.visit_seq(OneElement(Some(Probe {
                path: rest,
                found: self.found,
            }))),
            _ => Err(Stop),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

struct OneEntry<'p> {
    key: Option<&'p str>,
    value: Option<Probe<'p>>,
}

impl<'de> de::MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => {
                let d: de::value::StrDeserializer<'_, Stop> = key.into_deserializer();
                seed.deserialize(d).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => Err(Stop),
        }
    }
}

struct OneElement<'p>(Option<Probe<'p>>);

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        match self.0.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn probe_finds_the_fields_a_type_accepts_deep_inside() {
        let path = [
            Seg::Key("spec".into()),
            Seg::Key("template".into()),
            Seg::Key("spec".into()),
            Seg::Key("containers".into()),
            Seg::Index,
        ];
        let fields = accepted_fields::<Deployment>(&path).unwrap();
        assert!(fields.contains(&"imagePullPolicy"));
        assert!(fields.contains(&"readinessProbe"));
        let root = accepted_fields::<Pod>(&[]).unwrap();
        assert_eq!(root, ["apiVersion", "kind", "metadata", "spec", "status"]);
        // Through a map of strings there is no struct to find.
        let labels = [Seg::Key("metadata".into()), Seg::Key("labels".into())];
        assert_eq!(accepted_fields::<Pod>(&labels), None);
    }

    #[test]
    fn split_path_matches_keys_with_dots() {
        let v: Value = serde_json::json!({"a": {"x.y": {"b": [{"c.d": 1}]}}});
        let (segs, name) = split_path(&v, "a.x.y.b[0].c.d").unwrap();
        assert_eq!(
            segs,
            vec![
                Seg::Key("a".into()),
                Seg::Key("x.y".into()),
                Seg::Key("b".into()),
                Seg::Index
            ]
        );
        assert_eq!(name, "c.d");
    }

    #[test]
    fn validator_paths_become_located_fields() {
        assert_eq!(brackets_to_dots("labels[app].key"), "labels.app.key");
        assert_eq!(
            brackets_to_dots("matchExpressions[0].values[1]"),
            "matchExpressions[0].values[1]"
        );
        let mut ctx = Ctx::new("f.yaml", None, "items[1]");
        ctx.err_list("spec.selector", "matchExpressions[0].operator: Invalid value: \"Is\": not a valid selector operator; plain message");
        assert_eq!(ctx.errors.len(), 2);
        assert_eq!(
            ctx.errors[0].field.as_deref(),
            Some("items[1].spec.selector.matchExpressions[0].operator")
        );
        assert_eq!(
            ctx.errors[1].field.as_deref(),
            Some("items[1].spec.selector")
        );
    }
}
